/*-------------------------------------------------------------------------
 *
 * rvb_check.c
 *	  Self-checks of the benchmark driver (make bench-check): the figures it
 *	  publishes are only as good as its recall, ground truth and statistics.
 *
 * NOTES
 *	  No server is needed.  Each check prints what it compared on failure
 *	  and the program exits non-zero if any failed.  Plain C rather than
 *	  Check, so the driver builds with libpq alone.
 *
 *	  What is checked:
 *		- recall@k on hand-made cases (hits, misses, duplicates, bad ids,
 *		  short result lists, ties at the k-th distance, short truth lists)
 *		- the distances of each metric on hand-computed values
 *		- the multithreaded ground truth against a naive one-thread sort,
 *		  for every metric, with and without filters, on data with exact
 *		  duplicates (ties broken by lower id)
 *		- the filtered ground truth: every id in the slice, lists as long as
 *		  the slice allows, and agreement with an independent scan
 *		- the tag distribution and the filter slices
 *		- the generator's independence of the thread count
 *		- percentiles, the frontier and equal-recall interpolation
 *		- the vector binary wire format, fvecs/ivecs round trip, JSON output
 *
 *-------------------------------------------------------------------------
 */
#include "rvb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int	failures = 0;
static int	checks = 0;

#define CHECK(cond, ...) \
	do { \
		checks++; \
		if (!(cond)) \
		{ \
			failures++; \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

#define NEAR(a, b, eps)	(fabs((a) - (b)) <= (eps))

/* points (i, 0) for i = 0..n-1 in two dimensions */
static RvbMatrix
line_points(int n)
{
	RvbMatrix	m = {n, 2, calloc(2 * n, sizeof(float))};

	for (int i = 0; i < n; i++)
		m.x[2 * i] = (float) i;
	return m;
}

static void
check_recall_hand_made(void)
{
	RvbMatrix	base = line_points(10);
	float		q[2] = {0, 0};
	int32_t		truth[3] = {0, 1, 2};
	int32_t		all_hit[3] = {2, 1, 0};
	int32_t		two_hit[3] = {0, 1, 5};
	int32_t		dup[3] = {0, 0, 1};
	int32_t		bad[3] = {-1, 99, 1};
	int32_t		one[1] = {0};
	int32_t		short_truth[3] = {3, -1, -1};
	int32_t		got3[2] = {4, 3};
	double		r;

	r = rvb_recall_at(RVB_L2, &base, q, all_hit, 3, truth, 3, 3);
	CHECK(r == 1.0, "order must not matter, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, two_hit, 3, truth, 3, 3);
	CHECK(NEAR(r, 2.0 / 3, 1e-12), "two of three, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, dup, 3, truth, 3, 3);
	CHECK(NEAR(r, 2.0 / 3, 1e-12), "a duplicated id counts once, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, bad, 3, truth, 3, 3);
	CHECK(NEAR(r, 1.0 / 3, 1e-12), "out-of-range ids are misses, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, one, 1, truth, 3, 3);
	CHECK(NEAR(r, 1.0 / 3, 1e-12), "a short result list, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, two_hit, 3, truth, 3, 1);
	CHECK(r == 1.0, "recall@1, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, two_hit + 2, 1, truth, 3, 1);
	CHECK(r == 0.0, "recall@1 miss, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, got3, 2, short_truth, 3, 3);
	CHECK(r == 1.0, "truth shorter than k: denominator is what exists, got %g", r);
	r = rvb_recall_at(RVB_L2, &base, q, got3, 0, short_truth + 1, 2, 2);
	CHECK(r == 1.0, "empty truth: nothing to miss, got %g", r);
	/* results beyond k are not looked at */
	{
		int32_t		late[4] = {7, 8, 9, 0};

		r = rvb_recall_at(RVB_L2, &base, q, late, 4, truth, 3, 3);
		CHECK(r == 0.0, "hits past position k do not count, got %g", r);
	}
	/* a tie at the k-th distance: either tied id is a hit */
	{
		RvbMatrix	tie = {3, 2, (float[]) {1, 0, -1, 0, 5, 0}};
		int32_t		tt[1] = {0};
		int32_t		other[1] = {1};
		int32_t		far[1] = {2};

		r = rvb_recall_at(RVB_L2, &tie, q, other, 1, tt, 1, 1);
		CHECK(r == 1.0, "tied neighbour counts as a hit, got %g", r);
		r = rvb_recall_at(RVB_L2, &tie, q, far, 1, tt, 1, 1);
		CHECK(r == 0.0, "a farther row is a miss, got %g", r);
	}
	free(base.x);
}

static void
check_distances(void)
{
	float		a[3] = {1, 2, 3};
	float		b[3] = {4, -5, 6};
	float		z[3] = {0, 0, 0};
	double		d;

	d = rvb_distance(RVB_L2, a, b, 3);
	CHECK(d == 9 + 49 + 9, "l2 squared, got %g", d);
	d = rvb_distance(RVB_IP, a, b, 3);
	CHECK(d == -(4 - 10 + 18), "negative inner product, got %g", d);
	d = rvb_distance(RVB_COSINE, a, b, 3);
	CHECK(NEAR(d, 1 - 12 / (sqrt(14) * sqrt(77)), 1e-12), "cosine, got %g", d);
	d = rvb_distance(RVB_COSINE, a, a, 3);
	CHECK(NEAR(d, 0, 1e-12), "cosine to itself, got %g", d);
	d = rvb_distance(RVB_COSINE, a, z, 3);
	CHECK(d == 1.0, "cosine with a zero vector, got %g", d);
}

static bool
neighbours_equal(const RvbNeighbours *x, const RvbNeighbours *y, int *where)
{
	for (int q = 0; q < x->nq; q++)
		for (int i = 0; i < x->k; i++)
			if (RVB_NB(x, q)[i] != RVB_NB(y, q)[i])
			{
				*where = q * 1000 + i;
				return false;
			}
	return true;
}

/*
 * Synthetic data with some rows copied over others, so exact duplicates
 * (ties) exist and the lower-id rule is exercised.
 */
static void
make_data(RvbMatrix *base, RvbMatrix *query, int n, int dim, int nq)
{
	RvbSynthSpec spec = {n, dim, nq, 7, 0.35, 1234};

	rvb_synthetic(&spec, base, query, 3);
	for (int i = 0; i < n / 10; i++)
		memcpy(RVB_ROW(base, n - 1 - i), RVB_ROW(base, i), sizeof(float) * dim);
}

static void
check_ground_truth(void)
{
	RvbMatrix	base,
				query;
	RvbMetric	metrics[3] = {RVB_L2, RVB_COSINE, RVB_IP};
	int32_t    *tag;

	make_data(&base, &query, 2500, 19, 40);
	tag = malloc(sizeof(int32_t) * base.n);
	for (int i = 0; i < base.n; i++)
		tag[i] = rvb_tag(99, i);
	for (int mi = 0; mi < 3; mi++)
	{
		int			pcts[3] = {0, 10, 1};

		for (int fi = 0; fi < 3; fi++)
		{
			RvbRowFilter filter = {tag, pcts[fi]};
			RvbNeighbours fast,
						slow;
			int			where = -1;

			rvb_ground_truth(metrics[mi], &base, &query, 50, pcts[fi] ? &filter : NULL,
							 4, &fast);
			rvb_ground_truth_naive(metrics[mi], &base, &query, 50,
								   pcts[fi] ? &filter : NULL, &slow);
			CHECK(neighbours_equal(&fast, &slow, &where),
				  "metric %s filter %d%%: threaded and naive truth differ at query %d rank %d",
				  rvb_metric_name(metrics[mi]), pcts[fi], where / 1000, where % 1000);
			rvb_neighbours_free(&fast);
			rvb_neighbours_free(&slow);
		}
	}
	/* duplicates: a row and its copy tie, the lower id must come first */
	{
		RvbNeighbours nb;
		RvbMatrix	q1 = {1, base.dim, RVB_ROW(&base, 3)};

		rvb_ground_truth(RVB_L2, &base, &q1, 2, NULL, 2, &nb);
		CHECK(nb.ids[0] == 3 && nb.ids[1] == base.n - 4,
			  "query equal to row 3 and its copy %d: got %d, %d", base.n - 4,
			  nb.ids[0], nb.ids[1]);
		rvb_neighbours_free(&nb);
	}
	free(tag);
	rvb_matrix_free(&base);
	rvb_matrix_free(&query);
}

/*
 * The filtered truth on its own terms: every id lies in the query's slice,
 * the list is as long as the slice allows, and it is sorted by distance.
 */
static void
check_filtered_truth(void)
{
	RvbMatrix	base,
				query;
	int32_t    *tag;
	int			pcts[2] = {10, 1};

	make_data(&base, &query, 3000, 8, 30);
	tag = malloc(sizeof(int32_t) * base.n);
	for (int i = 0; i < base.n; i++)
		tag[i] = rvb_tag(7, i);
	for (int fi = 0; fi < 2; fi++)
	{
		RvbRowFilter filter = {tag, pcts[fi]};
		RvbNeighbours nb;
		int			k = 100;

		rvb_ground_truth(RVB_COSINE, &base, &query, k, &filter, 2, &nb);
		for (int q = 0; q < query.n; q++)
		{
			int			lo,
						hi,
						in_slice = 0,
						listed = 0;
			double		prev = -INFINITY;
			const int32_t *ids = RVB_NB(&nb, q);

			rvb_filter_range(pcts[fi], q, &lo, &hi);
			for (int i = 0; i < base.n; i++)
				in_slice += tag[i] >= lo && tag[i] < hi;
			for (int i = 0; i < k && ids[i] >= 0; i++, listed++)
			{
				double		d = rvb_distance(RVB_COSINE, RVB_ROW(&query, q),
											 RVB_ROW(&base, ids[i]), base.dim);

				CHECK(tag[ids[i]] >= lo && tag[ids[i]] < hi,
					  "filter %d%% query %d: id %d has tag %d outside [%d,%d)",
					  pcts[fi], q, ids[i], tag[ids[i]], lo, hi);
				CHECK(d >= prev, "filter %d%% query %d: not sorted at rank %d",
					  pcts[fi], q, i);
				prev = d;
			}
			CHECK(listed == (in_slice < k ? in_slice : k),
				  "filter %d%% query %d: %d listed, slice has %d", pcts[fi], q,
				  listed, in_slice);
			/* nothing in the slice outside the list is nearer than its last */
			for (int i = 0; i < base.n && listed == k; i++)
			{
				bool		listed_i = false;

				if (tag[i] < lo || tag[i] >= hi)
					continue;
				for (int j = 0; j < k; j++)
					listed_i |= ids[j] == i;
				CHECK(listed_i || rvb_distance(RVB_COSINE, RVB_ROW(&query, q),
											   RVB_ROW(&base, i), base.dim) >= prev,
					  "filter %d%% query %d: row %d is nearer than the list's last",
					  pcts[fi], q, i);
			}
		}
		rvb_neighbours_free(&nb);
	}
	free(tag);
	rvb_matrix_free(&base);
	rvb_matrix_free(&query);
}

static void
check_tags_and_slices(void)
{
	int			count[100] = {0};
	int			n = 200000;
	int			pcts[4] = {1, 10, 25, 50};

	for (int i = 0; i < n; i++)
		count[rvb_tag(42, i)]++;
	for (int t = 0; t < 100; t++)
		CHECK(abs(count[t] - n / 100) < 200, "tag %d: %d rows of %d", t, count[t], n);
	CHECK(rvb_tag(42, 12345) == rvb_tag(42, 12345), "tags are deterministic");
	for (int p = 0; p < 4; p++)
	{
		int			covered[100] = {0};

		for (int q = 0; q < 100 / pcts[p]; q++)
		{
			int			lo,
						hi;

			rvb_filter_range(pcts[p], q, &lo, &hi);
			CHECK(hi - lo == pcts[p] && lo >= 0 && hi <= 100,
				  "slice %d%% q %d is [%d,%d)", pcts[p], q, lo, hi);
			for (int t = lo; t < hi; t++)
				covered[t]++;
		}
		for (int t = 0; t < 100; t++)
			CHECK(covered[t] == 1, "%d%% slices cover tag %d %d times", pcts[p], t,
				  covered[t]);
	}
	CHECK(rvb_filter_pct_valid(10) && rvb_filter_pct_valid(1) && !rvb_filter_pct_valid(3) &&
		  !rvb_filter_pct_valid(0), "valid filter percentages");
}

static void
check_generator(void)
{
	RvbSynthSpec spec = {1000, 33, 20, 0, 0.35, 5};
	RvbMatrix	b1,
				q1,
				b3,
				q3;

	rvb_synthetic(&spec, &b1, &q1, 1);
	rvb_synthetic(&spec, &b3, &q3, 3);
	CHECK(memcmp(b1.x, b3.x, sizeof(float) * 1000 * 33) == 0 &&
		  memcmp(q1.x, q3.x, sizeof(float) * 20 * 33) == 0,
		  "generator output depends on the thread count");
	for (size_t i = 0; i < 1000 * 33; i++)
		if (!isfinite(b1.x[i]))
		{
			CHECK(false, "non-finite value at %zu", i);
			break;
		}
	rvb_matrix_free(&b1);
	rvb_matrix_free(&q1);
	rvb_matrix_free(&b3);
	rvb_matrix_free(&q3);
}

static void
check_stats(void)
{
	double		v[100];
	RvbPoint	pts[4] = {{0.5, 1000}, {0.8, 500}, {0.9, 200}, {0.7, 300}};
	RvbPoint	f[4];
	int			n;
	double		q;

	for (int i = 0; i < 100; i++)
		v[i] = 100 - i;			/* 100 .. 1, unsorted */
	CHECK(rvb_percentile(v, 100, 0.50) == 50, "p50 %g", rvb_percentile(v, 100, 0.5));
	CHECK(rvb_percentile(v, 100, 0.95) == 95, "p95");
	CHECK(rvb_percentile(v, 100, 0.99) == 99, "p99");
	CHECK(rvb_percentile(v, 100, 0.0) == 1, "p0 is the minimum");
	CHECK(rvb_percentile(v, 100, 1.0) == 100, "p100 is the maximum");
	CHECK(rvb_percentile(v, 1, 0.99) == v[0], "one sample");
	CHECK(isnan(rvb_percentile(v, 0, 0.5)), "no samples");
	CHECK(rvb_mean(v, 100) == 50.5, "mean");

	n = rvb_frontier(pts, 4, f);
	CHECK(n == 3 && f[0].recall == 0.5 && f[1].recall == 0.8 && f[2].recall == 0.9,
		  "frontier drops the dominated point, got %d points", n);
	q = rvb_qps_at_recall(pts, 4, 0.85);
	CHECK(NEAR(q, 350, 1e-9), "interpolated QPS at 0.85: %g", q);
	q = rvb_qps_at_recall(pts, 4, 0.8);
	CHECK(NEAR(q, 500, 1e-9), "QPS at a measured recall: %g", q);
	q = rvb_qps_at_recall(pts, 4, 0.3);
	CHECK(q == 1000, "below the curve the fastest point qualifies: %g", q);
	q = rvb_qps_at_recall(pts, 4, 0.95);
	CHECK(isnan(q), "above the curve: not reached, got %g", q);
	{
		RvbPoint	bad[2] = {{NAN, 5}, {0.9, 100}};

		q = rvb_qps_at_recall(bad, 2, 0.9);
		CHECK(q == 100, "failed points are ignored: %g", q);
	}
}

static void
check_wire_format(void)
{
	float		v[2] = {1.0f, -2.5f};
	char		buf[12];
	const unsigned char want[12] = {0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0};
	int			len = rvb_vector_binary(v, 2, buf);

	CHECK(len == 12 && memcmp(buf, want, 12) == 0,
		  "vector binary format: int16 dim, int16 0, big-endian float4");
}

static void
check_text_format(void)
{
	float		v[3] = {1.0f, -2.5f, 0.1f};
	char		buf[128];
	int			len = rvb_vector_text(v, 3, buf);

	/* 0.1f widened to double, as Python's float() and JavaScript print it */
	CHECK(strcmp(buf, "[1,-2.5,0.10000000149011612]") == 0 && len == (int) strlen(buf),
		  "vector text format: %s", buf);
	CHECK(rvb_vector_text_size(3) >= (size_t) len + 1, "text size bound");
}

static void
check_files(void)
{
	char		dir[] = "/tmp/rvb_check_XXXXXX";
	char		fpath[64],
				ipath[64],
				err[256];
	RvbMatrix	m = {3, 2, (float[]) {1, 2, 3, 4, 5, 6}},
				back;
	RvbNeighbours nb = {2, 3, (int32_t[]) {0, 1, 2, 2, 1, -1}},
				nback;

	if (mkdtemp(dir) == NULL)
	{
		CHECK(false, "mkdtemp");
		return;
	}
	snprintf(fpath, sizeof(fpath), "%s/a.fvecs", dir);
	snprintf(ipath, sizeof(ipath), "%s/a.ivecs", dir);
	CHECK(rvb_write_fvecs(fpath, &m) == 0 && rvb_write_ivecs(ipath, &nb) == 0, "write");
	CHECK(rvb_read_fvecs(fpath, 0, &back, err, sizeof(err)) == 0 && back.n == 3 &&
		  back.dim == 2 && memcmp(back.x, m.x, 24) == 0, "fvecs round trip: %s", err);
	rvb_matrix_free(&back);
	CHECK(rvb_read_fvecs(fpath, 2, &back, err, sizeof(err)) == 0 && back.n == 2,
		  "fvecs limit");
	rvb_matrix_free(&back);
	CHECK(rvb_read_ivecs(ipath, 0, &nback, err, sizeof(err)) == 0 && nback.nq == 2 &&
		  nback.k == 3 && memcmp(nback.ids, nb.ids, 24) == 0, "ivecs round trip");
	rvb_neighbours_free(&nback);
	{
		FILE	   *f = fopen(fpath, "ab");

		fputc(0, f);
		fclose(f);
		CHECK(rvb_read_fvecs(fpath, 0, &back, err, sizeof(err)) != 0,
			  "a truncated file is refused");
	}
	unlink(fpath);
	unlink(ipath);
	rmdir(dir);
}

static void
check_json(void)
{
	char	   *text = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&text, &len);
	RvbJson		j;
	const char *want =
		"{\n"
		"  \"s\": \"a\\\"b\\\\c\\nd\",\n"
		"  \"n\": null,\n"
		"  \"x\": 0.25,\n"
		"  \"i\": -3,\n"
		"  \"a\": [\n"
		"    1,\n"
		"    {\n"
		"      \"t\": true\n"
		"    }\n"
		"  ],\n"
		"  \"e\": []\n"
		"}\n";

	rvb_json_init(&j, f);
	rvb_json_object(&j, NULL);
	rvb_json_str(&j, "s", "a\"b\\c\nd");
	rvb_json_num(&j, "n", NAN);
	rvb_json_num(&j, "x", 0.25);
	rvb_json_int(&j, "i", -3);
	rvb_json_array(&j, "a");
	rvb_json_num(&j, NULL, 1);
	rvb_json_object(&j, NULL);
	rvb_json_bool(&j, "t", true);
	rvb_json_end_object(&j);
	rvb_json_end_array(&j);
	rvb_json_array(&j, "e");
	rvb_json_end_array(&j);
	rvb_json_end_object(&j);
	fclose(f);
	CHECK(strcmp(text, want) == 0, "JSON output:\n%s", text);
	free(text);
}

int
main(void)
{
	check_recall_hand_made();
	check_distances();
	check_ground_truth();
	check_filtered_truth();
	check_tags_and_slices();
	check_generator();
	check_stats();
	check_wire_format();
	check_text_format();
	check_files();
	check_json();
	printf("bench self-checks: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
