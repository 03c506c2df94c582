# shellcheck shell=bash disable=SC2034  # sets variables for the sourcing script
# Shared by the bench/ scripts (sourced, not run): logging, free ports, JSON fields, process control, a clean export
# of HEAD, a throwaway PostgreSQL with pg_stat_statements, and the product in PostgreSQL mode.
#
# The sourcing script sets BENCH_NAME (for messages) before sourcing, and ROOT (the repository).

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDTERMINALLOGGER=off

T0=$SECONDS
say() { echo "== $* [$((SECONDS - T0))s]" >&2; }
die() { echo "${BENCH_NAME:-bench}: ERROR: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
json() { # dotted.path < json  -> the value
  python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"
}

stop_pid() { # pid: TERM, up to 10 s, then KILL
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
}

wait_ready() { # pid url seconds [interval, 0.1 s]: until url answers 200 (false when the process exits or time runs out)
  local interval=${4:-0.1} deadline=$(( $(date +%s) + $3 ))
  while (( $(date +%s) < deadline )); do
    kill -0 "$1" 2>/dev/null || return 1
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$2" || true) == 200 ]] && return 0
    sleep "$interval"
  done
  return 1
}

# Processes in PIDS and the PostgreSQL under PG_DIR are stopped on exit, whatever ends the script.
PIDS=()
bench_cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  [[ -z "${PG_DIR:-}" ]] || "$ROOT/scripts/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# export_head DIR NO_BUILD: a clean `git archive` of HEAD in DIR (kept while HEAD does not move), so edits in progress
# cannot blur a measurement. With NO_BUILD=1 the export already there is reused, whatever HEAD is now. Sets COMMIT.
export_head() {
  local dir=$1 no_build=$2
  COMMIT=$(git -C "$ROOT" rev-parse HEAD)
  if [[ "$no_build" == 1 && -f "$dir/.commit" ]]; then
    COMMIT=$(cat "$dir/.commit")
  elif [[ "$(cat "$dir/.commit" 2>/dev/null || true)" != "$COMMIT" ]]; then
    rm -rf "$dir"; mkdir -p "$dir"
    git -C "$ROOT" archive --format=tar "$COMMIT" | tar -x -C "$dir"
    echo "$COMMIT" >"$dir/.commit"
  fi
}

# tool_dll PROJECT.csproj: the Release assembly that project builds.
tool_dll() { echo "$(dirname "$1")/bin/Release/net10.0/$(basename "$1" .csproj).dll"; }

# build_product DIR NO_BUILD [PROJECT.csproj...]: export_head into DIR, then build the product there and the given
# tools, Release (with NO_BUILD=1 only when the silo is missing: the export's build is reused); sets SILO_BIN and
# stops unless the silo and every tool's assembly (tool_dll) are there. Needs RUN.
build_product() {
  local dir=$1 no_build=$2 project
  shift 2
  export_head "$dir" "$no_build"
  SILO_BIN=$dir/src/Silo/bin/Release/net10.0
  if [[ "$no_build" != 1 || ! -x "$SILO_BIN/ApiPlatform.Silo" ]]; then
    say "build Release: product (commit ${COMMIT:0:7}, clean export of HEAD)$(for project in "$@"; do printf ', %s' "$(basename "$project" .csproj)"; done)"
    build_release "$RUN/build.log" "$dir/src/Silo/Silo.csproj" "$@"
  fi
  [[ -x "$SILO_BIN/ApiPlatform.Silo" ]] || die "build outputs missing: the silo"
  for project in "$@"; do
    [[ -f "$(tool_dll "$project")" ]] || die "build outputs missing: $(basename "$project" .csproj)"
  done
}

# bench_tool NAME: the path of a .NET diagnostics tool (dotnet-counters, dotnet-trace) in bench/.tools, installed
# there at the pinned version on first use, so an observed or profiled run works on a fresh clone. Needs BENCH_DIR.
bench_tool() {
  local path=$BENCH_DIR/.tools/$1
  [[ -x $path ]] || dotnet tool install --tool-path "$BENCH_DIR/.tools" "$1" --version 10.0.750501 >&2 ||
    die "could not install $1 into $BENCH_DIR/.tools"
  echo "$path"
}

# build_compare_set DIR NO_BUILD [PROJECT.csproj...]: build_product with the baseline, LoadGen and any other tools
# given; sets SILO_BIN, BASELINE_DLL and LOADGEN_DLL and defines loadgen. Needs CMP, BENCH_DIR, RUN.
build_compare_set() {
  build_product "$1" "$2" "$CMP/Baseline/Baseline.csproj" "$BENCH_DIR/LoadGen/LoadGen.csproj" "${@:3}"
  BASELINE_DLL=$(tool_dll "$CMP/Baseline/Baseline.csproj")
  LOADGEN_DLL=$(tool_dll "$BENCH_DIR/LoadGen/LoadGen.csproj")
  loadgen() { dotnet "$LOADGEN_DLL" "$@"; }
}

# publish_product SRC NO_BUILD: the silo as the Dockerfile ships it (`dotnet publish -a x64`: self-contained, runtime
# and app in one composite ReadyToRun image), published from the export SRC into $CMP/.run/publish, or reused from
# there with NO_BUILD=1. Sets PUBLISH_DIR. Needs CMP and RUN.
publish_product() {
  PUBLISH_DIR=$CMP/.run/publish
  if [[ "$2" != 1 || ! -x "$PUBLISH_DIR/ApiPlatform.Silo" ]]; then
    say "publish the silo as the Dockerfile does (dotnet publish -a x64: self-contained, composite ReadyToRun)"
    rm -rf "$PUBLISH_DIR"
    dotnet publish "$1/src/Silo/Silo.csproj" -c Release -a x64 -o "$PUBLISH_DIR" -nologo -v q \
      >>"$RUN/build.log" 2>&1 || { tail -n 40 "$RUN/build.log" >&2; die "publishing the silo failed"; }
  fi
}

# perf_profile PID SECONDS DATA [HZ]: on-CPU stacks of PID (Linux perf, HZ samples a second, 499 unless given) into
# DATA, then the summary of bench/compare/perf-summary.py on stdout. JIT-compiled frames are named when the process
# runs with DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0. Callers check for perf first. Needs CMP.
perf_profile() {
  perf record -F "${4:-499}" -g -p "$1" -o "$3" -- sleep "$2" >"$3.log" 2>&1 || true
  perf script -i "$3" -F comm,tid,ip,sym,dso 2>/dev/null | python3 "$CMP/perf-summary.py" 60
}

# build_release LOG PROJECT...: dotnet build -c Release of each, dying with the log's tail on failure.
build_release() {
  local log=$1 project
  shift
  for project in "$@"; do
    dotnet build -c Release "$project" -nologo -v q >>"$log" 2>&1 ||
      { tail -n 40 "$log" >&2; die "building $project failed (see $log)"; }
  done
}

# start_postgres DIR DB...: a throwaway server (scripts/postgres.sh) restarted with pg_stat_statements preloaded, and
# the databases, each with the extension. Sets CS (connection string without a database), PG_DIR, PG_PID, PG_VERSION,
# PG_SETTINGS, and exports PGHOST/PGPORT/PGUSER/PGPASSWORD for psql (PGDATABASE=postgres).
start_postgres() {
  PG_DIR=$1
  shift
  CS=$("$ROOT/scripts/postgres.sh" start "$PG_DIR")
  local data pgbin db
  data=$(cat "$PG_DIR/data-path" 2>/dev/null || echo "$PG_DIR/data")
  export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGPASSWORD=postgres PGDATABASE=postgres
  PGPORT=$(cat "$PG_DIR/port")
  psql -XAtq -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
  pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  if [[ $(id -u) -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$pgbin/pg_ctl" -D "$data" -l "$(dirname "$data")/postgres.log" -m fast -w -t 60 restart >/dev/null)
  else
    "$pgbin/pg_ctl" -D "$data" -l "$(dirname "$data")/postgres.log" -m fast -w -t 60 restart >/dev/null
  fi
  PG_PID=$(head -n1 "$data/postmaster.pid")
  for db in "$@"; do
    psql -XAtq -c "CREATE DATABASE $db" >/dev/null
    psql -XAtq -d "$db" -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  done
  PG_VERSION=$(psql -XAtq -c "SHOW server_version")
  PG_SETTINGS=$(psql -XAtq -F= -c "SELECT name, setting FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_connections') ORDER BY name" | paste -sd' ')
}

# start_product SILO_BIN DB LOG [NAME=VALUE...]: the silo in PostgreSQL mode (database DB; DB=embedded:DIR: the
# embedded default, SQLite in DIR) on free loopback ports, with a fresh
# signing key, the bench admin (ADMIN_EMAIL / ADMIN_PASSWORD) and the extra settings given; waits until it is ready.
# BENCH_PG_EXTRA is appended to its PostgreSQL connection string, e.g. ";Maximum Pool Size=6" for an A/B of the pool.
# One signing key for every product process of a run: the silos of one cluster must accept each other's tokens.
BENCH_JWT_KEY=${BENCH_JWT_KEY:-$(head -c 48 /dev/urandom | base64 -w0)}

# The runtime settings the image and `dotnet run` give the silo as environment variables (the Dockerfile's ENV, the
# launch profile): the young generation's size. Exported in the subshell that starts a silo; a setting given after
# it, e.g. DOTNET_GCgen0size=0 (the runtime's own sizing), overrides it.
export_shipped_runtime_settings() {
  DOTNET_GCgen0size=$(sed -n 's/^ENV DOTNET_GCgen0size=//p' "$ROOT/Dockerfile")
  export DOTNET_GCgen0size
}

# Sets PRODUCT (its base URL), MANAGEMENT (its management listener: /metrics) and P_PID (added to PIDS).
start_product() {
  local bin=$1 db=$2 log=$3
  shift 3
  PRODUCT=http://127.0.0.1:$(free_port)
  MANAGEMENT=http://127.0.0.1:$(free_port)
  say "start the product on $PRODUCT"
  (
    cd "$bin" || exit 1
    if [[ $db == embedded:* ]]; then
      unset ConnectionStrings__Postgres   # the embedded default: SQLite in this directory
      export Storage__DataDirectory=${db#embedded:}
    else
      export ConnectionStrings__Postgres="$CS;Database=$db${BENCH_PG_EXTRA:-}"
    fi
    export ASPNETCORE_URLS=$PRODUCT Logging__LogLevel__Default=Warning
    export Bootstrap__AdminEmail=$ADMIN_EMAIL Bootstrap__AdminPassword=$ADMIN_PASSWORD
    export Jwt__SigningKey Orleans__SiloPort Orleans__GatewayPort Orleans__ClusterId=bench-$$ Management__Urls=$MANAGEMENT
    Jwt__SigningKey=$BENCH_JWT_KEY
    Orleans__SiloPort=$(free_port)
    Orleans__GatewayPort=$(free_port)
    export_shipped_runtime_settings
    local setting
    for setting in "$@"; do export "${setting?}"; done
    exec ./ApiPlatform.Silo
  ) >"$log" 2>&1 &
  P_PID=$!
  PIDS+=("$P_PID")
  wait_ready "$P_PID" "$PRODUCT/health/ready" 90 || { tail -n 40 "$log" >&2; die "the product did not get ready"; }
}

# start_baseline CONNECTION_SETTING: the plain service (BASELINE_DLL) with that connection setting
# (ConnectionStrings__Baseline=… or the SQLite one); sets BASELINE (its base URL) and B_PID (added to PIDS).
start_baseline() {
  BASELINE=http://127.0.0.1:$(free_port)
  say "start the baseline on $BASELINE"
  env "$1" ASPNETCORE_URLS=$BASELINE Logging__LogLevel__Default=Warning dotnet "$BASELINE_DLL" >"$RUN/baseline.log" 2>&1 &
  B_PID=$!
  PIDS+=("$B_PID")
  wait_ready "$B_PID" "$BASELINE/health" 60 || { tail -n 40 "$RUN/baseline.log" >&2; die "the baseline did not start"; }
}

# start_storage: the two services' storage for a run with EMBEDDED (1: SQLite files under RUN, else a throwaway
# PostgreSQL with databases product and baseline). Sets PRODUCT_DB (for start_product), BASELINE_CS (for
# start_baseline) and, with PostgreSQL, what start_postgres sets.
start_storage() {
  if [[ $EMBEDDED == 1 ]]; then
    PG_PID=
    rm -rf "$RUN/embedded-data" "$RUN/baseline.db"*
    PRODUCT_DB=embedded:$RUN/embedded-data
    BASELINE_CS="ConnectionStrings__BaselineSqlite=Data Source=$RUN/baseline.db;Pooling=True;Default Timeout=30"
  else
    say "start PostgreSQL"
    start_postgres "$RUN/postgres" product baseline
    PRODUCT_DB=product
    BASELINE_CS="ConnectionStrings__Baseline=$CS;Database=baseline"
  fi
}

# sql_in product|baseline: runs the SQL on stdin in that service's database (PostgreSQL) or file (SQLite, EMBEDDED=1),
# with psql variables :'owner' and :'key' (OWNER, KEY; replaced by their values for sqlite3).
sql_in() {
  if [[ $EMBEDDED == 1 ]]; then
    local file=$RUN/baseline.db
    [[ $1 == product ]] && file=$RUN/embedded-data/platform.db
    sed -e "s/:'owner'/'$OWNER'/g" -e "s/:'key'/'${KEY:-}'/g" | sqlite3 -bail -cmd '.timeout 30000' "$file" >/dev/null
  else
    psql -XAtq -d "$1" -v ON_ERROR_STOP=1 -v owner="$OWNER" -v key="${KEY:-}" >/dev/null
  fi
}

# seed_product_sql ROWS_SQL / seed_baseline_sql ROWS_SQL: the PostgreSQL statements that bulk-insert the rows of ROWS_SQL
# (columns id, name, description, type, status, metadata, t in µs since the epoch) for psql variable :'owner'. The
# product's row triggers keep resource_counts; with the replication role the bulk insert skips them and the counters are
# written once from the same rows (same result, a trigger call per row faster). Pipe the output into psql.
seed_product_sql() {
  cat <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
SELECT id, :'owner', name, description, type, status, metadata, t, t, 1 FROM ($1) s;
INSERT INTO resource_counts (owner_id, type, status, n)
SELECT owner_id, type, status, count(*) FROM resources WHERE owner_id = :'owner' GROUP BY owner_id, type, status
ON CONFLICT (owner_id, type, status) DO UPDATE SET n = excluded.n;
COMMIT;
VACUUM (ANALYZE) resources;
VACUUM (ANALYZE) resource_counts;
SQL
}

# seed_sqlite_sql TABLE ROWS_SQL: the same for SQLite (the embedded mode), into resources (the product: its row
# triggers keep the counters) or baseline_resources, in one transaction, then ANALYZE. Pipe the output into sql_in.
seed_sqlite_sql() {
  cat <<SQL
BEGIN;
INSERT INTO $1 (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
SELECT id, :'owner', name, description, type, status, metadata, t, t, 1 FROM ($2);
COMMIT;
ANALYZE;
SQL
}

# register_baseline_key: gives the baseline the SHA-256 of KEY for OWNER (its only form of API key).
register_baseline_key() {
  if [[ $EMBEDDED == 1 ]]; then
    sql_in baseline <<<"INSERT INTO baseline_keys (key_hash, owner_id) VALUES (x'$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)', :'owner');"
  else
    sql_in baseline <<<"INSERT INTO baseline_keys (key_hash, owner_id) VALUES (sha256(convert_to(:'key', 'UTF8')), :'owner');"
  fi
}

seed_baseline_sql() {
  cat <<SQL
INSERT INTO baseline_resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
SELECT id, :'owner', name, description, type, status, metadata, timestamptz 'epoch' + t * interval '1 microsecond',
       timestamptz 'epoch' + t * interval '1 microsecond', 1
FROM ($1) s;
VACUUM (ANALYZE) baseline_resources;
SQL
}

# admin_access_token: logs in as the bench admin on PRODUCT.
admin_access_token() {
  curl -sf "$PRODUCT/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | json access_token
}

# admin_api_key NAME: logs in as the bench admin on PRODUCT and makes an API key of plan bench; sets ACCESS, OWNER
# (the admin's id), KEY and exports BENCH_TOKEN=KEY (for Activate and LoadGen).
admin_api_key() {
  ACCESS=$(admin_access_token) || die "admin login failed"
  OWNER=$(curl -sf "$PRODUCT/v1/users/me" -H "Authorization: Bearer $ACCESS" | json data.id) || die "GET /v1/users/me failed"
  KEY=$(curl -sf "$PRODUCT/v1/api-keys" -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"plan\":\"bench\"}" | json data.key) || die "creating the bench API key failed"
  [[ "$KEY" == sk_* && "$OWNER" == usr_* ]] || die "unexpected key or owner ($OWNER)"
  export BENCH_TOKEN=$KEY
}
