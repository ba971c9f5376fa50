# common.sh — shared steps of the README's two commands (scripts/demo.sh and
# test/run) and of .ci/run: install the Debian packages the build and tests
# need, build and install the extension, and run a private PostgreSQL 15
# cluster as the postgres user with its data directory inside the checkout.
#
# Sourced, not run.  Everything here is idempotent: a second run reuses what
# the first installed and started.

RV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# RV_PGBIN may name another PostgreSQL 15 tree (a relocated copy lets two
# checkouts build, install and test side by side); PG_CONFIG follows it.
RV_PGBIN=${RV_PGBIN:-/usr/lib/postgresql/15/bin}
export PG_CONFIG="${PG_CONFIG:-$RV_PGBIN/pg_config}"
RV_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-contrib libpq-dev build-essential pkg-config \
liburing-dev libzstd-dev libsodium-dev check libipc-run-perl gnuplot-nox libhnswlib-dev"

rv_log() { printf '\n== [%s] %s\n' "$(date +%T)" "$*"; }

rv_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "run this as root (it installs packages and the extension)" >&2
		exit 1
	fi
}

# Installs only what is missing, so a warm machine does not wait on apt.
rv_install_packages() {
	local missing=()
	for p in $RV_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		rv_log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

rv_build_install() {
	rv_log "building and installing ruvector"
	make -C "$RV_ROOT" -j"$(nproc)" WERROR=1
	make -C "$RV_ROOT" install
}

# The postgres user must be able to reach the checkout (read and traverse):
# give every parent directory the search bit if it lacks it.
rv_make_reachable() {
	local d="$RV_ROOT"
	while [ "$d" != / ]; do
		su postgres -s /bin/sh -c "test -x '$d'" || chmod o+x "$d"
		d=$(dirname "$d")
	done
	# Not the clusters' data directories: PostgreSQL insists they stay private.
	find "$RV_ROOT" \( -path "$RV_ROOT/.pgdata" -o -path "$RV_ROOT/test/out" -o -path "$RV_ROOT/.git" \) -prune \
		-o -exec chmod o+rX {} +
}

# rv_start_cluster DATADIR PORT [extra postgresql.conf lines...]
rv_start_cluster() {
	local data=$1 port=$2
	shift 2
	rv_make_reachable
	if [ ! -s "$data/PG_VERSION" ]; then
		rv_log "creating a cluster in $data (port $port)"
		mkdir -p "$data"
		chown postgres:postgres "$data"
		chmod 700 "$data"
		su postgres -s /bin/sh -c "$RV_PGBIN/initdb -D '$data' -A trust -U postgres --no-sync" >/dev/null
		{
			echo "port = $port"
			echo "listen_addresses = ''"
			echo "unix_socket_directories = '/tmp'"
			echo "fsync = off"
			for line in "$@"; do echo "$line"; done
		} >> "$data/postgresql.conf"
	fi
	if ! su postgres -s /bin/sh -c "$RV_PGBIN/pg_ctl -D '$data' status" >/dev/null 2>&1; then
		su postgres -s /bin/sh -c "$RV_PGBIN/pg_ctl -D '$data' -l '$data/server.log' -w start" >/dev/null
	fi
}

rv_stop_cluster() {
	su postgres -s /bin/sh -c "$RV_PGBIN/pg_ctl -D '$1' -m fast -w stop" >/dev/null 2>&1 || true
}
