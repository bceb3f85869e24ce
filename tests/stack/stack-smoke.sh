#!/usr/bin/env bash
# Acceptance: `scripts/stack up` ends with every existing service answering /ready 200, and `scripts/stack down`
# leaves no process behind. Runs the real scripts in a scratch state directory.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

export WEDSYNC_STACK_DIR="$(mktemp -d /tmp/wedsync-stack.XXXXXX)"
chmod 755 "$WEDSYNC_STACK_DIR"
fail() { ws_log "stack smoke test FAILED: $*"; exit 1; }
# Whatever happens, nothing this test started outlives it.
trap '"$WS_ROOT/scripts/stack" down >/dev/null 2>&1 || true' EXIT

while read -r name folder port; do
    ws_port_in_use "$port" && fail "port $port ($name) is already taken: stop your own stack first (scripts/stack down)"
done < <(ws_services)

"$WS_ROOT/scripts/stack" up || fail "scripts/stack up failed"

count=0
while read -r name folder port; do
    code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready" || true)"
    [ "$code" = "200" ] || fail "$name answered /ready with $code"
    count=$((count + 1))
done < <(ws_services)
[ "$count" -ge 1 ] || fail "no service was started"
grep -q '^WEDSYNC_ADMIN_TOKEN=' "$WEDSYNC_STACK_DIR/env" || fail ".stack/env has no admin token"
# The API answers through the stack, on the seeded demo data, for the demo token.
demo_token="$(grep '^WEDSYNC_DEMO_TOKEN=' "$WEDSYNC_STACK_DIR/env" | cut -d= -f2-)"
[ -n "$demo_token" ] || fail ".stack/env has no demo token"
clients="$(curl -s --max-time 10 -H "Authorization: Bearer $demo_token" http://127.0.0.1:8090/api/clients -w ' %{http_code}' || true)"
[ "${clients##* }" = "200" ] || fail "the API answered /api/clients with ${clients##* }"
dashboard="$(curl -s --max-time 10 -H "Authorization: Bearer $demo_token" http://127.0.0.1:8090/api/dashboard || true)"
printf '%s' "$dashboard" | grep -q '"clients":[1-9]' || fail "the dashboard counts no clients: $dashboard"
anonymous="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8090/api/clients || true)"
[ "$anonymous" = "401" ] || fail "the API answered an anonymous request with $anonymous"
( set -a; . "$WEDSYNC_STACK_DIR/env"; set +a; [ -n "$WEDSYNC_DATABASE_URL" ] && [ -n "$WEDSYNC_REDIS_URL" ] ) || fail ".stack/env cannot be sourced"
# The cache service holds an entry tagged with a client; changing that client through the API invalidates it.
admin_token="$(grep '^WEDSYNC_ADMIN_TOKEN=' "$WEDSYNC_STACK_DIR/env" | cut -d= -f2-)"
client_id="$(curl -s --max-time 10 -H "Authorization: Bearer $demo_token" 'http://127.0.0.1:8090/api/clients?limit=1' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["clients"][0]["id"])')" || fail "no client to change"
stored="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    --data '{"smoke":true}' "http://127.0.0.1:8081/v1/entries/smoke/client-$client_id?tags=client:$client_id" || true)"
[ "$stored" = "200" ] || fail "the cache service answered the PUT with $stored"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:8081/v1/entries/smoke/client-$client_id")" = "200" ] \
    || fail "the cache service did not answer the stored entry"
# The gateway answers the same client's page from its cache (second request a HIT, L1)...
gateway_page="http://127.0.0.1:8080/api/clients?limit=1"
curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $demo_token" "$gateway_page" || fail "the gateway did not answer"
sleep 0.3
hit="$(curl -s --max-time 10 -o /dev/null -D - -H "Authorization: Bearer $demo_token" "$gateway_page" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" {print $2}')"
[ "$hit" = "HIT" ] || fail "the gateway answered a repeated page with x-cache '$hit'"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$gateway_page")" = "401" ] || fail "the gateway let an anonymous request through"
patched="$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $demo_token" \
    -H 'Content-Type: application/json' --data '{"notes":"stack smoke test"}' "http://127.0.0.1:8090/api/clients/$client_id" || true)"
[ "$patched" = "200" ] || fail "the API answered the PATCH with $patched"
invalidated=0
for attempt in $(seq 1 100); do
    code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:8081/v1/entries/smoke/client-$client_id" || true)"
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

# The API reports its requests' statements to the query optimizer, whose report covers the stack's database.
seen=0
for _ in $(seq 1 100); do
    requests="$(curl -s --max-time 5 -H "Authorization: Bearer $admin_token" http://127.0.0.1:8082/v1/n-plus-one \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["requestsSeen"])' 2>/dev/null || echo 0)"
    if [ "${requests:-0}" -gt 0 ]; then seen=1; break; fi
    sleep 0.1
done
[ "$seen" -eq 1 ] || fail "the query optimizer received no query events from the API"
report="$(curl -s --max-time 60 -H "Authorization: Bearer $admin_token" 'http://127.0.0.1:8082/v1/report?recommend=false' -w ' %{http_code}' || true)"
[ "${report##* }" = "200" ] && [[ "$report" == *'"connections"'* ]] && [[ "$report" == *'"findings"'* ]] \
    || fail "the query optimizer's report did not answer: ${report:0:300}"

pids="$(cat "$WEDSYNC_STACK_DIR"/pids/*.pid "$WEDSYNC_STACK_DIR/redis/redis.pid" 2>/dev/null | tr '\n' ' ' || true)"
pids+=" $(head -n 1 "$WEDSYNC_STACK_DIR/postgres/data/postmaster.pid" 2>/dev/null || true)"
ports="$(grep -E '^(REDIS|POSTGRES)_PORT=' "$WEDSYNC_STACK_DIR/env" | cut -d= -f2 | tr '\n' ' ' || true)"

"$WS_ROOT/scripts/stack" down || fail "scripts/stack down failed"

leftovers="$(ps -eo pid=,args= | grep -F "$WEDSYNC_STACK_DIR" | grep -v grep || true)"
for pid in $pids; do
    if ws_alive "$pid"; then leftovers+=$'\n'"process $pid: $(ps -o args= -p "$pid")"; fi
done
while read -r name folder port; do
    if ws_port_in_use "$port"; then leftovers+=$'\n'"port $port ($name) still listening"; fi
done < <(ws_services)
for port in $ports; do
    if ws_port_in_use "$port"; then leftovers+=$'\n'"port $port (redis or postgres) still listening"; fi
done
[ -z "${leftovers//[$'\n ']/}" ] || fail "processes left behind:$leftovers"

trap - EXIT
rm -rf "$WEDSYNC_STACK_DIR"
ws_log "stack smoke test passed: $count services ready, nothing left behind"
