/*-------------------------------------------------------------------------
 *
 * hnsw.c
 *	  The HNSW index access method's handler: the IndexAmRoutine shared by
 *	  the hnsw and ruhnsw access methods, reloptions, the hnsw.* settings,
 *	  the planner's cost estimate and the opclass type support functions.
 *
 * NOTES
 *	  RvHnswInit() runs from _PG_init in every backend that loads the
 *	  library, including lazily at CREATE EXTENSION; nothing here needs
 *	  shared_preload_libraries.
 *
 *	  The cost estimate follows pgvector's model so that the planner makes
 *	  the same choices on the same data: an index path without ORDER BY is
 *	  never chosen, and with one, the startup cost is the fraction of the
 *	  index a search is expected to read.
 *
 * IDENTIFICATION
 *	  src/indexam/hnsw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>
#include <math.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "indexam/hnsw.h"
#include "indexam/indexam.h"

int			hnsw_ef_search = HNSW_DEFAULT_EF_SEARCH;
int			hnsw_iterative_scan = HNSW_ITERATIVE_OFF;
int			hnsw_max_scan_tuples = 20000;
double		hnsw_scan_mem_multiplier = 1;

static relopt_kind hnsw_relopt_kind;

static const struct config_enum_entry hnsw_iterative_scan_options[] = {
	{"off", HNSW_ITERATIVE_OFF, false},
	{"relaxed_order", HNSW_ITERATIVE_RELAXED, false},
	{"strict_order", HNSW_ITERATIVE_STRICT, false},
	{NULL, 0, false}
};

/*
 * Register the reloptions and the hnsw.* settings.  Called once per
 * process from _PG_init.
 */
void
RvHnswInit(void)
{
	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m", "Max number of connections",
					  HNSW_DEFAULT_M, HNSW_MIN_M, HNSW_MAX_M, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Size of the dynamic candidate list for construction",
					  HNSW_DEFAULT_EF_CONSTRUCTION, HNSW_MIN_EF_CONSTRUCTION,
					  HNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);
	/* Read from the metapage once built: ALTER INDEX takes effect at REINDEX */
	add_enum_reloption(hnsw_relopt_kind, "storage",
					   "Form of the vectors kept in the graph",
					   rv_storage_options, RV_CODE_FLOAT32,
					   "Valid values are \"float32\", \"float16\", \"sq8\" and \"binary\".",
					   AccessExclusiveLock);

	DefineCustomIntVariable("hnsw.ef_search",
							"Sets the size of the dynamic candidate list for search",
							"Valid range is 1..1000.",
							&hnsw_ef_search, HNSW_DEFAULT_EF_SEARCH,
							HNSW_MIN_EF_SEARCH, HNSW_MAX_EF_SEARCH,
							PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomEnumVariable("hnsw.iterative_scan",
							 "Sets the mode for iterative scans",
							 NULL,
							 &hnsw_iterative_scan, HNSW_ITERATIVE_OFF,
							 hnsw_iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);

	/* Counts elements visited; the first search always runs to its end */
	DefineCustomIntVariable("hnsw.max_scan_tuples",
							"Sets the max number of tuples to visit for iterative scans",
							NULL,
							&hnsw_max_scan_tuples, 20000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);

	/* Same range as hash_mem_multiplier */
	DefineCustomRealVariable("hnsw.scan_mem_multiplier",
							 "Sets the multiple of work_mem to use for iterative scans",
							 NULL,
							 &hnsw_scan_mem_multiplier, 1, 1, 1000,
							 PGC_USERSET, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("hnsw");
}

/* m of an index, from its reloptions */
int
HnswGetM(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->m : HNSW_DEFAULT_M;
}

/* ef_construction of an index, from its reloptions */
int
HnswGetEfConstruction(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->efConstruction : HNSW_DEFAULT_EF_CONSTRUCTION;
}

/* storage of an index, from its reloptions (the metapage is authoritative) */
int
HnswGetStorageOption(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->storage : HNSW_STORAGE_FLOAT32;
}

static bytea *
hnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, efConstruction)},
		{"storage", RELOPT_TYPE_ENUM, offsetof(HnswOptions, storage)},
	};

	return (bytea *) build_reloptions(reloptions, validate, hnsw_relopt_kind,
									  sizeof(HnswOptions), tab, lengthof(tab));
}

static char *
hnswbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case HNSW_PHASE_LOAD:
			return "loading tuples";
		default:
			return NULL;
	}
}

/*
 * Fraction of the index one search is expected to read: the descent to
 * layer 0 (about m elements per upper level) plus the part of layer 0 that
 * ef_search explores, which shrinks with the size of the graph.
 */
static double
HnswScanFraction(double tuples, int m, int efSearch)
{
	double		ratio;
	int			entryLevel;
	double		layer0Max;
	double		layer0Selectivity;

	if (tuples <= 0)
		return 1;

	entryLevel = (int) (log(tuples) * HnswGetMl(m));
	layer0Max = (double) HnswLayerM(m, 0) * efSearch;
	layer0Selectivity = 0.55 * log(tuples) / (log(m) * (1 + log(efSearch)));
	ratio = (entryLevel * m + layer0Max * layer0Selectivity) / tuples;
	return Min(ratio, 1);
}

static void
hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	GenericCosts costs;
	int			m;
	double		ratio;
	double		startupPages;
	double		spc_seq_page_cost;
	double		distanceCost;
	double		efCost;
	Relation	index;

	/* An HNSW scan only makes sense ordered by distance */
	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	/*
	 * Filter columns: quals on them are evaluated in the graph, not used to
	 * narrow what is read, so the whole index is costed (numIndexTuples)
	 * and their selectivity only sets the rows the scan returns.
	 */
	if (path->indexclauses != NIL)
		costs.numIndexTuples = Max(path->indexinfo->tuples, 1);
	genericcostestimate(root, path, loop_count, &costs);

	index = index_open(path->indexinfo->indexoid, NoLock);
	HnswReadMeta(index, &m, NULL, NULL, NULL, NULL);
	distanceCost = rv_index_distance_cost(index);
	index_close(index, NoLock);

	/*
	 * A filtered search fills W with elements that pass, so it expands
	 * about ef_search / selectivity elements before it stops: cost it as
	 * a search with that ef (at most the whole graph).  A selective filter
	 * then makes the scan dear, and the planner takes an exact plan over
	 * the few matching rows (a covering btree and a sort) when one exists.
	 */
	efCost = hnsw_ef_search;
	if (path->indexclauses != NIL)
		efCost = Min((double) hnsw_ef_search / Max(costs.indexSelectivity, 1e-9),
					 Max(path->indexinfo->tuples, 1));
	ratio = HnswScanFraction(path->indexinfo->tuples, m, (int) Min(efCost, INT_MAX));
	get_tablespace_page_costs(path->indexinfo->reltablespace, NULL, &spc_seq_page_cost);

	costs.indexStartupCost = costs.indexTotalCost * ratio;

	/*
	 * A search reads its share of the index in a handful of pages that are
	 * likely cached; when that share is bigger than the table, charge it as
	 * sequential reads of at most the table's size, which a sequential scan
	 * would pay anyway (it does not count TOAST).
	 */
	startupPages = costs.numIndexPages * ratio;
	if (startupPages > path->indexinfo->rel->pages && ratio < 0.5)
	{
		costs.indexStartupCost -= startupPages * (costs.spc_random_page_cost - spc_seq_page_cost);
		costs.indexStartupCost -= (startupPages - path->indexinfo->rel->pages) * spc_seq_page_cost;
	}

	/*
	 * An iterative scan goes on past ef_search, and each further tuple
	 * takes an expansion of layer 0: distances to up to 2m neighbours.
	 * When other quals filter the rows, a Limit above the scan pays for
	 * about k / selectivity of these tuples, so a selective filter makes
	 * the scan dear and the planner reads the few matching rows through
	 * another index and sorts them instead, which is exact and, at such
	 * selectivities, faster.
	 */
	if (hnsw_iterative_scan != HNSW_ITERATIVE_OFF)
		costs.indexTotalCost += Max(0, path->indexinfo->tuples - hnsw_ef_search) *
			HnswLayerM(m, 0) * distanceCost;

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = costs.indexCorrelation;
	*indexPages = costs.numIndexPages;
}

/* Opclasses are created by our own script; nothing further to check */
static bool
hnswvalidate(Oid opclassoid)
{
	return true;
}

PG_FUNCTION_INFO_V1(hnswhandler);
Datum
hnswhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 3;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = true;	/* filter columns after the vector (hnswfilter.c) */
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = hnswbuild;
	amroutine->ambuildempty = hnswbuildempty;
	amroutine->aminsert = hnswinsert;
	amroutine->ambulkdelete = hnswbulkdelete;
	amroutine->amvacuumcleanup = hnswvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = hnswcostestimate;
	amroutine->amoptions = hnswoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = hnswbuildphasename;
	amroutine->amvalidate = hnswvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = hnswbeginscan;
	amroutine->amrescan = hnswrescan;
	amroutine->amgettuple = hnswgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = hnswendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}

/*
 * Type support functions (support proc 3): tell the index what it stores
 * and its dimension limit.  pgvector's limits: the value must fit on a page,
 * so halfvec allows twice and bit 32 times the vector limit.
 */
PG_FUNCTION_INFO_V1(hnsw_halfvec_support);
Datum
hnsw_halfvec_support(PG_FUNCTION_ARGS)
{
	static const HnswTypeInfo info = {HNSW_KIND_HALFVEC, HNSW_MAX_DIM * 2, RV_ELEM_F16};

	PG_RETURN_POINTER(&info);
}

PG_FUNCTION_INFO_V1(hnsw_bit_support);
Datum
hnsw_bit_support(PG_FUNCTION_ARGS)
{
	static const HnswTypeInfo info = {HNSW_KIND_BIT, HNSW_MAX_DIM * 32, RV_ELEM_BIT};

	PG_RETURN_POINTER(&info);
}

PG_FUNCTION_INFO_V1(hnsw_sparsevec_support);
Datum
hnsw_sparsevec_support(PG_FUNCTION_ARGS)
{
	static const HnswTypeInfo info = {HNSW_KIND_SPARSEVEC, SPARSEVEC_MAX_DIM, RV_ELEM_OTHER};

	PG_RETURN_POINTER(&info);
}
