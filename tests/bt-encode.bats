#!/usr/bin/env bats
# bt-encode: JSON to bencode, the exact reverse of bt-decode.

bats_require_minimum_version 1.5.0
load helper

TRACKER=http://127.0.0.1:1/announce

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/multi/sub/deep" "$d/multi/日本"
	rand_file "$d/multi/a.bin" 100000
	: >"$d/multi/empty"
	rand_file "$d/multi/sub/deep/z" 300
	rand_file "$d/multi/日本/データ.bin" 2000
	rand_file "$d/one.bin" 70000
	mktorrent -l 15 -a "$TRACKER" -c "a comment" \
	    -o "$d/m-multi.torrent" "$d/multi" >/dev/null
	mktorrent -l 15 -a "$TRACKER" -a http://127.0.0.1:2/b \
	    -o "$d/m-one.torrent" "$d/one.bin" >/dev/null
	transmission-create -o "$d/t-multi.torrent" -t "$TRACKER" \
	    "$d/multi" >/dev/null 2>&1
	transmission-create -o "$d/t-one.torrent" -t "$TRACKER" -p \
	    "$d/one.bin" >/dev/null 2>&1
}

# bt-encode on the JSON $1 fails with 65 and exactly the message $2.
refused() {
	printf '%s' "$1" >"$BATS_TEST_TMPDIR/in.json"
	run -65 --separate-stderr bt-encode "$BATS_TEST_TMPDIR/in.json"
	assert_equal "$stderr" "bt-encode: $BATS_TEST_TMPDIR/in.json: $2"
	assert_output ""
}

round_trip() {
	run -0 bash -o pipefail -c "bt-decode '$1' | bt-encode | cmp - '$1'"
}

@test "round-trips a mktorrent torrent byte for byte: one file" {
	round_trip "$BATS_FILE_TMPDIR/m-one.torrent"
}

@test "round-trips a mktorrent torrent byte for byte: folders, empty file, UTF-8 names" {
	round_trip "$BATS_FILE_TMPDIR/m-multi.torrent"
}

@test "round-trips a transmission-create torrent byte for byte: one file, private" {
	round_trip "$BATS_FILE_TMPDIR/t-one.torrent"
}

@test "round-trips a transmission-create torrent byte for byte: folders, UTF-8 names" {
	round_trip "$BATS_FILE_TMPDIR/t-multi.torrent"
}

@test "round-trips through jq's pretty printing" {
	local t=$BATS_FILE_TMPDIR/m-multi.torrent
	run -0 bash -o pipefail -c "bt-decode '$t' | jq . | bt-encode | cmp - '$t'"
}

@test "round-trips strings that are not UTF-8 or start with hex:" {
	printf 'l2:\xff\x004:hex:6:hex:zzd1:\x80i-1eee' >"$BATS_TEST_TMPDIR/b"
	run -0 bash -o pipefail -c "bt-decode '$BATS_TEST_TMPDIR/b' | bt-encode | cmp - '$BATS_TEST_TMPDIR/b'"
}

@test "round-trips DEL, C1 and bidi controls, which bt-decode writes as \\u escapes" {
	printf '6:\x7f\xc2\x9b\xe2\x80\xae' >"$BATS_TEST_TMPDIR/b"
	run -0 bt-decode "$BATS_TEST_TMPDIR/b"
	assert_output '"\u007f\u009b\u202e"'
	run -0 bash -o pipefail -c "bt-decode '$BATS_TEST_TMPDIR/b' | bt-encode | cmp - '$BATS_TEST_TMPDIR/b'"
}

@test "round-trips a piece stream whose strings span many reads" {
	local s=$BATS_TEST_TMPDIR/stream
	cat "$BATS_FILE_TMPDIR/m-one.torrent" >"$s"
	for i in 0 1 2; do
		printf 'd5:indexi%de5:piece300000:' "$i" >>"$s"
		head -c 300000 /dev/urandom >>"$s"
		printf 'e' >>"$s"
	done
	run -0 bash -o pipefail -c "cat '$s' | bt-decode | bt-encode | cmp - '$s'"
}

@test "the jq edit pipeline changes the tracker and keeps the info hash" {
	local t=$BATS_FILE_TMPDIR/m-multi.torrent g=$BATS_TEST_TMPDIR/g.torrent
	bt-decode "$t" | jq '.announce = "http://127.0.0.1:9/announce"' |
	    bt-encode >"$g"
	run -0 bt-decode -i "$g"
	assert_line '  tier 1: http://127.0.0.1:9/announce'
	assert_line "Info hash: $(transmission-show "$t" | sed -n 's/^  Hash: //p')"
	assert_equal "$(transmission-show "$g" | sed -n '/^  Tier #1$/{n;s/^  //p}')" \
	    "http://127.0.0.1:9/announce"
	run -0 bt-decode -s "$g"
}

@test "encodes integers exactly, int64 extremes included" {
	run -0 bash -c "printf '0 -42 9223372036854775807 -9223372036854775808' | bt-encode"
	assert_output 'i0ei-42ei9223372036854775807ei-9223372036854775808e'
}

@test "encodes escapes and UTF-8 to their bytes" {
	printf '%s' '"a\"b\\c\/\u0001\n\u00e9\ud83d\ude00é"' | bt-encode >"$BATS_TEST_TMPDIR/out"
	printf '16:a"b\\c/\x01\n\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9' >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
}

@test "encodes hex: strings to their bytes, keys too" {
	printf '%s' '{"hex:ff00":"hex:","hex:6865783a":"x"}' | bt-encode >"$BATS_TEST_TMPDIR/out"
	printf 'd2:\xff\x000:4:hex:1:xe' >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
}

@test "keeps object key order, does not sort" {
	run -0 bash -c "printf '%s' '{\"b\":1,\"a\":[],\"c\":{}}' | bt-encode"
	assert_output 'd1:bi1e1:ale1:cdee'
}

@test "encodes several values back to back, one a line or not" {
	run -0 bash -c "printf '1\n\"a\"\n[2] {\"k\":\"v\"}[]\n' | bt-encode"
	assert_output 'i1e1:ali2eed1:k1:vele'
}

@test "reads standard input when no file or - is given" {
	run -0 bash -c "echo '[1]' | bt-encode -"
	assert_output 'li1ee'
}

@test "writes the values before a bad one, then fails" {
	run -65 --separate-stderr bash -c "printf '1 2\n  3.5' | bt-encode"
	assert_output 'i1ei2e'
	assert_equal "$stderr" 'bt-encode: stdin: line 2, column 3: number with a fraction or exponent has no bencode form (bencode has only integers)'
}

@test "refuses a float" {
	refused '{"a":[1.25]}' 'line 1, column 7: number with a fraction or exponent has no bencode form (bencode has only integers)'
}

@test "refuses an exponent" {
	refused '1e3' 'line 1, column 1: number with a fraction or exponent has no bencode form (bencode has only integers)'
}

@test "refuses true" {
	refused '[true]' 'line 1, column 2: true has no bencode form'
}

@test "refuses false" {
	refused '{"private":false}' 'line 1, column 12: false has no bencode form'
}

@test "refuses null, naming its line and column" {
	refused $'{\n  "a": null\n}' 'line 2, column 8: null has no bencode form'
}

@test "refuses an integer over int64" {
	refused '9223372036854775808' 'line 1, column 1: integer out of the 64-bit range'
}

@test "refuses an integer under int64" {
	refused '[-9223372036854775809]' 'line 1, column 2: integer out of the 64-bit range'
}

@test "refuses -0" {
	refused '-0' 'line 1, column 1: -0 has no bencode form'
}

@test "refuses a leading zero" {
	refused '007' 'line 1, column 1: leading zero in a number'
}

@test "refuses a hex: string with an odd digit count" {
	refused '"hex:abc"' 'line 1, column 1: "hex:" string with an odd number of digits or a non-hex digit'
}

@test "refuses a lone surrogate" {
	refused '"ab\ud800"' 'line 1, column 4: lone high surrogate \ud800 has no UTF-8 form'
}

@test "refuses a raw control character in a string" {
	refused $'"a\tb"' 'line 1, column 3: control character 0x09 in a string (must be escaped)'
}

@test "refuses a string that is not UTF-8" {
	printf '["\xff"]' >"$BATS_TEST_TMPDIR/in.json"
	run -65 --separate-stderr bt-encode "$BATS_TEST_TMPDIR/in.json"
	assert_equal "$stderr" "bt-encode: $BATS_TEST_TMPDIR/in.json: line 1, column 2: string is not valid UTF-8"
}

@test "refuses an unterminated array" {
	refused '[1,2' 'line 1, column 5: unexpected end of input inside an array'
}

@test "refuses a missing colon" {
	refused '{"a" 1}' "line 1, column 6: unexpected character '1' (expected ':' after an object key)"
}

@test "refuses a trailing comma" {
	refused '{"a":1,}' "line 1, column 8: unexpected character '}' (expected an object key)"
}

@test "refuses a key that is not a string" {
	refused '{1:2}' 'line 1, column 2: object key is not a string'
}

@test "refuses garbage" {
	refused 'hello' "line 1, column 1: unexpected character 'h'"
}

@test "refuses nesting 100000 deep at the depth limit, without crashing" {
	head -c 100000 /dev/zero | tr '\0' '[' >"$BATS_TEST_TMPDIR/in.json"
	run -65 --separate-stderr bt-encode "$BATS_TEST_TMPDIR/in.json"
	assert_equal "$stderr" "bt-encode: $BATS_TEST_TMPDIR/in.json: line 1, column 101: nesting deeper than 100 (limit BT_JSON_MAX_DEPTH)"
}

@test "refuses empty input" {
	refused $'  \n' 'empty input'
}

@test "exits 66 on a missing file" {
	run -66 --separate-stderr bt-encode "$BATS_TEST_TMPDIR/nope"
	assert_equal "$stderr" "bt-encode: $BATS_TEST_TMPDIR/nope: No such file or directory"
}

@test "exits 64 with the synopsis on an option or two files" {
	run -64 --separate-stderr bt-encode -x
	assert_equal "$stderr" "bt-encode: unknown option '-x'
usage: bt-encode [file | -]"
	run -64 --separate-stderr bt-encode a b
	assert_equal "$stderr" "usage: bt-encode [file | -]"
}
