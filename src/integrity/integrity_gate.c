/*-------------------------------------------------------------------------
 *
 * integrity_gate.c
 *	  Where the integrity states live and how operations consult them: the
 *	  settings, the shared memory table of scopes, the decision for an
 *	  operation class, and the executor and utility hooks that enforce it.
 *
 * NOTES
 *	  With shared_preload_libraries = 'ruvector' the states of all scopes
 *	  are in shared memory (up to RV_IG_MAX_SCOPES index scopes, and the
 *	  operational scope), written by whoever samples (the worker, or
 *	  ruvector_integrity_sample) and read by every operation without any
 *	  catalog lookup.  Without preloading there is no shared memory: each
 *	  backend keeps a copy of the table ruvector_integrity_state, reread at
 *	  most once a second when a mutation needs it (the documented
 *	  difference: another backend's sample reaches this one within a
 *	  second, and there is no worker).
 *
 *	  The hot path: an atomic counter of scopes not in normal.  While it is
 *	  zero (the normal case) a gate check is one atomic read; only when it
 *	  is not are the entries of the relation looked for (a scan of at most
 *	  RV_IG_MAX_SCOPES entries under a shared LWLock).
 *
 *	  Operation classes are found from the statement: INSERT of one row
 *	  (VALUES), DELETE: low; INSERT of many rows, UPDATE, COPY FROM: medium;
 *	  CREATE INDEX: high.  REINDEX is never refused: it rebuilds the graph,
 *	  which is itself a repair.  Reads are never refused; in critical an
 *	  HNSW scan searches with ef multiplied by the policy's
 *	  search_ef_factor and as an iterative scan (relaxed_order if
 *	  hnsw.iterative_scan is off), so that searches, filtered ones too,
 *	  still return their full results.
 *
 *	  The backend-local copy is reread (RvIgLoadLocal) from the
 *	  ExecutorStart hook (INSERT, UPDATE, DELETE, MERGE; not for EXPLAIN
 *	  without ANALYZE), the ProcessUtility hook (COPY FROM and CREATE INDEX
 *	  only, recognised before anything is read, so that BEGIN ISOLATION
 *	  LEVEL and SET TRANSACTION never meet a snapshot taken here), an HNSW
 *	  scan's start (RvIntegritySearchWiden) and the SQL functions.  Each
 *	  path keeps the copy as it is instead of reading: outside a running
 *	  transaction (an aborted one too), inside a parallel operation (a
 *	  worker cannot run SPI; the leader keeps its copy as well), during
 *	  CREATE or ALTER EXTENSION and under a historic snapshot.  A read
 *	  pushes the latest snapshot: a REPEATABLE READ transaction does not
 *	  fill the copy with old states, and a procedure's statement after
 *	  COMMIT, which has no active snapshot, is gated like any other.
 *
 *	  Lock order: RvIgShared->lock only, never held while calling out.
 *
 * IDENTIFICATION
 *	  src/integrity/integrity_gate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "common/rv_extension.h"
#include "indexam/hnsw.h"
#include "integrity/integrity.h"

#define RV_IG_MAX_SCOPES	512
#define RV_IG_LOCAL_TTL_US	1000000		/* backend-local copy: 1 s */

int			rv_integrity_max_nodes = 1000;
int			rv_integrity_interval = 60;
bool		rv_integrity_gate_enabled = true;
int			rv_integrity_lag_budget_ms = 30000;
int			rv_integrity_lag_budget_kb = 65536;

typedef struct RvIgShared
{
	LWLock	   *lock;
	pg_atomic_uint32 nonNormal; /* scopes (with the operational one) not normal */
	pg_atomic_uint64 heapMask;	/* RvIgHeapBit of every table with a scope not normal */
	int			nscopes;
	RvIgScope	scopes[RV_IG_MAX_SCOPES];
	/* the operational scope */
	uint8		opState;
	double		opLambda;
	TimestampTz opSince;
	bool		opMachineValid;
	RvIgMachine opMachine;
	TimestampTz opSampled;
	TimestampTz heartbeat;
} RvIgShared;

static RvIgShared *rvIgShared = NULL;

/* Backend-local copy when not preloaded */
static RvIgScope *rvIgLocal = NULL;
static int	rvIgLocalCount = 0;
static TimestampTz rvIgLocalAt = 0;
static bool rvIgLocalLoading = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static Size
RvIgShmemSize(void)
{
	return MAXALIGN(sizeof(RvIgShared));
}

static void
RvIgShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(RvIgShmemSize());
	RequestNamedLWLockTranche("ruvector_integrity", 1);
}

static void
RvIgShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rvIgShared = ShmemInitStruct("ruvector_integrity", RvIgShmemSize(), &found);
	if (!found)
	{
		memset(rvIgShared, 0, sizeof(RvIgShared));
		rvIgShared->lock = &(GetNamedLWLockTranche("ruvector_integrity"))->lock;
		pg_atomic_init_u32(&rvIgShared->nonNormal, 0);
		pg_atomic_init_u64(&rvIgShared->heapMask, 0);
		rvIgShared->opState = RV_IG_NORMAL;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void RvIgExecutorStart(QueryDesc *queryDesc, int eflags);
static void RvIgProcessUtility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree, ProcessUtilityContext context,
							   ParamListInfo params, QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);

void
RvIntegrityInit(void)
{
	DefineCustomIntVariable("ruvector.integrity_max_nodes",
							"Most nodes of an index's contracted graph.",
							"HNSW layer 0 is contracted into at most this many regions.",
							&rv_integrity_max_nodes,
							1000, 2, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.integrity_interval",
							"Time between two integrity samples of the background worker.",
							NULL,
							&rv_integrity_interval,
							60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("ruvector.integrity_gate",
							 "Whether operations consult the integrity state of their indexes.",
							 "Off: nothing is throttled, deferred or rejected (samples go on).",
							 &rv_integrity_gate_enabled,
							 true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.integrity_lag_budget",
							"Replay lag a standby may have before the operational scope weakens.",
							NULL,
							&rv_integrity_lag_budget_ms,
							30000, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.integrity_lag_budget_bytes",
							"WAL a standby may have left to replay before the operational scope weakens.",
							NULL,
							&rv_integrity_lag_budget_kb,
							65536, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);

	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = RvIgExecutorStart;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = RvIgProcessUtility;

	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = RvIgShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = RvIgShmemStartup;
}

bool
RvIntegrityShared(void)
{
	return rvIgShared != NULL;
}

const char *
RvIgDecisionName(RvIgDecision d)
{
	switch (d)
	{
		case RV_IG_ALLOW:
			return "allow";
		case RV_IG_THROTTLE:
			return "throttle";
		case RV_IG_DEFER:
			return "defer";
		case RV_IG_REJECT:
			return "reject";
	}
	return "allow";
}

const char *
RvIgClassName(RvIgClass c)
{
	switch (c)
	{
		case RV_IG_LOW:
			return "low";
		case RV_IG_MEDIUM:
			return "medium";
		case RV_IG_HIGH:
			return "high";
	}
	return "low";
}

/*
 * One bit per (database, table): a table whose bit is clear in heapMask
 * has no scope out of normal, which the hot path learns from one atomic
 * read while other tables are in stress or critical.
 */
static inline uint64
RvIgHeapBit(Oid dbid, Oid heapid)
{
	uint32		h = (uint32) heapid * 0x9E3779B1u ^ (uint32) dbid * 0x85EBCA77u;

	return UINT64CONST(1) << ((h >> 26) & 63);
}

/* Recount the scopes not in normal (exclusive lock held) */
static void
RvIgRecount(void)
{
	uint32		n = rvIgShared->opState != RV_IG_NORMAL ? 1 : 0;
	uint64		mask = 0;

	Assert(LWLockHeldByMeInMode(rvIgShared->lock, LW_EXCLUSIVE));

	for (int i = 0; i < rvIgShared->nscopes; i++)
		if (rvIgShared->scopes[i].state != RV_IG_NORMAL)
		{
			n++;
			mask |= RvIgHeapBit(rvIgShared->scopes[i].dbid, rvIgShared->scopes[i].heapid);
		}
	pg_atomic_write_u64(&rvIgShared->heapMask, mask);
	pg_atomic_write_u32(&rvIgShared->nonNormal, n);
}

/* Store a scope's state where the gate reads it */
void
RvIntegrityPublish(const RvIgScope *scope)
{
	int			i;

	Assert(scope->state <= RV_IG_CRITICAL && OidIsValid(scope->indexid));
	if (rvIgShared == NULL)
	{
		RvIntegrityInvalidateLocal();
		return;
	}
	LWLockAcquire(rvIgShared->lock, LW_EXCLUSIVE);
	for (i = 0; i < rvIgShared->nscopes; i++)
		if (rvIgShared->scopes[i].dbid == scope->dbid &&
			rvIgShared->scopes[i].indexid == scope->indexid)
			break;
	if (i == rvIgShared->nscopes)
	{
		if (i == RV_IG_MAX_SCOPES)
		{
			LWLockRelease(rvIgShared->lock);
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("integrity state of index %u not kept in shared memory: all %d slots are used",
							scope->indexid, RV_IG_MAX_SCOPES)));
			return;
		}
		rvIgShared->nscopes++;
	}
	rvIgShared->scopes[i] = *scope;
	RvIgRecount();
	LWLockRelease(rvIgShared->lock);
}

/* Drop an index's scope (dropped index, or its state row deleted) */
void
RvIntegrityForget(Oid indexid)
{
	if (rvIgShared == NULL)
	{
		RvIntegrityInvalidateLocal();
		return;
	}
	LWLockAcquire(rvIgShared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < rvIgShared->nscopes; i++)
	{
		if (rvIgShared->scopes[i].dbid == MyDatabaseId && rvIgShared->scopes[i].indexid == indexid)
		{
			rvIgShared->scopes[i] = rvIgShared->scopes[--rvIgShared->nscopes];
			break;
		}
	}
	RvIgRecount();
	LWLockRelease(rvIgShared->lock);
}

void
RvIntegrityInvalidateLocal(void)
{
	rvIgLocalAt = 0;
}

/*
 * Reread ruvector_integrity_state into the backend-local copy (no
 * preload).  Only when the extension is installed in this database, in a
 * running transaction (not an aborted one), outside a parallel operation
 * and CREATE/ALTER EXTENSION; never recursively.  It reads under the
 * latest snapshot, pushed here, not the caller's: the copy serves the
 * backend's later transactions too, and in a REPEATABLE READ transaction
 * the caller's snapshot would keep showing the states from before it
 * began (shared memory, with preload, has no such lag); and a utility
 * statement in a procedure after COMMIT has no active snapshot at all.
 * In a transaction without a snapshot yet this takes its first one, which
 * the statement that called the gate (COPY FROM, CREATE INDEX, a DML
 * statement, a scan) takes next anyway.  Otherwise the copy stays as it
 * is, up to a second old.
 */
static void
RvIgLoadLocal(void)
{
	TimestampTz now = GetCurrentTimestamp();
	StringInfoData q;
	MemoryContext old;
	int			n;

	RvExtensionInfoData ext;
	Oid			saveUser;
	int			saveSec;

	Assert(rvIgShared == NULL);	/* the copy is only for a library not preloaded */
	if (rvIgLocalLoading || !IsTransactionState() || creating_extension || IsInParallelMode() ||
		(rvIgLocalAt != 0 && now - rvIgLocalAt < RV_IG_LOCAL_TTL_US))
		return;

	/* under a historic snapshot (logical decoding) keep the copy */
	if (HistoricSnapshotActive())
		return;
	/* no extension here, or one without the state table (0.1.0) */
	if (!RvExtensionLookup(&ext, true) ||
		!OidIsValid(get_relname_relid("ruvector_integrity_state", ext.nsp)))
	{
		rvIgLocalCount = 0;
		rvIgLocalAt = now;
		return;
	}
	rvIgLocalLoading = true;
	GetUserIdAndSecContext(&saveUser, &saveSec);
	SetUserIdAndSecContext(ext.owner, saveSec | SECURITY_LOCAL_USERID_CHANGE);
	/* popped here, or by the (sub)transaction's abort after an error */
	PushActiveSnapshot(GetLatestSnapshot());
	PG_TRY();
	{
		initStringInfo(&q);
		appendStringInfo(&q,
						 "SELECT index::pg_catalog.oid, heap::pg_catalog.oid,"
						 " CASE state WHEN 'stress' THEN 1 WHEN 'critical' THEN 2 ELSE 0 END,"
						 " actions, throttle_factor, throttle_delay_ms, search_ef_factor,"
						 " COALESCE(lambda_cut, -1), COALESCE(baseline, -1), since"
						 " FROM %s.ruvector_integrity_state WHERE state <> 'normal'",
						 RvExtensionSchemaSql());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(q.data, true, RV_IG_MAX_SCOPES) != SPI_OK_SELECT)
			elog(ERROR, "ruvector_integrity_state could not be read");
		n = (int) SPI_processed;
		old = MemoryContextSwitchTo(TopMemoryContext);
		if (rvIgLocal == NULL)
			rvIgLocal = palloc0(sizeof(RvIgScope) * RV_IG_MAX_SCOPES);
		MemoryContextSwitchTo(old);
		for (int i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	td = SPI_tuptable->tupdesc;
			RvIgScope  *sc = &rvIgLocal[i];
			bool		isnull;
			char	   *actions;

			memset(sc, 0, sizeof(*sc));
			sc->dbid = MyDatabaseId;
			sc->indexid = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
			sc->heapid = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
			sc->state = (uint8) DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull));
			actions = SPI_getvalue(tup, td, 4);
			for (int k = 0; k < RV_IG_NSTATES * RV_IG_NCLASSES; k++)
			{
				char		ch = (actions && (int) strlen(actions) > k) ? actions[k] : 'a';

				sc->actions[k / RV_IG_NCLASSES][k % RV_IG_NCLASSES] =
					ch == 't' ? RV_IG_THROTTLE : ch == 'd' ? RV_IG_DEFER : ch == 'r' ? RV_IG_REJECT : RV_IG_ALLOW;
			}
			sc->throttleFactor = DatumGetFloat4(SPI_getbinval(tup, td, 5, &isnull));
			sc->throttleDelayMs = DatumGetInt32(SPI_getbinval(tup, td, 6, &isnull));
			sc->searchEfFactor = DatumGetFloat4(SPI_getbinval(tup, td, 7, &isnull));
			sc->lambda = DatumGetFloat8(SPI_getbinval(tup, td, 8, &isnull));
			sc->baseline = DatumGetFloat8(SPI_getbinval(tup, td, 9, &isnull));
			sc->since = DatumGetTimestampTz(SPI_getbinval(tup, td, 10, &isnull));
		}
		rvIgLocalCount = n;
		SPI_finish();
		PopActiveSnapshot();
		rvIgLocalAt = now;
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saveUser, saveSec);
		rvIgLocalLoading = false;
	}
	PG_END_TRY();
}

/* Copy of the scope of an index, if it has one not in normal or any */
bool
RvIntegrityLookup(Oid indexid, RvIgScope *out)
{
	bool		found = false;

	if (rvIgShared == NULL)
	{
		RvIgLoadLocal();
		for (int i = 0; i < rvIgLocalCount; i++)
			if (rvIgLocal[i].indexid == indexid)
			{
				*out = rvIgLocal[i];
				return true;
			}
		return false;
	}
	LWLockAcquire(rvIgShared->lock, LW_SHARED);
	for (int i = 0; i < rvIgShared->nscopes; i++)
	{
		if (rvIgShared->scopes[i].dbid == MyDatabaseId && rvIgShared->scopes[i].indexid == indexid)
		{
			*out = rvIgShared->scopes[i];
			found = true;
			break;
		}
	}
	LWLockRelease(rvIgShared->lock);
	return found;
}

/*
 * The operational scope as one copy (false, and normal with no sample,
 * without shared memory: then there is no operational scope).
 */
bool
RvIntegrityGetOperational(RvIgOperational *op)
{
	memset(op, 0, sizeof(*op));
	op->state = RV_IG_NORMAL;
	op->lambda = NAN;
	if (rvIgShared == NULL)
		return false;
	LWLockAcquire(rvIgShared->lock, LW_SHARED);
	op->state = (RvIgState) rvIgShared->opState;
	op->lambda = rvIgShared->opLambda;
	op->since = rvIgShared->opSince;
	op->machineValid = rvIgShared->opMachineValid;
	op->machine = rvIgShared->opMachine;
	op->sampled = rvIgShared->opSampled;
	op->heartbeat = rvIgShared->heartbeat;
	LWLockRelease(rvIgShared->lock);
	Assert(op->state <= RV_IG_CRITICAL);
	Assert(!op->machineValid || op->machine.state == op->state);
	return true;
}

/*
 * Store a sample's outcome: state, lambda, since, the machine and when it
 * was sampled, in one go (the heartbeat is the worker's own).
 */
void
RvIntegrityPutOperational(const RvIgOperational *op)
{
	Assert(op->state <= RV_IG_CRITICAL && op->machine.state == op->state);
	if (rvIgShared == NULL)
		return;
	LWLockAcquire(rvIgShared->lock, LW_EXCLUSIVE);
	rvIgShared->opState = (uint8) op->state;
	rvIgShared->opLambda = op->lambda;
	rvIgShared->opSince = op->since;
	rvIgShared->opMachine = op->machine;
	rvIgShared->opMachineValid = true;
	rvIgShared->opSampled = op->sampled;
	RvIgRecount();
	LWLockRelease(rvIgShared->lock);
}

void
RvIntegrityHeartbeat(void)
{
	if (rvIgShared == NULL)
		return;
	LWLockAcquire(rvIgShared->lock, LW_EXCLUSIVE);
	rvIgShared->heartbeat = GetCurrentTimestamp();
	LWLockRelease(rvIgShared->lock);
}

/*
 * Actions of the operational scope (it has no policy of its own): a
 * lagging standby or a stalled worker reduces the scope of work, it does
 * not freeze the primary.  Stress defers high operations; critical also
 * throttles medium ones and refuses high ones.  Single-row work goes on.
 */
static RvIgDecision
RvIgOperationalDecision(RvIgState s, RvIgClass cls)
{
	static const uint8 op[RV_IG_NSTATES][RV_IG_NCLASSES] = {
		{RV_IG_ALLOW, RV_IG_ALLOW, RV_IG_ALLOW},
		{RV_IG_ALLOW, RV_IG_ALLOW, RV_IG_DEFER},
		{RV_IG_ALLOW, RV_IG_THROTTLE, RV_IG_REJECT}
	};

	return (RvIgDecision) op[s][cls];
}

/*
 * The decision for an operation of class cls on a table (heapid) or one
 * index (indexid, InvalidOid for all of the table's): the strictest over
 * its scopes and the operational scope.  *worst gets the scope that
 * decided (indexid InvalidOid when it was the operational scope).
 */
static RvIgDecision RvIgDecide(Oid heapid, Oid indexid, Oid exceptIndex, RvIgClass cls,
								RvIgScope *worst);

RvIgDecision
RvIntegrityDecide(Oid heapid, Oid indexid, RvIgClass cls, RvIgScope *worst)
{
	return RvIgDecide(heapid, indexid, InvalidOid, cls, worst);
}

/*
 * The same for the table's scopes but one index's own: an ivfflat refresh
 * is that index's repair, so its own state must not hold it back.
 */
RvIgDecision
RvIntegrityDecideExcept(Oid heapid, Oid exceptIndex, RvIgClass cls, RvIgScope *worst)
{
	return RvIgDecide(heapid, InvalidOid, exceptIndex, cls, worst);
}

/*
 * The strictest decision of the index scopes among scopes[0..n-1] that
 * apply (this database's, out of normal, of indexid or else of heapid's
 * indexes but exceptIndex) and d; *worst is the scope that decided.
 */
static RvIgDecision
RvIgDecideOver(const RvIgScope *scopes, int n, Oid heapid, Oid indexid, Oid exceptIndex,
			   RvIgClass cls, RvIgDecision d, RvIgScope *worst)
{
	Assert(cls < RV_IG_NCLASSES);
	for (int i = 0; i < n; i++)
	{
		const RvIgScope *sc = &scopes[i];
		RvIgDecision x;

		if (sc->dbid != MyDatabaseId || sc->state == RV_IG_NORMAL || sc->indexid == exceptIndex)
			continue;
		if (OidIsValid(indexid) ? sc->indexid != indexid : sc->heapid != heapid)
			continue;
		Assert(sc->state < RV_IG_NSTATES);
		x = (RvIgDecision) sc->actions[sc->state][cls];
		Assert(x <= RV_IG_REJECT);
		if (x > d || (x == d && sc->state > worst->state))
		{
			d = x;
			*worst = *sc;
		}
	}
	return d;
}

static RvIgDecision
RvIgDecide(Oid heapid, Oid indexid, Oid exceptIndex, RvIgClass cls, RvIgScope *worst)
{
	RvIgDecision d = RV_IG_ALLOW;

	memset(worst, 0, sizeof(*worst));
	worst->state = RV_IG_NORMAL;
	if (rvIgShared != NULL)
	{
		if (pg_atomic_read_u32(&rvIgShared->nonNormal) == 0)
			return RV_IG_ALLOW;
		/* only the operational scope, or other tables, out of normal */
		if (rvIgShared->opState == RV_IG_NORMAL &&
			(pg_atomic_read_u64(&rvIgShared->heapMask) & RvIgHeapBit(MyDatabaseId, heapid)) == 0)
			return RV_IG_ALLOW;
		LWLockAcquire(rvIgShared->lock, LW_SHARED);
		d = RvIgDecideOver(rvIgShared->scopes, rvIgShared->nscopes, heapid, indexid,
						   exceptIndex, cls, d, worst);
		if (rvIgShared->opState != RV_IG_NORMAL)
		{
			RvIgDecision x = RvIgOperationalDecision(rvIgShared->opState, cls);

			if (x > d)
			{
				d = x;
				memset(worst, 0, sizeof(*worst));
				worst->state = rvIgShared->opState;
				worst->lambda = rvIgShared->opLambda;
				worst->baseline = 100;
				worst->since = rvIgShared->opSince;
				worst->throttleFactor = 2;
				worst->throttleDelayMs = 100;
			}
		}
		LWLockRelease(rvIgShared->lock);
		return d;
	}

	RvIgLoadLocal();
	return RvIgDecideOver(rvIgLocal, rvIgLocalCount, heapid, indexid, exceptIndex, cls, d, worst);
}

/*
 * Apply the decision: return (allow), sleep (throttle), or raise the
 * gate's error (defer, reject), after recording the refusal in the audit
 * trail in a way that survives the rollback.
 */
static void RvIgEnforce(Oid heapid, Oid indexid, Oid exceptIndex, RvIgClass cls, const char *what);

void
RvIntegrityEnforce(Oid heapid, Oid indexid, RvIgClass cls, const char *what)
{
	RvIgEnforce(heapid, indexid, InvalidOid, cls, what);
}

/* Enforce for the table, leaving out one index's own scope (a refresh) */
void
RvIntegrityEnforceExcept(Oid heapid, Oid exceptIndex, RvIgClass cls, const char *what)
{
	RvIgEnforce(heapid, InvalidOid, exceptIndex, cls, what);
}

static void
RvIgEnforce(Oid heapid, Oid indexid, Oid exceptIndex, RvIgClass cls, const char *what)
{
	RvIgScope	sc;
	RvIgDecision d;
	char	   *relname;
	char	   *idxname;
	StringInfoData payload;

	if (!rv_integrity_gate_enabled)
		return;
	d = RvIgDecide(heapid, indexid, exceptIndex, cls, &sc);
	if (d == RV_IG_ALLOW)
		return;
	if (d == RV_IG_THROTTLE)
	{
		long		us = (long) Max(sc.throttleDelayMs, 0) * 1000L;

		/* sleep in slices so that a cancel is served promptly */
		while (us > 0)
		{
			CHECK_FOR_INTERRUPTS();
			pg_usleep(Min(us, 10000L));
			us -= 10000L;
		}
		return;
	}

	/* lock order: the gate's lock is never held while calling out */
	Assert(rvIgShared == NULL || !LWLockHeldByMe(rvIgShared->lock));
	relname = get_rel_name(heapid);
	idxname = OidIsValid(sc.indexid) ? get_rel_name(sc.indexid) : NULL;
	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"operation\": ");
	escape_json(&payload, what);
	appendStringInfo(&payload, ", \"class\": \"%s\", \"decision\": \"%s\", \"state\": \"%s\", \"scope\": ",
					 RvIgClassName(cls), RvIgDecisionName(d), rv_ig_state_name(sc.state));
	escape_json(&payload, idxname ? idxname : "operational");
	appendStringInfo(&payload, ", \"lambda_cut\": %.6g}", sc.lambda);
	RvIgAudit(true, d == RV_IG_REJECT ? "integrity.rejected" : "integrity.deferred",
			  OidIsValid(sc.indexid) ? sc.indexid : heapid, payload.data);

	if (idxname)
		ereport(ERROR,
				(errcode(ERRCODE_RV_INTEGRITY_GATE),
				 errmsg("%s on \"%s\" %s: index \"%s\" is in integrity state %s",
						what, relname ? relname : "?",
						d == RV_IG_REJECT ? "rejected" : "deferred", idxname,
						rv_ig_state_name(sc.state)),
				 errdetail("lambda_cut %g, baseline %g; the %s class is set to %s in that state.",
						   sc.lambda, sc.baseline, RvIgClassName(cls), RvIgDecisionName(d)),
				 errhint("Run ruvector_integrity_repair('%s') to reconnect the index; the state "
						 "returns to normal once samples stay above the threshold. "
						 "ruvector_integrity_status() shows the state.", idxname)));
	ereport(ERROR,
			(errcode(ERRCODE_RV_INTEGRITY_GATE),
			 errmsg("%s on \"%s\" %s: the operational scope is in integrity state %s",
					what, relname ? relname : "?",
					d == RV_IG_REJECT ? "rejected" : "deferred", rv_ig_state_name(sc.state)),
			 errdetail("lambda_cut %g of 100 (the weakest replication or worker link).", sc.lambda),
			 errhint("Check pg_stat_replication for a lagging standby; ruvector_integrity_status() shows the state.")));
}

/*
 * Search effort of an HNSW scan, widened while its index is critical: *ef
 * (hnsw.ef_search) multiplied by the policy's search_ef_factor, and
 * *iterative (hnsw.iterative_scan) made relaxed_order if it is off, so that
 * a filtered query goes on past the first batch and still fills its LIMIT.
 * A search_ef_factor of 1 leaves both as they are.
 */
void
RvIntegritySearchWiden(Relation index, int *ef, int *iterative)
{
	RvIgScope	sc;

	if (rvIgShared != NULL && pg_atomic_read_u32(&rvIgShared->nonNormal) == 0)
		return;
	if (rvIgShared == NULL && (rvIgLocalCount == 0 && rvIgLocalAt != 0))
		return;
	if (!RvIntegrityLookup(RelationGetRelid(index), &sc) || sc.state != RV_IG_CRITICAL ||
		sc.searchEfFactor <= 1)
		return;
	*ef = Min((int) (*ef * sc.searchEfFactor), HNSW_MAX_EF_SEARCH);
	if (*iterative == HNSW_ITERATIVE_OFF)
		*iterative = HNSW_ITERATIVE_RELAXED;
}

/* ----------------------------------------------------------------
 *		Hooks
 * ----------------------------------------------------------------
 */

/* Whether anything at all may be gated (cheap) */
static bool
RvIgAnyScope(void)
{
	if (!rv_integrity_gate_enabled)
		return false;
	if (rvIgShared != NULL)
		return pg_atomic_read_u32(&rvIgShared->nonNormal) != 0;
	RvIgLoadLocal();
	return rvIgLocalCount > 0;
}

/* Class of a data-modifying statement */
static RvIgClass
RvIgStatementClass(PlannedStmt *ps, CmdType op)
{
	Plan	   *top = ps->planTree;

	if (op == CMD_DELETE)
		return RV_IG_LOW;
	if (op == CMD_INSERT && top != NULL && IsA(top, ModifyTable))
	{
		Plan	   *sub = outerPlan(top);

		/* INSERT ... VALUES (one row): a Result without input */
		if (sub != NULL && IsA(sub, Result) && outerPlan(sub) == NULL)
			return RV_IG_LOW;
	}
	return RV_IG_MEDIUM;
}

static const char *
RvIgCmdName(CmdType op)
{
	switch (op)
	{
		case CMD_INSERT:
			return "INSERT";
		case CMD_UPDATE:
			return "UPDATE";
		case CMD_DELETE:
			return "DELETE";
		case CMD_MERGE:
			return "MERGE";
		default:
			return "statement";
	}
}

/*
 * Whether a statement on this table is surely allowed, from shared memory
 * alone: nothing is out of normal, or only other tables are.
 */
static inline bool
RvIgSurelyAllowed(Oid heapid)
{
	return rvIgShared != NULL &&
		(pg_atomic_read_u32(&rvIgShared->nonNormal) == 0 ||
		 (rvIgShared->opState == RV_IG_NORMAL &&
		  (pg_atomic_read_u64(&rvIgShared->heapMask) & RvIgHeapBit(MyDatabaseId, heapid)) == 0));
}

static void
RvIgExecutorStart(QueryDesc *queryDesc, int eflags)
{
	CmdType		op = queryDesc->operation;

	if ((op == CMD_INSERT || op == CMD_UPDATE || op == CMD_DELETE || op == CMD_MERGE) &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY) && RvIgAnyScope())
	{
		PlannedStmt *ps = queryDesc->plannedstmt;
		ListCell   *lc;

		foreach(lc, ps->resultRelations)
		{
			RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);

			if (rte->rtekind != RTE_RELATION || RvIgSurelyAllowed(rte->relid))
				continue;
			RvIntegrityEnforce(rte->relid, InvalidOid, RvIgStatementClass(ps, op),
							   RvIgCmdName(op));
		}
	}
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
RvIgProcessUtility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		isCopyFrom = IsA(stmt, CopyStmt) && ((CopyStmt *) stmt)->is_from &&
		((CopyStmt *) stmt)->relation != NULL;
	bool		isIndex = IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->relation != NULL;

	/*
	 * The statement's kind first: without preload RvIgAnyScope may read the
	 * state table, which takes a snapshot, and a snapshot taken under BEGIN
	 * ISOLATION LEVEL or SET TRANSACTION makes them fail ("must be called
	 * before any query").
	 */
	if ((isCopyFrom || isIndex) && RvIgAnyScope())
	{
		RangeVar   *rv = isCopyFrom ? ((CopyStmt *) stmt)->relation :
			((IndexStmt *) stmt)->relation;
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);

		if (OidIsValid(relid))
			RvIntegrityEnforce(relid, InvalidOid, isCopyFrom ? RV_IG_MEDIUM : RV_IG_HIGH,
							   isCopyFrom ? "COPY" : "CREATE INDEX");
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}
