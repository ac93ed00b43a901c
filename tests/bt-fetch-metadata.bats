#!/usr/bin/env bats
# bt-fetch-metadata against real seeders (aria2c, libtorrent) and the
# hostile metadata peer (tests/tools/hostile-metadata), all on 127.0.0.1.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# 3,052 pieces of 16 KiB: metadata of 4 BEP 9 pieces, the last short.
	mkdir -p "$d/data"
	rand_file "$d/data/big" 50000000
	transmission-create -s 16 -t http://127.0.0.1:1/announce \
	    -o "$d/big.torrent" "$d/data/big" >/dev/null
	# A multi-file torrent made by bt-create, for the libtorrent seeder.
	mkdir -p "$d/multi/set/sub"
	rand_file "$d/multi/set/a" 100000
	rand_file "$d/multi/set/sub/b" 700001
	bt-create -o "$d/multi.torrent" "$d/multi/set" >/dev/null
	md_info "$d/big.torrent" >"$d/big.info"
	md_info "$d/multi.torrent" >"$d/multi.info"
	info_hash_of "$d/big.torrent" >"$d/big.hash"
	info_hash_of "$d/multi.torrent" >"$d/multi.hash"

	md_shared AR seed_aria2 "$d/big.torrent" "$d/data"
	md_shared LT seed_lt "$d/big.torrent" "$d/data"
	md_shared LTMULTI seed_lt "$d/multi.torrent" "$d/multi"
	wait
	for n in AR LT LTMULTI; do
		[ -s "$d/pid.$n" ] ||
		    { echo "seeder $n did not start" >&2; return 1; }
	done
}

teardown_file() {
	md_shared_stop
}

setup() {
	d=$BATS_FILE_TMPDIR
	IH=$(cat "$d/big.hash")
	AR=$(cat "$d/port.AR")
	LT=$(cat "$d/port.LT")
	SZ=$(stat -c %s "$d/big.info")
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	md_stop
	return 0
}

# A line of $stderr matches the glob PATTERN: in_stderr PATTERN
in_stderr() {
	local l
	while IFS= read -r l; do
		# shellcheck disable=SC2053
		[[ "$l" == $1 ]] && return 0
	done <<<"$stderr"
	printf 'no line "%s" in:\n%s\n' "$1" "$stderr" >&2
	return 1
}

# A hostile peer listed first, a good one after it that answers only once
# the client has given the hostile one up (so the hostile one's line is
# always printed): bad_then_good MODE; sets BAD and GOOD (their ports).
bad_then_good() {
	md_hostile "$1" "$d/big.torrent" -G gate || return 1
	BAD=$MD_PORT
	md_hostile good "$d/big.torrent" -W gate || return 1
	GOOD=$MD_PORT
	printf '127.0.0.1 %s\n127.0.0.1 %s\n' "$BAD" "$GOOD" >peers
}

@test "prints its usage and exits 64 with two arguments" {
	run -64 --separate-stderr bt-fetch-metadata "$IH" "$IH" </dev/null
	assert_output ""
	assert_equal "$stderr" "usage: bt-fetch-metadata [-qv] [-p PEERS] \
[--timeout SECONDS] [MAGNET | INFOHASH]"
}

@test "exits 64 on an unknown option" {
	run -64 --separate-stderr bt-fetch-metadata -x "$IH" </dev/null
	[[ "$stderr" == "bt-fetch-metadata: unknown option '-x'"* ]]
}

@test "exits 64 on a --timeout that is not a number of seconds" {
	run -64 --separate-stderr bt-fetch-metadata --timeout 0 "$IH" \
	    </dev/null
	[[ "$stderr" == "bt-fetch-metadata: --timeout: "* ]]
	run -64 --separate-stderr bt-fetch-metadata --timeout 2x "$IH" \
	    </dev/null
	[[ "$stderr" == "bt-fetch-metadata: --timeout: "* ]]
}

@test "exits 64 without an info hash in the arguments or the peer list" {
	run -64 --separate-stderr bt-fetch-metadata <<<"127.0.0.1 1"
	assert_equal "${stderr%%$'\n'*}" "bt-fetch-metadata: no info hash: \
give a magnet link, an info hash or a \"# info-hash\" line"
}

@test "exits 65 on an info hash that is neither hex nor base32" {
	run -65 --separate-stderr bt-fetch-metadata 0123456789abcdef </dev/null
	assert_output ""
	[[ "$stderr" == "bt-fetch-metadata: not a magnet link: "* ]]
}

@test "exits 65 on a bad magnet link" {
	run -65 --separate-stderr bt-fetch-metadata 'magnet:?dn=x' </dev/null
	assert_output ""
	[[ "$stderr" == "bt-fetch-metadata: "* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
}

@test "exits 65 when the peer list is for another info hash" {
	run -65 --separate-stderr bt-fetch-metadata "$IH" <<-EOF
	# info-hash $(printf '%040d' 7)
	127.0.0.1 1
	EOF
	assert_equal "$stderr" "bt-fetch-metadata: -: the peer list is for \
another torrent (info hash differs)"
}

@test "exits 65 on a malformed peer list, naming the line" {
	run -65 --separate-stderr bt-fetch-metadata "$IH" <<<"not a peer"
	[[ "$stderr" == "bt-fetch-metadata: -: "*"line 1"* ]]
}

@test "exits 66 when the -p file is missing" {
	run -66 --separate-stderr bt-fetch-metadata -p nosuch "$IH"
	[[ "$stderr" == "bt-fetch-metadata: nosuch: "* ]]
}

@test "exits 69 with an empty peer list" {
	run -69 --separate-stderr bt-fetch-metadata "$IH" </dev/null
	assert_output ""
	assert_equal "$stderr" "bt-fetch-metadata: no peer gave the metadata: \
0 peers tried, 0 banned"
}

@test "fetches the metadata from an aria2c seeder: the same info bytes" {
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata $IH <<<'127.0.0.1 $AR' >out.torrent"
	assert_equal "$stderr" ""
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
	run -0 bt-decode -i out.torrent
	assert_line "Info hash: $IH"
}

@test "fetches the metadata from a libtorrent seeder: the same info bytes" {
	run -0 bash -c "bt-fetch-metadata $IH <<<'127.0.0.1 $LT' >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
	run -0 bt-decode -i out.torrent
	assert_line "Info hash: $IH"
}

@test "fetches a bt-create torrent's metadata from libtorrent" {
	local ih
	ih=$(cat "$d/multi.hash")
	run -0 bash -c "bt-fetch-metadata $ih \
	    <<<'127.0.0.1 $(cat "$d/port.LTMULTI")' >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/multi.info" out.info
}

@test "writes the magnet's trackers and web seeds around the info dict" {
	local tr1=http://127.0.0.1:1/announce tr2=udp://127.0.0.1:2 \
	    ws=http://127.0.0.1:3/big
	local link="magnet:?xt=urn:btih:$IH&dn=big"
	link+="&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce&tr=$tr2&ws=$ws"
	run -0 bash -c "bt-fetch-metadata '$link' <<<'127.0.0.1 $AR' \
	    >out.torrent"
	{
		printf 'd8:announce%d:%s' ${#tr1} "$tr1"
		printf '13:announce-listll%d:%sel%d:%see' ${#tr1} "$tr1" \
		    ${#tr2} "$tr2"
		printf '4:info'
		cat "$d/big.info"
		printf '8:url-listl%d:%see' ${#ws} "$ws"
	} >want.torrent
	cmp want.torrent out.torrent
}

@test "takes the info hash in base32" {
	run -0 bash -c "bt-fetch-metadata $(md_base32 "$IH") \
	    <<<'127.0.0.1 $AR' >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "takes the info hash from the peer list's '# info-hash' line" {
	printf '# info-hash %s\n127.0.0.1 %s\n' "$IH" "$LT" >peers
	run -0 bash -c "bt-fetch-metadata -p peers >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
	# Only the info dict: no tracker was given.
	{ printf 'd4:info'; cat "$d/big.info"; printf 'e'; } >want.torrent
	cmp want.torrent out.torrent
}

@test "uses the magnet's x.pe peers when no other peer is listed" {
	run -0 bash -c "bt-fetch-metadata \
	    'magnet:?xt=urn:btih:$IH&x.pe=127.0.0.1:$AR' </dev/null \
	    >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "says what it asked with the BEP 10 bit, and asks 2 pieces at once" {
	md_hostile silent "$d/big.torrent" -L log
	run -75 --separate-stderr bt-fetch-metadata --timeout 1 "$IH" \
	    <<<"127.0.0.1 $MD_PORT"
	# BT_METADATA_MAX_REQ: the silent peer never answers the first two.
	run cat log
	assert_output "ext-bit 1
ut_metadata 1
request 0
request 1"
}

@test "asks every piece once of a good peer" {
	md_hostile good "$d/big.torrent" -L log
	run -0 bash -c "bt-fetch-metadata $IH <<<'127.0.0.1 $MD_PORT' \
	    >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
	run grep '^request' log
	assert_output "request 0
request 1
request 2
request 3"
}

@test "bans a peer whose metadata fails the SHA-1; the next peer gives it" {
	bad_then_good wronghash
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	local h
	h=$(/usr/bin/python3 -c 'import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x20
print(hashlib.sha1(b).hexdigest())' "$d/big.info")
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: metadata of \
$SZ bytes fails its SHA-1 ($h, not the info hash)"
	in_stderr "bt-fetch-metadata: metadata of $SZ bytes from \
127.0.0.1 $GOOD in "*
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "bans a peer announcing a metadata_size over BT_METADATA_MAX_BYTES" {
	bad_then_good oversize
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: extension \
handshake: metadata_size 16777217 out of range 1..16777216 (limit \
BT_METADATA_MAX_BYTES)"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "bans a peer sending a metadata piece out of range" {
	bad_then_good range
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: piece 7 out \
of range: $SZ bytes of metadata are 4 pieces of 16384 bytes"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "bans a peer sending a metadata piece of the wrong length" {
	bad_then_good short
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: piece 0 of \
16383 bytes, not 16384 (limit BT_METADATA_PIECE)"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "bans a peer whose total_size is not its handshake's" {
	bad_then_good total
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: total_size \
$((SZ + 1)), not the metadata_size $SZ of its extension handshake"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "bans a peer sending a ut_metadata message longer than a piece" {
	bad_then_good bigmsg
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: ut_metadata \
message of * bytes, more than a piece and its dict (limit \
BT_METADATA_PIECE)"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "bans a peer sending a length prefix over BT_WIRE_MAX_MSG" {
	bad_then_good hugelen
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: banned: message of \
268435456 bytes over the limit of 1048592 (limit BT_WIRE_MAX_MSG)"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "tries another peer after a reject" {
	bad_then_good reject
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: rejected metadata \
piece 0: another peer is tried"
	in_stderr "bt-fetch-metadata: metadata of $SZ bytes from \
127.0.0.1 $GOOD in "*" (2 peers tried, 0 banned)"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "gives up a peer whose handshake lacks the extension bit" {
	bad_then_good noext
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: 127.0.0.1 $BAD: no extension protocol \
bit (BEP 10) in its handshake: it cannot give metadata"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "ignores a ut_metadata message of an unknown type (BEP 9)" {
	md_hostile unknown "$d/big.torrent"
	printf '127.0.0.1 %s\n' "$MD_PORT" >peers
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -v -p peers $IH >out.torrent"
	in_stderr "bt-fetch-metadata: metadata of $SZ bytes from \
127.0.0.1 $MD_PORT in "*" (1 peers tried, 0 banned)"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "a silent peer does not keep the next one from giving the metadata" {
	md_hostile silent "$d/big.torrent"
	printf '127.0.0.1 %s\n127.0.0.1 %s\n' "$MD_PORT" "$AR" >peers
	run -0 bash -c "bt-fetch-metadata -p peers $IH >out.torrent"
	md_info out.torrent >out.info
	cmp "$d/big.info" out.info
}

@test "prints no peer line without -v" {
	bad_then_good short
	run -0 --separate-stderr bash -c \
	    "bt-fetch-metadata -p peers $IH >out.torrent"
	assert_equal "$stderr" ""
}

@test "exits 69 when only hostile peers are listed, saying how many" {
	local m
	: >peers
	for m in wronghash oversize range short total bigmsg hugelen \
	    reject noext; do
		md_hostile "$m" "$d/big.torrent"
		echo "127.0.0.1 $MD_PORT" >>peers
	done
	run -69 --separate-stderr bt-fetch-metadata -v -p peers "$IH"
	assert_output ""
	in_stderr "bt-fetch-metadata: no peer gave the metadata: 9 peers \
tried, 7 banned"
	[ "$(grep -c ': banned: ' <<<"$stderr")" -eq 7 ]
}

@test "exits 75 at --timeout with a silent peer" {
	md_hostile silent "$d/big.torrent"
	run -75 --separate-stderr bt-fetch-metadata --timeout 1 "$IH" \
	    <<<"127.0.0.1 $MD_PORT"
	assert_output ""
	assert_equal "$stderr" "bt-fetch-metadata: timed out after 1 s: no \
peer gave the metadata (1 peers tried, 0 banned)"
}

@test "exits 74 when standard output cannot be written" {
	md_hostile good "$d/big.torrent"
	run -74 --separate-stderr bash -c \
	    "bt-fetch-metadata $IH <<<'127.0.0.1 $MD_PORT' >/dev/full"
	[[ "$stderr" == "bt-fetch-metadata: "*"No space left on device"* ]]
}
