#!/usr/bin/env bats
# bt-verify: a filter on a piece stream, or a recheck of the data on disk
# (bt-verify TORRENT DIR). No network: random data, mktorrent, streams
# built here.

load helper
bats_require_minimum_version 1.5.0

# 32 KiB pieces: single.bin has 7 (the last short), multi spans files.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	mkdir -p src/multi/sub
	rand_file src/multi/a.bin 100000
	rand_file src/multi/sub/b.bin 70000
	: >src/multi/sub/empty
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o multi.torrent \
	    src/multi >/dev/null
	rand_file src/single.bin 200001
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o single.torrent \
	    src/single.bin >/dev/null
	# 16 MiB in 256 KiB pieces (64) for the thread count test.
	mkdir -p big
	rand_file big/big.bin $((16 * 1024 * 1024))
	mktorrent -l 18 -a http://127.0.0.1:1/announce -o big.torrent \
	    big/big.bin >/dev/null
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	d=$BATS_TEST_TMPDIR/d
}

# Pieces of single.bin in d/single.bin.part: piece i good for i in $@.
partial_single() {
	mkstream single.torrent src "$@" | bt-assemble -C "$d" 2>/dev/null
}

@test "passes a good stream through unchanged" {
	mkstream multi.torrent src 3 0 2 1 >s
	run --separate-stderr bash -c 'bt-verify <s | cmp - s'
	assert_success
	assert_equal "$stderr" ""
}

@test "drops a bad piece, names it on stderr, passes the others, exits 1" {
	mkstream single.torrent src -c 4 0 4 6 >s
	mkstream single.torrent src 0 6 >want
	run -1 --separate-stderr bash -c 'bt-verify s >got'
	assert_equal "$stderr" "bt-verify: piece 4: SHA-1 mismatch"
	cmp want got
}

@test "passes a concatenation of two streams of one torrent as one stream" {
	{ mkstream single.torrent src 0; mkstream single.torrent src 1; } >s
	mkstream single.torrent src 0 1 >want
	bt-verify - <s >got
	cmp want got
}

@test "a truncated stream is malformed data (65) after the good pieces" {
	mkstream single.torrent src 0 1 >s
	head -c $(($(stat -c %s s) - 10)) s >cut
	mkstream single.torrent src 0 >want
	run -65 --separate-stderr bash -c 'bt-verify cut >got'
	assert_equal "$stderr" "bt-verify: cut: byte $(stat -c %s cut): stream ends inside a value"
	cmp want got
}

@test "says per piece good, bad or missing for the data on disk, exits 1 when incomplete" {
	partial_single 0 1 2 4
	# Piece 4 damaged on disk, piece 3 (a hole) and 5-6 (past the end)
	# never written.
	printf 'X' | dd of="$d/single.bin.part" bs=1 seek=$((4 * 32768 + 7)) \
	    conv=notrunc 2>/dev/null
	run -1 --separate-stderr bt-verify single.torrent "$d"
	assert_output "0 good
1 good
2 good
3 missing
4 bad
5 missing
6 missing"
	assert_equal "$stderr" ""
}

@test "--missing prints the pieces still to fetch as one collapsed LIST" {
	partial_single 2 4
	run -1 bt-verify --missing single.torrent "$d"
	assert_output "0-1,3,5-6"
	partial_single 0 1 3 5
	run -1 bt-verify --missing single.torrent "$d"
	assert_output "6"
}

@test "--missing prints nothing and exits 0 when the data is complete" {
	mkdir -p "$d"
	cp src/single.bin "$d/"
	run -0 --separate-stderr bt-verify --missing single.torrent "$d"
	assert_output ""
	assert_equal "$stderr" ""
}

@test "--json gives the counts, the fetch list and each piece's state" {
	partial_single 0 1 6
	run -1 bash -o pipefail -c "bt-verify --json single.torrent '$d' | jq -c '[.pieces,.good,.bad,.missing,.complete,.fetch,.state[0],.state[3],.torrent]'"
	assert_output '[7,3,0,4,false,"2-5","good","missing","single.torrent"]'
	run bash -c "bt-verify --json single.torrent '$d' | jq -r .info_hash"
	assert_output "$(transmission-show single.torrent | sed -n 's/^ *Hash: *//p' | head -1)"
}

@test "finds data under the temporary name (NAME.part), so resume works" {
	mkdir -p "$d/multi/sub"
	cp src/multi/a.bin "$d/multi/a.bin.part"
	cp src/multi/sub/b.bin "$d/multi/sub/b.bin"
	run -0 bt-verify --missing multi.torrent "$d"
	assert_output ""
}

@test "a missing DIR means every piece is missing" {
	run -1 bt-verify --missing single.torrent "$BATS_TEST_TMPDIR/nothing"
	assert_output "0-6"
}

@test "a file shorter than needed makes its pieces missing" {
	mkdir -p "$d"
	head -c 100000 src/single.bin >"$d/single.bin"
	run -1 bt-verify --missing single.torrent "$d"
	assert_output "3-6"
}

@test "never follows a symbolic link planted in DIR: the data behind it is missing" {
	mkdir -p "$d" "$BATS_TEST_TMPDIR/elsewhere/sub"
	cp src/multi/sub/b.bin "$BATS_TEST_TMPDIR/elsewhere/sub/"
	mkdir -p "$d/multi"
	cp src/multi/a.bin "$d/multi/"
	ln -s "$BATS_TEST_TMPDIR/elsewhere/sub" "$d/multi/sub"
	run -1 bt-verify --missing multi.torrent "$d"
	# a.bin is bytes 0-99999: pieces 0-2 hold only a.bin (and b.bin
	# from piece 3 on).
	assert_output "3-5"
	ln -s "$BATS_FILE_TMPDIR/src/single.bin" "$d/single.bin"
	run -1 bt-verify --missing single.torrent "$d"
	assert_output "0-6"
}

@test "gives the same answer on one thread and on two" {
	cp -r big "$d"
	printf 'X' | dd of="$d/big.bin" bs=1 seek=$((20 * 262144)) conv=notrunc \
	    2>/dev/null
	truncate -s $((50 * 262144 + 5)) "$d/big.bin"
	run -1 bt-verify -j 1 --missing big.torrent "$d"
	assert_output "20,50-63"
	one=$(bt-verify -j 1 big.torrent "$d" | md5sum)
	two=$(bt-verify -j 2 big.torrent "$d" | md5sum)
	assert_equal "$one" "$two"
}

@test "a missing torrent is status 66, a malformed one 65" {
	run -66 --separate-stderr bt-verify nosuch.torrent "$d"
	assert_equal "$stderr" "bt-verify: nosuch.torrent: No such file or directory"
	printf 'd4:infoi1ee' >bad.torrent
	run -65 --separate-stderr bt-verify bad.torrent "$d"
	assert_equal "$stderr" "bt-verify: bad.torrent: 'info' is not a dictionary"
}

@test "a DIR that is not a folder is status 66" {
	run -66 --separate-stderr bt-verify single.torrent single.torrent
	assert_equal "$stderr" "bt-verify: single.torrent: Not a directory"
}

@test "bad usage is status 64 with the synopsis" {
	run -64 --separate-stderr bt-verify a b c
	assert_equal "${stderr_lines[0]}" "usage: bt-verify [file]"
	run -64 --separate-stderr bt-verify --json s
	assert_equal "${stderr_lines[1]}" "       bt-verify [-j threads] [--json | --missing] [--files list] [--only glob]"
	assert_equal "${stderr_lines[2]}" "                 torrent dir"
	run -64 --separate-stderr bt-verify -j 0 single.torrent "$d"
	assert_equal "$stderr" "bt-verify: -j: '0': out of range 1 to 16"
}
