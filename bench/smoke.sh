#!/bin/sh
# smoke.sh: run ruvector-bench on a tiny set and check that every step ran
# and the JSON is complete.  The figures are not judged, only their presence.
#
# usage: bench/smoke.sh DRIVER-OPTIONS...   (run from the repository root;
# BENCH_RUVECTOR_DSN / BENCH_PGVECTOR_DSN choose the databases)
set -eu

dir=$(dirname "$0")
mkdir -p "$dir/results"
out="$dir/results/smoke-$(date +%Y%m%d-%H%M%S)"
"$dir/ruvector-bench" --out "$out" --no-progress \
	--ruvector-dsn "${BENCH_RUVECTOR_DSN:-dbname=rvbench_ruvector}" \
	--pgvector-dsn "${BENCH_PGVECTOR_DSN:-dbname=rvbench_pgvector}" \
	"$@" > "$out.stdout" || { cat "$out.stdout"; exit 1; }
cat "$out.stdout"
"$dir/check_json.sh" "$out/results.json"
