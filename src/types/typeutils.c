/*
 * typeutils.c — the checks, errors and conversions that vector, halfvec and
 * sparsevec have in common.
 *
 * NOTES
 *	Every message, SQLSTATE and check order here is pgvector's, for all three
 *	types: the helpers take the type name as a parameter instead of each type
 *	file spelling the same rule out again.  See typeutils.h for what belongs
 *	here and what stays with the types.
 *
 *	No locks, no shared state; results are allocated in the caller's memory
 *	context.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "types/typeutils.h"

/* ----------------------------------------------------------------
 *		Validators
 * ----------------------------------------------------------------
 */

/* A value of typname has between 1 and maxdim dimensions. */
void
TypesCheckDim(const char *typname, int dim, int maxdim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must have at least 1 dimension", typname)));
	if (dim > maxdim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot have more than %d dimensions", typname, maxdim)));
}

/*
 * A column or cast declared with (n) takes only n-dimensional values; a
 * typmod of -1 means no dimension was declared.  The message does not name
 * the type, so one function serves all three.
 */
void
TypesCheckTypmod(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/* Binary operators and distances are defined only between equal dimensions. */
void
TypesCheckSameDims(const char *typname, int dim1, int dim2)
{
	if (dim1 != dim2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different %s dimensions %d and %d", typname, dim1, dim2)));
}

/* Stored elements are finite; NaN is reported before infinity. */
void
TypesCheckFinite(const char *typname, float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in %s", typname)));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in %s", typname)));
}

/*
 * The binary formats carry a reserved field that must be zero on the wire
 * (the tiered table AM's tags in it never leave a table).
 */
void
TypesCheckUnused(int unused)
{
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));
}

/* ----------------------------------------------------------------
 *		Errors
 * ----------------------------------------------------------------
 */

/* The plain syntax error, quoting the whole input as float4in does. */
void
TypesSyntaxError(const char *typname, const char *lit, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", typname, lit),
			 detail ? errdetail("%s", detail) : 0));
}

/*
 * A finite number the type cannot hold.  number is quoted as the caller
 * has it: the token as typed for text input, else its shortest decimal.
 */
void
TypesRangeError(const char *typname, const char *number)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("\"%s\" is out of range for type %s", number, typname)));
}

/* ----------------------------------------------------------------
 *		Type modifier and dense input
 * ----------------------------------------------------------------
 */

/* Reads typname(n): exactly one modifier, 1 <= n <= maxdim. */
int32
TypesTypmodIn(ArrayType *mods, const char *typname, int maxdim)
{
	int32	   *vals;
	int			n;

	vals = ArrayGetIntegerTypmods(mods, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier")));
	if (vals[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s must be at least 1", typname)));
	if (vals[0] > maxdim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s cannot exceed %d", typname, maxdim)));
	return vals[0];
}

/*
 * Turns a dense-parser failure into pgvector's error for the same input.
 * The validators are called with a value they must reject, so each message
 * is written in one place only.
 */
void
TypesDenseParseError(const char *typname, int maxdim, const char *lit,
					 const RvDenseError *err)
{
	switch (err->status)
	{
		case RV_DENSE_NO_BRACKET:
			TypesSyntaxError(typname, lit, "Vector contents must start with \"[\".");
			break;
		case RV_DENSE_EMPTY:
			TypesCheckDim(typname, 0, maxdim);
			break;
		case RV_DENSE_TOO_MANY:
			TypesCheckDim(typname, maxdim + 1, maxdim);
			break;
		case RV_DENSE_OUT_OF_RANGE:
			TypesRangeError(typname, pnstrdup(lit + err->tok_start, err->tok_len));
			break;
		case RV_DENSE_NAN:
			TypesCheckFinite(typname, NAN);
			break;
		case RV_DENSE_INF:
			TypesCheckFinite(typname, INFINITY);
			break;
		case RV_DENSE_JUNK:
			TypesSyntaxError(typname, lit, "Junk after closing right brace.");
			break;
		case RV_DENSE_SYNTAX:
		case RV_DENSE_OK:
			break;
	}
	TypesSyntaxError(typname, lit, NULL);
}

/*
 * Reads the header of vector's and halfvec's binary format (uint16 dim,
 * uint16 unused, network order) and checks it in pgvector's order:
 * dimension, typmod, unused.  Returns the dimension; the caller reads the
 * elements.
 */
int
TypesDenseRecvHeader(StringInfo msg, int32 typmod, const char *typname,
					 int maxdim)
{
	int			dim = (int) pq_getmsgint(msg, sizeof(int16));
	int			unused = (int) pq_getmsgint(msg, sizeof(int16));

	TypesCheckDim(typname, dim, maxdim);
	TypesCheckTypmod(typmod, dim);
	TypesCheckUnused(unused);
	return dim;
}

/*
 * Reads n float4 elements of a binary message into out, each checked
 * finite.  When the whole run is in the message it is read in one pass
 * (byte swap and finiteness test per element, which the compiler
 * vectorizes; a query vector's 768 pq_getmsgfloat4 calls were 3% of a
 * top-10 query) and the first bad element, if any, raises the error the
 * element-by-element read would have.  A short message is read element by
 * element, so that a bad element before the end is still named before the
 * message runs out, as in pgvector.
 */
void
TypesRecvFloats(StringInfo msg, float *out, int n, const char *typname)
{
	const unsigned char *p;
	uint32		bad = 0;

	if (n < 0 || msg->len - msg->cursor < (int64) n * (int64) sizeof(float))
	{
		for (int i = 0; i < n; i++)
		{
			out[i] = pq_getmsgfloat4(msg);
			TypesCheckFinite(typname, out[i]);
		}
		return;
	}
	p = (const unsigned char *) msg->data + msg->cursor;
	for (int i = 0; i < n; i++)
	{
		uint32		bits;

		memcpy(&bits, p + (Size) i * sizeof(float), sizeof(bits));
		bits = pg_ntoh32(bits);
		/* exponent all ones: infinite or NaN */
		bad |= (uint32) ((bits & 0x7f800000) == 0x7f800000);
		memcpy(&out[i], &bits, sizeof(float));
	}
	if (bad)
	{
		for (int i = 0; i < n; i++)
			TypesCheckFinite(typname, out[i]);
	}
	msg->cursor += n * (int) sizeof(float);
}

/*
 * The dense types' text form.  Each element is printed as the shortest
 * decimal that reads back as the same float (float4out's algorithm with
 * extra_float_digits > 0), so text round trips are exact; halfvec passes its
 * elements widened, which is exact, and the shortest float string reads
 * back as the same half too.
 */
char *
TypesDenseOut(const float *x, int n)
{
	char	   *buf;
	char	   *p;

	/* Per element at most FLOAT_SHORTEST_DECIMAL_LEN - 1 digits plus ','. */
	buf = palloc(add_size(mul_size(n, FLOAT_SHORTEST_DECIMAL_LEN), 3));
	p = buf;
	*p++ = '[';
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(x[i], p);
	}
	*p++ = ']';
	*p = '\0';
	return buf;
}

/* ----------------------------------------------------------------
 *		Casts
 * ----------------------------------------------------------------
 */

/*
 * The elements of an integer[], real[], double precision[] or numeric[]
 * being cast to typname, checked in pgvector's order: shape, NULLs, the
 * number of elements against the type's limit and the typmod, then the
 * element type.  Values are not looked at; TypesArrayElementFloat converts
 * them, one at a time, so that each caller keeps its own order of value
 * checks.  The returned Datum array is palloc'd; by-reference elements
 * point into arr.
 */
Datum *
TypesArrayElements(ArrayType *arr, int32 typmod, const char *typname,
				   int maxdim, int *n)
{
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, NULL, n);

	TypesCheckDim(typname, *n, maxdim);
	TypesCheckTypmod(typmod, *n);

	if (elemtype != INT4OID && elemtype != FLOAT4OID &&
		elemtype != FLOAT8OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unsupported array type")));
	return elems;
}

/*
 * One array element as a float, as a C cast (int4, float8) or numeric's own
 * float4 conversion gives it.  A double beyond float's range becomes an
 * infinity, which the caller refuses as it refuses NaN; numeric_float4
 * raises its own range error.
 */
float
TypesArrayElementFloat(Oid elemtype, Datum elem)
{
	switch (elemtype)
	{
		case INT4OID:
			return (float) DatumGetInt32(elem);
		case FLOAT4OID:
			return DatumGetFloat4(elem);
		case FLOAT8OID:
			return (float) DatumGetFloat8(elem);
		case NUMERICOID:
			return DatumGetFloat4(DirectFunctionCall1(numeric_float4, elem));
	}
	elog(ERROR, "unexpected array element type %u", elemtype);
	return 0.0f;				/* keep the compiler quiet */
}

/*
 * A one-dimensional, NULL-free array of n fixed-size elements in one zeroed
 * allocation, laid out as construct_array would build it; *data is set to
 * the element storage for the caller to fill.
 */
ArrayType *
TypesNewArray(int n, Oid elemtype, int elemsize, void **data)
{
	Size		size = add_size(ARR_OVERHEAD_NONULLS(1), mul_size(n, elemsize));
	ArrayType  *arr = (ArrayType *) palloc0(size);

	SET_VARSIZE(arr, size);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = elemtype;
	ARR_DIMS(arr)[0] = n;
	ARR_LBOUND(arr)[0] = 1;
	*data = ARR_DATA_PTR(arr);
	return arr;
}

/*
 * Checked narrowing to half: a finite float that rounds to infinity is an
 * error naming the float's shortest decimal.  Infinite and NaN floats pass
 * through unchanged, so callers that must refuse them still check the
 * result, at the point where pgvector does (which decides which message
 * wins).
 */
rv_half
TypesNarrowToHalf(float f)
{
	rv_half		h = rv_float_to_half(f);

	if (unlikely(rv_half_is_inf(h)) && !isinf(f))
	{
		char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

		float_to_shortest_decimal_buf(f, buf);
		TypesRangeError("halfvec", buf);
	}
	return h;
}

/* ----------------------------------------------------------------
 *		Functions
 * ----------------------------------------------------------------
 */

/*
 * 1 - cos(a, b) from a kernel's float dot product and squared norms.  The
 * norms are multiplied before the square root, in double (one rounding, and
 * no overflow for large float norms); rounding can still push the
 * similarity a little outside [-1, 1], hence the clamp.  A zero vector
 * gives 0/0 = NaN, which passes the clamp and is the result, as in pgvector.
 */
double
TypesCosineDistance(float dot, float norma, float normb)
{
	double		sim = (double) dot / sqrt((double) norma * (double) normb);

	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return 1.0 - sim;
}

/*
 * Angular distance in [0, 1] for spherical k-means; the inputs are unit
 * vectors, so their dot product is the cosine.  The clamp keeps acos away
 * from NaN when rounding leaves the dot product just past +/-1.
 */
double
TypesSphericalDistance(double dot)
{
	if (dot > 1.0)
		dot = 1.0;
	else if (dot < -1.0)
		dot = -1.0;
	return acos(dot) / M_PI;
}

/* Sum of squares in double: a float sum would overflow for |x| ~ 1e19. */
double
TypesSumSquares(const float *x, int n)
{
	double		sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += (double) x[i] * (double) x[i];
	return sum;
}

/*
 * One bit per element, set where the element is positive, the first element
 * in the most significant bit of the first byte (bit's own order).
 */
VarBit *
TypesBinaryQuantize(const float *x, int n)
{
	Size		size = VARBITTOTALLEN(n);
	VarBit	   *result = (VarBit *) palloc0(size);
	bits8	   *bytes;

	SET_VARSIZE(result, size);
	VARBITLEN(result) = n;
	bytes = VARBITS(result);

	for (int i = 0; i < n; i++)
	{
		if (x[i] > 0)
			bytes[i >> 3] |= (bits8) (0x80 >> (i & 7));
	}
	return result;
}

/*
 * subvector(v, start, count) of a dim-element value: elements start ..
 * start + count - 1, 1-based, clipped to the value as substring() clips.  A
 * range that holds no element is an error, because the result cannot be
 * empty.  Sets *first to the 0-based first element and returns how many
 * follow.  The end is computed in 64 bits, so start + count cannot overflow.
 */
int
TypesSubvectorRange(const char *typname, int maxdim, int dim, int32 start,
					int32 count, int *first)
{
	int64		lo;
	int64		hi;

	if (count < 1 || start > dim)
		TypesCheckDim(typname, 0, maxdim);

	lo = Max((int64) start, 1);
	hi = Min((int64) start + count, (int64) dim + 1);
	TypesCheckDim(typname, (int) Max(hi - lo, 0), maxdim);

	*first = (int) (lo - 1);
	return (int) (hi - lo);
}

/* ----------------------------------------------------------------
 *		avg state
 * ----------------------------------------------------------------
 */

/*
 * Returns the state's values (count, then sums) and sets *dim to the number
 * of sums.  The state is user-reachable (the support functions are callable
 * from SQL), so anything but a flat, NULL-free float8[] is refused.  The
 * message is pgvector's, word for word (caller names the SQL function); the
 * SQLSTATE is 22023 rather than pgvector's internal error, since SQL reaches it.
 */
float8 *
TypesAvgStateValues(ArrayType *state, const char *caller, int *dim)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 ||
		ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: expected state array", caller)));

	*dim = ARR_DIMS(state)[0] - 1;
	return (float8 *) ARR_DATA_PTR(state);
}

/* A fresh state with room for dim sums; the caller fills every value. */
ArrayType *
TypesAvgStateNew(int dim, float8 **values)
{
	void	   *data;
	ArrayType  *state = TypesNewArray(dim + 1, FLOAT8OID, sizeof(float8), &data);

	*values = (float8 *) data;
	return state;
}

/*
 * The transition step: a new state that counts one more row and adds x
 * (dim floats) to the sums.  The first row fixes the dimension; a later row
 * of another dimension is refused with the typmod message, as pgvector
 * does.  Sums are doubles, so only a sum past DBL_MAX overflows.
 */
ArrayType *
TypesAvgStateAccum(ArrayType *state, const char *caller, const float *x, int dim)
{
	int			olddim;
	float8	   *old = TypesAvgStateValues(state, caller, &olddim);
	float8	   *cur;
	ArrayType  *result;

	if (olddim != 0)
		TypesCheckTypmod(olddim, dim);

	result = TypesAvgStateNew(dim, &cur);
	cur[0] = old[0] + 1.0;
	/* The first row is copied, not added to zero, so that -0 stays -0. */
	if (olddim == 0)
	{
		for (int i = 0; i < dim; i++)
			cur[i + 1] = (float8) x[i];
		return result;
	}

	for (int i = 0; i < dim; i++)
	{
		cur[i + 1] = old[i + 1] + (float8) x[i];
		if (isinf(cur[i + 1]))
			float_overflow_error();
	}
	return result;
}
