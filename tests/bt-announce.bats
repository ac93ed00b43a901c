#!/usr/bin/env bats
# bt-announce against a real opentracker (HTTP and UDP) with peers
# registered by curl and by a python3-libtorrent seeder, and against our
# hostile tracker for every misbehaviour.

bats_require_minimum_version 1.5.0
load helper

# A python3-libtorrent seeder: prints "announced" once the tracker
# answered it. Debian's python3: the one on PATH has no libtorrent.
write_seeder() {
	cat >"$1" <<'EOF'
import sys, time
import libtorrent as lt
torrent, save, port, tracker = sys.argv[1:5]
s = lt.session({
    'listen_interfaces': '127.0.0.1:' + port,
    'enable_dht': False, 'enable_lsd': False,
    'enable_upnp': False, 'enable_natpmp': False,
    'enable_incoming_utp': False, 'enable_outgoing_utp': False,
    'max_retry_port_bind': 0,
    'allow_multiple_connections_per_ip': True,
    'alert_mask': lt.alert.category_t.tracker_notification |
        lt.alert.category_t.error_notification,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save
atp.flags |= lt.torrent_flags.seed_mode
atp.trackers = [tracker]
s.add_torrent(atp)
said = False
end = time.time() + 90
while time.time() < end:
    s.wait_for_alert(200)
    for a in s.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert) and not said:
            print("announced", flush=True)
            said = True
        elif isinstance(a, lt.tracker_error_alert):
            print("tracker error:", a.message(), file=sys.stderr,
                flush=True)
EOF
}

# Every byte as %XX: what curl sends for the registered peers.
pct() {
	sed 's/../%&/g' <<<"$1"
}

# The query encoding bt-announce must use: RFC 3986 unreserved bytes as
# they are, every other byte %XX in upper case.
urlenc_hex() {
	local h=$1 out= i b c
	for ((i = 0; i < ${#h}; i += 2)); do
		b=${h:i:2}
		c=$((16#$b))
		if ((c >= 48 && c <= 57 || c >= 65 && c <= 90 ||
		    c >= 97 && c <= 122 || c == 45 || c == 46 || c == 95 ||
		    c == 126)); then
			out+=$(printf "\\x$b")
		else
			out+=%${b^^}
		fi
	done
	printf '%s\n' "$out"
}

setup_file() {
	local d=$BATS_FILE_TMPDIR p
	mkdir -p "$d/seed"
	rand_file "$d/seed/data.bin" 300000
	# The info hash does not depend on the announce URL: make the
	# whitelist first, the torrents once the tracker's ports are known.
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o "$d/t0.torrent" \
	    "$d/seed/data.bin" >/dev/null
	H=$(info_hash_of "$d/t0.torrent")
	echo "$H" >"$d/hashes"
	opentracker_start "$d/hashes"
	cd "$d"
	mktorrent -l 15 -a "$OT_ANNOUNCE" -o t.torrent seed/data.bin >/dev/null
	mktorrent -l 15 -a "$OT_UDP_ANNOUNCE" -o tu.torrent seed/data.bin \
	    >/dev/null
	DEAD=$(quick_free_port)
	DEADU=$(quick_free_port udp)
	# BEP 12 tiers: a dead HTTP tracker, a dead UDP one, the live one.
	mktorrent -l 15 -a "http://127.0.0.1:$DEAD/announce" \
	    -a "udp://127.0.0.1:$DEADU/announce" -a "$OT_ANNOUNCE" \
	    -o tl.torrent seed/data.bin >/dev/null
	# One tier of two, the dead one and the live one, in either order.
	mktorrent -l 15 -a "http://127.0.0.1:$DEAD/announce,$OT_ANNOUNCE" \
	    -o t1.torrent seed/data.bin >/dev/null
	# Another torrent, not in the whitelist.
	rand_file other.bin 1000
	mktorrent -a "$OT_ANNOUNCE" -o other.torrent other.bin >/dev/null
	# Three peers registered with curl: two leechers, one seeder.
	for p in 7001 7002 7003; do
		curl -sS --max-time 10 -o /dev/null "$OT_ANNOUNCE?info_hash=$(pct "$H")&peer_id=-CU0001-00000000$p&port=$p&uploaded=0&downloaded=0&left=$([ $p = 7003 ] && echo 0 || echo 1000)&compact=1&event=started"
	done
	# A real libtorrent seeder.
	LT_PORT=$(quick_free_port)
	write_seeder "$d/seed.py"
	/usr/bin/python3 "$d/seed.py" "$d/t.torrent" "$d/seed" "$LT_PORT" \
	    "$OT_ANNOUNCE" >"$d/seed.out" 2>"$d/seed.err" 3>&- &
	LT_PID=$!
	wait_for 30 grep -q announced "$d/seed.out"
	export H DEAD DEADU LT_PORT LT_PID
}

teardown_file() {
	[ -n "${LT_PID:-}" ] && kill "$LT_PID" 2>/dev/null
	opentracker_stop
}

teardown() {
	hostile_stop
}

# The peers that opentracker must list when bt-announce asks as port 7100.
expected_peers() {
	printf '127.0.0.1 %s\n' 7001 7002 7003 7100 "$LT_PORT" | sort
}

@test "lists every peer registered in opentracker over HTTP, the asking one included" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 t.torrent | bt-peers'
	assert_success
	assert_equal "${lines[0]}" "# info-hash $H"
	assert_equal "${lines[1]}" "# torrent t.torrent"
	assert_equal "$(printf '%s\n' "${lines[@]:2}" | sort)" \
	    "$(expected_peers)"
	assert_equal "$stderr" ""
}

@test "lists every peer registered in opentracker over UDP" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 tu.torrent | bt-peers'
	assert_success
	assert_equal "${lines[0]}" "# info-hash $H"
	assert_equal "${lines[1]}" "# torrent tu.torrent"
	assert_equal "$(printf '%s\n' "${lines[@]:2}" | sort)" \
	    "$(expected_peers)"
}

@test "a saved answer replays to the same peer list" {
	cd "$BATS_FILE_TMPDIR"
	bt-announce --port 7100 t.torrent >"$BATS_TEST_TMPDIR/ans"
	bt-peers <"$BATS_TEST_TMPDIR/ans" >"$BATS_TEST_TMPDIR/replayed"
	bt-announce --port 7100 t.torrent | bt-peers >"$BATS_TEST_TMPDIR/live"
	run diff <(sort "$BATS_TEST_TMPDIR/live") \
	    <(sort "$BATS_TEST_TMPDIR/replayed")
	assert_success
	run grep -c '^127\.0\.0\.1 ' "$BATS_TEST_TMPDIR/replayed"
	assert_output 5
}

@test "scrape asks opentracker for seeders and leechers over HTTP and UDP" {
	cd "$BATS_FILE_TMPDIR"
	bt-announce --port 7100 t.torrent >/dev/null
	# Seeders: libtorrent and curl's 7003; leechers: 7001, 7002, 7100.
	run bt-announce --scrape t.torrent
	assert_success
	[[ $output == d8:completei2e10:downloadedi*e10:incompletei3e14:x-bt-info-hash20:* ]]
	[[ $output == *12:x-bt-tracker${#OT_ANNOUNCE}:${OT_ANNOUNCE}e ]]
	run bt-announce --scrape tu.torrent
	assert_success
	[[ $output == d8:completei2e10:downloadedi*e10:incompletei3e14:x-bt-info-hash20:* ]]
	[[ $output == *12:x-bt-tracker${#OT_UDP_ANNOUNCE}:${OT_UDP_ANNOUNCE}e ]]
}

@test "a dead first tier falls through to the live tracker" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 --timeout 0.2 --retries 1 tl.torrent |
	    bt-peers'
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]:2}" | sort)" \
	    "$(expected_peers)"
	assert_equal "${#stderr_lines[@]}" 2
	[[ ${stderr_lines[0]} == "bt-announce: http://127.0.0.1:$DEAD/announce: Failed to connect to 127.0.0.1 port $DEAD after "*" ms: Couldn't connect to server" ]]
	assert_equal "${stderr_lines[1]}" \
	    "bt-announce: udp://127.0.0.1:$DEADU/announce: Connection refused"
}

@test "within one tier every tracker is tried until one answers" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 --timeout 0.2 t1.torrent | bt-peers'
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]:2}" | sort)" \
	    "$(expected_peers)"
}

@test "every tracker dead: status 69 within the time bound, one line per tracker" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start silent
	SECONDS=0
	run -69 --separate-stderr timeout 30 bt-announce --timeout 0.2 \
	    --retries 1 --tracker "http://127.0.0.1:$DEAD/announce" \
	    --tracker "udp://127.0.0.1:$DEADU/announce" \
	    --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 3
	assert_equal "${stderr_lines[1]}" \
	    "bt-announce: udp://127.0.0.1:$DEADU/announce: Connection refused"
	[[ ${stderr_lines[2]} == "bt-announce: udp://127.0.0.1:$HT_PORT/announce: no answer to connect after 2 tries ("*" s)" ]]
}

@test "a torrent without any tracker is status 69" {
	cd "$BATS_FILE_TMPDIR"
	transmission-create -o none.torrent other.bin >/dev/null
	run -69 --separate-stderr bt-announce none.torrent
	assert_equal "$stderr" \
	    "bt-announce: none.torrent: no tracker in the torrent (give one with --tracker)"
}

@test "opentracker's failure reason for a torrent it does not serve is shown, status 69" {
	cd "$BATS_FILE_TMPDIR"
	run -69 --separate-stderr bt-announce other.torrent
	assert_output ""
	assert_equal "$stderr" "bt-announce: $OT_ANNOUNCE: tracker failure: Requested download is not authorized for use with this tracker."
}

@test "sends the exact announce request: every key, the info hash percent-encoded" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" \
	    --peer-id -XX0001-abcdefghijkl --port 6999 --uploaded 11 \
	    --downloaded 22 --left 33 --event completed --numwant 7 t.torrent
	assert_success
	run sed -E 's/&key=[0-9a-f]{8} /\&key=KEY /' "$HT_LOG"
	assert_output "GET /announce?info_hash=$(urlenc_hex "$H")&peer_id=-XX0001-abcdefghijkl&port=6999&uploaded=11&downloaded=22&left=33&compact=1&event=completed&numwant=7&key=KEY HTTP/1.1"
}

@test "the default request: our peer id prefix, port 6881, left is the torrent's size, event started" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce?pk=a%2Fb" \
	    t.torrent
	assert_success
	run cat "$HT_LOG"
	assert_output --regexp "^GET /announce\?pk=a%2Fb&info_hash=[^&]+&peer_id=-BT0001-[^&]+&port=6881&uploaded=0&downloaded=0&left=300000&compact=1&event=started&numwant=50&key=[0-9a-f]{8} HTTP/1.1$"
}

@test "event none sends no event key" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	bt-announce --event none --tracker "http://127.0.0.1:$HT_PORT/a" \
	    t.torrent >/dev/null
	run grep -c 'event=' "$HT_LOG"
	assert_output 0
}

@test "writes the tracker's answer with sorted keys and the context keys, dropping the tracker's own x-bt- keys" {
	cd "$BATS_FILE_TMPDIR"
	printf 'd5:peers6:\x7f\x00\x00\x01\x1a\xe18:intervali900e12:x-bt-torrent4:evil1:zi1ee' \
	    >"$BATS_TEST_TMPDIR/body"
	hostile_start -b "$BATS_TEST_TMPDIR/body" ok
	url=http://127.0.0.1:$HT_PORT/announce
	bt-announce --tracker "$url" t.torrent >"$BATS_TEST_TMPDIR/out"
	{
		printf 'd8:intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1'
		printf '14:x-bt-info-hash20:'
		printf "$(sed 's/../\\x&/g' <<<"$H")"
		printf '12:x-bt-torrent9:t.torrent12:x-bt-tracker%d:%s1:zi1ee' \
		    "${#url}" "$url"
	} >"$BATS_TEST_TMPDIR/want"
	run cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
	assert_success
}

@test "a tracker's warning message goes to stderr, the answer to stdout" {
	cd "$BATS_FILE_TMPDIR"
	printf 'd5:peers6:\x7f\x00\x00\x01\x1a\xe115:warning message10:slow\x07 downe' \
	    >"$BATS_TEST_TMPDIR/body"
	hostile_start -b "$BATS_TEST_TMPDIR/body" ok
	run --separate-stderr bash -o pipefail -c "bt-announce --tracker http://127.0.0.1:$HT_PORT/announce t.torrent | bt-peers"
	assert_success
	assert_line '127.0.0.1 6881'
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: tracker warning: slow\\x07 down"
}

@test "--all asks every tracker and writes every answer" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run --separate-stderr bash -o pipefail -c "bt-announce --all --port 7100 --tracker $OT_ANNOUNCE --tracker udp://127.0.0.1:$HT_PORT/announce t.torrent | bt-peers"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]:2}" | sort)" \
	    "$( (expected_peers; printf '127.0.0.%s\n' '1 6881' '2 6882') |
	    sort)"
	run bash -c "bt-announce --all --tracker $OT_ANNOUNCE --tracker udp://127.0.0.1:$HT_PORT/announce t.torrent | grep -ao x-bt-tracker | wc -l"
	assert_output 2
}

# The announce URLs named by the records of a stream file, one a line,
# sorted.
trackers_in() {
	perl -0777 -ne 'while (/12:x-bt-tracker(\d+):/g) {
	    print substr($_, pos($_), $1), "\n" }' "$1" | sort
}

@test "--all writes one record for each of several live trackers, HTTP and UDP" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run --separate-stderr bash -o pipefail -c "bt-announce --all \
	    --port 7100 --tracker udp://127.0.0.1:$HT_PORT/announce \
	    --tracker $OT_ANNOUNCE --tracker $OT_UDP_ANNOUNCE \
	    --tracker http://127.0.0.1:$HT_PORT/announce t.torrent \
	    >$BATS_TEST_TMPDIR/out"
	assert_success
	assert_equal "$stderr" ""
	run trackers_in "$BATS_TEST_TMPDIR/out"
	assert_output "$(printf '%s\n' "http://127.0.0.1:$HT_PORT/announce" \
	    "$OT_ANNOUNCE" "$OT_UDP_ANNOUNCE" \
	    "udp://127.0.0.1:$HT_PORT/announce" | sort)"
	# Four whole records: bt-peers reads each (two "# tracker"-less
	# answers of the same torrent, one peer list).
	run bash -o pipefail -c "bt-peers <$BATS_TEST_TMPDIR/out | sort"
	assert_success
	assert_line '127.0.0.2 6882'
	assert_line "127.0.0.1 $LT_PORT"
}

@test "--all: a dead tracker listed first does not hold back the live one's answer" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start silent
	out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	# The dead one (HTTP and UDP) first: a connection that never
	# answers, and datagrams never answered (1 + 2 s with one retry).
	timeout 60 bt-announce --all --timeout 1 --retries 1 --port 7100 \
	    --tracker "http://127.0.0.1:$HT_PORT/announce" \
	    --tracker "udp://127.0.0.1:$HT_PORT/announce" \
	    --tracker "$OT_ANNOUNCE" t.torrent >"$out" 2>"$err" 3>&- &
	pid=$!
	# The live answer is written while the dead trackers are still
	# being waited for: no line about them yet, the program still runs.
	wait_for 30 test -s "$out"
	run trackers_in "$out"
	assert_output "$OT_ANNOUNCE"
	run cat "$err"
	assert_output ""
	run kill -0 "$pid"
	assert_success
	# Then both dead trackers time out, and the status is 0.
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	run cat "$err"
	assert_line --index 0 --regexp "^bt-announce: http://127\.0\.0\.1:$HT_PORT/announce: timed out: Operation timed out after [0-9]+ milliseconds with 0 bytes received$"
	assert_line --index 1 --regexp "^bt-announce: udp://127\.0\.0\.1:$HT_PORT/announce: no answer to connect after 2 tries \([0-9.]+ s\)$"
	assert_equal "${#lines[@]}" 2
	run bash -o pipefail -c "bt-peers <$out"
	assert_success
	assert_line "127.0.0.1 $LT_PORT"
	assert_line "127.0.0.1 7003"
	run grep -c '^udp connect$' "$HT_LOG"
	assert_output 2
}

@test "--all --scrape scrapes every tracker at once, a dead one reported" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -c "timeout 60 bt-announce --all --scrape \
	    --timeout 0.5 --retries 0 \
	    --tracker udp://127.0.0.1:$DEADU/announce \
	    --tracker $OT_ANNOUNCE --tracker $OT_UDP_ANNOUNCE t.torrent \
	    >$BATS_TEST_TMPDIR/out"
	assert_success
	assert_equal "$stderr" \
	    "bt-announce: udp://127.0.0.1:$DEADU/announce: Connection refused"
	run trackers_in "$BATS_TEST_TMPDIR/out"
	assert_output "$(printf '%s\n' "$OT_ANNOUNCE" "$OT_UDP_ANNOUNCE" |
	    sort)"
	run grep -ao 'd8:completei[0-9]*e10:downloadedi[0-9]*e10:incompletei[0-9]*e14:x-bt-info-hash' \
	    "$BATS_TEST_TMPDIR/out"
	assert_equal "${#lines[@]}" 2
}

@test "without --all, stops at the first tracker that answers" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run bash -c "bt-announce --tracker $OT_ANNOUNCE --tracker udp://127.0.0.1:$HT_PORT/announce t.torrent | grep -ao x-bt-tracker | wc -l"
	assert_output 1
	run cat "$HT_LOG"
	assert_output ""
}

@test "HTTP garbage is a malformed answer, status 65" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start garbage
	run -65 --separate-stderr bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_output ""
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: answer is not bencode: byte 0: unexpected byte 0x3c"
}

@test "a 100 MiB answer is cut at BT_TRACKER_MAX_ANSWER, status 65" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start huge
	run -65 --separate-stderr timeout 30 bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: answer larger than 1048576 bytes (limit BT_TRACKER_MAX_ANSWER)"
}

@test "a truncated compact peer list is refused, status 65" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start truncated
	run -65 --separate-stderr bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: peers: compact list of 13 bytes is not a multiple of 6"
	run -65 --separate-stderr bt-announce --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: udp://127.0.0.1:$HT_PORT/announce: peers: compact list of 13 bytes is not a multiple of 6"
}

@test "a redirect loop stops at BT_TRACKER_MAX_REDIRECTS, status 69" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start redirect
	run -69 --separate-stderr bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: more than 5 redirects (limit BT_TRACKER_MAX_REDIRECTS)"
	run grep -c '^GET ' "$HT_LOG"
	assert_output 6
}

@test "an HTTP tracker that never answers times out, status 69" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start silent
	run -69 --separate-stderr timeout 30 bt-announce --timeout 0.3 --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	[[ $stderr == "bt-announce: http://127.0.0.1:$HT_PORT/announce: timed out: Operation timed out after "*" milliseconds with 0 bytes received" ]]
}

@test "an HTTP failure reason is shown, status 69" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start error
	run -69 --separate-stderr bt-announce --tracker "http://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: http://127.0.0.1:$HT_PORT/announce: tracker failure: torrent not here"
}

@test "UDP: sends connect, then announce with the connection id and every field" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run bt-announce --tracker "udp://127.0.0.1:$HT_PORT/announce" \
	    --peer-id 2d58583030303140414243444546474849505152 --port 6999 \
	    --uploaded 11 --downloaded 22 --left 33 --event stopped \
	    --numwant 7 t.torrent
	assert_success
	run sed -E 's/key=[0-9a-f]{8}/key=KEY/' "$HT_LOG"
	assert_output "udp connect
udp announce conn=1122334455667788 info_hash=$H peer_id=2d58583030303140414243444546474849505152 downloaded=22 left=33 uploaded=11 event=3 key=KEY numwant=7 port=6999
udp urldata=/announce chunks=1 end"
}

@test "UDP: the URL's path and query go as BEP 41 URLData options, 255 bytes each" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	pk=$(printf 'k%.0s' {1..300})
	run bt-announce --tracker "udp://127.0.0.1:$HT_PORT/dir/announce?passkey=$pk&x=%2F" \
	    t.torrent
	assert_success
	run grep '^udp urldata=' "$HT_LOG"
	assert_output "udp urldata=/dir/announce?passkey=$pk&x=%2F chunks=2 end"
	# No path, no query: no options at all.
	: >"$HT_LOG"
	run bt-announce --tracker "udp://127.0.0.1:$HT_PORT" t.torrent
	assert_success
	run grep -c '^udp announce ' "$HT_LOG"
	assert_output 1
	run grep -c '^udp urldata' "$HT_LOG"
	assert_output 0
	# A scrape carries none (BEP 41 extends the announce).
	: >"$HT_LOG"
	run bt-announce --scrape --tracker "udp://127.0.0.1:$HT_PORT/announce" \
	    t.torrent
	assert_success
	run grep -c '^udp urldata' "$HT_LOG"
	assert_output 0
}

@test "UDP: the connection id is reused within a run" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run bt-announce --all --tracker "udp://127.0.0.1:$HT_PORT/a" \
	    --tracker "udp://127.0.0.1:$HT_PORT/b" t.torrent
	assert_success
	run grep -c '^udp connect$' "$HT_LOG"
	assert_output 1
	run grep -c '^udp announce conn=1122334455667788 ' "$HT_LOG"
	assert_output 2
}

@test "UDP: scrape gives seeders, completed and leechers" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	url=udp://127.0.0.1:$HT_PORT/announce
	bt-announce --scrape --tracker "$url" t.torrent >"$BATS_TEST_TMPDIR/out"
	{
		printf 'd8:completei2e10:downloadedi7e10:incompletei1e'
		printf '14:x-bt-info-hash20:'
		printf "$(sed 's/../\\x&/g' <<<"$H")"
		printf '12:x-bt-torrent9:t.torrent12:x-bt-tracker%d:%se' \
		    "${#url}" "$url"
	} >"$BATS_TEST_TMPDIR/want"
	run cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
	assert_success
	run tail -n 1 "$HT_LOG"
	assert_output "udp scrape conn=1122334455667788 info_hash=$H"
}

@test "UDP: replies with another transaction id are ignored, then status 69" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start txid
	run -69 --separate-stderr timeout 30 bt-announce --timeout 0.2 --retries 1 --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	[[ $stderr == "bt-announce: udp://127.0.0.1:$HT_PORT/announce: no answer to connect after 2 tries ("*" s); 2 replies ignored, the last a reply with another transaction id" ]]
}

@test "UDP: a reply with the wrong action is malformed, status 65" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start action
	run -65 --separate-stderr bt-announce --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: udp://127.0.0.1:$HT_PORT/announce: reply has action 2, expected 0"
}

@test "UDP: a tracker that never replies: status 69 after the retransmissions" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start silent
	run -69 --separate-stderr timeout 30 bt-announce --timeout 0.1 --retries 2 --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	[[ $stderr == "bt-announce: udp://127.0.0.1:$HT_PORT/announce: no answer to connect after 3 tries ("*" s)" ]]
	run grep -c '^udp connect$' "$HT_LOG"
	assert_output 3
}

@test "UDP: the error action's text is shown escaped, its NUL not trusted" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start error
	run -69 --separate-stderr bt-announce --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	assert_equal "$stderr" "bt-announce: udp://127.0.0.1:$HT_PORT/announce: tracker failure: no\\x00such \\x1b[31mtorrent"
}

@test "UDP: a reply too short to carry a transaction id is ignored" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start garbage
	run -69 --separate-stderr timeout 30 bt-announce --timeout 0.2 --retries 0 --tracker "udp://127.0.0.1:$HT_PORT/announce" t.torrent
	[[ $stderr == *": no answer to announce after 1 tries ("*" s); 1 replies ignored, the last a reply shorter than 8 bytes" ]]
}

@test "IPv6: a UDP tracker on ::1 answers with peers6, an HTTP one is asked too" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start -6 ok
	run --separate-stderr bash -o pipefail -c "bt-announce --all --tracker 'udp://[::1]:$HT_PORT/announce' --tracker 'http://[::1]:$HT_PORT/announce' t.torrent | bt-peers"
	assert_success
	# --all asks both at once: their answers come in either order.
	assert_equal "$(printf '%s\n' "${lines[@]:2}" | LC_ALL=C sort)" \
	    "127.0.0.1 6881
127.0.0.2 6882
::1 6881"
}

@test "an unsupported tracker scheme is skipped with a message" {
	cd "$BATS_FILE_TMPDIR"
	run -69 --separate-stderr bt-announce --tracker wss://127.0.0.1:1/x t.torrent
	assert_equal "$stderr" "bt-announce: wss://127.0.0.1:1/x: unsupported tracker URL (only http, https and udp)"
}

@test "a missing torrent is status 66, a malformed one 65" {
	cd "$BATS_TEST_TMPDIR"
	run -66 --separate-stderr bt-announce nosuch.torrent
	assert_equal "$stderr" "bt-announce: nosuch.torrent: No such file or directory"
	echo 'not bencode' >bad.torrent
	run -65 --separate-stderr bt-announce bad.torrent
	[[ $stderr == "bt-announce: bad.torrent: "* ]]
}

@test "reads the torrent from standard input as -" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 - <t.torrent | bt-peers'
	assert_success
	assert_equal "${lines[1]}" "# torrent -"
}

@test "usage errors are status 64" {
	run -64 --separate-stderr bt-announce
	[[ ${stderr_lines[0]} == "usage: bt-announce "* ]]
	run -64 --separate-stderr bt-announce --event sometimes x.torrent
	assert_equal "$stderr" "bt-announce: --event: 'sometimes' is not started, completed, stopped or none"
	run -64 --separate-stderr bt-announce --peer-id short x.torrent
	assert_equal "$stderr" "bt-announce: --peer-id: expected 20 bytes or 40 hex digits"
	run -64 --separate-stderr bt-announce --port 0 x.torrent
	[[ $stderr == "bt-announce: --port: "* ]]
	run -64 --separate-stderr bt-announce --timeout 0 x.torrent
	[[ $stderr == "bt-announce: --timeout: "* ]]
	run -64 --separate-stderr bt-announce --retries 9 x.torrent
	[[ $stderr == "bt-announce: --retries: "* ]]
}

@test "a write error on standard output is status 74" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	run -74 --separate-stderr bash -c "bt-announce --tracker http://127.0.0.1:$HT_PORT/announce t.torrent >/dev/full"
	assert_equal "$stderr" "bt-announce: write error on standard output: No space left on device"
}

@test "a tracker URL longer than BT_TRACKER_MAX_URL is refused, status 65" {
	cd "$BATS_FILE_TMPDIR"
	long=udp://127.0.0.1:1/$(printf 'a%.0s' {1..4100})
	run -65 --separate-stderr bt-announce --tracker "$long" t.torrent
	[[ $stderr == *": URL longer than 4096 bytes (limit BT_TRACKER_MAX_URL)" ]]
}

# --- magnet links (BEP 9) ---------------------------------------------

# The info hash in base32 (RFC 4648), as some sites write it.
b32_of() {
	/usr/bin/python3 -c 'import base64, sys
print(base64.b32encode(bytes.fromhex(sys.argv[1])).decode())' "$1"
}

# The peer list for the torrent itself, without its "# torrent" line: what
# a magnet link of the same info hash must give (earlier tests may have
# registered more peers, so it is asked now, not written out).
torrent_peers() {
	bt-announce --port 7100 t.torrent | bt-peers | grep -v '^# torrent ' |
	    sort
}

# Every byte of a URL that is not unreserved as %XX: a tr value.
pct_url() {
	/usr/bin/python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

@test "a magnet link announces over HTTP: bt-peers lists the peers under # info-hash and no # torrent" {
	cd "$BATS_FILE_TMPDIR"
	link="magnet:?xt=urn:btih:$H&dn=data.bin&tr=$(pct_url "$OT_ANNOUNCE")"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 "$1" | bt-peers' _ "$link"
	assert_success
	assert_equal "${lines[0]}" "# info-hash $H"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" \
	    "$(torrent_peers)"
	assert_line "127.0.0.1 $LT_PORT"
	assert_line "127.0.0.1 7003"
	refute_line --partial "# torrent"
	assert_equal "$stderr" ""
}

@test "a magnet link announces over UDP" {
	cd "$BATS_FILE_TMPDIR"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 "$1" | bt-peers' _ \
	    "magnet:?xt=urn:btih:$H&tr=$OT_UDP_ANNOUNCE"
	assert_success
	assert_equal "${lines[0]}" "# info-hash $H"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" \
	    "$(torrent_peers)"
	assert_line "127.0.0.1 $LT_PORT"
	refute_line --partial "# torrent"
}

@test "a magnet link's answer carries the info hash and the tracker, not x-bt-torrent" {
	cd "$BATS_FILE_TMPDIR"
	printf 'd5:peers6:\x7f\x00\x00\x01\x1a\xe18:intervali900e12:x-bt-torrent4:evile' \
	    >"$BATS_TEST_TMPDIR/body"
	hostile_start -b "$BATS_TEST_TMPDIR/body" ok
	url=http://127.0.0.1:$HT_PORT/announce
	bt-announce "magnet:?xt=urn:btih:$H&tr=$url" >"$BATS_TEST_TMPDIR/out"
	{
		printf 'd8:intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1'
		printf '14:x-bt-info-hash20:'
		printf "$(sed 's/../\\x&/g' <<<"$H")"
		printf '12:x-bt-tracker%d:%se' "${#url}" "$url"
	} >"$BATS_TEST_TMPDIR/want"
	run cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
	assert_success
}

@test "the base32, hex and upper-case hex forms of a link give the same answer" {
	cd "$BATS_FILE_TMPDIR"
	for ih in "$H" "${H^^}" "$(b32_of "$H")"; do
		bt-announce --port 7100 --peer-id -XX0001-abcdefghijkl \
		    "magnet:?xt=urn:btih:$ih&tr=$OT_ANNOUNCE" | bt-peers |
		    sort >"$BATS_TEST_TMPDIR/$ih"
	done
	run cat "$BATS_TEST_TMPDIR/$(b32_of "$H")"
	assert_line "# info-hash $H"
	assert_line "127.0.0.1 $LT_PORT"
	run diff "$BATS_TEST_TMPDIR/$H" "$BATS_TEST_TMPDIR/$(b32_of "$H")"
	assert_success
	run diff "$BATS_TEST_TMPDIR/$H" "$BATS_TEST_TMPDIR/${H^^}"
	assert_success
}

@test "a magnet link's trackers are asked in the link's order, a dead first one skipped" {
	cd "$BATS_FILE_TMPDIR"
	link="magnet:?xt=urn:btih:$H&tr=http://127.0.0.1:$DEAD/announce"
	link+="&tr.1=udp://127.0.0.1:$DEADU/announce&tr=$OT_ANNOUNCE"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 --timeout 0.2 --retries 1 "$1" | bt-peers' \
	    _ "$link"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" \
	    "$(torrent_peers)"
	assert_equal "${#stderr_lines[@]}" 2
	[[ ${stderr_lines[0]} == "bt-announce: http://127.0.0.1:$DEAD/announce: "* ]]
	assert_equal "${stderr_lines[1]}" \
	    "bt-announce: udp://127.0.0.1:$DEADU/announce: Connection refused"
}

@test "--tracker overrides a magnet link's trackers" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	url=http://127.0.0.1:$HT_PORT/announce
	run bash -o pipefail -c 'bt-announce --tracker "$1" "$2" | bt-decode' \
	    _ "$url" "magnet:?xt=urn:btih:$H&tr=$OT_ANNOUNCE"
	assert_success
	assert_output --partial "\"x-bt-tracker\":\"$url\"}"
	run grep -c "^GET /announce?info_hash=$(urlenc_hex "$H")&" "$HT_LOG"
	assert_output 1
}

@test "a magnet link announces left=16384 (unknown size, not a seed) unless --left is given" {
	cd "$BATS_FILE_TMPDIR"
	hostile_start ok
	link="magnet:?xt=urn:btih:$H&tr=http://127.0.0.1:$HT_PORT/announce"
	bt-announce "$link" >/dev/null
	bt-announce --left 0 "$link" >/dev/null
	run grep -o '&left=[0-9]*&' "$HT_LOG"
	assert_output "&left=16384&
&left=0&"
}

@test "--scrape works with a magnet link over HTTP and UDP" {
	cd "$BATS_FILE_TMPDIR"
	for tr in "$OT_ANNOUNCE" "$OT_UDP_ANNOUNCE"; do
		# The torrent's own scrape, less its x-bt-torrent key.
		want=$(bt-announce --scrape -T "$tr" t.torrent | bt-decode |
		    sed 's/"x-bt-torrent":"t.torrent",//')
		run bash -o pipefail -c 'bt-announce --scrape "$1" | bt-decode' \
		    _ "magnet:?xt=urn:btih:$H&tr=$tr"
		assert_success
		assert_output "$want"
		assert_output --regexp '^\{"complete":[1-9][0-9]*,'
		refute_output --partial x-bt-torrent
	done
}

@test "a magnet link without a tracker is status 69, or asks the one given" {
	cd "$BATS_FILE_TMPDIR"
	run -69 --separate-stderr bt-announce "magnet:?xt=urn:btih:$H&dn=x"
	assert_output ""
	assert_equal "$stderr" "bt-announce: magnet:?xt=urn:btih:$H&dn=x: no tracker in the magnet link (give one with --tracker)"
	run --separate-stderr bash -o pipefail -c \
	    'bt-announce --port 7100 -T "$1" "$2" | bt-peers' _ \
	    "$OT_ANNOUNCE" "magnet:?xt=urn:btih:$H"
	assert_success
	assert_equal "${lines[0]}" "# info-hash $H"
}

@test "bad magnet links: one line naming the link and why, status 65" {
	cd "$BATS_FILE_TMPDIR"
	bad=magnet:?xt=urn:btih:${H:0:38}zz
	run -65 --separate-stderr bt-announce "$bad"
	assert_output ""
	assert_equal "$stderr" "bt-announce: $bad: xt: info hash of 40 characters is not hex: 'z' at character 39"
	bad=magnet:?xt=urn:btih:${H:0:39}
	run -65 --separate-stderr bt-announce "$bad"
	assert_equal "$stderr" "bt-announce: $bad: xt: info hash of 39 characters: want 40 hex digits or 32 base32 characters"
	bad=magnet:?xt=urn:btmh:1220${H}aaaaaaaaaaaaaaaaaaaaaaaa
	run -65 --separate-stderr bt-announce "$bad"
	assert_equal "$stderr" "bt-announce: ${bad:0:80}...: v2 magnet links (urn:btmh) are not supported"
	bad="magnet:?xt=urn:btih:$H&dn=100%"
	run -65 --separate-stderr bt-announce "$bad"
	assert_equal "$stderr" "bt-announce: $bad: dn: bad percent escape '%'"
	bad="magnet:?xt=urn:btih:$H&tr=$OT_ANNOUNCE%zz"
	run -65 --separate-stderr bt-announce "$bad"
	assert_equal "$stderr" "bt-announce: ${bad:0:80}...: tr: bad percent escape '%zz'"
	run -65 --separate-stderr bt-announce "magnet:?dn=x&tr=$OT_ANNOUNCE"
	assert_equal "$stderr" "bt-announce: magnet:?dn=x&tr=$OT_ANNOUNCE: no info hash (xt=urn:btih:)"
}

@test "a bad magnet link is shown escaped and cut, its control bytes never raw" {
	cd "$BATS_FILE_TMPDIR"
	run -65 --separate-stderr bt-announce $'magnet:?\e[31mxt=urn:btih:12'
	assert_equal "$stderr" 'bt-announce: magnet:?\x1b[31mxt=urn:btih:12: no info hash (xt=urn:btih:)'
	bad="magnet:?xt=urn:btih:$H&tr=$(printf 'x%.0s' {1..200})"
	run -65 --separate-stderr bt-announce "$bad"
	assert_equal "$stderr" "bt-announce: ${bad:0:80}...: tr: 'x$(printf 'x%.0s' {1..59})...' is not a URL"
}

@test "a magnet link longer than BT_MAGNET_MAX_BYTES is refused, status 65" {
	cd "$BATS_FILE_TMPDIR"
	bad="magnet:?xt=urn:btih:$H&x=$(head -c 70000 /dev/zero | tr '\0' a)"
	run -65 --separate-stderr bt-announce "$bad"
	assert_equal "$stderr" "bt-announce: ${bad:0:80}...: magnet link longer than 65536 bytes (limit BT_MAGNET_MAX_BYTES)"
}
