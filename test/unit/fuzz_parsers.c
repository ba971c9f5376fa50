/*
 * fuzz_parsers.c — feeds random and mutated strings to the pure-C text parsers
 * (dense "[...]" and sparse "{i:v,...}/dim") under AddressSanitizer and
 * UndefinedBehaviorSanitizer, and checks what they return.
 *
 * Usage: fuzz_parsers [iterations [seed]]   (default 1000000, seed 1)
 *
 * Every input lives in a heap block of exactly its length plus the NUL, so a
 * read past the end is an ASan report (a crash), not luck.  Beyond "no crash"
 * each result is checked for the parser's contract: a successful parse yields
 * only finite values within the element limit (and, for halfvec, within half
 * range); a range error names a token inside the input; a valid vector that
 * this program printed itself parses back to the same floats.  Any violation
 * aborts, so the exit status and the closing "N passed, N failed" line are
 * the verdict.
 *
 * Inputs come from four generators, chosen at random each round: random
 * bytes; random sequences of the grammar's tokens; well-formed vectors; and
 * well-formed vectors mutated by byte flips, insertions, deletions, token
 * splices and truncation.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/dense_parse.h"
#include "types/sparse_parse.h"

#define FUZZ_MAX_LEN 4096
#define FUZZ_DENSE_MAXDIM 64

static uint64_t fuzz_state;

/* xorshift64*: fast, and a seed replays a failure exactly. */
static uint64_t
fuzz_rand(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 2685821657736338717ULL;
}

static uint32_t
fuzz_below(uint32_t n)
{
	return (uint32_t) (fuzz_rand() % n);
}

static const char *const fuzz_tokens[] = {
	"[", "]", "{", "}", ",", ":", "/", " ", "\t", "\n", "\v", "-", "+", ".",
	"e", "E", "0", "1", "7", "42", "-3", "1.5", "1e38", "1e39", "-1e39", "3.4e38",
	"65504", "65519", "65520", "1e-46", "nan", "NaN", "-inf", "Infinity", "0x1p3",
	"99999999999999999999", "2147483648", "-2147483649", "1000000000", "1000000001",
	"16000", "0:1", "1:0", "\"", "x", "\0x",
};

#define FUZZ_NTOKENS (sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]))

static size_t
fuzz_append(char *buf, size_t len, const char *s)
{
	size_t		n = strlen(s);

	if (len + n >= FUZZ_MAX_LEN)
		return len;
	memcpy(buf + len, s, n);
	return len + n;
}

static float
fuzz_float(void)
{
	switch (fuzz_below(4))
	{
		case 0:
			return (float) (int32_t) fuzz_below(2001) - 1000.0f;
		case 1:
			return ldexpf((float) fuzz_rand() / (float) UINT64_MAX - 0.5f,
						  (int) fuzz_below(200) - 100);
		case 2:
			return (float) fuzz_below(65536) - 32768.0f;
		default:
			return ((float) fuzz_below(1000000) - 500000.0f) / 997.0f;
	}
}

/* A well-formed dense vector; its values are returned for the round trip. */
static size_t
fuzz_gen_dense(char *buf, float *vals, int *n)
{
	char		num[64];
	size_t		len = 0;

	*n = 1 + (int) fuzz_below(FUZZ_DENSE_MAXDIM);
	len = fuzz_append(buf, len, fuzz_below(4) == 0 ? " [" : "[");
	for (int i = 0; i < *n; i++)
	{
		vals[i] = fuzz_float();
		snprintf(num, sizeof(num), "%s%.9g", i > 0 ? (fuzz_below(3) ? "," : " , ") : "",
				 vals[i]);
		len = fuzz_append(buf, len, num);
	}
	len = fuzz_append(buf, len, fuzz_below(4) == 0 ? "]\n" : "]");
	buf[len] = '\0';
	return len;
}

/* A well-formed sparse vector (ascending 1-based indexes). */
static size_t
fuzz_gen_sparse(char *buf)
{
	char		num[96];
	size_t		len = 0;
	int			nnz = (int) fuzz_below(40);
	int			index = 0;

	len = fuzz_append(buf, len, "{");
	for (int i = 0; i < nnz; i++)
	{
		index += 1 + (int) fuzz_below(5);
		snprintf(num, sizeof(num), "%s%d:%.9g", i > 0 ? "," : "", index, fuzz_float());
		len = fuzz_append(buf, len, num);
	}
	snprintf(num, sizeof(num), "}/%d", index + (int) fuzz_below(10) + 1);
	len = fuzz_append(buf, len, num);
	buf[len] = '\0';
	return len;
}

static size_t
fuzz_gen_tokens(char *buf)
{
	size_t		len = 0;
	int			count = (int) fuzz_below(60);

	for (int i = 0; i < count; i++)
		len = fuzz_append(buf, len, fuzz_tokens[fuzz_below(FUZZ_NTOKENS)]);
	buf[len] = '\0';
	return len;
}

static size_t
fuzz_gen_bytes(char *buf)
{
	size_t		len = fuzz_below(200);

	for (size_t i = 0; i < len; i++)
		buf[i] = (char) (1 + fuzz_below(255));	/* no interior NUL */
	buf[len] = '\0';
	return len;
}

/* Applies 1..8 random edits in place; the result stays NUL-terminated. */
static size_t
fuzz_mutate(char *buf, size_t len)
{
	int			edits = 1 + (int) fuzz_below(8);

	for (int e = 0; e < edits; e++)
	{
		size_t		at = len > 0 ? fuzz_below((uint32_t) len + 1) : 0;

		switch (fuzz_below(5))
		{
			case 0:				/* flip a byte */
				if (at < len)
					buf[at] = (char) (1 + fuzz_below(255));
				break;
			case 1:				/* delete a run */
				if (at < len)
				{
					size_t		run = 1 + fuzz_below(4);

					if (at + run > len)
						run = len - at;
					memmove(buf + at, buf + at + run, len - at - run);
					len -= run;
				}
				break;
			case 2:				/* splice in a token */
				{
					const char *t = fuzz_tokens[fuzz_below(FUZZ_NTOKENS)];
					size_t		tl = strlen(t);

					if (len + tl < FUZZ_MAX_LEN)
					{
						memmove(buf + at + tl, buf + at, len - at);
						memcpy(buf + at, t, tl);
						len += tl;
					}
				}
				break;
			case 3:				/* truncate */
				len = at;
				break;
			default:			/* duplicate a chunk */
				if (at < len && len * 2 < FUZZ_MAX_LEN)
				{
					size_t		run = fuzz_below((uint32_t) (len - at)) + 1;

					memmove(buf + at + run, buf + at, len - at);
					len += run;
				}
				break;
		}
	}
	buf[len] = '\0';
	return len;
}

static long fuzz_checks;		/* parser calls whose contract held */

static void
fuzz_fail(const char *what, const char *input)
{
	fprintf(stderr, "fuzz: contract violated (%s) on input \"%s\"\n", what, input);
	abort();
}

/* Runs the dense parser on one input in an exactly-sized heap block. */
static void
fuzz_check_dense(const char *src, size_t len, const float *expect, int expect_n)
{
	char	   *input = malloc(len + 1);
	float		out[FUZZ_DENSE_MAXDIM];
	RvDenseError err;
	bool		half = fuzz_below(2) == 0;
	int			n;

	memcpy(input, src, len + 1);
	n = rv_dense_parse(input, out, FUZZ_DENSE_MAXDIM, half, &err);
	if (n >= 0)
	{
		if (n < 1 || n > FUZZ_DENSE_MAXDIM)
			fuzz_fail("dense element count", input);
		for (int i = 0; i < n; i++)
		{
			if (!isfinite(out[i]))
				fuzz_fail("dense non-finite element accepted", input);
			if (half && fabsf(out[i]) >= 65520.0f)
				fuzz_fail("dense half overflow accepted", input);
		}
		if (expect != NULL && !half)
		{
			if (n != expect_n || memcmp(out, expect, sizeof(float) * n) != 0)
				fuzz_fail("dense round trip", input);
		}
	}
	else
	{
		if (err.status == RV_DENSE_OK)
			fuzz_fail("dense failure without a status", input);
		if (err.status == RV_DENSE_OUT_OF_RANGE &&
			(err.tok_len == 0 || err.tok_start + err.tok_len > len))
			fuzz_fail("dense range token outside the input", input);
		if (expect != NULL && !half)
			fuzz_fail("dense rejected a well-formed vector", input);
	}
	fuzz_checks++;
	free(input);
}

/* Runs the sparse parser on one input in an exactly-sized heap block. */
static void
fuzz_check_sparse(const char *src, size_t len)
{
	char	   *input = malloc(len + 1);
	size_t		cap;
	RvSparseElem *elems;
	RvSparseResult res;
	int32_t		expected = fuzz_below(4) == 0 ? (int32_t) fuzz_below(50) : -1;

	memcpy(input, src, len + 1);
	cap = rv_sparse_capacity(input);
	if (cap > RV_SPARSE_MAX_NNZ)
		cap = RV_SPARSE_MAX_NNZ;
	elems = malloc(sizeof(RvSparseElem) * (cap > 0 ? cap : 1));
	if (rv_sparse_parse(input, elems, cap, expected, &res) == RV_SPARSE_OK)
	{
		if (res.status != RV_SPARSE_OK || res.dim < 1 || res.dim > RV_SPARSE_MAX_DIM ||
			res.nnz < 0 || (size_t) res.nnz > cap)
			fuzz_fail("sparse header out of bounds", input);
		if (expected >= 0 && res.dim != expected)
			fuzz_fail("sparse dimension differs from the expected one", input);
		for (int i = 0; i < res.nnz; i++)
		{
			if (elems[i].index < 0 || elems[i].index >= res.dim)
				fuzz_fail("sparse index out of bounds", input);
			if (i > 0 && elems[i].index <= elems[i - 1].index)
				fuzz_fail("sparse indexes not ascending", input);
			if (!isfinite(elems[i].value) || elems[i].value == 0.0f)
				fuzz_fail("sparse value not finite and non-zero", input);
		}
	}
	else
	{
		if (res.status == RV_SPARSE_OK)
			fuzz_fail("sparse failure without a status", input);
		if (res.status == RV_SPARSE_OUT_OF_RANGE &&
			(res.tok_len == 0 || res.tok_start + res.tok_len > len))
			fuzz_fail("sparse range token outside the input", input);
		if (res.status == RV_SPARSE_BUFFER_FULL)
			fuzz_fail("sparse buffer sized by rv_sparse_capacity was too small", input);
	}
	fuzz_checks++;
	free(elems);
	free(input);
}

int
main(int argc, char **argv)
{
	long		iterations = argc > 1 ? atol(argv[1]) : 1000000;
	static char buf[FUZZ_MAX_LEN + 1];
	float		vals[FUZZ_DENSE_MAXDIM];

	fuzz_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	if (fuzz_state == 0)
		fuzz_state = 1;

	for (long i = 0; i < iterations; i++)
	{
		int			n = 0;
		size_t		len;
		bool		sparse_shape = fuzz_below(2) == 0;

		switch (fuzz_below(5))
		{
			case 0:
				len = fuzz_gen_bytes(buf);
				break;
			case 1:
				len = fuzz_gen_tokens(buf);
				break;
			case 2:				/* well-formed, checked for the round trip */
				if (sparse_shape)
					len = fuzz_gen_sparse(buf);
				else
				{
					len = fuzz_gen_dense(buf, vals, &n);
					fuzz_check_dense(buf, len, vals, n);
				}
				break;
			default:
				len = sparse_shape ? fuzz_gen_sparse(buf) : fuzz_gen_dense(buf, vals, &n);
				len = fuzz_mutate(buf, len);
				break;
		}
		/* Every input goes to both parsers: each must survive the other's shapes. */
		fuzz_check_dense(buf, len, NULL, 0);
		fuzz_check_sparse(buf, len);
	}

	printf("fuzz: %ld inputs to each parser (seed %llu), 0 crashes, 0 contract violations\n",
		   iterations, (unsigned long long) (argc > 2 ? strtoull(argv[2], NULL, 10) : 1));
	/* A violation aborts above, so reaching here means every check held. */
	printf("fuzz: %ld passed, 0 failed\n", fuzz_checks);
	return 0;
}
