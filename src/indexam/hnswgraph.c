/*-------------------------------------------------------------------------
 *
 * hnswgraph.c
 *	  Load an HNSW index's graph into memory: every element with its page
 *	  location, level, heap TIDs and links as element numbers, and the
 *	  entry point; which elements layer 0 reaches from the entry point, and
 *	  which lead back to it.
 *
 * NOTES
 *	  Used by the integrity control plane (src/integrity/integrity_hnsw.c),
 *	  which contracts the graph and measures its connectivity, and by
 *	  repairs.  The pages are read once, in page chain order, each under a
 *	  share lock held only while it is copied (as ruvector_hnsw_verify
 *	  does), so on a busy index the result is a close approximation of the
 *	  graph, not a snapshot: a link may point at an element added after
 *	  its page was read (it is then HNSW_GRAPH_NONE).  Callers that need an
 *	  exact graph take a lock that excludes inserts first.
 *
 *	  Memory: about (20 + 4 * slots + 6 * heap TIDs) bytes per element, in
 *	  the caller's memory context (huge allocations: 100,000 elements with
 *	  m = 16 take about 15 MB), more while it loads and for the walks both
 *	  ways (HnswGraphReachMemory).
 *
 *	  Locks: one buffer share lock at a time (two with an overflow tuple,
 *	  in ascending block order, as everywhere in the subsystem).
 *
 * IDENTIFICATION
 *	  src/indexam/hnswgraph.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "indexam/hnsw.h"

/* Growing arrays while the pages are walked */
typedef struct GraphBuild
{
	HnswGraph  *g;
	uint32		maxelems;
	Size		maxnbrs;
	Size		maxtids;
	ItemPointerData *slotTids;	/* raw slots, resolved after the walk */
	OffsetNumber *maxoff;		/* per block seen; 0 if not in the chain */
} GraphBuild;

/* Room for n entries in a GraphGrow array: 1024, doubled as often as needed */
static Size
GraphCapacity(Size n)
{
	Size		cap = 1024;

	while (cap < n)
		cap *= 2;
	return cap;
}

static void *
GraphGrow(void *p, Size elemsize, Size *max, Size need)
{
	Size		newmax = GraphCapacity(need);

	if (newmax <= *max)
		return p;
	*max = newmax;
	if (p == NULL)
		return MemoryContextAllocHuge(CurrentMemoryContext, elemsize * newmax);
	return repalloc_huge(p, elemsize * newmax);
}

/* Copy one node tuple's fields and raw slots */
static void
GraphAddNode(GraphBuild *gb, Relation index, Page page, BlockNumber blkno,
			 OffsetNumber offno, HnswNodeTuple node)
{
	HnswGraph  *g = gb->g;
	HnswGraphElement *e;
	Buffer		sbuf = InvalidBuffer;
	HnswNbrTuple ntup;
	ItemPointer slots = NULL;
	int			nslots = HnswSlotCount(g->m, node->level);

	if (g->nelems == gb->maxelems)
	{
		Size		max = gb->maxelems;

		g->elems = GraphGrow(g->elems, sizeof(HnswGraphElement), &max, (Size) g->nelems + 1);
		gb->maxelems = (uint32) max;
	}
	e = &g->elems[g->nelems++];
	e->blkno = blkno;
	e->offno = offno;
	e->level = node->level;
	e->deleted = HnswNodeIsDeleted(node);
	e->ntids = 0;
	e->tidStart = (uint32) g->nheaptids;
	e->nbrStart = (uint32) g->nnbrs;

	if (e->deleted)
		return;

	for (int i = 0; i < HNSW_HEAPTIDS && ItemPointerIsValid(&node->heaptids[i]); i++)
	{
		g->heaptids = GraphGrow(g->heaptids, sizeof(ItemPointerData), &gb->maxtids, g->nheaptids + 1);
		g->heaptids[g->nheaptids++] = node->heaptids[i];
		e->ntids++;
	}

	/* A damaged node keeps its place but gets no links (verify reports it) */
	if (node->nslots == nslots)
		slots = HnswGetSlots(index, page, node, &sbuf, &ntup);
	gb->slotTids = GraphGrow(gb->slotTids, sizeof(ItemPointerData), &gb->maxnbrs, g->nnbrs + nslots);
	for (int i = 0; i < nslots; i++)
	{
		if (slots != NULL)
			gb->slotTids[g->nnbrs + i] = slots[i];
		else
			ItemPointerSetInvalid(&gb->slotTids[g->nnbrs + i]);
	}
	g->nnbrs += nslots;
	if (BufferIsValid(sbuf))
		UnlockReleaseBuffer(sbuf);
}

/* Walk the page chain, copying every node */
static void
GraphWalk(GraphBuild *gb, Relation index)
{
	HnswGraph  *g = gb->g;
	BlockNumber blkno = HNSW_HEAD_BLKNO;

	while (BlockNumberIsValid(blkno) && blkno < g->nblocks && gb->maxoff[blkno] == 0)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID)
		{
			UnlockReleaseBuffer(buf);
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("block %u of index \"%s\" is not an hnsw page",
							blkno, RelationGetRelationName(index)),
					 errhint("Run ruvector_hnsw_verify on the index, then REINDEX it.")));
		}
		maxoff = PageGetMaxOffsetNumber(page);
		/* 0 means "not seen": a page with no items still counts as seen */
		gb->maxoff[blkno] = Max(maxoff, 1);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			HnswNodeTuple node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, off));

			if (node->type == HNSW_NODE_TUPLE)
				GraphAddNode(gb, index, page, blkno, off, node);
		}
		blkno = HnswPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
}

/* The (blkno, offno) -> element map, then links as element numbers */
static void
GraphResolve(GraphBuild *gb)
{
	HnswGraph  *g = gb->g;
	Size		total = 0;

	g->blockStart = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * (g->nblocks + 1));
	for (BlockNumber b = 0; b < g->nblocks; b++)
	{
		g->blockStart[b] = (uint32) total;
		total += gb->maxoff[b];
	}
	g->blockStart[g->nblocks] = (uint32) total;
	g->offMap = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(total, 1));
	memset(g->offMap, 0xFF, sizeof(uint32) * Max(total, 1));
	for (uint32 i = 0; i < g->nelems; i++)
		g->offMap[g->blockStart[g->elems[i].blkno] + g->elems[i].offno - 1] = i;

	g->nbrs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(g->nnbrs, 1));
	for (Size j = 0; j < g->nnbrs; j++)
	{
		ItemPointer t = &gb->slotTids[j];

		g->nbrs[j] = ItemPointerIsValid(t)
			? HnswGraphFind(g, ItemPointerGetBlockNumber(t), ItemPointerGetOffsetNumber(t))
			: HNSW_GRAPH_NONE;
	}
}

/*
 * Read the graph of an HNSW index.  The caller holds a lock on the index
 * (AccessShareLock at least).
 */
HnswGraph *
HnswGraphLoad(Relation index)
{
	HnswGraph  *g = palloc0(sizeof(HnswGraph));
	GraphBuild	gb;
	ItemPointerData entry;
	int			m;

	memset(&gb, 0, sizeof(gb));
	gb.g = g;
	HnswReadMeta(index, &m, NULL, &entry, &g->entryLevel, NULL);
	g->m = m;
	g->nblocks = RelationGetNumberOfBlocks(index);
	gb.maxoff = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(OffsetNumber) * Max(g->nblocks, 1));
	memset(gb.maxoff, 0, sizeof(OffsetNumber) * Max(g->nblocks, 1));
	g->elems = palloc(sizeof(HnswGraphElement));
	gb.maxelems = 1;

	GraphWalk(&gb, index);
	GraphResolve(&gb);

	g->maxLevel = -1;
	for (uint32 i = 0; i < g->nelems; i++)
	{
		if (HnswGraphIsLive(g, i))
			g->nlive++;
		if (!g->elems[i].deleted && g->elems[i].level > g->maxLevel)
			g->maxLevel = g->elems[i].level;
	}
	g->entry = ItemPointerIsValid(&entry)
		? HnswGraphFind(g, ItemPointerGetBlockNumber(&entry), ItemPointerGetOffsetNumber(&entry))
		: HNSW_GRAPH_NONE;
	if (g->entry != HNSW_GRAPH_NONE && g->elems[g->entry].deleted)
		g->entry = HNSW_GRAPH_NONE;

	if (gb.slotTids)
		pfree(gb.slotTids);
	pfree(gb.maxoff);
	return g;
}

/*
 * About the most memory HnswRepairReach holds for a graph of nelems
 * elements (deleted ones too) with nslots link slots, one heap TID each,
 * in an index of nblocks pages.  What stays: the elements and TIDs (arrays
 * grown by doubling), the links as element numbers and the block maps.
 * On top of it, while loading, the raw slots (grown by doubling); then,
 * once they are freed, the walks' flags, parents and in-links.  The
 * vectors are not loaded: for long ones it is a fraction of the index.
 */
double
HnswGraphReachMemory(uint64 nelems, uint64 nslots, BlockNumber nblocks)
{
	double		resident = (double) GraphCapacity(nelems) * (sizeof(HnswGraphElement) + sizeof(ItemPointerData)) +
		(double) nslots * sizeof(uint32) + (double) nblocks * sizeof(uint32) +
		2.0 * nelems * sizeof(uint32);
	double		load = (double) GraphCapacity(nslots) * sizeof(ItemPointerData) +
		(double) nblocks * sizeof(OffsetNumber);
	double		walk = (double) nelems * (2 * sizeof(bool) + sizeof(uint32) + 2 * sizeof(Size)) +
		(double) nslots * sizeof(uint32);

	return resident + Max(load, walk);
}

void
HnswGraphFree(HnswGraph *g)
{
	if (g == NULL)
		return;
	if (g->elems)
		pfree(g->elems);
	if (g->nbrs)
		pfree(g->nbrs);
	if (g->heaptids)
		pfree(g->heaptids);
	if (g->blockStart)
		pfree(g->blockStart);
	if (g->offMap)
		pfree(g->offMap);
	pfree(g);
}

/* Element number at (blkno, offno), or HNSW_GRAPH_NONE */
uint32
HnswGraphFind(const HnswGraph *g, BlockNumber blkno, OffsetNumber offno)
{
	if (blkno >= g->nblocks || offno < FirstOffsetNumber ||
		offno > g->blockStart[blkno + 1] - g->blockStart[blkno])
		return HNSW_GRAPH_NONE;
	return g->offMap[g->blockStart[blkno] + offno - 1];
}

/*
 * The links of element elem at layer lc (HnswLayerM(m, lc) entries, some
 * HNSW_GRAPH_NONE); NULL with *count 0 above its level or if deleted.
 */
uint32 *
HnswGraphNeighbors(const HnswGraph *g, uint32 elem, int lc, int *count)
{
	const HnswGraphElement *e = &g->elems[elem];

	if (e->deleted || lc > e->level)
	{
		*count = 0;
		return NULL;
	}
	*count = HnswLayerM(g->m, lc);
	return &g->nbrs[e->nbrStart + HnswLayerStart(g->m, lc)];
}

/*
 * Breadth-first search over layer 0 from element start through undeleted
 * elements (elements being deleted still route searches), along the links
 * (in NULL) or against them (in: the reverse graph), adding to what marks
 * already holds; parent, if not NULL, gets for each element newly marked
 * (start excepted) the element it was reached from.  Returns how many live
 * elements were newly marked.
 */
static uint32
GraphBfs(const HnswGraph *g, const HnswGraphInLinks *in, uint32 start, bool *marks,
		 uint32 *parent)
{
	uint32	   *queue;
	uint32		head = 0;
	uint32		tail = 0;
	uint32		live = 0;

	if (start == HNSW_GRAPH_NONE || marks[start] || g->elems[start].deleted)
		return 0;
	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(g->nelems, 1));
	marks[start] = true;
	queue[tail++] = start;
	while (head < tail)
	{
		uint32		u = queue[head++];
		uint32	   *nb;
		Size		n;

		if (HnswGraphIsLive(g, u))
			live++;
		if (in != NULL)
		{
			nb = in->from + in->start[u];
			n = in->start[u + 1] - in->start[u];
		}
		else
		{
			int			count;

			nb = HnswGraphNeighbors(g, u, 0, &count);
			n = count;
		}
		for (Size j = 0; j < n; j++)
		{
			uint32		v = nb[j];

			if (v == HNSW_GRAPH_NONE || marks[v] || g->elems[v].deleted)
				continue;
			marks[v] = true;
			if (parent != NULL)
				parent[v] = u;
			queue[tail++] = v;
		}
	}
	pfree(queue);
	return live;
}

/*
 * Mark what layer 0 reaches from element start (GraphBfs along the links).
 * parent, if not NULL, makes a breadth-first tree: a link that is not a
 * tree link (parent[v] != u) can be given up without cutting anything
 * marked off.
 */
uint32
HnswGraphWalk(const HnswGraph *g, uint32 start, bool *reached, uint32 *parent)
{
	return GraphBfs(g, NULL, start, reached, parent);
}

/*
 * What layer 0 reaches from the entry point (HnswGraphWalk): sets
 * reached[i] for each element reached (reached has nelems entries) and
 * parent as there, and returns how many live elements were reached;
 * g->nlive minus that is the number of live elements no search can find.
 */
uint32
HnswGraphReachable(const HnswGraph *g, bool *reached, uint32 *parent)
{
	memset(reached, 0, sizeof(bool) * g->nelems);
	if (parent != NULL)
		for (uint32 i = 0; i < g->nelems; i++)
			parent[i] = HNSW_GRAPH_NONE;
	return HnswGraphWalk(g, g->entry, reached, parent);
}

/*
 * The layer-0 links into each element, from undeleted elements: the
 * reverse of the graph, for walks against the links.
 */
void
HnswGraphInLinksBuild(const HnswGraph *g, HnswGraphInLinks *in)
{
	Size	   *fill;

	in->start = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Size) * (g->nelems + 1));
	memset(in->start, 0, sizeof(Size) * (g->nelems + 1));
	for (uint32 u = 0; u < g->nelems; u++)
	{
		int			n;
		uint32	   *nb = HnswGraphNeighbors(g, u, 0, &n);

		for (int j = 0; j < n; j++)
			if (nb[j] != HNSW_GRAPH_NONE)
				in->start[nb[j] + 1]++;
	}
	for (uint32 v = 0; v < g->nelems; v++)
		in->start[v + 1] += in->start[v];
	in->from = MemoryContextAllocHuge(CurrentMemoryContext,
									  sizeof(uint32) * Max(in->start[g->nelems], 1));
	fill = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Size) * Max(g->nelems, 1));
	memcpy(fill, in->start, sizeof(Size) * g->nelems);
	for (uint32 u = 0; u < g->nelems; u++)
	{
		int			n;
		uint32	   *nb = HnswGraphNeighbors(g, u, 0, &n);

		for (int j = 0; j < n; j++)
			if (nb[j] != HNSW_GRAPH_NONE)
				in->from[fill[nb[j]]++] = u;
	}
	pfree(fill);
}

void
HnswGraphInLinksFree(HnswGraphInLinks *in)
{
	pfree(in->start);
	pfree(in->from);
}

/*
 * Mark every undeleted element from which layer 0 leads to element
 * target, adding to what reaching already marks (a walk against the
 * links).  Returns how many live elements were newly marked.
 */
uint32
HnswGraphWalkBack(const HnswGraph *g, const HnswGraphInLinks *in, uint32 target, bool *reaching)
{
	return GraphBfs(g, in, target, reaching, NULL);
}

/*
 * The elements from which layer 0 leads back to the entry point; returns
 * how many live ones.  A live element that layer 0 reaches but that does
 * not reach back is reachable one way only: a search whose descent ends
 * in its part cannot leave it, and misses the rest of the index.
 */
uint32
HnswGraphReaching(const HnswGraph *g, const HnswGraphInLinks *in, bool *reaching)
{
	memset(reaching, 0, sizeof(bool) * g->nelems);
	return HnswGraphWalkBack(g, in, g->entry, reaching);
}
