#!/usr/bin/env bash
# test/pgvector_tap.sh — pgvector's own TAP tests (test/t/*.pl of a pgvector
# checkout) against the installed ruvector: the compatibility spec for
# crash recovery, WAL, VACUUM, recall, filtering, iterative scans and costs.
#
#   PGVECTOR_SRC=/path/to/pgvector test/pgvector_tap.sh [NNN_name.pl ...]
#
# The files are copied to a scratch directory outside the checkout and the
# one line that names the extension (CREATE EXTENSION vector) is rewritten to
# ruvector; nothing else changes and nothing is kept in this repository.
# Runs prove as the postgres user (initdb refuses root).  Takes 8 CPU-minutes
# (40 wall-clock minutes on two busy cores), so test/run runs it only with
# RV_PGVECTOR_TAP=1.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"
rv_need_root
: "${PGVECTOR_SRC:?set PGVECTOR_SRC to a pgvector checkout}"

PGXS_DIR=$("$RV_PGBIN/pg_config" --pgxs | xargs dirname | xargs dirname)
WORK=$(mktemp -d /tmp/rv-pgvector-tap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/t"
if [ $# -gt 0 ]; then
	for f in "$@"; do cp "$PGVECTOR_SRC/test/t/$f" "$WORK/t/"; done
else
	cp "$PGVECTOR_SRC"/test/t/*.pl "$WORK/t/"
fi
n=$(grep -l 'CREATE EXTENSION vector' "$WORK"/t/*.pl | wc -l)
sed -i 's/CREATE EXTENSION vector\b/CREATE EXTENSION ruvector/' "$WORK"/t/*.pl
chown -R postgres:postgres "$WORK"
chmod 755 "$WORK"

rv_log "pgvector's TAP tests against ruvector ($(ls "$WORK"/t | wc -l) files, $n create the extension)"
su postgres -s /bin/bash -c "cd '$WORK' && TESTDIR='$WORK' PATH='$RV_PGBIN':\$PATH \
	PG_REGRESS='$PGXS_DIR/test/regress/pg_regress' \
	prove -I '$PGXS_DIR/test/perl/' t/*.pl"
