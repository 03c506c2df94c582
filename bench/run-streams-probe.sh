#!/usr/bin/env bash
# The stream-provider trial of issue 13, one command:
#
#   bench/run-streams-probe.sh
#
# For each provider (Microsoft.Orleans.Streaming.AdoNet 10.4.2-alpha.1 with its defaults, then memory streams with
# the Orleans defaults): three bare silos (bench/StreamsProbe) on PostgreSQL clustering, no traffic for SP_WINDOW
# seconds after SP_SETTLE: database transactions per second and the statements behind them; then one silo publishes
# SP_COUNT events at SP_RATE per second and the consumers report publish -> receipt latency (p50, p99).
# Results: bench/results/streams-probe-latest.md (logs in bench/.streams-run/).
#
# Environment: SP_SETTLE (30 s), SP_WINDOW (60 s), SP_RATE (50), SP_COUNT (500), SP_NO_BUILD=1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$BENCH_DIR/.streams-run
OUT=$BENCH_DIR/results/streams-probe-latest.md
SETTLE=${SP_SETTLE:-30}
WINDOW=${SP_WINDOW:-60}
RATE=${SP_RATE:-50}
COUNT=${SP_COUNT:-500}
BENCH_NAME=run-streams-probe.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
mkdir -p "$RUN" "$(dirname "$OUT")"
rm -f "$RUN"/*.log "$RUN"/produce-*

PROBE_DLL=$BENCH_DIR/StreamsProbe/bin/Release/net10.0/StreamsProbe.dll
if [[ "${SP_NO_BUILD:-0}" != 1 ]]; then
  say "build bench/StreamsProbe"
  build_release "$RUN/build.log" "$BENCH_DIR/StreamsProbe/StreamsProbe.csproj"
fi

say "start PostgreSQL"
start_postgres "$RUN/postgres" adonet memory
REPORT=()
report() { REPORT+=("$*"); echo "$*" >&2; }
xacts() { PGDATABASE=$1 psql -XAtq -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$1'"; }

for provider in adonet memory; do
  db=$provider
  dotnet "$PROBE_DLL" migrate --connection "$CS;Database=$db" --migrations "$ROOT/src/Grains/Storage/Migrations/postgresql" >"$RUN/$db-migrate.log" 2>&1 ||
    { cat "$RUN/$db-migrate.log" >&2; die "migrating $db failed"; }
  PROBE_PIDS=()
  for i in 1 2 3; do
    extra=()
    [[ $i == 1 ]] && extra=(--produce-when "$RUN/produce-$provider" --rate "$RATE" --count "$COUNT")
    dotnet "$PROBE_DLL" silo --connection "$CS;Database=$db" --provider "$provider" --name "probe$i" --cluster "probe-$provider-$$" \
      --silo-port "$(free_port)" --gateway-port "$(free_port)" "${extra[@]}" >"$RUN/$db-silo$i.log" 2>&1 &
    PROBE_PIDS+=($!) PIDS+=($!)
  done
  say "$provider: 3 silos; settle ${SETTLE} s, then ${WINDOW} s idle"
  sleep "$SETTLE"
  PGDATABASE=$db psql -XAtq -c "SELECT pg_stat_statements_reset()" >/dev/null
  x0=$(xacts "$db")
  sleep "$WINDOW"
  sleep 11 # pg_stat_database lags up to 10 s for idle backends
  x1=$(xacts "$db")
  PGDATABASE=$db psql -XAtq -F'|' >"$RUN/$db-statements.txt" -c "
    SELECT sum(calls), left(regexp_replace(query, '\\s+', ' ', 'g'), 100) FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db') AND query NOT LIKE '%pg_stat%'
    GROUP BY 2 ORDER BY 1 DESC LIMIT 6"

  say "$provider: publish $COUNT events at $RATE/s"
  touch "$RUN/produce-$provider"
  for _ in $(seq 1 $(( COUNT / RATE + 60 ))); do
    [[ $(cat "$RUN"/$db-silo*.log | grep -c '^LAT ' || true) -ge $COUNT ]] && break
    sleep 1
  done
  lat=$(cat "$RUN"/$db-silo*.log | awk '/^LAT / {print $2}' | sort -n | awk '{a[NR] = $1} END {
    if (NR == 0) { print "no events received"; exit }
    printf "received %d of '"$COUNT"'; p50 %.1f ms, p99 %.1f ms, max %.1f ms", NR, a[int(NR * 0.5 + 0.5)], a[int(NR * 0.99 + 0.5)], a[NR] }')
  for pid in "${PROBE_PIDS[@]}"; do stop_pid "$pid"; done

  report "### $([[ $provider == adonet ]] && echo 'Microsoft.Orleans.Streaming.AdoNet 10.4.2-alpha.1 (defaults)' || echo 'Memory streams (Orleans defaults)')"
  report ""
  report "- idle, 3 silos, ${WINDOW} s: $((x1 - x0)) database transactions = $(awk -v n=$((x1 - x0)) -v w="$WINDOW" 'BEGIN { printf "%.2f", n / w / 3 }') per silo per second (all causes, membership included)"
  report "- $lat from publication to the consumer"
  report ""
  report "| calls in the idle window | statement |"
  report "| ---: | --- |"
  while IFS='|' read -r calls query; do report "| $calls | \`${query//|/\\|}\` |"; done <"$RUN/$db-statements.txt"
  report ""
done

{
  echo "# Stream-provider trial: latest run"
  echo
  echo "Written by \`bench/run-streams-probe.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores, shared; load average $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "PostgreSQL $PG_VERSION. Each provider: 3 bare silos (bench/StreamsProbe), ${SETTLE} s to settle, ${WINDOW} s idle, then $COUNT events at $RATE/s."
  echo
  printf '%s\n' "${REPORT[@]}"
} >"$OUT"
say "done; results in ${OUT#"$ROOT"/}"
