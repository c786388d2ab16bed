#!/bin/bash
# The EST test server (tests/est/server.mjs), started by `tests/peer est`,
# against real clients only: curl for HTTPS, openssl and certtool for keys,
# requests and PKCS#7. What the daemon's enrollment tests will rely on must
# hold here first. TAP output.
set -u

. "$G_TEST_SRCDIR/tests/tap.sh"

# check DESCRIPTION: ok if the subshell just run as `( ... ); check ...`
# succeeded. Each case runs in a `set -e` subshell, so its first failing
# command fails it; `say` explains why in the TAP output.
check() {
    ok "$status" "$1"
}
say() {
    echo "# $*"
}
# fails COMMAND...: succeeds when COMMAND fails. Unlike `! COMMAND`, which
# `set -e` ignores, a failure here fails the case.
fails() {
    ! "$@"
}

work=$LATCHKEY_TEST_DIR/work
mkdir -p "$work"
cd "$work" || exit 1

# The peer, as C tests will start it: its facts, then READY; it stops when
# its standard input closes.
start_peer() {
    local dir=$1 members=$2 line
    coproc PEER { exec "$G_TEST_SRCDIR/tests/peer" est "$dir" "$members"; }
    while read -r line <&"${PEER[0]}"; do
        [ "$line" = READY ] && return 0
        [[ $line =~ ^EST_[A-Z_]+= ]] && declare -g "$line"
    done
    return 1
}
stop_peer() {
    local pid=$PEER_PID
    exec {PEER[1]}>&-
    wait "$pid"
}

started=$(date +%s%N)
start_peer "$LATCHKEY_TEST_DIR/est" '"lifetime": 20, "user": "factory-line", "password": "open sesame"' ||
    { echo "Bail out! tests/peer est did not start"; exit 1; }
say "the EST server started in $(( ($(date +%s%N) - started) / 1000000 )) ms"

# --- helpers -----------------------------------------------------------------

# new_key NAME: a P-256 key NAME-key.pem.
new_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1-key.pem"
}
# new_csr NAME SUBJECT: a key NAME-key.pem and its request NAME.b64 (base64
# DER, as EST sends it) for SUBJECT (/CN=...).
new_csr() {
    new_key "$1"
    openssl req -new -key "$1-key.pem" -subj "$2" -outform DER | openssl base64 > "$1.b64"
}
# post OPERATION CSR OUT [CURL-ARGS...]: POSTs the request CSR to the EST
# OPERATION (LABEL/OPERATION also); the body goes to OUT, the headers to
# OUT.headers; prints the HTTP status.
post() {
    local operation=$1 csr=$2 out=$3
    shift 3
    curl -sS --cacert "$EST_CA" -o "$out" -D "$out.headers" -w '%{http_code}' \
        -H 'Content-Type: application/pkcs10' -H 'Content-Transfer-Encoding: base64' \
        --data-binary "@$csr" "$@" "$EST_URL/$operation"
}
basic=(-u "$EST_USER:$EST_PASSWORD")
# header FILE NAME: the value of header NAME in the saved headers FILE.
header() {
    tr -d '\r' < "$1" | sed -n "s/^$2: //Ip"
}
# certs_of IN OUT: the certificates of the base64 PKCS#7 IN, as PEM in OUT;
# prints how many there are.
certs_of() {
    openssl base64 -d -in "$1" | openssl pkcs7 -inform DER -print_certs -out "$2" &&
    grep -c 'BEGIN CERTIFICATE' "$2"
}
# spki_of_cert CERT, spki_of_key KEY: the SHA-256 of the public key's DER
# SubjectPublicKeyInfo, as the server's log gives it.
spki_of_cert() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}
spki_of_key() {
    openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1
}
serial_of() {
    openssl x509 -in "$1" -serial -noout | sed 's/^serial=//' | tr A-F a-f
}
fingerprint() {
    openssl x509 -in "$1" -noout -fingerprint -sha256
}
# switch JSON: sets switches on the control endpoint.
switch() {
    curl -sS --fail-with-body -o /dev/null --data "$1" "$EST_CONTROL_URL/switches"
}
# log FILTER: jq FILTER applied to the server's record of what it did.
log() {
    curl -sS --fail "$EST_CONTROL_URL/log" | jq -r "$1"
}
issued_count() {
    log '.issued | length'
}

# --- the peer and its facts --------------------------------------------------

(
    set -e
    [[ $EST_URL =~ ^https://127\.0\.0\.1:[0-9]+/\.well-known/est$ ]]
    [[ $EST_CONTROL_URL =~ ^http://127\.0\.0\.1:[0-9]+$ ]]
    [ "$EST_USER" = factory-line ] && [ "$EST_PASSWORD" = "open sesame" ]
    for file in "$EST_CA" "$EST_ISSUING_CA" "$EST_BOOTSTRAP_CA" "$EST_BOOTSTRAP_CERT"; do
        openssl x509 -in "$file" -noout
    done
    for file in "$EST_BOOTSTRAP_CA_KEY" "$EST_BOOTSTRAP_KEY"; do
        openssl pkey -in "$file" -noout
    done
    openssl verify -CAfile "$EST_BOOTSTRAP_CA" -purpose sslclient "$EST_BOOTSTRAP_CERT" >/dev/null
    # Three CAs, three keys: trusting one says nothing of the others.
    [ "$(fingerprint "$EST_CA")" != "$(fingerprint "$EST_ISSUING_CA")" ]
    [ "$(fingerprint "$EST_ISSUING_CA")" != "$(fingerprint "$EST_BOOTSTRAP_CA")" ]
); status=$?
check "tests/peer est prints its URLs, its credentials as configured, and its CAs and factory pair as PEM files"

# --- /cacerts --------------------------------------------------------------------

(
    set -e
    status=$(curl -sS --cacert "$EST_CA" -o cacerts.b64 -D cacerts.headers -w '%{http_code}' "$EST_URL/cacerts")
    [ "$status" = 200 ] || { say "status $status"; false; }
    [ "$(header cacerts.headers Content-Type)" = application/pkcs7-mime ]
    [ "$(header cacerts.headers Content-Transfer-Encoding)" = base64 ]
    [ "$(certs_of cacerts.b64 cacerts.pem)" = 1 ]
    [ "$(fingerprint cacerts.pem)" = "$(fingerprint "$EST_ISSUING_CA")" ]
    # GnuTLS, which the daemon uses, reads it too: no signers, one certificate.
    openssl base64 -d -in cacerts.b64 > cacerts.der
    certtool --p7-info --inder --infile cacerts.der > cacerts.info
    grep -qx 'Number of certificates: 1' cacerts.info
    fails grep -q 'Signer #' cacerts.info
    # RFC 5652 §5.2: with no signers, the encapsulated content is omitted:
    # right after the id-data OID come the certificates.
    openssl asn1parse -inform DER -in cacerts.der | grep -A1 ':pkcs7-data$' | tail -n 1 | grep -q 'd=3 .*cont \[ 0 \]'
); status=$?
check "GET /cacerts: 200, application/pkcs7-mime, base64 of a certs-only PKCS#7 holding exactly the issuing CA"

(
    set -e
    status=$(curl -sS --cacert "$EST_CA" -o labeled.b64 -w '%{http_code}' "$EST_URL/fleet-a/cacerts")
    [ "$status" = 200 ] && cmp -s labeled.b64 cacerts.b64
    [ "$(log '.requests[-1] | "\(.operation) \(.label)"')" = "cacerts fleet-a" ]
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "$EST_URL/csrattrs")" = 404 ]
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' -X POST "$EST_URL/cacerts")" = 405 ]
); status=$?
check "under a label (/.well-known/est/fleet-a/cacerts) the same, recorded with its label; other paths 404, other methods 405"

(
    set -e
    # The system's anchors do not know the test CA.
    curl -sS -o /dev/null "$EST_URL/cacerts" 2>/dev/null && exit 1
    code=$?
    [ "$code" = 60 ] || { say "curl exit $code"; false; }
    # Nor does the issuing CA vouch for the TLS server: they are separate.
    curl -sS --cacert "$EST_ISSUING_CA" -o /dev/null "$EST_URL/cacerts" 2>/dev/null && exit 1
    true
); status=$?
check "the EST server's TLS certificate verifies with EST_CA alone, not with the system's anchors nor the issuing CA"

# --- /simpleenroll ---------------------------------------------------------------

(
    set -e
    new_csr device "/CN=device-1/O=latchkey test"
    status=$(post simpleenroll device.b64 enrolled.b64 "${basic[@]}")
    [ "$status" = 200 ] || { say "status $status: $(cat enrolled.b64)"; false; }
    [ "$(header enrolled.b64.headers Content-Type)" = "application/pkcs7-mime; smime-type=certs-only" ]
    [ "$(header enrolled.b64.headers Content-Transfer-Encoding)" = base64 ]
    [ "$(certs_of enrolled.b64 device.pem)" = 1 ]
    [ "$(spki_of_cert device.pem)" = "$(spki_of_key device-key.pem)" ]
    [ "$(openssl x509 -in device.pem -noout -subject)" = \
      "$(openssl base64 -d -in device.b64 | openssl req -inform DER -noout -subject)" ]
    openssl verify -CAfile "$EST_ISSUING_CA" -purpose sslclient device.pem >/dev/null
    fails openssl verify -CAfile "$EST_CA" device.pem >/dev/null 2>&1
    start=$(date -d "$(openssl x509 -in device.pem -noout -startdate | cut -d= -f2)" +%s)
    end=$(date -d "$(openssl x509 -in device.pem -noout -enddate | cut -d= -f2)" +%s)
    [ $((end - start)) = 20 ] || { say "lifetime $((end - start)) s"; false; }
    [ "$(log '.issued[-1] | "\(.serial) \(.spkiSha256) \(.csrSpkiSha256) \(.operation) \(.auth)"')" = \
      "$(serial_of device.pem) $(spki_of_key device-key.pem) $(spki_of_key device-key.pem) simpleenroll basic" ]
); status=$?
check "simpleenroll with Basic: 200 certs-only, one certificate for the CSR's key and subject, chaining to the issuing CA, valid exactly the configured 20 s, recorded"

(
    set -e
    before=$(issued_count)
    new_csr stranger /CN=stranger
    status=$(post simpleenroll stranger.b64 wrong.out -u "$EST_USER:not the password")
    [ "$status" = 401 ] || { say "wrong password: $status"; false; }
    [ "$(header wrong.out.headers WWW-Authenticate)" = 'Basic realm="est", charset="UTF-8"' ]
    status=$(post simpleenroll stranger.b64 none.out)
    [ "$status" = 401 ] || { say "no password: $status"; false; }
    # A client certificate from a CA the server does not know proves nothing.
    openssl req -x509 -new -key stranger-key.pem -subj /CN=stranger -days 1 -out self-signed.pem
    status=$(post simpleenroll stranger.b64 self.out --cert self-signed.pem --key stranger-key.pem)
    [ "$status" = 401 ] || { say "self-signed certificate: $status"; false; }
    [ "$(log '[.requests[-3:][] | .auth] | join(" ")')" = "none none none" ]
    [ "$(issued_count)" = "$before" ]
); status=$?
check "simpleenroll with a wrong password, none, or a certificate of an unknown CA: 401 with a Basic challenge, nothing issued"

(
    set -e
    before=$(issued_count)
    # The last byte is inside the signature: the request still parses, but
    # its signature no longer verifies with its key.
    openssl base64 -d -in device.b64 > good.der
    last=$(tail -c 1 good.der | od -An -tu1 | tr -d ' ')
    { head -c -1 good.der; printf "\\$(printf '%03o' $((last ^ 1)))"; } > forged.der
    openssl req -inform DER -in forged.der -noout
    # (openssl 3.0's req -verify exits 0 either way: read what it says.)
    openssl req -inform DER -in forged.der -noout -verify 2>&1 | grep -q 'verify failure'
    openssl base64 -in forged.der > forged.b64
    status=$(post simpleenroll forged.b64 forged.out "${basic[@]}")
    [ "$status" = 400 ] || { say "forged signature: $status"; false; }
    grep -q 'proof of possession' forged.out
    echo 'not base64!' > junk.b64
    status=$(post simpleenroll junk.b64 junk.out "${basic[@]}")
    [ "$status" = 400 ] || { say "junk: $status"; false; }
    openssl base64 -in cacerts.der > notcsr.b64
    status=$(post simpleenroll notcsr.b64 notcsr.out "${basic[@]}")
    [ "$status" = 400 ] || { say "a PKCS#7 instead of a CSR: $status"; false; }
    status=$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "${basic[@]}" \
             -H 'Content-Type: text/plain' --data-binary @device.b64 "$EST_URL/simpleenroll")
    [ "$status" = 415 ] || { say "text/plain: $status"; false; }
    [ "$(issued_count)" = "$before" ]
); status=$?
check "simpleenroll refuses a CSR whose signature does not verify (400, no proof of possession), a body that is no CSR (400) and another type (415)"

(
    set -e
    # This time a request made by GnuTLS, as the daemon makes them.
    certtool --generate-privkey --key-type=ecdsa --outfile gnutls-key.pem 2>/dev/null
    printf 'cn = "device-2"\n' > gnutls.tmpl
    certtool --generate-request --load-privkey gnutls-key.pem --template gnutls.tmpl --outder \
        --outfile gnutls.der 2>/dev/null
    openssl base64 -in gnutls.der > gnutls.b64
    status=$(post simpleenroll gnutls.b64 factory.b64 --cert "$EST_BOOTSTRAP_CERT" --key "$EST_BOOTSTRAP_KEY")
    [ "$status" = 200 ] || { say "status $status: $(cat factory.b64)"; false; }
    [ "$(certs_of factory.b64 device2.pem)" = 1 ]
    [ "$(spki_of_cert device2.pem)" = "$(spki_of_key gnutls-key.pem)" ]
    openssl verify -CAfile "$EST_ISSUING_CA" device2.pem >/dev/null
    [ "$(log '.issued[-1] | "\(.serial) \(.auth)"')" = "$(serial_of device2.pem) bootstrap-cert" ]
); status=$?
check "simpleenroll with the factory client certificate and no password: 200, a certificate for the CSR's key, recorded as bootstrap-cert"

# --- /simplereenroll -------------------------------------------------------------

# RFC 7030 §4.2.2: a re-enrollment is authenticated by the certificate being
# renewed. Anything else is refused with 403, not 401: 401 asks the client
# for HTTP credentials (RFC 9110 §15.5.2), and none could make it acceptable.
(
    set -e
    before=$(issued_count)
    new_csr rotated "/CN=device-1/O=latchkey test"
    status=$(post simplereenroll rotated.b64 basic.out "${basic[@]}")
    [ "$status" = 403 ] || { say "Basic: $status"; false; }
    status=$(post simplereenroll rotated.b64 factory.out --cert "$EST_BOOTSTRAP_CERT" --key "$EST_BOOTSTRAP_KEY")
    [ "$status" = 403 ] || { say "factory certificate: $status"; false; }
    status=$(post simplereenroll rotated.b64 nothing.out)
    [ "$status" = 403 ] || { say "nothing: $status"; false; }
    [ "$(log '[.requests[-3:][] | "\(.auth) \(.status)"] | join(", ")')" = \
      "basic 403, bootstrap-cert 403, none 403" ]
    [ "$(issued_count)" = "$before" ]
); status=$?
check "simplereenroll refuses Basic, the factory certificate and no credential alike: 403, nothing issued"

(
    set -e
    status=$(post simplereenroll rotated.b64 rotated.out --cert device.pem --key device-key.pem)
    [ "$status" = 200 ] || { say "status $status: $(cat rotated.out)"; false; }
    [ "$(header rotated.out.headers Content-Type)" = "application/pkcs7-mime; smime-type=certs-only" ]
    [ "$(certs_of rotated.out rotated.pem)" = 1 ]
    [ "$(spki_of_cert rotated.pem)" = "$(spki_of_key rotated-key.pem)" ]
    [ "$(spki_of_cert rotated.pem)" != "$(spki_of_cert device.pem)" ]
    [ "$(openssl x509 -in rotated.pem -noout -subject)" = "$(openssl x509 -in device.pem -noout -subject)" ]
    openssl verify -CAfile "$EST_ISSUING_CA" rotated.pem >/dev/null
    [ "$(log '.issued[-1] | "\(.serial) \(.operation) \(.auth)"')" = "$(serial_of rotated.pem) simplereenroll cert" ]
); status=$?
check "simplereenroll with the current certificate and a new key: 200, a certificate for the new key and the same subject, recorded as cert"

(
    set -e
    new_csr again "/CN=device-1/O=latchkey test"
    status=$(post simplereenroll again.b64 old.out --cert device.pem --key device-key.pem)
    [ "$status" = 403 ] || { say "old certificate: $status"; false; }
    grep -q 'replaced by a newer one' old.out
    status=$(post simplereenroll again.b64 new.out --cert rotated.pem --key rotated-key.pem)
    [ "$status" = 200 ] || { say "new certificate: $status"; false; }
    certs_of new.out current.pem >/dev/null
); status=$?
check "after the rotation the old key's certificate can no longer re-enroll (403), the new one can (200)"

(
    set -e
    before=$(issued_count)
    new_csr other "/CN=someone-else/O=latchkey test"
    status=$(post simplereenroll other.b64 other.out --cert current.pem --key again-key.pem)
    [ "$status" = 400 ] || { say "status $status"; false; }
    grep -q "subject is not the certificate's" other.out
    [ "$(issued_count)" = "$before" ]
); status=$?
check "simplereenroll with a CSR for another subject: 400, nothing issued"

(
    set -e
    switch '{"lifetime": 1}'
    new_csr brief /CN=brief
    [ "$(post simpleenroll brief.b64 brief.out "${basic[@]}")" = 200 ]
    certs_of brief.out brief.pem >/dev/null
    switch '{"lifetime": 20}'
    sleep 2.1
    status=$(post simplereenroll brief.b64 expired.out --cert brief.pem --key brief-key.pem)
    [ "$status" = 403 ] || { say "status $status"; false; }
    grep -qi 'expired' expired.out
); status=$?
check "an expired certificate cannot re-enroll (403); lifetimes of a second are issued as asked"

# --- failure switches --------------------------------------------------------

(
    set -e
    before=$(issued_count)
    switch '{"retryAfter": 3, "retryCount": 2}'
    new_csr patient /CN=patient
    for try in 1 2; do
        status=$(post simpleenroll patient.b64 patient.out "${basic[@]}")
        [ "$status" = 202 ] || { say "try $try: $status"; false; }
        [ "$(header patient.out.headers Retry-After)" = 3 ]
    done
    [ "$(post simpleenroll patient.b64 patient.out "${basic[@]}")" = 200 ]
    [ "$(certs_of patient.out patient.pem)" = 1 ]
    [ "$(issued_count)" = $((before + 1)) ]
    [ "$(log '[.requests[-3:][] | .status] | join(" ")')" = "202 202 200" ]
); status=$?
check "retryAfter 3 for 2: 202 with Retry-After: 3 twice, then the certificate; issued once"

(
    set -e
    switch '{"error500": true}'
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "$EST_URL/cacerts")" = 500 ]
    [ "$(post simpleenroll patient.b64 error.out "${basic[@]}")" = 500 ]
    switch '{"error500": false}'
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "$EST_URL/cacerts")" = 200 ]
); status=$?
check "error500: /cacerts and /simpleenroll answer 500, and 200 once it is off"

(
    set -e
    before=$(issued_count)
    switch '{"malformedPkcs7": true}'
    for operation in cacerts simpleenroll; do
        if [ $operation = cacerts ]; then
            status=$(curl -sS --cacert "$EST_CA" -o malformed.b64 -w '%{http_code}' "$EST_URL/cacerts")
        else
            status=$(post simpleenroll patient.b64 malformed.b64 "${basic[@]}")
        fi
        [ "$status" = 200 ] || { say "$operation: $status"; false; }
        openssl base64 -d -in malformed.b64 > malformed.der
        [ -s malformed.der ]
        fails openssl pkcs7 -inform DER -in malformed.der -print_certs -noout 2>/dev/null
        fails certtool --p7-info --inder --infile malformed.der >/dev/null 2>&1
    done
    switch '{"malformedPkcs7": false}'
    [ "$(issued_count)" = "$before" ]
); status=$?
check "malformedPkcs7: 200 with a base64 body that openssl and certtool refuse as PKCS#7, nothing issued"

(
    set -e
    switch '{"wrongKey": true}'
    [ "$(post simpleenroll patient.b64 wrongkey.out "${basic[@]}")" = 200 ]
    switch '{"wrongKey": false}'
    [ "$(certs_of wrongkey.out wrongkey.pem)" = 1 ]
    openssl verify -CAfile "$EST_ISSUING_CA" wrongkey.pem >/dev/null
    [ "$(spki_of_cert wrongkey.pem)" != "$(spki_of_key patient-key.pem)" ]
    [ "$(log '.issued[-1] | "\(.spkiSha256) \(.csrSpkiSha256)"')" = \
      "$(spki_of_cert wrongkey.pem) $(spki_of_key patient-key.pem)" ]
); status=$?
check "wrongKey: a valid certificate for some other key than the CSR's, and the log tells both keys"

(
    set -e
    port=${EST_URL#https://127.0.0.1:}
    port=${port%%/*}
    switch '{"down": true}'
    curl -sS --cacert "$EST_CA" -o /dev/null "$EST_URL/cacerts" 2>/dev/null && exit 1
    code=$?
    [ "$code" = 7 ] || { say "curl exit $code while down"; false; }
    [ -z "$(ss -Htln "( sport = :$port )")" ]
    switch '{"down": false}'
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "$EST_URL/cacerts")" = 200 ]
); status=$?
check "down: connections refused (curl exit 7, nothing listening); back up on the same port"

(
    set -e
    switch '{"wrongServerCert": true}'
    curl -sS --cacert "$EST_CA" -o /dev/null "$EST_URL/cacerts" 2>/dev/null && exit 1
    code=$?
    [ "$code" = 60 ] || { say "curl exit $code"; false; }
    switch '{"wrongServerCert": false}'
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "$EST_URL/cacerts")" = 200 ]
); status=$?
check "wrongServerCert: curl trusting EST_CA fails to verify the server (exit 60), and verifies it again once off"

(
    set -e
    before=$(curl -sS --fail "$EST_CONTROL_URL/switches")
    for bad in '{"dwon": true}' '{"error500": 1}' '{"lifetime": 0}' '{"retryAfter": -1}' '[]' 'nonsense'; do
        status=$(curl -sS -o /dev/null -w '%{http_code}' --data "$bad" "$EST_CONTROL_URL/switches")
        [ "$status" = 400 ] || { say "$bad: $status"; false; }
    done
    [ "$(curl -sS --fail "$EST_CONTROL_URL/switches")" = "$before" ]
    [ "$(jq -r '"\(.lifetime) \(.retryCount) \(.down)"' <<<"$before")" = "20 0 false" ]
); status=$?
check "the control endpoint refuses unknown switches and bad values (400) and changes nothing"

(
    set -e
    # Each certificate issued is in the record once, with the request
    # that got it.
    [ "$(log '[.requests[].serial // empty] == [.issued[].serial]')" = true ]
    [ "$(log '[.issued[].serial] | unique | length')" = "$(issued_count)" ]
    [ "$(issued_count)" -ge 7 ]
    [ "$(log '[.requests[].auth] | unique | join(" ")')" = "basic bootstrap-cert cert none" ]
); status=$?
check "the record lists every certificate issued with a distinct serial, and each request's kind of authentication"

stop_peer

# --- switches at start ---------------------------------------------------------

(
    set -e
    start_peer "$LATCHKEY_TEST_DIR/est-down" '"down": true, "error500": true'
    curl -sS --cacert "$EST_CA" -o /dev/null "$EST_URL/cacerts" 2>/dev/null && exit 1
    [ "$?" = 7 ]
    switch '{"down": false}'
    [ "$(curl -sS --cacert "$EST_CA" -o /dev/null -w '%{http_code}' "$EST_URL/cacerts")" = 500 ]
    [ "$EST_USER" = latchkey-device ] && [[ $EST_PASSWORD =~ ^[0-9a-f]{24}$ ]]
    stop_peer
); status=$?
check "switches given at start hold from the first connection; the default user has a random password"

echo "1..$n"
[ "$failures" = 0 ]
