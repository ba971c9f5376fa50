#!/usr/bin/env python3
"""bench/filtered/run.py - filtered vector search, RuVector beside pgvector.

Measures `WHERE <filter> ORDER BY v <=> $q LIMIT 10` at 10% and 1%
selectivity, for an equality filter on a category column and a range filter
on a continuous one, against the unfiltered query on the same index, in one
run on both extensions (each in its own database of one server, neither
preloaded; see bench/README.md).  For every point it reports recall@10
against exact ground truth, the rows returned (a filtered search must
return full results), QPS of one client and the plan the planner chose.

NOTES
  The table is rvf_items (id, cat10, cat100, score, embedding): cat10 and
  cat100 take 10 and 100 values, score is uniform in [0, 1), each from a
  fixed hash of the row id, each with a btree.  It is loaded from the data
  set's fvecs with COPY (text) when missing or of another size.  The filter
  of query q is cat10 = q % 10, cat100 = q % 100, score in [q % 90 / 100,
  +0.10) or score in [q % 99 / 100, +0.01).
  Ground truth is computed by each server with the vector indexes out of
  play (enable_indexscan off), so it is exact whatever the index does.
  QPS comes from pgbench (one client, simple protocol: every query planned
  with its constants, as a client sending literals would); the query
  vector comes from rvf_queries through a scalar subquery.  Recall comes
  from running the same statements once each.  Points are measured on the
  two targets alternately, ROUNDS times, and the best QPS kept.
  --covering adds, on both targets, a btree per filter column that
  INCLUDEs id and the vector, so the planner can answer a selective filter
  with an index-only scan and a top-k sort (docs/hnsw.md); without it such
  indexes are dropped.  --partial (hnsw) adds one partial HNSW index per
  cat10 value (WHERE cat10 = v), which the planner uses for the 10%
  equality filter; without it they are dropped.
  --filter-columns (hnsw) gives RuVector one multicolumn index,
  USING hnsw (embedding ..., cat10, cat100, score), in place of its plain
  one (filter columns kept in the graph, src/indexam/hnswfilter.c); it
  serves the unfiltered and the filtered queries.  pgvector keeps its plain
  HNSW index, its iterative scan and the btrees.
  --params sends the query vector and the filter values as text parameters
  of the extended protocol ($1 vector, $2.. filter values), as client
  drivers do: each pgbench transaction first fetches them with a \gset
  lookup (SELECT v::text ... FROM rvf_queries), so its QPS counts that
  small query too, for the unfiltered and the filtered points alike.
  Hold the bench lock (flock /tmp/rv-bench.lock) around a timed run.

Usage:
  bench/filtered/run.py --port 5629 --index hnsw [--data DIR] [--queries 200]
      [--seconds 3] [--rounds 2] [--ef 10,20,40,80,160,320] [--filter-ef 40,100]
      [--covering] [--partial]
  bench/filtered/run.py --port 5629 --index ivfflat --probes 1,2,4,8,16,32,64
      --filter-probes 8,16
"""
import argparse
import datetime
import os
import struct
import subprocess
import sys
import tempfile

FILTERS = {
    "eq10": ("cat10 = {q} % 10", 10),
    "eq1": ("cat100 = {q} % 100", 1),
    "range10": ("score >= ({q} % 90) / 100.0 AND score < ({q} % 90) / 100.0 + 0.10", 10),
    "range1": ("score >= ({q} % 99) / 100.0 AND score < ({q} % 99) / 100.0 + 0.01", 1),
}

OPERATORS = {"cosine": ("<=>", "vector_cosine_ops"), "l2": ("<->", "vector_l2_ops"),
             "ip": ("<#>", "vector_ip_ops")}


def mix64(x):
    """splitmix64: the row's fixed pseudo-random stream"""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def read_fvecs(path, limit=None):
    out = []
    with open(path, "rb") as f:
        while limit is None or len(out) < limit:
            head = f.read(4)
            if len(head) < 4:
                break
            (dim,) = struct.unpack("<i", head)
            out.append(struct.unpack("<%df" % dim, f.read(4 * dim)))
    return out


class Target:
    def __init__(self, name, args, dbname):
        self.name = name
        self.args = args
        self.db = dbname
        self.bindir = args.bindir

    def conn_args(self):
        return ["-h", self.args.host, "-p", str(self.args.port), "-U", self.args.user, "-d", self.db]

    def psql(self, sql, stdin=None):
        cmd = [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + \
            self.conn_args() + ["-c", sql] if stdin is None else \
            [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + \
            self.conn_args() + ["-f", "-"]
        res = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit("%s: psql failed: %s" % (self.name, res.stderr.strip()))
        return res.stdout.strip()

    def script(self, text):
        return self.psql(None, stdin=text)


def ensure_data(t, args, base, queries, dim):
    have = t.psql("SELECT count(*) FROM pg_class WHERE relname = 'rvf_items' AND relkind = 'r'")
    if have == "1" and t.psql("SELECT count(*) FROM rvf_items") == str(len(base)) and \
            t.psql("SELECT count(*) FROM rvf_queries") == str(len(queries)):
        return
    print("%s: loading %d rows" % (t.name, len(base)), file=sys.stderr)
    lines = ["DROP TABLE IF EXISTS rvf_items, rvf_queries, rvf_truth;",
             "CREATE TABLE rvf_items (id int4 NOT NULL, cat10 int4 NOT NULL, cat100 int4 NOT NULL, "
             "score float8 NOT NULL, embedding vector(%d));" % dim,
             "CREATE TABLE rvf_queries (qid int4 PRIMARY KEY, v vector(%d));" % dim,
             "COPY rvf_items FROM STDIN;"]
    for i, v in enumerate(base):
        h = mix64(i)
        lines.append("%d\t%d\t%d\t%.17g\t[%s]" % (i, h % 10, (h >> 8) % 100,
                                                  (mix64(h) >> 11) / float(1 << 53),
                                                  ",".join("%.9g" % x for x in v)))
    lines.append("\\.")
    lines.append("COPY rvf_queries FROM STDIN;")
    for q, v in enumerate(queries):
        lines.append("%d\t[%s]" % (q + 1, ",".join("%.9g" % x for x in v)))
    lines.append("\\.")
    lines += ["CREATE INDEX ON rvf_items (cat10);", "CREATE INDEX ON rvf_items (cat100);",
              "CREATE INDEX ON rvf_items (score);", "VACUUM ANALYZE rvf_items;",
              "ANALYZE rvf_queries;"]
    t.script("\n".join(lines) + "\n")


# --params: the filters over the values a \gset lookup fetched
PARAM_FILTERS = {
    "eq10": "cat10 = :f10",
    "eq1": "cat100 = :f100",
    "range10": "score >= :lo10 AND score < :hi10",
    "range1": "score >= :lo1 AND score < :hi1",
}
PARAM_LOOKUP = ("SELECT v::text AS qv, :q % 10 AS f10, :q % 100 AS f100, (:q % 90) / 100.0 AS lo10, "
                "(:q % 90) / 100.0 + 0.10 AS hi10, (:q % 99) / 100.0 AS lo1, (:q % 99) / 100.0 + 0.01 AS hi1 "
                "FROM rvf_queries WHERE qid = :q \\gset")


def param_script(args, filt):
    op = OPERATORS[args.metric][0]
    where = "" if filt is None else " WHERE " + PARAM_FILTERS[filt]
    return "%s\nSELECT id FROM rvf_items%s ORDER BY embedding %s :qv LIMIT %d;\n" % (
        PARAM_LOOKUP, where, op, args.k)


def query_sql(args, q, filt):
    op = OPERATORS[args.metric][0]
    where = "" if filt is None else " WHERE " + FILTERS[filt][0].format(q=q)
    return ("SELECT id FROM rvf_items%s ORDER BY embedding %s (SELECT v FROM rvf_queries WHERE qid = %s) "
            "LIMIT %d" % (where, op, q, args.k))


def ensure_truth(t, args):
    have = t.psql("SELECT count(*) FROM pg_class WHERE relname = 'rvf_truth'")
    if have == "1" and t.psql("SELECT count(*) FROM rvf_truth") == str(args.queries * (len(FILTERS) + 1)):
        return
    print("%s: exact ground truth" % t.name, file=sys.stderr)
    lines = ["DROP TABLE IF EXISTS rvf_truth;",
             "CREATE TABLE rvf_truth (qid int4, filter text, ids int4[]);",
             "SET enable_indexscan = off;", "SET max_parallel_workers_per_gather = 0;"]
    for filt in [None] + list(FILTERS):
        for q in range(1, args.queries + 1):
            lines.append("INSERT INTO rvf_truth SELECT %d, '%s', ARRAY(%s);" %
                         (q, filt or "none", query_sql(args, q, filt)))
    t.script("\n".join(lines) + "\n")


def ensure_index(t, args):
    opclass = OPERATORS[args.metric][1]
    columns = args.filter_columns and args.index == "hnsw" and t.name == "ruvector"
    if columns:
        spec = "hnsw (embedding %s, cat10, cat100, score) WITH (m = %d, ef_construction = %d)" % (
            opclass, args.m, args.efc)
    elif args.index == "hnsw":
        spec = "hnsw (embedding %s) WITH (m = %d, ef_construction = %d)" % (opclass, args.m, args.efc)
    else:
        spec = "ivfflat (embedding %s) WITH (lists = %d)" % (opclass, args.lists)
    ensure_covering(t, args)
    ensure_partial(t, args)
    want = "rvf_items_%s" % args.index + ("_fc" if columns else "")
    for other in ("rvf_items_hnsw", "rvf_items_ivfflat", "rvf_items_hnsw_fc"):
        if other != want:
            t.psql("DROP INDEX IF EXISTS %s" % other)
    if t.psql("SELECT count(*) FROM pg_class WHERE relname = '%s'" % want) == "0":
        print("%s: building %s" % (t.name, spec), file=sys.stderr)
        t.psql("SET maintenance_work_mem = '512MB'; CREATE INDEX %s ON rvf_items USING %s" % (want, spec))


COVERING = {"cat10": "rvf_items_cat10_cover", "cat100": "rvf_items_cat100_cover",
            "score": "rvf_items_score_cover"}


def ensure_covering(t, args):
    """--covering: a btree per filter column that INCLUDEs id and the vector
    (index-only exact plans); without it, none, so runs compare alike"""
    changed = False
    for col, name in sorted(COVERING.items()):
        have = t.psql("SELECT count(*) FROM pg_class WHERE relname = '%s'" % name) == "1"
        if args.covering and not have:
            print("%s: building %s" % (t.name, name), file=sys.stderr)
            t.psql("CREATE INDEX %s ON rvf_items (%s) INCLUDE (id, embedding)" % (name, col))
            changed = True
        elif not args.covering and have:
            t.psql("DROP INDEX %s" % name)
    if changed:
        # index-only scans skip the heap only for pages the visibility map marks all-visible
        t.psql("VACUUM ANALYZE rvf_items")


def ensure_partial(t, args):
    """--partial (hnsw): one partial HNSW index per cat10 value, for the 10%
    equality filter; without it, none"""
    opclass = OPERATORS[args.metric][1]
    for v in range(10):
        name = "rvf_items_hnsw_cat10_%d" % v
        have = t.psql("SELECT count(*) FROM pg_class WHERE relname = '%s'" % name) == "1"
        if args.partial and args.index == "hnsw" and not have:
            print("%s: building %s" % (t.name, name), file=sys.stderr)
            t.psql("SET maintenance_work_mem = '512MB'; CREATE INDEX %s ON rvf_items USING hnsw "
                   "(embedding %s) WITH (m = %d, ef_construction = %d) WHERE cat10 = %d"
                   % (name, opclass, args.m, args.efc, v))
        elif (not args.partial or args.index != "hnsw") and have:
            t.psql("DROP INDEX %s" % name)


def settings_sql(args, t, knob, filtered):
    s = []
    if args.index == "hnsw":
        s.append("SET hnsw.ef_search = %d;" % knob)
        s.append("SET hnsw.iterative_scan = %s;" % (args.iterative if filtered else "off"))
    else:
        s.append("SET ivfflat.probes = %d;" % knob)
        s.append("SET ivfflat.iterative_scan = %s;" % (args.iterative if filtered else "off"))
    return "\n".join(s)


def measure_qps(t, args, knob, filt):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("\\set q random(1, %d)\n" % args.queries)
        if args.params:
            f.write(param_script(args, filt))
        else:
            f.write(query_sql(args, ":q", filt) + ";\n")
        path = f.name
    env = dict(os.environ, PGOPTIONS=" ".join(
        "-c %s" % line[4:].rstrip(";").replace(" = ", "=") for line in settings_sql(args, t, knob, filt is not None).splitlines()))
    cmd = [os.path.join(t.bindir, "pgbench"), "-n", "-M", "extended" if args.params else "simple",
           "-c", "1", "-T", str(args.seconds),
           "-f", path] + t.conn_args()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    os.unlink(path)
    if res.returncode != 0:
        sys.exit("%s: pgbench failed: %s" % (t.name, res.stderr.strip()))
    for line in res.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    sys.exit("%s: no tps in pgbench output" % t.name)


def measure_recall(t, args, knob, filt):
    lines = [settings_sql(args, t, knob, filt is not None),
             "CREATE TEMP TABLE rvf_res (qid int4, ids int4[]);"]
    for q in range(1, args.queries + 1):
        lines.append("INSERT INTO rvf_res SELECT %d, ARRAY(%s);" % (q, query_sql(args, q, filt)))
    lines.append("SELECT avg((SELECT count(*) FROM unnest(r.ids) i WHERE i = ANY (g.ids))::float8 / "
                 "GREATEST(1, cardinality(g.ids))), avg(cardinality(r.ids)), "
                 "avg(cardinality(g.ids)) FROM rvf_res r JOIN rvf_truth g "
                 "ON g.qid = r.qid AND g.filter = '%s';" % (filt or "none"))
    out = t.script("\n".join(lines) + "\n").splitlines()[-1].split("|")
    return float(out[0]), float(out[1]), float(out[2])


def plan_of(t, args, knob, filt):
    text = t.script(settings_sql(args, t, knob, filt is not None) + "\nEXPLAIN (COSTS OFF) " +
                    query_sql(args, 7, filt) + ";\n")
    nodes = []
    for line in text.splitlines():
        line = line.strip().lstrip("-> ").strip()
        if not line or ":" in line.split(" ")[0] or line.startswith(("Order By", "Filter", "Index Cond",
                                                                       "Recheck", "Sort Key", "InitPlan")):
            continue
        name = line.split(" on ")[0].split("  (")[0]
        if name.startswith("Seq Scan") and "rvf_queries" in line:
            continue
        if "rvf_queries" in line:
            continue
        nodes.append(name)
    return " > ".join(nodes)


def interpolate(points, recall):
    """QPS on the unfiltered frontier at the given recall (linear between points)"""
    pts = sorted(points, key=lambda p: p[0])
    if not pts or recall > pts[-1][0]:
        return None
    if recall <= pts[0][0]:
        return max(p[1] for p in pts)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= recall <= r1:
            return q0 + (q1 - q0) * (recall - r0) / (r1 - r0) if r1 > r0 else max(q0, q1)
    return None


def main():
    ap = argparse.ArgumentParser(description="filtered search, RuVector beside pgvector")
    ap.add_argument("--host", default=os.environ.get("PGHOST", "/tmp"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("PGPORT", 5432)))
    ap.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    ap.add_argument("--bindir", default=os.environ.get("RV_PGBIN", "/usr/lib/postgresql/15/bin"))
    ap.add_argument("--ruvector-db", default="rvbench_ruvector")
    ap.add_argument("--pgvector-db", default="rvbench_pgvector", help="none: RuVector alone")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/glove-100"))
    ap.add_argument("--metric", default="cosine", choices=sorted(OPERATORS))
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--index", default="hnsw", choices=["hnsw", "ivfflat"])
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--lists", type=int, default=0, help="default sqrt(rows)")
    ap.add_argument("--ef", default="10,20,40,80,160,320")
    ap.add_argument("--filter-ef", default="40,100")
    ap.add_argument("--probes", default="1,2,4,8,16,32,64")
    ap.add_argument("--filter-probes", default="8,16")
    ap.add_argument("--filters", default=",".join(FILTERS))
    ap.add_argument("--iterative", default="relaxed_order")
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--covering", action="store_true",
                    help="btrees (filter column) INCLUDE (id, embedding) on both targets")
    ap.add_argument("--partial", action="store_true",
                    help="hnsw: a partial HNSW index per cat10 value on both targets")
    ap.add_argument("--filter-columns", action="store_true",
                    help="hnsw: RuVector's index carries cat10, cat100, score as filter columns")
    ap.add_argument("--params", action="store_true",
                    help="pgbench: vector and filter values as text parameters (extended protocol)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--setup-only", action="store_true", help="load, ground truth and index, no timing")
    args = ap.parse_args()

    base = read_fvecs(os.path.join(args.data, "base.fvecs"))
    queries = read_fvecs(os.path.join(args.data, "query.fvecs"), args.queries)
    dim = len(base[0])
    if args.lists == 0:
        args.lists = max(1, int(len(base) ** 0.5))
    targets = [Target("ruvector", args, args.ruvector_db)]
    if args.pgvector_db != "none":
        targets.append(Target("pgvector", args, args.pgvector_db))
    for t in targets:
        ensure_data(t, args, base, queries, dim)
        ensure_truth(t, args)
        ensure_index(t, args)
    del base
    if args.setup_only:
        return

    knobs = [int(x) for x in (args.ef if args.index == "hnsw" else args.probes).split(",")]
    fknobs = [int(x) for x in (args.filter_ef if args.index == "hnsw" else args.filter_probes).split(",")]
    filters = [f for f in args.filters.split(",") if f]
    points = [(None, k) for k in knobs] + [(f, k) for f in filters for k in fknobs]
    knob_name = "ef_search" if args.index == "hnsw" else "probes"

    results = {}
    for t in targets:
        for filt, knob in points:
            recall, returned, truth = measure_recall(t, args, knob, filt)
            results[(t.name, filt, knob)] = {"recall": recall, "returned": returned, "truth": truth,
                                             "plan": plan_of(t, args, knob, filt), "qps": 0.0}
    for rnd in range(args.rounds):
        for filt, knob in points:
            for t in (targets if rnd % 2 == 0 else list(reversed(targets))):
                r = results[(t.name, filt, knob)]
                r["qps"] = max(r["qps"], measure_qps(t, args, knob, filt))

    out = []
    out.append("filtered search, %s, %s (%s), %d queries, k=%d, %s, iterative_scan=%s, one client, "
               "%d s x %d rounds (best)%s" % (os.path.basename(os.path.normpath(args.data)), args.index,
                                             "m=%d efc=%d" % (args.m, args.efc) if args.index == "hnsw"
                                             else "lists=%d" % args.lists, args.queries, args.k,
                                             args.metric, args.iterative, args.seconds, args.rounds,
                                             (", covering btrees" if args.covering else "") +
                                             (", partial HNSW per cat10" if args.partial else "") +
                                             (", RuVector filter columns (cat10, cat100, score)"
                                              if args.filter_columns else "") +
                                             (", text parameters (extended protocol, with a \\gset "
                                              "lookup per query)" if args.params else
                                              ", literals (simple protocol)")))
    for t in targets:
        unf = [(results[(t.name, None, k)]["recall"], results[(t.name, None, k)]["qps"]) for k in knobs]
        out.append("")
        out.append("== %s ==" % t.name)
        out.append("  %-8s %-10s %8s %9s %9s %9s %9s  %s" % ("filter", knob_name, "recall", "returned",
                                                             "QPS", "x same", "x @0.95", "plan"))
        top = max(unf)
        at95 = interpolate(unf, 0.95)
        for filt, knob in points:
            r = results[(t.name, filt, knob)]
            same = ratio95 = ""
            if filt is not None:
                ref = interpolate(unf, r["recall"])
                # above the unfiltered sweep's best recall: against that point
                same = "%.2f" % (r["qps"] / ref) if ref else "%.2f*" % (r["qps"] / top[1])
                ratio95 = "%.2f" % (r["qps"] / at95) if at95 else "-"
            out.append("  %-8s %-10d %8.4f %9.2f %9.1f %9s %9s  %s" % (filt or "none", knob, r["recall"],
                                                                   r["returned"], r["qps"], same, ratio95,
                                                                   r["plan"]))
        out.append("  (x same: over the unfiltered QPS at the same recall, interpolated; * = above the "
                   "sweep's best recall %.4f, over its QPS; x @0.95: over the unfiltered QPS at 0.95)" % top[0])
    if len(targets) == 2:
        out.append("")
        out.append("== ruvector / pgvector QPS at each filtered point ==")
        for filt, knob in points:
            a = results[("ruvector", filt, knob)]
            b = results[("pgvector", filt, knob)]
            out.append("  %-8s %-10d recall %.4f / %.4f  QPS %.1f / %.1f = %.2f" % (
                filt or "none", knob, a["recall"], b["recall"], a["qps"], b["qps"],
                a["qps"] / b["qps"] if b["qps"] else float("nan")))
    text = "\n".join(out) + "\n"
    print(text)
    outdir = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results",
                                      "filtered-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(text)
    print("results %s" % outdir, file=sys.stderr)


if __name__ == "__main__":
    main()
