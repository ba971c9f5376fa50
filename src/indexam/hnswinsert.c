/*-------------------------------------------------------------------------
 *
 * hnswinsert.c
 *	  Inserting one element into an HNSW index on disk: aminsert, and the
 *	  build once its graph no longer fits in maintenance_work_mem.
 *
 * NOTES
 *	  An insert finds the new element's neighbours with the layer search
 *	  (Algorithm 1 of the HNSW paper), merges it into an identical element
 *	  when one has a free heap TID slot, else writes its node tuple, links
 *	  each chosen neighbour back to it, and finally promotes it to entry
 *	  point if it is the highest element.  Back-links are decided with the
 *	  neighbour-selection heuristic outside exclusive locks and applied
 *	  only if the slot still holds what the decision was based on; a lost
 *	  race costs one link, never consistency.  A full list that gives up an
 *	  exact copy of the new element gives up one the new element links to
 *	  (KeepCopiesReachable), so no copy of a duplicated vector is cut off.
 *
 *	  LOCK ORDER (for the whole hnsw subsystem)
 *
 *	  1. Heavyweight page locks used as flags (LockPage; never on real
 *		 pages, see hnsw.h):
 *		 - HNSW_UPDATE_LOCK: every insert holds it in share mode from
 *		   reading the entry point until its last write; an insert whose
 *		   element may become the entry point, and VACUUM while it moves
 *		   the entry point, hold it exclusively.  VACUUM also takes it
 *		   exclusively, with nothing else held, to wait for inserts that
 *		   started before a phase.
 *		 - HNSW_SCAN_LOCK: scans hold it in share mode while they read the
 *		   graph; VACUUM takes it exclusively (alone) to wait them out
 *		   before recycling elements.
 *		 UPDATE before SCAN if both were ever held; no code does.  Repairs
 *		 (hnswrepair.c) hold UPDATE in share mode per element relinked, as
 *		 an insert, and SCAN in share mode per probing search, never both.
 *	  2. The relation extension lock, only while holding the content lock
 *		 of the last page, which the new page is linked from.
 *	  3. Buffer content locks: at most one page at a time, except a node's
 *		 page and then its overflow neighbour page, whose block number is
 *		 always higher (a page appended after it).  The metapage is only
 *		 ever locked alone.  No heavyweight lock is requested while a
 *		 content lock is held.
 *	  4. VACUUM's cleanup locks are taken with no other content lock held;
 *		 searches pin a page only while they visit it, so a cleanup lock
 *		 waits only for visits in progress.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswinsert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "indexam/hnsw.h"

/* A node tuple ready to be written, and where it went */
typedef struct NodePlan
{
	HnswNodeTuple node;
	Size		nodeSize;
	HnswNbrTuple nbr;			/* overflow slots, NULL when inline */
	Size		nbrSize;
	bool		separate;
	Size		minSize;		/* room a level-0 element needs */
	BlockNumber blkno;
	OffsetNumber offno;
	BlockNumber newInsertPage;
} NodePlan;

/* ----------------------------------------------------------------
 *		Finding neighbours
 * ----------------------------------------------------------------
 */

static HnswNeighborList *
NewNeighborList(int lm)
{
	HnswNeighborList *l = palloc(offsetof(HnswNeighborList, cands) + sizeof(uint32) * lm);

	l->count = 0;
	return l;
}

/*
 * Choose neighbours on layer lc from W (nearest first): drop elements being
 * deleted and the element itself (VACUUM repairs), then apply the heuristic.
 */
static HnswNeighborList *
ChooseNeighbors(HnswSearch *s, uint32 *w, int nw, int lc)
{
	int			lm = HnswLayerM(s->m, lc);
	uint32	   *usable = palloc(sizeof(uint32) * Max(nw, 1));
	int			nusable = 0;
	HnswNeighborList *list = NewNeighborList(lm);

	for (int i = 0; i < nw; i++)
	{
		HnswCand   *c = &s->cands[w[i]];

		if (!c->alive)
			continue;
		if (ItemPointerIsValid(&s->skipTid) &&
			ItemPointerGetBlockNumber(&s->skipTid) == c->blkno &&
			ItemPointerGetOffsetNumber(&s->skipTid) == c->offno)
			continue;
		usable[nusable++] = w[i];
	}
	list->count = HnswSelectNeighbors(s, usable, nusable, lm, list->cands);
	pfree(usable);
	return list;
}

/*
 * Search layer 0 again with a wider ef when W (*w, nw, nearest first) is
 * crowded with near-duplicates of the query (see HnswDuplicateEf).
 * Returns the new size of W and points *w at it.
 */
static int
WidenForDuplicates(HnswSearch *s, int efConstruction, uint32 **w, int nw)
{
	int			ndup = 0;
	int			ef;
	uint32	   *ep;

	if (nw == 0)
		return 0;
	for (int i = 0; i < nw; i++)
		if (HnswNearDuplicate(s->support, s->cands[(*w)[i]].distance,
							  s->cands[(*w)[nw - 1]].distance))
			ndup++;
	ef = HnswDuplicateEf(efConstruction, nw, ndup);
	if (ef == efConstruction)
		return nw;
	ep = palloc(sizeof(uint32) * nw);
	memcpy(ep, *w, sizeof(uint32) * nw);
	nw = HnswSearchLayer(s, ep, nw, ef, 0, true, w);
	pfree(ep);
	return nw;
}

/*
 * Find the neighbours of an element of the given level whose value is
 * s->query: greedy descent from the entry point to level + 1, then an
 * ef_construction search on each layer it lives on.  layers[lc] is set for
 * lc <= Min(level, entryLevel).  s must want values.
 */
void
HnswFindNeighbors(HnswSearch *s, ItemPointer entry, int entryLevel, int level,
				  int efConstruction, HnswNeighborList **layers)
{
	uint32		first;
	uint32	   *ep = &first;
	int			nep = 1;
	int			entryCand;

	entryCand = HnswSearchEntry(s, ItemPointerGetBlockNumber(entry),
								ItemPointerGetOffsetNumber(entry));
	if (entryCand < 0)
		return;
	first = (uint32) entryCand;

	for (int lc = entryLevel; lc > level; lc--)
		nep = HnswSearchLayer(s, ep, nep, 1, lc, true, &ep);

	/* The element itself shows up in a repair's search; make room for it */
	if (ItemPointerIsValid(&s->skipTid))
		efConstruction++;

	for (int lc = Min(level, entryLevel); lc >= 0; lc--)
	{
		uint32	   *w;
		int			nw = HnswSearchLayer(s, ep, nep, efConstruction, lc, true, &w);

		if (lc == 0)
			nw = WidenForDuplicates(s, efConstruction, &w, nw);
		layers[lc] = ChooseNeighbors(s, w, nw, lc);

		/* W is the next layer's entry set; keep it past the next search */
		ep = palloc(sizeof(uint32) * Max(nw, 1));
		memcpy(ep, w, sizeof(uint32) * nw);
		nep = nw;
	}
	s->layer0 = ep;
	s->nlayer0 = nep;
}

/* ----------------------------------------------------------------
 *		Duplicates
 * ----------------------------------------------------------------
 */

/*
 * Add heaptid to an existing element with the same value.  Fails if the
 * element is full, being deleted or was recycled since it was read.
 */
static bool
AddHeapTid(Relation index, HnswCand *c, ItemPointer heaptid, bool building)
{
	Buffer		buf;
	Page		page;
	HnswWriter	w;
	HnswNodeTuple node;
	int			i;

	buf = HnswReadBuffer(index, c->blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriterStart(&w, index, building);
	page = HnswWriterRegister(&w, buf, false);

	node = HnswPageNode(page, c->offno);
	if (node == NULL || node->version != c->version)
	{
		HnswWriterAbort(&w, true);
		return false;
	}

	for (i = 0; i < HNSW_HEAPTIDS; i++)
		if (!ItemPointerIsValid(&node->heaptids[i]))
			break;

	/* Empty means VACUUM is removing it: do not bring it back */
	if (i == 0 || i == HNSW_HEAPTIDS)
	{
		HnswWriterAbort(&w, true);
		return false;
	}

	node->heaptids[i] = *heaptid;
	HnswWriterFinish(&w, true);
	return true;
}

/*
 * Identical vectors share an element: offer the heap TID to every element
 * of layer 0's W with the same value, nearest first, until one has room.
 * An identical value is exactly as far from the query as the query is from
 * itself (0, except for inner product), which spares most comparisons.
 */
static bool
MergeDuplicate(Relation index, HnswSearch *s, ItemPointer heaptid, bool building)
{
	Size		size = VARSIZE(s->query);
	double		self = HnswSearchDistance(s, s->query);

	for (int i = 0; i < s->nlayer0; i++)
	{
		HnswCand   *c = &s->cands[s->layer0[i]];
		const char *v;

		if (c->distance != self || !c->alive)
			continue;
		v = HnswCandValue(s, s->layer0[i]);
		if (VARSIZE(v) != size || memcmp(v, s->query, size) != 0)
			continue;
		if (AddHeapTid(index, c, heaptid, building))
			return true;
	}
	return false;
}

/* ----------------------------------------------------------------
 *		Writing the node
 * ----------------------------------------------------------------
 */

/* Form the node (and overflow) tuple for a new element */
static void
PlanNode(NodePlan *p, HnswSearch *s, int level, const char *filter, ItemPointer heaptid,
		 HnswNeighborList **layers, int nlayers)
{
	Size		valsize = VARSIZE(s->query);
	Size		fsize = s->support->filterSize;
	int			nslots = HnswSlotCount(s->m, level);
	ItemPointer slots;

	memset(p, 0, sizeof(NodePlan));
	p->separate = HnswNodeInlineSize(valsize, fsize, nslots) > HNSW_MAX_ITEM_SIZE;
	p->nodeSize = p->separate ? HnswNodeSeparateSize(valsize, fsize) :
		HnswNodeInlineSize(valsize, fsize, nslots);
	p->minSize = Min(HnswNodeInlineSize(valsize, fsize, HnswSlotCount(s->m, 0)), p->nodeSize);
	p->newInsertPage = InvalidBlockNumber;

	p->node = palloc0(p->nodeSize);
	p->node->type = HNSW_NODE_TUPLE;
	p->node->level = (uint8) level;
	p->node->flags = p->separate ? HNSW_NODE_NBR_SEPARATE : 0;
	p->node->version = 1;
	p->node->nslots = (uint16) nslots;
	p->node->nbroff = (uint16) HnswNodeNbrOffset(valsize, fsize);
	for (int i = 0; i < HNSW_HEAPTIDS; i++)
		ItemPointerSetInvalid(&p->node->heaptids[i]);
	p->node->heaptids[0] = *heaptid;
	memcpy(HnswNodeValue(p->node), s->query, valsize);
	if (fsize > 0)
		memcpy(HnswNodeFilter(p->node), filter, fsize);

	if (p->separate)
	{
		p->nbrSize = HnswNbrTupleSize(nslots);
		p->nbr = palloc0(p->nbrSize);
		p->nbr->type = HNSW_NBR_TUPLE;
		p->nbr->level = (uint8) level;
		p->nbr->version = 1;
		p->nbr->nslots = (uint16) nslots;
		slots = p->nbr->slots;
	}
	else
		slots = HnswNodeSlots(p->node);

	for (int i = 0; i < nslots; i++)
		ItemPointerSetInvalid(&slots[i]);
	for (int lc = 0; lc < nlayers; lc++)
	{
		ItemPointer layer = slots + HnswLayerStart(s->m, lc);

		for (int i = 0; layers[lc] != NULL && i < layers[lc]->count; i++)
		{
			HnswCand   *c = &s->cands[layers[lc]->cands[i]];

			ItemPointerSet(&layer[i], c->blkno, c->offno);
		}
	}
}

static void
SetPlanVersion(NodePlan *p, uint8 version)
{
	p->node->version = version;
	if (p->nbr)
		p->nbr->version = version;
}

/*
 * Append a page after the last page (locked, registered as page) and
 * return it locked and registered.
 */
static Buffer
ExtendAfter(Relation index, HnswWriter *w, Buffer buf, Page page, Page *newPage)
{
	Buffer		nbuf;

	Assert(!BlockNumberIsValid(HnswPageGetOpaque(page)->nextblkno));

	LockRelationForExtension(index, ExclusiveLock);
	nbuf = HnswNewBuffer(index, MAIN_FORKNUM);
	UnlockRelationForExtension(index, ExclusiveLock);

	*newPage = HnswWriterRegister(w, nbuf, true);
	HnswInitPage(nbuf, *newPage);
	HnswPageGetOpaque(page)->nextblkno = BufferGetBlockNumber(nbuf);
	return nbuf;
}

/* Add an item that is known to fit */
static OffsetNumber
AddItem(Relation index, Page page, void *item, Size size)
{
	OffsetNumber offno = PageAddItem(page, (Item) item, size, InvalidOffsetNumber, false, false);

	if (offno == InvalidOffsetNumber)
		elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
	return offno;
}

/*
 * Put the node on page (and, for separate slots, the overflow tuple on a
 * new last page).  Returns false if it does not fit.
 */
static bool
PlaceOnPage(Relation index, HnswWriter *w, Buffer buf, Page page, NodePlan *p)
{
	Buffer		nbuf;
	Page		npage;
	OffsetNumber noff;

	if (PageGetFreeSpace(page) < p->nodeSize)
		return false;

	if (p->separate)
	{
		/* Overflow tuples go on a fresh page after the last one */
		if (BlockNumberIsValid(HnswPageGetOpaque(page)->nextblkno))
			return false;
		nbuf = ExtendAfter(index, w, buf, page, &npage);
		noff = AddItem(index, npage, p->nbr, p->nbrSize);
		ItemPointerSet(HnswNodeNbrTid(p->node), BufferGetBlockNumber(nbuf), noff);
		if (!BlockNumberIsValid(p->newInsertPage))
			p->newInsertPage = BufferGetBlockNumber(nbuf);
	}

	p->blkno = BufferGetBlockNumber(buf);
	p->offno = AddItem(index, page, p->node, p->nodeSize);
	return true;
}

/*
 * Overwrite a deleted element on page with the node, if one of the same
 * kind has room.  The new element inherits the old one's version, which
 * VACUUM already bumped, so stale readers see the change.
 */
static bool
ReuseDeleted(Relation index, HnswWriter *w, Buffer buf, Page page, NodePlan *p)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	BlockNumber blkno = BufferGetBlockNumber(buf);

	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		itemid = PageGetItemId(page, off);
		HnswNodeTuple old = (HnswNodeTuple) PageGetItem(page, itemid);
		ItemPointerData nbrtid;
		Buffer		nbuf;
		Page		npage;
		ItemId		nitemid;

		if (old->type != HNSW_NODE_TUPLE || !HnswNodeIsDeleted(old) ||
			HnswNodeHasSeparate(old) != p->separate ||
			MAXALIGN(ItemIdGetLength(itemid)) + PageGetExactFreeSpace(page) < p->nodeSize)
			continue;

		SetPlanVersion(p, old->version);
		if (p->separate)
		{
			nbrtid = *HnswNodeNbrTid(old);
			if (ItemPointerGetBlockNumber(&nbrtid) <= blkno)
				continue;
			nbuf = ReadBuffer(index, ItemPointerGetBlockNumber(&nbrtid));
			LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
			nitemid = PageGetItemId(BufferGetPage(nbuf), ItemPointerGetOffsetNumber(&nbrtid));
			if (MAXALIGN(ItemIdGetLength(nitemid)) + PageGetExactFreeSpace(BufferGetPage(nbuf)) < p->nbrSize)
			{
				UnlockReleaseBuffer(nbuf);
				continue;
			}
			npage = HnswWriterRegister(w, nbuf, false);
			*HnswNodeNbrTid(p->node) = nbrtid;
			if (!PageIndexTupleOverwrite(npage, ItemPointerGetOffsetNumber(&nbrtid), (Item) p->nbr, p->nbrSize))
				elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
		}

		if (!PageIndexTupleOverwrite(page, off, (Item) p->node, p->nodeSize))
			elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
		p->blkno = blkno;
		p->offno = off;
		return true;
	}
	return false;
}

/* No room anywhere: start a new last page (and one more for overflow) */
static void
PlaceOnNewPage(Relation index, HnswWriter *w, Buffer buf, Page page, NodePlan *p)
{
	Page		npage;
	Buffer		nbuf = ExtendAfter(index, w, buf, page, &npage);

	if (!BlockNumberIsValid(p->newInsertPage))
		p->newInsertPage = BufferGetBlockNumber(nbuf);
	if (!PlaceOnPage(index, w, nbuf, npage, p))
		elog(ERROR, "index tuple too large for \"%s\"", RelationGetRelationName(index));
}

/*
 * Write the node, walking the page chain from insertPage: free space, then
 * a deleted element to reuse, then a new page at the end.  One page (plus
 * its new successors) is locked at a time.
 */
static void
PlaceNode(Relation index, NodePlan *p, BlockNumber insertPage, bool building)
{
	BlockNumber blkno = insertPage;

	for (;;)
	{
		HnswWriter	w;
		Buffer		buf;
		Page		page;
		BlockNumber next;

		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		HnswWriterStart(&w, index, building);
		page = HnswWriterRegister(&w, buf, false);

		if (!BlockNumberIsValid(p->newInsertPage) && PageGetFreeSpace(page) >= p->minSize)
			p->newInsertPage = blkno;

		if (PlaceOnPage(index, &w, buf, page, p) || ReuseDeleted(index, &w, buf, page, p))
		{
			HnswWriterFinish(&w, true);
			return;
		}

		next = HnswPageGetOpaque(page)->nextblkno;
		if (!BlockNumberIsValid(next))
		{
			PlaceOnNewPage(index, &w, buf, page, p);
			HnswWriterFinish(&w, true);
			return;
		}

		HnswWriterAbort(&w, true);
		blkno = next;
		CHECK_FOR_INTERRUPTS();
	}
}

/* ----------------------------------------------------------------
 *		Back-links
 * ----------------------------------------------------------------
 */

/* Where a neighbour's slots for one layer are, read under a share lock */
typedef struct SlotRef
{
	BlockNumber blkno;			/* page of the tuple holding the slots */
	OffsetNumber offno;
	bool		overflow;		/* an overflow tuple, else the node */
	uint8		version;
	ItemPointerData tids[HNSW_MAX_M * 2];
	int			ntids;			/* valid slots, a prefix */
} SlotRef;

/* Copy a neighbour's slots on layer lc; false if it was recycled */
static bool
ReadSlots(Relation index, HnswSearch *s, HnswCand *c, int lc, SlotRef *ref)
{
	HnswLockedSlots ls;
	ItemPointer slots = HnswLockSlots(index, NULL, c->blkno, c->offno, c->version, &ls);
	int			lm = HnswLayerM(s->m, lc);
	bool		ok = slots != NULL && ls.node->level >= lc;

	if (ok)
	{
		ref->overflow = BufferIsValid(ls.sbuf);
		if (ref->overflow)
		{
			ref->blkno = ItemPointerGetBlockNumber(HnswNodeNbrTid(ls.node));
			ref->offno = ItemPointerGetOffsetNumber(HnswNodeNbrTid(ls.node));
		}
		else
		{
			ref->blkno = c->blkno;
			ref->offno = c->offno;
		}
		ref->version = ls.node->version;
		slots += HnswLayerStart(s->m, lc);
		for (ref->ntids = 0; ref->ntids < lm && ItemPointerIsValid(&slots[ref->ntids]); ref->ntids++)
			ref->tids[ref->ntids] = slots[ref->ntids];
	}
	HnswUnlockSlots(&ls);
	return ok;
}

/*
 * The candidates the search read, by TID: most members of a neighbour's
 * list were read by the search that found the neighbour, so their values
 * need no page visit.  Open addressing over TID keys, built once.
 */
typedef struct CandMap
{
	uint64	   *keys;
	uint32	   *cands;
	uint32		mask;
} CandMap;

static void
BuildCandMap(HnswSearch *s, CandMap *map)
{
	uint32		size = 64;

	while (size < s->ncands * 2)
		size <<= 1;
	map->mask = size - 1;
	map->keys = palloc0(sizeof(uint64) * size);
	map->cands = palloc(sizeof(uint32) * size);
	for (uint32 c = 0; c < s->ncands; c++)
	{
		uint64		key = HnswTidKey(s->cands[c].blkno, s->cands[c].offno);
		uint32		i = HnswKeySlot(key, map->mask);

		while (map->keys[i] != 0 && map->keys[i] != key)
			i = (i + 1) & map->mask;
		map->keys[i] = key;
		map->cands[i] = c;
	}
}

/* The candidate read at tid, or -1 */
static int64
FindCand(CandMap *map, ItemPointer tid)
{
	uint64		key = HnswTidKey(ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
	uint32		i = HnswKeySlot(key, map->mask);

	while (map->keys[i] != 0)
	{
		if (map->keys[i] == key)
			return map->cands[i];
		i = (i + 1) & map->mask;
	}
	return -1;
}

/*
 * Load the values of a full neighbour list, from the search's candidates
 * where it read them, else from the pages.  Returns the index of an
 * element that is gone or being deleted (to be replaced outright), or -1
 * with values[i] set for each.  The caller holds HNSW_UPDATE_LOCK, so no
 * candidate can have been recycled since the search read it.
 */
static int
LoadListValues(Relation index, HnswSearch *s, CandMap *map, SlotRef *ref, char **values)
{
	for (int i = 0; i < ref->ntids; i++)
	{
		int64		c = FindCand(map, &ref->tids[i]);
		Buffer		buf;
		Page		page;
		HnswNodeTuple node;
		OffsetNumber offno = ItemPointerGetOffsetNumber(&ref->tids[i]);
		bool		usable;

		if (c >= 0)
		{
			if (!s->cands[c].alive)
				return i;
			values[i] = (char *) HnswCandValue(s, (uint32) c);
			continue;
		}

		buf = HnswReadBuffer(index, ItemPointerGetBlockNumber(&ref->tids[i]));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		usable = offno <= PageGetMaxOffsetNumber(page);
		if (usable)
		{
			node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, offno));
			usable = HnswNodeIsLive(node);
		}
		if (usable)
		{
			Size		size = VARSIZE(HnswNodeValue(node));

			values[i] = palloc(size);
			memcpy(values[i], HnswNodeValue(node), size);
		}
		UnlockReleaseBuffer(buf);
		if (!usable)
			return i;
	}
	return -1;
}

/* HnswPairDistance over values taken in a given order */
typedef struct ValuePairs
{
	HnswSupport *support;
	char	  **values;
	int		   *order;
} ValuePairs;

static double
ValuePairDistance(void *arg, int i, int j)
{
	ValuePairs *p = (ValuePairs *) arg;

	return HnswStoredDistance(p->support, p->values[p->order[i]], p->values[p->order[j]]);
}

/*
 * Which of the lm + 1 candidates (a full list plus the new element, the
 * last one) the heuristic leaves out.  dists[i] is the distance to the list
 * owner, values[i] the candidate's value, ties[i] its tie-break key.
 */
static int
DroppedByHeuristic(HnswSupport *support, const char *owner, char **values, float *dists,
				   uint32 *ties, int n, int lm)
{
	int			order[HNSW_MAX_M * 2 + 1];
	bool		selected[HNSW_MAX_M * 2 + 1];
	int			kept[HNSW_MAX_M * 2 + 1];
	int			nkept = 0;
	uint8		keptAt[HNSW_MAX_M * 2 + 1];
	uint8		dupAt[HNSW_MAX_M * 2 + 1];
	float		distAt[HNSW_MAX_M * 2 + 1];
	ValuePairs	pairs;
	int			last;

	/*
	 * Nearest first, equal distances in random order.  Among identical
	 * vectors the heuristic keeps the first and drops the last; any fixed
	 * order (by age, by TID) would make every list drop the same ones, and
	 * those would lose all their incoming links.
	 */
	for (int i = 0; i < n; i++)
	{
		int			j = i - 1;

		while (j >= 0 && (dists[order[j]] > dists[i] ||
						  (dists[order[j]] == dists[i] && ties[order[j]] > ties[i])))
		{
			order[j + 1] = order[j];
			j--;
		}
		order[j + 1] = i;
		selected[i] = false;
	}

	for (int i = 0; i < n && nkept < lm; i++)
	{
		int			e = order[i];
		bool		closer = true;

		for (int k = 0; k < nkept && closer; k++)
		{
			float		d = (float) HnswStoredDistance(support, values[e], values[kept[k]]);

			closer = !HnswPrunes(support, values[e], values[kept[k]], owner, d, dists[e],
								 dists[kept[k]]);
		}
		if (closer)
			kept[nkept++] = e;
	}
	for (int k = 0; k < nkept; k++)
		selected[kept[k]] = true;

	/* The last one in fill order; positions in distance order */
	for (int i = 0; i < n; i++)
	{
		keptAt[i] = selected[order[i]];
		distAt[i] = dists[order[i]];
		dupAt[i] = HnswNearDuplicateNotCopy(support, dists[order[i]], dists[order[n - 1]]);
	}
	pairs.support = support;
	pairs.values = values;
	pairs.order = order;
	last = HnswFillLast(support, n, distAt, keptAt, dupAt, lm, ValuePairDistance, &pairs);
	return last >= 0 ? order[last] : n - 1;
}

/*
 * The linked element's own links while its back-links are written (see
 * KeepCopiesReachable).  self names the element for ReadSlots; pinned are
 * the links of the current layer that a back-link relied on; added, for
 * an existing element given new neighbours (VACUUM, repairs), its slots
 * holding the links that relink wrote (NULL for a new element).
 */
typedef struct OwnLinks
{
	HnswCand	self;
	ItemPointerData pinned[HNSW_MAX_M * 2];
	int			npinned;
	ItemPointer added;
} OwnLinks;

/* Whether a relinked element's link to tid on layer lc is one it was just given */
static bool
IsAdded(HnswSearch *s, OwnLinks *own, int lc, ItemPointer tid)
{
	return HnswTidIndex(own->added + HnswLayerStart(s->m, lc), HnswLayerM(s->m, lc), tid) >= 0;
}

static void
Pin(OwnLinks *own, ItemPointer tid)
{
	if (HnswTidIndex(own->pinned, own->npinned, tid) < 0 && own->npinned < lengthof(own->pinned))
		own->pinned[own->npinned++] = *tid;
}

static bool WriteSlot(Relation index, HnswSearch *s, SlotRef *ref, int lc, bool append, int idx,
					  ItemPointer expect, ItemPointer newTid, bool building);

/*
 * Make the new element link to tid on layer lc (its slots as read in
 * mine): a free slot, else one of the links it was given that no
 * back-link relied on, an exact copy of the element first (its links to
 * anything else lead out of the copies).  The element is new, so no path
 * but the pinned ones goes through those links yet.  A link a concurrent
 * insert wrote (an element this search did not read) may be the only one
 * into that insert's element, so it stays.  A relinked element (VACUUM,
 * repairs) gives up only a link the relink gave it: its older links may
 * be the only way into the elements they lead to.  Returns false if no
 * slot may be taken or a concurrent insert changed it first.
 */
static bool
AddOwnLink(Relation index, HnswSearch *s, CandMap *map, OwnLinks *own, SlotRef *mine, int lc,
		   ItemPointer tid, bool building)
{
	int			lm = HnswLayerM(s->m, lc);
	int			slot = -1;

	if (mine->ntids < lm)
		return WriteSlot(index, s, mine, lc, true, -1, NULL, tid, building);
	for (int pass = 0; pass < 2 && slot < 0; pass++)
	{
		for (int i = 0; i < mine->ntids && slot < 0; i++)
		{
			int64		c = FindCand(map, &mine->tids[i]);

			if (c < 0 || HnswTidIndex(own->pinned, own->npinned, &mine->tids[i]) >= 0 ||
				(own->added != NULL && !IsAdded(s, own, lc, &mine->tids[i])))
				continue;
			if (pass == 0 && !HnswSameValue(HnswCandValue(s, (uint32) c), s->query))
				continue;
			slot = i;
		}
	}
	if (slot < 0)
		return false;
	return WriteSlot(index, s, mine, lc, false, slot, &mine->tids[slot], tid, building);
}

/*
 * Exact copies of a vector are one point split into elements of
 * HNSW_HEAPTIDS heap TIDs each, so a list that holds some of them may give
 * up any one when it takes the new element: they are equally far from
 * everything.  Which one matters all the more.  The copies' lists are
 * filled with each other, and each new copy replaces copies in its
 * neighbours' lists: dropping one at random cut old copies off link by
 * link, until half the elements of a duplicated vector were unreachable
 * (TAP 104, 111).  So when the heuristic drops a copy of the new element
 * (or the new element itself, if the list holds copies of it), the list
 * gives up a copy the new element links to, after making it one of the
 * new element's links if none is: every path through the dropped link
 * then goes on through the new element.  VACUUM and repairs, which give
 * an existing element new neighbours and link those back to it, follow
 * the same rule with that element in place of the new one (their
 * heuristic back-links cut copies off the same way: TAP 111).  Returns
 * the index in ref of the slot to replace, or -1 to leave the list alone.
 */
static int
KeepCopiesReachable(Relation index, HnswSearch *s, CandMap *map, OwnLinks *own, int lc,
					SlotRef *ref, char **values, int dropped, bool building)
{
	int			n = ref->ntids;
	int			copies[HNSW_MAX_M * 2];
	int			ncopies = 0;
	SlotRef		mine;
	int			victim;

	for (int i = 0; i < n; i++)
		if (HnswSameValue(values[i], s->query))
			copies[ncopies++] = i;
	if (ncopies == 0)
		return dropped < n ? dropped : -1;
	if (!ReadSlots(index, s, &own->self, lc, &mine))
		return dropped < n ? dropped : -1;

	for (int k = 0; k < ncopies; k++)
	{
		int			j = HnswTidIndex(mine.tids, mine.ntids, &ref->tids[copies[k]]);

		if (j >= 0)
		{
			Pin(own, &mine.tids[j]);
			return copies[k];
		}
	}

	victim = dropped < n ? dropped
		: copies[pg_prng_uint64_range(&pg_global_prng_state, 0, ncopies - 1)];
	if (!AddOwnLink(index, s, map, own, &mine, lc, &ref->tids[victim], building))
		return -1;
	Pin(own, &ref->tids[victim]);
	return victim;
}

/*
 * Decide which slot of a full list the new element takes, or -1 for none.
 * Sets *expect to the TID being replaced.  own is the linked element's
 * (see KeepCopiesReachable).
 */
static int
ChooseReplacement(Relation index, HnswSearch *s, CandMap *map, HnswCand *c, SlotRef *ref,
				  OwnLinks *own, int lc, ItemPointer expect, bool building)
{
	int			n = ref->ntids;
	char	  **values = palloc(sizeof(char *) * (n + 1));
	float	   *dists = palloc(sizeof(float) * (n + 1));
	uint32	   *ties = palloc(sizeof(uint32) * (n + 1));
	const char *owner = HnswCandValue(s, (uint32) (c - s->cands));
	int			idx;

	idx = LoadListValues(index, s, map, ref, values);
	if (idx < 0)
	{
		for (int i = 0; i < n; i++)
		{
			dists[i] = (float) HnswStoredDistance(s->support, owner, values[i]);
			ties[i] = pg_prng_uint32(&pg_global_prng_state);
		}
		values[n] = (char *) s->query;
		dists[n] = (float) c->distance;
		ties[n] = pg_prng_uint32(&pg_global_prng_state);
		idx = DroppedByHeuristic(s->support, owner, values, dists, ties, n + 1, n);
		if (HnswSameValue(values[idx], s->query))
			idx = KeepCopiesReachable(index, s, map, own, lc, ref, values, idx, building);
		else if (idx == n)
			idx = -1;
	}
	if (idx >= 0)
		*expect = ref->tids[idx];
	return idx;
}

/*
 * Write the new element's TID into a neighbour's slot: the first free one
 * (idx < 0 and append) or slot idx if it still holds *expect.
 */
static bool
WriteSlot(Relation index, HnswSearch *s, SlotRef *ref, int lc, bool append, int idx,
		  ItemPointer expect, ItemPointer newTid, bool building)
{
	Buffer		buf = HnswReadBuffer(index, ref->blkno);
	HnswWriter	w;
	Page		page;
	ItemPointer layer;
	int			lm = HnswLayerM(s->m, lc);
	bool		changed = false;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriterStart(&w, index, building);
	page = HnswWriterRegister(&w, buf, false);

	if (ref->overflow)
	{
		HnswNbrTuple ntup = (HnswNbrTuple) PageGetItem(page, PageGetItemId(page, ref->offno));

		layer = (ntup->type == HNSW_NBR_TUPLE && ntup->version == ref->version) ? ntup->slots : NULL;
	}
	else
	{
		HnswNodeTuple node = HnswPageNode(page, ref->offno);

		layer = (node != NULL && node->version == ref->version) ? HnswNodeSlots(node) : NULL;
	}

	if (layer != NULL)
	{
		layer += HnswLayerStart(s->m, lc);
		if (HnswTidIndex(layer, HnswTidCount(layer, lm), newTid) >= 0)
			layer = NULL;
	}

	if (layer != NULL && append)
	{
		for (int i = 0; i < lm && !changed; i++)
		{
			if (!ItemPointerIsValid(&layer[i]))
			{
				layer[i] = *newTid;
				changed = true;
			}
		}
	}
	else if (layer != NULL && ItemPointerEquals(&layer[idx], expect))
	{
		layer[idx] = *newTid;
		changed = true;
	}

	if (changed)
		HnswWriterFinish(&w, true);
	else
		HnswWriterAbort(&w, true);
	return changed;
}

/*
 * Link each chosen neighbour back to the new element at (blkno, offno).
 * Neighbour lists with room take it; full ones run the heuristic over
 * their members plus the new element and replace the one it drops.
 * version is the element's.  added is NULL for a new element; when an
 * existing element is given new neighbours (repairs, VACUUM), its slots
 * (all layers, as on the page) with the links that relink just wrote and
 * invalid TIDs elsewhere (see AddOwnLink).  Returns how many links were
 * written on layer 0; written0, if not NULL, gets whether each of
 * layers[0]'s neighbours took one.
 */
int
HnswConnectNeighbors(Relation index, HnswSearch *s, BlockNumber blkno, OffsetNumber offno,
					 uint8 version, ItemPointer added, HnswNeighborList **layers, int nlayers,
					 bool building, bool *written0)
{
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext,
											  "Hnsw back-link context",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldCtx;
	ItemPointerData newTid;
	CandMap		map;
	int			written = 0;
	OwnLinks	own;

	memset(&own, 0, sizeof(own));
	own.self.blkno = blkno;
	own.self.offno = offno;
	own.self.version = version;
	own.added = added;
	BuildCandMap(s, &map);
	oldCtx = MemoryContextSwitchTo(ctx);
	ItemPointerSet(&newTid, blkno, offno);
	for (int lc = nlayers - 1; lc >= 0; lc--)
	{
		int			lm = HnswLayerM(s->m, lc);

		own.npinned = 0;
		for (int i = 0; layers[lc] != NULL && i < layers[lc]->count; i++)
		{
			HnswCand   *c = &s->cands[layers[lc]->cands[i]];
			SlotRef		ref;
			ItemPointerData expect;
			int			idx = -1;
			bool		append;

			MemoryContextReset(ctx);
			if (lc == 0 && written0 != NULL)
				written0[i] = false;
			if (!ReadSlots(index, s, c, lc, &ref))
				continue;
			append = ref.ntids < lm;
			if (!append)
			{
				idx = ChooseReplacement(index, s, &map, c, &ref, &own, lc, &expect, building);
				if (idx < 0)
					continue;
			}
			if (WriteSlot(index, s, &ref, lc, append, idx, &expect, &newTid, building) && lc == 0)
			{
				written++;
				if (written0 != NULL)
					written0[i] = true;
			}
		}
	}

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(ctx);
	return written;
}

/*
 * Link candidate c (a neighbour found by s) to newTid on layer lc whatever
 * the heuristic says: a free slot if there is one, else the slot pick()
 * chooses among the current links (tids, n of them; -1 for none).  For
 * repairs, where the link may be the only way into a part of the graph.
 * Caller holds HNSW_UPDATE_LOCK.  Returns whether a slot was written;
 * *replaced is set to the link given up (invalid if none).
 */
bool
HnswForceLink(Relation index, HnswSearch *s, HnswCand *c, int lc, ItemPointer newTid,
			  HnswPickSlot pick, void *arg, ItemPointer replaced)
{
	SlotRef		ref;
	int			idx = -1;
	bool		append;

	ItemPointerSetInvalid(replaced);
	if (!ReadSlots(index, s, c, lc, &ref))
		return false;
	if (HnswTidIndex(ref.tids, ref.ntids, newTid) >= 0)
		return false;
	append = ref.ntids < HnswLayerM(s->m, lc);
	if (!append)
	{
		idx = pick(arg, ref.tids, ref.ntids);
		if (idx < 0)
			return false;
		*replaced = ref.tids[idx];
	}
	return WriteSlot(index, s, &ref, lc, append, idx, replaced, newTid, false);
}

/* ----------------------------------------------------------------
 *		Insert
 * ----------------------------------------------------------------
 */

/*
 * Insert one element whose value is already in stored form (normalised;
 * compact storage encodes it here and ranks from the exact value).
 * building skips WAL (the build logs every page at the end).
 */
void
HnswInsertOnDisk(Relation index, HnswSupport *support, Datum value, const char *filter,
				 ItemPointer heaptid, bool building)
{
	LOCKMODE	lockmode = ShareLock;
	int			m;
	int			efConstruction;
	ItemPointerData entry;
	int			entryLevel;
	BlockNumber insertPage;
	int			level;
	int			nlayers;
	HnswSearch	s;
	HnswNeighborList *layers[64];
	NodePlan	plan;

	/* Share: other inserts may run; VACUUM waits for us */
	LockPage(index, HNSW_UPDATE_LOCK, lockmode);
	HnswReadMeta(index, &m, &efConstruction, &entry, &entryLevel, &insertPage);
	level = HnswRandomLevel(m);

	/* A new top element changes the entry point: one such insert at a time */
	if (!ItemPointerIsValid(&entry) || level > entryLevel)
	{
		UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
		lockmode = ExclusiveLock;
		LockPage(index, HNSW_UPDATE_LOCK, lockmode);
		HnswReadMeta(index, NULL, NULL, &entry, &entryLevel, &insertPage);
	}

	if (HnswIsCompact(support))
	{
		/* Store the code, but rank neighbours from the exact vector */
		float	   *x = palloc(sizeof(float) * support->dimensions);

		HnswValueFloats(support, DatumGetPointer(value), x);
		HnswSearchInit(&s, index, support, m, efConstruction,
					   HnswEncodeValue(support, DatumGetPointer(value)));
		HnswSearchSetFloats(&s, x);
	}
	else
		HnswSearchInit(&s, index, support, m, efConstruction, DatumGetPointer(value));
	s.wantValues = true;

	memset(layers, 0, sizeof(layers));
	nlayers = 0;
	if (ItemPointerIsValid(&entry))
	{
		HnswFindNeighbors(&s, &entry, entryLevel, level, efConstruction, layers);
		nlayers = Min(level, entryLevel) + 1;
	}

	/* an element's rows share its filter values: no merging with filters */
	if (nlayers > 0 && support->nfilters == 0 && MergeDuplicate(index, &s, heaptid, building))
	{
		UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
		return;
	}

	PlanNode(&plan, &s, level, filter, heaptid, layers, nlayers);
	PlaceNode(index, &plan, insertPage, building);
	if (BlockNumberIsValid(plan.newInsertPage) && plan.newInsertPage != insertPage)
		HnswSetInsertPage(index, MAIN_FORKNUM, building, plan.newInsertPage);

	HnswConnectNeighbors(index, &s, plan.blkno, plan.offno, plan.node->version, NULL, layers,
						 nlayers, building, NULL);

	if (!ItemPointerIsValid(&entry) || level > entryLevel)
		HnswSetEntryPoint(index, MAIN_FORKNUM, building, plan.blkno, plan.offno, level, true);

	UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
}

/*
 * The memory of one insert.  It lives as long as the backend and is reset
 * for each insert: its first megabyte stays allocated, so a stream of
 * single-row inserts does not hand memory back to the kernel and fault it
 * in again every time.
 */
static MemoryContext
InsertContext(void)
{
	static MemoryContext insertCtx = NULL;

	if (insertCtx == NULL)
		insertCtx = AllocSetContextCreate(TopMemoryContext,
										  "Hnsw insert temporary context",
										  0, 1024 * 1024, 1024 * 1024);
	else
		MemoryContextReset(insertCtx);
	return insertCtx;
}

bool
hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		   IndexInfo *indexInfo)
{
	MemoryContext insertCtx;
	MemoryContext oldCtx;
	HnswSupport support;
	Datum		value;
	Datum		filter[HNSW_MAX_FILTERS + 1];	/* aligned for store_att_byval */

	/* NULLs are not indexed */
	if (isnull[0])
		return false;

	insertCtx = InsertContext();
	oldCtx = MemoryContextSwitchTo(insertCtx);

	HnswInitSupport(&support, index);
	if (HnswFormValue(&support, values[0], &value))
	{
		HnswFormFilter(&support, values, isnull, (char *) filter);
		HnswInsertOnDisk(index, &support, value, (char *) filter, heap_tid, false);
	}

	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(insertCtx);
	return false;
}
