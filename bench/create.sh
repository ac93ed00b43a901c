#!/bin/sh
# Create benchmark: `bt-create` against `mktorrent -t 2` (which hashes
# with threads) on the same folder of SIZE_MIB (default 1024) MiB in
# eight files, in the page cache (read once before timing), 256 KiB
# pieces for both. Each figure is the median of RUNS (default 3), runs
# interleaved; the two info hashes are checked equal first. Markdown on
# stdout.
set -eu
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
for p in bt-create bt-decode mktorrent jq /usr/bin/time; do
	command -v "$p" >/dev/null ||
	    { echo "create.sh: $p not found" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-bench-create.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

mkdir -p data/sub
i=0
while [ "$i" -lt 8 ]; do
	d=data
	[ "$i" -ge 4 ] && d=data/sub
	head -c "$((SIZE_MIB * 1048576 / 8))" /dev/urandom >"$d/f$i.bin"
	i=$((i + 1))
done
cat data/*.bin data/sub/*.bin >/dev/null

url=http://127.0.0.1:1/announce
bt-create -l 256K -a "$url" -o b.torrent data
mktorrent -l 18 -a "$url" -o m.torrent data >/dev/null
hb=$(bt-decode -ij b.torrent | jq -r .info_hash)
hm=$(bt-decode -ij m.torrent | jq -r .info_hash)
if [ "$hb" != "$hm" ]; then
	echo "create.sh: info hashes differ: bt-create $hb, mktorrent $hm" >&2
	exit 1
fi

# One run of "$@": "SECONDS KIB CPU" (wall time, peak RSS, user + system
# seconds of the command).
run1() {
	rm -f out.torrent
	/usr/bin/time -f '%e %M %U %S' -o "$tmp/t" "$@" >/dev/null 2>&1 ||
	    { echo "fail 0 0"; return; }
	awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$tmp/t"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cmds="bt-create -l 256K -a $url -o out.torrent data
mktorrent -t 2 -l 18 -a $url -o out.torrent data
bt-create -j 1 -l 256K -a $url -o out.torrent data
mktorrent -t 1 -l 18 -a $url -o out.torrent data"

load=$(cut -d' ' -f1 /proc/loadavg)
i=0
while [ "$i" -lt "$RUNS" ]; do
	n=0
	echo "$cmds" | while IFS= read -r c; do
		n=$((n + 1))
		eval "run1 $c" >>"$tmp/r.$n"
	done
	i=$((i + 1))
done

row() {	# row N LABEL
	s=$(cut -d' ' -f1 "$tmp/r.$1" | median)
	k=$(cut -d' ' -f2 "$tmp/r.$1" | median)
	c=$(cut -d' ' -f3 "$tmp/r.$1" | median)
	rate=$(awk -v m="$SIZE_MIB" -v s="$s" 'BEGIN {
	    if (s > 0) printf "%.0f", m / s; else print "-" }')
	printf '| %s | %s | %s | %s | %s |\n' "$2" "$s" "$rate" "$c" \
	    "$((k / 1024))"
}
bt=$(cut -d' ' -f1 "$tmp/r.1" | median)
mk=$(cut -d' ' -f1 "$tmp/r.2" | median)
btc=$(cut -d' ' -f3 "$tmp/r.1" | median)
mkc=$(cut -d' ' -f3 "$tmp/r.2" | median)

echo "## bt-create: making a torrent"
echo
echo "$SIZE_MIB MiB in 8 files (two folders), 256 KiB pieces, in the page"
echo "cache; median of $RUNS runs; $(nproc) cores, load average $load"
echo "before the runs; the same info hash. CPU seconds: user + system, all"
echo "threads (on a busy machine the fairer figure)."
echo
echo '```'
echo "bt-create -l 256K -a URL -o out.torrent data"
echo "mktorrent -t 2 -l 18 -a URL -o out.torrent data"
echo '```'
echo
echo "| command | seconds | MiB/s | CPU seconds | peak RSS MiB |"
echo "|---|---|---|---|---|"
row 1 "bt-create (one thread a core)"
row 2 "mktorrent -t 2"
row 3 "bt-create -j 1"
row 4 "mktorrent -t 1"
echo
awk -v a="$mk" -v b="$bt" -v c="$mkc" -v d="$btc" 'BEGIN {
    if (a > 0 && c > 0)
	printf "bt-create takes %.2f times the wall time and %.2f times the CPU time of mktorrent -t 2 (below 1 is better).\n", b / a, d / c }'
