/*-------------------------------------------------------------------------
 *
 * tier_codebook.c
 *	  PQ codebooks of ruvector_heap columns: training on a sample of the
 *	  column, storage in the extension table ruvector_codebooks, and a
 *	  backend cache by codebook id.
 *
 * NOTES
 *	  A codebook row is written once and never updated; retraining adds a
 *	  new version with a new id.  Encoded datums name their codebook by id,
 *	  so the cache (a hash table in CacheMemoryContext) never needs
 *	  invalidation.
 *
 *	  Page rewrites are not transactional, so a page may only reference a
 *	  codebook whose row is committed: RvCodebookLatest skips rows written
 *	  by the current transaction (a codebook trained by ruvector_compact is
 *	  used from the next compact on; one trained by ruvector_set_tiers in
 *	  its own transaction is used at once).  Decoding looks rows up with
 *	  SnapshotAny: a row that a page references is committed, whatever the
 *	  reader's snapshot (a hot-standby query whose snapshot predates the
 *	  codebook's commit still decodes a page compacted after it).
 *
 *	  Rows are deleted only when their table or column is dropped (the
 *	  extension's sql_drop event trigger).
 *
 *	  Writes to the extension tables run as the extension's owner
 *	  (RvRunAsExtensionOwner, src/common/rv_extension.c), after the
 *	  caller's own right to the user table was checked, so the tables
 *	  themselves need not be writable by table owners.
 *
 *	  Column order of ruvector_codebooks (sql/parts/80_tableam.sql):
 *	  id, relid, attname, version, dim, m, k, rows_sampled, created,
 *	  centroids, rotation, norm_lo, norm_hi.
 *
 *	  Training (RvCodebookTrain): a reservoir sample of the column's
 *	  directions; for up to RV_PQ_ROTATE_MAX_DIM dimensions a PCA rotation
 *	  learned on it first (pq.c), since decoding then costs dim^2; k-means
 *	  per sub-space on the rotated sample; the norm range of the short PQ
 *	  form from the norms of every row scanned.
 *
 * IDENTIFICATION
 *	  src/tier/tier_codebook.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "common/rv_extension.h"
#include "common/rv_hash.h"
#include "tier/tier.h"

#define Anum_cb_id			1
#define Anum_cb_relid		2
#define Anum_cb_attname		3
#define Anum_cb_version		4
#define Anum_cb_dim			5
#define Anum_cb_m			6
#define Anum_cb_k			7
#define Anum_cb_centroids	10
#define Anum_cb_rotation	11
#define Anum_cb_norm_lo		12
#define Anum_cb_norm_hi		13

static HTAB *codebook_cache = NULL;

/*
 * A bytea column of nfloats floats, copied into CacheMemoryContext; NULL
 * if its length is not that.
 */
static float *
CopyFloats(Datum d, Size nfloats)
{
	bytea	   *raw = DatumGetByteaPP(d);
	Size		want = sizeof(float) * nfloats;
	float	   *out;

	if (VARSIZE_ANY_EXHDR(raw) != want)
		return NULL;
	out = MemoryContextAlloc(CacheMemoryContext, want);
	memcpy(out, VARDATA_ANY(raw), want);
	return out;
}

/* Build a cache entry from a codebook row; false if the row is malformed. */
static bool
FillFromRow(RvCodebook cb, TupleTableSlot *slot)
{
	bool		isnull[7];
	Datum		d[7];

	d[0] = slot_getattr(slot, Anum_cb_relid, &isnull[0]);
	d[1] = slot_getattr(slot, Anum_cb_version, &isnull[1]);
	d[2] = slot_getattr(slot, Anum_cb_dim, &isnull[2]);
	d[3] = slot_getattr(slot, Anum_cb_m, &isnull[3]);
	d[4] = slot_getattr(slot, Anum_cb_k, &isnull[4]);
	d[5] = slot_getattr(slot, Anum_cb_centroids, &isnull[5]);
	for (int i = 0; i < 6; i++)
		if (isnull[i])
			return false;

	cb->relid = DatumGetObjectId(d[0]);
	cb->version = DatumGetInt32(d[1]);
	cb->dim = DatumGetInt32(d[2]);
	cb->m = DatumGetInt32(d[3]);
	cb->k = DatumGetInt32(d[4]);
	if (cb->dim < 1 || cb->dim > VECTOR_MAX_DIM || cb->m < 1 || cb->m > cb->dim ||
		cb->k < RV_PQ_MIN_K || cb->k > RV_PQ_MAX_K)
		return false;

	cb->centroids = CopyFloats(d[5], (Size) cb->k * cb->dim);
	if (cb->centroids == NULL)
		return false;

	d[6] = slot_getattr(slot, Anum_cb_rotation, &isnull[6]);
	if (!isnull[6])
	{
		cb->rotation = CopyFloats(d[6], (Size) cb->dim * cb->dim);
		if (cb->rotation == NULL)
			return false;
	}

	cb->norm_lo = cb->norm_hi = 0;
	d[0] = slot_getattr(slot, Anum_cb_norm_lo, &isnull[0]);
	d[1] = slot_getattr(slot, Anum_cb_norm_hi, &isnull[1]);
	if (!isnull[0] && !isnull[1])
	{
		cb->norm_lo = DatumGetFloat4(d[0]);
		cb->norm_hi = DatumGetFloat4(d[1]);
		if (!(cb->norm_lo > 0 && cb->norm_hi > cb->norm_lo && isfinite(cb->norm_hi)))
			return false;
	}
	return true;
}

/*
 * Scan ruvector_codebooks for id with SnapshotAny (see NOTES) into cb.
 */
static bool
LoadCodebook(uint32 id, RvCodebook cb)
{
	Relation	rel = table_open(RvExtensionTable("ruvector_codebooks"), AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, SnapshotAny, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found = false;

	while (!found && table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, Anum_cb_id, &isnull);

		if (isnull || (uint32) DatumGetInt32(d) != id)
			continue;
		if (!FillFromRow(cb, slot))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("PQ codebook %u in ruvector_codebooks is malformed", id)));
		found = true;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The codebook with this id, from the cache or the table.  A missing
 * codebook is an error unless missing_ok.
 */
RvCodebook
RvCodebookGet(uint32 id, bool missing_ok)
{
	RvCodebook	cb;
	bool		found;

	if (codebook_cache == NULL)
	{
		codebook_cache = rv_blob_hash_create("ruvector PQ codebooks", 16, sizeof(uint32),
											 sizeof(RvCodebookData), CacheMemoryContext);
	}

	cb = hash_search(codebook_cache, &id, HASH_FIND, NULL);
	if (cb)
		return cb;

	{
		RvCodebookData tmp;

		memset(&tmp, 0, sizeof(tmp));
		tmp.id = id;
		if (!LoadCodebook(id, &tmp))
		{
			if (missing_ok)
				return NULL;
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("vector is PQ-encoded with codebook %u, which does not exist", id),
					 errhint("Codebooks are rows of ruvector_codebooks and must not be deleted while a table uses them; restore the row from a backup.")));
		}
		cb = hash_search(codebook_cache, &id, HASH_ENTER, &found);
		*cb = tmp;
	}
	return cb;
}

/*
 * The newest committed codebook of a column that fits dim, m and k (zero or
 * less: any), or NULL.  Rows of the current transaction do not count
 * (see NOTES).
 */
RvCodebook
RvCodebookLatest(Relation rel, const char *attname, int dim, int m, int k)
{
	Relation	cbrel = table_open(RvExtensionTable("ruvector_codebooks"), AccessShareLock);
	TableScanDesc scan = table_beginscan(cbrel, GetActiveSnapshot(), 0, NULL);
	TupleTableSlot *slot = table_slot_create(cbrel, NULL);
	int32		best_version = -1;
	uint32		best_id = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		HeapTuple	tup;
		bool		should_free;
		RvCodebookData row;
		Datum		d;

		d = slot_getattr(slot, Anum_cb_relid, &isnull);
		if (isnull || DatumGetObjectId(d) != RelationGetRelid(rel))
			continue;
		d = slot_getattr(slot, Anum_cb_attname, &isnull);
		if (isnull || strcmp(NameStr(*DatumGetName(d)), attname) != 0)
			continue;
		tup = ExecFetchSlotHeapTuple(slot, false, &should_free);
		if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
			continue;
		memset(&row, 0, sizeof(row));
		row.version = DatumGetInt32(slot_getattr(slot, Anum_cb_version, &isnull));
		row.dim = DatumGetInt32(slot_getattr(slot, Anum_cb_dim, &isnull));
		row.m = DatumGetInt32(slot_getattr(slot, Anum_cb_m, &isnull));
		row.k = DatumGetInt32(slot_getattr(slot, Anum_cb_k, &isnull));
		if ((dim > 0 && row.dim != dim) || (m > 0 && row.m != m) || (k > 0 && row.k != k))
			continue;
		if (row.version > best_version)
		{
			best_version = row.version;
			best_id = (uint32) DatumGetInt32(slot_getattr(slot, Anum_cb_id, &isnull));
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(cbrel, AccessShareLock);

	return best_version < 0 ? NULL : RvCodebookGet(best_id, false);
}

/* A reservoir sample of one column's vectors. */
typedef struct PqSample
{
	int			dim;
	int			k;				/* the fewest rows worth training on */
	int			cap;
	int			n;
	int64		seen;
	int64		other_dim;
	double		norm_min;		/* of every non-zero row seen */
	double		norm_max;
	float	   *rows;
	pg_prng_state rng;
} PqSample;

static void
SampleAdd(PqSample *s, const Vector *v)
{
	int			slot;
	double		norm = 0.0;
	float	   *row;

	if (s->dim == 0)
		s->dim = v->dim;
	if (v->dim != s->dim)
	{
		s->other_dim++;
		return;
	}
	for (int i = 0; i < s->dim; i++)
		norm += (double) v->x[i] * v->x[i];
	norm = sqrt(norm);
	/* Zero vectors encode without the codebook (tier_codec.c). */
	if (norm == 0)
		return;

	if (s->seen == 0 || norm < s->norm_min)
		s->norm_min = norm;
	if (s->seen == 0 || norm > s->norm_max)
		s->norm_max = norm;
	s->seen++;
	if (s->n < s->cap)
		slot = s->n++;
	else
	{
		int64		r = (int64) pg_prng_uint64_range(&s->rng, 0, s->seen - 1);

		if (r >= s->cap)
			return;
		slot = (int) r;
	}

	/* The codebook quantizes directions (tier.h). */
	row = s->rows + (Size) slot * s->dim;
	for (int i = 0; i < s->dim; i++)
		row[i] = (float) (v->x[i] / norm);
}

/*
 * Allocate the sample for vectors of dim, within maintenance_work_mem (but
 * never fewer rows than k, the minimum to train).
 */
static void
SampleAllocate(PqSample *s, int dim)
{
	Size		budget = (Size) maintenance_work_mem * 1024 / (sizeof(float) * dim);

	if ((Size) s->cap > budget && budget >= (Size) s->k)
	{
		ereport(NOTICE,
				(errmsg("PQ training sample reduced from %d to %zu vectors to fit maintenance_work_mem",
						s->cap, budget),
				 errhint("Increase maintenance_work_mem to train on more vectors.")));
		s->cap = (int) budget;
	}
	else if ((Size) s->cap > budget)
		s->cap = s->k;
	s->rows = palloc_extended(sizeof(float) * (Size) s->cap * dim, MCXT_ALLOC_HUGE);
}

/*
 * Sample up to cap vectors of attnum through the table AM (so encoded rows
 * arrive decoded).  Rows are allocated once the first vector gives the
 * dimension.
 */
static void
SampleColumn(Relation rel, AttrNumber attnum, PqSample *s)
{
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "ruvector PQ sample row",
											  ALLOCSET_DEFAULT_SIZES);

	/* Fixed seeds: the same data trains the same codebook (tests, replicas). */
	pg_prng_seed(&s->rng, UINT64CONST(0x5255564543544F52) + attnum);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, attnum, &isnull);
		MemoryContext old;
		Vector	   *v;

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			continue;
		old = MemoryContextSwitchTo(tmp);
		v = DatumGetVector(d);
		MemoryContextSwitchTo(old);
		if (s->rows == NULL)
			SampleAllocate(s, v->dim);
		SampleAdd(s, v);
		MemoryContextReset(tmp);
	}
	MemoryContextDelete(tmp);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
}

/* What InsertCodebook writes. */
typedef struct CodebookRow
{
	Oid			relid;
	const NameData *attname;
	int			dim;
	int			m;
	int			k;
	int			rows;
	bytea	   *centroids;
	bytea	   *rotation;		/* or NULL */
	float		norm_lo;
	float		norm_hi;
	uint32		id;
} CodebookRow;

/* Insert a codebook row (runs as the extension owner). */
static void
InsertCodebook(void *arg)
{
	CodebookRow *row = (CodebookRow *) arg;
	Oid			relid = RvExtensionTable("ruvector_codebooks");
	char	   *sql;
	Oid			types[10] = {OIDOID, NAMEOID, INT4OID, INT4OID, INT4OID, INT4OID,
	BYTEAOID, BYTEAOID, FLOAT4OID, FLOAT4OID};
	Datum		values[10];
	char		nulls[10];
	bool		isnull;

	sql = psprintf("INSERT INTO %s (id, relid, attname, version, dim, m, k, rows_sampled, created, centroids, rotation, norm_lo, norm_hi) "
				   "SELECT pg_catalog.nextval(%s::pg_catalog.regclass), $1, $2, "
				   "coalesce((SELECT pg_catalog.max(version) FROM %s "
				   "WHERE relid OPERATOR(pg_catalog.=) $1 AND attname OPERATOR(pg_catalog.=) $2), 0) "
				   "OPERATOR(pg_catalog.+) 1, "
				   "$3, $4, $5, $6, pg_catalog.now(), $7, $8, $9, $10 RETURNING id",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)),
				   quote_literal_cstr(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																 "ruvector_codebooks_id_seq")),
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)));
	values[0] = ObjectIdGetDatum(row->relid);
	values[1] = NameGetDatum(row->attname);
	values[2] = Int32GetDatum(row->dim);
	values[3] = Int32GetDatum(row->m);
	values[4] = Int32GetDatum(row->k);
	values[5] = Int32GetDatum(row->rows);
	values[6] = PointerGetDatum(row->centroids);
	values[7] = PointerGetDatum(row->rotation);
	values[8] = Float4GetDatum(row->norm_lo);
	values[9] = Float4GetDatum(row->norm_hi);
	memset(nulls, ' ', sizeof(nulls));
	if (row->rotation == NULL)
		nulls[7] = 'n';
	/* Norms too small or large for a float4 scale: long PQ form only. */
	if (!(row->norm_lo > 0 && isfinite(row->norm_hi) && row->norm_hi > row->norm_lo))
		nulls[8] = nulls[9] = 'n';

	SPI_connect();
	if (SPI_execute_with_args(sql, 10, types, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert a PQ codebook");
	row->id = (uint32) DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
}

/*
 * Train a PQ codebook of m sub-vectors and k centroids for column attnum on
 * a sample of up to sample rows, store it as the column's next version and
 * return its id; 0 if the column has fewer than k vectors of one dimension.
 * The caller holds at least ShareUpdateExclusiveLock on rel and checked the
 * user's rights.
 */
uint32
RvCodebookTrain(Relation rel, AttrNumber attnum, int m, int k, int sample)
{
	PqSample	s;
	CodebookRow row;
	void	   *ws;
	int			dim;

	memset(&s, 0, sizeof(s));
	s.k = k;
	s.cap = Max(sample, k);
	SampleColumn(rel, attnum, &s);
	if (s.n < k)
	{
		ereport(NOTICE,
				(errmsg("column \"%s\" has %d vectors, too few to train a PQ codebook of %d centroids",
						NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname),
						s.n, k)));
		return 0;
	}
	dim = s.dim;
	if (m <= 0)
		m = Max(1, dim / 2);
	if (m > dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("PQ needs m <= dimensions, got m = %d for %d dimensions", m, dim)));
	if (s.other_dim > 0)
		ereport(NOTICE,
				(errmsg("%lld vectors of column \"%s\" do not have %d dimensions and will not be PQ-encoded",
						(long long) s.other_dim,
						NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname),
						dim)));

	/* Rotate the sample in place; the codebook is trained on the result. */
	row.rotation = NULL;
	if (dim <= RV_PQ_ROTATE_MAX_DIM)
	{
		float	   *y = palloc(sizeof(float) * dim);

		row.rotation = palloc(VARHDRSZ + sizeof(float) * (Size) dim * dim);
		SET_VARSIZE(row.rotation, VARHDRSZ + sizeof(float) * (Size) dim * dim);
		ws = palloc(rv_pq_rotation_workspace(dim));
		/* The second moments of a random 50,000 rows are plenty. */
		if (!rv_pq_rotation_train(s.rows, Min(s.n, 50000), dim, m,
								  (float *) VARDATA(row.rotation), ws))
			elog(ERROR, "PQ rotation rejected m = %d, n = %d, dim = %d", m, s.n, dim);
		pfree(ws);
		for (int r = 0; r < s.n; r++)
		{
			float	   *x = s.rows + (Size) r * dim;

			CHECK_FOR_INTERRUPTS();
			rv_pq_rotate((float *) VARDATA(row.rotation), dim, x, y);
			memcpy(x, y, sizeof(float) * dim);
		}
		pfree(y);
	}

	row.centroids = palloc(VARHDRSZ + sizeof(float) * (Size) k * dim);
	SET_VARSIZE(row.centroids, VARHDRSZ + sizeof(float) * (Size) k * dim);
	ws = palloc_extended(rv_pq_train_workspace(s.n, dim, m, k), MCXT_ALLOC_HUGE);
	if (!rv_pq_train(s.rows, s.n, dim, m, k, RV_PQ_ITERATIONS,
					 UINT64CONST(0x9E3779B97F4A7C15), (float *) VARDATA(row.centroids), ws))
		elog(ERROR, "PQ training rejected m = %d, k = %d, n = %d, dim = %d", m, k, s.n, dim);
	pfree(ws);
	pfree(s.rows);

	row.relid = RelationGetRelid(rel);
	row.attname = &TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname;
	row.dim = dim;
	row.m = m;
	row.k = k;
	row.rows = s.n;
	row.norm_lo = (float) (s.norm_min / RV_PQ_NORM_MARGIN);
	row.norm_hi = (float) (s.norm_max * RV_PQ_NORM_MARGIN);
	RvRunAsExtensionOwner(InsertCodebook, &row);
	return row.id;
}
