/*
 * rvio.c — batched read-ahead of relation blocks through io_uring, with
 * PrefetchBuffer as the fallback.
 *
 * RvIoPrefetch(rel, fork, blocks, n) starts reading every listed block that
 * is not in shared buffers and returns without waiting.  The caller then
 * reads the blocks through the buffer manager as it always did; those
 * reads find the pages in the kernel's page cache, or wait only for the one
 * block they need while the others are still on their way.  What a read
 * returns never depends on this module: it moves no data into shared
 * buffers, takes no buffer locks and WAL-logs nothing.
 *
 * NOTES
 *	Method (ruvector.io_method): "auto" uses io_uring when this backend can
 *	set up a ring (kernel.io_uring_disabled, seccomp and container profiles
 *	can refuse it) and PrefetchBuffer otherwise; "io_uring" asks for it and
 *	falls back the same way; "prefetch" and "off" force the others.
 *	ruvector_io_method() says which one a backend uses and why.  Temporary
 *	relations live in local buffers and always take PrefetchBuffer.
 *
 *	The ring is made on first use in each backend (never in the postmaster,
 *	whose children must not share it) with RVIO_DEPTH slots of one block
 *	each, in TopMemoryContext, so a read still in flight when a query ends
 *	or fails writes into memory that stays ours; completions are reaped at
 *	the next call, and the ring is torn down at process exit.  The kernel
 *	takes its own reference to a file when a read is submitted, so the
 *	segment files are opened per call (BasicOpenFile, which makes room
 *	among PostgreSQL's cached descriptors) and closed right after the
 *	submit.  Reads are issued in the caller's order, not the file's: the
 *	caller reads the first blocks first.  Buffered reads that miss the
 *	page cache are served by the kernel's io-wq workers, so the ring raises
 *	their limit to its depth.  A failed read (res < 0) is ignored: it was only a hint, and the
 *	buffer manager's own read reports any real error.
 *
 *	Which blocks need a read: a lookup in the buffer mapping table under
 *	the partition's lock, as PrefetchBuffer does; a block that enters
 *	shared buffers meanwhile costs one needless kernel read, nothing more.
 *	When the first RVIO_PROBE blocks of a batch are all in shared buffers
 *	the batch is taken as cached and nothing is read ahead: a table that
 *	fits in memory, the common case, then pays a few lookups per batch, not
 *	one per row (a batch cached at its head and not at its tail loses its
 *	reads ahead; the buffer manager still reads it correctly).
 *
 *	Lock order: one buffer mapping partition lock at a time, shared, held
 *	for a single lookup; no other locks.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>
#include <liburing.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/smgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "io/rvio.h"

#define RVIO_DEPTH 64
#define RVIO_MAXSEG 8			/* segment files open at once in one batch */
#define RVIO_PROBE 8			/* blocks looked up before deciding the batch is cached */

PG_FUNCTION_INFO_V1(ruvector_io_method);
PG_FUNCTION_INFO_V1(ruvector_io_stats);

int			rv_io_method = RVIO_AUTO;

static const struct config_enum_entry rvio_method_options[] = {
	{"auto", RVIO_AUTO, false},
	{"io_uring", RVIO_IO_URING, false},
	{"prefetch", RVIO_PREFETCH, false},
	{"off", RVIO_OFF, false},
	{NULL, 0, false}
};

typedef enum RvIoRingState
{
	RVIO_RING_UNTRIED,
	RVIO_RING_READY,
	RVIO_RING_FAILED
} RvIoRingState;

static RvIoRingState ring_state = RVIO_RING_UNTRIED;
static char ring_why[128];
static struct io_uring ring;
static char *ring_slots;		/* RVIO_DEPTH blocks */
static int	ring_free[RVIO_DEPTH];	/* free slot numbers */
static int	ring_nfree;

/* this backend's counters, for ruvector_io_stats() */
static struct
{
	int64		batches;		/* RvIoPrefetch calls with blocks */
	int64		blocks;			/* blocks they listed */
	int64		cached;			/* batches found cached at their head */
	int64		reads;			/* io_uring reads submitted */
	int64		prefetches;		/* PrefetchBuffer calls */
} rvio_stats;

/* Defines ruvector.io_method (from _PG_init). */
void
RvIoInit(void)
{
	DefineCustomEnumVariable("ruvector.io_method",
							 "How batched reads ahead are issued: auto, io_uring, prefetch or off.",
							 "auto takes io_uring where the kernel allows it, else prefetch "
							 "(posix_fadvise through PrefetchBuffer).",
							 &rv_io_method, RVIO_AUTO, rvio_method_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
}

const char *
RvIoMethodName(RvIoMethod m)
{
	switch (m)
	{
		case RVIO_AUTO:
			return "auto";
		case RVIO_IO_URING:
			return "io_uring";
		case RVIO_PREFETCH:
			return "prefetch";
		case RVIO_OFF:
			return "off";
	}
	return "?";
}

static void
RvIoRingClose(int code, Datum arg)
{
	if (ring_state == RVIO_RING_READY)
		io_uring_queue_exit(&ring);
	ring_state = RVIO_RING_FAILED;
	snprintf(ring_why, sizeof(ring_why), "process exiting");
}

/* Sets up this backend's ring once; false (with ring_why) if refused. */
static bool
RvIoRingReady(void)
{
	int			rc;

	if (ring_state != RVIO_RING_UNTRIED)
		return ring_state == RVIO_RING_READY;
	if (!IsUnderPostmaster)
	{
		/* the postmaster's ring would be inherited by every child */
		snprintf(ring_why, sizeof(ring_why), "not in the postmaster");
		return false;
	}
	rc = io_uring_queue_init(RVIO_DEPTH, &ring, 0);
	if (rc < 0)
	{
		ring_state = RVIO_RING_FAILED;
		snprintf(ring_why, sizeof(ring_why), "io_uring unavailable: %s", strerror(-rc));
		return false;
	}
	/*
	 * A buffered read that misses the page cache goes to the kernel's io-wq
	 * workers, of which only 4 per CPU may block at a time by default: let
	 * as many as the ring has slots, or the reads queue behind each other.
	 */
	{
		unsigned int workers[2] = {RVIO_DEPTH, 0};

		(void) io_uring_register_iowq_max_workers(&ring, workers);
	}
	ring_slots = MemoryContextAlloc(TopMemoryContext, (Size) RVIO_DEPTH * BLCKSZ);
	for (int i = 0; i < RVIO_DEPTH; i++)
		ring_free[i] = i;
	ring_nfree = RVIO_DEPTH;
	ring_state = RVIO_RING_READY;
	on_proc_exit(RvIoRingClose, (Datum) 0);
	return true;
}

/* The method this backend uses now; *why says why it is not io_uring. */
RvIoMethod
RvIoMethodInUse(const char **why)
{
	if (why)
		*why = NULL;
	if (rv_io_method == RVIO_OFF || rv_io_method == RVIO_PREFETCH)
		return (RvIoMethod) rv_io_method;
	if (RvIoRingReady())
		return RVIO_IO_URING;
	if (why)
		*why = ring_why;
	return RVIO_PREFETCH;
}

/* Frees the slots of finished reads; with wait, waits for one first. */
static void
RvIoReap(bool wait)
{
	struct io_uring_cqe *cqe;

	if (wait && io_uring_wait_cqe(&ring, &cqe) < 0)
		return;
	while (io_uring_peek_cqe(&ring, &cqe) == 0)
	{
		Assert(ring_nfree < RVIO_DEPTH);
		ring_free[ring_nfree++] = (int) io_uring_cqe_get_data64(cqe);
		io_uring_cqe_seen(&ring, cqe);
	}
}

static bool
RvIoInSharedBuffers(Relation rel, ForkNumber fork, BlockNumber blkno)
{
	BufferTag	tag;
	uint32		hash;
	LWLock	   *lock;
	int			id;

	INIT_BUFFERTAG(tag, RelationGetSmgr(rel)->smgr_rnode.node, fork, blkno);
	hash = BufTableHashCode(&tag);
	lock = BufMappingPartitionLock(hash);
	LWLockAcquire(lock, LW_SHARED);
	id = BufTableLookup(&tag, hash);
	LWLockRelease(lock);
	return id >= 0;
}

/*
 * True when the first RVIO_PROBE blocks are all in shared buffers: the
 * working set is most likely cached, and looking up every block would cost
 * a query that reads from memory more than the reads ahead could save.
 */
static bool
RvIoLooksCached(Relation rel, ForkNumber fork, const BlockNumber *blocks, int n)
{
	for (int i = 0; i < Min(n, RVIO_PROBE); i++)
		if (!RvIoInSharedBuffers(rel, fork, blocks[i]))
			return false;
	return true;
}

static int
RvIoOpenSegment(Relation rel, ForkNumber fork, BlockNumber segno)
{
	char	   *path = relpath(RelationGetSmgr(rel)->smgr_rnode, fork);
	char	   *segpath = segno == 0 ? path : psprintf("%s.%u", path, segno);
	int			fd = BasicOpenFile(segpath, O_RDONLY | PG_BINARY);

	pfree(path);
	if (segpath != path)
		pfree(segpath);
	return fd;
}

/* Queues one read; the caller submits. */
static void
RvIoQueue(int fd, BlockNumber blkno)
{
	struct io_uring_sqe *sqe;
	int			slot;

	if (ring_nfree == 0)
	{
		io_uring_submit(&ring);
		RvIoReap(true);
		if (ring_nfree == 0)
			return;				/* the wait failed: skip the hint */
	}
	sqe = io_uring_get_sqe(&ring);
	if (sqe == NULL)
	{
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
		if (sqe == NULL)
			return;
	}
	slot = ring_free[--ring_nfree];
	rvio_stats.reads++;
	io_uring_prep_read(sqe, fd, ring_slots + (Size) slot * BLCKSZ, BLCKSZ,
					   (off_t) (blkno % RELSEG_SIZE) * BLCKSZ);
	io_uring_sqe_set_data64(sqe, (uint64) slot);
}

/* Submits the queued reads, then closes their files (the kernel holds them). */
static void
RvIoSubmitAndClose(int *fds, int *nfds)
{
	io_uring_submit(&ring);
	for (int i = 0; i < *nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	*nfds = 0;
}

/*
 * Starts reads of the blocks (distinct, in the caller's order: the nearest
 * candidates' first) that are not in shared buffers.
 */
static void
RvIoUringPrefetch(Relation rel, ForkNumber fork, BlockNumber *blocks, int n)
{
	int			fds[RVIO_MAXSEG];
	BlockNumber segs[RVIO_MAXSEG];
	int			nfds = 0;

	RvIoReap(false);
	for (int i = 0; i < n; i++)
	{
		BlockNumber seg = blocks[i] / RELSEG_SIZE;
		int			f = 0;

		if (RvIoInSharedBuffers(rel, fork, blocks[i]))
			continue;
		while (f < nfds && segs[f] != seg)
			f++;
		if (f == nfds)
		{
			if (nfds == RVIO_MAXSEG)
				RvIoSubmitAndClose(fds, &nfds);
			f = nfds++;
			segs[f] = seg;
			fds[f] = RvIoOpenSegment(rel, fork, seg);
		}
		if (fds[f] >= 0)
			RvIoQueue(fds[f], blocks[i]);
	}
	RvIoSubmitAndClose(fds, &nfds);
}

/*
 * Starts reading the n blocks of rel's fork that the caller is about to
 * read; returns at once.  Blocks may repeat and come in any order.
 */
void
RvIoPrefetch(Relation rel, ForkNumber fork, const BlockNumber *blocks, int n)
{
	RvIoMethod m;
	BlockNumber *distinct;
	int			k = 0;

	if (n <= 0 || rv_io_method == RVIO_OFF)
		return;
	rvio_stats.batches++;
	rvio_stats.blocks += n;
	m = RelationUsesLocalBuffers(rel) ? RVIO_PREFETCH : RvIoMethodInUse(NULL);
	if (!RelationUsesLocalBuffers(rel) && RvIoLooksCached(rel, fork, blocks, n))
	{
		rvio_stats.cached++;
		return;
	}
	if (m == RVIO_PREFETCH)
	{
		for (int i = 0; i < n; i++)
			PrefetchBuffer(rel, fork, blocks[i]);
		rvio_stats.prefetches += n;
		return;
	}
	/*
	 * Once each, in the caller's order: the re-rank fetches nearest first,
	 * and the first reads issued are the first to arrive.  A batch is a few
	 * hundred blocks at most, so the quadratic search for repeats costs
	 * microseconds against reads of a tenth of a millisecond and more.
	 */
	distinct = palloc(sizeof(BlockNumber) * n);
	for (int i = 0; i < n; i++)
	{
		int			j = 0;

		while (j < k && distinct[j] != blocks[i])
			j++;
		if (j == k)
			distinct[k++] = blocks[i];
	}
	RvIoUringPrefetch(rel, fork, distinct, k);
	pfree(distinct);
}

/* ruvector_io_method() RETURNS text: the method this backend uses, and why. */
Datum
ruvector_io_method(PG_FUNCTION_ARGS)
{
	const char *why;
	RvIoMethod m = RvIoMethodInUse(&why);

	if (why != NULL)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s (%s)", RvIoMethodName(m), why)));
	PG_RETURN_TEXT_P(cstring_to_text(RvIoMethodName(m)));
}

/*
 * ruvector_io_stats(): this backend's reads ahead since it started — the
 * method, batches asked for, blocks listed, batches found cached at their
 * head (nothing read ahead), io_uring reads submitted, PrefetchBuffer calls.
 */
Datum
ruvector_io_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(RvIoMethodName(RvIoMethodInUse(NULL)));
	values[1] = Int64GetDatum(rvio_stats.batches);
	values[2] = Int64GetDatum(rvio_stats.blocks);
	values[3] = Int64GetDatum(rvio_stats.cached);
	values[4] = Int64GetDatum(rvio_stats.reads);
	values[5] = Int64GetDatum(rvio_stats.prefetches);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
