/*-------------------------------------------------------------------------
 *
 * audit_codec.c
 *	  Canonical encoding, hashing, signing and chain checking of audit
 *	  events, without the server (see audit_codec.h).
 *
 * NOTES
 *	  The canonical encoding of an event is
 *		"RVAUDIT1" seq:be64 time_us:be64 target_oid:be32
 *		actor event_type target_name payload spool_id prev_hash[32] signer[32]
 *	  where each string is a presence byte (0 NULL, 1 present), a be32
 *	  length and the bytes.  Every field has a fixed place and an explicit
 *	  length, so no two different events encode alike (a field's text cannot
 *	  spill into the next).  The signature is Ed25519 over that encoding;
 *	  it covers prev_hash, so a row cannot be moved to another place in the
 *	  chain.  A row's hash, which the next row carries as prev_hash, is
 *	  SHA-256("RVAUDIT-ROW1" || encoding || signature): it covers the
 *	  signature too, so a row re-signed by someone else (even with the
 *	  right key) breaks the link to the row after it.  The first row's
 *	  prev_hash is 32 zero bytes and its seq is 1.  signer, the public key
 *	  the row claims to be signed with, is signed too: a row signed with a
 *	  foreign key is told apart from a changed one, and an append can see
 *	  that the key file no longer holds the key that signed the chain.
 *
 *	  The spool record (a detached event waiting in a file) uses the same
 *	  field layout with "RVSPOOL1", no seq or prev_hash, a NUL after each
 *	  string so the decoder can point into the buffer, and a SHA-256 of all
 *	  of it at the end.
 *
 * IDENTIFICATION
 *	  src/audit/audit_codec.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <sodium.h>

#include "audit/audit_codec.h"

#define RV_AUDIT_MAGIC		"RVAUDIT1"
#define RV_SPOOL_MAGIC		"RVSPOOL1"
#define RV_ROW_HASH_TAG		"RVAUDIT-ROW1"

/* A writer that counts what it would write and writes what fits. */
typedef struct Writer
{
	uint8_t    *out;
	size_t		cap;
	size_t		len;
} Writer;

static void
PutBytes(Writer *w, const void *p, size_t n)
{
	if (w->out != NULL && w->len + n <= w->cap)
		memcpy(w->out + w->len, p, n);
	w->len += n;
}

/* v as an unsigned big-endian integer of 1 to 8 bytes (GetUInt reads it) */
static void
PutUInt(Writer *w, uint64_t v, int bytes)
{
	uint8_t		b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
	PutBytes(w, b, bytes);
}

/* presence byte, length, bytes; and a NUL after them when nul is set */
static void
PutStr(Writer *w, const char *s, bool nul)
{
	uint8_t		present = s != NULL;
	size_t		n = s != NULL ? strlen(s) : 0;

	PutBytes(w, &present, 1);
	PutUInt(w, (uint32_t) n, 4);
	if (n > 0)
		PutBytes(w, s, n);
	if (nul)
		PutBytes(w, "", 1);
}

int
rv_audit_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* The fields an event has from its start: time, target, the strings. */
static void
PutEvent(Writer *w, const RvAuditRecord *rec, bool nul)
{
	PutUInt(w, (uint64_t) rec->time_us, 8);
	PutUInt(w, rec->target_oid, 4);
	PutStr(w, rec->actor, nul);
	PutStr(w, rec->event_type, nul);
	PutStr(w, rec->target_name, nul);
	PutStr(w, rec->payload, nul);
	PutStr(w, rec->spool_id, nul);
}

size_t
rv_audit_encode(const RvAuditRecord *rec, uint8_t *out, size_t out_cap)
{
	Writer		w = {out, out_cap, 0};

	PutBytes(&w, RV_AUDIT_MAGIC, 8);
	PutUInt(&w, (uint64_t) rec->seq, 8);
	PutEvent(&w, rec, false);
	PutBytes(&w, rec->prev_hash, RV_AUDIT_HASH_BYTES);
	PutBytes(&w, rec->signer, RV_AUDIT_PK_BYTES);
	return w.len;
}

void
rv_audit_sign(const uint8_t *msg, size_t len, const uint8_t sk[RV_AUDIT_SK_BYTES],
			  uint8_t sig[RV_AUDIT_SIG_BYTES])
{
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

bool
rv_audit_sig_ok(const uint8_t *msg, size_t len, const uint8_t sig[RV_AUDIT_SIG_BYTES],
				const uint8_t pk[RV_AUDIT_PK_BYTES])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

void
rv_audit_row_hash(const uint8_t *msg, size_t len, const uint8_t sig[RV_AUDIT_SIG_BYTES],
				  uint8_t hash[RV_AUDIT_HASH_BYTES])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) RV_ROW_HASH_TAG, strlen(RV_ROW_HASH_TAG));
	crypto_hash_sha256_update(&st, msg, len);
	crypto_hash_sha256_update(&st, sig, RV_AUDIT_SIG_BYTES);
	crypto_hash_sha256_final(&st, hash);
}

void
rv_audit_chain_init(RvAuditChainState *st)
{
	st->last_seq = 0;
	memset(st->last_hash, 0, RV_AUDIT_HASH_BYTES);
}

/*
 * rv_audit_check_link checks one row (rec, its encoding msg and its
 * signature) against the row before it (st), in the order that names the
 * most specific fault: a missing row shows as a seq gap, a row taken from
 * elsewhere as a wrong prev_hash, a row that names another signer as a
 * foreign key, an edited row as a bad signature.  On success st moves on to this row; on failure it is left
 * alone.
 */
RvAuditProblem
rv_audit_check_link(RvAuditChainState *st, const RvAuditRecord *rec,
					const uint8_t *msg, size_t len,
					const uint8_t sig[RV_AUDIT_SIG_BYTES],
					const uint8_t pk[RV_AUDIT_PK_BYTES])
{
	if (rec->seq != st->last_seq + 1)
		return RV_AUDIT_SEQ_GAP;
	if (memcmp(rec->prev_hash, st->last_hash, RV_AUDIT_HASH_BYTES) != 0)
		return RV_AUDIT_PREV_HASH;
	if (memcmp(rec->signer, pk, RV_AUDIT_PK_BYTES) != 0)
		return RV_AUDIT_FOREIGN_KEY;
	if (!rv_audit_sig_ok(msg, len, sig, pk))
		return RV_AUDIT_BAD_SIGNATURE;
	st->last_seq = rec->seq;
	rv_audit_row_hash(msg, len, sig, st->last_hash);
	return RV_AUDIT_OK;
}

void
rv_audit_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
HexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
rv_audit_keyfile_format(const uint8_t seed[RV_AUDIT_SEED_BYTES], char out[RV_AUDIT_KEYFILE_LEN])
{
	size_t		tag = strlen(RV_AUDIT_KEYFILE_TAG);
	char		hex[2 * RV_AUDIT_SEED_BYTES + 1];

	memcpy(out, RV_AUDIT_KEYFILE_TAG, tag);
	rv_audit_hex(seed, RV_AUDIT_SEED_BYTES, hex);
	memcpy(out + tag, hex, 2 * RV_AUDIT_SEED_BYTES);
	out[RV_AUDIT_KEYFILE_LEN - 1] = '\n';
	sodium_memzero(hex, sizeof(hex));
}

/* The exact text rv_audit_keyfile_format writes, nothing else. */
bool
rv_audit_keyfile_parse(const char *text, size_t len, uint8_t seed[RV_AUDIT_SEED_BYTES])
{
	size_t		tag = strlen(RV_AUDIT_KEYFILE_TAG);

	if (len != RV_AUDIT_KEYFILE_LEN || memcmp(text, RV_AUDIT_KEYFILE_TAG, tag) != 0 ||
		text[len - 1] != '\n')
		return false;
	for (int i = 0; i < RV_AUDIT_SEED_BYTES; i++)
	{
		int			hi = HexDigit(text[tag + 2 * i]);
		int			lo = HexDigit(text[tag + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		seed[i] = (uint8_t) (hi << 4 | lo);
	}
	return true;
}

void
rv_audit_keypair_from_seed(const uint8_t seed[RV_AUDIT_SEED_BYTES],
						   uint8_t pk[RV_AUDIT_PK_BYTES], uint8_t sk[RV_AUDIT_SK_BYTES])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

void
rv_audit_random_seed(uint8_t seed[RV_AUDIT_SEED_BYTES])
{
	randombytes_buf(seed, RV_AUDIT_SEED_BYTES);
}

size_t
rv_audit_spool_encode(const RvAuditRecord *rec, uint8_t *out, size_t out_cap)
{
	Writer		w = {out, out_cap, 0};

	PutBytes(&w, RV_SPOOL_MAGIC, 8);
	PutEvent(&w, rec, true);
	if (out != NULL && w.len + RV_AUDIT_HASH_BYTES <= out_cap)
		crypto_hash_sha256(out + w.len, out, w.len);
	w.len += RV_AUDIT_HASH_BYTES;
	return w.len;
}

/* A reader over a spool record; fails (ok = false) at the first overrun. */
typedef struct Reader
{
	uint8_t    *buf;
	size_t		len;
	size_t		pos;
	bool		ok;
} Reader;

static uint64_t
GetUInt(Reader *r, int bytes)
{
	uint64_t	v = 0;

	if (!r->ok || r->len - r->pos < (size_t) bytes)
	{
		r->ok = false;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v = v << 8 | r->buf[r->pos++];
	return v;
}

static const char *
GetStr(Reader *r)
{
	uint64_t	present = GetUInt(r, 1);
	uint64_t	n = GetUInt(r, 4);
	char	   *s;

	if (!r->ok || present > 1 || r->len - r->pos < n + 1 || r->buf[r->pos + n] != '\0' ||
		memchr(r->buf + r->pos, '\0', n) != NULL || (!present && n != 0))
	{
		r->ok = false;
		return NULL;
	}
	s = (char *) r->buf + r->pos;
	r->pos += n + 1;
	return present ? s : NULL;
}

bool
rv_audit_spool_decode(uint8_t *buf, size_t len, RvAuditRecord *rec)
{
	Reader		r = {buf, len, 0, true};
	uint8_t		sum[RV_AUDIT_HASH_BYTES];

	if (len < 8 + RV_AUDIT_HASH_BYTES || memcmp(buf, RV_SPOOL_MAGIC, 8) != 0)
		return false;
	crypto_hash_sha256(sum, buf, len - RV_AUDIT_HASH_BYTES);
	if (memcmp(sum, buf + len - RV_AUDIT_HASH_BYTES, RV_AUDIT_HASH_BYTES) != 0)
		return false;
	r.len = len - RV_AUDIT_HASH_BYTES;
	r.pos = 8;
	memset(rec, 0, sizeof(*rec));
	rec->time_us = (int64_t) GetUInt(&r, 8);
	rec->target_oid = (uint32_t) GetUInt(&r, 4);
	rec->actor = GetStr(&r);
	rec->event_type = GetStr(&r);
	rec->target_name = GetStr(&r);
	rec->payload = GetStr(&r);
	rec->spool_id = GetStr(&r);
	return r.ok && r.pos == r.len && rec->actor != NULL && rec->event_type != NULL &&
		rec->payload != NULL;
}
