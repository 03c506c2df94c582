#!/usr/bin/env bash
# Issue 3's resources benchmark, one command:
#
#   bench/run-resources.sh
#
# Builds Release, starts a throwaway PostgreSQL (scripts/postgres.sh), starts the silo in PostgreSQL mode on free
# loopback ports, registers one user, seeds BENCH_RESOURCES (100,000) resources for that one tenant (bulk INSERT by
# default; BENCH_SEED=http goes through POST /v1/resources), warms the silo up, then measures with bench/LoadGen (closed loop, fixed duration after a warm-up):
#   1. first page  GET /v1/resources?per_page=20                          (32 clients and 1 client)
#   2. deep pages  ?page=1000 / 2500 / 5000 (offset; 5000 is the last) and the same pages by ?cursor= (keyset),
#                  plus a sequential walk of 1,000 pages following meta.next_cursor
#   3. one resource GET /v1/resources/{id} repeated, with PostgreSQL's statistics read before and after
#   4. create       POST /v1/resources                                    (32 clients)
# and EXPLAIN (ANALYZE, BUFFERS) of the SQL the list issues, and (with bench/.tools/dotnet-trace) a CPU profile of the
# silo. Every run also reports, per request, the SQL statements PostgreSQL executed (pg_stat_statements, enabled on
# the throwaway server), CPU milliseconds of silo / PostgreSQL / load generator, and CPU used by other processes
# (bench/stats-snapshot.sh); the GET runs also read pg_stat_database / pg_stat_user_tables before and after.
# Results: bench/results/resources-latest.md (logs and build outputs in bench/.run/, gitignored).
#
# Environment: BENCH_RESOURCES (100000), BENCH_CONCURRENCY (32), BENCH_WARMUP (3 s per run), BENCH_DURATION (10 s),
# BENCH_WARMUP_ALL (20 s of mixed load before the first measurement), BENCH_SEED (sql: INSERT ... generate_series,
# the default, see bench/README.md | http: POST /v1/resources), BENCH_SEED_CONCURRENCY (64), BENCH_NO_BUILD=1,
# BENCH_SOURCE (head: build a clean export of HEAD, the default | worktree), BENCH_PROFILE (1 | 0),
# BENCH_ONLY (comma list of list,deep,walk,get,create,plans,profile; default all), BENCH_WAIT_QUIET (120 s).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$BENCH_DIR/.run
OUT_DIR=$BENCH_DIR/results
OUT=$OUT_DIR/resources-latest.md
COUNT=${BENCH_RESOURCES:-100000}
CONC=${BENCH_CONCURRENCY:-32}
WARMUP=${BENCH_WARMUP:-3}
DURATION=${BENCH_DURATION:-10}
SEED_MODE=${BENCH_SEED:-sql}
SEED_CONC=${BENCH_SEED_CONCURRENCY:-64}
PER_PAGE=20

BENCH_NAME=run-resources.sh
# The silo also gets a bootstrap admin (bench/lib.sh's start_product); the benchmark itself uses a user it registers.
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$RUN" "$OUT_DIR"
rm -f "$RUN"/*.log "$RUN/results.rows" "$RUN/explain.txt" "$RUN/profile.txt"

# ------------------------------------------------------------------ build
# By default the silo is built from a clean export of the committed tree (HEAD) under bench/.run/src, so edits in
# progress elsewhere in the working tree can neither break the build nor blur what was measured.
# BENCH_SOURCE=worktree builds src/Silo in place instead.
SOURCE_MODE=${BENCH_SOURCE:-head}
if [[ "$SOURCE_MODE" == head ]]; then
  SRC=$RUN/src
  export_head "$SRC" 0
  SOURCE_DESC="commit ${COMMIT:0:7} (clean export of HEAD)"
else
  SRC=$ROOT
  SOURCE_DESC="working tree at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' with uncommitted changes under src/')"
fi
SILO_BIN=$SRC/src/Silo/bin/Release/net10.0
LOADGEN_DLL=$BENCH_DIR/LoadGen/bin/Release/net10.0/LoadGen.dll
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  say "build (Release) from the $SOURCE_DESC"
  build_release "$RUN/build.log" "$SRC/src/Silo/Silo.csproj" "$BENCH_DIR/LoadGen/LoadGen.csproj"
fi
[[ -x "$SILO_BIN/ApiPlatform.Silo" && -f "$LOADGEN_DLL" ]] || die "build outputs missing"
loadgen() { dotnet "$LOADGEN_DLL" "$@"; }

# ------------------------------------------------------------------ a quiet machine
# The machine may be shared (other sessions' builds and tests). Wait up to BENCH_WAIT_QUIET seconds (120) for a 3 s
# spell in which everything else uses under 0.3 cores; each result row still reports the other load during its window.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
QUIET_DEADLINE=$(( SECONDS + ${BENCH_WAIT_QUIET:-120} ))
while :; do
  b0=$(busy_ticks); sleep 3; b1=$(busy_ticks)
  other=$(awk -v d=$(( b1 - b0 )) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", d / hz / 3 }')
  if awk -v o="$other" 'BEGIN { exit !(o < 0.3) }'; then say "machine quiet (other load ${other} cores)"; break; fi
  if (( SECONDS >= QUIET_DEADLINE )); then say "machine still busy (other load ${other} cores); going ahead"; break; fi
  say "waiting for a quiet machine (other load ${other} cores)"
  sleep 7
done

# ------------------------------------------------------------------ PostgreSQL
say "start PostgreSQL"
# pg_stat_statements (in Debian's server package) counts statements exactly and at once; it must be preloaded.
start_postgres "$RUN/postgres" bench
export PGDATABASE=bench BENCH_PG_PID=$PG_PID
psql -XAtq -d postgres -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf()" >/dev/null

# ------------------------------------------------------------------ silo
# The per-credential rate limit (60/min on the free plan) would answer 429 after 60 requests. Raise the budget so it
# never refuses, while every request is still charged (from the tokens the key's rate-limit grain leases).
start_product "$SILO_BIN" bench "$RUN/silo.log" Plans__Catalog__free__MaxResources=1000000 \
  RateLimits__Plans__free__Limit=2000000000 RateLimits__Plans__free__WindowSeconds=86400
SILO_PID=$P_PID
BASE=$PRODUCT
export BENCH_SILO_PID=$SILO_PID

# ------------------------------------------------------------------ tenant and seed
read -r TOKEN USER_ID < <(loadgen register --base-url "$BASE" --email bench@example.com --username bench --password bench-password-123)
[[ -n "${TOKEN:-}" && "${USER_ID:-}" == usr_* ]] || die "registering the benchmark user failed"
export BENCH_TOKEN=$TOKEN
ROWS=$RUN/results.rows
: >"$ROWS"
if [[ "$SEED_MODE" == sql ]]; then
  say "seed $COUNT resources by INSERT ... generate_series (bypassing the API)"
  T_SEED=$SECONDS
  psql -XAtq -v ON_ERROR_STOP=1 -v owner="$USER_ID" -v n="$COUNT" <<'SQL'
INSERT INTO resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
SELECT 'res_' || lpad(to_hex(g), 22, '0'), :'owner', 'seed-' || lpad(g::text, 7, '0'), 'benchmark resource ' || g,
       (ARRAY['standard','document','dataset','model'])[1 + g % 4], (ARRAY['active','active','active','inactive','archived'])[1 + g % 5],
       '{"seq":' || g || ',"tags":["bench","seed"],"owner":{"team":"perf"}}',
       t, t, 1
FROM generate_series(1, :n) g, LATERAL (SELECT (extract(epoch FROM now()) * 1000000)::bigint - (:n - g) * 1000 AS t) ts;
SQL
  echo "| seed: INSERT … generate_series ×$(printf "%'d" "$COUNT") (SQL) | – | $COUNT | 0 | $(( COUNT / ( SECONDS - T_SEED > 0 ? SECONDS - T_SEED : 1 ) )) | – | – | – | – | – | – | – | – |" >>"$ROWS"
else
  say "seed $COUNT resources through POST /v1/resources at $SEED_CONC concurrent clients"
  loadgen seed --base-url "$BASE" --count "$COUNT" --concurrency "$SEED_CONC" --results "$ROWS" 2>&1 | tee -a "$RUN/bench.log" >&2
fi
HELD=$(psql -XAtq -c "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = '$USER_ID'")
[[ "$HELD" == "$COUNT" ]] || die "tenant holds $HELD resources, expected $COUNT"
# Settle the table the way autovacuum would a minute later, so plans do not change mid-run.
psql -XAtq -c "VACUUM (ANALYZE) resources" -c "VACUUM (ANALYZE) resource_counts"
say "tenant $USER_ID holds $HELD resources"

# ------------------------------------------------------------------ benchmarks
FAILED=0
ONLY=${BENCH_ONLY:-list,deep,walk,get,create,plans,profile}
want() { [[ ",$ONLY," == *",$1,"* ]]; }
SNAP=$BENCH_DIR/stats-snapshot.sh
# The statements PostgreSQL ran since the last call (warm-up and window), by total time; then start counting afresh.
top_statements() {
  psql -XAq -F ' | ' -P footer=off -c "
    SELECT calls, round(mean_plan_time::numeric, 3) AS plan_ms, round(mean_exec_time::numeric, 3) AS exec_ms,
           round(total_exec_time::numeric) AS total_exec_ms, rows,
           left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'
    ORDER BY total_exec_time DESC LIMIT ${1:-4}" | sed 's/^/    /'
  psql -XAtq -c "SELECT pg_stat_statements_reset()" >/dev/null
}
bench() { # name path clients [more LoadGen options]
  local name=$1 path=$2 clients=$3 top=4
  shift 3
  if [[ "$*" == *POST* ]]; then top=14; fi
  say "$name, $clients client(s)"
  loadgen run --base-url "$BASE" --name "$name" --path "$path" --concurrency "$clients" \
    --warmup "$WARMUP" --duration "$DURATION" --snapshot-cmd "$SNAP" --results "$ROWS" "$@" | tee -a "$RUN/bench.log" ||
    { FAILED=1; echo "!! $name had errors" | tee -a "$RUN/bench.log"; }
  { echo "  PostgreSQL statements of this run (warm-up included), by total time:"; top_statements "$top"; } | tee -a "$RUN/bench.log"
}

# The JIT needs a while on 2 cores (tiered compilation, dynamic PGO): exercise every endpoint under load first, so
# the measured runs see steady-state code (a profile taken 12-20 s into the load still showed ~18% of the silo's
# CPU in the JIT).
say "warm up the silo (${BENCH_WARMUP_ALL:-20} s of mixed requests, not measured)"
WARM_ID=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/v1/resources?per_page=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')
WARM_CURSOR=$(loadgen cursor-at --base-url "$BASE" --page 2 --per-page "$PER_PAGE" 2>/dev/null)
WARM_CURSOR=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$WARM_CURSOR")
WARM_SECONDS=${BENCH_WARMUP_ALL:-20}
WARM_PIDS=()
for path in "/v1/resources?per_page=$PER_PAGE" "/v1/resources?page=50&per_page=$PER_PAGE" \
            "/v1/resources?cursor=$WARM_CURSOR&per_page=$PER_PAGE" "/v1/resources/$WARM_ID"; do
  loadgen run --base-url "$BASE" --name "warm-up $path" --path "$path" --concurrency 8 --warmup 0 \
    --duration "$(( WARM_SECONDS / 5 ))" >/dev/null &
  WARM_PIDS+=($!)
done
# Creates go to a second tenant, so the benchmark tenant keeps exactly $COUNT resources.
read -r WARM_TOKEN _ < <(loadgen register --base-url "$BASE" --email warmup@example.com --username warmup --password bench-password-123)
loadgen run --base-url "$BASE" --token "$WARM_TOKEN" --name "warm-up create" --path /v1/resources --method POST --concurrency 2 \
  --warmup 0 --duration "$(( WARM_SECONDS / 5 ))" --max-requests 400 >/dev/null &
WARM_PIDS+=($!)
wait "${WARM_PIDS[@]}"   # not a bare `wait`: the silo is a background job of this script too
loadgen run --base-url "$BASE" --name "warm-up list" --path "/v1/resources?per_page=$PER_PAGE" --concurrency "$CONC" \
  --warmup 0 --duration "$(( WARM_SECONDS * 4 / 5 ))" >/dev/null
HELD=$(psql -XAtq -c "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = '$USER_ID'")
[[ "$HELD" == "$COUNT" ]] || die "tenant holds $HELD resources after the warm-up, expected $COUNT"

top_statements >/dev/null
say "idle control window"
loadgen idle --base-url "$BASE" --snapshot-cmd "$SNAP" --duration "$DURATION" --settle 11 | tee -a "$RUN/bench.log"
{ echo "  PostgreSQL statements while idle (the settling periods included):"; top_statements 8; } | tee -a "$RUN/bench.log"

FIRST="/v1/resources?per_page=$PER_PAGE"
if want list; then
  bench "list page 1 (offset 0)" "$FIRST" "$CONC"
  bench "list page 1 (offset 0)" "$FIRST" 1
fi

# Deep pages: 1,000 (offset 19,980), 2,500 (the middle) and the last page. The cursor of page P comes from offset
# page P-1's meta.next_cursor; cursor-at checks that it yields exactly offset page P's ids.
LAST=$(( (COUNT + PER_PAGE - 1) / PER_PAGE ))
DEPTHS=(1000 $(( LAST / 2 )) "$LAST")
declare -A CURSOR ENC
for p in "${DEPTHS[@]}"; do
  CURSOR[$p]=$(loadgen cursor-at --base-url "$BASE" --page "$p" --per-page "$PER_PAGE" 2> >(tee -a "$RUN/bench.log" >&2))
  ENC[$p]=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "${CURSOR[$p]}")
done
CURSOR_1000=${CURSOR[1000]}
top_statements >/dev/null
want deep && for c in "$CONC" 1; do
  for p in "${DEPTHS[@]}"; do
    label=$(printf "%'d" "$p")
    bench "page $label by offset (?page=$p)" "/v1/resources?page=$p&per_page=$PER_PAGE" "$c"
    bench "page $label by cursor" "/v1/resources?cursor=${ENC[$p]}&per_page=$PER_PAGE" "$c"
  done
done

if want walk; then
  say "walk 1,000 pages by next_cursor"
  WALKED=$(loadgen walk --base-url "$BASE" --pages 1000 --per-page "$PER_PAGE" --results "$ROWS" 2> >(tee -a "$RUN/bench.log" >&2)) ||
    { FAILED=1; echo "!! walk failed" | tee -a "$RUN/bench.log"; }
  # Page 999's next_cursor leads to page 1000, just like CURSOR_1000 (taken from offset page 999).
  if [[ "${WALKED:-}" == "$CURSOR_1000" ]]; then
    echo "walk: the cursor walked to page 1000 equals the one taken from offset page 999" | tee -a "$RUN/bench.log"
  else
    FAILED=1; echo "!! walk: the walked cursor differs from the one taken at depth" | tee -a "$RUN/bench.log"
  fi
fi

# Plans first, while the tenant holds exactly the seeded rows (benchmark 4 adds more).
if want plans; then

# ------------------------------------------------------------------ query plans
say "EXPLAIN ANALYZE of the list's SQL"
decode() { python3 -c 'import base64, json, sys; s = sys.argv[1]; k = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["K"]; print(k[0], k[1])' "$1"; }
read -r K0_1000 K1_1000 < <(decode "${CURSOR[1000]}")
MID=${DEPTHS[1]}
read -r K0_MID K1_MID < <(decode "${CURSOR[$MID]}")
read -r K0_LAST K1_LAST < <(decode "${CURSOR[$LAST]}")
COLS="id, owner_id, name, description, type, status, metadata, created_at, updated_at, version"
EXPLAIN="EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)"
plan() { # title sql
  { echo "-- $1"; echo "$2;"; psql -XAtq -c "$EXPLAIN $2"; echo; } >>"$RUN/explain.txt"
}
: >"$RUN/explain.txt"
plan "page 1 (what ?per_page=20 runs)" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0"
plan "exact total (every list call runs it too)" \
  "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = '$USER_ID'"
plan "page 1,000 by offset" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 19980"
plan "page 1,000 by cursor (the keyset condition ResourceStore.KeysetCondition writes)" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' AND ((created_at < $K0_1000) OR (created_at = $K0_1000 AND id < '$K1_1000')) ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0"
plan "page $MID by offset" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET $(( (MID - 1) * PER_PAGE ))"
plan "page $MID by cursor (same shape)" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' AND ((created_at < $K0_MID) OR (created_at = $K0_MID AND id < '$K1_MID')) ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0"
plan "page $LAST (last) by cursor (same shape)" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' AND ((created_at < $K0_LAST) OR (created_at = $K0_LAST AND id < '$K1_LAST')) ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0"
plan "page $MID by cursor written as a row comparison (an alternative for a single-direction sort; NOT what the product runs)" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' AND (created_at, id) < ($K0_MID, '$K1_MID') ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0"

plan "page $MID by cursor with a redundant leading bound 'created_at <= k0' (works for mixed directions too; NOT what the product runs)" \
  "SELECT $COLS FROM resources WHERE owner_id = '$USER_ID' AND created_at <= $K0_MID AND ((created_at < $K0_MID) OR (created_at = $K0_MID AND id < '$K1_MID')) ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0"

fi

top_statements >/dev/null
ONE_ID=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE$FIRST" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')
# 11 s of quiet before and after the window, so PostgreSQL's pg_stat_* counters are flushed (see stats-snapshot.sh).
if want get; then
  bench "GET /v1/resources/{id} (one resource)" "/v1/resources/$ONE_ID" "$CONC" --settle 11
  bench "GET /v1/resources/{id} (one resource)" "/v1/resources/$ONE_ID" 1 --settle 11
fi
want create && bench "create POST /v1/resources" "/v1/resources" "$CONC" --method POST

# ------------------------------------------------------------------ CPU profile of the silo (optional)
# With dotnet-trace (bench/.tools, installed there when missing), sample the silo's CPU for 8 s while 32 clients fetch
# the first page, and list the methods most often on the stack. BENCH_PROFILE=0 skips it.
: >"$RUN/profile.txt"
if [[ "${BENCH_PROFILE:-1}" == 1 ]] && want profile; then
  TRACER=$(bench_tool dotnet-trace)
  say "CPU profile of the silo during 'list page 1', $CONC clients"
  loadgen run --base-url "$BASE" --name "list page 1 (while profiling)" --path "$FIRST" --concurrency "$CONC" --warmup 2 \
    --duration 12 >"$RUN/profile-load.txt" 2>&1 &
  LOAD_PID=$!
  sleep 4
  rm -f "$RUN/list-page-1.nettrace"
  # Kernel CPU sampling via perf_events (collect-linux: root only); else EventPipe's thread-time sampling.
  if ! timeout 120 "$TRACER" collect-linux -p "$SILO_PID" --profile cpu-sampling --duration 00:00:00:08 \
      -o "$RUN/list-page-1.nettrace" >"$RUN/trace.log" 2>&1; then
    PROFILE_KIND="EventPipe dotnet-sampled-thread-time (collect-linux unavailable)"
    timeout 120 "$TRACER" collect -p "$SILO_PID" --profile dotnet-sampled-thread-time --duration 00:00:00:08 \
      -o "$RUN/list-page-1.nettrace" >>"$RUN/trace.log" 2>&1 || true
  else
    PROFILE_KIND="perf_events CPU sampling (dotnet-trace collect-linux --profile cpu-sampling)"
  fi
  wait "$LOAD_PID" || true
  if [[ -f "$RUN/list-page-1.nettrace" ]]; then
    {
      echo "$PROFILE_KIND, 8 s of the silo while: $(cat "$RUN/profile-load.txt")"
      echo
      "$TRACER" report "$RUN/list-page-1.nettrace" topN -n 70 --inclusive 2>&1 | cut -c1-170 || true
    } >"$RUN/profile.txt"
  fi
fi

# ------------------------------------------------------------------ report
# A run of a subset (BENCH_ONLY) does not replace the full run's results.
if [[ -n "${BENCH_ONLY:-}" ]]; then OUT=$OUT_DIR/resources-only-${BENCH_ONLY//,/-}.md; fi
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# Resources benchmark: ${BENCH_ONLY:+subset ($BENCH_ONLY) of the }latest run"
  echo
  echo "Written by \`bench/run-resources.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/README.md for what it means."
  echo
  echo "- Silo built from the $SOURCE_DESC; load average before the run: $LOADAVG"
  echo "- Machine: $(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM, shared by load generator, silo and PostgreSQL"
  echo "- .NET SDK $(dotnet --version), PostgreSQL $PG_VERSION (fsync=off, synchronous_commit=off, shared_buffers=128MB: scripts/postgres.sh)"
  echo "- One tenant, $(printf "%'d" "$COUNT") resources, seeded by $SEED_MODE; per_page=$PER_PAGE; warm-up ${WARMUP} s, measured ${DURATION} s per row"
  echo
  echo "| benchmark | clients | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | SQL stmts/req | on \`resources\`/req | CPU ms/req silo / PG / loadgen | other load (cores) | p99.9 ms |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
  cat "$ROWS"
  echo
  echo "## Log"
  echo
  echo '```'
  cat "$RUN/bench.log"
  echo '```'
  echo
  if [[ -s "$RUN/explain.txt" ]]; then
    echo
    echo "## Query plans"
    echo
    echo '```'
    cat "$RUN/explain.txt"
    echo '```'
  fi
  if [[ -s "$RUN/profile.txt" ]]; then
    echo
    echo "## CPU profile of the silo (list page 1, $CONC clients): methods by inclusive share of samples"
    echo
    echo '```'
    cat "$RUN/profile.txt"
    echo '```'
  fi
} >"$OUT"
cat "$OUT"
say "done; results in ${OUT#"$ROOT"/}"
[[ $FAILED == 0 ]] || die "some benchmarks had errors (see above)"
