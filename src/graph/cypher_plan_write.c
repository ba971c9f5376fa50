/*
 * cypher_plan_write.c — Cypher's updating clauses (CREATE, MERGE, SET,
 * REMOVE, DELETE, FOREACH) to steps: the statement that computes what each
 * clause needs, and the description cypher_exec.c applies row by row.
 *
 * NOTES
 *	An updating clause ends the SELECT being built (cypher_plan.c): its
 *	statement selects the variables carried so far plus the values the
 *	clause writes (WriteBegin .. WriteEnd), and the next clause starts a new
 *	SELECT over the rows the step hands on (RvgSelFromInput), so it sees
 *	what the update did.  Carried variables travel as ids or jsonb
 *	(cypher_plan.h).
 *
 *	MERGE finds its whole pattern per row with a statement of its own
 *	(MergeMatchSql); ON CREATE / ON MATCH SET become a SET step keyed on a
 *	hidden flag column.  FOREACH pushes the rows so far, plans its clauses
 *	over the unwound list and pops them back.
 *
 *	No locks are taken here: planning only builds text.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "graph/cypher_plan.h"

/* ---------------------------------------------------------------------
 * Updating clauses: the statement that feeds them
 * ---------------------------------------------------------------------
 */
typedef struct WriteCtx
{
	RvgStep    *step;
	List	   *layout;			/* RvgCarryVar * of the carried variables */
	StringInfoData cols;		/* select list */
	int			ncols;
	List	   *coltypes;		/* int (RvgColType) per column */
	int			nout;			/* columns of the rows handed on */
	List	   *outlayout;		/* RvgCarryVar * of the rows handed on */
	List	   *outtypes;
} WriteCtx;

static int
AddColumn(WriteCtx *w, const char *sql, RvgColType type)
{
	appendStringInfo(&w->cols, "%s%s", w->ncols ? ", " : "", sql);
	w->coltypes = lappend_int(w->coltypes, type);
	return ++w->ncols;
}

/* A column the update produces (a created id, a path, the MERGE flag). */
static int
AddOutColumn(WriteCtx *w, RvgColType type)
{
	w->outtypes = lappend_int(w->outtypes, type);
	return ++w->nout;
}

static RvgCarryVar *
NewCarry(const char *name, RvgVarKind kind, int col, int col2)
{
	RvgCarryVar *cv = palloc0(sizeof(RvgCarryVar));

	cv->name = name;
	cv->kind = kind;
	cv->col = col;
	cv->col2 = col2;
	return cv;
}

/*
 * Starts the statement of an updating clause: column 1 is a placeholder
 * (a step always hands on at least one column, so row counts survive), then
 * every variable in scope by id or value.
 */
static void
WriteBegin(RvgPlanner *P, WriteCtx *w, RvgStepKind kind, int loc)
{
	ListCell   *lc;

	memset(w, 0, sizeof(*w));
	initStringInfo(&w->cols);
	w->step = palloc0(sizeof(RvgStep));
	w->step->kind = kind;
	w->step->loc = loc;
	AddColumn(w, "0::bigint", COL_ID);
	foreach(lc, P->sel->vars)
	{
		RvgVar		   *v = lfirst(lc);
		RvgCarryVar *cv;

		if (v->name == NULL || v->scope_level > 0 || strcmp(v->name, RVG_ORD_VAR) == 0 ||
			RvgFindVar(P, v->name) != v)
			continue;
		switch (v->kind)
		{
			case VK_NODE:
			case VK_EDGE:
				cv = NewCarry(v->name, v->kind, AddColumn(w, v->id, COL_ID), 0);
				break;
			case VK_PATH:
				{
					int			c1 = AddColumn(w, psprintf("pg_catalog.to_jsonb(%s)", v->value), COL_JSONB);

					cv = NewCarry(v->name, v->kind, c1,
								  AddColumn(w, psprintf("pg_catalog.to_jsonb(%s)", v->edges), COL_JSONB));
				}
				break;
			case VK_EDGES:
				cv = NewCarry(v->name, v->kind, AddColumn(w, psprintf("pg_catalog.to_jsonb(%s)", v->value), COL_JSONB), 0);
				break;
			default:
				cv = NewCarry(v->name, v->kind, AddColumn(w, v->value, COL_JSONB), 0);
				break;
		}
		w->layout = lappend(w->layout, cv);
	}
	w->step->ncarry = w->ncols;
	w->nout = w->ncols;
	foreach(lc, w->coltypes)
		w->outtypes = lappend_int(w->outtypes, lfirst_int(lc));
	w->outlayout = list_copy(w->layout);
}

/* The carried column holding a variable's id. */
static int
CarryCol(RvgPlanner *P, WriteCtx *w, const char *name, int loc, RvgVarKind *kind)
{
	ListCell   *lc;

	foreach(lc, w->layout)
	{
		RvgCarryVar *cv = lfirst(lc);

		if (strcmp(cv->name, name) == 0)
		{
			*kind = cv->kind;
			return cv->col;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("variable `%s` is not defined", name),
			 RvgErrPosition(P->text, loc)));
	return 0;
}

static RvgColType *
TypeArray(List *types)
{
	RvgColType *a = palloc(sizeof(RvgColType) * (list_length(types) + 1));
	ListCell   *lc;

	foreach(lc, types)
		a[foreach_current_index(lc)] = (RvgColType) lfirst_int(lc);
	return a;
}

/* Ends the statement, appends the step, and starts the next SELECT. */
static void
WriteEnd(RvgPlanner *P, WriteCtx *w)
{
	RvgStep    *st = w->step;
	RvgVar		   *ord = RvgFindVar(P, RVG_ORD_VAR);

	st->sql = psprintf("SELECT %s%s%s", w->cols.data, RvgFromWhere(P->sel),
					   ord ? psprintf(" ORDER BY %s", ord->value) : "");
	st->ncols = w->ncols;
	st->coltypes = TypeArray(w->coltypes);
	st->ninput = P->ninput;
	st->intypes = P->intypes;
	st->nout = w->nout;
	st->outtypes = TypeArray(w->outtypes);
	P->plan->steps = lappend(P->plan->steps, st);
	RvgSelFromInput(P, w->outlayout, st->nout, st->outtypes);
}

/* A property map to write: a map expression or a node/relationship's properties. */
static char *
MapValue(RvgPlanner *P, CyExpr *e)
{
	if (e->kind == CYX_VAR)
	{
		RvgVar		   *v = RvgFindVar(P, e->str);

		if (v != NULL && (v->kind == VK_NODE || v->kind == VK_EDGE))
			return v->props;
	}
	return RvgExpr(P, e);
}

/* ---------------------------------------------------------------------
 * CREATE and MERGE
 * ---------------------------------------------------------------------
 */
typedef struct PatternSlots
{
	List	   *nodes;			/* RvgWNode * */
	List	   *edges;			/* RvgWEdge * */
	List	   *paths;			/* RvgWPath * */
	List	   *names;			/* names of nodes created in this clause */
} PatternSlots;

static int
FindSlot(PatternSlots *ps, const char *var)
{
	ListCell   *lc;

	if (var == NULL)
		return -1;
	foreach(lc, ps->nodes)
	{
		RvgWNode   *wn = lfirst(lc);

		if (wn->var != NULL && strcmp(wn->var, var) == 0)
			return foreach_current_index(lc);
	}
	return -1;
}

/*
 * A new node's labels, each once: the first is stored in label (the one
 * the label index and vector indexes see), the others in labels, given to
 * the executor as a jsonb array.  0.1.0's SQL has room for one.
 */
static void
SetWNodeLabels(RvgPlanner *P, RvgWNode *wn, CyNodePat *np, bool merge)
{
	StringInfoData x;

	wn->labels = palloc(sizeof(char *) * (np->nlabels + 1));
	for (int i = 0; i < np->nlabels; i++)
	{
		bool		dup = false;

		for (int j = 0; j < wn->nlabels && !dup; j++)
			dup = strcmp(wn->labels[j], np->labels[i]) == 0;
		if (!dup)
			wn->labels[wn->nlabels++] = np->labels[i];
	}
	wn->label = wn->nlabels > 0 ? wn->labels[0] : "";
	if (wn->nlabels < 2)
		return;
	if (RvgLegacySchema())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s of a node with %d labels needs the extension's 0.2.0 SQL",
						merge ? "MERGE" : "CREATE", wn->nlabels),
				 RvgErrPosition(P->text, np->loc)));
	initStringInfo(&x);
	appendStringInfoChar(&x, '[');
	for (int i = 1; i < wn->nlabels; i++)
	{
		if (i > 1)
			appendStringInfoChar(&x, ',');
		escape_json(&x, wn->labels[i]);
	}
	appendStringInfoChar(&x, ']');
	wn->xlabels = x.data;
}

/* A node position of a CREATE/MERGE pattern: an existing node or a new one. */
static int
WriteNode(RvgPlanner *P, WriteCtx *w, PatternSlots *ps, CyNodePat *np, bool merge)
{
	int			slot = FindSlot(ps, np->var);
	RvgWNode   *wn;
	RvgVar		   *v;

	if (slot >= 0 || (v = RvgFindVar(P, np->var)) != NULL)
	{
		if (np->nlabels > 0 || np->props != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("variable `%s` is already bound; it cannot take labels or properties here",
							np->var),
					 RvgErrPosition(P->text, np->loc)));
		if (slot >= 0)
			return slot;
		RvgCheckKind(P, v, VK_NODE, np->loc);
		wn = palloc0(sizeof(RvgWNode));
		wn->var = np->var;
		{
			RvgVarKind	k;

			wn->bound_col = CarryCol(P, w, np->var, np->loc, &k);
		}
		ps->nodes = lappend(ps->nodes, wn);
		return list_length(ps->nodes) - 1;
	}
	wn = palloc0(sizeof(RvgWNode));
	wn->var = np->var;
	SetWNodeLabels(P, wn, np, merge);
	if (np->props != NULL)
		wn->props_col = AddColumn(w, RvgExpr(P, np->props), COL_JSONB);
	if (np->var != NULL)
	{
		wn->out_col = AddOutColumn(w, COL_ID);
		w->outlayout = lappend(w->outlayout, NewCarry(np->var, VK_NODE, wn->out_col, 0));
	}
	ps->nodes = lappend(ps->nodes, wn);
	return list_length(ps->nodes) - 1;
}

static void
WriteRel(RvgPlanner *P, WriteCtx *w, PatternSlots *ps, CyRelPat *r, int left, int right, bool merge)
{
	RvgWEdge   *we = palloc0(sizeof(RvgWEdge));

	if (r->varlen)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("variable-length relationships cannot be %s",
						merge ? "merged" : "created"),
				 RvgErrPosition(P->text, r->loc)));
	if (r->ntypes != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a relationship to %s needs exactly one type", merge ? "merge" : "create"),
				 RvgErrPosition(P->text, r->loc)));
	if (!merge && r->dir == CY_DIR_BOTH)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("only directed relationships can be created"),
				 RvgErrPosition(P->text, r->loc)));
	if (r->var != NULL)
		RvgCheckUnbound(P, r->var, r->loc);
	we->var = r->var;
	we->type = r->types[0];
	if (r->props != NULL)
		we->props_col = AddColumn(w, RvgExpr(P, r->props), COL_JSONB);
	we->from = r->dir == CY_DIR_LEFT ? right : left;
	we->to = r->dir == CY_DIR_LEFT ? left : right;
	if (r->var != NULL)
	{
		we->out_col = AddOutColumn(w, COL_ID);
		w->outlayout = lappend(w->outlayout, NewCarry(r->var, VK_EDGE, we->out_col, 0));
	}
	ps->edges = lappend(ps->edges, we);
}

static void
WritePath(RvgPlanner *P, WriteCtx *w, PatternSlots *ps, CyPath *path, bool merge)
{
	RvgWPath   *wp = palloc0(sizeof(RvgWPath));
	int			prev = -1;

	if (path->shortest != CY_SHORTEST_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("shortestPath cannot be created"),
				 RvgErrPosition(P->text, path->loc)));
	wp->var = path->var;
	wp->nodes = palloc(sizeof(int) * (path->nrels + 1));
	wp->edges = palloc(sizeof(int) * (path->nrels + 1));
	for (int i = 0; i <= path->nrels; i++)
	{
		int			slot = WriteNode(P, w, ps, path->nodes[i], merge);

		wp->nodes[wp->nnodes++] = slot;
		if (i > 0)
		{
			WriteRel(P, w, ps, path->rels[i - 1], prev, slot, merge);
			wp->edges[wp->nedges++] = list_length(ps->edges) - 1;
		}
		prev = slot;
	}
	if (path->var != NULL)
	{
		RvgCheckUnbound(P, path->var, path->loc);
		wp->out_nodes = AddOutColumn(w, COL_JSONB);
		wp->out_edges = AddOutColumn(w, COL_JSONB);
		w->outlayout = lappend(w->outlayout, NewCarry(path->var, VK_PATH, wp->out_nodes, wp->out_edges));
	}
	ps->paths = lappend(ps->paths, wp);
}

static void
SlotsToStep(RvgStep *st, PatternSlots *ps)
{
	ListCell   *lc;

	st->nwnodes = list_length(ps->nodes);
	st->wnodes = palloc0(sizeof(RvgWNode) * (st->nwnodes + 1));
	foreach(lc, ps->nodes)
		st->wnodes[foreach_current_index(lc)] = *(RvgWNode *) lfirst(lc);
	st->nwedges = list_length(ps->edges);
	st->wedges = palloc0(sizeof(RvgWEdge) * (st->nwedges + 1));
	foreach(lc, ps->edges)
		st->wedges[foreach_current_index(lc)] = *(RvgWEdge *) lfirst(lc);
	st->nwpaths = list_length(ps->paths);
	st->wpaths = palloc0(sizeof(RvgWPath) * (st->nwpaths + 1));
	foreach(lc, ps->paths)
		st->wpaths[foreach_current_index(lc)] = *(RvgWPath *) lfirst(lc);
}

void
RvgPlanCreate(RvgPlanner *P, CyClause *c)
{
	WriteCtx	w;
	PatternSlots ps = {0};

	WriteBegin(P, &w, RVG_STEP_CREATE, c->loc);
	for (int i = 0; i < c->npaths; i++)
		WritePath(P, &w, &ps, c->paths[i], false);
	SlotsToStep(w.step, &ps);
	WriteEnd(P, &w);
}

/*
 * The statement MERGE runs per row to find its pattern: bound nodes and
 * property maps are parameters; it returns the ids of the pattern's new
 * nodes and relationships, in slot order.
 */
static void
MergeMatchSql(RvgPlanner *P, RvgStep *st, PatternSlots *ps)
{
	StringInfoData sel,
				from,
				where;
	List	   *pcols = NIL;
	List	   *ptypes = NIL;
	char	  **ids = palloc(sizeof(char *) * (list_length(ps->nodes) + 1));
	ListCell   *lc;

	initStringInfo(&sel);
	initStringInfo(&from);
	initStringInfo(&where);
	appendStringInfoString(&where, "true");
	foreach(lc, ps->nodes)
	{
		RvgWNode   *wn = lfirst(lc);
		int			i = foreach_current_index(lc);

		if (wn->bound_col)
		{
			pcols = lappend_int(pcols, wn->bound_col);
			ptypes = lappend_int(ptypes, COL_ID);
			ids[i] = psprintf("$%d::bigint", list_length(pcols));
			continue;
		}
		ids[i] = psprintf("m%d.id", i);
		appendStringInfo(&from, "%s%s.ruvector_graph_node m%d", from.len ? ", " : "", P->s, i);
		appendStringInfo(&sel, "%sm%d.id", sel.len ? ", " : "", i);
		appendStringInfo(&where, " AND m%d.graph_id = %d", i, P->g->graph_id);
		for (int l = 0; l < wn->nlabels; l++)
			appendStringInfo(&where, " AND %s",
							 RvgLabelCond(P, psprintf("m%d.label", i),
										  RvgLegacySchema() ? NULL : psprintf("m%d.labels", i),
										  ids[i], wn->labels[l]));
		if (wn->props_col)
		{
			pcols = lappend_int(pcols, wn->props_col);
			ptypes = lappend_int(ptypes, COL_JSONB);
			wn->props_param = list_length(pcols);
			appendStringInfo(&where, " AND m%d.properties @> $%d::jsonb", i, list_length(pcols));
		}
	}
	foreach(lc, ps->edges)
	{
		RvgWEdge   *we = lfirst(lc);
		int			i = foreach_current_index(lc);

		appendStringInfo(&from, "%s%s.ruvector_graph_edge r%d", from.len ? ", " : "", P->s, i);
		appendStringInfo(&sel, "%sr%d.id", sel.len ? ", " : "", i);
		appendStringInfo(&where, " AND r%d.type = %s", i, quote_literal_cstr(we->type));
		if (we->undirected)
			appendStringInfo(&where, " AND ((r%d.start_id = %s AND r%d.end_id = %s) OR (r%d.start_id = %s AND r%d.end_id = %s))",
							 i, ids[we->from], i, ids[we->to], i, ids[we->to], i, ids[we->from]);
		else
			appendStringInfo(&where, " AND r%d.start_id = %s AND r%d.end_id = %s",
							 i, ids[we->from], i, ids[we->to]);
		if (we->props_col)
		{
			pcols = lappend_int(pcols, we->props_col);
			ptypes = lappend_int(ptypes, COL_JSONB);
			appendStringInfo(&where, " AND r%d.properties @> $%d::jsonb", i, list_length(pcols));
		}
		for (int j = 0; j < i; j++)
			appendStringInfo(&where, " AND r%d.id <> r%d.id", i, j);
	}
	if (sel.len == 0)
		appendStringInfoString(&sel, "1");
	st->merge_sql = psprintf("SELECT %s%s%s WHERE %s", sel.data, from.len ? " FROM " : "", from.data, where.data);
	st->merge_nparams = list_length(pcols);
	st->merge_param_cols = palloc(sizeof(int) * (st->merge_nparams + 1));
	st->merge_paramtypes = palloc(sizeof(RvgColType) * (st->merge_nparams + 1));
	foreach(lc, pcols)
		st->merge_param_cols[foreach_current_index(lc)] = lfirst_int(lc);
	foreach(lc, ptypes)
		st->merge_paramtypes[foreach_current_index(lc)] = (RvgColType) lfirst_int(lc);
}

/*
 * MERGE: find the whole pattern for each row, or create its new parts.
 * ON CREATE SET / ON MATCH SET become a SET step keyed on a hidden flag.
 */
void
RvgPlanMerge(RvgPlanner *P, CyClause *c)
{
	WriteCtx	w;
	PatternSlots ps = {0};
	CyPath	   *path = c->paths[0];
	int			flag;

	WriteBegin(P, &w, RVG_STEP_MERGE, c->loc);
	WritePath(P, &w, &ps, path, true);
	/* undirected MERGE relationships match either way, are created left to right */
	for (int i = 0; i < path->nrels; i++)
		((RvgWEdge *) list_nth(ps.edges, i))->undirected = (path->rels[i]->dir == CY_DIR_BOTH);
	MergeMatchSql(P, w.step, &ps);
	flag = AddOutColumn(&w, COL_JSONB);
	w.step->merge_flag_col = flag;
	w.outlayout = lappend(w.outlayout, NewCarry(RVG_MERGED_VAR, VK_VALUE, flag, 0));
	SlotsToStep(w.step, &ps);
	WriteEnd(P, &w);
	RvgPlanSetItems(P, c->sets, c->noncreate, false, -1, true, c->loc);
	RvgPlanSetItems(P, c->sets + c->noncreate, c->nsets - c->noncreate, false, -1, false, c->loc);
}

/* ---------------------------------------------------------------------
 * SET, REMOVE, DELETE
 * ---------------------------------------------------------------------
 */

/*
 * One SET/REMOVE step.  when_col < 0 asks for the MERGE flag: the items
 * apply only to rows where the pattern was created (when_created) or found.
 */
/* Does e read one of the variables names[0..n-1] (or a pattern, which may)? */
static bool
ExprReadsVars(const CyExpr *e, const char **names, int n)
{
	if (e == NULL)
		return false;
	check_stack_depth();
	if (e->kind == CYX_VAR)
	{
		for (int i = 0; i < n; i++)
			if (strcmp(e->str, names[i]) == 0)
				return true;
		return false;
	}
	if (e->path != NULL)
		return true;
	if (ExprReadsVars(e->a, names, n) || ExprReadsVars(e->b, names, n) ||
		ExprReadsVars(e->c, names, n))
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (ExprReadsVars(e->args[i], names, n))
			return true;
	return false;
}

/*
 * The SET items that can share one step with items[0]: openCypher applies
 * the items in order (SET n.a = 1, n.b = n.a + 1 gives b = 2), so an item
 * whose value reads a variable an earlier item changed starts a new step,
 * which reads the rows again after the earlier items' writes.
 */
static int
SetItemsInOneStep(CySetItem **items, int n)
{
	const char **written = palloc(sizeof(char *) * (n + 1));

	for (int i = 0; i < n; i++)
	{
		if (i > 0 && ExprReadsVars(items[i]->value, written, i))
			return i;
		written[i] = items[i]->var;
	}
	return n;
}

void
RvgPlanSetItems(RvgPlanner *P, CySetItem **items, int n, bool remove, int when_col,
				bool when_created, int loc)
{
	WriteCtx	w;
	RvgStep    *st;
	int			rest;

	if (n == 0)
		return;
	rest = SetItemsInOneStep(items, n);
	if (rest < n)
	{
		RvgPlanSetItems(P, items, rest, remove, when_col, when_created, loc);
		RvgPlanSetItems(P, items + rest, n - rest, remove, when_col, when_created, loc);
		return;
	}
	WriteBegin(P, &w, RVG_STEP_SET, loc);
	st = w.step;
	st->nsets = n;
	st->sets = palloc0(sizeof(RvgWSetItem) * n);
	for (int i = 0; i < n; i++)
	{
		CySetItem  *si = items[i];
		RvgWSetItem *ws = &st->sets[i];
		RvgVar		   *v = RvgFindVar(P, si->var);
		RvgVarKind	kind;

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("variable `%s` is not defined", si->var),
					 RvgErrPosition(P->text, si->loc)));
		if (v->kind != VK_NODE && v->kind != VK_EDGE && v->kind != VK_VALUE)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("variable `%s` is %s; only nodes and relationships can be %s",
							si->var, RvgKindName(v->kind), remove ? "changed by REMOVE" : "changed by SET"),
					 RvgErrPosition(P->text, si->loc)));
		ws->kind = si->kind;
		ws->remove = remove;
		ws->loc = si->loc;
		ws->target_col = CarryCol(P, &w, si->var, si->loc, &kind);
		ws->edge = (kind == VK_EDGE);
		ws->dynamic = (kind == VK_VALUE);
		ws->key = si->key;
		ws->nlabels = si->nlabels;
		ws->labels = si->labels;
		if (si->kind == CYS_LABELS && ws->edge)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the type of a relationship cannot be changed"),
					 RvgErrPosition(P->text, si->loc)));
		if (si->kind == CYS_LABELS && si->nlabels > 1 && !remove && RvgLegacySchema())
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("SET of %d labels needs the extension's 0.2.0 SQL", si->nlabels),
					 RvgErrPosition(P->text, si->loc)));
		if (si->value != NULL)
			ws->value_col = AddColumn(&w, si->kind == CYS_PROP ? RvgExpr(P, si->value) : MapValue(P, si->value),
									  COL_JSONB);
		if (when_col < 0)
		{
			RvgVarKind	k;

			ws->when_col = CarryCol(P, &w, RVG_MERGED_VAR, loc, &k);
			ws->when_created = when_created;
		}
	}
	WriteEnd(P, &w);
}

void
RvgPlanDelete(RvgPlanner *P, CyClause *c)
{
	WriteCtx	w;
	RvgStep    *st;

	WriteBegin(P, &w, RVG_STEP_DELETE, c->loc);
	st = w.step;
	st->detach = c->detach;
	st->ndeletes = c->nexprs;
	st->deletes = palloc0(sizeof(RvgWDelete) * c->nexprs);
	for (int i = 0; i < c->nexprs; i++)
	{
		CyExpr	   *e = c->exprs[i];
		RvgWDelete *d = &st->deletes[i];

		d->loc = e->loc;
		if (e->kind == CYX_VAR && RvgFindVar(P, e->str) != NULL)
		{
			ListCell   *lc;

			foreach(lc, w.layout)
			{
				RvgCarryVar *cv = lfirst(lc);

				if (strcmp(cv->name, e->str) == 0)
				{
					d->kind = cv->kind;
					d->col = cv->col;
					d->col2 = cv->col2;
				}
			}
			if (d->kind == VK_NODE || d->kind == VK_EDGE)
			{
				/*
				 * Later clauses see the deleted entity as it was (MATCH (n)
				 * DELETE n RETURN n returns the node, as Apache AGE does): it
				 * travels on as a value instead of an id to join back.
				 */
				RvgVar	   *v = RvgFindVar(P, e->str);

				d->value_col = AddColumn(&w, d->kind == VK_NODE ? RvgNodeJson(P, v) : RvgEdgeJson(P, v),
										 COL_JSONB);
				d->out_col = AddOutColumn(&w, COL_JSONB);
				foreach(lc, w.outlayout)
				{
					RvgCarryVar *cv = lfirst(lc);

					if (strcmp(cv->name, e->str) == 0)
						lfirst(lc) = NewCarry(e->str, VK_VALUE, d->out_col, 0);
				}
			}
		}
		else
		{
			d->kind = VK_VALUE;
			d->col = AddColumn(&w, RvgExpr(P, e), COL_JSONB);
		}
		if (d->col == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("variable `%s` is not defined", e->str),
					 RvgErrPosition(P->text, e->loc)));
	}
	WriteEnd(P, &w);
}

/*
 * FOREACH (x IN list | clauses): a step keeps the rows so far (PUSH), the
 * clauses run over the rows unwound by x, then the kept rows come back
 * (POP) and the next statement reads them again, so it sees the writes;
 * x is not in scope after it.
 */
void
RvgPlanForeach(RvgPlanner *P, CyClause *c)
{
	WriteCtx	w;
	CyClause	unwind;
	CySingleQuery body;
	RvgStep    *pop;

	RvgCheckUnbound(P, c->alias, c->loc);
	WriteBegin(P, &w, RVG_STEP_PUSH, c->loc);
	WriteEnd(P, &w);
	memset(&unwind, 0, sizeof(unwind));
	unwind.kind = CYC_UNWIND;
	unwind.loc = c->loc;
	unwind.unwind = c->unwind;
	unwind.alias = c->alias;
	RvgAddUnwind(P, &unwind);
	memset(&body, 0, sizeof(body));
	body.loc = c->loc;
	body.nclauses = c->nsub;
	body.clauses = c->sub;
	RvgPlanClauseList(P, &body, 0, false);
	pop = palloc0(sizeof(RvgStep));
	pop->kind = RVG_STEP_POP;
	pop->loc = c->loc;
	pop->nout = w.step->nout;
	pop->outtypes = w.step->outtypes;
	P->plan->steps = lappend(P->plan->steps, pop);
	RvgSelFromInput(P, w.outlayout, w.step->nout, w.step->outtypes);
}

