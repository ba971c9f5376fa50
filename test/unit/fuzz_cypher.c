/*
 * fuzz_cypher.c — feeds random, generated and mutated queries to the Cypher
 * parser (src/graph/cypher_*.c) under AddressSanitizer and
 * UndefinedBehaviorSanitizer, and checks what it returns.
 *
 * Usage: fuzz_cypher [iterations [seed]]   (default 200000, seed 1)
 *        fuzz_cypher --sql n [seed] [graph]
 *
 * The --sql form prints n generated and mutated queries as SQL statements
 * calling ruvector_cypher on a graph (default "fuzz"), one per line, for
 * feeding a server the same inputs (the TAP test 302_graph_fuzz.pl).
 *
 * Inputs come from four generators, chosen at random each round: random
 * bytes; random sequences of Cypher tokens; well-formed queries from a small
 * random grammar (which must parse); and well-formed queries mutated by byte
 * flips, insertions, deletions, token splices, duplication and truncation.
 * Every input lives in a heap block of exactly its length (the parser takes
 * a length, not a terminator), so a read past the end is an ASan report.
 * One round in sixteen also makes the allocator fail after a random number
 * of allocations.
 *
 * Beyond "no crash", every result is checked against the parser's
 * contract: an error has a known code, an offset inside the input, the line
 * and column cy_position gives for that offset, a NUL-terminated token
 * shorter than the limit and a message; a tree dumps without fault; a
 * generated query parses unless the allocator was told to fail.  Any
 * violation aborts, so the exit status and the closing line are the verdict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/cypher_ast.h"

#define FUZZ_MAX_LEN 4096

static uint64_t fuzz_state;

/* xorshift64*: fast, and a seed replays a failure exactly. */
static uint64_t
fuzz_rand(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 2685821657736338717ULL;
}

static uint32_t
fuzz_below(uint32_t n)
{
	return (uint32_t) (fuzz_rand() % n);
}

/* ---------------------------------------------------------------------
 * Allocator: a block list freed after each round, optionally failing
 * ---------------------------------------------------------------------
 */
typedef struct Arena
{
	void	  **blocks;
	size_t		n;
	size_t		cap;
	long		fail_after;
} Arena;

static void *
arena_alloc(void *ctx, size_t size)
{
	Arena	   *a = ctx;
	void	   *p;

	if (a->fail_after >= 0 && (long) a->n >= a->fail_after)
		return NULL;
	if (a->n == a->cap)
	{
		a->cap = a->cap ? a->cap * 2 : 256;
		a->blocks = realloc(a->blocks, a->cap * sizeof(void *));
		if (a->blocks == NULL)
			abort();
	}
	p = calloc(1, size ? size : 1);
	if (p == NULL)
		abort();
	a->blocks[a->n++] = p;
	return p;
}

static void
arena_reset(Arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	a->n = 0;
}

/* ---------------------------------------------------------------------
 * Generators
 * ---------------------------------------------------------------------
 */
typedef struct Buf
{
	char		s[FUZZ_MAX_LEN + 1];
	size_t		len;
} Buf;

static void
put(Buf *b, const char *s)
{
	size_t		n = strlen(s);

	if (b->len + n > FUZZ_MAX_LEN)
		n = FUZZ_MAX_LEN - b->len;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static const char *const tokens[] = {
	"MATCH", "OPTIONAL", "WHERE", "RETURN", "WITH", "UNWIND", "AS", "CREATE",
	"MERGE", "ON", "SET", "REMOVE", "DELETE", "DETACH", "ORDER", "BY", "SKIP",
	"LIMIT", "DISTINCT", "UNION", "ALL", "AND", "OR", "XOR", "NOT", "IN", "IS",
	"NULL", "TRUE", "FALSE", "STARTS", "ENDS", "CONTAINS", "CASE", "WHEN",
	"THEN", "ELSE", "END", "ASC", "DESC", "count", "shortestPath", "any",
	"exists", "vector.distance", "n", "m", "r", "p", "x", "`q q`", ":Person",
	":KNOWS", "(", ")", "[", "]", "{", "}", ",", ".", "..", ":", ";", "|", "=",
	"<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^", "+=", "=~",
	"->", "<-", "-->", "<--", "--", "-[", "]->", "]-", "*1..3", "*..", "$p",
	"$", "0", "1", "42", "-1", "1.5", ".5", "1e3", "1e999", "0x1F", "0o7",
	"9223372036854775808", "'str'", "\"s\\\"q\"", "'\\u00e9'", "'\\uD800'",
	"'unterminated", "`", "//c\n", "/*c*/", "/*", " ", "\n", "\t", "\xc3\xa9",
	"\xff", "@", "#", "\\",
};

#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

static void
gen_tokens(Buf *b)
{
	int			n = 1 + (int) fuzz_below(60);

	for (int i = 0; i < n; i++)
	{
		put(b, tokens[fuzz_below(NTOKENS)]);
		if (fuzz_below(3))
			put(b, " ");
	}
}

static void
gen_bytes(Buf *b)
{
	size_t		n = fuzz_below(200);

	for (size_t i = 0; i < n && b->len < FUZZ_MAX_LEN; i++)
		b->s[b->len++] = (char) fuzz_below(256);
	b->s[b->len] = '\0';
}

static const char *const vars[] = {"a", "b", "n", "`x y`"};
static const char *const labels[] = {"Person", "City", "`L x`", "Match"};
static const char *const keys[] = {"name", "age", "end", "`k`"};

static void gen_expr(Buf *b, int depth);

static void
gen_literal(Buf *b)
{
	static const char *const lits[] = {
		"1", "-7", "2.5", "'s'", "\"d\"", "true", "false", "null", "$p", "$q",
		"0x10", "1e-3", "'\\n\\u0041'", "9223372036854775807"
	};

	put(b, lits[fuzz_below(sizeof(lits) / sizeof(lits[0]))]);
}

static void
gen_map(Buf *b, int depth)
{
	int			n = (int) fuzz_below(3);

	put(b, "{");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			put(b, ", ");
		put(b, keys[fuzz_below(4)]);
		put(b, ": ");
		gen_expr(b, depth + 1);
	}
	put(b, "}");
}

static void
gen_atom(Buf *b, int depth)
{
	switch (fuzz_below(depth > 4 ? 3 : 12))
	{
		case 0:
		case 1:
			gen_literal(b);
			break;
		case 2:
			put(b, vars[fuzz_below(4)]);
			put(b, ".");
			put(b, keys[fuzz_below(4)]);
			break;
		case 3:
			put(b, "[");
			gen_expr(b, depth + 1);
			put(b, ", ");
			gen_expr(b, depth + 1);
			put(b, "]");
			break;
		case 4:
			gen_map(b, depth);
			break;
		case 5:
			/* NOT binds looser than the operators, so it needs parentheses here */
			put(b, fuzz_below(3) == 0 ? "(NOT " : "(");
			gen_expr(b, depth + 1);
			put(b, ")");
			break;
		case 6:
			put(b, fuzz_below(2) ? "toLower(" : "count(DISTINCT ");
			gen_expr(b, depth + 1);
			put(b, ")");
			break;
		case 7:
			put(b, "CASE WHEN ");
			gen_expr(b, depth + 1);
			put(b, " THEN ");
			gen_expr(b, depth + 1);
			put(b, " ELSE ");
			gen_expr(b, depth + 1);
			put(b, " END");
			break;
		case 8:
			put(b, "[x IN ");
			gen_expr(b, depth + 1);
			put(b, " WHERE x > 1 | x * 2]");
			break;
		case 9:
			put(b, "any(y IN [1, 2] WHERE y = ");
			gen_expr(b, depth + 1);
			put(b, ")");
			break;
		case 10:
			put(b, "vector.distance(n.emb, $q)");
			break;
		default:
			put(b, "count(*)");
			break;
	}
}

static void
gen_expr(Buf *b, int depth)
{
	static const char *const ops[] = {
		" + ", " - ", " * ", " / ", " % ", " ^ ", " = ", " <> ", " < ", " >= ",
		" AND ", " OR ", " XOR ", " STARTS WITH ", " ENDS WITH ", " CONTAINS ",
		" IN ", " =~ "
	};

	gen_atom(b, depth);
	if (depth < 5 && fuzz_below(2))
	{
		put(b, ops[fuzz_below(sizeof(ops) / sizeof(ops[0]))]);
		gen_expr(b, depth + 1);
	}
	if (fuzz_below(8) == 0)
		put(b, fuzz_below(2) ? " IS NULL" : " IS NOT NULL");
}

static void
gen_node(Buf *b)
{
	put(b, "(");
	if (fuzz_below(3))
		put(b, vars[fuzz_below(4)]);
	if (fuzz_below(2))
	{
		put(b, ":");
		put(b, labels[fuzz_below(4)]);
	}
	if (fuzz_below(3) == 0)
		gen_map(b, 3);
	put(b, ")");
}

static void
gen_rel(Buf *b)
{
	static const char *const lengths[] = {"", "*", "*2", "*1..3", "*..4", "*0.."};
	int			dir = (int) fuzz_below(3);

	put(b, dir == 1 ? "<-" : "-");
	if (fuzz_below(4))
	{
		put(b, "[");
		if (fuzz_below(2))
			put(b, "r");
		if (fuzz_below(2))
			put(b, fuzz_below(2) ? ":KNOWS" : ":A|B");
		put(b, lengths[fuzz_below(6)]);
		if (fuzz_below(4) == 0)
			gen_map(b, 3);
		put(b, "]");
	}
	put(b, dir == 2 ? "->" : "-");
}

static void
gen_path(Buf *b)
{
	int			n = (int) fuzz_below(4);

	if (fuzz_below(4) == 0)
		put(b, "p = ");
	gen_node(b);
	for (int i = 0; i < n; i++)
	{
		gen_rel(b);
		gen_node(b);
	}
}

static void
gen_projection(Buf *b)
{
	int			n = 1 + (int) fuzz_below(3);

	if (fuzz_below(4) == 0)
		put(b, "DISTINCT ");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			put(b, ", ");
		gen_expr(b, 0);
		if (fuzz_below(2))
		{
			put(b, " AS ");
			put(b, vars[fuzz_below(4)]);
		}
	}
	if (fuzz_below(3) == 0)
	{
		put(b, " ORDER BY ");
		gen_expr(b, 2);
		put(b, fuzz_below(2) ? " DESC" : "");
	}
	if (fuzz_below(4) == 0)
		put(b, " SKIP 1");
	if (fuzz_below(3) == 0)
		put(b, " LIMIT 10");
}

/* A well-formed query: reading clauses, maybe an update, then RETURN. */
static void
gen_query(Buf *b)
{
	int			n = (int) fuzz_below(4);

	for (int i = 0; i < n; i++)
	{
		switch (fuzz_below(5))
		{
			case 0:
			case 1:
				put(b, fuzz_below(4) == 0 ? "OPTIONAL MATCH " : "MATCH ");
				gen_path(b);
				if (fuzz_below(2))
				{
					put(b, ", ");
					gen_path(b);
				}
				if (fuzz_below(2))
				{
					put(b, " WHERE ");
					gen_expr(b, 0);
				}
				break;
			case 2:
				put(b, "UNWIND ");
				gen_expr(b, 2);
				put(b, " AS x");
				break;
			case 3:
				put(b, "WITH ");
				gen_projection(b);
				break;
			default:
				put(b, "CREATE ");
				gen_path(b);
				break;
		}
		put(b, fuzz_below(2) ? " " : "\n");
	}
	switch (fuzz_below(6))
	{
		case 0:
			put(b, "SET n.name = ");
			gen_expr(b, 1);
			put(b, ", n += {a: 1}, n:Person ");
			break;
		case 1:
			put(b, "DETACH DELETE n ");
			break;
		case 2:
			put(b, "MERGE ");
			gen_path(b);
			put(b, " ON CREATE SET n.c = 1 ");
			break;
		case 3:
			put(b, "REMOVE n.age, n:City ");
			break;
		default:
			break;
	}
	put(b, "RETURN ");
	gen_projection(b);
	if (fuzz_below(8) == 0)
		put(b, " UNION ALL RETURN 1 AS a");
}

static void
mutate(Buf *b)
{
	int			rounds = 1 + (int) fuzz_below(4);

	for (int r = 0; r < rounds && b->len > 0; r++)
	{
		size_t		at = fuzz_below((uint32_t) b->len);

		switch (fuzz_below(6))
		{
			case 0:				/* flip a byte */
				b->s[at] = (char) fuzz_below(256);
				break;
			case 1:				/* delete a span */
				{
					size_t		n = 1 + fuzz_below(8);

					if (at + n > b->len)
						n = b->len - at;
					memmove(b->s + at, b->s + at + n, b->len - at - n);
					b->len -= n;
				}
				break;
			case 2:				/* splice a token */
				{
					const char *t = tokens[fuzz_below(NTOKENS)];
					size_t		n = strlen(t);

					if (b->len + n <= FUZZ_MAX_LEN)
					{
						memmove(b->s + at + n, b->s + at, b->len - at);
						memcpy(b->s + at, t, n);
						b->len += n;
					}
				}
				break;
			case 3:				/* truncate */
				b->len = at;
				break;
			case 4:				/* duplicate a span */
				{
					size_t		n = 1 + fuzz_below(16);

					if (at + n > b->len)
						n = b->len - at;
					if (b->len + n <= FUZZ_MAX_LEN)
					{
						memmove(b->s + at + n, b->s + at, b->len - at);
						b->len += n;
					}
				}
				break;
			default:			/* insert a NUL or a quote */
				if (b->len < FUZZ_MAX_LEN)
				{
					static const char specials[] = {'\0', '\'', '"', '`', '(', '[', '{'};

					memmove(b->s + at + 1, b->s + at, b->len - at);
					b->s[at] = specials[fuzz_below(sizeof(specials))];
					b->len++;
				}
				break;
		}
	}
	b->s[b->len] = '\0';
}

/* ---------------------------------------------------------------------
 * Contract checks
 * ---------------------------------------------------------------------
 */
static void
die(const char *what, const Buf *b, uint64_t round)
{
	fprintf(stderr, "fuzz_cypher: %s in round %llu, input (%zu bytes):\n",
			what, (unsigned long long) round, b->len);
	fwrite(b->s, 1, b->len, stderr);
	fputc('\n', stderr);
	abort();
}

static void
check_error(const CyParseError *err, const Buf *b, const char *input, uint64_t round)
{
	int			line,
				col;

	if (err->code < CY_ERR_SYNTAX || err->code > CY_ERR_NOMEM)
		die("unknown error code", b, round);
	if (err->offset < 0 || (size_t) err->offset > b->len)
		die("error offset outside the input", b, round);
	cy_position(input, b->len, err->offset, &line, &col);
	if (line != err->line || col != err->column || line < 1 || col < 1)
		die("error line/column disagree with the offset", b, round);
	if (memchr(err->token, '\0', CY_ERROR_TOKEN_LEN) == NULL)
		die("error token not terminated", b, round);
	if (memchr(err->message, '\0', CY_ERROR_MESSAGE_LEN) == NULL || err->message[0] == '\0')
		die("error message missing", b, round);
}

/*
 * Queries a server can run past the translator: only bound variables are
 * used (a, b: nodes; r: a relationship), aggregates only in RETURN.  The
 * values still clash at run time (strings times lists, ...), which is the
 * point: every such clash must be an error, not a crash.
 */
static void
gen_bound_expr(Buf *b, int depth)
{
	static const char *const atoms[] = {
		"a.name", "b.age", "r.since", "a.emb", "b", "a", "r", "id(a)", "labels(b)",
		"type(r)", "size(a.name)", "properties(a)", "keys(b)", "1", "2.5", "'s'",
		"null", "true", "[1, 2, 3]", "{k: 1}", "$p", "$q", "-7", "[]", "a.nope",
		"vector.distance(a.emb, $q)", "startNode(r)", "[x IN range(1, 3) | x * b.age]",
		"[(a)-->(z) | z.name]", "exists((b)-->())", "coalesce(a.nope, 1)", "toString(b.age)",
		"a{.name, .age}", "head([a.name])", "toInteger('12')", "split(a.name, '1')"
	};
	static const char *const ops[] = {
		" + ", " - ", " * ", " / ", " % ", " ^ ", " = ", " <> ", " < ", " >= ",
		" AND ", " OR ", " XOR ", " STARTS WITH ", " CONTAINS ", " IN ", " =~ "
	};

	if (depth > 3 || fuzz_below(3) == 0)
	{
		put(b, atoms[fuzz_below(sizeof(atoms) / sizeof(atoms[0]))]);
		return;
	}
	switch (fuzz_below(5))
	{
		case 0:
			put(b, "(");
			gen_bound_expr(b, depth + 1);
			put(b, ")");
			break;
		case 1:
			put(b, "CASE WHEN ");
			gen_bound_expr(b, depth + 1);
			put(b, " THEN ");
			gen_bound_expr(b, depth + 1);
			put(b, " END");
			break;
		case 2:
			put(b, "[");
			gen_bound_expr(b, depth + 1);
			put(b, ", ");
			gen_bound_expr(b, depth + 1);
			put(b, "][0]");
			break;
		default:
			gen_bound_expr(b, depth + 1);
			put(b, ops[fuzz_below(sizeof(ops) / sizeof(ops[0]))]);
			gen_bound_expr(b, depth + 1);
			break;
	}
	if (fuzz_below(6) == 0)
		put(b, " IS NULL");
}

static void
gen_bound_query(Buf *b)
{
	static const char *const matches[] = {
		"MATCH (a:Person)-[r:KNOWS]->(b) ",
		"MATCH (a)-[r]-(b) ",
		"MATCH (a:Person {age: 3})-[r*1..2]->(b) WITH a, b, last(r) AS r ",
		"MATCH (a:Person), (b:City) MATCH (a)-[r]->(x) ",
		"MATCH p = (a)-[r:KNOWS]->(b) WITH a, b, r, p ",
		"OPTIONAL MATCH (a:Nobody)-[r]->(b) ",
		"MATCH (a:Person) OPTIONAL MATCH (a)-[r]->(b:City) ",
		"MATCH p = shortestPath((a:Person {age: 1})-[*..3]-(b:City)) WITH a, b, relationships(p)[0] AS r ",
		"UNWIND [1, 2] AS i MATCH (a:Person {age: i})-[r]->(b) ",
	};
	static const char *const tails[] = {
		"", " SET b.touched = ", " SET a += ", " MERGE (m:Mark {v: ", " CREATE (x:Made {v: ",
		" DETACH DELETE b WITH a, r ",
	};
	int			t = (int) fuzz_below(sizeof(tails) / sizeof(tails[0]));

	put(b, matches[fuzz_below(sizeof(matches) / sizeof(matches[0]))]);
	if (fuzz_below(2))
	{
		put(b, "WHERE ");
		gen_bound_expr(b, 0);
		put(b, " ");
	}
	put(b, tails[t]);
	if (t >= 1 && t <= 4)
	{
		gen_bound_expr(b, 2);
		if (t >= 3)
			put(b, "})");
		put(b, " WITH a, b, r ");
	}
	put(b, fuzz_below(3) == 0 ? "RETURN count(*), collect(" : "RETURN ");
	gen_bound_expr(b, 0);
	if (b->s[b->len - 1] != ' ' && strstr(b->s, "collect(") != NULL &&
		strstr(b->s, "RETURN count(*), collect(") != NULL)
		put(b, ")");
	put(b, " AS v");
	if (fuzz_below(3) == 0)
	{
		put(b, " ORDER BY ");
		gen_bound_expr(b, 2);
		put(b, " LIMIT 5");
	}
}

/* The --sql mode: queries as statements, NUL bytes and the quote tag removed. */
static int
PrintSql(uint64_t n, const char *graph)
{
	for (uint64_t round = 0; round < n; round++)
	{
		Buf			b = {.len = 0};
		int			kind = 1 + (int) fuzz_below(5);

		b.s[0] = '\0';
		if (kind >= 4)
		{
			gen_bound_query(&b);
			if (kind == 5)
				mutate(&b);
		}
		else if (kind == 1)
			gen_tokens(&b);
		else
		{
			gen_query(&b);
			if (kind == 3)
				mutate(&b);
		}
		fputs("SELECT count(*) FROM ruvector_cypher('", stdout);
		fputs(graph, stdout);
		fputs("', $fz$", stdout);
		for (size_t i = 0; i < b.len; i++)
		{
			char		c = b.s[i];

			if (c == '\0' || (c == '$' && i + 3 < b.len && memcmp(b.s + i, "$fz$", 4) == 0))
				c = ' ';
			putchar(c);
		}
		fputs("$fz$, '{\"p\": 1, \"q\": [1, 2, 3]}');\n", stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t	iterations = argc > 1 && argv[1][0] != '-' ? strtoull(argv[1], NULL, 10) : 200000;
	uint64_t	seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	uint64_t	parsed = 0,
				rejected = 0;
	Arena		arena = {0};
	static char dump[16384];

	if (argc > 1 && strcmp(argv[1], "--sql") == 0)
	{
		fuzz_state = (argc > 3 ? strtoull(argv[3], NULL, 10) : 1) * 0x9E3779B97F4A7C15ULL + 1;
		return PrintSql(argc > 2 ? strtoull(argv[2], NULL, 10) : 1000, argc > 4 ? argv[4] : "fuzz");
	}
	fuzz_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (uint64_t round = 0; round < iterations; round++)
	{
		Buf			b = {.len = 0};
		int			kind = (int) fuzz_below(4);
		char	   *input;
		CyParseError err;
		CyQuery    *q;

		b.s[0] = '\0';
		if (kind == 0)
			gen_bytes(&b);
		else if (kind == 1)
			gen_tokens(&b);
		else
		{
			gen_query(&b);
			if (kind == 3)
				mutate(&b);
		}
		arena.fail_after = fuzz_below(16) == 0 ? (long) fuzz_below(200) : -1;
		input = malloc(b.len ? b.len : 1);
		memcpy(input, b.s, b.len);
		q = cy_parse(input, b.len, arena_alloc, &arena, &err);
		if (q == NULL)
		{
			check_error(&err, &b, input, round);
			if (kind == 2 && err.code != CY_ERR_NOMEM)
			{
				fprintf(stderr, "error %d at %d:%d '%s': %s\n", err.code, err.line,
						err.column, err.token, err.message);
				die("a generated query was rejected", &b, round);
			}
			rejected++;
		}
		else
		{
			cy_dump(q, dump, sizeof(dump));
			parsed++;
		}
		free(input);
		arena_reset(&arena);
	}
	free(arena.blocks);
	printf("fuzz_cypher: %llu inputs, %llu parsed, %llu rejected, 0 failed\n",
		   (unsigned long long) iterations, (unsigned long long) parsed,
		   (unsigned long long) rejected);
	return 0;
}
