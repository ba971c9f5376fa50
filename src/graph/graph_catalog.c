/*
 * graph_catalog.c — the graph tables' catalog functions: create, drop and
 * list graphs; add nodes, edges and hyperedges from SQL; vector indexes on
 * node properties; and the graph lookup every Cypher query starts with.
 *
 * NOTES
 *	Everything goes through SPI with the extension's objects qualified by
 *	its schema (RvgSchema: looked up at run time and cached per backend,
 *	so ALTER EXTENSION ... SET SCHEMA works), built-ins by pg_catalog, and
 *	search_path pinned to pg_catalog, pg_temp while the SPI queries run
 *	(RvgPinSearchPath), so a caller's search_path cannot substitute any
 *	function, operator or type of the SQL.  The tables are ordinary heap tables: WAL, MVCC,
 *	replication and rollback are PostgreSQL's.
 *
 *	The graph lookup of Cypher queries is cached per backend (name to id,
 *	schema and vector indexes).  Any relcache invalidation empties the
 *	cache: DDL on the graph tables (DROP INDEX of a vector index, ALTER
 *	EXTENSION, DROP EXTENSION) sends one, and statement triggers on
 *	ruvector_graph and ruvector_graph_vector_index send one for every change
 *	of their rows (ruvector_graph_catalog_changed), at once in the changing
 *	backend and at commit in the others; an aborted change is undone in the
 *	local cache by the same message.
 *
 *	Lock order: the graph's row in ruvector_graph first, then its nodes,
 *	edges and hyperedges.  Writers take KEY SHARE on the graph row through
 *	the foreign keys; ruvector_drop_graph takes FOR UPDATE on it before
 *	deleting anything, so a drop waits for in-flight writers and new
 *	writers wait for the drop (and then fail on the foreign key).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/hash.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "audit/audit.h"
#include "common/rv_extension.h"
#include "graph/graph.h"
#include "types/types.h"

PG_FUNCTION_INFO_V1(ruvector_create_graph);
PG_FUNCTION_INFO_V1(ruvector_drop_graph);
PG_FUNCTION_INFO_V1(ruvector_graphs);
PG_FUNCTION_INFO_V1(ruvector_graph_add_node);
PG_FUNCTION_INFO_V1(ruvector_graph_add_edge);
PG_FUNCTION_INFO_V1(ruvector_graph_add_hyperedge);
PG_FUNCTION_INFO_V1(ruvector_graph_vector_index);
PG_FUNCTION_INFO_V1(ruvector_graph_catalog_changed);

/*
 * The extension's schema, quoted for SQL text.  PostgreSQL 15 does not
 * export get_extension_schema, so it is read from pg_extension, once per
 * backend until an invalidation says it may have changed: ALTER EXTENSION
 * ... SET SCHEMA moves the graph tables (a relcache invalidation for each),
 * DROP/CREATE EXTENSION drops and creates them, ALTER SCHEMA ... RENAME
 * changes the pg_namespace row (a syscache invalidation).  Returned in the
 * current memory context.
 */
static char *schema_cache = NULL;
static Oid	owner_cache = InvalidOid;
static bool legacy_cache = false;
static bool graph_callbacks_registered = false;

static void GraphCacheReset(Datum arg, Oid relid);

static void
SchemaCacheReset(Datum arg, int cacheid, uint32 hashvalue)
{
	GraphCacheReset((Datum) 0, InvalidOid);
}

static void
RegisterCallbacks(void)
{
	if (graph_callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(GraphCacheReset, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, SchemaCacheReset, (Datum) 0);
	graph_callbacks_registered = true;
}

static char *
ReadSchema(void)
{
	RvExtensionInfoData ext;
	char	   *name;

	owner_cache = InvalidOid;
	(void) RvExtensionLookup(&ext, false);
	owner_cache = ext.owner;
	legacy_cache = ext.version != NULL && strcmp(ext.version, "0.1.0") == 0;
	name = get_namespace_name(ext.nsp);
	if (name == NULL)
		elog(ERROR, "schema of extension ruvector not found");
	return MemoryContextStrdup(TopMemoryContext, quote_identifier(name));
}

const char *
RvgSchema(void)
{
	RegisterCallbacks();
	AcceptInvalidationMessages();
	if (schema_cache == NULL)
		schema_cache = ReadSchema();
	return pstrdup(schema_cache);
}

/*
 * Is the installed SQL still 0.1.0's (new binaries, ALTER EXTENSION UPDATE
 * not yet run)?  Then there are no graph owners, grants or policies, and
 * graphs are "all or none" as in 0.1.0.
 */
bool
RvgLegacySchema(void)
{
	pfree((char *) RvgSchema());
	/*
	 * ALTER EXTENSION UPDATE sets the new version after its script, with no
	 * invalidation of ours: while 0.1.0 is seen, look again each time.
	 */
	if (legacy_cache)
	{
		pfree(schema_cache);
		schema_cache = ReadSchema();
	}
	return legacy_cache;
}

/* The extension's owner (see RvgAsOwnerBegin), cached with the schema. */
Oid
RvgExtensionOwner(void)
{
	pfree((char *) RvgSchema());
	if (!OidIsValid(owner_cache))
		elog(ERROR, "owner of extension ruvector not found");
	return owner_cache;
}

/*
 * Every SPI query of the graph code runs with search_path pinned to
 * "pg_catalog, pg_temp" (as a function's SET clause would): built-in
 * functions, operators and types named without a schema in the generated
 * SQL then resolve in pg_catalog only (pg_temp is never searched for
 * functions and operators, and comes last for relations and types), so no
 * object a role put earlier in the caller's search_path can run in their
 * place.  The extension's own objects are qualified with RvgSchema().  The
 * setting is undone by RvgUnpinSearchPath, or by the (sub)transaction
 * abort on an error.
 */
int
RvgPinSearchPath(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
RvgUnpinSearchPath(int level)
{
	AtEOXact_GUC(true, level);
}

/* SPI_connect with search_path pinned; returns what RvgSpiFinish needs. */
int
RvgSpiConnect(void)
{
	int			level = RvgPinSearchPath();

	SPI_connect();
	return level;
}

void
RvgSpiFinish(int level)
{
	SPI_finish();
	RvgUnpinSearchPath(level);
}

static void
CheckGraphName(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("graph name must not be empty")));
	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("graph name \"%s\" is too long", name),
				 errdetail("Graph names are at most %d bytes.", NAMEDATALEN - 1)));
}

static void
UnknownGraph(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_SCHEMA_NAME),
			 errmsg("graph \"%s\" does not exist", name),
			 errhint("Create it with ruvector_create_graph('%s').", name)));
}

/* Runs sql with text/other arguments and checks the result code. */
static void
Exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
	 int expected)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed (%d): %s", rc, sql);
}

/*
 * The graph's id, or -1 when there is none.  With for_update the graph row
 * is locked against concurrent writers (see the lock order above).  The
 * caller is connected to SPI.
 */
static Oid	last_graph_owner = InvalidOid;

static int32
GraphIdSPI(const char *schema, const char *name, bool for_update)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	char	   *sql = psprintf("SELECT graph_id, %s FROM %s.ruvector_graph WHERE name = $1%s",
							   RvgLegacySchema() ? "0::pg_catalog.oid" : "owner::pg_catalog.oid",
							   schema, for_update ? " FOR UPDATE" : "");
	RvgOwnerSave save;

	/* as the owner: a graph the caller may not read exists all the same */
	RvgAsOwnerBegin(&save);
	Exec(sql, 1, types, values, NULL, SPI_OK_SELECT);
	RvgAsOwnerEnd(&save);
	if (SPI_processed == 0)
		return -1;
	last_graph_owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * An updating Cypher query holds KEY SHARE on its graph's row until commit,
 * taken before it writes: ruvector_drop_graph (FOR UPDATE) waits for it, and
 * a query that comes after a drop (committed, or committing while it waits)
 * fails with "graph does not exist" instead of a foreign-key error on its
 * first insert.  As the owner: ruvector_user may not lock catalog rows.
 */
void
RvgLockGraphForWrite(const RvgGraph *g)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(g->graph_id)};
	RvgOwnerSave save;

	RvgAsOwnerBegin(&save);
	Exec(psprintf("SELECT 1 FROM %s.ruvector_graph WHERE graph_id = $1 FOR KEY SHARE", g->schema),
		 1, types, values, NULL, SPI_OK_SELECT);
	RvgAsOwnerEnd(&save);
	if (SPI_processed == 0)
		UnknownGraph(g->name);
}

/* The graph's id (-1 if none) and owner; the caller is connected to SPI. */
int32
RvgGraphIdAsOwner(const char *name, Oid *owner)
{
	int32		gid = GraphIdSPI(RvgSchema(), name, false);

	*owner = last_graph_owner;
	return gid;
}

/*
 * The statement that looks a graph up for a Cypher query: its id, and one
 * row per vector index whose index still exists.  Prepared once per backend
 * (and again if the extension moves to another schema) and kept, because
 * every query runs it; the plan cache replans it after DDL on the tables.
 */
static RvgKeptPlan lookup_plan;

static SPIPlanPtr
LookupPlan(const char *schema)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	SPIPlanPtr	plan;

	if (RvgKeptPlanFor(&lookup_plan, schema) != NULL)
		return lookup_plan.plan;
	plan = SPI_prepare(psprintf("SELECT g.graph_id, v.label, v.property, v.metric, v.dimensions "
								"FROM %s.ruvector_graph g LEFT JOIN %s.ruvector_graph_vector_index v "
								"ON v.graph_id = g.graph_id "
								"AND pg_catalog.to_regclass($2 || '.' || pg_catalog.quote_ident(v.index_name)) IS NOT NULL "
								"WHERE g.name = $1", schema, schema),
					   2, types);
	return RvgKeepPlan(&lookup_plan, schema, plan, "the graph lookup");
}

/* The kept plan if it was prepared for key, else NULL. */
SPIPlanPtr
RvgKeptPlanFor(const RvgKeptPlan *kp, const char *key)
{
	return kp->plan != NULL && strcmp(kp->key, key) == 0 ? kp->plan : NULL;
}

/*
 * Keeps a newly prepared plan (SPI_keepplan) for key, in place of the one
 * kept before; what names the statement in the error if it did not prepare.
 */
SPIPlanPtr
RvgKeepPlan(RvgKeptPlan *kp, const char *key, SPIPlanPtr plan, const char *what)
{
	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "could not prepare %s: %d", what, SPI_result);
	if (kp->plan != NULL)
		SPI_freeplan(kp->plan);
	if (kp->key != NULL)
		pfree(kp->key);
	kp->plan = plan;
	kp->key = MemoryContextStrdup(TopMemoryContext, key);
	return plan;
}

/*
 * The lookup cache (see the header): graphs found since the last relcache
 * invalidation, in a context of their own that the invalidation resets.
 * The generation tells a lookup that an invalidation arrived while it ran,
 * so that it does not cache what may already be stale.
 */
static MemoryContext graph_cache_cxt = NULL;
static List *graph_cache = NIL;
static uint64 graph_cache_generation = 0;

static void
GraphCacheReset(Datum arg, Oid relid)
{
	if (schema_cache != NULL)
	{
		pfree(schema_cache);
		schema_cache = NULL;
	}
	owner_cache = InvalidOid;
	graph_cache_generation++;
	graph_cache = NIL;
	if (graph_cache_cxt != NULL)
		MemoryContextReset(graph_cache_cxt);
}

static RvgGraph *
CopyGraph(const RvgGraph *g)
{
	RvgGraph   *c = palloc(sizeof(RvgGraph));
	ListCell   *lc;

	c->graph_id = g->graph_id;
	c->name = pstrdup(g->name);
	c->schema = pstrdup(g->schema);
	c->vector_indexes = NIL;
	foreach(lc, g->vector_indexes)
	{
		RvgVectorIndex *vi = lfirst(lc);
		RvgVectorIndex *cv = palloc(sizeof(RvgVectorIndex));

		cv->label = pstrdup(vi->label);
		cv->property = pstrdup(vi->property);
		cv->metric = pstrdup(vi->metric);
		cv->dimensions = vi->dimensions;
		c->vector_indexes = lappend(c->vector_indexes, cv);
	}
	return c;
}

static void
GraphCacheAdd(const RvgGraph *g)
{
	MemoryContext old;

	if (graph_cache_cxt == NULL)
	{
		graph_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "ruvector graph lookups",
												ALLOCSET_SMALL_SIZES);
		RegisterCallbacks();
	}
	/* a backend touching very many graphs starts over rather than grow */
	if (list_length(graph_cache) >= 64)
		GraphCacheReset((Datum) 0, InvalidOid);
	old = MemoryContextSwitchTo(graph_cache_cxt);
	graph_cache = lappend(graph_cache, CopyGraph(g));
	MemoryContextSwitchTo(old);
}

/*
 * ruvector_graph_catalog_changed(): statement trigger on ruvector_graph and
 * ruvector_graph_vector_index; every backend's lookup cache forgets.
 */
Datum
ruvector_graph_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ruvector_graph_catalog_changed must be called as a trigger")));
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}

/*
 * Looks a graph up by name for a Cypher query: its id and vector indexes.
 * Raises "graph does not exist".  The caller is connected to SPI; the
 * result is allocated in the current memory context.
 */
RvgGraph *
RvgLookupGraph(const char *name)
{
	RvgGraph   *g;
	Datum		values[2];
	SPITupleTable *tt;
	ListCell   *lc;
	uint64		generation;

	/* messages from other backends' commits first, then the cache */
	AcceptInvalidationMessages();
	foreach(lc, graph_cache)
	{
		RvgGraph   *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return CopyGraph(c);
	}
	generation = graph_cache_generation;
	g = palloc(sizeof(RvgGraph));
	g->schema = RvgSchema();
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(g->schema);
	{
		RvgOwnerSave save;
		int			rc;

		/* as the owner: the cached result must not depend on who ran it */
		RvgAsOwnerBegin(&save);
		rc = SPI_execute_plan(LookupPlan(g->schema), values, NULL, false, 0);
		RvgAsOwnerEnd(&save);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "graph lookup failed");
	}
	if (SPI_processed == 0)
		UnknownGraph(name);
	tt = SPI_tuptable;
	g->name = pstrdup(name);
	g->vector_indexes = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = tt->vals[i];
		bool		isnull;
		RvgVectorIndex *vi;

		g->graph_id = DatumGetInt32(SPI_getbinval(tup, tt->tupdesc, 1, &isnull));
		SPI_getbinval(tup, tt->tupdesc, 2, &isnull);
		if (isnull)
			continue;
		vi = palloc(sizeof(RvgVectorIndex));
		vi->label = SPI_getvalue(tup, tt->tupdesc, 2);
		vi->property = SPI_getvalue(tup, tt->tupdesc, 3);
		vi->metric = SPI_getvalue(tup, tt->tupdesc, 4);
		vi->dimensions = DatumGetInt32(SPI_getbinval(tup, tt->tupdesc, 5, &isnull));
		g->vector_indexes = lappend(g->vector_indexes, vi);
	}
	SPI_freetuptable(tt);
	if (generation == graph_cache_generation)
		GraphCacheAdd(g);
	return g;
}

/*
 * Validates a property map: it must be a jsonb object (or SQL NULL, taken
 * as empty).  Top-level null values are dropped, because in Cypher a null
 * property is an absent one.  what names the map in the error message.
 */
Jsonb *
RvgCleanProperties(Jsonb *props, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;
	JsonbValue *res;
	bool		has_null = false;

	if (props == NULL)
		return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	if (!JB_ROOT_IS_OBJECT(props))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be a map, not %s", what,
						JB_ROOT_IS_SCALAR(props) ? "a scalar" : "a list")));
	/* a quick pass: most maps have no nulls and are returned as they are */
	it = JsonbIteratorInit(&props->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_VALUE && v.type == jbvNull)
			has_null = true;
	if (!has_null)
		return props;
	it = JsonbIteratorInit(&props->root);
	res = NULL;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			JsonbValue	key = v;
			JsonbValue	val;

			tok = JsonbIteratorNext(&it, &val, true);
			Assert(tok == WJB_VALUE);
			if (val.type == jbvNull)
				continue;
			pushJsonbValue(&state, WJB_KEY, &key);
			res = pushJsonbValue(&state, WJB_VALUE, &val);
		}
		else
			res = pushJsonbValue(&state, tok, tok == WJB_BEGIN_OBJECT || tok == WJB_END_OBJECT ? NULL : &v);
	}
	return JsonbValueToJsonb(res);
}

/* ---------------------------------------------------------------------
 * ruvector_create_graph(name), ruvector_drop_graph(name, if_exists)
 * ---------------------------------------------------------------------
 */

/*
 * Records an administrative call on a graph in the audit trail (which 0.1.0's
 * SQL, before ALTER EXTENSION UPDATE, does not have).
 */
static void
AuditGraph(const char *event, const char *name)
{
	StringInfoData payload;

	if (RvgLegacySchema())
		return;

	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"graph\": ");
	escape_json(&payload, name);
	appendStringInfoChar(&payload, '}');
	RvAuditEvent(event, InvalidOid, payload.data);
}

Datum
ruvector_create_graph(PG_FUNCTION_ARGS)
{
	int			pin;
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *schema = RvgSchema();
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		values[2];
	RvgOwnerSave save;

	CheckGraphName(name);
	values[0] = CStringGetTextDatum(name);
	pin = RvgSpiConnect();
	if (GraphIdSPI(schema, name, false) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_SCHEMA),
				 errmsg("graph \"%s\" already exists", name)));
	values[1] = ObjectIdGetDatum(GetUserId());
	RvgAsOwnerBegin(&save);
	if (RvgLegacySchema())
		Exec(psprintf("INSERT INTO %s.ruvector_graph (name) VALUES ($1)", schema),
			 1, types, values, NULL, SPI_OK_INSERT);
	else
		Exec(psprintf("INSERT INTO %s.ruvector_graph (name, owner) VALUES ($1, $2::pg_catalog.regrole)", schema),
			 2, types, values, NULL, SPI_OK_INSERT);
	RvgAsOwnerEnd(&save);
	RvgSpiFinish(pin);
	AuditGraph("graph.create", name);
	PG_RETURN_VOID();
}

/*
 * Deletes the graph's contents in dependency order (members, hyperedges,
 * edges, nodes), drops its vector indexes, then the graph row, which is
 * locked first.
 */
Datum
ruvector_drop_graph(PG_FUNCTION_ARGS)
{
	int			pin;
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		if_exists = PG_GETARG_BOOL(1);
	const char *schema = RvgSchema();
	static const char *const steps[] = {
		"DELETE FROM %s.ruvector_graph_hyperedge_member m USING %s.ruvector_graph_hyperedge h "
		"WHERE m.hyperedge_id = h.id AND h.graph_id = $1",
		"DELETE FROM %s.ruvector_graph_hyperedge WHERE graph_id = $1%.0s",
		"DELETE FROM %s.ruvector_graph_edge WHERE graph_id = $1%.0s",
		"DELETE FROM %s.ruvector_graph_node WHERE graph_id = $1%.0s",
		"DELETE FROM %s.ruvector_graph_vector_index WHERE graph_id = $1%.0s",
		"DELETE FROM %s.ruvector_graph_grant WHERE graph_id = $1%.0s",
		"DELETE FROM %s.ruvector_graph WHERE graph_id = $1%.0s",
	};
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	int32		gid;
	RvgOwnerSave save;

	pin = RvgSpiConnect();
	gid = GraphIdSPI(schema, name, true);
	if (gid < 0)
	{
		if (!if_exists)
			UnknownGraph(name);
		ereport(NOTICE,
				(errmsg("graph \"%s\" does not exist, skipping", name)));
		RvgSpiFinish(pin);
		PG_RETURN_VOID();
	}
	values[0] = Int32GetDatum(gid);

	/*
	 * The rows and indexes are removed as the extension's owner: EXECUTE on
	 * this function (ruvector_admin) is the right to drop a graph, and the
	 * indexes can only be dropped by their table's owner.  The vector
	 * indexes go first: they are partial indexes on this graph.  One a user
	 * dropped already is skipped without a notice.
	 */
	RvgAsOwnerBegin(&save);
	Exec(psprintf("SELECT index_name FROM %s.ruvector_graph_vector_index WHERE graph_id = $1 "
				  "AND pg_catalog.to_regclass(%s || '.' || pg_catalog.quote_ident(index_name)) IS NOT NULL",
				  schema, quote_literal_cstr(schema)),
		 1, types, values, NULL, SPI_OK_SELECT);
	{
		SPITupleTable *tt = SPI_tuptable;
		uint64		n = SPI_processed;

		for (uint64 i = 0; i < n; i++)
		{
			char	   *idx = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);

			Exec(psprintf("DROP INDEX IF EXISTS %s.%s", schema, quote_identifier(idx)),
				 0, NULL, NULL, NULL, SPI_OK_UTILITY);
		}
	}
	for (int i = 0; i < lengthof(steps); i++)
	{
		if (RvgLegacySchema() && strstr(steps[i], "ruvector_graph_grant") != NULL)
			continue;
		Exec(psprintf(steps[i], schema, schema), 1, types, values, NULL, SPI_OK_DELETE);
	}
	RvgAsOwnerEnd(&save);
	RvgSpiFinish(pin);
	AuditGraph("graph.drop", name);
	PG_RETURN_VOID();
}

/* ruvector_graphs(): name, nodes, edges for every graph, by name. */
Datum
ruvector_graphs(PG_FUNCTION_ARGS)
{
	int			pin;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *schema = RvgSchema();
	char	   *sql;

	InitMaterializedSRF(fcinfo, 0);
	sql = psprintf("SELECT g.name, "
				   "(SELECT pg_catalog.count(*) FROM %s.ruvector_graph_node n WHERE n.graph_id = g.graph_id), "
				   "(SELECT pg_catalog.count(*) FROM %s.ruvector_graph_edge e WHERE e.graph_id = g.graph_id) "
				   "FROM %s.ruvector_graph g ORDER BY g.name", schema, schema, schema);
	pin = RvgSpiConnect();
	Exec(sql, 0, NULL, NULL, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[3];
		bool		nulls[3];

		for (int k = 0; k < 3; k++)
			values[k] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, k + 1, &nulls[k]);
		/* the text datum lives in SPI memory; the tuplestore copies it */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	RvgSpiFinish(pin);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * SQL-level insertion (bulk loads without Cypher)
 * ---------------------------------------------------------------------
 */
/* A text argument that must not be null, as a C string. */
char *
RvgRequireText(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/* The graph's id, after checking the caller may write it (42501). */
static int32
RequireGraph(const char *schema, const char *name)
{
	int32		gid = GraphIdSPI(schema, name, false);

	if (gid < 0)
		UnknownGraph(name);
	RvgCheckGraphPrivilege(gid, name, true);
	return gid;
}

static Jsonb *
OptionalProps(FunctionCallInfo fcinfo, int arg)
{
	return RvgCleanProperties(PG_ARGISNULL(arg) ? NULL : PG_GETARG_JSONB_P(arg), "properties");
}

/*
 * Runs sql, the INSERT of one node, edge or hyperedge, and returns the new
 * id.  Its parameters are the graph id ($1), the label or type ($2), the
 * properties ($3) and, for an edge (ends not NULL), its start and end ($4,
 * $5).
 */
static int64
InsertElement(const char *sql, int32 gid, const char *text, Jsonb *props, const int64 *ends)
{
	Oid			types[5] = {INT4OID, TEXTOID, JSONBOID, INT8OID, INT8OID};
	Datum		values[5] = {Int32GetDatum(gid), CStringGetTextDatum(text), JsonbPGetDatum(props)};
	bool		isnull;

	if (ends != NULL)
	{
		values[3] = Int64GetDatum(ends[0]);
		values[4] = Int64GetDatum(ends[1]);
	}
	Exec(sql, ends != NULL ? 5 : 3, types, values, NULL, SPI_OK_INSERT_RETURNING);
	if (SPI_processed != 1)
		elog(ERROR, "insert returned " UINT64_FORMAT " rows", SPI_processed);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* A relationship or hyperedge type must not be empty (a node label may). */
static void
RequireType(const char *type, const char *what)
{
	if (type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
}

/* ruvector_graph_add_node(graph, label, properties) returns the new id */
Datum
ruvector_graph_add_node(PG_FUNCTION_ARGS)
{
	int			pin;
	char	   *graph = RvgRequireText(fcinfo, 0, "graph");
	char	   *label = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *props = OptionalProps(fcinfo, 2);
	const char *schema = RvgSchema();
	int64		id;

	pin = RvgSpiConnect();
	id = InsertElement(psprintf("INSERT INTO %s.ruvector_graph_node (graph_id, label, properties) "
								"VALUES ($1, $2, $3) RETURNING id", schema),
					   RequireGraph(schema, graph), label, props, NULL);
	RvgSpiFinish(pin);
	PG_RETURN_INT64(id);
}

/* Raises unless every id in ids (an int8[] datum) is a node of the graph. */
static void
CheckNodesInGraph(const char *schema, int32 gid, Datum ids, const char *graph)
{
	Oid			types[2] = {INT4OID, INT8ARRAYOID};
	Datum		values[2] = {Int32GetDatum(gid), ids};
	bool		isnull;

	Exec(psprintf("SELECT u.id FROM pg_catalog.unnest($2) u(id) WHERE u.id IS NULL OR NOT EXISTS "
				  "(SELECT 1 FROM %s.ruvector_graph_node n WHERE n.id = u.id AND n.graph_id = $1) LIMIT 1",
				  schema), 2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed > 0)
	{
		Datum		bad = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("node id must not be null")));
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("node " INT64_FORMAT " does not exist in graph \"%s\"",
						DatumGetInt64(bad), graph)));
	}
}

static Datum
IdArray2(int64 a, int64 b)
{
	Datum		elems[2] = {Int64GetDatum(a), Int64GetDatum(b)};

	return PointerGetDatum(construct_array(elems, 2, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* ruvector_graph_add_edge(graph, start_id, end_id, type, properties) */
Datum
ruvector_graph_add_edge(PG_FUNCTION_ARGS)
{
	int			pin;
	char	   *graph = RvgRequireText(fcinfo, 0, "graph");
	char	   *type = RvgRequireText(fcinfo, 3, "relationship type");
	Jsonb	   *props = OptionalProps(fcinfo, 4);
	const char *schema = RvgSchema();
	int64		ends[2];
	int32		gid;
	int64		id;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("start_id and end_id must not be null")));
	RequireType(type, "relationship type");
	ends[0] = PG_GETARG_INT64(1);
	ends[1] = PG_GETARG_INT64(2);
	pin = RvgSpiConnect();
	gid = RequireGraph(schema, graph);
	CheckNodesInGraph(schema, gid, IdArray2(ends[0], ends[1]), graph);
	id = InsertElement(psprintf("INSERT INTO %s.ruvector_graph_edge (graph_id, type, properties, start_id, end_id) "
								"VALUES ($1, $2, $3, $4, $5) RETURNING id", schema),
					   gid, type, props, ends);
	RvgSpiFinish(pin);
	PG_RETURN_INT64(id);
}

/* ruvector_graph_add_hyperedge(graph, type, node_ids, properties, roles) */
Datum
ruvector_graph_add_hyperedge(PG_FUNCTION_ARGS)
{
	int			pin;
	char	   *graph = RvgRequireText(fcinfo, 0, "graph");
	char	   *type = RvgRequireText(fcinfo, 1, "hyperedge type");
	Jsonb	   *props = OptionalProps(fcinfo, 3);
	const char *schema = RvgSchema();
	ArrayType  *ids;
	int			nids;
	int32		gid;
	int64		id;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("node_ids must not be null")));
	ids = PG_GETARG_ARRAYTYPE_P(2);
	nids = ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids));
	if (nids < 1 || ARR_NDIM(ids) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hyperedge needs a one-dimensional array of at least one node id")));
	if (!PG_ARGISNULL(4))
	{
		ArrayType  *roles = PG_GETARG_ARRAYTYPE_P(4);
		int			nroles = ArrayGetNItems(ARR_NDIM(roles), ARR_DIMS(roles));

		if (nroles != nids)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("roles has %d elements but node_ids has %d", nroles, nids)));
	}
	RequireType(type, "hyperedge type");
	pin = RvgSpiConnect();
	gid = RequireGraph(schema, graph);
	CheckNodesInGraph(schema, gid, PointerGetDatum(ids), graph);
	id = InsertElement(psprintf("INSERT INTO %s.ruvector_graph_hyperedge (graph_id, type, properties) "
								"VALUES ($1, $2, $3) RETURNING id", schema),
					   gid, type, props, NULL);
	{
		Oid			mtypes[3] = {INT8OID, INT8ARRAYOID, TEXTARRAYOID};
		Datum		mvalues[3] = {Int64GetDatum(id), PointerGetDatum(ids),
		PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4)};
		char		mnulls[3] = {' ', ' ', PG_ARGISNULL(4) ? 'n' : ' '};

		Exec(psprintf("INSERT INTO %s.ruvector_graph_hyperedge_member (hyperedge_id, position, node_id, role) "
					  "SELECT $1, u.ord, u.node, ($3)[u.ord] FROM pg_catalog.unnest($2) WITH ORDINALITY u(node, ord)",
					  schema), 3, mtypes, mvalues, mnulls, SPI_OK_INSERT);
	}
	RvgSpiFinish(pin);
	PG_RETURN_INT64(id);
}

/* ---------------------------------------------------------------------
 * ruvector_graph_vector_index(graph, label, property, dimensions, metric, method)
 * ---------------------------------------------------------------------
 */
static const char *
MetricOpclass(const char *metric)
{
	const RvgMetric *m = RvgLookupMetric(metric);

	if (m != NULL)
		return m->opclass;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown vector metric \"%s\"", metric),
			 errhint("Use l2, cosine, ip or l1.")));
	return NULL;
}

/*
 * Creates a partial expression index over the graph's nodes with the label,
 * on the property read as a vector of the given dimensions, and records it
 * so Cypher's vector.distance ranking is planned onto it.  Returns the
 * index name.
 */
Datum
ruvector_graph_vector_index(PG_FUNCTION_ARGS)
{
	int			pin;
	char	   *graph = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *property = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int32		dims = PG_GETARG_INT32(3);
	char	   *metric = text_to_cstring(PG_GETARG_TEXT_PP(4));
	char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(5));
	const char *schema = RvgSchema();
	const char *opclass = MetricOpclass(metric);
	char	   *key = psprintf("%s%c%s%c%s", label, 0, property, 0, metric);
	uint32		h = DatumGetUInt32(hash_any((unsigned char *) key,
											strlen(label) + strlen(property) + strlen(metric) + 2));
	char	   *idxname;
	int32		gid;
	RvgOwnerSave save;

	if (dims < 1 || dims > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions must be between 1 and %d", VECTOR_MAX_DIM)));
	if (strcmp(method, "hnsw") != 0 && strcmp(method, "ivfflat") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown index method \"%s\"", method),
				 errhint("Use hnsw or ivfflat.")));
	pin = RvgSpiConnect();
	gid = RequireGraph(schema, graph);
	idxname = psprintf("ruvector_graph_%d_vec_%08x", gid, h);
	/* only the table's owner may index it; EXECUTE (ruvector_admin) is the right */
	RvgAsOwnerBegin(&save);
	/*
	 * The predicate is the Cypher planner's "has this label" test
	 * (RvgLabelCond), word for word, so that PostgreSQL proves the index
	 * usable for MATCH (n:Label); 0.1.0's SQL has only the first label.
	 */
	Exec(psprintf("CREATE INDEX %s ON %s.ruvector_graph_node USING %s "
				  "((%s.ruvector_cy_vector(properties -> %s)::%s.vector(%d)) %s.%s) "
				  "WHERE graph_id = %d AND %s",
				  quote_identifier(idxname), schema, method,
				  schema, quote_literal_cstr(property), schema, dims, schema, opclass,
				  gid, RvgLegacySchema() ?
				  psprintf("label = %s", quote_literal_cstr(label)) :
				  psprintf("(label = %s OR labels @> ARRAY[%s])",
						   quote_literal_cstr(label), quote_literal_cstr(label))),
		 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	{
		Oid			types[6] = {INT4OID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
		Datum		values[6] = {Int32GetDatum(gid), CStringGetTextDatum(label),
			CStringGetTextDatum(property), CStringGetTextDatum(metric),
		Int32GetDatum(dims), CStringGetTextDatum(idxname)};

		Exec(psprintf("INSERT INTO %s.ruvector_graph_vector_index "
					  "(graph_id, label, property, metric, dimensions, index_name) "
					  "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (graph_id, label, property, metric) "
					  "DO UPDATE SET dimensions = EXCLUDED.dimensions, index_name = EXCLUDED.index_name",
					  schema), 6, types, values, NULL, SPI_OK_INSERT);
	}
	RvgAsOwnerEnd(&save);
	RvgSpiFinish(pin);
	PG_RETURN_TEXT_P(cstring_to_text(idxname));
}
