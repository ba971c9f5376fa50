/*
 * types.h — the vector types' in-memory layout and the macros every other
 * subsystem (index methods, table AM, graph) uses to reach them.
 *
 * The layouts are pgvector's, byte for byte, so a datum written by one is read
 * by the other and the binary wire formats agree:
 *   vector    : varlena header, int16 dim, int16 unused, float4 x[dim]
 *   halfvec   : varlena header, int16 dim, int16 unused, float16 x[dim]
 *   sparsevec : varlena header, int32 dim, int32 nnz, int32 unused,
 *               int32 indices[nnz] (0-based, ascending), float4 values[nnz]
 * The "unused" field of vector is zero in pgvector's format; the tiered table
 * AM uses non-zero values to tag encoded forms that never leave the table.
 */
#ifndef RV_TYPES_H
#define RV_TYPES_H

#include "postgres.h"

#include "fmgr.h"
#include "quant/quant.h"

#define VECTOR_MAX_DIM 16000
#define HALFVEC_MAX_DIM 16000
#define SPARSEVEC_MAX_DIM 1000000000
#define SPARSEVEC_MAX_NNZ 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;
	int16		unused;			/* 0 = plain float4; see tableam for encodings */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

typedef struct HalfVector
{
	int32		vl_len_;
	int16		dim;
	int16		unused;
	rv_half		x[FLEXIBLE_ARRAY_MEMBER];
} HalfVector;

typedef struct SparseVector
{
	int32		vl_len_;
	int32		dim;
	int32		nnz;
	int32		unused;
	int32		indices[FLEXIBLE_ARRAY_MEMBER];
	/* float4 values[nnz] follow the indices */
} SparseVector;

#define VECTOR_SIZE(d)		(offsetof(Vector, x) + sizeof(float) * (Size) (d))
#define HALFVEC_SIZE(d)		(offsetof(HalfVector, x) + sizeof(rv_half) * (Size) (d))
#define SPARSEVEC_SIZE(nnz)	(offsetof(SparseVector, indices) + (sizeof(int32) + sizeof(float)) * (Size) (nnz))
#define SPARSEVEC_VALUES(s)	((float *) ((char *) (s)->indices + sizeof(int32) * (Size) (s)->nnz))

/*
 * Every function reaches a vector argument through these macros.  A non-zero
 * "unused" tags an encoded form of the ruvector_heap table AM (tier.h); such
 * a form that slipped out of a table is decoded by rv_vector_decode_hook or
 * refused with a clear error here, in one place.  The plain form pays one
 * well-predicted branch.
 *
 * The hook keeps types/ free of the codecs (which may read a PQ codebook
 * from the catalog): the tier codecs install it at _PG_init
 * (RvTierInstallDecodeHook, called from RvTableamInit), before any function
 * of the library can run.  Defined in types/encoded.c.
 */
typedef Vector *(*rv_vector_decode_hook_type) (Vector *v);
extern PGDLLIMPORT rv_vector_decode_hook_type rv_vector_decode_hook;
extern HalfVector *rv_halfvec_refuse_encoded(HalfVector *v);

/*
 * RV_DETOAST_DENSE defines fname(Datum), the detoasted Type of a datum whose
 * encoded form (non-zero unused) is handed to on_encoded: the one check
 * every vector and halfvec argument passes, written once for both.
 */
#define RV_DETOAST_DENSE(fname, Type, on_encoded) \
static inline Type * \
fname(Datum d) \
{ \
	Type	   *v = (Type *) PG_DETOAST_DATUM(d); \
\
	if (unlikely(v->unused != 0)) \
		v = on_encoded(v); \
	return v; \
}

RV_DETOAST_DENSE(rv_detoast_vector, Vector, rv_vector_decode_hook)
RV_DETOAST_DENSE(rv_detoast_halfvec, HalfVector, rv_halfvec_refuse_encoded)

#define DatumGetVector(d)			rv_detoast_vector(d)
#define DatumGetHalfVector(d)		rv_detoast_halfvec(d)
#define DatumGetSparseVector(d)		((SparseVector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_VECTOR_P(n)		DatumGetVector(PG_GETARG_DATUM(n))
#define PG_GETARG_HALFVEC_P(n)		DatumGetHalfVector(PG_GETARG_DATUM(n))
#define PG_GETARG_SPARSEVEC_P(n)	DatumGetSparseVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(x)		PG_RETURN_POINTER(x)
#define PG_RETURN_HALFVEC_P(x)		PG_RETURN_POINTER(x)
#define PG_RETURN_SPARSEVEC_P(x)	PG_RETURN_POINTER(x)

/* Allocation (zeroed, header set); defined with each type. */
Vector	   *rv_vector_new(int dim);
HalfVector *rv_halfvec_new(int dim);
SparseVector *rv_sparsevec_new(int dim, int nnz);

/* Jaccard distance of two bit strings from their popcounts (bitvec.c). */
double		rv_jaccard_from_counts(uint64 ab, uint64 aa_plus_bb);

#endif							/* RV_TYPES_H */
