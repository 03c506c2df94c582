#!/usr/bin/env bash
# Optional companion of bench/run-compare.sh: a CPU profile of the product's silo while 32 clients either GET one
# resource (`bench/compare/profile.sh get-one`, the default: the path that needs no SQL) or create resources
# (`bench/compare/profile.sh create`), to see where the silo's CPU per request goes. Needs the build run-compare.sh
# made (bench/compare/.run/src) and dotnet-trace (TRACER, default bench/.tools/dotnet-trace). Writes
# bench/compare/.run/profile-<mode>.txt. Loopback only, bounded (~1 min).
set -euo pipefail
MODE=${1:-get-one}
[[ "$MODE" == get-one || "$MODE" == create ]] || { echo "usage: $0 [get-one|create]" >&2; exit 2; }
CMP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(cd "$CMP/.." && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$CMP/.run
SILO_BIN=$RUN/src/src/Silo/bin/Release/net10.0
LOADGEN_DLL=$BENCH_DIR/LoadGen/bin/Release/net10.0/LoadGen.dll
TRACER=${TRACER:-$BENCH_DIR/.tools/dotnet-trace}
[[ -x "$SILO_BIN/ApiPlatform.Silo" && -f "$LOADGEN_DLL" && -x "$TRACER" ]] || { echo "build outputs or dotnet-trace missing" >&2; exit 1; }
BENCH_NAME=profile.sh
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
start_postgres "$RUN/postgres-profile" product
start_product "$SILO_BIN" product "$RUN/profile-silo.log" \
  RateLimits__Plans__bench__Limit=100000000 Plans__Catalog__bench__MaxResources=10000000
SILO_PID=$P_PID
BASE=$PRODUCT
ACCESS=$(admin_access_token)
KEY=$(curl -sf "$BASE/v1/api-keys" -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' -d '{"name":"profile","plan":"bench"}' | json data.key)
ID=$(curl -sf "$BASE/v1/resources" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"name":"p","description":"d","metadata":{"seq":1,"tags":["bench","seed"],"owner":{"team":"perf"}}}' | json data.id)
export BENCH_TOKEN=$KEY
if [[ "$MODE" == create ]]; then LOAD_ARGS=(--name "create (while profiling)" --path /v1/resources --method POST)
else LOAD_ARGS=(--name "GET one (while profiling)" --path "/v1/resources/$ID"); fi
dotnet "$LOADGEN_DLL" run --base-url "$BASE" "${LOAD_ARGS[@]}" --concurrency 32 \
  --warmup 3 --duration 14 >"$RUN/profile-load.txt" 2>&1 &
LOAD=$!
sleep 5
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
