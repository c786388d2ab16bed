#!/bin/bash
# A device's first boot: latchkeyd starts before the network is up, so its
# first enrollment fails for want of the network. Its next attempt is an
# hour away (RetryFirst=3600), but when the network changes the daemon
# tries again at once (GIO's network monitor, over netlink). TAP output.
#
# The test changes routes, so it runs in a network namespace of its own
# (as root, or as root of a user namespace), with its own swtpm and EST
# server inside: those of tests/test-env are in the host's namespace. The
# bus is a socket path, reachable from here.
set -u

if [ "${LK_TEST_NETNS:-}" != 1 ]; then
    userns=
    [ "$(id -u)" = 0 ] || userns=--map-root-user
    exec env LK_TEST_NETNS=1 unshare --net $userns "$0" "$@"
fi

echo "1..4"
. "$G_TEST_SRCDIR/tests/tap.sh"

PATH=$PATH:/usr/sbin:/sbin
PEERS_SRCDIR=$G_TEST_SRCDIR
. "$G_TEST_SRCDIR/tests/peers.sh"
work=$LATCHKEY_TEST_DIR/netns
mkdir -p "$work"
log=$work/latchkeyd.log
daemon_pid=
finish() {
    [ -z "$daemon_pid" ] || { kill -TERM "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; }
    peers_stop
}
trap finish EXIT

# wait_log TEXT: until the daemon's log has TEXT (30 s at most).
wait_log() {
    local i
    for i in $(seq 300); do
        grep -qF -- "$1" "$log" && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "# no \"$1\" in the daemon's log:"
    sed 's/^/#   /' "$log"
    return 1
}

ip link set lo up || { echo "Bail out! cannot bring lo up in a network namespace"; exit 1; }
peers_start_swtpm "$work/swtpm" && peers_start_est "$work/est" '"down": true' ||
    { echo "Bail out! the peers did not start"; exit 1; }
printf '%s\n' "$EST_PASSWORD" > "$work/password"
cat > "$work/latchkey.conf" <<CONF
[Daemon]
LogLevel=debug
[Device]
Tcti=$SWTPM_TCTI
[Enrollment]
Url=$EST_URL
TrustAnchors=$EST_CA
Subject=CN=latchkey test device,O=latchkey
BootstrapUser=$EST_USER
BootstrapPassword=$work/password
RetryFirst=3600
RetryMax=3600
CONF
"$G_TEST_BUILDDIR/latchkeyd" --config="$work/latchkey.conf" --state-dir="$LATCHKEY_TEST_STATE_DIR" > "$log" 2>&1 &
daemon_pid=$!

wait_log "enrollment failed (1 in a row): $EST_URL/cacerts: "
ok $? "with the EST server unreachable, the first enrollment fails"
wait_log "next attempt in 3600 s"
ok $? "and its next attempt is an hour away"

# The server comes back, and then the network changes: a default route
# appears, as when an interface comes up (GIO calls the network available
# when there is one).
curl -sS --fail -o /dev/null --data '{"down": false}' "$EST_CONTROL_URL/switches"
ip route add default dev lo
wait_log "the network changed: next attempt in 1 s rather than "
ok $? "the network change brings the next attempt forward"
wait_log "enrolled as CN=latchkey test device,O=latchkey"
state=$(busctl --system get-property io.latchkey.Agent1 /io/latchkey/Agent1 io.latchkey.Agent1.Certificate State)
[ "$state" = 's "enrolled"' ]
ok $? "the device enrolls then (Certificate.State: $state)"
[ "$failures" = 0 ]
