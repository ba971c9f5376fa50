/*-------------------------------------------------------------------------
 *
 * test_audit.c
 *	  Check suite "audit": the server-free part of the audit trail
 *	  (src/audit/audit_codec.c).
 *
 * NOTES
 *	  The canonical encoding is pinned byte for byte against a buffer built
 *	  here by hand from the layout in audit_codec.c's header, so a change of
 *	  format (which would make every existing chain fail to verify) cannot
 *	  pass unnoticed.  Ed25519 is checked against RFC 8032's first test
 *	  vector.  A chain of events is then built and damaged the ways a DBA
 *	  could damage the table (edit, delete, swap, re-sign with the right or
 *	  another key) and the check must name the first bad row each time.
 *
 * IDENTIFICATION
 *	  test/unit/test_audit.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "audit/audit_codec.h"

#define CHAIN_LEN 6

static void
FromHex(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i] != '\0'; i++)
	{
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t) b;
	}
}

static void
SetupCrypto(void)
{
	ck_assert_int_eq(rv_audit_crypto_init(), 0);
}

static RvAuditRecord
SampleRecord(void)
{
	RvAuditRecord r;

	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.time_us = 0x0102030405060708LL;
	r.actor = "al";
	r.event_type = "t";
	r.target_oid = 0xA0B0C0D0u;
	r.target_name = NULL;
	r.payload = "{}";
	r.spool_id = "";
	memset(r.prev_hash, 0x11, sizeof(r.prev_hash));
	memset(r.signer, 0x22, sizeof(r.signer));
	return r;
}

START_TEST(encoding_is_pinned)
{
	RvAuditRecord r = SampleRecord();
	uint8_t		want[160];
	size_t		n = 0;
	uint8_t		got[160];
	size_t		len;

	memcpy(want, "RVAUDIT1", 8), n = 8;
	memcpy(want + n, "\0\0\0\0\0\0\0\x07", 8), n += 8;
	memcpy(want + n, "\x01\x02\x03\x04\x05\x06\x07\x08", 8), n += 8;
	memcpy(want + n, "\xA0\xB0\xC0\xD0", 4), n += 4;
	memcpy(want + n, "\x01\0\0\0\x02" "al", 7), n += 7;		/* actor */
	memcpy(want + n, "\x01\0\0\0\x01" "t", 6), n += 6;		/* event_type */
	memcpy(want + n, "\0\0\0\0\0", 5), n += 5;				/* target_name NULL */
	memcpy(want + n, "\x01\0\0\0\x02" "{}", 7), n += 7;		/* payload */
	memcpy(want + n, "\x01\0\0\0\0", 5), n += 5;			/* spool_id "" */
	memset(want + n, 0x11, 32), n += 32;					/* prev_hash */
	memset(want + n, 0x22, 32), n += 32;					/* signer */

	len = rv_audit_encode(&r, NULL, 0);
	ck_assert_uint_eq(len, n);
	ck_assert_uint_eq(rv_audit_encode(&r, got, sizeof(got)), n);
	ck_assert(memcmp(got, want, n) == 0);
}
END_TEST

/* Moving text between neighbouring fields, or NULL vs "", changes the bytes. */
START_TEST(encoding_is_unambiguous)
{
	RvAuditRecord a = SampleRecord();
	RvAuditRecord b = SampleRecord();
	uint8_t		ea[160];
	uint8_t		eb[160];
	size_t		la;
	size_t		lb;

	a.actor = "ab", a.event_type = "c";
	b.actor = "a", b.event_type = "bc";
	la = rv_audit_encode(&a, ea, sizeof(ea));
	lb = rv_audit_encode(&b, eb, sizeof(eb));
	ck_assert(la != lb || memcmp(ea, eb, la) != 0);

	a = SampleRecord(), b = SampleRecord();
	b.target_name = "";
	la = rv_audit_encode(&a, ea, sizeof(ea));
	lb = rv_audit_encode(&b, eb, sizeof(eb));
	ck_assert(la != lb || memcmp(ea, eb, la) != 0);
}
END_TEST

START_TEST(ed25519_rfc8032_vector)
{
	uint8_t		seed[32];
	uint8_t		pk[32];
	uint8_t		sk[64];
	uint8_t		want_pk[32];
	uint8_t		want_sig[64];
	uint8_t		sig[64];

	SetupCrypto();
	FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed);
	FromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", want_pk);
	FromHex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
			want_sig);
	rv_audit_keypair_from_seed(seed, pk, sk);
	ck_assert(memcmp(pk, want_pk, 32) == 0);
	rv_audit_sign((const uint8_t *) "", 0, sk, sig);
	ck_assert(memcmp(sig, want_sig, 64) == 0);
	ck_assert(rv_audit_sig_ok((const uint8_t *) "", 0, sig, pk));
	sig[10] ^= 1;
	ck_assert(!rv_audit_sig_ok((const uint8_t *) "", 0, sig, pk));
}
END_TEST

START_TEST(keyfile_round_trip)
{
	uint8_t		seed[32];
	uint8_t		back[32];
	char		text[RV_AUDIT_KEYFILE_LEN];
	char		bad[RV_AUDIT_KEYFILE_LEN];

	SetupCrypto();
	rv_audit_random_seed(seed);
	rv_audit_keyfile_format(seed, text);
	ck_assert(rv_audit_keyfile_parse(text, sizeof(text), back));
	ck_assert(memcmp(seed, back, 32) == 0);
	ck_assert(!rv_audit_keyfile_parse(text, sizeof(text) - 1, back));
	memcpy(bad, text, sizeof(bad));
	bad[sizeof(bad) - 5] = 'g';
	ck_assert(!rv_audit_keyfile_parse(bad, sizeof(bad), back));
	memcpy(bad, text, sizeof(bad));
	bad[0] = 'R';
	ck_assert(!rv_audit_keyfile_parse(bad, sizeof(bad), back));
}
END_TEST

/* A chain of CHAIN_LEN signed rows, kept as the table would keep them. */
typedef struct Row
{
	RvAuditRecord rec;
	char		payload[32];
	uint8_t		sig[64];
} Row;

static void
SignRow(Row *row, const uint8_t *sk)
{
	uint8_t		msg[256];
	size_t		len = rv_audit_encode(&row->rec, msg, sizeof(msg));

	rv_audit_sign(msg, len, sk, row->sig);
}

static void
BuildChain(Row *rows, const uint8_t *pk, const uint8_t *sk)
{
	uint8_t		prev[32] = {0};

	for (int i = 0; i < CHAIN_LEN; i++)
	{
		uint8_t		msg[256];
		size_t		len;

		memset(&rows[i].rec, 0, sizeof(rows[i].rec));
		snprintf(rows[i].payload, sizeof(rows[i].payload), "{\"i\": %d}", i);
		rows[i].rec.seq = i + 1;
		rows[i].rec.time_us = 1000 + i;
		rows[i].rec.actor = "admin";
		rows[i].rec.event_type = "tier.set";
		rows[i].rec.target_oid = 16384;
		rows[i].rec.target_name = "public.items";
		rows[i].rec.payload = rows[i].payload;
		memcpy(rows[i].rec.prev_hash, prev, 32);
		memcpy(rows[i].rec.signer, pk, 32);
		SignRow(&rows[i], sk);
		len = rv_audit_encode(&rows[i].rec, msg, sizeof(msg));
		rv_audit_row_hash(msg, len, rows[i].sig, prev);
	}
}

/* Check rows[0..n) in order; returns the index of the first bad row or -1. */
static int
FirstBad(Row *rows, int n, const uint8_t *pk, RvAuditProblem *problem)
{
	RvAuditChainState st;

	rv_audit_chain_init(&st);
	for (int i = 0; i < n; i++)
	{
		uint8_t		msg[256];
		size_t		len = rv_audit_encode(&rows[i].rec, msg, sizeof(msg));

		*problem = rv_audit_check_link(&st, &rows[i].rec, msg, len, rows[i].sig, pk);
		if (*problem != RV_AUDIT_OK)
			return i;
	}
	return -1;
}

START_TEST(chain_names_first_bad_row)
{
	uint8_t		seed[32];
	uint8_t		pk[32];
	uint8_t		sk[64];
	uint8_t		pk2[32];
	uint8_t		sk2[64];
	Row			rows[CHAIN_LEN];
	Row			tmp;
	RvAuditProblem p;

	SetupCrypto();
	rv_audit_random_seed(seed);
	rv_audit_keypair_from_seed(seed, pk, sk);
	rv_audit_random_seed(seed);
	rv_audit_keypair_from_seed(seed, pk2, sk2);

	BuildChain(rows, pk, sk);
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk, &p), -1);

	/* the whole chain under another key: row 1 */
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk2, &p), 0);
	ck_assert_int_eq(p, RV_AUDIT_FOREIGN_KEY);

	/* a changed payload */
	strcpy(rows[2].payload, "{\"i\": 99}");
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk, &p), 2);
	ck_assert_int_eq(p, RV_AUDIT_BAD_SIGNATURE);

	/* ... signed again with the right key: the link to the next row breaks */
	SignRow(&rows[2], sk);
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk, &p), 3);
	ck_assert_int_eq(p, RV_AUDIT_PREV_HASH);

	/* ... signed with another key, still naming the cluster's as signer */
	SignRow(&rows[2], sk2);
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk, &p), 2);
	ck_assert_int_eq(p, RV_AUDIT_BAD_SIGNATURE);

	/* ... signed with another key, naming it */
	memcpy(rows[2].rec.signer, pk2, 32);
	SignRow(&rows[2], sk2);
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk, &p), 2);
	ck_assert_int_eq(p, RV_AUDIT_FOREIGN_KEY);

	/* a deleted row: a gap at the row after it */
	BuildChain(rows, pk, sk);
	memmove(&rows[3], &rows[4], 2 * sizeof(Row));
	for (int i = 3; i < CHAIN_LEN - 1; i++)
		rows[i].rec.payload = rows[i].payload;
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN - 1, pk, &p), 3);
	ck_assert_int_eq(p, RV_AUDIT_SEQ_GAP);

	/* two rows swapped, seq renumbered to look continuous */
	BuildChain(rows, pk, sk);
	tmp = rows[1];
	rows[1] = rows[2];
	rows[2] = tmp;
	rows[1].rec.payload = rows[1].payload;
	rows[2].rec.payload = rows[2].payload;
	rows[1].rec.seq = 2;
	rows[2].rec.seq = 3;
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN, pk, &p), 1);

	/* the last row removed: not detectable from the rows (see docs) */
	BuildChain(rows, pk, sk);
	ck_assert_int_eq(FirstBad(rows, CHAIN_LEN - 1, pk, &p), -1);
}
END_TEST

START_TEST(spool_round_trip_and_damage)
{
	RvAuditRecord r = SampleRecord();
	RvAuditRecord back;
	uint8_t		buf[256];
	uint8_t		copy[256];
	size_t		len;

	SetupCrypto();
	r.target_name = "public.t";
	r.spool_id = "000304fe-1-2";
	len = rv_audit_spool_encode(&r, buf, sizeof(buf));
	ck_assert_uint_eq(len, rv_audit_spool_encode(&r, NULL, 0));
	memcpy(copy, buf, len);
	ck_assert(rv_audit_spool_decode(copy, len, &back));
	ck_assert(back.time_us == r.time_us);
	ck_assert_uint_eq(back.target_oid, r.target_oid);
	ck_assert_str_eq(back.actor, "al");
	ck_assert_str_eq(back.event_type, "t");
	ck_assert_str_eq(back.target_name, "public.t");
	ck_assert_str_eq(back.payload, "{}");
	ck_assert_str_eq(back.spool_id, "000304fe-1-2");

	r.target_name = NULL;
	len = rv_audit_spool_encode(&r, buf, sizeof(buf));
	memcpy(copy, buf, len);
	ck_assert(rv_audit_spool_decode(copy, len, &back));
	ck_assert(back.target_name == NULL);

	/* every single flipped byte and every truncation is refused */
	for (size_t i = 0; i < len; i++)
	{
		memcpy(copy, buf, len);
		copy[i] ^= 0x40;
		ck_assert_msg(!rv_audit_spool_decode(copy, len, &back), "byte %zu", i);
	}
	for (size_t n = 0; n < len; n++)
	{
		memcpy(copy, buf, len);
		ck_assert_msg(!rv_audit_spool_decode(copy, n, &back), "length %zu", n);
	}
}
END_TEST

Suite *
audit_suite(void)
{
	Suite	   *s = suite_create("audit");
	TCase	   *tc = tcase_create("codec");

	tcase_add_test(tc, encoding_is_pinned);
	tcase_add_test(tc, encoding_is_unambiguous);
	tcase_add_test(tc, ed25519_rfc8032_vector);
	tcase_add_test(tc, keyfile_round_trip);
	tcase_add_test(tc, chain_names_first_bad_row);
	tcase_add_test(tc, spool_round_trip_and_damage);
	suite_add_tcase(s, tc);
	return s;
}
