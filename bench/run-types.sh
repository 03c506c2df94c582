#!/usr/bin/env bash
# Issue 15: a filtered, sorted first page on indexed metadata fields with an exact total, the product against the plain
# baseline service (bench/compare/Baseline, which answers the same query with count(*) and an expression index), one
# command:
#
#   bench/run-types.sh
#
# 1. Builds Release: the product from a clean export of HEAD (bench/compare/.run-types/src), the Baseline and LoadGen.
# 2. Starts one throwaway PostgreSQL (pg_stat_statements preloaded) with databases `product` and `baseline`.
# 3. Starts the product (PostgreSQL mode, API key of plan `bench`, rate limiter on) and the baseline with the same key.
# 4. Seeds the same TYPES_RESOURCES (100,000) resources of type `product` into one tenant of each, by SQL:
#    metadata {"category": "cat-0".."cat-9", "price": 0.00-999.99, "seq": n}.
# 5. Declares the type on the product AFTER seeding (`indexes`: category string, price number), so the product's own
#    re-index worker indexes the 100,000 existing resources; times it until the type's indexes are `ready`.
# 6. Checks that both answer alike (total, first page ids) for
#    GET /v1/resources?filter[type]=product&filter[metadata.category]=cat-3&sort=metadata.price&per_page=20
# 7. Drives that request at each with bench/LoadGen (TYPES_CONCURRENCY=32 connections, warm-up, fixed window), with
#    per-request SQL statements and CPU (bench/compare/snapshot.sh).
# Results: bench/results/types-latest.md (logs in bench/compare/.run-types/).
#
# Environment: TYPES_RESOURCES (100000), TYPES_CONCURRENCY (32), TYPES_WARMUP (10 s), TYPES_DURATION (10 s),
# TYPES_SETTLE (11 s), TYPES_NO_BUILD=1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CMP=$BENCH_DIR/compare
RUN=$CMP/.run-types
OUT=$BENCH_DIR/results/types-latest.md
COUNT=${TYPES_RESOURCES:-100000}
CONC=${TYPES_CONCURRENCY:-32}
WARMUP=${TYPES_WARMUP:-10}
DURATION=${TYPES_DURATION:-10}
SETTLE=${TYPES_SETTLE:-11}
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123

BENCH_NAME=run-types.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

mkdir -p "$RUN" "$BENCH_DIR/results"
rm -f "$RUN"/*.log "$RUN"/*.rows "$RUN"/*.out

SRC=$RUN/src
build_compare_set "$SRC" "${TYPES_NO_BUILD:-0}"
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

say "start PostgreSQL"
start_postgres "$RUN/postgres" product baseline

start_product "$SILO_BIN" product "$RUN/product.log" \
  RateLimits__Plans__bench__Limit=100000000 RateLimits__Plans__bench__WindowSeconds=60 \
  Plans__Catalog__bench__MaxResources=10000000 Plans__Catalog__bench__MaxApiKeys=100 Plans__Catalog__bench__MaxWebhooks=100 \
  Plans__Catalog__bench__MaxResourceTypes=100 Resources__IndexBuildPollInterval=00:00:01
ACCESS=$(admin_access_token) || die "admin login failed"
OWNER=$(curl -sf "$PRODUCT/v1/users/me" -H "Authorization: Bearer $ACCESS" | json data.id) || die "GET /v1/users/me failed"
KEY=$(curl -sf "$PRODUCT/v1/api-keys" -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
  -d '{"name":"types","plan":"bench"}' | json data.key) || die "creating the bench API key failed"
export BENCH_TOKEN=$KEY

start_baseline "ConnectionStrings__Baseline=$CS;Database=baseline"
psql -XAtq -d baseline -v ON_ERROR_STOP=1 -v key="$KEY" -v owner="$OWNER" >/dev/null <<'SQL'
INSERT INTO baseline_keys (key_hash, owner_id) VALUES (sha256(convert_to(:'key', 'UTF8')), :'owner');
SQL

say "seed $COUNT resources of type product into each (SQL)"
T_BASE=$(( $(date +%s) * 1000000 ))
ROWS_SQL="SELECT 'res_' || lpad(to_hex(g), 22, '0') AS id, 'item-' || lpad(g::text, 7, '0') AS name,
       'benchmark resource ' || g AS description, 'product' AS type,
       (ARRAY['active','active','active','inactive','archived'])[1 + g % 5] AS status,
       '{\"category\":\"cat-' || (g % 10) || '\",\"price\":' || round(((g::bigint * 7919) % 100000) / 100.0, 2) || ',\"seq\":' || g || '}' AS metadata,
       $T_BASE - ($COUNT - g) * 1000 AS t
FROM generate_series(1, $COUNT) g"
seed_product_sql "$ROWS_SQL" | psql -XAtq -d product -v ON_ERROR_STOP=1 -v owner="$OWNER" >/dev/null
seed_baseline_sql "$ROWS_SQL" | psql -XAtq -d baseline -v ON_ERROR_STOP=1 -v owner="$OWNER" >/dev/null

say "declare the type on the product; its re-index worker indexes the $COUNT existing resources"
t0=$(date +%s%N)
curl -sf "$PRODUCT/v1/resource-types" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"name":"product","indexes":[{"field":"category","type":"string"},{"field":"price","type":"number"}]}' >"$RUN/type.json" \
  || die "declaring the type failed"
BUILD_S=failed
for _ in $(seq 1 1200); do
  if curl -sf "$PRODUCT/v1/resource-types/product" -H "Authorization: Bearer $KEY" | grep -q '"status":"building"'; then
    sleep 0.5
  else
    BUILD_S=$(awk -v d=$(( ($(date +%s%N) - t0) / 1000000 )) 'BEGIN { printf "%.1f", d / 1000 }')
    break
  fi
done
[[ $BUILD_S != failed ]] || die "the indexes were not built within 10 minutes"
say "indexes ready after $BUILD_S s"
psql -XAtq -d product -c "VACUUM (ANALYZE) resources" -c "VACUUM (ANALYZE) resource_counts" >/dev/null

QUERY="/v1/resources?filter[type]=product&filter[metadata.category]=cat-3&sort=metadata.price&per_page=20"
CURL_QUERY="/v1/resources?filter%5Btype%5D=product&filter%5Bmetadata.category%5D=cat-3&sort=metadata.price&per_page=20"
for svc in product baseline; do
  base=$PRODUCT; [[ $svc == baseline ]] && base=$BASELINE
  curl -sf -H "Authorization: Bearer $KEY" "$base$CURL_QUERY" >"$RUN/first-$svc.json" || die "$svc did not answer the query"
done
python3 - "$RUN" "$COUNT" <<'PY' || die "the two services do not answer alike"
import json, sys
run, count = sys.argv[1], int(sys.argv[2])
p, b = (json.load(open(f"{run}/first-{s}.json")) for s in ("product", "baseline"))
expected = sum(1 for g in range(1, count + 1) if g % 10 == 3)
assert p["meta"]["total"] == expected == b["meta"]["total"], (p["meta"], b["meta"], expected)
assert [r["id"] for r in p["data"]] == [r["id"] for r in b["data"]], "first pages differ"
prices = [r["metadata"]["price"] for r in p["data"]]
assert prices == sorted(prices), prices
print(f"same answers: total {expected:,}, first page ids, prices {prices[0]}..{prices[-1]}", file=sys.stderr)
PY

psql -XAq -d product -c "EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM resources WHERE owner_id = '$OWNER' AND type = 'product' AND ix1 IS NOT NULL AND ix2 IS NOT NULL AND ix1 = '=cat-3' ORDER BY ix2, id LIMIT 21" \
  -c "EXPLAIN (ANALYZE, BUFFERS) SELECT COALESCE(SUM(n), 0) FROM resource_index_counts WHERE owner_id = '$OWNER' AND type = 'product' AND slot = 1 AND value IN ('=cat-3')" \
  -c "EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM resources WHERE owner_id = '$OWNER' AND type = 'product' AND ix1 IS NOT NULL AND ix1 = '=cat-3'" >"$RUN/plans.txt" 2>&1 || true

FAILED=0
bench() { # name base-url pid db table
  local name=$1 base=$2 pid=$3 db=$4 table=$5
  say "filtered first page: $name"
  CMP_PID=$pid CMP_PG_PID=$PG_PID CMP_TABLE=$table PGDATABASE=$db \
    loadgen run --base-url "$base" --name "$name" --path "$QUERY" --concurrency "$CONC" --warmup "$WARMUP" \
      --duration "$DURATION" --snapshot-cmd "$CMP/snapshot.sh" --settle "$SETTLE" --results "$RUN/$name.rows" \
    | tee "$RUN/$name.out" >&2 || { FAILED=1; echo "!! $name had errors" >&2; }
}
bench product "$PRODUCT" "$P_PID" product resources
bench baseline "$BASELINE" "$B_PID" baseline baseline_resources

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
python3 - "$RUN" "$OUT" <<PY
import sys
run, out = sys.argv[1], sys.argv[2]
def row(svc):
    cells = [c.strip() for c in open(f"{run}/{svc}.rows").read().strip().split("|")[1:-1]]
    return dict(req=cells[2], errors=int(cells[3]), rps=float(cells[4]), p50=float(cells[5]), p99=float(cells[7]),
                stmts=cells[9], cpu=cells[11], other=cells[12] if len(cells) > 12 else "–")
p, b = row("product"), row("baseline")
lines = ["| service | req/s | p50 ms | p99 ms | errors | SQL stmts/req | CPU ms/req service / PG / loadgen | other load (cores) |",
         "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
for name, r in (("product", p), ("baseline", b)):
    lines.append(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {r['stmts']} | {r['cpu']} | {r['other']} |")
verdict = "met" if p["p99"] <= 50 and p["errors"] == 0 else "MISSED"
with open(out, "w") as f:
    f.write("# Indexed metadata fields: filtered, sorted first page with exact total (latest run)\n\n")
    f.write("Written by \`bench/run-types.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/README.md.\n\n")
    f.write("- Product: commit ${COMMIT:0:7} (clean export of HEAD), PostgreSQL mode, API key of plan \`bench\`, rate limiter on\n")
    f.write("- Machine: $(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM, shared; load average before: $LOADAVG\n")
    f.write("- PostgreSQL $PG_VERSION ($PG_SETTINGS)\n")
    f.write("- $COUNT resources of type \`product\` in one tenant of each; $CONC connections; warm-up ${WARMUP} s, measured ${DURATION} s\n")
    f.write("- Query: \`GET $QUERY\` (10 % of the rows match; exact total 1 in 10)\n")
    f.write(f"- Product re-index of the $COUNT existing resources after declaring the type: $BUILD_S s\n\n")
    f.write("\n".join(lines) + "\n\n")
    f.write(f"| target | measured | verdict |\n| --- | --- | --- |\n| product p99 ≤ 50 ms at $CONC connections | {p['p99']:.1f} ms ({p['rps'] / b['rps'] if b['rps'] else float('nan'):.2f}× the baseline's req/s) | {verdict} |\n\n")
    f.write("Plans of the product's page query, of the total it uses (counters: one equality filter), and of the index count it would use for a range:\n\n\`\`\`\n" + open(f"{run}/plans.txt").read() + "\`\`\`\n")
print(open(out).read())
PY
say "done; results in ${OUT#"$ROOT"/}"
[[ $FAILED == 0 ]] || die "some steps had errors (see above)"
