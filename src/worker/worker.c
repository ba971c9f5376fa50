/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  RuVector's background maintenance: a launcher, and one short-lived
 *	  worker per database that refreshes the ivfflat indexes whose centers
 *	  have drifted.
 *
 * NOTES
 *	  RvWorkerInit (from _PG_init) defines the settings in every process
 *	  that loads the library, and registers the launcher only while
 *	  shared_preload_libraries is being processed: without preloading the
 *	  settings exist, ruvector_ivf_refresh() works, and there is no worker.
 *
 *	  The launcher connects to no database (it reads the shared catalog
 *	  pg_database only).  Every ruvector.worker_naptime seconds it lists the
 *	  databases that accept connections and are not templates, and for
 *	  each in turn starts a dynamic background worker connected to it, and
 *	  waits for that worker to exit before starting the next: at most one
 *	  database worker runs at a time, so maintenance takes at most two
 *	  worker slots and one core.  Between rounds it sleeps on its latch
 *	  (no busy loop).  SIGHUP rereads the configuration; SIGTERM ends it
 *	  (the postmaster stops the database worker too).  It starts once
 *	  recovery has finished, so a standby runs none; if it fails it is
 *	  restarted after 10 seconds.
 *
 *	  A database worker does nothing if the database has no ruvector
 *	  extension.  Otherwise it lists the valid, non-temporary indexes whose
 *	  access method's handler is ruvector's ivfflathandler (ivfflat and
 *	  ruivfflat alike), and for each, in its own transaction, refreshes it
 *	  if its drift (ivfrefresh.c) has reached ruvector.ivf_refresh_threshold
 *	  and rows were inserted since its last refresh.  It never waits for a
 *	  lock: an index that is busy is tried again next round.  It logs each
 *	  refresh at LOG, and indexes left alone at DEBUG1.  An error ends the
 *	  database worker (the launcher goes on with the next database); SIGTERM
 *	  cancels a refresh like a query, which leaves the index as it was.
 *
 *	  Each database worker then runs the integrity round (src/integrity/
 *	  integrity.c: heartbeat, operational scope, a sample of every index
 *	  due), and the launcher wakes every min(ruvector.worker_naptime,
 *	  ruvector.integrity_interval) seconds.  Refreshes pause while the
 *	  table's integrity gate defers or refuses medium operations.
 *
 *	  Locks: only those of ruvector_ivf_refresh() (see ivfrefresh.c), taken
 *	  conditionally, one index at a time.
 *
 * IDENTIFICATION
 *	  src/worker/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog/index.h"
#include "common/rv_extension.h"
#include "gnn/learning.h"
#include "indexam/ivfflat.h"
#include "integrity/integrity.h"
#include "tableam/tableam.h"
#include "worker/worker.h"

#define RV_WORKER_LIBRARY		"ruvector"
#define RV_LAUNCHER_RESTART		10	/* seconds */

int			rv_worker_naptime = 60;
double		rv_ivf_refresh_threshold = 1.5;

/* The ivfflat indexes of ruvector in the current database */
static const char *const rv_ivf_index_query =
"SELECT c.oid FROM pg_catalog.pg_class c"
" JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) c.oid"
" JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) c.relam"
" JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) a.amhandler"
" JOIN pg_catalog.pg_depend d"
"  ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass"
"  AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'"
"  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass"
" JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid"
" WHERE e.extname OPERATOR(pg_catalog.=) 'ruvector'"
"  AND p.proname OPERATOR(pg_catalog.=) 'ivfflathandler'"
"  AND c.relkind OPERATOR(pg_catalog.=) 'i' AND c.relpersistence OPERATOR(pg_catalog.<>) 't'"
"  AND i.indisvalid"
" ORDER BY c.oid";

/* Defines the settings, and registers the launcher when preloaded */
/*
 * The registration fields the launcher and the database workers share:
 * database access once recovery has finished, entry point function of
 * this library.
 */
static void
WorkerDefine(BackgroundWorker *worker, const char *function, const char *type,
			 int restart_time)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = restart_time;
	strlcpy(worker->bgw_library_name, RV_WORKER_LIBRARY, BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

void
RvWorkerInit(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("ruvector.worker_naptime",
							"Time between two rounds of RuVector's background maintenance.",
							"Each round visits every database once.",
							&rv_worker_naptime,
							60, 1, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomRealVariable("ruvector.ivf_refresh_threshold",
							 "Drift at which the background worker refreshes an ivfflat index.",
							 "Drift is the mean distance of the rows to their list's center over "
							 "that at the last build or refresh; 0 turns automatic refreshes off.",
							 &rv_ivf_refresh_threshold,
							 1.5, 0.0, 1e9,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	WorkerDefine(&worker, "rv_worker_launcher_main", "ruvector maintenance launcher",
				 RV_LAUNCHER_RESTART);
	strlcpy(worker.bgw_name, "ruvector maintenance launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* ----------------------------------------------------------------
 *		Launcher
 * ----------------------------------------------------------------
 */

/* The databases a round visits, allocated in ctx */
static List *
LauncherListDatabases(MemoryContext ctx)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext oldCtx;

		if (!db->datallowconn || db->datistemplate)
			continue;
		oldCtx = MemoryContextSwitchTo(ctx);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(oldCtx);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

/*
 * Starts the worker of one database and waits for it to exit.  Returns
 * false if the postmaster died.
 */
static bool
LauncherRunDatabase(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	WorkerDefine(&worker, "rv_worker_database_main", "ruvector maintenance worker",
				 BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "ruvector maintenance worker for database %u", dboid);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errmsg("ruvector maintenance: no background worker slot free for database %u", dboid),
				 errhint("Raise max_worker_processes.")));
		return true;
	}
	switch (WaitForBackgroundWorkerStartup(handle, &pid))
	{
		case BGWH_STARTED:
			break;
		case BGWH_POSTMASTER_DIED:
			return false;
		default:
			return true;
	}
	return WaitForBackgroundWorkerShutdown(handle) != BGWH_POSTMASTER_DIED;
}

/*
 * Start-up common to the launcher and the database workers: SIGHUP rereads
 * the configuration, SIGTERM runs on_term; connect to dboid (InvalidOid: to
 * no database, shared catalogs only).
 */
static void
WorkerStart(pqsigfunc on_term, Oid dboid)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, on_term);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
}

/* Entry point of the launcher */
void
rv_worker_launcher_main(Datum arg)
{
	MemoryContext roundCtx;

	WorkerStart(SignalHandlerForShutdownRequest, InvalidOid);
	roundCtx = AllocSetContextCreate(TopMemoryContext, "ruvector launcher round",
									 ALLOCSET_DEFAULT_SIZES);

	ereport(LOG,
			(errmsg("ruvector maintenance launcher started: naptime %d s, ivfflat refresh threshold %g",
					rv_worker_naptime, rv_ivf_refresh_threshold)));

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) Min(rv_worker_naptime, rv_integrity_interval) * 1000L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (ShutdownRequestPending)
			continue;

		/* the tier access summary, for crash restarts (rvheap_access.c) */
		RvTierAccessSave();
		{
			List	   *dbs = LauncherListDatabases(roundCtx);
			ListCell   *lc;

			foreach(lc, dbs)
			{
				if (ShutdownRequestPending)
					break;
				if (!LauncherRunDatabase(lfirst_oid(lc)))
					proc_exit(1);
			}
			MemoryContextReset(roundCtx);
		}
	}
	proc_exit(0);
}

/* ----------------------------------------------------------------
 *		Database worker
 * ----------------------------------------------------------------
 */

/*
 * One step of a round in its own transaction (worker.h).  Errors are
 * emitted to the log here rather than re-thrown: one index that fails
 * must not end the rounds of the others.  The statement start time is
 * set so that statement_timeout and pg_stat_activity see each step.
 * The caller runs outside any transaction, so its memory context
 * outlives the step and is made current again on both paths.
 */
bool
RvWorkerRunInTransaction(RvWorkerTxnFn fn, void *arg)
{
	MemoryContext ctx = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		fn(arg);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(ctx);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(ctx);
	return ok;
}

/* The ivfflat indexes of ruvector here, or NIL without the extension */
static List *
DatabaseListIndexes(MemoryContext ctx)
{
	List	   *indexes = NIL;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid(RV_WORKER_LIBRARY, true)))
		indexes = RvSpiOidList(rv_ivf_index_query, ctx, "ivfflat indexes");
	PopActiveSnapshot();
	CommitTransactionCommand();
	return indexes;
}

/* Looks at one index in its own transaction, refreshing it if drifted */
static void
DatabaseVisitIndex(Oid indexoid)
{
	IvfAutoRefreshReport report;
	IvfAutoRefreshResult result;
	instr_time	start;
	instr_time	elapsed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "ruvector: checking ivfflat drift");

	INSTR_TIME_SET_CURRENT(start);
	/*
	 * Refreshes pause while the table's integrity gate defers or refuses
	 * medium operations (critical, by default) for the table's other
	 * indexes; throttled, they go on.  The index's own state does not
	 * count: a refresh is what cures its drift.
	 */
	{
		Oid			heapoid = IndexGetRelation(indexoid, true);
		RvIgScope	sc;

		if (OidIsValid(heapoid) &&
			RvIntegrityDecideExcept(heapoid, indexoid, RV_IG_MEDIUM, &sc) >= RV_IG_DEFER)
		{
			ereport(DEBUG1,
					(errmsg_internal("ruvector maintenance: ivfflat index %u not refreshed: integrity state %s",
									 indexoid, rv_ig_state_name(sc.state))));
			PopActiveSnapshot();
			CommitTransactionCommand();
			pgstat_report_activity(STATE_IDLE, NULL);
			return;
		}
	}
	result = IvfRefreshIfDrifted(indexoid, rv_ivf_refresh_threshold, &report);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);

	switch (result)
	{
		case IVF_AUTO_REFRESHED:
			ereport(LOG,
					(errmsg("ruvector maintenance: refreshed ivfflat index %s in database \"%s\": drift %.3f reached %g, %lld rows inserted since; %lld entries reassigned in %.3f s",
							report.name, get_database_name(MyDatabaseId), report.drift,
							rv_ivf_refresh_threshold, (long long) report.inserted,
							(long long) report.entries, INSTR_TIME_GET_DOUBLE(elapsed))));
			break;
		case IVF_AUTO_BUSY:
			ereport(DEBUG1,
					(errmsg_internal("ruvector maintenance: ivfflat index %u is busy; next round",
									 indexoid)));
			break;
		case IVF_AUTO_FINE:
			ereport(DEBUG1,
					(errmsg_internal("ruvector maintenance: ivfflat index %s: drift %.3f, threshold %g",
									 report.name, report.drift, rv_ivf_refresh_threshold)));
			break;
		case IVF_AUTO_GONE:
			break;
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Entry point of the worker of one database (bgw_main_arg) */
void
rv_worker_database_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext ctx;
	List	   *indexes;
	ListCell   *lc;

	WorkerStart(die, dboid);
	ctx = AllocSetContextCreate(TopMemoryContext, "ruvector maintenance worker",
								ALLOCSET_DEFAULT_SIZES);
	indexes = DatabaseListIndexes(ctx);
	foreach(lc, indexes)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (rv_ivf_refresh_threshold <= 0)
			break;
		DatabaseVisitIndex(lfirst_oid(lc));
	}
	RvTierWorkerRound();
	RvIntegrityWorkerRound();
	RvLearningWorkerRound();
	proc_exit(0);
}
