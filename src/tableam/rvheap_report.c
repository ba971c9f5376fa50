/*-------------------------------------------------------------------------
 *
 * rvheap_report.c
 *	  What is where in a ruvector_heap table: ruvector_tier_report() (rows,
 *	  blocks, bytes and access times per tier) and ruvector_tier_verify()
 *	  (page and encoded-datum consistency).
 *
 * NOTES
 *	  Both read every block: each page is copied under a share lock (the
 *	  report also takes visibility decisions then, which may set hint
 *	  bits), and analysed after the lock is released, so codebook lookups
 *	  never happen under a buffer lock.
 *
 *	  Report: a row counts in the coldest tier among its vector values (a
 *	  table has usually one vector column); a block counts in the tier that
 *	  holds most of its visible vector values (ties go to the colder tier);
 *	  bytes are the stored sizes of the vector values (out-of-line values
 *	  count their TOAST size); the ratio is float32 bytes over stored
 *	  bytes.  Access times are those of the blocks in the tier, as tracked
 *	  in shared memory (NULL where nothing is tracked).
 *
 *	  Verify checks every line pointer and tuple, visible or not: page
 *	  header bounds, item bounds and overlaps, tuple header sizes, and for
 *	  each inline vector its size against its tag and dimension, PQ codes
 *	  against their codebook, and that tuples holding encoded vectors carry
 *	  RV_HEAP_ENCODED (otherwise scans would return them undecoded).  It
 *	  returns one row per problem; no rows means none was found.  (amcheck's
 *	  verify_heapam refuses non-heap access methods.)
 *
 *	  Space (ruvector_tier_space): the main fork's size, the bytes of the
 *	  tuples the snapshot sees, the free space inserts can use now (what
 *	  the free space map is told: PageGetHeapFreeSpace per page) and an
 *	  estimate of what VACUUM FULL or CLUSTER would return: the file less
 *	  the pages those tuples need when packed at the table's fillfactor
 *	  (each costs its MAXALIGNed length and a line pointer).  An estimate:
 *	  the rewrite also keeps recently dead versions, and packing leaves
 *	  some slack at page ends.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "io/rvio.h"
#include "tableam/tableam.h"
#include "tier/tier.h"

PG_FUNCTION_INFO_V1(ruvector_tier_report);
PG_FUNCTION_INFO_V1(ruvector_tier_verify);
PG_FUNCTION_INFO_V1(ruvector_tier_space);

typedef struct TierTotals
{
	int64		blocks;
	int64		rows;
	int64		bytes;
	int64		float32_bytes;
	TimestampTz oldest;
	TimestampTz newest;
} TierTotals;

/* Open rel for reading with the caller's SELECT right checked. */
static Relation
OpenForReport(Oid relid, const char *what)
{
	return RvHeapOpenChecked(relid, AccessShareLock, what, false);
}

/*
 * Copy block blkno into copy; with a snapshot, also mark in visible[] the
 * line pointers whose tuples it sees.  False for new or empty pages.
 */
static bool
CopyPage(Relation rel, BlockNumber blkno, BufferAccessStrategy strategy,
		 Snapshot snapshot, char *copy, bool *visible)
{
	Buffer		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
	Page		page;
	bool		ok;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	ok = !PageIsNew(page);
	if (ok && snapshot)
	{
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HeapTupleData tup;

			visible[off] = RvHeapPageTuple(rel, page, blkno, off, &tup) &&
				HeapTupleSatisfiesVisibility(&tup, snapshot, buf);
		}
	}
	if (ok)
		memcpy(copy, page, BLCKSZ);
	UnlockReleaseBuffer(buf);
	return ok;
}

/* The work on one page copy of a pass (WalkPages). */
typedef void (*PageWork) (Relation rel, BlockNumber blkno, Page page,
						  const bool *visible, void *arg);

/*
 * A pass over every page of a table, for a report: open it with the
 * caller's SELECT right checked (what names the function in errors), copy
 * each page that is not new or empty and run work on the copy, in a memory
 * context reset after each page.  With a snapshot, visible[] marks the
 * tuples it sees; without, visible is NULL.
 */
static void
WalkPages(Oid relid, const char *what, Snapshot snapshot, PageWork work, void *arg)
{
	Relation	rel = OpenForReport(relid, what);
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "ruvector_heap page pass",
											  ALLOCSET_DEFAULT_SIZES);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	PGAlignedBlock copy;
	bool		visible_buf[MaxHeapTuplesPerPage + 1];
	bool	   *visible = snapshot != NULL ? visible_buf : NULL;

	MemoryContextSetIdentifier(tmp, what);
	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (!CopyPage(rel, blkno, strategy, snapshot, copy.data, visible))
			continue;
		old = MemoryContextSwitchTo(tmp);
		work(rel, blkno, (Page) copy.data, visible, arg);
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
	}
	MemoryContextDelete(tmp);
	FreeAccessStrategy(strategy);
	table_close(rel, AccessShareLock);
}

/*
 * Bytes a float32 vector of dim takes in a tuple: heap gives values that
 * fit 127 bytes a one-byte header, so hot values compare at ratio 1.
 */
static int64
StoredFloat32Size(int dim)
{
	Size		size = VECTOR_SIZE(dim);

	return size - VARHDRSZ + VARHDRSZ_SHORT <= VARATT_SHORT_MAX ?
		size - VARHDRSZ + VARHDRSZ_SHORT : size;
}

/*
 * Tier, stored bytes and float32 bytes of one stored vector value.
 */
static int
ValueTier(Datum d, int64 *bytes, int64 *float32_bytes)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(d);
	Vector	   *v;
	int			tier;

	*bytes = toast_datum_size(d);
	if (VARATT_IS_EXTERNAL(p))
	{
		/* Out of line: always a float32 value written by an insert. */
		*float32_bytes = toast_raw_datum_size(d);
		return RV_TIER_FLOAT32;
	}
	v = (Vector *) PG_DETOAST_DATUM(d);
	tier = RvTierOfTag(v->unused);
	*float32_bytes = StoredFloat32Size(RvEncodedDim(v));
	if ((Pointer) v != DatumGetPointer(d))
		pfree(v);
	return tier >= 0 && tier < RV_TIER_COUNT ? tier : RV_TIER_FLOAT32;
}

/* Add one page's visible rows to the totals. */
static void
ReportPage(Relation rel, BlockNumber blkno, Page page, const bool *visible,
		   void *arg)
{
	TierTotals *totals = (TierTotals *) arg;
	TupleDesc	desc = RelationGetDescr(rel);
	RvRelInfo	info = RvGetRelInfo(rel);
	int64		count[RV_TIER_COUNT] = {0};
	int			best = -1;
	RvBlockAccess acc;
	TimestampTz last;

	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HeapTupleData tup;
		int			coldest = -1;

		if (!visible[off])
			continue;
		tup.t_data = (HeapTupleHeader) PageGetItem(page, PageGetItemId(page, off));
		tup.t_len = ItemIdGetLength(PageGetItemId(page, off));
		for (int i = 0; i < info->nvector; i++)
		{
			bool		isnull;
			Datum		d = heap_getattr(&tup, RvRelInfoVector(info, i), desc, &isnull);
			int64		bytes,
						f32;
			int			tier;

			if (isnull)
				continue;
			tier = ValueTier(d, &bytes, &f32);
			totals[tier].bytes += bytes;
			totals[tier].float32_bytes += f32;
			count[tier]++;
			coldest = Max(coldest, tier);
		}
		if (coldest >= 0)
			totals[coldest].rows++;
	}

	for (int t = 0; t < RV_TIER_COUNT; t++)
		if (count[t] > 0 && (best < 0 || count[t] >= count[best]))
			best = t;
	if (best < 0)
		return;
	totals[best].blocks++;
	RvTierAccessGet(rel, blkno, &acc);
	last = Max(acc.last_read, acc.last_write);
	if (last != 0)
	{
		if (totals[best].oldest == 0 || last < totals[best].oldest)
			totals[best].oldest = last;
		totals[best].newest = Max(totals[best].newest, last);
	}
}

/*
 * ruvector_tier_report(table regclass) returns a row per tier: tier,
 * blocks, rows, vector_bytes, compression_ratio, oldest_access,
 * newest_access.
 */
Datum
ruvector_tier_report(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TierTotals	totals[RV_TIER_COUNT];

	InitMaterializedSRF(fcinfo, 0);
	memset(totals, 0, sizeof(totals));
	WalkPages(PG_GETARG_OID(0), "ruvector_tier_report", GetActiveSnapshot(),
			  ReportPage, totals);

	for (int t = 0; t < RV_TIER_COUNT; t++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = CStringGetTextDatum(RvTierName(t));
		values[1] = Int64GetDatum(totals[t].blocks);
		values[2] = Int64GetDatum(totals[t].rows);
		values[3] = Int64GetDatum(totals[t].bytes);
		/* rounded to 3 decimals: read in psql, not computed with */
		values[4] = Float8GetDatum(totals[t].bytes > 0 ?
								   round((double) totals[t].float32_bytes / totals[t].bytes * 1000.0) / 1000.0 : 0);
		nulls[4] = totals[t].bytes == 0;
		values[5] = TimestampTzGetDatum(totals[t].oldest);
		nulls[5] = totals[t].oldest == 0;
		values[6] = TimestampTzGetDatum(totals[t].newest);
		nulls[6] = totals[t].newest == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Collects verify problems. */
typedef struct VerifyOut
{
	ReturnSetInfo *rsinfo;
	BlockNumber blkno;
	int64		count;
} VerifyOut;

static void
Problem(VerifyOut *out, OffsetNumber off, const char *fmt,...) pg_attribute_printf(3, 4);

static void
Problem(VerifyOut *out, OffsetNumber off, const char *fmt,...)
{
	Datum		values[3];
	bool		nulls[3] = {0};
	StringInfoData msg;
	va_list		args;

	initStringInfo(&msg);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	values[0] = Int64GetDatum(out->blkno);
	values[1] = Int32GetDatum(off);
	nulls[1] = off == InvalidOffsetNumber;
	values[2] = CStringGetTextDatum(msg.data);
	tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
	out->count++;
}

/* Page header and line pointer bounds; false if the page is unreadable. */
static bool
VerifyLayout(VerifyOut *out, Page page)
{
	PageHeader	ph = (PageHeader) page;
	OffsetNumber maxoff;
	char		used[BLCKSZ];

	if (ph->pd_lower < SizeOfPageHeaderData || ph->pd_lower > ph->pd_upper ||
		ph->pd_upper > ph->pd_special || ph->pd_special > BLCKSZ ||
		ph->pd_special != MAXALIGN(ph->pd_special))
	{
		Problem(out, InvalidOffsetNumber, "page header bounds are inconsistent (lower %u, upper %u, special %u)",
				ph->pd_lower, ph->pd_upper, ph->pd_special);
		return false;
	}
	memset(used, 0, sizeof(used));
	maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		unsigned	start = ItemIdGetOffset(lp);
		unsigned	len = ItemIdGetLength(lp);

		if (!ItemIdHasStorage(lp) || ItemIdIsRedirected(lp))
			continue;
		if (start < ph->pd_upper || start + len > ph->pd_special || start != MAXALIGN(start))
		{
			Problem(out, off, "item at %u, length %u lies outside the tuple area", start, len);
			continue;
		}
		for (unsigned i = start; i < start + len; i++)
		{
			if (used[i])
			{
				Problem(out, off, "item at %u, length %u overlaps another item", start, len);
				break;
			}
			used[i] = 1;
		}
	}
	return true;
}

/* One stored vector value of a tuple. */
static void
VerifyVector(VerifyOut *out, OffsetNumber off, const char *attname, Datum d,
			 bool flagged)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(d);
	Vector	   *v;
	const char *problem;

	if (VARATT_IS_EXTERNAL(p))
		return;
	v = (Vector *) PG_DETOAST_DATUM(d);
	problem = RvTierCheckEncoded(v, VARSIZE(v));
	if (problem)
		Problem(out, off, "column \"%s\": %s", attname, problem);
	else if (v->unused != 0 && !flagged)
		Problem(out, off, "column \"%s\": %s value in a tuple not marked as encoded",
				attname, RvTierName(RvTierOfTag(v->unused)));
}

/* Every tuple of a page whose layout checked out. */
static void
VerifyTuples(VerifyOut *out, Relation rel, Page page)
{
	TupleDesc	desc = RelationGetDescr(rel);
	RvRelInfo	info = RvGetRelInfo(rel);

	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		HeapTupleData tup;
		int			natts;

		if (!ItemIdIsNormal(lp))
			continue;
		tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
		tup.t_len = ItemIdGetLength(lp);
		if (tup.t_len < SizeofHeapTupleHeader || tup.t_data->t_hoff > tup.t_len ||
			tup.t_data->t_hoff != MAXALIGN(tup.t_data->t_hoff))
		{
			Problem(out, off, "tuple header does not fit its item (length %u)", tup.t_len);
			continue;
		}
		natts = HeapTupleHeaderGetNatts(tup.t_data);
		if (natts > desc->natts)
		{
			Problem(out, off, "tuple has %d attributes, the table %d", natts, desc->natts);
			continue;
		}
		for (int i = 0; i < info->nvector; i++)
		{
			AttrNumber	attnum = RvRelInfoVector(info, i);
			bool		isnull;
			Datum		d;

			if (attnum > natts)
				continue;
			d = heap_getattr(&tup, attnum, desc, &isnull);
			if (!isnull)
				VerifyVector(out, off, NameStr(TupleDescAttr(desc, attnum - 1)->attname), d,
							 (tup.t_data->t_infomask2 & RV_HEAP_ENCODED) != 0);
		}
	}
}

/* Check one page copy: its layout, then, if that is sound, its tuples. */
static void
VerifyPage(Relation rel, BlockNumber blkno, Page page, const bool *visible,
		   void *arg)
{
	VerifyOut  *out = (VerifyOut *) arg;

	out->blkno = blkno;
	if (VerifyLayout(out, page))
		VerifyTuples(out, rel, page);
}

/*
 * ruvector_tier_verify(table regclass) returns (blkno, offnum, problem),
 * one row per problem found.
 */
Datum
ruvector_tier_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VerifyOut	out;

	InitMaterializedSRF(fcinfo, 0);
	out.rsinfo = rsinfo;
	out.count = 0;
	WalkPages(PG_GETARG_OID(0), "ruvector_tier_verify", NULL, VerifyPage, &out);
	return (Datum) 0;
}

/* ruvector_tier_space: totals over the pages */
typedef struct SpaceTotals
{
	int64		tuple_bytes;	/* visible tuples, as stored */
	int64		packed_bytes;	/* what a rewrite lays out for them */
	int64		free_bytes;
} SpaceTotals;

static void
SpacePage(Relation rel, BlockNumber blkno, Page page, const bool *visible,
		  void *arg)
{
	SpaceTotals *t = (SpaceTotals *) arg;

	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		ItemId		lp = PageGetItemId(page, off);

		if (!visible[off] || !ItemIdIsNormal(lp))
			continue;
		t->tuple_bytes += ItemIdGetLength(lp);
		t->packed_bytes += MAXALIGN(ItemIdGetLength(lp)) + sizeof(ItemIdData);
	}
	t->free_bytes += PageGetHeapFreeSpace(page);
}

/*
 * ruvector_tier_space(table regclass) returns (blocks, file_bytes,
 * tuple_bytes, free_bytes, reclaimable_bytes, read_ahead); see NOTES.
 * read_ahead is the method sequential scans and tier moves of this
 * backend use (io/rvio.h).
 */
Datum
ruvector_tier_space(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	SpaceTotals t;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {0};
	Relation	rel;
	BlockNumber nblocks;
	Size		room;
	int64		needed;

	memset(&t, 0, sizeof(t));
	WalkPages(relid, "ruvector_tier_space", GetActiveSnapshot(), SpacePage, &t);

	rel = table_open(relid, AccessShareLock);
	nblocks = RelationGetNumberOfBlocks(rel);
	room = BLCKSZ - SizeOfPageHeaderData -
		RelationGetTargetPageFreeSpace(rel, HEAP_DEFAULT_FILLFACTOR);
	table_close(rel, AccessShareLock);
	needed = (t.packed_bytes + room - 1) / room;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ruvector_tier_space must return a row");
	values[0] = Int64GetDatum((int64) nblocks);
	values[1] = Int64GetDatum((int64) nblocks * BLCKSZ);
	values[2] = Int64GetDatum(t.tuple_bytes);
	values[3] = Int64GetDatum(t.free_bytes);
	values[4] = Int64GetDatum(Max((int64) nblocks - needed, 0) * BLCKSZ);
	values[5] = CStringGetTextDatum(RvIoMethodName(RvIoMethodInUse(NULL)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
