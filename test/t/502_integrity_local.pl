# The integrity gate without shared_preload_libraries: each backend keeps a
# copy of ruvector_integrity_state, reread at most once a second from the
# gate's hooks (src/integrity/integrity_gate.c).  The hook paths that read
# it under snapshots they do not own:
#
#  1. A REPEATABLE READ transaction that began while the index was normal
#     is refused once another session's samples have taken the index
#     critical, as it would be with preload (shared memory): the copy is
#     reread under the latest snapshot.  Read under the transaction's
#     snapshot it showed normal until the end of the transaction, and the
#     backend kept using that copy for its next statements.
#  2. A procedure that commits and then inserts or creates an index (no
#     active snapshot for a utility statement after COMMIT) is refused like
#     a plain statement, without an error of its own.  (Without preload the
#     hooks exist once the library is loaded in the backend: the procedure
#     loads it first.)
#  3. SET TRANSACTION and BEGIN ISOLATION LEVEL, with the copy due for a
#     reread, still work (the utility hook reads nothing for them).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('local');
$node->init;
$node->start;
$node->safe_psql('postgres', q(
	CREATE EXTENSION ruvector;
	CREATE TABLE ig (id int, v vector(4));
	INSERT INTO ig SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i)]::vector
	FROM generate_series(1, 300) i;
	CREATE INDEX ig_hnsw ON ig USING hnsw (v vector_l2_ops);
));

# thresholds of 0 keep the index normal, of 1e9 take it to critical in two samples
sub set_thresholds
{
	my ($t) = @_;
	return $node->safe_psql('postgres', qq(
		SELECT ruvector_integrity_policy_set('tight', '{"stress_threshold": $t, "critical_threshold": $t,
			"degrade_samples": 1, "critical_samples": 1, "cooldown": 0, "restore_hold": 0}');
		SELECT ruvector_integrity_policy_attach('ig', 'tight');
		SELECT ruvector_integrity_sample('ig_hnsw')->>'state';
		SELECT ruvector_integrity_sample('ig_hnsw')->>'state';));
}

my $rejected = qr/INSERT on "ig" rejected: index "ig_hnsw" is in integrity state critical/;

# 1. REPEATABLE READ
like(set_thresholds(0), qr/normal$/, 'the index starts normal');
my $rr = $node->background_psql('postgres', on_error_stop => 0);
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($rr->query_safe('SELECT count(*) FROM ig'), '300', 'the transaction has its snapshot');
like(set_thresholds(1e9), qr/critical$/, 'another session takes the index critical');
usleep(1_100_000);	# past the copy's second
$rr->query("INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]')");
like($rr->{stderr}, $rejected, 'an insert in the older REPEATABLE READ transaction is refused');
$rr->{stderr} = '';
$rr->query_safe('ROLLBACK');
$rr->query("INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]')");
like($rr->{stderr}, $rejected, 'and so is the next one, in a new transaction');
$rr->quit;

# 2. procedures that commit first
$node->safe_psql('postgres', q(
	CREATE PROCEDURE ig_insert_after_commit() LANGUAGE plpgsql AS $$
	BEGIN
		COMMIT;
		PERFORM pg_sleep(1.1);
		INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]');
	END $$;
	CREATE PROCEDURE ig_index_after_commit() LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM '[1]'::vector;	-- loads the library, whose hooks gate
		COMMIT;
		PERFORM pg_sleep(1.1);
		CREATE INDEX ig_id ON ig (id);
	END $$;));
my ($ret, $out, $err) = $node->psql('postgres', 'CALL ig_insert_after_commit()');
like($err, $rejected, 'an insert after COMMIT in a procedure is refused');
($ret, $out, $err) = $node->psql('postgres', 'CALL ig_index_after_commit()');
like($err, qr/CREATE INDEX on "ig" rejected: index "ig_hnsw" is in integrity state critical/,
	'CREATE INDEX after COMMIT in a procedure is refused');

# 3. transaction settings with the copy due for a reread
($ret, $out, $err) = $node->psql('postgres', q(
	SELECT pg_sleep(1.1);
	BEGIN;
	SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
	SELECT pg_catalog.current_setting('transaction_isolation');
	COMMIT;
	SELECT pg_sleep(1.1);
	BEGIN ISOLATION LEVEL REPEATABLE READ;
	SELECT count(*) FROM ig;
	COMMIT;));
is($err, '', 'SET TRANSACTION and BEGIN ISOLATION LEVEL work');
like($out, qr/^serializable\n(?:.*\n)*300$/m, 'with the isolation levels asked for');

# back to normal: mutations allowed again
like(set_thresholds(0), qr/normal$/, 'the index is normal again');
usleep(1_100_000);
$node->safe_psql('postgres', "INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]')");
is($node->safe_psql('postgres', 'SELECT count(*) FROM ig'), '301', 'inserts work again');

unlike(slurp_file($node->logfile), qr/was terminated by signal/, 'no backend crashed');
$node->stop;
done_testing();
