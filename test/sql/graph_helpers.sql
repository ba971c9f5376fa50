-- The ruvector_cy_* helpers that Cypher's generated SQL calls are callable
-- by hand by any role holding ruvector_user.  Whatever arguments they are
-- given, they answer or raise an error with an SQLSTATE: never a crash
-- (issue 12, defect 1: a math function given one argument read the missing
-- second; zero arguments returned uninitialised memory).
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE ROLE regress_gh_nobody;
CREATE ROLE regress_gh_user;
GRANT ruvector_user TO regress_gh_user;

-- PUBLIC cannot execute them
SET ROLE regress_gh_nobody;
SELECT ruvector_cy_fn(28, VARIADIC ARRAY['1']::jsonb[]);
SELECT ruvector_cy_eq('1', '1');
SELECT * FROM ruvector_cy_shortest(1, 2, NULL, 0, 1, 2, false);
RESET ROLE;

-- ruvector_user can, and gets errors for calls the translator never makes
SET ROLE regress_gh_user;
SELECT ruvector_cy_fn(28, VARIADIC ARRAY['1', '2']::jsonb[]) AS atan2;
SELECT ruvector_cy_fn(28, VARIADIC ARRAY['1']::jsonb[]);
SELECT ruvector_cy_fn(28, VARIADIC ARRAY[]::jsonb[]);
SELECT ruvector_cy_fn(1, VARIADIC ARRAY[]::jsonb[]);
SELECT ruvector_cy_fn(6, '1', '2', '3', '4');
SELECT ruvector_cy_fn(0, '1');
SELECT ruvector_cy_fn(-1, '1');
SELECT ruvector_cy_fn(2147483647, '1');
SELECT ruvector_cy_fn(28, VARIADIC ARRAY[['1', '2']]::jsonb[]);
SELECT ruvector_cy_fn(28, '"a"', '1');
SELECT ruvector_cy_fn(NULL, '1') IS NULL AS null_id;
SELECT ruvector_cy_arith(0, '1', '2');
SELECT ruvector_cy_arith(7, '1', '2');
SELECT ruvector_cy_ids('[1, "a"]');
SELECT * FROM ruvector_cy_shortest(1, 2, NULL, 3, 1, 2, false);
SELECT * FROM ruvector_cy_shortest(1, 2, NULL, 0, -1, 2, false);
SELECT * FROM ruvector_cy_shortest(1, 2, NULL, 0, 3, 2, false);
SELECT * FROM ruvector_cy_shortest(1, 2, NULL, 0, 1, -2, false);

-- Every function id from -2 to 80 with 0 to 4 arguments of every kind:
-- each call answers or fails with a SQLSTATE that is not an internal error.
CREATE TEMP TABLE gh_calls (id int, nargs int, kind text, outcome text);
DO $$
DECLARE
	kinds jsonb[] := ARRAY['1', '2.5', '"s"', 'true', 'null', '[1, 2]', '{"a": 1}',
		'[]', '""', '-1', '9223372036854775807']::jsonb[];
	args jsonb[];
	r jsonb;
BEGIN
	FOR id IN -2..80 LOOP
		FOR n IN 0..4 LOOP
			FOR k IN 1..array_length(kinds, 1) LOOP
				args := array_fill(kinds[k], ARRAY[n]);
				BEGIN
					r := ruvector_cy_fn(id, VARIADIC args);
					INSERT INTO gh_calls VALUES (id, n, kinds[k]::text, 'ok');
				EXCEPTION WHEN OTHERS THEN
					INSERT INTO gh_calls VALUES (id, n, kinds[k]::text, SQLSTATE);
				END;
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
-- outcomes by SQLSTATE; no XX000
SELECT outcome, count(*) FROM gh_calls GROUP BY outcome ORDER BY outcome;
-- every known function (ids 1..51) answers with its own arity for some kind
SELECT count(DISTINCT id) AS ids_answering FROM gh_calls WHERE outcome = 'ok';
SELECT array_agg(DISTINCT id ORDER BY id) AS unknown_ids
	FROM gh_calls WHERE outcome = '22023' AND nargs = 1 AND kind = '1';
-- arithmetic operators 1..6 with every pair of kinds
CREATE TEMP TABLE gh_arith (op int, outcome text);
DO $$
DECLARE
	kinds jsonb[] := ARRAY['1', '2.5', '"s"', 'true', 'null', '[1]', '{"a": 1}', '0']::jsonb[];
BEGIN
	FOR op IN -1..8 LOOP
		FOR a IN 1..array_length(kinds, 1) LOOP
			FOR b IN 1..array_length(kinds, 1) LOOP
				BEGIN
					PERFORM ruvector_cy_arith(op, kinds[a], kinds[b]);
					INSERT INTO gh_arith VALUES (op, 'ok');
				EXCEPTION WHEN OTHERS THEN
					INSERT INTO gh_arith VALUES (op, SQLSTATE);
				END;
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
SELECT outcome, count(*) FROM gh_arith GROUP BY outcome ORDER BY outcome;
RESET ROLE;

DROP ROLE regress_gh_nobody;
DROP OWNED BY regress_gh_user;
DROP ROLE regress_gh_user;
