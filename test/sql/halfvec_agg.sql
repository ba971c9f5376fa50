-- halfvec aggregates: avg and sum, their support functions, and parallel
-- aggregation (partial states merged by the combine function).

SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::halfvec, '[3,5,7]']) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,2,3]'::halfvec, NULL, '[3,5,7]', NULL]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[]::halfvec[]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[NULL, NULL]::halfvec[]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[0.1,-65504]'::halfvec]) v;
-- The mean is rounded to a half once, from double sums.
SELECT avg(v) FROM unnest(ARRAY['[1]'::halfvec, '[0]', '[0]']) v;
-- avg sums in double and cannot overflow; sum is a halfvec and can.
SELECT avg(v) FROM unnest(ARRAY['[65504,-65504]'::halfvec, '[65504,-65504]']) v;
SELECT sum(v) FROM unnest(ARRAY['[65504,-65504]'::halfvec, '[65504,-65504]']) v;
SELECT sum(v) FROM unnest(ARRAY['[65504,-65504]'::halfvec, '[-65504,65504]']) v;
-- All inputs must have one dimension.
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::halfvec, '[3]']) v;
SELECT avg(v) FROM unnest(ARRAY['[1]'::halfvec, '[2,3]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2]'::halfvec, '[3]']) v;

-- Per group, and as a window aggregate.
SELECT g, avg(v), sum(v) FROM (VALUES (1, '[1,1]'::halfvec), (1, '[2,4]'),
	(2, '[0.5,-0.5]'), (3, NULL)) t(g, v) GROUP BY g ORDER BY g;
SELECT i, avg(v) OVER w, sum(v) OVER w
	FROM (VALUES (1, '[1,1]'::halfvec), (2, '[2,4]'), (3, '[3,-5]')) t(i, v)
	WINDOW w AS (ORDER BY i ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) ORDER BY i;

-- Transition function: the state is {count, sum_1, ..., sum_n}; '{0}' is
-- the initial state and takes the first value's dimension.
SELECT halfvec_accum('{0}', '[1,2,3]');
SELECT halfvec_accum('{2,1,1,1}', '[0.5,-1,65504]');
SELECT halfvec_accum('{0,0,0,0}', '[1,2,3]');
SELECT halfvec_accum('{1,1,1}', '[1,2,3]');
SELECT halfvec_accum('{1,Infinity}', '[1]');
SELECT halfvec_accum('{}', '[1]');
SELECT halfvec_accum('{{0}}', '[1]');
SELECT halfvec_accum('{NULL}', '[1]');
SELECT halfvec_accum('{0,NULL}', '[1]');

-- Combine function (used to merge partial states of parallel workers).
SELECT halfvec_combine('{0}', '{0}');
SELECT halfvec_combine('{2,3,4}', '{0}');
SELECT halfvec_combine('{0}', '{1,5,6}');
SELECT halfvec_combine('{2,3,4}', '{1,5,6}');
SELECT halfvec_combine('{2,3,4}', '{1,5,6,7}');
SELECT halfvec_combine('{1,1.7e308}', '{1,1.7e308}');
-- Its errors are pgvector's vector_combine's, which pgvector uses here.
SELECT halfvec_combine('{}', '{0}');
SELECT halfvec_combine('{0}', '{{0}}');
SELECT halfvec_combine(array_fill(0::float8, ARRAY[16002]), '{0}');

-- Final function: NULL without rows, else the mean narrowed to halves.
SELECT halfvec_avg('{0}');
SELECT halfvec_avg('{0,1,2}');
SELECT halfvec_avg('{4,2,-6,0.4}');
SELECT halfvec_avg('{1}');
SELECT halfvec_avg('{1,70000}');
SELECT halfvec_avg('{2,131040}');
SELECT halfvec_avg('{1,1e300}');
SELECT halfvec_avg('{1,NaN}');
SELECT halfvec_avg(array_fill(1::float8, ARRAY[16002]));
SELECT halfvec_avg('{}');
SELECT halfvec_avg('{{1,1}}');
SELECT halfvec_avg('{1,NULL}');

-- Parallel aggregation: the plan has partial aggregates in workers and a
-- finalize step that merges their states (halfvec_combine for avg,
-- halfvec_add for sum); the results equal the serial ones.
-- avg's double sums are exact here, and w's half sums stay small integers,
-- so neither depends on the order in which rows are merged.
CREATE TABLE halfvec_agg_t (v halfvec(3), w halfvec(3));
INSERT INTO halfvec_agg_t
	SELECT ARRAY[i % 10, (i % 7) * 0.5, -(i % 3)],
		ARRAY[(i % 10 = 0)::int, (i % 20 = 0)::int, -(i % 25 = 0)::int]
	FROM generate_series(1, 20000) i;
INSERT INTO halfvec_agg_t VALUES (NULL, NULL);
ANALYZE halfvec_agg_t;
CREATE TEMP TABLE halfvec_agg_serial AS
	SELECT avg(v) AS a, sum(w) AS s, count(v) AS n FROM halfvec_agg_t;
SELECT * FROM halfvec_agg_serial;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(w), count(v) FROM halfvec_agg_t;
SELECT p.a = s.a AS avg_same, p.s = s.s AS sum_same, p.n = s.n AS count_same
	FROM (SELECT avg(v) AS a, sum(w) AS s, count(v) AS n FROM halfvec_agg_t) p,
		halfvec_agg_serial s;
-- 2000 x 64 passes 65504, in a worker or when merging: an overflow error
-- (terse: whether a worker raised it depends on how blocks were shared).
\set VERBOSITY terse
SELECT sum(w * '[64,1,1]') FROM halfvec_agg_t;
\set VERBOSITY default
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
-- Serially: half sums round, and adding at most 9 to 32768 (where halves
-- are 32 apart) leaves it unchanged, so this sum saturates instead of
-- overflowing.
SET max_parallel_workers_per_gather = 0;
SELECT sum(v) FROM halfvec_agg_t;
RESET max_parallel_workers_per_gather;
DROP TABLE halfvec_agg_t;
