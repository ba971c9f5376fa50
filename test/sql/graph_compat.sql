-- Queries in the style Apache AGE users write, through the typed form
-- (a column list per RETURN item, as with AGE's cypher() ... AS (...)).
-- Every answer here was compared with AGE 1.5 on the same graph
-- (bench/graph/compare.sh) and is the same, except where a comment says
-- that Cypher's semantics and AGE differ (see docs/graph.md).
\set SHOW_CONTEXT never

SELECT ruvector_create_graph('compat');
SELECT count(*) FROM ruvector_cypher('compat', $$
	CREATE (al:Person {name: 'Alice', age: 34, city: 'Oslo', tags: ['a', 'b']}),
	       (bo:Person {name: 'Bob', age: 27, city: 'Rome'}),
	       (ca:Person {name: 'Carol', age: 41, city: 'Oslo'}),
	       (da:Person {name: 'Dave', age: 19}),
	       (ev:Person {name: 'Eve', age: 34, city: 'Paris', score: 2.5}),
	       (os:City {name: 'Oslo', pop: 700000}), (ro:City {name: 'Rome', pop: 2800000}),
	       (al)-[:KNOWS {since: 2010}]->(bo), (al)-[:KNOWS {since: 2015}]->(ca),
	       (bo)-[:KNOWS {since: 2020}]->(da), (ca)-[:KNOWS {since: 2018}]->(da),
	       (da)-[:KNOWS {since: 2021}]->(ev),
	       (al)-[:LIVES_IN]->(os), (ca)-[:LIVES_IN]->(os), (bo)-[:LIVES_IN]->(ro)
$$);

-- filters
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) WHERE n.age > 30 RETURN n.name, n.age ORDER BY n.age DESC, n.name
$$) AS (name jsonb, age jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) WHERE n.city IS NULL OR n.name =~ 'C.*' RETURN n.name ORDER BY n.name
$$) AS (name jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) WHERE n.name STARTS WITH 'A' OR n.name ENDS WITH 'e' OR n.name CONTAINS 'ar'
	RETURN n.name ORDER BY n.name
$$) AS (name jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) WHERE n.age IN [19, 27] OR (n.age >= 34 XOR n.city = 'Oslo') RETURN n.name ORDER BY n.name
$$) AS (name jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person {age: 34, city: 'Paris'}) RETURN n.name, n.score
$$) AS (name jsonb, score jsonb);

-- relationships: direction, either direction, properties, anonymous hops
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person)<-[:KNOWS]-(b:Person) RETURN a.name, b.name ORDER BY a.name, b.name
$$) AS (a jsonb, b jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Dave'})-[:KNOWS]-(b) RETURN b.name ORDER BY b.name
$$) AS (b jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a)-[r:KNOWS]->(b) WHERE r.since >= 2018 RETURN a.name, r.since ORDER BY r.since
$$) AS (a jsonb, since jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Alice'})-[:KNOWS]->()-[:KNOWS]->(c) RETURN c.name ORDER BY c.name
$$) AS (c jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person)-[r1:KNOWS]->(b)<-[r2:KNOWS]-(c) RETURN count(*)
$$) AS (n jsonb);

-- variable length
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Alice'})-[:KNOWS*1..3]->(c) RETURN c.name, count(*) ORDER BY c.name
$$) AS (c jsonb, ways jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Eve'})<-[:KNOWS*1..2]-(c) RETURN c.name ORDER BY c.name
$$) AS (c jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Dave'})-[:KNOWS*1..2]-(b) RETURN b.name ORDER BY b.name
$$) AS (b jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person)-[*1..2]->(c:City) RETURN a.name, c.name ORDER BY a.name, c.name
$$) AS (a jsonb, c jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH p = (a:Person {name: 'Alice'})-[:KNOWS*]->(e:Person {name: 'Eve'}) RETURN length(p) ORDER BY length(p)
$$) AS (len jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Alice'})-[:KNOWS*0..1]->(b) RETURN b.name ORDER BY b.name
$$) AS (b jsonb);

-- aggregation, DISTINCT, ORDER BY / SKIP / LIMIT
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN n.city, count(*) ORDER BY n.city
$$) AS (city jsonb, n jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN avg(n.age), min(n.age), max(n.age), sum(n.age), count(DISTINCT n.age), count(n.score)
$$) AS (avg jsonb, min jsonb, max jsonb, sum jsonb, ages jsonb, scores jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN n.age, count(*) ORDER BY count(*) DESC, n.age
$$) AS (age jsonb, n jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN n.name, n.age ORDER BY n.age DESC, n.name SKIP 1 LIMIT 2
$$) AS (name jsonb, age jsonb);
-- nulls sort last going up and first going down
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN n.city ORDER BY n.city
$$) AS (city jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN n.score ORDER BY n.score DESC
$$) AS (score jsonb);

-- OPTIONAL MATCH, WITH, UNWIND, UNION
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person) OPTIONAL MATCH (a)-[:LIVES_IN]->(c:City) RETURN a.name, c.name ORDER BY a.name
$$) AS (a jsonb, c jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person) OPTIONAL MATCH (a)-[:KNOWS]->(b) WHERE b.age > 30 RETURN a.name, b.name ORDER BY a.name
$$) AS (a jsonb, b jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person)-[:KNOWS]->(b) WITH a, count(b) AS n WHERE n > 1 RETURN a.name, n
$$) AS (a jsonb, n jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person) WITH a.city AS city, collect(a.name) AS names WHERE size(names) > 1 RETURN city, names
$$) AS (city jsonb, names jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person) WITH collect(a.name) AS names UNWIND names AS nm RETURN nm ORDER BY nm DESC LIMIT 2
$$) AS (nm jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	UNWIND ['a', 'b', 'a'] AS x RETURN x, count(*) ORDER BY x
$$) AS (x jsonb, n jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person)-[:KNOWS]->(b) RETURN a.name, b.name
	UNION MATCH (a:Person)-[:LIVES_IN]->(b) RETURN a.name, b.name
$$) AS (a jsonb, b jsonb) ORDER BY 1, 2;

-- values and functions
SELECT * FROM ruvector_cypher_rows('compat', $$
	RETURN 7 / 2, 7 % 3, -5 / 2, 7.0 / 2, 2 ^ 3, 1 + 2.5, toInteger(-3.9), toFloat('1.5'), toString(1.5)
$$) AS (a jsonb, b jsonb, c jsonb, d jsonb, e jsonb, f jsonb, g jsonb, h jsonb, i jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	RETURN substring('hello', 1, 3), replace('hello', 'l', 'L'), split('a,b,c', ','), reverse('abc'),
	       left('hello', 2), trim('  x  '), toUpper('abc'), [1, 2, 3, 4][1..], [1, 2, 3][-1], range(0, 10, 3)
$$) AS (a jsonb, b jsonb, c jsonb, d jsonb, e jsonb, f jsonb, g jsonb, h jsonb, i jsonb, j jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Alice'})-[r]->(b) RETURN labels(a), keys(a), a.tags[0], 'a' IN a.tags, type(r), startNode(r).name ORDER BY type(r), b.name
$$) AS (labels jsonb, keys jsonb, tag jsonb, has_a jsonb, type jsonb, start jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	RETURN CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END, coalesce(null, 1), 1 = 1.0, null = null, 5 IN [1, null]
$$) AS (a jsonb, b jsonb, c jsonb, d jsonb, e jsonb);
-- AGE's own entity functions, and isEmpty, degrees
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Alice'})-[r]->(c) RETURN label(a), label(r), start_id(r) = id(a), end_id(r) = id(c), label(c) ORDER BY label(r), c.name
$$) AS (a jsonb, r jsonb, s jsonb, e jsonb, c jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (n:Person) RETURN n.name, isEmpty(n.name), isEmpty(coalesce(n.tags, [])), round(degrees(pi())) ORDER BY n.name LIMIT 2
$$) AS (name jsonb, e1 jsonb, e2 jsonb, d jsonb);
SELECT * FROM ruvector_cypher_rows('compat', 'RETURN isEmpty(''''), isEmpty({}), radians(180) = pi()') AS (a jsonb, b jsonb, c jsonb);
SELECT * FROM ruvector_cypher_rows('compat', 'MATCH (n:Person) RETURN start_id(n)') AS (a jsonb);
SELECT * FROM ruvector_cypher_rows('compat', 'RETURN isEmpty(1)') AS (a jsonb);

-- writes: CREATE, SET, REMOVE, MERGE, DELETE
SELECT * FROM ruvector_cypher_rows('compat', $$CREATE (n:Person {name: 'Frank', age: 50}) RETURN n.name$$) AS (name jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MATCH (n:Person {name: 'Frank'}) SET n.age = 51, n.nick = 'F' RETURN n.age, n.nick$$) AS (age jsonb, nick jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MATCH (n:Person {name: 'Frank'}) REMOVE n.nick SET n += {pet: 'cat'} RETURN properties(n)$$) AS (props jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MERGE (n:Person {name: 'Frank'}) RETURN n.age$$) AS (age jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MERGE (n:Person {name: 'Gina'}) RETURN n.name$$) AS (name jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Frank'}), (b:Person {name: 'Gina'}) MERGE (a)-[r:KNOWS]->(b) RETURN type(r)
$$) AS (t jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$
	MATCH (a:Person {name: 'Frank'}), (b:Person {name: 'Gina'}) MERGE (a)-[r:KNOWS]->(b) RETURN type(r)
$$) AS (t jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MATCH (:Person {name: 'Frank'})-[r:KNOWS]->() RETURN count(r)$$) AS (n jsonb);
-- Gina has a relationship now, so only DETACH DELETE takes her (plain
-- DELETE is an error in both systems; graph_write tests it)
SELECT * FROM ruvector_cypher_rows('compat', $$MATCH (n:Person) WHERE n.name IN ['Frank', 'Gina'] DETACH DELETE n RETURN count(*)$$) AS (n jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MATCH (n) RETURN count(n)$$) AS (nodes jsonb);
SELECT * FROM ruvector_cypher_rows('compat', $$MATCH ()-[r]->() RETURN count(r)$$) AS (relationships jsonb);

-- where Cypher's semantics and AGE 1.5 differ (RuVector follows Cypher):
-- sum() of no rows is 0 (AGE: null)
SELECT * FROM ruvector_cypher_rows('compat', 'MATCH (n:Nobody) RETURN sum(n.age)') AS (s jsonb);
-- count(x) skips nulls (AGE counts them after UNWIND)
SELECT * FROM ruvector_cypher_rows('compat', 'UNWIND [1, null, 2] AS x RETURN count(x)') AS (n jsonb);
-- an OPTIONAL MATCH that matches nothing still gives one row of nulls (AGE: none)
SELECT * FROM ruvector_cypher_rows('compat', 'OPTIONAL MATCH (n:Nobody) RETURN n.name') AS (name jsonb);
-- percentileDisc returns one of the values, an integer here (AGE: a float)
SELECT * FROM ruvector_cypher_rows('compat', 'MATCH (n:Person) RETURN percentileDisc(n.age, 0.5)') AS (p jsonb);
-- round() takes halves up, towards positive infinity (AGE: away from zero)
SELECT * FROM ruvector_cypher_rows('compat', 'RETURN round(2.5), round(-2.5)') AS (a jsonb, b jsonb);
-- UNWIND of a null gives no row (AGE: one null row)
SELECT * FROM ruvector_cypher_rows('compat', 'MATCH (n:Person) UNWIND n.tags AS t RETURN t') AS (t jsonb);
-- the parts of a UNION must name their columns alike (AGE takes the first's)
SELECT * FROM ruvector_cypher_rows('compat', 'MATCH (a:Person) RETURN a.name UNION ALL MATCH (c:City) RETURN c.name') AS (name jsonb);

-- queries that differ only in property-map values share a cached plan:
-- each still gets its own answer, also after DDL on the graph tables,
-- with the cache off, after an update step (constants numbered after the
-- step's inputs) and in both parts of a UNION
SELECT name, (SELECT r->'n.age' FROM ruvector_cypher('compat', format('MATCH (n:Person {name: %s}) RETURN n.age', to_jsonb(name)::text)) r) AS age
	FROM unnest(ARRAY['Alice', 'Bob', 'Carol', 'Nobody', 'Eve']) AS name;
CREATE INDEX compat_name_idx ON ruvector_graph_node ((properties ->> 'name'));
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Dave''}) RETURN n.age');
DROP INDEX compat_name_idx;
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Carol''}) RETURN n.age');
SET ruvector.cypher_plan_cache = off;
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Bob''}) RETURN n.age');
RESET ruvector.cypher_plan_cache;
SELECT * FROM ruvector_cypher('compat', $$
	CREATE (t:Tmp {k: 1}) WITH t MATCH (a:Person {city: 'Oslo'})-[:KNOWS]->(b {name: 'Carol'}) RETURN t.k, a.name, b.name
$$);
SELECT * FROM ruvector_cypher('compat', $$
	MATCH (t:Tmp {k: 1}) DELETE t WITH count(*) AS gone MATCH (p:Person {age: 34}) RETURN gone, p.name ORDER BY p.name
$$);
SELECT * FROM ruvector_cypher('compat', $$
	MATCH (a {name: 'Alice'}) RETURN a.age AS x UNION MATCH (b {name: 'Bob'}) RETURN b.age AS x
$$) r ORDER BY r::text;
-- so do queries that differ only in the constant of a WHERE equality (the
-- second and third reuse the first's plan: the DEBUG1 line says so), with
-- their own answers, a value of another type and a miss included
SET client_min_messages = debug1;
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person)-[:KNOWS]->(m) WHERE n.name = ''Alice'' RETURN m.name ORDER BY m.name');
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person)-[:KNOWS]->(m) WHERE n.name = ''Bob'' RETURN m.name ORDER BY m.name');
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person)-[:KNOWS]->(m) WHERE n.name = 7 RETURN m.name ORDER BY m.name');
RESET client_min_messages;
-- a row object's keys are in jsonb's order (shorter first), whether its
-- values are all scalars (built directly) or include a list or map, and a
-- key is found by -> either way
SELECT r, r->'aa' AS aa FROM ruvector_cypher('compat', 'RETURN 1 AS b, 2.5 AS aa, ''x'' AS ab, null AS c, true AS zz') r;
SELECT r, r->'aa' AS aa FROM ruvector_cypher('compat', 'RETURN 1 AS b, [2] AS aa, {k: ''x''} AS ab, null AS c') r;
-- the SQL shown keeps the constant as a literal
SELECT ruvector_cypher_sql('compat', 'MATCH (n:Person) WHERE n.name = ''Bob'' AND n.age > 1 RETURN n.age') ~ '@> ''\{"name": "Bob"\}''::jsonb' AS literal;

-- a cached plan stays valid for the query running it when the cache is
-- emptied meanwhile: here DDL in a row-level security function, evaluated
-- per node, empties it while the second query runs the plan the first made
-- (the DEBUG1 line); both answer.  An error in the middle of a reused plan
-- is rolled back, and the plan is reused afterwards.
CREATE FUNCTION compat_churn(id bigint) RETURNS boolean LANGUAGE plpgsql
	SET client_min_messages = notice AS $$
BEGIN
	IF current_setting('compat.churn', true) = 'ddl' THEN
		CREATE TEMP TABLE IF NOT EXISTS compat_churn_t (x int);
		DROP TABLE compat_churn_t;
	ELSIF current_setting('compat.churn', true) = 'error' THEN
		RAISE EXCEPTION 'compat_churn fails as asked';
	END IF;
	RETURN true;
END $$;
CREATE ROLE regress_compat_churn IN ROLE ruvector_user;
SELECT ruvector_graph_grant('compat', 'regress_compat_churn', 'read');
CREATE POLICY compat_churn_n ON ruvector_graph_node AS RESTRICTIVE TO regress_compat_churn
	USING (compat_churn(id));
SET ROLE regress_compat_churn;
SET client_min_messages = debug1;
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Alice''})-[:KNOWS]->(m) RETURN m.name ORDER BY m.name');
SET compat.churn = 'ddl';
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Bob''})-[:KNOWS]->(m) RETURN m.name ORDER BY m.name');
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Alice''})-[:KNOWS]->(m) RETURN m.name ORDER BY m.name');
RESET compat.churn;
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Carol''})-[:KNOWS]->(m) RETURN m.name ORDER BY m.name');
BEGIN;
SET LOCAL compat.churn = 'error';
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Bob''})-[:KNOWS]->(m) RETURN m.name ORDER BY m.name');
ROLLBACK;
SELECT * FROM ruvector_cypher('compat', 'MATCH (n:Person {name: ''Alice''})-[:KNOWS]->(m) RETURN m.name ORDER BY m.name');
RESET client_min_messages;
RESET ROLE;
DROP POLICY compat_churn_n ON ruvector_graph_node;
DROP FUNCTION compat_churn(bigint);

SELECT ruvector_drop_graph('compat');
DROP ROLE regress_compat_churn;
