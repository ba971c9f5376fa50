#!/usr/bin/env bash
# tableam_figures.sh — the ruvector_heap figures of bench/RESULTS.md (issue 7):
#
#   1. sequential scan of an all-hot ruvector_heap table against heap
#      (same rows, same physical size), CPU and wall time per query;
#   2. stored vector bytes per row in each tier, and compact / training times;
#   3. recall@10 of exact search (ORDER BY <=> LIMIT 10, no index) against
#      the float32 cosine ground truth, with every row in one tier; and the
#      same through an HNSW index built on each table;
#   4. what zstd would save on float32 vectors, compressed one by one as a
#      lossless tier would (glove-100 and cohere-768; needs libzstd-dev).
#
# PQ tables: m = 46 is 8x smaller than float32 on the stored value (51 of
# 408 bytes), m = 25 about 14x.  Exact search over a PQ table decodes every
# row for every query (seconds per query at 100,000 rows), so its recall is
# computed on a plain copy of the decoded rows (CREATE TABLE AS SELECT:
# the same values the table returns, so the same ranking).
#
# Data: ../shared/data/glove-100 (100,000 x 100, 1,000 queries,
# groundtruth_cos.ivecs).  Needs python3 and a server reachable through the
# usual PG* variables, with ruvector installed and preloaded
# (shared_preload_libraries, for the compaction WAL).  Takes 30-60 minutes.
#
#   PGHOST=/tmp PGPORT=5454 PGUSER=postgres bench/tableam_figures.sh [data-dir] [queries]
set -euo pipefail

DATA=${1:-$(cd "$(dirname "$0")/../../shared/data/glove-100" && pwd)}
NQ=${2:-1000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PSQL="psql -X -q -v ON_ERROR_STOP=1"

log() { printf '\n== %s\n' "$*"; }

# fvecs / ivecs to COPY text (row number as id, 0-based as the ground truth)
python3 - "$DATA" "$WORK" <<'EOF'
import struct, sys
data, work = sys.argv[1], sys.argv[2]
def rows(path, fmt):
    with open(path, 'rb') as f:
        while True:
            b = f.read(4)
            if not b:
                return
            d = struct.unpack('<i', b)[0]
            yield struct.unpack('<%d%s' % (d, fmt), f.read(4 * d))
for name, out in (('base.fvecs', 'base.tsv'), ('query.fvecs', 'query.tsv')):
    with open('%s/%s' % (work, out), 'w') as f:
        for i, v in enumerate(rows('%s/%s' % (data, name), 'f')):
            f.write('%d\t[%s]\n' % (i, ','.join(repr(x) for x in v)))
with open('%s/gt.tsv' % work, 'w') as f:
    for i, v in enumerate(rows('%s/groundtruth_cos.ivecs' % data, 'i')):
        f.write('%d\t{%s}\n' % (i, ','.join(str(x) for x in v[:10])))
EOF
chmod -R a+rX "$WORK"

log "load (heap and ruvector_heap, same rows)"
$PSQL <<EOF
DROP TABLE IF EXISTS fb_heap, fb_hot, fb_q, fb_gt, fb_f16, fb_sq8, fb_pq46, fb_pq25;
CREATE TABLE fb_heap (id int PRIMARY KEY, v vector(100)) USING heap;
CREATE TABLE fb_q (id int PRIMARY KEY, v vector(100));
CREATE TABLE fb_gt (id int PRIMARY KEY, nn int[]);
\copy fb_heap FROM '$WORK/base.tsv'
\copy fb_q FROM '$WORK/query.tsv'
\copy fb_gt FROM '$WORK/gt.tsv'
CREATE TABLE fb_hot (id int PRIMARY KEY, v vector(100)) USING ruvector_heap;
INSERT INTO fb_hot SELECT * FROM fb_heap;
VACUUM ANALYZE fb_heap, fb_hot, fb_q, fb_gt;
SELECT 'pages heap ' || pg_relation_size('fb_heap') / 8192 || ', ruvector_heap ' || pg_relation_size('fb_hot') / 8192;
EOF

log "sequential scans: ruvector_heap (all hot) / heap"
cat > "$WORK/cpubench.py" <<'EOF'
# One session per run; per-query CPU time of the backend and wall
# time, tables interleaved, medians over reps batches of inner queries.
import os, statistics, subprocess, sys, time
reps, inner, query, tabs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
p = subprocess.Popen(['psql', '-XAtq'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
def run(sql):
    p.stdin.write(sql + '\n\\echo __done__\n'); p.stdin.flush()
    out = []
    while True:
        line = p.stdout.readline()
        if line.strip() == '__done__':
            return out
        out.append(line.strip())
pid = int(run('SELECT pg_backend_pid();')[0])
run('SET max_parallel_workers_per_gather = 0; SET jit = off;')
def cpu():
    # nanoseconds on CPU (schedstat): fine-grained, and unaffected by the
    # time the backend waits for a CPU on a loaded machine
    return int(open('/proc/%d/schedstat' % pid).read().split()[0]) / 1e9
res = {t: [] for t in tabs}
for t in tabs:
    run(query.replace('TBL', t))
for i in range(reps):
    for t in tabs:
        c0, w0 = cpu(), time.time()
        run('\n'.join([query.replace('TBL', t)] * inner))
        res[t].append(((cpu() - c0) / inner, (time.time() - w0) / inner))
med = {t: (statistics.median(x[0] for x in res[t]) * 1000, statistics.median(x[1] for x in res[t]) * 1000) for t in tabs}
a, b = tabs
print('| `%s` | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f |' % (query.replace('TBL', 't'), med[a][0], med[b][0], med[a][1], med[b][1], med[b][0] / med[a][0], med[b][1] / med[a][1]))
EOF
echo '| query | heap cpu ms | rv cpu ms | heap wall ms | rv wall ms | cpu rv/heap | wall rv/heap |'
echo '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
python3 "$WORK/cpubench.py" 25 20 'SELECT count(*) FROM TBL;' fb_heap fb_hot
python3 "$WORK/cpubench.py" 15 5 'SELECT sum(vector_norm(v)) FROM TBL;' fb_heap fb_hot
python3 "$WORK/cpubench.py" 15 5 "SELECT id FROM TBL ORDER BY v <=> (SELECT v FROM fb_q WHERE id = 7) LIMIT 10;" fb_heap fb_hot

log "tiers: one table per tier, every row moved"
$PSQL <<'EOF'
\timing on
CREATE TABLE fb_f16 (id int PRIMARY KEY, v vector(100)) USING ruvector_heap;
CREATE TABLE fb_sq8 (LIKE fb_f16) USING ruvector_heap;
CREATE TABLE fb_pq46 (LIKE fb_f16) USING ruvector_heap;
CREATE TABLE fb_pq25 (LIKE fb_f16) USING ruvector_heap;
INSERT INTO fb_f16 SELECT * FROM fb_heap;
INSERT INTO fb_sq8 SELECT * FROM fb_heap;
INSERT INTO fb_pq46 SELECT * FROM fb_heap;
INSERT INTO fb_pq25 SELECT * FROM fb_heap;
SELECT ruvector_set_tiers('fb_f16', 'v', '{"exactness": "float16", "float16": {}}');
SELECT ruvector_set_tiers('fb_sq8', 'v', '{"exactness": "sq8", "sq8": {}}');
SELECT ruvector_set_tiers('fb_pq46', 'v', '{"exactness": "pq", "pq": {"m": 46}}');
SELECT ruvector_set_tiers('fb_pq25', 'v', '{"exactness": "pq", "pq": {"m": 25}}');
SELECT * FROM ruvector_compact('fb_f16');
SELECT * FROM ruvector_compact('fb_sq8');
SELECT * FROM ruvector_compact('fb_pq46');
SELECT * FROM ruvector_compact('fb_pq25');
\timing off
SELECT t AS "table", r.tier, r.rows, round(r.vector_bytes::numeric / r.rows, 1) AS bytes_per_row,
	round(r.vector_bytes::numeric / r.rows / 408, 3) AS vs_float32_408,
	round(r.compression_ratio::numeric, 2) AS ratio, pg_relation_size(t) / 8192 AS pages
FROM unnest(ARRAY['fb_hot', 'fb_f16', 'fb_sq8', 'fb_pq46', 'fb_pq25']) t,
	LATERAL ruvector_tier_report(t::regclass) r WHERE r.rows > 0;
VACUUM FULL fb_sq8;
SELECT 'fb_sq8 after VACUUM FULL: ' || pg_relation_size('fb_sq8') / 8192 || ' pages';
EOF

log "recall@10, exact search (no index), $NQ queries"
for t in fb_hot fb_f16 fb_sq8 fb_pq46 fb_pq25; do
	$PSQL -At -v t=$t -v nq=$NQ <<'EOF'
SET max_parallel_workers_per_gather = 0;
SELECT :'t' LIKE 'fb_pq%' AS pq \gset
\if :pq
DROP TABLE IF EXISTS fb_decoded;
CREATE TABLE fb_decoded AS SELECT * FROM :"t";
\set t fb_decoded
\endif
SELECT :'t' || ' | exact | ' || round(avg(hits) / 10.0, 4) FROM (
	SELECT (SELECT count(*) FROM unnest(r.ids) x WHERE x = ANY (g.nn)) AS hits
	FROM fb_q q JOIN fb_gt g USING (id),
	LATERAL (SELECT array(SELECT id FROM :"t" t ORDER BY t.v <=> q.v LIMIT 10) AS ids) r
	WHERE q.id < :nq) s;
EOF
done

log "recall@10 through HNSW (m 16, ef_construction 64, ef_search 100), $NQ queries"
for t in fb_hot fb_f16 fb_sq8 fb_pq46 fb_pq25; do
	$PSQL -At -v t=$t -v nq=$NQ <<'EOF'
SET maintenance_work_mem = '1GB';
CREATE INDEX ON :"t" USING hnsw (v vector_cosine_ops);
SET hnsw.ef_search = 100;
SET enable_seqscan = off;
SELECT :'t' || ' | hnsw | ' || round(avg(hits) / 10.0, 4) FROM (
	SELECT (SELECT count(*) FROM unnest(r.ids) x WHERE x = ANY (g.nn)) AS hits
	FROM fb_q q JOIN fb_gt g USING (id),
	LATERAL (SELECT array(SELECT id FROM :"t" t ORDER BY t.v <=> q.v LIMIT 10) AS ids) r
	WHERE q.id < :nq) s;
EOF
done

log "zstd on float32 vectors, one vector at a time (a lossless tier's unit)"
if [ -e /usr/include/zstd.h ]; then
	cat > "$WORK/zs.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>
#include <zdict.h>
int main(int argc, char **argv)
{
	FILE *f = fopen(argv[1], "rb"); int d; long sz; size_t n, vb, tot[3] = {0, 0, 0};
	fread(&d, 4, 1, f); fseek(f, 0, SEEK_END); sz = ftell(f); fseek(f, 0, SEEK_SET);
	n = sz / (4 + 4 * d); vb = 4 * (size_t) d;
	float *x = malloc(n * vb); char *out = malloc(ZSTD_compressBound(vb)); char dict[16384];
	size_t *sizes = malloc(sizeof(size_t) * n), ds;
	for (size_t i = 0; i < n; i++) { fread(&d, 4, 1, f); fread(x + i * d, 4, d, f); sizes[i] = vb; }
	ds = ZDICT_trainFromBuffer(dict, sizeof dict, x, sizes, n > 1000 ? n / 10 : n);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	for (size_t i = 0; i < n; i++) {
		size_t c[3];
		c[0] = ZSTD_compressCCtx(cc, out, ZSTD_compressBound(vb), x + i * d, vb, 3);
		c[1] = ZSTD_compressCCtx(cc, out, ZSTD_compressBound(vb), x + i * d, vb, 19);
		c[2] = ZDICT_isError(ds) ? vb : ZSTD_compress_usingDict(cc, out, ZSTD_compressBound(vb), x + i * d, vb, dict, ds, 3);
		for (int k = 0; k < 3; k++) tot[k] += c[k] < vb ? c[k] : vb;	/* a tier keeps the smaller */
	}
	printf("| %s | %zu x %d | %.1f%% | %.1f%% | %.1f%% |\n", argv[1], n, d,
		   100.0 * (1 - (double) tot[0] / (n * vb)), 100.0 * (1 - (double) tot[1] / (n * vb)),
		   100.0 * (1 - (double) tot[2] / (n * vb)));
	return 0;
}
EOF
	cc -O2 -o "$WORK/zs" "$WORK/zs.c" -lzstd
	echo '| data | vectors | saved, level 3 | level 19 | 16 KiB dictionary, level 3 |'
	echo '| --- | --- | ---: | ---: | ---: |'
	"$WORK/zs" "$DATA/base.fvecs"
	if [ -e "$DATA/../cohere-768-1k/base.fvecs" ]; then
		"$WORK/zs" "$DATA/../cohere-768-1k/base.fvecs"
	fi
else
	echo "libzstd-dev not installed: skipped"
fi
