/*-------------------------------------------------------------------------
 *
 * ivfscan.c
 *	  Scanning an IVFFlat index: rank the lists by their center's distance
 *	  to the query, read the nearest ivfflat.probes lists, and return their
 *	  rows nearest first.
 *
 * NOTES
 *	  Candidates are (distance, heap TID) pairs in one array that grows by
 *	  doubling; once a batch of lists is read the array is made a binary
 *	  min-heap in linear time and rows are popped one at a time, so a
 *	  LIMIT k query pays O(n + k log n) rather than a full sort.  The lists
 *	  are in a min-heap too, ordered by distance and then by list number, so
 *	  that ties pick the same list as inserts and builds do.
 *
 *	  With ruvector.target_recall set and ruvector.adaptive_effort =
 *	  frontier, the first batch stops early once ruvector.frontier_patience
 *	  lists in a row added nothing to the k nearest found (k =
 *	  ruvector.learning_k): ivfflat.probes is then the most it reads.  The
 *	  non-learned counterpart of the hnsw scans' frontier rule (learning.h).
 *	  With a live model (adaptive_effort = model or both) the first batch
 *	  reads RV_LEARN_IVF_CHECKPOINT lists, then asks the model how many
 *	  lists to read in all from what they gave (AdaptCheckpoint: the 2k
 *	  nearest rows found, their spread, how much the last list moved them,
 *	  the lists left whose centers are nearer than the 2k-th row) and goes
 *	  on to that many: the rows of a scan with ivfflat.probes at that
 *	  number, as the lists are read in the same order (TAP 601).  With
 *	  adaptive_effort = both the frontier rule then watches the lists read
 *	  after the checkpoint and stops the batch once frontier_patience in a
 *	  row added nothing to the 2k nearest rows found, before the model's
 *	  number if so (as the hnsw scans' both).  Later batches of an
 *	  iterative scan read the model's number of lists each.
 *
 *	  With ivfflat.iterative_scan = relaxed_order the next ivfflat.probes
 *	  lists (in order of their centers) are read and merged into the
 *	  candidates when a batch runs out, and also for every
 *	  IVF_ITERATIVE_ROWS rows handed out past the first: a filter that
 *	  rejects most rows makes the scan hand out many, and the nearest rows
 *	  that pass lie further out, in lists the first batch did not read.
 *	  Growing the lists with the rows keeps the region read in proportion to
 *	  the rows taken from it (rows handed out early are still only the
 *	  nearest of the lists read so far).  ivfflat.max_probes bounds the
 *	  lists in all; rows of a later batch may be nearer than rows already
 *	  returned (relaxed order).
 *
 *	  Pages are read with the default buffer strategy so that an index that
 *	  fits in shared_buffers stays there between queries.  No pin is held
 *	  between calls: the TIDs are copied, and the MVCC snapshot keeps a TID
 *	  removed by VACUUM and reused by a later row from being returned (which
 *	  is why other snapshots are refused).
 *
 *	  Compact storage (storage = float16, sq8 or binary) ranks the entries
 *	  by the distance of their codes to the float32 query.  Those distances
 *	  are neither exact nor lower bounds, so the executor's reorder queue
 *	  cannot fix the order; instead the best IVF_RERANK_BATCH *
 *	  ruvector.rerank_factor candidates are taken at a time, each row is
 *	  fetched from the table with the scan's snapshot (rows it cannot see
 *	  are dropped, as the executor would drop them), its exact distance is
 *	  computed with the opclass's distance, and the batch is returned in
 *	  exact order (rerank.c, shared with hnsw: NaN last, then TID).  An
 *	  iterative scan keeps taking batches.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfscan.c
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
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "gnn/learning.h"
#include "indexam/indexam.h"
#include "indexam/ivfflat.h"
#include "indexam/rerank.h"

typedef struct IvfCandidate
{
	float		distance;
	ItemPointerData tid;
} IvfCandidate;

typedef struct IvfScanList
{
	float		distance;
	int			list;
	BlockNumber startPage;
} IvfScanList;

typedef struct IvfScanOpaqueData
{
	IvfSupport	support;
	int			lists;
	BlockNumber listHead;
	int			probes;			/* lists per batch */
	int			maxProbes;		/* lists in all */
	int			probed;			/* lists read so far */
	int64		returned;		/* rows handed out */
	bool		iterative;		/* lists grow with the rows handed out */
	bool		first;
	char	   *query;			/* NULL: a NULL query, every distance is 0 */

	IvfScanList *listHeap;		/* lists not read yet, min-heap */
	int			nlistHeap;

	IvfCandidate *cands;		/* min-heap once a batch is read */
	int			ncands;
	int			maxcands;

	MemoryContext scanCtx;		/* lives as long as the scan */

	/* Compact storage */
	bool		rerank;
	RvCodeQuery codeQuery;
	void	   *codeWork;		/* workspace of codeQuery */
	float	   *queryFloats;
	char	   *rowValue;		/* a fetched row's value, stored form */
	RvRerank	rr;				/* exact re-ranking (rerank.c) */
	bool		rrInit;
	int			batchSize;

	/*
	 * Adaptive effort of the first batch (learning.h): the trackK nearest
	 * found (k for the frontier rule, 2k for the model)
	 */
	RvLearnPlan plan;
	float	   *topk;			/* max-heap of trackK distances */
	int			ntopk;
	int			topkCap;
	int			trackK;
	float		entryDistance;	/* the nearest center */
	float		nearest;		/* the nearest row found */
} IvfScanOpaqueData;

typedef IvfScanOpaqueData *IvfScanOpaque;

static bool RowDistance(void *arg, Datum d, double *distance);

static inline bool
ListLess(const IvfScanList *a, const IvfScanList *b)
{
	if (rv_distance_less(a->distance, b->distance))
		return true;
	if (rv_distance_less(b->distance, a->distance))
		return false;
	return a->list < b->list;
}

static void
ListSiftDown(IvfScanList *heap, int n, int i)
{
	IvfScanList item = heap[i];

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && ListLess(&heap[child + 1], &heap[child]))
			child++;
		if (!ListLess(&heap[child], &item))
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = item;
}

static void
CandSiftDown(IvfCandidate *heap, int n, int i)
{
	IvfCandidate item = heap[i];

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && rv_distance_less(heap[child + 1].distance, heap[child].distance))
			child++;
		if (!rv_distance_less(heap[child].distance, item.distance))
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = item;
}

/*
 * Computes the distance from the query to every center and makes the
 * lists a heap, nearest first.
 */
static void
RankLists(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfSupport *support = &so->support;
	BlockNumber blkno = so->listHead;
	int			n = 0;
	const char *centers[MaxOffsetNumber];
	float		distances[MaxOffsetNumber];

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf = ReadBuffer(scan->indexRelation, blkno);
		Page		page;
		int			count;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		count = Min(PageGetMaxOffsetNumber(page), so->lists - n);

		for (int i = 0; i < count; i++)
			centers[i] = IvfListCenter(PageGetItem(page, PageGetItemId(page, i + 1)));

		if (so->query == NULL)
			memset(distances, 0, sizeof(float) * count);
		else
		{
			if (n == 0 && count > 0)
				IvfCheckQuery(support, so->query, centers[0]);
			IvfDistanceMany(support, support->distKind, support->distProc,
							so->query, centers, count, distances);
		}

		for (int i = 0; i < count; i++)
		{
			IvfScanList *sl = &so->listHeap[n];

			sl->distance = distances[i];
			sl->list = n++;
			sl->startPage = ((IvfList) PageGetItem(page, PageGetItemId(page, i + 1)))->startPage;
		}

		blkno = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}

	so->nlistHeap = n;
	for (int i = n / 2 - 1; i >= 0; i--)
		ListSiftDown(so->listHeap, n, i);
}

/* Makes room for at least more candidates */
static void
ReserveCandidates(IvfScanOpaque so, int more)
{
	Size		needed = (Size) so->ncands + more;
	Size		newmax;

	if (needed <= (Size) so->maxcands)
		return;

	newmax = Max((Size) so->maxcands * 2, needed);
	if (newmax > (Size) INT_MAX)
		elog(ERROR, "too many ivfflat candidates");
	so->cands = repalloc_huge(so->cands, newmax * sizeof(IvfCandidate));
	so->maxcands = (int) newmax;
}

/*
 * One page's entries to candidates.  The loop for each kernel is spelled
 * out so that the kernel pointer is loaded once per page.
 */
#define SCAN_ENTRIES(distexpr) \
	do { \
		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++) \
		{ \
			IvfEntry	entry = (IvfEntry) PageGetItem(page, PageGetItemId(page, offno)); \
			const void *x = IvfValueData(IvfEntryValue(entry)); \
			\
			(void) x; \
			out->distance = (distexpr); \
			out->tid = entry->heaptid; \
			out++; \
		} \
	} while (0)

static void
ScanPage(IvfScanOpaque so, Page page)
{
	IvfSupport *support = &so->support;
	OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);
	IvfCandidate *out;
	const void *q;
	int			n = support->kernelLength;

	ReserveCandidates(so, maxoffno);
	out = so->cands + so->ncands;
	so->ncands += maxoffno;

	if (so->query == NULL)
	{
		SCAN_ENTRIES(0);
		return;
	}

	if (so->rerank)
	{
		SCAN_ENTRIES(rv_code_distance(&so->codeQuery, IvfEntryValue(entry) + VARHDRSZ));
		return;
	}

	q = IvfValueData(so->query);
	switch (support->distKind)
	{
		case RV_KERNEL_F32_L2SQ:
			{
				rv_f32_kernel k = rv_kernels->f32_l2sq;

				SCAN_ENTRIES(k(q, x, n));
				break;
			}
		case RV_KERNEL_F32_NEGDOT:
			{
				rv_f32_kernel k = rv_kernels->f32_dot;

				SCAN_ENTRIES(-k(q, x, n));
				break;
			}
		case RV_KERNEL_F16_L2SQ:
			{
				rv_f16_kernel k = rv_kernels->f16_l2sq;

				SCAN_ENTRIES(k(q, x, n));
				break;
			}
		case RV_KERNEL_F16_NEGDOT:
			{
				rv_f16_kernel k = rv_kernels->f16_dot;

				SCAN_ENTRIES(-k(q, x, n));
				break;
			}
		default:
			SCAN_ENTRIES(IvfDistance(support, support->distKind, support->distProc,
									 IvfEntryValue(entry), so->query));
			break;
	}
}

/*
 * Adaptive effort: offer the candidates from index from on to the trackK
 * nearest found (a max-heap of distances); true if any entered.
 */
static bool
FrontierOffer(IvfScanOpaque so, int from)
{
	int			k = so->trackK;
	float	   *h = so->topk;
	bool		changed = false;

	for (int c = from; c < so->ncands; c++)
	{
		float		d = so->cands[c].distance;
		int			i;

		if (rv_distance_less(d, so->nearest))
			so->nearest = d;

		if (so->ntopk < k)
		{
			/* sift up */
			i = so->ntopk++;
			while (i > 0 && h[(i - 1) / 2] < d)
			{
				h[i] = h[(i - 1) / 2];
				i = (i - 1) / 2;
			}
			h[i] = d;
			changed = true;
		}
		else if (d < h[0])
		{
			/* replace the furthest, sift down */
			i = 0;
			for (;;)
			{
				int			child = 2 * i + 1;

				if (child >= k)
					break;
				if (child + 1 < k && h[child + 1] > h[child])
					child++;
				if (!(h[child] > d))
					break;
				h[i] = h[child];
				i = child;
			}
			h[i] = d;
			changed = true;
		}
	}
	return changed;
}

/*
 * The model's checkpoint after the first lists (ivfscan.c header): the
 * progress so far as the hnsw scans report theirs (gnn.h), with lists for
 * expansions; returns the lists to read in all.  A probe (training) stops
 * here.
 */
static int
AdaptCheckpoint(IndexScanDesc scan, float kthBefore, int sinceImproved)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	RvGnnProgress p;
	double		margin;
	int			lists;

	memset(&p, 0, sizeof(p));
	p.entry = so->entryDistance;
	p.first = so->nearest;
	p.kth = so->topk[0];
	p.kthBefore = kthBefore;
	margin = p.kth + RV_GNN_NEAR_MARGIN * (p.kth - p.first);
	for (int c = 0; c < so->ncands; c++)
		if (so->cands[c].distance <= margin)
			p.nearSeen++;
	/* lists left whose centers are nearer than the trackK-th row */
	for (int l = 0; l < so->nlistHeap; l++)
		if (so->listHeap[l].distance <= p.kth)
			p.nearOpen++;
	p.visited = so->ncands;
	p.hops = so->probed;
	p.sinceImproved = sinceImproved;
	lists = RvLearningSearchEffort(scan->indexRelation, &so->plan, &p);
	if (so->plan.mode == RV_ADAPT_PROBE)
		return so->probed;
	return Max(Min(lists, so->lists), so->probed);
}

/* Reads the next batch of lists into the candidates, then heapifies them */
static void
ScanNextLists(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	int			batch = 0;
	bool		frontier = so->plan.mode == RV_ADAPT_FRONTIER && so->probed == 0;
	bool		model = (so->plan.mode == RV_ADAPT_MODEL || so->plan.mode == RV_ADAPT_PROBE) &&
		so->probed == 0;
	bool		frontierAfter = false;	/* adaptive_effort = both, past the checkpoint */
	int			quiet = 0;		/* lists in a row that changed nothing */
	float		kthBefore = get_float4_infinity();
	int			limit = so->probes;
	int			maxProbes = so->maxProbes;

	/* the model: the checkpoint's lists, then as many as it says */
	if (model)
		limit = maxProbes = Min(so->plan.checkpoint, so->lists);
	if (model && so->nlistHeap > 0)
		so->entryDistance = so->listHeap[0].distance;

	while (batch < limit && so->probed < maxProbes && so->nlistHeap > 0)
	{
		BlockNumber blkno = so->listHeap[0].startPage;
		int			from = so->ncands;

		so->listHeap[0] = so->listHeap[--so->nlistHeap];
		ListSiftDown(so->listHeap, so->nlistHeap, 0);
		so->probed++;
		batch++;

		while (BlockNumberIsValid(blkno))
		{
			Buffer		buf;
			Page		page;

			CHECK_FOR_INTERRUPTS();

			buf = ReadBuffer(scan->indexRelation, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			ScanPage(so, page);
			blkno = IvfPageGetOpaque(page)->nextblkno;
			UnlockReleaseBuffer(buf);
		}

		if (frontier)
		{
			quiet = FrontierOffer(so, from) ? 0 : quiet + 1;
			if (so->ntopk >= so->plan.k && quiet >= so->plan.patience)
				break;
		}
		else if (frontierAfter)
		{
			/* both: the frontier rule may stop before the model's lists */
			quiet = FrontierOffer(so, from) ? 0 : quiet + 1;
			if (quiet >= so->plan.patience && batch < limit)
			{
				elog(DEBUG1, "ruvector learning: frontier rule stopped after %d of %d lists for index \"%s\"",
					 so->probed, limit, RelationGetRelationName(scan->indexRelation));
				break;
			}
		}
		else if (model)
		{
			float		kth = so->ntopk >= so->trackK ? so->topk[0] : get_float4_infinity();

			quiet = FrontierOffer(so, from) ? 0 : quiet + 1;
			kthBefore = kth;	/* before the list just read */
			if (batch == limit && so->ntopk >= so->trackK)
			{
				/* the checkpoint: from here on a fixed number of lists */
				limit = maxProbes = AdaptCheckpoint(scan, kthBefore, quiet);
				so->probes = Max(limit, 1);
				so->maxProbes = Max(so->maxProbes, limit);
				model = false;
				frontierAfter = so->plan.patienceAfter;
			}
			else if (batch == limit)
			{
				/* too few rows for a checkpoint yet: one more list */
				limit++;
				maxProbes = Min(limit, so->lists);
			}
		}
	}

	for (int i = so->ncands / 2 - 1; i >= 0; i--)
		CandSiftDown(so->cands, so->ncands, i);
}

/*
 * The query as a datum with a 4-byte header, in the scan's context,
 * normalised for cosine; NULL for a NULL query.
 */
static char *
PrepareQuery(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	ScanKey		key = scan->orderByData;
	MemoryContext oldCtx;
	struct varlena *arg;
	struct varlena *v;
	char	   *query;

	if (key->sk_flags & SK_ISNULL)
		return NULL;

	oldCtx = MemoryContextSwitchTo(so->scanCtx);
	arg = (struct varlena *) DatumGetPointer(key->sk_argument);
	v = pg_detoast_datum(arg);
	query = palloc(VARSIZE_ANY_EXHDR(v) + VARHDRSZ);
	SET_VARSIZE(query, VARSIZE_ANY_EXHDR(v) + VARHDRSZ);
	memcpy(query + VARHDRSZ, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	if (v != arg)
		pfree(v);
	MemoryContextSwitchTo(oldCtx);

	/*
	 * A zero query stays zero (every distance 0), as l2_normalize leaves it;
	 * a query of the wrong size is reported by IvfCheckQuery.
	 */
	if (so->support.normalize && VARSIZE(query) == so->support.valueSize)
		(void) IvfNormalizeValue(&so->support, query);
	return query;
}

IndexScanDesc
ivfflatbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IvfScanOpaque so = palloc0(sizeof(IvfScanOpaqueData));
	int			dimensions;
	int			probes = ivfflat_probes;
	int			maxProbes = probes;
	MemoryContext oldCtx;
	IvfMetaPageData meta;

	IvfReadMetaAll(index, &meta);
	so->lists = (int) meta.lists;
	so->listHead = meta.listHead;
	dimensions = (int) meta.dimensions;

	if (ivfflat_iterative_scan != IVF_ITERATIVE_OFF)
		maxProbes = Max(ivfflat_max_probes, probes);
	so->probes = Min(probes, so->lists);
	so->maxProbes = Min(maxProbes, so->lists);
	so->iterative = ivfflat_iterative_scan != IVF_ITERATIVE_OFF;

	so->scanCtx = AllocSetContextCreate(CurrentMemoryContext,
										"ivfflat scan context",
										ALLOCSET_DEFAULT_SIZES);
	so->listHeap = MemoryContextAlloc(so->scanCtx, sizeof(IvfScanList) * so->lists);
	so->maxcands = 1024;
	so->cands = MemoryContextAlloc(so->scanCtx, sizeof(IvfCandidate) * so->maxcands);
	so->first = true;

	/* Scratch of compact storage lives in the scan context too */
	oldCtx = MemoryContextSwitchTo(so->scanCtx);
	IvfInitSupport(&so->support, index, dimensions, (int) meta.storage);
	if (IvfIsCompact(&so->support))
	{
		rv_rerank_init(&so->rr, index, "ivfflat", RowDistance, so);
		so->rrInit = true;
		so->queryFloats = palloc(sizeof(float) * Max(dimensions, 1));
		so->codeWork = palloc(Max(rv_code_query_workspace(so->support.storage,
															   dimensions), 1));
		so->rowValue = palloc(so->support.valueSize);
	}
	MemoryContextSwitchTo(oldCtx);

	scan->opaque = so;
	return scan;
}

void
ivfflatrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	so->first = true;
	so->probed = 0;
	so->returned = 0;
	so->ncands = 0;
	so->nlistHeap = 0;
	rv_rerank_reset(&so->rr);
	if (so->query != NULL)
	{
		pfree(so->query);
		so->query = NULL;
	}

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/*
 * Compact storage: the query as floats for the codes.  Called after
 * RankLists, which reports a query of the wrong dimensions.
 */
static void
PrepareCodeQuery(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfSupport *support = &so->support;

	if (VARSIZE(so->query) != support->valueSize)
		elog(ERROR, "ivfflat query has the wrong size");
	if (support->typeInfo->kind == IVF_TYPE_HALFVEC)
		rv_half_to_float_n((const rv_half *) IvfValueData(so->query), so->queryFloats,
						   support->dimensions);
	else
		memcpy(so->queryFloats, IvfValueData(so->query), sizeof(float) * support->dimensions);
	rv_code_query_init(&so->codeQuery, (RvCodeKind) support->storage,
					   (RvCodeMetric) support->codeMetric, so->queryFloats,
					   support->dimensions, so->codeWork);
	so->batchSize = IVF_RERANK_BATCH * Max(rv_rerank_factor, 1);
	so->rerank = true;
}

/*
 * An iterative scan has read too few lists for the rows it handed out: one
 * batch of probes lists per IVF_ITERATIVE_ROWS rows (see the file header).
 */
static bool
NeedMoreLists(IvfScanOpaque so)
{
	int64		batches;

	if (!so->iterative || so->returned < IVF_ITERATIVE_ROWS)
		return false;
	batches = so->returned / IVF_ITERATIVE_ROWS + 1;
	return (int64) so->probed < batches * so->probes;
}

/* The next candidate by (code) distance, reading further lists as allowed */
static bool
PopCandidate(IndexScanDesc scan, ItemPointer tid)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	while (so->ncands == 0 || NeedMoreLists(so))
	{
		if (so->probed >= so->maxProbes || so->nlistHeap == 0)
		{
			if (so->ncands == 0)
				return false;
			break;
		}
		ScanNextLists(scan);
	}
	*tid = so->cands[0].tid;
	so->cands[0] = so->cands[--so->ncands];
	CandSiftDown(so->cands, so->ncands, 0);
	return true;
}

/*
 * Exact distance of a fetched row's value to the query (rerank.c calls
 * this), or false for a zero vector under cosine, which the index leaves
 * out.
 */
static bool
RowDistance(void *arg, Datum d, double *distance)
{
	IvfScanOpaque so = (IvfScanOpaque) arg;
	IvfSupport *support = &so->support;

	IvfFetchValue(support, d, so->rowValue);
	if (support->normalize && !IvfNormalizeValue(support, so->rowValue))
		return false;
	*distance = IvfDistance(support, support->distKind, support->distProc,
							so->rowValue, so->query);
	return true;
}

/* Compact storage: the next batch of candidates, in exact order */
static bool
RerankBatch(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	ItemPointerData tid;

	rv_rerank_reset(&so->rr);
	while (so->rr.nranked < so->batchSize)
	{
		/* the candidates that can fill the batch, their blocks asked at once */
		so->rr.nwant = 0;
		while (so->rr.nwant < so->batchSize - so->rr.nranked && PopCandidate(scan, &tid))
			rv_rerank_want(&so->rr, &tid);
		if (so->rr.nwant == 0)
			break;
		rv_rerank_prefetch(&so->rr, scan);
		for (int i = 0; i < so->rr.nwant; i++)
		{
			double		distance;

			CHECK_FOR_INTERRUPTS();
			if (rv_rerank_fetch(&so->rr, scan, &so->rr.want[i], &distance))
				rv_rerank_add(&so->rr, &so->rr.want[i], distance);
		}
	}
	rv_rerank_sort(&so->rr);
	return so->rr.nranked > 0;
}

bool
ivfflatgettuple(IndexScanDesc scan, ScanDirection dir)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	if (so->first)
	{
		pgstat_count_index_scan(scan->indexRelation);

		if (scan->orderByData == NULL)
			elog(ERROR, "cannot scan ivfflat index without order");

		/* See the file header: TIDs are returned without a pin */
		if (!IsMVCCSnapshot(scan->xs_snapshot))
			elog(ERROR, "non-MVCC snapshots are not supported with ivfflat");

		so->query = PrepareQuery(scan);
		so->rerank = false;
		RvLearningPlan(scan->indexRelation, so->query, &so->plan);
		if (so->plan.mode != RV_ADAPT_OFF)
		{
			so->trackK = so->plan.mode == RV_ADAPT_FRONTIER ? so->plan.k :
				RV_LEARN_CHECKPOINT_EF(so->plan.k);
			if (so->topkCap < so->trackK)
			{
				so->topk = MemoryContextAlloc(so->scanCtx, sizeof(float) * so->trackK);
				so->topkCap = so->trackK;
			}
			so->ntopk = 0;
			so->nearest = get_float4_infinity();
		}
		RankLists(scan);
		if (so->query != NULL && IvfIsCompact(&so->support))
			PrepareCodeQuery(scan);
		ScanNextLists(scan);
		so->first = false;
		RvLearningCapture(scan->indexRelation, so->query, so->probed, so->ncands);
	}

	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;

	if (so->rerank)
	{
		while (!rv_rerank_next(&so->rr, &scan->xs_heaptid))
			if (!RerankBatch(scan))
				return false;
		so->returned++;
		return true;
	}

	if (!PopCandidate(scan, &scan->xs_heaptid))
		return false;
	so->returned++;
	return true;
}

void
ivfflatendscan(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	if (so->rrInit)
		rv_rerank_end(&so->rr);
	MemoryContextDelete(so->scanCtx);
	pfree(so);
	scan->opaque = NULL;
}
