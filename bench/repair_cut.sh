#!/bin/bash
# bench/repair_cut.sh CASE DATADIR PORT — HnswRepair against REINDEX on a
# graph cut in its file (the figures of bench/RESULTS.md, "Repair
# (HnswRepair) against REINDEX").  CASE: halves (set C of
# test/perl/RvNearDup.pm, 20,000 x 64-d, split by its first coordinate at
# 0) or two (TAP 107's two clusters 30 apart, 6,000 x 16-d).  Builds the
# index, cuts every link between the sides (test/perl/RvHnswPages.pm, server
# stopped), then prints self-recall@10 at ef_search 40 cut / repaired, the
# repair's JSON (rv_hnsw_repair_test), what ruvector_hnsw_verify still
# reports, and two timed REINDEXes.  Needs RV_PGBIN and a cluster at
# DATADIR (scripts/common.sh) with data checksums off.
set -e
CASE=$1 DATA=$2 PORT=$3
cd "$(dirname "$0")/.."
. scripts/common.sh
psql_() { su postgres -s /bin/sh -c "$RV_PGBIN/psql -h /tmp -p $PORT -d postgres -Atq -v ON_ERROR_STOP=1" ; }
rv_start_cluster "$DATA" "$PORT" >/dev/null
echo "ALTER SYSTEM SET maintenance_work_mem = '512MB'; ALTER SYSTEM SET shared_buffers = '256MB';" | psql_
rv_stop_cluster "$DATA"; rv_start_cluster "$DATA" "$PORT" >/dev/null
psql_ <<SQL
DROP TABLE IF EXISTS rc;
CREATE EXTENSION IF NOT EXISTS ruvector;
CREATE OR REPLACE FUNCTION rv_hnsw_repair_test(regclass) RETURNS text
	AS '\$libdir/ruvector', 'rv_hnsw_repair_test' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION gauss() RETURNS float8 LANGUAGE sql AS
	\$\$SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())\$\$;
SQL
if [ "$CASE" = halves ]; then
	echo "CREATE TABLE rc (id int PRIMARY KEY, v vector(64));" | psql_
	perl -Itest/perl -MRvNearDup -e 'print near_dup_copy("rc", near_dup_rows())' | psql_
	M=16 SPLIT=0
else
	psql_ <<SQL
SELECT setseed(0.107);
CREATE TABLE rc (id int PRIMARY KEY, v vector(16));
INSERT INTO rc SELECT i, (SELECT array_agg((CASE WHEN d = 1 AND i % 2 = 0 THEN 30 ELSE 0 END)
	+ gauss() ORDER BY d)::vector FROM generate_series(1, 16) d WHERE i > 0)
	FROM generate_series(1, 6000) i;
SQL
	M=16 SPLIT=15
fi
echo "CREATE INDEX rc_idx ON rc USING hnsw (v vector_l2_ops); CHECKPOINT;" | psql_
FILE=$DATA/$(echo "SELECT pg_relation_filepath('rc_idx')" | psql_)
rv_stop_cluster "$DATA"
perl -Itest/perl -MRvHnswPages -e "print 'links cut: ', hnsw_cut_links('$FILE', $M, 'sides', $SPLIT), qq(\n)"
rv_start_cluster "$DATA" "$PORT" >/dev/null
RECALL="SET enable_seqscan = off; SELECT round(avg((SELECT count(*) FROM (SELECT id FROM rc ORDER BY v <-> q.v LIMIT 10) r WHERE r.id = q.id)), 4) FROM rc q;"
echo "verify: $(echo "SELECT problem FROM ruvector_hnsw_verify('rc_idx') LIMIT 1" | psql_)"
echo "self-recall cut: $(echo "$RECALL" | psql_)"
echo "repair: $(echo "SELECT rv_hnsw_repair_test('rc_idx')" | psql_)"
echo "verify after: $(echo "SELECT count(*) FROM ruvector_hnsw_verify('rc_idx')" | psql_) problems"
echo "self-recall repaired: $(echo "$RECALL" | psql_)"
for i in 1 2; do
	echo "REINDEX: $(printf '\\timing on\nREINDEX INDEX rc_idx;\n' | psql_ | grep Time)"
done
echo "self-recall reindexed: $(echo "$RECALL" | psql_)"
