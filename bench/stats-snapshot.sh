#!/usr/bin/env bash
# Prints counters as key=value pairs for bench/LoadGen's --snapshot-cmd (deltas are taken by LoadGen):
#   stmts         statements executed in the benchmark database (pg_stat_statements calls; exact and immediate),
#                 not counting this script's own queries
#   res_stmts     of those, statements that name table `resources`
#   xacts         pg_stat_database.xact_commit + xact_rollback of the benchmark database
#   tup_returned  pg_stat_database.tup_returned, tup_fetched likewise
#   res_scans     pg_stat_user_tables.seq_scan + idx_scan of table `resources`
#   res_rows      rows those scans read (seq_tup_read + idx_tup_fetch)
#   silo_cpu_ms   user+system CPU of the silo process (BENCH_SILO_PID)
#   busy_cpu_ms   CPU time the whole machine spent busy (all processes, /proc/stat), to spot outside load
#   pg_cpu_ms     user+system CPU of the PostgreSQL postmaster (BENCH_PG_PID), its live children and reaped ones
# The pg_stat_database / pg_stat_user_tables figures are flushed by each backend at most once a second and, once a
# backend is idle, up to 10 s later (PostgreSQL 15): read them after 11 s of quiet. pg_stat_statements has no lag.
# Needs PGHOST, PGPORT, PGUSER, PGDATABASE in the environment (set by run-resources.sh). Read-only.
set -euo pipefail

read -r stmts res_stmts xacts tup_returned tup_fetched res_scans res_rows < <(psql -XAtq -F' ' -c "
  WITH s AS (SELECT calls, query FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%')
  SELECT (SELECT COALESCE(SUM(calls), 0) FROM s), (SELECT COALESCE(SUM(calls), 0) FROM s WHERE query ~ '\\mresources\\M'),
         d.xact_commit + d.xact_rollback, d.tup_returned, d.tup_fetched,
         COALESCE(t.seq_scan, 0) + COALESCE(t.idx_scan, 0), COALESCE(t.seq_tup_read, 0) + COALESCE(t.idx_tup_fetch, 0)
  FROM pg_stat_database d LEFT JOIN pg_stat_user_tables t ON t.relname = 'resources'
  WHERE d.datname = current_database()")

tck=$(getconf CLK_TCK)
# /proc/<pid>/stat: fields after the ")" that closes the command name; utime=14 stime=15 cutime=16 cstime=17.
ticks() { # pid [with_children]
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  # shellcheck disable=SC2086
  set -- $rest "${2:-0}"
  local with_children=${!#}
  if [[ $with_children == 1 ]]; then echo $(( ${12} + ${13} + ${14} + ${15} )); else echo $(( ${12} + ${13} )); fi
}

silo=0
if [[ -n "${BENCH_SILO_PID:-}" ]]; then silo=$(ticks "$BENCH_SILO_PID"); fi
pg=0
if [[ -n "${BENCH_PG_PID:-}" ]]; then
  pg=$(ticks "$BENCH_PG_PID" 1)
  for child in $(pgrep -P "$BENCH_PG_PID" || true); do
    pg=$(( pg + $(ticks "$child") ))
  done
fi

# /proc/stat "cpu" line: user nice system idle iowait irq softirq steal ...; busy = all but idle and iowait.
read -r _ u n sy _ _ irq sirq st _ </proc/stat
busy=$(( u + n + sy + irq + sirq + st ))

echo "busy_cpu_ms=$(( busy * 1000 / tck ))" \
  "stmts=$stmts res_stmts=$res_stmts xacts=$xacts tup_returned=$tup_returned tup_fetched=$tup_fetched res_scans=$res_scans res_rows=$res_rows" \
  "silo_cpu_ms=$(( silo * 1000 / tck )) pg_cpu_ms=$(( pg * 1000 / tck ))"
