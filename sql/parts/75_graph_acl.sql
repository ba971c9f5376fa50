-- Graph privileges (src/graph/graph_acl.c): per-graph grants, the row-level
-- security policies that enforce them and the graph tables' privileges.
-- New in 0.2.0: the upgrade from 0.1.0 runs this same file (Makefile,
-- NEW_PARTS_0_2_0), after sql/updates/0.1.0--0.2.0/70_graph.sql has added
-- what it builds on (graph owners, security_invoker views).

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
