/*
 * distance_tmpl_sums.h — the squared L2, dot and L1 kernels of one kernel
 * template instance, each TMPL_FN(sum) with its kind; included (without an
 * include guard) by distance_scalar_tmpl.h and distance_float_tmpl.h after
 * they define TMPL_FN(sum), under the same TMPL_ELEM and TMPL_FN.
 *
 * Pure C: no PostgreSQL headers.
 */

static float
TMPL_FN(l2sq) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n)
{
	return TMPL_FN(sum) (a, b, n, kind_l2sq);
}

static float
TMPL_FN(dot) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n)
{
	return TMPL_FN(sum) (a, b, n, kind_dot);
}

static float
TMPL_FN(l1) (const TMPL_ELEM *a, const TMPL_ELEM *b, int n)
{
	return TMPL_FN(sum) (a, b, n, kind_l1);
}
