# Helpers for tests/bt-fetch-metadata.bats (metadata exchange, BEP 9):
#
# md_info TORRENT
#	The raw bytes of the torrent's info dict, exactly as in the file,
#	on stdout (compare two with cmp).
# md_base32 HEX
#	An info hash of 40 hex digits in base32 (32 characters).
# md_hostile MODE TORRENT [OPTIONS]
#	Start tests/tools/hostile-metadata (see the comment at its top for
#	the modes and options) on a free port of 127.0.0.1. Sets MD_PORT;
#	its PID goes to MD_PIDS. It exits by itself after 60 s.
# md_stop
#	Stop every hostile-metadata started, by PID.
# md_shared NAME SEED_FUNCTION TORRENT DIR
#	Start a seeder (seed_lt, seed_aria2) for a whole test file, in the
#	background: its port goes to $BATS_FILE_TMPDIR/port.NAME, its PID
#	to pid.NAME once it listens. md_shared_stop stops them all.

MD_PIDS=()

md_info() {
	/usr/bin/python3 - "$top/tests/helpers" "$1" <<-'EOF'
	import sys; sys.path.insert(0, sys.argv.pop(1))
	from torrent import bdecode
	b = open(sys.argv[1], "rb").read()
	assert b[:1] == b"d"
	i = 1
	while b[i:i+1] != b"e":
	    k, i = bdecode(b, i)
	    start = i
	    _, i = bdecode(b, i)
	    if k == b"info":
	        sys.stdout.buffer.write(b[start:i])
	        sys.exit(0)
	sys.exit("no info dict")
	EOF
}

md_base32() {
	/usr/bin/python3 -c 'import base64, sys
print(base64.b32encode(bytes.fromhex(sys.argv[1])).decode())' "$1"
}

md_hostile() {
	local mode=$1 torrent=$2 out
	shift 2
	out=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/md-port.XXXXXX")
	"$BT_TOOLS/hostile-metadata" -m "$mode" -t "$torrent" -l 60 "$@" \
	    >"$out" 3>&- &
	MD_PIDS+=("$!")
	wait_for 10 test -s "$out" || return 1
	MD_PORT=$(cat "$out")
}

md_stop() {
	local p
	for p in "${MD_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	MD_PIDS=()
}

md_shared() {
	local name=$1 port
	shift
	port=$(quick_free_port)
	echo "$port" >"$BATS_FILE_TMPDIR/port.$name"
	(
		SEEDERS_TMP=$BATS_FILE_TMPDIR/seeders
		"$@" "$port" &&
		    echo "$SEEDER_PID" >"$BATS_FILE_TMPDIR/pid.$name"
	) 3>&- &
}

md_shared_stop() {
	local f
	for f in "$BATS_FILE_TMPDIR"/pid.*; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for f in "$BATS_FILE_TMPDIR"/pid.*; do
		[ -s "$f" ] && timeout 10 tail --pid="$(cat "$f")" -f /dev/null
	done
	return 0
}
