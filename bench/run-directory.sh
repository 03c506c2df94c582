#!/usr/bin/env bash
# The user directory's search for a non-administrator, at scale, one command:
#
#   bench/run-directory.sh
#
# Requirement (issue 17, item 7): 200,000 users, 2,000 organizations: p99 <= 50 ms for a non-admin's
# GET /v1/users?search=...
#
# 1. Builds Release from a clean export of HEAD (bench/.run-directory/src, gitignored).
# 2. Starts a throwaway PostgreSQL and one product silo in PostgreSQL mode; registers the searching user through the
#    API (a real, non-admin account).
# 3. Seeds the directory in SQL (the API would spend minutes hashing passwords): DIR_USERS users (default 200,000) in
#    DIR_ORGS organizations (default 2,000) of DIR_USERS/DIR_ORGS members each; the searching user is a member of 3 of
#    them. ANALYZE.
# 4. Warms up, then sends DIR_REQUESTS (default 400) searches one after another as the non-admin, cycling through
#    terms that match some of the caller's peers, terms that match many users the caller may not see, and terms that
#    match nobody; then the same count as the administrator (context: the trigram index over every user).
#    Latency is curl's time_total per request on loopback.
# 5. Writes bench/results/directory-latest.md: machine, commit, counts, p50/p95/p99/max per caller, and the plan of
#    the non-admin query (EXPLAIN ANALYZE).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUN=$BENCH_DIR/.run-directory
OUT_DIR=$BENCH_DIR/results
OUT=$OUT_DIR/directory-latest.md
USERS=${DIR_USERS:-200000}
ORGS=${DIR_ORGS:-2000}
REQUESTS=${DIR_REQUESTS:-400}
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=bench-admin-password-123

BENCH_NAME=run-directory.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
mkdir -p "$RUN" "$OUT_DIR"

SRC=$RUN/src
: >"$RUN/build.log"
build_product "$SRC" "${DIR_NO_BUILD:-0}"

start_postgres "$RUN/postgres" dir
start_product "$SILO_BIN" dir "$RUN/silo.log" "RateLimits__Plans__free__Limit=0"

say "register the searching user"
SEARCHER=$(curl -sf "$PRODUCT/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"searcher@bench.example","username":"searcher","password":"searcher-password-1"}')
TOKEN=$(json access_token <<<"$SEARCHER")
SEARCHER_ID=$(json user.id <<<"$SEARCHER")
ADMIN_TOKEN=$(admin_access_token)

say "seed $USERS users in $ORGS organizations"
PER_ORG=$(( USERS / ORGS ))
psql -XAtq -d dir -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users_directory (id, email, username, first_name, last_name, avatar_url, role, plan, created_at, updated_at)
SELECT 'usr_bench' || lpad(i::text, 13, '0'), 'user' || i || '@bench.example', 'user' || i,
       'First' || (i % 5000), 'Last' || (i % 7919), NULL, 'user', 'free', 1700000000000000 + i, 1700000000000000 + i
FROM generate_series(1, $USERS) AS i;
INSERT INTO organizations (id, name, slug, plan, created_at, updated_at, version)
SELECT 'org_bench' || lpad(o::text, 13, '0'), 'Org ' || o, 'bench-org-' || o, 'free', 1700000000000000, 1700000000000000, 1
FROM generate_series(1, $ORGS) AS o;
INSERT INTO memberships (org_id, user_id, role, joined_at)
SELECT 'org_bench' || lpad((((i - 1) / $PER_ORG) + 1)::text, 13, '0'), 'usr_bench' || lpad(i::text, 13, '0'), 'member', 1700000000000000
FROM generate_series(1, $USERS) AS i;
INSERT INTO memberships (org_id, user_id, role, joined_at)
SELECT 'org_bench' || lpad(o::text, 13, '0'), '$SEARCHER_ID', 'member', 1700000000000000 FROM generate_series(1, 3) AS o;
ANALYZE users_directory; ANALYZE memberships; ANALYZE organizations;
SQL

# Terms: peers of the caller (users 1..3*PER_ORG), many users (a first name shared by 40), nobody.
TERMS=("user1" "user12" "first42" "last10" "user2" "bench.example" "first7" "nobody-at-all" "zzz" "user199")

measure() { # token label -> prints the sorted latencies (ms) to $RUN/<label>.ms
  local token=$1 label=$2 i term
  for i in $(seq 1 20); do curl -sf -o /dev/null -H "Authorization: Bearer $token" "$PRODUCT/v1/users?search=${TERMS[$((i % ${#TERMS[@]}))]}"; done
  : >"$RUN/$label.ms"
  for i in $(seq 1 "$REQUESTS"); do
    term=${TERMS[$((i % ${#TERMS[@]}))]}
    curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$PRODUCT/v1/users?search=$term" >>"$RUN/$label.ms"
  done
}

say "$REQUESTS searches as the non-admin"
measure "$TOKEN" member
say "$REQUESTS searches as the administrator"
measure "$ADMIN_TOKEN" admin

stats() { python3 - "$1" <<'PY'
import sys
xs = sorted(float(x) * 1000 for x in open(sys.argv[1]) if x.strip())
pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
print(f"| {len(xs)} | {pick(0.5):.1f} | {pick(0.95):.1f} | {pick(0.99):.1f} | {xs[-1]:.1f} |")
PY
}

PLAN=$(psql -XAtq -d dir -c "EXPLAIN (ANALYZE, BUFFERS) SELECT u.id FROM users_directory u JOIN (SELECT '$SEARCHER_ID' AS user_id UNION SELECT peer.user_id FROM memberships mine JOIN memberships peer ON peer.org_id = mine.org_id WHERE mine.user_id = '$SEARCHER_ID') visible ON visible.user_id = u.id WHERE u.search LIKE '%user12%' ORDER BY u.created_at DESC, u.id DESC LIMIT 20")
{
  echo "# User directory search (bench/run-directory.sh)"
  echo
  echo "Commit $COMMIT, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $PG_VERSION."
  echo "$USERS users, $ORGS organizations ($PER_ORG members each), the searcher in 3 of them; $REQUESTS sequential requests per caller over loopback (curl time_total)."
  echo
  echo "| caller | requests | p50 ms | p95 ms | p99 ms | max ms |"
  echo "| --- | --- | --- | --- | --- | --- |"
  echo "| non-admin $(stats "$RUN/member.ms")"
  echo "| admin $(stats "$RUN/admin.ms")"
  echo
  echo "Plan of the non-admin query (term user12):"
  echo
  echo '```'
  echo "$PLAN"
  echo '```'
} >"$OUT"
cat "$OUT"
