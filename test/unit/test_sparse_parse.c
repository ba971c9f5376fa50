/*
 * test_sparse_parse.c — Check tests of the sparse vector text parser.
 *
 * Each test names the status it expects and, for accepted input, the exact
 * elements.  Every input is copied into a heap buffer of exactly its length
 * plus the NUL, so a run under ASan catches any read past the terminator.
 * Values are compared exactly: they are strtof results of short literals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/sparse_parse.h"
#include "unit.h"

typedef struct Parsed
{
	RvSparseResult res;
	RvSparseElem *elems;
} Parsed;

/* Parses str with a capacity sized as sparsevec_in sizes it. */
static RvSparseStatus
parse_cap(const char *str, int32_t expected_dim, size_t cap, Parsed *out)
{
	size_t		len = strlen(str);
	char	   *copy = malloc(len + 1);
	RvSparseStatus st;

	memcpy(copy, str, len + 1);
	out->elems = malloc(sizeof(RvSparseElem) * (cap > 0 ? cap : 1));
	st = rv_sparse_parse(copy, out->elems, cap, expected_dim, &out->res);
	ck_assert_int_eq(st, out->res.status);
	free(copy);
	return st;
}

static RvSparseStatus
parse(const char *str, int32_t expected_dim, Parsed *out)
{
	size_t		cap = rv_sparse_capacity(str);

	if (cap > RV_SPARSE_MAX_NNZ)
		cap = RV_SPARSE_MAX_NNZ;
	return parse_cap(str, expected_dim, cap, out);
}

/* Status of str with any dimension; frees the elements. */
static RvSparseStatus
status_of(const char *str)
{
	Parsed		p;
	RvSparseStatus st = parse(str, -1, &p);

	free(p.elems);
	return st;
}

/* "{1:v,2:v,...,n:v}/n" followed by extra, in a malloc'd string */
static char *
make_run(int n, const char *v, const char *extra)
{
	size_t		size = (size_t) n * (16 + strlen(v)) + strlen(extra) + 32;
	char	   *s = malloc(size);
	char	   *p = s;

	*p++ = '{';
	for (int i = 1; i <= n; i++)
		p += sprintf(p, "%s%d:%s", i > 1 ? "," : "", i, v);
	p += sprintf(p, "}/%d%s", n, extra);
	return s;
}

START_TEST(test_accepts_basic)
{
	Parsed		p;

	ck_assert_int_eq(parse("{1:1.5,3:3.5}/5", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.dim, 5);
	ck_assert_int_eq(p.res.nnz, 2);
	ck_assert_int_eq(p.elems[0].index, 0);
	ck_assert(p.elems[0].value == 1.5f);
	ck_assert_int_eq(p.elems[1].index, 2);
	ck_assert(p.elems[1].value == 3.5f);
	free(p.elems);

	ck_assert_int_eq(parse("{1:-2,3:-4}/5", -1, &p), RV_SPARSE_OK);
	ck_assert(p.elems[0].value == -2.0f && p.elems[1].value == -4.0f);
	free(p.elems);

	ck_assert_int_eq(parse("{1:2.,3:4.}/5", -1, &p), RV_SPARSE_OK);
	ck_assert(p.elems[0].value == 2.0f && p.elems[1].value == 4.0f);
	free(p.elems);

	/* strtof syntax: exponents, hex floats, explicit signs on everything */
	ck_assert_int_eq(parse("{+1:1e3,2:0x1p3,3:-.5}/+3", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 3);
	ck_assert(p.elems[0].value == 1000.0f);
	ck_assert(p.elems[1].value == 8.0f);
	ck_assert(p.elems[2].value == -0.5f);
	ck_assert_int_eq(p.res.dim, 3);
	free(p.elems);
}
END_TEST

START_TEST(test_whitespace)
{
	Parsed		p;

	ck_assert_int_eq(parse(" { 1 : 1.5 ,  3  :  3.5  } / 5 ", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 2);
	ck_assert_int_eq(p.res.dim, 5);
	free(p.elems);

	ck_assert_int_eq(parse("\t\n\r\v\f{\t1\n:\r2\v}\f/\t7\n", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 1);
	ck_assert(p.elems[0].value == 2.0f);
	ck_assert_int_eq(p.res.dim, 7);
	free(p.elems);

	ck_assert_int_eq(status_of("{ }/1"), RV_SPARSE_OK);
	ck_assert_int_eq(status_of("{}/1 \t"), RV_SPARSE_OK);
	/* whitespace inside a number ends it */
	ck_assert_int_eq(status_of("{1:1 5}/1"), RV_SPARSE_SYNTAX);
	ck_assert_int_eq(status_of("{1 0:1}/10"), RV_SPARSE_SYNTAX);
	ck_assert_int_eq(status_of("{}/1 0"), RV_SPARSE_JUNK);
	/* a sign must touch its digits */
	ck_assert_int_eq(status_of("{- 1:1}/1"), RV_SPARSE_SYNTAX);
}
END_TEST

START_TEST(test_empty)
{
	Parsed		p;

	ck_assert_int_eq(parse("{}/1", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 0);
	ck_assert_int_eq(p.res.dim, 1);
	free(p.elems);
}
END_TEST

START_TEST(test_zero_values_dropped)
{
	Parsed		p;

	ck_assert_int_eq(parse("{1:0,2:1,3:0}/3", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 1);
	ck_assert_int_eq(p.elems[0].index, 1);
	free(p.elems);

	ck_assert_int_eq(parse("{1:-0,2:0.0,3:0e10}/3", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 0);
	free(p.elems);

	/* the index of a zero is never checked: bounds, duplicates */
	ck_assert_int_eq(status_of("{0:0}/1"), RV_SPARSE_OK);
	ck_assert_int_eq(status_of("{99999999999999:0}/1"), RV_SPARSE_OK);
	ck_assert_int_eq(status_of("{1:0,1:1}/2"), RV_SPARSE_OK);
	ck_assert_int_eq(status_of("{1:1,1:0}/2"), RV_SPARSE_OK);
}
END_TEST

START_TEST(test_sorts_unordered)
{
	Parsed		p;

	ck_assert_int_eq(parse("{2:1,1:1}/2", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.elems[0].index, 0);
	ck_assert_int_eq(p.elems[1].index, 1);
	free(p.elems);

	ck_assert_int_eq(parse("{5:5,1:1,4:4,2:2,3:3}/5", -1, &p), RV_SPARSE_OK);
	for (int i = 0; i < 5; i++)
	{
		ck_assert_int_eq(p.elems[i].index, i);
		ck_assert(p.elems[i].value == (float) (i + 1));
	}
	free(p.elems);
}
END_TEST

START_TEST(test_duplicates)
{
	ck_assert_int_eq(status_of("{1:1,1:1}/2"), RV_SPARSE_INDEX_DUPLICATE);
	ck_assert_int_eq(status_of("{1:1,2:1,1:1}/2"), RV_SPARSE_INDEX_DUPLICATE);
	ck_assert_int_eq(status_of("{3:1,1:2,3:-1}/3"), RV_SPARSE_INDEX_DUPLICATE);
}
END_TEST

START_TEST(test_index_bounds)
{
	Parsed		p;

	ck_assert_int_eq(status_of("{0:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{2:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{-1:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{2147483647:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{2147483648:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{-2147483648:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{-2147483649:1}/1"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{99999999999999:1}/5"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{-99999999999999999999999999:1}/5"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{99999999999999999999999999:1}/5"), RV_SPARSE_INDEX_BOUNDS);

	/* saturation keeps the stored index inside int32 */
	ck_assert_int_eq(parse_cap("{99999999999999:1}/5", -1, 1, &p), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(p.elems[0].index, INT32_MAX - 1);
	free(p.elems);
	ck_assert_int_eq(parse_cap("{-99999999999999:1}/5", -1, 1, &p), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(p.elems[0].index, INT32_MIN);
	free(p.elems);

	/* both ends of the dimension */
	ck_assert_int_eq(parse("{1:1,1000000000:2}/1000000000", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.elems[0].index, 0);
	ck_assert_int_eq(p.elems[1].index, 999999999);
	free(p.elems);
	ck_assert_int_eq(status_of("{1000000001:1}/1000000000"), RV_SPARSE_INDEX_BOUNDS);
}
END_TEST

START_TEST(test_index_check_order)
{
	/* the lowest index in sorted order is judged first */
	ck_assert_int_eq(status_of("{2:1,2:1,0:1}/3"), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(status_of("{10:1,3:1,3:2}/5"), RV_SPARSE_INDEX_DUPLICATE);
	ck_assert_int_eq(status_of("{9:1,9:2}/5"), RV_SPARSE_INDEX_BOUNDS);
}
END_TEST

START_TEST(test_dimensions)
{
	Parsed		p;

	ck_assert_int_eq(status_of("{}/5"), RV_SPARSE_OK);
	ck_assert_int_eq(status_of("{}/1000000000"), RV_SPARSE_OK);

	ck_assert_int_eq(parse("{}/0", -1, &p), RV_SPARSE_DIM_TOO_SMALL);
	ck_assert_int_eq(p.res.dim, 0);
	free(p.elems);
	ck_assert_int_eq(parse("{}/-1", -1, &p), RV_SPARSE_DIM_TOO_SMALL);
	ck_assert_int_eq(p.res.dim, -1);
	free(p.elems);
	ck_assert_int_eq(parse("{}/1000000001", -1, &p), RV_SPARSE_DIM_TOO_LARGE);
	ck_assert_int_eq(p.res.dim, 1000000001);
	free(p.elems);
	ck_assert_int_eq(parse("{}/2147483648", -1, &p), RV_SPARSE_DIM_TOO_LARGE);
	ck_assert_int_eq(p.res.dim, INT32_MAX);
	free(p.elems);
	ck_assert_int_eq(parse("{}/-2147483649", -1, &p), RV_SPARSE_DIM_TOO_SMALL);
	ck_assert_int_eq(p.res.dim, INT32_MIN);
	free(p.elems);
	ck_assert_int_eq(status_of("{}/9223372036854775808"), RV_SPARSE_DIM_TOO_LARGE);
	ck_assert_int_eq(status_of("{}/-9223372036854775809"), RV_SPARSE_DIM_TOO_SMALL);
	ck_assert_int_eq(status_of("{}/99999999999999999999999999999"), RV_SPARSE_DIM_TOO_LARGE);

	/* the dimension is judged before the indexes */
	ck_assert_int_eq(status_of("{5:1,5:1}/0"), RV_SPARSE_DIM_TOO_SMALL);
	ck_assert_int_eq(status_of("{0:1}/1000000001"), RV_SPARSE_DIM_TOO_LARGE);
}
END_TEST

START_TEST(test_expected_dim)
{
	Parsed		p;

	ck_assert_int_eq(parse("{}/3", 3, &p), RV_SPARSE_OK);
	free(p.elems);
	ck_assert_int_eq(parse("{}/3", 2, &p), RV_SPARSE_DIM_MISMATCH);
	ck_assert_int_eq(p.res.dim, 3);
	free(p.elems);
	/* after the range checks, before the index checks */
	ck_assert_int_eq(parse("{}/0", 2, &p), RV_SPARSE_DIM_TOO_SMALL);
	free(p.elems);
	ck_assert_int_eq(parse("{}/1000000001", 2, &p), RV_SPARSE_DIM_TOO_LARGE);
	free(p.elems);
	ck_assert_int_eq(parse("{9:1,9:1}/3", 2, &p), RV_SPARSE_DIM_MISMATCH);
	free(p.elems);
}
END_TEST

START_TEST(test_syntax_errors)
{
	static const struct
	{
		const char *in;
		RvSparseStatus st;
	}			cases[] = {
		{"", RV_SPARSE_NO_BRACE},
		{"   ", RV_SPARSE_NO_BRACE},
		{"[1,2]", RV_SPARSE_NO_BRACE},
		{"1:1}/1", RV_SPARSE_NO_BRACE},
		{"{", RV_SPARSE_SYNTAX},
		{"{ ", RV_SPARSE_SYNTAX},
		{"{:", RV_SPARSE_SYNTAX},
		{"{,", RV_SPARSE_SYNTAX},
		{"{1", RV_SPARSE_SYNTAX},
		{"{1:", RV_SPARSE_SYNTAX},
		{"{1:1", RV_SPARSE_SYNTAX},
		{"{1:1,", RV_SPARSE_SYNTAX},
		{"{}", RV_SPARSE_NO_SLASH},
		{"{} ", RV_SPARSE_NO_SLASH},
		{"{1:1}", RV_SPARSE_NO_SLASH},
		{"{1:1}x/1", RV_SPARSE_NO_SLASH},
		{"{1:1}}/1", RV_SPARSE_NO_SLASH},
		{"{}1", RV_SPARSE_NO_SLASH},
		{"{}/", RV_SPARSE_SYNTAX},
		{"{}/ ", RV_SPARSE_SYNTAX},
		{"{}/a", RV_SPARSE_SYNTAX},
		{"{}/-", RV_SPARSE_SYNTAX},
		{"{}/1a", RV_SPARSE_JUNK},
		{"{}/1.5", RV_SPARSE_JUNK},
		{"{}/1/", RV_SPARSE_JUNK},
		{"{:}/1", RV_SPARSE_SYNTAX},
		{"{,}/1", RV_SPARSE_SYNTAX},
		{"{1,}/1", RV_SPARSE_SYNTAX},
		{"{:1}/1", RV_SPARSE_SYNTAX},
		{"{1:}/1", RV_SPARSE_SYNTAX},
		{"{1a:1}/1", RV_SPARSE_SYNTAX},
		{"{1.5:1}/2", RV_SPARSE_SYNTAX},
		{"{1:1a}/1", RV_SPARSE_SYNTAX},
		{"{1:1,}/1", RV_SPARSE_SYNTAX},
		{"{1:1;2:1}/2", RV_SPARSE_SYNTAX},
		{"{1:hello,2:1}/2", RV_SPARSE_SYNTAX},
		{"{1::1}/1", RV_SPARSE_SYNTAX},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(status_of(cases[i].in) == cases[i].st,
					  "input \"%s\": got %d, expected %d", cases[i].in,
					  status_of(cases[i].in), cases[i].st);
}
END_TEST

START_TEST(test_nan_inf)
{
	ck_assert_int_eq(status_of("{1:NaN,2:1}/2"), RV_SPARSE_NAN);
	ck_assert_int_eq(status_of("{1:nan}/1"), RV_SPARSE_NAN);
	ck_assert_int_eq(status_of("{1:-nan}/1"), RV_SPARSE_NAN);
	ck_assert_int_eq(status_of("{1:Infinity,2:1}/2"), RV_SPARSE_INF);
	ck_assert_int_eq(status_of("{1:-Infinity,2:1}/2"), RV_SPARSE_INF);
	ck_assert_int_eq(status_of("{1:inf}/1"), RV_SPARSE_INF);
	/* judged as soon as read: before a later syntax error or the dimension */
	ck_assert_int_eq(status_of("{1:nan,x}/3"), RV_SPARSE_NAN);
	ck_assert_int_eq(status_of("{1:inf"), RV_SPARSE_INF);
	ck_assert_int_eq(status_of("{0:nan}/0"), RV_SPARSE_NAN);
	/* but after a syntax error to their left */
	ck_assert_int_eq(status_of("{x:nan}/3"), RV_SPARSE_SYNTAX);
	ck_assert_int_eq(status_of("{1:1 2:nan}/3"), RV_SPARSE_SYNTAX);
}
END_TEST

START_TEST(test_out_of_range)
{
	Parsed		p;
	const char *s;

	s = "{1:4e38,2:1}/2";
	ck_assert_int_eq(parse(s, -1, &p), RV_SPARSE_OUT_OF_RANGE);
	ck_assert_int_eq(p.res.tok_start, 3);
	ck_assert_int_eq(p.res.tok_len, 4);
	free(p.elems);

	s = "{ 2 : 1 , 1 :  -1e-46 }/2";
	ck_assert_int_eq(parse(s, -1, &p), RV_SPARSE_OUT_OF_RANGE);
	ck_assert_int_eq(p.res.tok_start, 15);
	ck_assert_int_eq(p.res.tok_len, 6);
	ck_assert(strncmp(s + p.res.tok_start, "-1e-46", p.res.tok_len) == 0);
	free(p.elems);

	ck_assert_int_eq(status_of("{1:-4e38}/1"), RV_SPARSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_of("{1:1e-46}/1"), RV_SPARSE_OUT_OF_RANGE);
	ck_assert_int_eq(status_of("{1:1e999999999999}/1"), RV_SPARSE_OUT_OF_RANGE);
	/* range is judged before the dimension */
	ck_assert_int_eq(status_of("{1:4e38}/0"), RV_SPARSE_OUT_OF_RANGE);

	/* limits of float that are still accepted, denormals included */
	ck_assert_int_eq(parse("{1:1.5e38,2:-1.5e38,3:1.5e-38,4:1e-40}/4", -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, 4);
	ck_assert(p.elems[3].value > 0.0f && fpclassify(p.elems[3].value) == FP_SUBNORMAL);
	free(p.elems);
	ck_assert_int_eq(status_of("{1:3.4028234e38}/1"), RV_SPARSE_OK);
}
END_TEST

START_TEST(test_too_many)
{
	char	   *s;
	Parsed		p;

	/* exactly the limit */
	s = make_run(RV_SPARSE_MAX_NNZ, "1", "");
	ck_assert_int_eq(rv_sparse_capacity(s), RV_SPARSE_MAX_NNZ);
	ck_assert_int_eq(parse(s, -1, &p), RV_SPARSE_OK);
	ck_assert_int_eq(p.res.nnz, RV_SPARSE_MAX_NNZ);
	ck_assert_int_eq(p.elems[RV_SPARSE_MAX_NNZ - 1].index, RV_SPARSE_MAX_NNZ - 1);
	free(p.elems);
	free(s);

	/* one more */
	s = make_run(RV_SPARSE_MAX_NNZ + 1, "1", "");
	ck_assert_int_eq(status_of(s), RV_SPARSE_TOO_MANY);
	free(s);

	/* every comma counts, even after the dimension, and before any syntax */
	s = make_run(1, "1", "");
	{
		size_t		len = strlen(s);
		char	   *t = malloc(len + RV_SPARSE_MAX_NNZ + 1);

		memcpy(t, s, len);
		memset(t + len, ',', RV_SPARSE_MAX_NNZ - 1);
		t[len + RV_SPARSE_MAX_NNZ - 1] = '\0';
		ck_assert_int_eq(status_of(t), RV_SPARSE_JUNK);
		t[len + RV_SPARSE_MAX_NNZ - 1] = ',';
		t[len + RV_SPARSE_MAX_NNZ] = '\0';
		ck_assert_int_eq(status_of(t), RV_SPARSE_TOO_MANY);
		t[0] = 'x';
		ck_assert_int_eq(status_of(t), RV_SPARSE_TOO_MANY);
		free(t);
	}
	free(s);

	/* zeros are not stored, but their commas still count */
	s = make_run(RV_SPARSE_MAX_NNZ + 1, "0", "");
	ck_assert_int_eq(status_of(s), RV_SPARSE_TOO_MANY);
	free(s);
}
END_TEST

START_TEST(test_buffer_full)
{
	Parsed		p;

	ck_assert_int_eq(parse_cap("{1:1,2:1}/2", -1, 1, &p), RV_SPARSE_BUFFER_FULL);
	free(p.elems);
	/* zeros are not stored, so they need no room */
	ck_assert_int_eq(parse_cap("{1:0,2:0}/2", -1, 0, &p), RV_SPARSE_OK);
	free(p.elems);
	ck_assert_int_eq(parse_cap("{1:0,2:5}/2", -1, 1, &p), RV_SPARSE_OK);
	ck_assert(p.elems[0].value == 5.0f);
	free(p.elems);
}
END_TEST

START_TEST(test_capacity)
{
	ck_assert_int_eq(rv_sparse_capacity(""), 1);
	ck_assert_int_eq(rv_sparse_capacity("{}/1"), 1);
	ck_assert_int_eq(rv_sparse_capacity(",,,"), 4);
	ck_assert_int_eq(rv_sparse_capacity("{1:1,2:2}/2"), 2);
}
END_TEST

START_TEST(test_check_index)
{
	ck_assert_int_eq(rv_sparse_check_index(0, -1, 1), RV_SPARSE_OK);
	ck_assert_int_eq(rv_sparse_check_index(-1, -1, 1), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(rv_sparse_check_index(1, -1, 1), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(rv_sparse_check_index(INT32_MIN, -1, 5), RV_SPARSE_INDEX_BOUNDS);
	ck_assert_int_eq(rv_sparse_check_index(2, 3, 5), RV_SPARSE_INDEX_ORDER);
	ck_assert_int_eq(rv_sparse_check_index(3, 3, 5), RV_SPARSE_INDEX_DUPLICATE);
	ck_assert_int_eq(rv_sparse_check_index(4, 3, 5), RV_SPARSE_OK);
	/* bounds before order */
	ck_assert_int_eq(rv_sparse_check_index(7, 9, 5), RV_SPARSE_INDEX_BOUNDS);
}
END_TEST

/*
 * Every prefix of a set of inputs, each in a buffer of exactly its length:
 * truncation anywhere must give a status, never a read past the end.
 */
START_TEST(test_prefixes)
{
	static const char *inputs[] = {
		" { 1 : 1.5 ,  3  :  -3.5e-2  } / 5 ",
		"{2147483648:1,-5:0x1p-3,7:nan,8:inf}/99999999999999999999",
		"{1:1e-46}/1",
	};

	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++)
	{
		size_t		len = strlen(inputs[k]);

		for (size_t n = 0; n <= len; n++)
		{
			char	   *s = malloc(n + 1);
			RvSparseElem elems[8];
			RvSparseResult res;

			memcpy(s, inputs[k], n);
			s[n] = '\0';
			(void) rv_sparse_parse(s, elems, 8, -1, &res);
			ck_assert_int_le(res.nnz, 8);
			free(s);
		}
	}
}
END_TEST

Suite *
sparse_parse_suite(void)
{
	Suite	   *s = suite_create("sparse_parse");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_accepts_basic);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_zero_values_dropped);
	tcase_add_test(tc, test_sorts_unordered);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_index_bounds);
	tcase_add_test(tc, test_index_check_order);
	tcase_add_test(tc, test_dimensions);
	tcase_add_test(tc, test_expected_dim);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_nan_inf);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_buffer_full);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_check_index);
	tcase_add_test(tc, test_prefixes);
	suite_add_tcase(s, tc);
	return s;
}
