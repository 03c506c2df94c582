#!/usr/bin/env bash
# Build the solution, start what the tests need (PostgreSQL), run every test project under
# tests/, stop what was started, and print as the LAST line:
#     N passed, N failed, N skipped
# counted from the TRX files of all test projects. Exits non-zero if the build failed, a test
# failed, a test project crashed / timed out / left no TRX, or no test ran at all.
#
# Usage: ./test.sh [--filter <expr>] [-c|--configuration Release|Debug] [--no-build]
#
# Tests get:  TEST_POSTGRES=Host=127.0.0.1;Port=<port>;Username=postgres;Password=postgres
#             REQUIRE_POSTGRES=1
# Outputs under .test-run/ (gitignored): build.log, test.log, logs/<Project>.log, results/<Project>.trx.
#
# Overridable via environment (mostly for trying this script on another tree):
#   TEST_REPO_ROOT (default: this script's dir), TEST_SOLUTION (default: Orleans.sln),
#   TEST_CONFIGURATION (Release), TEST_PROJECT_TIMEOUT (20m), TEST_HANG_TIMEOUT (10m),
#   TEST_BUILD_TIMEOUT (20m, for restore and for build).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "${TEST_REPO_ROOT:-$SCRIPT_DIR}" && pwd)
SCRIPTS="$SCRIPT_DIR/scripts"
SOLUTION=${TEST_SOLUTION:-Orleans.sln}
CONFIG=${TEST_CONFIGURATION:-Release}
PROJECT_TIMEOUT=${TEST_PROJECT_TIMEOUT:-20m}
HANG_TIMEOUT=${TEST_HANG_TIMEOUT:-10m}
BUILD_TIMEOUT=${TEST_BUILD_TIMEOUT:-20m}
FILTER=""
DO_BUILD=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --filter) FILTER=${2:?--filter needs an expression}; shift 2 ;;
        --filter=*) FILTER=${1#--filter=}; shift ;;
        -c|--configuration) CONFIG=${2:?$1 needs a value}; shift 2 ;;
        --no-build) DO_BUILD=0; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

cd "$REPO_ROOT"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_GENERATE_ASPNET_CERTIFICATE=false
export MSBUILDTERMINALLOGGER=off
export NUGET_XMLDOC_MODE=skip
if [[ "${CI:-}" == "true" ]]; then
    export DOTNET_CLI_UI_LANGUAGE=en
    export MSBUILDDISABLENODEREUSE=1   # no MSBuild nodes left behind after CI
fi

RUN_DIR="$REPO_ROOT/.test-run"
RESULTS="$RUN_DIR/results"
PG_DIR="$RUN_DIR/postgres"
BUILD_LOG="$RUN_DIR/build.log"
TEST_LOG="$RUN_DIR/test.log"
mkdir -p "$RUN_DIR"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
: > "$TEST_LOG"

T0=$SECONDS
say() { echo "== $* [$((SECONDS - T0))s]"; }

# ---------------------------------------------------------------- processes
# Long commands run in the background under `timeout` (which puts them in a process group of
# their own) and are waited for, so that Ctrl-C / SIGTERM reach this script at once and the
# trap can end the whole group.
CUR_PID=""
kill_group() { # pid: end what is left in the process group that `timeout` (pid) leads
    local pid=$1
    kill -TERM -- "-$pid" 2>/dev/null || return 0
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 -- "-$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
}
# run_limited <time limit> <log file | "tee"> <reap: 1 = kill leftovers of the group> cmd...
run_limited() {
    local limit=$1 out=$2 reap=$3 rc=0
    shift 3
    if [[ "$out" == tee ]]; then
        timeout -k 60s "$limit" "$@" </dev/null > >(tee -a "$TEST_LOG") 2>&1 &
    else
        timeout -k 60s "$limit" "$@" </dev/null >>"$out" 2>&1 &
    fi
    CUR_PID=$!
    wait "$CUR_PID" || rc=$?
    # Leftovers (e.g. a hung test process that --blame-hang did not reach) must not keep
    # pipes, ports or the database busy.
    if [[ $reap -eq 1 ]]; then kill_group "$CUR_PID"; fi
    CUR_PID=""
    wait 2>/dev/null || true   # the tee of the process substitution
    return $rc
}

# ---------------------------------------------------------------- cleanup
PG_STARTED=0
CLEANED=0
cleanup() {
    [[ $CLEANED -eq 1 ]] && return 0
    CLEANED=1
    if [[ -n "$CUR_PID" ]]; then
        kill_group "$CUR_PID"
        CUR_PID=""
    fi
    if [[ -f "$RUN_DIR/pids" ]]; then
        local pid
        while read -r pid; do [[ -n "$pid" ]] && kill_group "$pid"; done < "$RUN_DIR/pids"
    fi
    if [[ $PG_STARTED -eq 1 || -d "$PG_DIR" ]]; then
        "$SCRIPTS/postgres.sh" stop "$PG_DIR" >>"$RUN_DIR/postgres-stop.log" 2>&1 ||
            echo "test.sh: WARNING: stopping PostgreSQL failed, see $RUN_DIR/postgres-stop.log" >&2
        PG_STARTED=0
    fi
    if [[ "${CI:-}" == "true" ]]; then
        dotnet build-server shutdown >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM HUP

# Stop what we started, then print the totals as the very last line and exit.
finish() { # passed failed skipped exit_code
    cleanup
    echo "$1 passed, $2 failed, $3 skipped"
    exit "$4"
}

# ---------------------------------------------------------------- tools
# Everything the tests need on a fresh Debian 12 machine (root, .NET SDK present) goes here.
# (PostgreSQL is installed on demand by scripts/postgres.sh.) Add e.g. headless Chromium here.
ensure_tools() {
    command -v dotnet >/dev/null || { echo "test.sh: dotnet SDK not found on PATH" >&2; return 1; }
    command -v python3 >/dev/null || {
        [[ $(id -u) -eq 0 ]] || { echo "test.sh: python3 not found" >&2; return 1; }
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 </dev/null
    }
    command -v timeout >/dev/null || { echo "test.sh: coreutils timeout not found" >&2; return 1; }
    # nginx plays the load balancer in the cluster tests (tests/ClusterTests); Chromium renders Swagger UI.
    if [[ ! -x /usr/sbin/nginx || ! -x /usr/bin/chromium ]]; then
        [[ $(id -u) -eq 0 ]] || { echo "test.sh: run: apt-get install -y nginx chromium" >&2; return 1; }
        # Keep the package from starting its own server on port 80: the tests start theirs.
        local added_policy=0
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx chromium </dev/null >/dev/null
        local rc=$?
        [[ $added_policy -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
        [[ $rc -eq 0 ]] || { echo "test.sh: installing nginx and chromium failed" >&2; return 1; }
    fi
}

# The OpenAPI checks' npm tools (Spectral, Redocly, openapi-typescript, TypeScript), pinned by the lockfile in
# tests/ApiTests/OpenApi, installed into .test-run/npm (gitignored) when missing or when the lockfile changed.
# tests/ApiTests/OpenApiLintTests.cs finds them through OPENAPI_TOOLS.
NPM_TOOLS="$RUN_DIR/npm"
ensure_npm_tools() {
    local src="$REPO_ROOT/tests/ApiTests/OpenApi"
    if [[ -x "$NPM_TOOLS/node_modules/.bin/spectral" && -x "$NPM_TOOLS/node_modules/.bin/tsc" ]] &&
        cmp -s "$src/package-lock.json" "$NPM_TOOLS/package-lock.json"; then
        return 0
    fi
    command -v npm >/dev/null || { echo "test.sh: npm not found (Node.js 20.19+ with npm is needed for the OpenAPI checks)" >&2; return 1; }
    rm -rf "$NPM_TOOLS" && mkdir -p "$NPM_TOOLS" &&
        cp "$src/package.json" "$src/package-lock.json" "$NPM_TOOLS/" &&
        (cd "$NPM_TOOLS" && npm ci --no-audit --no-fund --loglevel=error >"$RUN_DIR/npm-install.log" 2>&1) ||
        { echo "test.sh: npm ci failed, see $RUN_DIR/npm-install.log" >&2; return 1; }
}

say "tools"
if ! ensure_tools; then
    echo "test.sh: FAILED to set up tools" >&2
    finish 0 1 0 1
fi
mkdir -p "$RUN_DIR"
if ! ensure_npm_tools; then
    echo "test.sh: FAILED to install the OpenAPI tools" >&2
    finish 0 1 0 1
fi
export OPENAPI_TOOLS="$NPM_TOOLS"

# ---------------------------------------------------------------- build
if [[ $DO_BUILD -eq 1 ]]; then
    say "restore + build $SOLUTION ($CONFIG) -> $BUILD_LOG"
    : > "$BUILD_LOG"
    ok=0
    for attempt in 1 2 3; do
        if run_limited "$BUILD_TIMEOUT" "$BUILD_LOG" 0 dotnet restore "$SOLUTION" --nologo -v minimal; then
            ok=1
            break
        fi
        echo "restore attempt $attempt failed; retrying" | tee -a "$BUILD_LOG"
        if [[ $attempt -lt 3 ]]; then sleep $((attempt * 5)); fi
    done
    # Output goes to a file, not a pipe: compiler-server processes must not hold a pipe open.
    if [[ $ok -eq 1 ]] && run_limited "$BUILD_TIMEOUT" "$BUILD_LOG" 0 \
        dotnet build "$SOLUTION" --no-restore -c "$CONFIG" --nologo -v minimal; then
        grep -E "warning [A-Za-z]+[0-9]+" "$BUILD_LOG" | sed 's/[[:space:]]*$//' | sort -u | head -n 20 || true
        say "build succeeded"
    else
        echo "---- build errors (full log: $BUILD_LOG) ----"
        grep -E "error [A-Za-z]*[0-9]*|error:|: error" "$BUILD_LOG" | sed 's/[[:space:]]*$//' | sort -u | head -n 60 || true
        echo "---- last lines of the build log ----"
        tail -n 15 "$BUILD_LOG"
        echo "BUILD FAILED"
        finish 0 1 0 1
    fi
fi

# ---------------------------------------------------------------- test projects
mapfile -t PROJECTS < <(find tests -name '*.csproj' -not -path '*/bin/*' -not -path '*/obj/*' 2>/dev/null | sort)
TEST_PROJECTS=()
for p in "${PROJECTS[@]}"; do
    # Only real test projects (helper libraries under tests/ are skipped).
    if grep -qE 'Microsoft\.NET\.Test\.Sdk|<IsTestProject>\s*true' "$p"; then
        TEST_PROJECTS+=("$p")
    fi
done
if [[ ${#TEST_PROJECTS[@]} -eq 0 ]]; then
    echo "test.sh: no test projects found under tests/"
    finish 0 0 0 1
fi

# ---------------------------------------------------------------- services
say "starting PostgreSQL"
PG_STARTED=1
if ! TEST_POSTGRES=$("$SCRIPTS/postgres.sh" start "$PG_DIR"); then
    echo "test.sh: FAILED to start PostgreSQL"
    finish 0 1 0 1
fi
export TEST_POSTGRES
export REQUIRE_POSTGRES=1
echo "TEST_POSTGRES=$TEST_POSTGRES"

# ---------------------------------------------------------------- run
# Projects run in lanes: the lanes run side by side, the projects of one lane one after another. The HTTP suite and
# the in-process suites share the two cores well; the cluster suite (real processes, kill -9, failure detection) runs
# last and alone, so its silos are never starved by another suite. Each project writes its own log, copied into
# test.log when it ends.
LOG_DIR="$RUN_DIR/logs"
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
: > "$RUN_DIR/pids"
run_project() { # project path; prints one line when it ends, leaves its exit code in $LOG_DIR/<name>.rc
    local proj=$1 name rc=0
    name=$(basename "$proj" .csproj)
    local args=(test "$proj" --no-build -c "$CONFIG" --nologo -v minimal
        --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS"
        --blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none)
    if [[ -n "$FILTER" ]]; then args+=(--filter "$FILTER"); fi
    local started=$SECONDS
    timeout -k 60s "$PROJECT_TIMEOUT" dotnet "${args[@]}" </dev/null >"$LOG_DIR/$name.log" 2>&1 &
    local pid=$!
    echo "$pid" >> "$RUN_DIR/pids"
    wait "$pid" || rc=$?
    kill_group "$pid"   # leftovers (a hung test host) must not keep ports or the database busy
    echo "$rc" > "$LOG_DIR/$name.rc"
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        echo "test.sh: $proj TIMED OUT after $PROJECT_TIMEOUT" >> "$LOG_DIR/$name.log"
    fi
    local outcome
    outcome=$(grep -E "^(Passed|Failed)!" "$LOG_DIR/$name.log" | tail -n 1 | sed 's/[[:space:]]*$//')
    echo "== $name finished in $((SECONDS - started))s (exit $rc): ${outcome:-no summary, see $LOG_DIR/$name.log}"
}
run_lane() { # projects...
    local proj
    for proj in "$@"; do run_project "$proj"; done
}

HTTP_LANE=() OTHER_LANE=() LAST_LANE=()
for proj in "${TEST_PROJECTS[@]}"; do
    case "$(basename "$proj" .csproj)" in
        ApiTests) HTTP_LANE+=("$proj") ;;
        ClusterTests) LAST_LANE+=("$proj") ;;
        *) OTHER_LANE+=("$proj") ;;
    esac
done
say "test ${HTTP_LANE[*]} | ${OTHER_LANE[*]} side by side, then ${LAST_LANE[*]}"
LANE_PIDS=()
if [[ ${#HTTP_LANE[@]} -gt 0 ]]; then run_lane "${HTTP_LANE[@]}" & LANE_PIDS+=($!); fi
if [[ ${#OTHER_LANE[@]} -gt 0 ]]; then run_lane "${OTHER_LANE[@]}" & LANE_PIDS+=($!); fi
for pid in "${LANE_PIDS[@]}"; do wait "$pid" || true; done
if [[ ${#LAST_LANE[@]} -gt 0 ]]; then run_lane "${LAST_LANE[@]}"; fi

declare -A RC
for proj in "${TEST_PROJECTS[@]}"; do
    name=$(basename "$proj" .csproj)
    RC[$name]=$(cat "$LOG_DIR/$name.rc" 2>/dev/null || echo 1)
    { echo "==== $name"; cat "$LOG_DIR/$name.log" 2>/dev/null; } >> "$TEST_LOG"
done

# ---------------------------------------------------------------- count
cleanup   # stop PostgreSQL before the summary so nothing prints after the last line

say "summary"
total_p=0 total_f=0 total_s=0 bad=0
PROBLEMS=()
printf '%-28s %7s %7s %7s  %s\n' project passed failed skipped note
for proj in "${TEST_PROJECTS[@]}"; do
    name=$(basename "$proj" .csproj)
    trx="$RESULTS/$name.trx"
    rc=${RC[$name]}
    note=""
    if [[ -f "$trx" ]]; then
        IFS=$'\t' read -r _ p f s e < <(python3 "$SCRIPTS/count-trx.py" "$trx")
        if [[ $rc -ne 0 && $f -eq 0 ]]; then
            # The run failed without a failed test: crash, hang, timeout or a run error.
            f=1; bad=1; note="run failed (exit $rc) without failed tests: crash/hang/timeout"
        elif [[ $f -eq 0 && $e -gt 0 ]]; then
            # e.g. a fixture/cleanup failure or a catastrophic runner error with no failed test.
            f=1; bad=1; note="run-level errors in TRX without failed tests; counted as 1 failed"
        elif [[ $rc -ne 0 ]]; then
            note="exit $rc"
        fi
        if (( p + f + s == 0 )); then note="${note:+$note; }no tests"; fi
    else
        p=0 f=1 s=0 bad=1
        if [[ $rc -eq 0 ]]; then
            note="NO TRX (exit 0): not built? (is it in $SOLUTION?); counted as 1 failed"
        else
            note="NO TRX (exit $rc): crashed or did not run; counted as 1 failed"
        fi
    fi
    total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
    printf '%-28s %7d %7d %7d  %s\n' "$name" "$p" "$f" "$s" "$note"
    if (( bad )) && [[ -n "$note" && "$note" != "no tests" ]]; then PROBLEMS+=("  $name: $note"); fi
done

if [[ $total_f -gt 0 ]]; then
    echo "---- failures ----"
    if [[ ${#PROBLEMS[@]} -gt 0 ]]; then printf '%s\n' "${PROBLEMS[@]}"; fi
    for proj in "${TEST_PROJECTS[@]}"; do
        name=$(basename "$proj" .csproj)
        if [[ -f "$RESULTS/$name.trx" ]]; then
            python3 "$SCRIPTS/count-trx.py" --failures --max 30 "$RESULTS/$name.trx" || true
        fi
    done
    echo "(full output: $TEST_LOG; TRX files: $RESULTS)"
fi

code=0
if (( total_f > 0 || bad > 0 )); then
    code=1
elif (( total_p + total_f == 0 )); then
    echo "test.sh: no test ran"
    code=1
fi
say "done"
finish "$total_p" "$total_f" "$total_s" "$code"
