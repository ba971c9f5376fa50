# IVFFlat centroid refresh on a streaming replica: the new lists' pages
# (full images), the switch (one generic record), the recycling of the old
# lists by VACUUM and their reuse by inserts and by the next refresh all
# reach the replica through WAL, so after replay it answers exactly as the
# primary does and reports the same figures.  wal_consistency_checking
# makes the replica compare each replayed page with the primary's image.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename;

my $dim = 12;
my $lists = 12;
my $array_sql = join(',', ('random()') x $dim);
my $shifted_sql = join(',', ('2 + random() * 2') x $dim);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# No autovacuum: it would recycle replaced lists at moments of its own.
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\nautovacuum = off");
$primary->start;
$primary->backup('backup');

my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'backup', has_streaming => 1);
$replica->append_conf('postgresql.conf', 'max_standby_streaming_delay = 2s');
$replica->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$primary->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));
$primary->safe_psql('postgres', qq(
	CREATE TABLE queries (qid int, v vector($dim));
	INSERT INTO queries SELECT q, ARRAY[$array_sql] FROM generate_series(1, 6) q;
	INSERT INTO queries SELECT q, ARRAY[$shifted_sql] FROM generate_series(7, 12) q;
	CREATE TABLE tst (id serial, v vector($dim));
	INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 5000);
	CREATE INDEX idx_l2 ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists);
	CREATE INDEX idx_cos ON tst USING ruivfflat (v vector_cosine_ops) WITH (lists = $lists);
));

my @orders = ([ 'v <-> %s', 'idx_l2' ], [ 'v <=> %s', 'idx_cos' ]);

sub answers
{
	my ($node, $probes) = @_;
	return join("\n", map {
		$node->safe_psql('postgres', "SELECT ivf_answers('$_->[0]', 'v', $probes, 10)")
	} @orders);
}

sub figures
{
	my ($node) = @_;
	return join("\n", map {
		$node->safe_psql('postgres',
			"SELECT entries, list_sizes, drift, refreshes, recycle_pending FROM ruvector_ivf_stats('$_->[1]')")
	} @orders);
}

sub compare
{
	my ($label) = @_;
	$primary->wait_for_catchup($replica);

	for my $probes (1, 3)
	{
		is(answers($replica, $probes), answers($primary, $probes),
			"$label: replica answers as the primary with $probes probes");
	}
	is(figures($replica), figures($primary), "$label: replica reports the primary's figures");
	is($replica->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<->', 'v', $lists, 10)"),
		't', "$label: L2 on the replica is exact with all lists probed");
}

$primary->safe_psql('postgres', "INSERT INTO tst (v) SELECT ARRAY[$shifted_sql] FROM generate_series(1, 5000)");
compare('after drifting inserts');

$primary->safe_psql('postgres', "SELECT ruvector_ivf_refresh('idx_l2'), ruvector_ivf_refresh('idx_cos')");
compare('after a refresh');
is($replica->safe_psql('postgres', "SELECT refreshes FROM ruvector_ivf_stats('idx_l2')"), '1',
	'the replica sees the refresh');

# VACUUM recycles the replaced lists (their pages go to the free space
# map); no query on the replica holds the index, so nothing waits.  (A
# parallel VACUUM leaves them: its leader cannot take the lock.)
$primary->safe_psql('postgres', 'VACUUM tst');
$primary->safe_psql('postgres', 'VACUUM (PARALLEL 0) tst');
is($primary->safe_psql('postgres', "SELECT recycle_pending FROM ruvector_ivf_stats('idx_l2')"), 'f',
	'VACUUM recycled the lists the refresh replaced');
compare('after VACUUM recycled the old lists');

# A query on the replica keeps reading while the primary refreshes again
# (nothing is recycled: the switch alone reaches the replica).
my $bg = $replica->background_psql('postgres');
$bg->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $count_sql = qq(
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM tst ORDER BY v <-> (SELECT v FROM queries WHERE qid = 7) LIMIT 20) s;
);
is($bg->query_safe($count_sql), '20', 'a replica query ran before the refresh');
$primary->safe_psql('postgres', qq(
	DELETE FROM tst WHERE id % 4 = 0;
	SELECT ruvector_ivf_refresh('idx_l2');
));
$primary->wait_for_catchup($replica);
is($bg->query_safe($count_sql), '20',
	'the replica transaction goes on reading after the refresh is replayed');
$bg->query_safe('COMMIT');
compare('after deletes and a second refresh');

# Recycling while a replica query holds the index: the replica cancels
# that query (after max_standby_streaming_delay) before it replays the
# pages' reuse, so no scan there reads a reused page.
$bg->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$bg->query_safe($count_sql);
$primary->safe_psql('postgres', 'VACUUM (PARALLEL 0) tst');
$primary->wait_for_catchup($replica);
is($primary->safe_psql('postgres', "SELECT recycle_pending FROM ruvector_ivf_stats('idx_l2')"), 'f',
	'VACUUM recycled the lists the second refresh replaced');
ok($replica->poll_query_until('postgres',
		"SELECT confl_lock >= 1 FROM pg_stat_database_conflicts WHERE datname = 'postgres'"),
	'the replica cancelled the query holding the index');
eval { $bg->quit; };
compare('after VACUUM recycled lists a replica query held');

# Inserts and the next refresh reuse the recycled pages.
$primary->safe_psql('postgres', qq(
	INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 3000);
	SELECT ruvector_ivf_refresh('idx_l2'), ruvector_ivf_refresh('idx_cos');
));
compare('after inserts and refreshes into recycled pages');

$replica->stop;
$primary->stop;
done_testing();
