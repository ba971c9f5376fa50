/*-------------------------------------------------------------------------
 *
 * hnswrepair.c
 *	  HnswRepair: reconnect an HNSW graph in place, so that every live
 *	  element is reachable from the entry point again, without a rebuild.
 *
 * NOTES
 *	  What breaks a graph: mass deletes (VACUUM repairs the neighbours of
 *	  the deleted elements, but a part whose only ways in went through the
 *	  deleted band stays cut off), and pre-0.2 graphs of clusters of
 *	  near-duplicates.  Such elements are unreachable at any ef_search.
 *
 *	  Algorithm.  The graph is loaded into memory (hnswgraph.c) and layer
 *	  0 is walked from the entry point.  Each live element the walk does
 *	  not reach gets neighbours found by a search from the entry point
 *	  (which therefore finds only the reachable part), as an insert would:
 *	  empty slots of its own lists take them, and each chosen neighbour is
 *	  linked back to it by the heuristic of inserts, replacing the link the
 *	  heuristic drops (m / 2m limits hold).  If the heuristic links it from
 *	  nowhere on layer 0 (it usually prefers its existing, nearer links),
 *	  the nearest chosen neighbour whose list can spare a link is made to
 *	  link to it anyway: the link given up is the one to the element with
 *	  the most incoming links, and never one to an element with fewer than
 *	  two, so the bridge does not cut off someone else.  Everything the
 *	  element reaches through its own links then counts as reconnected and
 *	  needs no search of its own.  The graph is then loaded again and the
 *	  pass repeated (at most HNSW_REPAIR_ROUNDS times) while it makes
 *	  progress.  Last, weak spots: reachable live elements with at most
 *	  one incoming link on layer 0 (one lost link from being cut off) get
 *	  the same search and heuristic back-links, without a forced bridge.
 *
 *	  WAL.  Every page change is one generic WAL record written by the
 *	  insert machinery (HnswWriter, hnswinsert.c): a slot written under an
 *	  exclusive content lock, only if it still holds what the decision was
 *	  based on.  Each record leaves a valid graph, so a crash at any point
 *	  leaves a graph at least as connected as before plus the bridges
 *	  logged so far, and standbys replay the same pages.
 *
 *	  Concurrency.  Inserts and scans go on during a repair.  Each element
 *	  is repaired holding HNSW_UPDATE_LOCK in share mode, as an insert,
 *	  so VACUUM cannot recycle an element the repair is looking at.  The
 *	  in-memory graph is only a guide (which elements to repair, incoming
 *	  link counts); pages are re-read and versions checked before writing.
 *	  The caller holds the index open with at least RowExclusiveLock (as
 *	  an insert), which keeps REINDEX and DROP out.
 *
 *	  LOCK ORDER (the subsystem's, written at the top of hnswinsert.c)
 *	  1. HNSW_UPDATE_LOCK in share mode, per element repaired, taken with
 *		 no buffer locked.
 *	  2. Buffer content locks one page at a time (a node's page, then its
 *		 overflow page, in ascending block order), share to read, then
 *		 exclusive to write a slot; never a heavyweight lock while one is
 *		 held.  Loading the graph takes share locks only, one page (plus
 *		 overflow page) at a time.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswrepair.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/index.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "indexam/hnsw.h"

/* Passes over the graph at most, each after reloading it */
#define HNSW_REPAIR_ROUNDS		3

typedef struct RepairState
{
	Relation	index;
	HnswSupport support;
	int			m;
	int			efConstruction;

	HnswGraph  *g;
	bool	   *reached;		/* by layer-0 walk from the entry point */
	uint32	   *indeg;			/* layer-0 links from reached live elements */

	MemoryContext tmpCtx;		/* reset after each element */
	HnswRepairResult *result;
} RepairState;

/* An element being repaired, as read from its page */
typedef struct RepairElement
{
	BlockNumber blkno;
	OffsetNumber offno;
	int			level;
	uint8		version;
	char	   *value;
} RepairElement;

/* ----------------------------------------------------------------
 *		The graph in memory
 * ----------------------------------------------------------------
 */

/* Count each element's layer-0 links from reached elements */
static void
CountIncoming(RepairState *rs)
{
	HnswGraph  *g = rs->g;

	memset(rs->indeg, 0, sizeof(uint32) * Max(g->nelems, 1));
	for (uint32 i = 0; i < g->nelems; i++)
	{
		int			n;
		uint32	   *nb;

		if (!rs->reached[i])
			continue;
		nb = HnswGraphNeighbors(g, i, 0, &n);
		for (int j = 0; j < n; j++)
			if (nb[j] != HNSW_GRAPH_NONE)
				rs->indeg[nb[j]]++;
	}
}

/* Load the graph and walk it; returns the number of unreachable live elements */
static int64
RepairLoad(RepairState *rs)
{
	HnswGraph  *g;
	uint32		reachedLive;

	if (rs->g != NULL)
	{
		HnswGraphFree(rs->g);
		pfree(rs->reached);
		pfree(rs->indeg);
	}
	rs->g = g = HnswGraphLoad(rs->index);
	rs->reached = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * Max(g->nelems, 1));
	rs->indeg = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(g->nelems, 1));
	reachedLive = HnswGraphReachable(g, rs->reached);
	CountIncoming(rs);
	return (int64) g->nlive - reachedLive;
}

/*
 * Mark reached everything layer 0 reaches from element start through the
 * loaded links (a bridge into start makes all of it reachable).
 */
static void
MarkReachedFrom(RepairState *rs, uint32 start)
{
	HnswGraph  *g = rs->g;
	uint32	   *queue = MemoryContextAllocHuge(rs->tmpCtx, sizeof(uint32) * Max(g->nelems, 1));
	uint32		head = 0;
	uint32		tail = 0;

	rs->reached[start] = true;
	queue[tail++] = start;
	while (head < tail)
	{
		int			n;
		uint32	   *nb = HnswGraphNeighbors(g, queue[head++], 0, &n);

		for (int j = 0; j < n; j++)
		{
			uint32		v = nb[j];

			if (v == HNSW_GRAPH_NONE || rs->reached[v] || g->elems[v].deleted)
				continue;
			rs->reached[v] = true;
			queue[tail++] = v;
		}
	}
}

/*
 * HnswPickSlot for a forced bridge: the link to the element with the most
 * incoming links, if it has at least two (it stays reachable through the
 * others); -1 if no link can be spared.  Links to elements the loaded
 * graph does not know (added since) are not given up.
 */
static int
PickLeastUseful(void *arg, ItemPointer tids, int n)
{
	RepairState *rs = (RepairState *) arg;
	int			best = -1;
	uint32		bestDeg = 1;

	for (int i = 0; i < n; i++)
	{
		uint32		e = HnswGraphFind(rs->g, ItemPointerGetBlockNumber(&tids[i]),
									  ItemPointerGetOffsetNumber(&tids[i]));

		if (e == HNSW_GRAPH_NONE)
			continue;
		if (rs->indeg[e] > bestDeg)
		{
			best = i;
			bestDeg = rs->indeg[e];
		}
	}
	return best;
}

/* ----------------------------------------------------------------
 *		Repairing one element
 * ----------------------------------------------------------------
 */

/* Read a live element's level, version and value; false if gone or dying */
static bool
ReadElement(RepairState *rs, RepairElement *e)
{
	Buffer		buf;
	Page		page;
	HnswNodeTuple node;
	bool		ok = false;

	buf = HnswReadBuffer(rs->index, e->blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (e->offno <= PageGetMaxOffsetNumber(page))
	{
		node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, e->offno));
		if (node->type == HNSW_NODE_TUPLE && !HnswNodeIsDeleted(node) &&
			ItemPointerIsValid(&node->heaptids[0]))
		{
			Size		size = VARSIZE(HnswNodeValue(node));

			e->level = node->level;
			e->version = node->version;
			e->value = palloc(size);
			memcpy(e->value, HnswNodeValue(node), size);
			ok = true;
		}
	}
	UnlockReleaseBuffer(buf);
	return ok;
}

/*
 * Put the new neighbours into the empty slots of the element's own lists
 * (its current links stay: they are how it reaches its own part).  Returns
 * the number of links added.
 */
static int
FillOwnSlots(RepairState *rs, RepairElement *e, HnswSearch *s, HnswNeighborList **layers,
			 int nlayers)
{
	Buffer		buf;
	Buffer		sbuf = InvalidBuffer;
	Page		page;
	HnswNodeTuple node;
	ItemPointer slots = NULL;
	HnswWriter	w;
	int			added = 0;

	buf = HnswReadBuffer(rs->index, e->blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriterStart(&w, rs->index, false);
	page = HnswWriterRegister(&w, buf, false);
	node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, e->offno));
	if (node->type == HNSW_NODE_TUPLE && !HnswNodeIsDeleted(node) && node->version == e->version)
	{
		if (!HnswNodeHasSeparate(node))
			slots = HnswNodeSlots(node);
		else
		{
			ItemPointerData overflow = *HnswNodeNbrTid(node);
			Page		npage;
			HnswNbrTuple ntup;

			/* Overflow page after the node's page: ascending order */
			sbuf = HnswReadBuffer(rs->index, ItemPointerGetBlockNumber(&overflow));
			LockBuffer(sbuf, BUFFER_LOCK_EXCLUSIVE);
			npage = HnswWriterRegister(&w, sbuf, false);
			ntup = (HnswNbrTuple) PageGetItem(npage, PageGetItemId(npage, ItemPointerGetOffsetNumber(&overflow)));
			if (ntup->type == HNSW_NBR_TUPLE && ntup->version == e->version)
				slots = ntup->slots;
		}
	}

	for (int lc = 0; slots != NULL && lc < nlayers && lc <= e->level; lc++)
	{
		ItemPointer layer = slots + HnswLayerStart(rs->m, lc);
		int			lm = HnswLayerM(rs->m, lc);

		for (int i = 0; layers[lc] != NULL && i < layers[lc]->count; i++)
		{
			HnswCand   *c = &s->cands[layers[lc]->cands[i]];
			ItemPointerData tid;
			int			slot = -1;
			bool		present = false;

			ItemPointerSet(&tid, c->blkno, c->offno);
			for (int j = 0; j < lm && !present; j++)
			{
				if (!ItemPointerIsValid(&layer[j]))
				{
					if (slot < 0)
						slot = j;
				}
				else
					present = ItemPointerEquals(&layer[j], &tid);
			}
			if (present || slot < 0)
				continue;
			layer[slot] = tid;
			added++;
		}
	}

	/* The writer releases every buffer it registered */
	if (added > 0)
		HnswWriterFinish(&w, true);
	else
		HnswWriterAbort(&w, true);
	return added;
}

/* Whether a candidate of the search is an element the repair knows reached */
static bool
CandReached(RepairState *rs, HnswSearch *s, uint32 cand)
{
	HnswCand   *c = &s->cands[cand];
	uint32		e = HnswGraphFind(rs->g, c->blkno, c->offno);

	return e != HNSW_GRAPH_NONE && rs->reached[e];
}

/*
 * Make the nearest reached element the search read link to self on layer
 * 0, giving up its least useful link if its list is full.  Returns whether
 * a link was written.
 */
static bool
ForceBridge(RepairState *rs, HnswSearch *s, ItemPointer self)
{
	uint32	   *order = palloc(sizeof(uint32) * Max(s->ncands, 1));
	int			n = 0;
	bool		done = false;

	/* Reached candidates with a layer 0, nearest first (insertion sort) */
	for (uint32 c = 0; c < s->ncands; c++)
	{
		int			j;

		if (!s->cands[c].alive || !CandReached(rs, s, c))
			continue;
		for (j = n - 1; j >= 0 && s->cands[order[j]].distance > s->cands[c].distance; j--)
			order[j + 1] = order[j];
		order[j + 1] = c;
		n++;
	}

	for (int i = 0; i < n && !done; i++)
	{
		ItemPointerData replaced;

		if (HnswForceLink(rs->index, s, &s->cands[order[i]], 0, self, PickLeastUseful, rs,
						  &replaced))
		{
			uint32		r = ItemPointerIsValid(&replaced)
				? HnswGraphFind(rs->g, ItemPointerGetBlockNumber(&replaced),
								ItemPointerGetOffsetNumber(&replaced))
				: HNSW_GRAPH_NONE;

			if (r != HNSW_GRAPH_NONE && rs->indeg[r] > 0)
				rs->indeg[r]--;
			rs->result->links_added++;
			done = true;
		}
	}
	pfree(order);
	return done;
}

/*
 * Give one element neighbours from the reachable part and links from
 * them; bridge forces a layer-0 link into it from the reached part if the
 * heuristic gave none.  Returns whether a reached element now links to it
 * on layer 0.
 */
static bool
RepairOne(RepairState *rs, uint32 elem, bool bridge)
{
	HnswGraphElement *ge = &rs->g->elems[elem];
	MemoryContext oldCtx = MemoryContextSwitchTo(rs->tmpCtx);
	RepairElement e;
	ItemPointerData entry;
	ItemPointerData self;
	int			entryLevel;
	HnswSearch	s;
	HnswNeighborList *layers[64];
	int			nlayers;
	int			linked;
	bool	   *written0;
	bool		bridged = false;

	e.blkno = ge->blkno;
	e.offno = ge->offno;
	ItemPointerSet(&self, e.blkno, e.offno);

	LockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);
	HnswReadMeta(rs->index, NULL, NULL, &entry, &entryLevel, NULL);
	if (!ItemPointerIsValid(&entry) || ItemPointerEquals(&entry, &self) || !ReadElement(rs, &e))
	{
		UnlockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);
		MemoryContextSwitchTo(oldCtx);
		MemoryContextReset(rs->tmpCtx);
		return false;
	}

	HnswSearchInit(&s, rs->index, &rs->support, rs->m, rs->efConstruction + 1, e.value);
	HnswSearchDecodeQuery(&s);
	s.wantValues = true;
	s.skipDeadForEf = true;
	s.skipTid = self;
	memset(layers, 0, sizeof(layers));
	HnswFindNeighbors(&s, &entry, entryLevel, e.level, rs->efConstruction, layers);
	nlayers = Min(e.level, entryLevel) + 1;

	rs->result->links_added += FillOwnSlots(rs, &e, &s, layers, nlayers);
	written0 = palloc0(sizeof(bool) * Max(layers[0] ? layers[0]->count : 0, 1));
	linked = HnswConnectNeighbors(rs->index, &s, e.blkno, e.offno, layers, nlayers, false,
								  written0);
	rs->result->links_added += linked;
	rs->indeg[elem] += linked;

	/*
	 * A bridge is a link from the reached part.  The search also descends
	 * through upper layers, so what it found on layer 0 need not be
	 * reachable there; the entry point, which it read first, always is.
	 */
	for (int i = 0; layers[0] != NULL && i < layers[0]->count && !bridged; i++)
		bridged = written0[i] && CandReached(rs, &s, layers[0]->cands[i]);
	if (bridge && !bridged)
		bridged = ForceBridge(rs, &s, &self);
	UnlockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);

	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(rs->tmpCtx);
	return bridged;
}

/* ----------------------------------------------------------------
 *		Entry point
 * ----------------------------------------------------------------
 */

/* Bridge the unreachable elements of the loaded graph */
static void
BridgePass(RepairState *rs)
{
	HnswGraph  *g = rs->g;

	for (uint32 i = 0; i < g->nelems; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!HnswGraphIsLive(g, i) || rs->reached[i])
			continue;
		if (RepairOne(rs, i, true))
		{
			rs->result->elements_reconnected++;
			MarkReachedFrom(rs, i);
			MemoryContextReset(rs->tmpCtx);
		}
	}
}

/* Reinforce the reachable elements with at most one link in */
static void
WeakSpotPass(RepairState *rs)
{
	HnswGraph  *g = rs->g;

	for (uint32 i = 0; i < g->nelems; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!HnswGraphIsLive(g, i) || !rs->reached[i] || rs->indeg[i] > 1 || i == g->entry)
			continue;
		if (RepairOne(rs, i, false))
			rs->result->weak_reinforced++;
	}
}

/*
 * Reconnect the graph of an HNSW index (see the file header).  heap is
 * the indexed table (unused today; kept so that a repair can later check
 * heap TIDs).  Fills *result.
 */
void
HnswRepair(Relation heap, Relation index, HnswRepairResult *result)
{
	RepairState rs;
	MemoryContext repairCtx;
	MemoryContext oldCtx;
	instr_time	start;
	instr_time	elapsed;
	int64		unreachable;

	INSTR_TIME_SET_CURRENT(start);
	memset(result, 0, sizeof(HnswRepairResult));

	repairCtx = AllocSetContextCreate(CurrentMemoryContext, "Hnsw repair context",
									  ALLOCSET_DEFAULT_SIZES);
	oldCtx = MemoryContextSwitchTo(repairCtx);

	memset(&rs, 0, sizeof(rs));
	rs.index = index;
	rs.result = result;
	HnswInitSupport(&rs.support, index);
	HnswReadMeta(index, &rs.m, &rs.efConstruction, NULL, NULL, NULL);
	rs.tmpCtx = AllocSetContextCreate(repairCtx, "Hnsw repair element context",
									  ALLOCSET_DEFAULT_SIZES);

	unreachable = result->unreachable_before = RepairLoad(&rs);
	for (int round = 0; round < HNSW_REPAIR_ROUNDS && unreachable > 0; round++)
	{
		int64		previous = unreachable;

		result->rounds++;
		BridgePass(&rs);
		unreachable = RepairLoad(&rs);
		if (unreachable >= previous)
			break;
	}

	/* On the reloaded graph, where the new links count */
	WeakSpotPass(&rs);
	if (result->weak_reinforced > 0)
		unreachable = RepairLoad(&rs);
	result->unreachable_after = unreachable;

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(repairCtx);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	result->elapsed_ms = INSTR_TIME_GET_MILLISEC(elapsed);
}

/*
 * rv_hnsw_repair_test(index regclass) RETURNS text: HnswRepair from SQL
 * for the TAP tests of this file, which create the function themselves
 * (it is no part of the extension's SQL; ruvector_integrity_repair is the
 * shipped way to call HnswRepair).
 */
PG_FUNCTION_INFO_V1(rv_hnsw_repair_test);
Datum
rv_hnsw_repair_test(PG_FUNCTION_ARGS)
{
	Oid			indexid = PG_GETARG_OID(0);
	Oid			heapid = IndexGetRelation(indexid, false);
	Relation	heap = table_open(heapid, RowExclusiveLock);
	Relation	index = index_open(indexid, RowExclusiveLock);
	HnswRepairResult r;
	char	   *out;

	if (index->rd_rel->relam != get_index_am_oid("hnsw", false) &&
		index->rd_rel->relam != get_index_am_oid("ruhnsw", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
	HnswRepair(heap, index, &r);
	index_close(index, RowExclusiveLock);
	table_close(heap, RowExclusiveLock);

	out = psprintf("{\"unreachable_before\": " INT64_FORMAT ", \"unreachable_after\": " INT64_FORMAT
				   ", \"elements_reconnected\": " INT64_FORMAT ", \"links_added\": " INT64_FORMAT
				   ", \"weak_reinforced\": " INT64_FORMAT ", \"rounds\": %d, \"elapsed_ms\": %.3f}",
				   r.unreachable_before, r.unreachable_after, r.elements_reconnected,
				   r.links_added, r.weak_reinforced, r.rounds, r.elapsed_ms);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
