/*-------------------------------------------------------------------------
 *
 * rvheap_compact.c
 *	  ruvector_compact(): move the vectors of every block that its column's
 *	  tier policy says is due into the colder encoding, in place.
 *
 * NOTES
 *	  A move rewrites one heap page at a time:
 *
 *	  1. Pick the block's target tier per policy column from its access
 *		 times (rvheap_access.c) and the policy (rvheap_policy.c); blocks that
 *		 no policy wants colder are not even read.
 *	  2. Take a cleanup lock (exclusive lock, no other pin) - conditionally:
 *		 a pinned page is skipped, and retried a few times at the end of the
 *		 pass (pins by the checkpointer or a passing scan are brief); one
 *		 still pinned then is counted and left for the next compact, never
 *		 waited for (a cursor may hold a pin for hours).  With the cleanup
 *		 lock no other backend holds a pointer into the page, so tuples may
 *		 be moved within it, as pruning does.
 *	  3. Re-encode the vectors of tuples that are LIVE for every snapshot
 *		 (HeapTupleSatisfiesVacuum): recently dead and in-progress versions
 *		 are left alone.  Values stored out of line are left alone (their
 *		 TOAST chunks belong to this version).  A value only moves colder,
 *		 and only if the new form is smaller.
 *	  4. Lay the page out again in a local copy (same line pointers, so
 *		 TIDs and index entries stay valid; tuple data packed from the end
 *		 of the page), then in one critical section copy it over the page,
 *		 mark it dirty and log it with the ruvector_tier resource manager
 *		 (full page image; redo takes a cleanup lock too).
 *	  5. Record the page's new free space in the FSM.
 *
 *	  The WAL is flushed before the function returns (it has no transaction
 *	  id, so its commit flushes nothing).
 *
 *	  Nothing about visibility changes: xmin, xmax, ctid, infomask and the
 *	  visibility map are untouched, so MVCC stays heapam's.  A crash leaves
 *	  each page either before or after its move (WAL before data); the
 *	  function is not transactional - moves done before an error or a
 *	  crash stay done, which is safe because each is a complete page image
 *	  referencing only committed codebooks.
 *
 *	  Locks: ShareUpdateExclusiveLock on the table (concurrent reads and
 *	  writes go on; VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, ALTER TABLE
 *	  and another compact wait), then one buffer cleanup lock at a time.
 *
 *	  The tier worker's round (RvTierWorkerRound, called by the maintenance
 *	  worker of each database, src/worker/worker.c) runs the same pass per
 *	  table with a budget of blocks read, vacuum's cost accounting with
 *	  ruvector.tier_cost_delay, no waiting (a busy table or pinned page is
 *	  left for the next round), skips blocks access tracking says are
 *	  settled at their target, promotes read-hot blocks (colder values
 *	  rewritten as float32 of the decoded value, as far as the page has
 *	  room) and demotes nothing while the integrity state is stress or
 *	  critical.  Both hand the blocks they will move to the read-ahead
 *	  (io/rvio.h) a window at a time.  blocks_scanned counts a block
 *	  retried after a pin once.  Both first decide how columns whose
 *	  inline storage is undecided keep large vectors (rvheap_inline.c);
 *	  the worker also visits tables without a policy for that.
 *
 *	  ruvector.test_compact_stop_after (superuser, for crash tests): after
 *	  that many rewritten pages, flush WAL, log a line and wait until
 *	  cancelled, so a test can crash the server in the middle of a compact.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_compact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "common/rv_extension.h"
#include "integrity/integrity.h"
#include "tableam/tableam.h"
#include "tier/tier.h"
#include "tableam/rvheap_wal.h"
#include "io/rvio.h"

PG_FUNCTION_INFO_V1(ruvector_compact);
PG_FUNCTION_INFO_V1(ruvector_tier_plan);

static int	rv_test_compact_stop_after = 0;

/* A policy column during one compact. */
typedef struct CompactColumn
{
	RvTierPolicy policy;
	RvCodebook	cb;				/* committed PQ codebook, or NULL */
	int			target;			/* this block's target tier */
	bool		lossless;		/* only lossless moves */
	bool		promote;		/* this block: rewrite colder values float32 */
	bool		demote;			/* this block: colder moves allowed */
} CompactColumn;

typedef struct CompactState
{
	Relation	rel;
	RvRelInfo	info;
	int			ncols;
	CompactColumn *cols;
	TransactionId oldest_xmin;
	TimestampTz now;
	BufferAccessStrategy strategy;
	MemoryContext page_cxt;
	Datum	   *values;
	bool	   *isnull;
	/* results */
	int64		blocks_scanned;
	int64		blocks_moved;
	int64		blocks_skipped;
	int64		vectors_moved;
	int64		bytes_freed;
	XLogRecPtr	last_lsn;		/* of the last move logged */
	List	   *busy;			/* blocks skipped for a pin, to retry */
	bool		in_retry;		/* RetryBusyBlocks: blocks already counted */
	bool		retrying;		/* its last round: count what is pinned */
	/* the tier worker's pass (RvTierWorkerRound) */
	bool		worker;			/* skip settled blocks, promote read-hot ones */
	bool		demote;			/* colder moves allowed (integrity) */
	int64		budget;			/* blocks it may still read; -1 = no limit */
	int64		blocks_promoted;
	int64		vectors_promoted;
} CompactState;

int			rv_tier_max_blocks_per_round = 1000;
double		rv_tier_cost_delay = 2;
double		rv_tier_promote_reads = 8;

/* Blocks handed to the read-ahead at once */
#define RV_TIER_WINDOW			32

/* Register the test-only GUC. */
void
RvCompactInit(void)
{
	DefineCustomIntVariable("ruvector.test_compact_stop_after",
							"Testing only: ruvector_compact waits after rewriting this many pages.",
							"0 disables the stop.",
							&rv_test_compact_stop_after,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.tier_max_blocks_per_round",
							"Blocks the tier worker may read in one round, over all tables of a database.",
							"0 turns the tier worker off.",
							&rv_tier_max_blocks_per_round,
							1000, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("ruvector.tier_cost_delay",
							 "Cost delay of the tier worker, as autovacuum_vacuum_cost_delay.",
							 "Buffer accesses are charged as for vacuum (vacuum_cost_page_*); each "
							 "time vacuum_cost_limit is reached the worker sleeps this long. 0: no sleep.",
							 &rv_tier_cost_delay,
							 2, 0, 100,
							 PGC_SIGHUP, GUC_UNIT_MS,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("ruvector.tier_promote_reads",
							 "Reads (decayed) after which the tier worker brings a block's colder vectors back to float32.",
							 "Only where the block's policy wants it warmer than it is.",
							 &rv_tier_promote_reads,
							 8, 1, 1e9,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
}

/*
 * Load policies and codebooks.  A column whose policy allows PQ but has no
 * committed codebook gets one trained now, used from the next compact on
 * (see tier_codebook.c); this run moves its PQ-due blocks to sq8.
 */
static void
InitCompact(CompactState *st, Relation rel, bool train)
{
	List	   *policies = RvTierPoliciesLoad(rel);
	ListCell   *lc;
	int			i = 0;

	memset(st, 0, sizeof(*st));
	st->rel = rel;
	st->info = RvGetRelInfo(rel);
	st->ncols = list_length(policies);
	st->cols = palloc0(sizeof(CompactColumn) * Max(st->ncols, 1));
	foreach(lc, policies)
	{
		CompactColumn *c = &st->cols[i++];
		RvTierPolicy p = lfirst(lc);
		int32		typmod = TupleDescAttr(RelationGetDescr(rel), p->attnum - 1)->atttypmod;

		c->policy = p;
		if (p->exactness < RV_TIER_PQ || p->rule[RV_TIER_PQ].after_write < 0)
			continue;
		c->cb = RvCodebookLatest(rel, NameStr(p->attname), typmod > 0 ? typmod : -1,
								 p->pq_m, p->pq_k);
		if (c->cb == NULL && train)
		{
			uint32		id = RvCodebookTrain(rel, p->attnum, p->pq_m, p->pq_k, p->pq_sample);

			if (id != 0)
				ereport(NOTICE,
						(errmsg("trained PQ codebook %u for column \"%s\"", id, NameStr(p->attname)),
						 errdetail("A new codebook is used from the next ruvector_compact after this transaction commits; until then blocks due for pq move to sq8.")));
		}
	}

	st->budget = -1;
	st->demote = true;
	st->oldest_xmin = GetOldestNonRemovableTransactionId(rel);
	st->now = GetCurrentTimestamp();
	st->strategy = GetAccessStrategy(BAS_VACUUM);
	st->page_cxt = AllocSetContextCreate(CurrentMemoryContext,
										 "ruvector_compact page",
										 ALLOCSET_DEFAULT_SIZES);
	st->values = palloc(sizeof(Datum) * RelationGetDescr(rel)->natts);
	st->isnull = palloc(sizeof(bool) * RelationGetDescr(rel)->natts);
}

/*
 * Set each column's target for blkno; false if nothing wants a move.
 * *coldest: the coldest target.  The worker's pass also skips blocks the
 * last pass settled at that tier, promotes read-hot blocks settled colder
 * (or not known), and does not demote while the integrity gate says no.
 */
static bool
BlockTargets(CompactState *st, BlockNumber blkno, int *coldest)
{
	RvBlockAccess acc;
	bool		any = false;
	bool		promote;

	RvTierAccessGet(st->rel, blkno, &acc);
	*coldest = RV_TIER_FLOAT32;
	for (int i = 0; i < st->ncols; i++)
	{
		CompactColumn *c = &st->cols[i];
		int			want = RvTierBlockTarget(c->policy, &acc, st->now);

		c->target = RvTierAllowed(c->policy, want, &c->lossless);
		if (c->target == RV_TIER_PQ && c->cb == NULL)
			c->target = RV_TIER_SQ8;
		c->promote = false;
		c->demote = true;
		*coldest = Max(*coldest, c->target);
		any |= c->target != RV_TIER_FLOAT32;
	}
	if (!st->worker)
		return any;

	promote = acc.heat >= rv_tier_promote_reads &&
		(acc.settled < 0 || acc.settled > *coldest);
	if (acc.settled == *coldest && !promote)
		return false;
	any = false;
	for (int i = 0; i < st->ncols; i++)
	{
		CompactColumn *c = &st->cols[i];

		c->promote = promote;
		c->demote = st->demote;
		any |= c->promote || (c->demote && c->target != RV_TIER_FLOAT32 &&
							  acc.settled != c->target);
	}
	return any;
}

/*
 * The colder form of v (currently in tier cur) for column c that is smaller
 * than limit bytes (4-byte header size), or NULL.  The target is tried
 * first, then each warmer tier above cur: a vector beyond the float16 range
 * cannot be sq8 either but may be PQ, and a tiny vector may only shrink as
 * float16.
 */
static Vector *
MoveVector(CompactColumn *c, Vector *v, Size limit, bool *promoted)
{
	int			cur = RvTierOfTag(v->unused);
	Vector	   *hot;

	*promoted = false;
	if (cur < 0)
		return NULL;
	if (c->promote && c->target < cur)
	{
		/* back up: the decoded value, as float32 (no precision regained) */
		hot = RvTierDecode(v);
		*promoted = true;
		return hot == v ? NULL : hot;
	}
	if (c->target <= cur || !c->demote)
		return NULL;
	hot = RvTierDecode(v);
	for (int t = c->target; t > cur; t--)
	{
		Vector	   *enc;

		if (t == RV_TIER_PQ && c->cb == NULL)
			continue;
		enc = RvTierEncode(hot, t, c->cb, c->lossless);
		if (enc && VARSIZE(enc) < limit)
			return enc;
	}
	return NULL;
}

/*
 * The tuple with its policy columns moved to their targets, or NULL if
 * nothing moved (or the result would not be smaller).  *moved counts the
 * vectors re-encoded.
 */
static HeapTuple
CompactTuple(CompactState *st, HeapTuple tup, int *moved, int *promoted)
{
	TupleDesc	desc = RelationGetDescr(st->rel);
	int			natts = HeapTupleHeaderGetNatts(tup->t_data);
	int			nmoved = 0;
	int			npromoted = 0;
	bool		encoded = false;
	HeapTuple	result;

	heap_deform_tuple(tup, desc, st->values, st->isnull);
	for (int i = 0; i < st->ncols; i++)
	{
		CompactColumn *c = &st->cols[i];
		int			a = c->policy->attnum - 1;
		struct varlena *raw;
		Vector	   *enc;
		bool		up;

		if (a >= natts || st->isnull[a] ||
			(c->target == RV_TIER_FLOAT32 && !c->promote))
			continue;
		raw = (struct varlena *) DatumGetPointer(st->values[a]);
		if (VARATT_IS_EXTERNAL(raw))
			continue;
		/* Compare 4-byte-header sizes: heap shortens both alike. */
		enc = MoveVector(c, (Vector *) PG_DETOAST_DATUM(st->values[a]),
						 VARATT_IS_SHORT(raw) ?
						 VARSIZE_SHORT(raw) - VARHDRSZ_SHORT + VARHDRSZ :
						 VARSIZE_ANY(raw), &up);
		if (enc == NULL)
			continue;
		st->values[a] = PointerGetDatum(enc);
		nmoved++;
		npromoted += up;
	}
	if (nmoved == 0)
		return NULL;

	for (int i = 0; i < st->info->nvector && !encoded; i++)
	{
		int			a = RvRelInfoVector(st->info, i) - 1;
		int			tier;

		encoded = a < natts && !st->isnull[a] &&
			!VARATT_IS_EXTERNAL(DatumGetPointer(st->values[a])) &&
			RvDatumIsEncoded(st->values[a], &tier);
	}
	result = RvHeapTupleRebuild(tup, desc, st->values, st->isnull, encoded);
	/* Alignment padding of later columns could in theory grow. */
	if (result->t_len > tup->t_len && npromoted == 0)
		return NULL;
	*moved = nmoved;
	*promoted = npromoted;
	return result;
}

/*
 * Lay out page again into tmp with replacement tuples newtups[offnum]
 * (NULL: keep).  Line pointers keep their offsets and flags; everything
 * with storage is packed from pd_special down.  Returns bytes freed.
 */
static uint32
RebuildPage(Page page, HeapTuple *newtups, char *tmp, BlockNumber blkno)
{
	PageHeader	ph = (PageHeader) page;
	PageHeader	th = (PageHeader) tmp;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	LocationIndex upper = ph->pd_special;

	memset(tmp, 0, BLCKSZ);
	memcpy(tmp, page, ph->pd_lower);
	memcpy(tmp + ph->pd_special, page + ph->pd_special, BLCKSZ - ph->pd_special);

	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId((Page) tmp, off);
		const char *src;
		Size		len;

		if (!ItemIdHasStorage(lp))
			continue;
		if (newtups[off])
		{
			src = (const char *) newtups[off]->t_data;
			len = newtups[off]->t_len;
		}
		else
		{
			src = (const char *) PageGetItem(page, PageGetItemId(page, off));
			len = ItemIdGetLength(lp);
		}
		if (upper < ph->pd_lower + MAXALIGN(len))
			elog(ERROR, "tier move of block %u does not fit the page", blkno);
		upper -= MAXALIGN(len);
		memcpy(tmp + upper, src, len);
		lp->lp_off = upper;
		lp->lp_len = len;
	}
	th->pd_upper = upper;
	PageClearFull((Page) tmp);
	/* a promotion may have used space instead */
	return upper > ph->pd_upper ? upper - ph->pd_upper : 0;
}

/* Bytes of tuple storage on page, MAXALIGNed as RebuildPage lays it. */
static Size
PageStorageBytes(Page page)
{
	Size		used = 0;

	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		ItemId		lp = PageGetItemId(page, off);

		if (ItemIdHasStorage(lp))
			used += MAXALIGN(ItemIdGetLength(lp));
	}
	return used;
}

/* Rewrite one block if its policy columns want a move; see NOTES. */
static void
CompactBlock(CompactState *st, BlockNumber blkno)
{
	Buffer		buf;
	Page		page;
	HeapTuple	newtups[MaxHeapTuplesPerPage + 1];
	PGAlignedBlock tmp;
	xl_rvtier_compact xlrec;
	MemoryContext old;
	Size		freespace;
	Size		used;
	Size		room;
	int			coldest;
	bool		unsettled = false;
	int64		promoted_here = 0;

	if (!BlockTargets(st, blkno, &coldest))
		return;
	/* a retried block was counted when first met */
	if (!st->in_retry)
		st->blocks_scanned++;
	if (st->budget > 0)
		st->budget--;

	buf = ReadBufferExtended(st->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, st->strategy);
	if (!ConditionalLockBufferForCleanup(buf))
	{
		ReleaseBuffer(buf);
		if (st->retrying || st->worker)
			st->blocks_skipped++;
		else
			st->busy = lappend_int(st->busy, (int) blkno);
		return;
	}
	page = BufferGetPage(buf);
	if (PageIsNew(page) || PageIsEmpty(page))
	{
		UnlockReleaseBuffer(buf);
		return;
	}

	old = MemoryContextSwitchTo(st->page_cxt);
	memset(newtups, 0, sizeof(newtups));
	memset(&xlrec, 0, sizeof(xlrec));
	used = PageStorageBytes(page);
	room = ((PageHeader) page)->pd_special - ((PageHeader) page)->pd_lower;
	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HeapTupleData tup;
		int			moved = 0;
		int			promoted = 0;

		if (!RvHeapPageTuple(st->rel, page, blkno, off, &tup))
			continue;
		switch (HeapTupleSatisfiesVacuum(&tup, st->oldest_xmin, buf))
		{
			case HEAPTUPLE_LIVE:
				break;
			case HEAPTUPLE_INSERT_IN_PROGRESS:
			case HEAPTUPLE_DELETE_IN_PROGRESS:
				unsettled = true;	/* may stay live: look again later */
				continue;
			default:
				continue;
		}
		newtups[off] = CompactTuple(st, &tup, &moved, &promoted);
		if (newtups[off] == NULL)
			continue;
		/* a promotion grows the tuple: only as far as the page has room */
		if (MAXALIGN(newtups[off]->t_len) > MAXALIGN(tup.t_len) &&
			used + MAXALIGN(newtups[off]->t_len) - MAXALIGN(tup.t_len) > room)
		{
			newtups[off] = NULL;
			unsettled = true;
			continue;
		}
		used = used + MAXALIGN(newtups[off]->t_len) - MAXALIGN(tup.t_len);
		xlrec.ntuples++;
		xlrec.nmoved += moved;
		promoted_here += promoted;
	}

	if (xlrec.ntuples > 0)
	{
		for (int i = 0; i < st->ncols; i++)
			xlrec.tier = Max(xlrec.tier, st->cols[i].target);
		xlrec.freed = RebuildPage(page, newtups, tmp.data, blkno);

		START_CRIT_SECTION();
		memcpy(page, tmp.data, BLCKSZ);
		MarkBufferDirty(buf);
		if (RelationNeedsWAL(st->rel))
		{
			st->last_lsn = RvWalLogCompact(buf, &xlrec);
			PageSetLSN(page, st->last_lsn);
		}
		END_CRIT_SECTION();

		if (promoted_here > 0)
			st->blocks_promoted++;
		if (promoted_here < xlrec.nmoved)
			st->blocks_moved++;
		st->vectors_moved += xlrec.nmoved - promoted_here;
		st->vectors_promoted += promoted_here;
		st->bytes_freed += xlrec.freed;
	}
	freespace = PageGetHeapFreeSpace(page);
	UnlockReleaseBuffer(buf);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->page_cxt);

	/*
	 * What the block holds now, for the worker's next pass: the coldest
	 * target where demotion ran; unknown where something was left.
	 */
	if (unsettled || (st->worker && !st->demote))
		RvTierNoteSettled(st->rel, blkno, -1);
	else
		RvTierNoteSettled(st->rel, blkno, coldest);

	if (xlrec.ntuples > 0)
		RecordPageWithFreeSpace(st->rel, blkno, freespace);
}

/*
 * Retry the blocks that were pinned during the pass: a few rounds, a short
 * sleep apart; what is still pinned is counted as skipped.
 */
static void
RetryBusyBlocks(CompactState *st)
{
	List	   *busy = st->busy;

	st->in_retry = true;
	if (busy != NIL)
		RvProgressUpdate(RV_PROGRESS_RETRYING, RelationGetNumberOfBlocks(st->rel),
						 st->blocks_moved, st->bytes_freed);
	for (int round = 0; busy != NIL && round < 5; round++)
	{
		ListCell   *lc;

		pg_usleep(20000L);
		st->busy = NIL;
		foreach(lc, busy)
		{
			CHECK_FOR_INTERRUPTS();
			CompactBlock(st, (BlockNumber) lfirst_int(lc));
		}
		list_free(busy);
		busy = st->busy;
	}
	/* The last round counts what it could not take. */
	st->retrying = true;
	st->busy = NIL;
	if (busy != NIL)
	{
		ListCell   *lc;

		foreach(lc, busy)
			CompactBlock(st, (BlockNumber) lfirst_int(lc));
	}
}

/*
 * The test stop: make the moves so far durable, say so, and wait to be
 * cancelled (or for the server to crash).
 */
static void
TestStop(CompactState *st)
{
	XLogFlush(GetXLogInsertRecPtr());
	ereport(LOG,
			(errmsg("ruvector_compact: test stop after %lld rewritten pages of \"%s\"",
					(long long) st->blocks_moved, RelationGetRelationName(st->rel))));
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * The pass over blocks 0..nblocks-1: the blocks that want a move are
 * gathered a window at a time and handed to the read-ahead (src/io/rvio.h:
 * io_uring, PrefetchBuffer or nothing, per ruvector.io_method), then moved
 * one by one.  Stops when the worker's budget is spent.
 */
static void
CompactPass(CompactState *st, BlockNumber nblocks)
{
	BlockNumber window[RV_TIER_WINDOW];
	BlockNumber next = 0;

	while (next < nblocks && st->budget != 0)
	{
		int			n = 0;
		int			coldest;

		for (; next < nblocks && n < RV_TIER_WINDOW; next++)
		{
			if (BlockTargets(st, next, &coldest))
				window[n++] = next;
		}
		if (n == 0)
			RvProgressUpdate(RV_PROGRESS_SCANNING, next,
							 st->blocks_moved + st->blocks_promoted, st->bytes_freed);
		if (n > 1)
			RvIoPrefetch(st->rel, MAIN_FORKNUM, window, n);
		for (int i = 0; i < n && st->budget != 0; i++)
		{
			vacuum_delay_point();
			CHECK_FOR_INTERRUPTS();
			CompactBlock(st, window[i]);
			RvProgressUpdate(RV_PROGRESS_SCANNING, i + 1 < n ? window[i] + 1 : next,
							 st->blocks_moved + st->blocks_promoted, st->bytes_freed);
			if (rv_test_compact_stop_after > 0 &&
				st->blocks_moved + st->blocks_promoted >= rv_test_compact_stop_after)
				TestStop(st);
		}
	}
}

/* A row of ruvector_tier_history (RecordHistory). */
typedef struct HistoryRow
{
	Oid			relid;
	const char *source;
	const CompactState *st;
} HistoryRow;

/* Insert the row (runs as the extension owner). */
static void
InsertHistory(void *arg)
{
	HistoryRow *row = (HistoryRow *) arg;
	Oid			nsp = RvExtensionNamespace();
	Oid			types[7] = {OIDOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		values[7];
	char	   *sql;

	if (!OidIsValid(get_relname_relid("ruvector_tier_history", nsp)))
		return;				/* an extension not yet updated */
	sql = psprintf("INSERT INTO %s (relid, at, source, blocks_moved, blocks_promoted, "
				   "vectors_moved, vectors_promoted, bytes_freed) "
				   "VALUES ($1, pg_catalog.now(), $2, $3, $4, $5, $6, $7)",
				   quote_qualified_identifier(get_namespace_name(nsp), "ruvector_tier_history"));
	values[0] = ObjectIdGetDatum(row->relid);
	values[1] = CStringGetTextDatum(row->source);
	values[2] = Int64GetDatum(row->st->blocks_moved);
	values[3] = Int64GetDatum(row->st->blocks_promoted);
	values[4] = Int64GetDatum(row->st->vectors_moved);
	values[5] = Int64GetDatum(row->st->vectors_promoted);
	values[6] = Int64GetDatum(row->st->bytes_freed);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 7, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the tier history");
	SPI_finish();
}

/*
 * Record a pass that moved something in ruvector_tier_history.  The row
 * is part of the caller's transaction (the moves are not: see NOTES).
 */
static void
RecordHistory(Oid relid, const char *source, const CompactState *st)
{
	HistoryRow	row = {relid, source, st};

	/* temporary tables leave without a sql_drop event: no history */
	if (st->blocks_moved + st->blocks_promoted == 0 ||
		st->rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		return;
	RvRunAsExtensionOwner(InsertHistory, &row);
}

/* The result row. */
static Datum
CompactResult(FunctionCallInfo fcinfo, CompactState *st)
{
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ruvector_compact must return a row");
	values[0] = Int64GetDatum(st->blocks_scanned);
	values[1] = Int64GetDatum(st->blocks_moved);
	values[2] = Int64GetDatum(st->blocks_skipped);
	values[3] = Int64GetDatum(st->vectors_moved);
	values[4] = Int64GetDatum(st->bytes_freed);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

/*
 * One compaction of the table, for ruvector_compact and for a visit of the
 * tier worker, with its progress row: the pass, then the busy blocks
 * again (ruvector_compact only: the worker leaves them to its next
 * round), the free space map of the blocks that changed, the pass's WAL
 * flushed, and its row of history.  Neither caller has a transaction id
 * to commit, so nothing else would flush that WAL: the flush is what
 * makes the moves reported done survive a crash.
 */
static void
CompactRun(CompactState *st, Oid relid, const char *source)
{
	BlockNumber nblocks = st->ncols > 0 ? RelationGetNumberOfBlocks(st->rel) : 0;
	int64		changed;

	RvProgressStart(relid, nblocks, st->worker);
	CompactPass(st, nblocks);
	if (!st->worker)
		RetryBusyBlocks(st);
	changed = st->blocks_moved + st->blocks_promoted;
	RvProgressUpdate(RV_PROGRESS_FLUSHING, nblocks, changed, st->bytes_freed);
	if (changed > 0)
		FreeSpaceMapVacuumRange(st->rel, 0, nblocks);
	if (!XLogRecPtrIsInvalid(st->last_lsn))
		XLogFlush(st->last_lsn);
	FreeAccessStrategy(st->strategy);
	RvProgressEnd();
	RecordHistory(relid, source, st);
}

/*
 * ruvector_compact(table regclass) returns (blocks_scanned, blocks_moved,
 * blocks_skipped, vectors_moved, bytes_freed).
 */
Datum
ruvector_compact(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	CompactState st;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot run ruvector_compact during recovery"),
				 errhint("Run it on the primary; standbys replay its moves.")));
	/*
	 * Its moves are not undone by a rollback, and the audit record of them
	 * cannot be written in a read-only transaction: refuse before moving.
	 */
	PreventCommandIfReadOnly("ruvector_compact()");

	rel = RvHeapOpenChecked(relid, ShareUpdateExclusiveLock, "ruvector_compact", true);
	/* compaction moves values between tiers: a high operation for the gate */
	RvIntegrityEnforce(relid, InvalidOid, RV_IG_HIGH, "ruvector_compact");
	if (RelationNeedsWAL(rel))
		RvWalCheckAvailable("ruvector_compact");

	/* Large vectors: decide how undecided columns keep them (rvheap_inline.c). */
	RvInlineDecide(rel, -1);
	InitCompact(&st, rel, true);
	if (st.ncols == 0)
		ereport(NOTICE,
				(errmsg("table \"%s\" has no tier policy; nothing to move",
						RelationGetRelationName(rel)),
				 errhint("Set one with ruvector_set_tiers().")));

	CompactRun(&st, relid, "compact");
	RvAdminAudit("tier.compact", relid,
				 psprintf("{\"blocks_scanned\": " INT64_FORMAT ", \"blocks_moved\": " INT64_FORMAT
						  ", \"blocks_skipped\": " INT64_FORMAT ", \"vectors_moved\": " INT64_FORMAT
						  ", \"bytes_freed\": " INT64_FORMAT "}",
						  (int64) st.blocks_scanned, (int64) st.blocks_moved,
						  (int64) st.blocks_skipped, (int64) st.vectors_moved,
						  (int64) st.bytes_freed));
	table_close(rel, NoLock);
	PG_RETURN_DATUM(CompactResult(fcinfo, &st));
}

/* ----------------------------------------------------------------
 *		The tier worker's round
 * ----------------------------------------------------------------
 */

/*
 * May the worker demote blocks of relid now?  Not while the operational
 * state or any scope of the table's indexes is stress or critical, nor
 * while the gate defers or refuses high operations on the table.
 */
static bool
WorkerMayDemote(Oid relid)
{
	RvIgOperational op;
	RvIgScope	sc;

	if (RvIntegrityGetOperational(&op) && op.state >= RV_IG_STRESS)
		return false;
	memset(&sc, 0, sizeof(sc));
	if (RvIntegrityDecide(relid, InvalidOid, RV_IG_HIGH, &sc) >= RV_IG_DEFER)
		return false;
	return sc.state < RV_IG_STRESS;
}

/*
 * The tables of this database with a tier policy, or with a vector or
 * halfvec column whose inline storage is undecided (rvheap_inline.c; the
 * test there is RvInlineUndecided), allocated in ctx.
 */
static List *
WorkerListTables(MemoryContext ctx)
{
	Oid			nsp = RvExtensionNamespace();
	char	   *sql;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("ruvector_tier_policy", nsp)))
		return NIL;
	sql = psprintf("SELECT relid::pg_catalog.oid FROM %s"
				   " UNION SELECT a.attrelid FROM pg_catalog.pg_attribute a"
				   " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
				   " WHERE c.relam = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'ruvector_heap')"
				   " AND c.relkind IN ('r', 'm') AND c.relpersistence <> 't'"
				   " AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN (%u, %u)"
				   " AND a.attstorage IN ('m', 'x') AND a.attcompression = ''::pg_catalog.\"char\""
				   " ORDER BY 1",
				   quote_qualified_identifier(get_namespace_name(nsp), "ruvector_tier_policy"),
				   RvVectorTypeOid(), RvHalfvecTypeOid());
	return RvSpiOidList(sql, ctx, "the tables with a tier policy");
}

/*
 * One table, in the caller's transaction: never waits for its lock (a
 * busy table is left for the next round).  Returns the blocks it read.
 */
static int64
WorkerVisitTable(Oid relid, int64 budget)
{
	Relation	rel;
	CompactState st;
	int64		read;

	if (!ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
	{
		ereport(DEBUG1,
				(errmsg_internal("ruvector tier worker: table %u is busy; next round", relid)));
		return 0;
	}
	rel = try_relation_open(relid, NoLock);
	if (rel == NULL)
		return 0;
	if (!RvIsRuvectorHeap(rel) || rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
	{
		relation_close(rel, ShareUpdateExclusiveLock);
		return 0;
	}

	/*
	 * The inline-storage sample counts against the round's budget, and
	 * takes at most half of it, so that moves go on even while a column of
	 * rows too large for that many blocks to decide stays undecided.
	 */
	read = RvInlineDecide(rel, budget / 2);
	InitCompact(&st, rel, true);
	st.worker = true;
	st.budget = Max(budget - read, 0);
	st.demote = WorkerMayDemote(relid);
	if (!st.demote)
		ereport(DEBUG1,
				(errmsg_internal("ruvector tier worker: no demotion in \"%s\": integrity state",
								 RelationGetRelationName(rel))));
	CompactRun(&st, relid, "worker");

	if (st.blocks_moved + st.blocks_promoted > 0)
		ereport(LOG,
				(errmsg("ruvector tier worker: table \"%s\": %lld blocks read, %lld moved colder (%lld vectors), %lld promoted (%lld vectors), %lld skipped, %lld bytes freed",
						RelationGetRelationName(rel),
						(long long) st.blocks_scanned, (long long) st.blocks_moved,
						(long long) st.vectors_moved, (long long) st.blocks_promoted,
						(long long) st.vectors_promoted, (long long) st.blocks_skipped,
						(long long) st.bytes_freed)));
	relation_close(rel, ShareUpdateExclusiveLock);
	return read + st.blocks_scanned;
}

/*
 * The tier worker's round in the current database (called by the
 * maintenance worker, src/worker/worker.c): every table with a policy or
 * an undecided inline column, in its own transaction, within ruvector.tier_max_blocks_per_round blocks
 * read and with the cost delay ruvector.tier_cost_delay.  An error in one
 * table is logged and the round goes on with the next.
 */
void
RvTierWorkerRound(void)
{
	MemoryContext ctx;
	List	   *volatile tables;
	ListCell   *lc;
	volatile int64 budget = rv_tier_max_blocks_per_round;

	if (budget <= 0 || RecoveryInProgress())
		return;
	ctx = AllocSetContextCreate(TopMemoryContext, "ruvector tier worker",
								ALLOCSET_DEFAULT_SIZES);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	tables = OidIsValid(get_extension_oid("ruvector", true)) ? WorkerListTables(ctx) : NIL;
	PopActiveSnapshot();
	CommitTransactionCommand();

	foreach(lc, tables)
	{
		MemoryContext oldctx = CurrentMemoryContext;

		if (budget <= 0)
			break;
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "ruvector: tier worker");
		VacuumCostDelay = rv_tier_cost_delay;
		VacuumCostActive = VacuumCostDelay > 0;
		VacuumCostBalance = 0;
		PG_TRY();
		{
			budget -= WorkerVisitTable(lfirst_oid(lc), budget);
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldctx);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			ereport(LOG,
					(errmsg("ruvector tier worker: table %u skipped this round: %s",
							lfirst_oid(lc), edata->message)));
			FreeErrorData(edata);
		}
		PG_END_TRY();
		VacuumCostActive = false;
		VacuumCostBalance = 0;
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	MemoryContextDelete(ctx);
}

/* ----------------------------------------------------------------
 *		ruvector_tier_plan: the dry run
 * ----------------------------------------------------------------
 */

/*
 * Recall@10 through an hnsw index (storage sq8, re-rank from the table)
 * measured with the table held in each tier: glove-100, bench/RESULTS.md
 * (issue 17).  A reference, not a prediction for another data set.
 */
static const double rv_tier_reference_recall[RV_TIER_COUNT] = {0.999, 0.999, 0.995, 0.939};

typedef struct PlanCell
{
	int64		blocks;
	int64		vectors;
	int64		bytes_before;
	int64		bytes_after;
} PlanCell;

/*
 * One block of the dry run: the moves CompactBlock would make, counted in
 * cells[from][to], on a copy of the page (codecs run without a buffer lock).
 */
static void
PlanBlock(CompactState *st, BlockNumber blkno, PlanCell cells[RV_TIER_COUNT][RV_TIER_COUNT])
{
	Buffer		buf;
	PGAlignedBlock copy;
	bool		live[MaxHeapTuplesPerPage + 1];
	bool		seen[RV_TIER_COUNT][RV_TIER_COUNT];
	Page		page;
	int			coldest;
	MemoryContext old;

	if (!BlockTargets(st, blkno, &coldest))
		return;
	st->blocks_scanned++;
	buf = ReadBufferExtended(st->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, st->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page))
	{
		UnlockReleaseBuffer(buf);
		return;
	}
	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HeapTupleData tup;

		live[off] = RvHeapPageTuple(st->rel, page, blkno, off, &tup) &&
			HeapTupleSatisfiesVacuum(&tup, st->oldest_xmin, buf) == HEAPTUPLE_LIVE;
	}
	memcpy(copy.data, page, BLCKSZ);
	UnlockReleaseBuffer(buf);

	page = (Page) copy.data;
	memset(seen, 0, sizeof(seen));
	old = MemoryContextSwitchTo(st->page_cxt);
	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HeapTupleData tup;
		int			natts;

		if (!live[off] || !RvHeapPageTuple(st->rel, page, blkno, off, &tup))
			continue;
		natts = HeapTupleHeaderGetNatts(tup.t_data);
		heap_deform_tuple(&tup, RelationGetDescr(st->rel), st->values, st->isnull);
		for (int i = 0; i < st->ncols; i++)
		{
			CompactColumn *c = &st->cols[i];
			int			a = c->policy->attnum - 1;
			struct varlena *raw;
			Vector	   *v;
			Vector	   *enc;
			Size		size;
			bool		up;
			int			from;
			int			to;

			if (a >= natts || st->isnull[a] || c->target == RV_TIER_FLOAT32)
				continue;
			raw = (struct varlena *) DatumGetPointer(st->values[a]);
			if (VARATT_IS_EXTERNAL(raw))
				continue;
			size = VARATT_IS_SHORT(raw) ? VARSIZE_SHORT(raw) - VARHDRSZ_SHORT + VARHDRSZ :
				VARSIZE_ANY(raw);
			v = (Vector *) PG_DETOAST_DATUM(st->values[a]);
			enc = MoveVector(c, v, size, &up);
			if (enc == NULL)
				continue;
			from = RvTierOfTag(v->unused);
			to = RvTierOfTag(enc->unused);
			if (from < 0 || to < 0)
				continue;
			cells[from][to].vectors++;
			cells[from][to].bytes_before += size;
			cells[from][to].bytes_after += VARSIZE(enc);
			if (!seen[from][to])
				cells[from][to].blocks++;
			seen[from][to] = true;
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->page_cxt);
}

/*
 * ruvector_tier_plan(table regclass) returns a row per (from, to) move
 * ruvector_compact would make now: blocks, vectors, bytes before and after
 * (vector values as stored), and the reference recall of the target tier.
 * Reads only: no lock beyond AccessShareLock, no codebook trained, nothing
 * written; blocks due for pq move to sq8 in the plan while the column has
 * no committed codebook, as in compact.
 */
Datum
ruvector_tier_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	CompactState st;
	BlockNumber nblocks;
	PlanCell	cells[RV_TIER_COUNT][RV_TIER_COUNT];

	InitMaterializedSRF(fcinfo, 0);
	rel = RvHeapOpenChecked(PG_GETARG_OID(0), AccessShareLock, "ruvector_tier_plan", false);
	InitCompact(&st, rel, false);
	FreeAccessStrategy(st.strategy);
	st.strategy = GetAccessStrategy(BAS_BULKREAD);
	memset(cells, 0, sizeof(cells));
	nblocks = st.ncols > 0 ? RelationGetNumberOfBlocks(rel) : 0;
	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		CHECK_FOR_INTERRUPTS();
		PlanBlock(&st, blkno, cells);
	}
	FreeAccessStrategy(st.strategy);
	table_close(rel, AccessShareLock);

	for (int from = 0; from < RV_TIER_COUNT; from++)
		for (int to = 0; to < RV_TIER_COUNT; to++)
		{
			Datum		values[7];
			bool		nulls[7] = {0};

			if (cells[from][to].vectors == 0)
				continue;
			values[0] = CStringGetTextDatum(RvTierName(from));
			values[1] = CStringGetTextDatum(RvTierName(to));
			values[2] = Int64GetDatum(cells[from][to].blocks);
			values[3] = Int64GetDatum(cells[from][to].vectors);
			values[4] = Int64GetDatum(cells[from][to].bytes_before);
			values[5] = Int64GetDatum(cells[from][to].bytes_after);
			values[6] = Float8GetDatum(rv_tier_reference_recall[to]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}
