/*-------------------------------------------------------------------------
 *
 * rvb_stats.c
 *	  Percentiles of latencies and recalls, and the comparison of two
 *	  recall/QPS curves at equal recall.
 *
 * NOTES
 *	  Percentiles use the nearest-rank definition (the smallest sample with
 *	  at least p of the samples at or below it), so p99 of 1000 latencies is
 *	  an observed latency, not an interpolation between two.
 *
 *	  Equal recall: a sweep gives points (recall, QPS).  The frontier keeps
 *	  the points no other point beats on both; QPS at a target recall is read
 *	  off the frontier by linear interpolation between the two points that
 *	  bracket it.  Below the lowest frontier recall the lowest point's QPS is
 *	  achievable (it already exceeds the target); above the highest it is
 *	  not reached, reported as NaN.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* rvb_percentile sorts v in place and returns its p-quantile (0 <= p <= 1) */
double
rvb_percentile(double *v, size_t n, double p)
{
	size_t		rank;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(double), double_cmp);
	rank = (size_t) ceil(p * (double) n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

double
rvb_mean(const double *v, size_t n)
{
	double		s = 0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double) n;
}

static int
point_by_recall_desc(const void *a, const void *b)
{
	const RvbPoint *x = a,
			   *y = b;

	if (x->recall != y->recall)
		return x->recall > y->recall ? -1 : 1;
	return x->qps > y->qps ? -1 : x->qps < y->qps ? 1 : 0;
}

/*
 * rvb_frontier writes the Pareto-optimal points of pts into out (room for n),
 * sorted by recall ascending, QPS then strictly descending; returns how many.
 * Points with a NaN coordinate (failed runs) are ignored.
 */
int
rvb_frontier(const RvbPoint *pts, int n, RvbPoint *out)
{
	RvbPoint   *tmp = malloc(sizeof(RvbPoint) * (n + 1));
	int			m = 0,
				kept = 0;
	double		best = -1;

	for (int i = 0; i < n; i++)
		if (!isnan(pts[i].recall) && !isnan(pts[i].qps) && pts[i].qps > 0)
			tmp[m++] = pts[i];
	qsort(tmp, m, sizeof(RvbPoint), point_by_recall_desc);
	for (int i = 0; i < m; i++)
	{
		if (tmp[i].qps > best)
		{
			out[kept++] = tmp[i];
			best = tmp[i].qps;
		}
	}
	free(tmp);
	/* reverse into ascending recall */
	for (int i = 0; i < kept / 2; i++)
	{
		RvbPoint	t = out[i];

		out[i] = out[kept - 1 - i];
		out[kept - 1 - i] = t;
	}
	return kept;
}

/* rvb_qps_at_recall is the QPS the sweep reaches at recall >= target */
double
rvb_qps_at_recall(const RvbPoint *pts, int n, double target)
{
	RvbPoint   *f = malloc(sizeof(RvbPoint) * (n + 1));
	int			m = rvb_frontier(pts, n, f);
	double		qps = NAN;

	if (m == 0 || target > f[m - 1].recall)
		qps = NAN;
	else if (target <= f[0].recall)
		qps = f[0].qps;
	else
	{
		for (int i = 0; i + 1 < m; i++)
		{
			if (target > f[i].recall && target <= f[i + 1].recall)
			{
				double		w = (target - f[i].recall) /
					(f[i + 1].recall - f[i].recall);

				qps = f[i].qps + w * (f[i + 1].qps - f[i].qps);
				break;
			}
		}
	}
	free(f);
	return qps;
}
