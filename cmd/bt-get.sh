#!/bin/sh
# bt-get: the whole download of a torrent in one command, as a loop over
# the bt filters:
#
#	bt-verify --missing TORRENT DIR		what is still to fetch
#	bt-announce TORRENT | bt-peers |
#	    bt-fetch-piece -t TORRENT -i LIST --stream | bt-assemble -C DIR
#
# until bt-verify finds every piece, re-announcing when the peers run out
# (bounded retries with a pause); then bt-assemble finishes the names and
# the paths of the files are printed. See bt-get(1).
set -u
prog=bt-get

usage() {
	echo "usage: bt-get [-qv] [-p peers] [-r retries] [-w seconds]" \
	    "torrent [dir]" >&2
	exit 64
}

warn() {
	echo "$prog: $*" >&2
}

number() {
	case $2 in
	'' | *[!0-9]*)
		warn "$1 $2: not a whole number"
		usage
		;;
	esac
}

# Pieces in a LIST such as "0-9,42".
count() {
	n=0
	old=$IFS
	IFS=,
	for r in $1; do
		case $r in
		*-*) n=$((n + ${r#*-} - ${r%-*} + 1)) ;;
		*) n=$((n + 1)) ;;
		esac
	done
	IFS=$old
	echo "$n"
}

peers= retries=5 pause=2 quiet=0 verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	-p | --peers)
		[ $# -ge 2 ] || usage
		peers=$2
		shift 2
		;;
	--peers=*)
		peers=${1#--peers=}
		shift
		;;
	-r | --retries)
		[ $# -ge 2 ] || usage
		number "$1" "$2"
		retries=$2
		shift 2
		;;
	-w | --wait)
		[ $# -ge 2 ] || usage
		number "$1" "$2"
		pause=$2
		shift 2
		;;
	-q | --quiet)
		quiet=1
		shift
		;;
	-v | --verbose)
		verbose=1
		shift
		;;
	-qv | -vq)
		quiet=1 verbose=1
		shift
		;;
	--)
		shift
		break
		;;
	-?*)
		usage
		;;
	*)
		break
		;;
	esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || usage
torrent=$1
dir=${2:-.}
# The torrent is read several times: standard input will not do.
[ "$torrent" = - ] && usage
if [ -n "$peers" ] && [ "$peers" != - ] && [ ! -r "$peers" ]; then
	warn "$peers: cannot read the peer list"
	exit 66
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-get.XXXXXX") || exit 75
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ "$peers" = - ]; then
	# Read once, offered to every round.
	cat >"$tmp/peers" || exit 74
	peers=$tmp/peers
fi
if ! err=$(mkdir -p -- "$dir" 2>&1); then
	warn "$dir: cannot make the folder: ${err##*: }"
	exit 74
fi

# One round of the pipeline; each stage leaves its status in $tmp, and
# bt-fetch-piece its messages (see judge).
fetch() {
	rm -f "$tmp"/st.* "$tmp/fetch.err"
	if [ -n "$peers" ]; then
		echo 0 >"$tmp/st.1"
		echo 0 >"$tmp/st.2"
		{ bt-fetch-piece -q -t "$torrent" -p "$peers" -i "$1" \
		    --stream 2>"$tmp/fetch.err"; echo $? >"$tmp/st.3"; } |
		    { bt-assemble -C "$dir"; echo $? >"$tmp/st.4"; }
	else
		{ bt-announce "$torrent"; echo $? >"$tmp/st.1"; } |
		    { bt-peers; echo $? >"$tmp/st.2"; } |
		    { bt-fetch-piece -q -t "$torrent" -i "$1" --stream \
		    2>"$tmp/fetch.err"; echo $? >"$tmp/st.3"; } |
		    { bt-assemble -C "$dir"; echo $? >"$tmp/st.4"; }
	fi
}

# 0: go on; 1: no progress possible this round (retry); else: give up
# with that status. The stage that failed already said why on stderr.
judge() {
	a=$(cat "$tmp/st.1" 2>/dev/null || echo 70)
	p=$(cat "$tmp/st.2" 2>/dev/null || echo 70)
	f=$(cat "$tmp/st.3" 2>/dev/null || echo 70)
	s=$(cat "$tmp/st.4" 2>/dev/null || echo 70)
	# The disk first: a full or read-only DIR does not get better.
	# bt-assemble said why; what bt-fetch-piece says then ("Broken
	# pipe") is only the consequence, and is not repeated.
	case $s in 74 | 66 | 70) return "$s" ;; esac
	cat "$tmp/fetch.err" >&2 2>/dev/null
	for st in "$a" "$p" "$f"; do
		case $st in
		0) ;;
		69 | 75) return 1 ;;
		*) return "$st" ;;
		esac
	done
	# A bad piece (1) or a cut stream (65) after a good fetch: retry.
	return 0
}

last= fails=0
while :; do
	# What bt-verify says on stderr (a file too long in DIR) is said
	# once, not every round.
	list=$(bt-verify --missing "$torrent" "$dir" 2>"$tmp/verify.err")
	st=$?
	cmp -s "$tmp/verify.err" "$tmp/verify.said" ||
	    cat "$tmp/verify.err" >&2
	mv -f "$tmp/verify.err" "$tmp/verify.said"
	case $st in
	0) break ;;
	1) ;;
	*) exit "$st" ;;
	esac
	# Every piece good but a file wrong (bt-verify said which):
	# bt-assemble below refuses it with the reason.
	[ -z "$list" ] && break
	if [ "$list" = "$last" ]; then
		fails=$((fails + 1))
		if [ "$fails" -gt "$retries" ]; then
			warn "no peer could serve the $(count "$list")" \
			    "missing pieces after $retries retries"
			exit 69
		fi
		[ "$quiet" = 1 ] || warn "$(count "$list") pieces still" \
		    "missing: retry $fails of $retries in $pause s"
		sleep "$pause"
	else
		fails=0
	fi
	last=$list
	# One argument holds at most 128 KiB (Linux MAX_ARG_STRLEN): a list
	# scattered over a huge torrent is asked for in parts, a round each.
	ask=$list
	if [ "${#ask}" -gt 65536 ]; then
		ask=$(printf '%s\n' "$ask" | cut -c 1-65536)
		ask=${ask%,*}
	fi
	[ "$verbose" = 1 ] && warn "fetching pieces $ask"
	fetch "$ask"
	judge
	st=$?
	[ "$st" -gt 1 ] && exit "$st"
done

# Every piece is there: give the last files their real names, create the
# empty ones, and say where they are.
bt-assemble -p -C "$dir" "$torrent"
