#!/usr/bin/env bash
# Acceptance of the scaled data tier (infrastructure/database-scaling.yaml), on real servers: `scripts/stack up
# --scaled` in a scratch directory on free ports (a PostgreSQL primary, a streaming replica, PgBouncer in transaction
# mode, a Redis Cluster of 3 primaries with a replica each), then
#   1. placement: reads on the replica, writes on the primary, exports on the analytics pool (pg_stat_statements and
#      pg_stat_activity on each server, PgBouncer's clients and stats per pool); the cache's keys on every primary;
#   2. the stack's checks (tests/stack/stack-checks.sh: readiness, the seams between the services, the load gate's
#      four scenarios at their short duration with their thresholds, cross-checks and budgets);
#   3. faults under load from the load tester (mobile-usage through the gateway): the replica stopped (how long until
#      reads leave it, and the 5xx: none beyond the requests in flight), then a Redis primary killed (its replica
#      promoted; the 5xx);
#   4. the acknowledged cache writes lost when a Redis primary dies (wedsync-bench redis-failover).
# Prints the figures; exits non-zero when a check fails. WEDSYNC_STACK_BUILD as for scripts/stack (release by default).
#
#   tests/stack/scaled-stack.sh [--keep]      (--keep: leave the stack running, and say where)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

keep=0
[ "${1:-}" = "--keep" ] && keep=1
export WEDSYNC_STACK_DIR="$(mktemp -d /tmp/wedsync-scaled.XXXXXX)"
export WEDSYNC_STACK_PORTS=free
chmod 755 "$WEDSYNC_STACK_DIR"
work="$WEDSYNC_STACK_DIR/scaled-check"
mkdir -p "$work"
fail() { ws_log "scaled stack FAILED: $*"; exit 1; }
load_pid=""
probe_pid=""
finish() {
    local status=$?
    for pid in $load_pid $probe_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    if [ "$keep" -eq 1 ] && [ "$status" -eq 0 ]; then
        ws_log "the scaled stack keeps running: WEDSYNC_STACK_DIR=$WEDSYNC_STACK_DIR scripts/stack status|down"
    else
        "$WS_ROOT/scripts/stack" down >/dev/null 2>&1 || true
        # Nothing of the scaled stack outlives it: no process started with its directory, no port of its servers.
        local leftovers port
        leftovers="$(ps -eo pid=,args= | grep -F "$WEDSYNC_STACK_DIR" | grep -v grep || true)"
        for port in $(value POSTGRES_PORT) $(value POSTGRES_REPLICA_PORT) $(value PGBOUNCER_PORT) $(value REDIS_CLUSTER_PORTS | tr ',' ' '); do
            ws_port_in_use "$port" && leftovers+=$'\n'"port $port still listening"
        done
        rm -rf "$WEDSYNC_STACK_DIR"
        if [ -n "${leftovers//[$'\n ']/}" ]; then
            ws_log "scaled stack FAILED: left behind after scripts/stack down:$leftovers"
            [ "$status" -eq 0 ] && status=1
        fi
    fi
    exit "$status"
}
trap finish EXIT

"$WS_ROOT/scripts/stack" up --scaled || fail "scripts/stack up --scaled failed"
env_file="$WEDSYNC_STACK_DIR/env"
value() { ws_env_value "$env_file" "$1"; }
in_env() { ( set -a; . "$env_file"; set +a; "$@" ); }
configuration="${WEDSYNC_STACK_BUILD:-release}"
bin="$(cd "$WS_ROOT" && swift build -c "$configuration" --show-bin-path)"
# The failover probe is a benchmark program: built here, as the load gate builds the load tester.
(cd "$WS_ROOT" && swift build -c "$configuration" --product wedsync-bench >"$work/build.log" 2>&1) \
    || { tail -n 30 "$work/build.log" >&2; fail "wedsync-bench did not build"; }
api="$(value WEDSYNC_API_URL)"; gateway="$(value WEDSYNC_GATEWAY_URL)"
demo_token="$(value WEDSYNC_DEMO_TOKEN)"; monitor_token="$(value WEDSYNC_MONITOR_TOKEN)"
primary="host=127.0.0.1 port=$(value POSTGRES_PORT) user=postgres dbname=wedsync"
replica="host=127.0.0.1 port=$(value POSTGRES_REPLICA_PORT) user=postgres dbname=wedsync"
bouncer="host=127.0.0.1 port=$(value PGBOUNCER_PORT) user=postgres dbname=pgbouncer"
cluster_ports="$(value REDIS_CLUSTER_PORTS | tr ',' ' ')"
sql() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
# bouncer SHOW-COMMAND COLUMN... — PgBouncer's admin view, the named columns of each row ('|'-separated): by the
# header's names, whatever PgBouncer's version adds.
bouncer_show() {
    local command="$1"
    shift
    psql "$bouncer" -qAX -F '|' -c "SHOW $command" | awk -F'|' -v wanted="$*" '
        NR == 1 { n = split(wanted, names, " "); for (i = 1; i <= NF; i++) index_of[$i] = i; next }
        /^\(/ { next }
        { line = ""; for (j = 1; j <= n; j++) line = line (j > 1 ? "|" : "") $(index_of[names[j]]); print line }'
}
# bouncer_sent DATABASE — bytes PgBouncer has sent to clients of one of its databases (pools).
bouncer_sent() { bouncer_show STATS database total_sent | awk -F'|' -v db="$1" '$1 == db { print $2 }'; }
# analytics_clients — the API's client connections to PgBouncer's analytics pool (not its monitor's).
analytics_clients() { bouncer_show CLIENTS database application_name | grep -cx 'wedsync_analytics|wedsync-api/analytics' || true; }
authorized() { curl -s --max-time 10 -H "Authorization: Bearer $demo_token" "$@"; }
# in_rotation POOL — the API's own view (/metrics): 1 when POOL serves reads, 0 when not.
in_rotation() {
    curl -s --max-time 5 -H "Authorization: Bearer $monitor_token" "$api/metrics" \
        | awk -v pool="$1" '$1 == "wedsync_postgres_replica_in_rotation{pool=\"" pool "\"}" { print int($2) }'
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND... — until COMMAND succeeds
    local limit="$1" what="$2" i
    shift 2
    for i in $(seq 1 $((limit * 10))); do "$@" && return 0; sleep 0.1; done
    fail "not within ${limit}s: $what"
}
rotation_is() { [ "$(in_rotation "$1")" = "$2" ]; }

# 1. Placement.
wait_for 30 "the replica in the API's read rotation" rotation_is replica-1 1
sql "$primary" "SELECT pg_stat_statements_reset()" >/dev/null
sql "$replica" "SELECT pg_stat_statements_reset()" >/dev/null
analytics_before="$(bouncer_sent wedsync_analytics)"
for page in $(seq 1 40); do
    authorized -o /dev/null "$api/api/clients?from=2026-01-01&to=2028-12-31&limit=$((page % 20 + 1))"
done
client_id="$(authorized "$api/api/clients?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["clients"][0]["id"])')"
patched="$(authorized -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
    -d '{"notes":"scaled stack check"}' "$api/api/clients/$client_id")"
[ "$patched" = 200 ] || fail "PATCH /api/clients/$client_id answered $patched"
authorized -o "$work/export.csv" "$api/api/exports/clients?format=csv"
[ "$(wc -l <"$work/export.csv")" -gt 100 ] || fail "the export returned $(wc -l <"$work/export.csv") lines"
activity() { sql "$1" "SELECT application_name || ': ' || count(*) FROM pg_stat_activity WHERE datname = 'wedsync' AND backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY application_name ORDER BY application_name" | paste -sd ',' -; }
primary_activity="$(activity "$primary")"; replica_activity="$(activity "$replica")"
bouncer_clients="$(bouncer_show CLIENTS database application_name | sed 's/|/ <- /' | sort | uniq -c | sed 's/^ *//' | paste -sd ',' -)"
reads_on_replica="$(sql "$replica" "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%FROM clients c%' AND query NOT LIKE '%FOR UPDATE%'")"
reads_on_primary="$(sql "$primary" "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%FROM clients c%' AND query NOT LIKE '%FOR UPDATE%'")"
updates_on_primary="$(sql "$primary" "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE 'UPDATE clients%'")"
analytics_after="$(bouncer_sent wedsync_analytics)"
[ "$reads_on_replica" -ge 40 ] || fail "the replica ran $reads_on_replica client-list reads (expected at least 40)"
[ "$updates_on_primary" -ge 1 ] || fail "the primary ran no UPDATE of a client"
[ $((analytics_after - analytics_before)) -gt 50000 ] || fail "the analytics pool sent $((analytics_after - analytics_before)) bytes for a 110 KB export"
[ "$(analytics_clients)" -ge 1 ] || fail "the export did not use the API's analytics pool"
[[ "$primary_activity" == *wedsync-api* ]] || fail "pg_stat_activity on the primary: $primary_activity"
[[ "$replica_activity" == *wedsync-api/* ]] || fail "pg_stat_activity on the replica: $replica_activity"
ws_log "placement: replica ran $reads_on_replica client reads; primary ran $reads_on_primary client reads and $updates_on_primary client updates; the export's $((analytics_after - analytics_before)) bytes came through the analytics pool"
ws_log "pg_stat_activity primary [$primary_activity] replica [$replica_activity]; PgBouncer clients [$bouncer_clients]"

# The gateway's cached pages and the cache service's entries, spread over every primary by hash slot.
for id in $(authorized "$api/api/clients?limit=100" | python3 -c 'import json,sys; print(" ".join(str(c["id"]) for c in json.load(sys.stdin)["clients"]))'); do
    authorized -o /dev/null "$gateway/api/clients/$id"
done
spread=""
for port in $cluster_ports; do
    [ "$(redis-cli -p "$port" role | head -n 1)" = master ] || continue
    keys="$(redis-cli -p "$port" dbsize)"
    [ "$keys" -gt 0 ] || fail "the Redis primary on $port holds no key"
    spread+="${spread:+, }$port: $keys"
done
ws_log "cache keys per Redis primary: $spread"

# 2. The stack's checks (readiness, the seams between the services, the load gate) on the scaled tier.
"$WS_ROOT/tests/stack/stack-checks.sh" --no-fuzz || fail "the stack's checks failed on the scaled stack"

# 3. Faults under load: mobile-usage through the gateway (100 phones), a replica stopped, then a Redis primary killed.
umask 077
in_env "$bin/wedsync-api" load-data >"$work/data.json" 2>"$work/load-data.log" || fail "wedsync-api load-data failed"
in_env "$bin/wedsync-load" --url "$gateway" --scenario "$WS_ROOT/tools/load/scenarios/mobile-usage.yaml" \
    --data "$work/data.json" --duration-scale 0.4 --json >"$work/faults.json" 2>"$work/faults.err" &
load_pid=$!
sleep 15
replica_dir="$WEDSYNC_STACK_DIR/postgres-replica"
stopped_at=$(date +%s%N)
ws_pg "$PG_BIN/pg_ctl" -D "$replica_dir/data" -m fast -w stop >/dev/null
wait_for 30 "reads leaving the stopped replica" rotation_is replica-1 0
left_ms=$((($(date +%s%N) - stopped_at) / 1000000))
sleep 10
ws_start_postgres_replica "$replica_dir" "$(value POSTGRES_REPLICA_PORT)" "$(value POSTGRES_PORT)" || fail "the replica did not start again"
wait_for 60 "the replica back in rotation" rotation_is replica-1 1
victim=""
for port in $cluster_ports; do [ "$(redis-cli -p "$port" role | head -n 1)" = master ] && { victim="$port"; break; }; done
killed_at=$(date +%s%N)
kill -KILL "$(cat "$WEDSYNC_STACK_DIR/redis-cluster/$victim/redis.pid")"
# promoted — the cluster has failed the victim over: a live node lists it as failed and three other primaries serving.
promoted() {
    local port nodes
    for port in $cluster_ports; do
        [ "$port" = "$victim" ] && continue
        nodes="$(redis-cli -p "$port" cluster nodes 2>/dev/null)" || continue
        printf '%s\n' "$nodes" | grep -q "127.0.0.1:$victim@.*master,fail" || return 1
        [ "$(printf '%s\n' "$nodes" | awk '$3 ~ /master/ && $3 !~ /fail/' | wc -l)" -eq 3 ] || return 1
        redis-cli -p "$port" cluster info 2>/dev/null | grep -q cluster_state:ok
        return
    done
    return 1
}
wait_for 30 "the cluster serving every slot after the primary on $victim died" promoted
promoted_ms=$((($(date +%s%N) - killed_at) / 1000000))
wait "$load_pid" || true
load_pid=""
ws_start_redis_cluster_node "$WEDSYNC_STACK_DIR/redis-cluster" "$victim"
read -r requests server_errors other_failures statuses < <(python3 - "$work/faults.json" <<'PY'
import json, sys
overall = json.load(open(sys.argv[1]))["overall"]
statuses = overall["statuses"]
server = sum(n for code, n in statuses.items() if code.isdigit() and int(code) >= 500)
other = sum(n for code, n in statuses.items() if not code.isdigit() or int(code) < 200 or 400 <= int(code) < 500)
print(overall["requests"], server, other, ",".join(f"{c}:{n}" for c, n in sorted(statuses.items())))
PY
)
ws_log "faults under load: $requests requests ($statuses); replica stopped: out of the read rotation after ${left_ms} ms; Redis primary killed: its replica promoted after ${promoted_ms} ms"
[ "$other_failures" = 0 ] || fail "$other_failures requests failed other than with a 5xx during the faults ($statuses)"
[ "$server_errors" -le 5 ] || fail "$server_errors 5xx during the faults ($statuses)"

# 4. Acknowledged cache writes across a failover: writers until a primary is killed and the cluster recovers.
wait_for 30 "the restarted node back in the cluster" bash -c "redis-cli -p $victim cluster info 2>/dev/null | grep -q cluster_state:ok"
urls="$(for port in $cluster_ports; do printf 'redis://127.0.0.1:%s,' "$port"; done | sed 's/,$//')"
rm -f "$work/probe.stop"
"$bin/wedsync-bench" redis-failover --redis-urls "$urls" --seconds 120 --until-file "$work/probe.stop" \
    >"$work/probe.json" 2>"$work/probe.err" &
probe_pid=$!
sleep 5
victim=""
for port in $cluster_ports; do [ "$(redis-cli -p "$port" role | head -n 1)" = master ] && { victim="$port"; break; }; done
kill -KILL "$(cat "$WEDSYNC_STACK_DIR/redis-cluster/$victim/redis.pid")"
wait_for 30 "the cluster serving every slot after the primary on $victim died" promoted
sleep 3
touch "$work/probe.stop"
wait "$probe_pid" || { cat "$work/probe.err" >&2; fail "the failover probe failed"; }
probe_pid=""
ws_start_redis_cluster_node "$WEDSYNC_STACK_DIR/redis-cluster" "$victim"
ws_log "cache writes across a Redis failover: $(cat "$work/probe.json")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["acknowledged"] > 1000 and d["unreadableAfter60s"] == 0 else 1)' "$work/probe.json" \
    || fail "the probe wrote too little or could not read back after the failover"
ws_log "scaled stack: placement, load gate, faults and failover probe done"
