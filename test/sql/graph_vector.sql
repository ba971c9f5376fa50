-- Vector search inside Cypher: a node property holding a vector (a jsonb
-- list of numbers, or vector text) ranked by vector.distance() and friends,
-- exactly or through an index made by ruvector_graph_vector_index().
\set SHOW_CONTEXT never

SELECT ruvector_create_graph('gv');
-- 2,000 documents on a 3-d lattice, one topic node, links to it
SELECT * FROM ruvector_cypher('gv', $$
	UNWIND range(0, 1999) AS i
	CREATE (:Doc {id: i, title: 'doc ' + toString(i),
	              embedding: [toFloat(i % 20), toFloat((i / 20) % 10), toFloat(i / 200)]})
$$);
SELECT * FROM ruvector_cypher('gv', $$CREATE (:Topic {name: 'near origin'})$$);
SELECT * FROM ruvector_cypher('gv', $$MATCH (d:Doc), (t:Topic) WHERE d.id < 30 CREATE (d)-[:ABOUT]->(t)$$);

-- exact ranking (no index yet); distances shown to 6 places: their last
-- digits depend on the kernel (AVX2 or scalar float32 sums)
SELECT r->>'d.title' AS title, round((r->>'dist')::numeric, 6) AS dist FROM ruvector_cypher('gv',
	'MATCH (d:Doc) RETURN d.title, vector.distance(d.embedding, $q) AS dist ORDER BY dist LIMIT 3',
	'{"q": [3.1, 2.2, 5.3]}') r;
SELECT * FROM ruvector_cypher('gv',
	'MATCH (d:Doc) RETURN d.id ORDER BY vector.distance(d.embedding, $q, ''l1''), d.id LIMIT 3',
	'{"q": [3, 2, 5]}');
-- the metrics, as pgvector defines them (ip is the negative inner product)
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.l2([1, 2], [4, 6]) AS l2, vector.l1([1, 2], [4, 6]) AS l1, vector.ip([1, 2], [4, 6]) AS ip, vector.cosine([1, 0], [0, 1]) AS cos, ruvector.distance([1, 0], [2, 0], ''cosine'') AS same_dir, distance([0, 0], [3, 4]) AS dist');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.similarity.cosine([1, 0], [1, 0]) AS same, vector.similarity.cosine([1, 0], [-1, 0]) AS opposite, vector.similarity.euclidean([0, 0], [1, 0]) AS euclid, vector.norm([3, 4]) AS norm');
SELECT * FROM ruvector_cypher('gv', $$RETURN vector.distance('[1,2,3]', [1, 2, 4]) AS from_text$$);
-- computed by the vector operators' kernels: the same float8 as <->, <=>, <+>, <#>
SELECT (r->>'l2')::float8 = (a <-> b) AS l2, (r->>'cos')::float8 = (a <=> b) AS cos,
	(r->>'l1')::float8 = (a <+> b) AS l1, (r->>'ip')::float8 = (a <#> b) AS ip
FROM ruvector_cypher('gv', 'RETURN vector.l2($a, $b) AS l2, vector.cosine($a, $b) AS cos, vector.l1($a, $b) AS l1, vector.ip($a, $b) AS ip',
		'{"a": [3.1, 2.2, 5.3, 0.7, 1.9, 4.4, 2.8, 0.3, 9.1], "b": [3, 2, 5, 1, 2, 4, 3, 0, 9]}') r,
	(SELECT '[3.1,2.2,5.3,0.7,1.9,4.4,2.8,0.3,9.1]'::vector AS a, '[3,2,5,1,2,4,3,0,9]'::vector AS b) v;
-- vector search combined with graph structure and filters
SELECT * FROM ruvector_cypher('gv',
	'MATCH (d:Doc)-[:ABOUT]->(:Topic {name: ''near origin''}) WHERE d.id % 2 = 1
	 RETURN d.id, vector.distance(d.embedding, $q) AS dist ORDER BY dist, d.id LIMIT 3',
	'{"q": [10, 1, 0]}');
SELECT * FROM ruvector_cypher('gv',
	'MATCH (d:Doc) WITH d ORDER BY vector.distance(d.embedding, $q), d.id LIMIT 5 MATCH (d)-[:ABOUT]->(t) RETURN d.id, t.name ORDER BY d.id',
	'{"q": [0, 0, 0]}');
-- the same through the typed form, as SQL columns
SELECT title, round(dist::numeric, 4) AS dist
	FROM ruvector_cypher_rows('gv', 'MATCH (d:Doc) RETURN d.title, vector.cosine(d.embedding, $q) AS dist ORDER BY dist, d.title LIMIT 3',
		'{"q": [1, 1, 1]}') AS (title text, dist float8);

-- an index on the property: the ranking becomes an index scan
SELECT ruvector_graph_vector_index('gv', 'Doc', 'embedding', 3) LIKE 'ruvector_graph_%_vec_%' AS index_made;
ANALYZE ruvector_graph_node;
CREATE FUNCTION gv_plan(cypher text, params jsonb) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || ruvector_cypher_sql('gv', cypher, params) LOOP
		RETURN NEXT regexp_replace(line, '[0-9]+', 'N', 'g');
	END LOOP;
END $$;
SELECT * FROM gv_plan('MATCH (d:Doc) RETURN d.title ORDER BY vector.distance(d.embedding, $q) LIMIT 3', '{"q": [3, 2, 5]}');
SELECT * FROM gv_plan('MATCH (d:Doc) RETURN d.title, vector.distance(d.embedding, $q) AS dist ORDER BY dist LIMIT 3', '{"q": [3, 2, 5]}');
-- another metric has no index: exact ranking again
SELECT count(*) FILTER (WHERE line LIKE '%Index Scan%') AS index_scans
	FROM gv_plan('MATCH (d:Doc) RETURN d.title ORDER BY vector.cosine(d.embedding, $q) LIMIT 3', '{"q": [3, 2, 5]}') line;
-- the index gives the same answers as the exact ranking
SELECT r->>'d.title' AS title, round((r->>'dist')::numeric, 6) AS dist FROM ruvector_cypher('gv',
	'MATCH (d:Doc) RETURN d.title, vector.distance(d.embedding, $q) AS dist ORDER BY dist LIMIT 3',
	'{"q": [3.1, 2.2, 5.3]}') r;
SELECT ruvector_graph_vector_index('gv', 'Doc', 'embedding', 3, 'cosine') IS NOT NULL AS cosine_index;
SELECT count(*) FILTER (WHERE line LIKE '%Index Scan%') AS index_scans
	FROM gv_plan('MATCH (d:Doc) RETURN d.title ORDER BY vector.cosine(d.embedding, $q) LIMIT 3', '{"q": [3, 2, 5]}') line;
-- new nodes are indexed as they are created
SELECT * FROM ruvector_cypher('gv', 'CREATE (:Doc {id: -1, title: ''fresh'', embedding: [100, 100, 100]})');
SELECT * FROM ruvector_cypher('gv', 'MATCH (d:Doc) RETURN d.title ORDER BY vector.distance(d.embedding, [99, 99, 99]) LIMIT 1');

-- errors
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance([1, 2], [1, 2, 3])');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance([1, ''x''], [1, 2])');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance(1, [1, 2])');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance([], [])');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance([1], [1], ''hamming'')');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance([1], [1], $m)', '{"m": 3}');
SELECT * FROM ruvector_cypher('gv', 'RETURN vector.distance([1])');
SELECT ruvector_graph_vector_index('gv', 'Doc', 'embedding', 3, 'hamming');
SELECT ruvector_graph_vector_index('gv', 'Doc', 'embedding', 0);
SELECT ruvector_graph_vector_index('gv', 'Doc', 'embedding', 3, 'l2', 'btree');
SELECT ruvector_graph_vector_index('nope', 'Doc', 'embedding', 3);
-- a node whose property has other dimensions cannot enter the index
SELECT * FROM ruvector_cypher('gv', 'CREATE (:Doc {embedding: [1, 2]})');

-- a session caches what it knows of a graph; a dropped index, a dropped
-- graph and a rolled-back graph are seen by its next query all the same
SELECT format('DROP INDEX %I', index_name) AS drop_cosine
	FROM ruvector_graph_vector_index v JOIN ruvector_graph g USING (graph_id)
	WHERE g.name = 'gv' AND v.metric = 'cosine' \gset
:drop_cosine;
SELECT count(*) FILTER (WHERE line LIKE '%Index Scan%') AS index_scans
	FROM gv_plan('MATCH (d:Doc) RETURN d.title ORDER BY vector.cosine(d.embedding, $q) LIMIT 3', '{"q": [3, 2, 5]}') line;
SELECT * FROM ruvector_cypher('gv', 'MATCH (d:Doc) RETURN d.title ORDER BY vector.cosine(d.embedding, [1, 1, 1]), d.title LIMIT 1');
BEGIN;
SELECT ruvector_create_graph('gv_brief');
SELECT * FROM ruvector_cypher('gv_brief', 'CREATE (n:T {i: 1}) RETURN n.i');
ROLLBACK;
SELECT * FROM ruvector_cypher('gv_brief', 'MATCH (n) RETURN count(n)');
SELECT ruvector_create_graph('gv_brief');
SELECT * FROM ruvector_cypher('gv_brief', 'MATCH (n) RETURN count(n) AS n');
SELECT ruvector_drop_graph('gv_brief');
SELECT * FROM ruvector_cypher('gv_brief', 'MATCH (n) RETURN count(n)');

DROP FUNCTION gv_plan(text, jsonb);
SELECT ruvector_drop_graph('gv');
SELECT count(*) FROM pg_class WHERE relname LIKE 'ruvector_graph_%_vec_%';
