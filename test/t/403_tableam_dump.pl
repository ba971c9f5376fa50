# ruvector_heap and pg_dump: a dump of tiered tables writes decoded values,
# restores into ruvector_heap tables with MAIN storage, and carries the tier
# policies and PQ codebooks (extension configuration tables, keyed by table
# name) to the new database, where they name the new tables.  Also: without
# shared_preload_libraries, ruvector_compact of a logged table says what to
# set, and everything else works.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $rows = 2000;

my $node = PostgreSQL::Test::Cluster->new('tam_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ruvector'\nruvector.tier_max_blocks_per_round = 0");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', qq(
	CREATE TABLE items (id int PRIMARY KEY, v vector($dim), w vector($dim), note text) USING ruvector_heap;
	INSERT INTO items SELECT i,
		(SELECT array_agg(sin(i * $dim + j)::real) FROM generate_series(1, $dim) j),
		(SELECT array_agg(cos(i * $dim + j)::real) FROM generate_series(1, $dim) j),
		'item ' || i
	FROM generate_series(1, $rows) i;
	CREATE INDEX items_v ON items USING hnsw (v vector_cosine_ops);
	SELECT ruvector_set_tiers('items', 'v', '{"exactness": "sq8", "sq8": {"after_write": 0}}');
	SELECT ruvector_set_tiers('items', 'w', '{"exactness": "pq", "pq": {"m": 8, "k": 32}}');
));
$node->safe_psql('postgres', "SELECT * FROM ruvector_compact('items')");
is($node->safe_psql('postgres',
		"SELECT string_agg(tier || '=' || rows, ',' ORDER BY tier) FROM ruvector_tier_report('items') WHERE rows > 0"),
	"pq=$rows", 'before the dump: rows are PQ (their coldest column)');

my $rows_sql = "SELECT md5(string_agg(id || ':' || v::text || ':' || w::text || ':' || note, ',' ORDER BY id)) FROM items";
my $source = $node->safe_psql('postgres', $rows_sql);

foreach my $format ('custom', 'plain')
{
	my $db = "restored_$format";
	my $file = $node->basedir . "/dump.$format";

	$node->command_ok(['pg_dump', '-F', substr($format, 0, 1), '-f', $file,
			'-d', $node->connstr('postgres')], "pg_dump ($format)");
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	if ($format eq 'custom')
	{
		$node->command_ok(['pg_restore', '-d', $node->connstr($db), $file],
			"pg_restore ($format)");
	}
	else
	{
		$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $file,
				'-d', $node->connstr($db)], "psql restore ($format)");
	}

	is($node->safe_psql($db, $rows_sql), $source,
		"$format: the restored rows are the decoded values of the source");
	is($node->safe_psql($db,
			"SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'items'"),
		'ruvector_heap', "$format: the table is restored with ruvector_heap");
	is($node->safe_psql($db,
			"SELECT string_agg(attname || '=' || attstorage::text, ',' ORDER BY attnum) FROM pg_attribute
			 WHERE attrelid = 'items'::regclass AND attname IN ('v', 'w')"),
		'v=m,w=m', "$format: vector columns keep MAIN storage");
	is($node->safe_psql($db,
			"SELECT string_agg(tier || '=' || rows, ',' ORDER BY tier) FROM ruvector_tier_report('items') WHERE rows > 0"),
		"float32=$rows", "$format: restored rows are written hot");
	is($node->safe_psql($db,
			"SELECT string_agg(relid::text || '.' || attname || ':' || (policy->>'exactness'), ',' ORDER BY attname)
			 FROM ruvector_tier_policy"),
		'items.v:sq8,items.w:pq', "$format: the policies name the restored table");
	is($node->safe_psql($db,
			"SELECT string_agg(relid::text || '.' || attname || ' m=' || m || ' k=' || k, ',') FROM ruvector_codebooks"),
		'items.w m=8 k=32', "$format: the codebook names the restored table");

	# The restored policy and codebook drive a compact in the new database;
	# the codebook is the source's, so PQ codes decode as in the source.
	$node->safe_psql($db, "SELECT * FROM ruvector_compact('items')");
	is($node->safe_psql($db,
			"SELECT string_agg(tier || '=' || rows, ',' ORDER BY tier) FROM ruvector_tier_report('items') WHERE rows > 0"),
		"pq=$rows", "$format: a compact with the restored policies moves the rows again");
	is($node->safe_psql($db, "SELECT count(*) FROM ruvector_tier_verify('items')"),
		'0', "$format: the recompacted table verifies");
	is($node->safe_psql($db,
			"SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM items ORDER BY v <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5) s"),
		'5', "$format: the restored hnsw index answers");
	is($node->safe_psql($db,
			"SELECT nextval('ruvector_codebooks_id_seq') > max(id) FROM ruvector_codebooks"),
		't', "$format: the codebook id sequence continues past the restored ids");
}

# Without shared_preload_libraries: logged tables cannot be compacted, and
# the error says what to set; unlogged tables and everything else work.
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
my ($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT * FROM ruvector_compact('items')");
isnt($ret, 0, 'without the preloaded library, compacting a logged table fails');
like($stderr, qr/ruvector_compact needs the ruvector WAL resource manager/, 'and says why');
like($stderr, qr/HINT:  Add ruvector to shared_preload_libraries and restart the server\./,
	'and what to set');
is($node->safe_psql('postgres', $rows_sql), $source, 'reads decode without the preloaded library');
$node->safe_psql('postgres', qq(
	CREATE UNLOGGED TABLE u (v vector(2)) USING ruvector_heap;
	INSERT INTO u VALUES ('[1,2]'), ('[3,4]');
	SELECT ruvector_set_tiers('u', 'v', '{"float16": {}}');
));
is($node->safe_psql('postgres', "SELECT vectors_moved FROM ruvector_compact('u')"),
	'2', 'unlogged tables are compacted without the preloaded library');

$node->stop;
done_testing();
