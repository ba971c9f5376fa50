#!/usr/bin/env bash
# bench/graph/compare.sh — runs the same Cypher queries on RuVector and on
# Apache AGE and shows where the answers differ.
#
#   PGBIN=... PGHOST=/tmp PGPORT=5432 PGUSER=postgres \
#       bench/graph/compare.sh SETUP.cypher QUERIES.txt
#
# SETUP.cypher: Cypher statements, one per line, run on both to build the
# graph 'cmp' (recreated in the databases rvcompare and agecompare).
# QUERIES.txt: one query per line as "COLUMNS|QUERY", COLUMNS naming the
# RETURN items ("a b" for two), as AGE's column definition list needs them.
# Rows are compared as text (jsonb and agtype print scalars, lists and maps
# alike), in order when the query has ORDER BY, otherwise sorted.  Prints
# one line per query (same, DIFF or ERROR) with both answers when they
# differ; the exit status is the number of queries that differ.
set -uo pipefail

SETUP=${1:?setup file}
QUERIES=${2:?queries file}
BIN=${PGBIN:?set PGBIN to the PostgreSQL 15 bin directory}
PSQL="$BIN/psql -X -q -h ${PGHOST:-/tmp} -p ${PGPORT:-5432} -U ${PGUSER:-postgres}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

coldefs()
{
	echo "$1" | sed -E "s/([a-z]+)/\\1 $2,/g; s/, *$//"
}

$PSQL -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS rvcompare" -c "DROP DATABASE IF EXISTS agecompare" \
	-c "CREATE DATABASE rvcompare" -c "CREATE DATABASE agecompare" >/dev/null || exit 100
$PSQL -d rvcompare -v ON_ERROR_STOP=1 -c "CREATE EXTENSION ruvector" -c "SELECT ruvector_create_graph('cmp')" >/dev/null || exit 100
$PSQL -d agecompare -v ON_ERROR_STOP=1 -c "CREATE EXTENSION age" \
	-c "ALTER DATABASE agecompare SET session_preload_libraries = 'age'" \
	-c "ALTER DATABASE agecompare SET search_path = ag_catalog, \"\$user\", public" >/dev/null || exit 100
$PSQL -d agecompare -v ON_ERROR_STOP=1 -c "SELECT create_graph('cmp')" >/dev/null || exit 100
while IFS= read -r q; do
	[ -z "$q" ] && continue
	$PSQL -d rvcompare -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM ruvector_cypher('cmp', \$cy\$$q\$cy\$)" >/dev/null || exit 100
	$PSQL -d agecompare -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM cypher('cmp', \$cy\$$q\$cy\$) AS (v agtype)" >/dev/null || exit 100
done <"$SETUP"

differ=0
while IFS='|' read -r cols q; do
	[ -z "$q" ] && continue
	order=cat
	case $q in *"ORDER BY"*) ;; *) order=sort ;; esac
	$PSQL -At -F ' | ' -d rvcompare -c "SELECT * FROM ruvector_cypher_rows('cmp', \$cy\$$q\$cy\$) AS ($(coldefs "$cols" jsonb))" \
		>"$WORK/rv" 2>"$WORK/rv.err"
	$PSQL -At -F ' | ' -d agecompare -c "SELECT * FROM cypher('cmp', \$cy\$$q\$cy\$) AS ($(coldefs "$cols" agtype))" \
		>"$WORK/age" 2>"$WORK/age.err"
	$order "$WORK/rv" >"$WORK/rv.s"
	$order "$WORK/age" >"$WORK/age.s"
	if [ -s "$WORK/rv.err" ] || [ -s "$WORK/age.err" ]; then
		if [ -s "$WORK/rv.err" ] && [ -s "$WORK/age.err" ]; then
			echo "both fail  $q"
		else
			echo "ERROR      $q"
			differ=$((differ + 1))
		fi
		sed 's/^/    RuVector: /' "$WORK/rv.err" | head -2
		sed 's/^/    AGE:      /' "$WORK/age.err" | head -2
	elif cmp -s "$WORK/rv.s" "$WORK/age.s"; then
		echo "same       $q"
	else
		echo "DIFF       $q"
		differ=$((differ + 1))
		paste -d '\n' <(sed 's/^/    RuVector: /' "$WORK/rv.s" | head -8) <(sed 's/^/    AGE:      /' "$WORK/age.s" | head -8)
	fi
done <"$QUERIES"
exit $differ
