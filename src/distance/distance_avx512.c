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
 *	  Float kernels keep four 16-lane accumulators (64 elements per main
 *	  iteration) to hide FMA latency, then a 16-wide loop, then one masked
 *	  load for the last 1..15 elements.  Masked-off lanes are neither read
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

#include "distance/distance.h"

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

/* One cosine step: dot, |a|^2 and |b|^2 partial sums of sixteen lanes. */
static inline void
cos_step(__m512 x, __m512 y, __m512 *ab, __m512 *aa, __m512 *bb)
{
	*ab = _mm512_fmadd_ps(x, y, *ab);
	*aa = _mm512_fmadd_ps(x, x, *aa);
	*bb = _mm512_fmadd_ps(y, y, *bb);
}

/* ------------------------------------------------------------------------
 * float32
 * ------------------------------------------------------------------------
 */

static float
avx512_f32_l2sq(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));

		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__mmask16	m = tail_mask16(n - i);
		__m512		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
									  _mm512_maskz_loadu_ps(m, b + i));

		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float
avx512_f32_dot(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < n)
	{
		__mmask16	m = tail_mask16(n - i);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i),
							 _mm512_maskz_loadu_ps(m, b + i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float
avx512_f32_l1(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_add_ps(s0, abs512(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
		s1 = _mm512_add_ps(s1, abs512(_mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16))));
		s2 = _mm512_add_ps(s2, abs512(_mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32))));
		s3 = _mm512_add_ps(s3, abs512(_mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48))));
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_add_ps(s0, abs512(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
	if (i < n)
	{
		__mmask16	m = tail_mask16(n - i);

		s1 = _mm512_add_ps(s1, abs512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
													_mm512_maskz_loadu_ps(m, b + i))));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/*
 * Cosine: three sums, four accumulators each (twelve FMA chains; two per
 * sum left the loop latency-bound).
 */
static void
avx512_f32_cos(const float *a, const float *b, int n,
			   float *dot, float *norma, float *normb)
{
	__m512		ab0 = _mm512_setzero_ps(),
				ab1 = ab0,
				ab2 = ab0,
				ab3 = ab0;
	__m512		aa0 = ab0,
				aa1 = ab0,
				aa2 = ab0,
				aa3 = ab0;
	__m512		bb0 = ab0,
				bb1 = ab0,
				bb2 = ab0,
				bb3 = ab0;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		cos_step(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), &ab0, &aa0, &bb0);
		cos_step(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), &ab1, &aa1, &bb1);
		cos_step(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), &ab2, &aa2, &bb2);
		cos_step(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), &ab3, &aa3, &bb3);
	}
	/* up to three full blocks of 16, then one masked block */
	for (; i < n; i += 16)
	{
		int			k = n - i < 16 ? n - i : 16;

		cos_step(load_f32_tail(a + i, k), load_f32_tail(b + i, k), &ab1, &aa1, &bb1);
	}
	*dot = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(ab0, ab1), _mm512_add_ps(ab2, ab3)));
	*norma = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(aa0, aa1), _mm512_add_ps(aa2, aa3)));
	*normb = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(bb0, bb1), _mm512_add_ps(bb2, bb3)));
}

/* ------------------------------------------------------------------------
 * float16: VCVTPH2PS widens 16 halves exactly, then as for float32
 * ------------------------------------------------------------------------
 */

static float
avx512_f16_l2sq(const rv_half *a, const rv_half *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(load_half16(a + i), load_half16(b + i));
		__m512		d1 = _mm512_sub_ps(load_half16(a + i + 16), load_half16(b + i + 16));
		__m512		d2 = _mm512_sub_ps(load_half16(a + i + 32), load_half16(b + i + 32));
		__m512		d3 = _mm512_sub_ps(load_half16(a + i + 48), load_half16(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d = _mm512_sub_ps(load_half16(a + i), load_half16(b + i));

		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__m512		d = _mm512_sub_ps(load_half16_tail(a + i, n - i),
									  load_half16_tail(b + i, n - i));

		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float
avx512_f16_dot(const rv_half *a, const rv_half *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(load_half16(a + i), load_half16(b + i), s0);
		s1 = _mm512_fmadd_ps(load_half16(a + i + 16), load_half16(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(load_half16(a + i + 32), load_half16(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(load_half16(a + i + 48), load_half16(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(load_half16(a + i), load_half16(b + i), s0);
	if (i < n)
		s1 = _mm512_fmadd_ps(load_half16_tail(a + i, n - i),
							 load_half16_tail(b + i, n - i), s1);
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float
avx512_f16_l1(const rv_half *a, const rv_half *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_add_ps(s0, abs512(_mm512_sub_ps(load_half16(a + i), load_half16(b + i))));
		s1 = _mm512_add_ps(s1, abs512(_mm512_sub_ps(load_half16(a + i + 16), load_half16(b + i + 16))));
		s2 = _mm512_add_ps(s2, abs512(_mm512_sub_ps(load_half16(a + i + 32), load_half16(b + i + 32))));
		s3 = _mm512_add_ps(s3, abs512(_mm512_sub_ps(load_half16(a + i + 48), load_half16(b + i + 48))));
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_add_ps(s0, abs512(_mm512_sub_ps(load_half16(a + i), load_half16(b + i))));
	if (i < n)
		s1 = _mm512_add_ps(s1, abs512(_mm512_sub_ps(load_half16_tail(a + i, n - i),
													load_half16_tail(b + i, n - i))));
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static void
avx512_f16_cos(const rv_half *a, const rv_half *b, int n,
			   float *dot, float *norma, float *normb)
{
	__m512		ab0 = _mm512_setzero_ps(),
				ab1 = ab0,
				ab2 = ab0,
				ab3 = ab0;
	__m512		aa0 = ab0,
				aa1 = ab0,
				aa2 = ab0,
				aa3 = ab0;
	__m512		bb0 = ab0,
				bb1 = ab0,
				bb2 = ab0,
				bb3 = ab0;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		cos_step(load_half16(a + i), load_half16(b + i), &ab0, &aa0, &bb0);
		cos_step(load_half16(a + i + 16), load_half16(b + i + 16), &ab1, &aa1, &bb1);
		cos_step(load_half16(a + i + 32), load_half16(b + i + 32), &ab2, &aa2, &bb2);
		cos_step(load_half16(a + i + 48), load_half16(b + i + 48), &ab3, &aa3, &bb3);
	}
	/* up to three full blocks of 16, then one masked block */
	for (; i < n; i += 16)
	{
		int			k = n - i < 16 ? n - i : 16;

		cos_step(load_half16_tail(a + i, k), load_half16_tail(b + i, k), &ab1, &aa1, &bb1);
	}
	*dot = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(ab0, ab1), _mm512_add_ps(ab2, ab3)));
	*norma = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(aa0, aa1), _mm512_add_ps(aa2, aa3)));
	*normb = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(bb0, bb1), _mm512_add_ps(bb2, bb3)));
}

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
	.f32_l2sq = avx512_f32_l2sq,
	.f32_dot = avx512_f32_dot,
	.f32_l1 = avx512_f32_l1,
	.f32_cos = avx512_f32_cos,
	.f16_l2sq = avx512_f16_l2sq,
	.f16_dot = avx512_f16_dot,
	.f16_l1 = avx512_f16_l1,
	.f16_cos = avx512_f16_cos,
	.bit_hamming = avx512_bit_hamming,
	.bit_jaccard = avx512_bit_jaccard,
	/* the batched kernels: AVX2's (an AVX-512 CPU has AVX2; see distance.h) */
	.f32_dot_many = ivf_dot_many_avx2,
	.f32_l2sq_many = ivf_l2sq_many_avx2,
	.bound_filter = ivf_filter_avx2,
	.min_except = ivf_min_except_avx2,
};
