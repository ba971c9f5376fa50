/*-------------------------------------------------------------------------
 *
 * gnn.h
 *	  The learning loop's model, pure C: a two-layer message-passing network
 *	  over an index's contracted region graph, whose region embeddings are
 *	  combined with a query's features by a small MLP that predicts the log
 *	  of the search effort (ef_search or probes) the query needs to reach a
 *	  target recall.  Forward, backward, Adam, calibration and a versioned
 *	  byte format.
 *
 * NOTES
 *	  No server headers: linked into the Check unit tests (test/unit/
 *	  test_gnn.c) as well as the extension.  Memory comes from malloc; every
 *	  function that allocates reports failure (false / NULL) and leaves the
 *	  model as it was, the server side turns that into an error.
 *
 *	  The network, with x_r the normalised features of region r and a_rj
 *	  the link weight of r and j divided by r's total link weight:
 *	    h1_r = tanh(Ws1 x_r + Wn1 sum_j a_rj x_j + b1)
 *	    h2_r = tanh(Ws2 h1_r + Wn2 sum_j a_rj h1_j + b2)
 *	    y    = w4 . tanh(W3 [h2_e ; q] + b3) + b4 + ymean
 *	  where e is the query's entry region (the region whose representative
 *	  vector is nearest) and q the query's normalised features: 6 from its
 *	  distances to the representatives (rv_gnn_query_features) and 8 from
 *	  the progress of its own search at a checkpoint (rv_gnn_search_features:
 *	  the scan runs until a search with ef = 2k would stop, then asks the
 *	  model how far to go on).  The region
 *	  embeddings h2 do not depend on the query: rv_gnn_prepare computes them
 *	  once per model, so inference is one small MLP.
 *
 *	  The loss is the expectile loss |tau - [e < 0]| e^2 with e = y - yhat:
 *	  with tau > 0.5 an under-estimate (a query that then misses its
 *	  recall) costs more than an over-estimate of the same size, which is
 *	  what "mean recall >= target" wants; it is smooth, so the gradients
 *	  can be checked by finite differences.  A calibration, chosen on
 *	  held-out queries, then maps a prediction y to ymean + shrink (y -
 *	  ymean) + offset: the offset makes the mean recall reach the target,
 *	  and shrink (1, 0.75, 0.5, 0.25 or 0) is the one that does so at the
 *	  least mean effort, so a model whose predictions do not pay falls back
 *	  to one effort for every query (shrink 0), the best fixed effort.
 *
 *	  Checkpoints.  A model of nck > 1 checkpoints is asked again and again:
 *	  at the checkpoints of ef c_j = c_0 2^j (j < nck; c_0 = 2k), each with
 *	  the search's progress there (the c_j-th nearest for "k-th", and j as
 *	  a feature); the search stops at the first checkpoint whose prediction
 *	  is below the next one, at the effort predicted there (never below
 *	  c_j).  Up to c_j a search with any ef >= c_j expands the same
 *	  elements in the same order, so the features at c_j are a property of
 *	  the query, the same whatever was predicted before: training takes
 *	  them from one probe per query (learning.c).  A sample is one (query,
 *	  checkpoint); rv_gnn_evaluate follows each query's checkpoints in
 *	  order as a scan does.
 *
 *	  A stop rule (stopRule = 1) is the other kind of model: the network
 *	  predicts the recall the search has reached at a checkpoint, and the
 *	  search stops at the first checkpoint where that prediction less the
 *	  offset reaches 1 (the offset, calibrated, is the threshold), at that
 *	  checkpoint's ef; past the last one it goes on to twice that.
 *
 *	  Bound rule (stopRule = 2, learning.c): no network decides; the search
 *	  stops at the first candidate whose metric square is more than 1 + e
 *	  times the k-th nearest found's (the k-th as it stands then), with e
 *	  the calibrated `offset`: a query whose k nearest stand out from the
 *	  rest stops soon, one among many near equals searches on.  The region
 *	  graph and the network stay in the model unused.
 *
 *	  Format 5: checkpoints, stop rules (format 4 had one and 8 search features; such
 *	  models are refused, not misread).
 *
 *	  Byte format (little-endian, version RV_GNN_FORMAT_VERSION): "RVGN",
 *	  u32 version, u32 regions, edges, dim, params, RF, QF, H, M; f64
 *	  normalisation (RF, RF, QF, QF), ymean, offset, effort min and max,
 *	  tau, shrink; f64 region features; edges as (u32, u32, f64); f32 region
 *	  representatives (regions * dim); f64 parameters; u64 FNV-1a of all
 *	  the bytes before it.
 *
 * IDENTIFICATION
 *	  src/gnn/gnn.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_GNN_MODEL_H
#define RV_GNN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "integrity/igalgo.h"

#define RV_GNN_FORMAT_VERSION	5
#define RV_GNN_RF		5			/* region features */
#define RV_GNN_QF_REGION	6		/* query features from the representatives */
#define RV_GNN_QF_SEARCH	9		/* query features from the search's progress */
#define RV_GNN_QF		(RV_GNN_QF_REGION + RV_GNN_QF_SEARCH)
#define RV_GNN_H		8			/* region embedding width */
#define RV_GNN_M		16			/* MLP hidden width */
#define RV_GNN_MAX_REGIONS	4096
#define RV_GNN_MAX_DIM	16000
#define RV_GNN_MAX_CHECKPOINTS	8

/* Region features, in this order (raw values; the model normalises) */
#define RV_GNN_RF_LOG_SIZE		0	/* log(1 + elements) */
#define RV_GNN_RF_LOG_DEGREE	1	/* log(1 + neighbouring regions) */
#define RV_GNN_RF_LOG_LINKS		2	/* log(1 + links to other regions) */
#define RV_GNN_RF_RADIUS		3	/* mean distance of members to the representative */
#define RV_GNN_RF_DENSITY		4	/* outgoing links per element */

/* RvGnnModel.stopRule: what kind of model it is */
#define RV_GNN_RULE_EFFORT	0		/* predicts the effort */
#define RV_GNN_RULE_STOP	1		/* predicts the recall reached at a checkpoint */
#define RV_GNN_RULE_BOUND	2		/* the bound rule: offset is its epsilon */

/*
 * An edge of the region graph, w > 0: the integrity plane's edge
 * (igalgo.h), whose contraction the regions are, so that the model builds
 * its adjacency with the same CSR builder.
 */
typedef RvIgEdge RvGnnEdge;

typedef struct RvGnnModel
{
	uint32_t	nregions;
	uint32_t	nedges;
	uint32_t	dim;			/* of the representatives, 0: none */
	double	   *rfeat;			/* nregions * RV_GNN_RF */
	RvGnnEdge  *edges;
	float	   *reps;			/* nregions * dim */
	double		rmean[RV_GNN_RF];
	double		rstd[RV_GNN_RF];
	double		qmean[RV_GNN_QF];
	double		qstd[RV_GNN_QF];
	double		ymean;
	double		offset;			/* calibration, added to predictions */
	double		effortMin;
	double		effortMax;
	double		tau;
	double		shrink;			/* predictions pulled towards ymean: 0 = one effort for all */
	double		checkpoints;	/* nck: 1, or asked again at 2x, 4x, ... the first */
	double		stopRule;		/* RV_GNN_RULE_* */
	uint32_t	nparams;
	double	   *params;
	/* derived by rv_gnn_prepare, not serialised */
	double	   *emb;			/* nregions * RV_GNN_H */
	uint32_t   *adjStart;		/* nregions + 1 */
	uint32_t   *adjNb;
	double	   *adjW;			/* a_rj */
} RvGnnModel;

/*
 * The progress of a search at its checkpoint (the point where a search
 * with ef = c would stop: the nearest unexpanded candidate is further than
 * the c-th nearest found; the scans use c = 2k, learning.h), raw;
 * rv_gnn_search_features turns it into the query features
 * RV_GNN_QF_REGION.. of the model.  "k-th" below is that c-th.
 */
typedef struct RvGnnProgress
{
	double		entry;			/* distance of the layer-0 entry point */
	double		first;			/* nearest found */
	double		kth;			/* k-th nearest found */
	double		kthBefore;		/* k-th nearest RV_GNN_HOPS_BACK hops earlier */
	double		nearSeen;		/* found within the margin above the k-th */
	double		nearOpen;		/* of which not expanded yet */
	double		visited;		/* elements whose distance was computed */
	double		hops;			/* candidates expanded */
	double		sinceImproved;	/* hops since the k-th nearest last changed */
	double		stage;			/* checkpoint j (0: the first) */
} RvGnnProgress;

#define RV_GNN_HOPS_BACK	8
#define RV_GNN_NEAR_MARGIN	0.25	/* of kth - first, above kth */

/*
 * One training or validation query at one checkpoint.  The samples of one
 * query are consecutive (same query number), by ascending checkpoint; a
 * model of one checkpoint has one sample per query.
 */
typedef struct RvGnnSample
{
	uint32_t	region;			/* entry region */
	uint32_t	query;			/* its row of the recall curves */
	double		ck;				/* effort at this checkpoint (0: the first) */
	double		q[RV_GNN_QF];	/* raw query features */
	double		y;				/* log of the least effort reaching the target */
} RvGnnSample;

typedef struct RvGnnTrainOpts
{
	int			epochs;
	int			batch;
	double		lr;
	double		tau;
	uint64_t	seed;
} RvGnnTrainOpts;

/* gnn_model.c */
extern uint32_t rv_gnn_nparams(void);
extern RvGnnModel *rv_gnn_create(uint32_t nregions, const double *rfeat,
								 uint32_t nedges, const RvGnnEdge *edges,
								 uint32_t dim, const float *reps, uint64_t seed);
extern void rv_gnn_free(RvGnnModel *m);
extern bool rv_gnn_prepare(RvGnnModel *m);
extern void rv_gnn_region_features(uint32_t nregions, const RvGnnEdge *edges,
								   uint32_t nedges, double *rfeat);
extern void rv_gnn_unit(const float *x, uint32_t dim, float *out);
extern uint32_t rv_gnn_knn_edges(const float *reps, uint32_t nregions, uint32_t dim,
								 uint32_t nlink, RvGnnEdge *edges);
extern void rv_gnn_query_features(const double *dists, uint32_t nregions,
								  double *q, uint32_t *entry);
extern void rv_gnn_search_features(const RvGnnProgress *p, double *q);
extern double rv_gnn_predict(const RvGnnModel *m, uint32_t region, const double *q);
extern double rv_gnn_effort(const RvGnnModel *m, uint32_t region, const double *q);
extern double rv_gnn_loss_grad(RvGnnModel *m, const RvGnnSample *s, uint32_t n,
							   double *grad);
extern void rv_gnn_fit_stats(RvGnnModel *m, const RvGnnSample *s, uint32_t n);
extern bool rv_gnn_train(RvGnnModel *m, const RvGnnSample *s, uint32_t n,
						 const RvGnnTrainOpts *o, double *curve);

/*
 * Held-out evaluation: recall[q * ngrid + g] is query q's recall with
 * effort grid[g] (grid ascending).  An effort between grid points gets the
 * recall interpolated linearly in log effort; cost is the effort itself.
 * Each query's samples are followed as a scan follows its checkpoints:
 * the effort is that of the first checkpoint whose prediction is below the
 * next checkpoint (or the last), at least that checkpoint's.  Means are
 * over queries.
 */
extern void rv_gnn_evaluate(const RvGnnModel *m, const RvGnnSample *s, uint32_t n,
							const double *grid, uint32_t ngrid, const double *recall,
							double target, double offset,
							double *meanRecall, double *meanCost, double *shareBelow);
extern double rv_gnn_recall_at(const double *grid, uint32_t ngrid, const double *row,
							   double e);
extern double rv_gnn_query_effort(const RvGnnModel *m, const RvGnnSample *s, uint32_t n,
								  double offset);
extern bool rv_gnn_calibrate(RvGnnModel *m, const RvGnnSample *s, uint32_t n,
							 const double *grid, uint32_t ngrid, const double *recall,
							 double target);
extern int	rv_gnn_fixed_effort(uint32_t n, const double *grid, uint32_t ngrid,
								const double *recall, double target);
extern double rv_gnn_fixed_effort_at(uint32_t n, const double *grid, uint32_t ngrid,
									 const double *recall, double target);
extern double rv_gnn_effort_at_cost(const double *grid, const double *cost, uint32_t ngrid,
									double c);
extern bool rv_gnn_goes_live(bool calibrated, double target, double recall, double cost,
							 double fixedAt, double liveRecall, double liveCost);

/* Byte format */
extern size_t rv_gnn_serialized_size(const RvGnnModel *m);
extern void rv_gnn_serialize(const RvGnnModel *m, unsigned char *out);
extern RvGnnModel *rv_gnn_deserialize(const unsigned char *buf, size_t len,
									  const char **error);

#endif							/* RV_GNN_MODEL_H */
