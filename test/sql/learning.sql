-- The learning loop's SQL surface (src/gnn, docs/learning.md): training,
-- status, the effort a scan would choose, privileges and errors.  Figures
-- that depend on the graph's random levels are not printed, only checks.

-- the settings exist once the library is loaded (it is not preloaded here)
LOAD 'ruvector';
SHOW ruvector.target_recall;
SHOW ruvector.learning_k;
SHOW ruvector.adaptive_effort;
SHOW ruvector.frontier_patience;
SHOW ruvector.learning_bound_rule;
SET ruvector.adaptive_effort = 'sometimes';
SET ruvector.frontier_patience = 0;

-- clustered rows: 8 groups of 300, 8 dimensions
SELECT setseed(0.25);
CREATE TABLE learn_items (id int PRIMARY KEY, v vector(8));
INSERT INTO learn_items
SELECT i, (SELECT array_agg((CASE WHEN (i % 8) = j - 1 THEN 4 ELSE 0 END + random())::real)
		   FROM generate_series(1, 8) j)::vector
FROM generate_series(1, 2400) i;
CREATE INDEX learn_items_v ON learn_items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
CREATE INDEX learn_items_ivf ON learn_items USING ivfflat (v vector_l2_ops) WITH (lists = 4);

SET ruvector.learning_min_queries = 60;
SET ruvector.learning_epochs = 20;
-- effort models only (the bound rule: TAP 602)
SET ruvector.learning_bound_rule = off;

-- no model yet: scans keep hnsw.ef_search
SET ruvector.target_recall = 0.9;
SELECT ruvector_learning_effort('learn_items_v', '[4,0,0,0,0,0,0,0]') AS effort_without_model;
SELECT count(*) FROM ruvector_learning_status();

-- train (target 0.9): the summary's shape
WITH t AS (SELECT ruvector_learning_train('learn_items_v') AS j)
SELECT (j->>'version')::int AS version, (j->>'target')::real AS target,
	(j->>'queries')::int AS queries, (j->>'captured')::int AS captured,
	(j->>'regions')::int > 1 AS regions,
	jsonb_array_length(j->'curve') AS epochs,
	(j->'curve'->>19)::float8 < (j->'curve'->>0)::float8 AS loss_fell,
	(j->'validation'->>'queries')::int AS validation_queries,
	j->'replaced' AS replaced
FROM t;

-- status: the version, its target and curve; a live model means the scans use it
SELECT index, version, target, queries, array_length(curve, 1) AS epochs,
	val_recall BETWEEN 0 AND 1 AS recall_ok, fixed_effort > 0 AS fixed_ok
FROM ruvector_learning_status();
SELECT live = (ruvector_learning_effort('learn_items_v', '[4,0,0,0,0,0,0,0]') IS NOT NULL) AS effort_iff_live,
	COALESCE(ruvector_learning_effort('learn_items_v', '[4,0,0,0,0,0,0,0]') BETWEEN 10 AND 1000, true) AS effort_in_range
FROM ruvector_learning_status() WHERE version = 1;

-- the same data trained again gives the same model (fixed seed), which is
-- not cheaper than itself, so it does not replace a live version
WITH t AS (SELECT ruvector_learning_train('learn_items_v') AS j)
SELECT (j->>'version')::int AS version, (j->>'live')::boolean AS live,
	(j->'replaced' IS NULL OR j->'replaced' = 'null'::jsonb) =
	NOT (SELECT live FROM ruvector_learning_status() WHERE version = 1) AS compared_with_live
FROM t;
SELECT version, live FROM ruvector_learning_status() WHERE version = 2;
-- the kind of each version: networks that pick the effort (the bound rule is off)
SELECT DISTINCT rule, bound FROM ruvector_learning_status();
SELECT count(*) FILTER (WHERE live) <= 1 AS one_live FROM ruvector_learning_status();

-- target_recall off: no effort is chosen
SET ruvector.target_recall = 0;
SELECT ruvector_learning_effort('learn_items_v', '[4,0,0,0,0,0,0,0]') AS effort_off;
-- a target above every trained one: none either
SET ruvector.target_recall = 0.99;
SELECT ruvector_learning_effort('learn_items_v', '[4,0,0,0,0,0,0,0]') AS effort_above;
RESET ruvector.target_recall;

-- IVFFlat: the frontier rule (no model).  A patience no scan runs out of
-- reads the ivfflat.probes lists as without it; a patience of 1 stops once
-- a list adds nothing to the 10 nearest, reading fewer blocks (the hnsw
-- index is dropped for this, in a transaction rolled back)
BEGIN;
CREATE FUNCTION pg_temp.ivf_rows(q text) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM learn_items ORDER BY v <-> q::vector LIMIT 10) s $$;
CREATE FUNCTION pg_temp.ivf_blocks(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
	EXECUTE format('EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON, COSTS OFF, TIMING OFF, SUMMARY OFF)'
		' SELECT id FROM learn_items ORDER BY v <-> %L::vector LIMIT 10', q) INTO j;
	RETURN (j->0->'Plan'->>'Shared Hit Blocks')::bigint + (j->0->'Plan'->>'Shared Read Blocks')::bigint;
END $$;
SET enable_seqscan = off;
SET enable_indexscan = on;
DROP INDEX learn_items_v;
SET ivfflat.probes = 4;
SET ruvector.target_recall = 0;
CREATE TEMP TABLE ivf_fixed AS
	SELECT q, pg_temp.ivf_rows(q) AS r, pg_temp.ivf_blocks(q) AS b
	FROM (VALUES ('[4,0,0,0,0,0,0,0]'), ('[0,0,4,0,0,0,0,1]'), ('[1,1,1,1,1,1,1,1]')) v(q);
SET ruvector.target_recall = 0.9;
SET ruvector.adaptive_effort = frontier;
SET ruvector.frontier_patience = 100;
SELECT count(*) FILTER (WHERE pg_temp.ivf_rows(q) = r) AS same_rows_as_fixed FROM ivf_fixed;
SET ruvector.frontier_patience = 1;
SELECT bool_and(nb <= b) AS never_more_blocks, bool_or(nb < b) AS some_fewer_blocks,
	count(*) FILTER (WHERE nr ~ '^([0-9]+,){9}[0-9]+$') AS ten_rows
	FROM (SELECT b, pg_temp.ivf_blocks(q) AS nb, pg_temp.ivf_rows(q) AS nr FROM ivf_fixed) t;
ROLLBACK;

-- IVFFlat: a model for probes, whose regions are the index's 4 lists;
-- the scans decide after 3 lists (the least effort) how many to read
WITH t AS (SELECT ruvector_learning_train('learn_items_ivf') AS j)
SELECT (j->>'version')::int AS version, (j->>'target')::real AS target,
	(j->>'regions')::int AS regions, jsonb_array_length(j->'curve') AS epochs,
	(j->'validation'->>'queries')::int AS validation_queries,
	(j->'validation'->>'fixed_effort')::int BETWEEN 3 AND 4 AS fixed_probes_ok
FROM t;
SELECT live = (ruvector_learning_effort('learn_items_ivf', '[4,0,0,0,0,0,0,0]') IS NOT NULL) AS effort_iff_live,
	COALESCE(ruvector_learning_effort('learn_items_ivf', '[4,0,0,0,0,0,0,0]') BETWEEN 3 AND 4, true) AS probes_in_range
FROM ruvector_learning_status() WHERE index = 'learn_items_ivf'::regclass;

-- errors
SELECT ruvector_learning_train('learn_items_pkey');
SELECT ruvector_learning_train('learn_items');
SELECT ruvector_learning_train(0);
CREATE TABLE learn_empty (id int, v vector(3));
CREATE INDEX learn_empty_v ON learn_empty USING hnsw (v vector_l2_ops);
SELECT ruvector_learning_train('learn_empty_v');
CREATE TABLE learn_half (id int, v halfvec(3));
CREATE INDEX learn_half_v ON learn_half USING hnsw (v halfvec_l2_ops);
SELECT ruvector_learning_train('learn_half_v');
SELECT ruvector_learning_effort('learn_items_pkey', '[1,2,3,4,5,6,7,8]');
SET ruvector.target_recall = 1.5;
SET ruvector.learning_sample_rate = -1;

-- privileges: the tables are the extension's; train is for operators,
-- status and effort for users; SELECT on the table is needed too
SELECT has_table_privilege('public', 'ruvector_learning_models', 'SELECT') AS public_models,
	has_table_privilege('ruvector_admin', 'ruvector_learning_queries', 'SELECT') AS admin_queries;
CREATE ROLE regress_learn_nobody;
CREATE ROLE regress_learn_user IN ROLE ruvector_user;
CREATE ROLE regress_learn_operator IN ROLE ruvector_operator;
CREATE FUNCTION pg_temp.try(role name, sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE pg_catalog.format('SET LOCAL ROLE %I', role);
	EXECUTE sql;
	RESET ROLE;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT r.role, pg_temp.try(r.role, 'SELECT ruvector_learning_train(''learn_items_v'')') AS train,
	pg_temp.try(r.role, 'SELECT count(*) FROM ruvector_learning_status()') AS status,
	pg_temp.try(r.role, 'SELECT ruvector_learning_effort(''learn_items_v'', ''[1,1,1,1,1,1,1,1]'')') AS effort,
	pg_temp.try(r.role, 'SELECT count(*) FROM ruvector_learning_models') AS models_table
FROM (VALUES (1, 'regress_learn_nobody'), (2, 'regress_learn_user'),
			 (3, 'regress_learn_operator')) AS r(k, role) ORDER BY r.k;
-- with SELECT on the table: the operator trains, the user sees the versions
GRANT SELECT ON learn_items TO regress_learn_user, regress_learn_operator;
SELECT pg_temp.try('regress_learn_operator', 'SELECT ruvector_learning_train(''learn_items_v'')') AS operator_train;
SET ROLE regress_learn_user;
SELECT count(*) AS versions_seen FROM ruvector_learning_status();
RESET ROLE;
SET ROLE regress_learn_nobody;
SELECT ruvector_learning_status();
RESET ROLE;

DROP TABLE learn_items, learn_empty, learn_half;
DROP ROLE regress_learn_nobody, regress_learn_user, regress_learn_operator;
