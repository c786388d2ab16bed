#!/bin/bash
# pam_latchkey.so cannot hurt the programs that load it: no GLib (no
# threads or main loop inside login), and only the pam_sm_* entry points
# exported. TAP output.
set -u
module="$G_TEST_BUILDDIR/pam/.libs/pam_latchkey.so"
echo "1..2"
needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ -n "$needed" ] && ! printf '%s\n' "$needed" | grep -Eq '^lib(glib|gobject|gio|json-glib|soup)'; then
    echo "ok 1 needs only $(echo $needed)"
else
    printf '%s\n' "$needed" | sed 's/^/# NEEDED /'
    echo "not ok 1 the module links GLib or its kin"
fi
exported=$(readelf --dyn-syms -W "$module" | awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' | sort)
if [ "$exported" = "$(printf 'pam_sm_acct_mgmt\npam_sm_authenticate\npam_sm_setcred')" ]; then
    echo "ok 2 exports only $(echo $exported)"
else
    printf '%s\n' "$exported" | sed 's/^/# exported /'
    echo "not ok 2 the module exports more than pam_sm_*"
fi
