-- The tier worker's reports (src/tableam, docs/tableam.md): free and
-- reclaimable space, the dry run, progress of tier passes, the history of
-- moves.  New in 0.2.0: the upgrade from 0.1.0 runs this same file
-- (Makefile, NEW_PARTS_0_2_0).

CREATE FUNCTION ruvector_tier_space(tbl regclass,
		OUT blocks bigint, OUT file_bytes bigint, OUT tuple_bytes bigint,
		OUT free_bytes bigint, OUT reclaimable_bytes bigint, OUT read_ahead text)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_tier_space(regclass) IS 'size, live tuple bytes, free space reusable by inserts, and an estimate of the bytes VACUUM FULL or CLUSTER would return, of a ruvector_heap table, and the read-ahead method its scans and the tier worker use';

CREATE FUNCTION ruvector_tier_plan(tbl regclass)
	RETURNS TABLE (from_tier text, to_tier text, blocks bigint, vectors bigint,
				   bytes_before bigint, bytes_after bigint, reference_recall float8)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_tier_plan(regclass) IS 'dry run of ruvector_compact: the moves it would make now, bytes before and after, and the recall@10 measured through an index at the target tier (glove-100 reference)';

CREATE FUNCTION ruvector_tier_progress(OUT pid integer, OUT table_name regclass,
		OUT source text, OUT phase text, OUT started timestamptz, OUT blocks_total bigint,
		OUT blocks_done bigint, OUT blocks_moved bigint, OUT bytes_freed bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION ruvector_tier_progress() IS 'running tier passes (ruvector_compact and the tier worker) in this database over tables the caller may read';

CREATE VIEW ruvector_tier_progress WITH (security_invoker = true) AS
	SELECT * FROM ruvector_tier_progress();
COMMENT ON VIEW ruvector_tier_progress IS 'progress of tier passes, like pg_stat_progress_vacuum: table, phase, blocks done of total, blocks moved, bytes freed';
REVOKE ALL ON ruvector_tier_progress FROM PUBLIC;
GRANT SELECT ON ruvector_tier_progress TO ruvector_operator;

-- One row per tier pass that moved something (ruvector_compact, the tier
-- worker): the table's history of moves.  Written as the extension owner;
-- readable by ruvector_operator.
CREATE TABLE ruvector_tier_history (
	relid				regclass NOT NULL,
	at					timestamptz NOT NULL,
	source				text NOT NULL,
	blocks_moved		bigint NOT NULL,
	blocks_promoted		bigint NOT NULL,
	vectors_moved		bigint NOT NULL,
	vectors_promoted	bigint NOT NULL,
	bytes_freed			bigint NOT NULL
);
CREATE INDEX ruvector_tier_history_relid_at ON ruvector_tier_history (relid, at);
COMMENT ON TABLE ruvector_tier_history IS 'tier passes that moved blocks: ruvector_compact calls and tier worker rounds, per table';
REVOKE ALL ON ruvector_tier_history FROM PUBLIC;
GRANT SELECT ON ruvector_tier_history TO ruvector_operator;

-- How each vector column keeps large vectors inline (src/tableam/rvheap_inline.c).
CREATE FUNCTION ruvector_tier_storage(tbl regclass)
	RETURNS TABLE (column_name name, compression text, decided boolean, sampled integer,
				   raw_bytes bigint, lz4_bytes bigint, pglz_bytes bigint, sample_choice text)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_tier_storage(regclass) IS 'per vector column of a ruvector_heap table: how rows over the TOAST threshold keep their vectors inline (lz4, pglz or none), whether a sample decided it, and a sample measured now';
