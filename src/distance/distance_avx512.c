/*-------------------------------------------------------------------------
 *
 * distance_avx512.c
 *	  AVX-512 distance kernels (the rv_kernels_avx512 table).
 *
 * NOTES
 *	  Compiled with -mavx512f/bw/vl/dq/vpopcntdq -mfma -mf16c because of its
 *	  name; only ever called through rv_kernels_avx512, which distance.c
 *	  selects only after rv_cpu_has_avx512() confirmed F, BW, VL, DQ and
 *	  VPOPCNTDQ plus the OS's opmask/ZMM state support.
 *
 *	  The float kernels are distance_float_tmpl.h's, with 16-lane vectors:
 *	  four accumulators (64 elements per main iteration) to hide FMA
 *	  latency, then a 16-wide loop, then one masked load for the last
 *	  1..15 elements (cosine: masked loads for all after the main loop).  Masked-off lanes are neither read
 *	  (a masked load does not fault on them) nor summed (they load as
 *	  zero, and 0-0, 0*0 and |0| add nothing), so there is no scalar tail.
 *	  Sums stay in float32; results differ from the scalar reference only
 *	  by summation order.
 *
 *	  Bit kernels use VPOPCNTQ on 64-byte blocks, with a byte-masked load
 *	  for the tail, and add into 64-bit lanes.
 *
 * IDENTIFICATION
 *	  src/distance/distance_avx512.c
 *
 *-------------------------------------------------------------------------
 */
#include <immintrin.h>
#include <math.h>

#include "distance/distance.h"
#include "distance/distance_inline.h"
#include "simd/half.h"

/* Mask with the low k (0..16) bits set. */
static inline __mmask16
tail_mask16(int k)
{
	return (__mmask16) ((1u << k) - 1);
}

/* Sixteen halves widened to floats. */
static inline __m512
load_half16(const rv_half *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) p));
}

/* The first k (0..16) halves widened, the other lanes zero. */
static inline __m512
load_half16_tail(const rv_half *p, int k)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask16(k), p));
}

static inline __m512
abs512(__m512 x)
{
	return _mm512_abs_ps(x);
}

/* The first k (0..16) floats, the other lanes zero. */
static inline __m512
load_f32_tail(const float *p, int k)
{
	return _mm512_maskz_loadu_ps(tail_mask16(k), p);
}

/* ------------------------------------------------------------------------
 * float32 and float16 (VCVTPH2PS widens 16 halves exactly): the kernels of
 * distance_float_tmpl.h with 16-lane vectors and a masked tail
 * ------------------------------------------------------------------------
 */

#define TMPL_V				__m512
#define TMPL_W				16
#define TMPL_ZERO()			_mm512_setzero_ps()
#define TMPL_ADD(x, y)		_mm512_add_ps(x, y)
#define TMPL_SUB(x, y)		_mm512_sub_ps(x, y)
#define TMPL_FMADD(x, y, z) _mm512_fmadd_ps(x, y, z)
#define TMPL_ABS(x)			abs512(x)
#define TMPL_HSUM(v)		_mm512_reduce_add_ps(v)
#define TMPL_MASKED			1

#define TMPL_ELEM			float
#define TMPL_LOAD(p)		_mm512_loadu_ps(p)
#define TMPL_LOAD_TAIL(p, k) load_f32_tail(p, k)
#define TMPL_TO_FLOAT(x)	(x)
#define TMPL_FN(name)		avx512_f32_##name
#include "distance/distance_float_tmpl.h"

#define TMPL_ELEM			rv_half
#define TMPL_LOAD(p)		load_half16(p)
#define TMPL_LOAD_TAIL(p, k) load_half16_tail(p, k)
#define TMPL_TO_FLOAT(x)	rv_half_to_float_inline(x)
#define TMPL_FN(name)		avx512_f16_##name
#include "distance/distance_float_tmpl.h"

/* ------------------------------------------------------------------------
 * bits: VPOPCNTQ over 64-byte blocks
 * ------------------------------------------------------------------------
 */

/* Mask with the low k (0..64) bits set. */
static inline __mmask64
tail_mask64(size_t k)
{
	return k >= 64 ? ~(__mmask64) 0 : (((__mmask64) 1 << k) - 1);
}

static uint64_t
avx512_bit_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	__m512i		c0 = _mm512_setzero_si512();
	__m512i		c1 = _mm512_setzero_si512();
	size_t		i = 0;

	for (; i + 128 <= nbytes; i += 128)
	{
		__m512i		x0 = _mm512_xor_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
		__m512i		x1 = _mm512_xor_si512(_mm512_loadu_si512(a + i + 64), _mm512_loadu_si512(b + i + 64));

		c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(x0));
		c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(x1));
	}
	for (; i < nbytes; i += 64)
	{
		__mmask64	m = tail_mask64(nbytes - i);
		__m512i		x = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + i),
										 _mm512_maskz_loadu_epi8(m, b + i));

		c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(x));
	}
	return (uint64_t) _mm512_reduce_add_epi64(_mm512_add_epi64(c0, c1));
}

static void
avx512_bit_jaccard(const uint8_t *a, const uint8_t *b, size_t nbytes,
				   uint64_t *ab, uint64_t *aa_plus_bb)
{
	__m512i		both = _mm512_setzero_si512();
	__m512i		ca = _mm512_setzero_si512();
	__m512i		cb = _mm512_setzero_si512();
	size_t		i = 0;

	for (; i < nbytes; i += 64)
	{
		__mmask64	m = tail_mask64(nbytes - i);
		__m512i		x = _mm512_maskz_loadu_epi8(m, a + i);
		__m512i		y = _mm512_maskz_loadu_epi8(m, b + i);

		both = _mm512_add_epi64(both, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
		ca = _mm512_add_epi64(ca, _mm512_popcnt_epi64(x));
		cb = _mm512_add_epi64(cb, _mm512_popcnt_epi64(y));
	}
	*ab = (uint64_t) _mm512_reduce_add_epi64(both);
	*aa_plus_bb = (uint64_t) _mm512_reduce_add_epi64(_mm512_add_epi64(ca, cb));
}

const RvKernels rv_kernels_avx512 = {
	.name = "avx512",
	RV_PAIR_KERNELS(avx512),
	/* the batched kernels: AVX2's (an AVX-512 CPU has AVX2; see distance.h) */
	RV_BATCH_KERNELS(avx2),
};
