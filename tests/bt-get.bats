#!/usr/bin/env bats
# bt-get: the whole download, end to end, from a real libtorrent seeder on
# 127.0.0.1, with a peer list or through opentracker; killed with -9 and
# resumed.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# A multi-file torrent: nested folders, a zero-length file, files
	# that share pieces; 64 KiB pieces.
	mkdir -p data/set/sub/deep
	rand_file data/set/a.bin 3000000
	rand_file data/set/sub/b.bin 1500001
	rand_file data/set/sub/deep/c.bin 70000
	: >data/set/sub/empty
	mktorrent -l 16 -a http://127.0.0.1:1/announce -o set.torrent \
	    data/set >/dev/null
	# The same info (so the same info hash) announced to opentracker.
	info_hash_of set.torrent >hashes
	opentracker_start hashes
	mktorrent -l 16 -a "$OT_ANNOUNCE" -o tracked.torrent data/set \
	    >/dev/null
	export OT_ANNOUNCE OT_PID OT_DIR
	# The torrent's files, in the order they are listed.
	files="a.bin sub/b.bin sub/deep/c.bin sub/empty"
	export files
}

teardown_file() {
	opentracker_stop
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	out=$BATS_TEST_TMPDIR/out
	SEEDERS_TMP=$BATS_TEST_TMPDIR
}

teardown() {
	if [ -n "${GET_PID:-}" ]; then
		kill -9 -- "-$GET_PID" 2>/dev/null
	fi
	seeders_stop
}

# Every file of set.torrent under $1 that has its real name is complete.
real_names_complete() {
	for f in $files; do
		if [ -e "$1/set/$f" ]; then
			cmp "data/set/$f" "$1/set/$f" || return 1
		fi
	done
}

good_at_least() {
	[ "$(bt-verify set.torrent "$out" | grep -c good)" -ge "$1" ]
}

all_identical() {
	for f in $files; do
		cmp "data/set/$f" "$1/set/$f" || return 1
	done
}

@test "downloads a multi-file torrent from a libtorrent seeder, byte-identical, and prints where the files are" {
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	run --separate-stderr bt-get --peers peers set.torrent "$out"
	assert_success
	assert_output "$out/set/a.bin
$out/set/sub/b.bin
$out/set/sub/deep/c.bin
$out/set/sub/empty"
	all_identical "$out"
	run find "$out" -name '*.part'
	assert_output ""
}

@test "downloads through the tracker: bt-announce, bt-peers, bt-fetch-piece, bt-assemble" {
	port=$(free_port)
	seed_lt tracked.torrent data "$port"
	# Announce the seeder to opentracker on its behalf.
	bt-announce -e started -l 0 -p "$port" tracked.torrent >/dev/null
	run --separate-stderr bt-get -v tracked.torrent "$out"
	assert_success
	assert_equal "${stderr_lines[0]}" "bt-get: fetching pieces 0-69"
	all_identical "$out"
}

@test "fetches nothing when the data is already complete" {
	mkdir -p "$out"
	cp -r data/set "$out/"
	echo "127.0.0.1 1" >deadpeers
	run --separate-stderr bt-get -v -p deadpeers set.torrent "$out"
	assert_success
	assert_equal "$stderr" ""
	assert_line "$out/set/sub/empty"
}

@test "fetches only what is missing, and finishes files left under NAME.part" {
	mkdir -p "$out/set/sub"
	cp data/set/a.bin "$out/set/a.bin.part"
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	run --separate-stderr bt-get -v -p peers set.torrent "$out"
	assert_success
	# a.bin is bytes 0-2999999: pieces 0-44 hold only it.
	assert_equal "$stderr" "bt-get: fetching pieces 45-69"
	all_identical "$out"
}

# A bt-assemble that reads its stream at about 2 MiB/s, so that a kill
# lands in the middle of the download. (The seeder's own rate limit does
# not apply to peers on 127.0.0.1.)
slow_assemble() {
	mkdir -p "$BATS_TEST_TMPDIR/slow"
	cat >"$BATS_TEST_TMPDIR/slow/bt-assemble" <<-EOF
	#!/bin/sh
	python3 -c '
	import sys, time
	i, o = sys.stdin.buffer, sys.stdout.buffer
	while True:
	    b = i.read(65536)
	    if not b:
	        break
	    o.write(b); o.flush(); time.sleep(0.03)
	' | "$BT_BIN/bt-assemble" "\$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/slow/bt-assemble"
}

@test "killed with -9 at several moments, it resumes, never refetches a verified piece, and completes" {
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	slow_assemble
	# Three moments, by how many pieces have reached the disk.
	for moment in 10 35 55; do
		PATH="$BATS_TEST_TMPDIR/slow:$PATH" setsid bt-get -q -p peers \
		    set.torrent "$out" >/dev/null 2>&1 3>&- &
		GET_PID=$!
		wait_for 60 good_at_least "$moment"
		kill -9 -- "-$GET_PID" 2>/dev/null || true
		wait "$GET_PID" 2>/dev/null || true
		GET_PID=
		# Nothing unfinished wears its real name.
		real_names_complete "$out"
	done
	missing=$(bt-verify --missing set.torrent "$out" || true)
	run --separate-stderr bt-get -v -p peers set.torrent "$out"
	assert_success
	if [ -n "$missing" ]; then
		assert_equal "${stderr_lines[0]}" "bt-get: fetching pieces $missing"
	else
		assert_equal "$stderr" ""
	fi
	all_identical "$out"
}

@test "no peer could serve: status 69 after the retries" {
	echo "127.0.0.1 $(free_port)" >deadpeers
	run -69 --separate-stderr bt-get -r 1 -w 0 -p deadpeers set.torrent \
	    "$out"
	assert_equal "${stderr_lines[-1]}" "bt-get: no peer could serve the 70 missing pieces after 1 retries"
	assert_output ""
	[ ! -e "$out/set/a.bin" ]
}

@test "a missing torrent is status 66, bad usage 64" {
	run -66 --separate-stderr bt-get nosuch.torrent "$out"
	assert_equal "$stderr" "bt-verify: nosuch.torrent: No such file or directory"
	run -64 --separate-stderr bt-get
	assert_equal "$stderr" "usage: bt-get [-qv] [-p peers] [-r retries] [-w seconds] torrent [dir]"
	run -64 --separate-stderr bt-get - "$out"
	run -64 --separate-stderr bt-get -r x set.torrent
	assert_equal "${stderr_lines[0]}" "bt-get: -r x: not a whole number"
}
