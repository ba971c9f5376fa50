#!/usr/bin/env bash
# demo.sh — the README's first command: on a fresh Debian bookworm machine (as
# root) install what RuVector needs, build and install it, start a private
# cluster (data in .pgdata/ inside the checkout, run as postgres, port 5488)
# and show the main job: pgvector's SQL, unchanged, on RuVector.
set -euo pipefail
. "$(dirname "$0")/common.sh"
rv_need_root
rv_install_packages
rv_build_install
DATA="$RV_ROOT/.pgdata"
PORT=${RV_DEMO_PORT:-5488}
rv_start_cluster "$DATA" "$PORT"

rv_log "demo: pgvector SQL on RuVector (psql -h /tmp -p $PORT -U postgres ruvector_demo)"
psql -h /tmp -p "$PORT" -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS ruvector_demo" -c "CREATE DATABASE ruvector_demo"
psql -h /tmp -p "$PORT" -U postgres -d ruvector_demo -v ON_ERROR_STOP=1 -e -f "$RV_ROOT/scripts/demo.sql"
rv_log "the cluster is still running; stop it with: su postgres -c '$RV_PGBIN/pg_ctl -D $DATA stop'"
