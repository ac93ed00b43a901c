#!/usr/bin/env bats
# File selection (bt(7) FILE SELECTION) on a torrent of 1,000 files:
# bt-fetch-piece --files/--only fetches only the pieces of the chosen
# files, bt-assemble writes only them and keeps a piece shared with an
# unchosen neighbour in the side file, bt-verify --missing answers for the
# chosen files, a later run choosing the neighbour completes it without
# that piece, and bt-get -f/--only does all of it; from a real bt-seed.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# 1,000 files of 100 to 4,099 bytes in 10 folders, 32 KiB pieces:
	# about 16 files a piece, so every file shares a piece with its
	# neighbours.
	/usr/bin/python3 - <<-'PY'
	import os
	for i in range(1000):
	    d = "data/many/d%d" % (i // 100)
	    os.makedirs(d, exist_ok=True)
	    with open("%s/f%04d.bin" % (d, i), "wb") as f:
	        f.write(os.urandom(100 + (i * 37) % 4000))
	PY
	bt-create -l 32768 -o many.torrent data/many >/dev/null
	hash=$(bt-decode -i many.torrent | sed -n 's/^Info hash: //p')
	export hash
	# pieces.py CHOSEN...: the pieces of the chosen files (a LIST as
	# bt-verify --missing prints it), then those shared with an unchosen
	# file; CHOSEN are file indices.
	cat >pieces.py <<-'PY'
	import sys
	sizes = [100 + (i * 37) % 4000 for i in range(1000)]
	pl = 32768
	chosen = set(int(a) for a in sys.argv[1:])
	off, mine, other = 0, set(), set()
	for i, n in enumerate(sizes):
	    ps = set(range(off // pl, (off + n - 1) // pl + 1))
	    (mine if i in chosen else other).update(ps)
	    off += n
	def lst(s):
	    s, out, i = sorted(s), [], 0
	    while i < len(s):
	        j = i
	        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
	            j += 1
	        out.append(str(s[i]) if i == j else "%d-%d" % (s[i], s[j]))
	        i = j + 1
	    return ",".join(out)
	print(lst(mine))
	print(lst(mine & other))
	PY
	# side.py FILE: the pieces in a side file, "index ok" a line, ok when
	# its bytes are the source's.
	cat >side.py <<-'PY'
	import re, sys
	src = b"".join(open("data/many/d%d/f%04d.bin" % (i // 100, i),
	    "rb").read() for i in range(1000))
	b, pos = open(sys.argv[1], "rb").read(), 0
	while pos < len(b):
	    m = re.match(rb"d5:indexi(\d+)e5:piece(\d+):", b[pos:])
	    i, n = int(m.group(1)), int(m.group(2))
	    data = b[pos + m.end():pos + m.end() + n]
	    assert b[pos + m.end() + n:pos + m.end() + n + 1] == b"e"
	    print(i, "ok" if data == src[i * 32768:i * 32768 + n] else "bad")
	    pos += m.end() + n + 1
	PY
	fault_seed many.torrent data
	echo "127.0.0.1 $FSEED_PORT" >peers
}

teardown_file() {
	fault_seed_stop_all
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	out=$BATS_TEST_TMPDIR/out
}

# A LIST such as "3,7-9" as one piece a line.
expand() {
	tr , '\n' | awk -F- 'NF { for (i = $1; i <= ($2 == "" ? $1 : $2); i++)
	    print i }'
}

# The paths of files 305 and 10 to 12, chosen below by glob and index.
chosen_paths() {
	echo many/d3/f0305.bin
	echo many/d0/f0010.bin
	echo many/d0/f0011.bin
	echo many/d0/f0012.bin
}

@test "bt-fetch-piece --only/--files fetches exactly the chosen files' pieces" {
	run -0 bash -o pipefail -c "bt-fetch-piece -q -t many.torrent \
	    -p peers --only 'd3/f0305.bin' --files 10-12 >$BATS_TEST_TMPDIR/s"
	got=$(/usr/bin/python3 -c 'import re, sys
b = open(sys.argv[1], "rb").read()
print(",".join(m.group(1).decode() for m in
    re.finditer(rb"d5:indexi(\d+)e5:piece", b)))' "$BATS_TEST_TMPDIR/s")
	# The stream is in the order pieces arrived; the LIST is sorted.
	got=$(echo "$got" | tr , '\n' | sort -n | paste -s -d ,)
	want=$(bt-verify --missing --only 'd3/f0305.bin' --files 10-12 \
	    many.torrent "$BATS_TEST_TMPDIR/empty" | expand | paste -s -d ,)
	assert_equal "$got" "$want"
	# And what the file sizes say.
	assert_equal "$want" "$(/usr/bin/python3 pieces.py 305 10 11 12 |
	    head -n 1 | expand | paste -s -d ,)"
}

@test "bt-assemble writes only the chosen files; shared pieces go to the side file" {
	run -0 bash -o pipefail -c "bt-fetch-piece -q -t many.torrent \
	    -p peers --only 'd3/f0305.bin' --files 10-12 |
	    bt-assemble -p -C $out --only 'd3/f0305.bin' --files 10-12"
	# In the torrent's order.
	assert_output "$(chosen_paths | sort | sed "s,^,$out/,")"
	for p in $(chosen_paths); do
		cmp "$out/$p" "data/$p"
	done
	# Nothing else: no unchosen file, no temporary name.
	run -0 bash -c "cd $out && find . -type f | sort"
	assert_output "$( (chosen_paths | sed 's,^,./,'
	    echo "./.bt/$hash.parts") | sort)"
	# The side file holds, whole and right, exactly the pieces shared
	# between a chosen file and an unchosen one.
	shared=$(/usr/bin/python3 pieces.py 305 10 11 12 | sed -n 2p)
	run -0 /usr/bin/python3 side.py "$out/.bt/$hash.parts"
	refute_output --partial bad
	assert_equal "$(echo "$output" | cut -d ' ' -f 1 | sort -n |
	    paste -s -d ,)" "$(echo "$shared" | expand | paste -s -d ,)"
	# The chosen files are complete; the torrent is not.
	run -0 bt-verify --missing --only 'd3/f0305.bin' --files 10-12 \
	    many.torrent "$out"
	assert_output ""
	run -1 bt-verify --missing many.torrent "$out"
	assert_output --regexp '^[0-9]'
}

@test "a later run choosing the neighbour completes it without fetching the shared piece" {
	bash -o pipefail -c "bt-fetch-piece -q -t many.torrent -p peers \
	    --files 12 | bt-assemble -C $out --files 12"
	cmp "$out/many/d0/f0012.bin" data/many/d0/f0012.bin
	# File 13 (581 bytes) lies in a piece that file 12 ends in.
	read -r mine13 shared13 < <(/usr/bin/python3 pieces.py 13 |
	    paste -s -d ' ')
	shared12=$(/usr/bin/python3 pieces.py 12 | sed -n 2p)
	case ",$shared12," in *",$mine13,"*) ;; *) false ;; esac
	# That piece is good (kept whole in the side file): nothing to fetch.
	run -0 bt-verify --missing --files 13 many.torrent "$out"
	assert_output ""
	run -0 bt-verify --files 13 many.torrent "$out"
	assert_output "$mine13 good"
	[ ! -e "$out/many/d0/f0013.bin" ]
	# The empty stream (the torrent alone) writes it from the side file.
	run -0 bt-assemble -p -C "$out" --files 13 many.torrent
	assert_output "$out/many/d0/f0013.bin"
	cmp "$out/many/d0/f0013.bin" data/many/d0/f0013.bin
	run -0 bt-verify --missing --files 12-13 many.torrent "$out"
	assert_output ""
	[ ! -e "$out/many/d0/f0011.bin" ] && [ ! -e "$out/many/d0/f0014.bin" ]
	# Neighbours that need more (files 0 to 40): what is left to fetch
	# leaves out the pieces the side file holds.
	run -1 bt-verify --missing --files 0-40 many.torrent "$out"
	list=$output
	for p in $(echo "$shared12" | expand); do
		! echo "$list" | expand | grep -qx "$p"
	done
	run -0 bash -o pipefail -c "bt-fetch-piece -q -t many.torrent \
	    -p peers -i '$list' --files 0-40 |
	    bt-assemble -p -C $out --files 0-40"
	assert_equal "${#lines[@]}" 41
	for i in $(seq 0 40); do
		p=many/d0/f$(printf %04d "$i").bin
		cmp "$out/$p" "data/$p"
	done
	run -0 bt-verify --missing --files 0-40 many.torrent "$out"
	assert_output ""
	[ ! -e "$out/many/d0/f0041.bin" ]
}

@test "bt-get --only and -f download the chosen files, then the neighbour, then the rest" {
	run -0 bt-get -q -p peers --only '*/f030[5-6].bin' -f 10,11 \
	    many.torrent "$out"
	assert_output "$(printf '%s\n' many/d0/f0010.bin many/d0/f0011.bin \
	    many/d3/f0305.bin many/d3/f0306.bin | sed "s,^,$out/,")"
	for p in d0/f0010 d0/f0011 d3/f0305 d3/f0306; do
		cmp "$out/many/$p.bin" "data/many/$p.bin"
	done
	run -0 bash -c "cd $out && find . -type f | grep -v '^./.bt/' | wc -l"
	assert_output 4
	[ -s "$out/.bt/$hash.parts" ]
	run -0 bt-verify --missing --only '*/f030[5-6].bin' --files 10,11 \
	    many.torrent "$out"
	assert_output ""
	# The neighbour of 0306.
	run -0 bt-get -q -p peers -f 307 many.torrent "$out"
	assert_output "$out/many/d3/f0307.bin"
	cmp "$out/many/d3/f0307.bin" data/many/d3/f0307.bin
	[ ! -e "$out/many/d3/f0308.bin" ]
	# Everything: byte-identical, and the side file is gone.
	run -0 bt-get -q -p peers many.torrent "$out"
	assert_equal "${#lines[@]}" 1000
	diff -r data/many "$out/many"
	[ ! -e "$out/.bt" ]
}

@test "a file index past the last is one line and status 64, everywhere" {
	run -64 --separate-stderr bt-verify --missing --files 3,1000 \
	    many.torrent "$out"
	assert_equal "$stderr" "bt-verify: --files 3,1000: '1000': out of range 0 to 999 (the torrent has 1000 files)"
	run -64 --separate-stderr bt-fetch-piece -q -t many.torrent -p peers \
	    --files 1000
	assert_equal "$stderr" "bt-fetch-piece: --files 1000: '1000': out of range 0 to 999 (the torrent has 1000 files)"
	run -64 --separate-stderr bt-assemble -C "$out" --files 1000 \
	    many.torrent
	assert_equal "$stderr" "bt-assemble: --files 1000: '1000': out of range 0 to 999 (the torrent has 1000 files)"
	run -64 --separate-stderr bt-get -q -p peers -f 1000 many.torrent \
	    "$out"
	assert_equal "$stderr" "bt-verify: --files 1000: '1000': out of range 0 to 999 (the torrent has 1000 files)"
	[ ! -e "$out/many" ]
}

@test "a glob that matches no file is one line and status 64, everywhere" {
	run -64 --separate-stderr bt-verify --missing --only '*.txt' \
	    many.torrent "$out"
	assert_equal "$stderr" "bt-verify: --only '*.txt': matches no file of the torrent"
	run -64 --separate-stderr bt-fetch-piece -q -t many.torrent -p peers \
	    --only '*.txt'
	assert_equal "$stderr" "bt-fetch-piece: --only '*.txt': matches no file of the torrent"
	run -64 --separate-stderr bt-assemble -C "$out" --only '*.txt' \
	    many.torrent
	assert_equal "$stderr" "bt-assemble: --only '*.txt': matches no file of the torrent"
	run -64 --separate-stderr bt-get -q -p peers --only '*.txt' \
	    many.torrent "$out"
	assert_equal "$stderr" "bt-verify: --only '*.txt': matches no file of the torrent"
	[ ! -e "$out/many" ]
}

@test "a selection with -a, or on a stream filter, is bad usage" {
	run -64 bt-fetch-piece -a -t many.torrent -p peers --files 1
	run -64 bt-verify --files 1 many.torrent
}
