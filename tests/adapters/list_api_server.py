#!/usr/bin/python3
"""A paginated JSON list API for the HTTP poll connector tests (standard
library only), on 127.0.0.1:PORT.

  GET /v1/customers?limit=N[&starting_after=ID]  -> {"data": [...], "has_more": bool}
  GET /v1/changes?limit=N[&updated_since=T]       -> {"data": [items with updated >= T]}

Items: {"id": "cus_%04d", "email": "user%d@example.com", "updated": 1000 + i}.
Every request is appended to OUT_DIR/requests.log as "<unix time> <status> <path>"
before the answer is sent. Knobs: --items N, --fail-first K (HTTP 500),
--throttle-first K (429 with Retry-After: --retry-after S), --shape items
(the array is called "items"), --rename-from I (items >= I call email
"email_address"). Ready when OUT_DIR/ready exists.
"""
import argparse, json, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--items", type=int, default=23)
p.add_argument("--fail-first", type=int, default=0)
p.add_argument("--throttle-first", type=int, default=0)
p.add_argument("--retry-after", default="1")
p.add_argument("--shape", default="data")
p.add_argument("--rename-from", type=int, default=-1)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
lock = threading.Lock()
served = [0]

def item(i):
    it = {"id": "cus_%04d" % i, "updated": 1000 + i}
    it["email_address" if 0 <= a.rename_from <= i else "email"] = "user%d@example.com" % i
    return it

ITEMS = [item(i) for i in range(a.items)]

class H(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        with open(os.path.join(a.out, "requests.log"), "a") as f:
            f.write("%.6f %d %s\n" % (time.time(), status, self.path))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            served[0] += 1
            n = served[0]
        if n <= a.throttle_first:
            return self.answer(429, {"error": "slow down"}, [("Retry-After", a.retry_after)])
        if n <= a.throttle_first + a.fail_first:
            return self.answer(500, {"error": "boom"})
        u = urlparse(self.path)
        q = parse_qs(u.query)
        limit = int(q.get("limit", ["10"])[0])
        if u.path == "/v1/customers":
            start = 0
            if "starting_after" in q:
                ids = [it["id"] for it in ITEMS]
                start = ids.index(q["starting_after"][0]) + 1
            page = ITEMS[start:start + limit]
            return self.answer(200, {a.shape: page, "has_more": start + limit < len(ITEMS)})
        if u.path == "/v1/changes":
            since = int(q.get("updated_since", ["0"])[0])
            page = [it for it in ITEMS if it["updated"] >= since][:limit]
            return self.answer(200, {a.shape: page})
        self.answer(404, {"error": "no such path"})

srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
open(os.path.join(a.out, "ready"), "w").close()
srv.serve_forever()
