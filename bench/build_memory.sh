#!/bin/bash
#
# build_memory.sh — HNSW builds that do not fit maintenance_work_mem
# (issue 19 item 5).
#
# Builds hnsw (m 16, ef_construction 64) on N x DIM clustered vectors at
# each maintenance_work_mem given and reports, per build: build time,
# whether the on-disk phase was entered (the build's NOTICE "hnsw graph no
# longer fits into maintenance_work_mem after N tuples"; pgvector says the
# same) and recall@10 at ef_search 10 and 40 against the exact top 10 of
# NQ queries (sequential scan, computed once).
#
# Data: NCENTRES centres with coordinates uniform in [0,1), each row a centre
# plus noise 0.1 * (sum of three uniforms - 1.5) per coordinate (a bell
# curve), generated in SQL from setseed(0.42); queries are NQ more rows of
# the same distribution, not in the table.  RuVector's table is copied into
# pgvector's database, so both index the same rows.
#
# FVECS=DIR instead loads DIR/base.fvecs, query.fvecs (first NQ) and
# groundtruth.ivecs (e.g. from ruvector-bench --synthetic n=25000,dim=784,
# queries=200 --save-data DIR); ids are row numbers + 1.
#
# Usage: RV_PGBIN=... bench/build_memory.sh [storage ...]
#   storage: ruvector storage reloptions to try (default: float32)
#   MEMS="64MB 1GB" N=25000 DIM=784 NQ=200 NCENTRES=50 PORT=5612
#   DATA=/tmp/rv_build_memory/pgdata PGVECTOR=1 (0 to skip pgvector)
# Only the builds and recall runs hold the bench lock (/tmp/rv-bench.lock);
# NOLOCK=1 runs them without it, at nice 15 (recall only: times are then
# not comparable).
#
set -euo pipefail

: "${RV_PGBIN:?set RV_PGBIN to the PostgreSQL bin directory}"
N=${N:-25000}
DIM=${DIM:-784}
NQ=${NQ:-200}
NCENTRES=${NCENTRES:-50}
PORT=${PORT:-5612}
MEMS=${MEMS:-"64MB 1GB"}
DATA=${DATA:-/tmp/rv_build_memory/pgdata}
PGVECTOR=${PGVECTOR:-1}
LOCK=(flock /tmp/rv-bench.lock)
[ "${NOLOCK:-0}" = 1 ] && LOCK=(nice -n 15)
STORAGES=("$@")
[ ${#STORAGES[@]} -eq 0 ] && STORAGES=(float32)

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

mkdir -p "$(dirname "$DATA")"
chown postgres "$(dirname "$DATA")"
rv_start_cluster "$DATA" "$PORT" "shared_buffers = 512MB" "max_wal_size = 4GB" \
	"max_parallel_maintenance_workers = 0" "client_min_messages = notice"

psqlx() {
	local db=$1
	shift
	su postgres -s /bin/sh -c "$RV_PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p $PORT -d $db $*"
}

have_pgvector=0
if [ "$PGVECTOR" = 1 ] && [ -f "$($RV_PGBIN/pg_config --sharedir)/extension/vector.control" ]; then
	have_pgvector=1
fi

# fvecs/ivecs to COPY text: id, then the vector or the top-10 ids
fvecs_copy() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
path, kind, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = sys.stdout
with open(path, 'rb') as f:
	i = 0
	while i < limit:
		h = f.read(4)
		if not h:
			break
		d = struct.unpack('<i', h)[0]
		if kind == 'f':
			v = struct.unpack('<%df' % d, f.read(4 * d))
			out.write('%d\t[%s]\n' % (i + 1, ','.join(repr(x) for x in v)))
		else:
			v = struct.unpack('<%di' % d, f.read(4 * d))
			out.write('%d\t{%s}\n' % (i + 1, ','.join(str(x + 1) for x in v[:10])))
		i += 1
PY
}

# --- data (once per cluster) --------------------------------------------
fp="$N x $DIM, $NCENTRES centres, $NQ queries, seed 0.42"
if [ -n "${FVECS:-}" ]; then
	fp="$FVECS, $NQ queries"
	DIM=$(python3 -c "import struct,sys; print(struct.unpack('<i', open(sys.argv[1],'rb').read(4))[0])" "$FVECS/base.fvecs")
fi
psqlx postgres -tAc "\"SELECT 1 FROM pg_database WHERE datname = 'rvbm_ruvector'\"" | grep -q 1 ||
	psqlx postgres -c "\"CREATE DATABASE rvbm_ruvector\""
psqlx rvbm_ruvector -c "\"CREATE EXTENSION IF NOT EXISTS ruvector\""
have=$(psqlx rvbm_ruvector -tAc "\"SELECT obj_description('items'::regclass) FROM pg_class WHERE relname = 'items'\"" || true)
if [ "$have" != "$fp" ]; then
	echo "generating $fp" >&2
	if [ -n "${FVECS:-}" ]; then
		psqlx rvbm_ruvector -c "\"DROP TABLE IF EXISTS items, queries, truth, centres; CREATE TABLE items (id int PRIMARY KEY, v vector($DIM)); ALTER TABLE items ALTER v SET STORAGE EXTERNAL; CREATE TABLE queries (id int PRIMARY KEY, v vector($DIM)); CREATE TABLE truth (id int, ids int[])\""
		fvecs_copy "$FVECS/base.fvecs" f 100000000 | psqlx rvbm_ruvector -c "\"COPY items FROM STDIN\""
		fvecs_copy "$FVECS/query.fvecs" f "$NQ" | psqlx rvbm_ruvector -c "\"COPY queries FROM STDIN\""
		fvecs_copy "$FVECS/groundtruth.ivecs" i "$NQ" | psqlx rvbm_ruvector -c "\"COPY truth FROM STDIN\""
		psqlx rvbm_ruvector -c "\"VACUUM ANALYZE items\"" -c "\"COMMENT ON TABLE items IS '$fp'\""
	else
	psqlx rvbm_ruvector <<SQL
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS items, queries, truth, centres;
SELECT setseed(0.42);
CREATE TABLE centres AS
	SELECT c, array_agg(random()::real ORDER BY d) AS v
	FROM generate_series(1, $NCENTRES) c, generate_series(1, $DIM) d GROUP BY c ORDER BY c;
CREATE TABLE items (id int PRIMARY KEY, v vector($DIM));
ALTER TABLE items ALTER v SET STORAGE EXTERNAL;
CREATE TABLE queries (id int PRIMARY KEY, v vector($DIM));
INSERT INTO items
	SELECT i, (SELECT array_agg((ce.v[d] + 0.1 * (random() + random() + random() - 1.5))::real ORDER BY d)
			   FROM generate_series(1, $DIM) d)::vector
	FROM generate_series(1, $N) i JOIN centres ce ON ce.c = 1 + i % $NCENTRES ORDER BY i;
INSERT INTO queries
	SELECT i, (SELECT array_agg((ce.v[d] + 0.1 * (random() + random() + random() - 1.5))::real ORDER BY d)
			   FROM generate_series(1, $DIM) d)::vector
	FROM generate_series(1, $NQ) i JOIN centres ce ON ce.c = 1 + (i * 7) % $NCENTRES ORDER BY i;
SET enable_indexscan = off;
CREATE TABLE truth AS
	SELECT q.id, (SELECT array_agg(id) FROM (SELECT i.id FROM items i ORDER BY i.v <-> q.v LIMIT 10) s) AS ids
	FROM queries q;
VACUUM ANALYZE items;
COMMENT ON TABLE items IS '$fp';
SQL
	fi
	have=""
fi
if [ $have_pgvector = 1 ]; then
	psqlx postgres -tAc "\"SELECT 1 FROM pg_database WHERE datname = 'rvbm_pgvector'\"" | grep -q 1 ||
		psqlx postgres -c "\"CREATE DATABASE rvbm_pgvector\""
	psqlx rvbm_pgvector -c "\"CREATE EXTENSION IF NOT EXISTS vector\""
	pgv=$(psqlx rvbm_pgvector -tAc "\"SELECT obj_description('items'::regclass) FROM pg_class WHERE relname = 'items'\"" || true)
	if [ "$pgv" != "$fp" ]; then
		psqlx rvbm_pgvector -c "\"DROP TABLE IF EXISTS items, queries, truth\""
		psqlx rvbm_pgvector -c "\"CREATE TABLE items (id int PRIMARY KEY, v vector($DIM)); ALTER TABLE items ALTER v SET STORAGE EXTERNAL; CREATE TABLE queries (id int PRIMARY KEY, v vector($DIM)); CREATE TABLE truth (id int, ids int[])\""
		for t in items queries truth; do
			psqlx rvbm_ruvector -c "\"COPY $t TO STDOUT\"" | psqlx rvbm_pgvector -c "\"COPY $t FROM STDIN\""
		done
		psqlx rvbm_pgvector -c "\"VACUUM ANALYZE items\"" -c "\"COMMENT ON TABLE items IS '$fp'\""
	fi
fi

# --- one build and its recall ---------------------------------------------
# measure DB LABEL MEM RELOPTIONS
measure() {
	local db=$1 label=$2 mem=$3 opts=$4 out
	out=$("${LOCK[@]}" su postgres -s /bin/sh -c "$RV_PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p $PORT -d $db" 2>&1 <<SQL
SET max_parallel_maintenance_workers = 0;
SET maintenance_work_mem = '$mem';
DROP INDEX IF EXISTS items_v_idx;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 64$opts);
SELECT 'build_s ' || round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2);
SET enable_seqscan = off;
SET hnsw.ef_search = 10;
SELECT 'recall10 ' || round(avg((SELECT count(*) FROM unnest(r.ids) x WHERE x = ANY (t.ids)) / 10.0), 4)
FROM queries q JOIN truth t USING (id),
	LATERAL (SELECT array_agg(id) AS ids FROM (SELECT i.id FROM items i ORDER BY i.v <-> q.v LIMIT 10) s) r;
SET hnsw.ef_search = 40;
SELECT 'recall40 ' || round(avg((SELECT count(*) FROM unnest(r.ids) x WHERE x = ANY (t.ids)) / 10.0), 4)
FROM queries q JOIN truth t USING (id),
	LATERAL (SELECT array_agg(id) AS ids FROM (SELECT i.id FROM items i ORDER BY i.v <-> q.v LIMIT 10) s) r;
SELECT 'size_mb ' || pg_relation_size('items_v_idx') / 1048576;
SQL
)
	local build r10 r40 size disk
	build=$(echo "$out" | sed -n 's/^ *build_s //p')
	r10=$(echo "$out" | sed -n 's/^ *recall10 //p')
	r40=$(echo "$out" | sed -n 's/^ *recall40 //p')
	size=$(echo "$out" | sed -n 's/^ *size_mb //p')
	disk=$(echo "$out" | sed -n 's/.*no longer fits into maintenance_work_mem after \([0-9]*\) tuples.*/after \1/p')
	[ -z "$disk" ] && disk=no
	if [ -z "$build" ]; then
		echo "$out" >&2
		return 1
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$mem" "$build" "$disk" "$r10" "$r40" "$size"
}

echo "# $fp; $(git -C "$here" rev-parse --short HEAD); $(uptime | sed 's/.*load/load/')"
echo "| target | maintenance_work_mem | build s | on-disk phase | recall@10 ef 10 | recall@10 ef 40 | index MB |"
echo "| --- | --- | ---: | --- | ---: | ---: | ---: |"
for mem in $MEMS; do
	for st in "${STORAGES[@]}"; do
		opts=""
		[ "$st" != float32 ] && opts=", storage = $st"
		measure rvbm_ruvector "ruvector $st" "$mem" "$opts"
	done
	if [ $have_pgvector = 1 ]; then
		measure rvbm_pgvector "pgvector" "$mem" ""
	fi
done
echo "# end $(uptime | sed 's/.*load/load/')"
