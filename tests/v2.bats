#!/usr/bin/env bats
# BEP 52: v2-only and hybrid torrents through the whole family. A v2
# torrent is laid out as libtorrent lays it (every file from a piece
# boundary, a pad after it) and each piece is checked by its merkle hash
# (lib/phash); a hybrid is downloaded and served through its v1 part.
# The torrents are made by libtorrent itself and by bt-create; the peers
# are python3-libtorrent on 127.0.0.1.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# Sizes around the rules: a file of one piece or less (its root is
	# as wide as its own blocks), exactly a piece, several pieces and a
	# little, under a block, one byte.
	mkdir -p "$d/data/set/sub" "$d/one"
	rand_file "$d/data/set/a.bin" 1000000
	rand_file "$d/data/set/b.bin" 65536
	rand_file "$d/data/set/c.txt" 5
	rand_file "$d/data/set/sub/d.bin" 70000
	rand_file "$d/data/set/sub/e" 1
	rand_file "$d/one/solo.bin" 300000
	cat >"$d/mk.py" <<-'EOF'
	import sys, libtorrent as lt
	path, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
	fs = lt.file_storage()
	lt.add_files(fs, path)
	flags = lt.create_torrent.v2_only if kind == "v2" else 0
	ct = lt.create_torrent(fs, 65536, flags=flags)
	lt.set_piece_hashes(ct, path.rsplit("/", 1)[0])
	open(out, "wb").write(lt.bencode(ct.generate()))
	EOF
	local k
	for k in v2 hybrid; do
		/usr/bin/python3 "$d/mk.py" "$d/data/set" "$d/lt-$k.torrent" $k
		/usr/bin/python3 "$d/mk.py" "$d/one/solo.bin" \
		    "$d/lt-one-$k.torrent" $k
	done
	bt-create --v2 -l 65536 -o "$d/bt-v2.torrent" "$d/data/set" \
	    >/dev/null
	bt-create --hybrid -l 65536 -o "$d/bt-hybrid.torrent" \
	    "$d/data/set" >/dev/null
}

teardown() {
	leechers_stop
	seeders_stop
	local p
	for p in ${BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# fetch_from_lt TORRENT DATADIR: a libtorrent seeder of it, then the
# pipeline into $BATS_TEST_TMPDIR/out; its stderr in .../err.
fetch_from_lt() {
	local port
	port=$(free_port)
	seed_lt "$1" "$2" "$port"
	run -0 bash -o pipefail -c 'echo "127.0.0.1 $1" |
	    bt-fetch-piece -v -t "$2" -a 2>"$3/err" |
	    bt-assemble -C "$3/out"' _ "$port" "$1" "$BATS_TEST_TMPDIR"
}

@test "a v2-only torrent made by libtorrent: bt-fetch-piece | bt-assemble get the same bytes from a libtorrent seeder" {
	local d=$BATS_FILE_TMPDIR
	run -0 bt-decode -i "$d/lt-v2.torrent"
	assert_line "Version: v2"
	fetch_from_lt "$d/lt-v2.torrent" "$d/data"
	diff -r "$d/data/set" "$BATS_TEST_TMPDIR/out/set"
	# No pad file is written.
	[ ! -e "$BATS_TEST_TMPDIR/out/set/.pad" ]
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp ", 0 hash failures$"
}

@test "a single-file v2 torrent of several pieces, and a hybrid, from libtorrent seeders" {
	local d=$BATS_FILE_TMPDIR k
	for k in v2 hybrid; do
		fetch_from_lt "$d/lt-one-$k.torrent" "$d/one"
		cmp "$d/one/solo.bin" "$BATS_TEST_TMPDIR/out/solo.bin"
		rm -rf "$BATS_TEST_TMPDIR/out"
		seeders_stop || true
	done
}

@test "a hybrid torrent made by libtorrent: the same bytes, through its v1 part" {
	local d=$BATS_FILE_TMPDIR
	run -0 bt-decode -i "$d/lt-hybrid.torrent"
	assert_line "Version: hybrid v1+v2 (v1 used)"
	fetch_from_lt "$d/lt-hybrid.torrent" "$d/data"
	diff -r "$d/data/set" "$BATS_TEST_TMPDIR/out/set"
}

@test "bt-create --v2 and --hybrid torrents: libtorrent seeds them, bt downloads the same bytes" {
	local d=$BATS_FILE_TMPDIR k
	for k in v2 hybrid; do
		fetch_from_lt "$d/bt-$k.torrent" "$d/data"
		diff -r "$d/data/set" "$BATS_TEST_TMPDIR/out/set"
		rm -rf "$BATS_TEST_TMPDIR/out"
		seeders_stop || true
	done
}

@test "libtorrent downloads a v2 and a hybrid torrent from bt-seed: the same bytes" {
	local d=$BATS_FILE_TMPDIR k port n
	for k in v2 hybrid; do
		port=$(free_port)
		bt-seed -v -n -b 127.0.0.1 -p "$port" "$d/lt-$k.torrent" \
		    "$d/data" </dev/null 2>"$BATS_TEST_TMPDIR/seed.$k" 3>&- &
		BG_PIDS="${BG_PIDS:-} $!"
		wait_for 20 grep -q 'pieces to serve$' \
		    "$BATS_TEST_TMPDIR/seed.$k"
		n=$(bt-decode -i "$d/lt-$k.torrent" | sed -n 's/^Pieces: //p')
		run grep -c "^bt-seed: $n of $n pieces to serve$" \
		    "$BATS_TEST_TMPDIR/seed.$k"
		assert_output 1
		run -0 leech_lt -t 60 "$d/lt-$k.torrent" \
		    "$BATS_TEST_TMPDIR/lt.$k" "$port"
		assert_output "done 1"
		diff -r "$d/data/set" "$BATS_TEST_TMPDIR/lt.$k/set"
	done
}

@test "bt-get downloads a v2 torrent from a libtorrent seeder and prints the files, pads left out" {
	local d=$BATS_FILE_TMPDIR port
	port=$(free_port)
	seed_lt "$d/lt-v2.torrent" "$d/data" "$port"
	echo "127.0.0.1 $port" >"$BATS_TEST_TMPDIR/peers"
	run -0 --separate-stderr bt-get -q -p "$BATS_TEST_TMPDIR/peers" \
	    "$d/lt-v2.torrent" "$BATS_TEST_TMPDIR/got"
	diff -r "$d/data/set" "$BATS_TEST_TMPDIR/got/set"
	assert_equal "${#lines[@]}" 5
	refute_output --partial ".pad"
}

@test "bt-verify checks v2 pieces by their merkle hash: a flipped byte makes its piece bad, status 1" {
	local d=$BATS_FILE_TMPDIR t=$BATS_TEST_TMPDIR
	run -0 bt-verify "$d/lt-v2.torrent" "$d/data"
	refute_output --partial bad
	cp -r "$d/data" "$t/bad"
	# Byte 100 of sub/d.bin: the first piece of that file.
	printf 'X' | dd of="$t/bad/set/sub/d.bin" bs=1 seek=100 \
	    conv=notrunc 2>/dev/null
	run -1 bt-verify "$d/lt-v2.torrent" "$t/bad"
	assert_equal "$(grep -c ' bad$' <<<"$output")" 1
	# --missing lists that one piece, status 1.
	run -1 bt-verify --missing "$d/lt-v2.torrent" "$t/bad"
	assert_equal "${#lines[@]}" 1
}
