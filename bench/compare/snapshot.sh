#!/usr/bin/env bash
# Counters for bench/LoadGen's --snapshot-cmd during bench/run-compare.sh (LoadGen takes the deltas), as key=value:
#   stmts / res_stmts  pg_stat_statements calls in database $PGDATABASE (all / naming table $CMP_TABLE)
#   xacts              pg_stat_database xact_commit + xact_rollback of $PGDATABASE (flushed up to 10 s late: settle 11 s)
#   tup_returned, tup_fetched, res_scans, res_rows   pg_stat_database / pg_stat_user_tables of $CMP_TABLE
#   silo_cpu_ms        user+system CPU of the service under test ($CMP_PID: the product's silo OR the baseline)
#   pg_cpu_ms          CPU of the PostgreSQL postmaster ($CMP_PG_PID), its children and reaped children
#   busy_cpu_ms        whole machine busy CPU (/proc/stat)
#   rss_kb             VmRSS of the service under test
#   with CMP_METRICS_URL (the product's /metrics, bench/run-tenants.sh): key_cache_hits / key_cache_misses (the
#   API-key cache's lookups), activations (Orleans' grain activations on the silo), gc_pause_ms (the runtime's total
#   GC pause time) and gc0 / gc1 / gc2 (collections per generation)
# Read-only. Needs CMP_PID, and for PostgreSQL PGHOST, PGPORT, PGUSER, PGDATABASE, CMP_TABLE, CMP_PG_PID (empty: none).
set -euo pipefail
stmts=0 res_stmts=0 xacts=0 tup_returned=0 tup_fetched=0 res_scans=0 res_rows=0
if [[ -n ${CMP_PG_PID:-} ]]; then  # empty in bench/run-compare.sh --embedded: no PostgreSQL
read -r stmts res_stmts xacts tup_returned tup_fetched res_scans res_rows < <(psql -XAtq -F' ' -v t="$CMP_TABLE" <<'SQL'
WITH s AS (SELECT calls, query FROM pg_stat_statements
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%')
SELECT (SELECT COALESCE(SUM(calls), 0) FROM s), (SELECT COALESCE(SUM(calls), 0) FROM s WHERE query ~ ('\m' || :'t' || '\M')),
       d.xact_commit + d.xact_rollback, d.tup_returned, d.tup_fetched,
       COALESCE(t.seq_scan, 0) + COALESCE(t.idx_scan, 0), COALESCE(t.seq_tup_read, 0) + COALESCE(t.idx_tup_fetch, 0)
FROM pg_stat_database d LEFT JOIN pg_stat_user_tables t ON t.relname = :'t'
WHERE d.datname = current_database();
SQL
)
fi
tck=$(getconf CLK_TCK)
ticks() { # pid; WITH_CHILDREN=1 adds reaped children
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  # shellcheck disable=SC2086
  set -- $rest
  if [[ "${WITH_CHILDREN:-0}" == 1 ]]; then echo $(( ${12} + ${13} + ${14} + ${15} )); else echo $(( ${12} + ${13} )); fi
}
svc=$(ticks "$CMP_PID")
pg=0
if [[ -n ${CMP_PG_PID:-} ]]; then
  pg=$(WITH_CHILDREN=1 ticks "$CMP_PG_PID")
  for child in $(pgrep -P "$CMP_PG_PID" || true); do pg=$(( pg + $(ticks "$child") )); done
fi
metrics=
if [[ -n ${CMP_METRICS_URL:-} ]]; then
  metrics=$(curl -sf --max-time 5 "$CMP_METRICS_URL" | awk '
    /^apiplatform_api_key_cache_lookups_total\{.*result="hit"/ { hits += $NF }
    /^apiplatform_api_key_cache_lookups_total\{.*result="miss"/ { misses += $NF }
    /^orleans_catalog_activations(\{| )/ { activations += $NF }
    /^dotnet_gc_pause_time_seconds_total(\{| )/ { pause += $NF }
    /^dotnet_gc_collections_total\{.*gc_heap_generation="gen0"/ { gc0 += $NF }
    /^dotnet_gc_collections_total\{.*gc_heap_generation="gen1"/ { gc1 += $NF }
    /^dotnet_gc_collections_total\{.*gc_heap_generation="gen2"/ { gc2 += $NF }
    END { printf "key_cache_hits=%d key_cache_misses=%d activations=%d gc_pause_ms=%d gc0=%d gc1=%d gc2=%d", hits, misses, activations, pause * 1000, gc0, gc1, gc2 }')
fi
read -r _ u n sy _ _ irq sirq st _ </proc/stat
echo "busy_cpu_ms=$(( (u + n + sy + irq + sirq + st) * 1000 / tck ))" \
  "stmts=$stmts res_stmts=$res_stmts xacts=$xacts tup_returned=$tup_returned tup_fetched=$tup_fetched res_scans=$res_scans res_rows=$res_rows" \
  "silo_cpu_ms=$(( svc * 1000 / tck )) pg_cpu_ms=$(( pg * 1000 / tck ))" \
  "rss_kb=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$CMP_PID/status" 2>/dev/null || echo 0)" $metrics
