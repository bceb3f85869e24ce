#!/usr/bin/env bash
# Acceptance: `scripts/stack up` ends with every existing service answering /ready 200, the services work together
# (tenant pages, invalidations, query events), the seeds' load scenarios hold their budgets (tests/stack/load-gate.sh),
# schemathesis finds nothing wrong with any of them
# (tests/stack/fuzz.sh; WEDSYNC_FUZZ_EXAMPLES examples per operation, 10 by default), and `scripts/stack down`
# leaves no process behind. Runs the real scripts in a scratch state directory, on free ports: a stack of the
# user's own on the default ports may be running meanwhile.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

export WEDSYNC_STACK_DIR="$(mktemp -d /tmp/wedsync-stack.XXXXXX)"
export WEDSYNC_STACK_PORTS=free
chmod 755 "$WEDSYNC_STACK_DIR"
fail() { ws_log "stack smoke test FAILED: $*"; exit 1; }
# Whatever happens, nothing this test started outlives it.
trap '"$WS_ROOT/scripts/stack" down >/dev/null 2>&1 || true' EXIT

"$WS_ROOT/scripts/stack" up || fail "scripts/stack up failed"
"$WS_ROOT/tests/stack/stack-checks.sh" || fail "the stack's checks failed"
env_value() { ws_env_value "$WEDSYNC_STACK_DIR/env" "$1"; }
service_ports=""
while read -r name folder default_port; do service_ports+=" $(env_value "PORT_${name//-/_}")"; done < <(ws_services)

pids="$(cat "$WEDSYNC_STACK_DIR"/pids/*.pid "$WEDSYNC_STACK_DIR/redis/redis.pid" 2>/dev/null | tr '\n' ' ' || true)"
pids+=" $(head -n 1 "$WEDSYNC_STACK_DIR/postgres/data/postmaster.pid" 2>/dev/null || true)"
ports="$(grep -E '^(REDIS|POSTGRES)_PORT=' "$WEDSYNC_STACK_DIR/env" | cut -d= -f2 | tr '\n' ' ' || true)"

"$WS_ROOT/scripts/stack" down || fail "scripts/stack down failed"

leftovers="$(ps -eo pid=,args= | grep -F "$WEDSYNC_STACK_DIR" | grep -v grep || true)"
for pid in $pids; do
    if ws_alive "$pid"; then leftovers+=$'\n'"process $pid: $(ps -o args= -p "$pid")"; fi
done
for port in $service_ports; do
    if ws_port_in_use "$port"; then leftovers+=$'\n'"port $port (a service) still listening"; fi
done
for port in $ports; do
    if ws_port_in_use "$port"; then leftovers+=$'\n'"port $port (redis or postgres) still listening"; fi
done
[ -z "${leftovers//[$'\n ']/}" ] || fail "processes left behind:$leftovers"

trap - EXIT
rm -rf "$WEDSYNC_STACK_DIR"
ws_log "stack smoke test passed: nothing left behind"
