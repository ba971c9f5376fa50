/*-------------------------------------------------------------------------
 *
 * ivfutils.c
 *	  IVFFlat helpers shared by build, insert, scan and VACUUM: what an
 *	  index's operator class computes and how, stored values, value arrays,
 *	  pages and the metapage.
 *
 * NOTES
 *	  Distances are computed by calling the distance kernels directly
 *	  (src/distance) instead of the operator class's SQL functions through
 *	  fmgr.  IvfInitSupport recognises the support functions of the
 *	  operator classes we ship by their C entry points; the direct path
 *	  computes exactly what that function returns, so results are the same
 *	  either way.  A support function we do not recognise (a user-written
 *	  operator class) is called through fmgr on the stored datums.
 *
 *	  hnsw recognises its own support functions in hnswutils.c (by SQL
 *	  name), for a different set of kernels: l1 and jaccard there, the
 *	  unsquared l2 and the spherical and chord distances of k-means here.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfutils.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varbit.h"

#include "gnn/gnn.h"
#include "indexam/ivfflat.h"
#include "indexam/indexam.h"
#include "quant/quant.h"
#include "types/types.h"

/* The type support functions of the halfvec and bit operator classes */
PG_FUNCTION_INFO_V1(ivfflat_halfvec_support);
PG_FUNCTION_INFO_V1(ivfflat_bit_support);

static const IvfTypeInfo ivf_vector_info = {IVF_TYPE_VECTOR, IVF_MAX_DIM, RV_ELEM_F32};
static const IvfTypeInfo ivf_halfvec_info = {IVF_TYPE_HALFVEC, IVF_MAX_DIM * 2, RV_ELEM_F16};
static const IvfTypeInfo ivf_bit_info = {IVF_TYPE_BIT, IVF_MAX_DIM * 32, RV_ELEM_BIT};

Datum
ivfflat_halfvec_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&ivf_halfvec_info);
}

Datum
ivfflat_bit_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&ivf_bit_info);
}

/*
 * The support function procnum of the index's only column, or NULL when
 * the operator class does not define it.
 */
static FmgrInfo *
IvfOptionalProc(Relation index, uint16 procnum)
{
	if (!OidIsValid(index_getprocid(index, 1, procnum)))
		return NULL;
	return index_getprocinfo(index, 1, procnum);
}

/*
 * What the operator class indexes: the type support function says, and
 * vector operator classes have none.
 */
const IvfTypeInfo *
IvfGetTypeInfo(Relation index)
{
	FmgrInfo   *proc = IvfOptionalProc(index, IVF_TYPE_INFO_PROC);

	if (proc == NULL)
		return &ivf_vector_info;
	return (const IvfTypeInfo *) DatumGetPointer(FunctionCall0Coll(proc, InvalidOid));
}

/* Size of a stored value: the type's datum, 4-byte header included */
Size
IvfValueSize(const IvfTypeInfo *typeInfo, int dimensions)
{
	switch (typeInfo->kind)
	{
		case IVF_TYPE_VECTOR:
			return VECTOR_SIZE(dimensions);
		case IVF_TYPE_HALFVEC:
			return HALFVEC_SIZE(dimensions);
		case IVF_TYPE_BIT:
			return VARBITTOTALLEN(dimensions);
	}
	elog(ERROR, "unknown ivfflat value type %d", (int) typeInfo->kind);
	return 0;					/* keep compiler quiet */
}

/*
 * Fills support for an index whose values have the given dimensions (the
 * column's typmod at build time, the metapage's afterwards).
 */
void
IvfInitSupport(IvfSupport *support, Relation index, int dimensions, int storage)
{
	const IvfTypeInfo *typeInfo = IvfGetTypeInfo(index);
	IvfTypeKind type = typeInfo->kind;

	support->typeInfo = typeInfo;
	support->dimensions = dimensions;
	support->valueSize = IvfValueSize(typeInfo, dimensions);
	support->kernelLength = type == IVF_TYPE_BIT ? (dimensions + 7) / 8 : dimensions;

	support->distProc = index_getprocinfo(index, 1, IVF_DISTANCE_PROC);
	support->normProc = IvfOptionalProc(index, IVF_NORM_PROC);
	support->kmeansProc = IvfOptionalProc(index, IVF_KMEANS_DISTANCE_PROC);
	support->kmeansNormProc = IvfOptionalProc(index, IVF_KMEANS_NORM_PROC);
	support->collation = index->rd_indcollation[0];

	support->distKind = rv_index_kernel_for(support->distProc, typeInfo->elem);
	support->kmeansKind = rv_index_kernel_for(support->kmeansProc, typeInfo->elem);

	/* Bit strings have no norm; no shipped bit opclass asks for one */
	support->normalize = support->normProc != NULL && type != IVF_TYPE_BIT;
	support->kmeansNormalize = support->kmeansNormProc != NULL && type != IVF_TYPE_BIT;

	/*
	 * Between unit vectors the chord |a - b| = sqrt(2 - 2 a.b) is a metric
	 * that orders centers as the angle does, so k-means assigns exactly as
	 * with the spherical distance, and a square root is much cheaper than
	 * an arc cosine.
	 */
	if (support->kmeansNormalize)
	{
		if (support->kmeansKind == RV_KERNEL_F32_SPHERICAL)
			support->kmeansKind = RV_KERNEL_F32_CHORD;
		else if (support->kmeansKind == RV_KERNEL_F16_SPHERICAL)
			support->kmeansKind = RV_KERNEL_F16_CHORD;
	}

	if (storage < RV_CODE_FLOAT32 || storage > RV_CODE_BINARY)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfflat index \"%s\" has unknown storage %d",
						RelationGetRelationName(index), storage),
				 errhint("REINDEX the index.")));
	support->storage = storage;
	support->codeMetric = rv_index_kernel_code_metric(support->distKind);
	support->codeFloats = NULL;
	support->entryValueSize = support->valueSize;
	if (IvfIsCompact(support))
	{
		support->entryValueSize = VARHDRSZ + rv_code_size(storage, dimensions);
		support->codeFloats = palloc(sizeof(float) * Max(dimensions, 1));
	}
}

/*
 * Most dimensions compact storage takes: centers stay the type's datum, so
 * a list item with its center must fit a page (and so must an entry).
 */
static int
IvfMaxCompactDimensions(IvfSupport *support)
{
	int			limit = support->typeInfo->kind == IVF_TYPE_HALFVEC ?
		support->typeInfo->maxDimensions : 2 * support->typeInfo->maxDimensions;

	while (limit > 0 &&
		   (IvfListItemSize(IvfValueSize(support->typeInfo, limit)) > IVF_MAX_ITEM_SIZE ||
			IvfEntryItemSize(VARHDRSZ + rv_code_size(support->storage, limit)) > IVF_MAX_ITEM_SIZE))
		limit--;
	return limit;
}

/*
 * Refuses storage the index cannot take (rv_check_compact_storage) and too
 * many dimensions for its storage.  Called by the build.
 */
void
IvfCheckStorage(IvfSupport *support, Relation index, IndexInfo *indexInfo)
{
	const char *name = rv_storage_name(support->storage);
	int			maxDimensions;

	rv_check_compact_storage(index, indexInfo, support->storage, support->codeMetric >= 0,
							 support->typeInfo->kind == IVF_TYPE_HALFVEC);

	maxDimensions = IvfIsCompact(support) ? IvfMaxCompactDimensions(support) :
		support->typeInfo->maxDimensions;
	if (support->dimensions > maxDimensions)
	{
		if (IvfIsCompact(support))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("column cannot have more than %d dimensions for ivfflat index with storage \"%s\"",
							maxDimensions, name),
					 errhint("Centers are kept as float32 (halfvec: float16) and must fit a page; use hnsw with compact storage for more dimensions.")));
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for ivfflat index",
						maxDimensions)));
	}
}

/* The floats of a stored vector or halfvec value */
static void
IvfValueFloats(IvfSupport *support, const char *value, float *out)
{
	if (support->typeInfo->kind == IVF_TYPE_HALFVEC)
		rv_half_to_float_n((const rv_half *) IvfValueData(value), out, support->dimensions);
	else
		memcpy(out, IvfValueData(value), sizeof(float) * support->dimensions);
}

/*
 * Writes what an entry stores of a value (already normalised if the
 * opclass wants that) to dst: the value itself under float32 storage, else
 * a varlena holding its code.
 */
void
IvfEncodeEntry(IvfSupport *support, const char *value, char *dst)
{
	if (!IvfIsCompact(support))
	{
		memcpy(dst, value, support->valueSize);
		return;
	}
	IvfValueFloats(support, value, support->codeFloats);
	SET_VARSIZE(dst, support->entryValueSize);
	rv_index_encode_code(support->storage, support->codeFloats, support->dimensions,
						 dst + VARHDRSZ, "ivfflat");
}

/*
 * Writes the value an entry stores to dst as a datum of the indexed type
 * (valueSize bytes): a copy under float32 storage, else the decoded code.
 */
void
IvfDecodeEntry(IvfSupport *support, const char *stored, char *dst)
{
	char	   *data = dst + IVF_VALUE_DATA_OFFSET;

	if (!IvfIsCompact(support))
	{
		memcpy(dst, stored, support->valueSize);
		return;
	}
	rv_code_decode(support->storage, stored + VARHDRSZ, support->dimensions,
				   support->codeFloats);
	SET_VARSIZE(dst, support->valueSize);
	*(int16 *) (dst + VARHDRSZ) = (int16) support->dimensions;
	*(int16 *) (dst + VARHDRSZ + sizeof(int16)) = 0;
	if (support->typeInfo->kind == IVF_TYPE_HALFVEC)
		rv_float_to_half_n(support->codeFloats, (rv_half *) data, support->dimensions);
	else
		memcpy(data, support->codeFloats, sizeof(float) * support->dimensions);
}

/* Elements in a stored value, for messages */
static int
IvfValueDims(const IvfTypeInfo *typeInfo, const char *data)
{
	if (typeInfo->kind == IVF_TYPE_BIT)
		return *(const int32 *) data;
	return *(const int16 *) data;
}

/*
 * Copies a value of the indexed column into dst as a datum with a 4-byte
 * header, detoasting if needed (into the current memory context).  The
 * value must have the index's dimensions.
 */
void
IvfFetchValue(IvfSupport *support, Datum datum, char *dst)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(datum);
	Size		len;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		v = pg_detoast_datum(v);

	len = VARSIZE_ANY_EXHDR(v);
	if (len + VARHDRSZ != support->valueSize)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d",
						support->dimensions,
						len >= sizeof(int32) ? IvfValueDims(support->typeInfo, VARDATA_ANY(v)) : 0)));

	SET_VARSIZE(dst, support->valueSize);
	memcpy(dst + VARHDRSZ, VARDATA_ANY(v), len);
}

/*
 * Scales a stored value to unit length in place, as the type's
 * l2_normalize does.  Returns false for a zero vector, which has no
 * direction: cosine indexes leave such rows out, and spherical k-means
 * leaves such samples out.
 */
bool
IvfNormalizeValue(IvfSupport *support, char *value)
{
	double		sum = 0.0;
	double		norm;

	if (support->typeInfo->kind == IVF_TYPE_VECTOR)
	{
		Vector	   *vec = (Vector *) value;

		for (int i = 0; i < vec->dim; i++)
			sum += (double) vec->x[i] * (double) vec->x[i];
		norm = sqrt(sum);
		if (!(norm > 0))
			return false;

		for (int i = 0; i < vec->dim; i++)
		{
			vec->x[i] = (float) (vec->x[i] / norm);
			if (unlikely(isinf(vec->x[i])))
				float_overflow_error();
		}
	}
	else if (support->typeInfo->kind == IVF_TYPE_HALFVEC)
	{
		HalfVector *vec = (HalfVector *) value;

		for (int i = 0; i < vec->dim; i++)
		{
			double		x = (double) rv_half_to_float(vec->x[i]);

			sum += x * x;
		}
		norm = sqrt(sum);
		if (!(norm > 0))
			return false;

		for (int i = 0; i < vec->dim; i++)
		{
			vec->x[i] = rv_float_to_half((float) (rv_half_to_float(vec->x[i]) / norm));
			if (unlikely(rv_half_is_inf(vec->x[i])))
				float_overflow_error();
		}
	}
	return true;
}

/*
 * Makes sure a query value can be compared with the stored values before
 * any kernel reads it.  On a mismatch the operator class's own distance
 * function is called once, so the user sees the type's usual error.
 */
void
IvfCheckQuery(IvfSupport *support, const char *query, const char *sample)
{
	if (VARSIZE(query) == support->valueSize)
		return;

	if (sample != NULL)
		(void) FunctionCall2Coll(support->distProc, support->collation,
								 PointerGetDatum(sample), PointerGetDatum(query));

	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("expected %d dimensions, not %d", support->dimensions,
					IvfValueDims(support->typeInfo, query + VARHDRSZ))));
}

/* A distance through fmgr, for operator classes we do not recognise */
float
IvfDistanceFmgr(IvfSupport *support, FmgrInfo *proc, const char *a, const char *b)
{
	return (float) DatumGetFloat8(FunctionCall2Coll(proc, support->collation,
													PointerGetDatum(a),
													PointerGetDatum(b)));
}

/* k-means helpers over a row of bounds; see distance/distance.h */
int
IvfFilterCandidates(const float *lower, const float *halfcc, float u, int k, int skip, int *out)
{
	return rv_bound_filter(lower, halfcc, u, k, skip, out);
}

float
IvfMinExcept(const float *x, int k, int skip)
{
	return rv_min_except(x, k, skip);
}

/* Batch size of IvfDistanceMany: the element pointers live on the stack */
#define IVF_MANY_BATCH	64

/*
 * out[i] = the distance of kind from q to values[i], for i < count.  The
 * float32 kinds go through the batched kernels (see distance/distance.h: a pair's
 * distance does not depend on the batch), the others one pair at a time.
 * Nearest-center searches (builds, inserts, scans ranking lists) all come
 * here, so that they agree on which center is nearest.
 */
void
IvfDistanceMany(IvfSupport *support, RvIndexKernel kind, FmgrInfo *proc,
				const char *q, const char *const *values, int count, float *out)
{
	const float *x = IvfValueData(q);
	const float *rows[IVF_MANY_BATCH];
	int			dim = support->kernelLength;

	if (kind != RV_KERNEL_F32_L2SQ && kind != RV_KERNEL_F32_L2 &&
		kind != RV_KERNEL_F32_NEGDOT && kind != RV_KERNEL_F32_CHORD &&
		kind != RV_KERNEL_F32_SPHERICAL)
	{
		for (int i = 0; i < count; i++)
			out[i] = IvfDistance(support, kind, proc, q, values[i]);
		return;
	}

	for (int start = 0; start < count; start += IVF_MANY_BATCH)
	{
		int			n = Min(IVF_MANY_BATCH, count - start);
		float	   *o = out + start;

		for (int i = 0; i < n; i++)
			rows[i] = IvfValueData(values[start + i]);

		if (kind == RV_KERNEL_F32_L2SQ || kind == RV_KERNEL_F32_L2)
			rv_f32_l2sq_many(x, rows, n, dim, o);
		else
			rv_f32_dot_many(x, rows, n, dim, o);

		for (int i = 0; i < n; i++)
		{
			switch (kind)
			{
				case RV_KERNEL_F32_L2:
					o[i] = sqrtf(o[i]);
					break;
				case RV_KERNEL_F32_NEGDOT:
					o[i] = -o[i];
					break;
				case RV_KERNEL_F32_CHORD:
					o[i] = sqrtf(Max(0.0f, 2.0f - 2.0f * o[i]));
					break;
				case RV_KERNEL_F32_SPHERICAL:
					o[i] = (float) (acos(Max(-1.0, Min(1.0, (double) o[i]))) / M_PI);
					break;
				default:
					break;
			}
		}
	}
}

/* sum += value, element by element (bits count as 0 or 1) */
void
IvfAccumulate(IvfSupport *support, const char *value, float *sum)
{
	int			dim = support->dimensions;

	switch (support->typeInfo->kind)
	{
		case IVF_TYPE_VECTOR:
			{
				const float *x = ((const Vector *) value)->x;

				for (int i = 0; i < dim; i++)
					sum[i] += x[i];
				break;
			}
		case IVF_TYPE_HALFVEC:
			{
				const rv_half *x = ((const HalfVector *) value)->x;

				for (int i = 0; i < dim; i++)
					sum[i] += rv_half_to_float(x[i]);
				break;
			}
		case IVF_TYPE_BIT:
			{
				const bits8 *x = VARBITS((const VarBit *) value);

				for (int i = 0; i < dim; i++)
					sum[i] += (float) ((x[i / 8] >> (7 - i % 8)) & 1);
				break;
			}
	}
}

/*
 * Writes a center from its mean: as is for vector, rounded for halfvec,
 * and for bit each bit set where most members have it set.
 */
void
IvfSetCenter(IvfSupport *support, const float *mean, char *center)
{
	int			dim = support->dimensions;

	SET_VARSIZE(center, support->valueSize);
	switch (support->typeInfo->kind)
	{
		case IVF_TYPE_VECTOR:
			{
				Vector	   *vec = (Vector *) center;

				vec->dim = (int16) dim;
				vec->unused = 0;
				memcpy(vec->x, mean, sizeof(float) * dim);
				break;
			}
		case IVF_TYPE_HALFVEC:
			{
				HalfVector *vec = (HalfVector *) center;

				vec->dim = (int16) dim;
				vec->unused = 0;
				rv_float_to_half_n(mean, vec->x, dim);
				break;
			}
		case IVF_TYPE_BIT:
			{
				VarBit	   *vec = (VarBit *) center;
				bits8	   *x = VARBITS(vec);

				VARBITLEN(vec) = dim;
				memset(x, 0, VARBITBYTES(vec));
				for (int i = 0; i < dim; i++)
				{
					if (mean[i] > 0.5f)
						x[i / 8] |= (bits8) (1 << (7 - i % 8));
				}
				break;
			}
	}
}

/*
 * Raises pgvector's error when a build would need more memory than
 * maintenance_work_mem allows.
 */
void
IvfCheckMemory(Size required)
{
	if (required / 1024 > (Size) maintenance_work_mem)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("memory required is %zu MB, maintenance_work_mem is %d MB",
						required / (1024 * 1024) + 1, maintenance_work_mem / 1024)));
}

/*
 * The k-means distance (support proc 3) from a stored value to its list's
 * center: the figure drift is measured in.  Spherical k-means compares unit
 * vectors, so a value that is not stored normalised is normalised in
 * scratch (valueSize bytes) first.  NaN when there is no such distance (a
 * zero vector, or no proc 3).
 */
float
IvfDriftDistance(IvfSupport *support, const char *value, const char *center,
				 char *scratch)
{
	if (support->kmeansProc == NULL)
		return NAN;
	if (support->kmeansNormalize && !support->normalize)
	{
		memcpy(scratch, value, support->valueSize);
		if (!IvfNormalizeValue(support, scratch))
			return NAN;
		value = scratch;
	}
	return IvfDistance(support, support->kmeansKind, support->kmeansProc, value, center);
}

/* An array of capacity values, zeroed, in the current memory context */
IvfValueArray *
IvfValueArrayCreate(int capacity, Size valueSize)
{
	IvfValueArray *arr = palloc(sizeof(IvfValueArray));

	arr->length = 0;
	arr->capacity = capacity;
	arr->stride = MAXALIGN(valueSize);
	arr->items = palloc_extended(Max(capacity, 1) * arr->stride,
								 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	return arr;
}

void
IvfValueArrayFree(IvfValueArray *arr)
{
	pfree(arr->items);
	pfree(arr);
}

/*
 * A page for the main fork, pinned and exclusively locked: a deleted page
 * the free space map offers, or a new one at the end (taking the relation
 * extension lock).  The free space map is only a hint, so a page is reused
 * only if it still is deleted (or was never initialised) once locked.
 */
Buffer
IvfNewOrFreeBuffer(Relation index)
{
	Buffer		buf;

	for (;;)
	{
		BlockNumber blkno = GetFreeIndexPage(index);
		Page		page;

		if (!BlockNumberIsValid(blkno))
			break;
		buf = ReadBuffer(index, blkno);
		if (ConditionalLockBuffer(buf))
		{
			page = BufferGetPage(buf);
			if (PageIsNew(page) ||
				(IvfPageGetOpaque(page)->page_id == IVF_PAGE_ID &&
				 (IvfPageGetOpaque(page)->flags & IVF_PAGE_DELETED) != 0))
				return buf;
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		}
		ReleaseBuffer(buf);
	}

	LockRelationForExtension(index, ExclusiveLock);
	buf = IvfNewBuffer(index, MAIN_FORKNUM);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

/* Raises an error unless meta is an ivfflat metapage of a version we read */
void
IvfCheckMeta(Relation index, IvfMetaPage meta)
{
	if (unlikely(meta->magicNumber != IVF_MAGIC_NUMBER))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfflat index is not valid"),
				 errdetail("Index \"%s\" has no ivfflat metapage.",
						   RelationGetRelationName(index))));
	if (unlikely(meta->version != IVF_FORMAT_VERSION &&
				 meta->version != IVF_FORMAT_VERSION_V1))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ivfflat index \"%s\" has format version %u, this build reads versions %d to %d",
						RelationGetRelationName(index), meta->version,
						IVF_FORMAT_VERSION_V1, IVF_FORMAT_VERSION),
				 errhint("REINDEX the index.")));
}

/*
 * Reads the metapage.  Any output pointer may be NULL.  Takes and releases
 * a share lock on the metapage.
 */
void
IvfReadMeta(Relation index, int *lists, int *dimensions, BlockNumber *listHead)
{
	IvfMetaPageData meta;

	IvfReadMetaAll(index, &meta);
	if (lists != NULL)
		*lists = (int) meta.lists;
	if (dimensions != NULL)
		*dimensions = (int) meta.dimensions;
	if (listHead != NULL)
		*listHead = meta.listHead;
}

/*
 * Copies the whole metapage into meta, the fields a version 1 metapage
 * lacks at their defaults.
 */
void
IvfReadMetaAll(Relation index, IvfMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, IVF_METAPAGE_BLKNO);
	IvfMetaPage m;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	m = IvfPageGetMeta(BufferGetPage(buf));
	IvfCheckMeta(index, m);

	memset(meta, 0, sizeof(IvfMetaPageData));
	if (m->version == IVF_FORMAT_VERSION_V1)
	{
		memcpy(meta, m, IVF_META_V1_SIZE);
		meta->oldListHead = InvalidBlockNumber;
	}
	else
		memcpy(meta, m, sizeof(IvfMetaPageData));

	UnlockReleaseBuffer(buf);
}

/* Keeps the contents below pd_lower: WAL leaves out the hole above it */
void
IvfSetMetaLower(Page page)
{
	IvfMetaPage meta = IvfPageGetMeta(page);

	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(IvfMetaPageData)) - (char *) page;
}

/*
 * Writes the metapage as block 0 of a fork being built.  Like every page
 * of a build it is WAL-logged afterwards, with the rest of the index.
 */
void
IvfWriteMetaPage(Relation index, ForkNumber forkNum, int dimensions,
				 int lists, BlockNumber listHead, int storage)
{
	Buffer		buf = IvfNewBuffer(index, forkNum);
	Page		page = BufferGetPage(buf);
	IvfMetaPage meta;

	Assert(BufferGetBlockNumber(buf) == IVF_METAPAGE_BLKNO);

	IvfInitPage(page, BufferGetPageSize(buf));
	meta = IvfPageGetMeta(page);
	memset(meta, 0, sizeof(IvfMetaPageData));
	meta->magicNumber = IVF_MAGIC_NUMBER;
	meta->version = IVF_FORMAT_VERSION;
	meta->dimensions = (uint32) dimensions;
	meta->lists = (uint32) lists;
	meta->listHead = listHead;
	meta->storage = (uint32) storage;
	meta->oldListHead = InvalidBlockNumber;
	meta->builtAt = GetCurrentTimestamp();
	IvfSetMetaLower(page);

	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/*
 * Stores the drift baseline of the rows a build wrote.  Not WAL-logged:
 * the build logs every page afterwards.
 */
void
IvfWriteMetaBaseline(Relation index, ForkNumber forkNum, const IvfDriftSum *base)
{
	Buffer		buf = ReadBufferExtended(index, forkNum, IVF_METAPAGE_BLKNO, RBM_NORMAL, NULL);
	IvfMetaPage meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = IvfPageGetMeta(BufferGetPage(buf));
	meta->baseSum = base->sum;
	meta->baseCount = base->count;
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/* ----------------------------------------------------------------
 *		The learning loop's regions (src/gnn/learning.c)
 * ----------------------------------------------------------------
 */

/*
 * One list's entries for the learning loop: how many there are (normal
 * line pointers of its chain), and the mean L2 distance of the first
 * nsample of them to the unit center, as unit vectors.
 */
static int64
IvfLearnChain(Relation index, IvfSupport *support, BlockNumber blkno, const float *center,
			  int nsample, char *value, float *unit, double *radius)
{
	int64		n = 0;
	int			taken = 0;
	double		sum = 0;
	int			dim = support->dimensions;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			double		d2 = 0;

			if (!ItemIdIsNormal(iid))
				continue;
			n++;
			if (taken >= nsample)
				continue;
			IvfDecodeEntry(support, IvfEntryValue((IvfEntry) PageGetItem(page, iid)), value);
			rv_gnn_unit((const float *) IvfValueData(value), dim, unit);
			for (int d = 0; d < dim; d++)
				d2 += ((double) unit[d] - center[d]) * ((double) unit[d] - center[d]);
			sum += sqrt(d2);
			taken++;
		}
		blkno = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
	*radius = taken > 0 ? sum / taken : 0;
	return n;
}

/*
 * The regions of an ivfflat index on vector values, for the learning
 * loop's model: its lists in list order (the order the scans number them),
 * each with its center as a unit vector (centers: lists * dimensions), its
 * entries (sizes) and the mean distance of up to nsample of its entries to
 * the center, as unit vectors (radius).  Returns the number of lists and
 * sets *dim.  Reads every entry page once.
 */
int
IvfLearnLists(Relation index, int nsample, int *dim, float **centers, int64 **sizes,
			  double **radius)
{
	IvfMetaPageData meta;
	IvfSupport	support;
	BlockNumber blkno;
	int			n = 0;
	int			lists;
	char	   *value;
	float	   *unit;
	BlockNumber *starts;

	IvfReadMetaAll(index, &meta);
	lists = (int) meta.lists;
	IvfInitSupport(&support, index, (int) meta.dimensions, (int) meta.storage);
	if (support.typeInfo->kind != IVF_TYPE_VECTOR)
		elog(ERROR, "index \"%s\" is not on vector values", RelationGetRelationName(index));
	*dim = support.dimensions;
	*centers = palloc0(sizeof(float) * (Size) lists * support.dimensions);
	*sizes = palloc0(sizeof(int64) * lists);
	*radius = palloc0(sizeof(double) * lists);
	starts = palloc(sizeof(BlockNumber) * lists);
	value = palloc(support.valueSize);
	unit = palloc(sizeof(float) * Max(support.dimensions, 1));

	/* the centers first: no list page is pinned while the chains are read */
	blkno = meta.listHead;
	while (BlockNumberIsValid(blkno) && n < lists)
	{
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		int			count;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		count = Min(PageGetMaxOffsetNumber(page), lists - n);
		for (int i = 0; i < count; i++, n++)
		{
			IvfList		list = (IvfList) PageGetItem(page, PageGetItemId(page, i + 1));

			rv_gnn_unit((const float *) IvfValueData(IvfListCenter(list)), support.dimensions,
					*centers + (Size) n * support.dimensions);
			starts[n] = list->startPage;
		}
		blkno = IvfPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
	for (int l = 0; l < n; l++)
		(*sizes)[l] = IvfLearnChain(index, &support, starts[l],
									*centers + (Size) l * support.dimensions,
									nsample, value, unit, &(*radius)[l]);
	pfree(starts);
	pfree(value);
	pfree(unit);
	return n;
}
