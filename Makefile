# RuVector: PGXS build.
#
# Targets: all install installcheck prove_installcheck unit fuzz bench-kernels
#
# Sources are picked up by directory: every src/<subsystem>/*.c goes into the
# shared library.  Pure-C modules (kernels, codecs, parsers) are also linked
# into the Check unit tests without a server; they are the files listed in
# PURE_SRCS and must not include postgres.h.

EXTENSION = ruvector
EXTVERSION = 0.2.0

MODULE_big = ruvector
SRCS = $(sort $(wildcard src/*.c src/*/*.c))
OBJS = $(SRCS:.c=.o)

# The install script is assembled from one fragment per subsystem, in name order
# (roles first, types before the operators that use them, index methods after
# operator classes, the privilege check last).
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))
# The upgrade from the released 0.1.0 (sql/ruvector--0.1.0.sql, frozen) is
# assembled the same way: the roles, one fragment per subsystem's change, the
# parts that are wholly new in 0.2.0 (run as they are, not copied), then the
# same privilege check as a fresh install, so both end with equal grants.
NEW_PARTS_0_2_0 = sql/parts/52_hnsw_filter.sql sql/parts/75_graph_acl.sql sql/parts/82_tier_worker.sql sql/parts/85_integrity.sql sql/parts/86_io.sql sql/parts/87_shard.sql sql/parts/88_learning.sql sql/parts/90_audit.sql
UPDATE_PARTS = sql/parts/00_roles.sql $(sort $(wildcard sql/updates/0.1.0--0.2.0/*.sql)) \
	$(NEW_PARTS_0_2_0) sql/parts/99_privileges.sql
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql
DATA = sql/$(EXTENSION)--0.1.0.sql

REGRESS = $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
# Results go to a directory the test user can write (test/run uses test/out).
REGRESS_OUTDIR ?= .
REGRESS_OPTS = --inputdir=test --outputdir=$(REGRESS_OUTDIR) --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src -I$(libpq_srcdir)
# -fno-math-errno lets sqrtf inline; we do not rely on errno from libm.
PG_CFLAGS = -std=gnu11 -fno-math-errno -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# -MMD -MP: each object records the headers it includes (src/*/*.d, read
# below), so changing a struct in a header rebuilds every file that uses it.
# In CFLAGS, not CPPFLAGS: the JIT bitcode rule would overwrite the .d files.
PG_CFLAGS += -MMD -MP
ifdef WERROR
PG_CFLAGS += -Werror
endif
SHLIB_LINK = -lm -lsodium -luring
# libpq: src/shard pings shard servers, creates the shard tables on them and
# reads them directly (shard_direct.c).
SHLIB_LINK_INTERNAL = $(libpq)

# Before PGXS: its clean rule tests ifdef EXTRA_CLEAN when it is included
# (later += still add to the list, which is expanded when clean runs).
EXTRA_CLEAN = test/unit/run_unit test/unit/fuzz_parsers test/unit/pure test/unit/*.d bench/bench_kernels bench/bench_integrity bench/bench_gnn bench/hnswlib/hnswlib_bench \
	$(SRCS:.c=.d)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
-include $(SRCS:.c=.d)

# Per-ISA kernel files: compiled with the instruction set they target and only
# ever called after the cpuid check in src/distance/distance.c.
AVX2_FLAGS = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vpopcntdq -mfma -mf16c
%_avx2.o: CFLAGS += $(AVX2_FLAGS)
%_avx512.o: CFLAGS += $(AVX512_FLAGS)
# The same for the LLVM bitcode PGXS emits for JIT inlining.
%_avx2.bc: BITCODE_CFLAGS += $(AVX2_FLAGS)
%_avx512.bc: BITCODE_CFLAGS += $(AVX512_FLAGS)

# TAP tests (PostgreSQL::Test::Cluster): each starts its own cluster from the
# installed binaries, so they run after `make install`, like installcheck.
PROVE_TESTS ?= test/t/*.pl
.PHONY: prove_installcheck
TAP_OUTDIR ?= $(CURDIR)
prove_installcheck:
	rm -rf $(TAP_OUTDIR)/tmp_check
	mkdir -p $(TAP_OUTDIR)/tmp_check
	cd $(srcdir) && TESTDIR='$(TAP_OUTDIR)' PATH="$(bindir):$$PATH" PGPORT='6$(DEF_PGPORT)' \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
		$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) $(PROVE_TESTS)

# (the Makefile too: it lists the parts the upgrade runs)
sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) Makefile
	cat $(SQL_PARTS) > $@
sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql: $(UPDATE_PARTS) Makefile
	( echo '\\echo Use "ALTER EXTENSION ruvector UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \\quit'; cat $(UPDATE_PARTS) ) > $@

all: $(DATA_built)

# ---------------------------------------------------------------------------
# Pure-C unit tests (Check) and the parser fuzzer: no server needed.
# ---------------------------------------------------------------------------
PURE_SRCS = $(sort $(wildcard src/simd/*.c src/distance/*.c src/quant/*.c src/types/*_parse.c src/integrity/ig*.c src/audit/*_codec.c src/gnn/gnn_*.c))
UNIT_SRCS = test/unit/run_unit.c $(sort $(wildcard test/unit/test_*.c))
UNIT_CFLAGS = -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Isrc -DRV_PURE_ASSERTS $(if $(WERROR),-Werror) -MMD -MP \
	$(shell pkg-config --cflags check)
UNIT_LIBS = $(shell pkg-config --libs check) -lm -lpthread -lsodium

test/unit/pure/%_avx2.o: src/%_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(AVX2_FLAGS) -c $< -o $@
test/unit/pure/%_avx512.o: src/%_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(AVX512_FLAGS) -c $< -o $@
test/unit/pure/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -c $< -o $@

PURE_OBJS = $(patsubst src/%.c,test/unit/pure/%.o,$(PURE_SRCS))
# Header dependencies of the pure objects (-MMD), so editing a header rebuilds them.
-include $(PURE_OBJS:.o=.d)

test/unit/run_unit: $(UNIT_SRCS) test/unit/unit.h $(PURE_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS) $(PURE_OBJS) $(UNIT_LIBS)

# The parsers are rebuilt with the sanitizers so an overread is a crash, not luck.
PARSE_SRCS = $(sort $(wildcard src/types/*_parse.c))
PARSE_HDRS = $(sort $(wildcard src/types/*_parse.h))
test/unit/fuzz_parsers: test/unit/fuzz_parsers.c $(PARSE_SRCS) $(PARSE_HDRS)
	$(CC) $(UNIT_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o $@ $< $(PARSE_SRCS) -lm

# The kernels benchmark links the pure objects but the audit codec's (libsodium);
# := so that the Cypher objects test/unit/cypher.mk adds later stay out.
BENCH_KERNEL_OBJS := $(filter-out test/unit/pure/audit/%,$(PURE_OBJS))
bench/bench_kernels: bench/bench_kernels.c $(BENCH_KERNEL_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(BENCH_KERNEL_OBJS) -lm

.PHONY: unit fuzz bench-kernels
unit: test/unit/run_unit
	./test/unit/run_unit

FUZZ_ITERATIONS ?= 1000000
fuzz: test/unit/fuzz_parsers
	./test/unit/fuzz_parsers $(FUZZ_ITERATIONS)
include test/unit/cypher.mk

bench-kernels: bench/bench_kernels
	./bench/bench_kernels

include bench/bench.mk

IG_PURE_OBJS = $(filter test/unit/pure/integrity/%,$(PURE_OBJS))
bench/bench_integrity: bench/bench_integrity.c $(IG_PURE_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(IG_PURE_OBJS) -lm

.PHONY: bench-integrity
bench-integrity: bench/bench_integrity
	./bench/bench_integrity

# The extension built with ASan/UBSan, under pg_regress and the TAP files most
# likely to find memory errors (test/asan.sh says which and why); as root.
.PHONY: asan-check
asan-check:
	RV_PGBIN='$(bindir)' PG_CONFIG='$(PG_CONFIG)' $(srcdir)/test/asan.sh $(ASAN_TAP)

GNN_PURE_OBJS = $(filter test/unit/pure/gnn/% test/unit/pure/distance/% test/unit/pure/simd/% test/unit/pure/quant/% test/unit/pure/integrity/igmincut.o,$(PURE_OBJS))
bench/bench_gnn: bench/bench_gnn.c $(GNN_PURE_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(GNN_PURE_OBJS) -lm

.PHONY: bench-gnn
bench-gnn: bench/bench_gnn
	./bench/bench_gnn
