/*-------------------------------------------------------------------------
 *
 * float16.c
 *	  IEEE 754 binary16 codec: exact widening to float32 and narrowing with
 *	  round-to-nearest-even.
 *
 * NOTES
 *	  Every half is exactly a float, so widening never rounds.  Narrowing
 *	  rounds to nearest, ties to even; finite values at or beyond 65520 (the
 *	  midpoint between RV_HALF_MAX and 2^16) become +/-Inf, as IEEE requires;
 *	  values at or below 2^-25 become signed zero.
 *
 *	  NaNs behave as the x86 F16C instructions do, so that the scalar codec
 *	  and the batch F16C path (float16_avx2.c) agree bit for bit: the quiet
 *	  bit is set and the top payload bits are kept (a signalling NaN comes
 *	  back quiet, but always a NaN with its sign).
 *
 *	  The batch functions use F16C whenever the active SIMD level
 *	  (rv_simd_level, simd/isa.h) is not scalar (every SIMD level implies
 *	  F16C); otherwise they loop over the scalar codec.
 *
 *	  No PostgreSQL headers: linked into the Check unit tests as well.
 *
 * IDENTIFICATION
 *	  src/quant/float16.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "quant/quant.h"
#include "simd/half.h"
#include "simd/isa.h"

static inline uint32_t
float_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/*
 * Widen a half to a float.  Exact for every finite value and infinity; the
 * body lives in simd/half.h so the scalar kernels can inline it.
 */
float
rv_half_to_float(rv_half h)
{
	return rv_half_to_float_inline(h);
}

/*
 * Round mantissa bits m (already including the implicit bit where there is
 * one) right by shift places, to nearest with ties to even.
 */
static inline uint32_t
round_shift_rne(uint32_t m, int shift)
{
	uint32_t	kept = m >> shift;
	uint32_t	rest = m & ((1u << shift) - 1);
	uint32_t	half = 1u << (shift - 1);

	if (rest > half || (rest == half && (kept & 1)))
		kept++;
	return kept;
}

/*
 * Narrow a float to a half, rounding to nearest even.
 */
rv_half
rv_float_to_half(float f)
{
	uint32_t	u = float_bits(f);
	uint32_t	sign = (u >> 16) & 0x8000;
	uint32_t	mag = u & 0x7FFFFFFFu;

	if (mag >= 0x7F800000u)
	{
		if (mag == 0x7F800000u)
			return (rv_half) (sign | 0x7C00);
		return (rv_half) (sign | 0x7E00 | ((mag >> 13) & 0x3FF));
	}
	/* 65520 rounds (tie, to even) up to 2^16, which is out of range */
	if (mag >= 0x477FF000u)
		return (rv_half) (sign | 0x7C00);
	if (mag >= 0x38800000u)
	{
		/*
		 * Normal half.  Rebias the exponent and drop 13 mantissa bits; a
		 * carry out of the mantissa correctly bumps the exponent.
		 */
		return (rv_half) (sign | round_shift_rne(mag - 0x38000000u, 13));
	}
	/* 2^-25 is the midpoint between 0 and the least subnormal: ties to 0 */
	if (mag <= 0x33000000u)
		return (rv_half) sign;

	/*
	 * Subnormal half (possibly rounding up to the least normal, 0x0400).
	 * The value is m * 2^(e-150) with the implicit bit in m; in units of
	 * 2^-24 that is m >> (126 - e), where e is 102..112 here.
	 */
	{
		uint32_t	e = mag >> 23;
		uint32_t	m = (mag & 0x7FFFFFu) | 0x800000u;

		return (rv_half) (sign | round_shift_rne(m, (int) (126 - e)));
	}
}

/*
 * Widen n halves.
 */
void
rv_half_to_float_n(const rv_half *in, float *out, size_t n)
{
	size_t		i;

	if (rv_simd_level != RV_SIMD_SCALAR)
	{
		rv_f16c_half_to_float_n(in, out, n);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = rv_half_to_float(in[i]);
}

/*
 * Narrow n floats.
 */
void
rv_float_to_half_n(const float *in, rv_half *out, size_t n)
{
	size_t		i;

	if (rv_simd_level != RV_SIMD_SCALAR)
	{
		rv_f16c_float_to_half_n(in, out, n);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = rv_float_to_half(in[i]);
}
