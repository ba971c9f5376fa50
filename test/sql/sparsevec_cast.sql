-- sparsevec: casts to and from vector, halfvec and arrays, and the typmod
-- cast.  Into sparsevec from a dense vector is implicit (nothing is lost);
-- out of it is on assignment only (the dense type may be too small).

-- sparsevec -> sparsevec(n)
SELECT '{1:1}/3'::sparsevec::sparsevec(3);
SELECT '{1:1}/3'::sparsevec::sparsevec(2);

-- vector -> sparsevec: zeros (of either sign) are not stored
SELECT '[0,1.5,0,-2]'::vector::sparsevec;
SELECT '[0,-0,0]'::vector::sparsevec;
SELECT '[0,1.5,0,-2]'::vector::sparsevec(4);
SELECT '[0,1.5,0,-2]'::vector::sparsevec(5);
SELECT '[1e-45,3.4028235e38]'::vector::sparsevec;
SELECT l2_norm(array_fill(1, ARRAY[16000])::vector::sparsevec);   -- all 16000 stored
SELECT '{1:1}/2'::sparsevec <-> '[0,1]'::vector;                 -- implicit

-- halfvec -> sparsevec: halves widen exactly
SELECT '[0,1.5,0,-2]'::halfvec::sparsevec;
SELECT '[-0,0]'::halfvec::sparsevec;
SELECT '[65504,-6e-8,0.1]'::halfvec::sparsevec;
SELECT '[0,1.5,0,-2]'::halfvec::sparsevec(4);
SELECT '[0,1.5,0,-2]'::halfvec::sparsevec(3);
SELECT '{2:1}/2'::sparsevec <=> '[1,1]'::halfvec;                 -- implicit

-- sparsevec -> vector
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector;
SELECT '{}/3'::sparsevec::vector;
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector(4);
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector(3);
SELECT vector_dims('{16000:1}/16000'::sparsevec::vector);
SELECT '{}/16001'::sparsevec::vector;
SELECT '{}/1000000000'::sparsevec::vector(3);                   -- range before typmod

-- sparsevec -> halfvec: values must fit a half
SELECT '{2:1.5,4:-2}/4'::sparsevec::halfvec;
SELECT '{2:1.5,4:-2}/4'::sparsevec::halfvec(4);
SELECT '{2:1.5,4:-2}/4'::sparsevec::halfvec(2);
SELECT '{1:65519,2:-65519}/2'::sparsevec::halfvec;               -- rounds to the maximum
SELECT '{1:65520}/1'::sparsevec::halfvec;
SELECT '{1:1,2:-1e5}/2'::sparsevec::halfvec;
SELECT '{1:1e-8,2:3e-8}/2'::sparsevec::halfvec;                  -- flush to zero, round to the least
SELECT vector_dims('{1:1}/16000'::sparsevec::halfvec);
SELECT '{}/16001'::sparsevec::halfvec;

-- Round trips
SELECT '{1:0.1,5:-3.25,8:7e-5}/8'::sparsevec::vector::sparsevec;
SELECT '{1:0.5,5:-3.25,8:1024}/8'::sparsevec::halfvec::sparsevec;
SELECT '[0.25,0,-1]'::vector::sparsevec::vector;

-- Arrays -> sparsevec
SELECT '{1,0,2,0}'::int[]::sparsevec;
SELECT ARRAY[0,0,0]::sparsevec;
SELECT '{1.5,0,-0,2.25}'::real[]::sparsevec;
SELECT '{1.5,0,-0,2.25}'::double precision[]::sparsevec;
SELECT '{1e-46,-1e-46,1}'::double precision[]::sparsevec;       -- zero once narrowed
SELECT '{0.1,0,2.5}'::numeric[]::sparsevec;
SELECT ARRAY[1,0,2]::sparsevec(3);
SELECT ARRAY[1,0,2]::sparsevec(4);
SELECT '{1,2}'::real[]::sparsevec(1);
SELECT array_fill(0, ARRAY[20000]) || 7 AS arr \gset
SELECT :'arr'::int[]::sparsevec;
SELECT array_agg(i)::sparsevec FROM generate_series(1, 16001) i;
SELECT array_agg('NaN'::real)::sparsevec FROM generate_series(1, 16001) i;  -- limit first

-- Array errors
SELECT '{}'::int[]::sparsevec;
SELECT '{{1,2},{3,4}}'::int[]::sparsevec;
SELECT '{1,NULL}'::real[]::sparsevec;
SELECT '{1,NaN}'::real[]::sparsevec;
SELECT '{Infinity,NaN}'::real[]::sparsevec;                   -- first element first
SELECT '{-Infinity}'::double precision[]::sparsevec;
SELECT '{4e38}'::double precision[]::sparsevec;               -- overflows float
SELECT '{1e39}'::numeric[]::sparsevec;
SELECT '{NaN}'::numeric[]::sparsevec;
SELECT '{1}'::bigint[]::sparsevec;                            -- no such cast

-- Assignment casts in INSERT
CREATE TABLE sv_cast (s sparsevec(3), v vector(3), h halfvec(3));
INSERT INTO sv_cast (s) VALUES ('[1,0,2]'::vector), ('[0,0,3]'::halfvec), (ARRAY[4,0,0]);
INSERT INTO sv_cast (v, h) VALUES ('{1:1}/3'::sparsevec, '{3:2}/3'::sparsevec);
INSERT INTO sv_cast (s) VALUES ('[1,2]'::vector);
INSERT INTO sv_cast (v) VALUES ('{1:1}/4'::sparsevec);
SELECT * FROM sv_cast;
DROP TABLE sv_cast;

-- The cast catalog
SELECT castsource::regtype, casttarget::regtype, castfunc::regprocedure, castcontext
	FROM pg_cast
	WHERE castsource = 'sparsevec'::regtype OR casttarget = 'sparsevec'::regtype
	ORDER BY castsource::regtype::text COLLATE "C", casttarget::regtype::text COLLATE "C";
