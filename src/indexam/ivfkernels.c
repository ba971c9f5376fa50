/*
 * ivfkernels.c — portable versions of the IVFFlat batched kernels.
 *
 * Used when the CPU has no AVX2 (or RV_KERNELS=scalar forces the scalar
 * kernels).  Four partial sums per row, combined in a fixed order, so that
 * a row's result does not depend on the rows batched with it.
 */
#include <float.h>

#include "indexam/ivfkernels.h"

void
ivf_dot_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out)
{
	for (int i = 0; i < count; i++)
	{
		const float *r = rows[i];
		float		s0 = 0,
					s1 = 0,
					s2 = 0,
					s3 = 0;
		int			d = 0;

		for (; d + 4 <= dim; d += 4)
		{
			s0 += q[d] * r[d];
			s1 += q[d + 1] * r[d + 1];
			s2 += q[d + 2] * r[d + 2];
			s3 += q[d + 3] * r[d + 3];
		}
		for (; d < dim; d++)
			s0 += q[d] * r[d];
		out[i] = (s0 + s1) + (s2 + s3);
	}
}

void
ivf_l2sq_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out)
{
	for (int i = 0; i < count; i++)
	{
		const float *r = rows[i];
		float		s0 = 0,
					s1 = 0,
					s2 = 0,
					s3 = 0;
		int			d = 0;

		for (; d + 4 <= dim; d += 4)
		{
			float		e0 = q[d] - r[d];
			float		e1 = q[d + 1] - r[d + 1];
			float		e2 = q[d + 2] - r[d + 2];
			float		e3 = q[d + 3] - r[d + 3];

			s0 += e0 * e0;
			s1 += e1 * e1;
			s2 += e2 * e2;
			s3 += e3 * e3;
		}
		for (; d < dim; d++)
		{
			float		e = q[d] - r[d];

			s0 += e * e;
		}
		out[i] = (s0 + s1) + (s2 + s3);
	}
}

int
ivf_filter_scalar(const float *lower, const float *halfcc, float u, int k, int skip, int *out)
{
	int			n = 0;

	for (int c = 0; c < k; c++)
	{
		out[n] = c;
		n += (c != skip) & (u > lower[c]) & (u > halfcc[c]);
	}
	return n;
}

float
ivf_min_except_scalar(const float *x, int k, int skip)
{
	float		m = FLT_MAX;

	for (int c = 0; c < k; c++)
	{
		if (c != skip && x[c] < m)
			m = x[c];
	}
	return m;
}
