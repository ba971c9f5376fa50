-- ruvector_heap: how rows over the TOAST threshold keep their vectors
-- inline (issue 17, item 7; src/tableam/rvheap_inline.c).  A column starts
-- undecided (MAIN storage, no compression method: lz4 where the server has
-- it); the tier pass (here ruvector_compact) samples it and stores lz4 for
-- values that shrink by a quarter, none (storage EXTERNAL, which
-- ruvector_heap keeps inline) otherwise; ALTER
-- TABLE overrides.  UNLOGGED tables: the same output with or without
-- shared_preload_libraries.
CREATE UNLOGGED TABLE inl_img (id int, v vector(784)) USING ruvector_heap;
CREATE UNLOGGED TABLE inl_emb (id int, v vector(784), h halfvec(784)) USING ruvector_heap;
-- image-like rows: integer pixels 0-255, about 60% zeros; embeddings: sin
-- of integers, whose float bits do not compress
CREATE TEMP TABLE ref_img AS
	SELECT i AS id, (SELECT array_agg(CASE WHEN (i * j) % 5 < 3 THEN 0 ELSE (i * j * 7) % 256 END)::real[]::vector
					 FROM generate_series(1, 784) j) AS v
	FROM generate_series(1, 60) i;
CREATE TEMP TABLE ref_emb AS
	SELECT i AS id, x::vector AS v, x::halfvec AS h
	FROM generate_series(1, 60) i,
		LATERAL (SELECT array_agg(sin(i * 1000 + j)::real) AS x FROM generate_series(1, 784) j) s;
SELECT attrelid::regclass AS tbl, attname, attstorage, attcompression = '' AS no_method
FROM pg_attribute WHERE attrelid IN ('inl_img'::regclass, 'inl_emb'::regclass) AND attnum > 0
ORDER BY 1, 2;
INSERT INTO inl_img SELECT * FROM ref_img WHERE id <= 40;
INSERT INTO inl_emb SELECT * FROM ref_emb WHERE id <= 40;

-- Undecided: rows over the threshold are compressed with lz4 (where it
-- saves nothing the value stays as it is)
SELECT pg_column_compression(v) AS method, count(*) FROM inl_img GROUP BY 1;
SELECT pg_column_compression(v) AS method, count(*) FROM inl_emb GROUP BY 1;
SELECT column_name, compression, decided, sampled, lz4_bytes * 4 <= raw_bytes * 3 AS lz4_saves_a_quarter,
	pglz_bytes * 4 <= raw_bytes * 3 AS pglz_saves_a_quarter, sample_choice
FROM ruvector_tier_storage('inl_img');
SELECT column_name, compression, decided, sampled, lz4_bytes * 4 <= raw_bytes * 3 AS lz4_saves_a_quarter,
	pglz_bytes * 4 <= raw_bytes * 3 AS pglz_saves_a_quarter, sample_choice
FROM ruvector_tier_storage('inl_emb');

-- The tier pass decides, even without a policy: lz4 for the images, none
-- (EXTERNAL) for the embeddings, both columns
SELECT blocks_moved FROM ruvector_compact('inl_img');
SELECT blocks_moved FROM ruvector_compact('inl_emb');
SELECT attrelid::regclass AS tbl, attname, attstorage, attcompression
FROM pg_attribute WHERE attrelid IN ('inl_img'::regclass, 'inl_emb'::regclass) AND attnum > 0
ORDER BY 1, 2;
SELECT column_name, compression, decided, sample_choice FROM ruvector_tier_storage('inl_img');
SELECT column_name, compression, decided, sample_choice FROM ruvector_tier_storage('inl_emb');

-- Rows written now follow the choice: lz4, or stored as they are (a 784-d
-- vector is 3144 bytes, a halfvec 1576)
INSERT INTO inl_img SELECT * FROM ref_img WHERE id > 40;
INSERT INTO inl_emb SELECT * FROM ref_emb WHERE id > 40;
SELECT id > 40 AS after_choice, pg_column_compression(v) AS method, count(*)
FROM inl_img GROUP BY 1, 2 ORDER BY 1;
SELECT id > 40 AS after_choice, pg_column_compression(v) AS v_method, pg_column_compression(h) AS h_method,
	min(pg_column_size(v)) AS v_bytes, min(pg_column_size(h)) AS h_bytes, count(*)
FROM inl_emb GROUP BY 1, 2, 3 ORDER BY 1;
-- and every row, however it is stored, reads back as inserted
SELECT count(*) AS rows, count(*) FILTER (WHERE t.v::text = r.v::text) AS identical
FROM inl_img t JOIN ref_img r USING (id);
SELECT count(*) AS rows, count(*) FILTER (WHERE t.v::text = r.v::text AND t.h::text = r.h::text) AS identical
FROM inl_emb t JOIN ref_emb r USING (id);
-- stored values keep their form: an UPDATE carries an unchanged value over
-- as it is (h, lz4 from before the choice), a new value takes the choice
UPDATE inl_emb SET id = id WHERE id <= 5;
UPDATE inl_emb t SET h = r.h::text::halfvec FROM ref_emb r WHERE r.id = t.id AND t.id BETWEEN 6 AND 8;
SELECT id <= 5 AS unchanged, pg_column_compression(h) AS h_method, count(*)
FROM inl_emb WHERE id <= 8 GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) FILTER (WHERE t.v::text = r.v::text AND t.h::text = r.h::text) AS identical
FROM inl_emb t JOIN ref_emb r USING (id);

-- A decided column is left alone: by hand, pglz stays pglz
ALTER TABLE inl_emb ALTER COLUMN v SET STORAGE MAIN, ALTER COLUMN v SET COMPRESSION pglz;
SELECT blocks_moved FROM ruvector_compact('inl_emb');
SELECT column_name, compression, decided, sample_choice FROM ruvector_tier_storage('inl_emb');
-- back to undecided (MAIN, no method): the next pass decides again
ALTER TABLE inl_emb ALTER COLUMN v SET COMPRESSION default;
SELECT column_name, compression, decided FROM ruvector_tier_storage('inl_emb') WHERE column_name = 'v';
SELECT blocks_moved FROM ruvector_compact('inl_emb');
SELECT column_name, compression, decided FROM ruvector_tier_storage('inl_emb') WHERE column_name = 'v';

-- "none" never refuses a row: one that would not fit a page uncompressed
-- (two 1536-d vectors, 12 kB) is handled as MAIN would handle it -
-- compression tried (these do not compress), then a vector moved out of
-- line (pg_column_size counts its 6148 data bytes); one that fits stays
-- inline as it is
CREATE UNLOGGED TABLE inl_wide (id int, a vector(1536), b vector(1536)) USING ruvector_heap;
ALTER TABLE inl_wide ALTER COLUMN a SET STORAGE EXTERNAL, ALTER COLUMN b SET STORAGE EXTERNAL;
CREATE TEMP TABLE ref_wide AS
	SELECT i AS id, x::vector AS a, x::vector AS b
	FROM generate_series(1, 2) i,
		LATERAL (SELECT array_agg(cos(i * 7000 + j)::real) AS x FROM generate_series(1, 1536) j) s;
INSERT INTO inl_wide SELECT id, a, b FROM ref_wide WHERE id = 1;
INSERT INTO inl_wide SELECT id, a, NULL FROM ref_wide WHERE id = 2;
SELECT id, pg_column_compression(a) AS a_method, pg_column_size(a) AS a_bytes,
	pg_column_compression(b) AS b_method, pg_column_size(b) AS b_bytes,
	pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'inl_wide'::regclass)) > 0 AS toast_used,
	a::text = (SELECT r.a::text FROM ref_wide r WHERE r.id = w.id) AS a_identical,
	b IS NULL OR b::text = (SELECT r.b::text FROM ref_wide r WHERE r.id = w.id) AS b_identical
FROM inl_wide w ORDER BY id;
-- the same through COPY (multi-row inserts)
COPY (SELECT id + 10, a, b FROM ref_wide) TO '/tmp/ruvector_regress_inline.copy';
COPY inl_wide FROM '/tmp/ruvector_regress_inline.copy';
SELECT count(*) FILTER (WHERE w.a::text = r.a::text AND w.b::text = r.b::text) AS identical
FROM inl_wide w JOIN ref_wide r ON r.id + 10 = w.id;

-- VACUUM FULL re-forms the rows (rows over the threshold go through the
-- toaster as MAIN; these do not compress) and loses none
VACUUM FULL inl_wide;
VACUUM FULL inl_emb;
SELECT count(*) FILTER (WHERE w.a::text = r.a::text AND (w.b IS NULL OR w.b::text = r.b::text)) AS identical
FROM inl_wide w JOIN ref_wide r ON r.id = w.id % 10;
SELECT count(*) FILTER (WHERE t.v::text = r.v::text AND t.h::text = r.h::text) AS identical,
	count(*) FILTER (WHERE pg_column_compression(t.v) IS NULL) AS v_uncompressed
FROM inl_emb t JOIN ref_emb r USING (id);

-- Too few values to tell (fewer than 16): the column stays undecided
CREATE UNLOGGED TABLE inl_few (id int, v vector(784)) USING ruvector_heap;
INSERT INTO inl_few SELECT id, v FROM ref_emb WHERE id <= 5;
SELECT blocks_moved FROM ruvector_compact('inl_few');
SELECT column_name, compression, decided, sampled, sample_choice FROM ruvector_tier_storage('inl_few');

-- Rights: ruvector_operator and SELECT on the table, like the other reports
\set VERBOSITY sqlstate
CREATE ROLE regress_inl_nobody;
CREATE ROLE regress_inl_op IN ROLE ruvector_operator;
GRANT SELECT ON inl_img TO regress_inl_op;
SET ROLE regress_inl_nobody;
SELECT * FROM ruvector_tier_storage('inl_img');
RESET ROLE;
SET ROLE regress_inl_op;
SELECT column_name, compression, decided FROM ruvector_tier_storage('inl_img');
SELECT * FROM ruvector_tier_storage('inl_emb');
RESET ROLE;
-- wrong relations
CREATE TABLE inl_heap (id int, v vector(4));
CREATE TABLE inl_part (id int, v vector(4)) PARTITION BY RANGE (id);
SELECT * FROM ruvector_tier_storage(0);
SELECT * FROM ruvector_tier_storage('inl_heap');
SELECT * FROM ruvector_tier_storage('inl_part');
SELECT * FROM ruvector_tier_storage(NULL);
\set VERBOSITY default

DROP TABLE inl_img, inl_emb, inl_wide, inl_few, inl_heap, inl_part;
DROP ROLE regress_inl_nobody, regress_inl_op;
