-- Batched reads ahead (src/io, docs/io.md): which method this backend uses
-- for them (io_uring, prefetch, off) and, when io_uring was asked for but
-- refused, why.  New in 0.2.0: the upgrade from 0.1.0 runs this same file.
CREATE FUNCTION ruvector_io_method() RETURNS text
	AS 'MODULE_PATHNAME', 'ruvector_io_method' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

-- This backend's reads ahead since it started: batches asked for, blocks
-- listed, batches found cached at their head (nothing read ahead), io_uring
-- reads submitted, PrefetchBuffer calls.
CREATE FUNCTION ruvector_io_stats(OUT method text, OUT batches bigint, OUT blocks bigint,
		OUT batches_cached bigint, OUT reads_submitted bigint, OUT prefetch_calls bigint)
	AS 'MODULE_PATHNAME', 'ruvector_io_stats' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
