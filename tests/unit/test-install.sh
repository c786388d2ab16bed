#!/bin/bash
# `make install DESTDIR=` puts exactly latchkey's files in their places.
set -u
dest=$(mktemp -d "${TMPDIR:-/tmp}/install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
echo "1..2"
if env -u MAKEFLAGS -u MFLAGS make -s -C "$G_TEST_BUILDDIR" install DESTDIR="$dest" >"$dest.log" 2>&1; then
    echo "ok 1 make install DESTDIR=$dest"
else
    sed 's/^/# /' "$dest.log"
    echo "not ok 1 make install"
fi
rm -f "$dest.log"
# Where each file lands is configure's choice; what must land there is not.
expected='*/bin/latchkeyctl
*/dbus-1/interfaces/io.latchkey.Agent1.Certificate.xml
*/dbus-1/interfaces/io.latchkey.Agent1.Device.xml
*/dbus-1/interfaces/io.latchkey.Agent1.Pairing.xml
*/dbus-1/interfaces/io.latchkey.Agent1.Tokens.xml
*/dbus-1/interfaces/io.latchkey.Agent1.Login.xml
*/security/pam_latchkey.so
*/man/man8/pam_latchkey.8
*/doc/latchkey/examples/login.example
*/dbus-1/system-services/io.latchkey.Agent1.service
*/dbus-1/system.d/io.latchkey.Agent1.conf
*/latchkey/latchkey.conf
*/man/man1/latchkeyctl.1
*/man/man5/latchkey.conf.5
*/man/man5/latchkey-apps.d.5
*/doc/latchkey/examples/example.conf.example
*/man/man8/latchkeyd.8
*/sbin/latchkeyd
*/sysusers.d/latchkey.conf
*/tmpfiles.d/latchkey.conf
*/system/latchkeyd.service
*/systemd/catalog/latchkey.catalog
*/bash-completion/completions/latchkeyctl'
installed=$(cd "$dest" && find . -type f | sort)
missing=0
while read -r pattern; do
    # shellcheck disable=SC2053
    found=$(printf '%s\n' "$installed" | while read -r f; do [[ $f == $pattern ]] && echo "$f"; done)
    [ -n "$found" ] || { echo "# missing: $pattern"; missing=$((missing + 1)); }
done <<< "$expected"
count=$(printf '%s\n' "$installed" | grep -c .)
want=$(printf '%s\n' "$expected" | grep -c .)
if [ "$missing" = 0 ] && [ "$count" = "$want" ]; then
    echo "ok 2 the $want expected files, nothing else"
else
    printf '%s\n' "$installed" | sed 's/^/# installed: /'
    echo "not ok 2 $missing missing, $count installed for $want expected"
fi
