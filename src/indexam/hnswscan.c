/*-------------------------------------------------------------------------
 *
 * hnswscan.c
 *	  Index scans of an HNSW index: ORDER BY distance, with hnsw.ef_search
 *	  and the iterative scan modes of hnsw.iterative_scan.
 *
 * NOTES
 *	  The first amgettuple descends the graph (Algorithm 5 of the HNSW
 *	  paper) while holding HNSW_SCAN_LOCK in share mode, keeps the
 *	  ef_search nearest elements and returns their heap TIDs nearest first.
 *	  With float32 storage distances are exact (the stored values are the
 *	  indexed values), so the executor need not recheck the order.
 *
 *	  With an iterative scan, every element that was read but did not make
 *	  the result set is kept in a heap of discarded candidates.  When the
 *	  results run out (a filter rejected them), the search resumes on
 *	  layer 0 from the nearest discarded ones, with the visited set of the
 *	  earlier batches, again under the scan lock.  Past hnsw.max_scan_tuples
 *	  visited elements, or work_mem * hnsw.scan_mem_multiplier of memory,
 *	  the scan stops searching and drains the discarded heap.  strict_order
 *	  drops any result nearer than one already returned; relaxed_order
 *	  returns batches as they come.
 *
 *	  Elements read in an earlier batch may have been deleted and their
 *	  slots reused by the time a later batch expands them; the search
 *	  compares element versions and skips recycled ones.  Heap TIDs are
 *	  copied when an element is read, under the scan lock.
 *
 *	  The scan needs an MVCC snapshot: it holds no pins between calls.
 *
 *	  Compact storage (storage = float16, sq8 or binary) ranks codes, whose
 *	  distances are neither exact nor lower bounds, so the executor's
 *	  reorder queue cannot fix the order.  Instead each batch is searched
 *	  with ef = hnsw.ef_search * ruvector.rerank_factor, and every heap TID of
 *	  the batch is re-ranked here: the row is fetched from the table with
 *	  the scan's snapshot (rows it cannot see are dropped, as the executor
 *	  would drop them), its exact distance to the query is computed with
 *	  the opclass kernel, and the batch goes out in exact order.  Iterative
 *	  scans re-rank batch by batch; strict_order compares exact distances.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "indexam/hnsw.h"
#include "integrity/integrity.h"
#include "indexam/indexam.h"

/* A heap TID of a batch with its exact distance */
typedef struct HnswRanked
{
	double		distance;
	ItemPointerData tid;
} HnswRanked;

typedef struct HnswScanOpaqueData
{
	HnswSupport support;
	MemoryContext ctx;			/* everything below, reset by amrescan */

	bool		first;
	bool		started;		/* search state exists */
	int			ef;				/* hnsw.ef_search when the scan started */
	int			iterative;		/* hnsw.iterative_scan then (both widened in
								 * integrity state critical) */
	HnswSearch	search;

	uint32	   *results;		/* current batch, nearest first */
	int			nresults;
	uint32		drained;		/* a batch of one, past the limits */
	int			pos;

	double		previousDistance;	/* strict_order */
	Size		maxMemory;
	uint32	   *ep;				/* entry points of the next batch, so->ef */

	/* Compact storage: exact re-ranking of each batch */
	bool		rerank;
	const char *query;			/* stored form, for exact distances */
	float	   *queryFloats;
	AttrNumber	attnum;			/* the indexed table column */
	MemoryContext scanCtx;		/* lifetime of the scan */
	MemoryContext rowCtx;		/* one fetched row */
	IndexFetchTableData *fetch;
	TupleTableSlot *slot;
	HnswRanked *ranked;			/* current batch, exact order */
	int			nranked;
	int			maxranked;
	int			rankpos;
} HnswScanOpaqueData;

typedef HnswScanOpaqueData *HnswScanOpaque;

IndexScanDesc
hnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanOpaque so = palloc0(sizeof(HnswScanOpaqueData));

	HnswInitSupport(&so->support, index);

	/*
	 * Small blocks, so that the memory limit of iterative scans is measured
	 * close to what is really used.
	 */
	so->ctx = AllocSetContextCreate(CurrentMemoryContext,
									"Hnsw scan temporary context",
									0, 8 * 1024, 256 * 1024);
	so->first = true;
	so->scanCtx = CurrentMemoryContext;
	so->rerank = HnswIsCompact(&so->support);
	if (so->rerank)
	{
		if (index->rd_index->indkey.values[0] == 0)
			elog(ERROR, "hnsw index \"%s\" with compact storage is an expression index",
				 RelationGetRelationName(index));
		so->attnum = index->rd_index->indkey.values[0];
		so->rowCtx = AllocSetContextCreate(CurrentMemoryContext,
										   "Hnsw rerank row context",
										   ALLOCSET_DEFAULT_SIZES);
	}
	scan->opaque = so;
	return scan;
}

void
hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	MemoryContextReset(so->ctx);
	so->first = true;
	so->started = false;
	so->results = NULL;
	so->nresults = 0;
	so->pos = 0;
	so->previousDistance = -get_float8_infinity();
	so->ep = NULL;
	so->ranked = NULL;
	so->nranked = 0;
	so->maxranked = 0;
	so->rankpos = 0;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/*
 * The query in the form the index stores (normalised for cosine), or NULL
 * for a NULL query, which orders nothing: every distance is then 0.  A zero
 * query under cosine stays zero, as every distance to it is 0 too.
 */
static const char *
ScanQuery(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Datum		value;
	Datum		normalized;

	if (scan->orderByData->sk_flags & SK_ISNULL)
		return NULL;

	value = PointerGetDatum(PG_DETOAST_DATUM(scan->orderByData->sk_argument));
	if (so->support.normalize && HnswNormalize(&so->support, value, &normalized))
		value = normalized;
	return DatumGetPointer(value);
}

/*
 * Let the SQL distance function see the query and one stored value before
 * any kernel does, so a query of other dimensions fails with the type's
 * own error instead of reading past a value.
 */
static void
CheckQuery(IndexScanDesc scan, const char *query, ItemPointer entry)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	Buffer		buf;
	Page		page;
	HnswNodeTuple node;
	char	   *sample = NULL;

	if (query == NULL || so->support.kind == HNSW_DIST_FMGR || so->rerank)
		return;

	buf = ReadBuffer(index, ItemPointerGetBlockNumber(entry));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, ItemPointerGetOffsetNumber(entry)));
	if (node->type == HNSW_NODE_TUPLE && !HnswNodeIsDeleted(node))
	{
		Size		size = VARSIZE(HnswNodeValue(node));

		sample = palloc(size);
		memcpy(sample, HnswNodeValue(node), size);
	}
	UnlockReleaseBuffer(buf);

	HnswCheckQuery(&so->support, query, sample);
}

/*
 * First batch: descend from the entry point with ef = 1 to layer 1, then
 * search layer 0 with ef_search.  Called with HNSW_SCAN_LOCK held.
 */
static void
FirstBatch(IndexScanDesc scan, const char *query)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswSearch *s = &so->search;
	ItemPointerData entry;
	int			entryLevel;
	int			m;
	uint32		first;
	uint32	   *ep = &first;
	int			nep;
	int			entryCand;

	HnswReadMeta(scan->indexRelation, &m, NULL, &entry, &entryLevel, NULL);
	if (!ItemPointerIsValid(&entry))
		return;

	CheckQuery(scan, query, &entry);

	/* wider while the index's integrity state is critical (integrity_gate.c) */
	so->ef = hnsw_ef_search;
	so->iterative = hnsw_iterative_scan;
	RvIntegritySearchWiden(scan->indexRelation, &so->ef, &so->iterative);
	if (so->rerank)
		so->ef *= rv_rerank_factor;
	so->ep = palloc(sizeof(uint32) * so->ef);
	HnswSearchInit(s, scan->indexRelation, &so->support, m, so->ef, query);
	if (so->rerank && query != NULL)
		HnswSearchSetFloats(s, so->queryFloats);
	s->wantHeapTids = true;
	so->started = true;

	entryCand = HnswSearchEntry(s, ItemPointerGetBlockNumber(&entry),
								ItemPointerGetOffsetNumber(&entry));
	if (entryCand < 0)
		return;
	first = (uint32) entryCand;
	nep = 1;

	for (int lc = entryLevel; lc >= 1; lc--)
		nep = HnswSearchLayer(s, ep, nep, 1, lc, true, &ep);

	/* Only layer 0 counts towards hnsw.max_scan_tuples */
	s->tuples = 0;
	s->keepDiscarded = so->iterative != HNSW_ITERATIVE_OFF;
	so->nresults = HnswSearchLayer(s, ep, nep, so->ef, 0, true, &so->results);
	so->pos = 0;
}

/*
 * Next batch of an iterative scan: resume layer 0 from the nearest
 * discarded candidates, or, past the limits, hand out the discarded ones
 * one at a time.  Returns false when nothing is left.
 */
static bool
NextBatch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswSearch *s = &so->search;
	uint32	   *ep = so->ep;
	int			nep = 0;

	if (!so->started || s->discarded.count == 0)
		return false;

	if (s->tuples >= hnsw_max_scan_tuples ||
		MemoryContextMemAllocated(so->ctx, true) > so->maxMemory)
	{
		so->drained = HnswHeapPop(&s->discarded, false).cand;
		so->results = &so->drained;
		so->nresults = 1;
		so->pos = 0;
		return true;
	}

	while (nep < so->ef && s->discarded.count > 0)
		ep[nep++] = HnswHeapPop(&s->discarded, false).cand;

	/*
	 * The scan lock keeps VACUUM from recycling elements while we follow
	 * links read in this batch; versions guard links read in earlier ones.
	 */
	LockPage(scan->indexRelation, HNSW_SCAN_LOCK, ShareLock);
	so->nresults = HnswSearchLayer(s, ep, nep, so->ef, 0, false, &so->results);
	UnlockPage(scan->indexRelation, HNSW_SCAN_LOCK, ShareLock);

	so->pos = 0;
	return so->nresults > 0;
}

/*
 * Exact distance of the row at tid, or false if the scan's snapshot does
 * not see it.  Reads the row through the table AM, so encoded forms of
 * ruvector_heap arrive decoded.
 */
static bool
FetchExactDistance(IndexScanDesc scan, ItemPointer tid, double *distance)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	ItemPointerData t = *tid;	/* the fetch may move it along a HOT chain */
	bool		callAgain = false;
	bool		allDead = false;
	bool		isnull;
	bool		found = false;
	Datum		d;
	Datum		value;
	MemoryContext oldCtx;

	if (so->query == NULL)
	{
		/* ORDER BY NULL: every distance is 0, visibility is the executor's */
		*distance = 0;
		return true;
	}

	oldCtx = MemoryContextSwitchTo(so->rowCtx);
	if (table_index_fetch_tuple(so->fetch, &t, scan->xs_snapshot, so->slot,
								&callAgain, &allDead))
	{
		d = slot_getattr(so->slot, so->attnum, &isnull);
		if (!isnull)
		{
			if (so->support.typeInfo->kind == HNSW_KIND_HALFVEC)
				d = PointerGetDatum(DatumGetHalfVector(d));
			else
				d = PointerGetDatum(DatumGetVector(d));
			if (HnswFormValue(&so->support, d, &value))
			{
				*distance = HnswDistance(&so->support, so->query, DatumGetPointer(value));
				found = true;
			}
		}
		ExecClearTuple(so->slot);
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(so->rowCtx);
	return found;
}

/* Order of re-ranked TIDs: exact distance, then TID */
static int
CompareRanked(const void *a, const void *b)
{
	const HnswRanked *ra = (const HnswRanked *) a;
	const HnswRanked *rb = (const HnswRanked *) b;

	if (ra->distance != rb->distance)
		return ra->distance < rb->distance ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &ra->tid, (ItemPointer) &rb->tid);
}

/*
 * Compact storage: replace the batch in so->results by its heap TIDs in
 * exact order (so->ranked).  Runs without the scan lock: the TIDs were
 * copied when the elements were read.
 */
static void
RerankBatch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswSearch *s = &so->search;

	if (so->fetch == NULL)
	{
		MemoryContext oldCtx = MemoryContextSwitchTo(so->scanCtx);

		if (scan->heapRelation == NULL)
			elog(ERROR, "hnsw scans of compact storage need the table");
		so->fetch = table_index_fetch_begin(scan->heapRelation);
		so->slot = table_slot_create(scan->heapRelation, NULL);
		MemoryContextSwitchTo(oldCtx);
	}

	so->nranked = 0;
	so->rankpos = 0;
	for (; so->pos < so->nresults; so->pos++)
	{
		HnswCand   *c = &s->cands[so->results[so->pos]];

		while (c->ntids > 0)
		{
			ItemPointer tid = &s->heaptids[c->tidStart + --c->ntids];
			double		distance;

			CHECK_FOR_INTERRUPTS();
			if (!FetchExactDistance(scan, tid, &distance))
				continue;
			if (so->nranked == so->maxranked)
			{
				so->maxranked = Max(64, so->maxranked * 2);
				so->ranked = so->ranked == NULL ?
					palloc(sizeof(HnswRanked) * so->maxranked) :
					repalloc(so->ranked, sizeof(HnswRanked) * so->maxranked);
			}
			so->ranked[so->nranked].distance = distance;
			so->ranked[so->nranked].tid = *tid;
			so->nranked++;
		}
	}
	qsort(so->ranked, so->nranked, sizeof(HnswRanked), CompareRanked);
}

/*
 * Compact storage: the next re-ranked TID, re-ranking further batches of
 * an iterative scan as needed.
 */
static bool
NextRanked(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	for (;;)
	{
		HnswRanked *r;

		if (so->rankpos >= so->nranked)
		{
			if (so->iterative == HNSW_ITERATIVE_OFF || !NextBatch(scan))
				return false;
			RerankBatch(scan);
			continue;
		}
		r = &so->ranked[so->rankpos++];
		if (so->iterative == HNSW_ITERATIVE_STRICT)
		{
			if (r->distance < so->previousDistance)
				continue;
			so->previousDistance = r->distance;
		}
		scan->xs_heaptid = r->tid;
		return true;
	}
}

/* Start the scan on its first amgettuple call */
static void
StartScan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	const char *query;
	double		maxMemory;

	pgstat_count_index_scan(scan->indexRelation);

	if (scan->orderByData == NULL)
		elog(ERROR, "cannot scan hnsw index without order");

	/* Without pins between calls, only MVCC snapshots are safe */
	if (!IsMVCCSnapshot(scan->xs_snapshot))
		elog(ERROR, "non-MVCC snapshots are not supported with hnsw");

	query = ScanQuery(scan);
	if (so->rerank && query != NULL)
	{
		/* Also checks the query's dimensions against the index's */
		so->queryFloats = palloc(sizeof(float) * so->support.dimensions);
		HnswValueFloats(&so->support, query, so->queryFloats);
	}
	so->query = query;

	/* The limit leaves room for the last block of the context */
	maxMemory = (double) work_mem * hnsw_scan_mem_multiplier * 1024.0 + 256;
	so->maxMemory = (Size) Min(maxMemory, (double) (SIZE_MAX / 2));

	/* VACUUM waits for this lock before it recycles any element */
	LockPage(scan->indexRelation, HNSW_SCAN_LOCK, ShareLock);
	FirstBatch(scan, query);
	UnlockPage(scan->indexRelation, HNSW_SCAN_LOCK, ShareLock);

	so->first = false;
	if (so->rerank)
		RerankBatch(scan);
}

bool
hnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext oldCtx = MemoryContextSwitchTo(so->ctx);
	bool		found = false;

	/* Postgres never scans ordering operators backwards */
	Assert(ScanDirectionIsForward(dir));

	if (so->first)
		StartScan(scan);

	if (so->rerank)
	{
		found = NextRanked(scan);
		scan->xs_recheck = false;
		scan->xs_recheckorderby = false;
		MemoryContextSwitchTo(oldCtx);
		return found;
	}

	for (;;)
	{
		HnswCand   *c;

		if (so->pos >= so->nresults)
		{
			if (so->iterative == HNSW_ITERATIVE_OFF || !NextBatch(scan))
				break;
			continue;
		}

		c = &so->search.cands[so->results[so->pos]];
		if (c->ntids == 0)
		{
			so->pos++;
			continue;
		}

		/* Heap TIDs of one element go out last first, as pgvector does */
		scan->xs_heaptid = so->search.heaptids[c->tidStart + --c->ntids];

		if (so->iterative == HNSW_ITERATIVE_STRICT)
		{
			if (c->distance < so->previousDistance)
				continue;
			so->previousDistance = c->distance;
		}

		scan->xs_recheck = false;
		scan->xs_recheckorderby = false;
		found = true;
		break;
	}

	MemoryContextSwitchTo(oldCtx);
	return found;
}

void
hnswendscan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (so->slot != NULL)
		ExecDropSingleTupleTableSlot(so->slot);
	if (so->fetch != NULL)
		table_index_fetch_end(so->fetch);
	if (so->rowCtx != NULL)
		MemoryContextDelete(so->rowCtx);
	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
