#!/usr/bin/env bats
# Every limit of lib/btlimits.h on what bt PARSES (bencode, torrents,
# tracker answers, peer lists, piece streams, JSON), hit through the
# programs: one over the limit fails with the message naming it and the
# documented status; where cheap, exactly at the limit passes. Inputs are
# built at test time (tests/helpers/limits.bash), big ones through pipes.
#
# Where each limit is tested (this file unless said):
#   BT_BENCODE_MAX_DEPTH	"bencode: 100 nested lists ..." and
#				"bencode: 101 nested lists ..."; 100000 deep:
#				bt-decode.bats "rejects nesting 100000 deep ..."
#   BT_BENCODE_MAX_TOKENS	"bencode: 4,000,000 values ..." and
#				"bencode: 4,000,001 values ..."
#   BT_TORRENT_MAX_BYTES	"torrent: exactly BT_TORRENT_MAX_BYTES ..." and
#				"torrent: one byte over BT_TORRENT_MAX_BYTES ..."
#   BT_MAX_PIECES		"torrent: exactly BT_TORRENT_MAX_BYTES ..."
#				(2^22 pieces) and "torrent: 2^22 + 1 pieces ..."
#   BT_MAX_PIECE_LENGTH		"torrent: a piece length of 64 MiB ..."
#   BT_MAX_FILES		"torrent: 500,000 files, BT_MAX_FILES, ..."
#   BT_MAX_PATH_DEPTH		"torrent: a path 64 deep ..."; bt-create.bats
#   BT_MAX_PATH_BYTES		"torrent: a path of 4096 bytes ..."
#   BT_MAX_NAME_BYTES		"torrent: a path component of 255 bytes ..."
#   BT_MAX_TRACKERS		"torrent: 201 trackers ..."
#   BT_SEQ_MAX_VALUE		"piece stream: a value over BT_SEQ_MAX_VALUE ..."
#				"bt-decode: a value one byte over ..."
#				"bt-encode: a bencoded value over ..."
#   BT_JSON_MAX_DEPTH		"JSON: 100 nested arrays ..."; 100000 deep:
#				bt-encode.bats "refuses nesting 100000 deep ..."
#   BT_JSON_MAX_VALUE		"JSON: a value of exactly BT_JSON_MAX_VALUE ..."
#   BT_TRACKER_MAX_ANSWER	"tracker: an answer of exactly 1 MiB ...",
#				"tracker: a gzip bomb ...", 100 MiB body:
#				bt-announce.bats "a 100 MiB answer is cut ..."
#   BT_TRACKER_MAX_PEERS	"tracker: 10,001 peers ...", "UDP: a full
#				datagram ..."
#   BT_TRACKER_MAX_RECORD	"bt-peers: an answer record over ..."
#   BT_PEERS_MAX_TOTAL		"bt-peers: 1,010,000 distinct peers ..."
#   BT_TRACKER_MAX_TEXT		"tracker: a failure reason of 201 bytes ...";
#				UDP error text: tests/unit/test_limits.c
#   BT_TRACKER_MAX_HOST		"tracker: a dictionary peer whose ip ...",
#				"UDP: a tracker host over ..."
#   BT_TRACKER_MAX_URL		bt-announce.bats "a tracker URL longer than ..."
#   BT_TRACKER_MAX_REDIRECTS	bt-announce.bats "a redirect loop stops ..."
#   BT_UDP_MAX_PACKET		"UDP: a full datagram ..."
#   BT_UDP_MAX_RETRIES		"UDP: --retries over BT_UDP_MAX_RETRIES ..."
#   BT_UDP_RETRIES,		bt-announce.bats "UDP: a tracker that never
#   BT_TRACKER_TIMEOUT		replies ...", "an HTTP tracker that never
#				answers times out ..." (-t and -r given; the
#				defaults are 15 s and 2: too slow for a test)

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	rand_file "$d/data.bin" 100000
	mktorrent -l 15 -o "$d/t.torrent" "$d/data.bin" >/dev/null
}

teardown() {
	hostile_stop || true
}

# bencode

@test "bencode: 100 nested lists, BT_BENCODE_MAX_DEPTH, are read" {
	local l e
	l=$(printf 'l%.0s' {1..100})
	e=$(printf 'e%.0s' {1..100})
	run -0 bash -c "printf %s '$l$e' | bt-decode"
	assert_output "$(printf '[%.0s' {1..100})$(printf ']%.0s' {1..100})"
}

@test "bencode: 101 nested lists are over BT_BENCODE_MAX_DEPTH, status 65" {
	local f=$BATS_TEST_TMPDIR/in
	printf 'l%.0s' {1..101} >"$f"
	printf 'e%.0s' {1..101} >>"$f"
	run -65 --separate-stderr bt-decode "$f"
	assert_output ""
	assert_equal "$stderr" "bt-decode: $f: byte 100: nesting deeper than 100 (limit BT_BENCODE_MAX_DEPTH)"
}

@test "bencode: 4,000,000 values (a list of 3,999,999 integers), BT_BENCODE_MAX_TOKENS, are read" {
	local f=$BATS_TEST_TMPDIR/in
	limits_gen tokens "$f" 3999999
	run -0 bash -c "bt-decode '$f' | wc -c"
	# "[" "0," * 3999998 "0]" newline
	assert_output 8000000
}

@test "bencode: 4,000,001 values are over BT_BENCODE_MAX_TOKENS, status 65" {
	local f=$BATS_TEST_TMPDIR/in
	limits_gen tokens "$f" 4000000
	run -65 --separate-stderr bt-decode "$f"
	assert_output ""
	assert_equal "$stderr" "bt-decode: $f: byte 11999998: more than 4000000 values (limit BT_BENCODE_MAX_TOKENS)"
}

# torrents

@test "torrent: exactly BT_TORRENT_MAX_BYTES with BT_MAX_PIECES pieces is read" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen sized "$f" 104857600
	run -0 --separate-stderr bt-decode -ij "$f"
	assert_equal "$(jq -c '[.piece_count, .piece_length, .total_size]' \
	    <<<"$output")" "[4194304,16384,68719476736]"
}

@test "torrent: one byte over BT_TORRENT_MAX_BYTES is refused before parsing, status 65" {
	local f=$BATS_TEST_TMPDIR/big.torrent
	# Sparse: never read, refused on its size.
	truncate -s 104857601 "$f"
	run -65 --separate-stderr bt-decode -i "$f"
	assert_output ""
	assert_equal "$stderr" "bt-decode: $f: file larger than 104857600 bytes (limit BT_TORRENT_MAX_BYTES)"
	run -65 --separate-stderr bt-decode -i - <"$f"
	assert_equal "$stderr" "bt-decode: stdin: input larger than 104857600 bytes (limit BT_TORRENT_MAX_BYTES)"
}

@test "torrent: 2^22 + 1 pieces are over BT_MAX_PIECES, status 65" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen pieces "$f" 4194305
	run -65 --separate-stderr bt-decode -i "$f"
	assert_output ""
	assert_equal "$stderr" "bt-decode: $f: more than 4194304 pieces (limit BT_MAX_PIECES)"
}

@test "torrent: a piece length of 64 MiB, BT_MAX_PIECE_LENGTH, is read; one byte more is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen plen "$f" 67108864
	run -0 --separate-stderr bt-decode -ij "$f"
	assert_equal "$(jq .piece_length <<<"$output")" 67108864
	limits_gen plen "$f" 67108865
	run -65 --separate-stderr bt-decode -i "$f"
	assert_output ""
	assert_equal "$stderr" "bt-decode: $f: 'piece length' 67108865 over 67108864 (limit BT_MAX_PIECE_LENGTH)"
}

# A file takes 6 bencode values (its dict, "length", the length, "path",
# the path list, one name), so BT_MAX_FILES files stay under
# BT_BENCODE_MAX_TOKENS and the file limit is the one met (lib/create.c
# checks it too, when bt-create walks a folder: half a million files on
# disk is too slow for a test).
@test "torrent: 500,000 files, BT_MAX_FILES, are read; one more is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen files "$f" 500000
	run -0 --separate-stderr bash -o pipefail -c \
	    "bt-decode -i '$f' | sed -n 's/^Files: //p'"
	assert_output 500000
	# One file more, spliced in first ("d4:infod5:filesl" is 16 bytes).
	{ head -c 16 "$f"; printf d6:lengthi1e4:pathl7:g000000ee
	    tail -c +17 "$f"; } >"$f.over"
	run -65 --separate-stderr bt-decode -i "$f.over"
	assert_output ""
	assert_equal "$stderr" "bt-decode: $f.over: more than 500000 files (limit BT_MAX_FILES)"
}

@test "torrent: a path 64 deep, BT_MAX_PATH_DEPTH, is read; 65 deep is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen depth "$f" 64
	run -0 --separate-stderr bt-decode -ij "$f"
	assert_equal "$(jq -r '.files[0].path' <<<"$output")" \
	    "t$(printf '/d%.0s' {1..64})"
	limits_gen depth "$f" 65
	run -65 --separate-stderr bt-decode -i "$f"
	assert_equal "$stderr" "bt-decode: $f: file 0: path deeper than 64 (limit BT_MAX_PATH_DEPTH)"
}

@test "torrent: a path of 4096 bytes, BT_MAX_PATH_BYTES, is read; 4097 is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen pathbytes "$f" 4096
	run -0 --separate-stderr bt-decode -ij "$f"
	assert_equal "$(jq -r '.files[0].path | length' <<<"$output")" 4096
	limits_gen pathbytes "$f" 4097
	run -65 --separate-stderr bt-decode -i "$f"
	assert_equal "$stderr" "bt-decode: $f: file 0: path longer than 4096 bytes (limit BT_MAX_PATH_BYTES)"
}

@test "torrent: a path component of 255 bytes, BT_MAX_NAME_BYTES, is read; 256 is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen component "$f" 255
	run -0 --separate-stderr bt-decode -ij "$f"
	assert_equal "$(jq -r '.files[0].path' <<<"$output")" \
	    "t/$(printf 'n%.0s' {1..255})"
	limits_gen component "$f" 256
	run -65 --separate-stderr bt-decode -i "$f"
	assert_equal "$stderr" "bt-decode: $f: file 0: unsafe path: path component longer than 255 bytes (limit BT_MAX_NAME_BYTES)"
}

@test "torrent: 201 trackers: the first 200, BT_MAX_TRACKERS, are kept, the rest ignored" {
	local f=$BATS_TEST_TMPDIR/t.torrent
	limits_gen trackers "$f" 201
	run -0 --separate-stderr bt-decode -ij "$f"
	assert_equal "$(jq -c '[.trackers | length, .[0][0], .[199][0]]' <<<"$output")" \
	    '[200,"http://127.0.0.1:1024/announce","http://127.0.0.1:1223/announce"]'
	# bt-announce says so, then asks the 200 (closed ports: refused).
	run -69 --separate-stderr bt-announce -t 1 "$f"
	assert_equal "${stderr%%$'\n'*}" "bt-announce: $f: 1 trackers past the first 200 ignored (limit BT_MAX_TRACKERS)"
	assert_equal "$(grep -c 'http://127.0.0.1:1[0-9]*/announce' <<<"$stderr")" 200
}

# piece streams

@test "piece stream: a value over BT_SEQ_MAX_VALUE is refused by bt-verify and bt-assemble, status 65" {
	local n=104858700 p
	cd "$BATS_FILE_TMPDIR"
	p=$(wc -c <t.torrent)
	for prog in "bt-verify" "bt-assemble -C $BATS_TEST_TMPDIR"; do
		run -65 --separate-stderr bash -c "{ cat t.torrent;
		    printf 'd5:piece$n:'; head -c $n /dev/zero; } | $prog"
		assert_equal "$stderr" "${prog%% *}: stdin: byte $p: value larger than 104858624 bytes (limit BT_SEQ_MAX_VALUE)"
	done
}

# Exactly at the limit: tests/unit/test_limits.c (the same reader).
@test "bt-decode: a value one byte over BT_SEQ_MAX_VALUE is refused, status 65" {
	run -65 --separate-stderr bash -c "{ printf 104858615:;
	    head -c 104858615 /dev/zero | tr '\\0' a; } | bt-decode"
	assert_output ""
	assert_equal "$stderr" "bt-decode: stdin: byte 0: value larger than 104858624 bytes (limit BT_SEQ_MAX_VALUE)"
}

@test "bt-encode: a bencoded value over BT_SEQ_MAX_VALUE is refused, status 65" {
	# A string of 104858615 bytes encodes to "104858615:" and them.
	run -65 --separate-stderr bash -c "{ printf '\"';
	    head -c 104858615 /dev/zero | tr '\\0' a; printf '\"'; } |
	    bt-encode"
	assert_output ""
	assert_equal "$stderr" "bt-encode: stdin: line 1, column $((104858615 + 3)): bencoded value larger than 104858624 bytes (limit BT_SEQ_MAX_VALUE)"
}

# JSON

@test "JSON: 100 nested arrays, BT_JSON_MAX_DEPTH, are encoded; 101 are refused, status 65" {
	local o c
	o=$(printf '[%.0s' {1..100})
	c=$(printf ']%.0s' {1..100})
	run -0 --separate-stderr bt-encode <<<"$o$c"
	assert_output "$(printf 'l%.0s' {1..100})$(printf 'e%.0s' {1..100})"
	run -65 --separate-stderr bt-encode <<<"[$o$c]"
	assert_output ""
	assert_equal "$stderr" "bt-encode: stdin: line 1, column 101: nesting deeper than 100 (limit BT_JSON_MAX_DEPTH)"
}

@test "JSON: a value of exactly BT_JSON_MAX_VALUE bytes is encoded; one byte more is refused, status 65" {
	local max=226494464
	run -0 --separate-stderr bash -c "{ printf '[';
	    head -c $((max - 2)) /dev/zero | tr '\\0' ' '; printf ']'; } |
	    bt-encode"
	assert_output "le"
	run -65 --separate-stderr bash -c "{ printf '[';
	    head -c $((max - 1)) /dev/zero | tr '\\0' ' '; printf ']'; } |
	    bt-encode"
	assert_output ""
	assert_equal "$stderr" "bt-encode: stdin: line 1, column $((max + 1)): JSON value longer than $max bytes (limit BT_JSON_MAX_VALUE)"
}

# trackers

@test "tracker: an answer of exactly 1 MiB (BT_TRACKER_MAX_ANSWER) with 10,000 peers (BT_TRACKER_MAX_PEERS) is read whole" {
	local f=$BATS_TEST_TMPDIR/answer
	limits_gen answer "$f" 10000 1048576
	hostile_start -b "$f" ok
	cd "$BATS_FILE_TMPDIR"
	run -0 --separate-stderr bash -o pipefail -c "bt-announce --tracker \
	    http://127.0.0.1:$HT_PORT/announce t.torrent | bt-peers"
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 10002
	assert_equal "${lines[2]}" "127.0.0.0 6881"
	assert_equal "${lines[10001]}" "127.0.39.15 6881"
}

@test "tracker: one byte over BT_TRACKER_MAX_ANSWER is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/answer
	limits_gen answer "$f" 10000 1048577
	hostile_start -b "$f" ok
	cd "$BATS_FILE_TMPDIR"
	run -65 --separate-stderr bt-announce \
	    --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_output ""
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: answer larger than 1048576 bytes (limit BT_TRACKER_MAX_ANSWER)"
}

@test "tracker: a gzip answer is inflated and read" {
	local f=$BATS_TEST_TMPDIR/answer
	limits_gen answer "$f" 3 0
	gzip -n <"$f" >"$f.gz"
	hostile_start -b "$f.gz" gzip
	cd "$BATS_FILE_TMPDIR"
	run -0 --separate-stderr bash -o pipefail -c "bt-announce --tracker \
	    http://127.0.0.1:$HT_PORT/announce t.torrent | bt-peers |
	    grep -v '^#'"
	assert_output "127.0.0.0 6881
127.0.0.1 6881
127.0.0.2 6881"
}

@test "tracker: a gzip bomb (100 MiB from a few KiB) is cut at BT_TRACKER_MAX_ANSWER after inflation, status 65" {
	local f=$BATS_TEST_TMPDIR/bomb.gz
	{ printf 'd8:intervali1800e5:peers104857600:'
	    head -c 104857600 /dev/zero; } | gzip -n >"$f"
	[ "$(wc -c <"$f")" -lt 200000 ] || false
	hostile_start -b "$f" gzip
	cd "$BATS_FILE_TMPDIR"
	run -65 --separate-stderr bt-announce \
	    --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_output ""
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: answer larger than 1048576 bytes (limit BT_TRACKER_MAX_ANSWER)"
}

@test "tracker: 10,001 peers and 5 repeated: bt-peers keeps BT_TRACKER_MAX_PEERS and says how many it dropped, status 0" {
	local f=$BATS_TEST_TMPDIR/answer
	limits_gen answer "$f" 10001 0 5
	hostile_start -b "$f" ok
	cd "$BATS_FILE_TMPDIR"
	bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" \
	    t.torrent >"$BATS_TEST_TMPDIR/stream"
	run -0 --separate-stderr bt-peers "$BATS_TEST_TMPDIR/stream"
	assert_equal "$stderr" "bt-peers: $BATS_TEST_TMPDIR/stream: answer 1: 1 peers past 10000 dropped (limit BT_TRACKER_MAX_PEERS)"
	assert_equal "${#lines[@]}" 10002
	assert_equal "${lines[10001]}" "127.0.39.15 6881"
}

@test "tracker: a failure reason of 200 bytes (BT_TRACKER_MAX_TEXT) is shown whole; of 201 it is cut, and says so" {
	local f=$BATS_TEST_TMPDIR/answer F199 F200
	F199=$(printf 'F%.0s' {1..199})
	F200=${F199}F
	cd "$BATS_FILE_TMPDIR"
	limits_gen failure "$f" 200
	hostile_start -b "$f" ok
	run -69 --separate-stderr bt-announce \
	    --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: tracker failure: $F199!"
	hostile_stop || true
	limits_gen failure "$f" 201
	hostile_start -b "$f" ok
	run -69 --separate-stderr bt-announce \
	    --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: tracker failure: $F200... (cut at 200 bytes, limit BT_TRACKER_MAX_TEXT)"
}

@test "tracker: a dictionary peer whose ip is over BT_TRACKER_MAX_HOST is refused, status 65" {
	local f=$BATS_TEST_TMPDIR/answer h
	h=$(printf 'h%.0s' {1..256})
	printf 'd5:peersld2:ip256:%s4:porti6881eeee' "$h" >"$f"
	run -65 --separate-stderr bt-peers "$f"
	assert_output ""
	assert_equal "$stderr" "bt-peers: $f: answer 1: peers: entry 1 has an ip longer than 255 bytes (limit BT_TRACKER_MAX_HOST)"
}

@test "bt-peers: an answer record over BT_TRACKER_MAX_RECORD is refused, status 65" {
	local n=1114112
	run -65 --separate-stderr bash -c "{ printf 'd5:peers$n:';
	    head -c $n /dev/zero; printf e; } | bt-peers"
	assert_output ""
	assert_equal "$stderr" "bt-peers: stdin: byte 0: value larger than 1114112 bytes (limit BT_TRACKER_MAX_RECORD)"
}

@test "bt-peers: 1,010,000 distinct peers: the first BT_PEERS_MAX_TOTAL are written, the rest counted" {
	local f=$BATS_TEST_TMPDIR/answers
	limits_gen answers "$f" 10000 101
	run -0 --separate-stderr bash -c "bt-peers '$f' | wc -l"
	assert_output 1000000
	assert_equal "$stderr" "bt-peers: 10000 peers past 1000000 dropped (limit BT_PEERS_MAX_TOTAL)"
}

@test "UDP: a full datagram (65,504 bytes, 10,914 peers) is read whole; BT_TRACKER_MAX_PEERS of them are kept" {
	hostile_start many
	cd "$BATS_FILE_TMPDIR"
	bt-announce --tracker "udp://127.0.0.1:$HT_PORT/announce" \
	    t.torrent >"$BATS_TEST_TMPDIR/stream"
	run -0 bash -c "bt-decode '$BATS_TEST_TMPDIR/stream' |
	    jq -r '.peers | length'"
	# "hex:" and two digits a byte
	assert_output $((4 + 2 * 10914 * 6))
	run -0 --separate-stderr bt-peers "$BATS_TEST_TMPDIR/stream"
	assert_equal "$stderr" "bt-peers: $BATS_TEST_TMPDIR/stream: answer 1: 914 peers past 10000 dropped (limit BT_TRACKER_MAX_PEERS)"
	assert_equal "${#lines[@]}" 10002
}

@test "UDP: a tracker host over BT_TRACKER_MAX_HOST is refused, status 65" {
	local h
	h=$(printf 'h%.0s' {1..256})
	cd "$BATS_FILE_TMPDIR"
	run -65 --separate-stderr bt-announce \
	    --tracker "udp://$h:6969/announce" t.torrent
	assert_equal "$stderr" "bt-announce: udp://$h:6969/announce: URL: host longer than 255 bytes (limit BT_TRACKER_MAX_HOST)"
}

@test "UDP: --retries over BT_UDP_MAX_RETRIES is a usage error, status 64" {
	cd "$BATS_FILE_TMPDIR"
	run -64 --separate-stderr bt-announce --retries 9 t.torrent
	assert_equal "$stderr" "bt-announce: --retries: '9': out of range 0 to 8"
	run -64 --separate-stderr bt-announce --retries -1 t.torrent
	assert_equal "$stderr" "bt-announce: --retries: '-1': out of range 0 to 8"
}

# files on disk

# BT_STORE_MAX_OPEN descriptors at most, fewer under a low ulimit -n: 30
# is below the constant, so this fails if the cap does not follow it.
@test "BT_STORE_MAX_OPEN: 300 files are written and verified under ulimit -n 30, their descriptors reused" {
	local d=$BATS_TEST_TMPDIR i
	mkdir -p "$d/src/many"
	for i in $(seq -w 1 300); do
		head -c $((1000 + 10#$i)) /dev/urandom >"$d/src/many/f$i"
	done
	mktorrent -l 15 -o "$d/many.torrent" "$d/src/many" >/dev/null
	mkstream "$d/many.torrent" "$d/src" all >"$d/s"
	run -0 --separate-stderr bash -c \
	    "ulimit -n 30 && bt-assemble -C '$d/out' '$d/s'"
	assert_equal "$stderr" ""
	run -0 diff -r "$d/src/many" "$d/out/many"
	run -0 --separate-stderr bash -c \
	    "ulimit -n 30 && bt-verify --missing '$d/many.torrent' '$d/out'"
	assert_output ""
	# With no descriptor left at all, the data is not called missing:
	# the fault is said, status 74.
	# bats keeps descriptors of its own open: closed first, so that the
	# limit counts from 3 (stdin, stdout, stderr).
	run -74 --separate-stderr bash -c '
	    for f in /proc/$$/fd/*; do
		n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"
	    done
	    ulimit -n 5 && exec bt-verify -j 1 "$1" "$2"' _ \
	    "$d/many.torrent" "$d/out"
	assert_output ""
	assert_equal "$stderr" "bt-verify: $d/out: many/f001: Too many open files"
}
