-- IVFFlat: inserts, NULLs and zero vectors, deletes and VACUUM, TRUNCATE,
-- REINDEX, unlogged tables, partial and expression indexes.

CREATE FUNCTION ivf_same(q vector, k int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
	a int[];
	b int[];
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	SELECT array_agg(id) INTO a FROM (SELECT id FROM ivf_d ORDER BY v <-> q LIMIT k) s;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	SELECT array_agg(id) INTO b FROM (SELECT id FROM ivf_d ORDER BY v <-> q LIMIT k) s;
	PERFORM set_config('enable_indexscan', 'on', true);
	RETURN a IS NOT DISTINCT FROM b;
END $$;

-- Built on an empty table (random centers), then filled by inserts.
CREATE TABLE ivf_d (id int, v vector(3));
CREATE INDEX ivf_d_idx ON ivf_d USING ivfflat (v) WITH (lists = 4);
INSERT INTO ivf_d SELECT i, ARRAY[sin(i), cos(i * 1.1), sin(i * 0.2)] FROM generate_series(1, 1000) i;
INSERT INTO ivf_d VALUES (1001, NULL), (1002, NULL);
SET ivfflat.probes = 4;
SELECT ivf_same('[0,0,0]', 50), ivf_same('[1,-1,0.5]', 50);
-- NULLs are not indexed: a NULL query returns the other rows, in any order.
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ivf_d ORDER BY v <-> (SELECT NULL::vector)) s;
RESET enable_seqscan;

-- Deleted rows disappear; VACUUM removes their entries.
DELETE FROM ivf_d WHERE id % 3 = 0;
SELECT ivf_same('[0,0,0]', 50);
VACUUM ivf_d;
SELECT ivf_same('[0,0,0]', 50), ivf_same('[1,-1,0.5]', 600);

-- Room freed by VACUUM is used again: same rows back, same size.
CREATE TABLE ivf_d_copy AS SELECT * FROM ivf_d;
SELECT pg_relation_size('ivf_d_idx') AS size_before \gset
DELETE FROM ivf_d;
VACUUM ivf_d;
INSERT INTO ivf_d SELECT * FROM ivf_d_copy;
SELECT pg_relation_size('ivf_d_idx') = :size_before AS same_size;
SELECT ivf_same('[0,0,0]', 50);

-- Updates are a delete and an insert.
UPDATE ivf_d SET v = '[9,9,9]' WHERE id = 1;
SET enable_seqscan = off;
SELECT id, v FROM ivf_d ORDER BY v <-> '[9,9,8]' LIMIT 1;
RESET enable_seqscan;

-- TRUNCATE gives an empty index; inserts work again.
TRUNCATE ivf_d;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ivf_d ORDER BY v <-> '[0,0,0]') s;
INSERT INTO ivf_d VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[3,3,3]');
SELECT id FROM ivf_d ORDER BY v <-> '[2.9,3,3]';
RESET enable_seqscan;

-- REINDEX recomputes the centers from the rows.
INSERT INTO ivf_d SELECT i, ARRAY[sin(i), cos(i * 1.1), sin(i * 0.2)] FROM generate_series(4, 800) i;
REINDEX INDEX ivf_d_idx;
SELECT ivf_same('[0.5,0.5,0.5]', 30);

-- Also built concurrently, and in parallel.
DROP INDEX ivf_d_idx;
CREATE INDEX CONCURRENTLY ivf_d_idx ON ivf_d USING ivfflat (v) WITH (lists = 4);
SELECT ivf_same('[0.5,0.5,0.5]', 30);
DROP INDEX ivf_d_idx;
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
CREATE INDEX ivf_d_idx ON ivf_d USING ivfflat (v) WITH (lists = 4);
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
SELECT ivf_same('[0.5,0.5,0.5]', 30), ivf_same('[0,0,0]', 800);
INSERT INTO ivf_d SELECT i, ARRAY[cos(i), sin(i), 1] FROM generate_series(801, 900) i;
SELECT ivf_same('[0.5,0.5,1]', 30);
DROP TABLE ivf_d, ivf_d_copy;

-- Cosine indexes leave zero vectors out; inner product indexes keep them.
CREATE TABLE ivf_z (id int, v vector(2));
INSERT INTO ivf_z VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]'), (4, '[1,1]');
CREATE INDEX ivf_z_cos ON ivf_z USING ivfflat (v vector_cosine_ops) WITH (lists = 2);
CREATE INDEX ivf_z_ip ON ivf_z USING ivfflat (v vector_ip_ops) WITH (lists = 2);
INSERT INTO ivf_z VALUES (5, '[0,0]'), (6, '[2,2]');
SET enable_seqscan = off;
SET ivfflat.probes = 2;
SELECT id FROM ivf_z ORDER BY v <=> '[1,0.9]';
SELECT id FROM ivf_z ORDER BY v <#> '[1,0.9]';
-- A zero query has no direction: all cosine entries tie.
SELECT count(*) FROM (SELECT id FROM ivf_z ORDER BY v <=> '[0,0]') s;
RESET enable_seqscan;
DROP TABLE ivf_z;

-- Unlogged tables: the index and its init fork.
CREATE UNLOGGED TABLE ivf_u (id int, v halfvec(3));
INSERT INTO ivf_u SELECT i, ARRAY[i, i % 5, i % 7] FROM generate_series(1, 100) i;
CREATE INDEX ivf_u_idx ON ivf_u USING ivfflat (v halfvec_l2_ops) WITH (lists = 3);
SELECT pg_relation_size('ivf_u_idx', 'init') > 0 AS has_init_fork;
SET enable_seqscan = off;
SET ivfflat.probes = 3;
SELECT id FROM ivf_u ORDER BY v <-> '[50,0,1]' LIMIT 3;
RESET enable_seqscan;
DROP TABLE ivf_u;

-- Partial and expression indexes.
CREATE TABLE ivf_p (id int, kind int, v vector(3));
INSERT INTO ivf_p SELECT i, i % 4, ARRAY[i % 10, i % 9, i % 8] FROM generate_series(1, 400) i;
CREATE INDEX ivf_p_part ON ivf_p USING ivfflat (v) WITH (lists = 2) WHERE kind = 1;
CREATE INDEX ivf_p_expr ON ivf_p USING ivfflat ((v::halfvec(3)) halfvec_l2_ops) WITH (lists = 2);
CREATE INDEX ivf_p_bit ON ivf_p USING ivfflat ((binary_quantize(v)::bit(3)) bit_hamming_ops) WITH (lists = 2);
ANALYZE ivf_p;
SET enable_seqscan = off;
SET ivfflat.probes = 2;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_p WHERE kind = 1 ORDER BY v <-> '[1,1,1]' LIMIT 3;
SELECT v <-> '[1,1,1]' AS d FROM ivf_p WHERE kind = 1 ORDER BY v <-> '[1,1,1]' LIMIT 4;
SELECT count(*) FROM (SELECT id FROM ivf_p WHERE kind = 1 ORDER BY v <-> '[1,1,1]') s;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_p ORDER BY v::halfvec(3) <-> '[1,2,3]' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM ivf_p ORDER BY v::halfvec(3) <-> '[1,2,3]') s;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_p ORDER BY binary_quantize(v)::bit(3) <~> '110' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM ivf_p ORDER BY binary_quantize(v)::bit(3) <~> '110') s;
RESET enable_seqscan;
RESET ivfflat.probes;
DROP TABLE ivf_p;

DROP FUNCTION ivf_same;
