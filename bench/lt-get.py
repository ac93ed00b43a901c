#!/usr/bin/python3
# The libtorrent downloader of bench/fetch.sh (run with Debian's
# /usr/bin/python3): lt-get.py TORRENT OUTDIR PORT...
# Connects to the seeders on 127.0.0.1:PORT (no tracker, no DHT, LSD, UPnP,
# NAT-PMP or uTP), downloads everything, exits when the data is complete.
import sys
import time

import libtorrent as lt

torrent, outdir, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
s = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "enable_outgoing_utp": False,
    "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": 0,
})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = outdir
p.trackers = []
h = s.add_torrent(p)
h.replace_trackers([])
for port in ports:
    h.connect_peer(("127.0.0.1", int(port)))
deadline = time.time() + 600
while time.time() < deadline:
    st = h.status()
    if st.is_seeding or st.is_finished:
        break
    time.sleep(0.01)
else:
    sys.stderr.write("lt-get: timed out\n")
    sys.exit(1)
