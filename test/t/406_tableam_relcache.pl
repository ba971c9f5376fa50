# ruvector_heap lends heapam its relation for heapam's index build and
# CREATE INDEX CONCURRENTLY validation (rd_tableam pointed at heapam's
# routine, rvheap_handler.c).  A relcache invalidation accepted in the middle
# of such a scan rebuilds the relation's entry in place, which resets
# rd_tableam; heapam's scan would then stop with "only heap AM is supported"
# (CLUSTER's copy would decode the rest of the table instead).
# Here an index expression waits, in the middle of the scan, until another
# session has committed a GRANT on the table (a relcache invalidation that
# needs no lock on it), and then opens a relation not yet locked (which
# accepts the invalidation).  The build must finish, and the index must hold
# every row with its decoded vector.  The same for CLUSTER, whose sort
# evaluates the expression while heapam's copy scans.  And the tier marker
# bit in t_infomask2 survives row locks and freezing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $dim = 8;
my $rows = 2000;

my $node = PostgreSQL::Test::Cluster->new('tam_relcache');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ruvector'\nruvector.tier_max_blocks_per_round = 0");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector; CREATE EXTENSION amcheck');

# pause_at(v, id) returns v; at row 1000 it waits for advisory lock 42, at
# row 99999 for lock 44, and then reads "other" (its first lock of that
# table in the transaction, so pending invalidations are accepted).
$node->safe_psql('postgres', qq(
	CREATE TABLE other (x int);
	CREATE FUNCTION pause_at(v vector, id int) RETURNS vector LANGUAGE plpgsql IMMUTABLE AS \$\$
	BEGIN
		IF id IN (1000, 99999) THEN
			PERFORM pg_advisory_lock(CASE WHEN id = 1000 THEN 42 ELSE 44 END);
			PERFORM pg_advisory_unlock(CASE WHEN id = 1000 THEN 42 ELSE 44 END);
			PERFORM count(*) FROM public.other;
		END IF;
		RETURN v;
	END \$\$;
	CREATE FUNCTION f(id int) RETURNS vector LANGUAGE sql IMMUTABLE AS
	\$\$ SELECT array_agg(((hashint4(id * $dim + j) % 20000) / 10000.0)::real)::vector
		 FROM generate_series(1, $dim) j \$\$;
	CREATE TABLE t (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
	INSERT INTO t SELECT i, f(i) FROM generate_series(1, $rows) i;
	SELECT ruvector_set_tiers('t', 'v', '{"exactness": "sq8", "sq8": {}}');
));
cmp_ok($node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('t')"),
	'>', 0, 'the table is compacted to sq8: the scans below meet encoded tuples');

# Wait until a backend waits for advisory lock $key; die with the DDL's
# error if it failed before getting there.
sub wait_for_advisory
{
	my ($key, $builder) = @_;
	for (my $i = 0; $i < 600; $i++)
	{
		return if $node->safe_psql('postgres', qq(
			SELECT count(*) = 1 FROM pg_locks
			WHERE locktype = 'advisory' AND objid = $key AND NOT granted)) eq 't';
		$builder->{run}->pump_nb;
		die "the DDL failed before its pause at $key: $builder->{stderr}"
		  if $builder->{stderr} =~ /ERROR/;
		usleep(100_000);
	}
	die "no backend waits for advisory lock $key";
}

# Start $ddl in a background session, which stops at its first pause.
sub start_ddl
{
	my ($ddl) = @_;
	my $builder = $node->background_psql('postgres', on_error_stop => 0);
	$builder->query_until(qr/go/, "\\echo go\n$ddl;\n");
	return $builder;
}

# Wait for the DDL to end; its errors.
sub finish_ddl
{
	my ($builder) = @_;
	$builder->query("SELECT 'done'");
	my $err = $builder->{stderr};
	$builder->quit;
	return $err;
}

# While the scan waits at $key: commit a relcache invalidation of t (GRANT
# takes no lock on the table), then let the scan go on.
sub invalidate_and_release
{
	my ($holder, $key, $builder, $table) = @_;
	$table //= 't';
	wait_for_advisory($key, $builder);
	$holder->query_safe("GRANT SELECT ON $table TO PUBLIC");
	$holder->query_safe("REVOKE SELECT ON $table FROM PUBLIC");
	$holder->query_safe("SELECT pg_advisory_unlock($key)");
}

# $ddl, with one relcache invalidation of t in the middle of its scan.
sub ddl_across_invalidation
{
	my ($ddl, $table) = @_;
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('SELECT pg_advisory_lock(42)');
	my $builder = start_ddl($ddl);
	invalidate_and_release($holder, 42, $builder, $table);
	$holder->quit;
	return finish_ddl($builder);
}

# The nearest row to each probe, through the index, is the probe's own row.
sub nearest_ok
{
	my ($name) = @_;
	my $hits = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		SELECT count(*) FROM generate_series(1, $rows, 97) p
		WHERE (SELECT id FROM t ORDER BY pause_at(v, id)::vector($dim) <-> f(p) LIMIT 1) = p));
	my $probes = int(($rows - 1) / 97) + 1;
	is($hits, $probes, "$name: every probe finds its own row through the index");
}

# 1. CREATE INDEX (hnsw): heapam's index_build_range_scan.
my $err = ddl_across_invalidation(
	"CREATE INDEX t_hnsw ON t USING hnsw ((pause_at(v, id)::vector($dim)) vector_l2_ops)");
is($err, '', 'CREATE INDEX completes across a relcache invalidation');
like($node->safe_psql('postgres', qq(
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY pause_at(v, id)::vector($dim) <-> f(1) LIMIT 1)),
	qr/Index Scan using t_hnsw/, 'the probes use the hnsw index');
nearest_ok('CREATE INDEX');
$node->safe_psql('postgres', 'DROP INDEX IF EXISTS t_hnsw');

# 2. CREATE INDEX (btree): amcheck's heapallindexed re-reads the table
#    through the table AM and finds every row in the index.
$err = ddl_across_invalidation('CREATE INDEX t_bt ON t (pause_at(v, id))');
is($err, '', 'CREATE INDEX (btree) completes across a relcache invalidation');
is(scalar $node->psql('postgres', "SELECT bt_index_check('t_bt', true)"), 0,
	'amcheck: every row of the table is in the btree index');
$node->safe_psql('postgres', 'DROP INDEX IF EXISTS t_bt');

# 3. CREATE INDEX CONCURRENTLY: a row inserted while the build waits at row
#    1000 is added by heapam's index_validate_scan, which waits at it (lock
#    44) while the GRANT commits.
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(42)');
$holder->query_safe('SELECT pg_advisory_lock(44)');
my $builder = start_ddl('CREATE INDEX CONCURRENTLY t_cic ON t (pause_at(v, id))');
wait_for_advisory(42, $builder);
$holder->query_safe('INSERT INTO t VALUES (99999, f(99999))');
invalidate_and_release($holder, 42, $builder);
invalidate_and_release($holder, 44, $builder);
$holder->quit;
is(finish_ddl($builder), '', 'CREATE INDEX CONCURRENTLY completes across relcache invalidations');
is($node->safe_psql('postgres',
		"SELECT coalesce((SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('t_cic')), 'missing')"),
	'true', 'the concurrently built index is valid');
is(scalar $node->psql('postgres', "SELECT bt_index_check('t_cic', true)"), 0,
	'amcheck: every row, the one inserted during the build included, is in the index');

# 4. The tier marker (RV_HEAP_ENCODED, t_infomask2 bit 0x0800, tableam.h)
#    survives what heap does to a stored tuple header in place - row locks,
#    freezing - and the tuples that carry it decode to their values.
$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');
my $marked_sql = qq(
	SELECT count(*) FROM generate_series(0, pg_relation_size('t') / 8192 - 1) b,
		heap_page_items(get_raw_page('t', b::int))
	WHERE t_infomask2 & 2048 <> 0);
my $marked = $node->safe_psql('postgres', $marked_sql);
cmp_ok($marked, '>=', $rows, "$marked tuples carry the marker");
$node->safe_psql('postgres', qq(
	BEGIN;
	SELECT count(*) FROM (SELECT id FROM t FOR UPDATE) s;
	SELECT count(*) FROM (SELECT id FROM t FOR KEY SHARE) s;
	COMMIT));
is($node->safe_psql('postgres', $marked_sql), $marked, 'row locks keep the marker');
$node->safe_psql('postgres', 'VACUUM (FREEZE) t');
is($node->safe_psql('postgres', $marked_sql), $marked, 'freezing keeps the marker');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('t')"), '0',
	'ruvector_tier_verify finds no problem');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id <> 99999 AND v <-> f(id) > 0.05'),
	'0', 'every encoded row reads back as its value, within the sq8 error');

# 5. CLUSTER with a sort: heapam's copy for cluster.  With 1 MB of
#    maintenance_work_mem the sort spills while the scan runs, and its
#    comparisons evaluate the index expression, so the pause (and the
#    invalidation) falls in the middle of the copy.  The rewrite keeps the
#    tuples in their tier form and marks them again (had the loan lapsed,
#    the copy would read the rest through our decoding scan and write it
#    decoded: the marker count would drop).
my $big = 30000;
$node->safe_psql('postgres', qq(
	CREATE TABLE t2 (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
	INSERT INTO t2 SELECT i, f(i) FROM generate_series(1, $big) i;
	SELECT ruvector_set_tiers('t2', 'v', '{"exactness": "sq8", "sq8": {}}');
	CREATE INDEX t2_bt ON t2 (pause_at(v, id));
));
$node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('t2')");
my $t2_marked_sql = $marked_sql =~ s/'t'/'t2'/gr;
my $t2_marked = $node->safe_psql('postgres', $t2_marked_sql);
cmp_ok($t2_marked, '>=', $big, "t2: $t2_marked tuples carry the marker");
$err = ddl_across_invalidation(
	"SET maintenance_work_mem = '1MB'; SET enable_indexscan = off; CLUSTER t2 USING t2_bt", 't2');
is($err, '', 'CLUSTER (sort) completes across a relcache invalidation');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t2'), $big, 'CLUSTER kept every row');
is($node->safe_psql('postgres', $t2_marked_sql), $t2_marked,
	'the rewritten tuples are still encoded and marked');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('t2')"), '0',
	'ruvector_tier_verify finds no problem after CLUSTER');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t2 WHERE v <-> f(id) > 0.05'),
	'0', 'every row of t2 reads back as its value, within the sq8 error');

done_testing();
