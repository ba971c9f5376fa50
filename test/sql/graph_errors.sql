-- Errors: syntax errors carry the line, column and token; unknown graphs,
-- variables, parameters and functions, type mismatches and limits have
-- their own SQLSTATEs; names that need quoting are quoted, never spliced.
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT ruvector_create_graph('ge');
-- long queries are shown by their SQLSTATE and message only
CREATE FUNCTION ge_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM * FROM ruvector_cypher('ge', q);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT * FROM ruvector_cypher('ge', 'CREATE (:Person {name: ''Ann''})');

-- syntax errors: 42601 with line, column and the offending token
SELECT * FROM ruvector_cypher('ge', 'MATCH (n:Person) RETRN n');
SELECT * FROM ruvector_cypher('ge', E'MATCH (n:Person)\nWHERE n.name = \n  RETURN n');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n:Person RETURN n');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN n.');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n)');
SELECT * FROM ruvector_cypher('ge', 'RETURN ''unterminated');
SELECT * FROM ruvector_cypher('ge', E'RETURN 1\n/* no end');
SELECT * FROM ruvector_cypher('ge', 'RETURN ''\q''');
SELECT * FROM ruvector_cypher('ge', 'MATCH (a)-[r->(b) RETURN a');
SELECT * FROM ruvector_cypher('ge', 'RETURN 1 MATCH (n) RETURN n');
SELECT * FROM ruvector_cypher('ge', 'RETURN café @ 1');
SELECT * FROM ruvector_cypher('ge', '');
-- numbers out of range: 22003; nesting too deep: 54001
SELECT * FROM ruvector_cypher('ge', 'RETURN 9223372036854775808');
SELECT * FROM ruvector_cypher('ge', 'RETURN 1e400');
SELECT ge_try('RETURN ' || repeat('[', 300) || repeat(']', 300));
SELECT ge_try('RETURN ' || repeat('(', 150) || '1' || repeat(')', 150));
SELECT ge_try('RETURN 1' || repeat(' + 1', 2000));
SELECT ge_try('RETURN 1' || repeat(' + 1', 900));
SELECT ge_try('RETURN ' || repeat('NOT ', 5000) || 'true');

-- unknown things
SELECT * FROM ruvector_cypher('nope', 'RETURN 1');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN m');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN n.name, $who');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN $who', '{"whom": 1}');
SELECT * FROM ruvector_cypher('ge', 'RETURN frobnicate(1)');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN n, n');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n)-[n]->() RETURN n');
SELECT * FROM ruvector_cypher('ge', 'MATCH ()-[r]->(), (r) RETURN r');
-- a long name stands whole in the message (it was cut at 511 bytes once)
SELECT length(m), right(m, 30) FROM ge_try('RETURN ' || repeat('x', 600)) m;
SELECT * FROM ruvector_cypher('ge', 'MATCH (a)-[r]->(b)-[r]->(c) RETURN a');
SELECT * FROM ruvector_cypher('ge', 'MATCH p = (a)-->(b) MATCH p = (c) RETURN p');
SELECT * FROM ruvector_cypher('ge', 'MATCH p = (a)-->(b) RETURN p.name');
-- bad arguments
SELECT * FROM ruvector_cypher(NULL, 'RETURN 1');
SELECT * FROM ruvector_cypher('ge', NULL);
SELECT * FROM ruvector_cypher('ge', 'RETURN 1', '[1, 2]');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n $p) RETURN n', '{"p": 5}');
-- type mismatches at run time: 42804
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN n.name + {}');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) WHERE n.name RETURN n');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN n.name.first');
SELECT * FROM ruvector_cypher('ge', 'RETURN [1, 2][''a'']');
SELECT * FROM ruvector_cypher('ge', 'RETURN toUpper(1)');
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) SET n = ''text''');

-- names with quotes and odd characters are data, not SQL
SELECT * FROM ruvector_cypher('ge', $$CREATE (:`It's "odd"` {`key'; DROP TABLE x; --`: 'v\'al', `üñí`: 'ok'})$$);
SELECT * FROM ruvector_cypher('ge', $$MATCH (n:`It's "odd"`) RETURN labels(n), n.`key'; DROP TABLE x; --`, n.`üñí`$$);
SELECT * FROM ruvector_cypher('ge', $$MATCH (n {name: "Ann\"'; SELECT 1; --"}) RETURN n$$);
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) WHERE n.name = $x RETURN n.name', '{"x": "Ann''); DROP TABLE y; --"}');
SELECT * FROM ruvector_cypher('ge', 'RETURN $`odd name` AS v', '{"odd name": "it''s fine"}');
-- keywords are fine as labels, keys and relationship types
SELECT * FROM ruvector_cypher('ge', 'CREATE (m:Match {return: 1, order: 2})-[:WHERE]->(:Limit) RETURN m.return + m.order AS s');
SELECT * FROM ruvector_cypher('ge', 'MATCH (:Match)-[r:WHERE]->(x:Limit) RETURN type(r), labels(x)');

-- a query can be cancelled: here by statement_timeout
SET statement_timeout = '200ms';
SELECT * FROM ruvector_cypher('ge', 'UNWIND range(1, 10000) AS i UNWIND range(1, 10000) AS j WITH i, j WHERE i + j < 0 RETURN count(*)');
RESET statement_timeout;
SELECT * FROM ruvector_cypher('ge', 'MATCH (n) RETURN count(n)');

SELECT ruvector_drop_graph('ge');
DROP FUNCTION ge_try(text);
