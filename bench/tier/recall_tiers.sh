#!/usr/bin/env bash
# bench/tier/recall_tiers.sh — issue 17: recall@10 through an hnsw index
# (storage sq8, so the final order comes from the table's vectors) with the
# whole table held in each tier, on a shared data set (part 4 of
# bench/tier/tier_worker.sh runs it on glove-100).
#
#   PGBIN=/usr/lib/postgresql/15/bin bench/tier/recall_tiers.sh SET [rows] [queries] [metric] [pq_m] [port]
#
# SET is a folder of ../shared/data (base.fvecs, query.fvecs); metric cosine
# (<=>, default), ip (<#>) or l2 (<->); pq_m the PQ codes per vector
# (default dim / 2).  Truth: the exact top-10 of the float32 values.  Not a
# timing: runs without the bench lock.  Throw-away cluster.
set -euo pipefail
SET=${1:?a folder of shared/data, e.g. cohere-768-1k}
ROWS=${2:-100000}
NQ=${3:-100}
METRIC=${4:-cosine}
PQM=${5:-}
PORT=${6:-5626}
BIN=${PGBIN:?set PGBIN to the PostgreSQL 15 bin directory}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${RV_DATA:-$HERE/../../../shared/data}/$SET
. "$HERE/../lib/throwaway.sh"
rvb_cluster recallbench "shared_buffers = '256MB'" "autovacuum = off" "jit = off" \
	"maintenance_work_mem = '512MB'" "shared_preload_libraries = 'ruvector'" \
	"ruvector.tier_max_blocks_per_round = 0"
case $METRIC in
	cosine) OP='<=>'; OPS=vector_cosine_ops ;;
	ip) OP='<#>'; OPS=vector_ip_ops ;;
	l2) OP='<->'; OPS=vector_l2_ops ;;
	*) echo "metric: cosine, ip or l2" >&2; exit 1 ;;
esac
DIM=$(python3 -c "import struct,sys; print(struct.unpack('<i', open(sys.argv[1],'rb').read(4))[0])" "$DATA/base.fvecs")
[ -n "$PQM" ] || PQM=$((DIM / 2))

$PSQL -c "CREATE EXTENSION ruvector" \
	-c "CREATE TABLE q (id int PRIMARY KEY, v vector($DIM))" \
	-c "CREATE TABLE ref (id int PRIMARY KEY, v vector($DIM))"
rvb_fvecs_copy "$DATA/query.fvecs" "$NQ" | $PSQL -c "COPY q FROM STDIN"
rvb_fvecs_copy "$DATA/base.fvecs" "$ROWS" | $PSQL -c "COPY ref FROM STDIN"
ROWS=$($PSQL -At -c "SELECT count(*) FROM ref")
NQ=$($PSQL -At -c "SELECT count(*) FROM q")
$PSQL -c "CREATE TABLE truth AS SELECT q.id AS qid, t.id FROM q CROSS JOIN LATERAL (SELECT id FROM ref ORDER BY ref.v $OP q.v LIMIT 10) t"
echo "## $SET: recall@10 through hnsw (m 16, ef_construction 64, storage sq8, ef_search 40, $METRIC), $ROWS rows, $NQ queries; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| tier (rows held) | policy | recall@10 |\n|---|---|---:|\n'
for tier in float32 float16 sq8 pq; do
	case $tier in
		float32) pol='NULL' ;;
		float16) pol="'{\"exactness\": \"float16\", \"float16\": {}}'" ;;
		sq8) pol="'{\"exactness\": \"sq8\", \"sq8\": {}}'" ;;
		pq) pol="'{\"exactness\": \"pq\", \"pq\": {\"m\": $PQM}}'" ;;
	esac
	$PSQL -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS rt" \
		-c "CREATE TABLE rt (id int PRIMARY KEY, v vector($DIM)) USING ruvector_heap" \
		-c "INSERT INTO rt SELECT * FROM ref" \
		-c "CREATE INDEX ON rt USING hnsw (v $OPS) WITH (m = 16, ef_construction = 64, storage = sq8)" >/dev/null
	if [ "$tier" != float32 ]; then
		$PSQL -c "SELECT ruvector_set_tiers('rt', 'v', $pol)" >/dev/null 2>&1
		$PSQL -At -c "SELECT blocks_moved FROM ruvector_compact('rt')" >/dev/null 2>&1
		# pq: the codebook trained by set_tiers is used from this compact on
		$PSQL -At -c "SELECT blocks_moved FROM ruvector_compact('rt')" >/dev/null 2>&1
	fi
	r=$($PSQL -At -c "SET hnsw.ef_search = 40" -c "SELECT round(avg(hit), 4) FROM (SELECT q.id, (SELECT count(*) FROM (SELECT id FROM rt ORDER BY rt.v $OP q.v LIMIT 10) a JOIN truth t ON t.qid = q.id AND t.id = a.id) / 10.0 AS hit FROM q) s")
	held=$($PSQL -At -c "SELECT string_agg(tier || ' ' || rows, ', ') FROM ruvector_tier_report('rt') WHERE rows > 0")
	printf '| %s | %s | %s |\n' "$tier ($held)" "$pol" "$r"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
