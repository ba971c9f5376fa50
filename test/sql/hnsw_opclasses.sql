-- HNSW: every operator class of both access methods (hnsw and ruhnsw)
-- returns the exact order on a small table, and the planner uses the index.
-- With ef_search above the row count the graph search is exhaustive, so the
-- index order must equal the sequential scan's.

SET hnsw.ef_search = 100;

CREATE TABLE hv (id int, v vector(3), h halfvec(3), s sparsevec(3), b bit(4));
INSERT INTO hv
SELECT i,
	ARRAY[(i * 7) % 11, (i * 5) % 13, (i * 3) % 17]::real[]::vector,
	ARRAY[(i * 7) % 11, (i * 5) % 13, (i * 3) % 17]::real[]::vector::halfvec,
	ARRAY[(i * 7) % 11, (i * 5) % 13, (i * 3) % 17]::real[]::vector::sparsevec,
	((i * 5) % 16)::bit(4)
FROM generate_series(1, 60) i;
INSERT INTO hv VALUES (61, NULL, NULL, NULL, NULL);

-- Whether the index returns the exact distances in the exact order (ties
-- may come in any order, so distances are compared, not ids)
CREATE FUNCTION hnsw_same_order(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	exact float8[];
	indexed float8[];
BEGIN
	SET LOCAL enable_indexscan = off;
	EXECUTE 'SELECT array_agg(d) FROM (' || q || ') r' INTO exact;
	SET LOCAL enable_indexscan = on;
	SET LOCAL enable_seqscan = off;
	EXECUTE 'SELECT array_agg(d) FROM (' || q || ') r' INTO indexed;
	RETURN exact = indexed;
END
$$;

-- Build an index, show the plan, count the rows it returns, compare orders
CREATE FUNCTION hnsw_check(am text, col text, opclass text, op text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	ok boolean;
	line text;
	plan text := '';
	n int;
BEGIN
	EXECUTE format('CREATE INDEX hv_idx ON hv USING %s (%s %s)', am, col, opclass);
	SET LOCAL enable_seqscan = off;
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM hv ORDER BY %s %s %L LIMIT 5', col, op, q)
	LOOP
		plan := plan || line;
	END LOOP;
	EXECUTE format('SELECT count(*) FROM (SELECT id FROM hv ORDER BY %s %s %L) r', col, op, q) INTO n;
	ok := hnsw_same_order(format('SELECT %1$s %2$s %3$L AS d FROM hv ORDER BY %1$s %2$s %3$L LIMIT 20',
								 col, op, q));
	EXECUTE 'DROP INDEX hv_idx';
	-- Inner product is no metric: an element can end up with no incoming
	-- link (pgvector's graphs lose the same one), so allow one missing.
	RETURN format('%s %s: index scan %s, rows %s, same order %s', am, opclass,
				  position('Index Scan using hv_idx' in plan) > 0,
				  CASE WHEN n >= 59 THEN 'all' ELSE n::text END, ok);
END
$$;

SELECT hnsw_check(am, 'v', 'vector_l2_ops', '<->', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'v', 'vector_ip_ops', '<#>', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'v', 'vector_cosine_ops', '<=>', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'v', 'vector_l1_ops', '<+>', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'h', 'halfvec_l2_ops', '<->', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'h', 'halfvec_ip_ops', '<#>', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'h', 'halfvec_cosine_ops', '<=>', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'h', 'halfvec_l1_ops', '<+>', '[3,1,2]') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 's', 'sparsevec_l2_ops', '<->', '{1:3,2:1,3:2}/3') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 's', 'sparsevec_ip_ops', '<#>', '{1:3,2:1,3:2}/3') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 's', 'sparsevec_cosine_ops', '<=>', '{1:3,2:1,3:2}/3') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 's', 'sparsevec_l1_ops', '<+>', '{1:3,2:1,3:2}/3') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'b', 'bit_hamming_ops', '<~>', '1010') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;
SELECT hnsw_check(am, 'b', 'bit_jaccard_ops', '<%>', '1010') FROM unnest(ARRAY['hnsw', 'ruhnsw']) am;

-- The catalog: both access methods share the handler; 14 opclasses each
SELECT amname, amhandler, amtype FROM pg_am WHERE amname IN ('hnsw', 'ruhnsw') ORDER BY amname;
SELECT am.amname, count(*) FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
WHERE am.amname IN ('hnsw', 'ruhnsw') GROUP BY am.amname ORDER BY am.amname;
SELECT opcname, opcintype::regtype, opcdefault FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
WHERE am.amname = 'hnsw' ORDER BY opcname;

-- Values the index does not hold: NULLs, and zero vectors under cosine
CREATE TABLE hz (v vector(2));
INSERT INTO hz VALUES ('[0,0]'), ('[1,0]'), ('[0,1]'), (NULL);
CREATE INDEX ON hz USING hnsw (v vector_cosine_ops);
SET enable_seqscan = off;
SELECT v FROM hz ORDER BY v <=> '[1,0.5]';
-- a zero query and a NULL query order nothing but return every indexed row
SELECT count(*) FROM (SELECT v FROM hz ORDER BY v <=> '[0,0]') r;
SELECT count(*) FROM (SELECT v FROM hz ORDER BY v <=> (SELECT NULL::vector)) r;
RESET enable_seqscan;
DROP TABLE hz;

-- halfvec and sparsevec cosine normalise the same way
CREATE TABLE hzh (h halfvec(2), s sparsevec(2));
INSERT INTO hzh VALUES ('[0,0]', '{}/2'), ('[2,0]', '{1:2}/2'), ('[0,3]', '{2:3}/2');
CREATE INDEX ON hzh USING hnsw (h halfvec_cosine_ops);
CREATE INDEX ON hzh USING hnsw (s sparsevec_cosine_ops);
SET enable_seqscan = off;
SELECT h FROM hzh ORDER BY h <=> '[1,0.1]';
SELECT s FROM hzh ORDER BY s <=> '{1:1,2:0.1}/2';
RESET enable_seqscan;
DROP TABLE hzh;

DROP TABLE hv;
DROP FUNCTION hnsw_check(text, text, text, text, text);
DROP FUNCTION hnsw_same_order(text);
RESET hnsw.ef_search;
