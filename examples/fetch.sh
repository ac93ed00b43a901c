#!/bin/sh
# The whole pipeline of bt(7), once: every piece of TORRENT from the peers
# its trackers give, checked, written under DIR.
#
#	examples/fetch.sh f.torrent out
#
# bt-verify in the middle is optional (bt-fetch-piece and bt-assemble
# check every SHA-1 too); it is here to show that the stream can be
# filtered, saved or inspected between any two stages.
set -eu
[ $# -eq 2 ] || { echo "usage: fetch.sh torrent dir" >&2; exit 64; }
bt-announce "$1" | bt-peers | bt-fetch-piece -q -a | bt-verify |
    bt-assemble -p -C "$2"
