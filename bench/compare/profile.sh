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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
json() { python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
PG_DIR=$RUN/postgres-profile
SILO_PID=""
cleanup() {
  if [[ -n "$SILO_PID" ]]; then kill -TERM "$SILO_PID" 2>/dev/null || true; sleep 2; kill -KILL "$SILO_PID" 2>/dev/null || true; fi
  "$ROOT/scripts/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
CS=$("$ROOT/scripts/postgres.sh" start "$PG_DIR")
PGPORT=$(cat "$PG_DIR/port")
PGHOST=127.0.0.1 PGUSER=postgres PGPASSWORD=postgres PGPORT=$PGPORT psql -XAtq -d postgres -c "CREATE DATABASE product" >/dev/null
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
(
  cd "$SILO_BIN"
  export ConnectionStrings__Postgres="$CS;Database=product" ASPNETCORE_URLS=$BASE Logging__LogLevel__Default=Warning
  export Jwt__SigningKey
  Jwt__SigningKey=$(head -c 48 /dev/urandom | base64 -w0)
  export Bootstrap__AdminEmail=admin@bench.example Bootstrap__AdminPassword=bench-admin-password-123
  export RateLimits__Plans__bench__Limit=100000000 Plans__Catalog__bench__MaxResources=10000000
  export Orleans__SiloPort Orleans__GatewayPort Orleans__ClusterId=profile-$$
  Orleans__SiloPort=$(free_port)
  Orleans__GatewayPort=$(free_port)
  exec ./ApiPlatform.Silo
) >"$RUN/profile-silo.log" 2>&1 &
SILO_PID=$!
for _ in $(seq 1 600); do [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/health/ready" || true) == 200 ]] && break; sleep 0.1; done
ACCESS=$(curl -sf "$BASE/v1/auth/login" -H 'Content-Type: application/json' -d '{"email":"admin@bench.example","password":"bench-admin-password-123"}' | json access_token)
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
