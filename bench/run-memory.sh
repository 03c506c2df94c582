#!/usr/bin/env bash
# Issue 19, item 6: memory per activated resource grain, and activation collection under a scan of many distinct ids.
#
#   flock /tmp/bench.lock bench/run-memory.sh
#
# 1. Builds Release (the product from the clean export of HEAD that bench/run-compare.sh uses; bench/compare/Activate).
# 2. A throwaway PostgreSQL; the product in PostgreSQL mode, with the bench admin's API key (plan `bench`: the rate
#    limiter on, never refusing) and activation collection age MEM_FILL_AGE (long: nothing is collected while it fills).
# 3. The fill: MEM_RESOURCES resources in the admin's tenant by SQL (ids res_<22 hex digits of 1..N>). The idle silo:
#    a full GC (dotnet-gcdump collect, which induces one; the dump's type table is kept), then VmRSS, the GC heap after
#    that collection and Orleans' activation count (the silo's /metrics). Then every resource is activated by a GET
#    (bench/compare/Activate, MEM_CONCURRENCY at a time, as fast as it goes), and the same figures are taken again
#    after another full GC: bytes per activation = (RSS after - RSS idle) / (activations after - activations idle).
# 4. The scan: MEM_SCAN - MEM_RESOURCES more rows (the scan's ids exist, so each GET makes a real activation that
#    holds its document: a missing id's activation drops itself at once), a fresh silo with collection age
#    MEM_SCAN_AGE and quantum MEM_SCAN_QUANTUM, every id 1..MEM_SCAN GET once at MEM_SCAN_RATE requests/s, then
#    MEM_SCAN_AGE + 2 quanta idle so the collection of the last ones shows.
# Throughout, one sample a second (VmRSS, activations, GC heap) into bench/compare/.run-memory/{fill,scan}.csv.
# Results: bench/compare/results-memory-latest.md, and the charts results-memory-latest-{fill,scan}.png (bench/plot.sh
# --series) from the CSVs, copied next to it.
#
# Environment: MEM_RESOURCES (1000000), MEM_SCAN (5000000; 0: the fill alone), MEM_SCAN_RATE (3500), MEM_CONCURRENCY (64),
# MEM_FILL_AGE (7200 s), MEM_SCAN_AGE (60 s), MEM_SCAN_QUANTUM (15 s), MEM_GCDUMP (1: full GC and type table by
# dotnet-gcdump; 0: no forced GC), MEM_NO_BUILD=1, MEM_PRODUCT_ENV (extra NAME=VALUE settings for the product),
# MEM_OUT (the results file).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CMP=$BENCH_DIR/compare
RUN=$CMP/.run-memory
OUT=${MEM_OUT:-$CMP/results-memory-latest.md}
N=${MEM_RESOURCES:-1000000}
SCAN=${MEM_SCAN:-5000000}
SCAN_RATE=${MEM_SCAN_RATE:-3500}
CONC=${MEM_CONCURRENCY:-64}
FILL_AGE=${MEM_FILL_AGE:-7200}
SCAN_AGE=${MEM_SCAN_AGE:-60}
SCAN_QUANTUM=${MEM_SCAN_QUANTUM:-15}
GCDUMP=${MEM_GCDUMP:-1}
read -r -a PRODUCT_ENV <<<"${MEM_PRODUCT_ENV:-}"
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
(( SCAN == 0 || SCAN >= N )) || { echo "run-memory.sh: MEM_SCAN must be 0 (no scan) or at least MEM_RESOURCES" >&2; exit 2; }

BENCH_NAME=run-memory.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
mkdir -p "$RUN"
rm -f "$RUN"/*.log "$RUN"/*.csv "$RUN"/*.txt "$RUN"/*.gcdump

# ------------------------------------------------------------------ build
SRC=$CMP/.run/src
build_product "$SRC" "${MEM_NO_BUILD:-0}" "$CMP/Activate/Activate.csproj"
ACTIVATE_DLL=$(tool_dll "$CMP/Activate/Activate.csproj")
GCDUMP_BIN=$RUN/tools/dotnet-gcdump
if [[ $GCDUMP == 1 && ! -x $GCDUMP_BIN ]]; then
  say "install dotnet-gcdump (dotnet tool, into ${RUN#"$ROOT"/}/tools)"
  dotnet tool install --tool-path "$RUN/tools" dotnet-gcdump >>"$RUN/build.log" 2>&1 || die "installing dotnet-gcdump failed"
fi
UPTIME_BEFORE=$(uptime)

# ------------------------------------------------------------------ PostgreSQL and the product
say "start PostgreSQL"
start_postgres "$RUN/postgres" product
hms() { printf '%02d:%02d:%02d' $(($1 / 3600)) $(($1 % 3600 / 60)) $(($1 % 60)); }
PRODUCT_SETTINGS=(
  Plans__Catalog__bench__MaxResources=100000000 Plans__Catalog__bench__MaxApiKeys=100 Plans__Catalog__bench__MaxWebhooks=100
  RateLimits__Plans__bench__Limit=1000000000 RateLimits__Plans__bench__WindowSeconds=60
)
product() { # log age quantum: a fresh silo on the database `product`
  start_product "$SILO_BIN" product "$RUN/$1" "${PRODUCT_SETTINGS[@]}" \
    Orleans__ActivationCollection__Age="$(hms "$2")" Orleans__ActivationCollection__Quantum="$(hms "$3")" "${PRODUCT_ENV[@]}"
}
product product-fill.log "$FILL_AGE" 60

admin_api_key memory

# seed FROM TO: rows res_<hex FROM>..res_<hex TO> of the admin, as bench/run-compare.sh seeds them (triggers off for
# the bulk insert; the counters written once from the rows).
T_BASE=$(( $(date +%s) * 1000000 ))
seed() {
  say "seed resources $1..$2 into the admin's tenant (SQL)"
  seed_product_sql "SELECT 'res_' || lpad(to_hex(g), 22, '0') AS id, 'seed-' || lpad(g::text, 7, '0') AS name,
         'benchmark resource ' || g AS description, (ARRAY['standard','document','dataset','model'])[1 + g % 4] AS type,
         (ARRAY['active','active','active','inactive','archived'])[1 + g % 5] AS status,
         '{\"seq\":' || g || ',\"tags\":[\"bench\",\"seed\"],\"owner\":{\"team\":\"perf\"}}' AS metadata,
         $T_BASE - ($SCAN - g) * 1000 AS t
    FROM generate_series($1::bigint, $2::bigint) g" | psql -XAtq -d product -v ON_ERROR_STOP=1 -v owner="$OWNER" >/dev/null
}
ids() { awk -v from="$1" -v to="$2" 'BEGIN { for (g = from; g <= to; g++) printf "res_%022x\n", g }'; } # FROM TO
seed 1 "$N"
ids 1 "$N" >"$RUN/fill-ids.txt"

# ------------------------------------------------------------------ figures of the silo
rss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$P_PID/status"; } # kB
# From /metrics: activations (Orleans' catalog), and the GC heap after the last collection (.NET's System.Runtime meter,
# all generations) in bytes.
metrics() {
  curl -sf --max-time 10 "$MANAGEMENT/metrics" | awk '
    /^orleans_catalog_activations(\{| )/ { a += $NF }
    /^dotnet_gc_last_collection_heap_size_bytes(\{| )/ { h += $NF }
    END { printf "%d %.0f\n", a, h }'
}
# Samples every second until stopped: seconds since the phase began, RSS, activations, GC heap (the CSV plot.sh plots).
sampler() { # csv
  local t0=$SECONDS a h
  echo "seconds,rss_mib,activations_k,gc_heap_mib,rss_kb,activations,gc_heap_bytes" >"$1"
  while kill -0 "$P_PID" 2>/dev/null; do
    # /metrics can take longer than its 10 s while the silo is saturated: then the sample has RSS alone (gaps in the chart).
    read -r a h < <(metrics || echo "- -")
    awk -v t=$((SECONDS - t0)) -v r="$(rss)" -v a="$a" -v h="$h" 'BEGIN {
      if (a == "-") printf "%d,%.1f,,,%d,,\n", t, r / 1024, r
      else printf "%d,%.1f,%.1f,%.1f,%d,%d,%.0f\n", t, r / 1024, a / 1000, h / 1048576, r, a, h }' >>"$1"
    sleep 1
  done
}
# full_gc LABEL: a full, blocking collection of the silo (dotnet-gcdump induces one to walk the heap); its type table
# goes to LABEL-types.txt. Then a few seconds for the runtime to give back what it freed.
full_gc() {
  [[ $GCDUMP == 1 ]] || return 0
  say "full GC of the silo (dotnet-gcdump collect: $1)"
  if timeout 600 "$GCDUMP_BIN" collect -p "$P_PID" -o "$RUN/$1.gcdump" >>"$RUN/gcdump.log" 2>&1; then
    "$GCDUMP_BIN" report "$RUN/$1.gcdump" >"$RUN/$1-types.txt" 2>>"$RUN/gcdump.log" || true
    rm -f "$RUN/$1.gcdump"
  else
    echo "!! dotnet-gcdump collect failed or timed out (see $RUN/gcdump.log)" >&2
  fi
  sleep 5
}
figures() { # -> "RSS_KB ACTIVATIONS GC_HEAP_BYTES"
  local a h
  read -r a h < <(metrics)
  echo "$(rss) $a $h"
}

# ------------------------------------------------------------------ the fill
sampler "$RUN/fill.csv" &
PIDS+=("$!")
sleep 10  # start-up work settles (migrations, bootstrap, the first requests' activations)
full_gc fill-idle
read -r IDLE_RSS IDLE_ACT IDLE_HEAP < <(figures)
say "idle: VmRSS $((IDLE_RSS / 1024)) MiB, $IDLE_ACT activations, GC heap $((IDLE_HEAP / 1048576)) MiB; activate $N resources, $CONC at a time"
FILL_OUT=$(dotnet "$ACTIVATE_DLL" "$PRODUCT" "$RUN/fill-ids.txt" "$CONC" 3600 2> >(tee -a "$RUN/bench.log" >&2)) || die "activation failed: $FILL_OUT"
echo "fill: $FILL_OUT" | tee -a "$RUN/bench.log" >&2
read -r LOADED_RSS LOADED_ACT LOADED_HEAP < <(figures)
full_gc fill-full
read -r FULL_RSS FULL_ACT FULL_HEAP < <(figures)
HWM=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$P_PID/status")
say "after the fill: VmRSS $((FULL_RSS / 1024)) MiB (peak $((HWM / 1024)) MiB), $FULL_ACT activations, GC heap $((FULL_HEAP / 1048576)) MiB"
stop_pid "$P_PID"
wait 2>/dev/null || true

# ------------------------------------------------------------------ the scan
scan() {
  (( SCAN == N )) || seed $((N + 1)) "$SCAN"
  ids 1 "$SCAN" >"$RUN/scan-ids.txt"
  product product-scan.log "$SCAN_AGE" "$SCAN_QUANTUM"
  sampler "$RUN/scan.csv" &
  PIDS+=("$!")
  sleep 10
  read -r SCAN_IDLE_RSS SCAN_IDLE_ACT SCAN_IDLE_HEAP < <(figures)
  say "scan: $SCAN ids at $SCAN_RATE/s (collection age $SCAN_AGE s, quantum $SCAN_QUANTUM s); idle VmRSS $((SCAN_IDLE_RSS / 1024)) MiB"
  SCAN_OUT=$(dotnet "$ACTIVATE_DLL" "$PRODUCT" "$RUN/scan-ids.txt" "$CONC" $(( SCAN / SCAN_RATE * 2 + 60 )) "$SCAN_RATE" 2> >(tee -a "$RUN/bench.log" >&2)) ||
    echo "!! the scan had errors: $SCAN_OUT" >&2
  echo "scan: $SCAN_OUT" | tee -a "$RUN/bench.log" >&2
  SCAN_END_T=$(tail -n1 "$RUN/scan.csv" | cut -d, -f1)
  say "idle for $((SCAN_AGE + 2 * SCAN_QUANTUM)) s: the last activations are collected"
  sleep $((SCAN_AGE + 2 * SCAN_QUANTUM))
  read -r SCAN_AFTER_RSS SCAN_AFTER_ACT SCAN_AFTER_HEAP < <(figures)
  stop_pid "$P_PID"
  wait 2>/dev/null || true
}
if (( SCAN > 0 )); then
  scan
else
  echo "seconds,rss_mib,activations_k,gc_heap_mib,rss_kb,activations,gc_heap_bytes" >"$RUN/scan.csv"
  SCAN_IDLE_RSS=0 SCAN_IDLE_ACT=0 SCAN_IDLE_HEAP=0 SCAN_OUT=skipped SCAN_END_T=0 SCAN_AFTER_RSS=0 SCAN_AFTER_ACT=0 SCAN_AFTER_HEAP=0
fi
UPTIME_AFTER=$(uptime)

# ------------------------------------------------------------------ report
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export RUN OUT N SCAN SCAN_RATE CONC FILL_AGE SCAN_AGE SCAN_QUANTUM GCDUMP COMMIT PG_VERSION UPTIME_BEFORE UPTIME_AFTER \
  IDLE_RSS IDLE_ACT IDLE_HEAP LOADED_RSS LOADED_ACT LOADED_HEAP FULL_RSS FULL_ACT FULL_HEAP HWM FILL_OUT \
  SCAN_IDLE_RSS SCAN_IDLE_ACT SCAN_IDLE_HEAP SCAN_OUT SCAN_END_T SCAN_AFTER_RSS SCAN_AFTER_ACT SCAN_AFTER_HEAP
export MACHINE="$(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM" DOTNET_VERSION="$(dotnet --version)" \
  WHEN="$(date -u '+%Y-%m-%d %H:%M UTC')" EXTRA="${MEM_PRODUCT_ENV:-}"
python3 - <<'PY'
import csv, os, re
e = os.environ
i = lambda k: int(float(e[k]))
mib = lambda kb: f"{kb / 1024:,.0f} MiB"
per = lambda d_bytes, d_act: d_bytes / d_act if d_act > 0 else float("nan")
act = i("FULL_ACT") - i("IDLE_ACT")
rss_per = per((i("FULL_RSS") - i("IDLE_RSS")) * 1024, act)
heap_per = per(i("FULL_HEAP") - i("IDLE_HEAP"), act)
scan = list(csv.DictReader(open(f"{e['RUN']}/scan.csv")))
during = [r for r in scan if int(r["seconds"]) <= int(e["SCAN_END_T"])]
peak_rss = max((int(r["rss_kb"]) for r in scan), default=0)
peak_act = max((int(r["activations"]) for r in scan), default=0)
# The scan's second half: bounded means RSS stops growing once collection keeps pace.
half = during[len(during) // 2:]
half_rss = [int(r["rss_kb"]) for r in half] or [0]
out = e["OUT"]
with open(out, "w") as f:
    f.write("# Memory per resource-grain activation, and a scan of many distinct ids, latest run\n\n")
    f.write(f"Written by `bench/run-memory.sh` on {e['WHEN']}.\n\n")
    f.write(f"- Product: commit {e['COMMIT'][:7]} (clean export of HEAD), PostgreSQL mode (PostgreSQL {e['PG_VERSION']}), one API key (plan `bench`){'; extra settings: ' + e['EXTRA'] if e['EXTRA'] else ''}\n")
    f.write(f"- Machine: {e['MACHINE']}, shared by the load generator, the silo and PostgreSQL; .NET SDK {e['DOTNET_VERSION']}\n")
    f.write(f"- uptime before: `{e['UPTIME_BEFORE'].strip()}`; after: `{e['UPTIME_AFTER'].strip()}`\n")
    f.write(f"- Full GC before each figure of the fill: {'yes (dotnet-gcdump collect)' if e['GCDUMP'] == '1' else 'no'}\n\n")
    f.write(f"## The fill: {i('N'):,} resources activated (collection age {e['FILL_AGE']} s)\n\n")
    f.write("| silo | VmRSS | grain activations | GC heap after the last collection |\n| --- | ---: | ---: | ---: |\n")
    f.write(f"| idle, after seeding | {mib(i('IDLE_RSS'))} | {i('IDLE_ACT'):,} | {i('IDLE_HEAP') / 1048576:,.0f} MiB |\n")
    f.write(f"| every resource activated, before the full GC | {mib(i('LOADED_RSS'))} | {i('LOADED_ACT'):,} | {i('LOADED_HEAP') / 1048576:,.0f} MiB |\n")
    f.write(f"| every resource activated, after the full GC | {mib(i('FULL_RSS'))} (peak VmHWM {mib(i('HWM'))}, dotnet-gcdump's own buffers in the silo included) | {i('FULL_ACT'):,} | {i('FULL_HEAP') / 1048576:,.0f} MiB |\n\n")
    f.write(f"Activation: `{e['FILL_OUT']}` ({e['CONC']} at a time).\n\n")
    f.write(f"**Per activation above the idle silo: {rss_per:,.0f} bytes of RSS ({rss_per / 1024:.2f} KiB), {heap_per:,.0f} bytes of GC heap** "
            f"over {act:,} activations; target ≤ 3 KiB of RSS: **{'met' if rss_per <= 3072 else 'MISSED'}**.\n\n")
    # What the fill added to the heap by type, from the two dotnet-gcdump type tables. Their per-type size is one
    # instance's, so for strings and arrays (sizes vary) the rows undercount. A heap of more than 10,000,000 objects is
    # dumped in part (the dump says "10,000,000 GC Heap objects"): the rows are then a sample, so they are divided by
    # the activations the sample holds (its ActivationData objects), not by all of them.
    def types(label):
        path, rows, total, objects = f"{e['RUN']}/{label}-types.txt", {}, 0, 0
        if not os.path.exists(path):
            return None, 0, 0
        for line in open(path):
            if m := re.match(r"\s*([\d,]+)\s+GC Heap (bytes|objects)", line):
                total, objects = (int(m.group(1).replace(",", "")), objects) if m.group(2) == "bytes" else (total, int(m.group(1).replace(",", "")))
            elif m := re.match(r"\s*([\d,]+)\s+([\d,]+)\s+(.*)$", line):
                size, count = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
                name = re.sub(r"\s*\[[^]]*\]$", "", m.group(3).strip())
                r = rows.setdefault(name, [0, 0])
                r[0] += size * count
                r[1] += count
        return rows, total, objects
    (before, t0, _), (after, t1, o1) = types("fill-idle"), types("fill-full")
    if before is not None and after is not None:
        ad = "Orleans.Runtime.ActivationData"
        sampled = after.get(ad, [0, 0])[1] - before.get(ad, [0, 0])[1]
        if sampled > 0:
            grown = sorted(((b - before.get(k, [0, 0])[0], c - before.get(k, [0, 0])[1], k) for k, (b, c) in after.items()), reverse=True)
            whole = o1 < 10_000_000
            f.write((f"Live objects (dotnet-gcdump) grew by {(t1 - t0) / act:,.0f} bytes per activation. " if whole else
                     f"The dump of the filled heap is partial ({o1:,} objects, {sampled:,} activations in it), so the rows are per activation of that sample. ")
                    + "The types that grew most (bytes: instance size × count, which undercounts strings and arrays):\n\n"
                    "| type | bytes per activation | objects per activation |\n| --- | ---: | ---: |\n")
            for b, c, k in grown[:30]:
                f.write(f"| `{k[:110]}` | {b / sampled:,.0f} | {c / sampled:.2f} |\n")
            f.write("\n")
    if not scan:
        raise SystemExit(0)
    f.write(f"## The scan: {i('SCAN'):,} distinct ids, each GET once at {e['SCAN_RATE']}/s (collection age {e['SCAN_AGE']} s, quantum {e['SCAN_QUANTUM']} s)\n\n")
    f.write(f"Scan: `{e['SCAN_OUT']}`.\n\n")
    f.write("| silo | VmRSS | grain activations | GC heap |\n| --- | ---: | ---: | ---: |\n")
    f.write(f"| idle, before the scan | {mib(i('SCAN_IDLE_RSS'))} | {i('SCAN_IDLE_ACT'):,} | {i('SCAN_IDLE_HEAP') / 1048576:,.0f} MiB |\n")
    f.write(f"| peak during the scan | {mib(peak_rss)} | {peak_act:,} | |\n")
    f.write(f"| second half of the scan: VmRSS min … max | {mib(min(half_rss))} … {mib(max(half_rss))} | | |\n")
    f.write(f"| {int(e['SCAN_AGE']) + 2 * int(e['SCAN_QUANTUM'])} s after the scan | {mib(i('SCAN_AFTER_RSS'))} | {i('SCAN_AFTER_ACT'):,} | {i('SCAN_AFTER_HEAP') / 1048576:,.0f} MiB |\n\n")
    f.write(f"Without collection the scan would hold {i('SCAN'):,} activations: {i('SCAN') * rss_per / 1048576:,.0f} MiB more at the fill's bytes per activation.\n")
PY
cat "$OUT"
cp "$RUN/fill.csv" "${OUT%.md}-fill.csv"
cp "$RUN/scan.csv" "${OUT%.md}-scan.csv"
for phase in fill $( (( SCAN == 0 )) || echo scan); do
  "$BENCH_DIR/plot.sh" --series "${OUT%.md}-$phase.csv" "${OUT%.md}-$phase.png" \
    "$([[ $phase == fill ]] && echo "activating $N resource grains (collection age $FILL_AGE s)" || echo "a scan of $SCAN distinct ids at $SCAN_RATE/s (collection age $SCAN_AGE s, quantum $SCAN_QUANTUM s)")" ||
    echo "!! plotting failed (the tables stand)" >&2
done
say "done; results in ${OUT#"$ROOT"/}"
