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
 *	  every partition is a postgres_fdw foreign table, the filter (if any)
 *	  is one postgres_fdw would ship (RvShardDeparseExpr), and the sort
 *	  keys are the distance of a column to a constant or parameter (then
 *	  plain columns), this file puts a CustomScan (RuVectorShardTopK) in
 *	  place of that subquery's scan.  At run time it sends each shard
 *
 *		SELECT <used columns>, (<col> OPERATOR(s.op) $1::type) [, <cols>]
 *		FROM s.table [WHERE <filter>] ORDER BY <n> [, ...] LIMIT <k>
 *
 *	  with the query value as $1 and the filter's constants and client
 *	  parameters as $2 ... (so one statement serves every value), in
 *	  binary where the type's binary form carries no text
 *	  (RvShardBinaryValue), and the rows coming back in binary when every
 *	  column type is such a built-in one.  It is a statement prepared once per
 *	  connection (PQsendQueryPrepared on
 *	  every shard, then the results are read), and returns the shards' rows;
 *	  k is written into the text (evaluated at run time when the LIMIT is
 *	  a parameter): with LIMIT $n the shard's generic plan would guess a
 *	  tenth of the table and sort it instead of scanning the index.  The
 *	  shard sessions run with plan_cache_mode = force_generic_plan, so a
 *	  statement is planned once per connection, not per query;
 *	  the query level above keeps its ORDER BY ... LIMIT k and merges them
 *	  into the exact top k, as for the postgres_fdw path.
 *
 *	  Snapshot: each shard runs the statement on its own, outside a remote
 *	  transaction block, so it sees that shard's committed rows as of the
 *	  statement (read committed; the session is default_transaction_read_only).
 *	  That is what a one-statement postgres_fdw transaction sees too, but
 *	  postgres_fdw keeps one REPEATABLE READ remote transaction per local
 *	  transaction, which sees the local transaction's own writes through
 *	  postgres_fdw and one snapshot per shard for all its statements.  So
 *	  the direct path is used only when nothing was written before in the
 *	  transaction (no command id used: no INSERT through the parent, no
 *	  earlier write of the same function), and either outside a transaction
 *	  block (not SERIALIZABLE) or in a READ COMMITTED one, where a snapshot
 *	  per statement is what the local reads get too; otherwise (after a
 *	  write, REPEATABLE READ or SERIALIZABLE blocks) the postgres_fdw plan
 *	  runs, planned when the CustomScan starts (EXPLAIN shows it under the
 *	  CustomScan).  ruvector.shard_direct = off turns it off.
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
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/tstoreReceiver.h"
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
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "common/rv_hash.h"
#include "shard/shard.h"

bool		rv_shard_direct = true;

/*
 * custom_private: servers, partitions, SQL texts, result column per scan
 * column, user, the postgres_fdw fallback query, subquery column per scan
 * column
 */
enum
{
	RV_PRIV_SERVERS,
	RV_PRIV_PARTS,
	RV_PRIV_SQL,
	RV_PRIV_COLMAP,
	RV_PRIV_USER,
	RV_PRIV_FALLBACK,
	RV_PRIV_ATTNOS,
	RV_PRIV_CACHED				/* 1 in a plan taken from shard_cache.c */
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
	bool		binary_rows;	/* results in binary (RvShardBinaryValue, built in) */
	FmgrInfo   *in_fn;			/* per column: input or receive function */
	Oid		   *in_ioparam;
	int32	   *in_typmod;
	ExprState  *limit;
	int			nvalues;		/* shipped as $1 (the query value), $2 ... */
	ExprState **value;
	int		   *value_binary;	/* per value: shipped in binary */
	FmgrInfo   *value_out;		/* its output or send function */
	ForeignServer **server;		/* per shard, looked up once per execution */
	char	  **run_sql;		/* per shard: the statement with its LIMIT */
	MemoryContext rows_cxt;
	Datum	  **values;			/* rows from every shard, unordered */
	bool	  **nulls;
	int			nrows;
	int			maxrows;
	int			next;
	bool		done;
	EState	   *estate;
	QueryDesc  *fallback_qd;	/* the postgres_fdw plan, started in Begin */
	DestReceiver *fallback_dest;
	bool		fallback_run;
	Tuplestorestate *fallback;	/* its rows */
	TupleTableSlot *fallback_slot;
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
static void RvShardFallbackStart(RvShardScanState *st, int eflags);

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
	List	   *values;			/* shipped as $1, $2, ...: the query value first */
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

/*
 * The extension an operator or type belongs to, by name ("" for none),
 * remembered for the session: getExtensionOfObject scans pg_depend, and
 * every planning of a sharded top-k asks for each shard.  Like
 * postgres_fdw's shippability cache, a later ALTER EXTENSION ADD/DROP of
 * the object is not seen until the session ends.
 */
typedef struct RvShardExtKey
{
	Oid			classid;
	Oid			objid;
} RvShardExtKey;

typedef struct RvShardExtEntry
{
	RvShardExtKey key;
	char		name[NAMEDATALEN];
} RvShardExtEntry;

static HTAB *rv_shard_ext_cache = NULL;

static const char *
RvShardExtensionOf(Oid classid, Oid objid)
{
	RvShardExtKey key = {classid, objid};
	RvShardExtEntry *e;
	bool		found;

	if (rv_shard_ext_cache == NULL)
	{
		rv_shard_ext_cache = rv_blob_hash_create("ruvector shard shippable", 32,
												 sizeof(RvShardExtKey),
												 sizeof(RvShardExtEntry),
												 CacheMemoryContext);
	}
	e = hash_search(rv_shard_ext_cache, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		Oid			ext = getExtensionOfObject(classid, objid);
		char	   *name = OidIsValid(ext) ? get_extension_name(ext) : NULL;

		e = hash_search(rv_shard_ext_cache, &key, HASH_ENTER, &found);
		strlcpy(e->name, name ? name : "", NAMEDATALEN);
	}
	return e->name;
}

/* May an object ship to this server: built in, or of a listed extension? */
static bool
RvShardShippable(Oid classid, Oid objid, List *extensions)
{
	const char *name;
	ListCell   *lc;

	if (objid < FirstGenbkiObjectId)
		return true;
	name = RvShardExtensionOf(classid, objid);
	foreach(lc, extensions)
		if (name[0] != '\0' && strcmp((char *) lfirst(lc), name) == 0)
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
 * A value evaluated on the coordinator when the query runs and shipped as
 * a parameter, $n::type (the same expression twice is one parameter):
 * the query value, client parameters and the filter's constants, so the
 * statement's text, and the shard's prepared statement, is the same
 * whatever the values.
 */
static void
RvShardDeparseValue(RvShardDeparse *dp, Node *value, int32 typmod)
{
	int			n = 0;
	ListCell   *lc;

	foreach(lc, dp->values)
	{
		if (equal(lfirst(lc), value))
			break;
		n++;
	}
	if (lc == NULL)
		dp->values = lappend(dp->values, value);
	appendStringInfo(&dp->buf, "$%d::%s", n + 1,
					 format_type_extended(exprType(value), typmod,
										  FORMAT_TYPE_FORCE_QUALIFY | FORMAT_TYPE_TYPEMOD_GIVEN));
}

/*
 * Deparse the distance of a leaf, <column> <op> <value>, the value shipped
 * as $1 (the first of dp->values).  false if it cannot ship.
 */
static bool
RvShardDeparseDistance(RvShardDeparse *dp, Node *e)
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
		else if (!IsA(arg, Var) && dp->values == NIL &&
				 RvShardShippable(TypeRelationId, exprType(arg), dp->extensions))
			RvShardDeparseValue(dp, arg, -1);
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

/*
 * Filters the direct path sends, the ones postgres_fdw would (its
 * is_foreign_expr, reduced): columns, constants, client parameters,
 * AND/OR/NOT, IS [NOT] NULL, operators (also = ANY (array)), function calls
 * and casts, ARRAY[...]; built-in objects or objects of an extension
 * listed for the server, immutable functions only, and no collation but
 * the default one (the shard's default is assumed the same, as
 * postgres_fdw does).  Constants and client parameters go as $n.
 */
static bool RvShardDeparseExpr(RvShardDeparse *dp, Node *n);

static bool
RvShardCollationOk(Oid coll)
{
	return !OidIsValid(coll) || coll == DEFAULT_COLLATION_OID;
}

static bool
RvShardFuncOk(RvShardDeparse *dp, Oid func)
{
	return RvShardShippable(ProcedureRelationId, func, dp->extensions) &&
		func_volatile(func) == PROVOLATILE_IMMUTABLE;
}

static bool
RvShardTypeOk(RvShardDeparse *dp, Oid type)
{
	return RvShardShippable(TypeRelationId, type, dp->extensions);
}

/* arguments separated by sep */
static bool
RvShardDeparseList(RvShardDeparse *dp, List *args, const char *sep)
{
	ListCell   *lc;

	foreach(lc, args)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&dp->buf, sep);
		if (!RvShardDeparseExpr(dp, lfirst(lc)))
			return false;
	}
	return true;
}

/* OPERATOR(schema.name) of an operator */
static bool
RvShardDeparseOperator(RvShardDeparse *dp, Oid opno, Oid opfunc)
{
	HeapTuple	tup;
	Form_pg_operator form;

	if (!RvShardShippable(OperatorRelationId, opno, dp->extensions) ||
		!RvShardFuncOk(dp, opfunc))
		return false;
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_operator) GETSTRUCT(tup);
	appendStringInfo(&dp->buf, " OPERATOR(%s.%s) ",
					 quote_identifier(get_namespace_name(form->oprnamespace)),
					 NameStr(form->oprname));
	ReleaseSysCache(tup);
	return true;
}

/*
 * A constant goes as a parameter too ($n::type(typmod), the value already
 * of that typmod): one prepared statement on the shard for every value,
 * planned once (generic), instead of one per distinct constant.
 */
static bool
RvShardDeparseConst(RvShardDeparse *dp, Const *c)
{
	if (!RvShardTypeOk(dp, c->consttype) || !RvShardCollationOk(c->constcollid))
		return false;
	RvShardDeparseValue(dp, (Node *) c, c->consttypmod);
	return true;
}

static bool
RvShardDeparseExpr(RvShardDeparse *dp, Node *n)
{
	if (n == NULL)
		return false;
	if (!RvShardCollationOk(exprCollation(n)) || !RvShardCollationOk(exprInputCollation(n)))
		return false;
	switch (nodeTag(n))
	{
		case T_Var:
			{
				Var		   *v = (Var *) n;

				if (v->varno != 1 || v->varlevelsup != 0 || v->varattno <= 0)
					return false;
				RvShardDeparseColumn(dp, v->varattno);
				return true;
			}
		case T_Const:
			return RvShardDeparseConst(dp, (Const *) n);
		case T_Param:
			if (((Param *) n)->paramkind != PARAM_EXTERN ||
				!RvShardTypeOk(dp, ((Param *) n)->paramtype))
				return false;
			RvShardDeparseValue(dp, n, -1);
			return true;
		case T_OpExpr:
			{
				OpExpr	   *op = (OpExpr *) n;

				appendStringInfoChar(&dp->buf, '(');
				if (list_length(op->args) == 2 &&
					!RvShardDeparseExpr(dp, linitial(op->args)))
					return false;
				if (!RvShardDeparseOperator(dp, op->opno, op->opfuncid) ||
					!RvShardDeparseExpr(dp, llast(op->args)))
					return false;
				appendStringInfoChar(&dp->buf, ')');
				return true;
			}
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) n;

				appendStringInfoChar(&dp->buf, '(');
				if (!RvShardDeparseExpr(dp, linitial(op->args)) ||
					!RvShardDeparseOperator(dp, op->opno, op->opfuncid))
					return false;
				appendStringInfoString(&dp->buf, op->useOr ? "ANY (" : "ALL (");
				if (!RvShardDeparseExpr(dp, lsecond(op->args)))
					return false;
				appendStringInfoString(&dp->buf, "))");
				return true;
			}
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) n;

				appendStringInfoString(&dp->buf, b->boolop == NOT_EXPR ? "(NOT " : "(");
				if (!RvShardDeparseList(dp, b->args, b->boolop == AND_EXPR ? " AND " : " OR "))
					return false;
				appendStringInfoChar(&dp->buf, ')');
				return true;
			}
		case T_NullTest:
			{
				NullTest   *t = (NullTest *) n;

				if (t->argisrow)
					return false;
				appendStringInfoChar(&dp->buf, '(');
				if (!RvShardDeparseExpr(dp, (Node *) t->arg))
					return false;
				appendStringInfoString(&dp->buf, t->nulltesttype == IS_NULL ?
									   " IS NULL)" : " IS NOT NULL)");
				return true;
			}
		case T_RelabelType:
			{
				RelabelType *r = (RelabelType *) n;

				if (!RvShardTypeOk(dp, r->resulttype))
					return false;
				appendStringInfoChar(&dp->buf, '(');
				if (!RvShardDeparseExpr(dp, (Node *) r->arg))
					return false;
				appendStringInfo(&dp->buf, ")::%s",
								 format_type_extended(r->resulttype, r->resulttypmod,
													  FORMAT_TYPE_FORCE_QUALIFY | FORMAT_TYPE_TYPEMOD_GIVEN));
				return true;
			}
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) n;

				if (f->funcvariadic || !RvShardFuncOk(dp, f->funcid))
					return false;
				appendStringInfo(&dp->buf, "%s.%s(",
								 quote_identifier(get_namespace_name(get_func_namespace(f->funcid))),
								 quote_identifier(get_func_name(f->funcid)));
				if (!RvShardDeparseList(dp, f->args, ", "))
					return false;
				appendStringInfoChar(&dp->buf, ')');
				return true;
			}
		case T_ArrayExpr:
			{
				ArrayExpr  *a = (ArrayExpr *) n;

				if (a->multidims || !RvShardTypeOk(dp, a->array_typeid))
					return false;
				appendStringInfoString(&dp->buf, "ARRAY[");
				if (!RvShardDeparseList(dp, a->elements, ", "))
					return false;
				appendStringInfo(&dp->buf, "]::%s",
								 format_type_extended(a->array_typeid, -1, FORMAT_TYPE_FORCE_QUALIFY));
				return true;
			}
		default:
			return false;
	}
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
 * table ORDER BY the keys (LIMIT k is added at run time).  NULL if
 * something cannot ship.
 * colmap (first leaf only) gets each scan column's result column or -1.
 */
static char *
RvShardLeafSql(Query *leaf, List *scan_vars, List *extensions, List **colmap,
			   List **values)
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
		else if (IsA(tle->expr, Var) || !RvShardDeparseDistance(&dp, (Node *) tle->expr))
			goto out;
		pos[v->varattno] = ++nremote;
		if (colmap)
			*colmap = lappend_int(*colmap, nremote - 1);
	}
	if (nremote == 0)
		appendStringInfoString(&dp.buf, "NULL");
	appendStringInfoString(&dp.buf, " FROM ");
	RvShardDeparseTable(&dp);
	if (dp.values == NIL)
		goto out;				/* no query value: not the distance we send */
	if (leaf->jointree->quals != NULL)
	{
		Node	   *quals = leaf->jointree->quals;

		appendStringInfoString(&dp.buf, " WHERE ");
		/* the parser's implicit AND is a List */
		if (IsA(quals, List))
			quals = (Node *) make_andclause((List *) quals);
		if (!RvShardDeparseExpr(&dp, quals))
			goto out;
	}
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
	result = dp.buf.data;
	*values = dp.values;
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
 * What the planner hook hands the set_rel_pathlist hook for one placeholder
 * subquery: found by the placeholder's queryId (RV_SHARD_DIRECT_QUERYID +
 * its index in the list), which copyObject keeps.  The list lives for one
 * outermost planner call (RvShardDirectReset).
 */
typedef struct RvShardDirectInfo
{
	List	   *servers;
	List	   *parts;
	List	   *sqls;
	List	   *remote_by_attno;	/* per subquery column: result column or -1 */
	Oid			checkasuser;
	Query	   *fallback;		/* the union of the leaves, for postgres_fdw */
	List	   *values;			/* $1 (the query value), $2 ... */
	Node	   *limit;
} RvShardDirectInfo;

#define RV_SHARD_DIRECT_QUERYID UINT64CONST(0x5276534400000000)	/* "RvSD" */
#define RV_SHARD_DIRECT_MAX 0xFFFFFF

static List *rv_shard_direct_stash = NIL;

void
RvShardDirectReset(void)
{
	rv_shard_direct_stash = NIL;	/* its memory went with the last plan's */
}

/* The stashed info of a placeholder, or NULL if q is not one */
static RvShardDirectInfo *
RvShardDirectFind(Query *q)
{
	uint64		n = q->queryId - RV_SHARD_DIRECT_QUERYID;

	if (q->queryId < RV_SHARD_DIRECT_QUERYID || n >= list_length(rv_shard_direct_stash))
		return NULL;
	return list_nth(rv_shard_direct_stash, (int) n);
}

bool
RvShardIsDirectPlaceholder(Query *q)
{
	return RvShardDirectFind(q) != NULL;
}

/*
 * The placeholder that stands in the query for the top subquery: its
 * columns as NULLs, no FROM, and the LIMIT (which keeps the planner from
 * pulling it up).  Planned in no time; its path is replaced by the
 * CustomScan, so it never runs.
 */
static Query *
RvShardPlaceholder(Query *top, int index)
{
	Query	   *ph = makeNode(Query);
	ListCell   *lc;

	foreach(lc, top->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Node	   *e = (Node *) tle->expr;
		TargetEntry *out;

		out = makeTargetEntry((Expr *) makeNullConst(exprType(e), exprTypmod(e),
													  exprCollation(e)),
							  tle->resno, pstrdup(tle->resname), false);
		ph->targetList = lappend(ph->targetList, out);
	}
	ph->commandType = CMD_SELECT;
	ph->querySource = QSRC_ORIGINAL;
	ph->canSetTag = true;
	ph->jointree = makeFromExpr(NIL, NULL);
	ph->limitCount = copyObject(top->limitCount);
	ph->limitOption = LIMIT_OPTION_COUNT;
	ph->queryId = RV_SHARD_DIRECT_QUERYID + index;
	return ph;
}

/*
 * Planner hook side: top is the subquery that replaces the sharded parent
 * (the union of the leaves, or the one leaf), used its columns the outer
 * query reads (1-based).  When every leaf can be sent directly, returns
 * the placeholder to put in its place, with top kept as the fallback;
 * NULL otherwise (top is planned as it is, through postgres_fdw).
 */
Query *
RvShardDirectRewrite(Query *top, Bitmapset *used)
{
	List	   *leaves = RvShardDirectLeaves(top);
	List	   *scan_vars = NIL;
	List	   *colmap = NIL;
	RvShardDirectInfo *info;
	int			ncols = list_length(top->targetList);
	int			col = -1;
	ListCell   *lc;

	if (!rv_shard_direct || list_length(rv_shard_direct_stash) >= RV_SHARD_DIRECT_MAX)
		return NULL;
	info = palloc0(sizeof(RvShardDirectInfo));
	while ((col = bms_next_member(used, col)) >= 0)
		scan_vars = lappend(scan_vars, makeVar(1, col, InvalidOid, -1, InvalidOid, 0));
	foreach(lc, leaves)
	{
		Query	   *leaf = lfirst_node(Query, lc);
		RangeTblEntry *prte = linitial_node(RangeTblEntry, leaf->rtable);
		ForeignServer *server;
		List	   *leaf_values = NIL;
		char	   *sql;

		if (prte->relkind != RELKIND_FOREIGN_TABLE)
			return NULL;
		server = GetForeignServer(GetForeignTable(prte->relid)->serverid);
		if (!RvShardIsPostgresFdw(server))
			return NULL;
		sql = RvShardLeafSql(leaf, scan_vars, RvShardServerExtensions(server),
							 lc == list_head(leaves) ? &colmap : NULL, &leaf_values);
		if (sql == NULL || leaf_values == NIL ||
			(info->values != NIL && !equal(info->values, leaf_values)))
			return NULL;
		info->values = leaf_values;
		info->servers = lappend_oid(info->servers, server->serverid);
		info->parts = lappend_oid(info->parts, prte->relid);
		info->sqls = lappend(info->sqls, makeString(sql));
	}
	info->limit = linitial_node(Query, leaves)->limitCount;
	foreach(lc, info->values)
		if (!RvShardIsValue(lfirst(lc)))
			return NULL;
	if (!RvShardIsValue(info->limit) || exprType(info->limit) != INT8OID)
		return NULL;

	for (int i = 1; i <= ncols; i++)
		info->remote_by_attno = lappend_int(info->remote_by_attno, -1);
	foreach(lc, scan_vars)
		list_nth_cell(info->remote_by_attno, lfirst_node(Var, lc)->varattno - 1)->int_value =
			list_nth_int(colmap, foreach_current_index(lc));
	info->checkasuser = linitial_node(RangeTblEntry,
									  linitial_node(Query, leaves)->rtable)->checkAsUser;
	info->fallback = top;
	rv_shard_direct_stash = lappend(rv_shard_direct_stash, info);
	return RvShardPlaceholder(top, list_length(rv_shard_direct_stash) - 1);
}

/*
 * set_rel_pathlist_hook side, for a placeholder subquery: the CustomPath
 * becomes the rel's only path.
 */
void
RvShardDirectPath(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	RvShardDirectInfo *info = RvShardDirectFind(rte->subquery);
	CustomPath *cp;

	if (info == NULL)
		elog(ERROR, "ruvector: sharded top-k placeholder without its plan");
	cp = makeNode(CustomPath);
	cp->path.pathtype = T_CustomScan;
	cp->path.parent = rel;
	cp->path.pathtarget = rel->reltarget;
	cp->path.rows = rel->rows;
	cp->path.startup_cost = 0;
	cp->path.total_cost = rel->rows;
	cp->custom_private = list_make1(info);	/* not a node: used at once */
	cp->methods = &rv_shard_path_methods;
	rel->pathlist = list_make1(cp);
	rel->partial_pathlist = NIL;
}

/*
 * The plan: the scan tuple is the rel's target list (Vars of the
 * placeholder's columns), each mapped to its column in the shards' result.
 * The partitions go into the plan's dependencies, so DDL on one of them
 * (ALTER FOREIGN TABLE ... OPTIONS, DETACH) replans.
 */
static Plan *
RvShardPlanPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				List *tlist, List *clauses, List *custom_plans)
{
	RvShardDirectInfo *info = linitial(best_path->custom_private);
	CustomScan *cs = makeNode(CustomScan);
	List	   *colmap = NIL;
	List	   *attnos = NIL;
	ListCell   *lc;

	if (clauses != NIL)
		elog(ERROR, "ruvector: sharded top-k placeholder with a filter");
	foreach(lc, tlist)
	{
		Var		   *v = (Var *) lfirst_node(TargetEntry, lc)->expr;

		if (!IsA(v, Var) || v->varattno <= 0)
			elog(ERROR, "ruvector: sharded top-k placeholder with a computed column");
		colmap = lappend_int(colmap, list_nth_int(info->remote_by_attno, v->varattno - 1));
		attnos = lappend_int(attnos, v->varattno);
	}
	foreach(lc, info->parts)
		root->glob->relationOids = lappend_oid(root->glob->relationOids, lfirst_oid(lc));
	cs->scan.plan.targetlist = tlist;
	cs->scan.scanrelid = 0;
	cs->custom_scan_tlist = copyObject(tlist);
	cs->custom_exprs = lcons(eval_const_expressions(root, copyObject(info->limit)),
							 (List *) eval_const_expressions(root, copyObject((Node *) info->values)));
	cs->custom_private = list_make5(info->servers, info->parts, info->sqls, colmap,
									list_make1_oid(info->checkasuser));
	cs->custom_private = lappend(cs->custom_private, copyObject(info->fallback));
	cs->custom_private = lappend(cs->custom_private, attnos);
	cs->custom_private = lappend(cs->custom_private, makeInteger(0));
	cs->methods = &rv_shard_scan_methods;
	return &cs->scan.plan;
}

/* The direct path's CustomScan at the top of a plan (under Limit, Sort) */
static CustomScan *
RvShardFindDirectScan(Plan *p)
{
	while (p != NULL)
	{
		if (IsA(p, CustomScan))
			return ((CustomScan *) p)->methods == &rv_shard_scan_methods ?
				(CustomScan *) p : NULL;
		if (p->righttree != NULL)
			return NULL;
		p = IsA(p, SubqueryScan) ? ((SubqueryScan *) p)->subplan : p->lefttree;
	}
	return NULL;
}

/* Is the plan the direct path's (for shard_cache.c)? */
bool
RvShardDirectInPlan(PlannedStmt *plan)
{
	return plan->subplans == NIL && RvShardFindDirectScan(plan->planTree) != NULL;
}

/*
 * Swap the query value from -> to where the direct path put it: the
 * values it ships and its postgres_fdw fallback query (shard_cache.c).
 */
void
RvShardDirectSwapValue(PlannedStmt *plan, Const *from, Const *to, bool cached)
{
	CustomScan *cs = RvShardFindDirectScan(plan->planTree);
	ListCell   *fb;

	if (cs == NULL)
		elog(ERROR, "ruvector: cached sharded top-k plan without its scan");
	cs->custom_exprs = (List *) RvShardSwapConst((Node *) cs->custom_exprs, from, to, NULL);
	fb = list_nth_cell(cs->custom_private, RV_PRIV_FALLBACK);
	lfirst(fb) = RvShardSwapConst(lfirst(fb), from, to, NULL);
	if (cached)
		lfirst(list_nth_cell(cs->custom_private, RV_PRIV_CACHED)) = makeInteger(1);
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
 * per-shard snapshot is right (file header): nothing written yet in the
 * transaction, and not SERIALIZABLE, nor REPEATABLE READ in a
 * transaction block.
 */
static bool
RvShardDirectAllowed(void)
{
	return rv_shard_direct && GetCurrentCommandId(false) == FirstCommandId &&
		(IsTransactionBlock() ? !IsolationUsesXactSnapshot() : !IsolationIsSerializable());
}

/*
 * Is a value of this type sent (or read back) in binary?  Only when its
 * binary form carries no text: the send and receive functions of strings
 * (text, name, json, xml, ... and arrays of them) convert between the
 * database encoding and this session's client_encoding, which need not
 * be the shard connection's (the database encoding, shard_conn.c).  So:
 * built-in numbers, dates and times, booleans, bit strings, geometry,
 * network addresses and fixed-length types (uuid, pg_lsn; not name),
 * arrays of those, and ruvector's own types (the query vector: the shard
 * has ruvector, listed in the server's extensions, whose binary format is
 * the same on both sides; no float printing here, no parsing there).
 * Not the OID aliases (regclass, regtype, ...): their binary form is an
 * OID, which names another object, or none, on another server; as text
 * they are names each server resolves.  Anything else goes as text
 * (RvShardValueText).
 */
static bool
RvShardOidAlias(Oid type)
{
	switch (type)
	{
		case REGPROCOID:
		case REGPROCEDUREOID:
		case REGOPEROID:
		case REGOPERATOROID:
		case REGCLASSOID:
		case REGTYPEOID:
		case REGCOLLATIONOID:
		case REGCONFIGOID:
		case REGDICTIONARYOID:
		case REGNAMESPACEOID:
		case REGROLEOID:
			return true;
	}
	return false;
}

static bool
RvShardBinaryValue(Oid type)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
	Form_pg_type t;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		return false;
	t = (Form_pg_type) GETSTRUCT(tup);
	if (!OidIsValid(t->typsend) || !OidIsValid(t->typreceive) || t->typtype != TYPTYPE_BASE ||
		RvShardOidAlias(type))
		ok = false;
	else if (type >= FirstGenbkiObjectId)
		ok = strcmp(RvShardExtensionOf(TypeRelationId, type), "ruvector") == 0;
	else if (t->typcategory == TYPCATEGORY_ARRAY)
		ok = OidIsValid(t->typelem) && t->typelem != type && RvShardBinaryValue(t->typelem);
	else
		ok = strchr("NDBTVGI", t->typcategory) != NULL ||
			(t->typlen > 0 && t->typcategory != TYPCATEGORY_STRING);
	ReleaseSysCache(tup);
	return ok;
}

/*
 * A value as text, printed as the shard's session reads it (shard_conn.c,
 * RvShardShardStyle sets this session alike until AtEOXact_GUC):
 * ISO dates, postgres intervals and every float digit, whatever this
 * session's DateStyle, IntervalStyle or extra_float_digits (a DMY date or
 * a rounded float would select other rows on the shard), and names of
 * objects (regclass and the other OID aliases) qualified as the shard's
 * search_path, pg_catalog (shard_conn.c), needs them.
 */
static int
RvShardShardStyle(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("datestyle", "ISO", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;				/* AtEOXact_GUC(true, nest) puts them back */
}

static char *
RvShardValueText(FmgrInfo *out, Datum d)
{
	int			nest = RvShardShardStyle();
	char	   *text = OutputFunctionCall(out, d);

	AtEOXact_GUC(true, nest);
	return text;
}

static void
RvShardBegin(CustomScanState *node, EState *estate, int eflags)
{
	RvShardScanState *st = (RvShardScanState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	TupleDesc	desc = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	List	   *colmap = list_nth(cs->custom_private, RV_PRIV_COLMAP);
	bool		varlena;
	Oid			outfunc;
	ListCell   *lc;

	st->servers = list_nth(cs->custom_private, RV_PRIV_SERVERS);
	st->parts = list_nth(cs->custom_private, RV_PRIV_PARTS);
	st->sqls = list_nth(cs->custom_private, RV_PRIV_SQL);
	st->userid = linitial_oid((List *) list_nth(cs->custom_private, RV_PRIV_USER));
	if (!OidIsValid(st->userid))
		st->userid = GetUserId();
	st->direct = RvShardDirectAllowed();
	st->estate = estate;

	/* the partitions are read as a plan over them would lock them */
	foreach(lc, st->parts)
		LockRelationOid(lfirst_oid(lc), AccessShareLock);
	if (!st->direct)
	{
		RvShardFallbackStart(st, eflags);
		return;
	}

	st->limit = ExecInitExpr(linitial(cs->custom_exprs), &node->ss.ps);
	st->nvalues = list_length(cs->custom_exprs) - 1;
	st->value = palloc(sizeof(ExprState *) * st->nvalues);
	st->value_binary = palloc(sizeof(int) * st->nvalues);
	st->value_out = palloc0(sizeof(FmgrInfo) * st->nvalues);
	for_each_from(lc, cs->custom_exprs, 1)
	{
		int			k = foreach_current_index(lc) - 1;
		Oid			type = exprType(lfirst(lc));

		st->value[k] = ExecInitExpr(lfirst(lc), &node->ss.ps);
		st->value_binary[k] = RvShardBinaryValue(type);
		if (st->value_binary[k])
			getTypeBinaryOutputInfo(type, &outfunc, &varlena);
		else
			getTypeOutputInfo(type, &outfunc, &varlena);
		fmgr_info(outfunc, &st->value_out[k]);
	}
	st->ncols = desc->natts;
	st->remote_col = palloc(sizeof(int) * st->ncols);
	st->in_fn = palloc0(sizeof(FmgrInfo) * st->ncols);
	st->in_ioparam = palloc(sizeof(Oid) * st->ncols);
	st->in_typmod = palloc(sizeof(int32) * st->ncols);
	st->binary_rows = true;
	for (int j = 0; j < st->ncols; j++)
	{
		Oid			type = TupleDescAttr(desc, j)->atttypid;

		st->remote_col[j] = list_nth_int(colmap, j);
		if (st->remote_col[j] >= 0 &&
			(type >= FirstGenbkiObjectId || !RvShardBinaryValue(type)))
			st->binary_rows = false;
	}
	for (int j = 0; j < st->ncols; j++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, j);
		Oid			infunc;

		if (st->binary_rows)
			getTypeBinaryInputInfo(att->atttypid, &infunc, &st->in_ioparam[j]);
		else
			getTypeInputInfo(att->atttypid, &infunc, &st->in_ioparam[j]);
		fmgr_info(infunc, &st->in_fn[j]);
		st->in_typmod[j] = att->atttypmod;
	}
	st->rows_cxt = AllocSetContextCreate(estate->es_query_cxt, "ruvector shard rows",
										 ALLOCSET_SMALL_SIZES);
}

/*
 * Wait, interruptibly, until c has a whole result to read.  Reads what has
 * arrived first: the shards answer at about the same time, so after the
 * first wait the others usually need none.  The wait set is the
 * connection's own (one epoll_wait, not a new set per wait).
 */
static void
RvShardWait(RvShardConn *c)
{
	PGconn	   *conn = RvShardConnPg(c);

	while (PQconsumeInput(conn) && PQisBusy(conn))
	{
		WaitEvent	ev;

		WaitEventSetWait(RvShardConnWaitSet(c), -1L, &ev, 1, PG_WAIT_EXTENSION);
		if (ev.events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
}

/* A binary result value of column j (libpq ends every value with a NUL) */
static Datum
RvShardReceive(RvShardScanState *st, int j, char *data, int len)
{
	StringInfoData buf;
	Datum		d;

	buf.data = data;
	buf.len = len;
	buf.maxlen = len + 1;
	buf.cursor = 0;
	d = ReceiveFunctionCall(&st->in_fn[j], &buf, st->in_ioparam[j], st->in_typmod[j]);
	if (buf.cursor != buf.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("a shard returned %d bytes for column %d, %d of them read",
						len, j + 1, buf.cursor)));
	return d;
}

/* Keep the rows of one shard's result */
static void
RvShardKeepRows(RvShardScanState *st, PGresult *res)
{
	MemoryContext old;
	int			n = PQntuples(res);

	for (int j = 0; j < st->ncols; j++)
		if (st->remote_col[j] >= PQnfields(res))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_COLUMN_NUMBER),
					 errmsg("a shard returned %d columns, expected at least %d",
							PQnfields(res), st->remote_col[j] + 1)));
	old = MemoryContextSwitchTo(st->rows_cxt);

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
			if (isnull[j])
				v[j] = (Datum) 0;
			else if (st->binary_rows)
				v[j] = RvShardReceive(st, j, PQgetvalue(res, i, c),
									  PQgetlength(res, i, c));
			else
				v[j] = InputFunctionCall(&st->in_fn[j], PQgetvalue(res, i, c),
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
	if (st->server == NULL)
		st->server = palloc0(sizeof(ForeignServer *) * list_length(st->servers));
	if (st->server[i] == NULL)
		st->server[i] = GetForeignServer(list_nth_oid(st->servers, i));
	return st->server[i];
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
RvShardSend(RvShardScanState *st, int i, const char *const *params,
			const int *lengths, RvShardConn **c)
{
	ForeignServer *server = RvShardServer(st, i);
	const char *sql = st->run_sql[i];

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
		if (PQsendQueryPrepared(RvShardConnPg(*c), name, st->nvalues, params, lengths,
								st->value_binary, st->binary_rows))
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

	RvShardWait(c);
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
		RvShardReportError(ERROR, res, conn, server, st->run_sql[i]);
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
	const char **params = palloc0(sizeof(char *) * st->nvalues);
	int		   *lengths = palloc0(sizeof(int) * st->nvalues);
	char	   *limit;
	bool		isnull;
	Datum		d;
	int			nleft = n;

	for (int k = 0; k < st->nvalues; k++)
	{
		d = ExecEvalExprSwitchContext(st->value[k], econtext, &isnull);
		if (!isnull && st->value_binary[k])
		{
			bytea	   *b = SendFunctionCall(&st->value_out[k], d);

			params[k] = VARDATA(b);
			lengths[k] = VARSIZE(b) - VARHDRSZ;
		}
		else if (!isnull)
			params[k] = RvShardValueText(&st->value_out[k], d);
	}
	d = ExecEvalExprSwitchContext(st->limit, econtext, &isnull);
	limit = isnull ? "ALL" : psprintf(INT64_FORMAT, DatumGetInt64(d));
	st->run_sql = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
		st->run_sql[i] = psprintf("%s LIMIT %s", strVal(list_nth(st->sqls, i)), limit);

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
			switch (RvShardSend(st, i, params, lengths, &sent[i]))
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

/*
 * The postgres_fdw path, planned now: the union of one ORDER BY ... LIMIT k
 * query per partition (shard_plan.c), started with this statement's
 * snapshot, parameters and instrumentation (so EXPLAIN shows it under the
 * CustomScan, with ANALYZE its actual rows), run to the end into a
 * tuplestore on the first fetch.  Only inside transaction blocks and the
 * like (RvShardDirectAllowed), so its planning is not paid by every query.
 */
static void
RvShardFallbackStart(RvShardScanState *st, int eflags)
{
	CustomScan *cs = (CustomScan *) st->css.ss.ps.plan;
	Query	   *q = copyObject(list_nth(cs->custom_private, RV_PRIV_FALLBACK));
	ParamListInfo params = st->estate->es_param_list_info;
	MemoryContext old = MemoryContextSwitchTo(st->estate->es_query_cxt);
	PlannedStmt *ps = pg_plan_query(q, NULL, 0, params);

	st->fallback = tuplestore_begin_heap(false, false, work_mem);
	st->fallback_dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(st->fallback_dest, st->fallback,
									st->estate->es_query_cxt, false, NULL, NULL);
	st->fallback_qd = CreateQueryDesc(ps, "", GetActiveSnapshot(), InvalidSnapshot,
									  st->fallback_dest, params, NULL,
									  st->estate->es_instrument);
	ExecutorStart(st->fallback_qd, eflags & EXEC_FLAG_EXPLAIN_ONLY);
	st->fallback_slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(st->fallback_qd->tupDesc),
												 &TTSOpsMinimalTuple);
	MemoryContextSwitchTo(old);
}

static void
RvShardFallbackRun(RvShardScanState *st)
{
	MemoryContext old = MemoryContextSwitchTo(st->estate->es_query_cxt);

	ExecutorRun(st->fallback_qd, ForwardScanDirection, 0, true);
	ExecutorFinish(st->fallback_qd);
	st->fallback_run = true;
	MemoryContextSwitchTo(old);
}

/* Next row: from the shards' answers, or from the postgres_fdw plan's */
static TupleTableSlot *
RvShardNext(ScanState *ss)
{
	RvShardScanState *st = (RvShardScanState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;

	ExecClearTuple(slot);
	if (!st->direct)
	{
		List	   *attnos = list_nth(((CustomScan *) ss->ps.plan)->custom_private,
									  RV_PRIV_ATTNOS);
		TupleTableSlot *in;

		if (!st->fallback_run)
			RvShardFallbackRun(st);
		in = st->fallback_slot;
		if (!tuplestore_gettupleslot(st->fallback, true, false, in))
			return slot;
		slot_getallattrs(in);
		for (int j = 0; j < slot->tts_tupleDescriptor->natts; j++)
		{
			int			a = list_nth_int(attnos, j) - 1;

			slot->tts_values[j] = in->tts_values[a];
			slot->tts_isnull[j] = in->tts_isnull[a];
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

	if (st->fallback_qd)
	{
		if (!st->fallback_run &&
			!(st->fallback_qd->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY))
			ExecutorFinish(st->fallback_qd);
		ExecutorEnd(st->fallback_qd);
		FreeQueryDesc(st->fallback_qd);
		st->fallback_dest->rDestroy(st->fallback_dest);
	}
	if (st->fallback_slot)
		ExecDropSingleTupleTableSlot(st->fallback_slot);
	if (st->fallback)
		tuplestore_end(st->fallback);
	ExecClearTuple(node->ss.ss_ScanTupleSlot);
}

/* The same statement again: the shards' rows do not change within it */
static void
RvShardRescan(CustomScanState *node)
{
	RvShardScanState *st = (RvShardScanState *) node;

	st->next = 0;
	if (st->fallback)
		tuplestore_rescan(st->fallback);
}

/* The LIMIT as EXPLAIN shows it: the number when it is a constant */
static char *
RvShardExplainLimit(CustomScanState *node)
{
	Node	   *lim = linitial(((CustomScan *) node->ss.ps.plan)->custom_exprs);

	if (IsA(lim, Const))
		return ((Const *) lim)->constisnull ? "ALL" :
			psprintf(INT64_FORMAT, DatumGetInt64(((Const *) lim)->constvalue));
	return "<the query's LIMIT>";
}

/*
 * The postgres_fdw plan under the CustomScan, as if it were its child.
 * ExplainPrintPlan points es at that plan's range table and deparse
 * context: the outer plan's are put back afterwards.
 */
static void
RvShardExplainFallback(RvShardScanState *st, ExplainState *es)
{
	PlannedStmt *pstmt = es->pstmt;
	List	   *rtable = es->rtable;
	List	   *rtable_names = es->rtable_names;
	List	   *deparse_cxt = es->deparse_cxt;
	Bitmapset  *printed = es->printed_subplans;
	bool		settings = es->settings;

	es->settings = false;		/* printed once, for the outer statement */
	ExplainPrintPlan(es, st->fallback_qd);
	es->pstmt = pstmt;
	es->rtable = rtable;
	es->rtable_names = rtable_names;
	es->deparse_cxt = deparse_cxt;
	es->printed_subplans = printed;
	es->settings = settings;
}

/*
 * The values shipped as $2 ... (the filter's constants and parameters; $1,
 * the query vector, is in the query), as expressions, constants printed
 * as they reach the shard (every float digit)
 */
static void
RvShardExplainValues(CustomScanState *node, ExplainState *es)
{
	List	   *exprs = ((CustomScan *) node->ss.ps.plan)->custom_exprs;
	StringInfoData buf;
	ListCell   *lc;
	int			nest;

	if (list_length(exprs) <= 2)
		return;
	initStringInfo(&buf);
	nest = RvShardShardStyle();
	for_each_from(lc, exprs, 2)
		appendStringInfo(&buf, "%s$%d = %s", buf.len > 0 ? ", " : "",
						 foreach_current_index(lc),
						 deparse_expression(lfirst(lc), NIL, false, false));
	AtEOXact_GUC(true, nest);
	ExplainPropertyText("Shard Parameters", buf.data, es);
}

static void
RvShardExplain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	RvShardScanState *st = (RvShardScanState *) node;

	ExplainPropertyText("Shard Path", st->direct ?
						"direct (one prepared statement per shard)" :
						"postgres_fdw (the plan below)", es);
	if (!st->direct)
	{
		RvShardExplainFallback(st, es);
		return;
	}
	if (!es->verbose)
		return;
	ExplainPropertyText("Shard Plan",
						intVal(list_nth(((CustomScan *) node->ss.ps.plan)->custom_private,
										RV_PRIV_CACHED)) ?
						"from the session's plan cache (ruvector.shard_plan_cache)" :
						"planned for this statement", es);
	for (int i = 0; i < list_length(st->sqls); i++)
		ExplainPropertyText("Shard SQL",
							psprintf("%s: %s LIMIT %s", RvShardServer(st, i)->servername,
									 strVal(list_nth(st->sqls, i)),
									 RvShardExplainLimit(node)), es);
	RvShardExplainValues(node, es);
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
