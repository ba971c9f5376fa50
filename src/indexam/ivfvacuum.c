/*-------------------------------------------------------------------------
 *
 * ivfvacuum.c
 *	  VACUUM of an IVFFlat index: remove the entries of dead rows, and
 *	  point each list's insert page at the first page with room again.
 *
 * NOTES
 *	  Entry pages are emptied but never unlinked or freed, so chains only
 *	  grow and concurrent inserts and scans never meet a recycled page.
 *	  Freed room is reused by inserts once the insert page points back at
 *	  it; a table whose rows are all deleted and inserted again keeps the
 *	  same index size.
 *
 *	  The cleanup pass recycles the lists a refresh replaced, when it can
 *	  (ivfrefresh.c), and then, if none are left pending, enters every
 *	  deleted page in the free space map, including those of a recycle cut
 *	  short by a crash after it cleared the metapage.
 *
 *	  Each entry page is taken with a cleanup lock (no other pin), one page
 *	  at a time; the list page is locked exclusively, with no entry page
 *	  locked, to move the insert page.  See ivfinsert.c for the lock order.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfvacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/xact.h"
#include "commands/vacuum.h"
#include "storage/bufmgr.h"
#include "storage/indexfsm.h"
#include "utils/rel.h"

#include "indexam/ivfflat.h"

/*
 * Removes the dead entries of one list's chain and returns the first page
 * of the chain with room for an entry of itemSize, or InvalidBlockNumber.
 */
static BlockNumber
VacuumChain(IndexVacuumInfo *info, BlockNumber blkno, Size itemSize,
			IndexBulkDeleteCallback callback, void *callback_state,
			IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	BlockNumber firstRoom = InvalidBlockNumber;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoffno;
		OffsetNumber deletable[MaxOffsetNumber];
		int			ndeletable = 0;

		vacuum_delay_point();

		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		LockBufferForCleanup(buf);
		page = BufferGetPage(buf);
		maxoffno = PageGetMaxOffsetNumber(page);

		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
		{
			IvfEntry	entry = (IvfEntry) PageGetItem(page, PageGetItemId(page, offno));

			if (callback(&entry->heaptid, callback_state))
			{
				deletable[ndeletable++] = offno;
				stats->tuples_removed += 1;
			}
			else
				stats->num_index_tuples += 1;
		}

		if (ndeletable > 0)
		{
			GenericXLogState *state = GenericXLogStart(index);

			PageIndexMultiDelete(GenericXLogRegisterBuffer(state, buf, 0),
								 deletable, ndeletable);
			GenericXLogFinish(state);
		}

		if (!BlockNumberIsValid(firstRoom) && PageGetFreeSpace(page) >= itemSize)
			firstRoom = blkno;

		blkno = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}

	return firstRoom;
}

/*
 * Vacuums the lists of one list page.  The items are read under a share
 * lock that is released before their chains are visited.
 */
static BlockNumber
VacuumListPage(IndexVacuumInfo *info, BlockNumber blkno, Size itemSize,
			   IndexBulkDeleteCallback callback, void *callback_state,
			   IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	Buffer		buf;
	Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_SHARE, &buf);
	OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);
	BlockNumber next;
	BlockNumber startPages[MaxOffsetNumber];
	BlockNumber insertPages[MaxOffsetNumber];

	for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
	{
		IvfList		list = (IvfList) PageGetItem(page, PageGetItemId(page, offno));

		startPages[offno - 1] = list->startPage;
		insertPages[offno - 1] = list->insertPage;
	}
	next = IvfPageGetOpaque(page)->nextblkno;
	UnlockReleaseBuffer(buf);

	for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
	{
		BlockNumber firstRoom = VacuumChain(info, startPages[offno - 1], itemSize,
											callback, callback_state, stats);

		if (BlockNumberIsValid(firstRoom) && firstRoom != insertPages[offno - 1])
			IvfSetInsertPage(index, blkno, offno, InvalidBlockNumber, firstRoom);
	}

	return next;
}

IndexBulkDeleteResult *
ivfflatbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	IvfMetaPageData meta;
	BlockNumber blkno;
	Size		itemSize;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	/* Entries of compact storage hold a code varlena instead of the value */
	IvfReadMetaAll(index, &meta);
	blkno = meta.listHead;
	if (meta.storage == IVF_STORAGE_FLOAT32)
		itemSize = IvfEntryItemSize(IvfValueSize(IvfGetTypeInfo(index), (int) meta.dimensions));
	else
		itemSize = IvfEntryItemSize(VARHDRSZ + rv_code_size((RvCodeKind) meta.storage,
															(int) meta.dimensions));

	while (BlockNumberIsValid(blkno))
		blkno = VacuumListPage(info, blkno, itemSize, callback, callback_state, stats);

	return stats;
}

/*
 * Enters every deleted page in the free space map.  The map is a hint:
 * whoever takes a page checks it is still deleted, so a page reused since
 * it was read here does no harm.
 */
static BlockNumber
RecordDeletedPages(IndexVacuumInfo *info)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber deleted = 0;

	for (BlockNumber blkno = IVF_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && IvfPageGetOpaque(page)->page_id == IVF_PAGE_ID &&
			(IvfPageGetOpaque(page)->flags & IVF_PAGE_DELETED) != 0)
		{
			RecordFreeIndexPage(index, blkno);
			deleted++;
		}
		UnlockReleaseBuffer(buf);
	}
	if (deleted > 0)
		IndexFreeSpaceMapVacuum(index);
	return deleted;
}

IndexBulkDeleteResult *
ivfflatvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	IvfMetaPageData meta;

	if (info->analyze_only)
		return stats;

	/*
	 * Replaced lists wait for a VACUUM (or a refresh) that can have the
	 * index to itself for a moment; the bulk delete pass, when there was
	 * one, read every reachable page, so a pass over all of them costs
	 * little more.  A parallel VACUUM's leader stays in parallel mode
	 * throughout, where the lock's WAL record (which needs a transaction
	 * id) cannot be written: it leaves them to the next VACUUM or refresh
	 * (autovacuum never runs in parallel).
	 */
	IvfReadMetaAll(info->index, &meta);
	if (BlockNumberIsValid(meta.oldListHead) && !IsInParallelMode() &&
		IvfRecycleOld(info->index) && stats == NULL)
	{
		/* Entries are as the table's rows, as far as we know */
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = info->num_heap_tuples;
		stats->estimated_count = info->estimated_count;
	}

	/* No bulk delete pass and nothing recycled: nothing to report */
	if (stats == NULL)
		return NULL;

	/*
	 * While replaced lists are pending, some of their pages may already be
	 * marked deleted (a recycle cut short by a crash): they are still on the
	 * chain the next recycle walks, so none may be handed out yet.
	 */
	IvfReadMetaAll(info->index, &meta);
	if (!BlockNumberIsValid(meta.oldListHead))
		stats->pages_free = RecordDeletedPages(info);
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
