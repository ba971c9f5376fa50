/*-------------------------------------------------------------------------
 *
 * shard.h
 *	  Sharded vector tables on PostgreSQL's own parts: a hash-partitioned
 *	  parent whose partitions are postgres_fdw foreign tables on the shard
 *	  servers.  This subsystem makes the nearest-neighbour query on such a
 *	  parent cheap and exact (shard_plan.c, and its direct path over libpq
 *	  in shard_direct.c, whose plans shard_cache.c keeps for text queries)
 *	  and creates the layout (shard_create.c).
 *
 * NOTES
 *	  Nothing here is a cluster of its own: routing of inserts, remote
 *	  transactions and user mappings are postgres_fdw's (the direct path
 *	  keeps its own connections, under postgres_fdw's rules, for reads
 *	  outside transaction blocks); the replicas are streaming standbys of
 *	  each shard.  See docs/sharding.md.
 *
 *	  Lock order: the planner hook takes AccessShareLock on the parent and
 *	  then on every partition (partition bound order, depth first), as
 *	  planning the partitioned query would.
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

/* shard_conn.c: libpq to a shard server from its foreign server options */
struct pg_conn;
struct ForeignServer;
extern bool RvShardServerAnswers(struct ForeignServer *server);
extern struct pg_conn *RvShardConnect(struct ForeignServer *server);
extern void RvShardExec(struct pg_conn *conn, struct ForeignServer *server,
						const char *sql);
struct pg_result;
extern void RvShardReportError(int elevel, struct pg_result *res,
							   struct pg_conn *conn, struct ForeignServer *server,
							   const char *sql);

/* shard_conn.c: the direct path's connection cache, one per user mapping */
typedef struct RvShardConn RvShardConn;
extern RvShardConn *RvShardConnAcquire(struct ForeignServer *server, Oid userid);
extern bool RvShardConnIsOpen(struct ForeignServer *server, Oid userid);
extern struct pg_conn *RvShardConnPg(RvShardConn *c);
struct WaitEventSet;
extern struct WaitEventSet *RvShardConnWaitSet(RvShardConn *c);
extern bool RvShardConnFresh(RvShardConn *c);
extern bool RvShardConnBusy(RvShardConn *c);
extern void RvShardConnSetBusy(RvShardConn *c, bool busy);
extern void RvShardConnReset(RvShardConn *c);
extern const char *RvShardConnPrepare(RvShardConn *c, struct ForeignServer *server,
									  const char *sql);

/* shard_direct.c: the CustomScan of the direct path */
struct PlannerInfo;
struct RelOptInfo;
struct RangeTblEntry;
extern bool rv_shard_direct;
extern void RvShardDirectInit(void);
extern void RvShardDirectPath(struct PlannerInfo *root, struct RelOptInfo *rel,
							  struct RangeTblEntry *rte);
struct Query;
struct Bitmapset;
extern struct Query *RvShardDirectRewrite(struct Query *top, struct Bitmapset *used);
extern bool RvShardIsDirectPlaceholder(struct Query *q);
extern void RvShardDirectReset(void);
struct PlannedStmt;
struct Const;
extern bool RvShardDirectInPlan(struct PlannedStmt *plan);
extern void RvShardDirectSwapValue(struct PlannedStmt *plan, struct Const *from,
								   struct Const *to, bool cached);

/* shard_cache.c: the direct path's plans of text queries, per session */
extern bool rv_shard_plan_cache;
extern Node *RvShardSwapConst(Node *tree, struct Const *from, struct Const *to,
							  int *count);
extern struct Query *RvShardCacheKey(struct Query *parse, struct Const *value);
extern struct PlannedStmt *RvShardCacheLookup(struct Query *key, struct Const *value,
											  struct Query *parse, int cursor_options);
extern void RvShardCacheStore(struct Query *key, struct Const *value,
							  int cursor_options, struct PlannedStmt *plan);

#endif							/* RV_SHARD_H */
