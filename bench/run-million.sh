#!/usr/bin/env bash
# Issue 19, item 3 (and item 5's 1,000,000-row embedded database): a million resources in one tenant, the product
# against the plain baseline service (bench/compare/Baseline) side by side in one run on the same rows:
#
#   flock /tmp/bench.lock bench/run-million.sh              # PostgreSQL: the product vs. ASP.NET Core + Npgsql
#   flock /tmp/bench.lock bench/run-million.sh --embedded   # the embedded default (SQLite) vs. ASP.NET Core + Microsoft.Data.Sqlite
#
# 1. Builds Release like bench/run-compare.sh (the product from a clean export of HEAD, shared with it; Baseline, LoadGen).
# 2. PostgreSQL mode: one throwaway PostgreSQL (pg_stat_statements preloaded), databases `product` and `baseline`.
#    Embedded: no PostgreSQL; the product with no connection string (SQLite in a fresh data directory), the baseline on
#    its own SQLite file (WAL, pooled connections).
# 3. The product with real API-key auth and the rate limiter on (plan `bench`, never refusing); the baseline gets the
#    same key's SHA-256.
# 4. Seeds MIL_RESOURCES (1,000,000) resources into the one tenant of each by SQL, same ids, fields and µs timestamps
#    (1 ms apart, the newest "now"): type one of 4, status 60 % active / 30 % inactive / 10 % archived (g % 10).
#    PostgreSQL: the product's bulk insert skips its triggers (replication role) and writes resource_counts once from
#    the same rows, as bench/run-compare.sh does. SQLite: the product is stopped while both files are filled (one
#    sqlite3 transaction each; the product's row triggers keep its counters), then started again.
# 5. The cursor 50,000 rows deep is obtained honestly from each service: LoadGen `walk` follows meta.next_cursor for
#    MIL_DEPTH / 100 + 1 pages of 100 (timed, reported), checks its last page equals the same page by offset, and
#    keeps the cursor that page was fetched with (the one after MIL_DEPTH rows).
# 6. Checks that both answer alike for the three requests (total, ids of the page), and that the deep page holds the
#    rows MIL_DEPTH + 1 … MIL_DEPTH + 20 of the seed.
# 7. Drives each request at each service with LoadGen, MIL_CONCURRENCY (32) connections, warm-up MIL_WARMUP, measured
#    MIL_DURATION s, product then baseline:
#      first     GET /v1/resources?per_page=20                                    (exact total)
#      filtered  GET /v1/resources?per_page=20&filter[status]=archived            (exact total; 10 % match)
#      deep      GET /v1/resources?per_page=20&cursor=<next_cursor after 50,000>  (exact total)
#    with p50/p99/p99.9, errors, SQL statements per request (PostgreSQL), CPU ms per request of service / PostgreSQL /
#    load generator and the machine's other load (bench/compare/snapshot.sh).
# 8. The plans of the statements each service runs (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN + timing on
#    SQLite) and, on PostgreSQL, what pg_stat_statements recorded for the product.
# Results: bench/compare/results-million[-embedded]-latest.md, .csv and the charts (bench/plot.sh); logs, plans and
# statements in bench/compare/.run-million/.
#
# Environment: MIL_RESOURCES (1000000), MIL_DEPTH (50000), MIL_CONCURRENCY (32), MIL_WARMUP (5), MIL_DURATION (20),
# MIL_SETTLE (11; 2 embedded), MIL_NO_BUILD=1, MIL_PRODUCT_ENV (extra NAME=VALUE settings for the product), MIL_OUT.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CMP=$BENCH_DIR/compare
RUN=$CMP/.run-million
EMBEDDED=0
[[ "${1:-}" != --embedded ]] || EMBEDDED=1
SUFFIX=
[[ $EMBEDDED == 0 ]] || SUFFIX=-embedded
OUT=${MIL_OUT:-$CMP/results-million$SUFFIX-latest.md}
COUNT=${MIL_RESOURCES:-1000000}
DEPTH=${MIL_DEPTH:-50000}
CONC=${MIL_CONCURRENCY:-32}
WARMUP=${MIL_WARMUP:-5}
DURATION=${MIL_DURATION:-20}
SETTLE=${MIL_SETTLE:-$([[ $EMBEDDED == 1 ]] && echo 2 || echo 11)}
read -r -a PRODUCT_ENV <<<"${MIL_PRODUCT_ENV:-}"
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
(( DEPTH % 100 == 0 && DEPTH + 20 <= COUNT )) || { echo "run-million.sh: MIL_DEPTH must be a multiple of 100 below MIL_RESOURCES" >&2; exit 2; }

BENCH_NAME=run-million.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
mkdir -p "$RUN"
rm -f "$RUN"/*.log "$RUN"/*.rows "$RUN"/*.out "$RUN"/*.json "$RUN"/*.txt

# ------------------------------------------------------------------ build (the export bench/run-compare.sh uses)
SRC=$CMP/.run/src
build_compare_set "$SRC" "${MIL_NO_BUILD:-0}"
UPTIME_BEFORE=$(uptime)

# ------------------------------------------------------------------ storage
PRODUCT_SETTINGS=(
  RateLimits__Plans__bench__Limit=100000000 RateLimits__Plans__bench__WindowSeconds=60
  Plans__Catalog__bench__MaxResources=10000000 Plans__Catalog__bench__MaxApiKeys=100 Plans__Catalog__bench__MaxWebhooks=100
)
start_storage

start_product "$SILO_BIN" "$PRODUCT_DB" "$RUN/product.log" "${PRODUCT_SETTINGS[@]}" "${PRODUCT_ENV[@]}"
admin_api_key million
start_baseline "$BASELINE_CS"
register_baseline_key

# ------------------------------------------------------------------ seed the same rows into both
say "seed $COUNT resources into one tenant of each (SQL)"
T_BASE=$(( $(date +%s) * 1000000 ))
T_SEED=$SECONDS
# Status by g % 10: 0-5 active, 6-8 inactive, 9 archived (the filtered page's 10 %).
if [[ $EMBEDDED == 1 ]]; then
  stop_pid "$P_PID"   # the product is not writing while a million rows go into its file
  ROWS_SQL="WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < $COUNT)
  SELECT 'res_' || printf('%022x', g) AS id, 'seed-' || printf('%07d', g) AS name, 'benchmark resource ' || g AS description,
         CASE g % 4 WHEN 0 THEN 'standard' WHEN 1 THEN 'document' WHEN 2 THEN 'dataset' ELSE 'model' END AS type,
         CASE WHEN g % 10 < 6 THEN 'active' WHEN g % 10 < 9 THEN 'inactive' ELSE 'archived' END AS status,
         '{\"seq\":' || g || ',\"tags\":[\"bench\",\"seed\"],\"owner\":{\"team\":\"perf\"}}' AS metadata,
         $T_BASE - ($COUNT - g) * 1000 AS t
  FROM n"
  seed_sqlite_sql resources "$ROWS_SQL" | sql_in product
  seed_sqlite_sql baseline_resources "$ROWS_SQL" | sql_in baseline
  start_product "$SILO_BIN" "$PRODUCT_DB" "$RUN/product.log" "${PRODUCT_SETTINGS[@]}" "${PRODUCT_ENV[@]}"
else
  ROWS_SQL="SELECT 'res_' || lpad(to_hex(g), 22, '0') AS id, 'seed-' || lpad(g::text, 7, '0') AS name,
         'benchmark resource ' || g AS description,
         (ARRAY['standard','document','dataset','model'])[1 + g % 4] AS type,
         CASE WHEN g % 10 < 6 THEN 'active' WHEN g % 10 < 9 THEN 'inactive' ELSE 'archived' END AS status,
         '{\"seq\":' || g || ',\"tags\":[\"bench\",\"seed\"],\"owner\":{\"team\":\"perf\"}}' AS metadata,
         $T_BASE - ($COUNT - g) * 1000 AS t
  FROM generate_series(1, $COUNT) g"
  seed_product_sql "$ROWS_SQL" | sql_in product
  seed_baseline_sql "$ROWS_SQL" | sql_in baseline
fi
SEED_S=$((SECONDS - T_SEED))
say "seeded in $SEED_S s"

# ------------------------------------------------------------------ the cursor 50,000 deep, walked by each
declare -A CURSOR
for svc in product baseline; do
  base=$PRODUCT; [[ $svc == baseline ]] && base=$BASELINE
  # LoadGen prints the cursor its last page was fetched with: walking DEPTH/100 + 1 pages, the one after DEPTH rows.
  say "$svc: walk $((DEPTH / 100 + 1)) pages of 100 by next_cursor"
  CURSOR[$svc]=$(loadgen walk --base-url "$base" --pages $((DEPTH / 100 + 1)) --per-page 100 --results "$RUN/walk.$svc.rows" \
    2> >(tee "$RUN/walk.$svc.out" >&2)) || die "$svc: the walk failed (see above)"
done

FIRST="/v1/resources?per_page=20"
FILTERED="/v1/resources?per_page=20&filter[status]=archived"
deep() { echo "/v1/resources?per_page=20&cursor=${CURSOR[$1]}"; }
for svc in product baseline; do
  base=$PRODUCT; [[ $svc == baseline ]] && base=$BASELINE
  curl -sfg -H "Authorization: Bearer $KEY" "$base$FIRST" >"$RUN/first-$svc.json" || die "$svc: first page failed"
  curl -sfg -H "Authorization: Bearer $KEY" "$base$FILTERED" >"$RUN/filtered-$svc.json" || die "$svc: filtered page failed"
  curl -sfg -H "Authorization: Bearer $KEY" "$base$(deep "$svc")" >"$RUN/deep-$svc.json" || die "$svc: deep page failed"
done
python3 - "$RUN" "$COUNT" "$DEPTH" <<'PY' || die "the two services do not answer alike"
import json, sys
run, count, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rid = lambda g: "res_%022x" % g
expected = {  # newest first: row k (1-based) of the list is g = count + 1 - k
    "first": (count, [rid(count + 1 - k) for k in range(1, 21)]),
    "filtered": (sum(1 for g in range(1, count + 1) if g % 10 == 9), [rid(g) for g in range(count, 0, -1) if g % 10 == 9][:20]),
    "deep": (count, [rid(count + 1 - k) for k in range(depth + 1, depth + 21)]),
}
for name, (total, ids) in expected.items():
    for svc in ("product", "baseline"):
        page = json.load(open(f"{run}/{name}-{svc}.json"))
        assert page["meta"]["total"] == total, (name, svc, page["meta"], total)
        assert [r["id"] for r in page["data"]] == ids, (name, svc, [r["id"] for r in page["data"]][:3], ids[:3])
        assert page["meta"]["next_cursor"], (name, svc, "no next_cursor")
    assert set(json.load(open(f"{run}/{name}-product.json"))["meta"]) == set(json.load(open(f"{run}/{name}-baseline.json"))["meta"])
print(f"same answers: first page (total {count:,}), filtered page (total {expected['filtered'][0]:,}), "
      f"page {depth:,} rows deep by cursor (ids {expected['deep'][1][0]}…)", file=sys.stderr)
PY

# ------------------------------------------------------------------ load
FAILED=0
DB_PRODUCT=product DB_BASELINE=baseline
[[ $EMBEDDED == 0 ]] || DB_PRODUCT= DB_BASELINE=
statements() { # db file: what the database executed since the last reset, by total time
  [[ $EMBEDDED == 0 ]] || return 0
  psql -XAq -d "$1" -F ' | ' -P footer=off -c "
    SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms, round(max_exec_time::numeric, 2) AS max_ms, rows,
           left(regexp_replace(query, '\s+', ' ', 'g'), 400) AS query
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%pg_stat%' ORDER BY total_exec_time DESC LIMIT 8" >"$2" 2>&1 || true
}
bench() { # svc-name base-url pid db table label path
  local name=$1 base=$2 pid=$3 db=$4 table=$5 label=$6 path=$7
  say "$label: $name"
  [[ $EMBEDDED == 1 ]] || psql -XAtq -d "$db" -c "SELECT pg_stat_statements_reset()" >/dev/null
  CMP_PID=$pid CMP_PG_PID=$PG_PID CMP_TABLE=$table PGDATABASE=$db \
    loadgen run --base-url "$base" --name "$name" --path "$path" --concurrency "$CONC" --warmup "$WARMUP" \
      --duration "$DURATION" --snapshot-cmd "$CMP/snapshot.sh" --settle "$SETTLE" --results "$RUN/$label.$name.rows" \
    | tee "$RUN/$label.$name.out" | tee -a "$RUN/bench.log" >&2 || { FAILED=1; echo "!! $label: $name had errors" >&2; }
  statements "$db" "$RUN/statements-$label-$name.txt"
}
for label in first filtered deep; do
  case $label in
    first) path_p=$FIRST path_b=$FIRST ;;
    filtered) path_p=$FILTERED path_b=$FILTERED ;;
    deep) path_p=$(deep product) path_b=$(deep baseline) ;;
  esac
  bench product "$PRODUCT" "$P_PID" "$DB_PRODUCT" resources "$label" "$path_p"
  bench baseline "$BASELINE" "$B_PID" "$DB_BASELINE" baseline_resources "$label" "$path_b"
done
UPTIME_AFTER=$(uptime)
P_RSS=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$P_PID/status")
B_RSS=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$B_PID/status")

# ------------------------------------------------------------------ plans of what each service runs
# The product's statements as ResourceStore.QueryAsync writes them (page: LIMIT per_page + 1; total: the counters), the
# baseline's as it writes them; the keyset values are the deep page's first row's predecessor (row DEPTH of the seed).
G_DEEP=$((COUNT - DEPTH + 1))
T_DEEP=$((T_BASE - (COUNT - G_DEEP) * 1000))
ID_DEEP=res_$(printf '%022x' "$G_DEEP")
COLS="id, owner_id, name, description, type, status, metadata, created_at, updated_at, version"
if [[ $EMBEDDED == 1 ]]; then
  for svc in product baseline; do
    file=$RUN/embedded-data/platform.db table=resources
    [[ $svc == baseline ]] && file=$RUN/baseline.db table=baseline_resources
    {
      echo "== $svc ($table)"
      for q in \
        "SELECT $COLS FROM $table WHERE owner_id = '$OWNER' ORDER BY created_at DESC, id DESC LIMIT 21" \
        "SELECT $COLS FROM $table WHERE owner_id = '$OWNER' AND status = 'archived' ORDER BY created_at DESC, id DESC LIMIT 21" \
        "SELECT $COLS FROM $table WHERE owner_id = '$OWNER' AND (created_at, id) < ($T_DEEP, '$ID_DEEP') ORDER BY created_at DESC, id DESC LIMIT 21" \
        "$([[ $svc == product ]] && echo "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = '$OWNER' AND status = 'archived'" \
                                 || echo "SELECT count(*) FROM baseline_resources WHERE owner_id = '$OWNER' AND status = 'archived'")" \
        "$([[ $svc == product ]] && echo "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = '$OWNER'" \
                                 || echo "SELECT count(*) FROM baseline_resources WHERE owner_id = '$OWNER'")"; do
        echo "-- $q"
        # The timer reports only for statements read from standard input; the second run is the warm one.
        printf '.timeout 30000\nEXPLAIN QUERY PLAN %s;\n.timer on\n%s;\n%s;\n' "$q" "$q" "$q" | sqlite3 "$file" | grep -vE '^res_|^[0-9]+$' || true
      done
    } >>"$RUN/plans.txt" 2>&1
  done
else
  {
    psql -XAq -d product \
      -c "EXPLAIN (ANALYZE, BUFFERS) SELECT $COLS FROM resources WHERE owner_id = '$OWNER' ORDER BY created_at DESC, id DESC LIMIT 21" \
      -c "EXPLAIN (ANALYZE, BUFFERS) SELECT $COLS FROM resources WHERE owner_id = '$OWNER' AND status = 'archived' ORDER BY created_at DESC, id DESC LIMIT 21" \
      -c "EXPLAIN (ANALYZE, BUFFERS) SELECT $COLS FROM resources WHERE owner_id = '$OWNER' AND (created_at, id) < ($T_DEEP, '$ID_DEEP') ORDER BY created_at DESC, id DESC LIMIT 21" \
      -c "EXPLAIN (ANALYZE, BUFFERS) SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = '$OWNER' AND status = 'archived'"
    psql -XAq -d baseline \
      -c "EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM baseline_resources WHERE owner_id = '$OWNER'" \
      -c "EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM baseline_resources WHERE owner_id = '$OWNER' AND status = 'archived'"
  } >"$RUN/plans.txt" 2>&1 || true
fi
stop_pid "$P_PID"
stop_pid "$B_PID"

# ------------------------------------------------------------------ report
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export RUN OUT COUNT DEPTH CONC WARMUP DURATION EMBEDDED SEED_S UPTIME_BEFORE UPTIME_AFTER COMMIT P_RSS B_RSS
export MACHINE="$(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM" DOTNET_VERSION="$(dotnet --version)" \
  WHEN="$(date -u '+%Y-%m-%d %H:%M UTC')" EXTRA="${MIL_PRODUCT_ENV:-}" \
  STORAGE="$([[ $EMBEDDED == 1 ]] && echo "SQLite $(sqlite3 --version | cut -d' ' -f1) (WAL, both services)" || echo "PostgreSQL ${PG_VERSION:-} (${PG_SETTINGS:-})")"
python3 - <<'PY'
import os, re
e = os.environ
run, out, embedded = e["RUN"], e["OUT"], e["EMBEDDED"] == "1"
def row(label, svc):
    cells = [c.strip() for c in open(f"{run}/{label}.{svc}.rows").read().strip().split("|")[1:-1]]
    return dict(req=int(cells[2].replace(",", "")), errors=int(cells[3]), rps=float(cells[4]), p50=float(cells[5]),
                p99=float(cells[7]), p999=float(cells[-1]), stmts=cells[9], cpu=cells[11], other=cells[12],
                cpu_total=sum(float(x) for x in cells[11].split("/")))
def walk(svc):
    text = open(f"{run}/walk.{svc}.out").read()
    m = re.search(r"walk: (\d+) pages by cursor in ([\d.]+) s; per page p50 ([\d.]+) ms, p99 ([\d.]+) ms", text)
    return f"{m.group(1)} pages in {m.group(2)} s (p50 {m.group(3)} ms, p99 {m.group(4)} ms per page)" if m else "–"
depth, count = int(e["DEPTH"]), int(e["COUNT"])
titles = {"first": "first page, exact total", "filtered": "filter[status]=archived, exact total",
          "deep": f"cursor page {depth:,} rows deep"}
short = {"first": "first page", "filtered": "filter[status]", "deep": f"cursor {depth // 1000}k deep"}
lines = [f"| request | service | req/s | p50 ms | p99 ms | p99.9 ms | errors | SQL stmts/req | CPU ms/req service / {'–' if embedded else 'PG'} / loadgen | CPU ms/req total | other load (cores) |",
         "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
csv = ["scenario,service,rps,p50,p99,p999"]
got = {}
for label, title in titles.items():
    for svc in ("product", "baseline"):
        r = got[label, svc] = row(label, svc)
        lines.append(f"| {title} | {svc} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p999']:.2f} | {r['errors']} | {r['stmts'] if not embedded else '–'} | {r['cpu']} | {r['cpu_total']:.2f} | {r['other']} |")
        csv.append(f"{short[label]},{svc},{r['rps']:.0f},{r['p50']:.2f},{r['p99']:.2f},{r['p999']:.2f}")
verdict = lambda ok: "met" if ok else "MISSED"
p = {label: got[label, "product"] for label in titles}
b = {label: got[label, "baseline"] for label in titles}
targets = []
for label in ("first", "filtered"):
    targets.append(f"| {titles[label]}: product p99 ≤ 50 ms | {p[label]['p99']:.1f} ms (p50 {p[label]['p50']:.1f}; {p[label]['rps'] / b[label]['rps']:.2f}× the baseline's req/s, baseline p99 {b[label]['p99']:.1f} ms) | {verdict(p[label]['p99'] <= 50 and p[label]['errors'] == 0)} |")
d, f = p["deep"], p["first"]
targets.append(f"| {titles['deep']}: within 2× the first page (p50 and p99) | p50 {d['p50']:.1f} vs {f['p50']:.1f} ms ({d['p50'] / f['p50']:.2f}×), p99 {d['p99']:.1f} vs {f['p99']:.1f} ms ({d['p99'] / f['p99']:.2f}×); {d['rps'] / b['deep']['rps']:.2f}× the baseline's req/s | {verdict(d['p50'] <= 2 * f['p50'] and d['p99'] <= 2 * f['p99'] and d['errors'] == 0)} |")
kind = "the embedded default (SQLite, no PostgreSQL) vs. ASP.NET Core + Microsoft.Data.Sqlite" if embedded else "PostgreSQL mode vs. ASP.NET Core + Npgsql"
with open(out, "w") as fh:
    fh.write(f"# A million rows in one tenant: {kind}, latest run\n\n")
    fh.write(f"Written by `bench/run-million.sh{' --embedded' if embedded else ''}` on {e['WHEN']}; see bench/README.md (issue 19, item {'5' if embedded else '3'}).\n\n")
    fh.write(f"- Product: commit {e['COMMIT'][:7]} (clean export of HEAD), API key of plan `bench`, rate limiter on{'; extra settings: ' + e['EXTRA'] if e['EXTRA'] else ''}\n")
    fh.write(f"- Machine: {e['MACHINE']}, shared by load generator, product, baseline{'' if embedded else ' and PostgreSQL'}; .NET SDK {e['DOTNET_VERSION']}, {e['STORAGE']}\n")
    fh.write(f"- uptime before: `{e['UPTIME_BEFORE'].strip()}`; after: `{e['UPTIME_AFTER'].strip()}`\n")
    fh.write(f"- {count:,} resources in one tenant of each (60 % active, 30 % inactive, 10 % archived), seeded by SQL in {e['SEED_S']} s; {e['CONC']} connections, warm-up {e['WARMUP']} s, measured {e['DURATION']} s per row; VmRSS at the end: product {int(e['P_RSS']) / 1024:.0f} MiB, baseline {int(e['B_RSS']) / 1024:.0f} MiB\n")
    fh.write(f"- The deep cursor, walked by next_cursor at 100 a page: product {walk('product')}; baseline {walk('baseline')}\n\n")
    fh.write("\n".join(lines) + "\n\n| target | measured | verdict |\n| --- | --- | --- |\n" + "\n".join(targets) + "\n")
open(out[:-3] + ".csv", "w").write("\n".join(csv) + "\n")
print(open(out).read())
PY
# Log scale: the baseline's count(*) over a million rows puts it hundreds of times from the product.
PLOT_LOG=1 "$BENCH_DIR/plot.sh" "${OUT%.md}.csv" "${OUT%.md}" "$COUNT rows in one tenant, $([[ $EMBEDDED == 1 ]] && echo "embedded (SQLite)" || echo PostgreSQL), $CONC connections" ||
  echo "!! plotting failed (the tables above stand)" >&2
say "done; results in ${OUT#"$ROOT"/}; plans in ${RUN#"$ROOT"/}/plans.txt"
[[ $FAILED == 0 ]] || die "some steps had errors (see above)"
