/*-------------------------------------------------------------------------
 *
 * rv_extension.h
 *	  The ruvector extension's own catalog entry, in one place: its schema,
 *	  owner and version (one pg_extension scan), its tables, and running a
 *	  piece of code as its owner.  Shared by the table AM, the tier codecs,
 *	  the graph, integrity and audit.
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
extern Oid	RvExtensionTable(const char *relname);
extern void RvRunAsExtensionOwner(void (*fn) (void *), void *arg);

#endif							/* RV_EXTENSION_H */
