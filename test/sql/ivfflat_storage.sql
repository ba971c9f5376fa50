-- IVFFlat compact storage: storage = float32 | float16 | sq8 | binary.
-- Entries hold codes, scans rank by code distance and re-rank batches with
-- exact distances read from the table; with every list probed the results
-- must be those of an exact search.  Also inserts, VACUUM, refresh, the
-- refusals and the sizes.

-- Whether the index, with every list probed, gives the k nearest rows of
-- an exact search (ids, in order), for the rows whose ids are listed as
-- queries.  The data has no distance ties.
CREATE FUNCTION ivf_s_exact(tbl text, op text, ids int[], k int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
	a int[];
	b int[];
	q int;
	ok bool := true;
BEGIN
	FOREACH q IN ARRAY ids LOOP
		PERFORM set_config('ivfflat.probes', '32768', true);
		PERFORM set_config('enable_seqscan', 'off', true);
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s (SELECT v FROM %s WHERE id = %s) LIMIT %s) s',
					   tbl, op, tbl, q, k) INTO a;
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s (SELECT v FROM %s WHERE id = %s) LIMIT %s) s',
					   tbl, op, tbl, q, k) INTO b;
		PERFORM set_config('enable_indexscan', 'on', true);
		IF a IS DISTINCT FROM b THEN
			RAISE NOTICE 'query %: index % exact %', q, a, b;
			ok := false;
		END IF;
	END LOOP;
	RETURN ok;
END $$;

-- Rows spread around the origin, 16 dimensions.
CREATE TABLE ivf_s (id int, v vector(16)) WITH (autovacuum_enabled = false);
INSERT INTO ivf_s SELECT i, ARRAY(SELECT sin(i * j * 0.37 + j) + 0.1 * cos(i * 0.01 * j) FROM generate_series(1, 16) j)
	FROM generate_series(1, 1500) i;
CREATE TABLE ivf_sh (id int, v halfvec(16)) WITH (autovacuum_enabled = false);
INSERT INTO ivf_sh SELECT id, v::halfvec FROM ivf_s;

-- The index is used and re-ranks (no recheck of the order by the executor).
CREATE INDEX ivf_s_sq8 ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = sq8);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_s ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;
RESET enable_seqscan;
SELECT reloptions FROM pg_class WHERE relname = 'ivf_s_sq8';

-- Every storage with the vector opclasses: exact with all lists probed.
SET ruvector.rerank_factor = 4;
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2, 77, 500, 1499], 10) AS l2_sq8;
DROP INDEX ivf_s_sq8;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_ip_ops) WITH (lists = 10, storage = sq8);
SELECT ivf_s_exact('ivf_s', '<#>', ARRAY[1, 2, 77, 500, 1499], 10) AS ip_sq8;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_cosine_ops) WITH (lists = 10, storage = sq8);
SELECT ivf_s_exact('ivf_s', '<=>', ARRAY[1, 2, 77, 500, 1499], 10) AS cosine_sq8;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = float16);
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2, 77, 500, 1499], 10) AS l2_float16;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_ip_ops) WITH (lists = 10, storage = float16);
SELECT ivf_s_exact('ivf_s', '<#>', ARRAY[1, 2, 77, 500, 1499], 10) AS ip_float16;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_cosine_ops) WITH (lists = 10, storage = float16);
SELECT ivf_s_exact('ivf_s', '<=>', ARRAY[1, 2, 77, 500, 1499], 10) AS cosine_float16;
DROP INDEX ivf_s_idx;
-- Signs alone rank coarsely: binary needs a larger re-rank batch.
SET ruvector.rerank_factor = 40;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = binary);
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2, 77, 500, 1499], 10) AS l2_binary;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_ip_ops) WITH (lists = 10, storage = binary);
SELECT ivf_s_exact('ivf_s', '<#>', ARRAY[1, 2, 77, 500, 1499], 10) AS ip_binary;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_cosine_ops) WITH (lists = 10, storage = binary);
SELECT ivf_s_exact('ivf_s', '<=>', ARRAY[1, 2, 77, 500, 1499], 10) AS cosine_binary;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = float32);
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2, 77, 500, 1499], 10) AS l2_float32;
DROP INDEX ivf_s_idx;

-- A re-ranked batch goes out in exact order even when the batch is small
-- and the codes coarse; later batches (LIMIT beyond it) stay complete.
SET ruvector.rerank_factor = 1;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = binary);
SET ivfflat.probes = 10;
SET enable_seqscan = off;
WITH r AS (SELECT row_number() OVER () AS n, d FROM
	(SELECT v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' AS d FROM ivf_s
	 ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 40) s)
SELECT bool_and(a.d <= b.d) AS batch_sorted FROM r a JOIN r b ON b.n = a.n + 1;
SELECT count(*) AS all_rows FROM (SELECT id FROM ivf_s ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
RESET enable_seqscan;
RESET ivfflat.probes;
DROP INDEX ivf_s_idx;
SET ruvector.rerank_factor = 4;

-- Iterative scans keep re-ranking batch after batch past a filter.
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = sq8);
SET enable_seqscan = off;
SET ivfflat.iterative_scan = relaxed_order;
SET ivfflat.max_probes = 10;
SELECT count(*) AS filtered FROM (SELECT id FROM ivf_s WHERE id % 7 = 0
	ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 150) s;
RESET ivfflat.iterative_scan;
RESET ivfflat.max_probes;
SELECT count(*) AS not_iterative FROM (SELECT id FROM ivf_s WHERE id % 7 = 0
	ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 150) s;
RESET enable_seqscan;
DROP INDEX ivf_s_idx;

-- halfvec: sq8 and binary.
CREATE INDEX ivf_sh_idx ON ivf_sh USING ivfflat (v halfvec_l2_ops) WITH (lists = 10, storage = sq8);
SELECT ivf_s_exact('ivf_sh', '<->', ARRAY[1, 2, 77, 500, 1499], 10) AS halfvec_l2_sq8;
DROP INDEX ivf_sh_idx;
CREATE INDEX ivf_sh_idx ON ivf_sh USING ivfflat (v halfvec_cosine_ops) WITH (lists = 10, storage = sq8);
SELECT ivf_s_exact('ivf_sh', '<=>', ARRAY[1, 2, 77, 500, 1499], 10) AS halfvec_cosine_sq8;
DROP INDEX ivf_sh_idx;
SET ruvector.rerank_factor = 40;
CREATE INDEX ivf_sh_idx ON ivf_sh USING ivfflat (v halfvec_ip_ops) WITH (lists = 10, storage = binary);
SELECT ivf_s_exact('ivf_sh', '<#>', ARRAY[1, 2, 77, 500, 1499], 10) AS halfvec_ip_binary;
DROP INDEX ivf_sh_idx;
SET ruvector.rerank_factor = 4;

-- Sizes: compact entries make a smaller index.
CREATE INDEX ivf_s_f32 ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10);
CREATE INDEX ivf_s_f16 ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = float16);
CREATE INDEX ivf_s_q8 ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = sq8);
CREATE INDEX ivf_s_bin ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = binary);
SELECT pg_relation_size('ivf_s_f16') < pg_relation_size('ivf_s_f32') AS f16_smaller,
	pg_relation_size('ivf_s_q8') < pg_relation_size('ivf_s_f16') AS sq8_smaller,
	pg_relation_size('ivf_s_bin') < pg_relation_size('ivf_s_q8') AS binary_smaller;
DROP INDEX ivf_s_f32, ivf_s_f16, ivf_s_bin;

-- Inserts after the build go in as codes.
INSERT INTO ivf_s SELECT i, ARRAY(SELECT cos(i * j * 0.29 + j) FROM generate_series(1, 16) j)
	FROM generate_series(1501, 1800) i;
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 1501, 1650, 1800], 10) AS after_insert;

-- VACUUM removes the entries of deleted rows.
DELETE FROM ivf_s WHERE id % 3 = 0;
VACUUM ivf_s;
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 1501, 1651, 1799], 10) AS after_vacuum;
SET ivfflat.probes = 10;
SET enable_seqscan = off;
SELECT count(*) AS index_rows, (SELECT count(*) FROM ivf_s) AS table_rows
	FROM (SELECT id FROM ivf_s ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
RESET enable_seqscan;
RESET ivfflat.probes;
-- Rows inserted after VACUUM reuse the room.
INSERT INTO ivf_s SELECT i, ARRAY(SELECT sin(i * j * 0.13) FROM generate_series(1, 16) j)
	FROM generate_series(1801, 1900) i;
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[2, 1802, 1900], 10) AS after_reuse;

-- Refresh recomputes the centers from the decoded codes and keeps them.
SELECT ruvector_ivf_refresh('ivf_s_q8') AS refreshed_entries, (SELECT count(*) FROM ivf_s) AS table_rows;
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2, 1501, 1802], 10) AS after_refresh;
SELECT pg_relation_size('ivf_s_q8') > 0 AS has_pages;
DROP INDEX ivf_s_q8;

-- Refresh of binary codes: fine for cosine and ip (spherical k-means),
-- refused for L2 (the signs lose the scale).
SET ruvector.rerank_factor = 40;
CREATE INDEX ivf_s_bc ON ivf_s USING ivfflat (v vector_cosine_ops) WITH (lists = 10, storage = binary);
SELECT ruvector_ivf_refresh('ivf_s_bc') AS refreshed_binary_cosine;
SELECT ivf_s_exact('ivf_s', '<=>', ARRAY[1, 2, 1501, 1802], 10) AS binary_cosine_after_refresh;
DROP INDEX ivf_s_bc;
CREATE INDEX ivf_s_bl ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = binary);
SELECT ruvector_ivf_refresh('ivf_s_bl');
DROP INDEX ivf_s_bl;
SET ruvector.rerank_factor = 4;

-- ORDER BY NULL and a query of the wrong dimensions.
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 10, storage = sq8);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ivf_s ORDER BY v <-> NULL LIMIT 3) s;
SELECT id FROM ivf_s ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;
-- ALTER INDEX changes the option; the metapage keeps the built storage
-- until REINDEX.
ALTER INDEX ivf_s_idx SET (storage = binary);
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2], 10) AS altered;
REINDEX INDEX ivf_s_idx;
SET ruvector.rerank_factor = 40;
SELECT ivf_s_exact('ivf_s', '<->', ARRAY[1, 2], 10) AS reindexed;
DROP INDEX ivf_s_idx;

-- Refusals: 0A000 naming the storage and the opclass.
CREATE TABLE ivf_sb (id int, b bit(64), v vector(16));
CREATE INDEX ON ivf_sb USING ivfflat (b bit_hamming_ops) WITH (lists = 1, storage = sq8);
CREATE INDEX ON ivf_sh USING ivfflat (v halfvec_l2_ops) WITH (lists = 1, storage = float16);
CREATE INDEX ON ivf_sb USING ivfflat ((l2_normalize(v)::vector(16)) vector_l2_ops) WITH (lists = 1, storage = binary);
CREATE INDEX ON ivf_sb USING ivfflat ((l2_normalize(v)::vector(16)) vector_l2_ops) WITH (lists = 1, storage = float32);
-- The SQLSTATEs: 0A000 for the refusals, 54000 for the dimensions.
DO $$ BEGIN
	CREATE INDEX ON ivf_sb USING ivfflat (b bit_hamming_ops) WITH (lists = 1, storage = binary);
EXCEPTION WHEN feature_not_supported THEN RAISE NOTICE 'refused with %', SQLSTATE;
END $$;
-- float32 stays accepted everywhere.
CREATE INDEX ON ivf_sb USING ivfflat (b bit_hamming_ops) WITH (lists = 1, storage = float32);
-- Invalid values.
CREATE INDEX ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 1, storage = int8);
CREATE INDEX ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 1, storage = '');

-- Dimensions: above 2000 with compact storage, while the center fits a page.
CREATE TABLE ivf_sd (id int, v vector(2030));
INSERT INTO ivf_sd SELECT i, ARRAY(SELECT sin(i * j * 0.011 + j) FROM generate_series(1, 2030) j)
	FROM generate_series(1, 60) i;
CREATE INDEX ON ivf_sd USING ivfflat (v vector_l2_ops) WITH (lists = 3);
CREATE INDEX ivf_sd_idx ON ivf_sd USING ivfflat (v vector_l2_ops) WITH (lists = 3, storage = sq8);
SELECT ivf_s_exact('ivf_sd', '<->', ARRAY[1, 30, 60], 5) AS dim2030_sq8;
CREATE TABLE ivf_sd2 (id int, v vector(3000));
CREATE INDEX ON ivf_sd2 USING ivfflat (v vector_l2_ops) WITH (lists = 3, storage = sq8);
DO $$ BEGIN
	CREATE INDEX ON ivf_sd2 USING ivfflat (v vector_l2_ops) WITH (lists = 3, storage = binary);
EXCEPTION WHEN program_limit_exceeded THEN RAISE NOTICE 'refused with %', SQLSTATE;
END $$;

RESET ruvector.rerank_factor;
DROP TABLE ivf_s, ivf_sh, ivf_sb, ivf_sd, ivf_sd2;
DROP FUNCTION ivf_s_exact;

-- A vector whose elements span more than the float range has no sq8 code
CREATE TABLE ivf_wide (v vector(2));
INSERT INTO ivf_wide VALUES ('[3e38,-3e38]');
CREATE INDEX ON ivf_wide USING ivfflat (v vector_l2_ops) WITH (storage = sq8, lists = 1);
DROP TABLE ivf_wide;
