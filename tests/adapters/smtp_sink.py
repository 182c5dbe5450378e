#!/usr/bin/python3
"""An SMTP sink for the email tests: Debian's aiosmtpd on 127.0.0.1:PORT.

Every accepted message is written to OUT_DIR/<n>.eml (the data as received)
and OUT_DIR/<n>.json ({mail_from, rcpt_tos, tls, auth_user}), the JSON last
so a test that sees it sees the whole message. With --cert/--key the server
offers STARTTLS and refuses mail before it (require_starttls); with
--user/--password it requires AUTH (aiosmtpd only allows it over TLS).
--no-starttls-offer: a plain server (tests that STARTTLS is demanded).
Ready when OUT_DIR/ready exists.
"""
import argparse, json, os, ssl, sys, threading, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--cert"); p.add_argument("--key")
p.add_argument("--user"); p.add_argument("--password")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
count = [0]
lock = threading.Lock()

class Sink:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1
            n = count[0]
        base = os.path.join(a.out, "%04d" % n)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None,
                "auth_user": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None)}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 OK queued as %d" % n

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user and auth_data.password.decode() == a.password
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

kw = {}
if a.cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    kw.update(tls_context=ctx, require_starttls=True)
if a.user:
    kw.update(authenticator=authenticator, auth_required=True)
ctl = Controller(Sink(), hostname="127.0.0.1", port=a.port, **kw)
ctl.start()
open(os.path.join(a.out, "ready"), "w").close()
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    ctl.stop()
