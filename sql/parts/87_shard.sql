-- Sharded tables (src/shard, docs/sharding.md): a hash-partitioned table
-- whose partitions are postgres_fdw foreign tables on shard servers.  The
-- top-k query plan needs no SQL object (a planner hook); this is the helper
-- that creates the layout.
-- New in 0.2.0: the upgrade from 0.1.0 runs this same file (Makefile, UPDATE_PARTS).

CREATE FUNCTION ruvector_shard_create(tbl regclass, servers text[],
		vector_column name DEFAULT NULL, index_method text DEFAULT 'hnsw',
		opclass text DEFAULT NULL)
	RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_shard_create(regclass, text[], name, text, text) IS
	'turn a table into a hash-partitioned table of postgres_fdw foreign tables on the servers, creating the shard tables and their vector index and moving the rows; returns the rows moved';
