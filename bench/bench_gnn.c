/*
 * bench_gnn.c — timings of the learning loop's model (bench/RESULTS.md,
 * "Learning loop"): training on 10,000 queries over a region graph the size
 * a 100,000-row HNSW index gives (about 400 regions, each linked to ~20
 * others), in batches as the server takes them (64 an epoch), and the
 * per-query inference a scan pays: the query's distances to the region
 * representatives (100 dimensions, the SIMD L2 kernel), its features, and
 * the MLP.  Synthetic features and labels; the arithmetic is the real one.
 *
 *   make bench-gnn
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "distance/distance.h"
#include "gnn/gnn.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double
urand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffffff) / 16777216.0;
}

int
main(void)
{
	const uint32_t R = 400,
				dim = 100,
				n = 10000,
				nq = 2000;
	unsigned	seed = 7;
	double	   *rf = malloc(sizeof(double) * R * RV_GNN_RF);
	RvGnnEdge  *e = malloc(sizeof(RvGnnEdge) * R * 10);
	float	   *reps = malloc(sizeof(float) * R * dim);
	float	   *qv = malloc(sizeof(float) * nq * dim);
	RvGnnSample *s = malloc(sizeof(RvGnnSample) * n);
	double		curve[60];
	double	   *d = malloc(sizeof(double) * R);
	uint32_t	ne = 0;
	RvGnnModel *m;
	/* as the server trains: at most 64 batches an epoch */
	RvGnnTrainOpts o = {.epochs = 60, .batch = 10000 / 64, .lr = 0.005, .tau = 0.8, .seed = 42};
	double		t0,
				t1,
				c0,
				c1,
				sink = 0;

	RvDistanceInit();
	for (uint32_t i = 0; i < R * RV_GNN_RF; i++)
		rf[i] = urand(&seed) * 4;
	for (uint32_t r = 0; r < R; r++)
		for (int k = 0; k < 10; k++)
		{
			e[ne].u = r;
			e[ne].v = (r + 1 + (uint32_t) (urand(&seed) * 40)) % R;
			e[ne++].w = 1 + floor(urand(&seed) * 30);
		}
	for (uint32_t i = 0; i < R * dim; i++)
		reps[i] = urand(&seed) - 0.5f;
	for (uint32_t i = 0; i < nq * dim; i++)
		qv[i] = urand(&seed) - 0.5f;
	m = rv_gnn_create(R, rf, ne, e, dim, reps, 1);
	for (uint32_t i = 0; i < n; i++)
	{
		s[i].region = (uint32_t) (urand(&seed) * R);
		for (int j = 0; j < RV_GNN_QF; j++)
			s[i].q[j] = urand(&seed);
		s[i].y = 3 + s[i].q[1] - 0.5 * s[i].q[3] + 0.1 * rf[s[i].region * RV_GNN_RF];
	}
	t0 = now_ms();
	c0 = cpu_ms();
	if (!rv_gnn_train(m, s, n, &o, curve))
		return 1;
	t1 = now_ms();
	c1 = cpu_ms();
	printf("training: %u queries, %u regions, %u region links, %d epochs: %.0f ms wall, %.0f ms cpu (loss %.4f -> %.4f)\n",
		   n, R, ne, o.epochs, t1 - t0, c1 - c0, curve[0], curve[o.epochs - 1]);

	/* inference as a scan does it: R distances in float, features, MLP */
	t0 = now_ms();
	c0 = cpu_ms();
	for (uint32_t i = 0; i < nq; i++)
	{
		const float *x = qv + (size_t) i * dim;
		double		q[RV_GNN_QF];
		uint32_t	entry;

		for (uint32_t r = 0; r < R; r++)
			d[r] = sqrt(rv_f32_l2sq(x, reps + (size_t) r * dim, dim));
		rv_gnn_query_features(d, R, q, &entry);
		sink += rv_gnn_effort(m, entry, q);
	}
	t1 = now_ms();
	c1 = cpu_ms();
	printf("inference: %.1f us wall, %.1f us cpu per query (%u regions x %u dimensions, %s kernels; checksum %.0f)\n",
		   (t1 - t0) * 1000.0 / nq, (c1 - c0) * 1000.0 / nq, R, dim, rv_kernels->name, sink);
	rv_gnn_free(m);
	return 0;
}
