-- Security of the graph subsystem (issue 12): =~ cannot be unanchored;
-- row-level security and per-graph grants hold on every read and write
-- path (views, tables, ruvector_graphs(), Cypher, the add_* functions).
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT ruvector_create_graph('gsec_rx');
-- =~ matches the whole string: a pattern cannot close the anchoring group
-- early (defect 5: 'a)|(z' made an unanchored branch that matched 'zzz')
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'a)|(z' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z)|(a' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z\\' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ '[z' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z' AS m$$);
SELECT * FROM ruvector_cypher('gsec_rx', $$RETURN 'zzz' =~ 'z+' AS a, 'ab' =~ 'a|ab' AS b,
	'ab' =~ 'a*?|ab' AS c, 'é1' =~ '.[0-9]' AS d, 'x)' =~ 'x\\)' AS e,
	'zz' =~ '(z)\\1' AS f, '[)]' =~ '\\[[)]\\]' AS g, 'abc' =~ 'b' AS h, '' =~ '' AS i$$);
SELECT ruvector_drop_graph('gsec_rx');
