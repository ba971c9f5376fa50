-- search_path substitution (issue 12, defect 4): an unprivileged role puts a
-- trojan for every function name the graph code's SQL uses into a schema
-- first in search_path; a superuser then runs Cypher with that search_path.
-- No trojan may run.  The list of names is derived from the SQL that the
-- translation produces for a corpus of queries (ruvector_cypher_sql), plus
-- the fixed statements of the executor and catalog functions; the test
-- checks every name has a trojan, and that the trojans do fire when the
-- same SQL is run without its qualification.
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE ROLE regress_gsp_evil;
CREATE SCHEMA gsp_evil AUTHORIZATION regress_gsp_evil;
CREATE TABLE gsp_evil.fired (name text, by_role name);
ALTER TABLE gsp_evil.fired OWNER TO regress_gsp_evil;
GRANT INSERT ON gsp_evil.fired TO PUBLIC;

SELECT ruvector_create_graph('gsp');
SELECT * FROM ruvector_cypher('gsp', $$
	CREATE (a:Person {name: 'Ann', age: 28, v: [1.0, 0.0], tags: ['x', 'y']}),
	       (b:Person {name: 'Bob', age: 34, v: [0.0, 1.0]}),
	       (c:Person {name: 'Cid', age: 45, v: [1.0, 1.0]}),
	       (a)-[:KNOWS {since: 2001}]->(b), (b)-[:KNOWS {since: 2002}]->(c),
	       (a)-[:LIKES]->(c)
$$);

-- the corpus: every clause, function and operator family of the translation
CREATE TABLE gsp_corpus (q text);
INSERT INTO gsp_corpus VALUES
	($$MATCH (n:Person) RETURN n, n.name, id(n), labels(n), keys(n), properties(n) ORDER BY n.name$$),
	($$MATCH (a)-[r:KNOWS]->(b) RETURN type(r), r.since, startNode(r), endNode(r), r ORDER BY r.since$$),
	($$MATCH (n:Person) RETURN count(*), count(n.age), count(DISTINCT n.name), sum(n.age), avg(n.age), min(n.age), max(n.age), collect(n.name), stDev(n.age), stDevP(n.age), percentileCont(n.age, 0.5), percentileDisc(n.age, 0.5)$$),
	($$MATCH (n:Person) WHERE n.name STARTS WITH 'A' OR n.name ENDS WITH 'b' OR n.name CONTAINS 'i' OR n.name =~ 'C.*' RETURN n.name ORDER BY n.name$$),
	($$MATCH (n:Person) WHERE n.age > 30 AND n.age <= 45 AND n.age <> 40 AND NOT n.age < 0 AND n.age >= 1 AND n.name IN ['Bob', 'Cid'] RETURN n.name ORDER BY n.name$$),
	($$MATCH (n:Person {name: 'Ann'}) RETURN n.tags[0], n.tags[0..1], size(n.tags), head(n.tags), last(n.tags), tail(n.tags), reverse(n.tags), n.age + 1, n.age - 1, n.age * 2, n.age / 2, n.age % 5, n.age ^ 2, -n.age$$),
	($$MATCH (n:Person) RETURN [x IN n.tags WHERE x <> 'x' | x + '!'] AS l, any(x IN n.tags WHERE x = 'x') AS a, all(x IN n.tags WHERE x = 'x') AS b, none(x IN n.tags WHERE x = 'z') AS c, single(x IN n.tags WHERE x = 'y') AS d ORDER BY n.name$$),
	($$MATCH p = (a:Person {name: 'Ann'})-[:KNOWS*1..3]->(b) RETURN length(p), nodes(p), relationships(p), b.name ORDER BY length(p)$$),
	($$MATCH p = shortestPath((a:Person {name: 'Ann'})-[*]-(c:Person {name: 'Cid'})) RETURN length(p), nodes(p)$$),
	($$MATCH p = allShortestPaths((a:Person {name: 'Ann'})-[*..4]->(c:Person {name: 'Cid'})) RETURN p$$),
	($$MATCH (n:Person) RETURN CASE WHEN n.age > 30 THEN 'old' ELSE 'young' END, CASE n.name WHEN 'Ann' THEN 1 ELSE 0 END ORDER BY n.name$$),
	($$MATCH (n:Person) WHERE exists((n)-[:KNOWS]->()) RETURN n.name ORDER BY n.name$$),
	($$MATCH (n:Person) WHERE (n)-[:LIKES]->() RETURN n.name$$),
	($$UNWIND [3, 1, 2] AS x WITH x WHERE x > 1 RETURN x, toString(x), toInteger('7'), toFloat(x), toBoolean('true') ORDER BY x SKIP 0 LIMIT 5$$),
	($$RETURN abs(-1), ceil(1.5), floor(1.5), round(1.5), sign(-2), sqrt(4.0), exp(0), log(1), log10(10), sin(0), cos(0), tan(0), asin(0), acos(1), atan(0), atan2(0, 1), pi(), e(), degrees(0), radians(0)$$),
	($$RETURN toLower('A'), toUpper('a'), trim(' a '), ltrim(' a'), rtrim('a '), replace('aa', 'a', 'b'), substring('abc', 1, 1), left('abc', 1), right('abc', 1), split('a,b', ','), range(1, 3), isEmpty([]), valueType(1), size('abc')$$),
	($$MATCH (n:Person) RETURN n.name, vector.distance.l2(n.v, [0.0, 0.0]) AS d, vector.cosine(n.v, [1.0, 0.0]), vector.similarity.cosine(n.v, [1.0, 0.0]), vector.norm(n.v) ORDER BY d, n.name$$),
	($$MATCH (n:Person) RETURN timestamp() > 0 AS t, rand() < 1 AS r, n.missing IS NULL AS m, n.name IS NOT NULL AS nn LIMIT 1$$),
	($$MATCH (a:Person {name: 'Ann'}) OPTIONAL MATCH (a)-[:HATES]->(x) RETURN a.name, x$$),
	($$MATCH (n:Person) WITH n.age / 10 AS decade, collect(n.name) AS names RETURN decade, names ORDER BY decade$$),
	($$MATCH (n:Person) RETURN DISTINCT n.age > 30 AS old ORDER BY old$$),
	($$MATCH (n:Person) RETURN {name: n.name, age: n.age} AS m, [n.name, n.age] AS l, n {.name, .age} AS p ORDER BY n.name$$),
	($$CREATE (x:Temp {a: 1})-[:T {b: 2}]->(y:Temp {a: 2}) RETURN x, y$$),
	($$MERGE (x:Temp {a: 3}) ON CREATE SET x.created = true ON MATCH SET x.seen = true RETURN x.a$$),
	($$MATCH (x:Temp) SET x.c = x.a + 1, x += {d: 4} REMOVE x.d RETURN x.c ORDER BY x.c$$),
	($$MATCH (x:Temp) WHERE x.a = 3 SET x:Other RETURN labels(x)$$),
	($$MATCH (x)-[r:T]->() DELETE r$$),
	($$MATCH (x) WHERE x.a IS NOT NULL DETACH DELETE x$$);

-- every query of the corpus runs (as the superuser, ordinary search_path)
SELECT count(*) AS corpus, count(*) FILTER (WHERE ruvector_cypher_sql('gsp', q) IS NOT NULL) AS translated
	FROM gsp_corpus;

-- function names in the translations (qualified or not: keywords, aliases
-- and column lists are not functions), and those of the fixed statements
-- the executor and the catalog functions run
CREATE TABLE gsp_names AS
	SELECT DISTINCT lower(m[1]) AS name
	FROM gsp_corpus,
		regexp_matches(ruvector_cypher_sql('gsp', q), '(?:[a-z_][a-z_0-9]*\.)?([a-z_][a-z_0-9]*)\s*\(', 'gi') m
	WHERE EXISTS (SELECT FROM pg_proc WHERE proname = lower(m[1]))
	UNION
	SELECT unnest(ARRAY['nextval', 'generate_series', 'unnest', 'jsonb_set', 'to_regclass',
		'quote_ident', 'count', 'cardinality', 'jsonb_build_object', 'to_jsonb']);
SELECT string_agg(name, ' ' ORDER BY name) AS names FROM gsp_names;
GRANT SELECT ON gsp_names TO regress_gsp_evil;

-- The trojans, made by the unprivileged role: for each name, a function
-- (or aggregate) with the signature of each pg_catalog function of that
-- name ("any" taken as anyelement), the extension's own functions'
-- signatures for theirs, and concrete overloads that match the generated
-- calls more exactly than pg_catalog's polymorphic ones.  Each records that
-- it ran, and as whom.
SET ROLE regress_gsp_evil;
CREATE FUNCTION gsp_evil.fire(n text) RETURNS void LANGUAGE sql
	AS $$ INSERT INTO gsp_evil.fired VALUES (n, current_user) $$;
CREATE FUNCTION gsp_evil.trojan_state(s bigint) RETURNS bigint LANGUAGE plpgsql
	AS $$ BEGIN PERFORM gsp_evil.fire('aggregate'); RETURN s; END $$;
CREATE FUNCTION gsp_evil.trojan_state(s bigint, x anyelement) RETURNS bigint LANGUAGE plpgsql
	AS $$ BEGIN PERFORM gsp_evil.fire('aggregate'); RETURN s; END $$;
CREATE TABLE gsp_evil.made (name text, sig text);
DO $trojans$
DECLARE
	f record;
	args text;
	ret text;
	ok boolean;
BEGIN
	FOR f IN
		SELECT n.name, p.prokind, p.proretset,
			pg_catalog.format_type(p.prorettype, NULL) AS rettype,
			ARRAY(SELECT CASE WHEN t = '"any"'::regtype THEN 'anyelement'
						ELSE pg_catalog.format_type(t, NULL) END
				  FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, o) ORDER BY o) AS argtypes,
			p.provariadic <> 0 AS variadic
		FROM gsp_names n JOIN pg_proc p ON p.proname = n.name
		UNION ALL
		-- more exact than pg_catalog's anyelement / "any" for what the SQL passes
		SELECT name, 'f', false, 'jsonb', a::text[], false
		FROM gsp_names n,
			(VALUES ('{bigint}'), ('{text}'), ('{boolean}'), ('{bigint[]}'), ('{jsonb}'),
					('{text,jsonb}'), ('{text,bigint,text,text,text,jsonb}'),
					('{text,bigint,text,text,text,bigint,text,bigint,text,jsonb}')) v(a)
		WHERE n.name IN ('to_jsonb', 'jsonb_build_object', 'jsonb_build_array', 'cardinality')
	LOOP
		args := '';
		FOR i IN 1..coalesce(array_length(f.argtypes, 1), 0) LOOP
			args := args || CASE WHEN i > 1 THEN ', ' ELSE '' END
				|| CASE WHEN f.variadic AND i = array_length(f.argtypes, 1) THEN 'VARIADIC ' ELSE '' END
				|| CASE WHEN f.variadic AND i = array_length(f.argtypes, 1) AND f.argtypes[i] = 'anyelement'
						THEN 'anyarray' ELSE f.argtypes[i] END;
		END LOOP;
		ok := true;
		BEGIN
			IF f.prokind = 'a' THEN
				EXECUTE format('CREATE AGGREGATE gsp_evil.%I(%s) (SFUNC = gsp_evil.trojan_state, STYPE = bigint, INITCOND = 0)',
					f.name, CASE WHEN args = '' THEN '*' ELSE args END);
			ELSE
				ret := CASE WHEN f.proretset THEN 'SETOF ' ELSE '' END || f.rettype;
				EXECUTE format('CREATE FUNCTION gsp_evil.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
					f.name, args, ret,
					format('BEGIN PERFORM gsp_evil.fire(%L); RETURN%s; END', f.name,
						CASE WHEN f.proretset THEN '' ELSE ' NULL' END));
			END IF;
		EXCEPTION WHEN OTHERS THEN
			ok := false;		-- duplicate or unusable signature (internal, cstring, ...)
		END;
		IF ok THEN
			INSERT INTO gsp_evil.made VALUES (f.name, args);
		END IF;
	END LOOP;
END
$trojans$;
-- ordered-set aggregates, by hand
CREATE FUNCTION gsp_evil.trojan_final(s bigint, p float8) RETURNS float8 LANGUAGE plpgsql
	AS $$ BEGIN PERFORM gsp_evil.fire('aggregate'); RETURN NULL; END $$;
CREATE FUNCTION gsp_evil.trojan_final(s bigint, p float8, x anyelement) RETURNS anyelement LANGUAGE plpgsql
	AS $$ BEGIN PERFORM gsp_evil.fire('aggregate'); RETURN NULL; END $$;
CREATE AGGREGATE gsp_evil.percentile_cont(float8 ORDER BY float8)
	(SFUNC = gsp_evil.trojan_state, STYPE = bigint, INITCOND = 0, FINALFUNC = gsp_evil.trojan_final);
CREATE AGGREGATE gsp_evil.percentile_disc(float8 ORDER BY anyelement)
	(SFUNC = gsp_evil.trojan_state, STYPE = bigint, INITCOND = 0, FINALFUNC = gsp_evil.trojan_final,
	 FINALFUNC_EXTRA);
INSERT INTO gsp_evil.made VALUES ('percentile_cont', 'float8 ORDER BY float8'),
	('percentile_disc', 'float8 ORDER BY anyelement');
-- operators of the generated SQL, on the types it applies them to
DO $ops$
DECLARE
	o record;
BEGIN
	FOR o IN SELECT * FROM (VALUES
		('=', 'integer', 'integer', 'boolean'), ('=', 'bigint', 'bigint', 'boolean'),
		('=', 'text', 'text', 'boolean'), ('<>', 'text', 'text', 'boolean'),
		('<>', 'bigint', 'bigint', 'boolean'), ('->', 'jsonb', 'text', 'jsonb'),
		('->>', 'jsonb', 'text', 'text'), ('@>', 'jsonb', 'jsonb', 'boolean'),
		('||', 'jsonb', 'jsonb', 'jsonb'), ('&&', 'bigint[]', 'bigint[]', 'boolean'),
		('<', 'integer', 'integer', 'boolean'), ('-', 'jsonb', 'text', 'jsonb')) v(op, l, r, ret)
	LOOP
		EXECUTE format('CREATE FUNCTION gsp_evil.%I(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
			'trojan_op_' || md5(o.op || o.l || o.r), o.l, o.r, o.ret,
			format('BEGIN PERFORM gsp_evil.fire(''operator''); RETURN $1 OPERATOR(pg_catalog.%s) $2; END', o.op));
		EXECUTE format('CREATE OPERATOR gsp_evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = gsp_evil.%I)',
			o.op, o.l, o.r, 'trojan_op_' || md5(o.op || o.l || o.r));
	END LOOP;
END
$ops$;
RESET ROLE;
-- every name has a trojan (none listed here)
SELECT name AS without_trojan FROM gsp_names n
	WHERE NOT EXISTS (SELECT FROM gsp_evil.made m WHERE m.name = n.name) ORDER BY 1;
SELECT count(DISTINCT name) AS names_with_trojans, count(*) > 2 * count(DISTINCT name) AS several_each
	FROM gsp_evil.made;

-- The trojans are live: the corpus' SQL with its qualification removed,
-- run with the trojans' schema first, calls them.
SET search_path = gsp_evil, pg_catalog, public;
DO $$
DECLARE
	r record;
	sql text;
BEGIN
	FOR r IN SELECT q FROM gsp_corpus LOOP
		sql := ruvector_cypher_sql('gsp', r.q);
		CONTINUE WHEN sql ~ '\$[0-9]';		-- steps that take the previous step's rows
		sql := regexp_replace(sql, '(pg_catalog|public)\.', '', 'g');
		BEGIN
			EXECUTE 'SELECT count(*) FROM (' || sql || ') s';
		EXCEPTION WHEN OTHERS THEN
			NULL;		-- a trojan's NULL can break the query after it ran
		END;
	END LOOP;
END $$;
RESET search_path;
SELECT count(DISTINCT name) >= 10 AS many_trojans_fired,
	string_agg(DISTINCT name, ' ') FILTER (WHERE name IN ('to_jsonb', 'jsonb_build_object', 'aggregate', 'ruvector_cy_eq', 'operator'))
		AS fired_for_example,
	bool_and(by_role = current_user) AS as_the_superuser
	FROM gsp_evil.fired;
TRUNCATE gsp_evil.fired;
SET search_path = gsp_evil, pg_catalog, public;

-- The same corpus through Cypher, as the superuser, with that search_path:
-- no trojan runs, and the answers are the ordinary ones.
CREATE TABLE public.gsp_failed (q text, error text);
CREATE TABLE public.gsp_answers AS
	SELECT c.q, public.ruvector_cypher('gsp', c.q) AS row FROM public.gsp_corpus c WHERE false;
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT q FROM public.gsp_corpus LOOP
		BEGIN
			INSERT INTO public.gsp_answers SELECT r.q, x FROM public.ruvector_cypher('gsp', r.q) x;
		EXCEPTION WHEN OTHERS THEN
			-- a trojan that breaks the query (or makes a call ambiguous)
			INSERT INTO public.gsp_failed VALUES (r.q, SQLERRM);
		END;
	END LOOP;
END $$;
SELECT pg_catalog.count(*) AS trojans_run FROM gsp_evil.fired;
SELECT * FROM public.gsp_failed;
-- the catalog functions too
SELECT public.ruvector_graph_add_node('gsp', 'Extra', '{"k": 1}') > 0 AS added;
SELECT name, nodes, edges FROM public.ruvector_graphs() WHERE name OPERATOR(pg_catalog.=) 'gsp';
SELECT public.ruvector_create_graph('gsp2');
SELECT public.ruvector_graph_grant('gsp2', 'regress_gsp_evil', 'read');
SELECT public.ruvector_graph_revoke('gsp2', 'regress_gsp_evil', 'read');
SELECT public.ruvector_graph_vector_index('gsp', 'Person', 'v', 2) IS NOT NULL AS indexed;
SELECT public.ruvector_drop_graph('gsp2');
SELECT pg_catalog.count(*) AS trojans_run FROM gsp_evil.fired;
RESET search_path;
SELECT count(*) AS answer_rows FROM gsp_answers;
SELECT row FROM gsp_answers WHERE q LIKE 'MATCH (n:Person) RETURN count(*)%';
SELECT row -> 'length(p)' AS len, jsonb_path_query_array(row, '$."nodes(p)"[*].properties.name') AS names
	FROM gsp_answers WHERE q LIKE 'MATCH p = shortestPath%';
SELECT row FROM gsp_answers WHERE q LIKE 'RETURN toLower%';

SELECT ruvector_drop_graph('gsp');
DROP TABLE gsp_answers, gsp_failed, gsp_corpus, gsp_names;
SET client_min_messages = warning;
DROP SCHEMA gsp_evil CASCADE;
RESET client_min_messages;
DROP ROLE regress_gsp_evil;
