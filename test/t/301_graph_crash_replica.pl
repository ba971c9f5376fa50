# Property graphs are ordinary WAL-logged tables: a graph written with Cypher
# survives an immediate shutdown (committed work back, uncommitted work gone)
# and a streaming replica answers every Cypher query exactly as the primary
# does, after creation, updates, deletes, a vector index and a dropped graph.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('graph_primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->backup('backup');

my $replica = PostgreSQL::Test::Cluster->new('graph_replica');
$replica->init_from_backup($primary, 'backup', has_streaming => 1);
$replica->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$primary->safe_psql('postgres', "SELECT ruvector_create_graph('social')");

sub cypher
{
	my ($node, $query, $params) = @_;
	$params = defined $params ? "'$params'" : 'NULL';
	return $node->safe_psql('postgres',
		"SELECT r::text FROM ruvector_cypher('social', \$cy\$$query\$cy\$, $params) r");
}

# A small social graph: people with embeddings, friendships, a city.
cypher($primary, q{
	UNWIND range(1, 300) AS i
	CREATE (:Person {id: i, name: 'p' + toString(i), age: 20 + i % 50,
	                 embedding: [toFloat(i % 17), toFloat(i % 13), toFloat(i % 7)]})});
cypher($primary, q{
	MATCH (a:Person), (b:Person) WHERE b.id = a.id % 300 + 1 OR b.id = (a.id * 7) % 300 + 1
	CREATE (a)-[:KNOWS {w: a.id + b.id}]->(b)});
cypher($primary, q{CREATE (:City {name: 'Oslo'})});
cypher($primary, q{MATCH (p:Person), (c:City) WHERE p.id % 10 = 0 CREATE (p)-[:LIVES_IN]->(c)});
$primary->safe_psql('postgres',
	"SELECT ruvector_graph_vector_index('social', 'Person', 'embedding', 3)");

# Queries whose answers are compared: every row, in a fixed order.
my @queries = (
	q{MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n ORDER BY label},
	q{MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS n, sum(r.w) AS w ORDER BY t},
	q{MATCH (a:Person {id: 7})-[:KNOWS]->()-[:KNOWS]->(c) RETURN c.id ORDER BY c.id},
	q{MATCH (a:Person {id: 1})-[:KNOWS*1..3]->(c) RETURN c.id, count(*) AS ways ORDER BY c.id},
	q{MATCH p = shortestPath((a:Person {id: 1})-[*]->(b:Person {id: 150})) RETURN [x IN nodes(p) | x.id] AS route},
	q{MATCH (p:Person)-[:LIVES_IN]->(c:City) RETURN c.name, collect(p.id) AS ids ORDER BY c.name},
	q{MATCH (p:Person) RETURN p.id ORDER BY vector.distance(p.embedding, [3, 4, 5]), p.id LIMIT 5},
	q{MATCH (p:Person) WHERE p.age > 60 RETURN p.id, p.name ORDER BY p.id},
);

sub answers
{
	my ($node) = @_;
	return join("\n", map { cypher($node, $_) } @queries);
}

sub compare_replica
{
	my ($label) = @_;
	$primary->wait_for_catchup($replica);
	is(answers($replica), answers($primary), "$label: the replica answers every query as the primary");
}

my $before = answers($primary);
like($before, qr/"route": \[1, /, 'the shortest path query has an answer');
compare_replica('after creation');

# The replica is read-only: a Cypher update is refused there.
my ($ret, $out, $err) = $replica->psql('postgres',
	"SELECT * FROM ruvector_cypher('social', 'CREATE (:Person {id: 999})')");
isnt($ret, 0, 'a Cypher update on the replica fails');
like($err, qr/read-only transaction/, 'because the replica is read-only');

# Updates and deletes reach the replica.
cypher($primary, q{MATCH (p:Person) WHERE p.id % 3 = 0 SET p.age = p.age + 100, p.tag = 'x'});
cypher($primary, q{MATCH (p:Person) WHERE p.id > 290 DETACH DELETE p});
cypher($primary, q{MATCH ()-[r:KNOWS]->() WHERE r.w % 5 = 0 DELETE r});
cypher($primary, q{MERGE (c:City {name: 'Rome'}) WITH c MATCH (p:Person {id: 5}) MERGE (p)-[:LIVES_IN]->(c)});
compare_replica('after updates and deletes');

# Immediate shutdown: committed work survives, the open transaction is gone.
my $committed = answers($primary);
my $session = $primary->background_psql('postgres', on_error_stop => 0);
$session->query_safe('BEGIN');
$session->query_safe(
	"SELECT * FROM ruvector_cypher('social', 'MATCH (p:Person) DETACH DELETE p')");
$session->query_safe(
	"SELECT * FROM ruvector_cypher('social', 'CREATE (:Ghost {n: 1})')");
$primary->stop('immediate');
$session->quit;
$primary->start;
is(answers($primary), $committed, 'after an immediate shutdown the committed graph is back, exactly');
is(cypher($primary, 'MATCH (g:Ghost) RETURN count(g) AS n'), '{"n": 0}',
	'and the uncommitted nodes are not');
is($primary->safe_psql('postgres', "SELECT nodes > 0 AND edges > 0 FROM ruvector_graphs() WHERE name = 'social'"),
	't', 'ruvector_graphs() counts the recovered graph');

# New writes after recovery, and a graph dropped, replicate too.
cypher($primary, q{CREATE (:Person {id: 1000, name: 'late', embedding: [1, 1, 1]})});
$primary->safe_psql('postgres', "SELECT ruvector_create_graph('scratch')");
$primary->safe_psql('postgres',
	"SELECT * FROM ruvector_cypher('scratch', 'UNWIND range(1, 10) AS i CREATE (:T {i: i})')");
$primary->safe_psql('postgres', "SELECT ruvector_drop_graph('scratch')");
compare_replica('after recovery, new writes and a dropped graph');
$primary->wait_for_catchup($replica);
is($replica->safe_psql('postgres', "SELECT string_agg(name, ',') FROM ruvector_graphs()"),
	'social', 'the dropped graph is gone on the replica');

# The replica can be promoted and takes writes.
$primary->stop;
$replica->promote;
is(cypher($replica, q{CREATE (n:Person {id: 2000}) RETURN n.id AS id}), '{"id": 2000}',
	'the promoted replica takes Cypher updates');

$replica->stop;
done_testing();
