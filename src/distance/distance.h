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
 */
#ifndef RV_DISTANCE_H
#define RV_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"		/* rv_half */

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
} RvKernels;

/* The per-ISA tables; NULL members never occur.  avx2/avx512 tables exist in
 * every build, but must only be used when rv_cpu_has_* says so. */
extern const RvKernels rv_kernels_scalar;
extern const RvKernels rv_kernels_avx2;
extern const RvKernels rv_kernels_avx512;

/* What the CPU supports (filled by RvDistanceInit; also callable directly). */
int			rv_cpu_has_avx2(void);		/* AVX2 + FMA + F16C, OS saves YMM */
int			rv_cpu_has_avx512(void);	/* F + BW + VL + DQ + VPOPCNTDQ, OS saves ZMM */

/*
 * The active kernels.  Initialised to the scalar table so that calls before
 * RvDistanceInit() are correct, just slower.
 */
extern const RvKernels *rv_kernels;

/* Picks the best supported table.  RV_KERNELS=scalar|avx2|avx512 in the
 * environment forces a (supported) choice, for tests and benchmarks. */
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

#endif							/* RV_DISTANCE_H */
