#!/usr/bin/python3
# A libtorrent seeder for tests and benchmarks, on 127.0.0.1 only.
# Run with Debian's /usr/bin/python3 (the one with python3-libtorrent):
#   lt-seed.py TORRENT DATADIR PORT [LIFETIME_SECONDS]
# LT_SEED_RATE=BYTES (environment) limits its upload rate, so that tests
# can catch a download in the middle. LT_SEED_ANNOUNCE=1 keeps the
# torrent's trackers (they must be on 127.0.0.1) and announces to them.
# DHT, LSD, UPnP, NAT-PMP and uTP are off; no tracker is contacted (the
# torrent's trackers are removed); several connections from one address
# are accepted. LT_SEED_CONNECT=PORT,PORT... makes it connect to those
# seeders on 127.0.0.1 and wait until it is connected to them all before
# "ready" (so that its first PEX message, BEP 11, names them). It prints
# "ready" on stdout once it seeds, and exits after LIFETIME seconds
# (default 600) so a forgotten one does not linger.
import os
import sys
import time

import libtorrent as lt


def connected(h):
    """Peers past the connect and the handshake."""
    busy = lt.peer_info.connecting | lt.peer_info.handshake
    return sum(1 for p in h.get_peer_info() if not p.flags & busy)


def main():
    torrent, datadir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 600.0
    s = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "max_retry_port_bind": 0,
        "alert_mask": 0,
        "upload_rate_limit": int(os.environ.get("LT_SEED_RATE") or 0),
        "unchoke_slots_limit": -1,
        "connections_limit": 500,
        "send_buffer_watermark": 8 * 1024 * 1024,
        "send_buffer_low_watermark": 1024 * 1024,
        "max_queued_disk_bytes": 16 * 1024 * 1024,
        # Seeders connected to each other (LT_SEED_CONNECT) stay so:
        # by default libtorrent closes seed-to-seed connections.
        "close_redundant_connections": False,
    })
    if os.environ.get("LT_SEED_RATE"):
        # Loopback peers are in libtorrent's unlimited "local" class:
        # put every address in the global class so the limit applies.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255",
                   1 << lt.session.global_peer_class_id)
        s.set_peer_class_filter(f)
    ti = lt.torrent_info(torrent)
    ti.trackers()  # keep the object alive; trackers dropped below
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = datadir
    p.flags = lt.torrent_flags.seed_mode
    announce = os.environ.get("LT_SEED_ANNOUNCE") == "1"
    if not announce:
        p.trackers = []
    h = s.add_torrent(p)
    if not announce:
        h.replace_trackers([])
    deadline = time.time() + 30
    while not h.status().is_seeding and time.time() < deadline:
        time.sleep(0.05)
    if not h.status().is_seeding:
        sys.stderr.write("lt-seed: not seeding\n")
        sys.exit(1)
    ports = [int(x) for x in
             (os.environ.get("LT_SEED_CONNECT") or "").split(",") if x]
    for other in ports:
        h.connect_peer(("127.0.0.1", other))
    deadline = time.time() + 30
    while ports and connected(h) < len(ports) and time.time() < deadline:
        time.sleep(0.05)
    if ports and connected(h) < len(ports):
        sys.stderr.write("lt-seed: not connected to %s\n" % ports)
        sys.exit(1)
    print("ready", flush=True)
    end = time.time() + lifetime
    while time.time() < end:
        time.sleep(0.5)


main()
