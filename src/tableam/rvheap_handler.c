/*-------------------------------------------------------------------------
 *
 * rvheap_handler.c
 *	  The ruvector_heap table access method: heapam's routine with the few
 *	  callbacks that must differ.
 *
 * NOTES
 *	  Rows, MVCC, visibility, VACUUM, TOAST, WAL of row changes: heapam's,
 *	  unchanged.  The overrides, grouped as in tableam.h:
 *
 *	  - Every callback that returns a tuple (sequential, TID-range, index,
 *		bitmap and sample scans, row-version fetch, tuple lock, ANALYZE)
 *		calls heapam's and then tests RV_HEAP_ENCODED (tableam.h): encoded
 *		tuples reach the executor decoded.  Index fetches, bitmap scans and
 *		row-version fetches - reads of chosen rows - also note the block as
 *		read for the tier policy; sequential scans do not, since a full
 *		scan (an exact search, a dump, a report) reads every block alike
 *		and says nothing about which are hot.
 *	  - tuple_satisfies_snapshot accepts a decoded (materialized, unpinned)
 *		slot by fetching the stored version by TID.
 *	  - Inserts and updates keep vector and halfvec values inline: when a
 *		row would go through the toaster, heap runs with MAIN storage for
 *		those columns, so they leave the page only if the row cannot fit
 *		(TOAST_TUPLE_TARGET_MAIN) - as heap does for MAIN columns.  New
 *		tables get MAIN storage for such columns in the catalog as well
 *		(relation_set_new_filenode).  Whether such a row's vectors are
 *		compressed, and how, is the column's choice (rvheap_inline.c).
 *		Writes note the block as written.
 *	  - heapam's index build, CONCURRENTLY validation and CLUSTER / VACUUM
 *		FULL copy read the table with heap_getnext, which insists on
 *		heapam's own routine; they run with the relation lent to heapam
 *		(rd_tableam pointed at heapam's routine) for the duration, and a
 *		relcache callback lends it again if an invalidation rebuilds the
 *		entry mid-scan (HeapLoan, below).  The index build callback is
 *		wrapped to decode vector index values; the rewrite keeps tuples in
 *		their tier form (so the new file is as compact as the tiers make
 *		it) and marks them with RV_HEAP_ENCODED afterwards, since heap's
 *		rewrite re-forms headers.
 *
 *		Why lending is safe: heapam's three functions use the relation's
 *		routine only for heap_getnext's check, to make slots (the same
 *		slot callbacks in both routines) and, in the CLUSTER copy, to scan
 *		the old table - through heap's scan, which returns the stored
 *		form, as the rewrite wants; our callbacks that differ
 *		(decoding, access notes, MAIN storage) are not needed there - the
 *		build callback decodes index values itself, validation inserts rows
 *		written during the build (hot, as no tier move can run meanwhile),
 *		and the rewrite wants tuples in their stored form.  Nothing else
 *		sees the relation meanwhile: the callers hold ShareLock,
 *		ShareUpdateExclusiveLock or AccessExclusiveLock, and other backends
 *		have their own relcache entries.
 *	  - TOAST tables of ruvector_heap tables are plain heap.
 *
 *	  Locks: no lock beyond heapam's, except the exclusive buffer lock of
 *	  the rewrite marking pass, taken on pages of the new relation file that
 *	  no other backend can see yet.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/detoast.h"
#include "access/heaptoast.h"
#include "access/toast_compression.h"
#include "access/relation.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_am.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "tableam/tableam.h"
#include "tier/tier.h"
#include "tableam/rvheap_wal.h"
#include "io/rvio.h"

PG_FUNCTION_INFO_V1(ruvector_heap_handler);

static TableAmRoutine rvheap_methods;
static const TableAmRoutine *heap;

/* ------------------------------------------------------------------------
 * Scans: heapam's, then note the read and decode encoded tuples.
 * ------------------------------------------------------------------------
 */

/* found, as heapam returned it; the slot it filled, decoded if need be */
static inline bool
Returned(Relation rel, TupleTableSlot *slot, bool found)
{
	if (found)
		RvHeapCheckSlot(rel, slot);
	return found;
}

/*
 * Read-ahead of serial sequential scans (io/rvio.h): when a scan enters a
 * block less than half a window before the end of what it asked for, the
 * next RV_SCAN_AHEAD blocks are handed to RvIoPrefetch (io_uring,
 * PrefetchBuffer or nothing, per ruvector.io_method).  The state is a few
 * backend-local slots keyed by scan (a backend runs few scans at once; a
 * scan that finds its slot taken simply reads ahead less), cleared at the
 * scan's end and rescan.  The per-tuple cost is one compare of the current
 * block with the last one seen.  Parallel scans are left alone (blocks are
 * handed out by the leader), as are scans going backwards.
 */
#define RV_SCAN_AHEAD		32
#define RV_SCAN_SLOTS		8

/*
 * ruvector.seqscan_read_ahead: off by default.  Measured on the test
 * machine (bench/tier/tier_worker.sh, bench/RESULTS.md), the kernel's own
 * sequential read-ahead beats 8 kB requests issued ahead, by fadvise or
 * io_uring, on a cold sequential scan; it is kept for devices or
 * file systems where it does not (network storage, small read_ahead_kb).
 */
bool		rv_seqscan_read_ahead = false;

typedef struct RvScanAhead
{
	TableScanDesc scan;
	BlockNumber last;			/* last block seen */
	BlockNumber upto;			/* first block not asked for */
} RvScanAhead;

static RvScanAhead rv_scan_ahead[RV_SCAN_SLOTS];

static RvScanAhead *
ScanAheadSlot(TableScanDesc sscan)
{
	return &rv_scan_ahead[((uintptr_t) sscan >> 4) % RV_SCAN_SLOTS];
}

static void
ScanReadAhead(TableScanDesc sscan)
{
	HeapScanDesc hs = (HeapScanDesc) sscan;
	RvScanAhead *a;
	BlockNumber cur = hs->rs_cblock;
	BlockNumber blocks[RV_SCAN_AHEAD];
	BlockNumber end;
	int			n = 0;

	if (!BlockNumberIsValid(cur))
		return;
	a = ScanAheadSlot(sscan);
	if (a->scan == sscan && a->last == cur)
		return;
	if (sscan->rs_parallel != NULL || !(sscan->rs_flags & SO_TYPE_SEQSCAN))
		return;
	if (a->scan != sscan || cur < a->last)
	{
		a->scan = sscan;
		a->upto = cur + 1;
	}
	a->last = cur;
	if (a->upto > cur + RV_SCAN_AHEAD / 2 || a->upto >= hs->rs_nblocks)
		return;
	end = Min(cur + 1 + RV_SCAN_AHEAD, hs->rs_nblocks);
	for (BlockNumber b = Max(a->upto, cur + 1); b < end; b++)
		blocks[n++] = b;
	a->upto = end;
	RvIoPrefetch(sscan->rs_rd, MAIN_FORKNUM, blocks, n);
}

static void
rvheap_endscan(TableScanDesc sscan)
{
	RvScanAhead *a = ScanAheadSlot(sscan);

	if (a->scan == sscan)
		a->scan = NULL;
	heap->scan_end(sscan);
}

static void
rvheap_rescan(TableScanDesc sscan, ScanKey key, bool set_params,
			  bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	RvScanAhead *a = ScanAheadSlot(sscan);

	if (a->scan == sscan)
		a->scan = NULL;
	heap->scan_rescan(sscan, key, set_params, allow_strat, allow_sync, allow_pagemode);
}

static bool
rvheap_getnextslot(TableScanDesc sscan, ScanDirection direction,
				   TupleTableSlot *slot)
{
	bool		found = heap_getnextslot(sscan, direction, slot);

	if (found && rv_seqscan_read_ahead && ScanDirectionIsForward(direction))
		ScanReadAhead(sscan);
	return Returned(sscan->rs_rd, slot, found);
}

static bool
rvheap_getnextslot_tidrange(TableScanDesc sscan, ScanDirection direction,
							TupleTableSlot *slot)
{
	return Returned(sscan->rs_rd, slot,
					heap_getnextslot_tidrange(sscan, direction, slot));
}

static bool
rvheap_index_fetch_tuple(IndexFetchTableData *scan, ItemPointer tid,
						 Snapshot snapshot, TupleTableSlot *slot,
						 bool *call_again, bool *all_dead)
{
	if (!heap->index_fetch_tuple(scan, tid, snapshot, slot, call_again, all_dead))
		return false;
	RvTierNoteRead(scan->rel, ItemPointerGetBlockNumber(tid));
	RvHeapCheckSlot(scan->rel, slot);
	return true;
}

static bool
rvheap_scan_bitmap_next_tuple(TableScanDesc sscan, TBMIterateResult *tbmres,
							  TupleTableSlot *slot)
{
	if (!heap->scan_bitmap_next_tuple(sscan, tbmres, slot))
		return false;
	RvTierNoteRead(sscan->rs_rd, ((HeapScanDesc) sscan)->rs_cblock);
	RvHeapCheckSlot(sscan->rs_rd, slot);
	return true;
}

static bool
rvheap_scan_sample_next_tuple(TableScanDesc sscan, SampleScanState *scanstate,
							  TupleTableSlot *slot)
{
	return Returned(sscan->rs_rd, slot,
					heap->scan_sample_next_tuple(sscan, scanstate, slot));
}

/* ANALYZE samples are not reads by users: no access is noted. */
static bool
rvheap_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
							   double *liverows, double *deadrows,
							   TupleTableSlot *slot)
{
	return Returned(sscan->rs_rd, slot,
					heap->scan_analyze_next_tuple(sscan, OldestXmin, liverows,
												  deadrows, slot));
}

/* ------------------------------------------------------------------------
 * Non-modifying operations on individual tuples.
 * ------------------------------------------------------------------------
 */

static bool
rvheap_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
						 TupleTableSlot *slot)
{
	if (!heap->tuple_fetch_row_version(rel, tid, snapshot, slot))
		return false;
	RvTierNoteRead(rel, ItemPointerGetBlockNumber(tid));
	RvHeapCheckSlot(rel, slot);
	return true;
}

/*
 * A decoded slot holds a copy and no buffer pin; ask the stored version,
 * by TID, whether it is visible.
 */
static bool
rvheap_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
								Snapshot snapshot)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	HeapTupleData tuple;
	Buffer		buffer;
	bool		visible;

	if (BufferIsValid(bslot->buffer))
		return heap->tuple_satisfies_snapshot(rel, slot, snapshot);

	tuple.t_self = slot->tts_tid;
	visible = heap_fetch(rel, snapshot, &tuple, &buffer, false);
	if (BufferIsValid(buffer))
		ReleaseBuffer(buffer);
	return visible;
}

static TM_Result
rvheap_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
				  TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				  LockWaitPolicy wait_policy, uint8 flags,
				  TM_FailureData *tmfd)
{
	TM_Result	result = heap->tuple_lock(rel, tid, snapshot, slot, cid, mode,
										  wait_policy, flags, tmfd);

	if (!TTS_EMPTY(slot))
		RvHeapCheckSlot(rel, slot);
	return result;
}

/* ------------------------------------------------------------------------
 * Writes: vectors stay inline; the block is noted as written.
 * ------------------------------------------------------------------------
 */

/* Whether heap sends this tuple to the toaster and some vector column's
 * catalog entry must be overridden for it (RvInlineOverridden). */
static bool
NeedsInline(Relation rel, HeapTuple tuple)
{
	if (!HeapTupleHasExternal(tuple) && tuple->t_len <= TOAST_TUPLE_THRESHOLD)
		return false;
	return RvGetRelInfo(rel)->ninline > 0;
}

/*
 * Whether the tuple would not fit a page with its vector columns that are
 * stored as they are (RvInlineNone) kept inline uncompressed: those may
 * hold out-of-line values the toaster would fetch back inline.
 */
static bool
InlineOversize(Relation rel, HeapTuple tuple)
{
	RvRelInfo	info = RvGetRelInfo(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	Size		len = tuple->t_len;

	for (int i = 0; i < info->ninline && HeapTupleHasExternal(tuple); i++)
	{
		AttrNumber	attnum = RvRelInfoInline(info, i);
		bool		isnull;
		Datum		d;

		if (!RvInlineNone(TupleDescAttr(desc, attnum - 1)))
			continue;
		d = heap_getattr(tuple, attnum, desc, &isnull);
		if (!isnull && VARATT_IS_EXTERNAL(DatumGetPointer(d)))
			len += toast_raw_datum_size(d) - VARSIZE_ANY(DatumGetPointer(d));
	}
	return MAXALIGN(len) > MaxHeapTupleSize;
}

/*
 * Run fn(arg) with the relation's vector and halfvec columns as the
 * toaster must see them, in its relcache descriptor, which is what heap's
 * toaster reads (rvheap_inline.c): EXTENDED as MAIN, so they leave the
 * page only if the row cannot fit; EXTERNAL and PLAIN (the column's
 * choice: no compression) as PLAIN, or as MAIN when the row is oversize,
 * so that it is compressed or moved out rather than refused; an undecided
 * column compressed with lz4 where the server has it.  The descriptor is restored on every
 * exit; if the relcache rebuilds the entry meanwhile, the old descriptor
 * stays allocated to the end of the transaction, so restoring it is
 * harmless.
 */
static void
WithVectorsInline(Relation rel, void (*fn) (void *), void *arg, bool oversize)
{
	RvRelInfo	info = RvGetRelInfo(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	int			n = info->ninline;
	AttrNumber *atts = palloc(sizeof(AttrNumber) * n);
	char	   *saved = palloc(2 * n);

	/* Copy: rd_amcache may be freed by a relcache rebuild inside fn. */
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att;

		atts[i] = RvRelInfoInline(info, i);
		att = TupleDescAttr(desc, atts[i] - 1);
		saved[2 * i] = att->attstorage;
		saved[2 * i + 1] = att->attcompression;
		att->attstorage = RvInlineNone(att) && !oversize ? TYPSTORAGE_PLAIN : TYPSTORAGE_MAIN;
#ifdef USE_LZ4
		if (att->attstorage == TYPSTORAGE_MAIN &&
			att->attcompression == InvalidCompressionMethod)
			att->attcompression = TOAST_LZ4_COMPRESSION;
#endif
	}
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		for (int i = 0; i < n; i++)
		{
			TupleDescAttr(desc, atts[i] - 1)->attstorage = saved[2 * i];
			TupleDescAttr(desc, atts[i] - 1)->attcompression = saved[2 * i + 1];
		}
	}
	PG_END_TRY();
	pfree(atts);
	pfree(saved);
}

typedef struct InsertArgs
{
	Relation	rel;
	HeapTuple	tuple;
	CommandId	cid;
	int			options;
	BulkInsertState bistate;
} InsertArgs;

static void
DoInsert(void *arg)
{
	InsertArgs *a = (InsertArgs *) arg;

	heap_insert(a->rel, a->tuple, a->cid, a->options, a->bistate);
}

/* Insert one slot; speculative inserts pass their token. */
static void
InsertSlot(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
		   BulkInsertState bistate, bool speculative, uint32 token)
{
	bool		shouldFree = true;
	HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, true, &shouldFree);
	InsertArgs	args = {rel, tuple, cid, options, bistate};

	slot->tts_tableOid = RelationGetRelid(rel);
	tuple->t_tableOid = slot->tts_tableOid;
	if (speculative)
	{
		HeapTupleHeaderSetSpeculativeToken(tuple->t_data, token);
		args.options |= HEAP_INSERT_SPECULATIVE;
	}

	if (NeedsInline(rel, tuple))
		WithVectorsInline(rel, DoInsert, &args, InlineOversize(rel, tuple));
	else
		DoInsert(&args);

	ItemPointerCopy(&tuple->t_self, &slot->tts_tid);
	RvTierNoteWrite(rel, ItemPointerGetBlockNumber(&slot->tts_tid));
	if (shouldFree)
		pfree(tuple);
}

static void
rvheap_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					int options, BulkInsertState bistate)
{
	InsertSlot(rel, slot, cid, options, bistate, false, 0);
}

static void
rvheap_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
								CommandId cid, int options,
								BulkInsertState bistate, uint32 specToken)
{
	InsertSlot(rel, slot, cid, options, bistate, true, specToken);
}

typedef struct MultiInsertArgs
{
	Relation	rel;
	TupleTableSlot **slots;
	int			nslots;
	CommandId	cid;
	int			options;
	BulkInsertState bistate;
} MultiInsertArgs;

static void
DoMultiInsert(void *arg)
{
	MultiInsertArgs *a = (MultiInsertArgs *) arg;

	heap_multi_insert(a->rel, a->slots, a->nslots, a->cid, a->options, a->bistate);
}

static void
rvheap_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
					CommandId cid, int options, BulkInsertState bistate)
{
	MultiInsertArgs args = {rel, slots, nslots, cid, options, bistate};
	bool		inline_needed = false;
	bool		oversize = false;
	BlockNumber last = InvalidBlockNumber;

	/*
	 * Materializing here is no extra work: heap_multi_insert fetches the
	 * same (now materialized) tuples.  One oversize row (rare: a vector
	 * column holds up to 2,000 dimensions in a page) lets the toaster
	 * compress the PLAIN columns of the whole batch.
	 */
	if (RvGetRelInfo(rel)->ninline > 0)
		for (int i = 0; i < nslots && !oversize; i++)
		{
			HeapTuple	tuple = ExecFetchSlotHeapTuple(slots[i], true, NULL);

			if (NeedsInline(rel, tuple))
			{
				inline_needed = true;
				oversize = InlineOversize(rel, tuple);
			}
		}

	if (inline_needed)
		WithVectorsInline(rel, DoMultiInsert, &args, oversize);
	else
		DoMultiInsert(&args);

	for (int i = 0; i < nslots; i++)
	{
		BlockNumber blk = ItemPointerGetBlockNumber(&slots[i]->tts_tid);

		if (blk != last)
			RvTierNoteWrite(rel, blk);
		last = blk;
	}
}

typedef struct UpdateArgs
{
	Relation	rel;
	ItemPointer otid;
	HeapTuple	tuple;
	CommandId	cid;
	Snapshot	crosscheck;
	bool		wait;
	TM_FailureData *tmfd;
	LockTupleMode *lockmode;
	TM_Result	result;
} UpdateArgs;

static void
DoUpdate(void *arg)
{
	UpdateArgs *a = (UpdateArgs *) arg;

	a->result = heap_update(a->rel, a->otid, a->tuple, a->cid, a->crosscheck,
							a->wait, a->tmfd, a->lockmode);
}

static TM_Result
rvheap_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
					CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					bool wait, TM_FailureData *tmfd,
					LockTupleMode *lockmode, bool *update_indexes)
{
	bool		shouldFree = true;
	HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, true, &shouldFree);
	UpdateArgs	args = {rel, otid, tuple, cid, crosscheck, wait, tmfd, lockmode, TM_Ok};
	BlockNumber oldblk = ItemPointerGetBlockNumber(otid);

	slot->tts_tableOid = RelationGetRelid(rel);
	tuple->t_tableOid = slot->tts_tableOid;

	if (NeedsInline(rel, tuple))
		WithVectorsInline(rel, DoUpdate, &args, InlineOversize(rel, tuple));
	else
		DoUpdate(&args);

	ItemPointerCopy(&tuple->t_self, &slot->tts_tid);
	/* A heap-only tuple needs no new index entries. */
	*update_indexes = args.result == TM_Ok && !HeapTupleIsHeapOnly(tuple);
	if (args.result == TM_Ok)
	{
		RvTierNoteWrite(rel, oldblk);
		if (ItemPointerGetBlockNumber(&slot->tts_tid) != oldblk)
			RvTierNoteWrite(rel, ItemPointerGetBlockNumber(&slot->tts_tid));
	}
	if (shouldFree)
		pfree(tuple);
	return args.result;
}

static TM_Result
rvheap_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
					Snapshot snapshot, Snapshot crosscheck, bool wait,
					TM_FailureData *tmfd, bool changingPart)
{
	TM_Result	result = heap->tuple_delete(rel, tid, cid, snapshot, crosscheck,
											wait, tmfd, changingPart);

	if (result == TM_Ok)
		RvTierNoteWrite(rel, ItemPointerGetBlockNumber(tid));
	return result;
}

/* ------------------------------------------------------------------------
 * DDL.
 * ------------------------------------------------------------------------
 */

/*
 * heapam's, and for a relation being created (its pg_class row does not
 * exist yet; this descriptor is what heap_create_with_catalog writes to
 * pg_attribute next) MAIN storage for vector and halfvec columns whose
 * type default would let heap move them out of line.
 */
static void
rvheap_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
								 char persistence, TransactionId *freezeXid,
								 MultiXactId *minmulti)
{
	heap->relation_set_new_filenode(rel, newrnode, persistence, freezeXid, minmulti);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(RelationGetRelid(rel))))
	{
		RvRelInfo	info = RvGetRelInfo(rel);
		TupleDesc	desc = RelationGetDescr(rel);

		for (int i = 0; i < info->ninline; i++)
			TupleDescAttr(desc, RvRelInfoInline(info, i) - 1)->attstorage = TYPSTORAGE_MAIN;
		/* The cached list of movable columns is now stale. */
		pfree(rel->rd_amcache);
		rel->rd_amcache = NULL;
	}
}

/* TOAST chunks are not vectors: TOAST tables are plain heap. */
static Oid
rvheap_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

/*
 * Mark the tuples of a freshly rewritten relation that hold encoded
 * vectors (heap's rewrite re-formed their headers without our bit).  The
 * relation is new and invisible to other backends.
 */
static void
MarkRewrittenTuples(Relation rel)
{
	RvRelInfo	info = RvGetRelInfo(rel);
	BlockNumber nblocks;
	BufferAccessStrategy strategy;
	OffsetNumber *marks;

	if (info->nvector == 0)
		return;
	nblocks = RelationGetNumberOfBlocks(rel);
	strategy = GetAccessStrategy(BAS_BULKREAD);
	marks = palloc(sizeof(OffsetNumber) * MaxHeapTuplesPerPage);

	for (BlockNumber blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		Page		page;
		OffsetNumber maxoff;
		int			nmarks = 0;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			HeapTupleData tup;

			if (!RvHeapPageTuple(rel, page, blk, off, &tup))
				continue;
			if (!(tup.t_data->t_infomask2 & RV_HEAP_ENCODED) &&
				RvHeapTupleHasEncoded(rel, info, &tup))
				marks[nmarks++] = off;
		}

		if (nmarks > 0)
		{
			START_CRIT_SECTION();
			for (int i = 0; i < nmarks; i++)
			{
				HeapTupleHeader th = (HeapTupleHeader) PageGetItem(page, PageGetItemId(page, marks[i]));

				th->t_infomask2 |= RV_HEAP_ENCODED;
			}
			MarkBufferDirty(buf);
			if (RelationNeedsWAL(rel))
				log_newpage_buffer(buf, true);
			END_CRIT_SECTION();
		}
		UnlockReleaseBuffer(buf);
	}
	pfree(marks);
	FreeAccessStrategy(strategy);
}

/*
 * heapam's index build, validation and CLUSTER copy scan the table with
 * heap_getnext, which refuses any relation whose rd_tableam is not heapam's
 * routine.  They run with the relation lent to heapam: rd_tableam pointed at
 * heapam's routine for the duration of the call (BorrowForHeap), and ours
 * put back on the way out, error or not (ReturnFromHeap).
 *
 * A relcache invalidation accepted in the middle of the scan - whenever the
 * scan or a function it calls takes a lock it does not hold yet: a TOAST
 * fetch, a codebook lookup, an index expression, a GRANT committed by
 * another session meanwhile - rebuilds the relation's entry in place, and
 * the rebuilt entry has our routine again: heap_getnext would then refuse
 * the index build's and validation's scan, and the CLUSTER copy, which
 * reads through the routine, would get our decoding scan and write the rest
 * of the table decoded.  The relcache callback below runs
 * right after such a rebuild, before control returns to the scan, and lends
 * the relation to heapam again.  The Relation pointer stays valid
 * throughout: the caller holds a reference, and an entry with references
 * is rebuilt in place, never freed.  test/t/406_tableam_relcache.pl forces
 * this during CREATE INDEX, CREATE INDEX CONCURRENTLY and CLUSTER.
 */
typedef struct HeapLoan
{
	Relation	rel;
	const TableAmRoutine *ours;
	struct HeapLoan *prev;		/* an outer loan, if calls nest */
} HeapLoan;

static HeapLoan *heap_loans = NULL;
static bool heap_loan_callback = false;

static void
HeapLoanRelcacheCallback(Datum arg, Oid relid)
{
	for (HeapLoan *loan = heap_loans; loan != NULL; loan = loan->prev)
		if (!OidIsValid(relid) || RelationGetRelid(loan->rel) == relid)
			loan->rel->rd_tableam = heap;
}

static void
BorrowForHeap(Relation rel, HeapLoan *loan)
{
	if (!heap_loan_callback)
	{
		CacheRegisterRelcacheCallback(HeapLoanRelcacheCallback, (Datum) 0);
		heap_loan_callback = true;
	}
	loan->rel = rel;
	loan->ours = rel->rd_tableam;
	loan->prev = heap_loans;
	heap_loans = loan;
	rel->rd_tableam = heap;
}

static void
ReturnFromHeap(HeapLoan *loan)
{
	Assert(heap_loans == loan);
	heap_loans = loan->prev;
	loan->rel->rd_tableam = loan->ours;
}

static void
rvheap_relation_copy_for_cluster(Relation OldHeap, Relation NewHeap,
								 Relation OldIndex, bool use_sort,
								 TransactionId OldestXmin,
								 TransactionId *xid_cutoff,
								 MultiXactId *multi_cutoff,
								 double *num_tuples,
								 double *tups_vacuumed,
								 double *tups_recently_dead)
{
	HeapLoan	loan;

	/*
	 * The new file's rows over the TOAST threshold go through the toaster
	 * with NewHeap's descriptor, MAIN for vectors (set at its creation).
	 * Where no method is set (undecided, or none: their values are stored
	 * as they are, never out of line, so can go through MAIN), lz4 fails
	 * or succeeds faster than pglz.  NewHeap is dropped after the copy.
	 */
#ifdef USE_LZ4
	{
		RvRelInfo	info = RvGetRelInfo(NewHeap);
		TupleDesc	desc = RelationGetDescr(NewHeap);

		for (int i = 0; i < info->ninline; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, RvRelInfoInline(info, i) - 1);

			if (att->attcompression == InvalidCompressionMethod)
				att->attcompression = TOAST_LZ4_COMPRESSION;
		}
	}
#endif

	/* heap_getnext checks for heapam's routine; tuples stay encoded. */
	BorrowForHeap(OldHeap, &loan);
	PG_TRY();
	{
		heap->relation_copy_for_cluster(OldHeap, NewHeap, OldIndex, use_sort,
										OldestXmin, xid_cutoff, multi_cutoff,
										num_tuples, tups_vacuumed,
										tups_recently_dead);
	}
	PG_FINALLY();
	{
		ReturnFromHeap(&loan);
	}
	PG_END_TRY();
	MarkRewrittenTuples(NewHeap);
}

/* The index build callback, wrapped to decode vector index values. */
typedef struct BuildWrap
{
	IndexBuildCallback callback;
	void	   *state;
	int			natts;
	bool		isvec[INDEX_MAX_KEYS];
} BuildWrap;

static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *arg)
{
	BuildWrap  *w = (BuildWrap *) arg;
	Datum		decoded[INDEX_MAX_KEYS];
	bool		any = false;

	for (int i = 0; i < w->natts; i++)
	{
		int			tier;

		decoded[i] = values[i];
		if (w->isvec[i] && !isnull[i] && RvDatumIsEncoded(values[i], &tier))
		{
			decoded[i] = PointerGetDatum(RvTierDecode((Vector *) PG_DETOAST_DATUM(values[i])));
			any = true;
		}
	}
	if (!any)
	{
		w->callback(index, tid, values, isnull, tupleIsAlive, w->state);
		return;
	}
	w->callback(index, tid, decoded, isnull, tupleIsAlive, w->state);
	for (int i = 0; i < w->natts; i++)
		if (decoded[i] != values[i])
			pfree(DatumGetPointer(decoded[i]));
}

/* Which index columns hold vectors (plain columns and expressions). */
static pg_noinline bool
FindVectorIndexColumns(Relation rel, IndexInfo *ii, BuildWrap *w)
{
	ListCell   *expr = list_head(ii->ii_Expressions);
	Oid			vecoid = RvVectorTypeOid();
	bool		any = false;

	w->natts = ii->ii_NumIndexAttrs;
	for (int i = 0; i < ii->ii_NumIndexAttrs; i++)
	{
		AttrNumber	attnum = ii->ii_IndexAttrNumbers[i];
		Oid			typid;

		if (attnum > 0)
			typid = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid;
		else if (attnum == 0 && expr != NULL)
		{
			typid = exprType((Node *) lfirst(expr));
			expr = lnext(ii->ii_Expressions, expr);
		}
		else
			typid = InvalidOid;
		w->isvec[i] = typid == vecoid;
		any |= w->isvec[i];
	}
	return any;
}

static double
rvheap_index_build_range_scan(Relation rel, Relation index, IndexInfo *ii,
							  bool allow_sync, bool anyvisible, bool progress,
							  BlockNumber start_blockno, BlockNumber numblocks,
							  IndexBuildCallback callback, void *callback_state,
							  TableScanDesc scan)
{
	HeapLoan	loan;
	BuildWrap	w;
	bool		wrap;
	double		result = 0;

	w.callback = callback;
	w.state = callback_state;
	wrap = FindVectorIndexColumns(rel, ii, &w);

	BorrowForHeap(rel, &loan);
	PG_TRY();
	{
		result = heap->index_build_range_scan(rel, index, ii, allow_sync,
											  anyvisible, progress,
											  start_blockno, numblocks,
											  wrap ? BuildCallback : w.callback,
											  wrap ? (void *) &w : w.state,
											  scan);
	}
	PG_FINALLY();
	{
		ReturnFromHeap(&loan);
	}
	PG_END_TRY();
	return result;
}

/*
 * CREATE INDEX CONCURRENTLY's validation inserts the rows that arrived
 * during the build: rows written since, hence hot (a tier move cannot run
 * meanwhile: both hold ShareUpdateExclusiveLock).  Vector values in
 * expressions are decoded by DatumGetVector.
 */
static void
rvheap_index_validate_scan(Relation rel, Relation index, IndexInfo *ii,
						   Snapshot snapshot, ValidateIndexState *state)
{
	HeapLoan	loan;

	BorrowForHeap(rel, &loan);
	PG_TRY();
	{
		heap->index_validate_scan(rel, index, ii, snapshot, state);
	}
	PG_FINALLY();
	{
		ReturnFromHeap(&loan);
	}
	PG_END_TRY();
}

/* ------------------------------------------------------------------------
 * Definition of the ruvector_heap table access method.
 * ------------------------------------------------------------------------
 */

/* Fill the routine once: heapam's, with the overrides above. */
static void
InitRoutine(void)
{
	heap = GetHeapamTableAmRoutine();
	rvheap_methods = *heap;

	rvheap_methods.scan_getnextslot = rvheap_getnextslot;
	rvheap_methods.scan_end = rvheap_endscan;
	rvheap_methods.scan_rescan = rvheap_rescan;
	rvheap_methods.scan_getnextslot_tidrange = rvheap_getnextslot_tidrange;
	rvheap_methods.index_fetch_tuple = rvheap_index_fetch_tuple;

	rvheap_methods.tuple_fetch_row_version = rvheap_fetch_row_version;
	rvheap_methods.tuple_satisfies_snapshot = rvheap_tuple_satisfies_snapshot;

	rvheap_methods.tuple_insert = rvheap_tuple_insert;
	rvheap_methods.tuple_insert_speculative = rvheap_tuple_insert_speculative;
	rvheap_methods.multi_insert = rvheap_multi_insert;
	rvheap_methods.tuple_delete = rvheap_tuple_delete;
	rvheap_methods.tuple_update = rvheap_tuple_update;
	rvheap_methods.tuple_lock = rvheap_tuple_lock;

	rvheap_methods.relation_set_new_filenode = rvheap_relation_set_new_filenode;
	rvheap_methods.relation_copy_for_cluster = rvheap_relation_copy_for_cluster;
	rvheap_methods.scan_analyze_next_tuple = rvheap_scan_analyze_next_tuple;
	rvheap_methods.index_build_range_scan = rvheap_index_build_range_scan;
	rvheap_methods.index_validate_scan = rvheap_index_validate_scan;

	rvheap_methods.relation_toast_am = rvheap_relation_toast_am;

	rvheap_methods.scan_bitmap_next_tuple = rvheap_scan_bitmap_next_tuple;
	rvheap_methods.scan_sample_next_tuple = rvheap_scan_sample_next_tuple;
}

/* The routine (server lifetime, as tableam.h requires). */
const TableAmRoutine *
RvHeapRoutine(void)
{
	if (heap == NULL)
		InitRoutine();
	return &rvheap_methods;
}

Datum
ruvector_heap_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(RvHeapRoutine());
}

/* Whether rel is a ruvector_heap table. */
bool
RvIsRuvectorHeap(Relation rel)
{
	return heap != NULL && rel->rd_tableam == &rvheap_methods;
}

/* Error unless rel is a table or materialized view using ruvector_heap. */
void
RvHeapCheckRelation(Relation rel, const char *what)
{
	if ((rel->rd_rel->relkind != RELKIND_RELATION &&
		 rel->rd_rel->relkind != RELKIND_MATVIEW) ||
		!RvIsRuvectorHeap(rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: \"%s\" is not a ruvector_heap table",
						what, RelationGetRelationName(rel)),
				 errhint("Create the table with USING ruvector_heap, or run ALTER TABLE ... SET ACCESS METHOD ruvector_heap.")));
}

/* What a relkind is, for "is not a table" errors. */
static const char *
RelkindWord(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "a view";
		case RELKIND_SEQUENCE:
			return "a sequence";
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return "an index";
		case RELKIND_FOREIGN_TABLE:
			return "a foreign table";
		case RELKIND_COMPOSITE_TYPE:
			return "a composite type";
		case RELKIND_TOASTVALUE:
			return "a TOAST table";
		default:
			return "another kind of relation";
	}
}

/*
 * Open relid for one of the extension's functions on a ruvector_heap table
 * (what names the function in errors).  Every refusal has its SQLSTATE:
 * no such relation (42P01, also for OID 0 and for a table dropped while
 * waiting for the lock), another kind of relation or another access
 * method (42809), missing rights (42501: the owner or a superuser when
 * owner is true, else SELECT).  Rights are checked before the lock is
 * taken, so a caller without them cannot queue behind, or block, the
 * owner's work; the kind is checked again once locked.
 */
Relation
RvHeapOpenChecked(Oid relid, LOCKMODE lockmode, const char *what, bool owner)
{
	char		relkind = get_rel_relkind(relid);
	char	   *name = get_rel_name(relid);
	Relation	rel;

	if (relkind == '\0' || name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: relation with OID %u does not exist", what, relid)));
	if (relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: \"%s\" is a partitioned table", what, name),
				 errhint("Call %s on each partition: tiers are kept per partition.", what)));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: \"%s\" is %s, not a ruvector_heap table",
						what, name, RelkindWord(relkind))));
	if (owner)
	{
		if (!pg_class_ownercheck(relid, GetUserId()))
			aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), name);
	}
	else
	{
		AclResult	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, get_relkind_objtype(relkind), name);
	}

	rel = try_relation_open(relid, lockmode);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: relation \"%s\" was dropped", what, name)));
	RvHeapCheckRelation(rel, what);
	if (RELATION_IS_OTHER_TEMP(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: cannot access temporary tables of other sessions", what)));
	return rel;
}

/*
 * _PG_init's entry point for the table AM and tiers: GUCs and the type
 * cache always; shared memory and the WAL resource manager only when
 * loaded through shared_preload_libraries.
 */
void
RvTableamInit(void)
{
	RvTierInstallDecodeHook();
	RvTypeCacheInit();
	RvTierInit();
	RvCompactInit();
	RvWalInit();
	DefineCustomBoolVariable("ruvector.seqscan_read_ahead",
							 "Sequential scans of ruvector_heap tables read the next blocks ahead (ruvector.io_method).",
							 "Off by default: the kernel's sequential read-ahead is usually faster.",
							 &rv_seqscan_read_ahead,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}
