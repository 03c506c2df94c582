#!/usr/bin/env bash
# Throwaway PostgreSQL instance for tests.
#
#   scripts/postgres.sh start <dir>   install Debian's server if missing, create a fresh
#                                     cluster in <dir>, start it on a free 127.0.0.1 port,
#                                     print the Npgsql connection string on stdout
#                                     (and write it to <dir>/connection-string).
#   scripts/postgres.sh stop <dir>    stop that instance and remove <dir>.
#   scripts/postgres.sh status <dir>  exit 0 if it is running (prints the connection string).
#   scripts/postgres.sh pause <dir>   stop that instance (fast shutdown) but keep <dir> and its data:
#                                     a database outage, for tests.
#   scripts/postgres.sh resume <dir>  start a paused instance again on the same port and data.
#
# Only the connection string goes to stdout, so `CS=$(scripts/postgres.sh start DIR)` works;
# progress and errors go to stderr. Form of the connection string:
#   Host=127.0.0.1;Port=<port>;Username=postgres;Password=postgres
# Auth is "trust" on 127.0.0.1 (the password is set as well, so it also works with md5/scram).
# A second `start` on the same <dir> stops whatever runs there and starts over cleanly.
# Files in <dir>: data/ (cluster, unless <dir> is not reachable by the postgres OS user, then
# cluster and log live in a /tmp dir, see <dir>/data-path), postgres.log, port,
# connection-string, env (`export TEST_POSTGRES=...`).
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    echo "usage: $0 start|stop|status|pause|resume <dir>" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
[[ -n "$dir" && "$dir" != "/" ]] || die "refusing to use dir '$dir'"
dir=$(realpath -m -- "$dir")

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a PostgreSQL binary as the postgres OS user when we are root (initdb/postgres refuse root).
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

find_pgbin() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/pg_ctl" && -x "$d/initdb" && -x "$d/postgres" ]] || continue
        best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n1)
    done
    printf '%s' "$best"
}

install_postgres() {
    is_root || die "PostgreSQL server is not installed and we are not root; run: apt-get install -y postgresql"
    log "PostgreSQL server not found; installing Debian package 'postgresql' ..."
    # Keep the package's own cluster from being started (it would not interfere, but it costs
    # time and memory). Only add a policy-rc.d if none exists, and remove only our own.
    local added_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    local rc=0
    {
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
                postgresql postgresql-client </dev/null
    } >&2 || rc=$?
    if [[ $added_policy -eq 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
    [[ $rc -eq 0 ]] || die "apt-get install postgresql failed (exit $rc)"
}

ensure_pg_user() {
    is_root || return 0
    if ! id -u postgres >/dev/null 2>&1; then
        log "creating OS user 'postgres'"
        useradd --system --no-create-home --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
    die "no free port found"
}

# Where the cluster lives (normally <dir>/data).
datadir_of() {
    if [[ -f "$dir/data-path" ]]; then
        cat "$dir/data-path"
    else
        echo "$dir/data"
    fi
}

pid_of() {
    local data=$1
    [[ -f "$data/postmaster.pid" ]] || return 1
    local pid
    pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

stop_instance() {
    local data pgbin pid
    data=$(datadir_of)
    [[ -d "$data" ]] || return 0
    pgbin=$(find_pgbin)
    if pid=$(pid_of "$data"); then
        log "stopping PostgreSQL (pid $pid) in $data"
        if [[ -n "$pgbin" ]]; then
            as_pg "$pgbin/pg_ctl" -D "$data" -m fast -w -t 30 stop >&2 ||
                as_pg "$pgbin/pg_ctl" -D "$data" -m immediate -w -t 15 stop >&2 || true
        fi
        if pid=$(pid_of "$data"); then
            log "still running; killing pid $pid"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
}

remove_all() {
    local data
    data=$(datadir_of)
    if [[ "$data" != "$dir/data" && -d "$(dirname "$data")" ]]; then rm -rf "$(dirname "$data")"; fi
    rm -rf "$dir"
}

# Server options of an instance on <port> with its socket in <sockdir> (empty: no Unix socket).
server_opts() {
    local opts="-p $1 -c listen_addresses=127.0.0.1 -c unix_socket_directories='$2'"
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    opts+=" -c max_connections=300 -c shared_buffers=128MB -c log_min_messages=warning"
    printf '%s' "$opts"
}

# The Unix socket directory of a cluster in <work> (see cmd_start).
sockdir_of() {
    local work=$1
    if (( ${#work} > 80 )); then echo ""; else echo "$work"; fi
}

cmd_start() {
    local t0=$SECONDS
    local pgbin
    pgbin=$(find_pgbin)
    if [[ -z "$pgbin" ]]; then
        install_postgres
        pgbin=$(find_pgbin)
        [[ -n "$pgbin" ]] || die "PostgreSQL installed but no /usr/lib/postgresql/*/bin/pg_ctl found"
    fi
    ensure_pg_user

    # Start over cleanly if something is already there.
    stop_instance
    remove_all
    mkdir -p "$dir"

    # Cluster, socket, server log and password file live in $work: normally <dir> itself.
    local work="$dir"
    if is_root; then
        chown postgres: "$dir"
        # The postgres user must be able to reach <dir> (e.g. a repo under /root is not).
        if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
            work=$(mktemp -d /tmp/pgtest.XXXXXX)
            chown postgres: "$work"
            echo "$work/data" > "$dir/data-path"
            log "$dir is not writable by user postgres; cluster lives in $work"
        fi
    fi
    local data="$work/data"
    # Unix socket paths are limited to ~107 bytes; TCP is what the tests use anyway.
    local sockdir
    sockdir=$(sockdir_of "$work")

    local pwfile="$work/.pwfile"
    echo postgres > "$pwfile"
    if is_root; then chown postgres: "$pwfile"; fi
    log "initdb ($pgbin) in $data"
    if ! as_pg "$pgbin/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=trust -E UTF8 --no-locale -N >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"
    # Only loopback TCP connections (listen_addresses also restricts it; be explicit).
    cat > "$data/pg_hba.conf" <<'EOF'
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
EOF
    if is_root; then chown postgres: "$data/pg_hba.conf"; fi

    local logfile="$work/postgres.log"
    touch "$logfile"
    if is_root; then chown postgres: "$logfile"; fi

    local port attempt started=0
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg "$pgbin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 -o "$(server_opts "$port" "$sockdir")" start >/dev/null 2>&1; then
            started=1
            break
        fi
        log "start attempt $attempt on port $port failed; retrying"
        tail -n 5 "$logfile" >&2 || true
        stop_instance
    done
    [[ $started -eq 1 ]] || { tail -n 30 "$logfile" >&2; die "could not start PostgreSQL"; }

    local ok=0
    for _ in $(seq 1 120); do
        if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
            ok=1
            break
        fi
        sleep 0.5
    done
    [[ $ok -eq 1 ]] || { tail -n 30 "$logfile" >&2; die "PostgreSQL did not become ready on port $port"; }

    local cs="Host=127.0.0.1;Port=$port;Username=postgres;Password=postgres"
    echo "$port" > "$dir/port"
    echo "$cs" > "$dir/connection-string"
    printf 'export TEST_POSTGRES=%q\n' "$cs" > "$dir/env"
    log "PostgreSQL $(basename "$(dirname "$pgbin")") ready on 127.0.0.1:$port in $((SECONDS - t0))s"
    echo "$cs"
}

cmd_stop() {
    stop_instance
    remove_all
    log "stopped; removed $dir"
}

cmd_status() {
    local data
    data=$(datadir_of)
    if pid_of "$data" >/dev/null && [[ -f "$dir/connection-string" ]]; then
        cat "$dir/connection-string"
    else
        log "not running"
        return 1
    fi
}

cmd_pause() {
    local data pgbin pid
    data=$(datadir_of)
    [[ -f "$dir/port" && -d "$data" ]] || die "no instance in $dir"
    pgbin=$(find_pgbin)
    if pid=$(pid_of "$data"); then
        # Fast shutdown: open sessions are ended at once (clients see their connections close),
        # running transactions roll back, and new connections are refused until resume.
        as_pg "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 || die "could not stop PostgreSQL (pid $pid)"
        log "paused (data kept in $data)"
    else
        log "not running"
    fi
}

cmd_resume() {
    local data pgbin port work
    data=$(datadir_of)
    [[ -f "$dir/port" && -d "$data" ]] || die "no instance in $dir"
    if pid_of "$data" >/dev/null; then
        cat "$dir/connection-string"
        return 0
    fi
    pgbin=$(find_pgbin)
    port=$(cat "$dir/port")
    work=$(dirname "$data")
    as_pg "$pgbin/pg_ctl" -D "$data" -l "$work/postgres.log" -w -t 60 \
        -o "$(server_opts "$port" "$(sockdir_of "$work")")" start >/dev/null 2>&1 ||
        { tail -n 30 "$work/postgres.log" >&2; die "could not start PostgreSQL again on port $port"; }
    log "resumed on 127.0.0.1:$port"
    cat "$dir/connection-string"
}

case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    pause) cmd_pause ;;
    resume) cmd_resume ;;
    *) usage ;;
esac
