/*
 * cypher_plan.h — internal structures shared by the Cypher translator
 * (cypher_plan.c, cypher_plan_write.c, cypher_expr.c) and executor
 * (cypher_exec.c).
 *
 * A query becomes a list of steps.  Each step has one SQL statement; a
 * reading step's statement returns the query's rows, an updating step's
 * statement computes everything its clause needs (the variables carried
 * so far plus the values it writes), then cypher_exec.c applies the clause
 * row by row or in batches and hands the carried columns, plus the ids it
 * created, to the next step as arrays ($1, $2, ... in the next statement).
 *
 * Carried column types: node and relationship variables travel as their
 * id (bigint), everything else as jsonb; paths travel as two jsonb lists of
 * ids.  The next statement joins the ids back to the graph tables, so it
 * sees what the update did.
 */
#ifndef RV_CYPHER_PLAN_H
#define RV_CYPHER_PLAN_H

#include "graph/graph.h"

/* What a variable is bound to in the SQL being built. */
typedef enum RvgVarKind
{
	VK_NODE,					/* id, label, props */
	VK_EDGE,					/* id, label (type), props, start, end */
	VK_VALUE,					/* value: jsonb */
	VK_PATH,					/* value: node ids bigint[], edges: edge ids bigint[] */
	VK_EDGES					/* value: edge ids bigint[] (a variable-length relationship) */
} RvgVarKind;

typedef struct RvgVar
{
	const char *name;			/* Cypher name; internal ones start with '\001' */
	RvgVarKind	kind;
	char	   *id;
	char	   *label;
	char	   *labels;			/* VK_NODE: the row's further labels (text[]), or
								 * NULL: looked up by id (see RvgLabelCond) */
	char	   *props;
	char	   *start;
	char	   *end;
	char	   *value;
	char	   *edges;
	char	   *json;			/* VK_PATH: a direct jsonb expression, or NULL */
	const char *known_label;	/* VK_NODE: the label its pattern requires, or NULL */
	bool		nullable;		/* may be null (OPTIONAL MATCH, carried rows) */
	bool		outer;			/* bound before the clause being translated */
	int			scope_level;	/* >0 for list-comprehension variables */
} RvgVar;

#define RVG_HIDDEN_PREFIX '\001'
#define RVG_ORD_VAR "\001ord"
#define RVG_MERGED_VAR "\001created"
/* brackets the number of a property-map constant in SQL being built */
#define RVG_CONST_MARK '\002'

/* One SELECT under construction. */
typedef struct RvgSel
{
	StringInfoData from;		/* comma-separated FROM items */
	List	   *conds;			/* char * conjuncts */
	List	   *vars;			/* RvgVar *, in binding order */
	List	   *clause_edges;	/* ClauseEdge * of the MATCH being built */
	List	   *clause_paths;	/* edge id array exprs of var-length parts */
	bool		has_input;		/* FROM starts with the previous step's rows */
} RvgSel;

/* Column of a step's statement. */
typedef enum RvgColType
{
	COL_ID,						/* bigint */
	COL_JSONB
} RvgColType;

/* A variable carried from one step to the next (1-based columns). */
typedef struct RvgCarryVar
{
	const char *name;
	RvgVarKind	kind;
	int			col;			/* id or value column */
	int			col2;			/* VK_PATH: edge ids column */
} RvgCarryVar;

/* CREATE/MERGE: one node position of a pattern. */
typedef struct RvgWNode
{
	const char *var;
	int			bound_col;		/* carried id column, or 0 when created */
	const char *label;			/* the first label, or "" */
	const char *xlabels;		/* the further labels as a jsonb array text, or NULL */
	int			nlabels;		/* all labels, deduplicated */
	const char **labels;
	int			props_col;		/* column with the property map, or 0 */
	int			props_param;	/* MERGE: parameter number of the map, or 0 */
	int			out_col;		/* output column of a new named node, or 0 */
} RvgWNode;

/* CREATE/MERGE: one relationship of a pattern. */
typedef struct RvgWEdge
{
	const char *var;
	const char *type;
	int			props_col;
	int			from;			/* node slot indexes */
	int			to;
	bool		undirected;		/* MERGE: either direction matches */
	int			out_col;
} RvgWEdge;

typedef struct RvgWPath
{
	const char *var;
	int			nnodes;
	int		   *nodes;			/* node slots in path order */
	int			nedges;
	int		   *edges;			/* edge indexes in path order */
	int			out_nodes;		/* output columns (jsonb lists of ids) */
	int			out_edges;
} RvgWPath;

typedef struct RvgWSetItem
{
	CySetKind	kind;
	bool		remove;
	bool		edge;			/* the target is a relationship */
	bool		dynamic;		/* the target is a value holding a node or relationship
								 * (FOREACH (n IN nodes(p) | SET n.x = 1)): target_col is
								 * jsonb, id and kind are read per row */
	int			target_col;		/* carried id column */
	const char *key;
	int			value_col;		/* 0 for REMOVE */
	int			nlabels;
	const char **labels;
	int			when_col;		/* MERGE ON CREATE/ON MATCH: flag column, or 0 */
	bool		when_created;
	int			loc;
} RvgWSetItem;

typedef struct RvgWDelete
{
	int			col;
	RvgVarKind	kind;			/* VK_NODE/VK_EDGE: id column; else jsonb */
	int			col2;			/* VK_PATH: edge ids */
	int			loc;
	/* a deleted node or relationship variable: its value before the delete */
	int			value_col;		/* statement column, or 0 */
	int			out_col;		/* output column that carries it on */
} RvgWDelete;

struct RvgStep
{
	RvgStepKind kind;
	char	   *sql;
	int			ncols;
	RvgColType *coltypes;		/* ncols */
	int			ninput;			/* input arrays the statement takes */
	RvgColType *intypes;
	int			ncarry;			/* leading columns carried to the next step */
	int			nout;			/* columns of the rows handed on */
	RvgColType *outtypes;
	/* the final reading step */
	char	  **names;			/* ncols result names */
	/*
	 * NULL, or for each column the property key it reads (RETURN n.key: the
	 * column is n's properties object and the executor takes the key's value
	 * from it directly), NULL for a column that is the value itself
	 */
	char	  **keys;
	/* CREATE / MERGE */
	int			nwnodes;
	RvgWNode   *wnodes;
	int			nwedges;
	RvgWEdge   *wedges;
	int			nwpaths;
	RvgWPath   *wpaths;
	char	   *merge_sql;		/* MERGE: finds the pattern; $n are ids and maps */
	int			merge_nparams;
	RvgColType *merge_paramtypes;
	int		   *merge_param_cols;	/* carried column of each parameter */
	int			merge_flag_col; /* output column of the created flag */
	/* SET / REMOVE */
	int			nsets;
	RvgWSetItem *sets;
	/* DELETE */
	bool		detach;
	int			ndeletes;
	RvgWDelete *deletes;
	int			loc;
	/*
	 * The final reading step also in a form whose property-map constants
	 * are parameters ($ninput+1 ... as jsonb), so that queries differing
	 * only in those values share a cached plan (cypher_cache.c).
	 */
	char	   *param_sql;
	int			nconst;
	char	  **consts;			/* nconst jsonb texts */
};

struct RvgPlan
{
	RvgGraph   *graph;
	const char *text;
	List	   *steps;			/* RvgStep * */
	bool		returns_rows;
	List	   *locs;			/* int: text offsets of runtime error positions */
};

/* The translator's state. */
typedef struct RvgPlanner
{
	RvgGraph   *g;
	const char *s;				/* schema, quoted */
	const char *text;			/* the Cypher text, for error positions */
	Jsonb	   *params;
	int			nalias;
	RvgSel	   *sel;
	int			scope_level;
	bool		agg_allowed;
	const char *agg_where;		/* why not, for the error: "in a list comprehension" */
	RvgPlan    *plan;
	/* inputs of the statement being built (from the previous step) */
	int			ninput;
	RvgColType *intypes;
	/* property-map and WHERE-equality constants, marked in the SQL text
	 * (RvgConstMarker) */
	List	   *consts;
	/* "SKIP" / "LIMIT" while translating one: variables are refused */
	const char *no_vars_in;
	/* translating a part of a UNION, whose rows are compared as SQL values */
	bool		in_union;
} RvgPlanner;

/* cypher_plan.c */
extern int	RvgErrPosition(const char *text, int offset);
extern char *RvgAlias(RvgPlanner *P, const char *prefix);
extern char *RvgConstMarker(RvgPlanner *P, const char *json);
extern int	RvgLocNumber(RvgPlanner *P, int offset);
extern RvgVar *RvgFindVar(RvgPlanner *P, const char *name);
extern void RvgCheckUnbound(RvgPlanner *P, const char *name, int loc);
extern void RvgCheckKind(RvgPlanner *P, const RvgVar *v, RvgVarKind want, int loc);
extern char *RvgNodeJson(RvgPlanner *P, RvgVar *v);
extern char *RvgLabelCond(RvgPlanner *P, const char *label, const char *labels,
						  const char *id, const char *want);
extern char *RvgJsonNodeId(RvgPlanner *P, const char *x);
extern char *RvgEdgeJson(RvgPlanner *P, RvgVar *v);
extern char *RvgPathJson(RvgPlanner *P, RvgVar *v);
extern char *RvgEdgeListJson(RvgPlanner *P, const char *ids);
extern char *RvgPatternExists(RvgPlanner *P, CyPath *path, CyExpr *where);
extern char *RvgPatternCount(RvgPlanner *P, CyPath *path, CyExpr *where);
extern char *RvgPatternComprehension(RvgPlanner *P, CyExpr *e);
extern const char *RvgKindName(RvgVarKind k);
extern char *RvgFromWhere(RvgSel *s);
extern void RvgSelFromInput(RvgPlanner *P, List *layout, int ncols, RvgColType *types);
extern void RvgAddUnwind(RvgPlanner *P, CyClause *c);
extern void RvgPlanClauseList(RvgPlanner *P, CySingleQuery *sq, int first, bool final);

/* cypher_plan_write.c: the updating clauses */
extern void RvgPlanCreate(RvgPlanner *P, CyClause *c);
extern void RvgPlanMerge(RvgPlanner *P, CyClause *c);
extern void RvgPlanSetItems(RvgPlanner *P, CySetItem **items, int n, bool remove,
							int when_col, bool when_created, int loc);
extern void RvgPlanDelete(RvgPlanner *P, CyClause *c);
extern void RvgPlanForeach(RvgPlanner *P, CyClause *c);

/* cypher_cache.c */
struct PortalData;
extern char *RvgEvalText(const char *sql);
extern struct PortalData *RvgCachedCursor(const char *sql, int nparams, Oid *types,
										  Datum *values, const char *nulls, void **pin);
extern void RvgCachedCursorRelease(void *pin);

/* cypher_expr.c */
typedef struct RvgAggScope
{
	bool		allowed;
	const char *where;
} RvgAggScope;
extern void RvgNoAggregates(RvgPlanner *P, const char *where, RvgAggScope *saved);
extern void RvgRestoreAggregates(RvgPlanner *P, const RvgAggScope *saved);
extern char *RvgExpr(RvgPlanner *P, CyExpr *e);
extern char *RvgPropsOf(RvgPlanner *P, CyExpr *e, const char **key);
extern char *RvgPred(RvgPlanner *P, CyExpr *e);
extern char *RvgJsonLiteral(const char *json);
extern bool RvgConstJson(RvgPlanner *P, CyExpr *e, StringInfo out);
extern Jsonb *RvgParam(RvgPlanner *P, CyExpr *e);
extern char *RvgOrderKey(RvgPlanner *P, CyExpr *e, bool *is_vector);
extern char *RvgTopLevelPred(RvgPlanner *P, CyExpr *e);

#endif							/* RV_CYPHER_PLAN_H */
