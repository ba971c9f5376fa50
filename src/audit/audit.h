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
 * payload_json is the text of a JSON object (may be NULL for '{}'); target
 * may be InvalidOid.  Each event is also written to the server log as one
 * JSON line (LOG level), the way SIEMs collect PostgreSQL events.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUVECTOR_AUDIT_H
#define RUVECTOR_AUDIT_H

#include "postgres.h"

/*
 * RvAuditEvent appends an event in the caller's transaction: it becomes
 * visible, and part of the chain, only if the caller commits.  For the
 * record of an operation that succeeded.
 */
extern void RvAuditEvent(const char *event_type, Oid target,
						 const char *payload_json);

/*
 * RvAuditEventDetached appends an event that survives the caller's
 * rollback: the record of an operation that is about to be rejected with an
 * ERROR, or of a state transition found by a background worker.  The event
 * is written to the log at once and appended to the table independently of
 * the caller's transaction.
 */
extern void RvAuditEventDetached(const char *event_type, Oid target,
								 const char *payload_json);

#endif							/* RUVECTOR_AUDIT_H */
