#!/usr/bin/env bash
# Issue 19, item 2: many tenants. The product against the plain ASP.NET Core + Npgsql service (bench/compare/Baseline),
# side by side in one run on the same data:
#
#   flock /tmp/bench.lock bench/run-tenants.sh
#
# 1. Builds Release like bench/run-compare.sh (the product from a clean export of HEAD, shared with it; LoadGen).
# 2. One throwaway PostgreSQL with databases `product` and `baseline`; the product in PostgreSQL mode with real API-key
#    auth and the rate limiter on (every user is on plan `bench`, limit 10^8 per window: each request is still charged
#    to its key's rate-limit grain) and activation collection after TEN_AGE idle (Orleans:ActivationCollection).
# 3. TEN_USERS accounts through the product's API (POST /v1/auth/register, then POST /v1/api-keys with the user's token:
#    LoadGen `tenants`), so users, keys and their grains are exactly what the API makes. Tenant r (r = 1..TEN_USERS, by
#    popularity) owns floor(TEN_MAX / r^e) resources, e chosen so the counts run from TEN_MAX down to TEN_MIN (Zipf by
#    rank; 10,000 tenants: 1,000 … 10, ~197,000 rows), inserted by SQL into both services with the same ids, fields and
#    timestamps (the product's statement triggers keep its counters, as for any insert). The baseline gets each key's
#    SHA-256. The first page's total and ids and one resource are compared between the two for TEN_CHECK tenants.
#    The accounts take minutes (a PBKDF2 hash each): with TEN_SEED_CACHE=1 (default) both databases are kept as
#    pg_dump files under bench/compare/.run-tenants/seed-* and restored by later runs with the same parameters.
# 4. The mixed load on each service, product then baseline: TEN_CONCURRENCY connections, tenants chosen Zipf-wise
#    (exponent TEN_ZIPF over popularity rank), 80 % GET one (a random seeded resource of the tenant), 15 % first page
#    (per_page=20, exact total), 5 % create, each request with its tenant's own key; warm-up TEN_WARMUP s, measured
#    TEN_DURATION s, TEN_ROUNDS times in a row per service (the first minute of a fresh silo, then the next; the
#    product's statements per round in statements-mixed-N-product.txt). Per request: CPU of service / PostgreSQL / load generator and the machine's other load
#    (bench/compare/snapshot.sh); for the product also the API-key cache's hits and misses, grain activations and RSS
#    (its /metrics and /proc).
# 5. The cold path: once every activation of the mixed load is older than TEN_AGE plus a collection quantum (the
#    product's activation count is followed until it has fallen), the first request (GET one) of TEN_COLD tenants spread
#    over all ranks, each once, TEN_COLD_CONCURRENCY at a time; the same requests to the baseline.
#    The statements the product ran for those requests: bench/compare/.run-tenants/statements-cold-product.txt.
# Results: bench/compare/results-tenants-latest.md, .csv and the charts (bench/plot.sh); logs in bench/compare/.run-tenants.
#
# Environment: TEN_USERS (10000), TEN_MIN (10), TEN_MAX (1000), TEN_ZIPF (1.0), TEN_CONCURRENCY (32), TEN_WARMUP (10),
# TEN_DURATION (60), TEN_SETTLE (11), TEN_AGE (120 s), TEN_QUANTUM (30 s), TEN_COLD (1000), TEN_COLD_CONCURRENCY (4),
# TEN_CHECK (20), TEN_ROUNDS (2), TEN_SEED_CONCURRENCY (4), TEN_SEED_CACHE (1), TEN_NO_BUILD=1, TEN_PRODUCT_ENV (extra NAME=VALUE
# settings for the product), TEN_OUT (the results file), TEN_PERF_ROUND (profile that round's silo with perf, TEN_PERF_SECONDS
# (30) of it: .run-tenants/profile-mixed-N.txt), TEN_SILO=publish (run the silo from the composite ReadyToRun publish the
# Dockerfile ships instead of the build output).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CMP=$BENCH_DIR/compare
RUN=$CMP/.run-tenants
OUT=${TEN_OUT:-$CMP/results-tenants-latest.md}
USERS=${TEN_USERS:-10000}
MIN=${TEN_MIN:-10}
MAX=${TEN_MAX:-1000}
ZIPF=${TEN_ZIPF:-1.0}
CONC=${TEN_CONCURRENCY:-32}
WARMUP=${TEN_WARMUP:-10}
DURATION=${TEN_DURATION:-60}
SETTLE=${TEN_SETTLE:-11}
AGE=${TEN_AGE:-120}
QUANTUM=${TEN_QUANTUM:-30}
COLD=${TEN_COLD:-1000}
COLD_CONC=${TEN_COLD_CONCURRENCY:-4}
CHECK=${TEN_CHECK:-20}
ROUNDS=${TEN_ROUNDS:-2}
read -r -a PRODUCT_ENV <<<"${TEN_PRODUCT_ENV:-}"
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123
TENANT_PASSWORD=bench-tenant-password-123

BENCH_NAME=run-tenants.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
mkdir -p "$RUN"
rm -f "$RUN"/*.log "$RUN"/*.rows "$RUN"/*.out

# ------------------------------------------------------------------ build (the export bench/run-compare.sh uses)
SRC=$CMP/.run/src
build_compare_set "$SRC" "${TEN_NO_BUILD:-0}"
if [[ ${TEN_SILO:-build} == publish ]]; then
  # The silo as the Dockerfile ships it, instead of the build output.
  publish_product "$SRC" "${TEN_NO_BUILD:-0}"
  SILO_BIN=$PUBLISH_DIR
fi
[[ ${TEN_PERF_ROUND:-0} == 0 ]] || command -v perf >/dev/null || die "TEN_PERF_ROUND needs perf (Debian: linux-perf)"
UPTIME_BEFORE=$(uptime)

# ------------------------------------------------------------------ PostgreSQL, seeded or restored
say "start PostgreSQL"
start_postgres "$RUN/postgres" product baseline
# The dumps are valid for these parameters and this schema (migrations and the baseline's program).
SEED_ID=$(cat "$SRC"/src/Grains/Storage/Migrations/postgresql/*.sql "$CMP/Baseline/Program.cs" | sha256sum | cut -c1-12)
SEED=$RUN/seed-$USERS-$MIN-$MAX-$SEED_ID
PRODUCT_SETTINGS=(
  Plans__DefaultPlan=bench Plans__Catalog__bench__MaxResources=10000000 Plans__Catalog__bench__MaxApiKeys=100
  Plans__Catalog__bench__MaxWebhooks=100 RateLimits__Plans__bench__Limit=100000000 RateLimits__Plans__bench__WindowSeconds=60
  RateLimits__Anonymous__Limit=100000000
  Orleans__ActivationCollection__Age="$(printf '%02d:%02d:%02d' $((AGE / 3600)) $((AGE % 3600 / 60)) $((AGE % 60)))"
  Orleans__ActivationCollection__Quantum="$(printf '%02d:%02d:%02d' $((QUANTUM / 3600)) $((QUANTUM % 3600 / 60)) $((QUANTUM % 60)))"
)


if [[ ${TEN_SEED_CACHE:-1} == 1 && -f $SEED/product.dump && -f $SEED/baseline.dump && -f $SEED/tenants.txt ]]; then
  say "restore the seeded databases from ${SEED#"$ROOT"/}"
  for db in product baseline; do
    # Everything but pg_stat_statements, which start_postgres has already made in each database.
    pg_restore -l "$SEED/$db.dump" | grep -v 'EXTENSION.* pg_stat_statements' >"$RUN/restore-$db.list"
    pg_restore -d "$db" --no-owner -j 2 -L "$RUN/restore-$db.list" "$SEED/$db.dump"
  done
  psql -XAtq -d product -c "VACUUM ANALYZE" && psql -XAtq -d baseline -c "VACUUM ANALYZE"
  start_product "$SILO_BIN" product "$RUN/product.log" "${PRODUCT_SETTINGS[@]}" "${PRODUCT_ENV[@]}"
  start_baseline "ConnectionStrings__Baseline=$CS;Database=baseline"
else
  start_product "$SILO_BIN" product "$RUN/product-seed.log" "${PRODUCT_SETTINGS[@]}" "${PRODUCT_ENV[@]}"
  start_baseline "ConnectionStrings__Baseline=$CS;Database=baseline"
  mkdir -p "$SEED"
  say "$USERS accounts with an API key each, through the product's API"
  loadgen tenants --base-url "$PRODUCT" --count "$USERS" --password "$TENANT_PASSWORD" \
    --concurrency "${TEN_SEED_CONCURRENCY:-4}" --out "$SEED/accounts.txt" || die "creating the accounts failed"
  # INDEX USER_ID KEY -> the tenants table of both databases, with each tenant's resource count by rank (INDEX + 1).
  sort -n "$SEED/accounts.txt" | awk -v min="$MIN" -v max="$MAX" -v n="$USERS" '
    BEGIN { e = (n > 1) ? log(max / min) / log(n) : 0 }
    { c = int(max / exp(e * log($1 + 1)) + 1e-9); if (c < min) c = min; print $1 "\t" $2 "\t" $3 "\t" c }' >"$SEED/tenants.tsv"
  (( $(wc -l <"$SEED/tenants.tsv") == USERS )) || die "expected $USERS accounts in $SEED/accounts.txt"
  T_BASE=$(( $(date +%s) * 1000000 ))
  # Tenant INDEX's resource g: id hex(INDEX * 65536 + g) (LoadGen's TenantMix.ResourceId), created 1 ms apart.
  ROWS_SQL="SELECT 'res_' || lpad(to_hex(t.idx::bigint * 65536 + g), 22, '0') AS id, t.owner_id, 'seed-' || lpad(g::text, 7, '0') AS name,
         'benchmark resource ' || g AS description, (ARRAY['standard','document','dataset','model'])[1 + g % 4] AS type,
         (ARRAY['active','active','active','inactive','archived'])[1 + g % 5] AS status,
         '{\"seq\":' || g || ',\"tags\":[\"bench\",\"seed\"],\"owner\":{\"team\":\"perf\"}}' AS metadata,
         $T_BASE - (t.n - g) * 1000 AS t
  FROM bench_tenants t CROSS JOIN LATERAL generate_series(1, t.n) g"
  for db in product baseline; do
    psql -XAtq -d "$db" -v ON_ERROR_STOP=1 -c "CREATE TABLE bench_tenants (idx int PRIMARY KEY, owner_id text NOT NULL, api_key text NOT NULL, n int NOT NULL)" \
      -c "\\copy bench_tenants FROM '$SEED/tenants.tsv'"
  done
  say "seed $(awk '{ s += $4 } END { print s }' "$SEED/tenants.tsv") resources over $USERS tenants into each (SQL)"
  psql -XAtq -d product -v ON_ERROR_STOP=1 <<SQL
INSERT INTO resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
SELECT id, owner_id, name, description, type, status, metadata, t, t, 1 FROM ($ROWS_SQL) s;
VACUUM (ANALYZE) resources;
VACUUM (ANALYZE) resource_counts;
SQL
  psql -XAtq -d baseline -v ON_ERROR_STOP=1 <<SQL
INSERT INTO baseline_keys (key_hash, owner_id) SELECT sha256(convert_to(api_key, 'UTF8')), owner_id FROM bench_tenants;
INSERT INTO baseline_resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
SELECT id, owner_id, name, description, type, status, metadata, timestamptz 'epoch' + t * interval '1 microsecond',
       timestamptz 'epoch' + t * interval '1 microsecond', 1 FROM ($ROWS_SQL) s;
VACUUM (ANALYZE) baseline_resources;
VACUUM (ANALYZE) baseline_keys;
SQL
  awk -F'\t' '{ print $3, $4, $1 }' "$SEED/tenants.tsv" >"$SEED/tenants.txt.tmp"
  if [[ ${TEN_SEED_CACHE:-1} == 1 ]]; then
    say "keep the seeded databases for later runs (${SEED#"$ROOT"/})"
    pg_dump -Fc -d product -f "$SEED/product.dump"
    pg_dump -Fc -d baseline -f "$SEED/baseline.dump"
  fi
  mv "$SEED/tenants.txt.tmp" "$SEED/tenants.txt"
  # The silo that made the accounts holds their key and user grains (and counts them as idle activations, which the
  # cold path's wait below compares with): start a fresh one, as a restored seed does, so the first round and the cold
  # requests begin the same way whichever way the data came.
  stop_pid "$P_PID"
  start_product "$SILO_BIN" product "$RUN/product.log" "${PRODUCT_SETTINGS[@]}" "${PRODUCT_ENV[@]}"
fi
TENANTS=$SEED/tenants.txt  # KEY RESOURCES INDEX, most popular first (LoadGen --tenants)
say "$(wc -l <"$TENANTS") tenants, $(psql -XAtq -d product -c 'SELECT count(*) FROM resources') resources in the product, $(psql -XAtq -d baseline -c 'SELECT count(*) FROM baseline_resources') in the baseline"

# ------------------------------------------------------------------ both answer alike, for a sample of tenants
python3 - "$TENANTS" "$PRODUCT" "$BASELINE" "$CHECK" <<'PY' || die "the two services do not answer alike"
import json, random, sys, urllib.request
tenants = [l.split() for l in open(sys.argv[1]) if l.strip()]
product, baseline, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
def get(base, key, path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
ranks = sorted({0, len(tenants) - 1} | set(random.Random(19).sample(range(len(tenants)), min(n, len(tenants)) - 2)))
for rank in ranks:
    key, count, idx = tenants[rank][0], int(tenants[rank][1]), int(tenants[rank][2])
    rid = "res_%022x" % (idx * 65536 + random.Random(rank).randint(1, count))
    p, b = (get(s, key, "/v1/resources?per_page=20") for s in (product, baseline))
    assert p["meta"]["total"] == count == b["meta"]["total"], (rank, count, p["meta"], b["meta"])
    assert [r["id"] for r in p["data"]] == [r["id"] for r in b["data"]], f"rank {rank + 1}: first pages differ"
    po, bo = get(product, key, "/v1/resources/" + rid), get(baseline, key, "/v1/resources/" + rid)
    assert po == bo, (rank, po, bo)
print(f"same answers for {len(ranks)} tenants (ranks {ranks[0] + 1}..{ranks[-1] + 1}): list total, first page ids, GET one", file=sys.stderr)
PY

# ------------------------------------------------------------------ the mixed load
rss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
FAILED=0
mixed() { # svc-name base-url pid db table label [LoadGen args]
  local name=$1 base=$2 pid=$3 db=$4 table=$5 label=$6
  shift 6
  say "$label: $name"
  CMP_PID=$pid CMP_PG_PID=$PG_PID CMP_TABLE=$table PGDATABASE=$db \
    CMP_METRICS_URL=$([[ $name == product ]] && echo "$MANAGEMENT/metrics") \
    loadgen run --base-url "$base" --name "$name" --tenants "$TENANTS" --concurrency "$CONC" \
      --snapshot-cmd "$CMP/snapshot.sh" --results "$RUN/$label.$name.rows" "$@" \
    | tee "$RUN/$label.$name.out" | tee -a "$RUN/bench.log" >&2 || { FAILED=1; echo "!! $label: $name had errors" >&2; }
}
statements() { # db file: what the database executed since the last reset, most frequent first
  psql -XAq -d "$1" -F ' | ' -P footer=off -c "
    SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%pg_stat%' ORDER BY calls DESC LIMIT 16" >"$2" 2>&1 || true
}
IDLE_RSS=$(rss "$P_PID")
activations() { curl -sf "$MANAGEMENT/metrics" | awk '/^orleans_catalog_activations(\{| )/ { n += $NF } END { print n + 0 }'; }
IDLE_ACTIVATIONS=$(activations)
# TEN_ROUNDS windows per service, back to back: the first minute of a fresh silo, then the ones after it (what is
# activated and cached by then stays while it is used within the collection age).
for round in $(seq 1 "$ROUNDS"); do
  psql -XAtq -d product -c "SELECT pg_stat_statements_reset()" >/dev/null
  PERF=
  if [[ ${TEN_PERF_ROUND:-0} == "$round" ]]; then
    # The silo over the measured window's middle (TEN_PERF_SECONDS).
    (sleep $((WARMUP + 5)); perf_profile "$P_PID" "${TEN_PERF_SECONDS:-30}" "$RUN/mixed-$round.perf.data" >"$RUN/profile-mixed-$round.txt") &
    PERF=$!
  fi
  mixed product "$PRODUCT" "$P_PID" product resources "mixed-$round" --zipf "$ZIPF" --warmup "$WARMUP" --duration "$DURATION" --settle "$SETTLE"
  statements product "$RUN/statements-mixed-$round-product.txt"
  [[ -z $PERF ]] || wait "$PERF" || true
done
MIXED_END=$SECONDS
for round in $(seq 1 "$ROUNDS"); do
  mixed baseline "$BASELINE" "$B_PID" baseline baseline_resources "mixed-$round" --zipf "$ZIPF" --warmup "$WARMUP" --duration "$DURATION" --settle "$SETTLE"
done

# ------------------------------------------------------------------ the cold path
# TEN_COLD tenants spread over every rank (every USERS/TEN_COLD-th).
awk -v step=$(( USERS / COLD > 0 ? USERS / COLD : 1 )) -v cold="$COLD" 'NR % step == 0 && n < cold { print; n++ }' "$TENANTS" >"$RUN/cold.txt"
# Every activation the product's load made is past the age once AGE + QUANTUM have gone by since its end; the
# collector may take a few more quanta to reach them all, so wait until the count is back near the idle silo's (at
# most 8 quanta more; what is left is reported, and shows in the cold requests' statements per request).
PEAK_ACTIVATIONS=$(activations)
while (( SECONDS - MIXED_END < AGE + QUANTUM )); do sleep 1; done
while (( $(activations) > 2 * IDLE_ACTIVATIONS + 50 && SECONDS - MIXED_END < AGE + 9 * QUANTUM )); do sleep 1; done
COLD_ACTIVATIONS=$(activations)
COLD_RSS=$(rss "$P_PID")
say "activations: $PEAK_ACTIVATIONS after the mixed load, $COLD_ACTIVATIONS after $((SECONDS - MIXED_END)) s idle (collection age $AGE s)"
# What one cold request executes: the product's statements over the cold window alone.
psql -XAtq -d product -c "SELECT pg_stat_statements_reset()" >/dev/null
mixed product "$PRODUCT" "$P_PID" product resources cold --pick once --mix get_one=1 --warmup 0 --duration 120 --settle 2 \
  --concurrency "$COLD_CONC" --tenants "$RUN/cold.txt"
statements product "$RUN/statements-cold-product.txt"
mixed baseline "$BASELINE" "$B_PID" baseline baseline_resources cold --pick once --mix get_one=1 --warmup 0 --duration 120 --settle 2 \
  --concurrency "$COLD_CONC" --tenants "$RUN/cold.txt"
UPTIME_AFTER=$(uptime)
stop_pid "$P_PID"
stop_pid "$B_PID"

# ------------------------------------------------------------------ report
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export ROUNDS RUN OUT USERS MIN MAX ZIPF CONC WARMUP DURATION AGE QUANTUM COLD COLD_CONC IDLE_RSS PEAK_ACTIVATIONS COLD_ACTIVATIONS COLD_RSS \
  UPTIME_BEFORE UPTIME_AFTER CPU_MODEL COMMIT PG_VERSION PG_SETTINGS
export MACHINE="$(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM" DOTNET_VERSION="$(dotnet --version)" \
  WHEN="$(date -u '+%Y-%m-%d %H:%M UTC')" EXTRA="${TEN_PRODUCT_ENV:-}" \
  SILO_KIND="$([[ ${TEN_SILO:-build} == publish ]] && echo "composite ReadyToRun publish (as shipped)" || echo "build output")"
python3 - <<'PY'
import os, re
e = os.environ
run, out = e["RUN"], e["OUT"]
def rows(label, svc):
    """The run's rows: the whole mix first, then one per operation."""
    result = {}
    for line in open(f"{run}/{label}.{svc}.rows"):
        c = [x.strip() for x in line.strip().split("|")[1:-1]]
        name = c[0].split(" ", 1)[1] if " " in c[0] else "all"
        result[name] = dict(req=int(c[2].replace(",", "")), errors=int(c[3]), rps=float(c[4]), p50=float(c[5]), p99=float(c[7]),
                            p999=float(c[-1]), cpu=c[11], other=c[12])
    text = open(f"{run}/{label}.{svc}.out").read()
    m = re.search(r"more counters, change over the window \(value at its end\): (.*)", text)
    more = {k: (float(d), float(v)) for k, d, v in re.findall(r"(\w+) ([+-]?\d+) \((\d+)\)", m.group(1))} if m else {}
    return result, more
lines = ["| load | service | operation | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU ms/req service / PG / loadgen | other load (cores) |",
         "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
csv = ["scenario,service,rps,p50,p99,p999"]
got = {}
rounds = int(e["ROUNDS"])
labels = [(f"mixed-{n}", f"mixed, Zipf tenants, round {n}") for n in range(1, rounds + 1)] + [("cold", "cold: first request of a tenant")]
for label, title in labels:
    for svc in ("product", "baseline"):
        got[label, svc] = rows(label, svc)
        for op, r in got[label, svc][0].items():
            cpu, other = (r["cpu"], r["other"]) if op == "all" else ("", "")
            lines.append(f"| {title} | {svc} | {op} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p999']:.2f} | {r['errors']} | {cpu} | {other} |")
            if op == "all" or label != "cold":  # the cold load is GET one alone
                # Short names, so the charts' labels do not overlap: r1, r1 GET, r1 list, r1 POST, …, cold.
                name = (label if label == "cold" else "r" + label.split("-")[1]) + {"all": "", "get_one": " GET", "list_first": " list", "create": " POST"}[op]
                csv.append(f"{name},{svc},{r['rps']:.0f},{r['p50']:.2f},{r['p99']:.2f},{r['p999']:.2f}")
cold_p = got["cold", "product"][0]["all"]
cpu_total = lambda r: sum(float(x) for x in r["cpu"].split("/"))
verdict = lambda ok: "met" if ok else "MISSED"
targets, windows = [], []
for n in range(1, rounds + 1):
    (p, more), (b, _) = got[f"mixed-{n}", "product"], got[f"mixed-{n}", "baseline"]
    ratio = p["all"]["rps"] / b["all"]["rps"]
    targets.append(f"| round {n}: mixed load ≥ 4× the baseline's throughput | {ratio:.2f}× ({p['all']['rps']:.0f} / {b['all']['rps']:.0f} req/s); CPU-per-request ratio {cpu_total(b['all']) / cpu_total(p['all']):.2f}× | {verdict(ratio >= 4)} |")
    targets.append(f"| round {n}: mixed load p99 ≤ 50 ms (product) | {p['all']['p99']:.1f} ms (baseline {b['all']['p99']:.1f} ms) | {verdict(p['all']['p99'] <= 50)} |")
    hits, misses = more.get("key_cache_hits", (0, 0))[0], more.get("key_cache_misses", (0, 0))[0]
    windows.append(f"| {n} | {hits:.0f} / {misses:.0f} = **{hits / max(1, hits + misses):.3f}** | {more.get('activations', (0, 0))[0]:+.0f} → **{more.get('activations', (0, 0))[1]:.0f}** | {more.get('rss_kb', (0, 0))[1] / 1024:.0f} MiB |")
mib = lambda kb: f"{float(kb) / 1024:.0f} MiB"
with open(out, "w") as f:
    f.write("# Many tenants: the product vs. plain ASP.NET Core + Npgsql, latest run\n\n")
    f.write(f"Written by `bench/run-tenants.sh` on {e['WHEN']}.\n\n")
    f.write(f"- Product: commit {e['COMMIT'][:7]} (clean export of HEAD), PostgreSQL mode, one API key per user (plan `bench`: rate limiter on, never refusing), activation collection age {e['AGE']} s, quantum {e['QUANTUM']} s, silo from the {e['SILO_KIND']}{'; extra settings: ' + e['EXTRA'] if e['EXTRA'] else ''}\n")
    f.write(f"- Machine: {e['MACHINE']}, shared by load generator, product, baseline and PostgreSQL; .NET SDK {e['DOTNET_VERSION']}, PostgreSQL {e['PG_VERSION']} ({e['PG_SETTINGS']})\n")
    f.write(f"- uptime before: `{e['UPTIME_BEFORE'].strip()}`; after: `{e['UPTIME_AFTER'].strip()}`\n")
    f.write(f"- {e['USERS']} tenants (users, each with its own API key), {e['MAX']} … {e['MIN']} resources by popularity rank; mixed load 80 % GET one / 15 % first page / 5 % create, tenants Zipf (exponent {e['ZIPF']}), {e['CONC']} connections, warm-up {e['WARMUP']} s, measured {e['DURATION']} s per service; cold path: {e['COLD']} tenants' first GET one, {e['COLD_CONC']} at a time\n\n")
    f.write("\n".join(lines) + "\n\n| target | measured | verdict |\n| --- | --- | --- |\n")
    f.write("\n".join(targets) + "\n")
    f.write(f"| cold path p99 ≤ 20 ms (product) | {cold_p['p99']:.1f} ms (p50 {cold_p['p50']:.1f}, p99.9 {cold_p['p999']:.1f}; baseline p99 {got['cold', 'baseline'][0]['all']['p99']:.1f} ms) | {verdict(cold_p['p99'] <= 20)} |\n\n")
    f.write("The product in each measured mixed window (its /metrics and /proc):\n\n"
            "| round | API-key cache hits / misses = hit ratio | grain activations: change → at the end | VmRSS at the end |\n| ---: | --- | --- | ---: |\n")
    f.write("\n".join(windows) + "\n\n")
    f.write(f"VmRSS idle after seeding: {mib(e['IDLE_RSS'])}. Before the cold requests: {e['COLD_ACTIVATIONS']} activations "
            f"(from {e['PEAK_ACTIVATIONS']} after the baseline's runs), VmRSS {mib(e['COLD_RSS'])}.\n")
open(out[:-3] + ".csv", "w").write("\n".join(csv) + "\n")
print(open(out).read())
PY
"$BENCH_DIR/plot.sh" "${OUT%.md}.csv" "${OUT%.md}" "$USERS tenants, PostgreSQL, $CONC connections" || echo "!! plotting failed (the tables above stand)" >&2
say "done; results in ${OUT#"$ROOT"/}"
[[ $FAILED == 0 ]] || die "some steps had errors (see above)"
