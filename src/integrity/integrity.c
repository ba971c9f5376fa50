/*-------------------------------------------------------------------------
 *
 * integrity.c
 *	  The SQL surface of the integrity control plane: samples, states,
 *	  policies, the gate as a function, and the worker's round.
 *
 * NOTES
 *	  Catalog: ruvector_integrity_state (one row per sampled index: its
 *	  state, baseline, last sample, the state machine's counters and the
 *	  decisions of its policy), ruvector_integrity_policies (name -> jsonb)
 *	  and ruvector_integrity_attachments (index or table -> policy name).
 *	  They are read and written here through SPI as the extension's owner
 *	  (so the functions' own privileges and checks decide who may do what,
 *	  not grants on the tables); every name is qualified with the
 *	  extension's schema.
 *
 *	  A policy is resolved for an index as: the one attached to the index,
 *	  else to its table, else the policy named 'default' if there is one,
 *	  else the built-in defaults (RvIgPolicyDefault).
 *
 *	  The baseline of an index is its first sample's signal (lambda_cut
 *	  for HNSW), taken when the index is first sampled (by the worker
 *	  soon after CREATE INDEX, or by ruvector_integrity_sample); a REINDEX
 *	  does not reset it (delete the state row to measure it again).
 *
 *	  Every transition is an audit event: in the caller's transaction for
 *	  a sample called from SQL, detached (surviving a rollback) from the
 *	  worker (src/audit/audit.h).
 *
 *	  Locks: AccessShareLock on the index and its table for a sample.
 *
 * IDENTIFICATION
 *	  src/integrity/integrity.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/pg_am.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "catalog/pg_proc.h"
#include "catalog/dependency.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "audit/audit.h"
#include "common/rv_extension.h"
#include "indexam/hnsw.h"
#include "integrity/integrity.h"
#include "worker/worker.h"

PG_FUNCTION_INFO_V1(ruvector_integrity_sample);
PG_FUNCTION_INFO_V1(ruvector_integrity_sample_operational);
PG_FUNCTION_INFO_V1(ruvector_integrity_status);
PG_FUNCTION_INFO_V1(ruvector_integrity_gate);
PG_FUNCTION_INFO_V1(ruvector_integrity_policy_set);
PG_FUNCTION_INFO_V1(ruvector_integrity_policy_attach);
PG_FUNCTION_INFO_V1(ruvector_integrity_repair);

static const char *const rvIgActionCodes = "atdr";

/* ----------------------------------------------------------------
 *		Audit (src/audit/audit.h)
 * ----------------------------------------------------------------
 */
/*
 * RvIgAudit records an integrity event: in the caller's transaction, or,
 * when detached (a worker's transition, a refusal about to be raised),
 * independently of it so that it survives a rollback.
 */
void
RvIgAudit(bool detached, const char *event_type, Oid target, const char *payload_json)
{
	if (detached)
		RvAuditEventDetached(event_type, target, payload_json);
	else
		RvAuditEvent(event_type, target, payload_json);
}

/* ----------------------------------------------------------------
 *		Policies
 * ----------------------------------------------------------------
 */
void
RvIgPolicyDefault(RvIgPolicy *p)
{
	static const uint8 def[RV_IG_NSTATES][RV_IG_NCLASSES] = {
		{RV_IG_ALLOW, RV_IG_ALLOW, RV_IG_ALLOW},	/* normal */
		{RV_IG_ALLOW, RV_IG_THROTTLE, RV_IG_DEFER}, /* stress */
		{RV_IG_REJECT, RV_IG_REJECT, RV_IG_REJECT}	/* critical: mutations frozen */
	};

	rv_ig_params_default(&p->params);
	p->autoRepair = true;
	p->autoRebuild = false;
	p->unreachableTolerance = 0.01;
	p->throttleFactor = 2;
	p->throttleDelayMs = 100;
	p->searchEfFactor = 4;
	memcpy(p->actions, def, sizeof(def));
}

static void
RvIgPolicyError(const char *key, const char *fmt, double value, double lo, double hi)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("integrity policy key \"%s\" is %g, must be between %g and %g", key, value, lo, hi)));
	(void) fmt;
}

static double
RvIgJsonNumber(const char *key, JsonbValue *v, double lo, double hi)
{
	double		x;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("integrity policy key \"%s\" must be a number", key)));
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!(x >= lo && x <= hi))
		RvIgPolicyError(key, NULL, x, lo, hi);
	return x;
}

static bool
RvIgJsonBool(const char *key, JsonbValue *v)
{
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("integrity policy key \"%s\" must be true or false", key)));
	return v->val.boolean;
}

static int
RvIgIndexOf(const char *s, int len, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if ((int) strlen(names[i]) == len && strncmp(s, names[i], len) == 0)
			return i;
	return -1;
}

/* The next member of an object being iterated; false after the last one */
static bool
RvIgNextMember(JsonbIterator **it, JsonbValue *key, JsonbValue *val)
{
	int			tok;

	while ((tok = JsonbIteratorNext(it, key, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			(void) JsonbIteratorNext(it, val, true);
			return true;
		}
	}
	return false;
}

/* Where a member's name stands in names[n]; else an error naming what it is */
static int
RvIgMemberIndex(const JsonbValue *key, const char *const *names, int n,
				const char *what, const char *hint)
{
	int			i = RvIgIndexOf(key->val.string.val, key->val.string.len, names, n);

	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown %s \"%.*s\" in policy actions",
						what, key->val.string.len, key->val.string.val),
				 errhint("%s", hint)));
	return i;
}

/* "actions": {"stress": {"medium": "throttle", ...}, ...} */
static void
RvIgParseActions(JsonbValue *v, RvIgPolicy *p)
{
	static const char *const states[] = {"normal", "stress", "critical"};
	static const char *const classes[] = {"low", "medium", "high"};
	static const char *const decisions[] = {"allow", "throttle", "defer", "reject"};
	JsonbIterator *it;
	JsonbValue	k,
				sv;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("integrity policy key \"actions\" must be an object of states")));
	it = JsonbIteratorInit(v->val.binary.data);
	while (RvIgNextMember(&it, &k, &sv))
	{
		int			s = RvIgMemberIndex(&k, states, RV_IG_NSTATES, "integrity state",
										"States are normal, stress and critical.");
		JsonbIterator *it2;
		JsonbValue	ck,
					cv;

		if (sv.type != jbvBinary || !JsonContainerIsObject(sv.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("policy actions of state \"%s\" must be an object of operation classes",
							states[s])));
		it2 = JsonbIteratorInit(sv.val.binary.data);
		while (RvIgNextMember(&it2, &ck, &cv))
		{
			int			c = RvIgMemberIndex(&ck, classes, RV_IG_NCLASSES, "operation class",
											"Classes are low, medium and high.");
			int			d;

			d = cv.type == jbvString ? RvIgIndexOf(cv.val.string.val, cv.val.string.len, decisions, 4) : -1;
			if (d < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("policy action for %s/%s must be one of allow, throttle, defer, reject",
								states[s], classes[c])));
			p->actions[s][c] = (uint8) d;
		}
	}
}

/* Parse (and validate) a policy over the defaults */
static void
RvIgPolicyParse(Jsonb *j, RvIgPolicy *p)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;

	RvIgPolicyDefault(p);
	if (j == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an integrity policy must be a jsonb object")));
	it = JsonbIteratorInit(&j->root);
	while (RvIgNextMember(&it, &k, &v))
	{
		char	   *key = pnstrdup(k.val.string.val, k.val.string.len);

		if (strcmp(key, "stress_ratio") == 0)
			p->params.stress_ratio = RvIgJsonNumber(key, &v, 0, 10);
		else if (strcmp(key, "critical_ratio") == 0)
			p->params.critical_ratio = RvIgJsonNumber(key, &v, 0, 10);
		else if (strcmp(key, "stress_threshold") == 0)
			p->params.stress_abs = RvIgJsonNumber(key, &v, 0, 1e15);
		else if (strcmp(key, "critical_threshold") == 0)
			p->params.critical_abs = RvIgJsonNumber(key, &v, 0, 1e15);
		else if (strcmp(key, "degrade_samples") == 0)
			p->params.degrade_samples = (int) RvIgJsonNumber(key, &v, 1, 1000);
		else if (strcmp(key, "critical_samples") == 0)
			p->params.critical_samples = (int) RvIgJsonNumber(key, &v, 1, 1000);
		else if (strcmp(key, "restore_offset") == 0)
			p->params.restore_offset = RvIgJsonNumber(key, &v, 0, 10);
		else if (strcmp(key, "restore_hold") == 0)
			p->params.restore_hold = RvIgJsonNumber(key, &v, 0, 7 * 86400);
		else if (strcmp(key, "cooldown") == 0)
			p->params.cooldown = RvIgJsonNumber(key, &v, 0, 7 * 86400);
		else if (strcmp(key, "throttle_factor") == 0)
			p->throttleFactor = RvIgJsonNumber(key, &v, 1, 1000);
		else if (strcmp(key, "throttle_delay_ms") == 0)
			p->throttleDelayMs = (int) RvIgJsonNumber(key, &v, 0, 60000);
		else if (strcmp(key, "search_ef_factor") == 0)
			p->searchEfFactor = RvIgJsonNumber(key, &v, 1, 100);
		else if (strcmp(key, "unreachable_tolerance") == 0)
			p->unreachableTolerance = RvIgJsonNumber(key, &v, 0, 1);
		else if (strcmp(key, "auto_repair") == 0)
			p->autoRepair = RvIgJsonBool(key, &v);
		else if (strcmp(key, "auto_rebuild") == 0)
			p->autoRebuild = RvIgJsonBool(key, &v);
		else if (strcmp(key, "actions") == 0)
			RvIgParseActions(&v, p);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown integrity policy key \"%s\"", key),
					 errhint("Keys are stress_ratio, critical_ratio, stress_threshold, critical_threshold, "
							 "degrade_samples, critical_samples, restore_offset, restore_hold, cooldown, "
							 "throttle_factor, throttle_delay_ms, search_ef_factor, unreachable_tolerance, auto_repair, "
							 "auto_rebuild, actions.")));
		pfree(key);
	}
	if (p->params.critical_ratio > p->params.stress_ratio)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("integrity policy critical_ratio %g is above stress_ratio %g",
						p->params.critical_ratio, p->params.stress_ratio)));
	if (p->params.critical_abs >= 0 && p->params.stress_abs >= 0 &&
		p->params.critical_abs > p->params.stress_abs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("integrity policy critical_threshold %g is above stress_threshold %g",
						p->params.critical_abs, p->params.stress_abs)));
}

static void
RvIgActionsText(const RvIgPolicy *p, char *out)
{
	for (int s = 0; s < RV_IG_NSTATES; s++)
		for (int c = 0; c < RV_IG_NCLASSES; c++)
			out[s * RV_IG_NCLASSES + c] = rvIgActionCodes[p->actions[s][c]];
	out[RV_IG_NSTATES * RV_IG_NCLASSES] = '\0';
}

/* ----------------------------------------------------------------
 *		Running as the extension's owner
 * ----------------------------------------------------------------
 */
/* The extension's owner; an error if it is not installed here */
static Oid
RvIgExtensionOwner(void)
{
	RvExtensionInfoData ext;

	(void) RvExtensionLookup(&ext, false);
	return ext.owner;
}

/*
 * Run body(arg) connected to SPI as the extension's owner (so that the
 * functions' own checks decide who may do what, not grants on the
 * catalog tables); the caller's user is back afterwards, on error too.
 */
static void
RvIgSpiAsOwner(void (*body) (void *arg), void *arg)
{
	Oid			saveUser;
	int			saveSec;

	GetUserIdAndSecContext(&saveUser, &saveSec);
	SetUserIdAndSecContext(RvIgExtensionOwner(), saveSec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		body(arg);
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saveUser, saveSec);
	}
	PG_END_TRY();
}

/* A JSON string, or null for NULL */
static void
RvIgAppendJsonString(StringInfo buf, const char *str)
{
	if (str)
		escape_json(buf, str);
	else
		appendStringInfoString(buf, "null");
}

/* A JSON text built here as a jsonb Datum */
static Datum
RvIgJsonb(const char *json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/*
 * Run one statement on the extension's tables (connected to SPI): sql
 * names them as %s.table (or %1$s, more than once), the schema the
 * extension is in now; an error saying what could not be done unless SPI
 * answers expect.  The results are in SPI_tuptable / SPI_processed.
 */
static void
RvIgSpiRun(const char *sql, int nargs, Oid *types, Datum *vals, const char *nulls,
		   bool readOnly, long count, int expect, const char *what)
{
	StringInfoData q;

	initStringInfo(&q);
	appendStringInfo(&q, sql, RvExtensionSchemaSql());
	if (SPI_execute_with_args(q.data, nargs, types, vals, nulls, readOnly, count) != expect)
		elog(ERROR, "%s", what);
	pfree(q.data);
}

/* The policy of an index (SPI connected, as the owner) */
static void
RvIgResolvePolicy(Oid indexid, Oid heapid, RvIgPolicy *p, char **name)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	char	   *idxname = get_rel_name(indexid);
	Datum		args[2] = {ObjectIdGetDatum(heapid), CStringGetTextDatum(idxname ? idxname : "")};
	Jsonb	   *j = NULL;

	*name = NULL;
	RvIgSpiRun("SELECT p.name, p.policy FROM %1$s.ruvector_integrity_policies p"
			   " LEFT JOIN %1$s.ruvector_integrity_attachments a ON a.policy = p.name"
			   "  AND a.target::pg_catalog.oid = $1 AND a.index_name::pg_catalog.text IN ($2, '')"
			   " WHERE a.policy IS NOT NULL OR p.name = 'default'"
			   " ORDER BY CASE WHEN a.index_name::pg_catalog.text = $2 THEN 0"
			   " WHEN a.policy IS NOT NULL THEN 1 ELSE 2 END LIMIT 1",
			   2, argtypes, args, NULL, true, 1, SPI_OK_SELECT,
			   "integrity policies could not be read");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (!isnull)
			j = DatumGetJsonbPCopy(d);
	}
	RvIgPolicyParse(j, p);
}

/*
 * The table of a policy's or the gate's target: the target itself for a
 * table or materialized view, its table for an index (*indexid set, else
 * InvalidOid); InvalidOid for any other relation.
 */
static Oid
RvIgTargetTable(Oid target, Oid *indexid)
{
	char		relkind = get_rel_relkind(target);

	*indexid = InvalidOid;
	if (relkind == RELKIND_INDEX)
	{
		*indexid = target;
		return IndexGetRelation(target, false);
	}
	if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)
		return target;
	return InvalidOid;
}

/* ----------------------------------------------------------------
 *		Which indexes have a scope
 * ----------------------------------------------------------------
 */
bool
RvIntegrityIsScopedIndex(Relation index, const char **kind)
{
	HeapTuple	tup;
	Oid			handler;
	char	   *hname;

	if (index->rd_rel->relkind != RELKIND_INDEX)
		return false;
	tup = SearchSysCache1(AMOID, ObjectIdGetDatum(index->rd_rel->relam));
	if (!HeapTupleIsValid(tup))
		return false;
	handler = ((Form_pg_am) GETSTRUCT(tup))->amhandler;
	ReleaseSysCache(tup);
	hname = get_func_name(handler);
	if (hname == NULL)
		return false;
	if (strcmp(hname, "hnswhandler") == 0)
		*kind = "hnsw";
	else if (strcmp(hname, "ivfflathandler") == 0)
		*kind = "ivfflat";
	else
		return false;
	/* only ruvector's own handlers */
	return getExtensionOfObject(ProcedureRelationId, handler) == get_extension_oid("ruvector", true);
}

/* "hnsw", "ivfflat" or "" */
static const char *
RvIgIndexKind(Oid indexid)
{
	Relation	index = index_open(indexid, AccessShareLock);
	const char *kind = "";

	if (!RvIntegrityIsScopedIndex(index, &kind))
		kind = "";
	index_close(index, AccessShareLock);
	return kind;
}

/* Open an index for a sample or repair, with the checks every caller needs */
static Relation
RvIgOpenIndex(Oid indexid, const char **kind, Oid *heapid, AclMode need)
{
	Relation	index;
	Oid			heap;

	(void) rv_relation_name_or_error(indexid);
	heap = IndexGetRelation(indexid, true);
	if (!OidIsValid(heap))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", get_rel_name(indexid)),
				 errhint("Integrity scopes are hnsw and ivfflat indexes.")));
	if (pg_class_aclcheck(heap, GetUserId(), need) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(heap));
	index = index_open(indexid, AccessShareLock);
	if (!RvIntegrityIsScopedIndex(index, kind))
	{
		char	   *name = pstrdup(RelationGetRelationName(index));

		index_close(index, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("index \"%s\" is neither an hnsw nor an ivfflat index of ruvector", name)));
	}
	*heapid = heap;
	return index;
}

/* ----------------------------------------------------------------
 *		State updates
 * ----------------------------------------------------------------
 */
static double
RvIgEpoch(TimestampTz t)
{
	return (double) (t - SetEpochTimestamp()) / 1000000.0;
}

static void
RvIgAppendNumber(StringInfo buf, double x)
{
	if (isnan(x) || x < 0)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.10g", x);
}

/* The sample as a JSON object (without the closing brace) */
static void
RvIgSampleJson(StringInfo buf, RvIgSample *s, double baseline)
{
	appendStringInfo(buf, "{\"kind\": \"%s\", \"lambda_cut\": ", s->kind);
	RvIgAppendNumber(buf, s->lambdaCut);
	appendStringInfoString(buf, ", \"lambda2\": ");
	RvIgAppendNumber(buf, s->lambda2);
	appendStringInfo(buf, ", \"nodes\": %u, \"edges\": %u, \"elements\": " INT64_FORMAT
					 ", \"live\": " INT64_FORMAT ", \"unreachable\": " INT64_FORMAT
					 ", \"witness_edges\": %s, \"baseline\": ",
					 s->nodes, s->edges, s->elements, s->live, s->unreachable, s->witness.data);
	RvIgAppendNumber(buf, baseline);
	appendStringInfo(buf, ", \"elapsed_ms\": %.3f%s", s->elapsedMs, s->extra.data);
}

/*
 * Feed a sample to an index's state machine and store the result:
 * returns the new state, *from the previous one; appends "state" and
 * "previous_state" members to json.
 */
typedef struct RvIgUpdate
{
	/* in */
	Oid			indexid;
	Oid			heapid;
	RvIgSample *s;
	StringInfo	json;
	TimestampTz now;
	/* out */
	RvIgState	from;
	RvIgMachine m;
	RvIgPolicy	p;
	double		baseline;
	TimestampTz since;
	RvIgState	state;
	bool		baselineReset;
} RvIgUpdate;

/* The SPI part of RvIgUpdateState (through RvIgSpiAsOwner) */
static void
RvIgUpdateRow(void *arg)
{
	RvIgUpdate *u = arg;
	Oid			indexid = u->indexid;
	Oid			heapid = u->heapid;
	RvIgSample *s = u->s;
	StringInfo	json = u->json;
	TimestampTz now = u->now;
	RvIgState  *from = &u->from;
	char	   *pname;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(indexid)};
	char		actions[RV_IG_NSTATES * RV_IG_NCLASSES + 1];
	bool		existed = false;

	RvIgResolvePolicy(indexid, heapid, &u->p, &pname);
	RvIgSpiRun("SELECT CASE state WHEN 'stress' THEN 1 WHEN 'critical' THEN 2 ELSE 0 END,"
			   " baseline, below, above_stress, above_critical, last_transition, since, relfilenode"
			   " FROM %s.ruvector_integrity_state WHERE index::pg_catalog.oid = $1 FOR UPDATE",
			   1, argtypes, args, NULL, false, 1, SPI_OK_SELECT,
			   "ruvector_integrity_state could not be read");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		existed = true;
		u->m.state = (RvIgState) DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull));
		d = SPI_getbinval(tup, td, 2, &isnull);
		u->baseline = isnull ? NAN : DatumGetFloat8(d);
		u->m.below = DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull));
		u->m.aboveStress = DatumGetFloat8(SPI_getbinval(tup, td, 4, &isnull));
		u->m.aboveCritical = DatumGetFloat8(SPI_getbinval(tup, td, 5, &isnull));
		u->m.lastTransition = DatumGetFloat8(SPI_getbinval(tup, td, 6, &isnull));
		u->since = DatumGetTimestampTz(SPI_getbinval(tup, td, 7, &isnull));
		d = SPI_getbinval(tup, td, 8, &isnull);
		/*
		 * A new relfilenode is a new build (REINDEX, a rebuild repair): its
		 * first sample is the new baseline, unless the build itself came
		 * out split (then the old baseline stays the reference).  So is
		 * the sample after a repair that left every row reachable: the
		 * data may have changed shape (a deleted band between clusters),
		 * and the repaired graph is the best reference there is.
		 */
		if (((!isnull && DatumGetObjectId(d) != s->relfilenode) ||
			 (s->rebaseline && s->unreachable == 0 && s->oneWay == 0)) && s->signal > 0)
		{
			u->baseline = s->signal;
			u->baselineReset = true;
		}
	}
	if (isnan(u->baseline) && !isnan(s->signal))
		u->baseline = s->signal;

	/*
	 * More live rows than the policy tolerates out of reach of searches
	 * (none reaches them, or those whose descent ends among them reach
	 * nothing else): the index is split for searches whatever links remain
	 * the other way (a cut counts links in both directions).  That is a
	 * count, not an estimate: the index leaves normal on this sample, not
	 * after degrade_samples in a row (the hysteresis is for the noise of
	 * the cut).
	 */
	if (s->live > 0 &&
		(double) (s->unreachable + s->oneWay) > u->p.unreachableTolerance * (double) s->live)
	{
		s->signal = 0;
		if (u->m.state == RV_IG_NORMAL)
			u->m.below = Max(u->m.below, u->p.params.degrade_samples - 1);
	}
	/* a stored policy was validated: critical is never above stress */
	Assert(u->p.params.critical_ratio <= u->p.params.stress_ratio);
	*from = u->m.state;
	u->state = rv_ig_step(&u->m, &u->p.params, isnan(u->baseline) ? 0 : u->baseline, s->signal,
						  RvIgEpoch(now));
	if (u->state != *from || !existed)
		u->since = now;

	/* the sample as stored and returned */
	RvIgSampleJson(json, s, u->baseline);
	appendStringInfoString(json, ", \"signal\": ");
	RvIgAppendNumber(json, s->signal);
	appendStringInfo(json, ", \"state\": \"%s\", \"previous_state\": \"%s\", \"baseline_reset\": %s, \"policy\": ",
					 rv_ig_state_name(u->state), rv_ig_state_name(*from),
					 u->baselineReset ? "true" : "false");
	RvIgAppendJsonString(json, pname);
	appendStringInfoChar(json, '}');

	RvIgActionsText(&u->p, actions);
	{
		Oid			types[21] = {REGCLASSOID, REGCLASSOID, TEXTOID, TEXTOID, FLOAT8OID,
			FLOAT8OID, FLOAT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, FLOAT8OID,
		FLOAT8OID, FLOAT8OID, TEXTOID, TEXTOID, FLOAT4OID, INT4OID, FLOAT4OID, JSONBOID, OIDOID};
		Datum		vals[21];
		char		nulls[22] = "                     ";

		vals[0] = ObjectIdGetDatum(indexid);
		vals[1] = ObjectIdGetDatum(heapid);
		vals[2] = CStringGetTextDatum(s->kind);
		vals[3] = CStringGetTextDatum(rv_ig_state_name(u->state));
		vals[4] = Float8GetDatum(u->baseline);
		if (isnan(u->baseline))
			nulls[4] = 'n';
		vals[5] = Float8GetDatum(s->lambdaCut);
		if (s->lambdaCut < 0 || isnan(s->lambdaCut))
			nulls[5] = 'n';
		vals[6] = Float8GetDatum(s->lambda2);
		if (s->lambda2 < 0 || isnan(s->lambda2))
			nulls[6] = 'n';
		vals[7] = Int64GetDatum(s->unreachable);
		vals[8] = TimestampTzGetDatum(u->since);
		vals[9] = TimestampTzGetDatum(now);
		vals[10] = Int32GetDatum(u->m.below);
		vals[11] = Float8GetDatum(u->m.aboveStress);
		vals[12] = Float8GetDatum(u->m.aboveCritical);
		vals[13] = Float8GetDatum(u->m.lastTransition);
		vals[14] = pname ? CStringGetTextDatum(pname) : (Datum) 0;
		if (!pname)
			nulls[14] = 'n';
		vals[15] = CStringGetTextDatum(actions);
		vals[16] = Float4GetDatum((float4) u->p.throttleFactor);
		vals[17] = Int32GetDatum(u->p.throttleDelayMs);
		vals[18] = Float4GetDatum((float4) u->p.searchEfFactor);
		vals[19] = RvIgJsonb(json->data);
		vals[20] = ObjectIdGetDatum(s->relfilenode);
		RvIgSpiRun("INSERT INTO %s.ruvector_integrity_state AS s (index, heap, kind, state, baseline,"
				   " lambda_cut, lambda2, unreachable, since, sampled_at, samples, below, above_stress,"
				   " above_critical, last_transition, policy, actions, throttle_factor,"
				   " throttle_delay_ms, search_ef_factor, last_sample, relfilenode)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $14, $15, $16,"
				   " $17, $18, $19, $20, $21)"
				   " ON CONFLICT (index) DO UPDATE SET heap = $2, kind = $3, state = $4, baseline = $5,"
				   " lambda_cut = $6, lambda2 = $7, unreachable = $8, since = $9, sampled_at = $10,"
				   " samples = s.samples + 1, below = $11, above_stress = $12, above_critical = $13,"
				   " last_transition = $14, policy = $15, actions = $16, throttle_factor = $17,"
				   " throttle_delay_ms = $18, search_ef_factor = $19, last_sample = $20, relfilenode = $21",
				   21, types, vals, nulls, false, 0, SPI_OK_INSERT,
				   "ruvector_integrity_state could not be written");
	}
}

/*
 * Feed a sample to an index's state machine and store the result:
 * returns the new state, *from the previous one; json gets the sample
 * with "state" and "previous_state".
 */
static RvIgState
RvIgUpdateState(Oid indexid, Oid heapid, RvIgSample *s, bool detached,
				StringInfo json, RvIgState *from, RvIgPolicy *policyOut)
{
	RvIgUpdate	u;
	TimestampTz now = GetCurrentTimestamp();
	RvIgScope	scope;
	RvIgState	state;
	double		baseline;
	TimestampTz since;
	RvIgPolicy	p;

	rv_ig_machine_init(&u.m);
	u.indexid = indexid;
	u.heapid = heapid;
	u.s = s;
	u.json = json;
	u.now = now;
	u.baselineReset = false;
	u.baseline = NAN;
	u.since = now;
	RvIgSpiAsOwner(RvIgUpdateRow, &u);
	*from = u.from;
	state = u.state;
	baseline = u.baseline;
	since = u.since;
	p = u.p;

	memset(&scope, 0, sizeof(scope));
	scope.dbid = MyDatabaseId;
	scope.indexid = indexid;
	scope.heapid = heapid;
	scope.state = (uint8) state;
	memcpy(scope.actions, p.actions, sizeof(scope.actions));
	scope.throttleFactor = (float4) p.throttleFactor;
	scope.throttleDelayMs = p.throttleDelayMs;
	scope.searchEfFactor = (float4) p.searchEfFactor;
	scope.lambda = s->signal;
	scope.baseline = baseline;
	scope.since = since;
	scope.sampledAt = now;
	RvIntegrityPublish(&scope);
	if (policyOut)
		*policyOut = p;

	if (state != *from)
	{
		StringInfoData ev;

		initStringInfo(&ev);
		appendStringInfo(&ev, "{\"from\": \"%s\", \"to\": \"%s\", \"lambda_cut\": ",
						 rv_ig_state_name(*from), rv_ig_state_name(state));
		RvIgAppendNumber(&ev, s->signal);
		appendStringInfoString(&ev, ", \"baseline\": ");
		RvIgAppendNumber(&ev, baseline);
		appendStringInfo(&ev, ", \"threshold\": %.10g, \"unreachable\": " INT64_FORMAT
						 ", \"witness_edges\": %s}",
						 rv_ig_threshold(&p.params, isnan(baseline) ? 0 : baseline,
										 state > *from ? *from : state),
						 s->unreachable, s->witness.data);
		RvIgAudit(detached, "integrity.transition", indexid, ev.data);
	}
	return state;
}

/* Sample one index and update its state; returns the JSON text */
static char *
RvIgSampleIndex(Oid indexid, bool detached, RvIgState *from, RvIgState *to,
				RvIgPolicy *policy, bool rebaseline)
{
	const char *kind;
	Oid			heapid;
	Relation	index;
	RvIgSample	s;
	instr_time	start,
				elapsed;
	StringInfoData json;

	index = RvIgOpenIndex(indexid, &kind, &heapid, ACL_SELECT);
	memset(&s, 0, sizeof(s));
	INSTR_TIME_SET_CURRENT(start);
	if (strcmp(kind, "hnsw") == 0)
		RvIgSampleHnsw(index, &s);
	else
		RvIgSampleIvf(index, &s);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	s.elapsedMs = INSTR_TIME_GET_MILLISEC(elapsed);
	s.relfilenode = index->rd_rel->relfilenode;
	s.rebaseline = rebaseline;
	index_close(index, AccessShareLock);

	initStringInfo(&json);
	*to = RvIgUpdateState(indexid, heapid, &s, detached, &json, from, policy);
	return json.data;
}

Datum
ruvector_integrity_sample(PG_FUNCTION_ARGS)
{
	RvIgState	from,
				to;

	PreventCommandDuringRecovery("ruvector_integrity_sample()");
	PG_RETURN_DATUM(RvIgJsonb(RvIgSampleIndex(PG_GETARG_OID(0), false, &from, &to, NULL, false)));
}

/* The operational scope: sampled, fed to its machine (shared memory only) */
static char *
RvIgSampleOperationalScope(bool detached)
{
	RvIgSample	s;
	RvIgOperational op;
	RvIgParams	params;
	TimestampTz now = GetCurrentTimestamp();
	RvIgState	from,
				to;
	instr_time	start,
				elapsed;
	StringInfoData json;

	memset(&s, 0, sizeof(s));
	INSTR_TIME_SET_CURRENT(start);
	RvIgSampleOperational(&s);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	s.elapsedMs = INSTR_TIME_GET_MILLISEC(elapsed);

	rv_ig_params_default(&params);
	/* the operational scope reacts within a few samples, without a long hold */
	params.restore_hold = 2.0 * rv_integrity_interval;
	params.cooldown = 0;
	(void) RvIntegrityGetOperational(&op);
	if (!op.machineValid)
		rv_ig_machine_init(&op.machine);
	from = op.state;
	op.machine.state = from;
	to = rv_ig_step(&op.machine, &params, 100, s.signal, RvIgEpoch(now));
	if (to != from || op.since == 0)
		op.since = now;
	op.state = to;
	op.lambda = s.signal;
	op.sampled = now;
	RvIntegrityPutOperational(&op);

	initStringInfo(&json);
	RvIgSampleJson(&json, &s, 100);
	appendStringInfo(&json, ", \"state\": \"%s\", \"previous_state\": \"%s\", \"shared\": %s}",
					 rv_ig_state_name(to), rv_ig_state_name(from),
					 RvIntegrityShared() ? "true" : "false");
	if (to != from)
	{
		StringInfoData ev;

		initStringInfo(&ev);
		appendStringInfo(&ev, "{\"scope\": \"operational\", \"from\": \"%s\", \"to\": \"%s\", \"lambda_cut\": %.6g, \"witness_edges\": %s}",
						 rv_ig_state_name(from), rv_ig_state_name(to), s.signal, s.witness.data);
		RvIgAudit(detached, "integrity.transition", InvalidOid, ev.data);
	}
	return json.data;
}

Datum
ruvector_integrity_sample_operational(PG_FUNCTION_ARGS)
{
	PreventCommandDuringRecovery("ruvector_integrity_sample_operational()");
	PG_RETURN_DATUM(RvIgJsonb(RvIgSampleOperationalScope(false)));
}

/* ----------------------------------------------------------------
 *		Status and gate
 * ----------------------------------------------------------------
 */
typedef struct RvIgStatusArgs
{
	ReturnSetInfo *rsinfo;
	Oid			caller;			/* whose privileges decide which rows */
} RvIgStatusArgs;

/* The rows of ruvector_integrity_state the caller may see (as the owner) */
static void
RvIgStatusRows(void *arg)
{
	RvIgStatusArgs *a = arg;
	ReturnSetInfo *rsinfo = a->rsinfo;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(a->caller)};

	RvIgSpiRun("SELECT index::pg_catalog.text, kind, state, lambda_cut, baseline, since,"
			   " sampled_at, last_sample FROM %s.ruvector_integrity_state"
			   " WHERE pg_catalog.has_table_privilege($1, heap, 'SELECT')"
			   " ORDER BY index::pg_catalog.text",
			   1, argtypes, args, NULL, true, 0, SPI_OK_SELECT,
			   "ruvector_integrity_state could not be read");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[8];
		bool		nulls[8];

		for (int c = 0; c < 8; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
		/* text and jsonb values live in SPI memory: copy before SPI_finish */
		for (int c = 0; c < 8; c++)
			if (!nulls[c] && (c == 0 || c == 1 || c == 2 || c == 7))
				values[c] = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[c]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
ruvector_integrity_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RvIgStatusArgs a = {rsinfo, GetUserId()};
	RvIgOperational op;

	InitMaterializedSRF(fcinfo, 0);
	RvIgSpiAsOwner(RvIgStatusRows, &a);

	if (RvIntegrityGetOperational(&op))
	{
		Datum		values[8];
		bool		nulls[8] = {false, false, false, isnan(op.lambda), false, op.since == 0,
		!op.machineValid, true};

		values[0] = CStringGetTextDatum("operational");
		values[1] = CStringGetTextDatum("operational");
		values[2] = CStringGetTextDatum(rv_ig_state_name(op.state));
		values[3] = Float8GetDatum(op.lambda);
		values[4] = Float8GetDatum(100);
		values[5] = TimestampTzGetDatum(op.since);
		values[6] = TimestampTzGetDatum(op.sampled);
		values[7] = (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

typedef struct RvIgOpName
{
	const char *name;
	RvIgClass	cls;
	bool		read;
} RvIgOpName;

static const RvIgOpName rvIgOps[] = {
	{"search", RV_IG_LOW, true},
	{"insert", RV_IG_LOW, false},
	{"delete", RV_IG_LOW, false},
	{"bulk_insert", RV_IG_MEDIUM, false},
	{"copy", RV_IG_MEDIUM, false},
	{"update", RV_IG_MEDIUM, false},
	{"ivf_refresh", RV_IG_MEDIUM, false},
	{"create_index", RV_IG_HIGH, false},
	{"compaction", RV_IG_HIGH, false},
	{"tier_demotion", RV_IG_HIGH, false},
};

Datum
ruvector_integrity_gate(PG_FUNCTION_ARGS)
{
	char	   *op = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			target = PG_GETARG_OID(1);
	const RvIgOpName *o = NULL;
	Oid			heapid;
	Oid			indexid = InvalidOid;
	RvIgScope	sc;
	RvIgDecision d;
	StringInfoData json;

	for (int i = 0; i < lengthof(rvIgOps); i++)
		if (strcmp(op, rvIgOps[i].name) == 0)
			o = &rvIgOps[i];
	if (o == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown operation \"%s\"", op),
				 errhint("Operations are search, insert, delete (low); bulk_insert, copy, update, "
						 "ivf_refresh (medium); create_index, compaction, tier_demotion (high).")));
	heapid = RvIgTargetTable(target, &indexid);
	if (!OidIsValid(heapid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("integrity gate target %u is neither a table nor an index", target)));
	if (pg_class_aclcheck(heapid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(heapid));

	RvIntegrityInvalidateLocal();
	d = RvIntegrityDecide(heapid, indexid, o->cls, &sc);
	if (o->read)
		d = RV_IG_ALLOW;		/* reads always work */
	initStringInfo(&json);
	appendStringInfo(&json, "{\"operation\": \"%s\", \"class\": \"%s\", \"decision\": \"%s\", "
					 "\"throttle_factor\": %.6g, \"state\": \"%s\", \"lambda_cut\": ",
					 o->name, RvIgClassName(o->cls), RvIgDecisionName(d),
					 d == RV_IG_THROTTLE ? (double) sc.throttleFactor : 1.0,
					 rv_ig_state_name(sc.state));
	RvIgAppendNumber(&json, sc.state == RV_IG_NORMAL ? NAN : sc.lambda);
	appendStringInfoString(&json, ", \"scope\": ");
	if (sc.state == RV_IG_NORMAL)
		appendStringInfoString(&json, "null");
	else if (OidIsValid(sc.indexid))
		escape_json(&json, get_rel_name(sc.indexid) ? get_rel_name(sc.indexid) : "?");
	else
		appendStringInfoString(&json, "\"operational\"");
	if (o->read && sc.state == RV_IG_CRITICAL)
		appendStringInfo(&json, ", \"search_ef_factor\": %.6g", (double) sc.searchEfFactor);
	appendStringInfoChar(&json, '}');
	PG_RETURN_DATUM(RvIgJsonb(json.data));
}

/* ----------------------------------------------------------------
 *		Repair
 * ----------------------------------------------------------------
 */

/*
 * ruvector_integrity_repair(index, rebuild): reconnect an HNSW index in
 * place, and with rebuild also rebuild it if rows stay unreachable; then
 * sample it (the state returns to normal through the hysteresis, not at
 * once).  Owner of the table only, like REINDEX.
 */
/*
 * Repair one HNSW index and sample it again; the JSON report.  inPlace:
 * HnswRepair (src/indexam/hnswrepair.c: reconnects unreachable elements
 * through WAL while inserts and scans go on).  rebuild: reindex_index
 * when there is no in-place pass or it left rows unreachable (a ShareLock
 * on the table, the index exclusively locked while it is rebuilt).  The
 * caller has checked who may.  detached: from the worker (audit events
 * that survive its transaction's fate).
 */
static char *
RvIgRepairIndex(Oid indexid, bool detached, bool inPlace, bool rebuild)
{
	const char *kind;
	Oid			heapid;
	Relation	index;
	RvIgSample	before;
	RvIgState	from,
				to;
	char	   *after;
	char		persistence;
	instr_time	start,
				elapsed;
	StringInfoData json;
	HnswRepairResult r;
	bool		rebuilt = false;

	index = RvIgOpenIndex(indexid, &kind, &heapid, ACL_SELECT);
	if (strcmp(kind, "hnsw") != 0)
	{
		index_close(index, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" is an ivfflat index: its lists have no links to repair", get_rel_name(indexid)),
				 errhint("Refresh its centers with ruvector_ivf_refresh().")));
	}
	if (!pg_class_ownercheck(heapid, GetUserId()))
	{
		index_close(index, AccessShareLock);
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(heapid));
	}
	persistence = index->rd_rel->relpersistence;

	memset(&before, 0, sizeof(before));
	RvIgSampleHnsw(index, &before);
	index_close(index, AccessShareLock);

	INSTR_TIME_SET_CURRENT(start);
	memset(&r, 0, sizeof(r));
	if (inPlace)
	{
		/* as an insert: RowExclusiveLock keeps REINDEX and DROP out */
		Relation	heap = table_open(heapid, RowExclusiveLock);

		index = index_open(indexid, RowExclusiveLock);
		HnswRepair(heap, index, &r);
		index_close(index, NoLock);
		table_close(heap, NoLock);
		CommandCounterIncrement();
	}
	if (rebuild && (!inPlace || r.unreachable_after > 0 || r.one_way_after > 0))
	{
		ReindexParams params = {0};

		reindex_index(indexid, false, persistence, &params);
		CommandCounterIncrement();
		rebuilt = true;
	}
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);

	after = RvIgSampleIndex(indexid, detached, &from, &to, NULL, true);

	initStringInfo(&json);
	appendStringInfo(&json, "{\"method\": \"%s\", \"elapsed_ms\": %.3f, \"lambda_cut_before\": ",
					 inPlace ? (rebuilt ? "in_place+rebuild" : "in_place") : "rebuild",
					 INSTR_TIME_GET_MILLISEC(elapsed));
	RvIgAppendNumber(&json, before.lambdaCut);
	appendStringInfo(&json, ", \"unreachable_before\": " INT64_FORMAT, before.unreachable);
	if (inPlace)
		appendStringInfo(&json,
						 ", \"in_place\": {\"unreachable_before\": " INT64_FORMAT
						 ", \"unreachable_after\": " INT64_FORMAT
						 ", \"elements_reconnected\": " INT64_FORMAT
						 ", \"links_added\": " INT64_FORMAT
						 ", \"weak_reinforced\": " INT64_FORMAT
						 ", \"one_way_before\": " INT64_FORMAT
						 ", \"one_way_after\": " INT64_FORMAT
						 ", \"reach_links\": " INT64_FORMAT
						 ", \"rounds\": %d, \"elapsed_ms\": %.3f}",
						 r.unreachable_before, r.unreachable_after, r.elements_reconnected,
						 r.links_added, r.weak_reinforced, r.one_way_before, r.one_way_after,
						 r.reach_links, r.rounds, r.elapsed_ms);
	appendStringInfo(&json, ", \"after\": %s}", after);
	RvIgAudit(detached, "integrity.repair", indexid, json.data);
	return json.data;
}

Datum
ruvector_integrity_repair(PG_FUNCTION_ARGS)
{
	PreventCommandDuringRecovery("ruvector_integrity_repair()");
	PG_RETURN_DATUM(RvIgJsonb(RvIgRepairIndex(PG_GETARG_OID(0), false, true, PG_GETARG_BOOL(1))));
}

/* ----------------------------------------------------------------
 *		Policies from SQL
 * ----------------------------------------------------------------
 */

/* Rewrite the decisions of every stored state from its (new) policy */
static void
RvIgRepublishAll(void)
{
	List	   *rows = NIL;
	ListCell   *lc;

	RvIgSpiRun("SELECT index::pg_catalog.oid, heap::pg_catalog.oid FROM %s.ruvector_integrity_state",
			   0, NULL, NULL, NULL, true, 0, SPI_OK_SELECT,
			   "ruvector_integrity_state could not be read");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid		   *pair = palloc(sizeof(Oid) * 2);

		pair[0] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		pair[1] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		rows = lappend(rows, pair);
	}
	foreach(lc, rows)
	{
		Oid		   *pair = lfirst(lc);
		RvIgPolicy	p;
		char	   *pname;
		char		actions[RV_IG_NSTATES * RV_IG_NCLASSES + 1];
		Oid			types[6] = {OIDOID, TEXTOID, TEXTOID, FLOAT4OID, INT4OID, FLOAT4OID};
		Datum		vals[6];
		char		nulls[7] = "      ";
		RvIgScope	sc;

		RvIgResolvePolicy(pair[0], pair[1], &p, &pname);
		RvIgActionsText(&p, actions);
		vals[0] = ObjectIdGetDatum(pair[0]);
		vals[1] = pname ? CStringGetTextDatum(pname) : (Datum) 0;
		if (!pname)
			nulls[1] = 'n';
		vals[2] = CStringGetTextDatum(actions);
		vals[3] = Float4GetDatum((float4) p.throttleFactor);
		vals[4] = Int32GetDatum(p.throttleDelayMs);
		vals[5] = Float4GetDatum((float4) p.searchEfFactor);
		RvIgSpiRun("UPDATE %s.ruvector_integrity_state SET policy = $2, actions = $3,"
				   " throttle_factor = $4, throttle_delay_ms = $5, search_ef_factor = $6"
				   " WHERE index::pg_catalog.oid = $1",
				   6, types, vals, nulls, false, 0, SPI_OK_UPDATE,
				   "ruvector_integrity_state could not be updated");
		if (RvIntegrityLookup(pair[0], &sc))
		{
			memcpy(sc.actions, p.actions, sizeof(sc.actions));
			sc.throttleFactor = (float4) p.throttleFactor;
			sc.throttleDelayMs = p.throttleDelayMs;
			sc.searchEfFactor = (float4) p.searchEfFactor;
			RvIntegrityPublish(&sc);
		}
	}
	RvIntegrityInvalidateLocal();
}

/* The policy functions are not STRICT: a NULL policy or name means "none" */
static void
RvIgArgNotNull(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

typedef struct RvIgPolicyArgs
{
	text	   *name;
	char	   *cname;
	Jsonb	   *policy;			/* NULL: drop the policy */
} RvIgPolicyArgs;

/* Store or drop a policy, then republish every state (as the owner) */
static void
RvIgPolicyStore(void *arg)
{
	RvIgPolicyArgs *a = arg;
	Oid			types[2] = {TEXTOID, JSONBOID};
	Datum		vals[2] = {PointerGetDatum(a->name), PointerGetDatum(a->policy)};

	if (a->policy != NULL)
		RvIgSpiRun("INSERT INTO %s.ruvector_integrity_policies (name, policy) VALUES ($1, $2)"
				   " ON CONFLICT (name) DO UPDATE SET policy = $2, updated_at = pg_catalog.now()",
				   2, types, vals, NULL, false, 0, SPI_OK_INSERT,
				   "integrity policy could not be stored");
	else
	{
		RvIgSpiRun("SELECT 1 FROM %s.ruvector_integrity_attachments WHERE policy = $1",
				   1, types, vals, NULL, true, 1, SPI_OK_SELECT,
				   "integrity attachments could not be read");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("integrity policy \"%s\" is attached to an index or table", a->cname),
					 errhint("Detach it first with ruvector_integrity_policy_attach(target, NULL).")));
		RvIgSpiRun("DELETE FROM %s.ruvector_integrity_policies WHERE name = $1",
				   1, types, vals, NULL, false, 0, SPI_OK_DELETE,
				   "integrity policy could not be dropped");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("integrity policy \"%s\" does not exist", a->cname)));
	}
	RvIgRepublishAll();
}

Datum
ruvector_integrity_policy_set(PG_FUNCTION_ARGS)
{
	text	   *name;
	Jsonb	   *policy = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	char	   *cname;
	RvIgPolicy	p;
	RvIgPolicyArgs a;
	StringInfoData ev;

	RvIgArgNotNull(fcinfo, 0, "integrity policy name");
	name = PG_GETARG_TEXT_PP(0);
	cname = text_to_cstring(name);

	if (cname[0] == '\0' || strlen(cname) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("integrity policy name must have 1 to %d bytes", NAMEDATALEN - 1)));
	if (policy != NULL)
		RvIgPolicyParse(policy, &p);

	a.name = name;
	a.cname = cname;
	a.policy = policy;
	RvIgSpiAsOwner(RvIgPolicyStore, &a);

	initStringInfo(&ev);
	appendStringInfoString(&ev, "{\"name\": ");
	escape_json(&ev, cname);
	appendStringInfoString(&ev, ", \"policy\": ");
	if (policy)
		appendStringInfoString(&ev, JsonbToCString(NULL, &policy->root, VARSIZE(policy)));
	else
		appendStringInfoString(&ev, "null");
	appendStringInfoChar(&ev, '}');
	RvIgAudit(false, "integrity.policy_set", InvalidOid, ev.data);
	PG_RETURN_VOID();
}

typedef struct RvIgAttachArgs
{
	Oid			heapid;
	char	   *indexName;		/* "" when attaching to the table */
	text	   *name;			/* NULL: detach */
} RvIgAttachArgs;

/* Replace the attachment of a table or index, then republish (as the owner) */
static void
RvIgAttachStore(void *arg)
{
	RvIgAttachArgs *a = arg;
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		vals[3] = {ObjectIdGetDatum(a->heapid), CStringGetTextDatum(a->indexName),
	PointerGetDatum(a->name)};

	RvIgSpiRun("DELETE FROM %s.ruvector_integrity_attachments"
			   " WHERE target::pg_catalog.oid = $1 AND index_name::pg_catalog.text = $2",
			   2, types, vals, NULL, false, 0, SPI_OK_DELETE,
			   "integrity attachments could not be written");
	if (a->name != NULL)
	{
		RvIgSpiRun("SELECT 1 FROM %s.ruvector_integrity_policies WHERE name = $3",
				   3, types, vals, NULL, true, 1, SPI_OK_SELECT,
				   "integrity policies could not be read");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("integrity policy \"%s\" does not exist", text_to_cstring(a->name)),
					 errhint("Create it with ruvector_integrity_policy_set(name, policy).")));
		RvIgSpiRun("INSERT INTO %s.ruvector_integrity_attachments (target, index_name, policy)"
				   " VALUES ($1::pg_catalog.oid::pg_catalog.regclass, $2, $3)",
				   3, types, vals, NULL, false, 0, SPI_OK_INSERT,
				   "integrity attachments could not be written");
	}
	RvIgRepublishAll();
}

Datum
ruvector_integrity_policy_attach(PG_FUNCTION_ARGS)
{
	Oid			target;
	text	   *name = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	Oid			indexid;
	Oid			heapid;
	RvIgAttachArgs a;
	StringInfoData ev;

	RvIgArgNotNull(fcinfo, 0, "integrity policy target");
	target = PG_GETARG_OID(0);
	heapid = RvIgTargetTable(target, &indexid);
	if (!OidIsValid(heapid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("integrity policies attach to tables and indexes, not to relation %u", target)));
	if (!pg_class_ownercheck(heapid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(heapid));

	a.heapid = heapid;
	a.indexName = OidIsValid(indexid) ? get_rel_name(indexid) : "";
	a.name = name;
	RvIgSpiAsOwner(RvIgAttachStore, &a);

	initStringInfo(&ev);
	appendStringInfoString(&ev, "{\"policy\": ");
	RvIgAppendJsonString(&ev, name ? text_to_cstring(name) : NULL);
	appendStringInfoChar(&ev, '}');
	RvIgAudit(false, "integrity.policy_attach", target, ev.data);
	PG_RETURN_VOID();
}

/* ----------------------------------------------------------------
 *		The worker's round (in a database worker, outside a transaction)
 * ----------------------------------------------------------------
 */

/*
 * ruvector's hnsw and ivfflat indexes here that are due for a sample, into
 * *(List **) arg (in TopMemoryContext); forgets the states of dropped
 * indexes (through RvIgSpiAsOwner).
 */
static void
RvIgDueIndexes(void *arg)
{
	StringInfoData q;
	List	  **due = arg;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT c.oid FROM pg_catalog.pg_class c"
					 " JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid"
					 " JOIN pg_catalog.pg_am a ON a.oid = c.relam"
					 " JOIN pg_catalog.pg_proc p ON p.oid = a.amhandler"
					 " JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
					 "  AND d.objid = p.oid AND d.deptype = 'e'"
					 "  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
					 " JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector'"
					 " LEFT JOIN %s.ruvector_integrity_state s ON s.index::pg_catalog.oid = c.oid"
					 " WHERE p.proname IN ('hnswhandler', 'ivfflathandler')"
					 "  AND c.relkind = 'i' AND c.relpersistence <> 't' AND i.indisvalid"
					 "  AND (s.sampled_at IS NULL OR s.sampled_at <= pg_catalog.now()"
					 "       - pg_catalog.make_interval(secs => %d * 0.9))"
					 " ORDER BY c.oid",
					 RvExtensionSchemaSql(), rv_integrity_interval);
	if (SPI_execute(q.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the indexes to sample");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		*due = lappend_oid(*due, oid);
		MemoryContextSwitchTo(old);
	}
	/* states of indexes that no longer exist */
	RvIgSpiRun("DELETE FROM %s.ruvector_integrity_state s WHERE NOT EXISTS"
			   " (SELECT FROM pg_catalog.pg_class c WHERE c.oid = s.index::pg_catalog.oid)"
			   " RETURNING s.index::pg_catalog.oid",
			   0, NULL, NULL, NULL, false, 0, SPI_OK_DELETE_RETURNING,
			   "could not clean up integrity states");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		RvIntegrityForget(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
	}
}

/*
 * Sample one index (RvIgWorkerVisit runs this in its own transaction),
 * and repair it when its policy asks for that.
 */
static void
RvIgWorkerSample(void *arg)
{
	Oid			indexid = *(Oid *) arg;
	RvIgState	from,
				to;
	RvIgPolicy	p;

	pgstat_report_activity(STATE_RUNNING, "ruvector: integrity sample");
	if (!ConditionalLockRelationOid(indexid, AccessShareLock))
		return;
	(void) RvIgSampleIndex(indexid, true, &from, &to, &p, false);
	UnlockRelationOid(indexid, AccessShareLock);
	if (to > from && to != RV_IG_NORMAL && strcmp(RvIgIndexKind(indexid), "hnsw") == 0 &&
		(p.autoRepair || (p.autoRebuild && to == RV_IG_CRITICAL)))
	{
		bool		rebuild = p.autoRebuild && to == RV_IG_CRITICAL;

		/* never wait long for the table */
		SetConfigOption("lock_timeout", "5s", PGC_SUSET, PGC_S_SESSION);
		pgstat_report_activity(STATE_RUNNING, "ruvector: integrity repair");
		ereport(LOG,
				(errmsg("ruvector integrity: index %s entered %s; repairing it (%s)",
						get_rel_name(indexid), rv_ig_state_name(to),
						p.autoRepair ? (rebuild ? "in place, then a rebuild if rows stay unreachable" : "in place")
						: "rebuild")));
		(void) RvIgRepairIndex(indexid, true, p.autoRepair, rebuild);
	}
}

/* Sample one index in its own transaction; errors are logged, not raised */
static void
RvIgWorkerVisit(Oid indexid)
{
	(void) RvWorkerRunInTransaction(RvIgWorkerSample, &indexid);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * One round: heartbeat, the operational scope, then every index due for
 * a sample, each in its own transaction; an error in one is logged and
 * the round goes on.  An HNSW scope that enters stress or critical is
 * repaired in place when its policy has auto_repair, and rebuilt on
 * entering critical with auto_rebuild (RvIgWorkerVisit).
 */
void
RvIntegrityWorkerRound(void)
{
	List	   *due = NIL;
	ListCell   *lc;

	RvIntegrityHeartbeat();

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_extension_oid("ruvector", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		return;
	}
	{
		RvIgOperational op;

		(void) RvIntegrityGetOperational(&op);
		if (!op.machineValid ||
			GetCurrentTimestamp() - op.sampled >= (int64) rv_integrity_interval * 900000)
			(void) RvIgSampleOperationalScope(true);
	}
	RvIgSpiAsOwner(RvIgDueIndexes, &due);
	PopActiveSnapshot();
	CommitTransactionCommand();

	foreach(lc, due)
	{
		CHECK_FOR_INTERRUPTS();
		RvIgWorkerVisit(lfirst_oid(lc));
	}
}

