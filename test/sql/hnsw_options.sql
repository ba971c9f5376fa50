-- HNSW: index options, settings, dimension limits and every error message.

CREATE TABLE ho (v vector(3));

-- m: 2..100, ef_construction: 4..1000 and at least 2 * m
CREATE INDEX ON ho USING hnsw (v vector_l2_ops) WITH (m = 1);
CREATE INDEX ON ho USING hnsw (v vector_l2_ops) WITH (m = 101);
CREATE INDEX ON ho USING hnsw (v vector_l2_ops) WITH (ef_construction = 3);
CREATE INDEX ON ho USING hnsw (v vector_l2_ops) WITH (ef_construction = 1001);
CREATE INDEX ON ho USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 31);
CREATE INDEX ON ho USING ruhnsw (v vector_l2_ops) WITH (m = 3, ef_construction = 5);
CREATE INDEX ON ho USING hnsw (v vector_l2_ops) WITH (lists = 3);
CREATE INDEX ho_min ON ho USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX ho_max ON ho USING ruhnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 1000);
SELECT relname, reloptions FROM pg_class WHERE relname IN ('ho_min', 'ho_max') ORDER BY relname;

-- The extreme options build working graphs
INSERT INTO ho SELECT ARRAY[i % 7, i % 5, i % 3] FROM generate_series(1, 300) i;
SET enable_seqscan = off;
SET hnsw.ef_search = 200;
SELECT count(*) FROM (SELECT v FROM ho ORDER BY v <-> '[1,1,1]' LIMIT 150) r;
DROP INDEX ho_max;
SELECT count(*) FROM (SELECT v FROM ho ORDER BY v <-> '[1,1,1]' LIMIT 150) r;
REINDEX INDEX ho_min;
SELECT count(*) FROM (SELECT v FROM ho ORDER BY v <-> '[1,1,1]' LIMIT 150) r;
ALTER INDEX ho_min SET (ef_construction = 8);
SELECT reloptions FROM pg_class WHERE relname = 'ho_min';
RESET enable_seqscan;
RESET hnsw.ef_search;
DROP TABLE ho;

-- Settings: defaults, ranges, the enum's values
SHOW hnsw.ef_search;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.ef_search = 1000;
SHOW hnsw.ef_search;
RESET hnsw.ef_search;
SHOW hnsw.iterative_scan;
SET hnsw.iterative_scan = on;
SET hnsw.iterative_scan = strict_order;
SHOW hnsw.iterative_scan;
SET hnsw.iterative_scan = relaxed_order;
SHOW hnsw.iterative_scan;
RESET hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SET hnsw.max_scan_tuples = 0;
SET hnsw.max_scan_tuples = 2147483647;
RESET hnsw.max_scan_tuples;
SHOW hnsw.scan_mem_multiplier;
SET hnsw.scan_mem_multiplier = 0.5;
SET hnsw.scan_mem_multiplier = 1001;
SET hnsw.scan_mem_multiplier = 2.5;
SHOW hnsw.scan_mem_multiplier;
RESET hnsw.scan_mem_multiplier;
-- the prefix is reserved
SET hnsw.no_such_setting = 1;
SELECT name, setting, unit, context, vartype, min_val, max_val, enumvals
FROM pg_settings WHERE name LIKE 'hnsw.%' ORDER BY name;

-- Dimensions: each type's limit, and columns without dimensions
CREATE TABLE hd (v vector(2000), w vector(2001), x vector, h halfvec(4000), i halfvec(4001),
				 b bit(64000), c bit(64001), vb varbit(8), s sparsevec(100000), t sparsevec);
CREATE INDEX ON hd USING hnsw (v vector_l2_ops);
CREATE INDEX ON hd USING hnsw (w vector_l2_ops);
CREATE INDEX ON hd USING ruhnsw (w vector_cosine_ops);
CREATE INDEX ON hd USING hnsw (x vector_l2_ops);
CREATE INDEX ON hd USING hnsw (h halfvec_l2_ops);
CREATE INDEX ON hd USING hnsw (i halfvec_l2_ops);
CREATE INDEX ON hd USING hnsw (b bit_hamming_ops);
CREATE INDEX ON hd USING hnsw (c bit_jaccard_ops);
CREATE INDEX ON hd USING hnsw (vb bit_hamming_ops);
CREATE INDEX ON hd USING hnsw ((vb::bit(8)) bit_hamming_ops);
CREATE INDEX ON hd USING hnsw (s sparsevec_l2_ops);
CREATE INDEX ON hd USING hnsw (t sparsevec_l2_ops);
-- a wrong opclass for the type, and several columns
CREATE INDEX ON hd USING hnsw (v halfvec_l2_ops);
CREATE INDEX ON hd USING hnsw (v vector_l2_ops, h halfvec_l2_ops);
-- no default opclass, as in pgvector
CREATE INDEX ON hd USING hnsw (v);
-- no unique hnsw indexes, no INCLUDE
CREATE UNIQUE INDEX ON hd USING hnsw (v vector_l2_ops);
CREATE INDEX ON hd USING hnsw (v vector_l2_ops) INCLUDE (x);
DROP TABLE hd;

-- sparsevec: at most 1000 non-zero elements, on build and on insert
CREATE TABLE hs (s sparsevec(1001));
INSERT INTO hs VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
CREATE INDEX ON hs USING hnsw (s sparsevec_l2_ops);
TRUNCATE hs;
CREATE INDEX ON hs USING hnsw (s sparsevec_l2_ops);
INSERT INTO hs VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
INSERT INTO hs VALUES ((array_fill(1::real, ARRAY[1000]) || ARRAY[0::real])::vector::sparsevec);
SELECT count(*) FROM hs;
DROP TABLE hs;

-- Queries of other dimensions fail as the operator does
CREATE TABLE hq (v vector(3), h halfvec(3), b bit(3));
INSERT INTO hq VALUES ('[1,2,3]', '[1,2,3]', '101');
CREATE INDEX ON hq USING hnsw (v vector_l2_ops);
CREATE INDEX ON hq USING hnsw (h halfvec_l1_ops);
CREATE INDEX ON hq USING hnsw (b bit_hamming_ops);
SET enable_seqscan = off;
SELECT v FROM hq ORDER BY v <-> '[1,2]' LIMIT 1;
SELECT h FROM hq ORDER BY h <+> '[1,2,3,4]' LIMIT 1;
SELECT b FROM hq ORDER BY b <~> '1011' LIMIT 1;
SELECT v FROM hq ORDER BY v <-> '[1,2,4]' LIMIT 1;
-- an index scan needs an ORDER BY: a plain filter does not use it
EXPLAIN (COSTS OFF) SELECT v FROM hq WHERE v <-> '[1,2,3]' < 1;
RESET enable_seqscan;
DROP TABLE hq;

-- Progress phases of CREATE INDEX
SELECT amname, ord, pg_indexam_progress_phasename(am.oid, ord)
FROM pg_am am, generate_series(1, 3) ord WHERE amname IN ('hnsw', 'ruhnsw') ORDER BY amname, ord;
