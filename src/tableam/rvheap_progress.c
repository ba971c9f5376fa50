/*-------------------------------------------------------------------------
 *
 * rvheap_progress.c
 *	  Progress of tier passes (ruvector_compact and the tier worker), for
 *	  the ruvector_tier_progress view: table, phase, blocks done / total,
 *	  blocks moved, bytes freed - what pg_stat_progress_vacuum is for
 *	  VACUUM.
 *
 * NOTES
 *	  PostgreSQL's progress machinery (pgstat_progress_*) has a fixed list
 *	  of commands an extension cannot extend, so the passes publish their
 *	  progress in a small shared array of their own: RV_PROGRESS_SLOTS
 *	  slots, claimed by pid under a spinlock at the start of a pass and
 *	  released at its end; while a pass runs only its backend writes its
 *	  slot, with plain stores (a reader may see a row half updated: numbers
 *	  for watching, like pg_stat_progress_*).  A pass that fails releases
 *	  its slot at transaction abort (RegisterXactCallback); one that finds
 *	  no free slot runs unreported.
 *
 *	  Only with shared_preload_libraries; otherwise the view is empty.
 *
 *	  Lock order: the slot spinlock only, never held across anything else.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_progress.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "tableam/tableam.h"

PG_FUNCTION_INFO_V1(ruvector_tier_progress);

#define RV_PROGRESS_SLOTS		32

typedef struct RvProgressSlot
{
	int			pid;			/* 0 = free */
	Oid			dbid;
	Oid			relid;
	int			phase;			/* RvProgressPhase */
	bool		worker;
	TimestampTz started;
	int64		blocks_total;
	int64		blocks_done;
	int64		blocks_moved;
	int64		bytes_freed;
} RvProgressSlot;

typedef struct RvProgressShared
{
	slock_t		mutex;
	RvProgressSlot slots[RV_PROGRESS_SLOTS];
} RvProgressShared;

static RvProgressShared *rv_progress = NULL;
static RvProgressSlot *rv_my_slot = NULL;
static bool rv_progress_callback = false;

static const char *const rv_phase_names[] = {"scanning", "retrying pinned blocks", "flushing"};

Size
RvProgressShmemSize(void)
{
	return sizeof(RvProgressShared);
}

void
RvProgressShmemInit(void)
{
	bool		found;

	rv_progress = ShmemInitStruct("ruvector tier progress", sizeof(RvProgressShared), &found);
	if (!found)
	{
		memset(rv_progress, 0, sizeof(RvProgressShared));
		SpinLockInit(&rv_progress->mutex);
	}
}

/* Release this backend's slot if a transaction aborts mid-pass. */
static void
ProgressXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		RvProgressEnd();
}

/* Claim a slot for a pass over relid of nblocks blocks. */
void
RvProgressStart(Oid relid, BlockNumber nblocks, bool worker)
{
	if (rv_progress == NULL)
		return;
	if (!rv_progress_callback)
	{
		RegisterXactCallback(ProgressXactCallback, NULL);
		rv_progress_callback = true;
	}
	RvProgressEnd();
	SpinLockAcquire(&rv_progress->mutex);
	for (int i = 0; i < RV_PROGRESS_SLOTS; i++)
	{
		if (rv_progress->slots[i].pid == 0)
		{
			rv_my_slot = &rv_progress->slots[i];
			rv_my_slot->pid = MyProcPid;
			break;
		}
	}
	SpinLockRelease(&rv_progress->mutex);
	if (rv_my_slot == NULL)
		return;
	rv_my_slot->dbid = MyDatabaseId;
	rv_my_slot->relid = relid;
	rv_my_slot->worker = worker;
	rv_my_slot->started = GetCurrentTimestamp();
	rv_my_slot->blocks_total = nblocks;
	RvProgressUpdate(RV_PROGRESS_SCANNING, 0, 0, 0);
}

/* Where the pass is. */
void
RvProgressUpdate(int phase, int64 blocks_done, int64 blocks_moved, int64 bytes_freed)
{
	if (rv_my_slot == NULL)
		return;
	rv_my_slot->phase = phase;
	rv_my_slot->blocks_done = blocks_done;
	rv_my_slot->blocks_moved = blocks_moved;
	rv_my_slot->bytes_freed = bytes_freed;
}

/* Release the slot (end of the pass, or abort). */
void
RvProgressEnd(void)
{
	if (rv_my_slot == NULL)
		return;
	SpinLockAcquire(&rv_progress->mutex);
	rv_my_slot->pid = 0;
	SpinLockRelease(&rv_progress->mutex);
	rv_my_slot = NULL;
}

/*
 * ruvector_tier_progress() returns a row per running pass in this
 * database over a table the caller may read: pid, table, source ('compact' or
 * 'worker'), phase, started, blocks_total, blocks_done, blocks_moved,
 * bytes_freed.
 */
Datum
ruvector_tier_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (rv_progress == NULL)
		return (Datum) 0;
	for (int i = 0; i < RV_PROGRESS_SLOTS; i++)
	{
		RvProgressSlot s;
		Datum		values[9];
		bool		nulls[9] = {0};

		SpinLockAcquire(&rv_progress->mutex);
		s = rv_progress->slots[i];
		SpinLockRelease(&rv_progress->mutex);
		if (s.pid == 0 || s.dbid != MyDatabaseId ||
			pg_class_aclcheck(s.relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			continue;
		values[0] = Int32GetDatum(s.pid);
		values[1] = ObjectIdGetDatum(s.relid);
		values[2] = CStringGetTextDatum(s.worker ? "worker" : "compact");
		values[3] = CStringGetTextDatum(rv_phase_names[s.phase]);
		values[4] = TimestampTzGetDatum(s.started);
		values[5] = Int64GetDatum(s.blocks_total);
		values[6] = Int64GetDatum(s.blocks_done);
		values[7] = Int64GetDatum(s.blocks_moved);
		values[8] = Int64GetDatum(s.bytes_freed);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
