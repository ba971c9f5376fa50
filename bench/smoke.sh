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

# --keep-index: a first run builds the index and leaves it, a second uses
# it without a build step, a third with other options rebuilds it
keep() { # expect, then driver options
	expect=$1
	shift
	k="$out-keep"
	"$dir/ruvector-bench" --out "$k" --no-progress --synthetic n=2000,dim=8,queries=20 \
		--table rvb_smoke_keep --reuse --keep-index --ef 10 --k 10 --concurrency 1 \
		--filters none --rerank none --inserts 0 --bulk 50 --min-seconds 0 --warmup 5 \
		--ruvector-dsn "${BENCH_RUVECTOR_DSN:-dbname=rvbench_ruvector}" \
		--pgvector-dsn "${BENCH_PGVECTOR_DSN:-dbname=rvbench_pgvector}" \
		"$@" > "$k.stdout" || { cat "$k.stdout"; exit 1; }
	"$dir/check_json.sh" "$k/results.json" >/dev/null
	python3 - "$k/results.json" "$expect" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
expect = sys.argv[2]
for t in doc["targets"]:
    if not t["ran"]:
        continue
    name = t["name"]
    builds = [s for s in doc["steps"] if s["target"] == name and s["step"] == "build"]
    kept = [n for n in doc["notes"] if n.startswith(name + ": kept the index")]
    rebuilt = [n for n in doc["notes"] if n.startswith(name + ": the index") and "rebuilt" in n]
    got = "kept" if kept and not builds else "rebuilt" if rebuilt and builds else \
        "built" if builds and not kept else "inconsistent"
    if got != expect:
        sys.exit("--keep-index: %s %s, expected %s" % (name, got, expect))
    print("--keep-index: %s %s" % (name, got))
PY
}
keep built --index hnsw:m=8:efc=16
keep kept --index hnsw:m=8:efc=16
keep rebuilt --index hnsw:m=8:efc=20
