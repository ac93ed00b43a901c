#!/usr/bin/python3
"""A web seed for the tests (BEP 19): an HTTP/1.1 server of a folder on
127.0.0.1 that serves byte ranges (Python's http.server does not), in one
of four modes:

  ok      the bytes asked for, status 206
  wrong   as many bytes, each inverted (a SHA-1 failure for the client)
  loop    a redirect to the same URL, for ever
  stall   the headers of a 206, then nothing

Each request is logged to standard output as "METHOD PATH RANGE".

usage: webseed.py MODE PORT DIR
"""
import http.server
import os
import re
import sys
import time
import urllib.parse

MODE, PORT, ROOT = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        rng = self.headers.get("Range", "-")
        print("GET %s %s" % (self.path, rng), flush=True)
        if MODE == "loop":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rel = urllib.parse.unquote(self.path.split("?")[0]).lstrip("/")
        path = os.path.join(ROOT, rel)
        if ".." in rel.split("/") or not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = os.path.getsize(path)
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng)
        a, b = (int(m.group(1)), int(m.group(2))) if m else (0, size - 1)
        if a > b or b >= size:
            self.send_response(416)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            f.seek(a)
            data = f.read(b - a + 1)
        self.send_response(206 if m else 200)
        if m:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, size))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if MODE == "stall":
            self.wfile.flush()
            time.sleep(120)
            return
        if MODE == "wrong":
            data = bytes(x ^ 0xFF for x in data)
        self.wfile.write(data)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
