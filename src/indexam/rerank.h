/*-------------------------------------------------------------------------
 *
 * rerank.h
 *	  Exact re-ranking of compact-code candidates, shared by the hnsw and
 *	  ivfflat scans (rerank.c).
 *
 * NOTES
 *	  A scan of compact storage (float16, sq8, binary) ranks codes, whose
 *	  distances are neither exact nor lower bounds.  Both methods gather a
 *	  batch of heap TIDs by code distance, fetch each row through the table
 *	  AM with the scan's snapshot, compute its exact distance with a
 *	  callback of the method, and return the batch in exact order.
 *
 *	  One order for every ranked row: distance ascending with NaN after
 *	  every number (as float8's btree order puts it, so an index scan and a
 *	  sort agree), then heap TID.  A NaN distance arises from values whose
 *	  products overflow (inner product of +/-3e38 components); comparing
 *	  with '<' alone is no total order once one appears, and qsort may then
 *	  put it anywhere.  Distances are kept as double, the precision of the
 *	  SQL distance functions.
 *
 *	  Before fetching a batch a scan lists its rows (rv_rerank_want) and
 *	  asks for their table blocks all at once (rv_rerank_prefetch, through
 *	  src/io: io_uring or PrefetchBuffer), so that a table out of memory
 *	  costs overlapping reads instead of one random read per candidate.
 *
 * IDENTIFICATION
 *	  src/indexam/rerank.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_RERANK_H
#define RV_RERANK_H

#include <math.h>

#include "access/genam.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

/* A heap TID with its exact distance */
typedef struct RvRanked
{
	double		distance;
	ItemPointerData tid;
} RvRanked;

/*
 * The exact distance of one fetched value (the table column's datum, maybe
 * toasted), or false to leave the row out (e.g. a zero vector under
 * cosine).  Runs in a short-lived context reset after every row.
 */
typedef bool (*RvRerankDistance) (void *arg, Datum value, double *distance);

typedef struct RvRerank
{
	const char *amname;			/* for messages */
	AttrNumber	attnum;			/* the indexed table column */
	RvRerankDistance distance;
	void	   *arg;
	MemoryContext scanCtx;		/* lifetime of the scan */
	MemoryContext rowCtx;		/* one fetched row */
	IndexFetchTableData *fetch; /* opened on the first fetch */
	TupleTableSlot *slot;
	RvRanked   *ranked;			/* current batch, exact order once sorted */
	int			nranked;
	int			maxranked;
	int			pos;			/* next to return */
	ItemPointerData *want;		/* rows about to be fetched (rv_rerank_want) */
	int			nwant;
	int			maxwant;
} RvRerank;

/* Distance order with NaN after every number */
static inline bool
rv_distance_less(double a, double b)
{
	return a < b || (isnan(b) && !isnan(a));
}

/* The order of ranked rows: distance (NaN last), then heap TID */
static inline int
rv_rank_compare(double da, ItemPointer ta, double db, ItemPointer tb)
{
	if (rv_distance_less(da, db))
		return -1;
	if (rv_distance_less(db, da))
		return 1;
	return ItemPointerCompare(ta, tb);
}

extern void rv_rerank_init(RvRerank *rr, Relation index, const char *amname,
						   RvRerankDistance distance, void *arg);
extern bool rv_rerank_fetch(RvRerank *rr, IndexScanDesc scan, ItemPointer tid,
							double *distance);
extern void rv_rerank_want(RvRerank *rr, ItemPointer tid);
extern void rv_rerank_prefetch(RvRerank *rr, IndexScanDesc scan);
extern void rv_rerank_reset(RvRerank *rr);
extern void rv_rerank_add(RvRerank *rr, ItemPointer tid, double distance);
extern void rv_rerank_sort(RvRerank *rr);
extern bool rv_rerank_next(RvRerank *rr, ItemPointer tid);
extern void rv_rerank_end(RvRerank *rr);

#endif							/* RV_RERANK_H */
