#!/usr/bin/env bats
# bt-create: files or a folder -> .torrent (v1). The info hash is checked
# against mktorrent's (and transmission-create's for 16 KiB pieces, which
# mktorrent cannot make); the torrent is checked by bt-verify and by a
# download from a Transmission seeder on 127.0.0.1. --v2 and --hybrid
# (BEP 52) are checked against python3-libtorrent 2.0's create_torrent:
# the same info hashes, and libtorrent loads our torrents and finds every
# piece of the data good with them.

bats_require_minimum_version 1.5.0
load helper

A=http://127.0.0.1:1/announce

# The info hash of a torrent file, as bt-decode computes it.
ih() {
	bt-decode -ij "$1" | jq -r .info_hash
}

# The torrent's top-level dict as JSON without the pieces.
meta() {
	bt-decode -j "$1" | jq -c 'del(.info.pieces)'
}

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# A folder that tests the order: mixed case, '.' and '-' beside '/',
	# '!' below '/', hidden files, nested folders, UTF-8 names, an empty
	# file, pieces spanning files.
	mkdir -p tree/Sub/deep/er tree/a tree/.hid tree/a! tree/été
	rand_file tree/B 50000
	rand_file tree/a.txt 30001
	rand_file tree/a/x 70000
	rand_file tree/a-b 20000
	rand_file tree/a!/z 1234
	rand_file tree/.dot 17
	rand_file tree/.hid/h 40000
	rand_file tree/Sub/deep/er/f 100000
	rand_file tree/été/ü.bin 65536
	rand_file tree/_u 3
	rand_file tree/Zz 9999
	: >tree/empty
	rand_file single.bin 1234567
	# For 16 KiB pieces against transmission-create, which leaves out
	# empty files and orders names its own way: lowercase ASCII names.
	mkdir -p low/sub/deeper
	rand_file low/a.txt 30001
	rand_file low/a-b 20000
	rand_file low/sub/deeper/f 100000
	rand_file low/x 16384
	# libtorrent: "make" its torrent of a path, "ih" the info hashes of
	# a torrent it loads ("-" for a version it lacks), "check" the data
	# under a folder against a torrent in a session, on no network.
	cat >lt.py <<-'EOF'
	import os, sys, time
	import libtorrent as lt

	def make(mode, plen, path, out, priv=''):
	    fs = lt.file_storage()
	    lt.add_files(fs, path)
	    flags = lt.create_torrent.v2_only if mode == 'v2' else 0
	    ct = lt.create_torrent(fs, int(plen), flags=flags)
	    if priv:
	        ct.set_priv(True)
	    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
	    open(out, 'wb').write(lt.bencode(ct.generate()))

	def ih(path):
	    h = lt.torrent_info(path).info_hashes()
	    print(str(h.v1) if h.has_v1() else '-',
	        str(h.v2) if h.has_v2() else '-')

	def check(path, save):
	    ti = lt.torrent_info(path)
	    ses = lt.session({'listen_interfaces': '127.0.0.1:0',
	        'enable_dht': False, 'enable_lsd': False,
	        'enable_upnp': False, 'enable_natpmp': False,
	        'alert_mask': lt.alert_category.status |
	        lt.alert_category.error})
	    h = ses.add_torrent({'ti': ti, 'save_path': save})
	    end = time.time() + 30
	    while time.time() < end:
	        ses.wait_for_alert(500)
	        for a in ses.pop_alerts():
	            if isinstance(a, lt.torrent_error_alert):
	                sys.exit('error: ' + a.message())
	            if isinstance(a, lt.torrent_checked_alert):
	                n = h.status().num_pieces
	                print('%d of %d pieces' % (n, ti.num_pieces()))
	                sys.exit(0 if n == ti.num_pieces() else 1)
	    sys.exit('timeout')

	{'make': make, 'ih': ih, 'check': check}[sys.argv[1]](*sys.argv[2:])
	EOF
}

# Debian's python3: the one on PATH may have no libtorrent.
lt() {
	/usr/bin/python3 "$BATS_FILE_TMPDIR/lt.py" "$@"
}

# A folder of awkward sizes for v2 (0, 1, under a block, a block, a
# 64K piece, several pieces and a little), nested folders, and names
# whose order differs byte-wise ("a.txt" < "a/x") and by component
# ("a/x" < "a!/z" < "a-b" < "a.txt"). No two names equal but for case:
# libtorrent renames such a file on disk.
v2_tree() {
	mkdir -p "$1/sub/deep" "$1/a" "$1/a!"
	: >"$1/empty"
	rand_file "$1/one" 1
	rand_file "$1/small" 1000
	rand_file "$1/block" 16384
	rand_file "$1/p64" 65536
	rand_file "$1/sub/deep/big" 200005
	rand_file "$1/sub/f" 70000
	rand_file "$1/a/x" 300
	rand_file "$1/a!/z" 20
	rand_file "$1/a.txt" 5
	rand_file "$1/a-b" 16385
	rand_file "$1/Zz" 99
	rand_file "$1/.dot" 17
}

# Our torrent and libtorrent's of path for mode (v2, hybrid) and piece
# length (empty: ours chooses, and libtorrent is given the same): both
# loaded by libtorrent, their info hashes compared. Extra arguments go
# to bt-create.
same_as_lt() {
	local mode=$1 plen=$2 path=$3 ours=$BATS_TEST_TMPDIR/ours
	shift 3
	bt-create "--$mode" ${plen:+-l "$plen"} "$@" "$path" >"$ours"
	[ -n "$plen" ] ||
	    plen=$(bt-decode -j "$ours" | jq '.info."piece length"')
	lt make "$mode" "$plen" "$path" "$BATS_TEST_TMPDIR/lt" \
	    "$(case " $* " in *" --private "*) echo p ;; esac)"
	run -0 lt ih "$ours"
	assert_output "$(lt ih "$BATS_TEST_TMPDIR/lt")"
	if [ "$mode" = v2 ]; then
		assert_output --regexp '^- [0-9a-f]{64}$'
	else
		assert_output --regexp '^[0-9a-f]{40} [0-9a-f]{64}$'
	fi
}

@test "a folder: the same info hash as mktorrent for 32K, 256K and 1M pieces" {
	cd "$BATS_FILE_TMPDIR"
	for l in 15 18 20; do
		mktorrent -l "$l" -a "$A" -o "$BATS_TEST_TMPDIR/m$l" tree \
		    >/dev/null
		bt-create -l $((1 << l)) -a "$A" tree >"$BATS_TEST_TMPDIR/b$l"
		run ih "$BATS_TEST_TMPDIR/b$l"
		assert_output "$(ih "$BATS_TEST_TMPDIR/m$l")"
		assert_output --regexp '^[0-9a-f]{40}$'
	done
}

@test "a folder: files sorted by path bytes like mktorrent, hidden and empty ones kept" {
	cd "$BATS_FILE_TMPDIR"
	bt-create -l 16K tree >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' |
	    jq -r '.info.files[] | (.path | join(\"/\")) + \" \" + (.length | tostring)'"
	assert_output - <<-'EOF'
	.dot 17
	.hid/h 40000
	B 50000
	Sub/deep/er/f 100000
	Zz 9999
	_u 3
	a!/z 1234
	a-b 20000
	a.txt 30001
	a/x 70000
	empty 0
	été/ü.bin 65536
	EOF
}

@test "a single file: the same info hash as mktorrent for 32K, 256K and 1M pieces" {
	cd "$BATS_FILE_TMPDIR"
	for l in 15 18 20; do
		mktorrent -l "$l" -a "$A" -o "$BATS_TEST_TMPDIR/m$l" single.bin \
		    >/dev/null
		bt-create -l $((1 << l)) -a "$A" single.bin >"$BATS_TEST_TMPDIR/b$l"
		run ih "$BATS_TEST_TMPDIR/b$l"
		assert_output "$(ih "$BATS_TEST_TMPDIR/m$l")"
	done
	run meta "$BATS_TEST_TMPDIR/b20"
	assert_output --regexp '^\{"announce":"http://127.0.0.1:1/announce","created by":"bt/0.1","creation date":[0-9]+,"info":\{"length":1234567,"name":"single.bin","piece length":1048576\}\}$'
}

@test "16K pieces: the same files and pieces as transmission-create" {
	# transmission-create writes "private" 0, so its info hash differs
	# from mktorrent's and ours however the data are hashed: compare the
	# info dicts without that key. It also orders names otherwise than
	# mktorrent (été first): ASCII names only here.
	cd "$BATS_FILE_TMPDIR"
	info() {
		bt-decode -j "$1" | jq -c '.info | del(.private)'
	}
	for src in low single.bin; do
		transmission-create -s 16 -o "$BATS_TEST_TMPDIR/t" "$src" >/dev/null
		bt-create -l 16K "$src" >"$BATS_TEST_TMPDIR/b"
		run info "$BATS_TEST_TMPDIR/b"
		assert_output "$(info "$BATS_TEST_TMPDIR/t")"
		assert_output --partial '"piece length":16384,"pieces":'
	done
}

@test "bt-verify finds every piece good, pieces spanning files included" {
	cd "$BATS_FILE_TMPDIR"
	bt-create -l 16K tree >"$BATS_TEST_TMPDIR/t"
	run -0 bt-verify --missing "$BATS_TEST_TMPDIR/t" .
	assert_output ""
	run -0 bash -c "bt-verify '$BATS_TEST_TMPDIR/t' . | sort -u -k2 | cut -d' ' -f2"
	assert_output good
}

@test "one thread and many threads give the same bytes" {
	cd "$BATS_FILE_TMPDIR"
	bt-create --no-date -j 1 -l 16K tree >"$BATS_TEST_TMPDIR/1"
	bt-create --no-date -j 7 -l 16K tree >"$BATS_TEST_TMPDIR/7"
	cmp "$BATS_TEST_TMPDIR/1" "$BATS_TEST_TMPDIR/7"
}

@test "--no-date: two runs give byte-identical output without a creation date" {
	cd "$BATS_FILE_TMPDIR"
	bt-create --no-date -a "$A" tree >"$BATS_TEST_TMPDIR/1"
	bt-create --no-date -a "$A" tree >"$BATS_TEST_TMPDIR/2"
	cmp "$BATS_TEST_TMPDIR/1" "$BATS_TEST_TMPDIR/2"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/1' | jq -c keys"
	assert_output '["announce","created by","info"]'
}

@test "SOURCE_DATE_EPOCH sets the creation date" {
	cd "$BATS_FILE_TMPDIR"
	SOURCE_DATE_EPOCH=1234567890 bt-create single.bin >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq '.\"creation date\"'"
	assert_output 1234567890
}

@test "the output is byte for byte the expected bencode, keys sorted" {
	cd "$BATS_FILE_TMPDIR"
	mkdir -p "$BATS_TEST_TMPDIR/x/d"
	printf 'abc' >"$BATS_TEST_TMPDIR/x/d/f"
	printf 'de' >"$BATS_TEST_TMPDIR/x/g"
	bt-create --no-date -p -c hi -a http://t/1 -a http://t/2 -w http://w/ \
	    "$BATS_TEST_TMPDIR/x" >"$BATS_TEST_TMPDIR/t"
	# SHA-1 of "abcde", the one piece.
	h=$(printf abcde | sha1sum | cut -c1-40)
	want=$(printf 'd8:announce10:http://t/113:announce-listll10:http://t/1el10:http://t/2ee7:comment2:hi10:created by6:bt/0.14:infod5:filesld6:lengthi3e4:pathl1:d1:feed6:lengthi2e4:pathl1:geee4:name1:x12:piece lengthi16384e6:pieces20:')
	run -0 bash -c "head -c ${#want} '$BATS_TEST_TMPDIR/t'"
	assert_output "$want"
	run -0 bash -c "tail -c +$(( ${#want} + 1 )) '$BATS_TEST_TMPDIR/t' | head -c 20 | od -An -tx1 | tr -d ' \n'"
	assert_output "$h"
	run -0 bash -c "tail -c +$(( ${#want} + 21 )) '$BATS_TEST_TMPDIR/t'"
	assert_output '7:privatei1ee8:url-listl9:http://w/ee'
}

@test "-a twice gives two tiers; -a with commas gives one tier of several" {
	cd "$BATS_FILE_TMPDIR"
	bt-create -a http://t/1 -a http://t/2 single.bin >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq -c '[.announce, .\"announce-list\"]'"
	assert_output '["http://t/1",[["http://t/1"],["http://t/2"]]]'
	bt-create -a http://t/1,http://t/2 -a udp://t:3 single.bin \
	    >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq -c '[.announce, .\"announce-list\"]'"
	assert_output '["http://t/1",[["http://t/1","http://t/2"],["udp://t:3"]]]'
	# One tracker: announce only, as mktorrent writes it.
	bt-create -a http://t/1 single.bin >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq -c '[.announce, .\"announce-list\"]'"
	assert_output '["http://t/1",null]'
	# None at all: a trackerless torrent.
	bt-create single.bin >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq -c 'keys'"
	assert_output '["created by","creation date","info"]'
}

@test "--private sets private 1, changes the info hash, and matches mktorrent -p" {
	cd "$BATS_FILE_TMPDIR"
	bt-create -l 256K --private -a "$A" tree >"$BATS_TEST_TMPDIR/p"
	bt-create -l 256K -a "$A" tree >"$BATS_TEST_TMPDIR/n"
	mktorrent -p -l 18 -a "$A" -o "$BATS_TEST_TMPDIR/m" tree >/dev/null
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/p' | jq .info.private"
	assert_output 1
	run ih "$BATS_TEST_TMPDIR/p"
	assert_output "$(ih "$BATS_TEST_TMPDIR/m")"
	refute_output "$(ih "$BATS_TEST_TMPDIR/n")"
}

@test "-w gives the url-list; -c, -n and --created-by set their fields" {
	cd "$BATS_FILE_TMPDIR"
	bt-create -w http://w/1,http://w/2 -w http://w/3 -c 'a comment' \
	    -n other --created-by 'me 1.0' single.bin >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq -c '[.\"url-list\", .comment, .info.name, .\"created by\"]'"
	assert_output '[["http://w/1","http://w/2","http://w/3"],"a comment","other","me 1.0"]'
	bt-create --created-by '' single.bin >"$BATS_TEST_TMPDIR/t"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq -c 'keys'"
	assert_output '["creation date","info"]'
}

@test "automatic piece length: 16K up to 2048 pieces, then doubling" {
	cd "$BATS_TEST_TMPDIR"
	for s in 1:16384 $((32 * 1048576)):16384 $((32 * 1048576 + 1)):32768 \
	    $((100 * 1048576)):65536 $((1024 * 1048576)):524288; do
		truncate -s "${s%%:*}" f
		bt-create f >t
		run -0 bash -c "bt-decode -j t | jq '.info.\"piece length\"'"
		assert_output "${s##*:}"
	done
}

@test "-l takes bytes, K and M" {
	cd "$BATS_FILE_TMPDIR"
	for l in 16384:16384 32k:32768 256K:262144 1M:1048576 64M:67108864; do
		bt-create -l "${l%%:*}" single.bin >"$BATS_TEST_TMPDIR/t"
		run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/t' | jq '.info.\"piece length\"'"
		assert_output "${l##*:}"
	done
}

@test "-l refuses what is not a power of two from 16K to 64M (status 64)" {
	cd "$BATS_FILE_TMPDIR"
	for l in 8K:8192 24K:24576 1000:1000 128M:134217728 0:0; do
		run -64 --separate-stderr bt-create -l "${l%%:*}" single.bin
		assert_output ""
		assert_equal "$stderr" "bt-create: -l: piece length ${l##*:}: not a power of two from 16K to 64M"
	done
	for l in abc 16X -16K K ''; do
		run -64 --separate-stderr bt-create -l "$l" single.bin
		assert_output ""
		assert_equal "$stderr" "bt-create: -l: size '$l': not a number of bytes (with K or M)"
	done
}

@test "a missing path is status 66, bad usage 64" {
	cd "$BATS_TEST_TMPDIR"
	run -66 --separate-stderr bt-create nothing
	assert_output ""
	assert_equal "$stderr" "bt-create: nothing: No such file or directory"
	run -64 --separate-stderr bt-create
	assert_output ""
	assert_equal "${stderr%%$'\n'*}" "usage: bt-create [-a url[,url...]] [-c comment] [-j threads] [-l size]"
	run -64 --separate-stderr bt-create a b
	run -64 --separate-stderr bt-create -x a
	run -64 --separate-stderr bt-create -a '' "$BATS_FILE_TMPDIR/single.bin"
	assert_equal "$stderr" "bt-create: empty tracker URL"
	run -64 --separate-stderr bt-create -a http://t/1,,http://t/2 "$BATS_FILE_TMPDIR/single.bin"
	assert_equal "$stderr" "bt-create: empty tracker URL"
	run -64 --separate-stderr bt-create -w '' "$BATS_FILE_TMPDIR/single.bin"
	assert_equal "$stderr" "bt-create: empty web seed URL"
	run -64 --separate-stderr bt-create -j 0 "$BATS_FILE_TMPDIR/single.bin"
	assert_equal "$stderr" "bt-create: -j: '0': out of range 1 to 16"
}

@test "names that bt(7) refuses are refused: -n with a slash or '..' (64)" {
	cd "$BATS_FILE_TMPDIR"
	run -64 --separate-stderr bt-create -n a/b single.bin
	assert_equal "$stderr" "bt-create: -n 'a/b': '/' inside a path component"
	run -64 --separate-stderr bt-create -n .. single.bin
	assert_equal "$stderr" "bt-create: -n '..': path component '..'"
	run -64 --separate-stderr bt-create -n '' single.bin
	assert_equal "$stderr" "bt-create: -n '': empty path component"
}

@test "a path deeper than 64 folders is refused as malformed (65)" {
	cd "$BATS_TEST_TMPDIR"
	p=deep
	for i in $(seq 64); do p=$p/d; done
	mkdir -p "$p"
	echo x >"$p/f"
	run -65 --separate-stderr bt-create deep
	assert_output ""
	assert_equal "$stderr" "bt-create: $p: deeper than 64 folders (limit BT_MAX_PATH_DEPTH)"
}

@test "'.' is named after the real folder, a trailing slash changes nothing" {
	cd "$BATS_FILE_TMPDIR/tree"
	bt-create --no-date . >"$BATS_TEST_TMPDIR/1"
	cd ..
	bt-create --no-date tree/ >"$BATS_TEST_TMPDIR/2"
	bt-create --no-date tree >"$BATS_TEST_TMPDIR/3"
	cmp "$BATS_TEST_TMPDIR/1" "$BATS_TEST_TMPDIR/2"
	cmp "$BATS_TEST_TMPDIR/1" "$BATS_TEST_TMPDIR/3"
	run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/1' | jq -r .info.name"
	assert_output tree
}

@test "symbolic links are followed like mktorrent; FIFOs are left out" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p s/real
	rand_file s/real/f 5000
	rand_file target 7000
	ln -s ../target s/link
	ln -s real s/linkdir
	mkfifo s/fifo
	bt-create -l 32K -a "$A" s >b
	mktorrent -l 15 -a "$A" -o m s >/dev/null
	run ih b
	assert_output "$(ih m)"
	run -0 bash -c "bt-decode -j b | jq -c '[.info.files[].path | join(\"/\")]'"
	assert_output '["link","linkdir/f","real/f"]'
}

@test "a symbolic link loop is refused (65), a broken link is an I/O error (74)" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p l/sub
	echo x >l/sub/f
	ln -s .. l/sub/up
	run -65 --separate-stderr bt-create l
	assert_output ""
	assert_equal "$stderr" "bt-create: l/sub/up: symbolic link loop"
	rm l/sub/up
	ln -s nowhere l/sub/broken
	run -74 --separate-stderr bt-create l
	assert_output ""
	assert_equal "$stderr" "bt-create: l/sub/broken: No such file or directory"
}

@test "an unreadable file is an I/O error (74) in one line" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p u
	rand_file u/a 100
	rand_file u/b 100
	chmod 000 u/b
	chmod 755 "$BATS_TEST_TMPDIR" u
	if [ "$(id -u)" = 0 ]; then
		# root reads anything: run it as nobody, who needs a way in.
		d=$BATS_TEST_TMPDIR
		while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
		as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	else
		as=()
	fi
	run -74 --separate-stderr "${as[@]}" "$BT_BIN/bt-create" u
	assert_output ""
	assert_equal "$stderr" "bt-create: u/b: Permission denied"
}

@test "no data at all is refused (65)" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p e/sub
	: >e/sub/zero
	run -65 --separate-stderr bt-create e
	assert_equal "$stderr" "bt-create: e: no data (every file is empty)"
	rm e/sub/zero
	run -65 --separate-stderr bt-create e
	assert_equal "$stderr" "bt-create: e: no files in it"
}

@test "-o writes the file; a failure leaves an existing one untouched" {
	cd "$BATS_FILE_TMPDIR"
	run -0 --separate-stderr bt-create --no-date -o "$BATS_TEST_TMPDIR/t" single.bin
	assert_output ""
	bt-create --no-date single.bin | cmp - "$BATS_TEST_TMPDIR/t"
	echo keep >"$BATS_TEST_TMPDIR/old"
	run -66 --separate-stderr bt-create -o "$BATS_TEST_TMPDIR/old" nothing
	run cat "$BATS_TEST_TMPDIR/old"
	assert_output keep
}

@test "-o naming one of the files to hash is refused (64)" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p o
	rand_file o/data 1000
	echo old >o/t.torrent
	run -64 --separate-stderr bt-create -o o/t.torrent o
	assert_equal "$stderr" "bt-create: o/t.torrent: the output is one of the files of the torrent"
	run cat o/t.torrent
	assert_output old
}

@test "refuses to write the binary torrent to a terminal (64)" {
	cd "$BATS_FILE_TMPDIR"
	run -0 script -qec "bt-create single.bin; echo status \$?" /dev/null
	assert_output --partial "bt-create: will not write a binary torrent to a terminal: use -o file or a redirection"
	assert_output --partial "status 64"
}

@test "a write error on standard output is status 74" {
	cd "$BATS_FILE_TMPDIR"
	run -74 --separate-stderr bash -c 'bt-create single.bin >/dev/full'
	assert_equal "$stderr" "bt-create: stdout: write: No space left on device"
}

@test "the created torrent downloads from a Transmission seeder" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p src/set/sub
	rand_file src/set/a 300000
	: >src/set/empty
	rand_file src/set/sub/b 500001
	bt-create -l 16K -a "$A" -o t.torrent src/set
	port=$(free_port)
	seed_transmission t.torrent src "$port"
	# Transmission may still turn peers away just after it says
	# "Seeding": a few tries, each bounded by --timeout.
	for i in 1 2 3 4 5; do
		rm -rf out
		bt-fetch-piece -t t.torrent -a --timeout 60 <<<"127.0.0.1 $port" |
		    bt-assemble -C out && diff -r src/set out/set && break
		sleep 1
	done
	diff -r src/set out/set
}

@test "--v2 and --hybrid, a single file: libtorrent's info hashes for 16K, 64K and automatic pieces" {
	cd "$BATS_TEST_TMPDIR"
	rand_file s.bin 200005
	rand_file tiny 1000
	for mode in v2 hybrid; do
		for l in 16384 65536 ""; do
			same_as_lt "$mode" "$l" s.bin
			same_as_lt "$mode" "$l" tiny
		done
	done
}

@test "--v2 and --hybrid, a folder of awkward sizes: libtorrent's info hashes for 16K, 64K and automatic pieces" {
	cd "$BATS_TEST_TMPDIR"
	v2_tree d
	for mode in v2 hybrid; do
		for l in 16384 65536 ""; do
			same_as_lt "$mode" "$l" d
		done
	done
	# A folder of one nested file; of one file and an empty one.
	mkdir -p n/sub/deeper e
	rand_file n/sub/deeper/f 30000
	rand_file e/a 5
	: >e/z
	for mode in v2 hybrid; do
		same_as_lt "$mode" 16384 n
		same_as_lt "$mode" 16384 e
	done
}

@test "--v2 and --hybrid, pieces larger than the read buffer: libtorrent's info hashes" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p big/s
	rand_file big/a 5000000
	rand_file big/s/b 2097152
	rand_file big/c 3
	for mode in v2 hybrid; do
		same_as_lt "$mode" 2097152 big
		same_as_lt "$mode" 4194304 big/a
	done
}

@test "--v2: info holds file tree, meta version 2, name and piece length; piece layers the files longer than a piece" {
	cd "$BATS_TEST_TMPDIR"
	v2_tree d
	bt-create --v2 --no-date -l 64K d >t
	run -0 bash -c "bt-decode -j t | jq -c '.info | keys'"
	assert_output '["file tree","meta version","name","piece length"]'
	run -0 bash -c "bt-decode -j t | jq -r '.info.\"file tree\" |
	    paths(objects) | select(.[-1] == \"\") | .[:-1] | join(\"/\")'"
	assert_output - <<-'EOF'
	.dot
	Zz
	a/x
	a!/z
	a-b
	a.txt
	block
	empty
	one
	p64
	small
	sub/deep/big
	sub/f
	EOF
	# An empty file has no pieces root (BEP 52).
	run -0 bash -c "bt-decode -j t | jq -c '.info.\"file tree\".empty'"
	assert_output '{"":{"length":0}}'
	# 200005 bytes: 4 pieces of 64K; 70000: 2. 65536 is one piece: none.
	run -0 bash -c "bt-decode -j t | jq -c '[.\"piece layers\"[] |
	    ltrimstr(\"hex:\") | length / 64] | sort'"
	assert_output '[2,4]'
	run -0 bash -c "bt-decode -j t | jq -c '.info.\"meta version\"'"
	assert_output 2
}

@test "--hybrid: libtorrent's files list, a .pad/N file of attr p after each file ending inside a piece" {
	cd "$BATS_TEST_TMPDIR"
	v2_tree d
	bt-create --hybrid --no-date -l 64K d >t
	run -0 bash -c "bt-decode -j t | jq -r '.info.files[] |
	    (.path | join(\"/\")) + \" \" + (.length | tostring) +
	    (if .attr then \" \" + .attr else \"\" end)'"
	assert_output - <<-'EOF'
	.dot 17
	.pad/65519 65519 p
	Zz 99
	.pad/65437 65437 p
	a/x 300
	.pad/65236 65236 p
	a!/z 20
	.pad/65516 65516 p
	a-b 16385
	.pad/49151 49151 p
	a.txt 5
	.pad/65531 65531 p
	block 16384
	.pad/49152 49152 p
	empty 0
	one 1
	.pad/65535 65535 p
	p64 65536
	small 1000
	.pad/64536 64536 p
	sub/deep/big 200005
	.pad/62139 62139 p
	sub/f 70000
	.pad/61072 61072 p
	EOF
	run -0 bash -c "bt-decode -j t | jq -c '.info | keys'"
	assert_output '["file tree","files","meta version","name","piece length","pieces"]'
	# A single file: "length", no list, no pad.
	rand_file s.bin 70000
	bt-create --hybrid --no-date -l 16K s.bin >s
	run -0 bash -c "bt-decode -j s | jq -c '.info | del(.pieces) |
	    .\"file tree\"[][\"\"][\"pieces root\"] |= length'"
	assert_output '{"file tree":{"s.bin":{"":{"length":70000,"pieces root":68}}},"length":70000,"meta version":2,"name":"s.bin","piece length":16384}'
}

@test "libtorrent checks the data with our v2 and hybrid torrents and finds every piece good" {
	cd "$BATS_TEST_TMPDIR"
	v2_tree d
	rand_file s.bin 200005
	bt-create --v2 -l 16K d >d2
	bt-create --hybrid -l 64K d >dh
	bt-create --v2 s.bin >s2
	bt-create --hybrid -l 16K s.bin >sh
	run -0 lt check d2 .
	assert_output "32 of 32 pieces"
	run -0 lt check dh .
	assert_output "16 of 16 pieces"
	run -0 lt check s2 .
	assert_output "13 of 13 pieces"
	run -0 lt check sh .
	assert_output "13 of 13 pieces"
	# A changed byte: libtorrent finds one piece bad.
	printf 'X' | dd of=d/sub/deep/big bs=1 seek=100000 conv=notrunc \
	    status=none
	run -1 lt check d2 .
	assert_output "31 of 32 pieces"
}

@test "--v2 and --hybrid: executable files and symbolic links get attr x as libtorrent gives them" {
	cd "$BATS_TEST_TMPDIR"
	mkdir x
	rand_file x/run 100
	chmod +x x/run
	: >x/e
	chmod +x x/e
	rand_file x/f 3
	ln -s f x/lnk
	rand_file r 50
	chmod +x r
	for mode in v2 hybrid; do
		same_as_lt "$mode" 16384 x
		same_as_lt "$mode" 16384 r
	done
	bt-create --hybrid -l 16K x >t
	run -0 bash -c "bt-decode -j t | jq -c '[.info.files[] | .attr]'"
	assert_output '["x",null,"p","x","p","x","p"]'
	# v1 as mktorrent: no attr.
	bt-create -l 16K x >t1
	run -0 bash -c "bt-decode -j t1 | jq -c '[.info.files[] | .attr]'"
	assert_output '[null,null,null,null]'
}

@test "--v2 and --hybrid: trackers, comment, web seeds and --private around the info dict" {
	cd "$BATS_TEST_TMPDIR"
	v2_tree d
	for mode in v2 hybrid; do
		bt-create "--$mode" -a "$A" -a udp://t2.example:6969 -c hi \
		    -w http://w.example/ -l 16K d >t
		run -0 bash -c "bt-decode -j t | jq -c 'keys'"
		assert_output '["announce","announce-list","comment","created by","creation date","info","piece layers","url-list"]'
		same_as_lt "$mode" 16384 d --private
		run -0 bash -c "bt-decode -j '$BATS_TEST_TMPDIR/ours' |
		    jq -c '.info.private'"
		assert_output 1
	done
}

@test "--v2 and --hybrid: one thread and many give the same bytes; identical files share one piece layer" {
	cd "$BATS_TEST_TMPDIR"
	v2_tree d
	cp d/sub/deep/big d/copy
	for mode in v2 hybrid; do
		bt-create "--$mode" --no-date -j 1 -l 16K d >1
		bt-create "--$mode" --no-date -j 7 -l 16K d >7
		cmp 1 7
		same_as_lt "$mode" 16384 d
	done
	run -0 bash -c "bt-decode -j 1 | jq -c '.\"piece layers\" | length'"
	assert_output 4
}

@test "--v2 with --hybrid, or a piece length not a power of two, is bad usage (64)" {
	cd "$BATS_TEST_TMPDIR"
	rand_file s 100
	run -64 --separate-stderr bt-create --v2 --hybrid s
	assert_output ""
	assert_equal "$stderr" "bt-create: --v2 and --hybrid: choose one (a hybrid torrent is v2 too)"
	for l in 48K 8K 1000; do
		run -64 --separate-stderr bt-create --v2 -l "$l" s
		assert_output ""
		assert_equal "${#stderr_lines[@]}" 1
		assert_equal "${stderr_lines[0]%%:*}" bt-create
		run -64 --separate-stderr bt-create --hybrid -l "$l" s
	done
}

teardown() {
	seeders_stop
	return 0
}
