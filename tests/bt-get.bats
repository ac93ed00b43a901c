#!/usr/bin/env bats
# bt-get: the whole download, end to end, from a real libtorrent seeder on
# 127.0.0.1, with a peer list or through opentracker; killed with -9 and
# resumed; from a magnet link (metadata from libtorrent or bt-seed); what
# is read again at the end, with and without --recheck.

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
	# Magnet links for it: with the tracker (percent-encoded), without
	# one, and the info hash in base32.
	hash=$(cat hashes)
	tr=$(printf %s "$OT_ANNOUNCE" | sed 's/:/%3A/g; s,/,%2F,g')
	link="magnet:?xt=urn:btih:$hash&dn=set&tr=$tr"
	bare="magnet:?xt=urn:btih:$hash"
	b32=$(/usr/bin/python3 -c 'import base64, sys
print(base64.b32encode(bytes.fromhex(sys.argv[1])).decode())' "$hash")
	export hash link bare b32
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
	if [ -n "${BTSEED_PID:-}" ]; then
		kill "$BTSEED_PID" 2>/dev/null
		wait "$BTSEED_PID" 2>/dev/null
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
	assert_equal "$stderr" "usage: bt-get [-qv] [-f list] [-P port] [-p peers] [-r retries] [-w seconds] [--no-webseed] [--only glob] [--recheck] torrent|magnet [dir]"
	run -64 --separate-stderr bt-get - "$out"
	run -64 --separate-stderr bt-get -r x set.torrent
	assert_equal "${stderr_lines[0]}" "bt-get: -r x: not a whole number"
	run -64 --separate-stderr bt-get -P 0 set.torrent
	assert_equal "${stderr_lines[0]}" "bt-get: -P 0: not a port (1 to 65535)"
	run -64 --separate-stderr bt-get --port 65536 set.torrent
	assert_equal "${stderr_lines[0]}" "bt-get: --port 65536: not a port (1 to 65535)"
}

# A bt-assemble that, after the real one has written a round, changes one
# byte of a.bin (piece 0) behind its back, once, as a failing disk or
# another program would. The closing "bt-assemble -p -C DIR TORRENT" is
# left alone.
corrupting_assemble() {
	mkdir -p "$BATS_TEST_TMPDIR/corrupt"
	cat >"$BATS_TEST_TMPDIR/corrupt/bt-assemble" <<-EOF
	#!/bin/sh
	"$BT_BIN/bt-assemble" "\$@"
	st=\$?
	if [ \$# -eq 2 ] && [ ! -e "$BATS_TEST_TMPDIR/corrupted" ]; then
		/usr/bin/python3 -c '
	import sys
	with open(sys.argv[1], "r+b") as f:
	    f.seek(1000)
	    b = f.read(1)
	    f.seek(1000)
	    f.write(bytes([b[0] ^ 0xff]))
	' "$out/set/a.bin"
		: >"$BATS_TEST_TMPDIR/corrupted"
	fi
	exit \$st
	EOF
	chmod +x "$BATS_TEST_TMPDIR/corrupt/bt-assemble"
}

@test "--recheck reads all the data again at the end and fetches what changed since it was written" {
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	corrupting_assemble
	PATH="$BATS_TEST_TMPDIR/corrupt:$PATH" run --separate-stderr \
	    bt-get -v --recheck -p peers set.torrent "$out"
	assert_success
	[ -e "$BATS_TEST_TMPDIR/corrupted" ]
	assert_equal "$stderr" "bt-get: fetching pieces 0-69
bt-get: fetching pieces 0"
	all_identical "$out"
}

@test "without --recheck, what the run verified and wrote is not read again: it ends after one round" {
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	corrupting_assemble
	PATH="$BATS_TEST_TMPDIR/corrupt:$PATH" run --separate-stderr \
	    bt-get -v -p peers set.torrent "$out"
	assert_success
	assert_equal "$stderr" "bt-get: fetching pieces 0-69"
	assert_line "$out/set/a.bin"
	# The byte changed after bt-assemble verified and wrote piece 0 is
	# still changed: bt-get trusted the round. bt-verify sees it.
	run cmp data/set/a.bin "$out/set/a.bin"
	assert_failure
	run -1 bt-verify --missing set.torrent "$out"
	assert_output "0"
	for f in sub/b.bin sub/deep/c.bin sub/empty; do
		cmp "data/set/$f" "$out/set/$f"
	done
}

@test "a piece bad on disk at the start is found and fetched again without --recheck" {
	mkdir -p "$out"
	cp -r data/set "$out/"
	printf 'junk' | dd of="$out/set/sub/b.bin" bs=1 seek=100000 \
	    conv=notrunc 2>/dev/null
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	run --separate-stderr bt-get -v -p peers set.torrent "$out"
	assert_success
	# b.bin starts at byte 3000000: byte 3100000 is in piece 47.
	assert_equal "$stderr" "bt-get: fetching pieces 47"
	all_identical "$out"
}

@test "downloads from a magnet link through the tracker, keeps the .torrent in DIR/.bt/ and prints the files" {
	port=$(free_port)
	seed_lt tracked.torrent data "$port"
	bt-announce -e started -l 0 -p "$port" tracked.torrent >/dev/null
	run --separate-stderr bt-get -v "$link" "$out"
	assert_success
	assert_equal "$stderr" "bt-get: kept the torrent in $out/.bt/$hash.torrent
bt-get: fetching pieces 0-69"
	assert_output "$out/set/a.bin
$out/set/sub/b.bin
$out/set/sub/deep/c.bin
$out/set/sub/empty"
	all_identical "$out"
	# The kept torrent: the same info hash, the link's tracker, and
	# good for bt-verify and a later bt-get.
	assert_equal "$(info_hash_of "$out/.bt/$hash.torrent")" "$hash"
	run bt-decode -i "$out/.bt/$hash.torrent"
	assert_line "  tier 1: $OT_ANNOUNCE"
	run bt-verify --missing "$out/.bt/$hash.torrent" "$out"
	assert_success
	assert_output ""
	run ls -A "$out/.bt"
	assert_output "$hash.torrent"
}

@test "a magnet link with -p: metadata and pieces from a libtorrent seeder; a rerun, even in base32, uses the kept .torrent" {
	port=$(free_port)
	seed_lt set.torrent data "$port"
	echo "127.0.0.1 $port" >peers
	run --separate-stderr bt-get -p peers "$bare" "$out"
	assert_success
	assert_equal "$stderr" ""
	all_identical "$out"
	cmp "$out/.bt/$hash.torrent" <(bt-fetch-metadata -p peers "$bare")
	# No peer now: the metadata is not asked for again, and nothing is
	# missing.
	echo "127.0.0.1 1" >deadpeers
	run --separate-stderr bt-get -v -p deadpeers \
	    "magnet:?xt=urn:btih:$b32" "$out"
	assert_success
	assert_equal "$stderr" "bt-get: using the torrent kept in $out/.bt/$hash.torrent"
	assert_line "$out/set/sub/empty"
}

@test "a magnet link served by bt-seed: metadata and pieces" {
	log=$BATS_TEST_TMPDIR/seed.log
	bt-seed -v -n -b 127.0.0.1 -p 0 set.torrent data </dev/null \
	    >/dev/null 2>"$log" 3>&- &
	BTSEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$log"
	port=$(sed -n 's/^bt-seed: listening on .* port \([0-9]*\)$/\1/p' \
	    "$log" | head -n 1)
	echo "127.0.0.1 $port" >peers
	run --separate-stderr bt-get -v -p peers "$bare" "$out"
	assert_success
	assert_equal "$stderr" "bt-get: kept the torrent in $out/.bt/$hash.torrent
bt-get: fetching pieces 0-69"
	all_identical "$out"
	assert_equal "$(info_hash_of "$out/.bt/$hash.torrent")" "$hash"
}

@test "a .torrent that cannot be kept in DIR/.bt/ is status 74 and one line" {
	log=$BATS_TEST_TMPDIR/seed.log
	bt-seed -v -n -b 127.0.0.1 -p 0 set.torrent data </dev/null \
	    >/dev/null 2>"$log" 3>&- &
	BTSEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$log"
	port=$(sed -n 's/^bt-seed: listening on .* port \([0-9]*\)$/\1/p' \
	    "$log" | head -n 1)
	echo "127.0.0.1 $port" >peers
	mkdir -p "$out"
	: >"$out/.bt"
	run -74 --separate-stderr bt-get -p peers "$bare" "$out"
	assert_equal "$stderr" "bt-get: $out/.bt/$hash.torrent: cannot keep the torrent: File exists"
	assert_output ""
}

@test "a bad magnet link: status 65 and one line, with or without -p, and nothing kept" {
	run -65 --separate-stderr bt-get 'magnet:?xt=urn:btih:123' "$out"
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "bt-fetch-metadata: xt: info hash of 3 characters: want 40 hex digits or 32 base32 characters"
	assert_output ""
	echo "127.0.0.1 1" >deadpeers
	run -65 --separate-stderr bt-get -p deadpeers 'magnet:?dn=x' "$out"
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == bt-fetch-metadata:* ]]
	[ ! -e "$out/.bt" ]
}

@test "no peer gives the metadata: status 69 after the retries, said once" {
	echo "127.0.0.1 $(free_port)" >deadpeers
	run -69 --separate-stderr bt-get -r 2 -w 0 -p deadpeers "$bare" "$out"
	assert_equal "$stderr" "bt-get: no metadata yet: retry 1 of 2 in 0 s
bt-get: no metadata yet: retry 2 of 2 in 0 s
${stderr_lines[2]}"
	[[ ${stderr_lines[2]} == "bt-fetch-metadata: no peer gave the metadata"* ]]
	assert_output ""
	[ ! -e "$out/.bt" ]
}

# A bt-fetch-piece first on PATH that says with -v (not -q) where it
# listens, into $BATS_TEST_TMPDIR/fetch.log.
fetch_wrapper() {
	mkdir -p "$BATS_TEST_TMPDIR/wrap"
	cat >"$BATS_TEST_TMPDIR/wrap/bt-fetch-piece" <<-EOF
	#!/bin/bash
	args=()
	for a in "\$@"; do [ "\$a" = -q ] || args+=("\$a"); done
	exec "$BT_BIN/bt-fetch-piece" -v "\${args[@]}" \
	    2>>"$BATS_TEST_TMPDIR/fetch.log"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/wrap/bt-fetch-piece"
}

@test "-P PORT: bt-fetch-piece listens on PORT, and the tracker is told that port" {
	port=$(free_port)
	seed_lt tracked.torrent data "$port"
	bt-announce -e started -l 0 -p "$port" tracked.torrent >/dev/null
	fetch_wrapper
	ours=$(free_port)
	PATH="$BATS_TEST_TMPDIR/wrap:$PATH" run --separate-stderr \
	    bt-get -P "$ours" tracked.torrent "$out"
	assert_success
	all_identical "$out"
	run grep '^bt-fetch-piece: listening on port ' "$BATS_TEST_TMPDIR/fetch.log"
	assert_output "bt-fetch-piece: listening on port $ours"
	# Another client asks the tracker: it lists us at that port.
	run bash -o pipefail -c 'bt-announce -l 0 -p "$1" tracked.torrent |
	    bt-peers' _ "$(free_port)"
	assert_success
	assert_line "127.0.0.1 $ours"
}

@test "without -P, the tracker is told the port bt-fetch-piece listens on, one drawn for the round" {
	port=$(free_port)
	seed_lt tracked.torrent data "$port"
	bt-announce -e started -l 0 -p "$port" tracked.torrent >/dev/null
	fetch_wrapper
	PATH="$BATS_TEST_TMPDIR/wrap:$PATH" run --separate-stderr \
	    bt-get tracked.torrent "$out"
	assert_success
	all_identical "$out"
	ours=$(sed -n 's/^bt-fetch-piece: listening on port //p' \
	    "$BATS_TEST_TMPDIR/fetch.log")
	[ "$ours" -ge 61000 ] && [ "$ours" -le 65535 ]
	run bash -o pipefail -c 'bt-announce -l 0 -p "$1" tracked.torrent |
	    bt-peers' _ "$(free_port)"
	assert_success
	assert_line "127.0.0.1 $ours"
}
