/*-------------------------------------------------------------------------
 *
 * rv_random.h
 *	  The fixed-seed xorshift64 generator of the pure computations that must
 *	  give the same result for the same input and seed: PQ training's
 *	  sample rows (src/quant/pq.c) and the spectral code's start vectors
 *	  (src/integrity/igspectral.c).
 *
 * NOTES
 *	  Marsaglia's xorshift with the (13, 7, 17) triple: period 2^64 - 1
 *	  over the non-zero states; a zero state stays zero, so seeds must be
 *	  non-zero.  Repeatable, not unpredictable: never for anything that
 *	  must be secret (PostgreSQL's pg_strong_random is for that), and not
 *	  the learning model's xorshift64* (src/gnn/gnn_model.c), a different
 *	  generator whose sequences its tests pin.
 *
 *	  Pure C: no PostgreSQL headers, usable by the Check-tested modules.
 *
 * IDENTIFICATION
 *	  src/common/rv_random.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_RANDOM_H
#define RV_RANDOM_H

#include <stdint.h>

/* Advances *state and returns the new state. */
static inline uint64_t
rv_xorshift64(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif							/* RV_RANDOM_H */
