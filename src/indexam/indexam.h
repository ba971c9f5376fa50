/*-------------------------------------------------------------------------
 *
 * indexam.h
 *	  What RuVector's index methods (hnsw, ivfflat) share: the setting that
 *	  says how many candidates a scan of a compact-code index re-ranks with
 *	  exact distances.
 *
 * IDENTIFICATION
 *	  src/indexam/indexam.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_INDEXAM_H
#define RV_INDEXAM_H

#define RV_DEFAULT_RERANK_FACTOR	2
#define RV_MAX_RERANK_FACTOR		100

/* ruvector.rerank_factor */
extern int	rv_rerank_factor;

extern void rv_indexam_init(void);

#endif							/* RV_INDEXAM_H */
