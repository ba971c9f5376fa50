/*-------------------------------------------------------------------------
 *
 * distance_avx2.c
 *	  AVX2 + FMA + F16C distance kernels (the rv_kernels_avx2 table).
 *
 * NOTES
 *	  Compiled with -mavx2 -mfma -mf16c because of its name; only ever
 *	  called through rv_kernels_avx2, which distance.c selects only after
 *	  rv_cpu_has_avx2() confirmed the CPU features and the OS's YMM support.
 *
 *	  The float kernels are distance_float_tmpl.h's, with 8-lane vectors:
 *	  four independent accumulators so that the FMA latency (4-5 cycles)
 *	  is hidden behind the two FMA ports.  Sums stay in float32.  After
 *	  the 32-wide loop an 8-wide loop takes what it can, and fewer than 8
 *	  trailing elements are summed one at a time, so no load touches
 *	  memory past element n-1.
 *
 *	  Results differ from the scalar reference only by summation order
 *	  (and FMA's single rounding), i.e. within float rounding; sums whose
 *	  partial sums are all exact (small integers) are identical.
 *
 *	  Bit kernels count 32 bytes at a time with the VPSHUFB nibble table
 *	  (two table lookups per byte, then VPSADBW folds the byte counts into
 *	  64-bit lanes); the last 0..31 bytes go through the 64-bit POPCNT
 *	  instruction (implied by -mavx2 and checked by src/simd/isa.c).  (The
 *	  scalar kernels' loop, bits_count_words, would do the same work but
 *	  compiled to ~1.5% more instructions here: so not shared.)  The
 *	  obvious alternative, POPCNT on every 8 bytes with several counters,
 *	  is timed next to it by bench/bench_kernels: VPSHUFB was about 1.5x
 *	  faster for Hamming and 1.2-1.4x for Jaccard at 768 and 1536 bytes
 *	  on the AMD EPYC (family 26, Zen 5) we measured, and about even for
 *	  Jaccard at 128 bytes.
 *
 *	  The batched kernels (IVFFlat; also in the AVX-512 table) take rows
 *	  four at a time: each 8-float step of the query is loaded once for
 *	  the four rows, and each row keeps its own accumulator, so its sum is
 *	  the same as when it is alone (the single-row path does the same
 *	  operations in the same order).
 *
 * IDENTIFICATION
 *	  src/distance/distance_avx2.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "distance/distance.h"
#include "distance/distance_inline.h"
#include "simd/half.h"

/* Sum the eight lanes of v. */
static inline float
hsum256(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);
	__m128		s = _mm_add_ps(lo, hi);

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Eight halves widened to floats (unaligned load of 16 bytes). */
static inline __m256
load_half8(const rv_half *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
}

/* |x| for eight floats: clear the sign bits. */
static inline __m256
abs256(__m256 x)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

/* ------------------------------------------------------------------------
 * float32 and float16 (VCVTPH2PS widens 8 halves exactly): the kernels of
 * distance_float_tmpl.h with 8-lane vectors and a scalar tail
 * ------------------------------------------------------------------------
 */

#define TMPL_V				__m256
#define TMPL_W				8
#define TMPL_ZERO()			_mm256_setzero_ps()
#define TMPL_ADD(x, y)		_mm256_add_ps(x, y)
#define TMPL_SUB(x, y)		_mm256_sub_ps(x, y)
#define TMPL_FMADD(x, y, z) _mm256_fmadd_ps(x, y, z)
#define TMPL_ABS(x)			abs256(x)
#define TMPL_HSUM(v)		hsum256(v)
#define TMPL_MASKED			0

#define TMPL_ELEM			float
#define TMPL_LOAD(p)		_mm256_loadu_ps(p)
#define TMPL_TO_FLOAT(x)	(x)
#define TMPL_FN(name)		avx2_f32_##name
#include "distance/distance_float_tmpl.h"

#define TMPL_ELEM			rv_half
#define TMPL_LOAD(p)		load_half8(p)
#define TMPL_TO_FLOAT(x)	rv_half_to_float_inline(x)
#define TMPL_FN(name)		avx2_f16_##name
#include "distance/distance_float_tmpl.h"

/* ------------------------------------------------------------------------
 * bits
 * ------------------------------------------------------------------------
 */

static inline uint64_t
load_u64(const uint8_t *p)
{
	uint64_t	x;

	memcpy(&x, p, sizeof(x));
	return x;
}

static inline __m256i
load_bytes32(const uint8_t *p)
{
	return _mm256_loadu_si256((const __m256i *) p);
}

/*
 * Per-byte popcount of 32 bytes: look both nibbles of every byte up in a
 * 16-entry table with VPSHUFB and add (each byte of the result is 0..8).
 */
static inline __m256i
popcount_bytes(__m256i x)
{
	const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
										   0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i low4 = _mm256_set1_epi8(0x0F);
	__m256i		lo = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low4));
	__m256i		hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low4));

	return _mm256_add_epi8(lo, hi);
}

/* Add the 32 byte counts of c into the four 64-bit lanes of acc (VPSADBW). */
static inline __m256i
add_byte_counts(__m256i acc, __m256i c)
{
	return _mm256_add_epi64(acc, _mm256_sad_epu8(c, _mm256_setzero_si256()));
}

static inline uint64_t
hsum_epi64(__m256i v)
{
	__m128i		s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	return (uint64_t) (_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
}

static uint64_t
avx2_bit_hamming(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	__m256i		acc0 = _mm256_setzero_si256();
	__m256i		acc1 = _mm256_setzero_si256();
	uint64_t	count;
	size_t		i = 0;

	for (; i + 64 <= nbytes; i += 64)
	{
		__m256i		x0 = _mm256_xor_si256(load_bytes32(a + i), load_bytes32(b + i));
		__m256i		x1 = _mm256_xor_si256(load_bytes32(a + i + 32), load_bytes32(b + i + 32));

		acc0 = add_byte_counts(acc0, popcount_bytes(x0));
		acc1 = add_byte_counts(acc1, popcount_bytes(x1));
	}
	if (i + 32 <= nbytes)
	{
		acc0 = add_byte_counts(acc0, popcount_bytes(_mm256_xor_si256(load_bytes32(a + i),
																	 load_bytes32(b + i))));
		i += 32;
	}
	count = hsum_epi64(_mm256_add_epi64(acc0, acc1));
	for (; i + 8 <= nbytes; i += 8)
		count += (uint64_t) _mm_popcnt_u64(load_u64(a + i) ^ load_u64(b + i));
	for (; i < nbytes; i++)
		count += (uint64_t) _mm_popcnt_u32((unsigned) (a[i] ^ b[i]));
	return count;
}

static void
avx2_bit_jaccard(const uint8_t *a, const uint8_t *b, size_t nbytes,
				 uint64_t *ab, uint64_t *aa_plus_bb)
{
	__m256i		both = _mm256_setzero_si256();
	__m256i		each = _mm256_setzero_si256();
	uint64_t	nboth;
	uint64_t	neach;
	size_t		i = 0;

	for (; i + 32 <= nbytes; i += 32)
	{
		__m256i		x = load_bytes32(a + i);
		__m256i		y = load_bytes32(b + i);

		both = add_byte_counts(both, popcount_bytes(_mm256_and_si256(x, y)));
		/* 0..16 per byte: still fits, so one VPSADBW covers a and b */
		each = add_byte_counts(each, _mm256_add_epi8(popcount_bytes(x), popcount_bytes(y)));
	}
	nboth = hsum_epi64(both);
	neach = hsum_epi64(each);
	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x = load_u64(a + i);
		uint64_t	y = load_u64(b + i);

		nboth += (uint64_t) _mm_popcnt_u64(x & y);
		neach += (uint64_t) (_mm_popcnt_u64(x) + _mm_popcnt_u64(y));
	}
	for (; i < nbytes; i++)
	{
		nboth += (uint64_t) _mm_popcnt_u32((unsigned) (a[i] & b[i]));
		neach += (uint64_t) (_mm_popcnt_u32(a[i]) + _mm_popcnt_u32(b[i]));
	}
	*ab = nboth;
	*aa_plus_bb = neach;
}

/* ------------------------------------------------------------------------
 * Batched float32 (IVFFlat): one query against many rows
 * ------------------------------------------------------------------------
 */

/* One 8-lane step: acc + (x - r)^2 for squared L2, else acc + x * r */
static inline __m256
many_step8(__m256 x, __m256 r, __m256 acc, int l2)
{
	__m256		d = _mm256_sub_ps(x, r);

	return l2 ? _mm256_fmadd_ps(d, d, acc) : _mm256_fmadd_ps(x, r, acc);
}

/* The same for one element of the tail */
static inline float
many_step1(float x, float r, float sum, int l2)
{
	float		e = x - r;

	return l2 ? fmaf(e, e, sum) : fmaf(x, r, sum);
}

/* One row: the per-row sequence of the four-row loop in many_avx2 */
static inline __attribute__((always_inline)) float
many_one(const float *q, const float *r, int dim, int l2)
{
	__m256		acc = _mm256_setzero_ps();
	float		sum;
	int			d = 0;

	for (; d + 8 <= dim; d += 8)
		acc = many_step8(_mm256_loadu_ps(q + d), _mm256_loadu_ps(r + d), acc, l2);
	sum = hsum256(acc);
	for (; d < dim; d++)
		sum = many_step1(q[d], r[d], sum, l2);
	return sum;
}

/* Rows four at a time, then one at a time; l2 is a constant at each call */
static inline __attribute__((always_inline)) void
many_avx2(const float *q, const float *const *rows, int count, int dim, float *out, int l2)
{
	int			i = 0;

	for (; i + 4 <= count; i += 4)
	{
		const float *r0 = rows[i];
		const float *r1 = rows[i + 1];
		const float *r2 = rows[i + 2];
		const float *r3 = rows[i + 3];
		__m256		a0 = _mm256_setzero_ps();
		__m256		a1 = _mm256_setzero_ps();
		__m256		a2 = _mm256_setzero_ps();
		__m256		a3 = _mm256_setzero_ps();
		float		s0,
					s1,
					s2,
					s3;
		int			d = 0;

		for (; d + 8 <= dim; d += 8)
		{
			__m256		x = _mm256_loadu_ps(q + d);

			a0 = many_step8(x, _mm256_loadu_ps(r0 + d), a0, l2);
			a1 = many_step8(x, _mm256_loadu_ps(r1 + d), a1, l2);
			a2 = many_step8(x, _mm256_loadu_ps(r2 + d), a2, l2);
			a3 = many_step8(x, _mm256_loadu_ps(r3 + d), a3, l2);
		}
		s0 = hsum256(a0);
		s1 = hsum256(a1);
		s2 = hsum256(a2);
		s3 = hsum256(a3);
		for (; d < dim; d++)
		{
			s0 = many_step1(q[d], r0[d], s0, l2);
			s1 = many_step1(q[d], r1[d], s1, l2);
			s2 = many_step1(q[d], r2[d], s2, l2);
			s3 = many_step1(q[d], r3[d], s3, l2);
		}
		out[i] = s0;
		out[i + 1] = s1;
		out[i + 2] = s2;
		out[i + 3] = s3;
	}
	for (; i < count; i++)
		out[i] = many_one(q, rows[i], dim, l2);
}

void
ivf_dot_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out)
{
	many_avx2(q, rows, count, dim, out, 0);
}

void
ivf_l2sq_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out)
{
	many_avx2(q, rows, count, dim, out, 1);
}

/* Eight bounds at a time: a compare mask, then its set bits in order */
int
ivf_filter_avx2(const float *lower, const float *halfcc, float u, int k, int skip, int *out)
{
	__m256		uu = _mm256_set1_ps(u);
	int			n = 0;
	int			c = 0;

	for (; c + 8 <= k; c += 8)
	{
		__m256		m1 = _mm256_cmp_ps(uu, _mm256_loadu_ps(lower + c), _CMP_GT_OQ);
		__m256		m2 = _mm256_cmp_ps(uu, _mm256_loadu_ps(halfcc + c), _CMP_GT_OQ);
		unsigned int bits = (unsigned int) _mm256_movemask_ps(_mm256_and_ps(m1, m2));

		if (skip >= c && skip < c + 8)
			bits &= ~(1u << (skip - c));
		while (bits)
		{
			out[n++] = c + __builtin_ctz(bits);
			bits &= bits - 1;
		}
	}
	for (; c < k; c++)
	{
		out[n] = c;
		n += (c != skip) & (u > lower[c]) & (u > halfcc[c]);
	}
	return n;
}

float
ivf_min_except_avx2(const float *x, int k, int skip)
{
	__m256		m = _mm256_set1_ps(FLT_MAX);
	float		lanes[8];
	float		result = FLT_MAX;
	int			c = 0;

	for (; c + 8 <= k; c += 8)
	{
		__m256		v = _mm256_loadu_ps(x + c);

		if (skip >= c && skip < c + 8)
		{
			_mm256_storeu_ps(lanes, v);
			lanes[skip - c] = FLT_MAX;
			v = _mm256_loadu_ps(lanes);
		}
		m = _mm256_min_ps(m, v);
	}
	_mm256_storeu_ps(lanes, m);
	for (int i = 0; i < 8; i++)
		result = lanes[i] < result ? lanes[i] : result;
	return min_except_from(x, c, k, skip, result);
}

const RvKernels rv_kernels_avx2 = {
	.name = "avx2",
	RV_PAIR_KERNELS(avx2),
	RV_BATCH_KERNELS(avx2),
};
