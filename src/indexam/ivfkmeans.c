/*-------------------------------------------------------------------------
 *
 * ivfkmeans.c
 *	  k-means for IVFFlat builds: k-means++ seeding, then Elkan's
 *	  accelerated Lloyd iterations on the sampled rows.
 *
 * NOTES
 *	  Distances are the operator class's k-means distance (support proc 3),
 *	  a true metric as Elkan's bounds require: L2 distance (not its square)
 *	  for L2 opclasses, Hamming distance for bit, and for inner product and
 *	  cosine (spherical k-means: samples and centers kept at unit length) the
 *	  chord between unit vectors, which orders centers exactly as the angle
 *	  of the opclass's spherical distance does and needs no arc cosine.
 *	  Distances from one vector to many go through the batched kernels.
 *
 *	  k-means++ seeding skips the distances the triangle inequality settles
 *	  (a sample near its center is not nearer a new center far from it),
 *	  storing the bound instead; its draws, and so the centers, are those
 *	  of the plain method.
 *
 *	  Elkan's method keeps, for every sample, an upper bound on the distance
 *	  to its own center and a lower bound on the distance to every center,
 *	  and skips any distance the bounds prove cannot change an assignment.
 *	  The lower bounds are a samples x centers matrix, which is what the
 *	  memory check against maintenance_work_mem is mostly about.  Three
 *	  refinements keep the work per iteration small once few samples move:
 *	  a center that did not move leaves every bound on it exact (no update,
 *	  no loosening); a per-sample bound on the distance to the second
 *	  nearest center (Hamerly's, lowered only by the centers that moved)
 *	  spares the scan of the sample's row of bounds when its center is
 *	  clearly the nearest (on glove-100, 100-d, 316 lists, that is rare:
 *	  95-99% of the rows are scanned in every iteration, for a few
 *	  candidates each); and the iterations stop once at most one sample in
 *	  a thousand changes center.
 *
 *	  Centers are means computed in float, then stored in the index's own
 *	  representation (rounded to half for halfvec, majority bits for bit).
 *	  A center left with no samples takes over the sample furthest from its
 *	  own center, from a cluster that can spare one, so identical or few
 *	  distinct rows still give a valid (if redundant) set of centers.
 *
 * IDENTIFICATION
 *	  src/indexam/ivfkmeans.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "indexam/ivfflat.h"

/* Centers whose distances k-means++ seeding stores in one pass */
#define IVF_SEED_BLOCK	16

/* Lloyd iterations stop when few samples change center, or after this many */
#define IVF_KMEANS_MAX_ITERATIONS	500

typedef struct IvfKmeansState
{
	IvfSupport *support;
	pg_prng_state *prng;
	IvfValueArray *samples;
	IvfValueArray *centers;
	IvfValueArray *newCenters;
	int			n;				/* samples */
	int			k;				/* centers */
	int			dim;			/* elements of a mean */

	float	   *sums;			/* k x dim */
	int		   *counts;			/* k */
	int		   *assign;			/* n: center of each sample */
	float	   *lower;			/* n x k: lower bounds on d(sample, center) */
	float	   *upper;			/* n: upper bound on d(sample, own center) */
	float	   *halfcc;			/* k x k: half the center-center distances */
	float	   *s;				/* k: half the distance to the nearest other center */
	float	   *moved;			/* k: how far each center moved */
	const char **samplePtrs;	/* n: each sample, for batched distances */
	const char **centerPtrs;	/* k: each center */
	float	   *scratch;		/* max(n, k) distances */
	float	   *seedBlock;		/* IVF_SEED_BLOCK x n distances */
	int		   *seedIdx;		/* n: samples whose distance seeding computes */
	const char **seedPtrs;		/* n: their values */
	int		   *movedList;		/* the centers that moved at all */
	int			nmoved;
	bool	   *tight;			/* n: upper bound is the exact distance */
	float	   *second;			/* n: lower bound on the distance to any other
								 * center (Hamerly's bound) */
} IvfKmeansState;

#define LOWER(km, j, c)		((km)->lower[(Size) (j) * (Size) (km)->k + (Size) (c)])
#define HALFCC(km, a, c)	((km)->halfcc[(Size) (a) * (Size) (km)->k + (Size) (c)])
#define SAMPLE(km, j)		IvfValueArrayGet((km)->samples, j)
#define CENTER(km, c)		IvfValueArrayGet((km)->centers, c)
#define NEWCENTER(km, c)	IvfValueArrayGet((km)->newCenters, c)

static inline float
KmeansDistance(IvfKmeansState *km, const char *a, const char *b)
{
	IvfSupport *support = km->support;

	return IvfDistance(support, support->kmeansKind, support->kmeansProc, a, b);
}

/*
 * Allocates the working arrays after checking that they, with what the
 * caller already holds (memoryUsed), fit in maintenance_work_mem.
 */
static void
KmeansAllocate(IvfKmeansState *km, Size memoryUsed)
{
	Size		n = (Size) km->n;
	Size		k = (Size) km->k;
	Size		total = memoryUsed;

	total = add_size(total, mul_size(k, km->centers->stride));	/* newCenters */
	total = add_size(total, mul_size(mul_size(k, km->dim), sizeof(float)));
	total = add_size(total, mul_size(k, sizeof(int)));
	total = add_size(total, mul_size(n, sizeof(int)));
	total = add_size(total, mul_size(mul_size(n, k), sizeof(float)));
	total = add_size(total, mul_size(n, sizeof(float)));
	total = add_size(total, mul_size(mul_size(k, k), sizeof(float)));
	total = add_size(total, mul_size(3 * k, sizeof(float)));
	total = add_size(total, mul_size(n, sizeof(bool) + sizeof(float)));
	total = add_size(total, mul_size(n + 2 * k, sizeof(char *) + sizeof(float)));
	total = add_size(total, mul_size(k, sizeof(int)));
	total = add_size(total, mul_size(IVF_SEED_BLOCK * n, sizeof(float)));
	total = add_size(total, mul_size(n, sizeof(int) + sizeof(char *)));
	IvfCheckMemory(total);

	km->newCenters = IvfValueArrayCreate(km->k, km->support->valueSize);
	km->newCenters->length = km->k;
	km->sums = palloc_extended(k * km->dim * sizeof(float), MCXT_ALLOC_HUGE);
	km->counts = palloc(k * sizeof(int));
	km->assign = palloc_extended(n * sizeof(int), MCXT_ALLOC_HUGE);
	km->lower = palloc_extended(n * k * sizeof(float), MCXT_ALLOC_HUGE);
	km->upper = palloc_extended(n * sizeof(float), MCXT_ALLOC_HUGE);
	km->halfcc = palloc_extended(k * k * sizeof(float), MCXT_ALLOC_HUGE);
	km->s = palloc(k * sizeof(float));
	km->moved = palloc(k * sizeof(float));
	km->movedList = palloc(2 * k * sizeof(int));	/* second half: candidates */
	km->tight = palloc_extended(n * sizeof(bool), MCXT_ALLOC_HUGE);
	km->second = palloc_extended(n * sizeof(float), MCXT_ALLOC_HUGE);
	km->samplePtrs = palloc_extended(n * sizeof(char *), MCXT_ALLOC_HUGE);
	km->centerPtrs = palloc(2 * k * sizeof(char *));	/* second half: candidates */
	km->scratch = palloc_extended(Max(n, k) * sizeof(float), MCXT_ALLOC_HUGE);
	km->seedBlock = palloc_extended(IVF_SEED_BLOCK * n * sizeof(float), MCXT_ALLOC_HUGE);
	km->seedIdx = palloc_extended(n * sizeof(int), MCXT_ALLOC_HUGE);
	km->seedPtrs = palloc_extended(n * sizeof(char *), MCXT_ALLOC_HUGE);
	for (Size j = 0; j < n; j++)
		km->samplePtrs[j] = SAMPLE(km, j);
	for (Size c = 0; c < k; c++)
		km->centerPtrs[c] = CENTER(km, c);
}

/*
 * k-means++ seeding: each new center is a sample drawn with probability
 * proportional to its squared distance to the nearest center so far.
 *
 * A sample whose nearest center so far, a, is at distance u cannot be
 * nearer the new center c than to a when d(c, a) >= 2u (triangle
 * inequality), so its distance to c is not computed: d(c, a) - u is a
 * valid lower bound for Elkan's matrix and its nearest center and weight
 * stay as they are.  Only the vectors of the other samples are read, which
 * is what the seeding pass is bound by once the samples outgrow the cache.
 * The centers chosen are those of the plain method (same weights, same
 * draws), and so is the result of the iterations: Elkan's method gives
 * Lloyd's centers whatever the lower bounds, tight or not.
 */
static void
KmeansSeed(IvfKmeansState *km)
{
	float	   *block = km->seedBlock;
	float	   *ccdist = palloc(sizeof(float) * km->k);
	int		   *idx = km->seedIdx;
	const char **ptrs = km->seedPtrs;
	int			first = (int) pg_prng_uint64_range(km->prng, 0, km->n - 1);

	memcpy(CENTER(km, 0), SAMPLE(km, first), km->centers->stride);
	for (int j = 0; j < km->n; j++)
	{
		km->assign[j] = 0;
		km->upper[j] = FLT_MAX;
	}

	for (int c = 0; c < km->k; c++)
	{
		float	   *row = block + (Size) (c % IVF_SEED_BLOCK) * km->n;
		double		sum = 0.0;
		double		choice;
		int			ncomp = 0;
		int			next;

		CHECK_FOR_INTERRUPTS();

		if (c > 0)
			IvfDistanceMany(km->support, km->support->kmeansKind, km->support->kmeansProc,
							CENTER(km, c), km->centerPtrs, c, ccdist);
		for (int j = 0; j < km->n; j++)
		{
			float		cd = c > 0 ? ccdist[km->assign[j]] : 0;

			if (c > 0 && cd >= 2 * km->upper[j])
			{
				row[j] = cd - km->upper[j];
				continue;
			}
			idx[ncomp] = j;
			ptrs[ncomp++] = km->samplePtrs[j];
		}
		IvfDistanceMany(km->support, km->support->kmeansKind, km->support->kmeansProc,
						CENTER(km, c), ptrs, ncomp, km->scratch);
		for (int i = 0; i < ncomp; i++)
		{
			int			j = idx[i];
			float		d = km->scratch[i];

			row[j] = d;
			/* Ties go to the earlier center */
			if (d < km->upper[j])
			{
				km->upper[j] = d;
				km->assign[j] = c;
			}
		}
		for (int j = 0; j < km->n; j++)
			sum += km->upper[j] * km->upper[j];

		/*
		 * The lower bounds are stored a block of centers at a time: one pass
		 * over the rows then fills a run of each row, not one float of it.
		 */
		if (c % IVF_SEED_BLOCK == IVF_SEED_BLOCK - 1 || c + 1 == km->k)
		{
			int			c0 = c - c % IVF_SEED_BLOCK;

			for (int j = 0; j < km->n; j++)
				for (int b = 0; b <= c - c0; b++)
					LOWER(km, j, c0 + b) = block[(Size) b * km->n + j];
		}

		if (c + 1 == km->k)
			break;

		/* All samples coincide with a center: any sample will do */
		next = (int) pg_prng_uint64_range(km->prng, 0, km->n - 1);
		if (sum > 0)
		{
			choice = sum * pg_prng_double(km->prng);
			for (int j = 0; j < km->n; j++)
			{
				float		weight = km->upper[j] * km->upper[j];

				choice -= weight;
				next = j;
				if (choice <= 0 && weight > 0)
					break;
			}
		}
		memcpy(CENTER(km, c + 1), SAMPLE(km, next), km->centers->stride);
	}

	/* The upper bounds are exact; the second bound is the row's minimum */
	for (int j = 0; j < km->n; j++)
	{
		km->tight[j] = true;
		km->second[j] = km->k > 1 ? IvfMinExcept(&LOWER(km, j, 0), km->k, km->assign[j]) : FLT_MAX;
	}
	pfree(ccdist);
}

/*
 * Half the distances between centers, and s(c) for each center.  After the
 * first iteration only the pairs with a center that moved are computed.
 */
static void
KmeansCenterDistances(IvfKmeansState *km, bool all)
{
	IvfSupport *support = km->support;

	for (int a = 0; a < km->k; a++)
	{
		int			rest = km->k - a - 1;

		HALFCC(km, a, a) = 0;
		if (rest == 0)
			continue;
		/* Distances to the later centers, when any of the pairs changed */
		if (!all && km->moved[a] == 0)
		{
			bool		any = false;

			for (int c = a + 1; c < km->k && !any; c++)
				any = km->moved[c] != 0;
			if (!any)
				continue;
		}
		IvfDistanceMany(support, support->kmeansKind, support->kmeansProc,
						CENTER(km, a), km->centerPtrs + a + 1, rest, km->scratch);
		for (int c = a + 1; c < km->k; c++)
		{
			float		d = 0.5f * km->scratch[c - a - 1];

			HALFCC(km, a, c) = d;
			HALFCC(km, c, a) = d;
		}
	}

	for (int a = 0; a < km->k; a++)
	{
		float		nearest = FLT_MAX;

		for (int c = 0; c < km->k; c++)
		{
			if (c != a && HALFCC(km, a, c) < nearest)
				nearest = HALFCC(km, a, c);
		}
		km->s[a] = nearest;
	}
}

/*
 * Elkan's assignment step.  For a sample whose bounds do not settle its
 * center, the exact distance to its own center is computed if the upper
 * bound is loose, then the distances to every center the bounds cannot
 * rule out, in one batch.  Returns the number of samples that changed
 * center.
 */
static int
KmeansAssign(IvfKmeansState *km)
{
	IvfSupport *support = km->support;
	int			changes = 0;
	const char **cands = (const char **) km->centerPtrs + km->k;
	int		   *candIdx = km->movedList + km->k;

	for (int j = 0; j < km->n; j++)
	{
		const char *x = SAMPLE(km, j);
		float	   *lower = &LOWER(km, j, 0);
		float	   *halfcc;
		int			a = km->assign[j];
		int			first = a;
		float		u = km->upper[j];
		int			ncand = 0;

		/*
		 * No other center can be closer than half the distance to the
		 * nearest other center (Elkan), or than the second bound (Hamerly);
		 * the latter spares the scan of the sample's row of lower bounds.
		 */
		if (u <= Max(km->s[a], km->second[j]))
			continue;

		if (!km->tight[j])
		{
			u = KmeansDistance(km, x, CENTER(km, a));
			lower[a] = u;
			km->upper[j] = u;
			km->tight[j] = true;
			if (u <= Max(km->s[a], km->second[j]))
				continue;
		}

		halfcc = &HALFCC(km, a, 0);
		ncand = IvfFilterCandidates(lower, halfcc, u, km->k, a, candIdx);
		if (ncand > 0)
		{
			for (int i = 0; i < ncand; i++)
				cands[i] = CENTER(km, candIdx[i]);

			IvfDistanceMany(support, support->kmeansKind, support->kmeansProc,
							x, cands, ncand, km->scratch);
			for (int i = 0; i < ncand; i++)
			{
				float		d = km->scratch[i];

				lower[candIdx[i]] = d;
				if (d < u)
				{
					a = candIdx[i];
					u = d;
				}
			}
		}

		/* The row is in cache: renew the second bound from it */
		km->second[j] = IvfMinExcept(lower, km->k, a);

		if (a != first)
			changes++;
		km->assign[j] = a;
		km->upper[j] = u;
	}

	return changes;
}

/*
 * Gives every center without samples the sample furthest (by its upper
 * bound) from its own center, taken from a center that keeps at least one.
 * The moved sample sits exactly on its new center.
 */
static void
KmeansFillEmpty(IvfKmeansState *km)
{
	memset(km->counts, 0, sizeof(int) * km->k);
	for (int j = 0; j < km->n; j++)
		km->counts[km->assign[j]]++;

	for (int c = 0; c < km->k; c++)
	{
		int			donor = -1;

		if (km->counts[c] > 0)
			continue;

		for (int j = 0; j < km->n; j++)
		{
			if (km->counts[km->assign[j]] > 1 &&
				(donor < 0 || km->upper[j] > km->upper[donor]))
				donor = j;
		}
		if (donor < 0)
			return;				/* fewer samples than centers: keep the rest */

		km->counts[km->assign[donor]]--;
		km->counts[c] = 1;
		km->assign[donor] = c;
		km->upper[donor] = 0;
		km->tight[donor] = false;	/* exact only once the center is set */
		km->second[donor] = 0;
		LOWER(km, donor, c) = 0;
	}
}

/*
 * Moves each center to the mean of its samples (normalised for spherical
 * k-means) and records how far it moved.
 */
static void
KmeansUpdateCenters(IvfKmeansState *km)
{
	IvfSupport *support = km->support;
	int			dim = km->dim;

	KmeansFillEmpty(km);

	memset(km->sums, 0, sizeof(float) * (Size) km->k * dim);
	for (int j = 0; j < km->n; j++)
		IvfAccumulate(support, SAMPLE(km, j), km->sums + (Size) km->assign[j] * dim);

	for (int c = 0; c < km->k; c++)
	{
		float	   *mean = km->sums + (Size) c * dim;
		char	   *center = NEWCENTER(km, c);

		if (km->counts[c] == 0)
		{
			memcpy(center, CENTER(km, c), km->centers->stride);
			km->moved[c] = 0;
			continue;
		}

		for (int i = 0; i < dim; i++)
		{
			/* A float sum can overflow; the mean of finite values cannot */
			if (isinf(mean[i]))
				mean[i] = mean[i] > 0 ? FLT_MAX : -FLT_MAX;
			mean[i] /= (float) km->counts[c];
		}
		IvfSetCenter(support, mean, center);

		/* Opposite unit vectors can average to zero: keep the old center */
		if (support->kmeansNormalize && !IvfNormalizeValue(support, center))
			memcpy(center, CENTER(km, c), km->centers->stride);

		/* An unchanged center keeps every bound that refers to it exact */
		if (memcmp(center, CENTER(km, c), km->support->valueSize) == 0)
			km->moved[c] = 0;
		else
			km->moved[c] = KmeansDistance(km, CENTER(km, c), center);
	}
}

/*
 * lower[c] -= moved[c] for every center, at least 0 (moved[c] is 0 for the
 * centers that stayed).  Four at a time, which the compiler turns into
 * vector instructions; the gather over the moved centers does not vectorise.
 */
static inline void
KmeansLoosenAll(float *lower, const float *moved, int k)
{
	int			c = 0;

	for (; c + 4 <= k; c += 4)
	{
		float		l0 = lower[c] - moved[c];
		float		l1 = lower[c + 1] - moved[c + 1];
		float		l2 = lower[c + 2] - moved[c + 2];
		float		l3 = lower[c + 3] - moved[c + 3];

		lower[c] = l0 > 0 ? l0 : 0;
		lower[c + 1] = l1 > 0 ? l1 : 0;
		lower[c + 2] = l2 > 0 ? l2 : 0;
		lower[c + 3] = l3 > 0 ? l3 : 0;
	}
	for (; c < k; c++)
	{
		float		l = lower[c] - moved[c];

		lower[c] = l > 0 ? l : 0;
	}
}

/*
 * Keeps the bounds valid after the centers moved (only the lower bounds on
 * centers that moved change), then adopts the new centers.
 */
static void
KmeansUpdateBounds(IvfKmeansState *km)
{
	bool		dense;

	km->nmoved = 0;
	for (int c = 0; c < km->k; c++)
	{
		if (km->moved[c] > 0)
			km->movedList[km->nmoved++] = c;
	}
	dense = km->nmoved > km->k / 4;

	/*
	 * The second bound follows the row: the bounds on the centers that
	 * stayed are unchanged, so it falls only to the loosened bounds of the
	 * centers that moved (Hamerly's "minus the largest move" would throw
	 * it away whenever any one center moves far, and with hundreds of
	 * centers one always does).
	 */
	for (int j = 0; j < km->n; j++)
	{
		float	   *lower = &LOWER(km, j, 0);
		int			a = km->assign[j];
		float		m = km->moved[a];

		if (dense)
		{
			KmeansLoosenAll(lower, km->moved, km->k);
			km->second[j] = Min(km->second[j], IvfMinExcept(lower, km->k, a));
		}
		else
		{
			float		second = km->second[j];

			for (int i = 0; i < km->nmoved; i++)
			{
				int			c = km->movedList[i];
				float		l = lower[c] - km->moved[c];

				l = l > 0 ? l : 0;
				lower[c] = l;
				if (c != a && l < second)
					second = l;
			}
			km->second[j] = second;
		}
		if (m > 0)
		{
			km->upper[j] += m;
			km->tight[j] = false;
		}
	}

	memcpy(km->centers->items, km->newCenters->items, (Size) km->k * km->centers->stride);
}

/* Elkan's k-means from k-means++ seeds */
static void
KmeansElkan(IvfKmeansState *km, Size memoryUsed)
{
	int			iteration;
	int			changes = 0;
	instr_time	start;
	instr_time	end;

	INSTR_TIME_SET_CURRENT(start);
	KmeansAllocate(km, memoryUsed);
	KmeansSeed(km);
	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_SUBTRACT(end, start);
	elog(DEBUG2, "ivfflat k-means: seeding took %.3f ms", INSTR_TIME_GET_MILLISEC(end));

	for (iteration = 0; iteration < IVF_KMEANS_MAX_ITERATIONS; iteration++)
	{
		instr_time	assigned;

		CHECK_FOR_INTERRUPTS();

		INSTR_TIME_SET_CURRENT(start);
		KmeansCenterDistances(km, iteration == 0);
		changes = KmeansAssign(km);
		INSTR_TIME_SET_CURRENT(assigned);
		KmeansUpdateCenters(km);
		KmeansUpdateBounds(km);
		INSTR_TIME_SET_CURRENT(end);
		INSTR_TIME_SUBTRACT(end, assigned);
		INSTR_TIME_SUBTRACT(assigned, start);
		elog(DEBUG2, "ivfflat k-means: iteration %d, %d changes, %d centers moved, assignment %.3f ms, update %.3f ms",
			 iteration, changes, km->nmoved, INSTR_TIME_GET_MILLISEC(assigned),
			 INSTR_TIME_GET_MILLISEC(end));

		/*
		 * Converged: at most one sample in a thousand still moving.  Those
		 * last moves take as long as the first ones and change the lists
		 * very little.
		 */
		if (iteration > 0 && changes <= km->n / 1000)
			break;
	}

	ereport(DEBUG1,
			(errmsg_internal("ivfflat k-means: %d samples, %d centers, %d iterations, %d changes in the last",
							 km->n, km->k, iteration + 1, changes)));
}

/* Centers for an index built with no rows: random points (of unit length) */
static void
KmeansRandom(IvfKmeansState *km)
{
	float	   *mean = palloc(sizeof(float) * km->dim);

	for (int c = 0; c < km->k; c++)
	{
		for (int i = 0; i < km->dim; i++)
			mean[i] = (float) pg_prng_double(km->prng);
		IvfSetCenter(km->support, mean, CENTER(km, c));
		if (km->support->kmeansNormalize)
			(void) IvfNormalizeValue(km->support, CENTER(km, c));
	}
	pfree(mean);
}

/*
 * Refuses centers that would make the index misbehave: a NaN or infinite
 * element, or a zero vector in an index that normalises (cosine).
 */
static void
KmeansCheckCenters(IvfKmeansState *km)
{
	float	   *scratch = palloc(sizeof(float) * km->dim);
	IvfSupport *support = km->support;

	for (int c = 0; c < km->k; c++)
	{
		double		norm = 0;

		memset(scratch, 0, sizeof(float) * km->dim);
		IvfAccumulate(support, CENTER(km, c), scratch);
		for (int i = 0; i < km->dim; i++)
		{
			if (isnan(scratch[i]))
				elog(ERROR, "NaN detected. Please report a bug.");
			if (isinf(scratch[i]))
				elog(ERROR, "Infinite value detected. Please report a bug.");
			norm += (double) scratch[i] * scratch[i];
		}
		if (support->normalize && norm == 0)
			elog(ERROR, "Zero norm detected. Please report a bug.");
	}
	pfree(scratch);
}

/*
 * Computes centers->capacity centers from the samples into centers.
 * Samples of spherical opclasses are already normalised.  memoryUsed is
 * what the caller holds (samples and centers), for the memory check.
 */
void
IvfKmeans(IvfSupport *support, IvfValueArray *samples, IvfValueArray *centers,
		  Size memoryUsed, pg_prng_state *prng)
{
	MemoryContext kmeansCtx = AllocSetContextCreate(CurrentMemoryContext,
													"ivfflat k-means context",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldCtx = MemoryContextSwitchTo(kmeansCtx);
	IvfKmeansState km;

	memset(&km, 0, sizeof(km));
	km.support = support;
	km.prng = prng;
	km.samples = samples;
	km.centers = centers;
	km.n = samples->length;
	km.k = centers->capacity;
	km.dim = support->dimensions;
	centers->length = km.k;

	if (km.n == 0)
		KmeansRandom(&km);
	else
		KmeansElkan(&km, memoryUsed);

	KmeansCheckCenters(&km);

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(kmeansCtx);
}
