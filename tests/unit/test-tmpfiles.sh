#!/bin/bash
# data/tmpfiles.d/latchkey.conf agrees with the unit, and applied as on a
# first boot (systemd-sysusers, then systemd-tmpfiles, into an empty root)
# makes each directory with the mode and owners it names. TAP output.
set -u
tmpfiles="$G_TEST_BUILDDIR/data/tmpfiles.d/latchkey.conf"
sysusers="$G_TEST_SRCDIR/data/sysusers.d/latchkey.conf"
unit="$G_TEST_BUILDDIR/data/latchkeyd.service"
root=$(mktemp -d "${TMPDIR:-/tmp}/tmpfiles.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir "$root/etc"
echo "1..3"

unit_value() { sed -n "s/^$1=//p" "$unit"; }
entries=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$tmpfiles")
state=$(printf '%s\n' "$entries" | awk '$2 ~ "/lib/" { print $2, $3, $4, $5 }')
# The unit makes the state dir too (StateDirectory=): at each start it
# would change back a mode or owner that tmpfiles set otherwise.
want="latchkey 0$(unit_value StateDirectoryMode | sed 's/^0//') $(unit_value User) $(unit_value Group)"
got=$(echo "$state" | awk '{ n = split($1, p, "/"); print p[n], $2, $3, $4 }')
if [ "$got" = "$want" ]; then
    echo "ok 1 the state dir entry is the unit's StateDirectory: $state"
else
    echo "# entries:"; printf '%s\n' "$entries" | sed 's/^/#   /'
    echo "not ok 1 state dir entry \"$got\", the unit says \"$want\""
fi

if [ "$(id -u)" != 0 ]; then
    echo "ok 2 # SKIP systemd-tmpfiles needs root to give directories their owners"
    echo "ok 3 # SKIP systemd-tmpfiles needs root to give directories their owners"
    exit 0
fi
# systemd-sysusers tells what it creates; systemd-tmpfiles speaks only of trouble.
if out=$(systemd-sysusers --root="$root" "$sysusers" 2>&1) &&
   out=$(systemd-tmpfiles --root="$root" --create "$tmpfiles" 2>&1) && [ -z "$out" ]; then
    echo "ok 2 systemd-sysusers and systemd-tmpfiles --create into $root"
else
    printf '%s\n' "$out" | sed 's/^/# /'
    echo "not ok 2 systemd-sysusers or systemd-tmpfiles --create failed or complained"
fi

# Owners by name, as the root's own user database has them.
name_of() { awk -F: -v id="$2" '$3 == id { print $1; exit }' "$root/etc/$1"; }
bad=0
while read -r type path mode user group _; do
    [ "$type" = d ] || { echo "# unexpected entry type $type for $path"; bad=1; continue; }
    if [ ! -d "$root$path" ]; then
        echo "# $path: not created"; bad=1; continue
    fi
    read -r m u g < <(stat -c '%a %u %g' "$root$path")
    uname=$(name_of passwd "$u"); gname=$(name_of group "$g")
    [ "$u" = 0 ] && uname=root
    [ "$g" = 0 ] && gname=root
    if [ "0$m $uname $gname" != "$mode $user $group" ]; then
        echo "# $path: 0$m $uname $gname, the entry says $mode $user $group"; bad=1
    fi
done <<< "$entries"
apps=$(printf '%s\n' "$entries" | awk '$2 ~ "/latchkey/apps.d$"')
[ -n "$apps" ] || { echo "# no entry for apps.d"; bad=1; }
if [ "$bad" = 0 ]; then
    echo "ok 3 each directory has the entry's mode and owners, apps.d included"
else
    echo "not ok 3 directories differ from their entries"
fi
