#!/usr/bin/env bash
# The checks of a running stack, whatever runs it (scripts/stack up, scripts/stack up --scaled, scripts/compose-smoke):
# every service answers /ready, the services work together (tenant pages, invalidations reaching the cache service
# and the gateway, query events), the load gate (tests/stack/load-gate.sh), and (unless --no-fuzz) schemathesis
# over every service's /openapi.json and docs/security.md's route table. WEDSYNC_STACK_DIR names the stack's state
# directory (its env and service-tokens files).
#
#   WEDSYNC_STACK_DIR=.stack tests/stack/stack-checks.sh [--no-fuzz]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

[ -n "${WEDSYNC_STACK_DIR:-}" ] && [ -f "$WEDSYNC_STACK_DIR/env" ] || ws_die "WEDSYNC_STACK_DIR must name a running stack's directory"
fuzz=1
[ "${1:-}" = "--no-fuzz" ] && fuzz=0
fail() { ws_log "stack checks FAILED: $*"; exit 1; }

env_value() { ws_env_value "$WEDSYNC_STACK_DIR/env" "$1"; }
port_of() { env_value "PORT_${1//-/_}"; }
api="http://127.0.0.1:$(port_of wedsync-api)"
cache="http://127.0.0.1:$(port_of wedsync-cache)"
gateway="http://127.0.0.1:$(port_of wedsync-gateway)"
optimizer="http://127.0.0.1:$(port_of wedsync-query-optimizer)"

count=0
service_ports=""
while read -r name folder default_port; do
    port="$(port_of "$name")"
    [ -n "$port" ] || fail "$name has no port in the stack's env file"
    service_ports+=" $port"
    code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready" || true)"
    [ "$code" = "200" ] || fail "$name answered /ready with $code"
    count=$((count + 1))
done < <(ws_services)
[ "$count" -ge 1 ] || fail "no service was started"
grep -q '^WEDSYNC_ADMIN_TOKEN=' "$WEDSYNC_STACK_DIR/env" || fail ".stack/env has no admin token"
grep -q '^WEDSYNC_MONITOR_TOKEN=' "$WEDSYNC_STACK_DIR/env" || fail ".stack/env has no monitor token"
# The API answers through the stack, on the seeded demo data, for the demo token.
demo_token="$(env_value WEDSYNC_DEMO_TOKEN)"
[ -n "$demo_token" ] || fail ".stack/env has no demo token"
clients="$(curl -s --max-time 10 -H "Authorization: Bearer $demo_token" $api/api/clients -w ' %{http_code}' || true)"
[ "${clients##* }" = "200" ] || fail "the API answered /api/clients with ${clients##* }"
dashboard="$(curl -s --max-time 10 -H "Authorization: Bearer $demo_token" $api/api/dashboard || true)"
printf '%s' "$dashboard" | grep -q '"clients":[1-9]' || fail "the dashboard counts no clients: $dashboard"
anonymous="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' $api/api/clients || true)"
[ "$anonymous" = "401" ] || fail "the API answered an anonymous request with $anonymous"
( set -a; . "$WEDSYNC_STACK_DIR/env"; set +a; [ -n "$WEDSYNC_DATABASE_URL" ] && [ -n "$WEDSYNC_REDIS_URL" ] ) || fail ".stack/env cannot be sourced"
# The cache service holds an entry tagged with a client; changing that client through the API invalidates it.
admin_token="$(env_value WEDSYNC_ADMIN_TOKEN)"
client_id="$(curl -s --max-time 10 -H "Authorization: Bearer $demo_token" "$api/api/clients?limit=1" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["clients"][0]["id"])')" || fail "no client to change"
stored="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    --data '{"smoke":true}' "$cache/v1/entries/schedules/client-$client_id?tags=client:$client_id" || true)"
[ "$stored" = "200" ] || fail "the cache service answered the PUT with $stored"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin_token" "$cache/v1/entries/schedules/client-$client_id")" = "200" ] \
    || fail "the cache service did not answer the stored entry"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$cache/v1/entries/schedules/client-$client_id")" = "401" ] \
    || fail "the cache service answered an anonymous read of an entry"
# The gateway answers the same client's page from its cache (second request a HIT, L1)...
gateway_page="$gateway/api/clients?limit=1"
curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $demo_token" "$gateway_page" || fail "the gateway did not answer"
# The gateway stores a page just after answering it: wait until it is stored (only-if-cached never reaches the API).
for _ in $(seq 1 150); do
    [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $demo_token" -H 'Cache-Control: only-if-cached' "$gateway_page")" = "200" ] && break
    sleep 0.1
done
hit="$(curl -s --max-time 10 -o /dev/null -D - -H "Authorization: Bearer $demo_token" "$gateway_page" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" {print $2}')"
[ "$hit" = "HIT" ] || fail "the gateway answered a repeated page with x-cache '$hit'"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$gateway_page")" = "401" ] || fail "the gateway let an anonymous request through"
patched="$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $demo_token" \
    -H 'Content-Type: application/json' --data '{"notes":"stack smoke test"}' "$api/api/clients/$client_id" || true)"
[ "$patched" = "200" ] || fail "the API answered the PATCH with $patched"
invalidated=0
for attempt in $(seq 1 100); do
    code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin_token" "$cache/v1/entries/schedules/client-$client_id" || true)"
    if [ "$code" = "404" ]; then invalidated=1; break; fi
    sleep 0.05
done
[ "$invalidated" -eq 1 ] || fail "the API's write did not invalidate the cache service's entry tagged client:$client_id"
# ...and the same invalidation, over the cache backplane, purged the gateway's copy of the page.
purged=0
for attempt in $(seq 1 100); do
    code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $demo_token" -H 'Cache-Control: only-if-cached' "$gateway_page" || true)"
    if [ "$code" = "504" ]; then purged=1; break; fi
    sleep 0.05
done
[ "$purged" -eq 1 ] || fail "the API's write did not purge the gateway's page tagged client:$client_id"
# The gateway's stored pages are never readable through the cache service, with any credential.
gw_read="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin_token" "$cache/v1/entries/gw/api%7C1%7C%2Fapi%2Fdashboard" || true)"
[ "$gw_read" = "404" ] || fail "the cache service answered a read of the gateway's namespace with $gw_read"

# The API reports its requests' statements to the query optimizer, whose report covers the stack's database.
seen=0
for _ in $(seq 1 100); do
    requests="$(curl -s --max-time 5 -H "Authorization: Bearer $admin_token" $optimizer/v1/n-plus-one \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["requestsSeen"])' 2>/dev/null || echo 0)"
    if [ "${requests:-0}" -gt 0 ]; then seen=1; break; fi
    sleep 0.1
done
[ "$seen" -eq 1 ] || fail "the query optimizer received no query events from the API"
report="$(curl -s --max-time 60 -H "Authorization: Bearer $admin_token" "$optimizer/v1/report?recommend=false" -w ' %{http_code}' || true)"
[ "${report##* }" = "200" ] && [[ "$report" == *'"connections"'* ]] && [[ "$report" == *'"findings"'* ]] \
    || fail "the query optimizer's report did not answer: ${report:0:300}"

# The load gate: the seeds' four scenarios at a short scale, their thresholds, cross-checks and the budgets; and an
# injected slowdown that must fail them. Before the fuzzing, whose garbage would count against the budgets.
"$WS_ROOT/tests/stack/load-gate.sh" "$WEDSYNC_STACK_DIR/env" || fail "the load gate failed"

# Every service's /openapi.json fuzzed, with its credential and without: no 5xx, every answer as documented. And
# docs/security.md's route table is this stack's.
if [ "$fuzz" -eq 1 ]; then
    fuzz_reports="$WS_ROOT/.build/fuzz-reports"
    rm -rf "$fuzz_reports"
    "$WS_ROOT/tests/stack/fuzz.sh" "$WEDSYNC_STACK_DIR/env" "$fuzz_reports" "${WEDSYNC_FUZZ_EXAMPLES:-10}" \
        || fail "fuzzing found failures (reports: $fuzz_reports)"
    "$WS_ROOT/scripts/security-doc" "$WEDSYNC_STACK_DIR/env" --check || fail "docs/security.md is not the stack's"
fi
ws_log "stack checks passed: $count services ready and working together"

