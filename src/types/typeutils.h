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
 *	macros, so their entry points stay short.
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

#endif							/* RV_TYPEUTILS_H */
