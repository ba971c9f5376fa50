-- Property graphs and Cypher (src/graph).
--
-- Storage: ordinary WAL-logged tables in the extension's schema, so graphs
-- are crash-safe, replicated, transactional and dumped like any data
-- (pg_extension_config_dump).  Ids come from one sequence and never change.
-- The views are the supported read interface for SQL joins; the Cypher
-- executor reads and writes the tables directly.

CREATE SEQUENCE ruvector_graph_seq AS integer;
CREATE SEQUENCE ruvector_graph_entity_seq AS bigint;

CREATE TABLE ruvector_graph (
	graph_id integer PRIMARY KEY DEFAULT nextval('ruvector_graph_seq'),
	name text NOT NULL UNIQUE,
	created timestamptz NOT NULL DEFAULT now(),
	-- the role that created it: it may read, write and grant the graph
	owner regrole NOT NULL,
	CONSTRAINT ruvector_graph_name_check CHECK (name <> '')
);

CREATE TABLE ruvector_graph_node (
	id bigint PRIMARY KEY DEFAULT nextval('ruvector_graph_entity_seq'),
	graph_id integer NOT NULL REFERENCES ruvector_graph,
	-- the first label ('' for none) and the others, each once
	label text NOT NULL DEFAULT '',
	properties jsonb NOT NULL DEFAULT '{}',
	labels text[] NOT NULL DEFAULT '{}',
	CONSTRAINT ruvector_graph_node_properties_check CHECK (jsonb_typeof(properties) = 'object'),
	CONSTRAINT ruvector_graph_node_labels_check
		CHECK ((label <> '' OR cardinality(labels) = 0) AND label <> ALL (labels))
);
-- MATCH (n:Label): by graph and first label, or by further label;
-- MATCH (n {key: value}): containment.
CREATE INDEX ruvector_graph_node_label_idx ON ruvector_graph_node (graph_id, label);
CREATE INDEX ruvector_graph_node_labels_idx ON ruvector_graph_node USING gin (labels);
CREATE INDEX ruvector_graph_node_properties_idx ON ruvector_graph_node
	USING gin (properties jsonb_path_ops);
-- A traversal finds each node it reaches by id: through a hash index that
-- is one bucket page, where the primary key's btree descends two or three
-- levels with a comparison call per step (a fifth of a 2-hop query's
-- instructions, bench/RESULTS.md).
CREATE INDEX ruvector_graph_node_id_hash ON ruvector_graph_node USING hash (id);

CREATE TABLE ruvector_graph_edge (
	id bigint PRIMARY KEY DEFAULT nextval('ruvector_graph_entity_seq'),
	graph_id integer NOT NULL REFERENCES ruvector_graph,
	type text NOT NULL,
	start_id bigint NOT NULL REFERENCES ruvector_graph_node,
	end_id bigint NOT NULL REFERENCES ruvector_graph_node,
	properties jsonb NOT NULL DEFAULT '{}',
	CONSTRAINT ruvector_graph_edge_type_check CHECK (type <> ''),
	CONSTRAINT ruvector_graph_edge_properties_check CHECK (jsonb_typeof(properties) = 'object')
);
-- Traversal in both directions; the other end and the id are in the index
-- so an expansion step is an index-only probe when the heap is all-visible.
CREATE INDEX ruvector_graph_edge_out_idx ON ruvector_graph_edge (start_id, type)
	INCLUDE (end_id, id);
CREATE INDEX ruvector_graph_edge_in_idx ON ruvector_graph_edge (end_id, type)
	INCLUDE (start_id, id);
CREATE INDEX ruvector_graph_edge_type_idx ON ruvector_graph_edge (graph_id, type);
CREATE INDEX ruvector_graph_edge_properties_idx ON ruvector_graph_edge
	USING gin (properties jsonb_path_ops);

CREATE TABLE ruvector_graph_hyperedge (
	id bigint PRIMARY KEY DEFAULT nextval('ruvector_graph_entity_seq'),
	graph_id integer NOT NULL REFERENCES ruvector_graph,
	type text NOT NULL,
	properties jsonb NOT NULL DEFAULT '{}',
	CONSTRAINT ruvector_graph_hyperedge_type_check CHECK (type <> ''),
	CONSTRAINT ruvector_graph_hyperedge_properties_check CHECK (jsonb_typeof(properties) = 'object')
);
CREATE INDEX ruvector_graph_hyperedge_type_idx ON ruvector_graph_hyperedge (graph_id, type);

-- One row per member; position keeps the order the members were given in.
CREATE TABLE ruvector_graph_hyperedge_member (
	hyperedge_id bigint NOT NULL REFERENCES ruvector_graph_hyperedge ON DELETE CASCADE,
	position integer NOT NULL,
	node_id bigint NOT NULL REFERENCES ruvector_graph_node,
	role text,
	PRIMARY KEY (hyperedge_id, position)
);
CREATE INDEX ruvector_graph_hyperedge_member_node_idx
	ON ruvector_graph_hyperedge_member (node_id) INCLUDE (hyperedge_id);

-- Vector indexes on node properties, made by ruvector_graph_vector_index();
-- the Cypher planner ranks with the indexed expression when one matches.
CREATE TABLE ruvector_graph_vector_index (
	graph_id integer NOT NULL REFERENCES ruvector_graph,
	label text NOT NULL,
	property text NOT NULL,
	metric text NOT NULL,
	dimensions integer NOT NULL,
	index_name text NOT NULL,
	PRIMARY KEY (graph_id, label, property, metric)
);

SELECT pg_catalog.pg_extension_config_dump('ruvector_graph', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_node', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_edge', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_hyperedge', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_hyperedge_member', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_vector_index', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_graph_entity_seq', '');

-- Relations for SQL: stable ids, joinable with application tables.  They run
-- with the querying role's rights (security_invoker), so the tables'
-- row-level security and per-graph privileges hold through them.
CREATE VIEW ruvector_nodes WITH (security_invoker = true) AS
	SELECT g.name AS graph, n.id, n.label, n.properties,
		pg_catalog.array_remove(pg_catalog.array_prepend(n.label, n.labels), '') AS labels
	FROM ruvector_graph_node n JOIN ruvector_graph g USING (graph_id);

CREATE VIEW ruvector_edges WITH (security_invoker = true) AS
	SELECT g.name AS graph, e.id, e.type, e.start_id, e.end_id, e.properties
	FROM ruvector_graph_edge e JOIN ruvector_graph g USING (graph_id);

CREATE VIEW ruvector_hyperedges WITH (security_invoker = true) AS
	SELECT g.name AS graph, h.id, h.type,
		ARRAY(SELECT m.node_id FROM ruvector_graph_hyperedge_member m
			  WHERE m.hyperedge_id = h.id ORDER BY m.position) AS node_ids,
		ARRAY(SELECT m.role FROM ruvector_graph_hyperedge_member m
			  WHERE m.hyperedge_id = h.id ORDER BY m.position) AS roles,
		h.properties
	FROM ruvector_graph_hyperedge h JOIN ruvector_graph g USING (graph_id);

-- Catalog functions
CREATE FUNCTION ruvector_create_graph(name text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION ruvector_drop_graph(name text, if_exists boolean DEFAULT false) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION ruvector_graphs(OUT name text, OUT nodes bigint, OUT edges bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT;

CREATE FUNCTION ruvector_graph_add_node(graph text, label text DEFAULT '',
		properties jsonb DEFAULT '{}') RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
CREATE FUNCTION ruvector_graph_add_edge(graph text, start_id bigint, end_id bigint,
		type text, properties jsonb DEFAULT '{}') RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
CREATE FUNCTION ruvector_graph_add_hyperedge(graph text, type text, node_ids bigint[],
		properties jsonb DEFAULT '{}', roles text[] DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
CREATE FUNCTION ruvector_graph_vector_index(graph text, label text, property text,
		dimensions integer, metric text DEFAULT 'l2', method text DEFAULT 'hnsw')
	RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;

-- Backends cache the graph lookup of Cypher queries; a change to these
-- tables' rows makes every backend forget it.
CREATE FUNCTION ruvector_graph_catalog_changed() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE TRIGGER ruvector_graph_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ruvector_graph
	FOR EACH STATEMENT EXECUTE FUNCTION ruvector_graph_catalog_changed();
CREATE TRIGGER ruvector_graph_vector_index_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ruvector_graph_vector_index
	FOR EACH STATEMENT EXECUTE FUNCTION ruvector_graph_catalog_changed();

-- Cypher: one jsonb object per row (keys are the RETURN names) ...
CREATE FUNCTION ruvector_cypher(graph text, query text, params jsonb DEFAULT NULL)
	RETURNS SETOF jsonb
	AS 'MODULE_PATHNAME', 'ruvector_cypher' LANGUAGE C VOLATILE;
-- ... or typed columns: SELECT * FROM ruvector_cypher_rows(...) AS (name text, n float8)
CREATE FUNCTION ruvector_cypher_rows(graph text, query text, params jsonb DEFAULT NULL)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ruvector_cypher_rows' LANGUAGE C VOLATILE;
-- The SQL a Cypher query is translated to (one statement per step).
CREATE FUNCTION ruvector_cypher_sql(graph text, query text, params jsonb DEFAULT NULL)
	RETURNS text
	AS 'MODULE_PATHNAME', 'ruvector_cypher_sql' LANGUAGE C VOLATILE;

-- Helpers the translated SQL calls: Cypher's value semantics on jsonb.
CREATE FUNCTION ruvector_cy_lt(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_le(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_gt(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_ge(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_eq(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_in(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_starts(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_ends(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_contains(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_regex(jsonb, jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_bool(jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_arith(integer, jsonb, jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_neg(jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_index(jsonb, jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_slice(jsonb, jsonb, jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_fn(integer, VARIADIC jsonb[]) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_float(float8) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_vector(jsonb) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_ids(jsonb) RETURNS bigint[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ruvector_cy_smaller(jsonb, jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_larger(jsonb, jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_sum_step(jsonb, jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_cy_min(jsonb) (
	SFUNC = ruvector_cy_smaller, STYPE = jsonb, COMBINEFUNC = ruvector_cy_smaller,
	PARALLEL = SAFE
);
CREATE AGGREGATE ruvector_cy_max(jsonb) (
	SFUNC = ruvector_cy_larger, STYPE = jsonb, COMBINEFUNC = ruvector_cy_larger,
	PARALLEL = SAFE
);
CREATE AGGREGATE ruvector_cy_sum(jsonb) (
	SFUNC = ruvector_cy_sum_step, STYPE = jsonb, INITCOND = '0',
	COMBINEFUNC = ruvector_cy_sum_step, PARALLEL = SAFE
);

-- Shortest paths: breadth-first search over the edge indexes.
CREATE FUNCTION ruvector_cy_shortest(start_id bigint, target_id bigint, types text[],
		direction integer, min_hops integer, max_hops integer, all_paths boolean,
		OUT node_ids bigint[], OUT edge_ids bigint[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE;
CREATE FUNCTION ruvector_cy_prop(jsonb, text) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_props(jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cy_aslist(jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
