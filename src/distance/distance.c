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
 *	  The float kernels are written once, in distance_scalar_tmpl.h (the
 *	  SIMD files use distance_float_tmpl.h), and instantiated here for
 *	  float32 and float16; shared scalar steps are in distance_inline.h.
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
#include "distance/distance_inline.h"
#include "distance/distance_isa.h"
#include "simd/half.h"
#include "simd/isa.h"

const RvKernels *rv_kernels = &rv_kernels_scalar;

/* ------------------------------------------------------------------------
 * Scalar float32 and float16 kernels (distance_scalar_tmpl.h); halves are
 * widened exactly, then summed as floats
 * ------------------------------------------------------------------------
 */

#define TMPL_ELEM			float
#define TMPL_TO_FLOAT(x)	(x)
#define TMPL_FN(name)		scalar_f32_##name
#include "distance/distance_scalar_tmpl.h"

#define TMPL_ELEM			rv_half
#define TMPL_TO_FLOAT(x)	rv_half_to_float_inline(x)
#define TMPL_FN(name)		scalar_f16_##name
#include "distance/distance_scalar_tmpl.h"

/* ------------------------------------------------------------------------
 * Scalar bit kernels: 64-bit words, then the leftover bytes
 * ------------------------------------------------------------------------
 */

static uint64_t
scalar_bit_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	count = 0;
	uint64_t	unused = 0;

	bits_count_words(a, b, nbytes, 0, &count, &unused);
	return count;
}

static void
scalar_bit_jaccard(const uint8_t *a, const uint8_t *b, size_t nbytes,
				   uint64_t *ab, uint64_t *aa_plus_bb)
{
	uint64_t	both = 0;
	uint64_t	each = 0;

	bits_count_words(a, b, nbytes, 1, &both, &each);
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
	return min_except_from(x, 0, k, skip, FLT_MAX);
}

const RvKernels rv_kernels_scalar = {
	.name = "scalar",
	RV_PAIR_KERNELS(scalar),
	RV_BATCH_KERNELS(scalar),
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
