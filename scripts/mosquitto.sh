#!/usr/bin/env bash
# A mosquitto MQTT broker on loopback for the forward tests.
#
#   bash scripts/mosquitto.sh ensure   install the Debian package if `mosquitto` is missing
#   bash scripts/mosquitto.sh start    start one on 127.0.0.1 (a free port, anonymous, no
#                                      persistence) in the background; prints the port
#   bash scripts/mosquitto.sh stop     stop the one `start` started
#   bash scripts/mosquitto.sh port     print its port (fails if it is not running)
#
# State (config, pid, port, log) lives in target/mosquitto/. The Rust tests do not use `start`:
# they find the binary themselves and run their own brokers (core/tests/support/mod.rs), so a
# test can kill and restart its broker mid-stream; they only need `ensure` to have run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/target/mosquitto"

find_bin() {
    if command -v mosquitto >/dev/null 2>&1; then
        command -v mosquitto
    elif [ -x /usr/sbin/mosquitto ]; then
        echo /usr/sbin/mosquitto
    else
        return 1
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
    [ -f "$state/pid" ] || return 1
    local pid
    pid=$(cat "$state/pid")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

cmd_ensure() {
    if find_bin >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "mosquitto is not installed; run: sudo apt-get install -y mosquitto" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "mosquitto is not installed and there is no apt-get here: install mosquitto with your package manager" >&2
        exit 1
    fi
    echo "mosquitto.sh: installing the Debian package mosquitto" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
    # The package may start a system broker on port 1883; the tests never use it.
    find_bin >/dev/null || { echo "mosquitto.sh: install finished but no mosquitto binary found" >&2; exit 1; }
}

cmd_start() {
    local bin pid port try
    bin=$(find_bin) || { echo "mosquitto is not installed: run bash scripts/mosquitto.sh ensure" >&2; exit 1; }
    if pid=$(running_pid); then
        cat "$state/port"
        return 0
    fi
    mkdir -p "$state"
    for try in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        port_open "$port" && continue
        cat >"$state/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
EOF
        "$bin" -c "$state/mosquitto.conf" >"$state/log" 2>&1 &
        pid=$!
        # Ready once the port accepts connections; gone if the port was taken meanwhile.
        for _ in $(seq 1 100); do
            port_open "$port" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null && port_open "$port"; then
            echo "$pid" >"$state/pid"
            echo "$port" >"$state/port"
            echo "$port"
            return 0
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "mosquitto.sh: could not start mosquitto (see $state/log)" >&2
    exit 1
}

cmd_stop() {
    local pid
    if pid=$(running_pid); then
        kill "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$state/pid" "$state/port"
}

cmd_port() {
    running_pid >/dev/null || { echo "mosquitto.sh: not running" >&2; exit 1; }
    cat "$state/port"
}

case "${1:-}" in
    ensure) cmd_ensure ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    port) cmd_port ;;
    *) echo "usage: $0 ensure|start|stop|port" >&2; exit 2 ;;
esac
