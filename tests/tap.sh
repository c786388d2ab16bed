# TAP for the shell tests, sourced: ok STATUS DESCRIPTION prints the next
# test point, passing when STATUS is 0; $failures counts those that did not.

n=0
failures=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n $2"
    else
        echo "not ok $n $2"
        failures=$((failures + 1))
    fi
}
