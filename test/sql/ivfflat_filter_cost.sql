-- Filtered IVFFlat searches (issue 19): with ivfflat.iterative_scan on, the
-- scan reads another ivfflat.probes lists for every 30 rows it hands out,
-- so under a filter the rows it returns stay the nearest of a region that
-- grows with them, and the planner prices those lists: under a selective
-- filter it reads the matching rows through the btree and sorts them (exact,
-- full results), while a loose filter keeps the index scan.  With iterative
-- scans off the costs and the scan are pgvector's.

-- Uniform random vectors (a fixed seed): the nearest rows that pass a
-- filter lie in many lists.
SELECT setseed(0.19);
CREATE TABLE ivf (id int, cat int, cat10 int, half int, v vector(32));
INSERT INTO ivf
SELECT i, i % 100, i % 10, i % 2,
	   ARRAY(SELECT random() + 0 * i * d FROM generate_series(1, 32) d)::vector
FROM generate_series(1, 40000) i;
CREATE INDEX ON ivf (cat);
CREATE INDEX ON ivf (cat10);
CREATE INDEX ivf_v ON ivf USING ivfflat (v vector_l2_ops) WITH (lists = 100);
ANALYZE ivf;
SET max_parallel_workers_per_gather = 0;
SELECT '[' || array_to_string(ARRAY(SELECT 0.5 + 0 * d FROM generate_series(1, 32) d), ',') || ']' AS q \gset
SET ivfflat.probes = 10;
SET ivfflat.iterative_scan = relaxed_order;

-- no filter, half the rows, 10%: the index
EXPLAIN (COSTS OFF) SELECT id FROM ivf ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivf WHERE half = 1 ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivf WHERE cat10 = 7 ORDER BY v <-> :'q' LIMIT 10;

-- 1%: the btree and a sort
EXPLAIN (COSTS OFF) SELECT id FROM ivf WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;

-- off: pgvector's costs keep the index at 1%
SET ivfflat.iterative_scan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;

-- The exact 10 nearest under each filter, for ten queries
SET enable_indexscan = off;
CREATE TEMP TABLE ivf_exact AS
SELECT c, qv,
	   ARRAY(SELECT id FROM ivf WHERE cat = c ORDER BY v <-> qv, id LIMIT 10) AS ids1,
	   ARRAY(SELECT id FROM ivf WHERE cat10 = c % 10 ORDER BY v <-> qv, id LIMIT 10) AS ids10
FROM (SELECT c, (SELECT v FROM ivf WHERE id = c * 97 + 13) AS qv
	  FROM generate_series(0, 99, 11) c) s;
RESET enable_indexscan;

-- Through the index (the other plans off), full results, and of the 100
-- exact neighbours under each filter (ten queries), how many are found:
-- with iterative scans off (pgvector's scan, and what the relaxed scan
-- found when it read more lists only once a batch ran out) and relaxed.
-- Uniform data is hard for IVF: unfiltered, probes 10 of 100 lists finds
-- about two thirds.
SET enable_bitmapscan = off;
SET enable_seqscan = off;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;
CREATE FUNCTION ivf_found() RETURNS TABLE (rows1 bigint, rows10 bigint, found1 bigint, found10 bigint)
LANGUAGE sql AS $$
SELECT sum(cardinality(f1)), sum(cardinality(f10)),
	   sum((SELECT count(*) FROM unnest(f1) i WHERE i = ANY (ids1))),
	   sum((SELECT count(*) FROM unnest(f10) i WHERE i = ANY (ids10)))
FROM (SELECT ids1, ids10,
			 ARRAY(SELECT id FROM ivf WHERE cat = c ORDER BY v <-> qv LIMIT 10) AS f1,
			 ARRAY(SELECT id FROM ivf WHERE cat10 = c % 10 ORDER BY v <-> qv LIMIT 10) AS f10
	  FROM ivf_exact) r
$$;
SET ivfflat.iterative_scan = off;
SELECT * FROM ivf_found();
SET ivfflat.iterative_scan = relaxed_order;
SELECT * FROM ivf_found();

-- ivfflat.max_probes bounds the lists: with one batch's worth the scan
-- finds what the first batch holds, as with iterative scans off
SET ivfflat.max_probes = 10;
SELECT * FROM ivf_found();
RESET ivfflat.max_probes;

RESET enable_bitmapscan;
RESET enable_seqscan;
RESET enable_sort;
RESET ivfflat.iterative_scan;
RESET ivfflat.probes;
RESET max_parallel_workers_per_gather;
DROP FUNCTION ivf_found();
DROP TABLE ivf;
