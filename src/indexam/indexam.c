/*-------------------------------------------------------------------------
 *
 * indexam.c
 *	  What RuVector's index methods share: the storage reloption's values
 *	  and names, the refusals of storage an index cannot take,
 *	  ruvector.rerank_factor (registered once from _PG_init, before either
 *	  method's own settings), and the one table from an operator class's
 *	  support function to the distance kernel that computes the same thing.
 *
 *	  The kernel table: a support function is recognised by its C entry
 *	  point (the FmgrInfo's fn_addr) and the element type of the operator
 *	  class, so a user-defined operator class over another function, or one
 *	  of ours declared over another type, always gets fmgr.  A miss is
 *	  silent (fmgr computes the same distances, slower), so
 *	  ruvector_index_kernel() reports what an index uses and regress
 *	  index_kernels checks every shipped operator class.
 *
 * IDENTIFICATION
 *	  src/indexam/indexam.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "indexam/hnsw.h"
#include "indexam/indexam.h"
#include "indexam/ivfflat.h"
#include "quant/quant.h"

PG_FUNCTION_INFO_V1(ruvector_index_kernel);

int			rv_rerank_factor = RV_DEFAULT_RERANK_FACTOR;

/* The support functions with a kernel (src/types/) */
extern PGDLLEXPORT Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum l2_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum l1_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum vector_spherical_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum halfvec_l2_squared_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum halfvec_l2_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum halfvec_l1_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum halfvec_spherical_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hamming_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum jaccard_distance(PG_FUNCTION_ARGS);

/*
 * One row per kernel.  fn is NULL for kernels no support function maps to
 * (the chords, which ivfflat's k-means puts in place of the spherical
 * distance between unit vectors).  codeMetric is the RvCodeMetric that
 * ranks compact codes as the kernel ranks values, or -1.
 */
typedef struct RvKernelEntry
{
	RvIndexKernel kernel;
	const char *name;			/* for ruvector_index_kernel() */
	PGFunction	fn;
	RvElemType	elem;
	int			codeMetric;
} RvKernelEntry;

/* The rows of one float element type, alike for vector and halfvec */
#define RV_FLOAT_KERNEL_ROWS(T, t, l2sq, l2, negdot, l1, spherical) \
	{RV_KERNEL_##T##_L2SQ, #t "_l2sq", l2sq, RV_ELEM_##T, RV_CODE_L2SQ}, \
	{RV_KERNEL_##T##_L2, #t "_l2", l2, RV_ELEM_##T, RV_CODE_L2SQ}, \
	{RV_KERNEL_##T##_NEGDOT, #t "_negdot", negdot, RV_ELEM_##T, RV_CODE_NEGDOT}, \
	{RV_KERNEL_##T##_L1, #t "_l1", l1, RV_ELEM_##T, RV_CODE_L1}, \
	{RV_KERNEL_##T##_SPHERICAL, #t "_spherical", spherical, RV_ELEM_##T, -1}, \
	{RV_KERNEL_##T##_CHORD, #t "_chord", NULL, RV_ELEM_##T, -1}

static const RvKernelEntry rv_kernel_table[] = {
	{RV_KERNEL_FMGR, "fmgr", NULL, RV_ELEM_OTHER, -1},
	RV_FLOAT_KERNEL_ROWS(F32, f32, vector_l2_squared_distance, l2_distance,
						 vector_negative_inner_product, l1_distance, vector_spherical_distance),
	RV_FLOAT_KERNEL_ROWS(F16, f16, halfvec_l2_squared_distance, halfvec_l2_distance,
						 halfvec_negative_inner_product, halfvec_l1_distance,
						 halfvec_spherical_distance),
	{RV_KERNEL_BIT_HAMMING, "bit_hamming", hamming_distance, RV_ELEM_BIT, -1},
	{RV_KERNEL_BIT_JACCARD, "bit_jaccard", jaccard_distance, RV_ELEM_BIT, -1},
};

StaticAssertDecl(lengthof(rv_kernel_table) == RV_KERNEL_BIT_JACCARD + 1,
				 "one row per RvIndexKernel");

/* The kernel computing what a support function returns, or RV_KERNEL_FMGR */
RvIndexKernel
rv_index_kernel_for(FmgrInfo *proc, RvElemType elem)
{
	if (proc == NULL || elem == RV_ELEM_OTHER)
		return RV_KERNEL_FMGR;
	for (int i = 0; i < lengthof(rv_kernel_table); i++)
	{
		const RvKernelEntry *e = &rv_kernel_table[i];

		Assert(e->kernel == (RvIndexKernel) i);
		if (e->fn != NULL && e->fn == proc->fn_addr && e->elem == elem)
			return e->kernel;
	}
	return RV_KERNEL_FMGR;
}

/* A kernel's name, as ruvector_index_kernel() reports it */
const char *
rv_index_kernel_name(RvIndexKernel kernel)
{
	Assert(kernel >= 0 && kernel < lengthof(rv_kernel_table));
	return rv_kernel_table[kernel].name;
}

/* The code metric ranking codes as the kernel ranks values, or -1 */
int
rv_index_kernel_code_metric(RvIndexKernel kernel)
{
	Assert(kernel >= 0 && kernel < lengthof(rv_kernel_table));
	return rv_kernel_table[kernel].codeMetric;
}

relopt_enum_elt_def rv_storage_options[] = {
	{"float32", RV_CODE_FLOAT32},
	{"float16", RV_CODE_FLOAT16},
	{"sq8", RV_CODE_SQ8},
	{"binary", RV_CODE_BINARY},
	{(const char *) NULL}
};

void
RvIndexamInit(void)
{
	DefineCustomIntVariable("ruvector.rerank_factor",
							"Sets how many more candidates scans of compact indexes re-rank",
							"An index with storage other than float32 gathers this many times "
							"the candidates it would otherwise return (hnsw: hnsw.ef_search "
							"times this) by code distance, and re-ranks them all with exact "
							"distances read from the table.",
							&rv_rerank_factor, RV_DEFAULT_RERANK_FACTOR,
							1, RV_MAX_RERANK_FACTOR,
							PGC_USERSET, 0, NULL, NULL, NULL);
	RvOrderByValueInit();
}

/* The reloption spelling of a storage value */
const char *
rv_storage_name(int storage)
{
	for (int i = 0; rv_storage_options[i].string_val != NULL; i++)
		if (rv_storage_options[i].symbol_val == storage)
			return rv_storage_options[i].string_val;
	return "unknown";
}

/*
 * The lock modes index.c holds in the leader of a parallel build, which
 * its workers take on the table and the index (CREATE INDEX, or CREATE
 * INDEX CONCURRENTLY).
 */
void
rv_build_lock_modes(bool isconcurrent, LOCKMODE *heapmode, LOCKMODE *indexmode)
{
	if (!isconcurrent)
	{
		*heapmode = ShareLock;
		*indexmode = AccessExclusiveLock;
	}
	else
	{
		*heapmode = ShareUpdateExclusiveLock;
		*indexmode = RowExclusiveLock;
	}
}

/* Name of the index's operator class, for messages */
char *
rv_opclass_name(Relation index)
{
	bool		isnull;
	Datum		indclass = SysCacheGetAttr(INDEXRELID, index->rd_indextuple,
										   Anum_pg_index_indclass, &isnull);
	HeapTuple	tup;
	char	   *name;

	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(((oidvector *) DatumGetPointer(indclass))->values[0]));
	if (!HeapTupleIsValid(tup))
		return pstrdup("?");
	name = pstrdup(NameStr(((Form_pg_opclass) GETSTRUCT(tup))->opcname));
	ReleaseSysCache(tup);
	return name;
}

/*
 * Refuse compact storage where it cannot work: operator classes whose
 * distance has no code metric (the codes rank floats: bit, sparsevec, any
 * we do not recognise), float16 on halfvec (nothing to gain), and
 * expression indexes (re-ranking reads the table column).  Dimension
 * limits differ by method and stay with each.  Called by the builds.
 */
void
rv_check_compact_storage(Relation index, IndexInfo *indexInfo, int storage,
						 bool hasCodeMetric, bool isHalfvec)
{
	const char *name = rv_storage_name(storage);

	if (storage == RV_CODE_FLOAT32)
		return;
	if (!hasCodeMetric)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("storage \"%s\" is not supported by operator class \"%s\"",
						name, rv_opclass_name(index)),
				 errhint("Compact storage applies to the vector and halfvec operator classes; use storage = float32 (the default).")));
	if (storage == RV_CODE_FLOAT16 && isHalfvec)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("storage \"%s\" is not supported by operator class \"%s\"",
						name, rv_opclass_name(index)),
				 errdetail("halfvec values are already stored as float16."),
				 errhint("Use storage = float32 (the default), sq8 or binary.")));
	if (indexInfo != NULL && indexInfo->ii_IndexAttrNumbers[0] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("storage \"%s\" is not supported for expression indexes", name),
				 errhint("Scans re-rank with the vectors of the table column; index the column itself.")));
}

/*
 * Extend the index by one page of forkNum and return it exclusively
 * locked.  Callers other than a serial build hold the relation extension
 * lock.
 */
Buffer
rv_index_new_buffer(Relation index, ForkNumber forkNum)
{
	Buffer		buf = ReadBufferExtended(index, forkNum, P_NEW, RBM_NORMAL, NULL);

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	return buf;
}

/* Format an empty page of the method whose page id is pageId */
void
rv_index_init_page(Page page, Size pageSize, uint16 pageId)
{
	RvIndexPageOpaqueData *opaque;

	PageInit(page, pageSize, sizeof(RvIndexPageOpaqueData));
	opaque = (RvIndexPageOpaqueData *) PageGetSpecialPointer(page);
	opaque->nextblkno = InvalidBlockNumber;
	opaque->flags = 0;
	opaque->page_id = pageId;
}

/*
 * Encode dimensions floats as a code of compact storage into code, or
 * raise the error of both methods (amname names the index's): a vector
 * whose elements span more than the float range has no code.
 */
void
rv_index_encode_code(int storage, const float *x, int dimensions, char *code,
					 const char *amname)
{
	if (!rv_code_encode(storage, x, dimensions, code))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("vector cannot be stored with storage \"%s\" in %s index",
						rv_storage_name(storage), amname),
				 errdetail("Its largest and smallest elements differ by more than the float range.")));
}

/*
 * The name of the relation an SQL function was given by oid (regclass
 * takes any number); an error if there is none.
 */
char *
rv_relation_name_or_error(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return name;
}

/*
 * Opens the index indexoid for an SQL function: checks it is one the user
 * may use this way (owner, or SELECT on the table), then locks its table
 * and the index.  With ambuild, refuses an index of another method
 * (amname in the message).  Errors name the index.
 */
Relation
rv_index_open_for_function(Oid indexoid, const char *func, bool ownerOnly,
						   LOCKMODE indexmode, ambuild_function ambuild,
						   const char *amname)
{
	char	   *name = rv_relation_name_or_error(indexoid);
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Relation	index;

	if (!OidIsValid(heapoid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", name)));

	if (ownerOnly)
	{
		if (!pg_class_ownercheck(indexoid, GetUserId()))
			aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, name);
	}
	else if (pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(heapoid));

	LockRelationOid(heapoid, AccessShareLock);
	index = index_open(indexoid, indexmode);
	if (IndexGetRelation(indexoid, false) != heapoid)
		elog(ERROR, "index \"%s\" moved to another table", name);

	if (index->rd_rel->relkind == RELKIND_PARTITIONED_INDEX)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partitioned index", name),
				 errhint("Call %s on the index of each partition.", func)));
	if (ambuild != NULL && index->rd_indam->ambuild != ambuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an %s index", name, amname)));
	if (RELATION_IS_OTHER_TEMP(index))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot access temporary indexes of other sessions")));
	if (!index->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" is not valid", name),
				 errhint("REINDEX the index.")));
	return index;
}

/*
 * ruvector_index_kernel(index regclass, OUT distance text, OUT kmeans text):
 * the kernel an hnsw or ivfflat index computes distances with (support
 * function 1), and for ivfflat the one its k-means uses (support function
 * 3; NULL for hnsw).  'fmgr' means the support function is called through
 * fmgr: right for operator classes without a kernel (sparsevec, user
 * defined), a lost kernel otherwise.  Needs SELECT on the table.
 */
Datum
ruvector_index_kernel(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	index = rv_index_open_for_function(indexoid, "ruvector_index_kernel()", false,
									   AccessShareLock, NULL, NULL);
	if (index->rd_indam->ambuild == hnswbuild)
	{
		HnswSupport support;

		HnswInitSupport(&support, index);
		values[0] = CStringGetTextDatum(rv_index_kernel_name(support.kind));
		nulls[1] = true;
	}
	else if (index->rd_indam->ambuild == ivfflatbuild)
	{
		IvfMetaPageData meta;
		IvfSupport	support;

		IvfReadMetaAll(index, &meta);
		IvfInitSupport(&support, index, (int) meta.dimensions, (int) meta.storage);
		values[0] = CStringGetTextDatum(rv_index_kernel_name(support.distKind));
		values[1] = CStringGetTextDatum(rv_index_kernel_name(support.kmeansKind));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw or ivfflat index",
						RelationGetRelationName(index))));
	index_close(index, AccessShareLock);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The planner's price of one distance between two values of an index, for
 * the distances a scan computes that genericcostestimate does not count
 * (graph expansion, list entries): an operator evaluation per two elements
 * (per 32 bits of a bit string).  A column without a typmod counts as 128
 * elements, and at most 2,000 are counted (a sparse vector's typmod is its
 * dimensions, not its non-zero elements).
 */
double
rv_index_distance_cost(Relation index)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(index), 0);
	double		elements = att->atttypmod > 0 ? Min(att->atttypmod, 2000) : 128;

	if (att->atttypid == BITOID)
		elements = att->atttypmod > 0 ? att->atttypmod / 16.0 : 8;
	return cpu_operator_cost * (1 + elements / 2);
}
