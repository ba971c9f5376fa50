/*
 * distance.h — distance kernels for float32, float16 and bit vectors.
 *
 * Pure C: no PostgreSQL headers, so the kernels are unit-tested with Check and
 * timed by bench/bench_kernels without a server.
 *
 * Every kernel exists as a scalar reference (the definition of the result) and,
 * where the CPU has them, AVX2+FMA(+F16C) and AVX-512 versions.  RvDistanceInit()
 * reads cpuid once and points the rv_* dispatch pointers at the best version;
 * callers on hot paths load the pointer once and call it directly (no fmgr).
 *
 * Accumulation is in float32, as pgvector does, so distances agree with
 * pgvector's to float rounding; callers widen to double where SQL returns
 * float8.  Lengths are element counts (bits are byte counts) and may be any
 * value >= 0; no alignment is assumed.
 *
 * The batched kernels (one query against many rows, and the two helpers of
 * Elkan's k-means over a row of bounds) serve IVFFlat's builds, inserts and
 * scans.  Each row's sum is computed by the same sequence of operations
 * whatever the group it falls in, so a distance does not depend on its
 * neighbours in the batch: a build, an insert and a scan that compare the
 * same two vectors get the same number.  They exist in scalar and AVX2
 * versions; the AVX-512 table uses the AVX2 ones.
 */
#ifndef RV_DISTANCE_H
#define RV_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "simd/half.h"			/* rv_half */
#include "simd/isa.h"			/* rv_cpu_has_*, rv_simd_level */

/* Kernel signatures. */
typedef float (*rv_f32_kernel) (const float *a, const float *b, int n);
typedef float (*rv_f16_kernel) (const rv_half *a, const rv_half *b, int n);
/* Cosine needs three sums in one pass: dot(a,b), |a|^2, |b|^2. */
typedef void (*rv_f32_cos_kernel) (const float *a, const float *b, int n,
								   float *dot, float *norma, float *normb);
typedef void (*rv_f16_cos_kernel) (const rv_half *a, const rv_half *b, int n,
								   float *dot, float *norma, float *normb);
typedef uint64_t (*rv_bit_hamming_kernel) (const uint8_t *a, const uint8_t *b, size_t nbytes);
/* Jaccard needs popcount(a & b) and popcount(a) + popcount(b). */
typedef void (*rv_bit_jaccard_kernel) (const uint8_t *a, const uint8_t *b, size_t nbytes,
									   uint64_t *ab, uint64_t *aa_plus_bb);

/* Batched: out[i] = sum over d of q[d] * rows[i][d] (or (q[d] - rows[i][d])^2), i < count */
typedef void (*ivf_many_kernel) (const float *q, const float *const *rows,
								 int count, int dim, float *out);

/*
 * Elkan's candidate test over a row of bounds: writes to out, in order,
 * every c < k other than skip with u > lower[c] and u > halfcc[c]; returns
 * how many.
 */
typedef int (*ivf_filter_kernel) (const float *lower, const float *halfcc, float u,
								  int k, int skip, int *out);

/* min over c < k, c != skip, of x[c] (FLT_MAX when there is none) */
typedef float (*ivf_min_except_kernel) (const float *x, int k, int skip);

/* One full set of kernels for one instruction set. */
typedef struct RvKernels
{
	const char *name;			/* "scalar", "avx2", "avx512" */
	rv_f32_kernel f32_l2sq;		/* sum (a-b)^2 */
	rv_f32_kernel f32_dot;		/* sum a*b */
	rv_f32_kernel f32_l1;		/* sum |a-b| */
	rv_f32_cos_kernel f32_cos;
	rv_f16_kernel f16_l2sq;
	rv_f16_kernel f16_dot;
	rv_f16_kernel f16_l1;
	rv_f16_cos_kernel f16_cos;
	rv_bit_hamming_kernel bit_hamming;
	rv_bit_jaccard_kernel bit_jaccard;
	ivf_many_kernel f32_dot_many;	/* batched dot products */
	ivf_many_kernel f32_l2sq_many;	/* batched squared L2 */
	ivf_filter_kernel bound_filter; /* Elkan's candidate test */
	ivf_min_except_kernel min_except;
} RvKernels;

/* The per-ISA tables; NULL members never occur.  avx2/avx512 tables exist in
 * every build, but must only be used when rv_cpu_has_* (simd/isa.h) says so. */
extern const RvKernels rv_kernels_scalar;
extern const RvKernels rv_kernels_avx2;
extern const RvKernels rv_kernels_avx512;

/* The batched kernels by name (distance.c, distance_avx2.c); the AVX2 ones
 * only when rv_cpu_has_avx2() */
int			ivf_filter_scalar(const float *lower, const float *halfcc, float u, int k, int skip, int *out);
float		ivf_min_except_scalar(const float *x, int k, int skip);
void		ivf_dot_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out);
void		ivf_l2sq_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out);
int			ivf_filter_avx2(const float *lower, const float *halfcc, float u, int k, int skip, int *out);
float		ivf_min_except_avx2(const float *x, int k, int skip);
void		ivf_dot_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out);
void		ivf_l2sq_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out);

/*
 * The active kernels.  Initialised to the scalar table so that calls before
 * RvDistanceInit() are correct, just slower.
 */
extern const RvKernels *rv_kernels;

/* Picks the best supported table and sets rv_simd_level (simd/isa.h).
 * RV_KERNELS=scalar|avx2|avx512 in the environment forces a (supported)
 * choice, for tests and benchmarks. */
void		RvDistanceInit(void);

/* Convenience wrappers over the active table. */
static inline float
rv_f32_l2sq(const float *a, const float *b, int n)
{
	return rv_kernels->f32_l2sq(a, b, n);
}

static inline float
rv_f32_dot(const float *a, const float *b, int n)
{
	return rv_kernels->f32_dot(a, b, n);
}

static inline float
rv_f32_l1(const float *a, const float *b, int n)
{
	return rv_kernels->f32_l1(a, b, n);
}

static inline void
rv_f32_cos(const float *a, const float *b, int n, float *dot, float *na, float *nb)
{
	rv_kernels->f32_cos(a, b, n, dot, na, nb);
}

static inline float
rv_f16_l2sq(const rv_half *a, const rv_half *b, int n)
{
	return rv_kernels->f16_l2sq(a, b, n);
}

static inline float
rv_f16_dot(const rv_half *a, const rv_half *b, int n)
{
	return rv_kernels->f16_dot(a, b, n);
}

static inline float
rv_f16_l1(const rv_half *a, const rv_half *b, int n)
{
	return rv_kernels->f16_l1(a, b, n);
}

static inline void
rv_f16_cos(const rv_half *a, const rv_half *b, int n, float *dot, float *na, float *nb)
{
	rv_kernels->f16_cos(a, b, n, dot, na, nb);
}

static inline uint64_t
rv_bit_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	return rv_kernels->bit_hamming(a, b, nbytes);
}

static inline void
rv_bit_jaccard(const uint8_t *a, const uint8_t *b, size_t nbytes, uint64_t *ab, uint64_t *aa_plus_bb)
{
	rv_kernels->bit_jaccard(a, b, nbytes, ab, aa_plus_bb);
}

static inline void
rv_f32_dot_many(const float *q, const float *const *rows, int count, int dim, float *out)
{
	rv_kernels->f32_dot_many(q, rows, count, dim, out);
}

static inline void
rv_f32_l2sq_many(const float *q, const float *const *rows, int count, int dim, float *out)
{
	rv_kernels->f32_l2sq_many(q, rows, count, dim, out);
}

static inline int
rv_bound_filter(const float *lower, const float *halfcc, float u, int k, int skip, int *out)
{
	return rv_kernels->bound_filter(lower, halfcc, u, k, skip, out);
}

static inline float
rv_min_except(const float *x, int k, int skip)
{
	return rv_kernels->min_except(x, k, skip);
}

#endif							/* RV_DISTANCE_H */
