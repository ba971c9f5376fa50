/*-------------------------------------------------------------------------
 *
 * audit_codec.h
 *	  The server-free part of the audit trail: the canonical encoding of an
 *	  event, its hash, its Ed25519 signature, the check of one link of the
 *	  chain, the spool record of a detached event and the key file's text.
 *
 * Nothing here includes postgres.h, so Check tests it without a server
 * (test/unit/test_audit.c).  Buffers are the caller's; libsodium does the
 * cryptography (rv_audit_crypto_init must have been called once).
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUVECTOR_AUDIT_CODEC_H
#define RUVECTOR_AUDIT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_AUDIT_HASH_BYTES		32	/* SHA-256 */
#define RV_AUDIT_SIG_BYTES		64	/* Ed25519 detached signature */
#define RV_AUDIT_PK_BYTES		32	/* Ed25519 public key */
#define RV_AUDIT_SK_BYTES		64	/* libsodium secret key (seed + public key) */
#define RV_AUDIT_SEED_BYTES		32	/* what the key file holds */
/* the key file: a tag line, then the seed in hex, then a newline */
#define RV_AUDIT_KEYFILE_TAG	"ruvector-audit-ed25519-v1\n"
#define RV_AUDIT_KEYFILE_LEN	(sizeof(RV_AUDIT_KEYFILE_TAG) - 1 + 2 * RV_AUDIT_SEED_BYTES + 1)

/*
 * One event as it is signed.  Strings are NUL-terminated UTF-8; target_name
 * and spool_id may be NULL (encoded differently from "").  payload is the
 * canonical text of a jsonb value (jsonb_out's), so equal values encode
 * equally however they were written.  time_us is a PostgreSQL timestamp
 * (microseconds since 2000-01-01 UTC).
 */
typedef struct RvAuditRecord
{
	int64_t		seq;
	int64_t		time_us;
	const char *actor;
	const char *event_type;
	uint32_t	target_oid;
	const char *target_name;
	const char *payload;
	const char *spool_id;
	uint8_t		prev_hash[RV_AUDIT_HASH_BYTES];
	uint8_t		signer[RV_AUDIT_PK_BYTES];	/* public key that signs the row */
} RvAuditRecord;

/* What rv_audit_check_link found wrong with a row (RV_AUDIT_OK: nothing). */
typedef enum RvAuditProblem
{
	RV_AUDIT_OK = 0,
	RV_AUDIT_SEQ_GAP,			/* seq is not the previous seq + 1 */
	RV_AUDIT_PREV_HASH,			/* prev_hash is not the previous row's hash */
	RV_AUDIT_FOREIGN_KEY,		/* signer is not the key being checked against */
	RV_AUDIT_BAD_SIGNATURE		/* signature does not verify under the key */
} RvAuditProblem;

/* The state carried from one row to the next while a chain is checked. */
typedef struct RvAuditChainState
{
	int64_t		last_seq;		/* 0 before the first row */
	uint8_t		last_hash[RV_AUDIT_HASH_BYTES];	/* zeros before the first row */
} RvAuditChainState;

extern int	rv_audit_crypto_init(void);

/* canonical encoding: returns its length; writes it if out_cap suffices */
extern size_t rv_audit_encode(const RvAuditRecord *rec, uint8_t *out, size_t out_cap);
extern void rv_audit_sign(const uint8_t *msg, size_t len,
						  const uint8_t sk[RV_AUDIT_SK_BYTES],
						  uint8_t sig[RV_AUDIT_SIG_BYTES]);
extern bool rv_audit_sig_ok(const uint8_t *msg, size_t len,
							const uint8_t sig[RV_AUDIT_SIG_BYTES],
							const uint8_t pk[RV_AUDIT_PK_BYTES]);
extern void rv_audit_row_hash(const uint8_t *msg, size_t len,
							  const uint8_t sig[RV_AUDIT_SIG_BYTES],
							  uint8_t hash[RV_AUDIT_HASH_BYTES]);

extern void rv_audit_chain_init(RvAuditChainState *st);
extern RvAuditProblem rv_audit_check_link(RvAuditChainState *st,
										  const RvAuditRecord *rec,
										  const uint8_t *msg, size_t len,
										  const uint8_t sig[RV_AUDIT_SIG_BYTES],
										  const uint8_t pk[RV_AUDIT_PK_BYTES]);

/* key file text (seed in hex) and the key pair derived from the seed */
extern void rv_audit_keyfile_format(const uint8_t seed[RV_AUDIT_SEED_BYTES],
									char out[RV_AUDIT_KEYFILE_LEN]);
extern bool rv_audit_keyfile_parse(const char *text, size_t len,
								   uint8_t seed[RV_AUDIT_SEED_BYTES]);
extern void rv_audit_keypair_from_seed(const uint8_t seed[RV_AUDIT_SEED_BYTES],
									   uint8_t pk[RV_AUDIT_PK_BYTES],
									   uint8_t sk[RV_AUDIT_SK_BYTES]);
extern void rv_audit_random_seed(uint8_t seed[RV_AUDIT_SEED_BYTES]);

/*
 * Spool record of a detached event: every field of RvAuditRecord but seq,
 * prev_hash and signer (given when it is appended), closed by a SHA-256 of what
 * precedes so a damaged file is refused.  Decoding points into buf (whose
 * strings it NUL-terminates in place), so buf must outlive rec.
 */
extern size_t rv_audit_spool_encode(const RvAuditRecord *rec, uint8_t *out, size_t out_cap);
extern bool rv_audit_spool_decode(uint8_t *buf, size_t len, RvAuditRecord *rec);

extern void rv_audit_hex(const uint8_t *bytes, size_t n, char *out);

#endif							/* RUVECTOR_AUDIT_CODEC_H */
