/*-------------------------------------------------------------------------
 *
 * integrity.h
 *	  The integrity control plane: every vector index (and the cluster's
 *	  replication and workers, the "operational" scope) measures its own
 *	  connectivity, has a state normal / stress / critical, and the
 *	  operations on it consult that state through the gate.
 *
 * NOTES
 *	  Files:
 *	    igalgo.h, ig*.c       pure computations (min cut, lambda2, states)
 *	    integrity_graph.c     contracted graphs: HNSW regions, ivfflat lists,
 *	                          the operational scope
 *	    integrity_gate.c      shared memory (or backend-local) states, the
 *	                          decision per state and operation class, the
 *	                          executor and utility hooks that enforce it
 *	    integrity.c           SQL functions, policies, state updates, audit
 *
 *	  Lock order: RvIgShared->lock (an LWLock, held only to copy entries,
 *	  never while calling out); relation locks are taken before it, never
 *	  after.
 *
 * IDENTIFICATION
 *	  src/integrity/integrity.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_INTEGRITY_H
#define RV_INTEGRITY_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "integrity/igalgo.h"

/* The SQLSTATE of a rejected or deferred operation (class 55) */
#define ERRCODE_RV_INTEGRITY_GATE	MAKE_SQLSTATE('5','5','R','V','1')

/* Operation classes */
typedef enum RvIgClass
{
	RV_IG_LOW = 0,				/* search, single-row insert/delete */
	RV_IG_MEDIUM = 1,			/* bulk COPY / INSERT ... SELECT, UPDATE, ivf refresh */
	RV_IG_HIGH = 2				/* CREATE INDEX / REINDEX, compaction, tier demotion */
} RvIgClass;

#define RV_IG_NCLASSES	3
#define RV_IG_NSTATES	3

/* Decisions */
typedef enum RvIgDecision
{
	RV_IG_ALLOW = 0,
	RV_IG_THROTTLE = 1,
	RV_IG_DEFER = 2,
	RV_IG_REJECT = 3
} RvIgDecision;

/* A policy, parsed (integrity.c) */
typedef struct RvIgPolicy
{
	RvIgParams	params;
	bool		autoRepair;
	bool		autoRebuild;	/* the worker rebuilds an index entering critical */
	double		unreachableTolerance;	/* fraction of live rows; beyond: signal 0 */
	double		throttleFactor; /* >= 1 */
	int			throttleDelayMs;
	double		searchEfFactor;
	uint8		actions[RV_IG_NSTATES][RV_IG_NCLASSES];	/* RvIgDecision */
} RvIgPolicy;

/* What the gate knows of one index scope (shared memory or backend-local) */
typedef struct RvIgScope
{
	Oid			dbid;
	Oid			indexid;
	Oid			heapid;
	uint8		state;			/* RvIgState */
	uint8		actions[RV_IG_NSTATES][RV_IG_NCLASSES];
	float4		throttleFactor;
	int32		throttleDelayMs;
	float4		searchEfFactor; /* ef multiplier for scans in critical */
	double		lambda;
	double		baseline;
	TimestampTz since;
	TimestampTz sampledAt;
} RvIgScope;

/* The operational scope as kept in shared memory (integrity_gate.c) */
typedef struct RvIgOperational
{
	RvIgState	state;
	double		lambda;			/* the last sample's signal; NaN: none */
	TimestampTz since;			/* entered state; 0: never sampled */
	bool		machineValid;	/* machine and sampled are set */
	RvIgMachine machine;
	TimestampTz sampled;		/* the last sample */
	TimestampTz heartbeat;		/* the worker's last round; 0: none */
} RvIgOperational;

/* Settings (integrity_gate.c) */
extern int	rv_integrity_max_nodes;
extern int	rv_integrity_interval;
extern bool rv_integrity_gate_enabled;
extern int	rv_integrity_lag_budget_ms;
extern int	rv_integrity_lag_budget_kb;

/* integrity_gate.c */
extern void RvIntegrityInit(void);
extern bool RvIntegrityShared(void);
extern void RvIntegrityPublish(const RvIgScope *scope);
extern void RvIntegrityForget(Oid indexid);
extern bool RvIntegrityLookup(Oid indexid, RvIgScope *out);
extern bool RvIntegrityGetOperational(RvIgOperational *op);
extern void RvIntegrityPutOperational(const RvIgOperational *op);
extern void RvIntegrityHeartbeat(void);
extern void RvIntegrityInvalidateLocal(void);
extern RvIgDecision RvIntegrityDecide(Oid heapid, Oid indexid, RvIgClass cls,
									  RvIgScope *worst);
extern void RvIntegrityEnforce(Oid heapid, Oid indexid, RvIgClass cls, const char *what);
extern RvIgDecision RvIntegrityDecideExcept(Oid heapid, Oid exceptIndex, RvIgClass cls,
											RvIgScope *worst);
extern void RvIntegrityEnforceExcept(Oid heapid, Oid exceptIndex, RvIgClass cls,
									 const char *what);
extern void RvIntegritySearchWiden(Relation index, int *ef, int *iterative);
extern const char *RvIgDecisionName(RvIgDecision d);
extern const char *RvIgClassName(RvIgClass c);

/*
 * The regions of an HNSW contraction themselves, for a caller that wants
 * the graph and not only its cut (the learning loop, src/gnn/learning.c):
 * filled by RvIgSampleHnsw when RvIgSample.regions is set.
 */
typedef struct RvIgRegions
{
	int			nsample;		/* in: heap TIDs wanted per region */
	uint32		nregions;
	uint32	   *size;			/* elements per region */
	uint32		npairs;
	RvIgEdge   *pairs;			/* w: layer-0 links between the two regions */
	ItemPointerData *sample;	/* nregions * nsample, invalid where fewer */
} RvIgRegions;

/* integrity_graph.c: one sample of a contracted graph */
typedef struct RvIgSample
{
	const char *kind;			/* "hnsw", "ivfflat", "operational" */
	uint32		nodes;
	uint32		edges;
	double		lambdaCut;		/* -1: no cut (fewer than 2 nodes) */
	double		lambda2;
	int64		elements;
	int64		live;
	int64		unreachable;
	int64		oneWay;			/* reached, but not leading back to the entry point */
	double		signal;			/* what the state machine is fed */
	StringInfoData witness;		/* JSON array */
	StringInfoData extra;		/* more JSON members, each starting with ", " */
	double		elapsedMs;
	Oid			relfilenode;	/* of the index when sampled: a new one is a new build */
	bool		rebaseline;		/* right after a repair: a clean graph is the new baseline */
	RvIgRegions *regions;		/* if set: the regions too (HNSW only) */
} RvIgSample;

extern void RvIgSampleHnsw(Relation index, RvIgSample *s);
extern void RvIgSampleIvf(Relation index, RvIgSample *s);
extern void RvIgSampleOperational(RvIgSample *s);

/* integrity.c */
extern void RvIgPolicyDefault(RvIgPolicy *p);
extern void RvIgAudit(bool detached, const char *event_type, Oid target,
					  const char *payload_json);
extern bool RvIntegrityIsScopedIndex(Relation index, const char **kind);
extern void RvIntegrityWorkerRound(void);

#endif							/* RV_INTEGRITY_H */
