/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Scalar reference kernels, CPU feature detection and kernel dispatch.
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
 *	  in a test or benchmark).  It reads cpuid, confirms through XGETBV that
 *	  the OS saves the wide registers, and points rv_kernels at the best
 *	  table.  Until then rv_kernels is the scalar table, so early calls are
 *	  correct, only slower.  The SIMD files are compiled with their ISA flags
 *	  and never run unless the matching rv_cpu_has_*() said yes.
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
#include "quant/float16_inline.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RV_X86 1
#endif

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
 * CPU feature detection
 * ------------------------------------------------------------------------
 */

#ifdef RV_X86

/* cpuid leaf 1, ECX */
#define RV_CPUID1_FMA		(1u << 12)
#define RV_CPUID1_POPCNT	(1u << 23)
#define RV_CPUID1_OSXSAVE	(1u << 27)
#define RV_CPUID1_AVX		(1u << 28)
#define RV_CPUID1_F16C		(1u << 29)
/* cpuid leaf 7 subleaf 0, EBX and ECX */
#define RV_CPUID7B_AVX2		(1u << 5)
#define RV_CPUID7B_AVX512F	(1u << 16)
#define RV_CPUID7B_AVX512DQ (1u << 17)
#define RV_CPUID7B_AVX512BW (1u << 30)
#define RV_CPUID7B_AVX512VL (1u << 31)
#define RV_CPUID7C_VPOPCNTDQ (1u << 14)
/* XCR0: which register state the OS saves on a context switch */
#define RV_XCR0_YMM			0x06u	/* SSE + AVX upper halves */
#define RV_XCR0_ZMM			0xE6u	/* the above + opmask, ZMM0-15 upper, ZMM16-31 */

/*
 * Read XCR0.  Only valid once cpuid reported OSXSAVE; the instruction is
 * emitted by hand so this file needs no -mxsave.
 */
static uint64_t
read_xcr0(void)
{
	uint32_t	lo;
	uint32_t	hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t) hi << 32) | lo;
}

/*
 * Probe the CPU once: bit 0 = AVX2 set usable, bit 1 = AVX-512 set usable.
 * A feature bit alone is not enough: if the OS does not save YMM/ZMM state,
 * using those registers would corrupt them across context switches (or
 * fault), so XCR0 must confirm it.
 */
static int
probe_cpu(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;
	unsigned int ecx1;
	uint64_t	xcr0;
	int			result = 0;
	const unsigned int need1 = RV_CPUID1_AVX | RV_CPUID1_FMA | RV_CPUID1_F16C |
		RV_CPUID1_POPCNT;

	if (!__get_cpuid(1, &eax, &ebx, &ecx1, &edx))
		return 0;
	if ((ecx1 & RV_CPUID1_OSXSAVE) == 0)
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	xcr0 = read_xcr0();

	/* -mavx2 code may use POPCNT too; every AVX2 CPU has it, but check */
	if ((ecx1 & need1) == need1 &&
		(ebx & RV_CPUID7B_AVX2) &&
		(xcr0 & RV_XCR0_YMM) == RV_XCR0_YMM)
	{
		const unsigned int need = RV_CPUID7B_AVX512F | RV_CPUID7B_AVX512DQ |
			RV_CPUID7B_AVX512BW | RV_CPUID7B_AVX512VL;

		result |= 1;
		/* the AVX-512 kernels also use FMA and F16C, checked just above */
		if ((ebx & need) == need &&
			(ecx & RV_CPUID7C_VPOPCNTDQ) &&
			(xcr0 & RV_XCR0_ZMM) == RV_XCR0_ZMM)
			result |= 2;
	}
	return result;
}

#else

static int
probe_cpu(void)
{
	return 0;
}

#endif							/* RV_X86 */

/*
 * Cached probe result; -1 until first asked.  Racing first calls from two
 * threads compute the same value, so no lock is needed.
 */
static int	cpu_features = -1;

static int
cpu_get_features(void)
{
	if (cpu_features < 0)
		cpu_features = probe_cpu();
	return cpu_features;
}

int
rv_cpu_has_avx2(void)
{
	return (cpu_get_features() & 1) != 0;
}

int
rv_cpu_has_avx512(void)
{
	return (cpu_get_features() & 2) != 0;
}

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
 * Pick the active table: the best the CPU supports, unless RV_KERNELS asks
 * for a lower one.  Asking for more than the CPU has gives the best it has.
 */
void
RvDistanceInit(void)
{
	const char *want = getenv("RV_KERNELS");
	int			ceiling = 2;	/* 0 scalar, 1 avx2, 2 avx512 */

	if (want != NULL)
	{
		if (strcmp(want, "scalar") == 0)
			ceiling = 0;
		else if (strcmp(want, "avx2") == 0)
			ceiling = 1;
	}

	if (ceiling >= 2 && rv_cpu_has_avx512())
		rv_kernels = &rv_kernels_avx512;
	else if (ceiling >= 1 && rv_cpu_has_avx2())
		rv_kernels = &rv_kernels_avx2;
	else
		rv_kernels = &rv_kernels_scalar;
}
