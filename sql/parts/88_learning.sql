-- The learning loop (src/gnn, docs/learning.md): with ruvector.target_recall
-- set, an hnsw scan chooses its own ef_search from a model learned from the
-- index's queries.  New in 0.2.0: the upgrade from 0.1.0 runs this same file
-- (Makefile, NEW_PARTS_0_2_0).

-- Captured queries (the maintenance worker drains them from shared memory)
-- and their recall at each effort of the label grid once labelled.  They are
-- the users' query vectors: no role but the extension's owner reads them.
CREATE TABLE ruvector_learning_queries (
	id			bigserial PRIMARY KEY,
	index		regclass NOT NULL,
	captured_at	timestamptz NOT NULL DEFAULT now(),
	query		real[] NOT NULL,
	k			integer NOT NULL,
	effort		integer NOT NULL,	-- ef the scan searched with
	visited		integer NOT NULL,	-- layer-0 elements it read
	profile		real[],				-- the query features the model saw, if one ran
	recall		real[],				-- recall@k at each grid effort, then (hnsw of a metric) at each bound of the bound rule, once labelled
	labelled_at	timestamptz			-- when: labels older than an integrity transition are measured again
);
CREATE INDEX ruvector_learning_queries_index ON ruvector_learning_queries (index, id);

-- Every trained version, live or not, with its training curve and its
-- held-out figures; model is the serialised network (src/gnn/gnn.h), rule
-- its kind: effort (the network picks each query's ef_search or probes), stop
-- (it says where to stop among checkpoints) or bound (the search stops past
-- the learned distance bound, bound; docs/learning.md).
CREATE TABLE ruvector_learning_models (
	index			regclass NOT NULL,
	heap			regclass NOT NULL,
	version			integer NOT NULL,
	target			real NOT NULL,
	live			boolean NOT NULL,
	trained_at		timestamptz NOT NULL DEFAULT now(),
	queries			integer NOT NULL,
	regions			integer NOT NULL,
	train_ms		float8 NOT NULL,
	curve			float8[] NOT NULL,
	val_recall		float8,
	val_cost		float8,
	val_below		float8,
	fixed_effort	float8,		-- least fixed ef_search reaching the target on the same queries
	replaced		integer,	-- the live version it was compared with
	replaced_recall	float8,
	replaced_cost	float8,
	model			bytea NOT NULL,
	relfilenode		oid NOT NULL,	-- the build it was trained on: another build ignores it
	rule			text NOT NULL DEFAULT 'effort' CHECK (rule IN ('effort', 'stop', 'bound')),
	bound			float8 CHECK ((rule = 'bound') = (bound IS NOT NULL)),
	PRIMARY KEY (index, version)
);
REVOKE ALL ON TABLE ruvector_learning_queries, ruvector_learning_models FROM PUBLIC;
REVOKE ALL ON SEQUENCE ruvector_learning_queries_id_seq FROM PUBLIC;

CREATE FUNCTION ruvector_learning_train(index regclass) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_learning_train(regclass) IS
	'train a model of an hnsw index for ruvector.target_recall (0.95 when off) now; it goes live if it meets the target on held-out queries at lower effort than the live one';
CREATE FUNCTION ruvector_learning_status(OUT index regclass, OUT version integer,
		OUT target real, OUT live boolean, OUT trained_at timestamptz, OUT queries integer,
		OUT regions integer, OUT train_ms float8, OUT val_recall float8, OUT val_cost float8,
		OUT val_below float8, OUT fixed_effort float8, OUT replaced integer,
		OUT replaced_cost float8, OUT curve float8[], OUT rule text, OUT bound float8)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_learning_status() IS
	'every model version of the indexes whose table the caller may read: held-out recall and effort, the fixed ef_search baseline, the training curve, which is live, its kind (effort, stop or bound) and a bound model''s bound';
CREATE FUNCTION ruvector_learning_effort(index regclass, query vector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ruvector_learning_effort(regclass, vector) IS
	'the ef_search a scan of the index would choose for the query now (NULL: hnsw.ef_search, no live model or ruvector.target_recall off)';
