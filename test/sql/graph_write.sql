-- Cypher updates: CREATE, SET, REMOVE, DELETE, DETACH DELETE, MERGE; their
-- visibility to later clauses, transactions, and the errors they raise.

SELECT ruvector_create_graph('gw');
-- errors whose message holds a node id are shown with the id masked
CREATE FUNCTION gw_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM * FROM ruvector_cypher('gw', q);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END $$;

-- CREATE: nodes, relationships, paths; the result sees the created entities
SELECT r->'a'->'properties' AS a, r->'b'->'label' AS b_label
	FROM ruvector_cypher('gw', $$CREATE (a:Person {name: 'Ann', age: 30})-[:KNOWS {since: 2001}]->(b:Person {name: 'Bob'}) RETURN a, b$$) r;
SELECT * FROM ruvector_cypher('gw', $$CREATE p = (:Person {name: 'Cid'})-[:LIKES]->(:Food {name: 'tea'}) RETURN length(p), [n IN nodes(p) | n.name] AS names$$);
SELECT * FROM ruvector_cypher('gw', 'CREATE (n:Person $props) RETURN n.name, n.age', '{"props": {"name": "Dee", "age": 41, "gone": null}}');
SELECT * FROM ruvector_cypher('gw', 'UNWIND range(1, 5) AS i CREATE (:Num {v: i, sq: i * i})');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Num) RETURN sum(n.v) AS total, collect(n.sq) AS squares');
-- relationships between matched nodes, one per row
SELECT * FROM ruvector_cypher('gw', $$MATCH (a:Num), (b:Num) WHERE b.v = a.v + 1 CREATE (a)-[:NEXT]->(b)$$);
SELECT * FROM ruvector_cypher('gw', 'MATCH (a)-[:NEXT]->(b) RETURN a.v, b.v ORDER BY a.v');
-- a created node is visible to the clauses that follow
SELECT * FROM ruvector_cypher('gw', 'CREATE (x:Tmp {k: 1}) WITH x MATCH (t:Tmp) RETURN count(t) AS tmps, x.k');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a:Tmp {k: 2}), (a)-[:SELF]->(a) RETURN a.k');
SELECT * FROM ruvector_cypher('gw', 'MATCH (a:Tmp)-[r:SELF]->(a) RETURN a.k, type(r)');

-- SET and REMOVE
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'Ann'}) SET n.age = n.age + 1, n.city = 'Oslo' RETURN n.age, n.city$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'Ann'}) SET n.city = null RETURN keys(n)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'Ann'}) SET n += {nick: 'A', age: null} RETURN properties(n)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'Ann'}) SET n = {name: 'Ann', score: 9.5} RETURN properties(n)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (a {name: 'Ann'}), (b {name: 'Bob'}) SET b = a RETURN properties(b)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'Ann', score: 9.5}) WHERE NOT n:Person RETURN count(*)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n:Food) SET n:Drink RETURN labels(n)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n:Drink) REMOVE n:Drink RETURN labels(n)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'tea'}) SET n:Food REMOVE n.name RETURN labels(n), properties(n)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH ()-[r:KNOWS]->() SET r.since = 1999, r.weight = 0.5 RETURN properties(r)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH ()-[r:KNOWS]->() REMOVE r.weight RETURN properties(r)$$);
-- SET on a null from OPTIONAL MATCH does nothing
SELECT * FROM ruvector_cypher('gw', $$MATCH (n {name: 'Dee'}) OPTIONAL MATCH (n)-[:KNOWS]->(m) SET m.touched = true RETURN n.name, m$$);
-- SET sees the map of a parameter
SELECT * FROM ruvector_cypher('gw', 'MATCH (n {name: $who}) SET n += $changes RETURN n.mood', '{"who": "Dee", "changes": {"mood": "ok"}}');

-- DELETE
SELECT gw_try('MATCH (n:Tmp) DELETE n');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Tmp) DETACH DELETE n');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Tmp) RETURN count(n)');
SELECT * FROM ruvector_cypher('gw', 'MATCH (a)-[r:NEXT]->() WITH r, a ORDER BY a.v DESC LIMIT 1 DELETE r RETURN count(*) AS deleted');
SELECT * FROM ruvector_cypher('gw', 'MATCH ()-[r:NEXT]->() RETURN count(r)');
SELECT * FROM ruvector_cypher('gw', 'MATCH p = (:Num {v: 3})-[:NEXT]->(:Num {v: 4}) DETACH DELETE p');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Num) RETURN collect(n.v) AS left');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Num) WITH n ORDER BY n.v WITH collect(n) AS ns DETACH DELETE ns[2]');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Num) RETURN count(n)');
-- a relationship and its node deleted in one clause
SELECT * FROM ruvector_cypher('gw', 'MATCH (a:Num)-[r:NEXT]->(b:Num) DELETE r, a, b');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n:Num) RETURN count(n)');

-- MERGE
SELECT * FROM ruvector_cypher('gw', $$MERGE (c:City {name: 'Oslo'}) ON CREATE SET c.created = 1 ON MATCH SET c.matched = 1 RETURN c.name, c.created, c.matched$$);
SELECT * FROM ruvector_cypher('gw', $$MERGE (c:City {name: 'Oslo'}) ON CREATE SET c.created = 1 ON MATCH SET c.matched = 1 RETURN c.name, c.created, c.matched$$);
SELECT * FROM ruvector_cypher('gw', $$UNWIND ['Rome', 'Oslo', 'Rome', 'Lima'] AS name MERGE (c:City {name: name}) RETURN name, c.matched$$);
SELECT * FROM ruvector_cypher('gw', 'MATCH (c:City) RETURN c.name ORDER BY c.name');
SELECT * FROM ruvector_cypher('gw', $$MATCH (p {name: 'Dee'}), (c:City {name: 'Lima'}) MERGE (p)-[r:LIVES_IN]->(c) RETURN type(r)$$);
SELECT * FROM ruvector_cypher('gw', $$MATCH (p {name: 'Dee'}), (c:City {name: 'Lima'}) MERGE (c)-[r:LIVES_IN]-(p) RETURN type(r)$$);
SELECT * FROM ruvector_cypher('gw', 'MATCH ()-[r:LIVES_IN]->() RETURN count(r)');
SELECT * FROM ruvector_cypher('gw', $$MERGE (a:Person {name: 'Eve'})-[:LIVES_IN]->(c:City {name: 'Oslo'}) RETURN a.name, c.name$$);
SELECT * FROM ruvector_cypher('gw', 'MATCH (c:City {name: ''Oslo''}) RETURN count(c)');

-- updates are part of the transaction
BEGIN;
SELECT * FROM ruvector_cypher('gw', 'CREATE (:Ghost {n: 1}), (:Ghost {n: 2})');
SELECT * FROM ruvector_cypher('gw', 'MATCH (g:Ghost) RETURN count(g)');
ROLLBACK;
SELECT * FROM ruvector_cypher('gw', 'MATCH (g:Ghost) RETURN count(g)');
BEGIN;
SELECT * FROM ruvector_cypher('gw', 'MATCH (n) DETACH DELETE n');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n) RETURN count(n)');
ROLLBACK;
SELECT * FROM ruvector_cypher('gw', 'MATCH (n) RETURN count(n) > 0 AS still_there');
-- a failing statement undoes its own earlier writes
SELECT gw_try('CREATE (:Half {n: 1}) WITH 1 AS x MATCH (n:Person) DELETE n');
SELECT * FROM ruvector_cypher('gw', 'MATCH (h:Half) RETURN count(h)');

-- errors
SELECT * FROM ruvector_cypher('gw', 'CREATE (a)-[:R]-(b)');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a)-[]->(b)');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a)-[:R|S]->(b)');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a)-[:R*2]->(b)');
SELECT * FROM ruvector_cypher('gw', 'MATCH (a {name: ''Ann''}) CREATE (a:Person)');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a {x: 1}) RETURN a.x, $missing');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a {x: [1, 2]}) SET a = 5');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a $p)', '{"p": [1]}');
SELECT * FROM ruvector_cypher('gw', 'MERGE (c:City {name: null})');
SELECT * FROM ruvector_cypher('gw', 'MERGE (c:City {name: $n})', '{"n": null}');
SELECT * FROM ruvector_cypher('gw', 'MATCH ()-[r]->() SET r:Other');
SELECT * FROM ruvector_cypher('gw', 'UNWIND [1] AS x SET x.y = 1');
SELECT * FROM ruvector_cypher('gw', 'UNWIND [1] AS x DELETE x');
SELECT * FROM ruvector_cypher('gw', 'MATCH (n) SET m.x = 1');
SELECT * FROM ruvector_cypher('gw', 'CREATE (a)-[:R]->(b) UNION CREATE (c)');
SELECT * FROM ruvector_cypher('gw', 'MATCH (a {name: ''Ann''}) MERGE (a)-[:R*]->(b)');

SELECT * FROM ruvector_graphs() WHERE name = 'gw';
SELECT ruvector_drop_graph('gw');
DROP FUNCTION gw_try(text);
