-- IVFFlat: every operator class of both access methods gives the exact
-- answer when all lists are probed, and the settings shape the scan.

-- ivf_knn returns the distances of the k nearest rows to q, in the order
-- the scan returns them, read with the index (use_index) or by sorting.
CREATE FUNCTION ivf_knn(tbl text, col text, op text, q text, k int, use_index bool)
RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
	r float8[];
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	EXECUTE format('SELECT array_agg(d) FROM (SELECT %s %s %L AS d FROM %s ORDER BY %s %s %L LIMIT %s) s',
				   col, op, q, tbl, col, op, q, k) INTO r;
	RETURN r;
END $$;

-- ivf_exact says whether the index gives the exact k nearest, in order.
CREATE FUNCTION ivf_exact(tbl text, col text, op text, q text, k int)
RETURNS bool LANGUAGE sql AS $$
	SELECT ivf_knn(tbl, col, op, q, k, true) = ivf_knn(tbl, col, op, q, k, false)
$$;

CREATE TABLE ivf_s (id int, v vector(4), h halfvec(4), b bit(24));
INSERT INTO ivf_s
SELECT i,
	   ARRAY[sin(i * 0.9), cos(i * 1.7), 2 * sin(i * 0.31), cos(i * 0.13) + 0.5],
	   ARRAY[sin(i * 0.9), cos(i * 1.7), 2 * sin(i * 0.31), cos(i * 0.13) + 0.5],
	   ((i::bigint * 2654435761) % 16777216)::bit(24)
FROM generate_series(1, 600) i;

CREATE TABLE ivf_q (qid int, v text, b text);
INSERT INTO ivf_q VALUES
	(1, '[0.1,0.2,0.3,0.4]', '101010101010101010101010'),
	(2, '[-1,0.5,1.5,0]', '111111110000000011111111'),
	(3, '[0.9,-0.9,-1.8,1.4]', '000000000000000000000001');

-- vector, ivfflat
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_l2_ops) WITH (lists = 6);
SET ivfflat.probes = 6;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_s ORDER BY v <-> '[1,2,3,4]' LIMIT 10;
SELECT qid, ivf_exact('ivf_s', 'v', '<->', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_ip_ops) WITH (lists = 6);
SELECT qid, ivf_exact('ivf_s', 'v', '<#>', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v vector_cosine_ops) WITH (lists = 6);
SELECT qid, ivf_exact('ivf_s', 'v', '<=>', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;

-- vector, ruivfflat (the default operator class is L2)
CREATE INDEX ivf_s_idx ON ivf_s USING ruivfflat (v) WITH (lists = 6);
EXPLAIN (COSTS OFF) SELECT id FROM ivf_s ORDER BY v <-> '[1,2,3,4]' LIMIT 10;
SELECT qid, ivf_exact('ivf_s', 'v', '<->', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ruivfflat (v vector_ip_ops) WITH (lists = 6);
SELECT qid, ivf_exact('ivf_s', 'v', '<#>', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ruivfflat (v vector_cosine_ops) WITH (lists = 6);
SELECT qid, ivf_exact('ivf_s', 'v', '<=>', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;

-- halfvec, both methods
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (h halfvec_l2_ops) WITH (lists = 6);
EXPLAIN (COSTS OFF) SELECT id FROM ivf_s ORDER BY h <-> '[1,2,3,4]' LIMIT 10;
SELECT qid, ivf_exact('ivf_s', 'h', '<->', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ruivfflat (h halfvec_ip_ops) WITH (lists = 6);
SELECT qid, ivf_exact('ivf_s', 'h', '<#>', v, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
-- Cosine indexes store unit vectors rounded to half precision, so they
-- rank by a slightly different number than <=>: compare the sets.
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (h halfvec_cosine_ops) WITH (lists = 6);
SELECT qid, (SELECT count(*) FROM unnest(ivf_knn('ivf_s', 'h', '<=>', v, 10, true)) a
			 WHERE a IN (SELECT unnest(ivf_knn('ivf_s', 'h', '<=>', v, 10, false)))) AS common
FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;

-- bit, both methods (Hamming distances tie a lot: the distances must match)
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (b bit_hamming_ops) WITH (lists = 6);
EXPLAIN (COSTS OFF) SELECT id FROM ivf_s ORDER BY b <~> '101' LIMIT 10;
SELECT qid, ivf_exact('ivf_s', 'b', '<~>', b, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ruivfflat (b bit_hamming_ops) WITH (lists = 6);
SELECT qid, ivf_exact('ivf_s', 'b', '<~>', b, 10) FROM ivf_q ORDER BY qid;
DROP INDEX ivf_s_idx;

-- Every row comes back once, nearest first, when all lists are probed.
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v) WITH (lists = 6);
SELECT ivf_exact('ivf_s', 'v', '<->', '[0,0,0,0]', 600);

-- With one probe, a query sees one list; a row is always found from its
-- own value, because a query and a row equal to it pick the same list.
SET ivfflat.probes = 1;
SET enable_seqscan = off;
SELECT count(*) BETWEEN 1 AND 599 AS one_list FROM (SELECT id FROM ivf_s ORDER BY v <-> '[0,0,0,0]') s;
SELECT count(*) AS found FROM ivf_s o
WHERE o.id = (SELECT id FROM ivf_s ORDER BY v <-> o.v LIMIT 1);

-- Iterative scans read more lists when a filter leaves too few rows.
SELECT count(*) < 12 AS short FROM
	(SELECT id FROM ivf_s WHERE id % 50 = 0 ORDER BY v <-> '[0,0,0,0]' LIMIT 12) s;
SET ivfflat.iterative_scan = relaxed_order;
SELECT count(*) FROM
	(SELECT id FROM ivf_s WHERE id % 50 = 0 ORDER BY v <-> '[0,0,0,0]' LIMIT 12) s;
-- ... but no more than max_probes lists: here one, as without iterating.
SET ivfflat.max_probes = 1;
SELECT count(*) < 12 AS short FROM
	(SELECT id FROM ivf_s WHERE id % 50 = 0 ORDER BY v <-> '[0,0,0,0]' LIMIT 12) s;
-- probes above max_probes wins.
SET ivfflat.probes = 6;
SELECT count(*) FROM
	(SELECT id FROM ivf_s WHERE id % 50 = 0 ORDER BY v <-> '[0,0,0,0]' LIMIT 12) s;
RESET ivfflat.max_probes;
RESET ivfflat.iterative_scan;

-- probes above lists means all lists.
SET ivfflat.probes = 1000;
SELECT ivf_exact('ivf_s', 'v', '<->', '[1,1,1,1]', 20);

-- A NULL query orders nothing: every row of the probed lists, in any order.
SELECT count(*) FROM (SELECT id FROM ivf_s ORDER BY v <-> (SELECT NULL::vector)) s;

-- A query of the wrong size is the type's usual error.
SELECT id FROM ivf_s ORDER BY v <-> '[1,2,3]' LIMIT 1;
SELECT id FROM ivf_s ORDER BY v <-> '[1,2,3,4,5]' LIMIT 1;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (h halfvec_l2_ops) WITH (lists = 2);
SELECT id FROM ivf_s ORDER BY h <-> '[1,2]' LIMIT 1;
DROP INDEX ivf_s_idx;
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (b bit_hamming_ops) WITH (lists = 2);
SELECT id FROM ivf_s ORDER BY b <~> '1010' LIMIT 1;
DROP INDEX ivf_s_idx;

-- Rescans: one index scan per outer row, each with its own query.
CREATE INDEX ivf_s_idx ON ivf_s USING ivfflat (v) WITH (lists = 6);
EXPLAIN (COSTS OFF)
SELECT o.id, n.id FROM ivf_s o CROSS JOIN LATERAL
	(SELECT id FROM ivf_s i ORDER BY i.v <-> o.v LIMIT 1) n WHERE o.id <= 5;
SELECT o.id, n.id FROM ivf_s o CROSS JOIN LATERAL
	(SELECT id FROM ivf_s i ORDER BY i.v <-> o.v LIMIT 1) n WHERE o.id <= 5 ORDER BY o.id;

-- A cursor reads the scan a row at a time.
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM ivf_s ORDER BY v <-> '[0.1,0.2,0.3,0.4]';
FETCH 3 FROM c;
FETCH 2 FROM c;
COMMIT;
SELECT id FROM ivf_s ORDER BY v <-> '[0.1,0.2,0.3,0.4]' LIMIT 5;

RESET ivfflat.probes;
RESET enable_seqscan;
DROP TABLE ivf_s, ivf_q;
DROP FUNCTION ivf_exact, ivf_knn;
