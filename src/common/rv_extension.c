/*-------------------------------------------------------------------------
 *
 * rv_extension.c
 *	  The ruvector extension's catalog entry: one pg_extension scan for its
 *	  schema, owner and version; the oids of its own tables; running code
 *	  as its owner.
 *
 * NOTES
 *	  Every subsystem that writes the extension's tables or qualifies
 *	  generated SQL with the extension's schema comes here, rather than
 *	  scanning pg_extension itself.  The scan uses the name index under the
 *	  catalog snapshot, so it sees ALTER EXTENSION ... SET SCHEMA and OWNER
 *	  TO at once.
 *
 *	  The oids of the extension's tables are cached per backend (each SPI
 *	  query names one, schema-qualified: the extension is relocatable).  A
 *	  relcache invalidation of a cached table - dropped with the extension,
 *	  moved by ALTER EXTENSION ... SET SCHEMA, renamed - or of every
 *	  relation forgets the lookup; callers read the schema name from the
 *	  table at each use.
 *
 *	  Locks: AccessShareLock on pg_extension for the scan, nothing else.
 *
 * IDENTIFICATION
 *	  src/common/rv_extension.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "common/rv_extension.h"

/*
 * Find the extension's row of pg_extension.  False if it is not installed
 * in this database and missing_ok; an error otherwise.
 */
bool
RvExtensionLookup(RvExtensionInfoData *info, bool missing_ok)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bool		found;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("ruvector"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	if (found)
	{
		Form_pg_extension ext = (Form_pg_extension) GETSTRUCT(tup);
		bool		isnull;
		Datum		version = heap_getattr(tup, Anum_pg_extension_extversion,
										   RelationGetDescr(rel), &isnull);

		info->oid = ext->oid;
		info->nsp = ext->extnamespace;
		info->owner = ext->extowner;
		info->version = isnull ? NULL : TextDatumGetCString(version);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!found && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"ruvector\" is not installed in this database")));
	return found;
}

/* The schema the extension is installed in; an error if it is not. */
Oid
RvExtensionNamespace(void)
{
	RvExtensionInfoData ext;

	(void) RvExtensionLookup(&ext, false);
	return ext.nsp;
}

/*
 * The schema's name quoted for generated SQL (palloc'd), for the callers
 * that qualify the extension's objects in query text; an error if the
 * extension is not installed.  Read afresh at each call, so it follows
 * ALTER EXTENSION ... SET SCHEMA and ALTER SCHEMA ... RENAME at once: its
 * callers run an SPI query next, which costs far more than the lookup.
 */
char *
RvExtensionSchemaSql(void)
{
	char	   *name = get_namespace_name(RvExtensionNamespace());

	if (name == NULL)
		elog(ERROR, "schema of extension ruvector not found");
	return pstrdup(quote_identifier(name));
}

/* Cached oids of the extension's tables, by name. */
typedef struct RvExtTable
{
	NameData	name;
	Oid			oid;
} RvExtTable;

#define RV_EXT_TABLES_MAX	8

static RvExtTable rv_ext_tables[RV_EXT_TABLES_MAX];
static int	rv_ext_ntables = 0;
static bool rv_ext_tables_callback = false;

static void
ExtTablesInvalidate(Datum arg, Oid relid)
{
	for (int i = 0; i < rv_ext_ntables; i++)
		if (!OidIsValid(relid) || rv_ext_tables[i].oid == relid)
			rv_ext_tables[i].oid = InvalidOid;
}

/* The cache entry of relname, made if there is room; NULL if not. */
static RvExtTable *
ExtTableEntry(const char *relname)
{
	for (int i = 0; i < rv_ext_ntables; i++)
		if (strcmp(NameStr(rv_ext_tables[i].name), relname) == 0)
			return &rv_ext_tables[i];
	if (rv_ext_ntables == RV_EXT_TABLES_MAX || strlen(relname) >= NAMEDATALEN)
		return NULL;
	if (!rv_ext_tables_callback)
	{
		CacheRegisterRelcacheCallback(ExtTablesInvalidate, (Datum) 0);
		rv_ext_tables_callback = true;
	}
	namestrcpy(&rv_ext_tables[rv_ext_ntables].name, relname);
	rv_ext_tables[rv_ext_ntables].oid = InvalidOid;
	return &rv_ext_tables[rv_ext_ntables++];
}

/* Oid of one of the extension's own tables. */
Oid
RvExtensionTable(const char *relname)
{
	RvExtTable *cached = ExtTableEntry(relname);
	Oid			relid;

	if (cached && OidIsValid(cached->oid))
		return cached->oid;

	relid = get_relname_relid(relname, RvExtensionNamespace());
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table \"%s\" of extension ruvector is missing", relname),
				 errhint("Drop and recreate the extension to restore its tables.")));
	if (cached)
		cached->oid = relid;
	return relid;
}

/*
 * Run fn(arg) as the extension's owner (for writes to its tables).  The
 * caller has checked the user's rights on the user table.  search_path is
 * pinned to pg_catalog for the duration, so that no function or operator
 * of the caller's schemas runs with the owner's rights.
 */
void
RvRunAsExtensionOwner(void (*fn) (void *), void *arg)
{
	RvExtensionInfoData ext;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;

	(void) RvExtensionLookup(&ext, false);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(ext.owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		/* On error, transaction abort also unwinds the GUC nest level. */
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	AtEOXact_GUC(true, save_nestlevel);
}

/*
 * Run a read-only query whose first column is an oid, through SPI, and
 * return its non-null oids in order, as a List allocated in ctx.  what
 * names the list in the error raised if the query fails.
 */
List *
RvSpiOidList(const char *sql, MemoryContext ctx, const char *what)
{
	List	   *oids = NIL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list %s", what);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(ctx);

		if (!isnull)
			oids = lappend_oid(oids, DatumGetObjectId(d));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return oids;
}
