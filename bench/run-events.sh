#!/usr/bin/env bash
# Issue 13's event-path benchmarks, one command each (or all three):
#
#   bench/run-events.sh idle       3 silos on PostgreSQL, no traffic: database transactions per second per silo, and
#                                  which statements they are (pg_stat_database / pg_stat_statements), plus silo CPU
#   bench/run-events.sh webhooks   1 silo on PostgreSQL: creates at EV_RATE/s (open loop) from EV_TENANTS tenants, each
#                                  with a webhook to a local receiver: create sent -> webhook received (p50, p99) and
#                                  deliveries per second
#   bench/run-events.sh sse        2 silos on PostgreSQL: EV_SUBSCRIBERS event streams over both silos and EV_SSE_TENANTS
#                                  tenants, creates at EV_SSE_RATE/s: create sent -> event received on every stream (p99),
#                                  and silo memory per open stream
#   bench/run-events.sh all        the three, in that order
#
# The product is a clean export of HEAD (bench/.events-run/src), built Release, as bench/run-compare.sh does; the load
# tool is bench/EventsLoad. Results: bench/results/events-latest.md (logs in bench/.events-run/).
#
# Environment: EV_IDLE_SETTLE (60 s), EV_IDLE_WINDOW (300 s), EV_RATE (500), EV_TENANTS (10), EV_DURATION (20 s),
# EV_WARMUP (webhooks: 60 s of the same load first, unmeasured: 20 s into the load the JIT is still re-compiling hot
# code with profile guidance; bench/README.md, the event path's "Steady state"), EV_SSE_WARMUP (sse: the same, default 0 — a fresh
# silo's first seconds are then part of the figure), EV_SUBSCRIBERS (1000), EV_SSE_TENANTS (100), EV_SSE_RATE (50), EV_NO_BUILD=1, EV_SILO_ENV ("NAME=VALUE ..." for the silos).
# EV_OBSERVE=1 (sse): each silo's runtime counters every second over the measured window (bench/.tools/dotnet-counters,
# installed there by the script when missing) -> bench/.events-run/sse-silo<i>.counters.csv and a
# summary; EV_PROFILE=1: on-CPU stacks with Linux perf — webhooks: the silo for 8 s from 3 s into the measured window ->
# bench/.events-run/webhooks-profile.txt; sse: both silos for EV_PROFILE_SECONDS (10) from EV_PROFILE_DELAY (3) s into
# it -> bench/.events-run/sse-profile.txt. Every sse run writes one line per receipt to bench/.events-run/sse-samples.csv
# and a breakdown of the tail (bench/events-tail.py) to the results.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$BENCH_DIR/.events-run
OUT=$BENCH_DIR/results/events-latest.md
MODE=${1:-all}
IDLE_SETTLE=${EV_IDLE_SETTLE:-60}
IDLE_WINDOW=${EV_IDLE_WINDOW:-300}
RATE=${EV_RATE:-500}
TENANTS=${EV_TENANTS:-10}
DURATION=${EV_DURATION:-20}
WARMUP=${EV_WARMUP:-60}
SUBSCRIBERS=${EV_SUBSCRIBERS:-1000}
SSE_TENANTS=${EV_SSE_TENANTS:-100}
SSE_RATE=${EV_SSE_RATE:-50}
SSE_WARMUP=${EV_SSE_WARMUP:-0}
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
[[ "$MODE" =~ ^(idle|webhooks|sse|all)$ ]] || { echo "usage: $0 idle|webhooks|sse|all" >&2; exit 2; }

BENCH_NAME=run-events.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
[[ ${EV_OBSERVE:-0} != 1 ]] || COUNTERS=$(bench_tool dotnet-counters)
mkdir -p "$RUN" "$(dirname "$OUT")"
rm -f "$RUN"/*.log

SRC=$RUN/src
build_product "$SRC" "${EV_NO_BUILD:-0}" "$BENCH_DIR/EventsLoad/EventsLoad.csproj"
LOAD_DLL=$(tool_dll "$BENCH_DIR/EventsLoad/EventsLoad.csproj")

# Every tenant registers itself; no plan limit or rate limit may be what a benchmark measures.
PRODUCT_SETTINGS=(RateLimits__Anonymous__Limit=1000000 RateLimits__Plans__free__Limit=0 Plans__Catalog__free__MaxResources=100000000
  Plans__Catalog__free__MaxEventStreams=100000 Webhooks__AllowPrivateNetworks=true)
# EV_SILO_ENV: further NAME=VALUE settings for the silos (space-separated), e.g. DOTNET_gcServer=0 to compare GC modes.
read -r -a EXTRA_SETTINGS <<<"${EV_SILO_ENV:-}"
PRODUCT_SETTINGS+=("${EXTRA_SETTINGS[@]}")
[[ "${EV_PROFILE:-0}" == 1 ]] && PRODUCT_SETTINGS+=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
# PostgreSQL's CPU: the postmaster with its reaped children, plus every live backend.
pg_ticks() {
  local t pid
  t=$(sed 's/^.*) //' "/proc/$PG_PID/stat" | awk '{print $12 + $13 + $14 + $15}')
  for pid in $(pgrep -P "$PG_PID"); do t=$((t + $(cpu_ticks "$pid" || echo 0))); done
  echo "$t"
}
ticks_ms() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1000 / hz }'; }
# watch_pool URL...: samples each silo's thread-pool queue length every second (in the background) until
# stop_watch; POOL_MAX is then the largest sample.
watch_pool() {
  : >"$RUN/pool.txt"
  ( while true; do
      for u in "$@"; do
        curl -s --max-time 1 "$u/metrics" | awk '!/^#/ && /thread_pool_queue_length/ {print $NF}' >>"$RUN/pool.txt" || true
      done
      sleep 1
    done ) &
  WATCH_PID=$!
}
stop_watch() { kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; POOL_MAX=$(sort -n "$RUN/pool.txt" | tail -n1); POOL_MAX=${POOL_MAX:-n/a}; }
# cpu_line n: "silo X ms, PostgreSQL Y ms, load tool Z ms" per n events, from the *_T0/*_T1 tick pairs
cpu_line() {
  awk -v n="$1" -v s="$(ticks_ms $((SILO_T1 - SILO_T0)))" -v p="$(ticks_ms $((PG_T1 - PG_T0)))" -v l="$(ticks_ms $((LOAD_T1 - LOAD_T0)))" \
    'BEGIN { if (n < 1) n = 1; printf "silo %.0f ms (%.3f ms per event), PostgreSQL %.0f ms (%.3f), load tool and receiver %.0f ms (%.3f)", s, s / n, p, p / n, l, l / n }'
}
silo_ticks() { local t=0 pid; for pid in "${SILO_PIDS[@]}"; do t=$((t + $(cpu_ticks "$pid"))); done; echo "$t"; }
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
REPORT=()
report() { REPORT+=("$*"); echo "$*" >&2; }

start_cluster() { # n db: n silos of one cluster on database db; sets URLS and SILO_PIDS
  local n=$1 db=$2 i
  URLS=() SILO_PIDS=() MANAGEMENTS=()
  for i in $(seq 1 "$n"); do
    start_product "$SILO_BIN" "$db" "$RUN/$db-silo$i.log" "${PRODUCT_SETTINGS[@]}"
    URLS+=("$PRODUCT") SILO_PIDS+=("$P_PID") MANAGEMENTS+=("$MANAGEMENT")
  done
}

stop_cluster() { local pid; for pid in "${SILO_PIDS[@]}"; do stop_pid "$pid"; done; }

say "start PostgreSQL"
start_postgres "$RUN/postgres" idle webhooks sse
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ idle
if [[ "$MODE" == idle || "$MODE" == all ]]; then
  start_cluster 3 idle
  say "idle: settle ${IDLE_SETTLE} s, then measure ${IDLE_WINDOW} s"
  sleep "$IDLE_SETTLE"
  PGDATABASE=idle psql -XAtq -c "SELECT pg_stat_statements_reset()" >/dev/null
  x0=$(PGDATABASE=idle psql -XAtq -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'idle'")
  c0=0; for pid in "${SILO_PIDS[@]}"; do c0=$((c0 + $(cpu_ticks "$pid"))); done
  sleep "$IDLE_WINDOW"
  c1=0; for pid in "${SILO_PIDS[@]}"; do c1=$((c1 + $(cpu_ticks "$pid"))); done
  sleep 11 # pg_stat_database is flushed by idle backends up to 10 s late
  x1=$(PGDATABASE=idle psql -XAtq -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'idle'")
  # Statements by what they serve: each idle statement is its own transaction (autocommit).
  PGDATABASE=idle psql -XAtq -F'|' >"$RUN/idle-statements.txt" -c "
    SELECT CASE
             WHEN query ~* 'orleansmembership' THEN 'Orleans membership'
             WHEN query ~* 'orleansreminders' THEN 'Orleans reminders (the sweep''s)'
             WHEN query ~* '\\m(events|event_owners|event_acks|event_counts|webhooks|webhook_deliveries)\\M' THEN 'event path'
             WHEN query ~* 'orleansstorage' THEN 'grain state'
             ELSE 'other' END AS what,
           sum(calls), string_agg(DISTINCT left(regexp_replace(query, '\\s+', ' ', 'g'), 90), ' ;; ')
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'idle') AND query NOT LIKE '%pg_stat%'
    GROUP BY 1 ORDER BY 2 DESC"
  stop_cluster
  per_silo() { awk -v n="$1" -v w="$IDLE_WINDOW" 'BEGIN { printf "%.4f", n / w / 3 }'; }
  event_calls=$(awk -F'|' '$1 == "event path" || $1 ~ /reminders/ {s += $2} END {print s + 0}' "$RUN/idle-statements.txt")
  report "### Idle: 3 silos on PostgreSQL, ${IDLE_WINDOW} s without requests (after ${IDLE_SETTLE} s to settle)"
  report ""
  report "| measure | value |"
  report "| --- | ---: |"
  report "| database transactions, all causes | $((x1 - x0)) ($(per_silo $((x1 - x0))) per silo per s) |"
  report "| statements of the event path (event log, webhooks, the sweep's reminder) | $event_calls ($(per_silo "$event_calls") per silo per s; target ≤ 0.2) |"
  report "| silo CPU (3 silos together) | $(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v w="$IDLE_WINDOW" 'BEGIN { printf "%.1f ms per s", t * 1000 / hz / w }') |"
  report ""
  report "| statements by purpose | calls | examples |"
  report "| --- | ---: | --- |"
  while IFS='|' read -r what calls examples; do report "| $what | $calls | ${examples//|/\\|} |"; done <"$RUN/idle-statements.txt"
  report ""
fi

# ------------------------------------------------------------------ webhooks
if [[ "$MODE" == webhooks || "$MODE" == all ]]; then
  rm -f "$RUN"/webhooks-load.log "$RUN"/webhooks-metrics-*.txt "$RUN"/webhooks-stages.txt
  start_cluster 1 webhooks
  say "webhooks: $TENANTS tenants, $RATE creates/s for $DURATION s"
  up0=$(uptime)
  dotnet "$LOAD_DLL" webhooks --base-urls "${URLS[0]}" --tenants "$TENANTS" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" \
    >"$RUN/webhooks-load.out" 2>>"$RUN/webhooks-load.log" &
  load_pid=$!
  # CPU, pool and profile cover the measured window only: from the load tool's MEASURING line (after its warm-up).
  until grep -q '^MEASURING' "$RUN/webhooks-load.log" 2>/dev/null || ! kill -0 "$load_pid" 2>/dev/null; do sleep 0.2; done
  watch_pool "$MANAGEMENT"
  curl -s --max-time 2 "$MANAGEMENT/metrics" >"$RUN/webhooks-metrics-0.txt" || true
  SILO_T0=$(silo_ticks) PG_T0=$(pg_ticks) LOAD_T0=$(cpu_ticks "$load_pid" || echo 0)
  LOAD_T1=$LOAD_T0
  if [[ "${EV_PROFILE:-0}" == 1 ]]; then
    # 8 s of on-CPU stacks of the silo, 3 s into the measured window (the runtime's perf map names the JIT-compiled frames).
    sleep 3
    perf record -F 499 -g -p "${SILO_PIDS[0]}" -o "$RUN/webhooks.perf.data" -- sleep 8 >"$RUN/webhooks-perf.log" 2>&1 || true
  fi
  while kill -0 "$load_pid" 2>/dev/null; do LOAD_T1=$(cpu_ticks "$load_pid" || echo "$LOAD_T1"); sleep 0.5; done
  if [[ "${EV_PROFILE:-0}" == 1 ]]; then
    perf script -i "$RUN/webhooks.perf.data" -F comm,tid,ip,sym,dso 2>/dev/null | python3 "$BENCH_DIR/compare/perf-summary.py" 60 >"$RUN/webhooks-profile.txt"
    say "silo profile: $RUN/webhooks-profile.txt"
  fi
  wait "$load_pid" 2>/dev/null || true
  SILO_T1=$(silo_ticks) PG_T1=$(pg_ticks)
  stop_watch
  curl -s --max-time 2 "$MANAGEMENT/metrics" >"$RUN/webhooks-metrics-1.txt" || true
  # Where the latency is spent, from the silo's own histograms over the measured window: commit -> consumed by the
  # owner's consumer -> deliveries stored and held by the endpoints; the POST itself.
  { python3 "$BENCH_DIR/histogram-delta.py" "$RUN/webhooks-metrics-0.txt" "$RUN/webhooks-metrics-1.txt" apiplatform_events_lag_seconds stage
    python3 "$BENCH_DIR/histogram-delta.py" "$RUN/webhooks-metrics-0.txt" "$RUN/webhooks-metrics-1.txt" apiplatform_webhook_delivery_duration_seconds outcome \
      | sed 's/^/post /'; } >"$RUN/webhooks-stages.txt" || true
  result=$(grep '^RESULT' "$RUN/webhooks-load.out" || true)
  delivered=$(sed -n 's/.* delivered=\([0-9]*\).*/\1/p' <<<"$result")
  PGDATABASE=webhooks psql -XAtq -F'|' >"$RUN/webhooks-statements.txt" -c "
    SELECT calls, round(total_exec_time::numeric, 0), round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\\s+', ' ', 'g'), 100)
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'webhooks') AND query NOT LIKE '%pg_stat%'
    ORDER BY total_exec_time DESC LIMIT 12"
  # Where each endpoint stands when the load tool gives up waiting: deliveries by status, and the most attempts.
  PGDATABASE=webhooks psql -XAtq -F'|' >"$RUN/webhooks-endpoints.txt" -c "
    SELECT webhook_id, count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'pending'),
           count(*) FILTER (WHERE status = 'failed'), max(attempts)
    FROM webhook_deliveries GROUP BY webhook_id ORDER BY webhook_id"
  PGDATABASE=webhooks psql -XAtq -F'|' >"$RUN/webhooks-owners.txt" -c "
    SELECT o.owner_id, o.last_seq, COALESCE(a.acked_seq, 0) FROM event_owners o LEFT JOIN event_acks a ON a.owner_id = o.owner_id
    WHERE o.owner_id IN (SELECT owner_id FROM webhooks) ORDER BY o.owner_id"
  up1=$(uptime)
  stop_cluster
  report "### Create -> webhook delivered: 1 silo on PostgreSQL, $TENANTS tenants with one webhook each, local receiver"
  report ""
  report "\`$result\`"
  report ""
  report "CPU over the measured window and its drain (after ${WARMUP} s of warm-up): $(cpu_line "${delivered:-0}"); largest thread-pool queue sampled in the silo: $POOL_MAX. Load before: ${up0##*load average: }; after: ${up1##*load average: }."
  report ""
  report "| stage (silo histograms, measured window; from the event's commit unless marked post) | events | p50 ms | p90 ms | p99 ms |"
  report "| --- | ---: | ---: | ---: | ---: |"
  while read -r stage count p50 p90 p99; do report "| $stage | ${count#count=} | ${p50#p50_ms=} | ${p90#p90_ms=} | ${p99#p99_ms=} |"; done \
    < <(sed 's/^post \([^ ]*\)/post:\1/' "$RUN/webhooks-stages.txt")
  report ""
  report "| calls | total ms | mean ms | statement (top by time) |"
  report "| ---: | ---: | ---: | --- |"
  while IFS='|' read -r calls total mean q; do report "| $calls | $total | $mean | ${q//|/\\|} |"; done <"$RUN/webhooks-statements.txt"
  report ""
  report "| endpoint | succeeded | pending | failed | most attempts |"
  report "| --- | ---: | ---: | ---: | ---: |"
  while IFS='|' read -r id ok pending failed attempts; do report "| $id | $ok | $pending | $failed | $attempts |"; done <"$RUN/webhooks-endpoints.txt"
  report ""
  report "| owner | events in its log | acknowledged through |"
  report "| --- | ---: | ---: |"
  while IFS='|' read -r id last acked; do report "| $id | $last | $acked |"; done <"$RUN/webhooks-owners.txt"
  report ""
fi

# ------------------------------------------------------------------ SSE
if [[ "$MODE" == sse || "$MODE" == all ]]; then
  rm -f "$RUN"/sse-load.log "$RUN"/sse-samples.csv "$RUN"/sse-silo*.counters.csv "$RUN"/sse.perf.data "$RUN"/sse-profile.txt
  start_cluster 2 sse
  rss0=0; for pid in "${SILO_PIDS[@]}"; do rss0=$((rss0 + $(rss_kb "$pid"))); done
  say "sse: $SUBSCRIBERS streams over 2 silos and $SSE_TENANTS tenants, then $SSE_RATE creates/s for $DURATION s"
  coproc LOAD { dotnet "$LOAD_DLL" sse --base-urls "$(IFS=,; echo "${URLS[*]}")" --tenants "$SSE_TENANTS" --subscribers "$SUBSCRIBERS" \
    --rate "$SSE_RATE" --duration "$DURATION" --warmup "$SSE_WARMUP" --samples "$RUN/sse-samples.csv" 2>>"$RUN/sse-load.log"; }
  read -r ready <&"${LOAD[0]}"
  echo "$ready" >>"$RUN/sse-load.log"
  sleep 5
  rss1=0; for pid in "${SILO_PIDS[@]}"; do rss1=$((rss1 + $(rss_kb "$pid"))); done
  echo go >&"${LOAD[1]}"
  # With a warm-up, everything below covers the measured creates only (from the load tool's MEASURING line).
  if (( SSE_WARMUP > 0 )); then
    until grep -q '^MEASURING' "$RUN/sse-load.log" 2>/dev/null || ! kill -0 "$LOAD_PID" 2>/dev/null; do sleep 0.2; done
  fi
  up0=$(uptime)
  watch_pool "${MANAGEMENTS[@]}"
  load_pid=$(pgrep -P "$LOAD_PID" | head -n1 || true)
  load_pid=${load_pid:-$LOAD_PID}
  SILO_T0=$(silo_ticks) PG_T0=$(pg_ticks) LOAD_T0=$(cpu_ticks "$load_pid" || echo 0)
  observers=()
  if [[ "${EV_OBSERVE:-0}" == 1 ]]; then
    for i in "${!SILO_PIDS[@]}"; do
      "$COUNTERS" collect -p "${SILO_PIDS[$i]}" --refresh-interval 1 --format csv \
        -o "$RUN/sse-silo$((i + 1)).counters.csv" --duration "00:00:00:$(printf '%02d' "$DURATION")" \
        --counters 'System.Runtime,Microsoft.AspNetCore.Server.Kestrel' >/dev/null 2>&1 &
      observers+=($!)
    done
  fi
  if [[ "${EV_PROFILE:-0}" == 1 ]]; then
    ( sleep "${EV_PROFILE_DELAY:-3}"; perf record -F 499 -g -p "$(IFS=,; echo "${SILO_PIDS[*]}")" -o "$RUN/sse.perf.data" -- sleep "${EV_PROFILE_SECONDS:-10}" ) \
      >"$RUN/sse-perf.log" 2>&1 &
    observers+=($!)
  fi
  LOAD_T1=$LOAD_T0
  ( while kill -0 "$load_pid" 2>/dev/null; do cpu_ticks "$load_pid" >"$RUN/load-ticks" || true; sleep 0.5; done ) &
  ticker=$!
  result=$(grep -m1 '^RESULT' <&"${LOAD[0]}" || true)
  SILO_T1=$(silo_ticks) PG_T1=$(pg_ticks)
  LOAD_T1=$(cat "$RUN/load-ticks" 2>/dev/null || echo "$LOAD_T0")
  wait "$load_pid" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  for pid in "${observers[@]}"; do wait "$pid" || true; done
  stop_watch
  up1=$(uptime)
  received=$(sed -n 's/.* received=\([0-9]*\).*/\1/p' <<<"$result")
  stop_cluster
  report "### Event streams: $SUBSCRIBERS subscribers over 2 silos on PostgreSQL and $SSE_TENANTS tenants, $SSE_RATE creates/s"
  report ""
  report "\`$result\`"
  report ""
  report "CPU from the first create to the result (per event received by one stream): $(cpu_line "${received:-0}"); largest thread-pool queue sampled in a silo: $POOL_MAX. Load before: ${up0##*load average: }; after: ${up1##*load average: }."
  report ""
  report "Silo memory (VmRSS, both silos): $((rss0 / 1024)) MiB before the streams, $((rss1 / 1024)) MiB with $SUBSCRIBERS open: $(awk -v a="$rss0" -v b="$rss1" -v n="$SUBSCRIBERS" 'BEGIN { printf "%.1f KiB", (b - a) / n }') per stream."
  report ""
  if [[ -s "$RUN/sse-samples.csv" ]]; then
    while IFS= read -r line; do report "$line"; done < <(python3 "$BENCH_DIR/events-tail.py" "$RUN/sse-samples.csv")
    report ""
  fi
  for i in "${!SILO_PIDS[@]}"; do
    counters=$RUN/sse-silo$((i + 1)).counters.csv
    [[ -s $counters ]] || continue
    report "Runtime counters of silo $((i + 1)) over the window (per 1 s interval: mean / max / sum):"
    report ""
    report '```'
    while IFS= read -r line; do report "$line"; done < <(python3 "$BENCH_DIR/events-tail.py" --counters "$counters")
    report '```'
    report ""
  done
  if [[ -s "$RUN/sse.perf.data" ]]; then
    perf script -i "$RUN/sse.perf.data" -F comm,tid,ip,sym,dso 2>/dev/null | python3 "$BENCH_DIR/compare/perf-summary.py" 50 >"$RUN/sse-profile.txt" || true
    report "On-CPU profile of both silos (perf, ${EV_PROFILE_SECONDS:-10} s of the window): bench/.events-run/sse-profile.txt"
    report ""
  fi
fi

{
  echo "# Event path benchmarks: latest run"
  echo
  echo "Written by \`bench/run-events.sh $MODE\`${EV_SILO_ENV:+ with silo settings \`$EV_SILO_ENV\`} on $(date -u '+%Y-%m-%d %H:%M UTC'), product commit ${COMMIT:0:7} (clean export of HEAD)."
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(free -h | awk '/^Mem:/ {print $2}') RAM, shared by load tool, silos and PostgreSQL; load average before: $LOADAVG."
  echo ".NET SDK $(dotnet --version), PostgreSQL $PG_VERSION ($PG_SETTINGS)."
  echo
  printf '%s\n' "${REPORT[@]}"
} >"$OUT"
say "done; results in ${OUT#"$ROOT"/}"
