/*-------------------------------------------------------------------------
 *
 * audit_ddl.c
 *	  ruvector_audit_ddl(): the event trigger that records DDL aimed at the
 *	  audit table itself (ALTER TABLE, among it DISABLE TRIGGER; CREATE
 *	  TRIGGER; CREATE RULE) as an event of the trail.
 *
 * NOTES
 *	  Turning the guard trigger off is the one way, short of editing the
 *	  data files, for a superuser to change the trail's rows; verify finds
 *	  the changed rows, and this records who switched the guard off and
 *	  when, with the statement's text.  The event is appended in the DDL's
 *	  transaction (RvAuditEvent): a rolled-back ALTER leaves nothing, since
 *	  nothing was changed.  Commands run by the extension's own scripts
 *	  (in_extension) are not recorded.  The event trigger is ENABLE ALWAYS,
 *	  so session_replication_role does not silence it; a superuser can still
 *	  disable it first (ALTER EVENT TRIGGER fires no event trigger), which
 *	  docs/security.md says.
 *
 *	  Fires for every ALTER TABLE, CREATE TRIGGER and CREATE RULE of the
 *	  database: it costs one SPI query over the command's own collected
 *	  objects and returns when none is the audit table.
 *
 * IDENTIFICATION
 *	  src/audit/audit_ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "audit/audit_int.h"

PG_FUNCTION_INFO_V1(ruvector_audit_ddl);

/* statement text kept in the event, at most */
#define RV_AUDIT_DDL_TEXT_MAX	2000

/*
 * The command tags of this command that touch the audit table (its own row,
 * or a trigger or rule on it), as a JSON array, or NULL if none.
 */
static char *
CommandsOnTable(Oid table)
{
	Oid			type = OIDOID;
	Datum		value = ObjectIdGetDatum(table);
	int			rc;
	char	   *result = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* not read-only: a fresh snapshot, or the new trigger or rule is not seen */
	rc = SPI_execute_with_args(
		"SELECT pg_catalog.to_jsonb(pg_catalog.array_agg(c.command_tag))::pg_catalog.text "
		"FROM pg_catalog.pg_event_trigger_ddl_commands() c "
		"WHERE NOT c.in_extension AND ("
		" c.objid OPERATOR(pg_catalog.=) $1"
		" OR EXISTS (SELECT FROM pg_catalog.pg_trigger t"
		"  WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass"
		"  AND t.oid OPERATOR(pg_catalog.=) c.objid AND t.tgrelid OPERATOR(pg_catalog.=) $1)"
		" OR EXISTS (SELECT FROM pg_catalog.pg_rewrite r"
		"  WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
		"  AND r.oid OPERATOR(pg_catalog.=) c.objid AND r.ev_class OPERATOR(pg_catalog.=) $1))",
		1, &type, &value, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the DDL command's objects: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		char	   *tags = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		/* allocated outside SPI's memory, which SPI_finish frees */
		if (tags != NULL)
		{
			result = SPI_palloc(strlen(tags) + 1);
			strcpy(result, tags);
		}
	}
	SPI_finish();
	return result;
}

/*
 * ruvector_audit_ddl() records DDL on ruvector_audit_events as an
 * "audit.table_altered" event (see NOTES).
 */
Datum
ruvector_audit_ddl(PG_FUNCTION_ARGS)
{
	Oid			owner;
	Oid			schema;
	Oid			table;
	char	   *tags;
	StringInfoData payload;
	char	   *stmt;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ruvector_audit_ddl() may only be called as an event trigger")));
	if (!RvAuditExtension(&owner, &schema, &table))
		PG_RETURN_VOID();
	tags = CommandsOnTable(table);
	if (tags == NULL)
		PG_RETURN_VOID();

	stmt = pnstrdup(debug_query_string != NULL ? debug_query_string : "",
					RV_AUDIT_DDL_TEXT_MAX);
	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"commands\": %s, \"statement\": ", tags);
	escape_json(&payload, stmt);
	appendStringInfoChar(&payload, '}');
	RvAuditEvent("audit.table_altered", table, payload.data);
	PG_RETURN_VOID();
}
