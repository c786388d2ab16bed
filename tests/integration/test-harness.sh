#!/bin/bash
# The test harness itself: tests/test-env must give each test real, private
# peers and must clean up after a test whatever it does. TAP output.
set -u

. "$G_TEST_SRCDIR/tests/tap.sh"

# nested_ok STATUS DESCRIPTION: ok, showing what the nested harness said
# when it failed.
nested_ok() {
    [ "$1" = 0 ] || sed 's/^/# test-env: /' "$record/stderr"
    ok "$@"
}

# A killed process may stay a zombie until its new parent reaps it.
alive() {
    local state
    state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$state" != Z ]
}

echo "1..8"

# A TPM answers on the TCTI the harness gives.
random=$(TPM2TOOLS_TCTI="$LATCHKEY_TEST_TCTI" tpm2_getrandom --hex 16 2>&1)
[[ $random =~ ^[0-9a-f]{32}$ ]] || { echo "# tpm2_getrandom said: $random"; false; }
ok $? "swtpm answers on \$LATCHKEY_TEST_TCTI ($LATCHKEY_TEST_TCTI)"

# The bus is the system kind and denies what its policy does not allow.
reply=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.RequestName string:org.example.Intruder uint32:0 2>&1)
[[ $reply == *"org.freedesktop.DBus.Error.AccessDenied"* ]]
ok $? "the private bus refuses to let anyone own a name its policy does not grant"

mode=$(stat -c %a "$LATCHKEY_TEST_STATE_DIR")
[ "$mode" = 700 ] && [ -z "$(ls -A "$LATCHKEY_TEST_STATE_DIR")" ]
ok $? "the state dir is private (mode $mode) and empty"

[ "$DBUS_SESSION_BUS_ADDRESS" = "unix:path=$LATCHKEY_TEST_DIR/no-session-bus" ]
ok $? "nothing can reach the developer's session bus"

# A real OpenID provider on demand, over HTTPS with a CA we trust.
(
    set -e
    PEERS_SRCDIR=$G_TEST_SRCDIR
    . "$G_TEST_SRCDIR/tests/peers.sh"
    trap peers_stop EXIT
    peers_start_oidc "$LATCHKEY_TEST_DIR/oidc"
    discovery=$(curl -sS --fail --cacert "$OIDC_CA" "$OIDC_ISSUER/.well-known/openid-configuration")
    [[ $discovery == *"\"issuer\":\"$OIDC_ISSUER\""* ]]
    [[ $discovery == *"\"device_authorization_endpoint\":\"$OIDC_ISSUER/device/auth\""* ]]
    # Its certificate is only good for the test CA.
    ! curl -sS --fail "$OIDC_ISSUER/.well-known/openid-configuration" >/dev/null 2>&1
)
ok $? "an OpenID provider with the device flow serves its discovery document over verified TLS"

# A nested run of the harness, to see what it leaves behind.
test_env="$G_TEST_SRCDIR/tests/test-env"
record=$LATCHKEY_TEST_DIR/nested
mkdir -p "$record"

# A test that leaves a process outside its session is failed with 99, and
# the process is ended.
"$test_env" bash -c '
    echo "$LATCHKEY_TEST_DIR" > "$0/dir"
    setsid sleep 600 &
    escaped=$!
    echo $escaped > "$0/escaped"
    # Leave only once it has its session, out of reach of the group kill.
    while [ "$(ps -o sid= -p $escaped | tr -d " ")" != $escaped ]; do sleep 0.01; done
    exit 0' "$record" 2>"$record/stderr"
status=$?
nested_dir=$(cat "$record/dir")
escaped=$(cat "$record/escaped")
sleep 0.2
[ "$status" = 99 ] && ! alive "$escaped" && [ ! -e "$nested_dir" ] \
    && ! pgrep -f -- "$nested_dir" >/dev/null \
    && grep -q "left processes behind: $escaped\$" "$record/stderr"
nested_ok $? "a test that leaks a process fails (status $status) and the process is killed"

# A failing test's status is passed on, and its peers are stopped.
"$test_env" bash -c 'echo "$LATCHKEY_TEST_DIR" > "$0/dir"; exit 3' "$record" 2>"$record/stderr"
status=$?
nested_dir=$(cat "$record/dir")
[ "$status" = 3 ] && [ ! -e "$nested_dir" ] && ! pgrep -f -- "$nested_dir" >/dev/null
nested_ok $? "a failing test's status ($status) is kept and its peers are stopped"

# Killing the harness mid-test stops the test, its children and its peers.
rm -f "$record/dir"
"$test_env" bash -c 'echo "$LATCHKEY_TEST_DIR" > "$0/dir.tmp"; mv "$0/dir.tmp" "$0/dir"; sleep 600 & wait' \
    "$record" 2>"$record/stderr" &
harness=$!
for _ in $(seq 100); do
    [ -e "$record/dir" ] && break
    sleep 0.05
done
nested_dir=$(cat "$record/dir")
kill -TERM "$harness"
wait "$harness"
status=$?
sleep 0.2
[ "$status" = 143 ] && [ ! -e "$nested_dir" ] && ! pgrep -f -- "$nested_dir" >/dev/null
nested_ok $? "a harness killed by SIGTERM (status $status) leaves no process and no directory"

[ "$failures" = 0 ]
