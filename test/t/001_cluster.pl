# A cluster with the extension: it loads lazily with CREATE EXTENSION and also
# from shared_preload_libraries, answers distance queries, and its data survives
# an immediate shutdown (crash) and restart.  Later subsystems add their crash,
# replica and concurrency tests beside this one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
is($node->safe_psql('postgres', "SELECT '[1,2,3]'::vector <-> '[4,6,3]'"),
	'5', 'L2 distance from a lazily loaded library');

$node->safe_psql('postgres',
	'CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))');
$node->safe_psql('postgres',
	"INSERT INTO items SELECT i, ARRAY[i, i * 2, i * 3]::real[]::vector FROM generate_series(1, 1000) i");

# Crash: committed rows must come back through WAL replay.
$node->stop('immediate');
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ruvector'");
$node->start;

is($node->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'1000', 'committed rows survive an immediate shutdown');
is($node->safe_psql('postgres',
		"SELECT id FROM items ORDER BY embedding <-> '[10,20,30]', id LIMIT 3"),
	"10\n9\n11", 'exact nearest neighbours after recovery with the library preloaded');

my ($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT '[1,2]'::vector <-> '[1,2,3]'");
isnt($ret, 0, 'dimension mismatch is an error');
like($stderr, qr/different vector dimensions 2 and 3/, 'and says which dimensions');

$node->stop;
done_testing();
