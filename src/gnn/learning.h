/*-------------------------------------------------------------------------
 *
 * learning.h
 *	  The learning loop, server side: ruvector.target_recall, the per-query
 *	  effort the scans ask for, query capture, training and the models'
 *	  table.  The model itself is pure C (gnn.h).
 *
 * NOTES
 *	  The scans call RvLearningPlan at scan start (after
 *	  RvIntegritySearchWiden), RvLearningSearchEffort at the checkpoint of
 *	  their layer-0 search, and RvLearningCapture once the first batch is
 *	  searched.  They return at once when the learning loop is off
 *	  (ruvector.target_recall = 0, ruvector.learning_sample_rate = 0).
 *
 * IDENTIFICATION
 *	  src/gnn/learning.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_LEARNING_H
#define RV_LEARNING_H

#include "postgres.h"

#include "utils/relcache.h"

#include "gnn/gnn.h"

/* ruvector.adaptive_effort: how a scan with target_recall set stops */
typedef enum RvAdaptMode
{
	RV_ADAPT_OFF,				/* hnsw.ef_search */
	RV_ADAPT_FRONTIER,			/* stop when the k nearest stop improving */
	RV_ADAPT_MODEL,				/* the learned model, at the checkpoint */
	RV_ADAPT_PROBE,				/* training: record the checkpoint, stop */
	RV_ADAPT_BOTH,				/* the model, then the frontier rule too */
	RV_ADAPT_BOUND				/* a bound model: stop past a distance bound */
} RvAdaptMode;

/*
 * What a scan does in its layer-0 search (RvLearningPlan fills it at scan
 * start): track the k nearest; with RV_ADAPT_FRONTIER stop after
 * patience hops without a new one among them; with RV_ADAPT_BOUND stop
 * once the nearest candidate left is further than the bound (the metric
 * square of the k-th nearest times 1 + bound, gnn.h "Bound rule"), which
 * W and C also admit no further than; with RV_ADAPT_MODEL and
 * RV_ADAPT_PROBE, at the checkpoint (a search with ef =
 * RV_LEARN_CHECKPOINT_EF(k) would stop there) call RvLearningSearchEffort
 * for the ef to go on with; with plan.more set it asks again at the next
 * checkpoint (RV_LEARN_STAGE_EF).  efCap is the most it may choose.
 */
typedef struct RvLearnPlan
{
	RvAdaptMode mode;
	int			k;
	int			checkpoint;		/* the least effort: RV_LEARN_CHECKPOINT_EF(k), or
								 * RV_LEARN_IVF_CHECKPOINT lists */
	int			patience;
	double		bound;			/* RV_ADAPT_BOUND: the model's epsilon */
	bool		patienceAfter;	/* model: the frontier rule after the checkpoint */
	int			efCap;
	int			efTypical;		/* the model's effort for a typical query */
	int			nck;			/* checkpoints: the model asked at checkpoint << j, j < nck */
	int			stage;			/* the checkpoint j the search is at or heads for */
	bool		more;			/* RvLearningSearchEffort: go on to the next checkpoint */
	void	   *model;			/* RvGnnModel, valid during the first batch */
	int32		version;
	uint32		entry;			/* the query's entry region */
	double		q[RV_GNN_QF];	/* region features filled at scan start */
} RvLearnPlan;

/*
 * W's size until the checkpoint (model and probe): large enough that most
 * queries' efforts are below it (then the search is the one a fixed ef
 * would run), small enough that the elements it admits cost little more
 * than a fixed ef's; beyond it W grows at the checkpoint.
 */
#define RV_LEARN_PHASE_EF(k)	Max(64, 4 * (k))

/*
 * The checkpoint: where a search with this ef would stop (the nearest
 * candidate left is further than the ef-th nearest found).  Also the
 * least effort a model can choose.  On glove-100 (bench/RESULTS.md) 2k
 * did at least as well as k and 5k (within the training's noise).
 */
#define RV_LEARN_CHECKPOINT_EF(k)	(2 * (k))

/*
 * HNSW models of several checkpoints (ruvector.learning_checkpoints) are
 * asked again at 2x, 4x, ... the first checkpoint (gnn.h, "Checkpoints"):
 * with k = 10 and 5 checkpoints at ef 20, 40, 80, 160 and 320.  IVFFlat
 * models are asked once.
 */
#define RV_LEARN_STAGE_EF(plan, j)	((plan)->checkpoint << (j))

/*
 * IVFFlat: the checkpoint is after this many lists (the least probes a
 * model can choose); the scan tracks the RV_LEARN_CHECKPOINT_EF(k)
 * nearest rows found, whose spread and progress over the lists read are
 * the search features, as the hnsw scans' over their expansions.
 */
#define RV_LEARN_IVF_CHECKPOINT	3

/* Settings (learning.c) */
extern double rv_target_recall;
extern double rv_learning_sample_rate;
extern double rv_learning_cpu_budget;

extern void RvLearningInit(void);
extern bool RvLearningIsIvf(Relation index);
extern void RvLearningPlan(Relation index, const char *query, RvLearnPlan *plan);
extern int	RvLearningSearchEffort(Relation index, RvLearnPlan *plan, const RvGnnProgress *p);
extern void RvLearningCapture(Relation index, const char *query, int effort, int visited);
extern void RvLearningWorkerRound(void);

#endif							/* RV_LEARNING_H */
