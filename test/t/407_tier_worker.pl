# The tier worker (shared_preload_libraries = 'ruvector'): with a policy of
# short thresholds, rows move to their tier without any call to
# ruvector_compact; a block read often enough comes back up to float32;
# temperatures (read counts and times) survive a restart; an immediate
# shutdown in the middle of a worker round leaves every row decodable and
# ruvector_tier_verify clean; a streaming standby follows the moves.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use RvNode;

my $node = rv_node('tier_worker', init => { allows_streaming => 1 }, preload => 1,
	conf => { autovacuum => 'off', 'ruvector.worker_naptime' => 1,
		'ruvector.tier_cost_delay' => 0, 'ruvector.tier_promote_reads' => 3 });
$node->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('tier_worker_standby');
$standby->init_from_backup($node, 'bkp', has_streaming => 1);
$standby->start;

# Blocks read more than twice stay float32; the others go to sq8 two
# seconds after their last write.
rv_tier_table($node, 't', 'sin(i * 16 + j)',
	'{"exactness": "sq8", "sq8": {"after_write": "2 s", "max_reads": 2}}');
my ($moved, $pages) = rv_tier_all_in($node, 't', 'sq8');
ok($moved, "the worker moves all $pages blocks to sq8 by itself");
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('t')"),
	'0', 'verify is clean after the worker moves');
is($node->safe_psql('postgres',
		"SELECT sum(blocks_moved) FROM ruvector_tier_history WHERE relid = 't'::regclass AND source = 'worker'"),
	$pages, 'the history records the worker\'s moves');
my $before = $node->safe_psql('postgres', 'SELECT v FROM t WHERE id = 1');

# Read row 1 through the index, one statement at a time: its block gets
# hot, and the worker brings it back up.  Repeats in one statement count
# once: a statement that reads it ten times is one read.
$node->safe_psql('postgres', q(
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM t, generate_series(1, 10) g WHERE id = 1;
));
foreach my $i (1 .. 4)
{
	$node->safe_psql('postgres', q(
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT v FROM t WHERE id = 1;
	));
}
ok($node->poll_query_until('postgres',
		"SELECT blocks = 1 FROM ruvector_tier_report('t') WHERE tier = 'float32'"),
	'a cold block read often comes back up to float32');
is($node->safe_psql('postgres', 'SELECT v FROM t WHERE id = 1'), $before,
	'promotion keeps the decoded value');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('t')"),
	'0', 'verify is clean after the promotion');
my $access = $node->safe_psql('postgres',
	"SELECT newest_access FROM ruvector_tier_report('t') WHERE tier = 'float32'");
isnt($access, '', 'the hot block has a tracked access time');

# Restart: the read count and time of the hot block are kept, so it is
# not demoted again (without them it would count as never read).
$node->restart;
is($node->safe_psql('postgres',
		"SELECT newest_access FROM ruvector_tier_report('t') WHERE tier = 'float32'"),
	$access, 'a restart keeps the access time');
sleep 4;
is($node->safe_psql('postgres',
		"SELECT blocks FROM ruvector_tier_report('t') WHERE tier = 'float32'"),
	'1', 'and the read count: the hot block stays float32 after the restart');

# Immediate shutdown in the middle of a worker round.
$node->safe_psql('postgres', qq(
	CREATE TABLE u (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
	INSERT INTO u SELECT i, (SELECT array_agg(cos(i * 16 + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(1, 3000) i;
	ALTER SYSTEM SET ruvector.test_compact_stop_after = 3;
	SELECT pg_reload_conf();
));
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	q(SELECT ruvector_set_tiers('u', 'v', '{"exactness": "sq8", "sq8": {"after_write": "1 s"}}')));
ok($node->wait_for_log(qr/test stop after 3 rewritten pages of "u"/, $log_offset),
	'the worker stopped in the middle of its round');
like($node->safe_psql('postgres',
		"SELECT table_name || ' ' || source || ' ' || phase || ' ' || blocks_moved || ' ' || (blocks_done BETWEEN 3 AND blocks_total) || ' ' || (blocks_total = pg_relation_size('u') / 8192) FROM ruvector_tier_progress"),
	qr/^u worker scanning 3 true true$/, 'ruvector_tier_progress shows the worker in the middle of table u');
$node->safe_psql('postgres', q(
	ALTER SYSTEM RESET ruvector.test_compact_stop_after;
));
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres',
		"SELECT count(*) FROM u WHERE vector_dims(v) = 16 AND l2_distance(v, (SELECT array_agg(cos(id * 16 + j)::real) FROM generate_series(1, 16) j)::vector) < 0.05"),
	'3000', 'after the crash every row decodes, close to its value');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('u')"),
	'0', 'verify is clean after the crash');
my $upages = $node->safe_psql('postgres', "SELECT pg_relation_size('u') / 8192");
ok($node->poll_query_until('postgres',
		"SELECT blocks = $upages FROM ruvector_tier_report('u') WHERE tier = 'sq8'"),
	'the worker finishes the moves after the restart');

# Space reuse: rows inserted after the moves go into the space they freed
# (free space map), and the file grows far less than a fresh table's.
my $u_before = $node->safe_psql('postgres', "SELECT pg_relation_size('u')");
$node->safe_psql('postgres', qq(
	INSERT INTO u SELECT i, (SELECT array_agg(cos(i * 16 + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(3001, 4000) i;
	CREATE TABLE fresh (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
	INSERT INTO fresh SELECT id, v FROM u WHERE id > 3000;
));
my $u_growth = $node->safe_psql('postgres', "SELECT pg_relation_size('u')") - $u_before;
my $fresh = $node->safe_psql('postgres', "SELECT pg_relation_size('fresh')");
note "1000 rows (fewer than the space freed holds) after the moves grew the file by $u_growth bytes; into a fresh table: $fresh bytes";
ok($u_growth <= 0.25 * $fresh, 'inserts reuse the space the moves freed');

# The standby follows (once the worker has moved the new rows too).
ok($node->poll_query_until('postgres',
		"SELECT rows = 4000 FROM ruvector_tier_report('u') WHERE tier = 'sq8'"),
	'the worker moves the new rows as well');
$node->wait_for_catchup($standby);
my $q = "SELECT string_agg(tier || ':' || blocks || ':' || rows, ',' ORDER BY tier) FROM ruvector_tier_report('u')";
is($standby->safe_psql('postgres', $q), $node->safe_psql('postgres', $q),
	'the standby has the same tiers');
is($standby->safe_psql('postgres', 'SELECT md5(string_agg(v::text, \',\' ORDER BY id)) FROM t'),
	$node->safe_psql('postgres', 'SELECT md5(string_agg(v::text, \',\' ORDER BY id)) FROM t'),
	'and the same values');

# A page pinned by a cursor: ruvector_compact retries it a few times, then
# skips it; blocks_scanned counts it once (the worker is turned off here so
# that only the compact moves).
$node->safe_psql('postgres', q(
	ALTER SYSTEM SET ruvector.tier_max_blocks_per_round = 0;
	SELECT pg_reload_conf();
));
sleep 2;
$node->safe_psql('postgres', qq(
	CREATE TABLE p (id int, v vector(16)) USING ruvector_heap;
	INSERT INTO p SELECT i, (SELECT array_agg(sin(i + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(1, 3000) i;
	SELECT ruvector_set_tiers('p', 'v', '{"exactness": "sq8", "sq8": {}}');
));
my $ppages = $node->safe_psql('postgres', "SELECT pg_relation_size('p') / 8192");
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT id FROM p; FETCH 1 FROM c;');
is($node->safe_psql('postgres',
		"SELECT blocks_scanned || ' ' || blocks_moved || ' ' || blocks_skipped FROM ruvector_compact('p')"),
	"$ppages " . ($ppages - 1) . " 1",
	'a pinned block is retried, skipped, and counted once in blocks_scanned');
$holder->query_safe('COMMIT');
$holder->quit;

# Sequential scans read ahead (ruvector.io_method): each method returns
# the same rows, and io_uring / prefetch really ask for blocks.
my %scan;
foreach my $method (qw(off prefetch io_uring))
{
	my $out = $node->safe_psql('postgres', qq(
		SET ruvector.io_method = $method; SET ruvector.seqscan_read_ahead = on;
		SET enable_indexscan = off; SET enable_bitmapscan = off;
		SET max_parallel_workers_per_gather = 0;
		SELECT md5(string_agg(v::text, ',' ORDER BY id)) FROM u;
		SELECT blocks > 0 FROM ruvector_io_stats();
	));
	my ($md5, $asked) = split /\n/, $out;
	$scan{$method} = $md5;
	is($asked, $method eq 'off' ? 'f' : 't', "a sequential scan with io_method $method asks for blocks ahead only if not off");
}
is($scan{prefetch}, $scan{off}, 'prefetch and off scan the same rows');
is($scan{io_uring}, $scan{off}, 'io_uring and off scan the same rows');

$standby->stop;
$node->stop;
done_testing();
