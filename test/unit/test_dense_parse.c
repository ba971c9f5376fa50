/*
 * test_dense_parse.c — Check tests of the dense vector text parser
 * (rv_dense_parse), the reader behind vector_in and halfvec_in.
 *
 * Each test states the status it expects and, for accepted input, the exact
 * floats; values are compared exactly because they are strtof results of
 * short literals.  Every input is copied into a heap block of exactly its
 * length plus the NUL, and the output array carries a canary past maxdim, so
 * an ASan build catches a read past the terminator and the canary catches a
 * write past the limit.
 *
 * The orderings tested here (which error wins when several apply) are the
 * ones pgvector's vector_in/halfvec_in expose to users.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rv_random.h"
#include "types/dense_parse.h"
#include "unit.h"

#define CANARY 1234.5f
#define BIG_MAXDIM 16000

typedef struct DenseRun
{
	int			n;				/* return value */
	RvDenseError err;
	float	   *out;			/* maxdim floats + 1 canary */
} DenseRun;

/* Parses str with maxdim and half_range; checks the canary survived. */
static DenseRun
run_opts(const char *str, int maxdim, bool half_range)
{
	size_t		len = strlen(str);
	char	   *copy = malloc(len + 1);
	DenseRun	r;

	memcpy(copy, str, len + 1);
	r.out = malloc(sizeof(float) * (maxdim + 1));
	r.out[maxdim] = CANARY;
	r.n = rv_dense_parse(copy, r.out, maxdim, half_range, &r.err);
	ck_assert(r.out[maxdim] == CANARY);
	if (r.n >= 0)
	{
		ck_assert_int_eq(r.err.status, RV_DENSE_OK);
		ck_assert_int_le(r.n, maxdim);
	}
	else
		ck_assert_int_ne(r.err.status, RV_DENSE_OK);
	free(copy);
	return r;
}

/* The status for str as vector_in (float range) and halfvec_in see it. */
static RvDenseStatus
status_f(const char *str)
{
	DenseRun	r = run_opts(str, 8, false);

	free(r.out);
	return r.err.status;
}

static RvDenseStatus
status_h(const char *str)
{
	DenseRun	r = run_opts(str, 8, true);

	free(r.out);
	return r.err.status;
}

/*
 * Asserts str parses to exactly the n values given as a vector; as a halfvec
 * too when every value fits half, otherwise half input must be out of range.
 */
static void
expect_values(const char *str, int n, const float *want)
{
	bool		fits_half = true;

	for (int i = 0; i < n; i++)
		if (fabsf(want[i]) >= 65520.0f)
			fits_half = false;

	for (int half = 0; half <= 1; half++)
	{
		DenseRun	r = run_opts(str, 8, half);

		if (half && !fits_half)
		{
			ck_assert_msg(r.err.status == RV_DENSE_OUT_OF_RANGE,
						  "\"%s\" as half: status %d", str, r.err.status);
			free(r.out);
			continue;
		}
		ck_assert_msg(r.n == n, "\"%s\": got %d elements (status %d), want %d",
					  str, r.n, r.err.status, n);
		for (int i = 0; i < n; i++)
			ck_assert_msg(memcmp(&r.out[i], &want[i], sizeof(float)) == 0,
						  "\"%s\"[%d]: got %a, want %a", str, i, r.out[i], want[i]);
		free(r.out);
	}
}

/* A string of n elements "1,2,...", bracketed, followed by tail. */
static char *
make_list(int n, const char *tail)
{
	size_t		cap = (size_t) n * 7 + strlen(tail) + 4;
	char	   *s = malloc(cap);
	size_t		pos = 0;

	s[pos++] = '[';
	for (int i = 0; i < n; i++)
		pos += (size_t) snprintf(s + pos, cap - pos, i ? ",%d" : "%d", i + 1);
	snprintf(s + pos, cap - pos, "%s", tail);
	return s;
}

/* ---------------------------------------------------------------- */

START_TEST(test_ok_basic)
{
	static const float v3[] = {1.0f, 2.0f, 3.0f};
	static const float neg[] = {-1.0f, -2.0f, -3.0f};
	static const float dots[] = {1.0f, 2.0f, 3.0f};
	static const float one[] = {1.23456f};
	static const float mixed[] = {1.5f, -0.0f, 0.25f, 1e-3f, 12345.678f};

	expect_values("[1,2,3]", 3, v3);
	expect_values("[-1,-2,-3]", 3, neg);
	expect_values("[1.,2.,3.]", 3, dots);
	expect_values("[1.23456]", 1, one);
	expect_values("[1.5,-0,+.25,1E-3,12345.678]", 5, mixed);
}
END_TEST

START_TEST(test_ok_number_forms)
{
	static const float hex[] = {8.0f, -0.5f};
	static const float expo[] = {1.5e38f, -1.5e38f, 1.5e-38f};
	static const float max[] = {3.4028235e38f};

	/* strtof syntax, as float4in accepts it. */
	expect_values("[0x1p3,-0x1p-1]", 2, hex);
	expect_values("[1.5e+38,-1.5e38,1.5e-38]", 3, expo);
	expect_values("[3.4028235e38]", 1, max);
}
END_TEST

START_TEST(test_whitespace)
{
	static const char *const ws[] = {" ", "\t", "\n", "\r", "\v", "\f"};
	static const float v2[] = {1.0f, 2.0f};
	char		buf[64];

	for (int i = 0; i < 6; i++)
	{
		const char *w = ws[i];

		/* Everywhere the grammar allows it... */
		snprintf(buf, sizeof(buf), "%s[%s1%s,%s2%s]%s", w, w, w, w, w, w);
		expect_values(buf, 2, v2);
		snprintf(buf, sizeof(buf), "%s%s[%s%s1%s%s,%s%s2%s%s]%s%s",
				 w, w, w, w, w, w, w, w, w, w, w, w);
		expect_values(buf, 2, v2);

		/* ...and "[ ]" is empty, not a syntax error. */
		snprintf(buf, sizeof(buf), "[%s]", w);
		ck_assert_int_eq(status_f(buf), RV_DENSE_EMPTY);

		/* Inside a number it separates two numbers. */
		snprintf(buf, sizeof(buf), "[1%s2]", w);
		ck_assert_int_eq(status_f(buf), RV_DENSE_SYNTAX);
	}

	expect_values(" [ 1,  2 ] ", 2, v2);

	/* Other control characters are not whitespace. */
	ck_assert_int_eq(status_f("\a[1]"), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("[1]\a"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_f("[1\a]"), RV_DENSE_SYNTAX);
	ck_assert_int_eq(status_f("\x1c[1]"), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("\xa0[1]"), RV_DENSE_NO_BRACKET);
}
END_TEST

START_TEST(test_no_bracket)
{
	ck_assert_int_eq(status_f(""), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("   "), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("1,2,3"), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("{1,2}"), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("x[1]"), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_f("]"), RV_DENSE_NO_BRACKET);
	ck_assert_int_eq(status_h("(1)"), RV_DENSE_NO_BRACKET);
}
END_TEST

START_TEST(test_empty)
{
	ck_assert_int_eq(status_f("[]"), RV_DENSE_EMPTY);
	ck_assert_int_eq(status_f("[ ]"), RV_DENSE_EMPTY);
	ck_assert_int_eq(status_f(" [\t\n] "), RV_DENSE_EMPTY);
	/* Empty wins over junk after it: the list is judged first. */
	ck_assert_int_eq(status_f("[]x"), RV_DENSE_EMPTY);
	ck_assert_int_eq(status_h("[]"), RV_DENSE_EMPTY);
}
END_TEST

START_TEST(test_syntax)
{
	static const char *const bad[] = {
		"[", "[ ", "[,", "[,]", "[1,]", "[1a]", "[1,,3]", "[1, ,3]",
		"[1,2,3", "[1 2]", "[1;2]", "[1,2,3,", "[--1]", "[.]", "[e5]",
		"[1e]x", "[+]", "[[1]]", "[1,]]", "[\"1\"]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		ck_assert_msg(status_f(bad[i]) == RV_DENSE_SYNTAX, "\"%s\"", bad[i]);
		ck_assert_msg(status_h(bad[i]) == RV_DENSE_SYNTAX, "\"%s\"", bad[i]);
	}
}
END_TEST

START_TEST(test_junk)
{
	ck_assert_int_eq(status_f("[1,2,3]9"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_f("[1] x"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_f("[1]]"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_f("[1],"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_f("[1] [2]"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_h("[1]\t\n;"), RV_DENSE_JUNK);
}
END_TEST

START_TEST(test_out_of_range_float)
{
	DenseRun	r;
	static const float tiny[] = {0.0f, -0.0f, 1.0f};
	static const float sub[] = {1e-40f, -1.4e-45f};

	r = run_opts("[4e38,1]", 8, false);
	ck_assert_int_eq(r.n, -1);
	ck_assert_int_eq(r.err.status, RV_DENSE_OUT_OF_RANGE);
	ck_assert_uint_eq(r.err.tok_start, 1);
	ck_assert_uint_eq(r.err.tok_len, 4);
	free(r.out);

	/* The token excludes the whitespace around it. */
	r = run_opts(" [ 1 ,  -4e38 ]", 8, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_OUT_OF_RANGE);
	ck_assert_uint_eq(r.err.tok_start, 8);
	ck_assert_uint_eq(r.err.tok_len, 5);
	free(r.out);

	/* Only the number's own characters, not what stops it. */
	r = run_opts("[1e39x]", 8, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_OUT_OF_RANGE);
	ck_assert_uint_eq(r.err.tok_start, 1);
	ck_assert_uint_eq(r.err.tok_len, 4);
	free(r.out);

	r = run_opts("[99999999999999999999999999999999999999999]", 8, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_OUT_OF_RANGE);
	ck_assert_uint_eq(r.err.tok_len,
					  strlen("[99999999999999999999999999999999999999999]") - 2);
	free(r.out);

	/* Underflow is not an error: the value is zero or subnormal. */
	expect_values("[1e-46,-1e-46,1]", 3, tiny);
	expect_values("[1e-40,-1.4e-45]", 2, sub);
}
END_TEST

START_TEST(test_out_of_range_half)
{
	static const float edge[] = {65504.0f, -65519.99f, 6e-8f};
	DenseRun	r;

	/* 65520 is where round-to-nearest-even first reaches half's Inf. */
	ck_assert_int_eq(status_h("[65520]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_h("[-65520]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_h("[65520.01]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_h("[1e10]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_h("[3.4e38]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_h("[1e39]"), RV_DENSE_OUT_OF_RANGE);
	expect_values("[65504,-65519.99,6e-8]", 3, edge);

	/* The largest float below 65520 still fits. */
	{
		char		buf[64];
		float		below = nextafterf(65520.0f, 0.0f);

		snprintf(buf, sizeof(buf), "[%.9g]", below);
		ck_assert_int_eq(status_h(buf), RV_DENSE_OK);
	}

	/* Without half_range these are ordinary floats. */
	ck_assert_int_eq(status_f("[65520,1e10]"), RV_DENSE_OK);

	r = run_opts("[1, 70000]", 8, true);
	ck_assert_int_eq(r.err.status, RV_DENSE_OUT_OF_RANGE);
	ck_assert_uint_eq(r.err.tok_start, 4);
	ck_assert_uint_eq(r.err.tok_len, 5);
	free(r.out);

	/* Infinity typed as such is INF in both ranges, not out of range. */
	ck_assert_int_eq(status_h("[inf]"), RV_DENSE_INF);
	ck_assert_int_eq(status_h("[nan]"), RV_DENSE_NAN);
}
END_TEST

START_TEST(test_nan_inf_spellings)
{
	static const char *const nans[] = {
		"[nan]", "[NaN]", "[NAN]", "[-nan]", "[+NaN]", "[nan(123)]", "[1, NaN]",
	};
	static const char *const infs[] = {
		"[inf]", "[Inf]", "[-inf]", "[+INF]", "[Infinity]", "[-Infinity]",
		"[INFINITY]", "[infinity,1]", "[1, -inf]",
	};

	for (size_t i = 0; i < sizeof(nans) / sizeof(nans[0]); i++)
	{
		ck_assert_msg(status_f(nans[i]) == RV_DENSE_NAN, "\"%s\"", nans[i]);
		ck_assert_msg(status_h(nans[i]) == RV_DENSE_NAN, "\"%s\"", nans[i]);
	}
	for (size_t i = 0; i < sizeof(infs) / sizeof(infs[0]); i++)
	{
		ck_assert_msg(status_f(infs[i]) == RV_DENSE_INF, "\"%s\"", infs[i]);
		ck_assert_msg(status_h(infs[i]) == RV_DENSE_INF, "\"%s\"", infs[i]);
	}

	/* Near-spellings are not numbers at all... */
	ck_assert_int_eq(status_f("[na]"), RV_DENSE_SYNTAX);
	ck_assert_int_eq(status_f("[in]"), RV_DENSE_SYNTAX);

	/*
	 * ...but strtof takes the longest prefix that is one, and the element is
	 * judged before the separator after it.
	 */
	ck_assert_int_eq(status_f("[nanx]"), RV_DENSE_NAN);
	ck_assert_int_eq(status_f("[infinit]"), RV_DENSE_INF);
}
END_TEST

/* The first problem from the left wins. */
START_TEST(test_error_order)
{
	ck_assert_int_eq(status_f("[1e39,nan]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_f("[nan,1e39]"), RV_DENSE_NAN);
	ck_assert_int_eq(status_f("[inf,nan]"), RV_DENSE_INF);
	ck_assert_int_eq(status_f("[nan"), RV_DENSE_NAN);
	ck_assert_int_eq(status_f("[1e39"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_f("[x,nan]"), RV_DENSE_SYNTAX);
	ck_assert_int_eq(status_f("[1,2]x nan"), RV_DENSE_JUNK);
	ck_assert_int_eq(status_h("[65520,nan]"), RV_DENSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_h("[nan,65520]"), RV_DENSE_NAN);
}
END_TEST

START_TEST(test_max_dims_small)
{
	DenseRun	r;

	r = run_opts("[1]", 1, false);
	ck_assert_int_eq(r.n, 1);
	free(r.out);

	/* The limit is checked before reading the element that exceeds it. */
	r = run_opts("[1,2]", 1, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_TOO_MANY);
	free(r.out);
	r = run_opts("[1,", 1, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_TOO_MANY);
	free(r.out);
	r = run_opts("[1,x", 1, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_TOO_MANY);
	free(r.out);
	r = run_opts("[1,nan]", 1, true);
	ck_assert_int_eq(r.err.status, RV_DENSE_TOO_MANY);
	free(r.out);

	/* ...but problems in the elements before the limit come first. */
	r = run_opts("[nan,2]", 1, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_NAN);
	free(r.out);
	r = run_opts("[1 2]", 1, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_SYNTAX);
	free(r.out);
	r = run_opts("[1]x", 1, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_JUNK);
	free(r.out);
}
END_TEST

START_TEST(test_max_dims_16000)
{
	char	   *s;
	DenseRun	r;

	s = make_list(BIG_MAXDIM, "]");
	r = run_opts(s, BIG_MAXDIM, false);
	ck_assert_int_eq(r.n, BIG_MAXDIM);
	ck_assert(r.out[0] == 1.0f && r.out[BIG_MAXDIM - 1] == (float) BIG_MAXDIM);
	free(r.out);
	free(s);

	s = make_list(BIG_MAXDIM, " ] ");
	r = run_opts(s, BIG_MAXDIM, true);
	ck_assert_int_eq(r.n, BIG_MAXDIM);
	free(r.out);
	free(s);

	s = make_list(BIG_MAXDIM + 1, "]");
	r = run_opts(s, BIG_MAXDIM, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_TOO_MANY);
	free(r.out);
	free(s);

	/* A trailing comma at the limit is TOO_MANY, not a syntax error. */
	s = make_list(BIG_MAXDIM, ",");
	r = run_opts(s, BIG_MAXDIM, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_TOO_MANY);
	free(r.out);
	free(s);

	/* One short of the limit, a trailing comma is a syntax error. */
	s = make_list(BIG_MAXDIM - 1, ",");
	r = run_opts(s, BIG_MAXDIM, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_SYNTAX);
	free(r.out);
	free(s);

	s = make_list(BIG_MAXDIM, "]junk");
	r = run_opts(s, BIG_MAXDIM, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_JUNK);
	free(r.out);
	free(s);
}
END_TEST

/* A failure after a success leaves no stale token; success clears it. */
START_TEST(test_error_fields)
{
	DenseRun	r;

	r = run_opts("[1e39]", 8, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_OUT_OF_RANGE);
	free(r.out);

	r = run_opts("[1]", 8, false);
	ck_assert_int_eq(r.err.status, RV_DENSE_OK);
	ck_assert_uint_eq(r.err.tok_start, 0);
	ck_assert_uint_eq(r.err.tok_len, 0);
	free(r.out);

	r = run_opts("[1,nan]", 8, false);
	ck_assert_uint_eq(r.err.tok_len, 0);
	free(r.out);
}
END_TEST

/* Every prefix of valid and invalid inputs: never a crash, always a status. */
START_TEST(test_truncations)
{
	static const char *const inputs[] = {
		" [ 1.5e-3 , -2 , nan(abc) , 0x1p3 ] ",
		"[1e39,65520,inf,Infinity]",
		"[3.4028235e38,1]x",
	};

	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++)
	{
		size_t		len = strlen(inputs[k]);

		for (size_t cut = 0; cut <= len; cut++)
		{
			char	   *s = malloc(cut + 1);

			memcpy(s, inputs[k], cut);
			s[cut] = '\0';
			for (int half = 0; half <= 1; half++)
			{
				DenseRun	r = run_opts(s, 8, half);

				if (r.err.status == RV_DENSE_OUT_OF_RANGE)
					ck_assert_uint_le(r.err.tok_start + r.err.tok_len, cut);
				free(r.out);
			}
			free(s);
		}
	}
}
END_TEST

/*
 * The fast path of the float reader (token_parse.h) against strtof itself:
 * for every input it accepts, the same float bit for bit and the same end
 * of token.  Inputs: random floats printed as clients and psql print them
 * (%.17g, %.9g, %g, %e), decimal strings next to the midpoints between two
 * floats (where a second rounding would go wrong), random digit strings
 * with exponents and trailing junk, and forms it must leave to strtof.
 */
#ifdef RV_TOKEN_FAST_FLOAT
static uint64_t fast_state = 0x9E3779B97F4A7C15ULL;

static uint64_t
fast_rand(void)
{
	return rv_xorshift64(&fast_state);
}

static long fast_taken;
static long fast_tried;

static void
check_fast_one(const char *str)
{
	const char *end = NULL;
	char	   *ref_end;
	float		v = 0.0f,
				ref;

	fast_tried++;
	if (!rv_token_fast_float(str, &end, &v))
		return;
	fast_taken++;
	errno = 0;
	ref = strtof(str, &ref_end);
	if (memcmp(&v, &ref, sizeof(float)) != 0 || end != ref_end || errno == ERANGE)
		ck_abort_msg("fast path on \"%s\": %.9g (end %td) but strtof %.9g (end %td)",
					 str, v, end - str, ref, ref_end - str);
}

static float
fast_random_float(void)
{
	uint32_t	bits;
	float		f;

	do
	{
		bits = (uint32_t) fast_rand();
		/* mostly the magnitudes embeddings have, sometimes any finite one */
		if (fast_rand() % 4 != 0)
			bits = (bits & 0x80FFFFFFu) | ((uint32_t) (112 + fast_rand() % 16) << 23);
		memcpy(&f, &bits, sizeof(f));
	} while (!isfinite(f));
	return f;
}

static void
check_fast_digits(void)
{
	char		buf[96];
	int			len = 0;
	int			nint = (int) (fast_rand() % 14),
				nfrac = (int) (fast_rand() % 14);
	static const char *const tails[] = {"", "", "", ",", "]", "x", "e", "e+", "E-", " "};

	if (fast_rand() % 3 == 0)
		buf[len++] = fast_rand() % 2 ? '-' : '+';
	for (int i = 0; i < nint; i++)
		buf[len++] = (char) ('0' + (i == 0 && fast_rand() % 3 == 0 ? 0 : fast_rand() % 10));
	if (nfrac > 0 || fast_rand() % 4 == 0)
		buf[len++] = '.';
	for (int i = 0; i < nfrac; i++)
		buf[len++] = (char) ('0' + fast_rand() % 10);
	if (fast_rand() % 2)
		len += sprintf(buf + len, "e%d", (int) (fast_rand() % 81) - 40);
	sprintf(buf + len, "%s", tails[fast_rand() % 10]);
	check_fast_one(buf);
}

START_TEST(test_fast_path_equals_strtof)
{
	static const char *const forms[] = {"%.17g", "%.9g", "%.8g", "%.6g", "%g", "%.3e", "%.10e"};
	static const char *const declined[] = {
		"0x1p3", "0X.8", "nan", "-inf", "Infinity", " 1", "1e", "1e+", ".", "-", "",
		"12345678901234567890", "1e-28", "1e28", "0.1234567890123456789012"
	};
	char		buf[96];
	long		taken17 = 0;

	for (int i = 0; i < 60000; i++)
	{
		float		f = fast_random_float();
		float		g = nextafterf(f, INFINITY);
		double		mid = ((double) f + (double) g) / 2;
		long		before = fast_taken;

		snprintf(buf, sizeof(buf), "%.17g", (double) f);
		check_fast_one(buf);
		taken17 += fast_taken - before;
		for (int k = 1; k < 7; k++)
		{
			snprintf(buf, sizeof(buf), forms[k], (double) f);
			check_fast_one(buf);
		}
		if (isfinite(g))
		{
			snprintf(buf, sizeof(buf), "%.19g", mid);
			check_fast_one(buf);
			snprintf(buf, sizeof(buf), "%.17g", mid);
			check_fast_one(buf);
			snprintf(buf, sizeof(buf), "%.19g", nextafter(mid, 0.0));
			check_fast_one(buf);
			snprintf(buf, sizeof(buf), "%.19g", nextafter(mid, INFINITY));
			check_fast_one(buf);
		}
		check_fast_digits();
	}
	/* it must be the path taken for what clients send, or it is dead code */
	ck_assert_int_ge(taken17, 60000 * 9 / 10);

	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
	{
		const char *end = NULL;
		float		v = 42.0f;

		ck_assert_msg(!rv_token_fast_float(declined[i], &end, &v) && end == NULL && v == 42.0f,
					  "fast path took \"%s\"", declined[i]);
	}
}
END_TEST
#endif

Suite *
dense_parse_suite(void)
{
	Suite	   *s = suite_create("dense_parse");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_ok_basic);
	tcase_add_test(tc, test_ok_number_forms);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_no_bracket);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_junk);
	tcase_add_test(tc, test_out_of_range_float);
	tcase_add_test(tc, test_out_of_range_half);
	tcase_add_test(tc, test_nan_inf_spellings);
	tcase_add_test(tc, test_error_order);
	tcase_add_test(tc, test_max_dims_small);
	tcase_add_test(tc, test_max_dims_16000);
	tcase_add_test(tc, test_error_fields);
	tcase_add_test(tc, test_truncations);
#ifdef RV_TOKEN_FAST_FLOAT
	/* 600,000 strtof calls for the comparison: seconds under ASan */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fast_path_equals_strtof);
#endif
	suite_add_tcase(s, tc);
	return s;
}
