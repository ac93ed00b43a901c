#!/bin/sh
# Upload benchmark: one python3-libtorrent downloader (tests/tools/
# lt-leech.py) takes one file of SIZE_MIB (default 1024) in 1 MiB pieces
# from a single seeder on 127.0.0.1, in turn:
#
#   bt            bt-seed -n (data checked at start, as the others do)
#   lt            python3-libtorrent (tests/tools/lt-seed.py)
#   aria2         aria2c --bt-seed-unverified
#   transmission  transmission-cli
#
# Runs are interleaved (bt lt aria2 transmission, RUNS times, default 3);
# each figure is the median. Peak RSS of the seeder by /usr/bin/time -f
# %M. The seeder's start (its own check of the data) is not timed: the
# clock runs from the downloader's start to its completion. Markdown on
# stdout.
set -eu
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
for p in bt-seed mktorrent aria2c transmission-cli /usr/bin/time \
    /usr/bin/python3; do
	command -v "$p" >/dev/null ||
	    { echo "seed.sh: $p not found" >&2; exit 69; }
done
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
tmp=$(mktemp -d "$base/bt-bench-seed.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
cd "$tmp"

port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
# Wait until grep -q PATTERN FILE succeeds (at most 120 s).
wait_log() {
	i=0
	until grep -q "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { echo "seed.sh: no '$1' in $2" >&2;
		    tail -5 "$2" >&2; exit 70; }
		sleep 0.1
	done
}
now() {
	date +%s.%N
}

mkdir seed
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >seed/big.bin
mktorrent -l 20 -o t.torrent seed/big.bin >/dev/null

# Start seeder $1 on port $2 under /usr/bin/time; leaves TPID (time's
# PID) and SPID (the seeder's).
start() {
	kind=$1 sp=$2
	case $kind in
	bt)
		/usr/bin/time -f %M -o "rss.$kind" bt-seed -v -n -b 127.0.0.1 \
		    -p "$sp" t.torrent seed </dev/null 2>"log.$kind" &
		TPID=$!
		wait_log 'pieces to serve$' "log.$kind"
		;;
	lt)
		/usr/bin/time -f %M -o "rss.$kind" /usr/bin/python3 \
		    "$top/tests/tools/lt-seed.py" t.torrent seed "$sp" 3600 \
		    >"log.$kind" 2>&1 &
		TPID=$!
		wait_log '^ready' "log.$kind"
		;;
	aria2)
		/usr/bin/time -f %M -o "rss.$kind" aria2c --seed-ratio=0.0 \
		    --bt-seed-unverified=true --enable-dht=false \
		    --enable-dht6=false --bt-enable-lpd=false \
		    --enable-peer-exchange=false --bt-exclude-tracker='*' \
		    --disable-ipv6=true --listen-port="$sp" --quiet=true \
		    --summary-interval=0 --dht-file-path="$tmp/aria2.dht" \
		    -d seed t.torrent >"log.$kind" 2>&1 &
		TPID=$!
		i=0
		until listening "$sp"; do
			i=$((i + 1)); [ "$i" -lt 600 ] || exit 70; sleep 0.1
		done
		;;
	transmission)
		mkdir -p "tr.$sp"
		cat >"tr.$sp/settings.json" <<-EOF
		{"dht-enabled": false, "lpd-enabled": false,
		 "pex-enabled": false, "utp-enabled": false,
		 "port-forwarding-enabled": false, "peer-port": $sp,
		 "peer-port-random-on-start": false,
		 "bind-address-ipv4": "127.0.0.1", "encryption": 0,
		 "speed-limit-up-enabled": false, "ratio-limit-enabled": false,
		 "idle-seeding-limit-enabled": false, "message-level": 1,
		 "rpc-enabled": false}
		EOF
		/usr/bin/time -f %M -o "rss.$kind" transmission-cli \
		    -g "tr.$sp" -w seed -p "$sp" -et t.torrent \
		    >"log.$kind" 2>&1 &
		TPID=$!
		wait_log 'Seeding' "log.$kind"
		;;
	esac
	SPID=$(pgrep -P "$TPID" | head -n 1)
	pids="$pids $SPID"
}

stop() {
	kill "$SPID" 2>/dev/null || :
	wait "$TPID" 2>/dev/null || :
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for r in $(seq 1 "$RUNS"); do
	for k in bt lt aria2 transmission; do
		sp=$(port)
		start "$k" "$sp"
		rm -rf out
		t0=$(now)
		/usr/bin/python3 "$top/tests/tools/lt-leech.py" -t 900 \
		    t.torrent out "$sp" >/dev/null ||
		    { echo "seed.sh: $k: download failed" >&2; exit 70; }
		t1=$(now)
		stop
		cmp -s out/big.bin seed/big.bin ||
		    { echo "seed.sh: $k: data differs" >&2; exit 70; }
		echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }' \
		    >>"time.$k"
		tail -n 1 "rss.$k" >>"rsslist.$k"
		echo "seed.sh: run $r $k: $(tail -n 1 "time.$k") s" >&2
	done
done
rm -rf out

echo "## Seeding: one libtorrent downloader, one seeder ($SIZE_MIB MiB)"
echo
echo "One file of $SIZE_MIB MiB in 1 MiB pieces on 127.0.0.1, fetched by"
echo "python3-libtorrent (tests/tools/lt-leech.py) from one seeder; median of"
echo "$RUNS interleaved runs; peak RSS of the seeder (/usr/bin/time)."
echo
echo "| seeder | seconds | MiB/s | peak RSS (MiB) |"
echo "|---|---:|---:|---:|"
for k in bt lt aria2 transmission; do
	s=$(median <"time.$k")
	m=$(median <"rsslist.$k")
	name=$k
	[ "$k" = bt ] && name=bt-seed
	echo "$s $m" | awk -v n="$name" -v size="$SIZE_MIB" \
	    '{ printf "| %s | %.2f | %.0f | %.1f |\n", n, $1, size / $1,
	    $2 / 1024 }'
done
