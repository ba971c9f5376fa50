/*-------------------------------------------------------------------------
 *
 * ivfrefresh.c
 *	  IVFFlat centroid refresh: drift figures, ruvector_ivf_refresh() (new
 *	  centers and every row reassigned, online and crash-safe), recycling of
 *	  the replaced lists, and ruvector_ivf_stats().
 *
 * NOTES
 *	  Drift.  A build (and each refresh) sums, over the rows it writes, the
 *	  k-means distance (support proc 3: L2, angle as a chord, Hamming) from
 *	  each row to its list's center: the baseline, baseSum/baseCount in the
 *	  metapage.  Every insert adds its row's distance to insSum/insCount in
 *	  the metapage, in the same generic WAL record as the entry page it
 *	  writes (one more registered buffer; no extra record).  Drift is the
 *	  mean distance of all rows (baseline and inserted) over the baseline's
 *	  mean:
 *		  drift = ((baseSum + insSum) / (baseCount + insCount)) / (baseSum / baseCount)
 *	  so it weighs how far inserted rows are from their centers by how many
 *	  there are: 1 for an index whose inserts look like its build, rising
 *	  as rows unlike the build's arrive.  A few outliers barely move it.
 *	  It is NULL for a version 1 metapage (no baseline) and for an empty
 *	  index, and infinite for an index built empty that has rows since.
 *	  List size skew (largest list over the mean) is computed by
 *	  ruvector_ivf_stats from the pages.
 *
 *	  Refresh, in one call under ShareRowExclusiveLock on the index:
 *	  1. recycle the lists a previous refresh replaced, if nothing can
 *		 still read them (below);
 *	  2. sample the entries (reservoir, as a build samples the table) and
 *		 run k-means on them (ivfkmeans.c) with the build's fixed seed;
 *	  3. read every entry again and write it to its nearest new center's
 *		 chain, with the build's chain writer, into free pages or new ones,
 *		 each page WAL-logged as a full image as it is written; then the
 *		 new list pages;
 *	  4. switch: one generic WAL record replaces the metapage (new list
 *		 head, new baseline, inserted figures reset, refresh count and
 *		 time, the old list head kept for recycling).
 *	  Nothing reachable changes before step 4, so a crash (or an error)
 *	  before the switch leaves the old lists as they were, and the pages
 *	  written so far unreachable (they are not reused: see Limits).  After
 *	  the switch record is replayed every reader and writer uses the new
 *	  lists.  The row table is not read: entries hold their values.
 *
 *	  Locks.  ShareRowExclusiveLock on the index (AccessShareLock on its
 *	  table) for the whole refresh: it conflicts with RowExclusiveLock, which
 *	  the executor takes on every index of a table it inserts into or
 *	  updates, and which VACUUM takes on the indexes it cleans, and with
 *	  itself; it does not conflict with AccessShareLock, which scans take.
 *	  So readers keep working throughout, on the old lists (and on the new
 *	  ones once switched); inserts, updates and VACUUM of the table wait for
 *	  the refresh, so none is lost; two refreshes of one index never
 *	  overlap.  The refresh starts once every transaction that has written
 *	  to the table's indexes has ended.
 *
 *	  Recycling.  A scan reads the list head once, when it starts, and
 *	  holds AccessShareLock on the index until its transaction ends; scans
 *	  on a hot standby hold the same lock there.  The old lists' pages are
 *	  marked deleted only under AccessExclusiveLock on the index, taken
 *	  conditionally (never waited for, so readers are never queued behind
 *	  it), by the next VACUUM of the table or the next refresh.  Holding it
 *	  proves no scan on the primary can still read them, and its WAL record
 *	  makes a standby cancel (after max_standby_streaming_delay) the
 *	  queries that hold the index, before replaying the pages' reuse.
 *	  Pages are marked deleted (each in a generic WAL record, next pointer
 *	  kept), then the metapage forgets the old list head, that record is
 *	  flushed, and only then are they entered in the free space map (which
 *	  is not WAL-logged), so a recycle cut short by a crash walks the same
 *	  pages again and none of them can have been reused meanwhile; VACUUM
 *	  hands out deleted pages only while nothing is pending.  A later refresh that finds the previous
 *	  generation still pending links it behind the one it replaces (the old
 *	  last list page points at it, in the switch record), so any number of
 *	  generations wait in one chain.  Inserts and refreshes take deleted
 *	  pages from the free space map, checking under the page lock that they
 *	  are still deleted (the map is only a hint).
 *
 *	  Limits.  Inserts wait while a refresh runs (seconds for 100k rows).
 *	  Pages written by a refresh cut short are not reachable and not
 *	  deleted: they stay until REINDEX.  The index needs room for two
 *	  copies of its entries until the old one is recycled.
 *
 *	  Lock order: as ivfinsert.c; the switch locks the metapage, then one
 *	  list page of the old generation.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfrefresh.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/htup_details.h"
#include "access/xlog.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "indexam/ivfflat.h"
#include "audit/audit.h"
#include "integrity/integrity.h"
#include "indexam/indexam.h"

/* The build's seed: a refresh of the same rows gives the same lists */
#define IVF_REFRESH_SEED		UINT64CONST(0x5256494646)

int			ivf_refresh_test_fail_pages = 0;
bool		ivf_refresh_test_fail_panic = false;

PG_FUNCTION_INFO_V1(ruvector_ivf_refresh);
PG_FUNCTION_INFO_V1(ruvector_ivf_stats);

/* Registers the test-only settings of a refresh */
void
RvIvfRefreshInit(void)
{
	DefineCustomIntVariable("ruvector.ivf_refresh_test_fail_pages",
							"Test only: stops an ivfflat refresh after writing this many pages.",
							"0 turns it off.",
							&ivf_refresh_test_fail_pages,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("ruvector.ivf_refresh_test_fail_panic",
							 "Test only: the stop of ruvector.ivf_refresh_test_fail_pages is a PANIC (a crash), not an ERROR.",
							 NULL,
							 &ivf_refresh_test_fail_panic,
							 false,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
}

/* Called by the chain writer after each page a refresh writes */
void
IvfRefreshTestPoint(Relation index, BlockNumber pagesWritten)
{
	if (ivf_refresh_test_fail_pages > 0 &&
		pagesWritten >= (BlockNumber) ivf_refresh_test_fail_pages)
		ereport(ivf_refresh_test_fail_panic ? PANIC : ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("refresh of ivfflat index \"%s\" stopped after %u pages",
						RelationGetRelationName(index), pagesWritten),
				 errdetail("ruvector.ivf_refresh_test_fail_pages is %d.",
						   ivf_refresh_test_fail_pages)));
}

/* The drift figure of a metapage (see the file header); NaN if unknown */
double
IvfMetaDrift(const IvfMetaPageData *meta)
{
	double		base;
	double		all;

	if (meta->version == IVF_FORMAT_VERSION_V1)
		return NAN;
	if (meta->baseCount <= 0)
		return meta->insCount > 0 ? INFINITY : NAN;

	base = meta->baseSum / meta->baseCount;
	all = (meta->baseSum + meta->insSum) / (meta->baseCount + meta->insCount);
	if (!(base > 0))
		return all > 0 ? INFINITY : 1.0;
	return all / base;
}

/* ----------------------------------------------------------------
 *		Walking the lists
 * ----------------------------------------------------------------
 */

/* Called with a copy of each entry page of list (0-based), in chain order */
typedef void (*IvfPageVisitor) (Page page, int list, void *arg);

/*
 * Visits every entry page of the lists starting at listHead (lists of
 * them).  Each page is copied under a share lock, so the visitor holds no
 * lock.
 */
static void
IvfWalkEntries(Relation index, BlockNumber listHead, int lists,
			   IvfPageVisitor visit, void *arg)
{
	BlockNumber blkno = listHead;
	BlockNumber *starts = palloc(sizeof(BlockNumber) * lists);
	char	   *copy = palloc(BLCKSZ);
	int			n = 0;

	/* The list items first: no entry page is read with a list page locked */
	while (BlockNumberIsValid(blkno) && n < lists)
	{
		Buffer		buf;
		Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_SHARE, &buf);
		OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);

		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno && n < lists; offno++)
			starts[n++] = ((IvfList) PageGetItem(page, PageGetItemId(page, offno)))->startPage;
		blkno = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}

	for (int i = 0; i < n; i++)
	{
		blkno = starts[i];
		while (BlockNumberIsValid(blkno))
		{
			Buffer		buf;

			CHECK_FOR_INTERRUPTS();
			memcpy(copy, IvfReadLocked(index, blkno, BUFFER_LOCK_SHARE, &buf), BLCKSZ);
			UnlockReleaseBuffer(buf);

			visit((Page) copy, i, arg);
			blkno = IvfPageGetOpaque((Page) copy)->nextblkno;
		}
	}

	pfree(copy);
	pfree(starts);
}

/* ----------------------------------------------------------------
 *		Refresh
 * ----------------------------------------------------------------
 */

typedef struct IvfRefreshState
{
	Relation	index;
	IvfSupport	support;
	IvfMetaPageData meta;

	/* Sampling */
	IvfValueArray *samples;
	int			sampleTarget;
	double		seen;
	pg_prng_state prng;
	Size		memoryUsed;

	/* Reassignment */
	IvfValueArray *centers;
	const char **centerPtrs;
	float	   *distances;
	IvfChainWriter writer;
	char	   *scratch;
	char	   *decoded;		/* an entry's value, decoded from its code */
	IvfDriftSum drift;
	int64		entries;
} IvfRefreshState;

/*
 * Reservoir sampling of the entries of one page, as a build samples rows:
 * the t-th eligible entry replaces a random sample with probability
 * target / t.  For spherical k-means samples are normalised, and zero
 * vectors are not eligible.
 */
static void
SamplePage(Page page, int list, void *arg)
{
	IvfRefreshState *rs = (IvfRefreshState *) arg;
	IvfSupport *support = &rs->support;
	OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);

	for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
	{
		const char *value = IvfEntryValue(PageGetItem(page, PageGetItemId(page, offno)));
		char	   *slot;

		IvfDecodeEntry(support, value, rs->scratch);
		if (support->kmeansNormalize && !support->normalize &&
			!IvfNormalizeValue(support, rs->scratch))
			continue;

		if (rs->samples->length < rs->sampleTarget)
			slot = IvfValueArrayGet(rs->samples, rs->samples->length++);
		else
		{
			uint64		j = pg_prng_uint64_range(&rs->prng, 0, (uint64) rs->seen);

			slot = j < (uint64) rs->sampleTarget ?
				IvfValueArrayGet(rs->samples, (int) j) : NULL;
		}
		if (slot != NULL)
			memcpy(slot, rs->scratch, support->valueSize);
		rs->seen += 1;
	}
}

/* Writes the entries of one page to the chains of their nearest new center */
static void
ReassignPage(Page page, int list, void *arg)
{
	IvfRefreshState *rs = (IvfRefreshState *) arg;
	IvfSupport *support = &rs->support;
	OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);
	int			k = rs->centers->length;

	for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
	{
		ItemId		iid = PageGetItemId(page, offno);
		char	   *item = PageGetItem(page, iid);
		const char *value = IvfEntryValue(item);
		int			best = 0;
		float		d;

		/* Compact storage: the list by the decoded code; the code is kept */
		if (IvfIsCompact(support))
		{
			IvfDecodeEntry(support, value, rs->decoded);
			value = rs->decoded;
		}

		/* The nearest center by the ranking distance; ties to the first */
		IvfDistanceMany(support, support->distKind, support->distProc, value,
						rs->centerPtrs, k, rs->distances);
		for (int i = 1; i < k; i++)
		{
			if (rs->distances[i] < rs->distances[best])
				best = i;
		}

		IvfChainWriterAdd(&rs->writer, best, item, ItemIdGetLength(iid));
		d = IvfDriftDistance(support, value, rs->centerPtrs[best], rs->scratch);
		if (!isnan(d))
		{
			rs->drift.sum += d;
			rs->drift.count += 1;
		}
		rs->entries++;
	}
}

/* Samples the current entries and computes the new centers */
static void
RefreshCenters(IvfRefreshState *rs)
{
	int			lists = (int) rs->meta.lists;
	int64		target = Max((int64) lists * IVF_SAMPLES_PER_LIST, IVF_MIN_SAMPLES);

	rs->centers = IvfValueArrayCreate(lists, rs->support.valueSize);
	rs->memoryUsed = mul_size(lists, rs->centers->stride);
	rs->sampleTarget = (int) Min(target, INT_MAX);
	rs->memoryUsed = add_size(rs->memoryUsed, mul_size(rs->sampleTarget,
													   MAXALIGN(rs->support.valueSize)));
	IvfCheckMemory(rs->memoryUsed);
	rs->samples = IvfValueArrayCreate(rs->sampleTarget, rs->support.valueSize);
	rs->scratch = palloc(rs->support.valueSize);
	rs->decoded = palloc(rs->support.valueSize);
	rs->seen = 0;
	pg_prng_seed(&rs->prng, IVF_REFRESH_SEED);

	IvfWalkEntries(rs->index, rs->meta.listHead, lists, SamplePage, rs);
	IvfKmeans(&rs->support, rs->samples, rs->centers, rs->memoryUsed, &rs->prng);

	IvfValueArrayFree(rs->samples);
	rs->samples = NULL;
}

/* Writes a page image to buf (locked, not yet reachable), WAL-logged */
static void
WriteLoggedPage(Relation index, Buffer buf, const char *image)
{
	START_CRIT_SECTION();
	memcpy(BufferGetPage(buf), image, BLCKSZ);
	MarkBufferDirty(buf);
	if (RelationNeedsWAL(index))
		log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
}

/* A page with its own test point: the list pages and empty chains */
static void
WriteCountedPage(IvfRefreshState *rs, Buffer buf, const char *image)
{
	WriteLoggedPage(rs->index, buf, image);
	UnlockReleaseBuffer(buf);
	rs->writer.pagesWritten++;
	IvfRefreshTestPoint(rs->index, rs->writer.pagesWritten);
}

/*
 * Writes the new list pages (after every chain, so that each list item
 * gets its chain's first page) and returns the first one.  A list with no
 * entries gets an empty page.  Each page is allocated before the previous
 * one is written, so that it can point at it.
 */
static BlockNumber
WriteNewLists(IvfRefreshState *rs)
{
	IvfChainWriter *w = &rs->writer;
	Size		itemSize = IvfListItemSize(rs->support.valueSize);
	char	   *item = palloc0(itemSize);
	char	   *image = palloc(BLCKSZ);
	Buffer		buf = IvfNewOrFreeBuffer(rs->index);
	BlockNumber head = BufferGetBlockNumber(buf);

	IvfInitPage(image, BLCKSZ);
	for (int i = 0; i < w->lists; i++)
	{
		IvfList		list = (IvfList) item;

		if (!BlockNumberIsValid(w->heads[i]))
		{
			Buffer		ebuf = IvfNewOrFreeBuffer(rs->index);
			char	   *empty = palloc(BLCKSZ);

			IvfInitPage(empty, BLCKSZ);
			w->heads[i] = BufferGetBlockNumber(ebuf);
			WriteCountedPage(rs, ebuf, empty);
			pfree(empty);
		}

		/* The room left is at the chain's start: the last page written */
		list->startPage = w->heads[i];
		list->insertPage = w->heads[i];
		memcpy(IvfListCenter(item), IvfValueArrayGet(rs->centers, i), rs->support.valueSize);

		if (PageGetFreeSpace(image) < itemSize)
		{
			Buffer		next = IvfNewOrFreeBuffer(rs->index);

			IvfPageGetOpaque(image)->nextblkno = BufferGetBlockNumber(next);
			WriteCountedPage(rs, buf, image);
			buf = next;
			IvfInitPage(image, BLCKSZ);
		}
		if (PageAddItem(image, (Item) item, itemSize, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
			elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(rs->index));
	}
	WriteCountedPage(rs, buf, image);

	pfree(image);
	pfree(item);
	return head;
}

/* The last list page of the generation starting at listHead */
static BlockNumber
LastListPage(Relation index, BlockNumber listHead, int lists)
{
	BlockNumber blkno = listHead;
	int			n = 0;

	for (;;)
	{
		Buffer		buf;
		Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_SHARE, &buf);
		BlockNumber next;

		n += PageGetMaxOffsetNumber(page);
		next = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);

		/* Past the last list of a generation the chain goes on to older ones */
		if (!BlockNumberIsValid(next) || n >= lists)
			return blkno;
		blkno = next;
	}
}

/*
 * The switch: one WAL record makes the new lists the index's, keeps the
 * old ones for recycling (linking the generations still pending behind
 * them), and resets the drift figures to the new baseline.
 */
static void
SwitchLists(IvfRefreshState *rs, BlockNumber newHead)
{
	Relation	index = rs->index;
	BlockNumber oldHead = rs->meta.listHead;
	BlockNumber oldTail = InvalidBlockNumber;
	Buffer		metabuf;
	Buffer		tailbuf = InvalidBuffer;
	GenericXLogState *state;
	XLogRecPtr	switchLsn;
	IvfMetaPage meta;
	Page		page;

	if (BlockNumberIsValid(rs->meta.oldListHead))
	{
		oldTail = LastListPage(index, oldHead, (int) rs->meta.lists);
		tailbuf = ReadBuffer(index, oldTail);
	}

	metabuf = ReadBuffer(index, IVF_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	if (BufferIsValid(tailbuf))
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);

	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, metabuf, GENERIC_XLOG_FULL_IMAGE);
	meta = IvfPageGetMeta(page);
	IvfCheckMeta(index, meta);
	if (meta->version == IVF_FORMAT_VERSION_V1)
	{
		memset((char *) meta + IVF_META_V1_SIZE, 0, sizeof(IvfMetaPageData) - IVF_META_V1_SIZE);
		meta->oldListHead = InvalidBlockNumber;
		meta->version = IVF_FORMAT_VERSION;
		IvfSetMetaLower(page);
	}
	if (BufferIsValid(tailbuf))
	{
		Page		tail = GenericXLogRegisterBuffer(state, tailbuf, 0);

		IvfPageGetOpaque(tail)->nextblkno = meta->oldListHead;
	}
	meta->oldListHead = oldHead;
	meta->listHead = newHead;
	meta->refreshes++;
	meta->baseSum = rs->drift.sum;
	meta->baseCount = rs->drift.count;
	meta->insSum = 0;
	meta->insCount = 0;
	meta->lastRefresh = GetCurrentTimestamp();
	switchLsn = GenericXLogFinish(state);

	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	UnlockReleaseBuffer(metabuf);

	/*
	 * A refresh takes no transaction id (nothing it writes is
	 * transactional), so its commit would not wait for the WAL: flush the
	 * switch here, or a crash soon after the function returned could lose it.
	 */
	XLogFlush(switchLsn);
}

/*
 * Whether a refresh can recompute the centers from the entries.  Binary
 * codes decode to sign vectors without scale: fine for spherical k-means
 * (ip and cosine normalise the samples), not for L2 centers.
 */
static bool
IvfRefreshable(IvfSupport *support)
{
	return support->storage != RV_CODE_BINARY || support->kmeansNormalize;
}

/*
 * Refreshes an index on which the caller holds ShareRowExclusiveLock (and
 * AccessShareLock on its table).  Returns the number of entries written.
 */
int64
IvfRefreshIndex(Relation index)
{
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext,
											  "ivfflat refresh context",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldCtx = MemoryContextSwitchTo(ctx);
	IvfRefreshState rs;
	BlockNumber newHead;
	int			lists;
	int64		entries;

	(void) IvfRecycleOld(index);

	memset(&rs, 0, sizeof(rs));
	rs.index = index;
	IvfReadMetaAll(index, &rs.meta);
	lists = (int) rs.meta.lists;
	IvfInitSupport(&rs.support, index, (int) rs.meta.dimensions, (int) rs.meta.storage);
	if (!IvfRefreshable(&rs.support))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot refresh ivfflat index \"%s\" with storage \"%s\" and a Euclidean operator class",
						RelationGetRelationName(index), rv_storage_name(rs.support.storage)),
				 errdetail("Sign bits do not keep the scale that the centers need."),
				 errhint("REINDEX the index: a build reads the vectors from the table.")));

	RefreshCenters(&rs);

	rs.centerPtrs = palloc(sizeof(char *) * lists);
	for (int i = 0; i < lists; i++)
		rs.centerPtrs[i] = IvfValueArrayGet(rs.centers, i);
	rs.distances = palloc(sizeof(float) * lists);
	IvfChainWriterInit(&rs.writer, index, MAIN_FORKNUM, lists, true,
					   (Size) maintenance_work_mem * 1024);
	rs.writer.logged = true;

	IvfWalkEntries(index, rs.meta.listHead, lists, ReassignPage, &rs);
	IvfChainWriterFinish(&rs.writer);
	newHead = WriteNewLists(&rs);

	SwitchLists(&rs, newHead);
	entries = rs.entries;

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(ctx);
	return entries;
}

/* ----------------------------------------------------------------
 *		Recycling
 * ----------------------------------------------------------------
 */

/* Marks one page deleted (keeping its next pointer) and returns that */
static BlockNumber
MarkDeleted(Relation index, BlockNumber blkno)
{
	Buffer		buf;
	Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_EXCLUSIVE, &buf);
	BlockNumber next;

	if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID)
		elog(ERROR, "ivfflat index \"%s\" has an unexpected page %u in a replaced list",
			 RelationGetRelationName(index), blkno);
	next = IvfPageGetOpaque(page)->nextblkno;
	if ((IvfPageGetOpaque(page)->flags & IVF_PAGE_DELETED) == 0)
	{
		GenericXLogState *state = GenericXLogStart(index);

		page = GenericXLogRegisterBuffer(state, buf, 0);
		IvfPageGetOpaque(page)->flags |= IVF_PAGE_DELETED;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
	return next;
}

/*
 * Marks every page of the replaced generations deleted and hands them to
 * the free space map, if AccessExclusiveLock on the index can be had
 * without waiting (see the file header).  Returns false if generations
 * remain pending.
 */
bool
IvfRecycleOld(Relation index)
{
	IvfMetaPageData meta;
	BlockNumber blkno;
	List	   *freed = NIL;
	Buffer		metabuf;
	GenericXLogState *state;
	XLogRecPtr	lsn;
	ListCell   *lc;

	IvfReadMetaAll(index, &meta);
	if (!BlockNumberIsValid(meta.oldListHead))
		return true;
	if (!ConditionalLockRelation(index, AccessExclusiveLock))
		return false;

	/* List pages first: each gives its lists' chains, then is deleted */
	blkno = meta.oldListHead;
	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page = IvfReadLocked(index, blkno, BUFFER_LOCK_SHARE, &buf);
		OffsetNumber maxoffno = PageGetMaxOffsetNumber(page);
		BlockNumber starts[MaxOffsetNumber];

		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
			starts[offno - 1] = ((IvfList) PageGetItem(page, PageGetItemId(page, offno)))->startPage;
		UnlockReleaseBuffer(buf);

		for (OffsetNumber offno = FirstOffsetNumber; offno <= maxoffno; offno++)
		{
			BlockNumber e = starts[offno - 1];

			while (BlockNumberIsValid(e))
			{
				CHECK_FOR_INTERRUPTS();
				freed = lappend_int(freed, (int) e);
				e = MarkDeleted(index, e);
			}
		}
		freed = lappend_int(freed, (int) blkno);
		blkno = MarkDeleted(index, blkno);
	}

	metabuf = ReadBuffer(index, IVF_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	IvfPageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0))->oldListHead = InvalidBlockNumber;
	lsn = GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);

	/*
	 * The free space map is not WAL-logged and may reach disk at any time:
	 * before it offers a page, the record that took the page off the
	 * pending chain must be durable, or after a crash a page could be both
	 * reused and on the chain the next recycle walks (and marks deleted).
	 */
	if (RelationNeedsWAL(index))
		XLogFlush(lsn);

	foreach(lc, freed)
		RecordFreeIndexPage(index, (BlockNumber) lfirst_int(lc));
	IndexFreeSpaceMapVacuum(index);
	list_free(freed);

	UnlockRelation(index, AccessExclusiveLock);
	return true;
}

/* ----------------------------------------------------------------
 *		SQL functions
 * ----------------------------------------------------------------
 */

/*
 * ruvector_ivf_refresh(regclass) returns bigint: recomputes the centers
 * of an ivfflat index and reassigns its entries (see the file header);
 * returns the number of entries written.  Owner only.
 */
Datum
ruvector_ivf_refresh(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index;
	int64		entries;

	PreventCommandDuringRecovery("ruvector_ivf_refresh()");
	PreventCommandIfReadOnly("ruvector_ivf_refresh()");
	index = rv_index_open_for_function(indexoid, "ruvector_ivf_refresh()", true,
									   ShareRowExclusiveLock, ivfflatbuild, "ivfflat");
	/*
	 * A medium operation for the integrity gate (src/integrity), judged by
	 * the table's other indexes: for this index's own drift it is the cure.
	 */
	RvIntegrityEnforceExcept(index->rd_index->indrelid, indexoid, RV_IG_MEDIUM,
							 "ruvector_ivf_refresh");
	entries = IvfRefreshIndex(index);
	RvAdminAudit("ivf.refresh", indexoid,
				 psprintf("{\"entries\": " INT64_FORMAT "}", entries));
	index_close(index, NoLock);
	PG_RETURN_INT64(entries);
}

/* Counts the entries of each list, for ruvector_ivf_stats */
static void
CountPage(Page page, int list, void *arg)
{
	int64	   *sizes = (int64 *) arg;

	sizes[list] += PageGetMaxOffsetNumber(page);
}

#define IVF_STATS_COLUMNS	14

/*
 * ruvector_ivf_stats(regclass): one row of figures on an ivfflat index:
 * its lists and their sizes, the drift figures, refreshes, and whether
 * replaced lists wait to be recycled.  Needs SELECT on the table.
 */
Datum
ruvector_ivf_stats(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index;
	IvfMetaPageData meta;
	TupleDesc	tupdesc;
	Datum		values[IVF_STATS_COLUMNS];
	bool		nulls[IVF_STATS_COLUMNS];
	int64	   *sizes;
	Datum	   *sizeDatums;
	int64		entries = 0;
	int64		minSize = 0;
	int64		maxSize = 0;
	double		drift;
	int			lists;
	int			c = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	index = rv_index_open_for_function(indexoid, "ruvector_ivf_stats()", false,
									   AccessShareLock, ivfflatbuild, "ivfflat");
	IvfReadMetaAll(index, &meta);
	lists = (int) meta.lists;
	sizes = palloc0(sizeof(int64) * lists);
	IvfWalkEntries(index, meta.listHead, lists, CountPage, sizes);

	sizeDatums = palloc(sizeof(Datum) * lists);
	for (int i = 0; i < lists; i++)
	{
		entries += sizes[i];
		minSize = i == 0 ? sizes[i] : Min(minSize, sizes[i]);
		maxSize = Max(maxSize, sizes[i]);
		sizeDatums[i] = Int64GetDatum(sizes[i]);
	}

	memset(nulls, 0, sizeof(nulls));
	values[c++] = Int32GetDatum((int32) meta.version);
	values[c++] = Int32GetDatum(lists);
	values[c++] = Int64GetDatum(entries);
	values[c++] = PointerGetDatum(construct_array(sizeDatums, lists, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[c++] = Int64GetDatum(minSize);
	values[c++] = Int64GetDatum(maxSize);
	/* Skew: the largest list over the mean size */
	nulls[c] = entries == 0;
	values[c++] = Float8GetDatum(entries > 0 ? (double) maxSize * lists / entries : 0);
	nulls[c] = meta.baseCount <= 0;
	values[c++] = Float8GetDatum(meta.baseCount > 0 ? meta.baseSum / meta.baseCount : 0);
	values[c++] = Int64GetDatum((int64) meta.insCount);
	nulls[c] = meta.insCount <= 0;
	values[c++] = Float8GetDatum(meta.insCount > 0 ? meta.insSum / meta.insCount : 0);
	drift = IvfMetaDrift(&meta);
	nulls[c] = isnan(drift);
	values[c++] = Float8GetDatum(drift);
	values[c++] = Int32GetDatum((int32) meta.refreshes);
	nulls[c] = meta.lastRefresh == 0;
	values[c++] = TimestampTzGetDatum(meta.lastRefresh);
	values[c++] = BoolGetDatum(BlockNumberIsValid(meta.oldListHead));
	Assert(c == IVF_STATS_COLUMNS);

	index_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ----------------------------------------------------------------
 *		Background refresh (src/worker)
 * ----------------------------------------------------------------
 */

/*
 * Refreshes the ivfflat index indexoid if its drift has reached threshold
 * and something was inserted since its last build or refresh, for the
 * background worker.  Never waits for a lock: an index in use by a
 * statement that locks it out (or by inserts, for the refresh itself) is
 * left for the next round.  Fills report and returns what happened.
 */
IvfAutoRefreshResult
IvfRefreshIfDrifted(Oid indexoid, double threshold, IvfAutoRefreshReport *report)
{
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Relation	index;
	IvfMetaPageData meta;
	IvfAutoRefreshResult result;

	memset(report, 0, sizeof(IvfAutoRefreshReport));
	report->drift = NAN;
	if (!OidIsValid(heapoid))
		return IVF_AUTO_GONE;
	if (!ConditionalLockRelationOid(heapoid, AccessShareLock))
		return IVF_AUTO_BUSY;
	if (!ConditionalLockRelationOid(indexoid, AccessShareLock))
		return IVF_AUTO_BUSY;
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(indexoid)) ||
		IndexGetRelation(indexoid, true) != heapoid)
		return IVF_AUTO_GONE;

	index = index_open(indexoid, NoLock);
	report->name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
											  RelationGetRelationName(index));
	if (index->rd_indam->ambuild != ivfflatbuild || !index->rd_index->indisvalid ||
		index->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
	{
		index_close(index, NoLock);
		return IVF_AUTO_GONE;
	}

	IvfReadMetaAll(index, &meta);
	report->drift = IvfMetaDrift(&meta);
	report->inserted = (int64) meta.insCount;
	if (meta.storage == RV_CODE_BINARY)
	{
		IvfSupport	support;

		IvfInitSupport(&support, index, (int) meta.dimensions, (int) meta.storage);
		if (!IvfRefreshable(&support))
		{
			/* Left to REINDEX; see IvfRefreshable */
			index_close(index, NoLock);
			return IVF_AUTO_FINE;
		}
	}
	if (isnan(report->drift) || report->drift < threshold || meta.insCount <= 0)
		result = IVF_AUTO_FINE;
	else if (!ConditionalLockRelationOid(indexoid, ShareRowExclusiveLock))
		result = IVF_AUTO_BUSY;
	else
	{
		report->entries = IvfRefreshIndex(index);
		result = IVF_AUTO_REFRESHED;
	}
	index_close(index, NoLock);
	return result;
}
