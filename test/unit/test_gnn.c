/*
 * test_gnn.c — Check suite of the learning loop's model (src/gnn/gnn_model.c):
 * the gradient against central finite differences, deterministic training
 * for a seed, the byte format's round trip and its rejections, a learning
 * test on a synthetic set whose effort is a known function of region and
 * query features, calibration against a fixed effort on synthetic
 * recall curves, and the nearest-representative region graph of ivfflat
 * lists.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gnn/gnn.h"
#include "unit.h"

static uint64_t rng_state;

static double
urand(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (rng_state >> 11) / 9007199254740992.0;
}

/* A random connected region graph: a ring plus random chords */
static RvGnnModel *
random_model(uint32_t R, uint64_t seed)
{
	double	   *rf = malloc(sizeof(double) * R * RV_GNN_RF);
	RvGnnEdge  *e = malloc(sizeof(RvGnnEdge) * R * 2);
	uint32_t	ne = 0;
	RvGnnModel *m;

	for (uint32_t r = 0; r < R * RV_GNN_RF; r++)
		rf[r] = urand() * 4.0;
	for (uint32_t r = 0; r < R; r++)
	{
		e[ne].u = r;
		e[ne].v = (r + 1) % R;
		e[ne++].w = 1 + floor(urand() * 20);
		e[ne].u = r;
		e[ne].v = (uint32_t) (urand() * R);
		e[ne++].w = 1 + floor(urand() * 5);
	}
	m = rv_gnn_create(R, rf, ne, e, 0, NULL, seed);
	free(rf);
	free(e);
	return m;
}

static void
random_samples(RvGnnSample *s, uint32_t n, uint32_t R)
{
	for (uint32_t i = 0; i < n; i++)
	{
		s[i].region = (uint32_t) (urand() * R);
		s[i].query = i;
		s[i].ck = 0;
		for (int j = 0; j < RV_GNN_QF; j++)
			s[i].q[j] = urand() * 3.0 - 1.0;
		s[i].y = 2.0 + urand() * 3.0;
	}
}

START_TEST(test_gnn_gradient)
{
	RvGnnModel *m;
	RvGnnSample s[12];
	uint32_t	np = rv_gnn_nparams();
	double	   *g = malloc(sizeof(double) * np);
	double		worst = 0;

	rng_state = 7;
	m = random_model(7, 11);
	ck_assert_ptr_nonnull(m);
	random_samples(s, 12, 7);
	m->tau = 0.8;
	rv_gnn_fit_stats(m, s, 12);
	/* move b4 so some samples are over- and some under-estimated */
	m->params[np - 1] = 0.3;
	ck_assert(isfinite(rv_gnn_loss_grad(m, s, 12, g)));
	for (uint32_t i = 0; i < np; i++)
	{
		double		keep = m->params[i];
		double		h = 1e-5;
		double		lp,
					lm,
					fd,
					err;

		m->params[i] = keep + h;
		lp = rv_gnn_loss_grad(m, s, 12, NULL);
		m->params[i] = keep - h;
		lm = rv_gnn_loss_grad(m, s, 12, NULL);
		m->params[i] = keep;
		fd = (lp - lm) / (2 * h);
		err = fabs(fd - g[i]) / fmax(1e-4, fabs(fd) + fabs(g[i]));
		if (err > worst)
			worst = err;
		ck_assert_msg(err < 1e-5, "param %u: analytic %.10g, finite difference %.10g", i, g[i], fd);
	}
	ck_assert(worst < 1e-5);
	free(g);
	rv_gnn_free(m);
}
END_TEST

static RvGnnModel *
train_copy(uint64_t seed, RvGnnSample *s, uint32_t n)
{
	RvGnnModel *m;
	RvGnnTrainOpts o = {.epochs = 5, .batch = 16, .lr = 0.01, .tau = 0.8, .seed = seed};

	rng_state = 3;
	m = random_model(9, 5);
	ck_assert(rv_gnn_train(m, s, n, &o, NULL));
	return m;
}

START_TEST(test_gnn_deterministic)
{
	RvGnnSample s[200];
	RvGnnModel *a,
			   *b,
			   *c;

	rng_state = 99;
	random_samples(s, 200, 9);
	a = train_copy(42, s, 200);
	b = train_copy(42, s, 200);
	c = train_copy(43, s, 200);
	ck_assert_int_eq(memcmp(a->params, b->params, sizeof(double) * a->nparams), 0);
	ck_assert_int_eq(memcmp(a->emb, b->emb, sizeof(double) * a->nregions * RV_GNN_H), 0);
	ck_assert_int_ne(memcmp(a->params, c->params, sizeof(double) * a->nparams), 0);
	rv_gnn_free(a);
	rv_gnn_free(b);
	rv_gnn_free(c);
}
END_TEST

START_TEST(test_gnn_serialize)
{
	RvGnnSample s[100];
	RvGnnModel *a,
			   *b;
	float		reps[9 * 3];
	unsigned char *buf;
	size_t		len;
	const char *err;

	rng_state = 5;
	random_samples(s, 100, 9);
	a = train_copy(1, s, 100);
	/* give it representatives so they round-trip too */
	for (int i = 0; i < 27; i++)
		reps[i] = (float) urand();
	free(a->reps);
	a->dim = 3;
	a->reps = malloc(sizeof(reps));
	memcpy(a->reps, reps, sizeof(reps));
	a->offset = 0.37;
	a->shrink = 0.5;
	a->effortMin = 10;
	a->effortMax = 800;
	a->checkpoints = 5;
	a->stopRule = 1;
	len = rv_gnn_serialized_size(a);
	buf = malloc(len);
	rv_gnn_serialize(a, buf);
	/* the format is little-endian whatever the host: the header's u32s */
	ck_assert_int_eq(buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t) buf[7] << 24,
					 RV_GNN_FORMAT_VERSION);
	ck_assert_int_eq(buf[8] | buf[9] << 8 | buf[10] << 16 | (uint32_t) buf[11] << 24,
					 a->nregions);
	b = rv_gnn_deserialize(buf, len, &err);
	ck_assert_msg(b != NULL, "%s", err ? err : "");
	ck_assert_int_eq(b->nregions, a->nregions);
	ck_assert_int_eq(b->nedges, a->nedges);
	ck_assert_int_eq(b->dim, 3);
	ck_assert_int_eq(memcmp(a->params, b->params, sizeof(double) * a->nparams), 0);
	ck_assert_int_eq(memcmp(a->reps, b->reps, sizeof(reps)), 0);
	ck_assert_int_eq(memcmp(a->rfeat, b->rfeat, sizeof(double) * a->nregions * RV_GNN_RF), 0);
	ck_assert(b->offset == 0.37 && b->shrink == 0.5 && b->effortMin == 10 && b->effortMax == 800 &&
			  b->tau == a->tau && b->checkpoints == 5 && b->stopRule == 1);
	for (int i = 0; i < 20; i++)
		ck_assert(rv_gnn_effort(a, s[i].region, s[i].q) == rv_gnn_effort(b, s[i].region, s[i].q));
	rv_gnn_free(b);

	/* every kind of damage is refused with a reason */
	buf[len / 2] ^= 0x10;
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	ck_assert_str_eq(err, "model checksum mismatch");
	buf[len / 2] ^= 0x10;
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len - 1, &err));
	ck_assert_str_eq(err, "model length does not match its header");
	ck_assert_ptr_null(rv_gnn_deserialize(buf, 10, &err));
	buf[4] = RV_GNN_FORMAT_VERSION + 1;
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	ck_assert_str_eq(err, "unsupported model format version");
	buf[4] = RV_GNN_FORMAT_VERSION;
	buf[0] = 'X';
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	ck_assert_str_eq(err, "not a ruvector model");
	buf[0] = 'R';
	b = rv_gnn_deserialize(buf, len, &err);
	ck_assert_ptr_nonnull(b);
	rv_gnn_free(b);
	free(buf);
	/* a number of checkpoints out of range is refused (checksum recomputed) */
	a->checkpoints = RV_GNN_MAX_CHECKPOINTS + 1;
	buf = malloc(len);
	rv_gnn_serialize(a, buf);
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	ck_assert_str_eq(err, "model has an invalid number of checkpoints");
	a->checkpoints = 2.5;
	rv_gnn_serialize(a, buf);
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	/* a bound model keeps its epsilon in offset, which must be positive */
	a->checkpoints = 1;
	a->stopRule = RV_GNN_RULE_BOUND;
	a->offset = 0.1338;
	rv_gnn_serialize(a, buf);
	b = rv_gnn_deserialize(buf, len, &err);
	ck_assert_msg(b != NULL, "%s", err ? err : "");
	ck_assert(b->stopRule == RV_GNN_RULE_BOUND && b->offset == 0.1338);
	rv_gnn_free(b);
	a->offset = 0;
	rv_gnn_serialize(a, buf);
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	ck_assert_str_eq(err, "model has an invalid kind");
	a->stopRule = 3;
	a->offset = 0.1;
	rv_gnn_serialize(a, buf);
	ck_assert_ptr_null(rv_gnn_deserialize(buf, len, &err));
	ck_assert_str_eq(err, "model has an invalid kind");
	free(buf);
	rv_gnn_free(a);
}
END_TEST

/*
 * The synthetic truth: log effort = 3 + 0.8 * (size feature of the entry
 * region's neighbours, averaged) + 0.6 * q1 - 0.4 * q3, so the model has to
 * use both the graph (a neighbour's feature, not the region's own) and the
 * query.
 */
static double
truth(const RvGnnModel *m, const RvGnnSample *s)
{
	double		nb = 0;
	int			cnt = 0;

	for (uint32_t k = m->adjStart[s->region]; k < m->adjStart[s->region + 1]; k++)
	{
		nb += m->rfeat[m->adjNb[k] * RV_GNN_RF + 0];
		cnt++;
	}
	nb = cnt ? nb / cnt : 0;
	return 3.0 + 0.8 * nb / 4.0 + 0.6 * s->q[1] - 0.4 * s->q[3] +
		0.5 * s->q[RV_GNN_QF_REGION + 3];
}

START_TEST(test_gnn_learns)
{
	const uint32_t R = 24,
				ntrain = 3000,
				ntest = 600;
	RvGnnSample *s = malloc(sizeof(RvGnnSample) * (ntrain + ntest));
	RvGnnModel *m;
	RvGnnTrainOpts o = {.epochs = 60, .batch = 32, .lr = 0.005, .tau = 0.7, .seed = 8};
	double		curve[60];
	double		abserr = 0,
				under = 0,
				base = 0,
				mean = 0;

	rng_state = 2024;
	m = random_model(R, 77);
	ck_assert(rv_gnn_prepare(m));
	random_samples(s, ntrain + ntest, R);
	for (uint32_t i = 0; i < ntrain + ntest; i++)
		s[i].y = truth(m, &s[i]);
	ck_assert(rv_gnn_train(m, s, ntrain, &o, curve));
	ck_assert_msg(curve[59] < curve[0] / 10, "loss %g -> %g", curve[0], curve[59]);
	for (uint32_t i = ntrain; i < ntrain + ntest; i++)
		mean += s[i].y / ntest;
	for (uint32_t i = ntrain; i < ntrain + ntest; i++)
	{
		double		e = rv_gnn_predict(m, s[i].region, s[i].q) - s[i].y;

		abserr += fabs(e) / ntest;
		base += fabs(s[i].y - mean) / ntest;
		if (e < 0)
			under += 1.0 / ntest;
	}
	/* within 0.1 in log effort (10%) on average, far better than the mean */
	ck_assert_msg(abserr < 0.1, "mean abs error %g (predicting the mean: %g)", abserr, base);
	ck_assert(abserr < base / 4);
	/* tau 0.7 leans towards over-estimating (a symmetric loss: 0.46 here) */
	ck_assert_msg(under < 0.4, "share under-estimated %g", under);
	free(s);
	rv_gnn_free(m);
}
END_TEST

/*
 * Recall curves where sample i reaches 0.95 exactly at effort E_i, its
 * true need, and rises towards 1 beyond: a calibrated model meets the
 * mean target at a lower mean effort than the least fixed effort that
 * meets it.
 */
START_TEST(test_gnn_calibrate)
{
	const uint32_t R = 12,
				n = 2000;
	double		grid[10];
	RvGnnSample *s = malloc(sizeof(RvGnnSample) * n);
	double	   *recall = malloc(sizeof(double) * n * 10);
	RvGnnModel *m;
	RvGnnTrainOpts o = {.epochs = 40, .batch = 32, .lr = 0.005, .tau = 0.8, .seed = 3};
	double		r,
				c,
				b;
	int			fixed;

	for (int g = 0; g < 10; g++)
		grid[g] = 10 * pow(1.6, g);
	rng_state = 11;
	m = random_model(R, 4);
	random_samples(s, n, R);
	for (uint32_t i = 0; i < n; i++)
	{
		double		need;

		s[i].y = 3.0 + 0.7 * s[i].q[0] + 0.1 * (s[i].region % 4);
		need = exp(s[i].y);
		for (int g = 0; g < 10; g++)
		{
			double		x = 1.0 - 0.05 * pow(need / grid[g], 1.5);

			recall[i * 10 + g] = x < 0 ? 0 : x;
		}
	}
	m->effortMin = grid[0];
	m->effortMax = grid[9];
	ck_assert(rv_gnn_train(m, s, n / 2, &o, NULL));
	ck_assert(rv_gnn_calibrate(m, s + n / 2, n / 2, grid, 10, recall, 0.95));
	rv_gnn_evaluate(m, s + n / 2, n / 2, grid, 10, recall, 0.95, m->offset,
					&r, &c, &b);
	fixed = rv_gnn_fixed_effort(n / 2, grid, 10, recall + (n / 2) * 10, 0.95);
	ck_assert_int_ge(fixed, 0);
	ck_assert_msg(r >= 0.95, "mean recall %g", r);
	ck_assert_msg(c < grid[fixed] * 0.8, "model cost %g, fixed effort %g", c, grid[fixed]);
	ck_assert(b >= 0 && b < 0.5);
	free(s);
	free(recall);
	rv_gnn_free(m);
}
END_TEST

/*
 * Labels the features say nothing about, and a network overfitted to 60
 * of them: calibration must fall back towards one effort for every query
 * (shrink) rather than pay for the noise.
 */
START_TEST(test_gnn_unpredictable)
{
	const uint32_t R = 12,
				n = 2000;
	double		grid[10];
	RvGnnSample *s = malloc(sizeof(RvGnnSample) * n);
	double	   *recall = malloc(sizeof(double) * n * 10);
	RvGnnModel *m;
	RvGnnTrainOpts o = {.epochs = 300, .batch = 16, .lr = 0.01, .tau = 0.8, .seed = 5};
	double		r,
				c,
				b;
	int			fixed;
	double		fixedAt;

	for (int g = 0; g < 10; g++)
		grid[g] = 10 * pow(1.6, g);
	rng_state = 17;
	m = random_model(R, 9);
	random_samples(s, n, R);
	for (uint32_t i = 0; i < n; i++)
	{
		double		need = exp(3.0 + 1.5 * urand());	/* independent of q and region */

		s[i].y = log(need);
		for (int g = 0; g < 10; g++)
		{
			double		x = 1.0 - 0.05 * pow(need / grid[g], 1.5);

			recall[i * 10 + g] = x < 0 ? 0 : x;
		}
	}
	m->effortMin = grid[0];
	m->effortMax = grid[9];
	/* few training queries, many epochs: the network learns noise */
	ck_assert(rv_gnn_train(m, s, 60, &o, NULL));
	ck_assert(rv_gnn_calibrate(m, s + n / 2, n / 2, grid, 10, recall, 0.95));
	rv_gnn_evaluate(m, s + n / 2, n / 2, grid, 10, recall, 0.95, m->offset,
					&r, &c, &b);
	fixed = rv_gnn_fixed_effort(n / 2, grid, 10, recall + (n / 2) * 10, 0.95);
	ck_assert(r >= 0.95);
	/*
	 * One effort for all, placed between grid points, costs 51 against the
	 * grid's least fixed effort 65.5; the noisy network unshrunk costs 62.
	 */
	ck_assert_msg(c < grid[fixed] * 0.85, "model cost %g (shrink %g), fixed effort %g",
				  c, m->shrink, grid[fixed]);
	/*
	 * But that is what one effort for every query costs at exactly the
	 * target: the model gains nothing over the fixed setting and must not
	 * go live, even as a first model.
	 */
	fixedAt = rv_gnn_fixed_effort_at(n / 2, grid, 10, recall + (n / 2) * 10, 0.95);
	ck_assert_msg(c >= fixedAt * 0.98 && c < fixedAt * 1.1, "model cost %g, fixed at the target %g",
				  c, fixedAt);
	ck_assert(rv_gnn_goes_live(true, 0.95, r, c, fixedAt, NAN, NAN) == (c < fixedAt));
	free(s);
	free(recall);
	rv_gnn_free(m);
}
END_TEST

/*
 * The fixed effort at the target, interpolated in log effort between grid
 * points, and the rule that decides whether a trained version goes live.
 */
START_TEST(test_gnn_fixed_at)
{
	double		grid[3] = {10, 20, 40};
	double		recall[6] = {0.8, 0.9, 1.0, 0.6, 0.9, 1.0};	/* mean 0.7, 0.9, 1.0 */

	ck_assert_double_eq_tol(rv_gnn_fixed_effort_at(2, grid, 3, recall, 0.95),
							20 * sqrt(2.0), 1e-9);
	ck_assert_double_eq_tol(rv_gnn_fixed_effort_at(2, grid, 3, recall, 0.8),
							10 * pow(2.0, 0.5), 1e-9);
	ck_assert_double_eq(rv_gnn_fixed_effort_at(2, grid, 3, recall, 0.6), 10);
	ck_assert_double_eq_tol(rv_gnn_fixed_effort_at(2, grid, 3, recall, 0.9), 20, 1e-9);
	/* a target met exactly at a grid point is that point, not exp(log()) of it */
	ck_assert_double_eq(rv_gnn_fixed_effort_at(2, grid, 3, recall, 0.9), 20);
	ck_assert_double_eq(rv_gnn_fixed_effort_at(2, grid, 3, recall, 1.0), 40);
	ck_assert(!rv_gnn_goes_live(true, 0.9, 1.0, 40,
								rv_gnn_fixed_effort_at(2, grid, 3, recall, 1.0), NAN, NAN));
	ck_assert(isinf(rv_gnn_fixed_effort_at(2, grid, 3, recall, 1.01)));
	ck_assert(isinf(rv_gnn_fixed_effort_at(0, grid, 3, recall, 0.5)));

	/* a first model: cheaper than fixed goes live, dearer does not */
	ck_assert(rv_gnn_goes_live(true, 0.95, 0.96, 25, 28.3, NAN, NAN));
	ck_assert(!rv_gnn_goes_live(true, 0.95, 0.96, 30, 28.3, NAN, NAN));
	ck_assert(!rv_gnn_goes_live(true, 0.95, 0.96, 28.3, 28.3, NAN, NAN));
	/* missing the target, or not calibrated: never */
	ck_assert(!rv_gnn_goes_live(true, 0.95, 0.94, 15, 28.3, NAN, NAN));
	ck_assert(!rv_gnn_goes_live(false, 0.95, 0.96, 15, 28.3, NAN, NAN));
	/* against a live version: cheaper than it, unless it misses the target */
	ck_assert(!rv_gnn_goes_live(true, 0.95, 0.96, 25, 28.3, 0.96, 24));
	ck_assert(rv_gnn_goes_live(true, 0.95, 0.96, 23, 28.3, 0.96, 24));
	ck_assert(rv_gnn_goes_live(true, 0.95, 0.96, 26, 28.3, 0.93, 24));
	/* and still cheaper than fixed, whatever the live one does */
	ck_assert(!rv_gnn_goes_live(true, 0.95, 0.96, 30, 28.3, 0.93, 24));
	ck_assert(!rv_gnn_goes_live(true, 0.95, 0.96, 30, 28.3, 0.96, 40));
}
END_TEST

/*
 * A rule with no effort of its own (the bound rule) on the efforts' scale:
 * the effort whose mean cost it has, linear between grid points, from zero
 * below the first, along the last step above the last.
 */
START_TEST(test_gnn_effort_at_cost)
{
	double		grid[3] = {10, 20, 40};
	double		cost[3] = {300, 500, 800};

	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 500), 20, 1e-12);
	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 650), 30, 1e-12);
	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 400), 15, 1e-12);
	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 150), 5, 1e-12);
	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 950), 50, 1e-12);
	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 300), 10, 1e-12);
	/* a flat step (a graph the search exhausts) is its first effort */
	cost[2] = 500;
	ck_assert_double_eq_tol(rv_gnn_effort_at_cost(grid, cost, 3, 500), 20, 1e-12);
}
END_TEST

/*
 * Checkpoints: a scan follows a query's samples in order and stops at the
 * first whose effort is below the next checkpoint, never below its own;
 * rv_gnn_evaluate does the same per query and averages over queries (its
 * recall row by query number, not by sample).
 */
START_TEST(test_gnn_checkpoints)
{
	RvGnnModel *m = random_model(4, 21);
	RvGnnSample s[6];
	double		grid[4] = {20, 40, 80, 160};
	double		recall[8] = {0.5, 0.7, 0.9, 1.0,	/* query 0 */
	0.9, 1.0, 1.0, 1.0};		/* query 1 */
	double		r,
				c,
				b;

	/* all parameters 0: the network says ymean, the effort exp(ymean) */
	memset(m->params, 0, sizeof(double) * m->nparams);
	ck_assert(rv_gnn_prepare(m));
	memset(s, 0, sizeof(s));
	for (int j = 0; j < 3; j++)
	{
		s[j].query = 0;
		s[j].ck = 20 << j;		/* 20, 40, 80 */
	}
	m->effortMin = 1;
	m->effortMax = 1000;
#define EFFORT_AT(e, n) (m->ymean = log(e), rv_gnn_query_effort(m, s, n, 0))
	ck_assert_double_eq_tol(EFFORT_AT(30, 3), 30, 1e-9);	/* below 40: at once */
	ck_assert_double_eq_tol(EFFORT_AT(10, 3), 20, 1e-9);	/* never below 20 */
	ck_assert_double_eq_tol(EFFORT_AT(50, 3), 50, 1e-9);	/* asked at 40, below 80 */
	ck_assert_double_eq_tol(EFFORT_AT(300, 3), 300, 1e-9);	/* the last checkpoint's */
	ck_assert_double_eq_tol(EFFORT_AT(300, 2), 300, 1e-9);	/* a search ending at 40 */
	ck_assert_double_eq_tol(EFFORT_AT(300, 1), 300, 1e-9);	/* one checkpoint */
	/* through the network's output bias: 60 is asked again at 40 */
	m->ymean = 0;
	m->params[rv_gnn_nparams() - 1] = log(60);
	ck_assert(rv_gnn_prepare(m));
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, 0), 60, 1e-9);
#undef EFFORT_AT

	/* evaluation: query 0 with 3 samples, query 1 with 1; both say 40 */
	memset(m->params, 0, sizeof(double) * m->nparams);
	ck_assert(rv_gnn_prepare(m));
	m->ymean = log(40);
	s[3] = s[0];
	s[3].query = 1;
	s[3].ck = 20;
	rv_gnn_evaluate(m, s, 4, grid, 4, recall, 0.8, 0, &r, &c, &b);
	/* query 0 asked at 20 (40 is not below 40), then at 40: stops at 40 */
	ck_assert_double_eq_tol(c, 40, 1e-9);
	ck_assert_double_eq_tol(r, (0.7 + 1.0) / 2, 1e-9);
	ck_assert_double_eq_tol(b, 0.5, 1e-9);

	/*
	 * A stop rule: the first checkpoint whose predicted recall less the
	 * offset reaches 1, at that checkpoint's effort; none: twice the last
	 */
	m->stopRule = 1;
	m->ymean = 0.9;				/* every sample predicts a recall of 0.9 */
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, -0.1), 20, 1e-9);
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, -0.15), 20, 1e-9);
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, -0.05), 160, 1e-9);
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, 0), 160, 1e-9);
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 2, 0), 80, 1e-9);
	/* through the output bias: every sample predicts 0.5 */
	m->ymean = 0;
	m->params[rv_gnn_nparams() - 1] = 0.5;
	ck_assert(rv_gnn_prepare(m));
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, -0.5), 20, 1e-9);
	ck_assert_double_eq_tol(rv_gnn_query_effort(m, s, 3, -0.49), 160, 1e-9);
	/* evaluation follows it: query 0 stops at 160 (recall 1.0), query 1 at 40 */
	rv_gnn_evaluate(m, s, 4, grid, 4, recall, 0.8, -0.49, &r, &c, &b);
	ck_assert_double_eq_tol(c, (160 + 40) / 2.0, 1e-9);
	ck_assert_double_eq_tol(r, 1.0, 1e-9);
	rv_gnn_free(m);
}
END_TEST

START_TEST(test_gnn_query_features)
{
	double		d[5] = {4.0, 1.0, 3.0, 2.0, 5.0};
	double		q[RV_GNN_QF];
	uint32_t	entry = 99;

	rv_gnn_query_features(d, 5, q, &entry);
	ck_assert_int_eq(entry, 1);
	ck_assert(q[0] == 1.0);
	ck_assert(q[1] == 1.0);		/* 2 - 1 */
	ck_assert(q[2] == 3.0);		/* 4 - 1 */
	ck_assert(fabs(q[3] - (1.0 - 3.0) / sqrt(2.0)) < 1e-9);
	ck_assert(fabs(q[4] - 0.2) < 1e-12);
	ck_assert(q[5] == 2.0);
	/* one region: gaps are zero, not infinite */
	rv_gnn_query_features(d, 1, q, &entry);
	ck_assert_int_eq(entry, 0);
	ck_assert(q[1] == 0 && q[2] == 0 && isfinite(q[3]));
}
END_TEST

START_TEST(test_gnn_search_features)
{
	RvGnnProgress p = {0};
	double		q[RV_GNN_QF_SEARCH];
	double		easy3,
				easy4;

	/* a settled search: k-th unchanged for 8 hops, narrow top k */
	p.entry = 1.0;
	p.first = 0.2;
	p.kth = 0.3;
	p.kthBefore = 0.3;
	p.nearSeen = 3;
	p.nearOpen = 0;
	p.visited = 200;
	p.hops = 20;
	p.sinceImproved = 10;
	rv_gnn_search_features(&p, q);
	ck_assert(fabs(q[0] - log1p(200)) < 1e-12);
	ck_assert(fabs(q[1] - log1p(20)) < 1e-12);
	ck_assert(fabs(q[2] - 0.1 / 0.9) < 1e-9);	/* spread / (way + spread) */
	ck_assert(fabs(q[3]) < 1e-9);				/* no recent improvement */
	ck_assert(fabs(q[4] - log1p(3)) < 1e-12);
	ck_assert(q[5] == 0);
	ck_assert(fabs(q[6] - 0.5) < 1e-12);
	ck_assert(q[7] == 0.3);
	easy3 = q[3];
	easy4 = q[4];

	/* still improving, crowded margin: the features say so */
	p.kthBefore = 0.5;
	p.nearSeen = 40;
	p.nearOpen = 12;
	p.sinceImproved = 0;
	rv_gnn_search_features(&p, q);
	ck_assert(q[3] > easy3 && fabs(q[3] - 2.0) < 1e-6);	/* (0.5 - 0.3) / 0.1 */
	ck_assert(q[4] > easy4);
	ck_assert(fabs(q[5] - log1p(12)) < 1e-12);
	ck_assert(q[6] == 0);

	/* no k-th 8 hops ago (infinite), a zero spread, no hops: finite */
	p.kthBefore = INFINITY;
	p.first = p.kth = p.entry = 0;
	p.hops = 0;
	rv_gnn_search_features(&p, q);
	for (int i = 0; i < RV_GNN_QF_SEARCH; i++)
		ck_assert(isfinite(q[i]));
	ck_assert(q[3] == 100);		/* capped */
	ck_assert(q[6] == 1);

	/* NaN distances (overflowing products) become 0, not NaN */
	p.kth = NAN;
	rv_gnn_search_features(&p, q);
	for (int i = 0; i < RV_GNN_QF_SEARCH; i++)
		ck_assert(isfinite(q[i]));
}
END_TEST

/*
 * The region graph of regions without links (ivfflat lists): each linked
 * to its nearest representatives, pairs u < v, weight 2 when mutual
 */
START_TEST(test_gnn_knn_edges)
{
	/* points on a line at 0, 1, 3, 7, 15: each one's nearest is known */
	float		reps[5] = {0, 1, 3, 7, 15};
	RvGnnEdge	e[5 * 4];
	uint32_t	n;
	double		wsum = 0;
	uint32_t	deg[5] = {0};

	n = rv_gnn_knn_edges(reps, 5, 1, 1, e);
	/* nearest: 0->1, 1->0, 2->1, 3->2, 4->3: pairs (0,1) twice, (1,2), (2,3), (3,4) */
	ck_assert_uint_eq(n, 4);
	for (uint32_t i = 0; i < n; i++)
	{
		ck_assert(e[i].u < e[i].v);
		if (e[i].u == 0 && e[i].v == 1)
			ck_assert(e[i].w == 2);
		else
			ck_assert(e[i].w == 1);
		ck_assert(e[i].v == e[i].u + 1);
	}

	/* two nearest each: every region links at least twice, weights sum to 5 * 2 */
	n = rv_gnn_knn_edges(reps, 5, 1, 2, e);
	for (uint32_t i = 0; i < n; i++)
	{
		ck_assert(e[i].u < e[i].v && e[i].v < 5);
		for (uint32_t j = 0; j < i; j++)
			ck_assert(!(e[j].u == e[i].u && e[j].v == e[i].v));
		wsum += e[i].w;
		deg[e[i].u]++;
		deg[e[i].v]++;
	}
	ck_assert(wsum == 10);
	for (int r = 0; r < 5; r++)
		ck_assert_uint_ge(deg[r], 2);

	/* more links than other regions: all pairs, each mutual */
	n = rv_gnn_knn_edges(reps, 3, 1, 8, e);
	ck_assert_uint_eq(n, 3);
	for (uint32_t i = 0; i < n; i++)
		ck_assert(e[i].w == 2);
	/* one region, or no links wanted: no edges */
	ck_assert_uint_eq(rv_gnn_knn_edges(reps, 1, 1, 4, e), 0);
	ck_assert_uint_eq(rv_gnn_knn_edges(reps, 5, 1, 0, e), 0);

	/* a model over such a graph trains and round-trips like any other */
	{
		float		reps2[40 * 3];
		double		rf[40 * RV_GNN_RF];
		RvGnnEdge	e2[40 * 4];
		uint32_t	n2;
		RvGnnModel *m;
		RvGnnModel *back;
		unsigned char *buf;
		size_t		len;
		const char *err = NULL;
		RvGnnSample smp[64];
		RvGnnTrainOpts o = {5, 16, 0.01, 0.8, 7};
		double		curve[5];

		rng_state = 14;
		for (int i = 0; i < 40 * 3; i++)
			reps2[i] = (float) urand();
		for (int i = 0; i < 40 * RV_GNN_RF; i++)
			rf[i] = urand();
		n2 = rv_gnn_knn_edges(reps2, 40, 3, 4, e2);
		ck_assert_uint_ge(n2, 40 * 4 / 2);
		m = rv_gnn_create(40, rf, n2, e2, 3, reps2, 42);
		ck_assert_ptr_nonnull(m);
		random_samples(smp, 64, 40);
		ck_assert(rv_gnn_train(m, smp, 64, &o, curve));
		len = rv_gnn_serialized_size(m);
		buf = malloc(len);
		rv_gnn_serialize(m, buf);
		back = rv_gnn_deserialize(buf, len, &err);
		ck_assert_ptr_nonnull(back);
		ck_assert_uint_eq(back->nedges, n2);
		ck_assert(rv_gnn_prepare(back));
		ck_assert(rv_gnn_predict(back, 3, smp[0].q) == rv_gnn_predict(m, 3, smp[0].q));
		free(buf);
		rv_gnn_free(back);
		rv_gnn_free(m);
	}
}
END_TEST

Suite *
gnn_suite(void)
{
	Suite	   *s = suite_create("gnn");
	TCase	   *tc = tcase_create("model");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gnn_gradient);
	tcase_add_test(tc, test_gnn_deterministic);
	tcase_add_test(tc, test_gnn_serialize);
	tcase_add_test(tc, test_gnn_learns);
	tcase_add_test(tc, test_gnn_calibrate);
	tcase_add_test(tc, test_gnn_unpredictable);
	tcase_add_test(tc, test_gnn_fixed_at);
	tcase_add_test(tc, test_gnn_effort_at_cost);
	tcase_add_test(tc, test_gnn_checkpoints);
	tcase_add_test(tc, test_gnn_query_features);
	tcase_add_test(tc, test_gnn_search_features);
	tcase_add_test(tc, test_gnn_knn_edges);
	suite_add_tcase(s, tc);
	return s;
}
