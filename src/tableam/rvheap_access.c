/*-------------------------------------------------------------------------
 *
 * rvheap_access.c
 *	  Per-block last-read / last-write times and decayed read counts of
 *	  ruvector_heap tables, kept in shared memory for the tier policy.
 *
 * NOTES
 *	  The table is a fixed array of 16-byte slots, two-way set associative:
 *	  a block (relfilenode + block number) hashes to a pair of slots and owns
 *	  the one whose tag matches; a newcomer evicts the pair's least recently
 *	  used slot.  An evicted block reads as "not tracked", which the policy
 *	  treats as "last accessed when tracking began" (server start), so a
 *	  lost entry can make a block look older than it is by at most the time
 *	  since start - the table should be sized to the blocks that matter
 *	  (ruvector.tier_tracked_blocks).
 *
 *	  No locks: readers bump slots with plain 32-bit stores.  Two backends
 *	  that race on one slot can lose a bump or, on eviction, mix two
 *	  blocks' fields for an instant; the counts are heuristics for moving
 *	  data between tiers, never a correctness input (a move is always
 *	  lossless or allowed by the table's exactness), so that is accepted in
 *	  exchange for a hot path without atomics or lock traffic.
 *
 *	  Times are whole seconds since the PostgreSQL epoch, 0 meaning unset.
 *	  Read counts decay lazily: each update first halves the count once per
 *	  elapsed half-life (ruvector.tier_heat_halflife).
 *
 *	  Without shared_preload_libraries there is no table: nothing is
 *	  tracked and every block reads as untouched since server start.
 *
 *	  Keyed by relfilenode, so TRUNCATE, VACUUM FULL and CLUSTER start the
 *	  new file untracked, which is right: its blocks are new.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "tableam/tableam.h"

typedef struct RvBlockSlot
{
	uint32		tag;			/* 0 = free */
	uint32		last_read;
	uint32		last_write;
	uint32		reads;
} RvBlockSlot;

typedef struct RvTierShared
{
	TimestampTz since;			/* when tracking began */
	uint32		nslots;			/* even */
	RvBlockSlot slots[FLEXIBLE_ARRAY_MEMBER];
} RvTierShared;

int			rv_tier_tracked_blocks = 262144;
int			rv_tier_heat_halflife = 3600;

Oid			rv_tier_last_rel = InvalidOid;
BlockNumber rv_tier_last_block = InvalidBlockNumber;
TimestampTz rv_tier_last_stmt = 0;

static RvTierShared *rv_tier_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Bytes of shared memory for the configured number of slots. */
static Size
RvTierShmemSize(void)
{
	uint32		nslots = (uint32) rv_tier_tracked_blocks & ~1u;

	return add_size(offsetof(RvTierShared, slots),
					mul_size(nslots, sizeof(RvBlockSlot)));
}

static uint32
ToSeconds(TimestampTz ts)
{
	return ts <= 0 ? 0 : (uint32) (ts / USECS_PER_SEC);
}

static TimestampTz
FromSeconds(uint32 s)
{
	return s == 0 ? 0 : (TimestampTz) s * USECS_PER_SEC;
}

/*
 * The slot pair of a block, and its tag (never 0).
 */
static volatile RvBlockSlot *
SlotPair(Relation rel, BlockNumber blkno, uint32 *tag)
{
	struct
	{
		RelFileNode node;
		BlockNumber blkno;
	}			key;
	uint64		h;

	memset(&key, 0, sizeof(key));
	key.node = rel->rd_node;
	key.blkno = blkno;
	h = hash_bytes_extended((const unsigned char *) &key, sizeof(key), 0);
	*tag = (uint32) (h >> 32) | 1;
	return &rv_tier_shared->slots[(h % (rv_tier_shared->nslots / 2)) * 2];
}

/* Halve reads once per elapsed half-life. */
static uint32
Decay(uint32 reads, uint32 then, uint32 now)
{
	uint32		halvings;

	if (then == 0 || now <= then || rv_tier_heat_halflife <= 0)
		return reads;
	halvings = (now - then) / (uint32) rv_tier_heat_halflife;
	return halvings >= 32 ? 0 : reads >> halvings;
}

/*
 * The slot of a block, claiming one (evicting the pair's least recently
 * used) if create is true.  NULL if not found and not created.
 */
static volatile RvBlockSlot *
FindSlot(Relation rel, BlockNumber blkno, bool create)
{
	uint32		tag;
	volatile RvBlockSlot *pair = SlotPair(rel, blkno, &tag);
	volatile RvBlockSlot *victim;

	if (pair[0].tag == tag)
		return &pair[0];
	if (pair[1].tag == tag)
		return &pair[1];
	if (!create)
		return NULL;

	victim = Max(pair[0].last_read, pair[0].last_write) <=
		Max(pair[1].last_read, pair[1].last_write) ? &pair[0] : &pair[1];
	victim->tag = tag;
	victim->last_read = 0;
	victim->last_write = 0;
	victim->reads = 0;
	return victim;
}

/*
 * Record a read of blkno (the slow path of RvTierNoteRead).
 */
void
RvTierNoteReadSlow(Relation rel, BlockNumber blkno)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	volatile RvBlockSlot *slot;
	uint32		now;

	rv_tier_last_rel = RelationGetRelid(rel);
	rv_tier_last_block = blkno;
	rv_tier_last_stmt = stmt;
	if (rv_tier_shared == NULL)
		return;

	now = ToSeconds(stmt);
	slot = FindSlot(rel, blkno, true);
	slot->reads = Min(Decay(slot->reads, slot->last_read, now), PG_UINT32_MAX - 1) + 1;
	slot->last_read = now;
}

/*
 * Record a write (insert, update, delete) into blkno.
 */
void
RvTierNoteWrite(Relation rel, BlockNumber blkno)
{
	volatile RvBlockSlot *slot;

	if (rv_tier_shared == NULL || !BlockNumberIsValid(blkno))
		return;
	slot = FindSlot(rel, blkno, true);
	slot->last_write = ToSeconds(GetCurrentStatementStartTimestamp());
}

/*
 * What is known of blkno's accesses; zero times if it is not tracked.
 */
void
RvTierAccessGet(Relation rel, BlockNumber blkno, RvBlockAccess *acc)
{
	volatile RvBlockSlot *slot;

	memset(acc, 0, sizeof(*acc));
	if (rv_tier_shared == NULL)
		return;
	slot = FindSlot(rel, blkno, false);
	if (slot == NULL)
		return;
	acc->last_read = FromSeconds(slot->last_read);
	acc->last_write = FromSeconds(slot->last_write);
	acc->heat = Decay(slot->reads, slot->last_read,
					  ToSeconds(GetCurrentTimestamp()));
}

/*
 * The time an untracked block is assumed to have been last accessed: when
 * tracking began, i.e. server start.
 */
TimestampTz
RvTierTrackingSince(void)
{
	return rv_tier_shared ? rv_tier_shared->since : PgStartTime;
}

static void
RvTierShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(RvTierShmemSize());
}

static void
RvTierShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rv_tier_shared = ShmemInitStruct("ruvector tier access", RvTierShmemSize(),
									 &found);
	if (!found)
	{
		memset(rv_tier_shared, 0, RvTierShmemSize());
		rv_tier_shared->nslots = (uint32) rv_tier_tracked_blocks & ~1u;
		rv_tier_shared->since = GetCurrentTimestamp();
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * GUCs always; the shared table only when loaded at server start.
 */
void
RvTierInit(void)
{
	DefineCustomIntVariable("ruvector.tier_heat_halflife",
							"Time after which a block's read count is halved.",
							NULL,
							&rv_tier_heat_halflife,
							3600, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * The shared table's size is fixed at server start, and PostgreSQL only
	 * lets a library define a PGC_POSTMASTER setting while it is preloaded;
	 * a backend that loads us lazily has no table and no such setting.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("ruvector.tier_tracked_blocks",
							"Number of table blocks whose accesses are tracked for tier policies.",
							"Each takes 16 bytes of shared memory.",
							&rv_tier_tracked_blocks,
							262144, 1024, INT_MAX / 2,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = RvTierShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = RvTierShmemStartup;
}
