/*-------------------------------------------------------------------------
 *
 * igspectral.c
 *	  lambda2, the algebraic connectivity of the normalised Laplacian
 *	  L = I - D^-1/2 A D^-1/2: Lanczos with full reorthogonalisation, and
 *	  a dense cyclic Jacobi eigen solver as the reference.
 *
 * NOTES
 *	  L's smallest eigenvalue is 0 with eigenvector D^1/2 1 (for a graph
 *	  without isolated nodes); lambda2 is the next one, 0 exactly when the
 *	  graph is disconnected.  Lanczos starts from a fixed pseudo-random
 *	  vector orthogonal to D^1/2 1 and keeps every Lanczos vector
 *	  orthogonal to it and to each other (Gram-Schmidt twice), so the
 *	  smallest Ritz value converges to lambda2 and no ghost copies appear.
 *	  The smallest eigenvalue of the tridiagonal matrix is found by
 *	  bisection on Sturm sequence counts.  An invariant subspace (a zero
 *	  beta) restarts from a fresh vector orthogonal to all before.
 *
 *	  The result is deterministic (fixed seed) so that repeated samples of
 *	  an unchanged graph give the same value.
 *
 * IDENTIFICATION
 *	  src/integrity/igspectral.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rv_random.h"
#include "integrity/igalgo.h"

/* A symmetric sparse matrix: D^-1/2 A D^-1/2 in CSR */
typedef struct SpMat
{
	uint32_t	n;
	uint32_t   *rowStart;
	uint32_t   *col;
	double	   *val;
	double	   *sqrtDeg;
} SpMat;

/*
 * Returns 0 ok, 1 isolated node (lambda2 = 0), -1 out of memory.  The
 * matrix and its scratch arrays are allocations of mem.
 */
static int
sp_build(SpMat *s, RvIgMem *mem, uint32_t n, const RvIgEdge *edges, uint32_t nedges)
{
	uint32_t   *cur;
	double	   *deg;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->rowStart = rv_ig_alloc(mem, sizeof(uint32_t) * (n + 1), false);
	s->col = rv_ig_alloc(mem, sizeof(uint32_t) * (2 * (size_t) nedges + 1), false);
	s->val = rv_ig_alloc(mem, sizeof(double) * (2 * (size_t) nedges + 1), false);
	s->sqrtDeg = rv_ig_alloc(mem, sizeof(double) * n, false);
	cur = rv_ig_alloc(mem, sizeof(uint32_t) * n, false);
	deg = rv_ig_alloc(mem, sizeof(double) * n, false);
	if (mem->failed)
		return -1;
	rv_ig_csr_build(n, edges, nedges, s->rowStart, s->col, s->val, deg, cur);
	for (uint32_t i = 0; i < n; i++)
		s->sqrtDeg[i] = sqrt(deg[i]);
	/* the weights become D^-1/2 A D^-1/2 */
	for (uint32_t i = 0; i < n; i++)
	{
		for (uint32_t j = s->rowStart[i]; j < s->rowStart[i + 1]; j++)
		{
			uint32_t	c = s->col[j];

			s->val[j] = (deg[i] > 0 && deg[c] > 0) ? s->val[j] / (s->sqrtDeg[i] * s->sqrtDeg[c]) : 0;
		}
	}
	for (uint32_t i = 0; i < n; i++)
	{
		if (deg[i] <= 0)
			return 1;
	}
	return 0;
}

/* y = L x */
static void
sp_apply(const SpMat *s, const double *x, double *y)
{
	for (uint32_t i = 0; i < s->n; i++)
	{
		double		sum = 0;

		for (uint32_t j = s->rowStart[i]; j < s->rowStart[i + 1]; j++)
			sum += s->val[j] * x[s->col[j]];
		y[i] = x[i] - sum;
	}
}

static double
dot(const double *a, const double *b, uint32_t n)
{
	double		s = 0;

	for (uint32_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* Remove from x its components along u0 and the first k rows of V, twice */
static void
orthogonalise(double *x, const double *u0, const double *V, int k, uint32_t n)
{
	for (int pass = 0; pass < 2; pass++)
	{
		double		c = dot(x, u0, n);

		for (uint32_t i = 0; i < n; i++)
			x[i] -= c * u0[i];
		for (int j = 0; j < k; j++)
		{
			const double *v = V + (size_t) j * n;

			c = dot(x, v, n);
			for (uint32_t i = 0; i < n; i++)
				x[i] -= c * v[i];
		}
	}
}

/* Fixed-seed xorshift, so samples are repeatable */
static double
next_random(uint64_t *state)
{
	return (double) (rv_xorshift64(state) >> 11) / (double) (1ULL << 53) - 0.5;
}

/* Number of eigenvalues of the tridiagonal (alpha, beta) below x */
static int
sturm_count(const double *alpha, const double *beta, int k, double x)
{
	int			count = 0;
	double		d = 1;

	for (int i = 0; i < k; i++)
	{
		double		b2 = i > 0 ? beta[i - 1] * beta[i - 1] : 0;

		d = alpha[i] - x - (i > 0 ? b2 / d : 0);
		if (d == 0)
			d = 1e-300;
		if (d < 0)
			count++;
	}
	return count;
}

/* Smallest eigenvalue of the tridiagonal, by bisection; L's lie in [0, 2] */
static double
tridiag_min(const double *alpha, const double *beta, int k)
{
	double		lo = -0.5;
	double		hi = 2.5;

	for (int it = 0; it < 200 && hi - lo > 1e-13; it++)
	{
		double		mid = 0.5 * (lo + hi);

		if (sturm_count(alpha, beta, k, mid) >= 1)
			hi = mid;
		else
			lo = mid;
	}
	return 0.5 * (lo + hi);
}

double
rv_ig_lambda2(uint32_t n, const RvIgEdge *edges, uint32_t nedges, int max_steps)
{
	SpMat		s;
	RvIgMem		mem = RV_IG_MEM_INIT;
	int			rc;
	double	   *u0,
			   *V,
			   *w,
			   *alpha,
			   *beta;
	double		norm;
	double		prev = INFINITY;
	double		theta = NAN;
	uint64_t	seed = 0x9E3779B97F4A7C15ULL;
	int			k;

	if (n < 2)
		return -1;
	rc = rv_ig_connected(n, edges, nedges);
	if (rc < 0)
		return NAN;
	if (rc == 0)
		return 0;
	rc = sp_build(&s, &mem, n, edges, nedges);
	if (rc != 0)
	{
		rv_ig_free_all(&mem);
		return rc < 0 ? NAN : 0;
	}

	if (max_steps <= 0)
		max_steps = 300;
	if ((uint32_t) max_steps > n - 1)
		max_steps = (int) (n - 1);

	u0 = rv_ig_alloc(&mem, sizeof(double) * n, false);
	V = rv_ig_alloc(&mem, sizeof(double) * n * (size_t) (max_steps + 1), false);
	w = rv_ig_alloc(&mem, sizeof(double) * n, false);
	alpha = rv_ig_alloc(&mem, sizeof(double) * (max_steps + 1), false);
	beta = rv_ig_alloc(&mem, sizeof(double) * (max_steps + 1), false);
	if (mem.failed)
	{
		rv_ig_free_all(&mem);
		return NAN;
	}

	/* the null vector D^1/2 1, normalised */
	norm = sqrt(dot(s.sqrtDeg, s.sqrtDeg, n));
	for (uint32_t i = 0; i < n; i++)
		u0[i] = s.sqrtDeg[i] / norm;

	/* first Lanczos vector */
	for (uint32_t i = 0; i < n; i++)
		V[i] = next_random(&seed);
	orthogonalise(V, u0, NULL, 0, n);
	norm = sqrt(dot(V, V, n));
	for (uint32_t i = 0; i < n; i++)
		V[i] /= norm;

	for (k = 0; k < max_steps; k++)
	{
		double	   *v = V + (size_t) k * n;
		double	   *next = V + (size_t) (k + 1) * n;

		sp_apply(&s, v, w);
		alpha[k] = dot(v, w, n);
		orthogonalise(w, u0, V, k + 1, n);
		beta[k] = sqrt(dot(w, w, n));

		if ((k + 1) % 5 == 0 || k + 1 == max_steps)
		{
			theta = tridiag_min(alpha, beta, k + 1);
			if (fabs(theta - prev) <= 1e-10 * fmax(1e-3, fabs(theta)))
			{
				k++;
				break;
			}
			prev = theta;
		}
		if (k + 1 == max_steps)
		{
			k++;
			break;
		}

		if (beta[k] < 1e-10)
		{
			/* invariant subspace: restart orthogonal to everything so far */
			beta[k] = 0;
			for (uint32_t i = 0; i < n; i++)
				next[i] = next_random(&seed);
			orthogonalise(next, u0, V, k + 1, n);
			norm = sqrt(dot(next, next, n));
			if (norm < 1e-12)
			{
				k++;
				break;
			}
			for (uint32_t i = 0; i < n; i++)
				next[i] /= norm;
		}
		else
		{
			for (uint32_t i = 0; i < n; i++)
				next[i] = w[i] / beta[k];
		}
		/* every Lanczos vector stays orthogonal to the null vector */
		IG_ASSERT(fabs(dot(next, u0, n)) < 1e-6);
	}
	theta = tridiag_min(alpha, beta, k);
	/* a Ritz value of L lies in L's spectrum, [0, 2], up to rounding */
	IG_ASSERT(theta > -1e-6 && theta < 2 + 1e-6);

	rv_ig_free_all(&mem);
	return theta < 0 ? 0 : theta;
}

bool
rv_ig_jacobi(int n, double *a, double *eig)
{
	for (int sweep = 0; sweep < 100; sweep++)
	{
		double		off = 0;

		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++)
				off += a[p * n + q] * a[p * n + q];
		if (off < 1e-24)
			break;
		for (int p = 0; p < n; p++)
		{
			for (int q = p + 1; q < n; q++)
			{
				double		apq = a[p * n + q];
				double		theta,
							t,
							c,
							sn;

				if (fabs(apq) < 1e-300)
					continue;
				theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
				t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
				c = 1 / sqrt(t * t + 1);
				sn = t * c;
				/* A' = J^T A J on rows/columns p and q */
				for (int r = 0; r < n; r++)
				{
					double		arp = a[r * n + p];
					double		arq = a[r * n + q];

					a[r * n + p] = c * arp - sn * arq;
					a[r * n + q] = sn * arp + c * arq;
				}
				for (int r = 0; r < n; r++)
				{
					double		apr = a[p * n + r];
					double		aqr = a[q * n + r];

					a[p * n + r] = c * apr - sn * aqr;
					a[q * n + r] = sn * apr + c * aqr;
				}
			}
		}
	}
	for (int i = 0; i < n; i++)
		eig[i] = a[i * n + i];
	/* insertion sort: n is small */
	for (int i = 1; i < n; i++)
	{
		double		x = eig[i];
		int			j = i - 1;

		while (j >= 0 && eig[j] > x)
		{
			eig[j + 1] = eig[j];
			j--;
		}
		eig[j + 1] = x;
	}
	return true;
}

double
rv_ig_lambda2_dense(uint32_t n, const RvIgEdge *edges, uint32_t nedges)
{
	RvIgMem		mem = RV_IG_MEM_INIT;
	double	   *a,
			   *eig,
			   *deg;
	double		result;

	if (n < 2)
		return -1;
	a = rv_ig_alloc(&mem, sizeof(double) * n * (size_t) n, true);
	eig = rv_ig_alloc(&mem, sizeof(double) * n, false);
	deg = rv_ig_alloc(&mem, sizeof(double) * n, true);
	if (mem.failed)
	{
		rv_ig_free_all(&mem);
		return NAN;
	}
	for (uint32_t i = 0; i < nedges; i++)
	{
		if (edges[i].u == edges[i].v || edges[i].u >= n || edges[i].v >= n)
			continue;
		deg[edges[i].u] += edges[i].w;
		deg[edges[i].v] += edges[i].w;
		a[edges[i].u * n + edges[i].v] += edges[i].w;
		a[edges[i].v * n + edges[i].u] += edges[i].w;
	}
	for (uint32_t i = 0; i < n; i++)
	{
		if (deg[i] <= 0)
		{
			rv_ig_free_all(&mem);
			return 0;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			a[i * n + j] = (i == j ? 1.0 : 0.0) - a[i * n + j] / sqrt(deg[i] * deg[j]);
	rv_ig_jacobi((int) n, a, eig);
	result = eig[1] < 0 ? 0 : eig[1];
	rv_ig_free_all(&mem);
	return result;
}
