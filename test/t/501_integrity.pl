# The integrity control plane with its worker (shared_preload_libraries):
#
#  1. Fragmentation: two clusters joined by a band of rows.  A mass delete
#     of the band (and VACUUM) leaves the graph connected in this version
#     (VACUUM relinks the band's neighbours): no rows become unreachable and
#     the state stays normal.  The links the band used to carry are then
#     cut in the index file (test/perl/RvHnswPages.pm, server stopped), as
#     an older graph or a lost repair would leave it: the worker's samples
#     take the index normal -> stress -> critical (audit events for both);
#     a single-row INSERT is rejected with SQLSTATE 55RV1 and a hint naming
#     the repair function, its refusal survives the rollback in the audit
#     trail; searches still return full results.  ruvector_integrity_repair
#     reconnects it in place and the state comes back to normal only after
#     the hold; inserts work again.
#  2. No flapping: a stress threshold set at the median of the measured
#     lambda while inserts and deletes make it noisy.
#  3. The worker repairs by itself: in place when an index enters stress
#     (auto_repair, the default), or by a rebuild when it enters critical
#     (auto_rebuild).
#     While another index of a table is critical the worker pauses the
#     table's ivfflat refreshes, and resumes them in normal.
#  4. Operational scope: a standby whose replay is paused falls past its
#     lag budget; the operational scope goes to stress, and back to normal
#     once replay resumes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use FindBin;
use lib "$FindBin::Bin/../perl";
use RvHnswPages;
use RvNode;

my $node = rv_node('primary', init => { allows_streaming => 1 }, preload => 1,
	conf => { 'ruvector.worker_naptime' => 1, 'ruvector.integrity_interval' => 1,
		'ruvector.integrity_lag_budget' => "'1h'", 'ruvector.integrity_lag_budget_bytes' => "'1MB'" });

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
# Three tables of two clusters joined by a band: frag (repaired by hand),
# auto (the worker repairs in place), rebuilt (the worker rebuilds).
sub two_clusters
{
	my ($table, $seed, $policy) = @_;
	$node->safe_psql('postgres', qq{
		SELECT setseed($seed);
		CREATE TABLE $table (id int, band bool, v vector(4));
		INSERT INTO $table SELECT i, false, ARRAY[random(), random(), random() * 0.2, 0]::vector
			FROM generate_series(1, 3000) i;
		INSERT INTO $table SELECT i, false, ARRAY[3 + random(), random(), random() * 0.2, 0]::vector
			FROM generate_series(3001, 6000) i;
		INSERT INTO $table SELECT i, true, ARRAY[1 + 2 * random(), random(), random() * 0.2, 0]::vector
			FROM generate_series(6001, 7500) i;
		CREATE INDEX ${table}_hnsw ON $table USING hnsw (v vector_l2_ops) WITH (m = 8);
		SELECT ruvector_integrity_policy_set('$table', '$policy');
		SELECT ruvector_integrity_policy_attach('$table', '$table');
	});
}
two_clusters('frag', 0.25, '{"cooldown": 0, "restore_hold": 4, "auto_repair": false}');
two_clusters('auto', 0.75, '{"cooldown": 0, "restore_hold": 2}');
two_clusters('rebuilt', 0.5, '{"cooldown": 0, "restore_hold": 2, "auto_repair": false, "auto_rebuild": true}');

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 3 FROM ruvector_integrity
	WHERE samples >= 2 AND state = 'normal' AND baseline > 0}),
	'the worker samples the new indexes by itself; normal, with a baseline');
my $baseline = $node->safe_psql('postgres',
	"SELECT baseline FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass");
note("frag baseline lambda_cut $baseline");

for my $t ('frag', 'auto', 'rebuilt')
{
	$node->safe_psql('postgres', "DELETE FROM $t WHERE band");
	$node->safe_psql('postgres', "VACUUM $t");
}
my $after_delete = $node->safe_psql('postgres',
	"SELECT ruvector_integrity_sample('frag_hnsw')->>'unreachable'");
is($after_delete, '0', 'after the mass delete and VACUUM every row is still reachable');

# Cut what joins the clusters, as a lost repair would leave it
$node->safe_psql('postgres', 'CHECKPOINT');
my %files = map { $_ => $node->data_dir . '/' . $node->safe_psql('postgres',
	"SELECT pg_relation_filepath('${_}_hnsw')") } ('frag', 'auto', 'rebuilt');
$node->stop;
cmp_ok(hnsw_cut_links($files{$_}, 8, 'sides', 2), '>', 0, "$_: links between the clusters cut")
	for ('frag', 'auto', 'rebuilt');
$node->start;

ok($node->poll_query_until('postgres', q{
	SELECT state = 'critical' FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass}),
	'the index goes critical once the clusters are cut apart');
my $sample = $node->safe_psql('postgres', q{
	SELECT lambda_cut || ' ' || unreachable FROM ruvector_integrity WHERE index = 'frag_hnsw'::regclass});
my ($lambda, $unreachable) = split / /, $sample;
note("lambda_cut $lambda (both directions of links count), $unreachable rows unreachable");
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
	my $r = $node->safe_psql('postgres', "SELECT ruvector_integrity_repair('frag_hnsw')");
	note("repaired with ruvector_integrity_repair: $r");
	like($r, qr/"method": "in_place"/, 'the repair is in place');
	like($r, qr/"unreachable_after": 0[,}]/, 'the in-place repair left nothing unreachable');
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
# What the policy guarantees under noise: transitions at least a cooldown
# apart (so at most one per 5 s), fewer than the raw signal's crossings
# (below), and a recovery only after restore_hold seconds of samples clearly
# above the threshold.  How many clear recoveries random churn produces in
# 25 s is chance: one CI run saw down, up (a 5 s stretch at 19-22) and
# down again, which the policy allows.
cmp_ok(scalar(@moves), '<=', 1 + int(25 / 5), 'transitions bounded by the cooldown (one per 5 s) in 25 s');
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
# 3. The worker repairs by itself: in place (auto_repair, the default) as
#    soon as the index enters stress; by a rebuild (auto_rebuild) when it
#    enters critical, for a policy that wants that instead
# ---------------------------------------------------------------------
ok($node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM ruvector_audit_events
	WHERE event_type = 'integrity.repair' AND target_oid = 'auto_hnsw'::regclass::oid}),
	'auto: the worker repaired the index when it entered stress');
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity WHERE index = 'auto_hnsw'::regclass}),
	'auto: back to normal without anyone calling a function');
is($node->safe_psql('postgres', q{
	SELECT payload->>'method' || ' ' || (payload->'after'->>'unreachable')
	FROM ruvector_audit_events
	WHERE event_type = 'integrity.repair' AND target_oid = 'auto_hnsw'::regclass::oid
	ORDER BY seq DESC LIMIT 1}),
	'in_place 0', 'auto: repaired in place, nothing unreachable after');
is(transitions('auto_hnsw', 'stress', 'critical'), '0', 'auto: it never got to critical');

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM ruvector_audit_events
	WHERE event_type = 'integrity.repair' AND target_oid = 'rebuilt_hnsw'::regclass::oid}),
	'rebuilt: the worker rebuilt the index when it went critical');
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity WHERE index = 'rebuilt_hnsw'::regclass}),
	'rebuilt: back to normal');
is(transitions('rebuilt_hnsw', 'stress', 'critical'), '1', 'rebuilt: it had been critical');
is($node->safe_psql('postgres', q{
	SELECT payload->>'method' || ' ' || (payload->'after'->>'unreachable')
	FROM ruvector_audit_events
	WHERE event_type = 'integrity.repair' AND target_oid = 'rebuilt_hnsw'::regclass::oid}),
	'rebuild 0', 'rebuilt: by a rebuild, nothing unreachable after');
like(slurp_file($node->logfile), qr/index rebuilt_hnsw entered critical; repairing it \(rebuild\)/,
	'rebuilt: the worker logged the rebuild');

# The worker pauses ivfflat refreshes while another index of the table is
# critical, and resumes them once it is normal again.
$node->safe_psql('postgres', q{
	CREATE TABLE ivfp (id int, v vector(4));
	INSERT INTO ivfp SELECT i, ARRAY[random(), random(), random(), random()]::vector
		FROM generate_series(1, 3000) i;
	CREATE INDEX ivfp_hnsw ON ivfp USING hnsw (v vector_l2_ops) WITH (m = 8);
	CREATE INDEX ivfp_ivf ON ivfp USING ivfflat (v vector_l2_ops) WITH (lists = 10);
	SELECT ruvector_integrity_policy_set('ivfp', '{"stress_threshold": 1e9, "critical_threshold": 1e9,
		"degrade_samples": 1, "critical_samples": 1, "cooldown": 0, "restore_hold": 2, "auto_repair": false}');
	SELECT ruvector_integrity_policy_attach('ivfp_hnsw', 'ivfp');
});
ok($node->poll_query_until('postgres', q{
	SELECT state = 'critical' FROM ruvector_integrity WHERE index = 'ivfp_hnsw'::regclass}),
	'ivfp: the HNSW index is critical');
$node->safe_psql('postgres', q{
	SET ruvector.integrity_gate = off;
	INSERT INTO ivfp SELECT i, ARRAY[5 + random(), 5 + random(), 5 + random(), 5 + random()]::vector
		FROM generate_series(1, 3000) i;
});
cmp_ok($node->safe_psql('postgres', "SELECT drift FROM ruvector_ivf_stats('ivfp_ivf')"), '>', 1.5,
	'ivfp: the ivfflat index drifted past the refresh threshold');
sleep(5);
is($node->safe_psql('postgres', "SELECT refreshes FROM ruvector_ivf_stats('ivfp_ivf')"), '0',
	'ivfp: no refresh while the other index is critical');
$node->safe_psql('postgres', q{
	SELECT ruvector_integrity_policy_set('ivfp', '{"stress_threshold": 0, "critical_threshold": 0,
		"cooldown": 0, "restore_hold": 2, "auto_repair": false}')});
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity WHERE index = 'ivfp_hnsw'::regclass}),
	'ivfp: the HNSW index is normal again');
ok($node->poll_query_until('postgres', "SELECT refreshes >= 1 FROM ruvector_ivf_stats('ivfp_ivf')"),
	'ivfp: the worker refreshes the ivfflat index then');

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
