#!/bin/sh
# Resume a download: ask only for what bt-verify finds missing or bad.
# One round of what bt-get(1) loops over.
#
#	examples/resume.sh f.torrent out
set -u
[ $# -eq 2 ] || { echo "usage: resume.sh torrent dir" >&2; exit 64; }
list=$(bt-verify --missing "$1" "$2")
st=$?
case $st in
0)	echo "complete" >&2
	exit 0 ;;
1)	echo "fetching pieces $list" >&2 ;;
*)	exit $st ;;
esac
bt-announce "$1" | bt-peers |
    bt-fetch-piece -q -t "$1" -i "$list" --stream | bt-assemble -C "$2"
bt-verify --missing "$1" "$2" >/dev/null && echo "complete" >&2
