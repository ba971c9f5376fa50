/*
 * cypher_parse.c — recursive-descent parser for the supported openCypher
 * subset (pure C): tokens from cypher_lex.c to the tree in cypher_ast.h.
 *
 * NOTES
 *	Grammar (keywords case-insensitive):
 *	  query     := single (UNION [ALL] single)* [';']
 *	  single    := clause+            -- ends with RETURN or an updating clause
 *	  clause    := [OPTIONAL] MATCH pattern [WHERE expr] | UNWIND expr AS var
 *	             | CREATE pattern | MERGE path (ON (CREATE|MATCH) SET items)*
 *	             | SET items | REMOVE items | [DETACH] DELETE expr, ...
 *	             | WITH proj [WHERE expr] | RETURN proj
 *	  proj      := [DISTINCT] (* | item, ...) [ORDER BY sort, ...] [SKIP e] [LIMIT e]
 *	  path      := [var =] (shortestPath|allShortestPaths) '(' chain ')' | chain
 *	  chain     := node (rel node)*
 *	  node      := '(' [var] (':' label)* [map | $param] ')'
 *	  rel       := ['<'] '-' ['[' [var] [':' T ('|' [':'] T)*] ['*' [n] ['..' [m]]]
 *	               [map | $param] ']'] '-' ['>']
 *	Expressions follow openCypher's precedence: OR < XOR < AND < NOT <
 *	comparison (chained: a < b < c is a < b AND b < c) < STARTS WITH /
 *	ENDS WITH / CONTAINS / IN / IS [NOT] NULL / =~ < + - < * / % < ^ <
 *	unary +/- < postfix (.key, [i], [i..j], :Label, {map projection}).
 *
 *	A '(' in an expression starts a pattern predicate when what follows is a
 *	node pattern immediately followed by '-' '-', '-' '[', or '<' '-'; that is
 *	decided by looking ahead over the token array, never by backtracking.
 *
 *	Errors longjmp to cy_parse, which reports the first one.  Recursion is
 *	bounded by CY_MAX_DEPTH; the height of every expression tree is bounded
 *	too (CY_MAX_HEIGHT), because later passes recurse over it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "graph/cypher_lex.h"

typedef struct ParseState
{
	const char *text;
	size_t		len;
	CyTokens	toks;
	int			pos;
	CyAllocFn	alloc;
	void	   *ctx;
	CyParseError *err;
	int			depth;
	jmp_buf		fail;
} ParseState;

/* A growable array of pointers taken from the allocator. */
typedef struct PtrVec
{
	void	  **items;
	int			n;
	int			cap;
} PtrVec;

#if defined(__GNUC__)
#define CY_PRINTF_NORETURN(f, a) __attribute__((format(printf, f, a), noreturn))
#else
#define CY_PRINTF_NORETURN(f, a)
#endif

static void Fail(ParseState *ps, CyErrorCode code, const CyToken *t, const char *fmt,...)
			CY_PRINTF_NORETURN(4, 5);
static CyExpr *ParseExpr(ParseState *ps);
static CyPath *ParsePath(ParseState *ps, bool allow_var);
static bool LooksLikePattern(ParseState *ps);
static int	ExprHeight(const CyExpr *e);

/* ---------------------------------------------------------------------
 * Errors, memory, tokens
 * ---------------------------------------------------------------------
 */
static void
Fail(ParseState *ps, CyErrorCode code, const CyToken *t, const char *fmt,...)
{
	va_list		ap;
	size_t		n = 0;

	ps->err->code = code;
	ps->err->offset = t->start;
	ps->err->at_end = (t->type == CYT_EOF);
	/* keep the token text valid UTF-8 by cutting before a continuation byte */
	if (t->type != CYT_EOF)
	{
		n = (size_t) t->len;
		if (n > CY_ERROR_TOKEN_LEN - 1)
		{
			n = CY_ERROR_TOKEN_LEN - 1;
			while (n > 0 && ((unsigned char) ps->text[t->start + n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(ps->err->token, ps->text + t->start, n);
	}
	ps->err->token[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(ps->err->message, CY_ERROR_MESSAGE_LEN, fmt, ap);
	va_end(ap);
	longjmp(ps->fail, 1);
}

static void *
Alloc(ParseState *ps, size_t size)
{
	void	   *p = ps->alloc(ps->ctx, size);

	if (p == NULL)
	{
		ps->err->code = CY_ERR_NOMEM;
		ps->err->offset = ps->toks.tok[ps->pos].start;
		ps->err->token[0] = '\0';
		snprintf(ps->err->message, CY_ERROR_MESSAGE_LEN, "out of memory");
		longjmp(ps->fail, 1);
	}
	return p;
}

static void
VecPush(ParseState *ps, PtrVec *v, void *item)
{
	if (v->n == v->cap)
	{
		int			ncap = v->cap ? v->cap * 2 : 4;
		void	  **grown = Alloc(ps, sizeof(void *) * (size_t) ncap);

		if (v->n > 0)
			memcpy(grown, v->items, sizeof(void *) * (size_t) v->n);
		v->items = grown;
		v->cap = ncap;
	}
	v->items[v->n++] = item;
}

static const CyToken *
Peek(ParseState *ps, int ahead)
{
	int			i = ps->pos + ahead;

	if (i >= ps->toks.n)
		i = ps->toks.n - 1;
	return &ps->toks.tok[i];
}

static const CyToken *
Cur(ParseState *ps)
{
	return &ps->toks.tok[ps->pos];
}

static const CyToken *
Next(ParseState *ps)
{
	const CyToken *t = Cur(ps);

	if (t->type != CYT_EOF)
		ps->pos++;
	return t;
}

/* ASCII case-insensitive equality of two NUL-terminated strings. */
int
cy_name_eq(const char *a, const char *b)
{
	for (;; a++, b++)
	{
		char		ca = *a;
		char		cb = *b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return 0;
		if (ca == '\0')
			return 1;
	}
}

static bool
IsKw(const CyToken *t, const char *kw)
{
	return t->type == CYT_IDENT && cy_name_eq(t->str, kw);
}

static bool
AcceptKw(ParseState *ps, const char *kw)
{
	if (IsKw(Cur(ps), kw))
	{
		ps->pos++;
		return true;
	}
	return false;
}

static void
ExpectKw(ParseState *ps, const char *kw)
{
	if (!AcceptKw(ps, kw))
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected %s", kw);
}

static bool
Accept(ParseState *ps, CyTokType type)
{
	if (Cur(ps)->type == type)
	{
		ps->pos++;
		return true;
	}
	return false;
}

static const CyToken *
Expect(ParseState *ps, CyTokType type, const char *what)
{
	if (Cur(ps)->type != type)
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected %s", what);
	return Next(ps);
}

/* Words that cannot be a variable or start an expression atom. */
static const char *const reserved_words[] = {
	"AND", "AS", "ASC", "ASCENDING", "BY", "CALL", "CONTAINS", "CREATE",
	"DELETE", "DESC", "DESCENDING", "DETACH", "DISTINCT", "ELSE", "END",
	"ENDS", "IN", "IS", "LIMIT", "MATCH", "MERGE", "ON", "OPTIONAL", "OR",
	"ORDER", "REMOVE", "RETURN", "SET", "SKIP", "STARTS", "THEN", "UNION",
	"UNWIND", "WHEN", "WHERE", "WITH", "XOR", "YIELD", NULL
};

static bool
IsReserved(const CyToken *t)
{
	if (t->type != CYT_IDENT)
		return false;
	for (int i = 0; reserved_words[i] != NULL; i++)
		if (cy_name_eq(t->str, reserved_words[i]))
			return true;
	return false;
}

/* A token usable as a variable: an unreserved identifier or `quoted`. */
static bool
IsVarToken(const CyToken *t)
{
	return t->type == CYT_QIDENT ||
		(t->type == CYT_IDENT && !IsReserved(t) &&
		 !cy_name_eq(t->str, "true") && !cy_name_eq(t->str, "false") &&
		 !cy_name_eq(t->str, "null") && !cy_name_eq(t->str, "not"));
}

static const char *
ExpectVar(ParseState *ps, const char *what)
{
	if (!IsVarToken(Cur(ps)))
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected %s", what);
	return Next(ps)->str;
}

/* A label, type, property key or alias: any identifier, keywords included. */
static const char *
ExpectName(ParseState *ps, const char *what)
{
	const CyToken *t = Cur(ps);

	if (t->type != CYT_IDENT && t->type != CYT_QIDENT)
		Fail(ps, CY_ERR_SYNTAX, t, "expected %s", what);
	return Next(ps)->str;
}

static void
EnterNesting(ParseState *ps)
{
	if (++ps->depth > CY_MAX_DEPTH)
		Fail(ps, CY_ERR_DEPTH, Cur(ps), "query is nested more than %d levels deep",
			 CY_MAX_DEPTH);
}

/* ---------------------------------------------------------------------
 * Expression nodes
 * ---------------------------------------------------------------------
 */
static CyExpr *
MakeExpr(ParseState *ps, CyExprKind kind, const CyToken *at)
{
	CyExpr	   *e = Alloc(ps, sizeof(CyExpr));

	e->kind = kind;
	e->loc = at->start;
	e->end = at->start + at->len;
	e->height = 1;
	return e;
}

static int
ExprHeight(const CyExpr *e)
{
	return e ? e->height : 0;
}

static int
PathHeight(const CyPath *p)
{
	int			h = 0;

	for (int i = 0; i <= p->nrels; i++)
	{
		int			x = ExprHeight(p->nodes[i]->props);

		if (x > h)
			h = x;
		if (i < p->nrels && (x = ExprHeight(p->rels[i]->props)) > h)
			h = x;
	}
	return h;
}

/*
 * Sets the height of a node whose children are final, refusing trees
 * taller than CY_MAX_HEIGHT: later passes recurse over them.
 */
static void
Seal(ParseState *ps, CyExpr *e)
{
	int			h = ExprHeight(e->a);

	if (ExprHeight(e->b) > h)
		h = ExprHeight(e->b);
	if (ExprHeight(e->c) > h)
		h = ExprHeight(e->c);
	for (int i = 0; i < e->nargs; i++)
		if (ExprHeight(e->args[i]) > h)
			h = ExprHeight(e->args[i]);
	if (e->path && PathHeight(e->path) > h)
		h = PathHeight(e->path);
	e->height = h + 1;
	if (e->height > CY_MAX_HEIGHT)
		Fail(ps, CY_ERR_DEPTH, Cur(ps), "expression is nested more than %d levels deep",
			 CY_MAX_HEIGHT);
}

/* Binary operator node (left-assoc chains are built by loops, not recursion). */
static CyExpr *
MakeBinary(ParseState *ps, CyOp op, CyExpr *a, CyExpr *b, const CyToken *at)
{
	CyExpr	   *e = MakeExpr(ps, CYX_BINARY, at);

	e->op = op;
	e->a = a;
	e->b = b;
	e->loc = a->loc;
	e->end = b->end;
	Seal(ps, e);
	return e;
}

static CyExpr *
MakeUnary(ParseState *ps, CyOp op, CyExpr *a, const CyToken *at)
{
	CyExpr	   *e = MakeExpr(ps, CYX_UNARY, at);

	e->op = op;
	e->a = a;
	e->end = a->end;
	Seal(ps, e);
	return e;
}

/* Ends a composite node at the last token consumed, and seals it. */
static void
SetEnd(ParseState *ps, CyExpr *e)
{
	if (ps->pos > 0)
		e->end = ps->toks.tok[ps->pos - 1].start + ps->toks.tok[ps->pos - 1].len;
	Seal(ps, e);
}

/* Leaves the nesting level of a composite node that ends here (EnterNesting). */
static CyExpr *
EndNested(ParseState *ps, CyExpr *e)
{
	ps->depth--;
	SetEnd(ps, e);
	return e;
}

/* A map's keys and values, in order (map literals, map projections). */
static CyExpr *
EndMap(ParseState *ps, CyExpr *e, PtrVec *keys, PtrVec *vals)
{
	e->nargs = vals->n;
	e->args = (CyExpr **) vals->items;
	e->keys = (const char **) keys->items;
	return EndNested(ps, e);
}

/* ---------------------------------------------------------------------
 * Atoms
 * ---------------------------------------------------------------------
 */

/* {key: expr, ...}; the current token is '{'. */
static CyExpr *
ParseMapLiteral(ParseState *ps)
{
	CyExpr	   *e = MakeExpr(ps, CYX_MAP, Next(ps));
	PtrVec		keys = {0};
	PtrVec		vals = {0};

	EnterNesting(ps);
	if (!Accept(ps, CYT_RBRACE))
	{
		do
		{
			const CyToken *k = Cur(ps);

			if (k->type != CYT_IDENT && k->type != CYT_QIDENT && k->type != CYT_STRING)
				Fail(ps, CY_ERR_SYNTAX, k, "expected a property key");
			Next(ps);
			Expect(ps, CYT_COLON, "':'");
			VecPush(ps, &keys, (void *) k->str);
			VecPush(ps, &vals, ParseExpr(ps));
		} while (Accept(ps, CYT_COMMA));
		Expect(ps, CYT_RBRACE, "'}' or ','");
	}
	return EndMap(ps, e, &keys, &vals);
}

/* Comma-separated expressions up to the closing token. */
static void
ParseExprList(ParseState *ps, CyExpr *e, CyTokType close, const char *what)
{
	PtrVec		v = {0};

	if (!Accept(ps, close))
	{
		do
			VecPush(ps, &v, ParseExpr(ps));
		while (Accept(ps, CYT_COMMA));
		Expect(ps, close, what);
	}
	e->nargs = v.n;
	e->args = (CyExpr **) v.items;
}

/* [x IN list WHERE pred | expr] or [a, b, ...]; current token is '['. */
static CyExpr *
ParseListAtom(ParseState *ps)
{
	const CyToken *open = Next(ps);
	CyExpr	   *e;

	EnterNesting(ps);
	if (Cur(ps)->type == CYT_LPAREN && LooksLikePattern(ps))
	{
		e = MakeExpr(ps, CYX_PATCOMP, open);
		e->path = ParsePath(ps, false);
		if (AcceptKw(ps, "WHERE"))
			e->b = ParseExpr(ps);
		Expect(ps, CYT_PIPE, "'|' in a pattern comprehension");
		e->c = ParseExpr(ps);
		Expect(ps, CYT_RBRACKET, "']'");
	}
	else if (IsVarToken(Cur(ps)) && IsKw(Peek(ps, 1), "IN"))
	{
		e = MakeExpr(ps, CYX_LISTCOMP, open);
		e->str = Next(ps)->str;
		Next(ps);
		e->a = ParseExpr(ps);
		if (AcceptKw(ps, "WHERE"))
			e->b = ParseExpr(ps);
		if (Accept(ps, CYT_PIPE))
			e->c = ParseExpr(ps);
		Expect(ps, CYT_RBRACKET, "']'");
	}
	else
	{
		e = MakeExpr(ps, CYX_LIST, open);
		ParseExprList(ps, e, CYT_RBRACKET, "']' or ','");
	}
	return EndNested(ps, e);
}

/* CASE [expr] WHEN .. THEN .. [ELSE ..] END; current token is CASE. */
static CyExpr *
ParseCase(ParseState *ps)
{
	CyExpr	   *e = MakeExpr(ps, CYX_CASE, Next(ps));
	PtrVec		v = {0};

	EnterNesting(ps);
	if (!IsKw(Cur(ps), "WHEN"))
		e->a = ParseExpr(ps);
	if (!IsKw(Cur(ps), "WHEN"))
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected WHEN");
	while (AcceptKw(ps, "WHEN"))
	{
		VecPush(ps, &v, ParseExpr(ps));
		ExpectKw(ps, "THEN");
		VecPush(ps, &v, ParseExpr(ps));
	}
	if (AcceptKw(ps, "ELSE"))
		e->c = ParseExpr(ps);
	ExpectKw(ps, "END");
	e->nargs = v.n;
	e->args = (CyExpr **) v.items;
	return EndNested(ps, e);
}

/*
 * "x IN list" of quantifiers, reduce and FOREACH: returns the variable and
 * sets *list to the list expression.
 */
static const char *
ParseInBinding(ParseState *ps, CyExpr **list)
{
	const char *var = ExpectVar(ps, "a variable");

	ExpectKw(ps, "IN");
	*list = ParseExpr(ps);
	return var;
}

/* all/any/none/single(x IN list WHERE pred); current token is the name. */
static CyExpr *
ParseQuantifier(ParseState *ps, CyOp op)
{
	CyExpr	   *e = MakeExpr(ps, CYX_QUANT, Next(ps));

	EnterNesting(ps);
	e->op = op;
	Expect(ps, CYT_LPAREN, "'('");
	e->str = ParseInBinding(ps, &e->a);
	if (AcceptKw(ps, "WHERE"))
		e->b = ParseExpr(ps);
	Expect(ps, CYT_RPAREN, "')'");
	return EndNested(ps, e);
}

/*
 * EXISTS { [MATCH] pattern [WHERE pred] } and COUNT { ... }: one pattern;
 * the current token is EXISTS or COUNT and the next '{'.
 */
static CyExpr *
ParsePatternSubquery(ParseState *ps)
{
	const CyToken *kw = Next(ps);
	CyExpr	   *e = MakeExpr(ps, cy_name_eq(kw->str, "count") ? CYX_COUNTSUB : CYX_PATTERN, kw);

	Next(ps);					/* '{' */
	EnterNesting(ps);
	AcceptKw(ps, "MATCH");
	if (Cur(ps)->type != CYT_LPAREN)
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected a pattern");
	e->path = ParsePath(ps, false);
	if (Cur(ps)->type == CYT_COMMA)
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "only one pattern is supported in %s { }",
			 e->kind == CYX_COUNTSUB ? "COUNT" : "EXISTS");
	if (AcceptKw(ps, "WHERE"))
		e->b = ParseExpr(ps);
	Expect(ps, CYT_RBRACE, "'}' (a subquery with RETURN or several clauses is not supported)");
	return EndNested(ps, e);
}

/*
 * shortestPath((a)-[*]-(b)) as an expression: the path or null;
 * allShortestPaths(...) the list of them.  A pattern comprehension over
 * the path, under a name no query can spell, and head() of it for one.
 */
#define CY_SHORTEST_EXPR_VAR "\001shortest"

static CyExpr *
ParseShortestExpr(ParseState *ps)
{
	const CyToken *kw = Cur(ps);
	CyExpr	   *pc = MakeExpr(ps, CYX_PATCOMP, kw);
	CyExpr	   *var = MakeExpr(ps, CYX_VAR, kw);
	CyExpr	   *head;

	EnterNesting(ps);
	pc->path = ParsePath(ps, false);
	ps->depth--;
	pc->path->var = CY_SHORTEST_EXPR_VAR;
	var->str = CY_SHORTEST_EXPR_VAR;
	pc->c = var;
	SetEnd(ps, pc);
	if (pc->path->shortest == CY_SHORTEST_ALL)
		return pc;
	head = MakeExpr(ps, CYX_FUNC, kw);
	head->str = "head";
	head->nargs = 1;
	head->args = Alloc(ps, sizeof(CyExpr *));
	head->args[0] = pc;
	SetEnd(ps, head);
	return head;
}

/* reduce(acc = init, x IN list | expr); the current token is "reduce". */
static CyExpr *
ParseReduce(ParseState *ps)
{
	CyExpr	   *e = MakeExpr(ps, CYX_REDUCE, Next(ps));

	EnterNesting(ps);
	Expect(ps, CYT_LPAREN, "'('");
	e->str = ExpectVar(ps, "the accumulator variable");
	Expect(ps, CYT_EQ, "'='");
	e->a = ParseExpr(ps);
	Expect(ps, CYT_COMMA, "','");
	e->str2 = ParseInBinding(ps, &e->b);
	Expect(ps, CYT_PIPE, "'|'");
	e->c = ParseExpr(ps);
	Expect(ps, CYT_RPAREN, "')'");
	return EndNested(ps, e);
}

/*
 * name(args) with a possibly dotted name (vector.distance); the current
 * token is the first part of the name and the caller checked the shape.
 */
static CyExpr *
ParseFunction(ParseState *ps)
{
	const CyToken *first = Cur(ps);
	CyExpr	   *e = MakeExpr(ps, CYX_FUNC, first);
	size_t		namelen = 0;
	int			stop = ps->pos;
	char	   *name;

	/* join the dotted parts */
	while (ps->toks.tok[stop].type != CYT_LPAREN)
	{
		namelen += strlen(ps->toks.tok[stop].type == CYT_DOT ? "." : ps->toks.tok[stop].str);
		stop++;
	}
	name = Alloc(ps, namelen + 1);
	while (ps->pos < stop)
	{
		const CyToken *t = Next(ps);

		strcat(name, t->type == CYT_DOT ? "." : t->str);
	}
	e->str = name;
	Next(ps);					/* '(' */
	EnterNesting(ps);
	if (cy_name_eq(name, "count") && Cur(ps)->type == CYT_STAR && Peek(ps, 1)->type == CYT_RPAREN)
	{
		ps->pos += 2;
		e->star = true;
	}
	else
	{
		e->bval = AcceptKw(ps, "DISTINCT");
		ParseExprList(ps, e, CYT_RPAREN, "')' or ','");
	}
	return EndNested(ps, e);
}

/* ident(.ident)* '(' — a function call rather than a property lookup. */
static bool
LooksLikeFunction(ParseState *ps)
{
	int			i = 0;

	if (Peek(ps, 0)->type != CYT_IDENT)
		return false;
	for (;;)
	{
		if (Peek(ps, i + 1)->type == CYT_LPAREN)
			return true;
		if (Peek(ps, i + 1)->type != CYT_DOT || Peek(ps, i + 2)->type != CYT_IDENT)
			return false;
		i += 2;
	}
}

/*
 * Skips a balanced {...} starting at token index i; returns the index after
 * it, or -1 when unbalanced.
 */
static int
SkipBraces(ParseState *ps, int i)
{
	int			level = 0;

	for (; i < ps->toks.n; i++)
	{
		CyTokType	t = ps->toks.tok[i].type;

		if (t == CYT_LBRACE)
			level++;
		else if (t == CYT_RBRACE && --level == 0)
			return i + 1;
		else if (t == CYT_EOF)
			return -1;
	}
	return -1;
}

/*
 * Does a node pattern start at the current '(' and a relationship follow
 * it?  That tells a pattern predicate from a parenthesised expression.
 */
static bool
LooksLikePattern(ParseState *ps)
{
	int			i = ps->pos + 1;
	const CyToken *t = ps->toks.tok;

	if (IsVarToken(&t[i]))
		i++;
	while (t[i].type == CYT_COLON && (t[i + 1].type == CYT_IDENT || t[i + 1].type == CYT_QIDENT))
		i += 2;
	if (t[i].type == CYT_LBRACE)
	{
		i = SkipBraces(ps, i);
		if (i < 0)
			return false;
	}
	else if (t[i].type == CYT_PARAM)
		i++;
	if (t[i].type != CYT_RPAREN)
		return false;
	i++;
	if (t[i].type == CYT_LT)
		i++;
	if (t[i].type != CYT_MINUS)
		return false;
	i++;
	/* "--(" or "-->" continue a pattern; "(x) - -7" is arithmetic */
	if (t[i].type == CYT_MINUS)
		return t[i + 1].type == CYT_LPAREN || t[i + 1].type == CYT_GT;
	if (t[i].type != CYT_LBRACKET)
		return false;
	/* "[x IN l | x]" after "(expr) -" is a list, "[r:T]" a relationship */
	i++;
	if (IsVarToken(&t[i]))
		i++;
	return t[i].type == CYT_COLON || t[i].type == CYT_STAR || t[i].type == CYT_LBRACE ||
		t[i].type == CYT_PARAM || t[i].type == CYT_RBRACKET;
}

/* var{.key, .*, key: expr, var}; the current token is '{'. */
static CyExpr *
ParseMapProjection(ParseState *ps, CyExpr *base)
{
	CyExpr	   *e = MakeExpr(ps, CYX_MAPPROJ, Next(ps));
	PtrVec		keys = {0};
	PtrVec		vals = {0};

	EnterNesting(ps);
	e->a = base;
	e->loc = base->loc;
	if (!Accept(ps, CYT_RBRACE))
	{
		do
		{
			if (Accept(ps, CYT_DOT))
			{
				if (Accept(ps, CYT_STAR))
					VecPush(ps, &keys, "*");
				else
					VecPush(ps, &keys, (void *) ExpectName(ps, "a property key or '*'"));
				VecPush(ps, &vals, NULL);
			}
			else if ((Cur(ps)->type == CYT_IDENT || Cur(ps)->type == CYT_QIDENT) &&
					 Peek(ps, 1)->type == CYT_COLON)
			{
				VecPush(ps, &keys, (void *) Next(ps)->str);
				Next(ps);
				VecPush(ps, &vals, ParseExpr(ps));
			}
			else
			{
				const CyToken *v = Cur(ps);
				CyExpr	   *var = MakeExpr(ps, CYX_VAR, v);

				var->str = ExpectVar(ps, "'.key', 'key: value' or a variable");
				VecPush(ps, &keys, (void *) var->str);
				VecPush(ps, &vals, var);
			}
		} while (Accept(ps, CYT_COMMA));
		Expect(ps, CYT_RBRACE, "'}' or ','");
	}
	return EndMap(ps, e, &keys, &vals);
}

static CyExpr *
ParseIdentAtom(ParseState *ps)
{
	const CyToken *t = Cur(ps);
	CyExpr	   *e;

	if (cy_name_eq(t->str, "true") || cy_name_eq(t->str, "false"))
	{
		e = MakeExpr(ps, CYX_BOOL, Next(ps));
		e->bval = cy_name_eq(t->str, "true");
		return e;
	}
	if (cy_name_eq(t->str, "null"))
		return MakeExpr(ps, CYX_NULL, Next(ps));
	if (cy_name_eq(t->str, "case"))
		return ParseCase(ps);
	if ((cy_name_eq(t->str, "shortestPath") || cy_name_eq(t->str, "allShortestPaths")) &&
		Peek(ps, 1)->type == CYT_LPAREN && Peek(ps, 2)->type == CYT_LPAREN)
		return ParseShortestExpr(ps);
	if ((cy_name_eq(t->str, "exists") || cy_name_eq(t->str, "count")) && Peek(ps, 1)->type == CYT_LBRACE)
		return ParsePatternSubquery(ps);
	if (cy_name_eq(t->str, "reduce") && Peek(ps, 1)->type == CYT_LPAREN && IsVarToken(Peek(ps, 2)) &&
		Peek(ps, 3)->type == CYT_EQ)
		return ParseReduce(ps);
	if (Peek(ps, 1)->type == CYT_LPAREN && IsVarToken(Peek(ps, 2)) && IsKw(Peek(ps, 3), "IN"))
	{
		static const struct
		{
			const char *name;
			CyOp		op;
		}			quants[] = {
			{"all", CYO_ALL}, {"any", CYO_ANY}, {"none", CYO_NONE_OF}, {"single", CYO_SINGLE}
		};

		for (int i = 0; i < 4; i++)
			if (cy_name_eq(t->str, quants[i].name))
				return ParseQuantifier(ps, quants[i].op);
	}
	if (LooksLikeFunction(ps))
		return ParseFunction(ps);
	if (!IsVarToken(t))
		Fail(ps, CY_ERR_SYNTAX, t, "expected an expression");
	e = MakeExpr(ps, CYX_VAR, Next(ps));
	e->str = t->str;
	return e;
}

static CyExpr *
ParseAtom(ParseState *ps)
{
	const CyToken *t = Cur(ps);
	CyExpr	   *e;

	switch (t->type)
	{
		case CYT_INT:
			if (t->uval > (uint64_t) INT64_MAX)
				Fail(ps, CY_ERR_RANGE, t, "integer literal out of range");
			e = MakeExpr(ps, CYX_INT, Next(ps));
			e->ival = (int64_t) t->uval;
			return e;
		case CYT_FLOAT:
			e = MakeExpr(ps, CYX_FLOAT, Next(ps));
			e->fval = t->fval;
			e->str = t->str;
			return e;
		case CYT_STRING:
			e = MakeExpr(ps, CYX_STRING, Next(ps));
			e->str = t->str;
			return e;
		case CYT_PARAM:
			e = MakeExpr(ps, CYX_PARAM, Next(ps));
			e->str = t->str;
			return e;
		case CYT_QIDENT:
			e = MakeExpr(ps, CYX_VAR, Next(ps));
			e->str = t->str;
			return e;
		case CYT_IDENT:
			return ParseIdentAtom(ps);
		case CYT_LBRACKET:
			return ParseListAtom(ps);
		case CYT_LBRACE:
			return ParseMapLiteral(ps);
		case CYT_LPAREN:
			if (LooksLikePattern(ps))
			{
				e = MakeExpr(ps, CYX_PATTERN, t);
				EnterNesting(ps);
				e->path = ParsePath(ps, false);
				return EndNested(ps, e);
			}
			Next(ps);
			EnterNesting(ps);
			e = ParseExpr(ps);
			ps->depth--;
			Expect(ps, CYT_RPAREN, "')'");
			return e;
		default:
			Fail(ps, CY_ERR_SYNTAX, t, "expected an expression");
	}
	return NULL;				/* not reached */
}

/* :A:B after an expression (a label predicate). */
static CyExpr *
ParseLabelPredicate(ParseState *ps, CyExpr *base)
{
	CyExpr	   *e = MakeExpr(ps, CYX_HASLABEL, Cur(ps));
	PtrVec		v = {0};

	while (Accept(ps, CYT_COLON))
		VecPush(ps, &v, (void *) ExpectName(ps, "a label"));
	e->a = base;
	e->loc = base->loc;
	e->nlabels = v.n;
	e->labels = (const char **) v.items;
	SetEnd(ps, e);
	return e;
}

/* Index [i] or slice [i..j], [..j], [i..]; the current token is '['. */
static CyExpr *
ParseSubscript(ParseState *ps, CyExpr *base)
{
	const CyToken *open = Next(ps);
	CyExpr	   *from = NULL;
	CyExpr	   *e;

	EnterNesting(ps);
	if (Cur(ps)->type != CYT_DOTDOT)
		from = ParseExpr(ps);
	if (Accept(ps, CYT_DOTDOT))
	{
		e = MakeExpr(ps, CYX_SLICE, open);
		e->b = from;
		if (Cur(ps)->type != CYT_RBRACKET)
			e->c = ParseExpr(ps);
	}
	else
	{
		e = MakeExpr(ps, CYX_INDEX, open);
		e->b = from;
	}
	Expect(ps, CYT_RBRACKET, "']'");
	ps->depth--;
	e->a = base;
	e->loc = base->loc;
	SetEnd(ps, e);
	return e;
}

static CyExpr *
ParsePostfix(ParseState *ps)
{
	CyExpr	   *e = ParseAtom(ps);

	for (;;)
	{
		const CyToken *t = Cur(ps);

		if (t->type == CYT_DOT)
		{
			CyExpr	   *p = MakeExpr(ps, CYX_PROP, Next(ps));

			p->str = ExpectName(ps, "a property key");
			p->a = e;
			p->loc = e->loc;
			SetEnd(ps, p);
			e = p;
		}
		else if (t->type == CYT_LBRACKET)
			e = ParseSubscript(ps, e);
		else if (t->type == CYT_COLON)
			e = ParseLabelPredicate(ps, e);
		else if (t->type == CYT_LBRACE && e->kind == CYX_VAR)
			e = ParseMapProjection(ps, e);
		else
			break;
	}
	return e;
}

/*
 * Unary + and -.  A run of signs is consumed first and applied afterwards,
 * without recursion; "-" directly before 9223372036854775808 folds into
 * INT64_MIN, the one literal that only exists negated.
 */
static CyExpr *
ParseUnarySigns(ParseState *ps)
{
	int			first = ps->pos;
	int			n = 0;
	CyExpr	   *e;

	while (Cur(ps)->type == CYT_MINUS || Cur(ps)->type == CYT_PLUS)
	{
		Next(ps);
		n++;
	}
	if (n > 0 && ps->toks.tok[first + n - 1].type == CYT_MINUS &&
		Cur(ps)->type == CYT_INT && Cur(ps)->uval == (UINT64_C(1) << 63))
	{
		e = MakeExpr(ps, CYX_INT, &ps->toks.tok[first + n - 1]);
		e->ival = INT64_MIN;
		Next(ps);
		SetEnd(ps, e);
		n--;
	}
	else
		e = ParsePostfix(ps);
	while (n > 0)
	{
		const CyToken *s = &ps->toks.tok[first + --n];

		e = MakeUnary(ps, s->type == CYT_MINUS ? CYO_NEG : CYO_PLUS, e, s);
	}
	return e;
}

static CyExpr *
ParsePower(ParseState *ps)
{
	CyExpr	   *e = ParseUnarySigns(ps);

	while (Cur(ps)->type == CYT_CARET)
	{
		const CyToken *op = Next(ps);

		e = MakeBinary(ps, CYO_POW, e, ParseUnarySigns(ps), op);
	}
	return e;
}

static CyExpr *
ParseMultiplicative(ParseState *ps)
{
	CyExpr	   *e = ParsePower(ps);

	for (;;)
	{
		CyTokType	t = Cur(ps)->type;
		CyOp		op = t == CYT_STAR ? CYO_MUL : t == CYT_SLASH ? CYO_DIV :
			t == CYT_PERCENT ? CYO_MOD : CYO_NONE;
		const CyToken *at;

		if (op == CYO_NONE)
			return e;
		at = Next(ps);
		e = MakeBinary(ps, op, e, ParsePower(ps), at);
	}
}

static CyExpr *
ParseAdditive(ParseState *ps)
{
	CyExpr	   *e = ParseMultiplicative(ps);

	for (;;)
	{
		CyTokType	t = Cur(ps)->type;
		const CyToken *at;

		if (t != CYT_PLUS && t != CYT_MINUS)
			return e;
		at = Next(ps);
		e = MakeBinary(ps, t == CYT_PLUS ? CYO_ADD : CYO_SUB, e, ParseMultiplicative(ps), at);
	}
}

/* STARTS WITH, ENDS WITH, CONTAINS, IN, IS [NOT] NULL, =~ */
static CyExpr *
ParsePredicates(ParseState *ps)
{
	CyExpr	   *e = ParseAdditive(ps);

	for (;;)
	{
		const CyToken *t = Cur(ps);
		CyOp		op = CYO_NONE;

		if (IsKw(t, "STARTS") && IsKw(Peek(ps, 1), "WITH"))
			op = CYO_STARTS;
		else if (IsKw(t, "ENDS") && IsKw(Peek(ps, 1), "WITH"))
			op = CYO_ENDS;
		else if (IsKw(t, "CONTAINS"))
			op = CYO_CONTAINS;
		else if (IsKw(t, "IN"))
			op = CYO_IN;
		else if (t->type == CYT_REGEQ)
			op = CYO_REGEX;
		else if (IsKw(t, "IS"))
		{
			CyExpr	   *n = MakeExpr(ps, CYX_ISNULL, Next(ps));

			n->bval = AcceptKw(ps, "NOT");
			ExpectKw(ps, "NULL");
			n->a = e;
			n->loc = e->loc;
			SetEnd(ps, n);
			e = n;
			continue;
		}
		else
			return e;
		Next(ps);
		if (op == CYO_STARTS || op == CYO_ENDS)
			Next(ps);
		e = MakeBinary(ps, op, e, ParseAdditive(ps), t);
	}
}

static CyOp
ComparisonOp(CyTokType t)
{
	switch (t)
	{
		case CYT_EQ: return CYO_EQ;
		case CYT_NE: return CYO_NE;
		case CYT_LT: return CYO_LT;
		case CYT_LE: return CYO_LE;
		case CYT_GT: return CYO_GT;
		case CYT_GE: return CYO_GE;
		default: return CYO_NONE;
	}
}

/* a < b <= c means (a < b) AND (b <= c). */
static CyExpr *
ParseComparison(ParseState *ps)
{
	CyExpr	   *left = ParsePredicates(ps);
	CyExpr	   *result = NULL;

	while (ComparisonOp(Cur(ps)->type) != CYO_NONE)
	{
		const CyToken *at = Next(ps);
		CyExpr	   *right = ParsePredicates(ps);
		CyExpr	   *cmp = MakeBinary(ps, ComparisonOp(at->type), left, right, at);

		result = result ? MakeBinary(ps, CYO_AND, result, cmp, at) : cmp;
		left = right;
	}
	return result ? result : left;
}

static CyExpr *
ParseNot(ParseState *ps)
{
	int			first = ps->pos;
	int			n = 0;
	CyExpr	   *e;

	while (IsKw(Cur(ps), "NOT"))
	{
		Next(ps);
		n++;
	}
	e = ParseComparison(ps);
	while (n > 0)
		e = MakeUnary(ps, CYO_NOT, e, &ps->toks.tok[first + --n]);
	return e;
}

/*
 * Operands lo..hi of one AND, OR or XOR chain as a balanced tree: the three
 * are associative (also with null), so a flat chain of thousands of
 * conditions is as tall as its logarithm, not its length, and passes the
 * height bound that protects the recursive passes.
 */
static CyExpr *
BalancedChain(ParseState *ps, CyOp op, CyExpr **operands, const CyToken **ats, int lo, int hi)
{
	int			mid;

	if (lo == hi)
		return operands[lo];
	mid = lo + (hi - lo) / 2;
	/* ats[i] is the operator before operands[i] */
	return MakeBinary(ps, op, BalancedChain(ps, op, operands, ats, lo, mid),
					  BalancedChain(ps, op, operands, ats, mid + 1, hi), ats[mid + 1]);
}

static CyExpr *
ParseBoolChain(ParseState *ps, int level)
{
	static const char *const words[] = {"OR", "XOR", "AND"};
	static const CyOp ops[] = {CYO_OR, CYO_XOR, CYO_AND};
	CyExpr	   *e = level == 2 ? ParseNot(ps) : ParseBoolChain(ps, level + 1);
	PtrVec		operands = {0};
	PtrVec		ats = {0};

	if (!IsKw(Cur(ps), words[level]))
		return e;
	VecPush(ps, &operands, e);
	VecPush(ps, &ats, NULL);
	while (IsKw(Cur(ps), words[level]))
	{
		VecPush(ps, &ats, (void *) Next(ps));
		VecPush(ps, &operands, level == 2 ? ParseNot(ps) : ParseBoolChain(ps, level + 1));
	}
	return BalancedChain(ps, ops[level], (CyExpr **) operands.items,
						 (const CyToken **) ats.items, 0, operands.n - 1);
}

static CyExpr *
ParseExpr(ParseState *ps)
{
	/*
	 * Not counted as a level of nesting: every construct that parses an
	 * expression inside another (brackets, braces, parentheses, CASE,
	 * function calls, quantifiers) counts itself, so 200 levels are 200
	 * brackets, as the limit says.
	 */
	return ParseBoolChain(ps, 0);
}

/* ---------------------------------------------------------------------
 * Patterns
 * ---------------------------------------------------------------------
 */

/* A property map or $param after a node or relationship's labels. */
static CyExpr *
ParsePatternProps(ParseState *ps)
{
	if (Cur(ps)->type == CYT_LBRACE)
		return ParseMapLiteral(ps);
	if (Cur(ps)->type == CYT_PARAM)
	{
		CyExpr	   *e = MakeExpr(ps, CYX_PARAM, Cur(ps));

		e->str = Next(ps)->str;
		return e;
	}
	return NULL;
}

static CyNodePat *
ParseNodePattern(ParseState *ps)
{
	CyNodePat  *n = Alloc(ps, sizeof(CyNodePat));
	PtrVec		labels = {0};

	n->loc = Expect(ps, CYT_LPAREN, "'(' to start a node pattern")->start;
	if (IsVarToken(Cur(ps)))
		n->var = Next(ps)->str;
	while (Accept(ps, CYT_COLON))
		VecPush(ps, &labels, (void *) ExpectName(ps, "a label"));
	n->nlabels = labels.n;
	n->labels = (const char **) labels.items;
	n->props = ParsePatternProps(ps);
	Expect(ps, CYT_RPAREN, "')' to close the node pattern");
	return n;
}

/* Hop count in *n..m; bounded so later arithmetic cannot overflow. */
static int
ParseHops(ParseState *ps)
{
	const CyToken *t = Next(ps);

	if (t->uval > 1000000)
		Fail(ps, CY_ERR_RANGE, t, "hop count must be at most 1000000");
	return (int) t->uval;
}

/* '*' [n] ['..' [m]] inside a relationship pattern */
static void
ParseVarLength(ParseState *ps, CyRelPat *r)
{
	r->varlen = true;
	r->minhops = 1;
	r->maxhops = CY_HOPS_UNBOUNDED;
	if (Cur(ps)->type == CYT_INT)
	{
		r->minhops = ParseHops(ps);
		if (Cur(ps)->type != CYT_DOTDOT)
			r->maxhops = r->minhops;
	}
	if (Accept(ps, CYT_DOTDOT) && Cur(ps)->type == CYT_INT)
		r->maxhops = ParseHops(ps);
	if (r->maxhops != CY_HOPS_UNBOUNDED && r->maxhops < r->minhops)
		Fail(ps, CY_ERR_SYNTAX, Peek(ps, -1),
			 "the upper bound of a variable-length relationship is below its lower bound");
}

static void
ParseRelDetail(ParseState *ps, CyRelPat *r)
{
	PtrVec		types = {0};

	if (IsVarToken(Cur(ps)))
		r->var = Next(ps)->str;
	if (Accept(ps, CYT_COLON))
	{
		VecPush(ps, &types, (void *) ExpectName(ps, "a relationship type"));
		while (Accept(ps, CYT_PIPE))
		{
			Accept(ps, CYT_COLON);
			VecPush(ps, &types, (void *) ExpectName(ps, "a relationship type"));
		}
	}
	r->ntypes = types.n;
	r->types = (const char **) types.items;
	if (Accept(ps, CYT_STAR))
		ParseVarLength(ps, r);
	r->props = ParsePatternProps(ps);
	Expect(ps, CYT_RBRACKET, "']' to close the relationship pattern");
}

static CyRelPat *
ParseRelPattern(ParseState *ps)
{
	CyRelPat   *r = Alloc(ps, sizeof(CyRelPat));
	bool		left = false;
	bool		right = false;

	r->loc = Cur(ps)->start;
	if (Accept(ps, CYT_LT))
		left = true;
	Expect(ps, CYT_MINUS, "'-' in a relationship pattern");
	if (Accept(ps, CYT_LBRACKET))
		ParseRelDetail(ps, r);
	Expect(ps, CYT_MINUS, "'-' in a relationship pattern");
	if (Accept(ps, CYT_GT))
		right = true;
	r->dir = (left == right) ? CY_DIR_BOTH : right ? CY_DIR_RIGHT : CY_DIR_LEFT;
	return r;
}

static bool
AtRelationship(ParseState *ps)
{
	CyTokType	t = Cur(ps)->type;

	return t == CYT_MINUS || (t == CYT_LT && Peek(ps, 1)->type == CYT_MINUS);
}

static void
ParseChain(ParseState *ps, CyPath *p)
{
	PtrVec		nodes = {0};
	PtrVec		rels = {0};

	VecPush(ps, &nodes, ParseNodePattern(ps));
	while (AtRelationship(ps))
	{
		VecPush(ps, &rels, ParseRelPattern(ps));
		VecPush(ps, &nodes, ParseNodePattern(ps));
	}
	p->nrels = rels.n;
	p->nodes = (CyNodePat **) nodes.items;
	p->rels = (CyRelPat **) rels.items;
}

static CyPath *
ParsePath(ParseState *ps, bool allow_var)
{
	CyPath	   *p = Alloc(ps, sizeof(CyPath));

	p->loc = Cur(ps)->start;
	if (allow_var && IsVarToken(Cur(ps)) && Peek(ps, 1)->type == CYT_EQ)
	{
		p->var = Next(ps)->str;
		Next(ps);
	}
	if ((IsKw(Cur(ps), "shortestPath") || IsKw(Cur(ps), "allShortestPaths")) &&
		Peek(ps, 1)->type == CYT_LPAREN)
	{
		const CyToken *kw = Next(ps);

		p->shortest = cy_name_eq(kw->str, "shortestPath") ? CY_SHORTEST_ONE : CY_SHORTEST_ALL;
		Next(ps);
		ParseChain(ps, p);
		Expect(ps, CYT_RPAREN, "')' to close shortestPath");
		if (p->nrels != 1)
			Fail(ps, CY_ERR_SYNTAX, kw, "%s needs a pattern with exactly one relationship",
				 kw->str);
	}
	else
		ParseChain(ps, p);
	if (PathHeight(p) > CY_MAX_HEIGHT)
		Fail(ps, CY_ERR_DEPTH, Cur(ps), "pattern is nested too deeply");
	return p;
}

static void
ParsePattern(ParseState *ps, CyClause *c)
{
	PtrVec		v = {0};

	do
		VecPush(ps, &v, ParsePath(ps, true));
	while (Accept(ps, CYT_COMMA));
	c->npaths = v.n;
	c->paths = (CyPath **) v.items;
}

/* ---------------------------------------------------------------------
 * Clauses
 * ---------------------------------------------------------------------
 */
static CyClause *
MakeClause(ParseState *ps, CyClauseKind kind, int loc)
{
	CyClause   *c = Alloc(ps, sizeof(CyClause));

	c->kind = kind;
	c->loc = loc;
	return c;
}

/* SET item: a.key = e | a = e | a += e | a:L:M */
static CySetItem *
ParseSetItem(ParseState *ps, bool remove)
{
	CySetItem  *s = Alloc(ps, sizeof(CySetItem));
	const CyToken *vt = Cur(ps);

	s->loc = vt->start;
	s->var = ExpectVar(ps, "a variable");
	if (Cur(ps)->type == CYT_DOT)
	{
		CyExpr	   *var = MakeExpr(ps, CYX_VAR, vt);
		CyExpr	   *prop = MakeExpr(ps, CYX_PROP, Next(ps));

		var->str = s->var;
		prop->a = var;
		prop->loc = var->loc;
		prop->str = s->key = ExpectName(ps, "a property key");
		SetEnd(ps, prop);
		s->kind = CYS_PROP;
		s->target = prop;
		if (Cur(ps)->type == CYT_DOT)
			Fail(ps, CY_ERR_SYNTAX, Cur(ps), "only a top-level property can be set or removed");
		if (!remove)
		{
			Expect(ps, CYT_EQ, "'='");
			s->value = ParseExpr(ps);
		}
	}
	else if (Cur(ps)->type == CYT_COLON)
	{
		PtrVec		v = {0};

		while (Accept(ps, CYT_COLON))
			VecPush(ps, &v, (void *) ExpectName(ps, "a label"));
		s->kind = CYS_LABELS;
		s->nlabels = v.n;
		s->labels = (const char **) v.items;
	}
	else if (!remove && (Cur(ps)->type == CYT_EQ || Cur(ps)->type == CYT_PLUSEQ))
	{
		s->kind = Next(ps)->type == CYT_EQ ? CYS_ASSIGN : CYS_MERGE;
		s->value = ParseExpr(ps);
	}
	else
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), remove ? "expected '.key' or ':Label'" :
			 "expected '.key =', '=', '+=' or ':Label'");
	return s;
}

static void
ParseSetItems(ParseState *ps, PtrVec *v, bool remove)
{
	do
		VecPush(ps, v, ParseSetItem(ps, remove));
	while (Accept(ps, CYT_COMMA));
}

static CyClause *
ParseMerge(ParseState *ps, int loc)
{
	CyClause   *c = MakeClause(ps, CYC_MERGE, loc);
	PtrVec		oncreate = {0};
	PtrVec		onmatch = {0};

	c->npaths = 1;
	c->paths = Alloc(ps, sizeof(CyPath *));
	c->paths[0] = ParsePath(ps, true);
	while (IsKw(Cur(ps), "ON"))
	{
		Next(ps);
		if (AcceptKw(ps, "CREATE"))
		{
			ExpectKw(ps, "SET");
			ParseSetItems(ps, &oncreate, false);
		}
		else if (AcceptKw(ps, "MATCH"))
		{
			ExpectKw(ps, "SET");
			ParseSetItems(ps, &onmatch, false);
		}
		else
			Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected CREATE or MATCH after ON");
	}
	c->noncreate = oncreate.n;
	for (int i = 0; i < onmatch.n; i++)
		VecPush(ps, &oncreate, onmatch.items[i]);
	c->nsets = oncreate.n;
	c->sets = (CySetItem **) oncreate.items;
	return c;
}

/* Copies the source text of an expression for its default column name. */
static const char *
SourceText(ParseState *ps, int start, int end)
{
	char	   *s = Alloc(ps, (size_t) (end - start) + 1);

	memcpy(s, ps->text + start, (size_t) (end - start));
	return s;
}

static CyProjItem *
ParseProjItem(ParseState *ps)
{
	CyProjItem *it = Alloc(ps, sizeof(CyProjItem));
	int			start = Cur(ps)->start;

	it->expr = ParseExpr(ps);
	it->text = SourceText(ps, start, ps->toks.tok[ps->pos - 1].start + ps->toks.tok[ps->pos - 1].len);
	if (AcceptKw(ps, "AS"))
		it->alias = ExpectName(ps, "an alias after AS");
	return it;
}

static void
ParseOrderBy(ParseState *ps, CyClause *c)
{
	PtrVec		v = {0};

	ExpectKw(ps, "BY");
	do
	{
		CySortItem *s = Alloc(ps, sizeof(CySortItem));

		s->expr = ParseExpr(ps);
		if (AcceptKw(ps, "DESC") || AcceptKw(ps, "DESCENDING"))
			s->desc = true;
		else if (!AcceptKw(ps, "ASC"))
			AcceptKw(ps, "ASCENDING");
		VecPush(ps, &v, s);
	} while (Accept(ps, CYT_COMMA));
	c->norder = v.n;
	c->order = (CySortItem **) v.items;
}

/* WITH and RETURN bodies. */
static CyClause *
ParseProjection(ParseState *ps, CyClauseKind kind, int loc)
{
	CyClause   *c = MakeClause(ps, kind, loc);
	PtrVec		v = {0};

	c->distinct = AcceptKw(ps, "DISTINCT");
	if (Accept(ps, CYT_STAR))
	{
		c->star = true;
		if (!Accept(ps, CYT_COMMA))
			goto items_done;
	}
	do
		VecPush(ps, &v, ParseProjItem(ps));
	while (Accept(ps, CYT_COMMA));
items_done:
	c->nitems = v.n;
	c->items = (CyProjItem **) v.items;
	if (AcceptKw(ps, "ORDER"))
		ParseOrderBy(ps, c);
	if (AcceptKw(ps, "SKIP"))
		c->skip = ParseExpr(ps);
	if (AcceptKw(ps, "LIMIT"))
		c->limit = ParseExpr(ps);
	if (kind == CYC_WITH && AcceptKw(ps, "WHERE"))
		c->where = ParseExpr(ps);
	return c;
}

static CyClause *
ParseDelete(ParseState *ps, int loc, bool detach)
{
	CyClause   *c = MakeClause(ps, CYC_DELETE, loc);
	PtrVec		v = {0};

	c->detach = detach;
	do
		VecPush(ps, &v, ParseExpr(ps));
	while (Accept(ps, CYT_COMMA));
	c->nexprs = v.n;
	c->exprs = (CyExpr **) v.items;
	return c;
}

static CyClause *
ParseMatch(ParseState *ps, int loc, bool optional)
{
	CyClause   *c = MakeClause(ps, CYC_MATCH, loc);

	c->optional = optional;
	ParsePattern(ps, c);
	if (AcceptKw(ps, "WHERE"))
		c->where = ParseExpr(ps);
	return c;
}

/* One clause, or NULL when the current token does not start one. */
static bool
IsUpdating(CyClauseKind k)
{
	return k == CYC_CREATE || k == CYC_MERGE || k == CYC_SET ||
		k == CYC_REMOVE || k == CYC_DELETE || k == CYC_FOREACH;
}

static CyClause *ParseClause(ParseState *ps);

/*
 * CALL { clauses ending with RETURN }: a reading subquery run for each row;
 * "CALL {" was consumed.
 */
static CyClause *
ParseCallSubquery(ParseState *ps, int loc)
{
	CyClause   *c = MakeClause(ps, CYC_CALL, loc);
	PtrVec		v = {0};

	EnterNesting(ps);
	for (;;)
	{
		const CyToken *at = Cur(ps);
		CyClause   *sub = ParseClause(ps);

		if (sub == NULL)
			break;
		if (IsUpdating(sub->kind))
			Fail(ps, CY_ERR_SYNTAX, at, "updating clauses in CALL { } are not supported");
		if (v.n > 0 && ((CyClause *) v.items[v.n - 1])->kind == CYC_RETURN)
			Fail(ps, CY_ERR_SYNTAX, at, "RETURN can only be the last clause");
		VecPush(ps, &v, sub);
	}
	if (v.n == 0 || ((CyClause *) v.items[v.n - 1])->kind != CYC_RETURN)
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "CALL { } must end with RETURN");
	Expect(ps, CYT_RBRACE, "'}' to close CALL (UNION inside CALL { } is not supported)");
	ps->depth--;
	c->nsub = v.n;
	c->sub = (CyClause **) v.items;
	return c;
}

/* FOREACH (x IN list | updating clauses); "FOREACH" was consumed. */
static CyClause *
ParseForeach(ParseState *ps, int loc)
{
	CyClause   *c = MakeClause(ps, CYC_FOREACH, loc);
	PtrVec		v = {0};

	Expect(ps, CYT_LPAREN, "'('");
	EnterNesting(ps);
	c->alias = ParseInBinding(ps, &c->unwind);
	Expect(ps, CYT_PIPE, "'|'");
	for (;;)
	{
		const CyToken *at = Cur(ps);
		CyClause   *sub = ParseClause(ps);

		if (sub == NULL)
			break;
		if (!IsUpdating(sub->kind))
			Fail(ps, CY_ERR_SYNTAX, at,
				 "only CREATE, MERGE, SET, REMOVE, DELETE and FOREACH are allowed in FOREACH");
		VecPush(ps, &v, sub);
	}
	if (v.n == 0)
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected an updating clause in FOREACH");
	Expect(ps, CYT_RPAREN, "')' to close FOREACH");
	ps->depth--;
	c->nsub = v.n;
	c->sub = (CyClause **) v.items;
	return c;
}

static CyClause *
ParseClause(ParseState *ps)
{
	const CyToken *t = Cur(ps);
	int			loc = t->start;
	CyClause   *c;

	if (t->type != CYT_IDENT)
		return NULL;
	if (IsKw(t, "OPTIONAL") && IsKw(Peek(ps, 1), "MATCH"))
	{
		ps->pos += 2;
		return ParseMatch(ps, loc, true);
	}
	if (AcceptKw(ps, "MATCH"))
		return ParseMatch(ps, loc, false);
	if (AcceptKw(ps, "UNWIND"))
	{
		c = MakeClause(ps, CYC_UNWIND, loc);
		c->unwind = ParseExpr(ps);
		ExpectKw(ps, "AS");
		c->alias = ExpectVar(ps, "a variable after AS");
		return c;
	}
	if (AcceptKw(ps, "CREATE"))
	{
		c = MakeClause(ps, CYC_CREATE, loc);
		ParsePattern(ps, c);
		return c;
	}
	if (AcceptKw(ps, "MERGE"))
		return ParseMerge(ps, loc);
	if (AcceptKw(ps, "SET") || AcceptKw(ps, "REMOVE"))
	{
		PtrVec		v = {0};
		bool		remove = IsKw(t, "REMOVE");

		c = MakeClause(ps, remove ? CYC_REMOVE : CYC_SET, loc);
		ParseSetItems(ps, &v, remove);
		c->nsets = v.n;
		c->sets = (CySetItem **) v.items;
		return c;
	}
	if (IsKw(t, "DETACH") && IsKw(Peek(ps, 1), "DELETE"))
	{
		ps->pos += 2;
		return ParseDelete(ps, loc, true);
	}
	if (AcceptKw(ps, "DELETE"))
		return ParseDelete(ps, loc, false);
	if (AcceptKw(ps, "FOREACH"))
		return ParseForeach(ps, loc);
	if (IsKw(t, "CALL") && Peek(ps, 1)->type == CYT_LBRACE)
	{
		ps->pos += 2;
		return ParseCallSubquery(ps, loc);
	}
	if (AcceptKw(ps, "WITH"))
		return ParseProjection(ps, CYC_WITH, loc);
	if (AcceptKw(ps, "RETURN"))
		return ParseProjection(ps, CYC_RETURN, loc);
	return NULL;
}


static CySingleQuery *
ParseSingleQuery(ParseState *ps)
{
	CySingleQuery *q = Alloc(ps, sizeof(CySingleQuery));
	PtrVec		v = {0};

	q->loc = Cur(ps)->start;
	for (;;)
	{
		const CyToken *at = Cur(ps);
		CyClause   *c = ParseClause(ps);

		if (c == NULL)
			break;
		if (v.n > 0 && ((CyClause *) v.items[v.n - 1])->kind == CYC_RETURN)
			Fail(ps, CY_ERR_SYNTAX, at, "RETURN can only be the last clause");
		VecPush(ps, &v, c);
	}
	if (v.n == 0 || (Cur(ps)->type != CYT_EOF && Cur(ps)->type != CYT_SEMICOLON &&
					 !IsKw(Cur(ps), "UNION")))
		Fail(ps, CY_ERR_SYNTAX, Cur(ps),
			 "expected a clause such as MATCH, CREATE, MERGE, UNWIND, WITH or RETURN");
	if (((CyClause *) v.items[v.n - 1])->kind != CYC_RETURN &&
		!IsUpdating(((CyClause *) v.items[v.n - 1])->kind))
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "a query must end with RETURN or an updating clause");
	q->nclauses = v.n;
	q->clauses = (CyClause **) v.items;
	return q;
}

static CyQuery *
ParseQuery(ParseState *ps)
{
	CyQuery    *q = Alloc(ps, sizeof(CyQuery));
	PtrVec		parts = {0};
	PtrVec		alls = {0};

	VecPush(ps, &parts, ParseSingleQuery(ps));
	while (AcceptKw(ps, "UNION"))
	{
		VecPush(ps, &alls, AcceptKw(ps, "ALL") ? (void *) 1 : NULL);
		VecPush(ps, &parts, ParseSingleQuery(ps));
	}
	Accept(ps, CYT_SEMICOLON);
	if (Cur(ps)->type != CYT_EOF)
		Fail(ps, CY_ERR_SYNTAX, Cur(ps), "expected a clause, UNION or the end of the query");
	q->nparts = parts.n;
	q->parts = (CySingleQuery **) parts.items;
	q->union_all = Alloc(ps, sizeof(bool) * (size_t) (parts.n));
	for (int i = 0; i < alls.n; i++)
		q->union_all[i] = alls.items[i] != NULL;
	return q;
}

/* ---------------------------------------------------------------------
 * Entry point
 * ---------------------------------------------------------------------
 */
CyQuery *
cy_parse(const char *text, size_t len, CyAllocFn alloc, void *alloc_ctx,
		 CyParseError *err)
{
	ParseState	ps = {.text = text, .len = len, .alloc = alloc, .ctx = alloc_ctx,
					  .err = err};
	CyQuery    *volatile result = NULL;

	memset(err, 0, sizeof(*err));
	if (!cy_lex(text, len, alloc, alloc_ctx, &ps.toks, err))
	{
		cy_position(text, len, err->offset, &err->line, &err->column);
		return NULL;
	}
	if (setjmp(ps.fail) == 0)
		result = ParseQuery(&ps);
	else
	{
		if (err->at_end)
			err->offset = (int) len;
		cy_position(text, len, err->offset, &err->line, &err->column);
		return NULL;
	}
	return result;
}
