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
 *	  treats as "last accessed when tracking began" (the first start that
 *	  had no summary file, see below), so a lost entry can make a block look
 *	  older than it is - the table should be sized to the blocks that matter
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
 *	  Read counts are bumped once per block per statement: a backend-local
 *	  direct-mapped cache of (table, block, statement) swallows repeats, so
 *	  an index scan that returns many rows of one block, or comes back to
 *	  it, counts one read.  (A statement touching more blocks than the cache
 *	  holds may count a block twice: approximate, like everything here.)
 *	  Sequential and sample scans and ANALYZE note nothing.
 *
 *	  Persistence: the table is a decaying summary that outlives the
 *	  server.  It is written to RV_TIER_ACCESS_FILE (all slots, raw, with
 *	  the time tracking began) by the postmaster at a clean shutdown and by
 *	  the maintenance launcher every RV_TIER_SAVE_INTERVAL seconds (for
 *	  crashes), and read back when shared memory is set up, at start and
 *	  after a crash restart.  A file of another size or version is ignored
 *	  (with a LOG line).  After a crash the "settled" tiers of the file are
 *	  dropped: a write after the last save may have brought a hot row into a
 *	  block the file calls settled.  Writes are atomic (temporary file,
 *	  fsync, durable_rename).
 *
 *	  "settled" is the tier the tier pass last left a block in (every
 *	  vector at that tier, nothing in progress); any write clears it.  The
 *	  tier worker skips settled blocks without reading them.
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
#include "storage/fd.h"
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
	uint16		reads;			/* decayed, saturating */
	uint8		settled;		/* tier + 1 the last pass left; 0 = unknown */
	uint8		spare;
} RvBlockSlot;

typedef struct RvTierShared
{
	TimestampTz since;			/* when tracking began */
	TimestampTz saved;			/* last write of the file; 0 = never */
	uint32		nslots;			/* even */
	RvBlockSlot slots[FLEXIBLE_ARRAY_MEMBER];
} RvTierShared;

/* The saved summary (see NOTES) */
#define RV_TIER_ACCESS_FILE		"pg_stat/ruvector_tier_access.stat"
#define RV_TIER_ACCESS_MAGIC	0x52565441	/* "RVTA" */
#define RV_TIER_ACCESS_VERSION	1
#define RV_TIER_SAVE_INTERVAL	30	/* seconds, launcher saves */

typedef struct RvTierFileHeader
{
	uint32		magic;
	uint32		version;
	uint32		nslots;
	uint32		clean;			/* written at a clean shutdown */
	TimestampTz since;
} RvTierFileHeader;

/* Backend-local: blocks already counted in the current statement */
#define RV_TIER_SEEN			512
typedef struct RvTierSeen
{
	Oid			rel;
	BlockNumber blkno;
	TimestampTz stmt;
} RvTierSeen;

static RvTierSeen rv_tier_seen[RV_TIER_SEEN];

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
	victim->settled = 0;
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

	RvTierSeen *seen;

	rv_tier_last_rel = RelationGetRelid(rel);
	rv_tier_last_block = blkno;
	rv_tier_last_stmt = stmt;
	if (rv_tier_shared == NULL)
		return;

	/* Once per block per statement (NOTES). */
	seen = &rv_tier_seen[hash_combine(rv_tier_last_rel, blkno) % RV_TIER_SEEN];
	if (seen->rel == rv_tier_last_rel && seen->blkno == blkno && seen->stmt == stmt)
		return;
	seen->rel = rv_tier_last_rel;
	seen->blkno = blkno;
	seen->stmt = stmt;

	now = ToSeconds(stmt);
	slot = FindSlot(rel, blkno, true);
	slot->reads = Min(Decay(slot->reads, slot->last_read, now), PG_UINT16_MAX - 1) + 1;
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
	slot->settled = 0;
}

/*
 * Record the tier a tier pass left blkno in (-1: unknown, look again).
 */
void
RvTierNoteSettled(Relation rel, BlockNumber blkno, int tier)
{
	volatile RvBlockSlot *slot;

	if (rv_tier_shared == NULL)
		return;
	slot = FindSlot(rel, blkno, tier >= 0);
	if (slot != NULL)
		slot->settled = tier >= 0 ? (uint8) (tier + 1) : 0;
}

/*
 * What is known of blkno's accesses; zero times if it is not tracked.
 */
void
RvTierAccessGet(Relation rel, BlockNumber blkno, RvBlockAccess *acc)
{
	volatile RvBlockSlot *slot;

	memset(acc, 0, sizeof(*acc));
	acc->settled = -1;
	if (rv_tier_shared == NULL)
		return;
	slot = FindSlot(rel, blkno, false);
	if (slot == NULL)
		return;
	acc->settled = (int) slot->settled - 1;
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

/*
 * Write the table to RV_TIER_ACCESS_FILE (NOTES).  clean: at a clean
 * shutdown.  Failures are logged, never raised: losing the summary only
 * makes blocks look as old as the last saved one says.
 */
static void
RvTierSaveFile(bool clean)
{
	const char *tmp = RV_TIER_ACCESS_FILE ".tmp";
	RvTierFileHeader hdr;
	FILE	   *f;
	Size		len;

	if (rv_tier_shared == NULL)
		return;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = RV_TIER_ACCESS_MAGIC;
	hdr.version = RV_TIER_ACCESS_VERSION;
	hdr.nslots = rv_tier_shared->nslots;
	hdr.clean = clean ? 1 : 0;
	hdr.since = rv_tier_shared->since;
	len = mul_size(hdr.nslots, sizeof(RvBlockSlot));

	f = AllocateFile(tmp, PG_BINARY_W);
	if (f == NULL ||
		fwrite(&hdr, sizeof(hdr), 1, f) != 1 ||
		fwrite(rv_tier_shared->slots, 1, len, f) != len ||
		fflush(f) != 0 || pg_fsync(fileno(f)) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write ruvector tier access file \"%s\": %m", tmp)));
		if (f)
			FreeFile(f);
		unlink(tmp);
		return;
	}
	if (FreeFile(f) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not close ruvector tier access file \"%s\": %m", tmp)));
		unlink(tmp);
		return;
	}
	(void) durable_rename(tmp, RV_TIER_ACCESS_FILE, LOG);
	rv_tier_shared->saved = GetCurrentTimestamp();
}

/*
 * Read RV_TIER_ACCESS_FILE into the fresh table, if it is there and fits.
 */
static void
RvTierLoadFile(void)
{
	RvTierFileHeader hdr;
	FILE	   *f;
	Size		len = mul_size(rv_tier_shared->nslots, sizeof(RvBlockSlot));

	f = AllocateFile(RV_TIER_ACCESS_FILE, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read ruvector tier access file \"%s\": %m",
							RV_TIER_ACCESS_FILE)));
		return;
	}
	if (fread(&hdr, sizeof(hdr), 1, f) != 1 ||
		hdr.magic != RV_TIER_ACCESS_MAGIC || hdr.version != RV_TIER_ACCESS_VERSION ||
		hdr.nslots != rv_tier_shared->nslots ||
		fread(rv_tier_shared->slots, 1, len, f) != len)
	{
		ereport(LOG,
				(errmsg("ignoring ruvector tier access file \"%s\": not written for %u tracked blocks by this version",
						RV_TIER_ACCESS_FILE, rv_tier_shared->nslots)));
		memset(rv_tier_shared->slots, 0, len);
		FreeFile(f);
		return;
	}
	FreeFile(f);
	rv_tier_shared->since = hdr.since;
	if (!hdr.clean)
	{
		for (uint32 i = 0; i < rv_tier_shared->nslots; i++)
			rv_tier_shared->slots[i].settled = 0;
	}
}

/* Postmaster exit: save at a clean shutdown only (shared memory is sane). */
static void
RvTierShmemShutdown(int code, Datum arg)
{
	if (code == 0)
		RvTierSaveFile(true);
}

/*
 * The launcher's periodic save, for crashes: at most once per
 * RV_TIER_SAVE_INTERVAL.
 */
void
RvTierAccessSave(void)
{
	if (rv_tier_shared == NULL ||
		!TimestampDifferenceExceeds(rv_tier_shared->saved, GetCurrentTimestamp(),
									RV_TIER_SAVE_INTERVAL * 1000))
		return;
	RvTierSaveFile(false);
}

static void
RvTierShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(RvTierShmemSize());
	RequestAddinShmemSpace(RvProgressShmemSize());
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
		RvTierLoadFile();
	}
	RvProgressShmemInit();
	LWLockRelease(AddinShmemInitLock);
	if (!IsUnderPostmaster)
		on_shmem_exit(RvTierShmemShutdown, (Datum) 0);
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
