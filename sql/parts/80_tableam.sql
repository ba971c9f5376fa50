-- The ruvector_heap table access method: heap with vector columns kept
-- inline and moved between tier encodings (float32, float16, sq8, pq) in
-- place, by policy.  See docs/tableam.md.

CREATE FUNCTION ruvector_heap_handler(internal) RETURNS table_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD ruvector_heap TYPE TABLE HANDLER ruvector_heap_handler;
COMMENT ON ACCESS METHOD ruvector_heap IS 'heap with tiered, in-place compacted vector storage';

-- Tier policies, one per vector column.  relid is a regclass so that
-- pg_dump writes the table's name and a restore finds the new table.
CREATE TABLE ruvector_tier_policy (
	relid	regclass NOT NULL,
	attname	name NOT NULL,
	policy	jsonb NOT NULL,
	updated	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (relid, attname)
);

-- PQ codebooks: immutable rows, one per trained version.  Encoded values
-- name their codebook by id, so a row must stay while its table uses it.
CREATE SEQUENCE ruvector_codebooks_id_seq AS integer;
CREATE TABLE ruvector_codebooks (
	id				integer PRIMARY KEY,
	relid			regclass NOT NULL,
	attname			name NOT NULL,
	version			integer NOT NULL,
	dim				integer NOT NULL,
	m				integer NOT NULL,
	k				integer NOT NULL,
	rows_sampled	integer NOT NULL,
	created			timestamptz NOT NULL,
	centroids		bytea NOT NULL,
	rotation		bytea,			-- dim x dim float4 applied before PQ, or NULL
	norm_lo			real,			-- norm scale of the short PQ form, or NULL
	norm_hi			real,
	UNIQUE (relid, attname, version)
);

-- Both hold user configuration: pg_dump writes their rows.
SELECT pg_catalog.pg_extension_config_dump('ruvector_tier_policy', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_codebooks', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_codebooks_id_seq', '');

-- Written only through the functions below (which check the caller owns
-- the table).  Policies are readable by all; codebooks only by
-- ruvector_admin: their centroids are averages of the table's vectors, which
-- a role without SELECT on the table must not read.
REVOKE ALL ON ruvector_tier_policy, ruvector_codebooks FROM PUBLIC;
GRANT SELECT ON ruvector_tier_policy TO PUBLIC;
GRANT SELECT ON ruvector_codebooks TO ruvector_admin;
REVOKE ALL ON SEQUENCE ruvector_codebooks_id_seq FROM PUBLIC;

CREATE FUNCTION ruvector_set_tiers(tbl regclass, col name, policy jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_set_tiers(regclass, name, jsonb) IS 'set (or with NULL remove) the tier policy of a vector column of a ruvector_heap table';

CREATE FUNCTION ruvector_compact(tbl regclass,
		OUT blocks_scanned bigint, OUT blocks_moved bigint, OUT blocks_skipped bigint,
		OUT vectors_moved bigint, OUT bytes_freed bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_compact(regclass) IS 'move the blocks that their tier policy says are due into colder encodings, in place';

CREATE FUNCTION ruvector_tier_report(tbl regclass)
	RETURNS TABLE (tier text, blocks bigint, rows bigint, vector_bytes bigint,
				   compression_ratio float8, oldest_access timestamptz,
				   newest_access timestamptz)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_tier_report(regclass) IS 'blocks, rows, bytes and access times per vector tier of a ruvector_heap table';

CREATE FUNCTION ruvector_tier_verify(tbl regclass)
	RETURNS TABLE (blkno bigint, offnum integer, problem text)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_tier_verify(regclass) IS 'check the pages and encoded vectors of a ruvector_heap table; one row per problem';

-- Every qual is on pg_class alone, so it filters the rows before the
-- report function runs (which refuses other tables).  security_invoker: the
-- report runs with the querying role's rights, table by table; the view is
-- for the roles that may call the report (ruvector_operator and up).
CREATE VIEW ruvector_tiers WITH (security_invoker = true) AS
	SELECT c.oid::regclass AS table_name, r.*
	FROM pg_catalog.pg_class c
		CROSS JOIN LATERAL ruvector_tier_report(c.oid::regclass) r
	WHERE c.relam = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'ruvector_heap')
		AND c.relkind IN ('r', 'm')
		AND NOT pg_catalog.pg_is_other_temp_schema(c.relnamespace)
		AND pg_catalog.has_table_privilege(c.oid, 'SELECT');
COMMENT ON VIEW ruvector_tiers IS 'ruvector_tier_report of every ruvector_heap table the user can read';
REVOKE ALL ON ruvector_tiers FROM PUBLIC;
GRANT SELECT ON ruvector_tiers TO ruvector_operator;

-- Policies and codebooks of dropped tables and columns go with them.
CREATE FUNCTION ruvector_tableam_sql_drop() RETURNS event_trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE EVENT TRIGGER ruvector_tableam_sql_drop ON sql_drop
	EXECUTE FUNCTION ruvector_tableam_sql_drop();
