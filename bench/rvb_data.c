/*-------------------------------------------------------------------------
 *
 * rvb_data.c
 *	  Data sets for the benchmark: fvecs/ivecs files, a synthetic clustered
 *	  generator, exact ground truth by brute force, and recall.
 *
 * NOTES
 *	  Distances are accumulated in double, and the ground truth and the
 *	  recall threshold go through the same functions, so a returned row that
 *	  ties the k-th true neighbour counts as a hit whichever of the tied ids
 *	  the exact list happened to keep.  Ties in the exact lists are broken by
 *	  the lower id, the convention of the shared data sets.
 *
 *	  The generator derives every row from (seed, stream, row number) alone,
 *	  so a set is the same whatever the number of threads that made it.
 *
 *	  No libpq here: the self-checks link this file without a server.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RVB_STREAM_CENTRE	1
#define RVB_STREAM_BASE		2
#define RVB_STREAM_QUERY	3
#define RVB_STREAM_EXTRA	4
#define RVB_STREAM_TAG		5

/* ----------------------------------------------------------------
 *		metrics
 * ----------------------------------------------------------------
 */
const char *
rvb_metric_name(RvbMetric m)
{
	switch (m)
	{
		case RVB_L2:
			return "l2";
		case RVB_COSINE:
			return "cosine";
		case RVB_IP:
			return "ip";
	}
	return "?";
}

int
rvb_metric_parse(const char *s, RvbMetric *m)
{
	if (strcmp(s, "l2") == 0)
		*m = RVB_L2;
	else if (strcmp(s, "cosine") == 0 || strcmp(s, "cos") == 0)
		*m = RVB_COSINE;
	else if (strcmp(s, "ip") == 0 || strcmp(s, "dot") == 0)
		*m = RVB_IP;
	else
		return -1;
	return 0;
}

/*
 * Dot product in double with four running sums; the same routine computes
 * norms, so a cosine distance is bit-identical wherever it is computed.
 */
static double
dot_d(const float *a, const float *b, int dim)
{
	double		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	int			i = 0;

	for (; i + 4 <= dim; i += 4)
	{
		s0 += (double) a[i] * b[i];
		s1 += (double) a[i + 1] * b[i + 1];
		s2 += (double) a[i + 2] * b[i + 2];
		s3 += (double) a[i + 3] * b[i + 3];
	}
	for (; i < dim; i++)
		s0 += (double) a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

static double
l2sq_d(const float *a, const float *b, int dim)
{
	double		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	int			i = 0;

	for (; i + 4 <= dim; i += 4)
	{
		double		d0 = (double) a[i] - b[i];
		double		d1 = (double) a[i + 1] - b[i + 1];
		double		d2 = (double) a[i + 2] - b[i + 2];
		double		d3 = (double) a[i + 3] - b[i + 3];

		s0 += d0 * d0;
		s1 += d1 * d1;
		s2 += d2 * d2;
		s3 += d3 * d3;
	}
	for (; i < dim; i++)
	{
		double		d = (double) a[i] - b[i];

		s0 += d * d;
	}
	return (s0 + s1) + (s2 + s3);
}

/* cosine distance from a dot product and two squared norms */
static double
cosine_from(double dot, double na, double nb)
{
	/* a zero vector has no direction; call it orthogonal to everything */
	if (na == 0 || nb == 0)
		return 1.0;
	return 1.0 - dot / sqrt(na * nb);
}

/*
 * rvb_distance is the distance the server orders by (<->, <=>, <#>),
 * computed in double.
 */
double
rvb_distance(RvbMetric metric, const float *a, const float *b, int dim)
{
	switch (metric)
	{
		case RVB_L2:
			return l2sq_d(a, b, dim);
		case RVB_COSINE:
			return cosine_from(dot_d(a, b, dim), dot_d(a, a, dim),
							   dot_d(b, b, dim));
		case RVB_IP:
			return -dot_d(a, b, dim);
	}
	return NAN;
}

/*
 * rvb_vector_binary writes v in the vector type's binary format (what
 * vector_send produces and vector_recv reads): int16 dim, int16 unused = 0,
 * then dim float4, all in network byte order.  Returns the byte length.
 */
int
rvb_vector_binary(const float *v, int dim, char *out)
{
	uint16_t	h = htons((uint16_t) dim);
	uint16_t	z = 0;

	memcpy(out, &h, 2);
	memcpy(out + 2, &z, 2);
	for (int i = 0; i < dim; i++)
	{
		uint32_t	u;

		memcpy(&u, &v[i], 4);
		u = htonl(u);
		memcpy(out + 4 + 4 * i, &u, 4);
	}
	return 4 + 4 * dim;
}

/*
 * rvb_vector_text writes v as the vector type's text literal the way client
 * libraries send it: pgvector-python (psycopg2, psycopg) formats each
 * float32 component as a Python float, pgvector-node as a JavaScript number,
 * both the shortest repr of the component widened to double, which for
 * float32 values is 17 significant digits at most ("%.17g").  Returns the
 * length; out must hold rvb_vector_text_size(dim) bytes.
 */
size_t
rvb_vector_text_size(int dim)
{
	/* "-" + 17 digits + "." + "e-308" + "," per component, brackets, NUL */
	return (size_t) dim * 26 + 3;
}

int
rvb_vector_text(const float *v, int dim, char *out)
{
	int			len = 0;

	out[len++] = '[';
	for (int i = 0; i < dim; i++)
		len += sprintf(out + len, "%s%.17g", i ? "," : "", (double) v[i]);
	out[len++] = ']';
	out[len] = '\0';
	return len;
}

/* ----------------------------------------------------------------
 *		fvecs / ivecs
 * ----------------------------------------------------------------
 */

/*
 * Read a file of records "int32 dim, then dim 4-byte values"; both fvecs and
 * ivecs have that shape.  limit > 0 keeps only the first limit records.
 * On success *out is malloc'd (n * dim values) and 0 is returned.
 */
static int
read_vecs(const char *path, int limit, int *n_out, int *dim_out, void **out,
		  char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	int32_t		dim;
	long		size;
	size_t		rec;
	size_t		n;
	char	   *buf;

	if (f == NULL)
	{
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(&dim, 4, 1, f) != 1 || dim <= 0 || dim > 100000 ||
		fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
	{
		snprintf(err, errlen, "%s: not an fvecs/ivecs file", path);
		fclose(f);
		return -1;
	}
	rec = 4 + 4 * (size_t) dim;
	if ((size_t) size % rec != 0)
	{
		snprintf(err, errlen, "%s: size %ld is not a multiple of the record size %zu",
				 path, size, rec);
		fclose(f);
		return -1;
	}
	n = (size_t) size / rec;
	if (limit > 0 && (size_t) limit < n)
		n = (size_t) limit;
	buf = malloc(n * (rec - 4) + 1);
	rewind(f);
	for (size_t i = 0; i < n; i++)
	{
		int32_t		d;

		if (fread(&d, 4, 1, f) != 1 || d != dim ||
			fread(buf + i * (rec - 4), rec - 4, 1, f) != 1)
		{
			snprintf(err, errlen, "%s: record %zu is damaged or has another dimension",
					 path, i);
			free(buf);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	*n_out = (int) n;
	*dim_out = dim;
	*out = buf;
	return 0;
}

int
rvb_read_fvecs(const char *path, int limit, RvbMatrix *m, char *err,
			   size_t errlen)
{
	void	   *x;

	if (read_vecs(path, limit, &m->n, &m->dim, &x, err, errlen) != 0)
		return -1;
	m->x = x;
	return 0;
}

int
rvb_read_ivecs(const char *path, int limit, RvbNeighbours *nb, char *err,
			   size_t errlen)
{
	void	   *x;

	if (read_vecs(path, limit, &nb->nq, &nb->k, &x, err, errlen) != 0)
		return -1;
	nb->ids = x;
	return 0;
}

static int
write_vecs(const char *path, int n, int dim, const void *x)
{
	FILE	   *f = fopen(path, "wb");
	int32_t		d = dim;

	if (f == NULL)
		return -1;
	for (int i = 0; i < n; i++)
	{
		if (fwrite(&d, 4, 1, f) != 1 ||
			fwrite((const char *) x + (size_t) i * dim * 4, 4, dim, f) != (size_t) dim)
		{
			fclose(f);
			return -1;
		}
	}
	return fclose(f) == 0 ? 0 : -1;
}

int
rvb_write_fvecs(const char *path, const RvbMatrix *m)
{
	return write_vecs(path, m->n, m->dim, m->x);
}

int
rvb_write_ivecs(const char *path, const RvbNeighbours *nb)
{
	return write_vecs(path, nb->nq, nb->k, nb->ids);
}

void
rvb_matrix_free(RvbMatrix *m)
{
	free(m->x);
	m->x = NULL;
	m->n = 0;
}

void
rvb_neighbours_free(RvbNeighbours *nb)
{
	free(nb->ids);
	nb->ids = NULL;
	nb->nq = 0;
}

/* ----------------------------------------------------------------
 *		deterministic randomness
 * ----------------------------------------------------------------
 */

/* rvb_mix64 is the splitmix64 finaliser: a bijection that scatters bits */
uint64_t
rvb_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

typedef struct Rng
{
	uint64_t	state;
	bool		have_spare;
	double		spare;
} Rng;

static void
rng_seed(Rng *r, uint64_t seed, uint64_t stream, uint64_t row)
{
	r->state = rvb_mix64(seed ^ rvb_mix64(stream * 0x100000001b3ULL ^ rvb_mix64(row)));
	r->have_spare = false;
}

static uint64_t
rng_next(Rng *r)
{
	r->state += 0x9e3779b97f4a7c15ULL;
	return rvb_mix64(r->state);
}

/* uniform in (0, 1): never 0, so log() below is safe */
static double
rng_uniform(Rng *r)
{
	return ((rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* standard normal by Box-Muller, two at a time */
static double
rng_normal(Rng *r)
{
	double		u,
				v,
				rad;

	if (r->have_spare)
	{
		r->have_spare = false;
		return r->spare;
	}
	u = rng_uniform(r);
	v = rng_uniform(r);
	rad = sqrt(-2.0 * log(u));
	r->spare = rad * sin(2 * M_PI * v);
	r->have_spare = true;
	return rad * cos(2 * M_PI * v);
}

/* rvb_tag gives a row's filter column: uniform in 0..99, fixed by the seed */
int
rvb_tag(uint64_t seed, int64_t id)
{
	return (int) (rvb_mix64(seed ^ rvb_mix64(RVB_STREAM_TAG * 0x100000001b3ULL ^
											 rvb_mix64((uint64_t) id))) % 100);
}

int
rvb_filter_pct_valid(int pct)
{
	return pct >= 1 && pct <= 100 && 100 % pct == 0;
}

/* the tag slice [lo, hi) a p-percent filter keeps for query q */
void
rvb_filter_range(int pct, int q, int *lo, int *hi)
{
	int			slices = 100 / pct;

	*lo = (q % slices) * pct;
	*hi = *lo + pct;
}

/* ----------------------------------------------------------------
 *		synthetic clustered data
 * ----------------------------------------------------------------
 */
typedef struct Mixture
{
	int			clusters;
	int			dim;
	float	   *centre;			/* clusters x dim */
	double	   *cum_weight;		/* cumulative, last = 1 */
	double	   *sigma;			/* per cluster radius */
	double	   *axis_scale;		/* per coordinate: lowers intrinsic dim */
} Mixture;

/*
 * Build the mixture: Gaussian centres, cluster sizes following a power law
 * (a few big clusters and a long tail, as in real embeddings, where a flat
 * mixture would make every region equally easy), per-cluster radii, and
 * noise that shrinks along later axes so the intrinsic dimension is below
 * the nominal one.
 */
static void
mixture_init(Mixture *mx, const RvbSynthSpec *spec)
{
	double		total = 0;
	int			c;

	mx->dim = spec->dim;
	mx->clusters = spec->clusters > 0 ? spec->clusters :
		(int) fmax(1.0, sqrt((double) spec->n) / 4.0);
	mx->centre = malloc(sizeof(float) * (size_t) mx->clusters * spec->dim);
	mx->cum_weight = malloc(sizeof(double) * mx->clusters);
	mx->sigma = malloc(sizeof(double) * mx->clusters);
	mx->axis_scale = malloc(sizeof(double) * spec->dim);
	for (c = 0; c < mx->clusters; c++)
	{
		Rng			r;

		rng_seed(&r, spec->seed, RVB_STREAM_CENTRE, (uint64_t) c);
		for (int j = 0; j < spec->dim; j++)
			mx->centre[(size_t) c * spec->dim + j] = (float) rng_normal(&r);
		mx->sigma[c] = spec->spread * (0.5 + rng_uniform(&r));
		total += 1.0 / pow(c + 1.0, 0.7);
		mx->cum_weight[c] = total;
	}
	for (c = 0; c < mx->clusters; c++)
		mx->cum_weight[c] /= total;
	mx->cum_weight[mx->clusters - 1] = 1.0;
	for (int j = 0; j < spec->dim; j++)
		mx->axis_scale[j] = 1.0 / sqrt(1.0 + 8.0 * j / spec->dim);
}

static void
mixture_free(Mixture *mx)
{
	free(mx->centre);
	free(mx->cum_weight);
	free(mx->sigma);
	free(mx->axis_scale);
}

static void
mixture_draw(const Mixture *mx, uint64_t seed, uint64_t stream, uint64_t row,
			 float *out)
{
	Rng			r;
	double		u;
	int			lo = 0,
				hi = mx->clusters - 1;
	const float *centre;

	rng_seed(&r, seed, stream, row);
	u = rng_uniform(&r);
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (mx->cum_weight[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	centre = mx->centre + (size_t) lo * mx->dim;
	for (int j = 0; j < mx->dim; j++)
		out[j] = (float) (centre[j] + mx->sigma[lo] * mx->axis_scale[j] * rng_normal(&r));
}

typedef struct GenJob
{
	const Mixture *mx;
	uint64_t	seed;
	RvbMatrix  *base;
	RvbMatrix  *query;
	int			nthreads;
	int			me;
} GenJob;

static void *
gen_worker(void *arg)
{
	GenJob	   *job = arg;

	for (int i = job->me; i < job->base->n; i += job->nthreads)
		mixture_draw(job->mx, job->seed, RVB_STREAM_BASE, (uint64_t) i,
					 RVB_ROW(job->base, i));
	for (int i = job->me; i < job->query->n; i += job->nthreads)
		mixture_draw(job->mx, job->seed, RVB_STREAM_QUERY, (uint64_t) i,
					 RVB_ROW(job->query, i));
	return NULL;
}

/*
 * rvb_synthetic fills base and query from one clustered mixture; the queries
 * are fresh draws, not base rows.  The caller frees both matrices.
 */
void
rvb_synthetic(const RvbSynthSpec *spec, RvbMatrix *base, RvbMatrix *query,
			  int nthreads)
{
	Mixture		mx;
	pthread_t  *th;
	GenJob	   *jobs;

	if (nthreads < 1)
		nthreads = 1;
	mixture_init(&mx, spec);
	base->n = spec->n;
	base->dim = spec->dim;
	base->x = malloc(sizeof(float) * (size_t) spec->n * spec->dim + 1);
	query->n = spec->nq;
	query->dim = spec->dim;
	query->x = malloc(sizeof(float) * (size_t) spec->nq * spec->dim + 1);
	th = calloc(nthreads, sizeof(pthread_t));
	jobs = calloc(nthreads, sizeof(GenJob));
	for (int t = 0; t < nthreads; t++)
	{
		jobs[t] = (GenJob)
		{
			&mx, spec->seed, base, query, nthreads, t
		};
		pthread_create(&th[t], NULL, gen_worker, &jobs[t]);
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	free(th);
	free(jobs);
	mixture_free(&mx);
}

/*
 * rvb_extra_vector makes the i-th row for the insert steps: a base row
 * chosen by hash, moved by noise of 5% of its RMS coordinate, so new rows
 * follow the data's distribution without duplicating a stored vector.
 */
void
rvb_extra_vector(const RvbDataset *ds, int64_t i, float *out)
{
	Rng			r;
	int			dim = ds->base.dim;
	const float *src;
	double		rms;

	rng_seed(&r, ds->seed, RVB_STREAM_EXTRA, (uint64_t) i);
	src = RVB_ROW(&ds->base, rng_next(&r) % (uint64_t) ds->base.n);
	rms = sqrt(dot_d(src, src, dim) / dim);
	for (int j = 0; j < dim; j++)
		out[j] = (float) (src[j] + 0.05 * rms * rng_normal(&r));
}

/* ----------------------------------------------------------------
 *		exact ground truth
 * ----------------------------------------------------------------
 */
typedef struct Cand
{
	double		d;
	int32_t		id;
} Cand;

/* a is a worse neighbour than b: farther, or as far with a higher id */
static inline bool
cand_worse(const Cand *a, const Cand *b)
{
	return a->d > b->d || (a->d == b->d && a->id > b->id);
}

/* sift-down in a max-heap ordered by cand_worse (worst at the root) */
static void
heap_sift_down(Cand *h, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					w = i;
		Cand		t;

		if (l < n && cand_worse(&h[l], &h[w]))
			w = l;
		if (r < n && cand_worse(&h[r], &h[w]))
			w = r;
		if (w == i)
			return;
		t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

static void
heap_push(Cand *h, int *n, int k, Cand c)
{
	int			i;

	if (*n == k)
	{
		if (!cand_worse(&h[0], &c))
			return;
		h[0] = c;
		heap_sift_down(h, *n, 0);
		return;
	}
	i = (*n)++;
	h[i] = c;
	while (i > 0 && cand_worse(&h[i], &h[(i - 1) / 2]))
	{
		Cand		t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static int
cand_cmp(const void *a, const void *b)
{
	const Cand *x = a,
			   *y = b;

	if (cand_worse(x, y))
		return 1;
	if (cand_worse(y, x))
		return -1;
	return 0;
}

static bool
row_passes(const RvbRowFilter *filter, int q, int row)
{
	int			lo,
				hi;

	if (filter == NULL || filter->tag == NULL)
		return true;
	rvb_filter_range(filter->pct, q, &lo, &hi);
	return filter->tag[row] >= lo && filter->tag[row] < hi;
}

typedef struct GtJob
{
	RvbMetric	metric;
	const RvbMatrix *base;
	const RvbMatrix *query;
	const double *bnorm;		/* squared norms of the base, cosine only */
	int			k;
	const RvbRowFilter *filter;
	RvbNeighbours *out;
	int			next;			/* next query to take, shared */
	pthread_mutex_t lock;
} GtJob;

/* exact top-k of one query into out, padded with -1 */
static void
gt_one(GtJob *job, int q, Cand *heap)
{
	const float *qv = RVB_ROW(job->query, q);
	int			dim = job->base->dim;
	double		qnorm = job->metric == RVB_COSINE ? dot_d(qv, qv, dim) : 0;
	int			n = 0;
	int32_t    *dst = RVB_NB(job->out, q);

	for (int i = 0; i < job->base->n; i++)
	{
		const float *bv = RVB_ROW(job->base, i);
		Cand		c;

		if (!row_passes(job->filter, q, i))
			continue;
		if (job->metric == RVB_L2)
			c.d = l2sq_d(qv, bv, dim);
		else if (job->metric == RVB_IP)
			c.d = -dot_d(qv, bv, dim);
		else
			c.d = cosine_from(dot_d(qv, bv, dim), qnorm, job->bnorm[i]);
		c.id = i;
		heap_push(heap, &n, job->k, c);
	}
	qsort(heap, n, sizeof(Cand), cand_cmp);
	for (int i = 0; i < job->k; i++)
		dst[i] = i < n ? heap[i].id : -1;
}

static void *
gt_worker(void *arg)
{
	GtJob	   *job = arg;
	Cand	   *heap = malloc(sizeof(Cand) * job->k);

	for (;;)
	{
		int			q;

		pthread_mutex_lock(&job->lock);
		q = job->next++;
		pthread_mutex_unlock(&job->lock);
		if (q >= job->query->n)
			break;
		gt_one(job, q, heap);
	}
	free(heap);
	return NULL;
}

/*
 * rvb_ground_truth computes the exact top-k of every query by brute force
 * on nthreads threads; with a filter, only rows in the query's tag slice
 * count.  out->ids is malloc'd by this function.
 */
void
rvb_ground_truth(RvbMetric metric, const RvbMatrix *base,
				 const RvbMatrix *query, int k, const RvbRowFilter *filter,
				 int nthreads, RvbNeighbours *out)
{
	GtJob		job;
	pthread_t  *th;
	double	   *bnorm = NULL;

	if (nthreads < 1)
		nthreads = 1;
	out->nq = query->n;
	out->k = k;
	out->ids = malloc(sizeof(int32_t) * (size_t) query->n * k + 1);
	if (metric == RVB_COSINE)
	{
		bnorm = malloc(sizeof(double) * (size_t) base->n + 1);
		for (int i = 0; i < base->n; i++)
			bnorm[i] = dot_d(RVB_ROW(base, i), RVB_ROW(base, i), base->dim);
	}
	job = (GtJob)
	{
		metric, base, query, bnorm, k, filter, out, 0
	};
	pthread_mutex_init(&job.lock, NULL);
	th = calloc(nthreads, sizeof(pthread_t));
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, gt_worker, &job);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&job.lock);
	free(th);
	free(bnorm);
}

/*
 * rvb_ground_truth_naive is the reference for the self-checks: every
 * distance through rvb_distance, a full sort, one thread.  Slow on purpose.
 */
void
rvb_ground_truth_naive(RvbMetric metric, const RvbMatrix *base,
					   const RvbMatrix *query, int k,
					   const RvbRowFilter *filter, RvbNeighbours *out)
{
	Cand	   *all = malloc(sizeof(Cand) * (size_t) base->n + 1);

	out->nq = query->n;
	out->k = k;
	out->ids = malloc(sizeof(int32_t) * (size_t) query->n * k + 1);
	for (int q = 0; q < query->n; q++)
	{
		int			n = 0;

		for (int i = 0; i < base->n; i++)
		{
			if (!row_passes(filter, q, i))
				continue;
			all[n].d = rvb_distance(metric, RVB_ROW(query, q), RVB_ROW(base, i),
									base->dim);
			all[n].id = i;
			n++;
		}
		qsort(all, n, sizeof(Cand), cand_cmp);
		for (int i = 0; i < k; i++)
			RVB_NB(out, q)[i] = i < n ? all[i].id : -1;
	}
	free(all);
}

/* ----------------------------------------------------------------
 *		recall
 * ----------------------------------------------------------------
 */

/*
 * rvb_recall_at is the fraction of the first k exact neighbours found in
 * the first k returned rows.  A returned row also counts when it is exactly
 * as near as the k-th exact neighbour (a tie the exact list broke the other
 * way).  Duplicated or out-of-range ids count once or not at all.  When the
 * truth has fewer than k rows (a filter keeps fewer), the denominator is
 * what exists; when it has none, there is nothing to miss and recall is 1.
 */
double
rvb_recall_at(RvbMetric metric, const RvbMatrix *base, const float *q,
			  const int32_t *got, int ngot, const int32_t *truth, int ntruth,
			  int k)
{
	int			t = 0;
	int			hits = 0;
	double		thr;

	while (t < k && t < ntruth && truth[t] >= 0)
		t++;
	if (t == 0)
		return 1.0;
	thr = rvb_distance(metric, q, RVB_ROW(base, truth[t - 1]), base->dim);
	thr += 1e-9 * fmax(1.0, fabs(thr));
	for (int i = 0; i < ngot && i < k; i++)
	{
		int32_t		id = got[i];
		bool		seen = false,
					found = false;

		if (id < 0 || id >= base->n)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = got[j] == id;
		if (seen)
			continue;
		for (int j = 0; j < t && !found; j++)
			found = truth[j] == id;
		if (found ||
			rvb_distance(metric, q, RVB_ROW(base, id), base->dim) <= thr)
			hits++;
	}
	return hits >= t ? 1.0 : (double) hits / t;
}
