#!/bin/sh
# Verify benchmark: `bt-verify TORRENT DIR` (the recheck that resume
# relies on) against `sha1sum` on the same 1 GiB of data in the page cache
# (read once before timing). Also the cost of bt-verify as a filter in the
# middle of the pipe, `... | bt-verify | bt-assemble` against
# `... | bt-assemble`, on the same data as a piece stream.
# Each figure is the median of RUNS (default 3), runs interleaved.
# SIZE_MIB (default 1024) sets the data size. Markdown on stdout.
set -eu
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
for p in bt-verify bt-assemble sha1sum mktorrent /usr/bin/time; do
	command -v "$p" >/dev/null ||
	    { echo "verify.sh: $p not found" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-bench-verify.XXXXXX")
# The files bt-assemble writes go to memory when we can (tmpfs): the pipe
# is what is measured, not the disk (bt-assemble fdatasyncs each file).
if [ -z "${OUTDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	OUTDIR=$(mktemp -d /dev/shm/bt-bench-verify.XXXXXX)
fi
OUTDIR=${OUTDIR:-$tmp}
trap 'rm -rf "$tmp" "$OUTDIR"' EXIT INT TERM
cd "$tmp"

mkdir data
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >data/big.bin
# 256 KiB pieces: a common size, 4096 pieces a GiB.
mktorrent -l 18 -a http://127.0.0.1:1/announce -o big.torrent \
    data/big.bin >/dev/null
# The piece stream of all of it, for the filter figures.
/usr/bin/python3 - big.torrent data/big.bin stream <<'EOF'
import sys
t, d, o = sys.argv[1:]
pl = 262144
with open(o, "wb") as out, open(d, "rb") as f:
    out.write(open(t, "rb").read())
    i = 0
    while True:
        p = f.read(pl)
        if not p:
            break
        out.write(b"d5:indexi%de5:piece%d:" % (i, len(p)) + p + b"e")
        i += 1
EOF
# Warm the page cache.
cat data/big.bin stream >/dev/null

# One run of "$@": "SECONDS KIB" (wall time, peak RSS of the command).
run1() {
	/usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >/dev/null 2>&1 ||
	    { echo "fail 0"; return; }
	cat "$tmp/t"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cmds="sha1sum data/big.bin
bt-verify big.torrent data
bt-verify -j 1 big.torrent data
sh -c 'cat stream | bt-assemble -C $OUTDIR/out1'
sh -c 'cat stream | bt-verify | bt-assemble -C $OUTDIR/out2'"

i=0
while [ "$i" -lt "$RUNS" ]; do
	n=0
	echo "$cmds" | while IFS= read -r c; do
		n=$((n + 1))
		rm -rf "$OUTDIR/out1" "$OUTDIR/out2"
		eval "run1 $c" >>"$tmp/r.$n"
	done
	i=$((i + 1))
done

mib=$SIZE_MIB
row() {	# row N LABEL
	s=$(cut -d' ' -f1 "$tmp/r.$1" | median)
	k=$(cut -d' ' -f2 "$tmp/r.$1" | median)
	rate=$(awk -v m="$mib" -v s="$s" 'BEGIN {
	    if (s > 0) printf "%.0f", m / s; else print "-" }')
	printf '| %s | %s | %s | %s |\n' "$2" "$s" "$rate" "$((k / 1024))"
}
sha=$(cut -d' ' -f1 "$tmp/r.1" | median)
ver=$(cut -d' ' -f1 "$tmp/r.2" | median)

echo "## bt-verify: recheck of the data on disk"
echo
echo "$SIZE_MIB MiB in one file, 256 KiB pieces, in the page cache;"
echo "median of $RUNS runs; $(nproc) cores."
echo
echo '```'
echo "bt-verify big.torrent data      # vs: sha1sum data/big.bin"
echo '```'
echo
echo "| command | seconds | MiB/s | peak RSS MiB |"
echo "|---|---|---|---|"
row 1 "sha1sum"
row 2 "bt-verify (one thread a core)"
row 3 "bt-verify -j 1"
echo
awk -v a="$sha" -v b="$ver" 'BEGIN {
    if (b > 0) printf "bt-verify is %.1fx sha1sum.\n", a / b }'
echo
echo "Cost of bt-verify as a filter in the middle of the pipe (piece"
echo "stream from the page cache, files written to $(df -P "$OUTDIR" |
    awk 'NR == 2 { print $1 }')):"
echo
echo "| pipeline | seconds | MiB/s | peak RSS MiB |"
echo "|---|---|---|---|"
row 4 "cat stream \\| bt-assemble"
row 5 "cat stream \\| bt-verify \\| bt-assemble"
