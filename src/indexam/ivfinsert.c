/*-------------------------------------------------------------------------
 *
 * ivfinsert.c
 *	  Inserting a row into an IVFFlat index: find the nearest center and
 *	  append the entry to that list's chain of pages.
 *
 * NOTES
 *	  Every page change is one generic WAL record, so replicas replay it
 *	  with no code of ours.  Appending a page to a chain links the old tail
 *	  and initialises the new page, with the entry on it, in one record: a
 *	  crash cannot leave a page linked but unformatted.
 *
 *	  Lock order of the subsystem (inserts, scans, VACUUM; builds work on a
 *	  relation nobody else can see):
 *	  - Page locks are taken one at a time: the metapage, then list pages in
 *		chain order, then entry pages in chain order, each released before
 *		the next is taken.
 *	  - The only exception is extending a chain: an insert holds the tail
 *		exclusively while it takes the new page: a deleted page the free
 *		space map offers, locked only if no one holds it (never waited
 *		for), or a new page under the relation extension lock.  The new
 *		page is unreachable until the record is written, and nobody holding
 *		the extension lock waits for a page lock.
 *	  - A list page is locked exclusively (to move a list's insert page)
 *		only when no entry page is locked.
 *	  - The metapage is locked exclusively by an insert last, while it holds
 *		the entry page (and, extending, the new page) it writes: the drift
 *		figures go into the same WAL record as the entry.  Nobody holding
 *		the metapage waits for an entry page; the only holder of the
 *		metapage that waits for another page is a refresh switching lists
 *		(ivfrefresh.c), and it locks a list page of a generation no insert
 *		can be using (inserts are locked out of the index meanwhile).
 *	  So no two backends can wait for each other.
 *
 *	  A refresh holds ShareRowExclusiveLock on the index, which waits for
 *	  every transaction that inserted into it (RowExclusiveLock, taken by
 *	  the executor) and keeps new inserts waiting until it is done; an
 *	  insert never sees lists being replaced.
 *
 *	  A list's insertPage is a hint: inserts start there and walk the chain
 *	  to the first page with room, or extend it.  Chains only grow (VACUUM
 *	  empties pages but never unlinks them), so any page of the chain is a
 *	  correct place to start; a stale hint only costs a walk, or leaves
 *	  room behind it unused until the next VACUUM resets the hint.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfinsert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "indexam/ivfflat.h"

/* Where the nearest list is, and where its chain starts and takes inserts */
typedef struct IvfListLocation
{
	BlockNumber blkno;			/* list page */
	OffsetNumber offno;
	BlockNumber startPage;
	BlockNumber insertPage;
	char	   *center;			/* a copy of the list's center */
} IvfListLocation;

/*
 * What an insert adds to the drift figures of the metapage: the row's
 * k-means distance to its list's center, or NaN for nothing (an index
 * with a version 1 metapage, or no such distance).
 */
typedef struct IvfInsertDrift
{
	float		distance;
	Buffer		metabuf;		/* pinned, not locked; or InvalidBuffer */
} IvfInsertDrift;

/*
 * Walks the list pages for the list whose center is nearest to value;
 * ties go to the first such list, as in a build.
 */
static void
FindNearestList(Relation index, IvfSupport *support, BlockNumber listHead,
				const char *value, IvfListLocation *loc)
{
	BlockNumber blkno = listHead;
	float		best = 0;
	bool		found = false;
	const char *centers[MaxOffsetNumber];
	float		distances[MaxOffsetNumber];

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_SHARE, &buf);
		OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);

		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
			centers[offno - 1] = IvfListCenter(PageGetItem(page, PageGetItemId(page, offno)));
		IvfDistanceMany(support, support->distKind, support->distProc, value,
						centers, maxoffno, distances);

		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
		{
			if (!found || distances[offno - 1] < best)
			{
				IvfList		list = (IvfList) PageGetItem(page, PageGetItemId(page, offno));

				found = true;
				best = distances[offno - 1];
				loc->blkno = blkno;
				loc->offno = offno;
				loc->startPage = list->startPage;
				loc->insertPage = list->insertPage;
				memcpy(loc->center, IvfListCenter(list), support->valueSize);
			}
		}

		blkno = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}

	if (!found)
		elog(ERROR, "ivfflat index \"%s\" has no lists", RelationGetRelationName(index));
}

/*
 * Adds the drift figures of one row to the metapage, in the WAL record
 * being assembled.  Locks the metapage, which the caller unlocks after
 * GenericXLogFinish.
 */
static void
AddDrift(GenericXLogState *state, IvfInsertDrift *drift)
{
	IvfMetaPage meta;

	if (!BufferIsValid(drift->metabuf))
		return;
	LockBuffer(drift->metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = IvfPageGetMeta(BufferGetPage(drift->metabuf));
	if (meta->version != IVF_FORMAT_VERSION)
		return;
	meta = IvfPageGetMeta(GenericXLogRegisterBuffer(state, drift->metabuf, 0));
	meta->insSum += drift->distance;
	meta->insCount += 1;
}

/* Unlocks the metapage after the record, if AddDrift locked it */
static void
AddDriftDone(IvfInsertDrift *drift)
{
	if (BufferIsValid(drift->metabuf))
		LockBuffer(drift->metabuf, BUFFER_LOCK_UNLOCK);
}

/*
 * Appends a new page to the chain after buf (the exclusively locked tail)
 * with the entry on it, in one WAL record.  Returns the new page's number;
 * buf stays locked.
 */
static BlockNumber
ExtendChain(Relation index, Buffer buf, const char *entry, Size size,
			IvfInsertDrift *drift)
{
	GenericXLogState *state;
	Buffer		newbuf;
	Page		page;
	Page		newpage;
	BlockNumber newblkno;

	newbuf = IvfNewOrFreeBuffer(index);
	newblkno = BufferGetBlockNumber(newbuf);

	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);

	IvfInitPage(newpage, BufferGetPageSize(newbuf));
	if (PageAddItem(newpage, (Item) entry, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
		elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
	IvfPageGetOpaque(page)->nextblkno = newblkno;
	AddDrift(state, drift);

	GenericXLogFinish(state);
	AddDriftDone(drift);
	UnlockReleaseBuffer(newbuf);
	return newblkno;
}

/*
 * Adds the entry to the first page with room, starting at blkno, and
 * returns the page it went to.
 */
static BlockNumber
AddToChain(Relation index, BlockNumber blkno, const char *entry, Size size,
		   IvfInsertDrift *drift)
{
	for (;;)
	{
		Buffer		buf;
		Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_EXCLUSIVE, &buf);
		BlockNumber next;

		if (PageGetFreeSpace(page) >= size)
		{
			GenericXLogState *state = GenericXLogStart(index);

			page = GenericXLogRegisterBuffer(state, buf, 0);
			if (PageAddItem(page, (Item) entry, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
				elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
			AddDrift(state, drift);
			GenericXLogFinish(state);
			AddDriftDone(drift);
			UnlockReleaseBuffer(buf);
			return blkno;
		}

		next = IvfPageGetOpaque(page)->nextblkno;
		if (!BlockNumberIsValid(next))
		{
			next = ExtendChain(index, buf, entry, size, drift);
			UnlockReleaseBuffer(buf);
			return next;
		}

		UnlockReleaseBuffer(buf);
		blkno = next;
	}
}

/*
 * Moves a list's insert page hint.  With a valid expected, only if the hint
 * still is expected: an insert must not undo VACUUM moving it back.
 */
void
IvfSetInsertPage(Relation index, BlockNumber listBlkno, OffsetNumber listOffno,
				 BlockNumber expected, BlockNumber insertPage)
{
	Buffer		buf;
	Page		page = IvfReadLocked(index, listBlkno, BUFFER_LOCK_EXCLUSIVE, &buf);
	IvfList		list;

	list = (IvfList) PageGetItem(page, PageGetItemId(page, listOffno));

	if (list->insertPage != insertPage &&
		(!BlockNumberIsValid(expected) || list->insertPage == expected))
	{
		GenericXLogState *state = GenericXLogStart(index);

		page = GenericXLogRegisterBuffer(state, buf, 0);
		list = (IvfList) PageGetItem(page, PageGetItemId(page, listOffno));
		list->insertPage = insertPage;
		GenericXLogFinish(state);
	}

	UnlockReleaseBuffer(buf);
}

/*
 * Inserts one entry (stored form and TID; value is the row's value, for
 * choosing the list) into its list, and
 * with a version 2 metapage counts its distance in the drift figures.
 */
static void
InsertEntry(Relation index, IvfSupport *support, const IvfMetaPageData *meta,
			const char *entry, const char *value, Size size)
{
	IvfListLocation loc;
	IvfInsertDrift drift;
	BlockNumber start;
	BlockNumber page;

	loc.center = palloc(support->valueSize);
	FindNearestList(index, support, meta->listHead, value, &loc);

	drift.metabuf = InvalidBuffer;
	if (meta->version == IVF_FORMAT_VERSION)
	{
		drift.distance = IvfDriftDistance(support, value, loc.center,
										  palloc(support->valueSize));
		if (!isnan(drift.distance))
			drift.metabuf = ReadBuffer(index, IVF_METAPAGE_BLKNO);
	}

	start = BlockNumberIsValid(loc.insertPage) ? loc.insertPage : loc.startPage;
	page = AddToChain(index, start, entry, size, &drift);
	if (BufferIsValid(drift.metabuf))
		ReleaseBuffer(drift.metabuf);

	if (page != loc.insertPage)
		IvfSetInsertPage(index, loc.blkno, loc.offno, loc.insertPage, page);
}

/*
 * aminsert.  A memory context kept across the calls of one statement
 * (in ii_AmCache) is reset after each row.
 */
bool
ivfflatinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			  Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
			  IndexInfo *indexInfo)
{
	MemoryContext insertCtx = (MemoryContext) indexInfo->ii_AmCache;
	MemoryContext oldCtx;
	IvfSupport	support;
	IvfMetaPageData meta;
	Size		size;
	char	   *entry;
	char	   *value;

	if (isnull[0])
		return false;

	if (insertCtx == NULL)
	{
		insertCtx = AllocSetContextCreate(indexInfo->ii_Context,
										  "ivfflat insert temporary context",
										  ALLOCSET_DEFAULT_SIZES);
		indexInfo->ii_AmCache = insertCtx;
	}
	oldCtx = MemoryContextSwitchTo(insertCtx);

	IvfReadMetaAll(index, &meta);
	IvfInitSupport(&support, index, (int) meta.dimensions, (int) meta.storage);

	size = IvfEntryItemSize(support.entryValueSize);
	entry = palloc0(size);
	((IvfEntry) entry)->heaptid = *heap_tid;
	value = IvfIsCompact(&support) ? palloc(support.valueSize) : IvfEntryValue(entry);
	IvfFetchValue(&support, values[0], value);

	/* Cosine indexes leave zero vectors out, as a build does */
	if (!support.normalize || IvfNormalizeValue(&support, value))
	{
		if (IvfIsCompact(&support))
			IvfEncodeEntry(&support, value, IvfEntryValue(entry));
		InsertEntry(index, &support, &meta, entry, value, size);
	}

	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(insertCtx);
	return false;
}
