/*
 * bench_integrity.c — timings of the integrity control plane's pure
 * computations on contracted-graph-sized inputs (bench/RESULTS.md,
 * "Integrity control plane"): the exact minimum cut and lambda2 on random
 * 1000-node graphs shaped like a contracted HNSW layer 0 (each region
 * linked to ~40 nearby regions, link counts 1..30), best of 5 runs.
 *
 *   make bench-integrity
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "integrity/igalgo.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	uint32_t	sizes[] = {100, 500, 1000, 2000};
	unsigned	seed = 12345;

	printf("%6s %8s %12s %12s %10s %10s\n", "nodes", "edges", "mincut_ms", "lambda2_ms", "lambda", "lambda2");
	for (int si = 0; si < 4; si++)
	{
		uint32_t	n = sizes[si];
		uint32_t	deg = 40;
		RvIgEdge   *e = malloc(sizeof(RvIgEdge) * n * deg);
		unsigned char *side = malloc(n);
		uint32_t	ne = 0;
		double		bestCut = 1e30,
					bestL2 = 1e30,
					cut = 0,
					l2 = 0;

		/* regions on a ring: links to nearby regions, like a contracted graph */
		for (uint32_t u = 0; u < n; u++)
			for (uint32_t j = 0; j < deg / 2; j++)
			{
				uint32_t	v = (u + 1 + rand_r(&seed) % (n / 10 + 1)) % n;

				if (v == u)
					continue;
				e[ne].u = u;
				e[ne].v = v;
				e[ne++].w = 1 + rand_r(&seed) % 30;
			}
		for (int r = 0; r < 5; r++)
		{
			double		t0 = now_ms();

			cut = rv_ig_mincut(n, e, ne, side);
			double		t1 = now_ms();

			l2 = rv_ig_lambda2(n, e, ne, 0);
			double		t2 = now_ms();

			if (t1 - t0 < bestCut)
				bestCut = t1 - t0;
			if (t2 - t1 < bestL2)
				bestL2 = t2 - t1;
		}
		printf("%6u %8u %12.2f %12.2f %10.0f %10.4f\n", n, ne, bestCut, bestL2, cut, l2);
		free(e);
		free(side);
	}
	return 0;
}
