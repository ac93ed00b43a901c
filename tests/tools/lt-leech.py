#!/usr/bin/python3
# Downloaders for bt-seed's tests and bench/seed.sh (run with Debian's
# /usr/bin/python3, which has libtorrent):
#
#	lt-leech.py [-n N] [-t SECONDS] [-a ADDR] TORRENT OUTDIR [PORT]
#
# N libtorrent sessions in this one process (default 1), each listening
# on 127.0.0.1 (a port of its own), download TORRENT into OUTDIR/1 ..
# OUTDIR/N (OUTDIR itself when N is 1). With PORT they connect to the
# seeder at ADDR:PORT (default 127.0.0.1) and ignore the trackers;
# without, they use the torrent's trackers (which must be on 127.0.0.1).
# TORRENT may be a magnet link: the metadata then comes from the peers
# (BEP 9), the only trackers being the link's.
# DHT, LSD, UPnP, NAT-PMP and uTP are off. Prints "done N" and exits 0
# once every one has the whole data; exits 1 after SECONDS (default 120)
# with "timed out: K of N done".
import getopt
import os
import sys
import time

import libtorrent as lt

opts, args = getopt.getopt(sys.argv[1:], "a:n:t:")
n, limit, addr = 1, 120.0, "127.0.0.1"
for o, v in opts:
    if o == "-n":
        n = int(v)
    elif o == "-t":
        limit = float(v)
    elif o == "-a":
        addr = v
torrent, outdir = args[0], args[1]
port = int(args[2]) if len(args) > 2 else None

handles = []
sessions = []
for i in range(n):
    s = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "max_retry_port_bind": 0,
        "alert_mask": 0,
    })
    if torrent.startswith("magnet:"):
        p = lt.parse_magnet_uri(torrent)
    else:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(torrent)
    p.save_path = outdir if n == 1 else os.path.join(outdir, str(i + 1))
    if port is not None:
        p.trackers = []
    h = s.add_torrent(p)
    if port is not None:
        h.replace_trackers([])
        h.connect_peer((addr, port))
    sessions.append(s)
    handles.append(h)

deadline = time.time() + limit
while time.time() < deadline:
    done = sum(1 for h in handles
               if h.status().is_seeding or h.status().is_finished)
    if done == n:
        print("done %d" % n)
        sys.exit(0)
    time.sleep(0.05)
print("timed out: %d of %d done" % (done, n))
sys.exit(1)
