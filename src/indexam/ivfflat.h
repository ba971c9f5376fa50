/*-------------------------------------------------------------------------
 *
 * ivfflat.h
 *	  The IVFFlat index access method (ivfflat, and its alias ruivfflat):
 *	  on-disk format, the per-index support (which kernels compute its
 *	  distances) and the entry points of each file of the subsystem.
 *
 * NOTES
 *	  Behaviour (options, GUCs, messages, costs, results) follows pgvector's
 *	  IVFFlat so that pgvector users get the same answers; the page format
 *	  and the code are RuVector's own.
 *
 *	  Page format.  Block 0 is the metapage.  The list pages start at the
 *	  metapage's listHead (block 1 after a build) and are chained through
 *	  their special space; each holds IvfListData items, one per inverted
 *	  list, in list order: the list's first entry page, the page where
 *	  inserts start looking for room, and the list's center.  Every list
 *	  owns a chain of entry pages (at least one, possibly empty) holding
 *	  IvfEntryData items: the heap TID and the indexed value.
 *
 *	  A refresh (ivfrefresh.c) writes a new generation of list and entry
 *	  pages and switches the metapage's listHead to it; the replaced pages
 *	  wait on the metapage's oldListHead until they are recycled (marked
 *	  IVF_PAGE_DELETED and entered in the free space map), after which
 *	  inserts and refreshes reuse them.
 *
 *	  Values (centers and entries alike) are stored as the type's own datum
 *	  with a 4-byte varlena header, 8-byte aligned in the item, so that a
 *	  kernel reads the elements in place and an operator class whose
 *	  distance function we do not recognise can still be called through
 *	  fmgr on the stored bytes.  For vector, halfvec and bit alike the
 *	  elements start 8 bytes into the datum.
 *
 *	  Under compact storage (metapage field storage, an RvCodeKind other
 *	  than float32) an entry holds instead a varlena with the code of the
 *	  value (src/quant/codes.c); centers stay the type's datum.  A
 *	  metapage with 0 there (every index built before) is float32.
 *
 *	  Lock order for the subsystem is written at the top of ivfinsert.c.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfflat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_IVFFLAT_H
#define RV_IVFFLAT_H

#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "common/pg_prng.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "storage/shm_toc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "distance/distance.h"
#include "indexam/indexam.h"
#include "quant/quant.h"

/* Limits and defaults (pgvector's, so that the same DDL is accepted) */
#define IVF_MAX_DIM				2000	/* vector; halfvec twice, bit 32 times */

#define IVF_MIN_LISTS			1
#define IVF_DEFAULT_LISTS		100
#define IVF_MAX_LISTS			32768
#define IVF_DEFAULT_PROBES		1

/*
 * Compact storage (the "storage" reloption, RvCodeKind values kept in the
 * metapage's storage field): entries hold a varlena with the code of the
 * value instead of the value; centers stay the type's datum.  Scans rank
 * by code distance and re-rank batches of IVF_RERANK_BATCH *
 * ruvector.rerank_factor candidates with exact distances from the table.
 */
#define IVF_STORAGE_FLOAT32		RV_CODE_FLOAT32
#define IVF_RERANK_BATCH		40

/*
 * An iterative scan reads another ivfflat.probes lists for every
 * IVF_ITERATIVE_ROWS rows it hands out, so that under a selective filter
 * the rows handed out stay the nearest of a region that grows with them.
 * On glove-100 (316 lists) under a 10% filter, one batch per 10 rows gave
 * recall@10 0.99 at probes 8 and a fifth of the unfiltered QPS; one per 30
 * gives 0.95 at probes 8 (0.98 at 16), near the unfiltered recall.
 */
#define IVF_ITERATIVE_ROWS		30

/* Support function numbers in the operator classes */
#define IVF_DISTANCE_PROC		1	/* ranks entries and picks lists */
#define IVF_NORM_PROC			2	/* present: values are normalised */
#define IVF_KMEANS_DISTANCE_PROC	3	/* a true metric, for k-means */
#define IVF_KMEANS_NORM_PROC	4	/* present: spherical k-means */
#define IVF_TYPE_INFO_PROC		5	/* halfvec and bit; absent for vector */

/* Page format */
#define IVF_MAGIC_NUMBER		0x52564946	/* "RVIF" */
#define IVF_FORMAT_VERSION		2	/* 2: drift figures, refresh generations */
#define IVF_FORMAT_VERSION_V1	1	/* read, and upgraded by a refresh */
#define IVF_PAGE_ID				0xFF85
#define IVF_METAPAGE_BLKNO		0

/* Sub-phases of CREATE INDEX in pg_stat_progress_create_index (1 is core's) */
#define IVF_PHASE_KMEANS		2
#define IVF_PHASE_ASSIGN		3
#define IVF_PHASE_LOAD			4

/* Samples taken for k-means: 50 per list, never fewer than this */
#define IVF_SAMPLES_PER_LIST	50
#define IVF_MIN_SAMPLES			10000

/*
 * Page special space (indexam.h; page_id IVF_PAGE_ID, flags
 * IVF_PAGE_DELETED or zero).  nextblkno chains the list pages, and each
 * list's entry pages, in the order scans, inserts and VACUUM walk them.
 */
typedef RvIndexPageOpaqueData IvfPageOpaqueData;

/*
 * A page of a replaced generation (ivfrefresh.c), free for reuse.  Its
 * nextblkno is kept, so that recycling cut short can walk the chain again.
 */
#define IVF_PAGE_DELETED		0x0001

typedef IvfPageOpaqueData *IvfPageOpaque;

#define IvfPageGetOpaque(page)	((IvfPageOpaque) PageGetSpecialPointer(page))

/* An empty list or entry page; a new page of the index (indexam.c) */
#define IvfInitPage(page, pageSize)	rv_index_init_page(page, pageSize, IVF_PAGE_ID)
#define IvfNewBuffer(index, forkNum)	rv_index_new_buffer(index, forkNum)

/* Largest single item an empty page can take */
#define IVF_MAX_ITEM_SIZE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfPageOpaqueData)) - sizeof(ItemIdData))

/*
 * The metapage.  Version 1 ends at storage; a version 1 metapage is read
 * with the later fields at their defaults (no baseline, nothing pending),
 * and a refresh rewrites it as version 2.
 *
 * Drift: every row written by a build or refresh adds its k-means distance
 * (support proc 3) to its list's center to baseSum/baseCount, and every row
 * inserted since adds its distance to insSum/insCount, in the WAL record of
 * the entry page it goes to.  See ivfrefresh.c.
 */
typedef struct IvfMetaPageData
{
	uint32		magicNumber;
	uint32		version;
	uint32		dimensions;
	uint32		lists;
	BlockNumber listHead;		/* first list page */
	uint32		storage;		/* stored representation; 0 = the datum */

	/* Version 2 */
	BlockNumber oldListHead;	/* list pages of replaced generations, or invalid */
	uint32		refreshes;		/* refreshes since the build */
	double		baseSum;		/* rows of the build or last refresh */
	double		baseCount;
	double		insSum;			/* rows inserted since */
	double		insCount;
	TimestampTz lastRefresh;	/* 0 until the first refresh */
	TimestampTz builtAt;		/* the build */
} IvfMetaPageData;

/* Size of a version 1 metapage's contents */
#define IVF_META_V1_SIZE		offsetof(IvfMetaPageData, oldListHead)

typedef IvfMetaPageData *IvfMetaPage;

#define IvfPageGetMeta(page)	((IvfMetaPage) PageGetContents(page))

/* One inverted list on a list page; the center datum follows */
typedef struct IvfListData
{
	BlockNumber startPage;		/* first entry page */
	BlockNumber insertPage;		/* no room before this page of the chain */
} IvfListData;

typedef IvfListData *IvfList;

#define IVF_LIST_HEADER_SIZE	MAXALIGN(sizeof(IvfListData))
#define IvfListCenter(list)		((char *) (list) + IVF_LIST_HEADER_SIZE)
#define IvfListItemSize(valsize)	MAXALIGN(IVF_LIST_HEADER_SIZE + (valsize))

/* One indexed row on an entry page; the value datum follows */
typedef struct IvfEntryData
{
	ItemPointerData heaptid;
	uint16		flags;			/* unused, zero */
} IvfEntryData;

typedef IvfEntryData *IvfEntry;

#define IVF_ENTRY_HEADER_SIZE	MAXALIGN(sizeof(IvfEntryData))
#define IvfEntryValue(entry)	((char *) (entry) + IVF_ENTRY_HEADER_SIZE)
#define IvfEntryItemSize(valsize)	MAXALIGN(IVF_ENTRY_HEADER_SIZE + (valsize))

/* Elements of a stored value start this far into the datum */
#define IVF_VALUE_DATA_OFFSET	8
#define IvfValueData(v)			((const void *) ((const char *) (v) + IVF_VALUE_DATA_OFFSET))

/*
 * What an operator class indexes.  The type support function (support
 * proc 5) returns a pointer to one of these; vector opclasses have none.
 */
typedef enum IvfTypeKind
{
	IVF_TYPE_VECTOR,
	IVF_TYPE_HALFVEC,
	IVF_TYPE_BIT
} IvfTypeKind;

typedef struct IvfTypeInfo
{
	IvfTypeKind kind;
	int			maxDimensions;
	RvElemType	elem;			/* for the kernel table (indexam.c) */
} IvfTypeInfo;

/*
 * Everything needed to store and compare the values of one index: built
 * once per build, insert, scan or vacuum by IvfInitSupport.  The FmgrInfos
 * belong to the relcache entry.
 */
typedef struct IvfSupport
{
	const IvfTypeInfo *typeInfo;
	int			dimensions;
	Size		valueSize;		/* datum size, header included */
	int			kernelLength;	/* elements (bytes for bit) a kernel reads */
	RvIndexKernel distKind;		/* kernel of support proc 1 (indexam.c) */
	RvIndexKernel kmeansKind;	/* support proc 3 */
	bool		normalize;		/* proc 2: store and query unit vectors */
	bool		kmeansNormalize;	/* proc 4: spherical k-means */
	FmgrInfo   *distProc;
	FmgrInfo   *normProc;
	FmgrInfo   *kmeansProc;
	FmgrInfo   *kmeansNormProc;
	Oid			collation;

	/* Compact storage: entries hold code varlenas of entryValueSize bytes */
	int			storage;		/* IVF_STORAGE_FLOAT32 or another RvCodeKind */
	Size		entryValueSize; /* valueSize under float32 storage */
	int			codeMetric;		/* RvCodeMetric of distKind, or -1 */
	float	   *codeFloats;		/* dimensions floats (compact storage) */
} IvfSupport;

#define IvfIsCompact(support)	((support)->storage != IVF_STORAGE_FLOAT32)

/* Reloptions */
typedef struct IvfOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			lists;
	int			storage;		/* RvCodeKind */
} IvfOptions;

/* ivfflat.iterative_scan */
typedef enum IvfIterativeScan
{
	IVF_ITERATIVE_OFF,
	IVF_ITERATIVE_RELAXED
} IvfIterativeScan;

/*
 * A fixed-size array of values (samples or centers), each in its own
 * MAXALIGN'd slot of stride bytes.
 */
typedef struct IvfValueArray
{
	int			length;
	int			capacity;
	Size		stride;
	char	   *items;
} IvfValueArray;

#define IvfValueArrayGet(arr, i)	((arr)->items + (Size) (i) * (arr)->stride)

/*
 * Writes the entries of a build, list by list, into page chains.  Each
 * participant of a build (the leader and every parallel worker) has its
 * own writer and its own chains; the leader links them at the end.  A
 * list's page is filled in local memory and written to a new block when it
 * is full, pointing back at the list's previous page, so that a block is
 * only ever written once and never patched.
 */
typedef struct IvfChainWriter
{
	Relation	index;
	ForkNumber	forkNum;
	bool		parallel;		/* extend under the relation extension lock */
	int			lists;
	char	  **images;			/* each list's page being filled, or NULL */
	BlockNumber *heads;			/* each list's last page written: the chain's start */
	BlockNumber *tails;			/* each list's first page written: the chain's end */
	int			maxImages;
	int			nimages;
	int			victim;			/* clock hand for evictions */
	int64		entries;
	bool		logged;			/* WAL-log each page written (refresh) */
	BlockNumber pagesWritten;
} IvfChainWriter;

/* Drift figures of the rows a build or refresh writes */
typedef struct IvfDriftSum
{
	double		sum;
	double		count;
} IvfDriftSum;

/* GUC variables (ivfflat.c) */
extern int	ivfflat_probes;
extern int	ivfflat_iterative_scan;
extern int	ivfflat_max_probes;

/* GUC variables (ivfrefresh.c) */
extern int	ivf_refresh_test_fail_pages;
extern bool ivf_refresh_test_fail_panic;

/* ivfflat.c */
extern void RvIvfflatInit(void);
extern int	IvfGetLists(Relation index);
extern int	IvfGetStorageOption(Relation index);

/* ivfutils.c: support and values */
extern const IvfTypeInfo *IvfGetTypeInfo(Relation index);
extern void IvfInitSupport(IvfSupport *support, Relation index, int dimensions,
						   int storage);
extern void IvfCheckStorage(IvfSupport *support, Relation index, IndexInfo *indexInfo);
extern void IvfEncodeEntry(IvfSupport *support, const char *value, char *dst);
extern void IvfDecodeEntry(IvfSupport *support, const char *stored, char *dst);
extern Size IvfValueSize(const IvfTypeInfo *typeInfo, int dimensions);
extern void IvfFetchValue(IvfSupport *support, Datum datum, char *dst);
extern bool IvfNormalizeValue(IvfSupport *support, char *value);
extern void IvfCheckQuery(IvfSupport *support, const char *query, const char *sample);
extern float IvfDistanceFmgr(IvfSupport *support, FmgrInfo *proc, const char *a, const char *b);
extern int	IvfFilterCandidates(const float *lower, const float *halfcc, float u,
								int k, int skip, int *out);
extern float IvfMinExcept(const float *x, int k, int skip);
extern void IvfDistanceMany(IvfSupport *support, RvIndexKernel kind, FmgrInfo *proc,
							const char *q, const char *const *values, int count, float *out);
extern void IvfAccumulate(IvfSupport *support, const char *value, float *sum);
extern void IvfSetCenter(IvfSupport *support, const float *mean, char *center);
extern void IvfCheckMemory(Size required);
extern float IvfDriftDistance(IvfSupport *support, const char *value,
							  const char *center, char *scratch);

/* ivfutils.c: value arrays */
extern IvfValueArray *IvfValueArrayCreate(int capacity, Size valueSize);
extern void IvfValueArrayFree(IvfValueArray *arr);

/* ivfutils.c: pages and the metapage */
extern Buffer IvfNewOrFreeBuffer(Relation index);
extern void IvfReadMeta(Relation index, int *lists, int *dimensions, BlockNumber *listHead);
extern void IvfReadMetaAll(Relation index, IvfMetaPageData *meta);
extern void IvfCheckMeta(Relation index, IvfMetaPage meta);
extern void IvfSetMetaLower(Page page);
extern void IvfWriteMetaPage(Relation index, ForkNumber forkNum, int dimensions,
							 int lists, BlockNumber listHead, int storage);
extern void IvfWriteMetaBaseline(Relation index, ForkNumber forkNum, const IvfDriftSum *base);

/* ivfutils.c: the learning loop's regions (src/gnn/learning.c) */
extern int	IvfLearnLists(Relation index, int nsample, int *dim, float **centers,
						  int64 **sizes, double **radius);

/* ivfkmeans.c */
extern void IvfKmeans(IvfSupport *support, IvfValueArray *samples,
					  IvfValueArray *centers, Size memoryUsed, pg_prng_state *prng);

/* ivfbuild.c: chain writer, shared with refresh */
extern void IvfChainWriterInit(IvfChainWriter *w, Relation index, ForkNumber forkNum,
							   int lists, bool parallel, Size budget);
extern void IvfChainWriterAdd(IvfChainWriter *w, int list, const char *item, Size size);
extern void IvfChainWriterFinish(IvfChainWriter *w);

/* ivfbuild.c */
extern IndexBuildResult *ivfflatbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void ivfflatbuildempty(Relation index);
extern PGDLLEXPORT void rv_ivf_parallel_build_main(dsm_segment *seg, shm_toc *toc);

/* ivfinsert.c */
extern bool ivfflatinsert(Relation index, Datum *values, bool *isnull,
						  ItemPointer heap_tid, Relation heap,
						  IndexUniqueCheck checkUnique, bool indexUnchanged,
						  IndexInfo *indexInfo);
extern void IvfSetInsertPage(Relation index, BlockNumber listBlkno, OffsetNumber listOffno,
							 BlockNumber expected, BlockNumber insertPage);

/* ivfscan.c */
extern IndexScanDesc ivfflatbeginscan(Relation index, int nkeys, int norderbys);
extern void ivfflatrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
						  ScanKey orderbys, int norderbys);
extern bool ivfflatgettuple(IndexScanDesc scan, ScanDirection dir);
extern void ivfflatendscan(IndexScanDesc scan);

/* ivfrefresh.c: what a background refresh did */
typedef enum IvfAutoRefreshResult
{
	IVF_AUTO_FINE,				/* drift below the threshold, or unknown */
	IVF_AUTO_REFRESHED,
	IVF_AUTO_BUSY,				/* a lock could not be had at once */
	IVF_AUTO_GONE				/* dropped, invalid, or not an ivfflat index */
} IvfAutoRefreshResult;

typedef struct IvfAutoRefreshReport
{
	char	   *name;			/* schema-qualified, or NULL */
	double		drift;			/* before any refresh; NaN if unknown */
	int64		inserted;		/* rows inserted since the last build or refresh */
	int64		entries;		/* entries written by the refresh */
} IvfAutoRefreshReport;

/* ivfrefresh.c */
extern void RvIvfRefreshInit(void);
extern IvfAutoRefreshResult IvfRefreshIfDrifted(Oid indexoid, double threshold,
												IvfAutoRefreshReport *report);
extern bool IvfRecycleOld(Relation index);
extern int64 IvfRefreshIndex(Relation index);
extern double IvfMetaDrift(const IvfMetaPageData *meta);
extern void IvfRefreshTestPoint(Relation index, BlockNumber pagesWritten);

/* ivfvacuum.c */
extern IndexBulkDeleteResult *ivfflatbulkdelete(IndexVacuumInfo *info,
												IndexBulkDeleteResult *stats,
												IndexBulkDeleteCallback callback,
												void *callback_state);
extern IndexBulkDeleteResult *ivfflatvacuumcleanup(IndexVacuumInfo *info,
												   IndexBulkDeleteResult *stats);

/*
 * The distance of support proc 1 (or 3) between two stored values, with
 * the kernel called directly.  Hot: scans call it once per entry, builds
 * once per row and list.
 */
static inline float
IvfDistance(IvfSupport *support, RvIndexKernel kind, FmgrInfo *proc,
			const char *a, const char *b)
{
	if (kind == RV_KERNEL_FMGR)
		return IvfDistanceFmgr(support, proc, a, b);
	return (float) rv_index_kernel_distance(kind, IvfValueData(a), IvfValueData(b),
											support->kernelLength);
}

/*
 * Pin block blkno of the main fork, lock it in mode (BUFFER_LOCK_SHARE or
 * BUFFER_LOCK_EXCLUSIVE) and return its page; *buf is for the caller's
 * UnlockReleaseBuffer.  The chain walkers' first step, as nbtree's
 * _bt_getbuf is theirs.
 */
static inline Page
IvfReadLocked(Relation index, BlockNumber blkno, int mode, Buffer *buf)
{
	*buf = ReadBuffer(index, blkno);
	LockBuffer(*buf, mode);
	return BufferGetPage(*buf);
}

#endif							/* RV_IVFFLAT_H */
