# Real peers for tests and the demo, each private to one run: a swtpm on
# free loopback ports and a system-like dbus-daemon on a unix socket.
# Sourced by tests/test-env and scripts/demo; needs `set -eu` callers.
#
# Every started peer's PID is recorded so peers_stop can end it even when
# the caller failed half-way.

PEERS_PIDS=()

# peers_free_ports: prints a TCP port P on 127.0.0.1 such that nobody
# listens on P or P+1 now. Callers still retry, since another process may
# take one before they bind.
peers_free_ports() {
    local port
    while :; do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! ss -Htln "( sport = :$port or sport = :$((port + 1)) )" 2>/dev/null | grep -q .; then
            echo "$port"
            return 0
        fi
    done
}

# peers_start_swtpm DIR: a TPM 2.0 simulator with its state in DIR.
# Sets SWTPM_PORT, SWTPM_CTRL_PORT and SWTPM_TCTI.
peers_start_swtpm() {
    local dir=$1 try
    mkdir -p "$dir"
    chmod 0700 "$dir"
    for try in 1 2 3 4 5 6 7 8 9 10; do
        # The swtpm TCTI finds the control port at the server port + 1.
        SWTPM_PORT=$(peers_free_ports)
        SWTPM_CTRL_PORT=$((SWTPM_PORT + 1))
        # --daemon returns once both sockets are bound, or fails if taken.
        if swtpm socket --tpm2 \
                --server "type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1" \
                --ctrl "type=tcp,port=$SWTPM_CTRL_PORT,bindaddr=127.0.0.1" \
                --tpmstate "dir=$dir" --flags not-need-init,startup-clear \
                --pid "file=$dir/swtpm.pid" --log "file=$dir/swtpm.log" \
                --daemon 2>>"$dir/swtpm.log"; then
            PEERS_PIDS+=("$(cat "$dir/swtpm.pid")")
            SWTPM_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
            return 0
        fi
    done
    echo "peers: swtpm did not start (see $dir/swtpm.log)" >&2
    return 1
}

# peers_start_bus DIR POLICY: a deny-by-default system-like bus whose
# socket is in DIR, with the bus policy file POLICY installed in it (its
# user="latchkey" rule given to the current user, who runs the daemon).
# Sets BUS_ADDRESS.
peers_start_bus() {
    local dir=$1 policy=$2 srcdir=${PEERS_SRCDIR:?} out
    mkdir -p "$dir"
    chmod 0755 "$dir"
    sed "s|user=\"latchkey\"|user=\"$(id -un)\"|" "$policy" > "$dir/policy.conf"
    sed -e "s|@BUS_DIR@|$dir|" -e "s|@POLICY@|$dir/policy.conf|" \
        "$srcdir/tests/data/system-bus.conf.in" > "$dir/bus.conf"
    out=$(dbus-daemon --config-file="$dir/bus.conf" --fork --nopidfile \
                      --print-address=1 --print-pid=1) || {
        echo "peers: dbus-daemon did not start" >&2
        return 1
    }
    BUS_ADDRESS=$(printf '%s\n' "$out" | sed -n 1p)
    PEERS_PIDS+=("$(printf '%s\n' "$out" | sed -n 2p)")
}

# peers_stop: ends every started peer, politely first.
peers_stop() {
    local pid i
    for pid in "${PEERS_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for i in $(seq 50); do
        local alive=0
        for pid in "${PEERS_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PEERS_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    PEERS_PIDS=()
}
