#!/usr/bin/python3
# Downloaders for bt-seed's tests and bench/seed.sh (run with Debian's
# /usr/bin/python3, which has libtorrent):
#
#	lt-leech.py [-n N] [-t SECONDS] [-a ADDR] [-l LPORT] [-m FILE] [-k]
#	    TORRENT OUTDIR [PORT]
#
# N libtorrent sessions in this one process (default 1), each listening
# on 127.0.0.1 (a port of its own; LPORT for the first if given),
# download TORRENT into OUTDIR/1 .. OUTDIR/N (OUTDIR itself when N is 1).
# With PORT they connect to the seeder at ADDR:PORT (default 127.0.0.1)
# and ignore the trackers; without, they use the torrent's trackers
# (which must be on 127.0.0.1).
# TORRENT may be a magnet link: the metadata then comes from the peers
# (BEP 9), the only trackers being the link's. With LPORT it prints
# "listening LPORT" once peers may dial it.
# -m FILE: print "ready" once the torrents are in their sessions (peers
# that dial the first are taken from then on), and once the first has the
# metadata (from a magnet link), "metadata received", writing the info
# dict's bytes to FILE. -k: keep running (seeding) once done, until
# SECONDS are over, then exit 0.
# DHT, LSD, UPnP, NAT-PMP and uTP are off. Prints "done N" and exits 0
# once every one has the whole data; exits 1 after SECONDS (default 120)
# with "timed out: K of N done".
import getopt
import os
import sys
import time

import libtorrent as lt

opts, args = getopt.getopt(sys.argv[1:], "a:kl:m:n:t:")
mdfile, keep = None, False
n, limit, addr, lport = 1, 120.0, "127.0.0.1", 0
for o, v in opts:
    if o == "-n":
        n = int(v)
    elif o == "-t":
        limit = float(v)
    elif o == "-a":
        addr = v
    elif o == "-l":
        lport = int(v)
    elif o == "-m":
        mdfile = v
    elif o == "-k":
        keep = True
torrent, outdir = args[0], args[1]
port = int(args[2]) if len(args) > 2 else None

handles = []
sessions = []
for i in range(n):
    s = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % (lport if i == 0 else 0),
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
if lport:
    # Peers may dial it now: the torrent is checked and started (until
    # then libtorrent closes a connection for it).
    while time.time() < deadline and handles[0].status().state in (
            lt.torrent_status.checking_files,
            lt.torrent_status.checking_resume_data) or \
            handles[0].status().paused:
        time.sleep(0.05)
    print("listening %d" % lport, flush=True)
if mdfile is not None:
    # Added torrents start paused until the session's queue starts them
    # (auto-managed), and refuse peers meanwhile.
    while (handles[0].status().flags & lt.torrent_flags.paused and
           time.time() < deadline):
        time.sleep(0.05)
    print("ready", flush=True)
said = False
while time.time() < deadline:
    if mdfile is not None and not said and handles[0].status().has_metadata:
        with open(mdfile, "wb") as f:
            f.write(handles[0].torrent_file().info_section())
        print("metadata received", flush=True)
        said = True
    done = sum(1 for h in handles
               if h.status().is_seeding or h.status().is_finished)
    if done == n and not keep:
        print("done %d" % n)
        sys.exit(0)
    time.sleep(0.05)
if keep:
    print("done %d" % done, flush=True)
    sys.exit(0)
print("timed out: %d of %d done" % (done, n))
sys.exit(1)
