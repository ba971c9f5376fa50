/*
 * cypher_plan.c — Cypher clauses to SQL statements over the graph tables.
 *
 * NOTES
 *	Reading clauses accumulate into one SELECT (struct RvgSel): MATCH adds node
 *	and edge tables to a comma-separated FROM list with join conditions in
 *	WHERE, so PostgreSQL's planner orders the joins and picks the indexes.
 *	WITH closes the SELECT into a subquery (PostgreSQL flattens it again
 *	unless it aggregates, sorts or limits), OPTIONAL MATCH closes it and
 *	adds a LEFT JOIN LATERAL, UNWIND adds jsonb_array_elements, RETURN
 *	projects the final columns.  Updating clauses end a step
 *	(cypher_plan_write.c, cypher_plan.h).
 *
 *	Patterns: every new node is a row of ruvector_graph_node restricted to
 *	the graph; a relationship is a row of ruvector_graph_edge joined on
 *	start_id/end_id (an undirected one reads the table both ways through a
 *	UNION ALL).  An anonymous node without labels or properties next to a
 *	relationship is not joined at all: the edge's foreign key already says
 *	it exists, so (a)-->()-->(c) costs two edge probes, not four joins.
 *	Relationship uniqueness within one MATCH (openCypher's isomorphism) is a
 *	pairwise e1.id <> e2.id.
 *
 *	Variable-length relationships are a recursive CTE in a LATERAL subquery,
 *	walked from the better-constrained end (a bound variable, then a
 *	property map, then a label), never reusing an edge on one path.
 *	shortestPath is ruvector_cy_shortest (graph_path.c), a breadth-first
 *	search.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "graph/cypher_plan.h"

/* An edge of the MATCH clause being built, for relationship uniqueness. */
typedef struct ClauseEdge
{
	char	   *id;
	int			ntypes;
	const char **types;
} ClauseEdge;

static void CheckImplicitGrouping(RvgPlanner *P, const CyExpr *e, List *items, List *locals,
								  const char *clause);

/* ---------------------------------------------------------------------
 * Errors, aliases, variables
 * ---------------------------------------------------------------------
 */

/*
 * The place of an error in the Cypher text, for use inside ereport() as
 * PostgreSQL's parser_errposition is: the line and column go in the detail,
 * and the text with the offset in the internal query fields, so psql points
 * at the spot (the SQL statement the user typed is not where the error is).
 */
int
RvgErrPosition(const char *text, int offset)
{
	int			line,
				col;

	cy_position(text, strlen(text), offset, &line, &col);
	errdetail("At line %d, column %d of the Cypher query.", line, col);
	internalerrposition(offset + 1);
	return internalerrquery(text);
}

/* The number under which a runtime error position travels (graph.h). */
int
RvgLocNumber(RvgPlanner *P, int offset)
{
	P->plan->locs = lappend_int(P->plan->locs, offset);
	return list_length(P->plan->locs) - 1;
}

/* Refuses a bound variable of another kind than the pattern needs (42804). */
void
RvgCheckKind(RvgPlanner *P, const RvgVar *v, RvgVarKind want, int loc)
{
	if (v->kind != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("variable `%s` is %s, not %s", v->name, RvgKindName(v->kind),
						RvgKindName(want)),
				 RvgErrPosition(P->text, loc)));
}

/* Refuses a new variable whose name is already bound (42601). */
void
RvgCheckUnbound(RvgPlanner *P, const char *name, int loc)
{
	if (RvgFindVar(P, name) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("variable `%s` is already bound", name),
				 RvgErrPosition(P->text, loc)));
}

char *
RvgAlias(RvgPlanner *P, const char *prefix)
{
	return psprintf("%s%d", prefix, ++P->nalias);
}

/* The innermost binding of name in the current SELECT, or NULL. */
RvgVar *
RvgFindVar(RvgPlanner *P, const char *name)
{
	ListCell   *lc;
	RvgVar		   *found = NULL;

	if (name == NULL)
		return NULL;
	foreach(lc, P->sel->vars)
	{
		RvgVar		   *v = lfirst(lc);

		if (v->name != NULL && strcmp(v->name, name) == 0)
			found = v;
	}
	return found;
}

static bool
IsHidden(const char *name)
{
	return name != NULL && name[0] == RVG_HIDDEN_PREFIX;
}

static RvgVar *
NewVar(RvgVarKind kind, const char *name)
{
	RvgVar		   *v = palloc0(sizeof(RvgVar));

	v->kind = kind;
	v->name = name;
	return v;
}

static void
AddVar(RvgPlanner *P, RvgVar *v)
{
	if (v->name != NULL)
		P->sel->vars = lappend(P->sel->vars, v);
}

const char *
RvgKindName(RvgVarKind k)
{
	switch (k)
	{
		case VK_NODE: return "a node";
		case VK_EDGE: return "a relationship";
		case VK_PATH: return "a path";
		case VK_EDGES: return "a list of relationships";
		default: return "a value";
	}
}

/* A node variable's columns in the ruvector_graph_node row aliased a. */
static void
NodeColumns(RvgVar *v, const char *a)
{
	v->id = psprintf("%s.id", a);
	v->label = psprintf("%s.label", a);
	if (!RvgLegacySchema())
		v->labels = psprintf("%s.labels", a);
	v->props = psprintf("%s.properties", a);
}

/* A relationship variable's columns in the ruvector_graph_edge row aliased a. */
static void
EdgeColumns(RvgVar *v, const char *a)
{
	v->id = psprintf("%s.id", a);
	v->label = psprintf("%s.type", a);
	v->props = psprintf("%s.properties", a);
	v->start = psprintf("%s.start_id", a);
	v->end = psprintf("%s.end_id", a);
}

/* ---------------------------------------------------------------------
 * jsonb of graph entities
 * ---------------------------------------------------------------------
 */
char *
RvgNodeJson(RvgPlanner *P, RvgVar *v)
{
	char	   *j = psprintf("pg_catalog.jsonb_build_object('id', %s, 'label', %s, 'properties', %s)",
							 v->id, v->label, v->props);

	if (v->nullable)
		return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE %s END)", v->id, j);
	return j;
}

/*
 * "The node has label want": its first label (label, the column the label
 * index and vector indexes are on) or one of its further ones (labels, a
 * text[] under a GIN index).  The form is the one ruvector_graph_vector_index
 * puts in its indexes' predicate, so those indexes still prove usable.
 * Without a labels expression (a node carried through WITH) the further
 * labels are read by id; with 0.1.0's SQL (no labels column) there are none.
 */
char *
RvgLabelCond(RvgPlanner *P, const char *label, const char *labels, const char *id,
			 const char *want)
{
	const char *w = quote_literal_cstr(want);

	if (RvgLegacySchema())
		return psprintf("(%s = %s)", label, w);
	if (labels != NULL)
		return psprintf("(%s = %s OR %s @> ARRAY[%s])", label, w, labels, w);
	return psprintf("(%s = %s OR EXISTS (SELECT FROM %s.ruvector_graph_node lx "
					"WHERE lx.id = %s AND lx.labels @> ARRAY[%s]))",
					label, w, P->s, id, w);
}

/*
 * The node id of a jsonb value that may hold a node ({"id": n, ...}), as a
 * bigint, or NULL for anything else (a map of the user's, a number...).
 * Node and relationship ids come from one sequence, so a relationship's id
 * never names a node.
 */
char *
RvgJsonNodeId(RvgPlanner *P, const char *x)
{
	return psprintf("(CASE WHEN pg_catalog.jsonb_typeof(%s -> 'id') = 'number' "
					"AND (%s ->> 'id') OPERATOR(pg_catalog.~) '^[0-9]{1,18}$' "
					"THEN (%s ->> 'id')::pg_catalog.int8 END)", x, x, x);
}

char *
RvgEdgeJson(RvgPlanner *P, RvgVar *v)
{
	char	   *j = psprintf("pg_catalog.jsonb_build_object('id', %s, 'label', %s, 'end_id', %s, 'start_id', %s, 'properties', %s)",
							 v->id, v->label, v->end, v->start, v->props);

	if (v->nullable)
		return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE %s END)", v->id, j);
	return j;
}

/* A list of relationship objects from an id array, in order. */
char *
RvgEdgeListJson(RvgPlanner *P, const char *ids)
{
	char	   *a = RvgAlias(P, "el");

	return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
					"'id', %s.id, 'label', %s.type, 'end_id', %s.end_id, 'start_id', %s.start_id, "
					"'properties', %s.properties) ORDER BY %s_u.o), '[]'::jsonb) "
					"FROM pg_catalog.unnest(%s) WITH ORDINALITY %s_u(i, o) JOIN %s.ruvector_graph_edge %s ON %s.id = %s_u.i) END)",
					ids, a, a, a, a, a, a, ids, a, P->s, a, a, a);
}

/* A path as AGE prints it: nodes and relationships alternating. */
char *
RvgPathJson(RvgPlanner *P, RvgVar *v)
{
	char	   *a;

	if (v->json != NULL)
		return v->json;
	a = RvgAlias(P, "pj");
	return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE (SELECT pg_catalog.jsonb_agg(%s.j ORDER BY %s.o) FROM ("
					"SELECT pg_catalog.jsonb_build_object('id', n.id, 'label', n.label, 'properties', n.properties) AS j, u.o * 2 AS o "
					"FROM pg_catalog.unnest(%s) WITH ORDINALITY u(i, o) JOIN %s.ruvector_graph_node n ON n.id = u.i "
					"UNION ALL SELECT pg_catalog.jsonb_build_object('id', e.id, 'label', e.type, 'end_id', e.end_id, "
					"'start_id', e.start_id, 'properties', e.properties), u.o * 2 + 1 "
					"FROM pg_catalog.unnest(%s) WITH ORDINALITY u(i, o) JOIN %s.ruvector_graph_edge e ON e.id = u.i) %s) END)",
					v->value, a, a, v->value, P->s, v->edges, P->s, a);
}

/* ---------------------------------------------------------------------
 * SELECT under construction
 * ---------------------------------------------------------------------
 */
static RvgSel *
NewSel(void)
{
	RvgSel	   *s = palloc0(sizeof(RvgSel));

	initStringInfo(&s->from);
	return s;
}

static void
AddFrom(RvgPlanner *P, const char *item)
{
	if (P->sel->from.len > 0)
		appendStringInfoString(&P->sel->from, ", ");
	appendStringInfoString(&P->sel->from, item);
}

static void
AddCond(RvgPlanner *P, char *cond)
{
	P->sel->conds = lappend(P->sel->conds, cond);
}

/* " FROM ... WHERE ..." of the current SELECT (empty pieces omitted). */
char *
RvgFromWhere(RvgSel *s)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	if (s->from.len > 0)
		appendStringInfo(&buf, " FROM %s", s->from.data);
	foreach(lc, s->conds)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) == 0 ? " WHERE " : " AND ",
						 (char *) lfirst(lc));
	return buf.data;
}

/* Columns of a variable when it is projected out of a subquery. */
static int
VarWidth(RvgVar *v)
{
	switch (v->kind)
	{
		case VK_NODE: return 3;
		case VK_EDGE: return 5;
		case VK_PATH: return 2;
		default: return 1;
	}
}

/*
 * Appends the variable's columns to a select list as c<n>... and returns the
 * variable as seen from outside through alias.
 */
static RvgVar *
ProjectVar(RvgVar *v, StringInfo cols, int *ncol, const char *alias, const char *newname)
{
	RvgVar		   *o = NewVar(v->kind, newname);
	char	   *exprs[5];
	char	  **targets[5];
	int			w = VarWidth(v);

	o->nullable = v->nullable;
	o->known_label = v->known_label;
	switch (v->kind)
	{
		case VK_NODE:
		case VK_EDGE:
			exprs[0] = v->id;
			targets[0] = &o->id;
			exprs[1] = v->label;
			targets[1] = &o->label;
			exprs[2] = v->props;
			targets[2] = &o->props;
			exprs[3] = v->start;
			targets[3] = &o->start;
			exprs[4] = v->end;
			targets[4] = &o->end;
			break;
		case VK_PATH:
			exprs[0] = v->value;
			targets[0] = &o->value;
			exprs[1] = v->edges;
			targets[1] = &o->edges;
			break;
		default:
			exprs[0] = v->value;
			targets[0] = &o->value;
			break;
	}
	for (int i = 0; i < w; i++)
	{
		++*ncol;
		appendStringInfo(cols, "%s%s AS c%d", cols->len > 0 ? ", " : "", exprs[i], *ncol);
		*targets[i] = psprintf("%s.c%d", alias, *ncol);
	}
	return o;
}

/*
 * Closes the current SELECT into a subquery that carries every variable,
 * and starts a new SELECT over it.  Returns the subquery's alias.
 */
static char *
CloseSel(RvgPlanner *P)
{
	RvgSel	   *old = P->sel;
	RvgSel	   *s = NewSel();
	char	   *alias = RvgAlias(P, "s");
	StringInfoData cols;
	int			ncol = 0;
	ListCell   *lc;

	initStringInfo(&cols);
	foreach(lc, old->vars)
	{
		RvgVar		   *v = lfirst(lc);

		if (v->scope_level > 0)
			continue;
		s->vars = lappend(s->vars, ProjectVar(v, &cols, &ncol, alias, v->name));
	}
	if (ncol == 0)
		appendStringInfoString(&cols, "1 AS c0");
	appendStringInfo(&s->from, "(SELECT %s%s) %s", cols.data, RvgFromWhere(old), alias);
	P->sel = s;
	return alias;
}

/* ---------------------------------------------------------------------
 * Input rows of a step
 * ---------------------------------------------------------------------
 */

/*
 * Starts a SELECT over the rows the previous step handed on: one array
 * parameter per column, unnested in order, with node and relationship ids
 * joined back to their tables so later clauses see the updates.
 */
void
RvgSelFromInput(RvgPlanner *P, List *layout, int ncols, RvgColType *types)
{
	StringInfoData buf;
	ListCell   *lc;
	RvgVar		   *ord;

	P->sel = NewSel();
	P->sel->has_input = true;
	P->ninput = ncols;
	P->intypes = types;
	initStringInfo(&buf);
	/* ROWS FROM: multi-argument unnest is only recognised unqualified */
	appendStringInfoString(&buf, "ROWS FROM (");
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&buf, "%spg_catalog.unnest($%d::%s)", i ? ", " : "", i + 1,
						 types[i] == COL_ID ? "bigint[]" : "jsonb[]");
	appendStringInfoString(&buf, ") WITH ORDINALITY AS inp(");
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&buf, "c%d, ", i + 1);
	appendStringInfoString(&buf, "ord)");
	foreach(lc, layout)
	{
		RvgCarryVar *cv = lfirst(lc);
		RvgVar		   *v = NewVar(cv->kind, cv->name);
		char	   *a;

		v->nullable = true;
		switch (cv->kind)
		{
			case VK_NODE:
			case VK_EDGE:
				/* the carried id joined back to its row */
				a = RvgAlias(P, cv->kind == VK_NODE ? "n" : "e");
				appendStringInfo(&buf, " LEFT JOIN %s.%s %s ON %s.id = inp.c%d", P->s,
								 cv->kind == VK_NODE ? "ruvector_graph_node" : "ruvector_graph_edge",
								 a, a, cv->col);
				if (cv->kind == VK_NODE)
					NodeColumns(v, a);
				else
					EdgeColumns(v, a);
				break;
			case VK_PATH:
				v->value = psprintf("%s.ruvector_cy_ids(inp.c%d)", P->s, cv->col);
				v->edges = psprintf("%s.ruvector_cy_ids(inp.c%d)", P->s, cv->col2);
				break;
			case VK_EDGES:
				v->value = psprintf("%s.ruvector_cy_ids(inp.c%d)", P->s, cv->col);
				break;
			default:
				v->value = psprintf("inp.c%d", cv->col);
				break;
		}
		v->outer = true;
		P->sel->vars = lappend(P->sel->vars, v);
	}
	appendStringInfoString(&P->sel->from, buf.data);
	ord = NewVar(VK_VALUE, RVG_ORD_VAR);
	ord->value = "inp.ord";
	P->sel->vars = lappend(P->sel->vars, ord);
}

/* ---------------------------------------------------------------------
 * Property maps in patterns
 * ---------------------------------------------------------------------
 */

/*
 * Conditions for a pattern's property map on props (a jsonb expression):
 * constants go into one containment test, which the GIN index answers and
 * which is what Apache AGE does (so {tags: ['x']} matches a node whose
 * tags list contains 'x'); expressions use Cypher equality; a null value
 * never matches.
 */
static void
AddPropsConds(RvgPlanner *P, CyExpr *map, const char *props, List **conds)
{
	StringInfoData contain;
	int			ncontain = 0;

	if (map == NULL)
		return;
	initStringInfo(&contain);
	appendStringInfoChar(&contain, '{');
	if (map->kind == CYX_PARAM)
	{
		Jsonb	   *jb = RvgParam(P, map);
		JsonbIterator *it;
		JsonbValue	k,
					v;

		if (jb == NULL || !JB_ROOT_IS_OBJECT(jb))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("parameter $%s must be a map to be used as properties", map->str),
					 RvgErrPosition(P->text, map->loc)));
		it = JsonbIteratorInit(&jb->root);
		while (RvgNextMapEntry(&it, &k, &v))
		{
			if (v.type == jbvNull)
				*conds = lappend(*conds, "false");
			else
			{
				JsonbValue	kv = k;
				Jsonb	   *val = JsonbValueToJsonb(&v);
				char	   *keyjson = JsonbToCString(NULL, &JsonbValueToJsonb(&kv)->root, 0);

				appendStringInfo(&contain, "%s%s: %s", ncontain++ ? ", " : "", keyjson,
								 JsonbToCString(NULL, &val->root, VARSIZE(val)));
			}
		}
	}
	else
	{
		for (int i = 0; i < map->nargs; i++)
		{
			StringInfoData val;
			char	   *key = quote_literal_cstr(map->keys[i]);

			initStringInfo(&val);
			if (!RvgConstJson(P, map->args[i], &val))
				*conds = lappend(*conds, psprintf("%s.ruvector_cy_eq(%s -> %s, %s)", P->s, props, key,
												  RvgExpr(P, map->args[i])));
			else if (strcmp(val.data, "null") == 0)
				*conds = lappend(*conds, "false");
			else
			{
				if (ncontain++)
					appendStringInfoString(&contain, ", ");
				escape_json(&contain, map->keys[i]);
				appendStringInfo(&contain, ": %s", val.data);
			}
		}
	}
	appendStringInfoChar(&contain, '}');
	if (ncontain > 0)
		*conds = lappend(*conds, psprintf("(%s @> %s)", props, RvgConstMarker(P, contain.data)));
}

/*
 * A marker standing for the jsonb constant json in the SQL being built:
 * FinishConsts makes it a literal, or in the final reading step a
 * parameter, so that queries differing only in such constants share one
 * statement text and so one cached plan (cypher_cache.c).
 */
char *
RvgConstMarker(RvgPlanner *P, const char *json)
{
	P->consts = lappend(P->consts, pstrdup(json));
	return psprintf("%c%d%c", RVG_CONST_MARK, list_length(P->consts) - 1, RVG_CONST_MARK);
}

/* ---------------------------------------------------------------------
 * Nodes
 * ---------------------------------------------------------------------
 */
static void
AddLabelConds(RvgPlanner *P, CyNodePat *np, RvgVar *v)
{
	for (int i = 0; i < np->nlabels; i++)
		AddCond(P, RvgLabelCond(P, v->label, v->labels, v->id, np->labels[i]));
	if (np->nlabels == 1)
		v->known_label = np->labels[0];
}

/* Joins ruvector_graph_node for a node that was left free. */
static void
MaterializeNode(RvgPlanner *P, RvgVar *v)
{
	char	   *a;

	if (v->id != NULL)
		return;
	a = RvgAlias(P, "n");
	AddFrom(P, psprintf("%s.ruvector_graph_node %s", P->s, a));
	AddCond(P, psprintf("(%s.graph_id = %d)", a, P->g->graph_id));
	NodeColumns(v, a);
}

/*
 * Binds a node pattern: an existing variable gets the pattern's label and
 * property conditions; a new node is a row of ruvector_graph_node, except
 * an anonymous, unconstrained one, which stays free (id NULL) until a
 * relationship gives it an id (see the file header).
 */
static RvgVar *
BindNode(RvgPlanner *P, CyNodePat *np)
{
	RvgVar		   *v = RvgFindVar(P, np->var);

	if (v != NULL)
	{
		RvgCheckKind(P, v, VK_NODE, np->loc);
		AddLabelConds(P, np, v);
		AddPropsConds(P, np->props, v->props, &P->sel->conds);
		return v;
	}
	v = NewVar(VK_NODE, np->var);
	if (np->var != NULL || np->nlabels > 0 || np->props != NULL)
	{
		MaterializeNode(P, v);
		AddLabelConds(P, np, v);
		AddPropsConds(P, np->props, v->props, &P->sel->conds);
	}
	AddVar(P, v);
	return v;
}

/* How well a node pins down a traversal's start (higher is better). */
static int
AnchorScore(RvgVar *v, CyNodePat *np)
{
	if (v->id == NULL)
		return -1;
	if (v->outer)
		return 3;
	if (np->props != NULL)
		return 2;
	return np->nlabels > 0 || v->known_label ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * Relationships
 * ---------------------------------------------------------------------
 */
static char *
TypeCond(const char *col, CyRelPat *r)
{
	StringInfoData buf;

	if (r->ntypes == 0)
		return NULL;
	if (r->ntypes == 1)
		return psprintf("(%s = %s)", col, quote_literal_cstr(r->types[0]));
	initStringInfo(&buf);
	appendStringInfo(&buf, "(%s IN (", col);
	for (int i = 0; i < r->ntypes; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", quote_literal_cstr(r->types[i]));
	appendStringInfoString(&buf, "))");
	return buf.data;
}

static bool
TypesDisjoint(int na, const char **a, int nb, const char **b)
{
	if (na == 0 || nb == 0)
		return false;
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (strcmp(a[i], b[j]) == 0)
				return false;
	return true;
}

/* Relationship uniqueness against the edges already in this MATCH. */
static void
AddUniqueness(RvgPlanner *P, const char *id, int ntypes, const char **types, const char *ids)
{
	ListCell   *lc;

	foreach(lc, P->sel->clause_edges)
	{
		ClauseEdge *ce = lfirst(lc);

		if (id != NULL && !TypesDisjoint(ntypes, types, ce->ntypes, ce->types))
			AddCond(P, psprintf("(%s <> %s)", id, ce->id));
		if (ids != NULL)
			AddCond(P, psprintf("(%s <> ALL(%s))", ce->id, ids));
	}
	foreach(lc, P->sel->clause_paths)
	{
		if (id != NULL)
			AddCond(P, psprintf("(%s <> ALL(%s))", id, (char *) lfirst(lc)));
		if (ids != NULL)
			AddCond(P, psprintf("(NOT (%s && %s))", ids, (char *) lfirst(lc)));
	}
}

/* Sets a free node's id, or adds the join condition for a bound one. */
static void
JoinEnd(RvgPlanner *P, RvgVar *node, const char *col)
{
	if (node->id == NULL)
		node->id = pstrdup(col);
	else
		AddCond(P, psprintf("(%s = %s)", col, node->id));
}

/* One fixed-length relationship between two bound node variables. */
static RvgVar *
FixedRel(RvgPlanner *P, CyRelPat *r, RvgVar *left, RvgVar *right)
{
	RvgVar		   *v = RvgFindVar(P, r->var);
	char	   *a;
	char	   *src,
			   *dst;
	char	   *tc;
	ClauseEdge *ce;

	if (v != NULL)
	{
		RvgCheckKind(P, v, VK_EDGE, r->loc);
		if (!v->outer)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("relationship variable `%s` is used twice in one pattern", r->var),
					 RvgErrPosition(P->text, r->loc)));
		MaterializeNode(P, left);
		MaterializeNode(P, right);
		if (r->dir == CY_DIR_BOTH)
			AddCond(P, psprintf("((%s = %s AND %s = %s) OR (%s = %s AND %s = %s))",
								v->start, left->id, v->end, right->id,
								v->start, right->id, v->end, left->id));
		else
			AddCond(P, psprintf("(%s = %s AND %s = %s)",
								v->start, r->dir == CY_DIR_RIGHT ? left->id : right->id,
								v->end, r->dir == CY_DIR_RIGHT ? right->id : left->id));
		if ((tc = TypeCond(v->label, r)) != NULL)
			AddCond(P, tc);
		AddPropsConds(P, r->props, v->props, &P->sel->conds);
		return v;
	}
	a = RvgAlias(P, "e");
	if (r->dir == CY_DIR_BOTH)
	{
		AddFrom(P, psprintf("(SELECT id, type, start_id, end_id, properties, graph_id, start_id AS src, end_id AS dst "
							"FROM %s.ruvector_graph_edge UNION ALL "
							"SELECT id, type, start_id, end_id, properties, graph_id, end_id, start_id "
							"FROM %s.ruvector_graph_edge WHERE start_id <> end_id) %s", P->s, P->s, a));
		src = psprintf("%s.src", a);
		dst = psprintf("%s.dst", a);
	}
	else
	{
		AddFrom(P, psprintf("%s.ruvector_graph_edge %s", P->s, a));
		src = psprintf("%s.%s", a, r->dir == CY_DIR_RIGHT ? "start_id" : "end_id");
		dst = psprintf("%s.%s", a, r->dir == CY_DIR_RIGHT ? "end_id" : "start_id");
	}
	/* with both ends free nothing ties the edge to the graph: say so */
	if (left->id == NULL && right->id == NULL)
		AddCond(P, psprintf("(%s.graph_id = %d)", a, P->g->graph_id));
	JoinEnd(P, left, src);
	JoinEnd(P, right, dst);
	v = NewVar(VK_EDGE, r->var);
	EdgeColumns(v, a);
	if ((tc = TypeCond(v->label, r)) != NULL)
		AddCond(P, tc);
	AddPropsConds(P, r->props, v->props, &P->sel->conds);
	AddUniqueness(P, v->id, r->ntypes, r->types, NULL);
	ce = palloc(sizeof(ClauseEdge));
	ce->id = v->id;
	ce->ntypes = r->ntypes;
	ce->types = r->types;
	P->sel->clause_edges = lappend(P->sel->clause_edges, ce);
	AddVar(P, v);
	return v;
}

/*
 * The recursive walk of a variable-length relationship from anchor (an id
 * expression).  dir is the direction of travel; with prepend the arrays are
 * built back to front, so a walk from the right end still lists edges in
 * pattern order.  Columns: end_id, edges, nodes (nodes reached, in order).
 */
static char *
WalkSql(RvgPlanner *P, CyRelPat *r, const char *anchor, CyDirection dir, bool prepend)
{
	StringInfoData where;
	char	   *step;
	char	   *tc;
	List	   *pconds = NIL;
	ListCell   *lc;

	if (dir == CY_DIR_BOTH)
		step = psprintf("(SELECT id, start_id AS cur, end_id AS nxt, type, properties FROM %s.ruvector_graph_edge "
						"UNION ALL SELECT id, end_id, start_id, type, properties FROM %s.ruvector_graph_edge "
						"WHERE start_id <> end_id)", P->s, P->s);
	else
		step = psprintf("(SELECT id, %s AS cur, %s AS nxt, type, properties FROM %s.ruvector_graph_edge)",
						dir == CY_DIR_RIGHT ? "start_id" : "end_id",
						dir == CY_DIR_RIGHT ? "end_id" : "start_id", P->s);
	initStringInfo(&where);
	appendStringInfoString(&where, "s.id <> ALL(w.edges)");
	if (r->maxhops != CY_HOPS_UNBOUNDED)
		appendStringInfo(&where, " AND w.depth < %d", r->maxhops);
	if ((tc = TypeCond("s.type", r)) != NULL)
		appendStringInfo(&where, " AND %s", tc);
	AddPropsConds(P, r->props, "s.properties", &pconds);
	foreach(lc, pconds)
		appendStringInfo(&where, " AND %s", (char *) lfirst(lc));
	return psprintf("(WITH RECURSIVE w(node, edges, nodes, depth) AS ("
					"SELECT %s::bigint, ARRAY[]::bigint[], ARRAY[]::bigint[], 0 "
					"UNION ALL SELECT s.nxt, %s, %s, w.depth + 1 FROM w JOIN %s s ON s.cur = w.node "
					"WHERE %s) SELECT node AS end_id, edges, nodes FROM w WHERE depth >= %d)",
					anchor,
					prepend ? "s.id || w.edges" : "w.edges || s.id",
					prepend ? "s.nxt || w.nodes" : "w.nodes || s.nxt",
					step, where.data, r->minhops);
}

static CyDirection
Reverse(CyDirection d)
{
	return d == CY_DIR_RIGHT ? CY_DIR_LEFT : d == CY_DIR_LEFT ? CY_DIR_RIGHT : d;
}

/*
 * A variable-length relationship.  Returns its variable (edge ids) and sets
 * *segnodes to the node ids it adds to a path after its left node.
 */
static RvgVar *
VarLengthRel(RvgPlanner *P, CyRelPat *r, RvgVar *left, CyNodePat *lp, RvgVar *right, CyNodePat *rp,
			 char **segnodes)
{
	bool		from_right = AnchorScore(right, rp) > AnchorScore(left, lp);
	RvgVar		   *anchor = from_right ? right : left;
	RvgVar		   *far = from_right ? left : right;
	char	   *a = RvgAlias(P, "v");
	RvgVar		   *v;

	if (RvgFindVar(P, r->var) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("variable `%s` is already bound; a variable-length relationship needs a new one",
						r->var),
				 RvgErrPosition(P->text, r->loc)));
	MaterializeNode(P, anchor);
	AddFrom(P, psprintf("LATERAL %s %s",
						WalkSql(P, r, anchor->id, from_right ? Reverse(r->dir) : r->dir, from_right), a));
	JoinEnd(P, far, psprintf("%s.end_id", a));
	if (!from_right)
		*segnodes = psprintf("%s.nodes", a);
	else
		*segnodes = psprintf("(CASE WHEN pg_catalog.cardinality(%s.edges) = 0 THEN ARRAY[]::bigint[] "
							 "ELSE %s.nodes[2:] || %s END)", a, a, right->id);
	v = NewVar(VK_EDGES, r->var);
	v->value = psprintf("%s.edges", a);
	AddUniqueness(P, NULL, 0, NULL, v->value);
	P->sel->clause_paths = lappend(P->sel->clause_paths, v->value);
	AddVar(P, v);
	return v;
}

/* shortestPath / allShortestPaths: a breadth-first search per pair. */
static void
ShortestPath(RvgPlanner *P, CyPath *path, RvgVar *left, RvgVar *right, char **nodes, char **edges)
{
	CyRelPat   *r = path->rels[0];
	char	   *a = RvgAlias(P, "sp");
	StringInfoData types;
	RvgVar		   *v;

	if (!r->varlen)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s needs a variable-length relationship, as in (a)-[*..5]-(b)",
						path->shortest == CY_SHORTEST_ONE ? "shortestPath" : "allShortestPaths"),
				 RvgErrPosition(P->text, r->loc)));
	if (r->minhops > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("shortest paths must have a minimum length of 0 or 1"),
				 RvgErrPosition(P->text, r->loc)));
	if (r->props != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("property maps on a shortest path's relationship are not supported"),
				 RvgErrPosition(P->text, r->loc)));
	MaterializeNode(P, left);
	MaterializeNode(P, right);
	initStringInfo(&types);
	appendStringInfoString(&types, "ARRAY[");
	for (int i = 0; i < r->ntypes; i++)
		appendStringInfo(&types, "%s%s", i ? ", " : "", quote_literal_cstr(r->types[i]));
	appendStringInfoString(&types, "]::text[]");
	AddFrom(P, psprintf("LATERAL %s.ruvector_cy_shortest(%s, %s, %s, %d, %d, %d, %s) %s",
						P->s, left->id, right->id, types.data,
						r->dir == CY_DIR_BOTH ? RVG_DIR_BOTH : r->dir == CY_DIR_RIGHT ? RVG_DIR_OUT : RVG_DIR_IN,
						r->minhops, r->maxhops, path->shortest == CY_SHORTEST_ALL ? "true" : "false", a));
	*nodes = psprintf("%s.node_ids", a);
	*edges = psprintf("%s.edge_ids", a);
	if (r->var != NULL)
	{
		RvgCheckUnbound(P, r->var, r->loc);
		v = NewVar(VK_EDGES, r->var);
		v->value = *edges;
		AddVar(P, v);
	}
}

/*
 * Adds one path of a MATCH: its nodes first (so LATERAL walks can refer
 * to them), then its relationships, then the path variable.
 */
static void
AddPath(RvgPlanner *P, CyPath *path)
{
	RvgVar		  **nodes = palloc(sizeof(RvgVar *) * (path->nrels + 1));
	StringInfoData pnodes,
				pedges;
	bool		direct = true;

	for (int i = 0; i <= path->nrels; i++)
		nodes[i] = BindNode(P, path->nodes[i]);
	initStringInfo(&pnodes);
	initStringInfo(&pedges);
	if (path->shortest != CY_SHORTEST_NONE)
	{
		char	   *pn,
				   *pe;

		ShortestPath(P, path, nodes[0], nodes[1], &pn, &pe);
		appendStringInfoString(&pnodes, pn);
		appendStringInfoString(&pedges, pe);
		direct = false;
	}
	else
	{
		RvgVar		  **rels = palloc(sizeof(RvgVar *) * (path->nrels + 1));
		char	  **segs = palloc(sizeof(char *) * (path->nrels + 1));

		for (int i = 0; i < path->nrels; i++)
		{
			CyRelPat   *r = path->rels[i];

			segs[i] = NULL;
			if (r->varlen)
			{
				rels[i] = VarLengthRel(P, r, nodes[i], path->nodes[i], nodes[i + 1],
									   path->nodes[i + 1], &segs[i]);
				direct = false;
			}
			else
				rels[i] = FixedRel(P, r, nodes[i], nodes[i + 1]);
		}
		for (int i = 0; i <= path->nrels; i++)
			MaterializeNode(P, nodes[i]);
		if (path->var != NULL)
		{
			appendStringInfo(&pnodes, "ARRAY[%s]", nodes[0]->id);
			appendStringInfoString(&pedges, "ARRAY[]::bigint[]");
			for (int i = 0; i < path->nrels; i++)
			{
				if (segs[i] != NULL)
				{
					appendStringInfo(&pnodes, " || %s", segs[i]);
					appendStringInfo(&pedges, " || %s", rels[i]->value);
				}
				else
				{
					appendStringInfo(&pnodes, " || %s", nodes[i + 1]->id);
					appendStringInfo(&pedges, " || %s", rels[i]->id);
				}
			}
			for (int i = 0; i <= path->nrels; i++)
				if (nodes[i]->label == NULL)
					direct = false;
			if (direct)
			{
				StringInfoData j;

				initStringInfo(&j);
				appendStringInfoString(&j, "pg_catalog.jsonb_build_array(");
				for (int i = 0; i <= path->nrels; i++)
				{
					if (i > 0)
						appendStringInfo(&j, ", %s, ", RvgEdgeJson(P, rels[i - 1]));
					appendStringInfoString(&j, RvgNodeJson(P, nodes[i]));
				}
				appendStringInfoChar(&j, ')');
				if (path->nrels > 45)
					direct = false;
				else
				{
					RvgVar		   *pv = NewVar(VK_PATH, path->var);

					pv->value = psprintf("(%s)", pnodes.data);
					pv->edges = psprintf("(%s)", pedges.data);
					pv->json = j.data;
					RvgCheckUnbound(P, path->var, path->loc);
					AddVar(P, pv);
					return;
				}
			}
		}
	}
	for (int i = 0; i <= path->nrels; i++)
		MaterializeNode(P, nodes[i]);
	if (path->var != NULL)
	{
		RvgVar		   *pv = NewVar(VK_PATH, path->var);

		RvgCheckUnbound(P, path->var, path->loc);
		pv->value = psprintf("(%s)", pnodes.data);
		pv->edges = psprintf("(%s)", pedges.data);
		AddVar(P, pv);
	}
}

/* Marks every variable of the current SELECT as bound before this clause. */
static void
MarkOuter(RvgPlanner *P)
{
	ListCell   *lc;

	foreach(lc, P->sel->vars)
		((RvgVar *) lfirst(lc))->outer = true;
	P->sel->clause_edges = NIL;
	P->sel->clause_paths = NIL;
}

static void
AddPattern(RvgPlanner *P, CyClause *c)
{
	for (int i = 0; i < c->npaths; i++)
		AddPath(P, c->paths[i]);
	if (c->where != NULL)
		AddCond(P, RvgTopLevelPred(P, c->where));
}

/*
 * OPTIONAL MATCH: the rows so far become a subquery, and the pattern a
 * LEFT JOIN LATERAL on it, so rows without a match keep nulls.
 */
static void
AddOptionalMatch(RvgPlanner *P, CyClause *c)
{
	RvgSel	   *outer;
	RvgSel	   *inner;
	char	   *alias = RvgAlias(P, "o");
	StringInfoData cols;
	int			ncol = 0;
	ListCell   *lc;
	int			nouter;

	CloseSel(P);
	outer = P->sel;
	MarkOuter(P);
	nouter = list_length(outer->vars);
	inner = NewSel();
	inner->vars = list_copy(outer->vars);
	P->sel = inner;
	AddPattern(P, c);
	initStringInfo(&cols);
	for (int i = nouter; i < list_length(inner->vars); i++)
	{
		RvgVar		   *v = list_nth(inner->vars, i);
		RvgVar		   *o = ProjectVar(v, &cols, &ncol, alias, v->name);

		o->nullable = true;
		outer->vars = lappend(outer->vars, o);
	}
	if (ncol == 0)
		appendStringInfoString(&cols, "1 AS c0");
	P->sel = outer;
	appendStringInfo(&outer->from, " LEFT JOIN LATERAL (SELECT %s%s) %s ON true",
					 cols.data, RvgFromWhere(inner), alias);
	foreach(lc, outer->vars)
		((RvgVar *) lfirst(lc))->outer = false;
}

static void
AddMatch(RvgPlanner *P, CyClause *c)
{
	if (c->optional)
	{
		AddOptionalMatch(P, c);
		return;
	}
	MarkOuter(P);
	AddPattern(P, c);
}

/*
 * Starts a correlated subquery over a pattern: the row's variables stay
 * visible, the pattern's new ones are local.  Returns the outer SELECT to
 * restore with EndSubPattern.
 */
static RvgSel *
BeginSubPattern(RvgPlanner *P, CyPath *path)
{
	RvgSel	   *outer = P->sel;
	RvgSel	   *inner;
	ListCell   *lc;

	if (P->no_vars_in != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s cannot contain patterns: it must be a constant expression",
						P->no_vars_in),
				 RvgErrPosition(P->text, path->loc)));
	inner = NewSel();
	inner->vars = list_copy(outer->vars);
	foreach(lc, inner->vars)
		((RvgVar *) lfirst(lc))->outer = true;
	P->sel = inner;
	AddPath(P, path);
	return outer;
}

static RvgSel *
EndSubPattern(RvgPlanner *P, RvgSel *outer)
{
	RvgSel	   *inner = P->sel;
	ListCell   *lc;

	P->sel = outer;
	foreach(lc, outer->vars)
		((RvgVar *) lfirst(lc))->outer = false;
	return inner;
}

/* [(a)-->(b) WHERE ... | expr]: a list built by a correlated subquery. */
char *
RvgPatternComprehension(RvgPlanner *P, CyExpr *e)
{
	RvgSel	   *outer = BeginSubPattern(P, e->path);
	char	   *map;
	RvgSel	   *inner;
	RvgAggScope saved;
	char	   *alias = RvgAlias(P, "pc");

	RvgNoAggregates(P, "in a pattern comprehension", &saved);
	if (e->b != NULL)
		AddCond(P, RvgPred(P, e->b));
	map = RvgExpr(P, e->c);
	RvgRestoreAggregates(P, &saved);
	inner = EndSubPattern(P, outer);

	/*
	 * jsonb_agg over a derived table: were its argument only outer
	 * variables ([(n)-->() | n.name]), it would aggregate the outer query.
	 */
	return psprintf("(SELECT COALESCE(pg_catalog.jsonb_agg(%s.v), '[]'::jsonb) FROM (SELECT %s AS v%s) %s)",
					alias, map, RvgFromWhere(inner), alias);
}

/* The WHERE of EXISTS { } / COUNT { }, inside the subpattern's SELECT. */
static void
SubPatternWhere(RvgPlanner *P, CyExpr *where, const char *what)
{
	RvgAggScope saved;

	if (where == NULL)
		return;
	RvgNoAggregates(P, what, &saved);
	AddCond(P, RvgPred(P, where));
	RvgRestoreAggregates(P, &saved);
}

/* COUNT { pattern WHERE ... }: the number of matches, correlated with the row. */
char *
RvgPatternCount(RvgPlanner *P, CyPath *path, CyExpr *where)
{
	RvgSel	   *outer = BeginSubPattern(P, path);
	RvgSel	   *inner;

	SubPatternWhere(P, where, "in COUNT { }");
	inner = EndSubPattern(P, outer);
	/* with every node bound and no relationship, FROM is empty: 0 or 1 */
	return psprintf("pg_catalog.to_jsonb((SELECT pg_catalog.count(*)%s))", RvgFromWhere(inner));
}

/* EXISTS for a pattern used as a predicate, correlated with the row. */
char *
RvgPatternExists(RvgPlanner *P, CyPath *path, CyExpr *where)
{
	RvgSel	   *outer = BeginSubPattern(P, path);
	RvgSel	   *inner;
	ListCell   *lc;
	char	   *sql;

	SubPatternWhere(P, where, "in EXISTS { }");
	inner = EndSubPattern(P, outer);

	if (inner->from.len == 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "(true");
		foreach(lc, inner->conds)
			appendStringInfo(&buf, " AND %s", (char *) lfirst(lc));
		appendStringInfoChar(&buf, ')');
		return buf.data;
	}
	sql = psprintf("EXISTS (SELECT 1%s)", RvgFromWhere(inner));
	return sql;
}

void
RvgAddUnwind(RvgPlanner *P, CyClause *c)
{
	char	   *a = RvgAlias(P, "u");
	RvgVar		   *v;

	RvgCheckUnbound(P, c->alias, c->loc);
	AddFrom(P, psprintf("pg_catalog.jsonb_array_elements(%s.ruvector_cy_aslist(%s)) WITH ORDINALITY %s(v, o)",
						P->s, RvgExpr(P, c->unwind), a));
	v = NewVar(VK_VALUE, c->alias);
	v->value = psprintf("NULLIF(%s.v, 'null'::jsonb)", a);
	v->nullable = true;
	AddVar(P, v);
}

/* ---------------------------------------------------------------------
 * WITH and RETURN
 * ---------------------------------------------------------------------
 */
typedef struct Item
{
	const char *name;
	const char *text;			/* the expression as written */
	CyExpr	   *expr;
	RvgVar	   *var;			/* a bare variable, carried with its kind */
	bool		agg;
	char	   *sql;			/* VK_VALUE items */
	int			ordinal;		/* its (first) output column */
} Item;

static int
CompareItemNames(const ListCell *a, const ListCell *b)
{
	return strcmp(((Item *) lfirst(a))->name, ((Item *) lfirst(b))->name);
}

/* The projection's items, with RETURN * / WITH * expanded. */
static List *
ProjectionItems(RvgPlanner *P, CyClause *c, bool is_with)
{
	List	   *items = NIL;
	ListCell   *lc;

	if (c->star)
	{
		List	   *star = NIL;

		foreach(lc, P->sel->vars)
		{
			RvgVar		   *v = lfirst(lc);
			Item	   *it;

			if (v->name == NULL || IsHidden(v->name) || v->scope_level > 0 ||
				RvgFindVar(P, v->name) != v)
				continue;
			it = palloc0(sizeof(Item));
			it->name = v->name;
			it->var = v;
			star = lappend(star, it);
		}
		list_sort(star, CompareItemNames);
		if (star == NIL && c->nitems == 0)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("%s * needs at least one variable in scope",
							is_with ? "WITH" : "RETURN"),
					 RvgErrPosition(P->text, c->loc)));
		items = star;
	}
	for (int i = 0; i < c->nitems; i++)
	{
		CyProjItem *pi = c->items[i];
		Item	   *it = palloc0(sizeof(Item));

		it->expr = pi->expr;
		it->text = pi->text;
		it->name = pi->alias ? pi->alias : (pi->expr->kind == CYX_VAR ? pi->expr->str : pi->text);
		if (is_with && pi->alias == NULL && pi->expr->kind != CYX_VAR)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("expression in WITH must be aliased (use AS)"),
					 RvgErrPosition(P->text, pi->expr->loc)));
		if (pi->expr->kind == CYX_VAR)
		{
			it->var = RvgFindVar(P, pi->expr->str);
			if (it->var == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("variable `%s` is not defined", pi->expr->str),
						 RvgErrPosition(P->text, pi->expr->loc)));
		}
		it->agg = cy_expr_has_aggregate(pi->expr);
		items = lappend(items, it);
	}
	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);

		if (it->agg)
			CheckImplicitGrouping(P, it->expr, items, NIL, is_with ? "WITH" : "RETURN");
	}
	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);

		for (ListCell *lc2 = list_head(items); lc2 != lc; lc2 = lnext(items, lc2))
			if (strcmp(((Item *) lfirst(lc2))->name, it->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("multiple result columns with the same name `%s` are not supported",
								it->name),
						 RvgErrPosition(P->text, it->expr ? it->expr->loc : c->loc)));
	}
	return items;
}

/* Structural equality of two expressions (patterns never compare equal). */
static bool
SameExpr(const CyExpr *a, const CyExpr *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->kind != b->kind || a->op != b->op || a->bval != b->bval || a->star != b->star ||
		a->ival != b->ival || a->fval != b->fval || a->nargs != b->nargs ||
		a->nlabels != b->nlabels || a->path != NULL || b->path != NULL)
		return false;
	if ((a->str == NULL) != (b->str == NULL) || (a->str && strcmp(a->str, b->str) != 0))
		return false;
	if ((a->str2 == NULL) != (b->str2 == NULL) || (a->str2 && strcmp(a->str2, b->str2) != 0))
		return false;
	if (!SameExpr(a->a, b->a) || !SameExpr(a->b, b->b) || !SameExpr(a->c, b->c))
		return false;
	for (int i = 0; i < a->nargs; i++)
	{
		if (!SameExpr(a->args[i], b->args[i]))
			return false;
		if (a->keys && (b->keys == NULL || strcmp(a->keys[i], b->keys[i]) != 0))
			return false;
	}
	for (int i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i], b->labels[i]) != 0)
			return false;
	return true;
}

static bool
IsGroupingKey(const CyExpr *e, List *items)
{
	ListCell   *lc;

	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);

		if (it->agg)
			continue;
		if (it->expr != NULL && SameExpr(it->expr, e))
			return true;
		if (it->var != NULL && e->kind == CYX_VAR && strcmp(it->var->name, e->str) == 0)
			return true;
	}
	return false;
}

/*
 * In an aggregating projection, the parts of an aggregating item outside
 * its aggregates may only use grouping keys (other items), as Neo4j: in
 * RETURN n.age + count(*), n.age would be an implicit grouping key.  locals
 * are the comprehension variables in scope.
 */
static void
CheckImplicitGrouping(RvgPlanner *P, const CyExpr *e, List *items, List *locals, const char *clause)
{
	ListCell   *lc;

	if (e == NULL)
		return;
	check_stack_depth();
	if (e->kind == CYX_FUNC && cy_is_aggregate(e->str))
		return;
	if (IsGroupingKey(e, items))
		return;
	if (e->kind == CYX_VAR || (e->kind == CYX_PROP && e->a->kind == CYX_VAR))
	{
		const char *name = e->kind == CYX_VAR ? e->str : e->a->str;

		foreach(lc, locals)
			if (strcmp((const char *) lfirst(lc), name) == 0)
				return;
		if (e->kind == CYX_PROP && IsGroupingKey(e->a, items))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("aggregating expression in %s uses `%.*s`, which is not a grouping key",
						clause, e->end - e->loc, P->text + e->loc),
				 RvgErrPosition(P->text, e->loc)));
	}
	if (e->kind == CYX_PATTERN || e->kind == CYX_PATCOMP || e->kind == CYX_COUNTSUB)
		return;					/* checked by PostgreSQL */
	if (e->kind == CYX_REDUCE)
	{
		List	   *inner = lappend(lappend(list_copy(locals), (void *) e->str), (void *) e->str2);

		CheckImplicitGrouping(P, e->a, items, locals, clause);
		CheckImplicitGrouping(P, e->b, items, locals, clause);
		CheckImplicitGrouping(P, e->c, items, inner, clause);
		return;
	}
	if ((e->kind == CYX_LISTCOMP || e->kind == CYX_QUANT) && e->str != NULL)
	{
		List	   *inner = lappend(list_copy(locals), (void *) e->str);

		CheckImplicitGrouping(P, e->a, items, locals, clause);
		CheckImplicitGrouping(P, e->b, items, inner, clause);
		CheckImplicitGrouping(P, e->c, items, inner, clause);
		return;
	}
	CheckImplicitGrouping(P, e->a, items, locals, clause);
	CheckImplicitGrouping(P, e->b, items, locals, clause);
	CheckImplicitGrouping(P, e->c, items, locals, clause);
	for (int i = 0; i < e->nargs; i++)
		CheckImplicitGrouping(P, e->args[i], items, locals, clause);
}

static bool
AnyAggregate(List *items)
{
	ListCell   *lc;

	foreach(lc, items)
		if (((Item *) lfirst(lc))->agg)
			return true;
	return false;
}

/*
 * The value of a SKIP or LIMIT expression, computed when the query is
 * translated (as Neo4j, it may not read variables): a literal or parameter
 * as is, another expression by a one-row statement.  It must be a
 * non-negative integer: 1.5, 2.0, '3', null and -1 are errors, not rounded.
 */
static int64
SkipLimitValue(RvgPlanner *P, CyExpr *e, const char *what)
{
	StringInfoData buf;
	List	   *saved = P->sel->vars;
	const char *saved_what = P->no_vars_in;
	char	   *end;
	int64		v;

	initStringInfo(&buf);
	if (!RvgConstJson(P, e, &buf))
	{
		char	   *sql;
		char	   *value;

		P->sel->vars = NIL;
		P->no_vars_in = what;
		sql = RvgExpr(P, e);
		P->sel->vars = saved;
		P->no_vars_in = saved_what;
		value = RvgEvalText(sql);
		appendStringInfoString(&buf, value ? value : "null");
	}
	errno = 0;
	v = strtoi64(buf.data, &end, 10);
	if (buf.data[0] == '\0' || *end != '\0' || errno != 0 || v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a non-negative integer, not %s", what, buf.data),
				 RvgErrPosition(P->text, e->loc)));
	return v;
}

/* " OFFSET .. LIMIT .." of a projection. */
static char *
SkipLimit(RvgPlanner *P, CyClause *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (c->skip)
		appendStringInfo(&buf, " OFFSET " INT64_FORMAT, SkipLimitValue(P, c->skip, "SKIP"));
	if (c->limit)
		appendStringInfo(&buf, " LIMIT " INT64_FORMAT, SkipLimitValue(P, c->limit, "LIMIT"));
	return buf.data;
}

/*
 * The projected item an ORDER BY key names: its alias, or the same
 * expression as written (RETURN a.name ORDER BY a.name), or NULL.
 */
static Item *
SortItem(RvgPlanner *P, CyExpr *e, List *items)
{
	ListCell   *lc;
	char	   *text = pnstrdup(P->text + e->loc, e->end - e->loc);

	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);

		if ((e->kind == CYX_VAR && strcmp(e->str, it->name) == 0) ||
			(it->text != NULL && strcmp(text, it->text) == 0))
			return it;
	}
	return NULL;
}

/*
 * " ORDER BY ..." compiled in the current scope; a key that names a
 * projected item sorts by that output column.
 */
static char *
OrderBy(RvgPlanner *P, CyClause *c, const char *fallback, List *items, bool allow_vector)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < c->norder; i++)
	{
		bool		is_vector;
		Item	   *it = SortItem(P, c->order[i]->expr, items);
		char	   *key;

		key = NULL;
		/* a vector distance stays an expression, so an index can order it */
		if (it != NULL && allow_vector && it->var == NULL && !it->agg)
		{
			key = RvgOrderKey(P, it->expr, &is_vector);
			if (!is_vector)
				key = NULL;
		}
		if (key == NULL && it != NULL)
			key = psprintf("%d", it->ordinal);
		if (key == NULL)
			key = RvgOrderKey(P, c->order[i]->expr, &is_vector);
		appendStringInfo(&buf, "%s%s%s", i ? ", " : " ORDER BY ", key,
						 c->order[i]->desc ? " DESC" : "");
	}
	if (c->norder == 0 && fallback != NULL)
		appendStringInfo(&buf, " ORDER BY %s", fallback);
	return buf.data;
}

/* Variables standing for a projection's names while ORDER BY is compiled. */
static List *
AliasVars(List *items)
{
	List	   *vars = NIL;
	ListCell   *lc;

	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);
		RvgVar		   *v;

		if (it->var != NULL)
		{
			v = palloc(sizeof(RvgVar));
			*v = *it->var;
			v->name = it->name;
		}
		else
		{
			v = NewVar(VK_VALUE, it->name);
			v->value = it->sql;
		}
		vars = lappend(vars, v);
	}
	return vars;
}

/*
 * WITH: the projection becomes a subquery and a new SELECT starts over it
 * with only the projected names in scope.
 */
static void
ProjectWith(RvgPlanner *P, CyClause *c)
{
	List	   *items = ProjectionItems(P, c, true);
	bool		agg = AnyAggregate(items);
	char	   *alias = RvgAlias(P, "w");
	StringInfoData cols,
				group;
	int			ncol = 0;
	List	   *newvars = NIL;
	ListCell   *lc;
	RvgSel	   *old = P->sel;
	char	   *sql;

	initStringInfo(&cols);
	initStringInfo(&group);
	P->agg_allowed = true;
	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);
		int			before = ncol;
		RvgVar		   *o;

		it->ordinal = ncol + 1;
		if (it->var != NULL)
			o = ProjectVar(it->var, &cols, &ncol, alias, it->name);
		else
		{
			RvgVar			tmp = {0};

			it->sql = RvgExpr(P, it->expr);
			tmp.kind = VK_VALUE;
			tmp.value = it->sql;
			tmp.nullable = true;
			o = ProjectVar(&tmp, &cols, &ncol, alias, it->name);
		}
		if (!it->agg)
			for (int k = before + 1; k <= ncol; k++)
				appendStringInfo(&group, "%s%d", group.len ? ", " : "", k);
		newvars = lappend(newvars, o);
	}
	P->agg_allowed = false;
	if (ncol == 0)
		appendStringInfoString(&cols, "1 AS c0");
	/* ORDER BY sees the new names, and the old ones unless aggregating */
	P->sel = NewSel();
	P->sel->vars = list_concat(agg || c->distinct ? NIL : list_copy(old->vars), AliasVars(items));
	P->sel->from = old->from;
	P->sel->conds = old->conds;
	sql = psprintf("SELECT %s%s%s%s%s%s%s", c->distinct ? "DISTINCT " : "", cols.data,
				   RvgFromWhere(old),
				   agg && group.len > 0 ? " GROUP BY " : "", agg ? group.data : "",
				   OrderBy(P, c, NULL, items, !agg && !c->distinct), SkipLimit(P, c));
	P->sel = NewSel();
	appendStringInfo(&P->sel->from, "(%s) %s", sql, alias);
	P->sel->vars = newvars;
	if (c->where != NULL)
		AddCond(P, RvgTopLevelPred(P, c->where));
}

/*
 * A RETURN item n.key as its properties object, with the key in *keys[i]
 * for the executor to take (cypher_exec.c, EmitRow): the row carries the
 * stored object and its value is read from it in place, where "props ->
 * 'key'" would build a jsonb of the value that the result then unpacks
 * again.  Only for RETURN's own columns: the rows of DISTINCT, of an
 * aggregate, of ORDER BY (by ordinal) and of a UNION are compared by
 * value, so those keep the value as the column.
 */
static char *
DirectProperty(RvgPlanner *P, Item *it, char ***keys, int ncols, int i)
{
	const char *key;
	char	   *props = RvgPropsOf(P, it->expr, &key);

	if (props == NULL ||
		strcmp(it->sql, psprintf("(%s -> %s)", props, quote_literal_cstr(key))) != 0)
		return it->sql;
	if (*keys == NULL)
		*keys = palloc0(sizeof(char *) * (ncols + 1));
	(*keys)[i] = pstrdup(key);
	return props;
}

/*
 * RETURN: the final SELECT of a single query.  Every column is jsonb;
 * names are the aliases or the expressions as written.  Rows handed on by
 * an earlier step keep their order unless ORDER BY says otherwise.  keys,
 * when not NULL, receives the columns to be read as property keys (NULL
 * when there is none; see DirectProperty).
 */
static char *
ProjectReturn(RvgPlanner *P, CyClause *c, char ***names, int *ncols, char ***keys)
{
	List	   *items = ProjectionItems(P, c, false);
	bool		agg = AnyAggregate(items);
	StringInfoData cols,
				group;
	ListCell   *lc;
	RvgSel	   *old = P->sel;
	char	   *order;
	RvgVar		   *ord = RvgFindVar(P, RVG_ORD_VAR);

	initStringInfo(&cols);
	initStringInfo(&group);
	*ncols = list_length(items);
	*names = palloc(sizeof(char *) * (*ncols + 1));
	if (keys != NULL)
	{
		*keys = NULL;
		if (agg || c->distinct || c->norder > 0 || P->in_union)
			keys = NULL;
	}
	P->agg_allowed = true;
	foreach(lc, items)
	{
		Item	   *it = lfirst(lc);
		int			i = foreach_current_index(lc);

		if (it->var != NULL)
		{
			CyExpr		e = {.kind = CYX_VAR, .str = it->var->name, .loc = c->loc};

			it->sql = RvgExpr(P, it->expr ? it->expr : &e);
		}
		else
			it->sql = RvgExpr(P, it->expr);
		(*names)[i] = pstrdup(it->name);
		it->ordinal = i + 1;
		appendStringInfo(&cols, "%s%s AS c%d", i ? ", " : "",
						 keys != NULL && it->var == NULL ? DirectProperty(P, it, keys, *ncols, i) : it->sql,
						 i + 1);
		if (!it->agg)
			appendStringInfo(&group, "%s%d", group.len ? ", " : "", i + 1);
		if (!it->agg && it->var != NULL)
		{
			/*
			 * A grouping node or relationship also groups by its columns,
			 * which an aggregating item may read (RETURN n, n.x + count(*)).
			 */
			const char *parts[] = {it->var->id, it->var->label, it->var->props, it->var->start,
			it->var->end, it->var->value, it->var->edges};

			for (int k = 0; k < lengthof(parts); k++)
				if (parts[k] != NULL)
					appendStringInfo(&group, ", %s", parts[k]);
		}
	}
	P->agg_allowed = false;
	if (agg || c->distinct)
	{
		/* sort over the projected columns only */
		char	   *alias = RvgAlias(P, "r");
		List	   *vars = NIL;
		char	   *inner = psprintf("SELECT %s%s%s%s%s", c->distinct ? "DISTINCT " : "", cols.data,
									 RvgFromWhere(old), agg && group.len ? " GROUP BY " : "",
									 agg ? group.data : "");

		foreach(lc, items)
		{
			Item	   *it = lfirst(lc);
			RvgVar		   *v = NewVar(VK_VALUE, it->name);

			v->value = psprintf("%s.c%d", alias, foreach_current_index(lc) + 1);
			vars = lappend(vars, v);
		}
		P->sel = NewSel();
		P->sel->vars = vars;
		order = OrderBy(P, c, NULL, items, false);
		P->sel = old;
		return psprintf("SELECT * FROM (%s) %s%s%s", inner, alias, order, SkipLimit(P, c));
	}
	P->sel = NewSel();
	P->sel->vars = list_concat(list_copy(old->vars), AliasVars(items));
	order = OrderBy(P, c, ord ? ord->value : NULL, items, true);
	P->sel = old;
	return psprintf("SELECT %s%s%s%s", cols.data, RvgFromWhere(old), order, SkipLimit(P, c));
}

/*
 * The row's variables a CALL { } subquery sees: those its leading WITH
 * names (WITH a, b or WITH *), none otherwise, as in Neo4j.
 */
static List *
CallImports(RvgSel *outer, CyClause *first)
{
	List	   *vars = NIL;
	ListCell   *lc;

	if (first->kind != CYC_WITH)
		return NIL;
	foreach(lc, outer->vars)
	{
		RvgVar	   *v = lfirst(lc);
		bool		named = first->star && v->name != NULL && !IsHidden(v->name);

		for (int i = 0; i < first->nitems && !named; i++)
		{
			CyExpr	   *e = first->items[i]->expr;

			named = e->kind == CYX_VAR && v->name != NULL && strcmp(e->str, v->name) == 0;
		}
		if (named)
			vars = lappend(vars, v);
	}
	return vars;
}

/*
 * CALL { ... RETURN ... }: the subquery's clauses over a SELECT that sees
 * the row's variables its leading WITH imports, its RETURN projected, joined LATERAL to the rows (a
 * row for which the subquery returns nothing is dropped, as in Neo4j).
 * Returned values are values: a node returned is its jsonb.
 */
static void
PlanCallSubquery(RvgPlanner *P, CyClause *c)
{
	RvgSel	   *outer;
	char	   *alias;
	char	  **names;
	int			ncols;
	char	   *sql;
	CySingleQuery body;
	CyClause   *ret = c->sub[c->nsub - 1];

	CloseSel(P);
	outer = P->sel;
	MarkOuter(P);
	P->sel = NewSel();
	P->sel->vars = CallImports(outer, c->sub[0]);
	memset(&body, 0, sizeof(body));
	body.loc = c->loc;
	body.nclauses = c->nsub - 1;
	body.clauses = c->sub;
	RvgPlanClauseList(P, &body, 0, false);
	sql = ProjectReturn(P, ret, &names, &ncols, NULL);
	P->sel = outer;
	alias = RvgAlias(P, "call");
	appendStringInfo(&outer->from, " JOIN LATERAL (%s) %s ON true", sql, alias);
	for (int i = 0; i < ncols; i++)
	{
		RvgVar	   *v;

		if (RvgFindVar(P, names[i]) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("variable `%s` is already bound; CALL { } cannot return it again",
							names[i]),
					 RvgErrPosition(P->text, ret->loc)));
		v = NewVar(VK_VALUE, names[i]);
		v->value = psprintf("%s.c%d", alias, i + 1);
		v->nullable = true;
		outer->vars = lappend(outer->vars, v);
	}
	{
		ListCell   *lc;

		foreach(lc, outer->vars)
			((RvgVar *) lfirst(lc))->outer = false;
	}
}

/* ---------------------------------------------------------------------
 * Queries
 * ---------------------------------------------------------------------
 */
/* RETURN: the final reading step of a single query. */
static void
PlanReturn(RvgPlanner *P, CyClause *c)
{
	RvgStep    *st = palloc0(sizeof(RvgStep));

	st->kind = RVG_STEP_READ;
	st->loc = c->loc;
	st->sql = ProjectReturn(P, c, &st->names, &st->ncols, &st->keys);
	st->ninput = P->ninput;
	st->intypes = P->intypes;
	P->plan->steps = lappend(P->plan->steps, st);
	P->plan->returns_rows = true;
}

static void
PlanSetOrRemove(RvgPlanner *P, CyClause *c)
{
	RvgPlanSetItems(P, c->sets, c->nsets, c->kind == CYC_REMOVE, 0, false, c->loc);
}

/* What translates each kind of clause. */
static void (*const clause_planners[]) (RvgPlanner *P, CyClause *c) = {
	[CYC_MATCH] = AddMatch,
	[CYC_UNWIND] = RvgAddUnwind,
	[CYC_CREATE] = RvgPlanCreate,
	[CYC_MERGE] = RvgPlanMerge,
	[CYC_SET] = PlanSetOrRemove,
	[CYC_REMOVE] = PlanSetOrRemove,
	[CYC_DELETE] = RvgPlanDelete,
	[CYC_WITH] = ProjectWith,
	[CYC_RETURN] = PlanReturn,
	[CYC_FOREACH] = RvgPlanForeach,
	[CYC_CALL] = PlanCallSubquery,
};

void
RvgPlanClauseList(RvgPlanner *P, CySingleQuery *sq, int first, bool final)
{
	for (int i = first; i < sq->nclauses; i++)
	{
		CyClause   *c = sq->clauses[i];

		CHECK_FOR_INTERRUPTS();
		Assert(c->kind >= 0 && c->kind < lengthof(clause_planners) && clause_planners[c->kind] != NULL);
		clause_planners[c->kind] (P, c);
	}
}

static bool
IsReadOnly(CySingleQuery *sq)
{
	for (int i = 0; i < sq->nclauses; i++)
	{
		CyClauseKind k = sq->clauses[i]->kind;

		if (k == CYC_CREATE || k == CYC_MERGE || k == CYC_SET || k == CYC_REMOVE || k == CYC_DELETE ||
			k == CYC_FOREACH)
			return false;
	}
	return true;
}

/* UNION [ALL]: read-only parts with the same column names. */
static void
PlanUnion(RvgPlanner *P, CyQuery *q)
{
	StringInfoData sql;
	RvgStep    *first = NULL;

	initStringInfo(&sql);
	P->in_union = true;
	for (int i = 0; i < q->nparts; i++)
	{
		RvgStep    *st;

		if (!IsReadOnly(q->parts[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("UNION of queries that update the graph is not supported"),
					 RvgErrPosition(P->text, q->parts[i]->loc)));
		P->plan->steps = NIL;
		P->sel = NewSel();
		P->ninput = 0;
		RvgPlanClauseList(P, q->parts[i], 0, true);
		st = llast(P->plan->steps);
		if (first == NULL)
			first = st;
		else
		{
			bool		same = st->ncols == first->ncols;

			for (int k = 0; same && k < st->ncols; k++)
				same = strcmp(st->names[k], first->names[k]) == 0;
			if (!same)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("all parts of a UNION must return the same column names"),
						 RvgErrPosition(P->text, q->parts[i]->loc)));
			appendStringInfoString(&sql, q->union_all[i - 1] ? " UNION ALL " : " UNION ");
		}
		appendStringInfo(&sql, "(%s)", st->sql);
	}
	first->sql = sql.data;
	P->plan->steps = list_make1(first);
}

/*
 * sql with the constant markers replaced: by literals when st is NULL,
 * otherwise by parameters numbered after the step's inputs, which are
 * collected in st->consts.
 */
static char *
SubstituteConsts(RvgPlanner *P, const char *sql, RvgStep *st)
{
	StringInfoData buf;
	int		   *param_of = palloc0(sizeof(int) * (list_length(P->consts) + 1));
	const char *p = sql;

	initStringInfo(&buf);
	if (st != NULL)
	{
		st->nconst = 0;
		st->consts = palloc(sizeof(char *) * (list_length(P->consts) + 1));
	}
	for (;;)
	{
		const char *mark = strchr(p, RVG_CONST_MARK);
		char	   *end;
		int			k;

		if (mark == NULL)
		{
			appendStringInfoString(&buf, p);
			break;
		}
		appendBinaryStringInfo(&buf, p, mark - p);
		k = (int) strtol(mark + 1, &end, 10);
		if (*end != RVG_CONST_MARK || k < 0 || k >= list_length(P->consts))
			elog(ERROR, "malformed constant marker in translated Cypher");
		if (st == NULL)
			appendStringInfoString(&buf, RvgJsonLiteral(list_nth(P->consts, k)));
		else
		{
			if (param_of[k] == 0)
			{
				st->consts[st->nconst++] = list_nth(P->consts, k);
				param_of[k] = st->ninput + st->nconst;
			}
			appendStringInfo(&buf, "$%d::jsonb", param_of[k]);
		}
		p = end + 1;
	}
	return buf.data;
}

/*
 * Every step's SQL gets its constants back as literals; the final reading
 * step also gets its parameter form.
 */
static void
FinishConsts(RvgPlanner *P)
{
	ListCell   *lc;

	foreach(lc, P->plan->steps)
	{
		RvgStep    *st = lfirst(lc);

		if (st->sql == NULL)
			continue;			/* the end of a FOREACH */
		if (st->kind == RVG_STEP_READ && lnext(P->plan->steps, lc) == NULL)
			st->param_sql = SubstituteConsts(P, st->sql, st);
		st->sql = SubstituteConsts(P, st->sql, NULL);
		if (st->merge_sql)
			st->merge_sql = SubstituteConsts(P, st->merge_sql, NULL);
	}
}

/*
 * Translates a parsed query into steps.  params is the params argument (a
 * jsonb object or NULL); text is the Cypher source for error positions.
 */
RvgPlan *
RvgPlanQuery(RvgGraph *graph, CyQuery *query, const char *text, Jsonb *params)
{
	RvgPlanner	P = {0};

	P.g = graph;
	P.s = graph->schema;
	P.text = text;
	P.params = params;
	P.plan = palloc0(sizeof(RvgPlan));
	P.plan->graph = graph;
	P.plan->text = text;
	P.sel = NewSel();
	if (query->nparts > 1)
		PlanUnion(&P, query);
	else
		RvgPlanClauseList(&P, query->parts[0], 0, true);
	FinishConsts(&P);
	return P.plan;
}

/* The steps' SQL, for ruvector_cypher_sql(). */
char *
RvgPlanExplain(RvgPlan *plan)
{
	StringInfoData buf;
	ListCell   *lc;
	static const char *const kinds[] = {"RETURN", "CREATE", "MERGE", "SET", "DELETE", "FOREACH",
	"END FOREACH"};

	initStringInfo(&buf);
	foreach(lc, plan->steps)
	{
		RvgStep    *st = lfirst(lc);

		if (list_length(plan->steps) > 1)
			appendStringInfo(&buf, "%s-- step %d: %s\n", buf.len ? "\n" : "",
							 foreach_current_index(lc) + 1, kinds[st->kind]);
		if (st->sql)
			appendStringInfoString(&buf, st->sql);
		for (int c = 0; st->keys != NULL && c < st->ncols; c++)
			if (st->keys[c] != NULL)
				appendStringInfo(&buf, "\n-- c%d: the value of property %s in that object", c + 1,
								 quote_literal_cstr(st->keys[c]));
		if (st->merge_sql)
			appendStringInfo(&buf, "\n-- per row: %s", st->merge_sql);
	}
	return buf.data;
}
