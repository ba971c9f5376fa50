/*
 * sparse_parse.c — reads the text form of a sparse vector, "{1:1.5,3:2}/5".
 *
 * Pure C; see sparse_parse.h for the grammar and the order of the checks,
 * which is pgvector's so that sparsevec_in reports the same first error.
 *
 * NOTES
 *	Every scan stops at the terminating NUL: the whitespace test is false for
 *	NUL, every comparison against a delimiter fails on it, and strtoll/strtof
 *	never consume it.  Integers are read with strtoll, which saturates rather
 *	than overflowing, and are then clamped to int32 so that a huge index or
 *	dimension reaches the range checks as "too large" instead of wrapping.
 *	Numbers use the C library's own syntax because pgvector does, and the
 *	server runs with LC_NUMERIC=C.
 */
#include "types/sparse_parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

/* the value statuses are the token reader's (token_parse.h) */
_Static_assert(RV_SPARSE_BUFFER_FULL < RV_SPARSE_SYNTAX && RV_SPARSE_INF < RV_SPARSE_NO_SLASH,
			   "RvSparseStatus: the token statuses collide with the others");

size_t
rv_sparse_capacity(const char *str)
{
	size_t		n = 1;

	for (; *str != '\0'; str++)
	{
		if (*str == ',' && n < SIZE_MAX)
			n++;
	}
	return n;
}

/*
 * Reads a base-10 integer at *pp and clamps it to [lo, hi].  Returns false,
 * leaving *pp alone, when there are no digits to read.
 */
static bool
ReadClampedInt(const char **pp, long long lo, long long hi, long long *out)
{
	char	   *end;
	long long	v = strtoll(*pp, &end, 10);

	if (end == *pp)
		return false;
	if (v > hi)
		v = hi;
	else if (v < lo)
		v = lo;
	*out = v;
	*pp = end;
	return true;
}

/*
 * Reads one element value at *pp and judges it as float4 input does: range
 * first (a result that overflowed to infinity or underflowed to zero; a
 * denormal is accepted), then NaN, then infinity.
 */
static RvSparseStatus
ReadValue(const char *str, const char **pp, float *out, RvSparseResult *res)
{
	return (RvSparseStatus) rv_token_read_float(str, pp, out, true, 0.0f,
												&res->tok_start, &res->tok_len);
}

/*
 * Reads the "index : value" pairs after the opening brace, up to and
 * including the closing one, keeping the non-zero values.
 */
static RvSparseStatus
ReadElements(const char *str, const char **pp, RvSparseElem *elems, size_t cap,
			 RvSparseResult *res)
{
	const char *p = rv_token_skip_space(*pp);

	if (*p == '}')
	{
		*pp = p + 1;
		return RV_SPARSE_OK;
	}

	for (;;)
	{
		long long	index;
		float		value;
		RvSparseStatus st;

		p = rv_token_skip_space(p);
		/* INT_MIN + 1 keeps "index - 1" inside int32 */
		if (!ReadClampedInt(&p, (long long) INT32_MIN + 1, INT32_MAX, &index))
			return RV_SPARSE_SYNTAX;

		p = rv_token_skip_space(p);
		if (*p != ':')
			return RV_SPARSE_SYNTAX;
		p = rv_token_skip_space(p + 1);

		st = ReadValue(str, &p, &value, res);
		if (st != RV_SPARSE_OK)
			return st;

		/* zero values are not stored, and their indexes never checked */
		if (value != 0.0f)
		{
			if ((size_t) res->nnz >= cap)
				return RV_SPARSE_BUFFER_FULL;
			elems[res->nnz].index = (int32_t) (index - 1);
			elems[res->nnz].value = value;
			res->nnz++;
		}

		p = rv_token_skip_space(p);
		if (*p == ',')
			p++;
		else if (*p == '}')
		{
			*pp = p + 1;
			return RV_SPARSE_OK;
		}
		else
			return RV_SPARSE_SYNTAX;
	}
}

static int
CompareElemIndex(const void *a, const void *b)
{
	int32_t		ia = ((const RvSparseElem *) a)->index;
	int32_t		ib = ((const RvSparseElem *) b)->index;

	return (ia > ib) - (ia < ib);
}

/*
 * Sorts the elements by index (skipped for the usual, already sorted input)
 * and walks them from the lowest, so the first bad index in sorted order is
 * the one reported.
 */
static RvSparseStatus
SortAndCheckIndexes(RvSparseElem *elems, int nnz, int32_t dim)
{
	int32_t		prev = -1;

	for (int i = 1; i < nnz; i++)
	{
		if (elems[i].index < elems[i - 1].index)
		{
			qsort(elems, (size_t) nnz, sizeof(RvSparseElem), CompareElemIndex);
			break;
		}
	}

	for (int i = 0; i < nnz; i++)
	{
		RvSparseStatus st = rv_sparse_check_index(elems[i].index, prev, dim);

		if (st != RV_SPARSE_OK)
			return st;
		prev = elems[i].index;
	}
	return RV_SPARSE_OK;
}

/* Everything after the closing brace: "/ dim", then only whitespace. */
static RvSparseStatus
ReadDimension(const char **pp, RvSparseResult *res)
{
	const char *p = rv_token_skip_space(*pp);
	long long	dim;

	if (*p != '/')
		return RV_SPARSE_NO_SLASH;
	p = rv_token_skip_space(p + 1);
	if (!ReadClampedInt(&p, INT32_MIN, INT32_MAX, &dim))
		return RV_SPARSE_SYNTAX;
	res->dim = (int32_t) dim;

	p = rv_token_skip_space(p);
	if (*p != '\0')
		return RV_SPARSE_JUNK;
	*pp = p;
	return RV_SPARSE_OK;
}

static RvSparseStatus
ParseSparse(const char *str, RvSparseElem *elems, size_t cap,
			int32_t expected_dim, RvSparseResult *res)
{
	const char *p;
	RvSparseStatus st;

	if (rv_sparse_capacity(str) > RV_SPARSE_MAX_NNZ)
		return RV_SPARSE_TOO_MANY;

	p = rv_token_skip_space(str);
	if (*p != '{')
		return RV_SPARSE_NO_BRACE;
	p++;

	st = ReadElements(str, &p, elems, cap, res);
	if (st != RV_SPARSE_OK)
		return st;
	st = ReadDimension(&p, res);
	if (st != RV_SPARSE_OK)
		return st;

	if (res->dim < 1)
		return RV_SPARSE_DIM_TOO_SMALL;
	if (res->dim > RV_SPARSE_MAX_DIM)
		return RV_SPARSE_DIM_TOO_LARGE;
	if (expected_dim != -1 && expected_dim != res->dim)
		return RV_SPARSE_DIM_MISMATCH;

	return SortAndCheckIndexes(elems, res->nnz, res->dim);
}

RvSparseStatus
rv_sparse_parse(const char *str, RvSparseElem *elems, size_t cap,
				int32_t expected_dim, RvSparseResult *res)
{
	res->dim = 0;
	res->nnz = 0;
	res->tok_start = 0;
	res->tok_len = 0;
	res->status = ParseSparse(str, elems, cap, expected_dim, res);
	return res->status;
}
