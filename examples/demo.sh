#!/bin/sh
# make demo: a whole download on this machine, through the pipeline.
# Makes a sample folder and its torrent with bt-create, starts opentracker
# and bt-seed on 127.0.0.1, downloads with bt-get (bt-announce | bt-peers |
# bt-fetch-piece | bt-assemble) into a fresh folder, checks it with
# bt-verify, stops what it started by PID, and says where the files are.
# Nothing leaves 127.0.0.1.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BT_BIN:=$top/bin}"
PATH="$BT_BIN:$PATH"
export PATH

pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

port() {
	/usr/bin/python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {	# wait_port PORT: at most 10 s for 127.0.0.1:PORT to accept
	i=0
	until /usr/bin/python3 -c 'import socket,sys
socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$1" \
	    2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "demo: nothing listens on $1" >&2; exit 1; }
		sleep 0.1
	done
}

work=$(mktemp -d /tmp/bt-demo.XXXXXX)
chmod 755 "$work"
echo "demo: working in $work"

# 1. A sample folder and its torrent.
mkdir -p "$work/seed/sample/docs"
head -c 48000000 /dev/urandom >"$work/seed/sample/data.bin"
head -c 12345678 /dev/urandom >"$work/seed/sample/docs/more.bin"
echo "bt demo, made $(date -u)" >"$work/seed/sample/docs/README.txt"
tport=$(port)
bt-create -l 256K -a "http://127.0.0.1:$tport/announce" \
    -o "$work/sample.torrent" "$work/seed/sample"
bt-decode -i "$work/sample.torrent"

# 2. opentracker (Debian's is whitelist-only), and a seeder.
mkdir -p "$work/tracker"
chmod 755 "$work/tracker"
bt-decode --info --json "$work/sample.torrent" | jq -r .info_hash \
    >"$work/tracker/whitelist"
chmod 644 "$work/tracker/whitelist"
# The whitelist path is opened after the chroot into -d: relative.
opentracker -i 127.0.0.1 -p "$tport" -P "$tport" -d "$work/tracker" \
    -w whitelist >"$work/tracker.log" 2>&1 &
pids="$pids $!"
wait_port "$tport"
sport=$(port)
# bt-seed checks the data, announces itself to the tracker, and serves.
bt-seed -q -b 127.0.0.1 -p "$sport" "$work/sample.torrent" "$work/seed" \
    </dev/null 2>"$work/seeder.log" &
pids="$pids $!"
wait_port "$sport"
# Wait (at most 10 s) until the tracker counts the seeder: a scrape.
i=0
until [ "$(bt-announce --scrape "$work/sample.torrent" 2>/dev/null |
    bt-decode | jq -r '.complete')" = 1 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "demo: the seeder did not announce" >&2; exit 1; }
	sleep 0.1
done
echo "demo: opentracker on 127.0.0.1:$tport, bt-seed on 127.0.0.1:$sport"

# 3. The download, through the pipeline, then a check.
echo "demo: bt-get $work/sample.torrent $work/download"
bt-get "$work/sample.torrent" "$work/download"
bt-verify "$work/sample.torrent" "$work/download" >/dev/null
diff -r "$work/seed/sample" "$work/download/sample" >/dev/null
echo "demo: verified, byte-identical to the source"
echo "demo: the files are in $work/download/sample"
