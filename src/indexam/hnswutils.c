/*-------------------------------------------------------------------------
 *
 * hnswutils.c
 *	  Shared machinery of the HNSW index: operator class support, the values
 *	  the index stores, pages and the metapage, and the on-disk layer search
 *	  used by scans, inserts and VACUUM.
 *
 * NOTES
 *	  Distances.  HnswInitSupport recognises the distance support functions
 *	  of the vector, halfvec and bit opclasses and from then on calls the
 *	  SIMD kernel directly (HnswDistance in hnsw.h); any other function is
 *	  called through fmgr.  The kernels compute exactly what those SQL
 *	  functions return, so the order of index results is the order of the
 *	  operator.
 *
 *	  The search reads one page at a time under a share content lock and
 *	  copies out what it keeps (heap TIDs, neighbour slots, and values for
 *	  inserts); it never holds two content locks, and no pin outlives the
 *	  visit, so VACUUM's cleanup locks only ever wait for a running visit.
 *	  Neighbours of an expanded element are sorted by block so that those
 *	  sharing a page cost one lock, and pages go through a short software
 *	  pipeline so that their cache misses overlap.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswutils.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "indexam/hnsw.h"
#include "indexam/indexam.h"
#include "types/typeutils.h"

/* ----------------------------------------------------------------
 *		Operator class support
 * ----------------------------------------------------------------
 */

/*
 * The value kind of an index: what its type support function says, or a
 * plain vector when the opclass has none (the vector opclasses).
 */
const HnswTypeInfo *
HnswGetTypeInfo(Relation index)
{
	static const HnswTypeInfo vectorInfo = {HNSW_KIND_VECTOR, HNSW_MAX_DIM, RV_ELEM_F32};
	FmgrInfo   *proc;

	if (!OidIsValid(index_getprocid(index, 1, HNSW_TYPE_INFO_PROC)))
		return &vectorInfo;

	proc = index_getprocinfo(index, 1, HNSW_TYPE_INFO_PROC);
	return (const HnswTypeInfo *) DatumGetPointer(FunctionCall0Coll(proc, InvalidOid));
}

/*
 * What the relcache entry keeps (rd_amcache): the storage and dimensions
 * from the metapage, the size of the last filtered search's visited set
 * and the buffer hints (below).
 */
typedef struct HnswAmCache
{
	bool		metaKnown;
	int			storage;
	int			dimensions;
	uint32		filteredVisited;	/* elements the last filtered scan visited */
	BlockNumber nblocks;		/* of bufs */
	Buffer		bufs[FLEXIBLE_ARRAY_MEMBER];
} HnswAmCache;

/*
 * Storage and dimensions of an index: from the metapage once it exists
 * (cached in the relcache entry, which REINDEX invalidates), else, during
 * the build, from the reloption and the column's typmod.
 */
static void
GetStorage(Relation index, int *storage, int *dimensions)
{
	HnswAmCache *cache = (HnswAmCache *) index->rd_amcache;

	if (cache == NULL || !cache->metaKnown)
	{
		HnswMetaPageData meta;
		Buffer		buf;

		if (RelationGetNumberOfBlocks(index) == 0)
		{
			*storage = HnswGetStorageOption(index);
			*dimensions = TupleDescAttr(index->rd_att, 0)->atttypmod;
			return;
		}

		/*
		 * No checks here: a damaged metapage is reported by HnswReadMeta,
		 * or as a row by ruvector_hnsw_verify.
		 */
		buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		meta = *HnswPageGetMeta(BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		if (meta.magicNumber != HNSW_MAGIC_NUMBER || meta.version != HNSW_FORMAT_VERSION ||
			meta.storage > RV_CODE_BINARY)
		{
			*storage = HNSW_STORAGE_FLOAT32;
			*dimensions = (int) meta.dimensions;
			return;
		}
		if (cache == NULL)
		{
			cache = MemoryContextAllocZero(index->rd_indexcxt, sizeof(HnswAmCache));
			index->rd_amcache = cache;
		}
		cache->storage = (int) meta.storage;
		cache->dimensions = (int) meta.dimensions;
		cache->metaKnown = true;
	}
	*storage = cache->storage;
	*dimensions = cache->dimensions;
}

/*
 * How the distances of a kernel relate to a metric.  Inner product is a
 * metric only on unit vectors (cosine opclasses normalise); fmgr kernels
 * are not known.
 */
static int
MetricFormFor(RvIndexKernel kind, bool normalize)
{
	switch (kind)
	{
		case RV_KERNEL_F32_L2SQ:
		case RV_KERNEL_F16_L2SQ:
		case RV_KERNEL_BIT_HAMMING:
			return HNSW_METRIC_SQUARED;
		case RV_KERNEL_F32_L1:
		case RV_KERNEL_F16_L1:
		case RV_KERNEL_BIT_JACCARD:
			return HNSW_METRIC_LINEAR;
		case RV_KERNEL_F32_NEGDOT:
		case RV_KERNEL_F16_NEGDOT:
			return normalize ? HNSW_METRIC_UNIT_NEGDOT : HNSW_METRIC_NONE;
		default:
			break;				/* fmgr, and kernels no hnsw opclass uses */
	}
	return HNSW_METRIC_NONE;
}

/*
 * Whether the index's distances are a metric's (HnswMetricBound): the
 * learning loop's bound rule needs one.
 */
bool
HnswHasMetric(Relation index)
{
	const HnswTypeInfo *typeInfo = HnswGetTypeInfo(index);
	FmgrInfo   *distproc = index_getprocinfo(index, 1, HNSW_DISTANCE_PROC);
	bool		normalize = OidIsValid(index_getprocid(index, 1, HNSW_NORM_PROC));

	return MetricFormFor(rv_index_kernel_for(distproc, typeInfo->elem), normalize) != HNSW_METRIC_NONE;
}

/*
 * Fill *support for an index.  The FmgrInfo lives in the relcache entry;
 * the scratch space of compact storage in the current memory context.
 */
void
HnswInitSupport(HnswSupport *support, Relation index)
{
	support->typeInfo = HnswGetTypeInfo(index);
	support->distproc = index_getprocinfo(index, 1, HNSW_DISTANCE_PROC);
	support->collation = index->rd_indcollation[0];
	support->normalize = OidIsValid(index_getprocid(index, 1, HNSW_NORM_PROC));
	support->kind = rv_index_kernel_for(support->distproc, support->typeInfo->elem);
	GetStorage(index, &support->storage, &support->dimensions);
	support->metricForm = MetricFormFor(support->kind, support->normalize);
	HnswFilterInit(support, index);
	support->codeFloats = NULL;
	support->codeWork = NULL;
	support->codeQueryOf = NULL;
	support->codeQueryValid = false;
	if (HnswIsCompact(support) && support->dimensions > 0 &&
		rv_index_kernel_code_metric(support->kind) >= 0)
	{
		support->codeMetric = (RvCodeMetric) rv_index_kernel_code_metric(support->kind);
		support->codeFloats = palloc(sizeof(float) * support->dimensions);
		support->codeQueryOf = palloc(HnswStoredValueSize(support));
		support->codeWork = palloc(Max(rv_code_query_workspace(support->storage,
																support->dimensions), 1));
	}
}

/*
 * Most dimensions the index takes: the type's limit for float32 storage,
 * else the storage's, lowered if need be so that a node with its overflow
 * TID fits on a page.
 */
int
HnswMaxDimensions(HnswSupport *support)
{
	int			limit;

	switch (support->storage)
	{
		case RV_CODE_FLOAT16:
			limit = HNSW_MAX_DIM_FLOAT16;
			break;
		case RV_CODE_SQ8:
			limit = HNSW_MAX_DIM_SQ8;
			break;
		case RV_CODE_BINARY:
			limit = HNSW_MAX_DIM_BINARY;
			break;
		default:
			return support->typeInfo->maxDimensions;
	}
	while (limit > 0 &&
		   HnswNodeSeparateSize(VARHDRSZ + rv_code_size(support->storage, limit),
								support->filterSize) > HNSW_MAX_ITEM_SIZE)
		limit--;
	return limit;
}

/*
 * Refuse storage the index cannot take (rv_check_compact_storage) and too
 * many dimensions for its storage.  Called by the build.
 */
void
HnswCheckStorage(HnswSupport *support, Relation index, IndexInfo *indexInfo, int dimensions)
{
	const char *name = rv_storage_name(support->storage);

	rv_check_compact_storage(index, indexInfo, support->storage,
							 rv_index_kernel_code_metric(support->kind) >= 0,
							 support->typeInfo->kind == HNSW_KIND_HALFVEC);

	if (dimensions > HnswMaxDimensions(support))
	{
		if (HnswIsCompact(support))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("column cannot have more than %d dimensions for hnsw index with storage \"%s\"",
							HnswMaxDimensions(support), name),
					 errhint("storage = float16 allows up to %d dimensions, sq8 up to %d, binary up to %d.",
							 HNSW_MAX_DIM_FLOAT16, HNSW_MAX_DIM_SQ8, HNSW_MAX_DIM_BINARY)));
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for hnsw index",
						HnswMaxDimensions(support))));
	}
}

/* The floats of a stored-form vector or halfvec (dimensions of the index) */
void
HnswValueFloats(HnswSupport *support, const char *value, float *out)
{
	if (support->typeInfo->kind == HNSW_KIND_HALFVEC)
	{
		const HalfVector *h = (const HalfVector *) value;

		TypesCheckSameDims("halfvec", h->dim, support->dimensions);
		rv_half_to_float_n(h->x, out, h->dim);
	}
	else
	{
		const Vector *v = (const Vector *) value;

		TypesCheckSameDims("vector", v->dim, support->dimensions);
		memcpy(out, v->x, sizeof(float) * v->dim);
	}
}

/* Size of a stored value of compact storage: header and code */
Size
HnswStoredValueSize(HnswSupport *support)
{
	return VARHDRSZ + rv_code_size(support->storage, support->dimensions);
}

/*
 * The code of a stored-form value (compact storage), as a palloc'd
 * varlena.
 */
char *
HnswEncodeValue(HnswSupport *support, const char *value)
{
	Size		size = HnswStoredValueSize(support);
	char	   *code = palloc(size);

	/* codeFloats is shared with HnswStoredDistance's decoded value */
	support->codeQueryValid = false;
	HnswValueFloats(support, value, support->codeFloats);
	SET_VARSIZE(code, size);
	rv_index_encode_code(support->storage, support->codeFloats, support->dimensions,
						 code + VARHDRSZ, "hnsw");
	return code;
}

/*
 * Distance between two stored values.  Under compact storage the first is
 * decoded and ranked against the second's code, the same asymmetric
 * distance a search computes.  Neighbour selection compares one value with
 * many in a row, so the decoded first value is kept while its bytes stay
 * the same (compared by content: callers' buffers are reused).
 */
double
HnswStoredDistance(HnswSupport *support, const char *a, const char *b)
{
	Size		size;

	if (!HnswIsCompact(support))
		return HnswDistance(support, a, b);
	size = HnswStoredValueSize(support);
	if (!support->codeQueryValid || memcmp(support->codeQueryOf, a, size) != 0)
	{
		memcpy(support->codeQueryOf, a, size);
		rv_code_decode(support->storage, a + VARHDRSZ, support->dimensions, support->codeFloats);
		rv_code_query_init(&support->codeQuery, support->storage, support->codeMetric,
						   support->codeFloats, support->dimensions, support->codeWork);
		support->codeQueryValid = true;
	}
	return rv_code_distance(&support->codeQuery, b + VARHDRSZ);
}

/* Distance through the opclass's SQL function */
double
HnswDistanceFmgr(HnswSupport *support, const char *a, const char *b)
{
	return DatumGetFloat8(FunctionCall2Coll(support->distproc, support->collation,
											PointerGetDatum(a), PointerGetDatum(b)));
}

/*
 * Let the SQL function judge a query against one stored value, so that a
 * query of the wrong dimensions fails with the type's own message before
 * any kernel sees it.  Called outside buffer locks.
 */
void
HnswCheckQuery(HnswSupport *support, const char *query, const char *sample)
{
	if (query != NULL && sample != NULL)
		(void) HnswDistanceFmgr(support, query, sample);
}

/*
 * The types' own normalisation (src/types/), which the index calls rather
 * than repeating it: the same quotients, the same overflow errors, and a
 * sparsevec's underflowed entries dropped.
 */
extern PGDLLEXPORT Datum l2_normalize(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum halfvec_l2_normalize(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum sparsevec_l2_normalize(PG_FUNCTION_ARGS);

/*
 * Whether a value has no direction: every element is zero (its norm is
 * then 0, while the square of any other float is positive in double).  A
 * sparsevec stores no zeros.
 */
static bool
HasNoDirection(HnswValueKind kind, Datum value)
{
	if (kind == HNSW_KIND_VECTOR)
	{
		const Vector *v = (const Vector *) DatumGetPointer(value);

		for (int i = 0; i < v->dim; i++)
			if (v->x[i] != 0)
				return false;
		return true;
	}
	if (kind == HNSW_KIND_HALFVEC)
	{
		const HalfVector *v = (const HalfVector *) DatumGetPointer(value);

		for (int i = 0; i < v->dim; i++)
			if (rv_half_to_float(v->x[i]) != 0)
				return false;
		return true;
	}
	return ((const SparseVector *) DatumGetPointer(value))->nnz == 0;
}

/*
 * Unit-length copy of a value for cosine opclasses.  Returns false (and
 * leaves *out alone) for a zero vector, which has no direction.
 */
bool
HnswNormalize(HnswSupport *support, Datum value, Datum *out)
{
	HnswValueKind kind = support->typeInfo->kind;
	PGFunction	normalize;

	switch (kind)
	{
		case HNSW_KIND_VECTOR:
			normalize = l2_normalize;
			break;
		case HNSW_KIND_HALFVEC:
			normalize = halfvec_l2_normalize;
			break;
		case HNSW_KIND_SPARSEVEC:
			normalize = sparsevec_l2_normalize;
			break;
		default:
			/* No normalisation defined for this type: use it as it is */
			*out = value;
			return true;
	}
	if (HasNoDirection(kind, value))
		return false;
	*out = DirectFunctionCall1(normalize, value);
	return true;
}

/*
 * Turn a column value into the value the index stores: detoasted, checked
 * against the index's limits, and normalised for cosine opclasses.  Returns
 * false when the value is not indexed (a zero vector under cosine).  The
 * result is palloc'd in the current context unless it is the input itself.
 */
bool
HnswFormValue(HnswSupport *support, Datum in, Datum *out)
{
	Datum		value = PointerGetDatum(PG_DETOAST_DATUM(in));

	if (support->typeInfo->kind == HNSW_KIND_SPARSEVEC &&
		((SparseVector *) DatumGetPointer(value))->nnz > HNSW_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements for hnsw index",
						HNSW_MAX_NNZ)));

	if (!support->normalize)
	{
		*out = value;
		return true;
	}
	return HnswNormalize(support, value, out);
}

/*
 * A random level with P(level >= l) = m^-l, capped so the element's slots
 * always fit on a page.
 */
int
HnswRandomLevel(int m)
{
	double		u = pg_prng_double(&pg_global_prng_state);
	double		level;

	/* u may be 0; -log(0) is +inf and the cap applies */
	level = -log(u) * HnswGetMl(m);
	if (!(level < HnswMaxLevel(m)))
		return HnswMaxLevel(m);
	return (int) level;
}

/* ----------------------------------------------------------------
 *		Pages and the metapage
 * ----------------------------------------------------------------
 */

/* Check the metapage and return its contents, copied under a share lock */
static void
ReadMetaCopy(Relation index, HnswMetaPageData *copy)
{
	Buffer		buf;
	Page		page;
	HnswMetaPage metap;

	buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	metap = HnswPageGetMeta(page);

	if (unlikely(metap->magicNumber != HNSW_MAGIC_NUMBER))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid hnsw index",
						RelationGetRelationName(index))));
	if (unlikely(metap->version != HNSW_FORMAT_VERSION))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("hnsw index \"%s\" has format version %u, this build reads version %d",
						RelationGetRelationName(index), metap->version, HNSW_FORMAT_VERSION),
				 errhint("REINDEX the index.")));

	*copy = *metap;
	UnlockReleaseBuffer(buf);
}

/*
 * The graph parameters and entry point.  Any output may be NULL.  The entry
 * TID is invalid for an empty graph.
 */
void
HnswReadMeta(Relation index, int *m, int *efConstruction,
			 ItemPointer entry, int *entryLevel, BlockNumber *insertPage)
{
	HnswMetaPageData meta;

	ReadMetaCopy(index, &meta);
	if (m)
		*m = meta.m;
	if (efConstruction)
		*efConstruction = meta.efConstruction;
	if (entry)
	{
		if (BlockNumberIsValid(meta.entryBlkno))
			ItemPointerSet(entry, meta.entryBlkno, meta.entryOffno);
		else
			ItemPointerSetInvalid(entry);
	}
	if (entryLevel)
		*entryLevel = meta.entryLevel;
	if (insertPage)
		*insertPage = meta.insertPage;
}

/*
 * Modify the metapage under its exclusive lock, alone (no other buffer is
 * locked by the caller), through generic WAL unless building.
 */
typedef void (*MetaUpdate) (HnswMetaPage metap, void *arg);

static void
UpdateMeta(Relation index, ForkNumber forkNum, bool building, MetaUpdate fn, void *arg)
{
	Buffer		buf;
	Page		page;
	GenericXLogState *state = NULL;

	buf = ReadBufferExtended(index, forkNum, HNSW_METAPAGE_BLKNO, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (building)
		page = BufferGetPage(buf);
	else
	{
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
	}

	fn(HnswPageGetMeta(page), arg);

	if (building)
		MarkBufferDirty(buf);
	else
		GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

typedef struct EntryArg
{
	BlockNumber blkno;
	OffsetNumber offno;
	int			level;
	bool		onlyIfHigher;
} EntryArg;

static void
SetEntry(HnswMetaPage metap, void *arg)
{
	EntryArg   *e = (EntryArg *) arg;

	if (e->onlyIfHigher && e->level <= metap->entryLevel)
		return;
	metap->entryBlkno = e->blkno;
	metap->entryOffno = e->offno;
	metap->entryLevel = (int16) e->level;
}

/*
 * Point the graph at a new entry point (InvalidBlockNumber: empty graph).
 * With onlyIfHigher, a concurrent promotion to a higher level wins.
 */
void
HnswSetEntryPoint(Relation index, ForkNumber forkNum, bool building,
				  BlockNumber blkno, OffsetNumber offno, int level, bool onlyIfHigher)
{
	EntryArg	arg;

	arg.blkno = blkno;
	arg.offno = BlockNumberIsValid(blkno) ? offno : InvalidOffsetNumber;
	arg.level = BlockNumberIsValid(blkno) ? level : -1;
	arg.onlyIfHigher = onlyIfHigher;
	UpdateMeta(index, forkNum, building, SetEntry, &arg);
}

static void
SetInsert(HnswMetaPage metap, void *arg)
{
	metap->insertPage = *(BlockNumber *) arg;
}

/* Remember the first page that may have room for a new element */
void
HnswSetInsertPage(Relation index, ForkNumber forkNum, bool building, BlockNumber insertPage)
{
	UpdateMeta(index, forkNum, building, SetInsert, &insertPage);
}

/*
 * Create the metapage of a new, empty index as block 0 of forkNum.  The
 * build logs it with the rest of the index.
 */
void
HnswWriteMetaPage(Relation index, ForkNumber forkNum, int dimensions, int m, int efConstruction,
				  int storage)
{
	Buffer		buf;
	Page		page;
	HnswMetaPage metap;

	buf = HnswNewBuffer(index, forkNum);
	Assert(BufferGetBlockNumber(buf) == HNSW_METAPAGE_BLKNO);
	page = BufferGetPage(buf);
	HnswInitPage(buf, page);

	metap = HnswPageGetMeta(page);
	metap->magicNumber = HNSW_MAGIC_NUMBER;
	metap->version = HNSW_FORMAT_VERSION;
	metap->dimensions = (uint32) dimensions;
	metap->m = (uint16) m;
	metap->efConstruction = (uint16) efConstruction;
	metap->entryBlkno = InvalidBlockNumber;
	metap->entryOffno = InvalidOffsetNumber;
	metap->entryLevel = -1;
	metap->insertPage = InvalidBlockNumber;
	metap->storage = (uint32) storage;
	((PageHeader) page)->pd_lower = ((char *) metap + sizeof(HnswMetaPageData)) - (char *) page;

	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/*
 * Page writers: every change to an existing index page goes through one.
 * Outside a build it is a generic WAL record (at most 4 pages); during a
 * build, pages are changed in place and logged in bulk at the end.
 */
void
HnswWriterStart(HnswWriter *w, Relation index, bool building)
{
	w->building = building;
	w->nbufs = 0;
	w->state = building ? NULL : GenericXLogStart(index);
}

/* Register a locked buffer; returns the page to modify */
Page
HnswWriterRegister(HnswWriter *w, Buffer buf, bool isNew)
{
	Assert(w->nbufs < MAX_GENERIC_XLOG_PAGES);
	w->bufs[w->nbufs++] = buf;
	if (w->building)
		return BufferGetPage(buf);
	return GenericXLogRegisterBuffer(w->state, buf, isNew ? GENERIC_XLOG_FULL_IMAGE : 0);
}

/*
 * Ready for the next record; with release, unlock and release every
 * registered buffer first
 */
static void
WriterReset(HnswWriter *w, bool release)
{
	if (release)
	{
		for (int i = 0; i < w->nbufs; i++)
			UnlockReleaseBuffer(w->bufs[i]);
	}
	w->state = NULL;
	w->nbufs = 0;
}

/* Apply (and log) the changes; with release, let go of the buffers */
void
HnswWriterFinish(HnswWriter *w, bool release)
{
	if (w->building)
	{
		for (int i = 0; i < w->nbufs; i++)
			MarkBufferDirty(w->bufs[i]);
	}
	else
		GenericXLogFinish(w->state);
	WriterReset(w, release);
}

/* Nothing changed: discard the record */
void
HnswWriterAbort(HnswWriter *w, bool release)
{
	if (!w->building && w->state != NULL)
		GenericXLogAbort(w->state);
	WriterReset(w, release);
}

/*
 * Where an element's neighbour slots are: inline in its node tuple, or in
 * the overflow tuple the node points at.  *sbuf is set to the overflow
 * tuple's buffer, read and locked in the same mode as the node's buffer,
 * or to InvalidBuffer when the slots are inline.  Returns NULL if the
 * overflow tuple does not belong to this node (recycled or torn).
 */
ItemPointer
HnswGetSlots(Relation index, Page page, HnswNodeTuple node, Buffer *sbuf, HnswNbrTuple *ntupOut)
{
	ItemPointerData tid;
	Page		spage;
	HnswNbrTuple ntup;
	ItemId		itemid;

	*sbuf = InvalidBuffer;
	*ntupOut = NULL;
	if (!HnswNodeHasSeparate(node))
		return HnswNodeSlots(node);

	tid = *HnswNodeNbrTid(node);
	*sbuf = HnswReadBuffer(index, ItemPointerGetBlockNumber(&tid));
	LockBuffer(*sbuf, BUFFER_LOCK_SHARE);
	spage = BufferGetPage(*sbuf);
	if (ItemPointerGetOffsetNumber(&tid) > PageGetMaxOffsetNumber(spage))
		return NULL;
	itemid = PageGetItemId(spage, ItemPointerGetOffsetNumber(&tid));
	ntup = (HnswNbrTuple) PageGetItem(spage, itemid);
	if (ntup->type != HNSW_NBR_TUPLE || ntup->version != node->version ||
		ntup->nslots != node->nslots)
		return NULL;
	*ntupOut = ntup;
	return ntup->slots;
}

/*
 * The slots of the element at (blkno, offno) if its node is still of
 * version: its page (read through bas, or through the buffer hints when
 * bas is NULL) and its overflow tuple's page stay share-locked until
 * HnswUnlockSlots, which the caller calls in every case.  NULL (and
 * ls->node NULL) if the element is gone or changed; NULL with ls->node set
 * if its overflow tuple is no longer its own.
 */
ItemPointer
HnswLockSlots(Relation index, BufferAccessStrategy bas, BlockNumber blkno,
			  OffsetNumber offno, uint8 version, HnswLockedSlots *ls)
{
	Page		page;
	HnswNbrTuple ntup;

	ls->buf = bas != NULL
		? ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, bas)
		: HnswReadBuffer(index, blkno);
	LockBuffer(ls->buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(ls->buf);
	ls->sbuf = InvalidBuffer;
	ls->slots = NULL;
	ls->node = HnswPageNode(page, offno);
	if (ls->node != NULL && ls->node->version != version)
		ls->node = NULL;
	if (ls->node != NULL)
		ls->slots = HnswGetSlots(index, page, ls->node, &ls->sbuf, &ntup);
	return ls->slots;
}

void
HnswUnlockSlots(HnswLockedSlots *ls)
{
	if (BufferIsValid(ls->sbuf))
		UnlockReleaseBuffer(ls->sbuf);
	UnlockReleaseBuffer(ls->buf);
}

/* ----------------------------------------------------------------
 *		Binary heaps of (distance, candidate)
 * ----------------------------------------------------------------
 */

/* HnswHeapPush and HnswHeapPop, from the template shared with the build */
#define HH_PREFIX HnswHeap
#define HH_HEAP HnswHeap
#define HH_ITEM HnswHeapItem
#define HH_DIST distance
#define HH_DIST_TYPE double
#define HH_KEY cand
#define HH_KEY_TYPE uint32
#define HH_SCOPE
#include "common/rv_heap.h"

/* ----------------------------------------------------------------
 *		Visited set and pinned pages
 * ----------------------------------------------------------------
 */

static void
VisitedInit(HnswSearch *s, uint32 expected)
{
	uint32		size = 1024;

	while (size < expected * 2 && size < (1U << 30))
		size <<= 1;
	s->visited = palloc0(sizeof(uint64) * size);
	s->visitedMask = size - 1;
	s->visitedCount = 0;
}

static void
VisitedClear(HnswSearch *s)
{
	if (s->visitedCount > 0)
		memset(s->visited, 0, sizeof(uint64) * ((Size) s->visitedMask + 1));
	s->visitedCount = 0;
}

/* Double the table when half full; amortised, never per element */
static void
VisitedGrow(HnswSearch *s)
{
	uint64	   *old = s->visited;
	uint32		oldSize = s->visitedMask + 1;
	uint32		newSize = oldSize * 2;

	s->visited = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * (Size) newSize);
	memset(s->visited, 0, sizeof(uint64) * (Size) newSize);
	s->visitedMask = newSize - 1;
	for (uint32 i = 0; i < oldSize; i++)
	{
		if (old[i] != 0)
		{
			uint32		j = HnswKeySlot(old[i], s->visitedMask);

			while (s->visited[j] != 0)
				j = (j + 1) & s->visitedMask;
			s->visited[j] = old[i];
		}
	}
	pfree(old);
}

/*
 * Filtered scans: size the visited set for the elements the last filtered
 * scan of this index in this backend visited.  Such a scan expands about
 * ef / selectivity elements, several times what ef and m predict, and
 * growing the set as it fills rehashes it each time it doubles (2-3% of a
 * 10% filter's query on glove-100).  Call before the search starts.
 */
void
HnswSearchSizeVisitedForFilter(HnswSearch *s)
{
	HnswAmCache *cache = (HnswAmCache *) s->index->rd_amcache;

	if (cache == NULL || s->visitedCount > 0 ||
		(Size) cache->filteredVisited * 2 <= (Size) s->visitedMask)
		return;
	pfree(s->visited);
	VisitedInit(s, cache->filteredVisited);
}

/* After a filtered scan: what the next one sizes its visited set for */
void
HnswSearchRememberVisited(HnswSearch *s)
{
	HnswAmCache *cache = (HnswAmCache *) s->index->rd_amcache;

	if (cache != NULL && s->nfilterKeys > 0)
		cache->filteredVisited = s->visitedCount;
}

/* Add a TID; true if it was already there */
static inline bool
VisitedTestAndSet(HnswSearch *s, BlockNumber blkno, OffsetNumber offno)
{
	uint64		key = HnswTidKey(blkno, offno);
	uint32		i = HnswKeySlot(key, s->visitedMask);

	while (s->visited[i] != 0)
	{
		if (s->visited[i] == key)
			return true;
		i = (i + 1) & s->visitedMask;
	}
	s->visited[i] = key;
	if (++s->visitedCount * 2 > s->visitedMask)
		VisitedGrow(s);
	return false;
}

/*
 * Buffer hints: for each block of the index, the shared buffer it was last
 * found in by this backend.  ReadRecentBuffer pins a hinted buffer after
 * checking its tag, which skips the buffer mapping lookup, the largest
 * cost of visiting a page.  The array lives in the index's rd_amcache, so
 * it outlasts queries and goes away with any relcache flush.  Blocks past
 * HNSW_MAX_HINTS (an 8 GB index) get none, which bounds it at 4 MB.
 */
#define HNSW_MAX_HINTS		(1U << 20)

typedef HnswAmCache HnswBufferHints;

static void
RememberHint(Relation index, BlockNumber blkno, Buffer buf)
{
	HnswBufferHints *h = (HnswBufferHints *) index->rd_amcache;

	if (h == NULL || blkno >= h->nblocks)
	{
		BlockNumber n = Max(blkno + 1, Max(h ? h->nblocks * 2 : 0, 1024));
		HnswBufferHints *nh;

		nh = MemoryContextAllocExtended(index->rd_indexcxt,
										offsetof(HnswBufferHints, bufs) + sizeof(Buffer) * (Size) n,
										MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO | MCXT_ALLOC_NO_OOM);
		if (nh == NULL)
			return;
		if (h != NULL)
		{
			memcpy(nh, h, offsetof(HnswBufferHints, bufs) + sizeof(Buffer) * (Size) h->nblocks);
			pfree(h);
		}
		nh->nblocks = n;
		index->rd_amcache = nh;
		h = nh;
	}
	h->bufs[blkno] = buf;
}

/*
 * Where tid stands in tids[0..n), or -1 when it is not there.  Link lists,
 * copy lists and merge buffers are short (at most 2 * m entries), so a
 * linear scan beats anything cleverer; one function keeps the dozen places
 * that ask this question in the insert, VACUUM and repair code alike.
 */
int
HnswTidIndex(const ItemPointerData *tids, int n, ItemPointer tid)
{
	for (int i = 0; i < n; i++)
		if (ItemPointerEquals((ItemPointer) &tids[i], tid))
			return i;
	return -1;
}

/*
 * How many of tids[0..n) come before the first invalid one: the links of a
 * layer are packed at its start, and code that reads a layer stops at the
 * first empty slot.
 */
int
HnswTidCount(const ItemPointerData *tids, int n)
{
	int			i = 0;

	while (i < n && ItemPointerIsValid(&tids[i]))
		i++;
	return i;
}

/* Pin a block of the main fork, through its hint when the hint is right */
Buffer
HnswReadBuffer(Relation index, BlockNumber blkno)
{
	HnswBufferHints *h = (HnswBufferHints *) index->rd_amcache;
	Buffer		buf;

	if (h != NULL && blkno < h->nblocks && h->bufs[blkno] != InvalidBuffer &&
		ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, h->bufs[blkno]))
		return h->bufs[blkno];

	buf = ReadBuffer(index, blkno);
	if (blkno < HNSW_MAX_HINTS)
		RememberHint(index, blkno, buf);
	return buf;
}

/* Set e from the node at (blkno, offno), copying its value */
void
HnswElementRefFill(HnswElementRef *e, BlockNumber blkno, OffsetNumber offno, HnswNodeTuple node)
{
	Size		size = VARSIZE(HnswNodeValue(node));

	e->blkno = blkno;
	e->offno = offno;
	e->level = node->level;
	e->version = node->version;
	e->value = palloc(size);
	memcpy(e->value, HnswNodeValue(node), size);
}

/*
 * Read a live element's level, version and value (copied into the current
 * context); false if it is gone or dying.  With bas, through that strategy
 * (VACUUM's), else through the buffer hints.
 */
bool
HnswLoadElement(Relation index, BufferAccessStrategy bas, HnswElementRef *e)
{
	Buffer		buf;
	Page		page;
	HnswNodeTuple node;
	bool		ok = false;

	if (bas != NULL)
		buf = ReadBufferExtended(index, MAIN_FORKNUM, e->blkno, RBM_NORMAL, bas);
	else
		buf = HnswReadBuffer(index, e->blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	node = HnswPageNode(page, e->offno);
	if (node != NULL && ItemPointerIsValid(&node->heaptids[0]))
	{
		HnswElementRefFill(e, e->blkno, e->offno, node);
		ok = true;
	}
	UnlockReleaseBuffer(buf);
	return ok;
}

static inline Buffer
ReadBlock(HnswSearch *s, BlockNumber blkno)
{
	return HnswReadBuffer(s->index, blkno);
}

/* ----------------------------------------------------------------
 *		Search state
 * ----------------------------------------------------------------
 */

/*
 * Prepare a search for query (a stored-form value, or NULL) with room sized
 * from ef and m.  Allocates in the current memory context, which the caller
 * resets or deletes as a whole.
 */
void
HnswSearchInit(HnswSearch *s, Relation index, HnswSupport *support, int m, int ef, const char *query)
{
	memset(s, 0, sizeof(HnswSearch));
	s->index = index;
	s->support = support;
	s->m = m;
	s->query = query;
	s->codeQuery = NULL;
	ItemPointerSetInvalid(&s->skipTid);

	s->admitBound = get_float8_infinity();
	s->maxcands = Max(256, ef * 4);
	s->cands = palloc(sizeof(HnswCand) * s->maxcands);
	s->maxheaptids = s->maxcands;
	s->heaptids = palloc(sizeof(ItemPointerData) * s->maxheaptids);
	VisitedInit(s, (uint32) ef * (uint32) m * 2);
	s->scratchTids = palloc(sizeof(ItemPointerData) * HNSW_MAX_M * 2);
}

/*
 * Compact storage: rank codes against these floats (kept by reference),
 * e.g. the exact vector being inserted, or the scan's query.  Every search
 * of a compact index sets them (or HnswSearchDecodeQuery) after init.
 */
void
HnswSearchSetFloats(HnswSearch *s, const float *x)
{
	HnswSupport *support = s->support;

	rv_code_query_init(&s->codeQueryData, support->storage, support->codeMetric, x,
					   support->dimensions,
					   palloc(Max(rv_code_query_workspace(support->storage,
														  support->dimensions), 1)));
	s->codeQuery = &s->codeQueryData;
}

/* Compact storage: the query is a stored code; rank with its decoding */
void
HnswSearchDecodeQuery(HnswSearch *s)
{
	float	   *x;

	if (!HnswIsCompact(s->support) || s->query == NULL)
		return;
	x = palloc(sizeof(float) * s->support->dimensions);
	rv_code_decode(s->support->storage, s->query + VARHDRSZ, s->support->dimensions, x);
	HnswSearchSetFloats(s, x);
}

/* Forget candidates, heaps and visited elements; keep the allocations */
void
HnswSearchReset(HnswSearch *s)
{
	s->ncands = 0;
	s->nheaptids = 0;
	s->valuesUsed = 0;
	s->nslotsUsed = 0;
	s->near.count = 0;
	s->far.count = 0;
	s->discarded.count = 0;
	s->tuples = 0;
	s->admitBound = get_float8_infinity();
	VisitedClear(s);
}

const char *
HnswCandValue(HnswSearch *s, uint32 cand)
{
	return s->values + s->cands[cand].valueOff;
}

/* Whether node passes the filtered scan's keys (every node does without) */
static inline bool
FilterPass(HnswSearch *s, HnswNodeTuple node)
{
	return s->nfilterKeys == 0 ||
		HnswFilterMatch(s->support, s->filterKeys, s->nfilterKeys, HnswNodeFilter(node));
}

/*
 * Append a candidate record for node (on a locked page); returns its index.
 * An element that fails a filtered scan's keys (pass false) keeps no heap
 * TIDs: it is never returned.
 */
static uint32
NewCand(HnswSearch *s, HnswNodeTuple node, BlockNumber blkno, OffsetNumber offno, double distance,
		bool pass)
{
	HnswCand   *c;
	int			ntids = 0;

	if (s->ncands == s->maxcands)
	{
		s->maxcands *= 2;
		s->cands = repalloc_huge(s->cands, sizeof(HnswCand) * s->maxcands);
	}
	if (s->trackCodeError)
	{
		float		err;
		float		norm;

		rv_code_error(s->support->storage, HnswNodeValue(node) + VARHDRSZ,
					  s->support->dimensions, &err, &norm);
		if (!(err <= s->maxCodeError))
			s->maxCodeError = err;
		if (!(norm <= s->maxCodeNorm))
			s->maxCodeNorm = norm;
	}
	c = &s->cands[s->ncands];
	c->distance = distance;
	c->blkno = blkno;
	c->offno = offno;
	c->level = node->level;
	c->version = node->version;
	c->tidStart = s->nheaptids;
	c->valueOff = 0;
	c->slotLayer = HNSW_NO_SLOTS;
	c->nslots = 0;
	c->slotStart = 0;

	while (ntids < HNSW_HEAPTIDS && ItemPointerIsValid(&node->heaptids[ntids]))
		ntids++;
	c->alive = ntids > 0;
	c->ntids = 0;

	if (s->wantHeapTids && ntids > 0 && pass)
	{
		if (s->nheaptids + ntids > s->maxheaptids)
		{
			s->maxheaptids = Max(s->maxheaptids * 2, s->nheaptids + ntids);
			s->heaptids = repalloc_huge(s->heaptids, sizeof(ItemPointerData) * s->maxheaptids);
		}
		memcpy(&s->heaptids[s->nheaptids], node->heaptids, sizeof(ItemPointerData) * ntids);
		s->nheaptids += ntids;
		c->ntids = (uint8) ntids;
	}

	if (s->wantValues)
	{
		const char *value = HnswNodeValue(node);
		Size		size = VARSIZE(value);

		if (s->valuesUsed + MAXALIGN(size) > s->valuesMax)
		{
			s->valuesMax = Max(s->valuesMax * 2, s->valuesUsed + MAXALIGN(size) + 8192);
			if (s->values == NULL)
				s->values = MemoryContextAllocHuge(CurrentMemoryContext, s->valuesMax);
			else
				s->values = repalloc_huge(s->values, s->valuesMax);
		}
		memcpy(s->values + s->valuesUsed, value, size);
		c->valueOff = (uint32) s->valuesUsed;
		s->valuesUsed += MAXALIGN(size);
	}

	return s->ncands++;
}

/* Distance from the query to a stored value; a NULL query ties everything */
static inline double
QueryDistance(HnswSearch *s, const char *value)
{
	if (s->query == NULL)
		return 0;
	if (s->codeQuery != NULL)
		return rv_code_distance(s->codeQuery, value + VARHDRSZ);
	return HnswDistance(s->support, s->query, value);
}

/* The search's distance from its query to a stored value */
double
HnswSearchDistance(HnswSearch *s, const char *value)
{
	return QueryDistance(s, value);
}

/*
 * Read the entry point and make it the first candidate.  Returns -1 when
 * the entry point has been deleted meanwhile (only VACUUM moves it, under
 * HNSW_UPDATE_LOCK, so callers holding that lock never see this).
 */
int
HnswSearchEntry(HnswSearch *s, BlockNumber blkno, OffsetNumber offno)
{
	Buffer		buf = ReadBlock(s, blkno);
	Page		page;
	HnswNodeTuple node;
	int			cand = -1;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	node = HnswPageNode(page, offno);
	if (node != NULL)
	{
		cand = (int) NewCand(s, node, blkno, offno, QueryDistance(s, HnswNodeValue(node)),
							 FilterPass(s, node));
		s->prefetchBytes = Min(HNSW_NODE_HEADER_SIZE + VARSIZE(HnswNodeValue(node)), 1024);
	}
	UnlockReleaseBuffer(buf);
	return cand;
}

/* Keep the unvisited ones of lm slots in s->scratchTids; returns how many */
static inline int
GatherUnvisited(HnswSearch *s, ItemPointer slots, int lm)
{
	int			n = 0;

	for (int i = 0; i < lm; i++)
	{
		ItemPointer tid = &slots[i];

		if (!ItemPointerIsValid(tid))
			break;
		if (!VisitedTestAndSet(s, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid)))
			s->scratchTids[n++] = *tid;
	}
	return n;
}

/*
 * Copy the unvisited neighbours of candidate c at layer lc into
 * s->scratchTids, marking them visited.  Returns how many, 0 when the
 * element was recycled since it was read (its version changed).  Slots
 * copied when the element was read in this batch are used as they are.
 */
static int
LoadUnvisited(HnswSearch *s, HnswCand *c, int lc)
{
	Buffer		buf;
	Page		page;
	HnswNodeTuple node;
	ItemPointer slots;
	Buffer		sbuf = InvalidBuffer;
	HnswNbrTuple ntup;
	int			lm = HnswLayerM(s->m, lc);
	int			n = 0;

	if (c->slotLayer == lc)
		return GatherUnvisited(s, &s->slots[c->slotStart], c->nslots);

	buf = ReadBlock(s, c->blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	node = HnswPageNode(page, c->offno);
	if (node == NULL || node->version != c->version || node->level < lc ||
		node->nslots != HnswSlotCount(s->m, node->level))
	{
		UnlockReleaseBuffer(buf);
		return 0;
	}

	slots = HnswGetSlots(s->index, page, node, &sbuf, &ntup);
	if (slots != NULL)
		n = GatherUnvisited(s, slots + HnswLayerStart(s->m, lc), lm);
	if (BufferIsValid(sbuf))
		UnlockReleaseBuffer(sbuf);
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Copy a freshly admitted candidate's inline slots for layer lc, while its
 * tuple is in cache, so its expansion needs no page.
 */
static void
CopySlots(HnswSearch *s, HnswCand *c, HnswNodeTuple node, int lc)
{
	ItemPointer slots;
	int			lm = HnswLayerM(s->m, lc);
	int			n;

	if (HnswNodeHasSeparate(node) || node->nslots != HnswSlotCount(s->m, node->level))
		return;

	if (s->nslotsUsed + lm > s->maxslots)
	{
		s->maxslots = Max(s->maxslots * 2, s->nslotsUsed + lm);
		if (s->slots == NULL)
			s->slots = MemoryContextAllocHuge(GetMemoryChunkContext(s->cands),
											  sizeof(ItemPointerData) * s->maxslots);
		else
			s->slots = repalloc_huge(s->slots, sizeof(ItemPointerData) * s->maxslots);
	}

	slots = HnswNodeSlots(node) + HnswLayerStart(s->m, lc);
	for (n = 0; n < lm && ItemPointerIsValid(&slots[n]); n++)
		;
	memcpy(&s->slots[s->nslotsUsed], slots, sizeof(ItemPointerData) * n);
	c->slotStart = s->nslotsUsed;
	c->nslots = (uint8) n;
	c->slotLayer = (uint8) lc;
	s->nslotsUsed += n;
}

/* Sort a few TIDs by block (insertion sort: at most 2*m of them) */
static void
SortTidsByBlock(ItemPointer tids, int n)
{
	for (int i = 1; i < n; i++)
	{
		ItemPointerData t = tids[i];
		BlockNumber b = ItemPointerGetBlockNumber(&t);
		int			j = i - 1;

		while (j >= 0 && ItemPointerGetBlockNumber(&tids[j]) > b)
		{
			tids[j + 1] = tids[j];
			j--;
		}
		tids[j + 1] = t;
	}
}

/* Whether a candidate counts towards ef (VACUUM repairs skip dying ones) */
static inline bool
CountsForEf(HnswSearch *s, uint32 cand)
{
	return !s->skipDeadForEf || s->cands[cand].alive;
}

/* Adaptive effort: keep the trackK nearest distances admitted to W */
static inline void
TrackTopK(HnswSearch *s, double d)
{
	if (d < s->nearestSeen)
		s->nearestSeen = d;
	if (s->topk.count < s->trackK)
		HnswHeapPush(&s->topk, d, 0, true);
	else if (d < s->topk.items[0].distance)
	{
		(void) HnswHeapPop(&s->topk, true);
		HnswHeapPush(&s->topk, d, 0, true);
	}
}

/*
 * Adaptive effort, at a checkpoint: track the trackK nearest of all that
 * was found (W and, with keepDiscarded, what it turned away or pushed
 * out: together every element read), for the next checkpoint.
 */
void
HnswSearchRetrack(HnswSearch *s, int trackK)
{
	s->trackK = trackK;
	s->topk.count = 0;
	for (int i = 0; i < s->far.count; i++)
		TrackTopK(s, s->far.items[i].distance);
	for (int i = 0; i < s->discarded.count; i++)
		TrackTopK(s, s->discarded.items[i].distance);
}

/*
 * Filtered scans: an element on layer 0 that fails the keys routes the
 * search like any other (C takes it while W is not full or it is nearer
 * than W's furthest) but stays out of W.
 */
static inline void
OfferRejected(HnswSearch *s, HnswNodeTuple node, BlockNumber blkno, OffsetNumber offno,
			  double d, int ef, int wlen)
{
	uint32		cand;

	if (wlen < ef || d < s->far.items[0].distance)
	{
		cand = NewCand(s, node, blkno, offno, d, false);
		CopySlots(s, &s->cands[cand], node, 0);
		HnswHeapPush(&s->near, d, cand, false);
	}
	else if (s->keepDiscarded)
	{
		/* a later batch may resume from it; it is never a result */
		cand = NewCand(s, node, blkno, offno, d, false);
		HnswHeapPush(&s->discarded, d, cand, false);
	}
}

/* Offer a freshly read element to W (and C), or to the discarded heap */
static inline void
Offer(HnswSearch *s, HnswNodeTuple node, BlockNumber blkno, OffsetNumber offno,
	  double d, int ef, int lc, int *wlen)
{
	uint32		cand;
	bool		pass = FilterPass(s, node);

	if (!pass && lc == 0)
	{
		OfferRejected(s, node, blkno, offno, d, ef, *wlen);
		return;
	}
	/* !(d > bound): a NaN distance gets in as it did before the bound rule */
	if ((*wlen < ef || d < s->far.items[0].distance) && !(d > s->admitBound))
	{
		/* Elements on a lower level than their link are bugs; route around */
		if (node->level < lc)
			return;
		cand = NewCand(s, node, blkno, offno, d, pass);
		CopySlots(s, &s->cands[cand], node, lc);
		HnswHeapPush(&s->near, d, cand, false);
		HnswHeapPush(&s->far, d, cand, true);
		if (s->trackK > 0)
			TrackTopK(s, d);
		if (CountsForEf(s, cand) && ++(*wlen) > ef)
		{
			HnswHeapItem out = HnswHeapPop(&s->far, true);

			if (s->keepDiscarded)
				HnswHeapPush(&s->discarded, out.distance, out.cand, false);
		}
	}
	else if (s->keepDiscarded)
	{
		cand = NewCand(s, node, blkno, offno, d, pass);
		if (s->copyDiscarded && node->level >= lc)
			CopySlots(s, &s->cands[cand], node, lc);
		HnswHeapPush(&s->discarded, d, cand, false);
	}
}

/* The TIDs of one expansion that fall on one page */
typedef struct PageRun
{
	BlockNumber blkno;
	int			start;			/* into the sorted TIDs */
	int			end;
	Buffer		buf;
} PageRun;

/* How many pages ahead of the one being computed each stage works */
#define HNSW_PIPELINE_DEPTH 2

/*
 * Stage 0: start fetching the descriptor of the buffer the page is hinted
 * to be in, which pinning it will lock.  Only an address is computed; a
 * wrong hint costs a wasted prefetch.
 */
static inline void
StageHint(HnswSearch *s, PageRun *run)
{
	HnswBufferHints *h = (HnswBufferHints *) s->index->rd_amcache;

	if (h != NULL && run->blkno < h->nblocks && h->bufs[run->blkno] > 0 &&
		h->bufs[run->blkno] <= NBuffers)
		__builtin_prefetch(GetBufferDescriptor(h->bufs[run->blkno] - 1), 1);
}

/* Stage 1: pin the page and start fetching its line pointers */
static inline void
StagePin(HnswSearch *s, PageRun *run)
{
	char	   *page;

	run->buf = ReadBlock(s, run->blkno);
	page = (char *) BufferGetPage(run->buf);
	__builtin_prefetch(page);
	__builtin_prefetch(page + 64);
}

/*
 * Stage 2: start fetching the tuples.  The line pointers are read without
 * the content lock: they only steer prefetches, and a stale one costs a
 * wasted prefetch, never a wrong read.
 */
static inline void
StagePrefetch(HnswSearch *s, ItemPointer tids, PageRun *run)
{
	char	   *page = (char *) BufferGetPage(run->buf);

	for (int i = run->start; i < run->end; i++)
	{
		OffsetNumber offno = ItemPointerGetOffsetNumber(&tids[i]);
		unsigned	off;

		if (offno > MaxOffsetNumber)
			continue;
		off = ItemIdGetOffset(PageGetItemId(page, offno));
		if (off > 0 && off + s->prefetchBytes <= BLCKSZ)
		{
			for (Size b = 0; b < s->prefetchBytes; b += 64)
				__builtin_prefetch(page + off + b);
		}
	}
}

/* Stage 3: lock the page, offer its elements to W, let the page go */
static inline void
StageCompute(HnswSearch *s, ItemPointer tids, PageRun *run, int ef, int lc, int *wlen)
{
	Page		page;

	LockBuffer(run->buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(run->buf);
	for (int i = run->start; i < run->end; i++)
	{
		OffsetNumber offno = ItemPointerGetOffsetNumber(&tids[i]);
		HnswNodeTuple node = HnswPageNode(page, offno);

		if (node != NULL)
			Offer(s, node, run->blkno, offno, QueryDistance(s, HnswNodeValue(node)), ef, lc, wlen);
	}
	UnlockReleaseBuffer(run->buf);
}

/*
 * Evaluate the TIDs gathered in s->scratchTids, offering each element to
 * W.  Visiting a neighbour costs dependent cache misses (the buffer, the
 * page's line pointers, the tuple), so the pages go through a software
 * pipeline: while one page is computed, the next ones are being pinned
 * and fetched.  At most 2 * HNSW_PIPELINE_DEPTH + 1 pages are pinned at a
 * time, which keeps buffer reference counting in its fast path.
 */
static void
EvaluateNeighbors(HnswSearch *s, int n, int ef, int lc, int *wlen)
{
	ItemPointer tids = s->scratchTids;
	PageRun		runs[HNSW_MAX_M * 2];
	int			nruns = 0;
	const int	depth = HNSW_PIPELINE_DEPTH;

	SortTidsByBlock(tids, n);
	for (int i = 0; i < n; i++)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&tids[i]);

		if (nruns > 0 && runs[nruns - 1].blkno == blkno)
			runs[nruns - 1].end = i + 1;
		else
		{
			runs[nruns].blkno = blkno;
			runs[nruns].start = i;
			runs[nruns].end = i + 1;
			nruns++;
		}
	}

	for (int p = -depth; p < nruns + 2 * depth; p++)
	{
		if (p + depth < nruns)
			StageHint(s, &runs[p + depth]);
		if (p >= 0 && p < nruns)
			StagePin(s, &runs[p]);
		if (p - depth >= 0 && p - depth < nruns)
			StagePrefetch(s, tids, &runs[p - depth]);
		if (p - 2 * depth >= 0 && p - 2 * depth < nruns)
			StageCompute(s, tids, &runs[p - 2 * depth], ef, lc, wlen);
	}
}

/*
 * Search layer lc from the entry candidates ep (Algorithm 2 of the HNSW
 * paper) keeping the ef nearest in W.  With freshVisited the visited set
 * starts from ep; otherwise (iterative scans) it carries over and ep are
 * already in it.  Points *result at W, nearest first, in an array owned by
 * s that the next call replaces, and returns its size.
 * Elements pushed out of W go to s->discarded when s->keepDiscarded.
 */
/*
 * Adaptive effort: cut W down to ef (the hook lowered it); the furthest go
 * to s->discarded when s->keepDiscarded, as if a smaller ef had pushed them
 * out.  Scans count every element towards ef, so wlen is W's size.
 */
static void
ShrinkW(HnswSearch *s, int ef, int *wlen)
{
	Assert(!s->skipDeadForEf);
	while (s->far.count > ef)
	{
		HnswHeapItem out = HnswHeapPop(&s->far, true);

		if (s->keepDiscarded)
			HnswHeapPush(&s->discarded, out.distance, out.cand, false);
	}
	*wlen = s->far.count;
}

/*
 * Adaptive effort: let W grow to ef (the hook raised it), taking back the
 * nearest discarded candidates (s->keepDiscarded kept those a smaller ef
 * turned away or pushed out), as if the larger ef had admitted them.
 * Candidates pushed out of W are still in C; C may hold them twice, and
 * the second expansion finds every neighbour visited.
 */
static void
GrowW(HnswSearch *s, int ef, int *wlen)
{
	Assert(!s->skipDeadForEf);
	while (s->far.count < ef && s->discarded.count > 0)
	{
		HnswHeapItem in = HnswHeapPop(&s->discarded, false);

		HnswHeapPush(&s->near, in.distance, in.cand, false);
		HnswHeapPush(&s->far, in.distance, in.cand, true);
	}
	*wlen = s->far.count;
}

/*
 * Filtered layer 0 of an iterative scan, when the search stops: an element
 * still in C that failed the keys (or that lost its heap TIDs) is in
 * neither W nor the discarded heap, yet it is visited and unexpanded, so no
 * later batch would ever follow its links, and rows reachable only through
 * it would be missed.  Keep it in the discarded heap: a later batch resumes
 * from it like from any element W turned away.  (An element of C that
 * passed is in W or already in the discarded heap.)
 */
static void
KeepUnexpanded(HnswSearch *s)
{
	for (int i = 0; i < s->near.count; i++)
	{
		HnswHeapItem it = s->near.items[i];

		if (s->cands[it.cand].ntids == 0)
			HnswHeapPush(&s->discarded, it.distance, it.cand, false);
	}
	s->near.count = 0;
}

int
HnswSearchLayer(HnswSearch *s, uint32 *ep, int nep, int ef, int lc, bool freshVisited, uint32 **result)
{
	int			wlen = 0;
	int			nresult;

	s->near.count = 0;
	s->far.count = 0;
	if (freshVisited)
		VisitedClear(s);

	for (int i = 0; i < nep; i++)
	{
		HnswCand   *c = &s->cands[ep[i]];

		if (freshVisited)
		{
			VisitedTestAndSet(s, c->blkno, c->offno);
			s->tuples++;
		}
		HnswHeapPush(&s->near, c->distance, ep[i], false);
		/* filtered layer 0: an entry with no heap TIDs left only routes */
		if (s->nfilterKeys > 0 && lc == 0 && c->ntids == 0)
			continue;
		HnswHeapPush(&s->far, c->distance, ep[i], true);
		if (s->trackK > 0)
			TrackTopK(s, c->distance);
		if (CountsForEf(s, ep[i]))
			wlen++;
	}

	while (s->near.count > 0)
	{
		HnswHeapItem c = HnswHeapPop(&s->near, false);
		int			n;

		if (s->progress != NULL)
		{
			bool		stop = false;
			int			next = s->progress(s, s->progressArg, c.distance, ef, &stop);

			if (next < ef)
				ShrinkW(s, next, &wlen);
			else if (next > ef)
				GrowW(s, next, &wlen);
			ef = next;
			if (stop)
			{
				if (s->nfilterKeys > 0 && lc == 0)
					HnswHeapPush(&s->near, c.distance, c.cand, false);	/* KeepUnexpanded */
				break;
			}
		}
		if (s->nfilterKeys == 0)
		{
			if (c.distance > s->far.items[0].distance)
				break;
		}
		else if (lc == 0)
		{
			/*
			 * W holds only passing elements and may still be short of ef.
			 * The popped candidate goes back to C unexpanded, for
			 * KeepUnexpanded: it may have failed the keys.
			 */
			if ((wlen >= ef && c.distance > s->far.items[0].distance) ||
				(s->maxTuples > 0 && s->tuples >= s->maxTuples))
			{
				HnswHeapPush(&s->near, c.distance, c.cand, false);
				break;
			}
		}
		else if (s->far.count > 0 && c.distance > s->far.items[0].distance)
			break;

		CHECK_FOR_INTERRUPTS();

		n = LoadUnvisited(s, &s->cands[c.cand], lc);
		s->tuples += n;
		if (n > 0)
			EvaluateNeighbors(s, n, ef, lc, &wlen);
	}

	if (s->nfilterKeys > 0 && lc == 0 && s->keepDiscarded)
		KeepUnexpanded(s);

	/* W comes out furthest first; ep may alias the old result array */
	nresult = s->far.count;
	if (nresult > s->maxresult)
	{
		s->maxresult = Max(nresult, s->maxresult * 2);
		s->result = MemoryContextAlloc(GetMemoryChunkContext(s->cands),
									   sizeof(uint32) * s->maxresult);
	}
	for (int i = nresult - 1; i >= 0; i--)
		s->result[i] = HnswHeapPop(&s->far, true).cand;
	*result = s->result;
	return nresult;
}

/* ----------------------------------------------------------------
 *		Neighbour selection
 * ----------------------------------------------------------------
 */

/* Whether pruned candidate i is a near-duplicate of a kept one */
static bool
IsRedundant(const HnswSupport *support, int n, const float *dists, const uint8 *kept, int i,
			HnswPairDistance dist, void *arg)
{
	double		sq = HnswMetricSquared(support, dists[i]);
	double		mi = sq > 0 ? sqrt(sq) : 0;

	if (mi <= 0)
		return false;
	for (int k = 0; k < n; k++)
	{
		double		ksq;

		if (!kept[k])
			continue;
		ksq = HnswMetricSquared(support, dists[k]);
		if (ksq < 0 || fabs(sqrt(ksq) - mi) >= HNSW_NEAR_DUP_RATIO * mi)
			continue;
		if (HnswNearDuplicateNotCopy(support, dist(arg, i, k), dists[i]))
			return true;
	}
	return false;
}

/*
 * Mark the pruned candidates that are near-duplicates of a kept one
 * (HnswNearDuplicateNotCopy of their distance to it against their distance
 * to the owner): linking them adds no direction.  n candidates in distance
 * order, dists their distances to the owner, kept[i] set for kept ones;
 * dist(arg, i, j) is the distance between candidates i and j.  Only kept
 * ones whose distance to the owner is within the near-duplicate margin of
 * the candidate's can be that close (triangle inequality), so few pairs
 * are compared.
 */
void
HnswMarkRedundant(const HnswSupport *support, int n, const float *dists, const uint8 *kept,
				  const uint8 *dup, HnswPairDistance dist, void *arg, uint8 *red)
{
	bool		anyDup = false;

	memset(red, 0, n);
	for (int i = 0; i < n && !anyDup; i++)
		anyDup = dup[i];
	if (!anyDup)
		return;
	for (int i = 0; i < n; i++)
		red[i] = !kept[i] && IsRedundant(support, n, dists, kept, i, dist, arg);
}

/*
 * The order in which the candidates the heuristic pruned top a list of lm
 * up ("keep pruned connections"): n candidates in distance order, kept[i]
 * set for the kept ones, dup[i] for near-duplicates of the list's owner
 * (HnswNearDuplicateNotCopy against the furthest candidate; exact copies
 * are not), red[i] for near-duplicates of a kept one (HnswMarkRedundant).  Writes the indexes
 * of the pruned ones to order, most wanted first, and returns how many.
 *
 * Nearest first, except for near-duplicates.  In a cluster of
 * near-duplicates larger than lm, nearest first would fill every list with
 * the cluster, or with copies of the one cluster next to it, and leave the
 * links to anywhere else to the heuristic's coin flips between equidistant
 * copies: searches would rarely get into or out of the cluster.  So the
 * owner's near-duplicates fill at most half the list (counting kept ones),
 * then come other candidates that are not near-duplicates of a kept one,
 * then those, then the owner's remaining near-duplicates.
 */
int
HnswFillOrder(const uint8 *kept, const uint8 *dup, const uint8 *red, int n, int lm, int *order)
{
	int			share = lm / 2;
	int			ndupfirst;
	int			skip;
	int			norder = 0;

	for (int i = 0; i < n; i++)
		if (kept[i] && dup[i])
			share--;
	for (int i = 0; i < n && share > 0; i++)
	{
		if (!kept[i] && dup[i])
		{
			order[norder++] = i;
			share--;
		}
	}
	ndupfirst = norder;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++)
			if (!kept[i] && !dup[i] && red[i] == pass)
				order[norder++] = i;
	skip = ndupfirst;
	for (int i = 0; i < n; i++)
	{
		if (kept[i] || !dup[i])
			continue;
		if (skip > 0)
			skip--;
		else
			order[norder++] = i;
	}
	return norder;
}

/*
 * The last of n candidates (in distance order) in HnswFillOrder's order,
 * the one a full list of lm leaves out when offered one more; -1 if every
 * one is kept.  Redundancy is computed only as far as needed, from the
 * furthest candidate down (this runs for every back-link).
 */
int
HnswFillLast(const HnswSupport *support, int n, const float *dists, const uint8 *kept,
			 const uint8 *dup, int lm, HnswPairDistance dist, void *arg)
{
	int			share = lm / 2;
	int			ndup = 0;
	int			lastDup = -1;
	int			lastOther = -1;

	for (int i = 0; i < n; i++)
	{
		if (kept[i])
		{
			if (dup[i])
				share--;
		}
		else if (dup[i])
		{
			ndup++;
			lastDup = i;
		}
		else
			lastOther = i;
	}
	if (lastDup >= 0 && ndup > Max(share, 0))
		return lastDup;
	if (lastOther < 0)
		return lastDup;
	if (lastDup >= 0 || share < lm / 2)
	{
		for (int i = n - 1; i >= 0; i--)
			if (!kept[i] && !dup[i] && IsRedundant(support, n, dists, kept, i, dist, arg))
				return i;
	}
	return lastOther;
}

/* HnswPairDistance over HnswSearch candidates */
typedef struct CandPairs
{
	HnswSearch *s;
	uint32	   *cands;
} CandPairs;

static double
CandPairDistance(void *arg, int i, int j)
{
	CandPairs  *p = (CandPairs *) arg;

	return HnswStoredDistance(p->s->support, HnswCandValue(p->s, p->cands[i]),
							  HnswCandValue(p->s, p->cands[j]));
}

/*
 * Algorithm 4 of the HNSW paper with kept pruned connections: walk the
 * candidates nearest first and keep one unless it is at least as close to
 * an already kept neighbour as to the new element (HnswPrunes); then top
 * up with the pruned ones, in HnswFillOrder's order, to lm.  cands must be sorted by distance and
 * have values (s->wantValues).  Returns the number selected.
 */
int
HnswSelectNeighbors(HnswSearch *s, uint32 *cands, int ncands, int lm, uint32 *selected)
{
	int			nsel = 0;
	uint8	   *kept;
	uint8	   *dup;
	uint8	   *red;
	float	   *dists;
	CandPairs	pairs;
	int		   *order;
	int			norder;
	int			nevaluated;

	if (ncands <= lm)
	{
		memcpy(selected, cands, sizeof(uint32) * ncands);
		return ncands;
	}

	kept = palloc0(ncands);
	dup = palloc(ncands);
	red = palloc(ncands);
	dists = palloc(sizeof(float) * ncands);
	order = palloc(sizeof(int) * ncands);
	for (nevaluated = 0; nevaluated < ncands && nsel < lm; nevaluated++)
	{
		int			i = nevaluated;

		HnswCand   *e = &s->cands[cands[i]];
		const char *ev = HnswCandValue(s, cands[i]);
		bool		keep = true;

		for (int j = 0; j < nsel; j++)
		{
			const char *rv = HnswCandValue(s, selected[j]);
			float		d = (float) HnswStoredDistance(s->support, ev, rv);

			if (HnswPrunes(s->support, ev, rv, (const char *) s->query, d, (float) e->distance,
						   (float) s->cands[selected[j]].distance))
			{
				keep = false;
				break;
			}
		}
		if (keep)
		{
			selected[nsel++] = cands[i];
			kept[i] = 1;
		}
	}
	for (int i = 0; i < nevaluated; i++)
	{
		dists[i] = (float) s->cands[cands[i]].distance;
		dup[i] = HnswNearDuplicateNotCopy(s->support, s->cands[cands[i]].distance,
										  s->cands[cands[ncands - 1]].distance);
	}
	pairs.s = s;
	pairs.cands = cands;
	HnswMarkRedundant(s->support, nevaluated, dists, kept, dup, CandPairDistance, &pairs, red);
	norder = HnswFillOrder(kept, dup, red, nevaluated, lm, order);
	for (int i = 0; i < norder && nsel < lm; i++)
		selected[nsel++] = cands[order[i]];
	pfree(kept);
	pfree(dup);
	pfree(red);
	pfree(dists);
	pfree(order);
	return nsel;
}
