/*-------------------------------------------------------------------------
 *
 * rv_hash.h
 *	  The backend-local hash tables of the extension's caches and searches:
 *	  dynahash keyed by the key's bytes (HASH_BLOBS), allocated in a
 *	  context the caller names — shard connections and shippable-object
 *	  lookups (src/shard), PQ codebooks (src/tier), the reached sets of
 *	  shortest paths (src/graph).
 *
 * NOTES
 *	  HASH_BLOBS compares keys with memcmp, so a key struct must have no
 *	  padding or must be zeroed before it is filled.  The context decides
 *	  the table's lifetime: CacheMemoryContext / TopMemoryContext for
 *	  caches that outlive transactions, a query's own context otherwise.
 *
 * IDENTIFICATION
 *	  src/common/rv_hash.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_HASH_H
#define RV_HASH_H

#include "utils/hsearch.h"
#include "utils/memutils.h"

static inline HTAB *
rv_blob_hash_create(const char *name, long nelem, Size keysize, Size entrysize,
					MemoryContext cxt)
{
	HASHCTL		ctl = {0};

	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

#endif							/* RV_HASH_H */
