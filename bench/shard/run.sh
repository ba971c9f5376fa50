#!/bin/bash
# bench/shard/run.sh: queries/s and latency of top-10 search on a sharded
# table (src/shard, docs/sharding.md) with 1, 2 and 3 shards on this
# machine, against a single node with the same rows, the same table queried
# directly on a shard (the coordinator's overhead), the postgres_fdw path
# of the rewrite (ruvector.shard_direct = off) and plain postgres_fdw
# (ruvector.shard_pushdown = off); and 2 and 3 shards searched with a
# smaller hnsw.ef_search on the shards (EF_SHARD, default 32, set in the
# servers' libpq options), for the same recall as the single node.  Also
# recall@10 of each against exact search.  Figures for bench/RESULTS.md
# ("Sharded tables").
#
# Four clusters on one machine: a coordinator and three shard servers.  The
# query vector is picked per transaction from 100 real queries (glove-100)
# and sent as text in the statement (pgbench -M simple, one script per
# query vector), as a client application would send it.
#
# Then (ROUNDS > 0) the same-recall frontier, in interleaved rounds: the
# single node at each hnsw.ef_search of EF_SINGLE and 2 shards at each of
# EF_SHARDS (set on the shards through the servers' options), recall@10
# of each, and 2 shards with the coordinator's plan cache off
# (ruvector.shard_plan_cache), round after round so load hits every
# configuration alike.  TABLE=0 skips the table; REUSE=1 keeps the data of
# an earlier run (same ROWS) instead of loading and indexing again.
# FILTER=1 adds to each round the single node and 2 shards with a filter
# whose constant differs per query vector (WHERE id % 1000 <> c, 100
# constants): the shards' prepared statements per constant (no recall).
#
# usage: RV_PGBIN=/path/to/pg15/bin bench/shard/run.sh [rows] [seconds] ["clients ..."]
#   ports BASE..BASE+3 (RV_SHARD_PORT, default 5616); data in $OUT (default
#   /tmp/rv_shard_bench); run as root (clusters run as postgres) or postgres.
#   The clusters are stopped when the script exits.
#   ROUNDS (default 0), FRONTIER_CLIENTS (16), FRONTIER_SECS (10),
#   EF_SINGLE ("30 40 60"), EF_SHARDS ("24 32 40"), TABLE (1), REUSE (0),
#   FILTER (0).
set -euo pipefail

ROWS=${1:-20000}
SECS=${2:-20}
CLIENT_LIST=${3:-4 16}
EF_SHARD=${EF_SHARD:-32}
ROUNDS=${ROUNDS:-0}
FRONTIER_CLIENTS=${FRONTIER_CLIENTS:-16}
FRONTIER_SECS=${FRONTIER_SECS:-10}
EF_SINGLE=${EF_SINGLE:-30 40 60}
EF_SHARDS=${EF_SHARDS:-24 32 40}
TABLE=${TABLE:-1}
REUSE=${REUSE:-0}
FILTER=${FILTER:-0}
PORT=${RV_SHARD_PORT:-5616}
BIN=${RV_PGBIN:?set RV_PGBIN to the PostgreSQL 15 bin directory}
OUT=${OUT:-/tmp/rv_shard_bench}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${RUVECTOR_DATA:-$HERE/../shared/data}
NQ=200

as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
psql_p() { local p=$1; shift; as_pg "$BIN/psql -h /tmp -p $p -U postgres -X -q -v ON_ERROR_STOP=1 $*"; }

mkdir -p "$OUT"; [ "$(id -u)" = 0 ] && chown postgres "$OUT"
for i in 0 1 2 3; do
	d=$OUT/pg$((PORT + i))
	if [ ! -s "$d/PG_VERSION" ]; then
		as_pg "$BIN/initdb -D $d -A trust -U postgres --no-sync >/dev/null"
		cat >>"$d/postgresql.conf" <<EOF
port = $((PORT + i))
listen_addresses = ''
unix_socket_directories = '/tmp'
fsync = off
shared_buffers = '256MB'
maintenance_work_mem = '256MB'
max_connections = 50
shared_preload_libraries = 'ruvector'
EOF
	fi
	as_pg "$BIN/pg_ctl -D $d status >/dev/null" && as_pg "$BIN/pg_ctl -D $d -m fast -w stop >/dev/null"
	as_pg "$BIN/pg_ctl -D $d -l $d/log -w start >/dev/null"
done
C=$PORT
# Stop the clusters at exit: run under flock, a postmaster left running
# would keep the bench lock's file open and hold the lock for everyone.
trap 'for i in 0 1 2 3; do as_pg "$BIN/pg_ctl -D $OUT/pg$((PORT + i)) -m fast -w stop" >/dev/null 2>&1 || true; done' EXIT

if [ "$REUSE" = 1 ] && [ -s "$OUT/exact.txt" ] && [ "$(wc -l < "$OUT/base.tsv")" = "$ROWS" ]; then
	echo "reusing the data of an earlier run in $OUT"
else
# Vectors as COPY text
perl -I"$HERE/test/perl" -MRvData -e '
	my ($f, $n, $o) = @ARGV; my $v = read_fvecs($f, $n);
	open(my $fh, ">", $o) or die; print $fh "$_\t$v->[$_]\n" for 0 .. $#$v;' \
	"$DATA/glove-100/base.fvecs" "$ROWS" "$OUT/base.tsv"
perl -I"$HERE/test/perl" -MRvData -e '
	my ($f, $n, $o) = @ARGV; my $v = read_fvecs($f, $n);
	open(my $fh, ">", $o) or die; print $fh "$_\t$v->[$_]\n" for 0 .. $#$v;' \
	"$DATA/glove-100/query.fvecs" "$NQ" "$OUT/query.tsv"
chmod 644 "$OUT"/*.tsv

# Shard tables: configuration n (1..3 shards) has partition r on shard r+1
for i in 1 2 3; do
	sql="DROP TABLE IF EXISTS s1_p0, s2_p0, s2_p1, s3_p0, s3_p1, s3_p2, queries;
		DROP EXTENSION IF EXISTS ruvector; CREATE EXTENSION ruvector;"
	for n in 1 2 3; do
		for r in $(seq 0 $((n - 1))); do
			[ $((r + 1)) = $i ] && sql="$sql CREATE TABLE s${n}_p$r (id int PRIMARY KEY, v vector(100));"
		done
	done
	psql_p $((PORT + i)) -c "\"$sql\"" 2>&1 | grep -v NOTICE || true
done

sql="DROP TABLE IF EXISTS sh1, sh2, sh3, sh2ef, sh3ef, single, queries;
DROP EXTENSION IF EXISTS postgres_fdw CASCADE; DROP EXTENSION IF EXISTS ruvector;
CREATE EXTENSION ruvector; CREATE EXTENSION postgres_fdw;
CREATE TABLE single (id int PRIMARY KEY, v vector(100));
CREATE TABLE queries (id int PRIMARY KEY, v vector(100));
COPY single FROM '$OUT/base.tsv'; COPY queries FROM '$OUT/query.tsv';"
for i in 1 2 3; do
	sql="$sql CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '/tmp', port '$((PORT + i))',
		dbname 'postgres', extensions 'ruvector', async_capable 'true', batch_size '1000');
		CREATE USER MAPPING FOR postgres SERVER shard$i;
		CREATE SERVER shard${i}_ef FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '/tmp', port '$((PORT + i))',
		dbname 'postgres', extensions 'ruvector', async_capable 'true', options '-c hnsw.ef_search=$EF_SHARD');
		CREATE USER MAPPING FOR postgres SERVER shard${i}_ef;"
done
for n in 1 2 3; do
	sql="$sql CREATE TABLE sh$n (id int, v vector(100)) PARTITION BY HASH (id);"
	for r in $(seq 0 $((n - 1))); do
		sql="$sql CREATE FOREIGN TABLE sh${n}_p$r PARTITION OF sh$n FOR VALUES WITH (MODULUS $n, REMAINDER $r)
			SERVER shard$((r + 1)) OPTIONS (table_name 's${n}_p$r');"
	done
	sql="$sql INSERT INTO sh$n SELECT * FROM single;"
done
# the same shard tables through the servers with the smaller ef_search
for n in 2 3; do
	sql="$sql CREATE TABLE sh${n}ef (id int, v vector(100)) PARTITION BY HASH (id);"
	for r in $(seq 0 $((n - 1))); do
		sql="$sql CREATE FOREIGN TABLE sh${n}ef_p$r PARTITION OF sh${n}ef FOR VALUES WITH (MODULUS $n, REMAINDER $r)
			SERVER shard$((r + 1))_ef OPTIONS (table_name 's${n}_p$r');"
	done
done
echo "$sql" > "$OUT/setup.sql"; chmod 644 "$OUT/setup.sql"
psql_p $C -f "$OUT/setup.sql" 2>&1 | grep -v NOTICE || true

echo "building HNSW indexes (m 16, ef_construction 64) ..."
psql_p $C -c "'CREATE INDEX ON single USING hnsw (v vector_l2_ops)'"
for i in 1 2 3; do
	for t in $(psql_p $((PORT + i)) -At -c "\"SELECT string_agg(relname, ' ') FROM pg_class WHERE relname ~ '^s[123]_p[0-9]\$'\""); do
		psql_p $((PORT + i)) -c "\"CREATE INDEX ON $t USING hnsw (v vector_l2_ops); ANALYZE $t\""
	done
done
psql_p $C -c "'ANALYZE single; ANALYZE queries'"

# exact top-10 of every query on the single node, for recall@10
psql_p $C -At -c "\"SET enable_indexscan = off; SELECT q.id, (SELECT string_agg(id::text, ',') FROM (SELECT id FROM single ORDER BY v <-> q.v, id LIMIT 10) s) FROM queries q ORDER BY q.id\"" > "$OUT/exact.txt"
fi
exact="$OUT/exact.txt"
recall() {	# port table [PGOPTIONS]
	local f="$OUT/got_$2.txt" sqlf="$OUT/recall_$2.sql"
	: > "$sqlf"
	while IFS=$'\t' read -r id v; do
		echo "SELECT '$id|' || string_agg(id::text, ',') FROM (SELECT id FROM $2 ORDER BY v <-> '$v' LIMIT 10) s;" >> "$sqlf"
	done < "$OUT/query.tsv"
	chmod 644 "$sqlf"
	as_pg "PGOPTIONS='${3:-}' $BIN/psql -h /tmp -p $1 -U postgres -X -q -v ON_ERROR_STOP=1 -At -f $sqlf" > "$f"
	python3 - "$exact" "$f" <<'PY'
import sys
t = dict(l.strip().split('|') for l in open(sys.argv[1]) if l.strip())
g = dict(l.strip().split('|') for l in open(sys.argv[2]) if l.strip())
hit = sum(len(set(t[q].split(',')) & set(g[q].split(','))) for q in t)
print("%.4f" % (hit / (10 * len(t))))
PY
}

declare -A RECALL
# pgbench -M simple over 100 scripts, one per query vector (the first 100),
# picked at random per transaction: the vector travels as text in the
# statement, as a client sends it; where_fn gives each query's WHERE from
# its id.  Sets tps and lat, or prints pgbench's last lines and fails.
pgbench_queries() {	# dir port table where_fn [PGOPTIONS]
	local dir=$1 port=$2 table=$3 where_fn=$4 opts=${5:-} args="" r
	mkdir -p "$dir"
	head -100 "$OUT/query.tsv" | while IFS=$'\t' read -r id v; do
		echo "SELECT id FROM $table$($where_fn "$id") ORDER BY v <-> '$v' LIMIT 10;" > "$dir/q$id.sql"
	done
	chmod -R a+rX "$dir"
	for f in "$dir"/q*.sql; do args="$args -f $f"; done
	r=$(as_pg "PGOPTIONS='$opts' $BIN/pgbench -h /tmp -p $port -U postgres -n -M simple -c $CLIENTS -j 2 -T $SECS $args postgres" 2>&1) ||
		{ echo "$r" | tail -5; return 1; }
	tps=$(echo "$r" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	lat=$(echo "$r" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
}
no_filter() { :; }
# a filter whose constant is the query's own: 100 distinct constants, as a
# client filtering by a value per request sends them
own_filter() { echo " WHERE id % 1000 <> $(( ($1 * 37) % 1000 ))"; }

run() {	# label port table [PGOPTIONS]
	local label=$1 port=$2 table=$3 opts=${4:-} tps lat rec
	pgbench_queries "$OUT/scripts_$table" "$port" "$table" no_filter "$opts" || return 1
	local key="$port $table $opts $SHARD_EF_NOW"
	rec=${RECALL[$key]:-}
	[ -n "$rec" ] || { rec=$(recall "$port" "$table" "$opts"); RECALL[$key]=$rec; }
	printf "%-36s %8.1f qps %7.2f ms  recall@10 %s\n" "$label" "$tps" "$lat" "$rec"
}

# The same with own_filter
run_filter() {	# label port table [PGOPTIONS]
	local label=$1 port=$2 table=$3 opts=${4:-} tps lat
	pgbench_queries "$OUT/scripts_filter_$table" "$port" "$table" own_filter "$opts" || return 1
	printf "%-36s %8.1f qps %7.2f ms\n" "$label" "$tps" "$lat"
}

# hnsw.ef_search on the shards behind the *_ef servers (their libpq options)
SHARD_EF_NOW=
set_shard_ef() {
	local sql="" i
	for i in 1 2 3; do
		sql="$sql ALTER SERVER shard${i}_ef OPTIONS (SET options '-c hnsw.ef_search=$1');"
	done
	psql_p $C -c "\"$sql\""
	SHARD_EF_NOW=$1
}

if [ "$TABLE" = 1 ]; then
	set_shard_ef "$EF_SHARD"
	for CLIENTS in $CLIENT_LIST; do
		echo "rows $ROWS, 100 of $NQ glove-100 queries, $CLIENTS clients, ${SECS}s each; $(nproc) CPUs shared by all clusters and pgbench; load $(cut -d' ' -f1-3 /proc/loadavg)"
		run "single node (local table)" $C single
		run "1 shard, queried directly" $((PORT + 1)) s1_p0
		run "1 shard via coordinator" $C sh1
		run "2 shards via coordinator" $C sh2
		run "3 shards via coordinator" $C sh3
		run "2 shards, ef_search $EF_SHARD on shards" $C sh2ef
		run "3 shards, ef_search $EF_SHARD on shards" $C sh3ef
		run "2 shards, plan cache off" $C sh2 "-c ruvector.shard_plan_cache=off"
		run "2 shards, shard_direct off" $C sh2 "-c ruvector.shard_direct=off"
		run "2 shards, shard_pushdown off" $C sh2 "-c ruvector.shard_pushdown=off"
	done
fi

# The same-recall frontier, interleaved: every configuration once per round
if [ "$ROUNDS" -gt 0 ]; then
	CLIENTS=$FRONTIER_CLIENTS
	SECS=$FRONTIER_SECS
	echo "frontier: $ROUNDS rounds, $CLIENTS clients, ${SECS}s each; single node ef_search $EF_SINGLE; 2 shards ef_search $EF_SHARDS"
	for r in $(seq 1 "$ROUNDS"); do
		echo "round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
		for ef in $EF_SINGLE; do
			run "single node, ef_search $ef" $C single "-c hnsw.ef_search=$ef"
		done
		for ef in $EF_SHARDS; do
			set_shard_ef "$ef"
			run "2 shards, ef_search $ef on shards" $C sh2ef
		done
		run "2 shards, ef_search $ef, plan cache off" $C sh2ef "-c ruvector.shard_plan_cache=off"
		if [ "$FILTER" = 1 ]; then
			run_filter "single node, filter, ef_search 40" $C single "-c hnsw.ef_search=40"
			run_filter "2 shards, filter, ef_search $ef" $C sh2ef
		fi
	done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
