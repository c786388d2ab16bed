#!/bin/bash
# latchkeyd.service is sandboxed: systemd's own assessment of its exposure
# must stay at 2.0 or lower (0 is fully locked down, 10 is unprotected).
set -u
unit="$G_TEST_BUILDDIR/data/latchkeyd.service"
echo "1..1"
report=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
level=$(printf '%s\n' "$report" | sed -n 's/^→ Overall exposure level for latchkeyd.service: \([0-9.]*\).*/\1/p')
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    echo "ok 1 exposure level $level <= 2.0"
else
    printf '%s\n' "$report" | grep '✗' | sed 's/^/# /'
    echo "not ok 1 exposure level ${level:-unknown} > 2.0"
    exit 1
fi
