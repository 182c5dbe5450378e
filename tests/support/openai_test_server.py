#!/usr/bin/env python3
"""A scriptable server speaking the OpenAI chat-completions HTTP protocol on
127.0.0.1, for the model router tests (tests/runtime/control/model_router_test.cpp).

    openai_test_server.py --port-file FILE     # binds a free port, writes it to FILE

POST /v1/chat/completions answers with the next scripted response, or with
the default one when the script is empty. A response is a JSON object:
    {"status": 200, "content": "...", "usage": {"prompt_tokens": 10, "completion_tokens": 5},
     "hold_ms": 0, "retry_after": "1", "raw": "<body sent verbatim>",
     "tool_calls": [{"id": "call_1", "name": "lookup", "arguments": {"q": "x"}}]}
"close": true closes the connection after the answer without saying so
(no Connection: close), as a server dropping an idle keep-alive connection
does. "hold_ms" (or its older name "delay_ms") holds the answer that long; the
request counts as in flight until its answer is written. "tool_calls" makes
the answer an assistant message calling those tools (arguments sent as the
JSON text of the object, or verbatim when a string), finish_reason
"tool_calls". Without content the answer echoes the last user message, or,
for structured output (response_format, or a forced function tool), is a
small JSON object.

The default may instead be a rule, so a long agent loop needs no script:
    {"tools_until": 2, "tool": "echo", "arguments": {...}, "content": "..."}
answers with a call of `tool` while the conversation holds fewer than
`tools_until` tool messages, then with a final answer (`content`, else
"done after N tool results"). Its other keys (usage, hold_ms) apply to
every answer.

POST /v1/embeddings answers {"data": [{"index": i, "embedding": [...]}]} for
its "input" (a string or a list): deterministic vectors of the configured
dimension, a count per word (lower-cased, [a-z0-9]+) at crc32(word) % dim,
after "aliases" map words onto others (so two phrasings can share a vector
without sharing a word). Not normalised: the client must do that.
    POST /_embed  {"dim": 16, "aliases": {"yearly": "annual"}, "fail": [503, 500], "status": 200}
"fail" answers the next requests with those statuses, one each; "status"
answers every request with it until set back to 200; "dim_override" sends
vectors of another length.

Control endpoints (JSON bodies):
    POST /_script   {"responses": [...]}   appended to the script
    POST /_default  {...}                  the response (or rule) used when the script is empty
    POST /_reset                            clears the script, the default and the log
    GET  /_requests                         {"requests": [every completion request with its arrival
                                            time "t", "in_flight" on arrival and the client's
                                            "peer_port" (one per connection)], "peak_in_flight": N,
                                            "embeddings": [{"inputs": N, "status": S, "authorization": A}]}
Python 3 standard library only.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SCRIPT = []
DEFAULT = {}
REQUESTS = []
IN_FLIGHT = 0
PEAK_IN_FLIGHT = 0
EMBED = {"dim": 16, "aliases": {}, "fail": [], "status": 200}
EMBED_REQUESTS = []


def embedding(text, dim, aliases):
    v = [0.0] * dim
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        w = aliases.get(w, w)
        v[zlib.crc32(w.encode()) % dim] += 1.0
    return v


def forced_function(req):
    """The structured-output trick: one tool the model must call."""
    choice = req.get("tool_choice")
    return isinstance(choice, dict) and "tools" in req


def apply_rule(req, resp):
    """A default with tools_until becomes this turn's response."""
    if "tools_until" not in resp:
        return resp
    turn = {k: v for k, v in resp.items() if k not in ("tools_until", "tool", "arguments", "content")}
    results = sum(1 for m in req.get("messages", []) if m.get("role") == "tool")
    if results < int(resp["tools_until"]):
        turn["tool_calls"] = [{"id": "call_%d" % (results + 1), "name": resp.get("tool", "echo"),
                               "arguments": resp.get("arguments", {})}]
    else:
        turn["content"] = resp.get("content", "done after %d tool results" % results)
    return turn


def tool_call_json(call):
    args = call.get("arguments", {})
    return {"id": call.get("id"), "type": "function",
            "function": {"name": call.get("name"), "arguments": args if isinstance(args, str) else json.dumps(args)}}


def completion_body(req, resp):
    wants_json = "response_format" in req or forced_function(req)
    content = resp.get("content")
    if content is None and "tool_calls" not in resp:
        if wants_json:
            content = json.dumps({"ok": True, "model": req.get("model")})
        else:
            last = next((m.get("content", "") for m in reversed(req.get("messages", [])) if m.get("role") == "user"), "")
            content = "echo: " + last
    usage = resp.get("usage", {"prompt_tokens": 10, "completion_tokens": 5})
    message = {"role": "assistant", "content": content}
    finish = "stop"
    if "tool_calls" in resp:
        message["tool_calls"] = [tool_call_json(c) for c in resp["tool_calls"]]
        finish = "tool_calls"
    elif forced_function(req):
        name = req["tools"][0]["function"]["name"]
        message = {"role": "assistant", "content": None,
                   "tool_calls": [{"id": "call_1", "type": "function",
                                   "function": {"name": name, "arguments": content}}]}
    usage = dict(usage)
    usage["total_tokens"] = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": req.get("model", "unknown"),
            "choices": [{"index": 0, "message": message, "finish_reason": resp.get("finish_reason", finish)}],
            "usage": usage}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads /_requests instead
        pass

    def read_json(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def send(self, status, body, headers=None):
        data = body.encode() if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                return self.send(200, json.dumps({"requests": REQUESTS, "peak_in_flight": PEAK_IN_FLIGHT,
                                                  "embeddings": EMBED_REQUESTS}))
        self.send(404, '{"error": "not found"}')

    def do_POST(self):
        global DEFAULT, IN_FLIGHT, PEAK_IN_FLIGHT
        body = self.read_json()
        if self.path == "/_script":
            with LOCK:
                SCRIPT.extend(body.get("responses", []))
            return self.send(200, "{}")
        if self.path == "/_default":
            with LOCK:
                DEFAULT = body or {}
            return self.send(200, "{}")
        if self.path == "/_embed":
            with LOCK:
                EMBED.update(body or {})
            return self.send(200, "{}")
        if self.path == "/v1/embeddings":
            return self.embeddings(body)
        if self.path == "/_reset":
            with LOCK:
                SCRIPT.clear()
                REQUESTS.clear()
                DEFAULT = {}
                PEAK_IN_FLIGHT = IN_FLIGHT
            return self.send(200, "{}")
        if self.path != "/v1/chat/completions":
            return self.send(404, '{"error": "not found"}')
        if body is None:
            return self.send(400, '{"error": {"message": "body is not JSON"}}')
        with LOCK:
            IN_FLIGHT += 1
            PEAK_IN_FLIGHT = max(PEAK_IN_FLIGHT, IN_FLIGHT)
            resp = SCRIPT.pop(0) if SCRIPT else apply_rule(body, dict(DEFAULT))
            REQUESTS.append({"t": time.monotonic(), "in_flight": IN_FLIGHT, "model": body.get("model"), "body": body,
                             "authorization": self.headers.get("Authorization", ""),
                             "peer_port": self.client_address[1]})
        try:
            self.answer(body, resp)
        finally:
            with LOCK:
                IN_FLIGHT -= 1

    def embeddings(self, body):
        with LOCK:
            status = EMBED["fail"].pop(0) if EMBED["fail"] else EMBED.get("status", 200)
            inputs = (body or {}).get("input", [])
            if isinstance(inputs, str):
                inputs = [inputs]
            EMBED_REQUESTS.append({"inputs": len(inputs), "status": status, "model": (body or {}).get("model"),
                                   "authorization": self.headers.get("Authorization", "")})
            dim = EMBED.get("dim_override", EMBED["dim"])
            aliases = dict(EMBED["aliases"])
        if status != 200:
            return self.send(status, json.dumps({"error": {"message": "scripted %d" % status}}))
        data = [{"object": "embedding", "index": i, "embedding": embedding(t, dim, aliases)} for i, t in enumerate(inputs)]
        self.send(200, json.dumps({"object": "list", "data": data, "model": (body or {}).get("model"),
                                   "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}}))

    def answer(self, body, resp):
        hold_ms = resp.get("hold_ms", resp.get("delay_ms", 0))
        if hold_ms:
            time.sleep(hold_ms / 1000.0)  # this handler's own thread: other requests go on
        status = resp.get("status", 200)
        headers = {}
        if "retry_after" in resp:
            headers["Retry-After"] = str(resp["retry_after"])
        if "raw" in resp:
            return self.send(status, resp["raw"], headers)
        if status != 200:
            return self.send(status, json.dumps({"error": {"message": "scripted %d" % status}}), headers)
        self.send(200, json.dumps(completion_body(body, resp)), headers)
        if resp.get("close"):
            self.close_connection = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)  # the test sees the whole port number or nothing
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
