# HnswRepair (src/indexam/hnswrepair.c) on graphs cut in their files:
# two clusters with every link between them removed (half the rows out of
# reach of every search), and a graph with no layer-0 link at all.  The
# repair must leave every element reachable, ruvector_hnsw_verify clean and
# self-recall restored; an immediate shutdown in the middle of a repair
# must recover to a graph that verifies and that a second repair finishes;
# a streaming replica (checking every generic WAL record against the
# primary's page images) must return the primary's results throughout.
#
# The repair is called through rv_hnsw_repair_test, a C entry of the
# library for tests that this test declares itself; the shipped SQL
# function is ruvector_integrity_repair (src/integrity/).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use RvHnswPages;

my $dim = 16;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
wal_keep_size = '512MB'
maintenance_work_mem = '128MB'
));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$primary->safe_psql('postgres', q(
	CREATE FUNCTION rv_hnsw_repair_test(regclass) RETURNS text
		AS '$libdir/ruvector', 'rv_hnsw_repair_test' LANGUAGE C STRICT;
	CREATE FUNCTION gauss() RETURNS float8 LANGUAGE sql AS
		$$SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())$$;
));

# two: even ids around x0 = 30, odd ids around the origin
# iso: one cloud, for the crash
$primary->safe_psql('postgres', qq(
	CREATE TABLE two (id int PRIMARY KEY, v vector($dim));
	INSERT INTO two SELECT i, (SELECT array_agg((CASE WHEN d = 1 AND i % 2 = 0 THEN 30 ELSE 0 END)
		+ gauss() ORDER BY d)::vector FROM generate_series(1, $dim) d WHERE i > 0)
		FROM generate_series(1, 6000) i;
	CREATE INDEX two_idx ON two USING hnsw (v vector_l2_ops);
	CREATE TABLE iso (id int PRIMARY KEY, v vector($dim));
	INSERT INTO iso SELECT i, (SELECT array_agg(gauss() ORDER BY d)::vector
		FROM generate_series(1, $dim) d WHERE i > 0) FROM generate_series(1, 4000) i;
	CREATE INDEX iso_idx ON iso USING hnsw (v vector_l2_ops);
	CHECKPOINT;
));

# Cut the graphs in their files, server stopped
my $datadir = $primary->data_dir;
my $twofile = $datadir . '/' . $primary->safe_psql('postgres', "SELECT pg_relation_filepath('two_idx')");
my $isofile = $datadir . '/' . $primary->safe_psql('postgres', "SELECT pg_relation_filepath('iso_idx')");
$primary->stop;
cmp_ok(hnsw_cut_links($twofile, 16, 'sides', 15), '>', 100, 'links between the clusters cut');
cmp_ok(hnsw_cut_links($isofile, 16, 'layer0', 0), '>', 10000, 'layer-0 links cut');
$primary->start;

# The replica starts from the cut graphs
$primary->backup('base');
my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'base', has_streaming => 1);
$replica->start;

sub self_recall
{
	my ($node, $table) = @_;
	my $explain = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM $table ORDER BY v <-> (SELECT v FROM $table LIMIT 1) LIMIT 10;
	));
	like($explain, qr/Index Scan using/, "$table: index scan");
	return $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		SELECT avg((SELECT count(*) FROM (SELECT id FROM $table ORDER BY v <-> q.v LIMIT 10) r
					WHERE r.id = q.id)) FROM $table q;
	));
}

sub problems
{
	my ($node, $index, $severity) = @_;
	return $node->safe_psql('postgres', qq(
		SELECT count(*) FROM ruvector_hnsw_verify('$index') WHERE severity = '$severity'));
}

sub repair
{
	my ($index) = @_;
	my $json = $primary->safe_psql('postgres', "SELECT rv_hnsw_repair_test('$index')");
	note("repair of $index: $json");
	my %r = $json =~ /"(\w+)": ([\d.]+)/g;
	return \%r;
}

# Both nodes give the same top 10 for random queries (self-recall also
# runs on both, below, row by row)
sub same_results
{
	my ($table, $label) = @_;
	$primary->wait_for_catchup($replica);
	my $differ = 0;
	for (1 .. 20)
	{
		my $q = '[' . join(',', map { 30 * rand() * ($_ == 1) + rand() } 1 .. $dim) . ']';
		my $sql = "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM "
		  . "(SELECT id FROM $table ORDER BY v <-> '$q' LIMIT 10) a";
		$differ++ if $primary->safe_psql('postgres', $sql) ne $replica->safe_psql('postgres', $sql);
	}
	is($differ, 0, "$label: the replica returns the primary's results");
	is(problems($replica, "${table}_idx", 'error'), '0', "$label: the replica's $table index verifies");
}

# The cut: half of two is out of reach
like($primary->safe_psql('postgres', "SELECT problem FROM ruvector_hnsw_verify('two_idx')"),
	qr/^300\d of 6000 elements are not reachable/, 'two: half the graph unreachable');
my $r = self_recall($primary, 'two');
cmp_ok($r, '<', 0.6, "two: self-recall\@10 $r before the repair");

# Repair: one bridge is enough, everything reachable, verify clean
my $res = repair('two_idx');
cmp_ok($res->{unreachable_before}, '>=', 3000, 'two: the repair saw the unreachable half');
is($res->{unreachable_after}, '0', 'two: nothing unreachable after the repair');
cmp_ok($res->{elements_reconnected}, '>=', 1, 'two: elements reconnected');
is($primary->safe_psql('postgres', "SELECT count(*) FROM ruvector_hnsw_verify('two_idx')"),
	'0', 'two: verify reports nothing after the repair');
$r = self_recall($primary, 'two');
cmp_ok($r, '>=', 0.99, "two: self-recall\@10 $r after the repair");
same_results('two', 'two repaired');
is(self_recall($replica, 'two'), $r, 'two: the same self-recall on the replica');

# A repair that must search for every element, interrupted by a crash
like($primary->safe_psql('postgres', "SELECT problem FROM ruvector_hnsw_verify('iso_idx')"),
	qr/^3999 of 4000 elements are not reachable/, 'iso: every element but the entry point unreachable');
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-At', '-d', $primary->connstr('postgres'), '-c',
		"SELECT rv_hnsw_repair_test('iso_idx')" ],
	'>', \$out, '2>', \$err);
$primary->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'SELECT rv_hnsw_repair_test%'")
  or die 'the repair did not start';
sleep 1;
$primary->stop('immediate');
$h->finish;
is($out, '', 'iso: the repair was interrupted');
$primary->start;
is(problems($primary, 'iso_idx', 'error'), '0', 'iso: verifies after recovery');

$res = repair('iso_idx');
cmp_ok($res->{unreachable_before}, '<', 3999, 'iso: the interrupted repair left durable progress');
is($res->{unreachable_after}, '0', 'iso: nothing unreachable after the second repair');
is($primary->safe_psql('postgres', "SELECT count(*) FROM ruvector_hnsw_verify('iso_idx')"),
	'0', 'iso: verify reports nothing');
$r = self_recall($primary, 'iso');
cmp_ok($r, '>=', 0.99, "iso: self-recall\@10 $r after the repair");
same_results('iso', 'iso repaired after a crash');

# A repair of a healthy graph changes little and breaks nothing
$res = repair('two_idx');
is($res->{unreachable_after}, '0', 'two: a second repair leaves nothing unreachable');
same_results('two', 'two repaired twice');

# Named weak spots (HnswRepairAround, for the integrity control plane's
# witness edges): two elements by index TID, their layer-0 neighbours, and
# a TID of no element, which is skipped
$primary->safe_psql('postgres', q(
	CREATE FUNCTION rv_hnsw_repair_around_test(regclass, tid[]) RETURNS int8
		AS '$libdir/ruvector', 'rv_hnsw_repair_around_test' LANGUAGE C STRICT;
));
my $n = $primary->safe_psql('postgres',
	q(SELECT rv_hnsw_repair_around_test('two_idx', '{"(1,1)","(2,1)","(99999,1)"}')));
cmp_ok($n, '>', 2, "two: named elements and their neighbours searched ($n)");
is($primary->safe_psql('postgres', "SELECT count(*) FROM ruvector_hnsw_verify('two_idx')"),
	'0', 'two: verify reports nothing after reinforcing named elements');
same_results('two', 'two reinforced around named elements');

$replica->stop;
$primary->stop;
done_testing();
