/*
 * graph.h — the property graph subsystem's server-side interface.
 *
 * Files (every one in src/graph):
 *	graph.h           this interface
 *	cypher_ast.h      the parsed query (CyQuery), shared by the pure C layers
 *	cypher_lex.h      the lexer's tokens
 *	cypher_lex.c, cypher_parse.c, cypher_ast.c   pure C: text -> CyQuery
 *	graph_catalog.c   graph tables: create/drop/list, SQL-level node/edge/hyperedge
 *	                  insertion, vector indexes on node properties
 *	graph_acl.c       per-graph privileges: grants, the policies' filter,
 *	                  running catalog changes as the extension's owner
 *	cypher_plan.h     the translator's and executor's shared structures
 *	cypher_plan.c     CyQuery -> SQL text, one statement per step: reading
 *	                  clauses (MATCH, WITH, UNWIND, RETURN, CALL), queries
 *	cypher_plan_write.c  the updating clauses' steps (CREATE, MERGE, SET,
 *	                  REMOVE, DELETE, FOREACH)
 *	cypher_expr.c     Cypher expressions -> SQL expressions
 *	cypher_cache.c    per-backend cache of the final statement's plan
 *	cypher_exec.c     runs the steps through SPI; updating clauses; the
 *	                  ruvector_cypher* entry points
 *	graph_value.h     Cypher values decoded from jsonb (graph_funcs.c,
 *	                  graph_scalar.c)
 *	graph_funcs.c     Cypher's value semantics on jsonb (comparison,
 *	                  arithmetic, subscripts, properties, aggregates) called
 *	                  from the translated SQL
 *	graph_scalar.c    the scalar function library (ruvector_cy_fn) and
 *	                  vectors, computed with src/distance/'s kernels
 *	graph_path.c      shortestPath / allShortestPaths: breadth-first search
 *
 * Values: every Cypher value is jsonb (SQL NULL is Cypher null).  A node is
 * {"id", "label", "properties"}, a relationship {"id", "label", "start_id",
 * "end_id", "properties"} and a path an array alternating nodes and
 * relationships: the shapes Apache AGE prints, so results compare directly.
 * Integers are jsonb numbers without a fractional part; floats always carry
 * one (2.0), so the distinction survives a round trip through jsonb.
 */
#ifndef RV_GRAPH_H
#define RV_GRAPH_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "graph/cypher_ast.h"

/*
 * Where an arithmetic operator or function call is in the Cypher text
 * travels in the operator / function id argument of ruvector_cy_arith and
 * ruvector_cy_fn: code + (n + 1) << RVG_LOC_SHIFT, n the number of the
 * position in the plan's table of positions (RvgPlan.locs; 0 above the
 * code: no position, as in a call by hand), so a runtime error ('a' - 1)
 * points at its place in the query.  A number rather than the offset keeps
 * the SQL of queries that differ only in their constants identical, so
 * they share a cached plan.
 */
#define RVG_LOC_SHIFT 10
#define RVG_LOC_CODE(raw) ((raw) & ((1 << RVG_LOC_SHIFT) - 1))
#define RVG_LOC_OFFSET(raw) (((raw) >> RVG_LOC_SHIFT) - 1)
#define RVG_LOC_MAX ((PG_INT32_MAX >> RVG_LOC_SHIFT) - 1)
#define RVG_WITH_LOC(code, loc) \
	(((loc) >= 0 && (loc) < RVG_LOC_MAX) ? (int) (code) | (((loc) + 1) << RVG_LOC_SHIFT) : (int) (code))

/* Arithmetic operators of ruvector_cy_arith(op, a, b). */
typedef enum RvgArithOp
{
	RVG_ADD = 1,
	RVG_SUB,
	RVG_MUL,
	RVG_DIV,
	RVG_MOD,
	RVG_POW
} RvgArithOp;

/* Scalar functions of ruvector_cy_fn(id, VARIADIC args). */
typedef enum RvgFunc
{
	RVG_FN_NONE = 0,
	RVG_FN_SIZE, RVG_FN_LENGTH, RVG_FN_HEAD, RVG_FN_LAST, RVG_FN_TAIL,
	RVG_FN_RANGE, RVG_FN_REVERSE, RVG_FN_KEYS,
	RVG_FN_TOSTRING, RVG_FN_TOINTEGER, RVG_FN_TOFLOAT, RVG_FN_TOBOOLEAN,
	RVG_FN_ABS, RVG_FN_CEIL, RVG_FN_FLOOR, RVG_FN_ROUND, RVG_FN_SIGN, RVG_FN_SQRT,
	RVG_FN_EXP, RVG_FN_LOG, RVG_FN_LOG10, RVG_FN_SIN, RVG_FN_COS, RVG_FN_TAN,
	RVG_FN_ASIN, RVG_FN_ACOS, RVG_FN_ATAN, RVG_FN_ATAN2, RVG_FN_PI, RVG_FN_E,
	RVG_FN_TOLOWER, RVG_FN_TOUPPER, RVG_FN_TRIM, RVG_FN_LTRIM, RVG_FN_RTRIM,
	RVG_FN_REPLACE, RVG_FN_SUBSTRING, RVG_FN_LEFT, RVG_FN_RIGHT, RVG_FN_SPLIT,
	RVG_FN_VDIST_L2, RVG_FN_VDIST_COSINE, RVG_FN_VDIST_IP, RVG_FN_VDIST_L1,
	RVG_FN_VSIM_COSINE, RVG_FN_VSIM_EUCLIDEAN, RVG_FN_VNORM,
	RVG_FN_TYPEOF, RVG_FN_ISEMPTY, RVG_FN_DEGREES, RVG_FN_RADIANS
} RvgFunc;

/* Direction codes of ruvector_cy_shortest; the values are the SQL contract. */
#define RVG_DIR_BOTH	0
#define RVG_DIR_OUT		1
#define RVG_DIR_IN		2

/* A vector index on a node property (ruvector_graph_vector_index). */
typedef struct RvgVectorIndex
{
	char	   *label;
	char	   *property;
	char	   *metric;			/* l2, cosine, ip, l1 */
	int			dimensions;
} RvgVectorIndex;

/* What a query needs to know about its graph. */
typedef struct RvgGraph
{
	int32		graph_id;
	char	   *name;
	const char *schema;			/* the extension's schema, quoted */
	List	   *vector_indexes; /* RvgVectorIndex *, existing indexes only */
} RvgGraph;

/* cypher_cache.c: the GUC ruvector.cypher_plan_cache */
extern bool rvg_plan_cache_enabled;
extern void RvGraphInit(void);

/* graph_catalog.c */
/* A statement prepared once per backend and kept, for one key (the schema). */
typedef struct RvgKeptPlan
{
	struct _SPI_plan *plan;
	char	   *key;
} RvgKeptPlan;
extern struct _SPI_plan *RvgKeptPlanFor(const RvgKeptPlan *kp, const char *key);
extern struct _SPI_plan *RvgKeepPlan(RvgKeptPlan *kp, const char *key,
									 struct _SPI_plan *plan, const char *what);
extern const char *RvgSchema(void);
extern int	RvgPinSearchPath(void);
extern void RvgUnpinSearchPath(int level);
extern int	RvgSpiConnect(void);
extern Oid	RvgExtensionOwner(void);
extern bool RvgLegacySchema(void);
extern int32 RvgGraphIdAsOwner(const char *name, Oid *owner);
extern char *RvgRequireText(FunctionCallInfo fcinfo, int arg, const char *what);

/* graph_acl.c: per-graph privileges */
typedef struct RvgOwnerSave
{
	Oid			user;
	int			sec;
} RvgOwnerSave;
extern void RvgAsOwnerBegin(RvgOwnerSave *save);
extern void RvgAsOwnerEnd(RvgOwnerSave *save);
extern void RvgCheckGraphPrivilege(int32 gid, const char *name, bool write);

extern void RvgSpiFinish(int level);
extern RvgGraph *RvgLookupGraph(const char *name);
extern void RvgLockGraphForWrite(const RvgGraph *g);
extern Jsonb *RvgCleanProperties(Jsonb *props, const char *what);

/* graph_scalar.c */
extern RvgFunc RvgLookupFunction(const char *name, int *minargs, int *maxargs);

/* The vector metrics of vector.distance and of graph vector indexes. */
typedef struct RvgMetric
{
	const char *name;			/* l2, cosine, ip, l1 */
	RvgFunc		fn;				/* the distance function */
	const char *op;				/* the vector type's operator */
	const char *opclass;		/* the operator class of an index */
} RvgMetric;
extern const RvgMetric *RvgLookupMetric(const char *name);

/* graph_funcs.c */
extern bool RvgNextMapEntry(JsonbIterator **it, JsonbValue *key, JsonbValue *value);
extern bool RvgJsonbIsFloat(const JsonbValue *v);
extern Jsonb *RvgFloatJsonb(double d);
extern Jsonb *RvgIntJsonb(int64 i);
extern char *RvgJsonbScalarText(Jsonb *jb, bool *is_string);

/* cypher_plan.c: see the file header for the step model */
typedef enum RvgStepKind
{
	RVG_STEP_READ,				/* run sql; the last step returns the rows */
	RVG_STEP_CREATE,
	RVG_STEP_MERGE,
	RVG_STEP_SET,
	RVG_STEP_DELETE,
	RVG_STEP_PUSH,				/* FOREACH: keep the rows so far */
	RVG_STEP_POP				/* end of FOREACH: back to the kept rows (no sql) */
} RvgStepKind;

typedef struct RvgPlan RvgPlan;
typedef struct RvgStep RvgStep;

extern RvgPlan *RvgPlanQuery(RvgGraph *graph, CyQuery *query, const char *text,
							 Jsonb *params);
extern char *RvgPlanExplain(RvgPlan *plan);

#endif							/* RV_GRAPH_H */
