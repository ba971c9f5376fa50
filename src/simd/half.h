/*
 * half.h — the float16 type (rv_half) and its widening to float32 as a
 * static inline: the one home of what both the distance kernels
 * (src/distance) and the float16 codec (src/quant/float16.c) need, so that
 * neither subsystem includes the other's header for it.
 *
 * rv_half_to_float() in float16.c is rv_half_to_float_inline out of line;
 * the scalar distance kernels widen one half per element and would
 * otherwise spend most of their time in calls across translation units,
 * which would make the scalar reference (and every speedup quoted against
 * it) unfair.
 *
 * Pure C: no PostgreSQL headers.
 */
#ifndef RV_SIMD_HALF_H
#define RV_SIMD_HALF_H

#include <stdint.h>
#include <string.h>

/* IEEE 754 binary16, stored as its bit pattern. */
typedef uint16_t rv_half;

#define RV_HALF_MAX 65504.0f

/*
 * Exact widening; NaNs come back quiet with their payload, as VCVTPH2PS
 * does (see float16.c).
 */
static inline float
rv_half_to_float_inline(rv_half h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = h & 0x7C00;
	uint32_t	man = h & 0x3FF;
	/* normal halves: shift into place and rebias the exponent, 15 -> 127 */
	uint32_t	bits = ((uint32_t) (h & 0x7FFF) << 13) + (112u << 23);
	float		f;

	if (__builtin_expect(exp == 0x7C00, 0))
		bits = 0x7F800000u | (man != 0 ? 0x00400000u | (man << 13) : 0);
	else if (__builtin_expect(exp == 0, 0))
	{
		/* zero or subnormal: man * 2^-24, a normal float, exact */
		float		mag = (float) man * 5.9604644775390625e-08f;

		memcpy(&bits, &mag, sizeof(bits));
	}
	bits |= sign;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

#endif							/* RV_SIMD_HALF_H */
