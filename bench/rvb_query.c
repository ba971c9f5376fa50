/*-------------------------------------------------------------------------
 *
 * rvb_query.c
 *	  Concurrent query runs and insert throughput: one thread per
 *	  connection, all started together behind a barrier.
 *
 * NOTES
 *	  A run executes the query set at least once (each query's first
 *	  execution supplies its result for recall) and keeps cycling through it
 *	  until --min-seconds have passed, so fast settings are not measured on a
 *	  fraction of a second.  Threads take the next execution number from a
 *	  shared atomic counter; QPS is executions over the wall time from the
 *	  barrier to the last thread's end.
 *
 *	  Unfiltered queries use a named prepared statement (the server switches
 *	  to its generic plan, as a pooled application would).  Filtered queries
 *	  go through the unnamed statement, so each is planned with its actual
 *	  tag bounds: with a generic plan the planner cannot tell a 1% filter
 *	  from a 10% one.
 *
 *	  Each run sets its GUCs in every worker session before the barrier and
 *	  resets them after, so a setting never leaks into the next run.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb_pg.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RVB_MAX_EXEC	2000000		/* latency samples kept per run */

/* ----------------------------------------------------------------
 *		connection pool
 * ----------------------------------------------------------------
 */

/* rvb_pool_open opens n worker sessions for the target (at least n kept) */
bool
rvb_pool_open(RvbTarget *t, int n, const RvbOptions *o, char *err,
			  size_t errlen)
{
	if (t->npool >= n)
		return true;
	t->pool = realloc(t->pool, sizeof(RvbConn) * n);
	for (int i = t->npool; i < n; i++)
	{
		RvbConn    *c = &t->pool[i];

		memset(c, 0, sizeof(*c));
		c->conn = rvb_db_connect(t->dsn, NULL, err, errlen);
		if (c->conn == NULL)
			return false;
		t->npool = i + 1;
		if (!rvb_session_setup(c->conn, t, o, err, errlen))
			return false;
	}
	return true;
}

/*
 * Make sure the first n pool sessions are alive, reconnecting (and setting
 * them up again) any the server dropped since the last run.
 */
static void
pool_revive(RvbTarget *t, int n, const RvbOptions *o)
{
	for (int i = 0; i < n && i < t->npool; i++)
	{
		RvbConn    *c = &t->pool[i];
		char		err[256];

		if (PQstatus(c->conn) == CONNECTION_OK)
			continue;
		c->nprepared = 0;
		if (rvb_db_revive(c->conn) && !rvb_session_setup(c->conn, t, o, err, sizeof(err)))
			rvb_log("%s: session setup after reconnecting failed: %s", t->name, err);
	}
}

/*
 * CPU time, in seconds, the server processes behind the first n pool
 * sessions have used: /proc/<pid>/schedstat (nanoseconds) of each backend,
 * when the server runs on this machine.  NaN when one cannot be read or is
 * not a postgres process (a remote server whose pid means nothing here).
 * Unlike QPS, CPU per query hardly moves when other work shares the machine,
 * so it is what an A/B on a busy machine can compare.
 */
static double
pool_cpu_seconds(RvbTarget *t, int n)
{
	double		sum = 0;

	for (int i = 0; i < n && i < t->npool; i++)
	{
		char		path[64],
					comm[32] = "";
		unsigned long long ns;
		FILE	   *f;
		int			pid = PQbackendPID(t->pool[i].conn);

		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if ((f = fopen(path, "r")) == NULL)
			return NAN;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "postgres", 8) != 0)
			return NAN;
		snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
		if ((f = fopen(path, "r")) == NULL)
			return NAN;
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
		if (ns == 0)
			return NAN;
		sum += ns / 1e9;
	}
	return sum;
}

/* did the server drop one of the first n pool sessions? */
bool
rvb_pool_broken(RvbTarget *t, int n)
{
	for (int i = 0; i < n && i < t->npool; i++)
		if (PQstatus(t->pool[i].conn) != CONNECTION_OK)
			return true;
	return false;
}

void
rvb_pool_close(RvbTarget *t)
{
	for (int i = 0; i < t->npool; i++)
		PQfinish(t->pool[i].conn);
	free(t->pool);
	t->pool = NULL;
	t->npool = 0;
}

/* prepare a statement on this connection unless it already is */
static bool
ensure_prepared(RvbConn *c, const char *name, const char *sql, int nparams,
				char *err, size_t errlen)
{
	PGresult   *r;
	bool		ok;

	for (int i = 0; i < c->nprepared; i++)
		if (strcmp(c->prepared[i], name) == 0)
			return true;
	r = PQprepare(c->conn, name, sql, nparams, NULL);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
	{
		snprintf(err, errlen, "%s", PQerrorMessage(c->conn));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(r);
	if (ok && c->nprepared < RVB_MAX_PREPARED)
		snprintf(c->prepared[c->nprepared++], sizeof(c->prepared[0]), "%s", name);
	return ok;
}

static bool
apply_setting(PGconn *conn, const RvbSetting *s, bool reset, char *err,
			  size_t errlen)
{
	for (int i = 0; i < s->nguc; i++)
	{
		bool		ok = reset ?
			rvb_db_exec(conn, err, errlen, "RESET %s", s->name[i]) :
			rvb_db_exec(conn, err, errlen, "SET %s = '%s'", s->name[i], s->value[i]);

		if (!ok)
			return false;
	}
	return true;
}

/* ----------------------------------------------------------------
 *		query runs
 * ----------------------------------------------------------------
 */
typedef struct QueryJob
{
	RvbTarget  *t;
	const RvbDataset *ds;
	RvbRun	   *run;
	char		sql[512];
	char		stmt[32];
	const char *table;
	const char *op;				/* the metric's operator */
	RvbParams	params;
	bool		filtered;
	bool		floor;			/* --index floor: no ORDER BY */
	int			nq;
	int64_t		max_exec;
	double		min_seconds;
	char	  **qval;			/* query vectors, encoded as params says */
	int			qlen;			/* binary length; 0 for text */
	int			qfmt;			/* 1 binary, 0 text */
	double	   *lat;			/* seconds per execution, -1 if not run */
	int32_t    *got;			/* nq x k result ids */
	int		   *ngot;
	double		start;
	_Atomic int64_t next;
	_Atomic int64_t done;
	_Atomic int active;			/* workers still in their query loop */
	_Atomic bool failed;
	pthread_mutex_t lock;
	pthread_barrier_t barrier;
} QueryJob;

typedef struct Worker
{
	QueryJob   *job;
	RvbConn    *conn;
	int			me;
	double		begin;			/* when this worker passed the barrier */
	double		end;			/* when this worker ran its last query */
} Worker;

static void
job_fail(QueryJob *job, const char *msg)
{
	pthread_mutex_lock(&job->lock);
	if (!job->failed)
		snprintf(job->run->error, sizeof(job->run->error), "%s", msg);
	job->failed = true;
	pthread_mutex_unlock(&job->lock);
}

/*
 * A query as psycopg2 sends it: the vector and the filter bounds written into
 * the SQL text, one simple-protocol statement, planned every time.
 */
static PGresult *
exec_literal(QueryJob *job, RvbConn *c, int q, bool explain, int lo, int hi)
{
	size_t		size = strlen(job->qval[q]) + 600;
	char	   *sql = malloc(size);
	char		where[64] = "";
	PGresult   *r;

	if (job->filtered)
		snprintf(where, sizeof(where), " WHERE tag >= %d AND tag < %d", lo, hi);
	if (job->floor)
		snprintf(sql, size, "%sSELECT id FROM %s WHERE '%s'::vector IS NOT NULL LIMIT %d",
				 explain ? "EXPLAIN (COSTS OFF) " : "", job->table, job->qval[q],
				 job->run->k);
	else
		snprintf(sql, size, "%sSELECT id FROM %s%s ORDER BY embedding %s '%s'::vector LIMIT %d",
				 explain ? "EXPLAIN (COSTS OFF) " : "", job->table, where, job->op,
				 job->qval[q], job->run->k);
	r = PQexec(c->conn, sql);
	free(sql);
	return r;
}

static PGresult *
exec_query(QueryJob *job, RvbConn *c, int q, bool explain)
{
	char		lo_s[16],
				hi_s[16];
	const char *values[3] = {job->qval[q], lo_s, hi_s};
	int			lengths[3] = {job->qlen, 0, 0};
	int			formats[3] = {job->qfmt, 0, 0};
	int			nparams = job->filtered ? 3 : 1;
	int			lo = 0,
				hi = 0;

	if (job->filtered)
	{
		rvb_filter_range(job->run->filter_pct, q, &lo, &hi);
		snprintf(lo_s, sizeof(lo_s), "%d", lo);
		snprintf(hi_s, sizeof(hi_s), "%d", hi);
	}
	if (job->params == RVB_PARAMS_LITERAL)
		return exec_literal(job, c, q, explain, lo, hi);
	if (explain)
	{
		char		sql[600];

		snprintf(sql, sizeof(sql), "EXPLAIN (COSTS OFF) %s", job->sql);
		return PQexecParams(c->conn, sql, nparams, NULL, values, lengths, formats, 0);
	}
	if (!job->filtered)
		return PQexecPrepared(c->conn, job->stmt, 1, values, lengths, formats, 0);
	return PQexecParams(c->conn, job->sql, 3, NULL, values, lengths, formats, 0);
}

static void
store_result(QueryJob *job, int q, PGresult *r)
{
	int			k = job->run->k;
	int			n = PQntuples(r);

	job->ngot[q] = n < k ? n : k;
	for (int i = 0; i < job->ngot[q]; i++)
		job->got[(size_t) q * k + i] = atoi(PQgetvalue(r, i, 0));
}

/*
 * Record the shape of the plan the first query gets, with the run's
 * settings in force: "Limit > Index Scan using rvb_items_vidx on rvb_items".
 * It shows at a glance whether a run measured the index or something else
 * (a sequential scan, a btree on the filter column and a sort).
 */
static void
record_plan(QueryJob *job, RvbConn *c)
{
	PGresult   *r = exec_query(job, c, 0, true);
	char	   *plan = job->run->plan;
	size_t		len = 0;

	plan[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
	{
		for (int i = 0; i < PQntuples(r) && len < sizeof(job->run->plan) - 1; i++)
		{
			const char *line = PQgetvalue(r, i, 0);
			const char *arrow = strstr(line, "->  ");

			if (i > 0 && arrow == NULL)
				continue;		/* a detail line (Order By, Filter, ...) */
			if (arrow)
				line = arrow + 4;
			len += snprintf(plan + len, sizeof(job->run->plan) - len, "%s%s",
							i ? " > " : "", line);
		}
	}
	PQclear(r);
}

static void *
query_worker(void *arg)
{
	Worker	   *w = arg;
	QueryJob   *job = w->job;
	char		err[256];
	bool		ready;

	ready = (job->filtered || job->params == RVB_PARAMS_LITERAL ||
			 ensure_prepared(w->conn, job->stmt, job->sql, 1, err, sizeof(err))) &&
		apply_setting(w->conn->conn, &job->run->setting, false, err, sizeof(err));
	if (!ready)
		job_fail(job, err);
	else if (w->me == 0)
		record_plan(job, w->conn);
	pthread_barrier_wait(&job->barrier);
	w->begin = rvb_now();
	while (ready && !job->failed)
	{
		int64_t		i = atomic_fetch_add(&job->next, 1);
		double		t0;
		PGresult   *r;

		if (i >= job->max_exec ||
			(i >= job->nq && rvb_now() - job->start >= job->min_seconds))
			break;
		t0 = rvb_now();
		r = exec_query(job, w->conn, (int) (i % job->nq), false);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			snprintf(err, sizeof(err), "%s", PQerrorMessage(w->conn->conn));
			err[strcspn(err, "\n")] = '\0';
			job_fail(job, err);
			PQclear(r);
			break;
		}
		job->lat[i] = rvb_now() - t0;
		if (i < job->nq)
			store_result(job, (int) i, r);
		PQclear(r);
		atomic_fetch_add(&job->done, 1);
	}
	w->end = rvb_now();
	atomic_fetch_sub(&job->active, 1);
	if (ready)
		apply_setting(w->conn->conn, &job->run->setting, true, err, sizeof(err));
	return NULL;
}

/* recall and latency figures of a finished run */
static void
summarise_run(QueryJob *job, double elapsed)
{
	RvbRun	   *run = job->run;
	const RvbDataset *ds = job->ds;
	const RvbNeighbours *truth = &ds->gt;
	double	   *r1 = malloc(sizeof(double) * job->nq);
	double	   *r10 = malloc(sizeof(double) * job->nq);
	double	   *r100 = malloc(sizeof(double) * job->nq);
	double	   *rk = malloc(sizeof(double) * job->nq);
	double	   *lat = malloc(sizeof(double) * (job->max_exec + 1));
	size_t		nlat = 0;
	double		returned = 0;

	for (int f = 0; f < ds->nfilters; f++)
		if (ds->filter_pct[f] == run->filter_pct)
			truth = &ds->fgt[f];
	for (int q = 0; q < job->nq; q++)
	{
		const int32_t *got = job->got + (size_t) q * run->k;
		const float *qv = RVB_ROW(&ds->query, q);
		const int32_t *tr = RVB_NB(truth, q);

		r1[q] = rvb_recall_at(ds->metric, &ds->base, qv, got, job->ngot[q], tr, truth->k, 1);
		r10[q] = rvb_recall_at(ds->metric, &ds->base, qv, got, job->ngot[q], tr, truth->k, 10);
		r100[q] = rvb_recall_at(ds->metric, &ds->base, qv, got, job->ngot[q], tr, truth->k, 100);
		rk[q] = run->k >= 100 ? r100[q] : run->k >= 10 ? r10[q] : r1[q];
		returned += job->ngot[q];
	}
	for (int64_t i = 0; i < job->max_exec; i++)
		if (job->lat[i] >= 0)
			lat[nlat++] = job->lat[i] * 1000.0;
	run->nexec = job->done;
	run->seconds = elapsed;
	run->qps = job->done / elapsed;
	run->lat_mean = rvb_mean(lat, nlat);
	run->lat_p50 = rvb_percentile(lat, nlat, 0.50);
	run->lat_p95 = rvb_percentile(lat, nlat, 0.95);
	run->lat_p99 = rvb_percentile(lat, nlat, 0.99);
	run->lat_max = nlat ? lat[nlat - 1] : NAN;
	run->recall1 = rvb_mean(r1, job->nq);
	run->recall10 = run->k >= 10 ? rvb_mean(r10, job->nq) : NAN;
	run->recall100 = run->k >= 100 ? rvb_mean(r100, job->nq) : NAN;
	run->recall_p5 = rvb_percentile(rk, job->nq, 0.05);
	run->returned_avg = returned / job->nq;
	free(r1);
	free(r10);
	free(r100);
	free(rk);
	free(lat);
}

static void
build_query_sql(QueryJob *job, const char *table, RvbMetric metric, bool floor)
{
	RvbRun	   *run = job->run;

	job->filtered = run->filter_pct > 0;
	job->floor = floor;
	job->table = table;
	job->op = rvb_operator(metric);
	/*
	 * The floor sends and parses the vector as every query does and returns
	 * k rows, but reads them in table order: no distance, no index.
	 */
	if (floor)
		snprintf(job->sql, sizeof(job->sql),
				 "SELECT id FROM %s WHERE $1::vector IS NOT NULL LIMIT %d", table, run->k);
	else if (job->filtered)
		snprintf(job->sql, sizeof(job->sql),
				 "SELECT id FROM %s WHERE tag >= $2 AND tag < $3 "
				 "ORDER BY embedding %s $1::vector LIMIT %d",
				 table, rvb_operator(metric), run->k);
	else
		snprintf(job->sql, sizeof(job->sql),
				 "SELECT id FROM %s ORDER BY embedding %s $1::vector LIMIT %d",
				 table, rvb_operator(metric), run->k);
	snprintf(job->stmt, sizeof(job->stmt), "rvb_%s%d", floor ? "floor" : "q", run->k);
}

/* encode each query vector once, the way the run sends it */
static void
encode_queries(QueryJob *job, const RvbDataset *ds, RvbParams params)
{
	int			dim = ds->query.dim;
	bool		binary = params == RVB_PARAMS_BINARY;

	job->params = params;
	job->qfmt = binary ? 1 : 0;
	job->qlen = binary ? 4 + 4 * dim : 0;
	job->qval = malloc(sizeof(char *) * job->nq);
	for (int q = 0; q < job->nq; q++)
	{
		job->qval[q] = malloc(binary ? (size_t) job->qlen : rvb_vector_text_size(dim));
		if (binary)
			rvb_vector_binary(RVB_ROW(&ds->query, q), dim, job->qval[q]);
		else
			rvb_vector_text(RVB_ROW(&ds->query, q), dim, job->qval[q]);
	}
}

/*
 * Draw the run's progress until every worker has left its loop: the share
 * of the query set done, or of --min-seconds, whichever is behind.
 */
static void
watch_run(QueryJob *job, RvbTarget *t, const RvbOptions *o)
{
	RvbProgress bar;
	RvbRun	   *run = job->run;

	rvb_progress_begin(&bar, "%s k=%d c=%d %s", t->name, run->k, run->concurrency,
					   run->setting.label);
	while (atomic_load(&job->active) > 0)
	{
		struct timespec ts = {0, 20000000};
		double		frac = (double) atomic_load(&job->done) / job->nq;

		if (job->min_seconds > 0)
			frac = fmin(frac, (rvb_now() - bar.start) / job->min_seconds);
		rvb_progress_update(&bar, frac, NULL);
		nanosleep(&ts, NULL);
	}
	rvb_progress_end(&bar, NULL);
}

/*
 * rvb_run_queries measures one point: run->index, k, concurrency, filter_pct,
 * setting and nqueries are given; the figures are filled in.  The worker
 * sessions come from the target's pool, which must hold concurrency
 * connections.
 */
void
rvb_run_queries(RvbTarget *t, const RvbDataset *ds, const RvbOptions *o,
				RvbRun *run)
{
	QueryJob	job;
	Worker	   *w;
	pthread_t  *th;
	int			c = run->concurrency;
	double		t0,
				end = 0,
				elapsed,
				cpu0;

	pool_revive(t, c, o);
	memset(&job, 0, sizeof(job));
	job.t = t;
	job.ds = ds;
	job.run = run;
	job.nq = run->nqueries;
	job.min_seconds = o->min_seconds;
	job.active = c;
	job.max_exec = (int64_t) job.nq * 1000;
	if (job.max_exec > RVB_MAX_EXEC)
		job.max_exec = RVB_MAX_EXEC > job.nq ? RVB_MAX_EXEC : job.nq;
	build_query_sql(&job, o->table, o->metric,
					o->indexes[run->index].kind == RVB_IDX_FLOOR);
	encode_queries(&job, ds, o->params);
	job.lat = malloc(sizeof(double) * job.max_exec);
	for (int64_t i = 0; i < job.max_exec; i++)
		job.lat[i] = -1;
	job.got = calloc((size_t) job.nq * run->k, sizeof(int32_t));
	job.ngot = calloc(job.nq, sizeof(int));
	pthread_mutex_init(&job.lock, NULL);
	pthread_barrier_init(&job.barrier, NULL, c + 1);
	w = calloc(c, sizeof(Worker));
	th = calloc(c, sizeof(pthread_t));
	for (int i = 0; i < c; i++)
	{
		w[i].job = &job;
		w[i].conn = &t->pool[i];
		w[i].me = i;
		pthread_create(&th[i], NULL, query_worker, &w[i]);
	}
	job.start = rvb_now();
	pthread_barrier_wait(&job.barrier);
	t0 = rvb_now();
	cpu0 = pool_cpu_seconds(t, c);
	watch_run(&job, t, o);
	for (int i = 0; i < c; i++)
	{
		pthread_join(th[i], NULL);
		end = w[i].end > end ? w[i].end : end;
		t0 = w[i].begin < t0 ? w[i].begin : t0;
	}
	/*
	 * The workers' own times, not the watcher's polling, bound the run: a
	 * worker may pass the barrier and finish a short run before this thread
	 * wakes up from it (elapsed came out negative on a busy machine).
	 */
	elapsed = end - t0;
	run->ok = !job.failed;
	if (run->ok)
	{
		summarise_run(&job, elapsed);
		run->cpu_ms = (pool_cpu_seconds(t, c) - cpu0) * 1000.0 / job.done;
	}
	pthread_barrier_destroy(&job.barrier);
	pthread_mutex_destroy(&job.lock);
	for (int q = 0; q < job.nq; q++)
		free(job.qval[q]);
	free(job.qval);
	free(job.lat);
	free(job.got);
	free(job.ngot);
	free(w);
	free(th);
}

/* ----------------------------------------------------------------
 *		single-row inserts
 * ----------------------------------------------------------------
 */
typedef struct InsertJob
{
	const RvbDataset *ds;
	const char *table;
	int64_t		first_id;
	int			count;
	double	   *lat;
	_Atomic int next;
	_Atomic bool failed;
	char		error[256];
	pthread_mutex_t lock;
	pthread_barrier_t barrier;
} InsertJob;

typedef struct InsertWorker
{
	InsertJob  *job;
	RvbConn    *conn;
	double		begin;			/* when this worker passed the barrier */
	double		end;			/* when this worker finished */
} InsertWorker;

static void *
insert_worker(void *arg)
{
	InsertWorker *w = arg;
	InsertJob  *job = w->job;
	int			dim = job->ds->base.dim;
	char		sql[256],
				err[256],
				id_s[16],
				tag_s[16];
	char	   *vbin = malloc(4 + 4 * dim);
	float	   *v = malloc(sizeof(float) * dim);
	bool		ready;

	snprintf(sql, sizeof(sql),
			 "INSERT INTO %s (id, tag, embedding) VALUES ($1, $2, $3::vector)",
			 job->table);
	ready = ensure_prepared(w->conn, "rvb_ins", sql, 3, err, sizeof(err));
	pthread_barrier_wait(&job->barrier);
	w->begin = rvb_now();
	while (ready && !job->failed)
	{
		int			i = atomic_fetch_add(&job->next, 1);
		int64_t		id = job->first_id + i;
		const char *values[3] = {id_s, tag_s, vbin};
		int			lengths[3] = {0, 0, 4 + 4 * dim};
		int			formats[3] = {0, 0, 1};
		double		t0;
		PGresult   *r;

		if (i >= job->count)
			break;
		rvb_extra_vector(job->ds, id, v);
		rvb_vector_binary(v, dim, vbin);
		snprintf(id_s, sizeof(id_s), "%lld", (long long) id);
		snprintf(tag_s, sizeof(tag_s), "%d", rvb_tag(job->ds->seed, id));
		t0 = rvb_now();
		r = PQexecPrepared(w->conn->conn, "rvb_ins", 3, values, lengths, formats, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
		{
			snprintf(err, sizeof(err), "%s", PQerrorMessage(w->conn->conn));
			ready = false;
		}
		else
			job->lat[i] = (rvb_now() - t0) * 1000.0;
		PQclear(r);
	}
	if (!ready)
	{
		err[strcspn(err, "\n")] = '\0';
		pthread_mutex_lock(&job->lock);
		if (!job->failed)
			snprintf(job->error, sizeof(job->error), "%s", err);
		job->failed = true;
		pthread_mutex_unlock(&job->lock);
	}
	w->end = rvb_now();
	free(vbin);
	free(v);
	return NULL;
}

/*
 * rvb_run_inserts measures single-row INSERTs, each its own transaction,
 * from `concurrency` sessions: rows first_id .. first_id + count - 1.
 */
void
rvb_run_inserts(RvbTarget *t, int index_no, const RvbDataset *ds,
				const RvbOptions *o, int64_t first_id, int count,
				int concurrency, RvbResults *res)
{
	RvbStep    *s = rvb_add_step(res, t->id, index_no, "insert");
	InsertJob	job;
	InsertWorker *w = calloc(concurrency, sizeof(InsertWorker));
	pthread_t  *th = calloc(concurrency, sizeof(pthread_t));
	RvbProgress bar;
	double	   *lat;
	double		start,
				end = 0;
	size_t		n = 0;

	pool_revive(t, concurrency, o);
	memset(&job, 0, sizeof(job));
	job.ds = ds;
	job.table = o->table;
	job.first_id = first_id;
	job.count = count;
	job.lat = malloc(sizeof(double) * count);
	for (int i = 0; i < count; i++)
		job.lat[i] = -1;
	pthread_mutex_init(&job.lock, NULL);
	pthread_barrier_init(&job.barrier, NULL, concurrency + 1);
	for (int i = 0; i < concurrency; i++)
	{
		w[i].job = &job;
		w[i].conn = &t->pool[i];
		pthread_create(&th[i], NULL, insert_worker, &w[i]);
	}
	rvb_progress_begin(&bar, "insert x%d %s", concurrency, t->name);
	pthread_barrier_wait(&job.barrier);
	start = rvb_now();
	while (atomic_load(&job.next) < count && !job.failed)
	{
		struct timespec ts = {0, 20000000};

		rvb_progress_update(&bar, (double) atomic_load(&job.next) / count, NULL);
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < concurrency; i++)
	{
		pthread_join(th[i], NULL);
		end = w[i].end > end ? w[i].end : end;
		start = w[i].begin < start ? w[i].begin : start;
	}
	s->ok = !job.failed;
	s->concurrency = concurrency;
	snprintf(s->error, sizeof(s->error), "%s", job.error);
	rvb_progress_end(&bar, s->ok ? "" : s->error);
	/* the workers' own times, not the polling loop's, bound the step */
	s->seconds = end - start;
	lat = malloc(sizeof(double) * (count + 1));
	for (int i = 0; i < count; i++)
		if (job.lat[i] >= 0)
			lat[n++] = job.lat[i];
	s->rows = (double) n;
	s->rate = s->ok ? n / s->seconds : NAN;
	s->lat_p50 = rvb_percentile(lat, n, 0.50);
	s->lat_p95 = rvb_percentile(lat, n, 0.95);
	s->lat_p99 = rvb_percentile(lat, n, 0.99);
	pthread_barrier_destroy(&job.barrier);
	pthread_mutex_destroy(&job.lock);
	free(lat);
	free(job.lat);
	free(w);
	free(th);
}
