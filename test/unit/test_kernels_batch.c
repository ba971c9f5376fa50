/*-------------------------------------------------------------------------
 *
 * test_kernels_batch.c
 *	  Check suite "kernels_batch": the batched kernels of the distance
 *	  tables (one query against many rows, Elkan's candidate filter and the
 *	  minimum but one, used by IVFFlat) of every instruction set this CPU
 *	  supports, against the scalar reference and exact values.
 *
 * NOTES
 *	  Same method as test_kernels.c: every length 0..2000 at start offsets
 *	  0..3 (each row at its own offset, so rows and query are misaligned
 *	  differently), fixed-seed inputs, and a table the CPU cannot run is
 *	  skipped with a printed note.
 *	  - Small-integer inputs: every order of summation gives the exact
 *	    integer, so scalar and SIMD must both equal it.
 *	  - Random floats: each within the rounding bound of the exact sum,
 *	    and (what IVFFlat relies on) a row's result is bit for bit the same
 *	    whatever batch it is in and wherever in the batch.
 *	  - Rows and query that end at a PROT_NONE page: no read past the end.
 *	  - The filter and the minimum: equal to the scalar loop (ties at the
 *	    bound included, as the test is strict), for every skip position.
 *	  NaN inputs are not tried: the bounds are distances between vectors
 *	  the types have already checked to be finite.
 *
 * IDENTIFICATION
 *	  test/unit/test_kernels_batch.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "distance/distance.h"
#include "distance/distance_isa.h"

/* Only call Check on a failure: millions of comparisons stay cheap. */
#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

#define MAXN		2000		/* longest vector tried */
#define MAXOFF		3			/* start offsets 0..3 elements */
#define MAXROWS		9			/* batch sizes 1..9: groups of four and the rest */
#define UNIT_ROUND	5.9604644775390625e-08	/* u = 2^-24 */

static const char *const simd_names[] = {"avx2", "avx512"};
#define N_SIMD 2

/* loop index -1 = the scalar table, else position in simd_names (NULL: skip) */
static const RvKernels *
batch_table(int i)
{
	const RvKernels *k;

	if (i < 0)
		return &rv_kernels_scalar;
	k = rv_kernels_lookup(simd_names[i]);
	if (k == NULL)
		printf("NOTE kernels_batch: this CPU does not support %s; its kernels are not tested\n",
			   simd_names[i]);
	return k;
}

/* splitmix64 */
static uint64_t
next_rand(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform in [-1, 1) times 2^k, k in -4..4 */
static float
rand_float(uint64_t *state)
{
	uint64_t	r = next_rand(state);
	float		x = (float) ((double) (r >> 11) * 0x1p-53 * 2.0 - 1.0);

	return ldexpf(x, (int) (r & 7) - 4);
}

/* Memory of nbytes whose last byte is just before an inaccessible page (leaked). */
static void *
guarded_end(size_t nbytes)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		span = (nbytes + page - 1) / page * page;
	char	   *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(base != MAP_FAILED, "mmap failed");
	ck_assert_int_eq(mprotect(base + span, page, PROT_NONE), 0);
	return base + span - nbytes;
}

/* The exact sum (double) and the sum of |terms| of one row's kernel. */
static void
exact_row(int l2, const float *q, const float *r, int n, double *sum, double *mag)
{
	*sum = 0;
	*mag = 0;
	for (int d = 0; d < n; d++)
	{
		double		e = (double) q[d] - (double) r[d];
		double		t = l2 ? e * e : (double) q[d] * (double) r[d];

		*sum += t;
		*mag += fabs(t);
	}
}

static void
call_many(const RvKernels *k, int l2, const float *q, const float *const *rows,
		  int count, int n, float *out)
{
	if (l2)
		k->f32_l2sq_many(q, rows, count, n, out);
	else
		k->f32_dot_many(q, rows, count, n, out);
}

/* A pool of MAXROWS + 1 arrays (the query first) of MAXN + MAXOFF floats. */
static float **
alloc_pool(uint64_t seed, int integers)
{
	float	  **pool = malloc(sizeof(float *) * (MAXROWS + 1));
	uint64_t	st = seed;

	for (int j = 0; j <= MAXROWS; j++)
	{
		pool[j] = malloc(sizeof(float) * (MAXN + MAXOFF));
		for (int i = 0; i < MAXN + MAXOFF; i++)
			pool[j][i] = integers ? (float) ((int) (next_rand(&st) % 17) - 8)
				: rand_float(&st);
	}
	return pool;
}

static void
free_pool(float **pool)
{
	for (int j = 0; j <= MAXROWS; j++)
		free(pool[j]);
	free(pool);
}

/* Query and rows of one case: the batch size and offsets vary with n and off. */
static int
slice_case(float **pool, int n, int off, const float **q, const float **rows)
{
	int			count = 1 + (n + off) % MAXROWS;

	*q = pool[0] + off;
	for (int j = 0; j < count; j++)
		rows[j] = pool[1 + j] + (off + j + 1) % (MAXOFF + 1);
	return count;
}

/* ------------------------------------------------------------------------
 * Batched dot / squared L2
 * ------------------------------------------------------------------------
 */

START_TEST(test_many_exact_integers)
{
	const RvKernels *k = batch_table(_i);
	float	  **pool;

	if (k == NULL)
		return;
	pool = alloc_pool(42, 1);
	for (int l2 = 0; l2 <= 1; l2++)
		for (int n = 0; n <= MAXN; n++)
			for (int off = 0; off <= MAXOFF; off++)
			{
				const float *q;
				const float *rows[MAXROWS];
				float		out[MAXROWS];
				int			count = slice_case(pool, n, off, &q, rows);

				call_many(k, l2, q, rows, count, n, out);
				for (int j = 0; j < count; j++)
				{
					double		sum,
								mag;

					exact_row(l2, q, rows[j], n, &sum, &mag);
					CHECK(out[j] == (float) sum,
						  "%s %s_many n=%d off=%d row %d of %d: %.9g, exact %.17g",
						  k->name, l2 ? "l2sq" : "dot", n, off, j, count, out[j], sum);
				}
			}
	free_pool(pool);
}
END_TEST

START_TEST(test_many_random_floats)
{
	const RvKernels *k = batch_table(_i);
	float	  **pool;

	if (k == NULL)
		return;
	pool = alloc_pool(7, 0);
	for (int l2 = 0; l2 <= 1; l2++)
		for (int n = 1; n <= MAXN; n++)
			for (int off = 0; off <= MAXOFF; off++)
			{
				const float *q;
				const float *rows[MAXROWS];
				float		out[MAXROWS];
				float		ref[MAXROWS];
				int			count = slice_case(pool, n, off, &q, rows);

				call_many(k, l2, q, rows, count, n, out);
				call_many(&rv_kernels_scalar, l2, q, rows, count, n, ref);
				for (int j = 0; j < count; j++)
				{
					double		sum,
								mag,
								tol;
					float		alone;

					exact_row(l2, q, rows[j], n, &sum, &mag);
					/* (n + 2)u * S per implementation; see test_kernels.c */
					tol = (n + 2) * UNIT_ROUND * mag;
					CHECK(fabs((double) out[j] - sum) <= tol,
						  "%s %s_many n=%d off=%d row %d: %.9g, exact %.17g (bound %.3g)",
						  k->name, l2 ? "l2sq" : "dot", n, off, j, out[j], sum, tol);
					CHECK(fabs((double) out[j] - (double) ref[j]) <= 2 * tol,
						  "%s %s_many n=%d off=%d row %d: %.9g, scalar %.9g",
						  k->name, l2 ? "l2sq" : "dot", n, off, j, out[j], ref[j]);
					/* the same row alone gives the same bits */
					call_many(k, l2, q, &rows[j], 1, n, &alone);
					CHECK(memcmp(&alone, &out[j], sizeof(float)) == 0,
						  "%s %s_many n=%d off=%d row %d of %d: %.9g in the batch, %.9g alone",
						  k->name, l2 ? "l2sq" : "dot", n, off, j, count, out[j], alone);
				}
			}
	free_pool(pool);
}
END_TEST

/* Query and every row end at an inaccessible page. */
START_TEST(test_many_no_overread)
{
	const RvKernels *k = batch_table(_i);
	float	   *g[5];
	uint64_t	st = 99;

	if (k == NULL)
		return;
	for (int j = 0; j < 5; j++)
	{
		g[j] = guarded_end(sizeof(float) * MAXN);
		for (int i = 0; i < MAXN; i++)
			g[j][i] = (float) ((int) (next_rand(&st) % 17) - 8);
	}
	for (int n = 0; n <= MAXN; n++)
		for (int l2 = 0; l2 <= 1; l2++)
		{
			const float *q = g[0] + MAXN - n;
			const float *rows[5];
			float		out[5];

			/* five rows: one group of four and one left over */
			for (int j = 0; j < 5; j++)
				rows[j] = g[j == 4 ? 1 : j + 1] + MAXN - n;
			call_many(k, l2, q, rows, 5, n, out);
			for (int j = 0; j < 5; j++)
			{
				double		sum,
							mag;

				exact_row(l2, q, rows[j], n, &sum, &mag);
				CHECK(out[j] == (float) sum, "%s %s_many n=%d row %d at guard",
					  k->name, l2 ? "l2sq" : "dot", n, j);
			}
		}
}
END_TEST

/* ------------------------------------------------------------------------
 * Elkan's filter and the minimum but one
 * ------------------------------------------------------------------------
 */

/* bounds drawn from a few values, so many equal u (the test is strict) */
static float *
alloc_bounds(uint64_t *st)
{
	float	   *x = malloc(sizeof(float) * (MAXN + MAXOFF));

	for (int i = 0; i < MAXN + MAXOFF; i++)
		x[i] = (float) (next_rand(st) % 8) * 0.25f;
	return x;
}

START_TEST(test_filter_min)
{
	const RvKernels *k = batch_table(_i);
	uint64_t	st = 5;
	float	   *lower;
	float	   *halfcc;
	int		   *out = malloc(sizeof(int) * MAXN);
	int		   *ref = malloc(sizeof(int) * MAXN);

	if (k == NULL)
	{
		free(out);
		free(ref);
		return;
	}
	lower = alloc_bounds(&st);
	halfcc = alloc_bounds(&st);
	for (int n = 0; n <= MAXN; n++)
		for (int off = 0; off <= MAXOFF; off++)
		{
			const float *lo = lower + off;
			const float *hc = halfcc + (MAXOFF - off);
			/* no skip, the first, one inside, the last, and past the end */
			const int	skips[5] = {-1, 0, n / 3, n - 1, n};
			float		u = (float) ((n + off) % 9) * 0.25f;

			for (int s = 0; s < 5; s++)
			{
				int			got = k->bound_filter(lo, hc, u, n, skips[s], out);
				int			want = ivf_filter_scalar(lo, hc, u, n, skips[s], ref);
				float		m = k->min_except(lo, n, skips[s]);
				float		mref = FLT_MAX;

				CHECK(got == want && memcmp(out, ref, sizeof(int) * want) == 0,
					  "%s filter k=%d off=%d skip=%d u=%g: %d candidates, scalar %d (or other ones)",
					  k->name, n, off, skips[s], u, got, want);
				for (int c = 0; c < n; c++)
					if (c != skips[s] && lo[c] < mref)
						mref = lo[c];
				CHECK(m == mref, "%s min_except k=%d off=%d skip=%d: %g, expected %g",
					  k->name, n, off, skips[s], m, mref);
			}
		}
	free(lower);
	free(halfcc);
	free(out);
	free(ref);
}
END_TEST

/* Every table has the batched members; AVX-512 borrows AVX2's. */
START_TEST(test_batch_tables)
{
	const RvKernels *tabs[3] = {&rv_kernels_scalar, &rv_kernels_avx2, &rv_kernels_avx512};

	for (int i = 0; i < 3; i++)
		ck_assert(tabs[i]->f32_dot_many && tabs[i]->f32_l2sq_many &&
				  tabs[i]->bound_filter && tabs[i]->min_except);
	ck_assert_ptr_eq(rv_kernels_scalar.f32_dot_many, ivf_dot_many_scalar);
	ck_assert_ptr_eq(rv_kernels_avx2.f32_l2sq_many, ivf_l2sq_many_avx2);
	ck_assert_ptr_eq(rv_kernels_avx512.f32_dot_many, rv_kernels_avx2.f32_dot_many);
	ck_assert_ptr_eq(rv_kernels_avx512.min_except, rv_kernels_avx2.min_except);
}
END_TEST

Suite *
kernels_batch_suite(void)
{
	Suite	   *s = suite_create("kernels_batch");
	TCase	   *tc = tcase_create("kernels_batch");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_batch_tables);
	/* loop index -1 = the scalar table, then the SIMD tables */
	tcase_add_loop_test(tc, test_many_exact_integers, -1, N_SIMD);
	tcase_add_loop_test(tc, test_many_random_floats, -1, N_SIMD);
	tcase_add_loop_test(tc, test_many_no_overread, -1, N_SIMD);
	tcase_add_loop_test(tc, test_filter_min, -1, N_SIMD);
	suite_add_tcase(s, tc);
	return s;
}
