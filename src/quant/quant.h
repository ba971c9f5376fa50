/*
 * quant.h — vector codecs: IEEE float16 today; SQ8, PQ and binary codes join
 * here as the tiered storage and compact index codes land.
 *
 * Pure C: no PostgreSQL headers (unit-tested with Check).
 */
#ifndef RV_QUANT_H
#define RV_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IEEE 754 binary16, stored as its bit pattern. */
typedef uint16_t rv_half;

#define RV_HALF_MAX 65504.0f

/* Exact widening: every half is a float. */
float		rv_half_to_float(rv_half h);

/*
 * Narrowing with round-to-nearest-even.  Finite floats beyond the half range
 * become +/-Inf; callers that must reject that check rv_half_is_inf() on the
 * result against isinf() on the input (as halfvec input does).
 */
rv_half		rv_float_to_half(float f);

static inline bool
rv_half_is_inf(rv_half h)
{
	return (h & 0x7FFF) == 0x7C00;
}

static inline bool
rv_half_is_nan(rv_half h)
{
	return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;
}

/* Batch conversions (F16C when available through the active kernels). */
void		rv_half_to_float_n(const rv_half *in, float *out, size_t n);
void		rv_float_to_half_n(const float *in, rv_half *out, size_t n);

/*
 * SQ8 (sq8.c): one byte a dimension, x ~= offset + code * scale with a
 * per-vector offset and scale stored as float16.  Encoding refuses (returns
 * false) non-finite values and ranges beyond float16; the error of each
 * decoded component is at most scale / 2.
 */
bool		rv_sq8_encode(const float *x, size_t dim, rv_half *offset,
						  rv_half *scale, uint8_t *codes);
void		rv_sq8_decode(rv_half offset, rv_half scale, const uint8_t *codes,
						  size_t dim, float *out);

/*
 * PQ (pq.c): m one-byte codes per vector, k <= 256 centroids per sub-space;
 * sub-vector j covers [rv_pq_sub_start(dim, m, j), rv_pq_sub_start(dim, m,
 * j + 1)).  A codebook is k * dim floats.  Training needs n >= k rows and
 * rv_pq_train_workspace() bytes of caller-provided scratch memory.
 */
int			rv_pq_sub_start(int dim, int m, int j);
size_t		rv_pq_train_workspace(size_t n, int dim, int m, int k);
bool		rv_pq_train(const float *data, size_t n, int dim, int m, int k,
						int iters, uint64_t seed, float *centroids,
						void *workspace);
void		rv_pq_encode(const float *centroids, int dim, int m, int k,
						 const float *x, uint8_t *codes);
void		rv_pq_decode(const float *centroids, int dim, int m, int k,
						 const uint8_t *codes, float *out);

#endif							/* RV_QUANT_H */
