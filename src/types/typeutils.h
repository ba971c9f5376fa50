/*
 * typeutils.h — checks, errors and conversions that vector, halfvec and
 * sparsevec share (defined in src/types/typeutils.c).
 *
 * NOTES
 *	pgvector words each type's errors with the type's own name ("halfvec
 *	must have at least 1 dimension") but applies the same rule to all three.
 *	The rules live here once; each helper takes the SQL type name, and where
 *	it matters the type's limit, so the messages come out exactly as pgvector's.
 *	The type files wrap the helpers in short Vector* / Halfvec* / Sparsevec*
 *	macros, so their entry points stay short.  The SQL functions that differ
 *	only in a formula (distances, element-wise operators, the seven btree
 *	support functions) are defined by TYPES_PAIR_FUNCTION and
 *	TYPES_BTREE_FUNCTIONS below rather than written out once per type.
 *
 *	Only logic that is the same for every caller belongs here.  Where the
 *	types differ in what users can observe (which error wins, how a value is
 *	rounded), the code stays in the type's own file.
 */
#ifndef RV_TYPEUTILS_H
#define RV_TYPEUTILS_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/varbit.h"

#include "quant/quant.h"
#include "types/dense_parse.h"

/* Validators: each raises pgvector's error for its rule, naming typname. */
extern void TypesCheckDim(const char *typname, int dim, int maxdim);
extern void TypesCheckTypmod(int32 typmod, int dim);
extern void TypesCheckSameDims(const char *typname, int dim1, int dim2);
extern void TypesCheckFinite(const char *typname, float value);
extern void TypesCheckUnused(int unused);

/* Errors shared by the text input and casts of several types. */
extern void TypesSyntaxError(const char *typname, const char *lit,
							 const char *detail) pg_attribute_noreturn();
extern void TypesRangeError(const char *typname,
							const char *number) pg_attribute_noreturn();

/* Type modifier input: "(n)" with 1 <= n <= maxdim. */
extern int32 TypesTypmodIn(ArrayType *mods, const char *typname, int maxdim);

/* The dense types' text and binary input (vector, halfvec). */
extern void TypesDenseParseError(const char *typname, int maxdim,
								 const char *lit,
								 const RvDenseError *err) pg_attribute_noreturn();
extern int	TypesDenseRecvHeader(StringInfo msg, int32 typmod,
								 const char *typname, int maxdim);
extern void TypesRecvFloats(StringInfo msg, float *out, int n,
							const char *typname);

/* Text output of the dense types: "[x1,x2,...]", shortest round-trip decimals. */
extern char *TypesDenseOut(const float *x, int n);

/* Casts between the types, and to and from arrays. */
extern Datum *TypesArrayElements(ArrayType *arr, int32 typmod,
								 const char *typname, int maxdim, int *n);
extern float TypesArrayElementFloat(Oid elemtype, Datum elem);
extern ArrayType *TypesNewArray(int n, Oid elemtype, int elemsize, void **data);
extern rv_half TypesNarrowToHalf(float f);

/* Which element-wise operation the dense arithmetic helpers apply. */
typedef enum TypesArithOp
{
	TYPES_ARITH_ADD,
	TYPES_ARITH_SUB,
	TYPES_ARITH_MUL
} TypesArithOp;

/* Functions whose arithmetic is the same for every type. */
extern double TypesCosineDistance(float dot, float norma, float normb);
extern double TypesSphericalDistance(double dot);
extern double TypesSumSquares(const float *x, int n);
extern VarBit *TypesBinaryQuantize(const float *x, int n);
extern int	TypesSubvectorRange(const char *typname, int maxdim, int dim,
								int32 start, int32 count, int *first);

/*
 * avg's transition state for vector and halfvec: a float8[] holding the row
 * count, then one running sum per dimension (none yet in the initial '{0}').
 * Both aggregates also share one combine function, vector_combine.
 */
extern float8 *TypesAvgStateValues(ArrayType *state, const char *caller, int *dim);
extern ArrayType *TypesAvgStateNew(int dim, float8 **values);
extern ArrayType *TypesAvgStateAccum(ArrayType *state, const char *caller,
									 const float *x, int dim);

/*
 * TYPES_PAIR_FUNCTION defines the SQL-callable fname(a, b) of a type whose
 * pointer type is Type: it fetches both arguments with getarg, checks them
 * with checkpair(a, b) (the type's dimension check) and returns
 * datum, a Datum expression written in terms of a and b.  Every distance and
 * element-wise operator of the types is this shape and differs only in its
 * formula, so each is one line in its type's file (see the *_DISTANCE
 * macros there).  The expansion is the function as it would be written by
 * hand, so the kernel call stays as direct as before.
 */
#define TYPES_PAIR_FUNCTION(fname, Type, getarg, checkpair, datum) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	Type	   *a = getarg(0); \
	Type	   *b = getarg(1); \
\
	checkpair(a, b); \
	return (datum); \
} \
extern int	no_such_variable

/*
 * TYPES_BTREE_FUNCTIONS defines the seven btree support functions
 * prefix_lt, _le, _eq, _ne, _ge, _gt and _cmp of a type from cmpargs, an
 * expression that compares the function's first two arguments (it is
 * evaluated with fcinfo in scope) and yields <0, 0 or >0.
 */
#define TYPES_BTREE_FUNCTION(fname, result) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	return (result); \
} \
extern int	no_such_variable

#define TYPES_BTREE_FUNCTIONS(prefix, cmpargs) \
TYPES_BTREE_FUNCTION(prefix##_lt, BoolGetDatum((cmpargs) < 0)); \
TYPES_BTREE_FUNCTION(prefix##_le, BoolGetDatum((cmpargs) <= 0)); \
TYPES_BTREE_FUNCTION(prefix##_eq, BoolGetDatum((cmpargs) == 0)); \
TYPES_BTREE_FUNCTION(prefix##_ne, BoolGetDatum((cmpargs) != 0)); \
TYPES_BTREE_FUNCTION(prefix##_ge, BoolGetDatum((cmpargs) >= 0)); \
TYPES_BTREE_FUNCTION(prefix##_gt, BoolGetDatum((cmpargs) > 0)); \
TYPES_BTREE_FUNCTION(prefix##_cmp, Int32GetDatum(cmpargs))

#endif							/* RV_TYPEUTILS_H */
