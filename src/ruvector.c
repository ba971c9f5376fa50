/*
 * ruvector.c — the extension's entry point.
 *
 * _PG_init runs once per backend that loads the library (or once in the
 * postmaster with shared_preload_libraries).  It picks the distance kernels
 * for this CPU; later subsystems register their GUCs, shared memory, WAL
 * resource manager and background workers from here, in that order, so the
 * order of start-up work is visible in one place.  Each subsystem exposes
 * one entry point named Rv<Subsystem>Init().
 */
#include "postgres.h"

#include "fmgr.h"

#include "distance/distance.h"
#include "gnn/learning.h"
#include "graph/graph.h"
#include "indexam/hnsw.h"
#include "indexam/indexam.h"
#include "indexam/ivfflat.h"
#include "integrity/integrity.h"
#include "io/rvio.h"
#include "shard/shard.h"
#include "tableam/tableam.h"
#include "worker/worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	RvDistanceInit();
	RvIndexamInit();
	RvIvfflatInit();
	RvHnswInit();
	RvIoInit();
	RvTableamInit();
	RvGraphInit();
	RvIntegrityInit();
	RvLearningInit();
	RvWorkerInit();
	RvShardInit();
}
