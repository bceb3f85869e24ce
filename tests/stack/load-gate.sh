#!/usr/bin/env bash
# The load gate, against a running stack (its env file the argument): the seeds' four scenarios through the gateway
# at a short duration scale (WEDSYNC_LOAD_SCALE, 0.1 by default), each with its latency thresholds and the
# cross-check with the metrics service (every request counted, the same p95); the health tier; then
# `wedsync-metrics check-budgets` over the runs. Then it proves the gate can fail: a second gateway whose routes file
# injects a delay on the day's schedules (a `fault`, as Envoy injects one) must fail the mobile-usage scenario
# (exit 99) and the budgets.
#
#   tests/stack/load-gate.sh .stack/env
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

env_file="$1"
scale="${WEDSYNC_LOAD_SCALE:-0.1}"
fail() { ws_log "load gate FAILED: $*"; exit 1; }
work="$(mktemp -d /tmp/wedsync-load-gate.XXXXXX)"
fault_pid=""
cleanup() {
    if [ -n "$fault_pid" ] && kill -TERM "$fault_pid" 2>/dev/null; then
        ws_wait_exit "$fault_pid" 15 || kill -KILL "$fault_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The stack's own build (scripts/stack: WEDSYNC_STACK_BUILD, release by default), so the second gateway is the same.
configuration="${WEDSYNC_STACK_BUILD:-release}"
(cd "$WS_ROOT" && swift build -c "$configuration" --product wedsync-load >"$work/build.log" 2>&1) \
    || { tail -n 30 "$work/build.log" >&2; fail "wedsync-load did not build"; }
bin="$(cd "$WS_ROOT" && swift build -c "$configuration" --show-bin-path)"
value() { ws_env_value "$env_file" "$1"; }
gateway="$(value WEDSYNC_GATEWAY_URL)"
metrics="$(value WEDSYNC_METRICS_URL)"
# Tools read their tokens from the environment, never from their arguments.
in_env() { ( set -a; . "$env_file"; set +a; "$@" ); }

# Per organization of the seeded data: a new supplier token, and ids of its live rows. The file holds tokens.
umask 077
in_env "$bin/wedsync-api" load-data >"$work/data.json" 2>"$work/load-data.log" \
    || { cat "$work/load-data.log" >&2; fail "wedsync-api load-data failed"; }

# run URL SCENARIO — one scenario at the gate's scale, with the cross-check; its table into the work directory.
run() {
    in_env "$bin/wedsync-load" --url "$1" --scenario "$WS_ROOT/tools/load/scenarios/$2.yaml" --data "$work/data.json" \
        --duration-scale "$scale" --cross-check "$metrics" >"$work/$2.txt" 2>"$work/$2.err"
}
# shown NAME — a run's table and messages, for a failure.
shown() { cat "$work/$1.txt" "$work/$1.err" >&2; }

started=$SECONDS
for scenario in wedding-planning vendor-management mobile-usage analytics-dashboard; do
    run "$gateway" "$scenario" || { shown "$scenario"; fail "$scenario did not hold its thresholds or its cross-check"; }
    ws_log "load gate: $(head -n 1 "$work/$scenario.txt")"
done
in_env "$bin/wedsync-load" --url "$gateway" --get health=/health --rate 20 --duration 5s \
    --threshold 'p(95)<50' --threshold 'rate<0.01' >"$work/health.txt" 2>&1 \
    || { cat "$work/health.txt" >&2; fail "the gateway's /health did not hold the health tier"; }
# The budgets over what the runs sent (and the smoke test's few requests before them).
range="$(((SECONDS - started) / 60 + 2))m"
in_env "$bin/wedsync-metrics" check-budgets --url "$metrics" --range "$range" --fail-on-no-data >"$work/budgets.txt" 2>&1 \
    || { cat "$work/budgets.txt" >&2; fail "check-budgets failed after the scenarios"; }
ws_log "load gate: the four scenarios held their thresholds, cross-checks and budgets ($(grep -c . "$work/budgets.txt") budget lines)"

# A slowdown must fail the gate: the same scenario through a gateway that delays the day's schedules by 150 ms.
python3 - "$WS_ROOT/infrastructure/gateway.yaml" "$work/slow-routes.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
marker = "  - name: wedding-day-schedules\n"
assert marker in text, "the routes file has no wedding-day-schedules route"
open(sys.argv[2], "w").write(text.replace(marker, marker + "    fault: {delay-ms: 150}\n", 1))
PY
port="$(ws_free_port)"
gateway_token="$(ws_env_value "$(dirname "$env_file")/service-tokens" wedsync-gateway)"
(
    set -a; . "$env_file"; set +a
    export WEDSYNC_PORT="$port" WEDSYNC_SERVICE_TOKEN="$gateway_token" WEDSYNC_GATEWAY_ROUTES_FILE="$work/slow-routes.yaml"
    exec setsid "$bin/wedsync-gateway" </dev/null >>"$work/slow-gateway.log" 2>&1
) &
fault_pid=$!
ws_wait_http "http://127.0.0.1:$port/ready" 60 "$fault_pid" || { tail -n 30 "$work/slow-gateway.log" >&2; fail "the slowed gateway did not start"; }
slow_started=$SECONDS
status=0
run "http://127.0.0.1:$port" mobile-usage || status=$?
[ "$status" -eq 99 ] || { shown mobile-usage; fail "a 150 ms delay on the day's schedules did not fail mobile-usage (exit $status, expected 99)"; }
grep -q '✗ day schedules: p(95)<100' "$work/mobile-usage.txt" || { shown mobile-usage; fail "the breach was not the day's schedules"; }
status=0
in_env "$bin/wedsync-metrics" check-budgets --url "$metrics" --range "$(((SECONDS - slow_started) / 60 + 1))m" \
    >"$work/slow-budgets.txt" 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat "$work/slow-budgets.txt" >&2; fail "check-budgets did not fail on the delayed route (exit $status, expected 1)"; }
ws_log "load gate: an injected 150 ms on the day's schedules failed the scenario (exit 99) and the budgets (exit 1), as it must"
