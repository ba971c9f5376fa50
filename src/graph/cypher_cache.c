/*
 * cypher_cache.c — a per-backend cache of the plans of Cypher queries'
 * final reading statements, and the cursor that runs them.
 *
 * NOTES
 *	The translator gives the final statement with its property-map and
 *	WHERE-equality constants as parameters (cypher_plan.c, FinishConsts), so
 *	that MATCH (p:Person {id: 1}) and {id: 2}, or WHERE p.id = 1 and = 2,
 *	share one statement text.  Planning
 *	is most of the cost of a short Cypher query, and PostgreSQL's own plan
 *	cache does not fit: its generic plan is costed without the values, and a
 *	containment test on an unknown value is estimated at 1% of the nodes,
 *	which turns traversals into hash joins over whole tables.  So the plan
 *	is made with the first values visible to the estimates only (parameters
 *	bound without PARAM_FLAG_CONST: the planner estimates with them and keeps
 *	them as parameters), and then reused for other values of the same
 *	statement.  Every RVG_PLAN_REUSE uses it is made again with the values
 *	of the moment, so that a first value of unusual selectivity does not
 *	decide for ever.
 *
 *	The key is the statement text, the parameter types, the user and the
 *	search_path.  Any relcache invalidation (DDL, ANALYZE, the graph
 *	catalog triggers) and any change to functions, operators or types
 *	empties the cache, as PostgreSQL's plan cache would replan.  A cached
 *	plan's relations are locked as the planner would lock them before the
 *	plan is used, and if that lock brings an invalidation the plan is made
 *	again.  The portal runs the cached plan itself (the executor does not
 *	write to plans: PostgreSQL's own plan cache shares them alike), pinned
 *	until the caller releases it (RvgCachedCursorRelease): an entry emptied
 *	from the cache while pinned is kept aside and freed at its last release,
 *	or at the end of the transaction when an error skipped the release.
 *
 *	Lock order: none of its own; the relations of a plan in range-table
 *	order, as the executor would take them.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "graph/cypher_plan.h"

#define RVG_PLAN_CACHE_SIZE 64
#define RVG_PLAN_REUSE		1000

typedef struct PlanEntry
{
	MemoryContext cxt;			/* holds the entry */
	char	   *key;
	PlannedStmt *stmt;
	int			uses;
	int			pins;			/* portals running stmt now */
} PlanEntry;

bool		rvg_plan_cache_enabled = true;

static MemoryContext plan_cxt = NULL;
static List *plans = NIL;		/* PlanEntry *, oldest first */
static List *retired = NIL;		/* PlanEntry * out of the cache but pinned */
static uint64 plan_generation = 0;

/* Defines ruvector.cypher_plan_cache (from _PG_init). */
void
RvGraphInit(void)
{
	DefineCustomBoolVariable("ruvector.cypher_plan_cache",
							 "Reuses the plans of Cypher queries that differ only in property-map values.",
							 "Off: every Cypher query is planned with its own values.",
							 &rvg_plan_cache_enabled, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/* Frees e, or keeps it aside while a portal runs its plan. */
static void
PlanRetire(PlanEntry *e)
{
	MemoryContext old;

	if (e->pins == 0)
	{
		MemoryContextDelete(e->cxt);
		return;
	}
	old = MemoryContextSwitchTo(plan_cxt);
	retired = lappend(retired, e);
	MemoryContextSwitchTo(old);
}

static void
PlanCacheReset(Datum arg, Oid relid)
{
	List	   *old = plans;
	ListCell   *lc;

	plan_generation++;
	plans = NIL;
	foreach(lc, old)
		PlanRetire(lfirst(lc));
	list_free(old);
}

/*
 * At the end of the transaction no portal of it runs any more: pins left
 * by an error are void, and the entries kept aside for them are freed.
 */
static void
PlanCacheXactEnd(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	foreach(lc, plans)
		((PlanEntry *) lfirst(lc))->pins = 0;
	foreach(lc, retired)
		MemoryContextDelete(((PlanEntry *) lfirst(lc))->cxt);
	list_free(retired);
	retired = NIL;
}

static void
PlanCacheResetSyscache(Datum arg, int cacheid, uint32 hashvalue)
{
	PlanCacheReset(arg, InvalidOid);
}

static void
PlanCacheInit(void)
{
	if (plan_cxt != NULL)
		return;
	plan_cxt = AllocSetContextCreate(CacheMemoryContext, "ruvector Cypher plans",
									 ALLOCSET_DEFAULT_SIZES);
	CacheRegisterRelcacheCallback(PlanCacheReset, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, PlanCacheResetSyscache, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, PlanCacheResetSyscache, (Datum) 0);
	CacheRegisterSyscacheCallback(OPEROID, PlanCacheResetSyscache, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, PlanCacheResetSyscache, (Datum) 0);
	RegisterXactCallback(PlanCacheXactEnd, NULL);
}

static char *
PlanKey(const char *sql, int nparams, Oid *types)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%u|%s|", GetUserId(), namespace_search_path);
	for (int i = 0; i < nparams; i++)
		appendStringInfo(&buf, "%u,", types[i]);
	appendStringInfo(&buf, "|%s", sql);
	return buf.data;
}

static PlanEntry *
PlanLookup(const char *key)
{
	ListCell   *lc;

	foreach(lc, plans)
	{
		PlanEntry  *e = lfirst(lc);

		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* Keeps a copy of stmt under key, replacing an older plan of the key. */
static void
PlanStore(const char *key, PlannedStmt *stmt)
{
	MemoryContext old;
	MemoryContext cxt;
	PlanEntry  *e = PlanLookup(key);

	if (e == NULL && list_length(plans) >= RVG_PLAN_CACHE_SIZE)
		e = linitial(plans);	/* the oldest makes room */
	if (e != NULL)
	{
		plans = list_delete_ptr(plans, e);
		PlanRetire(e);
	}
	cxt = AllocSetContextCreate(plan_cxt, "ruvector Cypher plan", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	e = palloc(sizeof(PlanEntry));
	e->cxt = cxt;
	e->key = pstrdup(key);
	e->stmt = copyObject(stmt);
	e->uses = 0;
	e->pins = 0;
	MemoryContextSwitchTo(plan_cxt);
	plans = lappend(plans, e);
	MemoryContextSwitchTo(old);
}

/* Plans sql with the parameter values visible to the estimates only. */
static PlannedStmt *
PlanFresh(const char *sql, int nparams, Oid *types, ParamListInfo peek)
{
	List	   *raw = pg_parse_query(sql);
	List	   *queries;

	if (list_length(raw) != 1)
		elog(ERROR, "translated Cypher is not one statement");
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), sql,
												 types, nparams, NULL);
	if (list_length(queries) != 1 || linitial_node(Query, queries)->commandType != CMD_SELECT)
		elog(ERROR, "translated Cypher is not one SELECT");
	for (int i = 0; i < nparams; i++)
		peek->params[i].pflags = 0;
	return pg_plan_query(linitial_node(Query, queries), sql, CURSOR_OPT_NO_SCROLL, peek);
}

/* Takes the locks the planner took when it made stmt. */
static void
LockPlanRelations(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION)
			LockRelationOid(rte->relid, rte->rellockmode);
	}
}

/* Unpins what RvgCachedCursor pinned (NULL: nothing), after the portal closed. */
void
RvgCachedCursorRelease(void *pin)
{
	PlanEntry  *e = pin;

	if (e == NULL || e->pins == 0)
		return;					/* or voided by the end of a transaction */
	if (--e->pins == 0 && list_member_ptr(retired, e))
	{
		retired = list_delete_ptr(retired, e);
		MemoryContextDelete(e->cxt);
	}
}

/*
 * Opens a cursor on the reading statement sql with the given parameters
 * (nulls as for SPI: 'n' for null), through a cached plan when there is
 * one.  The caller is connected to SPI, runs the portal, closes it with
 * SPI_cursor_close and then calls RvgCachedCursorRelease(*pin).
 */
Portal
RvgCachedCursor(const char *sql, int nparams, Oid *types, Datum *values, const char *nulls,
				void **pin)
{
	ParamListInfo params = makeParamList(nparams);
	char	   *key = PlanKey(sql, nparams, types);
	PlannedStmt *stmt = NULL;
	PlanEntry  *e;
	Portal		portal;
	MemoryContext old;

	*pin = NULL;
	PlanCacheInit();
	for (int i = 0; i < nparams; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls != NULL && nulls[i] == 'n';
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	portal = CreateNewPortal();
	portal->visible = false;
	portal->cursorOptions = CURSOR_OPT_NO_SCROLL;
	e = rvg_plan_cache_enabled ? PlanLookup(key) : NULL;
	if (e != NULL && e->uses < RVG_PLAN_REUSE)
	{
		uint64		generation = plan_generation;

		e->uses++;
		/* pinned before the locks, whose invalidations may empty the cache */
		e->pins++;
		stmt = e->stmt;
		LockPlanRelations(stmt);
		if (generation != plan_generation)
		{
			RvgCachedCursorRelease(e);	/* invalidated meanwhile: plan again */
			stmt = NULL;
		}
		else
		{
			*pin = e;
			ereport(DEBUG1, (errmsg_internal("Cypher: the cached plan is reused")));
		}
	}
	if (stmt == NULL)
	{
		uint64		generation = plan_generation;

		old = MemoryContextSwitchTo(portal->portalContext);
		stmt = PlanFresh(sql, nparams, types, params);
		MemoryContextSwitchTo(old);
		if (generation == plan_generation && rvg_plan_cache_enabled)
			PlanStore(key, stmt);
	}
	for (int i = 0; i < nparams; i++)
		params->params[i].pflags = PARAM_FLAG_CONST;

	old = MemoryContextSwitchTo(portal->portalContext);
	PortalDefineQuery(portal, NULL, pstrdup(sql), CMDTAG_SELECT, list_make1(stmt), NULL);
	MemoryContextSwitchTo(old);
	/* as SPI does for a cursor that is not read-only: see earlier steps */
	CommandCounterIncrement();
	PortalStart(portal, params, 0, GetTransactionSnapshot());
	return portal;
}

/*
 * The text of a one-row expression without variables (SKIP, LIMIT), at
 * translation time; NULL for null.
 */
char *
RvgEvalText(const char *sql)
{
	bool		isnull;
	Datum		d;
	char	   *value;

	if (SPI_execute(psprintf("SELECT (%s)::pg_catalog.text", sql), true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not compute a constant expression");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	value = isnull ? NULL : TextDatumGetCString(d);
	SPI_freetuptable(SPI_tuptable);
	return value;
}
