-- IVFFlat centroid refresh: ruvector_ivf_stats and ruvector_ivf_refresh,
-- the drift figures, recycling of replaced lists by VACUUM, and the
-- functions' errors and permissions.  (Crashes, replicas, recall and the
-- background worker are in test/t/205-207.)

-- Whether the index, with every list probed, gives the k nearest rows of
-- an exact search (ids, in order; the data has no distance ties).
CREATE FUNCTION ivf_r_exact(tbl text, expr text, k int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
	a int[];
	b int[];
BEGIN
	PERFORM set_config('ivfflat.probes', '32768', true);
	PERFORM set_config('enable_seqscan', 'off', true);
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY %s LIMIT %s) s', tbl, expr, k) INTO a;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY %s LIMIT %s) s', tbl, expr, k) INTO b;
	PERFORM set_config('enable_indexscan', 'on', true);
	RETURN a IS NOT DISTINCT FROM b;
END $$;

-- Built on rows around the origin.  (No autovacuum: it would recycle
-- replaced lists at moments of its own.)
CREATE TABLE ivf_r (id int, v vector(3)) WITH (autovacuum_enabled = false);
INSERT INTO ivf_r SELECT i, ARRAY[sin(i), cos(i * 1.1), sin(i * 0.2)] FROM generate_series(1, 2000) i;
CREATE INDEX ivf_r_idx ON ivf_r USING ivfflat (v) WITH (lists = 8);

-- Figures right after the build: no drift yet.
SELECT version, lists, entries, cardinality(list_sizes) AS n_sizes,
       (SELECT sum(s) FROM unnest(list_sizes) s) = entries AS sizes_add_up,
       min_list_size <= max_list_size AS min_le_max, size_skew >= 1 AS skew_ge_1,
       baseline_distance > 0 AS has_baseline, inserted, inserted_distance, drift,
       refreshes, last_refresh, recycle_pending
FROM ruvector_ivf_stats('ivf_r_idx');

-- Rows like the build's barely move the drift.
INSERT INTO ivf_r SELECT i, ARRAY[sin(i), cos(i * 1.1), sin(i * 0.2)] FROM generate_series(2001, 2200) i;
SELECT inserted, drift BETWEEN 0.8 AND 1.2 AS drift_near_1 FROM ruvector_ivf_stats('ivf_r_idx');

-- Rows far from every center raise it, and skew the list sizes.
INSERT INTO ivf_r SELECT i, ARRAY[5 + sin(i), 5 + cos(i * 1.3), 5 + sin(i * 0.7)] FROM generate_series(2201, 4200) i;
SELECT entries, inserted, inserted_distance > 3 * baseline_distance AS far,
       drift > 2 AS drifted, size_skew > 2 AS skewed
FROM ruvector_ivf_stats('ivf_r_idx');
SELECT ivf_r_exact('ivf_r', 'v <-> ''[5,5,5]''', 20), ivf_r_exact('ivf_r', 'v <-> ''[0,0.5,0]''', 20);

-- A refresh rewrites every entry and resets the figures.
SELECT ruvector_ivf_refresh('ivf_r_idx');
SELECT version, entries, inserted, inserted_distance, drift, refreshes,
       last_refresh > now() - interval '1 hour' AS refreshed_now, recycle_pending,
       size_skew < 2 AS balanced
FROM ruvector_ivf_stats('ivf_r_idx');
SELECT ivf_r_exact('ivf_r', 'v <-> ''[5,5,5]''', 20), ivf_r_exact('ivf_r', 'v <-> ''[0,0.5,0]''', 20);

-- With one list probed, a query among the new rows finds its neighbours.
SET ivfflat.probes = 1;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ivf_r ORDER BY v <-> '[5,5,5]' LIMIT 10) s WHERE id > 2200;
RESET enable_seqscan;
RESET ivfflat.probes;

-- VACUUM recycles the replaced lists; the next refresh reuses their
-- pages, so the index barely grows (without reuse it would by half: a
-- refresh writes as many pages as the lists it replaces hold).
VACUUM ivf_r;
SELECT recycle_pending FROM ruvector_ivf_stats('ivf_r_idx');
SELECT pg_relation_size('ivf_r_idx') AS size_before \gset
SELECT ruvector_ivf_refresh('ivf_r_idx');
SELECT pg_relation_size('ivf_r_idx') < :size_before * 1.2 AS reused, refreshes
FROM ruvector_ivf_stats('ivf_r_idx');

-- Inserts, deletes and VACUUM on the new lists.
INSERT INTO ivf_r SELECT i, ARRAY[-3 + sin(i), cos(i), 2 + sin(i * 0.3)] FROM generate_series(4201, 4500) i;
DELETE FROM ivf_r WHERE id % 7 = 0;
VACUUM ivf_r;
SELECT entries = (SELECT count(*) FROM ivf_r) AS entries_match, inserted
FROM ruvector_ivf_stats('ivf_r_idx');
SELECT ivf_r_exact('ivf_r', 'v <-> ''[-3,0,2]''', 30), ivf_r_exact('ivf_r', 'v <-> ''[5,5,5]''', 30);

-- Two refreshes with no VACUUM between: both replaced generations wait,
-- linked, and one VACUUM recycles them.
SELECT ruvector_ivf_refresh('ivf_r_idx') > 0 AS r1;
BEGIN;
-- A scan holds the index, so the second refresh cannot recycle the first's
-- lists and links them behind its own.
DECLARE c CURSOR FOR SELECT id FROM ivf_r ORDER BY v <-> '[0,0,0]';
MOVE FORWARD 1 IN c;
SELECT ruvector_ivf_refresh('ivf_r_idx') > 0 AS r2;
MOVE FORWARD 1 IN c;
COMMIT;
SELECT refreshes, recycle_pending FROM ruvector_ivf_stats('ivf_r_idx');
VACUUM ivf_r;
SELECT recycle_pending FROM ruvector_ivf_stats('ivf_r_idx');
SELECT ivf_r_exact('ivf_r', 'v <-> ''[-3,0,2]''', 30);

-- Inserts that extend chains take recycled pages too.
SELECT pg_relation_size('ivf_r_idx') AS size_before \gset
INSERT INTO ivf_r SELECT i, ARRAY[9 + sin(i), cos(i), sin(i * 0.3)] FROM generate_series(5001, 6000) i;
SELECT pg_relation_size('ivf_r_idx') = :size_before AS same_size;
SELECT ivf_r_exact('ivf_r', 'v <-> ''[9,0,0]''', 30), ivf_r_exact('ivf_r', 'v <-> ''[-3,0,2]''', 30);

-- The test-only stop: an error after some pages leaves the old lists.
SET ruvector.ivf_refresh_test_fail_pages = 3;
SELECT ruvector_ivf_refresh('ivf_r_idx');
RESET ruvector.ivf_refresh_test_fail_pages;
SELECT refreshes, entries = (SELECT count(*) FROM ivf_r) AS entries_match
FROM ruvector_ivf_stats('ivf_r_idx');
SELECT ivf_r_exact('ivf_r', 'v <-> ''[-3,0,2]''', 30);

-- Each operator class and both access methods.
CREATE TABLE ivf_r2 (id int, v vector(4), b bit(16));
INSERT INTO ivf_r2 SELECT i, ARRAY[sin(i), cos(i * 0.7), 1 + sin(i * 0.3), cos(i * 1.9)],
       (i * 7919 % 65536)::bit(16) FROM generate_series(1, 1500) i;
CREATE INDEX ivf_r2_ip ON ivf_r2 USING ivfflat (v vector_ip_ops) WITH (lists = 5);
CREATE INDEX ivf_r2_cos ON ivf_r2 USING ruivfflat (v vector_cosine_ops) WITH (lists = 5);
CREATE INDEX ivf_r2_half ON ivf_r2 USING ivfflat ((v::halfvec(4)) halfvec_l2_ops) WITH (lists = 5);
CREATE INDEX ivf_r2_bit ON ivf_r2 USING ivfflat (b bit_hamming_ops) WITH (lists = 5);
INSERT INTO ivf_r2 SELECT i, ARRAY[3 + sin(i), -2 + cos(i), sin(i * 0.5), 4 + cos(i * 0.1)],
       (i * 104729 % 65536)::bit(16) FROM generate_series(1501, 2500) i;
SELECT relname, round((ruvector_ivf_stats(oid)).drift::numeric, 1) AS drift
FROM pg_class WHERE relname LIKE 'ivf\_r2\_%' ORDER BY relname;
SELECT relname, ruvector_ivf_refresh(oid) AS written
FROM pg_class WHERE relname LIKE 'ivf\_r2\_%' ORDER BY relname;
SELECT relname, (ruvector_ivf_stats(oid)).drift
FROM pg_class WHERE relname LIKE 'ivf\_r2\_%' ORDER BY relname;
SELECT ivf_r_exact('ivf_r2', 'v <#> ''[1,1,1,1]''', 25) AS ip,
       ivf_r_exact('ivf_r2', 'v <=> ''[1,-1,1,3]''', 25) AS cos,
       ivf_r_exact('ivf_r2', 'v::halfvec(4) <-> ''[3,-2,0,4]''', 25) AS half;
SET enable_seqscan = off;
SET ivfflat.probes = 5;
SELECT count(*) FROM (SELECT id FROM ivf_r2 ORDER BY b <~> '1010101010101010' LIMIT 3000) s;
RESET ivfflat.probes;
RESET enable_seqscan;

-- An index built on an empty table has no baseline: infinite drift once
-- rows arrive, and a refresh gives it one.
CREATE TABLE ivf_r3 (id int, v vector(2));
CREATE INDEX ivf_r3_idx ON ivf_r3 USING ivfflat (v) WITH (lists = 3);
SELECT entries, baseline_distance, drift FROM ruvector_ivf_stats('ivf_r3_idx');
INSERT INTO ivf_r3 SELECT i, ARRAY[i % 10, i / 10] FROM generate_series(1, 300) i;
SELECT entries, drift FROM ruvector_ivf_stats('ivf_r3_idx');
SELECT ruvector_ivf_refresh('ivf_r3_idx');
SELECT entries, baseline_distance > 0 AS has_baseline, drift FROM ruvector_ivf_stats('ivf_r3_idx');
-- An empty index refreshes to an empty index.
TRUNCATE ivf_r3;
SELECT ruvector_ivf_refresh('ivf_r3_idx');
SELECT entries, lists FROM ruvector_ivf_stats('ivf_r3_idx');

-- Unlogged and temporary tables.
CREATE UNLOGGED TABLE ivf_r4 (id int, v vector(2));
INSERT INTO ivf_r4 SELECT i, ARRAY[sin(i), cos(i)] FROM generate_series(1, 500) i;
CREATE INDEX ivf_r4_idx ON ivf_r4 USING ivfflat (v) WITH (lists = 4);
SELECT ruvector_ivf_refresh('ivf_r4_idx');
SELECT ivf_r_exact('ivf_r4', 'v <-> ''[0.5,0.5]''', 10);
CREATE TEMP TABLE ivf_r5 (id int, v vector(2));
INSERT INTO ivf_r5 SELECT i, ARRAY[sin(i), cos(i)] FROM generate_series(1, 500) i;
CREATE INDEX ivf_r5_idx ON ivf_r5 USING ivfflat (v) WITH (lists = 4);
SELECT ruvector_ivf_refresh('ivf_r5_idx');
SELECT ivf_r_exact('ivf_r5', 'v <-> ''[0.5,0.5]''', 10);

-- Errors: not an index, not an ivfflat index, no such relation, a
-- partitioned index.  NULL gives NULL.
SELECT ruvector_ivf_refresh('ivf_r');
SELECT ruvector_ivf_stats('ivf_r');
CREATE INDEX ivf_r_btree ON ivf_r (id);
SELECT ruvector_ivf_refresh('ivf_r_btree');
CREATE INDEX ivf_r_hnsw ON ivf_r USING hnsw (v vector_l2_ops);
SELECT ruvector_ivf_stats('ivf_r_hnsw');
SELECT ruvector_ivf_refresh(0);
SELECT ruvector_ivf_refresh(NULL);
BEGIN READ ONLY;
SELECT ruvector_ivf_refresh('ivf_r_idx');
ROLLBACK;
CREATE TABLE ivf_rp (id int, v vector(2)) PARTITION BY RANGE (id);
CREATE TABLE ivf_rp1 PARTITION OF ivf_rp FOR VALUES FROM (0) TO (1000);
INSERT INTO ivf_rp SELECT i, ARRAY[sin(i), cos(i)] FROM generate_series(1, 300) i;
CREATE INDEX ivf_rp_idx ON ivf_rp USING ivfflat (v) WITH (lists = 2);
SELECT ruvector_ivf_refresh('ivf_rp_idx');
SELECT ruvector_ivf_refresh(indexrelid) > 0 AS partition_refreshed
FROM pg_index WHERE indrelid = 'ivf_rp1'::regclass;

-- Permissions: both need ruvector_operator; then refresh is for the
-- owner, and stats needs SELECT on the table.
CREATE ROLE regress_ivf_r_user;
SET ROLE regress_ivf_r_user;
SELECT ruvector_ivf_refresh('ivf_r_idx');
SELECT lists FROM ruvector_ivf_stats('ivf_r_idx');
RESET ROLE;
GRANT ruvector_operator TO regress_ivf_r_user;
SET ROLE regress_ivf_r_user;
SELECT ruvector_ivf_refresh('ivf_r_idx');
SELECT lists FROM ruvector_ivf_stats('ivf_r_idx');
RESET ROLE;
GRANT SELECT ON ivf_r TO regress_ivf_r_user;
SET ROLE regress_ivf_r_user;
SELECT lists FROM ruvector_ivf_stats('ivf_r_idx');
SELECT ruvector_ivf_refresh('ivf_r_idx');
-- The test-only settings are for superusers.
SET ruvector.ivf_refresh_test_fail_pages = 1;
RESET ROLE;
ALTER TABLE ivf_r OWNER TO regress_ivf_r_user;
SET ROLE regress_ivf_r_user;
SELECT ruvector_ivf_refresh('ivf_r_idx') > 0 AS owner_refreshed;
RESET ROLE;

-- The worker's settings exist without preloading (the worker does not).
SELECT name, boot_val, unit, context FROM pg_settings
WHERE name IN ('ruvector.ivf_refresh_threshold', 'ruvector.worker_naptime',
               'ruvector.ivf_refresh_test_fail_pages', 'ruvector.ivf_refresh_test_fail_panic')
ORDER BY name;
SET ruvector.ivf_refresh_threshold = 2;

DROP TABLE ivf_r, ivf_r2, ivf_r3, ivf_r4, ivf_r5, ivf_rp;
DROP ROLE regress_ivf_r_user;
DROP FUNCTION ivf_r_exact(text, text, int);
