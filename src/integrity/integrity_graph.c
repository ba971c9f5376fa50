/*-------------------------------------------------------------------------
 *
 * integrity_graph.c
 *	  The contracted graphs the integrity control plane measures, and one
 *	  sample of each: an HNSW index's layer 0 contracted into regions, an
 *	  ivfflat index's lists, and the cluster's operational scope.
 *
 * NOTES
 *	  HNSW.  Seeds are the elements of the lowest upper layer L >= 1 that
 *	  has at most ruvector.integrity_max_nodes elements; a breadth-first
 *	  search over layer-0 links from all seeds at once gives each element
 *	  the region of the seed that reaches it in the fewest hops (the way a
 *	  search would come to it).  Elements no seed reaches form regions of
 *	  their own, one per connected group.  Regions under a quarter of the
 *	  average size are folded into their best-linked neighbour (so that
 *	  lambda_cut is not merely one element's degree).  If that still makes more regions
 *	  than the cap, the smallest are merged into the neighbour they share
 *	  most links with (regions without links are merged only with each
 *	  other, so a cut-off part stays cut off).  The weight of two regions'
 *	  edge is the number of layer-0 links between their elements, both
 *	  directions.  Deleted elements take no part; elements being deleted
 *	  (no heap TIDs left) still route searches, so they still link.
 *
 *	  lambda_cut is the exact global minimum cut of that graph (igmincut.c)
 *	  and the witness edges are the region pairs crossing it, each with a
 *	  sample link: the heap TIDs of the rows at both ends, which a DBA can
 *	  look up, the rows that would be cut off next.  unreachable counts the
 *	  live elements that layer 0 does not reach from the entry point (no
 *	  search can return them); one_way those it reaches that do not lead
 *	  back to it (a search whose descent ends there cannot leave them).
 *	  The cut counts links in both directions, so neither shows in it.
 *
 *	  ivfflat.  Nodes are the lists; they have no links, so there is no
 *	  cut: the signal is 100 / max(1, drift), drift and list size skew
 *	  coming from ruvector_ivf_stats.
 *
 *	  Operational.  Nodes are the primary, each standby in
 *	  pg_stat_replication and, when preloaded, the background workers; each
 *	  is linked to the primary with weight 100 while healthy.  A standby
 *	  whose replay lag passes its budget (ruvector.integrity_lag_budget, in
 *	  time, or ruvector.integrity_lag_budget_bytes) weighs 40 * budget/lag;
 *	  the workers the same against three heartbeat intervals.  lambda_cut
 *	  is then the weakest link; the baseline is 100.
 *
 * IDENTIFICATION
 *	  src/integrity/integrity_graph.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xlog.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "common/rv_extension.h"
#include "indexam/hnsw.h"
#include "integrity/integrity.h"

#define IG_NONE			PG_UINT32_MAX
#define IG_MAX_WITNESS	10
#define IG_MAX_UNREACHED_SAMPLE	10

/* A directed region pair with its link count and one sample link */
typedef struct IgPair
{
	uint32		a;
	uint32		b;
	uint32		links;
	uint32		su;				/* sample elements, su in a, sv in b */
	uint32		sv;
} IgPair;

typedef struct IgContract
{
	HnswGraph  *g;
	uint32	   *region;			/* per element, IG_NONE for deleted ones */
	uint32		nregions;
	IgPair	   *pairs;			/* undirected after IgBuildPairs (a < b) */
	uint32		npairs;
} IgContract;

static int
IgPairCmp(const void *x, const void *y)
{
	const IgPair *p = x;
	const IgPair *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return 0;
}

/* Whether both ends of a sample link are live rows */
static bool
IgSampleLive(HnswGraph *g, uint32 u, uint32 v)
{
	return HnswGraphIsLive(g, u) && HnswGraphIsLive(g, v);
}

/*
 * Region pairs with their link counts, merged over both directions:
 * counting sort of the elements by region, then for each region a scratch
 * index of the pairs seen from it, then a sort of the (min, max) pairs.
 */
static void
IgBuildPairs(IgContract *c)
{
	HnswGraph  *g = c->g;
	uint32	   *start = palloc0(sizeof(uint32) * (c->nregions + 1));
	uint32	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(g->nelems, 1));
	uint32	   *slot = palloc(sizeof(uint32) * c->nregions);
	uint32	   *mark = palloc(sizeof(uint32) * c->nregions);
	Size		maxpairs = 1024;
	uint32		np = 0;
	uint32		out = 0;

	if (c->pairs)
		pfree(c->pairs);
	c->pairs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(IgPair) * maxpairs);

	for (uint32 i = 0; i < g->nelems; i++)
		if (c->region[i] != IG_NONE)
			start[c->region[i] + 1]++;
	for (uint32 r = 0; r < c->nregions; r++)
		start[r + 1] += start[r];
	for (uint32 r = 0; r < c->nregions; r++)
		mark[r] = IG_NONE;
	{
		uint32	   *cur = palloc(sizeof(uint32) * (c->nregions + 1));

		memcpy(cur, start, sizeof(uint32) * (c->nregions + 1));
		for (uint32 i = 0; i < g->nelems; i++)
			if (c->region[i] != IG_NONE)
				order[cur[c->region[i]]++] = i;
		pfree(cur);
	}

	for (uint32 a = 0; a < c->nregions; a++)
	{
		CHECK_FOR_INTERRUPTS();
		for (uint32 k = start[a]; k < start[a + 1]; k++)
		{
			uint32		u = order[k];
			int			n;
			uint32	   *nb = HnswGraphNeighbors(g, u, 0, &n);

			for (int j = 0; j < n; j++)
			{
				uint32		v = nb[j];
				uint32		b;
				IgPair	   *p;

				if (v == HNSW_GRAPH_NONE || c->region[v] == IG_NONE)
					continue;
				b = c->region[v];
				if (b == a)
					continue;
				if (mark[b] != a)
				{
					if (np == maxpairs)
					{
						maxpairs *= 2;
						c->pairs = repalloc_huge(c->pairs, sizeof(IgPair) * maxpairs);
					}
					mark[b] = a;
					slot[b] = np;
					p = &c->pairs[np++];
					p->a = Min(a, b);
					p->b = Max(a, b);
					p->links = 0;
					p->su = a < b ? u : v;
					p->sv = a < b ? v : u;
				}
				p = &c->pairs[slot[b]];
				p->links++;
				if (!IgSampleLive(g, p->su, p->sv) && IgSampleLive(g, u, v))
				{
					p->su = a < b ? u : v;
					p->sv = a < b ? v : u;
				}
			}
		}
	}

	/* merge (a, b) seen from a with (a, b) seen from b */
	if (np > 0)
		qsort(c->pairs, np, sizeof(IgPair), IgPairCmp);
	for (uint32 i = 0; i < np; i++)
	{
		if (out > 0 && c->pairs[out - 1].a == c->pairs[i].a && c->pairs[out - 1].b == c->pairs[i].b)
		{
			IgPair	   *p = &c->pairs[out - 1];

			p->links += c->pairs[i].links;
			if (!IgSampleLive(g, p->su, p->sv) && IgSampleLive(g, c->pairs[i].su, c->pairs[i].sv))
			{
				p->su = c->pairs[i].su;
				p->sv = c->pairs[i].sv;
			}
		}
		else
			c->pairs[out++] = c->pairs[i];
	}
	c->npairs = out;
#ifdef USE_ASSERT_CHECKING
	/* undirected (a < b), within the regions, sorted and each pair once */
	for (uint32 i = 0; i < out; i++)
		Assert(c->pairs[i].a < c->pairs[i].b && c->pairs[i].b < c->nregions &&
			   c->pairs[i].links > 0 && (i == 0 || IgPairCmp(&c->pairs[i - 1], &c->pairs[i]) < 0));
#endif
	pfree(start);
	pfree(order);
	pfree(slot);
	pfree(mark);
}

/* Undeleted elements of level >= L */
static uint32
IgCountAtLeast(HnswGraph *g, int L)
{
	uint32		count = 0;

	for (uint32 i = 0; i < g->nelems; i++)
		if (!g->elems[i].deleted && g->elems[i].level >= L)
			count++;
	return count;
}

/* Regions from the seeds of the lowest layer with at most cap elements */
static void
IgAssignRegions(IgContract *c, int cap)
{
	HnswGraph  *g = c->g;
	uint32		n = g->nelems;
	int			L;
	uint32	   *queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	uint32		head = 0,
				tail = 0;
	uint32	   *uf;
	uint32	   *compRegion;

	c->region = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	c->nregions = 0;
	for (uint32 i = 0; i < n; i++)
		c->region[i] = IG_NONE;

	/*
	 * Seeds: the elements of the lowest layer with at most cap elements
	 * (layer 0 for a small index: every element is then a region of its
	 * own and the graph is exact).  A layer with a single element would
	 * make one region of everything: take the layer below and let
	 * IgMergeToCap bring it down to the cap.
	 */
	for (L = 0; L <= g->maxLevel; L++)
	{
		if (IgCountAtLeast(g, L) <= (uint32) cap)
			break;
	}
	if (L > g->maxLevel)
		L = g->maxLevel;
	if (L > 0 && IgCountAtLeast(g, L) < 2)
		L--;
	for (uint32 i = 0; i < n; i++)
	{
		if (!g->elems[i].deleted && L >= 0 && g->elems[i].level >= L)
		{
			c->region[i] = c->nregions++;
			queue[tail++] = i;
		}
	}

	/* nearest seed by layer-0 hops, in the direction searches walk */
	while (head < tail)
	{
		uint32		u = queue[head++];
		int			nn;
		uint32	   *nb = HnswGraphNeighbors(g, u, 0, &nn);

		for (int j = 0; j < nn; j++)
		{
			uint32		v = nb[j];

			if (v == HNSW_GRAPH_NONE || g->elems[v].deleted || c->region[v] != IG_NONE)
				continue;
			c->region[v] = c->region[u];
			queue[tail++] = v;
		}
	}
	pfree(queue);

	/* what no seed reaches: one region per connected group */
	uf = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	compRegion = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	for (uint32 i = 0; i < n; i++)
	{
		uf[i] = i;
		compRegion[i] = IG_NONE;
	}
	for (uint32 u = 0; u < n; u++)
	{
		int			nn;
		uint32	   *nb;

		if (g->elems[u].deleted || c->region[u] != IG_NONE)
			continue;
		nb = HnswGraphNeighbors(g, u, 0, &nn);
		for (int j = 0; j < nn; j++)
		{
			uint32		v = nb[j];

			if (v == HNSW_GRAPH_NONE || g->elems[v].deleted || c->region[v] != IG_NONE)
				continue;
			uf[rv_ig_uf_find(uf, u)] = rv_ig_uf_find(uf, v);
		}
	}
	for (uint32 u = 0; u < n; u++)
	{
		uint32		r;

		if (g->elems[u].deleted || c->region[u] != IG_NONE)
			continue;
		r = rv_ig_uf_find(uf, u);
		if (compRegion[r] == IG_NONE)
			compRegion[r] = c->nregions++;
		c->region[u] = compRegion[r];
	}
	pfree(uf);
	pfree(compRegion);
#ifdef USE_ASSERT_CHECKING
	/* deleted elements take no part; every other one has a region */
	for (uint32 i = 0; i < n; i++)
		Assert(g->elems[i].deleted ? c->region[i] == IG_NONE : c->region[i] < c->nregions);
#endif
}

/* Elements per region (size, R entries zeroed by the caller); returns their sum */
static int64
IgRegionSizes(IgContract *c, uint32 *size)
{
	int64		total = 0;

	for (uint32 i = 0; i < c->g->nelems; i++)
		if (c->region[i] != IG_NONE)
		{
			size[c->region[i]]++;
			total++;
		}
	return total;
}

/*
 * For each region, the neighbour it shares most links with (IG_NONE for a
 * region without links) and that link count.
 */
static void
IgBestNeighbours(IgContract *c, uint32 *best, uint32 *bestLinks)
{
	for (uint32 r = 0; r < c->nregions; r++)
	{
		best[r] = IG_NONE;
		bestLinks[r] = 0;
	}
	for (uint32 k = 0; k < c->npairs; k++)
	{
		IgPair	   *p = &c->pairs[k];

		Assert(p->a < p->b && p->b < c->nregions);
		if (p->links > bestLinks[p->a])
		{
			bestLinks[p->a] = p->links;
			best[p->a] = p->b;
		}
		if (p->links > bestLinks[p->b])
		{
			bestLinks[p->b] = p->links;
			best[p->b] = p->a;
		}
	}
}

/* Make the sets of uf (over the regions) the new regions, numbered densely */
static void
IgRenumber(IgContract *c, uint32 *uf)
{
	uint32	   *newid = palloc(sizeof(uint32) * c->nregions);
	uint32		nk = rv_ig_uf_number(uf, newid, c->nregions);

	Assert(nk >= 1 && nk <= c->nregions);
	for (uint32 i = 0; i < c->g->nelems; i++)
		if (c->region[i] != IG_NONE)
			c->region[i] = newid[c->region[i]];
	c->nregions = nk;
	pfree(newid);
}

/*
 * Merge regions until at most cap remain: each pass merges every region,
 * smallest first, into the neighbour it shares most links with (both
 * untouched in this pass); regions without links merge with each other.
 */
static void
IgMergeToCap(IgContract *c, int cap)
{
	while (c->nregions > (uint32) cap)
	{
		uint32		R = c->nregions;
		uint32	   *size = palloc0(sizeof(uint32) * R);
		uint32	   *bySize = palloc(sizeof(uint32) * R);
		uint32	   *best = palloc(sizeof(uint32) * R);
		uint32	   *bestLinks = palloc(sizeof(uint32) * R);
		uint32	   *uf = palloc(sizeof(uint32) * R);
		bool	   *touched = palloc0(sizeof(bool) * R);
		uint32		remaining = R;
		uint32		lonely = IG_NONE;

		CHECK_FOR_INTERRUPTS();
		(void) IgRegionSizes(c, size);
		IgBestNeighbours(c, best, bestLinks);
		for (uint32 r = 0; r < R; r++)
		{
			bySize[r] = r;
			uf[r] = r;
		}
		/* smallest first (insertion of a counting order would do; R is small) */
		for (uint32 i = 1; i < R; i++)
		{
			uint32		x = bySize[i];
			int64		j = (int64) i - 1;

			while (j >= 0 && size[bySize[j]] > size[x])
			{
				bySize[j + 1] = bySize[j];
				j--;
			}
			bySize[j + 1] = x;
		}
		for (uint32 i = 0; i < R && remaining > (uint32) cap; i++)
		{
			uint32		r = bySize[i];

			if (touched[r])
				continue;
			if (best[r] == IG_NONE)
			{
				/* a region without links joins only another one without */
				if (lonely == IG_NONE)
					lonely = r;
				else
				{
					uf[r] = lonely;
					remaining--;
				}
				continue;
			}
			if (touched[best[r]])
				continue;
			uf[r] = best[r];
			touched[r] = touched[best[r]] = true;
			remaining--;
		}
		if (remaining == R)
		{
			/* nothing merged (cannot happen with cap >= 2); stop safely */
			break;
		}
		IgRenumber(c, uf);
		Assert(c->nregions == remaining);
		pfree(size);
		pfree(bySize);
		pfree(best);
		pfree(bestLinks);
		pfree(uf);
		pfree(touched);
		IgBuildPairs(c);
	}
}

static void
IgAppendTid(StringInfo buf, ItemPointer tid)
{
	appendStringInfo(buf, "\"(%u,%u)\"", ItemPointerGetBlockNumber(tid),
					 ItemPointerGetOffsetNumber(tid));
}

/* One end of a witness edge: region, index TID and heap TID of the element */
static void
IgAppendEnd(StringInfo buf, HnswGraph *g, uint32 region, uint32 e)
{
	ItemPointerData itid;

	ItemPointerSet(&itid, g->elems[e].blkno, g->elems[e].offno);
	appendStringInfo(buf, "{\"region\": %u, \"index_tid\": ", region);
	IgAppendTid(buf, &itid);
	appendStringInfoString(buf, ", \"heap_tid\": ");
	if (g->elems[e].ntids > 0 && !g->elems[e].deleted)
		IgAppendTid(buf, &g->heaptids[g->elems[e].tidStart]);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoChar(buf, '}');
}

static int
IgPairByLinks(const void *x, const void *y)
{
	const IgPair *p = *(IgPair *const *) x;
	const IgPair *q = *(IgPair *const *) y;

	if (p->links != q->links)
		return p->links > q->links ? -1 : 1;
	return IgPairCmp(p, q);
}

/*
 * Fold regions much smaller than the average into the neighbour they
 * share most links with: a region of one or two elements (a seed whose
 * neighbours other seeds reached first) would otherwise make lambda_cut
 * the degree of a single element, noise rather than structure.  Regions
 * without links are left alone.
 */
static void
IgMergeSmall(IgContract *c)
{
	for (int pass = 0; pass < 3 && c->nregions > 2; pass++)
	{
		uint32		R = c->nregions;
		uint32	   *size = palloc0(sizeof(uint32) * R);
		uint32	   *best = palloc(sizeof(uint32) * R);
		uint32	   *bestLinks = palloc(sizeof(uint32) * R);
		uint32	   *uf = palloc(sizeof(uint32) * R);
		int64		total = IgRegionSizes(c, size);
		uint32		minSize;
		uint32		merged = 0;

		/* regions of single elements (a small index) are kept exact */
		if (total / R < 4)
			break;
		minSize = (uint32) Max(2, total / R / 4);
		IgBestNeighbours(c, best, bestLinks);
		for (uint32 r = 0; r < R; r++)
			uf[r] = r;
		for (uint32 r = 0; r < R; r++)
		{
			uint32		a,
						b;

			if (size[r] >= minSize || best[r] == IG_NONE)
				continue;
			a = rv_ig_uf_find(uf, r);
			b = rv_ig_uf_find(uf, best[r]);
			if (a != b)
			{
				uf[a] = b;
				merged++;
			}
		}
		if (merged > 0)
			IgRenumber(c, uf);
		pfree(size);
		pfree(best);
		pfree(bestLinks);
		pfree(uf);
		if (merged == 0)
			break;
		IgBuildPairs(c);
	}
}

/* The contraction for RvIgSample.regions: sizes, pairs, sample heap TIDs */
static void
IgExportRegions(IgContract *c, RvIgRegions *out)
{
	int			ns = Max(out->nsample, 0);
	uint32	   *taken;

	out->nregions = c->nregions;
	out->size = palloc0(sizeof(uint32) * Max(c->nregions, 1));
	out->npairs = c->npairs;
	out->pairs = palloc(sizeof(RvIgEdge) * Max(c->npairs, 1));
	for (uint32 k = 0; k < c->npairs; k++)
	{
		out->pairs[k].u = c->pairs[k].a;
		out->pairs[k].v = c->pairs[k].b;
		out->pairs[k].w = c->pairs[k].links;
	}
	out->sample = palloc(sizeof(ItemPointerData) * Max((Size) c->nregions * ns, 1));
	for (Size i = 0; i < (Size) c->nregions * ns; i++)
		ItemPointerSetInvalid(&out->sample[i]);
	taken = palloc0(sizeof(uint32) * Max(c->nregions, 1));
	for (uint32 i = 0; i < c->g->nelems; i++)
	{
		uint32		r = c->region[i];

		if (r == IG_NONE)
			continue;
		out->size[r]++;
		if (taken[r] < (uint32) ns && HnswGraphIsLive(c->g, i))
			out->sample[(Size) r * ns + taken[r]++] = c->g->heaptids[c->g->elems[i].tidStart];
	}
	pfree(taken);
}

/*
 * Live elements layer 0 reaches from the entry point that do not lead
 * back to it: reachable one way only.  A search whose descent ends among
 * them cannot leave them, and misses every row they do not lead to; the
 * cut counts links in both directions and does not show it (a cluster
 * whose links out were all replaced still has its links in), nor does
 * unreachable when the entry point is on the side that leads out.
 */
static int64
IgCountOneWay(const HnswGraph *g, const bool *reached)
{
	HnswGraphInLinks in;
	bool	   *reaching = MemoryContextAllocHuge(CurrentMemoryContext, Max(g->nelems, 1));
	int64		n = 0;

	HnswGraphInLinksBuild(g, &in);
	HnswGraphReaching(g, &in, reaching);
	for (uint32 i = 0; i < g->nelems; i++)
		if (HnswGraphIsLive(g, i) && reached[i] && !reaching[i])
			n++;
	HnswGraphInLinksFree(&in);
	pfree(reaching);
	return n;
}

void
RvIgSampleHnsw(Relation index, RvIgSample *s)
{
	IgContract	c;
	bool	   *reached;
	uint32		reachedLive;
	RvIgEdge   *edges;
	unsigned char *side;
	IgPair	  **crossing;
	uint32		ncrossing = 0;
	int64		sideElems = 0;
	int64		sideRegions = 0;
	int			nunreached = 0;

	memset(&c, 0, sizeof(c));
	s->kind = "hnsw";
	c.g = HnswGraphLoad(index);
	reached = MemoryContextAllocHuge(CurrentMemoryContext, Max(c.g->nelems, 1));
	reachedLive = HnswGraphReachable(c.g, reached, NULL);
	s->elements = 0;
	for (uint32 i = 0; i < c.g->nelems; i++)
		if (!c.g->elems[i].deleted)
			s->elements++;
	s->live = c.g->nlive;
	s->unreachable = (int64) c.g->nlive - reachedLive;
	s->oneWay = IgCountOneWay(c.g, reached);

	IgAssignRegions(&c, rv_integrity_max_nodes);
	IgBuildPairs(&c);
	IgMergeSmall(&c);
	IgMergeToCap(&c, rv_integrity_max_nodes);
	Assert(c.nregions <= (uint32) Max(rv_integrity_max_nodes, 2));

	s->nodes = c.nregions;
	s->edges = c.npairs;
	if (s->regions)
		IgExportRegions(&c, s->regions);
	edges = palloc(sizeof(RvIgEdge) * Max(c.npairs, 1));
	for (uint32 k = 0; k < c.npairs; k++)
	{
		edges[k].u = c.pairs[k].a;
		edges[k].v = c.pairs[k].b;
		edges[k].w = c.pairs[k].links;
	}
	side = palloc0(Max(c.nregions, 1));
	s->lambdaCut = rv_ig_mincut(c.nregions, edges, c.npairs, side);
	s->lambda2 = rv_ig_lambda2(c.nregions, edges, c.npairs, 0);
	if (isnan(s->lambdaCut) || isnan(s->lambda2))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory computing the minimum cut of %u regions", c.nregions)));
	s->signal = s->lambdaCut >= 0 ? s->lambdaCut : NAN;

	/* the side of the cut to report: the one with fewer elements */
	if (c.nregions >= 2)
	{
		int64		ones = 0,
					all = 0;

		for (uint32 i = 0; i < c.g->nelems; i++)
		{
			if (c.region[i] == IG_NONE)
				continue;
			all++;
			ones += side[c.region[i]];
		}
		if (ones * 2 > all)
			for (uint32 r = 0; r < c.nregions; r++)
				side[r] = !side[r];
		for (uint32 r = 0; r < c.nregions; r++)
			sideRegions += side[r];
		sideElems = Min(ones, all - ones);
	}

	/* witness edges: the heaviest crossing pairs first */
	crossing = palloc(sizeof(IgPair *) * Max(c.npairs, 1));
	for (uint32 k = 0; k < c.npairs && c.nregions >= 2; k++)
		if (side[c.pairs[k].a] != side[c.pairs[k].b])
			crossing[ncrossing++] = &c.pairs[k];
	if (ncrossing > 1)
		qsort(crossing, ncrossing, sizeof(IgPair *), IgPairByLinks);
	initStringInfo(&s->witness);
	appendStringInfoChar(&s->witness, '[');
	for (uint32 k = 0; k < ncrossing && k < IG_MAX_WITNESS; k++)
	{
		IgPair	   *p = crossing[k];
		bool		aInside = side[p->a] != 0;

		if (k > 0)
			appendStringInfoString(&s->witness, ", ");
		appendStringInfo(&s->witness, "{\"links\": %u, \"cut_side\": ", p->links);
		IgAppendEnd(&s->witness, c.g, aInside ? p->a : p->b, aInside ? p->su : p->sv);
		appendStringInfoString(&s->witness, ", \"other_side\": ");
		IgAppendEnd(&s->witness, c.g, aInside ? p->b : p->a, aInside ? p->sv : p->su);
		appendStringInfoChar(&s->witness, '}');
	}
	appendStringInfoChar(&s->witness, ']');

	initStringInfo(&s->extra);
	appendStringInfo(&s->extra,
					 ", \"witness_count\": %u, \"cut_side\": {\"regions\": " INT64_FORMAT
					 ", \"elements\": " INT64_FORMAT "}, \"one_way\": " INT64_FORMAT
					 ", \"unreachable_sample\": [",
					 ncrossing, sideRegions, sideElems, s->oneWay);
	for (uint32 i = 0; i < c.g->nelems && nunreached < IG_MAX_UNREACHED_SAMPLE; i++)
	{
		if (!HnswGraphIsLive(c.g, i) || reached[i])
			continue;
		if (nunreached++ > 0)
			appendStringInfoString(&s->extra, ", ");
		IgAppendTid(&s->extra, &c.g->heaptids[c.g->elems[i].tidStart]);
	}
	appendStringInfoChar(&s->extra, ']');

	pfree(edges);
	pfree(side);
	pfree(crossing);
	pfree(reached);
	pfree(c.region);
	if (c.pairs)
		pfree(c.pairs);
	HnswGraphFree(c.g);
}

/* ----------------------------------------------------------------
 *		ivfflat
 * ----------------------------------------------------------------
 */
void
RvIgSampleIvf(Relation index, RvIgSample *s)
{
	StringInfoData q;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1] = {ObjectIdGetDatum(RelationGetRelid(index))};
	bool		isnull;
	double		drift = NAN;
	double		skew = NAN;

	s->kind = "ivfflat";
	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT lists, entries, size_skew, drift, min_list_size, max_list_size"
					 " FROM %s.ruvector_ivf_stats($1)", RvExtensionSchemaSql());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(q.data, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "ruvector_ivf_stats returned no row");
	s->nodes = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	s->elements = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	s->live = s->elements;
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);

		if (!isnull)
			skew = DatumGetFloat8(d);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
		if (!isnull)
			drift = DatumGetFloat8(d);
	}
	SPI_finish();

	s->edges = 0;
	s->lambdaCut = -1;
	s->lambda2 = -1;
	s->unreachable = 0;
	s->oneWay = 0;
	s->signal = 100.0 / Max(isnan(drift) ? 1.0 : drift, 1.0);
	initStringInfo(&s->witness);
	appendStringInfoString(&s->witness, "[]");
	initStringInfo(&s->extra);
	appendStringInfoString(&s->extra, ", \"drift\": ");
	if (isnan(drift))
		appendStringInfoString(&s->extra, "null");
	else
		appendStringInfo(&s->extra, "%.6g", drift);
	appendStringInfoString(&s->extra, ", \"size_skew\": ");
	if (isnan(skew))
		appendStringInfoString(&s->extra, "null");
	else
		appendStringInfo(&s->extra, "%.6g", skew);
}

/* ----------------------------------------------------------------
 *		Operational scope
 * ----------------------------------------------------------------
 */

/* Weight of a link whose health measure is at ratio of its budget */
static double
IgHealthWeight(double ratio)
{
	if (!(ratio > 1.0))
		return 100.0;
	return 40.0 / ratio;
}

void
RvIgSampleOperational(RvIgSample *s)
{
	RvIgEdge	edges[128];
	char	   *names[128];
	uint32		n = 1;			/* node 0: this server */
	unsigned char side[129];
	RvIgOperational op;

	s->kind = "operational";
	names[0] = "primary";
	if (!RecoveryInProgress())
	{
		StringInfoData q;

		initStringInfo(&q);
		appendStringInfoString(&q,
							   "SELECT COALESCE(application_name, ''),"
							   " COALESCE(pg_catalog.date_part('epoch', replay_lag) * 1000, 0)::float8,"
							   " COALESCE(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn), 0)::float8 / 1024"
							   " FROM pg_catalog.pg_stat_replication ORDER BY pid");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(q.data, true, 100) != SPI_OK_SELECT)
			elog(ERROR, "pg_stat_replication could not be read");
		for (uint64 i = 0; i < SPI_processed && n < 100; i++)
		{
			bool		isnull;
			char	   *app = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			double		lagMs = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			double		lagKb = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
			double		ratio = Max(lagMs / Max(rv_integrity_lag_budget_ms, 1),
									lagKb / Max(rv_integrity_lag_budget_kb, 1));
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

			names[n] = psprintf("standby %s", app ? app : "");
			MemoryContextSwitchTo(old);
			edges[n - 1].u = 0;
			edges[n - 1].v = n;
			edges[n - 1].w = IgHealthWeight(ratio);
			n++;
		}
		SPI_finish();
	}
	else
		names[0] = "standby (this server)";

	if (RvIntegrityGetOperational(&op) && op.heartbeat != 0)
	{
		double		ageMs = (double) (GetCurrentTimestamp() - op.heartbeat) / 1000.0;
		double		budget = 3.0 * rv_integrity_interval * 1000.0;

		names[n] = "background workers";
		edges[n - 1].u = 0;
		edges[n - 1].v = n;
		edges[n - 1].w = IgHealthWeight(ageMs / budget);
		n++;
	}

	s->nodes = n;
	s->edges = n - 1;
	s->elements = n;
	s->live = n;
	s->unreachable = 0;
	s->oneWay = 0;
	s->lambdaCut = rv_ig_mincut(n, edges, n - 1, side);
	s->lambda2 = rv_ig_lambda2(n, edges, n - 1, 0);
	s->signal = s->lambdaCut >= 0 ? s->lambdaCut : 100.0;
	initStringInfo(&s->witness);
	appendStringInfoChar(&s->witness, '[');
	if (n >= 2)
	{
		bool		first = true;

		for (uint32 k = 0; k < n - 1; k++)
		{
			if (side[edges[k].u] == side[edges[k].v])
				continue;
			if (!first)
				appendStringInfoString(&s->witness, ", ");
			first = false;
			appendStringInfo(&s->witness, "{\"from\": \"%s\", \"to\": ", names[0]);
			escape_json(&s->witness, names[edges[k].v]);
			appendStringInfo(&s->witness, ", \"weight\": %.6g}", edges[k].w);
		}
	}
	appendStringInfoChar(&s->witness, ']');
	initStringInfo(&s->extra);
}
