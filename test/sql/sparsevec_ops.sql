-- sparsevec: distances, norms, normalisation, comparison operators and the
-- btree operator class.

-- l2_distance / <-> / squared
SELECT l2_distance('{1:1,3:2}/4'::sparsevec, '{2:2,3:4}/4');
SELECT '{1:3}/2'::sparsevec <-> '{2:4}/2', '{2:4}/2'::sparsevec <-> '{1:3}/2';
SELECT '{}/2'::sparsevec <-> '{}/2';
SELECT '{1:1,2:2,3:3}/3'::sparsevec <-> '{1:1,2:2,3:3}/3';
SELECT sparsevec_l2_squared_distance('{1:1,3:2}/4', '{2:2,3:4}/4');
SELECT sparsevec_l2_squared_distance('{1:3}/2', '{2:4}/2');
SELECT '{1:3e38}/2'::sparsevec <-> '{1:-3e38}/2';       -- float overflow
SELECT '{1:2,4:1}/9'::sparsevec <-> '{9:2}/9';          -- b after all of a

-- inner_product / <#> (negated, so that smaller is closer)
SELECT inner_product('{1:1,2:2,4:3}/5'::sparsevec, '{2:4,3:7,4:-1}/5');
SELECT '{1:1,2:2,4:3}/5'::sparsevec <#> '{2:4,3:7,4:-1}/5';
SELECT sparsevec_negative_inner_product('{1:1,2:2,4:3}/5', '{2:4,3:7,4:-1}/5');
SELECT inner_product('{1:1}/2'::sparsevec, '{2:1}/2'), '{1:1}/2'::sparsevec <#> '{2:1}/2';
SELECT inner_product('{}/2'::sparsevec, '{1:5,2:5}/2');
SELECT inner_product('{1:2e38}/1'::sparsevec, '{1:2e38}/1');

-- cosine_distance / <=>
SELECT cosine_distance('{1:3,2:4}/2'::sparsevec, '{1:4,2:3}/2');
SELECT '{1:1,3:1}/3'::sparsevec <=> '{1:2,3:2}/3';        -- same direction
SELECT '{1:1}/3'::sparsevec <=> '{2:1}/3';                -- orthogonal
SELECT '{1:1,2:-2}/2'::sparsevec <=> '{1:-3,2:6}/2';      -- opposite
SELECT '{1:1}/2'::sparsevec <=> '{}/2', '{}/2'::sparsevec <=> '{}/2';  -- no direction
-- rounding would give a similarity just past +/-1 here; it is clamped
SELECT '{1:1,2:1}/2'::sparsevec <=> '{1:1.3,2:1.3}/2', '{1:1,2:1}/2'::sparsevec <=> '{1:-1.3,2:-1.3}/2';
SELECT '{1:1,2:1}/2'::sparsevec <=> '{1:2.9,2:2.9}/2';      -- but not rounded away
SELECT '{1:1e38}/1'::sparsevec <=> '{1:2e38}/1';          -- the norms overflow float

-- l1_distance / <+>
SELECT l1_distance('{1:1,3:-2}/4'::sparsevec, '{2:2,3:1}/4');
SELECT '{1:1,3:-2}/4'::sparsevec <+> '{2:2,3:1}/4', '{2:2,3:1}/4'::sparsevec <+> '{1:1,3:-2}/4';
SELECT '{}/4'::sparsevec <+> '{4:-4}/4';
SELECT '{1:3e38}/1'::sparsevec <+> '{1:-3e38}/1';

-- Every binary function refuses different dimensions
SELECT l2_distance('{}/2'::sparsevec, '{}/3');
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
SELECT sparsevec_l2_squared_distance('{}/2', '{}/3');
SELECT inner_product('{}/4'::sparsevec, '{}/3');
SELECT '{}/2'::sparsevec <#> '{}/1';
SELECT cosine_distance('{}/2'::sparsevec, '{}/3');
SELECT l1_distance('{}/1000000000'::sparsevec, '{}/1');

-- Longer merges agree with the dense computation (a: even indexes, b:
-- multiples of three; they meet at multiples of six)
CREATE TABLE sv_pair AS
SELECT (SELECT ('{' || string_agg(i || ':' || (i % 7 - 3), ',') || '}/1000')::sparsevec
		FROM generate_series(2, 1000, 2) i WHERE i % 7 <> 3) AS a,
	   (SELECT ('{' || string_agg(i || ':' || (i % 5 + 1) * 0.5, ',') || '}/1000')::sparsevec
		FROM generate_series(3, 1000, 3) i) AS b;
SELECT abs((a <-> b) - (a::vector <-> b::vector)) < 1e-9 * (a <-> b) AS l2,
	   abs((a <#> b) - (a::vector <#> b::vector)) < 1e-9 * abs(a <#> b) AS ip,
	   abs((a <=> b) - (a::vector <=> b::vector)) < 1e-6 AS cosine,
	   abs((a <+> b) - (a::vector <+> b::vector)) < 1e-9 * (a <+> b) AS l1,
	   (b <-> a) = (a <-> b) AND (b <#> a) = (a <#> b)
		 AND (b <=> a) = (a <=> b) AND (b <+> a) = (a <+> b) AS symmetric
	FROM sv_pair;
SELECT round((a <-> b)::numeric, 3), round((a <#> b)::numeric, 3),
	   round((a <=> b)::numeric, 6), round((a <+> b)::numeric, 3)
	FROM sv_pair;
DROP TABLE sv_pair;

-- l2_norm (accumulated in double, so no overflow)
SELECT l2_norm('{2:3,5:4}/5'::sparsevec);
SELECT l2_norm('{}/5'::sparsevec);
SELECT l2_norm('{1:-2}/1'::sparsevec);
SELECT l2_norm('{1:3e38,2:3e38}/2'::sparsevec);
SELECT l2_norm('{1:1e-45}/1'::sparsevec);

-- l2_normalize
SELECT l2_normalize('{2:3,5:4}/5'::sparsevec);
SELECT l2_normalize('{3:-0.001}/4'::sparsevec);
SELECT l2_normalize('{}/3'::sparsevec);
SELECT l2_normalize('{1:3e38,2:3e38}/2'::sparsevec);
SELECT l2_normalize('{1:3e38,2:1e-38,3:-3e38}/3'::sparsevec);   -- underflow is dropped
SELECT l2_norm(l2_normalize('{1:1,2:2,3:3,4:4}/4'::sparsevec));

-- Comparison: as the dense forms, element by element, then the dimension
SELECT '{1:1}/3'::sparsevec < '{1:2}/3', '{1:1}/3'::sparsevec < '{1:1}/4',
	   '{2:-1}/3'::sparsevec < '{}/3', '{}/3'::sparsevec < '{3:1}/3';
SELECT '{1:1}/3'::sparsevec <= '{1:1}/3', '{1:2}/3'::sparsevec <= '{1:1}/3';
SELECT '{1:1}/3'::sparsevec = '{1:1}/3', '{}/2'::sparsevec = '{}/3',
	   '{1:1,2:-0}/2'::sparsevec = '{1:1}/2';
SELECT '{1:1}/3'::sparsevec <> '{1:1}/3', '{1:1}/3'::sparsevec <> '{2:1}/3';
SELECT '{1:1}/3'::sparsevec >= '{1:1}/3', '{1:1}/3'::sparsevec >= '{1:1,3:1}/3';
SELECT '{3:1}/3'::sparsevec > '{2:1}/3', '{2:1}/3'::sparsevec > '{3:1}/3';
SELECT a, b, sparsevec_cmp(a::sparsevec, b::sparsevec), sparsevec_cmp(b::sparsevec, a::sparsevec)
	FROM (VALUES ('{1:1}/2', '{1:1,3:-1}/3'),       -- equal over 2 dims, then shorter
				 ('{1:1,2:1}/2', '{1:1}/3'),        -- 1 > absent 0 at index 2
				 ('{1:1,2:-1}/2', '{1:1}/3'),       -- -1 < absent 0
				 ('{2:5}/2', '{1:5}/2'),            -- absent 0 < 5 at index 1
				 ('{1:-5}/2', '{2:-5}/2'),
				 ('{1:2,2:3}/2', '{1:2,2:3}/2'),
				 ('{}/2', '{}/2'),
				 ('{}/2', '{}/5'),
				 ('{1000000000:1}/1000000000', '{1:1}/1')) v(a, b);

-- btree: sorting, grouping, unique, index scans
CREATE TABLE sv_bt (id int, v sparsevec);
INSERT INTO sv_bt VALUES
	(1, '{1:1,2:2}/3'), (2, '{}/3'), (3, '{1:-1}/3'), (4, '{3:1}/3'),
	(5, '{1:1}/2'), (6, '{1:1,2:2}/3'), (7, NULL), (8, '{}/1');
SELECT id, v FROM sv_bt ORDER BY v, id;
SELECT v, count(*) FROM sv_bt GROUP BY v ORDER BY v;
SELECT count(DISTINCT v) FROM sv_bt;
SELECT min(id), max(id) FROM sv_bt WHERE v > '{}/3' AND v <= '{1:1,2:2}/3';
CREATE INDEX sv_bt_idx ON sv_bt (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM sv_bt WHERE v = '{1:1,2:2}/3';
SELECT id FROM sv_bt WHERE v = '{1:1,2:2}/3' ORDER BY id;
SELECT id FROM sv_bt WHERE v < '{}/3' ORDER BY v;
RESET enable_seqscan;
CREATE UNIQUE INDEX sv_bt_uniq ON sv_bt (v) WHERE id <> 6;
\set VERBOSITY terse
INSERT INTO sv_bt VALUES (9, '{3:1}/3');
\set VERBOSITY default

-- Ordering by distance (sequential scan; index methods come later)
SELECT id, round((v <-> '{1:1}/3')::numeric, 4) AS d
	FROM sv_bt WHERE v IS NOT NULL AND id <> 5 AND id <> 8
	ORDER BY v <-> '{1:1}/3', id LIMIT 3;
DROP TABLE sv_bt;

-- Operator metadata: commutators and negators
SELECT oprname, oprcom::regoperator, oprnegate::regoperator
	FROM pg_operator
	WHERE oprleft = 'sparsevec'::regtype AND oprright = 'sparsevec'::regtype
	ORDER BY oprname;
SELECT amopstrategy, amopopr::regoperator
	FROM pg_amop JOIN pg_opfamily f ON f.oid = amopfamily
	WHERE f.opfname = 'sparsevec_ops' ORDER BY amopstrategy;
