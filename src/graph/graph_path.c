/*
 * graph_path.c — shortestPath and allShortestPaths: a bidirectional,
 * level-by-level breadth-first search over the edge indexes.
 *
 * ruvector_cy_shortest(start, target, types, direction, min_hops, max_hops,
 * all) returns the shortest path(s) from start to target as (node_ids,
 * edge_ids) rows: one row for shortestPath, every shortest path for
 * allShortestPaths, none when the target is out of reach within max_hops.
 *
 * NOTES
 *	Each level is one SPI query over the frontier: the edges leaving it (for
 *	the search from the start) or entering it (from the target), both ways for
 *	an undirected pattern, read through ruvector_graph_edge's out/in indexes
 *	and ordered by edge id so the path chosen among equals is stable.  The
 *	side with the smaller frontier expands next, so a search between two
 *	points of a graph with fan-out f and distance d touches about 2 f^(d/2)
 *	nodes instead of f^d.
 *
 *	A node is settled on each side at the first level that reaches it, with
 *	every parent found on that level kept for allShortestPaths.  After a
 *	level, the nodes it reached that the other side knows give the length;
 *	every shortest path runs through exactly one of them at that depth, so
 *	joining their half-paths enumerates each shortest path once.
 *
 *	With start = target and a minimum of one hop the search looks for the
 *	shortest cycle back instead.  Directed, from the start side only: the
 *	tree path to the last node before the start is simple, and its only edge
 *	at the start leaves it, so the closing edge (entering the start) is a
 *	new one unless it is a self-loop, which closes at level 1 alone.
 *	Undirected, the closing edge could be the first one walked back
 *	([e, e]), and a triangle would be missed (its third node is settled at
 *	level 1), so each relationship e = (start, x) is tried in turn: e, then
 *	a shortest path from x back to the start that does not use e (a shortest
 *	path is simple, so no relationship repeats).  The cycles of minimal
 *	length over all e are the answer (both directions of a cycle, as two
 *	paths, for allShortestPaths).  That is one search per relationship of
 *	the start.
 *
 *	Memory: one hash entry per reached node and side, in a context deleted on
 *	exit.  Each level checks for interrupts, so a large search can be
 *	cancelled.
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

#include "common/rv_hash.h"
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

/* One direction of the search. */
typedef struct Side
{
	HTAB	   *reached;
	SPIPlanPtr	plan;			/* the edges of a frontier, as (edge, from, to) */
	int64	   *frontier;
	int			n;
	int			level;
} Side;

typedef struct Search
{
	MemoryContext cxt;
	Side		fwd;			/* from the start */
	Side		bwd;			/* from the target */
	int64		start;
	int64		target;
	bool		all;
	bool		cycle;			/* start = target, at least one hop */
	Datum		types;
	bool		types_null;
	int64		exclude;		/* a relationship the search may not use, or -1 */
	/* undirected cycle search: each path found is buffered, behind a prefix */
	bool		buffer;
	int64		prefix_node;
	int64		prefix_edge;
	List	   *found;			/* FoundPath * */
	/* cycle search: the parents of the target */
	int			cycle_level;
	Reached		cycle_entry;
	/* output */
	Tuplestorestate *store;
	TupleDesc	desc;
	bool		done;
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

/* Marks node reached on a side; true when it is new there. */
static bool
Reach(Search *s, Side *side, int64 node, int64 parent, int64 edge, int level)
{
	Reached    *r;
	bool		found;

	r = hash_search(side->reached, &node, HASH_ENTER, &found);
	if (!found)
	{
		r->level = level;
		r->nparents = 0;
		r->cap = 0;
		r->parents = NULL;
		if (parent >= 0)
			AddParent(s, r, parent, edge);
		return true;
	}
	if (s->all && r->level == level && parent >= 0)
		AddParent(s, r, parent, edge);
	return false;
}

static HTAB *
NewReachedTable(Search *s, const char *name)
{
	return rv_blob_hash_create(name, 1024, sizeof(int64), sizeof(Reached), s->cxt);
}

/*
 * Expands one level of a side: every edge out of its frontier reaches the
 * next one.  In a cycle search an edge back to the start records a parent
 * of the target instead.
 */
static void
ExpandLevel(Search *s, Side *side)
{
	Datum	   *elems = palloc(sizeof(Datum) * side->n);
	Datum		args[3];
	char		nulls[3] = {' ', s->types_null ? 'n' : ' ', ' '};
	int64	   *next;
	int			nnext = 0;
	int			cap = 64;
	int			level = side->level + 1;

	for (int i = 0; i < side->n; i++)
		elems[i] = Int64GetDatum(side->frontier[i]);
	args[0] = PointerGetDatum(construct_array(elems, side->n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = s->types;
	args[2] = Int64GetDatum(s->exclude);
	if (SPI_execute_plan(side->plan, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "shortest path expansion failed");
	next = MemoryContextAlloc(s->cxt, sizeof(int64) * cap);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		edge = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		int64		from = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		int64		to = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (s->cycle && to == s->target)
		{
			if (s->cycle_level < 0 || s->cycle_level == level)
			{
				s->cycle_level = level;
				if (s->cycle_entry.nparents == 0 || s->all)
					AddParent(s, &s->cycle_entry, from, edge);
			}
			continue;
		}
		if (!Reach(s, side, to, from, edge, level))
			continue;
		if (nnext == cap)
		{
			int64	   *grown = MemoryContextAlloc(s->cxt, sizeof(int64) * cap * 2);

			memcpy(grown, next, sizeof(int64) * cap);
			next = grown;
			cap *= 2;
		}
		next[nnext++] = to;
	}
	SPI_freetuptable(SPI_tuptable);
	side->frontier = next;
	side->n = nnext;
	side->level = level;
}

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */
typedef struct FoundPath
{
	int			len;
	int64	   *nodes;			/* len + 1 */
	int64	   *edges;			/* len */
} FoundPath;

static void
PutPath(Search *s, int64 *nodes, int64 *edges, int len)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *nd = palloc(sizeof(Datum) * (len + 1));
	Datum	   *ed = palloc(sizeof(Datum) * (len + 1));

	for (int i = 0; i <= len; i++)
		nd[i] = Int64GetDatum(nodes[i]);
	for (int i = 0; i < len; i++)
		ed[i] = Int64GetDatum(edges[i]);
	values[0] = PointerGetDatum(construct_array(nd, len + 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(ed, len, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	tuplestore_putvalues(s->store, s->desc, values, nulls);
}

static void
EmitPath(Search *s, int64 *nodes, int64 *edges, int len)
{
	if (s->buffer)
	{
		FoundPath  *f = palloc(sizeof(FoundPath));

		/* the prefix (start, e), then the path from x */
		f->len = len + 1;
		f->nodes = palloc(sizeof(int64) * (len + 2));
		f->edges = palloc(sizeof(int64) * (len + 1));
		f->nodes[0] = s->prefix_node;
		f->edges[0] = s->prefix_edge;
		memcpy(f->nodes + 1, nodes, sizeof(int64) * (len + 1));
		if (len > 0)
			memcpy(f->edges + 1, edges, sizeof(int64) * len);
		s->found = lappend(s->found, f);
	}
	else
		PutPath(s, nodes, edges, len);
	if (!s->all)
		s->done = true;
}

/*
 * Walks the backward side from node to the target, filling positions
 * pos.. of the path, then emits it.
 */
static void
WalkToTarget(Search *s, int64 node, int64 *nodes, int64 *edges, int pos, int len)
{
	Reached    *r;

	CHECK_FOR_INTERRUPTS();
	check_stack_depth();
	nodes[pos] = node;
	if (pos == len)
	{
		EmitPath(s, nodes, edges, len);
		return;
	}
	r = hash_search(s->bwd.reached, &node, HASH_FIND, NULL);
	for (int i = 0; r != NULL && i < r->nparents && !s->done; i++)
	{
		edges[pos] = r->parents[i].edge;
		WalkToTarget(s, r->parents[i].node, nodes, edges, pos + 1, len);
	}
}

/*
 * Walks the forward side from node back to the start, filling positions
 * ..pos, then continues from the meeting node mid to the target.
 */
static void
WalkToStart(Search *s, Reached *r, int64 *nodes, int64 *edges, int pos, int64 mid,
			int midpos, int len)
{
	CHECK_FOR_INTERRUPTS();
	check_stack_depth();
	if (pos == 0)
	{
		WalkToTarget(s, mid, nodes, edges, midpos, len);
		return;
	}
	for (int i = 0; i < r->nparents && !s->done; i++)
	{
		Parent	   *p = &r->parents[i];

		nodes[pos - 1] = p->node;
		edges[pos - 1] = p->edge;
		WalkToStart(s, pos - 1 == 0 ? NULL : hash_search(s->fwd.reached, &p->node, HASH_FIND, NULL),
					nodes, edges, pos - 1, mid, midpos, len);
	}
}

/* Emits every shortest path through the meeting nodes of length len. */
static void
EmitThrough(Search *s, int64 *meets, int nmeets, int len)
{
	int64	   *nodes = palloc(sizeof(int64) * (len + 1));
	int64	   *edges = palloc(sizeof(int64) * (len + 1));

	for (int i = 0; i < nmeets && !s->done; i++)
	{
		Reached    *f = hash_search(s->fwd.reached, &meets[i], HASH_FIND, NULL);

		nodes[f->level] = meets[i];
		WalkToStart(s, f, nodes, edges, f->level, meets[i], f->level, len);
	}
}

/* Cycle back to the start: the target's parents, then the forward side. */
static void
EmitCycles(Search *s)
{
	int			len = s->cycle_level;
	int64	   *nodes = palloc(sizeof(int64) * (len + 1));
	int64	   *edges = palloc(sizeof(int64) * (len + 1));

	nodes[len] = s->target;
	for (int i = 0; i < s->cycle_entry.nparents && !s->done; i++)
	{
		Parent	   *p = &s->cycle_entry.parents[i];

		nodes[len - 1] = p->node;
		edges[len - 1] = p->edge;
		if (len == 1)
		{
			nodes[0] = s->start;
			EmitPath(s, nodes, edges, len);
			continue;
		}
		WalkToStart(s, hash_search(s->fwd.reached, &p->node, HASH_FIND, NULL), nodes, edges,
					len - 1, s->target, len, len);
	}
}

/* ---------------------------------------------------------------------
 * The search
 * ---------------------------------------------------------------------
 */
static SPIPlanPtr
PrepareExpansion(const char *schema, int direction)
{
	const char *tf = "($2 IS NULL OR pg_catalog.cardinality($2) = 0 OR type = ANY($2)) AND id <> $3";
	char	   *sql;
	Oid			types[3] = {INT8ARRAYOID, TEXTARRAYOID, INT8OID};
	SPIPlanPtr	plan;

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
	plan = SPI_prepare(sql, 3, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the shortest path expansion: %d", SPI_result);
	return plan;
}

/*
 * Nodes reached by the level just expanded on side that the other side
 * knows; returns how many, the best total length in *best.
 */
static int
Meetings(Search *s, Side *side, Side *other, int64 **meets, int *best)
{
	int			n = 0;

	*meets = palloc(sizeof(int64) * (side->n + 1));
	*best = -1;
	for (int i = 0; i < side->n; i++)
	{
		Reached    *o = hash_search(other->reached, &side->frontier[i], HASH_FIND, NULL);
		int			total;

		if (o == NULL)
			continue;
		total = side->level + o->level;
		if (*best < 0 || total < *best)
		{
			*best = total;
			n = 0;
		}
		if (total == *best)
			(*meets)[n++] = side->frontier[i];
	}
	return n;
}

static void
Run(Search *s, int minhops, int maxhops)
{
	s->fwd.reached = NewReachedTable(s, "ruvector shortest path (start)");
	s->fwd.frontier = MemoryContextAlloc(s->cxt, sizeof(int64));
	s->fwd.frontier[0] = s->start;
	s->fwd.n = 1;
	if (s->cycle)
	{
		/* the start is settled at level 0, except as the cycle's end */
		Reach(s, &s->fwd, s->start, -1, -1, 0);
		while (s->fwd.n > 0 && s->cycle_level < 0 && (maxhops < 0 || s->fwd.level < maxhops))
		{
			CHECK_FOR_INTERRUPTS();
			ExpandLevel(s, &s->fwd);
		}
		if (s->cycle_level > 0)
			EmitCycles(s);
		return;
	}
	s->bwd.reached = NewReachedTable(s, "ruvector shortest path (target)");
	s->bwd.frontier = MemoryContextAlloc(s->cxt, sizeof(int64));
	s->bwd.frontier[0] = s->target;
	s->bwd.n = 1;
	Reach(s, &s->fwd, s->start, -1, -1, 0);
	Reach(s, &s->bwd, s->target, -1, -1, 0);
	while (s->fwd.n > 0 && s->bwd.n > 0 &&
		   (maxhops < 0 || s->fwd.level + s->bwd.level < maxhops))
	{
		Side	   *side = s->fwd.n <= s->bwd.n ? &s->fwd : &s->bwd;
		Side	   *other = side == &s->fwd ? &s->bwd : &s->fwd;
		int64	   *meets;
		int			best;
		int			n;

		CHECK_FOR_INTERRUPTS();
		ExpandLevel(s, side);
		n = Meetings(s, side, other, &meets, &best);
		if (n > 0)
		{
			if (best >= minhops && (maxhops < 0 || best <= maxhops))
				EmitThrough(s, meets, n, best);
			return;
		}
	}
}

/*
 * The shortest undirected cycles through s->start (see NOTES): for each
 * relationship e = (start, x), e followed by a shortest path from x back to
 * the start without e.
 */
static void
RunUndirectedCycle(Search *s, int minhops, int maxhops)
{
	Datum		args[3];
	char		nulls[3] = {' ', s->types_null ? 'n' : ' ', ' '};
	Datum		self = Int64GetDatum(s->start);
	int			nfirst;
	int64	   *first_edge,
			   *first_node;
	int			best = -1;
	ListCell   *lc;

	/* the relationships at the start (a self-loop comes twice) */
	args[0] = PointerGetDatum(construct_array(&self, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = s->types;
	args[2] = Int64GetDatum(-1);
	if (SPI_execute_plan(s->fwd.plan, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "shortest path expansion failed");
	nfirst = (int) SPI_processed;
	first_edge = palloc(sizeof(int64) * (nfirst + 1));
	first_node = palloc(sizeof(int64) * (nfirst + 1));
	for (int i = 0; i < nfirst; i++)
	{
		bool		isnull;

		first_edge[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		first_node[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	s->buffer = true;
	s->prefix_node = s->start;
	for (int i = 0; i < nfirst; i++)
	{
		MemoryContext outer = s->cxt;
		int			limit;

		CHECK_FOR_INTERRUPTS();
		if (i > 0 && first_edge[i] == first_edge[i - 1])
			continue;			/* the self-loop's second row */
		s->prefix_edge = first_edge[i];
		s->done = false;
		if (first_node[i] == s->start)
		{
			/* a self-loop is a cycle of one */
			int64		nodes[1] = {s->start};

			if (minhops <= 1)
				EmitPath(s, nodes, NULL, 0);
		}
		else
		{
			/* cycles longer than the best so far are of no use */
			limit = maxhops < 0 ? -1 : maxhops - 1;
			if (best > 0)
			{
				int			useful = s->all ? best - 1 : best - 2;

				if (useful < 1)
					continue;
				if (limit < 0 || useful < limit)
					limit = useful;
			}
			if (limit == 0)
				continue;
			s->cxt = AllocSetContextCreate(outer, "ruvector shortest cycle", ALLOCSET_DEFAULT_SIZES);
			s->exclude = first_edge[i];
			s->target = s->start;
			s->start = first_node[i];
			s->fwd.level = s->bwd.level = 0;
			Run(s, minhops > 1 ? minhops - 1 : 1, limit);
			s->start = s->target;
			s->exclude = -1;
			MemoryContextDelete(s->cxt);
			s->cxt = outer;
		}
		foreach(lc, s->found)
		{
			FoundPath  *f = lfirst(lc);

			if (best < 0 || f->len < best)
				best = f->len;
		}
	}
	/* the cycles of the best length, in the order found */
	foreach(lc, s->found)
	{
		FoundPath  *f = lfirst(lc);

		if (f->len != best)
			continue;
		PutPath(s, f->nodes, f->edges, f->len);
		if (!s->all)
			break;
	}
}

Datum
ruvector_cy_shortest(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Search		s;
	int			direction,
				minhops,
				maxhops;
	const char *schema;
	int			pin;

	/* callable by hand (ruvector_user): check what the translator would */
	if (PG_NARGS() != 7)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("ruvector_cy_shortest called with %d arguments, expects 7", PG_NARGS())));
	for (int i = 0; i < 7; i++)
	{
		static const Oid expect[7] = {INT8OID, INT8OID, TEXTARRAYOID, INT4OID, INT4OID,
		INT4OID, BOOLOID};
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (OidIsValid(t) && t != expect[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("argument %d of ruvector_cy_shortest is of type %s, expects %s",
							i + 1, format_type_be(t), format_type_be(expect[i]))));
	}
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
	if (direction != RVG_DIR_BOTH && direction != RVG_DIR_OUT && direction != RVG_DIR_IN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shortest path direction %d is not one of %d (both), %d (out), %d (in)",
						direction, RVG_DIR_BOTH, RVG_DIR_OUT, RVG_DIR_IN)));
	if (minhops < 0 || maxhops < -1 || (maxhops >= 0 && maxhops < minhops))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shortest path hop bounds %d..%d are invalid", minhops, maxhops),
				 errhint("The minimum must be at least 0 and at most the maximum; a maximum of -1 means none.")));
	s.store = rsinfo->setResult;
	s.desc = rsinfo->setDesc;
	s.cycle_level = -1;
	if (s.start == s.target && minhops == 0)
	{
		int64		self = s.start;

		EmitPath(&s, &self, NULL, 0);
		return (Datum) 0;
	}
	s.cycle = (s.start == s.target);
	s.exclude = -1;
	schema = RvgSchema();
	s.cxt = AllocSetContextCreate(CurrentMemoryContext, "ruvector shortest path",
								  ALLOCSET_DEFAULT_SIZES);
	pin = RvgSpiConnect();
	s.fwd.plan = PrepareExpansion(schema, direction);
	s.bwd.plan = PrepareExpansion(schema, direction == RVG_DIR_OUT ? RVG_DIR_IN :
								  direction == RVG_DIR_IN ? RVG_DIR_OUT : RVG_DIR_BOTH);
	if (s.cycle && direction == RVG_DIR_BOTH)
	{
		s.cycle = false;
		RunUndirectedCycle(&s, minhops, maxhops);
	}
	else
		Run(&s, minhops, maxhops);
	RvgSpiFinish(pin);
	MemoryContextDelete(s.cxt);
	return (Datum) 0;
}
