/*-------------------------------------------------------------------------
 *
 * rvb_report.c
 *	  The result store and the three outputs: tables on stdout (also saved
 *	  as summary.txt), results.json with every figure, and PNG plots of
 *	  recall@10 against QPS drawn by gnuplot.
 *
 * NOTES
 *	  Ratios are always RuVector / pgvector of the same figure, whatever
 *	  the figure's direction: above 1 means RuVector's number is larger,
 *	  which is better for rows/s and QPS and worse for seconds, latency and
 *	  bytes.  The tables say which way each row reads.
 *
 *	  Runs are matched across targets by (index, k, concurrency, filter,
 *	  setting label); a point only one target ran gets no ratio.
 *
 *-------------------------------------------------------------------------
 */
#include "rvb_pg.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MB(x)	((double) (x) / (1024.0 * 1024.0))

/* ----------------------------------------------------------------
 *		result store
 * ----------------------------------------------------------------
 */
RvbStep *
rvb_add_step(RvbResults *res, int target, int index, const char *step)
{
	RvbStep    *s = &res->steps[res->nsteps++];

	memset(s, 0, sizeof(*s));
	s->target = target;
	s->index = index;
	s->seconds = s->rows = s->rate = NAN;
	s->lat_p50 = s->lat_p95 = s->lat_p99 = NAN;
	snprintf(s->step, sizeof(s->step), "%s", step);
	return s;
}

/* rvb_run_init clears a run: figures not measured stay NaN (null in JSON) */
void
rvb_run_init(RvbRun *r)
{
	memset(r, 0, sizeof(*r));
	r->qps = r->qps_min = r->qps_max = NAN;
	r->recall1 = r->recall10 = r->recall100 = r->recall_p5 = NAN;
	r->lat_mean = r->lat_p50 = r->lat_p95 = r->lat_p99 = r->lat_max = NAN;
	r->returned_avg = NAN;
	r->cpu_ms = NAN;
}

RvbRun *
rvb_add_run(RvbResults *res)
{
	RvbRun	   *r = &res->runs[res->nruns++];

	rvb_run_init(r);
	return r;
}

RvbSizes *
rvb_add_sizes(RvbResults *res)
{
	RvbSizes   *z = &res->sizes[res->nsizes++];

	memset(z, 0, sizeof(*z));
	return z;
}

void
rvb_note(RvbResults *res, const char *fmt,...)
{
	va_list		ap;

	if (res->nnotes >= 32)
		return;
	va_start(ap, fmt);
	vsnprintf(res->notes[res->nnotes], sizeof(res->notes[0]), fmt, ap);
	va_end(ap);
	rvb_log("note: %s", res->notes[res->nnotes]);
	res->nnotes++;
}

/* ----------------------------------------------------------------
 *		machine
 * ----------------------------------------------------------------
 */
typedef struct Machine
{
	char		cpu[256];
	int			cores;
	double		mem_gib;
	char		kernel[256];
	char		host[256];
	char		git[64];
	double		load[3];		/* 1, 5 and 15 minute load averages at the end */
} Machine;

static void
read_machine(Machine *m)
{
	FILE	   *f;
	char		line[512];
	struct utsname u;

	memset(m, 0, sizeof(*m));
	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	m->cores = (int) sysconf(_SC_NPROCESSORS_ONLN);
	if ((f = fopen("/proc/cpuinfo", "r")) != NULL)
	{
		while (fgets(line, sizeof(line), f))
		{
			char	   *colon = strchr(line, ':');

			if (strncmp(line, "model name", 10) == 0 && colon)
			{
				snprintf(m->cpu, sizeof(m->cpu), "%s", colon + 2);
				m->cpu[strcspn(m->cpu, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	if ((f = fopen("/proc/meminfo", "r")) != NULL)
	{
		long		kb;

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemTotal: %ld kB", &kb) == 1)
				m->mem_gib = kb / 1048576.0;
		fclose(f);
	}
	if ((f = fopen("/proc/loadavg", "r")) != NULL)
	{
		if (fscanf(f, "%lf %lf %lf", &m->load[0], &m->load[1], &m->load[2]) != 3)
			m->load[0] = m->load[1] = m->load[2] = NAN;
		fclose(f);
	}
	if (uname(&u) == 0)
	{
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
		snprintf(m->host, sizeof(m->host), "%s", u.nodename);
	}
	if ((f = popen("git rev-parse --short HEAD 2>/dev/null", "r")) != NULL)
	{
		if (fgets(m->git, sizeof(m->git), f))
			m->git[strcspn(m->git, "\n")] = '\0';
		pclose(f);
	}
}

/* ----------------------------------------------------------------
 *		lookups
 * ----------------------------------------------------------------
 */
static const RvbRun *
find_run(const RvbResults *res, const RvbRun *like, int target)
{
	for (int i = 0; i < res->nruns; i++)
	{
		const RvbRun *r = &res->runs[i];

		if (r->target == target && r->index == like->index && r->k == like->k &&
			r->concurrency == like->concurrency &&
			r->filter_pct == like->filter_pct &&
			strcmp(r->setting.label, like->setting.label) == 0)
			return r;
	}
	return NULL;
}

static const RvbStep *
find_step(const RvbResults *res, int target, int index, const char *step)
{
	for (int i = 0; i < res->nsteps; i++)
	{
		const RvbStep *s = &res->steps[i];

		if (s->target == target && s->index == index && strcmp(s->step, step) == 0)
			return s;
	}
	return NULL;
}

static const RvbSizes *
find_sizes(const RvbResults *res, int target, int index)
{
	for (int i = 0; i < res->nsizes; i++)
		if (res->sizes[i].target == target && res->sizes[i].index == index &&
			res->sizes[i].ok)
			return &res->sizes[i];
	return NULL;
}

static double
ratio(double a, double b)
{
	if (!isfinite(a) || !isfinite(b) || b == 0)
		return NAN;
	return a / b;
}

/* a number in a fixed width, or "-" when there is none */
static void
put_num(FILE *f, int width, int prec, double v)
{
	if (isfinite(v))
		fprintf(f, " %*.*f", width, prec, v);
	else
		fprintf(f, " %*s", width, "-");
}

/* the recall a run is judged by: recall@k */
static double
run_recall(const RvbRun *r)
{
	return r->k >= 100 ? r->recall100 : r->k >= 10 ? r->recall10 : r->recall1;
}

/*
 * The frontier points of one target's sweep (unfiltered): recall against
 * QPS, or with cpu against queries per server CPU-second.
 */
static int
curve(const RvbResults *res, int target, int index, int k, int conc, bool cpu,
	  RvbPoint *pts, int max)
{
	int			n = 0;

	for (int i = 0; i < res->nruns && n < max; i++)
	{
		const RvbRun *r = &res->runs[i];

		if (r->ok && r->target == target && r->index == index && r->k == k &&
			r->concurrency == conc && r->filter_pct == 0)
		{
			pts[n].recall = run_recall(r);
			pts[n].qps = cpu ? 1000.0 / r->cpu_ms : r->qps;
			if (!isnan(pts[n].qps))
				n++;
		}
	}
	return n;
}

/* ----------------------------------------------------------------
 *		text report
 * ----------------------------------------------------------------
 */
typedef struct Ctx
{
	const RvbOptions *o;
	const RvbDataset *ds;
	RvbTarget  *t;
	int			nt;
	RvbResults *res;
	Machine		m;
	bool		both;			/* both targets ran: ratios make sense */
	const char *started_at;
	double		seconds;
} Ctx;

/* both targets at one recall: QPS and server CPU ms per query */
typedef struct EqualPoint
{
	double		qps[2];
	double		cpu_ms[2];
} EqualPoint;

/*
 * Interpolate each target's frontier at the recall (NaN where its sweep does
 * not reach it); false when a target has no unfiltered runs at all.  CPU is
 * interpolated as queries per CPU-second, as QPS is, then turned back.
 */
static bool
equal_recall_point(const Ctx *c, int x, int k, int conc, double recall, EqualPoint *e)
{
	RvbPoint	pts[256];

	for (int t = 0; t < 2; t++)
	{
		int			n = curve(c->res, t, x, k, conc, false, pts, 256);

		if (n == 0)
			return false;
		e->qps[t] = rvb_qps_at_recall(pts, n, recall);
		n = curve(c->res, t, x, k, conc, true, pts, 256);
		e->cpu_ms[t] = n ? 1000.0 / rvb_qps_at_recall(pts, n, recall) : NAN;
	}
	return true;
}


static void
text_header(FILE *f, Ctx *c)
{
	fprintf(f, "ruvector-bench %s   %s   (%.0f s)\n", RVB_VERSION, c->started_at, c->seconds);
	if (c->o->label)
		fprintf(f, "label      %s\n", c->o->label);
	fprintf(f, "data set   %s: %d x %d, %d queries, metric %s (%s), ground truth %s\n",
			c->ds->name, c->ds->base.n, c->ds->base.dim, c->ds->query.n,
			rvb_metric_name(c->ds->metric), rvb_operator(c->ds->metric), c->ds->gt_source);
	fprintf(f, "machine    %s, %d cores, %.1f GiB, %s; load average %.1f %.1f %.1f\n",
			c->m.cpu, c->m.cores, c->m.mem_gib, c->m.kernel, c->m.load[0],
			c->m.load[1], c->m.load[2]);
	for (int i = 0; i < c->nt; i++)
	{
		RvbTarget  *t = &c->t[i];

		if (t->enabled)
			fprintf(f, "%-10s extension %s %s, database %s, table AM %s%s%s\n", t->name,
					t->extname, t->extversion, t->dbname,
					i == 0 && c->o->ruvector_am ? c->o->ruvector_am : "heap",
					i == 0 && c->m.git[0] ? ", git " : "", i == 0 ? c->m.git : "");
		else
			fprintf(f, "%-10s not run: %s\n", t->name, t->note);
	}
	for (int i = 0; i < c->nt; i++)
		if (c->t[i].enabled)
		{
			fprintf(f, "server     %s\n", c->t[i].server_version);
			break;
		}
	fprintf(f, "command    %s\n", c->o->command_line);
	for (int i = 0; i < c->res->nnotes; i++)
		fprintf(f, "note       %s\n", c->res->notes[i]);
}

static void
text_cols(FILE *f, Ctx *c, const char *what, double rv, double pg, int prec)
{
	fprintf(f, "  %-44s", what);
	put_num(f, 12, prec, rv);
	put_num(f, 12, prec, pg);
	if (c->both)
		put_num(f, 8, 2, ratio(rv, pg));
	fputc('\n', f);
}

static void
text_steps(FILE *f, Ctx *c)
{
	static const char *steps[] = {"load", "tag_index", "vacuum_analyze"};
	char		what[128];

	fprintf(f, "\n== Steps ==  (rv/pg = RuVector / pgvector)\n  %-44s %12s %12s%s\n",
			"", "ruvector", "pgvector", c->both ? "    rv/pg" : "");
	for (int i = 0; i < 3; i++)
	{
		const RvbStep *a = find_step(c->res, 0, -1, steps[i]);
		const RvbStep *b = find_step(c->res, 1, -1, steps[i]);

		if (a == NULL && b == NULL)
			continue;
		snprintf(what, sizeof(what), "%s seconds (lower is better)", steps[i]);
		text_cols(f, c, what, a ? a->seconds : NAN, b ? b->seconds : NAN, 2);
		if (i == 0)
			text_cols(f, c, "load rows/s (higher is better)", a ? a->rate : NAN,
					  b ? b->rate : NAN, 0);
	}
	for (int x = 0; x < c->o->nindexes; x++)
	{
		const char *label = c->o->indexes[x].label;
		const RvbStep *a,
				   *b;
		const RvbSizes *za = find_sizes(c->res, 0, x),
				   *zb = find_sizes(c->res, 1, x);

		fprintf(f, "  [%s]\n", label);
		a = find_step(c->res, 0, x, "build");
		b = find_step(c->res, 1, x, "build");
		if (a || b)
			text_cols(f, c, "  build seconds (lower is better)", a ? a->seconds : NAN,
					  b ? b->seconds : NAN, 2);
		if (za || zb)
		{
			text_cols(f, c, "  index MB", za ? MB(za->index_bytes) : NAN,
					  zb ? MB(zb->index_bytes) : NAN, 1);
			text_cols(f, c, "  table MB (heap)", za ? MB(za->table) : NAN,
					  zb ? MB(zb->table) : NAN, 1);
			text_cols(f, c, "  TOAST MB", za ? MB(za->toast) : NAN,
					  zb ? MB(zb->toast) : NAN, 1);
			text_cols(f, c, "  total MB (table + indexes + TOAST)", za ? MB(za->total) : NAN,
					  zb ? MB(zb->total) : NAN, 1);
		}
		a = find_step(c->res, 0, x, "insert");
		b = find_step(c->res, 1, x, "insert");
		if (a || b)
		{
			snprintf(what, sizeof(what), "  single-row inserts x%d rows/s (higher)",
					 c->o->insert_conc);
			text_cols(f, c, what, a ? a->rate : NAN, b ? b->rate : NAN, 0);
			text_cols(f, c, "  insert latency p50 ms", a ? a->lat_p50 : NAN,
					  b ? b->lat_p50 : NAN, 3);
			text_cols(f, c, "  insert latency p99 ms", a ? a->lat_p99 : NAN,
					  b ? b->lat_p99 : NAN, 3);
		}
		a = find_step(c->res, 0, x, "bulk_copy");
		b = find_step(c->res, 1, x, "bulk_copy");
		if (a || b)
			text_cols(f, c, "  bulk COPY rows/s (higher is better)", a ? a->rate : NAN,
					  b ? b->rate : NAN, 0);
		for (int t = 0; t < c->nt; t++)
		{
			const RvbStep *s;

			for (int i = 0; i < c->res->nsteps; i++)
			{
				s = &c->res->steps[i];
				if (s->index == x && s->target == t && !s->ok && s->error[0])
					fprintf(f, "  ! %s %s failed: %s\n", c->t[t].name, s->step, s->error);
			}
		}
	}
}

/* one table of runs: the given index, k, concurrency and filter */
static void
text_run_table(FILE *f, Ctx *c, int x, int k, int conc, int filter)
{
	bool		header = false;
	char		rec[16];

	snprintf(rec, sizeof(rec), "recall@%d", k);
	for (int i = 0; i < c->res->nruns; i++)
	{
		const RvbRun *r = &c->res->runs[i];
		const RvbRun *a,
				   *b;

		if (r->index != x || r->k != k || r->concurrency != conc ||
			r->filter_pct != filter)
			continue;
		a = find_run(c->res, r, 0);
		b = find_run(c->res, r, 1);
		/* print each setting once, at the first of its runs */
		if (r != (a && (b == NULL || a < b) ? a : b))
			continue;
		if (!header)
		{
			fprintf(f, "\n-- %s  k=%d  concurrency=%d%s%.0d%s --\n", c->o->indexes[x].label,
					k, conc, filter ? "  filter=" : "", filter, filter ? "%" : "");
			fprintf(f, "  %-36s | %-52s | %-52s |%s\n", "setting",
					"ruvector", "pgvector", c->both ? " rv/pg" : "");
			fprintf(f, "  %-36s | %9s %9s %8s %8s %8s %6s | %9s %9s %8s %8s %8s %6s |%s\n", "",
					rec, "QPS", "p50 ms", "p95 ms", "p99 ms", "cpu ms",
					rec, "QPS", "p50 ms", "p95 ms", "p99 ms", "cpu ms",
					c->both ? "    QPS  p99  cpu" : "");
			if (a && a->plan[0])
				fprintf(f, "  plan ruvector: %s\n", a->plan);
			if (b && b->plan[0])
				fprintf(f, "  plan pgvector: %s\n", b->plan);
			header = true;
		}
		fprintf(f, "  %-36s |", r->setting.label);
		for (int t = 0; t < 2; t++)
		{
			const RvbRun *z = t == 0 ? a : b;

			if (z && z->ok)
			{
				put_num(f, 9, 4, run_recall(z));
				put_num(f, 9, 1, z->qps);
				put_num(f, 8, 2, z->lat_p50);
				put_num(f, 8, 2, z->lat_p95);
				put_num(f, 8, 2, z->lat_p99);
				put_num(f, 6, 3, z->cpu_ms);
			}
			else
				fprintf(f, " %-52.52s", z ? z->error : "-");
			fprintf(f, " |");
		}
		if (c->both && a && b && a->ok && b->ok)
		{
			put_num(f, 6, 2, ratio(a->qps, b->qps));
			put_num(f, 4, 2, ratio(a->lat_p99, b->lat_p99));
			put_num(f, 4, 2, ratio(b->cpu_ms, a->cpu_ms));
		}
		fputc('\n', f);
	}
}

static void
text_runs(FILE *f, Ctx *c)
{
	fprintf(f, "\n== Queries ==  (recall@k tie-aware; QPS over all sessions; latencies per query)\n");
	for (int x = 0; x < c->o->nindexes; x++)
		for (int ki = 0; ki < c->o->nk; ki++)
			for (int ci = 0; ci < c->o->nconc; ci++)
				text_run_table(f, c, x, c->o->ks[ki], c->o->conc[ci], 0);
	if (c->o->nfilters > 0)
		fprintf(f, "\n== Filtered queries ==  (exact filtered truth; tag slice of the given %%)\n");
	for (int x = 0; x < c->o->nindexes; x++)
		for (int fi = 0; fi < c->o->nfilters; fi++)
			for (int ci = 0; ci < c->o->nfilter_conc; ci++)
				text_run_table(f, c, x, c->o->ks[0], c->o->filter_conc[ci], c->o->filters[fi]);
}

/* QPS at equal recall for each index, k and concurrency */
static void
text_equal_recall(FILE *f, Ctx *c)
{
	int			rows = 0;

	if (!c->both)
		return;
	fprintf(f, "\n== QPS at equal recall ==  (interpolated on each sweep's frontier; "
			"- = not reached; cpu: server CPU ms per query, pg/rv)\n"
			"  %-22s %4s %4s %7s %12s %12s %8s %8s %8s %8s\n",
			"index", "k", "c", "recall", "ruvector", "pgvector", "rv/pg",
			"rv cpu", "pg cpu", "cpu");
	for (int x = 0; x < c->o->nindexes; x++)
	{
		if (c->o->indexes[x].kind == RVB_IDX_NONE ||
			c->o->indexes[x].kind == RVB_IDX_FLOOR)
			continue;
		for (int ki = 0; ki < c->o->nk; ki++)
			for (int ci = 0; ci < c->o->nconc; ci++)
			{
				int			k = c->o->ks[ki],
							conc = c->o->conc[ci];
				for (int ri = 0; ri < c->o->nrecall_targets; ri++)
				{
					double		target = c->o->recall_targets[ri];
					EqualPoint	e;

					if (!equal_recall_point(c, x, k, conc, target, &e))
						break;
					fprintf(f, "  %-22s %4d %4d %7.3f", c->o->indexes[x].label, k, conc, target);
					put_num(f, 12, 1, e.qps[0]);
					put_num(f, 12, 1, e.qps[1]);
					put_num(f, 8, 2, ratio(e.qps[0], e.qps[1]));
					put_num(f, 8, 3, e.cpu_ms[0]);
					put_num(f, 8, 3, e.cpu_ms[1]);
					put_num(f, 8, 2, ratio(e.cpu_ms[1], e.cpu_ms[0]));
					fputc('\n', f);
					rows++;
				}
			}
	}
	if (rows == 0)
		fprintf(f, "  (no index configuration ran on both targets)\n");
}

static void
text_report(FILE *f, Ctx *c)
{
	text_header(f, c);
	text_steps(f, c);
	text_runs(f, c);
	text_equal_recall(f, c);
	fprintf(f, "\nresults    %s\n", c->o->out_dir);
	for (int i = 0; i < c->res->nplots; i++)
		fprintf(f, "plot       %s\n", c->res->plots[i]);
}

/* ----------------------------------------------------------------
 *		JSON
 * ----------------------------------------------------------------
 */
static void
json_list_int(RvbJson *j, const char *key, const int *v, int n)
{
	rvb_json_array(j, key);
	for (int i = 0; i < n; i++)
		rvb_json_int(j, NULL, v[i]);
	rvb_json_end_array(j);
}

static void
json_sets(RvbJson *j, const char *key, char *const *sets, int n)
{
	rvb_json_object(j, key);
	for (int i = 0; i < n; i++)
	{
		char		name[128];
		const char *eq = strchr(sets[i], '=');

		snprintf(name, sizeof(name), "%.*s", (int) (eq - sets[i]), sets[i]);
		rvb_json_str(j, name, eq + 1);
	}
	rvb_json_end_object(j);
}

static void
json_settings(RvbJson *j, Ctx *c)
{
	const RvbOptions *o = c->o;

	rvb_json_object(j, "settings");
	rvb_json_array(j, "indexes");
	for (int i = 0; i < o->nindexes; i++)
	{
		const RvbIndexSpec *s = &o->indexes[i];

		rvb_json_object(j, NULL);
		rvb_json_int(j, "id", i);
		rvb_json_str(j, "label", s->label);
		rvb_json_str(j, "method", s->kind == RVB_IDX_HNSW ? "hnsw" :
					 s->kind == RVB_IDX_IVFFLAT ? "ivfflat" :
					 s->kind == RVB_IDX_FLOOR ? "floor" : "exact");
		if (s->kind == RVB_IDX_HNSW)
		{
			rvb_json_int(j, "m", s->m);
			rvb_json_int(j, "ef_construction", s->efc);
		}
		if (s->kind == RVB_IDX_IVFFLAT)
			rvb_json_int(j, "lists", s->lists);
		rvb_json_str(j, "opclass", rvb_opclass(o->metric));
		rvb_json_end_object(j);
	}
	rvb_json_end_array(j);
	json_list_int(j, "ef_search", o->ef, o->nef);
	json_list_int(j, "probes", o->probes, o->nprobes);
	json_list_int(j, "rerank_factor", o->rerank, o->nrerank);
	json_list_int(j, "k", o->ks, o->nk);
	json_list_int(j, "concurrency", o->conc, o->nconc);
	json_list_int(j, "filter_concurrency", o->filter_conc, o->nfilter_conc);
	json_list_int(j, "filter_ef_search", o->filter_ef, o->nfilter_ef);
	json_list_int(j, "filter_probes", o->filter_probes, o->nfilter_probes);
	rvb_json_array(j, "iterative_scan");
	for (int i = 0; i < o->niterative; i++)
		rvb_json_str(j, NULL, o->iterative[i]);
	rvb_json_end_array(j);
	rvb_json_int(j, "exact_queries", o->exact_queries);
	rvb_json_int(j, "filter_queries", o->filter_queries);
	rvb_json_num(j, "min_seconds", o->min_seconds);
	rvb_json_int(j, "repeat", o->repeat);
	rvb_json_int(j, "warmup_queries", o->warmup);
	rvb_json_int(j, "inserts", o->inserts);
	rvb_json_int(j, "insert_concurrency", o->insert_conc);
	rvb_json_int(j, "bulk_rows", o->bulk_rows);
	json_sets(j, "session_settings", o->sets, o->nsets);
	json_sets(j, "build_settings", o->build_sets, o->nbuild_sets);
	rvb_json_str(j, "table", o->table);
	rvb_json_str(j, "ruvector_table_am", o->ruvector_am ? o->ruvector_am : "heap");
	rvb_json_str(j, "query_sql", "SELECT id FROM <table> [WHERE tag >= $2 AND tag < $3] "
				 "ORDER BY embedding <op> $1::vector LIMIT k");
	rvb_json_end_object(j);
}

static void
json_dataset(RvbJson *j, Ctx *c)
{
	const RvbDataset *ds = c->ds;

	rvb_json_object(j, "dataset");
	rvb_json_str(j, "name", ds->name);
	rvb_json_str(j, "source", ds->source);
	rvb_json_str(j, "metric", rvb_metric_name(ds->metric));
	rvb_json_str(j, "operator", rvb_operator(ds->metric));
	rvb_json_int(j, "rows", ds->base.n);
	rvb_json_int(j, "dim", ds->base.dim);
	rvb_json_int(j, "queries", ds->query.n);
	rvb_json_str(j, "ground_truth", ds->gt_source);
	rvb_json_int(j, "ground_truth_k", ds->gt.k);
	rvb_json_num(j, "ground_truth_seconds", ds->gt_seconds);
	rvb_json_int(j, "seed", (int64_t) ds->seed);
	rvb_json_str(j, "tag_distribution", "tag = splitmix64(seed, id) mod 100, uniform 0..99");
	rvb_json_str(j, "filter_rule", "p% filter on query q: tag in [lo, lo+p), lo = (q mod (100/p)) * p");
	json_list_int(j, "filters_pct", ds->filter_pct, ds->nfilters);
	rvb_json_end_object(j);
}

static void
json_targets(RvbJson *j, Ctx *c)
{
	rvb_json_array(j, "targets");
	for (int i = 0; i < c->nt; i++)
	{
		RvbTarget  *t = &c->t[i];

		rvb_json_object(j, NULL);
		rvb_json_int(j, "id", i);
		rvb_json_str(j, "name", t->name);
		rvb_json_str(j, "extension", t->extname);
		rvb_json_bool(j, "ran", t->enabled);
		rvb_json_str(j, "note", t->note[0] ? t->note : NULL);
		rvb_json_str(j, "database", t->dbname[0] ? t->dbname : NULL);
		rvb_json_str(j, "extversion", t->extversion[0] ? t->extversion : NULL);
		rvb_json_str(j, "server_version", t->server_version[0] ? t->server_version : NULL);
		rvb_json_bool(j, "has_hnsw", t->has_am[RVB_IDX_HNSW]);
		rvb_json_bool(j, "has_ivfflat", t->has_am[RVB_IDX_IVFFLAT]);
		rvb_json_bool(j, "has_rerank_factor", t->has_rerank);
		rvb_json_bool(j, "has_hnsw_iterative_scan", t->has_hnsw_iterative);
		rvb_json_bool(j, "has_ivfflat_iterative_scan", t->has_ivf_iterative);
		rvb_json_object(j, "server_settings");
		{
			char	   *copy = strdup(t->gucs);
			char	   *save = NULL;

			for (char *line = strtok_r(copy, "\n", &save); line;
				 line = strtok_r(NULL, "\n", &save))
			{
				char	   *eq = strchr(line, '=');

				if (eq)
				{
					*eq = '\0';
					rvb_json_str(j, line, eq + 1);
				}
			}
			free(copy);
		}
		rvb_json_end_object(j);
		rvb_json_end_object(j);
	}
	rvb_json_end_array(j);
}

static void
json_steps(RvbJson *j, Ctx *c)
{
	rvb_json_array(j, "steps");
	for (int i = 0; i < c->res->nsteps; i++)
	{
		const RvbStep *s = &c->res->steps[i];

		rvb_json_object(j, NULL);
		rvb_json_str(j, "target", c->t[s->target].name);
		rvb_json_str(j, "step", s->step);
		rvb_json_str(j, "index", s->index >= 0 ? c->o->indexes[s->index].label : NULL);
		rvb_json_bool(j, "ok", s->ok);
		rvb_json_str(j, "error", s->error[0] ? s->error : NULL);
		rvb_json_num(j, "seconds", s->seconds);
		rvb_json_num(j, "rows", s->rows);
		rvb_json_num(j, "rows_per_second", s->rate);
		if (strcmp(s->step, "insert") == 0)
		{
			rvb_json_int(j, "concurrency", s->concurrency);
			rvb_json_num(j, "latency_p50_ms", s->lat_p50);
			rvb_json_num(j, "latency_p95_ms", s->lat_p95);
			rvb_json_num(j, "latency_p99_ms", s->lat_p99);
		}
		if (strcmp(s->step, "build") == 0)
			rvb_json_str(j, "phases", s->phases);
		rvb_json_end_object(j);
	}
	rvb_json_end_array(j);
	rvb_json_array(j, "sizes");
	for (int i = 0; i < c->res->nsizes; i++)
	{
		const RvbSizes *z = &c->res->sizes[i];

		rvb_json_object(j, NULL);
		rvb_json_str(j, "target", c->t[z->target].name);
		rvb_json_str(j, "index", c->o->indexes[z->index].label);
		rvb_json_bool(j, "ok", z->ok);
		rvb_json_int(j, "table_bytes", z->table);
		rvb_json_int(j, "toast_bytes", z->toast);
		rvb_json_int(j, "index_bytes", z->index_bytes);
		rvb_json_int(j, "total_bytes", z->total);
		rvb_json_end_object(j);
	}
	rvb_json_end_array(j);
}

static void
json_runs(RvbJson *j, Ctx *c)
{
	rvb_json_array(j, "runs");
	for (int i = 0; i < c->res->nruns; i++)
	{
		const RvbRun *r = &c->res->runs[i];
		const RvbRun *other = find_run(c->res, r, 1 - r->target);

		rvb_json_object(j, NULL);
		rvb_json_str(j, "target", c->t[r->target].name);
		rvb_json_str(j, "index", c->o->indexes[r->index].label);
		rvb_json_int(j, "k", r->k);
		rvb_json_int(j, "concurrency", r->concurrency);
		rvb_json_int(j, "filter_pct", r->filter_pct);
		rvb_json_str(j, "setting", r->setting.label);
		rvb_json_str(j, "family", r->setting.family);
		rvb_json_object(j, "gucs");
		for (int g = 0; g < r->setting.nguc; g++)
			rvb_json_str(j, r->setting.name[g], r->setting.value[g]);
		rvb_json_end_object(j);
		rvb_json_bool(j, "ok", r->ok);
		rvb_json_str(j, "error", r->error[0] ? r->error : NULL);
		rvb_json_int(j, "queries", r->nqueries);
		rvb_json_int(j, "executions", r->nexec);
		rvb_json_num(j, "seconds", r->seconds);
		rvb_json_num(j, "qps", r->qps);
		rvb_json_int(j, "repeats", r->repeats);
		rvb_json_num(j, "qps_min", r->qps_min);
		rvb_json_num(j, "qps_max", r->qps_max);
		rvb_json_num(j, "latency_mean_ms", r->lat_mean);
		rvb_json_num(j, "latency_p50_ms", r->lat_p50);
		rvb_json_num(j, "latency_p95_ms", r->lat_p95);
		rvb_json_num(j, "latency_p99_ms", r->lat_p99);
		rvb_json_num(j, "latency_max_ms", r->lat_max);
		rvb_json_num(j, "server_cpu_ms", r->cpu_ms);
		rvb_json_num(j, "recall_at_1", r->recall1);
		rvb_json_num(j, "recall_at_10", r->recall10);
		rvb_json_num(j, "recall_at_100", r->recall100);
		rvb_json_num(j, "recall_at_k_p5", r->recall_p5);
		rvb_json_num(j, "rows_returned_avg", r->returned_avg);
		rvb_json_str(j, "plan", r->plan);
		if (r->target == 0 && other && other->ok && r->ok)
		{
			rvb_json_num(j, "qps_ratio_vs_pgvector", ratio(r->qps, other->qps));
			rvb_json_num(j, "p99_ratio_vs_pgvector", ratio(r->lat_p99, other->lat_p99));
			rvb_json_num(j, "cpu_ratio_vs_pgvector", ratio(other->cpu_ms, r->cpu_ms));
		}
		rvb_json_end_object(j);
	}
	rvb_json_end_array(j);
}

static void
json_step_ratios(RvbJson *j, Ctx *c)
{
	rvb_json_array(j, "step_ratios");
	for (int i = 0; i < c->res->nsteps; i++)
	{
		const RvbStep *a = &c->res->steps[i];
		const RvbStep *b;

		if (a->target != 0 || !a->ok)
			continue;
		b = find_step(c->res, 1, a->index, a->step);
		if (b == NULL || !b->ok)
			continue;
		rvb_json_object(j, NULL);
		rvb_json_str(j, "step", a->step);
		rvb_json_str(j, "index", a->index >= 0 ? c->o->indexes[a->index].label : NULL);
		rvb_json_num(j, "seconds_ratio", ratio(a->seconds, b->seconds));
		rvb_json_num(j, "rows_per_second_ratio", ratio(a->rate, b->rate));
		rvb_json_end_object(j);
	}
	for (int x = 0; x < c->o->nindexes; x++)
	{
		const RvbSizes *za = find_sizes(c->res, 0, x),
				   *zb = find_sizes(c->res, 1, x);

		if (za == NULL || zb == NULL)
			continue;
		rvb_json_object(j, NULL);
		rvb_json_str(j, "step", "sizes");
		rvb_json_str(j, "index", c->o->indexes[x].label);
		rvb_json_num(j, "index_bytes_ratio", ratio(za->index_bytes, zb->index_bytes));
		rvb_json_num(j, "table_bytes_ratio", ratio(za->table, zb->table));
		rvb_json_num(j, "total_bytes_ratio", ratio(za->total, zb->total));
		rvb_json_end_object(j);
	}
	rvb_json_end_array(j);
}

static void
json_equal_recall(RvbJson *j, Ctx *c)
{
	rvb_json_array(j, "equal_recall");
	for (int x = 0; c->both && x < c->o->nindexes; x++)
	{
		if (c->o->indexes[x].kind == RVB_IDX_NONE ||
			c->o->indexes[x].kind == RVB_IDX_FLOOR)
			continue;
		for (int ki = 0; ki < c->o->nk; ki++)
			for (int ci = 0; ci < c->o->nconc; ci++)
			{
				int			k = c->o->ks[ki],
							conc = c->o->conc[ci];
				for (int ri = 0; ri < c->o->nrecall_targets; ri++)
				{
					double		target = c->o->recall_targets[ri];
					EqualPoint	e;

					if (!equal_recall_point(c, x, k, conc, target, &e))
						break;
					rvb_json_object(j, NULL);
					rvb_json_str(j, "index", c->o->indexes[x].label);
					rvb_json_int(j, "k", k);
					rvb_json_int(j, "concurrency", conc);
					rvb_json_num(j, "recall", target);
					rvb_json_num(j, "ruvector_qps", e.qps[0]);
					rvb_json_num(j, "pgvector_qps", e.qps[1]);
					rvb_json_num(j, "qps_ratio", ratio(e.qps[0], e.qps[1]));
					rvb_json_num(j, "ruvector_cpu_ms", e.cpu_ms[0]);
					rvb_json_num(j, "pgvector_cpu_ms", e.cpu_ms[1]);
					rvb_json_num(j, "cpu_ratio", ratio(e.cpu_ms[1], e.cpu_ms[0]));
					rvb_json_end_object(j);
				}
			}
	}
	rvb_json_end_array(j);
}

static void
json_report(FILE *f, Ctx *c)
{
	RvbJson		j;

	rvb_json_init(&j, f);
	rvb_json_object(&j, NULL);
	rvb_json_str(&j, "schema", "ruvector-bench/1");
	rvb_json_str(&j, "driver_version", RVB_VERSION);
	rvb_json_str(&j, "started_at", c->started_at);
	rvb_json_num(&j, "duration_seconds", c->seconds);
	rvb_json_str(&j, "command", c->o->command_line);
	rvb_json_str(&j, "label", c->o->label);
	rvb_json_object(&j, "machine");
	rvb_json_str(&j, "cpu", c->m.cpu);
	rvb_json_int(&j, "cores", c->m.cores);
	rvb_json_num(&j, "memory_gib", c->m.mem_gib);
	rvb_json_str(&j, "kernel", c->m.kernel);
	rvb_json_str(&j, "hostname", c->m.host);
	rvb_json_array(&j, "load_average_at_end");
	for (int i = 0; i < 3; i++)
		rvb_json_num(&j, NULL, c->m.load[i]);
	rvb_json_end_array(&j);
	rvb_json_str(&j, "git_commit", c->m.git[0] ? c->m.git : NULL);
	rvb_json_end_object(&j);
	json_dataset(&j, c);
	json_settings(&j, c);
	json_targets(&j, c);
	rvb_json_bool(&j, "side_by_side", c->both);
	rvb_json_array(&j, "notes");
	for (int i = 0; i < c->res->nnotes; i++)
		rvb_json_str(&j, NULL, c->res->notes[i]);
	rvb_json_end_array(&j);
	json_steps(&j, c);
	json_runs(&j, c);
	rvb_json_object(&j, "comparison");
	json_step_ratios(&j, c);
	json_equal_recall(&j, c);
	rvb_json_end_object(&j);
	rvb_json_array(&j, "plots");
	for (int i = 0; i < c->res->nplots; i++)
		rvb_json_str(&j, NULL, c->res->plots[i]);
	rvb_json_end_array(&j);
	rvb_json_bool(&j, "complete", true);
	rvb_json_end_object(&j);
}

/* ----------------------------------------------------------------
 *		plots
 * ----------------------------------------------------------------
 */

/* is r an unfiltered point of this plot (k, concurrency) and series? */
static bool
plot_member(const RvbRun *r, int k, int conc, int index, const char *family)
{
	return r->ok && r->k == k && r->concurrency == conc && r->filter_pct == 0 &&
		r->index == index && (family == NULL || strcmp(r->setting.family, family) == 0);
}

/*
 * Write one gnuplot data block per series (target, index, setting family)
 * of the unfiltered runs at this k and concurrency, RuVector's first;
 * returns the number of blocks and sets *nrv to RuVector's.  The first line
 * of each block is its title, for columnheader().  A configuration keeps
 * its colour on both sides (lts) and gets an open marker for RuVector, the
 * filled one for pgvector (pts).
 */
static int
write_plot_data(FILE *f, Ctx *c, int k, int conc, int *nrv, char *lts,
				char *pts, size_t stylelen)
{
	int			keyx[32];
	char		keyf[32][64];
	int			nkeys = 0;
	int			blocks = 0;

	*nrv = 0;
	lts[0] = pts[0] = '\0';
	for (int x = 0; x < c->o->nindexes; x++)
		for (int i = 0; i < c->res->nruns; i++)
		{
			const RvbRun *r = &c->res->runs[i];
			bool		seen = false;

			if (!plot_member(r, k, conc, x, NULL))
				continue;
			for (int q = 0; q < nkeys; q++)
				seen |= keyx[q] == x && strcmp(keyf[q], r->setting.family) == 0;
			if (!seen && nkeys < 32)
			{
				keyx[nkeys] = x;
				snprintf(keyf[nkeys++], sizeof(keyf[0]), "%s", r->setting.family);
			}
		}
	for (int t = 0; t < c->nt; t++)
		for (int q = 0; q < nkeys; q++)
		{
			bool		any = false;

			for (int i = 0; i < c->res->nruns && !any; i++)
				any = c->res->runs[i].target == t &&
					plot_member(&c->res->runs[i], k, conc, keyx[q], keyf[q]);
			if (!any)
				continue;
			fprintf(f, "%s\"%s %s%s%s\"\n", blocks ? "\n\n" : "", c->t[t].name,
					c->o->indexes[keyx[q]].label, keyf[q][0] ? " " : "", keyf[q]);
			for (int i = 0; i < c->res->nruns; i++)
			{
				const RvbRun *r = &c->res->runs[i];

				if (r->target == t && plot_member(r, k, conc, keyx[q], keyf[q]))
					fprintf(f, "%.6f %.3f %g\n", r->recall10, r->qps, r->setting.knob);
			}
			snprintf(lts + strlen(lts), stylelen - strlen(lts), "%d ", q + 1);
			snprintf(pts + strlen(pts), stylelen - strlen(pts), "%d ",
					 (t == 0 ? 4 : 5) + 2 * (q % 5));
			blocks++;
			if (t == 0)
				(*nrv)++;
		}
	return blocks;
}

static void
make_plots(Ctx *c)
{
	int			k = 10;
	bool		have10 = false;

	for (int i = 0; i < c->o->nk; i++)
		have10 |= c->o->ks[i] == 10;
	if (!have10)
	{
		rvb_note(c->res, "no k=10 runs, so no recall@10 plot");
		return;
	}
	for (int ci = 0; ci < c->o->nconc; ci++)
	{
		char		dat[1200],
					png[1200],
					cmd[4096];
		FILE	   *f;
		int			blocks,
					nrv;
		char		lts[200],
					pts[200];

		snprintf(dat, sizeof(dat), "%s/recall10_qps_c%d.dat", c->o->out_dir, c->o->conc[ci]);
		snprintf(png, sizeof(png), "%s/recall10_qps_c%d.png", c->o->out_dir, c->o->conc[ci]);
		if ((f = fopen(dat, "w")) == NULL)
			continue;
		blocks = write_plot_data(f, c, k, c->o->conc[ci], &nrv, lts, pts, sizeof(lts));
		fclose(f);
		if (blocks == 0)
			continue;
		snprintf(cmd, sizeof(cmd),
				 "gnuplot -e \"datafile='%s'; outfile='%s'; nblocks=%d; nrv=%d; "
				 "lts='%s'; pts='%s'; "
				 "plottitle='%s %s, top-%d, %d session%s'\" '%s' >>'%s/gnuplot.log' 2>&1",
				 dat, png, blocks, nrv, lts, pts, c->ds->name, rvb_metric_name(c->ds->metric), k,
				 c->o->conc[ci], c->o->conc[ci] > 1 ? "s" : "", c->o->gp_script,
				 c->o->out_dir);
		if (system(cmd) == 0 && access(png, R_OK) == 0)
			snprintf(c->res->plots[c->res->nplots++], sizeof(c->res->plots[0]), "%s", png);
		else
			rvb_note(c->res, "gnuplot failed for %s (is gnuplot installed? script %s; "
					 "see gnuplot.log)", png, c->o->gp_script);
	}
}

/*
 * rvb_report writes everything: plots first (their paths go into the other
 * outputs), then results.json, then the text report to stdout and to
 * summary.txt.
 */
void
rvb_report(const RvbOptions *o, const RvbDataset *ds, RvbTarget *targets,
		   int ntargets, RvbResults *res, double started, const char *started_at)
{
	Ctx			c;
	char		path[1200];
	FILE	   *f;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.ds = ds;
	c.t = targets;
	c.nt = ntargets;
	c.res = res;
	c.both = ntargets == 2 && targets[0].enabled && targets[1].enabled;
	c.started_at = started_at;
	read_machine(&c.m);
	make_plots(&c);
	c.seconds = rvb_now() - started;
	snprintf(path, sizeof(path), "%s/results.json", o->out_dir);
	if ((f = fopen(path, "w")) != NULL)
	{
		json_report(f, &c);
		fclose(f);
	}
	else
		rvb_log("cannot write %s", path);
	snprintf(path, sizeof(path), "%s/summary.txt", o->out_dir);
	if ((f = fopen(path, "w")) != NULL)
	{
		text_report(f, &c);
		fclose(f);
	}
	fflush(stderr);
	text_report(stdout, &c);
	fflush(stdout);
}
