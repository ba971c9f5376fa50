#!/bin/sh
# check_json.sh: check that a ruvector-bench results.json is complete: the
# document parses, says complete, and for every target that ran, every step
# (load, tag index, analyze, build, inserts, bulk COPY, sizes) succeeded and
# every configured point (index x k x concurrency, filters) has a run with
# QPS, latencies and recall.  Exit 0 if so, 1 with the reasons if not.
#
# usage: bench/check_json.sh results.json
set -eu
[ $# -eq 1 ] || { echo "usage: $0 results.json" >&2; exit 2; }

exec python3 - "$1" <<'PY'
import json, math, os, sys

path = sys.argv[1]
problems = []
with open(path) as f:
    doc = json.load(f)

def need(cond, msg):
    if not cond:
        problems.append(msg)

for key in ("schema", "machine", "dataset", "settings", "targets", "steps",
            "sizes", "runs", "comparison", "plots", "notes", "complete"):
    need(key in doc, "missing top-level key %r" % key)
need(doc.get("complete") is True, "document not marked complete")
for key in ("cpu", "cores", "kernel"):
    need(doc["machine"].get(key) is not None, "machine.%s missing" % key)
for key in ("name", "metric", "rows", "dim", "queries", "ground_truth"):
    need(doc["dataset"].get(key) is not None, "dataset.%s missing" % key)

settings = doc["settings"]
ran = [t for t in doc["targets"] if t["ran"]]
need(len(ran) >= 1, "no target ran")
for t in doc["targets"]:
    need(t["ran"] or t.get("note"), "target %s did not run and says not why" % t["name"])
    if t["ran"]:
        need(t.get("extversion") and t.get("server_version"),
             "target %s has no versions" % t["name"])

steps = doc["steps"]
for s in steps:
    need(s["ok"], "step %s/%s/%s failed: %s" % (s["target"], s["step"], s["index"], s.get("error")))

def has_step(target, step, index=None):
    return any(s["target"] == target and s["step"] == step and s["index"] == index
               and s["ok"] for s in steps)

reused = any("reused" in n for n in doc["notes"])
for t in ran:
    name = t["name"]
    if not reused:
        for step in ("load", "tag_index", "vacuum_analyze"):
            need(has_step(name, step), "%s: no %s step" % (name, step))
    for idx in settings["indexes"]:
        built = idx["method"] not in ("exact", "floor")
        if built and not t["has_" + idx["method"]]:
            continue            # said in the notes; checked there
        label = idx["label"]
        kept = any(n.startswith(name + ": kept the index") for n in doc["notes"])
        if built:
            need(has_step(name, "build", label) or kept, "%s: no build of %s" % (name, label))
        if settings["inserts"] > 0:
            need(has_step(name, "insert", label), "%s: no inserts on %s" % (name, label))
        if settings["bulk_rows"] > 0:
            need(has_step(name, "bulk_copy", label), "%s: no bulk COPY on %s" % (name, label))
        need(any(z["target"] == name and z["index"] == label and z["ok"]
                 and z["total_bytes"] > 0 for z in doc["sizes"]),
             "%s: no sizes for %s" % (name, label))
        for k in settings["k"]:
            for c in settings["concurrency"]:
                rs = [r for r in doc["runs"] if r["target"] == name and r["index"] == label
                      and r["k"] == k and r["concurrency"] == c and r["filter_pct"] == 0]
                need(rs, "%s: no runs for %s k=%d c=%d" % (name, label, k, c))
        for pct in doc["dataset"]["filters_pct"] if idx["method"] != "floor" else []:
            rs = [r for r in doc["runs"] if r["target"] == name and r["index"] == label
                  and r["filter_pct"] == pct]
            need(rs, "%s: no filtered runs for %s at %d%%" % (name, label, pct))

for r in doc["runs"]:
    tag = "%s %s k=%d c=%d f=%d %s" % (r["target"], r["index"], r["k"], r["concurrency"],
                                       r["filter_pct"], r["setting"])
    need(r["ok"], "run failed: %s: %s" % (tag, r.get("error")))
    if not r["ok"]:
        continue
    for key in ("qps", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "recall_at_1"):
        v = r.get(key)
        need(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0,
             "%s: %s is %r" % (tag, key, v))
    if r["k"] >= 10:
        need(r.get("recall_at_10") is not None, "%s: no recall@10" % tag)
    if r["k"] >= 100:
        need(r.get("recall_at_100") is not None, "%s: no recall@100" % tag)
    if r["index"] == "exact" and r["filter_pct"] == 0:
        need(r["recall_at_%d" % min(r["k"], 100)] > 0.99,
             "%s: exact search recall %.4f; ground truth or metric wrong?" % (
                 tag, r["recall_at_%d" % min(r["k"], 100)]))

if len(ran) == 2:
    need(doc["side_by_side"] is True, "both ran but side_by_side is false")
    need(len(doc["comparison"]["step_ratios"]) > 0, "no step ratios")
for p in doc["plots"]:
    need(os.path.exists(p) and os.path.getsize(p) > 0, "plot %s missing" % p)
need(len(doc["plots"]) > 0 or 10 not in settings["k"], "no plot written")

if problems:
    print("%s: INCOMPLETE" % path)
    for p in problems:
        print("  - " + p)
    sys.exit(1)
print("%s: complete (%d targets, %d steps, %d runs, %d plots)" % (
    path, len(ran), len(steps), len(doc["runs"]), len(doc["plots"])))
PY
