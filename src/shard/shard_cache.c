/*-------------------------------------------------------------------------
 *
 * shard_cache.c
 *	  A per-session cache of the direct path's plans for the top-level
 *	  sharded top-k statement, keyed by the query with its query vector
 *	  taken out: a client sending
 *
 *		SELECT id FROM items ORDER BY v <-> '[...]' LIMIT 10
 *
 *	  as text, a new vector each time, gets the plan of the first one with
 *	  the new vector put in, instead of a rewrite and a planning per query.
 *
 * NOTES
 *	  Used only when the statement is parsed from text (no bound
 *	  parameters: prepared statements have PostgreSQL's plan cache), the
 *	  query vector is a constant that appears exactly once in the query,
 *	  and the plan is the direct path's (a CustomScan RuVectorShardTopK).
 *	  The key is the analysed query with that constant replaced by a NULL
 *	  of its type and its stmt_location/stmt_len cleared (equal() ignores
 *	  token locations but, in PG15, compares those two: the vector's text
 *	  length would make every key differ), the current user and the cursor
 *	  options, and the search_path and row_security the plan was made
 *	  with.  The plan is stored only if the constant is found
 *	  nowhere in it but where the direct path put it (the CustomScan's
 *	  values and its postgres_fdw fallback query), checked on its
 *	  nodeToString: so swapping the constant there is the whole
 *	  difference between the cached plan and a new planning.
 *
 *	  What else a plan depends on, as PostgreSQL's plan cache sees it
 *	  (plancache.c: the search_path, and the role and row_security the
 *	  query was rewritten with): the key is the query after parse analysis
 *	  and rewriting, so the names it resolved, its RLS quals and
 *	  hasRowSecurity (set for any table with RLS enabled, so such a query
 *	  is never rewritten here nor cached) are compared already.  But
 *	  planning also inlines SQL functions, whose bodies are parsed with the
 *	  search_path of that moment: a plan is served only under the
 *	  search_path it was made with (an unchanged path is one generation
 *	  number compare).  row_security is keyed too, as plancache does, so a
 *	  later shape that let RLS through would still not cross it.
 *
 *	  Invalidation: a relcache invalidation of any relation of the plan
 *	  (relationOids: the parent and the partitions), and any change of a
 *	  foreign server, wrapper, user mapping, foreign table, function,
 *	  operator, type or schema, marks entries stale.  A lookup locks the
 *	  plan's relations first (which processes pending invalidations), then
 *	  checks the entry, as PostgreSQL's plan cache does before reusing a
 *	  generic plan.  Other planner hooks (pg_stat_statements) are not
 *	  called for a plan taken from here.  ruvector.shard_plan_cache = off
 *	  turns it off.
 *
 *	  Lock order: AccessShareLock on the plan's relations in relationOids
 *	  order (the parent first, then the partitions), as planning did.
 *
 * IDENTIFICATION
 *	  src/shard/shard_cache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "shard/shard.h"

bool		rv_shard_plan_cache = true;

#define RV_SHARD_CACHE_MAX 16

typedef struct RvShardCachedPlan
{
	MemoryContext cxt;
	Query	   *key;			/* the query, its vector a NULL Const */
	Oid			userid;
	int			cursor_options;
	bool		row_security;	/* the GUC when planned */
	OverrideSearchPath *search_path;	/* the search_path when planned */
	Const	   *value;			/* the vector the plan was made with */
	PlannedStmt *plan;
	bool		valid;
} RvShardCachedPlan;

static RvShardCachedPlan *rv_shard_cache[RV_SHARD_CACHE_MAX];
static int	rv_shard_cache_next = 0;	/* round-robin replacement */
static bool rv_shard_cache_callbacks = false;

/* ---- swapping and counting a constant in a tree ---- */

typedef struct RvShardSwap
{
	Const	   *from;
	Const	   *to;
	int			count;
} RvShardSwap;

static Node *
RvShardSwapMutator(Node *n, RvShardSwap *ctx)
{
	if (n == NULL)
		return NULL;
	if (IsA(n, Const) && equal(n, ctx->from))
	{
		ctx->count++;
		return (Node *) copyObject(ctx->to);
	}
	if (IsA(n, Query))
		return (Node *) query_tree_mutator((Query *) n, RvShardSwapMutator, ctx, 0);
	return expression_tree_mutator(n, RvShardSwapMutator, ctx);
}

/* A copy of tree (an expression, a list of them or a Query) with from -> to */
Node *
RvShardSwapConst(Node *tree, Const *from, Const *to, int *count)
{
	RvShardSwap ctx = {from, to, 0};
	Node	   *out = RvShardSwapMutator(tree, &ctx);

	if (count)
		*count = ctx.count;
	return out;
}

/* ---- invalidation ---- */

static void
RvShardCacheInvalAll(Datum arg, int cacheid, uint32 hashvalue)
{
	for (int i = 0; i < RV_SHARD_CACHE_MAX; i++)
		if (rv_shard_cache[i])
			rv_shard_cache[i]->valid = false;
}

static void
RvShardCacheInvalRel(Datum arg, Oid relid)
{
	for (int i = 0; i < RV_SHARD_CACHE_MAX; i++)
	{
		RvShardCachedPlan *e = rv_shard_cache[i];

		if (e && (!OidIsValid(relid) || list_member_oid(e->plan->relationOids, relid)))
			e->valid = false;
	}
}

static void
RvShardCacheRegister(void)
{
	static const int caches[] = {FOREIGNSERVEROID, FOREIGNDATAWRAPPEROID,
		USERMAPPINGOID, FOREIGNTABLEREL, PROCOID, OPEROID, TYPEOID, NAMESPACEOID};

	if (rv_shard_cache_callbacks)
		return;
	CacheRegisterRelcacheCallback(RvShardCacheInvalRel, (Datum) 0);
	for (int i = 0; i < lengthof(caches); i++)
		CacheRegisterSyscacheCallback(caches[i], RvShardCacheInvalAll, (Datum) 0);
	rv_shard_cache_callbacks = true;
}

static void
RvShardCacheDrop(int i)
{
	if (rv_shard_cache[i])
		MemoryContextDelete(rv_shard_cache[i]->cxt);
	rv_shard_cache[i] = NULL;
}

/* ---- lookup and store ---- */

/*
 * The cache key of a parsed query whose query vector is the constant
 * value: the query with value replaced by a NULL of its type, or NULL if
 * value appears more than once (then swapping it back would be ambiguous).
 */
Query *
RvShardCacheKey(Query *parse, Const *value)
{
	Const	   *marker = makeNullConst(value->consttype, value->consttypmod,
									   value->constcollid);
	int			count;
	Query	   *key;

	if (!rv_shard_plan_cache || value->constisnull)
		return NULL;
	key = (Query *) RvShardSwapConst((Node *) parse, value, marker, &count);
	if (count != 1)
		return NULL;
	/* where the statement sits in the client's string: not the query */
	key->stmt_location = -1;
	key->stmt_len = 0;
	return key;
}

/* The cached plan for key with value put in, or NULL */
PlannedStmt *
RvShardCacheLookup(Query *key, Const *value, Query *parse, int cursor_options)
{
	Oid			userid = GetUserId();

	for (int i = 0; i < RV_SHARD_CACHE_MAX; i++)
	{
		RvShardCachedPlan *e = rv_shard_cache[i];
		PlannedStmt *plan;
		ListCell   *lc;

		if (e == NULL || !e->valid || e->userid != userid ||
			e->cursor_options != cursor_options || e->row_security != row_security ||
			!OverrideSearchPathMatchesCurrent(e->search_path) || !equal(e->key, key))
			continue;
		/* lock as planning would; this takes in pending invalidations */
		foreach(lc, e->plan->relationOids)
			LockRelationOid(lfirst_oid(lc), AccessShareLock);
		if (!e->valid)
		{
			RvShardCacheDrop(i);
			return NULL;
		}
		plan = copyObject(e->plan);
		RvShardDirectSwapValue(plan, e->value, value, true);
		plan->queryId = parse->queryId;
		plan->stmt_location = parse->stmt_location;
		plan->stmt_len = parse->stmt_len;
		return plan;
	}
	return NULL;
}

/*
 * Keep plan for key if it is the direct path's and value is nowhere else
 * in it (file header).
 */
void
RvShardCacheStore(Query *key, Const *value, int cursor_options, PlannedStmt *plan)
{
	Const	   *marker = makeNullConst(value->consttype, value->consttypmod,
									   value->constcollid);
	PlannedStmt *probe;
	char	   *text,
			   *datum;
	RvShardCachedPlan *e;
	MemoryContext cxt,
				old;

	if (!RvShardDirectInPlan(plan))
		return;
	probe = copyObject(plan);
	RvShardDirectSwapValue(probe, value, marker, false);
	text = nodeToString(probe);
	datum = strstr(nodeToString(value), ":constvalue ");
	if (datum == NULL || strstr(text, datum + strlen(":constvalue ")) != NULL)
		return;

	RvShardCacheRegister();
	for (int i = 0; i < RV_SHARD_CACHE_MAX; i++)
		if (rv_shard_cache[i] && !rv_shard_cache[i]->valid)
			RvShardCacheDrop(i);
	cxt = AllocSetContextCreate(CacheMemoryContext, "ruvector shard plan",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	e = palloc0(sizeof(RvShardCachedPlan));
	e->cxt = cxt;
	e->key = copyObject(key);
	e->userid = GetUserId();
	e->cursor_options = cursor_options;
	e->row_security = row_security;
	e->search_path = GetOverrideSearchPath(cxt);
	e->value = copyObject(value);
	e->plan = copyObject(plan);
	e->valid = true;
	MemoryContextSwitchTo(old);
	RvShardCacheDrop(rv_shard_cache_next);
	rv_shard_cache[rv_shard_cache_next] = e;
	rv_shard_cache_next = (rv_shard_cache_next + 1) % RV_SHARD_CACHE_MAX;
}
