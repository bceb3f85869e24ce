#!/usr/bin/env python3
"""A local HTTP peer for integration tests: an origin to warm from and a receiver of webhooks.

    http-receiver.py PORT LOG [--fail-first N]     (PORT 0: a port of its own, written to LOG.port once it listens)

GET /item/<n>[?delay=ms]   200 {"item": n} with Cache-Tag: item:<n>, group:<n % 2> and CDN-Cache-Control: max-age=120
GET anything else          404
POST <any path>            503 for the first N posts, then 200 {}; every request is logged
Each request is appended to LOG as one JSON line: method, path, whether it carried Authorization, body, status.
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port = int(sys.argv[1])
log_path = sys.argv[2]
fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
lock = threading.Lock()
posts = 0


def exit_with_parent():
    """Ends this peer when the test process that started it ends, whether or not it said stop."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
# A test runner's threads block signals, and a child inherits the mask: unblock them, so terminate() stops it.
signal.pthread_sigmask(signal.SIG_SETMASK, [])
signal.signal(signal.SIGTERM, signal.SIG_DFL)


def record(entry):
    with lock:
        with open(log_path, "a") as log:
            log.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        entry = {"method": "GET", "path": self.path, "authorization": self.headers.get("Authorization")}
        if url.path.startswith("/item/") and url.path.split("/")[2].isdigit():
            delay = int(parse_qs(url.query).get("delay", ["0"])[0])
            if delay:
                time.sleep(delay / 1000)
            n = int(url.path.split("/")[2])
            entry["status"] = 200
            record(entry)
            self.answer(200, {"item": n}, {"Cache-Tag": f"item:{n}, group:{n % 2}", "CDN-Cache-Control": "max-age=120"})
        else:
            entry["status"] = 404
            record(entry)
            self.answer(404, {"error": {"code": "not_found", "message": "no such item"}})

    def do_POST(self):
        global posts
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode() if length else ""
        with lock:
            posts += 1
            status = 503 if posts <= fail_first else 200
        record({"method": "POST", "path": self.path, "authorization": self.headers.get("Authorization"), "body": body, "status": status})
        self.answer(status, {})


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
# The port it listens on, written whole (renamed into place) once it accepts connections.
with open(log_path + ".port.tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.replace(log_path + ".port.tmp", log_path + ".port")
server.serve_forever()
