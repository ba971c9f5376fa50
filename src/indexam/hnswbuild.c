/*-------------------------------------------------------------------------
 *
 * hnswbuild.c
 *	  Building an HNSW index: CREATE INDEX, REINDEX, and the init fork of
 *	  unlogged indexes.
 *
 * NOTES
 *	  In-memory phase.  The graph is built in one contiguous area of at most
 *	  maintenance_work_mem: private memory for a serial build, a DSM chunk
 *	  shared by the leader and its workers for a parallel one.  Elements
 *	  are bump-allocated and refer to each other by HnswRef, their offset in
 *	  the area divided by 8, so the same graph is valid at any mapping
 *	  address and a reference costs 4 bytes.  An element holds its heap
 *	  TIDs, a sorted neighbour list per layer (reference and distance, and
 *	  the cached "closer" bits of the selection heuristic, so that adding a
 *	  back-link costs a few distances instead of a quadratic re-selection)
 *	  and its value.  Distances call the SIMD kernels directly; visited
 *	  elements are marked in a per-process array of stamps indexed by a
 *	  dense element id, so a search allocates nothing per element.
 *
 *	  Compact storage float16 and sq8.  Elements hold the code the index
 *	  stores, not the float32 value: 2 or 4 times less memory, so
 *	  the graph of a table that would overflow maintenance_work_mem with
 *	  float32 values stays in memory (the on-disk phase costs 10-20 times
 *	  as much per row).  The element being inserted is ranked from its
 *	  exact value against the others' codes, and codes against codes when
 *	  selecting neighbours: the distances the on-disk insert uses, so the
 *	  graph is the one aminsert would build.  float32 and binary storage
 *	  keep the exact values, as before: binary codes (sign bits) tie so
 *	  often that neighbour selection over them loses rows (TAP 108 counted
 *	  7,457 of 8,000 reachable).
 *
 *	  Parallel builds.  Each participant scans part of the heap and inserts
 *	  into the shared graph.  An element's LWLock protects its neighbour
 *	  lists and heap TIDs; readers copy a list under the shared lock.  The
 *	  entry lock is held shared by every insert and exclusively by one that
 *	  may become the new entry point (entryWaitLock lets such an insert get
 *	  in ahead of a stream of shared holders).  flushLock is held shared by
 *	  every in-memory insert and exclusively while the graph is written out.
 *	  A serial build takes none of these locks.
 *
 *	  On-disk phase.  When the next element does not fit in the area, the
 *	  graph is written to pages (the NOTICE says so) and the remaining rows
 *	  are inserted one by one as aminsert would, without WAL.
 *
 *	  Writing.  Pages are filled strictly in order: a first pass assigns
 *	  every element its page and offset (and an overflow tuple, placed on a
 *	  later page, when its slots do not fit beside a large value), a second
 *	  pass replays it and writes each page once, with neighbour TIDs
 *	  resolved.  Nothing is WAL-logged during the build; the finished
 *	  relation is logged with log_newpage_range, as for other bulk builds.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswbuild.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/condition_variable.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "indexam/hnsw.h"
#include "indexam/indexam.h"

#define PARALLEL_KEY_HNSW_SHARED	UINT64CONST(0xB7E5000000000001)
#define PARALLEL_KEY_HNSW_AREA		UINT64CONST(0xB7E5000000000002)
#define PARALLEL_KEY_QUERY_TEXT		UINT64CONST(0xB7E5000000000003)

/* References are 8-byte units, so an area can span 32 GB */
#define HNSW_MAX_AREA				((Size) UINT32_MAX * 8)
/* Room the parallel build leaves in its DSM for everything else */
#define HNSW_DSM_OTHER				((Size) 3 * 1024 * 1024)
/* Free space a shared graph never hands out */
#define HNSW_PARALLEL_MARGIN		((Size) 1024 * 1024)

typedef uint32 HnswRef;

#define RefPtr(base, ref)			((base) + ((Size) (ref) << 3))

/* A neighbour in memory: whom, and how far from the list's owner */
typedef struct MemNbr
{
	HnswRef		ref;
	float		dist;
} MemNbr;

/*
 * One layer's neighbours, sorted by distance, followed by one "closer"
 * byte per slot: whether the heuristic keeps that neighbour given the
 * kept ones before it.  closerValid says the bytes are current.
 */
typedef struct MemList
{
	uint16		count;
	uint8		closerValid;
	uint8		unused;
	MemNbr		items[FLEXIBLE_ARRAY_MEMBER];
} MemList;

#define MemListSize(lm)		MAXALIGN(offsetof(MemList, items) + (Size) (lm) * (sizeof(MemNbr) + 1))
#define MemListCloser(l, lm)	((uint8 *) &(l)->items[(lm)])

/* Element flags */
#define MEM_UNUSED		0x01	/* merged into a duplicate: not written */

/*
 * An element: this header, its value, its filter block (an index with
 * filter columns, hnswfilter.c), then its lists (layer 0 first).  The
 * value comes first so that computing a distance touches only the value's
 * cache lines, at an address known from the reference alone.
 */
typedef struct MemElement
{
	uint32		size;			/* bytes, to walk the area */
	uint32		listOff;		/* layer 0's list, from the element's start */
	uint8		level;
	uint8		ntids;
	uint8		flags;
	uint8		unused;
	BlockNumber blkno;			/* where the flush puts it */
	OffsetNumber offno;
	ItemPointerData heaptids[HNSW_HEAPTIDS];
	LWLock		lock;			/* parallel builds only */
} MemElement;

#define MEM_HEADER_SIZE		MAXALIGN(sizeof(MemElement))

/* The graph header: private, or in the parallel build's DSM */
typedef struct MemGraph
{
	slock_t		mutex;			/* protects the fields up to entry */
	Size		used;			/* bytes handed out in the area */
	Size		total;
	Size		margin;			/* kept free: see InitSharedGraph */
	uint32		nelements;
	double		indtuples;
	HnswRef		entry;			/* protected by entryLock in parallel builds */
	bool		flushed;		/* protected by flushLock */
	LWLock		entryLock;
	LWLock		entryWaitLock;
	LWLock		flushLock;
} MemGraph;

/* Shared state of a parallel build, followed by the table scan descriptor */
typedef struct HnswShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			trancheId;
	ConditionVariable workersdonecv;
	slock_t		mutex;
	int			nparticipantsdone;
	double		reltuples;
	MemGraph	graph;
} HnswShared;

#define ParallelTableScanFromHnswShared(shared) \
	(ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(HnswShared)))

typedef struct HnswLeader
{
	ParallelContext *pcxt;
	int			nparticipants;
	HnswShared *shared;
	Snapshot	snapshot;
	char	   *area;
} HnswLeader;

/* Search scratch: (distance, reference) heaps and the result */
typedef struct MemHeap
{
	MemNbr	   *items;
	int			count;
	int			capacity;
} MemHeap;

typedef struct HnswBuildState
{
	/* Info */
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;
	ForkNumber	forkNum;
	HnswSupport support;

	/* Settings */
	int			dimensions;
	int			m;
	int			efConstruction;
	bool		parallel;		/* take the graph's LWLocks */
	int			trancheId;
	bool		codes;			/* elements hold compact codes (see NOTES) */

	/* Statistics */
	double		reltuples;
	double		indtuples;

	/* Graph */
	MemGraph	privateGraph;
	MemGraph   *graph;
	char	   *base;

	/* Search scratch, per process */
	uint32	   *stamps;
	Size		nstamps;
	int			stampShift;
	uint32		epoch;
	MemHeap		near;
	MemHeap		far;
	MemNbr	   *lists[64];		/* per-layer results of the last search */
	MemNbr	   *scratch;		/* a neighbour list copied out of the graph */
	Size		prefetchBytes;	/* of a value, capped */

	/* Compact storage: the exact value of the element being inserted */
	float	   *exact;
	RvCodeQuery exactQuery;
	void	   *exactWork;

	/* Memory */
	MemoryContext tmpCtx;

	/* Parallel */
	HnswLeader *leader;
} HnswBuildState;

/* ----------------------------------------------------------------
 *		Elements
 * ----------------------------------------------------------------
 */

static inline MemElement *
Elem(HnswBuildState *bs, HnswRef ref)
{
	return (MemElement *) RefPtr(bs->base, ref);
}

static inline const char *
ElemValue(MemElement *e)
{
	return (const char *) e + MEM_HEADER_SIZE;
}

/* The value of a referenced element, without touching its header */
static inline const char *
RefValue(HnswBuildState *bs, HnswRef ref)
{
	return RefPtr(bs->base, ref) + MEM_HEADER_SIZE;
}

static inline MemList *
ElemList(HnswBuildState *bs, MemElement *e, int lc)
{
	Size		off = e->listOff;

	if (lc > 0)
		off += MemListSize(2 * bs->m) + (Size) (lc - 1) * MemListSize(bs->m);
	return (MemList *) ((char *) e + off);
}

static Size
ElemSize(int m, int level, Size valsize, Size fsize)
{
	return MEM_HEADER_SIZE + MAXALIGN(valsize) + fsize + MemListSize(2 * m) +
		(Size) level * MemListSize(m);
}

/* The filter block of an element (support.filterSize bytes) */
static inline const char *
ElemFilter(MemElement *e)
{
	return ElemValue(e) + MAXALIGN(VARSIZE(ElemValue(e)));
}

static inline void
ElemLock(HnswBuildState *bs, MemElement *e, LWLockMode mode)
{
	if (bs->parallel)
		LWLockAcquire(&e->lock, mode);
}

static inline void
ElemUnlock(HnswBuildState *bs, MemElement *e)
{
	if (bs->parallel)
		LWLockRelease(&e->lock);
}

/* Distance between two values in the graph (codes under compact storage) */
static inline float
ElemDistance(HnswBuildState *bs, const char *a, const char *b)
{
	if (bs->codes)
	{
		float		d;

		/* float16 directly; HnswStoredDistance decodes a first */
		if (rv_code_distance_codes(bs->support.storage, bs->support.codeMetric,
								   a + VARHDRSZ, b + VARHDRSZ, bs->support.dimensions, &d))
			return d;
		return (float) HnswStoredDistance(&bs->support, a, b);
	}
	return (float) HnswDistance(&bs->support, a, b);
}

/*
 * Distance from the element being inserted (value q in the graph) to
 * value b: under compact storage from q's exact value, set by
 * SetInsertQuery.
 */
static inline float
QueryDistance(HnswBuildState *bs, const char *q, const char *b)
{
	if (bs->codes)
		return rv_code_distance(&bs->exactQuery, b + VARHDRSZ);
	return (float) HnswDistance(&bs->support, q, b);
}

/* Compact storage: rank the next insert's searches from its exact value */
static void
SetInsertQuery(HnswBuildState *bs, const char *value)
{
	HnswSupport *support = &bs->support;

	HnswValueFloats(support, value, bs->exact);
	rv_code_query_init(&bs->exactQuery, support->storage, support->codeMetric, bs->exact,
					   support->dimensions, bs->exactWork);
}

/*
 * Allocate and initialise an element, or return 0 when the area is full.
 * The element is invisible until a neighbour or the entry point links it.
 */
static HnswRef
NewElement(HnswBuildState *bs, const char *value, const char *filter, int level,
		   ItemPointer heaptid)
{
	Size		fsize = bs->support.filterSize;
	MemGraph   *g = bs->graph;
	Size		valsize;
	Size		size;
	Size		off;
	MemElement *e;

	if (bs->codes)
		value = HnswEncodeValue(&bs->support, value);
	valsize = VARSIZE(value);
	size = ElemSize(bs->m, level, valsize, fsize);

	SpinLockAcquire(&g->mutex);
	if (g->used + size + g->margin > g->total)
	{
		SpinLockRelease(&g->mutex);
		return 0;
	}
	off = g->used;
	g->used += size;
	g->nelements++;
	SpinLockRelease(&g->mutex);

	e = (MemElement *) (bs->base + off);
	memset(e, 0, MEM_HEADER_SIZE);
	e->size = (uint32) size;
	e->listOff = (uint32) (MEM_HEADER_SIZE + MAXALIGN(valsize) + fsize);
	e->level = (uint8) level;
	e->ntids = 1;
	e->heaptids[0] = *heaptid;
	if (bs->parallel)
		LWLockInitialize(&e->lock, bs->trancheId);
	for (int lc = 0; lc <= level; lc++)
	{
		MemList    *l = ElemList(bs, e, lc);

		l->count = 0;
		l->closerValid = 0;
	}
	memcpy((char *) e + MEM_HEADER_SIZE, value, valsize);
	if (fsize > 0)
		memcpy((char *) e + MEM_HEADER_SIZE + MAXALIGN(valsize), filter, fsize);
	return (HnswRef) (off >> 3);
}

/* ----------------------------------------------------------------
 *		In-memory search
 * ----------------------------------------------------------------
 */

/* MemHeapPush and MemHeapPop, from the template shared with hnswutils.c */
#define HH_PREFIX MemHeap
#define HH_HEAP MemHeap
#define HH_ITEM MemNbr
#define HH_DIST dist
#define HH_DIST_TYPE float
#define HH_KEY ref
#define HH_KEY_TYPE HnswRef
#define HH_SCOPE static inline
#include "common/rv_heap.h"

/*
 * Mark an element visited in this search; true if it already was.  Stamps
 * are indexed by the element's offset in the area divided by a power of two
 * no larger than the smallest element, so that two elements never share a
 * stamp and no element header is read to find one.
 */
static inline bool
Visit(HnswBuildState *bs, HnswRef ref)
{
	Size		i = ((Size) ref << 3) >> bs->stampShift;

	if (i >= bs->nstamps)
	{
		Size		n = Max(i + 1, (Size) bs->nstamps * 2);

		bs->stamps = repalloc_huge(bs->stamps, sizeof(uint32) * n);
		memset(bs->stamps + bs->nstamps, 0, sizeof(uint32) * (n - bs->nstamps));
		bs->nstamps = n;
	}
	if (bs->stamps[i] == bs->epoch)
		return true;
	bs->stamps[i] = bs->epoch;
	return false;
}

static void
NewEpoch(HnswBuildState *bs)
{
	if (++bs->epoch == 0)
	{
		memset(bs->stamps, 0, sizeof(uint32) * (Size) bs->nstamps);
		bs->epoch = 1;
	}
}

/*
 * The neighbours of e on layer lc: the list itself in a serial build, a
 * copy taken under the element's lock in a parallel one.
 */
static const MemNbr *
ReadList(HnswBuildState *bs, MemElement *e, int lc, int *count)
{
	MemList    *l = ElemList(bs, e, lc);

	if (!bs->parallel)
	{
		*count = l->count;
		return l->items;
	}
	ElemLock(bs, e, LW_SHARED);
	*count = l->count;
	memcpy(bs->scratch, l->items, sizeof(MemNbr) * l->count);
	ElemUnlock(bs, e);
	return bs->scratch;
}

/*
 * Search layer lc for q from ep (sorted or not), keeping the ef nearest.
 * Writes them nearest first to out (capacity Max(ef, nep)) and returns how
 * many.
 */
static int
MemSearchLayer(HnswBuildState *bs, const char *q, const MemNbr *ep, int nep,
			   int ef, int lc, MemNbr *out)
{
	MemHeap    *near = &bs->near;
	MemHeap    *far = &bs->far;
	int			n;

	NewEpoch(bs);
	near->count = 0;
	far->count = 0;
	for (int i = 0; i < nep; i++)
	{
		Visit(bs, ep[i].ref);
		MemHeapPush(near, ep[i].dist, ep[i].ref, false);
		MemHeapPush(far, ep[i].dist, ep[i].ref, true);
	}

	while (near->count > 0)
	{
		MemNbr		c = MemHeapPop(near, false);
		const MemNbr *nbrs;
		int			count;
		HnswRef		todo[HNSW_MAX_M * 2];
		int			ntodo = 0;

		if (c.dist > far->items[0].dist)
			break;

		/*
		 * Gather the unvisited neighbours and start fetching their values,
		 * so that the cache misses overlap instead of queueing up behind
		 * each distance.
		 */
		nbrs = ReadList(bs, Elem(bs, c.ref), lc, &count);
		for (int i = 0; i < count; i++)
		{
			if (Visit(bs, nbrs[i].ref))
				continue;
			todo[ntodo++] = nbrs[i].ref;
			for (Size b = 0; b < bs->prefetchBytes; b += 64)
				__builtin_prefetch(RefValue(bs, nbrs[i].ref) + b);
		}

		for (int i = 0; i < ntodo; i++)
		{
			float		d = QueryDistance(bs, q, RefValue(bs, todo[i]));

			if (far->count < ef || d < far->items[0].dist)
			{
				MemHeapPush(near, d, todo[i], false);
				MemHeapPush(far, d, todo[i], true);
				if (far->count > ef)
					(void) MemHeapPop(far, true);
			}
		}
	}

	n = far->count;
	for (int i = n - 1; i >= 0; i--)
		out[i] = MemHeapPop(far, true);
	return n;
}

/* ----------------------------------------------------------------
 *		Neighbour selection in memory
 * ----------------------------------------------------------------
 */

/* Whether candidate i is closer to the owner than to every kept one before it */
static bool
CloserThanKept(HnswBuildState *bs, const char *owner, const MemNbr *items,
			   const uint8 *closer, int i)
{
	const char *v = ElemValue(Elem(bs, items[i].ref));

	for (int k = 0; k < i; k++)
	{
		const char *kv;

		if (!closer[k])
			continue;
		kv = ElemValue(Elem(bs, items[k].ref));
		if (HnswPrunes(&bs->support, v, kv, owner, ElemDistance(bs, v, kv), items[i].dist,
					   items[k].dist))
			return false;
	}
	return true;
}

/* HnswPairDistance over an array of neighbours */
typedef struct MemPairs
{
	HnswBuildState *bs;
	const MemNbr *items;
} MemPairs;

static double
MemPairDistance(void *arg, int i, int j)
{
	MemPairs   *p = (MemPairs *) arg;

	return ElemDistance(p->bs, RefValue(p->bs, p->items[i].ref), RefValue(p->bs, p->items[j].ref));
}

/*
 * Fill an element's list on layer lc from W (nearest first): the heuristic
 * keeps candidates closer to the element than to any kept one, and pruned
 * ones top the list up to lm in HnswFillOrder's order.  The list stays sorted by
 * distance and its closer bits valid.
 */
static void
SetOwnList(HnswBuildState *bs, MemElement *e, int lc, const MemNbr *w, int nw)
{
	int			lm = HnswLayerM(bs->m, lc);
	MemList    *l = ElemList(bs, e, lc);
	uint8	   *closer = MemListCloser(l, lm);
	uint8	   *flag;
	int			nkept = 0;
	int			nevaluated;
	int			npruned = 0;
	uint8	   *dup;
	uint8	   *red;
	float	   *dists;
	MemPairs	pairs;
	uint8	   *take;
	int		   *order;
	int			norder;

	if (nw <= lm)
	{
		memcpy(l->items, w, sizeof(MemNbr) * nw);
		l->count = nw;
		l->closerValid = 0;
		return;
	}

	/* Decide nearest first until lm are kept */
	flag = palloc(nw);
	for (nevaluated = 0; nevaluated < nw && nkept < lm; nevaluated++)
	{
		flag[nevaluated] = CloserThanKept(bs, ElemValue(e), w, flag, nevaluated);
		if (flag[nevaluated])
			nkept++;
	}

	/* Kept ones and the first pruned ones in fill order, in distance order */
	dup = palloc(nevaluated);
	red = palloc(nevaluated);
	dists = palloc(sizeof(float) * nevaluated);
	order = palloc(sizeof(int) * nevaluated);
	take = palloc0(nevaluated);
	for (int i = 0; i < nevaluated; i++)
	{
		dists[i] = w[i].dist;
		dup[i] = HnswNearDuplicateNotCopy(&bs->support, w[i].dist, w[nw - 1].dist);
	}
	pairs.bs = bs;
	pairs.items = w;
	HnswMarkRedundant(&bs->support, nevaluated, dists, flag, dup, MemPairDistance, &pairs, red);
	norder = HnswFillOrder(flag, dup, red, nevaluated, lm, order);
	for (int i = 0; i < norder && npruned < lm - nkept; i++, npruned++)
		take[order[i]] = 1;
	l->count = 0;
	for (int i = 0; i < nevaluated; i++)
	{
		if (!flag[i] && !take[i])
			continue;
		closer[l->count] = flag[i];
		l->items[l->count++] = w[i];
	}
	l->closerValid = 1;
	pfree(flag);
	pfree(dup);
	pfree(red);
	pfree(dists);
	pfree(order);
	pfree(take);
}

/*
 * Whether a list entry sorts after a new one at dist: by distance, equal
 * distances at random, so that identical vectors do not always lose to the
 * same ones (see DroppedByHeuristic in hnswinsert.c).
 */
static inline bool
NbrAfter(const MemNbr *item, float dist)
{
	return item->dist > dist ||
		(item->dist == dist && (pg_prng_uint32(&pg_global_prng_state) & 1));
}

/*
 * Recompute the closer bits of n sorted items after a new one was put at
 * p, given valid bits for the others: entries before p keep theirs (they
 * only depend on what precedes them), the new one is checked against the
 * kept ones before it, and of the later ones, a kept one is rechecked
 * against newly kept ones only, and a pruned one only once some kept one
 * has been demoted (which is the only way it can become kept).
 */
static void
UpdateCloserBits(HnswBuildState *bs, const char *owner, const MemNbr *items, uint8 *flag,
				 int n, int p)
{
	int			newClosers[HNSW_MAX_M * 2 + 1];
	int			nnew = 0;
	bool		demoted = false;

	flag[p] = CloserThanKept(bs, owner, items, flag, p);
	if (flag[p])
		newClosers[nnew++] = p;
	for (int i = p + 1; i < n; i++)
	{
		const char *v = RefValue(bs, items[i].ref);

		if (flag[i])
		{
			for (int k = 0; k < nnew && flag[i]; k++)
			{
				const char *kv = RefValue(bs, items[newClosers[k]].ref);

				if (HnswPrunes(&bs->support, v, kv, owner, ElemDistance(bs, v, kv),
							   items[i].dist, items[newClosers[k]].dist))
					flag[i] = 0;
			}
			if (!flag[i])
				demoted = true;
		}
		else if (demoted)
		{
			flag[i] = CloserThanKept(bs, owner, items, flag, i);
			if (flag[i])
				newClosers[nnew++] = i;
		}
	}
}

/*
 * The new element's own links on one layer while its back-links are added
 * (see KeepCopiesInMemory): what it linked to when it was published, and
 * those a back-link relied on.
 */
typedef struct OwnMemLinks
{
	MemElement *self;
	int			lc;
	HnswRef		links[HNSW_MAX_M * 2];
	int			nlinks;
	HnswRef		pinned[HNSW_MAX_M * 2];
	int			npinned;
} OwnMemLinks;

static bool
OwnHas(const HnswRef *refs, int n, HnswRef ref)
{
	for (int i = 0; i < n; i++)
		if (refs[i] == ref)
			return true;
	return false;
}

static void
OwnPin(OwnMemLinks *own, HnswRef ref)
{
	if (!OwnHas(own->pinned, own->npinned, ref) && own->npinned < lengthof(own->pinned))
		own->pinned[own->npinned++] = ref;
}

/*
 * Make the new element link to ref, as hnswinsert.c's AddOwnLink does: a
 * free slot, else one of the links it was published with that no
 * back-link relied on, a copy of the element first (links written by
 * other inserts of a parallel build stay: they may be the only way to
 * their elements).  The list stays sorted; its closer bits are recomputed
 * when next needed.  Caller holds the element's lock exclusively.
 */
static bool
AddOwnLinkInMemory(HnswBuildState *bs, OwnMemLinks *own, HnswRef ref)
{
	MemList    *l = ElemList(bs, own->self, own->lc);
	int			lm = HnswLayerM(bs->m, own->lc);
	const char *v = ElemValue(own->self);
	float		dist = QueryDistance(bs, v, RefValue(bs, ref));
	int			slot = -1;
	HnswRef		old = 0;

	for (int i = 0; i < l->count; i++)
	{
		if (l->items[i].ref == ref)
		{
			if (!OwnHas(own->links, own->nlinks, ref) && own->nlinks < lengthof(own->links))
				own->links[own->nlinks++] = ref;
			return true;
		}
	}
	for (int pass = 0; pass < 2 && slot < 0 && l->count == lm; pass++)
		for (int i = 0; i < l->count && slot < 0; i++)
			if (OwnHas(own->links, own->nlinks, l->items[i].ref) &&
				!OwnHas(own->pinned, own->npinned, l->items[i].ref) &&
				(pass == 1 || HnswSameValue(RefValue(bs, l->items[i].ref), v)))
				slot = i;
	if (l->count < lm)
		slot = l->count++;
	else if (slot < 0)
		return false;
	else
		old = l->items[slot].ref;
	while (slot > 0 && NbrAfter(&l->items[slot - 1], dist))
	{
		l->items[slot] = l->items[slot - 1];
		slot--;
	}
	while (slot < l->count - 1 && l->items[slot + 1].dist < dist)
	{
		l->items[slot] = l->items[slot + 1];
		slot++;
	}
	l->items[slot].ref = ref;
	l->items[slot].dist = dist;
	l->closerValid = 0;

	for (int i = 0; i < own->nlinks; i++)
		if (own->links[i] == old)
			own->links[i] = ref;
	if (old == 0 && own->nlinks < lengthof(own->links))
		own->links[own->nlinks++] = ref;
	return true;
}

/*
 * hnswinsert.c's KeepCopiesReachable for the in-memory graph: of items (n,
 * the new element at p), the heuristic left out dropped, a copy of the new
 * element or the new element itself.  Returns the one to leave out instead
 * (p: the list stays as it is), a copy the new element links to; or -1
 * with *need set to a copy the new element must link to first (the
 * caller does that without the owner's lock, then tries again).
 */
static int
KeepCopiesInMemory(HnswBuildState *bs, OwnMemLinks *own, const MemNbr *items, int n, int p,
				   int dropped, bool mayNeed, HnswRef *need)
{
	const char *v = ElemValue(own->self);
	int			copies[HNSW_MAX_M * 2 + 1];
	int			ncopies = 0;
	int			victim;

	for (int i = 0; i < n; i++)
		if (i != p && HnswSameValue(RefValue(bs, items[i].ref), v))
			copies[ncopies++] = i;
	if (ncopies == 0)
		return dropped;
	for (int k = 0; k < ncopies; k++)
	{
		if (OwnHas(own->links, own->nlinks, items[copies[k]].ref))
		{
			OwnPin(own, items[copies[k]].ref);
			return copies[k];
		}
	}
	if (!mayNeed)
		return p;
	victim = dropped != p ? dropped
		: copies[pg_prng_uint64_range(&pg_global_prng_state, 0, ncopies - 1)];
	*need = items[victim].ref;
	return -1;
}

/*
 * Add (newRef, dist) to owner's full list on layer lc, as the heuristic
 * over the list plus the new element decides: the closer bits are updated
 * incrementally (only the new element and those it or a demotion affects
 * are rechecked) and the one element left out is dropped.  own, when not
 * NULL, is the new element's: returns a copy it must link to before the
 * list may take it (KeepCopiesInMemory, if mayNeed), else 0.  Caller holds
 * the owner's lock exclusively.
 */
static HnswRef
AddToFullList(HnswBuildState *bs, const char *owner, MemList *l, int lm, HnswRef newRef,
			  float dist, OwnMemLinks *own, bool mayNeed)
{
	MemNbr		items[HNSW_MAX_M * 2 + 1];
	uint8		flag[HNSW_MAX_M * 2 + 1];
	uint8		dup[HNSW_MAX_M * 2 + 1];
	float		dists[HNSW_MAX_M * 2 + 1];
	MemPairs	pairs;
	uint8	   *closer = MemListCloser(l, lm);
	int			n = lm + 1;
	int			p = lm;
	int			dropped;
	bool		changed = false;
	HnswRef		need = 0;

	if (lm < 1 || lm > HNSW_MAX_M * 2)
		elog(ERROR, "hnsw neighbour list of %d entries", lm);

	/* The list with the new element in its place, and the old bits */
	while (p > 0 && NbrAfter(&l->items[p - 1], dist))
		p--;
	for (int i = 0, j = 0; i < n; i++)
	{
		if (i == p)
		{
			items[i].ref = newRef;
			items[i].dist = dist;
			flag[i] = 0;
		}
		else
		{
			items[i] = l->items[j];
			flag[i] = l->closerValid ? closer[j] : 0;
			j++;
		}
	}

	if (l->closerValid)
		UpdateCloserBits(bs, owner, items, flag, n, p);
	else
	{
		for (int i = 0; i < n; i++)
			flag[i] = CloserThanKept(bs, owner, items, flag, i);
	}

	/* Left out: the last non-kept one in fill order, or the furthest if all kept */
	for (int i = 0; i < n; i++)
	{
		dists[i] = items[i].dist;
		dup[i] = HnswNearDuplicateNotCopy(&bs->support, items[i].dist, items[n - 1].dist);
	}
	pairs.bs = bs;
	pairs.items = items;
	dropped = HnswFillLast(&bs->support, n, dists, flag, dup, lm, MemPairDistance, &pairs);
	if (dropped < 0)
		dropped = n - 1;
	if (own != NULL && HnswSameValue(RefValue(bs, items[dropped].ref), ElemValue(own->self)))
	{
		int			victim = KeepCopiesInMemory(bs, own, items, n, p, dropped, mayNeed, &need);

		if (victim < 0)
			return need;
		/* copies are interchangeable, but their closer bits are not */
		if (victim != dropped)
			changed = true;
		dropped = victim;
	}
	if (dropped == p)
		return 0;

	for (int i = 0, j = 0; i < n; i++)
	{
		if (i == dropped)
			continue;
		l->items[j] = items[i];
		closer[j] = flag[i];
		j++;
	}
	l->closerValid = !changed;
	return 0;
}

/*
 * Link owner to the new element on layer lc (Algorithm 1's shrink step).
 * When the owner's list may give up a copy of the new element only once
 * the new element links to it, that link is written first, under the new
 * element's lock alone (no two element locks are ever held), and the
 * owner's list decided again.
 */
static void
AddBackLink(HnswBuildState *bs, MemElement *owner, int lc, HnswRef newRef, float dist,
			OwnMemLinks *own)
{
	int			lm = HnswLayerM(bs->m, lc);

	for (int attempt = 0; attempt < 2; attempt++)
	{
		MemList    *l;
		HnswRef		need = 0;
		bool		linked;

		ElemLock(bs, owner, LW_EXCLUSIVE);
		l = ElemList(bs, owner, lc);
		if (l->count < lm)
		{
			int			p = l->count;

			while (p > 0 && NbrAfter(&l->items[p - 1], dist))
			{
				l->items[p] = l->items[p - 1];
				p--;
			}
			l->items[p].ref = newRef;
			l->items[p].dist = dist;
			l->count++;
			l->closerValid = 0;
		}
		else
			need = AddToFullList(bs, ElemValue(owner), l, lm, newRef, dist, own, attempt == 0);
		ElemUnlock(bs, owner);
		if (need == 0)
			return;

		ElemLock(bs, own->self, LW_EXCLUSIVE);
		linked = AddOwnLinkInMemory(bs, own, need);
		ElemUnlock(bs, own->self);
		if (!linked)
			return;
	}
}

/* ----------------------------------------------------------------
 *		In-memory insert
 * ----------------------------------------------------------------
 */

/*
 * Identical vectors share an element: offer heaptid to every element of
 * layer 0's W (w, nearest first) with the same value until one has room.
 * An identical value is as far from the new element as it is from itself.
 */
static bool
MergeDuplicateInMemory(HnswBuildState *bs, MemElement *e, const MemNbr *w, int nw,
					   ItemPointer heaptid)
{
	const char *v = ElemValue(e);
	Size		size = VARSIZE(v);
	float		self = QueryDistance(bs, v, v);

	for (int i = 0; i < nw; i++)
	{
		MemElement *d;
		const char *dv;
		bool		added = false;

		if (w[i].dist != self)
			continue;
		d = Elem(bs, w[i].ref);
		dv = ElemValue(d);
		if (VARSIZE(dv) != size || memcmp(dv, v, size) != 0)
			continue;

		ElemLock(bs, d, LW_EXCLUSIVE);
		if (d->ntids < HNSW_HEAPTIDS)
		{
			d->heaptids[d->ntids++] = *heaptid;
			added = true;
		}
		ElemUnlock(bs, d);
		if (added)
			return true;
	}
	return false;
}

/*
 * Take the entry lock and return the entry point: shared normally,
 * exclusive if the new element may replace it.  Sets *exclusive.
 */
static HnswRef
LockEntry(HnswBuildState *bs, int level, bool *exclusive)
{
	MemGraph   *g = bs->graph;
	HnswRef		entry;

	*exclusive = false;
	if (!bs->parallel)
		return g->entry;

	/* Let a waiting promotion go first */
	LWLockAcquire(&g->entryWaitLock, LW_EXCLUSIVE);
	LWLockRelease(&g->entryWaitLock);

	LWLockAcquire(&g->entryLock, LW_SHARED);
	entry = g->entry;
	if (entry == 0 || level > Elem(bs, entry)->level)
	{
		LWLockRelease(&g->entryLock);
		LWLockAcquire(&g->entryWaitLock, LW_EXCLUSIVE);
		LWLockAcquire(&g->entryLock, LW_EXCLUSIVE);
		LWLockRelease(&g->entryWaitLock);
		*exclusive = true;
		entry = g->entry;
	}
	return entry;
}

/*
 * Search layer 0 again with a wider ef when W (out, nw, nearest first) is
 * crowded with near-duplicates of q (see HnswDuplicateEf).  out has room
 * for the widest search.  Returns the new size of W.
 */
static int
WidenForDuplicates(HnswBuildState *bs, const char *q, MemNbr *out, int nw)
{
	int			ndup = 0;
	int			ef;

	if (nw == 0)
		return 0;
	for (int i = 0; i < nw; i++)
		if (HnswNearDuplicate(&bs->support, out[i].dist, out[nw - 1].dist))
			ndup++;
	ef = HnswDuplicateEf(bs->efConstruction, nw, ndup);
	if (ef == bs->efConstruction)
		return nw;
	return MemSearchLayer(bs, q, out, nw, ef, 0, out);
}

/*
 * Find the new element's neighbours and set its lists.  Returns layer 0's
 * W (in bs->lists[0]) and sets *nw0.
 */
static MemNbr *
LinkElement(HnswBuildState *bs, HnswRef ref, HnswRef entry, int *nw0)
{
	MemElement *e = Elem(bs, ref);
	MemElement *ep = Elem(bs, entry);
	const char *q = ElemValue(e);
	int			entryLevel = ep->level;
	MemNbr	   *w = bs->lists[0];
	int			nw = 1;

	w[0].ref = entry;
	w[0].dist = QueryDistance(bs, q, ElemValue(ep));

	for (int lc = entryLevel; lc > e->level; lc--)
		nw = MemSearchLayer(bs, q, w, nw, 1, lc, w);

	for (int lc = Min(e->level, entryLevel); lc >= 0; lc--)
	{
		MemNbr	   *out = bs->lists[lc];

		nw = MemSearchLayer(bs, q, w, nw, bs->efConstruction, lc, out);
		if (lc == 0)
			nw = WidenForDuplicates(bs, q, out, nw);
		SetOwnList(bs, e, lc, out, nw);
		w = out;
	}
	*nw0 = nw;
	return w;
}

/*
 * Publish the new element: back-links on every layer it has neighbours,
 * to the neighbours it had before the first one (its list may change
 * under KeepCopiesInMemory and, in a parallel build, other inserts)
 */
static void
PublishElement(HnswBuildState *bs, HnswRef ref)
{
	MemElement *e = Elem(bs, ref);
	OwnMemLinks own;
	MemNbr		nbrs[HNSW_MAX_M * 2];

	own.self = e;
	for (int lc = e->level; lc >= 0; lc--)
	{
		MemList    *l = ElemList(bs, e, lc);

		ElemLock(bs, e, LW_SHARED);
		own.lc = lc;
		own.nlinks = Min(l->count, lengthof(nbrs));
		own.npinned = 0;
		for (int i = 0; i < own.nlinks; i++)
		{
			nbrs[i] = l->items[i];
			own.links[i] = l->items[i].ref;
		}
		ElemUnlock(bs, e);

		for (int i = 0, n = own.nlinks; i < n; i++)
			AddBackLink(bs, Elem(bs, nbrs[i].ref), lc, ref, nbrs[i].dist, &own);
	}
}

/*
 * Insert one value into the in-memory graph.  Returns false, having done
 * nothing, when the graph is full.
 */
static bool
InsertInMemory(HnswBuildState *bs, const char *value, const char *filter, ItemPointer heaptid)
{
	MemGraph   *g = bs->graph;
	int			level = HnswRandomLevel(bs->m);
	HnswRef		ref;
	HnswRef		entry;
	bool		exclusive;

	ref = NewElement(bs, value, filter, level, heaptid);
	if (ref == 0)
		return false;
	if (bs->codes)
		SetInsertQuery(bs, value);

	entry = LockEntry(bs, level, &exclusive);
	if (entry != 0)
	{
		int			nw0;
		MemNbr	   *w0 = LinkElement(bs, ref, entry, &nw0);

		/* an element's rows share its filter values: no merging with filters */
		if (bs->support.nfilters == 0 &&
			MergeDuplicateInMemory(bs, Elem(bs, ref), w0, nw0, heaptid))
			Elem(bs, ref)->flags |= MEM_UNUSED;
		else
			PublishElement(bs, ref);
	}
	if ((Elem(bs, ref)->flags & MEM_UNUSED) == 0 &&
		(entry == 0 || level > Elem(bs, entry)->level))
		g->entry = ref;
	if (bs->parallel)
		LWLockRelease(&g->entryLock);
	return true;
}

/* ----------------------------------------------------------------
 *		Writing the graph to pages
 * ----------------------------------------------------------------
 */

/* Sequential page filler shared by the planning and writing passes */
typedef struct PageFill
{
	BlockNumber blkno;			/* current page, InvalidBlockNumber before the first */
	LocationIndex lower;
	LocationIndex upper;
	/* writing pass only */
	bool		write;
	Buffer		buf;
	Page		page;
} PageFill;

static void
FillNewPage(HnswBuildState *bs, PageFill *f)
{
	if (f->write)
	{
		Buffer		buf = HnswNewBuffer(bs->index, bs->forkNum);
		Page		page = BufferGetPage(buf);

		HnswInitPage(buf, page);
		if (BufferIsValid(f->buf))
		{
			HnswPageGetOpaque(f->page)->nextblkno = BufferGetBlockNumber(buf);
			MarkBufferDirty(f->buf);
			UnlockReleaseBuffer(f->buf);
		}
		f->buf = buf;
		f->page = page;
		Assert(!BlockNumberIsValid(f->blkno) || BufferGetBlockNumber(buf) == f->blkno + 1);
		f->blkno = BufferGetBlockNumber(buf);
	}
	else
		f->blkno = BlockNumberIsValid(f->blkno) ? f->blkno + 1 : HNSW_HEAD_BLKNO;
	f->lower = SizeOfPageHeaderData;
	f->upper = BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData));
}

static inline bool
FillHasRoom(PageFill *f, Size size)
{
	return BlockNumberIsValid(f->blkno) &&
		(Size) f->lower + sizeof(ItemIdData) + MAXALIGN(size) <= (Size) f->upper;
}

/* Reserve (and in the writing pass, add) one item; returns its offset */
static OffsetNumber
FillAdd(HnswBuildState *bs, PageFill *f, void *item, Size size)
{
	OffsetNumber offno = (OffsetNumber) ((f->lower - SizeOfPageHeaderData) / sizeof(ItemIdData)) + 1;

	f->lower += sizeof(ItemIdData);
	f->upper -= MAXALIGN(size);
	if (f->write &&
		PageAddItem(f->page, (Item) item, size, InvalidOffsetNumber, false, false) != offno)
		elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(bs->index));
	if (f->write)
		CHECK_FOR_INTERRUPTS();
	return offno;
}

/*
 * Bytes of e's value on disk: what the graph holds, or the code of the
 * exact value it holds under binary storage
 */
static inline Size
StoredSize(HnswBuildState *bs, MemElement *e)
{
	if (HnswIsCompact(&bs->support) && !bs->codes)
		return HnswStoredValueSize(&bs->support);
	return VARSIZE(ElemValue(e));
}

/* Fill the node (and overflow) tuple of e, with neighbour TIDs resolved */
static void
FormNode(HnswBuildState *bs, MemElement *e, HnswNodeTuple node, HnswNbrTuple nbr, bool separate)
{
	Size		valsize = StoredSize(bs, e);
	Size		fsize = bs->support.filterSize;
	int			nslots = HnswSlotCount(bs->m, e->level);
	ItemPointer slots;

	node->type = HNSW_NODE_TUPLE;
	node->level = e->level;
	node->flags = separate ? HNSW_NODE_NBR_SEPARATE : 0;
	node->version = 1;
	node->nslots = (uint16) nslots;
	node->nbroff = (uint16) HnswNodeNbrOffset(valsize, fsize);
	for (int i = 0; i < HNSW_HEAPTIDS; i++)
	{
		if (i < e->ntids)
			node->heaptids[i] = e->heaptids[i];
		else
			ItemPointerSetInvalid(&node->heaptids[i]);
	}
	if (HnswIsCompact(&bs->support) && !bs->codes)
	{
		char	   *code = HnswEncodeValue(&bs->support, ElemValue(e));

		memcpy(HnswNodeValue(node), code, valsize);
		pfree(code);
	}
	else
		memcpy(HnswNodeValue(node), ElemValue(e), valsize);
	if (fsize > 0)
		memcpy(HnswNodeFilter(node), ElemFilter(e), fsize);

	if (separate)
	{
		nbr->type = HNSW_NBR_TUPLE;
		nbr->level = e->level;
		nbr->flags = 0;
		nbr->version = 1;
		nbr->nslots = (uint16) nslots;
		nbr->unused = 0;
		slots = nbr->slots;
	}
	else
		slots = HnswNodeSlots(node);

	for (int i = 0; i < nslots; i++)
		ItemPointerSetInvalid(&slots[i]);
	for (int lc = 0; lc <= e->level; lc++)
	{
		MemList    *l = ElemList(bs, e, lc);
		ItemPointer layer = slots + HnswLayerStart(bs->m, lc);

		for (int i = 0; i < l->count; i++)
		{
			MemElement *n = Elem(bs, l->items[i].ref);

			ItemPointerSet(&layer[i], n->blkno, n->offno);
		}
	}
}

/*
 * The order elements go to pages in: breadth first over layer 0 from the
 * entry point, nearest neighbours first, so that an element's neighbours
 * tend to share pages and a search touches fewer of them.  Elements the
 * walk does not reach follow, each starting a walk of its own.  Returns the
 * references, *count of them.
 */
static HnswRef *
LayoutOrder(HnswBuildState *bs, uint32 *count)
{
	MemGraph   *g = bs->graph;
	HnswRef    *order = MemoryContextAllocHuge(CurrentMemoryContext,
											   sizeof(HnswRef) * Max(g->nelements, 1));
	uint32		head = 0;
	uint32		tail = 0;
	Size		scan = 8;

	/* One epoch marks the placed ones */
	NewEpoch(bs);

	if (g->entry != 0)
	{
		Visit(bs, g->entry);
		order[tail++] = g->entry;
	}

	for (;;)
	{
		while (head < tail)
		{
			MemList    *l = ElemList(bs, Elem(bs, order[head++]), 0);

			for (int i = 0; i < l->count; i++)
				if (!Visit(bs, l->items[i].ref))
					order[tail++] = l->items[i].ref;
		}

		/* The next element no walk has reached, if any */
		while (scan < g->used)
		{
			MemElement *e = (MemElement *) (bs->base + scan);
			HnswRef		ref = (HnswRef) (scan >> 3);

			scan += e->size;
			if ((e->flags & MEM_UNUSED) == 0 && !Visit(bs, ref))
			{
				order[tail++] = ref;
				break;
			}
		}
		if (head == tail)
			break;
		CHECK_FOR_INTERRUPTS();
	}

	*count = tail;
	return order;
}

/*
 * Place (or write) the elements in the given order.  The planning pass
 * sets each element's blkno/offno; the writing pass must land on the same.
 */
static void
FillElements(HnswBuildState *bs, PageFill *f, HnswNodeTuple node, HnswNbrTuple nbr,
			 HnswRef *order, uint32 count)
{
	for (uint32 k = 0; k < count; k++)
	{
		MemElement *e = Elem(bs, order[k]);
		Size		valsize = StoredSize(bs, e);
		Size		fsize = bs->support.filterSize;
		int			nslots = HnswSlotCount(bs->m, e->level);
		bool		separate = HnswNodeInlineSize(valsize, fsize, nslots) > HNSW_MAX_ITEM_SIZE;
		Size		nodeSize = separate ? HnswNodeSeparateSize(valsize, fsize) :
			HnswNodeInlineSize(valsize, fsize, nslots);
		OffsetNumber offno;

		if (f->write)
		{
			memset(node, 0, nodeSize);
			FormNode(bs, e, node, nbr, separate);
		}

		if (!FillHasRoom(f, nodeSize))
			FillNewPage(bs, f);

		/* The overflow tuple goes first on the next page */
		if (separate && f->write)
			ItemPointerSet(HnswNodeNbrTid(node), f->blkno + 1, FirstOffsetNumber);
		offno = FillAdd(bs, f, node, nodeSize);
		if (f->write)
		{
			if (e->blkno != f->blkno || e->offno != offno)
				elog(ERROR, "hnsw build placed an element twice differently");
		}
		else
		{
			e->blkno = f->blkno;
			e->offno = offno;
		}

		if (separate)
		{
			FillNewPage(bs, f);
			(void) FillAdd(bs, f, nbr, HnswNbrTupleSize(nslots));
		}
	}
}

/* Write the metapage and every element; the graph area may go after */
static void
FlushGraph(HnswBuildState *bs)
{
	PageFill	f;
	HnswNodeTuple node = palloc0(BLCKSZ);
	HnswNbrTuple nbr = palloc0(BLCKSZ);
	MemElement *entry;
	HnswRef    *order;
	uint32		count;

	HnswWriteMetaPage(bs->index, bs->forkNum, bs->dimensions, bs->m, bs->efConstruction,
					  bs->support.storage);
	order = LayoutOrder(bs, &count);

	/* Plan */
	memset(&f, 0, sizeof(f));
	f.blkno = InvalidBlockNumber;
	f.buf = InvalidBuffer;
	FillElements(bs, &f, node, nbr, order, count);

	/* Write; an empty graph still gets its first page */
	memset(&f, 0, sizeof(f));
	f.blkno = InvalidBlockNumber;
	f.buf = InvalidBuffer;
	f.write = true;
	FillElements(bs, &f, node, nbr, order, count);
	if (!BufferIsValid(f.buf))
		FillNewPage(bs, &f);
	MarkBufferDirty(f.buf);
	UnlockReleaseBuffer(f.buf);

	HnswSetInsertPage(bs->index, bs->forkNum, true, f.blkno);
	if (bs->graph->entry != 0)
	{
		entry = Elem(bs, bs->graph->entry);
		HnswSetEntryPoint(bs->index, bs->forkNum, true, entry->blkno, entry->offno, entry->level, false);
	}

	pfree(order);
	pfree(node);
	pfree(nbr);
	bs->graph->flushed = true;
}

/* ----------------------------------------------------------------
 *		Build callback
 * ----------------------------------------------------------------
 */

/*
 * The graph is full: write it out once (whoever gets here first) and say
 * so.  Called with flushLock held shared in parallel builds; returns with
 * it held shared again.
 */
static void
SwitchToDisk(HnswBuildState *bs)
{
	MemGraph   *g = bs->graph;

	if (bs->parallel)
	{
		LWLockRelease(&g->flushLock);
		LWLockAcquire(&g->flushLock, LW_EXCLUSIVE);
	}
	if (!g->flushed)
	{
		ereport(NOTICE,
				(errmsg("hnsw graph no longer fits into maintenance_work_mem after " INT64_FORMAT " tuples",
						(int64) g->indtuples),
				 errdetail("Building will take significantly more time."),
				 errhint("Increase maintenance_work_mem to speed up builds.")));
		FlushGraph(bs);
	}
	if (bs->parallel)
	{
		LWLockRelease(&g->flushLock);
		LWLockAcquire(&g->flushLock, LW_SHARED);
	}
}

/* Insert one formed value, in memory while it fits, else on disk */
static void
InsertValue(HnswBuildState *bs, Datum value, const char *filter, ItemPointer tid)
{
	MemGraph   *g = bs->graph;

	if (bs->parallel)
		LWLockAcquire(&g->flushLock, LW_SHARED);

	if (g->flushed || !InsertInMemory(bs, DatumGetPointer(value), filter, tid))
	{
		if (!g->flushed)
			SwitchToDisk(bs);
		HnswInsertOnDisk(bs->index, &bs->support, value, filter, tid, true);
	}

	if (bs->parallel)
		LWLockRelease(&g->flushLock);
}

static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *state)
{
	HnswBuildState *bs = (HnswBuildState *) state;
	MemGraph   *g = bs->graph;
	MemoryContext oldCtx;
	Datum		value;
	Datum		filter[HNSW_MAX_FILTERS + 1];	/* aligned for store_att_byval */
	double		done;

	if (isnull[0])
		return;

	oldCtx = MemoryContextSwitchTo(bs->tmpCtx);
	if (HnswFormValue(&bs->support, values[0], &value))
	{
		HnswFormFilter(&bs->support, values, isnull, (char *) filter);
		InsertValue(bs, value, (char *) filter, tid);
		SpinLockAcquire(&g->mutex);
		done = ++g->indtuples;
		SpinLockRelease(&g->mutex);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);
}

/* ----------------------------------------------------------------
 *		Build state
 * ----------------------------------------------------------------
 */

/* Refuse what the index cannot hold, with pgvector's messages */
static void
CheckIndexable(HnswBuildState *bs)
{
	Form_pg_attribute attr = TupleDescAttr(bs->index->rd_att, 0);

	if (attr->atttypid == VARBITOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type not supported for hnsw index")));

	if (bs->dimensions < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions")));

	/* The type's dimension limit, or that of compact storage */
	HnswCheckStorage(&bs->support, bs->index, bs->indexInfo, bs->dimensions);

	if (bs->efConstruction / 2 < bs->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m")));
}

/* Per-process search scratch */
static void
InitScratch(HnswBuildState *bs)
{
	int			maxLevel = HnswMaxLevel(bs->m);
	int			cap = Max(HNSW_DUP_EF_MAX * bs->efConstruction, 2 * bs->m) + 1;

	Size		minElem = MEM_HEADER_SIZE + MAXALIGN(VARHDRSZ + 1) + MemListSize(2 * bs->m);

	/* Stamp slots: the largest power of two no bigger than any element */
	bs->stampShift = 3;
	while (((Size) 1 << (bs->stampShift + 1)) <= minElem)
		bs->stampShift++;
	bs->nstamps = 1024;
	bs->stamps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * bs->nstamps);
	memset(bs->stamps, 0, sizeof(uint32) * bs->nstamps);
	bs->epoch = 0;

	/* How much of a value to prefetch: all of it, up to 16 cache lines */
	switch (bs->support.typeInfo->kind)
	{
		case HNSW_KIND_VECTOR:
			bs->prefetchBytes = VECTOR_SIZE(Max(bs->dimensions, 0));
			break;
		case HNSW_KIND_HALFVEC:
			bs->prefetchBytes = HALFVEC_SIZE(Max(bs->dimensions, 0));
			break;
		case HNSW_KIND_BIT:
			bs->prefetchBytes = VARHDRSZ + sizeof(int32) + (Max(bs->dimensions, 0) + 7) / 8;
			break;
		case HNSW_KIND_SPARSEVEC:
			bs->prefetchBytes = 64;
			break;
	}
	if (bs->codes)
	{
		bs->prefetchBytes = HnswStoredValueSize(&bs->support);
		bs->exact = palloc(sizeof(float) * bs->support.dimensions);
		bs->exactWork = palloc(Max(rv_code_query_workspace(bs->support.storage,
														   bs->support.dimensions), 1));
	}
	bs->prefetchBytes = Min(bs->prefetchBytes, 1024);
	bs->near.capacity = bs->far.capacity = 256;
	bs->near.items = palloc(sizeof(MemNbr) * bs->near.capacity);
	bs->far.items = palloc(sizeof(MemNbr) * bs->far.capacity);
	bs->near.count = bs->far.count = 0;
	for (int lc = 0; lc <= maxLevel && lc < 64; lc++)
		bs->lists[lc] = palloc(sizeof(MemNbr) * cap);
	bs->scratch = palloc(sizeof(MemNbr) * HNSW_MAX_M * 2);
}

static void
InitBuildState(HnswBuildState *bs, Relation heap, Relation index, IndexInfo *indexInfo,
			   ForkNumber forkNum)
{
	memset(bs, 0, sizeof(HnswBuildState));
	bs->heap = heap;
	bs->index = index;
	bs->indexInfo = indexInfo;
	bs->forkNum = forkNum;
	HnswCheckColumns(index);
	HnswInitSupport(&bs->support, index);
	bs->m = HnswGetM(index);
	bs->efConstruction = HnswGetEfConstruction(index);
	bs->dimensions = TupleDescAttr(index->rd_att, 0)->atttypmod;

	CheckIndexable(bs);
	/* Not binary: sign bits tie too often to select neighbours with */
	bs->codes = bs->support.storage == RV_CODE_SQ8 || bs->support.storage == RV_CODE_FLOAT16;

	bs->tmpCtx = AllocSetContextCreate(CurrentMemoryContext,
									   "Hnsw build temporary context",
									   ALLOCSET_DEFAULT_SIZES);
	InitScratch(bs);
}

/*
 * Ask for transparent huge pages on the graph area: the build reads it at
 * random, and with 4 kB pages most visits miss the TLB.  Only whole 2 MB
 * pages inside the area are advised; where THP is off this does nothing.
 */
static void
AdviseHugePages(char *area, Size size)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	huge = 2 * 1024 * 1024;
	uintptr_t	start = TYPEALIGN(huge, (uintptr_t) area);
	uintptr_t	end = ((uintptr_t) area + size) & ~(huge - 1);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/*
 * Private graph area of up to maintenance_work_mem.  Only the pages the
 * graph touches are ever backed by memory.
 */
static void
InitPrivateGraph(HnswBuildState *bs)
{
	MemGraph   *g = &bs->privateGraph;
	Size		total = Min((Size) maintenance_work_mem * 1024, HNSW_MAX_AREA);

	/* An init fork holds no elements */
	if (bs->heap == NULL)
		total = Min(total, 1024 * 1024);

	memset(g, 0, sizeof(MemGraph));
	SpinLockInit(&g->mutex);
	bs->base = MemoryContextAllocExtended(CurrentMemoryContext, total,
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	while (bs->base == NULL && total > 1024 * 1024)
	{
		total /= 2;
		bs->base = MemoryContextAllocExtended(CurrentMemoryContext, total,
											  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	}
	if (bs->base == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for the hnsw build graph")));
	g->total = total;
	g->used = 8;				/* reference 0 means none */
	bs->graph = g;
	AdviseHugePages(bs->base, total);
}

static void
FreeBuildState(HnswBuildState *bs)
{
	MemoryContextDelete(bs->tmpCtx);
}

/* ----------------------------------------------------------------
 *		Parallel build
 * ----------------------------------------------------------------
 */

static void
InitSharedGraph(MemGraph *g, Size total, int trancheId)
{
	memset(g, 0, sizeof(MemGraph));
	SpinLockInit(&g->mutex);
	g->total = Min(total, HNSW_MAX_AREA);
	g->used = 8;

	/*
	 * A shared graph stops 1 MB short of the area's end, as pgvector's
	 * does, so the switch to the on-disk phase happens at the same point
	 * for the same maintenance_work_mem.
	 */
	g->margin = HNSW_PARALLEL_MARGIN;
	LWLockInitialize(&g->entryLock, trancheId);
	LWLockInitialize(&g->entryWaitLock, trancheId);
	LWLockInitialize(&g->flushLock, trancheId);
}

/* Scan this participant's share of the heap into the shared graph */
static void
ParallelScanAndInsert(Relation heap, Relation index, HnswShared *shared, char *area, bool progress)
{
	HnswBuildState bs;
	IndexInfo  *indexInfo = BuildIndexInfo(index);
	TableScanDesc scan;
	double		reltuples;

	indexInfo->ii_Concurrent = shared->isconcurrent;
	InitBuildState(&bs, heap, index, indexInfo, MAIN_FORKNUM);
	bs.parallel = true;
	bs.graph = &shared->graph;
	bs.base = area;
	bs.trancheId = shared->trancheId;

	scan = table_beginscan_parallel(heap, ParallelTableScanFromHnswShared(shared));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, progress,
									   BuildCallback, (void *) &bs, scan);

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->reltuples += reltuples;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->workersdonecv);

	FreeBuildState(&bs);
}

/* Entry point of a parallel build worker */
void
HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	HnswShared *shared;
	char	   *area;
	Relation	heap;
	Relation	index;
	LOCKMODE	heapLockmode;
	LOCKMODE	indexLockmode;

	debug_query_string = shm_toc_lookup(toc, PARALLEL_KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);

	shared = shm_toc_lookup(toc, PARALLEL_KEY_HNSW_SHARED, false);
	area = shm_toc_lookup(toc, PARALLEL_KEY_HNSW_AREA, false);
	LWLockRegisterTranche(shared->trancheId, "HnswBuild");

	rv_build_lock_modes(shared->isconcurrent, &heapLockmode, &indexLockmode);

	heap = table_open(shared->heaprelid, heapLockmode);
	index = index_open(shared->indexrelid, indexLockmode);
	ParallelScanAndInsert(heap, index, shared, area, false);
	index_close(index, indexLockmode);
	table_close(heap, heapLockmode);
}

/* How many workers to ask for: pgvector's (and nbtree's) rules */
static int
ComputeParallelWorkers(Relation heap, Relation index)
{
	int			workers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));

	if (workers == 0)
		return 0;

	workers = RelationGetParallelWorkers(heap, -1);
	if (workers != -1)
		return Min(workers, max_parallel_maintenance_workers);
	return max_parallel_maintenance_workers;
}

static void
EndParallel(HnswLeader *leader)
{
	WaitForParallelWorkersToFinish(leader->pcxt);
	if (IsMVCCSnapshot(leader->snapshot))
		UnregisterSnapshot(leader->snapshot);
	DestroyParallelContext(leader->pcxt);
	ExitParallelMode();
}

/* Size of the graph area: maintenance_work_mem, less room for the rest */
static Size
SharedAreaSize(void)
{
	Size		size = (Size) maintenance_work_mem * 1024;

	if (size > HNSW_DSM_OTHER)
		size -= HNSW_DSM_OTHER;
	return Min(size, HNSW_MAX_AREA);
}

/* Reserve room in the parallel DSM for the shared state, graph and query */
static void
EstimateParallel(ParallelContext *pcxt, Size sharedSize, Size areaSize, Size querylen)
{
	shm_toc_estimate_chunk(&pcxt->estimator, sharedSize);
	shm_toc_estimate_chunk(&pcxt->estimator, areaSize);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	if (debug_query_string)
	{
		shm_toc_estimate_chunk(&pcxt->estimator, querylen + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
}

/* Fill the DSM: shared state, table scan, graph area, query text */
static HnswShared *
InitParallelShared(HnswBuildState *bs, ParallelContext *pcxt, Snapshot snapshot,
				   Size sharedSize, Size areaSize, Size querylen, char **area)
{
	HnswShared *shared = (HnswShared *) shm_toc_allocate(pcxt->toc, sharedSize);

	shared->heaprelid = RelationGetRelid(bs->heap);
	shared->indexrelid = RelationGetRelid(bs->index);
	shared->isconcurrent = bs->indexInfo->ii_Concurrent;
	shared->trancheId = LWLockNewTrancheId();
	LWLockRegisterTranche(shared->trancheId, "HnswBuild");
	ConditionVariableInit(&shared->workersdonecv);
	SpinLockInit(&shared->mutex);
	shared->nparticipantsdone = 0;
	shared->reltuples = 0;
	table_parallelscan_initialize(bs->heap, ParallelTableScanFromHnswShared(shared), snapshot);

	*area = (char *) shm_toc_allocate(pcxt->toc, areaSize);
	InitSharedGraph(&shared->graph, areaSize, shared->trancheId);

	shm_toc_insert(pcxt->toc, PARALLEL_KEY_HNSW_SHARED, shared);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_HNSW_AREA, *area);
	if (debug_query_string)
	{
		char	   *q = shm_toc_allocate(pcxt->toc, querylen + 1);

		memcpy(q, debug_query_string, querylen + 1);
		shm_toc_insert(pcxt->toc, PARALLEL_KEY_QUERY_TEXT, q);
	}
	return shared;
}

/*
 * Launch workers and join the scan as one of them.  Leaves bs->leader
 * NULL (serial build) if no worker could be started.
 */
static void
BeginParallel(HnswBuildState *bs, int request)
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		sharedSize;
	Size		areaSize = SharedAreaSize();
	Size		querylen = debug_query_string ? strlen(debug_query_string) : 0;
	HnswShared *shared;
	char	   *area;
	HnswLeader *leader;

	EnterParallelMode();
	pcxt = CreateParallelContext("ruvector", "HnswParallelBuildMain", request);
	snapshot = bs->indexInfo->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	sharedSize = add_size(BUFFERALIGN(sizeof(HnswShared)), table_parallelscan_estimate(bs->heap, snapshot));
	EstimateParallel(pcxt, sharedSize, areaSize, querylen);

	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return;
	}

	shared = InitParallelShared(bs, pcxt, snapshot, sharedSize, areaSize, querylen, &area);
	LaunchParallelWorkers(pcxt);

	leader = palloc0(sizeof(HnswLeader));
	leader->pcxt = pcxt;
	leader->nparticipants = pcxt->nworkers_launched + 1;
	leader->shared = shared;
	leader->snapshot = snapshot;
	leader->area = area;
	if (pcxt->nworkers_launched == 0)
	{
		EndParallel(leader);
		return;
	}

	ereport(DEBUG1, (errmsg("using %d parallel workers", pcxt->nworkers_launched)));
	bs->leader = leader;

	/* The leader does its share of the scan too */
	ParallelScanAndInsert(bs->heap, bs->index, shared, area, true);
	WaitForParallelWorkersToAttach(pcxt);
}

/* Wait until every participant has finished its scan */
static double
WaitForParticipants(HnswLeader *leader)
{
	HnswShared *shared = leader->shared;
	double		reltuples;

	for (;;)
	{
		SpinLockAcquire(&shared->mutex);
		if (shared->nparticipantsdone == leader->nparticipants)
		{
			reltuples = shared->reltuples;
			SpinLockRelease(&shared->mutex);
			break;
		}
		SpinLockRelease(&shared->mutex);
		ConditionVariableSleep(&shared->workersdonecv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();
	return reltuples;
}

/* ----------------------------------------------------------------
 *		Entry points
 * ----------------------------------------------------------------
 */

/* Load every row (possibly in parallel), then write whatever is in memory */
static void
BuildGraph(HnswBuildState *bs)
{
	int			workers = 0;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);

	if (bs->heap != NULL)
		workers = ComputeParallelWorkers(bs->heap, bs->index);
	if (workers > 0)
		BeginParallel(bs, workers);

	if (bs->leader != NULL)
	{
		bs->reltuples = WaitForParticipants(bs->leader);
		bs->graph = &bs->leader->shared->graph;
		bs->base = bs->leader->area;
		bs->parallel = false;	/* alone from here on */
	}
	else
	{
		InitPrivateGraph(bs);
		if (bs->heap != NULL)
			bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->indexInfo,
												   true, true, BuildCallback, (void *) bs, NULL);
	}
	bs->indtuples = bs->graph->indtuples;

	if (!bs->graph->flushed)
		FlushGraph(bs);

	if (bs->leader != NULL)
		EndParallel(bs->leader);
	else
		pfree(bs->base);
}

static void
BuildIndex(Relation heap, Relation index, IndexInfo *indexInfo, HnswBuildState *bs,
		   ForkNumber forkNum)
{
	InitBuildState(bs, heap, index, indexInfo, forkNum);
	BuildGraph(bs);

	/* Pages were written without WAL; log them now, all at once */
	if (RelationNeedsWAL(index) || forkNum == INIT_FORKNUM)
		log_newpage_range(index, forkNum, 0, RelationGetNumberOfBlocksInFork(index, forkNum), true);

	FreeBuildState(bs);
}

IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result = palloc(sizeof(IndexBuildResult));
	HnswBuildState bs;

	BuildIndex(heap, index, indexInfo, &bs, MAIN_FORKNUM);
	result->heap_tuples = bs.reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/* The init fork of an unlogged index: an empty graph */
void
hnswbuildempty(Relation index)
{
	IndexInfo  *indexInfo = BuildIndexInfo(index);
	HnswBuildState bs;

	BuildIndex(NULL, index, indexInfo, &bs, INIT_FORKNUM);
}
