/*
 * graph_scalar.c — Cypher's scalar function library for the SQL that
 * cypher_plan.c generates: ruvector_cy_fn(id, VARIADIC args) (size, range,
 * toString, the math and string functions, vector.distance and the other
 * vector functions) and ruvector_cy_vector, the jsonb-to-vector conversion
 * used for vector search.
 *
 * NOTES
 *	Values are decoded as graph_funcs.c decodes them (graph_value.h), with
 *	the same null rules: a null argument gives null unless the function says
 *	otherwise.
 *
 *	Untrusted callers: ruvector_cy_fn checks the function id and its arity
 *	before it reads an argument (CheckFunctionCall), as graph_funcs.c's
 *	entry points do.
 *
 *	Vector functions compute with the distance kernels of src/distance/
 *	(the dispatched ones the vector type's operators use), over float4
 *	vectors read from a list of numbers or from vector text.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/varlena.h"

#include "distance/distance.h"
#include "graph/graph_value.h"
#include "types/types.h"
#include "types/typeutils.h"

PG_FUNCTION_INFO_V1(ruvector_cy_fn);
PG_FUNCTION_INFO_V1(ruvector_cy_vector);

/* the longest list range() builds */
#define RVG_MAX_LIST 10000000

/* vector's text input (src/types/vector.c), for vectors stored as strings */
extern Datum vector_in(PG_FUNCTION_ARGS);

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
				 errmsg("%s must be a list of numbers, not %s", what, RvgWithArticle(v->type))));
	n = RvgListLength(v);
	TypesCheckDim("vector", n, VECTOR_MAX_DIM);
	x = palloc(sizeof(float) * n);
	for (int i = 0; i < n; i++)
	{
		CyValue		e;

		RvgListElem(v, i, &e);
		if (!RvgIsNumber(&e))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s must be a list of numbers; element %d is %s",
							what, i, RvgWithArticle(e.type))));
		x[i] = (float) RvgAsDouble(&e);
		if (isinf(x[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("\"%g\" is out of range for type vector", RvgAsDouble(&e))));
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

	if (!RvgArgValue(fcinfo, "ruvector_cy_vector", &v))
		PG_RETURN_NULL();
	n = ReadVector(&v, &x, "a vector property");
	vec = rv_vector_new(n);
	memcpy(vec->x, x, sizeof(float) * n);
	PG_RETURN_POINTER(vec);
}

/*
 * Distances between two vector values with the dispatched kernels of
 * src/distance/, exactly as the vector type's operators compute them
 * (float32 sums, widened to double), so a ranking by vector.distance agrees
 * with one through an index on the same property.
 */
static double
VectorDistance(RvgFunc fn, const CyValue *a, const CyValue *b)
{
	float	   *x,
			   *y;
	int			na = ReadVector(a, &x, "vector.distance's first argument");
	int			nb = ReadVector(b, &y, "vector.distance's second argument");

	TypesCheckSameDims("vector", na, nb);
	switch (fn)
	{
		case RVG_FN_VDIST_L2: return sqrt((double) rv_f32_l2sq(x, y, na));
		case RVG_FN_VDIST_IP: return -(double) rv_f32_dot(x, y, na);
		case RVG_FN_VDIST_L1: return (double) rv_f32_l1(x, y, na);
		case RVG_FN_VSIM_EUCLIDEAN: return 1.0 / (1.0 + (double) rv_f32_l2sq(x, y, na));
		default:
			{
				float		dot,
							nx,
							ny;
				double		d;

				rv_f32_cos(x, y, na, &dot, &nx, &ny);
				d = TypesCosineDistance(dot, nx, ny);
				/* 1 - clamped cosine; NaN for a zero vector */
				return fn == RVG_FN_VSIM_COSINE ? (2.0 - d) / 2.0 : d;
			}
	}
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

static const RvgMetric metrics[] = {
	{"l2", RVG_FN_VDIST_L2, "<->", "vector_l2_ops"},
	{"cosine", RVG_FN_VDIST_COSINE, "<=>", "vector_cosine_ops"},
	{"ip", RVG_FN_VDIST_IP, "<#>", "vector_ip_ops"},
	{"l1", RVG_FN_VDIST_L1, "<+>", "vector_l1_ops"},
	{NULL, RVG_FN_NONE, NULL, NULL}
};

/* The metric of this name (exactly: l2, cosine, ip, l1), or NULL. */
const RvgMetric *
RvgLookupMetric(const char *name)
{
	for (int i = 0; metrics[i].name != NULL; i++)
		if (strcmp(name, metrics[i].name) == 0)
			return &metrics[i];
	return NULL;
}

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
			 errmsg("%s() does not accept %s", FuncName(fn), RvgWithArticle(v->type))));
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
	if (!RvgIsNumber(v))
		ArgTypeError(fn, v);
	return RvgAsDouble(v);
}

static void
RequireString(RvgFunc fn, const CyValue *v)
{
	if (v->type != CV_STRING)
		ArgTypeError(fn, v);
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
	RvgListBuilder lb;
	int64		count = 0;

	if (step == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("range() step must not be zero")));
	RvgListBegin(&lb);
	for (int64 i = start; step > 0 ? i <= end : i >= end;)
	{
		JsonbValue	jv;

		if (++count > RVG_MAX_LIST)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("range() would return more than %d elements", RVG_MAX_LIST)));
		jv.type = jbvNumeric;
		jv.val.numeric = int64_to_numeric(i);
		RvgListPush(&lb, &jv);
		if (pg_add_s64_overflow(i, step, &i))
			break;
	}
	return RvgListEnd(&lb);
}

static Jsonb *
FnListPart(RvgFunc fn, const CyValue *v)
{
	int			n;

	if (v->type != CV_LIST)
		ArgTypeError(fn, v);
	n = RvgListLength(v);
	if (fn == RVG_FN_TAIL || fn == RVG_FN_REVERSE)
	{
		RvgListBuilder lb;

		RvgListBegin(&lb);
		for (int i = 0; i < n; i++)
		{
			if (fn == RVG_FN_TAIL && i == 0)
				continue;
			RvgListPush(&lb, getIthJsonbValueFromContainer(v->c, (uint32) (fn == RVG_FN_REVERSE ? n - 1 - i : i)));
		}
		return RvgListEnd(&lb);
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
	RvgListBuilder lb;

	if (v->type != CV_MAP)
		ArgTypeError(RVG_FN_KEYS, v);
	RvgListBegin(&lb);
	it = JsonbIteratorInit(v->c);
	while ((tok = JsonbIteratorNext(&it, &jv, true)) != WJB_DONE)
		if (tok == WJB_KEY)
			RvgListPush(&lb, &jv);
	return RvgListEnd(&lb);
}

static Jsonb *
FnToString(const CyValue *v)
{
	int			len;
	char	   *s;

	if (v->type == CV_STRING)
		return RvgStringJsonb(v->s, v->slen);
	if (!RvgIsNumber(v) && v->type != CV_BOOL)
		ArgTypeError(RVG_FN_TOSTRING, v);
	s = RvgConcatText(v, &len);
	return RvgStringJsonb(s, len);
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
	else if (RvgIsNumber(v))
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
		RvgIntOverflow();
	return RvgIntJsonb((int64) trunc(d));
}

static Jsonb *
FnToBoolean(const CyValue *v)
{
	if (v->type == CV_BOOL)
		return RvgBoolJsonb(v->b);
	if (v->type == CV_STRING)
	{
		char	   *s = pnstrdup(v->s, v->slen);

		if (pg_strcasecmp(s, "true") == 0)
			return RvgBoolJsonb(true);
		if (pg_strcasecmp(s, "false") == 0)
			return RvgBoolJsonb(false);
		return NULL;
	}
	if (v->type == CV_INT)
		return RvgBoolJsonb(v->i != 0);
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
					RvgIntOverflow();
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

	return RvgStringJsonb(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
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
	return RvgStringJsonb(v->s + start, end - start);
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
		return RvgStringJsonb(s->s, s->slen);
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
	return RvgStringJsonb(buf.data, buf.len);
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
	chars = RvgCharLength(s);
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
	return RvgStringJsonb(s->s + b0, b1 - b0);
}

static Jsonb *
FnSplit(const CyValue *s, const CyValue *d)
{
	RvgListBuilder lb;
	int			start = 0;

	RequireString(RVG_FN_SPLIT, s);
	RequireString(RVG_FN_SPLIT, d);
	RvgListBegin(&lb);
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
			RvgListPush(&lb, &jv);
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
	return RvgListEnd(&lb);
}

static Jsonb *
FnSizeLength(RvgFunc fn, const CyValue *v)
{
	if (v->type == CV_STRING)
		return RvgIntJsonb(RvgCharLength(v));
	if (v->type == CV_LIST && fn == RVG_FN_LENGTH && RvgIsPathValue(v->c))
		return RvgIntJsonb(JsonContainerSize(v->c) / 2);	/* relationships */
	if (v->type == CV_LIST)
		return RvgIntJsonb(RvgListLength(v));
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
	return RvgStringJsonb(t, strlen(t));
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
				return RvgStringJsonb(r, args[0].slen);
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

				return RvgFloatJsonb(sqrt(TypesSumSquares(x, n)));
			}
		case RVG_FN_TYPEOF: return FnValueType(&args[0]);
		case RVG_FN_ISEMPTY:
			if (args[0].type == CV_STRING)
				return RvgBoolJsonb(args[0].slen == 0);
			if (args[0].type == CV_LIST)
				return RvgBoolJsonb(RvgListLength(&args[0]) == 0);
			if (args[0].type == CV_MAP)
				return RvgBoolJsonb(JsonContainerSize(args[0].c) == 0);
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
	int			id = RvgSplitLoc(raw, loc);
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
	cb.callback = RvgLocCallback;
	cb.arg = &loc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	for (int i = 0; i < nargs; i++)
		RvgDecode(nulls[i] ? NULL : DatumGetJsonbP(elems[i]), &args[i]);
	r = CallFunction(fn, args, nargs);
	error_context_stack = cb.previous;
	if (r == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(r);
}
