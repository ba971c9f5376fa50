/*-------------------------------------------------------------------------
 *
 * tableam.h
 *	  The ruvector_heap table access method: heap, with vector columns kept
 *	  inline and moved between tier encodings in place.
 *
 * NOTES
 *	  Tuples of ruvector_heap are heap tuples.  A tuple that holds at least
 *	  one encoded vector (tier.h) carries RV_HEAP_ENCODED in t_infomask2, a
 *	  bit heap leaves free ("bits 0x1800 are available", htup_details.h) and
 *	  preserves: heap code changes t_infomask2 only through masks of its own
 *	  bits.  Scans test that bit on every tuple they return - the whole cost
 *	  of tiering on hot pages - and only a set bit sends the tuple through
 *	  the decoder, which hands the executor a materialized copy with plain
 *	  float32 vectors.
 *
 *	  Why the bit is safe where it is.  Heap changes a stored header's
 *	  t_infomask2 in place only by setting or clearing its own named bits:
 *	  row locks and their redo clear HEAP_KEYS_UPDATED, freezing copies
 *	  t_infomask2 and adjusts named bits, HOT updates set HEAP_HOT_UPDATED /
 *	  HEAP_ONLY_TUPLE; a new tuple version is formed by us (tuple_insert /
 *	  tuple_update), never from heap's copy of the old header.  TAP 406
 *	  checks that row locks and VACUUM FREEZE keep the bit.  No other
 *	  place is out of heap's reach either (heap pages have no special space
 *	  and heap owns the page layout), so the bit stays, guarded by the
 *	  assertion below: a PostgreSQL release that gives 0x0800 a meaning in
 *	  HEAP_NATTS_MASK or HEAP2_XACT_MASK stops the build; a meaning outside
 *	  those masks would not be caught, so htup_details.h's "bits 0x1800 are
 *	  available" is on the list to re-read for each new major version.
 *
 *	  Writers of encoded tuples set the bit: tier moves (rvheap_compact.c)
 *	  and the VACUUM FULL / CLUSTER rewrite, which copies tuples in their
 *	  tier form through heapam and then marks them (rvheap_handler.c).
 *
 *	  The table AM owns everything about tiering but the codecs (tier.h):
 *	  the handler (rvheap_handler.c), decoding of stored tuples
 *	  (rvheap_decode.c), tier moves (rvheap_compact.c), per-column tier
 *	  policies and their event trigger (rvheap_policy.c), per-block access
 *	  tracking in shared memory (rvheap_access.c), the "ruvector_tier" WAL
 *	  resource manager (rvheap_wal.c, rvheap_wal.h) and the reports
 *	  (rvheap_report.c).
 *
 * IDENTIFICATION
 *	  src/tableam/tableam.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_TABLEAM_H
#define RV_TABLEAM_H

#include "postgres.h"

#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "storage/bufpage.h"
#include "utils/rel.h"

#include "tier/tier.h"

/* t_infomask2 bit: the tuple holds at least one encoded vector. */
#define RV_HEAP_ENCODED			0x0800

StaticAssertDecl((RV_HEAP_ENCODED & (HEAP_NATTS_MASK | HEAP2_XACT_MASK)) == 0,
				 "RV_HEAP_ENCODED must be a bit heap leaves free");

/* Vector-typed attributes of a relation, cached in rd_amcache. */
typedef struct RvRelInfoData
{
	int			nvector;		/* attributes of type vector (tiered) */
	int			ninline;		/* vector/halfvec attributes whose catalog
								 * storage or compression the toaster must
								 * not see as is (rvheap_handler.c) */
	AttrNumber	atts[FLEXIBLE_ARRAY_MEMBER];	/* nvector, then ninline */
} RvRelInfoData;

typedef RvRelInfoData *RvRelInfo;

#define RvRelInfoVector(info, i)	((info)->atts[(i)])
#define RvRelInfoInline(info, i)	((info)->atts[(info)->nvector + (i)])

/*
 * Longest threshold of a policy, in seconds: the longest time a timestamp
 * difference (int64 microseconds) can measure; a block is never idle longer.
 */
#define RV_TIER_MAX_THRESHOLD	(PG_INT64_MAX / INT64CONST(1000000))

/*
 * Thresholds of one tier in a policy: seconds since the last write and
 * read (-1 = tier not used), and the most (decayed) reads a block may have
 * had to move (-1 = no limit).
 */
typedef struct RvTierRule
{
	int64		after_write;
	int64		after_read;
	double		max_reads;
} RvTierRule;

/* The policy of one vector column. */
typedef struct RvTierPolicyData
{
	AttrNumber	attnum;
	NameData	attname;
	int			exactness;		/* coldest lossy tier allowed; FLOAT32 =
								 * "exact": lossless moves only */
	RvTierRule	rule[RV_TIER_COUNT];	/* [FLOAT32] unused */
	int			pq_m;			/* 0 = dim / 2 */
	int			pq_k;
	int			pq_sample;
} RvTierPolicyData;

typedef RvTierPolicyData *RvTierPolicy;

/* Last accesses of a block, as tracked in shared memory. */
typedef struct RvBlockAccess
{
	TimestampTz last_read;		/* 0 = not tracked */
	TimestampTz last_write;		/* 0 = not tracked */
	double		heat;			/* reads, halved every half-life */
	int			settled;		/* tier the last pass left it in; -1 unknown */
} RvBlockAccess;

/* rvheap_handler.c */
extern bool rv_seqscan_read_ahead;
extern const TableAmRoutine *RvHeapRoutine(void);
extern bool RvIsRuvectorHeap(Relation rel);
extern void RvHeapCheckRelation(Relation rel, const char *what);
extern Relation RvHeapOpenChecked(Oid relid, LOCKMODE lockmode, const char *what,
								  bool owner);

/* rvheap_compact.c */
extern int	rv_tier_max_blocks_per_round;
extern double rv_tier_cost_delay;
extern double rv_tier_promote_reads;
extern void RvCompactInit(void);
extern void RvTierWorkerRound(void);

/* rvheap_inline.c */
extern bool RvInlineUndecided(Form_pg_attribute att);
extern bool RvInlineNone(Form_pg_attribute att);
extern bool RvInlineOverridden(Form_pg_attribute att);
extern int64 RvInlineDecide(Relation rel, int64 maxBlocks);

/* rvheap_decode.c */
extern Oid	RvVectorTypeOid(void);
extern Oid	RvHalfvecTypeOid(void);
extern void RvTypeCacheInit(void);
extern RvRelInfo RvGetRelInfo(Relation rel);
extern void RvHeapDecodeSlot(Relation rel, TupleTableSlot *slot);
extern HeapTuple RvHeapTupleRebuild(HeapTuple src, TupleDesc desc,
									Datum *values, bool *isnull,
									bool encoded);
extern bool RvHeapTupleHasEncoded(Relation rel, RvRelInfo info, HeapTuple tup);

/*
 * Decode the tuple in a buffer-heap slot if it holds encoded vectors.  The
 * test is one load and branch on a header already in cache.
 */
static inline void
RvHeapCheckSlot(Relation rel, TupleTableSlot *slot)
{
	HeapTuple	tup = ((BufferHeapTupleTableSlot *) slot)->base.tuple;

	if (unlikely(tup != NULL && (tup->t_data->t_infomask2 & RV_HEAP_ENCODED)))
		RvHeapDecodeSlot(rel, slot);
}

/* rvheap_policy.c */
extern List *RvTierPoliciesLoad(Relation rel);
extern int	RvTierBlockTarget(RvTierPolicy policy, const RvBlockAccess *acc,
							  TimestampTz now);
extern int	RvTierAllowed(RvTierPolicy policy, int tier, bool *lossless_only);

/* rvheap_access.c */
extern int	rv_tier_tracked_blocks;
extern int	rv_tier_heat_halflife;
extern void RvTierNoteReadSlow(Relation rel, BlockNumber blkno);
extern void RvTierNoteWrite(Relation rel, BlockNumber blkno);
extern void RvTierAccessGet(Relation rel, BlockNumber blkno, RvBlockAccess *acc);
extern TimestampTz RvTierTrackingSince(void);
extern void RvTierNoteSettled(Relation rel, BlockNumber blkno, int tier);
extern void RvTierAccessSave(void);

/*
 * Note a read of blkno.  Scans call this per tuple, so a repeat of the last
 * block this backend noted, in the same statement, costs three compares.
 */
extern PGDLLIMPORT Oid rv_tier_last_rel;
extern PGDLLIMPORT BlockNumber rv_tier_last_block;
extern PGDLLIMPORT TimestampTz rv_tier_last_stmt;

static inline void
RvTierNoteRead(Relation rel, BlockNumber blkno)
{
	if (likely(blkno == rv_tier_last_block &&
			   RelationGetRelid(rel) == rv_tier_last_rel &&
			   GetCurrentStatementStartTimestamp() == rv_tier_last_stmt))
		return;
	RvTierNoteReadSlow(rel, blkno);
}

/* rvheap_progress.c: progress of tier passes */
typedef enum RvProgressPhase
{
	RV_PROGRESS_SCANNING = 0,
	RV_PROGRESS_RETRYING = 1,
	RV_PROGRESS_FLUSHING = 2
} RvProgressPhase;

extern Size RvProgressShmemSize(void);
extern void RvProgressShmemInit(void);
extern void RvProgressStart(Oid relid, BlockNumber nblocks, bool worker);
extern void RvProgressUpdate(int phase, int64 blocks_done, int64 blocks_moved,
							 int64 bytes_freed);
extern void RvProgressEnd(void);

/* GUCs and shared memory of access tracking (rvheap_access.c) */
extern void RvTierInit(void);

/*
 * Point tup at the tuple of line pointer off on a heap page of rel (block
 * blkno); false, tup untouched, if the line pointer is not a normal one
 * (unused, dead or a redirect).  For the passes that read pages directly:
 * tier moves, the rewrite marking pass, the reports.
 */
static inline bool
RvHeapPageTuple(Relation rel, Page page, BlockNumber blkno, OffsetNumber off,
				HeapTuple tup)
{
	ItemId		lp = PageGetItemId(page, off);

	if (!ItemIdIsNormal(lp))
		return false;
	tup->t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tup->t_len = ItemIdGetLength(lp);
	tup->t_tableOid = RelationGetRelid(rel);
	ItemPointerSet(&tup->t_self, blkno, off);
	return true;
}

/* One entry point for _PG_init: GUCs, shared memory, WAL resource manager. */
extern void RvTableamInit(void);

#endif							/* RV_TABLEAM_H */
