/*-------------------------------------------------------------------------
 *
 * rvheap_inline.c
 *	  How large vectors are kept inline in a ruvector_heap table: compressed
 *	  with lz4, with pglz, or not at all - chosen per column from a sample
 *	  of its values, and reported by ruvector_tier_storage().
 *
 * NOTES
 *	  A row over the TOAST threshold (about 2 kB: a vector of 500 or more
 *	  dimensions) goes through heap's toaster, which compresses MAIN
 *	  columns before anything else.  pglz made 784-d image rows 4x smaller
 *	  but exact scans 0.62x as fast; on dense float embeddings it saves
 *	  nothing and still costs a failed attempt per insert.
 *
 *	  The choice is stored in the column's own catalog entry, where heap's
 *	  toaster reads it and where \d+, pg_dump and standbys see it:
 *
 *		storage EXTERNAL (or PLAIN)	 none: stored inline as is (a row
 *									 that would not fit a page so is
 *									 still compressed or moved out of
 *									 line, rvheap_handler.c, rather than
 *									 refused)
 *		COMPRESSION lz4 or pglz		 that method
 *		storage MAIN or EXTENDED,	 undecided: lz4 where the server has
 *		no COMPRESSION				 it, else default_toast_compression
 *
 *	  EXTERNAL, because it is PostgreSQL's "no compression" (ruvector_heap
 *	  keeps the value inline all the same), and not PLAIN: PLAIN would also
 *	  deny small values (encoded tiers, short vectors) heap's 1-byte
 *	  header.
 *
 *	  The tier pass (ruvector_compact, the tier worker's round) decides
 *	  undecided columns from a sample of RV_INLINE_SAMPLE_VALUES stored
 *	  values spread over the table, one per block of a large table (at
 *	  least RV_INLINE_MIN_VALUES, else the column stays undecided).  The
 *	  worker's sample reads at most half of what is left of its round's
 *	  budget (ruvector.tier_max_blocks_per_round, rvheap_compact.c),
 *	  taking more values from each block when that is fewer than 64.  Each
 *	  value is compressed with lz4 and pglz, and a method is chosen if it
 *	  saves a quarter of the bytes - lz4 where the
 *	  server has it (it decompresses several times faster than pglz), pglz
 *	  otherwise (a quarter is also pglz's own bar); else none.  Values that
 *	  are stored encoded (tiers) or out of line are not sampled.  A decided
 *	  column is never decided again by the pass: ALTER TABLE ... ALTER
 *	  COLUMN ... SET STORAGE EXTERNAL or SET COMPRESSION sets it by hand,
 *	  SET STORAGE MAIN with SET COMPRESSION default makes it undecided
 *	  again.
 *	  A choice applies to rows written afterwards; stored values keep
 *	  their form until the row is rewritten.
 *
 *	  The catalog row is updated in the pass's transaction under the
 *	  pass's ShareUpdateExclusiveLock on the table, as ALTER TABLE ... SET
 *	  STATISTICS does; the relcache invalidation reaches other backends at
 *	  their next lock on the table, and either value is a valid way to
 *	  store a row meanwhile.
 *
 *	  Locks: a share lock on one sampled buffer at a time, held while its
 *	  values are copied; RowExclusiveLock on pg_attribute for the update.
 *
 * IDENTIFICATION
 *	  src/tableam/rvheap_inline.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/toast_compression.h"
#include "access/toast_internals.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "tableam/tableam.h"
#include "types/types.h"

PG_FUNCTION_INFO_V1(ruvector_tier_storage);

/*
 * Values sampled per column (from as many blocks, evenly spaced, when the
 * table has them), fewest to decide.
 */
#define RV_INLINE_SAMPLE_VALUES	64
#define RV_INLINE_MIN_VALUES	16

/* The choice "stored as is" (not a compression method). */
#define RV_INLINE_NONE			'n'

typedef struct InlineSample
{
	int			values;
	int64		raw_bytes;
	int64		lz4_bytes;		/* -1: the server has no lz4 */
	int64		pglz_bytes;
	BlockNumber blocks_read;
} InlineSample;

/* Has the column no choice stored yet (see NOTES)? */
bool
RvInlineUndecided(Form_pg_attribute att)
{
	return !RvInlineNone(att) && att->attcompression == InvalidCompressionMethod;
}

/* Is the column's choice "stored as is" (see NOTES)? */
bool
RvInlineNone(Form_pg_attribute att)
{
	return att->attstorage == TYPSTORAGE_EXTERNAL || att->attstorage == TYPSTORAGE_PLAIN;
}

/*
 * Must the toaster see att otherwise than as the catalog says (rvheap_handler.c)?
 * Storage other than MAIN: EXTENDED is kept inline as MAIN, EXTERNAL and
 * PLAIN as PLAIN (or MAIN for a row that would not fit a page); and with
 * lz4, an undecided column is compressed with it.
 */
bool
RvInlineOverridden(Form_pg_attribute att)
{
	if (att->attstorage != TYPSTORAGE_MAIN)
		return true;
#ifdef USE_LZ4
	return att->attcompression == InvalidCompressionMethod;
#else
	return false;
#endif
}

/* Bytes of raw once compressed with cmethod (its own size if that fails). */
static int64
CompressedSize(struct varlena *raw, char cmethod)
{
	Datum		c = toast_compress_datum(PointerGetDatum(raw), cmethod);
	int64		size = VARSIZE(raw);

	if (DatumGetPointer(c) != NULL)
	{
		size = VARSIZE(DatumGetPointer(c));
		pfree(DatumGetPointer(c));
	}
	return size;
}

/*
 * A plain (uncompressed, 4-byte header) copy of a stored value of attnum,
 * or NULL for a value that is not sampled: out of line, or encoded.
 */
static struct varlena *
SampleValue(Datum d, bool is_vector)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(d);
	struct varlena *copy;

	if (VARATT_IS_EXTERNAL(p))
		return NULL;
	copy = (struct varlena *) PG_DETOAST_DATUM_COPY(d);
	if (is_vector && ((Vector *) copy)->unused != 0)
	{
		pfree(copy);
		return NULL;
	}
	return copy;
}

/*
 * Up to RV_INLINE_SAMPLE_VALUES stored values of attnum, measured, from at
 * most maxBlocks blocks (-1: no limit).
 */
static void
InlineSampleColumn(Relation rel, AttrNumber attnum, int64 maxBlocks, InlineSample *s)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		is_vector = TupleDescAttr(desc, attnum - 1)->atttypid == RvVectorTypeOid();
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	int			nsample = Min(nblocks, RV_INLINE_SAMPLE_VALUES);
	int			per_block;
	BufferAccessStrategy strategy;

	if (maxBlocks >= 0)
		nsample = (int) Min(nsample, maxBlocks);
	strategy = GetAccessStrategy(BAS_BULKREAD);

	memset(s, 0, sizeof(*s));
#ifndef USE_LZ4
	s->lz4_bytes = -1;
#endif
	/* One value per block of a large table, more from each of a small one. */
	per_block = nsample > 0 ? (RV_INLINE_SAMPLE_VALUES + nsample - 1) / nsample : 0;

	for (int i = 0; i < nsample && s->values < RV_INLINE_SAMPLE_VALUES; i++)
	{
		BlockNumber blkno = (BlockNumber) ((uint64) i * nblocks / nsample);
		struct varlena *vals[RV_INLINE_SAMPLE_VALUES];
		int			n = 0;
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		s->blocks_read++;
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page))
			for (OffsetNumber off = FirstOffsetNumber;
				 off <= PageGetMaxOffsetNumber(page) && n < per_block; off++)
			{
				HeapTupleData tup;
				bool		isnull;
				Datum		d;

				if (!RvHeapPageTuple(rel, page, blkno, off, &tup))
					continue;
				d = heap_getattr(&tup, attnum, desc, &isnull);
				if (!isnull && (vals[n] = SampleValue(d, is_vector)) != NULL)
					n++;
			}
		UnlockReleaseBuffer(buf);

		/* Compress outside the buffer lock. */
		for (int j = 0; j < n; j++)
		{
			s->values++;
			s->raw_bytes += VARSIZE(vals[j]);
#ifdef USE_LZ4
			s->lz4_bytes += CompressedSize(vals[j], TOAST_LZ4_COMPRESSION);
#endif
			s->pglz_bytes += CompressedSize(vals[j], TOAST_PGLZ_COMPRESSION);
			pfree(vals[j]);
		}
	}
	FreeAccessStrategy(strategy);
}

/*
 * The choice a sample makes (see NOTES): a compression method, RV_INLINE_NONE,
 * or InvalidCompressionMethod when there are too few values to tell.
 */
static char
InlineChoose(const InlineSample *s)
{
	if (s->values < RV_INLINE_MIN_VALUES)
		return InvalidCompressionMethod;
	if (s->lz4_bytes >= 0)
		return s->lz4_bytes * 4 <= s->raw_bytes * 3 ? TOAST_LZ4_COMPRESSION : RV_INLINE_NONE;
	return s->pglz_bytes * 4 <= s->raw_bytes * 3 ? TOAST_PGLZ_COMPRESSION : RV_INLINE_NONE;
}

static const char *
ChoiceName(char choice)
{
	switch (choice)
	{
		case TOAST_LZ4_COMPRESSION:
			return "lz4";
		case TOAST_PGLZ_COMPRESSION:
			return "pglz";
		case RV_INLINE_NONE:
			return "none";
	}
	return NULL;
}

/* Write choice into attnum's catalog row (see NOTES). */
static void
InlineStore(Relation rel, AttrNumber attnum, char choice)
{
	Oid			relid = RelationGetRelid(rel);
	Relation	attrel = table_open(AttributeRelationId, RowExclusiveLock);
	HeapTuple	tup = SearchSysCacheCopyAttNum(relid, attnum);
	Form_pg_attribute att;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u", attnum, relid);
	att = (Form_pg_attribute) GETSTRUCT(tup);
	if (choice == RV_INLINE_NONE)
		att->attstorage = TYPSTORAGE_EXTERNAL;
	else
	{
		att->attstorage = TYPSTORAGE_MAIN;
		att->attcompression = choice;
	}
	CatalogTupleUpdate(attrel, &tup->t_self, tup);
	InvokeObjectPostAlterHook(RelationRelationId, relid, attnum);
	heap_freetuple(tup);
	table_close(attrel, RowExclusiveLock);
}

static bool
InlineColumn(Form_pg_attribute att)
{
	return !att->attisdropped &&
		(att->atttypid == RvVectorTypeOid() || att->atttypid == RvHalfvecTypeOid());
}

/*
 * Decide every undecided vector and halfvec column of rel (held with at
 * least ShareUpdateExclusiveLock) from a sample, and store the choices,
 * reading at most maxBlocks blocks in all (-1: no limit; a column left
 * without them stays undecided).  Returns the blocks read.  The
 * relation's descriptor is rebuilt when a choice is stored: callers look
 * at it only afterwards.
 */
int64
RvInlineDecide(Relation rel, int64 maxBlocks)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			natts = desc->natts;
	AttrNumber *todo = palloc(sizeof(AttrNumber) * natts);
	int			ntodo = 0;
	int64		blocks = 0;
	bool		stored = false;

	for (int i = 0; i < natts; i++)
		if (InlineColumn(TupleDescAttr(desc, i)) && RvInlineUndecided(TupleDescAttr(desc, i)))
			todo[ntodo++] = i + 1;

	for (int i = 0; i < ntodo; i++)
	{
		InlineSample s;
		char		choice;

		if (maxBlocks >= 0 && blocks >= maxBlocks)
			break;
		InlineSampleColumn(rel, todo[i], maxBlocks >= 0 ? maxBlocks - blocks : -1, &s);
		blocks += s.blocks_read;
		choice = InlineChoose(&s);
		if (choice == InvalidCompressionMethod)
			continue;
		ereport(LOG,
				(errmsg("ruvector: column \"%s\" of table \"%s\" keeps large vectors inline with %s: a sample of %d values takes %lld bytes, %lld with lz4, %lld with pglz",
						get_attname(RelationGetRelid(rel), todo[i], false),
						RelationGetRelationName(rel), ChoiceName(choice), s.values,
						(long long) s.raw_bytes, (long long) s.lz4_bytes,
						(long long) s.pglz_bytes)));
		InlineStore(rel, todo[i], choice);
		stored = true;
	}
	pfree(todo);
	if (stored)
		CommandCounterIncrement();
	return blocks;
}

/* The method rows of att are compressed with now. */
static const char *
InlineCurrent(Form_pg_attribute att)
{
	if (RvInlineNone(att))
		return "none";
	if (att->attcompression != InvalidCompressionMethod)
		return GetCompressionMethodName(att->attcompression);
#ifdef USE_LZ4
	return "lz4";
#else
	return GetCompressionMethodName(default_toast_compression);
#endif
}

/*
 * ruvector_tier_storage(tbl regclass) returns one row per vector and
 * halfvec column: column_name, compression (how rows written now are
 * stored: lz4, pglz or none), decided (false: the next tier pass decides
 * from a sample), sampled, raw_bytes, lz4_bytes (NULL without lz4),
 * pglz_bytes of a sample taken now, and what that sample would choose
 * (NULL: too few values).  Same rights as ruvector_tier_report.
 */
Datum
ruvector_tier_storage(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = RvHeapOpenChecked(PG_GETARG_OID(0), AccessShareLock,
										"ruvector_tier_storage", false);
	TupleDesc	desc = RelationGetDescr(rel);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		InlineSample s;
		const char *choice;
		Datum		values[8];
		bool		nulls[8] = {0};

		if (!InlineColumn(att))
			continue;
		InlineSampleColumn(rel, att->attnum, -1, &s);
		choice = ChoiceName(InlineChoose(&s));
		values[0] = NameGetDatum(&att->attname);
		values[1] = CStringGetTextDatum(InlineCurrent(att));
		values[2] = BoolGetDatum(!RvInlineUndecided(att));
		values[3] = Int32GetDatum(s.values);
		values[4] = Int64GetDatum(s.raw_bytes);
		values[5] = Int64GetDatum(s.lz4_bytes);
		nulls[5] = s.lz4_bytes < 0;
		values[6] = Int64GetDatum(s.pglz_bytes);
		values[7] = choice ? CStringGetTextDatum(choice) : (Datum) 0;
		nulls[7] = choice == NULL;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	table_close(rel, AccessShareLock);
	return (Datum) 0;
}
