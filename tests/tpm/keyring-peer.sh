#!/bin/bash
# tests/tpm/keyring-peer.sh DIR: the Secret Service for one test program.
# Starts a private session bus and gnome-keyring-daemon in DIR
# (peers_start_keyring), prints the bus address on one line, then stops
# them once its standard input closes. The test holds the other end of
# that pipe, so the keyring goes with the test however the test ends.
set -eu

PEERS_SRCDIR=${G_TEST_SRCDIR:?G_TEST_SRCDIR must point at the source tree}
. "$PEERS_SRCDIR/tests/peers.sh"

trap peers_stop EXIT
peers_start_keyring "$1"
echo "$KEYRING_BUS_ADDRESS"
cat >/dev/null
