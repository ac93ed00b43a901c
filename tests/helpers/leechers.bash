# Real downloaders for the tests of bt-seed: aria2c, transmission-cli and
# python3-libtorrent (tests/tools/lt-leech.py), each on 127.0.0.1 on a
# port the caller gives, contacting no address but 127.0.0.1. Loaded by
# tests/helper.bash. Every one is recorded and stopped by PID:
#
#	leech_aria2 TORRENT OUTDIR PORT [tracker]
#		aria2c listening on PORT; with "tracker" it announces to the
#		torrent's trackers, else it ignores them (and waits for the
#		seeder to connect to it). It exits by itself when done.
#		LEECH_PID is its PID.
#	leech_transmission TORRENT OUTDIR PORT
#		transmission-cli listening on PORT (it never dials 127.x:
#		the seeder must connect to it); it never exits by itself,
#		so it runs a script on completion that creates $TR_DONE.
#		LEECH_PID is its PID.
#	leech_lt [lt-leech.py arguments]
#		lt-leech.py in the foreground (see its header).
#	leechers_stop	stop them all (call it in teardown)
#
# Each leecher ends by itself after LEECH_LIFETIME seconds (default 120).

LEECHER_PIDS=()

leech_aria2() {
	local torrent=$1 out=$2 port=$3 trk=()
	[ "${4:-}" = tracker ] || trk=(--bt-exclude-tracker='*')
	timeout "${LEECH_LIFETIME:-120}" aria2c --seed-time=0 \
	    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
	    --enable-peer-exchange=false "${trk[@]}" --disable-ipv6=true \
	    --listen-port="$port" --quiet=true --summary-interval=0 \
	    --dht-file-path="$out.dht" -d "$out" "$torrent" \
	    >"$out.aria2.log" 2>&1 3>&- &
	LEECH_PID=$!
	LEECHER_PIDS+=("$LEECH_PID")
}

leech_transmission() {
	local torrent=$1 out=$2 port=$3 conf=$2.trconf
	mkdir -p "$conf" "$out"
	TR_DONE=$out.done
	rm -f "$TR_DONE"
	printf '#!/bin/sh\ntouch "%s"\n' "$TR_DONE" >"$conf/done.sh"
	chmod +x "$conf/done.sh"
	cat >"$conf/settings.json" <<-EOF
	{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
	 "utp-enabled": false, "port-forwarding-enabled": false,
	 "peer-port": $port, "peer-port-random-on-start": false,
	 "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
	 "encryption": 0, "message-level": 1, "rpc-enabled": false}
	EOF
	timeout "${LEECH_LIFETIME:-120}" transmission-cli -g "$conf" \
	    -w "$out" -p "$port" -f "$conf/done.sh" "$torrent" \
	    >"$out.tr.log" 2>&1 3>&- &
	LEECH_PID=$!
	LEECHER_PIDS+=("$LEECH_PID")
	# Listening before the seeder dials it. Not probed by connecting:
	# Transmission then refuses the address that closed on it.
	local i=0
	while [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; do
		i=$((i + 1))
		[ "$i" -ge 100 ] && return 1
		sleep 0.1
	done
}

leech_lt() {
	/usr/bin/python3 "$top/tests/tools/lt-leech.py" "$@"
}

leechers_stop() {
	local p
	for p in "${LEECHER_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${LEECHER_PIDS[@]}"; do
		timeout 10 tail -s 0.1 --pid="$p" -f /dev/null 2>/dev/null
		kill -9 "$p" 2>/dev/null || true
	done
	LEECHER_PIDS=()
}
