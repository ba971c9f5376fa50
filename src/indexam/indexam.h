/*-------------------------------------------------------------------------
 *
 * indexam.h
 *	  What RuVector's index methods (hnsw, ivfflat) share about compact
 *	  storage: the values of the storage reloption, the refusals of storage
 *	  an index cannot take, and the setting that says how many candidates a
 *	  scan re-ranks with exact distances.
 *
 * IDENTIFICATION
 *	  src/indexam/indexam.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_INDEXAM_H
#define RV_INDEXAM_H

#include "access/reloptions.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

#define RV_DEFAULT_RERANK_FACTOR	2
#define RV_MAX_RERANK_FACTOR		100

/* ruvector.rerank_factor */
extern int	rv_rerank_factor;

/* Values of the storage reloption (RvCodeKind), for add_enum_reloption */
extern relopt_enum_elt_def rv_storage_options[];

extern void RvIndexamInit(void);
extern const char *rv_storage_name(int storage);
extern char *rv_opclass_name(Relation index);
extern void rv_check_compact_storage(Relation index, IndexInfo *indexInfo, int storage,
									 bool hasCodeMetric, bool isHalfvec);

#endif							/* RV_INDEXAM_H */
