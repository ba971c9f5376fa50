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
#include "access/table.h"
#include "access/xlog.h"
#include "commands/vacuum.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "integrity/integrity.h"
#include "tableam/tableam.h"
#include "tier/tier.h"
#include "tableam/rvheap_wal.h"

PG_FUNCTION_INFO_V1(ruvector_compact);

static int	rv_test_compact_stop_after = 0;

/* A policy column during one compact. */
typedef struct CompactColumn
{
	RvTierPolicy policy;
	RvCodebook	cb;				/* committed PQ codebook, or NULL */
	int			target;			/* this block's target tier */
	bool		lossless;		/* only lossless moves */
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
	bool		retrying;
} CompactState;

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
}

/*
 * Load policies and codebooks.  A column whose policy allows PQ but has no
 * committed codebook gets one trained now, used from the next compact on
 * (see tier_codebook.c); this run moves its PQ-due blocks to sq8.
 */
static void
InitCompact(CompactState *st, Relation rel)
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
		if (c->cb == NULL)
		{
			uint32		id = RvCodebookTrain(rel, p->attnum, p->pq_m, p->pq_k, p->pq_sample);

			if (id != 0)
				ereport(NOTICE,
						(errmsg("trained PQ codebook %u for column \"%s\"", id, NameStr(p->attname)),
						 errdetail("A new codebook is used from the next ruvector_compact after this transaction commits; until then blocks due for pq move to sq8.")));
		}
	}

	st->oldest_xmin = GetOldestNonRemovableTransactionId(rel);
	st->now = GetCurrentTimestamp();
	st->strategy = GetAccessStrategy(BAS_VACUUM);
	st->page_cxt = AllocSetContextCreate(CurrentMemoryContext,
										 "ruvector_compact page",
										 ALLOCSET_DEFAULT_SIZES);
	st->values = palloc(sizeof(Datum) * RelationGetDescr(rel)->natts);
	st->isnull = palloc(sizeof(bool) * RelationGetDescr(rel)->natts);
}

/* Set each column's target for blkno; false if nothing wants a move. */
static bool
BlockTargets(CompactState *st, BlockNumber blkno)
{
	RvBlockAccess acc;
	bool		any = false;

	RvTierAccessGet(st->rel, blkno, &acc);
	for (int i = 0; i < st->ncols; i++)
	{
		CompactColumn *c = &st->cols[i];
		int			want = RvTierBlockTarget(c->policy, &acc, st->now);

		c->target = RvTierAllowed(c->policy, want, &c->lossless);
		if (c->target == RV_TIER_PQ && c->cb == NULL)
			c->target = RV_TIER_SQ8;
		any |= c->target != RV_TIER_FLOAT32;
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
MoveVector(CompactColumn *c, Vector *v, Size limit)
{
	int			cur = RvTierOfTag(v->unused);
	Vector	   *hot;

	if (cur < 0 || c->target <= cur)
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
CompactTuple(CompactState *st, HeapTuple tup, int *moved)
{
	TupleDesc	desc = RelationGetDescr(st->rel);
	int			natts = HeapTupleHeaderGetNatts(tup->t_data);
	int			nmoved = 0;
	bool		encoded = false;
	HeapTuple	result;

	heap_deform_tuple(tup, desc, st->values, st->isnull);
	for (int i = 0; i < st->ncols; i++)
	{
		CompactColumn *c = &st->cols[i];
		int			a = c->policy->attnum - 1;
		struct varlena *raw;
		Vector	   *enc;

		if (a >= natts || st->isnull[a] || c->target == RV_TIER_FLOAT32)
			continue;
		raw = (struct varlena *) DatumGetPointer(st->values[a]);
		if (VARATT_IS_EXTERNAL(raw))
			continue;
		/* Compare 4-byte-header sizes: heap shortens both alike. */
		enc = MoveVector(c, (Vector *) PG_DETOAST_DATUM(st->values[a]),
						 VARATT_IS_SHORT(raw) ?
						 VARSIZE_SHORT(raw) - VARHDRSZ_SHORT + VARHDRSZ :
						 VARSIZE_ANY(raw));
		if (enc == NULL)
			continue;
		st->values[a] = PointerGetDatum(enc);
		nmoved++;
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
	if (result->t_len > tup->t_len)
		return NULL;
	*moved = nmoved;
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
	return upper - ph->pd_upper;
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

	if (!BlockTargets(st, blkno))
		return;
	if (!st->retrying)
		st->blocks_scanned++;

	buf = ReadBufferExtended(st->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, st->strategy);
	if (!ConditionalLockBufferForCleanup(buf))
	{
		ReleaseBuffer(buf);
		if (st->retrying)
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
	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HeapTupleData tup;
		int			moved = 0;

		if (!RvHeapPageTuple(st->rel, page, blkno, off, &tup))
			continue;
		if (HeapTupleSatisfiesVacuum(&tup, st->oldest_xmin, buf) != HEAPTUPLE_LIVE)
			continue;
		newtups[off] = CompactTuple(st, &tup, &moved);
		if (newtups[off])
		{
			xlrec.ntuples++;
			xlrec.nmoved += moved;
		}
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

		st->blocks_moved++;
		st->vectors_moved += xlrec.nmoved;
		st->bytes_freed += xlrec.freed;
	}
	freespace = PageGetHeapFreeSpace(page);
	UnlockReleaseBuffer(buf);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->page_cxt);

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
 * ruvector_compact(table regclass) returns (blocks_scanned, blocks_moved,
 * blocks_skipped, vectors_moved, bytes_freed).
 */
Datum
ruvector_compact(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	CompactState st;
	BlockNumber nblocks;

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

	InitCompact(&st, rel);
	if (st.ncols == 0)
		ereport(NOTICE,
				(errmsg("table \"%s\" has no tier policy; nothing to move",
						RelationGetRelationName(rel)),
				 errhint("Set one with ruvector_set_tiers().")));

	nblocks = st.ncols > 0 ? RelationGetNumberOfBlocks(rel) : 0;
	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		vacuum_delay_point();
		CHECK_FOR_INTERRUPTS();
		CompactBlock(&st, blkno);
		if (rv_test_compact_stop_after > 0 &&
			st.blocks_moved >= rv_test_compact_stop_after)
			TestStop(&st);
	}
	RetryBusyBlocks(&st);
	if (st.blocks_moved > 0)
		FreeSpaceMapVacuumRange(rel, 0, nblocks);

	/*
	 * The function has no transaction id to commit, so nothing would flush
	 * its WAL: flush it here, so that moves reported done survive a crash.
	 */
	if (!XLogRecPtrIsInvalid(st.last_lsn))
		XLogFlush(st.last_lsn);

	FreeAccessStrategy(st.strategy);
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
