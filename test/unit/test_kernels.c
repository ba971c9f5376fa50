/*-------------------------------------------------------------------------
 *
 * test_kernels.c
 *	  Check suite "kernels": every distance kernel of every instruction set
 *	  this CPU supports, against the scalar reference and hand-computed
 *	  values.
 *
 * NOTES
 *	  A SIMD table the CPU cannot run is skipped with a printed note, never
 *	  passed silently.  Inputs come from a fixed-seed generator, so a
 *	  failure names a reproducible (isa, kernel, n, offset).
 *
 *	  What each test can prove:
 *	  - Small-integer inputs (-8..8): every partial sum is an integer below
 *	    2^24, so every summation order gives the same float.  SIMD must
 *	    equal scalar, and both must equal the integer sum, exactly.  This
 *	    is the sharp test for tails, offsets and lost or doubled elements.
 *	  - Random floats of mixed magnitude: only rounding differs.  With
 *	    u = 2^-24, forming one term costs at most 3u relative (difference,
 *	    square or product; FMA saves one rounding) and recursive or blocked
 *	    summation of n terms at most (n-1)u * sum|terms|, so each
 *	    implementation is within (n+2)u * S of the exact sum, S = sum of
 *	    |terms|, and two implementations within 2(n+2)u * S of each other.
 *	    That bound is checked, plus scalar against the exact (double) sum.
 *	  - Bit kernels are integer counts: exact equality, with a bit-by-bit
 *	    count as a third opinion.
 *	  - Vectors that end exactly at a PROT_NONE page: any read past the
 *	    last element faults, so the test proves tails stay in bounds.
 *
 * IDENTIFICATION
 *	  test/unit/test_kernels.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

#define MAXN		2000		/* longest vector tried */
#define MAXOFF		3			/* start offsets 0..3 elements */
#define UNIT_ROUND	5.9604644775390625e-08	/* u = 2^-24 */

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------
 */

/* splitmix64: small, fast, good enough for test data */
static uint64_t
next_rand(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform in [-1, 1) times 2^k, k in -4..4: mixed magnitudes */
static float
rand_float(uint64_t *state)
{
	uint64_t	r = next_rand(state);
	float		x = (float) ((double) (r >> 11) * 0x1p-53 * 2.0 - 1.0);

	return ldexpf(x, (int) (r & 7) - 4);
}

static int
rand_small_int(uint64_t *state)
{
	return (int) (next_rand(state) % 17) - 8;
}

/*
 * The SIMD tables to test, in order.  Returns the table or NULL, printing
 * once per process why an ISA is skipped.
 */
static const char *const simd_names[] = {"avx2", "avx512"};
#define N_SIMD 2

static const RvKernels *
simd_table(int i)
{
	static int	noted[N_SIMD];
	const RvKernels *k = rv_kernels_lookup(simd_names[i]);

	if (k == NULL && !noted[i])
	{
		printf("NOTE kernels: this CPU does not support %s; its kernels are not tested\n",
			   simd_names[i]);
		fflush(stdout);
		noted[i] = 1;
	}
	return k;
}

/*
 * Memory of nbytes whose last byte is just before an inaccessible page.
 * Each call leaks its mapping; the test process is short-lived.
 */
static void *
guarded_end(size_t nbytes)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		span = (nbytes + page - 1) / page * page;
	char	   *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(base != MAP_FAILED, "mmap failed");
	ck_assert_int_eq(mprotect(base + span, page, PROT_NONE), 0);
	return base + span - nbytes;
}

/* ------------------------------------------------------------------------
 * Float kernels, uniformly: kernel id -> up to three outputs
 * ------------------------------------------------------------------------
 */

enum
{
	K_L2SQ, K_DOT, K_L1, K_COS, N_FKERNELS
};
static const char *const fkernel_names[] = {"l2sq", "dot", "l1", "cos"};

static int
call_f32(const RvKernels *k, int which, const float *a, const float *b, int n, float out[3])
{
	switch (which)
	{
		case K_L2SQ:
			out[0] = k->f32_l2sq(a, b, n);
			return 1;
		case K_DOT:
			out[0] = k->f32_dot(a, b, n);
			return 1;
		case K_L1:
			out[0] = k->f32_l1(a, b, n);
			return 1;
		default:
			k->f32_cos(a, b, n, &out[0], &out[1], &out[2]);
			return 3;
	}
}

static int
call_f16(const RvKernels *k, int which, const rv_half *a, const rv_half *b, int n, float out[3])
{
	switch (which)
	{
		case K_L2SQ:
			out[0] = k->f16_l2sq(a, b, n);
			return 1;
		case K_DOT:
			out[0] = k->f16_dot(a, b, n);
			return 1;
		case K_L1:
			out[0] = k->f16_l1(a, b, n);
			return 1;
		default:
			k->f16_cos(a, b, n, &out[0], &out[1], &out[2]);
			return 3;
	}
}

/*
 * Exact sums (in double; every term of float inputs is exact in double,
 * and n <= 2000 terms of magnitude < 2^10 keep the double sum within far
 * less than a float ulp) and the sums of |terms| that scale the bounds.
 */
static void
exact_sums(int which, const float *a, const float *b, int n, double sum[3], double mag[3])
{
	int			i;

	memset(sum, 0, 3 * sizeof(double));
	memset(mag, 0, 3 * sizeof(double));
	for (i = 0; i < n; i++)
	{
		double		x = a[i];
		double		y = b[i];

		switch (which)
		{
			case K_L2SQ:
				sum[0] += (x - y) * (x - y);
				break;
			case K_DOT:
				sum[0] += x * y;
				mag[0] += fabs(x * y);
				break;
			case K_L1:
				sum[0] += fabs(x - y);
				break;
			default:
				sum[0] += x * y;
				mag[0] += fabs(x * y);
				sum[1] += x * x;
				sum[2] += y * y;
				break;
		}
	}
	/* terms that are never negative: S is the sum itself */
	if (which == K_L2SQ || which == K_L1)
		mag[0] = sum[0];
	if (which == K_COS)
	{
		mag[1] = sum[1];
		mag[2] = sum[2];
	}
}

/* The per-implementation rounding bound (n+2)u*S, see the file header. */
static double
round_bound(int n, double mag)
{
	return (n + 2) * UNIT_ROUND * mag + 1e-30;
}

/* ------------------------------------------------------------------------
 * Hand-computed values, on every table (scalar included)
 * ------------------------------------------------------------------------
 */

static void
check_known_table(const RvKernels *k)
{
	const float z2[2] = {0, 0},
				p34[2] = {3, 4};
	const float a3[3] = {1, 2, 3},
				b3[3] = {4, 5, 6},
				c3[3] = {4, 0, 3};
	const float big[1] = {3e38f},
				nbig[1] = {-3e38f};
	const float odd[5] = {0.5f, -1.5f, 2.25f, 8.0f, -0.125f},
				odd2[5] = {1.0f, 1.0f, -2.0f, 0.5f, 4.0f};
	rv_half		hz2[2],
				hp34[2],
				ha3[3],
				hb3[3],
				hc3[3],
				hodd[5],
				hodd2[5];
	float		d,
				na,
				nb;
	const uint8_t x[3] = {0xFF, 0x0F, 0x81},
				y[3] = {0x0F, 0x0F, 0x18};
	uint64_t	ab,
				aabb;
	int			i;

	rv_float_to_half_n(z2, hz2, 2);
	rv_float_to_half_n(p34, hp34, 2);
	rv_float_to_half_n(a3, ha3, 3);
	rv_float_to_half_n(b3, hb3, 3);
	rv_float_to_half_n(c3, hc3, 3);
	rv_float_to_half_n(odd, hodd, 5);
	rv_float_to_half_n(odd2, hodd2, 5);

	/* the pgvector compatibility case: exact, not merely close */
	ck_assert_float_eq(k->f32_l2sq(z2, p34, 2), 25.0f);
	ck_assert_float_eq(k->f16_l2sq(hz2, hp34, 2), 25.0f);
	ck_assert_float_eq(k->f32_dot(a3, b3, 3), 32.0f);
	ck_assert_float_eq(k->f16_dot(ha3, hb3, 3), 32.0f);
	ck_assert_float_eq(k->f32_l1(a3, c3, 3), 5.0f);
	ck_assert_float_eq(k->f16_l1(ha3, hc3, 3), 5.0f);
	k->f32_cos(a3, b3, 3, &d, &na, &nb);
	ck_assert_float_eq(d, 32.0f);
	ck_assert_float_eq(na, 14.0f);
	ck_assert_float_eq(nb, 77.0f);
	k->f16_cos(ha3, hb3, 3, &d, &na, &nb);
	ck_assert_float_eq(d, 32.0f);
	ck_assert_float_eq(na, 14.0f);
	ck_assert_float_eq(nb, 77.0f);

	/* binary fractions: every sum is exact. l2sq 0.25+6.25+18.0625+56.25+17.015625 */
	ck_assert_float_eq(k->f32_l2sq(odd, odd2, 5), 97.828125f);
	ck_assert_float_eq(k->f16_l2sq(hodd, hodd2, 5), 97.828125f);
	ck_assert_float_eq(k->f32_dot(odd, odd2, 5), -2.0f);	/* .5-1.5-4.5+4-.5 */
	ck_assert_float_eq(k->f16_dot(hodd, hodd2, 5), -2.0f);
	ck_assert_float_eq(k->f32_l1(odd, odd2, 5), 18.875f);	/* .5+2.5+4.25+7.5+4.125 */
	ck_assert_float_eq(k->f16_l1(hodd, hodd2, 5), 18.875f);

	/* empty vectors sum to zero */
	ck_assert_float_eq(k->f32_l2sq(a3, b3, 0), 0.0f);
	ck_assert_float_eq(k->f16_dot(ha3, hb3, 0), 0.0f);
	k->f32_cos(a3, b3, 0, &d, &na, &nb);
	ck_assert(d == 0.0f && na == 0.0f && nb == 0.0f);

	/* float32 overflow is +Inf, as in pgvector (no error from the kernel) */
	ck_assert(isinf(k->f32_l2sq(big, nbig, 1)) && k->f32_l2sq(big, nbig, 1) > 0);

	/* bits: xor = F0 00 99 -> 4+0+4; and = 0F 0F 00 -> 8; pop a = 8+4+2, b = 4+4+2 */
	ck_assert_uint_eq(k->bit_hamming(x, y, 3), 8);
	k->bit_jaccard(x, y, 3, &ab, &aabb);
	ck_assert_uint_eq(ab, 8);
	ck_assert_uint_eq(aabb, 24);
	ck_assert_uint_eq(k->bit_hamming(x, y, 0), 0);

	/* all-ones against all-zeros over 1000 bytes */
	{
		uint8_t    *ones = malloc(1000);
		uint8_t    *zeros = calloc(1000, 1);

		memset(ones, 0xFF, 1000);
		for (i = 0; i <= 1000; i += 37)
			ck_assert_uint_eq(k->bit_hamming(ones, zeros, i), (uint64_t) i * 8);
		k->bit_jaccard(ones, ones, 1000, &ab, &aabb);
		ck_assert_uint_eq(ab, 8000);
		ck_assert_uint_eq(aabb, 16000);
		free(ones);
		free(zeros);
	}
}

START_TEST(test_known_values)
{
	int			i;

	check_known_table(&rv_kernels_scalar);
	for (i = 0; i < N_SIMD; i++)
	{
		const RvKernels *k = simd_table(i);

		if (k != NULL)
			check_known_table(k);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * Small integers: exact equality for every length and offset
 * ------------------------------------------------------------------------
 */

/* a and b hold MAXN + MAXOFF integer-valued floats; ha, hb the same as halves */
static void
fill_integers(uint64_t seed, float *a, float *b, rv_half *ha, rv_half *hb)
{
	uint64_t	st = seed;
	int			i;

	for (i = 0; i < MAXN + MAXOFF; i++)
	{
		a[i] = (float) rand_small_int(&st);
		b[i] = (float) rand_small_int(&st);
		ha[i] = rv_float_to_half(a[i]);
		hb[i] = rv_float_to_half(b[i]);
	}
}

/* One table, one kernel, one slice: SIMD, scalar and the exact sum agree. */
static void
check_exact_slice(const RvKernels *k, int which, const float *a, const float *b,
				  const rv_half *ha, const rv_half *hb, int n, int off)
{
	float		s[3],
				v[3],
				h[3];
	double		sum[3],
				mag[3];
	int			m,
				j;

	exact_sums(which, a, b, n, sum, mag);
	m = call_f32(&rv_kernels_scalar, which, a, b, n, s);
	call_f32(k, which, a, b, n, v);
	call_f16(k, which, ha, hb, n, h);
	for (j = 0; j < m; j++)
	{
		CHECK(s[j] == (float) sum[j] && v[j] == s[j] && h[j] == s[j],
					  "%s %s n=%d off=%d out=%d: scalar %.9g simd f32 %.9g f16 %.9g exact %.17g",
					  k->name, fkernel_names[which], n, off, j, s[j], v[j], h[j], sum[j]);
	}
}

static void
check_exact_all(const RvKernels *k)
{
	float	   *a = malloc(sizeof(float) * (MAXN + MAXOFF));
	float	   *b = malloc(sizeof(float) * (MAXN + MAXOFF));
	rv_half    *ha = malloc(sizeof(rv_half) * (MAXN + MAXOFF));
	rv_half    *hb = malloc(sizeof(rv_half) * (MAXN + MAXOFF));
	int			n,
				off,
				which;

	fill_integers(42, a, b, ha, hb);
	for (which = 0; which < N_FKERNELS; which++)
		for (n = 0; n <= MAXN; n++)
			for (off = 0; off <= MAXOFF; off++)
			{
				/* b's offset differs from a's, so the two are misaligned differently */
				int			offb = (off + 1) % (MAXOFF + 1);

				check_exact_slice(k, which, a + off, b + offb, ha + off, hb + offb, n, off);
			}
	free(a);
	free(b);
	free(ha);
	free(hb);
}

START_TEST(test_exact_integers)
{
	const RvKernels *k = simd_table(_i);

	if (k == NULL)
		return;
	check_exact_all(k);
}
END_TEST

START_TEST(test_exact_integers_scalar)
{
	check_exact_all(&rv_kernels_scalar);
}
END_TEST

/* ------------------------------------------------------------------------
 * Random floats: within the rounding bound of the reference
 * ------------------------------------------------------------------------
 */

static void
check_round_slice(const RvKernels *k, int which, const float *a, const float *b,
				  const rv_half *ha, const rv_half *hb, const float *ha32,
				  const float *hb32, int n, int off)
{
	float		s[3],
				v[3],
				hs[3],
				hv[3];
	double		sum[3],
				mag[3],
				hsum[3],
				hmag[3];
	int			m,
				j;

	exact_sums(which, a, b, n, sum, mag);
	/* halves widen exactly, so their exact sums come from the widened copies */
	exact_sums(which, ha32, hb32, n, hsum, hmag);
	m = call_f32(&rv_kernels_scalar, which, a, b, n, s);
	call_f32(k, which, a, b, n, v);
	call_f16(&rv_kernels_scalar, which, ha, hb, n, hs);
	call_f16(k, which, ha, hb, n, hv);
	for (j = 0; j < m; j++)
	{
		double		tol = round_bound(n, mag[j]);
		double		htol = round_bound(n, hmag[j]);

		CHECK(fabs((double) s[j] - sum[j]) <= tol,
					  "scalar f32 %s n=%d: %.9g vs exact %.17g", fkernel_names[which], n, s[j], sum[j]);
		CHECK(fabs((double) v[j] - (double) s[j]) <= 2 * tol,
					  "%s f32 %s n=%d off=%d out=%d: %.9g vs scalar %.9g (bound %.3g)",
					  k->name, fkernel_names[which], n, off, j, v[j], s[j], 2 * tol);
		CHECK(fabs((double) hs[j] - hsum[j]) <= htol,
					  "scalar f16 %s n=%d: %.9g vs exact %.17g", fkernel_names[which], n, hs[j], hsum[j]);
		CHECK(fabs((double) hv[j] - (double) hs[j]) <= 2 * htol,
					  "%s f16 %s n=%d off=%d out=%d: %.9g vs scalar %.9g (bound %.3g)",
					  k->name, fkernel_names[which], n, off, j, hv[j], hs[j], 2 * htol);
	}
}

START_TEST(test_random_floats)
{
	const RvKernels *k = simd_table(_i);
	const int	len = MAXN + MAXOFF;
	float	   *a = malloc(sizeof(float) * len);
	float	   *b = malloc(sizeof(float) * len);
	rv_half    *ha = malloc(sizeof(rv_half) * len);
	rv_half    *hb = malloc(sizeof(rv_half) * len);
	float	   *ha32 = malloc(sizeof(float) * len);
	float	   *hb32 = malloc(sizeof(float) * len);
	uint64_t	st = 7;
	int			i,
				n,
				off,
				which;

	if (k != NULL)
	{
		for (i = 0; i < len; i++)
		{
			a[i] = rand_float(&st);
			b[i] = rand_float(&st);
			ha[i] = rv_float_to_half(a[i]);
			hb[i] = rv_float_to_half(b[i]);
			ha32[i] = rv_half_to_float(ha[i]);
			hb32[i] = rv_half_to_float(hb[i]);
		}
		for (which = 0; which < N_FKERNELS; which++)
			for (n = 1; n <= MAXN; n++)
				for (off = 0; off <= MAXOFF; off++)
				{
					int			offb = MAXOFF - off;

					check_round_slice(k, which, a + off, b + offb, ha + off, hb + offb,
									  ha32 + off, hb32 + offb, n, off);
				}
	}
	free(a);
	free(b);
	free(ha);
	free(hb);
	free(ha32);
	free(hb32);
}
END_TEST

/* ------------------------------------------------------------------------
 * No read past the end: vectors that end at an inaccessible page
 * ------------------------------------------------------------------------
 */

static void
check_guard_table(const RvKernels *k)
{
	float	   *ga = guarded_end(sizeof(float) * MAXN);
	float	   *gb = guarded_end(sizeof(float) * MAXN);
	rv_half    *gha = guarded_end(sizeof(rv_half) * MAXN);
	rv_half    *ghb = guarded_end(sizeof(rv_half) * MAXN);
	uint8_t    *gx = guarded_end(MAXN);
	uint8_t    *gy = guarded_end(MAXN);
	uint64_t	st = 99;
	uint64_t	ab,
				aabb,
				sab,
				saabb;
	float		out[3];
	int			n,
				i,
				which;

	for (i = 0; i < MAXN; i++)
	{
		ga[i] = (float) rand_small_int(&st);
		gb[i] = (float) rand_small_int(&st);
		gha[i] = rv_float_to_half(ga[i]);
		ghb[i] = rv_float_to_half(gb[i]);
		gx[i] = (uint8_t) next_rand(&st);
		gy[i] = (uint8_t) next_rand(&st);
	}
	for (n = 0; n <= MAXN; n++)
	{
		/* the last n elements: element n-1 is the last readable one */
		const float *a = ga + MAXN - n;
		const float *b = gb + MAXN - n;
		const rv_half *ha = gha + MAXN - n;
		const rv_half *hb = ghb + MAXN - n;
		const uint8_t *x = gx + MAXN - n;
		const uint8_t *y = gy + MAXN - n;

		for (which = 0; which < N_FKERNELS; which++)
		{
			double		sum[3],
						mag[3];
			int			m,
						j;

			exact_sums(which, a, b, n, sum, mag);
			m = call_f32(k, which, a, b, n, out);
			for (j = 0; j < m; j++)
				CHECK(out[j] == (float) sum[j], "%s f32 %s n=%d out=%d at guard",
							  k->name, fkernel_names[which], n, j);
			call_f16(k, which, ha, hb, n, out);
			for (j = 0; j < m; j++)
				CHECK(out[j] == (float) sum[j], "%s f16 %s n=%d out=%d at guard",
							  k->name, fkernel_names[which], n, j);
		}
		CHECK(k->bit_hamming(x, y, n) == rv_kernels_scalar.bit_hamming(x, y, n),
			  "%s hamming n=%d at guard", k->name, n);
		k->bit_jaccard(x, y, n, &ab, &aabb);
		rv_kernels_scalar.bit_jaccard(x, y, n, &sab, &saabb);
		CHECK(ab == sab && aabb == saabb, "%s jaccard n=%d at guard", k->name, n);
	}
}

START_TEST(test_no_overread)
{
	const RvKernels *k = _i < 0 ? &rv_kernels_scalar : simd_table(_i);

	if (k != NULL)
		check_guard_table(k);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bits: exact counts
 * ------------------------------------------------------------------------
 */

/* Count bit by bit: slow, obviously right. */
static void
naive_bits(const uint8_t *x, const uint8_t *y, size_t nbytes,
		   uint64_t *ham, uint64_t *ab, uint64_t *aabb)
{
	size_t		i;
	int			bit;

	*ham = *ab = *aabb = 0;
	for (i = 0; i < nbytes; i++)
		for (bit = 0; bit < 8; bit++)
		{
			int			p = (x[i] >> bit) & 1;
			int			q = (y[i] >> bit) & 1;

			*ham += (uint64_t) (p ^ q);
			*ab += (uint64_t) (p & q);
			*aabb += (uint64_t) (p + q);
		}
}

static void
check_bits_table(const RvKernels *k, const uint8_t *xs, const uint8_t *ys)
{
	size_t		n;
	int			off;

	for (n = 0; n <= MAXN; n++)
		for (off = 0; off <= 7; off++)
		{
			const uint8_t *x = xs + off;
			const uint8_t *y = ys + (7 - off);
			uint64_t	ham,
						ab,
						aabb,
						kab,
						kaabb;

			naive_bits(x, y, n, &ham, &ab, &aabb);
			CHECK(k->bit_hamming(x, y, n) == ham, "%s hamming nbytes=%zu off=%d",
						  k->name, n, off);
			k->bit_jaccard(x, y, n, &kab, &kaabb);
			CHECK(kab == ab && kaabb == aabb, "%s jaccard nbytes=%zu off=%d",
						  k->name, n, off);
		}
}

START_TEST(test_bits)
{
	const RvKernels *k = _i < 0 ? &rv_kernels_scalar : simd_table(_i);
	uint8_t    *xs = malloc(MAXN + 8);
	uint8_t    *ys = malloc(MAXN + 8);
	uint64_t	st = 1234;
	int			i;

	for (i = 0; i < MAXN + 8; i++)
	{
		/* skew some bytes to all-ones / all-zeros so counts are not all ~4 */
		uint64_t	r = next_rand(&st);

		xs[i] = (r & 0x300) == 0 ? 0xFF : (uint8_t) r;
		ys[i] = (r & 0xC00) == 0 ? 0x00 : (uint8_t) (r >> 16);
	}
	if (k != NULL)
		check_bits_table(k, xs, ys);
	free(xs);
	free(ys);
}
END_TEST

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------
 */

START_TEST(test_dispatch)
{
	const RvKernels *best;
	const char *saved = getenv("RV_KERNELS");
	char	   *keep = saved ? strdup(saved) : NULL;

	/* AVX-512 support here implies the AVX2 set (the kernels use FMA/F16C) */
	if (rv_cpu_has_avx512())
		ck_assert(rv_cpu_has_avx2());
	ck_assert_ptr_eq(rv_kernels_lookup("scalar"), &rv_kernels_scalar);
	ck_assert_ptr_null(rv_kernels_lookup("sse9"));
	ck_assert_ptr_null(rv_kernels_lookup(NULL));

	best = rv_cpu_has_avx512() ? &rv_kernels_avx512 :
		rv_cpu_has_avx2() ? &rv_kernels_avx2 : &rv_kernels_scalar;

	unsetenv("RV_KERNELS");
	RvDistanceInit();
	ck_assert_ptr_eq(rv_kernels, best);
	ck_assert_int_eq(rv_simd_level, best == &rv_kernels_avx512 ? RV_SIMD_AVX512 :
					 best == &rv_kernels_avx2 ? RV_SIMD_AVX2 : RV_SIMD_SCALAR);
	printf("NOTE kernels: this CPU's default kernels are %s\n", rv_kernels->name);

	setenv("RV_KERNELS", "scalar", 1);
	RvDistanceInit();
	ck_assert_ptr_eq(rv_kernels, &rv_kernels_scalar);
	ck_assert_str_eq(rv_kernels->name, "scalar");
	/* the level the codecs follow (simd/isa.h) moves with the table */
	ck_assert_int_eq(rv_simd_level, RV_SIMD_SCALAR);

	/* asking for avx2 gets it when supported, otherwise scalar, never more */
	setenv("RV_KERNELS", "avx2", 1);
	RvDistanceInit();
	ck_assert_ptr_eq(rv_kernels, rv_cpu_has_avx2() ? &rv_kernels_avx2 : &rv_kernels_scalar);

	setenv("RV_KERNELS", "avx512", 1);
	RvDistanceInit();
	ck_assert_ptr_eq(rv_kernels, best);

	/* unknown values are ignored */
	setenv("RV_KERNELS", "bogus", 1);
	RvDistanceInit();
	ck_assert_ptr_eq(rv_kernels, best);

	/* the wrappers call the active table */
	{
		const float z[2] = {0, 0},
					p[2] = {3, 4};

		ck_assert_float_eq(rv_f32_l2sq(z, p, 2), 25.0f);
	}

	if (keep)
	{
		setenv("RV_KERNELS", keep, 1);
		free(keep);
	}
	else
		unsetenv("RV_KERNELS");
	RvDistanceInit();
}
END_TEST

/* Every table has every member and its own name. */
START_TEST(test_tables_complete)
{
	const RvKernels *tabs[3] = {&rv_kernels_scalar, &rv_kernels_avx2, &rv_kernels_avx512};
	const char *names[3] = {"scalar", "avx2", "avx512"};
	int			i;

	for (i = 0; i < 3; i++)
	{
		const RvKernels *k = tabs[i];

		ck_assert_str_eq(k->name, names[i]);
		ck_assert(k->f32_l2sq && k->f32_dot && k->f32_l1 && k->f32_cos);
		ck_assert(k->f16_l2sq && k->f16_dot && k->f16_l1 && k->f16_cos);
		ck_assert(k->bit_hamming && k->bit_jaccard);
	}
}
END_TEST

Suite *
kernels_suite(void)
{
	Suite	   *s = suite_create("kernels");
	TCase	   *tc = tcase_create("kernels");

	/* exhaustive lengths x offsets x kernels take a few seconds per ISA */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tables_complete);
	tcase_add_test(tc, test_dispatch);
	tcase_add_test(tc, test_known_values);
	tcase_add_test(tc, test_exact_integers_scalar);
	/* loop index = position in simd_names; -1 = the scalar table */
	tcase_add_loop_test(tc, test_exact_integers, 0, N_SIMD);
	tcase_add_loop_test(tc, test_random_floats, 0, N_SIMD);
	tcase_add_loop_test(tc, test_no_overread, -1, N_SIMD);
	tcase_add_loop_test(tc, test_bits, -1, N_SIMD);
	suite_add_tcase(s, tc);
	return s;
}
