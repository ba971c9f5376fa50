-- halfvec: functions, operators, casts and the btree operator class.

-- The SQL surface: operators with their commutators and negators, and the
-- casts with their contexts (e = explicit, a = assignment, i = implicit).
SELECT oprname, oprleft::regtype, oprright::regtype, oprresult::regtype,
	oprcom::regoperator AS commutator, oprnegate::regoperator AS negator
	FROM pg_operator WHERE oprleft = 'halfvec'::regtype ORDER BY oprname;
SELECT castsource::regtype, casttarget::regtype, castcontext, castfunc::regprocedure
	FROM pg_cast
	WHERE (castsource = 'halfvec'::regtype OR casttarget = 'halfvec'::regtype)
	AND castsource::regtype::text <> 'sparsevec' AND casttarget::regtype::text <> 'sparsevec'
	ORDER BY 1::text, 2::text;

-- Distances --------------------------------------------------------------

SELECT l2_distance('[0,0]'::halfvec, '[3,4]'), '[0,0]'::halfvec <-> '[3,4]';
SELECT halfvec_l2_squared_distance('[0,0]', '[3,4]');
SELECT l2_distance('[1,2]'::halfvec, '[3]');
SELECT halfvec_l2_squared_distance('[1,2]', '[3]');

SELECT inner_product('[1,2]'::halfvec, '[3,4]'), '[1,2]'::halfvec <#> '[3,4]';
SELECT halfvec_negative_inner_product('[1,2]', '[3,4]');
SELECT inner_product('[65504,65504]'::halfvec, '[65504,-65504]');
SELECT inner_product('[65504]'::halfvec, '[65504]');
SELECT inner_product('[1,2]'::halfvec, '[3]');
SELECT halfvec_negative_inner_product('[1,2]', '[3]');

SELECT cosine_distance('[1,2]'::halfvec, '[2,4]'), '[1,2]'::halfvec <=> '[2,4]';
SELECT cosine_distance('[1,0]'::halfvec, '[0,3]');
SELECT cosine_distance('[1,1]'::halfvec, '[-2,-2]');
SELECT cosine_distance('[3,4]'::halfvec, '[4,3]');
-- A zero vector has no direction: NaN, as in pgvector.
SELECT cosine_distance('[0,0]'::halfvec, '[1,2]');
SELECT cosine_distance('[0,0]'::halfvec, '[0,0]');
-- Rounding can make |cos| exceed 1; the distance is clamped to [0, 2].
SELECT cosine_distance('[1,1]'::halfvec, '[1.1,1.1]'), cosine_distance('[1,1]'::halfvec, '[-1.1,-1.1]');
SELECT cosine_distance('[1,2]'::halfvec, '[3]');

SELECT l1_distance('[0,0]'::halfvec, '[3,-4]'), '[0,0]'::halfvec <+> '[3,-4]';
SELECT l1_distance('[65504]'::halfvec, '[-65504]');
SELECT l1_distance('[1,2]'::halfvec, '[3]');

-- Angular distance (ivfflat's k-means on unit vectors): acos(a.b) / pi.
SELECT halfvec_spherical_distance('[1,0]', '[0,1]');
SELECT halfvec_spherical_distance('[1,0]', '[1,0]');
SELECT halfvec_spherical_distance('[1,0]', '[-1,0]');
SELECT halfvec_spherical_distance('[1,1]', '[1,1]');	-- dot 2 is clamped to 1
SELECT halfvec_spherical_distance('[1,2]', '[3]');

-- Every kernel against a float8 reference, for every length from 1 to 40
-- (each SIMD tail length) and 16000.  The values are multiples of 1/4, so
-- float accumulation is exact and results must be equal, not just close.
WITH p AS (
	SELECT n,
		array_agg(((i * 7) % 11 - 5) * 0.25 ORDER BY i) AS a,
		array_agg(((i * 3) % 13 - 6) * 0.5 ORDER BY i) AS b
	FROM (SELECT generate_series(1, 40) AS n UNION ALL SELECT 16000) lens,
		generate_series(1, n) i
	GROUP BY n
), r AS (
	SELECT n, a::halfvec AS ha, b::halfvec AS hb,
		(SELECT sum((x - y) ^ 2) FROM unnest(a, b) u(x, y))::float8 AS l2sq,
		(SELECT sum(x * y) FROM unnest(a, b) u(x, y))::float8 AS dot,
		(SELECT sum(abs(x - y)) FROM unnest(a, b) u(x, y))::float8 AS l1,
		(SELECT sum(x * x) FROM unnest(a) x)::float8 AS na,
		(SELECT sum(y * y) FROM unnest(b) y)::float8 AS nb
	FROM p
)
SELECT count(*) AS lengths,
	count(*) FILTER (WHERE l2_distance(ha, hb) <> sqrt(l2sq)) AS l2_bad,
	count(*) FILTER (WHERE halfvec_l2_squared_distance(ha, hb) <> l2sq) AS l2sq_bad,
	count(*) FILTER (WHERE inner_product(ha, hb) <> dot) AS ip_bad,
	count(*) FILTER (WHERE (ha <#> hb) <> -dot) AS nip_bad,
	count(*) FILTER (WHERE l1_distance(ha, hb) <> l1) AS l1_bad,
	count(*) FILTER (WHERE cosine_distance(ha, hb) <>
		1 - greatest(-1, least(1, dot / sqrt(na * nb)))) AS cos_bad,
	count(*) FILTER (WHERE l2_norm(ha) <> sqrt(na)) AS norm_bad
FROM r;

-- Norms, dimensions, normalisation --------------------------------------

SELECT vector_dims('[1,2,3]'::halfvec), vector_dims(array_fill(0, ARRAY[16000])::halfvec);
SELECT l2_norm('[3,4]'::halfvec), l2_norm('[0,0]'::halfvec), l2_norm('[-2]'::halfvec);
-- Accumulated in double.
SELECT round(l2_norm(array_fill(65504, ARRAY[16000])::halfvec)::numeric, 3);
SELECT l2_normalize('[3,4]'::halfvec);
SELECT l2_normalize('[3,0,-4]'::halfvec);
SELECT l2_normalize('[0,0]'::halfvec);
SELECT l2_normalize('[65504,65504]'::halfvec);
SELECT l2_normalize('[5.9604645e-08,0]'::halfvec);
SELECT l2_norm(l2_normalize('[1,2,3,4,5]'::halfvec));

-- binary_quantize: one bit per element, set where the element is > 0.
SELECT binary_quantize('[1,0,-1,-0,0.001]'::halfvec);
SELECT binary_quantize('[1,1,1,1,1,1,1,1]'::halfvec);
SELECT binary_quantize('[1,-1,1,-1,1,-1,1,-1,1]'::halfvec);
SELECT length(binary_quantize(array_fill(1, ARRAY[16000])::halfvec));

-- subvector: 1-based start, clipped like substring; empty is an error.
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3);
SELECT subvector('[1,2,3,4,5]'::halfvec, 5, 1);
SELECT subvector('[1,2,3,4,5]'::halfvec, 0, 2);
SELECT subvector('[1,2,3,4,5]'::halfvec, 4, 100);
SELECT subvector('[1,2,3,4,5]'::halfvec, -2147483648, 2147483647);
SELECT subvector('[1,2,3,4,5]'::halfvec, 1, 2147483647);
SELECT subvector('[1,2,3,4,5]'::halfvec, 6, 1);
SELECT subvector('[1,2,3,4,5]'::halfvec, 0, 1);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 0);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, -5);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2147483647, 2147483647);
SELECT subvector('[1,2,3,4,5]'::halfvec, -2147483648, 1);

-- Arithmetic --------------------------------------------------------------

-- Results are rounded to halves (2048 + 1 is a tie, kept even).
SELECT '[1,2,3]'::halfvec + '[0.5,-2,2048]', '[2048]'::halfvec + '[1]', '[2048]'::halfvec + '[3]';
SELECT '[1,2,3]'::halfvec - '[0.5,2,-2048]', '[1]'::halfvec - '[1]';
SELECT '[1,2,3]'::halfvec * '[0.5,-2,0]', '[256]'::halfvec * '[255.9]';
-- 65519 rounds down to 65504; 65520 is a tie that rounds to infinity.
SELECT '[65504]'::halfvec + '[15]', '[-65504]'::halfvec - '[15]';
SELECT '[65504]'::halfvec + '[16]';
SELECT '[-65504]'::halfvec - '[16]';
SELECT '[1, 65504]'::halfvec + '[1, 65504]';
SELECT '[256]'::halfvec * '[256]';
-- A non-zero product that rounds to zero is an underflow; a zero factor is not.
SELECT '[0.0001]'::halfvec * '[0.0001]';
SELECT '[0, 0.0001]'::halfvec * '[0.0001, 0]';
SELECT '[0.001]'::halfvec * '[0.001]';
SELECT '[1,2]'::halfvec + '[3]';
SELECT '[1,2]'::halfvec - '[3]';
SELECT '[1,2]'::halfvec * '[3]';

SELECT '[1,2]'::halfvec || '[3]', '[1]'::halfvec || '[-0.5,65504]';
SELECT vector_dims(array_fill(1, ARRAY[15999])::halfvec || '[1]');
SELECT array_fill(1, ARRAY[15999])::halfvec || '[1,2]';

-- Comparison and btree ---------------------------------------------------

SELECT a, b, a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne, a >= b AS ge,
	a > b AS gt, halfvec_cmp(a, b) AS cmp
	FROM (VALUES ('[1,2,3]'::halfvec, '[1,2,3]'::halfvec),
		('[1,2,3]', '[1,2,4]'), ('[1,2,4]', '[1,2,3]'),
		('[1,2]', '[1,2,3]'), ('[1,2,3]', '[1,2]'),
		('[1,3]', '[1,2,3]'), ('[0]', '[-0]'), ('[-1]', '[0.5]'),
		('[0.1]', '[0.10001]')) v(a, b);

CREATE TABLE halfvec_ops_t (id serial, v halfvec);
INSERT INTO halfvec_ops_t (v) VALUES ('[1,2,3]'), ('[0,0,0]'), ('[1,1]'), ('[-1,5]'),
	('[1,2,3]'), (NULL), ('[1,2,3,0]'), ('[65504]');
SELECT v FROM halfvec_ops_t ORDER BY v, id;
SELECT v, count(*) FROM halfvec_ops_t GROUP BY v ORDER BY v;
SELECT DISTINCT v FROM halfvec_ops_t ORDER BY v DESC;
CREATE INDEX ON halfvec_ops_t (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM halfvec_ops_t WHERE v = '[1,2,3]';
SELECT id FROM halfvec_ops_t WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM halfvec_ops_t WHERE v = '[-0,0,-0]' ORDER BY id;
SELECT id, v FROM halfvec_ops_t WHERE v > '[0,0,0]' AND v <= '[1,2,3]' ORDER BY v, id;
RESET enable_seqscan;
CREATE UNIQUE INDEX ON halfvec_ops_t (v) WHERE id < 5;
INSERT INTO halfvec_ops_t (id, v) VALUES (1, '[-0,0,0]');
DROP TABLE halfvec_ops_t;

-- Casts -------------------------------------------------------------------

-- vector -> halfvec: rounds, and refuses what a half cannot hold.
SELECT '[1,2,3]'::vector::halfvec, '[1,2,3]'::vector::halfvec(3);
SELECT '[0.1,65519,-65519,1e-8,-1e-8,3e-8]'::vector::halfvec;
SELECT '[1,2,3]'::vector::halfvec(2);
SELECT '[65520]'::vector::halfvec;
SELECT '[1,-65520]'::vector::halfvec;
SELECT '[1e10]'::vector::halfvec;
SELECT '[3.4e38]'::vector::halfvec;
-- halfvec -> vector: exact.
SELECT '[0.1,65504,-0,5.9604645e-08]'::halfvec::vector;
SELECT '[1,2,3]'::halfvec::vector(3);
SELECT '[1,2,3]'::halfvec::vector(2);
-- vector -> halfvec is implicit: halfvec operators take vector arguments.
SELECT '[0,0]'::halfvec <-> '[3,4]'::vector;
SELECT l1_distance('[1,2]'::vector, '[3,4]'::halfvec);
SELECT pg_typeof('[1,2]'::halfvec + '[1,2]'::vector);
-- but a halfvec is not silently widened to a vector.
SELECT vector_norm('[3,4]'::halfvec);
-- halfvec -> vector is for assignment only.
CREATE TABLE halfvec_ops_c (h halfvec(2), v vector(2));
INSERT INTO halfvec_ops_c VALUES ('[1,2]'::vector, '[0.1,3]'::halfvec);
INSERT INTO halfvec_ops_c (h) VALUES ('[65520,1]'::vector);
INSERT INTO halfvec_ops_c (v) VALUES ('[1,2,3]'::halfvec);
SELECT h, v, pg_typeof(h), pg_typeof(v) FROM halfvec_ops_c;
DROP TABLE halfvec_ops_c;

-- Arrays -> halfvec (assignment casts) and halfvec -> real[].
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2,3]::halfvec, ARRAY[0.1,2,3]::real[]::halfvec,
	ARRAY[0.1,2,3]::float8[]::halfvec;
SELECT '{1,2,3}'::int[]::halfvec(3), '{1,2,3}'::real[]::halfvec(3),
	'{1,2,3}'::float8[]::halfvec(3), '{1,2,3}'::numeric[]::halfvec(3);
SELECT '{1,2,3}'::int[]::halfvec(2);
SELECT '{1,2,3}'::numeric[]::halfvec(4);
SELECT '{1,NULL}'::real[]::halfvec;
SELECT '{{1,2},{3,4}}'::int[]::halfvec;
SELECT '{}'::real[]::halfvec;
SELECT array_fill(1, ARRAY[16001])::halfvec;
SELECT '{NaN}'::float8[]::halfvec;
SELECT '{1,-Infinity}'::real[]::halfvec;
-- Out of range is reported per source type: the shortest float decimal for
-- int, real and numeric; a float8 beyond float's range is infinite.
SELECT '{70000}'::int[]::halfvec;
SELECT '{1,-65520}'::real[]::halfvec;
SELECT '{65519.5,70000.25}'::numeric[]::halfvec;
SELECT '{1e300}'::float8[]::halfvec;
SELECT '{1e39}'::numeric[]::halfvec;
-- Range is checked while converting, NaN and infinity only afterwards.
SELECT '{NaN,70000}'::real[]::halfvec;
SELECT '{1e-8,-1e-8,65519}'::float8[]::halfvec;
SELECT '[0.1,-0,65504]'::halfvec::real[];
SELECT array_to_halfvec('{1,2}'::int[], -1, false), halfvec_to_float4('[1,2]', -1, false);
SELECT '{1,2}'::real[]::halfvec::real[], '[1,2]'::halfvec::real[]::halfvec;
