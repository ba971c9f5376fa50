-- vector: distances, single-vector functions, arithmetic, comparisons and
-- the btree operator class.

CREATE FUNCTION vec_try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN st || ' ' || msg
		|| CASE WHEN det <> '' THEN ' | detail: ' || det ELSE '' END
		|| CASE WHEN hnt <> '' THEN ' | hint: ' || hnt ELSE '' END;
END $$;

-- Vectors long enough to cross every SIMD block size and leave a tail
-- (1..67 elements), with values whose float sums are exact, so each result
-- can be checked against a plain SQL computation.
CREATE TABLE vec_pairs AS
SELECT n,
       array_agg(((i * 7) % 11 - 5)::real ORDER BY i)::vector AS a,
       array_agg(((i * 3) % 13 - 6)::real / 4 ORDER BY i)::vector AS b
FROM generate_series(1, 67) n, generate_series(1, n) i
GROUP BY n;

CREATE FUNCTION vec_elems(v vector) RETURNS TABLE (i int, x float8)
LANGUAGE sql IMMUTABLE AS $$
	SELECT i::int, x::float8 FROM unnest(v::real[]) WITH ORDINALITY AS u(x, i)
$$;

-- Each distance agrees with its definition for every length
SELECT count(*) AS lengths,
       bool_and(l2_distance(a, b) = sqrt(l2sq)) AS l2,
       bool_and(vector_l2_squared_distance(a, b) = l2sq) AS l2sq,
       bool_and(inner_product(a, b) = dot) AS ip,
       bool_and(vector_negative_inner_product(a, b) = -dot) AS neg_ip,
       bool_and(l1_distance(a, b) = l1) AS l1,
       bool_and(abs(cosine_distance(a, b) - (1 - dot / sqrt(na * nb))) < 1e-12) AS cos,
       bool_and(a <-> b = l2_distance(a, b) AND a <#> b = -inner_product(a, b)
                AND a <=> b = cosine_distance(a, b) AND a <+> b = l1_distance(a, b)) AS ops,
       bool_and(a <-> b = b <-> a AND a <#> b = b <#> a
                AND a <=> b = b <=> a AND a <+> b = b <+> a) AS symmetric
FROM vec_pairs p,
     LATERAL (SELECT sum((ea.x - eb.x) ^ 2) AS l2sq, sum(ea.x * eb.x) AS dot,
                     sum(abs(ea.x - eb.x)) AS l1, sum(ea.x ^ 2) AS na, sum(eb.x ^ 2) AS nb
              FROM vec_elems(p.a) ea JOIN vec_elems(p.b) eb USING (i)) s;

-- Distances: small cases
SELECT l2_distance('[0,0]'::vector, '[3,4]'), '[1,2,3]'::vector <-> '[1,2,3]';
SELECT vector_l2_squared_distance('[0,0]', '[3,4]');
SELECT inner_product('[1,2]'::vector, '[3,4]'), '[1,2]'::vector <#> '[3,4]';
SELECT vector_negative_inner_product('[1,2]', '[-3,4]');
SELECT l1_distance('[0,0]'::vector, '[3,-4]'), '[1,2]'::vector <+> '[2,4]';
SELECT cosine_distance('[1,2]'::vector, '[2,4]'), cosine_distance('[1,0]'::vector, '[0,2]'),
       cosine_distance('[1,1]'::vector, '[-1,-1]'), '[1,2]'::vector <=> '[-2,1]';
-- results are float sums widened to double, so 0.1-steps show float rounding
SELECT l2_distance('[0.1]'::vector, '[0.2]'), inner_product('[0.1]'::vector, '[0.1]'), l1_distance('[0.1]'::vector, '[0.3]');
-- overflow of the float accumulator is not an error
SELECT l2_distance('[3e38]'::vector, '[-3e38]'), inner_product('[3e38]'::vector, '[3e38]'),
       l1_distance('[3e38]'::vector, '[-3e38]'), vector_l2_squared_distance('[3e38]', '[-3e38]');
-- cosine: a zero vector gives NaN; overflowing norms give NaN; the result is
-- clamped to [0, 2]
SELECT cosine_distance('[0,0]'::vector, '[1,2]'), cosine_distance('[0,0]'::vector, '[0,0]'),
       cosine_distance('[3e38]'::vector, '[3e38]');
SELECT cosine_distance('[1,1]'::vector, '[1.1,1.1]'), cosine_distance('[1,1]'::vector, '[-1.1,-1.1]');
SELECT cosine_distance(v, v) AS self, cosine_distance(v, v * '[-1,-1,-1]') AS opposite
FROM (SELECT '[0.3,0.7,1.1]'::vector AS v) t;
-- spherical distance: acos of the (clamped) inner product, over pi
SELECT vector_spherical_distance('[1,0]', '[0,1]'), vector_spherical_distance('[1,0]', '[1,0]'),
       vector_spherical_distance('[1,0]', '[-1,0]'), vector_spherical_distance('[2,0]', '[2,0]'),
       vector_spherical_distance('[-2,0]', '[2,0]');
SELECT round(vector_spherical_distance('[0.6,0.8]', '[0.8,0.6]')::numeric, 12);
-- dimension mismatches
SELECT vec_try($$SELECT l2_distance('[1,2]'::vector, '[3]')$$);
SELECT vec_try($$SELECT '[1,2]'::vector <-> '[3]'$$);
SELECT vec_try($$SELECT vector_l2_squared_distance('[1]', '[1,2,3]')$$);
SELECT vec_try($$SELECT inner_product('[1,2]'::vector, '[3]')$$);
SELECT vec_try($$SELECT vector_negative_inner_product('[1,2]', '[3]')$$);
SELECT vec_try($$SELECT cosine_distance('[1,2]'::vector, '[3]')$$);
SELECT vec_try($$SELECT vector_spherical_distance('[1,2]', '[3]')$$);
SELECT vec_try($$SELECT l1_distance('[1,2]'::vector, '[3]')$$);
-- NULL in, NULL out (all functions are strict)
SELECT l2_distance(NULL::vector, '[1]') IS NULL AS l2, '[1]'::vector <=> NULL IS NULL AS cos,
       vector_norm(NULL) IS NULL AS norm, subvector(NULL::vector, 1, 1) IS NULL AS sub;

-- Single-vector functions
SELECT vector_dims('[1,2,3]'::vector), vector_dims(array_fill(1, ARRAY[16000])::vector);
SELECT vector_norm('[3,4]'), vector_norm('[0,0]'), vector_norm('[-2]'),
       round(vector_norm('[1,1]')::numeric, 10);
SELECT vector_norm('[3e37,4e37]')::real AS norm_in_double, vector_norm('[1e-40,1e-40]') > 0 AS tiny;
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[3,0]'::vector), l2_normalize('[0,0.1]'::vector),
       l2_normalize('[0,0]'::vector), l2_normalize('[-2,0,0]'::vector);
SELECT l2_normalize('[3e38]'::vector), l2_normalize('[1e-45]'::vector), l2_normalize('[3e38,3e38]'::vector);
SELECT round(vector_norm(l2_normalize(a))::numeric, 6) FROM vec_pairs WHERE n IN (1, 17, 67) ORDER BY n;
SELECT binary_quantize('[1,0,-1]'::vector), binary_quantize('[0.5]'::vector), binary_quantize('[-0,0,1e-45]'::vector);
SELECT binary_quantize('[1,2,3,4,5,6,7,8]'::vector), binary_quantize('[1,-2,3,-4,5,-6,7,-8,9]'::vector);
SELECT binary_quantize(a)::text = string_agg(CASE WHEN x > 0 THEN '1' ELSE '0' END, '' ORDER BY i) AS ok
FROM vec_pairs p, vec_elems(p.a) e WHERE n = 67 GROUP BY a;
SELECT pg_typeof(binary_quantize('[1]'::vector)), length(binary_quantize('[1,2,3,4,5,6,7,8,9,10,11]'::vector));
SELECT binary_quantize('[1,-1,1]'::vector) = B'101' AS same_as_bit_literal;

-- subvector(v, start, count): 1-based and clipped like substring()
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3), subvector('[1,2,3,4,5]'::vector, 3, 2), subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3), subvector('[1,2,3,4,5]'::vector, 3, 9), subvector('[1,2,3,4,5]'::vector, 0, 100);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483644, 2147483647), subvector('[1,2,3,4,5]'::vector, 3, 2147483647);
SELECT vec_try($$SELECT subvector('[1,2,3,4,5]'::vector, 1, 0)$$);
SELECT vec_try($$SELECT subvector('[1,2,3,4,5]'::vector, 3, -1)$$);
SELECT vec_try($$SELECT subvector('[1,2,3,4,5]'::vector, -1, 2)$$);
SELECT vec_try($$SELECT subvector('[1,2,3,4,5]'::vector, 6, 1)$$);
SELECT vec_try($$SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 10)$$);
SELECT vec_try($$SELECT subvector('[1,2,3,4,5]'::vector, -2147483648, 2147483647)$$);

-- Concatenation
SELECT '[1,2,3]'::vector || '[4,5]', vector_concat('[1]', '[2]');
SELECT vector_dims(array_fill(0, ARRAY[15999])::vector || '[1]');
SELECT vec_try($$SELECT array_fill(0, ARRAY[16000])::vector || '[1]'$$);

-- Arithmetic: element-wise, same dimensions
SELECT '[1,2,3]'::vector + '[4,5,6]', '[1,2,3]'::vector - '[4,5,6]', '[1,2,3]'::vector * '[4,5,6]';
SELECT vector_add('[0.1]', '[0.2]'), vector_sub('[1]', '[1]'), vector_mul('[-2,0]', '[3,-1]');
SELECT bool_and(a + b - b = a) AS add_sub, bool_and(a * array_fill(1, ARRAY[n])::vector = a) AS mul_one,
       bool_and((a + b)::real[] = ARRAY(SELECT ea.x + eb.x FROM vec_elems(a) ea JOIN vec_elems(b) eb USING (i) ORDER BY i)::real[]) AS add_elems,
       bool_and((a * b)::real[] = ARRAY(SELECT ea.x * eb.x FROM vec_elems(a) ea JOIN vec_elems(b) eb USING (i) ORDER BY i)::real[]) AS mul_elems
FROM vec_pairs;
SELECT vec_try($$SELECT '[3e38]'::vector + '[3e38]'$$);
SELECT vec_try($$SELECT '[-3e38]'::vector - '[3e38]'$$);
SELECT vec_try($$SELECT '[1e37]'::vector * '[1e37]'$$);
SELECT vec_try($$SELECT '[1e-37]'::vector * '[1e-37]'$$);
SELECT vec_try($$SELECT '[1e-37,1e37]'::vector * '[1e-37,1e37]'$$);  -- first bad element wins
SELECT vec_try($$SELECT '[1e37,1e-37]'::vector * '[1e37,1e-37]'$$);
SELECT '[0,1e-37]'::vector * '[5,0]' AS zero_factor_is_no_underflow;
SELECT '[1e-30]'::vector * '[1e-10]' AS subnormal_product_is_fine;
SELECT vec_try($$SELECT '[1,2]'::vector + '[3]'$$);
SELECT vec_try($$SELECT '[1,2]'::vector - '[3]'$$);
SELECT vec_try($$SELECT '[1,2]'::vector * '[3]'$$);

-- Comparisons: element by element, then shorter first (like arrays)
SELECT '[1,2,3]'::vector < '[1,2,3]', '[1,2,3]'::vector <= '[1,2,3]', '[1,2,3]'::vector = '[1,2,3]',
       '[1,2,3]'::vector <> '[1,2,3]', '[1,2,3]'::vector >= '[1,2,3]', '[1,2,3]'::vector > '[1,2,3]';
SELECT '[1,2]'::vector < '[1,2,3]', '[1,2]'::vector = '[1,2,3]', '[2]'::vector > '[1,2,3]',
       '[1,2,3]'::vector >= '[1,2]', '[1,2,4]'::vector > '[1,2,3]', '[1,2,3]'::vector != '[1,2]';
SELECT vector_cmp('[1,2,3]', '[1,2,3]'), vector_cmp('[1,2,3]', '[0,0,0]'), vector_cmp('[0,0,0]', '[1,2,3]'),
       vector_cmp('[1,2]', '[1,2,3]'), vector_cmp('[1,2,3]', '[1,2]'), vector_cmp('[1,2]', '[2,3,4]'),
       vector_cmp('[2,3]', '[1,2,3]');
SELECT '[0]'::vector = '[-0]' AS zero_equals_negative_zero, vector_cmp('[-0]', '[0]');
SELECT '[1e-45]'::vector > '[0]' AS subnormal_sorts_above_zero;
-- every operator agrees with vector_cmp, over all pairs of a small set
WITH s(v) AS (VALUES ('[1,2,3]'::vector), ('[1,2]'), ('[1,2,4]'), ('[0]'), ('[2]'), ('[-1,5]'))
SELECT count(*) AS pairs,
       bool_and((a < b) = (vector_cmp(a, b) < 0) AND (a <= b) = (vector_cmp(a, b) <= 0)
                AND (a = b) = (vector_cmp(a, b) = 0) AND (a <> b) = (vector_cmp(a, b) <> 0)
                AND (a >= b) = (vector_cmp(a, b) >= 0) AND (a > b) = (vector_cmp(a, b) > 0)
                AND vector_cmp(a, b) = -vector_cmp(b, a)) AS consistent
FROM s s1(a), s s2(b);

-- btree operator class: index scans, ordering, uniqueness, DISTINCT, GROUP BY
CREATE TABLE vec_btree (id int, v vector);
INSERT INTO vec_btree VALUES (1, '[1,2,3]'), (2, '[0,0,0]'), (3, '[1,1,1]'), (4, NULL),
                             (5, '[1,2]'), (6, '[1,2,3]'), (7, '[-1]');
CREATE INDEX vec_btree_v ON vec_btree (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM vec_btree WHERE v = '[1,2,3]';
SELECT id FROM vec_btree WHERE v = '[1,2,3]' ORDER BY id;
SELECT id, v FROM vec_btree WHERE v < '[1,2]' ORDER BY v;
SELECT id, v FROM vec_btree WHERE v >= '[1,2]' ORDER BY v, id;
SELECT id, v FROM vec_btree ORDER BY v DESC, id;
RESET enable_seqscan;
SELECT DISTINCT v FROM vec_btree ORDER BY v;
SELECT v, count(*) FROM vec_btree GROUP BY v ORDER BY v;
SELECT min(id) FROM vec_btree GROUP BY v HAVING count(*) > 1;
SELECT vec_try($$CREATE UNIQUE INDEX ON vec_btree (v)$$);
DELETE FROM vec_btree WHERE id = 6;
CREATE UNIQUE INDEX vec_btree_u ON vec_btree (v);
SELECT vec_try($$INSERT INTO vec_btree VALUES (8, '[1,1,1]')$$);
SELECT opcname, opcdefault FROM pg_opclass
WHERE opcintype = 'vector'::regtype AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree');

-- Operator metadata that the planner relies on
SELECT oprname, oprcode, oprcom::regoperator AS commutator, oprnegate::regoperator AS negator,
       oprrest, oprjoin, obj_description(o.oid, 'pg_operator') AS comment
FROM pg_operator o
WHERE oprleft = 'vector'::regtype AND oprright = 'vector'::regtype
ORDER BY oprname;
-- (pgvector's catalogue only: RuVector's own ruvector_* functions have their own tests)
SELECT p.oid::regprocedure, provolatile, proisstrict, proparallel, prorettype::regtype,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p
WHERE p.proname NOT LIKE 'ruvector%'
  AND ('vector'::regtype = ANY (p.proargtypes) OR p.prorettype = 'vector'::regtype)
  AND NOT EXISTS (SELECT FROM unnest(p.proargtypes) t WHERE t::regtype::text IN ('halfvec', 'sparsevec'))
  AND p.prorettype::regtype::text NOT IN ('halfvec', 'sparsevec')
ORDER BY p.oid::regprocedure::text COLLATE "C";

DROP TABLE vec_pairs, vec_btree;
DROP FUNCTION vec_elems(vector);
DROP FUNCTION vec_try(text);
