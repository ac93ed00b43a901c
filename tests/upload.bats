#!/usr/bin/env bats
# bt-fetch-piece uploads while it downloads: it listens (by default on a
# port the kernel chooses, -P to choose it), serves the pieces it holds
# verified (in memory, or in -C DIR), lingers (--linger), and keeps to
# --upload-rate and --download-rate. Real peers on 127.0.0.1 only.

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
	    </dev/null >/dev/null 2>&1 3>&- &
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
	    _ "$t" "$d/a" "$pa" "$d/peers-a" 3>&- &
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
	    "$port" "$d/peers" "$d" 3>&- &
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
	    </dev/null >/dev/null 2>&1 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$SEED_PORT"
	port=$(free_port)
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	timeout 60 bt-fetch-piece -a -t "$t" -P "$port" --linger 30 \
	    -p "$d/peers" >"$d/stream" 2>"$d/err" 3>&- &
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
	    <"$d/dial" >/dev/null 2>&1 3>&- &
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
	    -p "$d/peers" >"$d/stream" 2>"$d/err" 3>&- &
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

# ext_peer: a peer on 127.0.0.1 (its port in $d/ext.port) that takes one
# connection, answers the handshake with the extension protocol bit
# (BEP 10) set, and prints the "p" of the extension handshake it gets
# ("p PORT", or "p none"), then closes.
ext_peer() {
	/usr/bin/python3 - "$BATS_TEST_TMPDIR/ext.port" <<-'PY' &
	import re, socket, struct, sys
	ls = socket.socket()
	ls.bind(("127.0.0.1", 0))
	ls.listen(1)
	open(sys.argv[1] + ".tmp", "w").write("%d\n" % ls.getsockname()[1])
	import os
	os.rename(sys.argv[1] + ".tmp", sys.argv[1])
	ls.settimeout(20)
	c, _ = ls.accept()
	c.settimeout(20)
	def get(n):
	    b = b""
	    while len(b) < n:
	        k = c.recv(n - len(b))
	        if not k:
	            sys.exit("closed")
	        b += k
	    return b
	hs = get(68)
	rsv = bytearray(8)
	rsv[5] = 0x10
	c.sendall(bytes([19]) + b"BitTorrent protocol" + bytes(rsv) +
	    hs[28:48] + b"-XX0000-abcdefghijkl")
	while True:
	    n = struct.unpack(">I", get(4))[0]
	    m = get(n) if n else b""
	    if n >= 2 and m[0] == 20 and m[1] == 0:
	        # BEP 10: the handshake is a dictionary; keys are sorted.
	        k = re.search(rb"1:pi([0-9]+)e", m[2:])
	        print("p " + (k.group(1).decode() if k else "none"))
	        break
	PY
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 test -s "$BATS_TEST_TMPDIR/ext.port"
}

@test "listens by default on a port the kernel chooses, says it with -v, and gives it as \"p\" in its extension handshake" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	ext_peer >"$d/ext.out"
	echo "127.0.0.1 $(cat "$d/ext.port")" >"$d/peers"
	# --linger: still there, listening, once that peer is gone.
	timeout 30 bt-fetch-piece -v -a -t "$t" -p "$d/peers" --linger 20 \
	    >/dev/null 2>"$d/err" 3>&- &
	f=$!
	BG_PIDS="${BG_PIDS:-} $f"
	wait_for 10 grep -q '^p ' "$d/ext.out"
	run sed -n 's/^bt-fetch-piece: listening on port \([0-9]*\)$/\1/p' \
	    "$d/err"
	assert_output --regexp '^[0-9]+$'
	port=$output
	run cat "$d/ext.out"
	assert_output "p $port"
	# Really listening there: a peer that learned it can dial back.
	run port_open "$port"
	assert_success
}

@test "--no-upload: no \"p\" in the extension handshake, no listening line" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	ext_peer >"$d/ext.out"
	echo "127.0.0.1 $(cat "$d/ext.port")" >"$d/peers"
	run -69 --separate-stderr timeout 30 bt-fetch-piece -v --no-upload \
	    -a -t "$t" -p "$d/peers" -o /dev/null
	[[ "$stderr" != *listening* ]]
	run cat "$d/ext.out"
	assert_output "p none"
}

# mib_within MIB SECONDS RATE-BYTES: MIB (as -v prints it, to 0.1)
# moved in SECONDS (to 0.1) is within what a bucket of RATE bytes a
# second promises: RATE x time, plus its burst (a tenth of a second's
# worth, a block at least), plus one message of a block read or sent
# when the bucket was not quite empty, plus 0.05 MiB and 0.05 s for the
# rounding of what -v prints. An upper bound: a faster machine only moves
# fewer bytes in the time, never more; so it is not a timing threshold.
mib_within() {
	awk -v m="$1" -v s="$2" -v r="$3" 'BEGIN {
		burst = r / 10 > 16397 ? r / 10 : 16397
		max = (r * (s + 0.05) + burst + 16397) / 1048576 + 0.05
		printf "# %s MiB in %s s, at most %.3f MiB\n", m, s, max
		exit !(m <= max)
	}' >&3
}

@test "--download-rate: the bytes received stay within rate x time + burst, and the data is whole" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	SEED_PORT=$(free_port)
	timeout 60 bt-seed -q -b 127.0.0.1 -p "$SEED_PORT" "$t" \
	    "$BATS_FILE_TMPDIR/src" </dev/null >/dev/null 2>&1 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$SEED_PORT"
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	# 1.2 MiB from an unlimited seeder on loopback: without the limit
	# it takes a small part of a second, far over 512 KiB/s.
	run --separate-stderr bt-fetch-piece -v --download-rate 512K -a \
	    -t "$t" -p "$d/peers" -o "$d/stream"
	assert_success
	bt-assemble -C "$d/out" <"$d/stream"
	cmp "$BATS_FILE_TMPDIR/src/data" "$d/out/data"
	run printf '%s\n' "$stderr"
	assert_line --index 1 --regexp '^bt-fetch-piece: 40/40 pieces, [0-9.]+ MiB in [0-9.]+ s '
	set -- $(sed -n 's/^bt-fetch-piece: 40\/40 pieces, \([0-9.]*\) MiB in \([0-9.]*\) s .*/\1 \2/p' <<<"$stderr")
	mib_within "$1" "$2" $((512 * 1024))
}

@test "--upload-rate: the bytes served stay within rate x time + burst" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	# A libtorrent leecher waits; bt-fetch-piece holds every piece in
	# -C DIR, dials it, and serves it for --linger 3 s at 256 KiB/s:
	# about 0.8 MiB of the 1.2, where without the limit the leecher
	# would have all of it in a small part of a second.
	lport=$(free_port)
	timeout 30 /usr/bin/python3 "$top/tests/tools/lt-leech.py" -t 20 \
	    -l "$lport" -m "$d/md" "$t" "$d/lt" >"$d/lt.out" 2>&1 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 20 grep -qx ready "$d/lt.out"
	echo "127.0.0.1 $lport" >"$d/peers"
	run --separate-stderr bt-fetch-piece -v -a -t "$t" -p "$d/peers" \
	    -C "$BATS_FILE_TMPDIR/src" --linger 3 --upload-rate 256K \
	    -o /dev/null
	assert_success
	run printf '%s\n' "$stderr"
	assert_line --index 1 --regexp '^bt-fetch-piece: 40 pieces held from the start, [0-9.]+ MiB uploaded to 1 peers, 0 peers dialled us$'
	assert_line --index 2 --regexp '^bt-fetch-piece: 0/0 pieces, 0\.0 MiB in [0-9.]+ s '
	up=$(sed -n 's/.* \([0-9.]*\) MiB uploaded .*/\1/p' <<<"$stderr")
	secs=$(sed -n 's/^bt-fetch-piece: 0\/0 pieces, 0\.0 MiB in \([0-9.]*\) s .*/\1/p' <<<"$stderr")
	mib_within "$up" "$secs" $((256 * 1024))
}

@test "a rate that is not one is a usage error, named by its option" {
	local t=$BATS_FILE_TMPDIR/t.torrent
	run -64 --separate-stderr bt-fetch-piece -a -t "$t" -p /dev/null \
	    --download-rate 5X
	assert_equal "${stderr_lines[0]}" "bt-fetch-piece: --download-rate: '5X': not a number"
	run -64 --separate-stderr bt-fetch-piece -a -t "$t" -p /dev/null \
	    --upload-rate 0
	assert_equal "${stderr_lines[0]}" "bt-fetch-piece: --upload-rate: '0': out of range 1 to 9223372036854775807"
	run -64 --separate-stderr bt-fetch-piece -a -t "$t" -p /dev/null \
	    --upload-rate ''
	assert_equal "${stderr_lines[0]}" "bt-fetch-piece: --upload-rate: '' is not a rate"
	run -64 --separate-stderr bt-fetch-piece -a -t "$t" -p /dev/null \
	    --download-rate 9999999999999G
	assert_equal "${stderr_lines[0]}" "bt-fetch-piece: --download-rate: '9999999999999': out of range 1 to 8589934591"
}

@test "hostile leechers are cut off by the limits bt-seed uses, named as bt-seed names them" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent
	slow_seed 65536
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	port=$(free_port)
	timeout 60 bt-fetch-piece -v -a -t "$t" -P "$port" -p "$d/peers" \
	    >/dev/null 2>"$d/err" 3>&- &
	f=$!
	BG_PIDS="${BG_PIDS:-} $f"
	wait_for 10 port_open "$port"
	# 3000 requests while choked: the 2001st cuts it off.
	timeout 20 "$BT_TOOLS/hostile-leecher" -t 10 choked "$t" 127.0.0.1 \
	    "$port" >/dev/null || true
	# Once unchoked, requests for piece 40 of 40: the fourth cuts it off.
	timeout 20 "$BT_TOOLS/hostile-leecher" -t 10 range "$t" 127.0.0.1 \
	    "$port" >/dev/null || true
	kill "$f" 2>/dev/null || true
	wait "$f" 2>/dev/null || true
	run grep -E ': limit [A-Z_]+ \([0-9]+\): dropped: ' "$d/err"
	assert_line --regexp "^bt-fetch-piece: 127\.0\.0\.1 [0-9]+: limit BT_SEED_MAX_CHOKED_REQUESTS \(2000\): dropped: 2001 requests while choked \(0 bytes sent\)$"
	assert_line --regexp "^bt-fetch-piece: 127\.0\.0\.1 [0-9]+: limit BT_SEED_MAX_BAD_REQUESTS \(4\): dropped: request for piece 40 of 40 \([0-9]+ bytes sent\)$"
	assert_equal "${#lines[@]}" 2
}

@test "with the fast bit, bt-fetch-piece sends the allowed fast set of BEP 6 and serves it while choked, as bt-seed does" {
	local d=$BATS_TEST_TMPDIR t=$BATS_FILE_TMPDIR/t.torrent full set got
	# Pieces 0-29 held from -C DIR; 30-39 come slowly from a seeder,
	# so the set sent is the BEP's less those not yet in when the
	# leecher connects.
	full=$(allowed_fast_of "$t" 40)
	set=$(echo "$full" | tr ' ' '\n' | awk '$1 < 30' | paste -sd ' ')
	half_dir "$d/part" 30 40
	slow_seed 16384
	echo "127.0.0.1 $SEED_PORT" >"$d/peers"
	port=$(free_port)
	timeout 60 bt-fetch-piece -a -t "$t" -C "$d/part" -P "$port" \
	    -p "$d/peers" >/dev/null 2>"$d/err" 3>&- &
	f=$!
	BG_PIDS="${BG_PIDS:-} $f"
	wait_for 10 port_open "$port"
	run -0 "$BT_TOOLS/hostile-leecher" allowed "$t" 127.0.0.1 "$port"
	assert_line -n 0 "handshake"
	assert_line -n 1 --regexp '^allowed fast [0-9 ]+$'
	got=${lines[1]#allowed fast }
	# The first piece of the set sent is served though we choke it.
	assert_line -n 2 "piece ${got%% *} 0 16384"
	assert_line -n 3 --regexp "^reject [0-9]+ 0 16384$"
	assert_equal "${#lines[@]}" 4
	# Those of 0-29 all came, in the BEP's order, with any of 30-39
	# already verified in their places.
	assert_equal "$(echo "$got" | tr ' ' '\n' | awk '$1 < 30' |
	    paste -sd ' ')" "$set"
	assert_equal "$(echo "$full" | tr ' ' '\n' |
	    grep -Fxf <(echo "$got" | tr ' ' '\n') | paste -sd ' ')" "$got"
}
