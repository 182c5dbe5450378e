#!/usr/bin/python3
"""A webhook receiver for the notify tests (standard library only), on
127.0.0.1:PORT: every POST is written to OUT_DIR/<n>.json (the body as
received; the first K answered 500 with --fail-first K and not written).
Ready when OUT_DIR/ready exists.
"""
import argparse, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--fail-first", type=int, default=0)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
lock = threading.Lock()
state = {"seen": 0, "written": 0}

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            state["seen"] += 1
            fail = state["seen"] <= a.fail_first
            if not fail:
                state["written"] += 1
                n = state["written"]
                tmp = os.path.join(a.out, "%d.tmp" % n)
                with open(tmp, "wb") as f:
                    f.write(body)
                os.rename(tmp, os.path.join(a.out, "%d.json" % n))
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
open(os.path.join(a.out, "ready"), "w").close()
server.serve_forever()
