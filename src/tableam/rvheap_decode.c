/*-------------------------------------------------------------------------
 *
 * rvheap_decode.c
 *	  Encoded forms never leave a ruvector_heap table: decoding of tuples
 *	  into slots, the rebuilding of a tuple with new attribute values, and
 *	  the per-relation list of vector attributes.
 *
 * NOTES
 *	  A decoded tuple is a materialized copy: same header (xmin, xmax, cid,
 *	  ctid, infomask, null bitmap) and number of attributes as the stored
 *	  one, data re-formed with float32 vectors, RV_HEAP_ENCODED clear.  It
 *	  is stored in the scan's buffer-heap slot with ExecForceStoreHeapTuple,
 *	  so the executor, COPY, ANALYZE and triggers never see an encoded form,
 *	  and system columns still read the stored header.  The slot then holds
 *	  no buffer pin; tuple_satisfies_snapshot copes with that
 *	  (rvheap_handler.c).
 *
 *	  Rebuilding keeps the stored number of attributes (a tuple written
 *	  before ALTER TABLE ADD COLUMN stays short; the missing values still
 *	  come from the catalog) and keeps t_hoff, since nulls do not change.
 *
 *	  Memory: decoding works in a private context reset after each tuple;
 *	  the slot copies the result into its own memory.
 *
 *	  The type oids of vector and halfvec are looked up in the extension's
 *	  schema and cached until a pg_type invalidation.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_decode.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heaptoast.h"
#include "catalog/pg_type.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "common/rv_extension.h"
#include "tableam/tableam.h"

static Oid	vector_oid = InvalidOid;
static Oid	halfvec_oid = InvalidOid;
static bool type_oids_valid = false;
static MemoryContext decode_cxt = NULL;

static void
TypeCacheInvalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	type_oids_valid = false;
}

/* Register the invalidation callback of the type oid cache (once). */
void
RvTypeCacheInit(void)
{
	CacheRegisterSyscacheCallback(TYPEOID, TypeCacheInvalidate, (Datum) 0);
}

static void
LookupTypeOids(void)
{
	Oid			nsp = RvExtensionNamespace();

	vector_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								 CStringGetDatum("vector"), ObjectIdGetDatum(nsp));
	halfvec_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								  CStringGetDatum("halfvec"), ObjectIdGetDatum(nsp));
	type_oids_valid = true;
}

/* Oid of the extension's vector type. */
Oid
RvVectorTypeOid(void)
{
	if (!type_oids_valid)
		LookupTypeOids();
	return vector_oid;
}

/* Oid of the extension's halfvec type. */
Oid
RvHalfvecTypeOid(void)
{
	if (!type_oids_valid)
		LookupTypeOids();
	return halfvec_oid;
}

/*
 * The vector attributes of rel, computed once per relcache entry (the
 * relcache frees rd_amcache whenever it rebuilds the entry).
 */
RvRelInfo
RvGetRelInfo(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	RvRelInfo	info;
	AttrNumber	vec[MaxHeapAttributeNumber];
	AttrNumber	inl[MaxHeapAttributeNumber];
	int			nvec = 0;
	int			ninl = 0;
	Oid			voids[2];

	if (rel->rd_amcache)
		return (RvRelInfo) rel->rd_amcache;

	voids[0] = RvVectorTypeOid();
	voids[1] = RvHalfvecTypeOid();
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (att->atttypid == voids[0])
			vec[nvec++] = att->attnum;
		if ((att->atttypid == voids[0] || att->atttypid == voids[1]) &&
			RvInlineOverridden(att))
			inl[ninl++] = att->attnum;
	}

	info = MemoryContextAlloc(CacheMemoryContext,
							  offsetof(RvRelInfoData, atts) +
							  sizeof(AttrNumber) * (nvec + ninl + 1));
	info->nvector = nvec;
	info->ninline = ninl;
	memcpy(info->atts, vec, sizeof(AttrNumber) * nvec);
	memcpy(info->atts + nvec, inl, sizeof(AttrNumber) * ninl);
	rel->rd_amcache = info;
	return info;
}

/*
 * A new tuple with src's header and number of attributes and data formed
 * from values/isnull (which have the same nulls as src).  RV_HEAP_ENCODED
 * is set or cleared as encoded says.  Allocated in the current context.
 */
HeapTuple
RvHeapTupleRebuild(HeapTuple src, TupleDesc desc, Datum *values, bool *isnull,
				   bool encoded)
{
	HeapTupleHeader sh = src->t_data;
	int			natts = HeapTupleHeaderGetNatts(sh);
	TupleDesc	d = desc;
	uint16		infomask = sh->t_infomask;
	bool		hasnull = (sh->t_infomask & HEAP_HASNULL) != 0;
	Size		data_len;
	Size		len;
	HeapTuple	tup;
	HeapTupleHeader th;

	if (natts < desc->natts)
	{
		/* Form only the attributes the stored tuple has. */
		d = CreateTupleDescCopy(desc);
		d->natts = natts;
	}
	data_len = heap_compute_data_size(d, values, isnull);
	len = sh->t_hoff + data_len;

	tup = (HeapTuple) palloc0(HEAPTUPLESIZE + len);
	th = (HeapTupleHeader) ((char *) tup + HEAPTUPLESIZE);
	tup->t_data = th;
	tup->t_len = len;
	tup->t_self = src->t_self;
	tup->t_tableOid = src->t_tableOid;

	memcpy(th, sh, sh->t_hoff);
	heap_fill_tuple(d, values, isnull, (char *) th + sh->t_hoff, data_len,
					&infomask, hasnull ? th->t_bits : NULL);
	if (hasnull)
		infomask |= HEAP_HASNULL;
	th->t_infomask = infomask;
	if (encoded)
		th->t_infomask2 |= RV_HEAP_ENCODED;
	else
		th->t_infomask2 &= ~RV_HEAP_ENCODED;

	if (d != desc)
		FreeTupleDesc(d);
	return tup;
}

/*
 * Whether a stored tuple may hold an encoded vector: an inline vector with
 * a tag, or one stored compressed or out of line (not opened here; the
 * decoder looks inside).  Used to mark tuples that a heap rewrite copied.
 */
bool
RvHeapTupleHasEncoded(Relation rel, RvRelInfo info, HeapTuple tup)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			natts = HeapTupleHeaderGetNatts(tup->t_data);

	for (int i = 0; i < info->nvector; i++)
	{
		AttrNumber	attnum = RvRelInfoVector(info, i);
		bool		isnull;
		Datum		d;
		struct varlena *p;
		int			tier;

		if (attnum > natts)
			continue;
		d = heap_getattr(tup, attnum, desc, &isnull);
		if (isnull)
			continue;
		p = (struct varlena *) DatumGetPointer(d);
		if (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p))
			return true;
		if (RvDatumIsEncoded(d, &tier))
			return true;
	}
	return false;
}

/*
 * Replace the tuple in a buffer-heap slot by a copy with decoded vectors
 * (see NOTES).  The slot's tuple is flagged RV_HEAP_ENCODED; if nothing in
 * it turns out to be encoded, the slot is left alone.
 */
void
RvHeapDecodeSlot(Relation rel, TupleTableSlot *slot)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	HeapTuple	src = bslot->base.tuple;
	TupleDesc	desc = RelationGetDescr(rel);
	RvRelInfo	info = RvGetRelInfo(rel);
	int			natts = HeapTupleHeaderGetNatts(src->t_data);
	MemoryContext old;
	Datum	   *values;
	bool	   *isnull;
	bool		changed = false;
	HeapTuple	dst;

	if (decode_cxt == NULL)
		decode_cxt = AllocSetContextCreate(TopMemoryContext,
										   "ruvector_heap decode",
										   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(decode_cxt);

	values = palloc(sizeof(Datum) * desc->natts);
	isnull = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(src, desc, values, isnull);
	for (int i = 0; i < info->nvector; i++)
	{
		int			a = RvRelInfoVector(info, i) - 1;
		int			tier;

		if (a >= natts || isnull[a] || !RvDatumIsEncoded(values[a], &tier))
			continue;
		values[a] = PointerGetDatum(RvTierDecode((Vector *) PG_DETOAST_DATUM(values[a])));
		changed = true;
	}

	if (changed)
	{
		dst = RvHeapTupleRebuild(src, desc, values, isnull, false);
		dst->t_tableOid = RelationGetRelid(rel);
		MemoryContextSwitchTo(old);

		/* The slot copies dst into its own memory and drops its pin. */
		ExecForceStoreHeapTuple(dst, slot, false);
		slot->tts_tid = dst->t_self;
		slot->tts_tableOid = dst->t_tableOid;
	}
	else
		MemoryContextSwitchTo(old);
	MemoryContextReset(decode_cxt);
}
