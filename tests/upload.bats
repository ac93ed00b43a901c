#!/usr/bin/env bats
# bt-fetch-piece uploads while it downloads: it listens (-P), serves the
# pieces it holds verified (in memory, or in -C DIR), and lingers
# (--linger). Real peers on 127.0.0.1 only.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/src"
	# 40 pieces of 32 KiB, the last one short.
	rand_file "$d/src/data" $((40 * 32768 - 1000))
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o "$d/t.torrent" \
	    "$d/src/data" >/dev/null
}

teardown() {
	leechers_stop
	seeders_stop
	local p
	for p in ${BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# The data with pieces [from, to) zeroed: half_dir DIR FROM TO
half_dir() {
	mkdir -p "$1"
	/usr/bin/python3 - "$BATS_FILE_TMPDIR/src/data" "$1/data" "$2" "$3" \
	    <<-'PY'
	import sys
	src, dst, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
	d = bytearray(open(src, "rb").read())
	for i in range(a * 32768, min(b * 32768, len(d))):
	    d[i] = 0
	open(dst, "wb").write(d)
	PY
}

# bt-seed of the whole data, slowed down: starts SEED_PORT.
slow_seed() {
	SEED_PORT=$(free_port)
	timeout 120 bt-seed -q -b 127.0.0.1 -p "$SEED_PORT" -r "$1" \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/src" \
	    </dev/null >/dev/null 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$SEED_PORT"
}

@test "two bt-fetch-piece holding half of the data each finish from each other, no seeder" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	half_dir "$d/a" 20 40
	half_dir "$d/b" 0 20
	pa=$(free_port) pb=$(free_port)
	echo "127.0.0.1 $pb" >"$d/peers-a"
	echo "127.0.0.1 $pa" >"$d/peers-b"
	# Each waits (--linger) for the other to dial in if it starts first.
	bash -o pipefail -c 'timeout 60 bt-fetch-piece -v -a -t "$1" -C "$2" \
	    -P "$3" -p "$4" --linger 30 2>"$2.err" | bt-assemble -C "$2"' \
	    _ "$t" "$d/a" "$pa" "$d/peers-a" &
	a=$!
	run bash -o pipefail -c 'timeout 60 bt-fetch-piece -v -a -t "$1" \
	    -C "$2" -P "$3" -p "$4" --linger 30 2>"$2.err" |
	    bt-assemble -C "$2"' _ "$t" "$d/b" "$pb" "$d/peers-b"
	assert_success
	wait "$a"
	cmp "$BATS_FILE_TMPDIR/src/data" "$d/a/data"
	cmp "$BATS_FILE_TMPDIR/src/data" "$d/b/data"
	run bt-verify "$t" "$d/a"
	assert_success
	run bt-verify "$t" "$d/b"
	assert_success
	# Each held its half from the start and uploaded to the other.
	run grep -c '^bt-fetch-piece: 20 pieces held from the start, .* uploaded to 1 peers' \
	    "$d/a.err" "$d/b.err"
	assert_line "$d/a.err:1"
	assert_line "$d/b.err:1"
	run tail -1 "$d/a.err"
	assert_output --regexp '^bt-fetch-piece: 20/20 pieces, '
}

@test "a libtorrent leecher given only bt-fetch-piece's port downloads the whole torrent while bt-fetch-piece still downloads" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	slow_seed 200000
	port=$(free_port)
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	bash -o pipefail -c 'exec timeout 90 bt-fetch-piece -vvv -a -t "$1" \
	    -P "$2" -p "$3" --linger 60 2>"$4/err" >"$4/stream"' _ "$t" \
	    "$port" "$d/peers" "$d" &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$port"
	run leech_lt -t 90 "$t" "$d/lt" "$port"
	assert_success
	assert_output "done 1"
	cmp "$BATS_FILE_TMPDIR/src/data" "$d/lt/data"
	run grep -c "^bt-fetch-piece: listening on port $port\$" "$d/err"
	assert_output 1
}

@test "a hostile leecher asking for a piece not yet verified gets a reject, not data, and bt-fetch-piece completes" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	# The first seeder has piece 39 wrong: bt-seed never serves it, so
	# bt-fetch-piece cannot have verified it.
	half_dir "$d/bad" 39 40
	SEED_PORT=$(free_port)
	timeout 60 bt-seed -q -b 127.0.0.1 -p "$SEED_PORT" "$t" "$d/bad" \
	    </dev/null >/dev/null 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$SEED_PORT"
	port=$(free_port)
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	timeout 60 bt-fetch-piece -a -t "$t" -P "$port" --linger 30 \
	    -p "$d/peers" >"$d/stream" 2>"$d/err" &
	f=$!
	wait_for 10 port_open "$port"
	wait_for 20 test -s "$d/stream"
	run "$BT_TOOLS/hostile-leecher" -f -t 10 -p 39 ask "$t" 127.0.0.1 \
	    "$port"
	assert_line "reject 39 0 16384"
	refute_line --partial "piece 39"
	# Without the fast extension: nothing comes.
	run "$BT_TOOLS/hostile-leecher" -t 3 -p 39 ask "$t" 127.0.0.1 "$port"
	refute_line --partial "piece 39"
	# A good seeder dials in: piece 39 comes from it, and the run ends.
	echo "127.0.0.1 $port" >"$d/dial"
	timeout 60 bt-seed -q -b 127.0.0.1 -p 0 "$t" "$BATS_FILE_TMPDIR/src" \
	    <"$d/dial" >/dev/null 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	wait "$f"
	bt-assemble -C "$d/out" <"$d/stream"
	cmp "$BATS_FILE_TMPDIR/src/data" "$d/out/data"
}

@test "--no-upload: nothing listens on the port" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	slow_seed 300000
	port=$(free_port)
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	timeout 60 bt-fetch-piece -a -t "$t" -P "$port" --no-upload \
	    -p "$d/peers" >"$d/stream" 2>"$d/err" &
	f=$!
	# It is downloading (its first pieces arrive) ...
	wait_for 20 test -s "$d/stream"
	# ... and the port is closed.
	run port_open "$port"
	assert_failure
	wait "$f"
}

@test "-P: a port out of range is a usage error" {
	run -64 --separate-stderr bt-fetch-piece -a -t "$BATS_FILE_TMPDIR/t.torrent" -P 70000 -p /dev/null
	assert_equal "${stderr_lines[0]}" "bt-fetch-piece: -P 70000: '70000': out of range 0 to 65535"
}
