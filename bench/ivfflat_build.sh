#!/bin/bash
# bench/ivfflat_build.sh - IVFFlat build time, RuVector beside pgvector
#
# Builds the same IVFFlat index in the RuVector and the pgvector database of
# one server, alternately in ABBA order (load drifts hit both sides), with
# the same maintenance_work_mem, and prints each build's time (psql \timing).
# The tables are those ruvector-bench loads (--table NAME; e.g. a run with
# --index exact --reuse); neither extension may be preloaded (bench/README.md).
# Hold the bench lock: flock /tmp/rv-bench.lock bench/ivfflat_build.sh ...
#
# usage: bench/ivfflat_build.sh PORT ROUNDS TABLE:OPCLASS:LISTS [...]
#   PGBIN (psql's directory), RV_DB, PG_DB, MWM (default 512MB) from the environment
#   e.g. bench/ivfflat_build.sh 5629 2 rvb_items:vector_cosine_ops:316 rvb768:vector_ip_ops:224
set -euo pipefail
port=$1 rounds=$2
shift 2
psql="${PGBIN:-/usr/lib/postgresql/15/bin}/psql"
rv=${RV_DB:-rvbench_ruvector} pg=${PG_DB:-rvbench_pgvector} mwm=${MWM:-512MB}

build() { # db table opclass lists
	"$psql" -h /tmp -p "$port" -U postgres -d "$1" -X -q -v ON_ERROR_STOP=1 <<SQL | awk -v db="$1" -v t="$2" '/^Time/ {print t, db, $2, "ms"}'
SET client_min_messages = warning;
DROP INDEX IF EXISTS rvb_ivfflat_build;
SET maintenance_work_mem = '$mwm';
CHECKPOINT;
\timing on
CREATE INDEX rvb_ivfflat_build ON $2 USING ivfflat (embedding $3) WITH (lists = $4);
\timing off
DROP INDEX rvb_ivfflat_build;
SQL
}

echo "start $(date -u +%T) $(uptime)"
for spec in "$@"; do
	IFS=: read -r table opclass lists <<<"$spec"
	for ((r = 0; r < rounds; r++)); do
		build "$rv" "$table" "$opclass" "$lists"
		build "$pg" "$table" "$opclass" "$lists"
		build "$pg" "$table" "$opclass" "$lists"
		build "$rv" "$table" "$opclass" "$lists"
	done
done
echo "end $(date -u +%T) $(uptime)"
