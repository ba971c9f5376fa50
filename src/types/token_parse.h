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
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

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
 * Reads one number at *pp with strtof (as float4in does; the server runs
 * with LC_NUMERIC=C) into *val and advances *pp past it.  Range first: an
 * overflow to infinity, an underflow to zero when reject_underflow (a
 * subnormal is always accepted), or, when limit > 0, a finite value of
 * magnitude limit or more; the token's offset in str and length then go to
 * *tok_start and *tok_len.  Then NaN, then infinity.  *val and *pp are only
 * set on RV_TOKEN_OK.
 */
static inline RvTokenStatus
rv_token_read_float(const char *str, const char **pp, float *val,
					bool reject_underflow, float limit,
					size_t *tok_start, size_t *tok_len)
{
	const char *start = *pp;
	char	   *end;
	float		v;

	errno = 0;
	v = strtof(start, &end);
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
