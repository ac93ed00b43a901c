#!/bin/sh
# Web seed benchmark (BEP 19): a torrent whose only source is an HTTP
# mirror, nginx on 127.0.0.1 (it serves byte ranges), one file of
# SIZE_MIB (default 256) of random data in 256 KiB pieces, no tracker and
# no peer. In turn:
#
#   bt     bt-fetch-piece -a -p /dev/null -t T --stream | bt-assemble -C out
#   aria2  aria2c T (its web seed support; no DHT, LSD or PEX)
#
# Runs are interleaved (RUNS times, default 3); each figure is the median
# wall-clock time from the start of the command to the file complete,
# checked with cmp against the source. Markdown on stdout.
set -eu
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-256}
for p in bt-fetch-piece bt-assemble mktorrent aria2c nginx /usr/bin/python3; do
	command -v "$p" >/dev/null ||
	    { echo "webseed.sh: $p not found" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt-bench-webseed.XXXXXX")
npid=
cleanup() {
	[ -n "$npid" ] && kill "$npid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM
cd "$tmp"

port=$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir www logs
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >www/data.bin
# nginx's workers (www-data when run as root) read the file.
chmod 755 "$tmp" www
chmod 644 www/data.bin
cat >nginx.conf <<CONF
daemon off;
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 256; }
http {
	access_log off;
	sendfile on;
	client_body_temp_path $tmp/logs;
	proxy_temp_path $tmp/logs;
	fastcgi_temp_path $tmp/logs;
	uwsgi_temp_path $tmp/logs;
	scgi_temp_path $tmp/logs;
	server {
		listen 127.0.0.1:$port;
		root $tmp/www;
	}
}
CONF
nginx -c "$tmp/nginx.conf" -p "$tmp" >logs/nginx.out 2>&1 &
npid=$!
i=0
until curl -fs -o /dev/null -r 0-0 "http://127.0.0.1:$port/data.bin"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "webseed.sh: nginx not up" >&2; exit 70; }
	sleep 0.1
done
mktorrent -l 18 -a http://127.0.0.1:1/announce \
    -w "http://127.0.0.1:$port/data.bin" -o t.torrent www/data.bin >/dev/null

now() {
	date +%s.%N
}
run_bt() {
	bt-fetch-piece -q -a -p /dev/null -t t.torrent --stream |
	    bt-assemble -C out
}
run_aria2() {
	aria2c --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
	    --enable-peer-exchange=false --disable-ipv6=true --seed-time=0 \
	    --quiet=true --summary-interval=0 \
	    --dht-file-path="$tmp/a2.dht" --allow-overwrite=true \
	    --file-allocation=none -d out t.torrent >/dev/null 2>&1
}
r=0
: >times
while [ "$r" -lt "$RUNS" ]; do
	for c in bt aria2; do
		rm -rf out
		t0=$(now)
		"run_$c" || :
		t1=$(now)
		if ! cmp -s www/data.bin out/data.bin; then
			echo "webseed.sh: $c: the file is not the source" >&2
			echo "$c NaN" >>times
			continue
		fi
		echo "$c $(echo "$t1 - $t0" | bc -l)" >>times
	done
	r=$((r + 1))
done
median() {
	awk -v c="$1" '$1 == c { print $2 }' times | sort -g |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
bt=$(median bt) a2=$(median aria2)
echo "## Web seed only: $SIZE_MIB MiB from one HTTP mirror"
echo
cat <<MD
\`sh bench/webseed.sh\`: a torrent whose only source is its url-list, one
nginx on 127.0.0.1 serving the file (BEP 19), $SIZE_MIB MiB of random data
in 256 KiB pieces, no tracker, no peer; median wall-clock time of $RUNS
interleaved runs, each file compared with the source. Load average at
the end: $(cut -d' ' -f1-3 /proc/loadavg).

| client | median time | MiB/s | time, ratio to aria2c |
|---|---|---|---|
MD
for c in bt aria2; do
	m=$(median "$c")
	case $c in
	bt) n="bt (bt-fetch-piece \\| bt-assemble)" ;;
	aria2) n="aria2c" ;;
	esac
	printf '| %s | %.2f s | %.0f | %.2f |\n' "$n" "$m" \
	    "$(echo "$SIZE_MIB / $m" | bc -l)" "$(echo "$m / $a2" | bc -l)"
done
