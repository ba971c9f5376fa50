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
 *	  the scan stops searching and drains the discarded heap (one
 *	  candidate a batch).  relaxed_order returns batches as they come.
 *	  An empty batch (its entry points were recycled) does not end the
 *	  scan while discarded candidates remain.
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
 *	  the opclass kernel, and the batch goes out in exact order (rerank.c,
 *	  shared with ivfflat: NaN last, then TID).  Iterative
 *	  relaxed_order scans re-rank batch by batch.
 *
 *	  strict_order (every storage) never returns a row nearer than one it
 *	  returned, and holds rows back instead of dropping them.  Each batch's
 *	  rows (re-ranked for compact storage; for float32 the element distance
 *	  is exact) go into a pending pairing heap, nearest on top, kept across
 *	  batches.  The top goes out only when no later batch is expected to
 *	  produce a nearer row, judged by a bound:
 *
 *	  - Elements already read but not returned are all in the discarded
 *	    heap; the nearest one's code distance, widened by what a code can
 *	    hide, bounds their exact distances soundly (RankBound).  float32:
 *	    no widening.  float16 and sq8: rv_code_error gives each element's
 *	    decoding error |x - x^| (float16 2^-11 relative per component,
 *	    unbounded if saturated; sq8 sqrt(dim) * scale / 2) and the scan
 *	    keeps the largest seen with the largest decoded norm; with the
 *	    query's own rounding (float16) that turns into a bound per metric
 *	    (L2: |q-x| >= |q^-x^| - e; inner product: |q^| e_x + e_q |x|;
 *	    L1: sqrt(dim) e), less a float32 rounding slack.  binary: no
 *	    bound, so strict scans of binary codes return nothing until the
 *	    search is exhausted or past its limits, then everything in order.
 *	  - Elements not read yet have no bound: a graph can hold a near
 *	    element reachable only through far ones.  Measured, a batch finds
 *	    rows below the bound computed before it (at every batch boundary
 *	    on clustered data; pgvector drops those rows).  The scan records
 *	    the largest such undercut and keeps rows HNSW_UNDERCUT_MARGIN times
 *	    that much below the bound, and emits nothing before the second
 *	    batch has measured one.  This is a heuristic: a row found later
 *	    still below a returned one cannot go out in order, and strict_order
 *	    keeps its promise of order (the executor relies on it) and drops
 *	    it, counted (DEBUG1).  On a freshly built graph that is a few rows
 *	    in 8,000 (test/t/108); after concurrent inserts and updates a
 *	    region near the query can be reachable only through far elements,
 *	    and a strict scan then dropped 1,713 of 11,893 rows found late
 *	    (one run; batch 80 found rows at 0.17 with 0.57 returned and the
 *	    nearest discarded candidate at 1.49).  No bound from elements
 *	    read can exclude that: only holding every row until the search is
 *	    exhausted could, at the cost of a full search for LIMIT 10.
 *	  - Once no batch is left (the discarded heap is empty), the pending
 *	    rows drain in order.  Past max_scan_tuples or the memory limit the
 *	    discarded heap drains one candidate a batch; RankBound is sound
 *	    then, as nothing unread is reached any more.
 *
 *	  The cost: a strict scan searches two batches before its first row,
 *	  and pending rows take memory counted against the scan's limit.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "lib/pairingheap.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include <math.h>
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "gnn/learning.h"
#include "indexam/hnsw.h"
#include "integrity/integrity.h"
#include "indexam/indexam.h"
#include "indexam/rerank.h"

/*
 * strict_order: rows wait until they are this many times the largest
 * undercut seen (how far a batch's rows fell below the bound computed
 * before it) below the bound.  See NOTES.
 */
#define HNSW_UNDERCUT_MARGIN	8

/* A row of a strict_order scan waiting in so->pending, nearest on top */
typedef struct HnswPending
{
	pairingheap_node ph;
	double		distance;
	ItemPointerData tid;
} HnswPending;

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
	bool		strict;			/* strict_order when the scan started */
	bool		searchDone;		/* no batch is left: drain pending */
	pairingheap *pending;		/* strict_order: rows not yet returned */
	float		queryError;		/* compact: |query - its code form| bound */
	float		queryNorm;
	int64		late;			/* strict rows found after a farther one */
	double		batchMin;		/* strict: nearest row of the last batch */
	double		undercut;		/* strict: most a batch fell below the bound */
	int			batches;		/* strict: batches ranked */
	Size		maxMemory;
	uint32	   *ep;				/* entry points of the next batch, so->ef */

	/* Compact storage: exact re-ranking of each batch (rerank.c) */
	bool		rerank;
	const char *query;			/* stored form, for exact distances */
	float	   *queryFloats;
	RvRerank	rr;

	/* Adaptive effort of the first batch (AdaptProgress, learning.h) */
	RvLearnPlan plan;
	int			adaptCut;		/* frontier: W's size when the rule stops */
	int			efMax;			/* the most W may grow to */
	bool		decided;		/* past the checkpoint */
	int			hops;
	int			sinceImproved;
	double		lastKth;
	double		entryDistance;
	double		kthRing[RV_GNN_HOPS_BACK];
} HnswScanOpaqueData;

typedef HnswScanOpaqueData *HnswScanOpaque;

static int	ComparePending(const pairingheap_node *a, const pairingheap_node *b, void *arg);
static void QueryError(HnswScanOpaque so);
static bool RowDistance(void *arg, Datum d, double *distance);

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
	so->rerank = HnswIsCompact(&so->support);
	if (so->rerank)
		rv_rerank_init(&so->rr, index, "hnsw", RowDistance, so);
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
	rv_rerank_reset(&so->rr);
	so->strict = false;
	so->searchDone = false;
	so->pending = NULL;			/* freed with so->ctx */
	so->late = 0;
	so->undercut = 0;
	so->batches = 0;

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

	if (query == NULL || so->support.kind == RV_KERNEL_FMGR || so->rerank)
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
 * Adaptive effort, the search hook (HnswProgressFn) of the first batch's
 * layer-0 search, which runs with W as large as the plan allows.  Called
 * for each candidate popped, before its expansion.  Bound rule (a bound
 * model): stop at the first candidate further than the bound of the k
 * nearest found (HnswMetricBound), which W and C also admit no further
 * than, and cut W to hnsw.ef_search.  Frontier rule: stop
 * once the k nearest found have not changed for plan.patience hops, and
 * cut W to hnsw.ef_search.  Model (and probe): at the checkpoint, the
 * first candidate further than the c-th nearest found (c = trackK =
 * RV_LEARN_CHECKPOINT_EF(k): where a search with ef = c stops; up to
 * there this search expanded the same elements
 * in the same order, since W only admitted more), ask the model for the
 * ef to go on with: W is cut to it, or grows back from what it turned
 * away until then, and the same search continues as a search with that ef
 * would have run (no restart; TAP 601 compares the rows).  A model of
 * several checkpoints (plan.nck) says whether to ask again at the next
 * (plan.more): the search goes on with the effort it said, tracks the
 * nearest up to the next checkpoint's ef and asks there, until an answer
 * is final.  Up to each checkpoint the search is the one any ef at least
 * that large runs, but W regrows at each, so with several checkpoints the
 * rows may differ from those of a fresh search at the final effort
 * (docs/learning.md; TAP 601 holds at least half of its probes to them,
 * and ruvector.learning_checkpoints defaults to 1, where they are equal).  With
 * plan.patienceAfter (adaptive_effort = both) the frontier rule then
 * watches the rest of the search and may stop it before that ef.
 */
static int
AdaptProgress(HnswSearch *s, void *arg, double popped, int ef, bool *stop)
{
	HnswScanOpaque so = (HnswScanOpaque) arg;
	RvLearnPlan *plan = &so->plan;
	bool		full = s->topk.count >= s->trackK;
	double		kth = full ? s->topk.items[0].distance : get_float8_infinity();
	int			slot;
	double		kthBefore;
	RvGnnProgress p;
	double		margin;
	int			next;

	/* the bound rule keeps none of the other rules' progress */
	if (plan->mode == RV_ADAPT_BOUND)
	{
		/* the bound only falls: what it turns away now it would turn away later */
		if (full)
			s->admitBound = HnswMetricBound(&so->support, kth, plan->bound);
		if (popped > s->admitBound)
		{
			elog(DEBUG1, "ruvector learning: bound %.4f stopped the search after %.0f elements (model version %d)",
				 plan->bound, (double) s->tuples, plan->version);
			*stop = true;
			return Min(ef, so->adaptCut);
		}
		return ef;
	}

	/* the k-th nearest RV_GNN_HOPS_BACK hops ago, read before this hop's replaces it */
	slot = so->hops % RV_GNN_HOPS_BACK;
	kthBefore = so->hops >= RV_GNN_HOPS_BACK ? so->kthRing[slot] : get_float8_infinity();
	if (!full || kth < so->lastKth)
		so->sinceImproved = 0;
	else
		so->sinceImproved++;
	so->lastKth = kth;
	so->kthRing[slot] = kth;
	so->hops++;

	if (plan->mode == RV_ADAPT_FRONTIER || so->decided)
	{
		if (full && so->sinceImproved >= plan->patience)
		{
			*stop = true;
			return so->decided ? ef : Min(ef, so->adaptCut);
		}
		return ef;
	}
	if (!full || !(popped > kth))
		return ef;

	/* the checkpoint */
	memset(&p, 0, sizeof(p));
	p.entry = so->entryDistance;
	p.first = s->nearestSeen;
	p.kth = kth;
	p.kthBefore = kthBefore;
	margin = kth + RV_GNN_NEAR_MARGIN * (kth - s->nearestSeen);
	/* all found within the margin: W and what it turned away, whatever W's size */
	for (int i = 0; i < s->far.count; i++)
		if (s->far.items[i].distance <= margin)
			p.nearSeen++;
	for (int i = 0; i < s->discarded.count; i++)
		if (s->discarded.items[i].distance <= margin)
			p.nearSeen++;
	for (int i = 0; i < s->near.count; i++)
		if (s->near.items[i].distance <= margin)
			p.nearOpen++;
	p.nearOpen += popped <= margin;
	p.visited = (double) s->tuples;
	p.hops = so->hops - 1;
	p.sinceImproved = so->sinceImproved;

	next = RvLearningSearchEffort(s->index, plan, &p);
	if (so->rerank)
		next *= rv_rerank_factor;
	next = Max(Min(next, so->efMax), s->trackK);
	if (plan->more)
	{
		/*
		 * Ask again at the next checkpoint: W holds what the effort said
		 * (at least that checkpoint), keeps what it turns away, and the c
		 * nearest of all found are tracked anew for c = that checkpoint
		 */
		plan->stage++;
		HnswSearchRetrack(s, RV_LEARN_STAGE_EF(plan, plan->stage));
		so->sinceImproved = 0;
		so->lastKth = s->topk.count >= s->trackK ? s->topk.items[0].distance :
			get_float8_infinity();
		return Max(next, s->trackK * (so->rerank ? rv_rerank_factor : 1));
	}
	so->decided = true;
	s->copyDiscarded = false;
	if (!plan->patienceAfter)
		s->progress = NULL;		/* decided: the search goes on as with a fixed ef */
	s->keepDiscarded = so->iterative != HNSW_ITERATIVE_OFF;
	if (plan->mode == RV_ADAPT_PROBE || next <= s->trackK)
	{
		*stop = true;
		return s->trackK;
	}
	return next;
}

/* Adaptive effort: hook the layer-0 search of the first batch */
static void
AdaptStart(HnswScanOpaque so, double entryDistance)
{
	HnswSearch *s = &so->search;

	s->trackK = so->plan.mode == RV_ADAPT_FRONTIER || so->plan.mode == RV_ADAPT_BOUND ?
		so->plan.k : so->plan.checkpoint;
	s->topk.count = 0;
	s->nearestSeen = get_float8_infinity();
	s->progress = AdaptProgress;
	s->progressArg = so;
	/*
	 * What W turns away before the checkpoint, with its slots, in case the
	 * effort grows: a search with the larger ef would have admitted it
	 * and copied them then.
	 */
	if (so->plan.mode != RV_ADAPT_FRONTIER && so->plan.mode != RV_ADAPT_BOUND)
	{
		s->keepDiscarded = true;
		s->copyDiscarded = true;
	}
	so->adaptCut = Max(so->ef, so->plan.k);
	so->hops = 0;
	so->decided = false;
	so->sinceImproved = 0;
	so->lastKth = get_float8_infinity();
	so->entryDistance = entryDistance;
}

/* Whether the scan keys may match anything: a NULL argument never does */
static bool
KeysCanMatch(IndexScanDesc scan)
{
	for (int i = 0; i < scan->numberOfKeys; i++)
		if ((scan->keyData[i].sk_flags & SK_ISNULL) != 0)
			return false;
	return true;
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
	int			efLayer0;

	HnswReadMeta(scan->indexRelation, &m, NULL, &entry, &entryLevel, NULL);
	if (!ItemPointerIsValid(&entry) || !KeysCanMatch(scan))
		return;

	CheckQuery(scan, query, &entry);

	/*
	 * Wider while the index's integrity state is critical
	 * (integrity_gate.c): then the widened ef_search, not the adaptive one.
	 */
	so->ef = hnsw_ef_search;
	so->iterative = hnsw_iterative_scan;
	RvIntegritySearchWiden(scan->indexRelation, &so->ef, &so->iterative);
	/* after anything that may run SPI: the plan's model is used until the checkpoint */
	RvLearningPlan(scan->indexRelation, query, &so->plan);
	if (so->ef != hnsw_ef_search && so->plan.mode != RV_ADAPT_PROBE)
		so->plan.mode = RV_ADAPT_OFF;
	/* the models know unfiltered searches only */
	if (scan->numberOfKeys > 0)
		so->plan.mode = RV_ADAPT_OFF;
	so->strict = so->iterative == HNSW_ITERATIVE_STRICT;
	if (so->strict)
	{
		so->pending = pairingheap_allocate(ComparePending, NULL);
		if (so->rerank && query != NULL)
			QueryError(so);
	}
	if (so->rerank)
		so->ef *= rv_rerank_factor;
	efLayer0 = so->ef;
	so->efMax = so->ef;
	if (so->plan.mode == RV_ADAPT_MODEL || so->plan.mode == RV_ADAPT_PROBE)
	{
		int			factor = so->rerank ? rv_rerank_factor : 1;

		efLayer0 = RV_LEARN_PHASE_EF(so->plan.k) * factor;
		so->efMax = Max(efLayer0, so->plan.efCap * factor);
	}
	else if (so->plan.mode == RV_ADAPT_BOUND)
	{
		/* the bound stops the search; W grows as far as the cap meanwhile */
		efLayer0 = Max(so->ef, so->plan.efCap * (so->rerank ? rv_rerank_factor : 1));
		so->efMax = efLayer0;
	}
	so->ep = palloc(sizeof(uint32) * so->efMax);
	/* sized for the effort the model usually picks, not hnsw.ef_search */
	HnswSearchInit(s, scan->indexRelation, &so->support, m,
				   so->plan.mode == RV_ADAPT_MODEL ? Max(efLayer0, so->plan.efTypical) : so->ef,
				   query);
	if (so->rerank && query != NULL)
		HnswSearchSetFloats(s, so->queryFloats);
	s->wantHeapTids = true;
	s->trackCodeError = so->strict && so->rerank;
	so->started = true;
	if (scan->numberOfKeys > 0)
	{
		s->filterKeys = HnswFilterPrepare(&so->support, scan->keyData, scan->numberOfKeys);
		s->nfilterKeys = scan->numberOfKeys;
		s->maxTuples = hnsw_max_scan_tuples;
		HnswSearchSizeVisitedForFilter(s);
	}

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
	if (so->plan.mode != RV_ADAPT_OFF)
		AdaptStart(so, s->cands[ep[0]].distance);
	so->nresults = HnswSearchLayer(s, ep, nep, efLayer0, 0, true, &so->results);
	/* the first batch only: an exhaustive iterative scan says nothing of the next query */
	HnswSearchRememberVisited(s);
	so->pos = 0;
	if (so->plan.mode != RV_ADAPT_OFF)
	{
		/* later batches of an iterative scan: the effort this one took */
		s->progress = NULL;
		s->trackK = 0;
		s->admitBound = get_float8_infinity();
		s->copyDiscarded = false;
		s->keepDiscarded = so->iterative != HNSW_ITERATIVE_OFF;
		so->ef = Max(so->nresults, 1);
	}
	RvLearningCapture(scan->indexRelation, query, so->ef, (int) s->tuples);
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

	/*
	 * An empty batch (every entry point recycled) is not the end: callers
	 * ask again until the discarded heap is empty.
	 */
	so->pos = 0;
	return true;
}

/*
 * Exact distance of a fetched row's value to the query (rerank.c calls
 * this), or false for a value the index leaves out (zero under cosine).
 */
static bool
RowDistance(void *arg, Datum d, double *distance)
{
	HnswScanOpaque so = (HnswScanOpaque) arg;
	Datum		value;

	if (so->support.typeInfo->kind == HNSW_KIND_HALFVEC)
		d = PointerGetDatum(DatumGetHalfVector(d));
	else
		d = PointerGetDatum(DatumGetVector(d));
	if (!HnswFormValue(&so->support, d, &value))
		return false;
	*distance = HnswDistance(&so->support, so->query, DatumGetPointer(value));
	return true;
}

/*
 * Exact distance of the row at tid, or false if the scan's snapshot does
 * not see it.  ORDER BY NULL: every distance is 0, and visibility is the
 * executor's.
 */
static bool
FetchExactDistance(IndexScanDesc scan, ItemPointer tid, double *distance)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (so->query == NULL)
	{
		*distance = 0;
		return true;
	}
	return rv_rerank_fetch(&so->rr, scan, tid, distance);
}

/* Pending rows: nearest on top (pairingheap keeps the greatest on top) */
static int
ComparePending(const pairingheap_node *a, const pairingheap_node *b, void *arg)
{
	const HnswPending *pa = pairingheap_const_container(HnswPending, ph, a);
	const HnswPending *pb = pairingheap_const_container(HnswPending, ph, b);

	return rv_rank_compare(pb->distance, (ItemPointer) &pb->tid,
						   pa->distance, (ItemPointer) &pa->tid);
}

/* One ranked row: to the pending heap (strict_order) or the batch array */
static void
AddRanked(HnswScanOpaque so, ItemPointer tid, double distance)
{
	if (so->strict)
	{
		HnswPending *p = palloc(sizeof(HnswPending));

		p->distance = distance;
		p->tid = *tid;
		pairingheap_add(so->pending, &p->ph);
		if (rv_distance_less(distance, so->batchMin))
			so->batchMin = distance;
		return;
	}
	rv_rerank_add(&so->rr, tid, distance);
}

/*
 * Rank the heap TIDs of the batch in so->results: with compact storage by
 * the exact distance of the row (rows the snapshot cannot see are left
 * out), with float32 (strict_order only) by the element's distance, which
 * is exact.  strict_order adds them to so->pending; otherwise they replace
 * so->ranked, in exact order.  Runs without the scan lock: the TIDs were
 * copied when the elements were read.
 */
static void
RerankBatch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswSearch *s = &so->search;

	rv_rerank_reset(&so->rr);
	so->batchMin = get_float8_infinity();
	if (so->rerank)
	{
		/* every row of the batch is fetched: ask for their blocks at once */
		so->rr.nwant = 0;
		for (int p = so->pos; p < so->nresults; p++)
		{
			HnswCand   *c = &s->cands[so->results[p]];

			for (int t = 0; t < c->ntids; t++)
				rv_rerank_want(&so->rr, &s->heaptids[c->tidStart + t]);
		}
		rv_rerank_prefetch(&so->rr, scan);
	}
	for (; so->pos < so->nresults; so->pos++)
	{
		HnswCand   *c = &s->cands[so->results[so->pos]];

		while (c->ntids > 0)
		{
			ItemPointer tid = &s->heaptids[c->tidStart + --c->ntids];
			double		distance = c->distance;

			if (so->rerank)
			{
				CHECK_FOR_INTERRUPTS();
				if (!FetchExactDistance(scan, tid, &distance))
					continue;
			}
			AddRanked(so, tid, distance);
		}
	}
	so->batches++;
	if (!so->strict)
		rv_rerank_sort(&so->rr);
}

/*
 * strict_order: a lower bound of the exact distance of any row the scan
 * has not ranked yet, as far as elements already read tell (see NOTES):
 * the nearest discarded candidate's distance, widened for compact storage
 * by what its code can hide.  +Inf when no candidate is left, -Inf when
 * codes bound nothing (binary, saturated float16).
 */
static double
RankBound(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswSearch *s = &so->search;
	double		top;
	double		e;				/* |x - x^| + |q - q^| */
	double		ex;
	double		q = so->queryNorm;
	double		n;
	double		r;

	if (!so->started || s->discarded.count == 0 || so->query == NULL)
		return get_float8_infinity();
	top = s->discarded.items[0].distance;
	if (!so->rerank)
		return top;				/* float32: the distances are the exact ones */

	ex = s->maxCodeError;
	n = s->maxCodeNorm;
	e = ex + so->queryError;
	if (!isfinite(e) || !isfinite(n) || !isfinite(q))
		return -get_float8_infinity();

	switch (so->support.codeMetric)
	{
		case RV_CODE_L2SQ:
			/* |q - x| >= |q^ - x^| - e; 1e-4 covers float32 rounding */
			r = sqrt(Max(top, 0.0)) - e;
			return (r > 0 ? r * r : 0) - 1e-4 * (q + n) * (q + n);
		case RV_CODE_NEGDOT:
			/* |q.x - q^.x^| <= |q^| |x - x^| + |q - q^| |x| */
			return top - ((q + so->queryError) * ex + so->queryError * (n + ex)) -
				1e-4 * (q * n + 1e-30);
		case RV_CODE_L1:
			/* |v|_1 <= sqrt(dim) |v|_2 */
			return top - sqrt((double) so->support.dimensions) * (e + 1e-4 * (q + n));
		default:
			return -get_float8_infinity();
	}
}

/*
 * strict_order: the nearest pending row once nothing unranked can be
 * nearer (RankBound), ranking further batches until then; once no batch is
 * left, the pending rows in order.
 */
static bool
NextPending(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	double		bound;

	for (;;)
	{
		if (!pairingheap_is_empty(so->pending))
		{
			HnswPending *p = pairingheap_container(HnswPending, ph,
												   pairingheap_first(so->pending));

			if (so->searchDone ||
				(so->batches >= 2 && p->distance <= RankBound(scan) - HNSW_UNDERCUT_MARGIN * so->undercut))
			{
				(void) pairingheap_remove_first(so->pending);
				if (rv_distance_less(p->distance, so->previousDistance))
				{
					/* found by the graph after a farther row went out */
					so->late++;
					pfree(p);
					continue;
				}
				so->previousDistance = p->distance;
				scan->xs_heaptid = p->tid;
				pfree(p);
				return true;
			}
		}
		if (so->searchDone)
			return false;
		bound = RankBound(scan);
		if (!NextBatch(scan))
		{
			so->searchDone = true;
			if (so->late > 0)
				elog(DEBUG1, "hnsw strict_order scan found " INT64_FORMAT " rows after farther ones",
					 so->late);
			continue;
		}
		RerankBatch(scan);
		if (isfinite(bound) && so->batchMin < bound)
			so->undercut = Max(so->undercut, bound - so->batchMin);
	}
}

/*
 * Compact storage (and float32 under strict_order): the next ranked TID,
 * ranking further batches of an iterative scan as needed.
 */
static bool
NextRanked(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (so->strict)
		return NextPending(scan);

	while (!rv_rerank_next(&so->rr, &scan->xs_heaptid))
	{
		if (so->iterative == HNSW_ITERATIVE_OFF || !NextBatch(scan))
			return false;
		RerankBatch(scan);
	}
	return true;
}

/*
 * strict_order over compact storage: bounds of how far the query's own
 * code form is from it (float16 codes are ranked against the query rounded
 * to float16; sq8 and binary rank the float32 query), and its norm.
 */
static void
QueryError(HnswScanOpaque so)
{
	double		e2 = 0;
	double		n2 = 0;

	for (int i = 0; i < so->support.dimensions; i++)
	{
		double		v = fabs((double) so->queryFloats[i]);
		double		e = v * (1.0 / 2048.0) * 1.001 + 2.9802322387695312e-08;

		if (so->support.storage == RV_CODE_FLOAT16 && v >= 65504.0)
			e = get_float8_infinity();
		e2 += e * e;
		n2 += v * v;
	}
	so->queryError = so->support.storage == RV_CODE_FLOAT16 ? (float) (sqrt(e2) * 1.001) : 0.0f;
	so->queryNorm = (float) sqrt(n2);
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
	if (so->rerank || so->strict)
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

	if (so->rerank || so->strict)
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

	rv_rerank_end(&so->rr);
	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
