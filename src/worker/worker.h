/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  RuVector's background workers: where they are registered and the
 *	  settings that schedule them.
 *
 * NOTES
 *	  The launcher is registered only when the library is preloaded
 *	  (shared_preload_libraries = 'ruvector'); without it the settings
 *	  still exist and every function works, there is simply no worker.
 *	  See worker.c.
 *
 * IDENTIFICATION
 *	  src/worker/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_WORKER_H
#define RV_WORKER_H

#include "postgres.h"

/* Settings (worker.c) */
extern int	rv_worker_naptime;
extern double rv_ivf_refresh_threshold;

extern void RvWorkerInit(void);

/*
 * Runs fn(arg) in a transaction of its own, with a snapshot, for the
 * per-index steps of the worker rounds (integrity, learning): an error is
 * logged and the transaction aborted, and the round goes on.  Returns
 * false after an error, with the caller's memory context current again.
 */
typedef void (*RvWorkerTxnFn) (void *arg);
extern bool RvWorkerRunInTransaction(RvWorkerTxnFn fn, void *arg);

/* Entry points, named in BackgroundWorker.bgw_function_name */
extern PGDLLEXPORT void rv_worker_launcher_main(Datum arg);
extern PGDLLEXPORT void rv_worker_database_main(Datum arg);

#endif							/* RV_WORKER_H */
