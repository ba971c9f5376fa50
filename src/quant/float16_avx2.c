/*-------------------------------------------------------------------------
 *
 * float16_avx2.c
 *	  Batch float16 <-> float32 conversion with the F16C instructions.
 *
 * NOTES
 *	  Compiled with the AVX2 flag set (-mavx2 -mfma -mf16c) because of its
 *	  name; callers reach it only through rv_half_to_float_n /
 *	  rv_float_to_half_n in float16.c, and only when the active SIMD level
 *	  is not scalar, i.e. after rv_cpu_has_avx2() said yes.
 *
 *	  VCVTPS2PH with round-to-nearest-even and VCVTPH2PS produce exactly
 *	  what the scalar codec does (including NaN quieting), so the tail of
 *	  fewer than 8 elements simply uses the scalar codec; no load or store
 *	  reaches past element n-1.
 *
 * IDENTIFICATION
 *	  src/quant/float16_avx2.c
 *
 *-------------------------------------------------------------------------
 */
#include <immintrin.h>

#include "quant/quant.h"

/*
 * Widen n halves, 8 per instruction.
 */
void
rv_f16c_half_to_float_n(const rv_half *in, float *out, size_t n)
{
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m128i		h = _mm_loadu_si128((const __m128i *) (in + i));

		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
	}
	for (; i < n; i++)
		out[i] = rv_half_to_float(in[i]);
}

/*
 * Narrow n floats, 8 per instruction, rounding to nearest even.
 */
void
rv_f16c_float_to_half_n(const float *in, rv_half *out, size_t n)
{
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		f = _mm256_loadu_ps(in + i);

		_mm_storeu_si128((__m128i *) (out + i),
						 _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT));
	}
	for (; i < n; i++)
		out[i] = rv_float_to_half(in[i]);
}
