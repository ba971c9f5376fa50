/*
 * cypher_exec.c — runs translated Cypher: the ruvector_cypher entry points,
 * the steps of cypher_plan.c through SPI, and the updating clauses.
 *
 * NOTES
 *	Everything runs inside the caller's transaction through SPI, so graph
 *	updates commit, roll back and replicate with it, and a query is
 *	cancelled like any statement (SPI execution checks for interrupts; so do
 *	the loops here, once per row).
 *
 *	Rows between steps are held column by column (struct Rows) in the SPI
 *	procedure's memory context and passed to the next statement as arrays.
 *	The final statement streams through a cursor into the result tuplestore;
 *	its plan comes from the per-backend cache of cypher_cache.c.
 *
 *	CREATE takes its ids from the entity sequence in one round trip and
 *	inserts all rows' nodes, then all relationships, with one INSERT ...
 *	SELECT FROM unnest(...) each.  MERGE looks its pattern up per row (a
 *	prepared statement), so a row sees what earlier rows created.  SET and
 *	REMOVE update per row and item, in order, after locking their targets
 *	(MaterializeLocked: no lost update).  MERGE serialises sessions creating
 *	the same pattern with a transaction-level lock (MergeLockAndLookAgain).
 *	FOREACH keeps the rows before it (a PUSH step) and goes back to them
 *	after its clauses (POP).  DELETE gathers every id of
 *	the clause first, deletes relationships before nodes, and refuses a node
 *	that still has relationships unless DETACH.
 *
 *	Lock order: as graph_catalog.c (graph row, then its nodes and edges);
 *	a SET locks its nodes, then its relationships, each in id order; a
 *	MERGE's pattern lock comes before the rows it creates.
 *	The inserts' foreign keys take KEY SHARE on the graph row and on the
 *	nodes a new relationship joins.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "tcop/pquery.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "graph/cypher_plan.h"

PG_FUNCTION_INFO_V1(ruvector_cypher);
PG_FUNCTION_INFO_V1(ruvector_cypher_rows);
PG_FUNCTION_INFO_V1(ruvector_cypher_sql);


/* Rows between steps, column by column. */
typedef struct Rows
{
	int			ncols;
	RvgColType *types;
	int64		n;
	int64		cap;
	Datum	  **vals;			/* [col][row] */
	bool	  **nulls;
} Rows;

/* Where the final rows go. */
typedef struct Output
{
	Tuplestorestate *store;
	TupleDesc	desc;
	bool		typed;
	char	  **names;
	int			ncols;
	MemoryContext rowcxt;
	/*
	 * jsonb form: the RETURN names as object keys in jsonb's key order
	 * (keyorder[i] is the column of the i-th key), made by RunFinal; NULL
	 * if the names cannot be ordered strictly (EmitRow's general path).
	 */
	JsonbPair  *pairs;
	int		   *keyorder;
	/*
	 * NULL, or per column the property key it reads from the properties
	 * object the column holds (RvgStep.keys), NULL for a column that holds
	 * its value
	 */
	char	  **keys;
	/* typed form */
	FmgrInfo   *inproc;
	Oid		   *ioparam;
	int			current_col;	/* for the error context */
} Output;

typedef struct Executor
{
	RvgPlan    *plan;
	RvgGraph   *g;
	const char *s;
	Output	   *out;
} Executor;

/* ---------------------------------------------------------------------
 * Parsing
 * ---------------------------------------------------------------------
 */
static void *
ParserAlloc(void *ctx, size_t size)
{
	if (size > MaxAllocSize)
		return NULL;
	return palloc0(size);
}

/* "expected ')'" -> "Expected ')'." */
static char *
Sentence(const char *msg)
{
	char	   *s = psprintf("%s.", msg);

	s[0] = pg_toupper((unsigned char) s[0]);
	return s;
}

/* Parses the query or raises the parser's error with its position. */
static CyQuery *
ParseCypher(const char *text)
{
	CyParseError err;
	CyQuery    *q = cy_parse(text, strlen(text), ParserAlloc, NULL, &err);
	int			sqlstate;
	char	   *where;

	if (q != NULL)
		return q;
	switch (err.code)
	{
		case CY_ERR_RANGE:
			sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case CY_ERR_DEPTH:
			sqlstate = ERRCODE_STATEMENT_TOO_COMPLEX;
			break;
		case CY_ERR_NOMEM:
			sqlstate = ERRCODE_OUT_OF_MEMORY;
			break;
		default:
			sqlstate = ERRCODE_SYNTAX_ERROR;
			break;
	}
	where = err.at_end ? psprintf("at end of input") : psprintf("at or near \"%s\"", err.token);
	ereport(ERROR,
			(errcode(sqlstate),
			 err.code == CY_ERR_SYNTAX ?
			 errmsg("Cypher syntax error %s at line %d, column %d", where, err.line, err.column) :
			 errmsg("%s %s at line %d, column %d of the Cypher query", err.message, where,
					err.line, err.column),
			 err.code == CY_ERR_SYNTAX ? errdetail("%s", Sentence(err.message)) : 0,
			 internalerrposition(err.offset + 1),
			 internalerrquery(text)));
	return NULL;
}

/* ---------------------------------------------------------------------
 * Rows
 * ---------------------------------------------------------------------
 */
static Rows *
NewRows(int ncols, RvgColType *types, int64 cap)
{
	Rows	   *r = palloc0(sizeof(Rows));

	r->ncols = ncols;
	r->types = types;
	r->cap = cap > 16 ? cap : 16;
	r->vals = palloc(sizeof(Datum *) * (ncols + 1));
	r->nulls = palloc(sizeof(bool *) * (ncols + 1));
	for (int c = 0; c < ncols; c++)
	{
		r->vals[c] = palloc(sizeof(Datum) * r->cap);
		r->nulls[c] = palloc(sizeof(bool) * r->cap);
	}
	return r;
}

/* Makes room for one more row and returns its index. */
static int64
AddRow(Rows *r)
{
	if (r->n == r->cap)
	{
		r->cap *= 2;
		if ((Size) r->cap * sizeof(Datum) > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many intermediate rows in a Cypher query")));
		for (int c = 0; c < r->ncols; c++)
		{
			r->vals[c] = repalloc(r->vals[c], sizeof(Datum) * r->cap);
			r->nulls[c] = repalloc(r->nulls[c], sizeof(bool) * r->cap);
		}
	}
	return r->n++;
}

/* Copies the carried columns of row i of in into a new row of out. */
static int64
CopyCarried(Rows *out, Rows *in, int64 i, int ncarry)
{
	int64		o = AddRow(out);

	for (int c = 0; c < ncarry; c++)
	{
		out->vals[c][o] = in->vals[c][i];
		out->nulls[c][o] = in->nulls[c][i];
	}
	for (int c = ncarry; c < out->ncols; c++)
		out->nulls[c][o] = true;
	return o;
}

static void
SetCell(Rows *r, int col, int64 row, Datum d, bool isnull)
{
	r->vals[col - 1][row] = d;
	r->nulls[col - 1][row] = isnull;
}

/* The statement's array arguments from the previous step's rows. */
static void
InputArgs(RvgStep *st, Rows *in, Oid **types, Datum **values, char **nulls)
{
	*types = palloc(sizeof(Oid) * (st->ninput + 1));
	*values = palloc(sizeof(Datum) * (st->ninput + 1));
	*nulls = palloc(sizeof(char) * (st->ninput + 1));
	for (int c = 0; c < st->ninput; c++)
	{
		bool		id = st->intypes[c] == COL_ID;
		int			dims[1] = {(int) in->n};
		int			lbs[1] = {1};

		if (in->n > MaxAllocSize / sizeof(Datum))
			elog(ERROR, "too many rows");
		(*types)[c] = id ? INT8ARRAYOID : JSONBARRAYOID;
		(*values)[c] = PointerGetDatum(construct_md_array(in->vals[c], in->nulls[c], 1, dims, lbs,
														  id ? INT8OID : JSONBOID,
														  id ? 8 : -1, id ? FLOAT8PASSBYVAL : false,
														  id ? TYPALIGN_DOUBLE : TYPALIGN_INT));
		(*nulls)[c] = ' ';
	}
}

/* Runs a step's statement and keeps all its rows. */
static Rows *
Materialize(Executor *ex, RvgStep *st, Rows *in)
{
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;
	int			rc;
	Rows	   *r;
	SPITupleTable *tt;

	InputArgs(st, in, &types, &values, &nulls);
	rc = SPI_execute_with_args(st->sql, st->ninput, types, values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "Cypher step failed (%d): %s", rc, st->sql);
	tt = SPI_tuptable;
	r = NewRows(st->ncols, st->coltypes, (int64) SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int64		row = AddRow(r);

		if ((i & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int c = 0; c < st->ncols; c++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(tt->vals[i], tt->tupdesc, c + 1, &isnull);

			r->vals[c][row] = isnull ? (Datum) 0 :
				(st->coltypes[c] == COL_ID ? d : PointerGetDatum(PG_DETOAST_DATUM_COPY(d)));
			r->nulls[c][row] = isnull;
		}
	}
	SPI_freetuptable(tt);
	return r;
}

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */
static void
OutputErrorContext(void *arg)
{
	Output	   *out = arg;

	if (out->current_col >= 0)
		errcontext("converting the Cypher result column \"%s\" to type %s",
				   out->names[out->current_col],
				   format_type_be(TupleDescAttr(out->desc, out->current_col)->atttypid));
}

/* A JSON list as a PostgreSQL array literal ({"a","b"}), for array columns. */
static char *
ArrayLiteral(Jsonb *jb)
{
	StringInfoData buf;
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *s;

		if (tok != WJB_ELEM)
			continue;
		if (n++ > 0)
			appendStringInfoChar(&buf, ',');
		if (v.type == jbvNull)
		{
			appendStringInfoString(&buf, "NULL");
			continue;
		}
		if (v.type == jbvString)
			s = pnstrdup(v.val.string.val, v.val.string.len);
		else
		{
			Jsonb	   *e = JsonbValueToJsonb(&v);

			s = JsonbToCString(NULL, &e->root, VARSIZE(e));
		}
		appendStringInfoChar(&buf, '"');
		for (char *p = s; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Converts one jsonb result value to the column's type. */
static Datum
TypedValue(Output *out, int c, Jsonb *jb)
{
	Form_pg_attribute att = TupleDescAttr(out->desc, c);
	char	   *text;
	bool		is_string;

	if (att->atttypid == JSONBOID)
		return JsonbPGetDatum(jb);
	if (att->atttypid == JSONOID)
		text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	else if (OidIsValid(get_element_type(att->atttypid)) && JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb))
		text = ArrayLiteral(jb);
	else
		text = RvgJsonbScalarText(jb, &is_string);
	return InputFunctionCall(&out->inproc[c], text, out->ioparam[c], att->atttypmod);
}

/* jsonb's order of object keys: shorter first, then bytewise. */
static int
KeyOrderCmp(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

/*
 * Sets out->pairs / keyorder for the final step's names, so that a row of
 * scalar values becomes its object without jsonb's general builder (which
 * sorts the keys and unpacks each value again, for every row).
 */
static void
SetKeyOrder(Output *out)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(out));

	out->pairs = NULL;
	out->keyorder = NULL;
	if (out->typed || out->ncols < 1)
	{
		MemoryContextSwitchTo(old);
		return;
	}
	out->keyorder = palloc(sizeof(int) * out->ncols);
	out->pairs = palloc0(sizeof(JsonbPair) * out->ncols);
	for (int c = 0; c < out->ncols; c++)
	{
		int			i = c;

		/* insertion sort: RETURN lists are short */
		while (i > 0 && KeyOrderCmp(out->names[out->keyorder[i - 1]], out->names[c]) > 0)
		{
			out->keyorder[i] = out->keyorder[i - 1];
			i--;
		}
		out->keyorder[i] = c;
	}
	for (int i = 0; i < out->ncols; i++)
	{
		const char *name = out->names[out->keyorder[i]];

		if (i > 0 && KeyOrderCmp(out->names[out->keyorder[i - 1]], name) == 0)
		{
			pfree(out->keyorder);
			pfree(out->pairs);
			out->keyorder = NULL;
			out->pairs = NULL;
			break;				/* equal names: the general path decides */
		}
		out->pairs[i].key.type = jbvString;
		out->pairs[i].key.val.string.val = pstrdup(name);
		out->pairs[i].key.val.string.len = strlen(name);
		out->pairs[i].order = i;
	}
	MemoryContextSwitchTo(old);
}

/*
 * The value of property key in a properties object, found in place as
 * "props -> 'key'" finds it (a string or number points into props); false
 * when there is none, which "->" gives as SQL null.
 */
static bool
KeyValue(Datum props, const char *key, JsonbValue *v)
{
	Jsonb	   *jb = DatumGetJsonbP(props);

	if (!JB_ROOT_IS_OBJECT(jb))
		return false;
	return getKeyJsonValueFromContainer(&jb->root, key, strlen(key), v) != NULL;
}

/*
 * The row with its key columns (Output.keys) turned into the values "->"
 * would give, as jsonb, for the general and the typed paths.
 */
static void
KeyColumnsAsValues(Output *out, Datum **vals, bool **nulls)
{
	Datum	   *v = palloc(sizeof(Datum) * out->ncols);
	bool	   *n = palloc(sizeof(bool) * out->ncols);

	for (int c = 0; c < out->ncols; c++)
	{
		JsonbValue	found;

		v[c] = (*vals)[c];
		n[c] = (*nulls)[c];
		if (out->keys[c] == NULL || n[c])
			continue;
		if (KeyValue(v[c], out->keys[c], &found))
			v[c] = JsonbPGetDatum(JsonbValueToJsonb(&found));
		else
			n[c] = true;
	}
	*vals = v;
	*nulls = n;
}

/*
 * One scalar's JEntry, its bytes written at data + *end (when data is not
 * NULL) and *end advanced past them, as PostgreSQL's convertJsonbScalar
 * does: a string's bytes, a numeric's varlena after zero padding to a
 * multiple of 4 (data starts 4-aligned from the datum's start), nothing
 * for null and booleans.
 */
static JEntry
ScalarEntry(JsonbValue *v, char *data, uint32 *end)
{
	uint32		len;
	uint32		pad;

	switch (v->type)
	{
		case jbvNull:
			return JENTRY_ISNULL;
		case jbvBool:
			return v->val.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
		case jbvString:
			len = v->val.string.len;
			if (data != NULL)
				memcpy(data + *end, v->val.string.val, len);
			*end += len;
			return JENTRY_ISSTRING | len;
		case jbvNumeric:
			pad = INTALIGN(*end) - *end;
			len = VARSIZE_ANY(v->val.numeric);
			if (data != NULL)
				memcpy(data + *end + pad, v->val.numeric, len);
			*end += pad + len;
			return JENTRY_ISNUMERIC | (pad + len);
		default:
			elog(ERROR, "unexpected jsonb value type %d in a Cypher result row", (int) v->type);
	}
	return 0;					/* not reached */
}

/*
 * The jsonb of an object of n scalar values whose keys are distinct and in
 * jsonb's order, laid out byte for byte as JsonbValueToJsonb lays it out
 * (utils/jsonb.h: the container header, the keys' JEntries then the
 * values', every JB_OFFSET_STRIDE-th an end offset instead of a length,
 * then the keys' bytes and the values'), without the general converter's
 * growing buffer and per-value dispatch: this runs once per result row.
 * NULL if the data would not fit a JEntry offset (the general path then
 * raises jsonb's own error).
 */
static Jsonb *
ScalarObjectJsonb(JsonbPair *pairs, int n)
{
	Size		head = VARHDRSZ + sizeof(uint32) + sizeof(JEntry) * 2 * (Size) n;
	uint32		datalen = 0;
	uint32		end = 0;
	Jsonb	   *jb;
	char	   *data;

	for (int k = 0; k < 2 * n; k++)
	{
		(void) ScalarEntry(k < n ? &pairs[k].key : &pairs[k - n].value, NULL, &datalen);
		if (datalen > JENTRY_OFFLENMASK)
			return NULL;
	}
	jb = palloc0(head + datalen);
	SET_VARSIZE(jb, head + datalen);
	jb->root.header = (uint32) n | JB_FOBJECT;
	data = (char *) jb + head;
	for (int k = 0; k < 2 * n; k++)
	{
		JEntry		meta = ScalarEntry(k < n ? &pairs[k].key : &pairs[k - n].value, data, &end);

		if (k % JB_OFFSET_STRIDE == 0)
			meta = (meta & JENTRY_TYPEMASK) | end | JENTRY_HAS_OFF;
		jb->root.children[k] = meta;
	}
	Assert(end == datalen);
	return jb;
}

/*
 * The object of a row whose values are all scalars or null, built directly
 * from the ordered keys; NULL when a value is a list or map.  A key column
 * gives its value straight from the properties object.
 */
static Jsonb *
ScalarRowObject(Output *out, Datum *vals, bool *nulls)
{
	JsonbValue	obj;
	Jsonb	   *direct;

	for (int i = 0; i < out->ncols; i++)
	{
		int			c = out->keyorder[i];
		JsonbValue *v = &out->pairs[i].value;

		if (nulls[c])
			v->type = jbvNull;
		else if (out->keys != NULL && out->keys[c] != NULL)
		{
			if (!KeyValue(vals[c], out->keys[c], v))
				v->type = jbvNull;
			else if (v->type == jbvBinary)
				return NULL;
		}
		else
		{
			Jsonb	   *jb = DatumGetJsonbP(vals[c]);

			if (!JB_ROOT_IS_SCALAR(jb) || !JsonbExtractScalar(&jb->root, v))
				return NULL;
		}
	}
	obj.type = jbvObject;
	obj.val.object.nPairs = out->ncols;
	obj.val.object.pairs = out->pairs;
	direct = ScalarObjectJsonb(out->pairs, out->ncols);
	if (direct == NULL)
		return JsonbValueToJsonb(&obj);
#ifdef RVG_CHECK_ROW_ENCODING
	{
		Jsonb	   *ref = JsonbValueToJsonb(&obj);

		if (VARSIZE(ref) != VARSIZE(direct) || memcmp(ref, direct, VARSIZE(ref)) != 0)
			elog(ERROR, "row object encoding differs from JsonbValueToJsonb");
	}
#endif
	return direct;
}

/* Writes one final row (ncols jsonb values) to the result. */
static void
EmitRow(Output *out, Datum *vals, bool *nulls)
{
	MemoryContext old = MemoryContextSwitchTo(out->rowcxt);
	Jsonb	   *direct;

	if (!out->typed && out->pairs != NULL && (direct = ScalarRowObject(out, vals, nulls)) != NULL)
	{
		Datum		d = JsonbPGetDatum(direct);
		bool		isnull = false;

		tuplestore_putvalues(out->store, out->desc, &d, &isnull);
		MemoryContextSwitchTo(old);
		MemoryContextReset(out->rowcxt);
		return;
	}
	if (out->keys != NULL)
		KeyColumnsAsValues(out, &vals, &nulls);
	if (!out->typed)
	{
		JsonbParseState *state = NULL;
		JsonbValue *res = pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		Datum		d;
		bool		isnull = false;

		for (int c = 0; c < out->ncols; c++)
		{
			JsonbValue	k,
						v;

			k.type = jbvString;
			k.val.string.val = out->names[c];
			k.val.string.len = strlen(out->names[c]);
			res = pushJsonbValue(&state, WJB_KEY, &k);
			if (nulls[c])
				v.type = jbvNull;
			else
			{
				Jsonb	   *jb = DatumGetJsonbP(vals[c]);

				v.type = jbvBinary;
				v.val.binary.data = &jb->root;
				v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
			}
			res = pushJsonbValue(&state, WJB_VALUE, &v);
		}
		res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		d = JsonbPGetDatum(JsonbValueToJsonb(res));
		tuplestore_putvalues(out->store, out->desc, &d, &isnull);
	}
	else
	{
		Datum	   *tv = palloc(sizeof(Datum) * out->ncols);
		bool	   *tn = palloc(sizeof(bool) * out->ncols);
		ErrorContextCallback cb;

		cb.callback = OutputErrorContext;
		cb.arg = out;
		cb.previous = error_context_stack;
		error_context_stack = &cb;
		for (int c = 0; c < out->ncols; c++)
		{
			out->current_col = c;
			tn[c] = nulls[c];
			tv[c] = nulls[c] ? (Datum) 0 : TypedValue(out, c, DatumGetJsonbP(vals[c]));
		}
		out->current_col = -1;
		error_context_stack = cb.previous;
		tuplestore_putvalues(out->store, out->desc, tv, tn);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(out->rowcxt);
}

/*
 * The final statement's rows go to the result through this receiver; its
 * first ncols columns are the RETURN items, as jsonb.
 */
typedef struct EmitReceiver
{
	DestReceiver pub;
	Output	   *out;
} EmitReceiver;

static bool
EmitSlot(TupleTableSlot *slot, DestReceiver *self)
{
	EmitReceiver *recv = (EmitReceiver *) self;

	slot_getsomeattrs(slot, recv->out->ncols);
	EmitRow(recv->out, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
EmitStartup(DestReceiver *self, int operation, TupleDesc desc)
{
	EmitReceiver *recv = (EmitReceiver *) self;

	if (desc->natts < recv->out->ncols)
		elog(ERROR, "translated Cypher returns %d columns, not %d", desc->natts, recv->out->ncols);
}

static void
EmitNothing(DestReceiver *self)
{
}

/* Streams the final statement's rows into the result. */
static void
RunFinal(Executor *ex, RvgStep *st, Rows *in)
{
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;
	Portal		portal;
	Output	   *out = ex->out;
	EmitReceiver recv;
	void	   *pin = NULL;

	out->names = st->names;
	out->ncols = st->ncols;
	out->keys = st->keys;
	SetKeyOrder(out);
	if (out->typed && out->desc->natts != st->ncols)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the Cypher query returns %d column%s but the column definition list has %d",
						st->ncols, st->ncols == 1 ? "" : "s", out->desc->natts),
				 errhint("Give one column in AS (...) for each RETURN item."),
				 RvgErrPosition(ex->plan->text, st->loc)));
	InputArgs(st, in, &types, &values, &nulls);
	if (st->param_sql != NULL)
	{
		/* the inputs, then the property-map constants (cypher_cache.c) */
		types = repalloc(types, sizeof(Oid) * (st->ninput + st->nconst + 1));
		values = repalloc(values, sizeof(Datum) * (st->ninput + st->nconst + 1));
		nulls = repalloc(nulls, sizeof(char) * (st->ninput + st->nconst + 1));
		for (int k = 0; k < st->nconst; k++)
		{
			types[st->ninput + k] = JSONBOID;
			values[st->ninput + k] = DirectFunctionCall1(jsonb_in, CStringGetDatum(st->consts[k]));
			nulls[st->ninput + k] = ' ';
		}
		portal = RvgCachedCursor(st->param_sql, st->ninput + st->nconst, types, values, nulls,
								 &pin);
	}
	else
		portal = SPI_cursor_open_with_args(NULL, st->sql, st->ninput, types, values, nulls, false, 0);
	recv.pub.receiveSlot = EmitSlot;
	recv.pub.rStartup = EmitStartup;
	recv.pub.rShutdown = EmitNothing;
	recv.pub.rDestroy = EmitNothing;
	recv.pub.mydest = DestNone;
	recv.out = out;
	/* straight into the result: no copy of each row into an SPI tuple table */
	PortalRunFetch(portal, FETCH_FORWARD, FETCH_ALL, &recv.pub);
	SPI_cursor_close(portal);
	RvgCachedCursorRelease(pin);
}

/* ---------------------------------------------------------------------
 * CREATE (and MERGE's creation)
 * ---------------------------------------------------------------------
 */

/* n fresh ids from the entity sequence. */
static int64 *
TakeIds(Executor *ex, int64 n)
{
	int64	   *ids = palloc(sizeof(int64) * (n > 0 ? n : 1));
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(n)};
	int			rc;

	if (n == 0)
		return ids;
	rc = SPI_execute_with_args(psprintf("SELECT pg_catalog.nextval(%s::regclass) FROM pg_catalog.generate_series(1, $1)",
										quote_literal_cstr(psprintf("%s.ruvector_graph_entity_seq", ex->s))),
							   1, types, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != (uint64) n)
		elog(ERROR, "could not allocate graph ids");
	for (int64 i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return ids;
}

/* Growable arrays for one batch INSERT. */
typedef struct Batch
{
	int64		n;
	int64		cap;
	Datum	   *id;
	Datum	   *label;
	Datum	   *xlabels;		/* nodes: jsonb array of the further labels */
	Datum		none;			/* an empty jsonb array, made once */
	Datum	   *start;
	Datum	   *end;
	Datum	   *props;
} Batch;

static void
BatchAdd(Batch *b, int64 id, const char *label, const char *xlabels, int64 start, int64 end,
		 Jsonb *props)
{
	if (b->n == b->cap)
	{
		b->cap = b->cap ? b->cap * 2 : 64;
		b->id = b->id ? repalloc(b->id, sizeof(Datum) * b->cap) : palloc(sizeof(Datum) * b->cap);
		b->label = b->label ? repalloc(b->label, sizeof(Datum) * b->cap) : palloc(sizeof(Datum) * b->cap);
		b->xlabels = b->xlabels ? repalloc(b->xlabels, sizeof(Datum) * b->cap) : palloc(sizeof(Datum) * b->cap);
		b->start = b->start ? repalloc(b->start, sizeof(Datum) * b->cap) : palloc(sizeof(Datum) * b->cap);
		b->end = b->end ? repalloc(b->end, sizeof(Datum) * b->cap) : palloc(sizeof(Datum) * b->cap);
		b->props = b->props ? repalloc(b->props, sizeof(Datum) * b->cap) : palloc(sizeof(Datum) * b->cap);
	}
	b->id[b->n] = Int64GetDatum(id);
	b->label[b->n] = CStringGetTextDatum(label);
	if (xlabels == NULL && b->none == (Datum) 0)
		b->none = DirectFunctionCall1(jsonb_in, CStringGetDatum("[]"));
	b->xlabels[b->n] = xlabels ? DirectFunctionCall1(jsonb_in, CStringGetDatum(xlabels)) : b->none;
	b->start[b->n] = Int64GetDatum(start);
	b->end[b->n] = Int64GetDatum(end);
	b->props[b->n] = JsonbPGetDatum(props);
	b->n++;
}

static Datum
ArrayOf(Datum *d, int64 n, Oid type)
{
	if (type == INT8OID)
		return PointerGetDatum(construct_array(d, (int) n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (type == TEXTOID)
		return PointerGetDatum(construct_array(d, (int) n, TEXTOID, -1, false, TYPALIGN_INT));
	return PointerGetDatum(construct_array(d, (int) n, JSONBOID, -1, false, TYPALIGN_INT));
}

/* Inserts a batch of nodes, then a batch of relationships. */
static void
FlushBatches(Executor *ex, Batch *nodes, Batch *edges)
{
	if (nodes->n > 0)
	{
		Oid			types[4] = {INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID, JSONBARRAYOID};
		Datum		values[4] = {ArrayOf(nodes->id, nodes->n, INT8OID), ArrayOf(nodes->label, nodes->n, TEXTOID),
			ArrayOf(nodes->props, nodes->n, JSONBOID), ArrayOf(nodes->xlabels, nodes->n, JSONBOID)};
		const char *sql;

		/* 0.1.0's SQL has no labels column (and the planner let no node have two) */
		if (RvgLegacySchema())
			sql = psprintf("INSERT INTO %s.ruvector_graph_node (id, graph_id, label, properties) "
						   "SELECT u.i, %d, u.l, u.p FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) u(i, l, p)",
						   ex->s, ex->g->graph_id);
		else
			sql = psprintf("INSERT INTO %s.ruvector_graph_node (id, graph_id, label, properties, labels) "
						   "SELECT u.i, %d, u.l, u.p, CASE WHEN u.x = '[]'::jsonb THEN '{}'::pg_catalog.text[] "
						   "ELSE ARRAY(SELECT pg_catalog.jsonb_array_elements_text(u.x)) END "
						   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) u(i, l, p, x)",
						   ex->s, ex->g->graph_id);
		if (SPI_execute_with_args(sql, 4, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert nodes");
	}
	if (edges->n > 0)
	{
		Oid			types[5] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID, JSONBARRAYOID};
		Datum		values[5] = {ArrayOf(edges->id, edges->n, INT8OID), ArrayOf(edges->label, edges->n, TEXTOID),
			ArrayOf(edges->start, edges->n, INT8OID), ArrayOf(edges->end, edges->n, INT8OID),
		ArrayOf(edges->props, edges->n, JSONBOID)};

		if (SPI_execute_with_args(psprintf("INSERT INTO %s.ruvector_graph_edge (id, graph_id, type, start_id, end_id, properties) "
										   "SELECT u.i, %d, u.t, u.s, u.e, u.p FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5)) u(i, t, s, e, p)",
										   ex->s, ex->g->graph_id),
								  5, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert relationships");
	}
	nodes->n = 0;
	edges->n = 0;
}

static Jsonb *
CellProps(Rows *in, int col, int64 row, const char *what)
{
	if (col == 0 || in->nulls[col - 1][row])
		return RvgCleanProperties(NULL, what);
	return RvgCleanProperties(DatumGetJsonbP(in->vals[col - 1][row]), what);
}

/* A jsonb list of ids. */
static Datum
IdListJsonb(int64 *ids, int n)
{
	JsonbParseState *state = NULL;
	JsonbValue *res = pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);

	for (int i = 0; i < n; i++)
	{
		JsonbValue	v;

		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(ids[i]);
		res = pushJsonbValue(&state, WJB_ELEM, &v);
	}
	res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

/*
 * Creates the pattern's new nodes and relationships for input row i and
 * fills the new columns of output row o.  node_ids/edge_ids receive the
 * slot ids; next points into ids taken from the sequence.
 */
static void
CreateForRow(Executor *ex, RvgStep *st, Rows *in, int64 i, Rows *out, int64 o,
			 int64 **next, Batch *nodes, Batch *edges, int64 *node_ids, int64 *edge_ids)
{
	for (int k = 0; k < st->nwnodes; k++)
	{
		RvgWNode   *wn = &st->wnodes[k];

		if (wn->bound_col)
		{
			node_ids[k] = in->nulls[wn->bound_col - 1][i] ? -1 :
				DatumGetInt64(in->vals[wn->bound_col - 1][i]);
			continue;
		}
		node_ids[k] = *(*next)++;
		BatchAdd(nodes, node_ids[k], wn->label, wn->xlabels, 0, 0, CellProps(in, wn->props_col, i, "node properties"));
		if (wn->out_col)
			SetCell(out, wn->out_col, o, Int64GetDatum(node_ids[k]), false);
	}
	for (int k = 0; k < st->nwedges; k++)
	{
		RvgWEdge   *we = &st->wedges[k];

		if (node_ids[we->from] < 0 || node_ids[we->to] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("cannot create a relationship to a null node"),
					 RvgErrPosition(ex->plan->text, st->loc)));
		edge_ids[k] = *(*next)++;
		BatchAdd(edges, edge_ids[k], we->type, NULL, node_ids[we->from], node_ids[we->to],
				 CellProps(in, we->props_col, i, "relationship properties"));
		if (we->out_col)
			SetCell(out, we->out_col, o, Int64GetDatum(edge_ids[k]), false);
	}
}

/* Fills the path columns of output row o from slot ids. */
static void
SetPaths(RvgStep *st, Rows *out, int64 o, int64 *node_ids, int64 *edge_ids)
{
	for (int k = 0; k < st->nwpaths; k++)
	{
		RvgWPath   *wp = &st->wpaths[k];
		int64	   *pn,
				   *pe;

		if (wp->out_nodes == 0)
			continue;
		pn = palloc(sizeof(int64) * (wp->nnodes + 1));
		pe = palloc(sizeof(int64) * (wp->nedges + 1));
		for (int j = 0; j < wp->nnodes; j++)
			pn[j] = node_ids[wp->nodes[j]];
		for (int j = 0; j < wp->nedges; j++)
			pe[j] = edge_ids[wp->edges[j]];
		SetCell(out, wp->out_nodes, o, IdListJsonb(pn, wp->nnodes), false);
		SetCell(out, wp->out_edges, o, IdListJsonb(pe, wp->nedges), false);
	}
}

static int
NewSlots(RvgStep *st)
{
	int			n = st->nwedges;

	for (int k = 0; k < st->nwnodes; k++)
		if (!st->wnodes[k].bound_col)
			n++;
	return n;
}

static Rows *
ApplyCreate(Executor *ex, RvgStep *st, Rows *in)
{
	Rows	   *out = NewRows(st->nout, st->outtypes, in->n);
	int64	   *ids = TakeIds(ex, in->n * NewSlots(st));
	int64	   *next = ids;
	Batch		nodes = {0},
				edges = {0};
	int64	   *node_ids = palloc(sizeof(int64) * (st->nwnodes + 1));
	int64	   *edge_ids = palloc(sizeof(int64) * (st->nwedges + 1));

	for (int64 i = 0; i < in->n; i++)
	{
		int64		o = CopyCarried(out, in, i, st->ncarry);

		CHECK_FOR_INTERRUPTS();
		CreateForRow(ex, st, in, i, out, o, &next, &nodes, &edges, node_ids, edge_ids);
		SetPaths(st, out, o, node_ids, edge_ids);
	}
	FlushBatches(ex, &nodes, &edges);
	return out;
}

/* ---------------------------------------------------------------------
 * MERGE
 * ---------------------------------------------------------------------
 */

/* MERGE cannot look for null: a null bound node or property is an error. */
static void
CheckMergeParam(Executor *ex, RvgStep *st, RvgColType type, Datum d, bool isnull)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	Jsonb	   *jb;

	if (isnull && type == COL_ID)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("MERGE cannot use a null node"),
				 RvgErrPosition(ex->plan->text, st->loc)));
	if (type == COL_ID)
		return;
	if (isnull)
		return;
	jb = DatumGetJsonbP(d);
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("MERGE properties must be a map"),
				 RvgErrPosition(ex->plan->text, st->loc)));
	it = JsonbIteratorInit(&jb->root);
	while (RvgNextMapEntry(&it, &k, &v))
	{
		if (v.type == jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("MERGE cannot match a null value for property \"%.*s\"",
							k.val.string.len, k.val.string.val),
					 errhint("Use MATCH with a WHERE clause, or coalesce() the value."),
					 RvgErrPosition(ex->plan->text, st->loc)));
	}
}

/*
 * MERGE found nothing: before creating, serialise with the other sessions
 * merging the same pattern with the same values.  A transaction-level lock
 * on the hash of (graph, pattern, values), in a class of advisory locks of
 * its own (field 4 of the tag: applications' pg_advisory_lock keys use 1
 * and 2, so they never collide with these), is held until commit by the
 * session that creates; the others wait for it and look again with a new
 * snapshot, which then sees the creation.  Returns true when the second
 * look finds the pattern.  Under REPEATABLE READ the transaction's
 * snapshot cannot see the other's creation: that is a serialization
 * failure, as PostgreSQL reports for a row updated concurrently.
 */
#define RVG_MERGE_LOCK_FIELD4 0x5256

static bool
MergeLockAndLookAgain(Executor *ex, RvgStep *st, SPIPlanPtr plan, Datum *pvals, char *pnulls)
{
	StringInfoData key;
	uint64		hash;
	LOCKTAG		tag;
	bool		found;

	initStringInfo(&key);
	appendStringInfo(&key, "%d\\n%s", ex->g->graph_id, st->merge_sql);
	for (int p = 0; p < st->merge_nparams; p++)
	{
		if (pnulls[p] == 'n')
			appendStringInfoString(&key, "\\nnull");
		else if (st->merge_paramtypes[p] == COL_ID)
			appendStringInfo(&key, "\\n" INT64_FORMAT, DatumGetInt64(pvals[p]));
		else
			appendStringInfo(&key, "\\n%s", JsonbToCString(NULL, &DatumGetJsonbP(pvals[p])->root, 64));
	}
	hash = hash_bytes_extended((const unsigned char *) key.data, key.len, 0);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (hash >> 32), (uint32) hash, RVG_MERGE_LOCK_FIELD4);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	if (SPI_execute_plan(plan, pvals, pnulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "MERGE lookup failed");
	found = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	if (found || !IsolationUsesXactSnapshot())
		return found;
	if (SPI_execute_snapshot(plan, pvals, pnulls, GetLatestSnapshot(), InvalidSnapshot,
							 false, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "MERGE lookup failed");
	found = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent MERGE of the same pattern"),
				 errhint("Retry the transaction.")));
	return false;
}

static Rows *
ApplyMerge(Executor *ex, RvgStep *st, Rows *in)
{
	Rows	   *out = NewRows(st->nout, st->outtypes, in->n);
	int			np = st->merge_nparams;
	Oid		   *ptypes = palloc(sizeof(Oid) * (np + 1));
	Datum	   *pvals = palloc(sizeof(Datum) * (np + 1));
	char	   *pnulls = palloc(np + 1);
	SPIPlanPtr	plan;
	int64	   *node_ids = palloc(sizeof(int64) * (st->nwnodes + 1));
	int64	   *edge_ids = palloc(sizeof(int64) * (st->nwedges + 1));
	Batch		nodes = {0},
				edges = {0};
	Jsonb	   *yes = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("true")));
	Jsonb	   *no = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("false")));

	for (int p = 0; p < np; p++)
		ptypes[p] = st->merge_paramtypes[p] == COL_ID ? INT8OID : JSONBOID;
	plan = SPI_prepare(st->merge_sql, np, ptypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare MERGE lookup: %d", SPI_result);
	for (int64 i = 0; i < in->n; i++)
	{
		SPITupleTable *tt;
		uint64		found;

		CHECK_FOR_INTERRUPTS();
		for (int p = 0; p < np; p++)
		{
			int			col = st->merge_param_cols[p] - 1;

			CheckMergeParam(ex, st, st->merge_paramtypes[p], in->vals[col][i], in->nulls[col][i]);
			pvals[p] = in->vals[col][i];
			pnulls[p] = in->nulls[col][i] ? 'n' : ' ';
		}
		if (SPI_execute_plan(plan, pvals, pnulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "MERGE lookup failed");
		tt = SPI_tuptable;
		found = SPI_processed;
		for (uint64 m = 0; m < found; m++)
		{
			int64		o = CopyCarried(out, in, i, st->ncarry);
			int			rc = 1;

			for (int k = 0; k < st->nwnodes; k++)
			{
				RvgWNode   *wn = &st->wnodes[k];
				bool		isnull;

				if (wn->bound_col)
					node_ids[k] = DatumGetInt64(in->vals[wn->bound_col - 1][i]);
				else
					node_ids[k] = DatumGetInt64(SPI_getbinval(tt->vals[m], tt->tupdesc, rc++, &isnull));
				if (wn->out_col)
					SetCell(out, wn->out_col, o, Int64GetDatum(node_ids[k]), false);
			}
			for (int k = 0; k < st->nwedges; k++)
			{
				bool		isnull;

				edge_ids[k] = DatumGetInt64(SPI_getbinval(tt->vals[m], tt->tupdesc, rc++, &isnull));
				if (st->wedges[k].out_col)
					SetCell(out, st->wedges[k].out_col, o, Int64GetDatum(edge_ids[k]), false);
			}
			SetPaths(st, out, o, node_ids, edge_ids);
			SetCell(out, st->merge_flag_col, o, JsonbPGetDatum(no), false);
		}
		SPI_freetuptable(tt);
		if (found == 0 && MergeLockAndLookAgain(ex, st, plan, pvals, pnulls))
		{
			/* created meanwhile by a transaction that has committed: match it */
			i--;
			continue;
		}
		if (found == 0)
		{
			int64		o = CopyCarried(out, in, i, st->ncarry);
			int64	   *ids = TakeIds(ex, NewSlots(st));
			int64	   *next = ids;

			CreateForRow(ex, st, in, i, out, o, &next, &nodes, &edges, node_ids, edge_ids);
			/* later rows must see this one's creation */
			FlushBatches(ex, &nodes, &edges);
			SetPaths(st, out, o, node_ids, edge_ids);
			SetCell(out, st->merge_flag_col, o, JsonbPGetDatum(yes), false);
		}
	}
	return out;
}

/* ---------------------------------------------------------------------
 * SET and REMOVE
 * ---------------------------------------------------------------------
 */
typedef enum RvgSetOp
{
	SET_PROP,
	DEL_PROP,
	SET_ALL,
	MERGE_PROPS,
	SET_LABEL,
	DEL_LABEL,
	NUM_SET_OPS
} RvgSetOp;

static SPIPlanPtr
SetPlan(Executor *ex, SPIPlanPtr *cache, RvgSetOp op, bool edge)
{
	static const char *const sets[] = {
		"properties = pg_catalog.jsonb_set(properties, ARRAY[$2], $3)",
		"properties = properties - $2",
		"properties = $2",
		"properties = (properties || $2) - $3",
		/*
		 * A node's first label is in label, the others in labels (0.2.0's
		 * SQL): adding one fills label if it is empty, else appends to
		 * labels; removing the first moves the next one up.
		 */
		"label = CASE WHEN label = '' THEN $2 ELSE label END, "
		"labels = CASE WHEN label = '' OR label = $2 OR labels @> ARRAY[$2] THEN labels "
		"ELSE pg_catalog.array_append(labels, $2) END",
		"label = CASE WHEN label = $2 THEN COALESCE(labels[1], '') ELSE label END, "
		"labels = CASE WHEN label = $2 THEN labels[2:] ELSE pg_catalog.array_remove(labels, $2) END "
		"WHERE (label = $2 OR labels @> ARRAY[$2]) AND id = $1",
	};
	/* 0.1.0's SQL: one label, which SET replaces */
	static const char *const legacy_labels[] = {
		"label = $2",
		"label = '' WHERE label = $2 AND id = $1",
	};
	static const Oid argtypes[][3] = {
		{INT8OID, TEXTOID, JSONBOID},
		{INT8OID, TEXTOID},
		{INT8OID, JSONBOID},
		{INT8OID, JSONBOID, TEXTARRAYOID},
		{INT8OID, TEXTOID},
		{INT8OID, TEXTOID},
	};
	static const int nargs[] = {3, 2, 2, 3, 2, 2};
	int			slot = op * 2 + (edge ? 1 : 0);
	char	   *sql;

	if (cache[slot] != NULL)
		return cache[slot];
	sql = psprintf("UPDATE %s.ruvector_graph_%s SET %s%s", ex->s, edge ? "edge" : "node",
				   (op == SET_LABEL || op == DEL_LABEL) && RvgLegacySchema() ?
				   legacy_labels[op - SET_LABEL] : sets[op],
				   op == DEL_LABEL ? "" : " WHERE id = $1");
	cache[slot] = SPI_prepare(sql, nargs[op], (Oid *) argtypes[op]);
	if (cache[slot] == NULL)
		elog(ERROR, "could not prepare SET: %d", SPI_result);
	return cache[slot];
}

static void
RunSet(SPIPlanPtr plan, Datum *args)
{
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "SET failed");
}

/*
 * A target held as a value that no longer exists (deleted earlier in the
 * query: MATCH (n) DELETE n SET n.x = 1) is an error, as in Neo4j; a
 * variable's row that is gone reads as null and is skipped before.
 */
static void
CheckSetDone(Executor *ex, RvgWSetItem *ws, bool edge)
{
	if (ws->dynamic && SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the %s was deleted and cannot be changed",
						edge ? "relationship" : "node"),
				 RvgErrPosition(ex->plan->text, ws->loc)));
}

/* SET n += map: the non-null entries, and the keys whose value is null. */
static void
SplitMap(Jsonb *map, Jsonb **set, Datum *removed)
{
	JsonbIterator *it = JsonbIteratorInit(&map->root);
	JsonbValue	k,
				v;
	Datum	   *keys = palloc(sizeof(Datum) * (JsonContainerSize(&map->root) + 1));
	int			nkeys = 0;

	while (RvgNextMapEntry(&it, &k, &v))
		if (v.type == jbvNull)
			keys[nkeys++] = PointerGetDatum(cstring_to_text_with_len(k.val.string.val, k.val.string.len));
	*set = RvgCleanProperties(map, "the value of SET +=");
	*removed = PointerGetDatum(construct_array(keys, nkeys, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * The id and kind of a SET / REMOVE target in row i: a node or relationship
 * variable's id, or the entity a value holds (RvgWSetItem.dynamic).
 */
static int64
SetTarget(Executor *ex, RvgWSetItem *ws, Rows *in, int64 i, bool *edge)
{
	Jsonb	   *jb;
	JsonbValue *id;

	*edge = ws->edge;
	if (!ws->dynamic)
		return DatumGetInt64(in->vals[ws->target_col - 1][i]);
	jb = DatumGetJsonbP(in->vals[ws->target_col - 1][i]);
	id = JB_ROOT_IS_OBJECT(jb) ? getKeyJsonValueFromContainer(&jb->root, "id", 2, NULL) : NULL;
	if (id == NULL || id->type != jbvNumeric ||
		getKeyJsonValueFromContainer(&jb->root, "properties", 10, NULL) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("SET and REMOVE change nodes and relationships, not other values"),
				 RvgErrPosition(ex->plan->text, ws->loc)));
	*edge = getKeyJsonValueFromContainer(&jb->root, "start_id", 8, NULL) != NULL;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(id->val.numeric)));
}

static void
ApplySetItem(Executor *ex, RvgStep *st, RvgWSetItem *ws, Rows *in, int64 i, SPIPlanPtr *cache)
{
	Datum		args[3];
	Datum		value = ws->value_col ? in->vals[ws->value_col - 1][i] : (Datum) 0;
	bool		value_null = ws->value_col == 0 || in->nulls[ws->value_col - 1][i];
	bool		edge;

	args[0] = Int64GetDatum(SetTarget(ex, ws, in, i, &edge));
	switch (ws->kind)
	{
		case CYS_PROP:
			args[1] = CStringGetTextDatum(ws->key);
			if (ws->remove || value_null)
				RunSet(SetPlan(ex, cache, DEL_PROP, edge), args);
			else
			{
				args[2] = value;
				RunSet(SetPlan(ex, cache, SET_PROP, edge), args);
			}
			CheckSetDone(ex, ws, edge);
			break;
		case CYS_ASSIGN:
			args[1] = JsonbPGetDatum(RvgCleanProperties(value_null ? NULL : DatumGetJsonbP(value),
														"the value of SET ="));
			RunSet(SetPlan(ex, cache, SET_ALL, edge), args);
			CheckSetDone(ex, ws, edge);
			break;
		case CYS_MERGE:
			{
				Jsonb	   *set;

				if (value_null)
					break;
				if (!JB_ROOT_IS_OBJECT(DatumGetJsonbP(value)))
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("the value of SET += must be a map"),
							 RvgErrPosition(ex->plan->text, ws->loc)));
				SplitMap(DatumGetJsonbP(value), &set, &args[2]);
				args[1] = JsonbPGetDatum(set);
				RunSet(SetPlan(ex, cache, MERGE_PROPS, edge), args);
				CheckSetDone(ex, ws, edge);
			}
			break;
		case CYS_LABELS:
			if (edge)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("the type of a relationship cannot be changed"),
						 RvgErrPosition(ex->plan->text, ws->loc)));
			for (int l = 0; l < ws->nlabels; l++)
			{
				args[1] = CStringGetTextDatum(ws->labels[l]);
				RunSet(SetPlan(ex, cache, ws->remove ? DEL_LABEL : SET_LABEL, false), args);
			}
			break;
	}
}

static bool
FlagIs(Rows *in, int col, int64 i, bool want)
{
	JsonbValue	v;

	if (in->nulls[col - 1][i])
		return false;
	if (!JsonbExtractScalar(&DatumGetJsonbP(in->vals[col - 1][i])->root, &v) || v.type != jbvBool)
		return false;
	return v.val.boolean == want;
}

static Rows *
ApplySet(Executor *ex, RvgStep *st, Rows *in)
{
	Rows	   *out = NewRows(st->nout, st->outtypes, in->n);
	SPIPlanPtr	cache[NUM_SET_OPS * 2] = {0};

	for (int64 i = 0; i < in->n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		CopyCarried(out, in, i, st->ncarry);
		for (int k = 0; k < st->nsets; k++)
		{
			RvgWSetItem *ws = &st->sets[k];

			/* a null node (OPTIONAL MATCH) is skipped, as in Cypher */
			if (in->nulls[ws->target_col - 1][i])
				continue;
			if (ws->when_col && !FlagIs(in, ws->when_col, i, ws->when_created))
				continue;
			ApplySetItem(ex, st, ws, in, i, cache);
		}
	}
	return out;
}

/* ---------------------------------------------------------------------
 * DELETE
 * ---------------------------------------------------------------------
 */
typedef struct IdSet
{
	int64		n;
	int64		cap;
	Datum	   *ids;
} IdSet;

static void
IdAdd(IdSet *s, int64 id)
{
	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 64;
		s->ids = s->ids ? repalloc(s->ids, sizeof(Datum) * s->cap) : palloc(sizeof(Datum) * s->cap);
	}
	s->ids[s->n++] = Int64GetDatum(id);
}

static int64
JsonbInt(JsonbValue *v)
{
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

/* Ids in a jsonb list of ids. */
static void
AddIdList(IdSet *s, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_ELEM && v.type == jbvNumeric)
			IdAdd(s, JsonbInt(&v));
}

/* The nodes and relationships inside a deleted value (entity, path, list). */
static void
AddEntities(Executor *ex, RvgWDelete *d, JsonbContainer *c, IdSet *nodes, IdSet *edges)
{
	check_stack_depth();
	if (JsonContainerIsObject(c))
	{
		JsonbValue *id = getKeyJsonValueFromContainer(c, "id", 2, NULL);
		JsonbValue *props = getKeyJsonValueFromContainer(c, "properties", 10, NULL);

		if (id == NULL || id->type != jbvNumeric || props == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("DELETE expects nodes, relationships or paths, not a map"),
					 RvgErrPosition(ex->plan->text, d->loc)));
		if (getKeyJsonValueFromContainer(c, "start_id", 8, NULL) != NULL)
			IdAdd(edges, JsonbInt(id));
		else
			IdAdd(nodes, JsonbInt(id));
		return;
	}
	for (uint32 i = 0; i < JsonContainerSize(c); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(c, i);

		if (e->type == jbvNull)
			continue;
		if (e->type != jbvBinary)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("DELETE expects nodes, relationships or paths"),
					 RvgErrPosition(ex->plan->text, d->loc)));
		AddEntities(ex, d, e->val.binary.data, nodes, edges);
	}
}

static void
CollectDeletes(Executor *ex, RvgStep *st, Rows *in, IdSet *nodes, IdSet *edges)
{
	for (int64 i = 0; i < in->n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < st->ndeletes; k++)
		{
			RvgWDelete *d = &st->deletes[k];
			Jsonb	   *jb;
			JsonbValue	sv;

			if (in->nulls[d->col - 1][i])
				continue;
			switch (d->kind)
			{
				case VK_NODE:
					IdAdd(nodes, DatumGetInt64(in->vals[d->col - 1][i]));
					break;
				case VK_EDGE:
					IdAdd(edges, DatumGetInt64(in->vals[d->col - 1][i]));
					break;
				case VK_PATH:
					AddIdList(nodes, DatumGetJsonbP(in->vals[d->col - 1][i]));
					if (!in->nulls[d->col2 - 1][i])
						AddIdList(edges, DatumGetJsonbP(in->vals[d->col2 - 1][i]));
					break;
				case VK_EDGES:
					AddIdList(edges, DatumGetJsonbP(in->vals[d->col - 1][i]));
					break;
				default:
					jb = DatumGetJsonbP(in->vals[d->col - 1][i]);
					if (JsonbExtractScalar(&jb->root, &sv))
					{
						if (sv.type == jbvNull)
							break;
						ereport(ERROR,
								(errcode(ERRCODE_DATATYPE_MISMATCH),
								 errmsg("DELETE expects nodes, relationships or paths"),
								 RvgErrPosition(ex->plan->text, d->loc)));
					}
					AddEntities(ex, d, &jb->root, nodes, edges);
					break;
			}
		}
	}
}

static void
DeleteSql(Executor *ex, const char *fmt, Datum ids)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1] = {ids};
	int			rc = SPI_execute_with_args(psprintf(fmt, ex->s, ex->s), 1, types, values, NULL, false, 0);

	if (rc != SPI_OK_DELETE && rc != SPI_OK_SELECT)
		elog(ERROR, "DELETE failed (%d)", rc);
}

static Rows *
ApplyDelete(Executor *ex, RvgStep *st, Rows *in)
{
	IdSet		nodes = {0},
				edges = {0};
	Rows	   *out = NewRows(st->nout, st->outtypes, in->n);

	CollectDeletes(ex, st, in, &nodes, &edges);
	if (edges.n > 0)
		DeleteSql(ex, "DELETE FROM %s.ruvector_graph_edge WHERE id = ANY($1)%.0s",
				  ArrayOf(edges.ids, edges.n, INT8OID));
	if (nodes.n > 0)
	{
		Datum		ids = ArrayOf(nodes.ids, nodes.n, INT8OID);

		if (st->detach)
		{
			DeleteSql(ex, "DELETE FROM %s.ruvector_graph_edge WHERE start_id = ANY($1)%.0s", ids);
			DeleteSql(ex, "DELETE FROM %s.ruvector_graph_edge WHERE end_id = ANY($1)%.0s", ids);
			DeleteSql(ex, "DELETE FROM %s.ruvector_graph_hyperedge_member WHERE node_id = ANY($1)%.0s", ids);
		}
		else
		{
			DeleteSql(ex, "SELECT u.n FROM pg_catalog.unnest($1) u(n) WHERE "
					  "EXISTS (SELECT 1 FROM %s.ruvector_graph_edge e WHERE e.start_id = u.n OR e.end_id = u.n) "
					  "OR EXISTS (SELECT 1 FROM %s.ruvector_graph_hyperedge_member m WHERE m.node_id = u.n) LIMIT 1",
					  ids);
			if (SPI_processed > 0)
			{
				bool		isnull;
				int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("cannot delete node " INT64_FORMAT " because it still has relationships",
								n),
						 errhint("Use DETACH DELETE to delete its relationships too."),
						 RvgErrPosition(ex->plan->text, st->loc)));
			}
		}
		DeleteSql(ex, "DELETE FROM %s.ruvector_graph_node WHERE id = ANY($1)%.0s", ids);
	}
	for (int64 i = 0; i < in->n; i++)
	{
		int64		o = CopyCarried(out, in, i, st->ncarry);

		/* deleted variables go on as their values from before the delete */
		for (int k = 0; k < st->ndeletes; k++)
			if (st->deletes[k].out_col)
				SetCell(out, st->deletes[k].out_col, o, in->vals[st->deletes[k].value_col - 1][i],
						in->nulls[st->deletes[k].value_col - 1][i]);
	}
	return out;
}

/* ---------------------------------------------------------------------
 * Locking what an updating step reads
 *
 * A SET or REMOVE computes its values from rows read under the statement's
 * snapshot; a concurrent update of the same node between that read and the
 * write would be lost (MATCH (n) SET n.c = n.c + 1 from two sessions).  So
 * the step's targets are locked (FOR NO KEY UPDATE, in id order so that two
 * steps lock in the same order), and when a locked row is not the version
 * the step read (changed or deleted since its snapshot), the step's
 * statement runs again: its new snapshot sees the locked rows as they now
 * are, and they cannot change any more.  Rows the new run adds are locked
 * in turn.  Under REPEATABLE READ, locking a row changed concurrently is
 * PostgreSQL's serialization failure (40001), as for any UPDATE.
 * ---------------------------------------------------------------------
 */
#define RVG_LOCK_ROUNDS 100

typedef struct LockSet
{
	IdSet		held[2];		/* [0] nodes, [1] relationships: sorted */
	SPIPlanPtr	plan[2];
} LockSet;

static int
IdCmp(const void *a, const void *b)
{
	int64		x = DatumGetInt64(*(const Datum *) a);
	int64		y = DatumGetInt64(*(const Datum *) b);

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Sorts and removes duplicates. */
static void
IdSortUnique(IdSet *s)
{
	int64		k = 0;

	if (s->n == 0)
		return;
	qsort(s->ids, s->n, sizeof(Datum), IdCmp);
	for (int64 i = 1; i < s->n; i++)
		if (DatumGetInt64(s->ids[i]) != DatumGetInt64(s->ids[k]))
			s->ids[++k] = s->ids[i];
	s->n = k + 1;
}

static bool
IdHeld(IdSet *s, Datum id)
{
	return s->n > 0 && bsearch(&id, s->ids, s->n, sizeof(Datum), IdCmp) != NULL;
}

/* The ids of the SET / REMOVE targets in rows not locked yet. */
static void
LockTargets(Executor *ex, RvgStep *st, Rows *rows, LockSet *ls, IdSet *want)
{
	for (int64 i = 0; i < rows->n; i++)
		for (int k = 0; k < st->nsets; k++)
		{
			RvgWSetItem *ws = &st->sets[k];
			bool		edge;
			Datum		id;

			if (rows->nulls[ws->target_col - 1][i])
				continue;
			id = Int64GetDatum(SetTarget(ex, ws, rows, i, &edge));
			if (IdHeld(&ls->held[edge], id))
				continue;
			IdAdd(&want[edge], DatumGetInt64(id));
		}
	IdSortUnique(&want[0]);
	IdSortUnique(&want[1]);
}

/*
 * Locks the rows of ids (sorted, distinct); true when one of them is not
 * the version snap saw: deleted since, or written by a transaction snap
 * does not see as committed.
 */
static bool
LockGraphRows(Executor *ex, LockSet *ls, bool edge, IdSet *ids, Snapshot snap)
{
	Datum		arg;
	bool		stale;

	if (ids->n == 0)
		return false;
	if (ls->plan[edge] == NULL)
	{
		Oid			type = INT8ARRAYOID;

		ls->plan[edge] = SPI_prepare(psprintf("SELECT x.xmin FROM %s.ruvector_graph_%s x WHERE x.id = ANY($1) "
											  "ORDER BY x.id FOR NO KEY UPDATE OF x",
											  ex->s, edge ? "edge" : "node"),
									 1, &type);
		if (ls->plan[edge] == NULL)
			elog(ERROR, "could not prepare the row lock: %d", SPI_result);
	}
	arg = ArrayOf(ids->ids, ids->n, INT8OID);
	if (SPI_execute_plan(ls->plan[edge], &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock graph rows");
	stale = SPI_processed != (uint64) ids->n;
	for (uint64 i = 0; i < SPI_processed && !stale; i++)
	{
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[i],
																 SPI_tuptable->tupdesc, 1, &isnull));

		stale = TransactionIdIsNormal(xmin) && !TransactionIdIsCurrentTransactionId(xmin) &&
			XidInMVCCSnapshot(xmin, snap);
	}
	SPI_freetuptable(SPI_tuptable);
	for (int64 i = 0; i < ids->n; i++)
		IdAdd(&ls->held[edge], DatumGetInt64(ids->ids[i]));
	IdSortUnique(&ls->held[edge]);
	return stale;
}

/*
 * Runs a SET / REMOVE step's statement with its targets locked and read
 * after the lock (see above).
 */
static Rows *
MaterializeLocked(Executor *ex, RvgStep *st, Rows *in)
{
	LockSet		ls;

	memset(&ls, 0, sizeof(ls));
	for (int round = 0;; round++)
	{
		/* taken before the statement's own: a conservative test of staleness */
		Snapshot	snap = RegisterSnapshot(GetTransactionSnapshot());
		Rows	   *rows = Materialize(ex, st, in);
		IdSet		want[2] = {{0}, {0}};
		bool		stale;

		LockTargets(ex, st, rows, &ls, want);
		stale = LockGraphRows(ex, &ls, false, &want[0], snap);
		stale |= LockGraphRows(ex, &ls, true, &want[1], snap);
		UnregisterSnapshot(snap);
		if (!stale)
			return rows;
		if (round == RVG_LOCK_ROUNDS)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not lock the rows of an updating clause: they keep changing"),
					 errhint("Retry the transaction."),
					 RvgErrPosition(ex->plan->text, st->loc)));
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------------------------------------------------------------------
 * Driver
 * ---------------------------------------------------------------------
 */
/* What applies each updating step to its rows (the others are RunPlan's). */
static Rows *(*const step_appliers[]) (Executor *ex, RvgStep *st, Rows *rows) = {
	[RVG_STEP_CREATE] = ApplyCreate,
	[RVG_STEP_MERGE] = ApplyMerge,
	[RVG_STEP_SET] = ApplySet,
	[RVG_STEP_DELETE] = ApplyDelete,
};

static void
RunPlan(Executor *ex)
{
	Rows	   *in = NewRows(0, NULL, 1);
	ListCell   *lc;
	List	   *kept = NIL;		/* FOREACH: the rows to come back to */

	AddRow(in);
	foreach(lc, ex->plan->steps)
	{
		RvgStep    *st = lfirst(lc);
		Rows	   *rows;

		CHECK_FOR_INTERRUPTS();
		if (st->kind == RVG_STEP_READ)
		{
			RunFinal(ex, st, in);
			continue;
		}
		if (st->kind == RVG_STEP_POP)
		{
			in = llast(kept);
			kept = list_delete_last(kept);
			continue;
		}
		rows = st->kind == RVG_STEP_SET ? MaterializeLocked(ex, st, in) : Materialize(ex, st, in);
		if (st->kind == RVG_STEP_PUSH)
		{
			/* every column is carried: the rows are the next input */
			kept = lappend(kept, rows);
			in = rows;
			continue;
		}
		if (st->kind >= lengthof(step_appliers) || step_appliers[st->kind] == NULL)
			elog(ERROR, "unexpected Cypher step %d", st->kind);
		in = step_appliers[st->kind] (ex, st, rows);
	}
}

static Jsonb *
ParamsArg(FunctionCallInfo fcinfo)
{
	Jsonb	   *params;

	if (PG_NARGS() < 3 || PG_ARGISNULL(2))
		return NULL;
	params = PG_GETARG_JSONB_P(2);
	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Cypher params must be a JSON object"),
				 errhint("Pass parameters as '{\"name\": value}'::jsonb.")));
	return params;
}

/* Sets up the result tuplestore of a materialize-mode set function. */
static Output *
InitOutput(FunctionCallInfo fcinfo, bool typed)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Output	   *out;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (typed && rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ruvector_cypher_rows needs a column definition list"),
				 errhint("Call it as SELECT * FROM ruvector_cypher_rows(graph, query) AS (name text, ...).")));
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	out = palloc0(sizeof(Output));
	out->typed = typed;
	out->current_col = -1;
	if (typed)
		out->desc = CreateTupleDescCopy(rsinfo->expectedDesc);
	else
	{
		out->desc = CreateTemplateTupleDesc(1);
		TupleDescInitEntry(out->desc, 1, "ruvector_cypher", JSONBOID, -1, 0);
	}
	out->store = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = out->store;
	rsinfo->setDesc = out->desc;
	if (typed)
	{
		out->inproc = palloc(sizeof(FmgrInfo) * (out->desc->natts + 1));
		out->ioparam = palloc(sizeof(Oid) * (out->desc->natts + 1));
		for (int c = 0; c < out->desc->natts; c++)
		{
			Oid			inproc;

			getTypeInputInfo(TupleDescAttr(out->desc, c)->atttypid, &inproc, &out->ioparam[c]);
			fmgr_info(inproc, &out->inproc[c]);
		}
	}
	out->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ruvector cypher row",
										ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(old);
	return out;
}

/*
 * Parse, look up the graph, check the caller's privilege on it (read, or
 * write when run is set and the query updates), translate.  Connected to
 * SPI on return, with search_path pinned until RvgSpiFinish(*pin): see
 * graph_catalog.c.
 */
static RvgPlan *
Prepare(FunctionCallInfo fcinfo, int *pin, bool run)
{
	char	   *graph = RvgRequireText(fcinfo, 0, "graph name");
	char	   *text = RvgRequireText(fcinfo, 1, "Cypher query");
	Jsonb	   *params = ParamsArg(fcinfo);
	CyQuery    *q = ParseCypher(text);
	RvgGraph   *g;
	RvgPlan    *plan;
	bool		writes = false;
	ListCell   *lc;

	*pin = RvgSpiConnect();
	g = RvgLookupGraph(graph);
	RvgCheckGraphPrivilege(g->graph_id, g->name, false);
	plan = RvgPlanQuery(g, q, text, params);
	foreach(lc, plan->steps)
		writes |= ((RvgStep *) lfirst(lc))->kind != RVG_STEP_READ;
	/* row-level security alone would make a refused SET or DELETE a no-op */
	if (run && writes)
	{
		RvgCheckGraphPrivilege(g->graph_id, g->name, true);
		RvgLockGraphForWrite(g);
	}
	return plan;
}

/*
 * An error context without the lines SPI adds for the translated SQL
 * ("SQL statement ..."), which would show internals instead of the query.
 */
static char *
CypherContext(const char *context)
{
	StringInfoData buf;
	const char *line = context;

	if (context == NULL)
		return NULL;
	initStringInfo(&buf);
	while (*line)
	{
		const char *nl = strchr(line, '\n');
		int			len = nl ? (int) (nl - line) : (int) strlen(line);

		if (strncmp(line, "SQL statement \"", 15) != 0)
			appendStringInfo(&buf, "%s%.*s", buf.len ? "\n" : "", len, line);
		line += len + (nl ? 1 : 0);
	}
	return buf.len ? buf.data : NULL;
}

static Datum
RunCypher(FunctionCallInfo fcinfo, bool typed)
{
	Output	   *out = InitOutput(fcinfo, typed);
	Executor	ex;
	int			pin;

	MemoryContext cxt = CurrentMemoryContext;

	memset(&ex, 0, sizeof(ex));
	ex.plan = Prepare(fcinfo, &pin, true);
	ex.g = ex.plan->graph;
	ex.s = ex.g->schema;
	ex.out = out;
	PG_TRY();
	{
		RunPlan(&ex);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* the generated SQL is ours, not the user's: say Cypher instead */
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->context = CypherContext(edata->context);
		/* a helper's runtime error at a place in the Cypher text */
		if (edata->internalpos > 0 && edata->internalquery == NULL &&
			edata->internalpos <= list_length(ex.plan->locs))
		{
			int			line,
						col;
			int			offset = list_nth_int(ex.plan->locs, edata->internalpos - 1);

			cy_position(ex.plan->text, strlen(ex.plan->text), offset, &line, &col);
			edata->internalpos = offset + 1;
			edata->internalquery = pstrdup(ex.plan->text);
			if (edata->detail == NULL)
				edata->detail = psprintf("At line %d, column %d of the Cypher query.", line, col);
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
	RvgSpiFinish(pin);
	return (Datum) 0;
}

/* ruvector_cypher(graph, query, params) RETURNS SETOF jsonb */
Datum
ruvector_cypher(PG_FUNCTION_ARGS)
{
	return RunCypher(fcinfo, false);
}

/* ruvector_cypher_rows(graph, query, params) RETURNS SETOF record */
Datum
ruvector_cypher_rows(PG_FUNCTION_ARGS)
{
	return RunCypher(fcinfo, true);
}

/* ruvector_cypher_sql(graph, query, params): the translation, not run. */
Datum
ruvector_cypher_sql(PG_FUNCTION_ARGS)
{
	int			pin;
	RvgPlan    *plan = Prepare(fcinfo, &pin, false);
	text	   *result;
	char	   *sql = RvgPlanExplain(plan);

	/* the text must outlive SPI's memory */
	result = (text *) SPI_palloc(VARHDRSZ + strlen(sql));
	SET_VARSIZE(result, VARHDRSZ + strlen(sql));
	memcpy(VARDATA(result), sql, strlen(sql));
	RvgSpiFinish(pin);
	PG_RETURN_TEXT_P(result);
}
