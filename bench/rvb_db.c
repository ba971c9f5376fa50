/*-------------------------------------------------------------------------
 *
 * rvb_db.c
 *	  libpq side of the benchmark: connecting to a target, loading the table
 *	  with COPY BINARY, building an index while watching its progress, and
 *	  measuring relation sizes.
 *
 * NOTES
 *	  The table is (id int4, tag int4, embedding vector(dim)) with a btree on
 *	  tag for the filtered queries.  Vectors travel in the type's binary
 *	  format (int16 dim, int16 unused = 0, dim big-endian float4), both in
 *	  COPY and as query parameters, so no text parsing is measured.
 *
 *	  An index build is sent asynchronously on the control connection while
 *	  a second connection of the same target polls
 *	  pg_stat_progress_create_index for the builder's pid; that is the only
 *	  place two connections of one target are busy at once, and each is still
 *	  used by this thread alone.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb_pg.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define COPY_CHUNK		(1 << 20)

/* ----------------------------------------------------------------
 *		connections and small helpers
 * ----------------------------------------------------------------
 */

/*
 * Server messages below WARNING (the NOTICEs of DROP ... IF EXISTS and
 * CREATE EXTENSION IF NOT EXISTS) would interleave with the progress output
 * and say nothing about the figures; warnings and worse are shown.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (sev && (strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
				strcmp(sev, "LOG") == 0 || strcmp(sev, "DEBUG") == 0))
		return;
	{
		char		msg[512];

		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
		msg[strcspn(msg, "\n")] = '\0';
		rvb_log("server: %s", msg);
	}
}

/*
 * rvb_db_connect opens a connection from a conninfo string or URI, with
 * the database name replaced when dbname_override is given (used to reach
 * the maintenance database when the target database does not exist yet).
 */
PGconn *
rvb_db_connect(const char *dsn, const char *dbname_override, char *err,
			   size_t errlen)
{
	PQconninfoOption *opts;
	PQconninfoOption *o;
	const char *kw[64];
	const char *val[64];
	int			n = 0;
	bool		have_app = false;
	char	   *perr = NULL;
	PGconn	   *conn;

	opts = PQconninfoParse(dsn, &perr);
	if (opts == NULL)
	{
		snprintf(err, errlen, "bad connection string \"%s\": %s", dsn,
				 perr ? perr : "out of memory");
		PQfreemem(perr);
		return NULL;
	}
	for (o = opts; o->keyword != NULL && n < 60; o++)
	{
		const char *v = o->val;

		if (strcmp(o->keyword, "dbname") == 0 && dbname_override != NULL)
			v = dbname_override;
		if (strcmp(o->keyword, "application_name") == 0 && v != NULL)
			have_app = true;
		if (v == NULL)
			continue;
		kw[n] = o->keyword;
		val[n++] = v;
	}
	if (!have_app)
	{
		kw[n] = "application_name";
		val[n++] = "ruvector-bench";
	}
	kw[n] = NULL;
	val[n] = NULL;
	conn = PQconnectdbParams(kw, val, 0);
	PQconninfoFree(opts);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeReceiver(conn, notice_receiver, NULL);
	return conn;
}

/*
 * rvb_db_revive reconnects a session that died.  A crashing backend makes
 * the postmaster end every session of the server, both targets' included,
 * and refuse connections during crash recovery; so retry for a minute.
 * Session settings are gone afterwards: the caller sets them again.
 */
bool
rvb_db_revive(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK)
		return true;
	for (int i = 0; i < 60; i++)
	{
		PQreset(conn);
		if (PQstatus(conn) == CONNECTION_OK)
		{
			rvb_log("reconnected to database %s after a lost connection", PQdb(conn));
			return true;
		}
		sleep(1);
	}
	return false;
}

/*
 * The control connection, reconnected if the server dropped it.  A dropped
 * session only shows when used, hence the probe before each step.
 */
static void
revive_control(RvbTarget *t, RvbResults *res)
{
	if (PQstatus(t->conn) == CONNECTION_OK &&
		rvb_db_exec(t->conn, NULL, 0, "SELECT 1"))
		return;
	if (rvb_db_revive(t->conn))
		rvb_note(res, "%s: the server dropped the connection (a backend crash?); reconnected",
				 t->name);
	else
		rvb_note(res, "%s: the server dropped the connection and did not come back",
				 t->name);
}

/* rvb_db_exec runs one command; on failure the message is left in err */
bool
rvb_db_exec(PGconn *conn, char *err, size_t errlen, const char *fmt,...)
{
	char		sql[4096];
	va_list		ap;
	PGresult   *r;
	bool		ok;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = PQexec(conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok && err != NULL)
	{
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(r);
	return ok;
}

/* rvb_db_value fetches the first column of the first row; false if none */
bool
rvb_db_value(PGconn *conn, const char *sql, char *buf, size_t buflen)
{
	PGresult   *r = PQexec(conn, sql);
	bool		ok = PQresultStatus(r) == PGRES_TUPLES_OK &&
		PQntuples(r) > 0 && !PQgetisnull(r, 0, 0);

	buf[0] = '\0';
	if (ok)
		snprintf(buf, buflen, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok;
}

/* set_config() quotes for us, so user-given values cannot break the SQL */
static bool
set_guc(PGconn *conn, const char *name, const char *value, char *err,
		size_t errlen)
{
	const char *params[2] = {name, value};
	PGresult   *r = PQexecParams(conn, "SELECT set_config($1, $2, false)", 2,
								 NULL, params, NULL, NULL, 0);
	bool		ok = PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
	{
		snprintf(err, errlen, "SET %s = %s: %s", name, value,
				 PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(r);
	return ok;
}

/* apply a list of "name=value" settings to one session */
static bool
apply_sets(PGconn *conn, char *const *sets, int nsets, char *err,
		   size_t errlen)
{
	for (int i = 0; i < nsets; i++)
	{
		char		name[128];
		const char *eq = strchr(sets[i], '=');

		if (eq == NULL || eq - sets[i] >= (long) sizeof(name))
		{
			snprintf(err, errlen, "setting \"%s\" is not name=value", sets[i]);
			return false;
		}
		memcpy(name, sets[i], eq - sets[i]);
		name[eq - sets[i]] = '\0';
		if (!set_guc(conn, name, eq + 1, err, errlen))
			return false;
	}
	return true;
}

/*
 * rvb_session_setup prepares a session for measured work: the user's
 * settings (by default jit off and no parallel query, so a run at
 * concurrency c uses c backends and no more), and the extension's library
 * loaded, so its GUCs exist before the first SET.
 */
bool
rvb_session_setup(PGconn *conn, const RvbTarget *t, const RvbOptions *o,
				  char *err, size_t errlen)
{
	if (!apply_sets(conn, o->sets, o->nsets, err, errlen))
		return false;
	return rvb_db_exec(conn, err, errlen, "SELECT '[1,2]'::vector");
}

const char *
rvb_opclass(RvbMetric m)
{
	switch (m)
	{
		case RVB_L2:
			return "vector_l2_ops";
		case RVB_COSINE:
			return "vector_cosine_ops";
		case RVB_IP:
			return "vector_ip_ops";
	}
	return "?";
}

const char *
rvb_operator(RvbMetric m)
{
	switch (m)
	{
		case RVB_L2:
			return "<->";
		case RVB_COSINE:
			return "<=>";
		case RVB_IP:
			return "<#>";
	}
	return "?";
}

/* ----------------------------------------------------------------
 *		targets
 * ----------------------------------------------------------------
 */

/* the dbname a DSN names, or "" */
static void
dsn_dbname(const char *dsn, char *buf, size_t buflen)
{
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);

	buf[0] = '\0';
	if (opts == NULL)
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val)
			snprintf(buf, buflen, "%s", o->val);
	PQconninfoFree(opts);
}

/* create the target's database through the maintenance database */
static bool
create_database(RvbTarget *t, char *err, size_t errlen)
{
	PGconn	   *admin = rvb_db_connect(t->dsn, "postgres", err, errlen);
	char	   *quoted;
	bool		ok;

	if (admin == NULL)
		return false;
	quoted = PQescapeIdentifier(admin, t->dbname, strlen(t->dbname));
	ok = rvb_db_exec(admin, err, errlen, "CREATE DATABASE %s", quoted);
	PQfreemem(quoted);
	PQfinish(admin);
	if (ok)
		rvb_log("created database %s", t->dbname);
	return ok;
}

static bool
has_index_opclass(PGconn *conn, const char *am, RvbMetric metric)
{
	char		sql[512],
				buf[16];

	snprintf(sql, sizeof(sql),
			 "SELECT 1 FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod "
			 "WHERE a.amname = '%s' AND c.opcname = '%s'", am,
			 rvb_opclass(metric));
	return rvb_db_value(conn, sql, buf, sizeof(buf));
}

static bool
has_guc(PGconn *conn, const char *name)
{
	char		sql[256],
				buf[64];

	snprintf(sql, sizeof(sql), "SELECT current_setting('%s', true)", name);
	return rvb_db_value(conn, sql, buf, sizeof(buf));
}

/* record the server settings that shape the figures */
static void
read_server_settings(RvbTarget *t)
{
	PGresult   *r = PQexec(t->conn,
						   "SELECT name, current_setting(name) FROM pg_settings "
						   "WHERE name IN ('shared_buffers', 'work_mem', "
						   "'maintenance_work_mem', 'effective_cache_size', "
						   "'max_parallel_workers_per_gather', "
						   "'max_parallel_maintenance_workers', 'max_worker_processes', "
						   "'max_connections', 'jit', 'fsync', 'synchronous_commit', "
						   "'wal_level', 'shared_preload_libraries', "
						   "'hnsw.ef_search', 'ivfflat.probes', 'ruvector.rerank_factor') "
						   "ORDER BY name");
	size_t		len = 0;

	t->gucs[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
	{
		for (int i = 0; i < PQntuples(r) && len < sizeof(t->gucs) - 1; i++)
			len += snprintf(t->gucs + len, sizeof(t->gucs) - len, "%s=%s\n",
							PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	}
	PQclear(r);
}

/*
 * Make the extension usable in the target database: it must be available
 * in the server, the other extension must not be in the same database, and
 * the vector type must work.  Returns false with the reason in t->note.
 */
static bool
ensure_extension(RvbTarget *t, const RvbOptions *o)
{
	char		sql[256],
				buf[128],
				err[400];
	const char *other = strcmp(t->extname, "vector") == 0 ? "ruvector" : "vector";

	snprintf(sql, sizeof(sql),
			 "SELECT 1 FROM pg_available_extensions WHERE name = '%s'", t->extname);
	if (!rvb_db_value(t->conn, sql, buf, sizeof(buf)))
	{
		snprintf(t->note, sizeof(t->note),
				 "extension \"%s\" is not installed in this server", t->extname);
		return false;
	}
	snprintf(sql, sizeof(sql),
			 "SELECT 1 FROM pg_extension WHERE extname = '%s'", other);
	if (rvb_db_value(t->conn, sql, buf, sizeof(buf)))
	{
		snprintf(t->note, sizeof(t->note),
				 "database %s already has extension \"%s\"; use a separate database per extension",
				 t->dbname, other);
		return false;
	}
	/*
	 * A development build keeps its version number while its install script
	 * grows, so IF NOT EXISTS would keep yesterday's objects: --fresh
	 * reinstalls (and drops the tables that use the type).
	 */
	if (o->fresh &&
		!rvb_db_exec(t->conn, err, sizeof(err), "DROP EXTENSION IF EXISTS %s CASCADE",
					 t->extname))
	{
		snprintf(t->note, sizeof(t->note), "DROP EXTENSION %s failed: %s",
				 t->extname, err);
		return false;
	}
	if (!rvb_db_exec(t->conn, err, sizeof(err),
					 "CREATE EXTENSION IF NOT EXISTS %s", t->extname))
	{
		snprintf(t->note, sizeof(t->note), "CREATE EXTENSION %s failed: %s",
				 t->extname, err);
		return false;
	}
	if (!rvb_db_exec(t->conn, err, sizeof(err), "SELECT '[1,2]'::vector"))
	{
		snprintf(t->note, sizeof(t->note),
				 "extension \"%s\" has no working vector type yet: %s",
				 t->extname, err);
		return false;
	}
	return true;
}

/*
 * rvb_target_open connects the control connection (creating the database
 * if allowed and missing), installs the extension and records versions and
 * capabilities.  A target that cannot run is left disabled with a note;
 * false is returned only with a connection error.
 */
bool
rvb_target_open(RvbTarget *t, const RvbOptions *o, char *err, size_t errlen)
{
	char		sql[256];

	t->enabled = false;
	dsn_dbname(t->dsn, t->dbname, sizeof(t->dbname));
	t->conn = rvb_db_connect(t->dsn, NULL, err, errlen);
	if (t->conn == NULL && o->create_db && t->dbname[0] &&
		strstr(err, "does not exist") != NULL)
	{
		if (!create_database(t, err, errlen))
			return false;
		t->conn = rvb_db_connect(t->dsn, NULL, err, errlen);
	}
	if (t->conn == NULL)
		return false;
	snprintf(t->dbname, sizeof(t->dbname), "%s", PQdb(t->conn));
	rvb_db_value(t->conn, "SELECT version()", t->server_version,
				 sizeof(t->server_version));
	if (!ensure_extension(t, o))
		return true;
	snprintf(sql, sizeof(sql),
			 "SELECT extversion FROM pg_extension WHERE extname = '%s'", t->extname);
	rvb_db_value(t->conn, sql, t->extversion, sizeof(t->extversion));
	t->has_am[RVB_IDX_NONE] = true;
	t->has_am[RVB_IDX_FLOOR] = true;
	t->has_am[RVB_IDX_HNSW] = has_index_opclass(t->conn, "hnsw", o->metric);
	t->has_am[RVB_IDX_IVFFLAT] = has_index_opclass(t->conn, "ivfflat", o->metric);
	t->has_rerank = has_guc(t->conn, "ruvector.rerank_factor");
	t->has_hnsw_iterative = has_guc(t->conn, "hnsw.iterative_scan");
	t->has_ivf_iterative = has_guc(t->conn, "ivfflat.iterative_scan");
	read_server_settings(t);
	t->enabled = true;
	return true;
}

void
rvb_target_close(RvbTarget *t)
{
	if (t->conn)
		PQfinish(t->conn);
	t->conn = NULL;
}

/* ----------------------------------------------------------------
 *		COPY BINARY
 * ----------------------------------------------------------------
 */
static void
put16(char **p, int16_t v)
{
	uint16_t	u = htons((uint16_t) v);

	memcpy(*p, &u, 2);
	*p += 2;
}

static void
put32(char **p, int32_t v)
{
	uint32_t	u = htonl((uint32_t) v);

	memcpy(*p, &u, 4);
	*p += 4;
}

/*
 * Stream rows first_id .. first_id + count - 1 into the table with one
 * COPY ... (FORMAT binary).  Rows below the base size are base vectors,
 * the others are rvb_extra_vector draws.  Returns false with err set.
 */
static bool
copy_rows(PGconn *conn, const char *table, const RvbDataset *ds,
		  int64_t first_id, int count, RvbProgress *bar, char *err,
		  size_t errlen)
{
	int			dim = ds->base.dim;
	size_t		rowlen = 2 + 4 + 4 + 4 + 4 + 4 + 4 + 4 * (size_t) dim;
	char	   *buf = malloc(COPY_CHUNK + rowlen + 32);
	float	   *extra = malloc(sizeof(float) * dim);
	char	   *p = buf;
	char		sql[256];
	PGresult   *r;
	bool		ok = true;

	snprintf(sql, sizeof(sql),
			 "COPY %s (id, tag, embedding) FROM STDIN (FORMAT binary)", table);
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
	{
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		PQclear(r);
		free(buf);
		free(extra);
		return false;
	}
	PQclear(r);
	memcpy(p, "PGCOPY\n\377\r\n\0", 11);
	p += 11;
	put32(&p, 0);				/* flags */
	put32(&p, 0);				/* header extension length */
	for (int i = 0; i < count && ok; i++)
	{
		int64_t		id = first_id + i;
		const float *v = extra;

		if (id < ds->base.n)
			v = RVB_ROW(&ds->base, id);
		else
			rvb_extra_vector(ds, id, extra);
		put16(&p, 3);
		put32(&p, 4);
		put32(&p, (int32_t) id);
		put32(&p, 4);
		put32(&p, rvb_tag(ds->seed, id));
		put32(&p, 4 + 4 * dim);
		p += rvb_vector_binary(v, dim, p);
		if (p - buf >= COPY_CHUNK)
		{
			ok = PQputCopyData(conn, buf, (int) (p - buf)) == 1;
			p = buf;
			if (bar)
				rvb_progress_update(bar, (double) (i + 1) / count, NULL);
		}
	}
	put16(&p, -1);
	if (ok)
		ok = PQputCopyData(conn, buf, (int) (p - buf)) == 1;
	ok = PQputCopyEnd(conn, ok ? NULL : "client failed to send data") == 1 && ok;
	while ((r = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
		{
			if (ok)
				snprintf(err, errlen, "%s", PQerrorMessage(conn));
			ok = false;
		}
		PQclear(r);
	}
	if (!ok)
		err[strcspn(err, "\n")] = '\0';
	free(buf);
	free(extra);
	return ok;
}

/* a fingerprint of the data and the layout, kept as the table's comment */
static void
dataset_fingerprint(const RvbDataset *ds, const char *am, char *buf, size_t buflen)
{
	uint64_t	h = 1469598103934665603ULL;
	const unsigned char *b = (const unsigned char *) ds->base.x;
	size_t		len = sizeof(float) * (size_t) ds->base.n * ds->base.dim;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	snprintf(buf, buflen, "ruvector-bench v1 n=%d dim=%d seed=%llu data=%016llx am=%s",
			 ds->base.n, ds->base.dim, (unsigned long long) ds->seed,
			 (unsigned long long) h, am ? am : "heap");
}

/* is the table already loaded with exactly this data (for --reuse)? */
static bool
table_matches(RvbTarget *t, const char *table, const char *fp)
{
	char		sql[512],
				buf[256];

	/* --fresh drops the extension, and with it the vector column */
	snprintf(sql, sizeof(sql),
			 "SELECT obj_description(to_regclass('%s'), 'pg_class') "
			 "WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = "
			 "to_regclass('%s') AND attname = 'embedding' AND NOT attisdropped)",
			 table, table);
	return rvb_db_value(t->conn, sql, buf, sizeof(buf)) && strcmp(buf, fp) == 0;
}

/* a timed step on the control connection: a plain SQL command */
static bool
timed_command(RvbTarget *t, RvbResults *res, int index_no, const char *step,
			  double rows, const char *sql)
{
	RvbStep    *s = rvb_add_step(res, t->id, index_no, step);
	RvbProgress bar;

	rvb_progress_begin(&bar, "%s %s", step, t->name);
	rvb_progress_update(&bar, -1, NULL);
	s->ok = rvb_db_exec(t->conn, s->error, sizeof(s->error), "%s", sql);
	s->seconds = rvb_progress_end(&bar, s->ok ? "" : s->error);
	s->rows = rows;
	s->rate = s->ok && s->seconds > 0 ? rows / s->seconds : NAN;
	return s->ok;
}

/*
 * rvb_db_load (re)creates the table and loads the base with COPY BINARY,
 * then builds the btree on tag and runs VACUUM ANALYZE, each a timed step.
 * With --reuse and a table whose fingerprint matches, nothing is reloaded.
 * Returns false when the table could not be loaded.
 */
bool
rvb_db_load(RvbTarget *t, const RvbDataset *ds, const RvbOptions *o,
			RvbResults *res)
{
	char		fp[256],
				sql[512],
				using[160] = "";
	RvbStep    *s;
	RvbProgress bar;
	const char *tab = o->table;

	dataset_fingerprint(ds, t->id == 0 ? o->ruvector_am : NULL, fp, sizeof(fp));
	if (!o->keep_index)
		rvb_db_exec(t->conn, NULL, 0, "DROP INDEX IF EXISTS %s_vidx", tab);
	if (o->reuse && table_matches(t, tab, fp))
	{
		rvb_db_exec(t->conn, NULL, 0, "DELETE FROM %s WHERE id >= %d", tab, ds->base.n);
		rvb_note(res, "%s: reused the loaded table %s (same data fingerprint)", t->name, tab);
		return true;
	}
	s = rvb_add_step(res, t->id, -1, "load");
	/* RuVector's own table AM (ruvector_heap) can be measured against heap */
	if (t->id == 0 && o->ruvector_am)
		snprintf(using, sizeof(using), " USING %s", o->ruvector_am);
	if (!rvb_db_exec(t->conn, s->error, sizeof(s->error),
					 "DROP TABLE IF EXISTS %s CASCADE", tab) ||
		!rvb_db_exec(t->conn, s->error, sizeof(s->error),
					 "CREATE TABLE %s (id int4 NOT NULL, tag int4 NOT NULL, "
					 "embedding vector(%d))%s", tab, ds->base.dim, using))
	{
		s->ok = false;
		return false;
	}
	rvb_db_exec(t->conn, NULL, 0, "CHECKPOINT");
	rvb_progress_begin(&bar, "load %s", t->name);
	s->ok = copy_rows(t->conn, tab, ds, 0, ds->base.n, &bar, s->error,
					  sizeof(s->error));
	s->seconds = rvb_progress_end(&bar, s->ok ? "" : s->error);
	s->rows = ds->base.n;
	s->rate = s->ok ? ds->base.n / s->seconds : NAN;
	if (!s->ok)
		return false;
	snprintf(sql, sizeof(sql), "CREATE INDEX %s_tag ON %s (tag)", tab, tab);
	timed_command(t, res, -1, "tag_index", ds->base.n, sql);
	snprintf(sql, sizeof(sql), "VACUUM (ANALYZE) %s", tab);
	timed_command(t, res, -1, "vacuum_analyze", ds->base.n, sql);
	rvb_db_exec(t->conn, NULL, 0, "COMMENT ON TABLE %s IS '%s'", tab, fp);
	return true;
}

/* ----------------------------------------------------------------
 *		index build with progress
 * ----------------------------------------------------------------
 */
static void
index_sql(const RvbIndexSpec *spec, const char *table, RvbMetric metric,
		  bool ruvector, char *buf, size_t buflen)
{
	char		storage[48] = "";

	/* pgvector has no storage option: it builds its float32 baseline */
	if (ruvector && spec->storage[0])
		snprintf(storage, sizeof(storage), ", storage = %s", spec->storage);
	if (spec->kind == RVB_IDX_HNSW)
		snprintf(buf, buflen,
				 "CREATE INDEX %s_vidx ON %s USING hnsw (embedding %s) "
				 "WITH (m = %d, ef_construction = %d%s)",
				 table, table, rvb_opclass(metric), spec->m, spec->efc, storage);
	else
		snprintf(buf, buflen,
				 "CREATE INDEX %s_vidx ON %s USING ivfflat (embedding %s) "
				 "WITH (lists = %d%s)",
				 table, table, rvb_opclass(metric), spec->lists, storage);
}

/* one poll of pg_stat_progress_create_index; updates the bar and phases */
static void
poll_progress(PGconn *mon, int pid, RvbProgress *bar, char *phase,
			  size_t phaselen, double *phase_start, RvbStep *s)
{
	char		sql[256];
	PGresult   *r;
	double		frac = -1;
	char		detail[128] = "";

	snprintf(sql, sizeof(sql),
			 "SELECT phase, blocks_total, blocks_done, tuples_total, tuples_done "
			 "FROM pg_stat_progress_create_index WHERE pid = %d", pid);
	r = PQexec(mon, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
	{
		const char *ph = PQgetvalue(r, 0, 0);
		double		bt = atof(PQgetvalue(r, 0, 1)),
					bd = atof(PQgetvalue(r, 0, 2)),
					tt = atof(PQgetvalue(r, 0, 3)),
					td = atof(PQgetvalue(r, 0, 4));

		if (tt > 0)
			frac = td / tt;
		else if (bt > 0)
			frac = bd / bt;
		if (strcmp(ph, phase) != 0)
		{
			double		now = rvb_now();
			size_t		len = strlen(s->phases);

			if (phase[0])
				snprintf(s->phases + len, sizeof(s->phases) - len, "%s%s %.1fs",
						 len ? "; " : "", phase, now - *phase_start);
			snprintf(phase, phaselen, "%s", ph);
			*phase_start = now;
		}
		snprintf(detail, sizeof(detail), "%s", ph);
	}
	PQclear(r);
	rvb_progress_update(bar, frac, detail);
}

/*
 * rvb_db_index_kept: with --keep-index, is there already a valid <table>_vidx
 * of the method, operator class and options this spec would build?  Then it
 * is used as it is (a note says so) and true is returned.  An index of the
 * same name built otherwise is dropped, so the caller builds the right one.
 */
bool
rvb_db_index_kept(RvbTarget *t, const RvbIndexSpec *spec, int index_no,
				  const RvbOptions *o, RvbResults *res)
{
	char		sql[768],
				want[160],
				storage[48] = "";
	PGresult   *r;
	bool		kept = false;

	if (spec->kind == RVB_IDX_NONE)
		return false;
	revive_control(t, res);
	/* the reloptions in the order index_sql writes them */
	if (strcmp(t->extname, "ruvector") == 0 && spec->storage[0])
		snprintf(storage, sizeof(storage), ",storage=%s", spec->storage);
	if (spec->kind == RVB_IDX_HNSW)
		snprintf(want, sizeof(want), "hnsw %s {m=%d,ef_construction=%d%s}",
				 rvb_opclass(o->metric), spec->m, spec->efc, storage);
	else
		snprintf(want, sizeof(want), "ivfflat %s {lists=%d%s}",
				 rvb_opclass(o->metric), spec->lists, storage);
	snprintf(sql, sizeof(sql),
			 "SELECT a.amname || ' ' || oc.opcname || ' ' || "
			 "coalesce(c.reloptions::text, '{}'), i.indisvalid "
			 "FROM pg_catalog.pg_index i "
			 "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
			 "JOIN pg_catalog.pg_am a ON a.oid = c.relam "
			 "JOIN pg_catalog.pg_opclass oc ON oc.oid = i.indclass[0] "
			 "WHERE c.oid = to_regclass('%s_vidx') AND i.indrelid = to_regclass('%s')",
			 o->table, o->table);
	r = PQexec(t->conn, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
	{
		kept = strcmp(PQgetvalue(r, 0, 0), want) == 0 &&
			strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		if (kept)
			rvb_note(res, "%s: kept the index %s_vidx already built (%s); no build step",
					 t->name, o->table, want);
		else
		{
			rvb_note(res, "%s: the index %s_vidx already there is \"%s\"%s, not \"%s\": rebuilt",
					 t->name, o->table, PQgetvalue(r, 0, 0),
					 strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? "" : " (invalid)", want);
			rvb_db_exec(t->conn, NULL, 0, "DROP INDEX IF EXISTS %s_vidx", o->table);
		}
	}
	PQclear(r);
	return kept;
}

/*
 * rvb_db_build_index runs CREATE INDEX for spec as a timed step, polling
 * its progress from a second connection, then records the sizes.
 */
void
rvb_db_build_index(RvbTarget *t, const RvbIndexSpec *spec, int index_no,
				   const RvbDataset *ds, const RvbOptions *o,
				   RvbResults *res)
{
	RvbStep    *s = rvb_add_step(res, t->id, index_no, "build");
	PGconn	   *mon;
	char		sql[512],
				phase[96] = "";
	RvbProgress bar;
	double		phase_start;
	PGresult   *r;
	int			sock;

	revive_control(t, res);
	sock = PQsocket(t->conn);
	if (!apply_sets(t->conn, o->build_sets, o->nbuild_sets, s->error,
					sizeof(s->error)))
		return;
	mon = rvb_db_connect(t->dsn, NULL, s->error, sizeof(s->error));
	if (mon == NULL)
		return;
	index_sql(spec, o->table, o->metric, strcmp(t->extname, "ruvector") == 0,
			  sql, sizeof(sql));
	rvb_db_exec(t->conn, NULL, 0, "CHECKPOINT");
	rvb_progress_begin(&bar, "build %s %s", spec->label, t->name);
	phase_start = bar.start;
	s->ok = PQsendQuery(t->conn, sql) == 1;
	while (s->ok && PQisBusy(t->conn))
	{
		fd_set		fds;
		struct timeval tv = {0, 250000};

		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		if (select(sock + 1, &fds, NULL, NULL, &tv) > 0 &&
			!PQconsumeInput(t->conn))
			break;
		if (PQisBusy(t->conn))
			poll_progress(mon, PQbackendPID(t->conn), &bar, phase,
						  sizeof(phase), &phase_start, s);
	}
	if (!s->ok)
		snprintf(s->error, sizeof(s->error), "%s", PQerrorMessage(t->conn));
	while ((r = PQgetResult(t->conn)) != NULL)
	{
		if (PQresultStatus(r) != PGRES_COMMAND_OK && s->ok)
		{
			s->ok = false;
			snprintf(s->error, sizeof(s->error), "%s", PQerrorMessage(t->conn));
		}
		PQclear(r);
	}
	s->error[strcspn(s->error, "\n")] = '\0';
	if (phase[0])
	{
		size_t		len = strlen(s->phases);

		snprintf(s->phases + len, sizeof(s->phases) - len, "%s%s %.1fs",
				 len ? "; " : "", phase, rvb_now() - phase_start);
	}
	s->seconds = rvb_progress_end(&bar, s->ok ? s->phases : s->error);
	s->rows = ds->base.n;
	s->rate = s->ok ? ds->base.n / s->seconds : NAN;
	PQfinish(mon);
	rvb_db_sizes(t, index_no, o, res);
}

/*
 * rvb_db_sizes records the heap (main fork), TOAST (heap and its index),
 * vector index and total size, as the server reports them.
 */
void
rvb_db_sizes(RvbTarget *t, int index_no, const RvbOptions *o, RvbResults *res)
{
	RvbSizes   *z = rvb_add_sizes(res);
	char		sql[1024];
	PGresult   *r;

	revive_control(t, res);
	z->target = t->id;
	z->index = index_no;
	snprintf(sql, sizeof(sql),
			 "SELECT pg_relation_size(c.oid), "
			 "coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0) + "
			 "coalesce((SELECT sum(pg_relation_size(i.indexrelid)) FROM pg_index i "
			 "WHERE i.indrelid = c.reltoastrelid), 0), "
			 "coalesce(pg_relation_size(to_regclass('%s_vidx')), 0), "
			 "pg_total_relation_size(c.oid) "
			 "FROM pg_class c WHERE c.oid = '%s'::regclass", o->table, o->table);
	r = PQexec(t->conn, sql);
	z->ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (z->ok)
	{
		z->table = atoll(PQgetvalue(r, 0, 0));
		z->toast = atoll(PQgetvalue(r, 0, 1));
		z->index_bytes = atoll(PQgetvalue(r, 0, 2));
		z->total = atoll(PQgetvalue(r, 0, 3));
	}
	PQclear(r);
}

/*
 * rvb_db_bulk_copy measures bulk load into the indexed table: count new
 * rows in one COPY BINARY (one transaction).
 */
void
rvb_db_bulk_copy(RvbTarget *t, int index_no, const RvbDataset *ds,
				 const RvbOptions *o, int64_t first_id, int count,
				 RvbResults *res)
{
	RvbStep    *s = rvb_add_step(res, t->id, index_no, "bulk_copy");
	RvbProgress bar;

	revive_control(t, res);
	rvb_progress_begin(&bar, "bulk copy %s", t->name);
	s->ok = copy_rows(t->conn, o->table, ds, first_id, count, &bar, s->error,
					  sizeof(s->error));
	s->seconds = rvb_progress_end(&bar, s->ok ? "" : s->error);
	s->rows = count;
	s->rate = s->ok ? count / s->seconds : NAN;
}

/*
 * rvb_db_cleanup undoes an index configuration: drop the index first, so
 * deleting the inserted rows does not pay for index maintenance, then
 * remove those rows and vacuum, leaving the table as loaded.  With
 * --keep-index the index stays and the rows are only deleted.
 */
void
rvb_db_cleanup(RvbTarget *t, int index_no, const RvbDataset *ds,
			   const RvbOptions *o, RvbResults *res)
{
	char		err[300];

	revive_control(t, res);
	if (o->keep_index)
	{
		/* the index stays; vacuuming it would change the graph under test */
		if (!rvb_db_exec(t->conn, err, sizeof(err), "DELETE FROM %s WHERE id >= %d",
						 o->table, ds->base.n))
			rvb_note(res, "%s: cleanup after %s failed: %s", t->name,
					 o->indexes[index_no].label, err);
		return;
	}
	if (!rvb_db_exec(t->conn, err, sizeof(err), "DROP INDEX IF EXISTS %s_vidx", o->table) ||
		!rvb_db_exec(t->conn, err, sizeof(err), "DELETE FROM %s WHERE id >= %d",
					 o->table, ds->base.n) ||
		!rvb_db_exec(t->conn, err, sizeof(err), "VACUUM %s", o->table))
		rvb_note(res, "%s: cleanup after %s failed: %s", t->name,
				 o->indexes[index_no].label, err);
}
