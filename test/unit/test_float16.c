/*-------------------------------------------------------------------------
 *
 * test_float16.c
 *	  Check suite "float16": the IEEE binary16 codec in src/quant/float16.c
 *	  and its F16C batch path.
 *
 * NOTES
 *	  Widening is checked for all 65536 half patterns against a value
 *	  computed independently from the bit fields (ldexp), and narrowing
 *	  back must give the same pattern (NaN: a NaN of the same sign; a
 *	  quiet NaN exactly).  Narrowing is checked around every rounding
 *	  point: for each pair of neighbouring halves, the float midpoint
 *	  (which must go to the even one) and the floats one ulp either side.
 *	  Then the named edge cases: overflow, subnormals, signed zero, NaN.
 *
 *	  Where the CPU has F16C, the hardware instructions are a second,
 *	  independent implementation: the batch paths must equal the scalar
 *	  codec bit for bit on all halves and on millions of random float
 *	  bit patterns (every class: NaN, Inf, subnormal, out of range).
 *	  Without F16C those checks print a note and are skipped.
 *
 * IDENTIFICATION
 *	  test/unit/test_float16.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "quant/quant.h"
#include "distance/distance.h"
#include "distance/distance_isa.h"

/*
 * Check in hot loops: ck_assert_* records a "last passed point" through a
 * pipe on every success, a system call each; this only calls Check on a
 * failure, so millions of comparisons stay cheap.
 */
#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

static uint32_t
fbits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float
bitsf(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static uint64_t
next_rand(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The value of a non-NaN half from its fields, not from the codec. */
static double
half_value(uint16_t h)
{
	int			sign = h >> 15;
	int			exp = (h >> 10) & 0x1F;
	int			man = h & 0x3FF;
	double		mag;

	if (exp == 0x1F)
		mag = INFINITY;
	else if (exp == 0)
		mag = ldexp(man, -24);
	else
		mag = ldexp(1024 + man, exp - 25);
	return sign ? -mag : mag;
}

static int
f16c_available(void)
{
	if (rv_cpu_has_avx2())
		return 1;
	printf("NOTE float16: this CPU has no F16C (AVX2 set); hardware comparison skipped\n");
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------------
 * Every half pattern
 * ------------------------------------------------------------------------
 */

START_TEST(test_all_halves_roundtrip)
{
	uint32_t	h;

	for (h = 0; h <= 0xFFFF; h++)
	{
		float		f = rv_half_to_float((rv_half) h);
		rv_half		back = rv_float_to_half(f);

		if (rv_half_is_nan((rv_half) h))
		{
			CHECK(isnan(f), "half %04x widened to non-NaN", h);
			CHECK(!!signbit(f) == ((h & 0x8000) != 0), "half %04x lost its sign", h);
			CHECK(rv_half_is_nan(back) && (back & 0x8000) == (h & 0x8000),
						  "NaN %04x came back as %04x", h, back);
			/* payload kept; a quiet NaN (bit 9 set) comes back unchanged */
			CHECK(back == (h | 0x0200), "NaN %04x came back as %04x", h, back);
		}
		else
		{
			CHECK((double) f == half_value((uint16_t) h),
						  "half %04x widened to %.9g, want %.9g", h, f, half_value((uint16_t) h));
			/* distinguishes -0 from +0 too */
			CHECK(!!signbit(f) == ((h & 0x8000) != 0), "half %04x sign", h);
			CHECK(back == h, "half %04x round-tripped to %04x", h, back);
		}
	}
}
END_TEST

/*
 * For every pair of neighbouring non-negative halves (lo, lo+1), including
 * the last finite one and Inf: the midpoint goes to the even one, one float
 * ulp below it to lo, one above to lo+1.  Negative values mirror it.
 */
START_TEST(test_rounding_points)
{
	uint32_t	lo;

	for (lo = 0; lo < 0x7C00; lo++)
	{
		double		a = half_value((uint16_t) lo);
		/* above 65504 the next step would be 2^16, which rounds to Inf */
		double		b = lo == 0x7BFF ? 65536.0 : half_value((uint16_t) (lo + 1));
		float		mid = (float) ((a + b) / 2);	/* 12 significant bits: exact */
		uint32_t	even = (lo & 1) ? lo + 1 : lo;
		int			s;

		CHECK((double) mid == (a + b) / 2, "midpoint above %04x not exact", lo);
		for (s = 0; s < 2; s++)
		{
			uint16_t	sign = s ? 0x8000 : 0;
			float		m = s ? -mid : mid;
			float		below = nextafterf(m, 0.0f);
			float		above = nextafterf(m, s ? -INFINITY : INFINITY);

			CHECK(rv_float_to_half(m) == (sign | even),
						  "midpoint %.9g -> %04x, want %04x", m, rv_float_to_half(m), sign | even);
			CHECK(rv_float_to_half(below) == (sign | lo),
						  "%.9g -> %04x, want %04x", below, rv_float_to_half(below), sign | lo);
			CHECK(rv_float_to_half(above) == (sign | (lo + 1)),
						  "%.9g -> %04x, want %04x", above, rv_float_to_half(above), sign | (lo + 1));
		}
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * Named cases
 * ------------------------------------------------------------------------
 */

START_TEST(test_overflow)
{
	ck_assert_uint_eq(rv_float_to_half(65504.0f), 0x7BFF);
	ck_assert_float_eq(rv_half_to_float(0x7BFF), RV_HALF_MAX);
	ck_assert_uint_eq(rv_float_to_half(65519.0f), 0x7BFF);	/* rounds down to max */
	ck_assert_uint_eq(rv_float_to_half(65519.996f), 0x7BFF);
	ck_assert_uint_eq(rv_float_to_half(65520.0f), 0x7C00);	/* tie to even: 2^16 -> Inf */
	ck_assert_uint_eq(rv_float_to_half(-65520.0f), 0xFC00);
	ck_assert_uint_eq(rv_float_to_half(-65519.0f), 0xFBFF);
	ck_assert_uint_eq(rv_float_to_half(65536.0f), 0x7C00);
	ck_assert_uint_eq(rv_float_to_half(1e10f), 0x7C00);
	ck_assert_uint_eq(rv_float_to_half(FLT_MAX), 0x7C00);
	ck_assert_uint_eq(rv_float_to_half(-FLT_MAX), 0xFC00);
	ck_assert_uint_eq(rv_float_to_half(INFINITY), 0x7C00);
	ck_assert_uint_eq(rv_float_to_half(-INFINITY), 0xFC00);
	ck_assert(rv_half_is_inf(rv_float_to_half(1e5f)));
	ck_assert(!rv_half_is_inf(rv_float_to_half(65519.0f)));
	ck_assert(isinf(rv_half_to_float(0x7C00)) && rv_half_to_float(0x7C00) > 0);
	ck_assert(isinf(rv_half_to_float(0xFC00)) && rv_half_to_float(0xFC00) < 0);
}
END_TEST

START_TEST(test_ties_to_even)
{
	/* 1 + 2^-11 is halfway between 1 and 1 + 2^-10: stays on 1 (even) */
	ck_assert_uint_eq(rv_float_to_half(1.0f + 0x1p-11f), 0x3C00);
	/* 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9: goes up */
	ck_assert_uint_eq(rv_float_to_half(1.0f + 3 * 0x1p-11f), 0x3C02);
	/* integers above 2048 are spaced by 2 */
	ck_assert_float_eq(rv_half_to_float(rv_float_to_half(2049.0f)), 2048.0f);
	ck_assert_float_eq(rv_half_to_float(rv_float_to_half(2051.0f)), 2052.0f);
	ck_assert_float_eq(rv_half_to_float(rv_float_to_half(2050.0f)), 2050.0f);
	/* just off a tie goes to the nearer */
	ck_assert_float_eq(rv_half_to_float(rv_float_to_half(2049.001f)), 2050.0f);
	ck_assert_float_eq(rv_half_to_float(rv_float_to_half(-2048.999f)), -2048.0f);
	/* 0.1 is not a half: the nearest is 0x2E66 = 0.0999755859375 */
	ck_assert_uint_eq(rv_float_to_half(0.1f), 0x2E66);
	ck_assert_uint_eq(rv_float_to_half(1.0f), 0x3C00);
	ck_assert_uint_eq(rv_float_to_half(-2.0f), 0xC000);
	ck_assert_uint_eq(rv_float_to_half(0.5f), 0x3800);
	/* a carry out of the mantissa bumps the exponent: 2047.9 -> 2048 */
	ck_assert_uint_eq(rv_float_to_half(2047.9f), 0x6800);
}
END_TEST

START_TEST(test_subnormals)
{
	ck_assert_float_eq(rv_half_to_float(0x0001), 0x1p-24f);
	ck_assert_float_eq(rv_half_to_float(0x03FF), 1023 * 0x1p-24f);
	ck_assert_float_eq(rv_half_to_float(0x0400), 0x1p-14f);
	ck_assert_float_eq(rv_half_to_float(0x8001), -0x1p-24f);

	ck_assert_uint_eq(rv_float_to_half(0x1p-24f), 0x0001);
	ck_assert_uint_eq(rv_float_to_half(0x1p-14f), 0x0400);
	ck_assert_uint_eq(rv_float_to_half(1023 * 0x1p-24f), 0x03FF);
	/* halfway from the largest subnormal to the least normal: to 0x0400 (even) */
	ck_assert_uint_eq(rv_float_to_half(1023.5f * 0x1p-24f), 0x0400);
	/* 2^-25 is halfway from 0 to the least subnormal: to 0 (even) */
	ck_assert_uint_eq(rv_float_to_half(0x1p-25f), 0x0000);
	ck_assert_uint_eq(rv_float_to_half(-0x1p-25f), 0x8000);
	ck_assert_uint_eq(rv_float_to_half(nextafterf(0x1p-25f, 1.0f)), 0x0001);
	/* 3*2^-25 is halfway from 1 (odd) to 2 units: to 2 */
	ck_assert_uint_eq(rv_float_to_half(3 * 0x1p-25f), 0x0002);
	ck_assert_uint_eq(rv_float_to_half(5 * 0x1p-25f), 0x0002);
	/* far below: float subnormals and tiny normals flush to signed zero */
	ck_assert_uint_eq(rv_float_to_half(1e-30f), 0x0000);
	ck_assert_uint_eq(rv_float_to_half(-1e-30f), 0x8000);
	ck_assert_uint_eq(rv_float_to_half(FLT_TRUE_MIN), 0x0000);
	ck_assert_uint_eq(rv_float_to_half(-FLT_TRUE_MIN), 0x8000);
}
END_TEST

START_TEST(test_signed_zero_and_nan)
{
	float		nz = rv_half_to_float(0x8000);

	ck_assert(nz == 0.0f && signbit(nz));
	ck_assert(!signbit(rv_half_to_float(0x0000)));
	ck_assert_uint_eq(rv_float_to_half(-0.0f), 0x8000);
	ck_assert_uint_eq(rv_float_to_half(0.0f), 0x0000);

	ck_assert(rv_half_is_nan(rv_float_to_half(NAN)));
	ck_assert(rv_half_is_nan(rv_float_to_half(-NAN)));
	ck_assert_uint_eq(rv_float_to_half(-NAN) & 0x8000, 0x8000);
	/* a float NaN whose payload is all in the dropped low bits stays NaN */
	ck_assert_uint_eq(rv_float_to_half(bitsf(0x7F800001u)), 0x7E00);
	ck_assert_uint_eq(rv_float_to_half(bitsf(0xFF812345u)), 0xFE09);
	ck_assert(!rv_half_is_nan(0x7C00) && rv_half_is_inf(0x7C00) && rv_half_is_inf(0xFC00));
	ck_assert(rv_half_is_nan(0x7C01) && rv_half_is_nan(0xFE00) && !rv_half_is_inf(0x7E00));
	ck_assert(isnan(rv_half_to_float(0x7C01)));
	ck_assert_uint_eq(fbits(rv_half_to_float(0x7E00)), 0x7FC00000u);
}
END_TEST

/* ------------------------------------------------------------------------
 * Batch conversions: F16C against the scalar codec, bit for bit
 * ------------------------------------------------------------------------
 */

START_TEST(test_f16c_all_halves)
{
	rv_half    *h = malloc(sizeof(rv_half) * 65536);
	float	   *hw = malloc(sizeof(float) * 65536);
	uint32_t	i;

	if (f16c_available())
	{
		for (i = 0; i < 65536; i++)
			h[i] = (rv_half) i;
		rv_f16c_half_to_float_n(h, hw, 65536);
		for (i = 0; i < 65536; i++)
			CHECK(fbits(hw[i]) == fbits(rv_half_to_float(h[i])),
						  "half %04x: F16C %08x scalar %08x", i, fbits(hw[i]),
						  fbits(rv_half_to_float(h[i])));
	}
	free(h);
	free(hw);
}
END_TEST

/* Float bit patterns from every class, with many near the half range. */
static float
rand_float_bits(uint64_t *st)
{
	uint64_t	r = next_rand(st);
	uint32_t	u = (uint32_t) r;

	switch ((r >> 32) & 3)
	{
		case 0:
			return bitsf(u);	/* anything, NaN and Inf included */
		case 1:
			/* exponent within the half range and a little beyond */
			return bitsf((u & 0x807FFFFFu) | ((uint32_t) (100 + (r >> 40) % 45) << 23));
		case 2:
			return (float) ((double) (int32_t) u / 16384.0);	/* |x| < 131072 */
		default:
			return bitsf(u & 0x80FFFFFFu);	/* float subnormals and tiny normals */
	}
}

START_TEST(test_f16c_random_floats)
{
	const size_t n = 4000000;
	float	   *f = malloc(sizeof(float) * n);
	rv_half    *hw = malloc(sizeof(rv_half) * n);
	uint64_t	st = 2024;
	size_t		i;

	if (f16c_available())
	{
		for (i = 0; i < n; i++)
			f[i] = rand_float_bits(&st);
		rv_f16c_float_to_half_n(f, hw, n);
		for (i = 0; i < n; i++)
			CHECK(hw[i] == rv_float_to_half(f[i]),
						  "float %08x: F16C %04x scalar %04x", fbits(f[i]), hw[i],
						  rv_float_to_half(f[i]));
	}
	free(f);
	free(hw);
}
END_TEST

/*
 * Every one of the 2^32 float patterns, F16C against the scalar codec.
 * About ten seconds, so only when RV_TEST_EXHAUSTIVE is set; otherwise
 * a note says it was skipped.
 */
START_TEST(test_f16c_every_float)
{
	const size_t chunk = 1 << 20;
	float	   *f = malloc(sizeof(float) * chunk);
	rv_half    *hw = malloc(sizeof(rv_half) * chunk);
	uint64_t	base;
	size_t		i;

	if (getenv("RV_TEST_EXHAUSTIVE") == NULL)
		printf("NOTE float16: set RV_TEST_EXHAUSTIVE=1 to compare all 2^32 floats with F16C\n");
	else if (f16c_available())
	{
		for (base = 0; base < ((uint64_t) 1 << 32); base += chunk)
		{
			for (i = 0; i < chunk; i++)
				f[i] = bitsf((uint32_t) (base + i));
			rv_f16c_float_to_half_n(f, hw, chunk);
			for (i = 0; i < chunk; i++)
				CHECK(hw[i] == rv_float_to_half(f[i]), "float %08x: F16C %04x scalar %04x",
					  fbits(f[i]), hw[i], rv_float_to_half(f[i]));
		}
	}
	free(f);
	free(hw);
}
END_TEST

/*
 * The public batch functions, through whichever path the active table
 * selects, for every short length (tails) and a long one, both ways.
 */
static void
check_batch_lengths(void)
{
	float		in[300],
				out[300];
	rv_half		h[300],
				hback[300];
	uint64_t	st = 5;
	size_t		n,
				i;

	for (i = 0; i < 300; i++)
		in[i] = rand_float_bits(&st);
	for (n = 0; n <= 300; n += (n < 40 ? 1 : 37))
	{
		/* sentinels after the end must survive */
		if (n < 300)
		{
			h[n] = 0xABCD;
			out[n] = 1234.5f;
		}
		rv_float_to_half_n(in, h, n);
		for (i = 0; i < n; i++)
			CHECK(h[i] == rv_float_to_half(in[i]), "n=%zu i=%zu narrowing", n, i);
		rv_half_to_float_n(h, out, n);
		for (i = 0; i < n; i++)
			CHECK(fbits(out[i]) == fbits(rv_half_to_float(h[i])), "n=%zu i=%zu widening", n, i);
		rv_float_to_half_n(out, hback, n);
		for (i = 0; i < n; i++)
			CHECK(hback[i] == h[i], "n=%zu i=%zu round trip %04x -> %04x", n, i, h[i], hback[i]);
		if (n < 300)
		{
			ck_assert_uint_eq(h[n], 0xABCD);
			ck_assert_float_eq(out[n], 1234.5f);
		}
	}
}

START_TEST(test_batch_paths)
{
	const char *isas[3] = {"scalar", "avx2", "avx512"};
	const RvKernels *saved = rv_kernels;
	int			i;

	for (i = 0; i < 3; i++)
	{
		const RvKernels *k = rv_kernels_lookup(isas[i]);

		if (k == NULL)
		{
			printf("NOTE float16: no %s on this CPU; its batch path is not tested\n", isas[i]);
			continue;
		}
		rv_kernels = k;
		check_batch_lengths();
	}
	rv_kernels = saved;
}
END_TEST

Suite *
float16_suite(void)
{
	Suite	   *s = suite_create("float16");
	TCase	   *tc = tcase_create("float16");

	tcase_set_timeout(tc, getenv("RV_TEST_EXHAUSTIVE") ? 600 : 60);
	tcase_add_test(tc, test_all_halves_roundtrip);
	tcase_add_test(tc, test_rounding_points);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_ties_to_even);
	tcase_add_test(tc, test_subnormals);
	tcase_add_test(tc, test_signed_zero_and_nan);
	tcase_add_test(tc, test_f16c_all_halves);
	tcase_add_test(tc, test_f16c_random_floats);
	tcase_add_test(tc, test_f16c_every_float);
	tcase_add_test(tc, test_batch_paths);
	suite_add_tcase(s, tc);
	return s;
}
