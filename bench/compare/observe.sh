#!/usr/bin/env bash
# What a service and PostgreSQL were doing during one measured window (issue 19, the tails), for bench/run-compare.sh
# with CMP_OBSERVE=1:
#
#   bench/compare/observe.sh PREFIX PID DELAY SECONDS DATABASE
#
# After DELAY seconds, for SECONDS seconds:
# - the runtime's counters of PID each second (bench/.tools/dotnet-counters when installed: GC pauses and collections
#   per generation, thread-pool queue and threads, monitor lock contentions, Npgsql's pool) -> PREFIX.counters.csv
# - pg_stat_activity of DATABASE every 50 ms from ONE psql session (state and wait event of every other backend)
#   -> PREFIX.pgwait.txt
# then a summary of both -> PREFIX.summary.txt. Needs PGHOST/PGPORT/PGUSER/PGPASSWORD.
set -euo pipefail
prefix=$1 pid=$2 delay=$3 seconds=$4 db=$5
counters_tool=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/dotnet-counters
sleep "$delay"
if [[ -x $counters_tool ]]; then
  "$counters_tool" collect -p "$pid" --refresh-interval 1 --format csv -o "$prefix.counters.csv" \
    --duration "00:00:00:$(printf '%02d' "$seconds")" \
    --counters 'System.Runtime,Npgsql,Microsoft.AspNetCore.Server.Kestrel[kestrel.queued_connections]' >/dev/null 2>&1 &
  counters_pid=$!
fi
end=$(( $(date +%s%N) + seconds * 1000000000 ))
{
  while (( $(date +%s%N) < end )); do
    echo "SELECT coalesce(state, '-') || ' ' || coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-')
          FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid() AND backend_type = 'client backend';"
    sleep 0.05
  done
} | psql -XAtq -d "$db" >"$prefix.pgwait.txt" 2>/dev/null || true
[[ -z ${counters_pid:-} ]] || wait "$counters_pid" || true
python3 - "$prefix" <<'PY' >"$prefix.summary.txt"
import collections, sys
prefix = sys.argv[1]
waits = collections.Counter(l.strip() for l in open(f"{prefix}.pgwait.txt") if l.strip())
total = sum(waits.values()) or 1
print(f"PostgreSQL client backends by state and wait event (share of backend samples, every 50 ms; {total} backend samples):")
for k, n in waits.most_common(8):
    print(f"  {k:<45} {100 * n / total:5.1f} %")
PY
if [[ -f "$prefix.counters.csv" ]]; then
  echo "runtime counters per 1 s interval (mean / max / sum over the window):"
  python3 "$(dirname "${BASH_SOURCE[0]}")/../events-tail.py" --counters "$prefix.counters.csv" | sed 's/^/  /'
fi >>"$prefix.summary.txt"
