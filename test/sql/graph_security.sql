-- Security of the graph subsystem (issue 12): =~ cannot be unanchored;
-- row-level security and per-graph grants hold on every read and write
-- path (views, tables, ruvector_graphs(), Cypher, the add_* functions).
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT ruvector_create_graph('gsec_rx');
-- =~ matches the whole string: a pattern cannot close the anchoring group
-- early (defect 5: 'a)|(z' made an unanchored branch that matched 'zzz')
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'a)|(z' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z)|(a' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z\\' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ '[z' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z+' AS a, 'ab' =~ 'a|ab' AS b,
	'ab' =~ 'a*?|ab' AS c, 'é1' =~ '.[0-9]' AS d, 'x)' =~ 'x\\)' AS e,
	'zz' =~ '(z)\\1' AS f, '[)]' =~ '\\[[)]\\]' AS g, 'abc' =~ 'b' AS h, '' =~ '' AS i$$);
SELECT ruvector_drop_graph('gsec_rx');

-- ---------------------------------------------------------------------
-- Roles, graphs and a helper that shows SQLSTATE and message
-- ---------------------------------------------------------------------
CREATE FUNCTION gsec_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE sql;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN 'ok, ' || n || ' rows';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- rows per graph through one read path, as a list "graph:count"
CREATE FUNCTION gsec_seen(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE 'SELECT string_agg(g || '':'' || c, '' '' ORDER BY g) FROM (SELECT g, count(*) AS c FROM ('
		|| sql || ') s(g) GROUP BY g) t' INTO r;
	RETURN coalesce(r, '(none)');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE ROLE regress_gsec_nobody;
CREATE ROLE regress_gsec_reader IN ROLE ruvector_user;
CREATE ROLE regress_gsec_writer IN ROLE ruvector_user;
CREATE ROLE regress_gsec_limited IN ROLE ruvector_user;
CREATE ROLE regress_gsec_admin IN ROLE ruvector_admin;

SELECT ruvector_create_graph('gsec_a');
SELECT ruvector_create_graph('gsec_b');
SELECT count(*) FROM ruvector_cypher('gsec_a', $$
	CREATE (x:Doc {title: 'a1', secret: 'alpha'})-[:REFS]->(y:Doc {title: 'a2', secret: 'alpha'})$$);
SELECT count(*) FROM ruvector_cypher('gsec_b', $$
	CREATE (x:Doc {title: 'b1', secret: 'bravo'})-[:REFS]->(y:Doc {title: 'b2', secret: 'bravo'}),
	       (y)-[:REFS]->(:Doc {title: 'b3', secret: 'bravo'})$$);
SELECT ruvector_graph_add_hyperedge('gsec_a', 'TEAM', ARRAY(SELECT id FROM ruvector_nodes WHERE graph = 'gsec_a' ORDER BY id)) > 0 AS he_a;
SELECT ruvector_graph_add_hyperedge('gsec_b', 'TEAM', ARRAY(SELECT id FROM ruvector_nodes WHERE graph = 'gsec_b' ORDER BY id)) > 0 AS he_b;

-- the views run with the caller's rights
SELECT c.relname, c.reloptions FROM pg_class c
	WHERE c.relname IN ('ruvector_nodes', 'ruvector_edges', 'ruvector_hyperedges') ORDER BY 1;

-- ---------------------------------------------------------------------
-- Defect 3: a role limited by a row-level security policy to one graph
-- sees only that graph through every read path.  It holds read on both
-- graphs; the DBA's limit is a restrictive policy (permissive ones would
-- add to the extension's).
-- ---------------------------------------------------------------------
SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_limited', 'read');
SELECT ruvector_graph_grant('gsec_b', 'regress_gsec_limited', 'read');
CREATE POLICY gsec_only_a_g ON ruvector_graph AS RESTRICTIVE TO regress_gsec_limited
	USING (name = 'gsec_a');
CREATE POLICY gsec_only_a_n ON ruvector_graph_node AS RESTRICTIVE TO regress_gsec_limited
	USING (graph_id = (SELECT graph_id FROM ruvector_graph WHERE name = 'gsec_a'));
CREATE POLICY gsec_only_a_e ON ruvector_graph_edge AS RESTRICTIVE TO regress_gsec_limited
	USING (graph_id = (SELECT graph_id FROM ruvector_graph WHERE name = 'gsec_a'));
CREATE POLICY gsec_only_a_h ON ruvector_graph_hyperedge AS RESTRICTIVE TO regress_gsec_limited
	USING (graph_id = (SELECT graph_id FROM ruvector_graph WHERE name = 'gsec_a'));
SET ROLE regress_gsec_limited;
SELECT gsec_seen('SELECT graph FROM ruvector_nodes') AS nodes_view,
	gsec_seen('SELECT graph FROM ruvector_edges') AS edges_view,
	gsec_seen('SELECT graph FROM ruvector_hyperedges') AS hyperedges_view;
SELECT gsec_seen('SELECT g.name FROM ruvector_graph_node n JOIN ruvector_graph g USING (graph_id)') AS nodes_table,
	gsec_seen('SELECT graph_id::text FROM ruvector_graph_edge') <> '(none)' AS edges_table_some,
	gsec_seen('SELECT g.name FROM ruvector_graph_hyperedge_member m JOIN ruvector_graph_hyperedge h ON h.id = m.hyperedge_id JOIN ruvector_graph g USING (graph_id)') AS members_table;
SELECT string_agg(properties ->> 'secret', ',') AS secrets_seen FROM ruvector_graph_node;
SELECT name, nodes, edges FROM ruvector_graphs() ORDER BY name;
SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) RETURN n.title, n.secret ORDER BY n.title');
SELECT * FROM ruvector_cypher('gsec_b', 'MATCH (n) RETURN n.title, n.secret ORDER BY n.title');
SELECT * FROM ruvector_cypher('gsec_b', 'MATCH (a)-[r]->(b) RETURN count(r) AS rels');
SELECT * FROM ruvector_cypher_rows('gsec_b', 'MATCH (n) RETURN n.secret') AS (secret text);
SELECT * FROM ruvector_cypher_rows('gsec_a', 'MATCH (n) RETURN n.secret ORDER BY n.title') AS (secret text);
RESET ROLE;
DROP POLICY gsec_only_a_g ON ruvector_graph;
DROP POLICY gsec_only_a_n ON ruvector_graph_node;
DROP POLICY gsec_only_a_e ON ruvector_graph_edge;
DROP POLICY gsec_only_a_h ON ruvector_graph_hyperedge;

-- ---------------------------------------------------------------------
-- Per-graph privileges: read on gsec_a for the reader, write on gsec_a
-- for the writer, nothing on gsec_b for either
-- ---------------------------------------------------------------------
SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_reader', 'read');
SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_writer', 'write');
SELECT g.name, a.grantee, a.privilege FROM ruvector_graph_grant a JOIN ruvector_graph g USING (graph_id)
	ORDER BY 1, 2, 3;

-- without ruvector_user: nothing at all
SET ROLE regress_gsec_nobody;
SELECT gsec_try($$SELECT * FROM ruvector_nodes$$);
SELECT gsec_try($$SELECT * FROM ruvector_graph_node$$);
SELECT gsec_try($$SELECT * FROM ruvector_graph$$);
SELECT gsec_try($$SELECT * FROM ruvector_graph_grant$$);
SELECT gsec_try($$SELECT * FROM ruvector_graphs()$$);
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) RETURN n')$$);
SELECT gsec_try($$SELECT ruvector_graph_add_node('gsec_a', 'X')$$);
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_nobody', 'read')$$);
SELECT gsec_try($$SELECT ruvector_graph_allowed('read')$$);
SELECT gsec_try($$SELECT nextval('ruvector_graph_entity_seq')$$);
-- and every other graph function
SELECT f AS function, gsec_try('SELECT ' || f) AS refused FROM unnest(ARRAY[
	$$ruvector_graph_revoke('gsec_a', 'regress_gsec_nobody', 'read')$$,
	$$ruvector_create_graph('gsec_n')$$, $$ruvector_drop_graph('gsec_a')$$,
	$$ruvector_graph_add_edge('gsec_a', 1, 2, 'X')$$, $$ruvector_graph_add_hyperedge('gsec_a', 'X', '{1}')$$,
	$$ruvector_graph_vector_index('gsec_a', 'Doc', 'v', 3)$$,
	$$* FROM ruvector_cypher_rows('gsec_a', 'RETURN 1') AS (x int)$$, $$ruvector_cypher_sql('gsec_a', 'RETURN 1')$$,
	$$* FROM ruvector_cy_shortest(1, 2, NULL, 0, 1, 2, false)$$]) f;
RESET ROLE;

-- shortest paths read the edges with the caller's rights too
SELECT min(id) AS b_first, max(id) AS b_last FROM ruvector_nodes WHERE graph = 'gsec_b' \gset
SELECT count(*) AS superuser_paths FROM ruvector_cy_shortest(:b_first, :b_last, NULL, 0, 1, -1, false);

-- the reader: gsec_a through every path, never gsec_b, never a write
SET ROLE regress_gsec_reader;
SELECT count(*) AS reader_paths_in_b FROM ruvector_cy_shortest(:b_first, :b_last, NULL, 0, 1, -1, false);
SELECT gsec_seen('SELECT graph FROM ruvector_nodes') AS nodes_view,
	gsec_seen('SELECT graph FROM ruvector_edges') AS edges_view,
	gsec_seen('SELECT graph FROM ruvector_hyperedges') AS hyperedges_view,
	gsec_seen('SELECT name FROM ruvector_graph') AS graphs_table;
SELECT name, nodes, edges FROM ruvector_graphs() ORDER BY name;
SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) RETURN n.title ORDER BY n.title');
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_b', 'MATCH (n) RETURN n')$$);
SELECT gsec_try($$SELECT * FROM ruvector_cypher_rows('gsec_b', 'MATCH (n) RETURN n.title') AS (t text)$$);
SELECT gsec_try($$SELECT ruvector_cypher_sql('gsec_b', 'MATCH (n) RETURN n')$$);
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_a', 'CREATE (:Doc {title: ''r''})')$$);
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) SET n.title = ''r''')$$);
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) DETACH DELETE n')$$);
SELECT gsec_try($$SELECT ruvector_graph_add_node('gsec_a', 'Doc')$$);
SELECT gsec_try($$SELECT ruvector_graph_add_node('gsec_b', 'Doc')$$);
SELECT gsec_try($$INSERT INTO ruvector_graph_node (graph_id, label) SELECT graph_id, 'Doc' FROM ruvector_graph WHERE name = 'gsec_a'$$);
-- row-level security: an UPDATE or DELETE of rows it may not write touches none
SELECT gsec_try($$UPDATE ruvector_graph_node SET label = 'r'$$);
SELECT gsec_try($$DELETE FROM ruvector_graph_edge$$);
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_nobody', 'read')$$);
SELECT gsec_try($$SELECT ruvector_drop_graph('gsec_a')$$);
SELECT gsec_try($$SELECT ruvector_create_graph('gsec_r')$$);
SELECT gsec_try($$INSERT INTO ruvector_graph (name, owner) VALUES ('gsec_r', 'regress_gsec_reader')$$);
SELECT gsec_try($$SELECT * FROM ruvector_graph_grant$$);
SELECT gsec_try($$SELECT ruvector_graph_revoke('gsec_a', 'regress_gsec_writer', 'write')$$);
SELECT gsec_try($$SELECT ruvector_graph_vector_index('gsec_a', 'Doc', 'v', 3)$$);
RESET ROLE;

-- the writer: writes gsec_a by every path, nothing of gsec_b
SET ROLE regress_gsec_writer;
SELECT * FROM ruvector_cypher('gsec_a', $$CREATE (n:Doc {title: 'w1'}) RETURN n.title$$);
SELECT * FROM ruvector_cypher('gsec_a', $$MATCH (n:Doc {title: 'w1'}) SET n.by = 'writer' RETURN n.by$$);
SELECT ruvector_graph_add_node('gsec_a', 'Doc', '{"title": "w2"}') > 0 AS added;
SELECT ruvector_graph_add_edge('gsec_a', (SELECT min(id) FROM ruvector_nodes WHERE graph = 'gsec_a'),
	(SELECT max(id) FROM ruvector_nodes WHERE graph = 'gsec_a'), 'REFS') > 0 AS added_edge;
SELECT ruvector_graph_add_hyperedge('gsec_a', 'PAIR', ARRAY(SELECT id FROM ruvector_nodes WHERE graph = 'gsec_a' ORDER BY id LIMIT 2)) > 0 AS added_he;
SELECT gsec_try($$UPDATE ruvector_graph_node SET properties = properties || '{"seen": true}'$$);
SELECT * FROM ruvector_cypher('gsec_a', $$MATCH (n:Doc {title: 'w2'}) DETACH DELETE n$$);
SELECT gsec_seen('SELECT graph FROM ruvector_nodes') AS nodes_view;
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_b', 'CREATE (:Doc)')$$);
SELECT gsec_try($$SELECT ruvector_graph_add_node('gsec_b', 'Doc')$$);
SELECT gsec_try($$INSERT INTO ruvector_graph_node (graph_id, label) SELECT graph_id, 'Doc' FROM ruvector_graph WHERE name = 'gsec_a'$$);
SELECT gsec_try($$INSERT INTO ruvector_graph_node (graph_id, label) VALUES ((SELECT max(graph_id) + 1000 FROM ruvector_graph), 'Doc')$$);
SELECT gsec_try($$UPDATE ruvector_graph_node SET graph_id = graph_id + 1$$);
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_nobody', 'read')$$);
RESET ROLE;
-- gsec_b is untouched
SELECT * FROM ruvector_cypher('gsec_b', 'MATCH (n) RETURN n.title, n.seen ORDER BY n.title');

-- grants: checked arguments, revocation takes effect at once (even with the
-- graph lookup cached by this backend)
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_reader', 'owner')$$);
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_no_such_role', 'read')$$);
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_none', 'regress_gsec_reader', 'read')$$);
SELECT ruvector_graph_revoke('gsec_a', 'regress_gsec_reader', 'read');
SET ROLE regress_gsec_reader;
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) RETURN n')$$);
SELECT gsec_seen('SELECT graph FROM ruvector_nodes') AS nodes_view;
RESET ROLE;

-- a ruvector_admin that is not a superuser: creates, grants, reads every
-- graph, drops; the graph it creates is its own
SET ROLE regress_gsec_admin;
SELECT ruvector_create_graph('gsec_c');
SELECT * FROM ruvector_cypher('gsec_c', $$CREATE (:Doc {title: 'c1'})$$);
SELECT ruvector_graph_grant('gsec_c', 'regress_gsec_reader', 'read');
SELECT ruvector_graph_grant('gsec_b', 'regress_gsec_reader', 'read');
SELECT ruvector_graph_revoke('gsec_b', 'regress_gsec_reader', 'read');
SELECT gsec_seen('SELECT graph FROM ruvector_nodes') AS nodes_view;
SELECT g.name, g.owner FROM ruvector_graph g WHERE name = 'gsec_c';
SELECT ruvector_graph_vector_index('gsec_c', 'Doc', 'v', 3) LIKE 'ruvector_graph_%' AS indexed;
RESET ROLE;
SET ROLE regress_gsec_reader;
SELECT * FROM ruvector_cypher('gsec_c', 'MATCH (n) RETURN n.title');
RESET ROLE;
-- the owner keeps its graph without ruvector_admin; it may grant on it only
REVOKE ruvector_admin FROM regress_gsec_admin;
GRANT ruvector_user TO regress_gsec_admin;
SET ROLE regress_gsec_admin;
SELECT * FROM ruvector_cypher('gsec_c', $$CREATE (:Doc {title: 'c2'})$$);
SELECT ruvector_graph_grant('gsec_c', 'regress_gsec_writer', 'write');
SELECT gsec_try($$SELECT ruvector_graph_grant('gsec_a', 'regress_gsec_admin', 'read')$$);
SELECT gsec_try($$SELECT * FROM ruvector_cypher('gsec_a', 'MATCH (n) RETURN n')$$);
SELECT gsec_try($$SELECT ruvector_drop_graph('gsec_c')$$);
RESET ROLE;
GRANT ruvector_admin TO regress_gsec_admin;
SET ROLE regress_gsec_admin;
SELECT ruvector_drop_graph('gsec_c');
RESET ROLE;

-- the administrative calls are in the audit trail
SELECT event_type, payload - 'graph_id' AS payload FROM ruvector_audit_events
	WHERE event_type LIKE 'graph.%' AND payload ->> 'graph' LIKE 'gsec%' ORDER BY seq;

SELECT ruvector_drop_graph('gsec_a');
SELECT ruvector_drop_graph('gsec_b');
SELECT count(*) AS grants_left FROM ruvector_graph_grant;
DROP FUNCTION gsec_try(text);
DROP FUNCTION gsec_seen(text);
DROP ROLE regress_gsec_nobody, regress_gsec_reader, regress_gsec_writer, regress_gsec_limited,
	regress_gsec_admin;
