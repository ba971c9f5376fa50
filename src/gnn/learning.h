/*-------------------------------------------------------------------------
 *
 * learning.h
 *	  The learning loop, server side: ruvector.target_recall, the per-query
 *	  effort the scans ask for, query capture, training and the models'
 *	  table.  The model itself is pure C (gnn.h).
 *
 * NOTES
 *	  The scans call two functions: RvLearningChooseEffort at scan start
 *	  (beside RvIntegritySearchWiden) and RvLearningCapture once the first
 *	  batch is searched.  Both return at once when the learning loop is off
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

/* Settings (learning.c) */
extern double rv_target_recall;
extern double rv_learning_sample_rate;
extern double rv_learning_cpu_budget;

extern void RvLearningInit(void);
extern void RvLearningChooseEffort(Relation index, const char *query, int *effort,
								   int maxEffort);
extern void RvLearningCapture(Relation index, const char *query, int effort, int visited);
extern void RvLearningWorkerRound(void);

#endif							/* RV_LEARNING_H */
