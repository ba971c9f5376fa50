/*
 * test_integrity.c — Check suite of the integrity control plane's pure
 * computations (src/integrity/ig*.c): the minimum cut against every
 * partition of small random graphs, Lanczos lambda2 against the dense
 * Jacobi solver, and state sequences (including noise at a threshold).
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "integrity/igalgo.h"
#include "unit.h"

static uint64_t rng_state;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (rng_state >> 33);
}

/* A random graph: each pair an edge with probability p, weight 1..maxw */
static uint32_t
random_graph(uint32_t n, double p, int maxw, RvIgEdge *edges)
{
	uint32_t	ne = 0;

	for (uint32_t u = 0; u < n; u++)
		for (uint32_t v = u + 1; v < n; v++)
			if ((rng() % 10000) < p * 10000)
			{
				edges[ne].u = (rng() & 1) ? u : v;
				edges[ne].v = edges[ne].u == u ? v : u;
				edges[ne++].w = 1 + rng() % maxw;
			}
	return ne;
}

/* Minimum over all 2^(n-1) - 1 proper partitions */
static double
brute_mincut(uint32_t n, const RvIgEdge *edges, uint32_t ne)
{
	double		best = INFINITY;
	unsigned char side[32];

	for (uint32_t mask = 1; mask < (1u << (n - 1)); mask++)
	{
		double		c;

		/* node n-1 always on side 0: each partition counted once */
		for (uint32_t i = 0; i < n; i++)
			side[i] = (mask >> i) & 1;
		side[n - 1] = 0;
		c = rv_ig_cut_weight(edges, ne, side);
		if (c < best)
			best = c;
	}
	return best;
}

START_TEST(test_mincut_brute)
{
	RvIgEdge	edges[16 * 15];
	unsigned char side[16];
	int			trials = 0;

	rng_state = 42;
	for (uint32_t n = 2; n <= 16; n++)
	{
		int			per = n <= 12 ? 40 : 6;

		for (int t = 0; t < per; t++)
		{
			double		p = 0.15 + (rng() % 70) / 100.0;
			uint32_t	ne = random_graph(n, p, (t % 3 == 0) ? 1 : 9, edges);
			double		got = rv_ig_mincut(n, edges, ne, side);
			double		want = brute_mincut(n, edges, ne);
			int			ones = 0;

			for (uint32_t i = 0; i < n; i++)
				ones += side[i];
			ck_assert_msg(fabs(got - want) < 1e-9, "n=%u trial %d: mincut %g, brute force %g",
						  n, t, got, want);
			/* the side is a proper partition whose crossing edges weigh lambda */
			ck_assert_msg(ones > 0 && ones < (int) n, "n=%u: side has %d of %u nodes", n, ones, n);
			ck_assert_msg(fabs(rv_ig_cut_weight(edges, ne, side) - got) < 1e-9,
						  "n=%u: witness edges weigh %g, lambda %g", n,
						  rv_ig_cut_weight(edges, ne, side), got);
			trials++;
		}
	}
	ck_assert_int_gt(trials, 400);
}
END_TEST

START_TEST(test_mincut_shapes)
{
	RvIgEdge	e[64] = {{0}};
	unsigned char side[40];
	uint32_t	ne = 0;

	/* too small */
	ck_assert(rv_ig_mincut(1, e, 0, side) == -1);
	/* two 5-cliques (weight 3) joined by two bridges of weight 1: cut 2 */
	for (uint32_t c = 0; c < 2; c++)
		for (uint32_t u = 0; u < 5; u++)
			for (uint32_t v = u + 1; v < 5; v++)
				e[ne++] = (RvIgEdge) {c * 5 + u, c * 5 + v, 3};
	e[ne++] = (RvIgEdge) {0, 5, 1};
	e[ne++] = (RvIgEdge) {4, 9, 1};
	ck_assert(rv_ig_mincut(10, e, ne, side) == 2);
	for (uint32_t i = 1; i < 5; i++)
		ck_assert_int_eq(side[i], side[0]);
	ck_assert_int_ne(side[5], side[0]);
	/* parallel edges add up; self loops ignored */
	e[ne++] = (RvIgEdge) {0, 5, 4};
	e[ne++] = (RvIgEdge) {3, 3, 100};
	ck_assert(rv_ig_mincut(10, e, ne, side) == 6);
	/* disconnected: 0, and the side is a union of components */
	ne -= 4;
	ck_assert(rv_ig_mincut(10, e, ne, side) == 0);
	ck_assert(rv_ig_cut_weight(e, ne, side) == 0);
	ck_assert_int_eq(rv_ig_connected(10, e, ne), 0);
	/* an isolated node */
	ck_assert(rv_ig_mincut(11, e, ne, side) == 0);
}
END_TEST

/* A larger graph the brute force cannot check: the cut equals the planted one */
START_TEST(test_mincut_planted)
{
	uint32_t	n = 600;
	RvIgEdge   *e = malloc(sizeof(RvIgEdge) * 20000);
	unsigned char *side = malloc(n);
	uint32_t	ne = 0;
	double		got;

	rng_state = 7;
	/* two halves, each a random graph of minimum degree >= 10 */
	for (uint32_t u = 0; u < n; u++)
		for (int j = 0; j < 10; j++)
		{
			uint32_t	half = u < n / 2 ? 0 : n / 2;
			uint32_t	v = half + rng() % (n / 2);

			if (v != u)
				e[ne++] = (RvIgEdge) {u, v, 1};
		}
	/* three bridges */
	e[ne++] = (RvIgEdge) {1, 400, 1};
	e[ne++] = (RvIgEdge) {2, 500, 1};
	e[ne++] = (RvIgEdge) {3, 599, 1};
	got = rv_ig_mincut(n, e, ne, side);
	ck_assert_msg(got == 3, "planted cut 3, got %g", got);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(side[i], side[0] ^ (i >= n / 2));
	free(e);
	free(side);
}
END_TEST

START_TEST(test_lambda2_dense_vs_lanczos)
{
	RvIgEdge	edges[40 * 39 / 2];
	int			checked = 0;

	rng_state = 1234;
	for (uint32_t n = 2; n <= 40; n++)
	{
		for (int t = 0; t < 4; t++)
		{
			uint32_t	ne = random_graph(n, 0.1 + (rng() % 60) / 100.0, 5, edges);
			double		dense = rv_ig_lambda2_dense(n, edges, ne);
			double		lanczos = rv_ig_lambda2(n, edges, ne, 0);

			ck_assert_msg(fabs(dense - lanczos) < 1e-7,
						  "n=%u: dense %.12g, lanczos %.12g", n, dense, lanczos);
			ck_assert(dense >= 0 && dense <= 2 + 1e-9);
			if (rv_ig_connected(n, edges, ne) == 1)
				ck_assert_msg(dense > 1e-9, "connected graph with lambda2 %g", dense);
			else
				ck_assert_msg(dense < 1e-9, "disconnected graph with lambda2 %g", dense);
			checked++;
		}
	}
	ck_assert_int_gt(checked, 100);
}
END_TEST

/* Known spectra: K_n has lambda2 = n/(n-1); the cycle C_n 1 - cos(2 pi / n) */
START_TEST(test_lambda2_known)
{
	RvIgEdge	e[400];
	uint32_t	ne = 0;
	double		eig[3];
	double		a[9] = {2, 1, 0, 1, 2, 1, 0, 1, 2};

	for (uint32_t u = 0; u < 8; u++)
		for (uint32_t v = u + 1; v < 8; v++)
			e[ne++] = (RvIgEdge) {u, v, 1};
	ck_assert(fabs(rv_ig_lambda2(8, e, ne, 0) - 8.0 / 7.0) < 1e-9);
	ne = 0;
	for (uint32_t u = 0; u < 300; u++)
		e[ne++] = (RvIgEdge) {u, (u + 1) % 300, 2};
	ck_assert_msg(fabs(rv_ig_lambda2(300, e, ne, 0) - (1 - cos(2 * M_PI / 300))) < 1e-6,
				  "cycle: %.10g", rv_ig_lambda2(300, e, ne, 0));
	/* Jacobi on a small matrix: eigenvalues 2 - sqrt 2, 2, 2 + sqrt 2 */
	ck_assert(rv_ig_jacobi(3, a, eig));
	ck_assert(fabs(eig[0] - (2 - sqrt(2))) < 1e-12);
	ck_assert(fabs(eig[1] - 2) < 1e-12);
	ck_assert(fabs(eig[2] - (2 + sqrt(2))) < 1e-12);
}
END_TEST

static RvIgParams
test_params(void)
{
	RvIgParams	p;

	rv_ig_params_default(&p);
	p.restore_hold = 10;
	p.cooldown = 0;
	return p;
}

START_TEST(test_state_sequence)
{
	RvIgParams	p = test_params();
	RvIgMachine m;
	double		t = 0;
	double		base = 100;		/* stress < 50, critical < 25 */

	rv_ig_machine_init(&m);
	/* two samples below: still normal; an above one resets the count */
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 40, t += 1), RV_IG_NORMAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 40, t += 1), RV_IG_NORMAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 60, t += 1), RV_IG_NORMAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 0, t += 1), RV_IG_NORMAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 0, t += 1), RV_IG_NORMAL);
	/* the third consecutive: stress */
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 0, t += 1), RV_IG_STRESS);
	/* M = 2 more below critical: critical */
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 0, t += 1), RV_IG_STRESS);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 0, t += 1), RV_IG_CRITICAL);
	/* repaired: back above 55 (50 * 1.1), but only after holding 10 s */
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 90, t += 1), RV_IG_CRITICAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 90, t += 5), RV_IG_CRITICAL);
	/* a dip restarts the hold */
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 20, t += 1), RV_IG_CRITICAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 90, t += 1), RV_IG_CRITICAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 90, t += 9), RV_IG_CRITICAL);
	ck_assert_int_eq(rv_ig_step(&m, &p, base, 90, t += 1), RV_IG_NORMAL);
	/* NaN samples change nothing */
	ck_assert_int_eq(rv_ig_step(&m, &p, base, NAN, t += 1), RV_IG_NORMAL);
}
END_TEST

START_TEST(test_state_partial_recovery_and_cooldown)
{
	RvIgParams	p = test_params();
	RvIgMachine m;
	double		t = 0;

	p.cooldown = 100;
	rv_ig_machine_init(&m);
	for (int i = 0; i < 3; i++)
		rv_ig_step(&m, &p, 100, 10, t += 1);
	ck_assert_int_eq(m.state, RV_IG_STRESS);
	/* cooldown holds critical back for 100 s although the samples qualify */
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(rv_ig_step(&m, &p, 100, 10, t += 1), RV_IG_STRESS);
	t += 100;
	ck_assert_int_eq(rv_ig_step(&m, &p, 100, 10, t), RV_IG_CRITICAL);
	/* critical -> stress when above 27.5 (but below 55) for the hold */
	t += 200;
	for (int i = 0; i <= 11; i++)
		rv_ig_step(&m, &p, 100, 40, t += 1);
	ck_assert_int_eq(m.state, RV_IG_STRESS);
	/* absolute thresholds override the ratios */
	p.stress_abs = 5;
	p.critical_abs = 1;
	p.cooldown = 0;
	rv_ig_machine_init(&m);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(rv_ig_step(&m, &p, 100, 6, t += 1), RV_IG_NORMAL);
	ck_assert(rv_ig_threshold(&p, 100, RV_IG_NORMAL) == 5);
}
END_TEST

/*
 * A threshold set right at the measured lambda, the signal noisy around
 * it: the state may degrade once, but never flaps back and forth.
 */
START_TEST(test_state_no_flapping)
{
	RvIgParams	p = test_params();
	RvIgMachine m;
	double		t = 0;
	int			transitions = 0;
	RvIgState	prev = RV_IG_NORMAL;

	rng_state = 99;
	p.stress_abs = 50;
	p.critical_abs = 10;
	p.cooldown = 30;
	rv_ig_machine_init(&m);
	for (int i = 0; i < 5000; i++)
	{
		/* lambda = 50 +- 4 (uniform), a sample a second */
		double		lambda = 50 + ((double) (rng() % 8001) / 1000.0 - 4.0);
		RvIgState	s = rv_ig_step(&m, &p, 0, lambda, t += 1);

		ck_assert_int_ne(s, RV_IG_CRITICAL);
		if (s != prev)
			transitions++;
		prev = s;
	}
	/* 1.1 * 50 = 55 is above every sample: once in stress it stays */
	ck_assert_int_le(transitions, 1);
}
END_TEST

/* The union-find the cut and the region merges share */
START_TEST(test_union_find)
{
	uint32_t	uf[8];
	uint32_t	newid[8];
	static const uint32_t expect[8] = {0, 1, 2, 0, 2, 0, 2, 2};

	for (uint32_t i = 0; i < 8; i++)
		uf[i] = i;
	/* sets {0, 3, 5}, {1}, {2, 4, 6, 7}, linked into chains */
	uf[5] = 3;
	uf[3] = 0;
	uf[2] = 4;
	uf[4] = 6;
	uf[6] = 7;
	ck_assert_uint_eq(rv_ig_uf_find(uf, 2), 7);
	ck_assert_uint_eq(rv_ig_uf_find(uf, 5), 0);
	ck_assert_uint_eq(rv_ig_uf_find(uf, 1), 1);
	/* numbered in the order of each set's first member */
	ck_assert_uint_eq(rv_ig_uf_number(uf, newid, 8), 3);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_uint_eq(newid[i], expect[i]);
}
END_TEST

/*
 * The CSR builder the cut, the spectral code and the learning model share:
 * both directions of each edge in edge order, self loops and out-of-range
 * ends left out, parallel edges kept apart, weighted degrees.
 */
START_TEST(test_csr_build)
{
	static const RvIgEdge edges[] = {
		{0, 1, 1.0}, {1, 1, 5.0}, {2, 0, 2.0}, {0, 7, 9.0}, {1, 0, 0.5}
	};
	static const uint32_t rowStart[4] = {0, 3, 5, 6};
	static const uint32_t col[6] = {1, 2, 1, 0, 0, 0};
	static const double w[6] = {1.0, 2.0, 0.5, 1.0, 0.5, 2.0};
	static const double deg[3] = {3.5, 1.5, 2.0};
	uint32_t	rs[4];
	uint32_t	c[10];
	double		ww[10];
	double		d[3];
	uint32_t	cur[3];

	rv_ig_csr_build(3, edges, 5, rs, c, ww, d, cur);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(rs[i], rowStart[i]);
	for (int j = 0; j < 6; j++)
	{
		ck_assert_uint_eq(c[j], col[j]);
		ck_assert(ww[j] == w[j]);
	}
	for (int i = 0; i < 3; i++)
		ck_assert(d[i] == deg[i]);
}
END_TEST

/*
 * The allocation list: zeroed blocks are zero, a block that cannot be had
 * (here: past RV_IG_MEM_MAX; a huge size would trip the sanitizers of the
 * ASan build) returns NULL and sets failed without losing the others, and
 * rv_ig_free_all empties the list.
 */
START_TEST(test_alloc_list)
{
	RvIgMem		mem = RV_IG_MEM_INIT;
	double	   *z = rv_ig_alloc(&mem, sizeof(double) * 64, true);

	ck_assert_ptr_nonnull(z);
	for (int i = 0; i < 64; i++)
		ck_assert(z[i] == 0);
	while (mem.n < RV_IG_MEM_MAX)
		ck_assert_ptr_nonnull(rv_ig_alloc(&mem, 8, false));
	ck_assert(!mem.failed);
	ck_assert_ptr_null(rv_ig_alloc(&mem, 8, false));
	ck_assert(mem.failed);
	ck_assert_int_eq(mem.n, RV_IG_MEM_MAX);
	rv_ig_free_all(&mem);
	ck_assert_int_eq(mem.n, 0);
}
END_TEST

/*
 * The suite builds the pure code with its invariants checked: a policy
 * whose critical ratio is above its stress ratio (which policies refuse)
 * stops the state machine at its assertion.
 */
START_TEST(test_state_asserts_checked)
{
	RvIgParams	p = test_params();
	RvIgMachine m;

	p.critical_ratio = 0.9;
	p.stress_ratio = 0.5;
	rv_ig_machine_init(&m);
	(void) rv_ig_step(&m, &p, 100, 10, 1);
}
END_TEST

Suite *
integrity_suite(void)
{
	Suite	   *s = suite_create("integrity");
	TCase	   *tc = tcase_create("integrity");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mincut_brute);
	tcase_add_test(tc, test_mincut_shapes);
	tcase_add_test(tc, test_mincut_planted);
	tcase_add_test(tc, test_lambda2_dense_vs_lanczos);
	tcase_add_test(tc, test_lambda2_known);
	tcase_add_test(tc, test_state_sequence);
	tcase_add_test(tc, test_state_partial_recovery_and_cooldown);
	tcase_add_test(tc, test_state_no_flapping);
	tcase_add_test(tc, test_union_find);
	tcase_add_test(tc, test_alloc_list);
	tcase_add_test(tc, test_csr_build);
	tcase_add_test_raise_signal(tc, test_state_asserts_checked, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
