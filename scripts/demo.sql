-- The demo: a table of 100,000 embeddings (384 dimensions, clustered), exact
-- nearest-neighbour search, then an HNSW index built and queried with the same
-- SQL a pgvector user already has, and its recall against exact search; then
-- the same index with compact sq8 codes and exact re-ranking.
\timing on
CREATE EXTENSION ruvector;

CREATE TABLE items (id bigint PRIMARY KEY, category int, embedding vector(384));

-- 100,000 vectors around 50 centres, generated in SQL so the demo needs no files.
INSERT INTO items
SELECT i, i % 10,
       (SELECT array_agg(sin(c * 7.3 + d * 0.37) + (random() - 0.5) * 0.3)::vector
          FROM generate_series(1, 384) d)
  FROM generate_series(1, 100000) i, LATERAL (SELECT i % 50 AS c) centre;
ANALYZE items;

-- Exact search, each distance pgvector has.
SELECT id, embedding <-> (SELECT embedding FROM items WHERE id = 1) AS l2
  FROM items ORDER BY 2 LIMIT 5;
SELECT id, embedding <=> (SELECT embedding FROM items WHERE id = 1) AS cosine
  FROM items ORDER BY 2 LIMIT 5;
SELECT id, embedding <#> (SELECT embedding FROM items WHERE id = 1) AS neg_inner_product
  FROM items ORDER BY 2 LIMIT 5;
SELECT id, embedding <+> (SELECT embedding FROM items WHERE id = 1) AS l1
  FROM items WHERE category = 3 ORDER BY 2 LIMIT 5;

-- The same queries through an HNSW index, exactly as pgvector users write them.
SET maintenance_work_mem = '512MB';
CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_cosine_ops);
SET hnsw.ef_search = 100;
EXPLAIN (COSTS OFF)
SELECT id FROM items ORDER BY embedding <=> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
SELECT id, embedding <=> (SELECT embedding FROM items WHERE id = 1) AS cosine
  FROM items ORDER BY 2 LIMIT 5;

-- Recall@10 of the index against exact search, over 20 query rows.
CREATE TEMP TABLE q AS SELECT id, embedding FROM items WHERE id % 5000 = 7;
CREATE TEMP TABLE approx AS
SELECT q.id AS qid, n.id FROM q, LATERAL (
  SELECT id FROM items ORDER BY embedding <=> q.embedding LIMIT 10) n;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
SELECT q.id AS qid, n.id FROM q, LATERAL (
  SELECT id FROM items ORDER BY embedding <=> q.embedding LIMIT 10) n;
RESET enable_indexscan;
SELECT round(count(a.id)::numeric / count(*), 3) AS recall_at_10
  FROM exact e LEFT JOIN approx a USING (qid, id);

-- Vector arithmetic, aggregates and the other types.
SELECT category, vector_dims(avg(embedding)), round(vector_norm(avg(embedding))::numeric, 3) AS norm_of_mean
  FROM items GROUP BY category ORDER BY category LIMIT 3;
SELECT '[1,2,3]'::vector + '[4,5,6]' AS sum, '[1,2,3]'::halfvec <-> '[3,2,1]' AS half_l2,
       '{1:1,3:2}/3'::sparsevec <=> '{2:1}/3' AS sparse_cosine,
       binary_quantize('[1,-2,3]'::vector) <~> '010' AS hamming;

SELECT pg_size_pretty(pg_table_size('items')) AS table_size,
       pg_size_pretty(pg_relation_size('items_embedding_idx')) AS hnsw_index_size;

-- Beyond pgvector: the graph can keep one byte a dimension (storage = sq8);
-- scans rank by those codes and re-rank the best candidates with exact
-- distances read from the table, so results stay exact in order.
CREATE INDEX items_embedding_sq8 ON items USING hnsw (embedding vector_cosine_ops) WITH (storage = sq8);
SELECT pg_size_pretty(pg_relation_size('items_embedding_idx')) AS float32_index,
       pg_size_pretty(pg_relation_size('items_embedding_sq8')) AS sq8_index;
DROP INDEX items_embedding_idx;
CREATE TEMP TABLE approx_sq8 AS
SELECT q.id AS qid, n.id FROM q, LATERAL (
  SELECT id FROM items ORDER BY embedding <=> q.embedding LIMIT 10) n;
SELECT round(count(a.id)::numeric / count(*), 3) AS sq8_recall_at_10
  FROM exact e LEFT JOIN approx_sq8 a USING (qid, id);
