/*-------------------------------------------------------------------------
 *
 * audit_int.h
 *	  Declarations shared by the files of src/audit (not for other
 *	  subsystems: they use audit.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUVECTOR_AUDIT_INT_H
#define RUVECTOR_AUDIT_INT_H

#include "postgres.h"

#include "executor/spi.h"

#include "audit/audit.h"
#include "audit/audit_codec.h"

/* under the data directory */
#define RV_AUDIT_DIR			"pg_ruvector"
#define RV_AUDIT_KEY_FILE		RV_AUDIT_DIR "/audit_ed25519.key"
#define RV_AUDIT_SPOOL_DIR		RV_AUDIT_DIR "/audit_spool"
#define RV_AUDIT_TABLE			"ruvector_audit_events"
/* the columns in the order RvAuditTupleToRecord reads them */
#define RV_AUDIT_COLUMNS \
	"seq, event_time, actor, event_type, target_oid, target_name, " \
	"payload::pg_catalog.text, spool_id, prev_hash, signer, signature"

/* A row read back from the table: the record, its encoding, its signature. */
typedef struct RvAuditRow
{
	RvAuditRecord rec;
	uint8	   *msg;
	size_t		msg_len;
	uint8		sig[RV_AUDIT_SIG_BYTES];
	bool		malformed;		/* prev_hash, signer or signature of the wrong size */
} RvAuditRow;

/* audit.c */
extern void RvAuditCryptoInit(void);
extern bool RvAuditExtension(Oid *owner, Oid *schema, Oid *table);
extern const char *RvAuditTableName(Oid schema);
extern void RvAuditTupleToRow(HeapTuple tup, TupleDesc desc, RvAuditRow *row);
extern int64 RvAuditAppendLocked(const char *table, RvAuditRecord *rec);
extern void RvAuditAtCommitUnlink(const char *path);
extern char *RvAuditLogLine(const RvAuditRecord *rec, const char *state,
							const uint8 *hash);
extern void RvAuditCheckEventType(const char *event_type, int elevel);
extern bool RvAuditDrainNow(void);

/* audit_key.c */
extern bool RvAuditKeyLoad(bool create, uint8 pk[RV_AUDIT_PK_BYTES],
						   uint8 sk[RV_AUDIT_SK_BYTES]);
extern void RvAuditKeyMissing(void) pg_attribute_noreturn();

/* audit_spool.c */
extern int	RvAuditOpenForRead(const char *path, const char *kind);
extern int	RvAuditCreateFile(const char *path, int flags, const char *what);
extern void RvAuditSpoolWrite(const RvAuditRecord *rec);
extern void RvAuditSpoolDrainLocked(const char *table);
extern void RvAuditSpoolStartWorker(Oid dbid);

#endif							/* RUVECTOR_AUDIT_INT_H */
