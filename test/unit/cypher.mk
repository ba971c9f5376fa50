# cypher.mk — build rules of the Cypher parser's pure-C tests (src/graph),
# included from the Makefile.
#
#   make unit          also runs the Check suite test/unit/test_cypher.c
#   make fuzz          also runs the Cypher fuzzer (CYPHER_FUZZ_ITERATIONS
#                      inputs, default 200000) under ASan/UBSan
#   make fuzz-cypher   only the Cypher fuzzer
#
# The lexer, parser and AST are pure C (no postgres.h); the planner and
# executor beside them (cypher_plan.c, cypher_expr.c, cypher_exec.c) are not,
# so the pure files are named here.  They join the objects run_unit links,
# like the kernels and the vector parsers.

CYPHER_SRCS = src/graph/cypher_ast.c src/graph/cypher_lex.c src/graph/cypher_parse.c
CYPHER_HDRS = src/graph/cypher_ast.h src/graph/cypher_lex.h
CYPHER_UNIT_OBJS = $(patsubst src/%.c,test/unit/pure/%.o,$(CYPHER_SRCS))

# run_unit's recipe links $(PURE_OBJS); its prerequisites were fixed when the
# rule was read, so the objects are added to both.
PURE_OBJS += $(CYPHER_UNIT_OBJS)
test/unit/run_unit: $(CYPHER_UNIT_OBJS)
-include $(CYPHER_UNIT_OBJS:.o=.d)

test/unit/fuzz_cypher: test/unit/fuzz_cypher.c $(CYPHER_SRCS) $(CYPHER_HDRS)
	$(CC) $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o $@ $< $(CYPHER_SRCS) -lm

CYPHER_FUZZ_ITERATIONS ?= 200000
.PHONY: fuzz-cypher
fuzz-cypher: test/unit/fuzz_cypher
	./test/unit/fuzz_cypher $(CYPHER_FUZZ_ITERATIONS)
fuzz: fuzz-cypher

EXTRA_CLEAN += test/unit/fuzz_cypher
