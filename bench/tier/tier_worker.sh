#!/usr/bin/env bash
# bench/tier/tier_worker.sh — issue 17 figures for ruvector_heap tiers:
#   1. CPU of the tier pass per 1,000 blocks (the pass the worker runs,
#      measured through ruvector_compact in one backend: utime + stime of
#      the backend from /proc, table in shared buffers / page cache);
#   2. space reuse: rows inserted after the pass vs into a fresh table;
#   3. sequential scan of the cold (sq8) table with its files evicted from
#      the page cache (posix_fadvise DONTNEED after CHECKPOINT + sync),
#      2 MB of shared buffers, ruvector.io_method = off / prefetch /
#      io_uring, median of 8;
#   4. recall@10 through an hnsw index (storage sq8, re-rank reading the
#      table) with the table at each tier, against exact cosine top-10 of
#      the float32 values: bench/tier/recall_tiers.sh, on its own
#      throw-away cluster at port + 1.
#
#   PGBIN=/usr/lib/postgresql/15/bin bench/tier/tier_worker.sh [rows] [recall_rows] [queries] [port]
#
# Throw-away cluster (postgres user when run as root), data removed at the
# end; loads ../shared/data/glove-100.
set -euo pipefail
ROWS=${1:-100000}
RROWS=${2:-20000}
NQ=${3:-100}
PORT=${4:-5627}
BIN=${PGBIN:?set PGBIN to the PostgreSQL 15 bin directory}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${RV_DATA:-$HERE/../../../shared/data}/glove-100
. "$HERE/../lib/throwaway.sh"
rvb_cluster tierbench "shared_buffers = '2MB'" "max_connections = 20" \
	"maintenance_work_mem = '512MB'" "autovacuum = off" "jit = off" \
	"max_parallel_workers_per_gather = 0" "shared_preload_libraries = 'ruvector'" \
	"ruvector.tier_max_blocks_per_round = 0"
rvb_evict_script

echo "## load: $ROWS rows of glove-100; load average $(cut -d' ' -f1-3 /proc/loadavg)"
$PSQL -c "CREATE EXTENSION ruvector" \
	-c "CREATE TABLE items (id int PRIMARY KEY, v vector(100)) USING ruvector_heap"
rvb_fvecs_copy "$DATA/base.fvecs" "$ROWS" | $PSQL -c "COPY items FROM STDIN"
$PSQL -c "VACUUM ANALYZE items" -c "CHECKPOINT"
HEAP=$DIR/pg/$($PSQL -At -c "SELECT pg_relation_filepath('items')")
BLOCKS=$($PSQL -At -c "SELECT pg_relation_size('items') / 8192")

# 1. CPU of the pass per 1,000 blocks
# the backend's own utime + stime (clock ticks), read by the backend
CPU="SELECT (pg_catalog.string_to_array(pg_catalog.split_part(pg_catalog.pg_read_file('/proc/self/stat'), ') ', 2), ' '))[12:13] AS s"
{
	echo "SELECT ruvector_set_tiers('items', 'v', '{\"exactness\": \"sq8\", \"sq8\": {}}');"
	echo "SELECT 'cpu0', s[1]::bigint + s[2]::bigint FROM ($CPU) x;"
	echo "SELECT 'moved', blocks_moved FROM ruvector_compact('items');"
	echo "SELECT 'cpu1', s[1]::bigint + s[2]::bigint FROM ($CPU) x;"
	echo "SELECT 'rescanned', blocks_scanned FROM ruvector_compact('items');"
	echo "SELECT 'cpu2', s[1]::bigint + s[2]::bigint FROM ($CPU) x;"
} >"$DIR/cpu.sql"
chmod 644 "$DIR/cpu.sql"
$PSQL -At -F ' ' -f "$DIR/cpu.sql" >"$DIR/cpu.out"
TCK=$(getconf CLK_TCK)
MOVED=$(awk '/^moved/ { print $2 }' "$DIR/cpu.out")
for k in cpu0 cpu1 cpu2; do awk -v k=$k '$1 == k { print $2 }' "$DIR/cpu.out" >"$DIR/$k"; done
echo "## 1. pass CPU: $BLOCKS blocks, $MOVED moved to sq8:" \
	"$(awk -v a="$(cat "$DIR/cpu0")" -v b="$(cat "$DIR/cpu1")" -v n="$MOVED" -v t="$TCK" 'BEGIN { printf "%.1f ms CPU per 1,000 blocks moved", (b - a) / t * 1000 / n * 1000 }')" \
	"; a second pass over the same blocks (all settled, nothing to move, compact re-reads them):" \
	"$(awk -v a="$(cat "$DIR/cpu1")" -v b="$(cat "$DIR/cpu2")" -v n="$BLOCKS" -v t="$TCK" 'BEGIN { printf "%.1f ms per 1,000 blocks", (b - a) / t * 1000 / n * 1000 }')"
$PSQL -At -c "SELECT 'table after the pass: ' || pg_size_pretty(pg_relation_size('items')) || ', ' || string_agg(tier || ' ' || blocks, ', ') FROM ruvector_tier_report('items') WHERE blocks > 0"
$PSQL -At -c "SELECT 'space: free ' || pg_size_pretty(free_bytes) || ', VACUUM FULL would return ' || pg_size_pretty(reclaimable_bytes) FROM ruvector_tier_space('items')"

# 2. space reuse
N2=$((ROWS / 5))
S0=$($PSQL -At -c "SELECT pg_relation_size('items')")
$PSQL -c "CREATE TABLE fresh (id int PRIMARY KEY, v vector(100)) USING ruvector_heap"
rvb_fvecs_copy "$DATA/base.fvecs" "$N2" "$ROWS" | $PSQL -c "COPY items FROM STDIN"
rvb_fvecs_copy "$DATA/base.fvecs" "$N2" "$ROWS" | $PSQL -c "COPY fresh FROM STDIN"
S1=$($PSQL -At -c "SELECT pg_relation_size('items')")
F=$($PSQL -At -c "SELECT pg_relation_size('fresh')")
echo "## 2. space reuse: $N2 rows inserted after the pass grew the file by $(( (S1 - S0) / 1024 )) kB; into a fresh table: $(( F / 1024 )) kB"
# back to all-sq8 for the scan
$PSQL -At -c "SELECT blocks_moved FROM ruvector_compact('items')" >/dev/null
$PSQL -c "CHECKPOINT"
sync

# 3. cold sequential scan
echo "## 3. sequential scan of the sq8 table ($($PSQL -At -c "SELECT pg_size_pretty(pg_relation_size('items'))")), files evicted, shared_buffers 2MB; io_uring here: $($PSQL -At -c "SELECT ruvector_io_method()")"
printf '| io_method | median ms | runs |\n|---|---:|---|\n'
for m in off prefetch io_uring; do
	{
		echo "SET ruvector.io_method = $m; SET ruvector.seqscan_read_ahead = on;"
		for i in 0 1 2 3 4 5 6 7 8; do
			echo "\\! python3 $DIR/evict.py $HEAP"
			echo "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT count(*) FROM items WHERE vector_dims(v) = 100;"
		done
	} >"$DIR/scan.sql"
	chmod 644 "$DIR/scan.sql"
	$PSQL -At -f "$DIR/scan.sql" | awk '/Execution Time/ { if (n++) print $3 }' >"$DIR/t.$m"
	printf '| %s | %s | %s |\n' "$m" "$(sort -g "$DIR/t.$m" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" "$(tr '\n' ' ' <"$DIR/t.$m")"
done

# 4. recall per tier through an hnsw (sq8 storage) index: recall_tiers.sh,
# on a cluster of its own (this one has 2 MB of shared buffers)
PGBIN=$BIN "$HERE/recall_tiers.sh" glove-100 "$RROWS" "$NQ" cosine 46 $((PORT + 1))
