#!/usr/bin/env bats
# Every example in examples/ (but demo.sh, tested by make demo) run
# against a local swarm: opentracker and libtorrent seeders on 127.0.0.1.
# The Makefiles run under make -j4.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	export SEEDERS_TMP=$BATS_FILE_TMPDIR
	mkdir -p data/set/sub
	rand_file data/set/a.bin 3000000
	rand_file data/set/sub/b.bin 1500001
	: >data/set/sub/empty
	rand_file data/solo.bin 1000001
	# Two torrents; the info hash does not depend on the tracker URL.
	mktorrent -l 16 -a http://127.0.0.1:1/announce -o set0.torrent \
	    data/set >/dev/null
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o solo0.torrent \
	    data/solo.bin >/dev/null
	{ info_hash_of set0.torrent; info_hash_of solo0.torrent; } >hashes
	opentracker_start hashes
	mkdir -p torrents
	mktorrent -l 16 -a "$OT_ANNOUNCE" -o torrents/set.torrent data/set \
	    >/dev/null
	mktorrent -l 15 -a "$OT_ANNOUNCE" -o torrents/solo.torrent \
	    data/solo.bin >/dev/null
	# A seeder for each, announced to the tracker on its behalf.
	for t in set solo; do
		port=$(free_port)
		seed_lt "torrents/$t.torrent" data "$port"
		echo "$SEEDER_PID" >>seeder.pids
		bt-announce -e started -l 0 -p "$port" "torrents/$t.torrent" \
		    >/dev/null
	done
	export OT_PID OT_DIR
}

teardown_file() {
	cd "$BATS_FILE_TMPDIR"
	if [ -f seeder.pids ]; then
		while read -r p; do
			kill "$p" 2>/dev/null
		done <seeder.pids
	fi
	opentracker_stop
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	ex=$top/examples
	out=$BATS_TEST_TMPDIR/out
}

identical_set() {
	for f in a.bin sub/b.bin sub/empty; do
		cmp "data/set/$f" "$1/set/$f" || return 1
	done
}

@test "fetch.sh: the whole pipeline once, tracker to files" {
	run --separate-stderr "$ex/fetch.sh" torrents/set.torrent "$out"
	assert_success
	assert_output "$out/set/a.bin
$out/set/sub/b.bin
$out/set/sub/empty"
	identical_set "$out"
}

@test "magnet.sh: a magnet link to the tracker, the .torrent from the seeder, then the files" {
	hash=$(info_hash_of torrents/set.torrent)
	tr=$(printf %s "$OT_ANNOUNCE" | sed 's/:/%3A/g; s,/,%2F,g')
	run --separate-stderr "$ex/magnet.sh" \
	    "magnet:?xt=urn:btih:$hash&tr=$tr" "$BATS_TEST_TMPDIR/f.torrent" \
	    "$out"
	assert_success
	assert_equal "$stderr" "fetched the torrent of set"
	assert_output "$out/set/a.bin
$out/set/sub/b.bin
$out/set/sub/empty"
	identical_set "$out"
	assert_equal "$(info_hash_of "$BATS_TEST_TMPDIR/f.torrent")" "$hash"
}

@test "resume.sh: fetches only what bt-verify finds missing" {
	mkdir -p "$out/set"
	cp data/set/a.bin "$out/set/a.bin.part"
	run --separate-stderr "$ex/resume.sh" torrents/set.torrent "$out"
	assert_success
	# a.bin is bytes 0-2999999 in 64 KiB pieces: 0-44 hold only it.
	assert_equal "$stderr" "fetching pieces 45-68
complete"
	identical_set "$out"
	run --separate-stderr "$ex/resume.sh" torrents/set.torrent "$out"
	assert_equal "$stderr" "complete"
}

@test "replay.sh: a saved stream written into files later" {
	run --separate-stderr "$ex/replay.sh" torrents/solo.torrent \
	    "$BATS_TEST_TMPDIR/saved" "$out"
	assert_success
	cmp data/solo.bin "$out/solo.bin"
	n=$(stat -c %s torrents/solo.torrent)
	cmp -n "$n" torrents/solo.torrent "$BATS_TEST_TMPDIR/saved"
}

@test "progress.sh: how far a download has got, from the data alone" {
	mkdir -p "$out"
	head -c $((10 * 32768)) data/solo.bin >"$out/solo.bin.part"
	run "$ex/progress.sh" torrents/solo.torrent "$out"
	assert_output "torrents/solo.torrent: 10 of 31 pieces (32%), to fetch: 10-30"
	cp data/solo.bin "$out/solo.bin"
	run "$ex/progress.sh" torrents/solo.torrent "$out"
	assert_output "torrents/solo.torrent: 31 of 31 pieces (100%)"
}

@test "batch.mk: make -j4 downloads every torrent into its own folder, and a second make does nothing" {
	run make -f "$ex/batch.mk" -j4 \
	    TORRENTS="torrents/set.torrent torrents/solo.torrent" OUT="$out"
	assert_success
	identical_set "$out/set"
	cmp data/solo.bin "$out/solo/solo.bin"
	run cat "$out/solo.done"
	assert_output "$out/solo/solo.bin"
	run make -q -f "$ex/batch.mk" \
	    TORRENTS="torrents/set.torrent torrents/solo.torrent" OUT="$out"
	assert_success
}

@test "pieces.mk: make -j4 fetches piece by piece, assembles and verifies; a rerun fetches nothing" {
	cd "$BATS_TEST_TMPDIR"
	cp "$BATS_FILE_TMPDIR/torrents/set.torrent" .
	run make -f "$ex/pieces.mk" -j4 TORRENT=set.torrent OUT=out
	assert_success
	(cd "$BATS_FILE_TMPDIR" && identical_set "$BATS_TEST_TMPDIR/out")
	run bash -c 'ls pieces | grep -c "^[0-9]*$"'
	assert_output 69
	[ -s peers ]
	run make -n -f "$ex/pieces.mk" TORRENT=set.torrent OUT=out
	assert_success
	refute_output --partial bt-fetch-piece
}

@test "pieces.mk: only the pieces missing on disk become targets" {
	cd "$BATS_TEST_TMPDIR"
	cp "$BATS_FILE_TMPDIR/torrents/set.torrent" .
	mkdir -p out/set
	cp "$BATS_FILE_TMPDIR/data/set/a.bin" out/set/a.bin.part
	run make -f "$ex/pieces.mk" -j4 TORRENT=set.torrent OUT=out
	assert_success
	run ls pieces
	refute_line 44
	assert_line 45
	(cd "$BATS_FILE_TMPDIR" && identical_set "$BATS_TEST_TMPDIR/out")
}
