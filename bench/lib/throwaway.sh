# bench/lib/throwaway.sh — sourced by benchmark scripts that need their own
# short-lived PostgreSQL cluster (bench/io/rerank_cold.sh,
# bench/tier/tier_worker.sh).  The caller sets BIN (PostgreSQL's bin
# directory) and PORT, then:
#
#   rvb_cluster NAME [postgresql.conf line ...]
#       makes DIR (a temp directory), initdb as the postgres user when run
#       as root, appends the settings, starts the server, defines PSQL and a
#       trap that stops the server and removes DIR at exit
#   rvb_fvecs_copy FILE N [OFFSET]
#       N rows of an .fvecs file as COPY text lines "id<TAB>[x,y,...]",
#       ids OFFSET+1..OFFSET+N
#   rvb_evict_script
#       writes $DIR/evict.py: python3 $DIR/evict.py PATH drops the relation
#       file PATH and its segments from the page cache (posix_fadvise
#       DONTNEED; pages must be clean: CHECKPOINT and sync first)

rvb_run()
{
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/bash -c "$*"
	else
		bash -c "$*"
	fi
}

rvb_cleanup()
{
	rvb_run "$BIN/pg_ctl -D $DIR/pg -m immediate stop" >/dev/null 2>&1 || true
	rm -rf "$DIR"
}

rvb_cluster()
{
	local name=$1
	shift
	DIR=$(mktemp -d "/tmp/rv_$name.XXXXXX")
	[ "$(id -u)" != 0 ] || chown postgres "$DIR"
	trap rvb_cleanup EXIT
	rvb_run "$BIN/initdb -D $DIR/pg -U postgres -A trust --no-sync" >/dev/null
	{
		echo "port = $PORT"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '/tmp'"
		for line in "$@"; do echo "$line"; done
	} >>"$DIR/pg/postgresql.conf"
	rvb_run "$BIN/pg_ctl -D $DIR/pg -l $DIR/log -w start" >/dev/null
	PSQL="$BIN/psql -X -q -h /tmp -p $PORT -U postgres -d postgres -v ON_ERROR_STOP=1"
}

rvb_fvecs_copy()
{
	python3 - "$1" "$2" "${3:-0}" <<'PY'
import struct, sys
path, n, off = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, 'rb') as f:
    for i in range(n):
        h = f.read(4)
        if len(h) < 4:
            break
        d = struct.unpack('<i', h)[0]
        v = struct.unpack('<%df' % d, f.read(4 * d))
        print('%d\t[%s]' % (off + i + 1, ','.join('%.6g' % x for x in v)))
PY
}

rvb_evict_script()
{
	cat >"$DIR/evict.py" <<'PY'
import glob, os, sys
base = sys.argv[1]
for f in [base] + sorted(glob.glob(base + '.[0-9]*')):
    fd = os.open(f, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
	chmod 644 "$DIR/evict.py"
}
