/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Scalar reference kernels and kernel dispatch.
 *
 * The scalar table is the definition of every distance: each sum is formed
 * in float32, one element at a time, in index order.  (The batched IVFFlat
 * kernels keep four partial sums per row instead; they are the reference
 * for their own AVX2 versions.)  The AVX2 and AVX-512
 * tables (distance_avx2.c, distance_avx512.c) only reorder that sum, so they
 * agree with it to float rounding (exactly, when every partial sum is
 * representable, e.g. small integer vectors).
 *
 * NOTES
 *	  RvDistanceInit() runs once per process (from _PG_init, or first thing
 *	  in a test or benchmark).  It asks src/simd/isa.c for the level (cpuid,
 *	  and XGETBV to confirm the OS saves the wide registers), sets
 *	  rv_simd_level and points rv_kernels at that level's table.  Until
 *	  then rv_kernels is the scalar table, so early calls are correct, only
 *	  slower.  The SIMD files are compiled with their ISA flags and never
 *	  run unless the matching rv_cpu_has_*() said yes.
 *
 *	  RV_KERNELS=scalar|avx2|avx512 in the environment overrides the choice.
 *	  A request the CPU cannot honour falls back to the best supported table
 *	  below it, never above; an unknown value is ignored.
 *
 *	  No PostgreSQL headers: this file is linked into the Check unit tests
 *	  and bench/bench_kernels as well as into ruvector.so.
 *
 * IDENTIFICATION
 *	  src/distance/distance.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "distance/distance.h"
#include "distance/distance_isa.h"
#include "simd/half.h"
#include "simd/isa.h"

const RvKernels *rv_kernels = &rv_kernels_scalar;

/* ------------------------------------------------------------------------
 * Scalar float32 kernels
 * ------------------------------------------------------------------------
 */

static float
scalar_f32_l2sq(const float *a, const float *b, int n)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

static float
scalar_f32_dot(const float *a, const float *b, int n)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
		sum += a[i] * b[i];
	return sum;
}

static float
scalar_f32_l1(const float *a, const float *b, int n)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

static void
scalar_f32_cos(const float *a, const float *b, int n,
			   float *dot, float *norma, float *normb)
{
	float		ab = 0.0f;
	float		aa = 0.0f;
	float		bb = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		ab += a[i] * b[i];
		aa += a[i] * a[i];
		bb += b[i] * b[i];
	}
	*dot = ab;
	*norma = aa;
	*normb = bb;
}

/* ------------------------------------------------------------------------
 * Scalar float16 kernels: widen each half exactly, then as for float32
 * ------------------------------------------------------------------------
 */

static float
scalar_f16_l2sq(const rv_half *a, const rv_half *b, int n)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		float		d = rv_half_to_float_inline(a[i]) - rv_half_to_float_inline(b[i]);

		sum += d * d;
	}
	return sum;
}

static float
scalar_f16_dot(const rv_half *a, const rv_half *b, int n)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
		sum += rv_half_to_float_inline(a[i]) * rv_half_to_float_inline(b[i]);
	return sum;
}

static float
scalar_f16_l1(const rv_half *a, const rv_half *b, int n)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
		sum += fabsf(rv_half_to_float_inline(a[i]) - rv_half_to_float_inline(b[i]));
	return sum;
}

static void
scalar_f16_cos(const rv_half *a, const rv_half *b, int n,
			   float *dot, float *norma, float *normb)
{
	float		ab = 0.0f;
	float		aa = 0.0f;
	float		bb = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		float		x = rv_half_to_float_inline(a[i]);
		float		y = rv_half_to_float_inline(b[i]);

		ab += x * y;
		aa += x * x;
		bb += y * y;
	}
	*dot = ab;
	*norma = aa;
	*normb = bb;
}

/* ------------------------------------------------------------------------
 * Scalar bit kernels: 64-bit words, then the leftover bytes
 * ------------------------------------------------------------------------
 */

static uint64_t
scalar_bit_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	count = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x;
		uint64_t	y;

		/* memcpy: the bytes carry no alignment guarantee */
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		count += (uint64_t) __builtin_popcountll(x ^ y);
	}
	for (; i < nbytes; i++)
		count += (uint64_t) __builtin_popcount((unsigned) (a[i] ^ b[i]));
	return count;
}

static void
scalar_bit_jaccard(const uint8_t *a, const uint8_t *b, size_t nbytes,
				   uint64_t *ab, uint64_t *aa_plus_bb)
{
	uint64_t	both = 0;
	uint64_t	each = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x;
		uint64_t	y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		both += (uint64_t) __builtin_popcountll(x & y);
		each += (uint64_t) (__builtin_popcountll(x) + __builtin_popcountll(y));
	}
	for (; i < nbytes; i++)
	{
		both += (uint64_t) __builtin_popcount((unsigned) (a[i] & b[i]));
		each += (uint64_t) (__builtin_popcount(a[i]) + __builtin_popcount(b[i]));
	}
	*ab = both;
	*aa_plus_bb = each;
}

/* ------------------------------------------------------------------------
 * Scalar batched kernels (IVFFlat): four partial sums per row, combined in
 * a fixed order, so that a row's result does not depend on the rows
 * batched with it
 * ------------------------------------------------------------------------
 */

/* One element's term: (x - y)^2 for squared L2, else x * y */
static inline float
many_term(float x, float y, int l2)
{
	float		e = x - y;

	return l2 ? e * e : x * y;
}

/* One row against q; l2 is a constant at each (inlined) call */
static inline __attribute__((always_inline)) float
many_row(const float *q, const float *r, int dim, int l2)
{
	float		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	int			d = 0;

	for (; d + 4 <= dim; d += 4)
	{
		s0 += many_term(q[d], r[d], l2);
		s1 += many_term(q[d + 1], r[d + 1], l2);
		s2 += many_term(q[d + 2], r[d + 2], l2);
		s3 += many_term(q[d + 3], r[d + 3], l2);
	}
	for (; d < dim; d++)
		s0 += many_term(q[d], r[d], l2);
	return (s0 + s1) + (s2 + s3);
}

void
ivf_dot_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out)
{
	for (int i = 0; i < count; i++)
		out[i] = many_row(q, rows[i], dim, 0);
}

void
ivf_l2sq_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out)
{
	for (int i = 0; i < count; i++)
		out[i] = many_row(q, rows[i], dim, 1);
}

int
ivf_filter_scalar(const float *lower, const float *halfcc, float u, int k, int skip, int *out)
{
	int			n = 0;

	for (int c = 0; c < k; c++)
	{
		out[n] = c;
		n += (c != skip) & (u > lower[c]) & (u > halfcc[c]);
	}
	return n;
}

float
ivf_min_except_scalar(const float *x, int k, int skip)
{
	float		m = FLT_MAX;

	for (int c = 0; c < k; c++)
	{
		if (c != skip && x[c] < m)
			m = x[c];
	}
	return m;
}

const RvKernels rv_kernels_scalar = {
	.name = "scalar",
	.f32_l2sq = scalar_f32_l2sq,
	.f32_dot = scalar_f32_dot,
	.f32_l1 = scalar_f32_l1,
	.f32_cos = scalar_f32_cos,
	.f16_l2sq = scalar_f16_l2sq,
	.f16_dot = scalar_f16_dot,
	.f16_l1 = scalar_f16_l1,
	.f16_cos = scalar_f16_cos,
	.bit_hamming = scalar_bit_hamming,
	.bit_jaccard = scalar_bit_jaccard,
	.f32_dot_many = ivf_dot_many_scalar,
	.f32_l2sq_many = ivf_l2sq_many_scalar,
	.bound_filter = ivf_filter_scalar,
	.min_except = ivf_min_except_scalar,
};

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------
 */

/*
 * The table for an ISA name if this CPU can run it, else NULL.  Unknown
 * names give NULL too.
 */
const RvKernels *
rv_kernels_lookup(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "scalar") == 0)
		return &rv_kernels_scalar;
	if (strcmp(name, "avx2") == 0)
		return rv_cpu_has_avx2() ? &rv_kernels_avx2 : NULL;
	if (strcmp(name, "avx512") == 0)
		return rv_cpu_has_avx512() ? &rv_kernels_avx512 : NULL;
	return NULL;
}

/*
 * Pick the active table: the level rv_simd_choose() gives (the best the CPU
 * supports, unless RV_KERNELS asks for a lower one), which also becomes the
 * level the codecs' batch paths use.
 */
void
RvDistanceInit(void)
{
	static const RvKernels *const by_level[] = {
		[RV_SIMD_SCALAR] = &rv_kernels_scalar,
		[RV_SIMD_AVX2] = &rv_kernels_avx2,
		[RV_SIMD_AVX512] = &rv_kernels_avx512,
	};

	rv_simd_level = rv_simd_choose();
	rv_kernels = by_level[rv_simd_level];
}
