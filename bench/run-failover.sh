#!/usr/bin/env bash
# What kill -9 of one of three silos costs the clients of the surviving two, one command:
#
#   bench/run-failover.sh
#
# 1. Builds Release from a clean export of HEAD (bench/.run-failover/src, gitignored): the product and bench/LoadGen.
#    FO_TREE=1 uses this worktree's own Release build instead (while iterating; the report says so).
# 2. For each settings variant in FO_VARIANTS (default "orleans-defaults shipped"), on a fresh database of one
#    throwaway PostgreSQL: starts three silos (PostgreSQL clustering, each on its own loopback HTTP port), creates one
#    API key of a plan with a large budget (every request is charged to the key's rate-limit grain through leases),
#    then runs `LoadGen failover`: FO_CONCURRENCY clients create resources (fresh Idempotency-Key each) and read
#    acknowledged ones, round-robin over the three silos; at FO_KILL_AT s silo 3 gets SIGKILL; the load runs until
#    FO_DURATION s. Meanwhile the membership table is polled every 100 ms for silo 3's Dead status.
#      orleans-defaults  Orleans' own ClusterMembershipOptions defaults (ProbeTimeout 5 s, NumMissedProbesLimit 3,
#                        NumProbedSilos 10, TableRefreshTimeout 60 s, IAmAliveTablePublishTimeout 30 s), set
#                        explicitly, and the gateway's fallbacks off (Gateway__Failover__Enabled=false): the product
#                        as issue 20 found it;
#      defaults-fallbacks  the same Orleans defaults with the fallbacks on;
#      shipped           what the product ships (src/Silo/appsettings.json), fallbacks on.
# 3. Reports per variant: time from the kill to the Dead row, to the first second from which every answer of the
#    surviving silos was a success, the refusals (503) per second until then, failures (any other 5xx or transport
#    error: there must be none), the slowest answer, and that every acknowledged create reads back.
# Results: bench/results/failover-latest.md (logs in bench/.run-failover/).
#
# Environment: FO_VARIANTS, FO_CONCURRENCY (8), FO_KILL_AT (10 s), FO_DURATION (35 s), FO_READS (0.5), FO_TREE=1,
# FO_NO_BUILD=1 (reuse the export already built).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$BENCH_DIR/.run-failover
OUT_DIR=$BENCH_DIR/results
OUT=$OUT_DIR/failover-latest.md
VARIANTS=${FO_VARIANTS:-orleans-defaults shipped}
CONC=${FO_CONCURRENCY:-8}
KILL_AT=${FO_KILL_AT:-10}
DURATION=${FO_DURATION:-35}
READS=${FO_READS:-0.5}
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123

BENCH_NAME=run-failover.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
mkdir -p "$RUN" "$OUT_DIR"
rm -f "$RUN"/*.log "$RUN"/*.out "$RUN"/*.csv "$RUN"/*.killed "$RUN"/*.dead "$RUN"/*.table

# ------------------------------------------------------------------ build
if [[ "${FO_TREE:-0}" == 1 ]]; then
  SRC=$ROOT
  COMMIT="$(git -C "$ROOT" rev-parse HEAD) + working tree"
else
  SRC=$RUN/src
  export_head "$SRC" "${FO_NO_BUILD:-0}"
  if [[ "${FO_NO_BUILD:-0}" != 1 ]]; then
    say "build Release: product and LoadGen (commit ${COMMIT:0:7}, clean export of HEAD)"
    build_release "$RUN/build.log" "$SRC/src/Silo/Silo.csproj" "$SRC/bench/LoadGen/LoadGen.csproj"
  fi
fi
SILO_BIN=$SRC/src/Silo/bin/Release/net10.0
LOADGEN_DLL=$SRC/bench/LoadGen/bin/Release/net10.0/LoadGen.dll
[[ -x "$SILO_BIN/ApiPlatform.Silo" && -f "$LOADGEN_DLL" ]] || die "build outputs missing"

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "start PostgreSQL"
start_postgres "$RUN/postgres"

ORLEANS_DEFAULTS=(Orleans__Membership__ProbeTimeout=00:00:05 Orleans__Membership__NumMissedProbesLimit=3
  Orleans__Membership__NumProbedSilos=10 Orleans__Membership__NumVotesForDeathDeclaration=2
  Orleans__Membership__TableRefreshTimeout=00:01:00 Orleans__Membership__IAmAliveTablePublishTimeout=00:00:30)

variant_settings() { # variant -> settings, one per line
  case $1 in
    orleans-defaults) printf '%s\n' "${ORLEANS_DEFAULTS[@]}" Gateway__Failover__Enabled=false ;;
    defaults-fallbacks) printf '%s\n' "${ORLEANS_DEFAULTS[@]}" ;;
    shipped) ;;
    *) die "unknown variant $1" ;;
  esac
}

# start_silo N DB CLUSTER SETTINGS...: one silo of the cluster; sets SILO_URL[N], SILO_PID[N].
declare -A SILO_URL SILO_PID
start_silo() {
  local n=$1 db=$2 cluster=$3 url
  shift 3
  url=http://127.0.0.1:$(free_port)
  (
    cd "$SILO_BIN" || exit 1
    export ConnectionStrings__Postgres="$CS;Database=$db" ASPNETCORE_URLS=$url Logging__LogLevel__Default=Warning
    export Bootstrap__AdminEmail=$ADMIN_EMAIL Bootstrap__AdminPassword=$ADMIN_PASSWORD Jwt__SigningKey=$JWT_KEY
    export Orleans__ClusterId=$cluster Orleans__ServiceId=$cluster Orleans__SiloName=silo$n Orleans__AdvertisedIPAddress=127.0.0.1
    export Orleans__SiloPort Orleans__GatewayPort Management__Urls=
    Orleans__SiloPort=$(free_port)
    Orleans__GatewayPort=$(free_port)
    export RateLimits__Plans__busy__Limit=10000000 RateLimits__Plans__busy__WindowSeconds=60
    export Plans__Catalog__busy__MaxResources=10000000 Plans__Catalog__busy__MaxApiKeys=10
    export_shipped_runtime_settings
    local setting
    for setting in "$@"; do export "${setting?}"; done
    exec ./ApiPlatform.Silo
  ) >"$RUN/$cluster-silo$n.log" 2>&1 &
  SILO_PID[$n]=$!
  SILO_URL[$n]=$url
  PIDS+=("$!")
}

RESULTS=()
for variant in $VARIANTS; do
  db=fo_${variant//-/_}
  cluster=fo-$variant-$$
  psql -XAtq -c "CREATE DATABASE $db" >/dev/null
  JWT_KEY=$(head -c 48 /dev/urandom | base64 -w0)
  mapfile -t settings < <(variant_settings "$variant")
  say "$variant: start three silos ${settings[*]:-(shipped settings)}"
  # The first silo creates the schema; the others join once it is ready.
  start_silo 1 "$db" "$cluster" "${settings[@]}"
  wait_ready "${SILO_PID[1]}" "${SILO_URL[1]}/health/ready" 120 || { tail -n 30 "$RUN/$cluster-silo1.log" >&2; die "silo 1 did not get ready"; }
  start_silo 2 "$db" "$cluster" "${settings[@]}"
  start_silo 3 "$db" "$cluster" "${settings[@]}"
  for n in 2 3; do
    wait_ready "${SILO_PID[$n]}" "${SILO_URL[$n]}/health/ready" 120 || { tail -n 30 "$RUN/$cluster-silo$n.log" >&2; die "silo $n did not get ready"; }
  done
  PRODUCT=${SILO_URL[1]}
  ACCESS=$(admin_access_token) || die "admin login failed"
  KEY=$(curl -sf "$PRODUCT/v1/api-keys" -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
    -d '{"name":"failover","plan":"busy"}' | json data.key) || die "creating the API key failed"

  # Silo 3's Dead row, polled from the moment of the kill (the poller starts now and notes the first Dead it sees).
  (
    start=""
    while :; do
      status=$(psql -XAtq -d "$db" -c "SELECT status FROM orleansmembershiptable WHERE siloname = 'silo3' ORDER BY generation DESC LIMIT 1" 2>/dev/null || true)
      if [[ -f "$RUN/$variant.killed" && -z "$start" ]]; then start=$(cat "$RUN/$variant.killed"); fi
      if [[ "$status" == 6 && -n "$start" ]]; then
        python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start" >"$RUN/$variant.dead"
        exit 0
      fi
      sleep 0.1
    done
  ) &
  POLLER=$!
  PIDS+=("$POLLER")

  say "$variant: load for ${DURATION} s, kill -9 of silo 3 at ${KILL_AT} s"
  LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
  ( sleep "$KILL_AT"; date +%s.%N >"$RUN/$variant.killed" ) &
  rc=0
  dotnet "$LOADGEN_DLL" failover --urls "${SILO_URL[1]},${SILO_URL[2]},${SILO_URL[3]}" --token "$KEY" \
    --kill-pid "${SILO_PID[3]}" --kill-index 2 --concurrency "$CONC" --kill-at "$KILL_AT" --duration "$DURATION" \
    --reads "$READS" --events "$RUN/$variant-events.csv" >"$RUN/$variant.out" 2>&1 || rc=$?
  cat "$RUN/$variant.out" >&2
  for _ in $(seq 1 100); do [[ -f "$RUN/$variant.dead" ]] && break; sleep 0.1; done
  DEAD=$(cat "$RUN/$variant.dead" 2>/dev/null || echo "not within the run")
  kill "$POLLER" 2>/dev/null || true
  for n in 1 2; do stop_pid "${SILO_PID[$n]}"; done
  PIDS=()
  RESULTS+=("$variant|$DEAD|$rc|$LOADAVG|$(grep '^summary:' "$RUN/$variant.out" || echo 'summary: missing')")
  cp "$RUN/$variant.out" "$RUN/$variant.table"
done

# ------------------------------------------------------------------ report
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# kill -9 of one of three silos: latest run"
  echo
  echo "Written by \`bench/run-failover.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); product ${COMMIT}."
  echo "Machine: $(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM, shared with other work; load average before: $LOADAVG_BEFORE."
  echo "Load: $CONC clients, round-robin over three silos, creates (fresh Idempotency-Key) and reads (share $READS) with one API key; kill at ${KILL_AT} s, run ${DURATION} s."
  echo
  echo "| variant | Dead row after kill (s) | first all-success second | refused (503) | failed (other 5xx, transport) | slowest answer (ms) | acknowledged / missing | load average at start |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r variant dead rc loadavg summary <<<"$r"
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $summary"; }
    echo "| $variant | $dead | $(get first_clean_second) | $(get refused_503) | $(get failed_other) | $(get slowest_ms) | $(get acknowledged) / $(get missing) | $loadavg |"
  done
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r variant _ <<<"$r"
    echo
    echo "## $variant: answers of the surviving silos per second after the kill"
    echo
    grep '^|' "$RUN/$variant.table" || true
  done
} >"$OUT"
cat "$OUT"
say "done; results in ${OUT#"$ROOT"/}"
