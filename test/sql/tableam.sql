-- ruvector_heap as a heap: DDL, DML, indexes, maintenance, access method
-- changes, and vectors kept inline.  Tier moves are in tableam_tiers.sql.

SELECT amname, amtype, amhandler FROM pg_am WHERE amname = 'ruvector_heap';

CREATE TABLE rvh (id int PRIMARY KEY, v vector(3), h halfvec(3), note text) USING ruvector_heap;

-- vector and halfvec columns get MAIN storage: inline unless the row cannot fit
SELECT attname, attstorage FROM pg_attribute
WHERE attrelid = 'rvh'::regclass AND attnum > 0 ORDER BY attnum;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'rvh';

-- DML
INSERT INTO rvh VALUES (1, '[1,2,3]', '[1,2,3]', 'one'), (2, '[4,5,6]', '[4,5,6]', 'two'), (3, NULL, NULL, 'three');
INSERT INTO rvh SELECT i, ARRAY[i, i + 1, i + 2]::real[]::vector, ARRAY[i, 0, -i]::real[]::halfvec, 'row ' || i
FROM generate_series(4, 1000) i;
SELECT count(*), sum(id), count(v), count(h) FROM rvh;
UPDATE rvh SET v = '[9,9,9]', note = 'updated' WHERE id = 2;
DELETE FROM rvh WHERE id > 900;
SELECT * FROM rvh WHERE id <= 4 ORDER BY id;
SELECT id, v <-> '[1,2,3]' AS dist FROM rvh ORDER BY dist, id LIMIT 3;
INSERT INTO rvh VALUES (1, '[0,0,0]', NULL, 'dup');
INSERT INTO rvh VALUES (1, '[0,0,0]', NULL, 'dup') ON CONFLICT (id) DO UPDATE SET note = excluded.note RETURNING id, v, note;
SELECT id, note FROM rvh WHERE id = 4 FOR UPDATE;

-- COPY in and out
COPY rvh (id, v, note) FROM stdin;
2001	[0.5,-0.5,1.5]	copied
2002	\N	copied null
\.
COPY (SELECT id, v, h FROM rvh WHERE id IN (1, 2001, 2002) ORDER BY id) TO stdout;

-- indexes: btree on the key and on the vector, index-only, bitmap
CREATE INDEX rvh_v ON rvh (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM rvh WHERE v = '[5,6,7]';
SELECT id FROM rvh WHERE v = '[5,6,7]';
EXPLAIN (COSTS OFF) SELECT id FROM rvh WHERE id < 3;
SELECT id FROM rvh WHERE id < 3 ORDER BY id;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rvh WHERE id BETWEEN 10 AND 20;
SELECT count(*) FROM rvh WHERE id BETWEEN 10 AND 20;
RESET enable_indexscan;
RESET enable_seqscan;

-- TID and TID range scans
SELECT id FROM rvh WHERE ctid = '(0,3)';
SELECT count(*) > 0 AS some FROM rvh WHERE ctid < '(1,0)';

-- maintenance
VACUUM rvh;
ANALYZE rvh;
SELECT attname, null_frac FROM pg_stats WHERE tablename = 'rvh' AND attname = 'v';
VACUUM FULL rvh;
CLUSTER rvh USING rvh_pkey;
SELECT count(*), sum(id) FROM rvh;

-- an hnsw index on a ruvector_heap table
CREATE INDEX rvh_hnsw ON rvh USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM rvh ORDER BY v <-> '[3,4,5]' LIMIT 1;
SELECT id FROM rvh ORDER BY v <-> '[3,4,5]' LIMIT 1;
RESET enable_seqscan;
DROP INDEX rvh_hnsw;

-- access method changes, both ways
ALTER TABLE rvh SET ACCESS METHOD heap;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'rvh';
SELECT count(*), sum(id) FROM rvh;
ALTER TABLE rvh SET ACCESS METHOD ruvector_heap;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'rvh';
SELECT * FROM rvh WHERE id <= 2 ORDER BY id;

-- TRUNCATE
TRUNCATE rvh;
SELECT count(*) FROM rvh;
INSERT INTO rvh VALUES (1, '[1,1,1]', '[1,1,1]', 'after truncate');
SELECT * FROM rvh;

-- a TOAST table that is plain heap
SELECT a.amname FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
JOIN pg_am a ON a.oid = t.relam WHERE c.relname = 'rvh';

-- inline storage: 768-d vectors (incompressible values) stay in the heap
-- page, where heap moves them to TOAST; a column added later is kept inline
-- too, although its catalog storage is the type's default
CREATE TABLE rvh_wide (id int, v vector(768)) USING ruvector_heap;
ALTER TABLE rvh_wide ADD COLUMN w vector(768);
SELECT attname, attstorage FROM pg_attribute
WHERE attrelid = 'rvh_wide'::regclass AND attnum > 0 ORDER BY attnum;
CREATE TABLE heap_wide (id int, v vector(768), w vector(768)) USING heap;
CREATE TEMP VIEW wide_rows AS SELECT i AS id, x AS v, x AS w FROM generate_series(1, 50) i,
  LATERAL (SELECT array_agg(sin(i * 1000 + j)::real)::vector AS x FROM generate_series(1, 768) j) s;
INSERT INTO rvh_wide SELECT * FROM wide_rows;
INSERT INTO heap_wide SELECT * FROM wide_rows;
SELECT c.relname, pg_relation_size(c.oid) > 0 AS heap_pages,
       pg_relation_size(c.reltoastrelid) > 0 AS toasted
FROM pg_class c WHERE c.relname IN ('rvh_wide', 'heap_wide') ORDER BY 1;
SELECT count(*) FROM rvh_wide r JOIN heap_wide h USING (id) WHERE r.v = h.v AND r.w = h.w;

-- a row that cannot fit a page still goes out of line, as heap does
CREATE TABLE rvh_huge (id int, a vector(1500), b vector(1500), c vector(1500)) USING ruvector_heap;
INSERT INTO rvh_huge SELECT 1, x, x, x FROM (SELECT array_agg(j::real)::vector AS x FROM generate_series(1, 1500) j) s;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE relname = 'rvh_huge';
SELECT vector_dims(a), a = c AS same FROM rvh_huge;

-- a materialized view stored with ruvector_heap
CREATE MATERIALIZED VIEW rvh_mv USING ruvector_heap AS SELECT id, v FROM rvh_wide WHERE id <= 3;
REFRESH MATERIALIZED VIEW rvh_mv;
SELECT id, vector_dims(v) FROM rvh_mv ORDER BY id;

-- temporary and unlogged tables
CREATE TEMP TABLE rvh_temp (v vector(2)) USING ruvector_heap;
INSERT INTO rvh_temp VALUES ('[1,2]');
SELECT * FROM rvh_temp;
CREATE UNLOGGED TABLE rvh_unlogged (v vector(2)) USING ruvector_heap;
INSERT INTO rvh_unlogged VALUES ('[3,4]');
SELECT * FROM rvh_unlogged;

-- the default access method can be ruvector_heap
SET default_table_access_method = ruvector_heap;
CREATE TABLE rvh_default (v vector(2));
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'rvh_default';
RESET default_table_access_method;

DROP MATERIALIZED VIEW rvh_mv;
DROP TABLE rvh, rvh_wide, heap_wide, rvh_huge, rvh_temp, rvh_unlogged, rvh_default;
