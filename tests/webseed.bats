#!/usr/bin/env bats
# Web seeds (BEP 19): bt-fetch-piece fetches pieces from the HTTP servers
# of a torrent's url-list, beside its peers. The server is
# tests/tools/webseed.py on 127.0.0.1 (Python's http.server serves no
# ranges), in one of its modes: ok, wrong (inverted bytes), loop (a
# redirect to itself) or stall (headers, then nothing).

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# 40 pieces of 32 KiB, the last one short.
	mkdir -p "$d/www/pub/set/sub"
	rand_file "$d/www/data" $((40 * 32768 - 1000))
	# Several files: pieces span them, a name needs percent-encoding.
	rand_file "$d/www/pub/set/a" 100000
	: >"$d/www/pub/set/empty"
	rand_file "$d/www/pub/set/sub/b c" 700001
}

teardown() {
	local p
	for p in ${BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# Serve the folder in MODE: web_seed MODE; sets WS_PORT, logs to $d/ws.log.
web_seed() {
	WS_PORT=$(free_port)
	/usr/bin/python3 "$top/tests/tools/webseed.py" "$1" "$WS_PORT" \
	    "$BATS_FILE_TMPDIR/www" >"$BATS_TEST_TMPDIR/ws.log" 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$WS_PORT"
}

# The single-file torrent with web seed URL: single URL OUT
single() {
	mktorrent -l 15 -a http://127.0.0.1:1/announce -w "$1" -o "$2" \
	    "$BATS_FILE_TMPDIR/www/data" >/dev/null
}

# bt-seed of the single file, on SEED_PORT.
good_peer() {
	SEED_PORT=$(free_port)
	timeout 60 bt-seed -q -b 127.0.0.1 -p "$SEED_PORT" "$1" \
	    "$BATS_FILE_TMPDIR/www" </dev/null >/dev/null 2>&1 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for 10 port_open "$SEED_PORT"
	echo "127.0.0.1 $SEED_PORT" >"$BATS_TEST_TMPDIR/peers"
}

@test "a web seed alone serves a single-file torrent, a range request per piece" {
	local d=$BATS_TEST_TMPDIR
	web_seed ok
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	run -0 --separate-stderr timeout 60 bt-fetch-piece -a -t "$d/t.torrent" \
	    -p /dev/null --no-upload -o "$d/stream"
	bt-assemble -C "$d/out" <"$d/stream"
	cmp "$BATS_FILE_TMPDIR/www/data" "$d/out/data"
	# BEP 19: the URL is the file; HTTP ranges end at their last byte.
	grep -qx 'GET /data bytes=0-32767' "$d/ws.log"
	grep -qx 'GET /data bytes=1277952-1309719' "$d/ws.log"
	[ "$(wc -l <"$d/ws.log")" -eq 40 ]
}

@test "a single-file URL ending in '/' gets the torrent's name" {
	local d=$BATS_TEST_TMPDIR
	web_seed ok
	single "http://127.0.0.1:$WS_PORT/" "$d/t.torrent"
	run -0 timeout 60 bt-fetch-piece -i 0 -t "$d/t.torrent" -p /dev/null \
	    --no-upload -o "$d/piece"
	cmp "$d/piece" <(head -c 32768 "$BATS_FILE_TMPDIR/www/data")
	assert_equal "$(cat "$d/ws.log")" "GET /data bytes=0-32767"
}

@test "a web seed alone serves a multi-file torrent: name and path encoded, a request per file a piece spans" {
	local d=$BATS_TEST_TMPDIR
	web_seed ok
	mktorrent -l 15 -a http://127.0.0.1:1/announce \
	    -w "http://127.0.0.1:$WS_PORT/pub" -o "$d/m.torrent" \
	    "$BATS_FILE_TMPDIR/www/pub/set" >/dev/null
	run -0 timeout 60 bt-fetch-piece -a -t "$d/m.torrent" -p /dev/null \
	    --no-upload -o "$d/stream"
	bt-assemble -C "$d/out" <"$d/stream"
	diff -r "$BATS_FILE_TMPDIR/www/pub/set" "$d/out/set"
	# Piece 3 (bytes 98304 to 131071) is the end of a, then b's start.
	grep -qx 'GET /pub/set/a bytes=98304-99999' "$d/ws.log"
	grep -qx 'GET /pub/set/sub/b%20c bytes=0-31071' "$d/ws.log"
	# The empty file is never asked for.
	run ! grep -q empty "$d/ws.log"
}

@test "a web seed serving wrong bytes is banned: alone, status 69" {
	local d=$BATS_TEST_TMPDIR
	web_seed wrong
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	run -69 --separate-stderr timeout 60 bt-fetch-piece -v -a \
	    -t "$d/t.torrent" -p /dev/null --no-upload -o "$d/stream"
	assert_equal "$(printf '%s\n' "$stderr" | grep -c banned)" 1
	[[ "$stderr" =~ "bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: banned: piece "[0-9]+" failed its SHA-1" ]]
	[[ "$stderr" == *"bt-fetch-piece: 40 of 40 pieces missing: no usable peer or web seed left (0 tried)" ]]
	# A piece fetched while the first is checked, no more.
	[ "$(wc -l <"$d/ws.log")" -le 2 ]
}

@test "a web seed serving wrong bytes is banned, and a good peer completes the download" {
	local d=$BATS_TEST_TMPDIR
	web_seed wrong
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	good_peer "$d/t.torrent"
	run -0 --separate-stderr timeout 60 bt-fetch-piece -v -a \
	    -t "$d/t.torrent" -p "$d/peers" --no-upload -o "$d/stream"
	[[ "$stderr" =~ "bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: banned: piece "[0-9]+" failed its SHA-1" ]]
	bt-assemble -C "$d/out" <"$d/stream"
	cmp "$BATS_FILE_TMPDIR/www/data" "$d/out/data"
}

@test "a web seed redirecting in a loop is named, retried, dropped; a peer completes" {
	local d=$BATS_TEST_TMPDIR
	web_seed loop
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	good_peer "$d/t.torrent"
	run -0 --separate-stderr timeout 60 bt-fetch-piece -v -a \
	    -t "$d/t.torrent" -p "$d/peers" --no-upload -o "$d/stream"
	assert_equal "$(printf '%s\n' "$stderr" | grep -m1 redirects)" \
	    "bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: more than 5 redirects (limit BT_WEBSEED_MAX_REDIRECTS)"
	bt-assemble -C "$d/out" <"$d/stream"
	cmp "$BATS_FILE_TMPDIR/www/data" "$d/out/data"
	# Alone: tried BT_WEBSEED_RETRIES times more, then given up.
	run -69 --separate-stderr timeout 60 bt-fetch-piece -v -a \
	    -t "$d/t.torrent" -p /dev/null --no-upload -o "$d/stream"
	assert_equal "$(printf '%s\n' "$stderr" | grep -c 'more than 5 redirects')" 4
	assert_equal "$(printf '%s\n' "$stderr" | grep dropped | head -1)" \
	    "bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: dropped after 4 failures in a row (limit BT_WEBSEED_RETRIES)"
}

@test "a web seed that stalls is timed out at --idle-timeout, retried, dropped: alone, status 69" {
	local d=$BATS_TEST_TMPDIR
	web_seed stall
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	run -69 --separate-stderr timeout 60 bt-fetch-piece -v -a \
	    --idle-timeout 1 -t "$d/t.torrent" -p /dev/null --no-upload \
	    -o "$d/stream"
	assert_equal "$(printf '%s\n' "$stderr" | grep -c "^bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: no data in 1000 ms (limit BT_SWARM_IDLE_MS, --idle-timeout)\$")" 4
	assert_equal "$(printf '%s\n' "$stderr" | grep dropped | head -1)" \
	    "bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: dropped after 4 failures in a row (limit BT_WEBSEED_RETRIES)"
	[[ "$stderr" == *"bt-fetch-piece: 40 of 40 pieces missing: no usable peer or web seed left (0 tried)" ]]
}

@test "a stalled web seed's piece is left to a peer in endgame, and the peer completes" {
	local d=$BATS_TEST_TMPDIR
	web_seed stall
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	good_peer "$d/t.torrent"
	# The server stalls for 120 s, the run ends long before.
	run -0 --separate-stderr timeout 60 bt-fetch-piece -vv -a \
	    -t "$d/t.torrent" -p "$d/peers" --no-upload -o "$d/stream"
	[[ "$stderr" =~ "bt-fetch-piece: http://127.0.0.1:$WS_PORT/data: piece "[0-9]+" left to the peers (endgame)" ]]
	bt-assemble -C "$d/out" <"$d/stream"
	cmp "$BATS_FILE_TMPDIR/www/data" "$d/out/data"
}

@test "--no-webseed: the url-list is not used" {
	local d=$BATS_TEST_TMPDIR
	web_seed ok
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	run -69 --separate-stderr timeout 60 bt-fetch-piece --no-webseed -a \
	    -t "$d/t.torrent" -p /dev/null --no-upload -o "$d/stream"
	assert_equal "$stderr" "bt-fetch-piece: 40 of 40 pieces missing: no usable peer left (0 tried)"
	[ ! -s "$d/ws.log" ]
}

@test "bt-get uses the web seeds, and passes --no-webseed on" {
	local d=$BATS_TEST_TMPDIR
	web_seed ok
	single "http://127.0.0.1:$WS_PORT/data" "$d/t.torrent"
	run -0 timeout 60 bt-get -q -p /dev/null "$d/t.torrent" "$d/out"
	cmp "$BATS_FILE_TMPDIR/www/data" "$d/out/data"
	: >"$d/ws.log"
	run -69 --separate-stderr timeout 60 bt-get -q -r 0 --no-webseed \
	    -p /dev/null "$d/t.torrent" "$d/out2"
	[[ "$stderr" == *"no usable peer left"* ]]
	[ ! -s "$d/ws.log" ]
}
