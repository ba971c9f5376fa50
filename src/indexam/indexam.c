/*-------------------------------------------------------------------------
 *
 * indexam.c
 *	  Settings shared by RuVector's index methods, registered once from
 *	  _PG_init before either method's own.
 *
 * IDENTIFICATION
 *	  src/indexam/indexam.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "indexam/indexam.h"

int			rv_rerank_factor = RV_DEFAULT_RERANK_FACTOR;

void
rv_indexam_init(void)
{
	DefineCustomIntVariable("ruvector.rerank_factor",
							"Sets how many more candidates scans of compact indexes re-rank",
							"An index with storage other than float32 gathers this many times "
							"the candidates it would otherwise return (hnsw: hnsw.ef_search "
							"times this) by code distance, and re-ranks them all with exact "
							"distances read from the table.",
							&rv_rerank_factor, RV_DEFAULT_RERANK_FACTOR,
							1, RV_MAX_RERANK_FACTOR,
							PGC_USERSET, 0, NULL, NULL, NULL);
}
