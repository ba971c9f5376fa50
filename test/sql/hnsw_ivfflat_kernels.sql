-- Every operator class of hnsw and ivfflat computes its distances with a
-- kernel called directly (the one table in src/indexam/indexam.c), not
-- through fmgr: a support function the table does not recognise still
-- works, only slower, so nothing else would notice.  sparsevec has no
-- kernel (its classes are fmgr on purpose).  For ivfflat, kmeans is the
-- kernel of the k-means support function (chord in place of the spherical
-- distance, between unit vectors).
CREATE TABLE kern (v vector(3), h halfvec(3), b bit(16), s sparsevec(3));
INSERT INTO kern VALUES ('[1,2,3]', '[1,2,3]', B'1010101010101010', '{1:1,3:2}/3'),
	('[3,2,1]', '[3,2,1]', B'0101010101010101', '{2:1}/3');

CREATE FUNCTION kern_check(am text, opc text, intype regtype) RETURNS TABLE (distance text, kmeans text)
LANGUAGE plpgsql AS $$
DECLARE
	col text := CASE intype WHEN 'vector'::regtype THEN 'v' WHEN 'halfvec'::regtype THEN 'h'
		WHEN 'bit'::regtype THEN 'b' ELSE 's' END;
BEGIN
	SET LOCAL client_min_messages = warning;
	EXECUTE format('CREATE INDEX kern_idx ON kern USING %s (%I %s)%s', am, col, opc,
				   CASE am WHEN 'ivfflat' THEN ' WITH (lists = 1)' ELSE '' END);
	RETURN QUERY SELECT k.distance, k.kmeans FROM ruvector_index_kernel('kern_idx') k;
	DROP INDEX kern_idx;
END $$;

SELECT a.amname, c.opcname, k.distance, k.kmeans
FROM pg_opclass c
	JOIN pg_am a ON a.oid = c.opcmethod
	CROSS JOIN LATERAL kern_check(a.amname, c.opcname, c.opcintype) k
WHERE a.amname IN ('hnsw', 'ivfflat')
	-- classes with a distance function: not hnsw's filter-column classes
	AND EXISTS (SELECT 1 FROM pg_amproc p WHERE p.amprocfamily = c.opcfamily AND p.amprocnum = 1)
ORDER BY 1, 2;

-- The same by a count, so a new operator class without a kernel fails here
SELECT count(*) AS opclasses_on_fmgr
FROM pg_opclass c
	JOIN pg_am a ON a.oid = c.opcmethod
	CROSS JOIN LATERAL kern_check(a.amname, c.opcname, c.opcintype) k
WHERE a.amname IN ('hnsw', 'ivfflat') AND c.opcintype <> 'sparsevec'::regtype
	AND (k.distance = 'fmgr' OR k.kmeans = 'fmgr')
	-- classes with a distance function: not hnsw's filter-column classes
	AND EXISTS (SELECT 1 FROM pg_amproc p WHERE p.amprocfamily = c.opcfamily AND p.amprocnum = 1);

-- Errors: not an index of these methods, not an index
CREATE INDEX kern_btree ON kern ((v::text));
SELECT * FROM ruvector_index_kernel('kern_btree');
SELECT * FROM ruvector_index_kernel('kern');

DROP FUNCTION kern_check(text, text, regtype);
DROP TABLE kern;
