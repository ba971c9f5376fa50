-- RETURN n.key read in place (issue 16, the 2-hop benchmark): the final
-- SELECT carries n's properties object and the executor takes the key's
-- value from it, instead of "properties -> 'key'" building a jsonb that the
-- result unpacks again.  The rows must be exactly those of the value path:
-- every kind of value, missing keys, null nodes, the typed form, and what
-- keeps the value path (DISTINCT, aggregates, ORDER BY, UNION).  Row-level
-- security and per-graph grants still decide which nodes are read.
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT ruvector_create_graph('grp');
SELECT count(*) FROM ruvector_cypher('grp', $$
	CREATE (a:P {k: 1, s: 'text "q"', f: 2.5, b: true, l: [1, 'x', null], m: {x: {y: [2]}}, big: 9007199254740993, e: 1.5e-7}),
	       (b:P {k: 2, s: '', f: -0.0, b: false, l: [], m: {}}),
	       (c:P {k: 3}),
	       (a)-[:R {w: 7, tag: 'ab'}]->(b), (a)-[:R {w: 8}]->(c), (b)-[:R]->(c)$$);

-- the translation reads the properties object for a plain RETURN n.key ...
SELECT ruvector_cypher_sql('grp', 'MATCH (n:P)-[r:R]->(m) RETURN n.k, r.w, m.s')
	~ '^SELECT n\d+\.properties AS c1, e\d+\.properties AS c2, n\d+\.properties AS c3 FROM' AS in_place;
-- ... with the key named for a reader of the translation
SELECT regexp_replace(ruvector_cypher_sql('grp', 'MATCH (n:P) RETURN n.k, n.k + 1 AS k1, n.s'),
	' FROM .*?(\n|$)', ' FROM ...\1') AS annotated;
-- ... and the value where rows are compared or sorted by value
SELECT ruvector_cypher_sql('grp', q) ~ '->' AS by_value, q FROM unnest(ARRAY[
	'MATCH (n:P) RETURN DISTINCT n.k',
	'MATCH (n:P) RETURN n.k, count(*)',
	'MATCH (n:P) RETURN n.k ORDER BY n.k',
	'MATCH (n:P) RETURN n.k AS v UNION MATCH (m:P) RETURN m.k AS v',
	'MATCH (n:P) RETURN n.k AS v UNION ALL MATCH (m:P) RETURN m.k AS v',
	'MATCH (n:P) WITH n.k AS k RETURN k',
	'MATCH (n:P) CALL { WITH n RETURN n.k AS k } RETURN k']) q;

-- every kind of value, as "->" gives it: compared with the table itself
SELECT count(*) AS rows_from_cypher,
	count(*) FILTER (WHERE r = jsonb_build_object('n.k', n.properties -> 'k', 'n.s', n.properties -> 's',
		'n.f', n.properties -> 'f', 'n.b', n.properties -> 'b', 'n.l', n.properties -> 'l',
		'n.m', n.properties -> 'm', 'n.big', n.properties -> 'big', 'n.e', n.properties -> 'e', 'n.none', NULL)) AS same_as_table
FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k, n.s, n.f, n.b, n.l, n.m, n.big, n.e, n.none') r
JOIN ruvector_nodes n ON n.graph = 'grp' AND n.properties -> 'k' = r -> 'n.k';
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k, n.s, n.f, n.b, n.big, n.e, n.none') r ORDER BY r ->> 'n.k';
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.l, n.m, n.k') r ORDER BY r ->> 'n.k';
-- relationships, a value beside the key columns, SKIP / LIMIT
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P)-[r:R]->(m) RETURN n.k, r.w, r.tag, m.k, r.w + m.k AS sum') r
	ORDER BY r::text;
SELECT count(*) AS limited FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k SKIP 1 LIMIT 1');
-- a null node (OPTIONAL MATCH): its properties are null
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) OPTIONAL MATCH (n)-[:R]->(m {k: 3}) RETURN n.k, m.k, m.none') r
	ORDER BY r ->> 'n.k';
-- the same RETURN with the value path gives the same rows
SELECT (SELECT array_agg(r ORDER BY r::text) FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k, n.l, n.m') r) =
	(SELECT array_agg(r ORDER BY r::text) FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k, n.l, n.m ORDER BY n.k') r)
	AS same_rows;
-- the typed form converts the value as before
SELECT * FROM ruvector_cypher_rows('grp', 'MATCH (n:P) RETURN n.k, n.s, n.f, n.b, n.l, n.none')
	AS (k int, s text, f float8, b bool, l jsonb, none text) ORDER BY k;
SELECT * FROM ruvector_cypher_rows('grp', 'MATCH (n:P {k: 1}) RETURN n.l') AS (l text[]);
SELECT * FROM ruvector_cypher_rows('grp', 'MATCH (n:P {k: 1}) RETURN n.s') AS (s int);
-- after WITH and after a write, the carried node is read in place too
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) WITH n WHERE n.k > 1 RETURN n.k') r ORDER BY r::text;
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P {k: 3}) SET n.t = n.k * 10 RETURN n.t, n.k');
SELECT * FROM ruvector_cypher('grp', 'CREATE (x:P {k: 4, s: ''new''}) RETURN x.k, x.s');
-- a node deleted in the transaction is not read
BEGIN;
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P {k: 2}) DETACH DELETE n');
SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k') r ORDER BY r::text;
ROLLBACK;

-- A row of scalars is laid out directly as jsonb (ScalarObjectJsonb): the
-- value, jsonb's own reading of it (equality, hash, keys, lookups) and its
-- text agree, over 32 keys (the JEntry offset stride), numerics after keys
-- of every length mod 4, strings of several bytes per character
SELECT r = r::text::jsonb AS same_value, jsonb_hash(r) = jsonb_hash(r::text::jsonb) AS same_hash,
	(SELECT count(*) FROM jsonb_each(r)) AS keys,
	(SELECT bool_and(r -> k = (r::text::jsonb) -> k) FROM jsonb_object_keys(r) k) AS same_lookups,
	r ->> 'a' AS a, r ->> 'bcd' AS bcd, r -> 'x39' AS x39, r ->> 'é' AS e_acute
FROM ruvector_cypher('grp', 'MATCH (n:P {k: 1}) RETURN n.k AS a, n.s AS bc, n.f AS bcd, n.b AS bcde, n.big AS bcdef,
	n.none AS nn, ''日本'' AS `é`, 1 AS x1, 2.5 AS x2, true AS x3, null AS x4, ''s'' AS x5, 6 AS x6, 7 AS x7,
	8 AS x8, 9 AS x9, 10 AS x10, 11 AS x11, 12 AS x12, 13 AS x13, 14 AS x14, 15 AS x15, 16 AS x16,
	17 AS x17, 18 AS x18, 19 AS x19, 20 AS x20, 21 AS x21, 22 AS x22, 23 AS x23, 24 AS x24, 25 AS x25,
	26 AS x26, 27 AS x27, 28 AS x28, 29 AS x29, 30 AS x30, 31 AS x31, 32 AS x32, 33 AS x33, 34 AS x34,
	35 AS x35, 36 AS x36, 37 AS x37, 38 AS x38, -1.5e-3 AS x39') r;
SELECT r, r = r::text::jsonb AS same_value FROM ruvector_cypher('grp',
	'MATCH (n:P) RETURN n.k, n.b AS b, n.s AS sss, n.f AS ffff, '''' AS e, false AS f') r ORDER BY r::text;

-- the node a traversal reaches is found through the hash index on id
SELECT c.relname, a.amname, pg_get_indexdef(c.oid) ~ 'USING hash \(id\)' AS on_id
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'ruvector_graph_node_id_hash';
CREATE FUNCTION grp_plan(cypher text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || ruvector_cypher_sql('grp', cypher) LOOP
		IF line ~ 'ruvector_graph_node_(id_hash|pkey)' THEN
			RETURN NEXT regexp_replace(line, '\m(n|e)\d+\M', '\1', 'g');
		END IF;
	END LOOP;
END $$;
-- (on a graph of some size: in a few pages the btree is as short)
SELECT ruvector_create_graph('grp_fill');
INSERT INTO ruvector_graph_node (graph_id, label, properties)
	SELECT g.graph_id, 'F', jsonb_build_object('i', i) FROM ruvector_graph g, generate_series(1, 5000) i
	WHERE g.name = 'grp_fill';
ANALYZE ruvector_graph_node;
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
SELECT * FROM grp_plan('MATCH (p:P {k: 1})-[:R]->()-[:R]->(f) RETURN f.k');
COMMIT;
SELECT ruvector_drop_graph('grp_fill');
ANALYZE ruvector_graph_node;
DROP FUNCTION grp_plan(text);

-- ---------------------------------------------------------------------
-- privileges: no role, no grant, row-level security
-- ---------------------------------------------------------------------
CREATE ROLE regress_grp_nobody;
CREATE ROLE regress_grp_nogrant IN ROLE ruvector_user;
CREATE ROLE regress_grp_reader IN ROLE ruvector_user;
SELECT ruvector_graph_grant('grp', 'regress_grp_reader', 'read');
-- the DBA hides the node k = 3 from the reader
CREATE POLICY grp_hide ON ruvector_graph_node AS RESTRICTIVE TO regress_grp_reader
	USING (properties -> 'k' IS DISTINCT FROM '3');
CREATE FUNCTION grp_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE 'SELECT string_agg(x::text, '' '' ORDER BY x::text) FROM (' || sql || ') s(x)' INTO r;
	RETURN coalesce(r, '(none)');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SET ROLE regress_grp_nobody;
SELECT grp_try($$SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k')$$) AS nobody;
SELECT grp_try($$SELECT * FROM ruvector_cypher_rows('grp', 'MATCH (n:P) RETURN n.k') AS (k int)$$) AS nobody_rows;
RESET ROLE;
SET ROLE regress_grp_nogrant;
SELECT grp_try($$SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k')$$) AS no_grant;
RESET ROLE;
SET ROLE regress_grp_reader;
SELECT grp_try($$SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P) RETURN n.k')$$) AS reader;
SELECT grp_try($$SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P)-[:R]->()-[:R]->(f) RETURN f.k')$$) AS reader_2hop;
SELECT grp_try($$SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P)-[r:R]->(f) RETURN r.w, f.k')$$) AS reader_1hop;
SELECT grp_try($$SELECT * FROM ruvector_cypher_rows('grp', 'MATCH (n:P)-[:R]->(f) RETURN f.k') AS (k int)$$) AS reader_rows;
RESET ROLE;
-- the superuser sees the hidden node
SELECT grp_try($$SELECT * FROM ruvector_cypher('grp', 'MATCH (n:P)-[:R]->()-[:R]->(f) RETURN f.k')$$) AS superuser_2hop;

DROP POLICY grp_hide ON ruvector_graph_node;
DROP FUNCTION grp_try(text);
SELECT ruvector_drop_graph('grp');
DROP ROLE regress_grp_nobody, regress_grp_nogrant, regress_grp_reader;
