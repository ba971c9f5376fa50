/*-------------------------------------------------------------------------
 *
 * ivfflat.c
 *	  The IVFFlat index access method's handler: reloptions, GUCs, build
 *	  phase names and the cost estimate.
 *
 * NOTES
 *	  Both access methods, ivfflat (pgvector's name) and ruivfflat, use
 *	  ivfflathandler.  Options, GUC names, ranges and defaults, and the cost
 *	  model are pgvector's, so the planner makes the same choices for the
 *	  same queries.
 *
 *	  RvIvfflatInit() is called from _PG_init, whether the library is
 *	  preloaded or loaded by CREATE EXTENSION or the first call into it.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfflat.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "indexam/ivfflat.h"
#include "indexam/indexam.h"

int			ivfflat_probes = IVF_DEFAULT_PROBES;
int			ivfflat_iterative_scan = IVF_ITERATIVE_OFF;
int			ivfflat_max_probes = IVF_MAX_LISTS;

static relopt_kind ivf_relopt_kind;

static const struct config_enum_entry ivf_iterative_scan_options[] = {
	{"off", IVF_ITERATIVE_OFF, false},
	{"relaxed_order", IVF_ITERATIVE_RELAXED, false},
	{NULL, 0, false}
};

PG_FUNCTION_INFO_V1(ivfflathandler);

/* Registers the lists reloption and the ivfflat.* settings */
void
RvIvfflatInit(void)
{
	ivf_relopt_kind = add_reloption_kind();
	add_int_reloption(ivf_relopt_kind, "lists", "Number of inverted lists",
					  IVF_DEFAULT_LISTS, IVF_MIN_LISTS, IVF_MAX_LISTS,
					  AccessExclusiveLock);
	add_enum_reloption(ivf_relopt_kind, "storage",
					   "What list entries keep of each vector",
					   rv_storage_options, RV_CODE_FLOAT32,
					   "Valid values are \"float32\", \"float16\", \"sq8\" and \"binary\".",
					   AccessExclusiveLock);

	DefineCustomIntVariable("ivfflat.probes", "Sets the number of probes",
							"Valid range is 1..lists.", &ivfflat_probes,
							IVF_DEFAULT_PROBES, IVF_MIN_LISTS, IVF_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomEnumVariable("ivfflat.iterative_scan", "Sets the mode for iterative scans",
							 NULL, &ivfflat_iterative_scan,
							 IVF_ITERATIVE_OFF, ivf_iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);

	/* Below ivfflat.probes it has no effect: probes wins */
	DefineCustomIntVariable("ivfflat.max_probes", "Sets the max number of probes for iterative scans",
							NULL, &ivfflat_max_probes,
							IVF_MAX_LISTS, IVF_MIN_LISTS, IVF_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("ivfflat");

	RvIvfRefreshInit();
}

/* The lists option of an index, or its default */
int
IvfGetLists(Relation index)
{
	IvfOptions *opts = (IvfOptions *) index->rd_options;

	return opts != NULL ? opts->lists : IVF_DEFAULT_LISTS;
}

/* storage of an index, from its reloptions (the metapage is authoritative) */
int
IvfGetStorageOption(Relation index)
{
	IvfOptions *opts = (IvfOptions *) index->rd_options;

	return opts != NULL ? opts->storage : IVF_STORAGE_FLOAT32;
}

static char *
ivfflatbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case IVF_PHASE_KMEANS:
			return "performing k-means";
		case IVF_PHASE_ASSIGN:
			return "assigning tuples";
		case IVF_PHASE_LOAD:
			return "loading tuples";
		default:
			return NULL;
	}
}

/*
 * pgvector's cost model: a scan reads probes/lists of the index before it
 * returns its first row, mostly sequentially, and an index is never worth
 * using without an ORDER BY on its distance.
 */
static void
ivfflatcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					Cost *indexStartupCost, Cost *indexTotalCost,
					Selectivity *indexSelectivity, double *indexCorrelation,
					double *indexPages)
{
	GenericCosts costs;
	Relation	index;
	int			lists;
	double		ratio;
	double		seqRatio = 0.5;
	double		spc_seq_page_cost;
	double		startupPages;
	double		heapPages = path->indexinfo->rel->pages;

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
	genericcostestimate(root, path, loop_count, &costs);

	index = index_open(path->indexinfo->indexoid, NoLock);
	IvfReadMeta(index, &lists, NULL, NULL);
	index_close(index, NoLock);

	ratio = Min(1.0, (double) ivfflat_probes / lists);

	get_tablespace_page_costs(path->indexinfo->reltablespace, NULL, &spc_seq_page_cost);

	/* Half of the pages are read in sequence (a list's chain) */
	costs.indexTotalCost -= seqRatio * costs.numIndexPages *
		(costs.spc_random_page_cost - spc_seq_page_cost);
	costs.indexStartupCost = costs.indexTotalCost * ratio;

	/*
	 * A sequential scan's cost leaves out TOAST; when the probed part of the
	 * index is larger than the table, cost it as sequential and no more
	 * than the table.
	 */
	startupPages = costs.numIndexPages * ratio;
	if (startupPages > heapPages && ratio < 0.5)
	{
		costs.indexStartupCost -= (1 - seqRatio) * startupPages *
			(costs.spc_random_page_cost - spc_seq_page_cost);
		costs.indexStartupCost -= (startupPages - heapPages) * spc_seq_page_cost;
	}

	/*
	 * An iterative scan reads another probes lists for every
	 * IVF_ITERATIVE_ROWS tuples it hands out (ivfscan.c): each further tuple
	 * costs probes / IVF_ITERATIVE_ROWS lists, a list priced at its share
	 * of reading the whole index (its pages, and its entries at an operator
	 * evaluation each, as the planner prices the distances of a Sort).  Under a
	 * filter a Limit above the scan pays for about k / selectivity tuples,
	 * so a selective filter makes the scan dear and the planner reads the
	 * few matching rows through another index and sorts them, which is
	 * exact and at such selectivities faster.  Not capped at the whole
	 * index: the Limit takes a linear share of the total, and a cap would
	 * make the share of a few hundred tuples look cheap.
	 */
	if (ivfflat_iterative_scan != IVF_ITERATIVE_OFF)
	{
		double		listsPerTuple = (double) ivfflat_probes / IVF_ITERATIVE_ROWS;
		double		perList = costs.indexTotalCost / lists;

		costs.indexTotalCost += Max(0, path->indexinfo->tuples - IVF_ITERATIVE_ROWS) *
			listsPerTuple * perList;
	}

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = costs.indexCorrelation;
	*indexPages = costs.numIndexPages;
}

static bytea *
ivfflatoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(IvfOptions, lists)},
		{"storage", RELOPT_TYPE_ENUM, offsetof(IvfOptions, storage)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ivf_relopt_kind,
									  sizeof(IvfOptions), tab, lengthof(tab));
}

/* Operator classes are checked when an index is built, not here */
static bool
ivfflatvalidate(Oid opclassoid)
{
	return true;
}

Datum
ivfflathandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 5;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;	/* VACUUM needs none */
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = ivfflatbuild;
	amroutine->ambuildempty = ivfflatbuildempty;
	amroutine->aminsert = ivfflatinsert;
	amroutine->ambulkdelete = ivfflatbulkdelete;
	amroutine->amvacuumcleanup = ivfflatvacuumcleanup;
	amroutine->amcanreturn = NULL;	/* entries do not hold the row */
	amroutine->amcostestimate = ivfflatcostestimate;
	amroutine->amoptions = ivfflatoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = ivfflatbuildphasename;
	amroutine->amvalidate = ivfflatvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = ivfflatbeginscan;
	amroutine->amrescan = ivfflatrescan;
	amroutine->amgettuple = ivfflatgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = ivfflatendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
