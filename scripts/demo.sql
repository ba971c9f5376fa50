-- The demo: a table of 100,000 embeddings (384 dimensions, clustered), exact
-- nearest-neighbour search, then the same SQL a pgvector user already has.
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

-- Vector arithmetic, aggregates and the other types.
SELECT category, vector_dims(avg(embedding)), round(vector_norm(avg(embedding))::numeric, 3) AS norm_of_mean
  FROM items GROUP BY category ORDER BY category LIMIT 3;
SELECT '[1,2,3]'::vector + '[4,5,6]' AS sum, '[1,2,3]'::halfvec <-> '[3,2,1]' AS half_l2,
       '{1:1,3:2}/3'::sparsevec <=> '{2:1}/3' AS sparse_cosine,
       binary_quantize('[1,-2,3]'::vector) <~> '010' AS hamming;

SELECT pg_size_pretty(pg_total_relation_size('items')) AS table_size;
