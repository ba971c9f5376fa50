/*
 * isa.h — which SIMD instruction sets this CPU (and OS) supports, and which
 * level the process uses: the one home of the ISA bits that both the
 * distance kernels (src/distance) and the codecs (src/quant) consult, so
 * that neither subsystem includes the other's header for them.
 *
 * Pure C: no PostgreSQL headers.
 */
#ifndef RV_SIMD_ISA_H
#define RV_SIMD_ISA_H

/* Instruction-set levels, in increasing order. */
typedef enum RvSimdLevel
{
	RV_SIMD_SCALAR = 0,
	RV_SIMD_AVX2 = 1,			/* AVX2 + FMA + F16C + POPCNT */
	RV_SIMD_AVX512 = 2			/* the above + AVX-512 F/BW/VL/DQ/VPOPCNTDQ */
} RvSimdLevel;

/* What the CPU supports, OS register saving included (cached after the first call). */
int			rv_cpu_has_avx2(void);		/* AVX2 + FMA + F16C, OS saves YMM */
int			rv_cpu_has_avx512(void);	/* F + BW + VL + DQ + VPOPCNTDQ, OS saves ZMM */

/*
 * The best level this CPU supports, capped by RV_KERNELS=scalar|avx2|avx512
 * in the environment (a request above what the CPU has gives the best it
 * has; an unknown value is ignored).
 */
RvSimdLevel rv_simd_choose(void);

/*
 * The level in use: RvDistanceInit (src/distance) sets it together with the
 * kernel table; RV_SIMD_SCALAR until then, so early calls are correct, only
 * slower.  The codecs' batch paths follow it.
 */
extern RvSimdLevel rv_simd_level;

#endif							/* RV_SIMD_ISA_H */
