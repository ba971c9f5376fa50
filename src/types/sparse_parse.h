/*
 * sparse_parse.h — the text form of sparse vectors, "{1:1.5, 3:-2}/5",
 * parsed without a server.
 *
 * Pure C (no PostgreSQL headers): sparsevec_in calls it and turns each status
 * into the ereport pgvector raises, and test/unit/fuzz_parsers feeds it
 * millions of random and mutated strings under ASan/UBSan.
 *
 * Grammar: optional whitespace, '{', then either '}' or one or more
 * "index : value" pairs separated by ',' and closed by '}', then '/', the
 * number of dimensions, optional whitespace, end.  Whitespace (' ', \t, \n,
 * \r, \v, \f) may appear around every token.  Indexes and the dimension are
 * base-10 integers in strtoll syntax (an optional sign); values are strtof
 * numbers, so "nan", "inf" and hex floats are recognised and then judged.
 * Indexes are 1-based in the text and 0-based in the result.
 *
 * The checks run in pgvector's order, and the first failure wins:
 *   1. the element count implied by the commas (the whole string's) is
 *      within RV_SPARSE_MAX_NNZ;
 *   2. the string is read from the left: syntax, then for each value
 *      range, NaN and infinity, as soon as it is read;
 *   3. the dimension: at least 1, at most RV_SPARSE_MAX_DIM, then equal to
 *      the expected dimension (the column's typmod) if one is given;
 *   4. the non-zero elements, sorted by index, are walked from the lowest:
 *      each index must be within the dimension and differ from the previous.
 * Zero values (including -0) are dropped before step 4, so their indexes are
 * never checked: "{0:0}/1" is the empty vector of one dimension.
 * Indexes and dimensions too large for int32 saturate rather than wrap, so
 * they fail the range checks with the right message instead of overflowing.
 */
#ifndef RV_SPARSE_PARSE_H
#define RV_SPARSE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types/token_parse.h"

/* Must agree with SPARSEVEC_MAX_DIM / SPARSEVEC_MAX_NNZ in types.h. */
#define RV_SPARSE_MAX_DIM 1000000000
#define RV_SPARSE_MAX_NNZ 16000

typedef enum RvSparseStatus
{
	RV_SPARSE_OK = 0,
	RV_SPARSE_TOO_MANY,			/* commas imply more than RV_SPARSE_MAX_NNZ
								 * elements */
	RV_SPARSE_NO_BRACE,			/* does not start with '{' */
	RV_SPARSE_BUFFER_FULL,		/* more elements than the caller's array holds
								 * (impossible when sized by
								 * rv_sparse_capacity) */
	RV_SPARSE_SYNTAX = RV_TOKEN_SYNTAX,			/* a missing number or bad separator inside
								 * the braces, or no number after '/' */
	RV_SPARSE_OUT_OF_RANGE = RV_TOKEN_OUT_OF_RANGE,		/* a value overflows or underflows float;
								 * token set */
	RV_SPARSE_NAN = RV_TOKEN_NAN,				/* a value is NaN */
	RV_SPARSE_INF = RV_TOKEN_INF,				/* a value is +/-Infinity */
	RV_SPARSE_NO_SLASH,			/* no '/' after the closing brace */
	RV_SPARSE_JUNK,				/* something after the dimension */
	RV_SPARSE_DIM_TOO_SMALL,	/* dimension < 1; dim set */
	RV_SPARSE_DIM_TOO_LARGE,	/* dimension > RV_SPARSE_MAX_DIM; dim set */
	RV_SPARSE_DIM_MISMATCH,		/* dimension differs from expected_dim; dim
								 * set */
	RV_SPARSE_INDEX_BOUNDS,		/* an index is < 1 or > dimension */
	RV_SPARSE_INDEX_ORDER,		/* indexes not ascending (binary input only) */
	RV_SPARSE_INDEX_DUPLICATE	/* the same index twice */
} RvSparseStatus;

/* One non-zero element; index is 0-based. */
typedef struct RvSparseElem
{
	int32_t		index;
	float		value;
} RvSparseElem;

typedef struct RvSparseResult
{
	RvSparseStatus status;
	int32_t		dim;			/* the dimension read, saturated to int32 */
	int			nnz;			/* non-zero elements stored in elems[] */
	size_t		tok_start;		/* RV_SPARSE_OUT_OF_RANGE: the offending */
	size_t		tok_len;		/* number, as offset and length into str */
} RvSparseResult;

/*
 * The most elements str can hold: its number of commas plus one (saturating).
 * Callers size elems[] with the smaller of this and RV_SPARSE_MAX_NNZ.
 */
size_t		rv_sparse_capacity(const char *str);

/*
 * Parses str into elems[0..nnz-1], sorted by index, and returns the status
 * (also stored in res->status).  elems has room for cap elements.
 * expected_dim is the dimension the result must have, or -1 for any.
 * On failure the contents of elems are unspecified.
 */
RvSparseStatus rv_sparse_parse(const char *str, RvSparseElem *elems, size_t cap,
							   int32_t expected_dim, RvSparseResult *res);

/*
 * The check made on each index of a stored sparse vector, in order: index is
 * the i-th index, prev the one before it (pass -1 for the first; since a
 * negative index fails the bounds check first, -1 never collides).
 */
static inline RvSparseStatus
rv_sparse_check_index(int32_t index, int32_t prev, int32_t dim)
{
	if (index < 0 || index >= dim)
		return RV_SPARSE_INDEX_BOUNDS;
	if (index < prev)
		return RV_SPARSE_INDEX_ORDER;
	if (index == prev)
		return RV_SPARSE_INDEX_DUPLICATE;
	return RV_SPARSE_OK;
}

#endif							/* RV_SPARSE_PARSE_H */
