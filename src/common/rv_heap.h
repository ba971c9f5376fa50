/*-------------------------------------------------------------------------
 *
 * rv_heap.h
 *	  A binary heap of (distance, key) items in an array, min or max by a
 *	  flag: one template for the hnsw build's in-memory graph search (float
 *	  distances, HnswRef keys; src/indexam/hnswbuild.c), the on-disk
 *	  searches of scans, inserts and repairs (double distances, candidate
 *	  numbers; hnswutils.c), and the maximum adjacency ordering of the
 *	  integrity plane's minimum cut (double keys, node numbers, a max-heap
 *	  of fixed size in pure C; src/integrity/igmincut.c).
 *
 * NOTES
 *	  Why not lib/pairingheap.h: these heaps live for one search, take
 *	  ef_construction or ef_search items and are pushed and popped once per
 *	  distance computed; an array heap needs no allocation per item and
 *	  reads no pointers.  pairingheap is used where items outlive a batch
 *	  (strict_order's pending rows, hnswscan.c).
 *
 *	  Distances compare with '<' and '>': a NaN distance (which only values
 *	  whose products overflow give) has no place in the order, and the
 *	  search treats it as it falls; the rows a scan returns are put in
 *	  order again only by the re-ranking of compact storage (rerank.c).
 *
 *	  Invariant: no item comes before its parent; after each pop an Assert
 *	  checks it for the new top and its children.
 *
 *	  Define before including:
 *	    HH_PREFIX	prefix of the function names (Push, Pop)
 *	    HH_HEAP		the heap's struct type: items, count, capacity
 *	    HH_ITEM		the item's struct type
 *	    HH_DIST		the item's distance field; HH_DIST_TYPE its type
 *	    HH_KEY		the item's key field; HH_KEY_TYPE its type
 *	    HH_SCOPE	the functions' linkage (static inline, or empty)
 *	  and optionally:
 *	    HH_FIXED	the caller allocates capacity items for every push
 *				(no palloc: the template then needs no server header)
 *	    HH_ASSERT	the assertion macro (default: Assert)
 *	  The macros are undefined at the end, so the header can be included
 *	  again for another heap.
 *
 * IDENTIFICATION
 *	  src/common/rv_heap.h
 *
 *-------------------------------------------------------------------------
 */

#define HH_CONCAT_(a, b)	a##b
#define HH_CONCAT(a, b)		HH_CONCAT_(a, b)
#define HH_PUSH				HH_CONCAT(HH_PREFIX, Push)
#define HH_POP				HH_CONCAT(HH_PREFIX, Pop)
#define HH_BEFORE(a, b, maxHeap) \
	((maxHeap) ? (a) > (b) : (a) < (b))
#ifndef HH_ASSERT
#define HH_ASSERT(cond) Assert(cond)
#endif

/* Add an item; the array doubles when full (unless HH_FIXED) */
HH_SCOPE void
HH_PUSH(HH_HEAP *h, HH_DIST_TYPE distance, HH_KEY_TYPE key, bool maxHeap)
{
	int			i;

#ifdef HH_FIXED
	HH_ASSERT(h->count < h->capacity);
#else
	if (h->count == h->capacity)
	{
		h->capacity = Max(64, h->capacity * 2);
		if (h->items == NULL)
			h->items = palloc(sizeof(HH_ITEM) * h->capacity);
		else
			h->items = repalloc_huge(h->items, sizeof(HH_ITEM) * h->capacity);
	}
#endif

	i = h->count++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (!HH_BEFORE(distance, h->items[parent].HH_DIST, maxHeap))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i].HH_DIST = distance;
	h->items[i].HH_KEY = key;
}

/* Remove and return the top item (the heap must not be empty) */
HH_SCOPE HH_ITEM
HH_POP(HH_HEAP *h, bool maxHeap)
{
	HH_ITEM		top = h->items[0];
	HH_ITEM		last = h->items[--h->count];
	int			i = 0;

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= h->count)
			break;
		if (child + 1 < h->count &&
			HH_BEFORE(h->items[child + 1].HH_DIST, h->items[child].HH_DIST, maxHeap))
			child++;
		if (!HH_BEFORE(h->items[child].HH_DIST, last.HH_DIST, maxHeap))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->count > 0)
		h->items[i] = last;
	/* The new top comes before its children (NaN has no order) */
	HH_ASSERT(h->count < 2 || isnan((double) h->items[1].HH_DIST) ||
			  !HH_BEFORE(h->items[1].HH_DIST, h->items[0].HH_DIST, maxHeap));
	HH_ASSERT(h->count < 3 || isnan((double) h->items[2].HH_DIST) ||
			  !HH_BEFORE(h->items[2].HH_DIST, h->items[0].HH_DIST, maxHeap));
	return top;
}

#undef HH_CONCAT_
#undef HH_CONCAT
#undef HH_PUSH
#undef HH_POP
#undef HH_BEFORE
#undef HH_PREFIX
#undef HH_HEAP
#undef HH_ITEM
#undef HH_DIST
#undef HH_DIST_TYPE
#undef HH_KEY
#undef HH_KEY_TYPE
#undef HH_SCOPE
#undef HH_FIXED
#undef HH_ASSERT
