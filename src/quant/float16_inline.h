/*
 * float16_inline.h — the float16 -> float32 widening as a static inline, for
 * the scalar kernels' inner loops.
 *
 * rv_half_to_float() in float16.c is this same function out of line; the
 * scalar distance kernels widen one half per element and would otherwise
 * spend most of their time in calls across translation units, which would
 * make the scalar reference (and every speedup quoted against it) unfair.
 *
 * Pure C: no PostgreSQL headers.
 */
#ifndef RV_FLOAT16_INLINE_H
#define RV_FLOAT16_INLINE_H

#include <string.h>

#include "quant/quant.h"

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

#endif							/* RV_FLOAT16_INLINE_H */
