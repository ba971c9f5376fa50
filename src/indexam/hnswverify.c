/*-------------------------------------------------------------------------
 *
 * hnswverify.c
 *	  ruvector_hnsw_verify(regclass): check the structure of an HNSW index
 *	  and that it holds every visible row of its table, reporting problems
 *	  as rows.
 *
 * NOTES
 *	  Checks, in order: the metapage; the page chain (every page reached
 *	  once, each an hnsw page); every tuple (type, level, slot count, value
 *	  size, heap TIDs, overflow tuples); every link of a live element (to
 *	  an existing, undeleted element of a high enough level); the entry
 *	  point; which live elements layer 0 reaches from the entry point; and
 *	  whether every row visible to the caller's snapshot that the index
 *	  should hold has its heap TID in some element.
 *
 *	  Problems are 'error' when the index is wrong and 'warning' when it is
 *	  legal but worth knowing: HNSW can leave an element without incoming
 *	  links, and a crash in the middle of VACUUM can leave an entry point
 *	  whose rows are gone.
 *
 *	  The index is read page by page under share locks while inserts may
 *	  run, so a busy index can show transient link problems; run it on a
 *	  quiet index (as the crash tests do) for a definite answer.
 *
 * IDENTIFICATION
 *	  src/indexam/hnswverify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "indexam/hnsw.h"
#include "indexam/indexam.h"

/* A live element: where it is, its level and its layer-0 links */
typedef struct VerifyElement
{
	BlockNumber blkno;
	OffsetNumber offno;
	uint8		level;
	bool		deleted;
	bool		reached;
	uint32		slotStart;		/* into VerifyState.slots, all layers */
	uint16		nslots;
} VerifyElement;

typedef struct VerifyState
{
	Relation	index;
	ReturnSetInfo *rsinfo;
	int			m;
	HnswSupport support;

	VerifyElement *elems;
	uint32		nelems;
	uint32		maxelems;
	ItemPointerData *slots;
	Size		nslots;
	Size		maxslots;

	ItemPointerData *heaptids;	/* sorted, for the heap check */
	Size		nheaptids;
	Size		maxheaptids;

	int64		nerrors;
} VerifyState;

static void
Report(VerifyState *vs, BlockNumber blkno, OffsetNumber offno, bool error, const char *fmt,...)
	pg_attribute_printf(5, 6);

/* Add one row to the result */
static void
Report(VerifyState *vs, BlockNumber blkno, OffsetNumber offno, bool error, const char *fmt,...)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	char		buf[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	values[0] = Int64GetDatum(BlockNumberIsValid(blkno) ? (int64) blkno : -1);
	nulls[0] = !BlockNumberIsValid(blkno);
	values[1] = Int32GetDatum(offno);
	nulls[1] = !OffsetNumberIsValid(offno);
	values[2] = CStringGetTextDatum(error ? "error" : "warning");
	values[3] = CStringGetTextDatum(buf);
	tuplestore_putvalues(vs->rsinfo->setResult, vs->rsinfo->setDesc, values, nulls);
	if (error)
		vs->nerrors++;
}

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/* Index of the element at (blkno, offno), or -1 */
static int64
FindElement(VerifyState *vs, BlockNumber blkno, OffsetNumber offno)
{
	int64		lo = 0;
	int64		hi = (int64) vs->nelems - 1;

	while (lo <= hi)
	{
		int64		mid = (lo + hi) / 2;
		VerifyElement *e = &vs->elems[mid];

		if (e->blkno == blkno && e->offno == offno)
			return mid;
		if (e->blkno < blkno || (e->blkno == blkno && e->offno < offno))
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int
CompareElements(const void *a, const void *b)
{
	const VerifyElement *x = (const VerifyElement *) a;
	const VerifyElement *y = (const VerifyElement *) b;

	if (x->blkno != y->blkno)
		return x->blkno < y->blkno ? -1 : 1;
	if (x->offno != y->offno)
		return x->offno < y->offno ? -1 : 1;
	return 0;
}

/* Remember an element and (for live ones) its slots and heap TIDs */
static void
AddElement(VerifyState *vs, BlockNumber blkno, OffsetNumber offno, HnswNodeTuple node,
		   ItemPointer slots)
{
	VerifyElement *e;

	if (vs->nelems == vs->maxelems)
	{
		vs->maxelems = Max(1024, vs->maxelems * 2);
		vs->elems = repalloc_huge(vs->elems, sizeof(VerifyElement) * vs->maxelems);
	}
	e = &vs->elems[vs->nelems++];
	e->blkno = blkno;
	e->offno = offno;
	e->level = node->level;
	e->deleted = HnswNodeIsDeleted(node);
	e->reached = false;
	e->slotStart = (uint32) vs->nslots;
	e->nslots = 0;

	if (e->deleted || slots == NULL)
		return;

	if (vs->nslots + node->nslots > vs->maxslots)
	{
		vs->maxslots = Max(vs->maxslots * 2, vs->nslots + node->nslots);
		vs->slots = repalloc_huge(vs->slots, sizeof(ItemPointerData) * vs->maxslots);
	}
	memcpy(&vs->slots[vs->nslots], slots, sizeof(ItemPointerData) * node->nslots);
	vs->nslots += node->nslots;
	e->nslots = node->nslots;

	for (int i = 0; i < HNSW_HEAPTIDS && ItemPointerIsValid(&node->heaptids[i]); i++)
	{
		if (vs->nheaptids == vs->maxheaptids)
		{
			vs->maxheaptids = Max(1024, vs->maxheaptids * 2);
			vs->heaptids = repalloc_huge(vs->heaptids, sizeof(ItemPointerData) * vs->maxheaptids);
		}
		vs->heaptids[vs->nheaptids++] = node->heaptids[i];
	}
}

/* Check a node's own fields and find its slots; NULL if unusable */
/*
 * Compact storage: the value is a code of the index's storage and
 * dimensions; sq8 parameters are finite, with a scale >= 0.
 */
static bool
CheckCode(VerifyState *vs, BlockNumber blkno, OffsetNumber offno, const char *value)
{
	HnswSupport *support = &vs->support;
	float		params[3];

	if (VARSIZE(value) != HnswStoredValueSize(support))
	{
		Report(vs, blkno, offno, true, "%s code of %u bytes, expected %zu for %d dimensions",
			   rv_storage_name(support->storage), VARSIZE(value),
			   (size_t) HnswStoredValueSize(support), support->dimensions);
		return false;
	}
	if (support->storage == RV_CODE_SQ8)
	{
		memcpy(params, value + VARHDRSZ, sizeof(params));
		if (!isfinite(params[0]) || !isfinite(params[1]) || !isfinite(params[2]) ||
			params[1] < 0 || params[2] < 0)
		{
			Report(vs, blkno, offno, true, "sq8 code with offset %g, scale %g, squared norm %g",
				   params[0], params[1], params[2]);
			return false;
		}
	}
	return true;
}

static ItemPointer
CheckNode(VerifyState *vs, Buffer buf, Page page, BlockNumber blkno, OffsetNumber offno,
		  HnswNodeTuple node, Size itemlen, Buffer *sbuf)
{
	HnswNbrTuple ntup;
	ItemPointer slots;
	bool		seenInvalid = false;

	*sbuf = InvalidBuffer;
	if (node->level > HnswMaxLevel(vs->m))
		Report(vs, blkno, offno, true, "level %d above the maximum %d", node->level, HnswMaxLevel(vs->m));
	if (node->nslots != HnswSlotCount(vs->m, node->level))
	{
		Report(vs, blkno, offno, true, "%d neighbour slots, expected %d for level %d",
			   node->nslots, HnswSlotCount(vs->m, node->level), node->level);
		return NULL;
	}
	if (HnswNodeIsDeleted(node))
		return NULL;

	if (HNSW_NODE_HEADER_SIZE + VARSIZE(HnswNodeValue(node)) > itemlen ||
		node->nbroff != HnswNodeNbrOffset(VARSIZE(HnswNodeValue(node)), vs->support.filterSize))
	{
		Report(vs, blkno, offno, true, "value of %u bytes does not fit the tuple", VARSIZE(HnswNodeValue(node)));
		return NULL;
	}
	if (HnswIsCompact(&vs->support) && !CheckCode(vs, blkno, offno, HnswNodeValue(node)))
		return NULL;

	for (int i = 0; i < HNSW_HEAPTIDS; i++)
	{
		if (!ItemPointerIsValid(&node->heaptids[i]))
			seenInvalid = true;
		else if (seenInvalid)
			Report(vs, blkno, offno, true, "heap TID %d follows an empty slot", i);
	}

	if (HnswNodeHasSeparate(node) &&
		ItemPointerGetBlockNumber(HnswNodeNbrTid(node)) <= blkno)
	{
		Report(vs, blkno, offno, true, "overflow tuple at block %u is not after the element",
			   ItemPointerGetBlockNumber(HnswNodeNbrTid(node)));
		return NULL;
	}
	if (HnswNodeHasSeparate(node) &&
		ItemPointerGetBlockNumber(HnswNodeNbrTid(node)) >= RelationGetNumberOfBlocks(vs->index))
	{
		Report(vs, blkno, offno, true, "overflow tuple at block %u is past the end",
			   ItemPointerGetBlockNumber(HnswNodeNbrTid(node)));
		return NULL;
	}

	slots = HnswGetSlots(vs->index, page, node, sbuf, &ntup);
	if (slots == NULL)
		Report(vs, blkno, offno, true, "overflow tuple (%u,%u) does not belong to the element",
			   ItemPointerGetBlockNumber(HnswNodeNbrTid(node)),
			   ItemPointerGetOffsetNumber(HnswNodeNbrTid(node)));
	return slots;
}

/* Check every tuple of one page and collect its elements */
static void
CheckPage(VerifyState *vs, Buffer buf, Page page, BlockNumber blkno)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		itemid = PageGetItemId(page, off);
		HnswNodeTuple node = (HnswNodeTuple) PageGetItem(page, itemid);
		Buffer		sbuf;
		ItemPointer slots;

		if (node->type == HNSW_NBR_TUPLE)
			continue;
		if (node->type != HNSW_NODE_TUPLE)
		{
			Report(vs, blkno, off, true, "unknown tuple type %d", node->type);
			continue;
		}
		slots = CheckNode(vs, buf, page, blkno, off, node, ItemIdGetLength(itemid), &sbuf);
		AddElement(vs, blkno, off, node, slots);
		if (BufferIsValid(sbuf))
			UnlockReleaseBuffer(sbuf);
	}
}

/*
 * A page outside the chain is fine only if it is all zeros: the relation
 * was extended, then a crash came before the record that would have
 * linked the new page was written.
 */
static void
CheckUnchained(VerifyState *vs, bool *seen, BlockNumber nblocks)
{
	for (BlockNumber b = HNSW_HEAD_BLKNO; b < nblocks; b++)
	{
		Buffer		buf;
		bool		isNew;

		if (seen[b])
			continue;
		buf = ReadBuffer(vs->index, b);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		isNew = PageIsNew(BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		if (isNew)
			Report(vs, b, InvalidOffsetNumber, false,
				   "empty page outside the page chain (an extension interrupted by a crash)");
		else
			Report(vs, b, InvalidOffsetNumber, true, "page is not in the page chain");
	}
}

/* Walk the page chain, checking pages and tuples and collecting elements */
static void
WalkPages(VerifyState *vs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);
	bool	   *seen = palloc0(Max(nblocks, 1));
	BlockNumber blkno = HNSW_HEAD_BLKNO;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		if (blkno >= nblocks)
		{
			Report(vs, blkno, InvalidOffsetNumber, true, "page chain leads past the end of the index");
			break;
		}
		if (seen[blkno])
		{
			Report(vs, blkno, InvalidOffsetNumber, true, "page chain loops back to this page");
			break;
		}
		seen[blkno] = true;

		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID)
		{
			Report(vs, blkno, InvalidOffsetNumber, true, "not an hnsw page");
			UnlockReleaseBuffer(buf);
			break;
		}
		CheckPage(vs, buf, page, blkno);
		blkno = HnswPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}

	CheckUnchained(vs, seen, nblocks);
	pfree(seen);
	qsort(vs->elems, vs->nelems, sizeof(VerifyElement), CompareElements);
}

/* Every link of a live element must lead to a live element of its layer */
static void
CheckLinks(VerifyState *vs)
{
	for (uint32 i = 0; i < vs->nelems; i++)
	{
		VerifyElement *e = &vs->elems[i];

		if (e->deleted || e->nslots == 0)
			continue;
		for (int lc = 0; lc <= e->level; lc++)
		{
			ItemPointer layer = &vs->slots[e->slotStart + HnswLayerStart(vs->m, lc)];
			bool		seenInvalid = false;

			for (int j = 0; j < HnswLayerM(vs->m, lc); j++)
			{
				int64		t;

				if (!ItemPointerIsValid(&layer[j]))
				{
					seenInvalid = true;
					continue;
				}
				if (seenInvalid)
					Report(vs, e->blkno, e->offno, false, "layer %d has a link after an empty slot", lc);
				t = FindElement(vs, ItemPointerGetBlockNumber(&layer[j]), ItemPointerGetOffsetNumber(&layer[j]));
				if (t < 0)
					Report(vs, e->blkno, e->offno, true, "layer %d links to (%u,%u), which is no element", lc,
						   ItemPointerGetBlockNumber(&layer[j]), ItemPointerGetOffsetNumber(&layer[j]));
				else if (vs->elems[t].deleted)
					Report(vs, e->blkno, e->offno, true, "layer %d links to deleted element (%u,%u)", lc,
						   ItemPointerGetBlockNumber(&layer[j]), ItemPointerGetOffsetNumber(&layer[j]));
				else if (vs->elems[t].level < lc)
					Report(vs, e->blkno, e->offno, true, "layer %d links to (%u,%u) of level %d", lc,
						   ItemPointerGetBlockNumber(&layer[j]), ItemPointerGetOffsetNumber(&layer[j]),
						   vs->elems[t].level);
			}
		}
	}
}

/* Mark what layer 0 reaches from the entry point; report the rest */
static void
CheckReach(VerifyState *vs, ItemPointer entry)
{
	uint32	   *queue;
	uint32		head = 0;
	uint32		tail = 0;
	int64		start;
	int64		unreached = 0;

	if (!ItemPointerIsValid(entry))
		return;
	start = FindElement(vs, ItemPointerGetBlockNumber(entry), ItemPointerGetOffsetNumber(entry));
	if (start < 0)
		return;

	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(vs->nelems, 1));
	vs->elems[start].reached = true;
	queue[tail++] = (uint32) start;
	while (head < tail)
	{
		VerifyElement *e = &vs->elems[queue[head++]];
		ItemPointer layer = &vs->slots[e->slotStart];

		if (e->nslots == 0)
			continue;
		for (int j = 0; j < HnswLayerM(vs->m, 0); j++)
		{
			int64		t;

			if (!ItemPointerIsValid(&layer[j]))
				continue;
			t = FindElement(vs, ItemPointerGetBlockNumber(&layer[j]), ItemPointerGetOffsetNumber(&layer[j]));
			if (t >= 0 && !vs->elems[t].reached && !vs->elems[t].deleted)
			{
				vs->elems[t].reached = true;
				queue[tail++] = (uint32) t;
			}
		}
	}

	for (uint32 i = 0; i < vs->nelems; i++)
		if (!vs->elems[i].deleted && !vs->elems[i].reached)
			unreached++;
	if (unreached > 0)
		Report(vs, InvalidBlockNumber, InvalidOffsetNumber, false,
			   INT64_FORMAT " of %u elements are not reachable from the entry point on layer 0",
			   unreached, vs->nelems);
	pfree(queue);
}

/* The metapage, and the entry point it names */
static bool
CheckMeta(VerifyState *vs, ItemPointer entry, int *entryLevel)
{
	Buffer		buf = ReadBuffer(vs->index, HNSW_METAPAGE_BLKNO);
	HnswMetaPageData meta;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = *HnswPageGetMeta(BufferGetPage(buf));
	UnlockReleaseBuffer(buf);

	if (meta.magicNumber != HNSW_MAGIC_NUMBER)
	{
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true, "bad magic number %08x", meta.magicNumber);
		return false;
	}
	if (meta.version != HNSW_FORMAT_VERSION)
	{
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true, "format version %u, expected %d",
			   meta.version, HNSW_FORMAT_VERSION);
		return false;
	}
	if (meta.m < HNSW_MIN_M || meta.m > HNSW_MAX_M)
	{
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true, "m %d out of range", meta.m);
		return false;
	}
	if (meta.storage > RV_CODE_BINARY)
	{
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true, "unknown storage %u", meta.storage);
		return false;
	}
	vs->m = meta.m;
	*entryLevel = meta.entryLevel;
	if (BlockNumberIsValid(meta.entryBlkno))
		ItemPointerSet(entry, meta.entryBlkno, meta.entryOffno);
	else
		ItemPointerSetInvalid(entry);
	return true;
}

static void
CheckEntry(VerifyState *vs, ItemPointer entry, int entryLevel)
{
	int64		t;
	int			highest = -1;

	for (uint32 i = 0; i < vs->nelems; i++)
		if (!vs->elems[i].deleted && vs->elems[i].level > highest)
			highest = vs->elems[i].level;

	if (!ItemPointerIsValid(entry))
	{
		if (highest >= 0)
			Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true,
				   "no entry point, but %u elements", vs->nelems);
		return;
	}
	t = FindElement(vs, ItemPointerGetBlockNumber(entry), ItemPointerGetOffsetNumber(entry));
	if (t < 0 || vs->elems[t].deleted)
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true,
			   "entry point (%u,%u) is not a live element",
			   ItemPointerGetBlockNumber(entry), ItemPointerGetOffsetNumber(entry));
	else if (vs->elems[t].level != entryLevel)
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, true,
			   "entry point level %d, the element's is %d", entryLevel, vs->elems[t].level);
	else if (entryLevel < highest)
		Report(vs, HNSW_METAPAGE_BLKNO, InvalidOffsetNumber, false,
			   "entry point level %d is below the highest element level %d", entryLevel, highest);
}

/* Heap check: every row the index should hold has its TID in it */
typedef struct HeapCheck
{
	VerifyState *vs;
	int64		missing;
	ItemPointerData example;
} HeapCheck;

static void
HeapCheckCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				  bool tupleIsAlive, void *state)
{
	HeapCheck  *hc = (HeapCheck *) state;
	VerifyState *vs = hc->vs;
	Datum		value;

	if (isnull[0] || !HnswFormValue(&vs->support, values[0], &value))
		return;
	if (bsearch(tid, vs->heaptids, vs->nheaptids, sizeof(ItemPointerData), CompareTids) == NULL)
	{
		if (hc->missing++ == 0)
			hc->example = *tid;
	}
}

static void
CheckHeap(VerifyState *vs, Relation heap)
{
	HeapCheck	hc;
	IndexInfo  *indexInfo = BuildIndexInfo(vs->index);
	Snapshot	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	TableScanDesc scan;

	qsort(vs->heaptids, vs->nheaptids, sizeof(ItemPointerData), CompareTids);

	/* As amcheck does: a plain MVCC scan feeding the build callback */
	indexInfo->ii_Concurrent = true;
	hc.vs = vs;
	hc.missing = 0;
	scan = table_beginscan_strat(heap, snapshot, 0, NULL, true, false);
	table_index_build_scan(heap, vs->index, indexInfo, true, false, HeapCheckCallback, &hc, scan);
	UnregisterSnapshot(snapshot);

	if (hc.missing > 0)
		Report(vs, InvalidBlockNumber, InvalidOffsetNumber, true,
			   INT64_FORMAT " visible rows are not in the index, the first at heap TID (%u,%u)",
			   hc.missing, ItemPointerGetBlockNumber(&hc.example), ItemPointerGetOffsetNumber(&hc.example));
}

PG_FUNCTION_INFO_V1(ruvector_hnsw_verify);
Datum
ruvector_hnsw_verify(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid;
	char	   *name;
	AclResult	aclresult;
	VerifyState vs;
	Relation	heap;
	ItemPointerData entry;
	int			entryLevel;

	InitMaterializedSRF(fcinfo, 0);
	memset(&vs, 0, sizeof(vs));
	vs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	/*
	 * Refusals before any lock: no such relation, not an index, a
	 * partitioned index (it has no pages), no SELECT right on the table
	 * (the check reads every row's TID and vector).
	 */
	name = get_rel_name(indexoid);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ruvector_hnsw_verify: relation with OID %u does not exist", indexoid)));
	heapoid = IndexGetRelation(indexoid, true);
	if (!OidIsValid(heapoid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", name)));
	if (get_rel_relkind(indexoid) == RELKIND_PARTITIONED_INDEX)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partitioned index", name),
				 errhint("Call ruvector_hnsw_verify on the index of each partition.")));
	aclresult = pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(heapoid));

	heap = table_open(heapoid, AccessShareLock);
	vs.index = index_open(indexoid, AccessShareLock);
	if (IndexGetRelation(indexoid, false) != heapoid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" was moved to another table while waiting for its lock", name)));
	if (vs.index->rd_rel->relam != get_index_am_oid("hnsw", true) &&
		vs.index->rd_rel->relam != get_index_am_oid("ruhnsw", true))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(vs.index))));
	if (RELATION_IS_OTHER_TEMP(vs.index))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot access temporary indexes of other sessions")));
	/* A failed CREATE INDEX CONCURRENTLY leaves one, possibly without pages. */
	if (!vs.index->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" is not valid", name),
				 errhint("REINDEX the index.")));

	HnswInitSupport(&vs.support, vs.index);
	vs.elems = palloc(sizeof(VerifyElement));
	vs.slots = palloc(sizeof(ItemPointerData));
	vs.heaptids = palloc(sizeof(ItemPointerData));

	if (CheckMeta(&vs, &entry, &entryLevel))
	{
		WalkPages(&vs);
		CheckLinks(&vs);
		CheckEntry(&vs, &entry, entryLevel);
		CheckReach(&vs, &entry);
		CheckHeap(&vs, heap);
	}

	index_close(vs.index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return (Datum) 0;
}
