/*-------------------------------------------------------------------------
 *
 * shard_conn.c
 *	  libpq connections to a shard server from a foreign server's options:
 *	  a ping for ruvector.shard_partial_results, a one-off connection with
 *	  the caller's user mapping for ruvector_shard_create, and the cached
 *	  connections of the direct top-k path (shard_direct.c).
 *
 * NOTES
 *	  Every libpq option of the server and of the user mapping is passed
 *	  (postgres_fdw's validator has said which may be where); postgres_fdw's
 *	  own options (extensions, fetch_size, ...) are not libpq's.  These
 *	  connections are not postgres_fdw's: they have their own sessions and
 *	  commit each statement themselves.  The cached ones follow
 *	  postgres_fdw's rules (RvShardConnAcquire): the password a non-superuser
 *	  must give, and invalidation by ALTER SERVER / USER MAPPING.
 *	  ruvector_shard_create's one-off connection does not repeat the
 *	  password rule: that function is for superusers
 *	  (sql/parts/99_privileges.sql).
 *
 *	  Lock order: none taken.
 *
 * IDENTIFICATION
 *	  src/shard/shard_conn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "common/rv_hash.h"
#include "shard/shard.h"

#define RV_SHARD_MAX_CONN_OPTS 48

/*
 * Is name a libpq connection keyword we may pass on?  postgres_fdw's
 * validator has already said which object (server or user mapping) may
 * carry which; its own options (extensions, fetch_size, ...) are not
 * libpq's, and debug options and the ones set here are left out.
 */
static bool
RvShardIsLibpqOption(const char *name)
{
	static PQconninfoOption *defaults = NULL;

	if (defaults == NULL)
		defaults = PQconndefaults();
	if (defaults == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (strcmp(name, "fallback_application_name") == 0 ||
		strcmp(name, "client_encoding") == 0)
		return false;
	for (PQconninfoOption *o = defaults; o->keyword != NULL; o++)
		if (strcmp(o->keyword, name) == 0)
			return strchr(o->dispchar, 'D') == NULL;
	return false;
}

/* Append the libpq options of list to keys/vals */
static int
RvShardAddOptions(List *options, const char **keys, const char **vals, int n)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (n < RV_SHARD_MAX_CONN_OPTS - 4 && RvShardIsLibpqOption(d->defname))
		{
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

	n = RvShardAddOptions(server->options, keys, vals, n);
	if (um)
		n = RvShardAddOptions(um->options, keys, vals, n);
	for (int i = 0; i < n; i++)
		has_timeout |= strcmp(keys[i], "connect_timeout") == 0;
	if (!has_timeout)
	{
		keys[n] = "connect_timeout";
		vals[n++] = "2";
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "ruvector";
	keys[n] = "client_encoding";
	vals[n++] = GetDatabaseEncodingName();
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

/* Connect with these libpq options, or ERROR as postgres_fdw words it */
static PGconn *
RvShardConnectParams(ForeignServer *server, const char **keys, const char **vals)
{
	PGconn	   *conn = PQconnectdbParams(keys, vals, 0);

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

/* A connection to server as the current user's user mapping says; ERROR if none */
PGconn *
RvShardConnect(ForeignServer *server)
{
	UserMapping *um = GetUserMapping(GetUserId(), server->serverid);
	const char *keys[RV_SHARD_MAX_CONN_OPTS];
	const char *vals[RV_SHARD_MAX_CONN_OPTS];

	RvShardConnOptions(server, um, keys, vals);
	return RvShardConnectParams(server, keys, vals);
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

/*
 * The connection cache of the direct top-k path (shard_direct.c)
 *
 * One connection per user mapping, kept for the session, as postgres_fdw
 * keeps its own (this cache is separate: postgres_fdw's is not reachable
 * without its header, and its connections always run a remote transaction).
 * The rules are postgres_fdw's: the server's and the user mapping's libpq
 * options; a non-superuser must give a password in the user mapping and the
 * server must have asked for it, unless a superuser set password_required
 * 'false' on the mapping; an ALTER or DROP of the server or the user mapping
 * closes the connection before its next use.  A connection still reading a
 * result when the (sub)transaction aborts is closed, since its protocol
 * state is unknown.
 */
struct RvShardConn
{
	Oid			umid;			/* hash key: the user mapping's oid */
	PGconn	   *conn;			/* NULL when closed */
	uint32		server_hash;	/* syscache hash values, for invalidation */
	uint32		mapping_hash;
	bool		invalid;		/* server or mapping changed: reconnect */
	bool		busy;			/* a query sent and not read to the end */
	bool		fresh;			/* connected during the current query */
	WaitEventSet *waitset;		/* latch, postmaster death, the socket */
	int			nprepared;		/* statements prepared on this connection */
	char	  **prepared;		/* their SQL; statement i is ruvector_shard_<i> */
};

#define RV_SHARD_MAX_PREPARED 64

static HTAB *rv_shard_conns = NULL;

/* Close the connection of an entry; the entry stays, empty */
static void
RvShardConnClose(RvShardConn *c)
{
	if (c->waitset)
		FreeWaitEventSet(c->waitset);
	c->waitset = NULL;
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	c->busy = false;
	for (int i = 0; i < c->nprepared; i++)
		pfree(c->prepared[i]);
	c->nprepared = 0;
}

/* ALTER/DROP SERVER or USER MAPPING: mark the connections that used them */
static void
RvShardConnInval(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS seq;
	RvShardConn *c;

	hash_seq_init(&seq, rv_shard_conns);
	while ((c = hash_seq_search(&seq)) != NULL)
	{
		uint32		mine = cacheid == FOREIGNSERVEROID ? c->server_hash : c->mapping_hash;

		if (hashvalue == 0 || hashvalue == mine)
			c->invalid = true;
	}
}

/* An abort in the middle of a query: close what was left mid-protocol */
static void
RvShardConnAbortBusy(void)
{
	HASH_SEQ_STATUS seq;
	RvShardConn *c;

	hash_seq_init(&seq, rv_shard_conns);
	while ((c = hash_seq_search(&seq)) != NULL)
		if (c->busy)
			RvShardConnClose(c);
}

static void
RvShardConnXact(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		RvShardConnAbortBusy();
}

static void
RvShardConnSubXact(SubXactEvent event, SubTransactionId sub,
				   SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		RvShardConnAbortBusy();
}

/* Is a password required of this user on this mapping (postgres_fdw's rule)? */
static bool
RvShardPasswordRequired(UserMapping *um)
{
	ListCell   *lc;

	if (superuser_arg(um->userid))
		return false;
	foreach(lc, um->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "password_required") == 0)
			return defGetBoolean(d);
	}
	return true;
}

/* Connect as um says, with the checks and session settings postgres_fdw uses */
static PGconn *
RvShardConnOpen(ForeignServer *server, UserMapping *um)
{
	const char *keys[RV_SHARD_MAX_CONN_OPTS];
	const char *vals[RV_SHARD_MAX_CONN_OPTS];
	bool		need_pw = RvShardPasswordRequired(um);
	bool		has_pw = false;
	PGconn	   *conn;
	PGresult   *res;

	RvShardConnOptions(server, um, keys, vals);
	for (int i = 0; keys[i] != NULL; i++)
		has_pw |= strcmp(keys[i], "password") == 0 && vals[i][0] != '\0';
	if (need_pw && !has_pw)
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("password is required"),
				 errdetail("Non-superusers must provide a password in the user mapping.")));

	conn = RvShardConnectParams(server, keys, vals);
	if (need_pw && !PQconnectionUsedPassword(conn))
	{
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("password is required"),
				 errdetail("Non-superuser cannot connect if the server does not request a password."),
				 errhint("Target server's authentication method must be changed or password_required=false set in the user mapping attributes.")));
	}

	/*
	 * Unambiguous text from the shard (postgres_fdw's settings), names
	 * resolved only as qualified, every statement read-only (the direct
	 * path runs each query as its own remote statement), and a prepared
	 * statement planned once: its plan (the index scan for ORDER BY
	 * distance LIMIT k) does not depend on the query vector.
	 */
	res = PQexec(conn, "SET search_path = pg_catalog; SET timezone = 'UTC'; "
				 "SET datestyle = ISO; SET intervalstyle = postgres; "
				 "SET extra_float_digits = 3; SET default_transaction_read_only = on; "
				 "SET plan_cache_mode = force_generic_plan");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		char	   *msg = pstrdup(PQerrorMessage(conn));

		PQclear(res);
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not configure the session on server \"%s\"", server->servername),
				 errdetail_internal("%s", pchomp(msg))));
	}
	PQclear(res);
	return conn;
}

/*
 * The cached connection for userid's user mapping on server, connected.
 * ERROR as postgres_fdw's when there is no user mapping ("user mapping not
 * found"), when a password is required, or when the server cannot be
 * reached ("could not connect to server").
 */
RvShardConn *
RvShardConnAcquire(ForeignServer *server, Oid userid)
{
	UserMapping *um = GetUserMapping(userid, server->serverid);
	RvShardConn *c;
	bool		found;

	if (rv_shard_conns == NULL)
	{
		rv_shard_conns = rv_blob_hash_create("ruvector shard connections", 8, sizeof(Oid),
											 sizeof(RvShardConn), TopMemoryContext);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, RvShardConnInval, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, RvShardConnInval, (Datum) 0);
		RegisterXactCallback(RvShardConnXact, NULL);
		RegisterSubXactCallback(RvShardConnSubXact, NULL);
	}
	c = hash_search(rv_shard_conns, &um->umid, HASH_ENTER, &found);
	if (!found)
	{
		c->conn = NULL;
		c->waitset = NULL;
		c->busy = false;
		c->nprepared = 0;
		c->prepared = MemoryContextAllocZero(TopMemoryContext,
											 RV_SHARD_MAX_PREPARED * sizeof(char *));
	}
	if (c->conn && (c->invalid || PQstatus(c->conn) != CONNECTION_OK))
		RvShardConnClose(c);
	c->fresh = false;
	if (c->conn == NULL)
	{
		c->invalid = false;
		c->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID,
											   ObjectIdGetDatum(server->serverid));
		c->mapping_hash = GetSysCacheHashValue1(USERMAPPINGOID,
												ObjectIdGetDatum(um->umid));
		c->conn = RvShardConnOpen(server, um);
		c->fresh = true;
	}
	return c;
}

/* Is there an open cached connection for userid's mapping on server? */
bool
RvShardConnIsOpen(ForeignServer *server, Oid userid)
{
	UserMapping *um = GetUserMapping(userid, server->serverid);
	RvShardConn *c;

	if (rv_shard_conns == NULL)
		return false;
	c = hash_search(rv_shard_conns, &um->umid, HASH_FIND, NULL);
	return c != NULL && c->conn != NULL && !c->invalid &&
		PQstatus(c->conn) == CONNECTION_OK;
}

struct pg_conn *
RvShardConnPg(RvShardConn *c)
{
	return c->conn;
}

/* The wait set of c's socket, made on first use */
WaitEventSet *
RvShardConnWaitSet(RvShardConn *c)
{
	if (c->waitset == NULL)
	{
		WaitEventSet *set = CreateWaitEventSet(TopMemoryContext, 3);

		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		AddWaitEventToSet(set, WL_SOCKET_READABLE, PQsocket(c->conn), NULL, NULL);
		c->waitset = set;
	}
	return c->waitset;
}

bool
RvShardConnFresh(RvShardConn *c)
{
	return c->fresh;
}

bool
RvShardConnBusy(RvShardConn *c)
{
	return c->busy;
}

void
RvShardConnSetBusy(RvShardConn *c, bool busy)
{
	c->busy = busy;
}

/* Close a connection that failed; the next acquire reconnects */
void
RvShardConnReset(RvShardConn *c)
{
	RvShardConnClose(c);
}

/*
 * The name of a statement prepared on c for sql, preparing it on first use
 * (one round trip per connection and statement).  At most
 * RV_SHARD_MAX_PREPARED are kept; beyond that all are deallocated.
 */
const char *
RvShardConnPrepare(RvShardConn *c, ForeignServer *server, const char *sql)
{
	PGresult   *res;
	int			i;

	for (i = 0; i < c->nprepared; i++)
		if (strcmp(c->prepared[i], sql) == 0)
			return psprintf("ruvector_shard_%d", i);
	if (c->nprepared == RV_SHARD_MAX_PREPARED)
	{
		RvShardExec(c->conn, server, "DEALLOCATE ALL");
		for (i = 0; i < c->nprepared; i++)
			pfree(c->prepared[i]);
		c->nprepared = 0;
	}
	i = c->nprepared;
	res = PQprepare(c->conn, psprintf("ruvector_shard_%d", i), sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		RvShardReportError(ERROR, res, c->conn, server, sql);
	PQclear(res);
	c->prepared[i] = MemoryContextStrdup(TopMemoryContext, sql);
	c->nprepared++;
	return psprintf("ruvector_shard_%d", i);
}

/*
 * Raise the error of a failed remote command with the shard's SQLSTATE and
 * message, as postgres_fdw does, and the server and SQL as context.  res is
 * cleared.
 */
void
RvShardReportError(int elevel, PGresult *res, PGconn *conn,
				   ForeignServer *server, const char *sql)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char	   *p = primary ? pstrdup(primary) : pchomp(PQerrorMessage(conn));
	char	   *d = detail ? pstrdup(detail) : NULL;
	char	   *h = hint ? pstrdup(hint) : NULL;
	int			code = ERRCODE_CONNECTION_FAILURE;

	if (state && strlen(state) == 5)
		code = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	PQclear(res);
	ereport(elevel,
			(errcode(code),
			 errmsg_internal("%s", p),
			 d ? errdetail_internal("%s", d) : 0,
			 h ? errhint("%s", h) : 0,
			 errcontext("remote SQL command on server \"%s\": %s",
						server->servername, sql)));
}
