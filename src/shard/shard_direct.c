/*-------------------------------------------------------------------------
 *
 * shard_direct.c
 *	  The direct path of the sharded top-k: one prepared statement per
 *	  shard over libpq, sent to every shard before any answer is read,
 *	  shipping only the columns the query uses and the distance.
 *
 * NOTES
 *	  shard_plan.c rewrites ORDER BY <dist> LIMIT k on a sharded parent
 *	  into a subquery over the union of one ORDER BY ... LIMIT k query per
 *	  partition, which postgres_fdw runs as a remote transaction and a
 *	  cursor per shard (five statements) shipping the vectors back.  When
 *	  every partition is a postgres_fdw foreign table, there is no filter,
 *	  and the sort keys are the distance of a column to a constant or
 *	  parameter (then plain columns), this file puts a CustomScan
 *	  (RuVectorShardTopK) in place of that subquery's scan.  At run time
 *	  it sends each shard
 *
 *		SELECT <used columns>, (<col> OPERATOR(s.op) $1::type) [, <cols>]
 *		FROM s.table ORDER BY <n> [, ...] LIMIT $2::pg_catalog.int8
 *
 *	  as a statement prepared once per connection (PQsendQueryPrepared on
 *	  every shard, then the results are read), and returns the shards' rows;
 *	  the query level above keeps its ORDER BY ... LIMIT k and merges them
 *	  into the exact top k, as for the postgres_fdw path.
 *
 *	  Snapshot: each shard runs the statement on its own, outside a remote
 *	  transaction block, so it sees that shard's committed rows as of the
 *	  statement (read committed; the session is default_transaction_read_only).
 *	  That is what a one-statement postgres_fdw transaction sees too, but
 *	  postgres_fdw keeps one REPEATABLE READ remote transaction per local
 *	  transaction, which sees the local transaction's own writes through
 *	  postgres_fdw.  So the direct path is used only when the statement is
 *	  not in a transaction block, is the transaction's first command to
 *	  have a command id (nothing was written before it in the transaction,
 *	  e.g. by an earlier statement of a function), and the isolation level
 *	  is not SERIALIZABLE; otherwise the postgres_fdw plan, kept as the
 *	  CustomScan's child, runs.  ruvector.shard_direct = off turns it off.
 *
 *	  Privileges and connections: the caller's SELECT on the parent is
 *	  checked by the executor as before; the user mapping of the parent's
 *	  checkAsUser (or the current user) is used, with postgres_fdw's rules
 *	  (shard_conn.c), so a role without a user mapping gets postgres_fdw's
 *	  "user mapping not found" error.
 *
 *	  Lock order: none taken here (the planner hook locked the partitions).
 *
 * IDENTIFICATION
 *	  src/shard/shard_direct.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "parser/parsetree.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "shard/shard.h"

bool		rv_shard_direct = true;

/* custom_private: servers, partitions, SQL texts, remote column map, user */
enum
{
	RV_PRIV_SERVERS,
	RV_PRIV_PARTS,
	RV_PRIV_SQL,
	RV_PRIV_COLMAP,
	RV_PRIV_USER
};

typedef struct RvShardScanState
{
	CustomScanState css;
	bool		direct;			/* direct path, or the postgres_fdw child */
	List	   *servers;
	List	   *parts;
	List	   *sqls;
	Oid			userid;
	int			ncols;			/* scan tuple columns */
	int		   *remote_col;		/* per column: result column, -1 for NULL */
	FmgrInfo   *in_fn;
	Oid		   *in_ioparam;
	int32	   *in_typmod;
	ExprState  *qvec;
	ExprState  *limit;
	Oid			qvec_out;		/* output function of the query value */
	MemoryContext rows_cxt;
	Datum	  **values;			/* rows from every shard, unordered */
	bool	  **nulls;
	int			nrows;
	int			maxrows;
	int			next;
	bool		done;
	PlanState  *child;
} RvShardScanState;

static Plan *RvShardPlanPath(PlannerInfo *root, RelOptInfo *rel,
							 CustomPath *best_path, List *tlist,
							 List *clauses, List *custom_plans);
static Node *RvShardCreateState(CustomScan *cscan);
static void RvShardBegin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *RvShardExecScan(CustomScanState *node);
static void RvShardEnd(CustomScanState *node);
static void RvShardRescan(CustomScanState *node);
static void RvShardExplain(CustomScanState *node, List *ancestors, ExplainState *es);
static void RvShardLeftOut(RvShardScanState *st, int i);

static const CustomPathMethods rv_shard_path_methods = {
	.CustomName = "RuVectorShardTopK",
	.PlanCustomPath = RvShardPlanPath,
};

static const CustomScanMethods rv_shard_scan_methods = {
	.CustomName = "RuVectorShardTopK",
	.CreateCustomScanState = RvShardCreateState,
};

static const CustomExecMethods rv_shard_exec_methods = {
	.CustomName = "RuVectorShardTopK",
	.BeginCustomScan = RvShardBegin,
	.ExecCustomScan = RvShardExecScan,
	.EndCustomScan = RvShardEnd,
	.ReScanCustomScan = RvShardRescan,
	.ExplainCustomScan = RvShardExplain,
};

/* ---------------------------------------------------------------------
 * Planning: is the subquery's shape one we can send, and what to send
 * ---------------------------------------------------------------------
 */

/* What the deparse of one partition's statement needs */
typedef struct RvShardDeparse
{
	Relation	part;
	List	   *extensions;		/* the server's "extensions" option, names */
	StringInfoData buf;
} RvShardDeparse;

/* Is a postgres_fdw server?  (Its handler, whatever the wrapper's name.) */
static bool
RvShardIsPostgresFdw(ForeignServer *server)
{
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	char	   *handler;

	if (!OidIsValid(fdw->fdwhandler))
		return false;
	handler = get_func_name(fdw->fdwhandler);
	return handler != NULL && strcmp(handler, "postgres_fdw_handler") == 0;
}

/* The server's "extensions" option as a list of names */
static List *
RvShardServerExtensions(ForeignServer *server)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, server->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "extensions") == 0 &&
			!SplitIdentifierString(pstrdup(defGetString(d)), ',', &names))
			return NIL;
	}
	return names;
}

/* May an object ship to this server: built in, or of a listed extension? */
static bool
RvShardShippable(Oid classid, Oid objid, List *extensions)
{
	Oid			ext;
	char	   *name;
	ListCell   *lc;

	if (objid < FirstGenbkiObjectId)
		return true;
	ext = getExtensionOfObject(classid, objid);
	if (!OidIsValid(ext) || (name = get_extension_name(ext)) == NULL)
		return false;
	foreach(lc, extensions)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* A column of the partition, as the shard names it (column_name option) */
static void
RvShardDeparseColumn(RvShardDeparse *dp, AttrNumber attno)
{
	const char *name = NameStr(TupleDescAttr(RelationGetDescr(dp->part), attno - 1)->attname);
	ListCell   *lc;

	foreach(lc, GetForeignColumnOptions(RelationGetRelid(dp->part), attno))
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "column_name") == 0)
			name = defGetString(d);
	}
	appendStringInfoString(&dp->buf, quote_identifier(name));
}

/* The shard's schema.table (schema_name, table_name options) */
static void
RvShardDeparseTable(RvShardDeparse *dp)
{
	const char *nsp = get_namespace_name(RelationGetNamespace(dp->part));
	const char *rel = RelationGetRelationName(dp->part);
	ListCell   *lc;

	foreach(lc, GetForeignTable(RelationGetRelid(dp->part))->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "schema_name") == 0)
			nsp = defGetString(d);
		else if (strcmp(d->defname, "table_name") == 0)
			rel = defGetString(d);
	}
	appendStringInfo(&dp->buf, "%s.%s", quote_identifier(nsp), quote_identifier(rel));
}

/* Does the expression read anything but constants and client parameters? */
static bool
RvShardNotValueWalker(Node *n, void *ctx)
{
	if (n == NULL)
		return false;
	if (IsA(n, Param))
		return ((Param *) n)->paramkind != PARAM_EXTERN;
	if (IsA(n, Var) || IsA(n, SubLink) || IsA(n, SubPlan) || IsA(n, Aggref) ||
		IsA(n, WindowFunc) || IsA(n, PlaceHolderVar) || IsA(n, GroupingFunc))
		return true;
	return expression_tree_walker(n, RvShardNotValueWalker, ctx);
}

/*
 * The query value and the LIMIT are evaluated here, once per execution,
 * and shipped as parameters: constants and client parameters only
 * ($1, or int4 $2 cast to the LIMIT's int8), nothing volatile.
 */
static bool
RvShardIsValue(Node *n)
{
	return !RvShardNotValueWalker(n, NULL) && !contain_volatile_functions(n);
}

/*
 * Deparse the distance of a leaf, <column> <op> <value>, the value shipped
 * as $1 (and returned in *value).  false if it cannot ship.
 */
static bool
RvShardDeparseDistance(RvShardDeparse *dp, Node *e, Node **value)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;
	Form_pg_operator form;
	HeapTuple	tup;

	if (!IsA(e, OpExpr) || list_length(((OpExpr *) e)->args) != 2)
		return false;
	op = (OpExpr *) e;
	l = linitial(op->args);
	r = lsecond(op->args);
	if (!IsA(l, Var) && !IsA(r, Var))
		return false;
	if (!RvShardShippable(OperatorRelationId, op->opno, dp->extensions) ||
		func_volatile(op->opfuncid) != PROVOLATILE_IMMUTABLE)
		return false;
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(op->opno));
	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_operator) GETSTRUCT(tup);
	appendStringInfoChar(&dp->buf, '(');
	for (int side = 0; side < 2; side++)
	{
		Node	   *arg = side == 0 ? l : r;

		if (side == 1)
			appendStringInfo(&dp->buf, " OPERATOR(%s.%s) ",
							 quote_identifier(get_namespace_name(form->oprnamespace)),
							 NameStr(form->oprname));
		if (IsA(arg, Var) && ((Var *) arg)->varattno > 0)
			RvShardDeparseColumn(dp, ((Var *) arg)->varattno);
		else if (!IsA(arg, Var) && *value == NULL &&
				 RvShardShippable(TypeRelationId, exprType(arg), dp->extensions))
		{
			*value = arg;
			appendStringInfo(&dp->buf, "$1::%s",
							 format_type_extended(exprType(arg), -1,
												  FORMAT_TYPE_FORCE_QUALIFY));
		}
		else
		{
			ReleaseSysCache(tup);
			return false;
		}
	}
	ReleaseSysCache(tup);
	appendStringInfoChar(&dp->buf, ')');
	return true;
}

/* Is sortop the default < or > of type (the one the shard would use)? */
static bool
RvShardDefaultSortOp(Oid type, Oid sortop)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_LT_OPR | TYPECACHE_GT_OPR);

	return sortop == tc->lt_opr || sortop == tc->gt_opr;
}

/*
 * The statement for one leaf: SELECT the scan columns FROM the shard's
 * table ORDER BY the keys LIMIT $2.  NULL if something cannot ship.
 * colmap (first leaf only) gets each scan column's result column or -1.
 */
static char *
RvShardLeafSql(Query *leaf, List *scan_vars, List *extensions, List **colmap,
			   Node **value)
{
	RvShardDeparse dp = {0};
	RangeTblEntry *rte = linitial_node(RangeTblEntry, leaf->rtable);
	int			nremote = 0;
	int		   *pos;
	ListCell   *lc;
	char	   *result = NULL;

	dp.part = table_open(rte->relid, NoLock);	/* locked by the planner hook */
	dp.extensions = extensions;
	initStringInfo(&dp.buf);
	pos = palloc0(sizeof(int) * (list_length(leaf->targetList) + 1));
	appendStringInfoString(&dp.buf, "SELECT ");
	foreach(lc, scan_vars)
	{
		Var		   *v = lfirst_node(Var, lc);
		TargetEntry *tle = list_nth_node(TargetEntry, leaf->targetList, v->varattno - 1);

		if (IsA(tle->expr, Const))
		{
			if (colmap)
				*colmap = lappend_int(*colmap, -1);
			continue;
		}
		if (nremote > 0)
			appendStringInfoString(&dp.buf, ", ");
		if (IsA(tle->expr, Var) && ((Var *) tle->expr)->varattno > 0)
			RvShardDeparseColumn(&dp, ((Var *) tle->expr)->varattno);
		else if (IsA(tle->expr, Var) || !RvShardDeparseDistance(&dp, (Node *) tle->expr, value))
			goto out;
		pos[v->varattno] = ++nremote;
		if (colmap)
			*colmap = lappend_int(*colmap, nremote - 1);
	}
	if (nremote == 0)
		appendStringInfoString(&dp.buf, "NULL");
	appendStringInfoString(&dp.buf, " FROM ");
	RvShardDeparseTable(&dp);
	appendStringInfoString(&dp.buf, " ORDER BY ");
	foreach(lc, leaf->sortClause)
	{
		SortGroupClause *s = lfirst_node(SortGroupClause, lc);
		TargetEntry *tle = get_sortgroupclause_tle(s, leaf->targetList);
		Oid			type = exprType((Node *) tle->expr);

		/* a tie-breaking column sorts the same on the shard: no collation */
		if (!RvShardDefaultSortOp(type, s->sortop) || pos[tle->resno] == 0 ||
			(IsA(tle->expr, Var) &&
			 (type >= FirstGenbkiObjectId || OidIsValid(exprCollation((Node *) tle->expr)))))
			goto out;
		appendStringInfo(&dp.buf, "%s%d %s NULLS %s",
						 foreach_current_index(lc) > 0 ? ", " : "",
						 pos[tle->resno],
						 s->sortop == lookup_type_cache(type, TYPECACHE_LT_OPR)->lt_opr ?
						 "ASC" : "DESC",
						 s->nulls_first ? "FIRST" : "LAST");
	}
	appendStringInfoString(&dp.buf, " LIMIT $2::pg_catalog.int8");
	result = dp.buf.data;
out:
	table_close(dp.part, NoLock);
	return result;
}

/* The leaves of our subquery: a union of them, or the one leaf itself */
static List *
RvShardDirectLeaves(Query *top)
{
	List	   *leaves = NIL;
	ListCell   *lc;

	if (top->setOperations == NULL)
		return list_make1(top);
	foreach(lc, top->rtable)
		leaves = lappend(leaves, lfirst_node(RangeTblEntry, lc)->subquery);
	return leaves;
}

/*
 * set_rel_pathlist_hook, for the subquery the planner hook made: when
 * every leaf can be sent directly, a CustomPath over the subquery's
 * cheapest path (kept as the fallback) becomes the only path.
 */
void
RvShardDirectPath(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	List	   *leaves = RvShardDirectLeaves(rte->subquery);
	List	   *scan_vars = NIL;
	List	   *servers = NIL,
			   *parts = NIL,
			   *sqls = NIL,
			   *colmap = NIL;
	Node	   *value = NULL;
	Node	   *limit;
	Path	   *child = NULL;
	CustomPath *cp;
	ListCell   *lc;

	if (!rv_shard_direct || rel->baserestrictinfo != NIL ||
		rel->lateral_relids != NULL || rel->pathlist == NIL)
		return;
	foreach(lc, rel->reltarget->exprs)
	{
		Var		   *v = (Var *) lfirst(lc);

		if (!IsA(v, Var) || v->varno != rel->relid || v->varattno <= 0)
			return;
		scan_vars = lappend(scan_vars, v);
	}
	foreach(lc, leaves)
	{
		Query	   *leaf = lfirst_node(Query, lc);
		RangeTblEntry *prte = linitial_node(RangeTblEntry, leaf->rtable);
		ForeignServer *server;
		Node	   *leaf_value = NULL;
		char	   *sql;

		if (prte->relkind != RELKIND_FOREIGN_TABLE || leaf->jointree->quals != NULL)
			return;
		server = GetForeignServer(GetForeignTable(prte->relid)->serverid);
		if (!RvShardIsPostgresFdw(server))
			return;
		sql = RvShardLeafSql(leaf, scan_vars, RvShardServerExtensions(server),
							 lc == list_head(leaves) ? &colmap : NULL, &leaf_value);
		if (sql == NULL || leaf_value == NULL ||
			(value != NULL && !equal(value, leaf_value)))
			return;
		value = leaf_value;
		servers = lappend_oid(servers, server->serverid);
		parts = lappend_oid(parts, prte->relid);
		sqls = lappend(sqls, makeString(sql));
	}
	value = eval_const_expressions(root, copyObject(value));
	limit = eval_const_expressions(root, copyObject(linitial_node(Query, leaves)->limitCount));
	if (!RvShardIsValue(value) || !RvShardIsValue(limit) || exprType(limit) != INT8OID)
		return;

	foreach(lc, rel->pathlist)
	{
		Path	   *p = lfirst(lc);

		if (p->param_info == NULL && (child == NULL || p->total_cost < child->total_cost))
			child = p;
	}
	if (child == NULL)
		return;

	cp = makeNode(CustomPath);
	cp->path.pathtype = T_CustomScan;
	cp->path.parent = rel;
	cp->path.pathtarget = rel->reltarget;
	cp->path.rows = child->rows;
	/* one round trip instead of postgres_fdw's five: cheaper than the child */
	cp->path.startup_cost = child->startup_cost / 2;
	cp->path.total_cost = child->total_cost / 2;
	cp->custom_paths = list_make1(child);
	cp->custom_private = list_make5(servers, parts, sqls, colmap,
									list_make1_oid(linitial_node(RangeTblEntry,
																 linitial_node(Query, leaves)->rtable)->checkAsUser));
	cp->custom_private = lappend(cp->custom_private, list_make2(value, limit));
	cp->methods = &rv_shard_path_methods;
	rel->pathlist = list_make1(cp);
	rel->partial_pathlist = NIL;
}

static Plan *
RvShardPlanPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cs = makeNode(CustomScan);

	Assert(clauses == NIL);
	cs->scan.plan.targetlist = tlist;
	cs->scan.scanrelid = 0;
	cs->custom_scan_tlist = copyObject(tlist);
	cs->custom_plans = custom_plans;
	cs->custom_exprs = llast(best_path->custom_private);
	cs->custom_private = list_truncate(list_copy(best_path->custom_private), 5);
	cs->flags = best_path->flags;
	cs->methods = &rv_shard_scan_methods;
	return &cs->scan.plan;
}

/* ---------------------------------------------------------------------
 * Execution
 * ---------------------------------------------------------------------
 */

static Node *
RvShardCreateState(CustomScan *cscan)
{
	RvShardScanState *st = palloc0(sizeof(RvShardScanState));

	NodeSetTag(st, T_CustomScanState);
	st->css.methods = &rv_shard_exec_methods;
	return (Node *) st;
}

/*
 * May this statement read the shards directly?  Only where a fresh
 * per-shard snapshot is what postgres_fdw would give too (file header).
 */
static bool
RvShardDirectAllowed(void)
{
	return rv_shard_direct && !IsTransactionBlock() &&
		GetCurrentCommandId(false) == FirstCommandId &&
		!IsolationIsSerializable();
}

static void
RvShardBegin(CustomScanState *node, EState *estate, int eflags)
{
	RvShardScanState *st = (RvShardScanState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	TupleDesc	desc = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	List	   *colmap = list_nth(cs->custom_private, RV_PRIV_COLMAP);
	bool		varlena;

	st->servers = list_nth(cs->custom_private, RV_PRIV_SERVERS);
	st->parts = list_nth(cs->custom_private, RV_PRIV_PARTS);
	st->sqls = list_nth(cs->custom_private, RV_PRIV_SQL);
	st->userid = linitial_oid((List *) list_nth(cs->custom_private, RV_PRIV_USER));
	if (!OidIsValid(st->userid))
		st->userid = GetUserId();
	st->direct = RvShardDirectAllowed();

	if (!st->direct || (eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		st->child = ExecInitNode(linitial(cs->custom_plans), estate, eflags);
		node->custom_ps = list_make1(st->child);
	}
	if (!st->direct)
		return;

	st->qvec = ExecInitExpr(linitial(cs->custom_exprs), &node->ss.ps);
	st->limit = ExecInitExpr(lsecond(cs->custom_exprs), &node->ss.ps);
	getTypeOutputInfo(exprType(linitial(cs->custom_exprs)), &st->qvec_out, &varlena);
	st->ncols = desc->natts;
	st->remote_col = palloc(sizeof(int) * st->ncols);
	st->in_fn = palloc0(sizeof(FmgrInfo) * st->ncols);
	st->in_ioparam = palloc(sizeof(Oid) * st->ncols);
	st->in_typmod = palloc(sizeof(int32) * st->ncols);
	for (int j = 0; j < st->ncols; j++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, j);
		Oid			infunc;

		st->remote_col[j] = list_nth_int(colmap, j);
		getTypeInputInfo(att->atttypid, &infunc, &st->in_ioparam[j]);
		fmgr_info(infunc, &st->in_fn[j]);
		st->in_typmod[j] = att->atttypmod;
	}
	st->rows_cxt = AllocSetContextCreate(estate->es_query_cxt, "ruvector shard rows",
										 ALLOCSET_SMALL_SIZES);
}

/* Wait, interruptibly, until conn has a whole result to read */
static void
RvShardWait(PGconn *conn, ForeignServer *server)
{
	while (PQisBusy(conn))
	{
		int			rc = WaitLatchOrSocket(MyLatch,
										   WL_LATCH_SET | WL_SOCKET_READABLE |
										   WL_EXIT_ON_PM_DEATH,
										   PQsocket(conn), -1L, PG_WAIT_EXTENSION);

		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(conn))
			break;				/* the error comes with PQgetResult */
	}
}

/* Keep the rows of one shard's result */
static void
RvShardKeepRows(RvShardScanState *st, PGresult *res)
{
	MemoryContext old = MemoryContextSwitchTo(st->rows_cxt);
	int			n = PQntuples(res);

	if (st->nrows + n > st->maxrows)
	{
		int			want = Max(st->nrows + n, 2 * st->maxrows);

		st->values = st->values ? repalloc(st->values, want * sizeof(Datum *)) :
			palloc(want * sizeof(Datum *));
		st->nulls = st->nulls ? repalloc(st->nulls, want * sizeof(bool *)) :
			palloc(want * sizeof(bool *));
		st->maxrows = want;
	}
	for (int i = 0; i < n; i++)
	{
		Datum	   *v = palloc(sizeof(Datum) * st->ncols);
		bool	   *isnull = palloc(sizeof(bool) * st->ncols);

		for (int j = 0; j < st->ncols; j++)
		{
			int			c = st->remote_col[j];

			isnull[j] = c < 0 || PQgetisnull(res, i, c);
			v[j] = isnull[j] ? (Datum) 0 :
				InputFunctionCall(&st->in_fn[j], PQgetvalue(res, i, c),
								  st->in_ioparam[j], st->in_typmod[j]);
		}
		st->values[st->nrows] = v;
		st->nulls[st->nrows++] = isnull;
	}
	MemoryContextSwitchTo(old);
}

/* The shard's server, by position */
static ForeignServer *
RvShardServer(RvShardScanState *st, int i)
{
	return GetForeignServer(list_nth_oid(st->servers, i));
}

typedef enum RvShardSendResult
{
	RV_SHARD_SENT,
	RV_SHARD_LEFT_OUT,			/* not answering, with a WARNING (partial results) */
	RV_SHARD_WAIT				/* its connection is busy with another partition */
} RvShardSendResult;

/*
 * Send shard i its statement on *c.  A cached connection that turns out
 * dead is replaced once.
 */
static RvShardSendResult
RvShardSend(RvShardScanState *st, int i, const char *const *params, RvShardConn **c)
{
	ForeignServer *server = RvShardServer(st, i);
	const char *sql = strVal(list_nth(st->sqls, i));

	for (int attempt = 0;; attempt++)
	{
		const char *name;

		if (rv_shard_partial_results && !RvShardConnIsOpen(server, st->userid) &&
			!RvShardServerAnswers(server))
		{
			RvShardLeftOut(st, i);
			return RV_SHARD_LEFT_OUT;
		}
		*c = RvShardConnAcquire(server, st->userid);
		if (RvShardConnBusy(*c))
			return RV_SHARD_WAIT;
		name = RvShardConnPrepare(*c, server, sql);
		if (PQsendQueryPrepared(RvShardConnPg(*c), name, 2, params, NULL, NULL, 0))
		{
			RvShardConnSetBusy(*c, true);
			return RV_SHARD_SENT;
		}
		if (attempt > 0 || RvShardConnFresh(*c))
			RvShardReportError(ERROR, NULL, RvShardConnPg(*c), server, sql);
		RvShardConnReset(*c);
	}
}

/* A shard left out of the answer (ruvector.shard_partial_results) */
static void
RvShardLeftOut(RvShardScanState *st, int i)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("shard \"%s\" on server \"%s\" is not answering; its rows are left out",
					get_rel_name(list_nth_oid(st->parts, i)), RvShardServer(st, i)->servername),
			 errhint("ruvector.shard_partial_results is on; turn it off to get an error instead.")));
}

typedef enum RvShardCollectResult
{
	RV_SHARD_DONE,
	RV_SHARD_AGAIN,				/* a cached connection was dead: send again */
	RV_SHARD_LOST				/* the connection broke: left out, with a WARNING */
} RvShardCollectResult;

/*
 * Read shard i's result.  A cached connection found dead asks for another
 * try on a new one; a new one that breaks is an error naming the server,
 * or with ruvector.shard_partial_results a WARNING.
 */
static RvShardCollectResult
RvShardCollect(RvShardScanState *st, int i, RvShardConn *c)
{
	ForeignServer *server = RvShardServer(st, i);
	PGconn	   *conn = RvShardConnPg(c);
	PGresult   *res;
	PGresult   *extra;

	RvShardWait(conn, server);
	res = PQgetResult(conn);
	while ((extra = PQgetResult(conn)) != NULL)
		PQclear(extra);
	RvShardConnSetBusy(c, false);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (PQstatus(conn) == CONNECTION_BAD &&
			(!RvShardConnFresh(c) || rv_shard_partial_results))
		{
			bool		again = !RvShardConnFresh(c);

			PQclear(res);
			RvShardConnReset(c);
			if (again)
				return RV_SHARD_AGAIN;
			RvShardLeftOut(st, i);
			return RV_SHARD_LOST;
		}
		RvShardReportError(ERROR, res, conn, server, strVal(list_nth(st->sqls, i)));
	}
	PG_TRY();
	{
		RvShardKeepRows(st, res);
	}
	PG_FINALLY();
	{
		PQclear(res);
	}
	PG_END_TRY();
	return RV_SHARD_DONE;
}

/* Ask every shard, then read every answer */
static void
RvShardRun(RvShardScanState *st)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	int			n = list_length(st->servers);
	RvShardConn **sent = palloc0(sizeof(RvShardConn *) * n);
	bool	   *left = palloc(sizeof(bool) * n);
	const char *params[2];
	bool		isnull;
	Datum		d;
	int			nleft = n;

	d = ExecEvalExprSwitchContext(st->qvec, econtext, &isnull);
	params[0] = isnull ? NULL : OidOutputFunctionCall(st->qvec_out, d);
	d = ExecEvalExprSwitchContext(st->limit, econtext, &isnull);
	params[1] = isnull ? NULL : psprintf(INT64_FORMAT, DatumGetInt64(d));

	memset(left, true, sizeof(bool) * n);
	/*
	 * Every shard is sent its statement before any answer is read.  Two
	 * partitions on one server share a connection: the second waits for
	 * the next round.  A dead cached connection is replaced and its shard
	 * asked again in the next round.
	 */
	while (nleft > 0)
	{
		for (int i = 0; i < n; i++)
		{
			sent[i] = NULL;
			if (!left[i])
				continue;
			switch (RvShardSend(st, i, params, &sent[i]))
			{
				case RV_SHARD_SENT:
					break;
				case RV_SHARD_LEFT_OUT:
					left[i] = false;
					nleft--;
					/* FALLTHROUGH */
				case RV_SHARD_WAIT:
					sent[i] = NULL;
					break;
			}
		}
		for (int i = 0; i < n; i++)
		{
			if (sent[i] != NULL && RvShardCollect(st, i, sent[i]) != RV_SHARD_AGAIN)
			{
				left[i] = false;
				nleft--;
			}
		}
	}
	st->done = true;
}

/* Next row: from the shards' answers, or from the postgres_fdw child */
static TupleTableSlot *
RvShardNext(ScanState *ss)
{
	RvShardScanState *st = (RvShardScanState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;

	ExecClearTuple(slot);
	if (!st->direct)
	{
		TupleTableSlot *in = ExecProcNode(st->child);

		if (TupIsNull(in))
			return slot;
		slot_getsomeattrs(in, slot->tts_tupleDescriptor->natts);
		for (int j = 0; j < slot->tts_tupleDescriptor->natts; j++)
		{
			slot->tts_values[j] = in->tts_values[j];
			slot->tts_isnull[j] = in->tts_isnull[j];
		}
		return ExecStoreVirtualTuple(slot);
	}
	if (!st->done)
		RvShardRun(st);
	if (st->next >= st->nrows)
		return slot;
	memcpy(slot->tts_values, st->values[st->next], sizeof(Datum) * st->ncols);
	memcpy(slot->tts_isnull, st->nulls[st->next], sizeof(bool) * st->ncols);
	st->next++;
	return ExecStoreVirtualTuple(slot);
}

static bool
RvShardRecheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
RvShardExecScan(CustomScanState *node)
{
	return ExecScan(&node->ss, RvShardNext, RvShardRecheck);
}

static void
RvShardEnd(CustomScanState *node)
{
	RvShardScanState *st = (RvShardScanState *) node;

	if (st->child)
		ExecEndNode(st->child);
	ExecClearTuple(node->ss.ss_ScanTupleSlot);
}

/* The same statement again: the shards' rows do not change within it */
static void
RvShardRescan(CustomScanState *node)
{
	RvShardScanState *st = (RvShardScanState *) node;

	st->next = 0;
	if (st->child && !st->direct)
	{
		if (node->ss.ps.chgParam != NULL)
			UpdateChangedParamSet(st->child, node->ss.ps.chgParam);
		ExecReScan(st->child);
	}
}

static void
RvShardExplain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	RvShardScanState *st = (RvShardScanState *) node;

	ExplainPropertyText("Shard Path", st->direct ?
						"direct (one prepared statement per shard, the postgres_fdw plan below unused)" :
						"postgres_fdw (the plan below)", es);
	if (!es->verbose)
		return;
	for (int i = 0; i < list_length(st->sqls); i++)
		ExplainPropertyText("Shard SQL",
							psprintf("%s: %s", RvShardServer(st, i)->servername,
									 strVal(list_nth(st->sqls, i))), es);
}

void
RvShardDirectInit(void)
{
	DefineCustomBoolVariable("ruvector.shard_direct",
							 "Reads the shards of a sharded top-k with one prepared statement each, over libpq.",
							 "Off, or inside a transaction block, the top-k runs through postgres_fdw (a remote transaction and a cursor per shard).",
							 &rv_shard_direct, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	RegisterCustomScanMethods(&rv_shard_scan_methods);
}
