#!/bin/sh
# run_spec.sh: the seed's benchmark grid, RuVector side by side with pgvector.
#
#   128-d synthetic clustered set (l2) and 768-d synthetic set (cosine) of N
#   rows, plus the real 768-d Cohere set (inner product, 900 rows);
#   exact search, HNSW m=16 with ef_construction 64 and 200 (ef_search
#   10..400), IVFFlat lists = sqrt(N) (probes 1..64); top-10 and top-100;
#   concurrency 1, 8, 32; filters at 10% and 1%.
#
# usage: bench/run_spec.sh [N]      (run from the repository root; N default
#        100000; the seed's sizes are 1M, 10M, 100M, which take hours)
# environment: BENCH_RUVECTOR_DSN, BENCH_PGVECTOR_DSN (default databases
#   rvbench_ruvector / rvbench_pgvector over PGHOST/PGPORT/PGUSER),
#   SPEC_DIMS (default "128 768"), SPEC_DATA (default ../shared/data),
#   SPEC_ARGS (more driver options, e.g. "--queries 500").
# Each run writes its own bench/results/<timestamp>/ and prints its tables.
set -eu

dir=$(dirname "$0")
n=${1:-100000}
data=${SPEC_DATA:-../shared/data}
rv=${BENCH_RUVECTOR_DSN:-dbname=rvbench_ruvector}
pg=${BENCH_PGVECTOR_DSN:-dbname=rvbench_pgvector}
grid="--index exact,hnsw:m=16:efc=64,hnsw:m=16:efc=200,ivfflat
	--ef 10,20,40,80,120,200,400 --probes 1,2,4,8,16,32,64
	--k 10,100 --concurrency 1,8,32 --filters 10,1"

[ -x "$dir/ruvector-bench" ] || { echo "build it first: make bench/ruvector-bench" >&2; exit 2; }

for d in ${SPEC_DIMS:-128 768}; do
	if [ "$d" -le 128 ]; then metric=l2; else metric=cosine; fi
	# shellcheck disable=SC2086
	"$dir/ruvector-bench" --synthetic "n=$n,dim=$d,queries=1000" --metric "$metric" \
		--ruvector-dsn "$rv" --pgvector-dsn "$pg" $grid \
		--label "seed spec: synthetic $n x $d $metric" ${SPEC_ARGS:-}
done

if [ -f "$data/cohere-768-1k/base.fvecs" ]; then
	# shellcheck disable=SC2086
	"$dir/ruvector-bench" --data "$data/cohere-768-1k" --metric ip \
		--ruvector-dsn "$rv" --pgvector-dsn "$pg" $grid --table rvb_cohere \
		--label "seed spec: cohere-768-1k ip" ${SPEC_ARGS:-}
fi
