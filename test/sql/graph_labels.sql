-- More than one label per node: CREATE (n:A:B), MATCH (n:A:B), WHERE n:A,
-- SET n:L, REMOVE n:L, labels(n), MERGE with labels; the storage (first
-- label in label, the others in labels), the indexes each form uses, and a
-- vector index over a label that is some nodes' second one.

SELECT ruvector_create_graph('gl');
SELECT count(*) FROM ruvector_cypher('gl', $$
	CREATE (:Person:Admin {name: 'Ann'}), (:Person {name: 'Bob'}), (:Admin {name: 'Cy'}),
		   ({name: 'Dee'}), (:Tag:Tag:Person {name: 'Eve'})$$);
-- storage: the first label, then the others, each once
SELECT properties->>'name' AS name, label, labels FROM ruvector_graph_node
	WHERE graph_id = (SELECT graph_id FROM ruvector_graph WHERE name = 'gl') ORDER BY id;
SELECT properties->>'name' AS name, labels FROM ruvector_nodes WHERE graph = 'gl' ORDER BY id;

-- MATCH by one label finds first and further labels; by two, both
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Person) RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Admin) RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Person:Admin) RETURN n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Admin:Person) RETURN n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Tag:Admin) RETURN n.name');
-- labels(n): all, the first one first
SELECT * FROM ruvector_cypher('gl', 'MATCH (n) RETURN n.name, labels(n) ORDER BY n.name');
-- label predicates in WHERE, on a variable and after WITH (read by id)
SELECT * FROM ruvector_cypher('gl', 'MATCH (n) WHERE n:Admin RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n) WHERE n:Person:Admin OR n:Tag RETURN n.name ORDER BY n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n) WITH n WHERE n:Admin RETURN n.name, labels(n) ORDER BY n.name');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n) WITH n ORDER BY n.name MATCH (n:Admin) RETURN n.name');
-- on a node held as a value (collect / UNWIND), and on other values
SELECT * FROM ruvector_cypher('gl',
	'MATCH (n:Person) WITH collect(n) AS ns UNWIND ns AS m RETURN m.name, labels(m), m:Admin AS admin ORDER BY m.name');
SELECT * FROM ruvector_cypher('gl', $$RETURN labels({id: 1.5, label: 'X', properties: {}}) AS l$$);

-- SET n:L adds (once), REMOVE n:L removes; the first label moves up
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Bob''}) SET n:Admin RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Bob''}) SET n:Admin, n:Person RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Dee''}) SET n:X:Y RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Ann''}) REMOVE n:Person RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Ann''}) REMOVE n:Nope RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Eve''}) REMOVE n:Person, n:Tag RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MATCH (n {name: ''Dee''}) REMOVE n:X:Y RETURN labels(n)');
SELECT properties->>'name' AS name, label, labels FROM ruvector_graph_node
	WHERE graph_id = (SELECT graph_id FROM ruvector_graph WHERE name = 'gl') ORDER BY id;
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Person:Admin) RETURN n.name');

-- MERGE matches on every label, and creates with all of them
SELECT * FROM ruvector_cypher('gl', 'MERGE (n:Admin:Person {name: ''Bob''}) RETURN labels(n)');
SELECT * FROM ruvector_cypher('gl', 'MERGE (n:Person:Admin {name: ''Cy''}) RETURN labels(n)');
SELECT count(*) AS cys FROM ruvector_nodes WHERE graph = 'gl' AND properties->>'name' = 'Cy';

-- the invariant holds for plain SQL too: no further label without a first,
-- none twice
CREATE FUNCTION gl_try(l text, ls text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ruvector_graph_node (graph_id, label, labels)
		SELECT graph_id, l, ls FROM ruvector_graph WHERE name = 'gl';
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT gl_try('', '{A}'), gl_try('A', '{B,A}');
DROP FUNCTION gl_try(text, text[]);

-- the plans: a label is the first label's btree or the further labels' GIN
CREATE FUNCTION gl_plan(cypher text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || ruvector_cypher_sql('gl', cypher) LOOP
		RETURN NEXT regexp_replace(line, '[0-9]+', 'N', 'g');
	END LOOP;
END $$;

-- a vector index over Doc covers nodes whose second label is Doc
SELECT count(*) FROM ruvector_cypher('gl', $$
	UNWIND range(1, 40) AS i CREATE (:Doc {i: i, e: [i, 0, 0]})$$);
SELECT count(*) FROM ruvector_cypher('gl', $$CREATE (:Note:Doc {i: 100, e: [20.2, 0, 0]})$$);
SELECT count(*) FROM ruvector_cypher('gl', $$UNWIND range(1, 3000) AS i CREATE (:Bulk {i: i})$$);
SELECT ruvector_graph_vector_index('gl', 'Doc', 'e', 3) LIKE 'ruvector_graph_%_vec_%' AS index_made;
ANALYZE ruvector_graph_node;
SELECT * FROM gl_plan('MATCH (n:Person) RETURN count(*)');
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE line LIKE '%Index Scan using ruvector_graph_N_vec_%') AS vector_index_scans
	FROM gl_plan('MATCH (d:Doc) RETURN d.i ORDER BY vector.distance(d.e, [19.9, 0, 0]) LIMIT 3') line;
SELECT * FROM ruvector_cypher('gl', 'MATCH (d:Doc) RETURN d.i ORDER BY vector.distance(d.e, [19.9, 0, 0]) LIMIT 3');
RESET enable_seqscan;

-- a role without graph privileges sees no labels through the view
CREATE ROLE regress_gl_nobody IN ROLE ruvector_user;
SET ROLE regress_gl_nobody;
SELECT count(*) FROM ruvector_nodes WHERE graph = 'gl';
SELECT * FROM ruvector_cypher('gl', 'MATCH (n:Admin) SET n:Z');
RESET ROLE;
DROP ROLE regress_gl_nobody;

DROP FUNCTION gl_plan(text);
SELECT ruvector_drop_graph('gl');
