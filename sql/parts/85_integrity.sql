-- The integrity control plane (src/integrity, docs/integrity.md): every
-- hnsw and ivfflat index measures its own connectivity, has a state
-- normal / stress / critical, and the operations on it consult the state.
-- New in 0.2.0: the upgrade from 0.1.0 runs this same file (Makefile, UPDATE_PARTS).

-- Policies by name (jsonb, validated by ruvector_integrity_policy_set), and
-- which table (index_name '') or index of a table uses which.  The table is
-- a regclass so that pg_dump writes its name and a restore finds the new
-- table; an index goes by its name within the table, because a dump loads
-- this data before it creates indexes.  Both are dumped with the database;
-- no foreign key between them (pg_dump does not order the data of extension
-- tables by one): the functions check that a policy exists when it is
-- attached and is not dropped while attached.
CREATE TABLE ruvector_integrity_policies (
	name		text PRIMARY KEY,
	policy		jsonb NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ruvector_integrity_attachments (
	target		regclass NOT NULL,
	index_name	name NOT NULL DEFAULT '',
	policy		text NOT NULL,
	PRIMARY KEY (target, index_name)
);
SELECT pg_catalog.pg_extension_config_dump('ruvector_integrity_policies', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_integrity_attachments', '');

-- One row per sampled index: its state, baseline, last sample, the state
-- machine's counters, and the decisions of its policy (9 letters, a t d r
-- for allow throttle defer reject, by state then class) that the gate uses
-- when the library is not preloaded.  Written only by the extension.
CREATE TABLE ruvector_integrity_state (
	index				regclass PRIMARY KEY,
	heap				regclass NOT NULL,
	kind				text NOT NULL,
	state				text NOT NULL CHECK (state IN ('normal', 'stress', 'critical')),
	baseline			float8,
	lambda_cut			float8,
	lambda2				float8,
	unreachable			bigint,
	since				timestamptz NOT NULL,
	sampled_at			timestamptz NOT NULL,
	samples				bigint NOT NULL,
	below				integer NOT NULL,
	above_stress		float8 NOT NULL,
	above_critical		float8 NOT NULL,
	last_transition		float8 NOT NULL,
	policy				text,
	actions				text NOT NULL,
	throttle_factor		real NOT NULL,
	throttle_delay_ms	integer NOT NULL,
	search_ef_factor	real NOT NULL,
	last_sample			jsonb,
	relfilenode			oid			-- of the sampled build: a new one resets the baseline
);
-- A role sees the states of the tables it may read.
ALTER TABLE ruvector_integrity_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY ruvector_integrity_state_readable ON ruvector_integrity_state
	FOR SELECT USING (pg_catalog.has_table_privilege(heap, 'SELECT'));

REVOKE ALL ON TABLE ruvector_integrity_policies, ruvector_integrity_attachments,
	ruvector_integrity_state FROM PUBLIC;
GRANT SELECT ON TABLE ruvector_integrity_policies, ruvector_integrity_attachments
	TO ruvector_operator;
GRANT SELECT ON TABLE ruvector_integrity_state TO ruvector_user;

CREATE VIEW ruvector_integrity WITH (security_invoker = true) AS
	SELECT s.index, s.heap AS "table", s.kind, s.state, s.lambda_cut, s.baseline,
		s.lambda2, s.unreachable, s.since, s.sampled_at, s.samples,
		COALESCE(s.policy, '(built-in)') AS policy
	FROM ruvector_integrity_state s;
REVOKE ALL ON TABLE ruvector_integrity FROM PUBLIC;
GRANT SELECT ON TABLE ruvector_integrity TO ruvector_user;

CREATE FUNCTION ruvector_integrity_sample(index regclass) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_sample(regclass) IS
	'measure the connectivity of an hnsw or ivfflat index (contracted graph, min cut, witness edges, lambda2) and update its integrity state';
CREATE FUNCTION ruvector_integrity_sample_operational() RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_sample_operational() IS
	'measure the operational scope (primary, standbys, background workers) and update its state';
CREATE FUNCTION ruvector_integrity_status(OUT scope text, OUT kind text, OUT state text,
		OUT lambda_cut float8, OUT baseline float8, OUT since timestamptz,
		OUT sampled_at timestamptz, OUT last_sample jsonb)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_status() IS
	'integrity state of every sampled index the caller may read, and of the operational scope';
CREATE FUNCTION ruvector_integrity_gate(op text, target regclass) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_gate(text, regclass) IS
	'what the integrity gate decides for an operation on a table or index now';
CREATE FUNCTION ruvector_integrity_policy_set(name text, policy jsonb) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_policy_set(text, jsonb) IS
	'create or replace an integrity policy (NULL policy: drop it); ''default'' applies where none is attached';
CREATE FUNCTION ruvector_integrity_policy_attach(target regclass, name text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_policy_attach(regclass, text) IS
	'use an integrity policy for an index or all indexes of a table (NULL name: detach; owner only)';
CREATE FUNCTION ruvector_integrity_repair(index regclass, rebuild boolean DEFAULT false) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_integrity_repair(regclass, boolean) IS
	'reconnect an hnsw index in place (and with rebuild => true rebuild it if rows stay unreachable; owner only), then sample it; its state returns to normal through the hysteresis';
