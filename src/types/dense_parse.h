/*
 * dense_parse.h — the text form of dense vectors, "[1.5, 2, -3e-2]", parsed
 * without a server.
 *
 * Pure C (no PostgreSQL headers): vector_in and halfvec_in call it and turn a
 * failure into the ereport pgvector raises, and test/unit/fuzz_parsers feeds
 * it millions of random and mutated strings under ASan/UBSan.
 *
 * Grammar: optional whitespace, '[', one or more numbers (strtof syntax, so
 * "nan" and "inf" are recognised and then rejected as elements) separated by
 * ',' with optional whitespace around them, ']', optional whitespace, end.
 * Whitespace is ' ', \t, \n, \r, \v, \f.
 *
 * Errors are reported in the order the input is read, so the first problem
 * from the left wins, exactly as a character-by-character reader would.
 */
#ifndef RV_DENSE_PARSE_H
#define RV_DENSE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "types/token_parse.h"

typedef enum RvDenseStatus
{
	RV_DENSE_OK = 0,
	RV_DENSE_NO_BRACKET,		/* does not start with '[' (detail: must start with "[") */
	RV_DENSE_EMPTY,				/* "[]": no element */
	RV_DENSE_TOO_MANY,			/* more than maxdim elements */
	RV_DENSE_SYNTAX = RV_TOKEN_SYNTAX,			/* a missing number, bad separator, end of input */
	RV_DENSE_OUT_OF_RANGE = RV_TOKEN_OUT_OF_RANGE,		/* a number overflows float (or half); token set */
	RV_DENSE_NAN = RV_TOKEN_NAN,				/* an element is NaN */
	RV_DENSE_INF = RV_TOKEN_INF,				/* an element is +/-Infinity */
	RV_DENSE_JUNK				/* something after the closing ']' */
} RvDenseStatus;

typedef struct RvDenseError
{
	RvDenseStatus status;
	size_t		tok_start;		/* RV_DENSE_OUT_OF_RANGE: the offending number, */
	size_t		tok_len;		/* as an offset and length into the input */
} RvDenseError;

/*
 * Parses str into out[0..n-1] and returns n (>= 1), or -1 with *err filled.
 * out must have room for maxdim floats.  With half_range, a finite number
 * that would round to infinity as an IEEE half is RV_DENSE_OUT_OF_RANGE
 * (values are still returned as float; the caller narrows them).
 */
int			rv_dense_parse(const char *str, float *out, int maxdim, bool half_range,
						   RvDenseError *err);

#endif							/* RV_DENSE_PARSE_H */
