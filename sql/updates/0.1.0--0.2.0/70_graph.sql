-- Graphs (src/graph), 0.1.0 -> 0.2.0: graph owners, security_invoker views,
-- per-graph privileges through row-level security, table privileges, more
-- than one label per node.
-- The result must equal sql/parts/70_graph.sql of a fresh install.

-- Graphs made before owners existed belong to the extension's owner.
ALTER TABLE ruvector_graph ADD COLUMN owner regrole;
UPDATE ruvector_graph SET owner = (SELECT e.extowner FROM pg_catalog.pg_extension e
								   WHERE e.extname OPERATOR(pg_catalog.=) 'ruvector')::pg_catalog.regrole;
ALTER TABLE ruvector_graph ALTER COLUMN owner SET NOT NULL;

-- The views ran as their owner, past the tables' row-level security.
ALTER VIEW ruvector_nodes SET (security_invoker = true);
ALTER VIEW ruvector_edges SET (security_invoker = true);
ALTER VIEW ruvector_hyperedges SET (security_invoker = true);

-- Per-graph privileges (docs/graph.md, "Security").  A role reads a graph
-- as a member of ruvector_admin, of the graph's owner, or of a role granted
-- 'read' or 'write' on it here; it writes with ruvector_admin, the owner or
-- 'write'.  Row-level security policies on the graph tables enforce this
-- for every path (Cypher, the views, plain SQL); ruvector_graph_grant and
-- ruvector_graph_revoke (ruvector_admin or the graph's owner) change it.
CREATE TABLE ruvector_graph_grant (
	graph_id integer NOT NULL REFERENCES ruvector_graph ON DELETE CASCADE,
	grantee regrole NOT NULL,
	privilege text NOT NULL,
	PRIMARY KEY (graph_id, grantee, privilege),
	CONSTRAINT ruvector_graph_grant_privilege_check CHECK (privilege IN ('read', 'write'))
);
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_grant', '');

-- The graphs the current role may read or write: the policies' filter.
CREATE FUNCTION ruvector_graph_allowed(privilege text) RETURNS integer[]
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION ruvector_graph_grant(graph text, role name, privilege text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION ruvector_graph_revoke(graph text, role name, privilege text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;

-- The policies: the allowed ids are computed once per statement (a scalar
-- subquery), and the graph_id indexes serve "graph_id = ANY (...)".
-- Further limits of your own must be AS RESTRICTIVE policies: permissive
-- ones add to these.
ALTER TABLE ruvector_graph ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_graph_read ON ruvector_graph FOR SELECT
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('read'))::integer[]));

ALTER TABLE ruvector_graph_node ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_graph_node_read ON ruvector_graph_node FOR SELECT
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('read'))::integer[]));
CREATE POLICY ruvector_graph_node_write ON ruvector_graph_node FOR ALL
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('write'))::integer[]));

ALTER TABLE ruvector_graph_edge ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_graph_edge_read ON ruvector_graph_edge FOR SELECT
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('read'))::integer[]));
CREATE POLICY ruvector_graph_edge_write ON ruvector_graph_edge FOR ALL
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('write'))::integer[]));

ALTER TABLE ruvector_graph_hyperedge ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_graph_hyperedge_read ON ruvector_graph_hyperedge FOR SELECT
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('read'))::integer[]));
CREATE POLICY ruvector_graph_hyperedge_write ON ruvector_graph_hyperedge FOR ALL
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('write'))::integer[]));

-- members carry no graph id: theirs is their hyperedge's
ALTER TABLE ruvector_graph_hyperedge_member ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_graph_hyperedge_member_read ON ruvector_graph_hyperedge_member FOR SELECT
	USING (EXISTS (SELECT FROM ruvector_graph_hyperedge h
				   WHERE h.id OPERATOR(pg_catalog.=) hyperedge_id
					 AND h.graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('read'))::integer[])));
CREATE POLICY ruvector_graph_hyperedge_member_write ON ruvector_graph_hyperedge_member FOR ALL
	USING (EXISTS (SELECT FROM ruvector_graph_hyperedge h
				   WHERE h.id OPERATOR(pg_catalog.=) hyperedge_id
					 AND h.graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('write'))::integer[])));

ALTER TABLE ruvector_graph_vector_index ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_graph_vector_index_read ON ruvector_graph_vector_index FOR SELECT
	USING (graph_id OPERATOR(pg_catalog.=) ANY ((SELECT ruvector_graph_allowed('read'))::integer[]));

-- Table privileges: nothing for PUBLIC; ruvector_user reads and writes the
-- rows its graphs' policies let it; graphs, vector indexes and grants are
-- changed only through the functions (which run those changes as the
-- extension's owner); ruvector_admin may read the grants.
REVOKE ALL ON TABLE ruvector_graph, ruvector_graph_node, ruvector_graph_edge,
	ruvector_graph_hyperedge, ruvector_graph_hyperedge_member, ruvector_graph_vector_index,
	ruvector_graph_grant, ruvector_nodes, ruvector_edges, ruvector_hyperedges FROM PUBLIC;
REVOKE ALL ON SEQUENCE ruvector_graph_seq, ruvector_graph_entity_seq FROM PUBLIC;
GRANT SELECT ON TABLE ruvector_graph, ruvector_graph_vector_index,
	ruvector_nodes, ruvector_edges, ruvector_hyperedges TO ruvector_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ruvector_graph_node, ruvector_graph_edge,
	ruvector_graph_hyperedge, ruvector_graph_hyperedge_member TO ruvector_user;
GRANT USAGE ON SEQUENCE ruvector_graph_entity_seq TO ruvector_user;
GRANT SELECT ON TABLE ruvector_graph_grant TO ruvector_admin;

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
