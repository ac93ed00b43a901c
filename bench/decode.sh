#!/bin/sh
# Decode benchmark: `bt-decode -i` against `transmission-show` on two big
# torrents made here: 100,000 small files (real piece hashes), and a table
# of 1,000,000 pieces (random hashes: both programs only read metainfo).
# Runs are interleaved; each figure is the median of RUNS (default 3).
# Prints a Markdown section on stdout (bench/run stores it).
set -eu
RUNS=${RUNS:-3}
PY=/usr/bin/python3
for p in bt-decode transmission-show; do
	command -v "$p" >/dev/null ||
	    { echo "decode.sh: $p not found" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-bench-decode.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Bencode by hand: keys sorted as BEP 3 asks.
"$PY" - "$tmp" <<'EOF'
import hashlib, os, sys

def be(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(be(x) for x in v) + b"e"
    return b"d" + b"".join(be(k) + be(v[k]) for k in sorted(v)) + b"e"

out = sys.argv[1]
pl = 16384

# 100,000 files of 1 to 16 bytes in 100 folders; hashes over their data.
files, data = [], bytearray()
for i in range(100000):
    body = (b"%d\n" % i) * (1 + i % 3)
    files.append({b"length": len(body),
                  b"path": [b"d%03d" % (i // 1000), b"f%06d.txt" % i]})
    data += body
pieces = b"".join(hashlib.sha1(data[o:o + pl]).digest()
                  for o in range(0, len(data), pl))
t = {b"announce": b"http://127.0.0.1:6969/announce",
     b"created by": b"bt bench/decode.sh",
     b"info": {b"files": files, b"name": b"many", b"piece length": pl,
               b"pieces": pieces}}
open(os.path.join(out, "files100k.torrent"), "wb").write(be(t))

# 1,000,000 pieces of 16 KiB over one file of 15.3 GiB.
n = 1000000
t = {b"announce": b"http://127.0.0.1:6969/announce",
     b"created by": b"bt bench/decode.sh",
     b"info": {b"length": n * pl - 1000, b"name": b"big.bin",
               b"piece length": pl, b"pieces": os.urandom(20 * n)}}
open(os.path.join(out, "pieces1m.torrent"), "wb").write(be(t))
EOF

# One run: "SECONDS KIB" of the command, or "fail".
run1() {
	s=$(date +%s%N)
	if /usr/bin/time -f '%M' -o "$tmp/rss" "$@" \
	    >/dev/null 2>"$tmp/err"; then
		e=$(date +%s%N)
		echo "$(( (e - s) / 1000 )) $(tail -n 1 "$tmp/rss")"
	else
		echo "decode.sh: $* failed: $(head -c 300 "$tmp/err")" >&2
		echo fail
	fi
}

# Median of the numbers on stdin.
median() {
	sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

echo "## Decoding big torrents (bench/decode.sh)"
echo
echo "\`bt-decode -i FILE\` against \`transmission-show FILE\` (both print the"
echo "summary and the file list, to /dev/null), runs interleaved,"
echo "median of $RUNS;"
echo "wall seconds measured around \`/usr/bin/time -f %M\` (peak RSS)."
echo "Torrents made by bench/decode.sh with /usr/bin/python3:"
echo "\`files100k\`: 100,000 files of 1 to 16 bytes in 100 folders,"
echo "\`pieces1m\`: one 15.3 GiB file in 1,000,000 pieces of 16 KiB."
echo
echo "| torrent | size | program | seconds | MiB RSS | transmission-show / bt |"
echo "|---|---|---|---|---|---|"
for f in files100k pieces1m; do
	tf="$tmp/$f.torrent"
	size=$(stat -c %s "$tf")
	: >"$tmp/bt.t"; : >"$tmp/bt.m"; : >"$tmp/tr.t"; : >"$tmp/tr.m"
	fail=""
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		r=$(run1 bt-decode -i "$tf")
		[ "$r" = fail ] && fail="$fail bt-decode"
		echo "$r" | awk '{ print $1 }' >>"$tmp/bt.t"
		echo "$r" | awk '{ print $2 }' >>"$tmp/bt.m"
		r=$(run1 transmission-show "$tf")
		[ "$r" = fail ] && fail="$fail transmission-show"
		echo "$r" | awk '{ print $1 }' >>"$tmp/tr.t"
		echo "$r" | awk '{ print $2 }' >>"$tmp/tr.m"
		i=$((i + 1))
	done
	if [ -n "$fail" ]; then
		echo "| $f | $size | failed:$fail | | | |"
		continue
	fi
	bt_t=$(median <"$tmp/bt.t"); bt_m=$(median <"$tmp/bt.m")
	tr_t=$(median <"$tmp/tr.t"); tr_m=$(median <"$tmp/tr.m")
	awk -v f="$f" -v sz="$size" -v bt="$bt_t" -v btm="$bt_m" \
	    -v tr="$tr_t" -v trm="$tr_m" 'BEGIN {
		mib = sz / 1048576
		printf "| %s | %.1f MiB | bt-decode -i | %.3f | %.1f | |\n",
		    f, mib, bt / 1e6, btm / 1024
		printf "| %s | %.1f MiB | transmission-show | %.3f | %.1f | " \
		    "%.1fx time, %.1fx RSS |\n", f, mib, tr / 1e6, trm / 1024,
		    tr / bt, trm / btm
	}'
done
echo
echo "Made by \`make bench\` (or \`BENCH=decode sh bench/run\`) on" \
    "$(date -u +%Y-%m-%d)."
