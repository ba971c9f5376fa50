/*-------------------------------------------------------------------------
 *
 * indexam.h
 *	  What RuVector's index methods (hnsw, ivfflat) share: the values of
 *	  the storage reloption, the refusals of storage an index cannot take,
 *	  the setting that says how many candidates a scan re-ranks with exact
 *	  distances, and the operator-class -> distance kernel table.
 *
 * IDENTIFICATION
 *	  src/indexam/indexam.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_INDEXAM_H
#define RV_INDEXAM_H

#include <math.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"

#include "distance/distance.h"
#include "types/types.h"

#define RV_DEFAULT_RERANK_FACTOR	2
#define RV_MAX_RERANK_FACTOR		100

/*
 * The special space of every page of both methods (HnswPageOpaqueData and
 * IvfPageOpaqueData are this): the next page of the page's chain, flags
 * (ivfflat's IVF_PAGE_DELETED; zero in hnsw), and the method's page id,
 * by which pg_filedump and the methods' checks tell the pages apart.
 * On-disk format: never change it.
 */
typedef struct RvIndexPageOpaqueData
{
	BlockNumber nextblkno;
	uint16		flags;
	uint16		page_id;
} RvIndexPageOpaqueData;

/* ruvector.rerank_factor */
extern int	rv_rerank_factor;

/* Values of the storage reloption (RvCodeKind), for add_enum_reloption */
extern relopt_enum_elt_def rv_storage_options[];

/*
 * The distance kernels the index methods call directly instead of the
 * operator class's support function (indexam.c keeps the one table that
 * maps a support function to its kernel).  Each kernel returns what its
 * SQL function returns, so index order equals operator order.
 */
typedef enum RvIndexKernel
{
	RV_KERNEL_FMGR,				/* not one of ours: call the support function */
	RV_KERNEL_F32_L2SQ,			/* vector_l2_squared_distance */
	RV_KERNEL_F32_L2,			/* l2_distance */
	RV_KERNEL_F32_NEGDOT,		/* vector_negative_inner_product */
	RV_KERNEL_F32_L1,			/* l1_distance */
	RV_KERNEL_F32_SPHERICAL,	/* vector_spherical_distance */
	RV_KERNEL_F32_CHORD,		/* |a - b| of unit vectors, from their dot */
	RV_KERNEL_F16_L2SQ,
	RV_KERNEL_F16_L2,
	RV_KERNEL_F16_NEGDOT,
	RV_KERNEL_F16_L1,
	RV_KERNEL_F16_SPHERICAL,
	RV_KERNEL_F16_CHORD,
	RV_KERNEL_BIT_HAMMING,		/* hamming_distance */
	RV_KERNEL_BIT_JACCARD		/* jaccard_distance */
} RvIndexKernel;

/* What the elements of an indexed value are, for the kernel lookup */
typedef enum RvElemType
{
	RV_ELEM_F32,				/* vector */
	RV_ELEM_F16,				/* halfvec */
	RV_ELEM_BIT,				/* bit */
	RV_ELEM_OTHER				/* sparsevec: no kernel */
} RvElemType;

extern RvIndexKernel rv_index_kernel_for(FmgrInfo *proc, RvElemType elem);
extern const char *rv_index_kernel_name(RvIndexKernel kernel);
extern int	rv_index_kernel_code_metric(RvIndexKernel kernel);

/* The planner's price of one distance between two values of an index */
extern double rv_index_distance_cost(Relation index);

/*
 * The cases of one float element type (T: F32 or F16, t: f32 or f16), the
 * same for both, so the two stay alike.
 */
#define RV_FLOAT_KERNEL_CASES(T, t) \
		case RV_KERNEL_##T##_L2SQ: \
			return (double) rv_kernels->t##_l2sq(x, y, n); \
		case RV_KERNEL_##T##_L2: \
			return sqrt((double) rv_kernels->t##_l2sq(x, y, n)); \
		case RV_KERNEL_##T##_NEGDOT: \
			return (double) -rv_kernels->t##_dot(x, y, n); \
		case RV_KERNEL_##T##_L1: \
			return (double) rv_kernels->t##_l1(x, y, n); \
		case RV_KERNEL_##T##_SPHERICAL: \
			dot = (double) rv_kernels->t##_dot(x, y, n); \
			return acos(Max(-1.0, Min(1.0, dot))) / M_PI; \
		case RV_KERNEL_##T##_CHORD: \
			return (double) sqrtf(Max(0.0f, 2.0f - 2.0f * rv_kernels->t##_dot(x, y, n)))

/*
 * A kernel's distance between two arrays of n elements (bytes for bit).
 * Hot: both methods' scans call it once per candidate; inlined.
 */
static inline double
rv_index_kernel_distance(RvIndexKernel kernel, const void *x, const void *y, int n)
{
	double		dot;

	switch (kernel)
	{
			RV_FLOAT_KERNEL_CASES(F32, f32);
			RV_FLOAT_KERNEL_CASES(F16, f16);
		case RV_KERNEL_BIT_HAMMING:
			return (double) rv_kernels->bit_hamming(x, y, (size_t) n);
		case RV_KERNEL_BIT_JACCARD:
			{
				uint64_t	ab;
				uint64_t	aabb;

				rv_kernels->bit_jaccard(x, y, (size_t) n, &ab, &aabb);
				return rv_jaccard_from_counts(ab, aabb);
			}
		case RV_KERNEL_FMGR:
			break;
	}
	Assert(false);				/* callers call the support function */
	return 0;
}

extern void RvIndexamInit(void);
extern void RvOrderByValueInit(void);
extern const char *rv_storage_name(int storage);
extern void rv_build_lock_modes(bool isconcurrent, LOCKMODE *heapmode, LOCKMODE *indexmode);
extern char *rv_relation_name_or_error(Oid relid);
extern Buffer rv_index_new_buffer(Relation index, ForkNumber forkNum);
extern void rv_index_init_page(Page page, Size pageSize, uint16 pageId);
extern void rv_index_encode_code(int storage, const float *x, int dimensions, char *code,
								 const char *amname);
extern Relation rv_index_open_for_function(Oid indexoid, const char *func, bool ownerOnly,
										   LOCKMODE indexmode, ambuild_function ambuild,
										   const char *amname);
extern char *rv_opclass_name(Relation index);
extern void rv_check_compact_storage(Relation index, IndexInfo *indexInfo, int storage,
									 bool hasCodeMetric, bool isHalfvec);

#endif							/* RV_INDEXAM_H */
