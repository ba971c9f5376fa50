# No Cypher input crashes a backend: thousands of mutated and random queries
# (the pure parser's own fuzzer covers far more; this one drives the whole
# path: parser, translator, generated SQL, executor and the updates) run
# against a graph, each an error or a result, and the server keeps running
# with no backend lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rounds = $ENV{RV_GRAPH_FUZZ_ROUNDS} // 3000;
my $seed = $ENV{RV_GRAPH_FUZZ_SEED} // 20261126;
srand($seed);

my $node = PostgreSQL::Test::Cluster->new('graph_fuzz');
$node->init;
$node->append_conf('postgresql.conf', "statement_timeout = '3s'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', "SELECT ruvector_create_graph('fz')");
$node->safe_psql('postgres', q{
	SELECT * FROM ruvector_cypher('fz', $$
		UNWIND range(1, 40) AS i
		CREATE (a:Person {name: 'p' + toString(i), age: i, emb: [i, i % 3, 1.5]})
		       -[:KNOWS {since: 2000 + i}]->(c:City {name: 'c' + toString(i % 4)})$$)});
$node->safe_psql('postgres', q{
	SELECT * FROM ruvector_cypher('fz', $$
		MATCH (a:Person), (b:Person) WHERE b.age = a.age + 1 CREATE (a)-[:NEXT]->(b)$$)});

# Valid queries touching every clause; mutations of them reach deep paths.
my @seeds = (
	q{MATCH (a:Person)-[r:KNOWS]->(c) WHERE a.age > 3 RETURN a.name, r.since, c ORDER BY a.name LIMIT 5},
	q{MATCH (a)-[:NEXT*1..3]->(b) RETURN a.age, count(b) AS n ORDER BY n DESC},
	q{MATCH p = shortestPath((a:Person {age: 1})-[*..6]-(b:Person {age: 9})) RETURN nodes(p), length(p)},
	q{MATCH (a:Person) OPTIONAL MATCH (a)-[:NEXT]->(b) RETURN a.name, b.name},
	q{MATCH (a:Person) WITH a.age % 3 AS k, collect(a.name) AS names WHERE size(names) > 2 RETURN k, names},
	q{UNWIND [1, 2, null, 'x', [3]] AS v RETURN v, toString(v), v + 1},
	q{MATCH (a:Person) RETURN a.name ORDER BY vector.distance(a.emb, [1, 2, 3]) LIMIT 3},
	q{MATCH (a:Person {age: 2}) SET a.tag = 'x', a += {z: 1} REMOVE a.z RETURN a},
	q{MERGE (c:City {name: 'fz'}) ON CREATE SET c.n = 1 ON MATCH SET c.n = c.n + 1 RETURN c.n},
	q{CREATE (x:Tmp {v: [1, {a: 2}]})-[:T]->(y:Tmp) WITH x, y MATCH (x)-[t]->(y) DELETE t, x, y},
	q{MATCH (a:Person) WHERE a.name STARTS WITH 'p1' AND NOT a.age IN [10, 11] RETURN a.name UNION RETURN 'z' AS a.name},
	q{RETURN [x IN range(1, 5) WHERE x % 2 = 1 | x * x], any(x IN [1, 2] WHERE x > 1), {k: [1, 2]}.k[1]},
	q{MATCH (a:Person) RETURN a{.name, .age, tag: labels(a)}, [(a)-->(b) | b.name] AS out},
	q{MATCH (a:Person)-[r]-(b) WITH a, count(r) AS deg RETURN max(deg), min(deg), avg(deg), sum(deg), stDev(deg)},
	q{MATCH (a:Person) WHERE exists((a)-[:KNOWS]->(:City {name: 'c1'})) RETURN count(*)},
	q{MATCH (a:Person {age: 3}) DETACH DELETE a},
	q{CREATE (n:New $props) RETURN n},
	q{MATCH (a) WHERE id(a) = 1 RETURN properties(a), keys(a), labels(a), a:Person},
	q{RETURN CASE WHEN 1 < 2 THEN 'a' ELSE 'b' END, coalesce(null, 1), toInteger('7') + 2.5 / 2},
	q{MATCH (a:Person)-[*0..2]-(b) RETURN DISTINCT b.name ORDER BY b.name SKIP 2 LIMIT 4},
	q{MATCH (a:Person) WITH collect(a) AS ps FOREACH (x IN ps[0..3] | SET x.seen = true FOREACH (y IN [1] | CREATE (:Tmp {y: y}))) RETURN size(ps)},
	q{MATCH (a:Person) CALL { WITH a MATCH (a)-->(b) RETURN count(b) AS c } RETURN a.name, c, reduce(s = 0, x IN [1, 2] | s + x * c)},
	q{MATCH (a:Person) WHERE EXISTS { MATCH (a)-[:NEXT]->(b) WHERE b.age > 5 } RETURN a.name, COUNT { (a)--() } AS deg},
	q{MATCH (a:Person {age: 1}), (b:Person {age: 5}) RETURN length(shortestPath((a)-[*]-(b))), size(allShortestPaths((a)-[*]-(b))), shortestPath((a)-[*]-(a))},
	q{MATCH (a:Person) SET a.x = 1, a.y = a.x + 1 WITH a MATCH (a)-[r:NEXT]->() DELETE r RETURN r, round(a.age / 3.0, 2), a.name =~ '(?i)P1.*'},
);
my @tokens = (
	'MATCH', 'OPTIONAL MATCH', 'WHERE', 'RETURN', 'WITH', 'UNWIND', 'AS', 'CREATE', 'MERGE',
	'SET', 'REMOVE', 'DELETE', 'DETACH DELETE', 'ORDER BY', 'SKIP', 'LIMIT', 'DISTINCT', 'UNION',
	'AND', 'OR', 'NOT', 'IN', 'IS NULL', 'STARTS WITH', 'CASE', 'WHEN', 'THEN', 'END',
	'(', ')', '[', ']', '{', '}', ',', '.', '..', ':', '|', '=', '<>', '<', '>=', '+', '-', '*',
	'/', '%', '^', '+=', '-->', '<--', '-[', ']->', '*1..2', '$props', '$nope', '0', '1.5',
	"'s'", 'null', 'true', 'a', 'b', 'r', 'p', 'x', ':Person', 'count(*)', 'collect(a)',
	'FOREACH', 'CALL {', 'EXISTS {', 'COUNT {', 'reduce(', 'shortestPath(', 'allShortestPaths(',
	'shortestPath(', 'vector.distance(', '`q`', "\\u00e9", "'\\", '1e999', '9223372036854775808');

sub mutate
{
	my ($q) = @_;
	for (1 .. 1 + int(rand(3)))
	{
		my $at = int(rand(length($q) + 1));
		my $op = int(rand(5));
		if ($op == 0) { substr($q, $at, 1, chr(32 + int(rand(95)))) if $at < length($q); }
		elsif ($op == 1) { substr($q, $at, 1 + int(rand(6)), ''); }
		elsif ($op == 2) { substr($q, $at, 0, ' ' . $tokens[ rand @tokens ] . ' '); }
		elsif ($op == 3) { $q = substr($q, 0, $at); }
		else { substr($q, $at, 0, substr($q, $at, 1 + int(rand(12)))); }
	}
	return $q;
}

sub random_tokens
{
	return join(' ', map { $tokens[ rand @tokens ] } 1 .. 1 + int(rand(25)));
}

my @sql;
for my $i (1 .. $rounds)
{
	my $k = rand();
	my $q = $k < 0.15 ? $seeds[ rand @seeds ]
	  : $k < 0.8 ? mutate($seeds[ rand @seeds ])
	  : random_tokens();
	$q =~ s/\$fz\$/ /g;
	push @sql, "SELECT count(*) FROM ruvector_cypher('fz', \$fz\$$q\$fz\$, '{\"props\": {\"a\": 1}}');";
}

# One session, errors do not stop it; a crash would end it (and every
# other backend) early.
my ($stdout, $stderr) = ('', '');
$node->psql('postgres', join("\n", @sql), stdout => \$stdout, stderr => \$stderr,
	on_error_stop => 0);
my $errors = () = $stderr =~ /ERROR:/g;
my $results = () = $stdout =~ /^\d+$/mg;
note("$rounds queries: $results results, $errors errors");
cmp_ok($results + $errors, '>=', $rounds, 'every query gave a result or an error');
cmp_ok($results, '>', $rounds / 20, 'a fair share of the queries ran to the end');
unlike($stderr, qr/server closed the connection|terminating connection because of crash/,
	'no backend was lost');
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|PANIC/, 'the server log has no crash');
is($node->safe_psql('postgres', "SELECT count(*) > 0 FROM ruvector_cypher('fz', 'MATCH (n) RETURN n')"),
	't', 'the server still answers Cypher');

$node->stop;
done_testing();
