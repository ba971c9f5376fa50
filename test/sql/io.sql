-- Batched reads ahead (src/io): the method in use and the setting that
-- chooses it.  auto takes io_uring where the kernel allows it, else
-- prefetch with the reason; the others are forced.
SELECT ruvector_io_method() = 'io_uring'
	OR ruvector_io_method() LIKE 'prefetch (io\_uring unavailable: %)' AS auto_is_io_uring_or_says_why;
SHOW ruvector.io_method;
SET ruvector.io_method = io_uring;
SELECT ruvector_io_method() = 'io_uring'
	OR ruvector_io_method() LIKE 'prefetch (io\_uring unavailable: %)' AS asked_is_io_uring_or_says_why;
SET ruvector.io_method = prefetch;
SELECT ruvector_io_method();
SET ruvector.io_method = off;
SELECT ruvector_io_method();
SET ruvector.io_method = sometimes;
RESET ruvector.io_method;

-- a re-ranking scan asks for its rows' blocks once per batch; a table in
-- shared buffers is seen as cached at the batch's head and nothing is read
CREATE TABLE io_items (id int, v vector(3));
INSERT INTO io_items SELECT i, ARRAY[i % 7, i % 11, i % 13]::vector(3) FROM generate_series(1, 500) i;
CREATE INDEX ON io_items USING hnsw (v vector_l2_ops) WITH (storage = sq8);
SET enable_seqscan = off;
CREATE TEMP TABLE io_before AS SELECT * FROM ruvector_io_stats();
SELECT count(*) FROM (SELECT id FROM io_items ORDER BY v <-> '[1,2,3]' LIMIT 5) s;
SELECT s.batches > b.batches AS asked, s.blocks > b.blocks AS listed,
	s.batches_cached > b.batches_cached AS cached, s.reads_submitted = b.reads_submitted AS no_reads
FROM ruvector_io_stats() s, io_before b;
-- off: not even asked
SET ruvector.io_method = off;
TRUNCATE io_before;
INSERT INTO io_before SELECT * FROM ruvector_io_stats();
SELECT count(*) FROM (SELECT id FROM io_items ORDER BY v <-> '[1,2,3]' LIMIT 5) s;
SELECT s.batches = b.batches AS not_asked FROM ruvector_io_stats() s, io_before b;
RESET ruvector.io_method;
RESET enable_seqscan;
DROP TABLE io_items;

-- who may ask: ruvector_user, not PUBLIC
CREATE ROLE rv_io_nobody;
CREATE ROLE rv_io_user IN ROLE ruvector_user;
SET ROLE rv_io_nobody;
SELECT ruvector_io_method();
SELECT * FROM ruvector_io_stats();
SET ROLE rv_io_user;
SELECT ruvector_io_method() IS NOT NULL AS user_may_ask;
SELECT batches >= 0 AS user_may_ask_stats FROM ruvector_io_stats();
RESET ROLE;
DROP ROLE rv_io_nobody;
DROP ROLE rv_io_user;
