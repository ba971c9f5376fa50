/*
 * quant.h — vector codecs: IEEE float16, SQ8 and PQ (tiered storage), and
 * the compact index codes (float32, float16, sq8, binary) of codes.c.
 *
 * Pure C: no PostgreSQL headers (unit-tested with Check).
 */
#ifndef RV_QUANT_H
#define RV_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simd/half.h"			/* rv_half, RV_HALF_MAX */

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

/* Batch conversions (F16C when the active SIMD level is not scalar). */
void		rv_half_to_float_n(const rv_half *in, float *out, size_t n);
void		rv_float_to_half_n(const float *in, rv_half *out, size_t n);

/* float16_avx2.c: F16C batch conversions.  Only call when rv_cpu_has_avx2();
 * results equal the scalar rv_half_to_float / rv_float_to_half bit for bit. */
void		rv_f16c_half_to_float_n(const rv_half *in, float *out, size_t n);
void		rv_f16c_float_to_half_n(const float *in, rv_half *out, size_t n);

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

/*
 * PQ rotation and direction coding (pq.c): a learned orthogonal rotation
 * (dim x dim floats) applied before cutting sub-spaces, and an encoder that
 * picks codes for the best cosine to a unit vector.
 */
size_t		rv_pq_rotation_workspace(int dim);
bool		rv_pq_rotation_train(const float *data, size_t n, int dim, int m,
								 float *rotation, void *workspace);
void		rv_pq_rotate(const float *rotation, int dim, const float *x,
						 float *y);
void		rv_pq_unrotate(const float *rotation, int dim, const float *y,
						   float *x);
void		rv_pq_encode_direction(const float *centroids, int dim, int m,
								   int k, const float *x, uint8_t *codes);

/*
 * Compact index codes (codes.c): the "storage" of an index's vectors.
 * Encode a float32 vector as a code, and rank codes against a float32
 * query.  Layouts and the meaning of each distance are in codes.c; the
 * values of both enums are stored in index metapages, never renumber.
 */
typedef enum RvCodeKind
{
	RV_CODE_FLOAT32 = 0,
	RV_CODE_FLOAT16 = 1,
	RV_CODE_SQ8 = 2,
	RV_CODE_BINARY = 3
} RvCodeKind;

typedef enum RvCodeMetric
{
	RV_CODE_L2SQ = 0,			/* squared Euclidean */
	RV_CODE_NEGDOT = 1,			/* negative inner product */
	RV_CODE_COSINE = 2,			/* 1 - cosine similarity */
	RV_CODE_L1 = 3				/* taxicab */
} RvCodeMetric;

/* A query prepared for one kind and metric; see rv_code_query_init. */
typedef struct RvCodeQuery
{
	RvCodeKind	kind;
	RvCodeMetric metric;
	int			dim;
	const float *x;				/* the query (caller's memory) */
	float		sum;			/* sum of x */
	float		norm2;			/* |x|^2 */
	float		norm;			/* |x| */
	void	   *aux;			/* float16 query or sign bits (workspace) */
	float		(*sq8dot) (const float *q, const uint8_t *c, int n);
} RvCodeQuery;

size_t		rv_code_size(RvCodeKind kind, int dim);
bool		rv_code_encode(RvCodeKind kind, const float *x, int dim, void *code);
void		rv_code_decode(RvCodeKind kind, const void *code, int dim, float *out);
size_t		rv_code_query_workspace(RvCodeKind kind, int dim);
void		rv_code_query_init(RvCodeQuery *q, RvCodeKind kind, RvCodeMetric metric,
							   const float *x, int dim, void *workspace);
float		rv_code_distance(const RvCodeQuery *q, const void *code);
bool		rv_code_distance_codes(RvCodeKind kind, RvCodeMetric metric, const void *a,
								   const void *b, int dim, float *out);
void		rv_code_error(RvCodeKind kind, const void *code, int dim, float *err,
						  float *norm);

/* sum(q[i] * c[i]) over byte codes: reference and AVX2 (codes_avx2.c) */
float		rv_sq8_dot_scalar(const float *q, const uint8_t *c, int n);
float		rv_sq8_dot_avx2(const float *q, const uint8_t *c, int n);

#endif							/* RV_QUANT_H */
