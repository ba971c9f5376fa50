#!/usr/bin/env python3
"""Learning loop benchmark (bench/RESULTS.md, "Learning loop"): fixed
hnsw.ef_search against ruvector.target_recall with a trained model, on an
fvecs set with cosine ground truth.  No dependencies beyond python3 and psql.

  learning_bench.py prepare DATA OUT      # COPY file of the base, query lists
  learning_bench.py run DATA OUT PSQL... # one pass: prints recall, share below, QPS

The queries are split: the even-numbered ones are inserted as captured
queries (training), the odd-numbered ones are measured (glove-100's queries
run from frequent to rare words, so halves would differ in difficulty).  psql runs the measured queries in
one session; the elapsed time covers parse, plan, scan and output of all of
them, the same work for every setting.
"""
import os, struct, subprocess, sys, time

def fvecs(path):
    with open(path, 'rb') as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        (d,) = struct.unpack_from('<i', data, pos)
        out.append(struct.unpack_from('<%df' % d, data, pos + 4))
        pos += 4 + 4 * d
    return out

def ivecs(path):
    with open(path, 'rb') as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        (d,) = struct.unpack_from('<i', data, pos)
        out.append(struct.unpack_from('<%di' % d, data, pos + 4))
        pos += 4 + 4 * d
    return out

def lit(v):
    return '[' + ','.join('%.6g' % x for x in v) + ']'

def prepare(data, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'base.copy'), 'w') as f:
        for i, v in enumerate(fvecs(os.path.join(data, 'base.fvecs'))):
            f.write('%d\t%s\n' % (i, lit(v)))
    q = fvecs(os.path.join(data, 'query.fvecs'))
    with open(os.path.join(out, 'train.sql'), 'w') as f:
        for v in q[0::2]:
            f.write("INSERT INTO ruvector_learning_queries (index, query, k, effort, visited)"
                    " VALUES ('glove_v', '{%s}', 10, 40, 0);\n" % lit(v)[1:-1])
    with open(os.path.join(out, 'measure.sql'), 'w') as f:
        for v in q[1::2]:
            f.write("SELECT string_agg(id::text, ',') FROM (SELECT id FROM glove ORDER BY v <=> '%s' LIMIT 10) s;\n" % lit(v))

def run(data, out, settings, psql):
    gt = ivecs(os.path.join(data, 'groundtruth_cos.ivecs'))[1::2]
    script = "SET enable_seqscan = off;\n" + settings + "\n\\pset tuples_only on\n\\pset format unaligned\n"
    with open(os.path.join(out, 'measure.sql')) as f:
        script += f.read()
    t0 = time.time()
    r = subprocess.run(psql + ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], input=script, capture_output=True, text=True, check=True)
    elapsed = time.time() - t0
    rows = [l for l in r.stdout.splitlines() if l and l[0].isdigit()]
    assert len(rows) == len(gt), (len(rows), r.stderr[-500:])
    recalls = []
    for i, line in enumerate(rows):
        got = set(int(x) for x in line.split(','))
        want = set(gt[i][:10])
        recalls.append(len(got & want) / 10.0)
    return sum(recalls) / len(recalls), recalls, len(rows) / elapsed

if __name__ == '__main__':
    if sys.argv[1] == 'prepare':
        prepare(sys.argv[2], sys.argv[3])
    else:
        data, out, settings = sys.argv[2], sys.argv[3], sys.argv[4]
        target = float(sys.argv[5])
        mean, recalls, qps = run(data, out, settings, sys.argv[6:])
        below = sum(1 for x in recalls if x < target) / len(recalls)
        print('%s\tmean_recall=%.4f\tbelow_%.2f=%.3f\tqps=%.1f' % (settings.replace('\n', ' '), mean, target, below, qps))
