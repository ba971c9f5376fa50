-- HNSW compact storage: storage = float32 | float16 | sq8 | binary, the
-- re-ranking scan, ruvector.rerank_factor, dimension limits and errors.

-- Deterministic data without distance ties
CREATE TABLE hs (id int, v vector(4));
INSERT INTO hs SELECT i, ARRAY[sin(i), cos(i * 1.7), sin(i * 0.37) * 2, cos(i * 1.3) - 0.5]
	FROM generate_series(1, 600) i;
INSERT INTO hs VALUES (601, NULL), (602, '[0,0,0,0]');

-- Top 10 by the index against top 10 by a sequential scan
CREATE FUNCTION hs_same(op text, q text, k int DEFAULT 10) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	byindex int[];
	exact int[];
	plan text := '';
	line text;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM hs ORDER BY v %s %L::vector LIMIT %s', op, q, k) LOOP
		plan := plan || line || ' ';
	END LOOP;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM hs ORDER BY v %s %L::vector LIMIT %s) s', op, q, k) INTO byindex;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM hs ORDER BY v %s %L::vector, id LIMIT %s) s', op, q, k) INTO exact;
	PERFORM set_config('enable_indexscan', 'on', true);
	IF plan NOT LIKE 'Limit%Index Scan using%' THEN
		RETURN 'no index scan: ' || plan;
	END IF;
	RETURN CASE WHEN byindex = exact THEN 'same' ELSE format('index %s, exact %s', byindex, exact) END;
END $$;

-- Default and explicit float32: the reloption, the metapage
CREATE INDEX hs_default ON hs USING hnsw (v vector_l2_ops);
CREATE INDEX hs_f32 ON hs USING hnsw (v vector_l2_ops) WITH (storage = float32);
SELECT relname, reloptions FROM pg_class WHERE relname IN ('hs_default', 'hs_f32') ORDER BY 1;
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]');
DROP INDEX hs_default, hs_f32;

-- Every compact storage with every vector opclass equals exact search (the
-- candidates cover the table, re-ranking makes the order exact)
SET hnsw.ef_search = 100;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l2_ops) WITH (storage = float16);
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]'), hs_same('<->', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l2_ops) WITH (storage = sq8);
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]'), hs_same('<->', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
-- Binary codes of 4 dimensions take 16 values: every row must be a
-- candidate (100 * 10 > 800 rows), up to the iterative scans below
SET ruvector.rerank_factor = 10;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l2_ops) WITH (storage = binary);
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]'), hs_same('<->', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING ruhnsw (v vector_ip_ops) WITH (storage = sq8);
SELECT hs_same('<#>', '[0.5,0.5,0.5,0.5]'), hs_same('<#>', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_ip_ops) WITH (storage = float16);
SELECT hs_same('<#>', '[0.5,0.5,0.5,0.5]'), hs_same('<#>', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_cosine_ops) WITH (storage = sq8);
SELECT hs_same('<=>', '[0.5,0.5,0.5,0.5]'), hs_same('<=>', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_cosine_ops) WITH (storage = binary);
SELECT hs_same('<=>', '[0.5,0.5,0.5,0.5]'), hs_same('<=>', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l1_ops) WITH (storage = sq8);
SELECT hs_same('<+>', '[0.5,0.5,0.5,0.5]'), hs_same('<+>', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l1_ops) WITH (storage = binary);
SELECT hs_same('<+>', '[0.5,0.5,0.5,0.5]'), hs_same('<+>', '[-1,0.2,1.5,0]');
DROP INDEX hs_idx;

-- The distances the executor returns are exact and in order
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l2_ops) WITH (storage = binary);
SET enable_seqscan = off;
SELECT id, round((v <-> '[0.5,0.5,0.5,0.5]')::numeric, 6) AS d
	FROM hs ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 5;
RESET enable_seqscan;

-- Inserts, deletes and VACUUM keep a compact graph valid and exact
INSERT INTO hs SELECT i, ARRAY[cos(i), sin(i * 1.1), cos(i * 0.5), sin(i * 2.1)]
	FROM generate_series(603, 800) i;
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]'), hs_same('<->', '[0.9,-0.3,0.1,0.2]');
DELETE FROM hs WHERE id % 3 = 0;
VACUUM hs;
SELECT * FROM ruvector_hnsw_verify('hs_idx');
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]'), hs_same('<->', '[0.9,-0.3,0.1,0.2]');
-- A NULL query orders nothing but still returns every indexed row
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM hs ORDER BY v <-> NULL LIMIT 1000) s;
-- Rows deleted by an open snapshot's future are still seen by it
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM (SELECT id FROM hs ORDER BY v <-> '[0,0,0,0]' LIMIT 5) s;
ROLLBACK;
-- A query of other dimensions fails with the type's message
SELECT id FROM hs ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;

-- Iterative scans re-rank batch by batch; a filter drives several batches
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v vector_l2_ops) WITH (storage = sq8);
SET hnsw.ef_search = 10;
SET ruvector.rerank_factor = 1;
SET enable_seqscan = off;
SET hnsw.iterative_scan = strict_order;
SELECT count(*), bool_and(d >= 0) FROM (
	SELECT id, v <-> '[0.5,0.5,0.5,0.5]' AS d FROM hs WHERE id % 10 = 1
	ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 30) s;
-- strict order: distances never decrease
SELECT bool_and(d >= prev) FROM (
	SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
		SELECT row_number() OVER () AS n, d FROM (
			SELECT v <-> '[0.5,0.5,0.5,0.5]' AS d FROM hs WHERE id % 10 = 1
			ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 30) s) t) u;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (
	SELECT id FROM hs WHERE id % 10 = 1 ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 30) s;
RESET hnsw.iterative_scan;
RESET enable_seqscan;
RESET ruvector.rerank_factor;
SET hnsw.ef_search = 100;
DROP INDEX hs_idx;

-- ruvector_heap: re-ranking reads the table through its AM, which decodes
-- vectors that compaction moved to a lossy tier
CREATE UNLOGGED TABLE hr (id int, v vector(16)) USING ruvector_heap;
INSERT INTO hr SELECT i, (SELECT array_agg(sin(i * 0.37 + k * 1.1)) FROM generate_series(1, 16) k)::vector
	FROM generate_series(1, 1000) i;
CREATE INDEX hr_idx ON hr USING hnsw (v vector_l2_ops) WITH (storage = sq8);
SELECT ruvector_set_tiers('hr', 'v', '{"exactness": "sq8", "sq8": {"after_write": 0, "after_read": 0}}') IS NOT NULL AS policy;
SELECT blocks_moved > 0 AS moved FROM ruvector_compact('hr');
SET enable_seqscan = off;
CREATE TEMP TABLE hrq AS SELECT v FROM hr WHERE id = 77;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM hr ORDER BY v <-> (SELECT v FROM hrq) LIMIT 8) s) =
	(SELECT array_agg(id) FROM (SELECT id FROM hr ORDER BY (v <-> (SELECT v FROM hrq)) + 0, id LIMIT 8) s) AS same;
RESET enable_seqscan;
DROP TABLE hr, hrq;

-- halfvec: sq8 and binary apply, float16 would store the same thing
CREATE TABLE hh (id int, v halfvec(4));
INSERT INTO hh SELECT id, v::halfvec FROM hs WHERE v IS NOT NULL;
CREATE INDEX ON hh USING hnsw (v halfvec_l2_ops) WITH (storage = sq8);
CREATE INDEX ON hh USING hnsw (v halfvec_cosine_ops) WITH (storage = binary);
CREATE INDEX ON hh USING hnsw (v halfvec_l2_ops) WITH (storage = float16);
SET enable_seqscan = off;
SELECT array_agg(id) FROM (SELECT id FROM hh ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 5) s;
SELECT array_agg(id) FROM (SELECT id FROM hh ORDER BY v <=> '[0.5,0.5,0.5,0.5]' LIMIT 5) s;
RESET enable_seqscan;
SELECT array_agg(id) FROM (SELECT id FROM hh ORDER BY v <-> '[0.5,0.5,0.5,0.5]', id LIMIT 5) s;
SELECT array_agg(id) FROM (SELECT id FROM hh ORDER BY v <=> '[0.5,0.5,0.5,0.5]', id LIMIT 5) s;
DROP TABLE hh;

-- Refused: other opclasses, expression indexes, unknown values
CREATE TABLE hx (b bit(8), s sparsevec(4), v vector(4));
CREATE INDEX ON hx USING hnsw (b bit_hamming_ops) WITH (storage = binary);
CREATE INDEX ON hx USING hnsw (s sparsevec_l2_ops) WITH (storage = sq8);
CREATE INDEX ON hx USING hnsw ((v::halfvec(4)) halfvec_l2_ops) WITH (storage = sq8);
CREATE INDEX ON hx USING hnsw (v vector_l2_ops) WITH (storage = int8);
CREATE INDEX ON hx USING hnsw (v vector_l2_ops) WITH (storage = '');
-- float32 stays allowed everywhere
CREATE INDEX hx_b ON hx USING hnsw (b bit_hamming_ops) WITH (storage = float32);
DROP TABLE hx;

-- ALTER INDEX changes the reloption; the graph keeps its storage until REINDEX
CREATE INDEX hs_alter ON hs USING hnsw (v vector_l2_ops) WITH (storage = sq8);
ALTER INDEX hs_alter SET (storage = float32);
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]');
SELECT * FROM ruvector_hnsw_verify('hs_alter');
REINDEX INDEX hs_alter;
SELECT hs_same('<->', '[0.5,0.5,0.5,0.5]');
DROP INDEX hs_alter;

-- Sizes: codes shrink the graph (256 dimensions, 300 rows)
CREATE TABLE hz (id int, v vector(256));
INSERT INTO hz SELECT i, (SELECT array_agg(sin(i * 0.1 + k)) FROM generate_series(1, 256) k)::vector
	FROM generate_series(1, 300) i;
CREATE INDEX hz_f32 ON hz USING hnsw (v vector_l2_ops);
CREATE INDEX hz_f16 ON hz USING hnsw (v vector_l2_ops) WITH (storage = float16);
CREATE INDEX hz_sq8 ON hz USING hnsw (v vector_l2_ops) WITH (storage = sq8);
CREATE INDEX hz_bin ON hz USING hnsw (v vector_l2_ops) WITH (storage = binary);
SELECT pg_relation_size('hz_f16') < pg_relation_size('hz_f32') * 0.75 AS f16_smaller,
	pg_relation_size('hz_sq8') < pg_relation_size('hz_f32') * 0.55 AS sq8_smaller,
	pg_relation_size('hz_bin') < pg_relation_size('hz_sq8') AS bin_smallest;
DROP TABLE hz;

-- Dimension limits: float32 2000 (pgvector's), float16 4000, sq8 8000,
-- binary 64000 (more than vector's 16000, so any vector column)
CREATE TABLE hd (a vector(3072), b vector(4096), c vector(4001), d vector(8001), e vector(16000));
CREATE INDEX ON hd USING hnsw (a vector_l2_ops);
CREATE INDEX hd_a16 ON hd USING hnsw (a vector_l2_ops) WITH (storage = float16);
CREATE INDEX hd_asq ON hd USING hnsw (a vector_cosine_ops) WITH (storage = sq8);
CREATE INDEX hd_b16 ON hd USING hnsw (b vector_l2_ops) WITH (storage = float16);
CREATE INDEX hd_bsq ON hd USING hnsw (b vector_ip_ops) WITH (storage = sq8);
CREATE INDEX ON hd USING hnsw (c vector_l2_ops) WITH (storage = float16);
CREATE INDEX hd_csq ON hd USING hnsw (c vector_l2_ops) WITH (storage = sq8);
CREATE INDEX ON hd USING hnsw (d vector_l2_ops) WITH (storage = sq8);
CREATE INDEX hd_dbin ON hd USING hnsw (d vector_l2_ops) WITH (storage = binary);
CREATE INDEX hd_ebin ON hd USING hnsw (e vector_l2_ops) WITH (storage = binary);
INSERT INTO hd (a, b, c, d, e)
	SELECT (SELECT array_agg(sin(i + k * 0.01)) FROM generate_series(1, 3072) k)::vector,
		(SELECT array_agg(cos(i + k * 0.01)) FROM generate_series(1, 4096) k)::vector,
		(SELECT array_agg(sin(i * k * 0.001)) FROM generate_series(1, 4001) k)::vector,
		(SELECT array_agg(cos(i * k * 0.001)) FROM generate_series(1, 8001) k)::vector,
		(SELECT array_agg(sin(i * 0.3 + k)) FROM generate_series(1, 16000) k)::vector
	FROM generate_series(1, 40) i;
SET enable_seqscan = off;
CREATE TEMP TABLE hq AS SELECT a, b, c, d, e FROM hd LIMIT 1 OFFSET 7;
SELECT (SELECT a FROM hd ORDER BY a <-> (SELECT a FROM hq) LIMIT 1) = (SELECT a FROM hq) AS a16,
	(SELECT a FROM hd ORDER BY a <=> (SELECT a FROM hq) LIMIT 1) = (SELECT a FROM hq) AS asq,
	(SELECT b FROM hd ORDER BY b <-> (SELECT b FROM hq) LIMIT 1) = (SELECT b FROM hq) AS b16,
	(SELECT c FROM hd ORDER BY c <-> (SELECT c FROM hq) LIMIT 1) = (SELECT c FROM hq) AS csq,
	(SELECT d FROM hd ORDER BY d <-> (SELECT d FROM hq) LIMIT 1) = (SELECT d FROM hq) AS dbin,
	(SELECT e FROM hd ORDER BY e <-> (SELECT e FROM hq) LIMIT 1) = (SELECT e FROM hq) AS ebin;
SELECT count(*) FROM ruvector_hnsw_verify('hd_bsq');
SELECT count(*) FROM ruvector_hnsw_verify('hd_dbin');
RESET enable_seqscan;
DROP TABLE hd;

-- ruvector.rerank_factor: default 2, 1..100
SHOW ruvector.rerank_factor;
SET ruvector.rerank_factor = 0;
SET ruvector.rerank_factor = 101;
SET ruvector.rerank_factor = 100;
SHOW ruvector.rerank_factor;
RESET ruvector.rerank_factor;

RESET hnsw.ef_search;
DROP FUNCTION hs_same;
DROP TABLE hs;

-- A vector whose elements span more than the float range has no sq8 code
CREATE TABLE hs_wide (v vector(2));
INSERT INTO hs_wide VALUES ('[3e38,-3e38]');
CREATE INDEX ON hs_wide USING hnsw (v vector_l2_ops) WITH (storage = sq8);
DROP TABLE hs_wide;
