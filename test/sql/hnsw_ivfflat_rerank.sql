-- The exact re-ranking of compact storage (src/indexam/rerank.c), one
-- implementation for hnsw and ivfflat: rows come out by exact distance with
-- NaN after every number, as ORDER BY puts float8 NaN, then by TID.
--
-- A NaN distance: the inner product of [1.6e38, -1.6e38, ...] with
-- [1e30, 1e30, ...] adds +Inf and -Inf (float products overflow).  sq8 still
-- takes such rows (their range fits in a float).  Rows 1-8 have distinct
-- finite distances; 100 and 101 have NaN.
CREATE TABLE rr (id int, v vector(16));
INSERT INTO rr SELECT i, ('[' || i || ',' || i % 3 || ',1,0,0,0,0,0,0,0,0,0,0,0,0,0]')::vector
	FROM generate_series(1, 8) i;
INSERT INTO rr VALUES (100, '[1.6e38,-1.6e38,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'),
	(101, '[-1.6e38,1.6e38,1,0,0,0,0,0,0,0,0,0,0,0,0,0]');

-- The order a sequential scan gives
SELECT array_agg(id ORDER BY v <#> '[1e30,1e30,1,0,0,0,0,0,0,0,0,0,0,0,0,0]', id) AS exact,
	array_agg(id) FILTER (WHERE (v <#> '[1e30,1e30,1,0,0,0,0,0,0,0,0,0,0,0,0,0]') = 'NaN') AS nan
	FROM rr;

-- The ids in index order, after checking the plan uses the index
CREATE FUNCTION rr_order() RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
	plan text := '';
	line text;
	ids int[];
BEGIN
	FOR line IN EXPLAIN (COSTS OFF) SELECT id FROM rr ORDER BY v <#> '[1e30,1e30,1,0,0,0,0,0,0,0,0,0,0,0,0,0]' LOOP
		plan := plan || line || ' ';
	END LOOP;
	IF plan NOT LIKE 'Index Scan using%' THEN
		RAISE EXCEPTION 'no index scan: %', plan;
	END IF;
	SELECT array_agg(id) INTO ids FROM
		(SELECT id FROM rr ORDER BY v <#> '[1e30,1e30,1,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
	RETURN ids;
END $$;

SET enable_seqscan = off;

-- hnsw, sq8: the batch re-ranked in one go, and strict_order's pending heap
CREATE INDEX rr_hnsw ON rr USING hnsw (v vector_ip_ops) WITH (storage = sq8);
SELECT rr_order() AS hnsw;
SET hnsw.iterative_scan = strict_order;
SELECT rr_order() AS hnsw_strict;
SET hnsw.iterative_scan = relaxed_order;
SELECT rr_order() AS hnsw_relaxed;
RESET hnsw.iterative_scan;
DROP INDEX rr_hnsw;

-- ivfflat, sq8
CREATE INDEX rr_ivf ON rr USING ivfflat (v vector_ip_ops) WITH (lists = 1, storage = sq8);
SELECT rr_order() AS ivfflat;
SET ivfflat.iterative_scan = relaxed_order;
SELECT rr_order() AS ivfflat_relaxed;
RESET ivfflat.iterative_scan;
DROP INDEX rr_ivf;

RESET enable_seqscan;
DROP FUNCTION rr_order();
DROP TABLE rr;
