/*
 * ivfkernels.h — one query vector against many: the batched float32 kernels
 * of the IVFFlat access method.
 *
 * Pure C (no PostgreSQL headers).  Finding a row's nearest center, ranking
 * the lists for a query and scanning a page of entries all compare one
 * vector with many; doing several rows at once loads the query once per
 * step for all of them and pays the horizontal sums and the call once per
 * group rather than once per pair.
 *
 * Each row's sum is computed by the same sequence of operations whatever the
 * group it falls in (and whether count is a multiple of the group size), so
 * a distance does not depend on its neighbours in the batch: a build, an
 * insert and a scan that compare the same two vectors get the same number.
 */
#ifndef RV_IVFKERNELS_H
#define RV_IVFKERNELS_H

/* out[i] = sum over d of q[d] * rows[i][d], for i < count */
typedef void (*ivf_many_kernel) (const float *q, const float *const *rows,
								 int count, int dim, float *out);

/*
 * Elkan's candidate test over a row of bounds: writes to out, in order,
 * every c < k other than skip with u > lower[c] and u > halfcc[c]; returns
 * how many.
 */
typedef int (*ivf_filter_kernel) (const float *lower, const float *halfcc, float u,
								  int k, int skip, int *out);

/* min over c < k, c != skip, of x[c] (FLT_MAX when there is none) */
typedef float (*ivf_min_except_kernel) (const float *x, int k, int skip);

/* Portable versions (ivfkernels.c) */
int			ivf_filter_scalar(const float *lower, const float *halfcc, float u, int k, int skip, int *out);
float		ivf_min_except_scalar(const float *x, int k, int skip);
void		ivf_dot_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out);
void		ivf_l2sq_many_scalar(const float *q, const float *const *rows, int count, int dim, float *out);

/* AVX2 + FMA versions (ivfkernels_avx2.c); only after a cpuid check */
int			ivf_filter_avx2(const float *lower, const float *halfcc, float u, int k, int skip, int *out);
float		ivf_min_except_avx2(const float *x, int k, int skip);
void		ivf_dot_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out);
void		ivf_l2sq_many_avx2(const float *q, const float *const *rows, int count, int dim, float *out);

#endif							/* RV_IVFKERNELS_H */
