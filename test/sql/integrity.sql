-- Integrity control plane: samples, states, policies, the gate and its
-- errors, privileges.  Figures that depend on the random graph (lambda
-- values) are checked by range, not printed.
SET client_min_messages = warning;
SELECT setseed(0.5);
CREATE TABLE ig (id int, v vector(4));
INSERT INTO ig SELECT i, ARRAY[random(), random(), random(), random()]::vector
	FROM generate_series(1, 2000) i;
CREATE INDEX ig_hnsw ON ig USING hnsw (v vector_l2_ops) WITH (m = 8);
CREATE INDEX ig_btree ON ig (id);
CREATE INDEX ig_ivf ON ig USING ivfflat (v vector_l2_ops) WITH (lists = 4);

-- A sample: every member, and sane values
SELECT k FROM jsonb_object_keys(ruvector_integrity_sample('ig_hnsw')) k ORDER BY k;
SELECT (r->>'lambda_cut')::float8 > 0 AS cut_positive,
	(r->>'lambda2')::float8 BETWEEN 0.000001 AND 2 AS lambda2_in_range,
	(r->>'nodes')::int BETWEEN 2 AND 1000 AS nodes_in_range,
	(r->>'edges')::int > 0 AS has_edges,
	r->'unreachable' AS unreachable, r->'live' AS live, r->'state' AS state,
	r->'baseline' = r->'lambda_cut' AS baseline_is_first,
	jsonb_array_length(r->'witness_edges') BETWEEN 1 AND 10 AS has_witnesses,
	r->'witness_edges'->0->'cut_side' ? 'heap_tid' AS witness_names_rows
FROM ruvector_integrity_sample('ig_hnsw') r;
-- a cap on the nodes is honoured
SET ruvector.integrity_max_nodes = 10;
SELECT (r->>'nodes')::int <= 10 AS capped FROM ruvector_integrity_sample('ig_hnsw') r;
RESET ruvector.integrity_max_nodes;
-- ivfflat: the lists are the nodes, no cut; drift and skew are the signals
SELECT r->'kind' AS kind, r->'nodes' AS nodes, r->'edges' AS edges, r->'lambda_cut' AS lambda_cut,
	r->'live' AS live, r ? 'drift' AS has_drift, r ? 'size_skew' AS has_skew, r->'state' AS state
FROM ruvector_integrity_sample('ig_ivf') r;
SELECT index, "table", kind, state, samples, policy FROM ruvector_integrity ORDER BY index::text;
SELECT scope, kind, state, lambda_cut > 0 AS cut_positive
	FROM ruvector_integrity_status() WHERE kind <> 'operational';

-- Policies: validation
SELECT ruvector_integrity_policy_set('bad', '[1]');
SELECT ruvector_integrity_policy_set('bad', '{"stres_ratio": 0.5}');
SELECT ruvector_integrity_policy_set('bad', '{"stress_ratio": 20}');
SELECT ruvector_integrity_policy_set('bad', '{"stress_ratio": "high"}');
SELECT ruvector_integrity_policy_set('bad', '{"stress_ratio": 0.2, "critical_ratio": 0.5}');
SELECT ruvector_integrity_policy_set('bad', '{"actions": {"panic": {"low": "allow"}}}');
SELECT ruvector_integrity_policy_set('bad', '{"actions": {"stress": {"tiny": "allow"}}}');
SELECT ruvector_integrity_policy_set('bad', '{"actions": {"stress": {"low": "maybe"}}}');
SELECT ruvector_integrity_policy_set('bad', '{"auto_repair": 1}');
SELECT ruvector_integrity_policy_set('', '{}');
SELECT ruvector_integrity_policy_attach('ig', 'nosuch');
SELECT ruvector_integrity_policy_attach('ig_hnsw', 'nosuch');
SELECT ruvector_integrity_policy_set('nosuch', NULL);

-- A policy that degrades at once: thresholds above any lambda
SELECT ruvector_integrity_policy_set('tight', '{"stress_threshold": 1e9, "critical_threshold": 1e9,
	"degrade_samples": 1, "critical_samples": 1, "cooldown": 0, "restore_hold": 0,
	"throttle_delay_ms": 1}');
SELECT ruvector_integrity_policy_attach('ig', 'tight');
SELECT ruvector_integrity_policy_attach('ig_ivf', 'tight');
SELECT name FROM ruvector_integrity_policies ORDER BY name;
SELECT target, index_name, policy FROM ruvector_integrity_attachments ORDER BY index_name;
SELECT ruvector_integrity_policy_set('tight', NULL);
SELECT r->'state', r->'previous_state', r->'policy' FROM ruvector_integrity_sample('ig_hnsw') r;
-- stress: single-row inserts allowed, bulk throttled, CREATE INDEX deferred
INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]');
INSERT INTO ig SELECT 0, v FROM ig LIMIT 2;
SELECT ruvector_integrity_gate('insert', 'ig') - 'lambda_cut';
SELECT ruvector_integrity_gate('bulk_insert', 'ig') - 'lambda_cut';
SELECT ruvector_integrity_gate('create_index', 'ig_hnsw') - 'lambda_cut';
\set VERBOSITY terse
CREATE INDEX ig_id2 ON ig (id);
SELECT r->'state', r->'previous_state' FROM ruvector_integrity_sample('ig_hnsw') r;
-- critical: mutations refused with SQLSTATE 55RV1 (the detail has the
-- random graph's lambda: shown with digits masked), reads go on
DO $$
DECLARE
	st text; msg text; det text; hint text;
BEGIN
	INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RAISE WARNING E'%: %\n%\n%', st, msg, regexp_replace(det, '[0-9][0-9.e+-]*', 'N', 'g'), hint;
END
$$;
DELETE FROM ig WHERE id = 1;
UPDATE ig SET id = id WHERE id = 2;
COPY ig FROM STDIN;
\.
SELECT ruvector_ivf_refresh('ig_ivf');
SELECT count(*) FROM (SELECT id FROM ig ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 10) s;
\set VERBOSITY default
-- a filtered query still fills its LIMIT in critical: the scan searches
-- with ef_search x search_ef_factor and as an iterative scan although
-- hnsw.iterative_scan is off (the same query in normal returns fewer, below)
BEGIN;
DROP INDEX ig_ivf;	-- so that the plan is the HNSW index's; rolled back
SET LOCAL enable_seqscan = off;
SET LOCAL hnsw.iterative_scan = off;
SET LOCAL hnsw.ef_search = 10;
EXPLAIN (COSTS OFF) SELECT id FROM ig WHERE id % 50 = 0 ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 10;
SELECT count(*) AS filtered_critical FROM
	(SELECT id FROM ig WHERE id % 50 = 0 ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 10) s;
ROLLBACK;
SELECT ruvector_integrity_gate('search', 'ig_hnsw') - 'lambda_cut';
SELECT ruvector_integrity_gate('delete', 'ig') - 'lambda_cut';
SELECT state FROM ruvector_integrity WHERE index = 'ig_hnsw'::regclass;
-- a repair (the owner's): in place, sampled again; the tight thresholds keep it critical
SELECT r->'method' AS method, (r->>'elapsed_ms')::float8 >= 0 AS timed,
	(r->>'lambda_cut_before')::float8 > 0 AS had_cut, r->'in_place'->'unreachable_after' AS unreachable,
	r->'after'->'state' AS state_after, (r->'after'->>'live')::int AS live_after
FROM ruvector_integrity_repair('ig_hnsw') r;
-- with rebuild => true a rebuild follows only if rows stay unreachable
SELECT r->'method' AS method FROM ruvector_integrity_repair('ig_hnsw', rebuild => true) r;
SELECT ruvector_integrity_repair('ig_ivf');
-- EXPLAIN plans, it does not run: allowed
EXPLAIN (COSTS OFF) INSERT INTO ig VALUES (0, '[1,1,1,1]');
-- the gate can be switched off by a superuser
SET ruvector.integrity_gate = off;
DELETE FROM ig WHERE id = 0;
RESET ruvector.integrity_gate;
-- relaxed thresholds: back to normal (no hold), mutations allowed again
SELECT ruvector_integrity_policy_set('tight', '{"stress_threshold": 0, "critical_threshold": 0,
	"cooldown": 0, "restore_hold": 0}');
SELECT r->'state', r->'previous_state' FROM ruvector_integrity_sample('ig_hnsw') r;
-- normal: the filtered query above, at ef_search 10 without iterative scan,
-- finds only the matching rows among its 10 candidates
BEGIN;
DROP INDEX ig_ivf;	-- so that the plan is the HNSW index's; rolled back
SET LOCAL enable_seqscan = off;
SET LOCAL hnsw.iterative_scan = off;
SET LOCAL hnsw.ef_search = 10;
SELECT count(*) < 10 AS filtered_normal_short FROM
	(SELECT id FROM ig WHERE id % 50 = 0 ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 10) s;
ROLLBACK;
INSERT INTO ig VALUES (0, '[0.5,0.5,0.5,0.5]');
SELECT ruvector_integrity_gate('insert', 'ig') - 'lambda_cut';
SELECT ruvector_integrity_policy_attach('ig', NULL);
SELECT ruvector_integrity_policy_set('tight', NULL);
SELECT ruvector_integrity_policy_attach('ig_ivf', NULL);
SELECT ruvector_integrity_policy_set('tight', NULL);

-- Errors
SELECT ruvector_integrity_sample('ig_btree');
SELECT ruvector_integrity_sample('ig');
SELECT ruvector_integrity_gate('vacuum', 'ig');
SELECT ruvector_integrity_gate('insert', 'ruvector_integrity_state_pkey');
SELECT ruvector_integrity_sample(0);

-- Privileges: a role without them gets 42501 everywhere
CREATE ROLE ig_nobody;
CREATE ROLE ig_user IN ROLE ruvector_user;
CREATE ROLE ig_operator IN ROLE ruvector_operator;
GRANT SELECT ON ig TO ig_user, ig_operator;
\set VERBOSITY sqlstate
SET ROLE ig_nobody;
SELECT ruvector_integrity_sample('ig_hnsw');
SELECT ruvector_integrity_sample_operational();
SELECT * FROM ruvector_integrity_status();
SELECT ruvector_integrity_gate('insert', 'ig');
SELECT ruvector_integrity_policy_set('p', '{}');
SELECT ruvector_integrity_policy_attach('ig', 'p');
SELECT ruvector_integrity_repair('ig_hnsw');
SELECT * FROM ruvector_integrity;
SELECT * FROM ruvector_integrity_policies;
RESET ROLE;
\set VERBOSITY default
SET ROLE ig_user;
SELECT index, state FROM ruvector_integrity ORDER BY index::text;
SELECT scope, state FROM ruvector_integrity_status() WHERE kind <> 'operational';
SELECT ruvector_integrity_gate('insert', 'ig') ->> 'decision';
SELECT ruvector_integrity_sample('ig_hnsw');
SELECT ruvector_integrity_policy_set('p', '{}');
RESET ROLE;
-- an operator samples tables it may read, cannot attach policies, and repairs
-- only the indexes of its own tables
SET ROLE ig_operator;
SELECT r->'state' FROM ruvector_integrity_sample('ig_hnsw') r;
SELECT ruvector_integrity_policy_attach('ig', NULL);
SELECT ruvector_integrity_repair('ig_hnsw');
RESET ROLE;
-- a user without SELECT on the table sees no state of it
REVOKE SELECT ON ig FROM ig_user;
SET ROLE ig_user;
SELECT count(*) FROM ruvector_integrity;
SELECT ruvector_integrity_gate('insert', 'ig');
RESET ROLE;

DROP TABLE ig;
DROP ROLE ig_nobody, ig_user, ig_operator;

-- The gate reads its state table only for the statements it gates: a
-- transaction's isolation level can still be set as its first statement
-- (reading the table took a snapshot, after which BEGIN ISOLATION LEVEL
-- failed, once the backend-local copy was a second old).
SELECT pg_sleep(1.1);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT current_setting('transaction_isolation');
COMMIT;
SELECT pg_sleep(1.1);
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT current_setting('transaction_isolation');
COMMIT;

-- The SQL the integrity functions generate names the extension's schema as
-- it is now: after ALTER EXTENSION ... SET SCHEMA (and with that schema off
-- the search_path) a policy is stored in, read from and dropped from the
-- moved table.
CREATE SCHEMA ig_moved;
ALTER EXTENSION ruvector SET SCHEMA ig_moved;
SELECT ig_moved.ruvector_integrity_policy_set('ig_moved_p', '{"stress_ratio": 0.4}');
SELECT name, policy->'stress_ratio' FROM ig_moved.ruvector_integrity_policies WHERE name = 'ig_moved_p';
SELECT ig_moved.ruvector_integrity_policy_set('ig_moved_p', NULL);
SELECT count(*) FROM ig_moved.ruvector_integrity_policies WHERE name = 'ig_moved_p';
ALTER EXTENSION ruvector SET SCHEMA public;
DROP SCHEMA ig_moved;
