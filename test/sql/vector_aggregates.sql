-- vector: the avg and sum aggregates, their support functions (which are
-- callable from SQL, so they validate their state), and parallel
-- aggregation through the combine functions.

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

-- avg and sum: NULLs are skipped, no rows give NULL
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, NULL, '[3,5,7]', NULL]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[NULL, NULL]::vector[]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[-1.5,0.25]'::vector]) v;
-- avg sums in double and divides once: no float rounding along the way
SELECT avg(v) FROM unnest(ARRAY['[1e-8]'::vector, '[1]', '[-1]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1e-8]'::vector, '[1]', '[-1]']) v;
SELECT avg(v) FROM unnest(ARRAY['[0.1]'::vector, '[0.2]', '[0.3]']) v;
-- the mean of two float maxima is representable although their sum is not
SELECT avg(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;
SELECT vec_try($$SELECT sum(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v$$);
SELECT vec_try($$SELECT avg(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v$$);
SELECT vec_try($$SELECT sum(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v$$);
-- 16000 dimensions
SELECT vector_dims(avg(v)), vector_dims(sum(v))
FROM (SELECT array_fill(i, ARRAY[16000])::vector AS v FROM generate_series(1, 3) i) t;
-- grouped, ordered and windowed use
SELECT g, avg(v), sum(v) FROM (VALUES (1, '[1,1]'::vector), (2, '[2,4]'), (1, '[3,5]'), (2, '[0,0]'))
AS t(g, v) GROUP BY g ORDER BY g;
SELECT i, avg(v) OVER (ORDER BY i ROWS BETWEEN 1 PRECEDING AND CURRENT ROW),
       sum(v) OVER (ORDER BY i)
FROM (VALUES (1, '[1,2]'::vector), (2, '[3,4]'), (3, '[5,-6]')) AS t(i, v) ORDER BY i;

-- vector_accum: the state is {count, sum_1, ..., sum_n}; '{0}' is empty
SELECT vector_accum('{0}', '[1,2,3]');
SELECT vector_accum('{2,1,1,1}', '[1,2,3]');
SELECT vector_accum('{0,0,0,0}', '[1,2,3]');
SELECT vector_accum(vector_accum('{0}', '[1e-45,3e38]'), '[1e-45,3e38]');
SELECT vec_try($$SELECT vector_accum('{0,0}', '[1,2,3]')$$);
SELECT vec_try($$SELECT vector_accum('{1,Infinity}', '[1]')$$);
SELECT vec_try($$SELECT vector_accum('{}', '[1,2,3]')$$);
SELECT vec_try($$SELECT vector_accum('{{0}}', '[1,2,3]')$$);
SELECT vec_try($$SELECT vector_accum('{NULL}', '[1,2,3]')$$);
SELECT vec_try($$SELECT vector_accum('[0:0]={0}', '[1]')$$);  -- lower bound is not checked
SELECT vector_accum(NULL, '[1]') IS NULL AS strict;

-- vector_combine: either side may be empty; counts add up
SELECT vector_combine('{1,2}', '{3,4}');
SELECT vector_combine('{0}', '{0}'), vector_combine('{0}', '{2,4,6}'), vector_combine('{2,4,6}', '{0}');
SELECT vector_combine('{}'::float8[] || 0::float8, '{1,1}');
SELECT vec_try($$SELECT vector_combine('{1,2}', '{3,4,5}')$$);
SELECT vec_try($$SELECT vector_combine('{1,1e308}', '{1,1e308}')$$);
SELECT vec_try($$SELECT vector_combine('{1,-Infinity}', '{1,1}')$$);
SELECT vec_try($$SELECT vector_combine('{}', '{0}')$$);
SELECT vec_try($$SELECT vector_combine('{0}', '{}')$$);
SELECT vec_try($$SELECT vector_combine('{{1,2}}', '{3,4}')$$);
SELECT vec_try($$SELECT vector_combine('{1,2}', '{{3,4}}')$$);
SELECT vec_try($$SELECT vector_combine('{NULL,2}', '{3,4}')$$);
SELECT vec_try($$SELECT vector_combine('{1,2}', '{3,NULL}')$$);
-- the dimension limit applies to a state too
SELECT vec_try($$SELECT vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16002) n))$$);
SELECT vec_try($$SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n), '{0}')$$);
SELECT vec_try($$SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n), (SELECT array_agg(n) FROM generate_series(1, 16002) n))$$);
SELECT array_length(vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16001) n)), 1);

-- vector_avg: the final function
SELECT vector_avg('{2,2,4,6}'), vector_avg('{3,1,1,1}'), vector_avg('{0}') IS NULL AS no_rows;
SELECT vector_avg('{0,1,2}') IS NULL AS zero_count_is_null;
SELECT vector_avg('{-2,2,4}');   -- a count is not validated, only used
SELECT vec_try($$SELECT vector_avg('{1}')$$);
SELECT vec_try($$SELECT vector_avg('{1,1e39}')$$);
SELECT vec_try($$SELECT vector_avg('{1,NaN}')$$);
SELECT vec_try($$SELECT vector_avg('{1e-300,1}')$$);
SELECT vec_try($$SELECT vector_avg('{{2,2,4,6}}')$$);
SELECT vec_try($$SELECT vector_avg('{NULL,2,4,6}')$$);
SELECT vec_try($$SELECT vector_avg('{}')$$);
SELECT vec_try($$SELECT vector_avg(array_agg(n)) FROM generate_series(1, 16002) n$$);
SELECT vector_dims(vector_avg(array_agg(n))) FROM generate_series(1, 16001) n;

-- Aggregate definitions
SELECT aggfnoid::regprocedure, aggtransfn, aggfinalfn, aggcombinefn, aggtranstype::regtype,
       agginitval, proparallel
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE aggfnoid::regprocedure::text IN ('avg(vector)', 'sum(vector)')
ORDER BY 1::text;

-- Parallel aggregation: partial states from each worker are merged with
-- vector_combine (avg) and vector_add (sum).  Values are small integers and
-- halves, so every order of summation gives the same exact result.
CREATE TABLE vec_agg (g int, v vector(4));
INSERT INTO vec_agg
SELECT i % 3, ARRAY[i % 7, i % 5 - 2, (i % 3) * 0.5, 1]::vector
FROM generate_series(1, 30000) i;
INSERT INTO vec_agg VALUES (0, NULL), (1, NULL);
ANALYZE vec_agg;

-- serial reference results
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE vec_agg_serial AS SELECT avg(v) AS a, sum(v) AS s, count(v) AS n FROM vec_agg;
CREATE TEMP TABLE vec_agg_serial_g AS SELECT g, avg(v) AS a, sum(v) AS s FROM vec_agg GROUP BY g;
SELECT * FROM vec_agg_serial;
SELECT * FROM vec_agg_serial_g ORDER BY g;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;  -- all rows go through worker states
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM vec_agg;
SELECT avg(v), sum(v) FROM vec_agg;
SELECT a.avg = s.a AS avg_same, a.sum = s.s AS sum_same
FROM (SELECT avg(v), sum(v) FROM vec_agg) a, vec_agg_serial s;
EXPLAIN (COSTS OFF) SELECT g, avg(v), sum(v) FROM vec_agg GROUP BY g;
SELECT count(*) AS groups, bool_and(p.avg = s.a AND p.sum = s.s) AS all_same
FROM (SELECT g, avg(v), sum(v) FROM vec_agg GROUP BY g) p JOIN vec_agg_serial_g s USING (g);
-- errors raised inside workers reach the client unchanged
ALTER TABLE vec_agg ALTER COLUMN v TYPE vector;
INSERT INTO vec_agg VALUES (2, '[1,2,3]');
SELECT vec_try($$SELECT avg(v) FROM vec_agg$$);
SELECT vec_try($$SELECT sum(v) FROM vec_agg$$);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

DROP TABLE vec_agg;
DROP FUNCTION vec_try(text);
