/*-------------------------------------------------------------------------
 *
 * gnn_model.c
 *	  The learning loop's model (see gnn.h): region graph message passing,
 *	  the effort MLP, the expectile loss and its gradient, Adam with a
 *	  fixed seed, held-out calibration, and the byte format.
 *
 * NOTES
 *	  Pure C (no server headers).  Everything is double precision: the
 *	  model is small (RV_GNN_H, RV_GNN_M) and the gradient checks want it.
 *	  Training is deterministic for a seed: the shuffle comes from a
 *	  seeded xorshift64* and the sums run in a fixed order.
 *
 * IDENTIFICATION
 *	  src/gnn/gnn_model.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn.h"

#define H	RV_GNN_H
#define RF	RV_GNN_RF
#define QF	RV_GNN_QF
#define M	RV_GNN_M
#define IN	(RV_GNN_H + RV_GNN_QF)

/* Parameter layout */
#define P_WS1	0
#define P_WN1	(P_WS1 + H * RF)
#define P_B1	(P_WN1 + H * RF)
#define P_WS2	(P_B1 + H)
#define P_WN2	(P_WS2 + H * H)
#define P_B2	(P_WN2 + H * H)
#define P_W3	(P_B2 + H)
#define P_B3	(P_W3 + M * IN)
#define P_W4	(P_B3 + M)
#define P_B4	(P_W4 + M)
#define NPARAMS	(P_B4 + 1)

#define GNN_MAGIC "RVGN"
#define GNN_HEADER_U32	9

/* Activations of the graph layers for all regions */
typedef struct GnnWork
{
	double	   *x0;				/* R * RF, normalised */
	double	   *agg0;			/* R * RF */
	double	   *h1;				/* R * H */
	double	   *agg1;			/* R * H */
	double	   *h2;				/* R * H */
	double	   *dh1;			/* R * H */
	double	   *dh2;			/* R * H */
	double	   *dagg;			/* R * H */
	RvIgMem		mem;			/* the arrays above */
} GnnWork;

uint32_t
rv_gnn_nparams(void)
{
	return NPARAMS;
}

/* xorshift64*: the only randomness, so a seed fixes everything */
static uint64_t
GnnRand(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ULL;
}

static double
GnnUniform(uint64_t *state)
{
	return (double) (GnnRand(state) >> 11) / 9007199254740992.0;
}

static void
GnnInitBlock(double *p, int rows, int cols, uint64_t *state)
{
	double		s = sqrt(6.0 / (rows + cols));

	for (int i = 0; i < rows * cols; i++)
		p[i] = (2.0 * GnnUniform(state) - 1.0) * s;
}

RvGnnModel *
rv_gnn_create(uint32_t nregions, const double *rfeat, uint32_t nedges,
			  const RvGnnEdge *edges, uint32_t dim, const float *reps, uint64_t seed)
{
	RvGnnModel *m;
	uint64_t	st = seed ? seed : 0x9E3779B97F4A7C15ULL;

	if (nregions == 0 || nregions > RV_GNN_MAX_REGIONS || dim > RV_GNN_MAX_DIM)
		return NULL;
	for (uint32_t k = 0; k < nedges; k++)
		if (edges[k].u >= nregions || edges[k].v >= nregions || !(edges[k].w > 0) ||
			!isfinite(edges[k].w))
			return NULL;
	m = calloc(1, sizeof(RvGnnModel));
	if (m == NULL)
		return NULL;
	m->nregions = nregions;
	m->nedges = nedges;
	m->dim = dim;
	m->nparams = NPARAMS;
	m->rfeat = malloc(sizeof(double) * nregions * RF);
	m->edges = malloc(sizeof(RvGnnEdge) * (nedges ? nedges : 1));
	m->reps = malloc(sizeof(float) * ((size_t) nregions * dim + 1));
	m->params = calloc(NPARAMS, sizeof(double));
	if (!m->rfeat || !m->edges || !m->reps || !m->params)
	{
		rv_gnn_free(m);
		return NULL;
	}
	memcpy(m->rfeat, rfeat, sizeof(double) * nregions * RF);
	if (nedges)
		memcpy(m->edges, edges, sizeof(RvGnnEdge) * nedges);
	if (dim && reps)
		memcpy(m->reps, reps, sizeof(float) * (size_t) nregions * dim);
	else
		memset(m->reps, 0, sizeof(float) * ((size_t) nregions * dim + 1));
	for (int i = 0; i < RF; i++)
	{
		m->rmean[i] = 0;
		m->rstd[i] = 1;
	}
	for (int i = 0; i < QF; i++)
	{
		m->qmean[i] = 0;
		m->qstd[i] = 1;
	}
	m->tau = 0.9;
	m->shrink = 1;
	m->effortMin = 1;
	m->effortMax = 1e6;
	m->checkpoints = 1;
	GnnInitBlock(m->params + P_WS1, H, RF, &st);
	GnnInitBlock(m->params + P_WN1, H, RF, &st);
	GnnInitBlock(m->params + P_WS2, H, H, &st);
	GnnInitBlock(m->params + P_WN2, H, H, &st);
	GnnInitBlock(m->params + P_W3, M, IN, &st);
	GnnInitBlock(m->params + P_W4, 1, M, &st);
	return m;
}

void
rv_gnn_free(RvGnnModel *m)
{
	if (m == NULL)
		return;
	free(m->rfeat);
	free(m->edges);
	free(m->reps);
	free(m->params);
	free(m->emb);
	free(m->adjStart);
	free(m->adjNb);
	free(m->adjW);
	free(m);
}

/* Row-normalised adjacency in CSR form, both directions of every edge */
static bool
GnnBuildAdjacency(RvGnnModel *m)
{
	uint32_t	R = m->nregions;
	RvIgMem		scratch = RV_IG_MEM_INIT;
	uint32_t   *cur;
	double	   *deg;

	if (m->adjStart)
		return true;
	m->adjStart = malloc(sizeof(uint32_t) * (R + 1));
	m->adjNb = malloc(sizeof(uint32_t) * (2 * m->nedges + 1));
	m->adjW = malloc(sizeof(double) * (2 * m->nedges + 1));
	cur = rv_ig_alloc(&scratch, sizeof(uint32_t) * (R + 1), false);
	deg = rv_ig_alloc(&scratch, sizeof(double) * (R + 1), false);
	if (!m->adjStart || !m->adjNb || !m->adjW || scratch.failed)
	{
		free(m->adjStart);
		free(m->adjNb);
		free(m->adjW);
		m->adjStart = NULL;
		m->adjNb = NULL;
		m->adjW = NULL;
		rv_ig_free_all(&scratch);
		return false;
	}
	rv_ig_csr_build(R, m->edges, m->nedges, m->adjStart, m->adjNb, m->adjW, deg, cur);
	for (uint32_t r = 0; r < R; r++)
		for (uint32_t k = m->adjStart[r]; k < m->adjStart[r + 1]; k++)
			m->adjW[k] /= deg[r];
	rv_ig_free_all(&scratch);
	return true;
}

static void
GnnWorkFree(GnnWork *w)
{
	rv_ig_free_all(&w->mem);
	memset(w, 0, sizeof(GnnWork));
}

static bool
GnnWorkAlloc(GnnWork *w, uint32_t R)
{
	memset(w, 0, sizeof(GnnWork));
	w->x0 = rv_ig_alloc(&w->mem, sizeof(double) * R * RF, false);
	w->agg0 = rv_ig_alloc(&w->mem, sizeof(double) * R * RF, false);
	w->h1 = rv_ig_alloc(&w->mem, sizeof(double) * R * H, false);
	w->agg1 = rv_ig_alloc(&w->mem, sizeof(double) * R * H, false);
	w->h2 = rv_ig_alloc(&w->mem, sizeof(double) * R * H, false);
	w->dh1 = rv_ig_alloc(&w->mem, sizeof(double) * R * H, false);
	w->dh2 = rv_ig_alloc(&w->mem, sizeof(double) * R * H, false);
	w->dagg = rv_ig_alloc(&w->mem, sizeof(double) * R * H, false);
	if (w->mem.failed)
	{
		GnnWorkFree(w);
		return false;
	}
	return true;
}

/* agg_r = sum_j a_rj x_j over width-wide rows */
static void
GnnAggregate(const RvGnnModel *m, const double *x, int width, double *agg)
{
	for (uint32_t r = 0; r < m->nregions; r++)
	{
		double	   *out = agg + (size_t) r * width;

		memset(out, 0, sizeof(double) * width);
		for (uint32_t k = m->adjStart[r]; k < m->adjStart[r + 1]; k++)
		{
			const double *xj = x + (size_t) m->adjNb[k] * width;
			double		a = m->adjW[k];

			for (int i = 0; i < width; i++)
				out[i] += a * xj[i];
		}
	}
}

/* out = tanh(Ws x + Wn agg + b), rows of width in, H outputs */
static void
GnnLayer(const double *Ws, const double *Wn, const double *b, const double *x,
		 const double *agg, int width, double *out)
{
	for (int o = 0; o < H; o++)
	{
		double		z = b[o];

		for (int i = 0; i < width; i++)
			z += Ws[o * width + i] * x[i] + Wn[o * width + i] * agg[i];
		out[o] = tanh(z);
	}
}

static void
GnnForwardGraph(const RvGnnModel *m, GnnWork *w)
{
	const double *p = m->params;
	uint32_t	R = m->nregions;

	for (uint32_t r = 0; r < R; r++)
		for (int i = 0; i < RF; i++)
			w->x0[r * RF + i] = (m->rfeat[r * RF + i] - m->rmean[i]) / m->rstd[i];
	GnnAggregate(m, w->x0, RF, w->agg0);
	for (uint32_t r = 0; r < R; r++)
		GnnLayer(p + P_WS1, p + P_WN1, p + P_B1, w->x0 + r * RF, w->agg0 + r * RF, RF,
				 w->h1 + r * H);
	GnnAggregate(m, w->h1, H, w->agg1);
	for (uint32_t r = 0; r < R; r++)
		GnnLayer(p + P_WS2, p + P_WN2, p + P_B2, w->h1 + r * H, w->agg1 + r * H, H,
				 w->h2 + r * H);
}

/* The MLP on [emb ; normalised q]: returns yhat, fills in and h3 */
static double
GnnForwardMlp(const RvGnnModel *m, const double *emb, const double *qraw,
			  double *in, double *h3)
{
	const double *p = m->params;
	double		y = p[P_B4] + m->ymean;

	memcpy(in, emb, sizeof(double) * H);
	for (int i = 0; i < QF; i++)
		in[H + i] = (qraw[i] - m->qmean[i]) / m->qstd[i];
	for (int o = 0; o < M; o++)
	{
		double		z = p[P_B3 + o];

		for (int i = 0; i < IN; i++)
			z += p[P_W3 + o * IN + i] * in[i];
		h3[o] = tanh(z);
		y += p[P_W4 + o] * h3[o];
	}
	return y;
}

bool
rv_gnn_prepare(RvGnnModel *m)
{
	GnnWork		w;

	if (!GnnBuildAdjacency(m))
		return false;
	if (m->emb == NULL)
	{
		m->emb = malloc(sizeof(double) * m->nregions * H);
		if (m->emb == NULL)
			return false;
	}
	if (!GnnWorkAlloc(&w, m->nregions))
		return false;
	GnnForwardGraph(m, &w);
	memcpy(m->emb, w.h2, sizeof(double) * m->nregions * H);
	GnnWorkFree(&w);
	return true;
}

/* The network's output for a query, pulled towards ymean by shrink */
double
rv_gnn_predict(const RvGnnModel *m, uint32_t region, const double *q)
{
	double		in[IN];
	double		h3[M];
	double		y;

	if (m->emb == NULL || region >= m->nregions)
		return NAN;
	y = GnnForwardMlp(m, m->emb + (size_t) region * H, q, in, h3);
	return m->ymean + m->shrink * (y - m->ymean);
}

double
rv_gnn_effort(const RvGnnModel *m, uint32_t region, const double *q)
{
	double		y = rv_gnn_predict(m, region, q);
	double		e;

	if (!isfinite(y))
		return m->effortMax;
	e = exp(y + m->offset);
	if (!(e >= m->effortMin))
		e = m->effortMin;
	if (e > m->effortMax)
		e = m->effortMax;
	return e;
}

/*
 * Query features from the distances to the region representatives: the
 * nearest distance, the gaps to the second and fourth nearest (a query
 * between regions is harder), how far the nearest is below the mean in
 * standard deviations, the share of regions almost as near as the
 * nearest, and the mean distance less the nearest.
 */
void
rv_gnn_query_features(const double *dists, uint32_t nregions, double *q, uint32_t *entry)
{
	double		best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
	uint32_t	bestIdx = 0;
	double		sum = 0,
				sum2 = 0,
				mean,
				sd;
	uint32_t	near = 0;

	for (uint32_t r = 0; r < nregions; r++)
	{
		double		d = dists[r];
		int			pos = 4;

		sum += d;
		sum2 += d * d;
		while (pos > 0 && d < best[pos - 1])
			pos--;
		if (pos < 4)
		{
			memmove(best + pos + 1, best + pos, sizeof(double) * (3 - pos));
			best[pos] = d;
			if (pos == 0)
				bestIdx = r;
		}
	}
	for (int i = 1; i < 4; i++)
		if (!isfinite(best[i]))
			best[i] = best[i - 1];
	mean = nregions ? sum / nregions : 0;
	sd = nregions ? sqrt(fmax(sum2 / nregions - mean * mean, 0)) : 0;
	for (uint32_t r = 0; r < nregions; r++)
		if (dists[r] <= best[0] + 0.05 * (mean - best[0]))
			near++;
	q[0] = best[0];
	q[1] = best[1] - best[0];
	q[2] = best[3] - best[0];
	q[3] = (best[0] - mean) / (sd + 1e-12);
	q[4] = nregions ? (double) near / nregions : 0;
	q[5] = mean - best[0];
	*entry = bestIdx;
}

/*
 * Query features from the search's progress at its checkpoint, all but
 * the last scale-free: log elements visited and hops, the spread of the
 * k nearest relative to the way from the entry point, the k-th's recent
 * improvement relative to that spread, how crowded the margin above the
 * k-th is (found, and not expanded yet), the share of hops since the k-th
 * last improved, and the k-th distance itself (the model normalises it
 * per index).  A hard query still improves, has a wide top k and a
 * crowded margin; an easy one has settled.
 */
void
rv_gnn_search_features(const RvGnnProgress *p, double *q)
{
	double		spread = p->kth - p->first;
	double		way = p->entry - p->first;
	double		eps = 1e-9 * (fabs(p->kth) + fabs(p->entry) + 1e-30);

	q[0] = log1p(fmax(p->visited, 0));
	q[1] = log1p(fmax(p->hops, 0));
	q[2] = spread / (fmax(way, 0) + fmax(spread, 0) + eps);
	/* unbounded (no k-th yet RV_GNN_HOPS_BACK hops ago): capped */
	q[3] = fmin((p->kthBefore - p->kth) / (fmax(spread, 0) + eps), 100);
	q[4] = log1p(fmax(p->nearSeen, 0));
	q[5] = log1p(fmax(p->nearOpen, 0));
	q[6] = p->hops > 0 ? p->sinceImproved / p->hops : 1;
	q[7] = p->kth;
	q[8] = p->stage;
	for (int i = 0; i < RV_GNN_QF_SEARCH; i++)
		if (!isfinite(q[i]))
			q[i] = 0;
}

static void
GnnMeanStd(const double *x, size_t n, size_t stride, double *mean, double *sd)
{
	double		s = 0,
				s2 = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i * stride];
	*mean = n ? s / n : 0;
	for (size_t i = 0; i < n; i++)
		s2 += (x[i * stride] - *mean) * (x[i * stride] - *mean);
	*sd = n ? sqrt(s2 / n) : 1;
	if (!(*sd > 1e-9))
		*sd = 1;
}

/* Normalisation of region and query features, and the label mean */
void
rv_gnn_fit_stats(RvGnnModel *m, const RvGnnSample *s, uint32_t n)
{
	double		ysum = 0;
	double	   *col;

	for (int i = 0; i < RF; i++)
		GnnMeanStd(m->rfeat + i, m->nregions, RF, &m->rmean[i], &m->rstd[i]);
	col = malloc(sizeof(double) * (n ? n : 1));
	for (int i = 0; i < QF && col; i++)
	{
		for (uint32_t k = 0; k < n; k++)
			col[k] = s[k].q[i];
		GnnMeanStd(col, n, 1, &m->qmean[i], &m->qstd[i]);
	}
	free(col);
	for (uint32_t k = 0; k < n; k++)
		ysum += s[k].y;
	m->ymean = n ? ysum / n : 0;
}

/* d tanh / dz, from the output */
static inline double
GnnDTanh(double t)
{
	return 1.0 - t * t;
}

/* Backward of one graph layer for region r: accumulates weights, dx, dagg */
static void
GnnLayerBackward(const double *Ws, const double *Wn, const double *x, const double *agg,
				 const double *out, const double *dout, int width,
				 double *gWs, double *gWn, double *gb, double *dx, double *dagg)
{
	for (int o = 0; o < H; o++)
	{
		double		dz = dout[o] * GnnDTanh(out[o]);

		if (dz == 0)
			continue;
		gb[o] += dz;
		for (int i = 0; i < width; i++)
		{
			gWs[o * width + i] += dz * x[i];
			gWn[o * width + i] += dz * agg[i];
			if (dx)
				dx[i] += Ws[o * width + i] * dz;
			dagg[i] += Wn[o * width + i] * dz;
		}
	}
}

/*
 * Mean expectile loss over n samples and, if grad is not NULL, its
 * gradient with respect to every parameter (overwritten).  NaN if out of
 * memory.
 */
double
rv_gnn_loss_grad(RvGnnModel *m, const RvGnnSample *s, uint32_t n, double *grad)
{
	const double *p = m->params;
	uint32_t	R = m->nregions;
	GnnWork		w;
	double		loss = 0;
	double		in[IN],
				h3[M];

	if (n == 0)
		return 0;
	if (!GnnBuildAdjacency(m) || !GnnWorkAlloc(&w, R))
		return NAN;
	GnnForwardGraph(m, &w);
	if (grad)
	{
		memset(grad, 0, sizeof(double) * NPARAMS);
		memset(w.dh2, 0, sizeof(double) * R * H);
	}
	for (uint32_t k = 0; k < n; k++)
	{
		uint32_t	r = s[k].region < R ? s[k].region : 0;
		double		yhat = GnnForwardMlp(m, w.h2 + r * H, s[k].q, in, h3);
		double		e = s[k].y - yhat;
		double		wt = e > 0 ? m->tau : 1.0 - m->tau;
		double		dy;

		loss += wt * e * e;
		if (!grad)
			continue;
		dy = -2.0 * wt * e / n;
		grad[P_B4] += dy;
		for (int o = 0; o < M; o++)
		{
			double		dz = dy * p[P_W4 + o] * GnnDTanh(h3[o]);

			grad[P_W4 + o] += dy * h3[o];
			grad[P_B3 + o] += dz;
			for (int i = 0; i < IN; i++)
			{
				grad[P_W3 + o * IN + i] += dz * in[i];
				if (i < H)
					w.dh2[r * H + i] += p[P_W3 + o * IN + i] * dz;
			}
		}
	}
	if (grad)
	{
		/* layer 2: dh1 from the self term and, through agg1, the neighbours */
		memset(w.dh1, 0, sizeof(double) * R * H);
		for (uint32_t r = 0; r < R; r++)
		{
			memset(w.dagg, 0, sizeof(double) * H);
			GnnLayerBackward(p + P_WS2, p + P_WN2, w.h1 + r * H, w.agg1 + r * H,
							 w.h2 + r * H, w.dh2 + r * H, H,
							 grad + P_WS2, grad + P_WN2, grad + P_B2,
							 w.dh1 + r * H, w.dagg);
			for (uint32_t k = m->adjStart[r]; k < m->adjStart[r + 1]; k++)
			{
				double	   *dj = w.dh1 + (size_t) m->adjNb[k] * H;

				for (int i = 0; i < H; i++)
					dj[i] += m->adjW[k] * w.dagg[i];
			}
		}
		/* layer 1: inputs are data, only the weights need gradients */
		for (uint32_t r = 0; r < R; r++)
		{
			double		dagg[RF];

			memset(dagg, 0, sizeof(dagg));
			GnnLayerBackward(p + P_WS1, p + P_WN1, w.x0 + r * RF, w.agg0 + r * RF,
							 w.h1 + r * H, w.dh1 + r * H, RF,
							 grad + P_WS1, grad + P_WN1, grad + P_B1, NULL, dagg);
		}
	}
	GnnWorkFree(&w);
	return loss / n;
}

/*
 * Adam over shuffled mini-batches.  Fits the normalisation first; curve
 * (if not NULL) gets each epoch's mean training loss.  The model's
 * embeddings are prepared on return.
 */
bool
rv_gnn_train(RvGnnModel *m, const RvGnnSample *s, uint32_t n,
			 const RvGnnTrainOpts *o, double *curve)
{
	const double b1 = 0.9,
				b2 = 0.999,
				eps = 1e-8;
	double	   *g = malloc(sizeof(double) * NPARAMS);
	double	   *mom = calloc(NPARAMS, sizeof(double));
	double	   *vel = calloc(NPARAMS, sizeof(double));
	uint32_t   *order = malloc(sizeof(uint32_t) * (n ? n : 1));
	int			batch = o->batch > 0 ? o->batch : 64;
	RvGnnSample *bs = malloc(sizeof(RvGnnSample) * batch);
	uint64_t	st = o->seed ? o->seed : 1;
	long		t = 0;
	bool		ok = true;

	if (!g || !mom || !vel || !order || !bs || n == 0)
		ok = false;
	if (ok)
	{
		m->tau = o->tau;
		rv_gnn_fit_stats(m, s, n);
		for (uint32_t i = 0; i < n; i++)
			order[i] = i;
	}
	for (int ep = 0; ok && ep < o->epochs; ep++)
	{
		double		epLoss = 0;

		for (uint32_t i = n - 1; i > 0; i--)
		{
			uint32_t	j = (uint32_t) (GnnRand(&st) % (i + 1));
			uint32_t	tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		for (uint32_t start = 0; start < n; start += batch)
		{
			uint32_t	nb = n - start < (uint32_t) batch ? n - start : (uint32_t) batch;
			double		l;
			double		c1,
						c2;

			for (uint32_t k = 0; k < nb; k++)
				bs[k] = s[order[start + k]];
			l = rv_gnn_loss_grad(m, bs, nb, g);
			if (!isfinite(l))
			{
				ok = false;
				break;
			}
			epLoss += l * nb;
			t++;
			c1 = 1.0 - pow(b1, t);
			c2 = 1.0 - pow(b2, t);
			for (uint32_t i = 0; i < NPARAMS; i++)
			{
				mom[i] = b1 * mom[i] + (1 - b1) * g[i];
				vel[i] = b2 * vel[i] + (1 - b2) * g[i] * g[i];
				m->params[i] -= o->lr * (mom[i] / c1) / (sqrt(vel[i] / c2) + eps);
			}
		}
		if (curve)
			curve[ep] = epLoss / n;
	}
	free(g);
	free(mom);
	free(vel);
	free(order);
	free(bs);
	return ok && rv_gnn_prepare(m);
}

/* Recall of a query at effort e, interpolated in log effort */
double
rv_gnn_recall_at(const double *grid, uint32_t ngrid, const double *row, double e)
{
	if (e <= grid[0])
		return row[0];
	for (uint32_t g = 0; g + 1 < ngrid; g++)
	{
		if (e < grid[g + 1])
		{
			double		t = (log(e) - log(grid[g])) / (log(grid[g + 1]) - log(grid[g]));

			return row[g] + t * (row[g + 1] - row[g]);
		}
	}
	return row[ngrid - 1];
}

/* A sample's calibrated effort, within the model's bounds */
static double
GnnSampleEffort(const RvGnnModel *m, const RvGnnSample *s, double offset)
{
	double		y = rv_gnn_predict(m, s->region, s->q);
	double		e = isfinite(y) ? exp(y + offset) : m->effortMax;

	return fmin(fmax(e, m->effortMin), m->effortMax);
}

/*
 * The effort a scan ends with for the query whose samples are s[0..n) (one
 * per checkpoint reached, ascending): the first checkpoint's prediction
 * below the next checkpoint, at least its own checkpoint.
 */
double
rv_gnn_query_effort(const RvGnnModel *m, const RvGnnSample *s, uint32_t n, double offset)
{
	if (m->stopRule == RV_GNN_RULE_STOP)
	{
		/* a stop rule: the first checkpoint predicted to have reached it */
		for (uint32_t j = 0; j < n; j++)
			if (rv_gnn_predict(m, s[j].region, s[j].q) - offset >= 1)
				return fmax(s[j].ck, m->effortMin);
		return n ? fmin(fmax(2 * s[n - 1].ck, m->effortMin), m->effortMax) : m->effortMax;
	}
	for (uint32_t j = 0; j < n; j++)
	{
		double		e = GnnSampleEffort(m, &s[j], offset);

		if (j + 1 == n || e < s[j + 1].ck)
			return fmax(e, s[j].ck);
	}
	return m->effortMin;
}

void
rv_gnn_evaluate(const RvGnnModel *m, const RvGnnSample *s, uint32_t n,
				const double *grid, uint32_t ngrid, const double *recall,
				double target, double offset,
				double *meanRecall, double *meanCost, double *shareBelow)
{
	double		rs = 0,
				cs = 0;
	uint32_t	below = 0,
				nq = 0;

	for (uint32_t i = 0; i < n;)
	{
		uint32_t	j = i + 1;
		double		e,
					r;

		while (j < n && s[j].query == s[i].query)
			j++;
		e = rv_gnn_query_effort(m, s + i, j - i, offset);
		r = rv_gnn_recall_at(grid, ngrid, recall + (size_t) s[i].query * ngrid, e);
		rs += r;
		cs += e;
		if (r < target)
			below++;
		nq++;
		i = j;
	}
	*meanRecall = nq ? rs / nq : 0;
	*meanCost = nq ? cs / nq : 0;
	*shareBelow = nq ? (double) below / nq : 0;
}

/*
 * For each shrink of 1, 0.75, 0.5, 0.25 and 0, the smallest offset (steps
 * of 0.02 in log effort, from -4 to 4) at which the mean held-out recall
 * reaches the target; keeps the pair of least mean effort.  False (shrink
 * 1, offset at the top) if none reaches it.
 */
bool
rv_gnn_calibrate(RvGnnModel *m, const RvGnnSample *s, uint32_t n,
				 const double *grid, uint32_t ngrid, const double *recall, double target)
{
	static const double shrinks[] = {1.0, 0.75, 0.5, 0.25, 0.0};
	double		bestCost = INFINITY;
	double		bestShrink = 1.0,
				bestOffset = 4.0;
	/*
	 * An effort model's offset is in log effort (upwards: more effort); a
	 * stop rule's is a recall threshold less 1 (upwards: stop later), in
	 * finer steps
	 */
	double		step = m->stopRule == RV_GNN_RULE_STOP ? 0.0025 : 0.02;

	for (int si = 0; si < 5; si++)
	{
		m->shrink = shrinks[si];
		for (int k = -200; k <= 200; k++)
		{
			double		off = k * step;
			double		r,
						c,
						b;

			rv_gnn_evaluate(m, s, n, grid, ngrid, recall, target, off, &r, &c, &b);
			if (r >= target)
			{
				if (c < bestCost)
				{
					bestCost = c;
					bestShrink = shrinks[si];
					bestOffset = off;
				}
				break;
			}
		}
	}
	m->shrink = bestShrink;
	m->offset = bestOffset;
	return isfinite(bestCost);
}

/* The first grid effort whose mean recall reaches the target, or -1 */
int
rv_gnn_fixed_effort(uint32_t n, const double *grid, uint32_t ngrid,
					const double *recall, double target)
{
	for (uint32_t g = 0; g < ngrid; g++)
	{
		double		sum = 0;

		for (uint32_t i = 0; i < n; i++)
			sum += recall[(size_t) i * ngrid + g];
		if (n > 0 && sum / n >= target)
			return (int) g;
	}
	return -1;
}

/*
 * The fixed effort at which the mean recall of the n samples reaches the
 * target, between grid points interpolated in log effort as
 * rv_gnn_evaluate interpolates each query's recall (the mean of the
 * interpolated curves is the interpolated mean curve): what one effort
 * for every query costs at exactly the target.  grid[0] if the first grid
 * effort already reaches it, INFINITY if none does.
 */
double
rv_gnn_fixed_effort_at(uint32_t n, const double *grid, uint32_t ngrid,
					   const double *recall, double target)
{
	double		prev = 0;

	for (uint32_t g = 0; g < ngrid && n > 0; g++)
	{
		double		sum = 0;
		double		mean;

		for (uint32_t i = 0; i < n; i++)
			sum += recall[(size_t) i * ngrid + g];
		mean = sum / n;
		if (mean >= target)
		{
			double		t;

			if (g == 0 || !(mean > prev))
				return grid[g];
			t = (target - prev) / (mean - prev);
			/*
			 * at the grid point itself exactly: exp(log(x)) is not always
			 * x, and a model at that effort must not look cheaper by a
			 * rounding (rv_gnn_goes_live)
			 */
			if (t > 1 - 1e-9)
				return grid[g];
			return exp(log(grid[g - 1]) + t * (log(grid[g]) - log(grid[g - 1])));
		}
		prev = mean;
	}
	return INFINITY;
}

/*
 * The effort of the grid that costs c, given the mean cost of each grid
 * effort (rising): interpolated linearly between grid points, from zero
 * cost at zero effort below the first, and extrapolated along the last
 * step above the last.  Puts a rule that has no effort of its own (the
 * bound rule) on the scale of the efforts it is compared with.
 */
double
rv_gnn_effort_at_cost(const double *grid, const double *cost, uint32_t ngrid, double c)
{
	double		g0 = 0,
				c0 = 0;

	for (uint32_t g = 0; g < ngrid; g++)
	{
		if (c <= cost[g] || g + 1 == ngrid)
		{
			if (!(cost[g] > c0))
				return grid[g];
			return g0 + (c - c0) * (grid[g] - g0) / (cost[g] - c0);
		}
		g0 = grid[g];
		c0 = cost[g];
	}
	return NAN;
}

/*
 * Whether a newly trained version goes live (docs/learning.md): it
 * calibrated, its mean recall on the validation queries meets the target,
 * its mean effort there is below the fixed effort that reaches the target
 * on the same queries (fixedAt, rv_gnn_fixed_effort_at: a model that costs
 * more than one effort for all is no gain), and below the live version's
 * on the same queries unless that one misses the target (liveRecall NAN:
 * no live version).
 */
bool
rv_gnn_goes_live(bool calibrated, double target, double recall, double cost,
				 double fixedAt, double liveRecall, double liveCost)
{
	if (!calibrated || !(recall >= target) || !(cost < fixedAt))
		return false;
	if (isnan(liveRecall) || !(liveRecall >= target))
		return true;
	return cost < liveCost;
}

/* ----------------------------------------------------------------
 *		Byte format
 * ----------------------------------------------------------------
 */
#define GNN_NSCALARS	(2 * RF + 2 * QF + 8)

size_t
rv_gnn_serialized_size(const RvGnnModel *m)
{
	return 4 + 4 * GNN_HEADER_U32 + 8 * GNN_NSCALARS + 8 * (size_t) m->nregions * RF +
		16 * (size_t) m->nedges + 4 * (size_t) m->nregions * m->dim +
		8 * (size_t) m->nparams + 8;
}

static uint64_t
GnnFnv(const unsigned char *p, size_t n)
{
	uint64_t	h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
	{
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Little-endian writers and readers of integers nbytes wide, byte by byte
 * (any host order); the format has u32 and u64 fields.
 */
static unsigned char *
GnnPutLE(unsigned char *o, uint64_t v, int nbytes)
{
	for (int i = 0; i < nbytes; i++)
		*o++ = (unsigned char) (v >> (8 * i));
	return o;
}

static uint64_t
GnnGetLE(const unsigned char **p, int nbytes)
{
	uint64_t	v = 0;

	for (int i = 0; i < nbytes; i++)
		v |= (uint64_t) (*p)[i] << (8 * i);
	*p += nbytes;
	return v;
}

#define GnnPutU32(o, v)		GnnPutLE(o, (uint32_t) (v), 4)
#define GnnPutU64(o, v)		GnnPutLE(o, v, 8)
#define GnnGetU32(p)		((uint32_t) GnnGetLE(p, 4))
#define GnnGetU64(p)		GnnGetLE(p, 8)

static unsigned char *
GnnPutF64(unsigned char *o, double d)
{
	uint64_t	v;

	memcpy(&v, &d, 8);
	return GnnPutU64(o, v);
}

static double
GnnGetF64(const unsigned char **p)
{
	uint64_t	v = GnnGetU64(p);
	double		d;

	memcpy(&d, &v, 8);
	return d;
}

static double *
GnnScalarSlot(RvGnnModel *m, int k)
{
	/* the byte format's order: the normalisation arrays, then the scalars */
	double	   *arrays[] = {m->rmean, m->rstd, m->qmean, m->qstd};
	const int	sizes[] = {RF, RF, QF, QF};
	double	   *scalars[] = {&m->ymean, &m->offset, &m->effortMin, &m->effortMax,
	&m->tau, &m->shrink, &m->checkpoints, &m->stopRule};
	const int	nscalars = (int) (sizeof(scalars) / sizeof(scalars[0]));

	for (int i = 0; i < (int) (sizeof(arrays) / sizeof(arrays[0])); i++)
	{
		if (k < sizes[i])
			return &arrays[i][k];
		k -= sizes[i];
	}
	return scalars[k < nscalars ? k : nscalars - 1];
}

void
rv_gnn_serialize(const RvGnnModel *m, unsigned char *out)
{
	unsigned char *o = out;

	memcpy(o, GNN_MAGIC, 4);
	o += 4;
	o = GnnPutU32(o, RV_GNN_FORMAT_VERSION);
	o = GnnPutU32(o, m->nregions);
	o = GnnPutU32(o, m->nedges);
	o = GnnPutU32(o, m->dim);
	o = GnnPutU32(o, m->nparams);
	o = GnnPutU32(o, RF);
	o = GnnPutU32(o, QF);
	o = GnnPutU32(o, H);
	o = GnnPutU32(o, M);
	for (int k = 0; k < GNN_NSCALARS; k++)
		o = GnnPutF64(o, *GnnScalarSlot((RvGnnModel *) m, k));
	for (size_t i = 0; i < (size_t) m->nregions * RF; i++)
		o = GnnPutF64(o, m->rfeat[i]);
	for (uint32_t k = 0; k < m->nedges; k++)
	{
		o = GnnPutU32(o, m->edges[k].u);
		o = GnnPutU32(o, m->edges[k].v);
		o = GnnPutF64(o, m->edges[k].w);
	}
	for (size_t i = 0; i < (size_t) m->nregions * m->dim; i++)
	{
		uint32_t	v;

		memcpy(&v, &m->reps[i], 4);
		o = GnnPutU32(o, v);
	}
	for (uint32_t i = 0; i < m->nparams; i++)
		o = GnnPutF64(o, m->params[i]);
	GnnPutU64(o, GnnFnv(out, (size_t) (o - out)));
}

/*
 * Parse and check a serialised model: sizes, version, shape, finite
 * numbers, edge ends and the checksum.  On failure NULL and *error says
 * why.  The result is prepared (embeddings computed).
 */
RvGnnModel *
rv_gnn_deserialize(const unsigned char *buf, size_t len, const char **error)
{
	const unsigned char *p = buf;
	const unsigned char *tail = buf + len - 8;
	uint32_t	hdr[GNN_HEADER_U32];
	RvGnnModel	shape;
	RvGnnModel *m;
	double	   *rfeat;
	RvGnnEdge  *edges;
	float	   *reps;

	*error = NULL;
	if (len < 4 + 4 * GNN_HEADER_U32 || memcmp(buf, GNN_MAGIC, 4) != 0)
	{
		*error = "not a ruvector model";
		return NULL;
	}
	p += 4;
	for (int i = 0; i < GNN_HEADER_U32; i++)
		hdr[i] = GnnGetU32(&p);
	if (hdr[0] != RV_GNN_FORMAT_VERSION)
	{
		*error = "unsupported model format version";
		return NULL;
	}
	if (hdr[4] != NPARAMS || hdr[5] != RF || hdr[6] != QF || hdr[7] != H || hdr[8] != M ||
		hdr[1] == 0 || hdr[1] > RV_GNN_MAX_REGIONS || hdr[3] > RV_GNN_MAX_DIM ||
		hdr[2] > (uint32_t) RV_GNN_MAX_REGIONS * RV_GNN_MAX_REGIONS)
	{
		*error = "model shape does not match this build";
		return NULL;
	}
	memset(&shape, 0, sizeof(shape));
	shape.nregions = hdr[1];
	shape.nedges = hdr[2];
	shape.dim = hdr[3];
	shape.nparams = hdr[4];
	if (rv_gnn_serialized_size(&shape) != len)
	{
		*error = "model length does not match its header";
		return NULL;
	}
	if (GnnFnv(buf, len - 8) != GnnGetU64(&tail))
	{
		*error = "model checksum mismatch";
		return NULL;
	}
	rfeat = malloc(sizeof(double) * shape.nregions * RF);
	edges = malloc(sizeof(RvGnnEdge) * (shape.nedges ? shape.nedges : 1));
	reps = malloc(sizeof(float) * ((size_t) shape.nregions * shape.dim + 1));
	if (!rfeat || !edges || !reps)
	{
		free(rfeat);
		free(edges);
		free(reps);
		*error = "out of memory";
		return NULL;
	}
	/* scalars come before the arrays: read them into the shape first */
	for (int k = 0; k < GNN_NSCALARS; k++)
		*GnnScalarSlot(&shape, k) = GnnGetF64(&p);
	for (size_t i = 0; i < (size_t) shape.nregions * RF; i++)
		rfeat[i] = GnnGetF64(&p);
	for (uint32_t k = 0; k < shape.nedges; k++)
	{
		edges[k].u = GnnGetU32(&p);
		edges[k].v = GnnGetU32(&p);
		edges[k].w = GnnGetF64(&p);
	}
	for (size_t i = 0; i < (size_t) shape.nregions * shape.dim; i++)
	{
		uint32_t	v = GnnGetU32(&p);

		memcpy(&reps[i], &v, 4);
	}
	m = rv_gnn_create(shape.nregions, rfeat, shape.nedges, edges, shape.dim, reps, 1);
	free(rfeat);
	free(edges);
	free(reps);
	if (m == NULL)
	{
		*error = "model has an invalid region graph";
		return NULL;
	}
	for (int k = 0; k < GNN_NSCALARS; k++)
		*GnnScalarSlot(m, k) = *GnnScalarSlot(&shape, k);
	for (uint32_t i = 0; i < m->nparams; i++)
		m->params[i] = GnnGetF64(&p);
	for (uint32_t i = 0; i < m->nparams; i++)
		if (!isfinite(m->params[i]))
			*error = "model has a non-finite parameter";
	for (int k = 0; k < GNN_NSCALARS; k++)
		if (!isfinite(*GnnScalarSlot(m, k)))
			*error = "model has a non-finite scalar";
	for (size_t i = 0; i < (size_t) m->nregions * RF; i++)
		if (!isfinite(m->rfeat[i]))
			*error = "model has a non-finite region feature";
	for (int i = 0; i < RF; i++)
		if (!(m->rstd[i] > 0))
			*error = "model has a zero scale";
	for (int i = 0; i < QF; i++)
		if (!(m->qstd[i] > 0))
			*error = "model has a zero scale";
	if (!(m->checkpoints >= 1 && m->checkpoints <= RV_GNN_MAX_CHECKPOINTS &&
		  m->checkpoints == floor(m->checkpoints)))
		*error = "model has an invalid number of checkpoints";
	if (!(m->stopRule == RV_GNN_RULE_EFFORT || m->stopRule == RV_GNN_RULE_STOP ||
		  (m->stopRule == RV_GNN_RULE_BOUND && m->offset > 0)))
		*error = "model has an invalid kind";
	if (!(m->effortMin >= 1) || !(m->effortMax >= m->effortMin))
		*error = "model has an invalid effort range";
	if (!(m->shrink >= 0 && m->shrink <= 1))
		*error = "model has an invalid shrink";
	if (*error == NULL && !rv_gnn_prepare(m))
		*error = "out of memory";
	if (*error)
	{
		rv_gnn_free(m);
		return NULL;
	}
	return m;
}

/*
 * Region features from the region graph: the caller puts each region's
 * element count in RV_GNN_RF_LOG_SIZE and its radius in RV_GNN_RF_RADIUS;
 * this adds degree and link weight from edges, the density (links per
 * element), and takes the logarithms.  rfeat: nregions * RV_GNN_RF.
 */
void
rv_gnn_region_features(uint32_t nregions, const RvGnnEdge *edges, uint32_t nedges,
					   double *rfeat)
{
	for (uint32_t e = 0; e < nedges; e++)
	{
		double	   *fu = rfeat + (size_t) edges[e].u * RV_GNN_RF;
		double	   *fv = rfeat + (size_t) edges[e].v * RV_GNN_RF;

		fu[RV_GNN_RF_LOG_DEGREE] += 1;
		fv[RV_GNN_RF_LOG_DEGREE] += 1;
		fu[RV_GNN_RF_LOG_LINKS] += edges[e].w;
		fv[RV_GNN_RF_LOG_LINKS] += edges[e].w;
	}
	for (uint32_t r = 0; r < nregions; r++)
	{
		double	   *f = rfeat + (size_t) r * RV_GNN_RF;
		double		size = f[RV_GNN_RF_LOG_SIZE];

		f[RV_GNN_RF_DENSITY] = f[RV_GNN_RF_LOG_LINKS] / (size > 1 ? size : 1);
		f[RV_GNN_RF_LOG_SIZE] = log1p(size);
		f[RV_GNN_RF_LOG_DEGREE] = log1p(f[RV_GNN_RF_LOG_DEGREE]);
		f[RV_GNN_RF_LOG_LINKS] = log1p(f[RV_GNN_RF_LOG_LINKS]);
	}
}

/* x scaled to unit length into out, which may be x (a zero vector stays zero) */
void
rv_gnn_unit(const float *x, uint32_t dim, float *out)
{
	double		s = 0;

	for (uint32_t i = 0; i < dim; i++)
		s += (double) x[i] * x[i];
	s = s > 0 ? 1.0 / sqrt(s) : 0;
	for (uint32_t i = 0; i < dim; i++)
		out[i] = (float) (x[i] * s);
}

/*
 * The region graph of an index whose regions have no links of their own
 * (ivfflat lists): each region linked to the nlink regions with the
 * nearest representatives (L2; ties to the lower number), as pairs u < v
 * of weight 1, or 2 when each is among the other's nearest.  edges needs
 * room for nregions * nlink; returns how many it holds.  O(nregions^2
 * dim): the regions are at most RV_GNN_MAX_REGIONS.
 */
uint32_t
rv_gnn_knn_edges(const float *reps, uint32_t nregions, uint32_t dim, uint32_t nlink,
				 RvGnnEdge *edges)
{
	uint32_t	nedges = 0;
	uint32_t   *best;
	double	   *bestD;

	if (nregions < 2 || nlink == 0)
		return 0;
	if (nlink > nregions - 1)
		nlink = nregions - 1;
	best = malloc(sizeof(uint32_t) * nlink);
	bestD = malloc(sizeof(double) * nlink);
	if (best == NULL || bestD == NULL)
	{
		free(best);
		free(bestD);
		return 0;
	}
	for (uint32_t u = 0; u < nregions; u++)
	{
		uint32_t	nb = 0;

		for (uint32_t v = 0; v < nregions; v++)
		{
			double		d = 0;
			uint32_t	pos;

			if (v == u)
				continue;
			for (uint32_t j = 0; j < dim; j++)
			{
				double		x = (double) reps[(size_t) u * dim + j] - reps[(size_t) v * dim + j];

				d += x * x;
			}
			if (nb == nlink && !(d < bestD[nb - 1]))
				continue;
			pos = nb < nlink ? nb++ : nb - 1;
			while (pos > 0 && d < bestD[pos - 1])
			{
				best[pos] = best[pos - 1];
				bestD[pos] = bestD[pos - 1];
				pos--;
			}
			best[pos] = v;
			bestD[pos] = d;
		}
		for (uint32_t i = 0; i < nb; i++)
		{
			uint32_t	a = u < best[i] ? u : best[i];
			uint32_t	b = u < best[i] ? best[i] : u;
			uint32_t	e;

			/* the pair, if v found u first: v < u, so among v's edges */
			for (e = 0; e < nedges; e++)
				if (edges[e].u == a && edges[e].v == b)
					break;
			if (e < nedges)
				edges[e].w += 1;
			else
			{
				edges[nedges].u = a;
				edges[nedges].v = b;
				edges[nedges].w = 1;
				nedges++;
			}
		}
	}
	free(best);
	free(bestD);
	return nedges;
}
