/*-------------------------------------------------------------------------
 *
 * rvb.h
 *	  Shared declarations of ruvector-bench, the benchmark driver.
 *
 * NOTES
 *	  The driver is split by concern, one file each:
 *		rvb_data.c		data sets: fvecs/ivecs, the synthetic clustered
 *						generator, exact (filtered) ground truth, recall
 *		rvb_stats.c		percentiles, the recall/QPS frontier, interpolation
 *						at equal recall
 *		rvb_json.c		a small streaming JSON writer
 *		rvb_progress.c	wall clock, step timer and terminal progress bar
 *		rvb_db.c		libpq: databases, COPY BINARY, index builds, sizes
 *		rvb_query.c		concurrent query runs, single-row and bulk inserts
 *		rvb_report.c	the stdout tables, the JSON document, the gnuplot
 *		rvb_main.c		options and the order of the steps
 *		rvb_check.c		the driver's self-checks (make bench-check)
 *	  The first four do not use libpq, so the self-checks link them alone.
 *
 *	  Ids: base rows are numbered 0..n-1 (the row number in base.fvecs) and
 *	  stored as the table's id column, so a result id is directly a row
 *	  number.  Rows added by the insert steps get ids n and above and are
 *	  deleted again before the next index configuration.
 *
 *	  Filtered queries: every row carries tag = rvb_tag(seed, id), uniform in
 *	  0..99.  A filter of p percent on query q keeps the rows whose tag is in
 *	  [lo, lo + p) with lo = (q mod (100 / p)) * p, so successive queries hit
 *	  different slices and each slice is exactly p percent of the tag space.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RVB_H
#define RVB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RVB_VERSION			"0.1.0"
#define RVB_MAX_FILTERS		4
#define RVB_MAX_LIST		32
#define RVB_MAX_GUCS		4
#define RVB_GT_K			100		/* ground truth depth kept per query */

/* ----------------------------------------------------------------
 *		data sets (rvb_data.c)
 * ----------------------------------------------------------------
 */
typedef enum RvbMetric
{
	RVB_L2,						/* squared Euclidean, <-> */
	RVB_COSINE,					/* 1 - cosine similarity, <=> */
	RVB_IP						/* negative inner product, <#> */
} RvbMetric;

/* n rows of dim floats, row major */
typedef struct RvbMatrix
{
	int			n;
	int			dim;
	float	   *x;
} RvbMatrix;

#define RVB_ROW(m, i)	((m)->x + (size_t) (i) * (size_t) (m)->dim)

/* k neighbour ids per query, nearest first; -1 pads a short list */
typedef struct RvbNeighbours
{
	int			nq;
	int			k;
	int32_t    *ids;
} RvbNeighbours;

#define RVB_NB(nb, q)	((nb)->ids + (size_t) (q) * (size_t) (nb)->k)

/* parameters of the synthetic clustered generator */
typedef struct RvbSynthSpec
{
	int			n;				/* base rows */
	int			dim;
	int			nq;				/* queries, drawn from the same mixture */
	int			clusters;		/* 0: about sqrt(n) / 4, at least 1 */
	double		spread;			/* cluster radius relative to centre spread */
	uint64_t	seed;
} RvbSynthSpec;

typedef struct RvbDataset
{
	char		name[128];
	char		source[1024];	/* directory or synthetic spec */
	RvbMetric	metric;
	RvbMatrix	base;
	RvbMatrix	query;
	RvbNeighbours gt;			/* exact unfiltered top-k */
	char		gt_source[256]; /* file name, or "computed" */
	uint64_t	seed;			/* tags and extra rows */
	int32_t    *tag;			/* per base row, 0..99 */
	int			nfilters;
	int			filter_pct[RVB_MAX_FILTERS];
	RvbNeighbours fgt[RVB_MAX_FILTERS]; /* exact top-k per filter */
	double		gt_seconds;		/* time spent computing ground truth */
} RvbDataset;

extern const char *rvb_metric_name(RvbMetric m);
extern int	rvb_metric_parse(const char *s, RvbMetric *m);
extern int	rvb_read_fvecs(const char *path, int limit, RvbMatrix *m,
						   char *err, size_t errlen);
extern int	rvb_read_ivecs(const char *path, int limit, RvbNeighbours *nb,
						   char *err, size_t errlen);
extern int	rvb_write_fvecs(const char *path, const RvbMatrix *m);
extern int	rvb_write_ivecs(const char *path, const RvbNeighbours *nb);
extern void rvb_matrix_free(RvbMatrix *m);
extern void rvb_neighbours_free(RvbNeighbours *nb);

extern double rvb_distance(RvbMetric metric, const float *a, const float *b,
						   int dim);
extern uint64_t rvb_mix64(uint64_t x);
extern int	rvb_vector_binary(const float *v, int dim, char *out);
extern size_t rvb_vector_text_size(int dim);
extern int	rvb_vector_text(const float *v, int dim, char *out);
extern int	rvb_tag(uint64_t seed, int64_t id);
extern void rvb_filter_range(int pct, int q, int *lo, int *hi);
extern int	rvb_filter_pct_valid(int pct);

extern void rvb_synthetic(const RvbSynthSpec *spec, RvbMatrix *base,
						  RvbMatrix *query, int nthreads);
extern void rvb_extra_vector(const RvbDataset *ds, int64_t i, float *out);

/* row filter for ground truth: NULL tag means every row */
typedef struct RvbRowFilter
{
	const int32_t *tag;
	int			pct;
} RvbRowFilter;

extern void rvb_ground_truth(RvbMetric metric, const RvbMatrix *base,
							 const RvbMatrix *query, int k,
							 const RvbRowFilter *filter, int nthreads,
							 RvbNeighbours *out);
extern void rvb_ground_truth_naive(RvbMetric metric, const RvbMatrix *base,
								   const RvbMatrix *query, int k,
								   const RvbRowFilter *filter,
								   RvbNeighbours *out);

/* recall of one query's result list against its exact neighbours */
typedef struct RvbRecall
{
	double		at1;
	double		at10;
	double		at100;			/* NaN when fewer than 100 were asked for */
} RvbRecall;

extern double rvb_recall_at(RvbMetric metric, const RvbMatrix *base,
							const float *q, const int32_t *got, int ngot,
							const int32_t *truth, int ntruth, int k);

/* ----------------------------------------------------------------
 *		statistics (rvb_stats.c)
 * ----------------------------------------------------------------
 */
typedef struct RvbPoint
{
	double		recall;
	double		qps;
} RvbPoint;

extern double rvb_percentile(double *v, size_t n, double p);
extern double rvb_mean(const double *v, size_t n);
extern int	rvb_frontier(const RvbPoint *pts, int n, RvbPoint *out);
extern double rvb_qps_at_recall(const RvbPoint *pts, int n, double target);

/* ----------------------------------------------------------------
 *		JSON (rvb_json.c)
 * ----------------------------------------------------------------
 */
typedef struct RvbJson
{
	FILE	   *f;
	int			depth;
	bool		need_comma[64];
} RvbJson;

extern void rvb_json_init(RvbJson *j, FILE *f);
extern void rvb_json_object(RvbJson *j, const char *key);
extern void rvb_json_array(RvbJson *j, const char *key);
extern void rvb_json_end_object(RvbJson *j);
extern void rvb_json_end_array(RvbJson *j);
extern void rvb_json_str(RvbJson *j, const char *key, const char *val);
extern void rvb_json_int(RvbJson *j, const char *key, int64_t val);
extern void rvb_json_num(RvbJson *j, const char *key, double val);
extern void rvb_json_bool(RvbJson *j, const char *key, bool val);
extern void rvb_json_null(RvbJson *j, const char *key);

/* ----------------------------------------------------------------
 *		timing and progress (rvb_progress.c)
 * ----------------------------------------------------------------
 */
typedef struct RvbProgress
{
	char		label[96];
	double		start;
	double		last_draw;
	bool		drawn;
} RvbProgress;

extern double rvb_now(void);
extern void rvb_progress_mode(int mode);	/* -1 never, 0 auto, 1 always */
extern bool rvb_progress_enabled(void);
extern void rvb_progress_begin(RvbProgress *p, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void rvb_progress_update(RvbProgress *p, double frac,
								const char *detail);
extern double rvb_progress_end(RvbProgress *p, const char *summary);
extern void rvb_log(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void rvb_set_verbose(bool on);

#endif							/* RVB_H */
