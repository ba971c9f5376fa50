-- Graph storage: catalog functions, SQL-level insertion, views, joins with
-- ordinary tables, transactions.  Ids come from a sequence shared with other
-- tests, so results show properties and id differences, never raw ids.

-- errors whose message holds an id are shown with the id masked
CREATE FUNCTION gs_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END $$;

SELECT ruvector_create_graph('gs');
SELECT ruvector_create_graph('gs');
SELECT ruvector_create_graph('');
SELECT ruvector_create_graph(repeat('x', 64));
SELECT ruvector_create_graph(NULL);

-- nodes: label defaults to '', a null property is an absent one
SELECT ruvector_graph_add_node('gs', 'Product', '{"sku": "A-1", "price": 10, "gone": null}') AS p1 \gset
SELECT ruvector_graph_add_node('gs', 'Product', '{"sku": "B-2", "price": 25.5}') AS p2 \gset
SELECT ruvector_graph_add_node('gs', 'Customer', '{"name": "ann"}') AS c1 \gset
SELECT ruvector_graph_add_node('gs') AS blank \gset
SELECT label, properties FROM ruvector_nodes WHERE graph = 'gs' ORDER BY id;
SELECT ruvector_graph_add_node('gs', 'Product', '[1, 2]');
SELECT ruvector_graph_add_node('gs', 'Product', '"text"');
SELECT ruvector_graph_add_node('nope', 'Product', '{}');
SELECT ruvector_graph_add_node(NULL, 'Product', '{}');

-- edges: both ends must be nodes of the same graph
SELECT ruvector_graph_add_edge('gs', :c1, :p1, 'BOUGHT', '{"qty": 2}') AS e1 \gset
SELECT ruvector_graph_add_edge('gs', :c1, :p2, 'BOUGHT') AS e2 \gset
SELECT type, start_id = :c1 AS from_ann, end_id - :p1 AS to_offset, properties
	FROM ruvector_edges WHERE graph = 'gs' ORDER BY id;
SELECT gs_try(format('SELECT ruvector_graph_add_edge(%L, %s, -1, %L)', 'gs', :c1, 'BOUGHT'));
SELECT ruvector_graph_add_edge('gs', :c1, NULL, 'BOUGHT');
SELECT ruvector_graph_add_edge('gs', :c1, :p1, '');
SELECT ruvector_graph_add_edge('gs', :c1, :p1, NULL);

-- a node of another graph cannot be an edge's end
SELECT ruvector_create_graph('gs_other');
SELECT ruvector_graph_add_node('gs_other', 'X') AS x1 \gset
SELECT gs_try(format('SELECT ruvector_graph_add_edge(%L, %s, %s, %L)', 'gs', :c1, :x1, 'BOUGHT'));

-- hyperedges: any number of members, in order, with optional roles
SELECT ruvector_graph_add_hyperedge('gs', 'ORDER', ARRAY[:c1, :p1, :p2]::bigint[],
	'{"total": 35.5}', ARRAY['buyer', 'item', 'item']) AS h1 \gset
SELECT type, cardinality(node_ids) AS members, node_ids[1] = :c1 AS first_is_ann, roles, properties
	FROM ruvector_hyperedges WHERE graph = 'gs';
SELECT ruvector_graph_add_hyperedge('gs', 'ORDER', ARRAY[]::bigint[]);
SELECT ruvector_graph_add_hyperedge('gs', 'ORDER', ARRAY[:c1]::bigint[], '{}', ARRAY['a', 'b']);
SELECT gs_try(format('SELECT ruvector_graph_add_hyperedge(%L, %L, ARRAY[%s, %s]::bigint[])', 'gs', 'ORDER', :c1, :x1));
SELECT ruvector_graph_add_hyperedge('gs', 'ORDER', ARRAY[:c1, NULL]::bigint[]);
SELECT ruvector_graph_add_hyperedge('gs', '', ARRAY[:c1]::bigint[]);

SELECT * FROM ruvector_graphs() WHERE name LIKE 'gs%';

-- joins with application tables through the views
CREATE TABLE gs_stock (sku text PRIMARY KEY, warehouse text);
INSERT INTO gs_stock VALUES ('A-1', 'north'), ('B-2', 'south'), ('C-3', 'east');
SELECT s.sku, s.warehouse, n.properties->>'price' AS price
	FROM gs_stock s JOIN ruvector_nodes n
		ON n.graph = 'gs' AND n.label = 'Product' AND n.properties->>'sku' = s.sku
	ORDER BY s.sku;
-- who bought what, as plain SQL over the edge view
SELECT c.properties->>'name' AS customer, p.properties->>'sku' AS sku, e.properties->>'qty' AS qty
	FROM ruvector_edges e
	JOIN ruvector_nodes c ON c.id = e.start_id
	JOIN ruvector_nodes p ON p.id = e.end_id
	WHERE e.graph = 'gs' AND e.type = 'BOUGHT'
	ORDER BY sku;
-- property containment and traversal use the extension's indexes
SET enable_seqscan = off;
-- (GIN has only bitmap scans; without plain index scans the planner cannot
-- walk the label index instead, which it may on a table this small)
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ruvector_nodes WHERE properties @> '{"sku": "A-1"}';
RESET enable_indexscan;
-- on a table this small a bitmap scan and an index scan cost about the
-- same, so the choice between them would depend on the statistics of the
-- moment: only plain index scans, which name the index just as well
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT end_id FROM ruvector_graph_edge WHERE start_id = 1 AND type = 'BOUGHT';
EXPLAIN (COSTS OFF) SELECT start_id FROM ruvector_graph_edge WHERE end_id = 1;
RESET enable_bitmapscan;
RESET enable_seqscan;

-- graph writes are transactional
BEGIN;
SELECT ruvector_graph_add_node('gs', 'Product', '{"sku": "Z-9"}') IS NOT NULL AS added;
SELECT count(*) FROM ruvector_nodes WHERE graph = 'gs';
ROLLBACK;
SELECT count(*) FROM ruvector_nodes WHERE graph = 'gs';
BEGIN;
SELECT ruvector_drop_graph('gs');
SELECT count(*) FROM ruvector_graphs() WHERE name = 'gs';
ROLLBACK;
SELECT * FROM ruvector_graphs() WHERE name = 'gs';

-- drop: everything of the graph goes, other graphs stay
SELECT ruvector_drop_graph('gs');
SELECT count(*) FROM ruvector_nodes WHERE graph = 'gs';
SELECT count(*) FROM ruvector_graph_hyperedge_member m
	WHERE NOT EXISTS (SELECT 1 FROM ruvector_graph_hyperedge h WHERE h.id = m.hyperedge_id);
SELECT * FROM ruvector_graphs() WHERE name LIKE 'gs%';
SELECT ruvector_drop_graph('gs');
SELECT ruvector_drop_graph('gs', if_exists => true);
SELECT ruvector_drop_graph('gs_other');
DROP TABLE gs_stock;
DROP FUNCTION gs_try(text);
