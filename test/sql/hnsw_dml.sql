-- HNSW under data changes: inserts after the build, duplicates, DELETE and
-- VACUUM, TRUNCATE, unlogged tables, concurrent builds, and vectors large
-- enough that an element's neighbour slots go to an overflow tuple.

SET enable_seqscan = off;
SET hnsw.ef_search = 200;

-- Whether the index gives the exact nearest distances for a query
CREATE FUNCTION hnsw_exact(tab text, q text, k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	exact float8[];
	indexed float8[];
BEGIN
	EXECUTE format('SELECT array_agg(d) FROM (SELECT v <-> %L AS d FROM %I ORDER BY v <-> %L LIMIT %s) r',
				   q, tab, q, k) INTO indexed;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_seqscan = on;
	EXECUTE format('SELECT array_agg(d) FROM (SELECT v <-> %L AS d FROM %I ORDER BY v <-> %L LIMIT %s) r',
				   q, tab, q, k) INTO exact;
	RETURN exact = indexed;
END
$$;

-- VACUUM removes dead rows only when no other snapshot of this database
-- is older (an autovacuum ANALYZE or a background worker may hold one for a
-- moment): wait, up to 10 s, until none is, so the counts after a VACUUM
-- do not depend on timing.
CREATE FUNCTION wait_for_horizon() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..200 LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
							  WHERE datname = current_database() AND pid <> pg_backend_pid()
								AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL));
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

-- Empty at build, filled by inserts (the first one becomes the entry point)
CREATE TABLE hm (id serial, v vector(3));
CREATE INDEX hm_idx ON hm USING hnsw (v vector_l2_ops);
SELECT count(*) FROM (SELECT id FROM hm ORDER BY v <-> '[1,1,1]') r;
INSERT INTO hm (v) SELECT ARRAY[i % 10, (i / 10) % 10, i / 100] FROM generate_series(0, 1199) i;
SELECT count(*) FROM (SELECT id FROM hm ORDER BY v <-> '[1,1,1]') r;
SELECT hnsw_exact('hm', '[4.2,5.1,1.7]', 20);
-- ruvector_hnsw_verify finds nothing wrong at any point
SELECT severity, count(*) FROM ruvector_hnsw_verify('hm_idx') WHERE severity = 'error' GROUP BY 1;

-- Identical vectors share an element of up to ten heap TIDs
CREATE TABLE hdup (v vector(3));
CREATE INDEX ON hdup USING hnsw (v vector_l2_ops);
INSERT INTO hdup SELECT '[1,1,1]' FROM generate_series(1, 20);
SET hnsw.ef_search = 1;
SELECT count(*) FROM (SELECT v FROM hdup ORDER BY v <-> '[1,1,1]') r;
SET hnsw.ef_search = 200;
SELECT count(*) FROM (SELECT v FROM hdup ORDER BY v <-> '[1,1,1]') r;
-- and the same when the build merges them
REINDEX TABLE hdup;
SET hnsw.ef_search = 1;
SELECT count(*) FROM (SELECT v FROM hdup ORDER BY v <-> '[1,1,1]') r;
SET hnsw.ef_search = 200;
DROP TABLE hdup;

-- DELETE then VACUUM: dead rows leave, the graph is repaired around them
DELETE FROM hm WHERE id % 3 = 0;
SELECT wait_for_horizon();
VACUUM hm;
SELECT count(*) FROM (SELECT id FROM hm ORDER BY v <-> '[1,1,1]') r;
SELECT hnsw_exact('hm', '[4.2,5.1,1.7]', 20);
SELECT hnsw_exact('hm', '[0,0,0]', 30);
SELECT severity, count(*) FROM ruvector_hnsw_verify('hm_idx') WHERE severity = 'error' GROUP BY 1;

-- Freed elements are reused: the index hardly grows on refill (a new
-- element with more levels than the one it replaces may not fit, so a page
-- or two may be added; without reuse it would grow by a third)
SELECT pg_relation_size('hm_idx') AS before \gset
INSERT INTO hm (v) SELECT ARRAY[i % 10, (i / 10) % 10, i / 100] FROM generate_series(0, 1199) i WHERE i % 3 = 2;
SELECT pg_relation_size('hm_idx') <= :before * 1.15 AS little_growth;
SELECT count(*) FROM (SELECT id FROM hm ORDER BY v <-> '[1,1,1]' LIMIT 250) r;
SELECT hnsw_exact('hm', '[9,9,2]', 25);
SELECT severity, count(*) FROM ruvector_hnsw_verify('hm_idx') WHERE severity = 'error' GROUP BY 1;

-- Everything deleted: an empty graph, then a new one from inserts
DELETE FROM hm;
SELECT wait_for_horizon();
VACUUM hm;
SELECT count(*) FROM (SELECT id FROM hm ORDER BY v <-> '[1,1,1]') r;
INSERT INTO hm (v) VALUES ('[1,2,3]'), ('[3,2,1]');
SELECT v FROM hm ORDER BY v <-> '[3,3,1]';

-- TRUNCATE empties the index
TRUNCATE hm;
SELECT count(*) FROM (SELECT id FROM hm ORDER BY v <-> '[1,1,1]') r;
INSERT INTO hm (v) VALUES ('[1,1,1]');
SELECT v FROM hm ORDER BY v <-> '[0,0,0]';
DROP TABLE hm;

-- Concurrent builds and rebuilds
CREATE TABLE hc (v vector(3));
INSERT INTO hc SELECT ARRAY[i, i % 7, i % 11] FROM generate_series(1, 200) i;
CREATE INDEX CONCURRENTLY hc_idx ON hc USING ruhnsw (v vector_l2_ops);
SELECT hnsw_exact('hc', '[50,3,3]', 10);
REINDEX INDEX CONCURRENTLY hc_idx;
SELECT hnsw_exact('hc', '[50,3,3]', 10);
DROP TABLE hc;

-- Unlogged tables get an init fork
CREATE UNLOGGED TABLE hu (v vector(3));
INSERT INTO hu SELECT ARRAY[i, i, i] FROM generate_series(1, 50) i;
CREATE INDEX ON hu USING hnsw (v vector_l2_ops);
SELECT v FROM hu ORDER BY v <-> '[10.2,10,10]' LIMIT 3;
DROP TABLE hu;

-- Partial and expression indexes
CREATE TABLE hp (id int, v vector(2));
INSERT INTO hp SELECT i, ARRAY[i, 100 - i] FROM generate_series(1, 100) i;
CREATE INDEX hp_part ON hp USING hnsw (v vector_l2_ops) WHERE id > 50;
EXPLAIN (COSTS OFF) SELECT id FROM hp WHERE id > 50 ORDER BY v <-> '[10,90]' LIMIT 3;
SELECT id FROM hp WHERE id > 50 ORDER BY v <-> '[10,90]' LIMIT 3;
CREATE INDEX hp_expr ON hp USING hnsw ((v::halfvec(2)) halfvec_l1_ops);
SELECT id FROM hp ORDER BY v::halfvec(2) <+> '[30.2,69.8]' LIMIT 3;
DROP TABLE hp;

-- 2000 dimensions: neighbour slots no longer fit beside the value, so they
-- live in overflow tuples on the following page; inserts, deletes and
-- VACUUM go through the same paths.
CREATE TABLE hbig (id int, v vector(2000));
INSERT INTO hbig SELECT i, array_fill(i::real, ARRAY[2000]) FROM generate_series(1, 30) i;
CREATE INDEX hbig_idx ON hbig USING hnsw (v vector_l2_ops);
SELECT id FROM hbig ORDER BY v <-> array_fill(7.4::real, ARRAY[2000])::vector LIMIT 3;
INSERT INTO hbig SELECT i, array_fill(i::real, ARRAY[2000]) FROM generate_series(31, 60) i;
SELECT id FROM hbig ORDER BY v <-> array_fill(40.6::real, ARRAY[2000])::vector LIMIT 3;
DELETE FROM hbig WHERE id % 2 = 0;
VACUUM hbig;
SELECT id FROM hbig ORDER BY v <-> array_fill(40.6::real, ARRAY[2000])::vector LIMIT 3;
SELECT count(*) FROM (SELECT id FROM hbig ORDER BY v <-> array_fill(0::real, ARRAY[2000])::vector) r;
SELECT pg_relation_size('hbig_idx') AS before \gset
INSERT INTO hbig SELECT i, array_fill(i::real, ARRAY[2000]) FROM generate_series(2, 60, 2) i;
SELECT pg_relation_size('hbig_idx') <= :before * 1.1 AS little_growth;
SELECT id FROM hbig ORDER BY v <-> array_fill(40.6::real, ARRAY[2000])::vector LIMIT 3;
SELECT severity, count(*) FROM ruvector_hnsw_verify('hbig_idx') WHERE severity = 'error' GROUP BY 1;
-- verify wants an hnsw index
SELECT * FROM ruvector_hnsw_verify('hbig');
CREATE INDEX hbig_btree ON hbig (id);
SELECT * FROM ruvector_hnsw_verify('hbig_btree');
DROP TABLE hbig;

-- halfvec and bit at their largest
CREATE TABLE hbh (id int, h halfvec(4000), b bit(64000));
INSERT INTO hbh SELECT i, array_fill(i::real, ARRAY[4000])::halfvec,
	(repeat('1', i * 1000) || repeat('0', 64000 - i * 1000))::bit(64000)
FROM generate_series(1, 20) i;
CREATE INDEX ON hbh USING hnsw (h halfvec_l2_ops);
CREATE INDEX ON hbh USING hnsw (b bit_hamming_ops);
SELECT id FROM hbh ORDER BY h <-> array_fill(5.2::real, ARRAY[4000])::halfvec LIMIT 3;
SELECT id FROM hbh ORDER BY b <~> (repeat('1', 12400) || repeat('0', 51600))::bit(64000) LIMIT 3;
DROP TABLE hbh;

DROP FUNCTION hnsw_exact(text, text, int);
DROP FUNCTION wait_for_horizon();
RESET hnsw.ef_search;
RESET enable_seqscan;
