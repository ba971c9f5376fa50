/*-------------------------------------------------------------------------
 *
 * shard_plan.c
 *	  The nearest-neighbour query on a sharded parent, planned as one
 *	  ORDER BY ... LIMIT k per shard, searched at the same time and merged.
 *
 * NOTES
 *	  A query
 *
 *		SELECT <tlist> FROM parent WHERE <quals> ORDER BY <dist> LIMIT k
 *
 *	  on a partitioned parent whose leaf partitions are foreign tables
 *	  (plain local partitions may be mixed in) is rewritten, in the
 *	  planner hook, into
 *
 *		SELECT <tlist> FROM (
 *			(SELECT <needed cols>, <dist> AS d FROM ONLY part1 WHERE <quals>
 *			 ORDER BY d LIMIT k)
 *			UNION ALL (... part2 ...) ...
 *			ORDER BY d LIMIT k) parent
 *		ORDER BY parent.d LIMIT k
 *
 *	  Why each piece:
 *	  - a query level whose only relation is one foreign table is the case
 *		postgres_fdw pushes ORDER BY and LIMIT into the Remote SQL for, so
 *		each shard runs its own index scan and returns k rows;
 *	  - the union carries its own ORDER BY/LIMIT so it is planned as a set
 *		operation (a plain Append, never a Merge Append, which would fetch
 *		from the shards one after another); its trivial SubqueryScans are
 *		async-capable in PG15, so the Append starts every shard's query
 *		before waiting for any (servers or tables with async_capable);
 *	  - the top k of the union of every shard's top k is exactly the top k
 *		of the whole table (ties at the k-th distance aside, which no plan
 *		orders);
 *	  - columns the outer query does not use come back as NULL constants,
 *		so the subquery keeps the parent's column numbers and every Var of
 *		the outer query stays valid; only the used columns are fetched.
 *
 *	  The parent's RTE stays in the range table, outside the join tree, as
 *	  a view's does after rewriting: the executor still checks the
 *	  caller's privileges on the parent (the partitions are not checked,
 *	  as for any partitioned query) and the plan is invalidated when the
 *	  parent changes (ATTACH/DETACH PARTITION).  Doing this at planning,
 *	  not parse analysis, is what keeps a prepared statement right after a
 *	  partition change.
 *
 *	  Quals postgres_fdw cannot ship stay local on the coordinator, and
 *	  then it pushes no LIMIT for that shard: still exact, just slower.
 *	  Quals on the partition key do not prune shards in the rewritten
 *	  form; every shard is asked.
 *
 *	  When every partition is a postgres_fdw foreign table and nothing but
 *	  the sort keys must be sent, shard_direct.c puts a CustomScan over the
 *	  subquery that reads each shard with one prepared statement over
 *	  libpq, keeping this plan as its fallback (set_rel_pathlist_hook on the
 *	  subquery, marked RV_SHARD_TOP_QUERYID).
 *
 *	  With ruvector.shard_partial_results on, each foreign partition's
 *	  server is pinged (libpq PQpingParams) while planning and one that
 *	  does not answer is left out with a WARNING naming it.  The choice is
 *	  part of the plan: a generic plan of a prepared statement keeps it
 *	  (docs/sharding.md: use plan_cache_mode = force_custom_plan).
 *
 *	  Lock order: AccessShareLock on the parent (already held from parse
 *	  analysis), then on every partition in partition bound order, depth
 *	  first, as planning the partitioned query locks them.
 *
 * IDENTIFICATION
 *	  src/shard/shard_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "parser/parsetree.h"
#include "access/attmap.h"
#include "rewrite/rewriteManip.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "shard/shard.h"

bool		rv_shard_pushdown = true;
bool		rv_shard_partial_results = false;

static planner_hook_type rv_shard_prev_planner = NULL;
static int	rv_shard_planner_depth = 0;	/* nesting of RvShardPlanner */
static set_rel_pathlist_hook_type rv_shard_prev_pathlist = NULL;

/*
 * The queryId of every leaf query we make.  PG15 flattens a UNION ALL of
 * equal column types into an append relation whose parent RTE is (a copy
 * of) the leftmost leaf's (flatten_simple_union_all); the planner copies
 * subqueries before planning them, so a mark that copyObject keeps is what
 * identifies our unions in the set_rel_pathlist hook.  Core uses queryId
 * only for the top-level statement.
 */
#define RV_SHARD_LEAF_QUERYID UINT64CONST(0x5276536861726431)	/* "RvShard1" */

/* What the rewrite needs to know about the matched query */
typedef struct RvShardQueryData
{
	Query	   *query;
	RangeTblEntry *parent_rte;
	Relation	parent;
	int			natts;			/* parent's attributes, dropped included */
	List	   *sort_exprs;		/* the ORDER BY expressions, in order */
	Bitmapset  *needed;			/* parent attnos the outer query still reads */
} RvShardQueryData;

/* A reference to range table entry rti */
static RangeTblRef *
RvShardRtRef(int rti)
{
	RangeTblRef *ref = makeNode(RangeTblRef);

	ref->rtindex = rti;
	return ref;
}

/* Does the ORDER BY lead with <column> <op> <constant or parameter>? */
static bool
RvShardIsDistance(Node *expr)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;

	if (!IsA(expr, OpExpr))
		return false;
	op = (OpExpr *) expr;
	if (list_length(op->args) != 2 || op->opresulttype != FLOAT8OID)
		return false;
	l = strip_implicit_coercions(linitial(op->args));
	r = strip_implicit_coercions(lsecond(op->args));
	if (IsA(r, Var) && !IsA(l, Var))
	{
		Node	   *t = l;

		l = r;
		r = t;
	}
	return IsA(l, Var) && !contain_var_clause(r) &&
		!contain_volatile_functions(r);
}

/* Every Var of the expression is a user column (no ctid, tableoid, row) */
static bool
RvShardUserColumnsOnly(Node *node)
{
	Bitmapset  *attnos = NULL;
	int			m = -1;

	pull_varattnos(node, 1, &attnos);
	while ((m = bms_next_member(attnos, m)) >= 0)
		if (m + FirstLowInvalidHeapAttributeNumber <= 0)
			return false;
	return true;
}

/* Is this query the one shape we rewrite?  Cheap checks first. */
static bool
RvShardQueryShape(Query *q)
{
	RangeTblEntry *rte;
	SortGroupClause *first;
	Node	   *lim = q->limitCount;

	if (q->commandType != CMD_SELECT || q->utilityStmt != NULL ||
		q->sortClause == NIL || lim == NULL || q->limitOffset != NULL ||
		q->limitOption != LIMIT_OPTION_COUNT)
		return false;
	if (q->hasAggs || q->hasWindowFuncs || q->hasTargetSRFs ||
		q->hasSubLinks || q->hasDistinctOn || q->hasRecursive ||
		q->hasModifyingCTE || q->hasForUpdate || q->hasRowSecurity)
		return false;
	if (q->cteList || q->groupClause || q->groupingSets || q->havingQual ||
		q->windowClause || q->distinctClause || q->setOperations ||
		q->rowMarks)
		return false;
	if (list_length(q->rtable) != 1 || list_length(q->jointree->fromlist) != 1 ||
		!IsA(linitial(q->jointree->fromlist), RangeTblRef))
		return false;
	rte = linitial_node(RangeTblEntry, q->rtable);
	if (rte->rtekind != RTE_RELATION || !rte->inh ||
		rte->relkind != RELKIND_PARTITIONED_TABLE ||
		rte->tablesample != NULL || rte->securityQuals != NIL)
		return false;
	/* LIMIT is copied into every leaf: no columns, same value each time */
	if (contain_var_clause(lim) || contain_volatile_functions(lim))
		return false;

	first = linitial_node(SortGroupClause, q->sortClause);
	if (!RvShardIsDistance((Node *) get_sortgroupclause_expr(first, q->targetList)))
		return false;
	if (contain_volatile_functions((Node *) q->targetList) ||
		contain_volatile_functions(q->jointree->quals))
		return false;
	return RvShardUserColumnsOnly((Node *) q->targetList) &&
		RvShardUserColumnsOnly(q->jointree->quals);
}

/*
 * Collect the leaf partitions under rel, locking each as planning the
 * partitioned query would (partition bound order, from the relcache's
 * partition descriptor: no catalog scan per query).  *foreign if one is a
 * foreign table; false if a leaf is neither foreign nor a plain table.
 */
static bool
RvShardLeavesOf(Relation rel, List **leaves, bool *foreign)
{
	PartitionDesc pd = RelationGetPartitionDesc(rel, true);

	for (int i = 0; i < pd->nparts; i++)
	{
		Oid			child = pd->oids[i];
		char		kind;

		LockRelationOid(child, AccessShareLock);
		if (!pd->is_leaf[i])
		{
			Relation	sub = table_open(child, NoLock);
			bool		ok = RvShardLeavesOf(sub, leaves, foreign);

			table_close(sub, NoLock);
			if (!ok)
				return false;
			continue;
		}
		kind = get_rel_relkind(child);
		if (kind == RELKIND_FOREIGN_TABLE)
		{
			*foreign = true;
			if (rv_shard_partial_results)
			{
				ForeignServer *server =
					GetForeignServer(GetForeignTable(child)->serverid);

				if (!RvShardServerAnswers(server))
				{
					ereport(WARNING,
							(errcode(ERRCODE_CONNECTION_FAILURE),
							 errmsg("shard \"%s\" on server \"%s\" is not answering; its rows are left out",
									get_rel_name(child), server->servername),
							 errhint("ruvector.shard_partial_results is on; turn it off to get an error instead.")));
					continue;
				}
			}
		}
		else if (kind != RELKIND_RELATION)
			return false;
		*leaves = lappend_oid(*leaves, child);
	}
	return true;
}

/*
 * The leaf partitions to ask, or NIL when the parent is not sharded
 * (no foreign partition, or a partition of another kind).
 */
static List *
RvShardLeaves(Oid parent)
{
	Relation	rel = table_open(parent, NoLock);	/* locked by parse analysis */
	List	   *leaves = NIL;
	bool		foreign = false;
	bool		ok = RvShardLeavesOf(rel, &leaves, &foreign);

	table_close(rel, NoLock);
	return ok && foreign ? leaves : NIL;
}

/* The column names of a relation, "" for dropped ones, for an RTE's eref */
static List *
RvShardColnames(TupleDesc desc)
{
	List	   *names = NIL;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		names = lappend(names, makeString(pstrdup(att->attisdropped ? "" :
												  NameStr(att->attname))));
	}
	return names;
}

/* The sort columns' names, after the parent's */
static List *
RvShardSortColnames(int nsort)
{
	List	   *names = NIL;

	for (int j = 1; j <= nsort; j++)
		names = lappend(names, makeString(psprintf("ruvector_sort_%d", j)));
	return names;
}

/* Copy the outer SortGroupClauses, pointing them at sort columns 1..n */
static List *
RvShardSortClause(List *outer_sort)
{
	List	   *out = NIL;
	Index		ref = 1;
	ListCell   *lc;

	foreach(lc, outer_sort)
	{
		SortGroupClause *s = copyObject(lfirst_node(SortGroupClause, lc));

		s->tleSortGroupRef = ref++;
		out = lappend(out, s);
	}
	return out;
}

/* The target entries of a leaf: the parent's columns, then the sort keys */
static List *
RvShardLeafTlist(RvShardQueryData *sq, AttrMap *map)
{
	TupleDesc	pdesc = RelationGetDescr(sq->parent);
	List	   *tlist = NIL;
	AttrNumber	resno = 1;
	Index		ref = 1;
	ListCell   *lc;

	for (int i = 0; i < sq->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(pdesc, i);
		Expr	   *e;

		if (att->attisdropped)
			e = (Expr *) makeNullConst(INT4OID, -1, InvalidOid);
		else if (bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, sq->needed))
			e = (Expr *) makeVar(1, map->attnums[i], att->atttypid,
								 att->atttypmod, att->attcollation, 0);
		else
			e = (Expr *) makeNullConst(att->atttypid, att->atttypmod,
									   att->attcollation);
		tlist = lappend(tlist, makeTargetEntry(e, resno++,
											   pstrdup(NameStr(att->attname)), false));
	}
	foreach(lc, sq->sort_exprs)
	{
		bool		whole_row;
		Node	   *e = map_variable_attnos(copyObject(lfirst(lc)), 1, 0, map,
											InvalidOid, &whole_row);
		TargetEntry *tle = makeTargetEntry((Expr *) e, resno++,
										   psprintf("ruvector_sort_%u", ref), false);

		tle->ressortgroupref = ref++;
		tlist = lappend(tlist, tle);
	}
	return tlist;
}

/* SELECT <cols>, <sort keys> FROM ONLY part WHERE <quals> ORDER BY .. LIMIT k */
static Query *
RvShardLeafQuery(RvShardQueryData *sq, Oid partoid)
{
	Relation	part = table_open(partoid, NoLock);	/* locked by the caller */
	AttrMap    *map = build_attrmap_by_name(RelationGetDescr(part),
											RelationGetDescr(sq->parent));
	Query	   *leaf = makeNode(Query);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	Node	   *quals = NULL;
	bool		whole_row;

	rte->rtekind = RTE_RELATION;
	rte->relid = partoid;
	rte->relkind = part->rd_rel->relkind;
	rte->rellockmode = AccessShareLock;
	rte->inh = false;
	rte->inFromCl = true;
	rte->requiredPerms = 0;		/* checked on the parent, as for any partition */
	rte->checkAsUser = sq->parent_rte->checkAsUser;
	rte->eref = makeAlias(pstrdup(RelationGetRelationName(part)),
						  RvShardColnames(RelationGetDescr(part)));

	if (sq->query->jointree->quals)
		quals = map_variable_attnos(copyObject(sq->query->jointree->quals), 1, 0,
									map, InvalidOid, &whole_row);

	leaf->commandType = CMD_SELECT;
	leaf->queryId = RV_SHARD_LEAF_QUERYID;
	leaf->querySource = QSRC_ORIGINAL;
	leaf->canSetTag = true;
	leaf->rtable = list_make1(rte);
	leaf->jointree = makeFromExpr(list_make1(RvShardRtRef(1)), quals);
	leaf->targetList = RvShardLeafTlist(sq, map);
	leaf->sortClause = RvShardSortClause(sq->query->sortClause);
	leaf->limitCount = copyObject(sq->query->limitCount);
	leaf->limitOption = LIMIT_OPTION_COUNT;

	table_close(part, NoLock);
	return leaf;
}

/* A subquery RTE over q, named like the parent */
static RangeTblEntry *
RvShardSubqueryRte(RvShardQueryData *sq, Query *q, const char *name, bool in_from)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = q;
	rte->eref = makeAlias(pstrdup(name),
						  list_concat(RvShardColnames(RelationGetDescr(sq->parent)),
									  RvShardSortColnames(list_length(sq->sort_exprs))));
	rte->inFromCl = in_from;
	rte->requiredPerms = 0;
	return rte;
}

/*
 * (leaf1) UNION ALL (leaf2) ... ORDER BY <sort cols> LIMIT k, planned as a
 * set operation: an Append of the leaves, sorted, limited.
 */
static Query *
RvShardUnionQuery(RvShardQueryData *sq, List *leaves)
{
	Query	   *u = makeNode(Query);
	Query	   *first = linitial_node(Query, leaves);
	List	   *types = NIL,
			   *typmods = NIL,
			   *colls = NIL;
	Node	   *tree = NULL;
	Index		rti = 1;
	ListCell   *lc;

	foreach(lc, first->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Var		   *v = makeVar(1, tle->resno, exprType((Node *) tle->expr),
								exprTypmod((Node *) tle->expr),
								exprCollation((Node *) tle->expr), 0);
		TargetEntry *out = makeTargetEntry((Expr *) v, tle->resno,
										   pstrdup(tle->resname), false);

		out->ressortgroupref = tle->ressortgroupref;
		u->targetList = lappend(u->targetList, out);
		types = lappend_oid(types, v->vartype);
		typmods = lappend_int(typmods, v->vartypmod);
		colls = lappend_oid(colls, v->varcollid);
	}

	foreach(lc, leaves)
	{
		RangeTblRef *ref = RvShardRtRef(rti++);

		u->rtable = lappend(u->rtable,
							RvShardSubqueryRte(sq, lfirst_node(Query, lc),
											   psprintf("*SELECT* %d", (int) ref->rtindex),
											   false));
		if (tree == NULL)
			tree = (Node *) ref;
		else
		{
			SetOperationStmt *op = makeNode(SetOperationStmt);

			op->op = SETOP_UNION;
			op->all = true;
			op->larg = tree;
			op->rarg = (Node *) ref;
			op->colTypes = types;
			op->colTypmods = typmods;
			op->colCollations = colls;
			tree = (Node *) op;
		}
	}

	u->commandType = CMD_SELECT;
	u->querySource = QSRC_ORIGINAL;
	u->canSetTag = true;
	u->jointree = makeFromExpr(NIL, NULL);
	u->setOperations = tree;
	u->sortClause = RvShardSortClause(sq->query->sortClause);
	u->limitCount = copyObject(sq->query->limitCount);
	u->limitOption = LIMIT_OPTION_COUNT;
	return u;
}

/*
 * Point the outer query's ORDER BY entries at the subquery's sort columns
 * and remember the original expressions for the leaves.
 */
static void
RvShardOuterSort(RvShardQueryData *sq)
{
	Query	   *q = sq->query;
	AttrNumber	col = sq->natts + 1;
	ListCell   *lc;

	foreach(lc, q->sortClause)
	{
		TargetEntry *tle = get_sortgroupclause_tle(lfirst_node(SortGroupClause, lc),
												   q->targetList);
		Node	   *e = (Node *) tle->expr;

		sq->sort_exprs = lappend(sq->sort_exprs, copyObject(e));
		tle->expr = (Expr *) makeVar(1, col++, exprType(e), exprTypmod(e),
									 exprCollation(e), 0);
	}
	pull_varattnos((Node *) q->targetList, 1, &sq->needed);
}

/*
 * The direct path (shard_direct.c) when every leaf can be sent as one
 * statement: a placeholder that its CustomScan replaces, the union kept
 * for the postgres_fdw fallback.  Otherwise the union itself.
 */
static Query *
RvShardDirectOrUnion(RvShardQueryData *sq, Query *sub)
{
	Bitmapset  *used = NULL;
	int			m = -1;
	Query	   *ph;

	while ((m = bms_next_member(sq->needed, m)) >= 0)
		if (m + FirstLowInvalidHeapAttributeNumber > 0)
			used = bms_add_member(used, m + FirstLowInvalidHeapAttributeNumber);
	ph = RvShardDirectRewrite(sub, used);
	return ph ? ph : sub;
}

/* Rewrite q in place when it is the sharded top-k shape; true if it was */
static bool
RvShardRewrite(Query *q)
{
	RvShardQueryData sq = {0};
	RangeTblEntry *perm;
	List	   *parts;
	List	   *leaves = NIL;
	Query	   *sub;
	ListCell   *lc;

	if (!RvShardQueryShape(q))
		return false;
	sq.query = q;
	sq.parent_rte = linitial_node(RangeTblEntry, q->rtable);
	parts = RvShardLeaves(sq.parent_rte->relid);
	if (parts == NIL)
		return false;

	sq.parent = table_open(sq.parent_rte->relid, NoLock);
	sq.natts = RelationGetDescr(sq.parent)->natts;
	RvShardOuterSort(&sq);
	foreach(lc, parts)
		leaves = lappend(leaves, RvShardLeafQuery(&sq, lfirst_oid(lc)));
	sub = list_length(leaves) == 1 ? linitial(leaves) : RvShardUnionQuery(&sq, leaves);
	sub = RvShardDirectOrUnion(&sq, sub);

	/* the parent stays for its privilege check, lock and invalidation */
	perm = copyObject(sq.parent_rte);
	perm->inh = false;
	perm->inFromCl = false;

	linitial(q->rtable) = RvShardSubqueryRte(&sq, sub,
											 sq.parent_rte->eref->aliasname, true);
	((RangeTblEntry *) linitial(q->rtable))->alias = sq.parent_rte->alias;
	q->rtable = lappend(q->rtable, perm);
	q->jointree->quals = NULL;
	table_close(sq.parent, NoLock);
	return true;
}

/*
 * set_rel_pathlist_hook: our union's append relation keeps only its
 * unordered paths.  A Merge Append would be cheaper by the cost model
 * (every leaf is already sorted) but fetches from one shard after the
 * other; an Append of async-capable foreign scans under a top-k Sort of at
 * most shards x k rows asks every shard at once.
 */
static void
RvShardPathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	ListCell   *lc;

	if (rv_shard_prev_pathlist)
		rv_shard_prev_pathlist(root, rel, rti, rte);
	if (rte->rtekind == RTE_SUBQUERY && !rte->inh &&
		rel->reloptkind == RELOPT_BASEREL &&
		RvShardIsDirectPlaceholder(rte->subquery))
	{
		RvShardDirectPath(root, rel, rte);
		return;
	}
	if (rte->rtekind != RTE_SUBQUERY || !rte->inh ||
		rte->subquery->queryId != RV_SHARD_LEAF_QUERYID)
		return;
	foreach(lc, rel->pathlist)
	{
		if (IsA(lfirst(lc), MergeAppendPath))
			rel->pathlist = foreach_delete_current(rel->pathlist, lc);
	}
}

/*
 * Rewrite every query level of the tree that has the shape, innermost
 * first: subqueries in FROM and WITH, so the top-k can feed an aggregate,
 * a join or a CTE.  (Sublinks are left alone.)
 */
static void
RvShardRewriteTree(Query *q)
{
	ListCell   *lc;

	check_stack_depth();
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY)
			RvShardRewriteTree(rte->subquery);
	}
	foreach(lc, q->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			RvShardRewriteTree((Query *) cte->ctequery);
	}
	RvShardRewrite(q);
}

/*
 * The query vector of a top-level sharded top-k statement, when the plan
 * cache (shard_cache.c) may serve it: a constant directly in the distance.
 */
static Const *
RvShardCacheValue(Query *q, ParamListInfo boundParams)
{
	OpExpr	   *op;

	if (!rv_shard_plan_cache || !rv_shard_pushdown || !rv_shard_direct ||
		rv_shard_partial_results || boundParams != NULL ||
		rv_shard_planner_depth != 0 || !RvShardQueryShape(q))
		return NULL;
	op = (OpExpr *) get_sortgroupclause_expr(linitial_node(SortGroupClause, q->sortClause),
											 q->targetList);
	if (IsA(linitial(op->args), Const))
		return copyObject(linitial_node(Const, op->args));
	if (IsA(lsecond(op->args), Const))
		return copyObject(lsecond_node(Const, op->args));
	return NULL;
}

/* planner_hook: rewrite the sharded top-k shape, then plan as usual */
static PlannedStmt *
RvShardPlanner(Query *parse, const char *query_string, int cursorOptions,
			   ParamListInfo boundParams)
{
	PlannedStmt *result;
	Const	   *value = RvShardCacheValue(parse, boundParams);
	Query	   *key = value ? RvShardCacheKey(parse, value) : NULL;

	if (key && (result = RvShardCacheLookup(key, value, parse, cursorOptions)) != NULL)
		return result;

	/* placeholders of the direct path live for one outermost planning */
	if (rv_shard_planner_depth == 0)
		RvShardDirectReset();
	rv_shard_planner_depth++;
	PG_TRY();
	{
		if (rv_shard_pushdown)
			RvShardRewriteTree(parse);
		if (rv_shard_prev_planner)
			result = rv_shard_prev_planner(parse, query_string, cursorOptions,
										   boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
		if (key)
			RvShardCacheStore(key, value, cursorOptions, result);
	}
	PG_FINALLY();
	{
		rv_shard_planner_depth--;
	}
	PG_END_TRY();
	return result;
}

void
RvShardInit(void)
{
	DefineCustomBoolVariable("ruvector.shard_pushdown",
							 "Plans ORDER BY distance LIMIT k on a sharded parent as one top-k query per shard, run at the same time.",
							 "Off plans it as PostgreSQL does (a Merge Append of sorted foreign scans without LIMIT).",
							 &rv_shard_pushdown, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("ruvector.shard_partial_results",
							 "Leaves a shard whose server does not answer out of a top-k query, with a WARNING.",
							 "Off, such a query fails with postgres_fdw's connection error naming the server.",
							 &rv_shard_partial_results, false, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("ruvector.shard_plan_cache",
							 "Keeps the direct path's plan of a sharded top-k sent as text, for the next query differing only in its vector.",
							 "Off, every such query is rewritten and planned again.",
							 &rv_shard_plan_cache, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	RvShardDirectInit();
	rv_shard_prev_planner = planner_hook;
	planner_hook = RvShardPlanner;
	rv_shard_prev_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = RvShardPathlist;
}
