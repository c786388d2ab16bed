#!/bin/bash
# Every MESSAGE_ID the daemon logs is explained in the journal catalog, and
# the catalog explains nothing else. TAP output.
set -u
header="$G_TEST_SRCDIR/daemon/message-ids.h"
catalog="$G_TEST_SRCDIR/data/catalog/latchkey.catalog"
in_code=$(sed -n 's/^#define LK_MESSAGE_[A-Z_]* *"\([0-9a-f]\{32\}\)".*/\1/p' "$header" | sort)
in_catalog=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$catalog" | sort)
echo "1..2"
if [ -n "$in_code" ] && [ "$in_code" = "$in_catalog" ]; then
    echo "ok 1 the catalog covers the $(echo "$in_code" | wc -l) message IDs of daemon/message-ids.h"
else
    diff <(echo "$in_code") <(echo "$in_catalog") | sed 's/^/# /'
    echo "not ok 1 the catalog and daemon/message-ids.h disagree"
fi
# Each entry has the fields journalctl shows.
entries=$(echo "$in_catalog" | wc -l)
subjects=$(grep -c '^Subject: ' "$catalog")
defined=$(grep -c '^Defined-By: latchkey$' "$catalog")
if [ "$subjects" = "$entries" ] && [ "$defined" = "$entries" ]; then
    echo "ok 2 every entry has a Subject and Defined-By"
else
    echo "not ok 2 $entries entries, $subjects subjects, $defined Defined-By"
fi
