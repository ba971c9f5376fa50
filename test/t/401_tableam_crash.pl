# ruvector_heap crash safety: an immediate shutdown at several points of
# ruvector_compact (stopped there with ruvector.test_compact_stop_after,
# after its WAL so far is flushed), then recovery.  After recovery every
# committed row is present, decodes to the value its tier allows (rows still
# float32, and every row of an "exact" table, bit-identical), the pages the
# compact had finished are in their new tier, indexes agree with the table,
# and ruvector_tier_verify finds no problem.  A compact after recovery
# finishes the job.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = 4000;
my $dim = 16;

my $node = PostgreSQL::Test::Cluster->new('tam_crash');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'ruvector'
# moves by ruvector_compact only: the tier worker (407) is off here
ruvector.tier_max_blocks_per_round = 0
checkpoint_timeout = 30s
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');

# Float32 references: sin values (lossy under sq8) and small integers
# (exactly halves, so "exact" moves them to float16 losslessly).
$node->safe_psql('postgres', qq(
	CREATE TABLE ref (id int PRIMARY KEY, v vector($dim));
	INSERT INTO ref SELECT i, (SELECT array_agg(sin(i * $dim + j)::real) FROM generate_series(1, $dim) j)
	FROM generate_series(1, $rows) i;
	CREATE TABLE ref_int (id int PRIMARY KEY, v vector($dim));
	INSERT INTO ref_int SELECT i, (SELECT array_agg(CASE WHEN i % 3 = 0 THEN 0.1 ELSE ((i + j) % 9) END::real)
		FROM generate_series(1, $dim) j)
	FROM generate_series(1, $rows) i;
));

# Fresh tables with their policies; returns the number of heap pages.
sub setup
{
	$node->safe_psql('postgres', qq(
		DROP TABLE IF EXISTS tsq, tex;
		CREATE TABLE tsq (id int PRIMARY KEY, v vector($dim), note text) USING ruvector_heap;
		INSERT INTO tsq SELECT id, v, 'row ' || id FROM ref;
		SELECT ruvector_set_tiers('tsq', 'v', '{"exactness": "sq8", "sq8": {}}');
		CREATE TABLE tex (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
		INSERT INTO tex SELECT * FROM ref_int;
		SELECT ruvector_set_tiers('tex', 'v', '{"float16": {}}');
	));
	return $node->safe_psql('postgres', "SELECT pg_relation_size('tsq') / 8192");
}

# Start a compact that stops after $n pages, wait for the stop, then crash.
# $before_crash runs while the compact waits.
sub crash_during_compact
{
	my ($table, $n, $before_crash) = @_;
	my $offset = -s $node->logfile;
	my $bg = $node->background_psql('postgres', on_error_stop => 0);

	$bg->query_until(qr/started/, qq(
		SET ruvector.test_compact_stop_after = $n;
		\\echo started
		SELECT * FROM ruvector_compact('$table');
	));
	$node->wait_for_log(qr/test stop after $n rewritten pages of "$table"/, $offset);
	$before_crash->() if $before_crash;
	$node->stop('immediate');
	eval { $bg->quit };
	$node->start;
}

sub report
{
	my ($table, $tier, $col) = @_;
	return $node->safe_psql('postgres',
		"SELECT $col FROM ruvector_tier_report('$table') WHERE tier = '$tier'");
}

# The checks after recovery of tsq, with $extra committed rows inserted
# during the stall and at least $moved pages already moved.
sub check_tsq
{
	my ($label, $moved, $extra) = @_;

	is($node->safe_psql('postgres', 'SELECT count(*) FROM tsq'),
		$rows + $extra, "$label: every committed row is present");
	is($node->safe_psql('postgres', qq(
		SELECT count(*) FROM tsq JOIN ref r USING (id)
		WHERE (SELECT max(abs(d)) FROM unnest((tsq.v - r.v)::real[]) d) > 0.0045)),
		'0', "$label: every row decodes within the sq8 error of its value");
	cmp_ok(report('tsq', 'sq8', 'blocks'), '>=', $moved,
		"$label: the pages moved before the crash stay moved");
	my $float32_rows = report('tsq', 'float32', 'rows');
	cmp_ok($node->safe_psql('postgres',
			'SELECT count(*) FROM tsq JOIN ref r USING (id) WHERE tsq.v::real[] = r.v::real[]'),
		'>=', $float32_rows - $extra, "$label: rows not moved are bit-identical");
	is($node->safe_psql('postgres', q(
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*) FROM tsq t1 WHERE t1.v IS DISTINCT FROM (SELECT v FROM tsq t2 WHERE t2.id = t1.id)
	)), '0', "$label: index scans return what the sequential scan returns");
	is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('tsq')"),
		'0', "$label: ruvector_tier_verify finds no problem");
}

my $pages = setup();
cmp_ok($pages, '>', 20, "the table spans $pages pages");

# Crash points: after the first page, in the middle (with a committed
# insert and a checkpoint during the stall), after the last page (before
# the function returns).
foreach my $point ([1, 0], [int($pages / 2), 1], [$pages, 0])
{
	my ($n, $busy) = @$point;
	setup();
	crash_during_compact('tsq', $n, $busy ? sub {
		$node->safe_psql('postgres', qq(
			INSERT INTO tsq SELECT 100000 + id, v, 'during' FROM ref WHERE id = 1;
			CHECKPOINT;
		));
	} : undef);
	$node->safe_psql('postgres', "INSERT INTO ref VALUES (100001, (SELECT v FROM ref WHERE id = 1))")
		if $busy;
	check_tsq("crash after $n of $pages pages", $n, $busy);

	note 'compact: ', $node->safe_psql('postgres', "SELECT * FROM ruvector_compact('tsq')");
	is(report('tsq', 'float32', 'rows'), '0', "crash after $n pages: a compact after recovery moves the rest");
	check_tsq("crash after $n pages, compacted again", $pages, $busy);
	$node->safe_psql('postgres', 'DELETE FROM ref WHERE id = 100001');
}

# An "exact" table: only lossless moves, so after a crash in the middle
# every row is bit-identical.
setup();
crash_during_compact('tex', 3, undef);
is($node->safe_psql('postgres',
		'SELECT count(*) FROM tex JOIN ref_int r USING (id) WHERE tex.v::real[] = r.v::real[]'),
	$rows, 'exact table: every row bit-identical after a crash during its compact');
cmp_ok(report('tex', 'float16', 'blocks'), '>=', 3, 'exact table: moved pages stay float16');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('tex')"),
	'0', 'exact table: ruvector_tier_verify finds no problem');

# A crash after a completed compact, with no checkpoint since: redo of
# every page.
setup();
note 'compact: ', $node->safe_psql('postgres', "SELECT * FROM ruvector_compact('tsq')");
$node->stop('immediate');
$node->start;
check_tsq('crash after a completed compact', $pages, 0);
is(report('tsq', 'float32', 'rows'), '0', 'crash after a completed compact: all rows stay sq8');

# PQ: the codebook is a WAL-logged row, committed before any page refers to
# it.  A crash in the middle of a PQ compact, then one after a completed
# compact with no checkpoint: the codebook is still there and every PQ row
# decodes to exactly what it decoded to before the crash.
$node->safe_psql('postgres', qq(
	DROP TABLE IF EXISTS tpq;
	CREATE TABLE tpq (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
	INSERT INTO tpq SELECT * FROM ref WHERE id <= $rows;
	SELECT ruvector_set_tiers('tpq', 'v', '{"exactness": "pq", "pq": {"m": 8, "k": 16}}');
));
crash_during_compact('tpq', 3, undef);
is($node->safe_psql('postgres', 'SELECT count(*) FROM tpq'), $rows,
	'pq, crash during its compact: every row is present');
cmp_ok(report('tpq', 'pq', 'blocks'), '>=', 3, 'pq: the moved pages stay pq');
is($node->safe_psql('postgres', "SELECT count(*) FROM tpq WHERE vector_dims(v) = $dim"),
	$rows, 'pq: every row decodes after the crash');
cmp_ok($node->safe_psql('postgres',
		'SELECT count(*) FROM tpq JOIN ref r USING (id) WHERE tpq.v::real[] = r.v::real[]'),
	'>=', report('tpq', 'float32', 'rows'), 'pq: rows not moved are bit-identical');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('tpq')"),
	'0', 'pq: ruvector_tier_verify finds no problem after the crash');
note 'compact: ', $node->safe_psql('postgres', "SELECT * FROM ruvector_compact('tpq')");
is(report('tpq', 'float32', 'rows'), '0', 'pq: a compact after recovery moves the rest');
$node->safe_psql('postgres', 'CREATE TABLE pq_before AS SELECT * FROM tpq');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', q(
	SELECT count(*) FROM tpq JOIN pq_before b USING (id) WHERE tpq.v::real[] = b.v::real[])),
	$rows, 'pq, crash after a completed compact: every row decodes bit-identically');
cmp_ok($node->safe_psql('postgres', q(
	SELECT avg(l2_distance(tpq.v, r.v) / vector_norm(r.v)) FROM tpq JOIN ref r USING (id))),
	'<', 0.5, 'pq: decoded rows are near their values');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('tpq')"),
	'0', 'pq: ruvector_tier_verify finds no problem after the second crash');

$node->stop;
done_testing();
