#!/usr/bin/env bats
# bt-fetch-piece under load and at its limits: a peer list of 10,000 where
# almost no one answers, peers that time out at each stage, the peer and
# connection caps, misbehaving peers banned at their limit, the memory of
# big pieces. Dead peers come from tests/tools/deadpeers, on 127.0.0.0/8.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/single" "$d/big"
	rand_file "$d/single/data" $((8 * 1048576 + 4321))
	mktorrent -l 18 -a http://127.0.0.1:1/announce -o "$d/t.torrent" \
	    "$d/single/data" >/dev/null
	# 255 pieces of 16 KiB for the hostile peer.
	rand_file "$d/single/h" $((255 * 16384 - 1000))
	transmission-create -s 16 -t http://127.0.0.1:1/announce \
	    -o "$d/h.torrent" "$d/single/h" >/dev/null
}

teardown() {
	seeders_stop
	local p
	for p in ${DEAD_PID:-} ${FETCH_PID:-} ${BTSEED_PID:-} \
	    ${HOSTILE_PID:-}; do
		kill "$p" 2>/dev/null
	done
	DEAD_PID= FETCH_PID= BTSEED_PID= HOSTILE_PID=
	return 0
}

# dead_start DEADPEERS-OPTIONS: the dead peers, their lines in dead.txt.
dead_start() {
	"$BT_TOOLS/deadpeers" -l 300 "$@" >"$BATS_TEST_TMPDIR/dead.out" 3>&- &
	DEAD_PID=$!
	wait_for 30 grep -qx '# ready' "$BATS_TEST_TMPDIR/dead.out"
	grep -v '^#' "$BATS_TEST_TMPDIR/dead.out" >"$BATS_TEST_TMPDIR/dead.txt"
}

# fetch_watch ARGS...: run bt-fetch-piece ARGS in the background (stdout to
# out, stderr to err; under ulimit -n $FETCH_ULIMIT if set), sampling its
# sockets and peak memory until it ends (at most 240 s); FETCH_STATUS,
# MAX_SOCKS (sockets open at once), and HWM_KIB (VmHWM) after.
fetch_watch() {
	local d=$BATS_TEST_TMPDIR n i=0 h
	(
		[ -z "${FETCH_ULIMIT:-}" ] || ulimit -n "$FETCH_ULIMIT" ||
		    exit 70
		exec bt-fetch-piece "$@"
	) >"$d/out" 2>"$d/err" 3>&- &
	FETCH_PID=$!
	MAX_SOCKS=0 HWM_KIB=0
	while kill -0 "$FETCH_PID" 2>/dev/null && [ "$i" -lt 4800 ]; do
		n=$(find /proc/"$FETCH_PID"/fd -lname 'socket:*' 2>/dev/null |
		    wc -l)
		[ "$n" -gt "$MAX_SOCKS" ] && MAX_SOCKS=$n
		h=$(awk '/^VmHWM:/ { print $2 }' /proc/"$FETCH_PID"/status \
		    2>/dev/null) || h=
		[ -n "$h" ] && HWM_KIB=$h
		i=$((i + 1))
		sleep 0.05
	done
	kill "$FETCH_PID" 2>/dev/null || true
	FETCH_STATUS=0
	wait "$FETCH_PID" || FETCH_STATUS=$?
	FETCH_PID=
	echo "# status $FETCH_STATUS, at most $MAX_SOCKS sockets," \
	    "VmHWM $HWM_KIB KiB: $(tail -1 "$d/err")" >&3
}

asan() {
	ldd "$BT_BIN/bt-fetch-piece" | grep -q libasan
}

# A seeder of this project: btseed_start TORRENT DIR; BTSEED_PORT.
btseed_start() {
	BTSEED_PORT=$(free_port)
	bt-seed -q -b 127.0.0.1 -p "$BTSEED_PORT" "$1" "$2" \
	    </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/bt-seed.log" 3>&- &
	BTSEED_PID=$!
	wait_for 20 port_open "$BTSEED_PORT"
}

# shuffle SEED < LINES: the lines in an order drawn from SEED.
shuffle() {
	/usr/bin/python3 -c '
import random, sys
random.seed(int(sys.argv[1]))
lines = sys.stdin.read().splitlines()
random.shuffle(lines)
print("\n".join(lines))' "$1"
}

@test "10,000 peers, 9,997 of them dead: downloads byte-identical from the 3 near the end, descriptors and memory bounded" {
	local d=$BATS_TEST_TMPDIR f=$BATS_FILE_TMPDIR seed p1 p2
	seed=${LOAD_SEED:-$RANDOM}
	echo "# seed $seed (LOAD_SEED=$seed to replay)" >&3
	# 6,000 refused, 1,500 whose connect hangs, 1,500 silent after the
	# connect, 250 choking, 247 unchoking and stalling.
	dead_start -r 6500 -b 1500 -c 1500 -h 250 -u 247
	p1=$(free_port)
	seed_lt "$f/t.torrent" "$f/single" "$p1"
	p2=$(free_port)
	seed_lt "$f/t.torrent" "$f/single" "$p2"
	btseed_start "$f/t.torrent" "$f/single"
	# The live ones among the last 30 lines.
	shuffle "$seed" <"$d/dead.txt" >"$d/mixed"
	{
		head -n 9970 "$d/mixed"
		{
			tail -n +9971 "$d/mixed"
			printf '127.0.0.1 %s\n' "$p1" "$p2" "$BTSEED_PORT"
		} | shuffle "$seed"
	} >"$d/peers"
	assert_equal "$(sort -u "$d/peers" | wc -l)" 10000
	fetch_watch -v --connect-timeout 1 --handshake-timeout 1 \
	    --idle-timeout 1 --snub-timeout 1 -t "$f/t.torrent" \
	    -p "$d/peers" -a
	assert_equal "$FETCH_STATUS" 0
	bt-assemble -C "$d/got" <"$d/out"
	cmp "$f/single/data" "$d/got/data"
	# BT_SWARM_MAX_CONNS connected, BT_SWARM_MAX_HALFOPEN in progress,
	# and the two sockets it listens on by default (IPv4 and IPv6).
	# Peers that dial in count in the first two.
	[ "$MAX_SOCKS" -le $((64 + 256 + 2)) ]
	if asan; then
		[ "$HWM_KIB" -lt $((768 * 1024)) ]
	else
		[ "$HWM_KIB" -lt $((96 * 1024)) ]
	fi
	# With -v: the port it listens on, the limits reached once each,
	# and the summary.
	run grep -cv ' (limit BT_SWARM_MAX_\(CONNS\|HALFOPEN\))$' "$d/err"
	assert_output 2
	run cat "$d/err"
	assert_line --index 0 --regexp '^bt-fetch-piece: listening on port [0-9]+$'
	assert_line "bt-fetch-piece: 256 connects and handshakes in progress: more listed peers wait (limit BT_SWARM_MAX_HALFOPEN)"
	assert_line --regexp '^bt-fetch-piece: 33/33 pieces, .* [0-9]+ timed out of [0-9]+ peers tried, [1-3] served, 0 dropped, 0 hash failures$'
}

@test "BT_SWARM_MAX_PEERS: peers after the first 10,000 are ignored, and counted without -v" {
	local d=$BATS_TEST_TMPDIR
	dead_start -r 10005
	run -69 --separate-stderr bt-fetch-piece -t "$BATS_FILE_TMPDIR/t.torrent" \
	    -p "$d/dead.txt" -i 0
	assert_output ""
	assert_equal "$stderr" "bt-fetch-piece: $d/dead.txt: 5 peers after the first 10000 ignored (limit BT_SWARM_MAX_PEERS)
bt-fetch-piece: 1 of 1 pieces missing: no usable peer left (10000 tried)"
	run -69 --separate-stderr bt-fetch-piece -q \
	    -t "$BATS_FILE_TMPDIR/t.torrent" -p "$d/dead.txt" -i 0
	assert_equal "$stderr" "bt-fetch-piece: 1 of 1 pieces missing: no usable peer left (10000 tried)"
}

# one_dead KIND-OPTION TIMEOUT-OPTIONS...: bt-fetch-piece -vv against one
# dead peer; its line in $line, status 69 checked.
one_dead() {
	local kind=$1
	shift
	dead_start "$kind" 1
	run -69 --separate-stderr bt-fetch-piece -vv "$@" \
	    -t "$BATS_FILE_TMPDIR/t.torrent" -p "$BATS_TEST_TMPDIR/dead.txt" -i 0
	assert_output ""
	peer=$(cat "$BATS_TEST_TMPDIR/dead.txt")
	# What it said, as the output, for assert_line: first the port it
	# listens on (by default), then what the peer did.
	run printf '%s\n' "$stderr"
	assert_line --index 0 --regexp '^bt-fetch-piece: listening on port [0-9]+$'
}

@test "BT_SWARM_CONNECT_MS: a connect that hangs ends at --connect-timeout, and -vv names the limit" {
	one_dead -b --connect-timeout 1
	assert_line --index 1 "bt-fetch-piece: $peer: no connection in 1000 ms (limit BT_SWARM_CONNECT_MS, --connect-timeout)"
	assert_line --index 2 --regexp '^bt-fetch-piece: 0/1 pieces, .* 1 timed out of 1 peers tried, 0 served'
}

@test "BT_SWARM_HANDSHAKE_MS: a peer that accepts and never answers ends at --handshake-timeout" {
	one_dead -c --handshake-timeout 1
	assert_line --index 1 "bt-fetch-piece: $peer: no handshake in 1000 ms (limit BT_SWARM_HANDSHAKE_MS, --handshake-timeout)"
	assert_line --index 2 --regexp '^bt-fetch-piece: 0/1 pieces, .* 1 timed out of 1 peers tried, 0 served'
}

@test "BT_SWARM_IDLE_MS: a peer that never unchokes is closed at --idle-timeout" {
	one_dead -h --idle-timeout 1
	run grep -F "$peer:" <<<"$output"
	assert_output "bt-fetch-piece: $peer: handshake done (fast extension)
bt-fetch-piece: $peer: no block in 1000 ms (limit BT_SWARM_IDLE_MS, --idle-timeout)"
}

@test "BT_SWARM_SNUB_MS: a peer that unchokes and never sends is snubbed, then closed when idle" {
	one_dead -u --snub-timeout 1 --idle-timeout 2
	run grep -F "$peer:" <<<"$output"
	assert_output "bt-fetch-piece: $peer: handshake done (fast extension)
bt-fetch-piece: $peer: snubbed: no block in 1000 ms (limit BT_SWARM_SNUB_MS)
bt-fetch-piece: $peer: no block in 2000 ms (limit BT_SWARM_IDLE_MS, --idle-timeout)"
}

@test "--timeout ends a run among 2,000 dead peers with status 75" {
	dead_start -b 500 -c 500 -h 500 -u 500
	run -75 --separate-stderr bt-fetch-piece --timeout 2 \
	    -t "$BATS_FILE_TMPDIR/t.torrent" -p "$BATS_TEST_TMPDIR/dead.txt" -a
	assert_equal "$stderr" "bt-fetch-piece: timed out after 2 s: 33 of 33 pieces missing"
}

@test "BT_SWARM_MAX_CONNS: 200 choking peers, 64 at once; those waiting for a slot push out peers that keep us choked" {
	local d=$BATS_TEST_TMPDIR
	dead_start -h 200
	# A low descriptor limit leaves room for 20 sockets beside the 64
	# connections (and 64 spare): the two it listens on (IPv4 and IPv6)
	# take two, 18 connects the rest.
	FETCH_ULIMIT=148 fetch_watch -vv --handshake-timeout 1 --idle-timeout 2 \
	    -t "$BATS_FILE_TMPDIR/t.torrent" -p "$d/dead.txt" -a
	assert_equal "$FETCH_STATUS" 69
	[ "$MAX_SOCKS" -le $((64 + 20)) ]
	run cat "$d/err"
	assert_line "bt-fetch-piece: 64 peers connected: others wait for a free slot (limit BT_SWARM_MAX_CONNS)"
	assert_line "bt-fetch-piece: 18 connects and handshakes in progress: more listed peers wait (limit BT_SWARM_MAX_HALFOPEN)"
	assert_line --partial ": choked us for 1000 ms while peers wait for a slot (limit BT_SWARM_MAX_CONNS)"
	assert_line --regexp '^bt-fetch-piece: 0/33 pieces, .* 200 timed out of 200 peers tried, 0 served, 0 dropped'
}

# hostile_alone MODE: the hostile peer alone serves h.torrent; status 69.
hostile_alone() {
	"$BT_TOOLS/hostile-peer" -m "$1" -t "$BATS_FILE_TMPDIR/h.torrent" \
	    -f "$BATS_FILE_TMPDIR/single/h" -l 60 \
	    >"$BATS_TEST_TMPDIR/hostile.port" 3>&- &
	HOSTILE_PID=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/hostile.port"
	peer="127.0.0.1 $(cat "$BATS_TEST_TMPDIR/hostile.port")"
	run -69 --separate-stderr bt-fetch-piece -v \
	    -t "$BATS_FILE_TMPDIR/h.torrent" -a -o /dev/null <<<"$peer"
	assert_output ""
	# The port it listens on (by default) first, then what the peer did.
	run printf '%s\n' "$stderr"
	assert_line --index 0 --regexp '^bt-fetch-piece: listening on port [0-9]+$'
}

@test "BT_SWARM_BAN_HASHFAILS: a peer whose pieces fail their SHA-1 three times is banned, and -v names the limit" {
	hostile_alone corrupt
	assert_line --index 1 "bt-fetch-piece: $peer: banned: 3 pieces failed their SHA-1 (limit BT_SWARM_BAN_HASHFAILS)"
}

@test "BT_SWARM_BAN_BADBLOCKS: a peer sending 16 blocks never asked for is banned, and -v names the limit" {
	hostile_alone unasked
	assert_line --index 1 "bt-fetch-piece: $peer: banned: 16 blocks never asked for, or of a wrong offset or length (limit BT_SWARM_BAN_BADBLOCKS)"
}

@test "BT_WIRE_MAX_MSG: a length prefix of 256 MiB drops the peer before any allocation, and -v names the limit" {
	hostile_alone oversize
	assert_line --index 1 "bt-fetch-piece: $peer: limit BT_WIRE_MAX_MSG (1048592 bytes): dropped: message of 268435456 bytes (0 bytes sent)"
}

@test "BT_SWARM_MAX_INFLIGHT: 16 MiB pieces from 3 seeders, two in flight at a time: memory stays near 32 MiB, and -v names the limit" {
	local d=$BATS_TEST_TMPDIR f=$BATS_FILE_TMPDIR p1 p2
	mkdir -p "$f/big"
	[ -s "$f/big/data" ] || rand_file "$f/big/data" $((48 * 1048576))
	mktorrent -l 24 -a http://127.0.0.1:1/announce -o "$d/big.torrent" \
	    "$f/big/data" >/dev/null
	p1=$(free_port)
	seed_lt "$d/big.torrent" "$f/big" "$p1"
	p2=$(free_port)
	seed_lt "$d/big.torrent" "$f/big" "$p2"
	btseed_start "$d/big.torrent" "$f/big"
	# Each peer would start a piece of its own: the third one may not.
	printf '127.0.0.1 %s\n' "$p1" "$p2" "$BTSEED_PORT" >"$d/peers"
	fetch_watch -v -t "$d/big.torrent" -p "$d/peers" -a
	assert_equal "$FETCH_STATUS" 0
	bt-assemble -C "$d/got" <"$d/out"
	cmp "$f/big/data" "$d/got/data"
	run cat "$d/err"
	assert_line "bt-fetch-piece: 2 pieces of 16777216 bytes in flight: no more started until one is done (limit BT_SWARM_MAX_INFLIGHT)"
	# 3 pieces of 16 MiB: all of them in flight would be 48 MiB.
	if asan; then
		[ "$HWM_KIB" -lt $((768 * 1024)) ]
	else
		[ "$HWM_KIB" -lt $((64 * 1024)) ]
	fi
}

@test "--download-rate: time a peer's blocks wait for our bucket is not counted by --snub-timeout and --idle-timeout" {
	local d=$BATS_TEST_TMPDIR f=$BATS_FILE_TMPDIR
	btseed_start "$f/h.torrent" "$f/single"
	# 12,000 bytes a second: a block of 16 KiB every 1.4 s, past the
	# 1 s of both timeouts, though bt-seed sends each at once.
	bt-fetch-piece -vv --download-rate 12000 --snub-timeout 1 \
	    --idle-timeout 1 --timeout 60 -t "$f/h.torrent" -i 0-3 \
	    <<<"127.0.0.1 $BTSEED_PORT" >"$d/s" 2>"$d/err"
	bt-verify "$d/s" >/dev/null
	run cat "$d/err"
	refute_line --partial "snubbed"
	refute_line --partial "no block in"
	assert_line --regexp '^bt-fetch-piece: 4/4 pieces, .* 0 timed out of 1 peers tried, 1 served, 0 dropped, 0 hash failures$'
}

@test "--download-rate: a peer that unchokes and never sends is still snubbed, then closed when idle" {
	one_dead -u --download-rate 12000 --snub-timeout 1 --idle-timeout 2
	run grep -F "$peer:" <<<"$output"
	assert_output "bt-fetch-piece: $peer: handshake done (fast extension)
bt-fetch-piece: $peer: snubbed: no block in 1000 ms (limit BT_SWARM_SNUB_MS)
bt-fetch-piece: $peer: no block in 2000 ms (limit BT_SWARM_IDLE_MS, --idle-timeout)"
}
