# Every live row stays reachable after VACUUM, and the integrity control
# plane sees a cluster that is reachable one way only.
#
#  1. 8,000 clustered 24-d rows (7 clusters, values rounded to 4
#     decimals), every second row updated to a new vector of its cluster,
#     VACUUM, twice on the same index; two tables per storage (float32,
#     sq8).  After each VACUUM an exhaustive relaxed_order scan returns
#     every row, ruvector_hnsw_verify finds no error, and the integrity
#     sample counts no live row out of reach (unreachable) and none that
#     does not lead back to the entry point (one_way).  Before VACUUM's
#     repairs kept live links (cd1d537) every run of this workload lost
#     2,286-6,858 rows; after, about one VACUUM in three still left a
#     cluster reachable one way (1,142-5,714 rows missed): the repairs'
#     back-links replace links in full lists, and a few replacements took
#     the last links into a cluster.  VACUUM now ends with a reach pass
#     (hnswvacuum.c, EnsureReach) that links in what the entry point does
#     not reach and links out what does not lead back.
#  2. One-way cuts made in the index file (test/perl/RvHnswPages.pm,
#     server stopped) on two clusters of 3,000 rows:
#     - links into the entry point's side cut ('back'): every row is
#       reachable from the entry point (unreachable 0), but a search that
#       descends into the other side cannot leave it; the sample counts
#       that side as one_way and the index leaves normal at once; the
#       in-place repair links it back;
#     - links out of the entry point's side cut ('sides'): the other side
#       is unreachable; a VACUUM (of one deleted row) links it back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvHnswPages;
use RvNode;

my $dim = 24;
my $rows = 8000;

my $node = rv_node('main', conf => { autovacuum => 'off', maintenance_work_mem => "'128MB'" });

sub vec_sql
{
	my ($g) = @_;
	return "(SELECT array_agg(round((random() * 0.2 + ($g % 7) * 0.1 - 0.4 + i * 0)::numeric, 4)::real) "
	  . "FROM generate_series(1, $dim) i)::vector($dim)";
}

my $settings = "SET enable_seqscan = off; SET enable_bitmapscan = off; "
  . "SET hnsw.max_scan_tuples = 10000000; SET hnsw.scan_mem_multiplier = 1000; "
  . "SET work_mem = '64MB'; SET hnsw.iterative_scan = relaxed_order;";

# Rows an exhaustive scan returns (and how many distinct) from the vector of row $id
sub scan_count
{
	my ($table, $id) = @_;
	return split /\|/, $node->safe_psql('postgres', qq($settings
		SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM $table
			ORDER BY v <-> (SELECT v FROM $table WHERE id = $id)) s));
}

sub sample
{
	my ($index) = @_;
	return split /\|/, $node->safe_psql('postgres', qq(
		SELECT s->>'unreachable', s->>'one_way', s->>'state', s->>'lambda_cut'
		FROM ruvector_integrity_sample('$index') s));
}

# ---------------------------------------------------------------------
# 1. The workload, VACUUM after VACUUM
# ---------------------------------------------------------------------
my ($returned, $total) = (0, 0);
for my $run (['float32', 0.112], ['float32', 0.212], ['sq8', 0.112], ['sq8', 0.212])
{
	my ($st, $seed) = @$run;
	my $t = "t_${st}_" . ($seed * 1000);
	$node->safe_psql('postgres', qq(
		SELECT setseed($seed);
		CREATE TABLE $t (id int PRIMARY KEY, v vector($dim)) WITH (fillfactor = 100);
		INSERT INTO $t SELECT g, @{[vec_sql('g')]} FROM generate_series(1, $rows) g;
		CREATE INDEX ${t}_idx ON $t USING hnsw (v vector_l2_ops)
			WITH (m = 8, ef_construction = 32, storage = $st);
	));
	for my $round (1, 2)
	{
		$node->safe_psql('postgres', "UPDATE $t SET v = @{[vec_sql('id')]} WHERE id % 2 = $round % 2");
		$node->safe_psql('postgres', "VACUUM $t");
		my ($n, $distinct) = scan_count($t, 17);
		my ($unreachable, $oneway, $state, $lambda) = sample("${t}_idx");
		note "$t round $round: $distinct of $rows rows returned; unreachable $unreachable, "
		  . "one_way $oneway, lambda_cut $lambda, $state";
		is($n, $distinct, "$t round $round: the scan after VACUUM returns each row once");
		is($distinct, $rows, "$t round $round: an exhaustive scan after VACUUM returns every row");
		is($unreachable, '0', "$t round $round: no live row out of reach of the entry point");
		is($oneway, '0', "$t round $round: every live row leads back to the entry point");
		is($node->safe_psql('postgres', qq(
			SELECT count(*) FROM ruvector_hnsw_verify('${t}_idx') WHERE severity = 'error')),
			'0', "$t round $round: verify finds no error after VACUUM");
		$returned += $distinct;
		$total += $rows;
	}
}
note "returned $returned of $total rows in all";

# ---------------------------------------------------------------------
# 2. One-way cuts made in the file
# ---------------------------------------------------------------------
for my $t ('back', 'fwd')
{
	$node->safe_psql('postgres', qq{
		SELECT setseed(0.5);
		CREATE TABLE $t (id int PRIMARY KEY, v vector(4));
		INSERT INTO $t SELECT i, ARRAY[random(), random(), random() * 0.2, 0]::vector
			FROM generate_series(1, 3000) i;
		INSERT INTO $t SELECT i, ARRAY[3 + random(), random(), random() * 0.2, 0]::vector
			FROM generate_series(3001, 6000) i;
		CREATE INDEX ${t}_idx ON $t USING hnsw (v vector_l2_ops) WITH (m = 8);
	});
	my ($unreachable, $oneway, $state) = sample("${t}_idx");
	is("$unreachable $oneway $state", '0 0 normal', "$t: a fresh build is reachable both ways");
}
$node->safe_psql('postgres', 'CHECKPOINT');
my %files = map { $_ => $node->data_dir . '/' . $node->safe_psql('postgres',
	"SELECT pg_relation_filepath('${_}_idx')") } ('back', 'fwd');
$node->stop;
cmp_ok(hnsw_cut_links($files{back}, 8, 'back', 2), '>', 0, 'back: links into the entry side cut');
cmp_ok(hnsw_cut_links($files{fwd}, 8, 'sides', 2), '>', 0, 'fwd: links out of the entry side cut');
$node->start;

# A row of each side: 1 is on the side with x0 < 2, 6000 on the other
my @sides = (1, 6000);

# back: everything is reachable from the entry point, but not back
{
	my ($unreachable, $oneway, $state) = sample('back_idx');
	note "back after the cut: unreachable $unreachable, one_way $oneway, $state";
	is($unreachable, '0', 'back: every row is still reachable from the entry point');
	cmp_ok($oneway, '>=', 2900, 'back: the side cut off one way counts as one_way');
	isnt($state, 'normal', 'back: with a side reachable one way only the index is not normal');
	my @counts = map { (scan_count('back', $_))[1] } @sides;
	note "back: exhaustive scans from either side return @counts of 6000 rows";
	ok((grep { $_ < 6000 } @counts) == 1, 'back: a scan that descends into the far side stays there');

	my $r = $node->safe_psql('postgres', q{
		SELECT r->'in_place'->>'one_way_before', r->'in_place'->>'one_way_after',
			r->'in_place'->>'unreachable_after', r->'after'->>'one_way'
		FROM ruvector_integrity_repair('back_idx') r});
	note "back repair: one_way before|after, unreachable after, sample one_way: $r";
	my ($before, $after, $unr, $sampled) = split /\|/, $r;
	cmp_ok($before, '>=', 2900, 'back: the repair saw the one-way side');
	is("$after $unr $sampled", '0 0 0', 'back: the repair links it back');
	@counts = map { (scan_count('back', $_))[1] } @sides;
	is("@counts", '6000 6000', 'back: after the repair, scans from either side return every row');
}

# fwd: the other side is unreachable until a VACUUM
{
	my ($unreachable, $oneway, $state) = sample('fwd_idx');
	note "fwd after the cut: unreachable $unreachable, one_way $oneway, $state";
	cmp_ok($unreachable, '>=', 2900, 'fwd: the side cut off is unreachable');
	isnt($state, 'normal', 'fwd: with rows out of reach the index is not normal');
	$node->safe_psql('postgres', 'DELETE FROM fwd WHERE id = 3000');
	$node->safe_psql('postgres', 'VACUUM fwd');
	($unreachable, $oneway, $state) = sample('fwd_idx');
	note "fwd after VACUUM: unreachable $unreachable, one_way $oneway, $state";
	is("$unreachable $oneway", '0 0', 'fwd: VACUUM links the side cut off back');
	is(join(' ', map { (scan_count('fwd', $_))[1] } @sides), '5999 5999',
		'fwd: after VACUUM, scans from either side return every row');
}

# The reach pass's memory is the graph's, not the index's: long vectors
# are not loaded, so a 384-d index three times maintenance_work_mem is
# checked, while an 8-d one whose graph outgrows the budget is skipped with
# a message (VACUUM's index messages are DEBUG2 in PostgreSQL 15)
$node->safe_psql('postgres', q(
	SELECT setseed(0.112);
	CREATE TABLE wide (id int PRIMARY KEY, v vector(384));
	INSERT INTO wide SELECT g, (SELECT array_agg(random()::real) FROM generate_series(1, 384) WHERE g > 0)::vector
		FROM generate_series(1, 1500) g;
	CREATE INDEX wide_idx ON wide USING hnsw (v vector_l2_ops);
	CREATE TABLE narrow (id int PRIMARY KEY, v vector(8));
	INSERT INTO narrow SELECT g, (SELECT array_agg(random()::real) FROM generate_series(1, 8) WHERE g > 0)::vector
		FROM generate_series(1, 12000) g;
	CREATE INDEX narrow_idx ON narrow USING hnsw (v vector_l2_ops);
));
sub vacuum_messages
{
	my ($table, $mem, $del) = @_;
	my ($out, $err);
	$node->psql('postgres', "DELETE FROM $table WHERE id % 10 = $del;
		SET maintenance_work_mem = '$mem'; SET client_min_messages = debug2; VACUUM $table;",
		stdout => \$out, stderr => \$err, on_error_die => 1);
	return $err;
}
cmp_ok($node->safe_psql('postgres', "SELECT pg_relation_size('wide_idx')"), '>', 2 * 1024 * 1024,
	'the 384-d index is larger than 2 MB');
like(vacuum_messages('wide', '1MB', 0), qr/index "wide_idx": 0 live elements were out of reach/,
	'384-d: the reach pass runs with maintenance_work_mem 1MB, below the index\'s size');
my $err = vacuum_messages('narrow', '1MB', 0);
like($err, qr/index "narrow_idx": reachability not checked: its graph needs about \d+ kB, maintenance_work_mem is 1024 kB/,
	'8-d: skipped when its graph needs more than maintenance_work_mem, with the estimate');
like($err, qr/HINT:  Raise maintenance_work_mem/, '8-d: the message says what to do');
like(vacuum_messages('narrow', '64MB', 1), qr/index "narrow_idx": 0 live elements were out of reach/,
	'8-d: the reach pass runs with maintenance_work_mem 64MB');

$node->stop;
done_testing();
