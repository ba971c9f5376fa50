-- HNSW iterative scans: a filter that rejects most candidates still gets
-- its rows when hnsw.iterative_scan lets the search go on.

CREATE TABLE hi (id int, c int, v vector(2));
INSERT INTO hi SELECT i, i % 50, ARRAY[(i * 37) % 101, (i * 53) % 103] FROM generate_series(1, 2000) i;
CREATE INDEX ON hi USING hnsw (v vector_l2_ops);
ANALYZE hi;
SET enable_seqscan = off;
SET hnsw.ef_search = 10;

-- exact answer, through a sort
CREATE TEMP TABLE exact AS
SELECT id, v <-> '[50,50]' AS d FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]', id LIMIT 15;

-- off: ten candidates, about one in fifty passes the filter
SET hnsw.iterative_scan = off;
SELECT count(*) < 15 AS few FROM (SELECT id FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) r;

-- relaxed_order: every row, in batches that may be slightly out of order
SET hnsw.iterative_scan = relaxed_order;
EXPLAIN (COSTS OFF) SELECT id FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15;
SELECT count(*) FROM (SELECT id FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) r;
-- the rows found are the nearest ones (distances, as ties may swap ids)
SELECT array_agg(d ORDER BY d) = (SELECT array_agg(d ORDER BY d) FROM exact) AS nearest
FROM (SELECT v <-> '[50,50]' AS d FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) r;

-- strict_order: never a row nearer than one already returned
SET hnsw.iterative_scan = strict_order;
SELECT count(*) FROM (SELECT id FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) r;
SELECT bool_and(ordered) AS ascending FROM (
	SELECT d >= lag(d, 1, 0::float8) OVER (ORDER BY n) AS ordered
	FROM (SELECT row_number() OVER () AS n, v <-> '[50,50]' AS d
		  FROM (SELECT v FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) q) r) s;

-- a filter no row passes ends once the whole graph was visited
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM hi WHERE c = 1000 ORDER BY v <-> '[50,50]' LIMIT 15) r;

-- max_scan_tuples: past the limit, the scan hands out what it already saw
SET hnsw.max_scan_tuples = 1;
SELECT count(*) <= 15 AS bounded FROM (SELECT id FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) r;
SELECT count(*) BETWEEN 10 AND 100 AS drained FROM (SELECT id FROM hi ORDER BY v <-> '[50,50]' LIMIT 100) r;
RESET hnsw.max_scan_tuples;

-- the scan memory limit behaves the same way
SET work_mem = '64kB';
SET hnsw.scan_mem_multiplier = 1;
SELECT count(*) > 0 AS some FROM (SELECT id FROM hi WHERE c = 7 ORDER BY v <-> '[50,50]' LIMIT 15) r;
RESET work_mem;
RESET hnsw.scan_mem_multiplier;

-- rescans (a lateral join) restart the iteration for each outer row
SELECT q.k, count(r.id) FROM generate_series(0, 2) q(k)
CROSS JOIN LATERAL (SELECT id FROM hi WHERE c = 10 + q.k ORDER BY v <-> ARRAY[q.k * 10, 20]::vector LIMIT 5) r
GROUP BY q.k ORDER BY q.k;

-- with ef_search 1, the plain scan returns a single element's rows
SET hnsw.iterative_scan = off;
SET hnsw.ef_search = 1;
SELECT count(*) FROM (SELECT id FROM hi ORDER BY v <-> '[50,50]') r;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) > 1000 AS more FROM (SELECT id FROM hi ORDER BY v <-> '[50,50]') r;

RESET hnsw.iterative_scan;
RESET hnsw.ef_search;
RESET enable_seqscan;
DROP TABLE hi;
