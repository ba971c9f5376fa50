/*-------------------------------------------------------------------------
 *
 * shard.h
 *	  Sharded vector tables on PostgreSQL's own parts: a hash-partitioned
 *	  parent whose partitions are postgres_fdw foreign tables on the shard
 *	  servers.  This subsystem makes the nearest-neighbour query on such a
 *	  parent cheap and exact (shard_plan.c) and creates the layout
 *	  (shard_create.c).
 *
 * NOTES
 *	  Nothing here is a cluster of its own: routing of inserts, remote
 *	  transactions, connections and user mappings are postgres_fdw's; the
 *	  replicas are streaming standbys of each shard.  See docs/sharding.md.
 *
 *	  Lock order: the planner hook takes AccessShareLock on the parent and
 *	  then on every partition (find_all_inheritors order), as planning the
 *	  partitioned query would.
 *
 * IDENTIFICATION
 *	  src/shard/shard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_SHARD_H
#define RV_SHARD_H

#include "postgres.h"

/* Settings (shard_plan.c) */
extern bool rv_shard_pushdown;
extern bool rv_shard_partial_results;

/* shard_plan.c: GUCs and the planner hook, from _PG_init */
extern void RvShardInit(void);

#endif							/* RV_SHARD_H */
