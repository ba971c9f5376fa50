/*
 * cypher_ast.c — small helpers over the Cypher tree (pure C): error
 * positions, aggregate detection, clause names.
 */
#include <stdio.h>
#include <string.h>

#include "graph/cypher_ast.h"

/*
 * Line and column (1-based) of a byte offset.  Columns count characters,
 * not bytes: UTF-8 continuation bytes do not advance the column, and a tab
 * counts as one character, as PostgreSQL's own error cursor does.
 */
void
cy_position(const char *text, size_t len, int offset, int *line, int *column)
{
	int			l = 1;
	int			c = 1;

	if (offset < 0)
		offset = 0;
	if ((size_t) offset > len)
		offset = (int) len;
	for (int i = 0; i < offset; i++)
	{
		unsigned char ch = (unsigned char) text[i];

		if (ch == '\n')
		{
			l++;
			c = 1;
		}
		else if ((ch & 0xc0) != 0x80)
			c++;
	}
	*line = l;
	*column = c;
}

static const char *const aggregate_names[] = {
	"count", "sum", "avg", "min", "max", "collect", "stdev", "stdevp",
	"percentilecont", "percentiledisc", NULL
};

bool
cy_is_aggregate(const char *funcname)
{
	for (int i = 0; aggregate_names[i] != NULL; i++)
		if (cy_name_eq(funcname, aggregate_names[i]))
			return true;
	return false;
}

/*
 * Does the expression call an aggregate outside a nested scope?  List
 * comprehensions and quantifiers bind their own variable, but an aggregate
 * in them still aggregates the outer rows, so they are searched too.
 */
bool
cy_expr_has_aggregate(const CyExpr *e)
{
	if (e == NULL)
		return false;
	if (e->kind == CYX_FUNC && cy_is_aggregate(e->str))
		return true;
	if (cy_expr_has_aggregate(e->a) || cy_expr_has_aggregate(e->b) ||
		cy_expr_has_aggregate(e->c))
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (cy_expr_has_aggregate(e->args[i]))
			return true;
	return false;
}

const char *
cy_clause_name(CyClauseKind kind)
{
	switch (kind)
	{
		case CYC_MATCH: return "MATCH";
		case CYC_UNWIND: return "UNWIND";
		case CYC_CREATE: return "CREATE";
		case CYC_MERGE: return "MERGE";
		case CYC_SET: return "SET";
		case CYC_REMOVE: return "REMOVE";
		case CYC_DELETE: return "DELETE";
		case CYC_WITH: return "WITH";
		case CYC_RETURN: return "RETURN";
		case CYC_FOREACH: return "FOREACH";
		case CYC_CALL: return "CALL";
	}
	return "?";
}

/* ---------------------------------------------------------------------
 * cy_dump: an S-expression of the tree, for tests and debugging
 * ---------------------------------------------------------------------
 */
typedef struct DumpBuf
{
	char	   *buf;
	size_t		size;
	size_t		len;
} DumpBuf;

static void
Put(DumpBuf *d, const char *s)
{
	size_t		n = strlen(s);

	if (d->size == 0)
		return;
	if (d->len + n >= d->size)
		n = d->size - 1 - d->len;
	memcpy(d->buf + d->len, s, n);
	d->len += n;
	d->buf[d->len] = '\0';
}

static const char *
OpName(CyOp op)
{
	static const char *const names[] = {
		"?", "or", "xor", "and", "not", "=", "<>", "<", "<=", ">", ">=",
		"starts", "ends", "contains", "in", "=~", "+", "-", "*", "/", "%", "^",
		"neg", "pos", "all", "any", "none", "single"
	};

	return names[op];
}

static void DumpExpr(DumpBuf *d, const CyExpr *e);

/* One operand of an s-expression: a space, then the expression ("_" if none). */
static void
DumpOperand(DumpBuf *d, const CyExpr *e)
{
	Put(d, " ");
	DumpExpr(d, e);
}

/* A keyword and the expression, when there is one. */
static void
DumpIf(DumpBuf *d, const char *keyword, const CyExpr *e)
{
	if (e)
	{
		Put(d, keyword);
		DumpExpr(d, e);
	}
}

/* Labels or relationship types: the first after first, the others after sep. */
static void
PutNames(DumpBuf *d, const char *first, const char *sep, const char **names, int n)
{
	for (int k = 0; k < n; k++)
	{
		Put(d, k == 0 ? first : sep);
		Put(d, names[k]);
	}
}

static void
DumpPath(DumpBuf *d, const CyPath *p)
{
	Put(d, "(path");
	if (p->var)
	{
		Put(d, " ");
		Put(d, p->var);
		Put(d, "=");
	}
	if (p->shortest != CY_SHORTEST_NONE)
		Put(d, p->shortest == CY_SHORTEST_ONE ? " shortest" : " allshortest");
	for (int i = 0; i <= p->nrels; i++)
	{
		const CyNodePat *n = p->nodes[i];

		Put(d, " (node ");
		Put(d, n->var ? n->var : "_");
		PutNames(d, ":", ":", n->labels, n->nlabels);
		DumpIf(d, " ", n->props);
		Put(d, ")");
		if (i < p->nrels)
		{
			const CyRelPat *r = p->rels[i];
			char		hops[48];

			Put(d, r->dir == CY_DIR_LEFT ? " <-[" : " -[");
			Put(d, r->var ? r->var : "_");
			PutNames(d, ":", "|", r->types, r->ntypes);
			if (r->varlen)
			{
				if (r->maxhops == CY_HOPS_UNBOUNDED)
					snprintf(hops, sizeof(hops), "*%d..", r->minhops);
				else
					snprintf(hops, sizeof(hops), "*%d..%d", r->minhops, r->maxhops);
				Put(d, hops);
			}
			DumpIf(d, " ", r->props);
			Put(d, r->dir == CY_DIR_RIGHT ? "]->" : "]-");
		}
	}
	Put(d, ")");
}

static void
DumpArgs(DumpBuf *d, const CyExpr *e)
{
	for (int i = 0; i < e->nargs; i++)
	{
		Put(d, " ");
		if (e->keys)
		{
			Put(d, e->keys[i]);
			Put(d, ":");
		}
		if (e->args[i])
			DumpExpr(d, e->args[i]);
		else
			Put(d, "_");
	}
}

static void
DumpExpr(DumpBuf *d, const CyExpr *e)
{
	char		num[64];

	if (e == NULL)
	{
		Put(d, "_");
		return;
	}
	switch (e->kind)
	{
		case CYX_NULL: Put(d, "null"); return;
		case CYX_BOOL: Put(d, e->bval ? "true" : "false"); return;
		case CYX_INT:
			snprintf(num, sizeof(num), "%lld", (long long) e->ival);
			Put(d, num);
			return;
		case CYX_FLOAT:
			snprintf(num, sizeof(num), "%.17g", e->fval);
			Put(d, num);
			Put(d, "f");
			return;
		case CYX_STRING: Put(d, "'"); Put(d, e->str); Put(d, "'"); return;
		case CYX_PARAM: Put(d, "$"); Put(d, e->str); return;
		case CYX_VAR: Put(d, e->str); return;
		case CYX_PROP: Put(d, "(. "); DumpExpr(d, e->a); Put(d, " "); Put(d, e->str); break;
		case CYX_INDEX: Put(d, "(index "); DumpExpr(d, e->a); DumpOperand(d, e->b); break;
		case CYX_SLICE:
			Put(d, "(slice ");
			DumpExpr(d, e->a);
			DumpOperand(d, e->b);
			DumpOperand(d, e->c);
			break;
		case CYX_LIST: Put(d, "(list"); DumpArgs(d, e); break;
		case CYX_MAP: Put(d, "(map"); DumpArgs(d, e); break;
		case CYX_UNARY: Put(d, "("); Put(d, OpName(e->op)); DumpOperand(d, e->a); break;
		case CYX_BINARY:
			Put(d, "(");
			Put(d, OpName(e->op));
			DumpOperand(d, e->a);
			DumpOperand(d, e->b);
			break;
		case CYX_ISNULL:
			Put(d, e->bval ? "(notnull " : "(isnull ");
			DumpExpr(d, e->a);
			break;
		case CYX_FUNC:
			Put(d, "(call ");
			Put(d, e->str);
			if (e->bval)
				Put(d, " distinct");
			if (e->star)
				Put(d, " *");
			DumpArgs(d, e);
			break;
		case CYX_CASE:
			Put(d, "(case ");
			DumpExpr(d, e->a);
			DumpArgs(d, e);
			Put(d, " else ");
			DumpExpr(d, e->c);
			break;
		case CYX_REDUCE:
			Put(d, "(reduce ");
			Put(d, e->str);
			DumpOperand(d, e->a);
			Put(d, " ");
			Put(d, e->str2);
			DumpOperand(d, e->b);
			DumpOperand(d, e->c);
			break;
		case CYX_LISTCOMP:
		case CYX_QUANT:
			Put(d, e->kind == CYX_LISTCOMP ? "(comp " : "(");
			if (e->kind == CYX_QUANT)
			{
				Put(d, OpName(e->op));
				Put(d, " ");
			}
			Put(d, e->str);
			DumpOperand(d, e->a);
			DumpOperand(d, e->b);
			if (e->kind == CYX_LISTCOMP)
				DumpOperand(d, e->c);
			break;
		case CYX_PATTERN:
			if (e->b == NULL)
			{
				DumpPath(d, e->path);
				return;
			}
			/* FALLTHROUGH */
		case CYX_COUNTSUB:
			Put(d, e->kind == CYX_PATTERN ? "(exists " : "(countsub ");
			DumpPath(d, e->path);
			DumpOperand(d, e->b);
			break;
		case CYX_HASLABEL:
			Put(d, "(labels ");
			DumpExpr(d, e->a);
			PutNames(d, ":", ":", e->labels, e->nlabels);
			break;
		case CYX_MAPPROJ: Put(d, "(proj "); DumpExpr(d, e->a); DumpArgs(d, e); break;
		case CYX_PATCOMP:
			Put(d, "(patcomp ");
			DumpPath(d, e->path);
			DumpOperand(d, e->b);
			DumpOperand(d, e->c);
			break;
	}
	Put(d, ")");
}

static void
DumpSetItems(DumpBuf *d, CySetItem **sets, int from, int to)
{
	for (int i = from; i < to; i++)
	{
		const CySetItem *s = sets[i];

		Put(d, " (");
		Put(d, s->var);
		switch (s->kind)
		{
			case CYS_PROP:
				Put(d, ".");
				Put(d, s->key);
				if (s->value)
					Put(d, " =");
				break;
			case CYS_ASSIGN: Put(d, " ="); break;
			case CYS_MERGE: Put(d, " +="); break;
			case CYS_LABELS:
				PutNames(d, ":", ":", s->labels, s->nlabels);
				break;
		}
		DumpIf(d, " ", s->value);
		Put(d, ")");
	}
}

static void
DumpProjection(DumpBuf *d, const CyClause *c)
{
	if (c->distinct)
		Put(d, " distinct");
	if (c->star)
		Put(d, " *");
	for (int i = 0; i < c->nitems; i++)
	{
		DumpOperand(d, c->items[i]->expr);
		if (c->items[i]->alias)
		{
			Put(d, " as ");
			Put(d, c->items[i]->alias);
		}
	}
	for (int i = 0; i < c->norder; i++)
	{
		Put(d, i == 0 ? " order " : ", ");
		DumpExpr(d, c->order[i]->expr);
		if (c->order[i]->desc)
			Put(d, " desc");
	}
	DumpIf(d, " skip ", c->skip);
	DumpIf(d, " limit ", c->limit);
}

static void
DumpClause(DumpBuf *d, const CyClause *c)
{
	Put(d, "(");
	if (c->optional)
		Put(d, "optional ");
	if (c->detach)
		Put(d, "detach ");
	Put(d, cy_clause_name(c->kind));
	for (int i = 0; i < c->npaths; i++)
	{
		Put(d, " ");
		DumpPath(d, c->paths[i]);
	}
	if (c->kind == CYC_UNWIND || c->kind == CYC_FOREACH)
	{
		DumpOperand(d, c->unwind);
		Put(d, " as ");
		Put(d, c->alias);
	}
	for (int i = 0; i < c->nsub; i++)
	{
		Put(d, " ");
		DumpClause(d, c->sub[i]);
	}
	for (int i = 0; i < c->nexprs; i++)
		DumpOperand(d, c->exprs[i]);
	if (c->kind == CYC_MERGE)
	{
		if (c->noncreate > 0)
			Put(d, " oncreate");
		DumpSetItems(d, c->sets, 0, c->noncreate);
		if (c->nsets > c->noncreate)
			Put(d, " onmatch");
		DumpSetItems(d, c->sets, c->noncreate, c->nsets);
	}
	else
		DumpSetItems(d, c->sets, 0, c->nsets);
	if (c->kind == CYC_WITH || c->kind == CYC_RETURN)
		DumpProjection(d, c);
	DumpIf(d, " where ", c->where);
	Put(d, ")");
}

/*
 * Writes an S-expression of q into buf (always NUL-terminated, cut at
 * size - 1 bytes); returns buf.
 */
char *
cy_dump(const CyQuery *q, char *buf, size_t size)
{
	DumpBuf		d = {buf, size, 0};

	if (size > 0)
		buf[0] = '\0';
	for (int p = 0; p < q->nparts; p++)
	{
		if (p > 0)
			Put(&d, q->union_all[p - 1] ? " UNION ALL " : " UNION ");
		for (int i = 0; i < q->parts[p]->nclauses; i++)
		{
			if (i > 0)
				Put(&d, " ");
			DumpClause(&d, q->parts[p]->clauses[i]);
		}
	}
	return buf;
}
