/*-------------------------------------------------------------------------
 *
 * rvheap_policy.c
 *	  Tier policies of ruvector_heap vector columns: ruvector_set_tiers(),
 *	  parsing and storage in the extension table ruvector_tier_policy, the
 *	  choice of a block's target tier, and the table AM's sql_drop event
 *	  trigger (ruvector_tableam_sql_drop), which deletes the policies and
 *	  codebooks of dropped tables and columns.
 *
 * NOTES
 *	  A policy is a jsonb object:
 *
 *		{"exactness": "exact" | "float16" | "sq8" | "pq",
 *		 "float16": {"after_write": T, "after_read": T, "max_reads": N},
 *		 "sq8":     {"after_write": T, "after_read": T, "max_reads": N},
 *		 "pq":      {"after_write": T, "after_read": T, "max_reads": N,
 *					 "m": int, "k": int, "sample": int}}
 *
 *	  T is an interval ('1 day') or a number of seconds; a missing threshold
 *	  is 0.  N bounds the block's read count, halved every
 *	  ruvector.tier_heat_halflife (no bound if missing).  A tier that is not
 *	  named is not used.  A block is due for the coldest named tier whose
 *	  thresholds it passes (time since its last write, since its last read,
 *	  reads at most N); exactness then caps it: "exact"
 *	  (the default) allows only lossless moves (float16 for vectors that
 *	  are exactly halves), the others name the coldest lossy tier allowed.
 *	  Unknown keys are errors, so a typo does not silently disable a tier.
 *
 *	  Policies are stored by table and column name (regclass and name
 *	  columns), which pg_dump writes as names, so they survive a dump and
 *	  restore into a database where the oids differ.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "common/rv_extension.h"
#include "tableam/tableam.h"

PG_FUNCTION_INFO_V1(ruvector_set_tiers);
PG_FUNCTION_INFO_V1(ruvector_tableam_sql_drop);

static const char *const exactness_names[RV_TIER_COUNT] = {
	"exact", "float16", "sq8", "pq"
};

/* Parser state: the policy being filled and its normalized text. */
typedef struct PolicyParse
{
	RvTierPolicy policy;
	StringInfo	out;
	int			dim;			/* from the column's typmod, or -1 */
} PolicyParse;

static void
pg_attribute_noreturn()
PolicyError(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid tier policy: %s", msg),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("A policy looks like {\"exactness\": \"sq8\", \"float16\": {\"after_write\": \"1 day\", \"after_read\": \"1 hour\"}, \"sq8\": {\"after_write\": \"7 days\"}}.")));
}

static char *
JsonbString(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* An interval in the "postgres" style, whatever the session's IntervalStyle. */
static char *
IntervalText(Interval *iv)
{
	struct pg_itm itm;
	char		buf[MAXDATELEN + 1];

	interval2itm(*iv, &itm);
	EncodeInterval(&itm, INTSTYLE_POSTGRES, buf);
	return pstrdup(buf);
}

/*
 * A threshold: an interval string or a number of seconds, >= 0.  Appends
 * its normalized form to out.
 */
static int64
ParseThreshold(const char *key, const JsonbValue *v, StringInfo out)
{
	double		secs;

	if (v->type == jbvString)
	{
		Interval   *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in,
															   CStringGetDatum(JsonbString(v)),
															   ObjectIdGetDatum(InvalidOid),
															   Int32GetDatum(-1)));

		secs = (double) iv->time / USECS_PER_SEC +
			((double) iv->day + (double) iv->month * DAYS_PER_MONTH) * SECS_PER_DAY;
		escape_json(out, IntervalText(iv));
	}
	else if (v->type == jbvNumeric)
	{
		secs = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
												  NumericGetDatum(v->val.numeric)));
		appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out,
																		NumericGetDatum(v->val.numeric))));
	}
	else
		PolicyError(psprintf("\"%s\" must be an interval or a number of seconds", key), NULL);

	if (!(secs >= 0))
		PolicyError(psprintf("\"%s\" must not be negative", key), NULL);
	if (secs > (double) RV_TIER_MAX_THRESHOLD)
		PolicyError(psprintf(secs < 1e18 ?
							 "\"%s\" is out of range: %.0f seconds is more than the limit of " INT64_FORMAT " seconds" :
							 "\"%s\" is out of range: %g seconds is more than the limit of " INT64_FORMAT " seconds",
							 key, secs, (int64) RV_TIER_MAX_THRESHOLD),
					"A block can never be idle longer than a timestamp can measure (about 292,000 years); leave the tier out to never use it.");
	return (int64) secs;
}

/* An integer option within [lo, hi]. */
static int
ParseInt(const char *key, const JsonbValue *v, int lo, int hi, StringInfo out)
{
	int			val;

	bool		overflow = false;

	if (v->type != jbvNumeric)
		PolicyError(psprintf("\"%s\" must be an integer", key), NULL);
	val = numeric_int4_opt_error(v->val.numeric, &overflow);
	if (overflow || val < lo || val > hi)
		PolicyError(psprintf("\"%s\" is out of range: %s is not between %d and %d", key,
							 DatumGetCString(DirectFunctionCall1(numeric_out,
																 NumericGetDatum(v->val.numeric))),
							 lo, hi), NULL);
	appendStringInfo(out, "%d", val);
	return val;
}

/* One key of a tier object. */
static void
ParseTierKey(PolicyParse *pp, int tier, const char *key, const JsonbValue *v)
{
	RvTierPolicy p = pp->policy;
	StringInfo	out = pp->out;

	escape_json(out, key);
	appendStringInfoString(out, ": ");
	if (strcmp(key, "after_write") == 0)
		p->rule[tier].after_write = ParseThreshold(key, v, out);
	else if (strcmp(key, "after_read") == 0)
		p->rule[tier].after_read = ParseThreshold(key, v, out);
	else if (strcmp(key, "max_reads") == 0)
		p->rule[tier].max_reads = ParseInt(key, v, 0, PG_INT32_MAX, out);
	else if (tier == RV_TIER_PQ && strcmp(key, "m") == 0)
		p->pq_m = ParseInt(key, v, 1, pp->dim > 0 ? pp->dim : VECTOR_MAX_DIM, out);
	else if (tier == RV_TIER_PQ && strcmp(key, "k") == 0)
		p->pq_k = ParseInt(key, v, RV_PQ_MIN_K, RV_PQ_MAX_K, out);
	else if (tier == RV_TIER_PQ && strcmp(key, "sample") == 0)
		p->pq_sample = ParseInt(key, v, RV_PQ_MIN_SAMPLE, RV_PQ_MAX_SAMPLE, out);
	else
		PolicyError(psprintf("unknown key \"%s\" in tier \"%s\"", key, RvTierName(tier)),
					tier == RV_TIER_PQ ? "Tier keys are after_write, after_read, max_reads, and for pq also m, k and sample." :
					"Tier keys are after_write, after_read and max_reads.");
}

/* The object of one tier. */
static void
ParseTier(PolicyParse *pp, int tier, const JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	kv;
	JsonbIteratorToken tok;
	bool		first = true;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		PolicyError(psprintf("tier \"%s\" must be an object", RvTierName(tier)), NULL);

	pp->policy->rule[tier].after_write = 0;
	pp->policy->rule[tier].after_read = 0;
	pp->policy->rule[tier].max_reads = -1;
	appendStringInfoChar(pp->out, '{');
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = JsonbString(&kv);
		(void) JsonbIteratorNext(&it, &kv, true);
		if (!first)
			appendStringInfoString(pp->out, ", ");
		first = false;
		ParseTierKey(pp, tier, key, &kv);
	}
	appendStringInfoChar(pp->out, '}');
}

/* The exactness value. */
static int
ParseExactness(const JsonbValue *v)
{
	char	   *name;

	if (v->type != jbvString)
		PolicyError("\"exactness\" must be a string", NULL);
	name = JsonbString(v);
	for (int i = 0; i < RV_TIER_COUNT; i++)
		if (strcmp(name, exactness_names[i]) == 0)
			return i;
	PolicyError(psprintf("unknown exactness \"%s\"", name),
				"Exactness is one of exact, float16, sq8, pq.");
}

/*
 * Parse a policy for a column of dim dimensions (-1: unknown) into policy;
 * its normalized jsonb text goes to out.
 */
static void
ParsePolicy(Jsonb *jb, int dim, RvTierPolicy policy, StringInfo out)
{
	PolicyParse pp = {policy, out, dim};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData tiers;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		PolicyError("the policy must be a json object", NULL);

	policy->exactness = RV_TIER_FLOAT32;
	for (int i = 0; i < RV_TIER_COUNT; i++)
	{
		policy->rule[i].after_write = policy->rule[i].after_read = -1;
		policy->rule[i].max_reads = -1;
	}
	policy->pq_m = 0;
	policy->pq_k = RV_PQ_DEFAULT_K;
	policy->pq_sample = RV_PQ_DEFAULT_SAMPLE;

	/* Tiers go to their own buffer; exactness is written first. */
	initStringInfo(&tiers);
	pp.out = &tiers;
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			tier;

		if (tok != WJB_KEY)
			continue;
		key = JsonbString(&v);
		(void) JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "exactness") == 0)
		{
			policy->exactness = ParseExactness(&v);
			continue;
		}
		tier = RvTierFromName(key);
		if (tier <= RV_TIER_FLOAT32)
			PolicyError(psprintf("unknown key \"%s\"", key),
						"Policy keys are exactness, float16, sq8 and pq.");
		appendStringInfo(&tiers, ", \"%s\": ", key);
		ParseTier(&pp, tier, &v);
	}
	appendStringInfo(out, "{\"exactness\": \"%s\"%s}",
					 exactness_names[policy->exactness], tiers.data);
}

/*
 * A lossy tier (sq8, pq) named under exactness "exact" would never be
 * used: exact allows lossless moves only.  That is a mistake, not a
 * policy: say so rather than store a policy that silently does nothing.
 */
static void
CheckLossyNamed(RvTierPolicy policy)
{
	if (policy->exactness != RV_TIER_FLOAT32)
		return;
	for (int t = RV_TIER_COUNT - 1; t > RV_TIER_FLOAT16; t--)
		if (policy->rule[t].after_write >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid tier policy: lossy tier \"%s\" named, but exactness is \"exact\"",
							RvTierName(t)),
					 errdetail("Under \"exact\" (the default) only lossless moves happen: float16 where every component is exactly a half; blocks due for %s would never move.",
							   RvTierName(t)),
					 errhint("Allow the tier with \"exactness\": \"%s\", or leave the \"%s\" key out.",
							 RvTierName(t), RvTierName(t))));
}

/* Dimension from a vector column's typmod, -1 if unconstrained. */
static int
ColumnDim(Relation rel, AttrNumber attnum)
{
	int32		typmod = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypmod;

	return typmod > 0 ? typmod : -1;
}

/*
 * The vector column of rel named attname; errors if there is none.
 */
static AttrNumber
VectorColumn(Relation rel, const char *attname)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), attname);

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						attname, RelationGetRelationName(rel))));
	/*
	 * halfvec is inline already and float16 is its own exact form; sq8 or
	 * PQ of it would need a second, halfvec-typed decoder in every read
	 * path, which no one has asked for yet.  Say so rather than "wrong
	 * type".
	 */
	if (TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid == RvHalfvecTypeOid())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("tier policies do not apply to halfvec column \"%s\" of relation \"%s\"",
						attname, RelationGetRelationName(rel)),
				 errdetail("A halfvec value is already stored as float16, the warm tier, and kept inline; ruvector_heap moves only vector columns to sq8 and pq."),
				 errhint("To keep this column as sq8 or pq, change its type to vector: ALTER TABLE %s ALTER COLUMN %s TYPE vector.",
						 quote_identifier(RelationGetRelationName(rel)),
						 quote_identifier(attname))));
	if (TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid != RvVectorTypeOid())
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is not of type vector",
						attname, RelationGetRelationName(rel)),
				 errhint("Tier policies apply to vector columns; other columns are stored as heap stores them.")));
	return attnum;
}

/* What StorePolicy writes (policy NULL: delete). */
typedef struct PolicyRow
{
	Oid			relid;
	NameData	attname;
	char	   *policy;
} PolicyRow;

/* Upsert or delete a policy row (runs as the extension owner). */
static void
StorePolicy(void *arg)
{
	PolicyRow  *row = (PolicyRow *) arg;
	Oid			tbl = RvExtensionTable("ruvector_tier_policy");
	char	   *name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(tbl)),
												  get_rel_name(tbl));
	Oid			types[3] = {OIDOID, NAMEOID, TEXTOID};
	Datum		values[3];
	char	   *sql;

	values[0] = ObjectIdGetDatum(row->relid);
	values[1] = NameGetDatum(&row->attname);
	values[2] = row->policy ? CStringGetTextDatum(row->policy) : (Datum) 0;
	if (row->policy)
		sql = psprintf("INSERT INTO %s (relid, attname, policy, updated) "
					   "VALUES ($1, $2, $3::pg_catalog.jsonb, pg_catalog.now()) "
					   "ON CONFLICT (relid, attname) DO UPDATE SET policy = excluded.policy, updated = excluded.updated",
					   name);
	else
		sql = psprintf("DELETE FROM %s WHERE relid OPERATOR(pg_catalog.=) $1 "
					   "AND attname OPERATOR(pg_catalog.=) $2", name);

	SPI_connect();
	if (SPI_execute_with_args(sql, row->policy ? 3 : 2, types, values, NULL, false, 0) < 0)
		elog(ERROR, "could not store the tier policy");
	SPI_finish();
}

/*
 * Train a codebook now if the policy can use PQ and the column has none
 * that fits, so that a compact after this transaction commits can use it.
 */
static void
TrainIfNeeded(Relation rel, AttrNumber attnum, RvTierPolicy p)
{
	const char *attname = NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
	uint32		id;

	if (p->exactness < RV_TIER_PQ || p->rule[RV_TIER_PQ].after_write < 0)
		return;
	if (RvCodebookLatest(rel, attname, ColumnDim(rel, attnum), p->pq_m, p->pq_k))
		return;
	id = RvCodebookTrain(rel, attnum, p->pq_m, p->pq_k, p->pq_sample);
	if (id != 0)
		ereport(NOTICE,
				(errmsg("trained PQ codebook %u for column \"%s\"", id, attname)));
}

/* The audit record of a policy set or removed: column and stored policy. */
static void
AuditSetTiers(Oid relid, const char *attname, const char *policy)
{
	StringInfoData payload;

	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"column\": ");
	escape_json(&payload, attname);
	appendStringInfo(&payload, ", \"policy\": %s}", policy ? policy : "null");
	RvAdminAudit("tier.set", relid, payload.data);
}

/*
 * ruvector_set_tiers(table regclass, column name, policy jsonb) returns
 * jsonb: set (or with a NULL policy, remove) the tier policy of a vector
 * column of a ruvector_heap table; returns the policy as stored.
 */
Datum
ruvector_set_tiers(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	PolicyRow	row;
	AttrNumber	attnum;
	RvTierPolicyData policy;
	StringInfoData norm;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and column must not be null")));
	relid = PG_GETARG_OID(0);

	/* Same lock as compact: a policy change waits for a running move. */
	rel = RvHeapOpenChecked(relid, ShareUpdateExclusiveLock, "ruvector_set_tiers", true);
	attnum = VectorColumn(rel, NameStr(*PG_GETARG_NAME(1)));

	memset(&row, 0, sizeof(row));
	row.relid = relid;
	namestrcpy(&row.attname, NameStr(*PG_GETARG_NAME(1)));
	if (!PG_ARGISNULL(2))
	{
		initStringInfo(&norm);
		ParsePolicy(PG_GETARG_JSONB_P(2), ColumnDim(rel, attnum), &policy, &norm);
		row.policy = norm.data;
		CheckLossyNamed(&policy);
		for (int t = policy.exactness + 1; t < RV_TIER_COUNT; t++)
			if (policy.rule[t].after_write >= 0 && policy.exactness != RV_TIER_FLOAT32)
				ereport(NOTICE,
						(errmsg("tier \"%s\" is colder than exactness \"%s\" allows; blocks due for it move to %s",
								RvTierName(t), exactness_names[policy.exactness],
								RvTierName(policy.exactness))));
	}
	RvRunAsExtensionOwner(StorePolicy, &row);

	if (row.policy)
		TrainIfNeeded(rel, attnum, &policy);
	AuditSetTiers(relid, NameStr(row.attname), row.policy);
	table_close(rel, NoLock);

	if (!row.policy)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(row.policy)));
}

/*
 * The policies of rel's vector columns, parsed; policies naming a column
 * that no longer is a vector column are skipped with a warning.
 */
List *
RvTierPoliciesLoad(Relation rel)
{
	Oid			tbl = RvExtensionTable("ruvector_tier_policy");
	char	   *sql;
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	MemoryContext outer = CurrentMemoryContext;
	List	   *names = NIL;
	List	   *texts = NIL;
	List	   *result = NIL;
	ListCell   *lc1,
			   *lc2;

	sql = psprintf("SELECT attname::pg_catalog.text, policy::pg_catalog.text FROM %s "
				   "WHERE relid OPERATOR(pg_catalog.=) $1 ORDER BY 1",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(tbl)),
											  get_rel_name(tbl)));
	values[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	SPI_connect();
	if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read tier policies");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);

		names = lappend(names, pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		texts = lappend(texts, pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();

	forboth(lc1, names, lc2, texts)
	{
		const char *attname = lfirst(lc1);
		AttrNumber	attnum = get_attnum(RelationGetRelid(rel), attname);
		RvTierPolicy p;
		StringInfoData norm;

		if (attnum <= 0)
		{
			/* policies are keyed by name (they survive dumps): a rename detaches */
			ereport(WARNING,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("tier policy of \"%s\" names column \"%s\", which does not exist; the policy is ignored",
							RelationGetRelationName(rel), attname),
					 errhint("If the column was renamed, set the policy on its new name with ruvector_set_tiers and remove this one with ruvector_set_tiers('%s', '%s', NULL).",
							 quote_identifier(RelationGetRelationName(rel)), attname)));
			continue;
		}
		if (TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid != RvVectorTypeOid())
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("tier policy of \"%s\" names column \"%s\", which is not of type vector; the policy is ignored",
							RelationGetRelationName(rel), attname),
					 errhint("Remove it with ruvector_set_tiers('%s', '%s', NULL).",
							 quote_identifier(RelationGetRelationName(rel)), attname)));
			continue;
		}
		p = palloc0(sizeof(RvTierPolicyData));
		p->attnum = attnum;
		namestrcpy(&p->attname, attname);
		initStringInfo(&norm);
		ParsePolicy(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(lfirst(lc2)))),
					ColumnDim(rel, attnum), p, &norm);
		result = lappend(result, p);
	}
	return result;
}

/*
 * The tier a policy wants for a block with these accesses: the coldest
 * named tier whose thresholds the block passes, FLOAT32 if none.  Untracked
 * times count as "when tracking began", untracked reads as none.  The caller applies exactness
 * (RvTierAllowed).
 */
int
RvTierBlockTarget(RvTierPolicy policy, const RvBlockAccess *acc, TimestampTz now)
{
	TimestampTz since = RvTierTrackingSince();
	int64		idle_write = (now - (acc->last_write ? acc->last_write : since)) / USECS_PER_SEC;
	int64		idle_read = (now - (acc->last_read ? acc->last_read : since)) / USECS_PER_SEC;

	for (int t = RV_TIER_COUNT - 1; t > RV_TIER_FLOAT32; t--)
	{
		const RvTierRule *r = &policy->rule[t];

		if (r->after_write >= 0 && idle_write >= r->after_write &&
			idle_read >= r->after_read &&
			(r->max_reads < 0 || acc->heat <= r->max_reads))
			return t;
	}
	return RV_TIER_FLOAT32;
}

/*
 * Cap a wanted tier by the policy's exactness.  Under "exact" any move is
 * to float16 and only where lossless (*lossless_only).
 */
int
RvTierAllowed(RvTierPolicy policy, int tier, bool *lossless_only)
{
	*lossless_only = false;
	if (tier == RV_TIER_FLOAT32)
		return tier;
	if (policy->exactness == RV_TIER_FLOAT32)
	{
		*lossless_only = true;
		return RV_TIER_FLOAT16;
	}
	return Min(tier, policy->exactness);
}

/* Delete the policies and codebooks of dropped tables and columns. */
static void
DeleteDroppedRows(void *arg)
{
	Oid			nsp = RvExtensionNamespace();
	const char *tables[2] = {"ruvector_tier_policy", "ruvector_codebooks"};

	SPI_connect();
	for (int i = 0; i < 2; i++)
	{
		char	   *sql;

		if (!OidIsValid(get_relname_relid(tables[i], nsp)))
			continue;
		sql = psprintf("DELETE FROM %s t USING pg_catalog.pg_event_trigger_dropped_objects() d "
					   "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
					   "AND t.relid OPERATOR(pg_catalog.=) d.objid "
					   "AND (d.objsubid = 0 OR t.attname OPERATOR(pg_catalog.=) d.address_names[3])",
					   quote_qualified_identifier(get_namespace_name(nsp), tables[i]));
		if (SPI_execute(sql, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete the tier rows of dropped objects");
	}
	/* the history of dropped tables (it has no column) */
	if (OidIsValid(get_relname_relid("ruvector_tier_history", nsp)))
	{
		char	   *sql = psprintf("DELETE FROM %s t USING pg_catalog.pg_event_trigger_dropped_objects() d "
								   "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
								   "AND d.objsubid = 0 AND t.relid OPERATOR(pg_catalog.=) d.objid",
								   quote_qualified_identifier(get_namespace_name(nsp),
															  "ruvector_tier_history"));

		if (SPI_execute(sql, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete the tier history of dropped tables");
	}
	SPI_finish();
}

/*
 * ruvector_tableam_sql_drop(): the extension's sql_drop event trigger.
 * Quiet when the extension itself is going away.
 */
Datum
ruvector_tableam_sql_drop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "ruvector_tableam_sql_drop must be fired as an event trigger");
	if (!OidIsValid(get_extension_oid("ruvector", true)))
		PG_RETURN_VOID();
	RvRunAsExtensionOwner(DeleteDroppedRows, NULL);
	PG_RETURN_VOID();
}
