/*-------------------------------------------------------------------------
 *
 * igmincut.c
 *	  Exact global minimum cut of a weighted undirected graph: Stoer-Wagner
 *	  maximum adjacency orderings, with the Nagamochi-Ibaraki contraction
 *	  rule so that one ordering usually contracts many pairs, not one.
 *
 * NOTES
 *	  One phase orders the current (contracted) nodes by maximum adjacency
 *	  v1, v2, ..., vk: each next node is the one most strongly tied to the
 *	  nodes already ordered, q(vi) being that tie.  Stoer and Wagner show
 *	  that q(vk) is a minimum vk-v(k-1) cut; applied to every prefix, q(vi)
 *	  <= lambda(v(i-1), vi).  So once a cut of weight best is known, every
 *	  pair (v(i-1), vi) with q(vi) >= best can be merged: no cut lighter
 *	  than best separates them.  The known cuts are the single contracted
 *	  nodes (their weighted degree); q(vk) is vk's degree, so the last pair
 *	  is always merged and every phase makes progress.  A phase is
 *	  O(m log m) (a binary heap with lazy deletion); in practice a 1000-node
 *	  graph needs a handful of phases.
 *
 *	  The side returned is the set of original nodes inside the contracted
 *	  node whose degree gave the best cut.
 *
 * IDENTIFICATION
 *	  src/integrity/igmincut.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "integrity/igalgo.h"

/*
 * The ordering's priority queue: a binary max-heap of (key, node) in one
 * array of 2m + 1 entries, with lazy deletion (a raised key is pushed
 * again; the stale entry is skipped when popped): the heap template of
 * src/common/rv_heap.h, of fixed size.  Not PostgreSQL's pairingheap:
 * this file is pure C, linked into the Check suite without a server, and
 * the flat array needs no allocation per push.
 */
typedef struct McHeapItem
{
	double		key;
	uint32_t	node;
} McHeapItem;

typedef struct McHeap
{
	McHeapItem *items;
	int			count;
	int			capacity;
} McHeap;

#define HH_PREFIX McHeap
#define HH_HEAP McHeap
#define HH_ITEM McHeapItem
#define HH_DIST key
#define HH_DIST_TYPE double
#define HH_KEY node
#define HH_KEY_TYPE uint32_t
#define HH_SCOPE static inline
#define HH_FIXED
#define HH_ASSERT(cond) IG_ASSERT(cond)
#include "common/rv_heap.h"

typedef struct McWork
{
	uint32_t	k;				/* current nodes */
	uint32_t	ne;				/* current edges (deduplicated, a < b) */
	RvIgEdge   *e;				/* current edges */
	uint32_t   *rowStart;		/* CSR, k + 1 */
	uint32_t   *adj;
	double	   *adjw;
	uint32_t   *last;			/* dedup marker per node */
	double	   *deg;
	double	   *key;
	unsigned char *done;
	uint32_t   *order;
	double	   *q;
	uint32_t   *uf;
	uint32_t   *newid;
	McHeap		heap;			/* capacity 2m + 1 */
} McWork;

uint32_t
rv_ig_uf_number(uint32_t *uf, uint32_t *newid, uint32_t n)
{
	uint32_t	nsets = 0;

	for (uint32_t a = 0; a < n; a++)
		newid[a] = UINT32_MAX;
	for (uint32_t a = 0; a < n; a++)
	{
		uint32_t	r = rv_ig_uf_find(uf, a);

		if (newid[r] == UINT32_MAX)
			newid[r] = nsets++;
	}
	/* a root's own entry is final when a later member reads it */
	for (uint32_t a = 0; a < n; a++)
		newid[a] = newid[rv_ig_uf_find(uf, a)];
	return nsets;
}

void
rv_ig_csr_build(uint32_t n, const RvIgEdge *edges, uint32_t nedges,
				uint32_t *rowStart, uint32_t *col, double *w, double *deg, uint32_t *cur)
{
	memset(rowStart, 0, sizeof(uint32_t) * (n + 1));
	memset(deg, 0, sizeof(double) * n);
	for (uint32_t i = 0; i < nedges; i++)
	{
		const RvIgEdge *e = &edges[i];

		if (e->u == e->v || e->u >= n || e->v >= n)
			continue;
		rowStart[e->u + 1]++;
		rowStart[e->v + 1]++;
		deg[e->u] += e->w;
		deg[e->v] += e->w;
	}
	for (uint32_t i = 0; i < n; i++)
	{
		rowStart[i + 1] += rowStart[i];
		cur[i] = rowStart[i];
	}
	for (uint32_t i = 0; i < nedges; i++)
	{
		const RvIgEdge *e = &edges[i];

		if (e->u == e->v || e->u >= n || e->v >= n)
			continue;
		col[cur[e->u]] = e->v;
		w[cur[e->u]++] = e->w;
		col[cur[e->v]] = e->u;
		w[cur[e->v]++] = e->w;
	}
}

void *
rv_ig_alloc(RvIgMem *mem, size_t size, bool zero)
{
	void	   *p = NULL;

	if (mem->n < RV_IG_MEM_MAX)
		p = zero ? calloc(1, size) : malloc(size);
	if (p == NULL)
		mem->failed = true;
	else
		mem->blocks[mem->n++] = p;
	return p;
}

void
rv_ig_free_all(RvIgMem *mem)
{
	while (mem->n > 0)
		free(mem->blocks[--mem->n]);
}

/*
 * Build the CSR of the current edges, merging parallel edges, and rewrite
 * w->e as the deduplicated list.
 */
static void
mc_build_csr(McWork *w)
{
	uint32_t	k = w->k;
	uint32_t	ne = 0;

	rv_ig_csr_build(k, w->e, w->ne, w->rowStart, w->adj, w->adjw, w->deg, w->last);

	/* merge duplicates row by row (key[] as the slot of each neighbour) */
	for (uint32_t i = 0; i < k; i++)
		w->last[i] = UINT32_MAX;
	{
		uint32_t	out = 0;
		uint32_t	start = 0;

		for (uint32_t a = 0; a < k; a++)
		{
			uint32_t	end = w->rowStart[a + 1];
			uint32_t	rowOut = out;

			w->deg[a] = 0;
			for (uint32_t j = start; j < end; j++)
			{
				uint32_t	b = w->adj[j];

				if (w->last[b] != UINT32_MAX && w->last[b] >= rowOut)
					w->adjw[w->last[b]] += w->adjw[j];
				else
				{
					w->adj[out] = b;
					w->adjw[out] = w->adjw[j];
					w->last[b] = out++;
				}
				w->deg[a] += w->adjw[j];
			}
			start = end;
			w->rowStart[a] = rowOut;
			for (uint32_t j = rowOut; j < out; j++)
			{
				w->last[w->adj[j]] = UINT32_MAX;
				if (a < w->adj[j])
				{
					w->e[ne].u = a;
					w->e[ne].v = w->adj[j];
					w->e[ne++].w = w->adjw[j];
				}
			}
		}
		w->rowStart[k] = out;
	}
	w->ne = ne;
}

/* One maximum adjacency ordering of the current graph */
static void
mc_order(McWork *w)
{
	uint32_t	k = w->k;
	uint32_t	norder = 0;
	uint32_t	scan = 0;

	for (uint32_t i = 0; i < k; i++)
	{
		w->key[i] = 0;
		w->done[i] = 0;
	}
	w->heap.count = 0;
	while (norder < k)
	{
		uint32_t	u;
		double		qu;

		if (w->heap.count == 0)
		{
			/* a new component (or the start): the next unordered node */
			while (w->done[scan])
				scan++;
			u = scan;
			qu = 0;
		}
		else
		{
			McHeapItem	top = McHeapPop(&w->heap, true);

			u = top.node;
			if (w->done[u] || top.key != w->key[u])
				continue;		/* stale */
			qu = top.key;
		}
		w->done[u] = 1;
		w->order[norder] = u;
		w->q[norder++] = qu;
		for (uint32_t j = w->rowStart[u]; j < w->rowStart[u + 1]; j++)
		{
			uint32_t	v = w->adj[j];

			if (w->done[v])
				continue;
			w->key[v] += w->adjw[j];
			McHeapPush(&w->heap, w->key[v], v, true);
		}
	}
}

#ifdef RV_PURE_ASSERTS
/* Weight of the valid edges crossing side (the check of rv_ig_mincut's result) */
static double
mc_side_weight(uint32_t n, const RvIgEdge *edges, uint32_t nedges, const unsigned char *side)
{
	double		sum = 0;

	for (uint32_t i = 0; i < nedges; i++)
		if (edges[i].u < n && edges[i].v < n && side[edges[i].u] != side[edges[i].v])
			sum += edges[i].w;
	return sum;
}
#endif

double
rv_ig_mincut(uint32_t n, const RvIgEdge *edges, uint32_t nedges, unsigned char *side)
{
	McWork		w;
	RvIgMem		mem = RV_IG_MEM_INIT;
	uint32_t   *orig;			/* original node -> current node */
	double		best = INFINITY;
	size_t		m2 = 2 * (size_t) nedges + 1;

	memset(side, 0, n);
	if (n < 2)
		return -1;
	if (m2 > INT_MAX)
		return NAN;				/* the heap's capacity is an int: as out of memory */

	memset(&w, 0, sizeof(w));
	orig = rv_ig_alloc(&mem, sizeof(uint32_t) * n, false);
	w.e = rv_ig_alloc(&mem, sizeof(RvIgEdge) * (nedges + 1), false);
	w.rowStart = rv_ig_alloc(&mem, sizeof(uint32_t) * (n + 1), false);
	w.adj = rv_ig_alloc(&mem, sizeof(uint32_t) * m2, false);
	w.adjw = rv_ig_alloc(&mem, sizeof(double) * m2, false);
	w.last = rv_ig_alloc(&mem, sizeof(uint32_t) * n, false);
	w.deg = rv_ig_alloc(&mem, sizeof(double) * n, false);
	w.key = rv_ig_alloc(&mem, sizeof(double) * n, false);
	w.done = rv_ig_alloc(&mem, n, false);
	w.order = rv_ig_alloc(&mem, sizeof(uint32_t) * n, false);
	w.q = rv_ig_alloc(&mem, sizeof(double) * n, false);
	w.uf = rv_ig_alloc(&mem, sizeof(uint32_t) * n, false);
	w.newid = rv_ig_alloc(&mem, sizeof(uint32_t) * n, false);
	w.heap.items = rv_ig_alloc(&mem, sizeof(McHeapItem) * m2, false);
	w.heap.capacity = (int) m2;
	if (mem.failed)
	{
		rv_ig_free_all(&mem);
		return NAN;
	}

	w.k = n;
	w.ne = 0;
	for (uint32_t i = 0; i < nedges; i++)
	{
		if (edges[i].u == edges[i].v || edges[i].u >= n || edges[i].v >= n)
			continue;
		w.e[w.ne] = edges[i];
		if (w.e[w.ne].u > w.e[w.ne].v)
		{
			w.e[w.ne].u = edges[i].v;
			w.e[w.ne].v = edges[i].u;
		}
		w.ne++;
	}
	for (uint32_t i = 0; i < n; i++)
		orig[i] = i;

	while (w.k > 1)
	{
		uint32_t	k = w.k;
		uint32_t	bestNode = UINT32_MAX;
		uint32_t	nk;

		mc_build_csr(&w);
		for (uint32_t a = 0; a < k; a++)
		{
			if (w.deg[a] < best)
			{
				best = w.deg[a];
				bestNode = a;
			}
		}
		if (bestNode != UINT32_MAX)
			for (uint32_t i = 0; i < n; i++)
				side[i] = (orig[i] == bestNode);
		if (best <= 0)
			break;

		mc_order(&w);
		for (uint32_t a = 0; a < k; a++)
			w.uf[a] = a;
		for (uint32_t i = 1; i < k; i++)
		{
			if (w.q[i] >= best)
			{
				uint32_t	x = rv_ig_uf_find(w.uf, w.order[i - 1]);
				uint32_t	y = rv_ig_uf_find(w.uf, w.order[i]);

				if (x != y)
					w.uf[y] = x;
			}
		}
		nk = rv_ig_uf_number(w.uf, w.newid, k);
		/* the last pair of the ordering is always merged: every phase progresses */
		IG_ASSERT(nk < k);
		for (uint32_t i = 0; i < n; i++)
			orig[i] = w.newid[orig[i]];
		{
			uint32_t	ne = 0;

			for (uint32_t i = 0; i < w.ne; i++)
			{
				uint32_t	a = w.newid[w.e[i].u];
				uint32_t	b = w.newid[w.e[i].v];

				if (a == b)
					continue;
				w.e[ne].u = a < b ? a : b;
				w.e[ne].v = a < b ? b : a;
				w.e[ne++].w = w.e[i].w;
			}
			w.ne = ne;
		}
		w.k = nk;
	}

	rv_ig_free_all(&mem);
	/* side is the contracted node whose degree was the best cut: it weighs best */
	IG_ASSERT(best >= 0 && fabs(mc_side_weight(n, edges, nedges, side) - best) <= 1e-9 * fmax(1, best));
	return best;
}

double
rv_ig_cut_weight(const RvIgEdge *edges, uint32_t nedges, const unsigned char *side)
{
	double		sum = 0;

	for (uint32_t i = 0; i < nedges; i++)
		if (edges[i].u != edges[i].v && side[edges[i].u] != side[edges[i].v])
			sum += edges[i].w;
	return sum;
}

int
rv_ig_connected(uint32_t n, const RvIgEdge *edges, uint32_t nedges)
{
	uint32_t   *uf;
	uint32_t	comps = n;

	if (n <= 1)
		return 1;
	uf = malloc(sizeof(uint32_t) * n);
	if (!uf)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		uf[i] = i;
	for (uint32_t i = 0; i < nedges; i++)
	{
		uint32_t	a,
					b;

		if (edges[i].u >= n || edges[i].v >= n || edges[i].w <= 0)
			continue;
		a = rv_ig_uf_find(uf, edges[i].u);
		b = rv_ig_uf_find(uf, edges[i].v);
		if (a != b)
		{
			uf[a] = b;
			comps--;
		}
	}
	free(uf);
	return comps == 1;
}
