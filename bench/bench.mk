# bench/bench.mk: ruvector-bench, the benchmark driver, and its checks.
#
# Included at the end of the top-level Makefile (after PGXS, so PG_CONFIG
# and CC are set).  Targets:
#   make bench        build the driver and run the default configuration
#                     (glove-100 cosine when ../shared/data has it, else a
#                     synthetic set), RuVector side by side with pgvector;
#                     under 10 minutes on 2 cores
#   make bench-smoke  every step on a tiny synthetic set, then check that the
#                     JSON is complete (CI; the numbers are not asserted)
#   make bench-check  the driver's self-checks, no server needed
# Connection: PGHOST/PGPORT/PGUSER (make variables or environment), or set
# BENCH_RUVECTOR_DSN / BENCH_PGVECTOR_DSN (BENCH_PGVECTOR_DSN=none: RuVector
# alone).  Extra driver options: BENCH_ARGS="--k 10 ...".

BENCH_DIR = bench
BENCH_SRCS = $(addprefix $(BENCH_DIR)/,rvb_main.c rvb_data.c rvb_stats.c \
	rvb_json.c rvb_progress.c rvb_db.c rvb_query.c rvb_report.c)
BENCH_PURE_SRCS = $(addprefix $(BENCH_DIR)/,rvb_data.c rvb_stats.c rvb_json.c \
	rvb_progress.c)
BENCH_HDRS = $(BENCH_DIR)/rvb.h $(BENCH_DIR)/rvb_pg.h
BENCH_CFLAGS = -O2 -g -std=gnu11 -pthread -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers $(if $(WERROR),-Werror) \
	-I$(shell $(PG_CONFIG) --includedir)
BENCH_LIBS = -L$(shell $(PG_CONFIG) --libdir) -lpq -lpthread -lm

BENCH_CONN = $(strip $(if $(PGHOST),host=$(PGHOST)) $(if $(PGPORT),port=$(PGPORT)) \
	$(if $(PGUSER),user=$(PGUSER)))
BENCH_RUVECTOR_DSN ?= $(BENCH_CONN) dbname=rvbench_ruvector
BENCH_PGVECTOR_DSN ?= $(BENCH_CONN) dbname=rvbench_pgvector
BENCH_DATA ?= ../shared/data/glove-100

# The default configuration: the seed's index settings on glove-100 (100k x
# 100-d, cosine), sized to finish in under 10 minutes on 2 cores with both
# extensions: the first 200 queries (50 for filtered runs and 30 for exact
# search, which are slow), a shorter sweep, short inserts.  RESULTS.md runs use all queries; the full seed grid is
# bench/run_spec.sh.
ifneq ($(wildcard $(BENCH_DATA)/base.fvecs),)
BENCH_DEFAULT = --data $(BENCH_DATA) --metric cosine
else
BENCH_DEFAULT = --synthetic n=100000,dim=128,queries=1000 --metric l2
endif
BENCH_DEFAULT += --fresh --index exact,hnsw:m=16:efc=64,ivfflat --k 10,100 \
	--concurrency 1,8,32 --queries 200 --filter-queries 50 --exact-queries 30 \
	--ef 10,20,40,80,200,400 --probes 1,2,4,8,16,32 \
	--filter-ef 40,200 --filter-probes 4,32 --min-seconds 0.3 \
	--inserts 200 --bulk 1000

# Both use --fresh: the benchmark databases get the extensions as installed
# now (a development build keeps its version number while its script grows).
# The smoke run: every step, tiny, quick.
BENCH_SMOKE = --fresh --synthetic n=3000,dim=16,queries=40 --metric l2 --table rvb_smoke \
	--index exact,hnsw:m=8:efc=16,ivfflat,floor --ef 10,40 --probes 1,8 --rerank 1,2 \
	--k 10,100 --concurrency 1,2 --filters 10,1 --filter-ef 40 --filter-probes 8 \
	--exact-queries 20 --min-seconds 0 --warmup 10 --inserts 50 --bulk 200 \
	--label smoke

$(BENCH_DIR)/ruvector-bench: $(BENCH_SRCS) $(BENCH_HDRS)
	$(CC) $(BENCH_CFLAGS) -o $@ $(BENCH_SRCS) $(BENCH_LIBS)

$(BENCH_DIR)/ruvector-bench-check: $(BENCH_DIR)/rvb_check.c $(BENCH_PURE_SRCS) $(BENCH_DIR)/rvb.h
	$(CC) $(BENCH_CFLAGS) -o $@ $(BENCH_DIR)/rvb_check.c $(BENCH_PURE_SRCS) -lpthread -lm

.PHONY: bench bench-smoke bench-check
bench: $(BENCH_DIR)/ruvector-bench
	./$(BENCH_DIR)/ruvector-bench $(BENCH_DEFAULT) \
		--ruvector-dsn "$(BENCH_RUVECTOR_DSN)" --pgvector-dsn "$(BENCH_PGVECTOR_DSN)" \
		$(BENCH_ARGS)

bench-smoke: $(BENCH_DIR)/ruvector-bench
	BENCH_RUVECTOR_DSN="$(BENCH_RUVECTOR_DSN)" BENCH_PGVECTOR_DSN="$(BENCH_PGVECTOR_DSN)" \
		$(BENCH_DIR)/smoke.sh $(BENCH_SMOKE) $(BENCH_ARGS)

bench-check: $(BENCH_DIR)/ruvector-bench-check
	./$(BENCH_DIR)/ruvector-bench-check

# PGXS decides whether to clean EXTRA_CLEAN when it is included, before this
# file is read, so the driver's binaries get their own hook on clean.
.PHONY: bench-clean
bench-clean:
	rm -f $(BENCH_DIR)/ruvector-bench $(BENCH_DIR)/ruvector-bench-check
clean: bench-clean

# The hnswlib yardstick (Debian's libhnswlib-dev, header-only): the same graph
# built by standalone hnswlib, single-thread QPS at each recall.  Compiled
# for this CPU, as hnswlib's users build it.
HNSWLIB_BENCH = $(BENCH_DIR)/hnswlib/hnswlib_bench
$(HNSWLIB_BENCH): $(BENCH_DIR)/hnswlib/hnswlib_bench.cpp
	$(CXX) -O3 -march=native -std=c++17 -pthread -Wall -Wextra $(if $(WERROR),-Werror) -o $@ $<

.PHONY: bench-hnswlib
bench-hnswlib: $(HNSWLIB_BENCH)
	$(HNSWLIB_BENCH) --data $(BENCH_DATA) --metric cosine $(HNSWLIB_ARGS)
