/*-------------------------------------------------------------------------
 *
 * igalgo.h
 *	  The pure computations of the integrity control plane: the exact
 *	  global minimum cut (Stoer-Wagner) with its side, the algebraic
 *	  connectivity of the normalised Laplacian (Lanczos, and a dense Jacobi
 *	  solver as reference), and the normal/stress/critical state machine;
 *	  with the small helpers they share with the server side (union-find,
 *	  the allocation list of one computation, IG_ASSERT).
 *
 * NOTES
 *	  No server headers: these files are linked into the Check unit tests
 *	  (test/unit/test_integrity.c) as well as the extension.  Memory comes
 *	  from malloc and is freed before returning; an allocation failure is
 *	  reported as a NaN result (the server side turns it into an error).
 *
 *	  Graphs are undirected and weighted, given as an edge list over nodes
 *	  0..n-1; parallel edges add up, self loops are ignored.
 *
 * IDENTIFICATION
 *	  src/integrity/igalgo.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_IGALGO_H
#define RV_IGALGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The invariants the NOTES of the ig*.c files state.  Checked where this
 * code runs without a server (the Check suite builds it with
 * RV_PURE_ASSERTS) and compiled out in the extension, like PostgreSQL's
 * Assert in a build without --enable-cassert.
 */
#ifdef RV_PURE_ASSERTS
#include <assert.h>
#define IG_ASSERT(cond) assert(cond)
#else
#define IG_ASSERT(cond) ((void) 0)
#endif

typedef struct RvIgEdge
{
	uint32_t	u;
	uint32_t	v;
	double		w;				/* >= 0 */
} RvIgEdge;

/*
 * Exact global minimum cut.  Returns its weight and sets side[i] to 1 for
 * the nodes of one side and 0 for the others (the crossing edges are the
 * witnesses).  A graph of fewer than 2 nodes has no cut: returns -1 and
 * side all 0.  A disconnected graph returns 0, side a component.  NaN if
 * out of memory.
 */
extern double rv_ig_mincut(uint32_t n, const RvIgEdge *edges, uint32_t nedges,
						   unsigned char *side);

/* Weight of the edges whose ends lie on different sides */
extern double rv_ig_cut_weight(const RvIgEdge *edges, uint32_t nedges,
							   const unsigned char *side);

/*
 * lambda2 of the normalised Laplacian I - D^-1/2 A D^-1/2: 0 for a
 * disconnected graph (or one with an isolated node), in (0, 2] otherwise;
 * -1 for fewer than 2 nodes; NaN if out of memory.
 *
 * rv_ig_lambda2 runs Lanczos with full reorthogonalisation against the
 * known null vector D^1/2 1 and every previous Lanczos vector, for at most
 * max_steps steps (0: min(n - 1, 300)), stopping early once the smallest
 * Ritz value has settled; rv_ig_lambda2_dense forms the matrix and solves
 * it with Jacobi (O(n^3), the reference for tests and small graphs).
 */
extern double rv_ig_lambda2(uint32_t n, const RvIgEdge *edges, uint32_t nedges,
							int max_steps);
extern double rv_ig_lambda2_dense(uint32_t n, const RvIgEdge *edges, uint32_t nedges);

/*
 * Cyclic Jacobi for a dense symmetric n x n matrix (row-major, destroyed):
 * its eigenvalues in ascending order in eig.  Returns false if out of
 * memory.
 */
extern bool rv_ig_jacobi(int n, double *a, double *eig);

/*
 * Union-find over 0..n-1 (uf[x] == x for a root), shared by the cut's
 * contractions and the server side's region merges.  rv_ig_uf_find returns
 * x's root, halving the path; rv_ig_uf_number sets newid[x] to the number
 * of x's set (0, 1, ... in the order of the sets' first members) and
 * returns how many sets there are.
 */
static inline uint32_t
rv_ig_uf_find(uint32_t *uf, uint32_t x)
{
	while (uf[x] != x)
	{
		uf[x] = uf[uf[x]];
		x = uf[x];
	}
	return x;
}

extern uint32_t rv_ig_uf_number(uint32_t *uf, uint32_t *newid, uint32_t n);

/*
 * The symmetric CSR of an edge list over nodes 0..n-1, shared by the cut,
 * the spectral code and the learning model: both directions of every edge,
 * in edge order, into rowStart (n + 1), col and w (2 * nedges); deg (n)
 * gets the weighted degrees; cur (n) is scratch.  Self loops and edges
 * with an end out of range are left out; parallel edges stay apart.
 */
extern void rv_ig_csr_build(uint32_t n, const RvIgEdge *edges, uint32_t nedges,
							uint32_t *rowStart, uint32_t *col, double *w,
							double *deg, uint32_t *cur);

/*
 * The allocations of one computation, freed together.  rv_ig_alloc
 * mallocs (zeroed with zero) and records the block; a failure returns
 * NULL and sets failed, so a caller allocates everything, tests failed
 * once, and has one exit that frees what was obtained: rv_ig_free_all.
 * Start from RV_IG_MEM_INIT.
 */
#define RV_IG_MEM_MAX	16

typedef struct RvIgMem
{
	void	   *blocks[RV_IG_MEM_MAX];
	int			n;
	bool		failed;
} RvIgMem;

#define RV_IG_MEM_INIT	{{0}, 0, false}

extern void *rv_ig_alloc(RvIgMem *mem, size_t size, bool zero);
extern void rv_ig_free_all(RvIgMem *mem);

/* Whether the graph is connected (n >= 1); -1 if out of memory */
extern int	rv_ig_connected(uint32_t n, const RvIgEdge *edges, uint32_t nedges);

/*
 * The state machine.  Thresholds are relative to the scope's baseline
 * (stress below stress_ratio * baseline, critical below critical_ratio *
 * baseline) unless an absolute one is given (>= 0).  Degradation needs
 * degrade_samples consecutive samples below the stress threshold (normal
 * -> stress), then critical_samples more below the critical one (stress
 * -> critical).  Recovery needs every sample for restore_hold seconds at
 * or above threshold * (1 + restore_offset): the stress threshold's for
 * normal, the critical one's for critical -> stress.  No transition
 * within cooldown seconds of the previous one.
 */
typedef enum RvIgState
{
	RV_IG_NORMAL = 0,
	RV_IG_STRESS = 1,
	RV_IG_CRITICAL = 2
} RvIgState;

typedef struct RvIgParams
{
	double		stress_ratio;	/* 0.5 */
	double		critical_ratio; /* 0.25 */
	double		stress_abs;		/* -1: use the ratio */
	double		critical_abs;	/* -1: use the ratio */
	int			degrade_samples;	/* 3 */
	int			critical_samples;	/* 2 */
	double		restore_offset; /* 0.1 */
	double		restore_hold;	/* seconds, 60 */
	double		cooldown;		/* seconds, 30 */
} RvIgParams;

typedef struct RvIgMachine
{
	RvIgState	state;
	int			below;			/* consecutive samples below the next threshold */
	double		aboveStress;	/* start of the run at/above the normal restore level, < 0: none */
	double		aboveCritical;	/* same for the stress restore level */
	double		lastTransition; /* time of the last transition, < 0: never */
} RvIgMachine;

extern void rv_ig_params_default(RvIgParams *p);
extern void rv_ig_machine_init(RvIgMachine *m);
extern double rv_ig_threshold(const RvIgParams *p, double baseline, RvIgState s);

/* Feed one sample taken at time now (seconds); returns the new state */
extern RvIgState rv_ig_step(RvIgMachine *m, const RvIgParams *p, double baseline,
							double lambda, double now);
extern const char *rv_ig_state_name(RvIgState s);

#endif							/* RV_IGALGO_H */
