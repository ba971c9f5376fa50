/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  Appending to the signed, hash-chained audit trail
 *	  (ruvector_audit_events): RvAuditEvent, RvAuditEventDetached, the
 *	  append-only guard trigger and ruvector_audit_log().
 *
 * NOTES
 *	  An append takes ExclusiveLock on the table and holds it to the end of
 *	  the transaction, so appends are serialized and the chain is linear:
 *	  the next seq and prev_hash are read from the last row under the lock,
 *	  with a snapshot taken after the lock was granted (a REPEATABLE READ
 *	  caller's own snapshot would miss rows committed while it waited).
 *	  Readers (ACCESS SHARE) are never blocked.  seq is max + 1 under the
 *	  lock, not a sequence, so an aborted append leaves no hole.
 *
 *	  Nobody writes the table directly: PUBLIC has no privilege on it, and
 *	  the guard trigger (ENABLE ALWAYS, so session_replication_role does not
 *	  skip it) refuses INSERT unless this file is inserting, and UPDATE,
 *	  DELETE and TRUNCATE always, superusers included; each refusal is
 *	  itself a detached event.  To insert, the writer switches to the
 *	  extension's owner (SECURITY_RESTRICTED_OPERATION) for the SPI calls,
 *	  so an unprivileged caller of an audited function can append; every
 *	  name in that SQL is qualified.
 *
 *	  Each appended event is also written to the server log as one JSON
 *	  line, at LOG level, when its transaction commits (an event rolled
 *	  back with its transaction or subtransaction is never logged as
 *	  committed).  A detached event is logged at once ("spooled") and
 *	  again when it enters the chain ("committed", with its seq and hash).
 *	  A transaction that appended cannot be PREPAREd: it would hold the
 *	  append lock until it is resolved.
 *
 *	  A new signing key is made only for an empty chain (LoadKeyForAppend):
 *	  with the key file missing, or holding another key than the head's
 *	  signer, the append is refused rather than signed under a key the
 *	  trail does not know.
 *
 *	  Detached events (audit_spool.c) are written to a spool file and
 *	  appended by a dynamic background worker in its own transaction, or by
 *	  the next append in the database, whichever takes the lock first; the
 *	  spool file is removed when that transaction commits.
 *
 *	  Lock order: the audited operation's own locks first, then the audit
 *	  table's ExclusiveLock (callers record the event after their work).
 *	  A backend that is about to be rejected never waits for the audit
 *	  worker, so the worker waiting for a lock that backend holds (the audit
 *	  table's own, or any other) only lasts until that backend's rollback.
 *
 * IDENTIFICATION
 *	  src/audit/audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit_int.h"
#include "common/rv_extension.h"

PG_FUNCTION_INFO_V1(ruvector_audit_guard);
PG_FUNCTION_INFO_V1(ruvector_audit_log);

#define RV_AUDIT_EVENT_TYPE_MAX	63
/* canonical payload text; well under the spool reader's limit */
#define RV_AUDIT_PAYLOAD_MAX	(1024 * 1024)

/* What happens at the end of the transaction that appended an event. */
typedef struct AuditPending
{
	int			nest;			/* (sub)transaction level that queued it */
	char	   *log_line;		/* to log at commit, or NULL */
	char	   *unlink_path;	/* spool file to remove at commit, or NULL */
} AuditPending;

/* the user and schema of one locked append session */
typedef struct AuditSession
{
	Oid			save_user;
	int			save_sec;
	const char *table;
} AuditSession;

static List *audit_pending = NIL;	/* in TopTransactionContext */
static bool audit_callbacks_registered = false;
static bool audit_inserting = false;	/* the guard lets our INSERT through */

void
RvAuditCryptoInit(void)
{
	static bool done = false;

	if (!done)
	{
		if (rv_audit_crypto_init() != 0)
			elog(ERROR, "libsodium could not be initialised");
		done = true;
	}
}

/*
 * RvAuditExtension finds the extension's owner, schema and audit table.
 * False if the extension or its table does not exist (yet) in this
 * database.
 */
bool
RvAuditExtension(Oid *owner, Oid *schema, Oid *table)
{
	RvExtensionInfoData ext;

	if (!RvExtensionLookup(&ext, true))
		return false;
	*owner = ext.owner;
	*schema = ext.nsp;
	*table = get_relname_relid(RV_AUDIT_TABLE, *schema);
	return OidIsValid(*table);
}

const char *
RvAuditTableName(Oid schema)
{
	return quote_qualified_identifier(get_namespace_name(schema), RV_AUDIT_TABLE);
}

void
RvAuditCheckEventType(const char *event_type, int elevel)
{
	size_t		len = event_type != NULL ? strlen(event_type) : 0;
	bool		ok = len >= 1 && len <= RV_AUDIT_EVENT_TYPE_MAX &&
		event_type[0] >= 'a' && event_type[0] <= 'z';

	for (size_t i = 0; ok && i < len; i++)
	{
		char		c = event_type[i];

		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
	}
	if (!ok)
		ereport(elevel,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit event type \"%s\" is not valid",
						event_type != NULL ? event_type : "(null)"),
				 errdetail("An event type is 1 to %d lower-case letters, digits, "
						   "underscores and dots, starting with a letter.",
						   RV_AUDIT_EVENT_TYPE_MAX)));
}

/* The canonical text of a JSON object (jsonb's output); ERROR if not one. */
static char *
CanonicalPayload(const char *payload_json)
{
	Datum		jb = DirectFunctionCall1(jsonb_in,
										 CStringGetDatum(payload_json != NULL ? payload_json : "{}"));
	char	   *text;

	if (!JB_ROOT_IS_OBJECT(DatumGetJsonbP(jb)) || JB_ROOT_IS_SCALAR(DatumGetJsonbP(jb)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit payload must be a JSON object")));
	text = DatumGetCString(DirectFunctionCall1(jsonb_out, jb));
	if (strlen(text) > RV_AUDIT_PAYLOAD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("audit payload is %zu bytes, more than the limit of %d bytes",
						strlen(text), RV_AUDIT_PAYLOAD_MAX)));
	return text;
}

/* The schema-qualified name of relation target, or NULL. */
static const char *
TargetName(Oid target)
{
	char	   *rel;
	char	   *nsp;

	if (!OidIsValid(target) || !IsTransactionState())
		return NULL;
	rel = get_rel_name(target);
	nsp = rel != NULL ? get_namespace_name(get_rel_namespace(target)) : NULL;
	return nsp != NULL ? quote_qualified_identifier(nsp, rel) : NULL;
}

/* Fill the fields of an event that the caller knows (not seq, prev_hash). */
static void
FillRecord(RvAuditRecord *rec, const char *event_type, Oid target, const char *payload_json)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_us = GetCurrentTimestamp();
	if (IsTransactionState())
		rec->actor = GetUserNameFromId(GetUserId(), false);
	else
		rec->actor = MyBgworkerEntry != NULL ? pstrdup(MyBgworkerEntry->bgw_name) : "unknown";
	rec->event_type = event_type;
	rec->target_oid = target;
	rec->target_name = TargetName(target);
	rec->payload = CanonicalPayload(payload_json);
}

/* ISO 8601 in UTC, whatever the session's TimeZone and DateStyle. */
static void
FormatUtc(int64 time_us, char *out, size_t cap)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(time_us, NULL, &tm, &fsec, NULL, NULL) != 0)
		snprintf(out, cap, "invalid");
	else
		snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
				 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				 (int) fsec);
}

static void
JsonField(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, ",\"%s\":", key);
	if (value != NULL)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * RvAuditLogLine builds the JSON line that goes to the server log for an
 * event: state is "committed" (hash given) or "spooled" (hash NULL).
 */
char *
RvAuditLogLine(const RvAuditRecord *rec, const char *state, const uint8 *hash)
{
	StringInfoData buf;
	char		when[64];
	char		hex[2 * RV_AUDIT_HASH_BYTES + 1];
	char	   *db = IsTransactionState() && OidIsValid(MyDatabaseId) ?
		get_database_name(MyDatabaseId) : NULL;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"ruvector_audit\":\"%s\"", state);
	JsonField(&buf, "database", db);
	if (hash != NULL)
		appendStringInfo(&buf, ",\"seq\":" INT64_FORMAT, rec->seq);
	else
		appendStringInfoString(&buf, ",\"seq\":null");
	FormatUtc(rec->time_us, when, sizeof(when));
	JsonField(&buf, "time", when);
	JsonField(&buf, "actor", rec->actor);
	JsonField(&buf, "event_type", rec->event_type);
	if (rec->target_oid != InvalidOid)
		appendStringInfo(&buf, ",\"target_oid\":%u", rec->target_oid);
	else
		appendStringInfoString(&buf, ",\"target_oid\":null");
	JsonField(&buf, "target", rec->target_name);
	appendStringInfo(&buf, ",\"payload\":%s", rec->payload);
	JsonField(&buf, "spool_id", rec->spool_id);
	if (hash != NULL)
		rv_audit_hex(hash, RV_AUDIT_HASH_BYTES, hex);
	JsonField(&buf, "hash", hash != NULL ? hex : NULL);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static void
EmitLogLine(const char *line)
{
	ereport(LOG, (errmsg_internal("%s", line), errhidestmt(true), errhidecontext(true)));
}

/* ----------------------------------------------------------------
 * End-of-transaction work: log lines and spool files of appended events
 * ----------------------------------------------------------------
 */

static void
AuditXactCallback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			/*
			 * A prepared transaction would hold the append lock, and so
			 * every audited operation, for as long as it stays prepared.
			 */
			if (audit_pending != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has recorded audit events")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			foreach(lc, audit_pending)
			{
				AuditPending *p = lfirst(lc);

				if (p->log_line != NULL)
					EmitLogLine(p->log_line);
				if (p->unlink_path != NULL && unlink(p->unlink_path) != 0 && errno != ENOENT)
					ereport(LOG,
							(errcode_for_file_access(),
							 errmsg("could not remove audit spool file \"%s\": %m",
									p->unlink_path)));
			}
			audit_pending = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			audit_pending = NIL;
			break;
		default:
			break;
	}
}

/* A subtransaction's events go with it: dropped on abort, kept on commit. */
static void
AuditSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	/* the current context may be the subtransaction's or the abort context */
	old = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, audit_pending)
	{
		AuditPending *p = lfirst(lc);

		if (p->nest >= level)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				continue;
			p->nest = level - 1;
		}
		keep = lappend(keep, p);
	}
	audit_pending = keep;
	MemoryContextSwitchTo(old);
}

static void
QueuePending(const char *log_line, const char *unlink_path)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	AuditPending *p = palloc0(sizeof(AuditPending));

	if (!audit_callbacks_registered)
	{
		RegisterXactCallback(AuditXactCallback, NULL);
		RegisterSubXactCallback(AuditSubXactCallback, NULL);
		audit_callbacks_registered = true;
	}
	p->nest = GetCurrentTransactionNestLevel();
	p->log_line = log_line != NULL ? pstrdup(log_line) : NULL;
	p->unlink_path = unlink_path != NULL ? pstrdup(unlink_path) : NULL;
	audit_pending = lappend(audit_pending, p);
	MemoryContextSwitchTo(old);
}

void
RvAuditAtCommitUnlink(const char *path)
{
	QueuePending(NULL, path);
}

/* ----------------------------------------------------------------
 * Reading and writing rows
 * ----------------------------------------------------------------
 */

static const char *
TextColumn(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Copy a bytea column of exactly n bytes; false (and zeros) otherwise. */
static bool
BytesColumn(HeapTuple tup, TupleDesc desc, int col, uint8 *out, size_t n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	bytea	   *b;

	memset(out, 0, n);
	if (isnull)
		return false;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != n)
		return false;
	memcpy(out, VARDATA_ANY(b), n);
	return true;
}

/*
 * RvAuditTupleToRow decodes a row selected as RV_AUDIT_COLUMNS and builds
 * its canonical encoding (palloc'd in the current context).
 */
void
RvAuditTupleToRow(HeapTuple tup, TupleDesc desc, RvAuditRow *row)
{
	bool		isnull;
	Datum		d;
	bool		ok;

	memset(row, 0, sizeof(*row));
	row->rec.seq = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	row->rec.time_us = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
	row->rec.actor = TextColumn(tup, desc, 3);
	row->rec.event_type = TextColumn(tup, desc, 4);
	d = SPI_getbinval(tup, desc, 5, &isnull);
	row->rec.target_oid = isnull ? InvalidOid : DatumGetObjectId(d);
	row->rec.target_name = TextColumn(tup, desc, 6);
	row->rec.payload = TextColumn(tup, desc, 7);
	row->rec.spool_id = TextColumn(tup, desc, 8);
	ok = BytesColumn(tup, desc, 9, row->rec.prev_hash, RV_AUDIT_HASH_BYTES);
	ok &= BytesColumn(tup, desc, 10, row->rec.signer, RV_AUDIT_PK_BYTES);
	ok &= BytesColumn(tup, desc, 11, row->sig, RV_AUDIT_SIG_BYTES);
	row->malformed = !ok;
	row->msg_len = rv_audit_encode(&row->rec, NULL, 0);
	row->msg = palloc(row->msg_len);
	rv_audit_encode(&row->rec, row->msg, row->msg_len);
}

static Datum
ByteaDatum(const uint8 *bytes, size_t n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), bytes, n);
	return PointerGetDatum(b);
}

/*
 * The last row (the chain's head): false for an empty chain.  Its hash goes
 * to hash, the key it names as signer to signer.
 */
static bool
ReadHead(const char *table, int64 *seq, uint8 hash[RV_AUDIT_HASH_BYTES],
		 uint8 signer[RV_AUDIT_PK_BYTES])
{
	char	   *sql = psprintf("SELECT " RV_AUDIT_COLUMNS " FROM %s ORDER BY seq DESC LIMIT 1",
							   table);
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			rc;
	bool		found;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for audit head: %s", SPI_result_code_string(SPI_result));
	/* see NOTES: rows committed while we waited for the lock must be seen */
	CommandCounterIncrement();
	rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  true, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the audit chain's head: %s", SPI_result_code_string(rc));
	*seq = 0;
	memset(hash, 0, RV_AUDIT_HASH_BYTES);
	found = SPI_processed == 1;
	if (found)
	{
		RvAuditRow	row;

		RvAuditTupleToRow(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, &row);
		*seq = row.rec.seq;
		rv_audit_row_hash(row.msg, row.msg_len, row.sig, hash);
		memcpy(signer, row.rec.signer, RV_AUDIT_PK_BYTES);
	}
	SPI_freeplan(plan);
	return found;
}

/*
 * Load the signing key for an append after head.  A new key is made only
 * for an empty chain: if the key file is gone, or holds another key than the
 * one that signed the head, appending would leave the whole trail
 * unverifiable, so the append (and the audited operation) is refused until
 * the file is restored.
 */
static void
LoadKeyForAppend(bool have_head, int64 head, const uint8 *head_signer,
				 uint8 pk[RV_AUDIT_PK_BYTES], uint8 sk[RV_AUDIT_SK_BYTES])
{
	char		hex[2 * RV_AUDIT_PK_BYTES + 1];

	if (!RvAuditKeyLoad(!have_head, pk, sk))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("audit key file \"%s\" does not exist, but the audit trail already has "
						INT64_FORMAT " events", RV_AUDIT_KEY_FILE, head),
				 errdetail("Appending under a new key would leave every earlier event unverifiable."),
				 errhint("Restore the file (mode 0600) from a backup of this data directory, "
						 "or copy it from the server this data directory came from.")));
	if (have_head && memcmp(pk, head_signer, RV_AUDIT_PK_BYTES) != 0)
	{
		explicit_bzero(sk, RV_AUDIT_SK_BYTES);
		rv_audit_hex(head_signer, RV_AUDIT_PK_BYTES, hex);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit key file \"%s\" holds another key than the one that signed audit event "
						INT64_FORMAT, RV_AUDIT_KEY_FILE, head),
				 errdetail("Event " INT64_FORMAT " names the public key %s.", head, hex),
				 errhint("Restore the key file that signed the trail (docs/security.md).")));
	}
}

/* INSERT the signed row; the guard trigger lets it through. */
static void
InsertRow(const char *table, const RvAuditRecord *rec, const uint8 sig[RV_AUDIT_SIG_BYTES])
{
	Oid			types[11] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, OIDOID,
	TEXTOID, JSONBOID, TEXTOID, BYTEAOID, BYTEAOID, BYTEAOID};
	Datum		values[11];
	char		nulls[11];
	char	   *sql = psprintf("INSERT INTO %s (seq, event_time, actor, event_type, target_oid, "
							   "target_name, payload, spool_id, prev_hash, signer, signature) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", table);
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(rec->seq);
	values[1] = TimestampTzGetDatum(rec->time_us);
	values[2] = CStringGetTextDatum(rec->actor);
	values[3] = CStringGetTextDatum(rec->event_type);
	values[4] = ObjectIdGetDatum(rec->target_oid);
	nulls[4] = rec->target_oid == InvalidOid ? 'n' : ' ';
	values[5] = rec->target_name != NULL ? CStringGetTextDatum(rec->target_name) : (Datum) 0;
	nulls[5] = rec->target_name == NULL ? 'n' : ' ';
	values[6] = DirectFunctionCall1(jsonb_in, CStringGetDatum(rec->payload));
	values[7] = rec->spool_id != NULL ? CStringGetTextDatum(rec->spool_id) : (Datum) 0;
	nulls[7] = rec->spool_id == NULL ? 'n' : ' ';
	values[8] = ByteaDatum(rec->prev_hash, RV_AUDIT_HASH_BYTES);
	values[9] = ByteaDatum(rec->signer, RV_AUDIT_PK_BYTES);
	values[10] = ByteaDatum(sig, RV_AUDIT_SIG_BYTES);

	audit_inserting = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, 11, types, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		audit_inserting = false;
	}
	PG_END_TRY();
	if (rc != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not append to the audit trail: %s", SPI_result_code_string(rc));
}

/*
 * RvAuditAppendLocked gives rec the next seq and the head's hash, signs it
 * and inserts it.  The caller holds the table's ExclusiveLock, is connected
 * to SPI and runs as the extension's owner (AuditBegin).  The event's log
 * line is queued for commit.  Returns the seq.
 */
int64
RvAuditAppendLocked(const char *table, RvAuditRecord *rec)
{
	int64		head;
	uint8		head_signer[RV_AUDIT_PK_BYTES];
	bool		have_head;
	uint8		sk[RV_AUDIT_SK_BYTES];
	uint8		sig[RV_AUDIT_SIG_BYTES];
	uint8		hash[RV_AUDIT_HASH_BYTES];
	size_t		len;
	uint8	   *msg;

	have_head = ReadHead(table, &head, rec->prev_hash, head_signer);
	LoadKeyForAppend(have_head, head, head_signer, rec->signer, sk);
	rec->seq = head + 1;
	len = rv_audit_encode(rec, NULL, 0);
	msg = palloc(len);
	rv_audit_encode(rec, msg, len);
	rv_audit_sign(msg, len, sk, sig);
	explicit_bzero(sk, sizeof(sk));
	rv_audit_row_hash(msg, len, sig, hash);
	InsertRow(table, rec, sig);
	QueuePending(RvAuditLogLine(rec, "committed", hash), NULL);
	return rec->seq;
}

/*
 * Lock the table, become the extension's owner and connect to SPI.  ERROR
 * if the audit table does not exist (an upgrade not yet run).
 */
static void
AuditBegin(AuditSession *s)
{
	Oid			owner;
	Oid			schema;
	Oid			table;

	if (!RvAuditExtension(&owner, &schema, &table))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit table %s does not exist in this database", RV_AUDIT_TABLE),
				 errhint("Run ALTER EXTENSION ruvector UPDATE.")));
	/* held to commit: appends are serialized, the chain stays linear */
	LockRelationOid(table, ExclusiveLock);
	s->table = RvAuditTableName(schema);
	GetUserIdAndSecContext(&s->save_user, &s->save_sec);
	SetUserIdAndSecContext(owner, s->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/* Undo AuditBegin but the lock.  (An error undoes it all by aborting.) */
static void
AuditEnd(AuditSession *s)
{
	SPI_finish();
	SetUserIdAndSecContext(s->save_user, s->save_sec);
}

/* Append one event in the caller's transaction; detached events first. */
static int64
AuditAppendInXact(const char *event_type, Oid target, const char *payload_json)
{
	RvAuditRecord rec;
	AuditSession s;
	int64		seq;

	RvAuditCheckEventType(event_type, ERROR);
	RvAuditCryptoInit();
	FillRecord(&rec, event_type, target, payload_json);
	AuditBegin(&s);
	RvAuditSpoolDrainLocked(s.table);
	seq = RvAuditAppendLocked(s.table, &rec);
	AuditEnd(&s);
	return seq;
}

/* ----------------------------------------------------------------
 * The interface (audit.h)
 * ----------------------------------------------------------------
 */

void
RvAuditEvent(const char *event_type, Oid target, const char *payload_json)
{
	(void) AuditAppendInXact(event_type, target, payload_json);
}

void
RvAdminAudit(const char *event_type, Oid target, const char *payload_json)
{
	Oid			owner;
	Oid			schema;
	Oid			table;

	if (!RvAuditExtension(&owner, &schema, &table))
		return;
	RvAuditEvent(event_type, target, payload_json);
}

void
RvAuditEventDetached(const char *event_type, Oid target, const char *payload_json)
{
	static uint32 counter = 0;
	RvAuditRecord rec;
	char		id[64];

	RvAuditCheckEventType(event_type, ERROR);
	RvAuditCryptoInit();
	FillRecord(&rec, event_type, target, payload_json);
	snprintf(id, sizeof(id), "%016llx-%08x-%08x", (unsigned long long) rec.time_us,
			 (unsigned int) MyProcPid, counter++);
	rec.spool_id = id;
	EmitLogLine(RvAuditLogLine(&rec, "spooled", NULL));
	/* a standby cannot append; the log line is the record there */
	if (RecoveryInProgress() || !OidIsValid(MyDatabaseId))
		return;
	RvAuditSpoolWrite(&rec);
	RvAuditSpoolStartWorker(MyDatabaseId);
}

/*
 * RvAuditDrainNow appends every spooled event of this database in a
 * transaction of the caller's (the audit worker's).  False if the database
 * has no audit table (the extension was dropped, or not updated): nothing
 * can be drained.
 */
bool
RvAuditDrainNow(void)
{
	AuditSession s;
	Oid			owner;
	Oid			schema;
	Oid			table;

	if (!RvAuditExtension(&owner, &schema, &table))
		return false;
	RvAuditCryptoInit();
	AuditBegin(&s);
	RvAuditSpoolDrainLocked(s.table);
	AuditEnd(&s);
	return true;
}

/* ----------------------------------------------------------------
 * SQL-callable
 * ----------------------------------------------------------------
 */

/*
 * ruvector_audit_guard() is the trigger that keeps ruvector_audit_events
 * append-only (see NOTES).
 */
Datum
ruvector_audit_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	const char *op;
	char	   *payload;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ruvector_audit_guard() may only be called as a trigger")));
	td = (TriggerData *) fcinfo->context;
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) && TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
		audit_inserting)
		return PointerGetDatum(td->tg_trigtuple);
	op = TRIGGER_FIRED_BY_INSERT(td->tg_event) ? "INSERT" :
		TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "UPDATE" :
		TRIGGER_FIRED_BY_DELETE(td->tg_event) ? "DELETE" : "TRUNCATE";
	payload = psprintf("{\"operation\": \"%s\"}", op);
	RvAuditEventDetached("audit.change_refused", RelationGetRelid(td->tg_relation), payload);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on %s is not allowed", op, RelationGetRelationName(td->tg_relation)),
			 errdetail("The audit trail is append-only for every role, superusers included; "
					   "this attempt has been recorded in it."),
			 errhint("Check the trail with ruvector_audit_verify().")));
	PG_RETURN_NULL();
}

/*
 * ruvector_audit_log(event_type, target, payload) records a manual event
 * "manual.<event_type>" in the caller's transaction and returns its seq.
 */
Datum
ruvector_audit_log(PG_FUNCTION_ARGS)
{
	char	   *type;
	Oid			target = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	char	   *payload = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("audit event type must not be null")));
	type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit event type must not be empty")));
	if (strlen(type) > RV_AUDIT_EVENT_TYPE_MAX - strlen("manual."))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit event type \"%s\" is longer than %d bytes", type,
						(int) (RV_AUDIT_EVENT_TYPE_MAX - strlen("manual.")))));
	type = psprintf("manual.%s", type);
	RvAuditCheckEventType(type, ERROR);
	/* regclass takes any number: the event must name a relation that exists */
	if (OidIsValid(target) && get_rel_name(target) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", target)));
	if (!PG_ARGISNULL(2))
		payload = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));
	PG_RETURN_INT64(AuditAppendInXact(type, target, payload));
}
