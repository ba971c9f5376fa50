# recall_qps.gp: recall@10 against QPS, one line per configuration.
#
# Called by ruvector-bench as
#   gnuplot -e "datafile='x.dat'; outfile='x.png'; nblocks=N; nrv=R; \
#               lts='1 2 1 2'; pts='4 6 5 7'; plottitle='...'" recall_qps.gp
# The data file holds one block per series (target, index, setting family),
# blocks separated by two blank lines; a block starts with its quoted title,
# then rows "recall@10 QPS knob" (knob = ef_search or probes, 0 for exact).
# The first nrv blocks are RuVector's, drawn solid with open markers; the
# rest are pgvector's, dashed with filled markers.  lts and pts give each
# block's line type (one colour per configuration on both sides) and point
# type.  Up and to the right is better.

if (!exists("datafile") || !exists("outfile")) {
    print "usage: gnuplot -e \"datafile='x.dat'; outfile='x.png'; nblocks=N; nrv=R\" recall_qps.gp"
    exit
}
if (!exists("nblocks")) nblocks = 1
if (!exists("nrv")) nrv = nblocks
if (!exists("plottitle")) plottitle = "recall@10 vs QPS"
if (!exists("lts")) lts = ""
if (!exists("pts")) pts = ""
lt_of(i) = words(lts) > i ? word(lts, i + 1) + 0 : i + 1
pt_of(i) = words(pts) > i ? word(pts, i + 1) + 0 : (i % 7) + 4

set terminal pngcairo size 1100,720 font ",11"
set output outfile
set title plottitle noenhanced
set xlabel "recall@10" noenhanced
set ylabel "queries per second (log scale)"
set logscale y
set grid xtics ytics mytics
set key outside right top box noenhanced
set xrange [*:1.005]

rv_plot = "for [i=0:nrv-1] datafile index i using 1:2 title columnheader(1) " . \
    "with linespoints lt lt_of(i) lw 2 pt pt_of(i) ps 1.3 dt 1"
pg_plot = "for [i=nrv:nblocks-1] datafile index i using 1:2 title columnheader(1) " . \
    "with linespoints lt lt_of(i) lw 2 pt pt_of(i) ps 1.3 dt 2"
if (nrv > 0 && nrv < nblocks) {
    eval "plot " . rv_plot . ", " . pg_plot
} else {
    if (nrv > 0) {
        eval "plot " . rv_plot
    } else {
        eval "plot " . pg_plot
    }
}
