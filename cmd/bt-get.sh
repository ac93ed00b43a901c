#!/bin/sh
# bt-get: the whole download of a torrent in one command, as a loop over
# the bt filters:
#
#	bt-verify --missing TORRENT DIR		what is on disk already
#	bt-announce TORRENT | bt-peers |
#	    bt-fetch-piece -t TORRENT -i LIST --stream | bt-assemble -C DIR
#
# until every piece is there, re-announcing when the peers run out
# (bounded retries with a pause); then bt-assemble finishes the names and
# the paths of the files are printed. Given a magnet link, the .torrent is
# first fetched from the peers (bt-fetch-metadata) and kept in DIR/.bt/.
# With --only GLOB or -f LIST, the selection is given to bt-verify,
# bt-fetch-piece and bt-assemble alike (as "$@", once the operands are
# read). See bt-get(1).
set -u
prog=bt-get

usage() {
	echo "usage: bt-get [-qv] [-f list] [-P port] [-p peers]" \
	    "[-r retries] [-w seconds] [--no-webseed] [--only glob]" \
	    "[--recheck]" \
	    "torrent|magnet [dir]" >&2
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

# The info hash of a magnet link in 40 lowercase hex digits (from hex or
# base32), or nothing when the link does not hold exactly one. Only used
# to find a .torrent kept by an earlier run: bt-fetch-metadata and
# bt-announce parse the link for real.
btih() {
	h=$(printf '%s\n' "$1" | tr '?&' '\n\n' |
	    sed -n 's/^xt=urn:btih:\(.*\)$/\1/Ip')
	case $h in
	*[!0-9A-Za-z]* | '') return ;;
	esac
	case ${#h} in
	40) printf '%s\n' "$h" | tr 'A-F' 'a-f' | grep -x '[0-9a-f]*' ;;
	32) printf '%s\n' "$h" | tr 'a-z' 'A-Z' | awk '{
		a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
		bits = ""
		for (i = 1; i <= 32; i++) {
			v = index(a, substr($0, i, 1)) - 1
			if (v < 0)
				exit 1
			for (b = 16; b >= 1; b /= 2)
				bits = bits (int(v / b) % 2)
		}
		x = "0123456789abcdef"
		out = ""
		for (i = 1; i <= 160; i += 4) {
			v = 0
			for (j = 0; j < 4; j++)
				v = v * 2 + substr(bits, i + j, 1)
			out = out substr(x, v + 1, 1)
		}
		print out
	    }' ;;
	esac
}

# $1 quoted for eval: 'it''s' -> 'it'\''s'.
quote() {
	printf "'%s'" "$(printf '%s\n' "$1" | sed "s/'/'\\\\''/g")"
}

# Print what a stage wrote in FILE on standard error unless it is what
# it said the last time (kept in FILE.said): said once, not every round.
say() {
	cmp -s "$1" "$1.said" || cat "$1" >&2
	mv -f "$1" "$1.said"
}

peers= retries=5 pause=2 quiet=0 verbose=0 recheck=0 port= sel= nows=
fixed_port=
while [ $# -gt 0 ]; do
	case $1 in
	-f | --files | --only)
		[ $# -ge 2 ] || usage
		case $1 in
		--only) sel="$sel --only $(quote "$2")" ;;
		*) sel="$sel --files $(quote "$2")" ;;
		esac
		shift 2
		;;
	--files=* | --only=*)
		sel="$sel ${1%%=*} $(quote "${1#*=}")"
		shift
		;;
	-P | --port)
		[ $# -ge 2 ] || usage
		number "$1" "$2"
		if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
			warn "$1 $2: not a port (1 to 65535)"
			usage
		fi
		port=$2 fixed_port=$2
		shift 2
		;;
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
	--recheck)
		recheck=1
		shift
		;;
	--no-webseed)
		nows=1
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
# From here on "$@" is the selection, given to every stage.
eval "set -- $sel"
# The torrent is read several times: standard input will not do.
[ "$torrent" = - ] && usage
# A magnet link: its trackers are asked in every round, and the .torrent
# comes from the peers (see metadata).
link=
case $torrent in
[Mm][Aa][Gg][Nn][Ee][Tt]:*) link=$torrent ;;
esac
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

# Status of stage $1 of the last round (70 when it left none).
status() {
	cat "$tmp/st.$1" 2>/dev/null || echo 70
}

# One try at the .torrent of $link, written to $tmp/meta: the peers from
# -p, else from the link's trackers. Statuses in $tmp/st.*, messages in
# $tmp/announce.err and $tmp/metadata.err.
fetch_metadata() {
	rm -f "$tmp"/st.* "$tmp/announce.err" "$tmp/metadata.err"
	: >"$tmp/announce.err"
	if [ -n "$peers" ]; then
		echo 0 >"$tmp/st.1"
		echo 0 >"$tmp/st.2"
		bt-fetch-metadata -q -p "$peers" "$link" >"$tmp/meta" \
		    2>"$tmp/metadata.err"
		echo $? >"$tmp/st.3"
	else
		{ bt-announce "$link" 2>"$tmp/announce.err"
		    echo $? >"$tmp/st.1"; } |
		    { bt-peers; echo $? >"$tmp/st.2"; } |
		    { bt-fetch-metadata -q "$link" >"$tmp/meta" \
		    2>"$tmp/metadata.err"; echo $? >"$tmp/st.3"; }
	fi
}

# Set torrent to the .torrent of $link: the one kept in DIR/.bt/ by an
# earlier run, else fetched from the peers (retried as the pieces are)
# and kept there. Exits with the failing stage's status.
metadata() {
	hash=$(btih "$link")
	if [ -n "$hash" ] && [ -s "$dir/.bt/$hash.torrent" ]; then
		torrent=$dir/.bt/$hash.torrent
		[ "$verbose" = 1 ] && warn "using the torrent kept in $torrent"
		return 0
	fi
	tries=0
	while :; do
		fetch_metadata
		a=$(status 1) p=$(status 2) m=$(status 3)
		# A bad link (bt-announce says it too) or a fault:
		# bt-fetch-metadata's line alone.
		case $m in
		0 | 69 | 75) ;;
		*)
			cat "$tmp/metadata.err" >&2
			exit "$m"
			;;
		esac
		say "$tmp/announce.err"
		for st in "$a" "$p"; do
			case $st in
			0 | 69 | 75) ;;
			*) exit "$st" ;;
			esac
		done
		[ "$m" = 0 ] && break
		tries=$((tries + 1))
		if [ "$tries" -gt "$retries" ]; then
			cat "$tmp/metadata.err" >&2
			exit "$m"
		fi
		[ "$quiet" = 1 ] || warn "no metadata yet: retry $tries of" \
		    "$retries in $pause s"
		sleep "$pause"
	done
	# Named by the info hash it has, which bt-fetch-metadata checked
	# against the link's.
	hash=$(bt-decode -i "$tmp/meta" | sed -n 's/^Info hash: //p')
	case $hash in
	'' | *[!0-9a-f]*) exit 70 ;;
	esac
	torrent=$dir/.bt/$hash.torrent
	if ! err=$({ mkdir -p -- "$dir/.bt" &&
	    cp -- "$tmp/meta" "$torrent.$$" &&
	    mv -f -- "$torrent.$$" "$torrent"; } 2>&1); then
		warn "$torrent: cannot keep the torrent: ${err##*: }"
		exit 74
	fi
	[ "$verbose" = 1 ] && warn "kept the torrent in $torrent"
	return 0
}

# A port drawn at random from the top of the dynamic range (RFC 6335),
# above the ports Linux gives outgoing connections (32768 to 60999).
any_port() {
	echo $((61000 + $(od -An -N2 -tu2 /dev/urandom) % 4536))
}

# One round of the pipeline; each stage leaves its status in $tmp, and
# bt-fetch-piece its messages (see judge). Without -p, the trackers are
# those of the magnet link when there is one. The trackers are told the
# port bt-fetch-piece listens on: -P PORT, else one drawn for the round
# (taken by another program, that round fails and the next draws again).
# $1 is the LIST, the rest the selection.
fetch() {
	l=$1
	shift
	[ -n "$fixed_port" ] || port=$(any_port)
	rm -f "$tmp"/st.* "$tmp/fetch.err"
	if [ -n "$peers" ]; then
		echo 0 >"$tmp/st.1"
		echo 0 >"$tmp/st.2"
		{ bt-fetch-piece -q ${port:+-P "$port"} ${nows:+--no-webseed} \
		    -t "$torrent" \
		    -p "$peers" -i "$l" "$@" --stream 2>"$tmp/fetch.err"
		    echo $? >"$tmp/st.3"; } |
		    { bt-assemble -C "$dir" "$@"; echo $? >"$tmp/st.4"; }
	else
		{ bt-announce ${port:+--port "$port"} "${link:-$torrent}"
		    echo $? >"$tmp/st.1"; } |
		    { bt-peers; echo $? >"$tmp/st.2"; } |
		    { bt-fetch-piece -q ${port:+-P "$port"} ${nows:+--no-webseed} \
		    -t "$torrent" \
		    -i "$l" "$@" --stream 2>"$tmp/fetch.err"
		    echo $? >"$tmp/st.3"; } |
		    { bt-assemble -C "$dir" "$@"; echo $? >"$tmp/st.4"; }
	fi
}

# 0: go on; 1: no progress possible this round (retry); else: give up
# with that status. The stage that failed already said why on stderr.
judge() {
	a=$(status 1) p=$(status 2) f=$(status 3) s=$(status 4)
	# The disk first: a full or read-only DIR does not get better.
	# bt-assemble said why; what bt-fetch-piece says then ("Broken
	# pipe") is only the consequence, and is not repeated.
	case $s in 74 | 66 | 70) return "$s" ;; esac
	# A port we drew that another program holds: draw again, unsaid.
	if [ -z "$fixed_port" ] && [ "$f" = 69 ] &&
	    grep -q '^bt-fetch-piece: cannot listen on ' "$tmp/fetch.err"; then
		return 1
	fi
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

# Every piece the round asked for was verified and written: bt-fetch-piece
# delivered all of them (it checks each SHA-1 before output) and
# bt-assemble checked and wrote each one it read (status 0: no bad piece,
# no cut stream, no fault).
round_whole() {
	[ "$(status 3)" = 0 ] && [ "$(status 4)" = 0 ]
}

[ -n "$link" ] && metadata

# list is what is missing: read from the disk by bt-verify at the start
# and after a round that did not bring all it asked for (or after every
# round with --recheck); else it is what a whole round left of the list,
# since every piece that round wrote was verified on its way to the disk.
last= fails=0 list= check=1
while :; do
	if [ "$check" = 1 ]; then
		# What bt-verify says on stderr (a file too long in DIR) is
		# said once, not every round.
		list=$(bt-verify --missing "$@" "$torrent" "$dir" \
		    2>"$tmp/verify.err")
		st=$?
		say "$tmp/verify.err"
		case $st in
		0) break ;;
		1) ;;
		*) exit "$st" ;;
		esac
	fi
	# Every piece good but a file wrong (bt-verify said which):
	# bt-assemble below refuses it with the reason. Or nothing left.
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
	fetch "$ask" "$@"
	judge
	st=$?
	[ "$st" -gt 1 ] && exit "$st"
	if [ "$recheck" = 0 ] && round_whole; then
		list=${list#"$ask"}
		list=${list#,}
		check=0
	else
		check=1
	fi
done

# Every piece is there: give the last files their real names, create the
# empty ones, and say where they are.
bt-assemble -p -C "$dir" "$@" "$torrent"
