#!/usr/bin/env bash
# The WedSync PostgreSQL image's entrypoint. On the official postgres image it hands over to docker-entrypoint.sh.
# On a plain Debian base (no registry reachable: see the Dockerfile) it does what that script does for this stack:
# on the first start, initdb with POSTGRES_USER's password (local connections trusted, every other host with
# scram-sha-256, listening on all addresses), POSTGRES_DB created, /docker-entrypoint-initdb.d/*.sql and *.sh run
# against a temporary server listening on no TCP address (so a probe over TCP, such as the compose health check,
# only succeeds once initialisation is over); then the server, as the postgres user.
set -Eeuo pipefail

if [ -x /usr/local/bin/docker-entrypoint.sh ]; then
    exec /usr/local/bin/docker-entrypoint.sh "$@"
fi

# `-c`-only arguments mean "postgres with these settings", as the official image reads them.
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
    exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRES_INITDB_ARGS:-}
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

    # The temporary server takes the command's settings (shared_preload_libraries...), on the Unix socket only.
    shift
    pg_ctl -D "$PGDATA" -w -t 60 start -o "$(printf '%q ' -c listen_addresses= -p 5432 "$@")"
    psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for file in /docker-entrypoint-initdb.d/*; do
        case "$file" in
            *.sql) echo "running $file"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$file" ;;
            *.sh) echo "running $file"; if [ -x "$file" ]; then "$file"; else . "$file"; fi ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    set -- postgres "$@"
    echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
