/*-------------------------------------------------------------------------
 *
 * audit_verify.c
 *	  ruvector_audit_verify(): checks the whole audit chain and names the
 *	  first bad row.
 *
 * NOTES
 *	  Rows are read in seq order through a cursor, a batch at a time, with
 *	  the caller's snapshot and rights (ruvector_operator may read the
 *	  table).  Each row must follow the previous one (seq + 1; the first is
 *	  1), carry the previous row's hash, and verify under the public key of
 *	  the key file: a deleted row shows as a gap at the row after it, a
 *	  changed, renumbered or swapped row as a bad signature, a row re-signed
 *	  even with the right key as a wrong prev_hash at the row after it, a
 *	  row signed with a foreign key (or a foreign key file) as a foreign
 *	  signer (audit_codec.c).
 *	  Events cut off the end of the chain are not detectable from the table
 *	  alone: last_seq and last_hash are for comparison with the "committed"
 *	  log lines a SIEM has kept (docs/security.md).
 *
 *	  Works on a standby (read-only; the key file came with the base
 *	  backup).  Takes no lock but the ACCESS SHARE of the SELECT.
 *
 * IDENTIFICATION
 *	  src/audit/audit_verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "audit/audit_int.h"

PG_FUNCTION_INFO_V1(ruvector_audit_verify);

#define RV_AUDIT_VERIFY_BATCH	1000

/* The outcome of a check, filled by CheckChain. */
typedef struct VerifyResult
{
	int64		checked;		/* rows found good */
	int64		first_bad_seq;	/* 0: none */
	char		problem[256];
	RvAuditChainState chain;	/* the last good row */
} VerifyResult;

static void
DescribeProblem(VerifyResult *res, const RvAuditRow *row, RvAuditProblem p)
{
	res->first_bad_seq = row->rec.seq;
	if (row->malformed)
		snprintf(res->problem, sizeof(res->problem),
				 "prev_hash, signer or signature of row " INT64_FORMAT " has the wrong length",
				 row->rec.seq);
	else if (p == RV_AUDIT_SEQ_GAP)
		snprintf(res->problem, sizeof(res->problem),
				 "row " INT64_FORMAT " follows row " INT64_FORMAT
				 ": rows are missing or out of order",
				 row->rec.seq, res->chain.last_seq);
	else if (p == RV_AUDIT_PREV_HASH && res->chain.last_seq == 0)
		snprintf(res->problem, sizeof(res->problem),
				 "prev_hash of the first row is not the chain's start (zeros)");
	else if (p == RV_AUDIT_PREV_HASH)
		snprintf(res->problem, sizeof(res->problem),
				 "prev_hash does not match the hash of row " INT64_FORMAT
				 ": rows were reordered or replaced, or a row was changed and signed again",
				 res->chain.last_seq);
	else if (p == RV_AUDIT_FOREIGN_KEY)
	{
		char		hex[2 * RV_AUDIT_PK_BYTES + 1];

		rv_audit_hex(row->rec.signer, RV_AUDIT_PK_BYTES, hex);
		snprintf(res->problem, sizeof(res->problem),
				 "row " INT64_FORMAT " was signed with another key (%.16s...), "
				 "not the cluster's audit key", row->rec.seq, hex);
	}
	else
		snprintf(res->problem, sizeof(res->problem),
				 "signature does not verify with the cluster's audit key: the row was "
				 "changed or renumbered after it was signed, or signed with another key");
}

/* Check every row in seq order, stopping at the first bad one. */
static void
CheckChain(const char *table, VerifyResult *res)
{
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"ruvector audit verify batch",
													ALLOCSET_DEFAULT_SIZES);
	char	   *sql = psprintf("SELECT " RV_AUDIT_COLUMNS " FROM %s ORDER BY seq", table);
	Portal		portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	uint8		pk[RV_AUDIT_PK_BYTES];
	bool		have_key = false;

	rv_audit_chain_init(&res->chain);
	while (res->first_bad_seq == 0)
	{
		SPI_cursor_fetch(portal, true, RV_AUDIT_VERIFY_BATCH);
		if (SPI_processed == 0)
			break;
		/* only now: an empty chain verifies without a key */
		if (!have_key && !(have_key = RvAuditKeyLoad(false, pk, NULL)))
			RvAuditKeyMissing();
		for (uint64 i = 0; i < SPI_processed && res->first_bad_seq == 0; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(batch_cxt);
			RvAuditRow	row;
			RvAuditProblem p;

			CHECK_FOR_INTERRUPTS();
			RvAuditTupleToRow(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &row);
			p = row.malformed ? RV_AUDIT_BAD_SIGNATURE :
				rv_audit_check_link(&res->chain, &row.rec, row.msg, row.msg_len, row.sig, pk);
			if (p != RV_AUDIT_OK)
				DescribeProblem(res, &row, p);
			else
				res->checked++;
			MemoryContextSwitchTo(old);
			MemoryContextReset(batch_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batch_cxt);
}

/*
 * ruvector_audit_verify() → (ok, checked, first_bad_seq, problem, last_seq,
 * last_hash): last_seq and last_hash are those of the last good row.
 */
Datum
ruvector_audit_verify(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	VerifyResult res;
	Oid			owner;
	Oid			schema;
	Oid			table;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	bytea	   *hash;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (!RvAuditExtension(&owner, &schema, &table))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit table %s does not exist in this database", RV_AUDIT_TABLE),
				 errhint("Run ALTER EXTENSION ruvector UPDATE.")));
	RvAuditCryptoInit();
	memset(&res, 0, sizeof(res));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	CheckChain(RvAuditTableName(schema), &res);
	SPI_finish();

	values[0] = BoolGetDatum(res.first_bad_seq == 0);
	values[1] = Int64GetDatum(res.checked);
	values[2] = Int64GetDatum(res.first_bad_seq);
	nulls[2] = res.first_bad_seq == 0;
	values[3] = CStringGetTextDatum(res.problem);
	nulls[3] = res.first_bad_seq == 0;
	values[4] = Int64GetDatum(res.chain.last_seq);
	nulls[4] = res.chain.last_seq == 0;
	hash = palloc(VARHDRSZ + RV_AUDIT_HASH_BYTES);
	SET_VARSIZE(hash, VARHDRSZ + RV_AUDIT_HASH_BYTES);
	memcpy(VARDATA(hash), res.chain.last_hash, RV_AUDIT_HASH_BYTES);
	values[5] = PointerGetDatum(hash);
	nulls[5] = res.chain.last_seq == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
