#!/usr/bin/env bash
# Optional companion of bench/run-compare.sh: a CPU profile of the product's silo while 32 clients either GET one
# resource (`bench/compare/profile.sh get-one`, the default: the path that needs no SQL), create resources
# (`bench/compare/profile.sh create`) or read the first page of 20 (`bench/compare/profile.sh list-first`), to see where the silo's CPU per request goes. Needs the build run-compare.sh
# made (bench/compare/.run/src). PROFILER=perf (the default) samples on-CPU stacks with Linux perf (the runtime
# writes /tmp/perf-<pid>.map so JIT-compiled frames have names; W^X is off so perf finds them there); PROFILER=trace uses dotnet-trace's thread-time
# sampling (TRACER, default bench/.tools/dotnet-trace), which counts idle threads too. Writes
# bench/compare/.run/profile-<mode>.txt. Loopback only, bounded (~1 min). PROFILE_EMBEDDED=1 profiles the embedded
# default (SQLite) instead of PostgreSQL mode; PROFILE_AFTER (3 s) is the load before the sample: 60 lets the JIT settle.
set -euo pipefail
MODE=${1:-get-one}
[[ "$MODE" =~ ^(get-one|create|list-first)$ ]] || { echo "usage: $0 [get-one|create|list-first]" >&2; exit 2; }
CMP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(cd "$CMP/.." && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$CMP/.run
SILO_BIN=$RUN/src/src/Silo/bin/Release/net10.0
LOADGEN_DLL=$BENCH_DIR/LoadGen/bin/Release/net10.0/LoadGen.dll
PROFILER=${PROFILER:-perf}
PROFILE_AFTER=${PROFILE_AFTER:-3} # seconds of load before the 8 s sample (the JIT's tiering is busy early on)
[[ -x "$SILO_BIN/ApiPlatform.Silo" && -f "$LOADGEN_DLL" ]] || { echo "build outputs missing: run bench/run-compare.sh first" >&2; exit 1; }
case "$PROFILER" in
  perf) command -v perf >/dev/null || { echo "perf missing (Debian: linux-perf)" >&2; exit 1; } ;;
  trace) ;;
  *) echo "PROFILER must be perf or trace" >&2; exit 2 ;;
esac
BENCH_NAME=profile.sh
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
# dotnet-trace: the one given, or bench/.tools', installed there when missing.
[[ $PROFILER != trace ]] || TRACER=${TRACER:-$(bench_tool dotnet-trace)}
if [[ "${PROFILE_EMBEDDED:-0}" == 1 ]]; then
  # The embedded default (SQLite in a fresh directory), as bench/run-compare.sh --embedded runs it.
  rm -rf "$RUN/profile-embedded-data"
  PRODUCT_DB=embedded:$RUN/profile-embedded-data
else
  start_postgres "$RUN/postgres-profile" product
  PRODUCT_DB=product
fi
start_product "$SILO_BIN" "$PRODUCT_DB" "$RUN/profile-silo.log" \
  RateLimits__Plans__bench__Limit=100000000 Plans__Catalog__bench__MaxResources=10000000 \
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
SILO_PID=$P_PID
BASE=$PRODUCT
ACCESS=$(admin_access_token)
KEY=$(curl -sf "$BASE/v1/api-keys" -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' -d '{"name":"profile","plan":"bench"}' | json data.key)
ID=$(curl -sf "$BASE/v1/resources" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"name":"p","description":"d","metadata":{"seq":1,"tags":["bench","seed"],"owner":{"team":"perf"}}}' | json data.id)
export BENCH_TOKEN=$KEY
if [[ "$MODE" == list-first ]]; then
  # A full first page: PROFILE_ROWS (40) resources of the same shape, created through the API.
  for ((i = 1; i < ${PROFILE_ROWS:-40}; i++)); do
    curl -sf "$BASE/v1/resources" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d "{\"name\":\"p$i\",\"description\":\"d\",\"metadata\":{\"seq\":$i,\"tags\":[\"bench\",\"seed\"],\"owner\":{\"team\":\"perf\"}}}" >/dev/null
  done
fi
case "$MODE" in
  create) LOAD_ARGS=(--name "create (while profiling)" --path /v1/resources --method POST) ;;
  list-first) LOAD_ARGS=(--name "first page (while profiling)" --path "/v1/resources?per_page=20") ;;
  *) LOAD_ARGS=(--name "GET one (while profiling)" --path "/v1/resources/$ID") ;;
esac
dotnet "$LOADGEN_DLL" run --base-url "$BASE" "${LOAD_ARGS[@]}" --concurrency 32 \
  --warmup "$PROFILE_AFTER" --duration 11 >"$RUN/profile-load.txt" 2>&1 &
LOAD=$!
sleep $((PROFILE_AFTER + 2))
if [[ "$PROFILER" == perf ]]; then
  SUMMARY=$(perf_profile "$SILO_PID" 8 "$RUN/$MODE.perf.data" 999)
  wait "$LOAD" || true
  {
    echo "perf on-CPU samples (999 Hz), 8 s of the silo after ${PROFILE_AFTER} s of load, while: $(cat "$RUN/profile-load.txt")"
    echo
    echo "$SUMMARY"
  } >"$RUN/profile-$MODE.txt"
  cat "$RUN/profile-$MODE.txt"
  exit 0
fi
rm -f "$RUN/$MODE.nettrace"
timeout 120 "$TRACER" collect -p "$SILO_PID" --profile dotnet-sampled-thread-time --duration 00:00:00:08 \
  -o "$RUN/$MODE.nettrace" >"$RUN/profile-trace.log" 2>&1 || true
wait "$LOAD" || true
{
  echo "EventPipe dotnet-sampled-thread-time, 8 s of the silo while: $(cat "$RUN/profile-load.txt")"
  echo
  "$TRACER" report "$RUN/$MODE.nettrace" topN -n 60 --inclusive 2>&1 | cut -c1-170 || true
} >"$RUN/profile-$MODE.txt"
cat "$RUN/profile-$MODE.txt"
