/*-------------------------------------------------------------------------
 *
 * ivfbuild.c
 *	  Building an IVFFlat index: sample rows, run k-means, write the lists,
 *	  then assign every row to its nearest list and write it there.
 *
 * NOTES
 *	  Sampling is one pass over the table with reservoir sampling (every
 *	  row equally likely), at 50 samples per list and at least 10,000,
 *	  within maintenance_work_mem.  k-means runs on the samples
 *	  (ivfkmeans.c), and the metapage and list pages with the centers are
 *	  written next, so they take blocks 0, 1, 2, ...
 *
 *	  Assignment writes entries straight into pages; there is no sort.  A
 *	  participant (the leader, and each parallel worker) keeps the page of
 *	  every list it is filling in local memory, and writes it to a new block
 *	  at the end of the index when it is full.  Each page points back at the
 *	  list's previous page, so a block is written once, when it is complete,
 *	  and chains grow from their end towards their start.  With more lists
 *	  than page images fit in its share of maintenance_work_mem, a
 *	  participant writes out the image of another list (clock order) to make
 *	  room.  Each participant thus leaves one chain per list; the leader
 *	  links the chains of all participants, list by list, gives a list
 *	  without rows an empty page (inserts always have a page to start from),
 *	  and stores each list's first page and insert page.
 *
 *	  Every row's k-means distance to its center is summed as it is
 *	  assigned; the mean is the drift baseline stored in the metapage
 *	  (ivfrefresh.c).  The chain writer is also what a refresh writes its
 *	  new lists with, WAL-logging each page as it goes.
 *
 *	  Nothing is WAL-logged while building: the relation is new and
 *	  invisible to other backends until the transaction commits.  At the
 *	  end every page is logged once with log_newpage_range when the index
 *	  needs WAL (the init fork of an unlogged index always does).
 *
 *	  Parallel workers extend the index under the relation extension lock,
 *	  which group locking does not share between members of a parallel
 *	  group.  No other lock is held while a participant extends.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfbuild.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_type_d.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "indexam/ivfflat.h"

#define PARALLEL_KEY_IVF_SHARED		UINT64CONST(0xB1F0000000000001)
#define PARALLEL_KEY_IVF_CENTERS	UINT64CONST(0xB1F0000000000002)
#define PARALLEL_KEY_IVF_CHAINS		UINT64CONST(0xB1F0000000000003)
#define PARALLEL_KEY_QUERY_TEXT		UINT64CONST(0xB1F0000000000004)

/* Fixed seed: the same table gives the same index, run after run */
#define IVF_BUILD_SEED			UINT64CONST(0x5256494646)

/* Page images a participant keeps at least, whatever the memory budget */
#define IVF_MIN_IMAGES			64

/* State of a parallel build in dynamic shared memory */
typedef struct IvfBuildShared
{
	/* Immutable */
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			nslots;			/* chain slots: one per worker, then the leader */
	int			lists;
	int			dimensions;
	Size		imageBudget;	/* bytes of page images per participant */

	/* Mutable, under mutex */
	slock_t		mutex;
	double		reltuples;
	double		indtuples;
	IvfDriftSum drift;

	/* A ParallelTableScanDescData follows */
} IvfBuildShared;

#define ParallelTableScanFromIvfShared(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(IvfBuildShared))))

/* What one participant needs to assign rows */
typedef struct IvfAssignState
{
	IvfSupport *support;
	const char **centers;		/* each list's center */
	float	   *distances;		/* scratch: a row's distance to each */
	int			lists;
	IvfChainWriter writer;
	char	   *entry;			/* scratch entry: header, then the value */
	Size		entrySize;
	char	   *value;			/* the row's value (in entry under float32) */
	char	   *scratch;		/* a value, for drift distances */
	IvfDriftSum drift;
	MemoryContext tmpCtx;
	double		indtuples;
	bool		progress;		/* report tuples done (the leader does) */
} IvfAssignState;

/* Rows between two reports of progress */
#define IVF_PROGRESS_INTERVAL	1024

typedef struct IvfBuildState
{
	/* Info */
	Relation	heap;			/* NULL for the init fork */
	Relation	index;
	IndexInfo  *indexInfo;
	ForkNumber	forkNum;

	/* Settings */
	IvfSupport	support;
	int			dimensions;
	int			lists;

	/* Statistics */
	double		reltuples;
	double		indtuples;
	IvfDriftSum drift;			/* baseline of the drift figures */

	/* Sampling */
	IvfValueArray *samples;
	int			sampleTarget;
	double		rowsSeen;
	char	   *sampleScratch;
	pg_prng_state prng;
	Size		memoryUsed;

	/* Lists */
	IvfValueArray *centers;
	BlockNumber *listBlkno;		/* where each list's item is */
	OffsetNumber *listOffno;

	/* Chains, nslots x lists each */
	int			nslots;
	BlockNumber *heads;
	BlockNumber *tails;

	MemoryContext tmpCtx;
} IvfBuildState;

/* ----------------------------------------------------------------
 *		Chain writer: entry pages filled in local memory
 * ----------------------------------------------------------------
 */

/*
 * Sets up a writer for lists lists, keeping as many page images as
 * budget bytes allow (at least IVF_MIN_IMAGES, at most one per list).
 */
void
IvfChainWriterInit(IvfChainWriter *w, Relation index, ForkNumber forkNum,
				int lists, bool parallel, Size budget)
{
	w->index = index;
	w->forkNum = forkNum;
	w->parallel = parallel;
	w->lists = lists;
	w->images = palloc0(sizeof(char *) * lists);
	w->heads = palloc(sizeof(BlockNumber) * lists);
	w->tails = palloc(sizeof(BlockNumber) * lists);
	for (int i = 0; i < lists; i++)
	{
		w->heads[i] = InvalidBlockNumber;
		w->tails[i] = InvalidBlockNumber;
	}
	w->maxImages = Min(lists, Max(IVF_MIN_IMAGES, (int) Min(budget / BLCKSZ, INT_MAX)));
	w->nimages = 0;
	w->victim = 0;
	w->entries = 0;
	w->logged = false;
	w->pagesWritten = 0;
}

/* Formats an image as the list's next page, pointing back at its last one */
static void
ChainInitImage(IvfChainWriter *w, int list)
{
	IvfInitPage(w->images[list], BLCKSZ);
	IvfPageGetOpaque(w->images[list])->nextblkno = w->heads[list];
}

/*
 * Writes a list's image to a new block at the end of the index, or, for a
 * refresh (logged), to a free page or a new one, WAL-logged as a full page.
 */
static void
ChainWritePage(IvfChainWriter *w, int list)
{
	Buffer		buf;
	BlockNumber blkno;

	if (w->logged)
	{
		buf = IvfNewOrFreeBuffer(w->index);
		START_CRIT_SECTION();
		memcpy(BufferGetPage(buf), w->images[list], BLCKSZ);
		MarkBufferDirty(buf);
		if (RelationNeedsWAL(w->index))
			log_newpage_buffer(buf, true);
		END_CRIT_SECTION();
	}
	else
	{
		if (w->parallel)
			LockRelationForExtension(w->index, ExclusiveLock);
		buf = ReadBufferExtended(w->index, w->forkNum, P_NEW, RBM_NORMAL, NULL);
		if (w->parallel)
			UnlockRelationForExtension(w->index, ExclusiveLock);

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		memcpy(BufferGetPage(buf), w->images[list], BLCKSZ);
		MarkBufferDirty(buf);
	}
	blkno = BufferGetBlockNumber(buf);
	UnlockReleaseBuffer(buf);
	w->pagesWritten++;
	if (w->logged)
		IvfRefreshTestPoint(w->index, w->pagesWritten);

	if (!BlockNumberIsValid(w->tails[list]))
		w->tails[list] = blkno;
	w->heads[list] = blkno;
}

/* Points an already written page at its successor */
static void
ChainPatchNext(Relation index, ForkNumber forkNum, BlockNumber blkno, BlockNumber next)
{
	Buffer		buf = ReadBufferExtended(index, forkNum, blkno, RBM_NORMAL, NULL);

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	IvfPageGetOpaque(BufferGetPage(buf))->nextblkno = next;
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/*
 * Writes out the image of some other list (clock order) to reuse its
 * memory; that list starts a new page when it gets its next entry.
 */
static char *
ChainEvict(IvfChainWriter *w)
{
	for (;;)
	{
		int			list = w->victim;

		w->victim = (w->victim + 1) % w->lists;
		if (w->images[list] != NULL)
		{
			char	   *page = w->images[list];

			ChainWritePage(w, list);
			w->images[list] = NULL;
			return page;
		}
	}
}

/* Appends an entry to a list */
void
IvfChainWriterAdd(IvfChainWriter *w, int list, const char *item, Size size)
{
	if (w->images[list] == NULL)
	{
		if (w->nimages >= w->maxImages)
			w->images[list] = ChainEvict(w);
		else
		{
			w->images[list] = palloc(BLCKSZ);
			w->nimages++;
		}
		ChainInitImage(w, list);
	}
	else if (PageGetFreeSpace(w->images[list]) < size)
	{
		ChainWritePage(w, list);
		ChainInitImage(w, list);
	}

	if (PageAddItem(w->images[list], (Item) item, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
		elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(w->index));
	w->entries++;
}

/* Writes out every image; afterwards heads and tails describe the chains */
void
IvfChainWriterFinish(IvfChainWriter *w)
{
	for (int list = 0; list < w->lists; list++)
	{
		if (w->images[list] == NULL)
			continue;
		ChainWritePage(w, list);
		pfree(w->images[list]);
		w->images[list] = NULL;
	}
	w->nimages = 0;
}

/* ----------------------------------------------------------------
 *		Sampling
 * ----------------------------------------------------------------
 */

/* Room for one more sample, growing the array within maintenance_work_mem */
static char *
SampleAppendSlot(IvfBuildState *bs)
{
	IvfValueArray *samples = bs->samples;

	if (samples->length == samples->capacity)
	{
		int			newcap = Min(bs->sampleTarget, Max(1024, samples->capacity * 2));
		Size		oldsize = (Size) Max(samples->capacity, 1) * samples->stride;
		Size		newsize = (Size) newcap * samples->stride;

		bs->memoryUsed = add_size(bs->memoryUsed - oldsize, newsize);
		IvfCheckMemory(bs->memoryUsed);
		samples->items = repalloc_huge(samples->items, newsize);
		samples->capacity = newcap;
	}
	return IvfValueArrayGet(samples, samples->length++);
}

/*
 * Reservoir sampling (Algorithm R): the t-th eligible row replaces a
 * random sample with probability target / t.  Samples of spherical
 * opclasses are normalised, and rows that cannot be (zero vectors) are
 * not eligible.
 */
static void
SampleCallback(Relation index, ItemPointer tid, Datum *values,
			   bool *isnull, bool tupleIsAlive, void *state)
{
	IvfBuildState *bs = (IvfBuildState *) state;
	IvfSupport *support = &bs->support;
	MemoryContext oldCtx;
	char	   *slot;

	if (isnull[0] || !tupleIsAlive)
		return;

	if (bs->samples->length >= bs->sampleTarget)
	{
		uint64		j = pg_prng_uint64_range(&bs->prng, 0, (uint64) bs->rowsSeen);

		if (j >= (uint64) bs->sampleTarget)
		{
			bs->rowsSeen += 1;
			return;
		}
		slot = IvfValueArrayGet(bs->samples, (int) j);
	}
	else
		slot = NULL;

	oldCtx = MemoryContextSwitchTo(bs->tmpCtx);
	IvfFetchValue(support, values[0], bs->sampleScratch);
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);

	if (support->kmeansNormalize && !IvfNormalizeValue(support, bs->sampleScratch))
		return;

	if (slot == NULL)
		slot = SampleAppendSlot(bs);
	memcpy(slot, bs->sampleScratch, support->valueSize);
	bs->rowsSeen += 1;
}

/* Fills bs->samples from one pass over the table */
static void
SampleRows(IvfBuildState *bs)
{
	int64		maxTuples = (int64) RelationGetNumberOfBlocks(bs->heap) * MaxHeapTuplesPerPage;
	int64		target = Max((int64) bs->lists * IVF_SAMPLES_PER_LIST, IVF_MIN_SAMPLES);

	bs->sampleTarget = (int) Max(Min(target, maxTuples), 1);
	bs->samples = IvfValueArrayCreate(0, bs->support.valueSize);
	bs->memoryUsed = add_size(bs->memoryUsed, bs->samples->stride);
	bs->sampleScratch = palloc(bs->samples->stride);
	bs->rowsSeen = 0;

	table_index_build_scan(bs->heap, bs->index, bs->indexInfo, true, false,
						   SampleCallback, (void *) bs, NULL);
}

/* Samples the table and runs k-means into bs->centers */
static void
ComputeCenters(IvfBuildState *bs)
{
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_KMEANS);

	if (bs->heap != NULL)
	{
		SampleRows(bs);
		if (bs->samples->length < bs->lists)
			ereport(NOTICE,
					(errmsg("ivfflat index created with little data"),
					 errdetail("This will cause low recall."),
					 errhint("Drop the index until the table has more data.")));
	}
	else
		bs->samples = IvfValueArrayCreate(0, bs->support.valueSize);

	IvfKmeans(&bs->support, bs->samples, bs->centers, bs->memoryUsed, &bs->prng);

	IvfValueArrayFree(bs->samples);
	bs->samples = NULL;
}

/* ----------------------------------------------------------------
 *		Lists
 * ----------------------------------------------------------------
 */

/*
 * Writes the list pages after the metapage, one item per list with its
 * center, and remembers where each item is.  Start and insert pages are
 * filled in once the entries are written.
 */
static void
WriteListPages(IvfBuildState *bs)
{
	Size		itemSize = IvfListItemSize(bs->support.valueSize);
	char	   *item = palloc0(itemSize);
	IvfList		list = (IvfList) item;
	Buffer		buf = IvfNewBuffer(bs->index, bs->forkNum);
	Page		page = BufferGetPage(buf);

	IvfInitPage(page, BufferGetPageSize(buf));
	list->startPage = InvalidBlockNumber;
	list->insertPage = InvalidBlockNumber;

	for (int i = 0; i < bs->lists; i++)
	{
		OffsetNumber offno;

		if (PageGetFreeSpace(page) < itemSize)
		{
			Buffer		newbuf = IvfNewBuffer(bs->index, bs->forkNum);

			IvfPageGetOpaque(page)->nextblkno = BufferGetBlockNumber(newbuf);
			MarkBufferDirty(buf);
			UnlockReleaseBuffer(buf);
			buf = newbuf;
			page = BufferGetPage(buf);
			IvfInitPage(page, BufferGetPageSize(buf));
		}

		memcpy(IvfListCenter(list), IvfValueArrayGet(bs->centers, i), bs->support.valueSize);
		offno = PageAddItem(page, (Item) item, itemSize, InvalidOffsetNumber, false, false);
		if (offno == InvalidOffsetNumber)
			elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(bs->index));
		bs->listBlkno[i] = BufferGetBlockNumber(buf);
		bs->listOffno[i] = offno;
	}

	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
	pfree(item);
}

/*
 * Links the participants' chains of each list into one (the end of one to
 * the start of the next), gives empty lists an empty page, and stores each
 * list's first and insert pages.  Runs in the leader after every
 * participant is done.
 */
static void
LinkChains(IvfBuildState *bs)
{
	Buffer		buf = InvalidBuffer;

	for (int i = 0; i < bs->lists; i++)
	{
		BlockNumber start = InvalidBlockNumber;
		BlockNumber last = InvalidBlockNumber;
		IvfList		list;

		for (int s = 0; s < bs->nslots; s++)
		{
			BlockNumber head = bs->heads[s * bs->lists + i];

			if (!BlockNumberIsValid(head))
				continue;
			if (BlockNumberIsValid(last))
				ChainPatchNext(bs->index, bs->forkNum, last, head);
			else
				start = head;
			last = bs->tails[s * bs->lists + i];
		}

		if (!BlockNumberIsValid(start))
		{
			Buffer		ebuf = IvfNewBuffer(bs->index, bs->forkNum);

			IvfInitPage(BufferGetPage(ebuf), BufferGetPageSize(ebuf));
			MarkBufferDirty(ebuf);
			start = last = BufferGetBlockNumber(ebuf);
			UnlockReleaseBuffer(ebuf);
		}

		/* List items are in block order: keep the page while it lasts */
		if (!BufferIsValid(buf) || BufferGetBlockNumber(buf) != bs->listBlkno[i])
		{
			if (BufferIsValid(buf))
			{
				MarkBufferDirty(buf);
				UnlockReleaseBuffer(buf);
			}
			buf = ReadBufferExtended(bs->index, bs->forkNum, bs->listBlkno[i], RBM_NORMAL, NULL);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		}
		list = (IvfList) PageGetItem(BufferGetPage(buf),
									 PageGetItemId(BufferGetPage(buf), bs->listOffno[i]));
		/* The room left is at the start: each participant's last page */
		list->startPage = start;
		list->insertPage = start;
	}

	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/* ----------------------------------------------------------------
 *		Assignment
 * ----------------------------------------------------------------
 */

static void
AssignStateInit(IvfAssignState *as, IvfSupport *support, const char *centers,
				Size stride, int lists, Relation index, ForkNumber forkNum,
				bool parallel, Size budget)
{
	as->support = support;
	as->centers = palloc(sizeof(char *) * lists);
	for (int i = 0; i < lists; i++)
		as->centers[i] = centers + (Size) i * stride;
	as->distances = palloc(sizeof(float) * lists);
	as->lists = lists;
	as->entrySize = IvfEntryItemSize(support->entryValueSize);
	as->entry = palloc0(as->entrySize);
	as->value = IvfIsCompact(support) ? palloc(support->valueSize) : IvfEntryValue(as->entry);
	as->scratch = palloc(support->valueSize);
	as->drift.sum = 0;
	as->drift.count = 0;
	as->indtuples = 0;
	as->progress = false;
	as->tmpCtx = AllocSetContextCreate(CurrentMemoryContext,
									   "ivfflat build temporary context",
									   ALLOCSET_DEFAULT_SIZES);
	IvfChainWriterInit(&as->writer, index, forkNum, lists, parallel, budget);
}

/* The list whose center is nearest; ties go to the first such list */
static int
NearestCenter(IvfAssignState *as, const char *value)
{
	IvfSupport *support = as->support;
	const float *d = as->distances;
	float		bestDistance;
	int			best = 0;

	IvfDistanceMany(support, support->distKind, support->distProc, value,
					as->centers, as->lists, as->distances);
	bestDistance = d[0];
	for (int i = 1; i < as->lists; i++)
	{
		if (d[i] < bestDistance)
		{
			bestDistance = d[i];
			best = i;
		}
	}
	return best;
}

/* table_index_build_scan callback: one row to its list */
static void
AssignCallback(Relation index, ItemPointer tid, Datum *values,
			   bool *isnull, bool tupleIsAlive, void *state)
{
	IvfAssignState *as = (IvfAssignState *) state;
	IvfSupport *support = as->support;
	char	   *value = as->value;
	MemoryContext oldCtx;
	int			list;
	float		d;

	if (isnull[0])
		return;

	/* Detoasting allocates; nothing else here does */
	oldCtx = MemoryContextSwitchTo(as->tmpCtx);
	IvfFetchValue(support, values[0], value);
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(as->tmpCtx);

	/* Cosine indexes leave zero vectors out: they have no direction */
	if (support->normalize && !IvfNormalizeValue(support, value))
		return;

	((IvfEntry) as->entry)->heaptid = *tid;
	list = NearestCenter(as, value);
	if (IvfIsCompact(support))
		IvfEncodeEntry(support, value, IvfEntryValue(as->entry));
	IvfChainWriterAdd(&as->writer, list, as->entry, as->entrySize);
	d = IvfDriftDistance(support, value, as->centers[list], as->scratch);
	if (!isnan(d))
	{
		as->drift.sum += d;
		as->drift.count += 1;
	}
	as->indtuples += 1;
	if (as->progress && (int64) as->indtuples % IVF_PROGRESS_INTERVAL == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) as->indtuples);
}

/* Copies a finished writer's chains into slot of the heads/tails arrays */
static void
AssignStateFinish(IvfAssignState *as, BlockNumber *heads, BlockNumber *tails)
{
	IvfChainWriterFinish(&as->writer);
	memcpy(heads, as->writer.heads, sizeof(BlockNumber) * as->lists);
	memcpy(tails, as->writer.tails, sizeof(BlockNumber) * as->lists);
	MemoryContextDelete(as->tmpCtx);
}

/*
 * One participant's share of a parallel build: scan its part of the table
 * and write its chains into its slot.
 */
static void
ParallelAssign(IvfBuildShared *shared, Relation heap, Relation index,
			   IndexInfo *indexInfo, IvfSupport *support, const char *centers,
			   BlockNumber *chains, int slot, bool progress)
{
	IvfAssignState as;
	TableScanDesc scan;
	double		reltuples;
	BlockNumber *heads = chains + (Size) slot * 2 * shared->lists;

	AssignStateInit(&as, support, centers, MAXALIGN(support->valueSize), shared->lists,
					index, MAIN_FORKNUM, true, shared->imageBudget);
	as.progress = progress;
	scan = table_beginscan_parallel(heap, ParallelTableScanFromIvfShared(shared));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, progress,
									   AssignCallback, (void *) &as, scan);
	AssignStateFinish(&as, heads, heads + shared->lists);

	SpinLockAcquire(&shared->mutex);
	shared->reltuples += reltuples;
	shared->indtuples += as.indtuples;
	shared->drift.sum += as.drift.sum;
	shared->drift.count += as.drift.count;
	SpinLockRelease(&shared->mutex);
}

/* Entry point of a parallel build worker */
void
rv_ivf_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	IvfBuildShared *shared;
	Relation	heap;
	Relation	index;
	LOCKMODE	heapLockmode;
	LOCKMODE	indexLockmode;
	IndexInfo  *indexInfo;
	IvfSupport	support;

	debug_query_string = shm_toc_lookup(toc, PARALLEL_KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);

	shared = shm_toc_lookup(toc, PARALLEL_KEY_IVF_SHARED, false);

	rv_build_lock_modes(shared->isconcurrent, &heapLockmode, &indexLockmode);
	heap = table_open(shared->heaprelid, heapLockmode);
	index = index_open(shared->indexrelid, indexLockmode);

	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = shared->isconcurrent;
	IvfInitSupport(&support, index, shared->dimensions, IvfGetStorageOption(index));

	ParallelAssign(shared, heap, index, indexInfo, &support,
				   shm_toc_lookup(toc, PARALLEL_KEY_IVF_CENTERS, false),
				   shm_toc_lookup(toc, PARALLEL_KEY_IVF_CHAINS, false),
				   ParallelWorkerNumber, false);

	index_close(index, indexLockmode);
	table_close(heap, heapLockmode);
}

/* Sizes of the parts of a parallel build's shared memory */
typedef struct IvfParallelSizes
{
	Size		shared;
	Size		centers;
	Size		chains;
	Size		query;
} IvfParallelSizes;

/*
 * Fills the shared memory of a parallel build: state, parallel table scan,
 * centers, chain slots (all empty) and the query text for the workers.
 */
static IvfBuildShared *
ParallelInitShared(IvfBuildState *bs, ParallelContext *pcxt, IvfParallelSizes *sz,
				   Snapshot snapshot, int nslots)
{
	IvfBuildShared *shared = shm_toc_allocate(pcxt->toc, sz->shared);
	char	   *centers;
	BlockNumber *chains;

	shared->heaprelid = RelationGetRelid(bs->heap);
	shared->indexrelid = RelationGetRelid(bs->index);
	shared->isconcurrent = bs->indexInfo->ii_Concurrent;
	shared->nslots = nslots;
	shared->lists = bs->lists;
	shared->dimensions = bs->dimensions;
	shared->imageBudget = (Size) maintenance_work_mem * 1024 / nslots;
	SpinLockInit(&shared->mutex);
	shared->reltuples = 0;
	shared->indtuples = 0;
	shared->drift.sum = 0;
	shared->drift.count = 0;
	table_parallelscan_initialize(bs->heap, ParallelTableScanFromIvfShared(shared), snapshot);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_IVF_SHARED, shared);

	centers = shm_toc_allocate(pcxt->toc, sz->centers);
	memcpy(centers, bs->centers->items, sz->centers);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_IVF_CENTERS, centers);

	chains = shm_toc_allocate(pcxt->toc, sz->chains);
	for (Size i = 0; i < sz->chains / sizeof(BlockNumber); i++)
		chains[i] = InvalidBlockNumber;
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_IVF_CHAINS, chains);

	if (debug_query_string)
	{
		char	   *query = shm_toc_allocate(pcxt->toc, sz->query + 1);

		memcpy(query, debug_query_string, sz->query + 1);
		shm_toc_insert(pcxt->toc, PARALLEL_KEY_QUERY_TEXT, query);
	}
	return shared;
}

/* Copies the statistics and every participant's chains out of shared memory */
static void
ParallelCollect(IvfBuildState *bs, IvfBuildShared *shared, const BlockNumber *chains)
{
	Size		lists = bs->lists;

	bs->reltuples = shared->reltuples;
	bs->indtuples = shared->indtuples;
	bs->drift = shared->drift;
	bs->nslots = shared->nslots;
	bs->heads = palloc(sizeof(BlockNumber) * bs->nslots * lists);
	bs->tails = palloc(sizeof(BlockNumber) * bs->nslots * lists);
	for (int s = 0; s < bs->nslots; s++)
	{
		memcpy(bs->heads + s * lists, chains + s * 2 * lists, sizeof(BlockNumber) * lists);
		memcpy(bs->tails + s * lists, chains + (s * 2 + 1) * lists, sizeof(BlockNumber) * lists);
	}
}

/*
 * Runs the assignment with parallel workers, the leader taking part.
 * Returns false, having done nothing, when no worker could be started.
 */
static bool
AssignParallel(IvfBuildState *bs, int request)
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	int			nslots = request + 1;
	IvfParallelSizes sz;
	IvfBuildShared *shared;
	bool		launched = false;

	EnterParallelMode();
	pcxt = CreateParallelContext("ruvector", "rv_ivf_parallel_build_main", request);
	snapshot = bs->indexInfo->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	sz.shared = add_size(BUFFERALIGN(sizeof(IvfBuildShared)),
						 table_parallelscan_estimate(bs->heap, snapshot));
	sz.centers = mul_size(bs->lists, bs->centers->stride);
	sz.chains = mul_size(mul_size(nslots, bs->lists), 2 * sizeof(BlockNumber));
	sz.query = debug_query_string ? strlen(debug_query_string) : 0;
	shm_toc_estimate_chunk(&pcxt->estimator, sz.shared);
	shm_toc_estimate_chunk(&pcxt->estimator, sz.centers);
	shm_toc_estimate_chunk(&pcxt->estimator, sz.chains);
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	if (debug_query_string)
	{
		shm_toc_estimate_chunk(&pcxt->estimator, sz.query + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}

	InitializeParallelDSM(pcxt);
	if (pcxt->seg != NULL)
	{
		shared = ParallelInitShared(bs, pcxt, &sz, snapshot, nslots);
		LaunchParallelWorkers(pcxt);
		launched = pcxt->nworkers_launched > 0;
		if (launched)
		{
			ereport(DEBUG1, (errmsg("using %d parallel workers", pcxt->nworkers_launched)));
			ParallelAssign(shared, bs->heap, bs->index, bs->indexInfo, &bs->support,
						   shm_toc_lookup(pcxt->toc, PARALLEL_KEY_IVF_CENTERS, false),
						   shm_toc_lookup(pcxt->toc, PARALLEL_KEY_IVF_CHAINS, false),
						   nslots - 1, true);
		}
		WaitForParallelWorkersToFinish(pcxt);
		if (launched)
			ParallelCollect(bs, shared, shm_toc_lookup(pcxt->toc, PARALLEL_KEY_IVF_CHAINS, false));
	}

	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return launched;
}

/* Runs the assignment in this backend alone (also for the init fork) */
static void
AssignSerial(IvfBuildState *bs)
{
	IvfAssignState as;

	AssignStateInit(&as, &bs->support, bs->centers->items, bs->centers->stride,
					bs->lists, bs->index, bs->forkNum, false,
					(Size) maintenance_work_mem * 1024);
	as.progress = true;
	if (bs->heap != NULL)
		bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->indexInfo,
											   true, true, AssignCallback,
											   (void *) &as, NULL);
	bs->nslots = 1;
	bs->heads = palloc(sizeof(BlockNumber) * bs->lists);
	bs->tails = palloc(sizeof(BlockNumber) * bs->lists);
	AssignStateFinish(&as, bs->heads, bs->tails);
	bs->indtuples = as.indtuples;
	bs->drift = as.drift;
}

/* Writes every row of the table into its list */
static void
AssignRows(IvfBuildState *bs)
{
	int			workers = 0;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_ASSIGN);

	if (bs->heap != NULL)
		workers = plan_create_index_workers(RelationGetRelid(bs->heap),
											RelationGetRelid(bs->index));
	if (workers > 0 && AssignParallel(bs, workers))
		return;
	AssignSerial(bs);
}

/* ----------------------------------------------------------------
 *		Build
 * ----------------------------------------------------------------
 */

/*
 * Checks the indexed column and the options, and sets up the state.
 * Messages and their order are pgvector's.
 */
static void
InitBuildState(IvfBuildState *bs, Relation heap, Relation index,
			   IndexInfo *indexInfo, ForkNumber forkNum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(index), 0);
	const IvfTypeInfo *typeInfo = IvfGetTypeInfo(index);

	memset(bs, 0, sizeof(IvfBuildState));
	bs->heap = heap;
	bs->index = index;
	bs->indexInfo = indexInfo;
	bs->forkNum = forkNum;
	bs->lists = IvfGetLists(index);
	bs->dimensions = att->atttypmod;

	/* varbit has no fixed length */
	if (att->atttypid == VARBITOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type not supported for ivfflat index")));
	if (bs->dimensions < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions")));
	if (IvfGetStorageOption(index) == IVF_STORAGE_FLOAT32 &&
		bs->dimensions > typeInfo->maxDimensions)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for ivfflat index",
						typeInfo->maxDimensions)));

	IvfInitSupport(&bs->support, index, bs->dimensions, IvfGetStorageOption(index));
	IvfCheckStorage(&bs->support, index, indexInfo);
	if (bs->support.kmeansProc == NULL)
		(void) index_getprocinfo(index, 1, IVF_KMEANS_DISTANCE_PROC);	/* raises */

	/* On a line there is no direction to speak of */
	if (bs->support.kmeansNormalize && bs->dimensions == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions must be greater than one for this opclass")));

	bs->centers = IvfValueArrayCreate(bs->lists, bs->support.valueSize);
	bs->memoryUsed = mul_size(bs->lists, bs->centers->stride);
	IvfCheckMemory(bs->memoryUsed);

	bs->listBlkno = palloc(sizeof(BlockNumber) * bs->lists);
	bs->listOffno = palloc(sizeof(OffsetNumber) * bs->lists);
	bs->tmpCtx = AllocSetContextCreate(CurrentMemoryContext,
									   "ivfflat build temporary context",
									   ALLOCSET_DEFAULT_SIZES);
	pg_prng_seed(&bs->prng, IVF_BUILD_SEED);
}

/* CPU time used by this process so far, in milliseconds */
static double
CpuMillis(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/*
 * Reports the time a build step took (elapsed, and CPU time of this
 * process), at DEBUG1, and starts the next one.
 */
static void
BuildStepDone(const char *step, instr_time *start, double *cpuStart)
{
	instr_time	now;
	double		cpu = CpuMillis();

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, *start);
	ereport(DEBUG1,
			(errmsg_internal("ivfflat build: %s took %.3f ms (%.3f ms CPU)",
							 step, INSTR_TIME_GET_MILLISEC(now), cpu - *cpuStart)));
	INSTR_TIME_SET_CURRENT(*start);
	*cpuStart = cpu;
}

/* Builds the index into forkNum: MAIN from heap, or an empty INIT fork */
static void
BuildIndex(IvfBuildState *bs, Relation heap, Relation index,
		   IndexInfo *indexInfo, ForkNumber forkNum)
{
	instr_time	start;
	double		cpuStart = CpuMillis();

	INSTR_TIME_SET_CURRENT(start);
	InitBuildState(bs, heap, index, indexInfo, forkNum);

	ComputeCenters(bs);
	BuildStepDone("sampling and k-means", &start, &cpuStart);
	IvfWriteMetaPage(index, forkNum, bs->dimensions, bs->lists, IVF_METAPAGE_BLKNO + 1,
					 bs->support.storage);
	WriteListPages(bs);
	AssignRows(bs);
	BuildStepDone("assigning rows", &start, &cpuStart);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) bs->indtuples);
	LinkChains(bs);
	IvfWriteMetaBaseline(index, forkNum, &bs->drift);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);

	/* The index is new: log it whole, once */
	if (forkNum == INIT_FORKNUM || RelationNeedsWAL(index))
		log_newpage_range(index, forkNum, 0,
						  RelationGetNumberOfBlocksInFork(index, forkNum), true);
	BuildStepDone("linking lists and logging pages", &start, &cpuStart);

	MemoryContextDelete(bs->tmpCtx);
}

IndexBuildResult *
ivfflatbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IvfBuildState bs;
	IndexBuildResult *result;

	BuildIndex(&bs, heap, index, indexInfo, MAIN_FORKNUM);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/* The init fork of an unlogged index: random centers, empty lists */
void
ivfflatbuildempty(Relation index)
{
	IvfBuildState bs;

	BuildIndex(&bs, NULL, index, BuildIndexInfo(index), INIT_FORKNUM);
}
