/*-------------------------------------------------------------------------
 *
 * indexam.c
 *	  What RuVector's index methods share about compact storage: the
 *	  storage reloption's values and names, the refusals of storage an
 *	  index cannot take, and ruvector.rerank_factor (registered once from
 *	  _PG_init, before either method's own settings).
 *
 * IDENTIFICATION
 *	  src/indexam/indexam.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "indexam/indexam.h"
#include "quant/quant.h"

int			rv_rerank_factor = RV_DEFAULT_RERANK_FACTOR;

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
