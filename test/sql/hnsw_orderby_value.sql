-- The ORDER BY distance of a top-k index scan (issue 19 item 1): PostgreSQL
-- computes v <op> $1 for every row the scan returns, as a resjunk column,
-- and throws it away.  RuVector's planner hook replaces that column by a
-- NULL when nothing above the scan can read it (only Limit nodes without
-- WITH TIES), so the distance function is not called (counted through
-- track_functions) and TOASTed vectors are not read.  Any other shape keeps
-- PostgreSQL's plan.

CREATE TABLE ov (id int, v vector(3));
INSERT INTO ov SELECT i, ARRAY[i % 7, i % 11, i % 13]::vector FROM generate_series(1, 300) i;
CREATE INDEX ov_h ON ov USING hnsw (v vector_l2_ops);
ANALYZE ov;
SET enable_seqscan = off;
SET max_parallel_workers_per_gather = 0;

-- the top-k shape: the junk column is a NULL
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ov ORDER BY v <-> '[1,2,3]' LIMIT 5;
-- a generic plan of a prepared statement, the way drivers send it
PREPARE q(vector) AS SELECT id FROM ov ORDER BY v <-> $1 LIMIT 5;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q('[1,2,3]');
RESET plan_cache_mode;

-- the distance function is not called for the rows returned (call counts
-- stay pending in the backend across transactions: take differences) ...
BEGIN;
SET LOCAL track_functions = 'all';
SELECT coalesce(sum(calls), 0) AS c0 FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance' \gset
SELECT id FROM ov ORDER BY v <-> '[1.13,2.71,3.37]' LIMIT 5;
SELECT coalesce(sum(calls), 0) - :c0 AS l2_calls FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance';
COMMIT;
-- ... and is with the setting off; the rows are the same
BEGIN;
SET LOCAL track_functions = 'all';
SELECT coalesce(sum(calls), 0) AS c0 FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance' \gset
SET LOCAL ruvector.skip_orderby_value = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ov ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT id FROM ov ORDER BY v <-> '[1.13,2.71,3.37]' LIMIT 5;
SELECT coalesce(sum(calls), 0) - :c0 AS l2_calls FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance';
COMMIT;
-- the exact answer
SELECT id FROM ov ORDER BY v::float4[]::vector <-> '[1.13,2.71,3.37]' LIMIT 5;

-- shapes that read the value keep it: the value selected, WITH TIES,
-- a sort above the scan, FOR UPDATE, a subquery, a join
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, v <-> '[1,2,3]' AS d FROM ov ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT id, round((v <-> '[1.13,2.71,3.37]')::numeric, 4) AS d FROM ov ORDER BY v <-> '[1.13,2.71,3.37]' LIMIT 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ov ORDER BY v <-> '[1,2,3]' FETCH FIRST 2 ROWS WITH TIES;
SELECT count(*) FROM (SELECT id FROM ov ORDER BY v <-> '[1,2,3]' FETCH FIRST 2 ROWS WITH TIES) s;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ov ORDER BY v <-> '[1,2,3]', id LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ov ORDER BY v <-> '[1,2,3]' LIMIT 5 FOR UPDATE;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM (SELECT id FROM ov ORDER BY v <-> '[1,2,3]' LIMIT 5) s WHERE id > 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT o.id FROM ov o, LATERAL (SELECT i.id FROM ov i ORDER BY i.v <-> o.v LIMIT 2) n WHERE o.id < 3;

-- ivfflat as hnsw; a btree ORDER BY is not ours
DROP INDEX ov_h;
CREATE INDEX ov_i ON ov USING ivfflat (v vector_l2_ops) WITH (lists = 1);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ov ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT id FROM ov ORDER BY v <-> '[1.13,2.71,3.37]' LIMIT 5;
CREATE INDEX ov_b ON ov (id);
EXPLAIN (VERBOSE, COSTS OFF) SELECT v FROM ov ORDER BY id LIMIT 2;

-- TOASTed vectors: the same rows, without a call
CREATE TABLE ovt (id int, v vector(784));
INSERT INTO ovt SELECT i, ARRAY(SELECT (i * d) % 97 FROM generate_series(1, 784) d)::vector FROM generate_series(1, 40) i;
CREATE INDEX ON ovt USING hnsw (v vector_l2_ops);
SELECT v AS q7 FROM ovt WHERE id = 7 \gset
BEGIN;
SET LOCAL track_functions = 'all';
SELECT coalesce(sum(calls), 0) AS c0 FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance' \gset
SELECT id FROM ovt ORDER BY v <-> :'q7' LIMIT 3;
SELECT coalesce(sum(calls), 0) - :c0 AS l2_calls FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance';
SELECT coalesce(sum(calls), 0) AS c0 FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance' \gset
SET LOCAL ruvector.skip_orderby_value = off;
SELECT id FROM ovt ORDER BY v <-> :'q7' LIMIT 3;
SELECT coalesce(sum(calls), 0) - :c0 AS l2_calls FROM pg_stat_xact_user_functions WHERE funcname = 'l2_distance';
COMMIT;

DROP TABLE ov, ovt;
