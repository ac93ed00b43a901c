#!/bin/sh
# Metadata benchmark: from a magnet link to the .torrent (BEP 9), against
# one local swarm of NSEED python3-libtorrent seeders (default 3) on
# 127.0.0.1 that announce to opentracker, for two torrents: "small" (one
# file of 1 MiB in 32 KiB pieces: about 700 bytes of metadata, one
# metadata piece) and "large" (one file of LARGE_MIB, default 512, in
# 32 KiB pieces: about 320 KiB of metadata, 20 metadata pieces). In turn:
#
#   bt     bt-announce MAGNET | bt-peers | bt-fetch-metadata MAGNET
#   bt-p   bt-fetch-metadata -p PEERS MAGNET (the peers known: no tracker)
#   aria2  aria2c --bt-metadata-only=true --bt-save-metadata=true MAGNET
#          (no DHT, LSD or PEX: the link's tracker only); also given, as
#          "aria2 (log)", the time from its first log line to its
#          "Download complete" line, which leaves out its start and exit
#
# The magnet link holds the info hash and the tracker. Runs are
# interleaved (bt bt-p aria2, RUNS times, default 5); each figure is the
# median wall-clock time, from the start of the command to the .torrent
# on disk (aria2's includes its "stopped" announce at exit). Every
# .torrent made is checked: its info hash must be the link's. Markdown on
# stdout.
set -eu
RUNS=${RUNS:-5}
LARGE_MIB=${LARGE_MIB:-512}
NSEED=${NSEED:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
for p in bt-announce bt-peers bt-fetch-metadata bt-decode mktorrent aria2c \
    opentracker /usr/bin/python3; do
	command -v "$p" >/dev/null ||
	    { echo "metadata.sh: $p not found" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-bench-metadata.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	rm -rf "$tmp"
}
trap cleanup EXIT
# A signal (a closed pipe too) still stops the seeders: exit runs cleanup.
trap 'exit 1' HUP INT PIPE TERM
cd "$tmp"

port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
wait_listen() {
	i=0
	until listening "$1"; do
		i=$((i + 1))
		[ "$i" -lt 300 ] ||
		    { echo "metadata.sh: port $1 not up" >&2; exit 70; }
		sleep 0.1
	done
}
now() {
	date +%s.%N
}
hash_of() {
	bt-decode -i "$1" | sed -n 's/^Info hash: //p'
}

# The data is never read by a metadata download, and the seeders run in
# seed mode (no check): sparse files will do.
mkdir seed
truncate -s 1M seed/small.bin
truncate -s "${LARGE_MIB}M" seed/large.bin
mkdir -m 755 ot
for t in small large; do
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o "$t.0.torrent" \
	    "seed/$t.bin" >/dev/null
	hash_of "$t.0.torrent" >>ot/whitelist
done
chmod 644 ot/whitelist
otp=$(port)
opentracker -i 127.0.0.1 -p "$otp" -P "$otp" -d "$tmp/ot" -w whitelist \
    >ot.log 2>&1 &
pids="$pids $!"
wait_listen "$otp"
ann=http://127.0.0.1:$otp/announce
tr=$(printf %s "$ann" | sed 's/:/%3A/g; s,/,%2F,g')

for t in small large; do
	# The same info, naming the tracker: the info hash is unchanged.
	mktorrent -l 15 -a "$ann" -o "$t.torrent" "seed/$t.bin" >/dev/null
	h=$(hash_of "$t.torrent")
	echo "$h" >"$t.hash"
	echo "magnet:?xt=urn:btih:$h&tr=$tr" >"$t.link"
	metabytes=$(/usr/bin/python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
i = d.index(b"4:info") + 6
print(len(d) - i - 1)' "$t.torrent")
	echo "$metabytes" >"$t.bytes"
	: >"$t.peers"
	n=0
	while [ "$n" -lt "$NSEED" ]; do
		sp=$(port)
		LT_SEED_ANNOUNCE=1 /usr/bin/python3 \
		    "$top/tests/tools/lt-seed.py" "$t.torrent" seed "$sp" \
		    900 >"seed.$sp.log" 2>&1 &
		pids="$pids $!"
		echo "127.0.0.1 $sp" >>"$t.peers"
		echo "$sp" >>seedports
		n=$((n + 1))
	done
done
for sp in $(cat seedports); do
	i=0
	until grep -q '^ready' "seed.$sp.log"; do
		i=$((i + 1))
		[ "$i" -lt 600 ] ||
		    { echo "metadata.sh: seeder $sp" >&2; exit 70; }
		sleep 0.1
	done
done
# Until the tracker counts every seeder of both torrents (a scrape, which
# adds no peer).
for t in small large; do
	i=0
	until [ "$(bt-announce -s "$t.torrent" 2>/dev/null |
	    grep -ao '8:completei[0-9]*e' | tr -dc 0-9)" -ge "$NSEED" ]; do
		i=$((i + 1))
		[ "$i" -lt 300 ] ||
		    { echo "metadata.sh: $t not announced" >&2; exit 70; }
		sleep 0.2
	done
done

run_bt() {	# torrent link out
	bt-announce "$2" | bt-peers | bt-fetch-metadata -q "$2" >"$3"
}
run_btp() {
	bt-fetch-metadata -q -p "$1.peers" "$2" >"$3"
}
run_aria2() {
	# aria2 saves the .torrent only into a folder that exists.
	rm -rf a2 a2.log && mkdir a2
	aria2c --bt-metadata-only=true --bt-save-metadata=true \
	    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
	    --enable-peer-exchange=false --disable-ipv6=true \
	    --listen-port="$(port)" --quiet=true --summary-interval=0 \
	    --dht-file-path="$tmp/a2.dht" --log=a2.log --log-level=notice \
	    -d a2 "$2" >/dev/null 2>&1 || { tail -3 a2.log >&2; return 1; }
	mv "a2/$(cat "$1.hash").torrent" "$3"
	# From its first log line to "Download complete": its time without
	# its start and shutdown.
	awk '{ split($2, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3] }
	    NR == 1 { a = s } /Download complete/ { printf "%.6f\n", s - a }' \
	    a2.log | sed -n "s/^/$1 aria2log /p" >>times
}

clients="bt btp aria2"
r=0
while [ "$r" -lt "$RUNS" ]; do
	for t in small large; do
		for c in $clients; do
			rm -f got.torrent
			t0=$(now)
			"run_$c" "$t" "$(cat "$t.link")" got.torrent || :
			t1=$(now)
			if [ ! -s got.torrent ] ||
			    [ "$(hash_of got.torrent)" != "$(cat "$t.hash")" ]
			then
				echo "metadata.sh: $c $t: no good torrent" >&2
				echo "$t $c NaN" >>times
				continue
			fi
			echo "$t $c $(echo "$t1 - $t0" | bc -l)" >>times
		done
	done
	r=$((r + 1))
done

median() {	# median time of client $2 on torrent $1
	awk -v t="$1" -v c="$2" '$1 == t && $2 == c { print $3 }' times |
	    sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
name() {
	case $1 in
	bt) echo "bt (bt-announce \\| bt-peers \\| bt-fetch-metadata)" ;;
	btp) echo "bt -p (bt-fetch-metadata -p peers)" ;;
	aria2) echo "aria2 (aria2c --bt-metadata-only)" ;;
	aria2log) echo "aria2 (log: first line to metadata complete)" ;;
	esac
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "## Metadata: from a magnet link to the .torrent," \
    "$NSEED libtorrent seeders"
echo
cat <<EOF
\`sh bench/metadata.sh\`: a magnet link (info hash and an opentracker
on 127.0.0.1) to the .torrent, from $NSEED python3-libtorrent seeders
that announced to it; median wall-clock time of $RUNS interleaved runs,
each .torrent checked to have the link's info hash. small: 1 MiB in
32 KiB pieces ($(cat small.bytes) bytes of metadata); large: $LARGE_MIB MiB
in 32 KiB pieces ($(cat large.bytes) bytes of metadata). bt -p is given
the seeders' addresses (no tracker); aria2 runs with DHT, LSD and PEX
off, and its time runs to its exit.
Load average when done: $load ($(nproc) cores).
EOF
echo
echo "| client | small (s) | small / aria2's | large (s) | large / aria2's |"
echo "|---|---:|---:|---:|---:|"
as=$(median small aria2)
al=$(median large aria2)
for c in $clients aria2log; do
	s=$(median small "$c")
	l=$(median large "$c")
	awk -v n="$(name "$c")" -v s="$s" -v l="$l" -v as="$as" -v al="$al" \
	    'BEGIN { printf "| %s | %.3f | %.3f | %.3f | %.3f |\n", n, s,
	    s / as, l, l / al }'
done
