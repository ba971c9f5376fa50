/*-------------------------------------------------------------------------
 *
 * test_sq8_pq.c
 *	  Check suite "sq8_pq": the SQ8 codec (src/quant/sq8.c) and product
 *	  quantization training, encoding and decoding (src/quant/pq.c).
 *
 * NOTES
 *	  SQ8 is checked against its contract rather than against another
 *	  implementation: the stored offset is a half not above the minimum,
 *	  offset + 255 * scale covers the maximum, and every decoded component
 *	  is within scale / 2 of the input (plus one float rounding).  Vectors
 *	  that cannot be represented must be refused, not mangled.
 *
 *	  PQ is checked on data whose answer is known: rows drawn from k exact
 *	  centroids per sub-space must train to a codebook that reproduces every
 *	  row exactly; uneven sub-vector splits must tile the dimensions; the
 *	  same seed must give the same codebook; training on real-looking noise
 *	  must beat the one-centroid (mean) quantizer by a wide margin.  The
 *	  learned rotation must be orthogonal and place strong components in
 *	  small sub-spaces; direction coding must never lose cosine to nearest-
 *	  centroid coding and must code a decoded direction back to itself.
 *
 * IDENTIFICATION
 *	  test/unit/test_sq8_pq.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "quant/quant.h"

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

static uint64_t test_rng = 88172645463325252ULL;

static uint64_t
next_u64(void)
{
	test_rng ^= test_rng << 13;
	test_rng ^= test_rng >> 7;
	test_rng ^= test_rng << 17;
	return test_rng;
}

/* Uniform in [lo, hi). */
static float
uniform(float lo, float hi)
{
	return lo + (hi - lo) * (float) ((next_u64() >> 11) * (1.0 / 9007199254740992.0));
}

/* Check the SQ8 contract for one vector. */
static void
check_sq8_roundtrip(const float *x, size_t dim)
{
	rv_half		off;
	rv_half		scale;
	uint8_t    *codes = malloc(dim ? dim : 1);
	float	   *out = malloc(sizeof(float) * (dim ? dim : 1));
	float		lo = INFINITY,
				hi = -INFINITY;
	float		s;

	ck_assert(rv_sq8_encode(x, dim, &off, &scale, codes));
	rv_sq8_decode(off, scale, codes, dim, out);
	s = rv_half_to_float(scale);
	CHECK(s >= 0.0f, "negative scale %g", s);
	for (size_t i = 0; i < dim; i++)
	{
		/* scale / 2, plus a few float ulps of the magnitudes involved */
		float		tol = s / 2 + (fabsf(x[i]) + fabsf(rv_half_to_float(off)) +
								   255.0f * s) * 5e-7f + 1e-30f;

		lo = fminf(lo, x[i]);
		hi = fmaxf(hi, x[i]);
		CHECK(fabsf(out[i] - x[i]) <= tol,
			  "component %zu: %.9g decoded as %.9g (scale %g)", i, x[i], out[i], s);
	}
	if (dim > 0)
	{
		CHECK(rv_half_to_float(off) <= lo, "offset %g above minimum %g",
			  rv_half_to_float(off), lo);
		CHECK(rv_half_to_float(off) + 255.0f * s >=
			  hi - (fabsf(hi) + fabsf(lo)) * 1e-6f - 1e-30f,
			  "range [%g, %g] does not cover maximum %g",
			  rv_half_to_float(off), rv_half_to_float(off) + 255 * s, hi);
	}
	free(codes);
	free(out);
}

START_TEST(test_sq8_random)
{
	float		x[768];

	for (int rep = 0; rep < 2000; rep++)
	{
		size_t		dim = 1 + next_u64() % 768;
		float		mag = powf(10.0f, uniform(-4.0f, 3.0f));
		float		shift = uniform(-2.0f, 2.0f) * mag;

		for (size_t i = 0; i < dim; i++)
			x[i] = shift + uniform(-mag, mag);
		check_sq8_roundtrip(x, dim);
	}
}
END_TEST

START_TEST(test_sq8_edges)
{
	float		constant[16];
	float		tiny[4] = {1e-6f, 2e-6f, -3e-6f, 0.0f};
	float		span[3] = {-65000.0f, 0.0f, 65000.0f};
	float		single = 3.14159f;
	float		signs[4] = {-1.0f, -0.5f, 0.5f, 1.0f};
	uint8_t		codes[16];
	rv_half		off,
				scale;

	for (int i = 0; i < 16; i++)
		constant[i] = 0.1f;
	check_sq8_roundtrip(constant, 16);
	check_sq8_roundtrip(tiny, 4);
	check_sq8_roundtrip(span, 3);
	check_sq8_roundtrip(&single, 1);
	check_sq8_roundtrip(signs, 4);

	/* The extremes map to the first and last code. */
	ck_assert(rv_sq8_encode(signs, 4, &off, &scale, codes));
	ck_assert_uint_eq(codes[0], 0);
	ck_assert_uint_eq(codes[3], 255);
}
END_TEST

START_TEST(test_sq8_refuses)
{
	float		x[3] = {1.0f, 2.0f, 3.0f};
	uint8_t		codes[3];
	rv_half		off,
				scale;

	x[1] = NAN;
	ck_assert(!rv_sq8_encode(x, 3, &off, &scale, codes));
	x[1] = INFINITY;
	ck_assert(!rv_sq8_encode(x, 3, &off, &scale, codes));
	x[1] = -70000.0f;			/* offset beyond the half range */
	ck_assert(!rv_sq8_encode(x, 3, &off, &scale, codes));
	x[0] = x[1] = x[2] = 70000.0f;
	ck_assert(!rv_sq8_encode(x, 3, &off, &scale, codes));
	x[0] = 0.0f;
	x[1] = 2e7f;				/* scale 2e7 / 255 is beyond the half range */
	ck_assert(!rv_sq8_encode(x, 3, &off, &scale, codes));

	/* A wide range with a small offset is representable. */
	x[1] = 1e6f;
	x[2] = 1.0f;
	check_sq8_roundtrip(x, 3);
}
END_TEST

START_TEST(test_pq_sub_split)
{
	int			dims[] = {1, 2, 3, 7, 100, 768, 1000};

	for (size_t t = 0; t < sizeof(dims) / sizeof(dims[0]); t++)
	{
		int			dim = dims[t];

		for (int m = 1; m <= dim && m <= 300; m++)
		{
			int			minlen = dim,
						maxlen = 0;

			ck_assert_int_eq(rv_pq_sub_start(dim, m, 0), 0);
			ck_assert_int_eq(rv_pq_sub_start(dim, m, m), dim);
			for (int j = 0; j < m; j++)
			{
				int			len = rv_pq_sub_start(dim, m, j + 1) - rv_pq_sub_start(dim, m, j);

				minlen = len < minlen ? len : minlen;
				maxlen = len > maxlen ? len : maxlen;
			}
			CHECK(minlen >= 1 && maxlen - minlen <= 1,
				  "dim %d m %d: sub-vector lengths %d..%d", dim, m, minlen, maxlen);
		}
	}
}
END_TEST

/*
 * Rows built from a known codebook: each sub-vector is one of k fixed
 * points.  Training must find those points, so every row round-trips.
 */
START_TEST(test_pq_recovers_exact_codebook)
{
	enum
	{
		DIM = 10, M = 4, K = 8, N = 800
	};
	float		truth[K * DIM];
	float	   *data = malloc(sizeof(float) * N * DIM);
	float		cb[K * DIM];
	void	   *ws = malloc(rv_pq_train_workspace(N, DIM, M, K));
	uint8_t		codes[M];
	float		out[DIM];

	for (int i = 0; i < K * DIM; i++)
		truth[i] = (float) (next_u64() % 1000) - 500.0f;
	for (int r = 0; r < N; r++)
	{
		for (int j = 0; j < M; j++)
		{
			int			start = rv_pq_sub_start(DIM, M, j);
			int			d = rv_pq_sub_start(DIM, M, j + 1) - start;
			int			c = (int) (next_u64() % K);

			memcpy(data + (size_t) r * DIM + start, truth + K * start + c * d,
				   sizeof(float) * d);
		}
	}

	ck_assert(rv_pq_train(data, N, DIM, M, K, 50, 42, cb, ws));
	for (int r = 0; r < N; r++)
	{
		rv_pq_encode(cb, DIM, M, K, data + (size_t) r * DIM, codes);
		rv_pq_decode(cb, DIM, M, K, codes, out);
		for (int i = 0; i < DIM; i++)
			CHECK(out[i] == data[(size_t) r * DIM + i],
				  "row %d dim %d: %g decoded as %g", r, i, data[(size_t) r * DIM + i], out[i]);
	}
	free(data);
	free(ws);
}
END_TEST

START_TEST(test_pq_deterministic_and_better_than_mean)
{
	enum
	{
		DIM = 16, M = 8, K = 32, N = 2000
	};
	float	   *data = malloc(sizeof(float) * N * DIM);
	float		cb1[K * DIM],
				cb2[K * DIM];
	float		mean[DIM] = {0};
	void	   *ws = malloc(rv_pq_train_workspace(N, DIM, M, K));
	double		err_pq = 0,
				err_mean = 0;

	for (int i = 0; i < N * DIM; i++)
		data[i] = uniform(-1.0f, 1.0f) + (i % DIM) * 0.1f;
	for (int r = 0; r < N; r++)
		for (int i = 0; i < DIM; i++)
			mean[i] += data[r * DIM + i] / N;

	ck_assert(rv_pq_train(data, N, DIM, M, K, 20, 7, cb1, ws));
	ck_assert(rv_pq_train(data, N, DIM, M, K, 20, 7, cb2, ws));
	ck_assert(memcmp(cb1, cb2, sizeof(cb1)) == 0);

	for (int r = 0; r < N; r++)
	{
		uint8_t		codes[M];
		float		out[DIM];

		rv_pq_encode(cb1, DIM, M, K, data + r * DIM, codes);
		for (int j = 0; j < M; j++)
			ck_assert_int_lt(codes[j], K);
		rv_pq_decode(cb1, DIM, M, K, codes, out);
		for (int i = 0; i < DIM; i++)
		{
			err_pq += (out[i] - data[r * DIM + i]) * (out[i] - data[r * DIM + i]);
			err_mean += (mean[i] - data[r * DIM + i]) * (mean[i] - data[r * DIM + i]);
		}
	}
	/* 32 centroids on 2-d uniform data: about 1/32 of the variance. */
	CHECK(err_pq < err_mean * 0.1, "pq error %g not well below mean error %g",
		  err_pq, err_mean);
	free(data);
	free(ws);
}
END_TEST

/* Few distinct rows: empty clusters must not break training or codes. */
START_TEST(test_pq_few_distinct_rows)
{
	enum
	{
		DIM = 4, M = 2, K = 16, N = 64
	};
	float		data[N * DIM];
	float		cb[K * DIM];
	void	   *ws = malloc(rv_pq_train_workspace(N, DIM, M, K));

	for (int r = 0; r < N; r++)
		for (int i = 0; i < DIM; i++)
			data[r * DIM + i] = (float) (r % 3);
	ck_assert(rv_pq_train(data, N, DIM, M, K, 10, 1, cb, ws));
	for (int r = 0; r < N; r++)
	{
		uint8_t		codes[M];
		float		out[DIM];

		rv_pq_encode(cb, DIM, M, K, data + r * DIM, codes);
		rv_pq_decode(cb, DIM, M, K, codes, out);
		for (int i = 0; i < DIM; i++)
			ck_assert(out[i] == data[r * DIM + i]);
	}
	free(ws);
}
END_TEST

START_TEST(test_pq_bad_arguments)
{
	float		data[8] = {0};
	float		cb[64];
	char		ws[4096];

	ck_assert(!rv_pq_train(data, 2, 4, 1, 4, 5, 1, cb, ws));	/* n < k */
	ck_assert(!rv_pq_train(data, 2, 4, 5, 1, 5, 1, cb, ws));	/* m > dim */
	ck_assert(!rv_pq_train(data, 2, 4, 0, 1, 5, 1, cb, ws));	/* m = 0 */
	ck_assert(!rv_pq_train(data, 2, 4, 2, 257, 5, 1, cb, ws));	/* k > 256 */
	ck_assert(!rv_pq_train(data, 2, 4, 2, 1, 0, 1, cb, ws));	/* no iterations */
	ck_assert(rv_pq_train(data, 2, 4, 2, 2, 5, 1, cb, ws));
}
END_TEST

/*
 * The rotation is orthogonal, undoes exactly (up to float rounding), and
 * sends the strongest direction of correlated data to a dimension of the
 * smallest sub-space: with 7 dimensions in m = 3 sub-spaces (2, 2, 3),
 * the two strongest components must land in the two 2-dimension ones.
 */
START_TEST(test_pq_rotation)
{
	enum
	{
		DIM = 7, M = 3, N = 3000
	};
	float	   *data = malloc(sizeof(float) * N * DIM);
	float		rot[DIM * DIM];
	void	   *ws = malloc(rv_pq_rotation_workspace(DIM));
	/* strongest along (1,1,0,...)/sqrt2, next along e6, the rest weak */
	const float s2 = 0.70710678f;

	for (int r = 0; r < N; r++)
	{
		float		a = uniform(-10.0f, 10.0f),
					b = uniform(-5.0f, 5.0f);
		float	   *x = data + r * DIM;

		for (int i = 0; i < DIM; i++)
			x[i] = uniform(-0.1f, 0.1f);
		x[0] += a * s2;
		x[1] += a * s2;
		x[6] += b;
	}
	ck_assert(rv_pq_rotation_train(data, N, DIM, M, rot, ws));

	/* R R^T = I */
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++)
		{
			double		dot = 0;

			for (int t = 0; t < DIM; t++)
				dot += (double) rot[i * DIM + t] * rot[j * DIM + t];
			CHECK(fabs(dot - (i == j)) < 1e-4, "R R^T [%d][%d] = %g", i, j, dot);
		}

	/* rotate then unrotate gives the input back */
	for (int r = 0; r < 20; r++)
	{
		float		y[DIM],
					back[DIM];

		rv_pq_rotate(rot, DIM, data + r * DIM, y);
		rv_pq_unrotate(rot, DIM, y, back);
		for (int i = 0; i < DIM; i++)
			CHECK(fabs(back[i] - data[r * DIM + i]) < 1e-4, "row %d dim %d: %g != %g",
				  r, i, back[i], data[r * DIM + i]);
	}

	/* sub-spaces: [0,2) [2,4) [4,7); the two strong axes are in 0..3 */
	ck_assert_int_eq(rv_pq_sub_start(DIM, M, 2), 4);
	{
		int			strong_a = -1,
					strong_b = -1;

		for (int s = 0; s < DIM; s++)
		{
			if (fabs(rot[s * DIM + 0] * s2 + rot[s * DIM + 1] * s2) > 0.99)
				strong_a = s;
			if (fabs(rot[s * DIM + 6]) > 0.99)
				strong_b = s;
		}
		CHECK(strong_a >= 0 && strong_a < 4, "strongest component at %d", strong_a);
		CHECK(strong_b >= 0 && strong_b < 4, "second component at %d", strong_b);
		/* and they do not share a sub-space (their variances are spread) */
		CHECK(strong_a / 2 != strong_b / 2, "both strong components in sub-space %d",
			  strong_a / 2);
	}
	free(data);
	free(ws);
}
END_TEST

/*
 * Workspace sizes are what training writes: each workspace is followed by
 * 4 KB of canary bytes that must come back untouched, for odd and even
 * dimensions and the m of the report that found the overflow (100-d,
 * m = 46).  rv_pq_rotation_workspace once left out dim doubles of its
 * layout, and training wrote them past the block ("double free or
 * corruption" in the server); under ASan the same test also fails on the
 * first byte written out of bounds.
 */
#define CANARY_BYTES 4096
#define CANARY_BYTE 0xA5

static void *
canary_alloc(size_t size)
{
	unsigned char *p = malloc(size + CANARY_BYTES);

	memset(p + size, CANARY_BYTE, CANARY_BYTES);
	return p;
}

static void
canary_check(void *block, size_t size, const char *what, int dim, int m)
{
	const unsigned char *p = (const unsigned char *) block + size;

	for (size_t i = 0; i < CANARY_BYTES; i++)
		CHECK(p[i] == CANARY_BYTE, "%s (dim %d, m %d): byte %zu past the %zu-byte workspace was written",
			  what, dim, m, i, size);
	free(block);
}

START_TEST(test_pq_workspace_bounds)
{
	static const int cases[][2] = {
		{1, 1}, {2, 1}, {3, 2}, {7, 3}, {17, 5}, {33, 33}, {64, 32}, {100, 46}, {101, 50}
	};

	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
	{
		int			dim = cases[ci][0],
					m = cases[ci][1],
					k = 16;
		size_t		n = 200;
		float	   *data = malloc(sizeof(float) * n * dim);
		float	   *rot = malloc(sizeof(float) * dim * dim);
		float	   *cb = malloc(sizeof(float) * k * dim);
		size_t		rsize = rv_pq_rotation_workspace(dim);
		size_t		tsize = rv_pq_train_workspace(n, dim, m, k);
		void	   *rws = canary_alloc(rsize);
		void	   *tws = canary_alloc(tsize);

		for (size_t i = 0; i < n * dim; i++)
			data[i] = uniform(-1.0f, 1.0f) * (float) (1 + i % 7);
		ck_assert(rv_pq_rotation_train(data, n, dim, m, rot, rws));
		canary_check(rws, rsize, "rotation", dim, m);
		ck_assert(rv_pq_train(data, n, dim, m, k, 5, 11, cb, tws));
		canary_check(tws, tsize, "training", dim, m);
		free(data);
		free(rot);
		free(cb);
	}
}
END_TEST

/*
 * Direction coding: the decoded direction is never further (in cosine)
 * from the input than the nearest-centroid code's, and is strictly closer
 * on average; encoding a decoded direction again gives the same codes.
 */
START_TEST(test_pq_encode_direction)
{
	enum
	{
		DIM = 24, M = 10, K = 32, N = 3000
	};
	float	   *data = malloc(sizeof(float) * N * DIM);
	float		cb[K * DIM];
	void	   *ws = malloc(rv_pq_train_workspace(N, DIM, M, K));
	double		sum_near = 0,
				sum_dir = 0;
	int			same = 0;

	for (int r = 0; r < N; r++)
	{
		double		len = 0;

		for (int i = 0; i < DIM; i++)
		{
			data[r * DIM + i] = uniform(-1.0f, 1.0f) + (i % 5) * 0.2f;
			len += (double) data[r * DIM + i] * data[r * DIM + i];
		}
		for (int i = 0; i < DIM; i++)
			data[r * DIM + i] /= (float) sqrt(len);
	}
	ck_assert(rv_pq_train(data, N, DIM, M, K, 15, 3, cb, ws));

	for (int r = 0; r < N; r++)
	{
		const float *x = data + r * DIM;
		uint8_t		c1[M],
					c2[M],
					c3[M];
		float		o1[DIM],
					o2[DIM];
		double		d1 = 0,
					l1 = 0,
					d2 = 0,
					l2 = 0;

		rv_pq_encode(cb, DIM, M, K, x, c1);
		rv_pq_encode_direction(cb, DIM, M, K, x, c2);
		rv_pq_decode(cb, DIM, M, K, c1, o1);
		rv_pq_decode(cb, DIM, M, K, c2, o2);
		for (int i = 0; i < DIM; i++)
		{
			d1 += (double) o1[i] * x[i];
			l1 += (double) o1[i] * o1[i];
			d2 += (double) o2[i] * x[i];
			l2 += (double) o2[i] * o2[i];
		}
		CHECK(d2 / sqrt(l2) >= d1 / sqrt(l1) - 1e-6, "row %d: cos %g < %g", r,
			  d2 / sqrt(l2), d1 / sqrt(l1));
		sum_near += d1 / sqrt(l1);
		sum_dir += d2 / sqrt(l2);

		/* the decoded direction, normalised, codes back to itself */
		for (int i = 0; i < DIM; i++)
			o2[i] = (float) (o2[i] / sqrt(l2));
		rv_pq_encode_direction(cb, DIM, M, K, o2, c3);
		same += memcmp(c2, c3, M) == 0;
	}
	CHECK(sum_dir > sum_near, "direction coding no better: %g vs %g", sum_dir, sum_near);
	CHECK(same >= N * 99 / 100, "only %d of %d decoded directions code back to themselves",
		  same, N);
	free(data);
	free(ws);
}
END_TEST

Suite *
sq8_pq_suite(void)
{
	Suite	   *s = suite_create("sq8_pq");
	TCase	   *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sq8_random);
	tcase_add_test(tc, test_sq8_edges);
	tcase_add_test(tc, test_sq8_refuses);
	tcase_add_test(tc, test_pq_sub_split);
	tcase_add_test(tc, test_pq_recovers_exact_codebook);
	tcase_add_test(tc, test_pq_deterministic_and_better_than_mean);
	tcase_add_test(tc, test_pq_few_distinct_rows);
	tcase_add_test(tc, test_pq_bad_arguments);
	tcase_add_test(tc, test_pq_rotation);
	tcase_add_test(tc, test_pq_workspace_bounds);
	tcase_add_test(tc, test_pq_encode_direction);
	suite_add_tcase(s, tc);
	return s;
}
