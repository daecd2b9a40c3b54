#!/usr/bin/env bash
# The pictures of `make bench`, drawn with gnuplot (Debian: gnuplot-nox).
#   bench/plot.sh DIR OUTDIR      (bench/run.sh: build/bench build)
# OUTDIR/bench.svg        one horizontal bar per row of the table: best peer
#                         / ours (DIR/ratios.tsv, written by bench/table.sh),
#                         log axis, a line at 1 (right of it: we are ahead)
# OUTDIR/seq_vs_join.svg  the three fetches of examples/seq_vs_join.c
#                         (100, 200, 150 ms) on a time axis, awaited one
#                         after another and joined, from the start and end
#                         times bench/timeline.c measured (DIR/timeline.txt)
# Without gnuplot: says so and draws nothing (exit 0).
set -u
D=${1:?usage: plot.sh DIR OUTDIR}
O=${2:?usage: plot.sh DIR OUTDIR}
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "gnuplot is missing: no pictures (apt-get install gnuplot-nox)"
  exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FONT='font "DejaVu Sans,12" background rgb "white"'

# ---- bench.svg --------------------------------------------------------------
if [ -s "$D/ratios.tsv" ]; then
  n=$(wc -l <"$D/ratios.tsv")
  rounds=$(ls "$D"/raw/ours_gcc.bench_core.r*.txt 2>/dev/null | wc -l)
  # y (top row first), label, ratio, bar from min(1, r) to max(1, r), colour
  awk -F'\t' -v n="$n" 'BEGIN { OFS = "\t" } {
      r = $2 + 0; lo = r < 1 ? r : 1; hi = r < 1 ? 1 : r
      print n + 1 - NR, $1 " (" $3 ")", r, lo, hi, (r >= 1 ? 2793820 : 13656122) }' \
    "$D/ratios.tsv" >"$T/ratios.dat"
  # x range: the data and 1, with room for the labels, in whole powers of 10
  range=$(awk -F'\t' 'BEGIN { lo = 1; hi = 1 } { if ($3 < lo) lo = $3; if ($3 > hi) hi = $3 }
    END { a = 1; while (a > lo / 3) a /= 10; b = 1; while (b < hi * 3) b *= 10; print a ":" b }' "$T/ratios.dat")
  gnuplot <<EOF || echo "gnuplot failed on bench.svg"
set terminal svg size 1000,$((120 + 26 * n)) noenhanced $FONT
set output "$O/bench.svg"
set datafile separator "\t"
set title "make bench: best peer / ours, per row (median of ${rounds:-?} rounds; right of 1: we are ahead)"
set logscale x 10
set xrange [$range]
set yrange [0.4:$n.6]
set ytics scale 0
set grid xtics mxtics lc rgb "#dddddd"
set mxtics 10
set xlabel "best peer / ours  (for requests/s: ours / best peer), log scale"
set lmargin 52
set style fill solid 0.85 noborder
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "#333333" front
unset key
plot "$T/ratios.dat" using 3:1:4:5:(\$1 - 0.35):(\$1 + 0.35):6:ytic(2) with boxxyerror lc rgb variable, \
     "" using (\$3 >= 1 ? \$3 * 1.12 : 1/0):1:(sprintf("%.2fx", \$3)) with labels left, \
     "" using (\$3 < 1 ? \$3 / 1.12 : 1/0):1:(sprintf("%.2fx", \$3)) with labels right
EOF
  [ -s "$O/bench.svg" ] && echo "picture: $O/bench.svg ($n rows)"
else
  echo "no ratios in $D/ratios.tsv: no $O/bench.svg"
fi

# ---- seq_vs_join.svg --------------------------------------------------------
if [ -s "$D/timeline.txt" ]; then
  # y, label, start, end, colour; the sequential rows on top, a gap, JOIN
  awk 'BEGIN { OFS = "\t"; ms[1] = 100; ms[2] = 200; ms[3] = 150 }
    $1 == "seq" || $1 == "join" {
      y = ($1 == "seq" ? 8 : 4) - $2
      print y, ($1 == "seq" ? "awaited in turn" : "JOIN") ": fetch " $2 " (" ms[$2] " ms)", $3, $4, ($1 == "seq" ? 4620959 : 2793820)
      if ($4 > end[$1]) end[$1] = $4
    }
    END { printf "%.0f %.0f\n", end["seq"], end["join"] > "/dev/stderr" }' \
    "$D/timeline.txt" >"$T/tl.dat" 2>"$T/ends"
  read -r seq_end join_end <"$T/ends"
  gnuplot <<EOF || echo "gnuplot failed on seq_vs_join.svg"
set terminal svg size 1000,380 noenhanced $FONT
set output "$O/seq_vs_join.svg"
set datafile separator "\t"
set title "Three fetches (100, 200, 150 ms), measured: awaited one after another, then with JOIN"
set xrange [0:$((seq_end * 125 / 100))]
set yrange [0.3:7.7]
set ytics scale 0
set xtics 50
set grid xtics lc rgb "#dddddd"
set xlabel "time since the start of the run (ms)"
set lmargin 30
set style fill solid 0.85 noborder
set arrow from $seq_end, 4.6 to $seq_end, 7.5 nohead dt 2 lc rgb "#46829f" front
set label "$seq_end ms: the sum" at $seq_end, 7.4 offset 0.5, 0 left
set arrow from $join_end, 0.5 to $join_end, 3.4 nohead dt 2 lc rgb "#2aa15c" front
set label "$join_end ms: the slowest" at $join_end, 3.3 offset 0.5, 0 left
unset key
plot "$T/tl.dat" using ((\$3 + \$4) / 2):1:3:4:(\$1 - 0.3):(\$1 + 0.3):5:ytic(2) with boxxyerror lc rgb variable, \
     "" using 4:1:(sprintf("%.1f-%.1f ms", \$3, \$4)) with labels left offset 0.5, 0
EOF
  [ -s "$O/seq_vs_join.svg" ] && echo "picture: $O/seq_vs_join.svg (sequential $seq_end ms, JOIN $join_end ms)"
else
  echo "no $D/timeline.txt: no $O/seq_vs_join.svg"
fi
