#!/usr/bin/env bash
# bench/tier/inline_storage.sh — issue 17 item 7: how ruvector_heap keeps
# large vectors inline, table size and exact sequential-scan speed against
# plain heap, before (MAIN storage compressed with pglz, what ruvector_heap
# did until the per-column choice) and after (the choice a sample makes,
# src/tableam/rvheap_inline.c).
#
#   PGBIN=/usr/lib/postgresql/15/bin bench/tier/inline_storage.sh KIND [rows] [rounds] [port]
#
# KIND:
#   glove100   glove-100 (100-d; rows of 408 bytes never reach the toaster)
#   image784   generated image-like vectors: 28x28 integer pixels 0-255,
#              three random strokes (core 255, edges 60-220) on zeros, about
#              80% zeros as in MNIST; python random with a fixed seed
#   cohere1536 dense float embeddings derived from cohere-768-1k: each row
#              concatenates two of its 900 real 768-d embeddings (rows i and
#              (7i + 1) mod 900), so the float bits are those of a real model
#
# Tables: t_heap (heap: vectors over the threshold compressed with pglz or
# moved to TOAST, as heap does), t_before (ruvector_heap, COMPRESSION pglz:
# the old behaviour), t_after (ruvector_heap: 1,000 rows loaded, the tier
# pass decides from a sample, TRUNCATE, then the full load).  Scan: exact
# top-10 by L2 (`ORDER BY v <-> q LIMIT 10`, no index, one backend), the
# table in shared buffers, execution time from EXPLAIN ANALYZE (TIMING
# OFF); rounds interleave the three tables in rotating order, median.
# Throw-away cluster, removed at the end.
set -euo pipefail
KIND=${1:?glove100, image784 or cohere1536}
ROWS=${2:-25000}
ROUNDS=${3:-9}
PORT=${4:-5627}
BIN=${PGBIN:?set PGBIN to the PostgreSQL 15 bin directory}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${RV_DATA:-$HERE/../../../shared/data}
. "$HERE/../lib/throwaway.sh"
rvb_cluster inlinebench "shared_buffers = '512MB'" "max_connections = 20" \
	"autovacuum = off" "jit = off" "max_parallel_workers_per_gather = 0" \
	"shared_preload_libraries = 'ruvector'" "ruvector.tier_max_blocks_per_round = 0"

case $KIND in
glove100)
	DIM=100
	rvb_fvecs_copy "$DATA/glove-100/base.fvecs" "$ROWS" >"$DIR/data.txt"
	;;
image784)
	DIM=784
	python3 - "$ROWS" >"$DIR/data.txt" <<'PY'
import random, sys
n = int(sys.argv[1])
rnd = random.Random(784)
for i in range(1, n + 1):
    img = [0] * 784
    for _ in range(3):
        x, y = rnd.uniform(6, 22), rnd.uniform(6, 22)
        dx, dy = rnd.uniform(-1, 1), rnd.uniform(-1, 1)
        for _ in range(rnd.randint(8, 16)):
            cx, cy = int(x), int(y)
            for ox in (-1, 0, 1):
                for oy in (-1, 0, 1):
                    px, py = cx + ox, cy + oy
                    if 0 <= px < 28 and 0 <= py < 28:
                        v = 255 if ox == 0 and oy == 0 else rnd.randint(60, 220)
                        img[py * 28 + px] = max(img[py * 28 + px], v)
            x += dx + rnd.uniform(-0.3, 0.3)
            y += dy + rnd.uniform(-0.3, 0.3)
    print('%d\t[%s]' % (i, ','.join(map(str, img))))
PY
	;;
cohere1536)
	DIM=1536
	python3 - "$DATA/cohere-768-1k/base.fvecs" "$ROWS" >"$DIR/data.txt" <<'PY'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
vecs = []
with open(path, 'rb') as f:
    while True:
        h = f.read(4)
        if len(h) < 4:
            break
        d = struct.unpack('<i', h)[0]
        vecs.append(struct.unpack('<%df' % d, f.read(4 * d)))
m = len(vecs)
for i in range(n):
    v = vecs[i % m] + vecs[(7 * i + 1) % m]
    print('%d\t[%s]' % (i + 1, ','.join(repr(x) for x in v)))
PY
	;;
*)
	echo "unknown KIND $KIND" >&2
	exit 1
	;;
esac
chmod 644 "$DIR/data.txt"
head -n 1000 "$DIR/data.txt" >"$DIR/sample.txt"
chmod 644 "$DIR/sample.txt"

echo "## $KIND: $ROWS rows of $DIM dimensions; load average $(cut -d' ' -f1-3 /proc/loadavg)"
$PSQL -c "CREATE EXTENSION ruvector" \
	-c "CREATE TABLE t_heap (id int, v vector($DIM))" \
	-c "CREATE TABLE t_before (id int, v vector($DIM)) USING ruvector_heap" \
	-c "ALTER TABLE t_before ALTER COLUMN v SET COMPRESSION pglz" \
	-c "CREATE TABLE t_after (id int, v vector($DIM)) USING ruvector_heap" \
	-c "COPY t_after FROM '$DIR/sample.txt'" \
	-c "SELECT blocks_moved FROM ruvector_compact('t_after')" \
	-c "TRUNCATE t_after" >/dev/null 2>&1
for t in t_heap t_before t_after; do
	s=$(date +%s.%N)
	$PSQL -c "COPY $t FROM '$DIR/data.txt'"
	e=$(date +%s.%N)
	echo "load $t: $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f s", e - s }')"
done
$PSQL -c "VACUUM ANALYZE t_heap, t_before, t_after" -c "CHECKPOINT"
$PSQL -c "SELECT column_name, compression, decided, sampled, raw_bytes, lz4_bytes, pglz_bytes, sample_choice FROM ruvector_tier_storage('t_after')"
$PSQL -c "SELECT attrelid::regclass AS tbl, attstorage, attcompression FROM pg_attribute WHERE attname = 'v' AND attrelid IN ('t_heap'::regclass, 't_before'::regclass, 't_after'::regclass)"
echo "table | main bytes | toast bytes | table bytes (main+toast+maps) | stored as"
for t in t_heap t_before t_after; do
	$PSQL -At -F ' | ' -c "SELECT '$t', pg_relation_size('$t'), coalesce(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0), pg_table_size('$t'),
		(SELECT string_agg(coalesce(m, 'uncompressed') || ' ' || n, ', ') FROM (SELECT pg_column_compression(v) AS m, count(*) AS n FROM $t GROUP BY 1) z)
		FROM pg_class c WHERE c.oid = '$t'::regclass"
done

# top-10 of the three tables for the first query must agree
$PSQL -c "CREATE TABLE qs AS SELECT id AS qid, v FROM t_heap WHERE id IN (11, 222, 3333 % $ROWS + 1, 4444 % $ROWS + 1, 5555 % $ROWS + 1)"
SAME=$($PSQL -At -c "SELECT count(DISTINCT ids) FROM (
	SELECT 'h', array(SELECT id FROM t_heap ORDER BY v <-> (SELECT v FROM qs ORDER BY qid LIMIT 1), id LIMIT 10) AS ids
	UNION ALL SELECT 'b', array(SELECT id FROM t_before ORDER BY v <-> (SELECT v FROM qs ORDER BY qid LIMIT 1), id LIMIT 10)
	UNION ALL SELECT 'a', array(SELECT id FROM t_after ORDER BY v <-> (SELECT v FROM qs ORDER BY qid LIMIT 1), id LIMIT 10)) s")
echo "top-10 identical on the three tables: $([ "$SAME" = 1 ] && echo yes || echo NO)"

# warm: every table read once into shared buffers
for t in t_heap t_before t_after; do $PSQL -c "SELECT count(*) FROM $t WHERE vector_dims(v) = $DIM" >/dev/null; done
{
	for r in $(seq 0 "$ROUNDS"); do
		set -- t_heap t_before t_after
		case $((r % 3)) in 1) set -- t_before t_after t_heap ;; 2) set -- t_after t_heap t_before ;; esac
		for t in "$@"; do
			q=$(((r % 5) + 1))
			echo "\\echo run $r $t"
			echo "EXPLAIN (ANALYZE, TIMING OFF) SELECT id FROM $t ORDER BY v <-> (SELECT v FROM qs ORDER BY qid OFFSET $((q - 1)) LIMIT 1) LIMIT 10;"
		done
	done
} >"$DIR/scan.sql"
chmod 644 "$DIR/scan.sql"
echo "## exact scan, $ROUNDS rounds after a warm-up round (execution ms); load average $(cut -d' ' -f1-3 /proc/loadavg)"
$PSQL -f "$DIR/scan.sql" | awk '
	/^run / { r = $2; t = $3 }
	/Execution Time/ { if (r > 0) { ms[t] = ms[t] " " $3 } }
	END {
		for (t in ms) {
			n = split(ms[t], a, " ")
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
			med[t] = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			printf "%s: median %.1f ms; runs%s\n", t, med[t], ms[t]
		}
		printf "vs heap: before %.2fx heap speed, after %.2fx\n", med["t_heap"] / med["t_before"], med["t_heap"] / med["t_after"]
	}'
echo "## done; load average $(cut -d' ' -f1-3 /proc/loadavg)"
