#!/bin/sh
# Entry point of the pmo-backend image: runs one service or command by name.
#
#   intake|portfolio|resourcing|reporting [serve]   HTTP API + Kafka relay and consumers
#   intake|portfolio|resourcing|reporting CMD ...    any other command of that service
#   migrate SERVICE                                  Alembic migrations, exits 0 when done
#   rebuild SERVICE                                  rebuild the service's read models
#   help                                             this text
#   anything else                                    executed as given (python, sh, ...)
#
# The service replaces this shell (exec), so it receives SIGTERM directly.
set -eu

SERVICES="intake portfolio resourcing reporting"

usage() {
    echo "usage: pmo-entrypoint COMMAND [ARG...]"
    sed -n '4,10s/^# \{0,1\}//p' "$0"
}

default_port() {
    case "$1" in
        intake) echo 8001 ;;
        portfolio) echo 8002 ;;
        resourcing) echo 8003 ;;
        reporting) echo 8004 ;;
        *) return 1 ;;
    esac
}

require_service() {
    if ! default_port "${1:-}" >/dev/null; then
        echo "pmo-entrypoint: unknown service '${1:-}' (expected one of: $SERVICES)" >&2
        exit 64
    fi
}

run_service() {
    service=$1
    shift
    if [ "$#" -eq 0 ]; then
        set -- serve
    fi
    if [ "$1" = serve ]; then
        PMO_HTTP_PORT=${PMO_HTTP_PORT:-$(default_port "$service")}
        export PMO_HTTP_PORT
        # For the image's HEALTHCHECK (pmo-healthcheck); /tmp is the one writable place.
        echo "$PMO_HTTP_PORT" > "${HEALTHCHECK_PORT_FILE:-/tmp/pmo-http-port}" 2>/dev/null || true
    fi
    exec python -m "pmo_$service" "$@"
}

if [ "$#" -eq 0 ]; then
    set -- help
fi

case "$1" in
    intake | portfolio | resourcing | reporting)
        run_service "$@"
        ;;
    migrate | rebuild)
        command=$1
        shift
        require_service "${1:-}"
        service=$1
        shift
        run_service "$service" "$command" "$@"
        ;;
    help | -h | --help)
        usage
        ;;
    *)
        exec "$@"
        ;;
esac
