/*
 * sparsevec.c — the sparsevec type: single-precision sparse vectors of up to
 * a billion dimensions, with pgvector's SQL surface, text and binary formats,
 * casts to and from vector, halfvec and arrays, and error messages.
 *
 * NOTES
 *	Storage is types.h's SparseVector (pgvector's byte layout): the dimension,
 *	the number of stored elements (nnz), then nnz 0-based indexes in strictly
 *	ascending order, then their nnz values.  Every stored value is finite and
 *	non-zero; every way in (text, binary, casts, normalisation) keeps it so,
 *	which is what lets the comparisons and distances below treat an index
 *	that is absent from one vector as a zero in it.
 *
 *	The text form is read by the pure-C parser in sparse_parse.c; this file
 *	only turns its status into pgvector's error.  The binary form is checked
 *	field by field as it is read, so a malformed message fails on the first
 *	bad field, with the same message pgvector gives.
 *
 *	Distances walk the two sorted index lists together (a merge) and add the
 *	terms in ascending index order, accumulating in float as pgvector does, so
 *	results agree with it to the last bit.  Norms accumulate in double.
 *
 *	No locks, no shared state.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "quant/quant.h"
#include "types/sparse_parse.h"
#include "types/types.h"
#include "types/typeutils.h"

StaticAssertDecl(RV_SPARSE_MAX_DIM == SPARSEVEC_MAX_DIM,
				 "parser and type disagree on the dimension limit");
StaticAssertDecl(RV_SPARSE_MAX_NNZ == SPARSEVEC_MAX_NNZ,
				 "parser and type disagree on the element limit");


/* ----------------------------------------------------------------
 *		Validators (shared by every entry point)
 * ----------------------------------------------------------------
 */

/* The shared validators (typeutils.c), worded for sparsevec. */
#define SparsevecCheckDim(dim)		TypesCheckDim("sparsevec", (dim), SPARSEVEC_MAX_DIM)
#define SparsevecCheckSameDims(a, b) TypesCheckSameDims("sparsevec", (a)->dim, (b)->dim)
#define SparsevecCheckElement(x)	TypesCheckFinite("sparsevec", (x))

/* Between 0 and SPARSEVEC_MAX_NNZ stored elements, and no more than dim. */
static inline void
SparsevecCheckNnz(int nnz, int dim)
{
	if (nnz < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec cannot have negative number of elements")));
	if (nnz > SPARSEVEC_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements",
						SPARSEVEC_MAX_NNZ)));
	if (nnz > dim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more elements than dimensions")));
}

/* Turns a failed rv_sparse_check_index into pgvector's error. */
static inline void
SparsevecCheckIndexStatus(RvSparseStatus st)
{
	if (st == RV_SPARSE_INDEX_BOUNDS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec index out of bounds")));
	if (st == RV_SPARSE_INDEX_ORDER)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec indices must be in ascending order")));
	if (st == RV_SPARSE_INDEX_DUPLICATE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec indices must not contain duplicates")));
}

/*
 * rv_sparsevec_new returns a zeroed sparse vector with room for nnz elements
 * and its header set, allocated in the current memory context.  The caller
 * has checked dim and nnz and fills in indexes and values.
 */
SparseVector *
rv_sparsevec_new(int dim, int nnz)
{
	Size		size = SPARSEVEC_SIZE(nnz);
	SparseVector *s = (SparseVector *) palloc0(size);

	SET_VARSIZE(s, size);
	s->dim = dim;
	s->nnz = nnz;
	return s;
}


/* ----------------------------------------------------------------
 *		Text I/O and type modifier
 * ----------------------------------------------------------------
 */

/* Turns a parser failure into the error pgvector raises for it. */
static void pg_attribute_noreturn()
SparsevecReportParseError(const char *lit, const RvSparseResult *res, int32 typmod)
{
	switch (res->status)
	{
		case RV_SPARSE_TOO_MANY:
			SparsevecCheckNnz(SPARSEVEC_MAX_NNZ + 1, SPARSEVEC_MAX_DIM);
			break;
		case RV_SPARSE_NO_BRACE:
			TypesSyntaxError("sparsevec", lit, "Vector contents must start with \"{\".");
			break;
		case RV_SPARSE_BUFFER_FULL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("ran out of buffer: \"%s\"", lit)));
			break;
		case RV_SPARSE_OUT_OF_RANGE:
			TypesRangeError("sparsevec", pnstrdup(lit + res->tok_start, res->tok_len));
			break;
		case RV_SPARSE_NAN:
			SparsevecCheckElement(NAN);
			break;
		case RV_SPARSE_INF:
			SparsevecCheckElement(INFINITY);
			break;
		case RV_SPARSE_NO_SLASH:
			TypesSyntaxError("sparsevec", lit, "Unexpected end of input.");
			break;
		case RV_SPARSE_JUNK:
			TypesSyntaxError("sparsevec", lit, "Junk after closing.");
			break;
		case RV_SPARSE_DIM_TOO_SMALL:
		case RV_SPARSE_DIM_TOO_LARGE:
			SparsevecCheckDim(res->dim);
			break;
		case RV_SPARSE_DIM_MISMATCH:
			TypesCheckTypmod(typmod, res->dim);
			break;
		case RV_SPARSE_INDEX_BOUNDS:
		case RV_SPARSE_INDEX_ORDER:
		case RV_SPARSE_INDEX_DUPLICATE:
			SparsevecCheckIndexStatus(res->status);
			break;
		case RV_SPARSE_SYNTAX:
		case RV_SPARSE_OK:
			break;
	}
	TypesSyntaxError("sparsevec", lit, NULL);
}

/*
 * Text input.  The parser sorts the elements and judges everything; the
 * elements array is sized from the comma count, capped at the limit (a
 * longer input fails the limit check before any element is stored).
 */
PG_FUNCTION_INFO_V1(sparsevec_in);
Datum
sparsevec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	size_t		cap = Min(rv_sparse_capacity(lit), (size_t) SPARSEVEC_MAX_NNZ);
	RvSparseElem *elems = palloc(sizeof(RvSparseElem) * cap);
	RvSparseResult res;
	SparseVector *result;
	float	   *values;

	if (rv_sparse_parse(lit, elems, cap, typmod, &res) != RV_SPARSE_OK)
		SparsevecReportParseError(lit, &res, typmod);

	result = rv_sparsevec_new(res.dim, res.nnz);
	values = SPARSEVEC_VALUES(result);
	for (int i = 0; i < res.nnz; i++)
	{
		result->indices[i] = elems[i].index;
		values[i] = elems[i].value;
	}
	pfree(elems);
	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * "{i:v,...}/dim" with 1-based indexes; each value is printed as the shortest
 * decimal that reads back as the same float, so text round trips are exact.
 */
PG_FUNCTION_INFO_V1(sparsevec_out);
Datum
sparsevec_out(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float	   *values = SPARSEVEC_VALUES(svec);

	/*
	 * Per element at most: ',' + 11 for a signed int32 + ':' + a float
	 * (FLOAT_SHORTEST_DECIMAL_LEN counts its NUL, standing in for the comma).
	 * Then "{}/", a signed int32 and the NUL.
	 */
	Size		per_elem = 1 + 11 + 1 + FLOAT_SHORTEST_DECIMAL_LEN;
	char	   *buf = palloc(add_size(mul_size(per_elem, (Size) svec->nnz), 3 + 11 + 1));
	char	   *p = buf;

	*p++ = '{';
	for (int i = 0; i < svec->nnz; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += pg_ltoa(svec->indices[i] + 1, p);
		*p++ = ':';
		p += float_to_shortest_decimal_bufn(values[i], p);
	}
	*p++ = '}';
	*p++ = '/';
	p += pg_ltoa(svec->dim, p);
	*p = '\0';

	PG_FREE_IF_COPY(svec, 0);
	PG_RETURN_CSTRING(buf);
}

/* sparsevec(n): exactly one modifier, 1 <= n <= SPARSEVEC_MAX_DIM. */
PG_FUNCTION_INFO_V1(sparsevec_typmod_in);
Datum
sparsevec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(TypesTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "sparsevec", SPARSEVEC_MAX_DIM));
}


/* ----------------------------------------------------------------
 *		Binary I/O
 *
 * Network byte order: int32 dim, int32 nnz, int32 unused (0), nnz int32
 * 0-based indexes, nnz float4 values.  Zero values are refused, since the
 * text form and every cast drop them and the comparisons rely on it.
 * ----------------------------------------------------------------
 */

/*
 * Binary input, checked in pgvector's order: header fields, the typmod, the
 * unused field, then each index as it is read, then each value.
 */
PG_FUNCTION_INFO_V1(sparsevec_recv);
Datum
sparsevec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int32		dim = (int32) pq_getmsgint(buf, sizeof(int32));
	int32		nnz = (int32) pq_getmsgint(buf, sizeof(int32));
	int32		unused = (int32) pq_getmsgint(buf, sizeof(int32));
	SparseVector *result;
	float	   *values;

	SparsevecCheckDim(dim);
	SparsevecCheckNnz(nnz, dim);
	TypesCheckTypmod(typmod, dim);
	TypesCheckUnused(unused);

	result = rv_sparsevec_new(dim, nnz);
	for (int i = 0; i < nnz; i++)
	{
		result->indices[i] = (int32) pq_getmsgint(buf, sizeof(int32));
		SparsevecCheckIndexStatus(rv_sparse_check_index(result->indices[i],
														i > 0 ? result->indices[i - 1] : -1,
														dim));
	}

	values = SPARSEVEC_VALUES(result);
	for (int i = 0; i < nnz; i++)
	{
		values[i] = pq_getmsgfloat4(buf);
		SparsevecCheckElement(values[i]);
		if (values[i] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("binary representation of sparsevec cannot contain zero values")));
	}
	PG_RETURN_SPARSEVEC_P(result);
}

/* Binary output: the stored form, field by field in network byte order. */
PG_FUNCTION_INFO_V1(sparsevec_send);
Datum
sparsevec_send(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float	   *values = SPARSEVEC_VALUES(svec);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, (uint32) svec->dim);
	pq_sendint32(&buf, (uint32) svec->nnz);
	pq_sendint32(&buf, (uint32) svec->unused);
	for (int i = 0; i < svec->nnz; i++)
		pq_sendint32(&buf, (uint32) svec->indices[i]);
	for (int i = 0; i < svec->nnz; i++)
		pq_sendfloat4(&buf, values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}


/* ----------------------------------------------------------------
 *		Casts
 * ----------------------------------------------------------------
 */

/* sparsevec -> sparsevec(n): only checks the dimension. */
PG_FUNCTION_INFO_V1(sparsevec);
Datum
sparsevec(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	TypesCheckTypmod(typmod, svec->dim);
	PG_RETURN_SPARSEVEC_P(svec);
}

/*
 * Builds a sparse vector from dim dense floats, keeping the non-zero ones.
 * The element limit is checked before anything is allocated for them.
 */
static SparseVector *
SparsevecFromDense(const float *x, int dim)
{
	SparseVector *result;
	float	   *values;
	int			nnz = 0;
	int			j = 0;

	for (int i = 0; i < dim; i++)
		nnz += (x[i] != 0.0f);
	SparsevecCheckNnz(nnz, dim);

	result = rv_sparsevec_new(dim, nnz);
	values = SPARSEVEC_VALUES(result);
	for (int i = 0; i < dim; i++)
	{
		if (x[i] != 0.0f)
		{
			result->indices[j] = i;
			values[j] = x[i];
			j++;
		}
	}
	return result;
}

/* vector -> sparsevec (implicit: every vector is a valid sparsevec). */
PG_FUNCTION_INFO_V1(vector_to_sparsevec);
Datum
vector_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	SparsevecCheckDim(vec->dim);
	TypesCheckTypmod(typmod, vec->dim);
	PG_RETURN_SPARSEVEC_P(SparsevecFromDense(vec->x, vec->dim));
}

/* halfvec -> sparsevec (implicit). */
PG_FUNCTION_INFO_V1(halfvec_to_sparsevec);
Datum
halfvec_to_sparsevec(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	float	   *x;
	SparseVector *result;

	SparsevecCheckDim(vec->dim);
	TypesCheckTypmod(typmod, vec->dim);

	/* every half widens exactly, and +/-0 widens to a float zero */
	x = palloc(sizeof(float) * vec->dim);
	rv_half_to_float_n(vec->x, x, vec->dim);
	result = SparsevecFromDense(x, vec->dim);
	pfree(x);
	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * Writes the stored elements into out, a zeroed array of svec->dim floats.
 * A stored index out of range would mean a corrupt datum; it is not
 * user-reachable, hence elog.
 */
static void
SparsevecToDense(const SparseVector *svec, float *out)
{
	const float *values = SPARSEVEC_VALUES(svec);

	for (int i = 0; i < svec->nnz; i++)
	{
		if (svec->indices[i] < 0 || svec->indices[i] >= svec->dim)
			elog(ERROR, "index out of bounds");
		out[svec->indices[i]] = values[i];
	}
}

/* sparsevec -> vector (assignment: the dimension must fit a vector). */
PG_FUNCTION_INFO_V1(sparsevec_to_vector);
Datum
sparsevec_to_vector(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Vector	   *result;

	/* the target's own checks, worded for it */
	TypesCheckDim("vector", svec->dim, VECTOR_MAX_DIM);
	TypesCheckTypmod(typmod, svec->dim);

	result = rv_vector_new(svec->dim);
	SparsevecToDense(svec, result->x);
	PG_RETURN_VECTOR_P(result);
}

/*
 * sparsevec -> halfvec (assignment): the dimension must fit a halfvec and
 * each value a half.
 */
PG_FUNCTION_INFO_V1(sparsevec_to_halfvec);
Datum
sparsevec_to_halfvec(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	float	   *x;
	HalfVector *result;

	TypesCheckDim("halfvec", svec->dim, HALFVEC_MAX_DIM);
	TypesCheckTypmod(typmod, svec->dim);

	/* a finite float beyond the half range must not become infinity */
	x = palloc0(sizeof(float) * svec->dim);
	SparsevecToDense(svec, x);
	result = rv_halfvec_new(svec->dim);
	for (int i = 0; i < svec->dim; i++)
		result->x[i] = TypesNarrowToHalf(x[i]);
	pfree(x);
	PG_RETURN_HALFVEC_P(result);
}

/*
 * int4[], real[], float8[] and numeric[] to sparsevec: the array is the dense
 * form.  The element limit is judged before NaN and infinity, as pgvector does.
 */
PG_FUNCTION_INFO_V1(array_to_sparsevec);
Datum
array_to_sparsevec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Oid			elemtype = ARR_ELEMTYPE(array);
	Datum	   *elems;
	int			n;
	float	   *x;
	SparseVector *result;
	float	   *values;

	elems = TypesArrayElements(array, PG_GETARG_INT32(1), "sparsevec",
							   SPARSEVEC_MAX_DIM, &n);

	x = palloc(sizeof(float) * (Size) n);
	for (int i = 0; i < n; i++)
		x[i] = TypesArrayElementFloat(elemtype, elems[i]);
	pfree(elems);
	result = SparsevecFromDense(x, n);
	pfree(x);

	values = SPARSEVEC_VALUES(result);
	for (int i = 0; i < result->nnz; i++)
		SparsevecCheckElement(values[i]);
	PG_RETURN_SPARSEVEC_P(result);
}


/* ----------------------------------------------------------------
 *		Distances and norms
 *
 * Each merge adds one term per index present in either vector, in ascending
 * index order: a term for an index in only one vector treats the other's
 * value as zero.  Inner product needs only the shared indexes.
 * ----------------------------------------------------------------
 */

/*
 * The merge behind L2 and L1: the sum over every index present in either
 * vector of |a_i - b_i| (squared when squared is true).  A term for an
 * index in only one vector is that vector's value alone; both terms are
 * even functions, so its sign does not matter.
 */
static float
SparsevecDiffSum(const SparseVector *a, const SparseVector *b, bool squared)
{
	const int32 *ai = a->indices;
	const int32 *bi = b->indices;
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	int			i = 0;
	int			j = 0;
	float		sum = 0.0f;

	while (i < a->nnz || j < b->nnz)
	{
		float		d;

		if (j == b->nnz || (i < a->nnz && ai[i] < bi[j]))
			d = ax[i++];
		else if (i == a->nnz || ai[i] > bi[j])
			d = bx[j++];
		else
			d = ax[i++] - bx[j++];
		sum += squared ? d * d : fabsf(d);
	}
	return sum;
}

#define SparsevecL2Squared(a, b)	SparsevecDiffSum((a), (b), true)
#define SparsevecL1(a, b)			SparsevecDiffSum((a), (b), false)

static float
SparsevecDot(const SparseVector *a, const SparseVector *b)
{
	const int32 *ai = a->indices;
	const int32 *bi = b->indices;
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	int			i = 0;
	int			j = 0;
	float		sum = 0.0f;

	while (i < a->nnz && j < b->nnz)
	{
		int32		ia = ai[i];
		int32		ib = bi[j];

		if (ia == ib)
			sum += ax[i] * bx[j];
		/* advance whichever is behind (both on a match) */
		i += (ia <= ib);
		j += (ib <= ia);
	}
	return sum;
}

/* Sum of squares in float, for the cosine (as pgvector accumulates it). */
static float
SparsevecSquaresF(const SparseVector *a)
{
	const float *ax = SPARSEVEC_VALUES(a);
	float		sum = 0.0f;

	for (int i = 0; i < a->nnz; i++)
		sum += ax[i] * ax[i];
	return sum;
}

/* Both arguments, their dimensions checked, and the float8 expression. */
#define SPARSEVEC_DISTANCE(fname, expr) \
	TYPES_PAIR_FUNCTION(fname, SparseVector, PG_GETARG_SPARSEVEC_P, SparsevecCheckSameDims, \
						Float8GetDatum(expr))

SPARSEVEC_DISTANCE(sparsevec_l2_distance, sqrt((double) SparsevecL2Squared(a, b)));

/* The ordering the index uses for <->: no square root. */
SPARSEVEC_DISTANCE(sparsevec_l2_squared_distance, (double) SparsevecL2Squared(a, b));

SPARSEVEC_DISTANCE(sparsevec_inner_product, (double) SparsevecDot(a, b));

/* <#>: smaller is closer, so the inner product is negated. */
SPARSEVEC_DISTANCE(sparsevec_negative_inner_product, (double) -SparsevecDot(a, b));

/*
 * 1 - cos(a, b) from the merged dot product and each side's float sum of
 * squares; the clamp and the zero-vector NaN are in typeutils.c.
 */
SPARSEVEC_DISTANCE(sparsevec_cosine_distance,
				   TypesCosineDistance(SparsevecDot(a, b), SparsevecSquaresF(a),
									   SparsevecSquaresF(b)));

SPARSEVEC_DISTANCE(sparsevec_l1_distance, (double) SparsevecL1(a, b));

PG_FUNCTION_INFO_V1(sparsevec_l2_norm);
Datum
sparsevec_l2_norm(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);

	PG_RETURN_FLOAT8(sqrt(TypesSumSquares(SPARSEVEC_VALUES(a), a->nnz)));
}

/*
 * a / |a|.  The zero vector stays zero.  Every quotient is at most 1 in
 * magnitude, so the overflow check is only a guard; a quotient can however
 * underflow to zero (a tiny element next to a huge one), and such zeros are
 * dropped so that the result keeps the "no stored zeros" rule.
 */
PG_FUNCTION_INFO_V1(sparsevec_l2_normalize);
Datum
sparsevec_l2_normalize(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	const float *ax = SPARSEVEC_VALUES(a);
	double		norm = sqrt(TypesSumSquares(SPARSEVEC_VALUES(a), a->nnz));
	float	   *q;
	int			nnz = 0;
	SparseVector *result;
	float	   *rx;

	if (norm == 0.0)
		PG_RETURN_SPARSEVEC_P(rv_sparsevec_new(a->dim, 0));

	q = palloc(sizeof(float) * Max(a->nnz, 1));
	for (int i = 0; i < a->nnz; i++)
	{
		q[i] = (float) (ax[i] / norm);
		if (isinf(q[i]))
			float_overflow_error();
		nnz += (q[i] != 0.0f);
	}

	result = rv_sparsevec_new(a->dim, nnz);
	rx = SPARSEVEC_VALUES(result);
	for (int i = 0, j = 0; i < a->nnz; i++)
	{
		if (q[i] == 0.0f)
			continue;
		result->indices[j] = a->indices[i];
		rx[j] = q[i];
		j++;
	}
	pfree(q);
	PG_RETURN_SPARSEVEC_P(result);
}


/* ----------------------------------------------------------------
 *		Comparison (btree sparsevec_ops)
 * ----------------------------------------------------------------
 */

/*
 * Orders sparse vectors as their dense forms would be ordered: element by
 * element over the dimensions both have, then the shorter first (the rule
 * for PostgreSQL arrays).  The first index at which they differ is the first
 * index present in one vector but not the other, or present in both with
 * different values; an absent element is zero.
 */
static int
SparsevecCompare(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	int32		common = Min(a->dim, b->dim);
	int			i = 0;
	int			j = 0;

	while (i < a->nnz || j < b->nnz)
	{
		int32		ia = i < a->nnz ? a->indices[i] : PG_INT32_MAX;
		int32		ib = j < b->nnz ? b->indices[j] : PG_INT32_MAX;
		int32		at = Min(ia, ib);
		float		va = 0.0f;
		float		vb = 0.0f;

		if (at >= common)
			break;
		if (ia == at)
			va = ax[i++];
		if (ib == at)
			vb = bx[j++];
		if (va != vb)
			return va < vb ? -1 : 1;
	}

	if (a->dim != b->dim)
		return a->dim < b->dim ? -1 : 1;
	return 0;
}

TYPES_BTREE_FUNCTIONS(sparsevec,
					  SparsevecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)));
