/*
 * graph_value.h — Cypher values decoded from jsonb, shared by the helpers
 * the translated SQL calls: graph_funcs.c (comparison, arithmetic,
 * subscripts, properties, aggregates) and graph_scalar.c (the scalar
 * function library and vectors).  Internal to src/graph.
 */
#ifndef RV_GRAPH_VALUE_H
#define RV_GRAPH_VALUE_H

#include "fmgr.h"
#include "utils/jsonb.h"

#include "graph/graph.h"

typedef enum CvType
{
	CV_NULL,
	CV_BOOL,
	CV_INT,
	CV_FLOAT,
	CV_STRING,
	CV_LIST,
	CV_MAP
} CvType;

typedef struct CyValue
{
	CvType		type;
	bool		b;
	int64		i;
	double		f;
	const char *s;				/* not NUL-terminated */
	int			slen;
	JsonbContainer *c;			/* CV_LIST, CV_MAP */
	JsonbValue	jv;				/* the value as a JsonbValue (scalar or binary) */
} CyValue;

/* A list builder over pushJsonbValue. */
typedef struct RvgListBuilder
{
	JsonbParseState *state;
	JsonbValue *res;
} RvgListBuilder;

static inline bool
RvgIsNumber(const CyValue *v)
{
	return v->type == CV_INT || v->type == CV_FLOAT;
}

static inline double
RvgAsDouble(const CyValue *v)
{
	return v->type == CV_INT ? (double) v->i : v->f;
}

/* graph_funcs.c */
extern void RvgCheckArgs(FunctionCallInfo fcinfo, const char *name, int nargs,
						 const Oid *types);
extern void RvgDecode(Jsonb *jb, CyValue *v);
extern bool RvgArgValue(FunctionCallInfo fcinfo, const char *name, CyValue *v);
extern int	RvgListLength(const CyValue *v);
extern void RvgListElem(const CyValue *list, int i, CyValue *out);
extern Jsonb *RvgStringJsonb(const char *s, int len);
extern Jsonb *RvgBoolJsonb(bool b);
extern void RvgListBegin(RvgListBuilder *lb);
extern void RvgListPush(RvgListBuilder *lb, JsonbValue *jv);
extern Jsonb *RvgListEnd(RvgListBuilder *lb);
extern char *RvgWithArticle(CvType t);
extern int	RvgSplitLoc(int32 raw, int *loc);
extern void RvgLocCallback(void *arg);
extern void RvgIntOverflow(void) pg_attribute_noreturn();
extern char *RvgConcatText(const CyValue *v, int *len);
extern bool RvgIsPathValue(JsonbContainer *c);
extern const char *RvgCvTypeName(CvType t);
extern Jsonb *RvgArgJsonb(FunctionCallInfo fcinfo, int n);
extern int	RvgCharLength(const CyValue *v);

/* Checks a helper's arguments against the types it was written for. */
#define CHECK_ARGS(name, ...) \
	RvgCheckArgs(fcinfo, (name), lengthof(((const Oid[]) {__VA_ARGS__})), \
				 (const Oid[]) {__VA_ARGS__})

#endif							/* RV_GRAPH_VALUE_H */
