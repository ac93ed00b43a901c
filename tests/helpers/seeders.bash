# Real seeders for tests: python3-libtorrent, aria2c and Transmission, each
# started on 127.0.0.1 on a port the caller gives (free_port), seeding a
# torrent whose data is already complete in a folder, contacting no
# tracker and no other address. Every one is recorded and stopped by PID:
#
#	seed_lt TORRENT DIR PORT	libtorrent (tests/tools/lt-seed.py)
#	seed_aria2 TORRENT DIR PORT	aria2c
#	seed_transmission TORRENT DIR PORT	transmission-cli
#	seeders_stop			stop all of them (call it in teardown)
#
# SEED_RATE=BYTES (per second) in the environment limits the upload rate
# of seed_lt and seed_aria2, so that a test can act during a download.
# SEED_ANNOUNCE=1 makes seed_lt announce to the torrent's trackers (which
# must be on 127.0.0.1, e.g. opentracker_start's); else none is contacted.
#
# Each returns once its seeder accepts connections on PORT (at most
# SEED_WAIT seconds, default 20; non-zero status and its log on stderr if
# not), and leaves the PID in $SEEDER_PID. Their logs go under
# $BATS_TEST_TMPDIR (or $SEEDERS_TMP). Each also ends by itself after
# SEED_LIFETIME seconds (default 300). DIR is the folder holding the
# torrent's data: the file itself for a single-file torrent, the torrent's
# named folder for a multi-file one.
#
# Notes on the programs: libtorrent must be run with Debian's
# /usr/bin/python3 (the python3 on PATH has no libtorrent). Transmission
# never dials peers on 127.x but accepts them, and takes up to about 10 s
# to unchoke a new peer. aria2 is told to drop every tracker
# (--bt-exclude-tracker='*').

SEEDER_PIDS=()

seeders_tmp() {
	local d=${SEEDERS_TMP:-${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}}
	mkdir -p "$d" && echo "$d"
}

# 0 when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Wait until PID listens on PORT, or fail (PID gone, or SEED_WAIT over).
seeder_wait() {
	local pid=$1 port=$2 log=$3 i=0 limit=$(( ${SEED_WAIT:-20} * 10 ))
	while ! port_open "$port"; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge "$limit" ]; then
			echo "seeder on port $port did not start; its log:" >&2
			tail -20 "$log" >&2
			return 1
		fi
		i=$((i + 1))
		sleep 0.1
	done
}

seed_lt() {
	local torrent=$1 dir=$2 port=$3 tmp log
	tmp=$(seeders_tmp)
	log="$tmp/lt-seed.$port.log"
	LT_SEED_RATE=${SEED_RATE:-} LT_SEED_ANNOUNCE=${SEED_ANNOUNCE:-} \
	    /usr/bin/python3 \
	    "$top/tests/tools/lt-seed.py" "$torrent" "$dir" \
	    "$port" "${SEED_LIFETIME:-300}" >"$log" 2>&1 3>&- &
	SEEDER_PID=$!
	SEEDER_PIDS+=("$SEEDER_PID")
	seeder_wait "$SEEDER_PID" "$port" "$log" || return 1
	# It listens before it seeds: wait for its "ready" line too.
	local i=0
	while ! grep -q '^ready' "$log"; do
		i=$((i + 1))
		[ "$i" -ge $(( ${SEED_WAIT:-20} * 10 )) ] && return 1
		sleep 0.1
	done
}

seed_aria2() {
	local torrent=$1 dir=$2 port=$3 tmp log
	tmp=$(seeders_tmp)
	log="$tmp/aria2.$port.log"
	aria2c --seed-ratio=0.0 --check-integrity=true \
	    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
	    --enable-peer-exchange=false --bt-exclude-tracker='*' \
	    --disable-ipv6=true --listen-port="$port" \
	    --max-upload-limit="${SEED_RATE:-0}" \
	    --stop="${SEED_LIFETIME:-300}" --quiet=true \
	    --summary-interval=0 --console-log-level=error \
	    --log="$log" --log-level=notice \
	    --dht-file-path="$tmp/aria2.dht" -d "$dir" "$torrent" \
	    >/dev/null 2>&1 3>&- &
	SEEDER_PID=$!
	SEEDER_PIDS+=("$SEEDER_PID")
	seeder_wait "$SEEDER_PID" "$port" "$log"
}

seed_transmission() {
	local torrent=$1 dir=$2 port=$3 tmp conf log
	tmp=$(seeders_tmp)
	conf="$tmp/transmission.$port"
	log="$tmp/transmission.$port.log"
	mkdir -p "$conf"
	cat >"$conf/settings.json" <<-EOF
	{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
	 "utp-enabled": false, "port-forwarding-enabled": false,
	 "peer-port": $port, "peer-port-random-on-start": false,
	 "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
	 "encryption": 0, "speed-limit-up-enabled": false,
	 "ratio-limit-enabled": false, "idle-seeding-limit-enabled": false,
	 "message-level": 1, "rpc-enabled": false,
	 "start-added-torrents": true}
	EOF
	# Unbuffered, so that its "Seeding" status reaches the log at once.
	timeout "${SEED_LIFETIME:-300}" stdbuf -o0 \
	    transmission-cli -g "$conf" -w "$dir" \
	    -p "$port" -et "$torrent" >"$log" 2>&1 3>&- &
	SEEDER_PID=$!
	SEEDER_PIDS+=("$SEEDER_PID")
	seeder_wait "$SEEDER_PID" "$port" "$log" || return 1
	# It listens while it still checks the data: wait until it seeds.
	local i=0
	while ! grep -q 'Seeding' "$log"; do
		i=$((i + 1))
		[ "$i" -ge $(( ${SEED_WAIT:-20} * 10 )) ] && return 1
		sleep 0.1
	done
}

seeders_stop() {
	local p
	for p in "${SEEDER_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${SEEDER_PIDS[@]}"; do
		timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	SEEDER_PIDS=()
}
