/*
 * distance_isa.h — internals shared by the kernel files, the Check tests and
 * the kernel benchmark; not part of the public API in distance.h.
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

#endif							/* RV_DISTANCE_ISA_H */
