-- ruvector_heap tiers: policies, moves, and what every read path returns.
-- The tables are UNLOGGED, whose moves need no WAL, so this file gives the
-- same output with or without shared_preload_libraries; WAL-logged moves,
-- crashes, replicas and dumps are tested in test/t/4xx_tableam_*.pl.

-- A database of its own: codebook ids come from a sequence that every file
-- run before this one in the same database advances (tier_security trains
-- codebooks too), and the ids show in NOTICEs, in ruvector_codebooks and in
-- the header of encoded values; the catalog counts below must see only
-- this file's tables.
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS rv_tableam_tiers;
RESET client_min_messages;
CREATE DATABASE rv_tableam_tiers;
\c rv_tableam_tiers
CREATE EXTENSION ruvector;

-- 2000 rows of 16 dimensions whose values are not halves, and a float32 copy
CREATE UNLOGGED TABLE tv (id int PRIMARY KEY, v vector(16), note text) USING ruvector_heap;
INSERT INTO tv SELECT i, (SELECT array_agg(sin(i * 16 + j)::real) FROM generate_series(1, 16) j)::vector, 'n' || i
FROM generate_series(1, 2000) i;
CREATE TEMP TABLE ref AS SELECT * FROM tv;
-- small integers and powers of two are exactly halves; the last row is not
CREATE UNLOGGED TABLE tint (id int, v vector(4)) USING ruvector_heap;
INSERT INTO tint SELECT i, ARRAY[i % 7, -(i % 5), 0.5, 1024]::real[]::vector FROM generate_series(1, 500) i;
INSERT INTO tint VALUES (501, '[0.1,0.2,0.3,0.4]');
CREATE TEMP TABLE tint_ref AS SELECT * FROM tint;

-- what is where before any move
SELECT tier, blocks, rows, vector_bytes, round(compression_ratio::numeric, 3) AS ratio
FROM ruvector_tier_report('tv');

-- policy errors
SELECT ruvector_set_tiers('tv', 'v', '[]');
SELECT ruvector_set_tiers('tv', 'v', '{"colour": "red"}');
SELECT ruvector_set_tiers('tv', 'v', '{"exactness": "lossy"}');
SELECT ruvector_set_tiers('tv', 'v', '{"exactness": 1}');
SELECT ruvector_set_tiers('tv', 'v', '{"sq8": 5}');
SELECT ruvector_set_tiers('tv', 'v', '{"sq8": {"after_write": "-1 day"}}');
SELECT ruvector_set_tiers('tv', 'v', '{"sq8": {"after_read": true}}');
SELECT ruvector_set_tiers('tv', 'v', '{"sq8": {"after_write": "soon"}}');
SELECT ruvector_set_tiers('tv', 'v', '{"sq8": {"m": 4}}');
SELECT ruvector_set_tiers('tv', 'v', '{"sq8": {"max_reads": -1}}');
SELECT ruvector_set_tiers('tv', 'v', '{"pq": {"m": 17}}');
SELECT ruvector_set_tiers('tv', 'v', '{"pq": {"k": 300}}');
SELECT ruvector_set_tiers('tv', 'v', '{"pq": {"sample": 10}}');
SELECT ruvector_set_tiers('tv', 'note', '{}');
-- a halfvec column is inline and float16 already: no tiers, and the error says why
CREATE UNLOGGED TABLE th (id int, h halfvec(4)) USING ruvector_heap;
SELECT ruvector_set_tiers('th', 'h', '{"exactness": "sq8", "sq8": {}}');
DROP TABLE th;
SELECT ruvector_set_tiers('tv', 'nope', '{}');
SELECT ruvector_set_tiers('ref', 'v', '{}');
SELECT ruvector_set_tiers(NULL, 'v', '{}');

-- without a policy nothing moves; neither with thresholds not reached
SELECT * FROM ruvector_compact('tv');
SELECT ruvector_set_tiers('tv', 'v', '{"exactness": "sq8", "sq8": {"after_write": "100 years", "after_read": 3153600000, "max_reads": 0}}');
SELECT relid, attname, policy FROM ruvector_tier_policy ORDER BY relid::text, attname;
SELECT * FROM ruvector_compact('tv');

-- exact (the default): only lossless moves, float16 where every value is a half;
-- naming a lossy tier under exact is a mistake, said as such
SELECT ruvector_set_tiers('tint', 'v', '{"float16": {"after_write": 0, "after_read": "0 s"}, "sq8": {}}');
SELECT ruvector_set_tiers('tint', 'v', '{"float16": {"after_write": 0, "after_read": "0 s"}}');
SELECT * FROM ruvector_compact('tint');
SELECT tier, blocks, rows, vector_bytes, round(compression_ratio::numeric, 3) AS ratio
FROM ruvector_tier_report('tint');
SELECT count(*) AS bit_identical FROM tint JOIN tint_ref r USING (id) WHERE tint.v::real[] = r.v::real[];
SELECT * FROM tint WHERE id IN (1, 2, 501) ORDER BY id;
-- a renamed column detaches its policy (policies are kept by name), loudly
ALTER TABLE tint RENAME COLUMN v TO v_renamed;
SELECT blocks_scanned FROM ruvector_compact('tint');
ALTER TABLE tint RENAME COLUMN v_renamed TO v;

-- float16, lossy allowed
SELECT ruvector_set_tiers('tv', 'v', '{"exactness": "float16", "float16": {}}');
SELECT * FROM ruvector_compact('tv');
SELECT tier, blocks, rows, vector_bytes, round(compression_ratio::numeric, 3) AS ratio
FROM ruvector_tier_report('tv');
SELECT max(abs(d)) < 0.0005 AS within_half_precision
FROM (SELECT unnest((tv.v - r.v)::real[]) AS d FROM tv JOIN ref r USING (id)) s;

-- then sq8: blocks move colder again; a tier colder than exactness allows is capped
SELECT ruvector_set_tiers('tv', 'v', '{"exactness": "sq8", "sq8": {}, "pq": {}}');
-- the dry run says what the compact will do (same vectors), and moves nothing
SELECT * FROM ruvector_tier_plan('tv');
SELECT * FROM ruvector_tier_plan('tv');
SELECT * FROM ruvector_compact('tv');
SELECT count(*) AS nothing_left_to_plan FROM ruvector_tier_plan('tv');
-- each pass that moved something is in the table's history
SELECT source, count(*) AS passes, sum(blocks_moved) AS blocks, sum(vectors_moved) AS vectors,
	sum(bytes_freed) > 0 AS freed
FROM ruvector_tier_history WHERE relid = 'tv'::regclass GROUP BY source;
SELECT tier, blocks, rows, vector_bytes, round(compression_ratio::numeric, 3) AS ratio
FROM ruvector_tier_report('tv');
-- each component within scale / 2 (range 2 / 255 / 2) plus the float16 step
SELECT max(abs(d)) < 0.0045 AS within_sq8_error
FROM (SELECT unnest((tv.v - r.v)::real[]) AS d FROM tv JOIN ref r USING (id)) s;
SELECT * FROM ruvector_tier_verify('tv');

-- every read path returns decoded float32 vectors
SELECT v FROM tv WHERE id = 7;
SELECT pg_column_size(tv.v) AS bytes_read, pg_column_size(r.v) AS float32_bytes
FROM tv JOIN ref r USING (id) WHERE id = 7;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM tv WHERE id = 7;
SELECT v = (SELECT v FROM tv WHERE id = 7 AND note IS NOT NULL) AS index_scan_matches FROM tv WHERE id = 7;
RESET enable_bitmapscan;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM tv WHERE id < 100 AND v <> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]';
SELECT count(*) FROM tv JOIN ref r USING (id) WHERE tv.id < 100 AND l2_distance(tv.v, r.v) < 0.02;
RESET enable_indexscan;
RESET enable_seqscan;
SELECT id, v = (SELECT v FROM tv WHERE id = 1) AS tid_scan_matches FROM tv WHERE ctid = (SELECT ctid FROM tv WHERE id = 1);
SELECT count(*), count(*) FILTER (WHERE l2_distance(tv.v, r.v) < 0.02) AS close
FROM tv JOIN ref r USING (id) WHERE tv.ctid < '(3,0)';
SELECT count(*) FROM tv TABLESAMPLE BERNOULLI (50) REPEATABLE (7) WHERE vector_dims(v) = 16;
COPY (SELECT id, v FROM tv WHERE id = 7) TO stdout;
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT id, v FROM tv ORDER BY id;
FETCH LAST FROM c;
FETCH PRIOR FROM c;
FETCH ABSOLUTE 7 FROM c;
COMMIT;
SELECT id, pg_column_size(v) FROM tv WHERE id = 8 FOR UPDATE;
-- rows copied out are plain float32
CREATE TEMP TABLE copied AS SELECT * FROM tv;
SELECT count(*) AS plain_float32 FROM copied c JOIN ref r USING (id)
WHERE pg_column_size(c.v) = pg_column_size(r.v);
-- ANALYZE samples decoded values (the width of a float32 16-d vector)
ANALYZE tv, ref;
SELECT tablename, attname, avg_width FROM pg_stats
WHERE tablename IN ('tv', 'ref') AND attname = 'v' ORDER BY tablename;
-- index builds read decoded values: btree, hnsw and ivfflat
CREATE INDEX tv_v ON tv (v);
SELECT count(*) FROM copied c JOIN tv USING (id) WHERE tv.v = c.v;
CREATE INDEX tv_hnsw ON tv USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM tv ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 3;
SELECT array_agg(id ORDER BY id) AS hnsw FROM (SELECT id FROM tv ORDER BY v <-> (SELECT v FROM ref WHERE id = 77) LIMIT 3) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id ORDER BY id) AS exact FROM (SELECT id FROM tv ORDER BY v <-> (SELECT v FROM ref WHERE id = 77) LIMIT 3) s;
RESET enable_indexscan;
DROP INDEX tv_hnsw;
CREATE INDEX tv_ivf ON tv USING ivfflat (v vector_l2_ops) WITH (lists = 4);
SET enable_seqscan = off;
SET ivfflat.probes = 4;
EXPLAIN (COSTS OFF) SELECT id FROM tv ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 3;
SELECT array_agg(id ORDER BY id) AS ivfflat FROM (SELECT id FROM tv ORDER BY v <-> (SELECT v FROM ref WHERE id = 77) LIMIT 3) s;
RESET ivfflat.probes;
RESET enable_seqscan;
DROP INDEX tv_v, tv_ivf;

-- an update writes the row hot again
UPDATE tv SET note = 'hot again' WHERE id = 9 RETURNING id, pg_column_size(v);
SELECT tier, rows FROM ruvector_tier_report('tv');

-- pq: the codebook is trained when the policy is set (and committed with it)
SELECT ruvector_set_tiers('tv', 'v', '{"exactness": "pq", "pq": {"m": 8, "k": 16}}');
SELECT id, relid, attname, version, dim, m, k, rows_sampled, length(centroids) FROM ruvector_codebooks;
SELECT * FROM ruvector_compact('tv');
SELECT tier, blocks, rows, vector_bytes, round(compression_ratio::numeric, 3) AS ratio
FROM ruvector_tier_report('tv');
SELECT avg(l2_distance(tv.v, r.v) / vector_norm(r.v)) < 0.5 AS pq_error_bounded
FROM tv JOIN ref r USING (id);
SELECT * FROM ruvector_tier_verify('tv');
CREATE TEMP TABLE pq_copy AS SELECT * FROM tv;
-- already cold: nothing more to do
SELECT * FROM ruvector_compact('tv');

-- PQ's two forms: the short one (5 bytes besides the codes on disk) while
-- the norm is within the codebook's range, the long one (11 bytes) beyond
-- it; both decode, to the direction and norm coded
CREATE UNLOGGED TABLE tq (id int, v vector(16)) USING ruvector_heap;
INSERT INTO tq SELECT id, v FROM ref;
SELECT ruvector_set_tiers('tq', 'v', '{"exactness": "pq", "pq": {"m": 8, "k": 16}}');
SELECT norm_lo > 0 AND norm_hi > norm_lo AS norm_range, length(rotation) AS rotation_bytes
FROM ruvector_codebooks WHERE relid = 'tq'::regclass;
INSERT INTO tq SELECT -id, (SELECT array_agg(x * 1000) FROM unnest(v::real[]) x)::vector
FROM ref WHERE id <= 3;
SELECT vectors_moved FROM ruvector_compact('tq');
SELECT tier, rows, vector_bytes, vector_bytes - 2000 * 13 AS long_form_bytes
FROM ruvector_tier_report('tq') WHERE tier = 'pq';
SELECT a.id, round(cosine_distance(a.v, b.v)::numeric, 6) AS direction_distance,
	round((vector_norm(b.v) / vector_norm(a.v) / 1000)::numeric, 2) AS norm_ratio
FROM tq a JOIN tq b ON b.id = -a.id WHERE a.id > 0 ORDER BY 1;
SELECT count(*) AS norms_within_half_percent FROM tq JOIN ref r USING (id)
WHERE abs(vector_norm(tq.v) / vector_norm(r.v) - 1) < 0.005;
SELECT * FROM ruvector_tier_verify('tq');
DROP TABLE tq;

-- VACUUM FULL and CLUSTER keep the tiers, so the file shrinks
-- ruvector_tier_space estimates what VACUUM FULL returns (within 10%)
SELECT free_bytes > 0 AS reusable_space, file_bytes = pg_relation_size('tv') AS file_bytes_ok,
	tuple_bytes < file_bytes AS tuples_fit, reclaimable_bytes > 0 AS reclaimable
FROM ruvector_tier_space('tv');
SELECT reclaimable_bytes AS est_bytes FROM ruvector_tier_space('tv') \gset
SELECT pg_relation_size('tv') AS before_bytes \gset
VACUUM FULL tv;
SELECT pg_relation_size('tv') < :before_bytes AS smaller;
SELECT abs(:before_bytes - pg_relation_size('tv') - :est_bytes) <= 0.1 * (:before_bytes - pg_relation_size('tv')) AS estimate_within_10pct;
SELECT reclaimable_bytes <= 8192 AS nothing_left FROM ruvector_tier_space('tv');
CLUSTER tv USING tv_pkey;
SELECT tier, blocks, rows FROM ruvector_tier_report('tv');
SELECT * FROM ruvector_tier_verify('tv');
SELECT count(*) FROM tv JOIN copied c USING (id) WHERE l2_distance(tv.v, c.v) < 0.5;

-- the view over all ruvector_heap tables
SELECT table_name, tier, blocks > 0 AS has_blocks, rows FROM ruvector_tiers
WHERE table_name::text IN ('tv', 'tint') ORDER BY table_name::text, tier;

-- rights: the functions need their ruvector role (set_tiers: admin,
-- compact and the reports: operator); then only the table's owner changes
-- policies or moves data, and reports need SELECT on the table
CREATE ROLE regress_rv_reader;
GRANT SELECT ON tv TO regress_rv_reader;
SET ROLE regress_rv_reader;
SELECT ruvector_set_tiers('tv', 'v', '{}');
SELECT * FROM ruvector_compact('tv');
SELECT tier, rows FROM ruvector_tier_report('tv') WHERE tier = 'pq';
RESET ROLE;
GRANT ruvector_admin TO regress_rv_reader;
SET ROLE regress_rv_reader;
SELECT ruvector_set_tiers('tv', 'v', '{}');
SELECT * FROM ruvector_compact('tv');
SELECT tier, rows FROM ruvector_tier_report('tv') WHERE tier = 'pq';
SELECT count(*) FROM ruvector_tier_report('tint');
RESET ROLE;
REVOKE SELECT ON tv FROM regress_rv_reader;
DROP ROLE regress_rv_reader;

-- functions refuse other tables
CREATE TABLE plain_heap (v vector(2));
SELECT * FROM ruvector_compact('plain_heap');
SELECT * FROM ruvector_tier_report('plain_heap');
SELECT * FROM ruvector_tier_verify('plain_heap');

-- removing a policy keeps the data as it is
SELECT ruvector_set_tiers('tv', 'v', NULL);
SELECT count(*) AS policies FROM ruvector_tier_policy WHERE relid = 'tv'::regclass;
SELECT tier, rows FROM ruvector_tier_report('tv') WHERE rows > 0;

-- dropping a table drops its history
CREATE TABLE hist_gone (id int, v vector(2)) USING ruvector_heap;
INSERT INTO ruvector_tier_history VALUES ('hist_gone', now(), 'compact', 1, 0, 1, 0, 8);
DROP TABLE hist_gone;
SELECT count(*) AS orphan_history FROM ruvector_tier_history h
WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = h.relid);

-- leaving ruvector_heap decodes every row
ALTER TABLE tv SET ACCESS METHOD heap;
SELECT count(*) AS plain_float32 FROM tv JOIN ref r USING (id)
WHERE pg_column_size(tv.v) = pg_column_size(r.v);

-- dropping a table drops its policies and codebooks; copies read before
-- need neither
DROP TABLE tint, tv, plain_heap;
SELECT count(*) AS policies FROM ruvector_tier_policy;
SELECT count(*) AS codebooks FROM ruvector_codebooks;
SELECT count(*), min(vector_dims(v)) FROM pq_copy;

-- a value whose codebook was deleted cannot be decoded: reads fail with
-- the reason, and verify finds every such value
CREATE UNLOGGED TABLE tq (id int, v vector(4)) USING ruvector_heap;
INSERT INTO tq SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), 1]::real[]::vector
FROM generate_series(1, 300) i;
SELECT ruvector_set_tiers('tq', 'v', '{"exactness": "pq", "pq": {"m": 2, "k": 16}}');
SELECT vectors_moved FROM ruvector_compact('tq');
SELECT tier, rows FROM ruvector_tier_report('tq') WHERE rows > 0;
DELETE FROM ruvector_codebooks WHERE relid = 'tq'::regclass;
VACUUM ruvector_codebooks;
\c
SELECT vector_norm(v) FROM tq WHERE id = 1;
SELECT count(*), min(problem) FROM ruvector_tier_verify('tq');
DROP TABLE tq;

-- PQ at 100 dimensions, m 46 (the reported case of issue 12, fewer rows):
-- training wrote dim doubles past its rotation workspace; the workspace is
-- above 8 kB here, so the sanitized build (test/asan.sh) sees any overflow
CREATE UNLOGGED TABLE twide (id int, v vector(100)) USING ruvector_heap;
INSERT INTO twide SELECT i, (SELECT array_agg(sin(i * 0.37 + j * 1.3) + (j % 7) * 0.1)
	FROM generate_series(1, 100) j)::vector FROM generate_series(1, 600) i;
SELECT ruvector_set_tiers('twide', 'v', '{"exactness": "pq", "pq": {"m": 46, "k": 16, "sample": 500}}');
SELECT dim, m, k, rows_sampled, length(rotation) AS rotation_bytes
FROM ruvector_codebooks WHERE relid = 'twide'::regclass;
SELECT vectors_moved FROM ruvector_compact('twide');
SELECT count(*) AS cosine_above_095 FROM twide JOIN (SELECT i AS id, (SELECT array_agg(sin(i * 0.37 + j * 1.3) + (j % 7) * 0.1)
	FROM generate_series(1, 100) j)::vector AS v FROM generate_series(1, 600) i) r USING (id)
WHERE cosine_distance(twide.v, r.v) < 0.05;
SELECT * FROM ruvector_tier_verify('twide');
DROP TABLE twide;

\c :regress_db
DROP DATABASE rv_tableam_tiers;
