/*
 * halfvec.c — the halfvec type: half-precision (IEEE binary16) dense vectors
 * with pgvector's SQL surface, text and binary formats, and error messages.
 *
 * NOTES
 *	Storage is types.h's HalfVector (pgvector's byte layout).  Every element is
 *	finite: the type refuses NaN and +/-Infinity on every way in (text,
 *	binary, casts, arithmetic, aggregates), so the functions below never have
 *	to think about non-finite halves.
 *
 *	Arithmetic widens to float, computes, and narrows back with round to
 *	nearest even.  float has more than twice a half's precision plus two
 *	bits, so that double rounding gives the same answer as native half
 *	arithmetic would (and the same as pgvector, whichever way it was built).
 *
 *	Distances call the kernels in distance/ directly; they accumulate in
 *	float, as pgvector does, and are widened to float8 here.  The norm and
 *	normalisation accumulate in double, again as pgvector does.
 *
 *	Narrowing is "checked" wherever a finite float that is too large for a
 *	half must be refused ("... is out of range for type halfvec").  The text
 *	input gets this from the dense parser, so it can quote the number exactly
 *	as typed; the other paths quote the shortest decimal of the float.
 *
 *	No locks, no shared state.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/varbit.h"

#include "distance/distance.h"
#include "quant/quant.h"
#include "types/dense_parse.h"
#include "types/types.h"
#include "types/typeutils.h"


/* ----------------------------------------------------------------
 *		Validators (shared by every entry point)
 * ----------------------------------------------------------------
 */

/* The shared validators (typeutils.c), worded for halfvec. */
#define HalfvecCheckDim(dim)		TypesCheckDim("halfvec", (dim), HALFVEC_MAX_DIM)
#define HalfvecCheckSameDims(a, b)	TypesCheckSameDims("halfvec", (a)->dim, (b)->dim)

/* Elements must be finite; the bit tests keep the common case cheap. */
static inline void
HalfvecCheckElement(rv_half h)
{
	if (unlikely(rv_half_is_nan(h) || rv_half_is_inf(h)))
		TypesCheckFinite("halfvec", rv_half_to_float(h));
}

/*
 * Narrowing after arithmetic: a result too large for a half is the generic
 * float overflow error, as for float4 arithmetic in core.
 */
static inline rv_half
HalfvecNarrowResult(float f)
{
	rv_half		h = rv_float_to_half(f);

	if (unlikely(rv_half_is_inf(h)))
		float_overflow_error();
	return h;
}

static inline bool
HalfIsZero(rv_half h)
{
	return (h & 0x7FFF) == 0;
}

/*
 * The elements widened to float in a palloc'd array, for the helpers that
 * vector and halfvec share (typeutils.c).  Widening is exact.
 */
static inline float *
HalfvecToFloats(const HalfVector *vec)
{
	float	   *x = palloc(sizeof(float) * vec->dim);

	rv_half_to_float_n(vec->x, x, vec->dim);
	return x;
}

/*
 * rv_halfvec_new allocates a zeroed halfvec of dim elements with its header
 * set, in the current memory context.  The caller has checked dim.
 */
HalfVector *
rv_halfvec_new(int dim)
{
	Size		size = HALFVEC_SIZE(dim);
	HalfVector *result = (HalfVector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = (int16) dim;
	return result;
}


/* ----------------------------------------------------------------
 *		Text and binary I/O, typmod
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(halfvec_in);
Datum
halfvec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	float	   *values = palloc(sizeof(float) * HALFVEC_MAX_DIM);
	RvDenseError err;
	HalfVector *result;
	int			dim;

	dim = rv_dense_parse(lit, values, HALFVEC_MAX_DIM, true, &err);
	if (dim < 0)
		TypesDenseParseError("halfvec", HALFVEC_MAX_DIM, lit, &err);

	HalfvecCheckDim(dim);
	TypesCheckTypmod(typmod, dim);

	/*
	 * The parser has already range-checked every value (so that the error
	 * can quote the number as typed); the checked narrowing is a second line
	 * of defence only.
	 */
	result = rv_halfvec_new(dim);
	for (int i = 0; i < dim; i++)
		result->x[i] = TypesNarrowToHalf(values[i]);

	pfree(values);
	PG_RETURN_HALFVEC_P(result);
}

/*
 * "[x1,x2,...]" from the widened elements (typeutils.c): every half is
 * exactly a float, and the shortest float string reads back as the same
 * half, so the output round-trips.
 */
PG_FUNCTION_INFO_V1(halfvec_out);
Datum
halfvec_out(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	float	   *x = HalfvecToFloats(vec);
	char	   *buf = TypesDenseOut(x, vec->dim);

	pfree(x);
	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(halfvec_typmod_in);
Datum
halfvec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(TypesTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "halfvec", HALFVEC_MAX_DIM));
}

/*
 * Binary format (network byte order): uint16 dim, uint16 unused (must be 0),
 * then dim IEEE binary16 bit patterns as uint16.
 */
PG_FUNCTION_INFO_V1(halfvec_recv);
Datum
halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			dim = TypesDenseRecvHeader(msg, PG_GETARG_INT32(2), "halfvec",
										   HALFVEC_MAX_DIM);
	HalfVector *result;

	result = rv_halfvec_new(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (rv_half) pq_getmsgint(msg, 2);
		HalfvecCheckElement(result->x[i]);
	}

	PG_RETURN_HALFVEC_P(result);
}

PG_FUNCTION_INFO_V1(halfvec_send);
Datum
halfvec_send(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, (uint16) vec->dim);
	pq_sendint16(&buf, (uint16) vec->unused);
	for (int i = 0; i < vec->dim; i++)
		pq_sendint16(&buf, vec->x[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}


/* ----------------------------------------------------------------
 *		Casts
 * ----------------------------------------------------------------
 */

/* halfvec -> halfvec(n): only the typmod can be wrong. */
PG_FUNCTION_INFO_V1(halfvec);
Datum
halfvec(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);

	TypesCheckTypmod(PG_GETARG_INT32(1), vec->dim);
	PG_RETURN_HALFVEC_P(vec);
}

/* vector -> halfvec: checked narrowing (vectors are always finite). */
PG_FUNCTION_INFO_V1(vector_to_halfvec);
Datum
vector_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	HalfVector *result;

	HalfvecCheckDim(vec->dim);
	TypesCheckTypmod(PG_GETARG_INT32(1), vec->dim);

	result = rv_halfvec_new(vec->dim);
	for (int i = 0; i < vec->dim; i++)
		result->x[i] = TypesNarrowToHalf(vec->x[i]);

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec -> vector: exact widening.  Any halfvec fits a vector's limits, so
 * only the target typmod is checked.
 */
PG_FUNCTION_INFO_V1(halfvec_to_vector);
Datum
halfvec_to_vector(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	Vector	   *result;

	TypesCheckTypmod(PG_GETARG_INT32(1), vec->dim);

	result = rv_vector_new(vec->dim);
	rv_half_to_float_n(vec->x, result->x, vec->dim);

	PG_RETURN_VECTOR_P(result);
}

/*
 * integer[], real[], double precision[], numeric[] -> halfvec.
 *
 * Order of checks (it decides which error a bad array gets): shape, nulls,
 * dimension, typmod, element type, then range while converting, and only
 * then NaN/infinity.  A double beyond float's range becomes infinity and is
 * reported as an infinite value, not as out of range.
 */
PG_FUNCTION_INFO_V1(array_to_halfvec);
Datum
array_to_halfvec(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	Datum	   *elems;
	int			n;
	HalfVector *result;

	elems = TypesArrayElements(arr, PG_GETARG_INT32(1), "halfvec", HALFVEC_MAX_DIM, &n);

	result = rv_halfvec_new(n);
	for (int i = 0; i < n; i++)
		result->x[i] = TypesNarrowToHalf(TypesArrayElementFloat(elemtype, elems[i]));
	pfree(elems);

	for (int i = 0; i < n; i++)
		HalfvecCheckElement(result->x[i]);

	PG_RETURN_HALFVEC_P(result);
}

/* halfvec -> real[] (exact). */
PG_FUNCTION_INFO_V1(halfvec_to_float4);
Datum
halfvec_to_float4(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	void	   *data;
	ArrayType  *result;

	result = TypesNewArray(vec->dim, FLOAT4OID, sizeof(float4), &data);
	rv_half_to_float_n(vec->x, (float *) data, vec->dim);
	PG_RETURN_ARRAYTYPE_P(result);
}


/* ----------------------------------------------------------------
 *		Distances and norms
 * ----------------------------------------------------------------
 */

/* Both arguments, their dimensions checked, and the float8 expression. */
#define HALFVEC_DISTANCE(fname, expr) \
	TYPES_PAIR_FUNCTION(fname, HalfVector, PG_GETARG_HALFVEC_P, HalfvecCheckSameDims, \
						Float8GetDatum(expr))

/* 1 - cos(a, b); the clamp and the zero-vector NaN are in typeutils.c. */
static inline double
HalfvecCosineDistance(const HalfVector *a, const HalfVector *b)
{
	float		dot;
	float		norma;
	float		normb;

	rv_f16_cos(a->x, b->x, a->dim, &dot, &norma, &normb);
	return TypesCosineDistance(dot, norma, normb);
}

HALFVEC_DISTANCE(halfvec_l2_distance, sqrt((double) rv_f16_l2sq(a->x, b->x, a->dim)));

/* Squared L2: what the index methods rank by (no sqrt per candidate). */
HALFVEC_DISTANCE(halfvec_l2_squared_distance, (double) rv_f16_l2sq(a->x, b->x, a->dim));

HALFVEC_DISTANCE(halfvec_inner_product, (double) rv_f16_dot(a->x, b->x, a->dim));

/* <#> orders ascending, so it returns the inner product negated. */
HALFVEC_DISTANCE(halfvec_negative_inner_product, (double) -rv_f16_dot(a->x, b->x, a->dim));

HALFVEC_DISTANCE(halfvec_cosine_distance, HalfvecCosineDistance(a, b));

/*
 * Angular distance for spherical k-means (ivfflat on ip/cosine).  Inputs are
 * unit vectors, so the inner product is the cosine; unlike cosine distance,
 * the angle satisfies the triangle inequality.
 */
HALFVEC_DISTANCE(halfvec_spherical_distance,
				 TypesSphericalDistance((double) rv_f16_dot(a->x, b->x, a->dim)));

HALFVEC_DISTANCE(halfvec_l1_distance, (double) rv_f16_l1(a->x, b->x, a->dim));

PG_FUNCTION_INFO_V1(halfvec_vector_dims);
Datum
halfvec_vector_dims(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_INT32(vec->dim);
}

/* Sum of squares in double, as pgvector does (fewer roundings than float). */
static double
HalfvecNorm(const HalfVector *vec)
{
	double		sum = 0.0;

	for (int i = 0; i < vec->dim; i++)
	{
		double		v = (double) rv_half_to_float(vec->x[i]);

		sum += v * v;
	}
	return sqrt(sum);
}

PG_FUNCTION_INFO_V1(halfvec_l2_norm);
Datum
halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_FLOAT8(HalfvecNorm(vec));
}

/*
 * vec / |vec|.  The zero vector has no direction and is returned as is (all
 * zeros).  Dividing subnormals by a tiny norm can exceed the half range;
 * that is an overflow error rather than an infinite element.
 */
PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
Datum
halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	HalfVector *result = rv_halfvec_new(vec->dim);
	double		norm = HalfvecNorm(vec);

	if (norm > 0.0)
	{
		for (int i = 0; i < vec->dim; i++)
			result->x[i] = HalfvecNarrowResult((float) (rv_half_to_float(vec->x[i]) / norm));
	}

	PG_RETURN_HALFVEC_P(result);
}

/* One bit per element, most significant bit first: set where x > 0. */
PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
Datum
halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	float	   *x = HalfvecToFloats(vec);
	VarBit	   *result = TypesBinaryQuantize(x, vec->dim);

	pfree(x);
	PG_RETURN_VARBIT_P(result);
}

/*
 * subvector(v, start, count): count elements from the 1-based position
 * start, clipped to the vector like substring() clips; an empty result is an
 * error (the range arithmetic is shared with vector, in typeutils.c).
 */
PG_FUNCTION_INFO_V1(halfvec_subvector);
Datum
halfvec_subvector(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	int			first;
	int			n;
	HalfVector *result;

	n = TypesSubvectorRange("halfvec", HALFVEC_MAX_DIM, vec->dim,
							PG_GETARG_INT32(1), PG_GETARG_INT32(2), &first);
	result = rv_halfvec_new(n);
	memcpy(result->x, vec->x + first, sizeof(rv_half) * n);
	PG_RETURN_HALFVEC_P(result);
}


/* ----------------------------------------------------------------
 *		Element-wise arithmetic and concatenation
 * ----------------------------------------------------------------
 */

/*
 * a op b element by element: widened to float, computed, narrowed back.  A
 * result too large for a half is the float overflow error; a product of two
 * non-zero halves that rounds to zero is the underflow error (as float4
 * multiplication in core treats it).  Elements are checked in order, so the
 * first bad one decides the error.
 */
static HalfVector *
HalfvecElementwise(const HalfVector *a, const HalfVector *b, TypesArithOp op)
{
	HalfVector *result = rv_halfvec_new(a->dim);

	for (int i = 0; i < a->dim; i++)
	{
		float		x = rv_half_to_float(a->x[i]);
		float		y = rv_half_to_float(b->x[i]);
		rv_half		r;

		if (op == TYPES_ARITH_ADD)
			r = HalfvecNarrowResult(x + y);
		else if (op == TYPES_ARITH_SUB)
			r = HalfvecNarrowResult(x - y);
		else
		{
			r = HalfvecNarrowResult(x * y);
			if (HalfIsZero(r) && !HalfIsZero(a->x[i]) && !HalfIsZero(b->x[i]))
				float_underflow_error();
		}
		result->x[i] = r;
	}
	return result;
}

/* a op b for two halfvecs of one dimension. */
#define HALFVEC_ELEMENTWISE(fname, op) \
	TYPES_PAIR_FUNCTION(fname, HalfVector, PG_GETARG_HALFVEC_P, HalfvecCheckSameDims, \
						PointerGetDatum(HalfvecElementwise(a, b, (op))))

HALFVEC_ELEMENTWISE(halfvec_add, TYPES_ARITH_ADD);
HALFVEC_ELEMENTWISE(halfvec_sub, TYPES_ARITH_SUB);
HALFVEC_ELEMENTWISE(halfvec_mul, TYPES_ARITH_MUL);

PG_FUNCTION_INFO_V1(halfvec_concat);
Datum
halfvec_concat(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;

	HalfvecCheckDim(a->dim + b->dim);
	result = rv_halfvec_new(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(rv_half) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(rv_half) * b->dim);

	PG_RETURN_HALFVEC_P(result);
}


/* ----------------------------------------------------------------
 *		Comparison (btree opclass halfvec_ops)
 * ----------------------------------------------------------------
 */

/*
 * Total order: element values first (as floats, so -0 = 0), then the shorter
 * vector first, the way PostgreSQL orders arrays.
 */
static int
HalfvecCompare(const HalfVector *a, const HalfVector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		float		x = rv_half_to_float(a->x[i]);
		float		y = rv_half_to_float(b->x[i]);

		if (x < y)
			return -1;
		if (x > y)
			return 1;
	}
	if (a->dim != b->dim)
		return (a->dim < b->dim) ? -1 : 1;
	return 0;
}

/* The comparison of the first two arguments; frees detoasted copies. */
static int
HalfvecCompareArgs(FunctionCallInfo fcinfo)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	int			cmp = HalfvecCompare(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return cmp;
}

TYPES_BTREE_FUNCTIONS(halfvec, HalfvecCompareArgs(fcinfo));


/* ----------------------------------------------------------------
 *		avg(halfvec): transition and final functions
 *
 * The state is vector's: a float8[] {n, sum_1, ..., sum_dim} (typeutils.c),
 * and the combine function is vector_combine itself.  Sums are kept in
 * double, so avg can be exact where a running half sum would overflow.  The
 * state is a plain array, so parallel workers ship it without serialisation
 * functions.
 * ----------------------------------------------------------------
 */

/* Every half widens exactly to float, so the shared float step serves. */
PG_FUNCTION_INFO_V1(halfvec_accum);
Datum
halfvec_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	HalfVector *vec = PG_GETARG_HALFVEC_P(1);
	float	   *x = HalfvecToFloats(vec);
	ArrayType  *result = TypesAvgStateAccum(state, "halfvec_accum", x, vec->dim);

	pfree(x);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* The mean, narrowed to halves; no rows gives NULL, as SQL's avg does. */
PG_FUNCTION_INFO_V1(halfvec_avg);
Datum
halfvec_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			dim;
	float8	   *cur = TypesAvgStateValues(state, "halfvec_avg", &dim);
	float8		n = cur[0];
	HalfVector *result;

	if (n == 0.0)
		PG_RETURN_NULL();

	HalfvecCheckDim(dim);

	result = rv_halfvec_new(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = TypesNarrowToHalf((float) (cur[i + 1] / n));
		HalfvecCheckElement(result->x[i]);
	}

	PG_RETURN_HALFVEC_P(result);
}
