/*-------------------------------------------------------------------------
 *
 * test_codes.c
 *	  Check suite "codes": compact index codes (src/quant/codes.c), every
 *	  kind (float32, float16, sq8, binary) with every metric.
 *
 * NOTES
 *	  Each code distance is checked against a double-precision reference
 *	  computed on what the code stands for (its decoding, and for float16
 *	  the query rounded to float16), so the test pins both the algebra of
 *	  the sq8 rewrite (norms and dot products instead of differences) and
 *	  the kernels.  The sq8 decoding error is bounded by scale / 2; binary
 *	  distances must equal a plain count of sign disagreements.  Ranking
 *	  quality is checked where it is the point: the true nearest neighbour
 *	  of random queries must rank in the code's top 10.  Codes are also
 *	  read at odd addresses, as they may sit unaligned inside a page.
 *
 * IDENTIFICATION
 *	  test/unit/test_codes.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "distance/distance.h"
#include "quant/quant.h"

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

static uint64_t codes_rng = 0x9E3779B97F4A7C15ULL;

static float
urand(float lo, float hi)
{
	codes_rng ^= codes_rng << 13;
	codes_rng ^= codes_rng >> 7;
	codes_rng ^= codes_rng << 17;
	return lo + (hi - lo) * (float) ((codes_rng >> 11) * (1.0 / 9007199254740992.0));
}

/* Reference distance in double on decoded values. */
static double
ref_distance(RvCodeMetric metric, const float *a, const float *b, int dim)
{
	double		s = 0,
				na = 0,
				nb = 0;

	for (int i = 0; i < dim; i++)
	{
		switch (metric)
		{
			case RV_CODE_L2SQ:
				s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
				break;
			case RV_CODE_L1:
				s += fabs((double) a[i] - b[i]);
				break;
			case RV_CODE_NEGDOT:
			case RV_CODE_COSINE:
				s += (double) a[i] * b[i];
				na += (double) a[i] * a[i];
				nb += (double) b[i] * b[i];
				break;
		}
	}
	if (metric == RV_CODE_NEGDOT)
		return -s;
	if (metric == RV_CODE_COSINE)
		return (na > 0 && nb > 0) ? 1 - s / sqrt(na * nb) : 1;
	return s;
}

static const RvCodeKind all_kinds[] = {RV_CODE_FLOAT32, RV_CODE_FLOAT16, RV_CODE_SQ8, RV_CODE_BINARY};
static const RvCodeMetric all_metrics[] = {RV_CODE_L2SQ, RV_CODE_NEGDOT, RV_CODE_COSINE, RV_CODE_L1};

START_TEST(test_codes_sizes)
{
	ck_assert_uint_eq(rv_code_size(RV_CODE_FLOAT32, 100), 400);
	ck_assert_uint_eq(rv_code_size(RV_CODE_FLOAT16, 100), 200);
	ck_assert_uint_eq(rv_code_size(RV_CODE_SQ8, 100), 112);
	ck_assert_uint_eq(rv_code_size(RV_CODE_BINARY, 100), 13);
	ck_assert_uint_eq(rv_code_size(RV_CODE_BINARY, 64000), 8000);
	ck_assert_uint_eq(rv_code_query_workspace(RV_CODE_FLOAT16, 10), 20);
	ck_assert_uint_eq(rv_code_query_workspace(RV_CODE_BINARY, 9), 2);
	ck_assert_uint_eq(rv_code_query_workspace(RV_CODE_SQ8, 9), 0);
}
END_TEST

/* Every kind and metric against the reference, at odd addresses. */
START_TEST(test_codes_distances)
{
	enum
	{
		MAXD = 1100
	};
	static float q[MAXD],
				x[MAXD],
				dec[MAXD],
				qdec[MAXD];
	static uint8_t codebuf[MAXD * 4 + 8],
				ws[MAXD * 2 + 8];
	static const int dims[] = {1, 3, 7, 8, 15, 16, 17, 31, 100, 768, 1024, 1100};

	for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
	{
		int			dim = dims[di];

		for (int rep = 0; rep < 20; rep++)
		{
			float		shift = urand(-1, 1);

			for (int i = 0; i < dim; i++)
			{
				q[i] = urand(-1, 1) + shift;
				x[i] = urand(-1, 1) * (rep % 3 + 1) - shift;
			}
			for (size_t k = 0; k < 4; k++)
			{
				RvCodeKind	kind = all_kinds[k];
				uint8_t    *code = codebuf + 1 + rep % 3;

				ck_assert(rv_code_encode(kind, x, dim, code));
				rv_code_decode(kind, code, dim, dec);
				for (size_t mi = 0; mi < 4; mi++)
				{
					RvCodeQuery cq;
					double		ref;
					double		got;

					rv_code_query_init(&cq, kind, all_metrics[mi], q, dim, ws + 1);
					got = rv_code_distance(&cq, code);
					if (kind == RV_CODE_BINARY)
					{
						long		diff = 0;

						for (int i = 0; i < dim; i++)
							diff += (q[i] > 0) != (x[i] > 0);
						CHECK(got == (double) diff, "binary dim %d: %g, expected %ld",
							  dim, got, diff);
						continue;
					}
					if (kind == RV_CODE_FLOAT16)
						rv_code_decode(RV_CODE_FLOAT16, ws + 1, dim, qdec);
					else
						memcpy(qdec, q, dim * sizeof(float));
					ref = ref_distance(all_metrics[mi], qdec, dec, dim);
					/* float accumulation over dim terms of magnitude <= ~16 */
					CHECK(fabs(got - ref) <= 1e-4 * (fabs(ref) + dim * 0.05 + 1),
						  "kind %d metric %d dim %d: %.9g, reference %.9g",
						  kind, all_metrics[mi], dim, got, ref);
				}
			}
		}
	}
}
END_TEST

/* sq8: decoding error at most scale / 2; binary decodes to signs. */
START_TEST(test_codes_roundtrip)
{
	float		x[300],
				dec[300];
	uint8_t		code[400];

	for (int rep = 0; rep < 200; rep++)
	{
		float		mag = powf(10.0f, urand(-6, 6));
		float		scale;

		for (int i = 0; i < 300; i++)
			x[i] = urand(-mag, mag) + mag * 0.3f;
		ck_assert(rv_code_encode(RV_CODE_SQ8, x, 300, code));
		memcpy(&scale, code + sizeof(float), sizeof(float));
		rv_code_decode(RV_CODE_SQ8, code, 300, dec);
		for (int i = 0; i < 300; i++)
			CHECK(fabsf(dec[i] - x[i]) <= scale * 0.5f + mag * 1e-5f,
				  "sq8 component %d: %g decoded as %g (scale %g)", i, x[i], dec[i], scale);

		ck_assert(rv_code_encode(RV_CODE_BINARY, x, 300, code));
		rv_code_decode(RV_CODE_BINARY, code, 300, dec);
		for (int i = 0; i < 300; i++)
			CHECK(dec[i] == (x[i] > 0 ? 1.0f : -1.0f), "binary component %d", i);
	}
}
END_TEST

/*
 * rv_code_error bounds |x - decode(code)| and gives |decode(code)|:
 * float16 and sq8 over magnitudes 1e-6..1e4, float32 exact, binary and
 * saturated float16 unbounded.
 */
START_TEST(test_codes_error_bound)
{
	float		x[300],
				dec[300];
	uint8_t		code[1200];
	RvCodeKind	kinds[2] = {RV_CODE_FLOAT16, RV_CODE_SQ8};
	float		err,
				norm;

	for (int rep = 0; rep < 200; rep++)
	{
		float		mag = powf(10.0f, urand(-6, 4));
		int			dim = 1 + rep % 300;

		for (int i = 0; i < dim; i++)
			x[i] = urand(-mag, mag) + mag * 0.3f;
		for (int k = 0; k < 2; k++)
		{
			double		e2 = 0,
						n2 = 0;

			ck_assert(rv_code_encode(kinds[k], x, dim, code));
			rv_code_decode(kinds[k], code, dim, dec);
			for (int i = 0; i < dim; i++)
			{
				e2 += ((double) x[i] - dec[i]) * ((double) x[i] - dec[i]);
				n2 += (double) dec[i] * dec[i];
			}
			rv_code_error(kinds[k], code, dim, &err, &norm);
			CHECK(sqrt(e2) <= err, "kind %d dim %d: error %g above bound %g",
				  (int) kinds[k], dim, sqrt(e2), (double) err);
			CHECK(fabs(sqrt(n2) - norm) <= 1e-4 * sqrt(n2) + 1e-30,
				  "kind %d: norm %g, want %g", (int) kinds[k], (double) norm, sqrt(n2));
		}
		ck_assert(rv_code_encode(RV_CODE_FLOAT32, x, dim, code));
		rv_code_error(RV_CODE_FLOAT32, code, dim, &err, &norm);
		ck_assert(err == 0.0f);
		ck_assert(rv_code_encode(RV_CODE_BINARY, x, dim, code));
		rv_code_error(RV_CODE_BINARY, code, dim, &err, &norm);
		ck_assert(isinf(err));
	}
	x[0] = 1e6f;
	x[1] = 1.0f;
	ck_assert(rv_code_encode(RV_CODE_FLOAT16, x, 2, code));
	rv_code_error(RV_CODE_FLOAT16, code, 2, &err, &norm);
	ck_assert(isinf(err));
}
END_TEST

/* Edges: constant vectors, huge ranges, saturation, refusal. */
START_TEST(test_codes_edges)
{
	float		c[5] = {2.5f, 2.5f, 2.5f, 2.5f, 2.5f};
	float		huge[3] = {-1.5e38f, 0.0f, 1.5e38f};
	float		toowide[2] = {-3e38f, 3e38f};
	float		big[2] = {1e6f, -1e6f};
	float		bad[2] = {1.0f, NAN};
	float		dec[5];
	uint8_t		code[64];
	RvCodeQuery cq;

	ck_assert(rv_code_encode(RV_CODE_SQ8, c, 5, code));
	rv_code_decode(RV_CODE_SQ8, code, 5, dec);
	for (int i = 0; i < 5; i++)
		ck_assert_float_eq(dec[i], 2.5f);
	rv_code_query_init(&cq, RV_CODE_SQ8, RV_CODE_L2SQ, c, 5, NULL);
	ck_assert_float_eq_tol(rv_code_distance(&cq, code), 0.0f, 1e-4f);

	ck_assert(rv_code_encode(RV_CODE_SQ8, huge, 3, code));
	rv_code_decode(RV_CODE_SQ8, code, 3, dec);
	CHECK(fabsf(dec[2] - 1.5e38f) < 1e36f && fabsf(dec[0] + 1.5e38f) < 1e36f,
		  "huge range decoded as %g .. %g", dec[0], dec[2]);

	ck_assert(rv_code_encode(RV_CODE_FLOAT16, big, 2, code));
	rv_code_decode(RV_CODE_FLOAT16, code, 2, dec);
	ck_assert_float_eq(dec[0], 65504.0f);
	ck_assert_float_eq(dec[1], -65504.0f);

	ck_assert(!rv_code_encode(RV_CODE_SQ8, bad, 2, code));
	ck_assert(!rv_code_encode(RV_CODE_SQ8, toowide, 2, code));
	ck_assert(rv_code_encode(RV_CODE_SQ8, c, 0, code));
}
END_TEST

/* The AVX2 byte dot product agrees with the reference. */
START_TEST(test_codes_sq8_simd)
{
	float		q[1000];
	uint8_t		c[1001];

	if (!rv_cpu_has_avx2())
		return;
	for (int n = 0; n <= 1000; n += (n < 40 ? 1 : 97))
	{
		for (int i = 0; i < n; i++)
		{
			q[i] = urand(-2, 2);
			c[i + 1] = (uint8_t) urand(0, 256);
		}
		{
			float		a = rv_sq8_dot_scalar(q, c + 1, n);
			float		b = rv_sq8_dot_avx2(q, c + 1, n);

			CHECK(fabsf(a - b) <= 1e-5f * (n * 255.0f * 2 + 1),
				  "n %d: scalar %.9g, avx2 %.9g", n, a, b);
		}
	}
}
END_TEST

/*
 * rv_code_distance_codes (the HNSW build's code-to-code distance) equals
 * the long way, a query made from a's decoding, bit for bit, for float16;
 * the other kinds decline.
 */
START_TEST(test_codes_distance_codes)
{
	enum
	{
		DIM = 203
	};
	float		x[DIM],
				y[DIM],
				xd[DIM];
	rv_half		a[DIM],
				b[DIM],
				work[DIM];
	uint8_t		sq8a[4096],
				sq8b[4096];
	float		d;

	for (int round = 0; round < 50; round++)
	{
		for (int i = 0; i < DIM; i++)
		{
			x[i] = urand(-3, 3);
			y[i] = round % 5 == 0 ? x[i] : urand(-3, 3);
		}
		x[round % DIM] = round % 7 == 0 ? 1e6f : x[round % DIM];	/* saturates */
		CHECK(rv_code_encode(RV_CODE_FLOAT16, x, DIM, a), "encode x");
		CHECK(rv_code_encode(RV_CODE_FLOAT16, y, DIM, b), "encode y");
		rv_code_decode(RV_CODE_FLOAT16, a, DIM, xd);
		for (size_t m = 0; m < sizeof(all_metrics) / sizeof(all_metrics[0]); m++)
		{
			RvCodeQuery q;
			float		want;

			rv_code_query_init(&q, RV_CODE_FLOAT16, all_metrics[m], xd, DIM, work);
			want = rv_code_distance(&q, b);
			CHECK(rv_code_distance_codes(RV_CODE_FLOAT16, all_metrics[m], a, b, DIM, &d),
				  "float16 declined");
			CHECK(memcmp(&d, &want, sizeof(float)) == 0,
				  "round %d metric %d: %.9g, long way %.9g", round, (int) all_metrics[m], d, want);
		}
	}
	CHECK(rv_code_encode(RV_CODE_SQ8, x, DIM, sq8a) && rv_code_encode(RV_CODE_SQ8, y, DIM, sq8b),
		  "encode sq8");
	CHECK(!rv_code_distance_codes(RV_CODE_SQ8, RV_CODE_L2SQ, sq8a, sq8b, DIM, &d), "sq8 accepted");
	CHECK(!rv_code_distance_codes(RV_CODE_BINARY, RV_CODE_L2SQ, sq8a, sq8b, DIM, &d),
		  "binary accepted");
}
END_TEST

/* sq8 and float16 keep the true nearest neighbour in their top 10. */
START_TEST(test_codes_ranking)
{
	enum
	{
		N = 2000, D = 64, Q = 40
	};
	static float data[N * D],
				q[D];
	static uint8_t codes[N * (D * 2 + 12)];
	static double dist[N];
	const RvCodeKind kinds[2] = {RV_CODE_SQ8, RV_CODE_FLOAT16};

	RvDistanceInit();
	for (int i = 0; i < N * D; i++)
		data[i] = urand(-1, 1);
	for (int k = 0; k < 2; k++)
	{
		size_t		cs = rv_code_size(kinds[k], D);
		int			hits = 0;
		uint8_t		ws[D * 2];

		for (int i = 0; i < N; i++)
			ck_assert(rv_code_encode(kinds[k], data + i * D, D, codes + i * cs));
		for (int t = 0; t < Q; t++)
		{
			int			best = 0;
			int			rank = 0;
			RvCodeQuery cq;

			for (int j = 0; j < D; j++)
				q[j] = urand(-1, 1);
			for (int i = 0; i < N; i++)
			{
				dist[i] = ref_distance(RV_CODE_L2SQ, q, data + i * D, D);
				if (dist[i] < dist[best])
					best = i;
			}
			rv_code_query_init(&cq, kinds[k], RV_CODE_L2SQ, q, D, ws);
			{
				float		bd = rv_code_distance(&cq, codes + best * cs);

				for (int i = 0; i < N; i++)
					if (rv_code_distance(&cq, codes + i * cs) < bd)
						rank++;
			}
			hits += rank < 10;
		}
		CHECK(hits >= Q - 1, "kind %d: nearest in top 10 for %d of %d queries",
			  kinds[k], hits, Q);
	}
}
END_TEST

Suite *
codes_suite(void)
{
	Suite	   *s = suite_create("codes");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_codes_sizes);
	tcase_add_test(tc, test_codes_distances);
	tcase_add_test(tc, test_codes_roundtrip);
	tcase_add_test(tc, test_codes_error_bound);
	tcase_add_test(tc, test_codes_edges);
	tcase_add_test(tc, test_codes_sq8_simd);
	tcase_add_test(tc, test_codes_ranking);
	tcase_add_test(tc, test_codes_distance_codes);
	suite_add_tcase(s, tc);
	return s;
}
