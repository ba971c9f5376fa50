-- Index methods (src/indexam), 0.1.0 -> 0.2.0: ruvector_index_kernel().
-- The result must equal the same function in sql/parts/60_ivfflat.sql of a
-- fresh install (privileges: sql/parts/99_privileges.sql, run after).

CREATE FUNCTION ruvector_index_kernel(index regclass, OUT distance text, OUT kmeans text)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_index_kernel(regclass) IS
	'the distance kernel an hnsw or ivfflat index uses (fmgr: the support function through fmgr); kmeans: ivfflat''s k-means kernel';
