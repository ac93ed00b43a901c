#!/bin/sh
# Download benchmark: one local swarm of 4 python3-libtorrent seeders on
# 127.0.0.1 serving one file of SIZE_MIB (default 1024) in 1 MiB pieces,
# and four downloaders taking all of it in turn:
#
#   bt       bt-fetch-piece -a, its piece stream piped to bt-assemble
#   btget    the whole of bt-get, peers given (-p), which runs the above
#   btget-recheck  the same with --recheck: all the data read again at the
#            end, as bt-get did before it trusted its rounds
#   aria2    aria2c (no DHT, --file-allocation=none), peers from opentracker
#   lt       bench/lt-get.py (python3-libtorrent), peers given directly
#   ctorrent ctorrent bound to 127.0.0.2 (it drops peers with its own
#            address), peers from opentracker
#
# Runs are interleaved (in the order above, RUNS times, default 3); each
# figure is the median. Peak RSS by /usr/bin/time -f %M: for bt, of
# bt-fetch-piece alone (bt-assemble's is given apart). Markdown on stdout.
set -eu
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
# FILES=N (bench/fetch-files.sh sets 1000): a folder of N files of equal
# size instead of one file.
FILES=${FILES:-1}
NSEED=4
top=$(cd "$(dirname "$0")/.." && pwd)
for p in bt-fetch-piece bt-assemble mktorrent aria2c ctorrent opentracker \
    transmission-show /usr/bin/time /usr/bin/python3; do
	command -v "$p" >/dev/null ||
	    { echo "fetch.sh: $p not found" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-bench-fetch.XXXXXX")
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
		[ "$i" -lt 300 ] || { echo "fetch.sh: port $1 not up" >&2; exit 70; }
		sleep 0.1
	done
}
now() {
	date +%s.%N
}

mkdir seed
if [ "$FILES" -gt 1 ]; then
	name=many
	mkdir seed/many
	i=0
	while [ "$i" -lt "$FILES" ]; do
		head -c "$((SIZE_MIB * 1048576 / FILES))" /dev/urandom \
		    >"seed/many/f$(printf %04d "$i")"
		i=$((i + 1))
	done
	what="$FILES files of $((SIZE_MIB * 1048576 / FILES)) bytes"
else
	name=big.bin
	head -c "$((SIZE_MIB * 1048576))" /dev/urandom >seed/big.bin
	what="one file of $SIZE_MIB MiB"
fi
mktorrent -l 20 -a http://127.0.0.1:1/announce -o x.torrent "seed/$name" \
    >/dev/null
# A whitelist-only opentracker (Debian's build) in a readable chroot.
mkdir -m 755 ot
transmission-show x.torrent | awk '/^ *Hash( v1)?:/ { print $NF; exit }' \
    >ot/whitelist
chmod 644 ot/whitelist
otp=$(port)
opentracker -i 127.0.0.1 -p "$otp" -P "$otp" -d "$tmp/ot" -w whitelist \
    >ot.log 2>&1 &
pids="$pids $!"
wait_listen "$otp"
# The same info, now naming the tracker: the info hash is unchanged.
mktorrent -l 20 -a "http://127.0.0.1:$otp/announce" -o t.torrent \
    "seed/$name" >/dev/null

: >peers
seedports=
n=0
while [ "$n" -lt "$NSEED" ]; do
	sp=$(port)
	LT_SEED_ANNOUNCE=1 /usr/bin/python3 "$top/tests/tools/lt-seed.py" \
	    t.torrent seed "$sp" 3600 >"seed.$sp.log" 2>&1 &
	pids="$pids $!"
	echo "127.0.0.1 $sp" >>peers
	seedports="$seedports $sp"
	n=$((n + 1))
done
for sp in $seedports; do
	i=0
	until grep -q '^ready' "seed.$sp.log"; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || { echo "fetch.sh: seeder $sp" >&2; exit 70; }
		sleep 0.1
	done
done
# Warm the page cache, as the seeders will read it.
find seed -type f -exec cat {} + >/dev/null

run_bt() {
	/usr/bin/time -f %M -o rss.fetch bt-fetch-piece -q -t t.torrent -a \
	    -p peers | /usr/bin/time -f %M -o rss.asm bt-assemble -C out
	cat rss.fetch >rss
}
run_btget() {
	/usr/bin/time -f %M -o rss bt-get -q -p peers t.torrent out >/dev/null
}
run_btget_recheck() {
	/usr/bin/time -f %M -o rss bt-get -q --recheck -p peers t.torrent out \
	    >/dev/null
}
run_aria2() {
	/usr/bin/time -f %M -o rss aria2c --seed-time=0 --enable-dht=false \
	    --enable-dht6=false --bt-enable-lpd=false \
	    --enable-peer-exchange=false --file-allocation=none \
	    --disable-ipv6=true --listen-port="$(port)" --quiet=true \
	    --summary-interval=0 -d out t.torrent >/dev/null 2>&1
}
run_lt() {
	# shellcheck disable=SC2086
	/usr/bin/time -f %M -o rss /usr/bin/python3 "$top/bench/lt-get.py" \
	    t.torrent out $seedports
}
run_ctorrent() {
	mkdir -p out
	(cd out && /usr/bin/time -f %M -o ../rss timeout 600 ctorrent -e 0 \
	    -i 127.0.0.2 -p "$(port)" -s "$name" ../t.torrent \
	    >/dev/null 2>&1 </dev/null) || :
}

clients="bt btget btget_recheck aria2 lt ctorrent"
r=0
while [ "$r" -lt "$RUNS" ]; do
	for c in $clients; do
		rm -rf out
		t0=$(now)
		"run_$c"
		t1=$(now)
		if ! diff -r -q "out/$name" "seed/$name" >/dev/null; then
			echo "fetch.sh: $c: the download differs" >&2
			echo "$c NaN 0" >>times
			continue
		fi
		echo "$c $(echo "$t1 - $t0" | bc -l) $(cat rss)" >>times
		[ "$c" = bt ] && cat rss.asm >>rss.asm.all
		sync
	done
	r=$((r + 1))
done
rm -rf out

median() {	# median of column $2 for client $1
	awk -v c="$1" -v k="$2" '$1 == c { print $k }' times | sort -g |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
lt_t=$(median lt 2)
echo "## Download: 1 local swarm, $NSEED libtorrent seeders, $what"
echo
echo "\`FILES=$FILES sh bench/fetch.sh\`: $what in 1 MiB pieces,"
echo "$NSEED python3-libtorrent seeders on 127.0.0.1, median of $RUNS"
echo "interleaved runs. bt is \`bt-fetch-piece -q -a -t t.torrent -p peers |"
echo "bt-assemble -C out\` (RSS of bt-fetch-piece; bt-assemble peaked at"
echo "$(sort -g rss.asm.all | tail -1) KiB); btget is the whole \`bt-get -p peers"
echo "t.torrent out\` (peak RSS of the largest process of its tree),"
echo "btget-recheck the same with \`--recheck\`;"
echo "lt is bench/lt-get.py; aria2"
echo "and ctorrent (on 127.0.0.2) find the seeders through opentracker."
echo "Load average when done: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)."
echo
echo "| client | time (s) | MiB/s | peak RSS (MiB) | time / libtorrent's |"
echo "|---|---:|---:|---:|---:|"
for c in $clients; do
	t=$(median "$c" 2)
	m=$(median "$c" 3)
	awk -v c="$c" -v t="$t" -v m="$m" -v s="$SIZE_MIB" -v l="$lt_t" \
	    'BEGIN { n = c; gsub("_", "-", n)
	    printf "| %s | %.2f | %.0f | %.1f | %.2f |\n",
	    n, t, s / t, m / 1024, t / l }'
done
