/*-------------------------------------------------------------------------
 *
 * pq.c
 *	  Product quantization: a vector of dim floats is cut into m sub-vectors,
 *	  each replaced by the index of its nearest centroid among k (k <= 256,
 *	  so a code is one byte); training is k-means on each sub-space.
 *
 * NOTES
 *	  Sub-vector j covers dimensions [j * dim / m, (j + 1) * dim / m), so m
 *	  need not divide dim: sub-vectors differ in length by at most one.  That
 *	  lets the code size be chosen freely (e.g. 42 bytes for 100 dimensions).
 *
 *	  Codebook layout: for each sub-space j in order, k centroids of
 *	  sub-dimension d_j, row-major; sub-space j starts at float k * start_j,
 *	  so the whole codebook is k * dim floats.
 *
 *	  Training is Lloyd's k-means per sub-space, seeded with k distinct
 *	  sample points picked by a fixed xorshift generator (the same input and
 *	  seed give the same codebook, so tests and replicas of a test agree).
 *	  An empty cluster is re-seeded with the point farthest from its
 *	  centroid, which keeps all k codes in use.  The caller provides the
 *	  scratch memory (rv_pq_train_workspace), so this file never allocates:
 *	  the server passes palloc'd memory, the unit tests malloc'd memory.
 *
 *	  Two refinements sit on top (used by the ruvector_heap PQ tier): a
 *	  learned rotation applied before cutting sub-vectors, and an encoder
 *	  that picks codes for the best cosine to a direction rather than the
 *	  least squared error.  Both are described where they are defined.
 *
 *	  No PostgreSQL headers: linked into the Check unit tests as well.
 *
 * IDENTIFICATION
 *	  src/quant/pq.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "common/rv_random.h"
#include "quant/quant.h"

/* Coordinate-ascent passes of rv_pq_encode_direction (it rarely needs 3). */
#define RV_PQ_DIRECTION_PASSES 4

/* First dimension of sub-vector j. */
int
rv_pq_sub_start(int dim, int m, int j)
{
	return (int) (((int64_t) j * dim) / m);
}

/* Bytes of scratch memory rv_pq_train needs. */
size_t
rv_pq_train_workspace(size_t n, int dim, int m, int k)
{
	int			maxsub = (dim + m - 1) / m;

	return n * sizeof(int32_t)				/* assignment */
		+ n * sizeof(float)					/* distance to own centroid */
		+ (size_t) k * sizeof(int64_t)		/* cluster sizes */
		+ (size_t) k * maxsub * sizeof(double); /* centroid sums */
}

static float
sub_l2sq(const float *a, const float *b, int d)
{
	float		s = 0.0f;

	for (int i = 0; i < d; i++)
	{
		float		t = a[i] - b[i];

		s += t * t;
	}
	return s;
}

/*
 * Index of the centroid nearest to x among k of sub-dimension d.  The
 * short sub-vectors that most codebooks use (two dimensions at m = dim / 2)
 * get loops the compiler can keep in registers; this is the inner loop of
 * both training and encoding.
 */
static int
nearest_centroid(const float *cent, int k, int d, const float *x, float *dist)
{
	int			best = 0;
	float		bestd = FLT_MAX;

	if (d == 2)
	{
		float		x0 = x[0],
					x1 = x[1];

		for (int c = 0; c < k; c++)
		{
			float		a = cent[2 * c] - x0;
			float		b = cent[2 * c + 1] - x1;
			float		t = a * a + b * b;

			if (t < bestd)
			{
				bestd = t;
				best = c;
			}
		}
	}
	else
	{
		for (int c = 0; c < k; c++)
		{
			float		t = sub_l2sq(cent + (size_t) c * d, x, d);

			if (t < bestd)
			{
				bestd = t;
				best = c;
			}
		}
	}
	if (dist)
		*dist = bestd;
	return best;
}

/*
 * Pick k distinct sample rows as initial centroids of one sub-space.  Rows
 * with equal sub-vectors are skipped while enough distinct ones remain, so a
 * column with few distinct values does not get duplicate centroids that
 * would never be chosen.
 */
static void
seed_centroids(const float *data, size_t n, int dim, int start, int d, int k,
			   uint64_t *rng, float *cent)
{
	int			have = 0;
	size_t		tries = 0;

	while (have < k)
	{
		size_t		row = (size_t) (rv_xorshift64(rng) % n);
		const float *x = data + row * dim + start;
		bool		dup = false;

		/* After many misses accept duplicates: there are fewer than k. */
		if (tries++ < (size_t) k * 16)
		{
			for (int c = 0; c < have && !dup; c++)
				dup = memcmp(cent + (size_t) c * d, x, sizeof(float) * d) == 0;
		}
		if (dup)
			continue;
		memcpy(cent + (size_t) have * d, x, sizeof(float) * d);
		have++;
	}
}

/*
 * One sub-space: Lloyd iterations until no assignment changes or iters
 * rounds have run.
 */
static void
train_subspace(const float *data, size_t n, int dim, int start, int d, int k,
			   int iters, uint64_t *rng, float *cent, void *workspace)
{
	int32_t    *assign = (int32_t *) workspace;
	float	   *owndist = (float *) (assign + n);
	int64_t    *count = (int64_t *) (owndist + n);
	double	   *sum = (double *) (count + k);

	seed_centroids(data, n, dim, start, d, k, rng, cent);
	for (size_t i = 0; i < n; i++)
		assign[i] = -1;

	for (int it = 0; it < iters; it++)
	{
		size_t		changed = 0;

		for (size_t i = 0; i < n; i++)
		{
			int			c = nearest_centroid(cent, k, d, data + i * dim + start,
											 &owndist[i]);

			if (c != assign[i])
			{
				assign[i] = c;
				changed++;
			}
		}
		if (changed == 0 && it > 0)
			break;

		memset(count, 0, sizeof(int64_t) * k);
		memset(sum, 0, sizeof(double) * (size_t) k * d);
		for (size_t i = 0; i < n; i++)
		{
			const float *x = data + i * dim + start;
			double	   *s = sum + (size_t) assign[i] * d;

			count[assign[i]]++;
			for (int t = 0; t < d; t++)
				s[t] += x[t];
		}
		for (int c = 0; c < k; c++)
		{
			if (count[c] > 0)
			{
				for (int t = 0; t < d; t++)
					cent[(size_t) c * d + t] = (float) (sum[(size_t) c * d + t] / count[c]);
				continue;
			}

			/*
			 * Empty cluster: move it onto the worst-served point, and stop
			 * that point from being chosen again this round.
			 */
			{
				size_t		far = 0;

				for (size_t i = 1; i < n; i++)
					if (owndist[i] > owndist[far])
						far = i;
				memcpy(cent + (size_t) c * d, data + far * dim + start,
					   sizeof(float) * d);
				owndist[far] = 0.0f;
			}
		}
	}
}

/*
 * Train a codebook (k * dim floats, layout above) from n rows of dim floats.
 * Needs n >= k, 1 <= m <= dim, 1 <= k <= 256.  Returns false on bad
 * arguments without touching centroids.
 */
bool
rv_pq_train(const float *data, size_t n, int dim, int m, int k, int iters,
			uint64_t seed, float *centroids, void *workspace)
{
	uint64_t	rng = seed ? seed : 0x9E3779B97F4A7C15ULL;

	if (dim < 1 || m < 1 || m > dim || k < 1 || k > 256 || n < (size_t) k ||
		iters < 1)
		return false;

	for (int j = 0; j < m; j++)
	{
		int			start = rv_pq_sub_start(dim, m, j);
		int			d = rv_pq_sub_start(dim, m, j + 1) - start;

		train_subspace(data, n, dim, start, d, k, iters, &rng,
					   centroids + (size_t) k * start, workspace);
	}
	return true;
}

/* Encode one vector into m one-byte codes. */
void
rv_pq_encode(const float *centroids, int dim, int m, int k, const float *x,
			 uint8_t *codes)
{
	for (int j = 0; j < m; j++)
	{
		int			start = rv_pq_sub_start(dim, m, j);
		int			d = rv_pq_sub_start(dim, m, j + 1) - start;

		codes[j] = (uint8_t) nearest_centroid(centroids + (size_t) k * start,
											  k, d, x + start, NULL);
	}
}

/*
 * Decode m codes into dim floats.  Codes at or beyond k are a caller error
 * (the server checks them against the codebook before calling).
 */
void
rv_pq_decode(const float *centroids, int dim, int m, int k,
			 const uint8_t *codes, float *out)
{
	for (int j = 0; j < m; j++)
	{
		int			start = rv_pq_sub_start(dim, m, j);
		int			d = rv_pq_sub_start(dim, m, j + 1) - start;

		memcpy(out + start,
			   centroids + (size_t) k * start + (size_t) codes[j] * d,
			   sizeof(float) * d);
	}
}

/*
 * Rotation (a PCA, learned per codebook).  Sub-spaces of PQ are cut out of
 * the rotated vector y = R x, where the rows of R are eigenvectors of the
 * sample's second-moment matrix placed so that the error of each sub-space
 * is about even: a 3-dimension sub-space with 256 centroids leaves about six
 * times the error per dimension of a 2-dimension one, so the larger
 * sub-spaces take the components of least variance, and components are
 * spread within sub-spaces of one size so that the products of their
 * variances (the volume each codebook must cover) stay close.  On glove-100
 * at 44 one-byte codes this raised cosine recall@10 from 0.869 to 0.889.
 *
 * R is orthogonal, so cosines and norms are unchanged and decoding is
 * x = R^T y.
 */

/*
 * The scratch memory of rv_pq_rotation_train, carved out of one block.
 * rotation_layout is the only place that knows the layout: it computes the
 * size (base = NULL) and the pointers from the same list, so the size
 * rv_pq_rotation_workspace reports cannot drift from what training writes
 * (it did once: lp was added to the layout but not to the size, and
 * training wrote dim doubles past the block).
 */
typedef struct RvPqRotationScratch
{
	double	   *a;				/* dim x dim second moments (destroyed) */
	double	   *v;				/* dim x dim eigenvectors, one per row */
	double	   *w;				/* dim eigenvalues */
	double	   *lp;				/* log-product of variances per sub-space (m <= dim) */
	int		   *order;			/* dim component indexes, by variance */
	int		   *fill;			/* components placed per sub-space (m <= dim) */
	int		   *perm;			/* dim: component at each output dimension */
} RvPqRotationScratch;

static size_t
rotation_layout(int dim, void *base, RvPqRotationScratch *out)
{
	size_t		nd = (size_t) dim;
	size_t		off = 0;
	char	   *b = (char *) base;

	/* doubles first, then ints, so every member stays aligned */
#define RV_PQ_CARVE(field, type, count) \
	do { \
		if (out) \
			out->field = (type *) (b + off); \
		off += sizeof(type) * (count); \
	} while (0)
	RV_PQ_CARVE(a, double, nd * nd);
	RV_PQ_CARVE(v, double, nd * nd);
	RV_PQ_CARVE(w, double, nd);
	RV_PQ_CARVE(lp, double, nd);
	RV_PQ_CARVE(order, int, nd);
	RV_PQ_CARVE(fill, int, nd);
	RV_PQ_CARVE(perm, int, nd);
#undef RV_PQ_CARVE
	return off;
}

/* Bytes of scratch memory rv_pq_rotation_train needs. */
size_t
rv_pq_rotation_workspace(int dim)
{
	if (dim < 1)
		return 0;
	return rotation_layout(dim, NULL, NULL);
}

/*
 * One Jacobi rotation of two lines of a matrix, n elements each, stride
 * apart: (x, y) becomes (c x - s y, s x + c y), element by element.
 */
static void
jacobi_rotate(double *x, double *y, size_t stride, int n, double c, double s)
{
	for (int r = 0; r < n; r++)
	{
		double		xr = x[(size_t) r * stride],
					yr = y[(size_t) r * stride];

		x[(size_t) r * stride] = c * xr - s * yr;
		y[(size_t) r * stride] = s * xr + c * yr;
	}
}

/*
 * Eigen-decomposition of the symmetric matrix a (dim x dim, destroyed) by
 * cyclic Jacobi rotations: eigenvalues in w, eigenvector i in row i of v.
 * Slow (O(dim^3) a sweep) but short and exact enough; callers limit dim.
 */
static void
jacobi_eigen(double *a, int n, double *w, double *v)
{
	for (int i = 0; i < n * n; i++)
		v[i] = 0.0;
	for (int i = 0; i < n; i++)
		v[(size_t) i * n + i] = 1.0;

	for (int sweep = 0; sweep < 60; sweep++)
	{
		double		off = 0.0,
					diag = 0.0;

		for (int i = 0; i < n; i++)
		{
			diag += a[(size_t) i * n + i] * a[(size_t) i * n + i];
			for (int j = i + 1; j < n; j++)
				off += a[(size_t) i * n + j] * a[(size_t) i * n + j];
		}
		if (off <= 1e-24 * diag || off == 0.0)
			break;

		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++)
			{
				double		apq = a[(size_t) p * n + q];
				double		theta,
							t,
							c,
							s;

				if (apq == 0.0)
					continue;
				theta = (a[(size_t) q * n + q] - a[(size_t) p * n + p]) / (2.0 * apq);
				t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
				c = 1.0 / sqrt(t * t + 1.0);
				s = t * c;
				/* columns p and q of a, then rows p and q of a and of v */
				jacobi_rotate(a + p, a + q, n, n, c, s);
				jacobi_rotate(a + (size_t) p * n, a + (size_t) q * n, 1, n, c, s);
				jacobi_rotate(v + (size_t) p * n, v + (size_t) q * n, 1, n, c, s);
			}
	}
	for (int i = 0; i < n; i++)
		w[i] = a[(size_t) i * n + i];
}

/*
 * perm[s] = the component (an index into w) placed at output dimension s.
 * Components are taken by decreasing variance (order) and go to the
 * smallest sub-spaces first; within one size, each joins the sub-space of
 * that size with the smallest log-product of variances so far.
 */
static void
allocate_components(const double *w, const int *order, int dim, int m,
					int *fill, double *lp, int *perm)
{
	int			i = 0;

	for (int j = 0; j < m; j++)
	{
		fill[j] = 0;
		lp[j] = 0.0;
	}
	for (int size = 1; i < dim; size++)
	{
		int			groups = 0;

		for (int j = 0; j < m; j++)
			groups += (rv_pq_sub_start(dim, m, j + 1) - rv_pq_sub_start(dim, m, j)) == size;

		for (int c = 0; c < groups * size; c++, i++)
		{
			int			best = -1;

			for (int j = 0; j < m; j++)
			{
				if (rv_pq_sub_start(dim, m, j + 1) - rv_pq_sub_start(dim, m, j) != size ||
					fill[j] == size)
					continue;
				if (best < 0 || lp[j] < lp[best])
					best = j;
			}
			perm[rv_pq_sub_start(dim, m, best) + fill[best]++] = order[i];
			lp[best] += log(fmax(w[order[i]], 1e-30));
		}
	}
}

/*
 * Learn the rotation (dim x dim floats, row-major, rows = output
 * dimensions) for m sub-spaces from n rows of dim floats.  Needs
 * rv_pq_rotation_workspace(dim) bytes of scratch memory.
 */
bool
rv_pq_rotation_train(const float *data, size_t n, int dim, int m,
					 float *rotation, void *workspace)
{
	RvPqRotationScratch sc;
	double	   *a,
			   *v,
			   *w;
	int		   *order;

	if (dim < 1 || m < 1 || m > dim || n < 1)
		return false;
	rotation_layout(dim, workspace, &sc);
	a = sc.a;
	v = sc.v;
	w = sc.w;
	order = sc.order;

	/* Second moments (not centred: PQ codes the mean like any offset). */
	for (size_t i = 0; i < (size_t) dim * dim; i++)
		a[i] = 0.0;
	for (size_t r = 0; r < n; r++)
	{
		const float *x = data + r * dim;

		for (int i = 0; i < dim; i++)
		{
			double		xi = x[i];

			for (int j = i; j < dim; j++)
				a[(size_t) i * dim + j] += xi * x[j];
		}
	}
	for (int i = 0; i < dim; i++)
		for (int j = i + 1; j < dim; j++)
			a[(size_t) j * dim + i] = a[(size_t) i * dim + j];

	jacobi_eigen(a, dim, w, v);

	/* Components by decreasing variance (insertion sort: dim is small). */
	for (int i = 0; i < dim; i++)
	{
		int			j = i;

		while (j > 0 && w[order[j - 1]] < w[i])
		{
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	allocate_components(w, order, dim, m, sc.fill, sc.lp, sc.perm);
	for (int s = 0; s < dim; s++)
		for (int t = 0; t < dim; t++)
			rotation[(size_t) s * dim + t] = (float) v[(size_t) sc.perm[s] * dim + t];
	return true;
}

/* y = R x */
void
rv_pq_rotate(const float *rotation, int dim, const float *x, float *y)
{
	for (int s = 0; s < dim; s++)
	{
		const float *r = rotation + (size_t) s * dim;
		double		acc = 0.0;

		for (int t = 0; t < dim; t++)
			acc += (double) r[t] * x[t];
		y[s] = (float) acc;
	}
}

/* x = R^T y */
void
rv_pq_unrotate(const float *rotation, int dim, const float *y, float *x)
{
	for (int t = 0; t < dim; t++)
		x[t] = 0.0f;
	for (int s = 0; s < dim; s++)
	{
		const float *r = rotation + (size_t) s * dim;
		float		ys = y[s];

		for (int t = 0; t < dim; t++)
			x[t] += r[t] * ys;
	}
}

/*
 * Encode a direction (a unit vector) for the best cosine rather than the
 * least squared error: start from the nearest centroids, then change one
 * sub-space at a time to the centroid that most raises cos(decoded, x),
 * until a pass changes nothing (at most a few passes).  Only the direction
 * of the decoded vector matters to its user (it is rescaled to the stored
 * norm), so a concatenation that is a little longer or shorter than 1 but
 * points closer is the better code.  On glove-100 this adds about 0.005 to
 * recall@10 at 44 codes.  Sub-spaces are disjoint, so the dot product with
 * x and the squared length of the decoded vector are sums over sub-spaces
 * and a candidate is scored in O(d_j).
 */
void
rv_pq_encode_direction(const float *centroids, int dim, int m, int k,
					   const float *x, uint8_t *codes)
{
	double		dot = 0.0,
				len2 = 0.0;

	rv_pq_encode(centroids, dim, m, k, x, codes);
	for (int j = 0; j < m; j++)
	{
		int			start = rv_pq_sub_start(dim, m, j);
		int			d = rv_pq_sub_start(dim, m, j + 1) - start;
		const float *c = centroids + (size_t) k * start + (size_t) codes[j] * d;

		for (int t = 0; t < d; t++)
		{
			dot += (double) c[t] * x[start + t];
			len2 += (double) c[t] * c[t];
		}
	}

	for (int pass = 0; pass < RV_PQ_DIRECTION_PASSES; pass++)
	{
		bool		changed = false;

		for (int j = 0; j < m; j++)
		{
			int			start = rv_pq_sub_start(dim, m, j);
			int			d = rv_pq_sub_start(dim, m, j + 1) - start;
			const float *base = centroids + (size_t) k * start;
			const float *xs = x + start;
			double		cd = 0.0,
						cl = 0.0;
			double		rest_dot,
						rest_len2,
						best_score;
			int			best = codes[j];
			double		best_cd,
						best_cl;

			for (int t = 0; t < d; t++)
			{
				cd += (double) base[(size_t) best * d + t] * xs[t];
				cl += (double) base[(size_t) best * d + t] * base[(size_t) best * d + t];
			}
			rest_dot = dot - cd;
			rest_len2 = len2 - cl;
			best_cd = cd;
			best_cl = cl;
			best_score = (rest_len2 + cl > 0) ? (rest_dot + cd) / sqrt(rest_len2 + cl) : -2.0;

			for (int c = 0; c < k; c++)
			{
				const float *b = base + (size_t) c * d;
				double		bd = 0.0,
							bl = 0.0,
							score;

				for (int t = 0; t < d; t++)
				{
					bd += (double) b[t] * xs[t];
					bl += (double) b[t] * b[t];
				}
				if (rest_len2 + bl <= 0)
					continue;
				score = (rest_dot + bd) / sqrt(rest_len2 + bl);
				if (score > best_score + 1e-12)
				{
					best_score = score;
					best = c;
					best_cd = bd;
					best_cl = bl;
				}
			}
			if (best != codes[j])
			{
				codes[j] = (uint8_t) best;
				changed = true;
			}
			dot = rest_dot + best_cd;
			len2 = rest_len2 + best_cl;
		}
		if (!changed)
			break;
	}
}
