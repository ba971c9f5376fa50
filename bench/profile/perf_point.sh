#!/bin/bash
# bench/profile/perf_point.sh DB SECONDS OUT [PORT]
#
# Waits until a backend of database DB runs ruvector-bench's top-k query
# (its prepared "SELECT id FROM ... ORDER BY embedding" or the literal
# form), lets it run 3 s more (warm-up), then records that backend with
# perf (DWARF call stacks, 1999 Hz) for SECONDS and writes OUT (perf.data)
# and OUT.phases (bench/profile/phases.py's fold).  Run it in the
# background beside ruvector-bench --min-seconds long enough to cover it.
set -euo pipefail
db=$1 secs=$2 out=$3 port=${4:-5432}
psql=${RV_PGBIN:-/usr/lib/postgresql/15/bin}/psql
here=$(cd "$(dirname "$0")" && pwd)
pid=
for _ in $(seq 1 3000); do
	pid=$($psql -h /tmp -p "$port" -U postgres -d postgres -Atc \
		"SELECT pid FROM pg_stat_activity WHERE datname = '$db'
		   AND query ~ '^SELECT id FROM \\S+ ORDER BY embedding' LIMIT 1" 2>/dev/null || true)
	[ -n "$pid" ] && break
	sleep 0.2
done
[ -n "$pid" ] || { echo "no query backend in $db" >&2; exit 1; }
sleep 3
perf record -q -F 1999 --call-graph dwarf,16384 -p "$pid" -o "$out" -- sleep "$secs" 2>/dev/null
perf script -i "$out" -F comm,tid,period,ip,sym,dso 2>/dev/null | "$here/phases.py" --top 8 > "$out.phases"
echo "$db backend $pid: $out.phases"
