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
 *	  heuristic drops (m / 2m limits hold).  If no element of the reached
 *	  part took it on layer 0 (the heuristic usually prefers existing,
 *	  nearer links), the nearest reached element the search read is made
 *	  to link to it anyway: the link given up is the one to the element
 *	  with the most incoming links, and never one to an element with fewer
 *	  than two, so the bridge does not cut off someone else.  Upper-layer
 *	  elements of the unreachable part are repaired first, each of them
 *	  (they steer searches into the part); then each layer-0 element still
 *	  unreached, which makes reachable what it links to
 *	  (elements_reconnected counts these bridges).  Reachable is not yet
 *	  findable: searches for a sample of the part (HNSW_REPAIR_PROBES) are
 *	  run, and while they miss more than 1% (or more than twice as often
 *	  as searches for the rest of the index), the repair escalates step by
 *	  step (BridgePass): a cover of the part (one element per layer-0
 *	  neighbourhood, about one per cluster of near-duplicates), then twice
 *	  at most the elements a search misses, then every element left; it
 *	  stops early when a step does not cut the misses by a quarter (what
 *	  is left is the part's own graph, not the cut).  The graph is then
 *	  loaded again and the pass repeated (at most HNSW_REPAIR_ROUNDS
 *	  times) while it makes progress.  Last,
 *	  weak spots: reachable live elements with at most one incoming link
 *	  on layer 0 (one lost link from being cut off), and with
 *	  HnswRepairAround the elements the caller names (the integrity control
 *	  plane's witness edges) and their layer-0 neighbours, get the same
 *	  search and heuristic back-links, without a forced bridge.
 *
 *	  The reach pass (last, and all VACUUM runs: HnswRepairReach).  The
 *	  heuristic back-links above replace links in full lists, and a few
 *	  replacements can take the last links into or out of a part (once
 *	  the entry point's own: 3,428 unreachable rows became 4,571).  So the
 *	  graph is loaded again and walked from the entry point along the
 *	  links (reached) and against them (reaching: leads back to it); each
 *	  live element not reached gets one link in from the nearest reached
 *	  element a search read, each reached one not reaching one link out to
 *	  the nearest reaching element, upper layers first, each link marking
 *	  what it connects (a part connected within itself takes one).  A
 *	  forced link that must replace one gives up the least useful link of
 *	  the list but never a tree link of the walk (the link by which the
 *	  walk reached that element): what the walk reached stays reached.
 *	  The graph is reloaded and checked after each round.
 *
 *	  Cost: an insert-like search per bridge and per upper-layer element
 *	  of the part, up to 2 x 512 probing searches per check (cheaper: no
 *	  writes), and as the probes require, one insert-like search per
 *	  element of a cover, per missed element, at worst per element of the
 *	  part; the graph is read once per pass.  For a part the upper layers
 *	  and a few bridges reconnect, far below a REINDEX; for half of an
 *	  index of near-duplicates cut off link by link, a cover (one element
 *	  in seven) and well below a REINDEX (bench/RESULTS.md); inserts and
 *	  searches go on meanwhile.
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
 *	  1. HNSW_UPDATE_LOCK in share mode, per element repaired, or
 *		 HNSW_SCAN_LOCK in share mode, per probing search, never both,
 *		 taken with no buffer locked.
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
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "indexam/hnsw.h"

/* Passes over the graph at most, each after reloading it */
#define HNSW_REPAIR_ROUNDS		3
/* Elements of a reconnected part searched for to check it can be found */
#define HNSW_REPAIR_PROBES		512
/* Rounds of repairing the elements of a part that searches miss */
#define HNSW_REPAIR_MISSED		2

typedef struct RepairState
{
	Relation	index;
	HnswSupport support;
	int			m;
	int			efConstruction;

	HnswGraph  *g;
	bool	   *reached;		/* by layer-0 walk from the entry point */
	uint32	   *parent;			/* that walk's tree: the link that reached each */
	uint32	   *indeg;			/* layer-0 links from reached live elements */
	HnswGraphInLinks in;		/* the reverse of layer 0 */
	bool	   *reaching;		/* layer 0 leads from it back to the entry point */
	uint32		pickOwner;		/* whose list PickLeastUseful chooses in */

	MemoryContext tmpCtx;		/* reset after each element */
	HnswRepairResult *result;
} RepairState;

/* An element being repaired, as read from its page */
typedef HnswElementRef RepairElement;

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
		pfree(rs->parent);
		pfree(rs->indeg);
		HnswGraphInLinksFree(&rs->in);
		pfree(rs->reaching);
	}
	rs->g = g = HnswGraphLoad(rs->index);
	rs->reached = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * Max(g->nelems, 1));
	rs->parent = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(g->nelems, 1));
	rs->indeg = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(g->nelems, 1));
	rs->reaching = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * Max(g->nelems, 1));
	reachedLive = HnswGraphReachable(g, rs->reached, rs->parent);
	CountIncoming(rs);
	HnswGraphInLinksBuild(g, &rs->in);
	HnswGraphReaching(g, &rs->in, rs->reaching);
	return (int64) g->nlive - reachedLive;
}

/* Live elements the walk from the entry point reached */
static int64
CountReached(RepairState *rs)
{
	int64		n = 0;

	for (uint32 i = 0; i < rs->g->nelems; i++)
		if (HnswGraphIsLive(rs->g, i) && rs->reached[i])
			n++;
	return n;
}

/* Live elements layer 0 reaches that do not lead back to the entry point */
static int64
CountOneWay(RepairState *rs)
{
	int64		n = 0;

	for (uint32 i = 0; i < rs->g->nelems; i++)
		if (HnswGraphIsLive(rs->g, i) && rs->reached[i] && !rs->reaching[i])
			n++;
	return n;
}

/*
 * Mark reached everything layer 0 reaches from element start through the
 * loaded links, start having been linked from element from (a bridge into
 * start makes all of it reachable; the bridge is start's tree link).
 */
static void
MarkReachedFrom(RepairState *rs, uint32 start, uint32 from)
{
	if (rs->reached[start])
		return;
	rs->parent[start] = from;
	HnswGraphWalk(rs->g, start, rs->reached, rs->parent);
}

/*
 * HnswPickSlot for a forced bridge in the list of element rs->pickOwner:
 * the link to the element with the most incoming links, but never the
 * link by which the walk from the entry point reached that element (its
 * tree link: what the walk reached stays reachable whatever other link
 * goes; giving one up once turned 3,428 unreachable rows into 4,571 when
 * the entry point's own links went).  An element with one link in has
 * it as its tree link, so the rule also keeps the earlier one (at least
 * two links in), and it holds where the counts are not known yet (a part
 * the pass has just linked in counts no link from reached elements).  -1
 * if no link can be spared.  Links to elements the loaded graph does not
 * know (added since) are not given up.
 */
static int
PickLeastUseful(void *arg, ItemPointer tids, int n)
{
	RepairState *rs = (RepairState *) arg;
	int			best = -1;
	uint32		bestDeg = 0;

	for (int i = 0; i < n; i++)
	{
		uint32		e = HnswGraphFind(rs->g, ItemPointerGetBlockNumber(&tids[i]),
									  ItemPointerGetOffsetNumber(&tids[i]));

		if (e == HNSW_GRAPH_NONE || rs->parent[e] == rs->pickOwner)
			continue;
		if (best < 0 || rs->indeg[e] > bestDeg)
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
	return HnswLoadElement(rs->index, NULL, e);
}

/*
 * Put the new neighbours into the empty slots of the element's own lists
 * (its current links stay: they are how it reaches its own part).  Returns
 * the number of links added; addedSlots (invalid on entry, laid out as the
 * element's slots) gets them.
 */
static int
FillOwnSlots(RepairState *rs, RepairElement *e, HnswSearch *s, HnswNeighborList **layers,
			 int nlayers, ItemPointer addedSlots)
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
	node = HnswPageNode(page, e->offno);
	if (node != NULL && node->version == e->version)
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

			ItemPointerSet(&tid, c->blkno, c->offno);
			if (HnswTidIndex(layer, lm, &tid) >= 0)
				continue;
			for (int j = 0; j < lm && slot < 0; j++)
				if (!ItemPointerIsValid(&layer[j]))
					slot = j;
			if (slot < 0)
				continue;
			layer[slot] = tid;
			addedSlots[HnswLayerStart(rs->m, lc) + slot] = tid;
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

/* The loaded graph's element number of a candidate of the search */
static uint32
CandElement(RepairState *rs, HnswSearch *s, uint32 cand)
{
	return HnswGraphFind(rs->g, s->cands[cand].blkno, s->cands[cand].offno);
}

/* Whether a candidate of the search is an element the repair knows reached */
static bool
CandReached(RepairState *rs, HnswSearch *s, uint32 cand)
{
	uint32		e = CandElement(rs, s, cand);

	return e != HNSW_GRAPH_NONE && rs->reached[e];
}

/*
 * The live candidates the search read whose element is marked in set,
 * nearest first (insertion sort: a few hundred at most); *n gets how many.
 */
static uint32 *
CandsIn(RepairState *rs, HnswSearch *s, const bool *set, int *n)
{
	uint32	   *order = palloc(sizeof(uint32) * Max(s->ncands, 1));

	*n = 0;
	for (uint32 c = 0; c < s->ncands; c++)
	{
		uint32		e = CandElement(rs, s, c);
		int			j;

		if (!s->cands[c].alive || e == HNSW_GRAPH_NONE || !set[e])
			continue;
		for (j = *n - 1; j >= 0 && s->cands[order[j]].distance > s->cands[c].distance; j--)
			order[j + 1] = order[j];
		order[j + 1] = c;
		(*n)++;
	}
	return order;
}

/*
 * Write tid into the layer-0 list of owner (element number ownerElem),
 * giving up its least useful link if the list is full (PickLeastUseful).
 * Returns whether the link was written.
 */
static bool
ForceLink(RepairState *rs, HnswSearch *s, HnswCand *owner, uint32 ownerElem, ItemPointer tid)
{
	ItemPointerData replaced;
	uint32		r;

	rs->pickOwner = ownerElem;
	if (!HnswForceLink(rs->index, s, owner, 0, tid, PickLeastUseful, rs, &replaced))
		return false;
	r = ItemPointerIsValid(&replaced)
		? HnswGraphFind(rs->g, ItemPointerGetBlockNumber(&replaced),
						ItemPointerGetOffsetNumber(&replaced))
		: HNSW_GRAPH_NONE;
	if (r != HNSW_GRAPH_NONE && rs->indeg[r] > 0)
		rs->indeg[r]--;
	rs->result->links_added++;
	return true;
}

/*
 * Make the nearest reached element the search read link to self on layer
 * 0, giving up its least useful link if its list is full.  Returns the
 * element that links to it now, or HNSW_GRAPH_NONE.
 */
static uint32
ForceBridge(RepairState *rs, HnswSearch *s, ItemPointer self)
{
	int			n;
	uint32	   *order = CandsIn(rs, s, rs->reached, &n);
	uint32		from = HNSW_GRAPH_NONE;

	for (int i = 0; i < n && from == HNSW_GRAPH_NONE; i++)
		if (ForceLink(rs, s, &s->cands[order[i]], CandElement(rs, s, order[i]), self))
			from = CandElement(rs, s, order[i]);
	pfree(order);
	return from;
}

/*
 * Search from the entry point for element elem's value, itself skipped,
 * as an insert of it would: layers[lc] (64 entries) get its neighbours on
 * the nlayers layers it shares with the entry point, and s->cands all the
 * search read; e gets the element as read.  False if the element is gone,
 * dying or the entry point.  Caller holds HNSW_UPDATE_LOCK in share mode.
 */
static bool
SearchFromEntry(RepairState *rs, uint32 elem, RepairElement *e, HnswSearch *s,
				HnswNeighborList **layers, int *nlayers)
{
	HnswGraphElement *ge = &rs->g->elems[elem];
	ItemPointerData entry;
	ItemPointerData self;
	int			entryLevel;

	e->blkno = ge->blkno;
	e->offno = ge->offno;
	ItemPointerSet(&self, e->blkno, e->offno);
	HnswReadMeta(rs->index, NULL, NULL, &entry, &entryLevel, NULL);
	if (!ItemPointerIsValid(&entry) || ItemPointerEquals(&entry, &self) || !ReadElement(rs, e))
		return false;

	HnswSearchInit(s, rs->index, &rs->support, rs->m, rs->efConstruction + 1, e->value);
	HnswSearchDecodeQuery(s);
	s->wantValues = true;
	s->skipDeadForEf = true;
	s->skipTid = self;
	memset(layers, 0, sizeof(HnswNeighborList *) * 64);
	HnswFindNeighbors(s, &entry, entryLevel, e->level, rs->efConstruction, layers);
	*nlayers = Min(e->level, entryLevel) + 1;
	return true;
}

/*
 * Give one element neighbours from the reachable part and links from
 * them; bridge forces a layer-0 link into it from the reached part if the
 * heuristic gave none.  Returns a reached element that now links to it on
 * layer 0, or HNSW_GRAPH_NONE.
 */
static uint32
RepairOne(RepairState *rs, uint32 elem, bool bridge)
{
	MemoryContext oldCtx = MemoryContextSwitchTo(rs->tmpCtx);
	RepairElement e;
	ItemPointerData self;
	HnswSearch	s;
	HnswNeighborList *layers[64];
	int			nlayers;
	int			linked;
	bool	   *written0;
	ItemPointer addedSlots;
	uint32		bridged = HNSW_GRAPH_NONE;

	LockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);
	if (!SearchFromEntry(rs, elem, &e, &s, layers, &nlayers))
	{
		UnlockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);
		MemoryContextSwitchTo(oldCtx);
		MemoryContextReset(rs->tmpCtx);
		return HNSW_GRAPH_NONE;
	}
	ItemPointerSet(&self, e.blkno, e.offno);

	addedSlots = palloc(sizeof(ItemPointerData) * HnswSlotCount(rs->m, e.level));
	for (int i = 0; i < HnswSlotCount(rs->m, e.level); i++)
		ItemPointerSetInvalid(&addedSlots[i]);
	rs->result->links_added += FillOwnSlots(rs, &e, &s, layers, nlayers, addedSlots);
	written0 = palloc0(sizeof(bool) * Max(layers[0] ? layers[0]->count : 0, 1));
	linked = HnswConnectNeighbors(rs->index, &s, e.blkno, e.offno, e.version, addedSlots, layers,
								  nlayers, false, written0);
	rs->result->links_added += linked;
	rs->indeg[elem] += linked;

	/*
	 * A bridge is a link from the reached part.  The search also descends
	 * through upper layers, so what it found on layer 0 need not be
	 * reachable there; the entry point, which it read first, always is.
	 */
	for (int i = 0; layers[0] != NULL && i < layers[0]->count && bridged == HNSW_GRAPH_NONE; i++)
		if (written0[i] && CandReached(rs, &s, layers[0]->cands[i]))
			bridged = CandElement(rs, &s, layers[0]->cands[i]);
	if (bridge && bridged == HNSW_GRAPH_NONE)
		bridged = ForceBridge(rs, &s, &self);
	UnlockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);

	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(rs->tmpCtx);
	return bridged;
}

/* ----------------------------------------------------------------
 *		The reach pass
 * ----------------------------------------------------------------
 */

/*
 * One forced link for the reach pass: into element elem from the nearest
 * element the walk from the entry point reached (out false; returns that
 * element), or out of elem to the nearest element that leads back to the
 * entry point (out true; returns elem).  HNSW_GRAPH_NONE if none was
 * written.
 */
static uint32
ReachLink(RepairState *rs, uint32 elem, bool out)
{
	MemoryContext oldCtx = MemoryContextSwitchTo(rs->tmpCtx);
	RepairElement e;
	HnswSearch	s;
	HnswNeighborList *layers[64];
	int			nlayers;
	uint32		linked = HNSW_GRAPH_NONE;

	LockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);
	if (SearchFromEntry(rs, elem, &e, &s, layers, &nlayers))
	{
		ItemPointerData self;
		HnswCand	owner;
		int			n;
		uint32	   *order;

		ItemPointerSet(&self, e.blkno, e.offno);
		if (!out)
		{
			uint32	   *w;

			/*
			 * The descent may have gone through upper layers into elem's
			 * part and read few reached elements (often only the entry
			 * point, whose links are all tree links).  A layer-0 search from
			 * the reached ones it read stays in the reached part (its links
			 * lead nowhere else) and ends at the reached elements nearest to
			 * elem.
			 */
			order = CandsIn(rs, &s, rs->reached, &n);
			if (n > 0)
				HnswSearchLayer(&s, order, n, rs->efConstruction, 0, true, &w);
			linked = ForceBridge(rs, &s, &self);
		}
		else
		{
			/* elem's own list, as HnswForceLink reads a candidate's */
			memset(&owner, 0, sizeof(owner));
			owner.blkno = e.blkno;
			owner.offno = e.offno;
			owner.level = (uint8) e.level;
			owner.version = e.version;
			order = CandsIn(rs, &s, rs->reaching, &n);
			for (int i = 0; i < n && linked == HNSW_GRAPH_NONE; i++)
			{
				ItemPointerData to;

				ItemPointerSet(&to, s.cands[order[i]].blkno, s.cands[order[i]].offno);
				if (ForceLink(rs, &s, &owner, elem, &to))
					linked = elem;
			}
		}
	}
	UnlockPage(rs->index, HNSW_UPDATE_LOCK, ShareLock);
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(rs->tmpCtx);
	return linked;
}

/*
 * Link every live element into the part layer 0 reaches from the entry
 * point (out false: a link in for each one the walk did not reach) or out
 * to the part that leads back to it (out true: a link out for each
 * reached one that does not lead back).  Elements of upper layers go
 * first (searches descend through them); each link marks what it
 * connects, so a part that is connected within itself takes one link.
 */
static void
ReachSide(RepairState *rs, bool out)
{
	HnswGraph  *g = rs->g;

	for (int step = 0; step < 2; step++)
	{
		for (uint32 i = 0; i < g->nelems; i++)
		{
			uint32		from;

			CHECK_FOR_INTERRUPTS();
			if (!HnswGraphIsLive(g, i) || (step == 0 && g->elems[i].level == 0) ||
				(out ? (!rs->reached[i] || rs->reaching[i]) : rs->reached[i]))
				continue;
			from = ReachLink(rs, i, out);
			if (from == HNSW_GRAPH_NONE)
				continue;
			rs->result->reach_links++;
			if (out)
				HnswGraphWalkBack(g, &rs->in, i, rs->reaching);
			else
				MarkReachedFrom(rs, i, from);
		}
	}
}

/*
 * The reach pass, on the loaded graph: links in for what layer 0 does not
 * reach from the entry point, then links out for what does not lead back
 * to it (a search whose descent ends there could not leave), the graph
 * reloaded and checked after each round (a forced link gives up another
 * one, never a tree link of the walk, but inserts run meanwhile).  Sets
 * the result's figures after.
 */
static void
ReachPass(RepairState *rs)
{
	int64		unreachable = (int64) rs->g->nlive - CountReached(rs);
	int64		oneWay = CountOneWay(rs);

	for (int round = 0; round < HNSW_REPAIR_ROUNDS && (unreachable > 0 || oneWay > 0); round++)
	{
		ReachSide(rs, false);
		ReachSide(rs, true);
		unreachable = RepairLoad(rs);
		oneWay = CountOneWay(rs);
	}
	rs->result->unreachable_after = unreachable;
	rs->result->one_way_after = oneWay;
}

/* ----------------------------------------------------------------
 *		Entry point
 * ----------------------------------------------------------------
 */

/*
 * Whether a search for an element's own value, as a scan at the session's
 * hnsw.ef_search does it, finds the element.
 */
static bool
Findable(RepairState *rs, uint32 elem)
{
	MemoryContext oldCtx = MemoryContextSwitchTo(rs->tmpCtx);
	HnswGraphElement *ge = &rs->g->elems[elem];
	RepairElement e;
	ItemPointerData entry;
	int			entryLevel;
	HnswSearch	s;
	uint32		first;
	uint32	   *ep = &first;
	int			nep = 1;
	int			entryCand;
	bool		found = false;

	e.blkno = ge->blkno;
	e.offno = ge->offno;
	LockPage(rs->index, HNSW_SCAN_LOCK, ShareLock);
	HnswReadMeta(rs->index, NULL, NULL, &entry, &entryLevel, NULL);
	if (ItemPointerIsValid(&entry) && ReadElement(rs, &e))
	{
		HnswSearchInit(&s, rs->index, &rs->support, rs->m, hnsw_ef_search, e.value);
		HnswSearchDecodeQuery(&s);
		entryCand = HnswSearchEntry(&s, ItemPointerGetBlockNumber(&entry),
									ItemPointerGetOffsetNumber(&entry));
		if (entryCand >= 0)
		{
			first = (uint32) entryCand;
			for (int lc = entryLevel; lc > 0; lc--)
				nep = HnswSearchLayer(&s, ep, nep, 1, lc, true, &ep);
			nep = HnswSearchLayer(&s, ep, nep, hnsw_ef_search, 0, true, &ep);
			for (int i = 0; i < nep && !found; i++)
				found = s.cands[ep[i]].blkno == e.blkno && s.cands[ep[i]].offno == e.offno;
		}
	}
	UnlockPage(rs->index, HNSW_SCAN_LOCK, ShareLock);
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(rs->tmpCtx);
	return found;
}

/*
 * Repair one element of the part, and if it was still unreached, mark
 * reached everything it links to.
 */
static void
BridgeOne(RepairState *rs, uint32 i, bool *searched)
{
	bool		wasReached = rs->reached[i];
	uint32		from;

	searched[i] = true;
	from = RepairOne(rs, i, true);
	if (from != HNSW_GRAPH_NONE && !wasReached)
	{
		rs->result->elements_reconnected++;
		MarkReachedFrom(rs, i, from);
	}
}

/*
 * Misses of searches for up to HNSW_REPAIR_PROBES elements spread over
 * those marked in set (of nset), starting at an offset that differs per
 * check, so that one check does not ask only about the elements repaired
 * since the last.
 */
static int
ProbeMisses(RepairState *rs, const bool *set, uint32 nset, int check, int *probed)
{
	uint32		step = Max(nset / HNSW_REPAIR_PROBES, 1);
	uint32		offset = ((uint32) check * 7) % step;
	uint32		seen = 0;
	int			misses = 0;

	*probed = 0;
	for (uint32 i = 0; i < rs->g->nelems; i++)
	{
		if (!set[i])
			continue;
		if (seen++ % step == offset)
		{
			(*probed)++;
			if (!Findable(rs, i))
				misses++;
		}
	}
	return misses;
}

/*
 * Whether the part that was unreachable is findable enough: searches for
 * up to HNSW_REPAIR_PROBES of its elements miss at most 1% of them (the
 * self-recall the index must reach, issue 13) or twice as often as
 * searches for as many of the other elements, plus three misses of
 * sampling slack.  The others are probed only when the part misses more
 * than 1%.  Sets *misses to the part's misses.
 */
static bool
PartFindable(RepairState *rs, const bool *unreached, uint32 nunreached, int check,
			 int *misses)
{
	HnswGraph  *g = rs->g;
	bool	   *others;
	uint32		nothers = 0;
	int			partProbed;
	int			othersProbed;
	int			otherMisses;
	double		allowed;

	*misses = ProbeMisses(rs, unreached, nunreached, check, &partProbed);
	allowed = partProbed / 100.0 + 3;
	if (*misses <= allowed)
		return true;

	others = palloc(sizeof(bool) * Max(g->nelems, 1));
	for (uint32 i = 0; i < g->nelems; i++)
	{
		others[i] = HnswGraphIsLive(g, i) && !unreached[i];
		if (others[i])
			nothers++;
	}
	otherMisses = ProbeMisses(rs, others, nothers, check, &othersProbed);
	pfree(others);
	return *misses <= 2.0 * otherMisses * partProbed / Max(othersProbed, 1) + 3;
}

/*
 * Repair every element of the part that a search for it misses (each one
 * probed).  Returns the number repaired.
 */
static uint32
RepairMissed(RepairState *rs, const bool *unreached, bool *searched)
{
	uint32		count = 0;

	for (uint32 i = 0; i < rs->g->nelems; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!unreached[i] || Findable(rs, i))
			continue;
		BridgeOne(rs, i, searched);
		count++;
	}
	return count;
}

/*
 * A cover of the part: each element not yet searched none of whose
 * layer-0 neighbours was searched in this cover gets its search (about
 * one per cluster of near-duplicates, which brings back links into that
 * cluster from the main component); with all, every element not yet
 * searched.  Returns the number of elements searched.
 */
static uint32
RepairCover(RepairState *rs, const bool *unreached, bool *searched, bool all)
{
	HnswGraph  *g = rs->g;
	bool	   *covered = palloc0(sizeof(bool) * Max(g->nelems, 1));
	uint32		count = 0;

	for (uint32 i = 0; i < g->nelems; i++)
	{
		int			n;
		uint32	   *nb;

		CHECK_FOR_INTERRUPTS();
		if (!unreached[i] || searched[i] || covered[i])
			continue;
		BridgeOne(rs, i, searched);
		count++;
		if (all)
			continue;
		nb = HnswGraphNeighbors(g, i, 0, &n);
		for (int j = 0; j < n; j++)
			if (nb[j] != HNSW_GRAPH_NONE)
				covered[nb[j]] = true;
	}
	pfree(covered);
	return count;
}

/*
 * Repair the elements the loaded graph does not reach.  Those on upper
 * layers all get their search (they steer searches into their part); then
 * each layer-0 one still unreached, which bridges what it links to.  A part
 * that layer 0 reaches only through a few bridges may be reachable but
 * hard to find: while searches for a sample of the part miss more than
 * PartFindable allows, the repair escalates step by step (on the
 * near-duplicate table cut in two halves: one bridge per part left
 * self-recall at 0.47, the upper-layer searches 0.95; a cover, about one
 * element in seven of the part, 0.995, as relinking every element did in
 * six times the time; on two distant clusters one bridge and the upper
 * layers restore it and no step is needed).
 */
static void
BridgePass(RepairState *rs)
{
	HnswGraph  *g = rs->g;
	bool	   *unreached = palloc(sizeof(bool) * Max(g->nelems, 1));
	bool	   *searched = palloc0(sizeof(bool) * Max(g->nelems, 1));
	uint32		nunreached = 0;
	int			previousMisses = 0;

	for (uint32 i = 0; i < g->nelems; i++)
	{
		unreached[i] = HnswGraphIsLive(g, i) && !rs->reached[i];
		if (unreached[i])
			nunreached++;
	}

	/* Upper layers, then the layer-0 elements still unreached */
	for (int step = 0; step < 2; step++)
	{
		for (uint32 i = 0; i < g->nelems; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (!unreached[i] || searched[i] ||
				(step == 0 && g->elems[i].level == 0) || (step == 1 && rs->reached[i]))
				continue;
			BridgeOne(rs, i, searched);
		}
	}

	/*
	 * While the part is hard to find: a cover of it, then (twice at most)
	 * the elements searches miss, then all of it; but only while each step
	 * pays (the part's misses fall by a quarter at least): past that, what
	 * is missed is how the part's own graph is, not what the cut took.
	 */
	for (int k = 0; k <= HNSW_REPAIR_MISSED + 1; k++)
	{
		int			misses;
		uint32		c;

		if (PartFindable(rs, unreached, nunreached, k, &misses) ||
			(k > 0 && misses * 4 > previousMisses * 3))
			break;
		previousMisses = misses;
		rs->result->escalations++;
		if (k == 0)
			c = RepairCover(rs, unreached, searched, false);
		else if (k <= HNSW_REPAIR_MISSED)
			c = RepairMissed(rs, unreached, searched);
		else
			c = RepairCover(rs, unreached, searched, true);
		if (c == 0)
			break;
	}
	pfree(unreached);
	pfree(searched);
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
		if (RepairOne(rs, i, false) != HNSW_GRAPH_NONE)
			rs->result->weak_reinforced++;
	}
}

/*
 * Reinforce the elements at the given index TIDs (the caller's weak spots,
 * e.g. the sample elements of the integrity control plane's witness
 * edges) and those they link to on layer 0: each gets the search and
 * heuristic back-links.  TIDs of no live element are skipped.
 */
static void
AroundPass(RepairState *rs, const ItemPointerData *tids, int ntids)
{
	HnswGraph  *g = rs->g;
	bool	   *done = palloc0(sizeof(bool) * Max(g->nelems, 1));

	for (int t = 0; t < ntids; t++)
	{
		uint32		e = HnswGraphFind(g, ItemPointerGetBlockNumber(&tids[t]),
									  ItemPointerGetOffsetNumber(&tids[t]));
		int			n;
		uint32	   *nb;

		if (e == HNSW_GRAPH_NONE)
			continue;
		nb = HnswGraphNeighbors(g, e, 0, &n);
		for (int j = -1; j < n; j++)
		{
			uint32		v = j < 0 ? e : nb[j];

			CHECK_FOR_INTERRUPTS();
			if (v == HNSW_GRAPH_NONE || done[v] || !HnswGraphIsLive(g, v) || v == g->entry)
				continue;
			done[v] = true;
			rs->result->named_searched++;
			if (RepairOne(rs, v, false) != HNSW_GRAPH_NONE)
				rs->result->weak_reinforced++;
		}
	}
	pfree(done);
}

/*
 * Reconnect the graph of an HNSW index (see the file header).  heap is
 * the indexed table (unused today; kept so that a repair can later check
 * heap TIDs).  Fills *result.
 */
void
HnswRepair(Relation heap, Relation index, HnswRepairResult *result)
{
	HnswRepairAround(heap, index, NULL, 0, result);
}

/* Set up a repair of index; returns its memory context, current */
static MemoryContext
RepairBegin(RepairState *rs, Relation index, HnswRepairResult *result, instr_time *start)
{
	MemoryContext repairCtx;

	INSTR_TIME_SET_CURRENT(*start);
	memset(result, 0, sizeof(HnswRepairResult));
	repairCtx = AllocSetContextCreate(CurrentMemoryContext, "Hnsw repair context",
									  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(repairCtx);

	memset(rs, 0, sizeof(RepairState));
	rs->index = index;
	rs->result = result;
	HnswInitSupport(&rs->support, index);
	HnswReadMeta(index, &rs->m, &rs->efConstruction, NULL, NULL, NULL);
	rs->tmpCtx = AllocSetContextCreate(repairCtx, "Hnsw repair element context",
									   ALLOCSET_DEFAULT_SIZES);
	result->unreachable_before = RepairLoad(rs);
	result->one_way_before = CountOneWay(rs);
	return repairCtx;
}

static void
RepairEnd(MemoryContext repairCtx, MemoryContext oldCtx, HnswRepairResult *result,
		  instr_time *start)
{
	instr_time	elapsed;

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(repairCtx);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, *start);
	result->elapsed_ms = INSTR_TIME_GET_MILLISEC(elapsed);
}

/*
 * HnswRepair, and then the elements at the ntids index TIDs in tids and
 * their layer-0 neighbours are reinforced as weak spots are (counted in
 * named_searched; those that gained a link also in weak_reinforced).
 * Last, the reach pass.
 */
void
HnswRepairAround(Relation heap, Relation index, const ItemPointerData *tids, int ntids,
				 HnswRepairResult *result)
{
	RepairState rs;
	MemoryContext oldCtx = CurrentMemoryContext;
	instr_time	start;
	MemoryContext repairCtx = RepairBegin(&rs, index, result, &start);
	int64		unreachable = result->unreachable_before;

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
	if (ntids > 0)
		AroundPass(&rs, tids, ntids);
	if (result->weak_reinforced > 0 || ntids > 0 || result->rounds > 0)
		RepairLoad(&rs);

	/* The back-links above may have given up links: check, and link what they cut off */
	ReachPass(&rs);
	RepairEnd(repairCtx, oldCtx, result, &start);
}

/*
 * The reach pass alone (VACUUM's last step): every live element reachable
 * from the entry point on layer 0, and leading back to it.
 */
void
HnswRepairReach(Relation index, HnswRepairResult *result)
{
	RepairState rs;
	MemoryContext oldCtx = CurrentMemoryContext;
	instr_time	start;
	MemoryContext repairCtx = RepairBegin(&rs, index, result, &start);

	ReachPass(&rs);
	RepairEnd(repairCtx, oldCtx, result, &start);
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
				   ", \"weak_reinforced\": " INT64_FORMAT ", \"rounds\": %d, \"escalations\": %d"
				   ", \"elapsed_ms\": %.3f}",
				   r.unreachable_before, r.unreachable_after, r.elements_reconnected,
				   r.links_added, r.weak_reinforced, r.rounds, r.escalations, r.elapsed_ms);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * rv_hnsw_repair_around_test(index regclass, tids tid[]) RETURNS int8:
 * HnswRepairAround from SQL for TAP 107 (which declares it), tids being
 * index TIDs; returns named_searched.
 */
PG_FUNCTION_INFO_V1(rv_hnsw_repair_around_test);
Datum
rv_hnsw_repair_around_test(PG_FUNCTION_ARGS)
{
	Oid			indexid = PG_GETARG_OID(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Oid			heapid = IndexGetRelation(indexid, false);
	Relation	heap;
	Relation	index;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	ItemPointerData *tids;
	int			ntids = 0;
	HnswRepairResult r;

	deconstruct_array(arr, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT,
					  &elems, &nulls, &n);
	tids = palloc(sizeof(ItemPointerData) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			tids[ntids++] = *((ItemPointer) DatumGetPointer(elems[i]));

	heap = table_open(heapid, RowExclusiveLock);
	index = index_open(indexid, RowExclusiveLock);
	if (index->rd_rel->relam != get_index_am_oid("hnsw", false) &&
		index->rd_rel->relam != get_index_am_oid("ruhnsw", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
	HnswRepairAround(heap, index, tids, ntids, &r);
	index_close(index, RowExclusiveLock);
	table_close(heap, RowExclusiveLock);
	PG_RETURN_INT64(r.named_searched);
}
