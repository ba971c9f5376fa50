/*
 * rvio.h — batched read-ahead of relation blocks: io_uring, or
 * PrefetchBuffer where io_uring is not available, or nothing.
 *
 * A caller that is about to read a known set of blocks (the heap rows an
 * exact re-rank fetches, the blocks a scan reaches next) hands them all to
 * RvIoPrefetch first; the reads then overlap on the device instead of
 * waiting one random read at a time.  The blocks are still read through
 * the buffer manager afterwards, as before: this module only warms the
 * kernel's page cache and never changes what a read returns.
 */
#ifndef RVIO_H
#define RVIO_H

#include "storage/block.h"
#include "common/relpath.h"
#include "utils/relcache.h"

typedef enum RvIoMethod
{
	RVIO_AUTO,					/* io_uring if this kernel allows it, else prefetch */
	RVIO_IO_URING,
	RVIO_PREFETCH,				/* PrefetchBuffer: posix_fadvise(WILLNEED) */
	RVIO_OFF
} RvIoMethod;

extern int	rv_io_method;		/* ruvector.io_method */

extern void RvIoInit(void);
extern RvIoMethod RvIoMethodInUse(const char **why);
extern const char *RvIoMethodName(RvIoMethod m);
extern void RvIoPrefetch(Relation rel, ForkNumber fork, const BlockNumber *blocks, int n);

#endif							/* RVIO_H */
