/*
 * graph_path.c — shortestPath and allShortestPaths: a level-by-level
 * breadth-first search over the edge indexes.
 *
 * ruvector_cy_shortest(start, target, types, direction, min_hops, max_hops,
 * all) returns the shortest path(s) from start to target as (node_ids,
 * edge_ids) rows: one row for shortestPath, every shortest path for
 * allShortestPaths, none when the target is out of reach within max_hops.
 *
 * NOTES
 *	Each level is one SPI query: the edges leaving the frontier (both ways
 *	for an undirected pattern), read through ruvector_graph_edge's out/in
 *	indexes, ordered by edge id so the path chosen among equals is stable.
 *	A node is settled at the first level that reaches it; allShortestPaths
 *	keeps every parent found on that level.  With start = target and a
 *	minimum of one hop, the search looks for the shortest cycle back.
 *	Memory is one hash entry per reached node, in a context deleted on exit;
 *	each level checks for interrupts, so a large search can be cancelled.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "graph/graph.h"

PG_FUNCTION_INFO_V1(ruvector_cy_shortest);

typedef struct Parent
{
	int64		node;
	int64		edge;
} Parent;

typedef struct Reached
{
	int64		node;			/* hash key */
	int			level;
	int			nparents;
	int			cap;
	Parent	   *parents;
} Reached;

typedef struct Search
{
	HTAB	   *reached;
	MemoryContext cxt;
	int64		start;
	int64		target;
	bool		all;
	bool		cycle;			/* start = target, at least one hop */
	int			found_level;	/* level the target was reached at, or -1 */
	Reached		target_entry;	/* parents of the target when cycle */
	SPIPlanPtr	plan;
	Datum		types;
	bool		types_null;
	/* output */
	Tuplestorestate *store;
	TupleDesc	desc;
} Search;

static void
AddParent(Search *s, Reached *r, int64 node, int64 edge)
{
	if (r->nparents == r->cap)
	{
		int			ncap = r->cap ? r->cap * 2 : 2;
		Parent	   *p = MemoryContextAlloc(s->cxt, sizeof(Parent) * ncap);

		if (r->nparents > 0)
			memcpy(p, r->parents, sizeof(Parent) * r->nparents);
		r->parents = p;
		r->cap = ncap;
	}
	r->parents[r->nparents].node = node;
	r->parents[r->nparents].edge = edge;
	r->nparents++;
}

/*
 * Records that node was reached from parent over edge at level; returns
 * true when node is new (it joins the next frontier).
 */
static bool
Reach(Search *s, int64 node, int64 parent, int64 edge, int level)
{
	Reached    *r;
	bool		found;

	if (s->cycle && node == s->target)
	{
		if (s->found_level < 0 || s->found_level == level)
		{
			s->found_level = level;
			if (s->target_entry.nparents == 0 || s->all)
				AddParent(s, &s->target_entry, parent, edge);
		}
		return false;
	}
	r = hash_search(s->reached, &node, HASH_ENTER, &found);
	if (!found)
	{
		r->level = level;
		r->nparents = 0;
		r->cap = 0;
		r->parents = NULL;
		AddParent(s, r, parent, edge);
		if (node == s->target)
			s->found_level = level;
		return true;
	}
	if (s->all && r->level == level)
		AddParent(s, r, parent, edge);
	return false;
}

/* One level: the edges out of the frontier; returns the next frontier. */
static int64 *
Expand(Search *s, int64 *frontier, int n, int level, int *nnext)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	Datum		args[2];
	char		nulls[2] = {' ', s->types_null ? 'n' : ' '};
	int64	   *next;
	int			cap = 64;
	int			rc;

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(frontier[i]);
	args[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = s->types;
	rc = SPI_execute_plan(s->plan, args, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "shortest path expansion failed: %d", rc);
	next = palloc(sizeof(int64) * cap);
	*nnext = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int64		edge = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		int64		from = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		int64		to = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!Reach(s, to, from, edge, level))
			continue;
		if (*nnext == cap)
		{
			cap *= 2;
			next = repalloc(next, sizeof(int64) * cap);
		}
		next[(*nnext)++] = to;
	}
	SPI_freetuptable(SPI_tuptable);
	return next;
}

static void
EmitPath(Search *s, int64 *nodes, int64 *edges, int len)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *nd = palloc(sizeof(Datum) * (len + 1));
	Datum	   *ed = palloc(sizeof(Datum) * (len + 1));

	/* the arrays were filled from the target back */
	for (int i = 0; i <= len; i++)
		nd[i] = Int64GetDatum(nodes[len - i]);
	for (int i = 0; i < len; i++)
		ed[i] = Int64GetDatum(edges[len - 1 - i]);
	values[0] = PointerGetDatum(construct_array(nd, len + 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(ed, len, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	tuplestore_putvalues(s->store, s->desc, values, nulls);
}

/*
 * Walks parents back from node (depth steps taken so far), emitting each
 * complete path; nodes/edges hold the walk from the target.
 */
static void
Backtrack(Search *s, Reached *r, int64 *nodes, int64 *edges, int depth, int len, bool *done)
{
	CHECK_FOR_INTERRUPTS();
	check_stack_depth();
	for (int i = 0; i < r->nparents && !*done; i++)
	{
		Parent	   *p = &r->parents[i];

		edges[depth] = p->edge;
		nodes[depth + 1] = p->node;
		if (depth + 1 == len)
		{
			EmitPath(s, nodes, edges, len);
			if (!s->all)
				*done = true;
			continue;
		}
		Backtrack(s, hash_search(s->reached, &p->node, HASH_FIND, NULL), nodes, edges,
				  depth + 1, len, done);
	}
}

static void
PrepareExpansion(Search *s, int direction)
{
	const char *schema = RvgSchema();
	const char *tf = "($2 IS NULL OR cardinality($2) = 0 OR type = ANY($2))";
	char	   *sql;
	Oid			types[2] = {INT8ARRAYOID, TEXTARRAYOID};

	if (direction == RVG_DIR_OUT)
		sql = psprintf("SELECT id, start_id, end_id FROM %s.ruvector_graph_edge "
					   "WHERE start_id = ANY($1) AND %s ORDER BY id", schema, tf);
	else if (direction == RVG_DIR_IN)
		sql = psprintf("SELECT id, end_id, start_id FROM %s.ruvector_graph_edge "
					   "WHERE end_id = ANY($1) AND %s ORDER BY id", schema, tf);
	else
		sql = psprintf("SELECT id, start_id, end_id FROM %s.ruvector_graph_edge WHERE start_id = ANY($1) AND %s "
					   "UNION ALL SELECT id, end_id, start_id FROM %s.ruvector_graph_edge WHERE end_id = ANY($1) AND %s "
					   "ORDER BY 1, 2", schema, tf, schema, tf);
	s->plan = SPI_prepare(sql, 2, types);
	if (s->plan == NULL)
		elog(ERROR, "could not prepare the shortest path expansion: %d", SPI_result);
}

/* The breadth-first search itself; fills s->found_level. */
static void
Search_Run(Search *s, int maxhops)
{
	int64	   *frontier = palloc(sizeof(int64));
	int			n = 1;
	int			level = 0;

	frontier[0] = s->start;
	if (!s->cycle)
		Reach(s, s->start, -1, -1, 0);
	while (n > 0 && s->found_level < 0 && (maxhops < 0 || level < maxhops))
	{
		CHECK_FOR_INTERRUPTS();
		level++;
		frontier = Expand(s, frontier, n, level, &n);
	}
}

Datum
ruvector_cy_shortest(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Search		s;
	HASHCTL		ctl;
	int			direction,
				minhops,
				maxhops;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	memset(&s, 0, sizeof(s));
	s.start = PG_GETARG_INT64(0);
	s.target = PG_GETARG_INT64(1);
	s.types_null = PG_ARGISNULL(2);
	s.types = s.types_null ? (Datum) 0 : PG_GETARG_DATUM(2);
	direction = PG_ARGISNULL(3) ? RVG_DIR_BOTH : PG_GETARG_INT32(3);
	minhops = PG_ARGISNULL(4) ? 1 : PG_GETARG_INT32(4);
	maxhops = PG_ARGISNULL(5) ? -1 : PG_GETARG_INT32(5);
	s.all = !PG_ARGISNULL(6) && PG_GETARG_BOOL(6);
	s.store = rsinfo->setResult;
	s.desc = rsinfo->setDesc;
	s.found_level = -1;
	if (s.start == s.target && minhops == 0)
	{
		int64		self = s.start;

		EmitPath(&s, &self, NULL, 0);
		return (Datum) 0;
	}
	s.cycle = (s.start == s.target);
	s.cxt = AllocSetContextCreate(CurrentMemoryContext, "ruvector shortest path",
								  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(Reached);
	ctl.hcxt = s.cxt;
	s.reached = hash_create("ruvector shortest path", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	SPI_connect();
	PrepareExpansion(&s, direction);
	Search_Run(&s, maxhops);
	SPI_finish();
	if (s.found_level > 0)
	{
		int64	   *nodes = palloc(sizeof(int64) * (s.found_level + 1));
		int64	   *edges = palloc(sizeof(int64) * (s.found_level + 1));
		bool		done = false;
		Reached    *t = s.cycle ? &s.target_entry :
			hash_search(s.reached, &s.target, HASH_FIND, NULL);

		nodes[0] = s.target;
		Backtrack(&s, t, nodes, edges, 0, s.found_level, &done);
	}
	MemoryContextDelete(s.cxt);
	return (Datum) 0;
}
