# Sourced by `bench/run-compare.sh --telemetry` (after the build and PostgreSQL are up): what telemetry costs.
#
# The product in PostgreSQL mode, API key of plan `bench` with the rate limiter on (as in the main comparison), in
# three configurations, each on a fresh database, driven by LoadGen for GET /v1/resources/{id} and POST /v1/resources:
#   off      Telemetry__Metrics=false, no management listener, no Orleans Dashboard, no OTLP: no meter provider, no
#            spans, the product's instruments disabled.
#   metrics  the default: meters on, /metrics on the management listener scraped every 5 s (as Prometheus would),
#            the Orleans Dashboard registered (nobody looking at it: its profiling and counters idle).
#   otlp     metrics as above, plus OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local sink (bench/compare/otlp-sink.py):
#            traces at the default sampling (parent-based, a tenth of requests), metrics and logs over OTLP/HTTP.
#   otlp-all every request traced (OTEL_TRACES_SAMPLER_ARG=1): an experiment, run with CMP_TEL_CONFIGS.
# Target (issue 16): GET one and create lose at most 10 % throughput with telemetry on.
# Results: bench/compare/results-telemetry-latest.md. Environment: CMP_TEL_ROUNDS (1: each configuration once, in
# order off, metrics, otlp; 2+ repeats the sequence and reports the best round per configuration), CMP_TEL_CONFIGS
# (an experiment: run only these configurations, e.g. "metrics nodashboard", and print their rows; no summary).

OUT_T=$CMP/results-telemetry-latest.md
ROUNDS=${CMP_TEL_ROUNDS:-1}
SINK_PORT=$(free_port)
python3 "$CMP/otlp-sink.py" "$SINK_PORT" >"$RUN/otlp-sink.out" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")

declare -A SETTINGS=(
  [off]="Telemetry__Metrics=false Dashboard__Enabled=false Management__Urls="
  [metrics]=""
  [nodashboard]="Dashboard__Enabled=false"
  [otlp]="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_BSP_SCHEDULE_DELAY=1000"
)
SETTINGS[otlp-all]="${SETTINGS[otlp]} OTEL_TRACES_SAMPLER_ARG=1"
FAILED=0
for round in $(seq 1 "$ROUNDS"); do
  for config in ${CMP_TEL_CONFIGS:-off metrics otlp}; do
    db=tel_${config//-/_}_$round
    psql -XAtq -c "CREATE DATABASE $db" >/dev/null
    psql -XAtq -d "$db" -c "CREATE EXTENSION pg_stat_statements" >/dev/null
    # shellcheck disable=SC2086 # the settings are words
    start_product "$SILO_BIN" "$db" "$RUN/product-$config-$round.log" \
      RateLimits__Plans__bench__Limit=100000000 RateLimits__Plans__bench__WindowSeconds=60 \
      Plans__Catalog__bench__MaxResources=10000000 Plans__Catalog__bench__MaxApiKeys=100 ${SETTINGS[$config]}
    ACCESS=$(admin_access_token) || die "admin login failed"
    KEY=$(curl -sf "$PRODUCT/v1/api-keys" -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
      -d '{"name":"telemetry","plan":"bench"}' | json data.key) || die "creating the bench API key failed"
    export BENCH_TOKEN=$KEY
    ONE=$(curl -sf "$PRODUCT/v1/resources" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d '{"name":"the one","metadata":{"seq":1,"tags":["bench"]}}' | json data.id) || die "creating the resource failed"
    SCRAPER=""
    if [[ $config != off ]]; then
      curl -sf "$MANAGEMENT/metrics" -o "$RUN/scrape-$config-$round.txt" || die "no /metrics on $MANAGEMENT"
      ( while sleep 5; do curl -sf "$MANAGEMENT/metrics" -o /dev/null || true; done ) &
      SCRAPER=$!
      PIDS+=("$SCRAPER")
    fi
    for spec in "get_one|/v1/resources/$ONE|GET" "create|/v1/resources|POST"; do
      IFS='|' read -r label path method <<<"$spec"
      say "telemetry $config (round $round): $label"
      CMP_PID=$P_PID CMP_PG_PID=$PG_PID CMP_TABLE=resources PGDATABASE=$db \
        loadgen run --base-url "$PRODUCT" --name "$config" --path "$path" --method "$method" --concurrency "$CONC" \
          --warmup "$WARMUP" --duration "$DURATION" --snapshot-cmd "$CMP/snapshot.sh" --settle "$SETTLE" \
          --results "$RUN/tel.$label.$config.$round.rows" \
        | tee "$RUN/tel.$label.$config.$round.out" | tee -a "$RUN/bench.log" >&2 || { FAILED=1; echo "!! $config $label had errors" >&2; }
    done
    [[ -n "$SCRAPER" ]] && kill "$SCRAPER" 2>/dev/null
    stop_pid "$P_PID"
  done
done
if [[ -n "${CMP_TEL_CONFIGS:-}" ]]; then
  # An experiment with chosen configurations: the per-row results above are its output; no summary.
  kill -TERM "$SINK_PID" 2>/dev/null
  say "done (configurations: $CMP_TEL_CONFIGS)"
  exit 0
fi
kill -TERM "$SINK_PID" 2>/dev/null
wait "$SINK_PID" 2>/dev/null || true
SINK_COUNTS=$(tail -n1 "$RUN/otlp-sink.out")

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
python3 - "$RUN" "$OUT_T" "$ROUNDS" "$SINK_COUNTS" <<PY
import json, sys
run, out, rounds, sink = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def row(label, config, r):
    cells = [c.strip() for c in open(f"{run}/tel.{label}.{config}.{r}.rows").read().strip().split("|")[1:-1]]
    return dict(req=int(cells[2].replace(",", "")), errors=int(cells[3]), rps=float(cells[4]), p50=float(cells[5]),
                p99=float(cells[7]), cpu=cells[11], service_cpu=float(cells[11].split("/")[0]), other=cells[12] if len(cells) > 12 else "–")
def best(label, config):
    return max((row(label, config, r) for r in range(1, rounds + 1)), key=lambda x: x["rps"])
titles = {"get_one": "GET /v1/resources/{id}", "create": "POST /v1/resources"}
lines = ["| endpoint | telemetry | req/s | p50 ms | p99 ms | errors | CPU ms/req service / PG / loadgen | other load (cores) |",
         "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"]
verdicts = []
for label, title in titles.items():
    rows = {c: best(label, c) for c in ("off", "metrics", "otlp")}
    for c, r in rows.items():
        lines.append(f"| {title} | {c} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {r['cpu']} | {r['other']} |")
    for c in ("metrics", "otlp"):
        ratio = rows[c]["rps"] / rows["off"]["rps"]
        cpu = rows[c]["service_cpu"] / rows["off"]["service_cpu"] if rows["off"]["service_cpu"] else float("nan")
        verdicts.append(f"| {title}, {c} vs off | {ratio:.2f}× throughput ({(1 - ratio) * 100:+.1f} % lost), service CPU per request {cpu:.2f}× | {'met' if ratio >= 0.90 else 'MISSED'} (target: at most 10 % lost) |")
with open(out, "w") as f:
    f.write("# What telemetry costs: latest run\n\n")
    f.write("Written by \`bench/run-compare.sh --telemetry\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/compare/telemetry.sh for the configurations.\n\n")
    f.write("- Product: commit ${COMMIT:0:7} (clean export of HEAD), PostgreSQL mode, API key of plan \`bench\`, rate limiter on\n")
    f.write("- Machine: $(nproc) cores ($CPU_MODEL), $(free -h | awk '/^Mem:/ {print $2}') RAM, shared by load generator, product and PostgreSQL; load average before: $LOADAVG\n")
    f.write(f"- .NET SDK $(dotnet --version), PostgreSQL $PG_VERSION; $CONC connections; warm-up ${WARMUP} s, measured ${DURATION} s per row; best of {rounds} round(s)\n")
    f.write(f"- OTLP sink received: {sink}\n\n")
    f.write("\n".join(lines) + "\n\n| comparison | measured | verdict |\n| --- | --- | --- |\n" + "\n".join(verdicts) + "\n")
print(open(out).read())
PY
say "done; results in ${OUT_T#"$ROOT"/}"
[[ $FAILED == 0 ]] || die "some steps had errors (see above)"
exit 0
