/*-------------------------------------------------------------------------
 *
 * distance_float_tmpl.h
 *	  The SIMD float kernels (squared L2, dot, L1, cosine) written once, for
 *	  one instruction set and one element type per inclusion.
 *
 * NOTES
 *	  distance_avx2.c and distance_avx512.c each include this file twice,
 *	  for float32 and for float16 elements, after defining:
 *
 *	    TMPL_V, TMPL_W          vector type and its float lanes
 *	    TMPL_ZERO()             all lanes zero
 *	    TMPL_ADD, TMPL_SUB      lane-wise a + b, a - b
 *	    TMPL_FMADD(x, y, acc)   x * y + acc, one rounding
 *	    TMPL_ABS(x)             |x|
 *	    TMPL_HSUM(v)            the sum of the lanes, a float
 *	    TMPL_MASKED             1: the last 1..TMPL_W-1 elements are one
 *	                            masked load (TMPL_LOAD_TAIL); 0: they are
 *	                            summed one at a time after the vector sum
 *	    TMPL_ELEM               element type (float or rv_half)
 *	    TMPL_LOAD(p)            TMPL_W elements widened to floats
 *	    TMPL_LOAD_TAIL(p, k)    the first k (0..TMPL_W) elements widened,
 *	                            the other lanes zero; never reads past p[k-1]
 *	                            (only used when TMPL_MASKED)
 *	    TMPL_TO_FLOAT(x)        one element widened
 *	    TMPL_FN(name)           the name of the instance's kernel "name"
 *
 *	  and this file #undefs the element macros (TMPL_ELEM .. TMPL_FN) at
 *	  its end, so the next inclusion defines them afresh.
 *
 *	  Four independent accumulators per sum hide the FMA latency behind
 *	  the two FMA ports (one accumulator runs at a quarter of the
 *	  throughput); the main loop takes 4 * TMPL_W elements, a second loop
 *	  TMPL_W, then the tail.  No load reaches past element n-1.  Sums stay
 *	  in float32; results differ from the scalar reference only by
 *	  summation order (and FMA's single rounding).
 *
 *	  The kernel kind (kind_*, distance_inline.h) is a constant argument of
 *	  always-inlined bodies, so each kernel compiles to its own loop with no branch on
 *	  the kind: the same instructions as when each was written out (checked
 *	  with objdump when this template replaced the written-out kernels).
 *
 * IDENTIFICATION
 *	  src/distance/distance_float_tmpl.h
 *
 *-------------------------------------------------------------------------
 */

#include "distance/distance_inline.h"

/* One vector step of kernel kind: acc plus the lanes' terms */
static inline TMPL_V
TMPL_FN(step) (TMPL_V x, TMPL_V y, TMPL_V acc, int kind)
{
	TMPL_V		d = TMPL_SUB(x, y);

	if (kind == kind_l2sq)
		return TMPL_FMADD(d, d, acc);
	if (kind == kind_dot)
		return TMPL_FMADD(x, y, acc);
	return TMPL_ADD(acc, TMPL_ABS(d));
}

/* The body of the squared L2, dot and L1 kernels */
static inline __attribute__((always_inline)) float
TMPL_FN(sum) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n, int kind)
{
	TMPL_V		s0 = TMPL_ZERO();
	TMPL_V		s1 = TMPL_ZERO();
	TMPL_V		s2 = TMPL_ZERO();
	TMPL_V		s3 = TMPL_ZERO();
	float		sum;
	int			i = 0;

	for (; i + 4 * TMPL_W <= n; i += 4 * TMPL_W)
	{
		s0 = TMPL_FN(step) (TMPL_LOAD(a + i), TMPL_LOAD(b + i), s0, kind);
		s1 = TMPL_FN(step) (TMPL_LOAD(a + i + TMPL_W), TMPL_LOAD(b + i + TMPL_W), s1, kind);
		s2 = TMPL_FN(step) (TMPL_LOAD(a + i + 2 * TMPL_W), TMPL_LOAD(b + i + 2 * TMPL_W), s2, kind);
		s3 = TMPL_FN(step) (TMPL_LOAD(a + i + 3 * TMPL_W), TMPL_LOAD(b + i + 3 * TMPL_W), s3, kind);
	}
	for (; i + TMPL_W <= n; i += TMPL_W)
		s0 = TMPL_FN(step) (TMPL_LOAD(a + i), TMPL_LOAD(b + i), s0, kind);
#if TMPL_MASKED
	if (i < n)
		s1 = TMPL_FN(step) (TMPL_LOAD_TAIL(a + i, n - i), TMPL_LOAD_TAIL(b + i, n - i), s1, kind);
#endif
	sum = TMPL_HSUM(TMPL_ADD(TMPL_ADD(s0, s1), TMPL_ADD(s2, s3)));
#if !TMPL_MASKED
	for (; i < n; i++)
		sum = kind_step1(TMPL_TO_FLOAT(a[i]), TMPL_TO_FLOAT(b[i]), sum, kind);
#endif
	return sum;
}

/* the squared L2, dot and L1 kernels: TMPL_FN(sum) of each kind */
#include "distance/distance_tmpl_sums.h"

/* One cosine step: dot, |a|^2 and |b|^2 partial sums of TMPL_W lanes */
static inline void
TMPL_FN(cos_step) (TMPL_V x, TMPL_V y, TMPL_V *ab, TMPL_V *aa, TMPL_V *bb)
{
	*ab = TMPL_FMADD(x, y, *ab);
	*aa = TMPL_FMADD(x, x, *aa);
	*bb = TMPL_FMADD(y, y, *bb);
}

/*
 * Cosine: three sums at once.  Four accumulators per sum (twelve of the
 * sixteen YMM registers with AVX2) keep twelve FMA chains in flight; with
 * two per sum the loop was latency-bound and about 25% slower.
 */
static void
TMPL_FN(cos) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n,
			  float *dot, float *norma, float *normb)
{
	TMPL_V		ab0 = TMPL_ZERO(),
				ab1 = ab0,
				ab2 = ab0,
				ab3 = ab0;
	TMPL_V		aa0 = ab0,
				aa1 = ab0,
				aa2 = ab0,
				aa3 = ab0;
	TMPL_V		bb0 = ab0,
				bb1 = ab0,
				bb2 = ab0,
				bb3 = ab0;
	float		sab,
				saa,
				sbb;
	int			i = 0;

	for (; i + 4 * TMPL_W <= n; i += 4 * TMPL_W)
	{
		TMPL_FN(cos_step) (TMPL_LOAD(a + i), TMPL_LOAD(b + i), &ab0, &aa0, &bb0);
		TMPL_FN(cos_step) (TMPL_LOAD(a + i + TMPL_W), TMPL_LOAD(b + i + TMPL_W), &ab1, &aa1, &bb1);
		TMPL_FN(cos_step) (TMPL_LOAD(a + i + 2 * TMPL_W), TMPL_LOAD(b + i + 2 * TMPL_W), &ab2, &aa2, &bb2);
		TMPL_FN(cos_step) (TMPL_LOAD(a + i + 3 * TMPL_W), TMPL_LOAD(b + i + 3 * TMPL_W), &ab3, &aa3, &bb3);
	}
#if TMPL_MASKED
	/* up to three full blocks, then one masked block */
	for (; i < n; i += TMPL_W)
	{
		int			k = n - i < TMPL_W ? n - i : TMPL_W;

		TMPL_FN(cos_step) (TMPL_LOAD_TAIL(a + i, k), TMPL_LOAD_TAIL(b + i, k), &ab1, &aa1, &bb1);
	}
#else
	for (; i + TMPL_W <= n; i += TMPL_W)
		TMPL_FN(cos_step) (TMPL_LOAD(a + i), TMPL_LOAD(b + i), &ab0, &aa0, &bb0);
#endif
	sab = TMPL_HSUM(TMPL_ADD(TMPL_ADD(ab0, ab1), TMPL_ADD(ab2, ab3)));
	saa = TMPL_HSUM(TMPL_ADD(TMPL_ADD(aa0, aa1), TMPL_ADD(aa2, aa3)));
	sbb = TMPL_HSUM(TMPL_ADD(TMPL_ADD(bb0, bb1), TMPL_ADD(bb2, bb3)));
#if !TMPL_MASKED
	for (; i < n; i++)
	{
		float		x = TMPL_TO_FLOAT(a[i]);
		float		y = TMPL_TO_FLOAT(b[i]);

		sab += x * y;
		saa += x * x;
		sbb += y * y;
	}
#endif
	*dot = sab;
	*norma = saa;
	*normb = sbb;
}

#undef TMPL_ELEM
#undef TMPL_LOAD
#undef TMPL_LOAD_TAIL
#undef TMPL_TO_FLOAT
#undef TMPL_FN
