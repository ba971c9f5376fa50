/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  The signed, hash-chained audit trail: one append-only table
 *	  (ruvector_audit_events) of events, each signed with the cluster's
 *	  Ed25519 key (libsodium) over the row and the previous row's hash.
 *
 * Every administrative call of the extension (tier policies, compaction,
 * IVF refresh, graph create/drop, integrity policies and repairs, grants the
 * extension makes) and every integrity state transition or rejection goes
 * through the two functions below; no other code writes the table.
 *
 * Arguments (both functions):
 *	  event_type	1 to 63 bytes of [a-z0-9_.], starting with a letter, by
 *					convention "<subsystem>.<what>" (e.g. "tier.set",
 *					"integrity.transition", "integrity.rejected"); anything
 *					else is an ERROR (a programming error).
 *	  target		the pg_class oid of the relation concerned (its
 *					schema-qualified name is recorded too), or InvalidOid.
 *	  payload_json	the text of a JSON object (NULL for '{}'); it is stored
 *					as jsonb.  Not an object: ERROR.
 * The actor recorded is the current user (GetUserId()) at the call.  The
 * caller needs no privilege on the table: the writer switches to the
 * extension's owner.
 *
 * Each event is also written to the server log as one JSON line (LOG
 * level), the way SIEMs collect PostgreSQL events (docs/security.md).
 *
 * Implementation: src/audit/audit.c (append, chain, signing),
 * audit_spool.c (detached events), audit_key.c, audit_verify.c, and the
 * server-free audit_codec.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUVECTOR_AUDIT_H
#define RUVECTOR_AUDIT_H

#include "postgres.h"

/*
 * RvAuditEvent appends an event in the caller's transaction: it becomes
 * visible, and part of the chain, only if the caller commits (its log line
 * is written at commit; a rolled-back event leaves no trace and no hole).
 * For the record of an operation that succeeded: call it after the
 * operation's own work and locks.  It takes an EXCLUSIVE lock on the audit
 * table held to the end of the transaction (appends are serialized; readers
 * are not blocked).  Needs a transaction in a database with the extension;
 * ERROR in a read-only transaction or on a standby.
 */
extern void RvAuditEvent(const char *event_type, Oid target,
						 const char *payload_json);

/*
 * RvAuditEventDetached records an event that survives the caller's
 * rollback: the record of an operation that is about to be rejected with an
 * ERROR, or of a state transition found by a background worker.  The event
 * is logged at once and written durably to a spool file; a background
 * worker (or the next RvAuditEvent of the database) appends it to the table
 * independently of the caller's transaction, usually within a fraction of
 * a second.  It never waits for a lock, so it may be called while holding
 * any, the audit table's included.  Call it before the ereport(ERROR), not
 * from a PG_CATCH block.  Outside a transaction the target's name
 * and the actor's role name are not looked up.  On a standby the event is
 * only logged.
 */
extern void RvAuditEventDetached(const char *event_type, Oid target,
								 const char *payload_json);

/*
 * RvAdminAudit is RvAuditEvent for the administrative calls of the tiers
 * and the index methods, skipped while the extension's SQL is still
 * 0.1.0's, which has no audit table: the 0.2.0 library serves 0.1.0 until
 * ALTER EXTENSION UPDATE, and an unaudited call there is what 0.1.0 did.
 */
extern void RvAdminAudit(const char *event_type, Oid target,
						 const char *payload_json);

#endif							/* RUVECTOR_AUDIT_H */
