/*-------------------------------------------------------------------------
 *
 * hnswfilter.c
 *	  Filter columns of a multicolumn HNSW index: which columns may be
 *	  filter columns, the block of their values each node keeps, and the
 *	  evaluation of a scan's keys on that block.
 *
 * NOTES
 *	  CREATE INDEX ... USING hnsw (embedding vector_l2_ops, category, score)
 *	  indexes the vector (column 1, the graph is built from it alone) and
 *	  keeps the values of the other columns in every node.  The default
 *	  operator classes of the filter types (sql/parts/52_hnsw_filter.sql)
 *	  hold the btree comparison operators under btree's strategy numbers,
 *	  so the planner hands `category = $2` or `score BETWEEN $2 AND $3` to
 *	  the scan as scan keys.  The scan evaluates them on the node it has
 *	  read for the distance: an element that fails still routes the search
 *	  but is never a result, and no heap row is fetched to reject it
 *	  (hnswutils.c, Offer).  Results are exact: the keys are the quals.
 *
 *	  A filter column must be a fixed-width type passed by value (1 to 8
 *	  bytes): its value is kept in an 8-byte slot as store_att_byval
 *	  writes it, and the keys' comparison functions are called on it as
 *	  they would be on the heap's value.  NULL never satisfies a key.
 *
 *	  Block layout (hnsw.h, HnswFilterSize): byte 0 has bit i set when
 *	  filter column i is NULL, bytes 1-7 are zero, then one slot per column.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswfilter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/stratnum.h"
#include "access/tupmacs.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "indexam/hnsw.h"

/* Number of filter columns of an index: its key columns after the first */
static int
FilterCount(Relation index)
{
	return IndexRelationGetNumberOfKeyAttributes(index) - 1;
}

/*
 * Refuse an index whose columns are not one vector column followed by at
 * most HNSW_MAX_FILTERS filter columns of fixed-width by-value types.
 * Called before anything reads the opclasses' support functions, so a
 * misplaced column gets these messages instead of a missing-function one.
 */
void
HnswCheckColumns(Relation index)
{
	int			nkeys = IndexRelationGetNumberOfKeyAttributes(index);

	if (!OidIsValid(index_getprocid(index, 1, HNSW_DISTANCE_PROC)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("first column of hnsw index \"%s\" must be a vector column, not type %s",
						RelationGetRelationName(index),
						format_type_be(TupleDescAttr(RelationGetDescr(index), 0)->atttypid)),
				 errhint("Put the vector column first, e.g. USING hnsw (embedding vector_l2_ops, category).")));

	if (nkeys - 1 > HNSW_MAX_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw index \"%s\" has %d filter columns, the limit is %d",
						RelationGetRelationName(index), nkeys - 1, HNSW_MAX_FILTERS)));

	for (int attno = 2; attno <= nkeys; attno++)
	{
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(index), attno - 1);

		if (OidIsValid(index_getprocid(index, attno, HNSW_DISTANCE_PROC)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column %d of hnsw index \"%s\" is a second vector column",
							attno, RelationGetRelationName(index)),
					 errhint("An hnsw index orders by its first column only; columns after it are filter columns (integers, floats, dates, timestamps, bool, oid).")));

		if (!attr->attbyval || attr->attlen < 1 || attr->attlen > (int) sizeof(Datum))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("type %s of column %d of hnsw index \"%s\" cannot be a filter column",
							format_type_be(attr->atttypid), attno, RelationGetRelationName(index)),
					 errhint("Filter columns must be fixed-width types passed by value (integers, floats, dates, timestamps, bool, oid).")));
	}
}

/* Fill the filter fields of support from the index's columns */
void
HnswFilterInit(HnswSupport *support, Relation index)
{
	int			n = FilterCount(index);

	n = Max(Min(n, HNSW_MAX_FILTERS), 0);
	support->nfilters = n;
	support->filterSize = HnswFilterSize(n);
	for (int i = 0; i < n; i++)
	{
		support->filterLen[i] = TupleDescAttr(RelationGetDescr(index), i + 1)->attlen;
		support->filterType[i] = TupleDescAttr(RelationGetDescr(index), i + 1)->atttypid;
	}
}

/*
 * Write the filter block of one row into out (support->filterSize bytes):
 * values and isnull are the index tuple's, column 1 being the vector.
 */
void
HnswFormFilter(const HnswSupport *support, const Datum *values, const bool *isnull, char *out)
{
	if (support->nfilters == 0)
		return;
	memset(out, 0, support->filterSize);
	for (int i = 0; i < support->nfilters; i++)
	{
		if (isnull[i + 1])
			out[0] |= (char) (1 << i);
		else
			store_att_byval(out + (i + 1) * sizeof(Datum), values[i + 1], support->filterLen[i]);
	}
}

/*
 * How values of a type compare inline: HNSW_FILTER_INT for the integer-like
 * types of the operator classes, HNSW_FILTER_FLOAT for float4 and float8,
 * else HNSW_FILTER_FMGR.
 */
static int
InlineKind(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case OIDOID:
		case BOOLOID:
			return HNSW_FILTER_INT;
		case FLOAT4OID:
		case FLOAT8OID:
			return HNSW_FILTER_FLOAT;
	}
	return HNSW_FILTER_FMGR;
}

/* A value of an integer-like type as int64 */
static int64
IntValue(Oid type, Datum d)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
		case DATEOID:
			return DatumGetInt32(d);
		case OIDOID:
			return (int64) DatumGetObjectId(d);
		case BOOLOID:
			return DatumGetBool(d) ? 1 : 0;
		default:
			return DatumGetInt64(d);
	}
}

/* A value of float4 or float8 as double */
static double
FloatValue(Oid type, Datum d)
{
	return type == FLOAT4OID ? (double) DatumGetFloat4(d) : DatumGetFloat8(d);
}

/*
 * The scan's keys as HnswFilterMatch evaluates them.  A key compares inline
 * when the column's type and the argument's (sk_subtype) are both
 * integer-like or both floats and its strategy is btree's 1-5: the
 * operators of the operator classes (sql/parts/52_hnsw_filter.sql), whose
 * cross-type forms compare the values widened, as these do.  Allocated in
 * the current memory context.
 */
HnswFilterKey *
HnswFilterPrepare(const HnswSupport *support, ScanKey keys, int nkeys)
{
	HnswFilterKey *fk = palloc0(sizeof(HnswFilterKey) * Max(nkeys, 1));

	for (int i = 0; i < nkeys; i++)
	{
		ScanKey		key = &keys[i];
		int			f = key->sk_attno - 2;
		Oid			coltype;
		Oid			argtype;
		int			kind;

		fk[i].key = key;
		fk[i].filter = f;
		fk[i].kind = HNSW_FILTER_FMGR;
		if (f < 0 || f >= support->nfilters || (key->sk_flags & SK_ISNULL) != 0 ||
			key->sk_strategy < BTLessStrategyNumber ||
			key->sk_strategy > BTGreaterStrategyNumber)
			continue;
		coltype = support->filterType[f];
		argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : coltype;
		kind = InlineKind(coltype);
		if (kind == HNSW_FILTER_FMGR || InlineKind(argtype) != kind)
			continue;
		/* cross-type only within the integer and the float families */
		if (argtype != coltype &&
			(coltype == DATEOID || coltype == TIMESTAMPOID || coltype == TIMESTAMPTZOID ||
			 coltype == OIDOID || coltype == BOOLOID ||
			 argtype == DATEOID || argtype == TIMESTAMPOID || argtype == TIMESTAMPTZOID ||
			 argtype == OIDOID || argtype == BOOLOID))
			continue;
		fk[i].kind = (uint8) kind;
		fk[i].strategy = (uint8) key->sk_strategy;
		if (kind == HNSW_FILTER_INT)
			fk[i].iarg = IntValue(argtype, key->sk_argument);
		else
			fk[i].farg = FloatValue(argtype, key->sk_argument);
	}
	return fk;
}

/* -1, 0 or 1 as PostgreSQL orders floats: NaN equals NaN, above the rest */
static inline int
FloatCompare(double a, double b)
{
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	if (isnan(b))
		return -1;
	return a < b ? -1 : (a > b ? 1 : 0);
}

static inline bool
StrategyHolds(int strategy, int cmp)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			return cmp < 0;
		case BTLessEqualStrategyNumber:
			return cmp <= 0;
		case BTEqualStrategyNumber:
			return cmp == 0;
		case BTGreaterEqualStrategyNumber:
			return cmp >= 0;
		default:
			return cmp > 0;
	}
}

/*
 * Whether the filter block satisfies every key.  A key with a NULL
 * argument (the scan returns nothing then) or a NULL value fails.
 */
bool
HnswFilterMatch(const HnswSupport *support, const HnswFilterKey *keys, int nkeys,
				const char *block)
{
	uint8		nulls = (uint8) block[0];

	for (int i = 0; i < nkeys; i++)
	{
		const HnswFilterKey *fk = &keys[i];
		ScanKey		key = fk->key;
		int			f = fk->filter;
		Datum		value;
		bool		ok;

		if (f < 0 || f >= support->nfilters || (nulls & (1 << f)) != 0 ||
			(key->sk_flags & SK_ISNULL) != 0)
			return false;
		value = fetch_att(block + (f + 1) * sizeof(Datum), true, support->filterLen[f]);
		switch (fk->kind)
		{
			case HNSW_FILTER_INT:
				{
					int64		v = IntValue(support->filterType[f], value);

					ok = StrategyHolds(fk->strategy, v < fk->iarg ? -1 : (v > fk->iarg ? 1 : 0));
					break;
				}
			case HNSW_FILTER_FLOAT:
				ok = StrategyHolds(fk->strategy,
								   FloatCompare(FloatValue(support->filterType[f], value), fk->farg));
				break;
			default:
				ok = DatumGetBool(FunctionCall2Coll(&key->sk_func, key->sk_collation, value,
													key->sk_argument));
				break;
		}
		if (!ok)
			return false;
	}
	return true;
}
