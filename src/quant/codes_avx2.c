/*-------------------------------------------------------------------------
 *
 * codes_avx2.c
 *	  AVX2+FMA dot product of a float query with sq8 byte codes, the inner
 *	  loop of every sq8 distance (codes.c).
 *
 * NOTES
 *	  Compiled with the AVX2 flag set because of its name; codes.c calls it
 *	  only when the active distance kernels are SIMD ones, i.e. after
 *	  rv_cpu_has_avx2() said yes.  Two accumulators of 8 lanes hide the
 *	  FMA latency; the tail of fewer than 16 elements is scalar, so no load
 *	  reaches past element n-1.  Summation order differs from the scalar
 *	  reference, so results agree to float rounding, not bit for bit.
 *
 * IDENTIFICATION
 *	  src/quant/codes_avx2.c
 *
 *-------------------------------------------------------------------------
 */
#include <immintrin.h>
#include <string.h>

#include "quant/quant.h"

/* Widen 8 bytes to 8 floats. */
static inline __m256
widen8(const uint8_t *c)
{
	int64_t		v;

	memcpy(&v, c, sizeof(v));
	return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v)));
}

float
rv_sq8_dot_avx2(const float *q, const uint8_t *c, int n)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m128		lo;
	__m128		hi;
	float		s;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), widen8(c + i), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), widen8(c + i + 8), acc1);
	}
	acc0 = _mm256_add_ps(acc0, acc1);
	lo = _mm256_castps256_ps128(acc0);
	hi = _mm256_extractf128_ps(acc0, 1);
	lo = _mm_add_ps(lo, hi);
	lo = _mm_hadd_ps(lo, lo);
	lo = _mm_hadd_ps(lo, lo);
	s = _mm_cvtss_f32(lo);
	for (; i < n; i++)
		s += q[i] * (float) c[i];
	return s;
}
