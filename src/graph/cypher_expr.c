/*
 * cypher_expr.c — Cypher expressions to SQL text.
 *
 * NOTES
 *	Two modes: RvgExpr gives a jsonb expression (every Cypher value is
 *	jsonb, null is SQL NULL), RvgPred a boolean one for WHERE, AND/OR/NOT and
 *	comparisons, whose three-valued logic is SQL's own.  Values move between
 *	them with to_jsonb(bool) and ruvector_cy_bool(jsonb).
 *
 *	Constants are folded into jsonb literals, parameters included: a $name
 *	is replaced by its value from the params argument, quoted, so the
 *	planner sees constants (partial indexes, containment on the GIN index,
 *	vector index ordering all need them).
 *
 *	Property equality against a scalar constant at the top level of a WHERE
 *	becomes jsonb containment (props @> '{"k": v}'), which the GIN index on
 *	properties answers; it is equivalent there because a missing key and a
 *	false comparison both drop the row.  The object is a constant marker
 *	(RvgConstMarker), as a property map's is, so WHERE n.k = 1 and = 2 share
 *	a cached plan.
 *
 *	Functions with a SQL equivalent are inlined (id, labels, coalesce,
 *	aggregates); the rest call ruvector_cy_fn with a function number.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "graph/cypher_plan.h"

static char *ExprValue(RvgPlanner *P, CyExpr *e);
static char *InnerExpr(RvgPlanner *P, CyExpr *e, bool pred, const char *where);

/* ---------------------------------------------------------------------
 * Constants and parameters
 * ---------------------------------------------------------------------
 */

/* A jsonb literal for JSON text; JSON null is SQL NULL (Cypher null). */
char *
RvgJsonLiteral(const char *json)
{
	if (strcmp(json, "null") == 0)
		return "NULL::jsonb";
	return psprintf("%s::jsonb", quote_literal_cstr(json));
}

/* The value of $name (NULL for JSON null); raises if it is not given. */
Jsonb *
RvgParam(RvgPlanner *P, CyExpr *e)
{
	JsonbValue *jv = NULL;

	if (P->params != NULL && JB_ROOT_IS_OBJECT(P->params))
		jv = getKeyJsonValueFromContainer(&P->params->root, e->str, strlen(e->str), NULL);
	if (jv == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_PARAMETER),
				 errmsg("Cypher parameter $%s is not defined", e->str),
				 RvgErrPosition(P->text, e->loc)));
	if (jv->type == jbvNull)
		return NULL;
	return JsonbValueToJsonb(jv);
}

static void
AppendJsonString(StringInfo out, const char *s)
{
	escape_json(out, s);
}

/*
 * Appends the JSON text of a constant expression (literals, parameters and
 * lists/maps of them) and returns true; returns false, leaving out as it
 * was, when e depends on the row.
 */
bool
RvgConstJson(RvgPlanner *P, CyExpr *e, StringInfo out)
{
	int			mark = out->len;

	switch (e->kind)
	{
		case CYX_NULL:
			appendStringInfoString(out, "null");
			return true;
		case CYX_BOOL:
			appendStringInfoString(out, e->bval ? "true" : "false");
			return true;
		case CYX_INT:
			appendStringInfo(out, INT64_FORMAT, (int64) e->ival);
			return true;
		case CYX_FLOAT:
			{
				Jsonb	   *jb = RvgFloatJsonb(e->fval);

				appendStringInfoString(out, JsonbToCString(NULL, &jb->root, VARSIZE(jb)));
				return true;
			}
		case CYX_STRING:
			AppendJsonString(out, e->str);
			return true;
		case CYX_PARAM:
			{
				Jsonb	   *jb = RvgParam(P, e);

				appendStringInfoString(out, jb ? JsonbToCString(NULL, &jb->root, VARSIZE(jb)) : "null");
				return true;
			}
		case CYX_UNARY:
			if (e->op == CYO_NEG && (e->a->kind == CYX_INT || e->a->kind == CYX_FLOAT))
			{
				if (e->a->kind == CYX_INT && e->a->ival == PG_INT64_MIN)
					return false;
				appendStringInfoChar(out, '-');
				return RvgConstJson(P, e->a, out);
			}
			return false;
		case CYX_LIST:
		case CYX_MAP:
			appendStringInfoChar(out, e->kind == CYX_LIST ? '[' : '{');
			for (int i = 0; i < e->nargs; i++)
			{
				if (i > 0)
					appendStringInfoString(out, ", ");
				if (e->kind == CYX_MAP)
				{
					AppendJsonString(out, e->keys[i]);
					appendStringInfoString(out, ": ");
				}
				if (!RvgConstJson(P, e->args[i], out))
				{
					out->len = mark;
					out->data[mark] = '\0';
					return false;
				}
			}
			appendStringInfoChar(out, e->kind == CYX_LIST ? ']' : '}');
			return true;
		default:
			return false;
	}
}

/* The SQL literal of a constant, or NULL when e is not constant. */
static char *
ConstLiteral(RvgPlanner *P, CyExpr *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (!RvgConstJson(P, e, &buf))
		return NULL;
	return RvgJsonLiteral(buf.data);
}

/* Is e a constant scalar (string, number, boolean)?  Fills its JSON. */
static bool
ConstScalar(RvgPlanner *P, CyExpr *e, StringInfo out)
{
	if (e->kind == CYX_LIST || e->kind == CYX_MAP)
		return false;
	if (!RvgConstJson(P, e, out))
		return false;
	return strcmp(out->data, "null") != 0 && out->data[0] != '[' && out->data[0] != '{';
}

/* ---------------------------------------------------------------------
 * Variables and properties
 * ---------------------------------------------------------------------
 */
static RvgVar *
LookupVar(RvgPlanner *P, CyExpr *e)
{
	RvgVar		   *v = RvgFindVar(P, e->str);

	if (v == NULL && P->no_vars_in != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s cannot refer to variables (`%s`): it must be a constant expression",
						P->no_vars_in, e->str),
				 RvgErrPosition(P->text, e->loc)));
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("variable `%s` is not defined", e->str),
				 RvgErrPosition(P->text, e->loc)));
	return v;
}

/* The variable e names when e is a bare variable, else NULL. */
static RvgVar *
VarOf(RvgPlanner *P, CyExpr *e)
{
	return e->kind == CYX_VAR ? LookupVar(P, e) : NULL;
}

/* The jsonb value of a variable. */
static char *
VarValue(RvgPlanner *P, RvgVar *v)
{
	switch (v->kind)
	{
		case VK_NODE: return RvgNodeJson(P, v);
		case VK_EDGE: return RvgEdgeJson(P, v);
		case VK_PATH: return RvgPathJson(P, v);
		case VK_EDGES: return RvgEdgeListJson(P, v->value);
		default: return v->value;
	}
}

/* A variable bound to a node or relationship, or NULL. */
static RvgVar *
EntityVar(RvgPlanner *P, CyExpr *e)
{
	RvgVar		   *v;

	if (e->kind != CYX_VAR)
		return NULL;
	v = LookupVar(P, e);
	return (v->kind == VK_NODE || v->kind == VK_EDGE) ? v : NULL;
}

static char *
PropExpr(RvgPlanner *P, CyExpr *e)
{
	RvgVar		   *v = EntityVar(P, e->a);

	if (v != NULL)
		return psprintf("(%s -> %s)", v->props, quote_literal_cstr(e->str));
	if (e->a->kind == CYX_VAR)
	{
		RvgVar		   *pv = LookupVar(P, e->a);

		if (pv->kind == VK_PATH || pv->kind == VK_EDGES)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot read property \"%s\" of a %s",
							e->str, pv->kind == VK_PATH ? "path" : "list of relationships"),
					 RvgErrPosition(P->text, e->loc)));
	}
	return psprintf("%s.ruvector_cy_prop(%s, %s)", P->s, ExprValue(P, e->a),
					quote_literal_cstr(e->str));
}

/* jsonb_build_array / jsonb_build_object in chunks (100 arguments at most). */
static char *
BuildCollection(RvgPlanner *P, CyExpr *e)
{
	StringInfoData buf;
	int			per = e->kind == CYX_LIST ? 90 : 45;

	if (e->nargs == 0)
		return e->kind == CYX_LIST ? "'[]'::jsonb" : "'{}'::jsonb";
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < e->nargs; i++)
	{
		if (i % per == 0)
			appendStringInfoString(&buf, i == 0 ? (e->kind == CYX_LIST ? "pg_catalog.jsonb_build_array(" : "pg_catalog.jsonb_build_object(") :
								   (e->kind == CYX_LIST ? ") || pg_catalog.jsonb_build_array(" : ") || pg_catalog.jsonb_build_object("));
		else
			appendStringInfoString(&buf, ", ");
		if (e->kind == CYX_MAP)
			appendStringInfo(&buf, "%s, ", quote_literal_cstr(e->keys[i]));
		appendStringInfoString(&buf, ExprValue(P, e->args[i]));
	}
	appendStringInfoString(&buf, "))");
	return buf.data;
}

/* n{.a, .*, k: v, x}: a map built from a node, relationship or map. */
static char *
MapProjection(RvgPlanner *P, CyExpr *e)
{
	RvgVar		   *v = EntityVar(P, e->a);
	char	   *base = v ? v->props : psprintf("%s.ruvector_cy_props(%s)", P->s, ExprValue(P, e->a));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "('{}'::jsonb");
	for (int i = 0; i < e->nargs; i++)
	{
		if (e->args[i] == NULL && strcmp(e->keys[i], "*") == 0)
			appendStringInfo(&buf, " || COALESCE(%s, '{}'::jsonb)", base);
		else if (e->args[i] == NULL)
			appendStringInfo(&buf, " || pg_catalog.jsonb_build_object(%s, %s -> %s)",
							 quote_literal_cstr(e->keys[i]), base, quote_literal_cstr(e->keys[i]));
		else
			appendStringInfo(&buf, " || pg_catalog.jsonb_build_object(%s, %s)",
							 quote_literal_cstr(e->keys[i]), ExprValue(P, e->args[i]));
	}
	appendStringInfoChar(&buf, ')');
	if (v != NULL && v->nullable)
		return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE %s END)", v->id, buf.data);
	return buf.data;
}

/* ---------------------------------------------------------------------
 * List comprehensions and quantifiers
 * ---------------------------------------------------------------------
 */

/* Binds a comprehension variable for the duration of a callback's SQL. */
static RvgVar *
PushLocal(RvgPlanner *P, const char *name, const char *alias)
{
	RvgVar		   *v = palloc0(sizeof(RvgVar));

	v->name = name;
	v->kind = VK_VALUE;
	v->value = psprintf("NULLIF(%s.v, 'null'::jsonb)", alias);
	v->nullable = true;
	v->scope_level = ++P->scope_level;
	P->sel->vars = lappend(P->sel->vars, v);
	return v;
}

static void
PopLocal(RvgPlanner *P, RvgVar *v)
{
	P->sel->vars = list_delete_ptr(P->sel->vars, v);
	P->scope_level--;
}

static char *
ListComprehension(RvgPlanner *P, CyExpr *e)
{
	char	   *list = ExprValue(P, e->a);
	char	   *alias = RvgAlias(P, "lc");
	RvgVar		   *v = PushLocal(P, e->str, alias);
	char	   *where = e->b ? InnerExpr(P, e->b, true, "in a list comprehension") : NULL;
	char	   *map = e->c ? InnerExpr(P, e->c, false, "in a list comprehension") : v->value;
	char	   *sql;

	PopLocal(P, v);
	sql = psprintf("(SELECT COALESCE(pg_catalog.jsonb_agg(%s ORDER BY %s.o), '[]'::jsonb) "
				   "FROM pg_catalog.jsonb_array_elements(%s.ruvector_cy_aslist(%s)) WITH ORDINALITY %s(v, o)%s%s)",
				   map, alias, P->s, list, alias, where ? " WHERE " : "", where ? where : "");
	return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE %s END)", list, sql);
}

/*
 * reduce(acc = init, x IN list | expr): a recursive query over the list's
 * positions, the accumulator a column of it; the last row is the value.
 * A null list gives null, as in Neo4j.
 */
static char *
Reduce(RvgPlanner *P, CyExpr *e)
{
	char	   *init = ExprValue(P, e->a);
	char	   *list = ExprValue(P, e->b);
	char	   *alias = RvgAlias(P, "rd");
	RvgVar	   *acc = PushLocal(P, e->str, alias);
	RvgVar	   *x;
	char	   *step;

	acc->value = psprintf("%s.acc", alias);
	x = PushLocal(P, e->str2, alias);
	x->value = psprintf("NULLIF(%s.l -> %s.i, 'null'::jsonb)", alias, alias);
	step = InnerExpr(P, e->c, false, "in reduce()");
	PopLocal(P, x);
	PopLocal(P, acc);
	return psprintf("(CASE WHEN %s IS NULL THEN NULL ELSE (WITH RECURSIVE %s(i, acc, l) AS ("
					"SELECT 0, (%s)::jsonb, %s.ruvector_cy_aslist(%s) "
					"UNION ALL SELECT %s.i + 1, (%s)::jsonb, %s.l FROM %s WHERE %s.i < pg_catalog.jsonb_array_length(%s.l)) "
					"SELECT %s.acc FROM %s ORDER BY %s.i DESC LIMIT 1) END)",
					list, alias, init, P->s, list,
					alias, step, alias, alias, alias, alias,
					alias, alias, alias);
}

/* all/any/none/single with Cypher's nulls. */
static char *
Quantifier(RvgPlanner *P, CyExpr *e)
{
	char	   *list = ExprValue(P, e->a);
	char	   *alias = RvgAlias(P, "q");
	RvgVar		   *v = PushLocal(P, e->str, alias);
	char	   *p;
	char	   *t,
			   *f,
			   *n;
	char	   *body;

	/*
	 * count(alias.v), not count(*): an aggregate belongs to the query level
	 * of the variables in its arguments and FILTER, so a predicate that only
	 * reads outer variables (any(y IN [1] WHERE n.age > 30)) would make
	 * count(*) an aggregate of the outer query.  The elements are never SQL
	 * nulls (a JSON null is 'null'::jsonb), so the counts are the same.
	 */
	p = e->b ? InnerExpr(P, e->b, true, "in a quantifier") :
		psprintf("%s.ruvector_cy_bool(%s)", P->s, v->value);
	t = psprintf("pg_catalog.count(%s.v) FILTER (WHERE %s)", alias, p);
	f = psprintf("pg_catalog.count(%s.v) FILTER (WHERE NOT (%s))", alias, p);
	n = psprintf("pg_catalog.count(%s.v) FILTER (WHERE (%s) IS NULL)", alias, p);
	PopLocal(P, v);
	switch (e->op)
	{
		case CYO_ANY:
			body = psprintf("CASE WHEN %s > 0 THEN true WHEN %s > 0 THEN NULL ELSE false END", t, n);
			break;
		case CYO_ALL:
			body = psprintf("CASE WHEN %s > 0 THEN false WHEN %s > 0 THEN NULL ELSE true END", f, n);
			break;
		case CYO_NONE_OF:
			body = psprintf("CASE WHEN %s > 0 THEN false WHEN %s > 0 THEN NULL ELSE true END", t, n);
			break;
		default:
			body = psprintf("CASE WHEN %s > 1 THEN false WHEN %s > 0 THEN NULL ELSE %s = 1 END", t, n, t);
			break;
	}
	return psprintf("(SELECT %s FROM pg_catalog.jsonb_array_elements(%s.ruvector_cy_aslist(%s)) %s(v))",
					body, P->s, list, alias);
}

/* ---------------------------------------------------------------------
 * Functions
 * ---------------------------------------------------------------------
 */
static void
CheckArgs(RvgPlanner *P, CyExpr *e, int min, int max)
{
	if (e->nargs < min || e->nargs > max)
	{
		if (min == max)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("function %s() takes %d argument%s, not %d",
							e->str, min, min == 1 ? "" : "s", e->nargs),
					 RvgErrPosition(P->text, e->loc)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %s() takes %d to %d arguments, not %d",
						e->str, min, max, e->nargs),
				 RvgErrPosition(P->text, e->loc)));
	}
	if (e->bval && !cy_is_aggregate(e->str))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("DISTINCT is only allowed in aggregate functions"),
				 RvgErrPosition(P->text, e->loc)));
}

/*
 * The argument of a one-argument function (entity and path functions),
 * checked, as the variable it names, or NULL when it is another expression.
 */
static RvgVar *
OneArgVar(RvgPlanner *P, CyExpr *e)
{
	CheckArgs(P, e, 1, 1);
	return VarOf(P, e->args[0]);
}

/*
 * Refuses aggregates while translating an inner expression (a comprehension,
 * reduce(), an aggregate's argument ...); where says where, for the error.
 * RvgRestoreAggregates puts back what was allowed before.
 */
void
RvgNoAggregates(RvgPlanner *P, const char *where, RvgAggScope *saved)
{
	saved->allowed = P->agg_allowed;
	saved->where = P->agg_where;
	P->agg_allowed = false;
	P->agg_where = where;
}

void
RvgRestoreAggregates(RvgPlanner *P, const RvgAggScope *saved)
{
	P->agg_allowed = saved->allowed;
	P->agg_where = saved->where;
}

/*
 * The SQL of an inner expression (its predicate when pred) with aggregates
 * refused: a comprehension's, a quantifier's, reduce()'s, an aggregate's
 * argument.  where says where, for the error.
 */
static char *
InnerExpr(RvgPlanner *P, CyExpr *e, bool pred, const char *where)
{
	RvgAggScope saved;
	char	   *sql;

	RvgNoAggregates(P, where, &saved);
	sql = pred ? RvgPred(P, e) : ExprValue(P, e);
	RvgRestoreAggregates(P, &saved);
	return sql;
}

/* SQL of an aggregate argument: no nested aggregates. */
static char *
AggArg(RvgPlanner *P, CyExpr *e)
{
	return InnerExpr(P, e, false, "inside another aggregate function");
}

static char *
Aggregate(RvgPlanner *P, CyExpr *e)
{
	const char *d = e->bval ? "DISTINCT " : "";
	char	   *x;
	RvgVar		   *v;

	if (!P->agg_allowed)
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("aggregate function %s() is not allowed %s",
						e->str, P->agg_where ? P->agg_where : "here"),
				 RvgErrPosition(P->text, e->loc)));
	if (cy_name_eq(e->str, "count") && e->star)
		return "pg_catalog.to_jsonb(pg_catalog.count(*))";
	CheckArgs(P, e, 1, (cy_name_eq(e->str, "percentileCont") || cy_name_eq(e->str, "percentileDisc")) ? 2 : 1);
	/* count(n), collect(DISTINCT n): nodes compare by id */
	v = EntityVar(P, e->args[0]);
	x = AggArg(P, e->args[0]);
	if (cy_name_eq(e->str, "count"))
		return psprintf("pg_catalog.to_jsonb(pg_catalog.count(%s%s))", d, v ? v->id : x);
	if (cy_name_eq(e->str, "sum"))
		return psprintf("%s.ruvector_cy_sum(%s%s)", P->s, d, x);
	if (cy_name_eq(e->str, "avg"))
		return psprintf("%s.ruvector_cy_float(pg_catalog.avg(%s(%s)::float8))", P->s, d, x);
	if (cy_name_eq(e->str, "min"))
		return psprintf("%s.ruvector_cy_min(%s%s)", P->s, d, x);
	if (cy_name_eq(e->str, "max"))
		return psprintf("%s.ruvector_cy_max(%s%s)", P->s, d, x);
	if (cy_name_eq(e->str, "collect"))
		return psprintf("COALESCE(pg_catalog.jsonb_agg(%s%s) FILTER (WHERE %s IS NOT NULL), '[]'::jsonb)",
						d, x, v ? v->id : x);
	if (cy_name_eq(e->str, "stdev") || cy_name_eq(e->str, "stdevp"))
		return psprintf("%s.ruvector_cy_float(COALESCE(%s(%s(%s)::float8), CASE WHEN pg_catalog.count(%s) > 0 THEN 0 END))",
						P->s, cy_name_eq(e->str, "stdev") ? "pg_catalog.stddev_samp" : "pg_catalog.stddev_pop", d, x, x);
	{
		char	   *pct = AggArg(P, e->args[1]);

		if (cy_name_eq(e->str, "percentileCont"))
			return psprintf("%s.ruvector_cy_float(pg_catalog.percentile_cont((%s)::float8) WITHIN GROUP (ORDER BY (%s)::float8))",
							P->s, pct, x);
		return psprintf("pg_catalog.percentile_disc((%s)::float8) WITHIN GROUP (ORDER BY %s)", pct, x);
	}
}

/* vector.distance and friends: the metric of a distance call, or NULL. */
static const char *
DistanceMetric(RvgPlanner *P, CyExpr *e)
{
	static const struct
	{
		const char *name;
		const char *metric;
	}			names[] = {
		{"vector.distance", NULL}, {"ruvector.distance", NULL}, {"distance", NULL},
		{"vector.l2", "l2"}, {"vector.cosine", "cosine"}, {"vector.ip", "ip"},
		{"vector.l1", "l1"}, {"vector.distance.l2", "l2"}
	};

	if (e->kind != CYX_FUNC)
		return NULL;
	for (int i = 0; i < lengthof(names); i++)
	{
		if (!cy_name_eq(e->str, names[i].name))
			continue;
		if (names[i].metric != NULL)
		{
			CheckArgs(P, e, 2, 2);
			return names[i].metric;
		}
		CheckArgs(P, e, 2, 3);
		if (e->nargs == 2)
			return "l2";
		{
			StringInfoData buf;
			Jsonb	   *jb;
			bool		is_string;
			char	   *m;

			initStringInfo(&buf);
			if (!RvgConstJson(P, e->args[2], &buf))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the metric of %s() must be a constant", e->str),
						 RvgErrPosition(P->text, e->args[2]->loc)));
			jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
			m = RvgJsonbScalarText(jb, &is_string);
			if (strcmp(m, "euclidean") == 0)
				return "l2";
			if (strcmp(m, "inner_product") == 0)
				return "ip";
			if (strcmp(m, "manhattan") == 0)
				return "l1";
			if (RvgLookupMetric(m) != NULL)
				return RvgLookupMetric(m)->name;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown vector metric %s", m),
					 RvgErrPosition(P->text, e->args[2]->loc)));
		}
	}
	return NULL;
}

/*
 * Where a binary operator is in the text: the first non-blank after its
 * left operand (CyExpr keeps where each operand starts and ends).
 */
static int
OperatorLoc(RvgPlanner *P, CyExpr *e)
{
	int			len = strlen(P->text);
	int			at = e->a ? e->a->end : e->loc;

	while (at < len && (P->text[at] == ' ' || P->text[at] == '\t' || P->text[at] == '\n' ||
						P->text[at] == '\r'))
		at++;
	return at < len ? at : e->loc;
}

static char *
CallFn(RvgPlanner *P, RvgFunc fn, CyExpr *e, int nargs)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s.ruvector_cy_fn(%d, VARIADIC ARRAY[", P->s, RVG_WITH_LOC(fn, RvgLocNumber(P, e->loc)));
	for (int i = 0; i < nargs; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", ExprValue(P, e->args[i]));
	appendStringInfoString(&buf, "]::jsonb[])");
	return buf.data;
}

/* Entity functions on a node/relationship variable or a jsonb entity. */
/*
 * labels() of a node whose first label is not empty: that label, then the
 * further ones (read by id when there is no labels expression; none with
 * 0.1.0's SQL, which has no labels column).
 */
static char *
AllLabels(RvgPlanner *P, const char *label, const char *labels, const char *id)
{
	if (RvgLegacySchema())
		return psprintf("pg_catalog.jsonb_build_array(%s)", label);
	if (labels == NULL)
		labels = psprintf("COALESCE((SELECT lx.labels FROM %s.ruvector_graph_node lx WHERE lx.id = %s), '{}')",
						  P->s, id);
	return psprintf("pg_catalog.to_jsonb(pg_catalog.array_prepend(%s, %s))", label, labels);
}

static char *
EntityFunction(RvgPlanner *P, CyExpr *e, const char *name)
{
	RvgVar		   *v = OneArgVar(P, e);
	char	   *x;

	if (v && (v->kind == VK_NODE || v->kind == VK_EDGE))
	{
		if (strcmp(name, "id") == 0)
			return psprintf("pg_catalog.to_jsonb(%s)", v->id);
		if (strcmp(name, "properties") == 0)
			return v->props;
		if (strcmp(name, "keys") == 0)
			return psprintf("%s.ruvector_cy_fn(%d, VARIADIC ARRAY[%s]::jsonb[])", P->s, RVG_FN_KEYS, v->props);
		if (strcmp(name, "type") == 0 || strcmp(name, "label") == 0)
			return psprintf("pg_catalog.to_jsonb(%s)", v->label);
		if (strcmp(name, "start_id") == 0 || strcmp(name, "end_id") == 0)
		{
			if (v->kind != VK_EDGE)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("%s() expects a relationship", e->str),
						 RvgErrPosition(P->text, e->loc)));
			return psprintf("pg_catalog.to_jsonb(%s)", strcmp(name, "start_id") == 0 ? v->start : v->end);
		}
		if (strcmp(name, "labels") == 0)
			return psprintf("(CASE WHEN %s IS NULL THEN NULL WHEN %s = '' THEN '[]'::jsonb ELSE %s END)",
							v->id, v->label,
							v->kind == VK_NODE ? AllLabels(P, v->label, v->labels, v->id) :
							psprintf("pg_catalog.jsonb_build_array(%s)", v->label));
		/* startNode / endNode */
		if (v->kind != VK_EDGE)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s() expects a relationship", e->str),
					 RvgErrPosition(P->text, e->loc)));
		{
			char	   *n = RvgAlias(P, "sn");

			return psprintf("(SELECT pg_catalog.jsonb_build_object('id', %s.id, 'label', %s.label, 'properties', %s.properties) "
							"FROM %s.ruvector_graph_node %s WHERE %s.id = %s)",
							n, n, n, P->s, n, n, strcmp(name, "startnode") == 0 ? v->start : v->end);
		}
	}
	x = ExprValue(P, e->args[0]);
	if (strcmp(name, "id") == 0)
		return psprintf("(%s -> 'id')", x);
	if (strcmp(name, "type") == 0 || strcmp(name, "label") == 0)
		return psprintf("(%s -> 'label')", x);
	if (strcmp(name, "start_id") == 0 || strcmp(name, "end_id") == 0)
		return psprintf("(%s -> '%s')", x, name);
	if (strcmp(name, "labels") == 0)
		return psprintf("(CASE WHEN %s IS NULL THEN NULL WHEN %s ->> 'label' = '' THEN '[]'::jsonb ELSE %s END)",
						x, x, AllLabels(P, psprintf("(%s ->> 'label')", x), NULL, RvgJsonNodeId(P, x)));
	if (strcmp(name, "properties") == 0)
		return psprintf("%s.ruvector_cy_props(%s)", P->s, x);
	if (strcmp(name, "keys") == 0)
		return psprintf("%s.ruvector_cy_fn(%d, VARIADIC ARRAY[%s.ruvector_cy_props(%s)]::jsonb[])",
						P->s, RVG_FN_KEYS, P->s, x);
	{
		char	   *n = RvgAlias(P, "sn");

		return psprintf("(SELECT pg_catalog.jsonb_build_object('id', %s.id, 'label', %s.label, 'properties', %s.properties) "
						"FROM %s.ruvector_graph_node %s WHERE %s.id = (%s ->> '%s')::bigint)",
						n, n, n, P->s, n, n, x, strcmp(name, "startnode") == 0 ? "start_id" : "end_id");
	}
}

/* nodes(p), relationships(p), length(p) on a path variable. */
static char *
PathFunction(RvgPlanner *P, CyExpr *e, const char *name)
{
	RvgVar		   *v = OneArgVar(P, e);
	char	   *x;

	if (v && v->kind == VK_PATH)
	{
		if (strcmp(name, "length") == 0)
			return psprintf("pg_catalog.to_jsonb(pg_catalog.cardinality(%s))", v->edges);
		if (strcmp(name, "nodes") == 0)
		{
			char	   *u = RvgAlias(P, "pn");

			return psprintf("(SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', %s.id, 'label', %s.label, 'properties', %s.properties) ORDER BY %s_u.o) "
							"FROM pg_catalog.unnest(%s) WITH ORDINALITY %s_u(i, o) JOIN %s.ruvector_graph_node %s ON %s.id = %s_u.i)",
							u, u, u, u, v->value, u, P->s, u, u, u);
		}
		return RvgEdgeListJson(P, v->edges);
	}
	if (v && v->kind == VK_EDGES)
	{
		if (strcmp(name, "length") == 0)
			return psprintf("pg_catalog.to_jsonb(pg_catalog.cardinality(%s))", v->value);
		if (strcmp(name, "relationships") == 0)
			return RvgEdgeListJson(P, v->value);
	}
	x = ExprValue(P, e->args[0]);
	if (strcmp(name, "length") == 0)
		return psprintf("%s.ruvector_cy_fn(%d, VARIADIC ARRAY[%s]::jsonb[])", P->s, RVG_FN_LENGTH, x);
	/* a path held as a jsonb list alternates nodes and relationships */
	{
		char	   *a = RvgAlias(P, "pe");

		return psprintf("(SELECT pg_catalog.jsonb_agg(%s.v ORDER BY %s.o) FROM pg_catalog.jsonb_array_elements(%s) WITH ORDINALITY %s(v, o) "
						"WHERE %s.o %% 2 = %d)",
						a, a, x, a, a, strcmp(name, "nodes") == 0 ? 1 : 0);
	}
}

static char *
FunctionCall(RvgPlanner *P, CyExpr *e)
{
	const char *metric;
	char		lname[64];
	int			minargs,
				maxargs;
	RvgFunc		fn;

	if (cy_is_aggregate(e->str))
		return Aggregate(P, e);
	strlcpy(lname, e->str, sizeof(lname));
	for (char *c = lname; *c; c++)
		*c = pg_tolower((unsigned char) *c);
	if (strcmp(lname, "id") == 0 || strcmp(lname, "labels") == 0 || strcmp(lname, "type") == 0 ||
		strcmp(lname, "properties") == 0 || strcmp(lname, "keys") == 0 ||
		strcmp(lname, "startnode") == 0 || strcmp(lname, "endnode") == 0 ||
		strcmp(lname, "label") == 0 || strcmp(lname, "start_id") == 0 || strcmp(lname, "end_id") == 0)
		return EntityFunction(P, e, lname);
	if (strcmp(lname, "nodes") == 0 || strcmp(lname, "relationships") == 0 ||
		strcmp(lname, "rels") == 0 || strcmp(lname, "length") == 0)
		return PathFunction(P, e, strcmp(lname, "rels") == 0 ? "relationships" : lname);
	if (strcmp(lname, "size") == 0 && e->nargs == 1 && e->args[0]->kind == CYX_VAR &&
		LookupVar(P, e->args[0])->kind == VK_EDGES)
		return psprintf("pg_catalog.to_jsonb(pg_catalog.cardinality(%s))", LookupVar(P, e->args[0])->value);
	if (strcmp(lname, "coalesce") == 0)
	{
		StringInfoData buf;

		CheckArgs(P, e, 1, 100);
		initStringInfo(&buf);
		appendStringInfoString(&buf, "COALESCE(");
		for (int i = 0; i < e->nargs; i++)
			appendStringInfo(&buf, "%s%s", i ? ", " : "", ExprValue(P, e->args[i]));
		appendStringInfoChar(&buf, ')');
		return buf.data;
	}
	if (strcmp(lname, "exists") == 0)
	{
		CheckArgs(P, e, 1, 1);
		return psprintf("pg_catalog.to_jsonb(%s)", RvgPred(P, e));
	}
	if (strcmp(lname, "timestamp") == 0)
	{
		CheckArgs(P, e, 0, 0);
		return "pg_catalog.to_jsonb((extract(epoch FROM pg_catalog.statement_timestamp()) * 1000)::bigint)";
	}
	if (strcmp(lname, "rand") == 0)
	{
		CheckArgs(P, e, 0, 0);
		return psprintf("%s.ruvector_cy_float(pg_catalog.random())", P->s);
	}
	if ((metric = DistanceMetric(P, e)) != NULL)
		return CallFn(P, RvgLookupMetric(metric)->fn, e, 2);
	fn = RvgLookupFunction(e->str, &minargs, &maxargs);
	if (fn == RVG_FN_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("unknown Cypher function %s()", e->str),
				 RvgErrPosition(P->text, e->loc)));
	CheckArgs(P, e, minargs, maxargs);
	return CallFn(P, fn, e, e->nargs);
}

/* ---------------------------------------------------------------------
 * Operators
 * ---------------------------------------------------------------------
 */
static const char *
CompareFunction(CyOp op)
{
	switch (op)
	{
		case CYO_LT: return "ruvector_cy_lt";
		case CYO_LE: return "ruvector_cy_le";
		case CYO_GT: return "ruvector_cy_gt";
		case CYO_GE: return "ruvector_cy_ge";
		case CYO_STARTS: return "ruvector_cy_starts";
		case CYO_ENDS: return "ruvector_cy_ends";
		case CYO_CONTAINS: return "ruvector_cy_contains";
		case CYO_REGEX: return "ruvector_cy_regex";
		case CYO_IN: return "ruvector_cy_in";
		default: return NULL;
	}
}

static bool
IsConstScalarExpr(RvgPlanner *P, CyExpr *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	return ConstScalar(P, e, &buf);
}

/* a = b with Cypher's semantics; plain jsonb = where it agrees. */
static char *
Equality(RvgPlanner *P, CyExpr *e)
{
	RvgVar		   *va = EntityVar(P, e->a);
	RvgVar		   *vb = EntityVar(P, e->b);
	char	   *eq;

	if (va && vb)
		eq = psprintf("(%s = %s)", va->id, vb->id);
	else if (IsConstScalarExpr(P, e->a) || IsConstScalarExpr(P, e->b))
		eq = psprintf("(%s = %s)", ExprValue(P, e->a), ExprValue(P, e->b));
	else
		eq = psprintf("%s.ruvector_cy_eq(%s, %s)", P->s, ExprValue(P, e->a), ExprValue(P, e->b));
	return e->op == CYO_NE ? psprintf("(NOT %s)", eq) : eq;
}

static bool
IsBooleanExpr(CyExpr *e)
{
	switch (e->kind)
	{
		case CYX_ISNULL:
		case CYX_QUANT:
		case CYX_PATTERN:
		case CYX_HASLABEL:
			return true;
		case CYX_UNARY:
			return e->op == CYO_NOT;
		case CYX_BINARY:
			return e->op < CYO_ADD;
		default:
			return false;
	}
}

/* n:Label predicate. */
static char *
HasLabel(RvgPlanner *P, CyExpr *e)
{
	RvgVar		   *v = EntityVar(P, e->a);
	StringInfoData buf;
	char	   *x = v ? NULL : ExprValue(P, e->a);
	char	   *label = v ? v->label : psprintf("(%s ->> 'label')", x);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < e->nlabels; i++)
	{
		const char *w = e->labels[i];

		appendStringInfoString(&buf, i ? " AND " : "");
		/* a relationship's type is its one "label" */
		if (v != NULL && v->kind != VK_NODE)
			appendStringInfo(&buf, "%s = %s", label, quote_literal_cstr(w));
		else if (v != NULL)
			appendStringInfoString(&buf, RvgLabelCond(P, label, v->labels, v->id, w));
		else
			appendStringInfoString(&buf, RvgLabelCond(P, label, NULL, RvgJsonNodeId(P, x), w));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* Boolean SQL for a Cypher expression. */
char *
RvgPred(RvgPlanner *P, CyExpr *e)
{
	check_stack_depth();
	switch (e->kind)
	{
		case CYX_BOOL:
			return e->bval ? "true" : "false";
		case CYX_NULL:
			return "NULL::boolean";
		case CYX_ISNULL:
			{
				RvgVar		   *v = VarOf(P, e->a);
				char	   *x = (v && (v->kind == VK_NODE || v->kind == VK_EDGE)) ? v->id :
					(v && v->kind != VK_VALUE) ? v->value : ExprValue(P, e->a);

				return psprintf("(%s IS %sNULL)", x, e->bval ? "NOT " : "");
			}
		case CYX_UNARY:
			if (e->op == CYO_NOT)
				return psprintf("(NOT %s)", RvgPred(P, e->a));
			break;
		case CYX_BINARY:
			switch (e->op)
			{
				case CYO_AND:
					return psprintf("(%s AND %s)", RvgPred(P, e->a), RvgPred(P, e->b));
				case CYO_OR:
					return psprintf("(%s OR %s)", RvgPred(P, e->a), RvgPred(P, e->b));
				case CYO_XOR:
					return psprintf("(%s <> %s)", RvgPred(P, e->a), RvgPred(P, e->b));
				case CYO_EQ:
				case CYO_NE:
					return Equality(P, e);
				default:
					if (CompareFunction(e->op) != NULL)
						return psprintf("%s.%s(%s, %s)", P->s, CompareFunction(e->op),
										ExprValue(P, e->a), ExprValue(P, e->b));
					break;
			}
			break;
		case CYX_QUANT:
			return Quantifier(P, e);
		case CYX_PATTERN:
			return RvgPatternExists(P, e->path, e->b);
		case CYX_HASLABEL:
			return HasLabel(P, e);
		case CYX_FUNC:
			if (cy_name_eq(e->str, "exists") && e->nargs == 1)
			{
				if (e->args[0]->kind == CYX_PATTERN)
					return RvgPatternExists(P, e->args[0]->path, NULL);
				return psprintf("(%s IS NOT NULL)", ExprValue(P, e->args[0]));
			}
			break;
		default:
			break;
	}
	return psprintf("%s.ruvector_cy_bool(%s)", P->s, ExprValue(P, e));
}

static char *
CaseExpr(RvgPlanner *P, CyExpr *e)
{
	StringInfoData buf;
	char	   *operand = e->a ? ExprValue(P, e->a) : NULL;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "(CASE");
	for (int i = 0; i + 1 < e->nargs; i += 2)
	{
		if (operand)
			appendStringInfo(&buf, " WHEN %s.ruvector_cy_eq(%s, %s) THEN %s", P->s, operand,
							 ExprValue(P, e->args[i]), ExprValue(P, e->args[i + 1]));
		else
			appendStringInfo(&buf, " WHEN %s THEN %s", RvgPred(P, e->args[i]),
							 ExprValue(P, e->args[i + 1]));
	}
	appendStringInfo(&buf, " ELSE %s END)", e->c ? ExprValue(P, e->c) : "NULL::jsonb");
	return buf.data;
}

static int
ArithOp(CyOp op)
{
	switch (op)
	{
		case CYO_ADD: return RVG_ADD;
		case CYO_SUB: return RVG_SUB;
		case CYO_MUL: return RVG_MUL;
		case CYO_DIV: return RVG_DIV;
		case CYO_MOD: return RVG_MOD;
		default: return RVG_POW;
	}
}

static char *
ExprValue(RvgPlanner *P, CyExpr *e)
{
	char	   *lit;

	check_stack_depth();
	if (IsBooleanExpr(e))
		return psprintf("pg_catalog.to_jsonb(%s)", RvgPred(P, e));
	if ((lit = ConstLiteral(P, e)) != NULL)
		return lit;
	switch (e->kind)
	{
		case CYX_VAR:
			return VarValue(P, LookupVar(P, e));
		case CYX_PROP:
			return PropExpr(P, e);
		case CYX_INDEX:
			{
				RvgVar		   *v = EntityVar(P, e->a);

				if (v != NULL)
					return psprintf("%s.ruvector_cy_index(%s, %s)", P->s, v->props, ExprValue(P, e->b));
				return psprintf("%s.ruvector_cy_index(%s, %s)", P->s, ExprValue(P, e->a), ExprValue(P, e->b));
			}
		case CYX_SLICE:
			return psprintf("%s.ruvector_cy_slice(%s, %s, %s)", P->s, ExprValue(P, e->a),
							e->b ? psprintf("COALESCE(%s, 'null'::jsonb)", ExprValue(P, e->b)) : "NULL::jsonb",
							e->c ? psprintf("COALESCE(%s, 'null'::jsonb)", ExprValue(P, e->c)) : "NULL::jsonb");
		case CYX_LIST:
		case CYX_MAP:
			return BuildCollection(P, e);
		case CYX_UNARY:
			if (e->op == CYO_PLUS)
				return ExprValue(P, e->a);
			return psprintf("%s.ruvector_cy_neg(%s)", P->s, ExprValue(P, e->a));
		case CYX_BINARY:
			return psprintf("%s.ruvector_cy_arith(%d, %s, %s)", P->s, RVG_WITH_LOC(ArithOp(e->op), RvgLocNumber(P, OperatorLoc(P, e))),
							ExprValue(P, e->a), ExprValue(P, e->b));
		case CYX_FUNC:
			return FunctionCall(P, e);
		case CYX_CASE:
			return CaseExpr(P, e);
		case CYX_LISTCOMP:
			return ListComprehension(P, e);
		case CYX_REDUCE:
			return Reduce(P, e);
		case CYX_MAPPROJ:
			return MapProjection(P, e);
		case CYX_PATCOMP:
			return RvgPatternComprehension(P, e);
		case CYX_COUNTSUB:
			return RvgPatternCount(P, e->path, e->b);
		default:
			elog(ERROR, "unexpected Cypher expression kind %d", e->kind);
	}
	return NULL;
}

char *
RvgExpr(RvgPlanner *P, CyExpr *e)
{
	return ExprValue(P, e);
}

/*
 * For a property of a node or relationship variable (n.key), the SQL of
 * n's properties object, and the key in *key; NULL for anything else.
 * RvgExpr(e) is then exactly "(props -> 'key')".
 */
char *
RvgPropsOf(RvgPlanner *P, CyExpr *e, const char **key)
{
	RvgVar	   *v;

	if (e == NULL || e->kind != CYX_PROP)
		return NULL;
	v = EntityVar(P, e->a);
	if (v == NULL || v->props == NULL)
		return NULL;
	*key = e->str;
	return v->props;
}

/*
 * A WHERE clause: top-level AND conjuncts, with property equality against
 * a scalar constant turned into containment (see the file header).
 */
char *
RvgTopLevelPred(RvgPlanner *P, CyExpr *e)
{
	if (e->kind == CYX_BINARY && e->op == CYO_AND)
		return psprintf("(%s AND %s)", RvgTopLevelPred(P, e->a), RvgTopLevelPred(P, e->b));
	if (e->kind == CYX_BINARY && e->op == CYO_EQ)
	{
		CyExpr	   *prop = e->a->kind == CYX_PROP ? e->a : e->b;
		CyExpr	   *other = prop == e->a ? e->b : e->a;
		StringInfoData val;

		initStringInfo(&val);
		if (prop->kind == CYX_PROP && EntityVar(P, prop->a) != NULL && ConstScalar(P, other, &val))
		{
			StringInfoData obj;

			initStringInfo(&obj);
			appendStringInfoChar(&obj, '{');
			escape_json(&obj, prop->str);
			appendStringInfo(&obj, ": %s}", val.data);
			return psprintf("(%s @> %s)", EntityVar(P, prop->a)->props, RvgConstMarker(P, obj.data));
		}
	}
	return RvgPred(P, e);
}

/*
 * An ORDER BY key.  vector.distance(n.prop, <constant>) on a node variable
 * becomes the vector operator on the property read as a vector, written
 * exactly as ruvector_graph_vector_index() indexed it when such an index
 * exists, so ORDER BY ... LIMIT can be an index scan; *is_vector says the
 * key is a float8 rather than jsonb.
 */
char *
RvgOrderKey(RvgPlanner *P, CyExpr *e, bool *is_vector)
{
	const char *metric = DistanceMetric(P, e);
	CyExpr	   *prop;
	CyExpr	   *q;
	RvgVar		   *v;
	StringInfoData qjson;
	ListCell   *lc;
	char	   *lhs;

	*is_vector = false;
	if (metric == NULL)
		return ExprValue(P, e);
	prop = e->args[0]->kind == CYX_PROP ? e->args[0] : e->args[1];
	q = prop == e->args[0] ? e->args[1] : e->args[0];
	initStringInfo(&qjson);
	if (prop->kind != CYX_PROP || (v = EntityVar(P, prop->a)) == NULL || v->kind != VK_NODE ||
		!RvgConstJson(P, q, &qjson) || strcmp(qjson.data, "null") == 0)
		return ExprValue(P, e);
	*is_vector = true;
	lhs = psprintf("%s.ruvector_cy_vector(%s -> %s)", P->s, v->props, quote_literal_cstr(prop->str));
	foreach(lc, P->g->vector_indexes)
	{
		RvgVectorIndex *vi = lfirst(lc);

		if (strcmp(vi->property, prop->str) == 0 && strcmp(vi->metric, metric) == 0 &&
			v->known_label != NULL && strcmp(vi->label, v->known_label) == 0)
		{
			lhs = psprintf("(%s)::%s.vector(%d)", lhs, P->s, vi->dimensions);
			break;
		}
	}
	return psprintf("(%s OPERATOR(%s.%s) %s.ruvector_cy_vector(%s))", lhs, P->s,
					RvgLookupMetric(metric)->op, P->s, RvgJsonLiteral(qjson.data));
}
