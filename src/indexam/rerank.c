/*-------------------------------------------------------------------------
 *
 * rerank.c
 *	  Exact re-ranking of compact-code candidates, one implementation for
 *	  the hnsw and ivfflat scans: fetch a candidate's row, compute its
 *	  exact distance through the method's callback, collect the batch and
 *	  sort it (distance with NaN last, then TID; see rerank.h).
 *
 * NOTES
 *	  Rows are fetched with the scan's snapshot (an MVCC one: both methods
 *	  refuse others); rows it cannot see, NULL values and values the
 *	  callback refuses are left out, as the executor would drop them.
 *	  Reading through the table AM means ruvector_heap's encoded vectors
 *	  arrive decoded.  The fetch may follow a HOT chain, so the TID returned
 *	  is the one the index holds, not the chain member's.
 *
 *	  Memory: the fetch state, the slot and the batch array live in the
 *	  context current at rv_rerank_init (the scan's); each row is read in
 *	  rowCtx, reset after the row.  No lock is held here.
 *
 * IDENTIFICATION
 *	  src/indexam/rerank.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "indexam/rerank.h"
#include "io/rvio.h"

/*
 * Prepare to re-rank the scans of index (one column, not an expression:
 * the build refuses compact storage on expressions).
 */
void
rv_rerank_init(RvRerank *rr, Relation index, const char *amname,
			   RvRerankDistance distance, void *arg)
{
	memset(rr, 0, sizeof(*rr));
	if (index->rd_index->indkey.values[0] == 0)
		elog(ERROR, "%s index \"%s\" with compact storage is an expression index",
			 amname, RelationGetRelationName(index));
	rr->amname = amname;
	rr->attnum = index->rd_index->indkey.values[0];
	rr->distance = distance;
	rr->arg = arg;
	rr->scanCtx = CurrentMemoryContext;
	rr->rowCtx = AllocSetContextCreate(CurrentMemoryContext, "rerank row context",
									   ALLOCSET_DEFAULT_SIZES);
}

/*
 * Exact distance of the row at tid, or false if the scan's snapshot does
 * not see it, its value is NULL or the callback leaves it out.
 */
bool
rv_rerank_fetch(RvRerank *rr, IndexScanDesc scan, ItemPointer tid, double *distance)
{
	ItemPointerData t = *tid;	/* the fetch may move it along a HOT chain */
	bool		callAgain = false;
	bool		allDead = false;
	bool		isnull;
	bool		found = false;
	MemoryContext oldCtx;

	Assert(IsMVCCSnapshot(scan->xs_snapshot));
	if (rr->fetch == NULL)
	{
		oldCtx = MemoryContextSwitchTo(rr->scanCtx);
		if (scan->heapRelation == NULL)
			elog(ERROR, "%s scans of compact storage need the table", rr->amname);
		rr->fetch = table_index_fetch_begin(scan->heapRelation);
		rr->slot = table_slot_create(scan->heapRelation, NULL);
		MemoryContextSwitchTo(oldCtx);
	}

	oldCtx = MemoryContextSwitchTo(rr->rowCtx);
	if (table_index_fetch_tuple(rr->fetch, &t, scan->xs_snapshot, rr->slot,
								&callAgain, &allDead))
	{
		Datum		d = slot_getattr(rr->slot, rr->attnum, &isnull);

		if (!isnull)
			found = rr->distance(rr->arg, d, distance);
		ExecClearTuple(rr->slot);
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(rr->rowCtx);
	return found;
}

/* Note a row the scan is about to fetch (the list grows by doubling) */
void
rv_rerank_want(RvRerank *rr, ItemPointer tid)
{
	if (rr->nwant == rr->maxwant)
	{
		rr->maxwant = Max(64, rr->maxwant * 2);
		rr->want = rr->want == NULL ?
			MemoryContextAlloc(rr->scanCtx, sizeof(ItemPointerData) * rr->maxwant) :
			repalloc(rr->want, sizeof(ItemPointerData) * rr->maxwant);
	}
	rr->want[rr->nwant++] = *tid;
}

/*
 * Start reading the table blocks of the wanted rows, nearest first, and
 * return at once; the list stays for the caller to fetch from.  Whether
 * and how the blocks are read ahead (ruvector.io_method, off included) is
 * RvIoPrefetch's decision alone.
 */
void
rv_rerank_prefetch(RvRerank *rr, IndexScanDesc scan)
{
	BlockNumber *blocks;

	if (rr->nwant == 0 || scan->heapRelation == NULL)
		return;
	blocks = palloc(sizeof(BlockNumber) * rr->nwant);
	for (int i = 0; i < rr->nwant; i++)
		blocks[i] = ItemPointerGetBlockNumber(&rr->want[i]);
	RvIoPrefetch(scan->heapRelation, MAIN_FORKNUM, blocks, rr->nwant);
	pfree(blocks);
}

/* Start a new batch */
void
rv_rerank_reset(RvRerank *rr)
{
	rr->nranked = 0;
	rr->pos = 0;
}

/* Add a row to the batch (the array grows by doubling) */
void
rv_rerank_add(RvRerank *rr, ItemPointer tid, double distance)
{
	if (rr->nranked == rr->maxranked)
	{
		rr->maxranked = Max(64, rr->maxranked * 2);
		rr->ranked = rr->ranked == NULL ?
			MemoryContextAlloc(rr->scanCtx, sizeof(RvRanked) * rr->maxranked) :
			repalloc(rr->ranked, sizeof(RvRanked) * rr->maxranked);
	}
	rr->ranked[rr->nranked].distance = distance;
	rr->ranked[rr->nranked].tid = *tid;
	rr->nranked++;
}

static int
CompareRanked(const void *a, const void *b)
{
	const RvRanked *ra = (const RvRanked *) a;
	const RvRanked *rb = (const RvRanked *) b;

	return rv_rank_compare(ra->distance, (ItemPointer) &ra->tid,
						   rb->distance, (ItemPointer) &rb->tid);
}

/* Put the batch in exact order */
void
rv_rerank_sort(RvRerank *rr)
{
	qsort(rr->ranked, rr->nranked, sizeof(RvRanked), CompareRanked);
#ifdef USE_ASSERT_CHECKING
	for (int i = 1; i < rr->nranked; i++)
		Assert(CompareRanked(&rr->ranked[i - 1], &rr->ranked[i]) <= 0);
#endif
}

/* The next row of the sorted batch, false when it is used up */
bool
rv_rerank_next(RvRerank *rr, ItemPointer tid)
{
	if (rr->pos >= rr->nranked)
		return false;
	*tid = rr->ranked[rr->pos++].tid;
	return true;
}

/* Release the fetch state (the memory goes with the scan's context) */
void
rv_rerank_end(RvRerank *rr)
{
	if (rr->slot != NULL)
		ExecDropSingleTupleTableSlot(rr->slot);
	if (rr->fetch != NULL)
		table_index_fetch_end(rr->fetch);
	if (rr->rowCtx != NULL)
		MemoryContextDelete(rr->rowCtx);
	rr->slot = NULL;
	rr->fetch = NULL;
	rr->rowCtx = NULL;
}
