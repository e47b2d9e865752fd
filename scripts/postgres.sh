#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for the hub's tests and figures.
#
#   bash scripts/postgres.sh ensure   install the Debian package postgresql if no server binary
#                                     (initdb/postgres under /usr/lib/postgresql/*/bin) exists
#   bash scripts/postgres.sh start    create a cluster in target/postgres/ (first time), start it on
#                                     127.0.0.1 only, on a free port, trust auth for loopback,
#                                     create database `aisle`; prints its URL
#   bash scripts/postgres.sh stop     stop the one `start` started
#   bash scripts/postgres.sh url      print its URL (fails if it is not running)
#
# The URL is postgres://postgres@127.0.0.1:PORT/aisle. The server never listens on anything but
# 127.0.0.1 (and no Unix socket outside target/postgres/), so test traffic stays on this machine.
# Run as root, the server runs as the `postgres` system user (PostgreSQL refuses to run as root)
# and the data directory is owned by it. Every command is idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/target/postgres"
data="$state/data"

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs a command as the user that owns the cluster.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

running_port() {
    local bindir
    [ -f "$state/port" ] || return 1
    bindir=$(find_bindir) || return 1
    as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 1
    cat "$state/port"
}

cmd_ensure() {
    if find_bindir >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "PostgreSQL is not installed and there is no apt-get here: install postgresql with your package manager" >&2
        exit 1
    fi
    echo "postgres.sh: installing the Debian package postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The package creates a system cluster and may start it on port 5432; the tests never use it.
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    find_bindir >/dev/null || { echo "postgres.sh: install finished but no initdb/postgres found" >&2; exit 1; }
}

cmd_start() {
    local bindir port try
    bindir=$(find_bindir) || { echo "PostgreSQL is not installed: run bash scripts/postgres.sh ensure" >&2; exit 1; }
    if port=$(running_port); then
        echo "postgres://postgres@127.0.0.1:$port/aisle"
        return 0
    fi
    mkdir -p "$state"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$state" --shell /usr/sbin/nologin postgres
        chown postgres "$state"
        # The server must be able to reach its data directory through every parent.
        local d="$state"
        while [ "$d" != / ]; do
            d=$(dirname "$d")
            chmod o+x "$d" 2>/dev/null || true
        done
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        rm -rf "$data"
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$state/initdb.log" 2>&1 \
            || { echo "postgres.sh: initdb failed (see $state/initdb.log)" >&2; exit 1; }
        # Loopback only, trust: a throwaway cluster for tests.
        cat >"$data/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
    fi
    for try in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        port_open "$port" && continue
        if as_owner "$bindir/pg_ctl" -D "$data" -l "$state/log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $state -c max_connections=300 -c fsync=on -c shared_buffers=128MB" \
            start >/dev/null 2>&1; then
            echo "$port" >"$state/port"
            as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc \
                "SELECT 1 FROM pg_database WHERE datname = 'aisle'" | grep -q 1 \
                || as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres aisle
            echo "postgres://postgres@127.0.0.1:$port/aisle"
            return 0
        fi
        as_owner "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    done
    echo "postgres.sh: could not start PostgreSQL (see $state/log)" >&2
    exit 1
}

cmd_stop() {
    local bindir
    if bindir=$(find_bindir) && [ -f "$data/PG_VERSION" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
    rm -f "$state/port"
}

cmd_url() {
    local port
    port=$(running_port) || { echo "postgres.sh: not running" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/aisle"
}

case "${1:-}" in
    ensure) cmd_ensure ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    *) echo "usage: $0 ensure|start|stop|url" >&2; exit 2 ;;
esac
