/*-------------------------------------------------------------------------
 *
 * rvheap_wal.c
 *	  The "ruvector_tier" custom WAL resource manager: logging of tier
 *	  moves, and their redo, description and masking.
 *
 * NOTES
 *	  Record formats and the choice of id are in rvheap_wal.h.  A tier move is
 *	  logged as a full page image; redo restores it through
 *	  XLogReadBufferForRedoExtended with get_cleanup_lock, which waits (on a
 *	  standby: up to max_standby_streaming_delay, then cancels the
 *	  conflicting query) until no other backend pins the page.  Readers
 *	  therefore see a page either wholly before or wholly after the move.
 *	  No snapshot conflict is raised: a move changes no tuple's visibility.
 *
 *	  The free space map is updated in redo as heap does, so a promoted
 *	  standby finds the space a move freed.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_wal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam_xlog.h"
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogutils.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"

#include "tableam/rvheap_wal.h"
#include "tier/tier.h"

static bool rv_rmgr_registered = false;

/* Redo of XLOG_RVTIER_COMPACT: restore the page image under a cleanup lock. */
static void
RedoCompact(XLogReaderState *record)
{
	RelFileNode rnode;
	BlockNumber blkno;
	Buffer		buffer;
	XLogRedoAction action;

	XLogRecGetBlockTag(record, 0, &rnode, NULL, &blkno);
	action = XLogReadBufferForRedoExtended(record, 0, RBM_NORMAL, true, &buffer);
	if (action == BLK_NEEDS_REDO)
		elog(PANIC, "ruvector_tier_redo: compact record of block %u has no page image",
			 blkno);
	if (BufferIsValid(buffer))
	{
		Size		freespace = PageGetHeapFreeSpace(BufferGetPage(buffer));

		UnlockReleaseBuffer(buffer);
		if (action == BLK_RESTORED)
			XLogRecordPageWithFreeSpace(rnode, blkno, freespace);
	}
}

static void
rvwal_redo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	switch (info & XLOG_RVTIER_OPMASK)
	{
		case XLOG_RVTIER_COMPACT:
			RedoCompact(record);
			break;
		default:
			elog(PANIC, "ruvector_tier_redo: unknown op code %u", info);
	}
}

static void
rvwal_desc(StringInfo buf, XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	if ((info & XLOG_RVTIER_OPMASK) == XLOG_RVTIER_COMPACT &&
		XLogRecGetDataLen(record) >= SizeOfRvTierCompact)
	{
		xl_rvtier_compact xlrec;

		memcpy(&xlrec, XLogRecGetData(record), SizeOfRvTierCompact);
		appendStringInfo(buf, "moved %u vectors in %u tuples, freed %u bytes, coldest %s",
						 xlrec.nmoved, xlrec.ntuples, xlrec.freed,
						 RvTierName(xlrec.tier));
	}
}

static const char *
rvwal_identify(uint8 info)
{
	switch ((info & ~XLR_INFO_MASK) & XLOG_RVTIER_OPMASK)
	{
		case XLOG_RVTIER_COMPACT:
			return "COMPACT";
		default:
			return NULL;
	}
}

/* The page is a heap page: heap's masking serves wal_consistency_checking. */
static void
rvwal_mask(char *pagedata, BlockNumber blkno)
{
	heap_mask(pagedata, blkno);
}

static RmgrData rvwal_rmgr = {
	.rm_name = RV_RMGR_NAME,
	.rm_redo = rvwal_redo,
	.rm_desc = rvwal_desc,
	.rm_identify = rvwal_identify,
	.rm_mask = rvwal_mask
};

/* Register the resource manager; only possible at server start. */
void
RvWalInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	RegisterCustomRmgr(RV_RMGR_ID, &rvwal_rmgr);
	rv_rmgr_registered = true;
}

/* Whether tier moves can be WAL-logged in this server. */
bool
RvWalAvailable(void)
{
	return rv_rmgr_registered;
}

/* Error, saying what to set, unless the resource manager is registered. */
void
RvWalCheckAvailable(const char *what)
{
	if (!rv_rmgr_registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s needs the ruvector WAL resource manager, which is not registered", what),
				 errdetail("Tier moves of logged tables are WAL-logged with a custom resource manager, which can only be registered when the library is loaded at server start."),
				 errhint("Add ruvector to shared_preload_libraries and restart the server.")));
}

/*
 * Log a tier move of the page in buffer (exclusively locked, already
 * modified and marked dirty, inside the caller's critical section).
 */
XLogRecPtr
RvWalLogCompact(Buffer buffer, const xl_rvtier_compact *xlrec)
{
	XLogBeginInsert();
	XLogRegisterData((char *) xlrec, SizeOfRvTierCompact);
	XLogRegisterBuffer(0, buffer, REGBUF_FORCE_IMAGE | REGBUF_STANDARD);
	return XLogInsert(RV_RMGR_ID, XLOG_RVTIER_COMPACT);
}
