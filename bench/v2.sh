#!/bin/sh
# BEP 52 download benchmark: a folder of 4 files of uneven sizes (1 GiB
# in all, random data) made into a v2-only torrent and a hybrid one by
# `bt-create --v2 -l 1048576` and `bt-create --hybrid -l 1048576`; for
# each torrent, 4 python3-libtorrent seeders (tests/tools/lt-seed.py) on
# 127.0.0.1, and two downloaders taking all of it in turn:
#
#   bt   bt-fetch-piece -q -a -t T -p peers | bt-assemble -C out
#        (for the hybrid torrent bt uses its v1 part)
#   lt   bench/lt-get.py (python3-libtorrent), the seeders' ports given
#
# Runs are interleaved (bt v2, lt v2, bt hybrid, lt hybrid; RUNS times,
# default 3); each figure is the median. Every download is compared with
# the source by diff -r; a difference stops the bench (exit 1). Peak RSS
# by /usr/bin/time -f %M: for bt, of bt-fetch-piece alone (bt-assemble's
# is given apart). HYBRID=0 leaves the hybrid torrent out. The data is
# in /dev/shm when writable (else TMPDIR or /tmp). Markdown on stdout.
set -eu
RUNS=${RUNS:-3}
HYBRID=${HYBRID:-1}
NSEED=4
top=$(cd "$(dirname "$0")/.." && pwd)
for p in bt-fetch-piece bt-assemble bt-create /usr/bin/time /usr/bin/python3 \
    bc; do
	command -v "$p" >/dev/null ||
	    { echo "v2.sh: $p not found" >&2; exit 69; }
done
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null ||
    { echo "v2.sh: python3-libtorrent not found" >&2; exit 69; }
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	base=/dev/shm
else
	base=${TMPDIR:-/tmp}
fi
tmp=$(mktemp -d "$base/bt-bench-v2.XXXXXX")
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
now() {
	date +%s.%N
}

# 4 files of uneven sizes, none a multiple of the piece length, 1 GiB in
# all (BEP 52 aligns each file on a piece: pad files between them in the
# v1 layout, never on disk).
name=data
mkdir -p "seed/$name"
sizes="500000000 320000123 180000000 73741701"
total=0
i=0
for s in $sizes; do
	head -c "$s" /dev/urandom >"seed/$name/f$i.bin"
	total=$((total + s))
	i=$((i + 1))
done
mib=$(echo "$total / 1048576" | bc -l)
what="4 files ($(echo "$sizes" | sed 's/ /, /g') bytes; $total in all)"

kinds=v2
[ "$HYBRID" = 1 ] && kinds="v2 hybrid"
for k in $kinds; do
	bt-create "--$k" -l 1048576 -a http://127.0.0.1:1/announce \
	    -o "$k.torrent" "seed/$name" >/dev/null
	: >"peers.$k"
	: >"ports.$k"
	n=0
	while [ "$n" -lt "$NSEED" ]; do
		sp=$(port)
		/usr/bin/python3 "$top/tests/tools/lt-seed.py" "$k.torrent" seed \
		    "$sp" 3600 >"seed.$sp.log" 2>&1 &
		pids="$pids $!"
		echo "127.0.0.1 $sp" >>"peers.$k"
		echo "$sp" >>"ports.$k"
		n=$((n + 1))
	done
done
for k in $kinds; do
	for sp in $(cat "ports.$k"); do
		i=0
		until grep -q '^ready' "seed.$sp.log"; do
			i=$((i + 1))
			[ "$i" -lt 600 ] ||
			    { echo "v2.sh: seeder $sp not ready" >&2; exit 70; }
			sleep 0.1
		done
	done
done
# Warm the page cache, as the seeders will read it.
find seed -type f -exec cat {} + >/dev/null

run_bt() {	# torrent kind
	/usr/bin/time -f %M -o rss.fetch timeout 600 bt-fetch-piece -q \
	    -t "$1.torrent" -a -p "peers.$1" |
	    /usr/bin/time -f %M -o rss.asm timeout 600 bt-assemble -C out ||
	    return $?
	cat rss.fetch >rss
}
run_lt() {	# torrent kind
	# shellcheck disable=SC2046
	/usr/bin/time -f %M -o rss timeout 600 /usr/bin/python3 \
	    "$top/bench/lt-get.py" "$1.torrent" out $(cat "ports.$1")
}

: >times
r=0
while [ "$r" -lt "$RUNS" ]; do
	for k in $kinds; do
		for c in bt lt; do
			rm -rf out
			t0=$(now)
			"run_$c" "$k" ||
			    echo "v2.sh: $c $k: exit status $?" >&2
			t1=$(now)
			if ! diff -r "out/$name" "seed/$name" >diff.out 2>&1
			then
				echo "v2.sh: $c $k: the download differs" \
				    "from the source:" >&2
				head -20 diff.out >&2
				exit 1
			fi
			echo "$c-$k $(echo "$t1 - $t0" | bc -l) $(cat rss)" \
			    >>times
			[ "$c" = bt ] && cat rss.asm >>rss.asm.all
			sync
		done
	done
	r=$((r + 1))
done
rm -rf out

median() {	# median of column $2 for row $1
	awk -v c="$1" -v k="$2" '$1 == c { print $k }' times | sort -g |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
echo "## BEP 52 download: 1 local swarm, $NSEED libtorrent seeders, v2 and hybrid"
echo
echo "\`RUNS=$RUNS HYBRID=$HYBRID sh bench/v2.sh\` (run by \`BENCH=v2 sh bench/run\`):"
echo "$what of random data in 1 MiB pieces, made into a v2-only torrent"
echo "(\`bt-create --v2 -l 1048576\`) and a hybrid one (\`bt-create --hybrid"
echo "-l 1048576\`); for each, $NSEED python3-libtorrent $(/usr/bin/python3 -c \
    'import libtorrent; print(libtorrent.__version__)') seeders"
echo "(tests/tools/lt-seed.py) on 127.0.0.1; median of $RUNS interleaved runs"
echo "(bt v2, lt v2, bt hybrid, lt hybrid), each download compared with the"
echo "source by \`diff -r\`. bt is \`bt-fetch-piece -q -a -t T -p peers |"
echo "bt-assemble -C out\` (RSS of bt-fetch-piece; bt-assemble peaked at"
echo "$(sort -g rss.asm.all | tail -1) KiB); for the hybrid torrent bt uses its v1"
echo "part. lt is bench/lt-get.py, the seeders' ports given."
echo "Load average when done: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)."
echo
echo "| torrent | client | time (s) | MiB/s | peak RSS (MiB) | time / libtorrent's | each run (s) |"
echo "|---|---|---:|---:|---:|---:|---|"
for k in $kinds; do
	lt_t=$(median "lt-$k" 2)
	for c in bt lt; do
		t=$(median "$c-$k" 2)
		m=$(median "$c-$k" 3)
		each=$(awk -v c="$c-$k" '$1 == c { printf "%s%.2f",
		    n++ ? ", " : "", $2 }' times)
		awk -v k="$k" -v c="$c" -v t="$t" -v m="$m" -v s="$mib" \
		    -v l="$lt_t" -v e="$each" 'BEGIN {
		    printf "| %s | %s | %.2f | %.0f | %.1f | %.2f | %s |\n",
		    k, c, t, s / t, m / 1024, t / l, e }'
	done
done
