/*-------------------------------------------------------------------------
 *
 * shard_create.c
 *	  ruvector_shard_create(): turn a table into a hash-partitioned table
 *	  whose partitions are postgres_fdw foreign tables on shard servers,
 *	  creating the shard tables and their vector index there and moving the
 *	  rows.
 *
 * NOTES
 *	  For table s.t with primary key (k, ...) and servers srv0..srvN-1:
 *
 *	  1. On every server (libpq, the caller's user mapping; shard_conn.c):
 *		 CREATE EXTENSION IF NOT EXISTS ruvector, CREATE TABLE s.t with the
 *		 same columns and primary key.
 *	  2. Here: rename s.t to s.t_ruvector_unsharded, create s.t again
 *		 PARTITION BY HASH (k) and one foreign partition s.t_shard_i per
 *		 server (MODULUS N, REMAINDER i, table_name s.t).
 *	  3. For every shard, the old table's rows that hash to it are sent
 *		 with COPY over the same libpq connection, then the index is built
 *		 there (after the data, as an index build should be) and the table
 *		 analyzed.
 *	  4. The old table is dropped.
 *
 *	  Not atomic across servers: steps 1 and 3 commit on each shard as they
 *	  go; if anything fails, the coordinator's transaction rolls back (the
 *	  table is as it was) and the shard tables are left behind, to be
 *	  dropped before a retry (CREATE TABLE fails on an existing one rather
 *	  than mix rows).  The remote commands are not interruptible.
 *
 *	  Every name sent anywhere is quoted and schema-qualified (types with
 *	  FORMAT_TYPE_FORCE_QUALIFY, the operator class with the schema of the
 *	  vector type), and the remote session's search_path is pg_catalog, so
 *	  neither side's search_path changes what the commands mean.
 *
 *	  Superusers only (99_privileges.sql): it connects with the server's
 *	  options from this server process.
 *
 *	  Lock order: AccessExclusiveLock on the table, then the new parent and
 *	  partitions (created here).
 *
 * IDENTIFICATION
 *	  src/shard/shard_create.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "audit/audit.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "libpq-fe.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "shard/shard.h"

PG_FUNCTION_INFO_V1(ruvector_shard_create);

#define RV_SHARD_MAX_SERVERS 1024

typedef struct RvShardCreateData
{
	Relation	rel;
	char	   *qname;			/* "s"."t" */
	char	   *qold;			/* "s"."t_ruvector_unsharded" */
	const char *schema;
	const char *relname;
	AttrNumber	key;			/* partition key: first primary key column */
	List	   *pkey;			/* primary key column numbers */
	AttrNumber	vcol;			/* the indexed vector column */
	const char *method;			/* hnsw or ivfflat */
	char	   *opclass;		/* qualified, quoted */
	int			nservers;
	ForeignServer **servers;
} RvShardCreateData;

/* The name of a type and its schema (quoted) */
static const char *
RvShardTypeName(Oid typid, const char **schema)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Form_pg_type typ;
	const char *name;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	typ = (Form_pg_type) GETSTRUCT(tup);
	name = pstrdup(NameStr(typ->typname));
	if (schema)
		*schema = quote_identifier(get_namespace_name(typ->typnamespace));
	ReleaseSysCache(tup);
	return name;
}

/* Is the column's type one of ruvector's vector types? */
static bool
RvShardIsVectorType(Oid typid, const char **typname)
{
	const char *name = RvShardTypeName(typid, NULL);

	*typname = name;
	return strcmp(name, "vector") == 0 || strcmp(name, "halfvec") == 0 ||
		strcmp(name, "sparsevec") == 0;
}

/* The schema of a type, quoted */
static const char *
RvShardTypeSchema(Oid typid)
{
	const char *schema;

	RvShardTypeName(typid, &schema);
	return schema;
}

/* The primary key columns; ERROR without one */
static void
RvShardPrimaryKey(RvShardCreateData *sc)
{
	Oid			pk = RelationGetPrimaryKeyIndex(sc->rel);
	HeapTuple	tup;
	Form_pg_index idx;

	if (!OidIsValid(pk))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table \"%s\" has no primary key", sc->relname),
				 errhint("The first primary key column becomes the hash partition key.")));
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", pk);
	idx = (Form_pg_index) GETSTRUCT(tup);
	for (int i = 0; i < idx->indnkeyatts; i++)
	{
		if (idx->indkey.values[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the primary key of \"%s\" has an expression", sc->relname)));
		sc->pkey = lappend_int(sc->pkey, idx->indkey.values[i]);
	}
	ReleaseSysCache(tup);
	sc->key = linitial_int(sc->pkey);
}

/* The vector column: the one named, or the table's only vector column */
static void
RvShardVectorColumn(RvShardCreateData *sc, const char *name, const char *opclass)
{
	TupleDesc	desc = RelationGetDescr(sc->rel);
	const char *typname = NULL;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *t;

		if (att->attisdropped || !RvShardIsVectorType(att->atttypid, &t))
			continue;
		if (name ? strcmp(NameStr(att->attname), name) != 0 : sc->vcol != 0)
		{
			if (name == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_COLUMN),
						 errmsg("table \"%s\" has more than one vector column", sc->relname),
						 errhint("Name the one to index in vector_column.")));
			continue;
		}
		sc->vcol = att->attnum;
		typname = t;
	}
	if (sc->vcol == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" has no vector column%s%s", sc->relname,
						name ? " named " : "", name ? name : "")));
	sc->opclass = psprintf("%s.%s",
						   RvShardTypeSchema(TupleDescAttr(desc, sc->vcol - 1)->atttypid),
						   quote_identifier(opclass ? opclass : psprintf("%s_l2_ops", typname)));
}

/* The servers: postgres_fdw ones; a WARNING when ruvector's operators will not ship */
static void
RvShardServers(RvShardCreateData *sc, ArrayType *arr)
{
	Datum	   *names;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &n);
	if (n < 1 || n > RV_SHARD_MAX_SERVERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("servers must list 1 to %d servers, not %d", RV_SHARD_MAX_SERVERS, n)));
	sc->servers = palloc(sizeof(ForeignServer *) * n);
	for (int i = 0; i < n; i++)
	{
		ForeignServer *s;
		bool		ships = false;
		ListCell   *lc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("servers must not contain NULL")));
		s = GetForeignServerByName(TextDatumGetCString(names[i]), false);
		if (strcmp(GetForeignDataWrapper(s->fdwid)->fdwname, "postgres_fdw") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("server \"%s\" is not a postgres_fdw server", s->servername)));
		foreach(lc, s->options)
		{
			DefElem    *d = lfirst_node(DefElem, lc);

			if (strcmp(d->defname, "extensions") == 0 &&
				strstr(defGetString(d), "ruvector") != NULL)
				ships = true;
		}
		if (!ships)
			ereport(WARNING,
					(errmsg("server \"%s\" does not list ruvector in its extensions option", s->servername),
					 errdetail("Without it the distance operators are not sent to the shard: every row comes back to be sorted here."),
					 errhint("ALTER SERVER %s OPTIONS (ADD extensions 'ruvector');",
							 quote_identifier(s->servername))));
		sc->servers[i] = s;
	}
	sc->nservers = n;
}

/* CREATE EXTENSION / SCHEMA / TABLE for a shard */
static char *
RvShardRemoteTableSql(RvShardCreateData *sc)
{
	TupleDesc	desc = RelationGetDescr(sc->rel);
	StringInfoData sql;
	ListCell   *lc;
	const char *sep = "";

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SET search_path = pg_catalog; "
					 "CREATE EXTENSION IF NOT EXISTS ruvector SCHEMA %s; "
					 "CREATE SCHEMA IF NOT EXISTS %s; CREATE TABLE %s (",
					 RvShardTypeSchema(TupleDescAttr(desc, sc->vcol - 1)->atttypid),
					 quote_identifier(sc->schema), sc->qname);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		appendStringInfo(&sql, "%s%s %s%s", sep, quote_identifier(NameStr(att->attname)),
						 format_type_extended(att->atttypid, att->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY),
						 att->attnotnull ? " NOT NULL" : "");
		sep = ", ";
	}
	appendStringInfoString(&sql, ", PRIMARY KEY (");
	sep = "";
	foreach(lc, sc->pkey)
	{
		appendStringInfo(&sql, "%s%s", sep,
						 quote_identifier(NameStr(TupleDescAttr(desc, lfirst_int(lc) - 1)->attname)));
		sep = ", ";
	}
	appendStringInfoString(&sql, "))");
	return sql.data;
}

/* The column list, quoted, of the non-dropped columns */
static char *
RvShardColumnList(RvShardCreateData *sc)
{
	TupleDesc	desc = RelationGetDescr(sc->rel);
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped)
			appendStringInfo(&s, "%s%s", s.len ? ", " : "",
							 quote_identifier(NameStr(att->attname)));
	}
	return s.data;
}

/* The new parent and its foreign partitions, here */
static void
RvShardLocalLayout(RvShardCreateData *sc)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s RENAME TO %s; ", sc->qname,
					 quote_identifier(psprintf("%s_ruvector_unsharded", sc->relname)));
	appendStringInfo(&sql, "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING COMMENTS) "
					 "PARTITION BY HASH (%s); ", sc->qname, sc->qold,
					 quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(sc->rel), sc->key - 1)->attname)));
	for (int i = 0; i < sc->nservers; i++)
		appendStringInfo(&sql,
						 "CREATE FOREIGN TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d) "
						 "SERVER %s OPTIONS (schema_name %s, table_name %s); ",
						 quote_qualified_identifier(sc->schema, psprintf("%s_shard_%d", sc->relname, i)),
						 sc->qname, sc->nservers, i,
						 quote_identifier(sc->servers[i]->servername),
						 quote_literal_cstr(sc->schema), quote_literal_cstr(sc->relname));
	if (SPI_execute(sql.data, false, 0) < 0)
		elog(ERROR, "SPI_execute failed: %s", sql.data);
}

/* Append one value in COPY text format */
static void
RvShardCopyValue(StringInfo buf, const char *v)
{
	if (v == NULL)
	{
		appendStringInfoString(buf, "\\N");
		return;
	}
	for (; *v; v++)
	{
		/* COPY's escapes: backslash, tab, newline, carriage return */
		static const char special[] = "\\\t\n\r";
		static const char letter[] = "\\tnr";
		const char *p = strchr(special, *v);

		if (p != NULL)
		{
			appendStringInfoChar(buf, '\\');
			appendStringInfoChar(buf, letter[p - special]);
		}
		else
			appendStringInfoChar(buf, *v);
	}
}

/* COPY the old table's rows of shard i to it; the number sent */
static uint64
RvShardCopyRows(RvShardCreateData *sc, PGconn *conn, int i)
{
	char	   *cols = RvShardColumnList(sc);
	char	   *select = psprintf("SELECT %s FROM %s WHERE pg_catalog.satisfies_hash_partition(%s::pg_catalog.regclass, %d, %d, %s)",
								  cols, sc->qold, quote_literal_cstr(sc->qname), sc->nservers, i,
								  quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(sc->rel), sc->key - 1)->attname)));
	char	   *copy = psprintf("COPY %s (%s) FROM STDIN", sc->qname, cols);
	Portal		portal;
	uint64		sent = 0;
	PGresult   *res;
	StringInfoData line;

	res = PQexec(conn, copy);
	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		PQclear(res);
		RvShardExec(conn, sc->servers[i], copy);	/* reports the error */
	}
	PQclear(res);

	initStringInfo(&line);
	portal = SPI_cursor_open_with_args(NULL, select, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			resetStringInfo(&line);
			for (int c = 1; c <= SPI_tuptable->tupdesc->natts; c++)
			{
				if (c > 1)
					appendStringInfoChar(&line, '\t');
				RvShardCopyValue(&line, SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c));
			}
			appendStringInfoChar(&line, '\n');
			if (PQputCopyData(conn, line.data, line.len) != 1)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("could not send rows to server \"%s\"", sc->servers[i]->servername),
						 errdetail_internal("%s", pchomp(PQerrorMessage(conn)))));
			sent++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	if (PQputCopyEnd(conn, NULL) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not send rows to server \"%s\"", sc->servers[i]->servername)));
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		char	   *msg = pstrdup(PQerrorMessage(conn));

		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("server \"%s\" refused the rows", sc->servers[i]->servername),
				 errdetail_internal("%s", pchomp(msg))));
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return sent;
}

/* One shard: create its table (phase 0) or fill and index it (phase 1) */
static uint64
RvShardRemote(RvShardCreateData *sc, int i, int phase)
{
	ForeignServer *server = sc->servers[i];
	PGconn	   *volatile conn = RvShardConnect(server);
	uint64		sent = 0;

	PG_TRY();
	{
		if (phase == 0)
			RvShardExec(conn, server, RvShardRemoteTableSql(sc));
		else
		{
			RvShardExec(conn, server, "SET search_path = pg_catalog");
			sent = RvShardCopyRows(sc, conn, i);
			RvShardExec(conn, server,
						psprintf("CREATE INDEX ON %s USING %s (%s %s); ANALYZE %s",
								 sc->qname, sc->method,
								 quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(sc->rel), sc->vcol - 1)->attname)),
								 sc->opclass, sc->qname));
		}
	}
	PG_FINALLY();
	{
		PQfinish(conn);
	}
	PG_END_TRY();
	return sent;
}

/*
 * ruvector_shard_create(tbl regclass, servers text[], vector_column name,
 *						 index_method text, opclass text) RETURNS bigint
 */
Datum
ruvector_shard_create(PG_FUNCTION_ARGS)
{
	RvShardCreateData sc = {0};
	Oid			relid;
	Oid			nsp;
	uint64		moved = 0;
	StringInfoData audit;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tbl, servers and index_method must not be NULL")));
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function ruvector_shard_create"),
				 errdetail("It connects to the shard servers from the server process.")));
	relid = PG_GETARG_OID(0);
	sc.method = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (strcmp(sc.method, "hnsw") != 0 && strcmp(sc.method, "ivfflat") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index_method must be hnsw or ivfflat, not \"%s\"", sc.method)));

	sc.rel = table_open(relid, AccessExclusiveLock);
	sc.schema = get_namespace_name(RelationGetNamespace(sc.rel));
	sc.relname = pstrdup(RelationGetRelationName(sc.rel));
	if (sc.rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a plain table", sc.relname),
				 errhint("ruvector_shard_create turns an ordinary table into a sharded one.")));
	sc.qname = quote_qualified_identifier(sc.schema, sc.relname);
	sc.qold = quote_qualified_identifier(sc.schema, psprintf("%s_ruvector_unsharded", sc.relname));
	RvShardPrimaryKey(&sc);
	RvShardVectorColumn(&sc, PG_ARGISNULL(2) ? NULL : NameStr(*PG_GETARG_NAME(2)),
						PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)));
	RvShardServers(&sc, PG_GETARG_ARRAYTYPE_P(1));

	for (int i = 0; i < sc.nservers; i++)
		RvShardRemote(&sc, i, 0);
	SPI_connect();
	RvShardLocalLayout(&sc);
	for (int i = 0; i < sc.nservers; i++)
		moved += RvShardRemote(&sc, i, 1);
	nsp = RelationGetNamespace(sc.rel);
	table_close(sc.rel, NoLock);	/* DROP refuses a table open here */
	if (SPI_execute(psprintf("DROP TABLE %s", sc.qold), false, 0) < 0)
		elog(ERROR, "SPI_execute failed: DROP TABLE %s", sc.qold);
	SPI_finish();

	initStringInfo(&audit);
	appendStringInfoString(&audit, "{\"table\": ");
	escape_json(&audit, sc.qname);
	appendStringInfo(&audit, ", \"shards\": %d, \"rows\": " UINT64_FORMAT ", \"index_method\": \"%s\"}",
					 sc.nservers, moved, sc.method);
	RvAuditEvent("shard.create", get_relname_relid(sc.relname, nsp), audit.data);
	PG_RETURN_INT64((int64) moved);
}
