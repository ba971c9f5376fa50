-- Cypher clauses and expressions: aggregates, OPTIONAL MATCH, WITH, UNWIND,
-- UNION, list comprehensions and pattern comprehensions, quantifiers, CASE,
-- the function library, and Cypher's value semantics (null, integers vs
-- floats, comparisons across types).
\set SHOW_CONTEXT never

SELECT ruvector_create_graph('gc');
SELECT * FROM ruvector_cypher('gc', $$
	CREATE (ann:Person {name: 'Ann', age: 34, dept: 'eng'}), (bob:Person {name: 'Bob', age: 28, dept: 'eng'}),
	       (cid:Person {name: 'Cid', age: 45, dept: 'ops'}), (dee:Person {name: 'Dee', dept: 'ops'}),
	       (ann)-[:KNOWS]->(bob), (ann)-[:KNOWS]->(cid), (bob)-[:KNOWS]->(cid)
$$);

-- aggregates: grouping keys are the other RETURN items
SELECT * FROM ruvector_cypher('gc', 'MATCH (p:Person) RETURN p.dept, count(*) AS n, avg(p.age) AS avg, min(p.age), max(p.age), sum(p.age), collect(p.name) AS names ORDER BY p.dept');
SELECT * FROM ruvector_cypher('gc', 'MATCH (p:Person) RETURN count(p.age), count(DISTINCT p.dept), collect(DISTINCT p.dept), stDev(p.age), stDevP(p.age), percentileCont(p.age, 0.5), percentileDisc(p.age, 0.5)');
SELECT * FROM ruvector_cypher('gc', 'MATCH (p:Nobody) RETURN count(*), sum(p.age), avg(p.age), collect(p.name), min(p.age)');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person)-[:KNOWS]->(b) RETURN a.name, collect(b.name) AS friends ORDER BY a.name');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a)-[:KNOWS]->(b) RETURN b.name, count(a) AS fans ORDER BY fans DESC, b.name');
SELECT * FROM ruvector_cypher('gc', 'MATCH (p:Person) RETURN max(p.name) AS last, min(p.age) + max(p.age) AS span');
SELECT * FROM ruvector_cypher('gc', 'MATCH (p:Person) WHERE count(p) > 1 RETURN p');

-- OPTIONAL MATCH keeps rows without a match, with nulls
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) OPTIONAL MATCH (a)-[:KNOWS]->(b) RETURN a.name, count(b) AS friends ORDER BY a.name');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) OPTIONAL MATCH (a)-[:KNOWS]->(b) WHERE b.age > 40 RETURN a.name, b.name ORDER BY a.name');
SELECT * FROM ruvector_cypher('gc', 'OPTIONAL MATCH (x:Nobody) RETURN x');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person {name: ''Dee''}) OPTIONAL MATCH (a)-[r]->(b) RETURN a.name, r, b, type(r), b.name');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) OPTIONAL MATCH (a)-[:KNOWS]->(b) OPTIONAL MATCH (b)-[:KNOWS]->(c) RETURN a.name, b.name, c.name ORDER BY a.name, b.name');

-- WITH: projection, aggregation, filtering after aggregation, ordering and limits
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH a.dept AS dept, collect(a.name) AS names WHERE size(names) > 1 RETURN dept, names ORDER BY dept');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH a ORDER BY a.age LIMIT 2 MATCH (a)-[:KNOWS]->(b) RETURN a.name, b.name ORDER BY a.name, b.name');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH DISTINCT a.dept AS d RETURN d ORDER BY d');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH a, a.age * 2 AS twice WHERE twice > 60 RETURN a.name, twice ORDER BY twice');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a)-[r:KNOWS]->(b) WITH a, count(r) AS out ORDER BY out DESC, a.name LIMIT 1 RETURN a.name, out');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a {name: ''Ann''}) WITH a MATCH (a)-[:KNOWS]->(b) WITH b MATCH (b)-[:KNOWS]->(c) RETURN b.name, c.name');
SELECT * FROM ruvector_cypher('gc', 'WITH 1 AS x, 2 AS y RETURN x + y, x * y');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH a.name AS name RETURN a.age');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH a.name RETURN 1');

-- UNWIND
SELECT * FROM ruvector_cypher('gc', 'UNWIND [1, [2, 3], null, ''x''] AS v RETURN v');
SELECT * FROM ruvector_cypher('gc', 'UNWIND [] AS v RETURN v');
SELECT * FROM ruvector_cypher('gc', 'UNWIND null AS v RETURN v');
SELECT * FROM ruvector_cypher('gc', 'UNWIND 5 AS v RETURN v');
SELECT * FROM ruvector_cypher('gc', 'UNWIND {a: 1, b: [2]} AS v RETURN v');
SELECT * FROM ruvector_cypher('gc', 'UNWIND $xs AS x UNWIND range(1, x) AS y RETURN x, collect(y) ORDER BY x', '{"xs": [1, 3]}');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WITH collect(a) AS people UNWIND people AS p RETURN p.name ORDER BY p.name');
SELECT * FROM ruvector_cypher('gc', 'UNWIND [{n: ''Ann''}, {n: ''Zed''}] AS row MATCH (p:Person {name: row.n}) RETURN p.age');

-- UNION
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) WHERE a.age > 40 RETURN a.name AS n UNION RETURN ''Zed'' AS n UNION RETURN ''Zed'' AS n') r
	ORDER BY r->>'n';
SELECT * FROM ruvector_cypher('gc', 'RETURN 1 AS x UNION ALL RETURN 1 AS x');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) RETURN a.name AS n UNION RETURN 1 AS m');

-- lists, maps, comprehensions, quantifiers, CASE
SELECT * FROM ruvector_cypher('gc', 'RETURN [x IN range(1, 10) WHERE x % 2 = 0 | x * x] AS sq, [x IN [1, 2, 3] | x + 1] AS inc, [x IN [1, null, 3] WHERE x IS NOT NULL] AS kept, [x IN null | x] AS none');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) RETURN a.name, [(a)-[:KNOWS]->(b) WHERE b.age > 30 | b.name] AS older ORDER BY a.name');
SELECT * FROM ruvector_cypher('gc', 'RETURN none(x IN [1, 2] WHERE x > 5), single(x IN [1, 2, 3] WHERE x = 2), all(x IN [] WHERE x > 1), any(x IN [null] WHERE x > 1), any(x IN [1, null] WHERE x = 1)');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person) RETURN a.name, CASE WHEN a.age IS NULL THEN ''unknown'' WHEN a.age > 40 THEN ''senior'' ELSE ''junior'' END AS band ORDER BY a.name');
SELECT * FROM ruvector_cypher('gc', 'RETURN CASE 2 WHEN 1 THEN ''one'' WHEN 2 THEN ''two'' END AS c, CASE 3 WHEN 1 THEN ''one'' END AS d');
SELECT * FROM ruvector_cypher('gc', 'RETURN [1, 2, 3, 4][1..3], [1, 2, 3][-2..], [1, 2, 3][..-1], [1, 2, 3][5..], [1, 2][null..]');
SELECT * FROM ruvector_cypher('gc', 'RETURN {a: 1, b: [true, null]}.b, {a: {b: 2}}.a.b, {k: 1}[''k''], [1, 2] + [3], 0 + [1], [[1]] + [[2]]');

-- values: integers stay integers, floats keep a fraction, null propagates
SELECT * FROM ruvector_cypher('gc', 'RETURN 7 % 3, -7 % 3, 7 / -2, 2.0 ^ 3, 2 ^ 3, 10 / 4.0, 1e3, -0.5, 9223372036854775807, -9223372036854775808');
SELECT * FROM ruvector_cypher('gc', 'RETURN 1 + null, null + ''a'', ''a'' + 1, ''n='' + 1.5, ''b'' + true, -null');
SELECT * FROM ruvector_cypher('gc', 'RETURN 1 = 1.0, [1, null] = [1, null], [1, 2] = [1, 2], {a: 1} = {a: 1}, 1 = ''1'', null = null, 1 <> 2');
SELECT * FROM ruvector_cypher('gc', 'RETURN 2 IN [1, null], 3 IN [], null IN [1], [1] IN [[1]], 1 < 2.5, ''a'' < ''b'', [1, 2] < [1, 3], true > false, 1 < ''a''');
SELECT * FROM ruvector_cypher('gc', 'RETURN 9223372036854775807 + 1');
SELECT * FROM ruvector_cypher('gc', 'RETURN 1 / 0');
SELECT * FROM ruvector_cypher('gc', 'RETURN 1.0 / 0');
SELECT * FROM ruvector_cypher('gc', 'RETURN ''a'' - 1');
SELECT * FROM ruvector_cypher('gc', 'RETURN 1 IN 1');
SELECT * FROM ruvector_cypher('gc', 'MATCH (a:Person {name: ''Ann''}) WHERE a.age RETURN a');
SELECT * FROM ruvector_cypher('gc', 'RETURN [1][''x'']');

-- the function library
SELECT * FROM ruvector_cypher('gc', 'RETURN toString(1.0), toString(2), toString(true), toInteger(''42''), toInteger(3.9), toInteger(''x''), toFloat(''1.5''), toFloat(2), toBoolean(''TRUE''), toBoolean(''no'')');
SELECT * FROM ruvector_cypher('gc', 'RETURN abs(-3), abs(-2.5), ceil(1.2), floor(1.8), round(2.5), round(-2.5), sign(-7), sqrt(16), pi() > 3.14, e() < 2.72, atan2(1, 1) * 4 = pi()');
SELECT * FROM ruvector_cypher('gc', 'RETURN toLower(''AbC''), toUpper(''é''), trim(''  x  ''), ltrim(''  x''), rtrim(''x  ''), replace(''banana'', ''an'', ''AN''), substring(''hello'', 1, 3), substring(''héllo'', 1), left(''hello'', 2), right(''hello'', 2), split(''a,b,,c'', '',''), reverse(''abé'')');
SELECT * FROM ruvector_cypher('gc', 'RETURN head([1, 2, 3]), last([1, 2, 3]), tail([1, 2, 3]), head([]), size([]), size(''héllo''), reverse([1, 2]), range(0, 10, 3), range(5, 1, -2), keys({b: 1, a: 2}), coalesce(null, 2, 3), length(''abc'')');
SELECT * FROM ruvector_cypher('gc', 'RETURN timestamp() > 0 AS ts, rand() < 1.0 AS r, valueType(1), valueType(1.5), valueType(''s''), valueType([1]), valueType({}), valueType(null)');
SELECT * FROM ruvector_cypher('gc', 'RETURN range(1, 2, 0)');
SELECT * FROM ruvector_cypher('gc', 'RETURN size(1)');
SELECT * FROM ruvector_cypher('gc', 'RETURN nosuchfunction(1)');
SELECT * FROM ruvector_cypher('gc', 'RETURN toLower()');
SELECT * FROM ruvector_cypher('gc', 'RETURN toLower(DISTINCT ''a'')');

SELECT ruvector_drop_graph('gc');
