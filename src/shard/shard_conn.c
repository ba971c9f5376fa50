/*-------------------------------------------------------------------------
 *
 * shard_conn.c
 *	  libpq connections to a shard server from a foreign server's options:
 *	  a ping for ruvector.shard_partial_results, and a connection with the
 *	  caller's user mapping for ruvector_shard_create.
 *
 * NOTES
 *	  Only the libpq connection options of the server (host, port, dbname,
 *	  ssl...) and of the user mapping (user, password, sslcert, sslkey) are
 *	  passed; postgres_fdw's own options (extensions, fetch_size, ...) are
 *	  not libpq's.  The connection is not postgres_fdw's: it has its own
 *	  session and commits each statement itself.  Queries are never sent
 *	  through here, so postgres_fdw's password_required rule is not
 *	  repeated: ruvector_shard_create, the only caller that connects, is
 *	  for superusers (sql/parts/99_privileges.sql).
 *
 *	  Lock order: none taken.
 *
 * IDENTIFICATION
 *	  src/shard/shard_conn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "libpq-fe.h"
#include "miscadmin.h"

#include "shard/shard.h"

#define RV_SHARD_MAX_CONN_OPTS 24

static const char *const rv_shard_server_opts[] = {
	"host", "hostaddr", "port", "dbname", "connect_timeout", "sslmode",
	"sslrootcert", "sslcrl", "service", "target_session_attrs", NULL
};
static const char *const rv_shard_user_opts[] = {
	"user", "password", "sslcert", "sslkey", "sslpassword", NULL
};

/* Append the options of list named in allowed to keys/vals */
static int
RvShardAddOptions(List *options, const char *const *allowed, const char **keys,
				  const char **vals, int n)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		for (int i = 0; allowed[i] != NULL && n < RV_SHARD_MAX_CONN_OPTS - 3; i++)
		{
			if (strcmp(d->defname, allowed[i]) != 0)
				continue;
			keys[n] = d->defname;
			vals[n++] = defGetString(d);
		}
	}
	return n;
}

/*
 * keys/vals (NULL-terminated) for a connection to server, with the user
 * mapping's options when um is given.  connect_timeout defaults to 2 s so an
 * unreachable host does not hold a query for the TCP timeout.
 */
static void
RvShardConnOptions(ForeignServer *server, UserMapping *um, const char **keys,
				   const char **vals)
{
	int			n = 0;
	bool		has_timeout = false;

	n = RvShardAddOptions(server->options, rv_shard_server_opts, keys, vals, n);
	if (um)
		n = RvShardAddOptions(um->options, rv_shard_user_opts, keys, vals, n);
	for (int i = 0; i < n; i++)
		has_timeout |= strcmp(keys[i], "connect_timeout") == 0;
	if (!has_timeout)
	{
		keys[n] = "connect_timeout";
		vals[n++] = "2";
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "ruvector";
	keys[n] = NULL;
	vals[n] = NULL;
}

/* Does the server answer a ping (no login needed)? */
bool
RvShardServerAnswers(ForeignServer *server)
{
	const char *keys[RV_SHARD_MAX_CONN_OPTS];
	const char *vals[RV_SHARD_MAX_CONN_OPTS];

	RvShardConnOptions(server, NULL, keys, vals);
	return PQpingParams(keys, vals, 0) == PQPING_OK;
}

/* A connection to server as the current user's user mapping says; ERROR if none */
PGconn *
RvShardConnect(ForeignServer *server)
{
	UserMapping *um = GetUserMapping(GetUserId(), server->serverid);
	const char *keys[RV_SHARD_MAX_CONN_OPTS];
	const char *vals[RV_SHARD_MAX_CONN_OPTS];
	PGconn	   *conn;

	RvShardConnOptions(server, um, keys, vals);
	conn = PQconnectdbParams(keys, vals, 0);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		char	   *msg = pstrdup(conn ? PQerrorMessage(conn) : "out of memory");

		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to server \"%s\"", server->servername),
				 errdetail_internal("%s", pchomp(msg))));
	}
	return conn;
}

/* Run one command on the shard; ERROR (naming the server) if it fails */
void
RvShardExec(PGconn *conn, ForeignServer *server, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		char	   *msg = pstrdup(PQerrorMessage(conn));

		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("shard server \"%s\" failed a command", server->servername),
				 errdetail_internal("%s", pchomp(msg)),
				 errcontext("remote SQL: %s", sql)));
	}
	PQclear(res);
}
