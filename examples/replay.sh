#!/bin/sh
# A piece stream is a file like any other: download now, keep it, write
# the files later (or elsewhere, or twice).
#
#	examples/replay.sh f.torrent saved.stream out
set -eu
[ $# -eq 3 ] || { echo "usage: replay.sh torrent stream dir" >&2; exit 64; }
bt-announce "$1" | bt-peers | bt-fetch-piece -q -a >"$2"
# ... later: check the saved pieces again, and write the files.
bt-verify "$2" | bt-assemble -C "$3"
