#!/usr/bin/env python3
"""
bench/profile/phases.py: fold `perf script` call stacks of one backend into
the phases of a query (issue 19 item 1).

Usage: perf script -i perf.data -F comm,tid,period,ip,sym,dso | phases.py [--top N] [--cpu-us X]

Each sample is charged to one phase: the frame nearest the leaf that a rule
below names decides (so a buffer pin taken during the graph search counts
as "buffer", a distance kernel called from a re-rank counts as "distance").
Buffer work is split by context: under a heap fetch it is heap-page buffer
work, otherwise index-page buffer work.  Frames no rule names (stripped
static functions of the server, libc, the kernel) are passed over toward the
root; a sample whose stack names nothing is "other".  Kernel samples under
no user phase (recv/send, scheduling) count as "protocol".  A sample under
the SQL distance operator or a detoast, outside any index AM search, is
"orderby-value" whatever its leaf (see PROJECTION).

Prints the share of samples per phase; with --cpu-us X (backend CPU per
query in microseconds, from ruvector-bench), also microseconds per query.
"""
import re
import sys
from collections import Counter, defaultdict

# (phase, regex on the symbol name); the leaf-most matching frame wins.
RULES = [
    ("parse", r"^(vector_in|vector_recv|halfvec_in|halfvec_recv|rv_parse_float|"
              r"TypesDenseRecvHeader|dense_parse.*|rv_dense_.*|strtof|__strtof_internal|"
              r"____strtof_l_internal|round_and_return|str_to_mpn.*|__mpn_.*|"
              r"float_to_.*|vector_typmod_in|InputFunctionCall|ReceiveFunctionCall|"
              r"OidInputFunctionCall|OidReceiveFunctionCall)$"),
    ("distance", r"^(avx2_f32_.*|avx512_f32_.*|avx2_f16_.*|avx512_f16_.*|scalar_f32_.*|"
                 r"Vector(L2Squared|InnerProduct|Cosine|L1)Distance.*|"
                 r"vector_(l2|inner|cosine|negative_inner|spherical|l1)_.*|"
                 r"l2_distance|inner_product|cosine_distance|vector_negative_inner_product|"
                 r"rv_dist.*|RvDist.*|HnswStoredDistance|HnswDistanceFmgr|QueryDistance|"
                 r"HnswSearchDistance|TypesCosineDistance)$"),
    ("buffer", r"^(ReadBuffer.*|ReadBufferExtended|ReleaseBuffer|ReleaseAndReadBuffer|"
               r"LockBuffer|UnlockReleaseBuffer|ConditionalLockBuffer|IncrBufferRefCount|"
               r"PrefetchBuffer|BufferGetBlockNumber|LWLockAcquire|LWLockRelease|"
               r"LWLockAttemptLock|BufTableLookup|BufTableHashCode|ResourceOwnerEnlargeBuffers|"
               r"ResourceOwnerRememberBuffer|ResourceOwnerForgetBuffer|BufferIsPermanent|"
               r"HnswReadBuffer|ReadBlock|StagePin|RememberHint)$"),
    ("heap", r"^(index_fetch_heap|heap_hot_search_buffer|HeapTupleSatisfiesVisibility|"
             r"heap_page_prune_opt|HeapTupleSatisfiesMVCC|XidInMVCCSnapshot|"
             r"TransactionIdDidCommit|TransactionIdIsInProgress|heapam_index_fetch_tuple|"
             r"table_index_fetch_tuple|ExecStoreBufferHeapTuple)$"),
    ("rerank", r"^(rv_rerank_.*|RerankBatch|FetchExactDistance|RowDistance|NextRanked|AddRanked)$"),
    ("traversal", r"^(hnsw.*|Hnsw.*|Visited.*|Offer|NewCand|Stage.*|EvaluateNeighbors|"
                  r"ShrinkW|GrowW|GatherUnvisited|LoadUnvisited|CopySlots|SortTidsByBlock|"
                  r"TrackTopK|CountsForEf|FirstBatch|NextBatch|StartScan|ScanQuery|CheckQuery|"
                  r"Adapt.*|pairingheap_.*|CompareCandidate.*|CompareNearest.*|CompareFurthest.*|"
                  r"GetScanItems|GetScanValue|tidhash_.*|offsethash_.*|pointerhash_.*|index_getnext_tid|"
                  r"index_rescan|index_beginscan.*|index_endscan|btint4.*)$"),
    ("planning", r"^(pg_plan_queries|pg_plan_query|planner|standard_planner|BuildCachedPlan|"
                 r"GetCachedPlan|RevalidateCachedQuery|CheckCachedPlan|choose_custom_plan|"
                 r"pg_analyze_and_rewrite.*|parse_analyze.*|raw_parser|pg_parse_query|"
                 r"amcostestimate|genericcostestimate|hnswcostestimate|ivfflatcostestimate)$"),
    ("output", r"^(printtup|printtup_.*|SendRowDescriptionMessage|pq_sendcountedtext|"
               r"OutputFunctionCall|int4out|pg_ltoa)$"),
    ("executor", r"^(ExecutorStart|standard_ExecutorStart|ExecutorRun|standard_ExecutorRun|"
                 r"ExecutorEnd|standard_ExecutorEnd|ExecutorFinish|ExecInitNode|ExecEndNode|"
                 r"ExecProcNode.*|ExecLimit|ExecIndexScan|ExecScan|ExecReScan.*|"
                 r"CreateExecutorState|FreeExecutorState|ExecInitIndexScan|ExecEndIndexScan|index_getnext_slot|"
                 r"ExecAssignExprContext|ExecInitExpr.*|ExecBuildProjectionInfo|"
                 r"ExecInterpExpr.*|PortalStart|PortalRun|PortalDrop|PortalCleanup|"
                 r"CreatePortal|MemoryContextDelete|AtEOXact_.*|CommitTransaction.*|"
                 r"StartTransaction.*|finish_xact_command|start_xact_command|"
                 r"GetTransactionSnapshot|GetSnapshotData|PushActiveSnapshot|"
                 r"RegisterSnapshot.*|UnregisterSnapshot.*|PopActiveSnapshot)$"),
    ("protocol", r"^(exec_bind_message|exec_execute_message|exec_simple_query|"
                 r"PostgresMain|pq_.*|ReadCommand|SocketBackend|secure_read|secure_write|"
                 r"internal_flush|ReadyForQuery|EndCommand|BeginCommand)$"),
]
COMPILED = [(p, re.compile(r)) for p, r in RULES]

# The ORDER BY value: the scan's target list carries "embedding <op> $1" as
# a resjunk column, so the executor computes the distance of every row it
# returns through the operator's SQL function, after detoasting the stored
# vector (TOAST index and heap for 784-d rows).  A sample with such a frame
# and no index AM search frame above it is charged here, whatever its leaf.
PROJECTION = re.compile(r"^(l2_distance|cosine_distance|inner_product|l1_distance|"
                        r"vector_negative_inner_product|detoast_attr|pg_detoast_datum|"
                        r"heap_fetch_toast_slice|toast_fetch_datum)$")
INDEX_AM = re.compile(r"^(hnswgettuple|ivfflatgettuple)$")
ORDER = ["protocol", "parse", "planning", "executor", "traversal", "distance",
         "buffer:index", "buffer:heap", "heap", "rerank", "orderby-value", "output", "other"]


def classify(stack):
    """stack: list of symbol names, leaf first"""
    if any(PROJECTION.match(f) for f in stack) and not any(INDEX_AM.match(f) for f in stack):
        return "orderby-value"
    phase = None
    depth = None
    for i, sym in enumerate(stack):
        for p, rx in COMPILED:
            if rx.match(sym):
                phase = p
                depth = i
                break
        if phase:
            break
    if phase is None:
        return "other"
    if phase == "buffer":
        for sym in stack[depth + 1:]:
            if COMPILED[3][1].match(sym):
                return "buffer:heap"
            if COMPILED[5][1].match(sym) or COMPILED[4][1].match(sym):
                return "buffer:index"
        return "buffer:index"
    return phase


def clean(sym):
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    sym = re.sub(r"\.(cold|isra\.\d+|part\.\d+|constprop\.\d+|avx\w*|default|resolver)$", "", sym)
    return sym


def main():
    top = 0
    cpu_us = None
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--top":
            top = int(args.pop(0))
        elif a == "--cpu-us":
            cpu_us = float(args.pop(0))
    counts = Counter()
    nsamples = 0
    leaves = defaultdict(Counter)
    stack = []
    header = None
    nonlocal_count = [0]

    def flush():
        if header is None:
            return
        syms = [s for s, d in stack]
        user = [s for s, d in stack if not d.startswith("[kernel")]
        ph = classify(user) if user else "protocol"
        if ph == "other" and stack and stack[0][1].startswith("[kernel"):
            ph = "protocol"
        counts[ph] += header
        nonlocal_count[0] += 1
        if syms:
            leaves[ph][syms[0] if not stack[0][1].startswith("[kernel") else "[k] " + syms[0]] += header

    for line in sys.stdin:
        if not line.strip():
            flush()
            header = None
            stack = []
            continue
        if not line.startswith((" ", "\t")):
            flush()
            stack = []
            f = line.split()
            # comm tid period: ...; take the last integer before the colon
            nums = [x for x in f if x.rstrip(":").isdigit()]
            header = int(nums[-1].rstrip(":")) if nums else 1
            continue
        f = line.strip().split(None, 1)
        if len(f) < 2:
            continue
        rest = f[1]
        m = re.match(r"(.*) \((.*)\)$", rest)
        sym, dso = (m.group(1), m.group(2)) if m else (rest, "")
        stack.append((clean(sym), dso))
    flush()
    nsamples = nonlocal_count[0]
    total = sum(counts.values()) or 1
    print("%-14s %7s %9s" % ("phase", "share", "us/query" if cpu_us else ""))
    for p in ORDER:
        if counts[p]:
            us = "%9.1f" % (cpu_us * counts[p] / total) if cpu_us else ""
            print("%-14s %6.1f%% %s" % (p, 100.0 * counts[p] / total, us))
    print("%-14s %7d samples" % ("total", nsamples))
    if top:
        for p in ORDER:
            if counts[p]:
                print("\n[%s]" % p)
                for s, n in leaves[p].most_common(top):
                    print("  %5.1f%%  %s" % (100.0 * n / total, s))


if __name__ == "__main__":
    main()
