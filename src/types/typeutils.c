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

#include "libpq/pqformat.h"
#include "utils/builtins.h"

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
