-- Graphs (src/graph), 0.1.0 -> 0.2.0: graph owners, security_invoker views,
-- more than one label per node.  With sql/parts/75_graph_acl.sql (per-graph
-- privileges, run as it is after this file) the result must equal
-- sql/parts/70_graph.sql and 75_graph_acl.sql of a fresh install.

-- Graphs made before owners existed belong to the extension's owner.
ALTER TABLE ruvector_graph ADD COLUMN owner regrole;
UPDATE ruvector_graph SET owner = (SELECT e.extowner FROM pg_catalog.pg_extension e
								   WHERE e.extname OPERATOR(pg_catalog.=) 'ruvector')::pg_catalog.regrole;
ALTER TABLE ruvector_graph ALTER COLUMN owner SET NOT NULL;

-- The views ran as their owner, past the tables' row-level security.
ALTER VIEW ruvector_nodes SET (security_invoker = true);
ALTER VIEW ruvector_edges SET (security_invoker = true);
ALTER VIEW ruvector_hyperedges SET (security_invoker = true);

-- Per-graph grants, their row-level security policies and the tables'
-- privileges are new in 0.2.0: sql/parts/75_graph_acl.sql, which the
-- upgrade runs as it is (Makefile, NEW_PARTS_0_2_0).

-- More than one label per node: label keeps the first (the label index and
-- the vector indexes' predicates stay on it), labels holds the others.
-- (added without a default and then filled, so that no "missing value" is
-- left in pg_attribute that a fresh install would not have)
ALTER TABLE ruvector_graph_node ADD COLUMN labels text[];
UPDATE ruvector_graph_node SET labels = '{}';
ALTER TABLE ruvector_graph_node ALTER COLUMN labels SET DEFAULT '{}',
	ALTER COLUMN labels SET NOT NULL;
ALTER TABLE ruvector_graph_node ADD CONSTRAINT ruvector_graph_node_labels_check
	CHECK ((label <> '' OR cardinality(labels) = 0) AND label <> ALL (labels));
CREATE INDEX ruvector_graph_node_labels_idx ON ruvector_graph_node USING gin (labels);
-- Nodes found by id through a hash index (traversals; see 70_graph.sql).
CREATE INDEX ruvector_graph_node_id_hash ON ruvector_graph_node USING hash (id);
CREATE OR REPLACE VIEW ruvector_nodes WITH (security_invoker = true) AS
	SELECT g.name AS graph, n.id, n.label, n.properties,
		pg_catalog.array_remove(pg_catalog.array_prepend(n.label, n.labels), '') AS labels
	FROM ruvector_graph_node n JOIN ruvector_graph g USING (graph_id);

-- Vector indexes made by 0.1.0 cover nodes whose label is the indexed one;
-- the Cypher planner now asks "first or further label", so each is made
-- again with that predicate (ruvector_graph_vector_index's, word for word),
-- keeping its name, method, expression and operator class.
DO $$
DECLARE
	r record;
	def text;
	pred text;
BEGIN
	FOR r IN
		SELECT v.graph_id, v.label, i.indexrelid,
			   pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
			   pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred
		FROM ruvector_graph_vector_index v
		JOIN pg_catalog.pg_class c ON c.relname OPERATOR(pg_catalog.=) v.index_name
		JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) c.oid
		WHERE i.indrelid OPERATOR(pg_catalog.=) 'ruvector_graph_node'::pg_catalog.regclass
		  AND i.indpred IS NOT NULL
	LOOP
		-- pg_get_indexdef is the definition, ' WHERE ', then the predicate
		def := pg_catalog.left(r.def, pg_catalog.length(r.def) - pg_catalog.length(r.pred) - 7);
		pred := pg_catalog.format('graph_id = %s AND (label = %L OR labels @> ARRAY[%L])',
								  r.graph_id, r.label, r.label);
		EXECUTE pg_catalog.format('DROP INDEX %s', r.indexrelid::pg_catalog.regclass);
		EXECUTE def OPERATOR(pg_catalog.||) ' WHERE ' OPERATOR(pg_catalog.||) pred;
	END LOOP;
END
$$;
