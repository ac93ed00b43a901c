#!/usr/bin/env bats
# bt-fetch-piece against real seeders (libtorrent, aria2, Transmission) and
# the hostile test peer, all on 127.0.0.1.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# One file with a short last piece, torrents of several piece sizes.
	mkdir -p "$d/single" "$d/multi/set/sub"
	rand_file "$d/single/data" $((3 * 1048576 + 12345))
	# mktorrent's smallest piece is 32 KiB: transmission-create does 16.
	transmission-create -s 16 -t http://127.0.0.1:1/announce \
	    -o "$d/p16k.torrent" "$d/single/data" >/dev/null
	mktorrent -l 18 -a http://127.0.0.1:1/announce -o "$d/p256k.torrent" \
	    "$d/single/data" >/dev/null
	rand_file "$d/single/big" $((5 * 1048576 + 777))
	mktorrent -l 22 -a http://127.0.0.1:1/announce -o "$d/p4m.torrent" \
	    "$d/single/big" >/dev/null
	# A multi-file torrent, with an empty file and a nested one.
	rand_file "$d/multi/set/a" 100000
	: >"$d/multi/set/empty"
	rand_file "$d/multi/set/sub/b" 700001
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o "$d/multi.torrent" \
	    "$d/multi/set" >/dev/null
	# 255 pieces of 16 KiB (one spare bit) for the hostile peers.
	rand_file "$d/single/h" $((255 * 16384 - 1000))
	transmission-create -s 16 -t http://127.0.0.1:1/announce \
	    -o "$d/h.torrent" "$d/single/h" >/dev/null

	# Seeders shared by the tests that only download, started at once.
	shared LT16 seed_lt "$d/p16k.torrent" "$d/single"
	shared LT256 seed_lt "$d/p256k.torrent" "$d/single"
	shared LT4M seed_lt "$d/p4m.torrent" "$d/single"
	shared LTMULTI seed_lt "$d/multi.torrent" "$d/multi"
	shared AR256 seed_aria2 "$d/p256k.torrent" "$d/single"
	shared TRMULTI seed_transmission "$d/multi.torrent" "$d/multi"
	# Slowed down, so that the hostile peer beside it has its chance.
	SEED_RATE=4000000 shared LTH seed_lt "$d/h.torrent" "$d/single"
	wait
	for n in LT16 LT256 LT4M LTMULTI AR256 TRMULTI LTH; do
		[ -s "$d/pid.$n" ] || { echo "seeder $n did not start" >&2; return 1; }
		export "$n=$(cat "$d/port.$n")"
	done
}

# shared NAME SEED_FUNCTION TORRENT DIR: start a seeder for the whole file,
# in the background; its port goes to port.NAME, its PID to pid.NAME.
shared() {
	local name=$1 port
	shift
	port=$(quick_free_port)
	echo "$port" >"$BATS_FILE_TMPDIR/port.$name"
	(
		SEEDERS_TMP=$BATS_FILE_TMPDIR/seeders
		"$@" "$port" && echo "$SEEDER_PID" >"$BATS_FILE_TMPDIR/pid.$name"
	) 3>&- &
}

teardown_file() {
	local f
	for f in "$BATS_FILE_TMPDIR"/pid.*; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for f in "$BATS_FILE_TMPDIR"/pid.*; do
		[ -s "$f" ] && timeout 10 tail --pid="$(cat "$f")" -f /dev/null
	done
	return 0
}

teardown() {
	seeders_stop
	opentracker_stop
	[ -n "${HOSTILE_PID:-}" ] && kill "$HOSTILE_PID" 2>/dev/null
	HOSTILE_PID=
	local p
	for p in ${HOSTILE_PIDS:-}; do
		kill "$p" 2>/dev/null
	done
	HOSTILE_PIDS=
	return 0
}

# Start the hostile peer: hostile [-6] MODE TORRENT DATA; sets HOSTILE_PORT.
hostile() {
	local six=
	[ "$1" = -6 ] && { six=-6; shift; }
	"$BT_TOOLS/hostile-peer" $six -m "$1" -t "$2" -f "$3" -l 60 \
	    >"$BATS_TEST_TMPDIR/hostile.port" 3>&- &
	HOSTILE_PID=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/hostile.port"
	HOSTILE_PORT=$(cat "$BATS_TEST_TMPDIR/hostile.port")
}

# The indices of a piece stream's pieces, one a line, in stream order,
# after checking that it starts with the torrent's exact bytes.
stream_indices() {
	python3 - "$1" "$2" <<-'EOF'
	import sys
	data = open(sys.argv[1], "rb").read()
	meta = open(sys.argv[2], "rb").read()
	def skip(b, i):
	    c = b[i:i+1]
	    if c == b"i":
	        return b.index(b"e", i) + 1
	    if c in (b"l", b"d"):
	        i += 1
	        while b[i:i+1] != b"e":
	            i = skip(b, i)
	        return i + 1
	    colon = b.index(b":", i)
	    return colon + 1 + int(b[i:colon])
	end = skip(data, 0)
	assert data[:end] == meta, "stream does not start with the torrent"
	i = end
	while i < len(data):
	    assert data[i:i+9] == b"d5:indexi", data[i:i+20]
	    j = data.index(b"e", i + 9)
	    print(int(data[i+9:j]))
	    i = skip(data, i)
	EOF
}

# 0 when FILE is larger than N bytes: size_over FILE N
size_over() {
	[ "$(stat -c %s "$1")" -gt "$2" ]
}

# Piece N of a file with piece length L: piece FILE L N
piece() {
	dd if="$1" bs="$2" skip="$3" count=1 2>/dev/null
}

@test "prints its usage and exits 64 without -i or -a" {
	run -64 --separate-stderr bt-fetch-piece -t x.torrent </dev/null
	assert_output ""
	[[ "$stderr" == "usage: bt-fetch-piece "* ]]
}

@test "exits 64 when neither -t nor a '# torrent' line names the torrent" {
	run -64 --separate-stderr bt-fetch-piece -i 0 <<<"127.0.0.1 1"
	[[ "$stderr" == *'bt-fetch-piece: no torrent: give -t FILE or a "# torrent" line'* ]]
}

@test "exits 64 when the torrent and the peer list would both be standard input" {
	run -64 --separate-stderr bt-fetch-piece -t - -a <<<"127.0.0.1 1"
	assert_equal "$stderr" "bt-fetch-piece: the torrent and the peer list cannot both come from standard input: give -p FILE or -t FILE"
}

@test "exits 66 when the torrent named by the peer list is missing" {
	run -66 --separate-stderr bt-fetch-piece -i 0 \
	    <<<$'# torrent /nonexistent/x.torrent\n127.0.0.1 1'
	[[ "$stderr" == "bt-fetch-piece: /nonexistent/x.torrent: "* ]]
}

@test "exits 64 for a piece past the last one" {
	run -64 --separate-stderr bt-fetch-piece -t "$BATS_FILE_TMPDIR/p256k.torrent" \
	    -i 0,13 <<<"127.0.0.1 1"
	assert_equal "$stderr" "bt-fetch-piece: -i 0,13: '13': out of range 0 to 12 (the torrent has 13 pieces)"
}

@test "exits 65 when the peer list is for another torrent" {
	run -65 --separate-stderr bt-fetch-piece -t "$BATS_FILE_TMPDIR/p256k.torrent" \
	    -i 0 <<<$'# info-hash 0000000000000000000000000000000000000000\n127.0.0.1 1'
	assert_equal "$stderr" "bt-fetch-piece: -: the peer list is for another torrent (info hash differs)"
}

@test "exits 69 naming the missing pieces when nothing listens at the peer's address" {
	port=$(quick_free_port)
	run -69 --separate-stderr bt-fetch-piece -q -t "$BATS_FILE_TMPDIR/p256k.torrent" \
	    -a <<<"127.0.0.1 $port"
	assert_equal "$stderr" "bt-fetch-piece: 13 of 13 pieces missing: no usable peer left (1 tried)"
}

@test "exits 69 when the only peer accepts and never says a thing" {
	hostile silent "$BATS_FILE_TMPDIR/p256k.torrent" "$BATS_FILE_TMPDIR/single/data"
	run -69 --separate-stderr bt-fetch-piece -q --handshake-timeout 1 \
	    -t "$BATS_FILE_TMPDIR/p256k.torrent" -i 2 <<<"127.0.0.1 $HOSTILE_PORT"
	assert_output ""
	assert_equal "$stderr" "bt-fetch-piece: 1 of 1 pieces missing: no usable peer left (1 tried)"
}

@test "exits 75 at --timeout when the only peer stalls" {
	hostile stall "$BATS_FILE_TMPDIR/p256k.torrent" "$BATS_FILE_TMPDIR/single/data"
	run -75 --separate-stderr bt-fetch-piece -q --timeout 2 \
	    -t "$BATS_FILE_TMPDIR/p256k.torrent" -i 2 <<<"127.0.0.1 $HOSTILE_PORT"
	assert_equal "$stderr" "bt-fetch-piece: timed out after 2 s: 1 of 1 pieces missing"
}

@test "-i 3 writes exactly the bytes of piece 3, from a libtorrent seeder" {
	d=$BATS_FILE_TMPDIR
	port=$LT16
	echo "127.0.0.1 $port" >"$BATS_TEST_TMPDIR/peers"
	bt-fetch-piece -t "$d/p16k.torrent" -i 3 -p "$BATS_TEST_TMPDIR/peers" \
	    >"$BATS_TEST_TMPDIR/p3"
	piece "$d/single/data" 16384 3 | cmp - "$BATS_TEST_TMPDIR/p3"
}

@test "the short last piece comes with its exact length" {
	d=$BATS_FILE_TMPDIR
	port=$LT256
	bt-fetch-piece -t "$d/p256k.torrent" -i 12 -o "$BATS_TEST_TMPDIR/last" \
	    <<<"127.0.0.1 $port"
	run stat -c %s "$BATS_TEST_TMPDIR/last"
	assert_output 12345
	piece "$d/single/data" 262144 12 | cmp - "$BATS_TEST_TMPDIR/last"
}

@test "-o FILE writes the piece there and nothing on standard output" {
	d=$BATS_FILE_TMPDIR
	port=$LT256
	run --separate-stderr bt-fetch-piece -t "$d/p256k.torrent" -i 5 \
	    -o "$BATS_TEST_TMPDIR/p5" <<<"127.0.0.1 $port"
	assert_success
	assert_output ""
	piece "$d/single/data" 262144 5 | cmp - "$BATS_TEST_TMPDIR/p5"
}

@test "-a streams the torrent then every piece, and bt-assemble rebuilds the file" {
	d=$BATS_FILE_TMPDIR
	port=$LT256
	# The torrent comes from the peer list's context line.
	printf '# torrent %s\n127.0.0.1 %s\n' "$d/p256k.torrent" "$port" |
	    bt-fetch-piece -a >"$BATS_TEST_TMPDIR/s"
	run stream_indices "$BATS_TEST_TMPDIR/s" "$d/p256k.torrent"
	assert_success
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "0 1 2 3 4 5 6 7 8 9 10 11 12 "
	bt-assemble -C "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "-i LIST streams exactly the listed pieces, --sequential in index order" {
	d=$BATS_FILE_TMPDIR
	port=$LT16
	bt-fetch-piece -t "$d/p16k.torrent" -i 0-9,42,100-102,5 --sequential \
	    <<<"127.0.0.1 $port" >"$BATS_TEST_TMPDIR/s"
	run stream_indices "$BATS_TEST_TMPDIR/s" "$d/p16k.torrent"
	assert_success
	assert_equal "$(tr '\n' ' ' <<<"$output")" "0 1 2 3 4 5 6 7 8 9 42 100 101 102 "
	bt-verify "$BATS_TEST_TMPDIR/s" >/dev/null
}

@test "--stream with one piece gives a piece stream, not raw bytes" {
	d=$BATS_FILE_TMPDIR
	port=$LT256
	bt-fetch-piece -t "$d/p256k.torrent" -i 7 --stream \
	    <<<"127.0.0.1 $port" >"$BATS_TEST_TMPDIR/s"
	run stream_indices "$BATS_TEST_TMPDIR/s" "$d/p256k.torrent"
	assert_output 7
}

@test "downloads 4 MiB pieces, the last one short" {
	d=$BATS_FILE_TMPDIR
	port=$LT4M
	bt-fetch-piece -t "$d/p4m.torrent" -a <<<"127.0.0.1 $port" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/big" "$BATS_TEST_TMPDIR/out/big"
}

@test "downloads a multi-file torrent byte-identical, empty file included" {
	d=$BATS_FILE_TMPDIR
	port=$LTMULTI
	bt-fetch-piece -t "$d/multi.torrent" -a <<<"127.0.0.1 $port" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	diff -r "$d/multi/set" "$BATS_TEST_TMPDIR/out/set"
}

@test "aria2 alone serves a full download byte-identical" {
	d=$BATS_FILE_TMPDIR
	port=$AR256
	bt-fetch-piece -t "$d/p256k.torrent" -a <<<"127.0.0.1 $port" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "Transmission alone serves a full download byte-identical" {
	d=$BATS_FILE_TMPDIR
	port=$TRMULTI
	bt-fetch-piece -t "$d/multi.torrent" -a --timeout 60 \
	    <<<"127.0.0.1 $port" | bt-assemble -C "$BATS_TEST_TMPDIR/out"
	diff -r "$d/multi/set" "$BATS_TEST_TMPDIR/out/set"
}

@test "downloads from several seeders at once, and -v counts those that served" {
	d=$BATS_FILE_TMPDIR
	p1=$(quick_free_port) p2=$(quick_free_port) p3=$(quick_free_port)
	# Slowed down, so that every one of them gets a share.
	SEED_RATE=2000000 seed_lt "$d/p16k.torrent" "$d/single" "$p1"
	SEED_RATE=2000000 seed_lt "$d/p16k.torrent" "$d/single" "$p2"
	SEED_RATE=2000000 seed_aria2 "$d/p16k.torrent" "$d/single" "$p3"
	printf '127.0.0.1 %s\n' "$p1" "$p2" "$p3" >"$BATS_TEST_TMPDIR/peers"
	bt-fetch-piece -v -t "$d/p16k.torrent" -a -p "$BATS_TEST_TMPDIR/peers" \
	    2>"$BATS_TEST_TMPDIR/err" | bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp '^bt-fetch-piece: 193/193 pieces, .* 3 peers tried, [23] served, 0 dropped, 0 hash failures$'
}

@test "a seeder killed in the middle: the other one finishes the download" {
	d=$BATS_FILE_TMPDIR
	p1=$(quick_free_port) p2=$(quick_free_port)
	SEED_RATE=2000000 seed_lt "$d/p16k.torrent" "$d/single" "$p1"
	victim=$SEEDER_PID
	SEED_RATE=2000000 seed_lt "$d/p16k.torrent" "$d/single" "$p2"
	printf '127.0.0.1 %s\n' "$p1" "$p2" |
	    bt-fetch-piece -t "$d/p16k.torrent" -a >"$BATS_TEST_TMPDIR/s" 3>&- &
	fetch=$!
	# Kill it once the download is under way.
	wait_for 20 size_over "$BATS_TEST_TMPDIR/s" 500000
	kill -9 "$victim"
	wait "$fetch"
	bt-assemble -C "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/s"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "a peer that closes midway has its blocks asked of another peer" {
	d=$BATS_FILE_TMPDIR
	hostile die "$d/h.torrent" "$d/single/h"
	port=$LTH
	printf '127.0.0.1 %s\n' "$HOSTILE_PORT" "$port" |
	    bt-fetch-piece -t "$d/h.torrent" -a |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/h" "$BATS_TEST_TMPDIR/out/h"
}

@test "a peer that never answers beside a seeder does not stop the download" {
	d=$BATS_FILE_TMPDIR
	hostile silent "$d/p256k.torrent" "$d/single/data"
	port=$LT256 dead=$(quick_free_port)
	printf '127.0.0.1 %s\n' "$HOSTILE_PORT" "$dead" "$port" |
	    bt-fetch-piece -t "$d/p256k.torrent" -a |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "tolerates extension, port, suggest, unknown messages and keep-alives" {
	d=$BATS_FILE_TMPDIR
	hostile noisy "$d/p256k.torrent" "$d/single/data"
	bt-fetch-piece -t "$d/p256k.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "downloads from a peer on IPv6 (::1)" {
	d=$BATS_FILE_TMPDIR
	hostile -6 honest "$d/p256k.torrent" "$d/single/data"
	bt-fetch-piece -t "$d/p256k.torrent" -a <<<"::1 $HOSTILE_PORT" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "takes have all (BEP 6) from a peer that speaks the fast extension" {
	d=$BATS_FILE_TMPDIR
	hostile haveall "$d/p256k.torrent" "$d/single/data"
	bt-fetch-piece -t "$d/p256k.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "takes have none then have messages from a fast extension peer" {
	d=$BATS_FILE_TMPDIR
	hostile havenone "$d/p256k.torrent" "$d/single/data"
	bt-fetch-piece -t "$d/p256k.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
}

@test "refuses a peer that answers with our own peer id" {
	hostile self "$BATS_FILE_TMPDIR/p256k.torrent" "$BATS_FILE_TMPDIR/single/data"
	run -69 --separate-stderr bt-fetch-piece -v -t "$BATS_FILE_TMPDIR/p256k.torrent" \
	    -i 1 <<<"127.0.0.1 $HOSTILE_PORT"
	[[ "$stderr" == *"bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: handshake: our own peer id (connected to ourselves)"* ]]
}

# hostile_beside MODE "EXPECTED LINE": the hostile peer and the slowed
# libtorrent seeder $LTH; the download must be byte-identical and -v must say
# that the hostile peer was dropped, and why.
hostile_beside() {
	local d=$BATS_FILE_TMPDIR port
	hostile "$1" "$d/h.torrent" "$d/single/h"
	port=$LTH
	printf '127.0.0.1 %s\n' "$HOSTILE_PORT" "$port" |
	    bt-fetch-piece -v -t "$d/h.torrent" -a 2>"$BATS_TEST_TMPDIR/err" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/h" "$BATS_TEST_TMPDIR/out/h"
	run grep -F "127.0.0.1 $HOSTILE_PORT:" "$BATS_TEST_TMPDIR/err"
	assert_output "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: $2"
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp "^bt-fetch-piece: 255/255 pieces, .* 1 dropped, "
}

@test "a peer sending corrupt blocks is banned; the download completes" {
	hostile_beside corrupt "banned: 3 pieces failed their SHA-1 (limit BT_SWARM_BAN_HASHFAILS)"
	run tail -1 "$BATS_TEST_TMPDIR/err"
	# At least the 3 that banned it: pieces already being hashed count too.
	assert_output --regexp " ([3-9]|[1-9][0-9]+) hash failures$"
}

@test "a peer sending blocks never asked for is banned" {
	hostile_beside unasked "banned: 16 blocks never asked for, or of a wrong offset or length (limit BT_SWARM_BAN_BADBLOCKS)"
}

@test "a peer sending blocks of the wrong length is banned" {
	hostile_beside wronglen "banned: 16 blocks never asked for, or of a wrong offset or length (limit BT_SWARM_BAN_BADBLOCKS)"
}

@test "a length prefix over the limit drops the peer before reading it" {
	hostile_beside oversize "limit BT_WIRE_MAX_MSG (1048592 bytes): dropped: message of 268435456 bytes (0 bytes sent)"
}

@test "a bitfield with spare bits set drops the peer" {
	hostile_beside spare "bitfield with spare bits set"
}

@test "a bitfield of the wrong length drops the peer" {
	hostile_beside badlen "bitfield of 33 bytes for 255 pieces"
}

@test "a have past the last piece drops the peer" {
	hostile_beside badhave "have of piece 255 past the last (254)"
}

@test "a peer with another torrent's info hash is dropped" {
	hostile_beside wronghash "handshake: another torrent's info hash"
}

@test "have all from a peer without the fast extension bit drops it (BEP 6)" {
	hostile_beside haveall-nofast "have all without the fast extension (BEP 6)"
}

@test "an extension handshake (BEP 10) that is not a dict drops the peer" {
	hostile_beside badext "extension handshake: not a dict"
}

@test "an extended message over BT_EXT_MAX_HANDSHAKE drops the peer before it is read" {
	hostile_beside bigext "limit BT_EXT_MAX_HANDSHAKE (65536 bytes): dropped: extension handshake of 70000 bytes (0 bytes sent)"
}

@test "a fast extension peer sending rejects of blocks never asked for is banned" {
	hostile_beside rejectunasked "banned: 16 rejects or blocks never asked for (limit BT_SWARM_BAN_BADBLOCKS)"
}

@test "a peer that stalls after unchoking is snubbed and its blocks fetched elsewhere" {
	d=$BATS_FILE_TMPDIR
	hostile stall "$d/h.torrent" "$d/single/h"
	port=$(quick_free_port)
	# Its own seeder, slow enough for the download to outlast the snub.
	SEED_RATE=1500000 seed_lt "$d/h.torrent" "$d/single" "$port"
	printf '127.0.0.1 %s\n' "$HOSTILE_PORT" "$port" |
	    bt-fetch-piece -vv --snub-timeout 1 -t "$d/h.torrent" -i 0-127 \
	    2>"$BATS_TEST_TMPDIR/err" >"$BATS_TEST_TMPDIR/s"
	run stream_indices "$BATS_TEST_TMPDIR/s" "$d/h.torrent"
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "$(seq -s ' ' 0 127) "
	bt-verify "$BATS_TEST_TMPDIR/s" >/dev/null
	run grep -F "127.0.0.1 $HOSTILE_PORT: snubbed" "$BATS_TEST_TMPDIR/err"
	assert_output "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: snubbed: no block in 1000 ms (limit BT_SWARM_SNUB_MS)"
}

# 0 when the tracker lists the seeder on PORT: seeder_listed TORRENT PORT
seeder_listed() {
	bt-announce "$1" | bt-peers | grep -qx "127.0.0.1 $2"
}

@test "bt-announce | bt-peers | bt-fetch-piece -i 3 gives the exact bytes of piece 3" {
	d=$BATS_TEST_TMPDIR
	rand_file "$d/data" 1000000
	# The info hash does not depend on the announce URL: whitelist it,
	# start the tracker, then make the torrent again naming it.
	mktorrent -l 16 -a http://127.0.0.1:1/announce -o "$d/x.torrent" \
	    "$d/data" >/dev/null
	info_hash_of "$d/x.torrent" >"$d/hashes"
	opentracker_start "$d/hashes"
	mktorrent -l 16 -a "$OT_ANNOUNCE" -o "$d/f.torrent" "$d/data" >/dev/null
	port=$(quick_free_port)
	SEED_ANNOUNCE=1 seed_lt "$d/f.torrent" "$d" "$port"
	cd "$d"
	wait_for 20 seeder_listed f.torrent "$port"
	bt-announce f.torrent | bt-peers | bt-fetch-piece -i 3 >p3
	piece data 65536 3 | cmp - p3
}

# ---- BEP 6 fast extension, BEP 10 extension protocol, BEP 11 PEX ----------

# hostile_alone_ok MODE ARGS...: the hostile peer alone on h.torrent; the
# pieces bt-fetch-piece ARGS fetches from it must verify; -vv in err.
hostile_alone_ok() {
	local d=$BATS_FILE_TMPDIR mode=$1
	shift
	hostile "$mode" "$d/h.torrent" "$d/single/h"
	bt-fetch-piece -vv -t "$d/h.torrent" "$@" \
	    <<<"127.0.0.1 $HOSTILE_PORT" 2>"$BATS_TEST_TMPDIR/err" \
	    >"$BATS_TEST_TMPDIR/s"
	bt-verify "$BATS_TEST_TMPDIR/s" >/dev/null
}

@test "speaks the fast extension and the extension protocol with libtorrent, and neither with a peer that sets no bit" {
	d=$BATS_FILE_TMPDIR
	port=$LT256
	bt-fetch-piece -vv -t "$d/p256k.torrent" -i 4 -o "$BATS_TEST_TMPDIR/p4" \
	    <<<"127.0.0.1 $port" 2>"$BATS_TEST_TMPDIR/err"
	piece "$d/single/data" 262144 4 | cmp - "$BATS_TEST_TMPDIR/p4"
	run grep -F "127.0.0.1 $port:" "$BATS_TEST_TMPDIR/err"
	assert_line --index 0 "bt-fetch-piece: 127.0.0.1 $port: handshake done (fast extension, extension protocol)"
	assert_line --index 1 --regexp "^bt-fetch-piece: 127.0.0.1 $port: extension handshake: client \"libtorrent/2\.[0-9.]+\", ut_pex, reqq [0-9]+$"
	hostile honest "$d/p256k.torrent" "$d/single/data"
	bt-fetch-piece -vv -t "$d/p256k.torrent" -i 4 -o "$BATS_TEST_TMPDIR/q4" \
	    <<<"127.0.0.1 $HOSTILE_PORT" 2>"$BATS_TEST_TMPDIR/err"
	cmp "$BATS_TEST_TMPDIR/p4" "$BATS_TEST_TMPDIR/q4"
	run grep -F "127.0.0.1 $HOSTILE_PORT:" "$BATS_TEST_TMPDIR/err"
	assert_output "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: handshake done"
}

@test "a peer that rejects every request once still serves the whole download" {
	hostile_alone_ok reject -a
	run stream_indices "$BATS_TEST_TMPDIR/s" "$BATS_FILE_TMPDIR/h.torrent"
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "$(seq -s ' ' 0 254) "
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp '^bt-fetch-piece: 255/255 pieces, .* 1 served, 0 dropped, 0 hash failures$'
}

@test "a fast peer that chokes and rejects what was asked: the blocks are asked again" {
	hostile_alone_ok chokereject -i 0-63
	run stream_indices "$BATS_TEST_TMPDIR/s" "$BATS_FILE_TMPDIR/h.torrent"
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "$(seq -s ' ' 0 63) "
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp ' 1 served, 0 dropped, 0 hash failures$'
}

@test "a fast peer that chokes and still serves what was asked is not taken for sending blocks never asked for" {
	hostile_alone_ok chokeserve -i 0-63
	run stream_indices "$BATS_TEST_TMPDIR/s" "$BATS_FILE_TMPDIR/h.torrent"
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "$(seq -s ' ' 0 63) "
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp ' 1 served, 0 dropped, 0 hash failures$'
}

@test "pieces of a peer's allowed fast set come while it chokes us, and no others" {
	hostile_alone_ok allowfast -i 2,5,9
	run stream_indices "$BATS_TEST_TMPDIR/s" "$BATS_FILE_TMPDIR/h.torrent"
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "2 5 9 "
	d=$BATS_FILE_TMPDIR
	run -75 --separate-stderr bt-fetch-piece -q --timeout 2 \
	    -t "$d/h.torrent" -i 9,10 -o /dev/null <<<"127.0.0.1 $HOSTILE_PORT"
	assert_equal "$stderr" "bt-fetch-piece: timed out after 2 s: 1 of 2 pieces missing"
}

@test "BEP 6 suggest: the pieces a peer suggests are asked for first, the latest first" {
	d=$BATS_FILE_TMPDIR
	# It suggests 200, 13, then 150; rarest first alone would start
	# elsewhere (every piece is as rare as the others).
	hostile suggest "$d/h.torrent" "$d/single/h"
	bt-fetch-piece -t "$d/h.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/h" "$BATS_TEST_TMPDIR/out/h"
	# Its report after the port line: a line a request, in order (a
	# piece is one block here).
	run sed -n '2,4p' "$BATS_TEST_TMPDIR/hostile.port"
	assert_output "asked for piece 150
asked for piece 13
asked for piece 200"
	assert_equal "$(sed 1d "$BATS_TEST_TMPDIR/hostile.port" | wc -l)" 255
}

@test "PEX: given one libtorrent seeder, learns the two others from it, dials them and downloads from all three; --pex-out lists them" {
	d=$BATS_FILE_TMPDIR
	p1=$(quick_free_port) p2=$(quick_free_port) p3=$(quick_free_port)
	seed_lt "$d/p16k.torrent" "$d/single" "$p2"
	seed_lt "$d/p16k.torrent" "$d/single" "$p3"
	# The one we know is slow and connected to the other two, so that its
	# first ut_pex message (sent within seconds) names them.
	SEED_RATE=300000 LT_SEED_CONNECT="$p2,$p3" \
	    seed_lt "$d/p16k.torrent" "$d/single" "$p1"
	# --no-upload: this is the download engine's PEX. Listening, it
	# would have the other two dial it first (they learn its port from
	# the first one), before any ut_pex message names them.
	bt-fetch-piece -vv --no-upload --pex-out "$BATS_TEST_TMPDIR/pex" \
	    -t "$d/p16k.torrent" -a <<<"127.0.0.1 $p1" \
	    2>"$BATS_TEST_TMPDIR/err" | bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/data" "$BATS_TEST_TMPDIR/out/data"
	run cat "$BATS_TEST_TMPDIR/pex"
	assert_line --index 0 "# info-hash $(info_hash_of "$d/p16k.torrent")"
	assert_equal "$(sed 1d "$BATS_TEST_TMPDIR/pex" | sort)" "$(printf '127.0.0.1 %s\n' "$p2" "$p3" | sort)"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_line "bt-fetch-piece: 127.0.0.1 $p1: PEX: learned 127.0.0.1 $p2 (seed)"
	assert_line "bt-fetch-piece: 127.0.0.1 $p1: PEX: learned 127.0.0.1 $p3 (seed)"
	assert_line "bt-fetch-piece: 127.0.0.1 $p2: handshake done (fast extension, extension protocol)"
	assert_line "bt-fetch-piece: 127.0.0.1 $p3: handshake done (fast extension, extension protocol)"
	run tail -1 "$BATS_TEST_TMPDIR/err"
	assert_output --regexp '^bt-fetch-piece: 193/193 pieces, .* 3 peers tried, 3 served, 0 dropped, 0 hash failures$'
	# The file is a peer list: bt-fetch-piece takes it as it is.
	bt-fetch-piece -t "$d/p16k.torrent" -i 7 -p "$BATS_TEST_TMPDIR/pex" |
	    cmp - <(piece "$d/single/data" 16384 7)
}

@test "PEX from a hostile peer: unusable addresses, peers past BT_PEX_MAX_MSG_PEERS and a message too soon are not dialled" {
	d=$BATS_FILE_TMPDIR
	hostile pex "$d/h.torrent" "$d/single/h"
	bt-fetch-piece -vv --pex-out "$BATS_TEST_TMPDIR/pex" -t "$d/h.torrent" \
	    -a <<<"127.0.0.1 $HOSTILE_PORT" 2>"$BATS_TEST_TMPDIR/err" |
	    bt-assemble -C "$BATS_TEST_TMPDIR/out"
	cmp "$d/single/h" "$BATS_TEST_TMPDIR/out/h"
	run bash -c "grep -F '127.0.0.1 $HOSTILE_PORT:' '$BATS_TEST_TMPDIR/err' |
	    grep -v ': PEX: learned '"
	assert_line --index 0 "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: handshake done (fast extension, extension protocol)"
	assert_line --index 1 "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: extension handshake: client \"hostile\", ut_pex"
	assert_line --index 2 "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: PEX: 2 unusable addresses not dialled"
	assert_line --index 3 "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: ut_pex message: 50 peers past the first 200 ignored (limit BT_PEX_MAX_MSG_PEERS)"
	assert_line --index 4 --regexp "^bt-fetch-piece: 127\.0\.0\.1 $HOSTILE_PORT: ut_pex message [0-9]+ ms after the last one ignored \(limit BT_PEX_MIN_INTERVAL_MS\)$"
	# 200 kept, 2 of them unusable: 198 learned, each once in the file.
	run grep -c ": PEX: learned 127\.1\.[0-9]*\.[0-9]* [0-9]*$" "$BATS_TEST_TMPDIR/err"
	assert_output 198
	run bash -c "sed 1d '$BATS_TEST_TMPDIR/pex' | grep -c '^127\.1\.[0-9]*\.[0-9]* [0-9]*$'"
	assert_output 198
	assert_equal "$(sed 1d "$BATS_TEST_TMPDIR/pex" | sort -u | wc -l)" 198
}

@test "PEX dropped: a peer named as dropped before its turn to be dialled is dialled all the same, and serves" {
	local d=$BATS_FILE_TMPDIR t=$BATS_TEST_TMPDIR a x
	# X, an honest seeder that only A names.
	hostile honest "$d/h.torrent" "$d/single/h"
	x=$HOSTILE_PORT
	HOSTILE_PIDS=$HOSTILE_PID
	# A names X as added at once, as dropped 31 s later (past
	# BT_PEX_MIN_INTERVAL_MS); it never unchokes.
	"$BT_TOOLS/hostile-peer" -m pexdrop -x "$x" -t "$d/h.torrent" \
	    -f "$d/single/h" -l 60 >"$t/a.port" 3>&- &
	HOSTILE_PID=$!
	wait_for 10 test -s "$t/a.port"
	a=$(cat "$t/a.port")
	# Four listed peers that never answer a handshake hold for 34 s the
	# four connects in progress that a descriptor limit of 100 leaves
	# (BT_SWARM_MAX_HALFOPEN): X waits its turn past A's dropped.
	"$BT_TOOLS/deadpeers" -l 120 -c 4 >"$t/dead.out" 3>&- &
	HOSTILE_PIDS="$HOSTILE_PIDS $!"
	wait_for 30 grep -qx '# ready' "$t/dead.out"
	{ echo "127.0.0.1 $a"; grep -v '^#' "$t/dead.out"; } >"$t/peers"
	(
		ulimit -n 100 &&
		    exec bt-fetch-piece -vv --handshake-timeout 34 --timeout 60 \
		    --pex-out "$t/pex" -t "$d/h.torrent" -a -p "$t/peers"
	) 2>"$t/err" | bt-assemble -C "$t/out"
	cmp "$d/single/h" "$t/out/h"
	run sed 1d "$t/pex"
	assert_output "127.0.0.1 $x"
	run grep -F -e "127.0.0.1 $a: PEX" -e "127.0.0.1 $x:" "$t/err"
	assert_output "bt-fetch-piece: 127.0.0.1 $a: PEX: learned 127.0.0.1 $x
bt-fetch-piece: 127.0.0.1 $a: PEX: 127.0.0.1 $x dropped before we dialled it: dialled all the same
bt-fetch-piece: 127.0.0.1 $x: handshake done"
	run cat "$t/err"
	assert_line "bt-fetch-piece: 4 connects and handshakes in progress: more listed peers wait (limit BT_SWARM_MAX_HALFOPEN)"
	assert_line --regexp '^bt-fetch-piece: 255/255 pieces, .* 4 timed out of 6 peers tried, 1 served, 0 dropped, 0 hash failures$'
}

@test "BT_PEX_MAX_PEERS: at most 1000 peers learned through PEX in a run, and -v names the limit" {
	d=$BATS_FILE_TMPDIR
	: >"$BATS_TEST_TMPDIR/peers"
	for i in 1 2 3 4 5 6; do
		"$BT_TOOLS/hostile-peer" -m pexchoke -t "$d/h.torrent" \
		    -f "$d/single/h" -l 60 >"$BATS_TEST_TMPDIR/port.$i" 3>&- &
		HOSTILE_PIDS="${HOSTILE_PIDS:-} $!"
		wait_for 10 test -s "$BATS_TEST_TMPDIR/port.$i"
		echo "127.0.0.1 $(cat "$BATS_TEST_TMPDIR/port.$i")" >>"$BATS_TEST_TMPDIR/peers"
	done
	# They choke us: the run ends at the idle timeout.
	run -69 --separate-stderr bt-fetch-piece -v --idle-timeout 1 \
	    --pex-out "$BATS_TEST_TMPDIR/pex" -t "$d/h.torrent" -a \
	    -o /dev/null -p "$BATS_TEST_TMPDIR/peers"
	run printf '%s\n' "$stderr"
	assert_line "bt-fetch-piece: 1000 peers learned through PEX: more are ignored (limit BT_PEX_MAX_PEERS)"
	assert_equal "$(sed 1d "$BATS_TEST_TMPDIR/pex" | sort -u | wc -l)" 1000
	assert_line --regexp "^bt-fetch-piece: 0/255 pieces, .* 1006 peers tried, "
}

# BEP 9: bt-fetch-piece serves the metadata to the peers it dials.

# The bytes of a torrent's info dictionary (the metadata): info_dict FILE
info_dict() {
	/usr/bin/python3 -c 'import sys
sys.path.insert(0, sys.argv[1])
import torrent
raw = open(sys.argv[2], "rb").read()
i = raw.index(b"4:info") + 6
sys.stdout.buffer.write(raw[i:torrent.bdecode(raw, i)[1]])' \
	    "$top/tests/helpers" "$1"
}

# hostile_md MODE TORRENT DATA: a hostile peer writing the ut_metadata
# messages it gets to $BATS_TEST_TMPDIR/md; sets HOSTILE_PORT.
hostile_md() {
	"$BT_TOOLS/hostile-peer" -m "$1" -t "$2" -f "$3" -l 60 \
	    -o "$BATS_TEST_TMPDIR/md" >"$BATS_TEST_TMPDIR/hostile.port" 3>&- &
	HOSTILE_PID=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/hostile.port"
	HOSTILE_PORT=$(cat "$BATS_TEST_TMPDIR/hostile.port")
}

@test "a libtorrent peer given only the magnet link gets the metadata from bt-fetch-piece, which downloads from a seeder beside it" {
	local d=$BATS_FILE_TMPDIR t=$BATS_TEST_TMPDIR ih sport lport len
	ih=$(info_hash_of "$d/h.torrent")
	sport=$(quick_free_port)
	# Slowed down: the download lasts while the metadata goes out.
	SEED_RATE=1000000 seed_lt "$d/h.torrent" "$d/single" "$sport"
	lport=$(quick_free_port)
	mkdir "$t/lt"
	/usr/bin/python3 "$top/tests/tools/lt-leech.py" -t 60 -l "$lport" \
	    -m "$t/info" "magnet:?xt=urn:btih:$ih" "$t/lt" >"$t/leech.log" \
	    2>&1 3>&- &
	HOSTILE_PIDS="${HOSTILE_PIDS:-} $!"
	wait_for 30 grep -qx ready "$t/leech.log"
	printf '127.0.0.1 %s\n' "$lport" "$sport" |
	    bt-fetch-piece -vv -t "$d/h.torrent" -a 2>"$t/err" |
	    bt-assemble -C "$t/out"
	cmp "$d/single/h" "$t/out/h"
	wait_for 10 grep -qx 'metadata received' "$t/leech.log"
	info_dict "$d/h.torrent" >"$t/want"
	cmp "$t/want" "$t/info"
	len=$(stat -c %s "$t/want")
	run grep -F "127.0.0.1 $lport: metadata" "$t/err"
	assert_output "bt-fetch-piece: 127.0.0.1 $lport: metadata sent ($len bytes)"
	run tail -1 "$t/err"
	assert_output --regexp "^bt-fetch-piece: 255/255 pieces, .* of 2 peers tried, 1 served, 0 dropped, "
}

@test "answers ut_metadata requests with the exact bytes of the info dict, and a piece past the last with a reject" {
	local d=$BATS_FILE_TMPDIR t=$BATS_TEST_TMPDIR len
	hostile_md mdask "$d/h.torrent" "$d/single/h"
	bt-fetch-piece -vv -t "$d/h.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" \
	    2>"$t/err" | bt-assemble -C "$t/out"
	cmp "$d/single/h" "$t/out/h"
	info_dict "$d/h.torrent" >"$t/info"
	len=$(stat -c %s "$t/info")
	{
		printf 'd8:msg_typei1e5:piecei0e10:total_sizei%see' "$len"
		cat "$t/info"
		printf 'd8:msg_typei2e5:piecei1ee'
	} >"$t/want"
	cmp "$t/want" "$t/md"
	run grep -F "127.0.0.1 $HOSTILE_PORT: " "$t/err"
	assert_line "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: metadata sent ($len bytes)"
	assert_line "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: ut_metadata request for piece 1 past the last (0): rejected"
}

@test "metadata of two pieces: 16 KiB, the rest, then a reject of piece 2" {
	local t=$BATS_TEST_TMPDIR i len
	# 300 files of the same 1000 bytes, with long names: an info dict
	# over 16 KiB, and the data is any order of the files.
	local name=file-with-a-long-name-to-make-the-info-dict-big
	mkdir -p "$t/set"
	rand_file "$t/one" 1000
	for i in $(seq 100 399); do
		cp "$t/one" "$t/set/$name-$i"
	done
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o "$t/big.torrent" \
	    "$t/set" >/dev/null
	for i in $(seq 100 399); do cat "$t/one"; done >"$t/all"
	info_dict "$t/big.torrent" >"$t/info"
	len=$(stat -c %s "$t/info")
	[ "$len" -gt 16384 ] && [ "$len" -le 32768 ]
	hostile_md mdask "$t/big.torrent" "$t/all"
	bt-fetch-piece -t "$t/big.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" |
	    bt-assemble -C "$t/out"
	diff -r "$t/set" "$t/out/set"
	{
		printf 'd8:msg_typei1e5:piecei0e10:total_sizei%see' "$len"
		head -c 16384 "$t/info"
		printf 'd8:msg_typei1e5:piecei1e10:total_sizei%see' "$len"
		tail -c +16385 "$t/info"
		printf 'd8:msg_typei2e5:piecei2ee'
	} >"$t/want"
	cmp "$t/want" "$t/md"
}

@test "a ut_metadata request flood drops the peer, naming BT_SEED_MD_ASKS" {
	hostile_beside mdflood "limit BT_SEED_MD_ASKS (4): dropped: ut_metadata request flood: 5 requests for 1 piece of metadata (0 bytes sent)"
}

@test "a ut_metadata message without msg_type drops the peer" {
	hostile_beside mdbad "ut_metadata: no integer msg_type"
}

@test "a ut_metadata message over BT_SEED_MD_MAX_MSG drops the peer before it is read" {
	hostile_beside mdbig "limit BT_SEED_MD_MAX_MSG (1024 bytes): dropped: ut_metadata message of 2000 bytes (0 bytes sent)"
}

@test "a ut_metadata message of an unknown type is ignored (BEP 9)" {
	local d=$BATS_FILE_TMPDIR t=$BATS_TEST_TMPDIR
	hostile mdunknown "$d/h.torrent" "$d/single/h"
	bt-fetch-piece -vv -t "$d/h.torrent" -a <<<"127.0.0.1 $HOSTILE_PORT" \
	    2>"$t/err" | bt-assemble -C "$t/out"
	cmp "$d/single/h" "$t/out/h"
	run grep -F "127.0.0.1 $HOSTILE_PORT: ignored" "$t/err"
	assert_output "bt-fetch-piece: 127.0.0.1 $HOSTILE_PORT: ignored: ut_metadata: unknown msg_type 7"
	run tail -1 "$t/err"
	assert_output --regexp " 0 dropped, "
}
