#!/bin/sh
# How far a download in DIR has got, from the data alone (no state file):
#
#	examples/progress.sh f.torrent out
#	f.torrent: 812 of 1024 pieces (79%), to fetch: 3,17-20,...
set -u
[ $# -eq 2 ] || { echo "usage: progress.sh torrent dir" >&2; exit 64; }
bt-verify --json "$1" "$2" | jq -r --arg t "$1" \
    '"\($t): \(.good) of \(.pieces) pieces (\(.good * 100 / .pieces | floor)%)" +
    (if .complete then "" else ", to fetch: \(.fetch)" end)'
