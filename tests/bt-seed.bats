#!/usr/bin/env bats
# bt-seed: serving a folder's pieces to real downloaders (libtorrent,
# aria2c, Transmission, bt-fetch-piece) with and without a tracker, and
# cutting off the ones that misbehave. Everything on 127.0.0.1 (or ::1).

load helper

# Background processes of a test (hostile leechers), killed by teardown.
BG_PIDS=()

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/data/multi/sub"
	rand_file "$d/data/multi/a.bin" 3000000
	rand_file "$d/data/multi/sub/b.bin" 1234567
	: >"$d/data/multi/empty"
	# 64 KiB pieces: 65 of them.
	mktorrent -l 16 -o "$d/t.torrent" "$d/data/multi" >/dev/null
	# Pieces that fall on file boundaries: a.bin is pieces 0-3, b.bin
	# pieces 4-6 (the last one short).
	mkdir -p "$d/pdata/part"
	rand_file "$d/pdata/part/a.bin" $((4 * 65536))
	rand_file "$d/pdata/part/b.bin" $((2 * 65536 + 100))
	mktorrent -l 16 -o "$d/p.torrent" "$d/pdata/part" >/dev/null
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
	seed_stop
	leechers_stop
	opentracker_stop
	hostile_stop
}

# Start bt-seed -v on 127.0.0.1, any free port, with more arguments;
# return once it has checked its data. Sets SEED_PID, SEED_PORT, and
# SEED_LOG (its stderr) and SEED_OUT (its stdout). Its standard input
# is the file SEED_STDIN, else /dev/null.
seed_start() {
	SEED_LOG=$BATS_TEST_TMPDIR/seed.log
	SEED_OUT=$BATS_TEST_TMPDIR/seed.out
	bt-seed -v -b 127.0.0.1 -p 0 "$@" <"${SEED_STDIN:-/dev/null}" \
	    >"$SEED_OUT" 2>"$SEED_LOG" 3>&- &
	SEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$SEED_LOG" || {
		cat "$SEED_LOG" >&2
		return 1
	}
	SEED_PORT=$(sed -n 's/^bt-seed: listening on .* port \([0-9]*\)$/\1/p' \
	    "$SEED_LOG" | head -n 1)
}

# Stop it with SIGTERM and wait (at most 20 s); its status in SEED_STATUS.
seed_stop() {
	if [ -n "${SEED_PID:-}" ]; then
		kill -TERM "$SEED_PID" 2>/dev/null
		timeout 20 tail --pid="$SEED_PID" -f /dev/null 2>/dev/null
		kill -9 "$SEED_PID" 2>/dev/null || true
		SEED_STATUS=0
		wait "$SEED_PID" 2>/dev/null || SEED_STATUS=$?
		SEED_PID=
	fi
}

# The downloaded files are the seeded ones. Transmission does not create
# zero-length files: "noempty" skips that one.
same_data() {
	cmp "$BATS_FILE_TMPDIR/data/multi/a.bin" "$1/multi/a.bin" &&
	    cmp "$BATS_FILE_TMPDIR/data/multi/sub/b.bin" \
	    "$1/multi/sub/b.bin" &&
	    { [ "${2:-}" = noempty ] || { [ -f "$1/multi/empty" ] &&
	    [ ! -s "$1/multi/empty" ]; }; }
}

@test "prints its synopsis and exits 64 without a folder" {
	run -64 --separate-stderr bt-seed "$BATS_FILE_TMPDIR/t.torrent"
	assert_equal "${stderr_lines[0]}" \
	    "usage: bt-seed [-jnqvV] [-b address] [-e seconds] [-i seconds] [-P peers]"
}

@test "a rate that is not a number is a usage error" {
	run -64 --separate-stderr bt-seed -r 5X "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_FILE_TMPDIR/data"
	assert_regex "$stderr" "^bt-seed: --rate: "
	assert_equal "${#stderr_lines[@]}" 1
}

@test "a missing torrent is status 66" {
	run -66 --separate-stderr bt-seed -n "$BATS_TEST_TMPDIR/no.torrent" \
	    "$BATS_FILE_TMPDIR/data"
	assert_equal "$stderr" \
	    "bt-seed: $BATS_TEST_TMPDIR/no.torrent: No such file or directory"
}

@test "a malformed torrent is status 65" {
	printf 'd4:infoi3ee' >"$BATS_TEST_TMPDIR/bad.torrent"
	run -65 --separate-stderr bt-seed -n "$BATS_TEST_TMPDIR/bad.torrent" \
	    "$BATS_FILE_TMPDIR/data"
	assert_regex "$stderr" "^bt-seed: $BATS_TEST_TMPDIR/bad.torrent: "
	assert_equal "${#stderr_lines[@]}" 1
}

@test "a missing folder is status 66" {
	run -66 --separate-stderr bt-seed -n "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_TEST_TMPDIR/nodir"
	assert_equal "$stderr" \
	    "bt-seed: $BATS_TEST_TMPDIR/nodir: No such file or directory"
}

@test "a port in use is status 69 with one line" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -69 --separate-stderr bt-seed -n -b 127.0.0.1 -p "$SEED_PORT" \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	assert_equal "$stderr" \
	    "bt-seed: cannot listen on 127.0.0.1 port $SEED_PORT: Address already in use"
}

@test "--exit-after stops cleanly and --json prints the summary" {
	run -0 --separate-stderr bt-seed -n -b 127.0.0.1 -p 0 -e 0.5 --json \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	assert_equal "$stderr" ""
	run jq -c '[.pieces, .have, .bad, .peers, .uploaded]' <<<"$output"
	assert_output "[65,65,0,0,0]"
}

@test "libtorrent downloads a multi-file torrent, no tracker: same bytes" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leech_lt "$BATS_FILE_TMPDIR/t.torrent" "$BATS_TEST_TMPDIR/out" \
	    "$SEED_PORT"
	assert_output "done 1"
	same_data "$BATS_TEST_TMPDIR/out"
	seed_stop
	assert_equal "$SEED_STATUS" 0
	run grep -c ': connected (in)$' "$SEED_LOG"
	assert_output 1
	run tail -n 1 "$SEED_LOG"
	assert_regex "$output" "^bt-seed: 4234567 bytes up to 1 peers \(1 connected\), 65 of 65 pieces, [0-9.]+ s$"
}

@test "aria2c downloads, no tracker: bt-seed connects to it from the peer list on stdin" {
	local port
	port=$(free_port)
	leech_aria2 "$BATS_FILE_TMPDIR/t.torrent" "$BATS_TEST_TMPDIR/out" "$port"
	wait_for 10 port_open "$port"
	echo "127.0.0.1 $port" >"$BATS_TEST_TMPDIR/peers"
	SEED_STDIN=$BATS_TEST_TMPDIR/peers seed_start -n \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 timeout 60 tail --pid="$LEECH_PID" -f /dev/null
	wait "$LEECH_PID"
	same_data "$BATS_TEST_TMPDIR/out"
	run grep -c "^bt-seed: 127.0.0.1 $port: connected (out)$" "$SEED_LOG"
	assert_output 1
}

@test "a peer list on a pipe that stays open: each peer is dialed as its line comes" {
	local port fifo=$BATS_TEST_TMPDIR/fifo
	mkfifo "$fifo"
	# Held open for writing: the pipe never ends during the test.
	exec 5<>"$fifo"
	SEED_STDIN=$fifo seed_start -n "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_FILE_TMPDIR/data"
	port=$(free_port)
	leech_aria2 "$BATS_FILE_TMPDIR/t.torrent" "$BATS_TEST_TMPDIR/out" "$port"
	wait_for 10 port_open "$port"
	printf '# a comment\nnot a peer\n127.0.0.1 %s\n' "$port" >&5
	run -0 timeout 60 tail --pid="$LEECH_PID" -f /dev/null
	exec 5>&-
	same_data "$BATS_TEST_TMPDIR/out"
	run grep -c "^bt-seed: peer list: line 2: " "$SEED_LOG"
	assert_output 1
	run grep -c "^bt-seed: 127.0.0.1 $port: connected (out)$" "$SEED_LOG"
	assert_output 1
}

@test "Transmission downloads, no tracker: bt-seed connects to it (-P)" {
	local port
	port=$(free_port)
	leech_transmission "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_TEST_TMPDIR/out" "$port"
	echo "127.0.0.1 $port" >"$BATS_TEST_TMPDIR/peers"
	seed_start -n -P "$BATS_TEST_TMPDIR/peers" \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	wait_for 60 test -e "$TR_DONE"
	same_data "$BATS_TEST_TMPDIR/out" noempty
}

@test "bt-fetch-piece and bt-assemble download from bt-seed" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	echo "127.0.0.1 $SEED_PORT" >"$BATS_TEST_TMPDIR/peers"
	run -0 bash -o pipefail -c 'bt-fetch-piece -a -t "$1" -p "$2" |
	    bt-assemble -C "$3"' _ "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_TEST_TMPDIR/peers" "$BATS_TEST_TMPDIR/out"
	same_data "$BATS_TEST_TMPDIR/out"
}

# opentracker with t.torrent whitelisted; TT is the same torrent (same
# info hash) announcing to it.
tracked_torrent() {
	info_hash_of "$BATS_FILE_TMPDIR/t.torrent" >"$BATS_TEST_TMPDIR/wl"
	opentracker_start "$BATS_TEST_TMPDIR/wl"
	TT=$BATS_TEST_TMPDIR/tt.torrent
	mktorrent -l 16 -a "$OT_ANNOUNCE" -o "$TT" \
	    "$BATS_FILE_TMPDIR/data/multi" >/dev/null
	assert_equal "$(info_hash_of "$TT")" "$(cat "$BATS_TEST_TMPDIR/wl")"
}

@test "through opentracker: libtorrent and aria2c find bt-seed and download" {
	local port
	tracked_torrent
	seed_start "$TT" "$BATS_FILE_TMPDIR/data"
	wait_for 10 grep -q "announce started: " "$SEED_LOG"
	port=$(free_port)
	leech_aria2 "$TT" "$BATS_TEST_TMPDIR/aria" "$port" tracker
	run -0 leech_lt "$TT" "$BATS_TEST_TMPDIR/lt"
	assert_output "done 1"
	same_data "$BATS_TEST_TMPDIR/lt"
	run -0 timeout 60 tail --pid="$LEECH_PID" -f /dev/null
	same_data "$BATS_TEST_TMPDIR/aria"
	run grep -c "^bt-seed: $OT_ANNOUNCE: announce started: [0-9]* peers, interval [0-9]* s$" "$SEED_LOG"
	assert_output 1
}

tracker_lists_leecher() {
	bt-announce -s "$TT" 2>/dev/null | grep -aq '10:incompletei1e'
}

@test "through opentracker: bt-seed connects to the Transmission the tracker lists" {
	local port
	tracked_torrent
	port=$(free_port)
	leech_transmission "$TT" "$BATS_TEST_TMPDIR/out" "$port"
	# Transmission announces first, so the seeder's answer lists it.
	wait_for 20 tracker_lists_leecher
	seed_start "$TT" "$BATS_FILE_TMPDIR/data"
	wait_for 60 test -e "$TR_DONE"
	same_data "$BATS_TEST_TMPDIR/out" noempty
	run grep -c "^bt-seed: 127.0.0.1 $port: connected (out)$" "$SEED_LOG"
	assert_output 1
}

@test "20 libtorrent leechers at once all finish" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leech_lt -n 20 "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_TEST_TMPDIR/out" "$SEED_PORT"
	assert_output "done 20"
	for i in $(seq 1 20); do
		same_data "$BATS_TEST_TMPDIR/out/$i"
	done
	seed_stop
	run grep -c ': connected (in)$' "$SEED_LOG"
	assert_output 20
}

@test "SIGTERM announces stopped, then exits 0" {
	hostile_start ok
	seed_start -T "http://127.0.0.1:$HT_PORT/announce" \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	wait_for 10 grep -q 'event=started' "$HT_LOG"
	seed_stop
	assert_equal "$SEED_STATUS" 0
	run grep -c "^GET /announce?.*event=stopped" "$HT_LOG"
	assert_output 1
	run grep -cE "^GET /announce\?(.*&)?port=$SEED_PORT[& ]" "$HT_LOG"
	assert_output 2
}

@test "SIGINT announces stopped over UDP too" {
	hostile_start ok
	seed_start -T "udp://127.0.0.1:$HT_PORT" \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	wait_for 10 grep -q '^udp announce .* event=2 ' "$HT_LOG"
	kill -INT "$SEED_PID"
	wait_for 10 grep -q '^udp announce .* event=3 ' "$HT_LOG"
	run grep -c "^udp announce .* uploaded=0 event=3 .* port=$SEED_PORT$" "$HT_LOG"
	assert_output 1
}

leecher() {
	"$BT_TOOLS/hostile-leecher" -t 20 "$1" "${2:-$BATS_FILE_TMPDIR/t.torrent}" \
	    127.0.0.1 "$SEED_PORT"
}

@test "the bitfield lists every piece of complete data" {
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$BATS_FILE_TMPDIR/pdata"
	run -0 leecher bitfield "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nbitfield 1111111'
}

@test "partial data: only good pieces are in the bitfield" {
	local d=$BATS_TEST_TMPDIR/pdata
	cp -r "$BATS_FILE_TMPDIR/pdata" "$d"
	# Piece 1 corrupt, b.bin (pieces 4-6) gone.
	printf 'X' | dd of="$d/part/a.bin" bs=1 seek=70000 conv=notrunc \
	    status=none
	rm "$d/part/b.bin"
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$d"
	run -0 leecher bitfield "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nbitfield 1011000'
	run grep -c '^bt-seed: 3 of 7 pieces to serve$' "$SEED_LOG"
	assert_output 1
}

@test "no data at all: no bitfield is sent" {
	mkdir "$BATS_TEST_TMPDIR/empty"
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$BATS_TEST_TMPDIR/empty"
	run -0 leecher bitfield "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nbitfield none'
}

@test "--no-verify: a corrupt piece is found at its first read and never sent" {
	local d=$BATS_TEST_TMPDIR/pdata
	cp -r "$BATS_FILE_TMPDIR/pdata" "$d"
	printf 'X' | dd of="$d/part/a.bin" bs=1 seek=10 conv=notrunc \
	    status=none
	seed_start -n --no-verify "$BATS_FILE_TMPDIR/p.torrent" "$d"
	run -0 leecher bitfield "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nbitfield 1111111'
	run -1 "$BT_TOOLS/hostile-leecher" -t 3 get \
	    "$BATS_FILE_TMPDIR/p.torrent" 127.0.0.1 "$SEED_PORT"
	assert_output $'handshake\nunchoked\nstill open after 3 s'
	run grep -c '^bt-seed: piece 0: SHA-1 mismatch: no longer served$' \
	    "$SEED_LOG"
	assert_output 1
	# A new peer no longer sees it.
	run -0 leecher bitfield "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nbitfield 0111111'
}

@test "a good piece is served intact" {
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$BATS_FILE_TMPDIR/pdata"
	run -0 leecher get "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nunchoked\npiece 0 good'
}

@test "a request for a piece past the last is cut off" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher range
	assert_output $'handshake\nunchoked\nclosed by peer'
	run grep -c ': dropped: request for piece 65 of 65 (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "a request over 16 KiB is cut off" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher oversize
	assert_output $'handshake\nunchoked\nclosed by peer'
	run grep -c ': dropped: request of 32768 bytes at 0 in piece 0 of 65536 bytes (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "a request past the end of the piece is cut off" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher beyond
	assert_output $'handshake\nunchoked\nclosed by peer'
	run grep -c ': dropped: request of 2 bytes at 65535 in piece 0 of 65536 bytes (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "a request flood is cut off" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher flood
	assert_output $'handshake\nunchoked\nclosed by peer'
	run grep -c ': dropped: request flood: 64 past a full queue of 2000 ' "$SEED_LOG"
	assert_output 1
}

@test "requests while choked are cut off" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher choked
	assert_output $'handshake\nclosed by peer'
	run grep -c ': dropped: 2001 requests while choked (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "an idle peer is dropped after --idle" {
	seed_start -n -i 1 "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher idle
	assert_output $'handshake\nclosed by peer'
	run grep -c ': dropped: idle for 1 s (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "hostile leechers are cut off while libtorrent keeps downloading" {
	local m
	seed_start -n -r 2M "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	leech_lt "$BATS_FILE_TMPDIR/t.torrent" "$BATS_TEST_TMPDIR/out" \
	    "$SEED_PORT" >"$BATS_TEST_TMPDIR/lt.out" 3>&- &
	LEECHER_PIDS+=("$!")
	for m in range oversize flood choked; do
		run -0 leecher "$m"
		assert_line "closed by peer"
	done
	wait_for 60 grep -q '^done 1$' "$BATS_TEST_TMPDIR/lt.out"
	same_data "$BATS_TEST_TMPDIR/out"
	run grep -cE ': dropped: (request|[0-9]+ requests while choked)' \
	    "$SEED_LOG"
	assert_output 4
}

# True once the seeder's log shows $1 peers connected in.
connected_in() {
	[ "$(grep -c ': connected (in)$' "$SEED_LOG")" = "$1" ]
}

@test "over the connection limit of a low ulimit -n, connections are closed at once" {
	SEED_LOG=$BATS_TEST_TMPDIR/seed.log
	# 24 descriptors: 6 for data files, 16 spare, 2 peers.
	(ulimit -n 24 && exec bt-seed -v -n -b 127.0.0.1 -p 0 \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data") \
	    2>"$SEED_LOG" 3>&- &
	SEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$SEED_LOG"
	SEED_PORT=$(sed -n 's/^bt-seed: listening on .* port \([0-9]*\)$/\1/p' \
	    "$SEED_LOG")
	"$BT_TOOLS/hostile-leecher" -t 20 idle "$BATS_FILE_TMPDIR/t.torrent" \
	    127.0.0.1 "$SEED_PORT" >/dev/null 3>&- &
	LEECHER_PIDS+=("$!")
	"$BT_TOOLS/hostile-leecher" -t 20 idle "$BATS_FILE_TMPDIR/t.torrent" \
	    127.0.0.1 "$SEED_PORT" >/dev/null 3>&- &
	LEECHER_PIDS+=("$!")
	wait_for 10 connected_in 2
	run "$BT_TOOLS/hostile-leecher" -t 5 bitfield \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT"
	assert_output "closed by peer"
	run grep -c '^bt-seed: connection refused: 2 peers already$' "$SEED_LOG"
	assert_output 1
}

@test "serves over IPv6 when bound to ::1" {
	SEED_LOG=$BATS_TEST_TMPDIR/seed.log
	bt-seed -v -n -b ::1 -p 0 "$BATS_FILE_TMPDIR/p.torrent" \
	    "$BATS_FILE_TMPDIR/pdata" 2>"$SEED_LOG" 3>&- &
	SEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$SEED_LOG"
	SEED_PORT=$(sed -n 's/^bt-seed: listening on ::1 port \([0-9]*\)$/\1/p' \
	    "$SEED_LOG")
	run -0 "$BT_TOOLS/hostile-leecher" get "$BATS_FILE_TMPDIR/p.torrent" \
	    ::1 "$SEED_PORT"
	assert_output $'handshake\nunchoked\npiece 0 good'
}

# BEP 10 and BEP 9: bt-seed is a metadata source for magnet links.

# The length of the torrent's info dictionary (the metadata, BEP 9).
info_len_of() {
	/usr/bin/python3 -c 'import sys
sys.path.insert(0, sys.argv[1])
import torrent
raw = open(sys.argv[2], "rb").read()
i = raw.index(b"4:info") + 6
print(torrent.bdecode(raw, i)[1] - i)' "$top/tests/helpers" "$1"
}

@test "libtorrent given only a magnet link gets the metadata from bt-seed, then the data" {
	local ih len
	ih=$(info_hash_of "$BATS_FILE_TMPDIR/t.torrent")
	len=$(info_len_of "$BATS_FILE_TMPDIR/t.torrent")
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leech_lt "magnet:?xt=urn:btih:$ih" "$BATS_TEST_TMPDIR/out" \
	    "$SEED_PORT"
	assert_output "done 1"
	same_data "$BATS_TEST_TMPDIR/out"
	run grep -c ": metadata sent ($len bytes)$" "$SEED_LOG"
	assert_output 1
}

@test "aria2c given only a magnet link finds bt-seed through opentracker, gets the metadata and the data" {
	local port magnet len
	tracked_torrent
	len=$(info_len_of "$TT")
	seed_start "$TT" "$BATS_FILE_TMPDIR/data"
	wait_for 10 grep -q "announce started: " "$SEED_LOG"
	magnet="magnet:?xt=urn:btih:$(info_hash_of "$TT")&tr=$(jq -rn \
	    --arg u "$OT_ANNOUNCE" '$u | @uri')"
	port=$(free_port)
	leech_aria2 "$magnet" "$BATS_TEST_TMPDIR/aria" "$port" tracker
	run -0 timeout 60 tail --pid="$LEECH_PID" -f /dev/null
	run -0 wait "$LEECH_PID"
	same_data "$BATS_TEST_TMPDIR/aria"
	run grep -c ": metadata sent ($len bytes)$" "$SEED_LOG"
	assert_output 1
}

@test "the extension handshake offers ut_metadata with the info dictionary's size" {
	local len
	len=$(info_len_of "$BATS_FILE_TMPDIR/t.torrent")
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher metadata
	assert_output "handshake
extension handshake ut_metadata=1 metadata_size=$len upload_only=1
ut_metadata data piece 0 total_size $len good"
}

@test "a metadata piece out of range gets a reject" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 "$BT_TOOLS/hostile-leecher" -p 1 metadata \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT"
	assert_line -n 2 "ut_metadata d8:msg_typei2e5:piecei1ee"
	# One the bencoding cannot hold is malformed: the peer is dropped.
	run -0 "$BT_TOOLS/hostile-leecher" -p 4294967295 metadata \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT"
	assert_line -n 2 "closed by peer"
	run grep -c ': dropped: ut_metadata: piece 4294967295 out of range 0..2147483647 (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "a flood of metadata requests is cut off at its limit" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 "$BT_TOOLS/hostile-leecher" -r 100 mdflood \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT"
	assert_line -n 2 "closed by peer"
	run grep -c ': limit BT_SEED_MD_ASKS (4): dropped: ut_metadata request flood: 5 requests for 1 piece of metadata (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

@test "an extension handshake over its limit is cut off before it is read" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher extbig
	assert_output $'handshake\nclosed by peer'
	run grep -c ': limit BT_EXT_MAX_HANDSHAKE (65536 bytes): dropped: extension handshake of 65537 bytes (0 bytes sent)$' "$SEED_LOG"
	assert_output 1
}

# BEP 6, the fast extension: what a raw client sees with the bit and
# without it.

@test "with the fast bit, complete data is announced by have all, without it by the bitfield" {
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$BATS_FILE_TMPDIR/pdata"
	run -0 leecher bitfield "$BATS_FILE_TMPDIR/p.torrent"
	assert_output $'handshake\nbitfield 1111111'
	run -0 "$BT_TOOLS/hostile-leecher" -f bitfield \
	    "$BATS_FILE_TMPDIR/p.torrent" 127.0.0.1 "$SEED_PORT"
	assert_output $'handshake\nhave all'
}

@test "with the fast bit, no data is have none, and partial data a bitfield" {
	local d=$BATS_TEST_TMPDIR/pdata
	mkdir "$BATS_TEST_TMPDIR/empty"
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$BATS_TEST_TMPDIR/empty"
	run -0 "$BT_TOOLS/hostile-leecher" -f bitfield \
	    "$BATS_FILE_TMPDIR/p.torrent" 127.0.0.1 "$SEED_PORT"
	assert_output $'handshake\nhave none'
	seed_stop
	cp -r "$BATS_FILE_TMPDIR/pdata" "$d"
	rm "$d/part/b.bin"
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$d"
	run -0 "$BT_TOOLS/hostile-leecher" -f bitfield \
	    "$BATS_FILE_TMPDIR/p.torrent" 127.0.0.1 "$SEED_PORT"
	assert_output $'handshake\nbitfield 1111000'
}

# hostile-leecher on t.torrent with more options before the mode.
leecher_t() {
	"$BT_TOOLS/hostile-leecher" "$@" "$BATS_FILE_TMPDIR/t.torrent" \
	    127.0.0.1 "$SEED_PORT"
}

# hostile-leecher on p.torrent with more options before the mode.
pleecher() {
	"$BT_TOOLS/hostile-leecher" "$@" "$BATS_FILE_TMPDIR/p.torrent" \
	    127.0.0.1 "$SEED_PORT"
}

@test "a request for a piece bt-seed does not hold: reject with the fast bit, silence without" {
	local d=$BATS_TEST_TMPDIR/pdata
	cp -r "$BATS_FILE_TMPDIR/pdata" "$d"
	# Piece 1 corrupt, b.bin (pieces 4-6) gone.
	printf 'XY' | dd of="$d/part/a.bin" bs=1 seek=70000 conv=notrunc \
	    status=none
	rm "$d/part/b.bin"
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$d"
	run -0 grep -c '^bt-seed: 3 of 7 pieces to serve$' "$SEED_LOG"
	run -0 pleecher -f -p 1 ask
	assert_output $'handshake\nunchoked\nreject 1 0 16384'
	run -0 pleecher -f -p 5 ask
	assert_output $'handshake\nunchoked\nreject 5 0 16384'
	run -0 pleecher -f -p 0 ask
	assert_output $'handshake\nunchoked\npiece 0 0 16384'
	run -1 pleecher -t 3 -p 1 ask
	assert_output $'handshake\nunchoked\nstill open after 3 s'
}

@test "--no-verify: a piece found bad at its first read is rejected with the fast bit" {
	local d=$BATS_TEST_TMPDIR/pdata
	cp -r "$BATS_FILE_TMPDIR/pdata" "$d"
	printf 'X' | dd of="$d/part/a.bin" bs=1 seek=10 conv=notrunc \
	    status=none
	seed_start -n --no-verify "$BATS_FILE_TMPDIR/p.torrent" "$d"
	run -0 pleecher -f -p 0 ask
	assert_output $'handshake\nunchoked\nreject 0 0 16384'
	run grep -c '^bt-seed: piece 0: SHA-1 mismatch: no longer served$' \
	    "$SEED_LOG"
	assert_output 1
	run -0 pleecher -f -p 0 ask
	assert_output $'handshake\nunchoked\nreject 0 0 16384'
}

@test "a request while choked: reject with the fast bit, silence without" {
	local set piece=0
	# A piece outside the allowed fast set (served while choked).
	set=" $(allowed_fast_of "$BATS_FILE_TMPDIR/t.torrent" 65) "
	while [[ $set == *" $piece "* ]]; do
		piece=$((piece + 1))
	done
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher_t -f -p "$piece" ask-choked
	assert_output "handshake
reject $piece 0 16384"
	run -1 leecher_t -t 3 -p "$piece" ask-choked
	assert_output $'handshake\nstill open after 3 s'
}

@test "a request past the last piece is rejected with the fast bit before the cut-off" {
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$BATS_FILE_TMPDIR/pdata"
	run -0 pleecher -f -p 7 ask
	assert_output $'handshake\nunchoked\nreject 7 0 16384'
}

@test "a cancel of a queued request is answered by a reject with the fast bit, by nothing without" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	# 2000 requests cycle through the 259 blocks (64 pieces of 4, the
	# last of 3): the last request is block 186 of a cycle, the third
	# of piece 46.
	run -0 leecher cancel
	assert_output $'handshake\nunchoked\npieces 1999'
	run -0 "$BT_TOOLS/hostile-leecher" -f cancel \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT"
	assert_output $'handshake\nunchoked\nreject 46 32768 16384\npieces 1999'
}

# BEP 11, peer exchange.

# lt-leech.py in the background listening on LPORT (set here), dialing
# nobody but the seeder at $1 if given; LT_PID, LT_OUT its stdout.
lt_listening() {
	LPORT=$(free_port)
	LT_OUT=$BATS_TEST_TMPDIR/lt.out
	/usr/bin/python3 "$top/tests/tools/lt-leech.py" -t 90 -l "$LPORT" \
	    "$BATS_FILE_TMPDIR/t.torrent" "$BATS_TEST_TMPDIR/out" ${1:+"$1"} \
	    >"$LT_OUT" 2>&1 3>&- &
	LT_PID=$!
	BG_PIDS+=("$LT_PID")
	wait_for 20 grep -q '^listening' "$LT_OUT"
}

@test "a peer named in a ut_pex message is dialed and downloads: same bytes" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	lt_listening
	"$BT_TOOLS/hostile-leecher" -t 90 -P "$LPORT" pex-send \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT" \
	    >"$BATS_TEST_TMPDIR/h.out" 3>&- &
	BG_PIDS+=("$!")
	run -0 timeout 90 tail --pid="$LT_PID" -f /dev/null
	wait "$LT_PID"
	run cat "$LT_OUT"
	assert_output $'listening '"$LPORT"$'\ndone 1'
	same_data "$BATS_TEST_TMPDIR/out"
	run cat "$BATS_TEST_TMPDIR/h.out"
	assert_output $'handshake\nextension handshake ut_pex=2\nut_pex sent'
	run grep -c "^bt-seed: 127.0.0.1 [0-9]*: PEX: learned 127.0.0.1 $LPORT$" \
	    "$SEED_LOG"
	assert_output 1
	run grep -c "^bt-seed: 127.0.0.1 $LPORT: connected (out)$" "$SEED_LOG"
	assert_output 1
	run grep -c ": PEX: learned " "$SEED_LOG"
	assert_output 1
}

@test "a second ut_pex message within BT_PEX_MIN_INTERVAL_MS is ignored" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	"$BT_TOOLS/hostile-leecher" -t 30 -P 9 -r 2 pex-send \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT" \
	    >/dev/null 3>&- &
	BG_PIDS+=("$!")
	wait_for 20 grep -q 'after the last one ignored' "$SEED_LOG"
	run grep -c "^bt-seed: 127.0.0.1 [0-9]*: ut_pex message [0-9]* ms after the last one ignored (limit BT_PEX_MIN_INTERVAL_MS)$" \
	    "$SEED_LOG"
	assert_output 1
	run grep -c ": PEX: learned " "$SEED_LOG"
	assert_output 1
}

@test "ut_pex sent names a libtorrent leecher by its listening port, never the peer itself" {
	local hport
	hport=$(free_port)
	# Slow, so that libtorrent is still downloading when the message
	# goes.
	seed_start -n -r 256K --pex-interval 1 "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_FILE_TMPDIR/data"
	"$BT_TOOLS/hostile-leecher" -t 30 -P "$hport" pex \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT" \
	    >"$BATS_TEST_TMPDIR/h.out" 3>&- &
	BG_PIDS+=("$!")
	local hpid=$!
	wait_for 10 grep -q '^extension handshake' "$BATS_TEST_TMPDIR/h.out"
	lt_listening "$SEED_PORT"
	run -0 timeout 30 tail --pid="$hpid" -f /dev/null
	run cat "$BATS_TEST_TMPDIR/h.out"
	assert_output "handshake
extension handshake ut_pex=2
ut_pex added 127.0.0.1 $LPORT 0"
	run grep -c "^bt-seed: 127.0.0.1 [0-9]*: ut_pex sent: 1 added, 0 dropped$" \
	    "$SEED_LOG"
	assert_output 1
}

@test "a malformed ut_pex message drops the peer with its reason" {
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 leecher pex-bad
	assert_output $'handshake\nextension handshake ut_pex=2\nclosed by peer'
	run grep -c ': dropped: ut_pex: added of 5 bytes, not a multiple of 6 (0 bytes sent)$' \
	    "$SEED_LOG"
	assert_output 1
}

@test "no ut_pex message goes to a peer that did not offer ut_pex" {
	seed_start -n -r 256K --pex-interval 1 "$BATS_FILE_TMPDIR/t.torrent" \
	    "$BATS_FILE_TMPDIR/data"
	"$BT_TOOLS/hostile-leecher" -t 5 -P "$(free_port)" nopex \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT" \
	    >"$BATS_TEST_TMPDIR/h.out" 3>&- &
	BG_PIDS+=("$!")
	local hpid=$!
	wait_for 10 grep -q '^extension handshake' "$BATS_TEST_TMPDIR/h.out"
	lt_listening "$SEED_PORT"
	run -0 timeout 30 tail --pid="$hpid" -f /dev/null
	run cat "$BATS_TEST_TMPDIR/h.out"
	assert_output $'handshake\nextension handshake ut_pex=2\nstill open after 5 s'
	# Messages were due: libtorrent got one naming the other peer.
	run grep -c "^bt-seed: 127.0.0.1 [0-9]*: ut_pex sent: 1 added, 0 dropped$" \
	    "$SEED_LOG"
	assert_output 1
}

@test "with the fast bit, the allowed fast set of BEP 6 is sent and served while choked" {
	local set first
	set=$(allowed_fast_of "$BATS_FILE_TMPDIR/t.torrent" 65)
	first=${set%% *}
	seed_start -n "$BATS_FILE_TMPDIR/t.torrent" "$BATS_FILE_TMPDIR/data"
	run -0 "$BT_TOOLS/hostile-leecher" allowed \
	    "$BATS_FILE_TMPDIR/t.torrent" 127.0.0.1 "$SEED_PORT"
	assert_line -n 0 "handshake"
	assert_line -n 1 "allowed fast $set"
	assert_line -n 2 "piece $first 0 16384"
	assert_line -n 3 --regexp "^reject [0-9]+ 0 16384$"
	assert_equal "${#lines[@]}" 4
}

@test "partial data: only the pieces held of the allowed fast set are sent" {
	local d=$BATS_TEST_TMPDIR/pdata want
	cp -r "$BATS_FILE_TMPDIR/pdata" "$d"
	rm "$d/part/b.bin"
	# 7 pieces: the whole torrent is the set; pieces 0-3 are held.
	want=$(allowed_fast_of "$BATS_FILE_TMPDIR/p.torrent" 7 |
	    tr ' ' '\n' | awk '$1 < 4' | paste -sd ' ')
	seed_start -n "$BATS_FILE_TMPDIR/p.torrent" "$d"
	run -0 pleecher allowed
	assert_line -n 1 "allowed fast $want"
	assert_line -n 2 "piece ${want%% *} 0 16384"
	assert_line -n 3 --regexp "^reject [4-6] 0 16384$"
}
