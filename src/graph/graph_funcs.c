/*
 * graph_funcs.c — Cypher's value semantics on jsonb, for the SQL that
 * cypher_plan.c generates: comparisons that return null across types,
 * arithmetic that keeps integers and floats apart, list/map/string
 * operators, the scalar function library, min/max/sum aggregates, and the
 * jsonb-to-vector conversion used for vector search.
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
 *	point therefore checks what it is given (CheckArgs: the argument count and
 *	types it was declared with; ruvector_cy_fn: a known function id and that
 *	function's arity; ruvector_cy_arith: a known operator) and raises an
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

#include "graph/graph.h"
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
PG_FUNCTION_INFO_V1(ruvector_cy_fn);
PG_FUNCTION_INFO_V1(ruvector_cy_float);
PG_FUNCTION_INFO_V1(ruvector_cy_vector);
PG_FUNCTION_INFO_V1(ruvector_cy_ids);
PG_FUNCTION_INFO_V1(ruvector_cy_smaller);
PG_FUNCTION_INFO_V1(ruvector_cy_larger);
PG_FUNCTION_INFO_V1(ruvector_cy_sum_step);
PG_FUNCTION_INFO_V1(ruvector_cy_prop);
PG_FUNCTION_INFO_V1(ruvector_cy_props);
PG_FUNCTION_INFO_V1(ruvector_cy_aslist);

/* vector's text input (src/types/vector.c), for vectors stored as strings */
extern Datum vector_in(PG_FUNCTION_ARGS);

/* Lists built by range() and friends stay below this many elements. */
#define RVG_MAX_LIST 10000000

/* ---------------------------------------------------------------------
 * Argument checks (see the header: the helpers are callable by hand)
 * ---------------------------------------------------------------------
 */

/*
 * Refuses a call whose argument count or types differ from the declaration
 * the C code was written for (a CREATE FUNCTION pointing at this symbol with
 * another signature).  Types are checked when the call expression is known.
 */
static void
CheckArgs(FunctionCallInfo fcinfo, const char *name, int nargs, const Oid *types)
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

#define CHECK_ARGS(name, ...) \
	CheckArgs(fcinfo, (name), lengthof(((const Oid[]) {__VA_ARGS__})), \
			  (const Oid[]) {__VA_ARGS__})

/* ---------------------------------------------------------------------
 * Decoded values
 * ---------------------------------------------------------------------
 */
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

static const char *
CvTypeName(CvType t)
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
static char *
WithArticle(CvType t)
{
	const char *n = CvTypeName(t);

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

/* Decodes a Jsonb datum; SQL NULL (jb == NULL) is CV_NULL. */
static void
Decode(Jsonb *jb, CyValue *v)
{
	JsonbValue	jv;

	if (jb == NULL)
	{
		memset(v, 0, sizeof(*v));
		v->type = CV_NULL;
		v->jv.type = jbvNull;
		return;
	}
	if (JsonbExtractScalar(&jb->root, &jv))
	{
		DecodeJbv(&jv, v);
		return;
	}
	jv.type = jbvBinary;
	jv.val.binary.data = &jb->root;
	jv.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	DecodeJbv(&jv, v);
}

static Jsonb *
ArgJsonb(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : PG_GETARG_JSONB_P(n);
}

static int
ListLength(const CyValue *v)
{
	return (int) JsonContainerSize(v->c);
}

static void
ListElem(const CyValue *list, int i, CyValue *out)
{
	JsonbValue *jv = getIthJsonbValueFromContainer(list->c, (uint32) i);

	DecodeJbv(jv, out);
}

/* ---------------------------------------------------------------------
 * Result construction
 * ---------------------------------------------------------------------
 */
Jsonb *
RvgIntJsonb(int64 i)
{
	JsonbValue	jv;

	jv.type = jbvNumeric;
	jv.val.numeric = int64_to_numeric(i);
	return JsonbValueToJsonb(&jv);
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
	JsonbValue	jv;

	jv.type = jbvNumeric;
	jv.val.numeric = FloatNumeric(d);
	return JsonbValueToJsonb(&jv);
}

static Jsonb *
BoolJsonb(bool b)
{
	JsonbValue	jv;

	jv.type = jbvBool;
	jv.val.boolean = b;
	return JsonbValueToJsonb(&jv);
}

static Jsonb *
StringJsonb(const char *s, int len)
{
	JsonbValue	jv;

	jv.type = jbvString;
	jv.val.string.val = (char *) s;
	jv.val.string.len = len;
	return JsonbValueToJsonb(&jv);
}

/* A list builder over pushJsonbValue. */
typedef struct ListBuilder
{
	JsonbParseState *state;
	JsonbValue *res;
} ListBuilder;

static void
ListBegin(ListBuilder *lb)
{
	lb->state = NULL;
	lb->res = pushJsonbValue(&lb->state, WJB_BEGIN_ARRAY, NULL);
}

static void
ListPush(ListBuilder *lb, JsonbValue *jv)
{
	lb->res = pushJsonbValue(&lb->state, WJB_ELEM, jv);
}

static Jsonb *
ListEnd(ListBuilder *lb)
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
static int	CharLength(const CyValue *v);

static bool
IsNumber(const CyValue *v)
{
	return v->type == CV_INT || v->type == CV_FLOAT;
}

static double
AsDouble(const CyValue *v)
{
	return v->type == CV_INT ? (double) v->i : v->f;
}

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
	return (AsDouble(a) > AsDouble(b)) - (AsDouble(a) < AsDouble(b));
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
	if (IsNumber(a) && IsNumber(b))
		*result = CompareNumbers(a, b);
	else if (a->type != b->type || a->type == CV_NULL || a->type == CV_MAP)
		return false;
	else if (a->type == CV_STRING)
		*result = CompareStrings(a, b);
	else if (a->type == CV_BOOL)
		*result = (int) a->b - (int) b->b;
	else
	{
		int			na = ListLength(a);
		int			nb = ListLength(b);

		for (int i = 0; i < na && i < nb; i++)
		{
			CyValue		ea,
						eb;
			int			r;

			ListElem(a, i, &ea);
			ListElem(b, i, &eb);
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
	if (IsNumber(a) && IsNumber(b))
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
				int			n = ListLength(a);
				int			result = 1;

				if (n != ListLength(b))
					return 0;
				for (int i = 0; i < n; i++)
				{
					CyValue		ea,
								eb;
					int			r;

					ListElem(a, i, &ea);
					ListElem(b, i, &eb);
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

static Datum
OrderResult(FunctionCallInfo fcinfo, bool (*test) (int))
{
	CyValue		a,
				b;
	int			r;

	Decode(PG_GETARG_JSONB_P(0), &a);
	Decode(PG_GETARG_JSONB_P(1), &b);
	if (!CypherOrder(&a, &b, &r))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(test(r));
}

static bool
TestLt(int r)
{
	return r < 0;
}
static bool
TestLe(int r)
{
	return r <= 0;
}
static bool
TestGt(int r)
{
	return r > 0;
}
static bool
TestGe(int r)
{
	return r >= 0;
}

Datum
ruvector_cy_lt(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_lt", JSONBOID, JSONBOID);
	return OrderResult(fcinfo, TestLt);
}

Datum
ruvector_cy_le(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_le", JSONBOID, JSONBOID);
	return OrderResult(fcinfo, TestLe);
}

Datum
ruvector_cy_gt(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_gt", JSONBOID, JSONBOID);
	return OrderResult(fcinfo, TestGt);
}

Datum
ruvector_cy_ge(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_ge", JSONBOID, JSONBOID);
	return OrderResult(fcinfo, TestGe);
}

Datum
ruvector_cy_eq(PG_FUNCTION_ARGS)
{
	CyValue		a,
				b;
	int			r;

	CHECK_ARGS("ruvector_cy_eq", JSONBOID, JSONBOID);
	Decode(PG_GETARG_JSONB_P(0), &a);
	Decode(PG_GETARG_JSONB_P(1), &b);
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
	Decode(ArgJsonb(fcinfo, 1), &list);
	if (list.type == CV_NULL)
		PG_RETURN_NULL();
	if (list.type != CV_LIST)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("IN expects a list on its right, not %s", WithArticle(list.type))));
	n = ListLength(&list);
	if (n == 0)
		PG_RETURN_BOOL(false);
	Decode(ArgJsonb(fcinfo, 0), &x);
	if (x.type == CV_NULL)
		PG_RETURN_NULL();
	for (int i = 0; i < n; i++)
	{
		CyValue		e;
		int			r;

		ListElem(&list, i, &e);
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

	Decode(PG_GETARG_JSONB_P(0), &a);
	Decode(PG_GETARG_JSONB_P(1), &b);
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

Datum
ruvector_cy_starts(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_starts", JSONBOID, JSONBOID);
	return StringPredicate(fcinfo, 0);
}

Datum
ruvector_cy_ends(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_ends", JSONBOID, JSONBOID);
	return StringPredicate(fcinfo, 1);
}

Datum
ruvector_cy_contains(PG_FUNCTION_ARGS)
{
	CHECK_ARGS("ruvector_cy_contains", JSONBOID, JSONBOID);
	return StringPredicate(fcinfo, 2);
}

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
	Decode(PG_GETARG_JSONB_P(0), &a);
	Decode(PG_GETARG_JSONB_P(1), &b);
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
	PG_RETURN_BOOL(m.rm_so == 0 && m.rm_eo == CharLength(&a));
}

/* A value in a boolean position (WHERE, AND, NOT ...). */
Datum
ruvector_cy_bool(PG_FUNCTION_ARGS)
{
	CyValue		v;

	CHECK_ARGS("ruvector_cy_bool", JSONBOID);
	Decode(PG_GETARG_JSONB_P(0), &v);
	if (v.type == CV_NULL)
		PG_RETURN_NULL();
	if (v.type != CV_BOOL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("expected a boolean, got %s", WithArticle(v.type))));
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
					WithArticle(a->type), WithArticle(b->type))));
}

static void
IntOverflow(void)
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
				IntOverflow();
			break;
		case RVG_SUB:
			if (pg_sub_s64_overflow(x, y, &r))
				IntOverflow();
			break;
		case RVG_MUL:
			if (pg_mul_s64_overflow(x, y, &r))
				IntOverflow();
			break;
		case RVG_DIV:
			if (y == 0)
				DivByZero();
			if (x == PG_INT64_MIN && y == -1)
				IntOverflow();
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
static char *
ConcatText(const CyValue *v, int *len)
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
	ListBuilder lb;
	const CyValue *parts[2] = {a, b};

	ListBegin(&lb);
	for (int p = 0; p < 2; p++)
	{
		const CyValue *v = parts[p];

		if (v->type == CV_LIST)
		{
			int			n = ListLength(v);

			for (int i = 0; i < n; i++)
				ListPush(&lb, getIthJsonbValueFromContainer(v->c, (uint32) i));
		}
		else
		{
			JsonbValue	jv = v->jv;

			ListPush(&lb, &jv);
		}
	}
	return ListEnd(&lb);
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

		if (o->type != CV_STRING && !IsNumber(o) && o->type != CV_BOOL)
			TypeError(op, a, b);
		sa = ConcatText(a, &la);
		sb = ConcatText(b, &lb);
		buf = palloc(la + lb + 1);
		memcpy(buf, sa, la);
		memcpy(buf + la, sb, lb);
		return StringJsonb(buf, la + lb);
	}
	if (!IsNumber(a) || !IsNumber(b))
		TypeError(op, a, b);
	if (a->type == CV_INT && b->type == CV_INT && op != RVG_POW)
		return IntArith(op, a->i, b->i);
	return FloatArith(op, AsDouble(a), AsDouble(b));
}

/*
 * An error raised while a helper runs carries the number of the Cypher
 * position its caller passed (RVG_WITH_LOC) as its internal position;
 * cypher_exec.c turns it into the offset and adds the query text.
 */
static void
LocCallback(void *arg)
{
	int			loc = *(int *) arg;

	if (loc >= 0 && geterrposition() <= 0 && getinternalerrposition() <= 0)
		internalerrposition(loc + 1);
}

/* Splits an id argument into its code and position (-1: none). */
static int
SplitLoc(int32 raw, int *loc)
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
	op = SplitLoc(PG_GETARG_INT32(0), &loc);
	if (op < RVG_ADD || op > RVG_POW)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown Cypher arithmetic operator %d", PG_GETARG_INT32(0)),
				 errhint("Operators are numbered %d to %d.", RVG_ADD, RVG_POW)));
	cb.callback = LocCallback;
	cb.arg = &loc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	Decode(PG_GETARG_JSONB_P(1), &a);
	Decode(PG_GETARG_JSONB_P(2), &b);
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

	CHECK_ARGS("ruvector_cy_neg", JSONBOID);
	Decode(PG_GETARG_JSONB_P(0), &a);
	if (a.type == CV_NULL)
		PG_RETURN_NULL();
	if (a.type == CV_INT)
	{
		if (a.i == PG_INT64_MIN)
			IntOverflow();
		PG_RETURN_JSONB_P(RvgIntJsonb(-a.i));
	}
	if (a.type == CV_FLOAT)
		PG_RETURN_JSONB_P(RvgFloatJsonb(-a.f));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot negate %s", WithArticle(a.type))));
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
	Decode(PG_GETARG_JSONB_P(0), &s);
	Decode(PG_GETARG_JSONB_P(1), &x);
	if (x.type == CV_NULL)
		PG_RETURN_JSONB_P(PG_GETARG_JSONB_P(0));
	/* a JSON null state (only by hand: the aggregate starts at 0) is 0 */
	if (s.type == CV_NULL)
		PG_RETURN_JSONB_P(PG_GETARG_JSONB_P(1));
	if (!IsNumber(&x))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("sum() expects numbers, got %s", WithArticle(x.type))));
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
static bool
IsPathValue(JsonbContainer *c)
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
	return IsPathValue(&jb->root) ? 4 : 3;
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
	Decode(a, &va);
	Decode(b, &vb);
	if (CypherOrder(&va, &vb, &r))
		return r;
	return compareJsonbContainers(&a->root, &b->root);
}

Datum
ruvector_cy_smaller(PG_FUNCTION_ARGS)
{
	Jsonb	   *a;
	Jsonb	   *b;

	CHECK_ARGS("ruvector_cy_smaller", JSONBOID, JSONBOID);
	a = PG_GETARG_JSONB_P(0);
	b = PG_GETARG_JSONB_P(1);
	PG_RETURN_JSONB_P(MinMaxOrder(a, b) <= 0 ? a : b);
}

Datum
ruvector_cy_larger(PG_FUNCTION_ARGS)
{
	Jsonb	   *a;
	Jsonb	   *b;

	CHECK_ARGS("ruvector_cy_larger", JSONBOID, JSONBOID);
	a = PG_GETARG_JSONB_P(0);
	b = PG_GETARG_JSONB_P(1);
	PG_RETURN_JSONB_P(MinMaxOrder(a, b) >= 0 ? a : b);
}

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
				 errmsg("%s must be an integer, not %s", what, WithArticle(v->type))));
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
	Decode(PG_GETARG_JSONB_P(0), &a);
	Decode(PG_GETARG_JSONB_P(1), &k);
	if (a.type == CV_NULL || k.type == CV_NULL)
		PG_RETURN_NULL();
	if (a.type == CV_LIST)
	{
		int64		i;
		int			n = ListLength(&a);
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
					 errmsg("a map key must be a string, not %s", WithArticle(k.type))));
		jv = getKeyJsonValueFromContainer(a.c, k.s, k.slen, NULL);
		if (jv == NULL || jv->type == jbvNull)
			PG_RETURN_NULL();
		PG_RETURN_JSONB_P(JsonbValueToJsonb(jv));
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot subscript %s", WithArticle(a.type))));
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
	ListBuilder lb;

	CHECK_ARGS("ruvector_cy_slice", JSONBOID, JSONBOID, JSONBOID);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	Decode(PG_GETARG_JSONB_P(0), &a);
	if (a.type == CV_NULL)
		PG_RETURN_NULL();
	if (a.type != CV_LIST)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot slice %s", WithArticle(a.type))));
	n = ListLength(&a);
	to = n;
	Decode(ArgJsonb(fcinfo, 1), &f);
	Decode(ArgJsonb(fcinfo, 2), &t);
	if ((!PG_ARGISNULL(1) && !AsIndex(&f, &from, "a slice bound")) ||
		(!PG_ARGISNULL(2) && !AsIndex(&t, &to, "a slice bound")))
		PG_RETURN_NULL();
	from = SliceBound(from, n);
	to = SliceBound(to, n);
	ListBegin(&lb);
	for (int64 i = from; i < to; i++)
		ListPush(&lb, getIthJsonbValueFromContainer(a.c, (uint32) i));
	PG_RETURN_JSONB_P(ListEnd(&lb));
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
	Decode(PG_GETARG_JSONB_P(0), &v);
	if (v.type == CV_NULL)
		PG_RETURN_NULL();
	if (v.type != CV_MAP)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot read property \"%s\" of %s", text_to_cstring(key),
						WithArticle(v.type))));
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

	CHECK_ARGS("ruvector_cy_props", JSONBOID);
	Decode(PG_GETARG_JSONB_P(0), &v);
	if (v.type == CV_NULL)
		PG_RETURN_NULL();
	if (v.type != CV_MAP)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("properties() expects a node, relationship or map, not %s",
						WithArticle(v.type))));
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
	ListBuilder lb;

	CHECK_ARGS("ruvector_cy_aslist", JSONBOID);
	jb = PG_GETARG_JSONB_P(0);
	if (JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb))
		PG_RETURN_JSONB_P(jb);
	if (JsonbExtractScalar(&jb->root, &jv))
	{
		if (jv.type == jbvNull)
			PG_RETURN_NULL();
	}
	else
	{
		jv.type = jbvBinary;
		jv.val.binary.data = &jb->root;
		jv.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
	ListBegin(&lb);
	ListPush(&lb, &jv);
	PG_RETURN_JSONB_P(ListEnd(&lb));
}

/* ---------------------------------------------------------------------
 * Vectors
 * ---------------------------------------------------------------------
 */

/*
 * Reads a vector property: a list of numbers, or a string in vector text
 * form ("[1,2,3]").  Returns the element count and fills *out (palloc'd).
 */
static int
ReadVector(const CyValue *v, float **out, const char *what)
{
	int			n;
	float	   *x;

	if (v->type == CV_STRING)
	{
		Vector	   *vec = DatumGetVector(DirectFunctionCall3(vector_in,
															 CStringGetDatum(pnstrdup(v->s, v->slen)),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)));

		*out = vec->x;
		return vec->dim;
	}
	if (v->type != CV_LIST)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be a list of numbers, not %s", what, WithArticle(v->type))));
	n = ListLength(v);
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (n > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions", VECTOR_MAX_DIM)));
	x = palloc(sizeof(float) * n);
	for (int i = 0; i < n; i++)
	{
		CyValue		e;

		ListElem(v, i, &e);
		if (!IsNumber(&e))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s must be a list of numbers; element %d is %s",
							what, i, WithArticle(e.type))));
		x[i] = (float) AsDouble(&e);
		if (isinf(x[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("\"%g\" is out of range for type vector", AsDouble(&e))));
	}
	*out = x;
	return n;
}

/* ruvector_cy_vector(jsonb) -> vector, for indexes and <-> ranking. */
Datum
ruvector_cy_vector(PG_FUNCTION_ARGS)
{
	CyValue		v;
	float	   *x;
	int			n;
	Vector	   *vec;

	CHECK_ARGS("ruvector_cy_vector", JSONBOID);
	Decode(PG_GETARG_JSONB_P(0), &v);
	if (v.type == CV_NULL)
		PG_RETURN_NULL();
	n = ReadVector(&v, &x, "a vector property");
	vec = rv_vector_new(n);
	memcpy(vec->x, x, sizeof(float) * n);
	PG_RETURN_POINTER(vec);
}

/* Distances between two vector values, as pgvector's operators define them. */
static double
VectorDistance(RvgFunc fn, const CyValue *a, const CyValue *b)
{
	float	   *x,
			   *y;
	int			na = ReadVector(a, &x, "vector.distance's first argument");
	int			nb = ReadVector(b, &y, "vector.distance's second argument");
	double		dot = 0,
				nx = 0,
				ny = 0,
				l1 = 0,
				l2 = 0;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", na, nb)));
	for (int i = 0; i < na; i++)
	{
		double		d = (double) x[i] - (double) y[i];

		dot += (double) x[i] * y[i];
		nx += (double) x[i] * x[i];
		ny += (double) y[i] * y[i];
		l1 += fabs(d);
		l2 += d * d;
	}
	switch (fn)
	{
		case RVG_FN_VDIST_L2: return sqrt(l2);
		case RVG_FN_VDIST_IP: return -dot;
		case RVG_FN_VDIST_L1: return l1;
		case RVG_FN_VSIM_EUCLIDEAN: return 1.0 / (1.0 + l2);
		default:
			{
				double		cos = (nx == 0 || ny == 0) ? NAN : dot / sqrt(nx * ny);

				if (isnan(cos))
					return NAN;
				cos = cos > 1 ? 1 : (cos < -1 ? -1 : cos);
				return fn == RVG_FN_VSIM_COSINE ? (1.0 + cos) / 2.0 : 1.0 - cos;
			}
	}
}

/* ruvector_cy_ids(jsonb list of ints) -> bigint[] (carried paths). */
Datum
ruvector_cy_ids(PG_FUNCTION_ARGS)
{
	CyValue		v;
	int			n;
	Datum	   *elems;

	CHECK_ARGS("ruvector_cy_ids", JSONBOID);
	Decode(PG_GETARG_JSONB_P(0), &v);
	if (v.type != CV_LIST)
		PG_RETURN_NULL();
	n = ListLength(&v);
	elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
	{
		CyValue		e;

		ListElem(&v, i, &e);
		if (e.type != CV_INT)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("path element %d is %s, not an id", i, WithArticle(e.type))));
		elems[i] = Int64GetDatum(e.i);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* ---------------------------------------------------------------------
 * Scalar functions: ruvector_cy_fn(id, VARIADIC args)
 * ---------------------------------------------------------------------
 */
typedef struct FuncDef
{
	const char *name;			/* as documented; looked up case-insensitively */
	RvgFunc		id;
	int			minargs;
	int			maxargs;
} FuncDef;

static const FuncDef func_defs[] = {
	{"size", RVG_FN_SIZE, 1, 1},
	{"length", RVG_FN_LENGTH, 1, 1},
	{"head", RVG_FN_HEAD, 1, 1},
	{"last", RVG_FN_LAST, 1, 1},
	{"tail", RVG_FN_TAIL, 1, 1},
	{"range", RVG_FN_RANGE, 2, 3},
	{"reverse", RVG_FN_REVERSE, 1, 1},
	{"keys", RVG_FN_KEYS, 1, 1},
	{"toString", RVG_FN_TOSTRING, 1, 1},
	{"toInteger", RVG_FN_TOINTEGER, 1, 1},
	{"toInt", RVG_FN_TOINTEGER, 1, 1},
	{"toFloat", RVG_FN_TOFLOAT, 1, 1},
	{"toBoolean", RVG_FN_TOBOOLEAN, 1, 1},
	{"abs", RVG_FN_ABS, 1, 1},
	{"ceil", RVG_FN_CEIL, 1, 1},
	{"floor", RVG_FN_FLOOR, 1, 1},
	{"round", RVG_FN_ROUND, 1, 2},
	{"sign", RVG_FN_SIGN, 1, 1},
	{"sqrt", RVG_FN_SQRT, 1, 1},
	{"exp", RVG_FN_EXP, 1, 1},
	{"log", RVG_FN_LOG, 1, 1},
	{"log10", RVG_FN_LOG10, 1, 1},
	{"sin", RVG_FN_SIN, 1, 1},
	{"cos", RVG_FN_COS, 1, 1},
	{"tan", RVG_FN_TAN, 1, 1},
	{"asin", RVG_FN_ASIN, 1, 1},
	{"acos", RVG_FN_ACOS, 1, 1},
	{"atan", RVG_FN_ATAN, 1, 1},
	{"atan2", RVG_FN_ATAN2, 2, 2},
	{"pi", RVG_FN_PI, 0, 0},
	{"degrees", RVG_FN_DEGREES, 1, 1},
	{"radians", RVG_FN_RADIANS, 1, 1},
	{"isEmpty", RVG_FN_ISEMPTY, 1, 1},
	{"e", RVG_FN_E, 0, 0},
	{"toLower", RVG_FN_TOLOWER, 1, 1},
	{"toUpper", RVG_FN_TOUPPER, 1, 1},
	{"lower", RVG_FN_TOLOWER, 1, 1},
	{"upper", RVG_FN_TOUPPER, 1, 1},
	{"trim", RVG_FN_TRIM, 1, 1},
	{"ltrim", RVG_FN_LTRIM, 1, 1},
	{"rtrim", RVG_FN_RTRIM, 1, 1},
	{"replace", RVG_FN_REPLACE, 3, 3},
	{"substring", RVG_FN_SUBSTRING, 2, 3},
	{"left", RVG_FN_LEFT, 2, 2},
	{"right", RVG_FN_RIGHT, 2, 2},
	{"split", RVG_FN_SPLIT, 2, 2},
	{"vector.distance.l2", RVG_FN_VDIST_L2, 2, 2},
	{"vector.l2", RVG_FN_VDIST_L2, 2, 2},
	{"vector.cosine", RVG_FN_VDIST_COSINE, 2, 2},
	{"vector.ip", RVG_FN_VDIST_IP, 2, 2},
	{"vector.l1", RVG_FN_VDIST_L1, 2, 2},
	{"vector.similarity.cosine", RVG_FN_VSIM_COSINE, 2, 2},
	{"vector.similarity.euclidean", RVG_FN_VSIM_EUCLIDEAN, 2, 2},
	{"vector.norm", RVG_FN_VNORM, 1, 1},
	{"valueType", RVG_FN_TYPEOF, 1, 1},
	{NULL, RVG_FN_NONE, 0, 0}
};

/* The function with this name (case-insensitive), or RVG_FN_NONE. */
RvgFunc
RvgLookupFunction(const char *name, int *minargs, int *maxargs)
{
	for (int i = 0; func_defs[i].name != NULL; i++)
		if (cy_name_eq(name, func_defs[i].name))
		{
			*minargs = func_defs[i].minargs;
			*maxargs = func_defs[i].maxargs;
			return func_defs[i].id;
		}
	return RVG_FN_NONE;
}

static const char *
FuncName(RvgFunc id)
{
	for (int i = 0; func_defs[i].name != NULL; i++)
		if (func_defs[i].id == id)
			return func_defs[i].name;
	return "?";
}

static void
ArgTypeError(RvgFunc fn, const CyValue *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s() does not accept %s", FuncName(fn), WithArticle(v->type))));
}

static int64
ArgInt(RvgFunc fn, const CyValue *v)
{
	if (v->type == CV_INT)
		return v->i;
	ArgTypeError(fn, v);
	return 0;
}

static double
ArgNumber(RvgFunc fn, const CyValue *v)
{
	if (!IsNumber(v))
		ArgTypeError(fn, v);
	return AsDouble(v);
}

static void
RequireString(RvgFunc fn, const CyValue *v)
{
	if (v->type != CV_STRING)
		ArgTypeError(fn, v);
}

/* Characters, not bytes, of a UTF-8/server-encoded string. */
static int
CharLength(const CyValue *v)
{
	return pg_mbstrlen_with_len(v->s, v->slen);
}

/* Byte offset of character number chars in v (clamped to the end). */
static int
CharOffset(const CyValue *v, int64 chars)
{
	int			off = 0;

	while (chars > 0 && off < v->slen)
	{
		off += pg_mblen(v->s + off);
		chars--;
	}
	return off > v->slen ? v->slen : off;
}

static Jsonb *
FnRange(const CyValue *args, int nargs)
{
	int64		start = ArgInt(RVG_FN_RANGE, &args[0]);
	int64		end = ArgInt(RVG_FN_RANGE, &args[1]);
	int64		step = nargs > 2 ? ArgInt(RVG_FN_RANGE, &args[2]) : 1;
	ListBuilder lb;
	int64		count = 0;

	if (step == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("range() step must not be zero")));
	ListBegin(&lb);
	for (int64 i = start; step > 0 ? i <= end : i >= end;)
	{
		JsonbValue	jv;

		if (++count > RVG_MAX_LIST)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("range() would return more than %d elements", RVG_MAX_LIST)));
		jv.type = jbvNumeric;
		jv.val.numeric = int64_to_numeric(i);
		ListPush(&lb, &jv);
		if (pg_add_s64_overflow(i, step, &i))
			break;
	}
	return ListEnd(&lb);
}

static Jsonb *
FnListPart(RvgFunc fn, const CyValue *v)
{
	int			n;

	if (v->type != CV_LIST)
		ArgTypeError(fn, v);
	n = ListLength(v);
	if (fn == RVG_FN_TAIL || fn == RVG_FN_REVERSE)
	{
		ListBuilder lb;

		ListBegin(&lb);
		for (int i = 0; i < n; i++)
		{
			if (fn == RVG_FN_TAIL && i == 0)
				continue;
			ListPush(&lb, getIthJsonbValueFromContainer(v->c, (uint32) (fn == RVG_FN_REVERSE ? n - 1 - i : i)));
		}
		return ListEnd(&lb);
	}
	if (n == 0)
		return NULL;
	{
		JsonbValue *jv = getIthJsonbValueFromContainer(v->c, fn == RVG_FN_HEAD ? 0 : (uint32) (n - 1));

		return jv->type == jbvNull ? NULL : JsonbValueToJsonb(jv);
	}
}

static Jsonb *
FnKeys(const CyValue *v)
{
	JsonbIterator *it;
	JsonbValue	jv;
	JsonbIteratorToken tok;
	ListBuilder lb;

	if (v->type != CV_MAP)
		ArgTypeError(RVG_FN_KEYS, v);
	ListBegin(&lb);
	it = JsonbIteratorInit(v->c);
	while ((tok = JsonbIteratorNext(&it, &jv, true)) != WJB_DONE)
		if (tok == WJB_KEY)
			ListPush(&lb, &jv);
	return ListEnd(&lb);
}

static Jsonb *
FnToString(const CyValue *v)
{
	int			len;
	char	   *s;

	if (v->type == CV_STRING)
		return StringJsonb(v->s, v->slen);
	if (!IsNumber(v) && v->type != CV_BOOL)
		ArgTypeError(RVG_FN_TOSTRING, v);
	s = ConcatText(v, &len);
	return StringJsonb(s, len);
}

/* toInteger/toFloat of a string: null when it is not a number. */
static Jsonb *
FnToNumber(RvgFunc fn, const CyValue *v)
{
	double		d;

	if (v->type == CV_STRING)
	{
		char	   *s = pnstrdup(v->s, v->slen);
		char	   *end;
		long long	ll;

		errno = 0;
		ll = strtoll(s, &end, 10);
		if (errno == 0 && end != s && *end == '\0')
			return fn == RVG_FN_TOINTEGER ? RvgIntJsonb(ll) : RvgFloatJsonb((double) ll);
		d = strtod(s, &end);
		if (end == s || *end != '\0' || !isfinite(d))
			return NULL;
	}
	else if (IsNumber(v))
	{
		if (v->type == CV_INT)
			return fn == RVG_FN_TOINTEGER ? RvgIntJsonb(v->i) : RvgFloatJsonb((double) v->i);
		d = v->f;
	}
	else if (v->type == CV_BOOL && fn == RVG_FN_TOINTEGER)
		return RvgIntJsonb(v->b ? 1 : 0);
	else
	{
		ArgTypeError(fn, v);
		return NULL;
	}
	if (fn == RVG_FN_TOFLOAT)
		return RvgFloatJsonb(d);
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		IntOverflow();
	return RvgIntJsonb((int64) trunc(d));
}

static Jsonb *
FnToBoolean(const CyValue *v)
{
	if (v->type == CV_BOOL)
		return BoolJsonb(v->b);
	if (v->type == CV_STRING)
	{
		char	   *s = pnstrdup(v->s, v->slen);

		if (pg_strcasecmp(s, "true") == 0)
			return BoolJsonb(true);
		if (pg_strcasecmp(s, "false") == 0)
			return BoolJsonb(false);
		return NULL;
	}
	if (v->type == CV_INT)
		return BoolJsonb(v->i != 0);
	ArgTypeError(RVG_FN_TOBOOLEAN, v);
	return NULL;
}

/* abs, ceil, floor, round, sign and the float functions. */
static Jsonb *
FnMath(RvgFunc fn, const CyValue *v, const CyValue *w)
{
	double		x = ArgNumber(fn, v);

	switch (fn)
	{
		case RVG_FN_ABS:
			if (v->type == CV_INT)
			{
				if (v->i == PG_INT64_MIN)
					IntOverflow();
				return RvgIntJsonb(v->i < 0 ? -v->i : v->i);
			}
			return RvgFloatJsonb(fabs(x));
		case RVG_FN_SIGN: return RvgIntJsonb((x > 0) - (x < 0));
		case RVG_FN_CEIL: return RvgFloatJsonb(ceil(x));
		case RVG_FN_FLOOR: return RvgFloatJsonb(floor(x));
		case RVG_FN_ROUND:
			if (w != NULL)
			{
				/*
				 * round(x, precision): decimal digits, halves away from
				 * zero (Neo4j's HALF_UP), on the exact decimal value.
				 */
				int64		p = ArgInt(fn, w);
				Datum		n;

				if (p < -1000 || p > 1000)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("round() precision " INT64_FORMAT " is out of range", p),
							 errhint("Use a precision between -1000 and 1000.")));
				n = DirectFunctionCall1(float8_numeric, Float8GetDatum(x));
				n = DirectFunctionCall2(numeric_round, n, Int32GetDatum((int32) p));
				return RvgFloatJsonb(DatumGetFloat8(DirectFunctionCall1(numeric_float8, n)));
			}
			return RvgFloatJsonb(floor(x + 0.5));
		/*
		 * Where Neo4j gives NaN or an infinity (sqrt(-1), log(0), asin(2)),
		 * RvgFloatJsonb raises 22003: jsonb cannot hold them.
		 */
		case RVG_FN_SQRT: return RvgFloatJsonb(sqrt(x));
		case RVG_FN_EXP: return RvgFloatJsonb(exp(x));
		case RVG_FN_LOG: return RvgFloatJsonb(log(x));
		case RVG_FN_LOG10: return RvgFloatJsonb(log10(x));
		case RVG_FN_SIN: return RvgFloatJsonb(sin(x));
		case RVG_FN_COS: return RvgFloatJsonb(cos(x));
		case RVG_FN_TAN: return RvgFloatJsonb(tan(x));
		case RVG_FN_ASIN: return RvgFloatJsonb(asin(x));
		case RVG_FN_ACOS: return RvgFloatJsonb(acos(x));
		case RVG_FN_ATAN: return RvgFloatJsonb(atan(x));
		case RVG_FN_ATAN2: return RvgFloatJsonb(atan2(x, ArgNumber(fn, w)));
		case RVG_FN_DEGREES: return RvgFloatJsonb(x * (180.0 / M_PI));
		case RVG_FN_RADIANS: return RvgFloatJsonb(x * (M_PI / 180.0));
		default:
			elog(ERROR, "unexpected math function %d", fn);
	}
	return NULL;
}

/* Applies a text function of PostgreSQL to a Cypher string. */
static Jsonb *
TextFn(PGFunction f, const CyValue *v)
{
	text	   *t = DatumGetTextPP(DirectFunctionCall1Coll(f, DEFAULT_COLLATION_OID,
														   PointerGetDatum(cstring_to_text_with_len(v->s, v->slen))));

	return StringJsonb(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static Jsonb *
FnTrim(RvgFunc fn, const CyValue *v)
{
	int			start = 0;
	int			end = v->slen;

	if (fn != RVG_FN_RTRIM)
		while (start < end && isspace((unsigned char) v->s[start]))
			start++;
	if (fn != RVG_FN_LTRIM)
		while (end > start && isspace((unsigned char) v->s[end - 1]))
			end--;
	return StringJsonb(v->s + start, end - start);
}

static Jsonb *
FnReplace(const CyValue *args)
{
	StringInfoData buf;
	const CyValue *s = &args[0];
	const CyValue *from = &args[1];
	const CyValue *to = &args[2];

	for (int i = 0; i < 3; i++)
		RequireString(RVG_FN_REPLACE, &args[i]);
	if (from->slen == 0)
		return StringJsonb(s->s, s->slen);
	initStringInfo(&buf);
	for (int i = 0; i < s->slen;)
	{
		if (i + from->slen <= s->slen && memcmp(s->s + i, from->s, from->slen) == 0)
		{
			appendBinaryStringInfo(&buf, to->s, to->slen);
			i += from->slen;
		}
		else
			appendStringInfoChar(&buf, s->s[i++]);
	}
	return StringJsonb(buf.data, buf.len);
}

/* substring(s, start[, length]), left(s, n), right(s, n): in characters. */
static Jsonb *
FnSubstring(RvgFunc fn, const CyValue *args, int nargs)
{
	const CyValue *s = &args[0];
	int			chars;
	int64		start,
				len;
	int			b0,
				b1;

	RequireString(fn, s);
	chars = CharLength(s);
	if (fn == RVG_FN_SUBSTRING)
	{
		start = ArgInt(fn, &args[1]);
		len = nargs > 2 ? ArgInt(fn, &args[2]) : chars;
	}
	else
	{
		len = ArgInt(fn, &args[1]);
		start = fn == RVG_FN_LEFT ? 0 : chars - (len < chars ? len : chars);
	}
	if (start < 0 || len < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() needs non-negative positions", FuncName(fn))));
	b0 = CharOffset(s, start);
	b1 = b0 + CharOffset(&(CyValue) {.s = s->s + b0, .slen = s->slen - b0}, len);
	return StringJsonb(s->s + b0, b1 - b0);
}

static Jsonb *
FnSplit(const CyValue *s, const CyValue *d)
{
	ListBuilder lb;
	int			start = 0;

	RequireString(RVG_FN_SPLIT, s);
	RequireString(RVG_FN_SPLIT, d);
	ListBegin(&lb);
	for (int i = 0; i <= s->slen; i++)
	{
		bool		at_delim = d->slen > 0 && i + d->slen <= s->slen &&
			memcmp(s->s + i, d->s, d->slen) == 0;

		if (at_delim || i == s->slen || d->slen == 0)
		{
			JsonbValue	jv;
			int			len = (d->slen == 0 && i < s->slen) ? pg_mblen(s->s + i) : i - start;

			if (d->slen == 0 && i == s->slen)
				break;
			jv.type = jbvString;
			jv.val.string.val = (char *) s->s + start;
			jv.val.string.len = len;
			ListPush(&lb, &jv);
			if (d->slen == 0)
			{
				i += len - 1;
				start = i + 1;
			}
			else
			{
				start = i + d->slen;
				i = start - 1;
			}
		}
	}
	return ListEnd(&lb);
}

static Jsonb *
FnSizeLength(RvgFunc fn, const CyValue *v)
{
	if (v->type == CV_STRING)
		return RvgIntJsonb(CharLength(v));
	if (v->type == CV_LIST && fn == RVG_FN_LENGTH && IsPathValue(v->c))
		return RvgIntJsonb(JsonContainerSize(v->c) / 2);	/* relationships */
	if (v->type == CV_LIST)
		return RvgIntJsonb(ListLength(v));
	if (v->type == CV_MAP && fn == RVG_FN_SIZE)
		return RvgIntJsonb(JsonContainerSize(v->c));
	ArgTypeError(fn, v);
	return NULL;
}

static Jsonb *
FnValueType(const CyValue *v)
{
	const char *t;

	switch (v->type)
	{
		case CV_BOOL: t = "BOOLEAN"; break;
		case CV_INT: t = "INTEGER"; break;
		case CV_FLOAT: t = "FLOAT"; break;
		case CV_STRING: t = "STRING"; break;
		case CV_LIST: t = "LIST<ANY>"; break;
		case CV_MAP: t = "MAP"; break;
		default: t = "NULL"; break;
	}
	return StringJsonb(t, strlen(t));
}

/* Dispatches one call; NULL result means Cypher null. */
static Jsonb *
CallFunction(RvgFunc fn, CyValue *args, int nargs)
{
	/* every function but valueType() maps a null argument to null */
	if (fn != RVG_FN_TYPEOF)
		for (int i = 0; i < nargs; i++)
			if (args[i].type == CV_NULL)
				return NULL;
	switch (fn)
	{
		case RVG_FN_SIZE:
		case RVG_FN_LENGTH: return FnSizeLength(fn, &args[0]);
		case RVG_FN_HEAD:
		case RVG_FN_LAST:
		case RVG_FN_TAIL: return FnListPart(fn, &args[0]);
		case RVG_FN_REVERSE:
			if (args[0].type == CV_STRING)
			{
				char	   *r = palloc(args[0].slen + 1);
				int			o = args[0].slen;

				for (int i = 0; i < args[0].slen;)
				{
					int			l = pg_mblen(args[0].s + i);

					o -= l;
					memcpy(r + o, args[0].s + i, l);
					i += l;
				}
				return StringJsonb(r, args[0].slen);
			}
			return FnListPart(fn, &args[0]);
		case RVG_FN_RANGE: return FnRange(args, nargs);
		case RVG_FN_KEYS: return FnKeys(&args[0]);
		case RVG_FN_TOSTRING: return FnToString(&args[0]);
		case RVG_FN_TOINTEGER:
		case RVG_FN_TOFLOAT: return FnToNumber(fn, &args[0]);
		case RVG_FN_TOBOOLEAN: return FnToBoolean(&args[0]);
		case RVG_FN_PI: return RvgFloatJsonb(M_PI);
		case RVG_FN_E: return RvgFloatJsonb(M_E);
		case RVG_FN_TOLOWER:
		case RVG_FN_TOUPPER:
			RequireString(fn, &args[0]);
			return TextFn(fn == RVG_FN_TOLOWER ? lower : upper, &args[0]);
		case RVG_FN_TRIM:
		case RVG_FN_LTRIM:
		case RVG_FN_RTRIM:
			RequireString(fn, &args[0]);
			return FnTrim(fn, &args[0]);
		case RVG_FN_REPLACE: return FnReplace(args);
		case RVG_FN_SUBSTRING:
		case RVG_FN_LEFT:
		case RVG_FN_RIGHT: return FnSubstring(fn, args, nargs);
		case RVG_FN_SPLIT: return FnSplit(&args[0], &args[1]);
		case RVG_FN_VDIST_L2:
		case RVG_FN_VDIST_COSINE:
		case RVG_FN_VDIST_IP:
		case RVG_FN_VDIST_L1:
		case RVG_FN_VSIM_COSINE:
		case RVG_FN_VSIM_EUCLIDEAN:
			{
				double		d = VectorDistance(fn, &args[0], &args[1]);

				return isnan(d) ? NULL : RvgFloatJsonb(d);
			}
		case RVG_FN_VNORM:
			{
				float	   *x;
				int			n = ReadVector(&args[0], &x, "vector.norm's argument");
				double		s = 0;

				for (int i = 0; i < n; i++)
					s += (double) x[i] * x[i];
				return RvgFloatJsonb(sqrt(s));
			}
		case RVG_FN_TYPEOF: return FnValueType(&args[0]);
		case RVG_FN_ISEMPTY:
			if (args[0].type == CV_STRING)
				return BoolJsonb(args[0].slen == 0);
			if (args[0].type == CV_LIST)
				return BoolJsonb(ListLength(&args[0]) == 0);
			if (args[0].type == CV_MAP)
				return BoolJsonb(JsonContainerSize(args[0].c) == 0);
			ArgTypeError(fn, &args[0]);
			return NULL;
		default:
			return FnMath(fn, &args[0], nargs > 1 ? &args[1] : NULL);
	}
}

/*
 * The definition of function id, after checking that it exists and takes
 * nargs arguments: the id and the argument list come from the caller, who
 * need not be the translator.
 */
static const FuncDef *
CheckFunctionCall(int32 raw, int nargs, int *loc)
{
	int			id = SplitLoc(raw, loc);
	const FuncDef *def = NULL;

	for (int i = 0; func_defs[i].name != NULL; i++)
		if ((int) func_defs[i].id == id)
		{
			def = &func_defs[i];
			break;
		}
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown Cypher function id %d", raw)));
	if (nargs < def->minargs || nargs > def->maxargs)
	{
		if (def->minargs == def->maxargs)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("Cypher function %s() takes %d argument%s, not %d", def->name,
							def->minargs, def->minargs == 1 ? "" : "s", nargs)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("Cypher function %s() takes %d to %d arguments, not %d", def->name,
						def->minargs, def->maxargs, nargs)));
	}
	return def;
}

Datum
ruvector_cy_fn(PG_FUNCTION_ARGS)
{
	RvgFunc		fn;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			nargs;
	CyValue    *args;
	Jsonb	   *r;
	int			loc;
	ErrorContextCallback cb;

	CHECK_ARGS("ruvector_cy_fn", INT4OID, JSONBARRAYOID);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_ELEMTYPE(arr) != JSONBOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("arguments of ruvector_cy_fn must be jsonb, not %s",
						format_type_be(ARR_ELEMTYPE(arr)))));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments of ruvector_cy_fn must be a one-dimensional array, not %d dimensions",
						ARR_NDIM(arr))));
	deconstruct_array(arr, JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nargs);
	fn = CheckFunctionCall(PG_GETARG_INT32(0), nargs, &loc)->id;
	args = palloc(sizeof(CyValue) * (nargs > 0 ? nargs : 1));
	cb.callback = LocCallback;
	cb.arg = &loc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	for (int i = 0; i < nargs; i++)
		Decode(nulls[i] ? NULL : DatumGetJsonbP(elems[i]), &args[i]);
	r = CallFunction(fn, args, nargs);
	error_context_stack = cb.previous;
	if (r == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(r);
}
