/*
 * graph_acl.c — per-graph privileges: who may read and who may write which
 * graph, for the row-level security policies of the graph tables
 * (ruvector_graph_allowed), for the explicit checks of Cypher and the
 * catalog functions (RvgCheckGraphPrivilege), and the grant and revoke
 * functions.
 *
 * NOTES
 *	A role may read a graph when it is a member (with inherited rights) of
 *	ruvector_admin, of the graph's owner (ruvector_graph.owner, the role
 *	that created it), or of a role holding a 'read' or 'write' grant on it
 *	in ruvector_graph_grant; it may write with ruvector_admin, the owner or
 *	a 'write' grant.  Superusers hold every role.
 *
 *	The policies on the graph tables call ruvector_graph_allowed() once per
 *	statement (an initplan), so plain SQL on the tables and the
 *	security_invoker views is filtered as Cypher is.  The grant table and
 *	the graph rows are read here as the extension's owner (RvgAsOwner), who
 *	is not subject to the policies: that is what keeps the policies from
 *	recursing, and what lets a check say "permission denied" (42501) for a
 *	graph the caller cannot see, the same answer whichever role cached the
 *	graph lookup first.
 *
 *	With 0.1.0's SQL still installed (new binaries before ALTER EXTENSION
 *	UPDATE) there are no owners, grants or policies: every graph is allowed
 *	to whoever may execute the functions, as in 0.1.0.
 *
 *	The privilege check of a Cypher query is explicit as well as the
 *	policies', because row-level security makes an UPDATE or DELETE of rows
 *	the role may not write silently affect nothing.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "audit/audit.h"
#include "graph/graph.h"

PG_FUNCTION_INFO_V1(ruvector_graph_allowed);
PG_FUNCTION_INFO_V1(ruvector_graph_grant);
PG_FUNCTION_INFO_V1(ruvector_graph_revoke);

/*
 * Runs the SPI statements between RvgAsOwnerBegin and RvgAsOwnerEnd as the
 * extension's owner, in a restricted security context (as PostgreSQL runs
 * foreign-key checks).  An error unwinds the user switch with the
 * (sub)transaction.
 */
void
RvgAsOwnerBegin(RvgOwnerSave *save)
{
	GetUserIdAndSecContext(&save->user, &save->sec);
	SetUserIdAndSecContext(RvgExtensionOwner(),
						   save->sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
RvgAsOwnerEnd(RvgOwnerSave *save)
{
	SetUserIdAndSecContext(save->user, save->sec);
}

static bool
IsGraphAdmin(Oid role)
{
	Oid			admin = get_role_oid("ruvector_admin", true);

	return superuser_arg(role) || (OidIsValid(admin) && has_privs_of_role(role, admin));
}

/*
 * The statement that reads owners and grants, prepared once per backend
 * (again when the schema or its version changes) and kept: the policies
 * run it once per table of every statement on the graph tables.
 */
static RvgKeptPlan acl_plan;

static SPIPlanPtr
AclPlan(const char *schema)
{
	bool		legacy = RvgLegacySchema();
	char	   *key = psprintf("%s%s", legacy ? "0.1.0 " : "", schema);
	Oid			types[1] = {INT4OID};
	SPIPlanPtr	plan;

	if (RvgKeptPlanFor(&acl_plan, key) != NULL)
		return acl_plan.plan;
	plan = SPI_prepare(legacy ?
					   psprintf("SELECT g.graph_id, 0::pg_catalog.oid, 'owner'::pg_catalog.text "
								"FROM %s.ruvector_graph g WHERE $1 < 0 OR g.graph_id = $1", schema) :
					   psprintf("SELECT g.graph_id, g.owner::pg_catalog.oid, 'owner'::pg_catalog.text "
								"FROM %s.ruvector_graph g WHERE $1 < 0 OR g.graph_id = $1 "
								"UNION ALL SELECT a.graph_id, a.grantee::pg_catalog.oid, a.privilege "
								"FROM %s.ruvector_graph_grant a WHERE $1 < 0 OR a.graph_id = $1",
								schema, schema),
					   1, types);
	return RvgKeepPlan(&acl_plan, key, plan, "the graph privilege lookup");
}

/*
 * Graph ids that role may use (write: write; else read), of one graph when
 * gid >= 0.  The caller is connected to SPI.  Returns the count; the ids in
 * *ids (palloc'd in the current context).
 */
static int
AllowedGraphs(Oid role, bool write, int32 gid, int32 **ids)
{
	const char *schema = RvgSchema();
	bool		admin = IsGraphAdmin(role);
	Datum		values[1] = {Int32GetDatum(gid)};
	RvgOwnerSave save;
	SPITupleTable *tt;
	uint64		n;
	int			count = 0;
	MemoryContext cxt = CurrentMemoryContext;
	int			rc;

	/* 0.1.0's SQL (not updated yet): every graph or none, by EXECUTE */
	if (RvgLegacySchema())
		admin = true;
	/* one graph that exists (the caller looked it up) and an admin: no query */
	if (admin && gid >= 0)
	{
		*ids = MemoryContextAlloc(cxt, sizeof(int32));
		(*ids)[0] = gid;
		return 1;
	}
	RvgAsOwnerBegin(&save);
	rc = SPI_execute_plan(AclPlan(schema), values, NULL, true, 0);
	RvgAsOwnerEnd(&save);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "graph privilege lookup failed: %d", rc);
	tt = SPI_tuptable;
	n = SPI_processed;
	*ids = MemoryContextAlloc(cxt, sizeof(int32) * (n > 0 ? n : 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		int32		id = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		Oid			holder = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		char	   *priv = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
		bool		dup = false;

		if (!admin)
		{
			if (write && strcmp(priv, "read") == 0)
				continue;
			if (!has_privs_of_role(role, holder))
				continue;
		}
		for (int k = 0; k < count && !dup; k++)
			dup = (*ids)[k] == id;
		if (!dup)
			(*ids)[count++] = id;
	}
	SPI_freetuptable(tt);
	return count;
}

/*
 * ruvector_graph_allowed(privilege text) RETURNS integer[]: the graphs the
 * current user may read ('read') or write ('write'); the policies' filter.
 */
Datum
ruvector_graph_allowed(PG_FUNCTION_ARGS)
{
	char	   *priv = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		write;
	int32	   *ids;
	int			n;
	Datum	   *elems;
	int			pin;

	if (strcmp(priv, "read") == 0)
		write = false;
	else if (strcmp(priv, "write") == 0)
		write = true;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown graph privilege \"%s\"", priv),
				 errhint("Graph privileges are read and write.")));
	pin = RvgSpiConnect();
	n = AllowedGraphs(GetUserId(), write, -1, &ids);
	RvgSpiFinish(pin);
	elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(ids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
}

/*
 * Raises 42501 unless the current user may read (or write) graph gid.  The
 * caller is connected to SPI.
 */
void
RvgCheckGraphPrivilege(int32 gid, const char *name, bool write)
{
	int32	   *ids;

	if (AllowedGraphs(GetUserId(), write, gid, &ids) > 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s graph \"%s\"", write ? "write" : "read", name),
			 errhint("A member of ruvector_admin or the graph's owner can grant it: "
					 "SELECT ruvector_graph_grant('%s', '<role>', '%s').",
					 name, write ? "write" : "read")));
}

/* ---------------------------------------------------------------------
 * ruvector_graph_grant(graph, role, privilege), ruvector_graph_revoke(...)
 * ---------------------------------------------------------------------
 */
static void
GrantOrRevoke(FunctionCallInfo fcinfo, bool grant)
{
	char	   *graph = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *rolename = NameStr(*PG_GETARG_NAME(1));
	char	   *priv = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			caller = GetUserId();
	Oid			role;
	int32		gid;
	Oid			owner;
	const char *schema;
	RvgOwnerSave save;
	int			pin;
	int			rc;
	StringInfoData payload;

	if (strcmp(priv, "read") != 0 && strcmp(priv, "write") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown graph privilege \"%s\"", priv),
				 errhint("Graph privileges are read and write.")));
	role = get_role_oid(rolename, false);
	schema = RvgSchema();
	pin = RvgSpiConnect();
	gid = RvgGraphIdAsOwner(graph, &owner);
	if (gid < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("graph \"%s\" does not exist", graph)));
	if (RvgLegacySchema())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("per-graph privileges need the extension's 0.2.0 SQL"),
				 errhint("Run ALTER EXTENSION ruvector UPDATE.")));
	if (!IsGraphAdmin(caller) && !has_privs_of_role(caller, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s privileges on graph \"%s\"",
						grant ? "grant" : "revoke", graph),
				 errdetail("Only members of ruvector_admin and of the graph's owner may.")));
	{
		Oid			types[3] = {INT4OID, OIDOID, TEXTOID};
		Datum		values[3] = {Int32GetDatum(gid), ObjectIdGetDatum(role),
		CStringGetTextDatum(priv)};

		RvgAsOwnerBegin(&save);
		rc = SPI_execute_with_args(grant ?
								   psprintf("INSERT INTO %s.ruvector_graph_grant (graph_id, grantee, privilege) "
											"VALUES ($1, $2::pg_catalog.regrole, $3) ON CONFLICT DO NOTHING", schema) :
								   psprintf("DELETE FROM %s.ruvector_graph_grant WHERE graph_id = $1 "
											"AND grantee = $2::pg_catalog.regrole AND privilege = $3", schema),
								   3, types, values, NULL, false, 0);
		RvgAsOwnerEnd(&save);
		if (rc != (grant ? SPI_OK_INSERT : SPI_OK_DELETE))
			elog(ERROR, "graph grant update failed: %d", rc);
	}
	RvgSpiFinish(pin);
	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"graph\": ");
	escape_json(&payload, graph);
	appendStringInfo(&payload, ", \"graph_id\": %d, \"role\": ", gid);
	escape_json(&payload, rolename);
	appendStringInfoString(&payload, ", \"privilege\": ");
	escape_json(&payload, priv);
	appendStringInfoChar(&payload, '}');
	RvAuditEvent(grant ? "graph.grant" : "graph.revoke", InvalidOid, payload.data);
}

Datum
ruvector_graph_grant(PG_FUNCTION_ARGS)
{
	GrantOrRevoke(fcinfo, true);
	PG_RETURN_VOID();
}

Datum
ruvector_graph_revoke(PG_FUNCTION_ARGS)
{
	GrantOrRevoke(fcinfo, false);
	PG_RETURN_VOID();
}
