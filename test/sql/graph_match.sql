-- Cypher reading: MATCH patterns (labels, property maps, directions, types,
-- several patterns), WHERE operators, RETURN expressions and names,
-- DISTINCT, ORDER BY, SKIP, LIMIT, parameters, the typed form, SQL joins.

SELECT ruvector_create_graph('gm');
SELECT * FROM ruvector_cypher('gm', $$
	CREATE (ann:Person {name: 'Ann', age: 34, city: 'Oslo'}),
	       (bob:Person {name: 'Bob', age: 28, city: 'Bergen'}),
	       (cid:Person {name: 'Cid', age: 45}),
	       (dee:Person {name: 'Dee', age: 28, city: 'Oslo', tags: ['x', 'y']}),
	       (acme:Company {name: 'Acme', founded: 1999}),
	       (ann)-[:KNOWS {since: 2010}]->(bob),
	       (bob)-[:KNOWS {since: 2015}]->(cid),
	       (cid)-[:KNOWS {since: 2020}]->(ann),
	       (dee)-[:KNOWS]->(ann),
	       (ann)-[:WORKS_AT {role: 'cto'}]->(acme),
	       (bob)-[:WORKS_AT {role: 'dev'}]->(acme)
$$);

-- nodes by label, the whole node as AGE prints it (ids vary, so not shown)
SELECT r->'n'->'label' AS label, r->'n'->'properties' AS props
	FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN n ORDER BY n.name') r;
SELECT * FROM ruvector_cypher('gm', 'MATCH (n) RETURN count(n) AS nodes');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Nobody) RETURN n');
-- property maps and WHERE
SELECT * FROM ruvector_cypher('gm', $$MATCH (n:Person {city: 'Oslo'}) RETURN n.name ORDER BY n.name$$);
SELECT * FROM ruvector_cypher('gm', $$MATCH (n {age: 28, city: 'Oslo'}) RETURN n.name$$);
SELECT * FROM ruvector_cypher('gm', $$MATCH (n {tags: ['x', 'y']}) RETURN n.name$$);
SELECT * FROM ruvector_cypher('gm', $$MATCH (n {city: null}) RETURN n.name$$);
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.age > 30 AND n.age <= 45 RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.age < 30 OR n.name = ''Cid'' RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE NOT n.age = 28 RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.age = 28 XOR n.city = ''Oslo'' RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.city IS NULL RETURN n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.city IS NOT NULL RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.name IN [''Ann'', ''Dee'', ''Zed''] RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.name STARTS WITH ''A'' OR n.name ENDS WITH ''ee'' RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.name CONTAINS ''i'' RETURN n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.name =~ ''[AB].*'' RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n) WHERE n:Company RETURN n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE 25 < n.age < 30 RETURN n.name ORDER BY n.name');
-- comparisons across types are null, so neither branch keeps the row
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person {name: ''Ann''}) WHERE n.name > 3 OR NOT n.name > 3 RETURN n.name');

-- relationships: direction, type, properties, variables
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)-[:KNOWS]->(b) RETURN a.name, b.name ORDER BY a.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)<-[:KNOWS]-(b {name: ''Ann''}) RETURN a.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a {name: ''Ann''})-[:KNOWS]-(b) RETURN b.name ORDER BY b.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)-[r:KNOWS {since: 2015}]->(b) RETURN a.name, r.since, b.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)-[r:KNOWS|WORKS_AT]->(b:Company) RETURN a.name, type(r), r.role ORDER BY a.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)-[r]->(b) WHERE r.since >= 2015 RETURN a.name, b.name ORDER BY r.since');
SELECT r->'r'->>'label' AS type, r->'r'->'properties' AS props,
	(r->'r'->>'start_id')::bigint = (r->'a'->>'id')::bigint AS starts_at_a
	FROM ruvector_cypher('gm', 'MATCH (a {name: ''Ann''})-[r]->(b) RETURN a, r ORDER BY type(r)') r;
-- chains, several patterns, a node bound twice
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)-[:KNOWS]->(b)-[:KNOWS]->(c) RETURN a.name, b.name, c.name ORDER BY a.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a)-[:KNOWS]->()-[:KNOWS]->()-[:KNOWS]->(a) RETURN a.name ORDER BY a.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a:Person)-[:WORKS_AT]->(c), (b:Person)-[:WORKS_AT]->(c) WHERE a.name < b.name RETURN a.name, b.name, c.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (a {name: ''Ann''}), (b {name: ''Cid''}) RETURN a.name, b.name');
-- relationship uniqueness: one relationship is not matched twice in a pattern
SELECT * FROM ruvector_cypher('gm', 'MATCH (a {name: ''Ann''})-[r1]-(b)-[r2]-(c) RETURN b.name, c.name ORDER BY b.name, c.name');
-- pattern predicates
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE (n)-[:WORKS_AT]->(:Company) RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE NOT (n)<-[:KNOWS]-() RETURN n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE exists((n)-[:KNOWS]->({city: ''Oslo''})) RETURN n.name ORDER BY n.name');

-- RETURN: expressions, names, DISTINCT, ORDER BY, SKIP, LIMIT
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN n.name AS who, n.age * 2 AS double, n.age / 10, n.name + ''!'' ORDER BY who LIMIT 2');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN DISTINCT n.age ORDER BY n.age');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN DISTINCT n.city AS city ORDER BY city DESC');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN n.name ORDER BY n.age DESC, n.name SKIP 1 LIMIT 2');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN n.name ORDER BY n.city, n.name');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) RETURN n.name SKIP $s LIMIT $l', '{"s": 1, "l": 1}') ;
SELECT r->'n'->'properties' AS n FROM ruvector_cypher('gm', 'MATCH (n:Person) WITH n RETURN * ORDER BY n.name LIMIT 1') r;
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person {name: ''Dee''}) RETURN n.tags, n.tags[0], n.tags[-1], n.tags[5], size(n.tags), n{.name, .city}');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person {name: ''Ann''}) RETURN id(n) = id(n) AS same, labels(n), keys(n), properties(n)');

-- parameters
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.age >= $min RETURN n.name ORDER BY n.name', '{"min": 34}');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person {city: $c}) RETURN n.name ORDER BY n.name', '{"c": "Oslo"}');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person $props) RETURN n.name', '{"props": {"name": "Bob", "age": 28}}');
SELECT * FROM ruvector_cypher('gm', 'MATCH (n:Person) WHERE n.name IN $names RETURN count(*)', '{"names": ["Ann", "Bob"]}');
SELECT * FROM ruvector_cypher('gm', 'RETURN $x AS x, $y IS NULL AS y_null', '{"x": [1, {"a": 2}], "y": null}');

-- the typed form
SELECT * FROM ruvector_cypher_rows('gm', 'MATCH (n:Person) RETURN n.name, n.age, n.city ORDER BY n.age, n.name')
	AS (name text, age integer, city text);
SELECT tags, third, node->'label' AS label, yes
	FROM ruvector_cypher_rows('gm', 'MATCH (n:Person {name: ''Dee''}) RETURN n.tags, n.age / 3.0, n, true')
	AS (tags text[], third float8, node jsonb, yes boolean);
SELECT * FROM ruvector_cypher_rows('gm', 'MATCH (n:Person) RETURN n.name') AS (name text, extra int);
SELECT * FROM ruvector_cypher_rows('gm', 'MATCH (n:Person) RETURN n.name ORDER BY n.name LIMIT 1') AS (name integer);
SELECT ruvector_cypher_rows('gm', 'RETURN 1');

-- Cypher results in SQL: joins with tables, aggregates over results
CREATE TABLE gm_salary (person text PRIMARY KEY, salary int);
INSERT INTO gm_salary VALUES ('Ann', 100), ('Bob', 80), ('Cid', 90);
SELECT f.who, f.friend, s.salary
	FROM ruvector_cypher_rows('gm', 'MATCH (a)-[:KNOWS]->(b) RETURN a.name, b.name') AS f(who text, friend text)
	JOIN gm_salary s ON s.person = f.friend
	ORDER BY f.who;
SELECT s.person, n.properties->>'city' AS city
	FROM gm_salary s JOIN ruvector_nodes n ON n.graph = 'gm' AND n.properties->>'name' = s.person
	ORDER BY s.person;
SELECT count(*) FROM ruvector_cypher('gm', 'MATCH (n) RETURN n') r WHERE r->'n'->>'label' = 'Person';

-- the translation: intermediate anonymous nodes are not joined; label,
-- graph and property conditions are plain SQL the planner can index
SELECT ruvector_cypher_sql('gm', 'MATCH (a:Person {name: $n})-[:KNOWS]->()-[:KNOWS]->(c) RETURN c.name', '{"n": "Ann"}')
	~ 'ruvector_graph_node n\d+, [^ ]*ruvector_graph_edge e\d+, [^ ]*ruvector_graph_edge e\d+ WHERE' AS two_edges_no_middle_node;
SELECT ruvector_cypher_sql('gm', 'MATCH (a:Person {name: $n}) RETURN a', '{"n": "Ann"}') LIKE '%properties @> ''{"name": "Ann"}''::jsonb%' AS containment;

DROP TABLE gm_salary;
SELECT ruvector_drop_graph('gm');
