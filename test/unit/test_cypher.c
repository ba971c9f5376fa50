/*
 * test_cypher.c — Check tests of the Cypher lexer and parser (src/graph).
 *
 * Accepted queries are compared through cy_dump's S-expression, so a test
 * states the whole tree it expects.  Rejected queries are checked for the
 * error class, the line and column (1-based, columns in characters), the
 * offending token's text and, where it matters, the message.  Every input is
 * copied into a heap block of exactly its length (no terminator: the parser
 * takes a length), so an ASan build catches any read past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/cypher_ast.h"
#include "unit.h"

/* A malloc arena: every block is remembered and freed in one go. */
typedef struct Arena
{
	void	  **blocks;
	size_t		n;
	size_t		cap;
	long		fail_after;		/* return NULL after this many blocks; -1 never */
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
	}
	p = calloc(1, size ? size : 1);
	a->blocks[a->n++] = p;
	return p;
}

static void
arena_free(Arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

typedef struct Result
{
	bool		ok;
	CyParseError err;
	char		dump[8192];
	CyQuery    *q;
} Result;

/* Parses text from an exact-length heap copy; the arena stays alive. */
static void
parse_in(Arena *a, const char *text, size_t len, Result *r)
{
	char	   *copy = malloc(len ? len : 1);

	memcpy(copy, text, len);
	r->q = cy_parse(copy, len, arena_alloc, a, &r->err);
	r->ok = (r->q != NULL);
	r->dump[0] = '\0';
	if (r->ok)
		cy_dump(r->q, r->dump, sizeof(r->dump));
	free(copy);
}

static void
parse(const char *text, Result *r)
{
	Arena		a = {.fail_after = -1};

	parse_in(&a, text, strlen(text), r);
	arena_free(&a);
	r->q = NULL;
}

/* Asserts text parses to the expected S-expression. */
#define ck_parse(text, expected) \
	do { \
		Result		r_; \
		parse((text), &r_); \
		ck_assert_msg(r_.ok, "%s: error %d at %d:%d '%s': %s", (text), r_.err.code, \
					  r_.err.line, r_.err.column, r_.err.token, r_.err.message); \
		ck_assert_str_eq(r_.dump, (expected)); \
	} while (0)

/* Asserts text fails with code at line:col on token tok ("" = end). */
#define ck_fail(text, code_, line_, col_, tok) \
	do { \
		Result		r_; \
		parse((text), &r_); \
		ck_assert_msg(!r_.ok, "%s: parsed as %s", (text), r_.dump); \
		ck_assert_int_eq(r_.err.code, (code_)); \
		ck_assert_int_eq(r_.err.line, (line_)); \
		ck_assert_int_eq(r_.err.column, (col_)); \
		ck_assert_str_eq(r_.err.token, (tok)); \
	} while (0)

static const char *
fail_message(const char *text)
{
	static Result r;

	parse(text, &r);
	ck_assert(!r.ok);
	return r.err.message;
}

/* ---------------------------------------------------------------------
 * Literals and the lexer
 * ---------------------------------------------------------------------
 */
START_TEST(test_numbers)
{
	ck_parse("RETURN 0, 42, 0x1F, 0o17, 9223372036854775807",
			 "(RETURN 0 42 31 15 9223372036854775807)");
	ck_parse("RETURN -9223372036854775808", "(RETURN -9223372036854775808)");
	ck_parse("RETURN 1.5, .5, 1e3, 2E-2, 1.5e+2",
			 "(RETURN 1.5f 0.5f 1000f 0.02f 150f)");
	/* a range is not a float: 1..3 */
	ck_parse("RETURN x[1..3]", "(RETURN (slice x 1 3))");
	ck_parse("RETURN - 5, -x, +3, --1", "(RETURN (neg 5) (neg x) (pos 3) (neg (neg 1)))");
	ck_fail("RETURN 9223372036854775808", CY_ERR_RANGE, 1, 8, "9223372036854775808");
	ck_fail("RETURN 99999999999999999999", CY_ERR_RANGE, 1, 8, "99999999999999999999");
	ck_fail("RETURN 0x8000000000000001", CY_ERR_RANGE, 1, 8, "0x8000000000000001");
	ck_fail("RETURN 1e999", CY_ERR_RANGE, 1, 8, "1e999");
	ck_fail("RETURN 12abc", CY_ERR_SYNTAX, 1, 8, "12abc");
	ck_fail("RETURN 0x", CY_ERR_SYNTAX, 1, 8, "0x");
	ck_fail("RETURN 0o8", CY_ERR_SYNTAX, 1, 8, "0o8");
}
END_TEST

START_TEST(test_strings)
{
	ck_parse("RETURN 'a', \"b\", ''", "(RETURN 'a' 'b' '')");
	ck_parse("RETURN 'it\\'s', \"say \\\"hi\\\"\", 'tab\\tnl\\n\\\\'",
			 "(RETURN 'it's' 'say \"hi\"' 'tab\tnl\n\\')");
	ck_parse("RETURN '\\u00e9\\U0001F600', '\\uD83D\\uDE00'",
			 "(RETURN '\xc3\xa9\xf0\x9f\x98\x80' '\xf0\x9f\x98\x80')");
	ck_parse("RETURN 'caf\xc3\xa9'", "(RETURN 'caf\xc3\xa9')");
	ck_fail("RETURN 'abc", CY_ERR_SYNTAX, 1, 8, "'");
	ck_fail("RETURN 'a\\qb'", CY_ERR_SYNTAX, 1, 10, "\\q");
	ck_fail("RETURN '\\u12'", CY_ERR_SYNTAX, 1, 9, "\\u");
	ck_fail("RETURN '\\u0000'", CY_ERR_SYNTAX, 1, 9, "\\u0000");
	ck_fail("RETURN '\\uD800x'", CY_ERR_SYNTAX, 1, 9, "\\uD800");
	ck_fail("RETURN '\\U00110000'", CY_ERR_SYNTAX, 1, 9, "\\U00110000");
	ck_assert_str_eq(fail_message("RETURN 'abc"), "unterminated string literal");
}
END_TEST

START_TEST(test_identifiers)
{
	ck_parse("MATCH (`weird name`:`Label 1`) RETURN `weird name`.`a``b`",
			 "(MATCH (path (node weird name:Label 1))) (RETURN (. weird name a`b))");
	/* keywords as property keys, labels and map keys */
	ck_parse("MATCH (n:Match) RETURN n.count, n.end, {end: 1, `return`: 2}",
			 "(MATCH (path (node n:Match))) (RETURN (. n count) (. n end) (map end:1 return:2))");
	/* keywords are case-insensitive; identifiers are not folded */
	ck_parse("match (N) where N.x = 1 return N", "(MATCH (path (node N)) where (= (. N x) 1)) (RETURN N)");
	/* non-ASCII identifiers */
	ck_parse("MATCH (\xc3\xa9t\xc3\xa9) RETURN \xc3\xa9t\xc3\xa9",
			 "(MATCH (path (node \xc3\xa9t\xc3\xa9))) (RETURN \xc3\xa9t\xc3\xa9)");
	ck_fail("MATCH (``) RETURN 1", CY_ERR_SYNTAX, 1, 8, "``");
	ck_fail("MATCH (`abc) RETURN 1", CY_ERR_SYNTAX, 1, 8, "`");
	/* a reserved word is not a variable */
	ck_fail("MATCH (match) RETURN 1", CY_ERR_SYNTAX, 1, 8, "match");
	ck_fail("RETURN where", CY_ERR_SYNTAX, 1, 8, "where");
}
END_TEST

START_TEST(test_params_and_comments)
{
	ck_parse("MATCH (n {id: $id}) WHERE n.x IN $list RETURN $0, $`odd name`",
			 "(MATCH (path (node n (map id:$id))) where (in (. n x) $list)) (RETURN $0 $odd name)");
	ck_parse("MATCH (n $props) RETURN n", "(MATCH (path (node n $props))) (RETURN n)");
	ck_parse("// leading comment\nMATCH (n) /* inline\n comment */ RETURN n // trailing",
			 "(MATCH (path (node n))) (RETURN n)");
	ck_fail("RETURN $", CY_ERR_SYNTAX, 1, 8, "$");
	ck_fail("RETURN 1 /* never closed", CY_ERR_SYNTAX, 1, 10, "/*");
	ck_fail("RETURN 1 # 2", CY_ERR_SYNTAX, 1, 10, "#");
}
END_TEST

/* ---------------------------------------------------------------------
 * Expressions
 * ---------------------------------------------------------------------
 */
START_TEST(test_precedence)
{
	ck_parse("RETURN 1 + 2 * 3 - 4 / 2 % 3", "(RETURN (- (+ 1 (* 2 3)) (% (/ 4 2) 3)))");
	ck_parse("RETURN 2 ^ 3 ^ 2, -2 ^ 2", "(RETURN (^ (^ 2 3) 2) (^ (neg 2) 2))");
	ck_parse("RETURN a OR b XOR c AND NOT d",
			 "(RETURN (or a (xor b (and c (not d)))))");
	ck_parse("RETURN NOT a = b, NOT NOT x",
			 "(RETURN (not (= a b)) (not (not x)))");
	/* comparisons chain */
	ck_parse("RETURN 1 < x <= 3", "(RETURN (and (< 1 x) (<= x 3)))");
	ck_parse("RETURN a <> b, a != b, a >= b", "(RETURN (<> a b) (<> a b) (>= a b))");
	/* string and list predicates bind tighter than comparison */
	ck_parse("RETURN n.name STARTS WITH 'A' = true",
			 "(RETURN (= (starts (. n name) 'A') true))");
	ck_parse("RETURN s ENDS WITH 'z', s CONTAINS 'q', s =~ 'a.*', x IN [1, 2]",
			 "(RETURN (ends s 'z') (contains s 'q') (=~ s 'a.*') (in x (list 1 2)))");
	ck_parse("RETURN x IS NULL, x IS NOT NULL AND y IS NULL",
			 "(RETURN (isnull x) (and (notnull x) (isnull y)))");
	ck_parse("RETURN 1 + 2 IN [3]", "(RETURN (in (+ 1 2) (list 3)))");
	ck_parse("RETURN (1 + 2) * 3", "(RETURN (* (+ 1 2) 3))");
}
END_TEST

START_TEST(test_postfix)
{
	ck_parse("RETURN n.a.b, l[0], l[1..2], l[..-1], l[2..], m['k']",
			 "(RETURN (. (. n a) b) (index l 0) (slice l 1 2) (slice l _ (neg 1)) (slice l 2 _) (index m 'k'))");
	ck_parse("MATCH (n) WHERE n:Person:Admin RETURN n",
			 "(MATCH (path (node n)) where (labels n:Person:Admin)) (RETURN n)");
	ck_parse("RETURN n{.name, .*, age: n.born + 1, x}",
			 "(RETURN (proj n name:_ *:_ age:(+ (. n born) 1) x:x))");
}
END_TEST

START_TEST(test_atoms)
{
	ck_parse("RETURN true, FALSE, null, [], {}, [1, 'a', [2]], {a: 1, b: {c: null}}",
			 "(RETURN true false null (list) (map) (list 1 'a' (list 2)) (map a:1 b:(map c:null)))");
	ck_parse("RETURN CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'b' ELSE 'c' END",
			 "(RETURN (case x 1 'a' 2 'b' else 'c'))");
	ck_parse("RETURN CASE WHEN x > 1 THEN 'big' END",
			 "(RETURN (case _ (> x 1) 'big' else _))");
	ck_parse("RETURN [x IN range(1, 10) WHERE x % 2 = 0 | x * x], [y IN l | y], [z IN l WHERE z]",
			 "(RETURN (comp x (call range 1 10) (= (% x 2) 0) (* x x)) (comp y l _ y) (comp z l z _))");
	ck_parse("RETURN all(x IN l WHERE x > 0), any(x IN l WHERE x), none(x IN l WHERE x), single(x IN l WHERE x)",
			 "(RETURN (all x l (> x 0)) (any x l x) (none x l x) (single x l x))");
	ck_parse("RETURN count(*), count(DISTINCT n.x), toLower('A'), vector.distance(a, $q), rand()",
			 "(RETURN (call count *) (call count distinct (. n x)) (call toLower 'A') (call vector.distance a $q) (call rand))");
	ck_parse("RETURN exists(n.name)", "(RETURN (call exists (. n name)))");
	ck_parse("RETURN [(a)-[:R]->(b) WHERE b.x > 1 | b.name], [(a)--() | 1]",
			 "(RETURN (patcomp (path (node a) -[_:R]-> (node b)) (> (. b x) 1) (. b name)) (patcomp (path (node a) -[_]- (node _)) _ 1))");
	ck_fail("RETURN [(a)-->(b)]", CY_ERR_SYNTAX, 1, 18, "]");
	ck_fail("RETURN CASE END", CY_ERR_SYNTAX, 1, 13, "END");
	ck_fail("RETURN [1, 2", CY_ERR_SYNTAX, 1, 13, "");
	ck_fail("RETURN {a 1}", CY_ERR_SYNTAX, 1, 11, "1");
	ck_fail("RETURN f(1,)", CY_ERR_SYNTAX, 1, 12, ")");
}
END_TEST

START_TEST(test_pattern_predicates)
{
	/* '(' starts a pattern only when a relationship follows the node */
	ck_parse("MATCH (a) WHERE (a)-[:KNOWS]->(:Person) RETURN a",
			 "(MATCH (path (node a)) where (path (node a) -[_:KNOWS]-> (node _:Person))) (RETURN a)");
	ck_parse("MATCH (a) WHERE NOT (a)<--() RETURN a",
			 "(MATCH (path (node a)) where (not (path (node a) <-[_]- (node _)))) (RETURN a)");
	ck_parse("RETURN (a) - 1, (a) < -1", "(RETURN (- a 1) (< a (neg 1)))");
	ck_parse("RETURN ($p) - -7, ({k: 1}) - [x IN l | x]",
			 "(RETURN (- $p (neg 7)) (- (map k:1) (comp x l _ x)))");
	ck_parse("MATCH (a) WHERE exists((a)--()) RETURN a",
			 "(MATCH (path (node a)) where (call exists (path (node a) -[_]- (node _)))) (RETURN a)");
}
END_TEST

/* ---------------------------------------------------------------------
 * Patterns and clauses
 * ---------------------------------------------------------------------
 */
START_TEST(test_patterns)
{
	ck_parse("MATCH (a:Person {name: 'x'})-[r:KNOWS]->(b), (c) RETURN a",
			 "(MATCH (path (node a:Person (map name:'x')) -[r:KNOWS]-> (node b)) (path (node c))) (RETURN a)");
	ck_parse("MATCH (a)<-[r]-(b)-[]-(c)<-->(d)--(e)-->(f)<--(g) RETURN a",
			 "(MATCH (path (node a) <-[r]- (node b) -[_]- (node c) -[_]- (node d) -[_]- (node e) -[_]-> (node f) <-[_]- (node g))) (RETURN a)");
	ck_parse("MATCH ()-[:A|B|:C {w: 1}]->() RETURN 1",
			 "(MATCH (path (node _) -[_:A|B|C (map w:1)]-> (node _))) (RETURN 1)");
	ck_parse("MATCH p = (a)-[*]->(b) RETURN p",
			 "(MATCH (path p= (node a) -[_*1..]-> (node b))) (RETURN p)");
	ck_parse("MATCH (a)-[r:R*2]->(b), (a)-[*1..3]-(c), (a)-[*..4]->(d), (a)-[*0..]->(e) RETURN 1",
			 "(MATCH (path (node a) -[r:R*2..2]-> (node b)) (path (node a) -[_*1..3]- (node c)) (path (node a) -[_*1..4]-> (node d)) (path (node a) -[_*0..]-> (node e))) (RETURN 1)");
	ck_parse("MATCH p = shortestPath((a)-[:R*..5]-(b)) RETURN p",
			 "(MATCH (path p= shortest (node a) -[_:R*1..5]- (node b))) (RETURN p)");
	ck_parse("MATCH p = allShortestPaths((a)-[*]->(b)) RETURN p",
			 "(MATCH (path p= allshortest (node a) -[_*1..]-> (node b))) (RETURN p)");
	ck_parse("MATCH (n:A:B) RETURN n", "(MATCH (path (node n:A:B))) (RETURN n)");
	ck_fail("MATCH (a)-[*3..1]->(b) RETURN a", CY_ERR_SYNTAX, 1, 16, "1");
	ck_fail("MATCH (a)-[*2000000]->(b) RETURN a", CY_ERR_RANGE, 1, 13, "2000000");
	ck_fail("MATCH p = shortestPath((a)-->(b)-->(c)) RETURN p", CY_ERR_SYNTAX, 1, 11, "shortestPath");
	ck_fail("MATCH (a)-[r->(b) RETURN a", CY_ERR_SYNTAX, 1, 13, "-");
	ck_fail("MATCH (a)->(b) RETURN a", CY_ERR_SYNTAX, 1, 11, ">");
	ck_fail("MATCH a RETURN a", CY_ERR_SYNTAX, 1, 7, "a");
	ck_fail("MATCH (a RETURN a", CY_ERR_SYNTAX, 1, 10, "RETURN");
}
END_TEST

START_TEST(test_reading_clauses)
{
	ck_parse("OPTIONAL MATCH (a)-->(b) WHERE b.x > 1 RETURN b",
			 "(optional MATCH (path (node a) -[_]-> (node b)) where (> (. b x) 1)) (RETURN b)");
	ck_parse("UNWIND [1, 2] AS x RETURN x", "(UNWIND (list 1 2) as x) (RETURN x)");
	ck_parse("MATCH (n) WITH n.x AS x, count(*) AS c ORDER BY c DESC SKIP 1 LIMIT 2 WHERE c > 1 RETURN x",
			 "(MATCH (path (node n))) (WITH (. n x) as x (call count *) as c order c desc skip 1 limit 2 where (> c 1)) (RETURN x)");
	ck_parse("MATCH (n) RETURN DISTINCT n.a AS a, n.b ORDER BY a ASC, n.b DESCENDING LIMIT $k",
			 "(MATCH (path (node n))) (RETURN distinct (. n a) as a (. n b) order a, (. n b) desc limit $k)");
	ck_parse("MATCH (n) RETURN *", "(MATCH (path (node n))) (RETURN *)");
	ck_parse("MATCH (n) WITH *, 1 AS one RETURN one", "(MATCH (path (node n))) (WITH * 1 as one) (RETURN one)");
	ck_parse("RETURN 1 AS a UNION RETURN 2 AS a UNION ALL RETURN 3 AS a;",
			 "(RETURN 1 as a) UNION (RETURN 2 as a) UNION ALL (RETURN 3 as a)");
}
END_TEST

START_TEST(test_updating_clauses)
{
	ck_parse("CREATE (a:P {n: 1})-[:R {w: 2}]->(b:P), (c)",
			 "(CREATE (path (node a:P (map n:1)) -[_:R (map w:2)]-> (node b:P)) (path (node c)))");
	ck_parse("MATCH (n) SET n.x = 1, n = {a: 1}, n += $m, n:L:M",
			 "(MATCH (path (node n))) (SET (n.x = 1) (n = (map a:1)) (n += $m) (n:L:M))");
	ck_parse("MATCH (n) REMOVE n.x, n:L", "(MATCH (path (node n))) (REMOVE (n.x) (n:L))");
	ck_parse("MATCH (n)-[r]->() DELETE r, n", "(MATCH (path (node n) -[r]-> (node _))) (DELETE r n)");
	ck_parse("MATCH (n) DETACH DELETE n", "(MATCH (path (node n))) (detach DELETE n)");
	ck_parse("MERGE (n:P {id: 1}) ON CREATE SET n.c = 1 ON MATCH SET n.m = 2 ON CREATE SET n.d = 3 RETURN n",
			 "(MERGE (path (node n:P (map id:1))) oncreate (n.c = 1) (n.d = 3) onmatch (n.m = 2)) (RETURN n)");
	ck_parse("MATCH (a), (b) MERGE (a)-[r:KNOWS]->(b)",
			 "(MATCH (path (node a)) (path (node b))) (MERGE (path (node a) -[r:KNOWS]-> (node b)))");
	ck_fail("MATCH (n) SET n.a.b = 1", CY_ERR_SYNTAX, 1, 18, ".");
	ck_fail("MATCH (n) SET n", CY_ERR_SYNTAX, 1, 16, "");
	ck_fail("MATCH (n) REMOVE n = 1", CY_ERR_SYNTAX, 1, 20, "=");
	ck_fail("MERGE (n) ON DELETE SET n.a = 1", CY_ERR_SYNTAX, 1, 14, "DELETE");
}
END_TEST

START_TEST(test_query_shape)
{
	/* a reading query must end with RETURN; RETURN must be last */
	ck_fail("MATCH (n)", CY_ERR_SYNTAX, 1, 10, "");
	ck_fail("MATCH (n) WITH n", CY_ERR_SYNTAX, 1, 17, "");
	ck_fail("RETURN 1 MATCH (n) RETURN n", CY_ERR_SYNTAX, 1, 10, "MATCH");
	ck_fail("", CY_ERR_SYNTAX, 1, 1, "");
	ck_fail("   \n  ", CY_ERR_SYNTAX, 2, 3, "");
	ck_fail("RETURN 1;;", CY_ERR_SYNTAX, 1, 10, ";");
	ck_fail("RETURN 1 UNION", CY_ERR_SYNTAX, 1, 15, "");
	ck_fail("CALL db.labels()", CY_ERR_SYNTAX, 1, 1, "CALL");
	/* updating queries need no RETURN */
	ck_parse("CREATE (n)", "(CREATE (path (node n)))");
	ck_parse("MATCH (n) DELETE n", "(MATCH (path (node n))) (DELETE n)");
}
END_TEST

/* ---------------------------------------------------------------------
 * Error positions
 * ---------------------------------------------------------------------
 */
START_TEST(test_error_positions)
{
	Result		r;

	/* line and column of the offending token, across lines */
	ck_fail("MATCH (n)\nWHERE n.x = \n  RETRN n", CY_ERR_SYNTAX, 3, 9, "n");
	ck_fail("MATCH (n)\nRETRN n", CY_ERR_SYNTAX, 2, 1, "RETRN");
	ck_fail("MATCH (n)\r\n  WHERE n.x >\r\n", CY_ERR_SYNTAX, 3, 1, "");
	/* columns count characters, not bytes */
	ck_fail("RETURN '\xc3\xa9\xc3\xa9', @", CY_ERR_SYNTAX, 1, 14, "@");
	ck_fail("RETURN \xe2\x82\xac\xe2\x82\xac + ]", CY_ERR_SYNTAX, 1, 13, "]");
	/* the message says what was expected */
	parse("MATCH (n:Person RETURN n", &r);
	ck_assert(!r.ok);
	ck_assert_str_eq(r.err.message, "expected ')' to close the node pattern");
	ck_assert_int_eq(r.err.offset, 16);
	parse("MATCH (n) RETURN n.", &r);
	ck_assert_str_eq(r.err.message, "expected a property key");
	ck_assert(r.err.at_end);
	ck_assert_int_eq(r.err.offset, 19);
	/* a long token is cut, and never inside a UTF-8 character */
	{
		char		q[200] = "RETURN 1 ";

		for (int i = 0; i < 40; i++)
			strcat(q, "\xc3\xa9");
		strcat(q, " x");
		parse(q, &r);
		ck_assert(!r.ok);
		ck_assert_int_lt(strlen(r.err.token), CY_ERROR_TOKEN_LEN);
		ck_assert_int_eq(strlen(r.err.token) % 2, 0);
	}
	/* a stray control byte is shown escaped */
	{
		const char	q[] = {'R', 'E', 'T', 'U', 'R', 'N', ' ', '1', ' ', 0x01};

		Arena		a = {.fail_after = -1};

		parse_in(&a, q, sizeof(q), &r);
		ck_assert(!r.ok);
		ck_assert_str_eq(r.err.token, "\\x01");
		ck_assert_int_eq(r.err.column, 10);
		arena_free(&a);
	}
}
END_TEST

START_TEST(test_nul_bytes)
{
	Result		r;
	Arena		a = {.fail_after = -1};
	const char	q1[] = {'R', 'E', 'T', 'U', 'R', 'N', ' ', '1', 0, '2'};
	const char	q2[] = {'R', 'E', 'T', 'U', 'R', 'N', ' ', '\'', 'a', 0, 'b', '\''};

	parse_in(&a, q1, sizeof(q1), &r);
	ck_assert(!r.ok);
	ck_assert_int_eq(r.err.offset, 8);
	parse_in(&a, q2, sizeof(q2), &r);
	ck_assert(!r.ok);
	ck_assert_int_eq(r.err.offset, 9);
	arena_free(&a);
}
END_TEST

/* ---------------------------------------------------------------------
 * Limits
 * ---------------------------------------------------------------------
 */
static char *
repeat_wrap(const char *head, const char *open, int n, const char *mid, const char *close)
{
	size_t		size = strlen(head) + (strlen(open) + strlen(close)) * (size_t) n + strlen(mid) + 1;
	char	   *s = malloc(size);

	strcpy(s, head);
	for (int i = 0; i < n; i++)
		strcat(s, open);
	strcat(s, mid);
	for (int i = 0; i < n; i++)
		strcat(s, close);
	return s;
}

START_TEST(test_depth_limits)
{
	Result		r;
	char	   *q;

	q = repeat_wrap("RETURN ", "(", CY_MAX_DEPTH - 5, "1", ")");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
	q = repeat_wrap("RETURN ", "(", CY_MAX_DEPTH + 1, "1", ")");
	parse(q, &r);
	ck_assert(!r.ok);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	q = repeat_wrap("RETURN ", "[", 100000, "1", "]");
	parse(q, &r);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	q = repeat_wrap("RETURN ", "{a:", 5000, "1", "}");
	parse(q, &r);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	/* long flat chains are fine up to the height limit, then refused */
	q = repeat_wrap("RETURN 1", "+1", CY_MAX_HEIGHT - 2, "", "");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
	/* AND, OR and XOR chains are balanced: any length, logarithmic height */
	q = repeat_wrap("RETURN 1", " OR x", 100000, "", "");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
	q = repeat_wrap("MATCH (n) WHERE n.a = 0", " AND n.a = 0", 3000, " RETURN n", "");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
	/* 200 levels are 200 brackets of any kind */
	q = repeat_wrap("RETURN ", "[", CY_MAX_DEPTH, "1", "]");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
	q = repeat_wrap("RETURN ", "[", CY_MAX_DEPTH + 1, "1", "]");
	parse(q, &r);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	q = repeat_wrap("RETURN ", "(", CY_MAX_DEPTH, "1", ")");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
	q = repeat_wrap("RETURN ", "NOT ", 100000, "x", "");
	parse(q, &r);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	q = repeat_wrap("RETURN ", "-", 100000, "1", "");
	parse(q, &r);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	q = repeat_wrap("RETURN x", ".a", 100000, "", "");
	parse(q, &r);
	ck_assert_int_eq(r.err.code, CY_ERR_DEPTH);
	free(q);
	/* long but shallow lists are fine */
	q = repeat_wrap("RETURN [0", ",1", 100000, "]", "");
	parse(q, &r);
	ck_assert(r.ok);
	free(q);
}
END_TEST

/* Every allocation failure point is reported as CY_ERR_NOMEM, never a crash. */
START_TEST(test_out_of_memory)
{
	const char *q = "MATCH (a:P {x: [1, 2]})-[r:R*1..2]->(b) WHERE a.s STARTS WITH 'x' "
		"WITH a, count(*) AS c RETURN a{.x}, c ORDER BY c LIMIT 3";
	Arena		full = {.fail_after = -1};
	Result		r;
	size_t		needed;

	parse_in(&full, q, strlen(q), &r);
	ck_assert(r.ok);
	needed = full.n;
	arena_free(&full);
	for (size_t n = 0; n < needed; n++)
	{
		Arena		a = {.fail_after = (long) n};

		parse_in(&a, q, strlen(q), &r);
		ck_assert(!r.ok);
		ck_assert_int_eq(r.err.code, CY_ERR_NOMEM);
		arena_free(&a);
	}
}
END_TEST

START_TEST(test_helpers)
{
	int			line,
				col;
	Result		r;
	Arena		a = {.fail_after = -1};
	const char *q = "MATCH (n) RETURN n.a AS a, count(n) + 1, [x IN l | sum(x)], size(l)";

	cy_position("ab\ncd\xc3\xa9" "f", 8, 7, &line, &col);
	ck_assert_int_eq(line, 2);
	ck_assert_int_eq(col, 4);
	cy_position("abc", 3, 99, &line, &col);
	ck_assert_int_eq(col, 4);
	ck_assert(cy_is_aggregate("COUNT") && cy_is_aggregate("collect") &&
			  cy_is_aggregate("percentileCont") && !cy_is_aggregate("size"));
	parse_in(&a, q, strlen(q), &r);
	ck_assert(r.ok);
	{
		CyClause   *ret = r.q->parts[0]->clauses[1];

		ck_assert(!cy_expr_has_aggregate(ret->items[0]->expr));
		ck_assert(cy_expr_has_aggregate(ret->items[1]->expr));
		ck_assert(cy_expr_has_aggregate(ret->items[2]->expr));
		ck_assert(!cy_expr_has_aggregate(ret->items[3]->expr));
		/* default column names are the expression as written */
		ck_assert_str_eq(ret->items[1]->text, "count(n) + 1");
		ck_assert_str_eq(ret->items[0]->alias, "a");
		ck_assert_int_eq(ret->items[1]->expr->loc, 27);
		ck_assert_int_eq(ret->items[1]->expr->end, 39);
	}
	ck_assert(cy_name_eq("MaTcH", "match") && !cy_name_eq("match", "matc"));
	arena_free(&a);
}
END_TEST

Suite *
cypher_suite(void)
{
	Suite	   *s = suite_create("cypher_parse");
	TCase	   *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_identifiers);
	tcase_add_test(tc, test_params_and_comments);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_postfix);
	tcase_add_test(tc, test_atoms);
	tcase_add_test(tc, test_pattern_predicates);
	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_reading_clauses);
	tcase_add_test(tc, test_updating_clauses);
	tcase_add_test(tc, test_query_shape);
	tcase_add_test(tc, test_error_positions);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_depth_limits);
	tcase_add_test(tc, test_out_of_memory);
	tcase_add_test(tc, test_helpers);
	suite_add_tcase(s, tc);
	return s;
}
