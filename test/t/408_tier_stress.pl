# The tier worker and the integrity plane, and the worker's other duty:
#  1. while an index of a table is in stress, the worker moves none of the
#     table's blocks colder, though its policy makes them all due; once the
#     index is normal again, it moves them;
#  2. it reads at most ruvector.tier_max_blocks_per_round blocks a round,
#     the sample that decides a column's inline storage included;
#  3. it skips a page pinned by a cursor, and moves it once unpinned;
#  4. a ruvector_heap table without a tier policy whose vector column is
#     undecided (rvheap_inline.c) gets its inline storage chosen by the
#     worker from a sample: none for dense floats, lz4 for image-like rows;
#  5. temperatures survive a crash (the launcher's periodic save).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use RvNode;

my $node = rv_node('tier_stress', preload => 1,
	conf => { autovacuum => 'off', 'ruvector.worker_naptime' => 1,
		'ruvector.integrity_interval' => 1, 'ruvector.tier_cost_delay' => 0 });

# ---------------------------------------------------------------------
# 1. No demotion while an index of the table is in stress
# ---------------------------------------------------------------------
# A stress threshold no graph can pass and a critical one none can miss:
# the index goes to stress and stays there.
$node->safe_psql('postgres', q{
	CREATE TABLE s (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
	INSERT INTO s SELECT i, (SELECT array_agg(sin(i * 16 + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(1, 3000) i;
	CREATE INDEX s_hnsw ON s USING hnsw (v vector_l2_ops) WITH (m = 8);
	SELECT ruvector_integrity_policy_set('sp', '{"stress_threshold": 1e9, "critical_threshold": 0,
		"degrade_samples": 1, "critical_samples": 1, "cooldown": 0, "restore_hold": 2, "auto_repair": false}');
	SELECT ruvector_integrity_policy_attach('s_hnsw', 'sp');
});
ok($node->poll_query_until('postgres', q{
	SELECT state = 'stress' FROM ruvector_integrity WHERE index = 's_hnsw'::regclass}),
	'the index of s is in stress');
my $pages = $node->safe_psql('postgres', "SELECT pg_relation_size('s') / 8192");
my $before = $node->safe_psql('postgres', 'SELECT md5(string_agg(v::text, \',\' ORDER BY id)) FROM s');

# Every block is due for sq8 one second after its last write.
$node->safe_psql('postgres',
	q{SELECT ruvector_set_tiers('s', 'v', '{"exactness": "sq8", "sq8": {"after_write": "1 s"}}')});
# Several worker rounds (naptime 1 s) while the index stays in stress.
sleep(8);
is($node->safe_psql('postgres', q{
	SELECT state FROM ruvector_integrity WHERE index = 's_hnsw'::regclass}),
	'stress', 'the index was still in stress at the end of the wait');
is($node->safe_psql('postgres', q{
	SELECT blocks || ' float32 / ' || (SELECT sum(blocks) FROM ruvector_tier_report('s'))
	FROM ruvector_tier_report('s') WHERE tier = 'float32'}),
	"$pages float32 / $pages", "no block of s moved colder while its index was in stress ($pages blocks due)");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM ruvector_tier_history WHERE relid = 's'::regclass AND blocks_moved > 0"),
	'0', 'and no worker round recorded a move');
ok($node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM ruvector_tier_plan('s') WHERE to_tier = 'sq8'}),
	'while ruvector_tier_plan says they are due');

# Back to normal: thresholds no graph can miss.
$node->safe_psql('postgres', q{
	SELECT ruvector_integrity_policy_set('sp', '{"stress_threshold": 0, "critical_threshold": 0,
		"cooldown": 0, "restore_hold": 2, "auto_repair": false}')});
ok($node->poll_query_until('postgres', q{
	SELECT state = 'normal' FROM ruvector_integrity WHERE index = 's_hnsw'::regclass}),
	'the index of s is normal again');
ok($node->poll_query_until('postgres',
		"SELECT blocks = $pages FROM ruvector_tier_report('s') WHERE tier = 'sq8'"),
	"then the worker moves all $pages blocks to sq8");
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('s')"), '0',
	'ruvector_tier_verify finds nothing wrong');
isnt($node->safe_psql('postgres', 'SELECT md5(string_agg(v::text, \',\' ORDER BY id)) FROM s'), $before,
	'the values are the sq8 decodings now');

# ---------------------------------------------------------------------
# 2. The budget: at most ruvector.tier_max_blocks_per_round blocks read per
#    round, so a table of 40 due blocks takes several rounds
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET ruvector.tier_max_blocks_per_round = 5;
	SELECT pg_reload_conf();
});
rv_tier_table($node, 'b', 'cos(i * 16 + j)', '{"exactness": "sq8", "sq8": {"after_write": "1 s"}}');
my ($bmoved, $bpages) = rv_tier_all_in($node, 'b', 'sq8');
ok($bmoved, "the worker moves all $bpages blocks of b to sq8");
is($node->safe_psql('postgres', qq{
	SELECT max(blocks_moved) <= 5 AND count(*) >= ceil($bpages / 5.0) FROM ruvector_tier_history
	WHERE relid = 'b'::regclass AND source = 'worker'}),
	't', 'in rounds of at most 5 blocks each');
# The round that decides a column's inline storage (section 4) reads its
# sample within the same budget: b2's blocks are due at once and its
# column undecided.  The sample of up to 64 blocks used to be subtracted
# from the budget after the fact, which left it negative, and a negative
# budget meant no limit: the first round moved every block of b2.
rv_tier_table($node, 'b2', 'sin(i * 7 + j)', '{"exactness": "sq8", "sq8": {}}');
my ($b2moved, $b2pages) = rv_tier_all_in($node, 'b2', 'sq8');
ok($b2moved, "the worker moves all $b2pages blocks of b2 to sq8");
is($node->safe_psql('postgres', qq{
	SELECT max(blocks_moved) <= 5 AND count(*) >= ceil($b2pages / 5.0) FROM ruvector_tier_history
	WHERE relid = 'b2'::regclass AND source = 'worker'}),
	't', 'in rounds of at most 5 blocks each, the round of the inline sample too');
is($node->safe_psql('postgres', "SELECT compression || ' ' || decided FROM ruvector_tier_storage('b2')"),
	'none true', 'and the sample, from at most half of a round\'s budget, decided b2\'s inline storage');
$node->safe_psql('postgres', q{
	ALTER SYSTEM RESET ruvector.tier_max_blocks_per_round;
	SELECT pg_reload_conf();
});

# ---------------------------------------------------------------------
# 3. A page pinned by a cursor: the worker skips it without waiting, round
#    after round, and moves it once the cursor is gone
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE pn (id int, v vector(16)) USING ruvector_heap;
	INSERT INTO pn SELECT i, (SELECT array_agg(sin(i + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(1, 3000) i;
});
my $pnpages = $node->safe_psql('postgres', "SELECT pg_relation_size('pn') / 8192");
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT id FROM pn; FETCH 1 FROM c;');
$node->safe_psql('postgres', q{SELECT ruvector_set_tiers('pn', 'v', '{"exactness": "sq8", "sq8": {}}')});
ok($node->poll_query_until('postgres',
		"SELECT blocks = $pnpages - 1 FROM ruvector_tier_report('pn') WHERE tier = 'sq8'"),
	'the worker moves every block of pn but the one a cursor pins');
sleep(3);
is($node->safe_psql('postgres', "SELECT blocks FROM ruvector_tier_report('pn') WHERE tier = 'float32'"),
	'1', 'the pinned block is still float32 rounds later (skipped, not waited for)');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('postgres',
		"SELECT blocks = $pnpages FROM ruvector_tier_report('pn') WHERE tier = 'sq8'"),
	'once the cursor is closed the worker moves it too');

# ---------------------------------------------------------------------
# 4. The worker chooses the inline storage of large vectors
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE dense (id int, v vector(784)) USING ruvector_heap;
	INSERT INTO dense SELECT i, (SELECT array_agg(sin(i * 1000 + j)::real) FROM generate_series(1, 784) j)
	FROM generate_series(1, 100) i;
	CREATE TABLE img (id int, v vector(784)) USING ruvector_heap;
	INSERT INTO img SELECT i, (SELECT array_agg(CASE WHEN (i * j) % 5 < 3 THEN 0 ELSE (i * j * 7) % 256 END)::real[]::vector
		FROM generate_series(1, 784) j)
	FROM generate_series(1, 100) i;
});
ok($node->poll_query_until('postgres', q{
	SELECT string_agg(compression || ' ' || decided, ',') = 'none true'
	FROM ruvector_tier_storage('dense')}),
	'the worker chose no compression for the dense embeddings');
ok($node->poll_query_until('postgres', q{
	SELECT string_agg(compression || ' ' || decided, ',') = 'lz4 true'
	FROM ruvector_tier_storage('img')}),
	'and lz4 for the image-like rows');
is($node->safe_psql('postgres',
	"SELECT attstorage::text || coalesce(nullif(attcompression::text, ''), '-') FROM pg_attribute WHERE attrelid = 'dense'::regclass AND attname = 'v'"),
	'e-', 'dense: storage EXTERNAL (kept inline), no method');
like(slurp_file($node->logfile),
	qr/column "v" of table "dense" keeps large vectors inline with none: a sample of 64 values/,
	'the log says what was chosen and from what');
$node->safe_psql('postgres', q{
	INSERT INTO dense SELECT i, (SELECT array_agg(cos(i * 1000 + j)::real) FROM generate_series(1, 784) j)
	FROM generate_series(101, 110) i});
is($node->safe_psql('postgres',
	"SELECT count(*) FROM dense WHERE id > 100 AND pg_column_compression(v) IS NULL AND pg_column_size(v) = 3144"),
	'10', 'rows inserted afterwards are stored inline, uncompressed');

# ---------------------------------------------------------------------
# 5. Temperatures survive a crash: the launcher saves them every 30 s
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE tc (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
	INSERT INTO tc SELECT i, (SELECT array_agg(sin(i * 3 + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(1, 3000) i;
});
sleep(2);
$node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT v FROM tc WHERE id = 1;
});
my $read_at = time();
my $crash_access = $node->safe_psql('postgres',
	"SELECT max(newest_access) FROM ruvector_tier_report('tc')");
my $statfile = $node->data_dir . '/pg_stat/ruvector_tier_access.stat';
my $saved = 0;
foreach my $i (1 .. 90)
{
	my @st = stat($statfile);
	if (@st && $st[9] > $read_at)
	{
		$saved = 1;
		last;
	}
	sleep(1);
}
ok($saved, 'the launcher saved the access summary after the read');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', "SELECT max(newest_access) FROM ruvector_tier_report('tc')"),
	$crash_access, 'after a crash the read time is still known');

$node->stop;
done_testing();
