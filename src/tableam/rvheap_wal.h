/*-------------------------------------------------------------------------
 *
 * rvheap_wal.h
 *	  RuVector's custom WAL resource manager ("ruvector_tier"): tier moves
 *	  of ruvector_heap pages, replayed under a cleanup lock.
 *
 * NOTES
 *	  Resource manager id RV_RMGR_ID = 151, in the custom range (128-255)
 *	  and clear of RM_EXPERIMENTAL_ID (128).  An installation that also
 *	  loads another extension registering 151 must pick another id here and
 *	  ship it to primary and standbys together (the wiki page
 *	  "CustomWALResourceManagers" is the registry; 151 is not reserved
 *	  there yet).  Registration needs shared_preload_libraries, on the
 *	  primary and on every standby: a standby that meets a record of an
 *	  unregistered rmgr stops replaying.
 *
 *	  Records:
 *
 *	  XLOG_RVTIER_COMPACT: one heap page after a tier move.
 *		Backup block 0: the page, always as a full image
 *		(REGBUF_FORCE_IMAGE): a move rewrites every tuple it touches and
 *		relocates the rest, so a logical record would be as large.
 *		Main data: xl_rvtier_compact (counts, for pg_waldump).
 *		Redo restores the image under a cleanup lock - a hot-standby query
 *		may hold a pin and read tuples through pointers into the page, as
 *		with heap pruning - and updates the free space map.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_wal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_RVHEAP_WAL_H
#define RV_RVHEAP_WAL_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "storage/buf.h"

#define RV_RMGR_ID			151
#define RV_RMGR_NAME		"ruvector_tier"

/* Op codes, in the high bits of the record's info. */
#define XLOG_RVTIER_COMPACT	0x00
#define XLOG_RVTIER_OPMASK	0x70

typedef struct xl_rvtier_compact
{
	uint16		nmoved;			/* vectors re-encoded */
	uint16		ntuples;		/* tuples rewritten */
	uint32		freed;			/* bytes of tuple space freed */
	uint8		tier;			/* coldest tier written */
} xl_rvtier_compact;

#define SizeOfRvTierCompact	(offsetof(xl_rvtier_compact, tier) + sizeof(uint8))

/* rvheap_wal.c */
extern void RvWalInit(void);
extern bool RvWalAvailable(void);
extern void RvWalCheckAvailable(const char *what);
extern XLogRecPtr RvWalLogCompact(Buffer buffer, const xl_rvtier_compact *xlrec);

#endif							/* RV_RVHEAP_WAL_H */
