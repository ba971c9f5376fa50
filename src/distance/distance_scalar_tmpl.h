/*-------------------------------------------------------------------------
 *
 * distance_scalar_tmpl.h
 *	  The scalar reference float kernels (squared L2, dot, L1, cosine),
 *	  written once for one element type per inclusion.
 *
 * NOTES
 *	  distance.c includes this file twice, for float32 and for float16,
 *	  after defining TMPL_ELEM (the element type), TMPL_TO_FLOAT(x) (one
 *	  element widened, exactly) and TMPL_FN(name) (the instance's name of
 *	  kernel "name"); they are #undef'd at the end.
 *
 *	  These are the definition of each distance: the sum is formed in
 *	  float32, one element at a time, in index order.
 *
 * IDENTIFICATION
 *	  src/distance/distance_scalar_tmpl.h
 *
 *-------------------------------------------------------------------------
 */

#include "distance/distance_inline.h"

/* The body of the squared L2, dot and L1 kernels */
static inline __attribute__((always_inline)) float
TMPL_FN(sum) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n, int kind)
{
	float		sum = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		/* a's element first: the order the written-out kernels compiled to */
		float		x = TMPL_TO_FLOAT(a[i]);
		float		y = TMPL_TO_FLOAT(b[i]);

		sum = kind_step1(x, y, sum, kind);
	}
	return sum;
}

/* the squared L2, dot and L1 kernels: TMPL_FN(sum) of each kind */
#include "distance/distance_tmpl_sums.h"

static void
TMPL_FN(cos) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n,
			  float *dot, float *norma, float *normb)
{
	float		ab = 0.0f;
	float		aa = 0.0f;
	float		bb = 0.0f;
	int			i;

	for (i = 0; i < n; i++)
	{
		float		x = TMPL_TO_FLOAT(a[i]);
		float		y = TMPL_TO_FLOAT(b[i]);

		ab += x * y;
		aa += x * x;
		bb += y * y;
	}
	*dot = ab;
	*norma = aa;
	*normb = bb;
}

#undef TMPL_ELEM
#undef TMPL_TO_FLOAT
#undef TMPL_FN
