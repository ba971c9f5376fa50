# Cypher updates racing on the same nodes end as serial execution would:
# a read-modify-write SET loses no update (the rows a SET or REMOVE reads are
# locked and read again), MERGE matches or creates exactly once (also with a
# unique index: no 23505), and DELETE racing SET and MERGE leaves a
# consistent graph.  Two and eight pgbench clients.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('graph_concurrency');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nautovacuum = off");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', "SELECT ruvector_create_graph('g')");

sub cypher
{
	my ($query) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(r::text, ' ') FROM ruvector_cypher('g', \$cy\$$query\$cy\$) r");
}

sub race
{
	my ($clients, $xacts, $name, $scripts) = @_;
	$node->pgbench("--no-vacuum --client=$clients --transactions=$xacts",
		0, [qr{actually processed}], [qr{^$}], $name, $scripts);
}

# 1. lost updates: read-modify-write of one property
cypher('CREATE (:C {k: 1, c: 0}), (:C {k: 2, c: 0})');
race(2, 300, 'two clients increment one node 300 times each',
	{ '305_inc' => q{SELECT * FROM ruvector_cypher('g', 'MATCH (n:C {k: 1}) SET n.c = n.c + 1');} });
is(cypher('MATCH (n:C {k: 1}) RETURN n.c'), '{"n.c": 600}', 'no update lost with two clients');

race(8, 50, 'eight clients increment through WITH, REMOVE and a relationship',
	{
		'305_with' => q{SELECT * FROM ruvector_cypher('g', 'MATCH (n:C {k: 2}) WITH n, n.c + 1 AS c SET n.c = c, n.tmp = 1 REMOVE n.tmp');},
	});
is(cypher('MATCH (n:C {k: 2}) RETURN n.c, n.tmp'), '{"n.c": 400, "n.tmp": null}',
	'no update lost with eight clients (value carried through WITH)');

cypher('MATCH (a:C {k: 1}), (b:C {k: 2}) CREATE (a)-[:R {w: 0}]->(b)');
race(8, 50, 'eight clients increment a relationship property',
	{ '305_rel' => q{SELECT * FROM ruvector_cypher('g', 'MATCH (:C {k: 1})-[r:R]->() SET r.w = r.w + 1');} });
is(cypher('MATCH ()-[r:R]->() RETURN r.w'), '{"r.w": 400}', 'no relationship update lost');

# 2. MERGE creates each node once
race(8, 50, 'eight clients MERGE ten keys',
	{
		'305_merge' => q{\set k random(1, 10)
SELECT * FROM ruvector_cypher('g', 'MERGE (m:M {k: $k}) ON CREATE SET m.n = 1 ON MATCH SET m.n = m.n + 1', jsonb_build_object('k', :k));},
	});
is(cypher('MATCH (m:M) RETURN count(m) AS nodes, count(DISTINCT m.k) AS keys, sum(m.n) AS merges'),
	'{"keys": 10, "nodes": 10, "merges": 400}', 'one node per key, every MERGE counted');

my $gid = $node->safe_psql('postgres', "SELECT graph_id FROM ruvector_graph WHERE name = 'g'");
$node->safe_psql('postgres',
	"CREATE UNIQUE INDEX m_key ON ruvector_graph_node ((properties->'k')) WHERE graph_id = $gid AND label = 'U'");
race(8, 50, 'eight clients MERGE with a unique index: no 23505',
	{
		'305_umerge' => q{\set k random(1, 5)
SELECT * FROM ruvector_cypher('g', 'MERGE (u:U {k: $k}) ON CREATE SET u.n = 1 ON MATCH SET u.n = u.n + 1', jsonb_build_object('k', :k));},
	});
is(cypher('MATCH (u:U) RETURN count(u) AS nodes, sum(u.n) AS merges'),
	'{"nodes": 5, "merges": 400}', 'with a unique index too');

race(8, 50, 'eight clients MERGE a relationship between two merged nodes',
	{
		'305_mrel' => q{\set k random(1, 3)
SELECT * FROM ruvector_cypher('g', 'MERGE (a:P {k: $k}) MERGE (b:P {k: $k + 1}) MERGE (a)-[r:NEXT]->(b) ON CREATE SET r.n = 1 ON MATCH SET r.n = r.n + 1', jsonb_build_object('k', :k));},
	});
is(cypher('MATCH (p:P) RETURN count(p) AS nodes'), '{"nodes": 4}', 'merged nodes once');
is(cypher('MATCH ()-[r:NEXT]->() RETURN count(r) AS rels, sum(r.n) AS merges'),
	'{"rels": 3, "merges": 400}', 'merged relationships once');

# 3. DELETE racing SET and MERGE
cypher('UNWIND range(1, 20) AS i CREATE (:D {k: i, c: 0})');
race(8, 50, 'DETACH DELETE, SET and MERGE on the same nodes',
	{
		'305_del@1' => q{\set k random(1, 20)
SELECT * FROM ruvector_cypher('g', 'MATCH (d:D {k: $k}) DETACH DELETE d', jsonb_build_object('k', :k));},
		'305_set@2' => q{\set k random(1, 20)
SELECT * FROM ruvector_cypher('g', 'MATCH (d:D {k: $k}) SET d.c = d.c + 1', jsonb_build_object('k', :k));},
		'305_mrg@2' => q{\set k random(1, 20)
SELECT * FROM ruvector_cypher('g', 'MERGE (d:D {k: $k}) ON CREATE SET d.c = 0 ON MATCH SET d.c = d.c + 1', jsonb_build_object('k', :k));},
	});
is(cypher('MATCH (d:D) WITH d.k AS k, count(*) AS c WHERE c > 1 RETURN count(*) AS dups'),
	'{"dups": 0}', 'never two nodes for one key');

# REPEATABLE READ: a MERGE whose pattern another transaction created after
# the snapshot cannot match it (invisible) and must not duplicate it: 40001
my $rr = $node->background_psql('postgres', on_error_stop => 0);
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$rr->query_safe('SELECT count(*) FROM ruvector_graph_node');
cypher('MERGE (:RR {k: 1})');
$rr->query(q{SELECT * FROM ruvector_cypher('g', 'MERGE (:RR {k: 1})')});
like($rr->{stderr}, qr/could not serialize access due to a concurrent MERGE/,
	'REPEATABLE READ: a concurrent MERGE is a serialization failure');
$rr->{stderr} = '';
$rr->query_safe('ROLLBACK');
$rr->quit;
is(cypher('MATCH (n:RR) RETURN count(n) AS n'), '{"n": 1}', 'and no duplicate');

# a write racing the drop of its graph: "graph does not exist", not a
# foreign-key error
$node->safe_psql('postgres', "SELECT ruvector_create_graph('h')");
my $dropper = $node->background_psql('postgres', on_error_stop => 0);
my $writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe(q{SELECT * FROM ruvector_cypher('h', 'MATCH (n) RETURN n')});
$dropper->query_safe('BEGIN');
$dropper->query_safe(q{SELECT ruvector_drop_graph('h')});
$writer->query_until(qr/started/, q{\echo started
SELECT * FROM ruvector_cypher('h', 'CREATE (:X)');
});
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%CREATE (:X)%'");
$dropper->query_safe('COMMIT');
$writer->query('SELECT 1');
like($writer->{stderr}, qr/graph "h" does not exist/, 'a write waiting for the drop of its graph: graph does not exist');
unlike($writer->{stderr}, qr/foreign key/, 'not a foreign-key error');
$writer->quit;
$dropper->quit;

done_testing();
