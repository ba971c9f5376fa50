-- ruvector_heap, tiers and the index functions under the roles (issue 12):
-- every argument a caller can get wrong is refused with its SQLSTATE (never
-- XX000), administrative functions check that the caller owns the table on
-- top of the role, ruvector_tiers works for the roles that may report,
-- no name in the SQL the extension runs can be taken over through
-- search_path, and the administrative calls leave audit events.
-- (Named tier_security so that it runs after tableam_tiers, which expects
-- the first PQ codebook ids of the database.)
\set VERBOSITY sqlstate
SELECT coalesce(max(seq), 0) AS audit_base FROM ruvector_audit_events \gset

CREATE TABLE sec_t (id int PRIMARY KEY, v vector(4), h halfvec(4), note text) USING ruvector_heap;
INSERT INTO sec_t SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector, ARRAY[i, 1, 2, 3]::real[]::halfvec, 'n'
FROM generate_series(1, 300) i;
CREATE INDEX sec_t_hnsw ON sec_t USING hnsw (v vector_l2_ops);
CREATE INDEX sec_t_ivf ON sec_t USING ivfflat (v vector_l2_ops) WITH (lists = 2);
CREATE VIEW sec_view AS SELECT * FROM sec_t;
CREATE SEQUENCE sec_seq;
CREATE TABLE sec_plain (id int, v vector(4));
CREATE TABLE sec_part (id int, v vector(4)) PARTITION BY RANGE (id);
CREATE TABLE sec_part1 PARTITION OF sec_part FOR VALUES FROM (0) TO (1000) USING ruvector_heap;
CREATE INDEX sec_part_hnsw ON sec_part USING hnsw (v vector_l2_ops);
CREATE INDEX sec_part_ivf ON sec_part USING ivfflat (v vector_l2_ops) WITH (lists = 1);
ALTER TABLE sec_t ADD COLUMN gone vector(4);
ALTER TABLE sec_t DROP COLUMN gone;

-- Arguments: OID 0 and an OID that names nothing (42P01, naming the OID)
SELECT ruvector_set_tiers(0, 'v', '{}');
SELECT ruvector_set_tiers(4000000000, 'v', '{}');
SELECT * FROM ruvector_compact(0);
SELECT * FROM ruvector_tier_report(0);
SELECT * FROM ruvector_tier_verify(0);
SELECT * FROM ruvector_tier_space(0);
SELECT * FROM ruvector_tier_plan(0);
SELECT ruvector_ivf_refresh(0);
SELECT * FROM ruvector_ivf_stats(0);
SELECT * FROM ruvector_hnsw_verify(0);
-- NULLs: set_tiers refuses a NULL table or column (22004); the others are
-- strict (NULL in, no row out)
SELECT ruvector_set_tiers(NULL, 'v', '{}');
SELECT ruvector_set_tiers('sec_t', NULL, '{}');
SELECT count(*) FROM ruvector_compact(NULL);
SELECT count(*) FROM ruvector_tier_report(NULL);
SELECT count(*) FROM ruvector_tier_verify(NULL);
SELECT ruvector_ivf_refresh(NULL);
SELECT count(*) FROM ruvector_ivf_stats(NULL);
SELECT count(*) FROM ruvector_hnsw_verify(NULL);
-- other kinds of relation (42809): a view, a sequence, an index, a
-- partitioned table, a plain heap table
SELECT ruvector_set_tiers('sec_view', 'v', '{}');
SELECT * FROM ruvector_compact('sec_seq');
SELECT * FROM ruvector_tier_report('sec_t_hnsw');
SELECT * FROM ruvector_tier_verify('sec_part');
SELECT * FROM ruvector_tier_space('sec_part');
SELECT * FROM ruvector_tier_space('sec_plain');
SELECT * FROM ruvector_tier_plan('sec_part');
SELECT * FROM ruvector_compact('sec_plain');
SELECT ruvector_set_tiers('sec_part', 'v', '{}');
-- the index functions: a table, an index of the other method, a
-- partitioned index
SELECT ruvector_ivf_refresh('sec_t');
SELECT ruvector_ivf_refresh('sec_t_hnsw');
SELECT * FROM ruvector_ivf_stats('sec_t_pkey');
SELECT ruvector_ivf_refresh('sec_part_ivf');
SELECT * FROM ruvector_hnsw_verify('sec_view');
SELECT * FROM ruvector_hnsw_verify('sec_t_ivf');
SELECT * FROM ruvector_hnsw_verify('sec_part_hnsw');
SELECT count(*) FROM ruvector_hnsw_verify('sec_t_hnsw');
-- the messages name the value and say what is wrong
\set VERBOSITY default
SELECT ruvector_set_tiers(0, 'v', '{}');
SELECT * FROM ruvector_compact('sec_view');
SELECT * FROM ruvector_tier_report('sec_part');
SELECT * FROM ruvector_tier_verify('sec_plain');
SELECT ruvector_ivf_refresh('sec_t_hnsw');
SELECT * FROM ruvector_hnsw_verify('sec_part_hnsw');
\set VERBOSITY sqlstate
-- an index left invalid (and empty) by a failed CREATE INDEX CONCURRENTLY
CREATE FUNCTION sec_boom(vector) RETURNS vector IMMUTABLE LANGUAGE plpgsql
	AS $$ BEGIN IF $1[1] > 150 THEN RAISE 'boom'; END IF; RETURN $1; END $$;
CREATE INDEX CONCURRENTLY sec_t_bad_hnsw ON sec_t USING hnsw ((sec_boom(v)) vector_l2_ops);
CREATE INDEX CONCURRENTLY sec_t_bad_ivf ON sec_t USING ivfflat ((sec_boom(v)) vector_l2_ops) WITH (lists = 2);
SELECT * FROM ruvector_hnsw_verify('sec_t_bad_hnsw');
SELECT * FROM ruvector_ivf_stats('sec_t_bad_ivf');
SELECT ruvector_ivf_refresh('sec_t_bad_ivf');
DROP INDEX sec_t_bad_hnsw, sec_t_bad_ivf;
DROP FUNCTION sec_boom(vector);
-- columns: missing, dropped, not a vector, halfvec, a system column
SELECT ruvector_set_tiers('sec_t', 'nope', '{}');
SELECT ruvector_set_tiers('sec_t', '........pg.dropped.5........', '{}');
SELECT ruvector_set_tiers('sec_t', 'note', '{}');
SELECT ruvector_set_tiers('sec_t', 'h', '{}');
SELECT ruvector_set_tiers('sec_t', 'ctid', '{}');
-- thresholds and integers out of range say so and name the limit (22023)
\set VERBOSITY default
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {"after_write": 1e300}}');
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {"after_read": 9223372036855}}');
SELECT ruvector_set_tiers('sec_t', 'v', '{"exactness": "sq8", "sq8": {"after_write": 9223372036854}}') IS NOT NULL AS at_limit;
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {"after_write": "-1 day"}}');
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {"after_write": -0.5}}');
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {"max_reads": 1e20}}');
SELECT ruvector_set_tiers('sec_t', 'v', '{"pq": {"k": 99999999999}}');
\set VERBOSITY sqlstate
SELECT ruvector_set_tiers('sec_t', 'v', NULL);

-- Ownership on top of the roles (42501): an admin who does not own the
-- table may not set its policy, an operator may not compact or refresh it
CREATE ROLE regress_sec_admin IN ROLE ruvector_admin;
CREATE ROLE regress_sec_op IN ROLE ruvector_operator;
CREATE ROLE regress_sec_owner IN ROLE ruvector_operator;
CREATE ROLE regress_sec_nobody;
GRANT SELECT ON sec_t TO regress_sec_admin, regress_sec_op, regress_sec_nobody;
SET ROLE regress_sec_admin;
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {}}');
SELECT * FROM ruvector_compact('sec_t');
SELECT ruvector_ivf_refresh('sec_t_ivf');
SELECT count(*) FROM ruvector_tier_report('sec_t');
RESET ROLE;
SET ROLE regress_sec_op;
SELECT ruvector_set_tiers('sec_t', 'v', '{"sq8": {}}');
SELECT * FROM ruvector_compact('sec_t');
SELECT ruvector_ivf_refresh('sec_t_ivf');
SELECT count(*) FROM ruvector_hnsw_verify('sec_t_hnsw');
RESET ROLE;
-- codebooks (averages of a table's vectors) are for ruvector_admin only
SET ROLE regress_sec_nobody;
SELECT count(*) FROM ruvector_codebooks;
SELECT count(*) FROM ruvector_tier_space('sec_t');
SELECT count(*) FROM ruvector_tier_plan('sec_t');
SELECT count(*) FROM ruvector_tier_progress();
SELECT count(*) FROM ruvector_tier_progress;
SELECT count(*) FROM ruvector_tier_history;
SELECT count(*) >= 0 AS policies_readable FROM ruvector_tier_policy;
RESET ROLE;
SET ROLE regress_sec_op;
SELECT count(*) FROM ruvector_codebooks;
RESET ROLE;
SET ROLE regress_sec_admin;
SELECT count(*) >= 0 AS admin_reads_codebooks FROM ruvector_codebooks;
SELECT blocks > 0 AS has_blocks, file_bytes = blocks * 8192 AS file_bytes_ok,
	read_ahead IN ('io_uring', 'prefetch') AS read_ahead_named FROM ruvector_tier_space('sec_t');
SELECT count(*) >= 0 AS plan_readable FROM ruvector_tier_plan('sec_t');
SELECT count(*) AS passes_running FROM ruvector_tier_progress;
SELECT count(*) >= 0 AS history_readable FROM ruvector_tier_history;
SET ruvector.io_method = off;
SELECT read_ahead FROM ruvector_tier_space('sec_t');
RESET ruvector.io_method;
RESET ROLE;
-- without SELECT on the table an operator gets no report and no verify
REVOKE SELECT ON sec_t FROM regress_sec_op;
SET ROLE regress_sec_op;
SELECT count(*) FROM ruvector_tier_report('sec_t');
SELECT count(*) FROM ruvector_tier_verify('sec_t');
SELECT count(*) FROM ruvector_tier_space('sec_t');
SELECT count(*) FROM ruvector_tier_plan('sec_t');
SELECT count(*) FROM ruvector_hnsw_verify('sec_t_hnsw');
SELECT count(*) FROM ruvector_ivf_stats('sec_t_ivf');
RESET ROLE;

-- ruvector_tiers: refused to a role without ruvector roles, the table's
-- owner (an operator) sees its tables, another operator only the tables
-- it may read
CREATE UNLOGGED TABLE sec_owned (id int, v vector(2)) USING ruvector_heap;
INSERT INTO sec_owned VALUES (1, '[1,2]');
ALTER TABLE sec_owned OWNER TO regress_sec_owner;
SET ROLE regress_sec_nobody;
SELECT count(*) FROM ruvector_tiers;
RESET ROLE;
SET ROLE regress_sec_owner;
SELECT table_name, tier, rows FROM ruvector_tiers ORDER BY 1, 2;
SELECT ruvector_set_tiers('sec_owned', 'v', '{"float16": {}}') IS NOT NULL AS owner_sets_policy_needs_admin;
RESET ROLE;
GRANT SELECT ON sec_owned TO regress_sec_op;
SET ROLE regress_sec_op;
SELECT table_name, tier, rows FROM ruvector_tiers ORDER BY 1, 2;
RESET ROLE;
GRANT ruvector_admin TO regress_sec_owner;
SET ROLE regress_sec_owner;
SELECT ruvector_set_tiers('sec_owned', 'v', '{"exactness": "float16", "float16": {}}');
-- a read-only transaction is refused before anything moves (25006)
BEGIN READ ONLY;
SELECT vectors_moved FROM ruvector_compact('sec_owned');
ROLLBACK;
SELECT vectors_moved FROM ruvector_compact('sec_owned');
SELECT table_name, tier, rows FROM ruvector_tiers ORDER BY 1, 2;
RESET ROLE;

-- (unlogged tables: compacting a logged one needs the WAL resource manager,
-- i.e. shared_preload_libraries, which the regression cluster does not set)
-- search_path: a role without privileges plants functions and operators
-- named like those the extension's SQL uses, in a schema the superuser
-- then puts before pg_catalog; none of them may run (only the control's)
CREATE SCHEMA sec_trojan AUTHORIZATION regress_sec_nobody;
CREATE TABLE sec_trojan_log (what text);
GRANT INSERT ON sec_trojan_log TO PUBLIC;
SET ROLE regress_sec_nobody;
CREATE FUNCTION sec_trojan.now() RETURNS timestamptz LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('now'); SELECT pg_catalog.now() $$;
CREATE FUNCTION sec_trojan.nextval(regclass) RETURNS bigint LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('nextval'); SELECT pg_catalog.nextval($1) $$;
CREATE FUNCTION sec_trojan.eq(oid, oid) RETURNS bool LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('=(oid)') RETURNING true $$;
CREATE OPERATOR sec_trojan.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = sec_trojan.eq);
CREATE FUNCTION sec_trojan.eqr(regclass, regclass) RETURNS bool LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('=(regclass)') RETURNING true $$;
CREATE OPERATOR sec_trojan.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = sec_trojan.eqr);
CREATE FUNCTION sec_trojan.eqn(name, name) RETURNS bool LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('=(name)') RETURNING true $$;
CREATE OPERATOR sec_trojan.= (LEFTARG = name, RIGHTARG = name, FUNCTION = sec_trojan.eqn);
CREATE FUNCTION sec_trojan.plus(int, int) RETURNS int LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('+') RETURNING 1 $$;
CREATE OPERATOR sec_trojan.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = sec_trojan.plus);
CREATE FUNCTION sec_trojan.max_sfunc(int, int) RETURNS int LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('max') RETURNING 1 $$;
CREATE AGGREGATE sec_trojan.max(int) (SFUNC = sec_trojan.max_sfunc, STYPE = int);
CREATE FUNCTION sec_trojan.has_table_privilege(oid, text) RETURNS bool LANGUAGE sql
	AS $$ INSERT INTO public.sec_trojan_log VALUES ('has_table_privilege') RETURNING true $$;
RESET ROLE;
SET search_path = sec_trojan, pg_catalog, public;
CREATE UNLOGGED TABLE public.sec_sp (id int, v vector(8)) USING ruvector_heap;
INSERT INTO public.sec_sp SELECT i, (SELECT array_agg(sin(i * j)) FROM generate_series(1, 8) j)::vector
FROM generate_series(1, 300) i;
SELECT ruvector_set_tiers('public.sec_sp', 'v', '{"exactness": "pq", "pq": {"m": 4, "k": 16}}') IS NOT NULL AS set;
SELECT ruvector_set_tiers('public.sec_sp', 'v', '{"exactness": "pq", "sq8": {}, "pq": {"m": 4, "k": 16}}') IS NOT NULL AS updated;
SELECT vectors_moved FROM ruvector_compact('public.sec_sp');
SELECT count(*) FROM ruvector_tier_report('public.sec_sp');
SELECT count(*) FROM ruvector_tier_verify('public.sec_sp');
SELECT count(*) > 0 AS listed FROM ruvector_tiers;
SELECT ruvector_set_tiers('public.sec_sp', 'v', NULL);
DROP TABLE public.sec_sp;
-- the control: the same names, called unqualified here, do reach the trojans
SELECT now() IS NOT NULL AS control;
RESET search_path;
SELECT what, count(*) FROM sec_trojan_log GROUP BY 1 ORDER BY 1;

-- The extension is relocatable: its tables are found in their new schema
-- by a backend that had looked them up before the move
CREATE UNLOGGED TABLE sec_moved (id int, v vector(2)) USING ruvector_heap;
INSERT INTO sec_moved VALUES (1, '[1,2]');
SELECT ruvector_set_tiers('sec_moved', 'v', '{"exactness": "float16", "float16": {}}') IS NOT NULL AS before_move;
CREATE SCHEMA sec_rv;
ALTER EXTENSION ruvector SET SCHEMA sec_rv;
SET search_path = public, sec_rv;
SELECT ruvector_set_tiers('sec_moved', 'v', '{"exactness": "float16", "float16": {"after_write": 0}}');
SELECT attname, policy FROM sec_rv.ruvector_tier_policy WHERE relid = 'sec_moved'::regclass;
SELECT vectors_moved FROM ruvector_compact('sec_moved');
ALTER EXTENSION ruvector SET SCHEMA public;
RESET search_path;
DROP SCHEMA sec_rv;
SELECT ruvector_set_tiers('sec_moved', 'v', NULL);
DROP TABLE sec_moved;

-- Audit: each successful administrative call left one event, refused
-- calls none
SELECT event_type, actor, target_name,
	payload - 'bytes_freed' - 'blocks_scanned' - 'blocks_moved' AS payload
FROM ruvector_audit_events
WHERE seq > :audit_base AND event_type IN ('tier.set', 'tier.compact', 'ivf.refresh')
ORDER BY seq;
SELECT ruvector_ivf_refresh('sec_t_ivf') > 0 AS refreshed;
SELECT event_type, target_name, payload FROM ruvector_audit_events
WHERE seq > :audit_base AND event_type = 'ivf.refresh';

DROP SCHEMA sec_trojan CASCADE;
DROP TABLE sec_trojan_log, sec_t, sec_plain, sec_part, sec_owned CASCADE;
DROP SEQUENCE sec_seq;
DROP ROLE regress_sec_admin, regress_sec_op, regress_sec_owner, regress_sec_nobody;
