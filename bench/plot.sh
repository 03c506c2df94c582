#!/usr/bin/env bash
# Charts for bench/README.md from a harness's own CSV (issue 19, item 7):
#
#   bench/plot.sh CSV OUT_PREFIX "TITLE"
#
# CSV: header `scenario,service,rps,p50,p99,p999`, one line per scenario and service (bench/run-compare.sh writes one
# next to each results file). Writes OUT_PREFIX-throughput.png and OUT_PREFIX-p99.png: one group of bars per scenario,
# one bar per service; with PLOT_LOG=1 both y axes are logarithmic (for services hundreds of times apart). The plotting tool is gnuplot (Debian's gnuplot-nox), installed here with apt-get when missing.
#
#   bench/plot.sh --series CSV OUT.png "TITLE"
#
# A time series instead (bench/run-memory.sh): CSV with header `seconds,rss_mib,activations_k,gc_heap_mib` (more
# columns are ignored), one line per sample; writes OUT.png with RSS and GC heap (MiB, left axis) and grain
# activations (thousands, right axis) over time.
set -euo pipefail
series=0
if [[ ${1:-} == --series ]]; then series=1; shift; fi
csv=$1 out=$2 title=$3
if ! command -v gnuplot >/dev/null; then
  echo "plot.sh: installing gnuplot-nox (apt-get)" >&2
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null; }
  else
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
  fi
fi
if [[ $series == 1 ]]; then
  gnuplot <<GP
set terminal pngcairo size 900,480 font "sans,10"
set output "$out"
set title "$title" noenhanced
set datafile separator ","
set key top left autotitle columnhead noenhanced
set xlabel "seconds"
set ylabel "MiB"
set y2label "activations, thousands"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid ytics
plot "$csv" using "seconds":"rss_mib" with lines lw 2 title "RSS (MiB)", \
     "$csv" using "seconds":"gc_heap_mib" with lines lw 1 title "GC heap after the last collection (MiB)", \
     "$csv" using "seconds":"activations_k" axes x1y2 with lines lw 2 dt 2 title "grain activations (thousands, right axis)"
GP
  echo "plot.sh: wrote $out" >&2
  exit 0
fi
# One data block per metric: rows = scenarios, columns = services (in the CSV's order of first appearance).
data=$(mktemp)
trap 'rm -f "$data"' EXIT
python3 - "$csv" "$data" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
services = list(dict.fromkeys(r["service"] for r in rows))
cell = {(r["scenario"], r["service"]): r for r in rows}
with open(sys.argv[2], "w") as f:
    for metric in ("rps", "p99"):
        f.write("scenario " + " ".join(f'"{s}"' for s in services) + "\n")
        for sc in scenarios:
            f.write(f'"{sc}" ' + " ".join(cell[(sc, s)][metric] if (sc, s) in cell else "NaN" for s in services) + "\n")
        f.write("\n\n")
PY
services=$(python3 -c 'import csv, sys; print(len(dict.fromkeys(r["service"] for r in csv.DictReader(open(sys.argv[1])))))' "$csv")
plot() { # index ylabel file label
  gnuplot <<GP
set terminal pngcairo size 900,480 font "sans,10"
set output "$3"
set title "$title: $4"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left autotitle columnhead
set ylabel "$2"
$(if [[ ${PLOT_LOG:-0} == 1 ]]; then echo 'set logscale y'; echo 'set yrange [*:*]'; else echo 'set yrange [0:*]'; fi)
set grid ytics
set xtics noenhanced
set key noenhanced
plot for [c=2:$((services + 1))] "$data" index $1 using c:xtic(1) title columnhead(c)
GP
}
scale=
[[ ${PLOT_LOG:-0} != 1 ]] || scale=", log scale"
plot 0 "requests/s$scale" "$out-throughput.png" "throughput (higher is better)"
plot 1 "p99 latency, ms$scale" "$out-p99.png" "p99 latency (lower is better)"
echo "plot.sh: wrote $out-throughput.png and $out-p99.png" >&2
