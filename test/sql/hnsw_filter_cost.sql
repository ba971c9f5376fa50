-- Filtered HNSW searches and the planner (issue 19): with an iterative scan,
-- every tuple the scan hands out past ef_search costs an expansion of the
-- graph (2m distances), so under a selective filter the planner reads the
-- matching rows through the btree and sorts them - exact, full results -
-- while a loose filter keeps the index scan.  Without an iterative scan the
-- costs are pgvector's.

CREATE TABLE hf (id int, cat int, cat10 int, half int, v vector(32));
INSERT INTO hf
SELECT i, i % 100, i % 10, i % 2,
	   ARRAY(SELECT sin(i * 0.7 + d * 1.3) * 10 + cos(i * 0.11 * d) FROM generate_series(1, 32) d)::vector
FROM generate_series(1, 10000) i;
CREATE INDEX ON hf (id);
CREATE INDEX ON hf (cat);
CREATE INDEX ON hf (cat10);
CREATE INDEX hf_v ON hf USING hnsw (v vector_l2_ops);
ANALYZE hf;
SET max_parallel_workers_per_gather = 0;
SELECT '[' || array_to_string(ARRAY(SELECT d FROM generate_series(1, 32) d), ',') || ']' AS q \gset
SET hnsw.iterative_scan = relaxed_order;

-- no filter: the index
EXPLAIN (COSTS OFF) SELECT id FROM hf ORDER BY v <-> :'q' LIMIT 10;

-- half the rows pass: the index, iterating
EXPLAIN (COSTS OFF) SELECT id FROM hf WHERE half = 1 ORDER BY v <-> :'q' LIMIT 10;

-- 1% and 10% (an equality), 1% (a range): the btree and a sort
EXPLAIN (COSTS OFF) SELECT id FROM hf WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hf WHERE cat10 = 7 ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hf WHERE id >= 5000 AND id < 5100 ORDER BY v <-> :'q' LIMIT 10;

-- strict_order costs the same way
SET hnsw.iterative_scan = strict_order;
EXPLAIN (COSTS OFF) SELECT id FROM hf WHERE cat10 = 7 ORDER BY v <-> :'q' LIMIT 10;

-- off: pgvector's costs, which keep the index at 10% (and find fewer rows)
SET hnsw.iterative_scan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hf WHERE cat10 = 7 ORDER BY v <-> :'q' LIMIT 10;
SELECT count(*) < 10 AS fewer FROM (SELECT id FROM hf WHERE cat10 = 7 ORDER BY v <-> :'q' LIMIT 10) r;

-- with an iterative scan, full and exact results under each filter: the
-- distances of a plain sort
SET enable_indexscan = off;
CREATE TEMP TABLE hf_exact AS
SELECT c, (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hf
		   WHERE cat = c ORDER BY 1 LIMIT 10) s) AS ds,
		  (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hf
		   WHERE cat10 = c % 10 ORDER BY 1 LIMIT 10) s) AS ds10
FROM generate_series(0, 99, 11) c;
RESET enable_indexscan;
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.ef_search = 100;
SELECT c, cardinality(ds) AS n,
	   (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hf
		WHERE cat = c ORDER BY v <-> :'q' LIMIT 10) s) = ds AS same1,
	   (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hf
		WHERE cat10 = c % 10 ORDER BY v <-> :'q' LIMIT 10) s) = ds10 AS same10,
	   (SELECT count(*) FROM (SELECT v <-> :'q' AS d FROM hf
		WHERE half = c % 2 ORDER BY v <-> :'q' LIMIT 10) s) AS n50
FROM hf_exact ORDER BY c;

RESET hnsw.ef_search;
RESET hnsw.iterative_scan;
RESET max_parallel_workers_per_gather;
DROP TABLE hf;
