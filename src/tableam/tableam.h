/*-------------------------------------------------------------------------
 *
 * tableam.h
 *	  The ruvector_heap table access method: heap, with vector columns kept
 *	  inline and moved between tier encodings in place.
 *
 * NOTES
 *	  Tuples of ruvector_heap are heap tuples.  A tuple that holds at least
 *	  one encoded vector (tier.h) carries RV_HEAP_ENCODED in t_infomask2, a
 *	  bit heap leaves free ("bits 0x1800 are available", htup_details.h) and
 *	  preserves: heap code changes t_infomask2 only through masks of its own
 *	  bits.  Scans test that bit on every tuple they return - the whole cost
 *	  of tiering on hot pages - and only a set bit sends the tuple through
 *	  the decoder, which hands the executor a materialized copy with plain
 *	  float32 vectors.
 *
 *	  Writers of encoded tuples set the bit: tier moves (rvheap_compact.c)
 *	  and the VACUUM FULL / CLUSTER rewrite, which copies tuples in their
 *	  tier form through heapam and then marks them (rvheap_handler.c).
 *
 * IDENTIFICATION
 *	  src/tableam/tableam.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_TABLEAM_H
#define RV_TABLEAM_H

#include "postgres.h"

#include "access/htup_details.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/rel.h"

/* t_infomask2 bit: the tuple holds at least one encoded vector. */
#define RV_HEAP_ENCODED			0x0800

StaticAssertDecl((RV_HEAP_ENCODED & (HEAP_NATTS_MASK | HEAP2_XACT_MASK)) == 0,
				 "RV_HEAP_ENCODED must be a bit heap leaves free");

/* Vector-typed attributes of a relation, cached in rd_amcache. */
typedef struct RvRelInfoData
{
	int			nvector;		/* attributes of type vector (tiered) */
	int			ninline;		/* vector/halfvec attributes whose storage
								 * would let heap move them out of line */
	AttrNumber	atts[FLEXIBLE_ARRAY_MEMBER];	/* nvector, then ninline */
} RvRelInfoData;

typedef RvRelInfoData *RvRelInfo;

#define RvRelInfoVector(info, i)	((info)->atts[(i)])
#define RvRelInfoInline(info, i)	((info)->atts[(info)->nvector + (i)])

/* rvheap_handler.c */
extern const TableAmRoutine *RvHeapRoutine(void);
extern bool RvIsRuvectorHeap(Relation rel);
extern void RvHeapCheckRelation(Relation rel, const char *what);
extern Relation RvHeapOpenChecked(Oid relid, LOCKMODE lockmode, const char *what,
								  bool owner);

/* rvheap_compact.c */
extern void RvCompactInit(void);

/* rvheap_decode.c */
extern Oid	RvVectorTypeOid(void);
extern Oid	RvHalfvecTypeOid(void);
extern void RvTypeCacheInit(void);
extern RvRelInfo RvGetRelInfo(Relation rel);
extern void RvHeapDecodeSlot(Relation rel, TupleTableSlot *slot);
extern HeapTuple RvHeapTupleRebuild(HeapTuple src, TupleDesc desc,
									Datum *values, bool *isnull,
									bool encoded);
extern bool RvHeapTupleHasEncoded(Relation rel, RvRelInfo info, HeapTuple tup);

/*
 * Decode the tuple in a buffer-heap slot if it holds encoded vectors.  The
 * test is one load and branch on a header already in cache.
 */
static inline void
RvHeapCheckSlot(Relation rel, TupleTableSlot *slot)
{
	HeapTuple	tup = ((BufferHeapTupleTableSlot *) slot)->base.tuple;

	if (unlikely(tup != NULL && (tup->t_data->t_infomask2 & RV_HEAP_ENCODED)))
		RvHeapDecodeSlot(rel, slot);
}

/* One entry point for _PG_init: GUCs, shared memory, WAL resource manager. */
extern void RvTableamInit(void);

#endif							/* RV_TABLEAM_H */
