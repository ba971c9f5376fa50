/*-------------------------------------------------------------------------
 *
 * orderby_value.c
 *	  Skip the ORDER BY distance the executor computes for nothing in a
 *	  top-k query: SELECT ... ORDER BY v <op> $1 LIMIT k over one of our
 *	  index scans.
 *
 * NOTES
 *	  The planner adds the ORDER BY expression to the scan's target list as
 *	  a resjunk column, so the executor computes v <op> $1 for every row the
 *	  scan returns, through the operator's SQL function, after detoasting
 *	  the row's vector; then the junk filter throws the value away.  The
 *	  index already returned the rows in that order.  On 784-d rows (which
 *	  heap keeps in TOAST) that detoast -- TOAST index descent, TOAST heap
 *	  fetch, locks on both relations -- was 12% of the backend's CPU per
 *	  query (bench/RESULTS.md, "where a query's time goes").
 *
 *	  A planner hook replaces such a column with a NULL constant of the same
 *	  type, only when nothing can read it: the finished plan is, from its
 *	  top, zero or more Limit nodes without WITH TIES (which compares sort
 *	  keys) above an Index Scan of a RuVector hnsw or ivfflat index, and the
 *	  column is resjunk and equal to one of the scan's ORDER BY expressions.
 *	  Everything else above the scan (Sort, Unique, LockRows, Material for
 *	  a scrollable cursor, ModifyTable, joins, subquery plans) leaves the
 *	  plan alone.  The scan's own ORDER BY expressions stay: the executor
 *	  evaluates them itself when an index asks for a recheck of the order.
 *
 *	  EXPLAIN VERBOSE shows the column as NULL::double precision.
 *	  ruvector.skip_orderby_value = off keeps the planner's plan.
 *
 * IDENTIFICATION
 *	  src/indexam/orderby_value.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amapi.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/planner.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "indexam/hnsw.h"
#include "indexam/indexam.h"
#include "indexam/ivfflat.h"

static bool rv_skip_orderby_value = true;
static planner_hook_type rv_orderby_prev_planner = NULL;

/* Whether index indexid is one of ours (its AM hands out our gettuple) */
static bool
OrderByIsOurIndex(Oid indexid)
{
	HeapTuple	tup;
	Oid			amoid;
	IndexAmRoutine *am;
	bool		ours;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexid));
	if (!HeapTupleIsValid(tup))
		return false;
	amoid = ((Form_pg_class) GETSTRUCT(tup))->relam;
	ReleaseSysCache(tup);
	am = GetIndexAmRoutineByAmId(amoid, true);
	if (am == NULL)
		return false;
	ours = am->amgettuple == hnswgettuple || am->amgettuple == ivfflatgettuple;
	pfree(am);
	return ours;
}

/* The index scan under the top Limit nodes of plan, or NULL */
static IndexScan *
OrderByTopScan(Plan *plan)
{
	while (plan != NULL && IsA(plan, Limit))
	{
		if (((Limit *) plan)->limitOption == LIMIT_OPTION_WITH_TIES)
			return NULL;
		plan = outerPlan(plan);
	}
	if (plan == NULL || !IsA(plan, IndexScan))
		return NULL;
	return (IndexScan *) plan;
}

/* Replace the scan's resjunk ORDER BY columns by NULLs; see NOTES */
static void
OrderBySkipValues(PlannedStmt *stmt)
{
	IndexScan  *scan;
	ListCell   *lc;

	if (stmt->commandType != CMD_SELECT)
		return;
	scan = OrderByTopScan(stmt->planTree);
	if (scan == NULL || scan->indexorderbyorig == NIL)
		return;
	if (!OrderByIsOurIndex(scan->indexid))
		return;
	foreach(lc, scan->scan.plan.targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Expr	   *expr = tle->expr;

		if (!tle->resjunk || IsA(expr, Const))
			continue;
		if (!list_member(scan->indexorderbyorig, expr))
			continue;
		tle->expr = (Expr *) makeNullConst(exprType((Node *) expr),
										   exprTypmod((Node *) expr),
										   exprCollation((Node *) expr));
	}
}

static PlannedStmt *
RvOrderByPlanner(Query *parse, const char *query_string, int cursorOptions,
				 ParamListInfo boundParams)
{
	PlannedStmt *stmt;

	if (rv_orderby_prev_planner)
		stmt = rv_orderby_prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (rv_skip_orderby_value)
		OrderBySkipValues(stmt);
	return stmt;
}

void
RvOrderByValueInit(void)
{
	DefineCustomBoolVariable("ruvector.skip_orderby_value",
							 "Skips computing the ORDER BY distance of rows a top-k index scan returns when nothing reads it.",
							 "The index returns the rows in order; off computes the distance of each "
							 "returned row as PostgreSQL plans it (detoasting its vector), to throw it away.",
							 &rv_skip_orderby_value, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	rv_orderby_prev_planner = planner_hook;
	planner_hook = RvOrderByPlanner;
}
