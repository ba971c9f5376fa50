/*
 * distance_inline.h — scalar steps shared by the kernel files: the three
 * sums the float kernels compute (one term of each), for the kernel
 * templates (distance_scalar_tmpl.h, distance_float_tmpl.h), the 64-bit
 * word bit counts of the scalar bit kernels, the minimum-but-one loop, and
 * the members of the kernel tables.
 *
 * A body takes the kind as a constant argument and is inlined, so the kind
 * costs no branch at run time.
 *
 * Pure C: no PostgreSQL headers.
 */
#ifndef RV_DISTANCE_INLINE_H
#define RV_DISTANCE_INLINE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum
{
	kind_l2sq,					/* (a - b)^2 */
	kind_dot,					/* a * b */
	kind_l1						/* |a - b| */
};

/* sum plus the term of x and y */
static inline float
kind_step1(float x, float y, float sum, int kind)
{
	float		d = x - y;

	if (kind == kind_l2sq)
		return sum + d * d;
	if (kind == kind_dot)
		return sum + x * y;
	return sum + fabsf(d);
}

/*
 * Bit counts of a and b from byte 0 to nbytes: popcount(a ^ b) into *c1
 * (Hamming), or popcount(a & b) into *c1 and popcount(a) + popcount(b) into
 * *c2 (Jaccard); 8 bytes at a time, then byte by byte.  Adds to *c1, *c2.
 */
static inline __attribute__((always_inline)) void
bits_count_words(const uint8_t *a, const uint8_t *b, size_t nbytes, int jaccard,
				 uint64_t *c1, uint64_t *c2)
{
	uint64_t	s1 = 0;
	uint64_t	s2 = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x;
		uint64_t	y;

		/* memcpy: the bytes carry no alignment guarantee */
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (jaccard)
		{
			s1 += (uint64_t) __builtin_popcountll(x & y);
			s2 += (uint64_t) (__builtin_popcountll(x) + __builtin_popcountll(y));
		}
		else
			s1 += (uint64_t) __builtin_popcountll(x ^ y);
	}
	for (; i < nbytes; i++)
	{
		if (jaccard)
		{
			s1 += (uint64_t) __builtin_popcount((unsigned) (a[i] & b[i]));
			s2 += (uint64_t) (__builtin_popcount(a[i]) + __builtin_popcount(b[i]));
		}
		else
			s1 += (uint64_t) __builtin_popcount((unsigned) (a[i] ^ b[i]));
	}
	*c1 += s1;
	*c2 += s2;
}

/* min(m, x[c] for c0 <= c < k, c != skip): the minimum but one, from c0 */
static inline float
min_except_from(const float *x, int c0, int k, int skip, float m)
{
	for (int c = c0; c < k; c++)
	{
		if (c != skip && x[c] < m)
			m = x[c];
	}
	return m;
}

/*
 * The members of an RvKernels initializer, for kernels named by their
 * instruction set: <isa>_f32_l2sq .. <isa>_bit_jaccard (as the templates
 * and the bit kernels are named), and the batched ivf_*_<isa>.
 */
#define RV_PAIR_KERNELS(isa) \
	.f32_l2sq = isa##_f32_l2sq, \
	.f32_dot = isa##_f32_dot, \
	.f32_l1 = isa##_f32_l1, \
	.f32_cos = isa##_f32_cos, \
	.f16_l2sq = isa##_f16_l2sq, \
	.f16_dot = isa##_f16_dot, \
	.f16_l1 = isa##_f16_l1, \
	.f16_cos = isa##_f16_cos, \
	.bit_hamming = isa##_bit_hamming, \
	.bit_jaccard = isa##_bit_jaccard
#define RV_BATCH_KERNELS(isa) \
	.f32_dot_many = ivf_dot_many_##isa, \
	.f32_l2sq_many = ivf_l2sq_many_##isa, \
	.bound_filter = ivf_filter_##isa, \
	.min_except = ivf_min_except_##isa

#endif							/* RV_DISTANCE_INLINE_H */
