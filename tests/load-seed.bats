#!/usr/bin/env bats
# bt-seed under load and at its limits: 200 hostile connections at once
# beside honest libtorrent leechers, the same under a low ulimit -n, and
# each limit of lib/btlimits.h that bounds a peer hit once, with the line
# -v prints for it (it names the limit). Everything on 127.0.0.1.
#
# The hostile connections come from one process (hostile-leecher many),
# their kinds shuffled by LOAD_SEED, printed at the start of the suite;
# set it to replay a run.

load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/data/multi/sub"
	rand_file "$d/data/multi/a.bin" 3000000
	rand_file "$d/data/multi/sub/b.bin" 1234567
	# 64 KiB pieces: 65 of them, 259 blocks.
	mktorrent -l 16 -o "$d/t.torrent" "$d/data/multi" >/dev/null
	: "${LOAD_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
	export LOAD_SEED
	echo "# load-seed: LOAD_SEED=$LOAD_SEED" >&3
}

teardown() {
	[ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
	[ -n "${HOSTILE_PID:-}" ] && kill "$HOSTILE_PID" 2>/dev/null
	WATCH_PID= HOSTILE_PID=
	seed_stop
	leechers_stop
}

T=$BATS_FILE_TMPDIR/t.torrent

# Start bt-seed -v -b 127.0.0.1 -p 0 with more arguments, under
# "ulimit -n $SEED_ULIMIT" if set; with SEED_FDS set, with only stdio and
# that many more descriptors open (to /dev/null) when it starts. Returns
# once it has checked its data. Sets SEED_PID, SEED_PORT, SEED_LOG (its
# stderr), SEED_OUT (stdout).
seed_start() {
	SEED_LOG=$BATS_TEST_TMPDIR/seed.log
	SEED_OUT=$BATS_TEST_TMPDIR/seed.out
	(
		[ -z "${SEED_ULIMIT:-}" ] || ulimit -n "$SEED_ULIMIT" || exit 70
		if [ -n "${SEED_FDS:-}" ]; then
			for f in /proc/"$BASHPID"/fd/*; do
				f=${f##*/}
				[ "$f" -gt 2 ] && eval "exec $f>&-"
			done
			for _ in $(seq "$SEED_FDS"); do
				exec {f}</dev/null
			done
		fi
		exec bt-seed -v -b 127.0.0.1 -p 0 "$@"
	) </dev/null >"$SEED_OUT" 2>"$SEED_LOG" 3>&- &
	SEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$SEED_LOG" || {
		cat "$SEED_LOG" >&2
		return 1
	}
	SEED_PORT=$(sed -n 's/^bt-seed: listening on .* port \([0-9]*\)$/\1/p' \
	    "$SEED_LOG")
}

# SIGTERM, then wait (at most 20 s); its status in SEED_STATUS.
seed_stop() {
	if [ -n "${SEED_PID:-}" ]; then
		kill -TERM "$SEED_PID" 2>/dev/null
		timeout 20 tail -s 0.1 --pid="$SEED_PID" -f /dev/null 2>/dev/null
		kill -9 "$SEED_PID" 2>/dev/null || true
		SEED_STATUS=0
		wait "$SEED_PID" 2>/dev/null || SEED_STATUS=$?
		SEED_PID=
	fi
}

hostile() {
	"$BT_TOOLS/hostile-leecher" "$@" "$T" 127.0.0.1 "$SEED_PORT"
}

# Lines of the seeder's log matching the extended regex $1.
logged() {
	grep -cE -- "$1" "$SEED_LOG"
}

# The seeder's open sockets now (descriptors of data files are cached).
sockets() {
	local f n=0
	for f in /proc/"$SEED_PID"/fd/*; do
		case $(readlink "$f") in socket:*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

sockets_are() {
	[ "$(sockets)" = "$1" ]
}

# Its peak of descriptors, sampled every 50 ms into $FDMAX.
fd_watch_start() {
	FDMAX=$BATS_TEST_TMPDIR/fdmax
	echo 0 >"$FDMAX"
	(
		max=0
		while kill -0 "$SEED_PID" 2>/dev/null; do
			f=(/proc/"$SEED_PID"/fd/*)
			if [ "${#f[@]}" -gt "$max" ]; then
				max=${#f[@]}
				echo "$max" >"$FDMAX"
			fi
			sleep 0.05
		done
	) 3>&- &
	WATCH_PID=$!
}

# Peak resident memory (VmHWM) of the seeder, in KiB.
vmhwm() {
	awk '/^VmHWM:/ { print $2 }' /proc/"$SEED_PID"/status
}

# The memory bound: per peer a few hundred bytes and at most 24 KiB of
# queue (BT_SEED_MAX_QUEUE), 64 KiB of send buffer per unchoked peer, a
# 256 KiB check buffer, the torrent: under 16 MiB for 500 peers, plus the
# libraries (about 14 MiB in all here). ASan about doubles it (shadow
# memory, redzones, freed blocks held in quarantine).
mem_bound_kib() {
	if ldd "$BT_BIN/bt-seed" | grep -q libasan; then
		echo $((128 * 1024))
	else
		echo $((64 * 1024))
	fi
}

same_data() {
	cmp "$BATS_FILE_TMPDIR/data/multi/a.bin" "$1/multi/a.bin" &&
	    cmp "$BATS_FILE_TMPDIR/data/multi/sub/b.bin" "$1/multi/sub/b.bin"
}

@test "200 hostile connections at once: 3 libtorrent leechers get the same bytes, memory and descriptors stay bounded" {
	local s0 i max
	# 20 slots: the 40 slow readers hold them two rounds.
	seed_start -n -i 2 -s 20 "$T" "$BATS_FILE_TMPDIR/data"
	s0=$(sockets)
	fd_watch_start
	hostile -t 90 -n 200 -s "$LOAD_SEED" -b 127.0.0.3 many \
	    >"$BATS_TEST_TMPDIR/many.out" 3>&- &
	HOSTILE_PID=$!
	wait_for 30 grep -q '^connected 200$' "$BATS_TEST_TMPDIR/many.out"
	# They wait behind the slow readers for a slot, choked and silent
	# for longer than --idle: allowed, since they wait for us.
	run -0 leech_lt -n 3 -t 90 "$T" "$BATS_TEST_TMPDIR/out" "$SEED_PORT"
	assert_output "done 3"
	for i in 1 2 3; do
		same_data "$BATS_TEST_TMPDIR/out/$i"
	done
	# Every hostile connection is cut off, each kind for its limit.
	run -0 timeout 90 tail -s 0.1 --pid="$HOSTILE_PID" -f /dev/null
	run -0 wait "$HOSTILE_PID"
	HOSTILE_PID=
	run cat "$BATS_TEST_TMPDIR/many.out"
	assert_output "connected 200
idle 40 closed 40
mute 40 closed 40
slow 40 closed 40
flood 40 closed 40
garbage 40 closed 40"
	# The hostile ones come from 127.0.0.3, the honest from 127.0.0.1.
	run logged '^bt-seed: 127\.0\.0\.3 [0-9]+: limit BT_SEED_HANDSHAKE_MS \(2 s\): closed: no handshake in 2 s$'
	assert_output 40
	run logged '^bt-seed: 127\.0\.0\.3 [0-9]+: limit --idle \(2 s\): dropped: idle for 2 s \(0 bytes sent\)$'
	assert_output 40
	run logged '^bt-seed: 127\.0\.0\.3 [0-9]+: limit --idle \(2 s\): dropped: not reading: nothing sent for 2 s \([0-9]+ bytes sent\)$'
	assert_output 40
	run logged '^bt-seed: 127\.0\.0\.3 [0-9]+: limit (BT_SEED_MAX_CHOKED_REQUESTS \(2000\): dropped: 2001 requests while choked|BT_SEED_MAX_OVERFLOW \(64\): dropped: request flood: 64 past a full queue of 2000 requests) \([0-9]+ bytes sent\)$'
	assert_output 40
	run logged '^bt-seed: 127\.0\.0\.3 [0-9]+: limit BT_WIRE_MAX_MSG \(1048592 bytes\): dropped: message of [0-9]+ bytes \(0 bytes sent\)$'
	assert_output 40
	# Each one closed for a limit (a flood unchoked at once may also
	# have been told of the full queue first).
	run logged '^bt-seed: 127\.0\.0\.3 [0-9]+: limit [^:]*: (closed|dropped): '
	assert_output 200
	# No honest one is cut for a limit once served (one waiting for a
	# slot, choked, may be silent longer than --idle).
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit .*\([1-9][0-9]* bytes sent\)$'
	assert_output 0
	# Memory: a fixed bound, whatever the load.
	max=$(vmhwm)
	echo "VmHWM $max KiB"
	[ "$max" -lt "$(mem_bound_kib)" ]
	# Descriptors: at most the cap (BT_SEED_MAX_CONNS peers, 64 data
	# files, 16 more), most of the 200 open together, and every socket
	# closed again: none leaked.
	kill "$WATCH_PID"
	WATCH_PID=
	max=$(cat "$FDMAX")
	echo "descriptors: at most $max"
	[ "$max" -le $((500 + 64 + 16)) ]
	[ "$max" -ge $((s0 + 120)) ]
	wait_for 10 sockets_are "$s0"
	seed_stop
	assert_equal "$SEED_STATUS" 0
}

@test "under ulimit -n 64: connections over the lowered cap are closed at once, libtorrent still finishes, no descriptor runs out" {
	local s0 refused
	# 64 descriptors: 16 for the data files, 16 more, 32 peers.
	SEED_ULIMIT=64 seed_start -n -j -i 2 -r 1M "$T" \
	    "$BATS_FILE_TMPDIR/data"
	s0=$(sockets)
	fd_watch_start
	# At 1 MiB/s it takes 4 s: the wave comes while it downloads.
	leech_lt -t 90 "$T" "$BATS_TEST_TMPDIR/out" "$SEED_PORT" \
	    >"$BATS_TEST_TMPDIR/lt.out" 3>&- &
	LEECHER_PIDS+=("$!")
	wait_for 20 grep -q ': connected (in)$' "$SEED_LOG"
	run -0 hostile -t 60 -n 200 -s "$LOAD_SEED" -b 127.0.0.3 \
	    -m idle,mute,flood,garbage many
	assert_output "connected 200
idle 50 closed 50
mute 50 closed 50
flood 50 closed 50
garbage 50 closed 50"
	wait_for 90 grep -q '^done 1$' "$BATS_TEST_TMPDIR/lt.out"
	same_data "$BATS_TEST_TMPDIR/out"
	run logged '^bt-seed: limit BT_SEED_MAX_CONNS \(32 under RLIMIT_NOFILE 64\): more connections refused$'
	[ "$output" -ge 1 ]
	# The peer that got in when 31 slots were free: 169 refused at
	# least, at once (accepted and closed), never for want of a
	# descriptor.
	refused=$(logged '^bt-seed: connection refused: 32 peers already$')
	[ "$refused" -ge 169 ]
	run logged 'out of file descriptors'
	assert_output 0
	kill "$WATCH_PID"
	WATCH_PID=
	[ "$(cat "$FDMAX")" -le 64 ]
	# Still serving, and every descriptor back.
	run -0 hostile -t 20 get
	assert_output $'handshake\nunchoked\npiece 0 good'
	wait_for 10 sockets_are "$s0"
	seed_stop
	assert_equal "$SEED_STATUS" 0
	run jq .refused "$SEED_OUT"
	assert_output "$refused"
}

@test "descriptors a parent left open lower the cap too: 20 of 64 leave 16 peers" {
	# 64 - 16 (data files) - 16 (the rest, with 4 inherited) - 16.
	SEED_ULIMIT=64 SEED_FDS=20 seed_start -n -i 2 "$T" \
	    "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 30 -n 30 -m mute many
	assert_output $'connected 30\nmute 30 closed 30'
	run logged '^bt-seed: limit BT_SEED_MAX_CONNS \(16 under RLIMIT_NOFILE 64, 23 open at start\): more connections refused$'
	assert_output 1
	run logged '^bt-seed: connection refused: 16 peers already$'
	assert_output 14
	run logged 'out of file descriptors'
	assert_output 0
}

@test "out of descriptors to read the data: the peer is choked and told why in the log, no crash" {
	# ulimit -n 10: stdio, 5 of the seeder's own, the peer; the data
	# file needs two more (its folder, then itself).
	SEED_ULIMIT=10 SEED_FDS=0 seed_start -n -V "$T" \
	    "$BATS_FILE_TMPDIR/data"
	run -1 hostile -t 3 get
	assert_output $'handshake\nunchoked\nstill open after 3 s'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: out of file descriptors \(RLIMIT_NOFILE 10\) reading piece 0: choked for now$'
	[ "$output" -ge 1 ]
	seed_stop
	assert_equal "$SEED_STATUS" 0
}

@test "BT_SEED_MAX_CONNS: past 500 peers at once, connections are refused and the limit is named once" {
	[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ] ||
	    skip "the hard limit of descriptors is under 1024"
	ulimit -n 1024
	seed_start -n -i 2 "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 30 -n 520 -m mute many
	assert_output $'connected 520\nmute 520 closed 520'
	run logged '^bt-seed: limit BT_SEED_MAX_CONNS \(500\): more connections refused$'
	assert_output 1
	run logged '^bt-seed: connection refused: 500 peers already$'
	assert_output 20
	run logged ': limit --idle \(2 s\): dropped: idle for 2 s \(0 bytes sent\)$'
	assert_output 500
}

@test "BT_SEED_MAX_QUEUE: requests past a full queue of 2000 are ignored, the peer is kept" {
	# At 1 byte/s the seeder sends one batch (at most 4 blocks), then
	# nothing: the queue only fills. 2014 requests: at most 14 past it.
	seed_start -n -r 1 "$T" "$BATS_FILE_TMPDIR/data"
	run -1 hostile -t 2 -r 2014 queue
	assert_output $'handshake\nunchoked\nstill open after 2 s'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit BT_SEED_MAX_QUEUE \(2000\): queue full, more requests ignored$'
	assert_output 1
	run logged ': limit BT_SEED_MAX_OVERFLOW'
	assert_output 0
}

@test "BT_SEED_MAX_OVERFLOW: 64 requests past a full queue cut the peer off" {
	seed_start -n -r 1 "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 -r $((2000 + 4 + 64)) queue
	assert_output $'handshake\nunchoked\nclosed by peer'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit BT_SEED_MAX_OVERFLOW \(64\): dropped: request flood: 64 past a full queue of 2000 requests \([0-9]+ bytes sent\)$'
	assert_output 1
	seed_stop
	run tail -n 1 "$SEED_LOG"
	assert_regex "$output" '^bt-seed: [0-9]+ bytes up to [01] peers \(1 connected\), 65 of 65 pieces, '
}

@test "BT_SEED_MAX_BAD_REQUESTS: the fourth request out of range cuts the peer off" {
	seed_start -n -j "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 range
	assert_output $'handshake\nunchoked\nclosed by peer'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit BT_SEED_MAX_BAD_REQUESTS \(4\): dropped: request for piece 65 of 65 \(0 bytes sent\)$'
	assert_output 1
	seed_stop
	run jq -c '[.peers, .dropped]' "$SEED_OUT"
	assert_output "[1,1]"
}

@test "BT_SEED_MAX_CHOKED_REQUESTS: the 2001st request while choked cuts the peer off" {
	seed_start -n "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 choked
	assert_output $'handshake\nclosed by peer'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit BT_SEED_MAX_CHOKED_REQUESTS \(2000\): dropped: 2001 requests while choked \(0 bytes sent\)$'
	assert_output 1
}

@test "BT_WIRE_MAX_MSG: a message of that length is read, one byte longer cuts the peer off" {
	seed_start -n "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 -n 1 -m big many
	assert_output $'connected 1\nbig 1 closed 1'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit BT_WIRE_MAX_MSG \(1048592 bytes\): dropped: message of 1048593 bytes \(0 bytes sent\)$'
	assert_output 1
}

@test "BT_SEED_HANDSHAKE_MS, shortened by --idle: a peer that never shakes hands is closed" {
	seed_start -n -i 1 "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 -n 1 -m idle many
	assert_output $'connected 1\nidle 1 closed 1'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit BT_SEED_HANDSHAKE_MS \(1 s\): closed: no handshake in 1 s$'
	assert_output 1
}

@test "BT_SEED_CONNECT_MS, shortened by --idle: a peer that never answers the connect is given up" {
	local port
	"$BT_TOOLS/hostile-leecher" -t 30 blackhole "$T" 127.0.0.1 0 \
	    >"$BATS_TEST_TMPDIR/bh" 3>&- &
	LEECHER_PIDS+=("$!")
	wait_for 10 test -s "$BATS_TEST_TMPDIR/bh"
	port=$(cat "$BATS_TEST_TMPDIR/bh")
	echo "127.0.0.1 $port" >"$BATS_TEST_TMPDIR/peers"
	seed_start -n -i 1 -P "$BATS_TEST_TMPDIR/peers" "$T" \
	    "$BATS_FILE_TMPDIR/data"
	wait_for 20 grep -q 'connect: no answer' "$SEED_LOG"
	run logged "^bt-seed: 127\.0\.0\.1 $port: limit BT_SEED_CONNECT_MS \(1 s\): closed: connect: no answer in 1 s$"
	assert_output 1
}

@test "--idle: a peer silent after its handshake is cut off" {
	seed_start -n -i 1 "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 -n 1 -m mute many
	assert_output $'connected 1\nmute 1 closed 1'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit --idle \(1 s\): dropped: idle for 1 s \(0 bytes sent\)$'
	assert_output 1
}

@test "--idle: a peer that only sends keep-alives, never interested, is cut off" {
	seed_start -n -i 1 "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 keepalive
	assert_output $'handshake\nclosed by peer'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit --idle \(1 s\): dropped: not interested for 1 s \(0 bytes sent\)$'
	assert_output 1
}

@test "--idle: a slow reader that takes nothing of what it asked for is cut off" {
	seed_start -n -i 1 "$T" "$BATS_FILE_TMPDIR/data"
	run -0 hostile -t 20 -n 1 -m slow many
	assert_output $'connected 1\nslow 1 closed 1'
	run logged '^bt-seed: 127\.0\.0\.1 [0-9]+: limit --idle \(1 s\): dropped: not reading: nothing sent for 1 s \([0-9]+ bytes sent\)$'
	assert_output 1
}
