#!/usr/bin/env bats
# bt-assemble: a piece stream in, the torrent's files out, under DIR.
# No network: data is random, torrents come from mktorrent, and the piece
# streams are built here from the data.

load helper
bats_require_minimum_version 1.5.0


# A multi-file torrent with nested folders, a zero-length file, and files
# smaller than a piece so that pieces span files: 32 KiB pieces, 7 pieces,
# the last one short.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	mkdir -p src/multi/sub/deep
	rand_file src/multi/a.bin 100000
	rand_file src/multi/sub/b.bin 70000
	rand_file src/multi/sub/deep/c.bin 5000
	rand_file src/multi/sub/deep/d.bin 30000
	: >src/multi/sub/empty
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o multi.torrent \
	    src/multi >/dev/null
	rand_file src/single.bin 200001
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o single.torrent \
	    src/single.bin >/dev/null
	# A libtorrent hybrid (v1+v2) torrent: BEP 47 pad files after each
	# file, the last one included.
	mkdir -p src/padset/sub
	rand_file src/padset/a.bin 100000
	rand_file src/padset/sub/b.bin 50000
	rand_file src/padset/c.bin 3000
	/usr/bin/python3 - <<-'EOF'
	import libtorrent as lt
	fs = lt.file_storage()
	lt.add_files(fs, "src/padset")
	ct = lt.create_torrent(fs, 32768)
	ct.add_tracker("http://127.0.0.1:1/announce")
	lt.set_piece_hashes(ct, "src")
	open("pad.torrent", "wb").write(lt.bencode(ct.generate()))
	EOF
	rand_file src/other.bin 200001
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o other.torrent \
	    src/other.bin >/dev/null
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	out=$BATS_TEST_TMPDIR/out
}

teardown() {
	if [ -n "${mnt:-}" ]; then
		umount "$mnt" 2>/dev/null || true
	fi
}

# The files of multi.torrent under $1 are byte-identical to the source.
same_multi() {
	for f in a.bin sub/b.bin sub/deep/c.bin sub/deep/d.bin sub/empty; do
		cmp src/multi/$f "$1/multi/$f" || return 1
	done
}

@test "writes a single-file torrent with a short last piece, byte-identical, under its real name" {
	mkstream single.torrent src all >s
	run --separate-stderr bt-assemble -C "$out" s
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	cmp src/single.bin "$out/single.bin"
	run ls -A "$out"
	assert_output "single.bin"
}

@test "reads the stream from standard input and writes into the current folder by default" {
	mkdir "$out" && cd "$out"
	mkstream "$BATS_FILE_TMPDIR/single.torrent" "$BATS_FILE_TMPDIR/src" \
	    all | bt-assemble
	cmp "$BATS_FILE_TMPDIR/src/single.bin" single.bin
}

@test "writes a multi-file torrent with nested folders, pieces spanning files, in any order" {
	mkstream multi.torrent src 6 2 0 5 3 1 4 >s
	run --separate-stderr bt-assemble -C "$out" s
	assert_success
	same_multi "$out"
	run find "$out" -name '*.part'
	assert_output ""
}

@test "creates zero-length files at the end of the run" {
	mkstream multi.torrent src all | bt-assemble -C "$out"
	[ -f "$out/multi/sub/empty" ] && [ ! -s "$out/multi/sub/empty" ]
}

@test "writes a libtorrent torrent with BEP 47 pad files, never the pad files themselves" {
	mkstream pad.torrent src 4 0 6 2 1 3 5 >s
	run --separate-stderr bt-assemble -C "$out" s
	assert_success
	for f in a.bin sub/b.bin c.bin; do
		cmp "src/padset/$f" "$out/padset/$f"
	done
	run find "$out" -name '.pad*'
	assert_output ""
	run bt-verify --missing pad.torrent "$out"
	assert_success
	assert_output ""
}

@test "keeps a file under NAME.part until every piece touching it is in" {
	# Pieces 0-2 hold a.bin (100000 bytes) and the start of b.bin.
	mkstream multi.torrent src 0 1 2 3 | bt-assemble -C "$out"
	cmp src/multi/a.bin "$out/multi/a.bin"
	[ ! -e "$out/multi/a.bin.part" ]
	[ -f "$out/multi/sub/b.bin.part" ]
	[ ! -e "$out/multi/sub/b.bin" ]
	[ ! -e "$out/multi/sub/deep/d.bin" ]
}

@test "refuses a piece whose SHA-1 differs: reports it, writes nothing of it, exits 1" {
	mkstream single.torrent src -c 2 all >s
	run -1 --separate-stderr bt-assemble -C "$out" s
	assert_equal "$stderr" "bt-assemble: piece 2: SHA-1 mismatch: not written"
	[ -f "$out/single.bin.part" ] && [ ! -e "$out/single.bin" ]
	run bt-verify --missing single.torrent "$out"
	assert_output "2"
	# Bytes of piece 2 were never written: a hole, read as zeros.
	run cmp <(dd if="$out/single.bin.part" bs=32768 skip=2 count=1 \
	    2>/dev/null) <(head -c 32768 /dev/zero)
	assert_success
}

@test "a stream of another torrent's pieces writes nothing and exits 1" {
	# other.torrent's data framed as single.torrent's pieces.
	{ cat single.torrent; mkstream other.torrent src 0 1 |
	    tail -c +$(($(stat -c %s other.torrent) + 1)); } >s
	run -1 --separate-stderr bt-assemble -C "$out" s
	assert_equal "$stderr" "bt-assemble: piece 0: SHA-1 mismatch: not written
bt-assemble: piece 1: SHA-1 mismatch: not written"
	run find "$out" -type f -size +0
	assert_output ""
}

@test "a second, different torrent inside the stream is malformed data (65)" {
	{ mkstream single.torrent src 0; mkstream other.torrent src 0; } >s
	run -65 --separate-stderr bt-assemble -C "$out" s
	hdr='d5:indexi0e5:piece32768:'
	at=$(($(stat -c %s single.torrent) + ${#hdr} + 32768 + 1))
	assert_equal "$stderr" "bt-assemble: s: byte $at: stream holds a second, different torrent"
	[ -f "$out/single.bin.part" ]
}

@test "a truncated stream is an error (65) and nothing unfinished looks complete" {
	mkstream multi.torrent src all >s
	head -c $(($(stat -c %s s) - 1000)) s >cut
	run -65 --separate-stderr bt-assemble -C "$out" cut
	assert_equal "$stderr" "bt-assemble: cut: byte $(($(stat -c %s cut))): stream ends inside a value"
	# The first pieces are in; the files of the last piece are not done.
	cmp src/multi/a.bin "$out/multi/a.bin"
	[ -f "$out/multi/sub/deep/d.bin.part" ]
	[ ! -e "$out/multi/sub/deep/d.bin" ]
	run bt-verify --missing multi.torrent "$out"
	assert_output "6"
}

@test "a rerun over a partly written folder keeps every verified piece and completes it" {
	mkstream multi.torrent src 0 4 6 | bt-assemble -C "$out"
	run bt-verify --missing multi.torrent "$out"
	assert_output "1-3,5"
	# The second run brings only what is missing; the rest is on disk.
	mkstream multi.torrent src 1 2 3 5 | bt-assemble -C "$out"
	same_multi "$out"
	run find "$out" -name '*.part'
	assert_output ""
}

@test "a rerun with an empty stream renames files whose pieces are all on disk" {
	mkstream multi.torrent src all | bt-assemble -C "$out"
	mv "$out/multi/sub/deep/d.bin" "$out/multi/sub/deep/d.bin.part"
	run bt-assemble -p -C "$out" multi.torrent
	assert_success
	assert_line "$out/multi/sub/deep/d.bin"
	same_multi "$out"
}

@test "writes into a file found under its real name, which keeps its name once complete" {
	mkdir -p "$out"
	cp src/single.bin "$out/single.bin"
	printf 'XXXX' | dd of="$out/single.bin" bs=1 seek=40000 conv=notrunc 2>/dev/null
	! cmp -s src/single.bin "$out/single.bin"
	mkstream single.torrent src 1 | bt-assemble -C "$out"
	cmp src/single.bin "$out/single.bin"
	[ ! -e "$out/single.bin.part" ]
}

@test "never follows a symbolic link planted in DIR as a folder" {
	mkdir -p "$out" "$BATS_TEST_TMPDIR/outside"
	ln -s "$BATS_TEST_TMPDIR/outside" "$out/multi"
	mkstream multi.torrent src all >s
	run -74 --separate-stderr bt-assemble -C "$out" s
	assert_equal "$stderr" "bt-assemble: $out: multi/a.bin: 'multi' is a symbolic link or not a folder: not followed"
	run ls -A "$BATS_TEST_TMPDIR/outside"
	assert_output ""
}

@test "never follows a symbolic link planted in DIR as a file" {
	mkdir -p "$out"
	printf 'precious' >"$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$out/single.bin.part"
	mkstream single.torrent src all >s
	run -74 --separate-stderr bt-assemble -C "$out" s
	assert_equal "$stderr" "bt-assemble: $out: single.bin.part: is a symbolic link: not followed"
	run cat "$BATS_TEST_TMPDIR/target"
	assert_output "precious"
}

@test "a full disk is one clear line and status 74, and what was verified stays" {
	mnt=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$mnt"
	mount -t tmpfs -o size=128k tmpfs "$mnt" 2>/dev/null ||
	    skip "cannot mount a tmpfs here (needs root)"
	mkstream single.torrent src all >s
	run -74 --separate-stderr bt-assemble -C "$mnt/d" s
	assert_equal "$stderr" "bt-assemble: $mnt/d: single.bin: write: No space left on device"
	run bt-verify single.torrent "$mnt/d"
	assert_failure 1
	assert_line --index 0 "0 good"
	assert_line --index 1 "1 good"
	assert_line --index 6 "6 missing"
}

@test "a read-only DIR is one clear line and status 74" {
	mnt=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$mnt"
	mount -t tmpfs -o ro,size=128k tmpfs "$mnt" 2>/dev/null ||
	    skip "cannot mount a tmpfs here (needs root)"
	mkstream single.torrent src all >s
	run -74 --separate-stderr bt-assemble -C "$mnt" s
	assert_equal "$stderr" "bt-assemble: $mnt: single.bin: Read-only file system"
	run -74 --separate-stderr bt-assemble -C "$mnt/new" s
	assert_equal "$stderr" "bt-assemble: $mnt/new: $mnt/new: cannot make the folder: Read-only file system"
}

@test "-p prints the paths of the complete files, -v a summary on stderr" {
	mkstream multi.torrent src 0 1 2 3 >s
	run --separate-stderr bt-assemble -pv -C "$out" s
	assert_success
	assert_output "$out/multi/a.bin
$out/multi/sub/empty"
	assert_equal "$stderr" "bt-assemble: 4 pieces written, 0 refused; 2 of 5 files complete"
}

@test "a stream that does not start with a torrent is malformed data (65)" {
	printf 'd5:indexi0e5:piece1:xe' >s
	run -65 --separate-stderr bt-assemble -C "$out" s
	assert_equal "$stderr" "bt-assemble: s: byte 0: not a piece stream: it does not start with a torrent"
	[ ! -e "$out" ]
}

@test "a missing input is status 66, a bad option 64 with the synopsis" {
	run -66 --separate-stderr bt-assemble -C "$out" nosuch
	assert_equal "$stderr" "bt-assemble: nosuch: No such file or directory"
	run -64 --separate-stderr bt-assemble -x
	assert_equal "${stderr_lines[-1]}" "usage: bt-assemble [-pv] [-C dir] [--files list] [--only glob] [file]"
}

@test "a 255-byte file name gets a shortened temporary name, then its own" {
	long=$(printf 'n%.0s' $(seq 255))
	mkdir -p "$BATS_TEST_TMPDIR/src/longset"
	rand_file "$BATS_TEST_TMPDIR/src/longset/$long" 70000
	rand_file "$BATS_TEST_TMPDIR/src/longset/short" 1000
	mktorrent -l 15 -a http://127.0.0.1:1/announce \
	    -o "$BATS_TEST_TMPDIR/long.torrent" \
	    "$BATS_TEST_TMPDIR/src/longset" >/dev/null
	# Only the first piece: the long file stays unfinished.
	mkstream "$BATS_TEST_TMPDIR/long.torrent" "$BATS_TEST_TMPDIR/src" 0 \
	    >"$BATS_TEST_TMPDIR/s0"
	run bt-assemble -C "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s0"
	assert_success
	run ls "$BATS_TEST_TMPDIR/out/longset"
	assert_output "$(printf 'n%.0s' $(seq 240))~$(printf %s "$long" |
	    sha1sum | cut -c1-8).part"
	run bt-verify --missing "$BATS_TEST_TMPDIR/long.torrent" \
	    "$BATS_TEST_TMPDIR/out"
	assert_failure 1
	assert_output "1-2"
	mkstream "$BATS_TEST_TMPDIR/long.torrent" "$BATS_TEST_TMPDIR/src" all |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/src/longset/$long" \
	    "$BATS_TEST_TMPDIR/out/longset/$long"
	cmp "$BATS_TEST_TMPDIR/src/longset/short" \
	    "$BATS_TEST_TMPDIR/out/longset/short"
}
