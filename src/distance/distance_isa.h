/*
 * distance_isa.h — internals shared by the kernel files, the float16 codec,
 * the Check tests and the kernel benchmark; not part of the public API in
 * distance.h.
 *
 * Pure C: no PostgreSQL headers.
 */
#ifndef RV_DISTANCE_ISA_H
#define RV_DISTANCE_ISA_H

#include <stddef.h>

#include "distance/distance.h"

/* distance.c: the table for "scalar", "avx2" or "avx512" if this CPU can run
 * it, else NULL (also for unknown names). */
extern const RvKernels *rv_kernels_lookup(const char *name);

/* float16_avx2.c: F16C batch conversions.  Only call when rv_cpu_has_avx2();
 * results equal the scalar rv_half_to_float / rv_float_to_half bit for bit. */
extern void rv_f16c_half_to_float_n(const rv_half *in, float *out, size_t n);
extern void rv_f16c_float_to_half_n(const float *in, rv_half *out, size_t n);

#endif							/* RV_DISTANCE_ISA_H */
