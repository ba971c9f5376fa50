/*
 * cypher_ast.h — the Cypher abstract syntax tree and the pure-C parser API.
 *
 * This header and cypher_lex.c / cypher_parse.c / cypher_ast.c include no
 * PostgreSQL header, so the Check suite (test/unit/test_cypher.c) and the
 * fuzzer (test/unit/fuzz_cypher.c) drive the parser without a server.
 *
 * NOTES
 *	Memory: every node is taken from one allocator the caller supplies
 *	(CyAllocFn: zeroed memory, or NULL when out of memory).  The parser never
 *	frees; the server passes a palloc wrapper so the tree goes away with the
 *	memory context, the tests pass a malloc arena they drop in one go.
 *
 *	Errors: cy_parse returns NULL and fills a CyParseError with the byte
 *	offset, the line and column (both 1-based, columns counted in UTF-8
 *	characters), the offending token's text and what was expected.  The
 *	parser holds no resources of its own, so an allocator that does not
 *	return (palloc raising an error) is safe.
 *
 *	Bounds: nesting deeper than CY_MAX_DEPTH (parentheses, lists, maps,
 *	operators) is reported as CY_ERR_DEPTH rather than risking the stack;
 *	integer literals beyond int64 are CY_ERR_RANGE.
 */
#ifndef RV_CYPHER_AST_H
#define RV_CYPHER_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CY_MAX_DEPTH 200		/* parser recursion: (), [], {} nesting */
#define CY_MAX_HEIGHT 1000		/* expression tree height (a+b+c+... chains) */
#define CY_ERROR_TOKEN_LEN 64
#define CY_ERROR_MESSAGE_LEN 160

/* Returns size bytes of zeroed memory, or NULL. */
typedef void *(*CyAllocFn) (void *ctx, size_t size);

typedef enum CyErrorCode
{
	CY_OK = 0,
	CY_ERR_SYNTAX,				/* unexpected token or character */
	CY_ERR_RANGE,				/* integer literal does not fit in int64 */
	CY_ERR_DEPTH,				/* nested more deeply than CY_MAX_DEPTH */
	CY_ERR_NOMEM				/* the allocator returned NULL */
} CyErrorCode;

typedef struct CyParseError
{
	CyErrorCode code;
	int			offset;			/* byte offset of the token (input length at end) */
	int			line;			/* 1-based */
	int			column;			/* 1-based, in characters */
	bool		at_end;			/* the error is at the end of the input */
	char		token[CY_ERROR_TOKEN_LEN];	/* the token's text, maybe cut */
	char		message[CY_ERROR_MESSAGE_LEN];	/* e.g. "expected ')'" */
} CyParseError;

/* ---------------------------------------------------------------------
 * Expressions
 * ---------------------------------------------------------------------
 */
typedef enum CyExprKind
{
	CYX_NULL,
	CYX_BOOL,					/* bval */
	CYX_INT,					/* ival */
	CYX_FLOAT,					/* fval; str = the literal as written */
	CYX_STRING,					/* str (NUL-terminated, unescaped) */
	CYX_PARAM,					/* str = name without '$' */
	CYX_VAR,					/* str = variable name */
	CYX_PROP,					/* a.str */
	CYX_INDEX,					/* a[b] */
	CYX_SLICE,					/* a[b..c], b and/or c may be NULL */
	CYX_LIST,					/* [args...] */
	CYX_MAP,					/* {keys[i]: args[i]} */
	CYX_UNARY,					/* op a */
	CYX_BINARY,					/* a op b */
	CYX_ISNULL,					/* a IS NULL, or IS NOT NULL when bval */
	CYX_FUNC,					/* str(args...); bval = DISTINCT, star = (*) */
	CYX_CASE,					/* CASE [a] WHEN args[2i] THEN args[2i+1] ... ELSE c */
	CYX_LISTCOMP,				/* [str IN a WHERE b | c] */
	CYX_QUANT,					/* op(str IN a WHERE b): all/any/none/single */
	CYX_PATTERN,				/* a path used as a predicate (path), or EXISTS { path WHERE b } */
	CYX_HASLABEL,				/* a:labels */
	CYX_MAPPROJ,				/* a{...}: keys/args, see CyMapProj notes */
	CYX_PATCOMP,				/* [path WHERE b | c] (pattern comprehension) */
	CYX_REDUCE,					/* reduce(str = a, str2 IN b | c) */
	CYX_COUNTSUB				/* COUNT { path WHERE b } */
} CyExprKind;

typedef enum CyOp
{
	CYO_NONE,
	/* boolean */
	CYO_OR, CYO_XOR, CYO_AND, CYO_NOT,
	/* comparison */
	CYO_EQ, CYO_NE, CYO_LT, CYO_LE, CYO_GT, CYO_GE,
	/* string and list predicates */
	CYO_STARTS, CYO_ENDS, CYO_CONTAINS, CYO_IN, CYO_REGEX,
	/* arithmetic */
	CYO_ADD, CYO_SUB, CYO_MUL, CYO_DIV, CYO_MOD, CYO_POW, CYO_NEG, CYO_PLUS,
	/* quantifiers (CYX_QUANT) */
	CYO_ALL, CYO_ANY, CYO_NONE_OF, CYO_SINGLE
} CyOp;

struct CyPath;

typedef struct CyExpr
{
	CyExprKind	kind;
	CyOp		op;
	int			loc;			/* byte offset of the first token */
	int			end;			/* byte offset just past the last token */
	int			height;			/* 1 for a leaf; at most CY_MAX_HEIGHT */
	bool		bval;
	bool		star;			/* count(*) */
	int64_t		ival;
	double		fval;
	const char *str;
	const char *str2;			/* CYX_REDUCE: the element variable */
	struct CyExpr *a;
	struct CyExpr *b;
	struct CyExpr *c;
	int			nargs;
	struct CyExpr **args;
	const char **keys;			/* CYX_MAP / CYX_MAPPROJ: nargs keys */
	int			nlabels;		/* CYX_HASLABEL */
	const char **labels;
	struct CyPath *path;		/* CYX_PATTERN */
} CyExpr;

/*
 * CYX_MAPPROJ: a is the variable; for item i, keys[i] is the output key and
 * args[i] is the value, or NULL for ".key" (property of a) — keys[i] "*"
 * with args[i] NULL is ".*" (all properties).
 */

/* ---------------------------------------------------------------------
 * Patterns
 * ---------------------------------------------------------------------
 */
typedef enum CyDirection
{
	CY_DIR_BOTH,				/* -[]- or <-[]-> */
	CY_DIR_RIGHT,				/* -[]-> */
	CY_DIR_LEFT					/* <-[]- */
} CyDirection;

typedef struct CyNodePat
{
	int			loc;
	const char *var;			/* NULL when anonymous */
	int			nlabels;
	const char **labels;
	CyExpr	   *props;			/* CYX_MAP or CYX_PARAM, or NULL */
} CyNodePat;

#define CY_HOPS_UNBOUNDED (-1)

typedef struct CyRelPat
{
	int			loc;
	const char *var;
	int			ntypes;
	const char **types;			/* alternatives: [:A|B] */
	CyExpr	   *props;
	CyDirection dir;
	bool		varlen;			/* has '*' */
	int			minhops;		/* varlen only; default 1 */
	int			maxhops;		/* varlen only; CY_HOPS_UNBOUNDED by default */
} CyRelPat;

typedef enum CyShortest
{
	CY_SHORTEST_NONE,
	CY_SHORTEST_ONE,			/* shortestPath(...) */
	CY_SHORTEST_ALL				/* allShortestPaths(...) */
} CyShortest;

typedef struct CyPath
{
	int			loc;
	const char *var;			/* p = ... */
	CyShortest	shortest;
	int			nrels;
	CyNodePat **nodes;			/* nrels + 1 */
	CyRelPat  **rels;
} CyPath;

/* ---------------------------------------------------------------------
 * Clauses
 * ---------------------------------------------------------------------
 */
typedef enum CyClauseKind
{
	CYC_MATCH,
	CYC_UNWIND,
	CYC_CREATE,
	CYC_MERGE,
	CYC_SET,
	CYC_REMOVE,
	CYC_DELETE,
	CYC_WITH,
	CYC_RETURN,
	CYC_FOREACH,				/* FOREACH (alias IN unwind | sub...) */
	CYC_CALL					/* CALL { sub... } (a reading subquery) */
} CyClauseKind;

typedef enum CySetKind
{
	CYS_PROP,					/* SET a.key = value / REMOVE a.key */
	CYS_ASSIGN,					/* SET a = map */
	CYS_MERGE,					/* SET a += map */
	CYS_LABELS					/* SET a:L / REMOVE a:L */
} CySetKind;

typedef struct CySetItem
{
	CySetKind	kind;
	int			loc;
	const char *var;			/* the variable set */
	const char *key;			/* CYS_PROP */
	CyExpr	   *target;			/* CYS_PROP: the full a.key expression */
	int			nlabels;
	const char **labels;
	CyExpr	   *value;			/* NULL for REMOVE */
} CySetItem;

typedef struct CyProjItem
{
	CyExpr	   *expr;
	const char *alias;			/* AS name, or NULL */
	const char *text;			/* the expression as written, for the default name */
} CyProjItem;

typedef struct CySortItem
{
	CyExpr	   *expr;
	bool		desc;
} CySortItem;

typedef struct CyClause
{
	CyClauseKind kind;
	int			loc;
	bool		optional;		/* OPTIONAL MATCH */
	bool		detach;			/* DETACH DELETE */
	bool		distinct;		/* WITH/RETURN DISTINCT */
	bool		star;			/* WITH * / RETURN * */
	/* MATCH, CREATE, MERGE (one path) */
	int			npaths;
	CyPath	  **paths;
	CyExpr	   *where;			/* MATCH, WITH */
	/* DELETE */
	int			nexprs;
	CyExpr	  **exprs;
	/* SET, REMOVE; MERGE: ON CREATE items then ON MATCH items */
	int			nsets;
	CySetItem **sets;
	int			noncreate;		/* MERGE: sets[0..noncreate) are ON CREATE */
	/* WITH, RETURN */
	int			nitems;
	CyProjItem **items;
	int			norder;
	CySortItem **order;
	CyExpr	   *skip;
	CyExpr	   *limit;
	/* UNWIND expr AS var; FOREACH (var IN expr | ...) */
	CyExpr	   *unwind;
	const char *alias;
	/* FOREACH: its updating clauses; CALL { }: its clauses */
	int			nsub;
	struct CyClause **sub;
} CyClause;

typedef struct CySingleQuery
{
	int			loc;
	int			nclauses;
	CyClause  **clauses;
} CySingleQuery;

typedef struct CyQuery
{
	int			nparts;
	CySingleQuery **parts;
	bool	   *union_all;		/* union_all[i]: part i+1 joined by UNION ALL */
} CyQuery;

/* ---------------------------------------------------------------------
 * API (cypher_parse.c, cypher_ast.c)
 * ---------------------------------------------------------------------
 */
extern CyQuery *cy_parse(const char *text, size_t len, CyAllocFn alloc,
						 void *alloc_ctx, CyParseError *err);
extern void cy_position(const char *text, size_t len, int offset,
						int *line, int *column);
extern bool cy_is_aggregate(const char *funcname);
extern bool cy_expr_has_aggregate(const CyExpr *e);
extern const char *cy_clause_name(CyClauseKind kind);
extern int	cy_name_eq(const char *a, const char *b);
extern char *cy_dump(const CyQuery *q, char *buf, size_t size);

#endif							/* RV_CYPHER_AST_H */
