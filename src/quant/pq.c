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
 *	  No PostgreSQL headers: linked into the Check unit tests as well.
 *
 * IDENTIFICATION
 *	  src/quant/pq.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <string.h>

#include "quant/quant.h"

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

static uint64_t
xorshift64(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
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
		size_t		row = (size_t) (xorshift64(rng) % n);
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
