-- Cypher as Neo4j and Apache AGE users expect it (issue 16): quantifiers
-- whose predicate ignores their variable, SKIP/LIMIT values, errors in
-- Cypher's terms with a position, and the smaller differences.
\set SHOW_CONTEXT never

SELECT ruvector_create_graph('sem');
SELECT * FROM ruvector_cypher('sem', $$
	CREATE (:Person {name: 'Ann', age: 34}), (:Person {name: 'Bob', age: 28}),
	       (:Person {name: 'Cid', age: 45}), (:Person {name: 'Dee'})
$$);

-- quantifiers whose predicate does not use their variable: one value per
-- row, in RETURN and in WHERE (the count behind them belongs to the list)
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name, any(y IN [1] WHERE n.age > 30) AS a ORDER BY n.name');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WHERE any(y IN [1] WHERE n.age > 30) RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name, all(y IN [1, 2] WHERE n.age > 30) AS al, none(y IN [1, 2] WHERE n.age > 30) AS no, single(y IN [1, 2] WHERE n.age > 30) AS s1, single(y IN [1] WHERE n.age > 30) AS s2 ORDER BY n.name');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WHERE single(y IN [1] WHERE n.age > 30) AND none(y IN [] WHERE n.age > 30) RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name, [y IN [1, 2] WHERE n.age > 30 | n.name] AS l ORDER BY n.name');

-- SKIP and LIMIT take non-negative integers, as in Neo4j: never rounded
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name ORDER BY n.name SKIP 1 LIMIT 2');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name ORDER BY n.name SKIP $s LIMIT $l', '{"s": 2, "l": 1}');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name ORDER BY n.name LIMIT 1 + 1');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name ORDER BY n.name LIMIT toInteger($l)', '{"l": "1"}');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WITH n ORDER BY n.name LIMIT 0 RETURN count(n)');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT 1.5');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name SKIP 3.7');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT $l', '{"l": 1.5}');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT $l', '{"l": 2.0}');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT $l', '{"l": "2"}');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT $l', '{"l": null}');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT -1');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name SKIP 10 / 4.0');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT 99999999999999999999');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name LIMIT n.age');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WITH n SKIP size([(n)-->() | 1]) RETURN n');

-- aggregates where Cypher does not allow them: Cypher's words, with the
-- position, not PostgreSQL's GROUP BY errors
SELECT * FROM ruvector_cypher('sem', 'MATCH (a:Person {name: ''Ann''}), (b:Person) WHERE a <> b CREATE (a)-[:KNOWS]->(b)');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.age + count(*)');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WITH n.name + toString(count(*)) AS x RETURN x');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name AS who, size([(n)-->(m) | count(m)]) AS c');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN [y IN [1] | count(n)] AS c');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN any(y IN [1] WHERE count(n) > 1) AS c');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN count(count(n))');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN sum(size(collect(n.name)))');
-- allowed: the non-aggregated parts are grouping keys, constants or
-- comprehension variables; an aggregate as a comprehension's list
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.age, n.age + count(*) AS x ORDER BY n.age');
SELECT r->'n'->'properties' AS n, r->'x' AS x FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n, n.age * 0 + count(*) AS x ORDER BY n.name') r LIMIT 1;
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN 10 + count(*) AS x, [x IN collect(n.age) WHERE x > 30 | x + 1] AS older');
-- a pattern comprehension whose value reads only outer variables
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) RETURN n.name, [(n)-->() | n.name] AS l ORDER BY n.name');

-- runtime errors point at the operator or function in the Cypher text
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Ann'})
	SET n.x = n.name - 1$$);
SELECT * FROM ruvector_cypher('sem', $$UNWIND [2, 1, 0] AS d RETURN 6 / d$$);
SELECT * FROM ruvector_cypher('sem', $$RETURN substring('abc', 'x')$$);

-- NaN and infinities cannot be stored in jsonb: errors, as documented
SELECT * FROM ruvector_cypher('sem', 'RETURN sqrt(-1)');
SELECT * FROM ruvector_cypher('sem', 'RETURN log(0)');
SELECT * FROM ruvector_cypher('sem', 'RETURN log10(-1)');
SELECT * FROM ruvector_cypher('sem', 'RETURN asin(2)');
SELECT * FROM ruvector_cypher('sem', 'RETURN sqrt(0), log(1), asin(1) * 2 = pi() AS ok');

-- nesting: 200 levels of brackets, and a flat chain of 3,000 conditions
SELECT length(r::text) FROM ruvector_cypher('sem', 'RETURN ' || repeat('[', 200) || '1' || repeat(']', 200) || ' AS x') r;
SELECT * FROM ruvector_cypher('sem', 'RETURN ' || repeat('[', 201) || '1' || repeat(']', 201) || ' AS x');
SELECT length(r::text) FROM ruvector_cypher('sem', 'RETURN ' || repeat('(', 200) || '1' || repeat(')', 200) || ' AS x') r;
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WHERE n.age > 0' || repeat(' AND n.age > 0', 3000) || ' RETURN count(n) AS c');
SELECT * FROM ruvector_cypher('sem', 'MATCH (n:Person) WHERE n.age < 0' || repeat(' OR n.age < 0', 3000) || ' OR n.name = ''Dee'' RETURN n.name');

-- min and max across types follow Cypher's order: map < node <
-- relationship < list < path < string < boolean < number
SELECT * FROM ruvector_cypher('sem', $$UNWIND [1, 'a', null, 0.2, 'b', '1', '99'] AS v RETURN min(v), max(v)$$);
SELECT * FROM ruvector_cypher('sem', $$UNWIND [[9], 'z', true, {k: 1}, 3] AS v RETURN min(v), max(v)$$);
SELECT * FROM ruvector_cypher('sem', $$UNWIND [[1, 2], 'x', false] AS v RETURN min(v), max(v)$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Bob'}) UNWIND [n, {k: 1}, [1]] AS v RETURN min(v) = {k: 1} AS map_lowest, max(v) AS list_highest$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH p = (:Person {name: 'Ann'})-->(:Person {name: 'Bob'}) UNWIND [p, [1], 'a'] AS v RETURN max(v) AS s, size(min(v)) AS list_below_path$$);

-- the items of one SET apply in order
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Bob'}) SET n.a = 1, n.b = n.a + 1 RETURN n.a, n.b$$);
SELECT r->'n'->'properties' AS props FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Bob'}) SET n.a = 5, n.b = 1, n.c = n.a + n.b, n += {d: n.c * 2} RETURN n$$) r;
SELECT * FROM ruvector_cypher('sem', $$MERGE (z:Z {k: 1}) ON CREATE SET z.a = 1, z.b = z.a * 10 ON MATCH SET z.a = z.a + 1, z.b = z.a * 10 RETURN z.a, z.b$$);
SELECT * FROM ruvector_cypher('sem', $$MERGE (z:Z {k: 1}) ON CREATE SET z.a = 1, z.b = z.a * 10 ON MATCH SET z.a = z.a + 1, z.b = z.a * 10 RETURN z.a, z.b$$);

-- DELETE ... RETURN: the deleted entities as they were
SELECT * FROM ruvector_cypher('sem', $$CREATE (:Del {k: 1})-[:R {w: 2}]->(:Del {k: 2})$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (a:Del {k: 1})-[r:R]->(b) DELETE r RETURN r.w, type(r), a.k, b.k$$);
SELECT r->'n'->'label' AS label, r->'n'->'properties' AS props, r->'n.k' AS k
	FROM ruvector_cypher('sem', $$MATCH (n:Del) DELETE n RETURN n, n.k ORDER BY n.k$$) r;
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Del) RETURN count(n)$$);
SELECT * FROM ruvector_cypher('sem', $$OPTIONAL MATCH (n:Nope) DELETE n RETURN n$$);
SELECT * FROM ruvector_cypher('sem', $$CREATE (:Del {k: 3}) WITH 1 AS x MATCH (n:Del) DETACH DELETE n WITH n RETURN n.k$$);
SELECT * FROM ruvector_cypher('sem', $$CREATE (:Del {k: 4}) WITH 1 AS x MATCH (n:Del) DELETE n SET n.k = 5$$);

-- round(x, precision): decimal digits, halves away from zero (Neo4j's HALF_UP)
SELECT * FROM ruvector_cypher('sem', $$RETURN round(3.141592, 3) AS a, round(-2.55, 1) AS b, round(-2.5, 0) AS c, round(-2.5) AS d, round(1234.5, -2) AS e, round(7, 2) AS f, round(null, 2) AS g$$);
SELECT * FROM ruvector_cypher('sem', $$RETURN round(1.5, 2.0)$$);

-- regular expression flags as in Neo4j (Java): a leading (?i), (?s), (?m), (?x)
SELECT * FROM ruvector_cypher('sem', $$RETURN 'ABC' =~ '(?i)abc' AS a, 'ABC' =~ 'abc' AS b, 'a\nb' =~ '(?s)a.b' AS c, 'x\nab' =~ '(?m)ab' AS d, 'AbC' =~ '(?i)a(b)c' AS e, 'AB' =~ '(?ix) a  b ' AS f$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) WHERE n.name =~ '(?i)[ab].*' RETURN n.name ORDER BY n.name$$);
SELECT * FROM ruvector_cypher('sem', $$RETURN 'zzz' =~ '(?i)a)|(z'$$);

-- reduce()
SELECT * FROM ruvector_cypher('sem', $$RETURN reduce(s = 0, x IN [1, 2, 3] | s + x) AS a, reduce(s = '', x IN ['a', 'b'] | s + x) AS b, reduce(s = 0, x IN [] | s + x) AS c, reduce(s = 0, x IN null | s + x) AS d, reduce(l = [], x IN [1, 2] | l + [x * 10]) AS e$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) WHERE n.age IS NOT NULL RETURN n.name, reduce(acc = n.age, x IN range(1, 3) | acc * x) AS r ORDER BY n.name$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) RETURN reduce(total = 0, a IN collect(n.age) | total + coalesce(a, 0)) AS total$$);
SELECT * FROM ruvector_cypher('sem', $$RETURN reduce(s = 0, x IN [1, 2] | s + count(x))$$);
SELECT * FROM ruvector_cypher('sem', $$RETURN reduce(s = 0, x IN [1, 'a'] | s + x)$$);

-- EXISTS { } and COUNT { } pattern subqueries
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) RETURN n.name, COUNT { (n)-->() } AS out, EXISTS { MATCH (n)-[:KNOWS]->(m) WHERE m.age > 40 } AS knows_older, COUNT { (n)--() } AS degree ORDER BY n.name$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) WHERE EXISTS { (n)<-[:KNOWS]-(:Person {name: 'Ann'}) } RETURN n.name ORDER BY n.name$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) WHERE COUNT { (n)-[:KNOWS]->(m) WHERE m.age IS NOT NULL } >= 2 RETURN n.name$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) RETURN sum(COUNT { (n)-->() }) AS relationships$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) RETURN EXISTS { (n)-->(), (n)<--() }$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) RETURN EXISTS { MATCH (n)-->(m) RETURN m }$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) RETURN COUNT { (n)-->(m) WHERE count(m) > 1 }$$);

-- shortestPath and allShortestPaths as expressions; length() of a path value
SELECT * FROM ruvector_cypher('sem', $$CREATE (:S {n: 1})-[:R]->(:S {n: 2})-[:R]->(:S {n: 3}), (:S {n: 4})$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (a:S {n: 1}), (b:S) WHERE b.n > 1 RETURN b.n, [x IN nodes(shortestPath((a)-[*]->(b))) | x.n] AS route, length(shortestPath((a)-[*]-(b))) AS len, size(allShortestPaths((a)-[*]-(b))) AS paths ORDER BY b.n$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (a:S {n: 1}), (b:S) WHERE shortestPath((a)-[*..1]->(b)) IS NOT NULL RETURN b.n$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH p = (:S {n: 1})-[*]->(:S {n: 3}) WITH collect(p) AS ps RETURN length(ps[0]) AS hops, size(ps[0]) AS elements$$);

-- FOREACH
SELECT * FROM ruvector_cypher('sem', $$FOREACH (i IN range(1, 3) | CREATE (:F {i: i}))$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (f:F) WITH collect(f) AS fs FOREACH (x IN fs | SET x.seen = true) RETURN size(fs) AS n$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (f:F) RETURN f.i, f.seen ORDER BY f.i$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (a:F {i: 1}) FOREACH (k IN [10, 20] | CREATE (a)-[:HAS {w: 0}]->(:G {k: k}) MERGE (:H {k: k % 20})) RETURN a.i, COUNT { (a)-->() } AS out$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (h:H) RETURN h.k ORDER BY h.k$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH p = (:F {i: 1})-[:HAS]->(:G {k: 10}) FOREACH (r IN relationships(p) | SET r.w = r.w + 5) FOREACH (n IN nodes(p) | SET n.on_path = true) RETURN [n IN nodes(p) | n.on_path] AS flags, [r IN relationships(p) | r.w] AS weights$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (f:F) FOREACH (x IN CASE WHEN f.i > 1 THEN [1] ELSE [] END | SET f.big = true) RETURN f.i, f.big ORDER BY f.i$$);
SELECT * FROM ruvector_cypher('sem', $$FOREACH (i IN [1, 2] | FOREACH (j IN [1, 2] | CREATE (:P {i: i, j: j})))$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (p:P) RETURN count(p), sum(p.i * 10 + p.j) AS ij$$);
SELECT * FROM ruvector_cypher('sem', $$FOREACH (i IN null | CREATE (:Q)) RETURN 1 AS one$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (f:F) FOREACH (i IN [1] | SET f.x = i) RETURN i$$);
SELECT * FROM ruvector_cypher('sem', $$FOREACH (i IN [1] | MATCH (n) SET n.x = 1)$$);
SELECT * FROM ruvector_cypher('sem', $$FOREACH (x IN [1, {a: 1}] | SET x.y = 1)$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH ()-[r:HAS]->() WITH collect(r) AS rs FOREACH (r IN rs | SET r:X)$$);

-- CALL { } subqueries
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) CALL { WITH n MATCH (n)-[:KNOWS]->(m) RETURN count(m) AS c } RETURN n.name, c ORDER BY n.name$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Ann'}) CALL { WITH n MATCH (n)-[:KNOWS]->(m) RETURN m.name AS friend ORDER BY m.name LIMIT 2 } RETURN n.name, friend$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Ann'}) CALL { MATCH (n:Person) RETURN count(n) AS everyone } RETURN n.name, everyone$$);
SELECT * FROM ruvector_cypher('sem', $$UNWIND [1, 2, 3] AS x CALL { WITH x UNWIND range(1, x) AS y RETURN sum(y) AS s } RETURN x, s$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person {name: 'Dee'}) CALL { WITH n MATCH (n)-[:KNOWS]->(m) RETURN m } RETURN n.name, m$$);
SELECT * FROM ruvector_cypher('sem', $$CALL { MATCH (p:Person) RETURN p ORDER BY p.name LIMIT 1 } RETURN p.name, p.age$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) CALL { RETURN n.name AS x } RETURN x$$);
SELECT * FROM ruvector_cypher('sem', $$MATCH (n:Person) CALL { WITH n RETURN 1 AS n } RETURN n$$);
SELECT * FROM ruvector_cypher('sem', $$CALL { CREATE (:Z) RETURN 1 AS one } RETURN one$$);
SELECT * FROM ruvector_cypher('sem', $$CALL { MATCH (n) } RETURN 1$$);

SELECT ruvector_drop_graph('sem');
