#!/usr/bin/env bash
# bench/graph/run.sh — Cypher throughput, RuVector against Apache AGE, on the
# same generated social graph (N people, 10 KNOWS relationships each).
#
#   PGBIN=/path/to/pg15/bin PGHOST=/tmp PGPORT=5432 PGUSER=postgres \
#       bench/graph/run.sh [N] [seconds] [clients] [rounds]
#
# Needs both extensions installed in one PostgreSQL 15 (AGE 1.5, built from
# apache/age branch PG15 outside this repository); neither may be in
# shared_preload_libraries, since a backend cannot load both.  It
#
#   1. creates the databases rvbench and agebench and loads the same graph
#      into each (load_ruvector.sql, load_age.sql); REUSE=1 keeps graphs of
#      the right size that an earlier run loaded;
#   2. reads both graphs into the buffer cache, runs every query once on
#      both, for a fixed sample of start nodes, and stops unless both return
#      the same rows (as sorted text);
#   3. times each query with pgbench (simple protocol, the start node drawn
#      at random per transaction), the two systems alternating for the given
#      number of rounds so that load from elsewhere hits both alike, and
#      prints a Markdown table of the median transactions per second and of
#      the server's CPU time per query (the backends' user + system time,
#      read from the postmaster's /proc entry when the server is local; on
#      a shared machine this is the steadier figure).
#
# ONLY='regex' times only the queries whose name matches (grep -E).
#
# The same Cypher text runs on both.  Shortest path and vector-ranked MATCH
# run on RuVector alone: AGE 1.5 has neither.
set -euo pipefail

N=${1:-100000}
SECS=${2:-10}
CLIENTS=${3:-2}
ROUNDS=${4:-3}
BIN=${PGBIN:?set PGBIN to the PostgreSQL 15 bin directory}
HOST=${PGHOST:-/tmp}
PORT=${PGPORT:-5432}
USER_=${PGUSER:-postgres}
HERE=$(cd "$(dirname "$0")" && pwd)
PSQL="$BIN/psql -X -q -v ON_ERROR_STOP=1 -h $HOST -p $PORT -U $USER_"
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

loaded()
{
	local rv age
	rv=$($PSQL -At -d rvbench -c "SELECT nodes || '/' || edges FROM ruvector_graphs() WHERE name = 'social'" 2>/dev/null || true)
	age=$($PSQL -At -d agebench -c "SELECT (SELECT count(*) FROM social.\"Person\") || '/' || (SELECT count(*) FROM social.\"KNOWS\")" 2>/dev/null || true)
	[ "$rv" = "$N/$((N * 10))" ] && [ "$age" = "$N/$((N * 10))" ]
}

load()
{
	$PSQL -d postgres -c "DROP DATABASE IF EXISTS rvbench" -c "DROP DATABASE IF EXISTS agebench" \
		-c "CREATE DATABASE rvbench" -c "CREATE DATABASE agebench"
	$PSQL -d rvbench -c "CREATE EXTENSION ruvector"
	$PSQL -d agebench -c "CREATE EXTENSION age" \
		-c "ALTER DATABASE agebench SET session_preload_libraries = 'age'" \
		-c "ALTER DATABASE agebench SET search_path = ag_catalog, \"\$user\", public"
	echo "loading $N nodes, $((N * 10)) relationships into each" >&2
	$PSQL -d rvbench -v n="$N" -f "$HERE/load_ruvector.sql" >/dev/null
	$PSQL -d agebench -v n="$N" -f "$HERE/load_age.sql" >/dev/null
}

# name | Cypher with :id (and :id2) | result columns (the names AGE's
# column definition list needs), or - for RuVector alone
QUERIES=(
	"point lookup|MATCH (p:Person {id: :id}) RETURN p.name|a"
	"1-hop|MATCH (p:Person {id: :id})-[:KNOWS]->(f) RETURN f.id|a"
	"2-hop|MATCH (p:Person {id: :id})-[:KNOWS]->()-[:KNOWS]->(f) RETURN f.id|a"
	"2-hop, WHERE form|MATCH (p:Person)-[:KNOWS]->(x)-[:KNOWS]->(f) WHERE p.id = :id RETURN x.id, f.name|a b"
	"3-hop count|MATCH (p:Person {id: :id})-[:KNOWS]->()-[:KNOWS]->()-[:KNOWS]->(f) RETURN count(f)|a"
	"var-length *1..3 count|MATCH (p:Person {id: :id})-[:KNOWS*1..3]->(f) RETURN count(f)|a"
	"shortest path|MATCH p = shortestPath((a:Person {id: :id})-[:KNOWS*..8]->(b:Person {id: :id2})) RETURN length(p)|-"
	"vector-ranked MATCH (hnsw)|MATCH (p:Person) WHERE p.age > 30 RETURN p.id ORDER BY vector.distance(p.embedding, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]) LIMIT 10|-"
)

# "a b" -> "a TYPE, b TYPE"
coldefs()
{
	echo "$1" | sed -E "s/([a-z]+)/\1 $2,/g; s/, *$//"
}

rv_sql()
{
	printf "SELECT * FROM ruvector_cypher('social', \$cy\$%s\$cy\$);\n" "$1"
}

age_sql()
{
	printf "SELECT * FROM cypher('social', \$cy\$%s\$cy\$) AS (%s);\n" "$1" "$(coldefs "$2" agtype)"
}

# Both systems' rows for one start node, as sorted lines of values (jsonb
# and agtype print scalars alike), columns in RETURN order.
answers()
{
	local q=$1 cols=$2 id=$3
	q=${q//:id2/$((N - id + 1))}
	q=${q//:id/$id}
	$PSQL -At -F '|' -d rvbench -c "SELECT * FROM ruvector_cypher_rows('social', \$cy\$$q\$cy\$) AS ($(coldefs "$cols" jsonb))" | sort >"$WORK/rv"
	$PSQL -At -F '|' -d agebench -c "$(age_sql "$q" "$cols")" | sort >"$WORK/age"
}

# Stops the run unless both systems agree on every sampled start node (the
# first three only for variable-length patterns, which take AGE 20 to 40
# seconds each on the 100,000-node graph).
check()
{
	local name=$1 q=$2 cols=$3 rows=0 ids n=0
	ids="1 17 99 777 4242 12345 31337 $((N / 3)) $((N / 2)) $((N - 3))"
	case $q in *"*1.."*) ids="1 4242 $((N / 2))" ;; esac
	for id in $ids; do
		[ "$id" -ge 1 ] && [ "$id" -le "$N" ] || continue
		n=$((n + 1))
		answers "$q" "$cols" "$id"
		if ! cmp -s "$WORK/rv" "$WORK/age"; then
			echo "$name: RuVector and AGE differ for id $id:" >&2
			diff "$WORK/rv" "$WORK/age" | head -20 >&2
			exit 1
		fi
		rows=$((rows + $(wc -l <"$WORK/rv")))
	done
	echo "$name: identical on $n start nodes ($rows rows)" >&2
	checked[$name]=$n
}

# The CPU time (user + system, in clock ticks) of every server process that
# has exited: the postmaster's cutime + cstime.  pgbench's backends exit at
# the end of a run, so the difference over a run is the server's CPU for its
# transactions (plus the odd autovacuum worker) - a figure that load from
# elsewhere on the machine disturbs far less than transactions per second.
PMSTAT=
datadir=$($PSQL -At -d postgres -c "SHOW data_directory" 2>/dev/null || true)
if [ -r "$datadir/postmaster.pid" ]; then
	PMSTAT=/proc/$(head -1 "$datadir/postmaster.pid")/stat
fi
TICK=$(getconf CLK_TCK)
server_ticks()
{
	if [ -n "$PMSTAT" ] && [ -r "$PMSTAT" ]; then
		awk '{ print $16 + $17 }' "$PMSTAT"
	else
		echo 0
	fi
}

# "tps cpu-ms-per-transaction" of one pgbench run (cpu 0 when the server's
# process table is not readable here); fails on any client error.
tps()
{
	local db=$1 file=$2 out before after
	before=$(server_ticks)
	out=$("$BIN/pgbench" -h "$HOST" -p "$PORT" -U "$USER_" -n -M simple --random-seed=42 \
		-T "$SECS" -c "$CLIENTS" -j "$CLIENTS" -f "$file" "$db" 2>&1) || {
		echo "pgbench failed on $db:" >&2
		echo "$out" | tail -5 >&2
		exit 1
	}
	sleep 0.5 # the postmaster reaps the exited backends
	after=$(server_ticks)
	echo "$out" | awk -v d=$((after - before)) -v hz="$TICK" '
		/^number of transactions actually processed/ { n = $NF }
		/^tps/ { t = $3 }
		END { printf "%.1f %.3f", t, (n > 0 ? d * 1000 / hz / n : 0) }'
}

declare -A checked

median()
{
	tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

if [ "${REUSE:-0}" = 1 ] && loaded; then
	echo "reusing the loaded graphs" >&2
else
	load
fi
$PSQL -d rvbench -c "SELECT ruvector_graph_vector_index('social', 'Person', 'embedding', 16)
					 WHERE NOT EXISTS (SELECT FROM ruvector_graph_vector_index JOIN ruvector_graph USING (graph_id) WHERE name = 'social')" >/dev/null

# Both graphs into the buffer cache (pg_prewarm when the server has it,
# else a read of every table and index page through a scan), so that the
# first system timed does not pay the disk reads for the second.
prewarm()
{
	local db=$1 filter=$2
	if $PSQL -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" 2>/dev/null; then
		$PSQL -At -d "$db" -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
							   WHERE c.relkind IN ('r', 'i', 't') AND $filter" >/dev/null
	fi
}
prewarm rvbench "c.relname LIKE 'ruvector_graph%'"
prewarm agebench "n.nspname = 'social'"

if [ -n "${ONLY:-}" ]; then
	kept=()
	for e in "${QUERIES[@]}"; do
		if echo "${e%%|*}" | grep -Eq -- "$ONLY"; then kept+=("$e"); fi
	done
	QUERIES=("${kept[@]}")
fi

for e in "${QUERIES[@]}"; do
	IFS='|' read -r name q cols <<<"$e"
	if [ "$cols" != - ]; then
		check "$name" "$q" "$cols"
	else
		# RuVector alone: it must at least run
		q1=${q//:id2/$((N / 2))}
		q1=${q1//:id/1}
		$PSQL -d rvbench -c "$(rv_sql "$q1")" >/dev/null
	fi
done

echo "| query | RuVector tps | AGE tps | ratio | RuVector server CPU ms/query | AGE server CPU ms/query | CPU ratio | results |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for e in "${QUERIES[@]}"; do
	IFS='|' read -r name q cols <<<"$e"
	{
		echo "\\set id random(1, $N)"
		echo "\\set id2 random(1, $N)"
		rv_sql "$q"
	} >"$WORK/rv.sql"
	{
		echo "\\set id random(1, $N)"
		if [ "$cols" != - ]; then age_sql "$q" "$cols"; fi
	} >"$WORK/age.sql"
	rvs=""
	rvc=""
	ags=""
	agc=""
	for r in $(seq 1 "$ROUNDS"); do
		read -r t c <<<"$(tps rvbench "$WORK/rv.sql")"
		rvs="$rvs $t"
		rvc="$rvc $c"
		if [ "$cols" != - ]; then
			read -r t c <<<"$(tps agebench "$WORK/age.sql")"
			ags="$ags $t"
			agc="$agc $c"
		fi
	done
	rv=$(echo "$rvs" | median)
	rc=$(echo "$rvc" | median)
	echo "$name: RuVector tps$rvs, CPU ms$rvc; AGE tps${ags:- -}, CPU ms${agc:- -}" >&2
	if [ "$cols" != - ]; then
		ag=$(echo "$ags" | median)
		ac=$(echo "$agc" | median)
		ratio=$(awk -v a="$rv" -v b="$ag" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
		cratio=$(awk -v a="$rc" -v b="$ac" 'BEGIN { if (a > 0) printf "%.1fx", b / a; else print "-" }')
		same="identical (${checked[$name]} start nodes)"
	else
		ag="n/a"
		ac="n/a"
		ratio="-"
		cratio="-"
		same="(RuVector only)"
	fi
	echo "| $name | $rv | $ag | $ratio | $rc | $ac | $cratio | $same |"
done
