#!/bin/sh
# From a magnet link to files, one stage at a time: the peers from the
# link's trackers, saved (tee) so that they serve twice; the .torrent from
# those peers (BEP 9), checked against the link's info hash; then every
# piece. What bt-get(1) does for a magnet link, without its retries.
#
#	examples/magnet.sh 'magnet:?xt=urn:btih:...&tr=...' f.torrent out
set -eu
[ $# -eq 3 ] ||
    { echo "usage: magnet.sh magnet torrent-out dir" >&2; exit 64; }
peers=$(mktemp "${TMPDIR:-/tmp}/magnet.XXXXXX")
trap 'rm -f "$peers"' EXIT
bt-announce "$1" | bt-peers | tee "$peers" | bt-fetch-metadata "$1" >"$2"
bt-decode -i "$2" | sed -n 's/^Name: /fetched the torrent of /p' >&2
bt-fetch-piece -q -a -t "$2" -p "$peers" | bt-assemble -p -C "$3"
