/*
 * token_parse.h — what the dense ("[1,2,3]") and sparse ("{1:2}/3") text
 * parsers share: PostgreSQL's whitespace set, and reading one float element
 * and judging it as float4in does.
 *
 * Pure C, static inline: the parsers stay free of other objects, so the
 * fuzzer links them alone.
 *
 * The statuses have the values of RvDenseStatus and RvSparseStatus for the
 * same outcomes (both headers define theirs from these), so either parser
 * returns a token status as its own.
 */
#ifndef RV_TOKEN_PARSE_H
#define RV_TOKEN_PARSE_H

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum RvTokenStatus
{
	RV_TOKEN_OK = 0,
	RV_TOKEN_SYNTAX = 4,		/* no number at all */
	RV_TOKEN_OUT_OF_RANGE = 5,	/* beyond float (or the caller's limit) */
	RV_TOKEN_NAN = 6,
	RV_TOKEN_INF = 7
} RvTokenStatus;

/* The whitespace PostgreSQL's scanner accepts (scanner_isspace); never NUL. */
static inline bool
rv_token_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

static inline const char *
rv_token_skip_space(const char *p)
{
	while (rv_token_isspace(*p))
		p++;
	return p;
}

/*
 * The fast path of reading a float.  glibc's strtof takes about 400 ns for
 * the 17 significant digits that client libraries print for each component
 * (pgvector-python and pgvector-node print a float32 widened to double), so
 * a 784-d vector sent as text cost a third of a millisecond to parse before
 * the search began.  This reads the plain decimal form --
 * [+-]digits[.digits][(e|E)[+-]digits] with at most 19 significant digits
 * and a decimal exponent within +-27 -- and computes it exactly as strtof
 * would:
 *   - the digits w < 10^19 < 2^64 and 10^e for |e| <= 27 (= 2^e * 5^e, with
 *     5^27 < 2^64) are exact in long double (64-bit significand), so
 *     w * 10^e or w / 10^-e is the true value x rounded once, to 64 bits;
 *   - rounding that again to float gives float(x) unless the 64-bit result
 *     landed exactly on a midpoint between two floats (a tie x itself may
 *     not be); midpoints need 25 bits, so they are exactly the doubles whose
 *     low 29 significand bits are 1 followed by zeros, and then this declines;
 *   - every result is a normal float (10^-27 > FLT_MIN) unless it overflows,
 *     which it also leaves to strtof (ERANGE and its checks below).
 * Anything else (hex floats, nan/inf spellings, more digits, an exponent
 * marker without digits, leading space) is declined before *endp or *val is
 * touched, and strtof reads the token.  Check compares the two on millions
 * of inputs (test_dense_parse.c).  Without a 64-bit long double significand
 * the fast path is compiled out.
 */
#if LDBL_MANT_DIG >= 64
#define RV_TOKEN_FAST_FLOAT 1

static const long double rv_token_pow10[28] = {
	1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L,
	1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
	1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L
};

static inline bool
rv_token_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* The digits of the number at p into *w and *e10 (value w * 10^e10) */
static inline const char *
rv_token_fast_digits(const char *p, uint64_t *w, int *e10)
{
	int			nd = 0;			/* significant digits in *w */
	bool		any = false;

	*w = 0;
	*e10 = 0;
	while (*p == '0')
		p++, any = true;
	for (; rv_token_isdigit(*p); p++, nd++, any = true)
	{
		if (nd == 19)
			return NULL;
		*w = *w * 10 + (uint64_t) (*p - '0');
	}
	if (*p == '.')
	{
		p++;
		if (nd == 0)
			for (; *p == '0'; p++, any = true)
				(*e10)--;
		for (; rv_token_isdigit(*p); p++, nd++, any = true, (*e10)--)
		{
			if (nd == 19)
				return NULL;
			*w = *w * 10 + (uint64_t) (*p - '0');
		}
	}
	/* "0x..." is a hex float to strtof */
	if (!any || *p == 'x' || *p == 'X')
		return NULL;
	if (*p == 'e' || *p == 'E')
	{
		const char *q = p + 1;
		bool		neg = false;
		int			x = 0;

		if (*q == '-' || *q == '+')
			neg = (*q++ == '-');
		if (!rv_token_isdigit(*q))
			return NULL;		/* strtof stops before the 'e' */
		for (; rv_token_isdigit(*q); q++)
			if (x < 100000)
				x = x * 10 + (*q - '0');
		*e10 += neg ? -x : x;
		p = q;
	}
	return p;
}

static inline bool
rv_token_fast_float(const char *s, const char **endp, float *val)
{
	const char *p = s;
	bool		neg = false;
	uint64_t	w;
	int			e10;
	long double x;
	double		d;
	float		f;

	if (*p == '-' || *p == '+')
		neg = (*p++ == '-');
	p = rv_token_fast_digits(p, &w, &e10);
	if (p == NULL)
		return false;
	if (w == 0)
		f = 0.0f;
	else
	{
		if (e10 < -27 || e10 > 27)
			return false;
		x = e10 >= 0 ? (long double) w * rv_token_pow10[e10]
			: (long double) w / rv_token_pow10[-e10];
		d = (double) x;
		if ((long double) d == x)
		{
			uint64_t	bits;

			memcpy(&bits, &d, sizeof(bits));
			if ((bits & UINT64_C(0x1FFFFFFF)) == UINT64_C(0x10000000))
				return false;	/* on a float midpoint: strtof decides */
		}
		f = (float) x;
		if (isinf(f))
			return false;
	}
	*val = neg ? -f : f;
	*endp = p;
	return true;
}
#endif

/*
 * Reads one number at *pp as strtof does (float4in's reader; the server
 * runs with LC_NUMERIC=C), the common form through the fast path above,
 * into *val and advances *pp past it.  Range first: an overflow to
 * infinity, an underflow to zero when reject_underflow (a subnormal is
 * always accepted), or, when limit > 0, a finite value of magnitude limit or
 * more; the token's offset in str and length then go to
 * *tok_start and *tok_len.  Then NaN, then infinity.  *val and *pp are only
 * set on RV_TOKEN_OK.
 */
static inline RvTokenStatus
rv_token_read_float(const char *str, const char **pp, float *val,
					bool reject_underflow, float limit,
					size_t *tok_start, size_t *tok_len)
{
	const char *start = *pp;
	const char *end;
	float		v;

	errno = 0;
#ifdef RV_TOKEN_FAST_FLOAT
	if (!rv_token_fast_float(start, &end, &v))
#endif
	{
		char	   *e;

		v = strtof(start, &e);
		end = e;
	}
	if (end == start)
		return RV_TOKEN_SYNTAX;
	if ((errno == ERANGE && (isinf(v) || (reject_underflow && v == 0.0f))) ||
		(limit > 0.0f && !isinf(v) && fabsf(v) >= limit))
	{
		*tok_start = (size_t) (start - str);
		*tok_len = (size_t) (end - start);
		return RV_TOKEN_OUT_OF_RANGE;
	}
	if (isnan(v))
		return RV_TOKEN_NAN;
	if (isinf(v))
		return RV_TOKEN_INF;
	*val = v;
	*pp = end;
	return RV_TOKEN_OK;
}

#endif							/* RV_TOKEN_PARSE_H */
