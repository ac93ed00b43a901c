#!/usr/bin/env bats
# bt-decode: bencode to JSON, sequences, torrent summaries (-i), errors.

bats_require_minimum_version 1.5.0
load helper

TRACKER=http://127.0.0.1:1/announce

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/multi/sub/deep" "$d/multi/日本"
	rand_file "$d/multi/a.bin" 100000
	: >"$d/multi/empty"
	rand_file "$d/multi/sub/deep/z" 300
	rand_file "$d/multi/sub/é ü.txt" 5000
	rand_file "$d/multi/日本/データ.bin" 2000
	rand_file "$d/one.bin" 70000
	mktorrent -l 15 -a "$TRACKER" -o "$d/m-multi.torrent" "$d/multi" \
	    >/dev/null
	mktorrent -l 15 -a "$TRACKER" -o "$d/m-one.torrent" "$d/one.bin" \
	    >/dev/null
	transmission-create -o "$d/t-multi.torrent" -t "$TRACKER" \
	    "$d/multi" >/dev/null 2>&1
	transmission-create -o "$d/t-one.torrent" -t "$TRACKER" \
	    "$d/one.bin" >/dev/null 2>&1
	# BEP 52 torrents by libtorrent 2.0: v2-only and hybrid (its default).
	(cd "$d" && /usr/bin/python3 -c '
import sys, libtorrent as lt
for src in ("multi", "one.bin"):
    for kind, flags in (("v2", lt.create_torrent.v2_only), ("hy", 0)):
        fs = lt.file_storage()
        lt.add_files(fs, src)
        ct = lt.create_torrent(fs, 16384, flags=flags)
        lt.set_piece_hashes(ct, ".")
        open("lt-%s-%s.torrent" % (kind, src.split(".")[0]), "wb").write(
            lt.bencode(ct.generate()))')
}

# What bt-decode -i should print of torrent $1, as libtorrent reads it:
# the info hash lines and the file list (pads included, as libtorrent
# lays them out), each non-empty file followed by its pieces root.
lt_expect() {
	/usr/bin/python3 -c '
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
h = ti.info_hashes()
print("Info hash: %s" % (h.v1 if h.has_v1() else str(h.v2)[:40]))
print("Info hash v2: %s" % h.v2)
fs = ti.files()
print("Files: %d" % fs.num_files())
for i in range(fs.num_files()):
    print("  %d %s" % (fs.file_size(i), fs.file_path(i)))
    pad = fs.file_flags(i) & lt.file_storage.flag_pad_file
    if fs.file_size(i) > 0 and not pad:
        print("    pieces root: %s" % fs.root(i))' "$1"
}

# The lines of bt-decode -i that lt_expect predicts.
bt_expect() {
	sed -n -e '/^Info hash/p' -e '/^Files: /,$p' <<<"$1"
}

# Torrent $1 rewritten by python code $2 acting on d, its decoded dict
# (bytes keys), into $BATS_TEST_TMPDIR/x.torrent.
lt_edit() {
	/usr/bin/python3 -c '
import sys, libtorrent as lt
d = lt.bdecode(open(sys.argv[1], "rb").read())
info = d[b"info"]
ft = info[b"file tree"]
exec(sys.argv[2])
open(sys.argv[3], "wb").write(lt.bencode(d))' "$1" "$2" \
	    "$BATS_TEST_TMPDIR/x.torrent"
}

# bt-decode -i on the edited torrent fails with 65, one line, $1.
bad_edit() {
	run -65 --separate-stderr bt-decode -i "$BATS_TEST_TMPDIR/x.torrent"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/x.torrent: $1"
	assert_output ""
}

# The bencode in $1 (printf %b escapes) decoded from a file.
decode() {
	printf '%b' "$1" >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bt-decode "$BATS_TEST_TMPDIR/in"
}

# bt-decode on the bencode $1 fails with 65 and exactly the message $2.
bad() {
	printf '%b' "$1" >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr bt-decode "$BATS_TEST_TMPDIR/in"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/in: $2"
}

# bt-decode -i on the torrent given as JSON in $1 fails with 65 and $2.
bad_torrent() {
	printf '%s' "$1" | bt-encode >"$BATS_TEST_TMPDIR/x.torrent"
	run -65 --separate-stderr bt-decode -i "$BATS_TEST_TMPDIR/x.torrent"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/x.torrent: $2"
	assert_output ""
}

# The one-file mktorrent torrent as JSON, edited by the jq filter $1.
one_edited() {
	bt-decode "$BATS_FILE_TMPDIR/m-one.torrent" | jq -c "$1"
}

# A size as transmission-show 3.00 prints it (units of 1000 bytes).
tr_size() {
	awk -v b="$1" 'BEGIN {
		split("kB MB GB TB", u, " "); i = 1; d = 1000
		while (i < 4 && b >= d * 1000) { d *= 1000; i++ }
		v = b / d
		printf (v < 100 ? "%.2f %s\n" : "%.1f %s\n"), v, u[i] }'
}

# Compare bt-decode -i with transmission-show on torrent $1: name, info
# hash, total size and the file list (paths and sizes).
same_as_transmission_show() {
	local t=$1 show mine files_show files_mine size path
	show=$(transmission-show "$t")
	run -0 bt-decode -i "$t"
	mine=$output
	assert_equal "$(sed -n 's/^Name: //p' <<<"$mine")" \
	    "$(sed -n 's/^  Name: //p' <<<"$show")"
	assert_equal "$(sed -n 's/^Info hash: //p' <<<"$mine")" \
	    "$(sed -n 's/^  Hash: //p' <<<"$show")"
	size=$(sed -n 's/^Total size: \([0-9]*\) bytes.*/\1/p' <<<"$mine")
	assert_equal "$(tr_size "$size")" \
	    "$(sed -n 's/^  Total Size: //p' <<<"$show")"
	files_show=$(sed -n '/^FILES$/,$s/^  \(.*\) (\(.*\))$/\1|\2/p' \
	    <<<"$show" | LC_ALL=C sort)
	files_mine=$(sed -n '/^Files: /,$p' <<<"$mine" | tail -n +2 |
	    while read -r size path; do
		echo "$path|$(tr_size "$size")"
	    done | LC_ALL=C sort)
	[ -n "$files_mine" ]
	assert_equal "$files_mine" "$files_show"
}

@test "prints integers exactly, zero, negative and the int64 extremes" {
	decode 'i0ei-42ei9223372036854775807ei-9223372036854775808e'
	assert_success
	assert_output $'0\n-42\n9223372036854775807\n-9223372036854775808'
}

@test "escapes quote, backslash, control characters, DEL, C1 and bidi controls; other UTF-8 as is" {
	decode '20:a"b\\c\x01\t\n\x1f\x7f/\xc3\xa9\xc2\x9b\xe2\x80\xae\xd8\x9c'
	assert_success
	assert_output '"a\"b\\c\u0001\u0009\u000a\u001f\u007f/é\u009b\u202e\u061c"'
}

@test "writes a string that is not UTF-8 as hex:" {
	decode '4:\xff\x00ab3:\xc0\xaf!'
	assert_success
	assert_output $'"hex:ff006162"\n"hex:c0af21"'
}

@test "writes a string starting with hex: as hex: so it round-trips" {
	decode '7:hex:abc3:hex'
	assert_success
	assert_output $'"hex:6865783a616263"\n"hex"'
}

@test "writes the empty string, empty list and empty dict" {
	decode '0:lede'
	assert_success
	assert_output $'""\n[]\n{}'
}

@test "writes nested lists and dicts with keys in input order" {
	decode 'd1:zli1eli2eleee1:ad1:y2:\xff\xfe1:xdeee'
	assert_success
	assert_output '{"z":[1,[2,[]]],"a":{"y":"hex:fffe","x":{}}}'
}

@test "applies the hex: rule to dict keys" {
	decode 'd1:\xffi1e4:hex:i2ee'
	assert_success
	assert_output '{"hex:ff":1,"hex:6865783a":2}'
}

@test "writes a sequence of 3 values as 3 lines" {
	decode 'i1e3:abcd1:kli2eee'
	assert_success
	assert_output $'1\n"abc"\n{"k":[2]}'
	assert_equal "${#lines[@]}" 3
}

@test "reads standard input when no file or - is given" {
	run -0 bash -c "printf 'li1ee' | bt-decode"
	assert_output '[1]'
	run -0 bash -c "printf 'li1ee' | bt-decode -"
	assert_output '[1]'
}

@test "decodes a torrent followed by a piece: one line each" {
	{ cat "$BATS_FILE_TMPDIR/m-one.torrent"; printf 'd5:indexi0e5:piece3:\xff\x00\x80e'; } \
	    >"$BATS_TEST_TMPDIR/stream"
	run -0 --separate-stderr bt-decode "$BATS_TEST_TMPDIR/stream"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[1]}" '{"index":0,"piece":"hex:ff0080"}'
	assert_equal "$(jq -r .info.name <<<"${lines[0]}")" one.bin
}

@test "decodes a long sequence read in pieces from a pipe" {
	run -0 bash -c 'for i in $(seq 1 3000); do printf "d1:ii%de1:s1000:%01000de" $i 0; done | bt-decode | wc -l'
	assert_output 3000
}

@test "bt-decode -i agrees with transmission-show: mktorrent, one file" {
	same_as_transmission_show "$BATS_FILE_TMPDIR/m-one.torrent"
}

@test "bt-decode -i agrees with transmission-show: mktorrent, nested folders, empty file, UTF-8 names" {
	same_as_transmission_show "$BATS_FILE_TMPDIR/m-multi.torrent"
	run -0 bt-decode -i "$BATS_FILE_TMPDIR/m-multi.torrent"
	assert_line '  0 multi/empty'
	assert_line '  2000 multi/日本/データ.bin'
	assert_line 'Files: 5'
}

@test "bt-decode -i agrees with transmission-show: transmission-create, one file" {
	same_as_transmission_show "$BATS_FILE_TMPDIR/t-one.torrent"
}

@test "bt-decode -i agrees with transmission-show: transmission-create, nested folders, UTF-8 names" {
	same_as_transmission_show "$BATS_FILE_TMPDIR/t-multi.torrent"
	run -0 bt-decode -i "$BATS_FILE_TMPDIR/t-multi.torrent"
	assert_line 'Files: 4'
	refute_line --partial 'multi/empty'
}

# A torrent with every field, and a name and comment that try to
# send escape sequences to the terminal.
full_torrent() {
	info='{"files":[{"length":3,"path":["x","y.txt"]},{"length":0,"path":["z"]}],"name":"n\u001b]0;evil\u0007","piece length":16384,"pieces":"hex:00112233445566778899aabbccddeeff00112233","private":1}'
	printf '%s' "$info" | bt-encode >"$BATS_TEST_TMPDIR/info"
	hash=$(sha1sum <"$BATS_TEST_TMPDIR/info" | cut -c1-40)
	printf '%s' '{"announce":"http://127.0.0.1:1/a","announce-list":[["http://127.0.0.1:1/a","udp://127.0.0.1:2"],["http://127.0.0.1:3/b"]],"comment":"line1\nline2 \u001b[31mred","created by":"test 1.0","creation date":1700000000,"info":'"$info"',"url-list":["http://127.0.0.1:4/ws/"]}' |
	    bt-encode >"$BATS_TEST_TMPDIR/full.torrent"
}

@test "bt-decode -i notes a libtorrent v1+v2 hybrid and marks its padding files in JSON" {
	local t=$BATS_TEST_TMPDIR/hybrid.torrent
	(cd "$BATS_FILE_TMPDIR" && /usr/bin/python3 -c '
import sys, libtorrent as lt
fs = lt.file_storage()
lt.add_files(fs, "multi")
ct = lt.create_torrent(fs, 16384)
lt.set_piece_hashes(ct, ".")
open(sys.argv[1], "wb").write(lt.bencode(ct.generate()))' "$t")
	run -0 bt-decode -i "$t"
	assert_line 'Version: hybrid v1+v2 (v1 used)'
	assert_line '  100000 multi/a.bin'
	run -0 bt-decode -ij "$t"
	assert_equal "$(jq .hybrid <<<"$output")" true
	assert_equal "$(jq '[.files[] | select(.padding) | .path | startswith("multi/.pad/")] | length > 0 and all' <<<"$output")" true
	assert_equal "$(jq '[.files[] | select(.padding | not) | .length] | add' <<<"$output")" 107300
	run -0 bash -o pipefail -c "bt-decode '$t' | bt-encode | cmp - '$t'"
}

@test "bt-decode -i prints every field in a fixed layout, names escaped" {
	full_torrent
	run -0 --separate-stderr bt-decode -i "$BATS_TEST_TMPDIR/full.torrent"
	assert_output "Name: n\\x1b]0;evil\\x07
Info hash: $hash
Total size: 3 bytes
Piece length: 16384 bytes (16.0 KiB)
Pieces: 1
Private: yes
Version: v1
Created: 2023-11-14T22:13:20Z
Created by: test 1.0
Comment: line1\\x0aline2 \\x1b[31mred
Trackers:
  tier 1: http://127.0.0.1:1/a udp://127.0.0.1:2
  tier 2: http://127.0.0.1:3/b
Web seeds:
  http://127.0.0.1:4/ws/
Files: 2
  3 n\\x1b]0;evil\\x07/x/y.txt
  0 n\\x1b]0;evil\\x07/z"
	assert_equal "$stderr" ""
}

@test "bt-decode -i escapes a name that is not UTF-8 or holds a bidi control" {
	printf '%s' '{"info":{"length":3,"name":"hex:ff61e280ae62","piece length":16384,"pieces":"hex:0011223344556677889900112233445566778899"}}' |
	    bt-encode >"$BATS_TEST_TMPDIR/n.torrent"
	run -0 bt-decode -i "$BATS_TEST_TMPDIR/n.torrent"
	assert_line --index 0 'Name: \xffa\xe2\x80\xaeb'
	assert_line '  3 \xffa\xe2\x80\xaeb'
	run -0 bt-decode -ij "$BATS_TEST_TMPDIR/n.torrent"
	assert_equal "$(jq -r .name <<<"$output")" 'hex:ff61e280ae62'
}

@test "bt-decode -i leaves out the lines of absent fields" {
	printf '%s' '{"info":{"length":1048576,"name":"a","piece length":262144,"pieces":"hex:'"$(printf '%0160d' 0)"'"}}' |
	    bt-encode >"$BATS_TEST_TMPDIR/min.torrent"
	run -0 bt-decode -i "$BATS_TEST_TMPDIR/min.torrent"
	assert_output "Name: a
Info hash: $(bt-encode <<<'{"length":1048576,"name":"a","piece length":262144,"pieces":"hex:'"$(printf '%0160d' 0)"'"}' | sha1sum | cut -c1-40)
Total size: 1048576 bytes (1.0 MiB)
Piece length: 262144 bytes (256.0 KiB)
Pieces: 4
Private: no
Version: v1
Files: 1
  1048576 a"
}

@test "bt-decode -i --json gives the same facts as one JSON object" {
	full_torrent
	run -0 --separate-stderr bt-decode --info --json "$BATS_TEST_TMPDIR/full.torrent"
	assert_equal "${#lines[@]}" 1
	assert_output '{"name":"n\u001b]0;evil\u0007","info_hash":"'"$hash"'","total_size":3,"piece_length":16384,"piece_count":1,"private":true,"hybrid":false,"creation_date":1700000000,"created_by":"test 1.0","comment":"line1\u000aline2 \u001b[31mred","trackers":[["http://127.0.0.1:1/a","udp://127.0.0.1:2"],["http://127.0.0.1:3/b"]],"url_list":["http://127.0.0.1:4/ws/"],"files":[{"path":"n\u001b]0;evil\u0007/x/y.txt","length":3},{"path":"n\u001b]0;evil\u0007/z","length":0}]}'
}

@test "bt-decode -ij on a mktorrent torrent: fields checked with jq" {
	local t=$BATS_FILE_TMPDIR/m-multi.torrent
	run -0 bt-decode -ij "$t"
	assert_equal "$(jq -r .name <<<"$output")" multi
	assert_equal "$(jq -r .info_hash <<<"$output")" \
	    "$(transmission-show "$t" | sed -n 's/^  Hash: //p')"
	assert_equal "$(jq .total_size <<<"$output")" 107300
	assert_equal "$(jq .piece_length <<<"$output")" 32768
	assert_equal "$(jq .piece_count <<<"$output")" 4
	assert_equal "$(jq .private <<<"$output")" false
	assert_equal "$(jq .hybrid <<<"$output")" false
	assert_equal "$(jq -r .created_by <<<"$output")" "mktorrent 1.1"
	assert_equal "$(jq .comment <<<"$output")" null
	assert_equal "$(jq .creation_date <<<"$output" | grep -c '^[0-9]\{10\}$')" 1
	assert_equal "$(jq -c .trackers <<<"$output")" "[[\"$TRACKER\"]]"
	assert_equal "$(jq -c .url_list <<<"$output")" '[]'
	assert_equal "$(jq -r '.files[] | "\(.length) \(.path)"' <<<"$output" | LC_ALL=C sort)" \
	    "$(printf '%s\n' '0 multi/empty' '100000 multi/a.bin' \
	    '2000 multi/日本/データ.bin' '300 multi/sub/deep/z' \
	    '5000 multi/sub/é ü.txt' | LC_ALL=C sort)"
}

@test "bt-decode -i reads the torrent from standard input" {
	run -0 bash -c "bt-decode -i - <'$BATS_FILE_TMPDIR/m-one.torrent' | head -1"
	assert_output 'Name: one.bin'
}

# Malformed bencode: status 65, one line naming the byte and the problem.

@test "rejects a leading zero in an integer" {
	bad 'i03e' 'byte 0: leading zero in integer'
}

@test "rejects a negative zero" {
	bad 'i-0e' 'byte 0: negative zero integer'
}

@test "rejects an empty integer" {
	bad 'ie' 'byte 0: empty integer'
}

@test "rejects an integer that is only a minus sign" {
	bad 'li1ei-ee' 'byte 4: empty integer'
}

@test "rejects an integer over 64 bits" {
	bad 'i9223372036854775808e' 'byte 0: integer overflows 64 bits'
}

@test "rejects an integer under -2^63" {
	bad 'i-9223372036854775809e' 'byte 0: integer overflows 64 bits'
}

@test "rejects a letter inside an integer" {
	bad 'i1x2e' 'byte 2: invalid byte 0x78 in integer'
}

@test "rejects an unterminated integer" {
	bad 'i12' 'byte 0: unterminated integer'
}

@test "rejects a string length past the end of the input" {
	bad 'l5:abce' 'byte 1: string length 5 past end of input'
}

@test "rejects a leading zero in a string length" {
	bad '03:abc' 'byte 0: leading zero in string length'
}

@test "rejects a string length without a colon" {
	bad '3x' 'byte 1: invalid byte 0x78 in string length'
}

@test "rejects a dict key that is not a string" {
	bad 'di1ei2ee' 'byte 1: dictionary key is not a string'
}

@test "rejects a dict key without a value" {
	bad 'd1:ae' 'byte 4: dictionary key without a value'
}

@test "rejects a list without its closing e" {
	bad 'li1e' 'byte 4: unexpected end of input inside list'
}

@test "rejects a dict without its closing e" {
	bad 'd1:a1:b' 'byte 7: unexpected end of input inside dictionary'
}

@test "rejects an unknown byte" {
	bad 'x' 'byte 0: unexpected byte 0x78'
}

@test "rejects trailing bytes after a value, after writing the value" {
	bad 'i1exyz' 'byte 3: trailing bytes after value 1: unexpected byte 0x78'
	assert_output '1'
}

@test "rejects a newline after a value" {
	bad 'de\n' 'byte 2: trailing bytes after value 1: unexpected byte 0x0a'
}

@test "rejects nesting 100000 deep at the depth limit, without crashing" {
	head -c 100000 /dev/zero | tr '\0' l >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr bt-decode "$BATS_TEST_TMPDIR/in"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/in: byte 100: nesting deeper than 100 (limit BT_BENCODE_MAX_DEPTH)"
}

@test "rejects empty input" {
	bad '' 'empty input'
}

@test "names standard input as stdin in errors" {
	run -65 --separate-stderr bash -c "printf 'i03e' | bt-decode"
	assert_equal "$stderr" 'bt-decode: stdin: byte 0: leading zero in integer'
}

@test "with --strict rejects unsorted dict keys, without it accepts them" {
	decode 'd1:bi1e1:ai2ee'
	assert_success
	assert_output '{"b":1,"a":2}'
	run -65 --separate-stderr bt-decode --strict "$BATS_TEST_TMPDIR/in"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/in: byte 7: dictionary keys not sorted"
}

@test "with -s rejects a repeated dict key, with the offset in the stream" {
	printf 'i1ed1:ai1e1:ai2ee' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr bt-decode -s "$BATS_TEST_TMPDIR/in"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/in: byte 10: dictionary key repeated"
	assert_output '1'
}

# Malformed torrents (-i): status 65, the metainfo's reason.

@test "-i rejects bencode errors with their offset" {
	printf 'd4:infoi03ee' >"$BATS_TEST_TMPDIR/x.torrent"
	run -65 --separate-stderr bt-decode -i "$BATS_TEST_TMPDIR/x.torrent"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/x.torrent: byte 7: leading zero in integer"
}

@test "-i rejects a torrent that is not a dict" {
	bad_torrent '[1]' 'not a torrent: the top level is not a dictionary'
}

@test "-i rejects a torrent without info" {
	bad_torrent '{"announce":"x"}' "not a torrent: no 'info' dictionary"
}

@test "-i rejects pieces that are not a multiple of 20 bytes" {
	bad_torrent "$(one_edited '.info.pieces = "hex:0011"')" \
	    "'pieces' length 2 is not a multiple of 20"
}

@test "-i rejects a piece length of 0" {
	bad_torrent "$(one_edited '.info["piece length"] = 0')" \
	    "'piece length' 0 is not positive"
}

@test "-i rejects a negative length" {
	bad_torrent "$(one_edited '.info.length = -1')" "negative 'length'"
}

@test "-i rejects both length and files" {
	bad_torrent "$(one_edited '.info.files = [{"length":70000,"path":["a"]}]')" \
	    "both 'length' and 'files' in 'info'"
}

@test "-i rejects neither length nor files" {
	bad_torrent "$(one_edited 'del(.info.length)')" \
	    "neither 'length' nor 'files' in 'info'"
}

@test "-i rejects a path component .." {
	bad_torrent "$(one_edited 'del(.info.length) | .info.files = [{"length":70000,"path":["..","etc"]}]')" \
	    "file 0: unsafe path: path component '..'"
}

@test "-i rejects a path component with a slash" {
	bad_torrent "$(one_edited 'del(.info.length) | .info.files = [{"length":70000,"path":["a/b"]}]')" \
	    "file 0: unsafe path: '/' inside a path component"
}

@test "-i rejects an empty path component" {
	bad_torrent "$(one_edited 'del(.info.length) | .info.files = [{"length":70000,"path":["a",""]}]')" \
	    "file 0: unsafe path: empty path component"
}

@test "-i rejects an empty path" {
	bad_torrent "$(one_edited 'del(.info.length) | .info.files = [{"length":70000,"path":[]}]')" \
	    "file 0: empty 'path'"
}

@test "-i rejects two files with the same path" {
	bad_torrent "$(one_edited 'del(.info.length) | .info.files = [{"length":35000,"path":["a"]},{"length":35000,"path":["a"]}]')" \
	    "two files with the same path 'one.bin/a'"
}

@test "-i rejects a path that is both a file and a folder" {
	bad_torrent "$(one_edited 'del(.info.length) | .info.files = [{"length":35000,"path":["a"]},{"length":35000,"path":["a","b"]}]')" \
	    "'one.bin/a' is both a file and a folder"
}

@test "-i rejects a name .." {
	bad_torrent "$(one_edited '.info.name = ".."')" \
	    "unsafe 'name': path component '..'"
}

@test "-i rejects a piece count that does not match the length" {
	bad_torrent "$(one_edited '.info.length = 200000')" \
	    "3 piece hashes for 200000 bytes in pieces of 32768: expected 7"
}

@test "-i rejects a v2 torrent whose pieces root is not 32 bytes" {
	bad_torrent '{"info":{"file tree":{"a":{"":{"length":1,"pieces root":"hex:00"}}},"meta version":2,"name":"a","piece length":16384}}' \
	    "file tree: 'a': 'pieces root' of 1 bytes, not 32"
}

@test "-i shows a libtorrent v2 torrent: version, hashes, padded layout, pieces roots" {
	local t=$BATS_FILE_TMPDIR/lt-v2-multi.torrent
	run -0 bt-decode -i "$t"
	assert_line 'Version: v2'
	assert_line 'Meta version: 2'
	assert_line 'Pieces: 10'
	assert_line 'Total size: 163840 bytes (160.0 KiB)'
	assert_equal "$(bt_expect "$output")" "$(lt_expect "$t")"
	assert_equal "$(grep -c '^    pieces root: [0-9a-f]\{64\}$' <<<"$output")" 4
}

@test "-i maps a libtorrent single-file v2 torrent as libtorrent does" {
	local t=$BATS_FILE_TMPDIR/lt-v2-one.torrent
	run -0 bt-decode -i "$t"
	assert_line 'Name: one.bin'
	assert_line 'Version: v2'
	assert_line 'Pieces: 5'
	assert_equal "$(bt_expect "$output")" "$(lt_expect "$t")"
	assert_line '  70000 one.bin'
	assert_line '  11920 one.bin/.pad/11920'
}

@test "-i shows both info hashes of a libtorrent hybrid and its v1 layout" {
	local t
	for t in "$BATS_FILE_TMPDIR"/lt-hy-*.torrent; do
		run -0 bt-decode -i "$t"
		assert_line 'Version: hybrid v1+v2 (v1 used)'
		assert_line 'Meta version: 2'
		assert_equal "$(bt_expect "$output")" "$(lt_expect "$t")"
	done
}

@test "-ij gives the version, the v2 info hash and each file's pieces root" {
	local t=$BATS_FILE_TMPDIR/lt-v2-multi.torrent
	run -0 bt-decode -ij "$t"
	assert_equal "$(jq -r '.version, .meta_version, .hybrid' <<<"$output")" $'v2\n2\nfalse'
	assert_equal "$(jq -r .info_hash_v2 <<<"$output")" \
	    "$(lt_expect "$t" | sed -n 's/^Info hash v2: //p')"
	assert_equal "$(jq -r '.files[] | select(.path == "multi/a.bin") | .pieces_root' <<<"$output")" \
	    "$(lt_expect "$t" | sed -n '/ multi\/a.bin$/{n;s/^    pieces root: //p;}')"
	assert_equal "$(jq '[.files[] | select(.padding)] | length' <<<"$output")" 4
	run -0 bt-decode -ij "$BATS_FILE_TMPDIR/lt-hy-multi.torrent"
	assert_equal "$(jq -r .version <<<"$output")" hybrid
}

@test "decodes a v2 torrent's piece layers to JSON and back byte for byte" {
	local t=$BATS_FILE_TMPDIR/lt-v2-multi.torrent
	run -0 bt-decode "$t"
	assert_equal "$(jq -r '."piece layers" | keys[] | startswith("hex:")' <<<"$output")" true
	assert_equal "$(jq -r '."piece layers"[] | length' <<<"$output")" $((4 + 7 * 64))
	run -0 bash -o pipefail -c "bt-decode '$t' | bt-encode | cmp - '$t'"
}

@test "-i rejects a v2 file tree deeper than the limit" {
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" '
n = {b"": {b"length": 0}}
for i in range(65):
    n = {b"d": n}
ft[b"deep"] = n'
	bad_edit "file tree: deeper than 64 folders (limit BT_V2_MAX_DEPTH)"
}

@test "-i rejects an empty name in a v2 file tree" {
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" \
	    'ft[b""] = {b"x": {b"": {b"length": 0}}}'
	bad_edit "file tree: unsafe path 'multi/': empty path component"
}

@test "-i rejects a v2 pieces root of 31 bytes" {
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" '
f = ft[b"sub"][b"deep"][b"z"][b""]
f[b"pieces root"] = f[b"pieces root"][:31]'
	bad_edit "file tree: 'multi/sub/deep/z': 'pieces root' of 31 bytes, not 32"
}

@test "-i rejects a v2 torrent without its piece layers" {
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" 'del d[b"piece layers"]'
	bad_edit "no piece layer for 'multi/a.bin' (100000 bytes, 7 pieces)"
}

@test "-i rejects a v2 piece layer that does not hash to the file's root" {
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" '
k = list(d[b"piece layers"])[0]
v = d[b"piece layers"][k]
d[b"piece layers"][k] = v[:40] + bytes([v[40] ^ 1]) + v[41:]'
	bad_edit "piece layer of 'multi/a.bin' does not hash to its pieces root"
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" '
k = list(d[b"piece layers"])[0]
d[b"piece layers"][k] = d[b"piece layers"][k][:-32]'
	bad_edit "piece layer of 'multi/a.bin' is 192 bytes, expected 224 (7 pieces)"
}

@test "-i rejects a hybrid whose v1 and v2 file lists differ" {
	lt_edit "$BATS_FILE_TMPDIR/lt-hy-multi.torrent" \
	    'info[b"files"][0][b"path"] = [b"b.bin"]'
	bad_edit "hybrid torrent: v1 and v2 file lists differ: v1 file 0 is 'multi/b.bin', the file tree's is 'multi/a.bin'"
	lt_edit "$BATS_FILE_TMPDIR/lt-hy-multi.torrent" \
	    'info[b"files"].append({b"length": 0, b"path": [b"zz"]})'
	bad_edit "hybrid torrent: v1 and v2 file lists differ: v1 file 9 'multi/zz' is not in the file tree"
}

@test "-i rejects a v2 piece length that is not a power of two" {
	lt_edit "$BATS_FILE_TMPDIR/lt-v2-multi.torrent" \
	    'info[b"piece length"] = 16384 * 3'
	bad_edit "v2 torrent: 'piece length' 49152 is not a power of two of at least 16384"
}

@test "-i --strict rejects a torrent with unsorted keys" {
	one_edited '{zz: 1} + .' | bt-encode >"$BATS_TEST_TMPDIR/x.torrent"
	run -0 bt-decode -i "$BATS_TEST_TMPDIR/x.torrent"
	run -65 --separate-stderr bt-decode -i --strict "$BATS_TEST_TMPDIR/x.torrent"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/x.torrent: byte 8: dictionary keys not sorted"
}

@test "exits 66 on a missing file" {
	run -66 --separate-stderr bt-decode "$BATS_TEST_TMPDIR/nope"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/nope: No such file or directory"
	run -66 --separate-stderr bt-decode -i "$BATS_TEST_TMPDIR/nope"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR/nope: No such file or directory"
}

@test "exits 66 on a directory" {
	run -66 --separate-stderr bt-decode "$BATS_TEST_TMPDIR"
	assert_equal "$stderr" "bt-decode: $BATS_TEST_TMPDIR: is a directory"
}

@test "exits 64 with the synopsis on a bad option or two files" {
	run -64 --separate-stderr bt-decode -x
	assert_equal "$stderr" "bt-decode: unknown option '-x'
usage: bt-decode [-ijs] [file | -]"
	run -64 --separate-stderr bt-decode a b
	assert_equal "$stderr" "usage: bt-decode [-ijs] [file | -]"
}

@test "reports a closed standard output as an error" {
	seq 1 200000 | sed 's/.*/i&e/' | tr -d '\n' >"$BATS_TEST_TMPDIR/many"
	run bash -c "bt-decode '$BATS_TEST_TMPDIR/many' 2>'$BATS_TEST_TMPDIR/err' | head -c 1 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_output 74
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output 'bt-decode: write error on standard output: Broken pipe'
}
