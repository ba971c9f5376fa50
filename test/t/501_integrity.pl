# The integrity control plane with its worker (shared_preload_libraries):
#
#  1. Fragmentation: two clusters joined by a band of rows; a mass delete of
#     the band (and VACUUM) cuts the HNSW graph in two.  The worker's samples
#     take the index normal -> stress -> critical (audit events for both
#     transitions); a single-row INSERT is then rejected with SQLSTATE 55RV1
#     and a hint naming the repair function, its refusal survives the
#     rollback in the audit trail; searches still return full results.  A
#     repair (ruvector_integrity_repair when the build has it, else REINDEX,
#     which rebuilds the graph) brings it back to normal only after the
#     hold, and inserts work again.
#  2. No flapping: a stress threshold set at the median of the measured
#     lambda while inserts and deletes make it noisy: at most one transition.
#  3. auto_rebuild: with it in the policy the worker rebuilds an index that
#     enters critical by itself, and the state comes back to normal.
#  4. Operational scope: a standby whose replay is paused falls past its lag
#     budget; the operational scope goes to stress, and back to normal once
#     replay resumes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'ruvector'
ruvector.worker_naptime = 1
ruvector.integrity_interval = 1
ruvector.integrity_lag_budget = '1h'
ruvector.integrity_lag_budget_bytes = '1MB'
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');

sub state_of
{
	my ($index) = @_;
	return $node->safe_psql('postgres',
		"SELECT state FROM ruvector_integrity WHERE index = '$index'::regclass");
}

sub transitions
{
	my ($index, $from, $to) = @_;
	return $node->safe_psql('postgres', qq(
		SELECT count(*) FROM ruvector_audit_events
		WHERE event_type = 'integrity.transition' AND target_oid = '$index'::regclass::oid
		  AND payload->>'from' = '$from' AND payload->>'to' = '$to'));
}

# ---------------------------------------------------------------------
# 1. Fragmentation by a mass delete
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	SELECT setseed(0.25);
	CREATE TABLE frag (id int, band bool, v vector(4));
	INSERT INTO frag SELECT i, false, ARRAY[random(), random(), random() * 0.2, 0]::vector
		FROM generate_series(1, 3000) i;
	INSERT INTO frag SELECT i, false, ARRAY[3 + random(), random(), random() * 0.2, 0]::vector
		FROM generate_series(3001, 6000) i;
	INSERT INTO frag SELECT i, true, ARRAY[1 + 2 * random(), random(), random() * 0.2, 0]::vector
		FROM generate_series(6001, 7500) i;
	CREATE INDEX frag_hnsw ON frag USING hnsw (v vector_l2_ops) WITH (m = 8);
	SELECT ruvector_integrity_policy_set('tap', '{"cooldown": 0, "restore_hold": 4}');
	SELECT ruvector_integrity_policy_attach('frag', 'tap');
});

ok($node->poll_query_until('postgres', q{
	SELECT samples >= 2 AND state = 'normal' AND baseline > 0
	FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass}),
	'the worker samples the new index by itself; normal, with a baseline');
my $baseline = $node->safe_psql('postgres',
	"SELECT baseline FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass");
note("baseline lambda_cut $baseline");

$node->safe_psql('postgres', 'DELETE FROM frag WHERE band');
$node->safe_psql('postgres', 'VACUUM frag');

ok($node->poll_query_until('postgres', q{
	SELECT state = 'critical' FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass}),
	'the index goes critical after the band is deleted');
my $sample = $node->safe_psql('postgres', q{
	SELECT lambda_cut || ' ' || unreachable FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass});
my ($lambda, $unreachable) = split / /, $sample;
cmp_ok($lambda, '<', 0.25 * $baseline, "lambda_cut $lambda fell below the critical threshold");
cmp_ok($unreachable, '>', 0, "$unreachable rows are unreachable from the entry point");
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM ruvector_audit_events
	WHERE event_type = 'integrity.transition' AND target_oid = 'frag_hnsw'::regclass::oid
	  AND (payload->>'from', payload->>'to') IN (('normal', 'stress'), ('stress', 'critical'))}),
	'audit events for normal -> stress and stress -> critical');

my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nINSERT INTO frag VALUES (0, false, '[0.5,0.5,0,0]')");
isnt($ret, 0, 'a single-row insert is rejected in critical');
like($stderr, qr/55RV1/, 'with SQLSTATE 55RV1');
like($stderr, qr/integrity state critical/, 'the message names the state');
like($stderr, qr/lambda_cut [0-9.]+, baseline/, 'the detail gives lambda and the baseline');
like($stderr, qr/ruvector_integrity_repair\('frag_hnsw'\)/, 'the hint names the repair function');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM ruvector_audit_events
	WHERE event_type = 'integrity.rejected' AND target_oid = 'frag_hnsw'::regclass::oid}),
	'the rejection is in the audit trail although its transaction rolled back');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"COPY frag FROM STDIN;\n1\tf\t[0,0,0,0]\n\\.\n");
like($stderr, qr/COPY on "frag" rejected/, 'COPY is rejected too');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM frag ORDER BY v <-> '[3.5,0.5,0,0]' LIMIT 10) s}),
	'10', 'searches still return full results');
is($node->safe_psql('postgres', "SELECT count(*) FROM frag WHERE band"), '0', 'the table is unchanged');

# Repair
my $has_repair = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_proc WHERE proname = 'ruvector_integrity_repair'");
my $repaired_at = time();
if ($has_repair)
{
	$node->safe_psql('postgres', "SELECT ruvector_integrity_repair('frag_hnsw')");
	note('repaired with ruvector_integrity_repair');
}
else
{
	$node->safe_psql('postgres', 'REINDEX INDEX frag_hnsw');
	note('repaired with REINDEX (this build has no ruvector_integrity_repair)');
}
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass}),
	'back to normal after the repair');
cmp_ok(time() - $repaired_at, '>=', 4, 'but not before the 4 s hold');
is($node->safe_psql('postgres',
	"SELECT unreachable FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass"),
	'0', 'nothing is unreachable after the repair');
is(transitions('frag_hnsw', 'critical', 'normal'), '1', 'one audit event critical -> normal');
$node->safe_psql('postgres', "INSERT INTO frag VALUES (0, false, '[0.5,0.5,0,0]')");
pass('inserts work again');

# ---------------------------------------------------------------------
# 2. No flapping near the threshold
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE noisy (id serial, v vector(4));
	INSERT INTO noisy (v) SELECT ARRAY[random(), random(), random(), random()]::vector
		FROM generate_series(1, 3000);
	CREATE INDEX noisy_hnsw ON noisy USING hnsw (v vector_l2_ops) WITH (m = 4);
});

# Noise: rows come and go (deletes are vacuumed), changing the graph.
sub churn
{
	$node->safe_psql('postgres', q{
		DELETE FROM noisy WHERE id IN (SELECT id FROM noisy ORDER BY random() LIMIT 150);
		INSERT INTO noisy (v) SELECT ARRAY[random(), random(), random(), random()]::vector
			FROM generate_series(1, 150);
		VACUUM noisy;
	});
}

my @seen;
for (1 .. 12)
{
	churn();
	push @seen, $node->safe_psql('postgres', "SELECT (ruvector_integrity_sample('noisy_hnsw')->>'lambda_cut')::float8");
}
my @sorted = sort { $a <=> $b } @seen;
my $median = $sorted[int(@sorted / 2)] + 0.5;
note("lambda_cut under churn: @seen; threshold $median");
$node->safe_psql('postgres', qq(
	SELECT ruvector_integrity_policy_set('noisy', '{"stress_threshold": $median, "critical_threshold": 0,
		"restore_offset": 0.1, "restore_hold": 5, "cooldown": 5}');
	SELECT ruvector_integrity_policy_attach('noisy', 'noisy');
));
my ($below, $above, $flips, $last) = (0, 0, 0, undef);
my $start = time();
while (time() - $start < 25)
{
	churn();
	my $l = $node->safe_psql('postgres', "SELECT (ruvector_integrity_sample('noisy_hnsw')->>'lambda_cut')::float8");
	my $side = $l < $median ? 'below' : 'above';
	$side eq 'below' ? $below++ : $above++;
	$flips++ if defined $last && $last ne $side;
	$last = $side;
	usleep(300_000);
}
note("samples below the threshold: $below, at or above: $above; the raw signal crossed it $flips times");
my @moves = split /\n/, $node->safe_psql('postgres', q{
	SELECT extract(epoch FROM event_time) FROM ruvector_audit_events
	WHERE event_type = 'integrity.transition' AND target_oid = 'noisy_hnsw'::regclass::oid
	ORDER BY seq});
note('transitions: ' . scalar(@moves));
cmp_ok(scalar(@moves), '<=', 2, 'at most two transitions (down, and up after a clear recovery) in 25 s');
my $min_gap = 1e9;
$min_gap = ($moves[$_] - $moves[$_ - 1] < $min_gap ? $moves[$_] - $moves[$_ - 1] : $min_gap) for 1 .. $#moves;
cmp_ok($min_gap, '>=', 5, 'no two transitions closer than the cooldown') if @moves > 1;
SKIP:
{
	skip "the noise crossed the threshold only $flips times", 1 if $flips < 4;
	cmp_ok(scalar(@moves), '<', $flips,
		"hysteresis: $flips crossings of the raw signal, " . scalar(@moves) . ' transitions');
}

# ---------------------------------------------------------------------
# 3. The worker repairs by itself (auto_rebuild)
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	SELECT setseed(0.75);
	CREATE TABLE auto (id int, band bool, v vector(4));
	INSERT INTO auto SELECT i, false, ARRAY[random(), random(), random() * 0.2, 0]::vector
		FROM generate_series(1, 3000) i;
	INSERT INTO auto SELECT i, false, ARRAY[3 + random(), random(), random() * 0.2, 0]::vector
		FROM generate_series(3001, 6000) i;
	INSERT INTO auto SELECT i, true, ARRAY[1 + 2 * random(), random(), random() * 0.2, 0]::vector
		FROM generate_series(6001, 7500) i;
	CREATE INDEX auto_hnsw ON auto USING hnsw (v vector_l2_ops) WITH (m = 8);
	SELECT ruvector_integrity_policy_set('auto', '{"cooldown": 0, "restore_hold": 2, "auto_rebuild": true}');
	SELECT ruvector_integrity_policy_attach('auto', 'auto');
});
ok($node->poll_query_until('postgres', q{
	SELECT samples >= 2 AND state = 'normal' FROM ruvector_integrity WHERE index = 'auto_hnsw'::regclass}),
	'auto: sampled, normal');
$node->safe_psql('postgres', 'DELETE FROM auto WHERE band');
$node->safe_psql('postgres', 'VACUUM auto');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM ruvector_audit_events
	WHERE event_type = 'integrity.repair' AND target_oid = 'auto_hnsw'::regclass::oid}),
	'auto: the worker rebuilt the index when it went critical');
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity WHERE index = 'auto_hnsw'::regclass}),
	'auto: back to normal without anyone calling a function');
is(transitions('auto_hnsw', 'stress', 'critical'), '1', 'auto: it had been critical');
is($node->safe_psql('postgres', q{
	SELECT (payload->'after'->>'unreachable')::int FROM ruvector_audit_events
	WHERE event_type = 'integrity.repair' AND target_oid = 'auto_hnsw'::regclass::oid}),
	'0', 'auto: nothing unreachable after the rebuild');
like(slurp_file($node->logfile), qr/index auto_hnsw entered critical; rebuilding it \(auto_rebuild\)/,
	'auto: the worker logged the rebuild');

# ---------------------------------------------------------------------
# 4. A standby past its lag budget
# ---------------------------------------------------------------------
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby, 'replay');
ok($node->poll_query_until('postgres',
		"SELECT (ruvector_integrity_sample_operational()->>'nodes')::int = 3"),
	'the operational graph has the primary, the standby and the workers');
is($node->safe_psql('postgres',
	"SELECT state FROM ruvector_integrity_status() WHERE scope = 'operational'"),
	'normal', 'operational scope normal with the standby caught up');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$node->safe_psql('postgres', q{
	CREATE TABLE wal_filler (x text);
	INSERT INTO wal_filler SELECT repeat('x', 1000) FROM generate_series(1, 5000);
});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM ruvector_audit_events
	WHERE event_type = 'integrity.transition' AND payload->>'scope' = 'operational'
	  AND payload->>'from' = 'normal' AND payload->>'to' = 'stress'}),
	'the operational scope goes to stress with the standby past its lag budget');
like($node->safe_psql('postgres', q{
	SELECT payload->'witness_edges'->0->>'to' FROM ruvector_audit_events
	WHERE event_type = 'integrity.transition' AND payload->>'scope' = 'operational'
	ORDER BY seq LIMIT 1}), qr/^standby/, 'the witness edge is the standby link');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$node->wait_for_catchup($standby, 'replay');
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity_status() WHERE scope = 'operational'}),
	'back to normal once the standby has caught up');

$standby->stop;
$node->stop;
done_testing();
