#!/bin/bash
# Every man page renders without a single groff warning. TAP output.
set -u
pages=("$G_TEST_SRCDIR"/data/man/*.[1-8])
echo "1..${#pages[@]}"
n=0 failures=0
for page in "${pages[@]}"; do
    n=$((n + 1))
    warnings=$(groff -ww -z -man "$page" 2>&1)
    if [ -z "$warnings" ]; then
        echo "ok $n $(basename "$page")"
    else
        printf '%s\n' "$warnings" | sed 's/^/# /'
        echo "not ok $n $(basename "$page")"
        failures=$((failures + 1))
    fi
done
[ "$failures" = 0 ]
