/*-------------------------------------------------------------------------
 *
 * hnsw.h
 *	  The HNSW index access method (hnsw, and its alias ruhnsw): the on-disk
 *	  format, the search machinery shared by scans, inserts and VACUUM, and
 *	  the entry points of each file of the subsystem.
 *
 * NOTES
 *	  Behaviour (options, GUCs, messages, costs, results) follows pgvector's
 *	  HNSW so that pgvector users get the same answers; the page format and
 *	  the code are RuVector's own.
 *
 *	  Page format.  Block 0 is the metapage.  Every other page holds node
 *	  tuples (one per graph element) and, rarely, overflow neighbour tuples.
 *	  A node tuple is
 *
 *		header (8 bytes) | heap TIDs [HNSW_HEAPTIDS] | value | neighbour slots
 *
 *	  so that computing a distance and expanding an element touch the same
 *	  tuple on the same page.  The value is the indexed datum (vector,
 *	  halfvec, bit or sparsevec, normalised for cosine opclasses) with a
 *	  4-byte varlena header, at a fixed 4-byte aligned offset; under compact
 *	  storage (metapage field storage) it is instead a varlena holding the
 *	  code of that value (src/quant/codes.c).  The neighbour
 *	  slots hold index TIDs: 2*m for layer 0 first, then m for each upper
 *	  layer, (level + 2) * m in all; unused slots are invalid TIDs.  When the
 *	  node with its slots does not fit on one page (only for the largest
 *	  vectors), the slots live in an overflow tuple on a later page and the
 *	  node holds that tuple's TID in place of the slots.  The overflow page
 *	  always has a higher block number than the node's page, which keeps the
 *	  two-buffer lock order ascending.
 *
 *	  An element whose heap TIDs have all been removed by VACUUM is "being
 *	  deleted": it still routes searches but is never returned or chosen as a
 *	  new neighbour.  Once the graph no longer points at it, VACUUM marks it
 *	  deleted, clears its value and slots and bumps its version; the space is
 *	  then reused by inserts.  Scans that resume after releasing the scan lock
 *	  compare versions so that they never follow a recycled slot.
 *
 *	  Lock order for the subsystem is written at the top of hnswinsert.c.
 *
 * IDENTIFICATION
 *	  src/indexam/hnsw.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_HNSW_H
#define RV_HNSW_H

#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "access/parallel.h"
#include "nodes/execnodes.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/float.h"
#include "utils/relcache.h"

#include "indexam/indexam.h"
#include "quant/quant.h"

/* Limits and defaults (pgvector's, so that the same DDL is accepted) */
#define HNSW_MAX_DIM			2000
#define HNSW_MAX_NNZ			1000

#define HNSW_MIN_M				2
#define HNSW_DEFAULT_M			16
#define HNSW_MAX_M				100
#define HNSW_MIN_EF_CONSTRUCTION	4
#define HNSW_DEFAULT_EF_CONSTRUCTION	64
#define HNSW_MAX_EF_CONSTRUCTION	1000
#define HNSW_MIN_EF_SEARCH		1
#define HNSW_DEFAULT_EF_SEARCH	40
#define HNSW_MAX_EF_SEARCH		1000

/* Support function numbers in the operator classes */
#define HNSW_DISTANCE_PROC		1
#define HNSW_NORM_PROC			2
#define HNSW_TYPE_INFO_PROC		3

/* Identical vectors share one element holding up to this many heap TIDs */
#define HNSW_HEAPTIDS			10

/* Page format */
#define HNSW_MAGIC_NUMBER		0x52564857	/* "RVHW" */
#define HNSW_FORMAT_VERSION		1
#define HNSW_PAGE_ID			0xFF92
#define HNSW_METAPAGE_BLKNO		0
#define HNSW_HEAD_BLKNO			1

/*
 * Heavyweight page locks used as flags, not as page locks: inserts hold
 * HNSW_UPDATE_LOCK (share, or exclusive when they may move the entry point)
 * and scans hold HNSW_SCAN_LOCK (share) while they walk the graph; VACUUM
 * takes each exclusively to wait them out.  They must be block numbers no
 * other code locks as pages: the metapage and the first element page.
 */
#define HNSW_UPDATE_LOCK		0
#define HNSW_SCAN_LOCK			1

/* Sub-phase of CREATE INDEX reported in pg_stat_progress_create_index */
#define HNSW_PHASE_LOAD			2

/*
 * Storage of the graph's values (the "storage" reloption): RvCodeKind
 * values, kept in the metapage.  Compact storage (anything but float32)
 * keeps a code of the vector in the node, ranks by code distance and
 * re-ranks candidates with exact distances from the table (hnswscan.c).
 * Its dimension limits replace the type's.
 */
#define HNSW_STORAGE_FLOAT32	RV_CODE_FLOAT32
#define HNSW_MAX_DIM_FLOAT16	4000
#define HNSW_MAX_DIM_SQ8		8000
#define HNSW_MAX_DIM_BINARY		64000

/* 2*m neighbours on layer 0, m above */
#define HnswLayerM(m, lc)		((lc) == 0 ? (m) * 2 : (m))
/* First slot of layer lc among an element's neighbour slots */
#define HnswLayerStart(m, lc)	((lc) == 0 ? 0 : ((lc) + 1) * (m))
#define HnswSlotCount(m, level)	(((level) + 2) * (m))
/* Level multiplier mL = 1 / ln(m), as in the HNSW paper */
#define HnswGetMl(m)			(1 / log(m))

/*
 * Highest level an element may get: its slots must fit in an overflow
 * tuple on an empty page, and the level must fit in a uint8.
 */
#define HnswMaxLevel(m) \
	Min((int) ((HNSW_MAX_ITEM_SIZE - HNSW_NBR_HEADER_SIZE) / sizeof(ItemPointerData) / (m)) - 2, 63)

/*
 * Page special space (indexam.h; page_id HNSW_PAGE_ID, flags unused and
 * zero).  nextblkno chains element pages in insertion order, which is the
 * order VACUUM and inserts walk them.
 */
typedef RvIndexPageOpaqueData HnswPageOpaqueData;

typedef HnswPageOpaqueData *HnswPageOpaque;

#define HnswPageGetOpaque(page)	((HnswPageOpaque) PageGetSpecialPointer(page))

/* An empty hnsw page in a buffer (or its generic-WAL copy) */
#define HnswInitPage(buf, page) \
	rv_index_init_page(page, BufferGetPageSize(buf), HNSW_PAGE_ID)
#define HnswNewBuffer(index, forkNum)	rv_index_new_buffer(index, forkNum)

/* Largest single item a fresh page can take */
#define HNSW_MAX_ITEM_SIZE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData)) - sizeof(ItemIdData))

typedef struct HnswMetaPageData
{
	uint32		magicNumber;
	uint32		version;
	uint32		dimensions;
	uint16		m;
	uint16		efConstruction;
	BlockNumber entryBlkno;		/* InvalidBlockNumber for an empty graph */
	OffsetNumber entryOffno;
	int16		entryLevel;		/* -1 for an empty graph */
	BlockNumber insertPage;		/* first page that may have room */
	uint32		storage;		/* HNSW_STORAGE_* */
} HnswMetaPageData;

typedef HnswMetaPageData *HnswMetaPage;

#define HnswPageGetMeta(page)	((HnswMetaPage) PageGetContents(page))

/* Tuple types */
#define HNSW_NODE_TUPLE			1
#define HNSW_NBR_TUPLE			2

/* Node flags */
#define HNSW_NODE_DELETED		0x01	/* slot free for reuse */
#define HNSW_NODE_NBR_SEPARATE	0x02	/* slots are in an overflow tuple */

typedef struct HnswNodeTupleData
{
	uint8		type;			/* HNSW_NODE_TUPLE */
	uint8		level;
	uint8		flags;
	uint8		version;		/* bumped when the slot is recycled */
	uint16		nslots;			/* (level + 2) * m */
	uint16		nbroff;			/* offset of the slots (or of the overflow TID) */
	ItemPointerData heaptids[HNSW_HEAPTIDS];	/* invalid after the last */
	/* value at HNSW_NODE_HEADER_SIZE, slots at nbroff */
} HnswNodeTupleData;

typedef HnswNodeTupleData *HnswNodeTuple;

#define HNSW_NODE_HEADER_SIZE	sizeof(HnswNodeTupleData)
#define HnswNodeValue(nt)		((char *) (nt) + HNSW_NODE_HEADER_SIZE)
#define HnswNodeSlots(nt)		((ItemPointer) ((char *) (nt) + (nt)->nbroff))
#define HnswNodeNbrTid(nt)		HnswNodeSlots(nt)
#define HnswNodeIsDeleted(nt)	(((nt)->flags & HNSW_NODE_DELETED) != 0)
/* A live element: a node, not deleted, still pointing at a heap row */
#define HnswNodeIsLive(nt) \
	((nt)->type == HNSW_NODE_TUPLE && !HnswNodeIsDeleted(nt) && \
	 ItemPointerIsValid(&(nt)->heaptids[0]))

/*
 * The node tuple at (page, offno), or NULL if there is none (past the end,
 * a neighbour tuple) or it is deleted.  Callers compare its version with
 * the one they read before, as the slot may have been recycled.
 */
static inline HnswNodeTuple
HnswPageNode(Page page, OffsetNumber offno)
{
	HnswNodeTuple node;

	if (offno > PageGetMaxOffsetNumber(page))
		return NULL;
	node = (HnswNodeTuple) PageGetItem(page, PageGetItemId(page, offno));
	if (node->type != HNSW_NODE_TUPLE || HnswNodeIsDeleted(node))
		return NULL;
	return node;
}
#define HnswNodeHasSeparate(nt) (((nt)->flags & HNSW_NODE_NBR_SEPARATE) != 0)

/* Overflow neighbour tuple */
typedef struct HnswNbrTupleData
{
	uint8		type;			/* HNSW_NBR_TUPLE */
	uint8		level;
	uint8		flags;
	uint8		version;		/* equals its node's version */
	uint16		nslots;
	uint16		unused;
	ItemPointerData slots[FLEXIBLE_ARRAY_MEMBER];
} HnswNbrTupleData;

typedef HnswNbrTupleData *HnswNbrTuple;

#define HNSW_NBR_HEADER_SIZE	offsetof(HnswNbrTupleData, slots)

/*
 * Filter columns (columns 2.. of a multicolumn index, hnswfilter.c): a
 * node of such an index keeps their values right after its value, at a
 * MAXALIGN'd offset, in a block of fsize = HnswFilterSize(n) bytes: one
 * 8-byte word whose first byte has bit i set when filter column i is NULL,
 * then one 8-byte slot per column holding the value as store_att_byval
 * writes it.  The slots follow the block.  Single-column indexes have no
 * block (fsize 0): their nodes are what they always were.
 */
#define HNSW_MAX_FILTERS		4
#define HnswFilterSize(n)		((n) == 0 ? (Size) 0 : (Size) ((n) + 1) * sizeof(Datum))
#define HnswNodeFilterOffset(valsize)	MAXALIGN(HNSW_NODE_HEADER_SIZE + (valsize))

/* Byte offset of the slots: right after the value (and filter block), 2-byte aligned */
#define HnswNodeNbrOffset(valsize, fsize) \
	((fsize) == 0 ? SHORTALIGN(HNSW_NODE_HEADER_SIZE + (valsize)) : \
	 HnswNodeFilterOffset(valsize) + (fsize))
#define HnswNodeInlineSize(valsize, fsize, nslots) \
	MAXALIGN(HnswNodeNbrOffset(valsize, fsize) + (Size) (nslots) * sizeof(ItemPointerData))
#define HnswNodeSeparateSize(valsize, fsize) \
	MAXALIGN(HnswNodeNbrOffset(valsize, fsize) + sizeof(ItemPointerData))
/* The filter block of a live node of an index with filter columns */
#define HnswNodeFilter(nt) \
	((char *) (nt) + HnswNodeFilterOffset(VARSIZE(HnswNodeValue(nt))))
#define HnswNbrTupleSize(nslots) \
	MAXALIGN(HNSW_NBR_HEADER_SIZE + (Size) (nslots) * sizeof(ItemPointerData))

/*
 * What the opclass indexes.  The type support function (support proc 3)
 * returns a pointer to one of these; vector opclasses have none.
 */
typedef enum HnswValueKind
{
	HNSW_KIND_VECTOR,
	HNSW_KIND_HALFVEC,
	HNSW_KIND_BIT,
	HNSW_KIND_SPARSEVEC
} HnswValueKind;

typedef struct HnswTypeInfo
{
	HnswValueKind kind;
	int			maxDimensions;
	RvElemType	elem;			/* for the kernel table (indexam.c) */
} HnswTypeInfo;

/*
 * Everything needed to index and compare values of one index.  Built once
 * per build, insert, scan or vacuum by HnswInitSupport.
 */
typedef struct HnswSupport
{
	const HnswTypeInfo *typeInfo;
	RvIndexKernel kind;			/* kernel of support proc 1 (indexam.c) */
	FmgrInfo   *distproc;		/* support proc 1, for RV_KERNEL_FMGR */
	bool		normalize;		/* support proc 2 present: cosine */
	Oid			collation;

	/*
	 * Compact storage: stored values are code varlenas (4-byte header, then
	 * rv_code_size(storage, dimensions) bytes), and stored values are
	 * compared by decoding the first into codeFloats.
	 */
	int			storage;		/* HNSW_STORAGE_FLOAT32 or another RvCodeKind */
	int			dimensions;		/* of the index (compact storage only) */
	RvCodeMetric codeMetric;
	float	   *codeFloats;
	void	   *codeWork;
	RvCodeQuery codeQuery;
	char	   *codeQueryOf;	/* the stored value codeQuery was made from */
	bool		codeQueryValid;

	/*
	 * How a distance relates to a metric, for the near-duplicate rules
	 * (HNSW_NEAR_DUP_RATIO): HNSW_METRIC_NONE when it does not (inner
	 * product, fmgr kernels).
	 */
	int			metricForm;

	/*
	 * Filter columns (hnswfilter.c): how many, the bytes of their block in
	 * a node (0 without), and each one's type length (by value, 1 to 8).
	 */
	int			nfilters;
	Size		filterSize;
	int16		filterLen[HNSW_MAX_FILTERS];
	Oid			filterType[HNSW_MAX_FILTERS];
} HnswSupport;

/* HnswSupport.metricForm */
#define HNSW_METRIC_NONE		0
#define HNSW_METRIC_SQUARED		1	/* the square of a metric (L2, Hamming) */
#define HNSW_METRIC_LINEAR		2	/* a metric (L1, Jaccard) */
#define HNSW_METRIC_UNIT_NEGDOT	3	/* -dot of unit vectors: L2^2 = 2 + 2d */

#define HnswIsCompact(support)	((support)->storage != HNSW_STORAGE_FLOAT32)

/* Reloptions */
typedef struct HnswOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			efConstruction;
	int			storage;		/* RvCodeKind */
} HnswOptions;

/* Iterative scan modes (hnsw.iterative_scan) */
typedef enum HnswIterativeScan
{
	HNSW_ITERATIVE_OFF,
	HNSW_ITERATIVE_RELAXED,
	HNSW_ITERATIVE_STRICT
} HnswIterativeScan;

/*
 * On-disk search state shared by scans, inserts and VACUUM's repairs.
 *
 * Candidates are records in one growing array (no allocation per visited
 * element); heaps hold (distance, record index) pairs.  The visited set is
 * an open-addressing hash of index TIDs sized once from ef and m and only
 * grown when it fills.
 */
typedef struct HnswCand
{
	double		distance;
	BlockNumber blkno;
	OffsetNumber offno;
	uint8		level;
	uint8		version;
	uint32		tidStart;		/* first heap TID in HnswSearch.heaptids */
	uint8		ntids;			/* heap TIDs not yet returned */
	uint8		alive;			/* had heap TIDs when read */
	uint8		slotLayer;		/* layer of the copied slots, or HNSW_NO_SLOTS */
	uint8		nslots;			/* copied slots (valid ones) */
	uint32		valueOff;		/* copy of the value in HnswSearch.values */
	uint32		slotStart;		/* copied slots in HnswSearch.slots */
} HnswCand;

#define HNSW_NO_SLOTS			0xFF

typedef struct HnswHeapItem
{
	double		distance;
	uint32		cand;
} HnswHeapItem;

typedef struct HnswHeap
{
	HnswHeapItem *items;
	int			count;
	int			capacity;
} HnswHeap;

struct HnswSearch;

/*
 * Adaptive effort (hnswscan.c): called on layer 0 for each candidate
 * popped, before it is expanded, with its distance and the current ef.
 * Returns the ef to go on with: W is cut down to it if smaller, or grows
 * back from the discarded candidates if larger; *stop ends the search
 * before this candidate is expanded.
 */
typedef int (*HnswProgressFn) (struct HnswSearch *s, void *arg, double popped, int ef,
							   bool *stop);

typedef struct HnswSearch
{
	Relation	index;
	HnswSupport *support;
	int			m;
	const char *query;			/* NULL: every distance is 0 */
	RvCodeQuery *codeQuery;		/* compact storage: the query as floats */
	RvCodeQuery codeQueryData;

	/* What to keep from each element read */
	bool		wantHeapTids;
	bool		wantValues;
	bool		keepDiscarded;	/* iterative scans */
	bool		skipDeadForEf;	/* VACUUM repair: dying elements do not count */
	ItemPointerData skipTid;	/* element being repaired, never a result */
	bool		trackCodeError; /* strict scans of compact storage */

	/*
	 * With trackCodeError, the largest decoding error (rv_code_error) and
	 * decoded norm of every element read: bounds of what a code distance
	 * can hide, for the strict-order scan (hnswscan.c).
	 */
	float		maxCodeError;
	float		maxCodeNorm;

	/* Candidates */
	HnswCand   *cands;
	uint32		ncands;
	uint32		maxcands;
	ItemPointerData *heaptids;
	uint32		nheaptids;
	uint32		maxheaptids;
	char	   *values;
	Size		valuesUsed;
	Size		valuesMax;

	/* Visited set of index TIDs */
	uint64	   *visited;
	uint32		visitedMask;
	uint32		visitedCount;

	/* Heaps: C (nearest first), W (furthest first), discarded (nearest) */
	HnswHeap	near;
	HnswHeap	far;
	HnswHeap	discarded;

	int64		tuples;			/* elements visited, for max_scan_tuples */

	/*
	 * Neighbour slots of elements admitted to the candidate heap, copied
	 * when they were read so that expanding them reads no page.
	 */
	ItemPointerData *slots;
	uint32		nslotsUsed;
	uint32		maxslots;

	/* Bytes of a node to prefetch (header and value) */
	Size		prefetchBytes;

	/* W of the last layer-0 search of HnswFindNeighbors, nearest first */
	uint32	   *layer0;
	int			nlayer0;

	/* Scratch for one expansion, and the last layer's result */
	ItemPointerData *scratchTids;
	uint32	   *result;
	int			maxresult;

	/*
	 * Adaptive effort (scans only; off when trackK = 0 and progress is
	 * NULL): the trackK nearest distances admitted to W (topk, furthest
	 * on top, so its top is the k-th distance once full), the nearest,
	 * and the hook called for each candidate popped on layer 0.  With
	 * copyDiscarded (until the checkpoint) the elements W turns away keep
	 * their slots as admitted ones do: W may take them back when the
	 * effort grows, and expanding them then reads no page.
	 */
	/*
	 * Filtered scans (hnswfilter.c): the scan keys on filter columns.  On
	 * layer 0 an element that fails them still routes the search (it
	 * enters C while W is not full or it is nearer than W's furthest) but
	 * never enters W, never counts towards ef and keeps no heap TIDs, so
	 * ef counts elements that pass and none that fail is returned.  The
	 * search then expands about ef / selectivity elements; maxTuples
	 * (hnsw.max_scan_tuples) caps layer 0's elements read even in the
	 * first batch, as a filter nothing passes would otherwise walk the
	 * whole graph.
	 */
	struct HnswFilterKey *filterKeys;
	int			nfilterKeys;
	int64		maxTuples;

	int			trackK;
	bool		copyDiscarded;	/* copy the slots of what W turns away too */
	HnswHeap	topk;
	double		nearestSeen;
	double		admitBound;		/* W and C take nothing further (bound rule) */
	HnswProgressFn progress;
	void	   *progressArg;
} HnswSearch;

/* A batch of page changes: one generic WAL record, or in place when building */
typedef struct HnswWriter
{
	GenericXLogState *state;
	bool		building;
	int			nbufs;
	Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
} HnswWriter;

/* One element's neighbours at one layer, for inserts and repairs */
typedef struct HnswNeighborList
{
	int			count;
	uint32		cands[FLEXIBLE_ARRAY_MEMBER];	/* indexes into HnswSearch.cands */
} HnswNeighborList;

/* GUC variables (hnsw.c) */
extern int	hnsw_ef_search;
extern int	hnsw_iterative_scan;
extern int	hnsw_max_scan_tuples;
extern double hnsw_scan_mem_multiplier;

/* hnsw.c */
extern void RvHnswInit(void);
extern int	HnswGetM(Relation index);
extern int	HnswGetEfConstruction(Relation index);
extern int	HnswGetStorageOption(Relation index);

/* hnswutils.c: support, values and distances */
extern const HnswTypeInfo *HnswGetTypeInfo(Relation index);
extern void HnswInitSupport(HnswSupport *support, Relation index);
extern bool HnswHasMetric(Relation index);
extern bool HnswNormalize(HnswSupport *support, Datum value, Datum *out);
extern bool HnswFormValue(HnswSupport *support, Datum in, Datum *out);
extern double HnswDistanceFmgr(HnswSupport *support, const char *a, const char *b);
extern void HnswCheckQuery(HnswSupport *support, const char *query, const char *sample);
extern void HnswValueFloats(HnswSupport *support, const char *value, float *out);
extern char *HnswEncodeValue(HnswSupport *support, const char *value);
extern Size HnswStoredValueSize(HnswSupport *support);
extern double HnswStoredDistance(HnswSupport *support, const char *a, const char *b);
extern int	HnswMaxDimensions(HnswSupport *support);
extern void HnswCheckStorage(HnswSupport *support, Relation index, IndexInfo *indexInfo,
							 int dimensions);

/*
 * hnswfilter.c: filter columns.  A scan key on a filter column as the scan
 * evaluates it: integer-like and float comparisons inline (the column's
 * value and the argument widened to int64 or double, compared under the
 * key's btree strategy), anything else through the key's function.
 */
typedef struct HnswFilterKey
{
	ScanKey		key;
	int			filter;			/* 0-based filter column */
	uint8		kind;			/* HNSW_FILTER_* */
	uint8		strategy;		/* btree strategy, inline kinds */
	int64		iarg;
	double		farg;
} HnswFilterKey;

#define HNSW_FILTER_FMGR		0
#define HNSW_FILTER_INT			1
#define HNSW_FILTER_FLOAT		2


extern void HnswCheckColumns(Relation index);
extern void HnswFilterInit(HnswSupport *support, Relation index);
extern void HnswFormFilter(const HnswSupport *support, const Datum *values, const bool *isnull,
						   char *out);
extern HnswFilterKey *HnswFilterPrepare(const HnswSupport *support, ScanKey keys, int nkeys);
extern bool HnswFilterMatch(const HnswSupport *support, const HnswFilterKey *keys, int nkeys,
							const char *block);

/* hnswutils.c: pages and the metapage */
extern int	HnswTidIndex(const ItemPointerData *tids, int n, ItemPointer tid);
extern int	HnswTidCount(const ItemPointerData *tids, int n);
extern Buffer HnswReadBuffer(Relation index, BlockNumber blkno);

/*
 * An element read for repair (VACUUM's and ruvector_hnsw_repair's): where
 * it is, its level and version when read, and a copy of its value.
 */
typedef struct HnswElementRef
{
	BlockNumber blkno;
	OffsetNumber offno;
	int			level;
	uint8		version;
	char	   *value;			/* NULL until loaded */
} HnswElementRef;

extern bool HnswLoadElement(Relation index, BufferAccessStrategy bas, HnswElementRef *e);
extern void HnswElementRefFill(HnswElementRef *e, BlockNumber blkno, OffsetNumber offno,
							   HnswNodeTuple node);
extern void HnswReadMeta(Relation index, int *m, int *efConstruction,
						 ItemPointer entry, int *entryLevel, BlockNumber *insertPage);
extern void HnswSetEntryPoint(Relation index, ForkNumber forkNum, bool building,
							  BlockNumber blkno, OffsetNumber offno, int level,
							  bool onlyIfHigher);
extern void HnswSetInsertPage(Relation index, ForkNumber forkNum, bool building,
							  BlockNumber insertPage);
extern void HnswWriteMetaPage(Relation index, ForkNumber forkNum, int dimensions,
							  int m, int efConstruction, int storage);
extern void HnswWriterStart(HnswWriter *w, Relation index, bool building);
extern Page HnswWriterRegister(HnswWriter *w, Buffer buf, bool isNew);
extern void HnswWriterFinish(HnswWriter *w, bool release);
extern void HnswWriterAbort(HnswWriter *w, bool release);
extern ItemPointer HnswGetSlots(Relation index, Page page, HnswNodeTuple node,
								Buffer *sbuf, HnswNbrTuple *ntup);

/* An element's slots read under share locks (HnswLockSlots) */
typedef struct HnswLockedSlots
{
	Buffer		buf;			/* the node's page */
	Buffer		sbuf;			/* the overflow tuple's page, or InvalidBuffer */
	HnswNodeTuple node;			/* NULL if the element is gone or changed */
	ItemPointer slots;
} HnswLockedSlots;

extern ItemPointer HnswLockSlots(Relation index, BufferAccessStrategy bas, BlockNumber blkno,
								 OffsetNumber offno, uint8 version, HnswLockedSlots *ls);
extern void HnswUnlockSlots(HnswLockedSlots *ls);

/* hnswutils.c: search on disk */
extern void HnswSearchInit(HnswSearch *s, Relation index, HnswSupport *support, int m,
						   int ef, const char *query);
extern void HnswSearchReset(HnswSearch *s);
extern void HnswSearchSizeVisitedForFilter(HnswSearch *s);
extern void HnswSearchRememberVisited(HnswSearch *s);
extern void HnswSearchSetFloats(HnswSearch *s, const float *x);
extern void HnswSearchDecodeQuery(HnswSearch *s);
extern double HnswSearchDistance(HnswSearch *s, const char *value);
extern int	HnswSearchEntry(HnswSearch *s, BlockNumber blkno, OffsetNumber offno);
extern int	HnswSearchLayer(HnswSearch *s, uint32 *ep, int nep, int ef, int lc,
							bool freshVisited, uint32 **result);
extern const char *HnswCandValue(HnswSearch *s, uint32 cand);
typedef double (*HnswPairDistance) (void *arg, int i, int j);
extern void HnswMarkRedundant(const HnswSupport *support, int n, const float *dists,
							  const uint8 *kept, const uint8 *dup, HnswPairDistance dist,
							  void *arg, uint8 *red);
extern int	HnswFillLast(const HnswSupport *support, int n, const float *dists,
						 const uint8 *kept, const uint8 *dup, int lm, HnswPairDistance dist,
						 void *arg);
extern int	HnswFillOrder(const uint8 *kept, const uint8 *dup, const uint8 *red, int n, int lm,
						  int *order);
extern int	HnswSelectNeighbors(HnswSearch *s, uint32 *cands, int ncands, int lm,
								uint32 *selected);
extern double HnswRandomLevelUniform(void);
extern int	HnswRandomLevel(int m);

/* hnswutils.c: heaps */
extern void HnswHeapPush(HnswHeap *h, double distance, uint32 cand, bool maxHeap);
extern HnswHeapItem HnswHeapPop(HnswHeap *h, bool maxHeap);

/* hnswutils.c: adaptive effort (learning.h) */
extern void HnswSearchRetrack(struct HnswSearch *s, int trackK);

/* hnswbuild.c */
extern IndexBuildResult *hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void hnswbuildempty(Relation index);
extern PGDLLEXPORT void HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc);

/* hnswinsert.c */
extern bool hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
					   Relation heap, IndexUniqueCheck checkUnique,
					   bool indexUnchanged, IndexInfo *indexInfo);
extern void HnswFindNeighbors(HnswSearch *s, ItemPointer entry, int entryLevel, int level,
							  int efConstruction, HnswNeighborList **layers);
extern void HnswInsertOnDisk(Relation index, HnswSupport *support, Datum value,
							 const char *filter, ItemPointer heaptid, bool building);
extern int	HnswConnectNeighbors(Relation index, HnswSearch *s, BlockNumber blkno,
								 OffsetNumber offno, uint8 version, ItemPointer added,
								 HnswNeighborList **layers, int level, bool building,
								 bool *written0);
typedef int (*HnswPickSlot) (void *arg, ItemPointer tids, int n);
extern bool HnswForceLink(Relation index, HnswSearch *s, HnswCand *c, int lc,
						  ItemPointer newTid, HnswPickSlot pick, void *arg,
						  ItemPointer replaced);

/* hnswrepair.c */
typedef struct HnswRepairResult
{
	int64		unreachable_before; /* live elements layer 0 did not reach */
	int64		unreachable_after;
	int64		elements_reconnected;	/* unreachable ones given a link in */
	int64		links_added;	/* own empty slots filled, layer-0 links into repaired elements */
	int64		weak_reinforced;	/* weak spots (and named elements) given more links */
	int64		named_searched;	/* HnswRepairAround: named elements and neighbours */
	int64		one_way_before; /* live elements reached that do not lead back */
	int64		one_way_after;
	int64		reach_links;	/* links the reach pass forced, in and out */
	int			rounds;			/* bridging passes over the graph */
	int			escalations;	/* shares of a hard-to-find part repaired */
	double		elapsed_ms;
} HnswRepairResult;

extern void HnswRepair(Relation heap, Relation index, HnswRepairResult *result);
extern void HnswRepairAround(Relation heap, Relation index, const ItemPointerData *tids,
							 int ntids, HnswRepairResult *result);
extern void HnswRepairReach(Relation index, HnswRepairResult *result);

/* hnswscan.c */
extern IndexScanDesc hnswbeginscan(Relation index, int nkeys, int norderbys);
extern void hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
					   ScanKey orderbys, int norderbys);
extern bool hnswgettuple(IndexScanDesc scan, ScanDirection dir);
extern void hnswendscan(IndexScanDesc scan);

/* hnswvacuum.c */
extern IndexBulkDeleteResult *hnswbulkdelete(IndexVacuumInfo *info,
											 IndexBulkDeleteResult *stats,
											 IndexBulkDeleteCallback callback,
											 void *callback_state);
extern IndexBulkDeleteResult *hnswvacuumcleanup(IndexVacuumInfo *info,
												IndexBulkDeleteResult *stats);

/*
 * hnswgraph.c: the whole graph in memory, for the integrity control plane
 * (src/integrity/) and repairs.  Elements are numbered 0..nelems-1 in page
 * chain order; links are element numbers.  An element's links have the
 * layout of its slots: HnswSlotCount(m, level) entries, layer lc at
 * HnswLayerStart(m, lc), HnswLayerM(m, lc) of them, HNSW_GRAPH_NONE for an
 * empty slot or a link to no element.  Deleted elements (free slots) are
 * kept, with no links, so that element numbers of links stay valid.
 */
#define HNSW_GRAPH_NONE			PG_UINT32_MAX

typedef struct HnswGraphElement
{
	BlockNumber blkno;
	OffsetNumber offno;
	uint8		level;
	bool		deleted;		/* HNSW_NODE_DELETED: a free slot */
	uint8		ntids;			/* heap TIDs; 0 while being deleted */
	uint32		tidStart;		/* into HnswGraph.heaptids */
	uint32		nbrStart;		/* into HnswGraph.nbrs; slots of all layers */
} HnswGraphElement;

typedef struct HnswGraph
{
	int			m;
	uint32		nelems;
	uint32		nlive;			/* not deleted, with heap TIDs */
	HnswGraphElement *elems;
	uint32	   *nbrs;
	Size		nnbrs;
	ItemPointerData *heaptids;
	Size		nheaptids;
	uint32		entry;			/* element number, or HNSW_GRAPH_NONE */
	int			entryLevel;
	int			maxLevel;		/* highest level of an undeleted element, -1 */
	/* (blkno, offno) -> element number */
	BlockNumber nblocks;
	uint32	   *blockStart;		/* nblocks + 1 entries into offMap */
	uint32	   *offMap;			/* by offset - 1 within a block */
} HnswGraph;

#define HnswGraphIsLive(g, i) \
	(!(g)->elems[i].deleted && (g)->elems[i].ntids > 0)

extern HnswGraph *HnswGraphLoad(Relation index);
extern void HnswGraphFree(HnswGraph *g);
extern double HnswGraphReachMemory(uint64 nelems, uint64 nslots, BlockNumber nblocks);
extern uint32 *HnswGraphNeighbors(const HnswGraph *g, uint32 elem, int lc, int *count);
extern uint32 HnswGraphFind(const HnswGraph *g, BlockNumber blkno, OffsetNumber offno);
extern uint32 HnswGraphWalk(const HnswGraph *g, uint32 start, bool *reached, uint32 *parent);
extern uint32 HnswGraphReachable(const HnswGraph *g, bool *reached, uint32 *parent);

/* The reverse of layer 0: in-links of element v are from[start[v] .. start[v + 1]) */
typedef struct HnswGraphInLinks
{
	Size	   *start;			/* nelems + 1 entries */
	uint32	   *from;
} HnswGraphInLinks;

extern void HnswGraphInLinksBuild(const HnswGraph *g, HnswGraphInLinks *in);
extern void HnswGraphInLinksFree(HnswGraphInLinks *in);
extern uint32 HnswGraphWalkBack(const HnswGraph *g, const HnswGraphInLinks *in, uint32 target,
								bool *reaching);
extern uint32 HnswGraphReaching(const HnswGraph *g, const HnswGraphInLinks *in, bool *reaching);

/* Value accessors for the kernels */
#include "distance/distance.h"
#include "types/types.h"
#include "utils/varbit.h"

/*
 * Distance between two stored values (4-byte varlena headers, same
 * dimensions).  The kernels return what the SQL support functions return,
 * so index order equals operator order.
 */
static inline double
HnswDistance(HnswSupport *support, const char *a, const char *b)
{
	if (support->kind != RV_KERNEL_FMGR)
	{
		switch (support->typeInfo->kind)
		{
			case HNSW_KIND_VECTOR:
				return rv_index_kernel_distance(support->kind, ((const Vector *) a)->x,
												((const Vector *) b)->x,
												((const Vector *) a)->dim);
			case HNSW_KIND_HALFVEC:
				return rv_index_kernel_distance(support->kind, ((const HalfVector *) a)->x,
												((const HalfVector *) b)->x,
												((const HalfVector *) a)->dim);
			case HNSW_KIND_BIT:
				return rv_index_kernel_distance(support->kind, VARBITS((const VarBit *) a),
												VARBITS((const VarBit *) b),
												VARBITBYTES((const VarBit *) a));
			case HNSW_KIND_SPARSEVEC:
				break;
		}
	}
	return HnswDistanceFmgr(support, a, b);
}

/*
 * Open-addressing sets keyed by element TID (the search's visited set in
 * hnswutils.c, the insert's candidate map in hnswinsert.c): the key, and
 * its home slot by Fibonacci hashing (mask = table size - 1), linear
 * probing.  Not simplehash: the sets only insert and look up a uint64 key
 * (0 is free, as no element sits at block 0), and the visited set is
 * cleared between searches by one memset; kept as they were, not measured
 * against simplehash.
 */
static inline uint64
HnswTidKey(BlockNumber blkno, OffsetNumber offno)
{
	return ((uint64) blkno << 16) | offno;
}

static inline uint32
HnswKeySlot(uint64 key, uint32 mask)
{
	return (uint32) ((key * UINT64CONST(0x9E3779B97F4A7C15)) >> 32) & mask;
}

/* Whether two stored values are the same vector, byte for byte */
static inline bool
HnswSameValue(const char *a, const char *b)
{
	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

/*
 * Near-duplicates.  Tight clusters of near-identical vectors larger than m
 * (duplicated documents, boilerplate chunks, template text) defeat the
 * plain HNSW rules: every member's search finds mostly the cluster, the
 * heuristic's choices between equidistant copies are coin flips, and
 * nearest-first filling gives every list to the cluster.  Searches then
 * rarely get into or out of such a cluster, and the entry point may not
 * reach it at all (issue 13).  Three rules keep links leaving a cluster:
 * a near-duplicate of the owner does not prune (HnswPrunes); a layer-0
 * search crowded with near-duplicates is widened (HnswDuplicateEf); and
 * near-duplicates of the owner, and of kept neighbours, come last when
 * pruned candidates top a list up (HnswFillOrder).  A candidate is a
 * near-duplicate when its metric distance is below HNSW_NEAR_DUP_RATIO of
 * the distance it is compared with; distances that are no metric (inner
 * product, fmgr kernels) have none, and the plain rules apply.
 */
#define HNSW_NEAR_DUP_RATIO		0.25

/* A distance as the square of a metric distance, or -1 if it is none */
static inline double
HnswMetricSquared(const HnswSupport *support, double d)
{
	switch (support->metricForm)
	{
		case HNSW_METRIC_SQUARED:
			return d;
		case HNSW_METRIC_LINEAR:
			return d * d;
		case HNSW_METRIC_UNIT_NEGDOT:
			return Max(2 + 2 * d, 0);
	}
	return -1;
}

/*
 * The distance whose metric square is 1 + eps times that of distance d
 * (the learning loop's bound rule, gnn.h); infinity when the distances
 * are no metric's.
 */
static inline double
HnswMetricBound(const HnswSupport *support, double d, double eps)
{
	switch (support->metricForm)
	{
		case HNSW_METRIC_SQUARED:
			return d * (1 + eps);
		case HNSW_METRIC_LINEAR:
			return d * sqrt(1 + eps);
		case HNSW_METRIC_UNIT_NEGDOT:
			return (1 + eps) * (1 + d) - 1;
	}
	return get_float8_infinity();
}

/* Whether distance d is below HNSW_NEAR_DUP_RATIO of distance dref */
static inline bool
HnswNearDuplicate(const HnswSupport *support, double d, double dref)
{
	double		dsq = HnswMetricSquared(support, d);
	double		refsq = HnswMetricSquared(support, dref);

	return dsq >= 0 && refsq > 0 &&
		dsq < HNSW_NEAR_DUP_RATIO * HNSW_NEAR_DUP_RATIO * refsq;
}

/*
 * Whether distance d is below HNSW_NEAR_DUP_RATIO of dref without being
 * zero (an exact copy).  Exact copies are one point split into elements of
 * HNSW_HEAPTIDS heap TIDs each: their lists link each other like the
 * nearest neighbours they are (the twin rule of HnswPrunes keeps links out
 * of them), and a list that links one of them may link others, so that
 * many copies stay reachable.  HnswFillOrder leaves them in distance order.
 */
static inline bool
HnswNearDuplicateNotCopy(const HnswSupport *support, double d, double dref)
{
	return HnswNearDuplicate(support, d, dref) && HnswMetricSquared(support, d) > 0;
}

/*
 * ef_construction widened for an element whose layer-0 search kept nw
 * candidates, ndup of them near-duplicates of it (against the furthest).
 * They fill W without telling anything about the neighbourhood beyond the
 * cluster.  Each costs HNSW_DUP_EF_FACTOR places, up to HNSW_DUP_EF_MAX
 * times ef_construction.  Returns ef_construction (no second search) when
 * W was not full or holds none.
 */
#define HNSW_DUP_EF_FACTOR		2
#define HNSW_DUP_EF_MAX			3

static inline int
HnswDuplicateEf(int efConstruction, int nw, int ndup)
{
	if (ndup == 0 || nw < efConstruction)
		return efConstruction;
	return Min(efConstruction + HNSW_DUP_EF_FACTOR * ndup, HNSW_DUP_EF_MAX * efConstruction);
}

/*
 * The selection heuristic's test: whether kept neighbour r makes candidate
 * e redundant, e being no closer to the owner than to r.
 *
 * A kept neighbour that is a near-duplicate of the owner gives no
 * direction: d(e, r) and d(e, owner) differ by at most d(r, owner)
 * (triangle inequality), so for a candidate much further away which one is
 * smaller is noise, and the plain test would let a cluster's members prune
 * nearly every link leaving it.  So r prunes e only if r is at least
 * HNSW_NEAR_DUP_RATIO of e's distance away from the owner (r_to_owner <=
 * e_to_owner, as kept neighbours come first).  Exact duplicates are the
 * limit case: a kept neighbour identical to the owner prunes only other
 * identical candidates (values are compared only on exact distance ties),
 * else the lists of a duplicated vector would link only its other copies.
 */
static inline bool
HnswPrunes(const HnswSupport *support, const char *e, const char *r, const char *owner,
		   float e_to_r, float e_to_owner, float r_to_owner)
{
	if (e_to_r != e_to_owner)
	{
		if (e_to_r > e_to_owner)
			return false;
		return !HnswNearDuplicate(support, r_to_owner, e_to_owner);
	}
	if (!HnswSameValue(r, owner))
		return true;
	return HnswSameValue(e, owner);
}

#endif							/* RV_HNSW_H */
