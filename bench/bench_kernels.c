/*-------------------------------------------------------------------------
 *
 * bench_kernels.c
 *	  Microbenchmark of the distance kernels: nanoseconds per call of every
 *	  kernel for each instruction set this CPU supports, at 128, 768 and
 *	  1536 dimensions, with the speedup over the scalar reference.
 *
 * NOTES
 *	  Run with `make bench-kernels`.  Fairness rules:
 *	  - All kernel files, the scalar reference included, are built by the
 *	    same rule with the same -O2 and no -ffast-math (the unit-test
 *	    objects).  Without -fassociative-math gcc may not reorder a float
 *	    sum, so the scalar float loops stay one element per step (check
 *	    with objdump: no packed ps arithmetic in the scalar_* functions).
 *	  - Each measurement runs ~0.2 s (BENCH_SECONDS overrides) after a
 *	    warm-up of a tenth of that, so caches, branch predictors and clock
 *	    frequency have settled.  The 0.2 s is five equal runs and the
 *	    fastest is reported, because on a shared machine other processes
 *	    only ever add time.
 *	  - Calls go through the table's function pointers into another
 *	    translation unit, each result is added into a volatile sink, and
 *	    the inputs rotate over four vectors, so the compiler can neither
 *	    hoist nor drop a call.  Four vectors of 1536 floats (24 KiB) stay
 *	    in L1: this measures the kernels, not memory.
 *	  - Bit kernels are timed at 8 bits per dimension (1024, 6144 and
 *	    12288 bits, i.e. 128, 768 and 1536 bytes); at one bit per
 *	    dimension (16..192 bytes) the call overhead dominates every
 *	    variant.
 *
 *	  Two extra rows, in the avx2 column, time the alternative AVX2 bit
 *	  kernels: 64-bit POPCNT on general registers with several counters,
 *	  against the VPSHUFB nibble-table loops distance_avx2.c uses; they
 *	  back that choice with numbers.  Their speedup is against the scalar
 *	  hamming/jaccard row.
 *
 * IDENTIFICATION
 *	  bench/bench_kernels.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quant/quant.h"
#include "distance/distance.h"
#include "distance/distance_isa.h"

#define NPOOL		4			/* input vectors the calls rotate over */
#define MAXDIM		1536

static const int dims[] = {128, 768, 1536};
#define NDIMS 3

static const char *const isa_names[] = {"scalar", "avx2", "avx512"};
#define NISA 3

/* Inputs, shared by every measurement. */
static float *f32_pool[NPOOL];
static rv_half *f16_pool[NPOOL];
static uint8_t *bit_pool[NPOOL];

static volatile double sink;
static double seconds_per_measurement = 0.2;

typedef enum
{
	F32_L2, F32_DOT, F32_COS, F32_L1, F16_L2, F16_DOT, F16_COS, F16_L1,
	BIT_HAMMING, BIT_JACCARD, BIT_HAMMING_POPCNT, BIT_JACCARD_POPCNT, NKERNELS
} KernelId;

static const char *const kernel_labels[] = {
	"f32 l2sq", "f32 dot", "f32 cos", "f32 l1",
	"f16 l2sq", "f16 dot", "f16 cos", "f16 l1",
	"bit hamming", "bit jaccard", "bit hamming (popcnt)", "bit jaccard (popcnt)"
};

/* ------------------------------------------------------------------------
 * The POPCNT alternative for the AVX2 bit kernels (comparison only)
 * ------------------------------------------------------------------------
 */
#if defined(__x86_64__)
#include <immintrin.h>

static inline uint64_t
load_u64(const uint8_t *p)
{
	uint64_t	x;

	memcpy(&x, p, sizeof(x));
	return x;
}

/* Hamming distance with 64-bit POPCNT into four independent counters. */
__attribute__((target("popcnt")))
static uint64_t
hamming_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	c0 = 0,
				c1 = 0,
				c2 = 0,
				c3 = 0;
	size_t		i = 0;

	for (; i + 32 <= nbytes; i += 32)
	{
		c0 += (uint64_t) _mm_popcnt_u64(load_u64(a + i) ^ load_u64(b + i));
		c1 += (uint64_t) _mm_popcnt_u64(load_u64(a + i + 8) ^ load_u64(b + i + 8));
		c2 += (uint64_t) _mm_popcnt_u64(load_u64(a + i + 16) ^ load_u64(b + i + 16));
		c3 += (uint64_t) _mm_popcnt_u64(load_u64(a + i + 24) ^ load_u64(b + i + 24));
	}
	for (; i + 8 <= nbytes; i += 8)
		c0 += (uint64_t) _mm_popcnt_u64(load_u64(a + i) ^ load_u64(b + i));
	for (; i < nbytes; i++)
		c1 += (uint64_t) _mm_popcnt_u32((unsigned) (a[i] ^ b[i]));
	return c0 + c1 + c2 + c3;
}

/* Jaccard counts with 64-bit POPCNT, two counters per sum. */
__attribute__((target("popcnt")))
static void
jaccard_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes,
			   uint64_t *ab, uint64_t *aa_plus_bb)
{
	uint64_t	both0 = 0,
				both1 = 0,
				each0 = 0,
				each1 = 0;
	size_t		i = 0;

	for (; i + 16 <= nbytes; i += 16)
	{
		uint64_t	x0 = load_u64(a + i);
		uint64_t	y0 = load_u64(b + i);
		uint64_t	x1 = load_u64(a + i + 8);
		uint64_t	y1 = load_u64(b + i + 8);

		both0 += (uint64_t) _mm_popcnt_u64(x0 & y0);
		each0 += (uint64_t) (_mm_popcnt_u64(x0) + _mm_popcnt_u64(y0));
		both1 += (uint64_t) _mm_popcnt_u64(x1 & y1);
		each1 += (uint64_t) (_mm_popcnt_u64(x1) + _mm_popcnt_u64(y1));
	}
	for (; i < nbytes; i++)
	{
		both0 += (uint64_t) _mm_popcnt_u32((unsigned) (a[i] & b[i]));
		each0 += (uint64_t) (_mm_popcnt_u32(a[i]) + _mm_popcnt_u32(b[i]));
	}
	*ab = both0 + both1;
	*aa_plus_bb = each0 + each1;
}

/* A table of just the two bit kernels, so run_calls can time them as usual */
static RvKernels popcnt_table;
#endif

/* ------------------------------------------------------------------------
 * Timing
 * ------------------------------------------------------------------------
 */

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Call one kernel reps times, rotating the inputs; returns elapsed seconds.
 * The switch is outside the loops so each loop is just the calls.
 */
static double
run_calls(const RvKernels *k, KernelId id, int dim, long reps)
{
	double		acc = 0;
	double		t0 = now_seconds();
	size_t		nbytes = (size_t) dim;	/* 8 bits per dimension */
	long		r;
	float		d,
				na,
				nb;
	uint64_t	u,
				v;

	switch (id)
	{
		case F32_L2:
			for (r = 0; r < reps; r++)
				acc += k->f32_l2sq(f32_pool[r & 3], f32_pool[(r + 1) & 3], dim);
			break;
		case F32_DOT:
			for (r = 0; r < reps; r++)
				acc += k->f32_dot(f32_pool[r & 3], f32_pool[(r + 1) & 3], dim);
			break;
		case F32_COS:
			for (r = 0; r < reps; r++)
			{
				k->f32_cos(f32_pool[r & 3], f32_pool[(r + 1) & 3], dim, &d, &na, &nb);
				acc += d + na + nb;
			}
			break;
		case F32_L1:
			for (r = 0; r < reps; r++)
				acc += k->f32_l1(f32_pool[r & 3], f32_pool[(r + 1) & 3], dim);
			break;
		case F16_L2:
			for (r = 0; r < reps; r++)
				acc += k->f16_l2sq(f16_pool[r & 3], f16_pool[(r + 1) & 3], dim);
			break;
		case F16_DOT:
			for (r = 0; r < reps; r++)
				acc += k->f16_dot(f16_pool[r & 3], f16_pool[(r + 1) & 3], dim);
			break;
		case F16_COS:
			for (r = 0; r < reps; r++)
			{
				k->f16_cos(f16_pool[r & 3], f16_pool[(r + 1) & 3], dim, &d, &na, &nb);
				acc += d + na + nb;
			}
			break;
		case F16_L1:
			for (r = 0; r < reps; r++)
				acc += k->f16_l1(f16_pool[r & 3], f16_pool[(r + 1) & 3], dim);
			break;
		case BIT_HAMMING:
		case BIT_HAMMING_POPCNT:
			for (r = 0; r < reps; r++)
				acc += (double) k->bit_hamming(bit_pool[r & 3], bit_pool[(r + 1) & 3], nbytes);
			break;
		case BIT_JACCARD:
		case BIT_JACCARD_POPCNT:
			for (r = 0; r < reps; r++)
			{
				k->bit_jaccard(bit_pool[r & 3], bit_pool[(r + 1) & 3], nbytes, &u, &v);
				acc += (double) (u + v);
			}
			break;
		default:
			break;
	}
	sink += acc;
	return now_seconds() - t0;
}

/*
 * Nanoseconds per call: warm up, size the repetition count from a short
 * trial, then split the measurement time into NSAMPLES equal runs and keep
 * the fastest.  Other processes can only ever slow a run down, so the
 * minimum is the best estimate of the kernel's own cost on a shared host.
 */
#define NSAMPLES 5

static double
measure(const RvKernels *k, KernelId id, int dim)
{
	long		reps = 64;
	double		t;
	double		best = -1;
	int			s;

	/* grow a trial run until it is long enough to extrapolate from */
	while ((t = run_calls(k, id, dim, reps)) < seconds_per_measurement / 50)
		reps *= 2;
	/* warm-up, about a tenth of the measurement */
	reps = (long) (reps * (seconds_per_measurement / 10) / t) + 1;
	t = run_calls(k, id, dim, reps);
	reps = (long) (reps * (seconds_per_measurement / NSAMPLES) / t) + 1;
	for (s = 0; s < NSAMPLES; s++)
	{
		double		ns = run_calls(k, id, dim, reps) * 1e9 / (double) reps;

		if (best < 0 || ns < best)
			best = ns;
	}
	return best;
}

/* ------------------------------------------------------------------------
 * Setup and report
 * ------------------------------------------------------------------------
 */

static void
fill_inputs(void)
{
	uint64_t	st = 0x5EED;
	int			p,
				i;

	for (p = 0; p < NPOOL; p++)
	{
		f32_pool[p] = aligned_alloc(64, sizeof(float) * MAXDIM);
		f16_pool[p] = aligned_alloc(64, sizeof(rv_half) * MAXDIM);
		bit_pool[p] = aligned_alloc(64, MAXDIM);
		for (i = 0; i < MAXDIM; i++)
		{
			st = st * 6364136223846793005ull + 1442695040888963407ull;
			f32_pool[p][i] = (float) ((double) (st >> 11) * 0x1p-53 * 2.0 - 1.0);
			f16_pool[p][i] = rv_float_to_half(f32_pool[p][i]);
			bit_pool[p][i] = (uint8_t) (st >> 56);
		}
	}
}

static void
print_environment(void)
{
	FILE	   *f = fopen("/proc/cpuinfo", "r");
	char		line[512];
	char		model[256] = "unknown";
	char		family[32] = "?";
	char		modelno[32] = "?";
	char		date[64];
	time_t		t = time(NULL);

	if (f != NULL)
	{
		/* the first processor's model name, family and model number */
		while (fgets(line, sizeof(line), f) && line[0] != '\n')
		{
			char	   *colon = strchr(line, ':');
			char	   *value = colon != NULL ? colon + 2 : NULL;

			if (value == NULL)
				continue;
			value[strcspn(value, "\n")] = '\0';
			if (strncmp(line, "model name", 10) == 0)
				snprintf(model, sizeof(model), "%s", value);
			else if (strncmp(line, "cpu family", 10) == 0)
				snprintf(family, sizeof(family), "%s", value);
			else if (strncmp(line, "model\t", 6) == 0)
				snprintf(modelno, sizeof(modelno), "%s", value);
		}
		fclose(f);
	}
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	printf("RuVector distance kernels benchmark\n");
	printf("date:     %s\n", date);
	printf("cpu:      %s (family %s, model %s), %ld online cpus\n", model, family, modelno,
		   sysconf(_SC_NPROCESSORS_ONLN));
	printf("compiler: gcc %s, kernels built at -O2 without -ffast-math\n", __VERSION__);
	printf("isa:      avx2 %s, avx512 %s\n",
		   rv_cpu_has_avx2() ? "yes" : "no (skipped)",
		   rv_cpu_has_avx512() ? "yes" : "no (skipped)");
	printf("method:   ns per call, best of %d runs in %.2f s after warm-up, inputs rotate over %d vectors\n",
		   NSAMPLES, seconds_per_measurement, NPOOL);
	printf("          bit kernels at 8 bits per dim: %d, %d, %d bits\n\n",
		   dims[0] * 8, dims[1] * 8, dims[2] * 8);
}

int
main(void)
{
	const RvKernels *tables[NISA];
	double		ns[NKERNELS][NDIMS][NISA];
	const char *env = getenv("BENCH_SECONDS");
	int			kid,
				di,
				ii;

	if (env != NULL && atof(env) > 0)
		seconds_per_measurement = atof(env);
	for (ii = 0; ii < NISA; ii++)
		tables[ii] = rv_kernels_lookup(isa_names[ii]);
#if defined(__x86_64__)
	popcnt_table.name = "avx2-popcnt";
	popcnt_table.bit_hamming = hamming_popcnt;
	popcnt_table.bit_jaccard = jaccard_popcnt;
#endif
	fill_inputs();
	print_environment();

	printf("%-22s %5s %10s %10s %10s %9s %9s\n",
		   "kernel", "dim", "scalar ns", "avx2 ns", "avx512 ns", "avx2 x", "avx512 x");
	for (kid = 0; kid < NKERNELS; kid++)
		for (di = 0; di < NDIMS; di++)
		{
			printf("%-22s %5d", kernel_labels[kid], dims[di]);
			for (ii = 0; ii < NISA; ii++)
			{
				/* the popcnt rows exist only as AVX2-class variants */
				int			alt = kid == BIT_HAMMING_POPCNT || kid == BIT_JACCARD_POPCNT;
				int			skip = tables[ii] == NULL || (alt && ii != 1);
				const RvKernels *k = tables[ii];

#if defined(__x86_64__)
				if (alt)
					k = &popcnt_table;
#endif
				ns[kid][di][ii] = skip ? -1 : measure(k, (KernelId) kid, dims[di]);
				if (ns[kid][di][ii] < 0)
					printf(" %10s", "-");
				else
					printf(" %10.1f", ns[kid][di][ii]);
				fflush(stdout);
			}
			for (ii = 1; ii < NISA; ii++)
			{
				/* alternative rows: speedup against the scalar bit kernel */
				double		base = kid == BIT_HAMMING_POPCNT ? ns[BIT_HAMMING][di][0] :
					kid == BIT_JACCARD_POPCNT ? ns[BIT_JACCARD][di][0] : ns[kid][di][0];

				if (ns[kid][di][ii] > 0 && base > 0)
					printf(" %8.2fx", base / ns[kid][di][ii]);
				else
					printf(" %9s", "-");
			}
			printf("\n");
		}

	if (tables[1] != NULL)
	{
		double		x = ns[F32_L2][1][0] / ns[F32_L2][1][1];

		printf("\ntarget: avx2 f32 l2sq at 768 dims >= 4x scalar: %.2fx, %s\n",
			   x, x >= 4.0 ? "met" : "NOT met");
	}
	return 0;
}
