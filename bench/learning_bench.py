#!/usr/bin/env python3
"""Learning loop benchmark (bench/RESULTS.md, "Learning loop"): fixed
hnsw.ef_search against ruvector.target_recall with a trained model, on an
fvecs set with cosine ground truth.  No dependencies beyond python3 and psql.

  learning_bench.py prepare DATA OUT [TABLE INDEX]  # COPY file of the base, query lists
                                     # (table glove, index glove_v by default)
  learning_bench.py run DATA OUT SETTINGS TARGET PSQL...   # one pass: recall, share below, QPS
  learning_bench.py sweep DATA OUT TARGET ROUNDS FILE PSQL... # FILE: one setting a line,
                                     # interleaved rounds, QPS best of ROUNDS
  learning_bench.py work OUT FILE PSQL...   # buffers read per query (the work, no timing)

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

def prepare(data, out, table='glove', index='glove_v'):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'base.copy'), 'w') as f:
        for i, v in enumerate(fvecs(os.path.join(data, 'base.fvecs'))):
            f.write('%d\t%s\n' % (i, lit(v)))
    q = fvecs(os.path.join(data, 'query.fvecs'))
    with open(os.path.join(out, 'train.sql'), 'w') as f:
        for v in q[0::2]:
            f.write("INSERT INTO ruvector_learning_queries (index, query, k, effort, visited)"
                    " VALUES ('%s', '{%s}', 10, 40, 0);\n" % (index, lit(v)[1:-1]))
    with open(os.path.join(out, 'measure.sql'), 'w') as f:
        for v in q[1::2]:
            f.write("SELECT string_agg(id::text, ',') FROM (SELECT id FROM %s ORDER BY v <=> '%s' LIMIT 10) s;\n" % (table, lit(v)))

def backend_cpu(pid):
    """utime + stime of a local backend, seconds (/proc, clock ticks)"""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

def run(data, out, settings, psql, cpu=None):
    """One pass; with cpu (a list), also appends the backend's CPU seconds
    for the measured queries (the server is local)."""
    gt = ivecs(os.path.join(data, 'groundtruth_cos.ivecs'))[1::2]
    head = "SET enable_seqscan = off;\n" + settings + "\n\\pset tuples_only on\n\\pset format unaligned\nSELECT 'pid', pg_backend_pid();\n"
    with open(os.path.join(out, 'measure.sql')) as f:
        body = f.read()
    p = subprocess.Popen(psql + ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdin.write(head)
    p.stdin.flush()
    line = p.stdout.readline()
    while not line.startswith('pid|'):
        assert line, p.stderr.read()[-500:]
        line = p.stdout.readline()
    pid = int(line.split('|')[1])
    c0 = backend_cpu(pid)
    t0 = time.time()
    p.stdin.write(body + "SELECT 'done';\n")
    p.stdin.flush()
    lines = []
    line = p.stdout.readline()
    while line.strip() != 'done':
        assert line, p.stderr.read()[-500:]
        lines.append(line)
        line = p.stdout.readline()
    elapsed = time.time() - t0
    if cpu is not None:
        cpu.append(backend_cpu(pid) - c0)
    p.stdin.close()
    p.wait()
    rows = [l.strip() for l in lines if l and l[0].isdigit()]
    assert len(rows) == len(gt), (len(rows),)
    recalls = []
    for i, line in enumerate(rows):
        got = set(int(x) for x in line.split(','))
        want = set(gt[i][:10])
        recalls.append(len(got & want) / 10.0)
    return sum(recalls) / len(recalls), recalls, len(rows) / elapsed

def sweep(data, out, target, rounds, settings, psql):
    """Every setting once per round, rounds interleaved (load hits all of
    them alike); recall is the same each round, QPS the best of the rounds."""
    best, recall, cpu = {}, {}, {}
    for r in range(rounds):
        for s in settings:
            c = []
            mean, recalls, qps = run(data, out, s, psql, c)
            below = sum(1 for x in recalls if x < target) / len(recalls)
            recall[s] = (mean, below)
            best[s] = max(best.get(s, 0), qps)
            cpu[s] = min(cpu.get(s, 1e9), c[0] / len(recalls))
    for s in settings:
        print('%s\tmean_recall=%.4f\tbelow_%.2f=%.3f\tqps_best_of_%d=%.1f\tbackend_cpu_us_per_query_min=%.0f'
              % (s.replace('\n', ' '), recall[s][0], target, recall[s][1], rounds, best[s], cpu[s] * 1e6))
        sys.stdout.flush()

def work(out, settings, psql):
    """Buffers each measured query reads (EXPLAIN BUFFERS of the index scan:
    hits + reads), mean per query: the search's work, independent of load."""
    import re
    body = []
    with open(os.path.join(out, 'measure.sql')) as f:
        for line in f:
            q = line.split('FROM (', 1)[1].rsplit(') s;', 1)[0]
            body.append('EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ' + q + ';\n')
    for s in settings:
        script = "SET enable_seqscan = off;\n" + s + "\n" + ''.join(body)
        r = subprocess.run(psql + ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], input=script,
                           capture_output=True, text=True, check=True)
        total, n = 0, 0
        for plan in r.stdout.split('Limit')[1:]:
            m = re.search(r'Index Scan.*?Buffers: shared hit=(\d+)(?: read=(\d+))?', plan, re.S)
            total += int(m.group(1)) + int(m.group(2) or 0)
            n += 1
        print('%s\tbuffers_per_query=%.1f' % (s, total / n))
        sys.stdout.flush()

if __name__ == '__main__':
    if sys.argv[1] == 'prepare':
        prepare(*sys.argv[2:6])
    elif sys.argv[1] == 'work':
        # work OUT SETTINGS_FILE PSQL...: buffers read per query, no timing
        with open(sys.argv[3]) as f:
            work(sys.argv[2], [l.strip() for l in f if l.strip()], sys.argv[4:])
    elif sys.argv[1] == 'sweep':
        # sweep DATA OUT TARGET ROUNDS SETTINGS_FILE PSQL...: one setting a line
        with open(sys.argv[6]) as f:
            settings = [l.strip() for l in f if l.strip()]
        sweep(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), settings, sys.argv[7:])
    else:
        data, out, settings = sys.argv[2], sys.argv[3], sys.argv[4]
        target = float(sys.argv[5])
        mean, recalls, qps = run(data, out, settings, sys.argv[6:])
        below = sum(1 for x in recalls if x < target) / len(recalls)
        print('%s\tmean_recall=%.4f\tbelow_%.2f=%.3f\tqps=%.1f' % (settings.replace('\n', ' '), mean, target, below, qps))
