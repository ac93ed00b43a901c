#!/usr/bin/env bats
# bt-peers: tracker answers (bt-announce's stream, or saved files) to the
# peer list of bt(7). Answers are written byte by byte here, as trackers
# and bt-announce write them.

bats_require_minimum_version 1.5.0
load helper

IH=0123456789abcdef0123456789abcdef01234567

# The context keys bt-announce adds: ctx TORRENT-PATH
ctx() {
	printf '14:x-bt-info-hash20:'
	printf "$(sed 's/../\\x&/g' <<<"$IH")"
	printf '12:x-bt-torrent%d:%s' "${#1}" "$1"
	printf '12:x-bt-tracker27:http://127.0.0.1:1/announce'
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "compact IPv4 peers (BEP 23) become ADDRESS PORT lines after the context lines" {
	{
		printf 'd8:intervali1800e5:peers12:'
		printf '\x7f\x00\x00\x01\x1a\xe1\x0a\x01\x02\x03\xff\xff'
		ctx t.torrent
		printf 'e'
	} >ans
	run -0 --separate-stderr bt-peers ans
	assert_output "# info-hash $IH
# torrent t.torrent
127.0.0.1 6881
10.1.2.3 65535"
	assert_equal "$stderr" ""
}

@test "compact IPv6 peers (BEP 7, peers6) are written as inet_ntop writes them" {
	{
		printf 'd5:peers0:6:peers636:'
		printf '\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x1a\xe1'
		printf '\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01\0\x50'
		printf 'e'
	} >ans
	run -0 bt-peers ans
	assert_output "2001:db8::1 6881
::ffff:127.0.0.1 80"
}

@test "the dictionary model (BEP 3) is read; a peer named by a host name is skipped with a warning" {
	printf 'd5:peersld2:ip9:127.0.0.27:peer id20:AAAAAAAAAAAAAAAAAAAA4:porti6881eed2:ip3:::14:porti51413eed2:ip11:example.org4:porti1eeee' >ans
	run -0 --separate-stderr bt-peers ans
	assert_output "127.0.0.2 6881
::1 51413"
	assert_equal "$stderr" "bt-peers: ans: answer 1: 1 peers given by a host name skipped"
}

@test "each peer is written once, across answers and files" {
	printf 'd5:peers12:\x7f\0\0\x01\x1a\xe1\x7f\0\0\x01\x1a\xe1e' >a1
	printf 'd5:peers12:\x7f\0\0\x02\x1a\xe1\x7f\0\0\x01\x1a\xe1e' >a2
	run -0 bt-peers a1 a2 a1 - <a2
	assert_output "127.0.0.1 6881
127.0.0.2 6881"
}

@test "reads the stream from standard input, several answers one after another" {
	{
		printf 'd5:peers6:\x7f\0\0\x01\x1a\xe1'
		ctx x.torrent
		printf 'ed5:peers6:\x7f\0\0\x03\x1a\xe1'
		ctx x.torrent
		printf 'e'
	} >ans
	run -0 bt-peers <ans
	assert_output "# info-hash $IH
# torrent x.torrent
127.0.0.1 6881
127.0.0.3 6881"
}

@test "--json writes one object: info hash, torrent, peers" {
	{
		printf 'd5:peers6:\x7f\0\0\x01\x1a\xe16:peers618:'
		printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x1a\xe1'
		ctx 'my "t".torrent'
		printf 'e'
	} >ans
	run -0 bt-peers --json ans
	assert_output "{\"info_hash\":\"$IH\",\"torrent\":\"my \\\"t\\\".torrent\",\"peers\":[{\"ip\":\"127.0.0.1\",\"port\":6881},{\"ip\":\"::1\",\"port\":6881}]}"
	run jq -r '.peers[] | "\(.ip) \(.port)"' <<<"$output"
	assert_output "127.0.0.1 6881
::1 6881"
}

@test "a compact list not a multiple of 6 is status 65, named" {
	printf 'd5:peers7:\x7f\0\0\x01\x1a\xe1\x01e' >ans
	run -65 --separate-stderr bt-peers ans
	assert_output ""
	assert_equal "$stderr" "bt-peers: ans: answer 1: peers: compact list of 7 bytes is not a multiple of 6"
}

@test "a peers6 list not a multiple of 18 is status 65, named" {
	printf 'd5:peers0:6:peers66:\x7f\0\0\x01\x1a\xe1e' >ans
	run -65 --separate-stderr bt-peers ans
	assert_equal "$stderr" "bt-peers: ans: answer 1: peers6: compact list of 6 bytes is not a multiple of 18"
}

@test "a peer with port 0 is status 65, named" {
	printf 'd5:peers12:\x7f\0\0\x01\x1a\xe1\x7f\0\0\x02\0\0e' >ans
	run -65 --separate-stderr bt-peers ans
	assert_equal "$stderr" "bt-peers: ans: answer 1: peers: peer 2 has port 0"
	printf 'd5:peersld2:ip9:127.0.0.14:porti0eeee' >ans
	run -65 --separate-stderr bt-peers ans
	assert_equal "$stderr" "bt-peers: ans: answer 1: peers: entry 1 has port 0"
}

@test "what is not an announce answer is status 65, named" {
	printf 'li1ee' >a1
	run -65 --separate-stderr bt-peers a1
	assert_equal "$stderr" "bt-peers: a1: answer 1: not a tracker answer: not a dict"
	printf 'd8:intervali5ee' >a2
	run -65 --separate-stderr bt-peers a2
	assert_equal "$stderr" "bt-peers: a2: answer 1: not a tracker answer: no peers or peers6"
	printf 'd8:completei1e10:downloadedi0e10:incompletei0ee' >a3
	run -65 --separate-stderr bt-peers a3
	assert_equal "$stderr" "bt-peers: a3: answer 1: not a tracker answer: a scrape answer has no peers"
	printf 'd5:peersi5ee' >a4
	run -65 --separate-stderr bt-peers a4
	assert_equal "$stderr" "bt-peers: a4: answer 1: peers is neither a string nor a list"
}

@test "malformed bencode is status 65 with its offset" {
	printf 'd5:peers6:\x7f\0\0\x01\x1a\xe1ed5:peers' >ans
	run -65 --separate-stderr bt-peers ans
	assert_output "127.0.0.1 6881"
	assert_equal "$stderr" "bt-peers: ans: byte 25: stream ends inside a value"
}

@test "a failure reason is shown, status 69" {
	printf 'd14:failure reason10:go\x1b[2Jawaye' >ans
	run -69 --separate-stderr bt-peers ans
	assert_equal "$stderr" "bt-peers: ans: answer 1: tracker failure: go\\x1b[2Jaway"
}

@test "a bad answer does not stop the others: their peers are written, status 65" {
	printf 'd5:peers5:12345ed5:peers6:\x7f\0\0\x01\x1a\xe1e' >ans
	run -65 --separate-stderr bt-peers ans
	assert_output "127.0.0.1 6881"
	assert_equal "$stderr" "bt-peers: ans: answer 1: peers: compact list of 5 bytes is not a multiple of 6"
}

@test "an answer for another torrent is skipped, status 65" {
	{
		printf 'd5:peers6:\x7f\0\0\x01\x1a\xe1'
		ctx a.torrent
		printf 'e'
		printf 'd5:peers6:\x7f\0\0\x02\x1a\xe1'
		printf '14:x-bt-info-hash20:bbbbbbbbbbbbbbbbbbbbe'
	} >ans
	run -65 --separate-stderr bt-peers ans
	assert_output "# info-hash $IH
# torrent a.torrent
127.0.0.1 6881"
	assert_equal "$stderr" "bt-peers: ans: answer 2: answer for another torrent (info hash 6262626262626262626262626262626262626262), skipped"
}

@test "a missing file is status 66, the other files still read" {
	printf 'd5:peers6:\x7f\0\0\x01\x1a\xe1e' >ans
	run -66 --separate-stderr bt-peers nosuch ans
	assert_output "127.0.0.1 6881"
	assert_equal "$stderr" "bt-peers: nosuch: No such file or directory"
}

@test "an empty input is an empty peer list" {
	run -0 bt-peers </dev/null
	assert_output ""
}

@test "a torrent path with a newline is left out of the context, with a warning" {
	{
		printf 'd5:peers6:\x7f\0\0\x01\x1a\xe1'
		ctx $'a\nb'
		printf 'e'
	} >ans
	run -0 --separate-stderr bt-peers ans
	assert_output "# info-hash $IH
127.0.0.1 6881"
	assert_equal "$stderr" "bt-peers: ans: answer 1: torrent path has a newline or NUL: left out"
}

@test "usage errors are status 64" {
	run -64 --separate-stderr bt-peers --bogus
	assert_equal "${stderr_lines[-1]}" "usage: bt-peers [-j] [file ...]"
}

@test "a write error on standard output is status 74" {
	printf 'd5:peers6:\x7f\0\0\x01\x1a\xe1e' >ans
	run -74 --separate-stderr bash -c 'bt-peers ans >/dev/full'
	assert_equal "$stderr" "bt-peers: write error on standard output: No space left on device"
}
