#!/bin/bash
#
# bench/scale/run.sh — HNSW at 100K, 300K and 1M rows, RuVector beside
# pgvector 0.8 in one server (issue 19 item 6).
#
# One step per call, so that only the timed parts hold the bench lock
# (/tmp/rv-bench.lock, taken with flock -o so that no server inherits it)
# and each locked part stays short; generation and loading run unlocked at
# nice 15.  Every locked step logs `uptime` before and after it.
#
#   gen                 the driver's clustered set (NMAX x DIM, NQ queries),
#                       then for each N the first N rows with their exact
#                       ground truth (brute force), in $DATA/set<DIM>_<N>
#   load N              table rvb<DIM>_<N> in both databases (driver
#                       --load-only: COPY BINARY, btree on tag, VACUUM ANALYZE)
#   build N MWM [T [ruvector|pgvector]]
#                       CREATE INDEX ... USING hnsw (m 16, ef_construction 64)
#                       on each side, serial (max_parallel_maintenance_workers
#                       0), at maintenance_work_mem MWM, at most T (a
#                       statement_timeout, default 14min): wall seconds,
#                       backend CPU seconds (/proc/PID/schedstat), peak
#                       anonymous memory of the backend (RssAnon, sampled every
#                       0.2 s) and its VmHWM, the on-disk NOTICE, index MB and,
#                       when cut short, the rows inserted by then
#                       (pg_stat_progress_create_index).  One line per build in
#                       $OUT/builds.tsv.  The order alternates with each call.
#                       With NOLOCK=1 the build backend is reniced to 15
#                       (its CPU seconds still compare; its wall time does not).
#   query N PARAMS      ruvector-bench --reuse --keep-index on the built index:
#                       ef_search sweep, top-10, one client, PARAMS binary,
#                       text or binary,text (both in one hold of the lock)
#                       (recall@10, p50, p99, QPS, server CPU per query)
#   bulk N ROWS         ruvector-bench --keep-index --bulk ROWS: one COPY of
#                       ROWS new rows into the indexed N-row table, each side
#                       (the rows are deleted afterwards but not vacuumed, so
#                       run it after the query steps of that N)
#
# Environment: RV_PGBIN (required), PORT (5625), DATA (/tmp/rv_scale), DIM
# (128), NMAX (1000000), NQ (1000), SIZES ("100000 300000 1000000"), OUT
# ($DATA/out), EF ("10,20,40,80,120,200,400"), REPEAT (3), MINSEC (2),
# NOLOCK=1 (no lock, nice 15: times not comparable).  The server must have
# both extensions installed and neither preloaded; the databases are
# rvbench_ruvector and rvbench_pgvector (the driver creates them).
#
# Example (bench/RESULTS.md, "HNSW at 1M rows"):
#   RV_PGBIN=/opt/pgK/usr/lib/postgresql/15/bin PORT=5625 bench/scale/run.sh gen
#   for n in 100000 300000 1000000; do bench/scale/run.sh load $n; done
#   bench/scale/run.sh build 1000000 2GB; bench/scale/run.sh query 1000000 text
#
set -euo pipefail

: "${RV_PGBIN:?set RV_PGBIN to the PostgreSQL bin directory}"
PORT=${PORT:-5625}
DATA=${DATA:-/tmp/rv_scale}
DIM=${DIM:-128}
NMAX=${NMAX:-1000000}
NQ=${NQ:-1000}
SIZES=${SIZES:-"100000 300000 1000000"}
OUT=${OUT:-$DATA/out}
EF=${EF:-10,20,40,80,120,200,400}
REPEAT=${REPEAT:-3}
MINSEC=${MINSEC:-2}
here=$(cd "$(dirname "$0")/../.." && pwd)
driver=$here/bench/ruvector-bench
RV_DSN="host=/tmp port=$PORT user=postgres dbname=rvbench_ruvector"
PG_DSN="host=/tmp port=$PORT user=postgres dbname=rvbench_pgvector"
LOCK=(flock -o /tmp/rv-bench.lock)
[ "${NOLOCK:-0}" = 1 ] && LOCK=(nice -n 15)
mkdir -p "$OUT"

log() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/log.txt" >&2; }
# run "$@" holding the lock; uptime is logged once it is held and when done
locked() { # label, then the command
	local label=$1
	shift
	export OUT
	"${LOCK[@]}" bash -c 'echo "[$(date -u +%T)] $0: lock held, uptime: $(uptime)" >>"$OUT/log.txt"
		"$@"; rc=$?
		echo "[$(date -u +%T)] $0: done, uptime: $(uptime)" >>"$OUT/log.txt"
		exit $rc' "$label" "$@"
}
psqlx() { # db, then psql arguments
	local db=$1
	shift
	"$RV_PGBIN/psql" -X -q -h /tmp -p "$PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"
}
set_dir() { echo "$DATA/set${DIM}_$1"; }
table() { echo "rvb${DIM}_$1"; }
[ -x "$driver" ] || make -C "$here" bench/ruvector-bench PG_CONFIG="$RV_PGBIN/pg_config" >/dev/null

step_gen() {
	local full=$DATA/set${DIM}_full
	[ -s "$full/base.fvecs" ] ||
		nice -n 15 "$driver" --synthetic "n=$NMAX,dim=$DIM,queries=$NQ" --save-data "$full" \
			--ruvector-dsn none --pgvector-dsn none --out "$OUT/gen_full" --no-progress 2>&1 |
		grep -v 'no target can run' || true
	for n in $SIZES; do
		[ -s "$(set_dir "$n")/base.fvecs" ] && continue
		if [ "$n" = "$NMAX" ]; then
			ln -sfn "$full" "$(set_dir "$n")"
			continue
		fi
		nice -n 15 "$driver" --data "$full" --limit-base "$n" --save-data "$(set_dir "$n")" \
			--ruvector-dsn none --pgvector-dsn none --out "$OUT/gen_$n" --no-progress 2>&1 |
			grep -v 'no target can run' || true
	done
	ls -l "$DATA"/set"${DIM}"_*
}

step_load() {
	local n=$1
	nice -n 15 "$driver" --data "$(set_dir "$n")" --table "$(table "$n")" --reuse --keep-index \
		--load-only --ruvector-dsn "$RV_DSN" --pgvector-dsn "$PG_DSN" \
		--out "$OUT/load_$n" --no-progress >/dev/null
	tail -n +1 "$OUT/load_$n/summary.txt" | grep -E 'load|reused|tag_index|vacuum' || true
}

# sample the build backend: peak RssAnon and VmHWM (kB), CPU ns at the end
watch_backend() { # pid file
	local pid=$1 file=$2 peak=0 hwm=0 cpu0 cpu=0 a h
	read -r cpu0 _ <"/proc/$pid/schedstat"
	while [ -r "/proc/$pid/status" ]; do
		a=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
		h=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
		read -r c _ 2>/dev/null <"/proc/$pid/schedstat" || break
		[ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
		[ -n "$h" ] && hwm=$h
		cpu=$c
		echo "$peak $hwm $(((cpu - cpu0) / 1000000))" >"$file"
		[ -e "$file.stop" ] && break
		sleep 0.2
	done
}

build_one() { # db n mwm timeout
	local db=$1 n=$2 mwm=$3 timeout=$4 tab pid err t0 t1 secs st idx done_rows
	tab=$(table "$n")
	psqlx "$db" -c "SET client_min_messages = warning" -c "DROP INDEX IF EXISTS ${tab}_vidx" -c "CHECKPOINT"
	# names of their own: two builds (unlocked, NOLOCK=1) may run at once
	local watch=$OUT/watch_${db}_$tab
	rm -f "$watch" "$watch.stop"
	err=$OUT/build_${db}_$tab.err
	t0=$(date +%s.%N)
	# the backend sleeps 1 s before the build so that its pid is known first
	psqlx "$db" >"${err%.err}.out" 2>"$err" <<SQL &
SET application_name = 'rv_scale_build_$tab';
SET maintenance_work_mem = '$mwm';
SET max_parallel_maintenance_workers = 0;
SET client_min_messages = notice;
SET statement_timeout = '$timeout';
SELECT pg_sleep(1);
\\timing on
CREATE INDEX ${tab}_vidx ON $tab USING hnsw (embedding vector_l2_ops)
	WITH (m = 16, ef_construction = 64);
\\timing off
SELECT pg_sleep(0.5);
SQL
	local bg=$!
	pid=""
	while [ -z "$pid" ]; do
		pid=$(psqlx "$db" -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'rv_scale_build_$tab' AND datname = current_database()")
		[ -n "$pid" ] || sleep 0.1
	done
	# unlocked builds run at nice 15: the backend does the work, not psql
	[ "${NOLOCK:-0}" = 1 ] && renice -n 15 -p "$pid" >/dev/null
	watch_backend "$pid" "$watch" &
	local wpid=$!
	sleep 1
	t0=$(date +%s.%N)
	done_rows=""
	while kill -0 "$bg" 2>/dev/null; do
		st=$(psqlx "$db" -At -c "SELECT tuples_done FROM pg_stat_progress_create_index WHERE pid = $pid" 2>/dev/null || true)
		[ -n "$st" ] && done_rows=$st
		sleep 2
	done
	wait "$bg" && st=ok || st=failed
	t1=$(date +%s.%N)
	touch "$watch.stop"
	wait "$wpid" || true
	# psql's \timing of the CREATE INDEX; the wall clock when it printed none
	secs=$(awk '/^Time:/ {printf "%.1f", $2 / 1000}' "${err%.err}.out")
	[ -n "$secs" ] || secs=$(echo "$t1 $t0" | awk '{printf "%.1f", $1 - $2 - 0.5}')
	read -r peak hwm cpu <"$watch"
	idx=$(psqlx "$db" -At -c "SELECT coalesce(pg_relation_size(to_regclass('${tab}_vidx')), 0) / 1048576")
	grep -q 'canceling statement due to statement timeout' "$err" && st="cut at $timeout after $done_rows rows"
	local ondisk
	ondisk=$(grep -o 'no longer fits into maintenance_work_mem after [0-9]* tuples' "$err" | grep -o '[0-9]*' || echo no)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$n" "${db#rvbench_}" "$mwm" \
		"$secs" "$(echo "$cpu" | awk '{printf "%.1f", $1 / 1000}')" "$(echo "$peak" | awk '{print $1 / 1024}')" \
		"$(echo "$hwm" | awk '{print $1 / 1024}')" "$ondisk" "$idx" "$st" | tee -a "$OUT/builds.tsv"
}

step_build() {
	local n=$1 mwm=$2 timeout=${3:-14min} only=${4:-both} first second
	[ -s "$OUT/builds.tsv" ] ||
		printf 'when\trows\ttarget\tmwm\tbuild_s\tcpu_s\tpeak_anon_MB\tvmhwm_MB\ton_disk_after\tindex_MB\tstatus\n' >"$OUT/builds.tsv"
	# alternate which side builds first, call to call
	if [ $(($(wc -l <"$OUT/builds.tsv") / 2 % 2)) = 0 ]; then
		first=rvbench_ruvector second=rvbench_pgvector
	else
		first=rvbench_pgvector second=rvbench_ruvector
	fi
	for db in $first $second; do
		[ "$only" = both ] || [ "$db" = "rvbench_$only" ] || continue
		export -f build_one watch_backend psqlx table
		export OUT RV_PGBIN PORT DIM NOLOCK
		log "build $n $mwm $db: uptime before: $(uptime)"
		locked "build $n $mwm $db" bash -c "build_one $db $n $mwm $timeout"
		log "build $n $mwm $db: uptime after: $(uptime)"
	done
}

query_one() { # n params
	local n=$1 params=$2
	"$driver" --data "$(set_dir "$n")" --table "$(table "$n")" --reuse --keep-index \
		--index hnsw:m=16:efc=64 --ef "$EF" --k 10 --concurrency 1 --filters none \
		--rerank none --inserts 0 --bulk 0 --params "$params" --min-seconds "$MINSEC" \
		--repeat "$REPEAT" --ruvector-dsn "$RV_DSN" --pgvector-dsn "$PG_DSN" \
		--out "$OUT/query_${n}_$params" --no-progress >/dev/null
}

# PARAMS: binary, text or both (binary,text), run one after the other in
# one hold of the lock
step_query() {
	local n=$1 params=$2
	export -f query_one set_dir table
	export driver EF MINSEC REPEAT RV_DSN PG_DSN OUT DATA DIM
	log "query $n $params: uptime before: $(uptime)"
	locked "query $n $params" bash -c "for p in ${params//,/ }; do query_one $n \$p || exit 1; done"
	log "query $n $params: uptime after: $(uptime)"
	for p in ${params//,/ }; do
		sed -n '/^== Queries/,$p' "$OUT/query_${n}_$p/summary.txt"
	done
}

step_bulk() {
	local n=$1 rows=$2 out
	out=$OUT/bulk_${n}_$rows
	log "bulk $n $rows: uptime before: $(uptime)"
	locked "bulk $n $rows" "$driver" --data "$(set_dir "$n")" --table "$(table "$n")" --reuse --keep-index \
		--index hnsw:m=16:efc=64 --ef 40 --k 10 --concurrency 1 --filters none --queries 100 \
		--rerank none --inserts 0 --bulk "$rows" --min-seconds 0.2 --warmup 20 \
		--ruvector-dsn "$RV_DSN" --pgvector-dsn "$PG_DSN" --out "$out" --no-progress >/dev/null
	log "bulk $n $rows: uptime after: $(uptime)"
	grep -i 'bulk' "$out/summary.txt"
}

cmd=${1:?usage: bench/scale/run.sh gen | load N | build N MWM [TIMEOUT [ruvector|pgvector]] | query N binary|text|binary,text | bulk N ROWS}
shift
case $cmd in
	gen) step_gen ;;
	load) step_load "$@" ;;
	build) step_build "$@" ;;
	query) step_query "$@" ;;
	bulk) step_bulk "$@" ;;
	*) echo "unknown step $cmd" >&2; exit 2 ;;
esac
