#!/usr/bin/env bats
# Hostile file names (bt(7) FILE NAMES) through every program that reads a
# torrent and prints or writes names: "..", ".", empty and absolute
# components, '/' and NUL inside a name, backslashes, control characters,
# ANSI escapes, U+202E, invalid UTF-8, duplicates, file/folder clashes,
# 255/256/300-byte components, a hostile "name". A refused torrent is
# refused by all of them with one message and writes nothing; an accepted
# name is written as its bytes under DIR, and printed escaped.

bats_require_minimum_version 1.5.0
load helper

L255=$(printf 'L%.0s' {1..255})

# The accepted names of the torrent "ok" (named d), as printf formats, one
# file each, components joined by '/'.
OK_FILES=(
	'a\\b'
	'..\\..\\x'
	'n\nl'
	'c\rr'
	't\tt'
	'del\x7f'
	'\e[2J'
	'\e]0;title\a'
	'csi\xc2\x9b31m'
	'evil\xe2\x80\xaetxt.exe'
	'\xff'
	'over\xc0\xaf'
	'cont\x80'
	'sur\xed\xa0\x80'
	'Case'
	'case'
	'caf\xc3\xa9'
	'cafe\xcc\x81'
	'CON'
	'trail.'
	'sub/\e[2J/x'
	"long/$L255"
)

# The same names as bt prints them (bt_escape): printable ASCII but the
# backslash, and valid UTF-8 but C1 and bidirectional controls, kept.
OK_ESC=(
	'a\x5cb'
	'..\x5c..\x5cx'
	'n\x0al'
	'c\x0dr'
	't\x09t'
	'del\x7f'
	'\x1b[2J'
	'\x1b]0;title\x07'
	'csi\xc2\x9b31m'
	'evil\xe2\x80\xaetxt.exe'
	'\xff'
	'over\xc0\xaf'
	'cont\x80'
	'sur\xed\xa0\x80'
	'Case'
	'case'
	$'caf\xc3\xa9'
	$'cafe\xcc\x81'
	'CON'
	'trail.'
	'sub/\x1b[2J/x'
	"long/$L255"
)

# What `find` shows of them once written (nm_find: every byte outside
# printable ASCII, and the backslash, as \xNN), in bytewise order.
OK_FIND='d
d/\x1b[2J
d/\x1b]0;title\x07
d/..\x5c..\x5cx
d/CON
d/Case
d/a\x5cb
d/c\x0dr
d/cafe\xcc\x81
d/caf\xc3\xa9
d/case
d/cont\x80
d/csi\xc2\x9b31m
d/del\x7f
d/evil\xe2\x80\xaetxt.exe
d/long
d/long/'$L255'
d/n\x0al
d/over\xc0\xaf
d/sub
d/sub/\x1b[2J
d/sub/\x1b[2J/x
d/sur\xed\xa0\x80
d/t\x09t
d/trail.
d/\xff'

# nm_torrent with printf formats instead of hex: hostile OUT NAME [PATH...]
# (PATH components joined by '/').
hostile() {
	nm_torrent -f "$@"
}

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	hostile ok d "${OK_FILES[@]}"
	# A one-file torrent whose name paints the terminal red.
	hostile red '\e[31mred\e[0m'
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	# DIR with a sibling and a parent that must stay as they are.
	mkdir -p top/dir top/sibling
	echo keep >top/sibling/keep
	echo keep >top/keep
	PEERS=$BATS_TEST_TMPDIR/peers
	: >"$PEERS"
}

teardown() {
	if [ -n "${SEED_PID:-}" ]; then
		kill -TERM "$SEED_PID" 2>/dev/null
		timeout 20 tail --pid="$SEED_PID" -f /dev/null 2>/dev/null
		kill -9 "$SEED_PID" 2>/dev/null || true
		wait "$SEED_PID" 2>/dev/null || true
		SEED_PID=
	fi
}

# Nothing was written beside DIR or above it.
top_untouched() {
	run nm_find top
	assert_output "dir
keep
sibling
sibling/keep"
}

# Every program that reads a torrent refuses TORRENT (made by hostile with
# the rest of the arguments) with status 65 and the message MSG, prints no
# raw control byte, and writes nothing: refused MSG NAME [PATH...]
refused() {
	local msg=$1 t=$BATS_TEST_TMPDIR/r.torrent s=$BATS_TEST_TMPDIR/r.stream
	shift
	hostile r "$@"

	run -65 --separate-stderr bt-decode -i "$t"
	assert_equal "$stderr" "bt-decode: $t: $msg"
	assert_output ""
	run -65 --separate-stderr bt-decode -ij "$t"
	assert_equal "$stderr" "bt-decode: $t: $msg"
	assert_output ""
	run -65 --separate-stderr bt-verify "$t" top/dir
	assert_equal "$stderr" "bt-verify: $t: $msg"
	assert_output ""
	run -65 --separate-stderr bt-verify --json "$t" top/dir
	assert_equal "$stderr" "bt-verify: $t: $msg"
	assert_output ""
	run -65 --separate-stderr bt-assemble -p -C top/dir "$s"
	assert_equal "$stderr" \
	    "bt-assemble: $s: torrent at the start of the stream: $msg"
	assert_output ""
	run -65 --separate-stderr bt-assemble -C top/dir <"$s"
	assert_equal "$stderr" \
	    "bt-assemble: stdin: torrent at the start of the stream: $msg"
	run -65 --separate-stderr timeout 20 bt-seed -n -b 127.0.0.1 -p 0 \
	    "$t" top/dir </dev/null
	assert_equal "$stderr" "bt-seed: $t: $msg"
	run -65 --separate-stderr timeout 20 bt-fetch-piece -a -t "$t" \
	    -p "$PEERS"
	assert_equal "$stderr" "bt-fetch-piece: $t: $msg"
	assert_output ""
	run -65 --separate-stderr timeout 60 bt-get -p "$PEERS" "$t" top/dir
	assert_equal "$stderr" "bt-verify: $t: $msg"
	assert_output ""
	top_untouched
}

@test "a component '..' is refused by every program, nothing written" {
	refused "file 0: unsafe path: path component '..'" d 'a/../../x'
}

@test "a component '.' is refused by every program" {
	refused "file 0: unsafe path: path component '.'" d 'a/./x'
}

@test "an empty component is refused by every program" {
	refused "file 0: unsafe path: empty path component" d 'a//x'
}

@test "an absolute path as one component is refused by every program" {
	# One component holding "/etc/x": the '/' is the reason.
	refused "file 1: unsafe path: '/' inside a path component" d \
	    ok '\x2fetc\x2fx'
}

@test "a '/' in the middle of a component is refused by every program" {
	refused "file 0: unsafe path: '/' inside a path component" d \
	    'a\x2fb'
}

@test "a NUL inside a component is refused by every program" {
	refused "file 0: unsafe path: NUL inside a path component" d 'a\0b'
}

@test "a 256-byte component is refused by every program" {
	refused "file 0: unsafe path: path component longer than 255 bytes (limit BT_MAX_NAME_BYTES)" \
	    d "long/${L255}M"
}

@test "a 300-byte component is refused by every program" {
	refused "file 1: unsafe path: path component longer than 255 bytes (limit BT_MAX_NAME_BYTES)" \
	    d ok "$(printf 'x%.0s' {1..300})"
}

@test "a path deeper than 64 components is refused by every program" {
	local p
	p=$(printf 'a/%.0s' {1..64})x
	refused "file 0: path deeper than 64 (limit BT_MAX_PATH_DEPTH)" d "$p"
}

@test "a path longer than 4096 bytes is refused by every program" {
	local p
	# "d" and 16 components of 255 bytes, joined: 1 + 16 * 256 = 4097.
	p=$(printf "$L255/%.0s" {1..15})$L255
	refused "file 0: path longer than 4096 bytes (limit BT_MAX_PATH_BYTES)" \
	    d "$p"
}

@test "two files with the same path are refused by every program" {
	refused "two files with the same path 'd/sub/a'" d sub/a x sub/a
}

@test "a duplicate hostile path is named escaped" {
	refused "two files with the same path 'd/\\x1b[2J\\x07/\\xe2\\x80\\xae'" \
	    d '\e[2J\a/\xe2\x80\xae' '\e[2J\a/\xe2\x80\xae'
}

@test "a file listed before a folder of the same name is refused" {
	refused "'d/a' is both a file and a folder" d a a/b
}

@test "a folder listed before a file of the same name is refused" {
	refused "'d/a' is both a file and a folder" d a/b/c z a
}

@test "a hostile file/folder clash is named escaped" {
	refused "'d/\\x1b]0;t\\x07' is both a file and a folder" \
	    d '\e]0;t\a/x' '\e]0;t\a'
}

@test "a name '..' is refused by every program" {
	refused "unsafe 'name': path component '..'" '..'
}

@test "a name '.' is refused by every program" {
	refused "unsafe 'name': path component '.'" '.' a
}

@test "an empty name is refused by every program" {
	refused "unsafe 'name': empty path component" ''
}

@test "an absolute name is refused by every program" {
	refused "unsafe 'name': '/' inside a path component" '/tmp/evil'
}

@test "a name of 300 bytes is refused by every program" {
	refused "unsafe 'name': path component longer than 255 bytes (limit BT_MAX_NAME_BYTES)" \
	    "$(printf 'n%.0s' {1..300})"
}

@test "a refusal after hostile names that pass writes none of them" {
	refused "file 3: unsafe path: path component '..'" \
	    d '\e[2J' 'a\\b' '\xff' '..'
}

@test "bt-decode -i prints every hostile name escaped" {
	local i want="Files: ${#OK_FILES[@]}"
	for i in "${!OK_ESC[@]}"; do
		want+=$'\n'"  $((100 + 37 * i)) d/${OK_ESC[i]}"
	done
	run -0 --separate-stderr bt-decode -i "$BATS_FILE_TMPDIR/ok.torrent"
	assert_equal "$stderr" ""
	assert_equal "$(sed -n '/^Files:/,$p' <<<"$output")" "$want"
	assert_line -n 0 "Name: d"
	nm_no_raw "$output"
}

@test "bt-decode -i prints a hostile one-file name escaped" {
	run -0 --separate-stderr bt-decode -i "$BATS_FILE_TMPDIR/red.torrent"
	assert_line -n 0 'Name: \x1b[31mred\x1b[0m'
	assert_equal "$(sed -n '/^Files:/,$p' <<<"$output")" 'Files: 1
  1000 \x1b[31mred\x1b[0m'
	nm_no_raw "$output"
}

@test "bt-decode -ij gives control characters as \\u and invalid UTF-8 as hex:" {
	hostile js d 'a\\b' 'n\nl' 'c\rr' 't\tt' '\e[2J' '\e]0;title\a' \
	    '\xff' 'caf\xc3\xa9' 'q"'
	run -0 --separate-stderr bt-decode -ij js.torrent
	assert_equal "$stderr" ""
	assert_equal "$(grep -o '"files":.*' <<<"$output")" \
	    '"files":[{"path":"d/a\\b","length":100},{"path":"d/n\u000al","length":137},{"path":"d/c\u000dr","length":174},{"path":"d/t\u0009t","length":211},{"path":"d/\u001b[2J","length":248},{"path":"d/\u001b]0;title\u0007","length":285},{"path":"hex:642fff","length":322},{"path":"d/café","length":359},{"path":"d/q\"","length":396}]}'
	nm_no_raw "$output"
	# Lossless: jq reads back the very bytes of each name.
	run -0 bash -c 'bt-decode -ij js.torrent | jq -j ".files[4].path"'
	assert_output $'d/\e[2J'
}

@test "bt-decode gives hostile path components as JSON escapes" {
	hostile js d 'n\nl' '\e[2J' '\e]0;title\a' '\xff' 'a\\b'
	run -0 --separate-stderr bt-decode js.torrent
	assert_equal "$stderr" ""
	assert_equal "$(grep -o '"files":\[.*\],"name"' <<<"$output")" \
	    '"files":[{"length":100,"path":["n\u000al"]},{"length":137,"path":["\u001b[2J"]},{"length":174,"path":["\u001b]0;title\u0007"]},{"length":211,"path":["hex:ff"]},{"length":248,"path":["a\\b"]}],"name"'
	nm_no_raw "$output"
}

@test "bt-decode's JSON escapes bidirectional and C1 controls and DEL" {
	hostile js d 'evil\xe2\x80\xaetxt.exe' 'csi\xc2\x9b31m' 'del\x7f'
	run -0 --separate-stderr bt-decode -ij js.torrent
	assert_equal "$(grep -o '"files":.*' <<<"$output")" \
	    '"files":[{"path":"d/evil\u202etxt.exe","length":100},{"path":"d/csi\u009b31m","length":137},{"path":"d/del\u007f","length":174}]}'
	nm_no_raw "$output"
	run -0 --separate-stderr bt-decode js.torrent
	nm_no_raw "$output"
	[[ "$output" != *$'\x7f'* ]]
}

@test "bt-assemble writes every hostile name as its bytes inside DIR" {
	run -0 --separate-stderr bt-assemble -C top/dir \
	    "$BATS_FILE_TMPDIR/ok.stream"
	assert_equal "$stderr" ""
	assert_output ""
	run nm_find top/dir
	assert_output "$OK_FIND"
	# The right bytes under each name: file i holds the byte i + 1.
	cmp top/dir/d/'a\b' <(head -c 100 /dev/zero | tr '\0' '\001')
	cmp top/dir/d/$'\e[2J' <(head -c $((100 + 37 * 6)) /dev/zero |
	    tr '\0' '\007')
	cmp top/dir/d/$'cafe\xcc\x81' <(head -c $((100 + 37 * 17)) \
	    /dev/zero | tr '\0' '\022')
	[ ! -e top/x ] && [ ! -e x ]
	run nm_find top
	assert_output "$(printf '%s\n' dir "$(sed 's|^|dir/|' <<<"$OK_FIND")" \
	    keep sibling sibling/keep)"
}

@test "bt-assemble writes a hostile one-file name inside DIR" {
	run -0 --separate-stderr bt-assemble -C top/dir \
	    "$BATS_FILE_TMPDIR/red.stream"
	assert_equal "$stderr" ""
	run nm_find top
	assert_output 'dir
dir/\x1b[31mred\x1b[0m
keep
sibling
sibling/keep'
}

@test "bt-assemble -p prints the hostile names it completed escaped" {
	local i want=
	run -0 --separate-stderr bt-assemble -p -C top/dir \
	    "$BATS_FILE_TMPDIR/ok.stream"
	for i in "${!OK_ESC[@]}"; do
		want+="top/dir/d/${OK_ESC[i]}"$'\n'
	done
	assert_equal "$output" "${want%$'\n'}"
	nm_no_raw "$output"
}

@test "bt-assemble names a planted link at a hostile name escaped, writes nothing through it" {
	mkdir -p top/dir/d
	ln -s ../../sibling/keep top/dir/d/$'\e[2J'
	run -74 --separate-stderr bt-assemble -C top/dir \
	    "$BATS_FILE_TMPDIR/ok.stream"
	assert_equal "$stderr" \
	    'bt-assemble: top/dir: d/\x1b[2J: is a symbolic link: not followed'
	nm_no_raw "$stderr"
	assert_equal "$(cat top/sibling/keep)" keep
}

@test "a folder on disk at a hostile file's name is named escaped" {
	mkdir -p top/dir/$'\e[31mred\e[0m'
	run -74 --separate-stderr bt-assemble -C top/dir \
	    "$BATS_FILE_TMPDIR/red.stream"
	assert_equal "$stderr" \
	    'bt-assemble: top/dir: \x1b[31mred\x1b[0m: Is a directory'
	run -1 --separate-stderr bt-verify "$BATS_FILE_TMPDIR/red.torrent" \
	    top/dir
	assert_equal "$stderr" ""
	assert_line -n 0 "0 missing"
}

@test "bt-verify reads hostile names back and prints none of them" {
	bt-assemble -C top/dir "$BATS_FILE_TMPDIR/ok.stream"
	run -0 --separate-stderr bt-verify "$BATS_FILE_TMPDIR/ok.torrent" \
	    top/dir
	assert_equal "$stderr" ""
	assert_equal "$(wc -l <<<"$output")" 42
	refute_line --partial missing
	refute_line --partial bad
	run -0 --separate-stderr bt-verify --json \
	    "$BATS_FILE_TMPDIR/ok.torrent" top/dir
	assert_output --partial '"pieces":42,"good":42,"bad":0,"missing":0,"complete":true,'
	nm_no_raw "$output"
	# One hostile file gone (bytes 1155 to 1476): its pieces missing,
	# and no name printed.
	rm top/dir/d/$'\e[2J'
	run -1 --separate-stderr bt-verify --missing \
	    "$BATS_FILE_TMPDIR/ok.torrent" top/dir
	assert_equal "$stderr" ""
	assert_output "4-5"
}

@test "bt-verify reports a hostile name's file missing in an empty DIR" {
	run -1 --separate-stderr bt-verify "$BATS_FILE_TMPDIR/red.torrent" \
	    top/dir
	assert_equal "$stderr" ""
	assert_output '0 missing
1 missing
2 missing
3 missing'
}

@test "bt-create keeps hostile names on disk as their bytes in the torrent" {
	local i name
	mkdir -p src/d
	for i in "${!OK_FILES[@]}"; do
		printf -v name "${OK_FILES[i]}"
		case $name in
		*/*) mkdir -p "src/d/${name%/*}" ;;
		esac
		rand_file "src/d/$name" $((100 + i))
	done
	run -0 --separate-stderr bt-create -d -o c.torrent src/d
	assert_equal "$stderr" ""
	assert_output ""
	# The files in bytewise order of their names, each printed escaped.
	want=$(for i in "${!OK_FILES[@]}"; do
		printf '%s\t%s\n' "$(nm_hex "${OK_FILES[i]}")" "${OK_ESC[i]}"
	done | LC_ALL=C sort | cut -f 2 | sed 's|^|d/|')
	run -0 --separate-stderr bt-decode -i c.torrent
	nm_no_raw "$output"
	assert_equal "$(sed -n '/^Files:/,$p' <<<"$output" |
	    sed 's/^  [0-9]* //')" "Files: ${#OK_FILES[@]}
$want"
	# Every name maps back to its file: the torrent verifies on src.
	run -0 --separate-stderr bt-verify c.torrent src
	assert_equal "$stderr" ""
	refute_line --partial missing
}

@test "bt-create names a hostile file it cannot read escaped" {
	mkdir -p src/d
	ln -s nowhere src/d/$'\e]0;title\a'
	run -74 --separate-stderr bt-create -d -o c.torrent src/d
	assert_equal "$stderr" \
	    'bt-create: src/d/\x1b]0;title\x07: No such file or directory'
	nm_no_raw "$stderr"
}

@test "the deepest and the longest paths allowed are written and verified" {
	local deep long
	deep=$(printf 'a/%.0s' {1..63})x
	long=$(printf "$L255/%.0s" {1..15})$(printf 'M%.0s' {1..254})
	hostile edge d "$deep" "$long"
	run -0 --separate-stderr bt-assemble -C top/dir edge.stream
	assert_equal "$stderr" ""
	run -0 --separate-stderr bt-verify edge.torrent top/dir
	assert_output '0 good'
	run -0 bash -c 'cd top/dir && find . -type f | awk "{ print length }" |
	    sort -n'
	# "./" and the path in the torrent: "d/" and 64 components (a/.../x),
	# and "d/" and 16 components (4096 bytes).
	assert_output "$((2 + 2 + 64 * 2 - 1))
$((2 + 4096))"
}

@test "name.utf-8 and path.utf-8 are ignored: name and path are used" {
	nm_torrent u "$(nm_hex d)@name.utf-8=$(nm_hex ..)" \
	    "$(nm_hex ok)@path.utf-8=$(nm_hex ..)/$(nm_hex evil)"
	run -0 --separate-stderr bt-decode -i u.torrent
	assert_line -n 0 "Name: d"
	assert_line "  100 d/ok"
	run -0 --separate-stderr bt-assemble -C top/dir u.stream
	run nm_find top
	assert_output 'dir
dir/d
dir/d/ok
keep
sibling
sibling/keep'
}

@test "bt-seed serves hostile names; bt-fetch-piece and bt-get write them back" {
	local log=$BATS_TEST_TMPDIR/seed.log port
	bt-assemble -C top/dir "$BATS_FILE_TMPDIR/ok.stream"
	bt-seed -v -n -b 127.0.0.1 -p 0 "$BATS_FILE_TMPDIR/ok.torrent" \
	    top/dir </dev/null >/dev/null 2>"$log" 3>&- &
	SEED_PID=$!
	wait_for 20 grep -q 'pieces to serve$' "$log"
	port=$(sed -n 's/^bt-seed: listening on 127.0.0.1 port //p' "$log")
	echo "127.0.0.1 $port" >"$PEERS"
	run -0 --separate-stderr bash -o pipefail -c 'bt-fetch-piece -q -a \
	    --timeout 60 -t "$1" -p "$2" --stream | bt-assemble -C dl' sh \
	    "$BATS_FILE_TMPDIR/ok.torrent" "$PEERS"
	assert_equal "$stderr" ""
	run nm_find dl
	assert_output "$OK_FIND"
	run -0 --separate-stderr timeout 60 bt-get -q -p "$PEERS" \
	    "$BATS_FILE_TMPDIR/ok.torrent" got
	assert_equal "$stderr" ""
	run nm_find got
	assert_output "$OK_FIND"
	diff -r top/dir got
	grep -q '^bt-seed: 42 of 42 pieces to serve$' "$log"
	nm_no_raw "$(cat "$log")"
}
