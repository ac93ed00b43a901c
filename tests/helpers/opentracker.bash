# Trackers for the tests: Debian's opentracker, and our hostile tracker.
# Loaded by tests/helper.bash. Everything listens on 127.0.0.1 (or ::1)
# only, on ports found free at run time, and is stopped by PID.
#
# opentracker_start HASHFILE
#	Start /usr/bin/opentracker serving the info hashes listed in
#	HASHFILE (40 hex digits a line; Debian's build is whitelist-only,
#	a torrent not listed gets a "failure reason"). Sets:
#	  OT_PID		its process id
#	  OT_HTTP, OT_UDP	its TCP (HTTP) and UDP ports on 127.0.0.1
#	  OT_ANNOUNCE		http://127.0.0.1:$OT_HTTP/announce
#	  OT_UDP_ANNOUNCE	udp://127.0.0.1:$OT_UDP/announce
#	  OT_DIR		its chroot folder (world-readable: it runs
#			as nobody), holding the whitelist
#	Returns 1 if it is not listening within 10 seconds. The daemon
#	gets no bats fd 3, so bats does not wait for it.
# opentracker_stop
#	Stop it by PID (waits at most 5 s) and remove OT_DIR. Safe to call
#	when nothing was started, and twice (use it in teardown_file).
# info_hash_of TORRENT
#	The torrent's v1 info hash, 40 lowercase hex digits.
# quick_free_port [udp]
#	A TCP (or UDP) port free on 127.0.0.1, like free_port, but through
#	Debian's python3, which starts in a tenth of the time of the one
#	on PATH.
# hostile_start [-6] [-b FILE] MODE
#	Start tests/tools/hostile-tracker (see the comment at its top for
#	the modes), logging the requests it gets. Sets HT_PID, HT_PORT
#	(both its TCP and UDP port), HT_LOG (the request log), HT_HOST
#	(127.0.0.1, or [::1] with -6). It exits by itself after 60 s.
# hostile_stop
#	Stop it by PID; safe to call when none runs.

quick_free_port() {
	/usr/bin/python3 -c 'import socket, sys
k = socket.SOCK_DGRAM if sys.argv[1:] == ["udp"] else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, k)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$@"
}

info_hash_of() {
	transmission-show "$1" | awk '/^ *Hash( v1)?:/ { print $NF; exit }'
}

# True once something accepts TCP connections on 127.0.0.1:$1.
_ot_listening() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

opentracker_start() {
	local hashes=$1 try
	OT_DIR=$(mktemp -d)
	# opentracker chroots here and drops to nobody: all must be readable.
	chmod 755 "$OT_DIR"
	cp "$hashes" "$OT_DIR/whitelist"
	chmod 644 "$OT_DIR/whitelist"
	for try in 1 2 3; do
		OT_HTTP=$(quick_free_port)
		OT_UDP=$(quick_free_port udp)
		# The whitelist path is opened after the chroot: relative.
		/usr/bin/opentracker -i 127.0.0.1 -p "$OT_HTTP" -P "$OT_UDP" \
		    -d "$OT_DIR" -w whitelist >"$OT_DIR.log" 2>&1 3>&- &
		OT_PID=$!
		if wait_for 10 _ot_listening "$OT_HTTP"; then
			if kill -0 "$OT_PID" 2>/dev/null; then
				break
			fi
		fi
		# A port taken between free_port and its bind: try again.
		kill "$OT_PID" 2>/dev/null
		wait "$OT_PID" 2>/dev/null
		OT_PID=
	done
	[ -n "$OT_PID" ] || return 1
	OT_ANNOUNCE=http://127.0.0.1:$OT_HTTP/announce
	OT_UDP_ANNOUNCE=udp://127.0.0.1:$OT_UDP/announce
	export OT_PID OT_HTTP OT_UDP OT_ANNOUNCE OT_UDP_ANNOUNCE OT_DIR
}

opentracker_stop() {
	if [ -n "${OT_PID:-}" ]; then
		kill "$OT_PID" 2>/dev/null
		timeout 5 tail --pid="$OT_PID" -f /dev/null 2>/dev/null
		kill -9 "$OT_PID" 2>/dev/null
		OT_PID=
	fi
	if [ -n "${OT_DIR:-}" ]; then
		rm -rf "$OT_DIR" "$OT_DIR.log"
		OT_DIR=
	fi
}

hostile_start() {
	local pf=$BATS_TEST_TMPDIR/hostile.port
	HT_HOST=127.0.0.1
	[ "$1" = -6 ] && HT_HOST='[::1]'
	HT_LOG=$BATS_TEST_TMPDIR/hostile.log
	: >"$HT_LOG"
	: >"$pf"
	"$BT_TOOLS/hostile-tracker" -t 60 -l "$HT_LOG" "$@" \
	    >"$pf" 2>&1 3>&- &
	HT_PID=$!
	wait_for 10 test -s "$pf" || return 1
	HT_PORT=$(head -n 1 "$pf")
	[[ $HT_PORT =~ ^[0-9]+$ ]] || return 1
}

hostile_stop() {
	if [ -n "${HT_PID:-}" ]; then
		kill "$HT_PID" 2>/dev/null
		wait "$HT_PID" 2>/dev/null
		HT_PID=
	fi
}
