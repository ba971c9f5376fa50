/*
 * dense_parse.c — reads the text form of a dense vector, "[1, 2.5, -3e-2]",
 * into an array of floats, without a server.
 *
 * NOTES
 *	The reader walks the string once, left to right, and stops at the first
 *	problem, so the status it returns is the one pgvector's vector_in and
 *	halfvec_in would raise for the same input.  Several orderings are part of
 *	that contract and easy to get wrong:
 *	  - "[]" (or "[ ]") is RV_DENSE_EMPTY before anything else is looked at;
 *	  - the element limit is checked at the top of each element, before the
 *		element is read, so maxdim elements followed by ',' fail as TOO_MANY
 *		whatever comes after the comma (even the end of the string);
 *	  - a number too large for float (or, with half_range, for half) is
 *		OUT_OF_RANGE before it is tested for NaN/Inf, and an underflow to zero
 *		or a subnormal is accepted;
 *	  - junk after ']' is only looked for once the list is complete.
 *
 *	Numbers are read with strtof, exactly as float4in does, because the server
 *	runs with LC_NUMERIC=C; that also means "nan", "inf", "infinity" (any
 *	case, with a sign) and hex floats are numbers here, and NaN/Inf are then
 *	refused as elements.  The reader never looks past the terminating NUL:
 *	every loop stops on it, and strtof stops on it by definition.
 *
 *	This file is pure C (no postgres.h) so that Check and the fuzzer link it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "types/dense_parse.h"

/* the element statuses are the token reader's (token_parse.h) */
_Static_assert(RV_DENSE_TOO_MANY < RV_DENSE_SYNTAX && RV_DENSE_INF < RV_DENSE_JUNK,
			   "RvDenseStatus: the token statuses collide with the others");

/*
 * The smallest magnitude that IEEE binary16 round-to-nearest-even turns into
 * infinity: halfway between the largest half (65504) and 2^16, where the tie
 * goes to the even neighbour, which is the overflow.  Checking the float
 * against it is equivalent to converting and testing the half for Inf, and
 * keeps this file free of the float16 codec so the fuzzer links it alone.
 */
#define DENSE_HALF_OVERFLOW 65520.0f

static int
dense_fail(RvDenseError *err, RvDenseStatus status)
{
	err->status = status;
	return -1;
}

/*
 * Reads one number at *pp into *val and advances *pp past it.  Returns
 * RV_DENSE_OK or the status of the element's problem; for OUT_OF_RANGE the
 * token is recorded in err.  Only an overflow is an error: ERANGE on
 * underflow leaves a usable zero or subnormal, which float4in accepts as
 * well.  With half_range, a finite float that half cannot hold is an
 * overflow of the target type.
 */
static RvDenseStatus
dense_read_number(const char *str, const char **pp, float *val,
				  bool half_range, RvDenseError *err)
{
	return (RvDenseStatus) rv_token_read_float(str, pp, val, false,
											   half_range ? DENSE_HALF_OVERFLOW : 0.0f,
											   &err->tok_start, &err->tok_len);
}

int
rv_dense_parse(const char *str, float *out, int maxdim, bool half_range,
			   RvDenseError *err)
{
	const char *p;
	int			n = 0;

	err->status = RV_DENSE_OK;
	err->tok_start = 0;
	err->tok_len = 0;

	p = rv_token_skip_space(str);
	if (*p != '[')
		return dense_fail(err, RV_DENSE_NO_BRACKET);

	p = rv_token_skip_space(p + 1);
	if (*p == ']')
		return dense_fail(err, RV_DENSE_EMPTY);

	for (;;)
	{
		RvDenseStatus st;

		if (n >= maxdim)
			return dense_fail(err, RV_DENSE_TOO_MANY);

		p = rv_token_skip_space(p);
		st = dense_read_number(str, &p, &out[n], half_range, err);
		if (st != RV_DENSE_OK)
			return dense_fail(err, st);
		n++;

		p = rv_token_skip_space(p);
		if (*p == ',')
			p++;
		else if (*p == ']')
		{
			p++;
			break;
		}
		else
			return dense_fail(err, RV_DENSE_SYNTAX);
	}

	/* Only whitespace may follow the closing bracket. */
	p = rv_token_skip_space(p);
	if (*p != '\0')
		return dense_fail(err, RV_DENSE_JUNK);

	return n;
}
