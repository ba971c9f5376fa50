# IVFFlat drift and refresh: an index built on one distribution, then
# filled with twice as many rows of a shifted one, loses recall at a fixed
# number of probes for queries like the new rows (their neighbours are
# split over lists whose centers are far from them); a refresh recomputes
# the centers from the rows and the recall comes back.  The numbers are
# asserted, and printed for bench/RESULTS.md.
use strict;
use warnings;
use File::Basename;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $lists = 20;
my $k = 10;

my $node = PostgreSQL::Test::Cluster->new('drift');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));

# 32 random centers in [-1, 1]^16; the build's rows scatter around the
# first 16, the inserted rows (and the queries) around the other 16,
# shifted by 2 in every coordinate.  Reproducible: a fixed seed.
$node->safe_psql('postgres', qq(
	SELECT setseed(0.3);
	CREATE TABLE centers AS
	SELECT c, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $dim) WHERE c > 0) AS a
	FROM generate_series(1, 32) c;
	CREATE TABLE tst (id int, v vector($dim));
	INSERT INTO tst
	SELECT i, (SELECT array_agg(ce.a[d] + random() - 0.5) FROM generate_series(1, $dim) d WHERE i > 0)::vector
	FROM generate_series(1, 5000) i JOIN centers ce ON ce.c = 1 + i % 16;
	CREATE INDEX idx ON tst USING ivfflat (v) WITH (lists = $lists);
	INSERT INTO tst
	SELECT i, (SELECT array_agg(ce.a[d] + 2 + random() - 0.5) FROM generate_series(1, $dim) d WHERE i > 0)::vector
	FROM generate_series(5001, 15000) i JOIN centers ce ON ce.c = 17 + i % 16;
	CREATE TABLE queries AS
	SELECT q AS qid, (SELECT array_agg(ce.a[d] + 2 + random() - 0.5) FROM generate_series(1, $dim) d WHERE q > 0)::vector($dim) AS v
	FROM generate_series(1, 40) q JOIN centers ce ON ce.c = 17 + q % 16;
));

sub recall
{
	my ($probes) = @_;
	return $node->safe_psql('postgres', "SELECT recall FROM ivf_eval('v', '<->', 'v', $probes, $k)");
}

sub figures
{
	return $node->safe_psql('postgres',
		"SELECT round(drift::numeric, 2) || ' ' || round(size_skew::numeric, 2) FROM ruvector_ivf_stats('idx')");
}

my ($drift_before, $skew_before) = split / /, figures();
my $r1_before = recall(1);
my $r2_before = recall(2);

my $written = $node->safe_psql('postgres', "SELECT ruvector_ivf_refresh('idx')");
is($written, '15000', 'the refresh wrote every row');

my ($drift_after, $skew_after) = split / /, figures();
my $r1_after = recall(1);
my $r2_after = recall(2);

diag("drift $drift_before -> $drift_after, list size skew $skew_before -> $skew_after");
diag("recall\@$k, 1 probe: $r1_before -> $r1_after; 2 probes: $r2_before -> $r2_after");

cmp_ok($drift_before, '>', 3, 'the inserted rows drifted far from the build\'s centers');
cmp_ok($skew_before, '>', 4, 'and crowded into a few lists');
cmp_ok($r1_before, '<', 0.8, 'recall at 1 probe dropped');
cmp_ok($r2_before, '<', 0.95, 'recall at 2 probes dropped');
is($drift_after, '1.00', 'drift is 1 after the refresh');
cmp_ok($skew_after, '<', 2.5, 'the lists are balanced again');
cmp_ok($r1_after, '>=', 0.9, 'recall at 1 probe recovered');
cmp_ok($r2_after, '>=', 0.97, 'recall at 2 probes recovered');
cmp_ok($r1_after - $r1_before, '>=', 0.2, 'the refresh gained at least 0.2 recall at 1 probe');
is($node->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<->', 'v', $lists, $k)"), 't',
	'every list probed is exact after the refresh');

$node->stop;
done_testing();
