#!/usr/bin/env bash
# Shared helpers of scripts/stack, scripts/test and scripts/bench: installing what is missing, finding free ports,
# and starting and stopping throwaway Redis and PostgreSQL servers. Source it; it defines functions only.

WS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

ws_log() { printf '%s\n' "$*" >&2; }
ws_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
ws_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ws_ensure_packages PKG... — installs the Debian packages that are not installed yet (one apt-get run).
ws_ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    ws_log "installing: ${missing[*]}"
    ws_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    ws_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || ws_die "apt-get could not install ${missing[*]}"
}

# The C libraries and servers every build and run needs.
WS_BUILD_PACKAGES=(libpq-dev libhiredis-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libbrotli-dev)
WS_SERVER_PACKAGES=(curl openssl redis-server redis-tools postgresql-15 postgresql-contrib postgresql-15-hypopg pgbouncer)

# ws_ensure_python_module MODULE PIP_NAME — installs a Python package when the module is missing.
ws_ensure_python_module() {
    python3 -c "import $1" 2>/dev/null && return 0
    python3 -m pip --version >/dev/null 2>&1 || ws_ensure_packages python3-pip
    ws_log "installing Python package $2"
    python3 -m pip install --quiet "$2" >/dev/null 2>&1 \
        || python3 -m pip install --quiet --break-system-packages "$2" >/dev/null \
        || ws_die "pip could not install $2"
}

# ws_free_port — prints a TCP port nobody listens on right now.
ws_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ws_port_in_use PORT — succeeds when something listens on 127.0.0.1:PORT.
ws_port_in_use() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(0.3)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

# ws_detached CMD... — runs CMD as a clean daemon parent: every inherited descriptor above 2 closed (a caller waiting
# for end-of-file, or for its child's exit through a socket as Foundation's Process does, would otherwise wait for
# as long as the daemon lives), and the signal mask and dispositions reset (a caller whose threads block signals,
# as test runners do, would otherwise leave the server deaf to SIGTERM).
ws_detached() {
    python3 -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_SETMASK, [])
for number in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
    signal.signal(number, signal.SIG_DFL)
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execvp(sys.argv[1], sys.argv[1:])
' "$@"
}

# ws_start_redis DIR PORT — starts redis-server on 127.0.0.1:PORT with its files in DIR; waits for PONG.
ws_start_redis() {
    local dir="$1" port="$2" i
    mkdir -p "$dir"
    ws_detached redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --dir "$dir" --save "" --appendonly no >/dev/null
    for i in $(seq 1 100); do
        [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ] && return 0
        sleep 0.05
    done
    ws_log "redis-server did not start on port $port:"; tail -n 20 "$dir/redis.log" >&2
    return 1
}

# ws_stop_redis DIR PORT — stops it (and makes sure the process is gone, even if it asks for a password).
ws_stop_redis() {
    local dir="$1" port="$2" pid
    pid="$(ws_pid_of "$dir/redis.pid" redis-server)"
    if [ -n "$pid" ]; then
        # SIGTERM is Redis' own clean shutdown, and needs no password.
        kill -TERM "$pid" 2>/dev/null || true
        ws_wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    else
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
    rm -f "$dir/redis.pid"
}

# ws_free_cluster_port — a free port below 55536 whose cluster bus port (+10000) is free too.
ws_free_cluster_port() {
    python3 -c '
import random, socket
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    port = random.randint(20000, 45000)
    if free(port) and free(port + 10000):
        print(port)
        break
'
}

# ws_start_redis_cluster_node DIR PORT — one cluster-enabled redis-server with its files in DIR/PORT (2 s node timeout:
# a primary that stops answering is failed over by its replica after about that). Started again on the same files,
# a node rejoins its cluster (as a replica, when its slots were failed over meanwhile).
ws_start_redis_cluster_node() {
    local dir="$1" port="$2"
    mkdir -p "$dir/$port"
    ws_detached redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$dir/$port/redis.pid" \
        --logfile "$dir/$port/redis.log" --dir "$dir/$port" --save "" --appendonly no \
        --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" --cluster-node-timeout 2000 >/dev/null
}

# ws_start_redis_cluster DIR [REPLICAS] — starts a 3-primary Redis Cluster with REPLICAS replicas of each primary
# (0 by default) on free ports with its files in DIR/<port>, creates it, and waits until every node says
# cluster_state:ok. Prints the ports, space-separated (the primaries first, as redis-cli assigns them).
ws_start_redis_cluster() {
    local dir="$1" replicas="${2:-0}" ports=() port i
    local nodes=$((3 * (1 + replicas)))
    mkdir -p "$dir"
    for i in $(seq 1 "$nodes"); do
        port="$(ws_free_cluster_port)"
        mkdir -p "$dir/$port"
        ws_start_redis_cluster_node "$dir" "$port"
        ports+=("$port")
    done
    for port in "${ports[@]}"; do
        for i in $(seq 1 100); do
            [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ] && break
            sleep 0.05
        done
    done
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 \
        || { cat "$dir/create.log" >&2; return 1; }
    for i in $(seq 1 200); do
        local ok=0
        for port in "${ports[@]}"; do
            redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && ok=$((ok + 1))
        done
        if [ "$ok" -eq "$nodes" ]; then
            echo "${ports[*]}"
            return 0
        fi
        sleep 0.05
    done
    ws_log "the Redis Cluster did not reach cluster_state:ok"
    return 1
}

# ws_stop_redis_cluster DIR — stops every node ws_start_redis_cluster started in DIR.
ws_stop_redis_cluster() {
    local dir="$1" node
    for node in "$dir"/*/; do
        [ -f "$node/redis.pid" ] && ws_stop_redis "$node" "$(basename "$node")"
    done
    return 0
}

# ws_pg DIR CMD... — runs a PostgreSQL binary as the postgres user when we are root (PostgreSQL refuses root).
ws_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && ws_detached runuser -u postgres -- "$@")
    else
        (cd / && ws_detached "$@")
    fi
}

# ws_start_postgres DIR PORT [fast] — initialises a PostgreSQL 15 cluster in DIR/data if there is none, starts it on
# 127.0.0.1:PORT with hypopg and pg_stat_statements preloaded (WS_PG_PRELOAD adds libraries: pg_qualstats for the
# optimizer's benchmark), and creates the wedsync database. With "fast", durability is traded for speed (tests
# only).
ws_start_postgres() {
    local dir="$1" port="$2" mode="${3:-}"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        ws_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
        cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_stat_statements,hypopg${WS_PG_PRELOAD:+,$WS_PG_PRELOAD}'
pg_stat_statements.track = all
max_connections = 300
shared_buffers = 256MB
CONF
        if [ "$mode" = "fast" ]; then
            printf "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" >>"$dir/data/postgresql.conf"
        fi
    fi
    ws_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null \
        || { tail -n 20 "$dir/postgres.log" >&2; return 1; }
    psql "host=127.0.0.1 port=$port user=postgres dbname=postgres" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || return 1
SELECT 'CREATE DATABASE wedsync' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'wedsync')\gexec
SQL
    psql "host=127.0.0.1 port=$port user=postgres dbname=wedsync" -qAt -v ON_ERROR_STOP=1 \
        -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg; CREATE EXTENSION IF NOT EXISTS pg_trgm;' >/dev/null
}

# ws_start_postgres_replica DIR PORT PRIMARY_PORT — a hot-standby streaming replica of the primary on PRIMARY_PORT
# (pg_basebackup -R: a base backup that starts streaming the primary's log at once), in DIR/data, on PORT. A replica
# made before is started again as it is.
ws_start_postgres_replica() {
    local dir="$1" port="$2" primary="$3" i
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        ws_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/data" -R -X stream -c fast \
            --no-sync >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; return 1; }
        # The primary's settings came with the backup; this server's socket lives in its own directory.
        printf "unix_socket_directories = '%s'\nhot_standby = on\nhot_standby_feedback = on\n" "$dir" >>"$dir/data/postgresql.conf"
    fi
    ws_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null \
        || { tail -n 20 "$dir/postgres.log" >&2; return 1; }
    for i in $(seq 1 200); do
        [ "$(psql "host=127.0.0.1 port=$port user=postgres dbname=wedsync" -qAt -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] && return 0
        sleep 0.05
    done
    echo "the replica on port $port did not accept reads" >&2
    return 1
}

# ws_start_pgbouncer DIR PORT DATABASES... — PgBouncer (transaction pooling) on 127.0.0.1:PORT, each DATABASE an
# entry of its [databases] section ("name = host=127.0.0.1 port=5432 dbname=wedsync pool_size=20 ..."), and
# WS_PGBOUNCER_SETTINGS ("key = value" lines) over its defaults. Trust
# authentication for the users of DIR/userlist.txt (postgres and wedsync_optimizer), as the servers behind it trust
# loopback. It runs as the postgres user (PgBouncer refuses root).
ws_start_pgbouncer() {
    local dir="$1" port="$2" entry i
    shift 2
    mkdir -p "$dir"
    chmod 755 "$dir"
    printf '"postgres" ""\n"wedsync_optimizer" ""\n' >"$dir/userlist.txt"
    {
        echo "[databases]"
        for entry in "$@"; do echo "$entry"; done
        cat <<INI
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
stats_users = postgres
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
server_reset_query =
server_check_delay = 5
server_connect_timeout = 3
server_login_retry = 1
query_wait_timeout = 10
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
        [ -n "${WS_PGBOUNCER_SETTINGS:-}" ] && echo "$WS_PGBOUNCER_SETTINGS"
    } >"$dir/pgbouncer.ini"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
    ws_pg /usr/sbin/pgbouncer -d -q "$dir/pgbouncer.ini" || { tail -n 20 "$dir/pgbouncer.log" >&2; return 1; }
    for i in $(seq 1 200); do
        psql "host=127.0.0.1 port=$port user=postgres dbname=pgbouncer" -qAt -c 'SHOW VERSION' >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "PgBouncer did not start on port $port (log: $dir/pgbouncer.log)" >&2
    return 1
}

# ws_stop_pgbouncer DIR — stops the PgBouncer of DIR, and waits for it.
ws_stop_pgbouncer() {
    local pid
    pid="$(ws_pid_of "$1/pgbouncer.pid" pgbouncer)"
    [ -n "$pid" ] || return 0
    kill -INT "$pid" 2>/dev/null || true
    ws_wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
}

# ws_stop_postgres DIR — stops the cluster in DIR/data (fast shutdown: sessions are ended).
ws_stop_postgres() {
    local dir="$1"
    [ -f "$dir/data/postmaster.pid" ] || return 0
    ws_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || ws_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# ws_alive PID — succeeds while the process runs (a zombie nobody has reaped yet counts as ended).
ws_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat:0:1}" != "Z" ]
}

# ws_wait_exit PID [SECONDS] — waits for a process to end.
ws_wait_exit() {
    local pid="$1" limit="${2:-10}" i
    for i in $(seq 1 $((limit * 20))); do
        ws_alive "$pid" || return 0
        sleep 0.05
    done
    return 1
}

# ws_wait_http URL SECONDS [PID] — waits until URL answers 200, for at most SECONDS (and no longer than PID lives,
# when given); prints the last status seen on failure.
ws_wait_http() {
    local url="$1" limit="${2:-30}" pid="${3:-}" code="" deadline=$((SECONDS + ${2:-30}))
    while [ "$SECONDS" -lt "$deadline" ]; do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$url" 2>/dev/null || true)"
        [ "$code" = "200" ] && return 0
        if [ -n "$pid" ] && ! ws_alive "$pid"; then
            ws_log "the process behind $url has exited"
            return 1
        fi
        sleep 0.1
    done
    ws_log "$url answered '${code:-nothing}' after ${limit}s"
    return 1
}

# ws_pid_of FILE NAME — the pid in FILE if that process is alive and is NAME (a pid file that outlived a reboot
# or crash may name somebody else's process by now); nothing otherwise.
ws_pid_of() {
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [ -n "$pid" ] && ws_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$pid"
    return 0
}

# ws_grant_optimizer_role DATABASE_URL ROLE [PASSWORD] — creates (or updates) the query optimizer's least-privilege
# role in the database of DATABASE_URL (infrastructure/postgres/optimizer-role.sql), as the URL's user (the owner).
ws_grant_optimizer_role() {
    psql "$1" -qAt -v ON_ERROR_STOP=1 -v role="$2" -v password="${3:-}" -f "$WS_ROOT/infrastructure/postgres/optimizer-role.sql" >/dev/null
}

# ws_grant_optimizer_apply_role DATABASE_URL ROLE OWNERS [PASSWORD] — creates (or updates) the role the optimizer
# builds recommended indexes as (infrastructure/postgres/optimizer-apply-role.sql): a NOINHERIT member of the owner
# roles in OWNERS (comma-separated), as the URL's user (a superuser).
ws_grant_optimizer_apply_role() {
    psql "$1" -qAt -v ON_ERROR_STOP=1 -v role="$2" -v owners="$3" -v password="${4:-}" \
        -f "$WS_ROOT/infrastructure/postgres/optimizer-apply-role.sql" >/dev/null
}

# ws_random_token — a 32-character secret.
ws_random_token() {
    head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32
}

# ws_env_value FILE KEY — the last value of KEY in an env file (KEY=value lines, as scripts/stack writes .stack/env);
# empty when the file or the key is missing.
ws_env_value() { { grep -E "^$2=" "$1" 2>/dev/null || true; } | tail -n 1 | cut -d= -f2-; }

# ws_services — the service executables that exist, in start order (dependencies first), as "name folder port".
ws_services() {
    local entry name folder port
    for entry in "wedsync-api api 8090" "wedsync-cache cache 8081" "wedsync-query-optimizer query-optimizer 8082" \
        "wedsync-metrics metrics 8083" "wedsync-autoscaler autoscaler 8084" "wedsync-gateway gateway 8080"; do
        read -r name folder port <<<"$entry"
        [ -d "$WS_ROOT/services/$folder/Sources" ] && echo "$name $folder $port"
    done
    return 0
}

# ws_build_services CONFIGURATION — builds each service executable by product (release or debug), in the repository
# root: what a deployment runs, and nothing else (not the benchmark program, not the tests).
ws_build_services() {
    local name folder port
    while read -r name folder port; do
        (cd "$WS_ROOT" && swift build -c "$1" --product "$name") || return 1
    done < <(ws_services)
}
