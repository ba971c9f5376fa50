/*
 * vector.c — the single-precision `vector` type: text and binary I/O, the
 * type modifier, casts from and to arrays, distances, element-wise
 * arithmetic, comparisons and the avg/sum aggregates.
 *
 * NOTES
 *	Compatibility with pgvector is the contract of this file: the datum
 *	layout (types.h), the binary wire format (int16 dim, int16 unused, dim
 *	big-endian float4), the text output (shortest round-trip decimal per
 *	element), and every error, with its SQLSTATE and message, raised in the
 *	same order for the same input.  Where an ordering looks arbitrary (for
 *	example, all array elements are converted before any is checked for
 *	NaN), it is kept because a user can observe which error wins.
 *
 *	Numeric semantics follow pgvector too: distance kernels accumulate in
 *	float and the SQL result is that float widened to double (sqrt and the
 *	cosine division happen in double); norms and the aggregate state are
 *	summed in double.  Cosine distance of a zero vector is NaN, which the
 *	clamp to [-1, 1] lets through unchanged.
 *
 *	Distances go through the dispatched kernels in distance/distance.h, so
 *	one call costs one indirect call, not an fmgr round trip per element.
 *
 *	The aggregate transition state is a float8[] of dim + 1 elements: the
 *	row count followed by the running sums.  The initial state '{0}' has no
 *	sums yet; the first vector fixes the dimension.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/varbit.h"

#include "distance/distance.h"
#include "types/dense_parse.h"
#include "types/types.h"
#include "types/typeutils.h"

/* The shared validators (typeutils.c), worded for vector. */
#define VectorCheckDim(dim)			TypesCheckDim("vector", (dim), VECTOR_MAX_DIM)
#define VectorCheckSameDims(a, b)	TypesCheckSameDims("vector", (a)->dim, (b)->dim)
#define VectorCheckElement(x)		TypesCheckFinite("vector", (x))

/*
 * rv_vector_new returns a zeroed vector of dim elements with its header set,
 * allocated in the current memory context.  The caller has checked dim.
 */
Vector *
rv_vector_new(int dim)
{
	Size		size = VECTOR_SIZE(dim);
	Vector	   *v = (Vector *) palloc0(size);

	SET_VARSIZE(v, size);
	v->dim = (int16) dim;
	return v;
}

/* ----------------------------------------------------------------
 *		Text I/O and type modifier
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(vector_in);
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	float		elems[VECTOR_MAX_DIM];
	RvDenseError err;
	Vector	   *result;
	int			dim;

	dim = rv_dense_parse(lit, elems, VECTOR_MAX_DIM, false, &err);
	if (dim < 0)
		TypesDenseParseError("vector", VECTOR_MAX_DIM, lit, &err);

	TypesCheckTypmod(typmod, dim);

	result = rv_vector_new(dim);
	memcpy(result->x, elems, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}

/* "[x1,x2,...]", shortest round-trip decimals (typeutils.c). */
PG_FUNCTION_INFO_V1(vector_out);
Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	char	   *buf = TypesDenseOut(v->x, v->dim);

	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(vector_typmod_in);
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(TypesTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "vector", VECTOR_MAX_DIM));
}

/* ----------------------------------------------------------------
 *		Binary I/O: uint16 dim, uint16 unused, dim float4, network order
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(vector_recv);
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			dim = TypesDenseRecvHeader(msg, PG_GETARG_INT32(2), "vector",
										   VECTOR_MAX_DIM);
	Vector	   *result;

	result = rv_vector_new(dim);
	TypesRecvFloats(msg, result->x, dim, "vector");

	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_send);
Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	StringInfoData msg;

	pq_begintypsend(&msg);
	pq_sendint16(&msg, (uint16) v->dim);
	pq_sendint16(&msg, (uint16) v->unused);
	for (int i = 0; i < v->dim; i++)
		pq_sendfloat4(&msg, v->x[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&msg));
}

/* ----------------------------------------------------------------
 *		Casts
 * ----------------------------------------------------------------
 */

/* vector -> vector(n): only the dimension needs checking. */
PG_FUNCTION_INFO_V1(vector);
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	TypesCheckTypmod(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_VECTOR_P(v);
}

/*
 * integer[], real[], double precision[], numeric[] -> vector.  Every
 * element is converted before any is checked for NaN or infinity, as
 * pgvector does: in '{NaN,1e50}'::numeric[] the second element's range
 * error wins over the first one's NaN.
 */
PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	Datum	   *elems;
	int			n;
	Vector	   *result;

	elems = TypesArrayElements(arr, PG_GETARG_INT32(1), "vector", VECTOR_MAX_DIM, &n);

	result = rv_vector_new(n);
	for (int i = 0; i < n; i++)
		result->x[i] = TypesArrayElementFloat(elemtype, elems[i]);
	pfree(elems);

	for (int i = 0; i < n; i++)
		VectorCheckElement(result->x[i]);

	PG_RETURN_VECTOR_P(result);
}

/* vector -> real[] */
PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	void	   *data;
	ArrayType  *arr;

	arr = TypesNewArray(v->dim, FLOAT4OID, sizeof(float4), &data);
	memcpy(data, v->x, sizeof(float4) * v->dim);
	PG_RETURN_ARRAYTYPE_P(arr);
}

/* ----------------------------------------------------------------
 *		Distances
 * ----------------------------------------------------------------
 */

/* Both arguments, their dimensions checked, and the float8 expression. */
#define VECTOR_DISTANCE(fname, expr) \
	TYPES_PAIR_FUNCTION(fname, Vector, PG_GETARG_VECTOR_P, VectorCheckSameDims, \
						Float8GetDatum(expr))

/* 1 - cos(a, b); the clamp and the zero-vector NaN are in typeutils.c. */
static inline double
VectorCosineDistance(const Vector *a, const Vector *b)
{
	float		dot;
	float		norma;
	float		normb;

	rv_f32_cos(a->x, b->x, a->dim, &dot, &norma, &normb);
	return TypesCosineDistance(dot, norma, normb);
}

VECTOR_DISTANCE(l2_distance, sqrt((double) rv_f32_l2sq(a->x, b->x, a->dim)));

/* The ordering key of L2 indexes: the same order as l2_distance, no sqrt. */
VECTOR_DISTANCE(vector_l2_squared_distance, (double) rv_f32_l2sq(a->x, b->x, a->dim));

VECTOR_DISTANCE(inner_product, (double) rv_f32_dot(a->x, b->x, a->dim));

/* <#> sorts ascending, so the most similar vectors come first. */
VECTOR_DISTANCE(vector_negative_inner_product, (double) -rv_f32_dot(a->x, b->x, a->dim));

VECTOR_DISTANCE(cosine_distance, VectorCosineDistance(a, b));

/* Angular distance in [0, 1] for spherical k-means on unit vectors. */
VECTOR_DISTANCE(vector_spherical_distance,
				TypesSphericalDistance((double) rv_f32_dot(a->x, b->x, a->dim)));

VECTOR_DISTANCE(l1_distance, (double) rv_f32_l1(a->x, b->x, a->dim));

/* ----------------------------------------------------------------
 *		Single-vector functions
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(vector_dims);
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_INT32(v->dim);
}

PG_FUNCTION_INFO_V1(vector_norm);
Datum
vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_FLOAT8(sqrt(TypesSumSquares(v->x, v->dim)));
}

/*
 * Divides by the L2 norm; a zero vector stays zero rather than becoming
 * NaN.  The norm is taken in double, so even subnormal inputs give a
 * non-zero norm and quotients of magnitude <= 1; the overflow check is a
 * guard that no infinity can ever be stored in a vector.
 */
PG_FUNCTION_INFO_V1(l2_normalize);
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Vector	   *result = rv_vector_new(v->dim);
	double		norm = sqrt(TypesSumSquares(v->x, v->dim));

	if (norm > 0)
	{
		for (int i = 0; i < v->dim; i++)
			result->x[i] = (float) (v->x[i] / norm);
		for (int i = 0; i < v->dim; i++)
			if (isinf(result->x[i]))
				float_overflow_error();
	}

	PG_RETURN_VECTOR_P(result);
}

/* One bit per element, set where the element is positive (typeutils.c). */
PG_FUNCTION_INFO_V1(binary_quantize);
Datum
binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_VARBIT_P(TypesBinaryQuantize(v->x, v->dim));
}

/*
 * subvector(v, start, count): count elements from the 1-based position
 * start, clipped to the vector like substring(); an empty range is an error.
 */
PG_FUNCTION_INFO_V1(subvector);
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	int			first;
	int			n;
	Vector	   *result;

	n = TypesSubvectorRange("vector", VECTOR_MAX_DIM, v->dim,
							PG_GETARG_INT32(1), PG_GETARG_INT32(2), &first);
	result = rv_vector_new(n);
	memcpy(result->x, v->x + first, sizeof(float) * n);
	PG_RETURN_VECTOR_P(result);
}

/* a || b; the result must still fit the dimension limit. */
PG_FUNCTION_INFO_V1(vector_concat);
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	VectorCheckDim(a->dim + b->dim);
	result = rv_vector_new(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_VECTOR_P(result);
}

/* ----------------------------------------------------------------
 *		Element-wise arithmetic
 * ----------------------------------------------------------------
 */

/*
 * Computes a op b element by element, then scans the result: the first
 * element (in order) that overflowed to infinity, or for multiplication
 * that underflowed to zero from non-zero factors, raises the float error.
 * Computing first and checking after keeps the arithmetic loops simple
 * enough to vectorize.
 */
static Vector *
VectorElementwise(const Vector *a, const Vector *b, TypesArithOp op)
{
	Vector	   *result = rv_vector_new(a->dim);
	float	   *r = result->x;
	int			n = a->dim;

	switch (op)
	{
		case TYPES_ARITH_ADD:
			for (int i = 0; i < n; i++)
				r[i] = a->x[i] + b->x[i];
			break;
		case TYPES_ARITH_SUB:
			for (int i = 0; i < n; i++)
				r[i] = a->x[i] - b->x[i];
			break;
		case TYPES_ARITH_MUL:
			for (int i = 0; i < n; i++)
				r[i] = a->x[i] * b->x[i];
			break;
	}

	for (int i = 0; i < n; i++)
	{
		if (isinf(r[i]))
			float_overflow_error();
		if (op == TYPES_ARITH_MUL && r[i] == 0 &&
			a->x[i] != 0 && b->x[i] != 0)
			float_underflow_error();
	}

	return result;
}

/* a op b for two vectors of one dimension. */
#define VECTOR_ELEMENTWISE(fname, op) \
	TYPES_PAIR_FUNCTION(fname, Vector, PG_GETARG_VECTOR_P, VectorCheckSameDims, \
						PointerGetDatum(VectorElementwise(a, b, (op))))

VECTOR_ELEMENTWISE(vector_add, TYPES_ARITH_ADD);
VECTOR_ELEMENTWISE(vector_sub, TYPES_ARITH_SUB);
VECTOR_ELEMENTWISE(vector_mul, TYPES_ARITH_MUL);

/* ----------------------------------------------------------------
 *		Comparison (btree vector_ops)
 * ----------------------------------------------------------------
 */

/*
 * Lexicographic on the elements first, then shorter before longer, which is
 * how PostgreSQL orders arrays: [1,2] < [1,2,3] but [2] > [1,2,3].
 */
static int
VectorCompare(const Vector *a, const Vector *b)
{
	int			common = Min(a->dim, b->dim);

	for (int i = 0; i < common; i++)
	{
		if (a->x[i] != b->x[i])
			return a->x[i] < b->x[i] ? -1 : 1;
	}
	if (a->dim != b->dim)
		return a->dim < b->dim ? -1 : 1;
	return 0;
}

TYPES_BTREE_FUNCTIONS(vector,
					  VectorCompare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));

/* ----------------------------------------------------------------
 *		Aggregates: avg(vector) over a float8[] state, sum(vector)
 * ----------------------------------------------------------------
 */

/* sums[i] = x[i] + y[i], where a double sum can still overflow. */
static void
VectorStateAddSums(float8 *sums, const float8 *x, const float8 *y, int dim)
{
	for (int i = 0; i < dim; i++)
	{
		sums[i] = x[i] + y[i];
		if (isinf(sums[i]))
			float_overflow_error();
	}
}

PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *v = PG_GETARG_VECTOR_P(1);

	PG_RETURN_ARRAYTYPE_P(TypesAvgStateAccum(state, "vector_accum", v->x, v->dim));
}

/*
 * Merges two partial states (parallel aggregation).  Either side may still
 * be the empty initial state.  avg(halfvec) keeps the same state, and its
 * SQL function halfvec_combine is this C function (as in pgvector), which
 * is why its errors name vector.
 */
PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *s1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *s2 = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *v1;
	float8	   *v2;
	float8	   *out;
	int			dim1;
	int			dim2;
	int			dim;
	ArrayType  *result;

	v1 = TypesAvgStateValues(s1, "vector_combine", &dim1);
	v2 = TypesAvgStateValues(s2, "vector_combine", &dim2);

	dim = (dim1 != 0) ? dim1 : dim2;
	if (dim != 0)
		VectorCheckDim(dim);
	if (dim1 != 0 && dim2 != 0)
		TypesCheckTypmod(dim1, dim2);

	result = TypesAvgStateNew(dim, &out);
	out[0] = v1[0] + v2[0];
	if (dim1 != 0 && dim2 != 0)
		VectorStateAddSums(out + 1, v1 + 1, v2 + 1, dim);
	else if (dim != 0)
		memcpy(out + 1, (dim1 != 0 ? v1 : v2) + 1, sizeof(float8) * dim);

	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *vals;
	Vector	   *result;
	int			dim;

	vals = TypesAvgStateValues(state, "vector_avg", &dim);

	/* The average of no rows is NULL, as for SQL's own avg. */
	if (vals[0] == 0.0)
		PG_RETURN_NULL();

	VectorCheckDim(dim);
	result = rv_vector_new(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (float) (vals[i + 1] / vals[0]);
		VectorCheckElement(result->x[i]);
	}

	PG_RETURN_VECTOR_P(result);
}
