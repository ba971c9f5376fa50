/*
 * graph_funcs.c — Cypher's value semantics on jsonb, for the SQL that
 * cypher_plan.c generates: comparisons that return null across types,
 * arithmetic that keeps integers and floats apart, list/map/string
 * operators, subscripts, properties and min/max/sum aggregates.  The
 * scalar function library and vectors are in graph_scalar.c; both decode
 * values with the helpers here (graph_value.h).
 *
 * NOTES
 *	Null: SQL NULL is Cypher null; a JSON null inside a value (a list element,
 *	a map entry) is null too.  Every function here returns SQL NULL for a
 *	null operand unless Cypher says otherwise (IN, list equality).
 *
 *	Integer or float: a jsonb number is an integer when its scale is zero and
 *	it fits in int64; anything else is a float.  Float results are stored
 *	with at least one decimal (2.0), so the type survives jsonb.  Floats that
 *	jsonb cannot hold (NaN, infinities) are errors.
 *
 *	Type errors (adding a string to a map, a non-boolean WHERE) raise
 *	ERRCODE_DATATYPE_MISMATCH naming the operator and both types.
 *
 *	Untrusted callers: the helpers are meant for generated SQL, but any role
 *	holding ruvector_user can call them by hand with any values.  Every entry
 *	point therefore checks what it is given (RvgCheckArgs: the argument count
 *	and types it was declared with; ruvector_cy_fn: a known function id and
 *	that function's arity; ruvector_cy_arith: a known operator) and raises an
 *	error with an SQLSTATE instead of reading an argument that is not there.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_collation.h"
#include "common/int.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "regex/regex.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/varlena.h"

#include "graph/graph_value.h"
#include "types/types.h"

PG_FUNCTION_INFO_V1(ruvector_cy_lt);
PG_FUNCTION_INFO_V1(ruvector_cy_le);
PG_FUNCTION_INFO_V1(ruvector_cy_gt);
PG_FUNCTION_INFO_V1(ruvector_cy_ge);
PG_FUNCTION_INFO_V1(ruvector_cy_eq);
PG_FUNCTION_INFO_V1(ruvector_cy_in);
PG_FUNCTION_INFO_V1(ruvector_cy_starts);
PG_FUNCTION_INFO_V1(ruvector_cy_ends);
PG_FUNCTION_INFO_V1(ruvector_cy_contains);
PG_FUNCTION_INFO_V1(ruvector_cy_regex);
PG_FUNCTION_INFO_V1(ruvector_cy_bool);
PG_FUNCTION_INFO_V1(ruvector_cy_arith);
PG_FUNCTION_INFO_V1(ruvector_cy_neg);
PG_FUNCTION_INFO_V1(ruvector_cy_index);
PG_FUNCTION_INFO_V1(ruvector_cy_slice);
PG_FUNCTION_INFO_V1(ruvector_cy_float);
PG_FUNCTION_INFO_V1(ruvector_cy_ids);
PG_FUNCTION_INFO_V1(ruvector_cy_smaller);
PG_FUNCTION_INFO_V1(ruvector_cy_larger);
PG_FUNCTION_INFO_V1(ruvector_cy_sum_step);
PG_FUNCTION_INFO_V1(ruvector_cy_prop);
PG_FUNCTION_INFO_V1(ruvector_cy_props);
PG_FUNCTION_INFO_V1(ruvector_cy_aslist);


/* Lists built by range() and friends stay below this many elements. */

/* ---------------------------------------------------------------------
 * Argument checks (see the header: the helpers are callable by hand)
 * ---------------------------------------------------------------------
 */

/*
 * Refuses a call whose argument count or types differ from the declaration
 * the C code was written for (a CREATE FUNCTION pointing at this symbol with
 * another signature).  Types are checked when the call expression is known.
 */
void
RvgCheckArgs(FunctionCallInfo fcinfo, const char *name, int nargs, const Oid *types)
{
	if (PG_NARGS() != nargs)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("%s called with %d arguments, expects %d", name, PG_NARGS(), nargs)));
	for (int i = 0; i < nargs; i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (OidIsValid(t) && t != types[i] && t != UNKNOWNOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("argument %d of %s is of type %s, expects %s", i + 1, name,
							format_type_be(t), format_type_be(types[i]))));
	}
}

/* ---------------------------------------------------------------------
 * Decoded values
 * ---------------------------------------------------------------------
 */
const char *
RvgCvTypeName(CvType t)
{
	switch (t)
	{
		case CV_NULL: return "null";
		case CV_BOOL: return "boolean";
		case CV_INT: return "integer";
		case CV_FLOAT: return "float";
		case CV_STRING: return "string";
		case CV_LIST: return "list";
		case CV_MAP: return "map";
	}
	return "?";
}

/* "a string", "an integer" */
char *
RvgWithArticle(CvType t)
{
	const char *n = RvgCvTypeName(t);

	return psprintf("%s %s", strchr("aeiou", n[0]) ? "an" : "a", n);
}

/* Is a numeric an int64 with scale zero?  Sets *out when it is. */
static bool
NumericAsInt64(Numeric n, int64 *out)
{
	char	   *s;
	char	   *end;
	long long	v;

	if (numeric_is_nan(n) || numeric_is_inf(n))
		return false;
	if (DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) != 0)
		return false;
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64) v;
	return true;
}

/* Is this jsonb number a float (see the file header)? */
bool
RvgJsonbIsFloat(const JsonbValue *v)
{
	int64		dummy;

	return v->type == jbvNumeric && !NumericAsInt64(v->val.numeric, &dummy);
}

/* Decodes a JsonbValue (scalar or jbvBinary) into a CyValue. */
static void
DecodeJbv(const JsonbValue *jv, CyValue *v)
{
	memset(v, 0, sizeof(*v));
	v->jv = *jv;
	switch (jv->type)
	{
		case jbvNull:
			v->type = CV_NULL;
			break;
		case jbvBool:
			v->type = CV_BOOL;
			v->b = jv->val.boolean;
			break;
		case jbvString:
			v->type = CV_STRING;
			v->s = jv->val.string.val;
			v->slen = jv->val.string.len;
			break;
		case jbvNumeric:
			if (NumericAsInt64(jv->val.numeric, &v->i))
				v->type = CV_INT;
			else
			{
				v->type = CV_FLOAT;
				v->f = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														  NumericGetDatum(jv->val.numeric)));
			}
			break;
		case jbvBinary:
			v->c = jv->val.binary.data;
			v->type = JsonContainerIsArray(v->c) ? CV_LIST : CV_MAP;
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", jv->type);
	}
}

/* The value of a Jsonb datum: its scalar, or its container as jbvBinary. */
static void
JsonbRootValue(Jsonb *jb, JsonbValue *jv)
{
	if (JsonbExtractScalar(&jb->root, jv))
		return;
	jv->type = jbvBinary;
	jv->val.binary.data = &jb->root;
	jv->val.binary.len = VARSIZE(jb) - VARHDRSZ;
}

/* Decodes a Jsonb datum; SQL NULL (jb == NULL) is CV_NULL. */
void
RvgDecode(Jsonb *jb, CyValue *v)
{
	JsonbValue	jv;

	if (jb == NULL)
	{
		memset(v, 0, sizeof(*v));
		v->type = CV_NULL;
		v->jv.type = jbvNull;
		return;
	}
	JsonbRootValue(jb, &jv);
	DecodeJbv(&jv, v);
}

/*
 * The next key and value of a map's top level, with an iterator from
 * JsonbIteratorInit on it; false at the end.
 */
bool
RvgNextMapEntry(JsonbIterator **it, JsonbValue *key, JsonbValue *value)
{
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(it, key, true)) != WJB_DONE)
		if (tok == WJB_KEY)
		{
			JsonbIteratorNext(it, value, true);
			return true;
		}
	return false;
}

/*
 * The one jsonb argument of a helper, checked and decoded; false when it is
 * null, and the helper returns null.
 */
bool
RvgArgValue(FunctionCallInfo fcinfo, const char *name, CyValue *v)
{
	CHECK_ARGS(name, JSONBOID);
	RvgDecode(PG_GETARG_JSONB_P(0), v);
	return v->type != CV_NULL;
}

Jsonb *
RvgArgJsonb(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : PG_GETARG_JSONB_P(n);
}

int
RvgListLength(const CyValue *v)
{
	return (int) JsonContainerSize(v->c);
}

void
RvgListElem(const CyValue *list, int i, CyValue *out)
{
	JsonbValue *jv = getIthJsonbValueFromContainer(list->c, (uint32) i);

	DecodeJbv(jv, out);
}

/* Characters, not bytes, of a string in the server encoding. */
int
RvgCharLength(const CyValue *v)
{
	return pg_mbstrlen_with_len(v->s, v->slen);
}

/* ---------------------------------------------------------------------
 * Result construction
 * ---------------------------------------------------------------------
 */
static Jsonb *
NumericJsonb(Numeric n)
{
	JsonbValue	jv = {.type = jbvNumeric, .val.numeric = n};

	return JsonbValueToJsonb(&jv);
}

Jsonb *
RvgIntJsonb(int64 i)
{
	return NumericJsonb(int64_to_numeric(i));
}

/*
 * A float as jsonb: the shortest decimal that reads back to the same double,
 * with a ".0" kept when it is integral so it still reads as a float.
 */
static Numeric
FloatNumeric(double d)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];
	Numeric		n;

	if (isnan(d) || isinf(d))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("Cypher float result %s cannot be stored", isnan(d) ? "NaN" : "infinity")));
	double_to_shortest_decimal_buf(d, buf);
	n = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	if (DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) == 0)
	{
		Numeric		zero = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum("0.0"),
															   ObjectIdGetDatum(InvalidOid),
															   Int32GetDatum(-1)));

		n = numeric_add_opt_error(n, zero, NULL);
	}
	return n;
}

Jsonb *
RvgFloatJsonb(double d)
{
	return NumericJsonb(FloatNumeric(d));
}

Jsonb *
RvgBoolJsonb(bool b)
{
	JsonbValue	jv = {.type = jbvBool, .val.boolean = b};

	return JsonbValueToJsonb(&jv);
}

Jsonb *
RvgStringJsonb(const char *s, int len)
{
	JsonbValue	jv = {.type = jbvString, .val.string = {.len = len, .val = (char *) s}};

	return JsonbValueToJsonb(&jv);
}

void
RvgListBegin(RvgListBuilder *lb)
{
	lb->state = NULL;
	lb->res = pushJsonbValue(&lb->state, WJB_BEGIN_ARRAY, NULL);
}

void
RvgListPush(RvgListBuilder *lb, JsonbValue *jv)
{
	lb->res = pushJsonbValue(&lb->state, WJB_ELEM, jv);
}

Jsonb *
RvgListEnd(RvgListBuilder *lb)
{
	lb->res = pushJsonbValue(&lb->state, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(lb->res);
}

/* The text of a scalar jsonb for a typed output column; strings unquoted. */
char *
RvgJsonbScalarText(Jsonb *jb, bool *is_string)
{
	JsonbValue	jv;

	*is_string = false;
	if (JsonbExtractScalar(&jb->root, &jv) && jv.type == jbvString)
	{
		*is_string = true;
		return pnstrdup(jv.val.string.val, jv.val.string.len);
	}
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* ---------------------------------------------------------------------
 * Comparison
 * ---------------------------------------------------------------------
 */
static int	CompareStrings(const CyValue *a, const CyValue *b);

static int
CompareStrings(const CyValue *a, const CyValue *b)
{
	return varstr_cmp(a->s, a->slen, b->s, b->slen, DEFAULT_COLLATION_OID);
}

static int
CompareNumbers(const CyValue *a, const CyValue *b)
{
	if (a->type == CV_INT && b->type == CV_INT)
		return (a->i > b->i) - (a->i < b->i);
	return (RvgAsDouble(a) > RvgAsDouble(b)) - (RvgAsDouble(a) < RvgAsDouble(b));
}

/*
 * Orders two values as Cypher's <, <=, >, >= do: numbers with numbers,
 * strings with strings, booleans with booleans, lists element by element.
 * Returns false (with *result unset) when they are not comparable or
 * either is null, which makes the comparison null.
 */
static bool
CypherOrder(const CyValue *a, const CyValue *b, int *result)
{
	check_stack_depth();
	if (RvgIsNumber(a) && RvgIsNumber(b))
		*result = CompareNumbers(a, b);
	else if (a->type != b->type || a->type == CV_NULL || a->type == CV_MAP)
		return false;
	else if (a->type == CV_STRING)
		*result = CompareStrings(a, b);
	else if (a->type == CV_BOOL)
		*result = (int) a->b - (int) b->b;
	else
	{
		int			na = RvgListLength(a);
		int			nb = RvgListLength(b);

		for (int i = 0; i < na && i < nb; i++)
		{
			CyValue		ea,
						eb;
			int			r;

			RvgListElem(a, i, &ea);
			RvgListElem(b, i, &eb);
			if (!CypherOrder(&ea, &eb, &r))
				return false;
			if (r != 0)
			{
				*result = r;
				return true;
			}
		}
		*result = (na > nb) - (na < nb);
	}
	return true;
}

/* Cypher equality: 1 true, 0 false, -1 null. */
static int
CypherEquals(const CyValue *a, const CyValue *b)
{
	check_stack_depth();
	if (a->type == CV_NULL || b->type == CV_NULL)
		return -1;
	if (RvgIsNumber(a) && RvgIsNumber(b))
		return CompareNumbers(a, b) == 0;
	if (a->type != b->type)
		return 0;
	switch (a->type)
	{
		case CV_BOOL:
			return a->b == b->b;
		case CV_STRING:
			return a->slen == b->slen && memcmp(a->s, b->s, a->slen) == 0;
		case CV_LIST:
			{
				int			n = RvgListLength(a);
				int			result = 1;

				if (n != RvgListLength(b))
					return 0;
				for (int i = 0; i < n; i++)
				{
					CyValue		ea,
								eb;
					int			r;

					RvgListElem(a, i, &ea);
					RvgListElem(b, i, &eb);
					r = CypherEquals(&ea, &eb);
					if (r == 0)
						return 0;
					if (r < 0)
						result = -1;
				}
				return result;
			}
		default:
			/* maps: equal as jsonb (same keys, equal values) */
			return compareJsonbContainers(a->c, b->c) == 0;
	}
}

/*
 * The helpers of two jsonb arguments that differ only in what they pass to
 * a shared body (the order comparisons, the string predicates): one
 * definition each, from a table of name, body and argument.
 */
#define RVG_JSONB_PAIR_FUNCTION(fname, body, arg) \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	CHECK_ARGS(#fname, JSONBOID, JSONBOID); \
	return body(fcinfo, (arg)); \
}

/* The signs of CypherOrder's result an order comparison accepts. */
#define RVG_ORD_LT 1
#define RVG_ORD_EQ 2
#define RVG_ORD_GT 4

static Datum
OrderResult(FunctionCallInfo fcinfo, int accept)
{
	CyValue		a,
				b;
	int			r;

	RvgDecode(PG_GETARG_JSONB_P(0), &a);
	RvgDecode(PG_GETARG_JSONB_P(1), &b);
	if (!CypherOrder(&a, &b, &r))
		PG_RETURN_NULL();
	PG_RETURN_BOOL((accept & (r < 0 ? RVG_ORD_LT : r == 0 ? RVG_ORD_EQ : RVG_ORD_GT)) != 0);
}

RVG_JSONB_PAIR_FUNCTION(ruvector_cy_lt, OrderResult, RVG_ORD_LT)
RVG_JSONB_PAIR_FUNCTION(ruvector_cy_le, OrderResult, RVG_ORD_LT | RVG_ORD_EQ)
RVG_JSONB_PAIR_FUNCTION(ruvector_cy_gt, OrderResult, RVG_ORD_GT)
RVG_JSONB_PAIR_FUNCTION(ruvector_cy_ge, OrderResult, RVG_ORD_GT | RVG_ORD_EQ)

Datum
ruvector_cy_eq(PG_FUNCTION_ARGS)
{
	CyValue		a,
				b;
	int			r;

	CHECK_ARGS("ruvector_cy_eq", JSONBOID, JSONBOID);
	RvgDecode(PG_GETARG_JSONB_P(0), &a);
	RvgDecode(PG_GETARG_JSONB_P(1), &b);
	r = CypherEquals(&a, &b);
	if (r < 0)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(r == 1);
}

/* x IN list: true on a match, else null if x or an element is null, else false. */
Datum
ruvector_cy_in(PG_FUNCTION_ARGS)
{
	CyValue		x,
				list;
	bool		saw_null = false;
	int			n;

	CHECK_ARGS("ruvector_cy_in", JSONBOID, JSONBOID);
	RvgDecode(RvgArgJsonb(fcinfo, 1), &list);
	if (list.type == CV_NULL)
		PG_RETURN_NULL();
	if (list.type != CV_LIST)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("IN expects a list on its right, not %s", RvgWithArticle(list.type))));
	n = RvgListLength(&list);
	if (n == 0)
		PG_RETURN_BOOL(false);
	RvgDecode(RvgArgJsonb(fcinfo, 0), &x);
	if (x.type == CV_NULL)
		PG_RETURN_NULL();
	for (int i = 0; i < n; i++)
	{
		CyValue		e;
		int			r;

		RvgListElem(&list, i, &e);
		r = CypherEquals(&x, &e);
		if (r == 1)
			PG_RETURN_BOOL(true);
		if (r < 0)
			saw_null = true;
	}
	if (saw_null)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(false);
}

/* STARTS WITH / ENDS WITH / CONTAINS: null unless both are strings. */
static Datum
StringPredicate(FunctionCallInfo fcinfo, int which)
{
	CyValue		a,
				b;

	RvgDecode(PG_GETARG_JSONB_P(0), &a);
	RvgDecode(PG_GETARG_JSONB_P(1), &b);
	if (a.type != CV_STRING || b.type != CV_STRING)
		PG_RETURN_NULL();
	if (b.slen > a.slen)
		PG_RETURN_BOOL(false);
	if (which == 0)
		PG_RETURN_BOOL(memcmp(a.s, b.s, b.slen) == 0);
	if (which == 1)
		PG_RETURN_BOOL(memcmp(a.s + a.slen - b.slen, b.s, b.slen) == 0);
	for (int i = 0; i + b.slen <= a.slen; i++)
		if (memcmp(a.s + i, b.s, b.slen) == 0)
			PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(false);
}

RVG_JSONB_PAIR_FUNCTION(ruvector_cy_starts, StringPredicate, 0)
RVG_JSONB_PAIR_FUNCTION(ruvector_cy_ends, StringPredicate, 1)
RVG_JSONB_PAIR_FUNCTION(ruvector_cy_contains, StringPredicate, 2)

/*
 * s =~ pattern: the whole string must match (PostgreSQL's regex flavour).
 * Wrapping the pattern as ^(?:p)$ is not enough by itself: p = 'a)|(z'
 * closes the group early and leaves an unanchored branch, so 'zzz' matched.
 * The pattern must therefore compile on its own first (balanced groups and
 * brackets, no trailing backslash: then the wrapper's ')' is its own), and
 * the match found must still span the whole string.
 */
/*
 * Leading Java flags of a Cypher pattern ("(?i)", "(?is)", ...) as the
 * embedded options of a PostgreSQL ARE, which must come first, before our
 * anchoring: i case-insensitive, s dot matches newline (PostgreSQL's
 * default), m ^ and $ at line ends ('w': the match must still span the
 * whole string, checked below), x expanded syntax, u (Unicode case) is
 * implied.  Returns the length of the flag group consumed, 0 if none.
 */
static int
RegexFlags(const char *p, int len, StringInfo opts)
{
	int			i = 2;

	if (len < 4 || p[0] != '(' || p[1] != '?')
		return 0;
	for (; i < len && p[i] != ')'; i++)
	{
		switch (p[i])
		{
			case 'i': appendStringInfoChar(opts, 'i'); break;
			case 's': appendStringInfoChar(opts, 's'); break;
			case 'm': appendStringInfoChar(opts, 'w'); break;
			case 'x': appendStringInfoChar(opts, 'x'); break;
			case 'u': break;
			default:
				resetStringInfo(opts);
				return 0;		/* not a flag group: left to the regex */
		}
	}
	if (i == len || i == 2)
	{
		resetStringInfo(opts);
		return 0;
	}
	return i + 1;
}

Datum
ruvector_cy_regex(PG_FUNCTION_ARGS)
{
	CyValue		a,
				b;
	text	   *wrapped;
	regmatch_t	m;
	StringInfoData opts;
	int			skip;
	char	   *prefix;

	CHECK_ARGS("ruvector_cy_regex", JSONBOID, JSONBOID);
	RvgDecode(PG_GETARG_JSONB_P(0), &a);
	RvgDecode(PG_GETARG_JSONB_P(1), &b);
	if (a.type != CV_STRING || b.type != CV_STRING)
		PG_RETURN_NULL();
	initStringInfo(&opts);
	skip = RegexFlags(b.s, b.slen, &opts);
	prefix = opts.len > 0 ? psprintf("(?%s)", opts.data) : "";
	/* raises 2201B for a pattern that is not a regular expression by itself */
	(void) RE_compile_and_cache(cstring_to_text(psprintf("%s%.*s", prefix, b.slen - skip, b.s + skip)),
								REG_ADVANCED, DEFAULT_COLLATION_OID);
	wrapped = cstring_to_text(psprintf("%s^(?:%.*s)$", prefix, b.slen - skip, b.s + skip));
	if (!RE_compile_and_execute(wrapped, (char *) a.s, a.slen, REG_ADVANCED,
								DEFAULT_COLLATION_OID, 1, &m))
		PG_RETURN_BOOL(false);
	/* offsets are in characters */
	PG_RETURN_BOOL(m.rm_so == 0 && m.rm_eo == RvgCharLength(&a));
}

/* A value in a boolean position (WHERE, AND, NOT ...). */
Datum
ruvector_cy_bool(PG_FUNCTION_ARGS)
{
	CyValue		v;

	if (!RvgArgValue(fcinfo, "ruvector_cy_bool", &v))
		PG_RETURN_NULL();
	if (v.type != CV_BOOL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("expected a boolean, got %s", RvgWithArticle(v.type))));
	PG_RETURN_BOOL(v.b);
}

/* ---------------------------------------------------------------------
 * Arithmetic
 * ---------------------------------------------------------------------
 */
static const char *
ArithName(int op)
{
	static const char *const names[] = {"?", "+", "-", "*", "/", "%", "^"};

	return (op >= RVG_ADD && op <= RVG_POW) ? names[op] : "?";
}

static void
TypeError(int op, const CyValue *a, const CyValue *b)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot apply %s to %s and %s", ArithName(op),
					RvgWithArticle(a->type), RvgWithArticle(b->type))));
}

void
RvgIntOverflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("integer out of range")));
}

static void
DivByZero(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DIVISION_BY_ZERO),
			 errmsg("division by zero")));
}

static Jsonb *
IntArith(int op, int64 x, int64 y)
{
	int64		r = 0;

	switch (op)
	{
		case RVG_ADD:
			if (pg_add_s64_overflow(x, y, &r))
				RvgIntOverflow();
			break;
		case RVG_SUB:
			if (pg_sub_s64_overflow(x, y, &r))
				RvgIntOverflow();
			break;
		case RVG_MUL:
			if (pg_mul_s64_overflow(x, y, &r))
				RvgIntOverflow();
			break;
		case RVG_DIV:
			if (y == 0)
				DivByZero();
			if (x == PG_INT64_MIN && y == -1)
				RvgIntOverflow();
			r = x / y;
			break;
		case RVG_MOD:
			if (y == 0)
				DivByZero();
			r = (y == -1) ? 0 : x % y;
			break;
	}
	return RvgIntJsonb(r);
}

static Jsonb *
FloatArith(int op, double x, double y)
{
	switch (op)
	{
		case RVG_ADD: return RvgFloatJsonb(x + y);
		case RVG_SUB: return RvgFloatJsonb(x - y);
		case RVG_MUL: return RvgFloatJsonb(x * y);
		case RVG_DIV:
			if (y == 0.0)
				DivByZero();
			return RvgFloatJsonb(x / y);
		case RVG_MOD:
			if (y == 0.0)
				DivByZero();
			return RvgFloatJsonb(fmod(x, y));
		default:
			return RvgFloatJsonb(pow(x, y));
	}
}

/* The text a value contributes to string concatenation. */
char *
RvgConcatText(const CyValue *v, int *len)
{
	char	   *s;

	if (v->type == CV_STRING)
	{
		*len = v->slen;
		return (char *) v->s;
	}
	if (v->type == CV_INT)
		s = psprintf(INT64_FORMAT, v->i);
	else if (v->type == CV_FLOAT)
		s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(FloatNumeric(v->f))));
	else
		s = pstrdup(v->b ? "true" : "false");
	*len = (int) strlen(s);
	return s;
}

/* list + x, x + list, list + list */
static Jsonb *
ListConcat(const CyValue *a, const CyValue *b)
{
	RvgListBuilder lb;
	const CyValue *parts[2] = {a, b};

	RvgListBegin(&lb);
	for (int p = 0; p < 2; p++)
	{
		const CyValue *v = parts[p];

		if (v->type == CV_LIST)
		{
			int			n = RvgListLength(v);

			for (int i = 0; i < n; i++)
				RvgListPush(&lb, getIthJsonbValueFromContainer(v->c, (uint32) i));
		}
		else
		{
			JsonbValue	jv = v->jv;

			RvgListPush(&lb, &jv);
		}
	}
	return RvgListEnd(&lb);
}

static Jsonb *
Arith(int op, const CyValue *a, const CyValue *b)
{
	if (a->type == CV_NULL || b->type == CV_NULL)
		return NULL;
	if (op == RVG_ADD && (a->type == CV_LIST || b->type == CV_LIST))
		return ListConcat(a, b);
	if (op == RVG_ADD && (a->type == CV_STRING || b->type == CV_STRING))
	{
		const CyValue *o = a->type == CV_STRING ? b : a;
		int			la,
					lb;
		char	   *sa,
				   *sb;
		char	   *buf;

		if (o->type != CV_STRING && !RvgIsNumber(o) && o->type != CV_BOOL)
			TypeError(op, a, b);
		sa = RvgConcatText(a, &la);
		sb = RvgConcatText(b, &lb);
		buf = palloc(la + lb + 1);
		memcpy(buf, sa, la);
		memcpy(buf + la, sb, lb);
		return RvgStringJsonb(buf, la + lb);
	}
	if (!RvgIsNumber(a) || !RvgIsNumber(b))
		TypeError(op, a, b);
	if (a->type == CV_INT && b->type == CV_INT && op != RVG_POW)
		return IntArith(op, a->i, b->i);
	return FloatArith(op, RvgAsDouble(a), RvgAsDouble(b));
}

/*
 * An error raised while a helper runs carries the number of the Cypher
 * position its caller passed (RVG_WITH_LOC) as its internal position;
 * cypher_exec.c turns it into the offset and adds the query text.
 */
void
RvgLocCallback(void *arg)
{
	int			loc = *(int *) arg;

	if (loc >= 0 && geterrposition() <= 0 && getinternalerrposition() <= 0)
		internalerrposition(loc + 1);
}

/* Splits an id argument into its code and position (-1: none). */
int
RvgSplitLoc(int32 raw, int *loc)
{
	*loc = -1;
	if (raw < 0)
		return raw;
	*loc = RVG_LOC_OFFSET(raw);
	return RVG_LOC_CODE(raw);
}

Datum
ruvector_cy_arith(PG_FUNCTION_ARGS)
{
	int			op;
	int			loc;
	CyValue		a,
				b;
	Jsonb	   *r;
	ErrorContextCallback cb;

	CHECK_ARGS("ruvector_cy_arith", INT4OID, JSONBOID, JSONBOID);
	op = RvgSplitLoc(PG_GETARG_INT32(0), &loc);
	if (op < RVG_ADD || op > RVG_POW)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown Cypher arithmetic operator %d", PG_GETARG_INT32(0)),
				 errhint("Operators are numbered %d to %d.", RVG_ADD, RVG_POW)));
	cb.callback = RvgLocCallback;
	cb.arg = &loc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	RvgDecode(PG_GETARG_JSONB_P(1), &a);
	RvgDecode(PG_GETARG_JSONB_P(2), &b);
	r = Arith(op, &a, &b);
	error_context_stack = cb.previous;
	if (r == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(r);
}

Datum
ruvector_cy_neg(PG_FUNCTION_ARGS)
{
	CyValue		a;

	if (!RvgArgValue(fcinfo, "ruvector_cy_neg", &a))
		PG_RETURN_NULL();
	if (a.type == CV_INT)
	{
		if (a.i == PG_INT64_MIN)
			RvgIntOverflow();
		PG_RETURN_JSONB_P(RvgIntJsonb(-a.i));
	}
	if (a.type == CV_FLOAT)
		PG_RETURN_JSONB_P(RvgFloatJsonb(-a.f));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot negate %s", RvgWithArticle(a.type))));
	PG_RETURN_NULL();
}

/* sum(): like + on numbers, nulls skipped; the state starts at 0. */
Datum
ruvector_cy_sum_step(PG_FUNCTION_ARGS)
{
	CyValue		s,
				x;

	CHECK_ARGS("ruvector_cy_sum_step", JSONBOID, JSONBOID);
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	RvgDecode(PG_GETARG_JSONB_P(0), &s);
	RvgDecode(PG_GETARG_JSONB_P(1), &x);
	if (x.type == CV_NULL)
		PG_RETURN_JSONB_P(PG_GETARG_JSONB_P(0));
	/* a JSON null state (only by hand: the aggregate starts at 0) is 0 */
	if (s.type == CV_NULL)
		PG_RETURN_JSONB_P(PG_GETARG_JSONB_P(1));
	if (!RvgIsNumber(&x))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("sum() expects numbers, got %s", RvgWithArticle(x.type))));
	PG_RETURN_JSONB_P(Arith(RVG_ADD, &s, &x));
}

/* min()/max() over any values: jsonb's total order. */
/*
 * A value's place in openCypher's order across types, for min() and max():
 * map < node < relationship < list < path < string < boolean < number
 * (max(['a', 1]) is 1, min is 'a').  Nodes, relationships and paths are
 * recognised by their shapes (see docs/graph.md "Values").
 */
static bool
IsEntityObject(JsonbContainer *c, bool *edge)
{
	JsonbValue *id = getKeyJsonValueFromContainer(c, "id", 2, NULL);

	if (id == NULL || id->type != jbvNumeric ||
		getKeyJsonValueFromContainer(c, "label", 5, NULL) == NULL ||
		getKeyJsonValueFromContainer(c, "properties", 10, NULL) == NULL)
		return false;
	*edge = getKeyJsonValueFromContainer(c, "start_id", 8, NULL) != NULL;
	return true;
}

/*
 * A path held as a value (a path returned by shortestPath() as an
 * expression, collected, or carried through WITH): nodes and relationships
 * alternating, starting and ending with a node.
 */
bool
RvgIsPathValue(JsonbContainer *c)
{
	uint32		n = JsonContainerSize(c);

	if (!JsonContainerIsArray(c) || n % 2 == 0)
		return false;
	for (uint32 i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(c, i);
		bool		edge;

		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data) ||
			!IsEntityObject(e->val.binary.data, &edge) || edge != (i % 2 == 1))
			return false;
	}
	return true;
}

static int
CypherTypeRank(Jsonb *jb)
{
	JsonbValue	v;
	bool		edge;

	if (JsonbExtractScalar(&jb->root, &v))
	{
		switch (v.type)
		{
			case jbvString: return 5;
			case jbvBool: return 6;
			case jbvNumeric: return 7;
			default: return 8;	/* null: never aggregated */
		}
	}
	if (JB_ROOT_IS_OBJECT(jb))
		return IsEntityObject(&jb->root, &edge) ? (edge ? 2 : 1) : 0;
	return RvgIsPathValue(&jb->root) ? 4 : 3;
}

/*
 * Cypher's order between two values for min() and max(): by type as above,
 * then as Cypher's < within the type, or jsonb's order where < is null (maps,
 * lists of mixed elements).
 */
static int
MinMaxOrder(Jsonb *a, Jsonb *b)
{
	int			ra = CypherTypeRank(a);
	int			rb = CypherTypeRank(b);
	CyValue		va,
				vb;
	int			r;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	RvgDecode(a, &va);
	RvgDecode(b, &vb);
	if (CypherOrder(&va, &vb, &r))
		return r;
	return compareJsonbContainers(&a->root, &b->root);
}

/* min()'s and max()'s step: the smaller (want < 0) or larger of the two; a on a tie. */
static Datum
MinMaxResult(FunctionCallInfo fcinfo, int want)
{
	Jsonb	   *a = PG_GETARG_JSONB_P(0);
	Jsonb	   *b = PG_GETARG_JSONB_P(1);
	int			r = MinMaxOrder(a, b);

	PG_RETURN_JSONB_P((want < 0 ? r <= 0 : r >= 0) ? a : b);
}

RVG_JSONB_PAIR_FUNCTION(ruvector_cy_smaller, MinMaxResult, -1)
RVG_JSONB_PAIR_FUNCTION(ruvector_cy_larger, MinMaxResult, 1)

Datum
ruvector_cy_float(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_float", FLOAT8OID);
	PG_RETURN_JSONB_P(RvgFloatJsonb(PG_GETARG_FLOAT8(0)));
}

/* ---------------------------------------------------------------------
 * Subscripts
 * ---------------------------------------------------------------------
 */
static bool
AsIndex(const CyValue *v, int64 *out, const char *what)
{
	if (v->type == CV_NULL)
		return false;
	if (v->type != CV_INT)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be an integer, not %s", what, RvgWithArticle(v->type))));
	*out = v->i;
	return true;
}

/* list[i] (negative from the end) or map[key]; null when out of range. */
Datum
ruvector_cy_index(PG_FUNCTION_ARGS)
{
	CyValue		a,
				k;

	CHECK_ARGS("ruvector_cy_index", JSONBOID, JSONBOID);
	RvgDecode(PG_GETARG_JSONB_P(0), &a);
	RvgDecode(PG_GETARG_JSONB_P(1), &k);
	if (a.type == CV_NULL || k.type == CV_NULL)
		PG_RETURN_NULL();
	if (a.type == CV_LIST)
	{
		int64		i = 0;
		int			n = RvgListLength(&a);
		JsonbValue *jv;

		AsIndex(&k, &i, "a list index");
		if (i < 0)
			i += n;
		if (i < 0 || i >= n)
			PG_RETURN_NULL();
		jv = getIthJsonbValueFromContainer(a.c, (uint32) i);
		if (jv->type == jbvNull)
			PG_RETURN_NULL();
		PG_RETURN_JSONB_P(JsonbValueToJsonb(jv));
	}
	if (a.type == CV_MAP)
	{
		JsonbValue *jv;

		if (k.type != CV_STRING)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("a map key must be a string, not %s", RvgWithArticle(k.type))));
		jv = getKeyJsonValueFromContainer(a.c, k.s, k.slen, NULL);
		if (jv == NULL || jv->type == jbvNull)
			PG_RETURN_NULL();
		PG_RETURN_JSONB_P(JsonbValueToJsonb(jv));
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot subscript %s", RvgWithArticle(a.type))));
	PG_RETURN_NULL();
}

/* Clamps a slice bound (negative counts from the end) to [0, n]. */
static int64
SliceBound(int64 i, int n)
{
	if (i < 0)
		i += n;
	return i < 0 ? 0 : (i > n ? n : i);
}

/*
 * list[from..to]: SQL NULL for an omitted bound; a bound that evaluated to
 * null arrives as JSON null and makes the result null.
 */
Datum
ruvector_cy_slice(PG_FUNCTION_ARGS)
{
	CyValue		a,
				f,
				t;
	int64		from = 0;
	int64		to;
	int			n;
	RvgListBuilder lb;

	CHECK_ARGS("ruvector_cy_slice", JSONBOID, JSONBOID, JSONBOID);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	RvgDecode(PG_GETARG_JSONB_P(0), &a);
	if (a.type == CV_NULL)
		PG_RETURN_NULL();
	if (a.type != CV_LIST)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot slice %s", RvgWithArticle(a.type))));
	n = RvgListLength(&a);
	to = n;
	RvgDecode(RvgArgJsonb(fcinfo, 1), &f);
	RvgDecode(RvgArgJsonb(fcinfo, 2), &t);
	if ((!PG_ARGISNULL(1) && !AsIndex(&f, &from, "a slice bound")) ||
		(!PG_ARGISNULL(2) && !AsIndex(&t, &to, "a slice bound")))
		PG_RETURN_NULL();
	from = SliceBound(from, n);
	to = SliceBound(to, n);
	RvgListBegin(&lb);
	for (int64 i = from; i < to; i++)
		RvgListPush(&lb, getIthJsonbValueFromContainer(a.c, (uint32) i));
	PG_RETURN_JSONB_P(RvgListEnd(&lb));
}

/* ---------------------------------------------------------------------
 * Maps, entities, lists
 * ---------------------------------------------------------------------
 */

/*
 * Is this map a node or relationship as the translator writes them
 * ({"id", "label", "properties", ...})?  Then its properties are what a
 * property lookup reads.
 */
static JsonbValue *
EntityProperties(JsonbContainer *map)
{
	JsonbValue *id = getKeyJsonValueFromContainer(map, "id", 2, NULL);
	JsonbValue *label;
	JsonbValue *props;

	if (id == NULL || id->type != jbvNumeric)
		return NULL;
	label = getKeyJsonValueFromContainer(map, "label", 5, NULL);
	if (label == NULL || label->type != jbvString)
		return NULL;
	props = getKeyJsonValueFromContainer(map, "properties", 10, NULL);
	if (props == NULL || props->type != jbvBinary || JsonContainerIsArray(props->val.binary.data))
		return NULL;
	return props;
}

/* x.key for a map or a node/relationship value. */
Datum
ruvector_cy_prop(PG_FUNCTION_ARGS)
{
	CyValue		v;
	text	   *key;
	JsonbValue *props;
	JsonbValue *jv;

	CHECK_ARGS("ruvector_cy_prop", JSONBOID, TEXTOID);
	key = PG_GETARG_TEXT_PP(1);
	RvgDecode(PG_GETARG_JSONB_P(0), &v);
	if (v.type == CV_NULL)
		PG_RETURN_NULL();
	if (v.type != CV_MAP)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot read property \"%s\" of %s", text_to_cstring(key),
						RvgWithArticle(v.type))));
	props = EntityProperties(v.c);
	jv = getKeyJsonValueFromContainer(props ? props->val.binary.data : v.c,
									  VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), NULL);
	if (jv == NULL || jv->type == jbvNull)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(JsonbValueToJsonb(jv));
}

/* properties(x): a node/relationship's properties, or a map itself. */
Datum
ruvector_cy_props(PG_FUNCTION_ARGS)
{
	CyValue		v;
	JsonbValue *props;

	if (!RvgArgValue(fcinfo, "ruvector_cy_props", &v))
		PG_RETURN_NULL();
	if (v.type != CV_MAP)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("properties() expects a node, relationship or map, not %s",
						RvgWithArticle(v.type))));
	props = EntityProperties(v.c);
	if (props == NULL)
		PG_RETURN_JSONB_P(PG_GETARG_JSONB_P(0));
	PG_RETURN_JSONB_P(JsonbValueToJsonb(props));
}

/* UNWIND and comprehensions: a list as is, any other value as [value]. */
Datum
ruvector_cy_aslist(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb;
	JsonbValue	jv;
	RvgListBuilder lb;

	CHECK_ARGS("ruvector_cy_aslist", JSONBOID);
	jb = PG_GETARG_JSONB_P(0);
	if (JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb))
		PG_RETURN_JSONB_P(jb);
	JsonbRootValue(jb, &jv);
	if (jv.type == jbvNull)
		PG_RETURN_NULL();
	RvgListBegin(&lb);
	RvgListPush(&lb, &jv);
	PG_RETURN_JSONB_P(RvgListEnd(&lb));
}

/* ---------------------------------------------------------------------
 * Paths
 * ---------------------------------------------------------------------
 */
/* ruvector_cy_ids(jsonb list of ints) -> bigint[] (carried paths). */
Datum
ruvector_cy_ids(PG_FUNCTION_ARGS)
{
	CyValue		v;
	int			n;
	Datum	   *elems;

	CHECK_ARGS("ruvector_cy_ids", JSONBOID);
	RvgDecode(PG_GETARG_JSONB_P(0), &v);
	if (v.type != CV_LIST)
		PG_RETURN_NULL();
	n = RvgListLength(&v);
	elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
	{
		CyValue		e;

		RvgListElem(&v, i, &e);
		if (e.type != CV_INT)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("path element %d is %s, not an id", i, RvgWithArticle(e.type))));
		elems[i] = Int64GetDatum(e.i);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
