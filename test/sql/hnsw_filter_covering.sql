-- Filtered searches through a covering btree (issue 19, item 3): a btree on
-- the filter column that INCLUDEs the vector and every column the query
-- returns lets the planner answer WHERE cat = c ORDER BY v <-> q LIMIT k
-- with an index-only scan of the matching entries and a top-k sort: exact,
-- full results, and no heap page read while the visibility map says the
-- pages are all-visible.  Under a selective filter this is cheaper than
-- both the iterating HNSW scan and the plain btree (one heap page per
-- matching row); under a loose one the HNSW scan stays.

CREATE TABLE hfc (id int, cat int, cat10 int, score float8, v vector(32))
	WITH (autovacuum_enabled = off);
INSERT INTO hfc
SELECT i, i % 100, i % 10, ((i * 7919) % 10000) / 10000.0,
	   ARRAY(SELECT sin(i * 0.7 + d * 1.3) * 10 + cos(i * 0.11 * d) FROM generate_series(1, 32) d)::vector
FROM generate_series(1, 20000) i;
CREATE INDEX hfc_cat ON hfc (cat);
CREATE INDEX hfc_cat_cover ON hfc (cat) INCLUDE (id, v);
CREATE INDEX hfc_cat10_cover ON hfc (cat10) INCLUDE (id, v);
CREATE INDEX hfc_score_cover ON hfc (score) INCLUDE (id, v);
CREATE INDEX hfc_v ON hfc USING hnsw (v vector_l2_ops);
VACUUM ANALYZE hfc;
SET max_parallel_workers_per_gather = 0;
SELECT '[' || array_to_string(ARRAY(SELECT d FROM generate_series(1, 32) d), ',') || ']' AS q \gset
SET hnsw.iterative_scan = relaxed_order;

-- Heap pages an index-only scan had to read (EXPLAIN ANALYZE's Heap Fetches)
CREATE FUNCTION hfc_heap_fetches(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	plan json;
	total bigint := 0;
	node json;
	todo json[];
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query INTO plan;
	todo := ARRAY[plan -> 0 -> 'Plan'];
	WHILE cardinality(todo) > 0 LOOP
		node := todo[1];
		todo := todo[2:];
		total := total + coalesce((node ->> 'Heap Fetches')::bigint, 0);
		IF node -> 'Plans' IS NOT NULL THEN
			todo := todo || ARRAY(SELECT json_array_elements(node -> 'Plans'));
		END IF;
	END LOOP;
	RETURN total;
END $$;

-- no filter: the HNSW index
EXPLAIN (COSTS OFF) SELECT id FROM hfc ORDER BY v <-> :'q' LIMIT 10;

-- 1% (an equality, a range): the covering btree, index-only, and a sort
EXPLAIN (COSTS OFF) SELECT id FROM hfc WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hfc WHERE score >= 0.25 AND score < 0.26 ORDER BY v <-> :'q' LIMIT 10;

-- the distance returned too: still index-only (v is in the index)
EXPLAIN (COSTS OFF) SELECT id, v <-> :'q' AS d FROM hfc WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;

-- a column the covering index lacks: the rows come from the heap
EXPLAIN (COSTS OFF) SELECT id, cat10 FROM hfc WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 10;

-- 50%: the HNSW index, iterating
EXPLAIN (COSTS OFF) SELECT id FROM hfc WHERE cat10 < 5 ORDER BY v <-> :'q' LIMIT 10;

-- all-visible pages: no heap page is read
SELECT hfc_heap_fetches(format('SELECT id FROM hfc WHERE cat = 7 ORDER BY v <-> %L LIMIT 10', :'q')) AS heap_fetches;

-- full and exact results under each filter: the same distances as a plain
-- sort of the table
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE hfc_exact AS
SELECT c,
	   (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hfc
		WHERE cat = c ORDER BY 1 LIMIT 10) s) AS ds,
	   (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hfc
		WHERE score >= c / 100.0 AND score < c / 100.0 + 0.01 ORDER BY 1 LIMIT 10) s) AS dr
FROM generate_series(0, 99, 11) c;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT c, cardinality(ds) AS n,
	   (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hfc
		WHERE cat = c ORDER BY v <-> :'q' LIMIT 10) s) = ds AS same_eq,
	   (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> :'q' AS d FROM hfc
		WHERE score >= c / 100.0 AND score < c / 100.0 + 0.01 ORDER BY v <-> :'q' LIMIT 10) s) = dr AS same_range
FROM hfc_exact ORDER BY c;

-- rows changed since the last VACUUM: their pages are no longer
-- all-visible, the scan reads those from the heap, and the results follow
-- the changes (a moved row, a deleted one)
UPDATE hfc SET v = (:'q')::vector WHERE id = 507;
DELETE FROM hfc WHERE id = 607;
SELECT hfc_heap_fetches(format('SELECT id FROM hfc WHERE cat = 7 ORDER BY v <-> %L LIMIT 10', :'q')) > 0 AS reads_heap;
SELECT id, v <-> :'q' AS d FROM hfc WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM hfc WHERE cat = 7 ORDER BY v <-> :'q' LIMIT 1000) s;
SELECT count(*) FROM hfc WHERE cat = 7 AND id = 607;

-- and after VACUUM, index-only again
VACUUM hfc;
SELECT hfc_heap_fetches(format('SELECT id FROM hfc WHERE cat = 7 ORDER BY v <-> %L LIMIT 10', :'q')) AS heap_fetches;

-- Equality filters on a few values: a partial HNSW index per value.  The
-- planner takes the one whose predicate the query's filter implies, and the
-- scan searches the matching rows only (nothing left to filter); other
-- values keep the other plans.
CREATE INDEX hfc_v_cat10_3 ON hfc USING hnsw (v vector_l2_ops) WHERE cat10 = 3;
ANALYZE hfc;
EXPLAIN (COSTS OFF) SELECT id FROM hfc WHERE cat10 = 3 ORDER BY v <-> :'q' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hfc WHERE cat10 = 4 ORDER BY v <-> :'q' LIMIT 10;
-- full results, every one matching (approximate: the partial graph is an
-- HNSW graph of the matching rows)
SELECT count(*) AS n, bool_and(cat10 = 3) AS all_match
FROM (SELECT cat10 FROM hfc WHERE cat10 = 3 ORDER BY v <-> :'q' LIMIT 10) s;

RESET hnsw.iterative_scan;
RESET max_parallel_workers_per_gather;
DROP FUNCTION hfc_heap_fetches(text);
DROP TABLE hfc;
