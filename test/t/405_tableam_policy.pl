# ruvector_heap tier policies driven by tracked accesses (shared memory,
# so shared_preload_libraries): blocks read through an index, or written,
# more recently than a tier's thresholds, or read more often than its
# max_reads, stay where they are; the others move.  Blocks nobody touched
# count as touched when the server started.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('tam_policy');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'ruvector'
# moves by ruvector_compact only: the tier worker (407) is off here
ruvector.tier_max_blocks_per_round = 0
autovacuum = off
));
$node->start;
$node->safe_psql('postgres', qq(
	CREATE EXTENSION ruvector;
	CREATE TABLE t (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
	INSERT INTO t SELECT i, (SELECT array_agg(sin(i * 16 + j)::real) FROM generate_series(1, 16) j)
	FROM generate_series(1, 3000) i;
	SELECT ruvector_set_tiers('t', 'v', '{"exactness": "sq8", "sq8": {"after_write": "3 s", "after_read": "3 s"}}');
));
my $pages = $node->safe_psql('postgres', "SELECT pg_relation_size('t') / 8192");

# Everything was just written: nothing is due yet.
is($node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('t')"),
	'0', 'blocks written less than after_write ago do not move');

sleep 4;
# Read block 0 through the index, insert a row (into the last block, or a
# new one), leave the rest alone.
$node->safe_psql('postgres', q(
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT v FROM t WHERE id = 1;
	INSERT INTO t VALUES (100000, '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]');
));
# A sequential scan is not a read that keeps blocks hot.
$node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE v IS NOT NULL');
$pages = $node->safe_psql('postgres', "SELECT pg_relation_size('t') / 8192");

my $res = $node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('t')");
note "moved $res of $pages pages";
is($res, $pages - 2, 'every block but the one read and the one written moves');
my $report = $node->safe_psql('postgres',
	"SELECT tier || ':' || blocks FROM ruvector_tier_report('t') WHERE blocks > 0 ORDER BY tier");
like($report, qr/float32:2/, 'the two recently touched blocks stay float32');
is($node->safe_psql('postgres',
		"SELECT oldest_access IS NOT NULL AND newest_access >= oldest_access FROM ruvector_tier_report('t') WHERE tier = 'float32'"),
	't', 'the report shows their tracked access times');

sleep 4;
is($node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('t')"),
	'2', 'once the thresholds pass, they move too');

# Read counts: a block read more often than max_reads stays; the count
# is what the others, never read, are compared with.
$node->safe_psql('postgres', qq(
	CREATE TABLE r (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
	INSERT INTO r SELECT id, v FROM t WHERE id <= 3000;
	SELECT ruvector_set_tiers('r', 'v', '{"exactness": "sq8", "sq8": {"max_reads": 2}}');
));
foreach my $i (1 .. 4)
{
	$node->safe_psql('postgres', q(
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT v FROM r WHERE id = 1;
	));
}
my $rpages = $node->safe_psql('postgres', "SELECT pg_relation_size('r') / 8192");
is($node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('r')"),
	$rpages - 1, 'a block read more than max_reads times stays');
like($node->safe_psql('postgres',
		"SELECT tier || ':' || blocks FROM ruvector_tier_report('r') WHERE blocks > 0 ORDER BY tier"),
	qr/float32:1/, 'it is the one read block');

$node->stop;
done_testing();
