# Graphs are extension configuration tables: pg_dump writes their rows and
# sequences, and a restore into a new database gives back the same graph,
# ids included, with Cypher answering as before.  The extension can also move
# to another schema and Cypher follows it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('graph_dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', "SELECT ruvector_create_graph('g1'), ruvector_create_graph('g2')");
$node->safe_psql('postgres', q{
	SELECT * FROM ruvector_cypher('g1', $$
		UNWIND range(1, 200) AS i
		CREATE (p:Person {id: i, name: 'p' + toString(i)})-[:OWNS {since: 2000 + i % 20}]->
		       (:Item {sku: 'sku' + toString(i % 30)})$$)});
$node->safe_psql('postgres', q{
	SELECT * FROM ruvector_cypher('g1', $$
		MATCH (a:Person), (b:Person) WHERE b.id = a.id + 1 CREATE (a)-[:NEXT]->(b)$$)});
$node->safe_psql('postgres', q{
	SELECT * FROM ruvector_cypher('g2', 'CREATE (:Solo {x: [1, 2.5, "three"]})')});
$node->safe_psql('postgres', q{
	SELECT ruvector_graph_add_hyperedge('g1', 'GROUP',
		ARRAY(SELECT id FROM ruvector_nodes WHERE graph = 'g1' AND label = 'Person' ORDER BY id LIMIT 4),
		'{"kind": "team"}')});

my @queries = (
	q{MATCH (n) RETURN labels(n)[0] AS l, count(*) AS n, min(id(n)) AS lo, max(id(n)) AS hi ORDER BY l},
	q{MATCH (p:Person)-[o:OWNS]->(i) RETURN i.sku, count(p) AS owners, sum(o.since) AS s ORDER BY i.sku},
	q{MATCH p = shortestPath((a:Person {id: 3})-[:NEXT*]->(b:Person {id: 60})) RETURN length(p), [x IN nodes(p) | id(x)][0..3]},
);

sub answers
{
	my ($db) = @_;
	my $out = '';
	for my $q (@queries)
	{
		$out .= $node->safe_psql($db, "SELECT r::text FROM ruvector_cypher('g1', \$cy\$$q\$cy\$) r") . "\n";
	}
	$out .= $node->safe_psql($db, "SELECT r::text FROM ruvector_cypher('g2', 'MATCH (n) RETURN n.x') r") . "\n";
	$out .= $node->safe_psql($db, 'SELECT type, cardinality(node_ids), properties FROM ruvector_hyperedges');
	return $out;
}

my $before = answers('postgres');
like($before, qr/"length\(p\)": 57/, 'the shortest path is found');

# Dump and restore into a fresh database.
my $dump = $node->basedir . '/graph.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump runs');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('restored'), '-f', $dump ],
	'the dump restores');
is(answers('restored'), $before, 'the restored graph answers every query as the original');

# The id sequence carried over: new entities do not reuse ids.
is($node->safe_psql('restored', q{
	SELECT (SELECT max(id) FROM ruvector_nodes) < (r->>'id')::bigint
	FROM ruvector_cypher('g1', 'CREATE (n:New) RETURN id(n) AS id') r}),
	't', 'new ids continue after the restored ones');

# The extension can move; Cypher finds its tables in the new schema.
$node->safe_psql('restored', 'CREATE SCHEMA graphs; ALTER EXTENSION ruvector SET SCHEMA graphs');
is($node->safe_psql('restored', q{
	SELECT r::text FROM graphs.ruvector_cypher('g1', 'MATCH (p:Person {id: 7})-[:OWNS]->(i) RETURN i.sku') r}),
	'{"i.sku": "sku7"}', 'Cypher works after ALTER EXTENSION ... SET SCHEMA');
is($node->safe_psql('restored', q{
	SET search_path = pg_catalog;
	SELECT count(*) FROM graphs.ruvector_cypher('g1', 'MATCH (p:Person) WHERE p.id < 10 RETURN p')}),
	'9', 'and with the extension schema off the search_path');

$node->stop;
done_testing();
