/*-------------------------------------------------------------------------
 *
 * rv_extension.h
 *	  The ruvector extension's own catalog entry, in one place: its schema,
 *	  owner and version (one pg_extension scan), its tables, running a
 *	  piece of code as its owner, and listing the oids of its objects
 *	  (relations with a tier policy, its indexes) with one query.  Shared by
 *	  the table AM, the tier codecs, the graph, integrity, audit and the
 *	  maintenance worker.
 *
 * NOTES
 *	  The extension is relocatable, so its schema is looked up at run time
 *	  and every name in generated SQL is qualified with it.
 *
 * IDENTIFICATION
 *	  src/common/rv_extension.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_EXTENSION_H
#define RV_EXTENSION_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* The extension's row of pg_extension. */
typedef struct RvExtensionInfoData
{
	Oid			oid;
	Oid			nsp;			/* extnamespace */
	Oid			owner;			/* extowner */
	char	   *version;		/* extversion, palloc'd; NULL if null */
} RvExtensionInfoData;

/* rv_extension.c */
extern bool RvExtensionLookup(RvExtensionInfoData *info, bool missing_ok);
extern Oid	RvExtensionNamespace(void);
extern char *RvExtensionSchemaSql(void);
extern Oid	RvExtensionTable(const char *relname);
extern void RvRunAsExtensionOwner(void (*fn) (void *), void *arg);
extern List *RvSpiOidList(const char *sql, MemoryContext ctx, const char *what);

#endif							/* RV_EXTENSION_H */
