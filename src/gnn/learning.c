/*-------------------------------------------------------------------------
 *
 * learning.c
 *	  The learning loop, server side: with ruvector.target_recall set, an
 *	  HNSW scan asks the live model of its index for its own ef_search;
 *	  a sample of real queries is captured to shared memory, drained by
 *	  the maintenance worker into ruvector_learning_queries, labelled there
 *	  within ruvector.learning_cpu_budget, and models are trained, checked
 *	  on held-out queries and versioned in ruvector_learning_models.
 *
 * NOTES
 *	  Labels.  For a query q and k = ruvector.learning_k, the exact k
 *	  nearest rows come from a sequential scan (index scans off); then the
 *	  index is searched at every effort of a fixed grid (ef_search from k
 *	  to 1000) and the recall@k of each is kept.  The label is the log of
 *	  the least grid effort whose recall reaches the target; the curves
 *	  also serve held-out evaluation (gnn.h: rv_gnn_evaluate).  Training
 *	  also fits budgeted labels (LearnLabelMu) and keeps the cheapest model
 *	  on the calibration queries (LearnTrainLabels).
 *
 *	  Bound models.  For an HNSW index of a metric (HnswHasMetric) with
 *	  ruvector.learning_bound_rule on, a label goes on with the recall of
 *	  the bound rule (hnswscan.c, AdaptProgress) at every bound of a grid,
 *	  and training also picks the least bound meeting the calibration
 *	  target (LearnBoundPick); it replaces the network when it costs less
 *	  on the validation queries, its cost the fixed ef_search reading as
 *	  many elements (LearnBoundEvaluate).  The model then keeps its bound
 *	  in offset (gnn.h, RV_GNN_RULE_BOUND).
 *
 *	  IVFFlat indexes are learned the same way with probes for the
 *	  effort: the grid runs from RV_LEARN_IVF_CHECKPOINT lists to 512
 *	  (and the number of lists), the regions are the lists themselves
 *	  (IvfLearnLists: unit centers, sizes, radius), each linked to the
 *	  LEARN_IVF_LINKS lists with the nearest centers, and the scan decides
 *	  after its first RV_LEARN_IVF_CHECKPOINT lists (ivfscan.c).
 *
 *	  Model.  The region graph is the integrity plane's contraction of
 *	  layer 0 (RvIgSampleHnsw with RvIgSample.regions, capped at
 *	  ruvector.learning_regions regions).  Each region's representative is
 *	  the mean of up to LEARN_REP_SAMPLE of its rows scaled to unit length
 *	  (then scaled again); the query features are the unit query's L2
 *	  distances to the representatives (rv_gnn_query_features), whatever
 *	  the index's metric: they only have to tell easy queries from hard
 *	  ones.  Only indexes on vector columns are learned.
 *
 *	  Versions.  The queries are split 60/20/20 (by position): train,
 *	  calibrate (the offset that makes the mean recall reach the target),
 *	  validate.  A new version goes live only if on the validation queries
 *	  its mean recall reaches the target, its mean effort is below the
 *	  fixed effort that reaches the same mean recall on the same queries
 *	  (rv_gnn_fixed_effort_at), and below the live version's (evaluated on
 *	  the same queries) unless the live one misses the target.  Every version is kept, live or not, with its
 *	  training curve: ruvector_learning_status() shows them.
 *
 *	  A model belongs to one build of its index (its relfilenode): after
 *	  REINDEX or VACUUM FULL the scans ignore it and use hnsw.ef_search
 *	  until a model of the new build is trained.
 *
 *	  Scans.  Each backend caches the live model of an index for
 *	  LEARN_CACHE_TTL_MS and rereads the table after that (as the
 *	  extension's owner), so a new version reaches other sessions and
 *	  standbys (the table replicates) within that time.  The cache is
 *	  consulted only while ruvector.target_recall > 0; at 0 the scan's
 *	  effort is hnsw.ef_search exactly as before.  The model decides inside
 *	  the scan's search, at its checkpoint (hnswscan.c: AdaptProgress), from
 *	  the region features computed at scan start (RvLearningPlan) and the
 *	  search's progress (RvLearningSearchEffort); training gets the same
 *	  features from probe scans (LearnProbe) that stop there.
 *	  ruvector.adaptive_effort = frontier is the non-learned baseline, in
 *	  the same hook.
 *
 *	  Capture.  With the library preloaded, a scan keeps its query with
 *	  probability ruvector.learning_sample_rate in a ring of
 *	  LEARN_RING_SLOTS slots in shared memory (the lock is only tried: a
 *	  scan never waits for it; a full ring overwrites its oldest slot).
 *	  The profile kept with it is the query features the model saw (empty
 *	  without a model).
 *
 *	  Lock order: LearnShared->lock alone, never held while calling out.
 *
 * IDENTIFICATION
 *	  src/gnn/learning.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "common/rv_extension.h"
#include "distance/distance.h"
#include "gnn/gnn.h"
#include "gnn/learning.h"
#include "indexam/hnsw.h"
#include "indexam/ivfflat.h"
#include "integrity/integrity.h"
#include "types/types.h"
#include "worker/worker.h"

#define LEARN_CACHE_TTL_MS	2000
#define LEARN_CACHE_SLOTS	16
#define LEARN_RING_SLOTS	128
#define LEARN_MAX_DIM		2000
#define LEARN_REP_SAMPLE	16
#define LEARN_MAX_GRID		16
#define LEARN_NBOUND		16	/* bounds of the bound rule's grid (LearnDescribe) */
#define LEARN_MAX_CURVE		(LEARN_MAX_GRID + LEARN_NBOUND)
#define LEARN_COST_QUERIES	200	/* validation queries a bound rule's cost is measured on */
#define LEARN_IVF_LINKS		4	/* region graph of ivfflat: nearest centers */

PG_FUNCTION_INFO_V1(ruvector_learning_train);
PG_FUNCTION_INFO_V1(ruvector_learning_status);
PG_FUNCTION_INFO_V1(ruvector_learning_effort);

double		rv_target_recall = 0;
double		rv_learning_sample_rate = 0;
double		rv_learning_cpu_budget = 0.1;
static int	rv_learning_k = 10;
static int	rv_learning_regions = 512;
static int	rv_learning_min_queries = 200;
static int	rv_learning_max_queries = 2000;
static int	rv_learning_epochs = 60;
static int	rv_learning_checkpoints = 1;
static int	rv_adaptive_effort = RV_ADAPT_MODEL;
static int	rv_frontier_patience = 16;
static bool rv_learning_bound_rule = true;

static const struct config_enum_entry learn_adapt_options[] = {
	{"off", RV_ADAPT_OFF, false},
	{"frontier", RV_ADAPT_FRONTIER, false},
	{"model", RV_ADAPT_MODEL, false},
	{"both", RV_ADAPT_BOTH, false},
	{NULL, 0, false}
};

/* A backend's copy of one index's live model for one target */
typedef struct LearnCached
{
	Oid			indexid;
	float4		target;
	int32		version;		/* 0: none */
	RvGnnModel *model;
	TimestampTz checkedAt;
} LearnCached;

static LearnCached learnCache[LEARN_CACHE_SLOTS];
static int	learnCacheNext = 0;
static bool learnBusy = false;	/* loading a model or labelling: no hook */

/* A probe scan (LearnProbe): its checkpoint's features and effort */
static bool learnProbe = false;
static const RvGnnModel *learnProbeModel = NULL;
static bool learnProbeHave = false;
static double learnProbeFeat[RV_GNN_MAX_CHECKPOINTS][RV_GNN_QF_SEARCH];
static int	learnProbeN = 0;		/* checkpoints the probe reached */

/* Labelling and costing a bound rule (LearnIndexTopK): its epsilon, 0 = off */
static double learnBound = 0;
/* Layer-0 elements the last scan's first batch read (RvLearningCapture) */
static int	learnLastVisited = 0;

/* What the last scan start decided, for its capture */
static Oid	learnLastIndex = InvalidOid;
static float learnLastProfile[RV_GNN_QF];
static bool learnLastHasProfile = false;

/* One captured query */
typedef struct LearnSlot
{
	bool		used;
	Oid			dbid;
	Oid			indexid;
	int32		effort;
	int32		visited;
	int32		k;
	int32		dim;
	bool		hasProfile;
	float		profile[RV_GNN_QF];
	float		x[LEARN_MAX_DIM];
} LearnSlot;

typedef struct LearnShared
{
	LWLock	   *lock;
	uint32		next;
	LearnSlot	slots[LEARN_RING_SLOTS];
} LearnShared;

static Datum LearnVectorDatum(const float *x, int dim);

static LearnShared *learnShared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
LearnShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(LearnShared)));
	RequestNamedLWLockTranche("ruvector_learning", 1);
}

static void
LearnShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	learnShared = ShmemInitStruct("ruvector_learning", sizeof(LearnShared), &found);
	if (!found)
	{
		memset(learnShared, 0, sizeof(LearnShared));
		learnShared->lock = &(GetNamedLWLockTranche("ruvector_learning"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
RvLearningInit(void)
{
	DefineCustomRealVariable("ruvector.target_recall",
							 "Recall@k each HNSW scan aims for, choosing its own ef_search from the index's learned model.",
							 "0 turns it off: scans use hnsw.ef_search.  Without a trained model for the index, scans use hnsw.ef_search too.",
							 &rv_target_recall,
							 0, 0, 1, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("ruvector.learning_sample_rate",
							 "Share of index scans whose query is captured for learning.",
							 "Needs shared_preload_libraries = 'ruvector'.",
							 &rv_learning_sample_rate,
							 0, 0, 1, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("ruvector.learning_cpu_budget",
							 "Share of one core the maintenance worker may spend labelling captured queries.",
							 NULL,
							 &rv_learning_cpu_budget,
							 0.1, 0, 1, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.learning_k",
							"The k of the recall@k that ruvector.target_recall means.",
							NULL,
							&rv_learning_k,
							10, 1, 1000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.learning_regions",
							"Most regions of the graph a model is learned over.",
							NULL,
							&rv_learning_regions,
							512, 2, RV_GNN_MAX_REGIONS, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.learning_min_queries",
							"Labelled queries an index needs before it is trained; fewer are topped up with rows of the table.",
							NULL,
							&rv_learning_min_queries,
							200, 10, 1000000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.learning_max_queries",
							"Most queries one training uses (the latest captured first).",
							NULL,
							&rv_learning_max_queries,
							2000, 10, 1000000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.learning_epochs",
							"Training epochs of one model.",
							NULL,
							&rv_learning_epochs,
							60, 1, 10000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.learning_checkpoints",
							"Checkpoints at which an HNSW model is asked how far to search: 1, or again at 2x, 4x, ... the first.",
							"Above 1, training also tries a stop rule (the recall reached at each checkpoint) and keeps the cheaper. Applies to models trained from now on.",
							&rv_learning_checkpoints,
							1, 1, RV_GNN_MAX_CHECKPOINTS, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("ruvector.adaptive_effort",
							 "How an HNSW scan with ruvector.target_recall set decides how far to search.",
							 "model: the index's learned model, from the search's progress at its checkpoint; "
							 "frontier: stop once the k nearest found stop changing (ruvector.frontier_patience), no model; "
							 "both: the model, then the frontier rule may stop the search earlier; "
							 "off: hnsw.ef_search.",
							 &rv_adaptive_effort,
							 RV_ADAPT_MODEL, learn_adapt_options, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.frontier_patience",
							"Hops without a new element among the k nearest after which the frontier rule stops a search.",
							NULL,
							&rv_frontier_patience,
							16, 1, 100000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("ruvector.learning_bound_rule",
							 "Whether training may choose a bound model for an HNSW index of a metric: a search "
							 "that stops past a distance bound relative to the k nearest found.",
							 "Labelling then also measures each query's recall at each bound.",
							 &rv_learning_bound_rule,
							 true, PGC_USERSET, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = LearnShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = LearnShmemStartup;
}

/* ----------------------------------------------------------------
 *		Helpers
 * ----------------------------------------------------------------
 */
typedef struct LearnAs
{
	Oid			saveUser;
	int			saveSec;
} LearnAs;

/* Whether the extension (with the learning tables) is here; its owner */
static bool
LearnExtension(Oid *owner)
{
	RvExtensionInfoData ext;

	if (!RvExtensionLookup(&ext, true))
		return false;
	*owner = ext.owner;
	return OidIsValid(get_relname_relid("ruvector_learning_models", ext.nsp));
}

static void
LearnBecome(Oid owner, LearnAs *as)
{
	GetUserIdAndSecContext(&as->saveUser, &as->saveSec);
	SetUserIdAndSecContext(owner, as->saveSec | SECURITY_LOCAL_USERID_CHANGE);
}

static void
LearnRestore(LearnAs *as)
{
	SetUserIdAndSecContext(as->saveUser, as->saveSec);
}

/* Whether the index's (first) column is the extension's vector type */
static bool
LearnIsVectorIndex(Relation index)
{
	Oid			typid = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	bool		ok = false;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_type t = (Form_pg_type) GETSTRUCT(tup);

		ok = strcmp(NameStr(t->typname), "vector") == 0 &&
			getExtensionOfObject(TypeRelationId, typid) == get_extension_oid("ruvector", true);
		ReleaseSysCache(tup);
	}
	return ok;
}

static double
LearnL2(const float *a, const float *b, int dim)
{
	double		s = 0;

	for (int i = 0; i < dim; i++)
	{
		double		d = (double) a[i] - b[i];

		s += d * d;
	}
	return sqrt(s);
}

/*
 * Query features under a model: L2 distances of the unit query to its
 * (unit) representatives.  Unit length so that a cosine index, whose scan
 * sees the query normalised, and its training, which does not, agree.
 */
static void
LearnFeatures(const RvGnnModel *m, const float *x, double *q, uint32 *entry)
{
	double	   *d = palloc(sizeof(double) * m->nregions);
	float	   *u = palloc(sizeof(float) * m->dim);

	rv_gnn_unit(x, m->dim, u);
	/* the SIMD kernel: this runs at every scan start (the inference cost) */
	for (uint32 r = 0; r < m->nregions; r++)
		d[r] = sqrt(rv_f32_l2sq(u, m->reps + (Size) r * m->dim, m->dim));
	rv_gnn_query_features(d, m->nregions, q, entry);
	pfree(d);
	pfree(u);
}

/* ----------------------------------------------------------------
 *		The scans' side
 * ----------------------------------------------------------------
 */

/* Read the live model (SPI connected, as the owner); NULL if none */
static RvGnnModel *
LearnReadLive(Oid indexid, Oid relfilenode, float4 target, int32 haveVersion, int32 *version,
			  bool *same)
{
	StringInfoData q;
	Oid			argtypes[4] = {OIDOID, FLOAT4OID, INT4OID, OIDOID};
	Datum		args[4] = {ObjectIdGetDatum(indexid), Float4GetDatum(target),
	Int32GetDatum(haveVersion), ObjectIdGetDatum(relfilenode)};
	bool		isnull;
	bytea	   *blob;
	const char *err;
	RvGnnModel *m;

	*version = 0;
	*same = false;
	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT version, CASE WHEN version <> $3 THEN model END"
					 " FROM %s.ruvector_learning_models"
					 " WHERE index::pg_catalog.oid = $1 AND live AND target >= $2 - 1e-6"
					 " AND relfilenode = $4"
					 " ORDER BY target, version DESC LIMIT 1", RvExtensionSchemaSql());
	if (SPI_execute_with_args(q.data, 4, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "ruvector_learning_models could not be read");
	if (SPI_processed != 1)
		return NULL;
	*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (*version == haveVersion)
	{
		*same = true;
		return NULL;
	}
	blob = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
		return NULL;
	m = rv_gnn_deserialize((unsigned char *) VARDATA_ANY(blob), VARSIZE_ANY_EXHDR(blob), &err);
	if (m == NULL)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("learned model version %d of index %u is unusable: %s",
						*version, indexid, err)));
	return m;
}

/* The live model of an index for a target, from the backend's cache */
static LearnCached *
LearnLookup(Relation index, float4 target)
{
	Oid			indexid = RelationGetRelid(index);
	TimestampTz now = GetCurrentTimestamp();
	LearnCached *c = NULL;
	Oid			owner;
	LearnAs		as;

	for (int i = 0; i < LEARN_CACHE_SLOTS; i++)
		if (learnCache[i].indexid == indexid && learnCache[i].target == target)
			c = &learnCache[i];
	if (c && now - c->checkedAt < (int64) LEARN_CACHE_TTL_MS * 1000)
		return c;
	if (learnBusy || !IsTransactionState() || IsInParallelMode() || creating_extension)
		return c;
	if (c == NULL)
	{
		c = &learnCache[learnCacheNext];
		learnCacheNext = (learnCacheNext + 1) % LEARN_CACHE_SLOTS;
		rv_gnn_free(c->model);
		memset(c, 0, sizeof(*c));
		c->indexid = indexid;
		c->target = target;
	}
	c->checkedAt = now;
	if (!LearnExtension(&owner) || !LearnIsVectorIndex(index))
	{
		rv_gnn_free(c->model);
		c->model = NULL;
		c->version = 0;
		return c;
	}
	learnBusy = true;
	LearnBecome(owner, &as);
	PG_TRY();
	{
		int32		version;
		bool		same;
		RvGnnModel *m;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		m = LearnReadLive(indexid, index->rd_rel->relfilenode, target, c->version, &version, &same);
		SPI_finish();
		if (!same)
		{
			rv_gnn_free(c->model);
			c->model = m;
			c->version = m ? version : 0;
		}
	}
	PG_FINALLY();
	{
		LearnRestore(&as);
		learnBusy = false;
	}
	PG_END_TRY();
	return c;
}

static void
LearnForgetIndex(Oid indexid)
{
	for (int i = 0; i < LEARN_CACHE_SLOTS; i++)
		if (learnCache[i].indexid == indexid)
			learnCache[i].checkedAt = 0;
}

/* Whether the index is ruvector's ivfflat (its effort is probes) */
bool
RvLearningIsIvf(Relation index)
{
	return index->rd_indam != NULL && index->rd_indam->amgettuple == ivfflatgettuple;
}

/*
 * Scan start: what the scan's layer-0 search does (learning.h).  With
 * ruvector.target_recall set: the frontier rule, or with a live model for
 * the index the model at the checkpoint (the region features are computed
 * now).  A probe scan (LearnProbe) records its checkpoint.  Otherwise
 * RV_ADAPT_OFF: hnsw.ef_search exactly as without the learning loop.
 */
void
RvLearningPlan(Relation index, const char *query, RvLearnPlan *plan)
{
	LearnCached *c;
	const Vector *v = (const Vector *) query;

	plan->mode = RV_ADAPT_OFF;
	plan->patienceAfter = false;
	plan->model = NULL;
	plan->version = 0;
	plan->k = rv_learning_k;
	plan->checkpoint = RvLearningIsIvf(index) ? RV_LEARN_IVF_CHECKPOINT :
		RV_LEARN_CHECKPOINT_EF(rv_learning_k);
	plan->patience = rv_frontier_patience;
	plan->efCap = HNSW_MAX_EF_SEARCH;
	plan->efTypical = plan->checkpoint;
	plan->nck = 1;
	plan->stage = 0;
	plan->more = false;
	learnLastHasProfile = false;
	learnLastIndex = InvalidOid;
	if (query == NULL)
		return;
	if (learnProbe)
	{
		plan->mode = RV_ADAPT_PROBE;
		if (!RvLearningIsIvf(index))
			plan->nck = learnProbeModel != NULL ?
				Min((int) learnProbeModel->checkpoints, RV_GNN_MAX_CHECKPOINTS) :
				rv_learning_checkpoints;
		return;
	}
	if (learnBound > 0)
	{
		plan->mode = RV_ADAPT_BOUND;
		plan->bound = learnBound;
		return;
	}
	if (rv_target_recall <= 0 || learnBusy || rv_adaptive_effort == RV_ADAPT_OFF)
		return;
	if (rv_adaptive_effort == RV_ADAPT_FRONTIER)
	{
		plan->mode = RV_ADAPT_FRONTIER;
		return;
	}
	c = LearnLookup(index, (float4) rv_target_recall);
	if (c == NULL || c->model == NULL)
		return;
	if (VARSIZE_ANY(v) != offsetof(Vector, x) + sizeof(float) * c->model->dim ||
		v->dim != (int) c->model->dim)
		return;
	if (c->model->stopRule == RV_GNN_RULE_BOUND)
	{
		/* no features: the bound is the whole rule (trained for HNSW only) */
		if (RvLearningIsIvf(index))
			return;
		plan->mode = RV_ADAPT_BOUND;
		plan->bound = c->model->offset;
		plan->version = c->version;
		plan->efCap = Min((int) c->model->effortMax, HNSW_MAX_EF_SEARCH);
		return;
	}
	LearnFeatures(c->model, v->x, plan->q, &plan->entry);
	plan->mode = RV_ADAPT_MODEL;
	plan->patienceAfter = rv_adaptive_effort == RV_ADAPT_BOTH;
	plan->model = c->model;
	plan->version = c->version;
	if (!RvLearningIsIvf(index))
		plan->nck = Min((int) c->model->checkpoints, RV_GNN_MAX_CHECKPOINTS);
	plan->efCap = Max(plan->checkpoint, Min((int) c->model->effortMax,
											RvLearningIsIvf(index) ? IVF_MAX_LISTS : HNSW_MAX_EF_SEARCH));
	plan->efTypical = c->model->stopRule == RV_GNN_RULE_STOP ? Min(4 * plan->checkpoint, plan->efCap) :
		Max(plan->checkpoint, Min((int) exp(c->model->ymean + c->model->offset), plan->efCap));
}

/*
 * A checkpoint of a scan's search (plan->stage): the ef it goes on with,
 * from the model with the region features of the scan start and the
 * search's progress now.  plan->more is set when the search is to ask
 * again at the next checkpoint (the model says more than that); else the
 * effort is final.  A probe records the features and goes on to its last
 * checkpoint, then stops.
 */
int
RvLearningSearchEffort(Relation index, RvLearnPlan *plan, const RvGnnProgress *p)
{
	const RvGnnModel *m = (const RvGnnModel *) plan->model;
	int			here = RV_LEARN_STAGE_EF(plan, plan->stage);
	int			effort = here;
	RvGnnProgress at = *p;

	at.stage = plan->stage;
	rv_gnn_search_features(&at, plan->q + RV_GNN_QF_REGION);
	plan->more = plan->stage + 1 < plan->nck;
	if (plan->mode == RV_ADAPT_PROBE)
	{
		if (plan->stage < RV_GNN_MAX_CHECKPOINTS)
		{
			memcpy(learnProbeFeat[plan->stage], plan->q + RV_GNN_QF_REGION,
				   sizeof(learnProbeFeat[0]));
			learnProbeN = plan->stage + 1;
		}
		learnProbeHave = true;
		return plan->more ? RV_LEARN_STAGE_EF(plan, plan->nck - 1) : here;
	}
	if (m != NULL && m->stopRule == RV_GNN_RULE_STOP)
	{
		/* a stop rule: here if it predicts the recall reached, else the next checkpoint */
		if (rv_gnn_predict(m, plan->entry, plan->q) - m->offset >= 1)
			plan->more = false;
		else if (plan->more)
			effort = RV_LEARN_STAGE_EF(plan, plan->stage + 1);
		else
			effort = Min(2 * here, plan->efCap);
	}
	else
	{
		if (m != NULL)
			effort = Max(here, Min((int) ceil(rv_gnn_effort(m, plan->entry, plan->q)), plan->efCap));
		if (plan->more && effort < RV_LEARN_STAGE_EF(plan, plan->stage + 1))
			plan->more = false;
	}
	if (plan->more)
		return effort;
	learnLastIndex = RelationGetRelid(index);
	for (int i = 0; i < RV_GNN_QF; i++)
		learnLastProfile[i] = (float) plan->q[i];
	learnLastHasProfile = true;
	elog(DEBUG1, "ruvector learning: effort %d for index \"%s\" (model version %d, checkpoint %d after %.0f elements)",
		 effort, RelationGetRelationName(index), plan->version, plan->stage, p->visited);
	return effort;
}

/*
 * Run a probe scan of the index for the query x: the search records its
 * features at each of its checkpoints (sf[j], *nsf of them) and stops
 * after the last.  With a model, also the effort it would choose
 * (rv_gnn_query_effort over them, as a scan follows them; else -1).
 * False if the scan never reached a checkpoint (fewer than 2k elements,
 * or a graph it exhausted first).
 */
static bool
LearnProbe(Relation index, const float *x, int dim, const RvGnnModel *model,
		   double (*sf)[RV_GNN_QF_SEARCH], int *nsf, int *effort)
{
	Relation	heap = table_open(index->rd_index->indrelid, AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	Datum		vec = LearnVectorDatum(x, dim);
	IndexScanDesc scan;
	ScanKeyData key;
	bool		wasBusy = learnBusy;
	bool		have;
	int			first = RvLearningIsIvf(index) ? RV_LEARN_IVF_CHECKPOINT :
		RV_LEARN_CHECKPOINT_EF(rv_learning_k);

	ScanKeyEntryInitialize(&key, SK_ORDER_BY, 1, 1, InvalidOid, InvalidOid, InvalidOid, vec);
	learnProbe = true;
	learnBusy = true;			/* no capture, no model lookups */
	learnProbeModel = model;
	learnProbeHave = false;
	learnProbeN = 0;
	PG_TRY();
	{
		scan = index_beginscan(heap, index, snap, 0, 1);
		index_rescan(scan, NULL, 0, &key, 1);
		(void) index_getnext_tid(scan, ForwardScanDirection);
		index_endscan(scan);
	}
	PG_FINALLY();
	{
		learnProbe = false;
		learnBusy = wasBusy;
		learnProbeModel = NULL;
	}
	PG_END_TRY();
	UnregisterSnapshot(snap);
	table_close(heap, AccessShareLock);
	pfree(DatumGetPointer(vec));
	have = learnProbeHave && learnProbeN > 0;
	*nsf = have ? learnProbeN : 0;
	if (have)
		memcpy(sf, learnProbeFeat, sizeof(learnProbeFeat[0]) * learnProbeN);
	else
		memset(sf, 0, sizeof(learnProbeFeat[0]));
	if (effort)
	{
		*effort = -1;
		if (model != NULL)
		{
			RvGnnSample smp[RV_GNN_MAX_CHECKPOINTS];
			int			n = Max(*nsf, 1);
			int			nck = RvLearningIsIvf(index) ? 1 :
				Min((int) model->checkpoints, RV_GNN_MAX_CHECKPOINTS);
			double		e;

			n = Min(n, nck);
			for (int j = 0; j < n; j++)
			{
				LearnFeatures(model, x, smp[j].q, &smp[j].region);
				memcpy(smp[j].q + RV_GNN_QF_REGION, sf[j], sizeof(sf[j]));
				smp[j].query = 0;
				smp[j].ck = first << j;
			}
			e = rv_gnn_query_effort(model, smp, n, model->offset);
			*effort = Max(first, Min((int) ceil(e), (int) model->effortMax));
		}
	}
	return have;
}

/* After the first batch: keep a sample of queries for labelling */
void
RvLearningCapture(Relation index, const char *query, int effort, int visited)
{
	const Vector *v = (const Vector *) query;
	LearnSlot  *s;

	learnLastVisited = visited;
	if (learnShared == NULL || rv_learning_sample_rate <= 0 || query == NULL || learnBusy)
		return;
	if (pg_prng_double(&pg_global_prng_state) >= rv_learning_sample_rate)
		return;
	if (v->dim <= 0 || v->dim > LEARN_MAX_DIM || v->unused != 0 ||
		VARSIZE_ANY(v) != offsetof(Vector, x) + sizeof(float) * v->dim ||
		!LearnIsVectorIndex(index))
		return;
	if (!LWLockConditionalAcquire(learnShared->lock, LW_EXCLUSIVE))
		return;
	s = &learnShared->slots[learnShared->next];
	learnShared->next = (learnShared->next + 1) % LEARN_RING_SLOTS;
	s->used = true;
	s->dbid = MyDatabaseId;
	s->indexid = RelationGetRelid(index);
	s->effort = effort;
	s->visited = visited;
	s->k = rv_learning_k;
	s->dim = v->dim;
	s->hasProfile = learnLastHasProfile && learnLastIndex == s->indexid;
	memcpy(s->profile, learnLastProfile, sizeof(s->profile));
	memcpy(s->x, v->x, sizeof(float) * v->dim);
	LWLockRelease(learnShared->lock);
}

/* ----------------------------------------------------------------
 *		Labels
 * ----------------------------------------------------------------
 */

/* What the SQL of an index's labels needs */
typedef struct LearnTarget
{
	Oid			indexid;
	Oid			heapid;
	char	   *heapName;		/* qualified, quoted */
	char	   *column;			/* quoted */
	char	   *op;				/* OPERATOR(schema.op) */
	Oid			typid;
	bool		ivf;			/* effort: ivfflat.probes, else hnsw.ef_search */
	int			dim;			/* 0 until a vector is seen */
	int			k;
	int			ngrid;
	double		grid[LEARN_MAX_GRID];
	int			nbound;			/* bound rule: its epsilons, after the grid in a curve */
	double		bound[LEARN_NBOUND];
} LearnTarget;

static void
LearnDescribe(Relation index, LearnTarget *t)
{
	Relation	heap;
	AttrNumber	att = index->rd_index->indkey.values[0];
	Oid			opno;
	HeapTuple	tup;
	Form_pg_operator op;
	static const int grid[] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1000};
	static const int ivfGrid[] = {4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
	static const double boundGrid[LEARN_NBOUND] = {0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16,
	0.19, 0.22, 0.26, 0.3, 0.35, 0.4, 0.5, 0.6};

	memset(t, 0, sizeof(*t));
	t->indexid = RelationGetRelid(index);
	t->heapid = index->rd_index->indrelid;
	if (att == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index \"%s\" is an expression index, which the learning loop does not support",
						RelationGetRelationName(index))));
	if (!LearnIsVectorIndex(index))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index \"%s\" is not on a vector column, which the learning loop needs",
						RelationGetRelationName(index))));
	heap = table_open(t->heapid, AccessShareLock);
	t->heapName = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(heap)),
											 RelationGetRelationName(heap));
	t->column = pstrdup(quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(heap), att - 1)->attname)));
	t->typid = TupleDescAttr(RelationGetDescr(heap), att - 1)->atttypid;
	table_close(heap, AccessShareLock);

	opno = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0],
							   index->rd_opcintype[0], 1);
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "no ordering operator in the operator family of index \"%s\"",
			 RelationGetRelationName(index));
	op = (Form_pg_operator) GETSTRUCT(tup);
	t->op = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
					 NameStr(op->oprname));
	ReleaseSysCache(tup);

	t->k = rv_learning_k;
	t->ivf = RvLearningIsIvf(index);
	if (t->ivf)
	{
		/* probes: from the checkpoint to every list */
		int			lists = IvfGetLists(index);

		t->grid[t->ngrid++] = RV_LEARN_IVF_CHECKPOINT;
		for (int i = 0; i < lengthof(ivfGrid) && t->ngrid < LEARN_MAX_GRID - 1; i++)
			if (ivfGrid[i] > RV_LEARN_IVF_CHECKPOINT && ivfGrid[i] < lists)
				t->grid[t->ngrid++] = ivfGrid[i];
		if (lists > RV_LEARN_IVF_CHECKPOINT)
			t->grid[t->ngrid++] = lists;
		return;
	}
	t->grid[t->ngrid++] = t->k;
	for (int i = 0; i < lengthof(grid) && t->ngrid < LEARN_MAX_GRID; i++)
		if (grid[i] > t->k && grid[i] <= HNSW_MAX_EF_SEARCH)
			t->grid[t->ngrid++] = grid[i];
	if (rv_learning_bound_rule && HnswHasMetric(index))
		for (int i = 0; i < lengthof(boundGrid) && t->nbound < LEARN_NBOUND; i++)
			t->bound[t->nbound++] = boundGrid[i];
}

static Datum
LearnVectorDatum(const float *x, int dim)
{
	Vector	   *v = palloc0(offsetof(Vector, x) + sizeof(float) * dim);

	SET_VARSIZE(v, offsetof(Vector, x) + sizeof(float) * dim);
	v->dim = dim;
	memcpy(v->x, x, sizeof(float) * dim);
	return PointerGetDatum(v);
}

/*
 * The heap TIDs of the query's k nearest rows by the plan the GUCs allow,
 * and of the next ones (up to k more) at the k-th one's distance: a row
 * tied with the k-th is as right an answer as it (the midpoint of two
 * rows, a duplicated vector), and a label that counted it as a miss would
 * teach the model to search longer for nothing.  out has room for 2k.
 */
static int
LearnTopK(LearnTarget *t, const float *x, ItemPointerData *out)
{
	char	   *q = psprintf("SELECT ctid, %s %s $1 FROM %s ORDER BY 2 LIMIT %d",
							 t->column, t->op, t->heapName, 2 * t->k);
	Oid			argtypes[1] = {t->typid};
	Datum		args[1] = {LearnVectorDatum(x, t->dim)};
	bool		distances;
	double		kth = 0;
	int			n;

	if (SPI_execute_with_args(q, 1, argtypes, args, NULL, true, 2 * t->k) != SPI_OK_SELECT)
		elog(ERROR, "nearest rows could not be read");
	distances = SPI_gettypeid(SPI_tuptable->tupdesc, 2) == FLOAT8OID;
	for (n = 0; n < (int) SPI_processed; n++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[n], SPI_tuptable->tupdesc, 2, &isnull);

		if (n >= t->k)
		{
			/* relative: the kernels' float rounding of equal distances */
			if (!distances || isnull ||
				DatumGetFloat8(d) > kth + 1e-5 * fabs(kth) + 1e-12)
				break;
		}
		else if (n == t->k - 1 && distances && !isnull)
			kth = DatumGetFloat8(d);
		out[n] = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[n], SPI_tuptable->tupdesc, 1, &isnull));
	}
	pfree(q);
	pfree(DatumGetPointer(args[0]));
	return n;
}

/*
 * The heap TIDs of the first k rows of a scan of the index itself, with
 * the effort the GUCs say (or the bound rule at learnBound): not
 * whichever index the planner would pick (a column may have an hnsw and
 * an ivfflat index).  Rows are not checked for visibility: a dead one
 * only lowers a label's recall.  *visited: the layer-0 elements (IVFFlat:
 * rows) its first batch read, if not NULL.
 */
static int
LearnIndexTopK(LearnTarget *t, const float *x, ItemPointerData *out, int *visited)
{
	Relation	index = index_open(t->indexid, AccessShareLock);
	Relation	heap = table_open(t->heapid, AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	Datum		vec = LearnVectorDatum(x, t->dim);
	IndexScanDesc scan;
	ScanKeyData key;
	int			n = 0;

	ScanKeyEntryInitialize(&key, SK_ORDER_BY, 1, 1, InvalidOid, InvalidOid, InvalidOid, vec);
	learnLastVisited = 0;		/* a scan that ends before its first batch read none */
	scan = index_beginscan(heap, index, snap, 0, 1);
	index_rescan(scan, NULL, 0, &key, 1);
	while (n < t->k)
	{
		ItemPointer tid = index_getnext_tid(scan, ForwardScanDirection);

		if (tid == NULL)
			break;
		out[n++] = *tid;
	}
	if (visited != NULL)
		*visited = learnLastVisited;
	index_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(heap, AccessShareLock);
	index_close(index, AccessShareLock);
	pfree(DatumGetPointer(vec));
	return n;
}

static void
LearnSetGuc(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* LearnIndexTopK at grid effort g (inside a GUC nesting level) */
static int
LearnIndexTopKAt(LearnTarget *t, int g, const float *x, ItemPointerData *out, int *visited)
{
	char		ef[32];

	snprintf(ef, sizeof(ef), "%d", (int) t->grid[g]);
	LearnSetGuc(t->ivf ? "ivfflat.probes" : "hnsw.ef_search", ef);
	return LearnIndexTopK(t, x, out, visited);
}

/* Recall@k of the rows got: of the k nearest, a tied row standing in for another */
static double
LearnRecallOf(const LearnTarget *t, const ItemPointerData *got, int ngot,
			  const ItemPointerData *exact, int nexact)
{
	int			hit = 0;

	for (int i = 0; i < ngot; i++)
		for (int j = 0; j < nexact; j++)
			if (ItemPointerEquals((ItemPointer) &got[i], (ItemPointer) &exact[j]))
			{
				hit++;
				break;
			}
	return nexact > 0 ? (double) hit / Min(nexact, t->k) : 1.0;
}

/*
 * recall[g] of the query at every grid effort, then recall[ngrid + b] at
 * every bound of the bound rule (SPI connected).  Runs with its own GUC
 * nesting level: exact rows by a sequential scan (with those tied at the
 * k-th distance, LearnTopK), then the index itself at each ef_search or
 * probes, and with the bound rule at each bound; the learning hook is
 * off meanwhile.
 */
static void
LearnLabel(LearnTarget *t, const float *x, double *recall)
{
	ItemPointerData *exact = palloc(sizeof(ItemPointerData) * 2 * t->k);
	ItemPointerData *got = palloc(sizeof(ItemPointerData) * t->k);
	int			nexact;
	int			nest = NewGUCNestLevel();
	bool		wasBusy = learnBusy;

	learnBusy = true;
	PG_TRY();
	{
		LearnSetGuc("enable_indexscan", "off");
		LearnSetGuc("enable_bitmapscan", "off");
		nexact = LearnTopK(t, x, exact);
		if (t->ivf)
			LearnSetGuc("ivfflat.iterative_scan", "off");
		for (int g = 0; g < t->ngrid; g++)
		{
			int			ngot = LearnIndexTopKAt(t, g, x, got, NULL);

			recall[g] = LearnRecallOf(t, got, ngot, exact, nexact);
		}
		for (int b = 0; b < t->nbound; b++)
		{
			int			ngot;

			learnBound = t->bound[b];
			ngot = LearnIndexTopK(t, x, got, NULL);
			recall[t->ngrid + b] = LearnRecallOf(t, got, ngot, exact, nexact);
		}
	}
	PG_FINALLY();
	{
		learnBusy = wasBusy;
		learnBound = 0;
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nest);
	pfree(exact);
	pfree(got);
}

/* Keep a captured query's recall curve (SPI connected) */
static void
LearnStoreRecall(const LearnTarget *t, int64 id, const double *recall)
{
	Datum		rd[LEARN_MAX_CURVE];
	char	   *u = psprintf("UPDATE %s.ruvector_learning_queries SET recall = $2, labelled_at = pg_catalog.now()"
							 " WHERE id = $1",
							 RvExtensionSchemaSql());

	for (int g = 0; g < t->ngrid + t->nbound; g++)
		rd[g] = Float4GetDatum((float4) recall[g]);
	if (SPI_execute_with_args(u, 2, (Oid[]) {INT8OID, FLOAT4ARRAYOID},
							  (Datum[]) {Int64GetDatum(id),
								  PointerGetDatum(construct_array(rd, t->ngrid + t->nbound, FLOAT4OID, 4,
																  true, TYPALIGN_INT))},
							  NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "ruvector_learning_queries could not be updated");
	pfree(u);
}

/* ----------------------------------------------------------------
 *		Training
 * ----------------------------------------------------------------
 */
typedef struct LearnQuery
{
	int64		id;				/* in ruvector_learning_queries, 0: a sampled row */
	float	   *x;
	double	   *recall;			/* ngrid, then nbound (LearnLabel) */
	double		sf[RV_GNN_MAX_CHECKPOINTS][RV_GNN_QF_SEARCH];	/* search features at
																 * each checkpoint
																 * (LearnProbe) */
	int			nsf;
} LearnQuery;

/* Label of a query: log of the least grid effort reaching the target */
static double
LearnLabelOf(const LearnTarget *t, const double *recall, double target)
{
	for (int g = 0; g < t->ngrid; g++)
		if (recall[g] >= target)
			return log(t->grid[g]);
	return log(t->grid[t->ngrid - 1]);
}

/*
 * Budgeted label of a query: the grid effort at which recall less mu *
 * log(effort) is largest (the least of equals).  A mean-recall target is
 * met at less effort by spending it where it buys the most recall than by
 * giving every query the effort that finds all its k (LearnLabelOf): on
 * glove-100's labels, with each query's curve known, 0.99 takes a mean
 * ef of 40 this way against 62 the other (and 192 fixed).  mu = 0 is
 * LearnLabelOf.
 */
static double
LearnLabelMu(const LearnTarget *t, const double *recall, double target, double mu)
{
	int			best = 0;

	if (mu <= 0)
		return LearnLabelOf(t, recall, target);
	for (int g = 1; g < t->ngrid; g++)
		if (recall[g] - mu * log(t->grid[g]) > recall[best] - mu * log(t->grid[best]) + 1e-12)
			best = g;
	return log(t->grid[best]);
}

/*
 * Queries for an index: the captured ones (labelled or labelled now),
 * latest first, topped up to ruvector.learning_min_queries with the
 * midpoints of pairs of rows of the table.
 */
static List *
LearnCollect(LearnTarget *t, int *ncaptured)
{
	StringInfoData q;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(t->indexid)};
	List	   *out = NIL;
	uint64		n;
	MemoryContext ctx = CurrentMemoryContext;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT id, query, recall FROM %s.ruvector_learning_queries"
					 " WHERE index::pg_catalog.oid = $1 AND k = %d"
					 " ORDER BY id DESC LIMIT %d",
					 RvExtensionSchemaSql(), t->k, rv_learning_max_queries);
	if (SPI_execute_with_args(q.data, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "ruvector_learning_queries could not be read");
	n = SPI_processed;
	{
		SPITupleTable *tt = SPI_tuptable;

		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;
			bool		idnull;
			ArrayType  *a = DatumGetArrayTypeP(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
			Datum		rd = SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull);
			int			dim = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
			MemoryContext old = MemoryContextSwitchTo(ctx);
			LearnQuery *lq = palloc0(sizeof(LearnQuery));

			if (ARR_HASNULL(a) || dim <= 0 || (t->dim != 0 && dim != t->dim))
			{
				MemoryContextSwitchTo(old);
				continue;
			}
			t->dim = dim;
			lq->id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &idnull));
			lq->x = palloc(sizeof(float) * dim);
			memcpy(lq->x, ARR_DATA_PTR(a), sizeof(float) * dim);
			lq->recall = palloc(sizeof(double) * (t->ngrid + t->nbound));
			if (!isnull)
			{
				ArrayType  *r = DatumGetArrayTypeP(rd);

				int			nr = ArrayGetNItems(ARR_NDIM(r), ARR_DIMS(r));

				/*
				 * A label without the curve of the bounds is measured
				 * again; one with it serves an HNSW training with the
				 * bound rule off as well (its efforts come first).
				 */
				if ((nr == t->ngrid + t->nbound ||
					 (t->nbound == 0 && !t->ivf && nr == t->ngrid + LEARN_NBOUND)) && !ARR_HASNULL(r))
					for (int g = 0; g < t->ngrid + t->nbound; g++)
						lq->recall[g] = ((float *) ARR_DATA_PTR(r))[g];
				else
					isnull = true;
			}
			if (isnull)
				lq->recall[0] = -1;		/* label below */
			out = lappend(out, lq);
			MemoryContextSwitchTo(old);
		}
	}
	*ncaptured = list_length(out);

	if (list_length(out) < rv_learning_min_queries)
	{
		int			want = rv_learning_min_queries - list_length(out);
		char	   *sq = psprintf("SELECT %s FROM %s WHERE %s IS NOT NULL"
								  " ORDER BY pg_catalog.hashtext(ctid::pg_catalog.text) LIMIT %d",
								  t->column, t->heapName, t->column, 2 * want);
		SPITupleTable *tt;

		if (SPI_execute(sq, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "rows of the table could not be read");
		tt = SPI_tuptable;
		for (uint64 i = 0; i + 1 < SPI_processed; i += 2)
		{
			bool		isnull;
			Vector	   *a = DatumGetVector(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
			Vector	   *b = DatumGetVector(SPI_getbinval(tt->vals[i + 1], tt->tupdesc, 1, &isnull));
			MemoryContext old;
			LearnQuery *lq;

			if (a->dim != b->dim || (t->dim != 0 && a->dim != t->dim))
				continue;
			t->dim = a->dim;
			old = MemoryContextSwitchTo(ctx);
			lq = palloc0(sizeof(LearnQuery));
			lq->x = palloc(sizeof(float) * a->dim);
			for (int d = 0; d < a->dim; d++)
				lq->x[d] = 0.5f * (a->x[d] + b->x[d]);
			lq->recall = palloc(sizeof(double) * (t->ngrid + t->nbound));
			lq->recall[0] = -1;
			out = lappend(out, lq);
			MemoryContextSwitchTo(old);
		}
	}
	{
		ListCell   *lc;

		foreach(lc, out)
		{
			LearnQuery *lq = lfirst(lc);

			CHECK_FOR_INTERRUPTS();
			if (lq->recall[0] >= 0)
				continue;
			LearnLabel(t, lq->x, lq->recall);
			/* a captured query keeps its label for the next training */
			if (lq->id != 0)
				LearnStoreRecall(t, lq->id, lq->recall);
		}
	}
	return out;
}

/* The region graph, representatives and features of a new model */
static RvGnnModel *
LearnBuildGraph(Relation index, LearnTarget *t)
{
	RvIgSample	s;
	RvIgRegions rg;
	int			saveCap = rv_integrity_max_nodes;
	uint32		R;
	double	   *rf;
	float	   *reps;
	double	   *radius;
	int		   *nrep;
	RvGnnEdge  *edges;
	RvGnnModel *m;
	StringInfoData q;

	memset(&s, 0, sizeof(s));
	memset(&rg, 0, sizeof(rg));
	rg.nsample = LEARN_REP_SAMPLE;
	s.regions = &rg;
	rv_integrity_max_nodes = rv_learning_regions;
	PG_TRY();
	{
		RvIgSampleHnsw(index, &s);
	}
	PG_FINALLY();
	{
		rv_integrity_max_nodes = saveCap;
	}
	PG_END_TRY();
	R = rg.nregions;
	if (R == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" has no elements to learn from",
						RelationGetRelationName(index))));

	/* representatives: mean of the sampled rows of each region */
	reps = palloc0(sizeof(float) * R * t->dim);
	radius = palloc0(sizeof(double) * R);
	nrep = palloc0(sizeof(int) * R);
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT ctid, %s FROM %s WHERE ctid = ANY ($1)", t->column, t->heapName);
	for (uint32 r = 0; r < R; r++)
	{
		Datum	   *tids = palloc(sizeof(Datum) * LEARN_REP_SAMPLE);
		int			nt = 0;
		ArrayType  *arr;
		Oid			argtypes[1] = {TIDARRAYOID};
		Datum		args[1];
		float	   *rows;
		int			nrows = 0;

		for (int i = 0; i < LEARN_REP_SAMPLE; i++)
			if (ItemPointerIsValid(&rg.sample[(Size) r * LEARN_REP_SAMPLE + i]))
				tids[nt++] = PointerGetDatum(&rg.sample[(Size) r * LEARN_REP_SAMPLE + i]);
		if (nt == 0)
			continue;
		arr = construct_array(tids, nt, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT);
		args[0] = PointerGetDatum(arr);
		if (SPI_execute_with_args(q.data, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "rows of the table could not be read");
		rows = palloc(sizeof(float) * Max(SPI_processed, 1) * t->dim);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
			Vector	   *v;

			if (isnull)
				continue;
			v = DatumGetVector(d);
			if (v->dim != t->dim)
				continue;
			rv_gnn_unit(v->x, t->dim, rows + (Size) nrows * t->dim);
			nrows++;
		}
		for (int i = 0; i < nrows; i++)
			for (int d = 0; d < t->dim; d++)
				reps[(Size) r * t->dim + d] += rows[(Size) i * t->dim + d] / nrows;
		if (nrows > 0)
			rv_gnn_unit(reps + (Size) r * t->dim, t->dim, reps + (Size) r * t->dim);
		for (int i = 0; i < nrows; i++)
			radius[r] += LearnL2(rows + (Size) i * t->dim, reps + (Size) r * t->dim, t->dim) / nrows;
		nrep[r] = nrows;
		pfree(rows);
		pfree(tids);
	}

	rf = palloc0(sizeof(double) * R * RV_GNN_RF);
	edges = palloc(sizeof(RvGnnEdge) * Max(rg.npairs, 1));
	for (uint32 k = 0; k < rg.npairs; k++)
	{
		edges[k].u = rg.pairs[k].u;
		edges[k].v = rg.pairs[k].v;
		edges[k].w = rg.pairs[k].w;
	}
	for (uint32 r = 0; r < R; r++)
	{
		rf[r * RV_GNN_RF + RV_GNN_RF_LOG_SIZE] = rg.size[r];
		rf[r * RV_GNN_RF + RV_GNN_RF_RADIUS] = radius[r];
		/* a region none of whose rows could be read: far from everything */
		if (nrep[r] == 0)
			for (int d = 0; d < t->dim; d++)
				reps[(Size) r * t->dim + d] = 1e15f;
	}
	rv_gnn_region_features(R, edges, rg.npairs, rf);
	m = rv_gnn_create(R, rf, rg.npairs, edges, t->dim, reps, 42);
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory creating a model of %u regions", R)));
	return m;
}

/*
 * The region graph of an ivfflat index: its lists (IvfLearnLists), each
 * linked to the LEARN_IVF_LINKS lists with the nearest centers (weight 1,
 * 2 when both ways), as the layer-0 links between hnsw regions are.
 */
static RvGnnModel *
LearnBuildGraphIvf(Relation index, LearnTarget *t)
{
	int			dim;
	float	   *reps;
	int64	   *size;
	double	   *radius;
	int			R = IvfLearnLists(index, LEARN_REP_SAMPLE, &dim, &reps, &size, &radius);
	int			nlink = Min(LEARN_IVF_LINKS, R - 1);
	RvGnnEdge  *edges;
	uint32		nedges = 0;
	double	   *rf;
	RvGnnModel *m;

	if (R == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" has no lists to learn from",
						RelationGetRelationName(index))));
	if (R > RV_GNN_MAX_REGIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("index \"%s\" has %d lists, more than the %d regions a model can have",
						RelationGetRelationName(index), R, RV_GNN_MAX_REGIONS)));
	if (t->dim != 0 && dim != t->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("index \"%s\" has %d dimensions, its queries %d",
						RelationGetRelationName(index), dim, t->dim)));

	/* each list's nearest centers, as pairs u < v; a pair found twice weighs 2 */
	edges = palloc(sizeof(RvGnnEdge) * Max(R * nlink, 1));
	nedges = rv_gnn_knn_edges(reps, (uint32) R, (uint32) dim, (uint32) nlink, edges);
	if (nedges == 0 && R > 1)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory linking the %d lists of index \"%s\"",
						R, RelationGetRelationName(index))));

	rf = palloc0(sizeof(double) * R * RV_GNN_RF);
	for (int r = 0; r < R; r++)
	{
		rf[r * RV_GNN_RF + RV_GNN_RF_LOG_SIZE] = (double) size[r];
		rf[r * RV_GNN_RF + RV_GNN_RF_RADIUS] = radius[r];
	}
	rv_gnn_region_features((uint32) R, edges, nedges, rf);
	t->dim = dim;
	m = rv_gnn_create((uint32) R, rf, nedges, edges, (uint32) dim, reps, 42);
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory creating a model of %d regions", R)));
	return m;
}

/*
 * Samples of queries under a model (features from its representatives):
 * one per checkpoint each query's probe reached, up to the model's
 * checkpoints (at least one: a probe that reached none gives zero search
 * features, as a scan that never reaches its checkpoint asks nothing).
 * Sample labels: the least grid effort reaching the target, but not below
 * the sample's checkpoint (there, stopping is all a model can say).
 * *recall: each query's curve; *ns the number of samples.
 */
static RvGnnSample *
LearnSamples(const RvGnnModel *m, const LearnTarget *t, LearnQuery **qs, int n,
			 double target, double **recall, int *ns)
{
	int			nck = Max(1, Min((int) m->checkpoints, RV_GNN_MAX_CHECKPOINTS));
	int			first = t->ivf ? RV_LEARN_IVF_CHECKPOINT : RV_LEARN_CHECKPOINT_EF(t->k);
	RvGnnSample *s = palloc(sizeof(RvGnnSample) * Max(n, 1) * nck);
	int			k = 0;

	*recall = palloc(sizeof(double) * Max(n, 1) * t->ngrid);
	for (int i = 0; i < n; i++)
	{
		int			reached = Max(1, Min(qs[i]->nsf, nck));
		double		label = LearnLabelOf(t, qs[i]->recall, target);

		for (int j = 0; j < reached; j++, k++)
		{
			LearnFeatures(m, qs[i]->x, s[k].q, &s[k].region);
			memcpy(s[k].q + RV_GNN_QF_REGION, qs[i]->sf[j], sizeof(qs[i]->sf[j]));
			s[k].query = i;
			s[k].ck = first << j;
			s[k].y = m->stopRule == RV_GNN_RULE_STOP ?
				rv_gnn_recall_at(t->grid, t->ngrid, qs[i]->recall, s[k].ck) :
				Max(label, log(s[k].ck));
		}
		memcpy(*recall + (Size) i * t->ngrid, qs[i]->recall, sizeof(double) * t->ngrid);
	}
	*ns = k;
	return s;
}

/*
 * Train the untrained model m once per kind of label (learnLabelMus:
 * LearnLabelMu of the training queries), each from the same initial
 * weights, calibrate each to calTarget on the calibration queries, and
 * keep the one of least mean effort there (the first if none calibrates).
 * Returns it; the others are freed.  Its training curve goes to curve.
 */
static const double learnLabelMus[] = {0, 0.02, 0.04, 0.08, 0.16};

static RvGnnModel *
LearnTrainLabels(Relation index, const LearnTarget *t, RvGnnModel *m, LearnQuery ***part,
				 const int *np, const RvGnnTrainOpts *opts, double target,
				 double calTarget, int checkpoints,
				 double *curve, bool *calibrated, double *labelMu)
{
	Size		len = rv_gnn_serialized_size(m);
	unsigned char *init = palloc(len);
	double	   *c = palloc0(sizeof(double) * opts->epochs);
	RvGnnModel *best = NULL;
	double		bestCost = INFINITY;
	int			nv = lengthof(learnLabelMus) + (checkpoints > 1 ? 1 : 0);

	m->checkpoints = checkpoints;
	m->stopRule = RV_GNN_RULE_EFFORT;
	rv_gnn_serialize(m, init);
	*calibrated = false;
	*labelMu = 0;
	for (int v = 0; v < nv; v++)
	{
		const char *err = NULL;
		RvGnnModel *cand = v == 0 ? m : rv_gnn_deserialize(init, len, &err);
		bool		stop = v == lengthof(learnLabelMus);
		RvGnnTrainOpts o = *opts;
		RvGnnSample *s[2];
		double	   *rc[2];
		int			ns[2];
		bool		ok;
		double		cr,
					cc,
					cb;

		CHECK_FOR_INTERRUPTS();
		if (cand == NULL)
			continue;
		if (stop)
		{
			/* the stop rule: recall reached at each checkpoint, symmetric loss */
			cand->stopRule = RV_GNN_RULE_STOP;
			o.tau = 0.5;
		}
		for (int k = 0; k < 2; k++)
			s[k] = LearnSamples(cand, t, part[k], np[k], target, &rc[k], &ns[k]);
		if (!stop)
			for (int i = 0; i < ns[0]; i++)
				s[0][i].y = Max(LearnLabelMu(t, rc[0] + (Size) s[0][i].query * t->ngrid, target,
											 learnLabelMus[v]), log(s[0][i].ck));
		o.batch = Max(32, ns[0] / 64);
		if (!rv_gnn_train(cand, s[0], ns[0], &o, c))
		{
			rv_gnn_free(cand);
			rv_gnn_free(best);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory training a model of index \"%s\"",
							RelationGetRelationName(index))));
		}
		ok = rv_gnn_calibrate(cand, s[1], ns[1], t->grid, t->ngrid, rc[1], calTarget);
		rv_gnn_evaluate(cand, s[1], ns[1], t->grid, t->ngrid, rc[1], calTarget, cand->offset,
						&cr, &cc, &cb);
		elog(DEBUG1, "ruvector learning: candidate %s%g: calibration recall %.4f effort %.2f%s",
			 stop ? "stop rule, checkpoints " : "effort model, label mu ",
			 stop ? (double) checkpoints : learnLabelMus[v], cr, cc, ok ? "" : " (not calibrated)");
		if (best == NULL || (ok && (!*calibrated || cc < bestCost)))
		{
			rv_gnn_free(best);
			best = cand;
			bestCost = ok ? cc : INFINITY;
			*calibrated = ok;
			*labelMu = stop ? -1 : learnLabelMus[v];
			memcpy(curve, c, sizeof(double) * opts->epochs);
		}
		else
			rv_gnn_free(cand);
		for (int k = 0; k < 2; k++)
		{
			pfree(s[k]);
			pfree(rc[k]);
		}
	}
	pfree(init);
	pfree(c);
	return best;
}

/* A model's kind as ruvector_learning_models.rule and the summary say it */
static const char *
LearnRuleName(const RvGnnModel *m)
{
	return m->stopRule == RV_GNN_RULE_STOP ? "stop" :
		m->stopRule == RV_GNN_RULE_BOUND ? "bound" : "effort";
}

/*
 * The bound rule: the least bound at which the mean recall of queries
 * qs[0..n) reaches target, interpolated in log bound between the grid's
 * as rv_gnn_fixed_effort_at does for efforts (INFINITY if none does).
 */
static double
LearnBoundPick(const LearnTarget *t, LearnQuery **qs, int n, double target)
{
	double	   *rc = palloc(sizeof(double) * Max(n, 1) * t->nbound);
	double		bound;

	for (int i = 0; i < n; i++)
		memcpy(rc + (Size) i * t->nbound, qs[i]->recall + t->ngrid, sizeof(double) * t->nbound);
	bound = rv_gnn_fixed_effort_at(n, t->bound, t->nbound, rc, target);
	pfree(rc);
	return bound;
}

/*
 * The bound rule at bound on queries qs[0..n): mean recall and share
 * below the target (each query's recall interpolated in log bound between
 * its labels', as a model's effort is evaluated), and its cost as the
 * fixed ef_search that reads as many layer-0 elements on them
 * (rv_gnn_effort_at_cost): the rule has no effort of its own, and its
 * cost must be comparable with a model's, the fixed efforts' and the live
 * version's.  The elements are counted by scanning at most
 * LEARN_COST_QUERIES of the queries with the rule and at every grid
 * ef_search; the grid's counts (fixed[], *haveFixed) are the same for
 * every bound on the same queries, so one training scans them once for
 * its candidate and the live version (SPI connected).
 */
static void
LearnBoundEvaluate(LearnTarget *t, LearnQuery **qs, int n, double bound, double target,
				   double *fixed, bool *haveFixed, double *recall, double *cost, double *below)
{
	int			nq = Min(n, LEARN_COST_QUERIES);
	volatile double rule = 0;	/* set in PG_TRY */
	ItemPointerData *got = palloc(sizeof(ItemPointerData) * t->k);
	int			nest = NewGUCNestLevel();
	bool		wasBusy = learnBusy;

	*recall = 0;
	*below = 0;
	for (int i = 0; i < n; i++)
	{
		double		r = rv_gnn_recall_at(t->bound, t->nbound, qs[i]->recall + t->ngrid, bound);

		*recall += r / n;
		*below += (r < target) / (double) n;
	}
	learnBusy = true;
	PG_TRY();
	{
		for (int i = 0; i < nq; i++)
		{
			int			visited;

			CHECK_FOR_INTERRUPTS();
			learnBound = bound;
			(void) LearnIndexTopK(t, qs[i]->x, got, &visited);
			learnBound = 0;
			rule += visited;
			for (int g = 0; g < t->ngrid && !*haveFixed; g++)
			{
				(void) LearnIndexTopKAt(t, g, qs[i]->x, got, &visited);
				fixed[g] += visited;
			}
		}
		*haveFixed = true;
	}
	PG_FINALLY();
	{
		learnBusy = wasBusy;
		learnBound = 0;
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nest);
	pfree(got);
	*cost = rv_gnn_effort_at_cost(t->grid, fixed, t->ngrid, rule);
}

static void
LearnAppendArray(StringInfo buf, const double *x, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, "%s%.6g", i ? ", " : "", x[i]);
	appendStringInfoChar(buf, ']');
}

/*
 * Train a model of one index for one target, compare it with the live
 * one, store it as the next version.  SPI connected, as the owner.
 * Returns the JSON summary.
 */
static char *
LearnTrainIndex(Relation index, double target)
{
	LearnTarget t;
	List	   *queries;
	int			ncaptured;
	int			n;
	LearnQuery **qs;
	LearnQuery **part[3];
	int			np[3] = {0, 0, 0};	/* queries */
	int			ns[3] = {0, 0, 0};	/* samples: a query at a checkpoint */
	RvGnnModel *m;
	RvGnnModel *live = NULL;
	int32		liveVersion = 0;
	bool		same;
	double		gridVisited[LEARN_MAX_GRID] = {0};	/* LearnBoundEvaluate */
	bool		haveGridVisited = false;
	RvGnnSample *s[3];
	double	   *rc[3];
	double	   *curve;
	RvGnnTrainOpts opts;
	instr_time	start,
				elapsed;
	double		trainMs;
	double		vr,
				vc,
				vb;
	double		lr = NAN,
				lc = NAN,
				lb = NAN;
	int			fixed;
	double		fixedAt;
	double		fixedAtTarget;
	bool		calibrated;
	double		margin;
	double		labelMu;
	bool		goLive;
	int32		version;
	StringInfoData json;
	StringInfoData q;

	LearnDescribe(index, &t);
	queries = LearnCollect(&t, &ncaptured);
	n = list_length(queries);
	if (n < 10 || t.dim == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" has %d queries to learn from, fewer than 10",
						RelationGetRelationName(index), n),
				 errhint("Its table needs rows, or queries captured with ruvector.learning_sample_rate.")));
	qs = palloc(sizeof(LearnQuery *) * n);
	for (int k = 0; k < 3; k++)
		part[k] = palloc(sizeof(LearnQuery *) * n);
	for (int i = 0; i < n; i++)
	{
		int			k = (i % 10) < 6 ? 0 : ((i % 10) < 8 ? 1 : 2);

		qs[i] = list_nth(queries, i);
		part[k][np[k]++] = qs[i];
	}

	/* the search features: each query's search up to its checkpoint */
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		(void) LearnProbe(index, qs[i]->x, t.dim, NULL, qs[i]->sf, &qs[i]->nsf, NULL);
	}

	m = t.ivf ? LearnBuildGraphIvf(index, &t) : LearnBuildGraph(index, &t);
	m->effortMax = t.grid[t.ngrid - 1];
	/*
	 * The least effort a scan with the model runs is its checkpoint (the
	 * fixed grid starts lower, at k): validation must charge it that, or a
	 * model looks cheaper than the fixed effort it is compared with.
	 */
	m->effortMin = Min(Max(t.grid[0], t.ivf ? RV_LEARN_IVF_CHECKPOINT :
						   RV_LEARN_CHECKPOINT_EF(t.k)), m->effortMax);

	opts.epochs = rv_learning_epochs;
	/* 64 batches an epoch at most: the graph pass per batch costs the most */
	opts.batch = 32;			/* per candidate: Max(32, samples / 64) */
	opts.lr = 0.005;
	opts.tau = 0.8;
	opts.seed = 42;
	curve = palloc0(sizeof(double) * opts.epochs);
	/*
	 * Calibrate two standard errors above the target (recall@k of one
	 * query as a binomial of k draws), so that the validation queries, a
	 * different sample, meet the target too (about 98 times in 100).
	 */
	margin = Min(2 * sqrt(target * (1 - target) / t.k) / sqrt(Max(np[1], 1)), (1 - target) / 2);
	INSTR_TIME_SET_CURRENT(start);
	m = LearnTrainLabels(index, &t, m, part, np, &opts, target, target + margin,
						 t.ivf ? 1 : rv_learning_checkpoints, curve, &calibrated, &labelMu);
	s[2] = LearnSamples(m, &t, part[2], np[2], target, &rc[2], &ns[2]);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	trainMs = INSTR_TIME_GET_MILLISEC(elapsed);
	rv_gnn_evaluate(m, s[2], ns[2], t.grid, t.ngrid, rc[2], target, m->offset, &vr, &vc, &vb);
	fixed = rv_gnn_fixed_effort(np[2], t.grid, t.ngrid, rc[2], target);

	/*
	 * The bound rule: the least bound that meets the target with the
	 * margin on the calibration queries.  It replaces the network
	 * if it meets the target on the validation queries at less cost (the
	 * network's cost is its mean effort there, which counts each query's
	 * ef as a fixed search's: the bound rule has to beat that).
	 */
	if (t.nbound > 0)
	{
		double		bound = LearnBoundPick(&t, part[1], np[1], target + margin);

		if (isfinite(bound))
		{
			double		br,
						bc,
						bb;

			LearnBoundEvaluate(&t, part[2], np[2], bound, target, gridVisited, &haveGridVisited,
							   &br, &bc, &bb);
			elog(DEBUG1, "ruvector learning: candidate bound rule %.4f: validation recall %.4f effort %.2f",
				 bound, br, bc);
			if (br >= target && (!calibrated || !(vr >= target) || bc < vc))
			{
				m->stopRule = RV_GNN_RULE_BOUND;
				m->offset = bound;
				calibrated = true;
				vr = br;
				vc = bc;
				vb = bb;
			}
		}
	}

	/* the live version on the same validation queries */
	live = LearnReadLive(t.indexid, index->rd_rel->relfilenode, (float4) target, -1,
						 &liveVersion, &same);
	if (live && live->stopRule == RV_GNN_RULE_BOUND)
	{
		/* with the bound rule off there are no bound labels: no comparison */
		if (t.nbound > 0)
			LearnBoundEvaluate(&t, part[2], np[2], live->offset, target, gridVisited,
							   &haveGridVisited, &lr, &lc, &lb);
	}
	else if (live && live->dim == m->dim)
	{
		double	   *lrc;
		int			lns;
		RvGnnSample *ls = LearnSamples(live, &t, part[2], np[2], target, &lrc, &lns);

		rv_gnn_evaluate(live, ls, lns, t.grid, t.ngrid, lrc, target, live->offset, &lr, &lc, &lb);
	}
	/* the fixed effort reaching the same mean recall as the model there */
	fixedAt = rv_gnn_fixed_effort_at(np[2], t.grid, t.ngrid, rc[2], Max(target, vr));
	fixedAtTarget = rv_gnn_fixed_effort_at(np[2], t.grid, t.ngrid, rc[2], target);
	goLive = rv_gnn_goes_live(calibrated, target, vr, vc, fixedAt, lr, lc);

	/* store */
	{
		Size		len = rv_gnn_serialized_size(m);
		bytea	   *blob = palloc(VARHDRSZ + len);
		Datum	   *cd = palloc(sizeof(Datum) * opts.epochs);
		Oid			argtypes[16] = {OIDOID, OIDOID, FLOAT4OID, BOOLOID, INT4OID, INT4OID,
		FLOAT8OID, FLOAT8ARRAYOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
		INT4OID, BYTEAOID, TEXTOID, FLOAT8OID};
		Datum		args[16];
		char		nulls[16];

		SET_VARSIZE(blob, VARHDRSZ + len);
		rv_gnn_serialize(m, (unsigned char *) VARDATA(blob));
		for (int e = 0; e < opts.epochs; e++)
			cd[e] = Float8GetDatum(curve[e]);
		memset(nulls, ' ', sizeof(nulls));
		args[0] = ObjectIdGetDatum(t.indexid);
		args[1] = ObjectIdGetDatum(t.heapid);
		args[2] = Float4GetDatum((float4) target);
		args[3] = BoolGetDatum(goLive);
		args[4] = Int32GetDatum(n);
		args[5] = Int32GetDatum(m->nregions);
		args[6] = Float8GetDatum(trainMs);
		args[7] = PointerGetDatum(construct_array(cd, opts.epochs, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[8] = Float8GetDatum(vr);
		args[9] = Float8GetDatum(vc);
		args[10] = Float8GetDatum(vb);
		args[11] = Float8GetDatum(fixed >= 0 ? t.grid[fixed] : 0);
		if (fixed < 0)
			nulls[11] = 'n';
		args[12] = Int32GetDatum(liveVersion);
		if (live == NULL)
			nulls[12] = 'n';
		args[13] = PointerGetDatum(blob);
		args[14] = CStringGetTextDatum(LearnRuleName(m));
		args[15] = Float8GetDatum(m->offset);
		if (m->stopRule != RV_GNN_RULE_BOUND)
			nulls[15] = 'n';

		initStringInfo(&q);
		if (goLive)
		{
			appendStringInfo(&q,
							 "UPDATE %s.ruvector_learning_models SET live = false"
							 " WHERE index::pg_catalog.oid = $1 AND live AND target = $2",
							 RvExtensionSchemaSql());
			if (SPI_execute_with_args(q.data, 2, (Oid[]) {OIDOID, FLOAT4OID}, (Datum[])
									  {args[0], args[2]}, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "ruvector_learning_models could not be updated");
			resetStringInfo(&q);
		}
		appendStringInfo(&q,
						 "INSERT INTO %1$s.ruvector_learning_models (index, heap, version, target,"
						 " live, queries, regions, train_ms, curve, val_recall, val_cost, val_below,"
						 " fixed_effort, replaced, replaced_recall, replaced_cost, model, relfilenode,"
						 " rule, bound)"
						 " SELECT $1::pg_catalog.regclass, $2::pg_catalog.regclass,"
						 "  COALESCE(pg_catalog.max(version), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10,"
						 "  $11, $12, $13, %2$s, %3$s, $14, %4$u, $15, $16"
						 " FROM %1$s.ruvector_learning_models WHERE index::pg_catalog.oid = $1"
						 " RETURNING version",
						 RvExtensionSchemaSql(),
						 isnan(lr) ? "NULL" : psprintf("%.17g", lr),
						 isnan(lc) ? "NULL" : psprintf("%.17g", lc),
						 index->rd_rel->relfilenode);
		if (SPI_execute_with_args(q.data, 16, argtypes, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "ruvector_learning_models could not be written");
		{
			bool		isnull;

			version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
	}
	LearnForgetIndex(t.indexid);

	initStringInfo(&json);
	appendStringInfo(&json,
					 "{\"index\": %u, \"version\": %d, \"target\": %.6g, \"live\": %s,"
					 " \"queries\": %d, \"captured\": %d, \"regions\": %u, \"train_ms\": %.1f,"
					 " \"validation\": {\"queries\": %d, \"mean_recall\": %.4f, \"mean_effort\": %.2f,"
					 " \"share_below_target\": %.4f, \"fixed_effort\": ",
					 t.indexid, version, target, goLive ? "true" : "false",
					 n, ncaptured, m->nregions, trainMs, np[2], vr, vc, vb);
	if (fixed >= 0)
		appendStringInfo(&json, "%g, \"fixed_effort_at_target\": %.2f", t.grid[fixed], fixedAtTarget);
	else
		appendStringInfoString(&json, "null, \"fixed_effort_at_target\": null");
	if (isfinite(fixedAt))
		appendStringInfo(&json, ", \"fixed_effort_at_model_recall\": %.2f}", fixedAt);
	else
		appendStringInfoString(&json, ", \"fixed_effort_at_model_recall\": null}");
	appendStringInfo(&json, ", \"calibrated\": %s, \"calibration_offset\": %.4f, \"shrink\": %.2f,"
					 " \"rule\": \"%s\", \"checkpoints\": %d, \"label_mu\": ",
					 calibrated ? "true" : "false", m->offset, m->shrink,
					 LearnRuleName(m), (int) m->checkpoints);
	if (m->stopRule != RV_GNN_RULE_EFFORT)
		appendStringInfoString(&json, "null, \"replaced\": ");
	else
		appendStringInfo(&json, "%g, \"replaced\": ", labelMu);
	if (live && isnan(lr))		/* not compared (a bound model, the rule off) */
		appendStringInfo(&json, "{\"version\": %d, \"mean_recall\": null, \"mean_effort\": null}",
						 liveVersion);
	else if (live)
		appendStringInfo(&json, "{\"version\": %d, \"mean_recall\": %.4f, \"mean_effort\": %.2f}",
						 liveVersion, lr, lc);
	else
		appendStringInfoString(&json, "null");
	appendStringInfoString(&json, ", \"curve\": ");
	LearnAppendArray(&json, curve, opts.epochs);
	appendStringInfoChar(&json, '}');
	rv_gnn_free(m);
	rv_gnn_free(live);
	return json.data;
}

/* Open an index for training: ruvector's hnsw or ivfflat, SELECT on its table */
static Relation
LearnOpenIndex(Oid indexid)
{
	Relation	index;
	const char *kind = NULL;
	AclResult	acl;

	(void) rv_relation_name_or_error(indexid);
	index = index_open(indexid, AccessShareLock);
	if (!RvIntegrityIsScopedIndex(index, &kind))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is neither an hnsw nor an ivfflat index of ruvector",
						RelationGetRelationName(index)),
				 errhint("The learning loop chooses ef_search of hnsw indexes and probes of ivfflat indexes.")));
	acl = pg_class_aclcheck(index->rd_index->indrelid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(index->rd_index->indrelid));
	return index;
}

static char *
LearnTrainOid(Oid indexid, double target)
{
	Relation	index = LearnOpenIndex(indexid);
	Oid			owner;
	LearnAs		as;
	char	   *volatile json = NULL;

	if (!LearnExtension(&owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"ruvector\" is not installed in this database")));
	LearnBecome(owner, &as);
	PG_TRY();
	{
		MemoryContext caller = CurrentMemoryContext;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* the summary outlives SPI's memory */
		json = MemoryContextStrdup(caller, LearnTrainIndex(index, target));
		SPI_finish();
	}
	PG_FINALLY();
	{
		LearnRestore(&as);
	}
	PG_END_TRY();
	index_close(index, AccessShareLock);
	return json;
}

/* ruvector_learning_train(index regclass): train now for the current target */
Datum
ruvector_learning_train(PG_FUNCTION_ARGS)
{
	double		target = rv_target_recall > 0 ? rv_target_recall : 0.95;
	char	   *json;

	PreventCommandDuringRecovery("ruvector_learning_train()");
	json = LearnTrainOid(PG_GETARG_OID(0), target);
	RvIgAudit(false, "learning.train", PG_GETARG_OID(0), json);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/*
 * ruvector_learning_effort(index regclass, query vector): the effort a
 * scan of the index would choose for the query now (NULL: hnsw.ef_search,
 * no model or target_recall off; or a bound model, which chooses none).
 */
Datum
ruvector_learning_effort(PG_FUNCTION_ARGS)
{
	Relation	index = LearnOpenIndex(PG_GETARG_OID(0));
	Vector	   *v = PG_GETARG_VECTOR_P(1);
	int			effort = -1;
	LearnCached *c = NULL;
	double		sf[RV_GNN_MAX_CHECKPOINTS][RV_GNN_QF_SEARCH];
	int			nsf;

	if (rv_target_recall > 0 &&
		(rv_adaptive_effort == RV_ADAPT_MODEL || rv_adaptive_effort == RV_ADAPT_BOTH))
		c = LearnLookup(index, (float4) rv_target_recall);
	if (c != NULL && c->model != NULL && c->model->stopRule != RV_GNN_RULE_BOUND &&
		v->dim == (int) c->model->dim)
		(void) LearnProbe(index, v->x, v->dim, c->model, sf, &nsf, &effort);
	index_close(index, AccessShareLock);
	if (effort < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(effort);
}

/* ruvector_learning_status(): every version of the indexes the caller may read */
Datum
ruvector_learning_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StringInfoData q;
	MemoryContext old;
	Oid			owner;
	LearnAs		as;

	InitMaterializedSRF(fcinfo, 0);
	if (!LearnExtension(&owner))
		PG_RETURN_VOID();
	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT index, version, target, live, trained_at, queries, regions, train_ms,"
					 " val_recall, val_cost, val_below, fixed_effort, replaced, replaced_cost, curve,"
					 " rule, bound"
					 " FROM %s.ruvector_learning_models"
					 " WHERE pg_catalog.has_table_privilege($1, heap::pg_catalog.oid, 'SELECT')"
					 " ORDER BY index::pg_catalog.oid, target, version",
					 RvExtensionSchemaSql());
	LearnBecome(owner, &as);
	PG_TRY();
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(as.saveUser)};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args(q.data, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "ruvector_learning_models could not be read");
		old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			Datum		values[17];
			bool		nulls[17];

			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
			for (int c = 0; c < 17; c++)
				if (!nulls[c])
				{
					Form_pg_attribute a = TupleDescAttr(SPI_tuptable->tupdesc, c);

					values[c] = datumCopy(values[c], a->attbyval, a->attlen);
				}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextSwitchTo(old);
		SPI_finish();
	}
	PG_FINALLY();
	{
		LearnRestore(&as);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* ----------------------------------------------------------------
 *		The maintenance worker's round
 * ----------------------------------------------------------------
 */

/* Move this database's captured queries into the table */
static int
LearnDrain(void)
{
	LearnSlot  *copy = palloc(sizeof(LearnSlot) * 8);
	int			total = 0;
	StringInfoData q;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "INSERT INTO %s.ruvector_learning_queries (index, query, k, effort, visited, profile)"
					 " VALUES ($1::pg_catalog.regclass, $2, $3, $4, $5, $6)", RvExtensionSchemaSql());
	for (;;)
	{
		int			n = 0;

		LWLockAcquire(learnShared->lock, LW_EXCLUSIVE);
		for (int i = 0; i < LEARN_RING_SLOTS && n < 8; i++)
		{
			LearnSlot  *s = &learnShared->slots[i];

			if (s->used && s->dbid == MyDatabaseId)
			{
				copy[n++] = *s;
				s->used = false;
			}
		}
		LWLockRelease(learnShared->lock);
		if (n == 0)
			break;
		for (int i = 0; i < n; i++)
		{
			Datum	   *xs = palloc(sizeof(Datum) * copy[i].dim);
			Datum		ps[RV_GNN_QF];
			Oid			argtypes[6] = {OIDOID, FLOAT4ARRAYOID, INT4OID, INT4OID, INT4OID, FLOAT4ARRAYOID};
			Datum		args[6];
			char		nulls[6] = "      ";

			for (int d = 0; d < copy[i].dim; d++)
				xs[d] = Float4GetDatum(copy[i].x[d]);
			for (int d = 0; d < RV_GNN_QF; d++)
				ps[d] = Float4GetDatum(copy[i].profile[d]);
			args[0] = ObjectIdGetDatum(copy[i].indexid);
			args[1] = PointerGetDatum(construct_array(xs, copy[i].dim, FLOAT4OID, 4, true, TYPALIGN_INT));
			args[2] = Int32GetDatum(copy[i].k);
			args[3] = Int32GetDatum(copy[i].effort);
			args[4] = Int32GetDatum(copy[i].visited);
			args[5] = PointerGetDatum(construct_array(ps, RV_GNN_QF, FLOAT4OID, 4, true, TYPALIGN_INT));
			if (!copy[i].hasProfile)
				nulls[5] = 'n';
			/* an index dropped since: skip its query */
			if (get_rel_name(copy[i].indexid) == NULL)
				continue;
			if (SPI_execute_with_args(q.data, 6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "ruvector_learning_queries could not be written");
			total++;
		}
	}
	return total;
}

/*
 * Label unlabelled captured queries, latest first, until the round's
 * budget (ruvector.learning_cpu_budget of the maintenance interval) is
 * spent.  Returns the indexes that gained labels.
 */
static List *
LearnLabelBudget(double budgetMs)
{
	StringInfoData q;
	instr_time	start,
				now;
	List	   *touched = NIL;
	uint64		n;
	SPITupleTable *tt;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT id, index::pg_catalog.oid, query FROM %s.ruvector_learning_queries"
					 " WHERE recall IS NULL ORDER BY id DESC LIMIT 1000", RvExtensionSchemaSql());
	if (SPI_execute(q.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "ruvector_learning_queries could not be read");
	n = SPI_processed;
	tt = SPI_tuptable;
	INSTR_TIME_SET_CURRENT(start);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		Oid			indexid = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		ArrayType  *a = DatumGetArrayTypeP(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
		Relation	index;
		const char *kind = NULL;
		LearnTarget t;
		double		recall[LEARN_MAX_CURVE];

		CHECK_FOR_INTERRUPTS();
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		if (INSTR_TIME_GET_MILLISEC(now) > budgetMs)
			break;
		if (get_rel_name(indexid) == NULL || ARR_HASNULL(a))
			continue;
		index = try_index_open(indexid, AccessShareLock);
		if (index == NULL)
			continue;
		if (!RvIntegrityIsScopedIndex(index, &kind) ||
			!LearnIsVectorIndex(index) || index->rd_index->indkey.values[0] == 0)
		{
			index_close(index, AccessShareLock);
			continue;
		}
		LearnDescribe(index, &t);
		index_close(index, AccessShareLock);
		t.dim = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		LearnLabel(&t, (float *) ARR_DATA_PTR(a), recall);
		LearnStoreRecall(&t, id, recall);
		touched = list_append_unique_oid(touched, indexid);
	}
	return touched;
}

/*
 * (index, since) of the ivfflat indexes with a model for the target $1
 * whose lists were refreshed after their latest one: the worker refreshes
 * an index whose drift (tracked in its metapage) crossed
 * ruvector.ivf_refresh_threshold, and the new centers make the model's
 * regions and the labels' recall curves those of other lists.  The
 * indexes are picked before ruvector_ivf_stats is called (OFFSET 0), which
 * refuses other indexes.
 */
static void
LearnAppendRefreshed(StringInfo q)
{
	appendStringInfo(q,
					 "SELECT i.index, f.last_refresh AS since FROM ("
					 "  SELECT m.index, pg_catalog.max(m.trained_at) AS trained"
					 "  FROM %1$s.ruvector_learning_models m"
					 "  JOIN pg_catalog.pg_class r ON r.oid = m.index"
					 "  JOIN pg_catalog.pg_am a ON a.oid = r.relam"
					 "  JOIN pg_catalog.pg_proc p ON p.oid = a.amhandler"
					 "  WHERE m.target = $1 AND p.proname = 'ivfflathandler'"
					 "  GROUP BY m.index OFFSET 0) i,"
					 " LATERAL %1$s.ruvector_ivf_stats(i.index) f"
					 " WHERE f.last_refresh > i.trained",
					 RvExtensionSchemaSql());
}

/*
 * Indexes that went into integrity state stress or critical
 * (ruvector_integrity_state.since) after their latest model for the
 * target: the graph the labels measured is not the graph any more, and
 * efforts learned on the healthy one under-search it.  The same for an
 * ivfflat index refreshed after its model (LearnAppendRefreshed).  Their
 * queries' labels older than the transition (labelled_at) are cleared, so
 * that the labeller measures them again within its budget;
 * LearnDueIndexes retrains once none is older.  (A return to normal is not
 * a reason: the model then searches more than needed, which still meets
 * the target.)
 */
static void
LearnRelabelChanged(double target)
{
	StringInfoData q;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "WITH changed AS (SELECT index, pg_catalog.max(since) AS since,"
					 "  pg_catalog.bool_or(refreshed) AS refreshed FROM ("
					 "  SELECT m.index, s.since, false AS refreshed FROM %1$s.ruvector_learning_models m"
					 "  JOIN %1$s.ruvector_integrity_state s ON s.index = m.index"
					 "  WHERE m.target = $1 AND s.state <> 'normal' GROUP BY m.index, s.since"
					 "  HAVING s.since > pg_catalog.max(m.trained_at)"
					 "  UNION ALL SELECT index, since, true FROM (",
					 RvExtensionSchemaSql());
	LearnAppendRefreshed(&q);
	appendStringInfo(&q,
					 ") f) e GROUP BY index)"
					 " UPDATE %1$s.ruvector_learning_queries c SET recall = NULL FROM changed"
					 " WHERE c.index = changed.index AND c.recall IS NOT NULL"
					 " AND COALESCE(c.labelled_at, '-infinity') < changed.since"
					 " RETURNING c.index::pg_catalog.oid, changed.refreshed",
					 RvExtensionSchemaSql());
	if (SPI_execute_with_args(q.data, 1, (Oid[]) {FLOAT4OID}, (Datum[]) {Float4GetDatum((float4) target)},
							  NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "ruvector_learning_queries could not be updated");
	if (SPI_processed > 0)
	{
		bool		isnull;
		Oid			indexid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		bool		refreshed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		if (refreshed)
			ereport(LOG,
					(errmsg("ruvector learning: ivfflat index %u was refreshed after its model (drift over ruvector.ivf_refresh_threshold), its %llu labelled queries are measured again",
							indexid, (unsigned long long) SPI_processed)));
		else
			ereport(LOG,
					(errmsg("ruvector learning: index %u went into integrity state stress or critical after its model, its %llu labelled queries are measured again",
							indexid, (unsigned long long) SPI_processed)));
	}
}

/*
 * Indexes with enough labelled queries newer than their latest model, or
 * whose integrity state changed after it, or (ivfflat) refreshed after it,
 * once every query is labelled again (LearnRelabelChanged; the state may
 * be back to normal by then)
 */
static List *
LearnDueIndexes(double target)
{
	StringInfoData q;
	List	   *due = NIL;

	LearnRelabelChanged(target);
	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT c.index::pg_catalog.oid FROM %1$s.ruvector_learning_queries c"
					 " WHERE c.recall IS NOT NULL AND c.captured_at > COALESCE(("
					 "  SELECT pg_catalog.max(m.trained_at) FROM %1$s.ruvector_learning_models m"
					 "  WHERE m.index = c.index AND m.target = $1), '-infinity')"
					 " GROUP BY c.index HAVING pg_catalog.count(*) >= %2$d"
					 " UNION"
					 " SELECT m.index::pg_catalog.oid FROM %1$s.ruvector_learning_models m"
					 " JOIN %1$s.ruvector_integrity_state s ON s.index = m.index"
					 " WHERE m.target = $1 GROUP BY m.index, s.since"
					 " HAVING s.since > pg_catalog.max(m.trained_at)"
					 "  AND NOT EXISTS (SELECT 1 FROM %1$s.ruvector_learning_queries u"
					 "   WHERE u.index = m.index AND (u.recall IS NULL"
					 "    OR COALESCE(u.labelled_at, '-infinity') < s.since))"
					 "  AND (SELECT pg_catalog.count(*) FROM %1$s.ruvector_learning_queries u"
					 "   WHERE u.index = m.index) >= %2$d"
					 " UNION"
					 " SELECT r.index::pg_catalog.oid FROM (",
					 RvExtensionSchemaSql(), Max(rv_learning_min_queries / 2, 10));
	LearnAppendRefreshed(&q);
	appendStringInfo(&q,
					 ") r WHERE NOT EXISTS (SELECT 1 FROM %1$s.ruvector_learning_queries u"
					 "   WHERE u.index = r.index AND (u.recall IS NULL"
					 "    OR COALESCE(u.labelled_at, '-infinity') < r.since))"
					 "  AND (SELECT pg_catalog.count(*) FROM %1$s.ruvector_learning_queries u"
					 "   WHERE u.index = r.index) >= %2$d",
					 RvExtensionSchemaSql(), Max(rv_learning_min_queries / 2, 10));
	if (SPI_execute_with_args(q.data, 1, (Oid[]) {FLOAT4OID}, (Datum[]) {Float4GetDatum((float4) target)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ruvector_learning_queries could not be read");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		due = lappend_oid(due, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
	}
	return due;
}

/* One step of the round: which, the index of step 3, the list steps 1-2 return */
typedef struct LearnStepArgs
{
	int			step;
	Oid			indexid;
	List	  **out;
	MemoryContext ctx;			/* where *out is copied, outliving the step */
} LearnStepArgs;

static void
LearnStepRun(void *arg)
{
	LearnStepArgs *a = (LearnStepArgs *) arg;
	Oid			owner;
	LearnAs		as;

	if (!LearnExtension(&owner))
		return;
	LearnBecome(owner, &as);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (a->step == 0)
		(void) LearnDrain();
	else if (a->step == 1 || a->step == 2)
	{
		List	   *l = a->step == 1
			? LearnLabelBudget(rv_learning_cpu_budget * rv_worker_naptime * 1000.0)
			: LearnDueIndexes(rv_target_recall);
		MemoryContext old = MemoryContextSwitchTo(a->ctx);

		*a->out = list_copy(l);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	LearnRestore(&as);
	if (a->step == 3)
	{
		char	   *json = LearnTrainOid(a->indexid, rv_target_recall);

		ereport(LOG,
				(errmsg("ruvector learning: trained index %u", a->indexid),
				 errdetail("%s", json)));
		RvIgAudit(true, "learning.train", a->indexid, json);
	}
}

/* One step of the round in its own transaction; errors are logged, not raised */
static bool
LearnStep(int step, Oid indexid, List **out)
{
	LearnStepArgs a = {step, indexid, out, CurrentMemoryContext};

	return RvWorkerRunInTransaction(LearnStepRun, &a);
}

/*
 * The round (from worker.c, once per database): drain captured queries,
 * label within the budget, and, with ruvector.target_recall set, train
 * every index that has enough new labelled queries.
 */
void
RvLearningWorkerRound(void)
{
	List	   *dummy = NIL;
	List	   *due = NIL;
	ListCell   *lc;

	if (learnShared != NULL && !LearnStep(0, InvalidOid, &dummy))
		return;
	if (rv_learning_cpu_budget > 0 && !LearnStep(1, InvalidOid, &dummy))
		return;
	if (rv_target_recall <= 0 || !LearnStep(2, InvalidOid, &due))
		return;
	foreach(lc, due)
	{
		CHECK_FOR_INTERRUPTS();
		(void) LearnStep(3, lfirst_oid(lc), &dummy);
	}
}
