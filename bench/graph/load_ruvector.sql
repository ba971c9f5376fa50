-- The benchmark graph in RuVector: N people (id, name, age, a 16-d
-- embedding) and 10 KNOWS relationships each, the same ones load_age.sql
-- creates: eight to nearby ids, two far away, all from a fixed hash, so the
-- two systems hold exactly the same graph.  psql -v n=100000
\set ON_ERROR_STOP 1
SELECT ruvector_drop_graph('social', true);
SELECT ruvector_create_graph('social');
SELECT graph_id AS gid FROM ruvector_graph WHERE name = 'social' \gset
-- node i gets id base + i, so edges can be written by arithmetic
SELECT nextval('ruvector_graph_entity_seq') AS base \gset
SELECT setval('ruvector_graph_entity_seq', :base + :n + 1);
INSERT INTO ruvector_graph_node (id, graph_id, label, properties)
SELECT :base + i, :gid, 'Person',
	jsonb_build_object('id', i, 'name', 'p' || i, 'age', 18 + i % 60,
		'embedding', (SELECT jsonb_agg(round(((abs(hashint8(i * 16 + d)) % 10000) / 10000.0)::numeric, 4) ORDER BY d)
					  FROM generate_series(1, 16) d))
FROM generate_series(1, :n) i;
INSERT INTO ruvector_graph_edge (graph_id, type, start_id, end_id, properties)
SELECT :gid, 'KNOWS', :base + s, :base + t, jsonb_build_object('w', k)
FROM (SELECT s, k,
		CASE WHEN k <= 8 THEN 1 + (s + k * k * 37) % :n
			 ELSE 1 + abs(hashint8(s * 100 + k)) % :n END AS t
	  FROM generate_series(1, :n) s, generate_series(1, 10) k) x;
VACUUM ANALYZE ruvector_graph_node;
VACUUM ANALYZE ruvector_graph_edge;
SELECT * FROM ruvector_graphs() WHERE name = 'social';
