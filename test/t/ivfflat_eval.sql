-- SQL helpers of the IVFFlat TAP tests (test/t/20x_ivfflat_*.pl): they run
-- many queries in one session and return one verdict, so that a test makes
-- a few psql calls rather than hundreds.

-- Distances of the k nearest rows of tst to q (a literal), in the order
-- they come: through the index with probes lists probed, or exactly.
CREATE FUNCTION ivf_knn(col text, op text, q text, k int, use_index bool, probes int)
RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
	r float8[];
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	PERFORM set_config('ivfflat.probes', probes::text, true);
	EXECUTE format('SELECT array_agg(d) FROM (SELECT %s %s %L AS d FROM tst ORDER BY %s %s %L LIMIT %s) s',
				   col, op, q, col, op, q, k) INTO r;
	RETURN r;
END $$;

-- Over the queries in column qcol of table queries: whether the index gave
-- the exact k nearest distances (to rounding) for every query, and the
-- recall (rows returned within the exact k-th distance, over k per query).
CREATE FUNCTION ivf_eval(col text, op text, qcol text, probes int, k int,
						 OUT exact bool, OUT recall float8)
LANGUAGE plpgsql AS $$
DECLARE
	q text;
	a float8[];
	e float8[];
	found int := 0;
	total int := 0;
BEGIN
	exact := true;
	FOR q IN EXECUTE format('SELECT %I::text FROM queries ORDER BY qid', qcol) LOOP
		a := ivf_knn(col, op, q, k, true, probes);
		e := ivf_knn(col, op, q, k, false, probes);
		IF coalesce(cardinality(a), 0) <> cardinality(e) THEN
			exact := false;
		END IF;
		FOR i IN 1 .. coalesce(cardinality(a), 0) LOOP
			IF i > cardinality(e) OR abs(a[i] - e[i]) > 1e-5 * (1 + abs(e[i])) THEN
				exact := false;
			END IF;
			IF a[i] <= e[cardinality(e)] + 1e-6 THEN
				found := found + 1;
			END IF;
		END LOOP;
		total := total + k;
	END LOOP;
	recall := found::float8 / total;
END $$;

-- The ids of the k nearest rows for every query, as one text: compares
-- two servers' answers in one value.  order_by has %s for the query.
CREATE FUNCTION ivf_answers(order_by text, qcol text, probes int, k int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	q text;
	ids text;
	result text := '';
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('ivfflat.probes', probes::text, true);
	FOR q IN EXECUTE format('SELECT %I::text FROM queries ORDER BY qid', qcol) LOOP
		EXECUTE format('SELECT string_agg(id::text, %L) FROM (SELECT id FROM tst ORDER BY %s LIMIT %s) s',
					   ',', format(order_by, quote_literal(q)), k) INTO ids;
		result := result || coalesce(ids, '') || ';';
	END LOOP;
	RETURN result;
END $$;
