/*-------------------------------------------------------------------------
 *
 * hnswvacuum.c
 *	  VACUUM of an HNSW index: remove dead heap TIDs, repair the graph
 *	  around elements that lost all of theirs, then recycle those elements.
 *
 * NOTES
 *	  ambulkdelete runs four passes over the page chain.
 *
 *	  1. Remove heap TIDs the callback reports dead.  An element left with
 *		 none is "dying": it stays in the graph (searches route through it,
 *		 results skip it, inserts neither link to it nor revive it) and its
 *		 TID goes into the dying set.  The highest live elements are noted
 *		 as replacements for a dying entry point.
 *	  2. Wait for inserts that started before pass 1 ended (they may have
 *		 chosen dying neighbours), move the entry point off a dying element,
 *		 then give every live element that links to a dying one (or whose
 *		 layer 0 is not full, or that a dying exact copy of it links to)
 *		 new neighbours in the room its dying links and empty slots leave,
 *		 and link those back, as an insert would.  Its live links all stay
 *		 (on clustered data the few links between clusters are far ones; a
 *		 repair that traded them for nearer ones cut whole clusters off).
 *		 The room goes first to what its dying neighbours linked to and its
 *		 live links do not cover (the path through a deleted element is
 *		 kept), then to the nearest elements a search that skips itself
 *		 finds.  Links to exact copies of the element stay (copies of a
 *		 duplicated vector are reached through each other's links), and
 *		 the back-links keep copies reachable as an insert's do
 *		 (KeepCopiesReachable in hnswinsert.c).
 *	  3. Wait for inserts again, check that no live element still links to
 *		 a dying one, wait for running scans (new ones cannot reach dying
 *		 elements any more), then mark each dying element deleted under a
 *		 cleanup lock: value and slots cleared, version bumped.  Inserts
 *		 reuse the space; scans that read it earlier notice the version.
 *	  4. Load the graph and give every live element that layer 0 does not
 *		 reach from the entry point, or that does not lead back to it, a
 *		 forced link (EnsureReach).
 *
 *	  Lock order: see hnswinsert.c.  Heavyweight locks are taken with no
 *	  buffer locked; cleanup locks with no other buffer locked.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswvacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "indexam/hnsw.h"

/* A set of index TIDs: open addressing, grown when half full */
typedef struct TidSet
{
	uint64	   *keys;
	uint32		mask;
	uint32		count;
} TidSet;

/* An element as pass 2 needs it */
typedef HnswElementRef VacElement;

typedef struct HnswVacuumState
{
	/* Info */
	Relation	index;
	IndexBulkDeleteResult *stats;
	IndexBulkDeleteCallback callback;
	void	   *callback_state;
	HnswSupport support;
	BufferAccessStrategy bas;

	/* Settings */
	int			m;
	int			efConstruction;

	/* Pass 1 results */
	TidSet		dying;
	TidSet		orphans;		/* live copies dying elements link to */
	VacElement	highest;		/* blkno invalid if none */
	VacElement	fallback;
	uint64		graphElems;		/* node tuples, deleted ones too (EnsureReach) */
	uint64		graphSlots;		/* their link slots, deleted ones' aside */

	/* Memory */
	MemoryContext tmpCtx;
} HnswVacuumState;

/* ----------------------------------------------------------------
 *		The dying set
 * ----------------------------------------------------------------
 */

static inline uint64
SetKey(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumber(tid) << 16) | ItemPointerGetOffsetNumber(tid);
}

static inline uint32
SetSlot(uint64 key, uint32 mask)
{
	return (uint32) ((key * UINT64CONST(0x9E3779B97F4A7C15)) >> 32) & mask;
}

static void
TidSetInit(TidSet *set)
{
	set->mask = 255;
	set->count = 0;
	set->keys = palloc0(sizeof(uint64) * (set->mask + 1));
}

static void
TidSetAddKey(TidSet *set, uint64 key)
{
	uint32		i;

	if ((set->count + 1) * 2 > set->mask)
	{
		uint64	   *old = set->keys;
		uint32		oldSize = set->mask + 1;

		set->mask = oldSize * 2 - 1;
		set->keys = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * (Size) (set->mask + 1));
		memset(set->keys, 0, sizeof(uint64) * (Size) (set->mask + 1));
		for (uint32 j = 0; j < oldSize; j++)
		{
			if (old[j] == 0)
				continue;
			i = SetSlot(old[j], set->mask);
			while (set->keys[i] != 0)
				i = (i + 1) & set->mask;
			set->keys[i] = old[j];
		}
		pfree(old);
	}

	i = SetSlot(key, set->mask);
	while (set->keys[i] != 0)
	{
		if (set->keys[i] == key)
			return;
		i = (i + 1) & set->mask;
	}
	set->keys[i] = key;
	set->count++;
}

static bool
TidSetContainsKey(TidSet *set, uint64 key)
{
	uint32		i = SetSlot(key, set->mask);

	while (set->keys[i] != 0)
	{
		if (set->keys[i] == key)
			return true;
		i = (i + 1) & set->mask;
	}
	return false;
}

static void
TidSetAdd(TidSet *set, ItemPointer tid)
{
	TidSetAddKey(set, SetKey(tid));
}

static bool
TidSetContains(TidSet *set, ItemPointer tid)
{
	return TidSetContainsKey(set, SetKey(tid));
}

/*
 * An element and a value, for the orphans set: the TID's key (48 bits)
 * with 16 bits of the value's hash above it
 */
static uint64
OrphanKey(ItemPointer tid, const char *value)
{
	uint32		h = hash_bytes((const unsigned char *) value, VARSIZE(value));

	return SetKey(tid) | ((uint64) (h & 0xFFFF) << 48);
}

/* ----------------------------------------------------------------
 *		Pass 1: remove heap TIDs
 * ----------------------------------------------------------------
 */

/* Keep track of the two highest live elements */
static void
NoteLevel(HnswVacuumState *vs, BlockNumber blkno, OffsetNumber offno, int level)
{
	VacElement	e = {blkno, offno, level, 0, NULL};

	if (!BlockNumberIsValid(vs->highest.blkno) || level > vs->highest.level)
	{
		vs->fallback = vs->highest;
		vs->highest = e;
	}
	else if (!BlockNumberIsValid(vs->fallback.blkno) || level > vs->fallback.level)
		vs->fallback = e;
}

/* Drop dead heap TIDs from one node; true if it changed */
static bool
PruneHeapTids(HnswVacuumState *vs, HnswNodeTuple node)
{
	int			kept = 0;
	bool		changed = false;

	for (int i = 0; i < HNSW_HEAPTIDS && ItemPointerIsValid(&node->heaptids[i]); i++)
	{
		if (vs->callback(&node->heaptids[i], vs->callback_state))
		{
			vs->stats->tuples_removed++;
			changed = true;
		}
		else
		{
			node->heaptids[kept++] = node->heaptids[i];
			vs->stats->num_index_tuples++;
		}
	}
	if (changed)
		for (int i = kept; i < HNSW_HEAPTIDS; i++)
			ItemPointerSetInvalid(&node->heaptids[i]);
	return changed;
}

/*
 * Note the elements a dying element links to, as orphans of its value:
 * each loses a link into it, and an exact copy of a duplicated vector may
 * have had no other (copies are reached through each other's links, see
 * KeepCopiesReachable in hnswinsert.c).  Pass 2 repairs those that are
 * copies of it, which links them back.  Caller holds page's lock.
 */
static void
NoteOrphans(HnswVacuumState *vs, Page page, HnswNodeTuple node)
{
	Buffer		sbuf;
	HnswNbrTuple ntup;
	ItemPointer slots = HnswGetSlots(vs->index, page, node, &sbuf, &ntup);

	for (int i = 0; slots != NULL && i < node->nslots; i++)
		if (ItemPointerIsValid(&slots[i]))
			TidSetAddKey(&vs->orphans, OrphanKey(&slots[i], HnswNodeValue(node)));
	if (BufferIsValid(sbuf))
		UnlockReleaseBuffer(sbuf);
}

static void
RemoveHeapTids(HnswVacuumState *vs)
{
	BlockNumber blkno = HNSW_HEAD_BLKNO;

	vs->highest.blkno = InvalidBlockNumber;
	vs->fallback.blkno = InvalidBlockNumber;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		HnswWriter	w;
		bool		changed = false;
		OffsetNumber maxoff;

		vacuum_delay_point();

		buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL, vs->bas);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		HnswWriterStart(&w, vs->index, false);
		page = HnswWriterRegister(&w, buf, false);
		maxoff = PageGetMaxOffsetNumber(page);

		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			HnswNodeTuple node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, off));
			ItemPointerData tid;

			if (node->type != HNSW_NODE_TUPLE)
				continue;
			vs->graphElems++;
			/* Deleted elements must stay out of the dying set */
			if (HnswNodeIsDeleted(node))
				continue;
			vs->graphSlots += HnswSlotCount(vs->m, node->level);

			if (PruneHeapTids(vs, node))
				changed = true;

			ItemPointerSet(&tid, blkno, off);
			if (!ItemPointerIsValid(&node->heaptids[0]))
			{
				TidSetAdd(&vs->dying, &tid);
				NoteOrphans(vs, page, node);
			}
			else
				NoteLevel(vs, blkno, off, node->level);
		}

		blkno = HnswPageGetOpaque(page)->nextblkno;
		if (changed)
			HnswWriterFinish(&w, true);
		else
			HnswWriterAbort(&w, true);
	}
}

/* ----------------------------------------------------------------
 *		Pass 2: repair the graph
 * ----------------------------------------------------------------
 */

/* Read a live element's level, version and value; false if gone or dying */
static bool
LoadElement(HnswVacuumState *vs, VacElement *e)
{
	return HnswLoadElement(vs->index, vs->bas, e);
}

/* Whether a slot array mentions a dying element */
static bool
SlotsMentionDying(HnswVacuumState *vs, ItemPointer slots, int nslots)
{
	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&slots[i]) && TidSetContains(&vs->dying, &slots[i]))
			return true;
	return false;
}

/*
 * Whether an element needs new neighbours: it links to a dying element,
 * its layer 0 is not full (inserts may have skipped dying candidates), or
 * a dying exact copy of it linked to it (NoteOrphans).
 */
static bool
NeedsRepair(HnswVacuumState *vs, VacElement *e)
{
	HnswLockedSlots ls;
	ItemPointer slots = HnswLockSlots(vs->index, vs->bas, e->blkno, e->offno, e->version, &ls);
	bool		result = false;
	ItemPointerData self;

	ItemPointerSet(&self, e->blkno, e->offno);
	if (slots != NULL)
		result = SlotsMentionDying(vs, slots, ls.node->nslots) ||
			!ItemPointerIsValid(&slots[HnswLayerM(vs->m, 0) - 1]) ||
			TidSetContainsKey(&vs->orphans, OrphanKey(&self, e->value));
	HnswUnlockSlots(&ls);
	return result;
}

/* The links of an element to exact copies of it (see MergeSlots) */
typedef struct CopyLinks
{
	ItemPointer tids;
	int			n;
	bool		hasCopies;		/* live or dying copies link to or from it */
} CopyLinks;

/*
 * Which live links of e lead to exact copies of it (s searches for its
 * value): the values the search read, else read from their pages.  Links
 * written after this (by concurrent inserts) count as no copy.
 */
static void
NoteCopyLinks(HnswVacuumState *vs, HnswSearch *s, VacElement *e, CopyLinks *cl)
{
	HnswLockedSlots ls;
	ItemPointer slots = HnswLockSlots(vs->index, vs->bas, e->blkno, e->offno, e->version, &ls);
	int			nslots = slots != NULL ? ls.node->nslots : 0;
	ItemPointer links = palloc(sizeof(ItemPointerData) * Max(nslots, 1));
	ItemPointerData self;

	if (nslots > 0)
		memcpy(links, slots, sizeof(ItemPointerData) * nslots);
	HnswUnlockSlots(&ls);

	cl->tids = palloc(sizeof(ItemPointerData) * Max(nslots, 1));
	cl->n = 0;
	for (int i = 0; i < nslots; i++)
	{
		bool		read = false;
		bool		copy = false;
		HnswElementRef other;

		if (!ItemPointerIsValid(&links[i]) || TidSetContains(&vs->dying, &links[i]) ||
			HnswTidIndex(cl->tids, cl->n, &links[i]) >= 0)
			continue;
		for (uint32 c = 0; c < s->ncands && !read; c++)
		{
			read = s->cands[c].blkno == ItemPointerGetBlockNumber(&links[i]) &&
				s->cands[c].offno == ItemPointerGetOffsetNumber(&links[i]);
			if (read)
				copy = HnswSameValue(HnswCandValue(s, c), s->query);
		}
		if (!read)
		{
			other.blkno = ItemPointerGetBlockNumber(&links[i]);
			other.offno = ItemPointerGetOffsetNumber(&links[i]);
			copy = HnswLoadElement(vs->index, vs->bas, &other) &&
				HnswSameValue(other.value, s->query);
		}
		if (copy)
			cl->tids[cl->n++] = links[i];
	}
	ItemPointerSet(&self, e->blkno, e->offno);
	cl->hasCopies = cl->n > 0 || TidSetContainsKey(&vs->orphans, OrphanKey(&self, e->value));
}

/* Append the live current links of one layer that are copies (or not) */
static int
MergeCurrent(HnswVacuumState *vs, CopyLinks *cl, ItemPointer cur, int lm,
			 ItemPointerData *merged, int n, bool copies)
{
	for (int i = 0; i < lm && n < lm && ItemPointerIsValid(&cur[i]); i++)
	{
		if (TidSetContains(&vs->dying, &cur[i]) || (HnswTidIndex(cl->tids, cl->n, &cur[i]) >= 0) != copies)
			continue;
		if (HnswTidIndex(merged, n, &cur[i]) < 0)
			merged[n++] = cur[i];
	}
	return n;
}

/* Append the valid entries of list not in merged[0..n) while there is room */
static int
MergeNew(ItemPointer list, int lm, ItemPointerData *merged, int n)
{
	for (int i = 0; i < lm && n < lm && ItemPointerIsValid(&list[i]); i++)
		if (HnswTidIndex(merged, n, &list[i]) < 0)
			merged[n++] = list[i];
	return n;
}

/*
 * Merge the repaired slots into the current ones: each layer keeps its
 * links to live exact copies of the element, then its other live links,
 * and only the room left by dying links and empty slots is filled: first
 * with the links the dying neighbours passed on (NoteInherited), then
 * with the new list.  A live link is never given up for a nearer one: on
 * clustered data the few links between clusters are far ones, and a
 * repair that preferred the new (near) list cut whole clusters off (TAP
 * 112).  Inserts may have linked to this element since the repair's
 * search, and their link may be the only way to reach them.  An element
 * with copies (it links to one, or a dying one linked to it) takes the new
 * list before its other links, as before: copies of a duplicated vector
 * are reached through each other's links (see KeepCopiesReachable in
 * hnswinsert.c), the new list's copies are the nearest, and its back-links
 * reconnect them (TAP 111 lost a node of copies otherwise).  added
 * (invalid on entry) gets the links that were not there.
 */
static void
MergeSlots(HnswVacuumState *vs, CopyLinks *cl, VacElement *e, ItemPointer current,
		   ItemPointer newSlots, ItemPointer inherited, ItemPointer added)
{
	for (int lc = 0; lc <= e->level; lc++)
	{
		int			lm = HnswLayerM(vs->m, lc);
		ItemPointer cur = current + HnswLayerStart(vs->m, lc);
		ItemPointer fresh = newSlots + HnswLayerStart(vs->m, lc);
		ItemPointerData merged[HNSW_MAX_M * 2];
		int			n = MergeCurrent(vs, cl, cur, lm, merged, 0, true);
		int			ncur;

		if (cl->hasCopies)
		{
			n = MergeNew(fresh, lm, merged, n);
			n = MergeCurrent(vs, cl, cur, lm, merged, n, false);
		}
		else
		{
			n = MergeCurrent(vs, cl, cur, lm, merged, n, false);
			n = MergeNew(inherited + HnswLayerStart(vs->m, lc), lm, merged, n);
			n = MergeNew(fresh, lm, merged, n);
		}
		ncur = HnswTidCount(cur, lm);
		for (int j = 0, k = 0; j < n; j++)
			if (HnswTidIndex(cur, ncur, &merged[j]) < 0)
				added[HnswLayerStart(vs->m, lc) + k++] = merged[j];
		for (int i = n; i < lm; i++)
			ItemPointerSetInvalid(&merged[i]);
		memcpy(cur, merged, sizeof(ItemPointerData) * lm);
	}
}

/* Write an element's repaired slots, if it is still the same element */
static void
WriteElementSlots(HnswVacuumState *vs, CopyLinks *cl, VacElement *e, ItemPointer newSlots,
				  ItemPointer inherited, int nslots, ItemPointer added)
{
	Buffer		buf;
	Page		page;
	HnswNodeTuple node;
	ItemPointerData overflow;
	HnswWriter	w;

	buf = ReadBuffer(vs->index, e->blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriterStart(&w, vs->index, false);
	page = HnswWriterRegister(&w, buf, false);
	node = HnswPageNode(page, e->offno);
	if (node == NULL || node->version != e->version || node->nslots != nslots)
	{
		HnswWriterAbort(&w, true);
		return;
	}

	if (!HnswNodeHasSeparate(node))
	{
		MergeSlots(vs, cl, e, HnswNodeSlots(node), newSlots, inherited, added);
		HnswWriterFinish(&w, true);
		return;
	}

	/* Slots in an overflow tuple on a later page: node page stays locked */
	overflow = *HnswNodeNbrTid(node);
	{
		Buffer		nbuf = ReadBuffer(vs->index, ItemPointerGetBlockNumber(&overflow));
		Page		npage;
		HnswNbrTuple ntup;

		LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
		npage = HnswWriterRegister(&w, nbuf, false);
		ntup = (HnswNbrTuple) PageGetItem(npage, PageGetItemId(npage, ItemPointerGetOffsetNumber(&overflow)));
		if (ntup->type == HNSW_NBR_TUPLE && ntup->version == e->version && ntup->nslots == nslots)
		{
			MergeSlots(vs, cl, e, ntup->slots, newSlots, inherited, added);
			HnswWriterFinish(&w, true);
		}
		else
			HnswWriterAbort(&w, true);
	}
}

/* The layer-lc links of a dying element (dying: pass 2 does not change them) */
static int
DyingLinks(HnswVacuumState *vs, ItemPointer tid, int lc, ItemPointerData *out)
{
	Buffer		buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(tid),
										 RBM_NORMAL, vs->bas);
	Page		page;
	HnswNodeTuple node;
	int			n = 0;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	node = HnswPageNode(page, ItemPointerGetOffsetNumber(tid));
	if (node != NULL && !ItemPointerIsValid(&node->heaptids[0]) && lc <= node->level)
	{
		Buffer		sbuf;
		HnswNbrTuple ntup;
		ItemPointer slots = HnswGetSlots(vs->index, page, node, &sbuf, &ntup);
		int			lm = HnswLayerM(vs->m, lc);

		for (int i = 0; slots != NULL && i < lm; i++)
			if (ItemPointerIsValid(&slots[HnswLayerStart(vs->m, lc) + i]))
				out[n++] = slots[HnswLayerStart(vs->m, lc) + i];
		if (BufferIsValid(sbuf))
			UnlockReleaseBuffer(sbuf);
	}
	UnlockReleaseBuffer(buf);
	return n;
}

/* A live element's value, or NULL (distances of NoteInherited) */
static char *
LiveValue(HnswVacuumState *vs, ItemPointer tid)
{
	VacElement	o = {ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid), 0, 0, NULL};

	return LoadElement(vs, &o) ? o.value : NULL;
}

/*
 * What e's dying neighbours pass on to it, per layer (laid out as its
 * slots, invalid where none): the live elements a dying neighbour links to
 * that no live link of e covers (the heuristic of inserts: a candidate
 * nearer to one of e's links than to e is reached through that link),
 * nearest first.  A path e -> dying -> x is how e reached x's part of the
 * graph; without this a band of deleted elements between two clusters cut
 * the far one off.  Fresh neighbours from the repair's search are all near
 * e and take the room left (MergeSlots).
 */
static void
NoteInherited(HnswVacuumState *vs, VacElement *e, ItemPointer inherited, int nslots)
{
	HnswLockedSlots ls;
	ItemPointer slots = HnswLockSlots(vs->index, vs->bas, e->blkno, e->offno, e->version, &ls);
	int			n = slots != NULL ? ls.node->nslots : 0;
	ItemPointer links = palloc(sizeof(ItemPointerData) * Max(n, 1));

	if (n > 0)
		memcpy(links, slots, sizeof(ItemPointerData) * n);
	HnswUnlockSlots(&ls);

	for (int i = 0; i < nslots; i++)
		ItemPointerSetInvalid(&inherited[i]);
	if (n != nslots)
		return;

	for (int lc = 0; lc <= e->level; lc++)
	{
		int			lm = HnswLayerM(vs->m, lc);
		ItemPointer cur = links + HnswLayerStart(vs->m, lc);
		int			ncur = HnswTidCount(cur, lm);
		ItemPointer cands = palloc(sizeof(ItemPointerData) * lm * lm);
		double	   *dists = palloc(sizeof(double) * lm * lm);
		char	   *live[HNSW_MAX_M * 2];
		int			nlive = 0;
		int			ncands = 0;
		int			nout = 0;

		for (int i = 0; i < ncur; i++)
		{
			ItemPointerData got[HNSW_MAX_M * 2];
			int			ngot;

			if (!TidSetContains(&vs->dying, &cur[i]))
				continue;
			ngot = DyingLinks(vs, &cur[i], lc, got);
			for (int j = 0; j < ngot; j++)
			{
				bool		present = (ItemPointerGetBlockNumber(&got[j]) == e->blkno &&
									   ItemPointerGetOffsetNumber(&got[j]) == e->offno) ||
					TidSetContains(&vs->dying, &got[j]) ||
					HnswTidIndex(cur, ncur, &got[j]) >= 0 ||
					HnswTidIndex(cands, ncands, &got[j]) >= 0;

				if (!present)
					cands[ncands++] = got[j];
			}
		}
		if (ncands == 0)
			continue;

		for (int i = 0; i < ncur; i++)
			if (!TidSetContains(&vs->dying, &cur[i]) &&
				(live[nlive] = LiveValue(vs, &cur[i])) != NULL)
				nlive++;

		/* Keep the uncovered candidates, with their distance to e */
		for (int i = 0; i < ncands; i++)
		{
			char	   *v = LiveValue(vs, &cands[i]);
			bool		covered = false;
			double		d;

			if (v == NULL)
				continue;
			d = HnswStoredDistance(&vs->support, v, e->value);
			for (int k = 0; k < nlive && !covered; k++)
				covered = HnswStoredDistance(&vs->support, v, live[k]) < d;
			if (covered)
				continue;
			cands[nout] = cands[i];
			dists[nout++] = d;
		}

		/* Nearest first (insertion sort: a few dozen at most) */
		for (int i = 1; i < nout; i++)
			for (int j = i; j > 0 && dists[j] < dists[j - 1]; j--)
			{
				ItemPointerData t = cands[j];
				double		td = dists[j];

				cands[j] = cands[j - 1];
				dists[j] = dists[j - 1];
				cands[j - 1] = t;
				dists[j - 1] = td;
			}
		for (int i = 0; i < nout && i < lm; i++)
			inherited[HnswLayerStart(vs->m, lc) + i] = cands[i];
	}
}

/*
 * Give element e new neighbours: search from the entry point (skipping e),
 * rewrite its slots and link the new neighbours back.  Caller holds
 * HNSW_UPDATE_LOCK; entry may be invalid (empty graph).
 */
static void
RepairElement(HnswVacuumState *vs, VacElement *e, ItemPointer entry, int entryLevel)
{
	MemoryContext oldCtx = MemoryContextSwitchTo(vs->tmpCtx);
	HnswSearch	s;
	HnswNeighborList *layers[64];
	int			nlayers = 0;
	int			nslots = HnswSlotCount(vs->m, e->level);
	ItemPointer slots = palloc(sizeof(ItemPointerData) * nslots);
	ItemPointer added = palloc(sizeof(ItemPointerData) * nslots);
	ItemPointer inherited = palloc(sizeof(ItemPointerData) * nslots);
	CopyLinks	cl;

	/* The entry point is every search's start; it has no one to ask */
	if (ItemPointerIsValid(entry) && ItemPointerGetBlockNumber(entry) == e->blkno &&
		ItemPointerGetOffsetNumber(entry) == e->offno)
	{
		MemoryContextSwitchTo(oldCtx);
		return;
	}

	HnswSearchInit(&s, vs->index, &vs->support, vs->m, vs->efConstruction + 1, e->value);
	HnswSearchDecodeQuery(&s);
	s.wantValues = true;
	s.skipDeadForEf = true;
	ItemPointerSet(&s.skipTid, e->blkno, e->offno);

	memset(layers, 0, sizeof(layers));
	if (ItemPointerIsValid(entry))
	{
		HnswFindNeighbors(&s, entry, entryLevel, e->level, vs->efConstruction, layers);
		nlayers = Min(e->level, entryLevel) + 1;
	}

	for (int i = 0; i < nslots; i++)
	{
		ItemPointerSetInvalid(&slots[i]);
		ItemPointerSetInvalid(&added[i]);
		ItemPointerSetInvalid(&inherited[i]);
	}
	for (int lc = 0; lc < nlayers; lc++)
	{
		for (int i = 0; layers[lc] != NULL && i < layers[lc]->count; i++)
		{
			HnswCand   *c = &s.cands[layers[lc]->cands[i]];

			ItemPointerSet(&slots[HnswLayerStart(vs->m, lc) + i], c->blkno, c->offno);
		}
	}
	NoteCopyLinks(vs, &s, e, &cl);
	if (!cl.hasCopies)
		NoteInherited(vs, e, inherited, nslots);
	WriteElementSlots(vs, &cl, e, slots, inherited, nslots, added);
	HnswConnectNeighbors(vs->index, &s, e->blkno, e->offno, e->version, added, layers, nlayers,
						 false, NULL);

	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(vs->tmpCtx);
}

/*
 * Make sure the entry point is live and well connected before the rest
 * is repaired: repair the highest other element, then replace a dying
 * entry point by it, or repair a live one.
 */
static void
RepairEntryPoint(HnswVacuumState *vs)
{
	VacElement *highest = &vs->highest;
	ItemPointerData entry;
	int			entryLevel;
	MemoryContext oldCtx = MemoryContextSwitchTo(vs->tmpCtx);

	if (BlockNumberIsValid(highest->blkno))
	{
		LockPage(vs->index, HNSW_UPDATE_LOCK, ShareLock);
		HnswReadMeta(vs->index, NULL, NULL, &entry, &entryLevel, NULL);
		if (ItemPointerIsValid(&entry) && ItemPointerGetBlockNumber(&entry) == highest->blkno &&
			ItemPointerGetOffsetNumber(&entry) == highest->offno)
			highest = &vs->fallback;
		if (BlockNumberIsValid(highest->blkno) && LoadElement(vs, highest) &&
			NeedsRepair(vs, highest))
			RepairElement(vs, highest, &entry, entryLevel);
		UnlockPage(vs->index, HNSW_UPDATE_LOCK, ShareLock);
	}
	else
		highest = NULL;

	/* Moving the entry point: no insert may run meanwhile */
	LockPage(vs->index, HNSW_UPDATE_LOCK, ExclusiveLock);
	HnswReadMeta(vs->index, NULL, NULL, &entry, &entryLevel, NULL);
	if (ItemPointerIsValid(&entry))
	{
		if (TidSetContains(&vs->dying, &entry))
		{
			if (highest != NULL && BlockNumberIsValid(highest->blkno))
				HnswSetEntryPoint(vs->index, MAIN_FORKNUM, false, highest->blkno,
								  highest->offno, highest->level, false);
			else
				HnswSetEntryPoint(vs->index, MAIN_FORKNUM, false, InvalidBlockNumber,
								  InvalidOffsetNumber, -1, false);
		}
		else
		{
			VacElement	ep = {ItemPointerGetBlockNumber(&entry), ItemPointerGetOffsetNumber(&entry), 0, 0, NULL};

			/* Search from the highest point, the entry point skipping itself */
			if (highest != NULL && BlockNumberIsValid(highest->blkno) &&
				LoadElement(vs, &ep) && NeedsRepair(vs, &ep))
			{
				ItemPointerData from;

				ItemPointerSet(&from, highest->blkno, highest->offno);
				RepairElement(vs, &ep, &from, highest->level);
			}
		}
	}
	UnlockPage(vs->index, HNSW_UPDATE_LOCK, ExclusiveLock);

	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(vs->tmpCtx);
}

/* Repair one element under the update lock, promoting it if need be */
static void
RepairUnderLock(HnswVacuumState *vs, VacElement *e)
{
	LOCKMODE	lockmode = ShareLock;
	ItemPointerData entry;
	int			entryLevel;

	LockPage(vs->index, HNSW_UPDATE_LOCK, lockmode);
	HnswReadMeta(vs->index, NULL, NULL, &entry, &entryLevel, NULL);
	if (!ItemPointerIsValid(&entry) || e->level > entryLevel)
	{
		UnlockPage(vs->index, HNSW_UPDATE_LOCK, lockmode);
		lockmode = ExclusiveLock;
		LockPage(vs->index, HNSW_UPDATE_LOCK, lockmode);
		HnswReadMeta(vs->index, NULL, NULL, &entry, &entryLevel, NULL);
	}

	RepairElement(vs, e, &entry, entryLevel);

	/* Only after the entry point was replaced by an outdated highest point */
	if (!ItemPointerIsValid(&entry) || e->level > entryLevel)
		HnswSetEntryPoint(vs->index, MAIN_FORKNUM, false, e->blkno, e->offno, e->level, true);

	UnlockPage(vs->index, HNSW_UPDATE_LOCK, lockmode);
}

/* Live elements of one page, with their values */
static List *
CollectLive(HnswVacuumState *vs, BlockNumber blkno, BlockNumber *next)
{
	Buffer		buf;
	Page		page;
	OffsetNumber maxoff;
	List	   *elements = NIL;

	buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL, vs->bas);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		HnswNodeTuple node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, off));
		VacElement *e;

		if (!HnswNodeIsLive(node))
			continue;
		e = palloc(sizeof(VacElement));
		HnswElementRefFill(e, blkno, off, node);
		elements = lappend(elements, e);
	}
	*next = HnswPageGetOpaque(page)->nextblkno;
	UnlockReleaseBuffer(buf);
	return elements;
}

static void
RepairGraph(HnswVacuumState *vs)
{
	BlockNumber blkno = HNSW_HEAD_BLKNO;
	MemoryContext pageCtx = AllocSetContextCreate(CurrentMemoryContext,
												  "Hnsw vacuum page context",
												  ALLOCSET_DEFAULT_SIZES);

	/* Inserts that began before pass 1 ended may link to dying elements */
	LockPage(vs->index, HNSW_UPDATE_LOCK, ExclusiveLock);
	UnlockPage(vs->index, HNSW_UPDATE_LOCK, ExclusiveLock);

	RepairEntryPoint(vs);

	while (BlockNumberIsValid(blkno))
	{
		MemoryContext oldCtx = MemoryContextSwitchTo(pageCtx);
		List	   *elements;
		ListCell   *lc;

		vacuum_delay_point();

		elements = CollectLive(vs, blkno, &blkno);
		foreach(lc, elements)
		{
			VacElement *e = (VacElement *) lfirst(lc);

			if (NeedsRepair(vs, e))
				RepairUnderLock(vs, e);
		}

		MemoryContextSwitchTo(oldCtx);
		MemoryContextReset(pageCtx);
	}
	MemoryContextDelete(pageCtx);
}

/* ----------------------------------------------------------------
 *		Pass 3: recycle dying elements
 * ----------------------------------------------------------------
 */

/*
 * Pass 3's walk: fn(vs, buf, blkno, off, node, arg) for every tuple of
 * every page, in chain order, the page read through VACUUM's strategy and
 * locked in share mode, or with a cleanup lock (no other backend then
 * holds a pin on it).
 */
typedef void (*VacTupleFn) (HnswVacuumState *vs, Buffer buf, BlockNumber blkno,
							OffsetNumber off, HnswNodeTuple node, void *arg);

static void
VacWalkTuples(HnswVacuumState *vs, bool cleanup, VacTupleFn fn, void *arg)
{
	BlockNumber blkno = HNSW_HEAD_BLKNO;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		vacuum_delay_point();

		buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL, vs->bas);
		if (cleanup)
			LockBufferForCleanup(buf);
		else
			LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
			fn(vs, buf, blkno, off, (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, off)), arg);
		blkno = HnswPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
}

/* No live element may still link to a dying one */
static void
ConfirmRepairedNode(HnswVacuumState *vs, Buffer buf, BlockNumber blkno,
					OffsetNumber off, HnswNodeTuple node, void *arg)
{
	Buffer		sbuf;
	HnswNbrTuple ntup;
	ItemPointer slots;
	bool		bad;

	if (!HnswNodeIsLive(node))
		return;

	slots = HnswGetSlots(vs->index, BufferGetPage(buf), node, &sbuf, &ntup);
	bad = slots != NULL && SlotsMentionDying(vs, slots, node->nslots);
	if (BufferIsValid(sbuf))
		UnlockReleaseBuffer(sbuf);
	if (bad)
		elog(ERROR, "hnsw graph not repaired");
}

/*
 * Mark one dying node deleted: clear its value and slots, bump its
 * version.  node is on the node's page as registered in w.  Returns the
 * overflow page's buffer, locked and registered too, or InvalidBuffer.
 */
static Buffer
MarkNodeDeleted(HnswVacuumState *vs, HnswWriter *w, HnswNodeTuple node)
{
	Buffer		nbuf = InvalidBuffer;
	uint8		version = (uint8) (node->version % 255 + 1);

	if (HnswNodeHasSeparate(node))
	{
		ItemPointerData overflow = *HnswNodeNbrTid(node);
		Page		npage;
		HnswNbrTuple ntup;

		nbuf = ReadBufferExtended(vs->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(&overflow),
								  RBM_NORMAL, vs->bas);
		LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
		npage = HnswWriterRegister(w, nbuf, false);
		ntup = (HnswNbrTuple) PageGetItem(npage, PageGetItemId(npage, ItemPointerGetOffsetNumber(&overflow)));
		for (int i = 0; i < ntup->nslots; i++)
			ItemPointerSetInvalid(&ntup->slots[i]);
		ntup->version = version;
	}
	else
	{
		for (int i = 0; i < node->nslots; i++)
			ItemPointerSetInvalid(&HnswNodeSlots(node)[i]);
	}

	memset(HnswNodeValue(node), 0, VARSIZE(HnswNodeValue(node)));
	node->flags |= HNSW_NODE_DELETED;
	node->version = version;
	return nbuf;
}

/*
 * Recycle one dying element (one WAL record: its page plus maybe an
 * overflow page); *insertPage becomes the first page with a recycled or
 * dying element.
 */
static void
MarkDeletedNode(HnswVacuumState *vs, Buffer buf, BlockNumber blkno,
				OffsetNumber off, HnswNodeTuple node, void *arg)
{
	BlockNumber *insertPage = (BlockNumber *) arg;
	HnswWriter	w;
	Page		wpage;
	Buffer		nbuf;

	if (node->type != HNSW_NODE_TUPLE)
		return;
	if (!HnswNodeIsDeleted(node) && ItemPointerIsValid(&node->heaptids[0]))
		return;

	if (!BlockNumberIsValid(*insertPage))
		*insertPage = blkno;
	if (HnswNodeIsDeleted(node))
		return;

	HnswWriterStart(&w, vs->index, false);
	wpage = HnswWriterRegister(&w, buf, false);
	nbuf = MarkNodeDeleted(vs, &w, (HnswNodeTuple) PageGetItem(wpage, PageGetItemId(wpage, off)));
	HnswWriterFinish(&w, false);
	if (BufferIsValid(nbuf))
		UnlockReleaseBuffer(nbuf);
}

static void
MarkDeleted(HnswVacuumState *vs)
{
	BlockNumber insertPage = InvalidBlockNumber;

	/* Inserts and scans from before the repairs may still reach dying elements */
	LockPage(vs->index, HNSW_UPDATE_LOCK, ExclusiveLock);
	UnlockPage(vs->index, HNSW_UPDATE_LOCK, ExclusiveLock);

	VacWalkTuples(vs, false, ConfirmRepairedNode, NULL);

	LockPage(vs->index, HNSW_SCAN_LOCK, ExclusiveLock);
	UnlockPage(vs->index, HNSW_SCAN_LOCK, ExclusiveLock);

	/* No other backend may hold a pin on a page whose elements we recycle */
	VacWalkTuples(vs, true, MarkDeletedNode, &insertPage);

	/* Last: inserts may now use the freed space */
	if (BlockNumberIsValid(insertPage))
		HnswSetInsertPage(vs->index, MAIN_FORKNUM, false, insertPage);
}

/* ----------------------------------------------------------------
 *		Pass 4: reach
 * ----------------------------------------------------------------
 */

/*
 * Every live element reachable from the entry point on layer 0, and
 * leading back to it.  The repairs keep live links, but their back-links
 * (as an insert's) replace a link in a full list, and on clustered data a
 * few such replacements took the last links into a cluster, or out of it
 * (TAP 112: one VACUUM in three left 1,100-3,400 of 8,000 rows reachable
 * one way, and exhaustive scans missed them).  With the dead elements
 * recycled the graph is loaded into memory (hnswgraph.c: links, not
 * vectors) and walked both ways, and what either walk misses gets a
 * forced link (HnswRepairReach; a part connected within itself takes
 * one).  Skipped when the graph, as pass 1 counted it, needs more than
 * VACUUM's memory budget (HnswGraphReachMemory: a fraction of the index's
 * size, the vectors left out): the integrity control plane's samples then
 * find what is cut off, and its repair links it back.
 */
static void
EnsureReach(HnswVacuumState *vs, int elevel)
{
	double		need = HnswGraphReachMemory(vs->graphElems, vs->graphSlots,
											RelationGetNumberOfBlocks(vs->index));
	/* the budget VACUUM itself keeps to (vacuumlazy.c) */
	bool		av = IsAutoVacuumWorkerProcess() && autovacuum_work_mem != -1;
	int			budget = av ? autovacuum_work_mem : maintenance_work_mem;
	HnswRepairResult r;

	if (need > (double) budget * 1024.0)
	{
		ereport(elevel,
				(errmsg("index \"%s\": reachability not checked: its graph needs about %.0f kB, %s is %d kB",
						RelationGetRelationName(vs->index), need / 1024.0,
						av ? "autovacuum_work_mem" : "maintenance_work_mem", budget),
				 errhint("Raise maintenance_work_mem for this VACUUM, or attach an integrity policy to the index, whose repair links back what is cut off.")));
		return;
	}
	HnswRepairReach(vs->index, &r);
	ereport(elevel,
			(errmsg("index \"%s\": " INT64_FORMAT " live elements were out of reach of the entry point and "
					INT64_FORMAT " could not lead back to it; " INT64_FORMAT " links added, "
					INT64_FORMAT " and " INT64_FORMAT " left (%.1f ms)",
					RelationGetRelationName(vs->index), r.unreachable_before, r.one_way_before,
					r.reach_links, r.unreachable_after, r.one_way_after, r.elapsed_ms)));
}

/* ----------------------------------------------------------------
 *		Entry points
 * ----------------------------------------------------------------
 */

static void
InitVacuumState(HnswVacuumState *vs, IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				IndexBulkDeleteCallback callback, void *callback_state)
{
	memset(vs, 0, sizeof(HnswVacuumState));
	vs->index = info->index;
	vs->stats = stats ? stats : palloc0(sizeof(IndexBulkDeleteResult));
	vs->callback = callback;
	vs->callback_state = callback_state;
	vs->bas = GetAccessStrategy(BAS_BULKREAD);
	vs->efConstruction = HnswGetEfConstruction(info->index);
	HnswReadMeta(info->index, &vs->m, NULL, NULL, NULL, NULL);
	HnswInitSupport(&vs->support, info->index);
	TidSetInit(&vs->dying);
	TidSetInit(&vs->orphans);
	vs->tmpCtx = AllocSetContextCreate(CurrentMemoryContext,
									   "Hnsw vacuum temporary context",
									   ALLOCSET_DEFAULT_SIZES);
}

static void
FreeVacuumState(HnswVacuumState *vs)
{
	pfree(vs->dying.keys);
	pfree(vs->orphans.keys);
	FreeAccessStrategy(vs->bas);
	MemoryContextDelete(vs->tmpCtx);
}

IndexBulkDeleteResult *
hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	HnswVacuumState vs;

	InitVacuumState(&vs, info, stats, callback, callback_state);

	/* Repairs also run with nothing dying: they fill thin layer-0 lists */
	RemoveHeapTids(&vs);
	RepairGraph(&vs);
	MarkDeleted(&vs);
	EnsureReach(&vs, info->message_level);

	FreeVacuumState(&vs);
	return vs.stats;
}

IndexBulkDeleteResult *
hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;

	/* Nothing was deleted: no need to report */
	if (stats == NULL)
		return NULL;

	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
