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

#endif							/* RV_QUANT_H */
