/*-------------------------------------------------------------------------
 *
 * rvb_pg.h
 *	  The server side of ruvector-bench: targets (one database per
 *	  extension), index configurations, measured runs and the result store.
 *
 * NOTES
 *	  A target is one database with one extension: "ruvector" (extension
 *	  ruvector) and "pgvector" (extension vector).  Both are usually
 *	  databases of the same server; each backend loads one of the two
 *	  libraries only, which is why they cannot share a database.
 *
 *	  Every connection, control or worker, belongs to one target and is used
 *	  by one thread at a time: the main thread between runs, one worker
 *	  thread during a run.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RVB_PG_H
#define RVB_PG_H

#include "rvb.h"

#include <libpq-fe.h>

#define RVB_MAX_TARGETS		2
#define RVB_MAX_INDEXES		8
#define RVB_MAX_PREPARED	16
#define RVB_MAX_SETS		16

typedef enum RvbIndexKind
{
	RVB_IDX_NONE,				/* exact search: sequential scan and sort */
	RVB_IDX_HNSW,
	RVB_IDX_IVFFLAT,
	RVB_IDX_FLOOR				/* no vector work: the 10 first rows, the floor */
} RvbIndexKind;

typedef struct RvbIndexSpec
{
	RvbIndexKind kind;
	int			m;				/* hnsw */
	int			efc;			/* hnsw ef_construction */
	int			lists;			/* ivfflat; 0 until resolved to sqrt(n) */
	char		storage[16];	/* RuVector's storage option, "" for none */
	char		label[64];
} RvbIndexSpec;

/* a worker connection and the statements already prepared on it */
typedef struct RvbConn
{
	PGconn	   *conn;
	int			nprepared;
	char		prepared[RVB_MAX_PREPARED][32];
} RvbConn;

typedef struct RvbTarget
{
	int			id;
	char		name[16];		/* "ruvector" or "pgvector" */
	char		extname[16];	/* "ruvector" or "vector" */
	char	   *dsn;
	bool		enabled;
	char		note[512];		/* why disabled, or what is missing */
	PGconn	   *conn;			/* control connection */
	char		dbname[128];
	char		server_version[256];
	char		extversion[32];
	bool		has_am[4];		/* by RvbIndexKind */
	bool		has_rerank;		/* ruvector.rerank_factor exists */
	bool		has_hnsw_iterative;
	bool		has_ivf_iterative;
	char		gucs[1024];		/* server settings worth recording */
	RvbConn    *pool;
	int			npool;
} RvbTarget;

/* one point of a sweep: the GUCs a run sets in every worker session */
typedef struct RvbSetting
{
	int			nguc;
	char		name[RVB_MAX_GUCS][40];
	char		value[RVB_MAX_GUCS][40];
	char		label[96];		/* "ef_search=40 rerank=2" */
	char		family[64];		/* series of the plot: "rerank=2", "" */
	double		knob;			/* ef_search or probes; 0 for exact */
} RvbSetting;

typedef struct RvbRun
{
	int			target;
	int			index;			/* into options.indexes */
	int			k;
	int			concurrency;
	int			filter_pct;		/* 0: unfiltered */
	RvbSetting	setting;
	bool		ok;
	char		error[256];
	int64_t		nexec;			/* queries executed, all passes */
	int			nqueries;		/* distinct queries (recall is over these) */
	double		seconds;
	double		qps;
	int			repeats;		/* measurements taken; the fastest is kept */
	double		qps_min;		/* slowest and fastest of the repetitions */
	double		qps_max;
	double		lat_mean;		/* milliseconds */
	double		lat_p50;
	double		lat_p95;
	double		lat_p99;
	double		lat_max;
	double		cpu_ms;			/* server CPU per query (NaN: server not local) */
	double		recall1;
	double		recall10;
	double		recall100;		/* NaN when k < 100 */
	double		recall_p5;		/* recall@k reached by 95% of the queries */
	double		returned_avg;	/* rows per query */
	char		plan[200];		/* plan nodes of query 0: "Limit > Index Scan" */
} RvbRun;

typedef struct RvbStep
{
	int			target;
	int			index;			/* -1: not tied to an index */
	char		step[32];		/* load, analyze, build, insert, copy ... */
	bool		ok;
	char		error[256];
	double		seconds;
	double		rows;
	double		rate;			/* rows per second */
	int			concurrency;
	double		lat_p50;		/* ms, single-row inserts */
	double		lat_p95;
	double		lat_p99;
	char		phases[256];	/* index build: "phase 1.2s; ..." */
} RvbStep;

typedef struct RvbSizes
{
	int			target;
	int			index;
	bool		ok;
	int64_t		table;			/* main fork of the heap */
	int64_t		toast;			/* TOAST heap and its index */
	int64_t		index_bytes;	/* the vector index */
	int64_t		total;			/* pg_total_relation_size */
} RvbSizes;

typedef struct RvbResults
{
	RvbStep    *steps;
	int			nsteps;
	RvbRun	   *runs;
	int			nruns;
	RvbSizes   *sizes;
	int			nsizes;
	char		notes[32][320];
	int			nnotes;
	char		plots[8][1200];
	int			nplots;
} RvbResults;

/* how the query vector travels, as different clients send it */
typedef enum RvbParams
{
	RVB_PARAMS_BINARY,			/* bound parameter, binary format */
	RVB_PARAMS_TEXT,			/* bound parameter, text format (pgvector-node) */
	RVB_PARAMS_LITERAL			/* literal in the SQL, simple protocol (psycopg2) */
} RvbParams;

typedef struct RvbOptions
{
	/* data */
	char	   *data_dir;
	char	   *gt_file;
	RvbMetric	metric;
	bool		synthetic;
	RvbSynthSpec synth;
	int			limit_base;
	int			limit_queries;
	int			filters[RVB_MAX_FILTERS];
	int			nfilters;
	uint64_t	seed;
	char	   *save_dir;
	int			threads;		/* for generation and ground truth */
	int			verify_gt;		/* queries checked against brute force */
	/* targets */
	char	   *ruvector_dsn;
	char	   *pgvector_dsn;
	bool		create_db;
	char	   *table;
	bool		reuse;
	bool		keep_index;		/* use a matching index already built */
	bool		load_only;		/* stop after loading the tables */
	bool		fresh;			/* drop and recreate the extensions */
	char	   *ruvector_am;	/* table access method for RuVector's table */
	/* work */
	RvbIndexSpec indexes[RVB_MAX_INDEXES];
	int			nindexes;
	int			ef[RVB_MAX_LIST];
	int			nef;
	int			probes[RVB_MAX_LIST];
	int			nprobes;
	int			rerank[RVB_MAX_LIST];
	int			nrerank;
	int			ks[4];
	int			nk;
	int			conc[8];
	int			nconc;
	int			filter_conc[8];
	int			nfilter_conc;
	int			filter_ef[RVB_MAX_LIST];
	int			nfilter_ef;
	int			filter_probes[RVB_MAX_LIST];
	int			nfilter_probes;
	char	   *iterative[3];
	int			niterative;
	RvbParams	params;
	int			exact_queries;
	int			filter_queries;
	double		min_seconds;
	int			repeat;
	int			warmup;
	int			inserts;
	int			insert_conc;
	int			bulk_rows;
	char	   *sets[RVB_MAX_SETS];		/* name=value, every session */
	int			nsets;
	char	   *build_sets[RVB_MAX_SETS];	/* name=value, index builds */
	int			nbuild_sets;
	double		recall_targets[8];
	int			nrecall_targets;
	/* output */
	char	   *out_dir;
	char	   *gp_script;
	char	   *label;
	char	   *command_line;
} RvbOptions;

/* rvb_db.c */
extern PGconn *rvb_db_connect(const char *dsn, const char *dbname_override,
							  char *err, size_t errlen);
extern bool rvb_db_exec(PGconn *conn, char *err, size_t errlen,
						const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern bool rvb_db_value(PGconn *conn, const char *sql, char *buf,
						 size_t buflen);
extern bool rvb_db_revive(PGconn *conn);
extern bool rvb_target_open(RvbTarget *t, const RvbOptions *o, char *err,
							size_t errlen);
extern void rvb_target_close(RvbTarget *t);
extern bool rvb_session_setup(PGconn *conn, const RvbTarget *t,
							  const RvbOptions *o, char *err, size_t errlen);
extern const char *rvb_opclass(RvbMetric m);
extern const char *rvb_operator(RvbMetric m);
extern bool rvb_db_load(RvbTarget *t, const RvbDataset *ds,
						const RvbOptions *o, RvbResults *res);
extern void rvb_db_build_index(RvbTarget *t, const RvbIndexSpec *spec,
							   int index_no, const RvbDataset *ds,
							   const RvbOptions *o, RvbResults *res);
extern bool rvb_db_index_kept(RvbTarget *t, const RvbIndexSpec *spec,
							  int index_no, const RvbOptions *o,
							  RvbResults *res);
extern void rvb_db_sizes(RvbTarget *t, int index_no, const RvbOptions *o,
						 RvbResults *res);
extern void rvb_db_bulk_copy(RvbTarget *t, int index_no, const RvbDataset *ds,
							 const RvbOptions *o, int64_t first_id, int count,
							 RvbResults *res);
extern void rvb_db_cleanup(RvbTarget *t, int index_no, const RvbDataset *ds,
						   const RvbOptions *o, RvbResults *res);

/* rvb_query.c */
extern bool rvb_pool_open(RvbTarget *t, int n, const RvbOptions *o, char *err,
						  size_t errlen);
extern void rvb_pool_close(RvbTarget *t);
extern bool rvb_pool_broken(RvbTarget *t, int n);
extern void rvb_run_queries(RvbTarget *t, const RvbDataset *ds,
							const RvbOptions *o, RvbRun *run);
extern void rvb_run_inserts(RvbTarget *t, int index_no, const RvbDataset *ds,
							const RvbOptions *o, int64_t first_id, int count,
							int concurrency, RvbResults *res);

/* rvb_report.c */
extern RvbStep *rvb_add_step(RvbResults *res, int target, int index,
							 const char *step);
extern void rvb_run_init(RvbRun *r);
extern RvbRun *rvb_add_run(RvbResults *res);
extern RvbSizes *rvb_add_sizes(RvbResults *res);
extern void rvb_note(RvbResults *res, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void rvb_report(const RvbOptions *o, const RvbDataset *ds,
					   RvbTarget *targets, int ntargets, RvbResults *res,
					   double started, const char *started_at);

#endif							/* RVB_PG_H */
