/*
 * ivfkernels_avx2.c — AVX2 + FMA versions of the IVFFlat batched kernels.
 *
 * Compiled with -mavx2 -mfma (the Makefile's rule for *_avx2.c) and only
 * called after rv_cpu_has_avx2() said yes.  Rows go four at a time: each
 * 8-float step of the query is loaded once for the four rows, and each row
 * keeps its own accumulator, so its sum is the same as when it is alone
 * (the single-row path below does the same operations in the same order).
 */
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "indexam/ivfkernels.h"

/* Horizontal sum of 8 floats, always in the same order */
static inline float
hsum8(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);
	__m128		s = _mm_add_ps(lo, hi);

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* One row's dot product: the per-row sequence of the four-row loop */
static inline float
dot_one(const float *q, const float *r, int dim)
{
	__m256		acc = _mm256_setzero_ps();
	float		sum;
	int			d = 0;

	for (; d + 8 <= dim; d += 8)
		acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(r + d), acc);
	sum = hsum8(acc);
	for (; d < dim; d++)
		sum = fmaf(q[d], r[d], sum);
	return sum;
}

void
ivf_dot_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out)
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

			a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r0 + d), a0);
			a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r1 + d), a1);
			a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r2 + d), a2);
			a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r3 + d), a3);
		}
		s0 = hsum8(a0);
		s1 = hsum8(a1);
		s2 = hsum8(a2);
		s3 = hsum8(a3);
		for (; d < dim; d++)
		{
			s0 = fmaf(q[d], r0[d], s0);
			s1 = fmaf(q[d], r1[d], s1);
			s2 = fmaf(q[d], r2[d], s2);
			s3 = fmaf(q[d], r3[d], s3);
		}
		out[i] = s0;
		out[i + 1] = s1;
		out[i + 2] = s2;
		out[i + 3] = s3;
	}
	for (; i < count; i++)
		out[i] = dot_one(q, rows[i], dim);
}

/* One row's squared L2 distance: the per-row sequence of the four-row loop */
static inline float
l2sq_one(const float *q, const float *r, int dim)
{
	__m256		acc = _mm256_setzero_ps();
	float		sum;
	int			d = 0;

	for (; d + 8 <= dim; d += 8)
	{
		__m256		diff = _mm256_sub_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(r + d));

		acc = _mm256_fmadd_ps(diff, diff, acc);
	}
	sum = hsum8(acc);
	for (; d < dim; d++)
	{
		float		diff = q[d] - r[d];

		sum = fmaf(diff, diff, sum);
	}
	return sum;
}

void
ivf_l2sq_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out)
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
			__m256		d0 = _mm256_sub_ps(x, _mm256_loadu_ps(r0 + d));
			__m256		d1 = _mm256_sub_ps(x, _mm256_loadu_ps(r1 + d));
			__m256		d2 = _mm256_sub_ps(x, _mm256_loadu_ps(r2 + d));
			__m256		d3 = _mm256_sub_ps(x, _mm256_loadu_ps(r3 + d));

			a0 = _mm256_fmadd_ps(d0, d0, a0);
			a1 = _mm256_fmadd_ps(d1, d1, a1);
			a2 = _mm256_fmadd_ps(d2, d2, a2);
			a3 = _mm256_fmadd_ps(d3, d3, a3);
		}
		s0 = hsum8(a0);
		s1 = hsum8(a1);
		s2 = hsum8(a2);
		s3 = hsum8(a3);
		for (; d < dim; d++)
		{
			float		e0 = q[d] - r0[d];
			float		e1 = q[d] - r1[d];
			float		e2 = q[d] - r2[d];
			float		e3 = q[d] - r3[d];

			s0 = fmaf(e0, e0, s0);
			s1 = fmaf(e1, e1, s1);
			s2 = fmaf(e2, e2, s2);
			s3 = fmaf(e3, e3, s3);
		}
		out[i] = s0;
		out[i + 1] = s1;
		out[i + 2] = s2;
		out[i + 3] = s3;
	}
	for (; i < count; i++)
		out[i] = l2sq_one(q, rows[i], dim);
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
	for (; c < k; c++)
	{
		if (c != skip && x[c] < result)
			result = x[c];
	}
	return result;
}
