#!/usr/bin/env bash
# bench/io/rerank_cold.sh — latency of hnsw sq8 scans whose exact re-rank
# reads the table from disk: ruvector.io_method = off, prefetch, io_uring.
#
#   PGBIN=/usr/lib/postgresql/15/bin bench/io/rerank_cold.sh [rows] [queries] [port]
#
# Makes its own throw-away cluster (as the calling user, or postgres when
# run as root) with 2 MB of shared buffers, loads the first rows of
# ../shared/data/glove-100 (default 100,000) into a table with an sq8 hnsw
# index (m 16, ef_construction 64, cosine), then for each method and each
# query: drops the table's files from the kernel's page cache
# (posix_fadvise DONTNEED, after a CHECKPOINT and sync so no page is dirty)
# and runs the query once under EXPLAIN ANALYZE, keeping its execution
# time (one session per method, as a pooled client would hold it; its first
# query warms the backend and is not counted).  The index stays in the page cache: what is measured is the re-rank
# reading candidate rows from the device.  Prints p50 / p90 / p99 / mean in
# ms per method and the ratio to off.  Needs a server with ruvector
# installed in PGBIN's tree; the data directory is removed at the end.
set -euo pipefail
ROWS=${1:-100000}
NQ=${2:-100}
PORT=${3:-5641}
BIN=${PGBIN:?set PGBIN to the PostgreSQL 15 bin directory}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${RV_DATA:-$HERE/../../../shared/data}/glove-100
. "$HERE/../lib/throwaway.sh"
rvb_cluster iobench "shared_buffers = '2MB'" "max_connections = 20" \
	"maintenance_work_mem = '512MB'" "autovacuum = off" "jit = off"

echo "loading $ROWS rows of glove-100, building hnsw (sq8)" >&2
$PSQL -c "CREATE EXTENSION ruvector" \
	-c "CREATE TABLE items (id int PRIMARY KEY, v vector(100))" \
	-c "CREATE TABLE q (id int PRIMARY KEY, v vector(100))"
rvb_fvecs_copy "$DATA/base.fvecs" "$ROWS" | $PSQL -c "COPY items FROM STDIN"
rvb_fvecs_copy "$DATA/query.fvecs" "$NQ" | $PSQL -c "COPY q FROM STDIN"
$PSQL -c "CREATE INDEX ON items USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 64, storage = sq8)" \
	-c "VACUUM ANALYZE items" -c "CHECKPOINT"
sync
HEAP=$DIR/pg/$($PSQL -At -c "SELECT pg_relation_filepath('items')")
echo "table: $($PSQL -At -c "SELECT pg_size_pretty(pg_relation_size('items'))"), index: $($PSQL -At -c "SELECT pg_size_pretty(pg_indexes_size('items'))"), io_uring here: $($PSQL -At -c "SELECT ruvector_io_method()")" >&2

# psql runs $DIR/evict.py between queries
rvb_evict_script

printf '| io_method | p50 ms | p90 ms | p99 ms | mean ms | p50 vs off |\n|---|---:|---:|---:|---:|---:|\n'
off50=""
for m in off prefetch io_uring; do
	# one session per method, as a pooled client's: the first query warms
	# the backend (and its io_uring workers) and is not counted
	{
		echo "SET ruvector.io_method = $m;"
		echo "SET hnsw.ef_search = 40;"
		for i in $(seq 0 "$NQ"); do
			echo "\\! python3 $DIR/evict.py $HEAP"
			echo "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT id FROM items ORDER BY v <=> (SELECT v FROM q WHERE id = $((i > 0 ? i : 1))) LIMIT 10;"
		done
	} >"$DIR/run.sql"
	$PSQL -At -f "$DIR/run.sql" >"$DIR/plans.$m"
	awk '/Execution Time/ { if (n++) print $3 }' "$DIR/plans.$m" >"$DIR/t.$m"
	awk '/Buffers: shared/ && !/Planning/ { if (++n % 3 == 0) print }' "$DIR/plans.$m" | head -2 >&2
	read -r p50 p90 p99 mean <<<"$(sort -g "$DIR/t.$m" | awk '{ v[NR] = $1; s += $1 }
		END { printf "%.2f %.2f %.2f %.2f", v[int((NR + 1) * 0.5)], v[int(NR * 0.9 + 0.5)], v[int(NR * 0.99 + 0.5)], s / NR }')"
	[ -n "$off50" ] || off50=$p50
	printf '| %s | %s | %s | %s | %s | %s |\n' "$m" "$p50" "$p90" "$p99" "$mean" \
		"$(awk -v a="$off50" -v b="$p50" 'BEGIN { printf "%.2fx lower", a / b }')"
done
