#!/usr/bin/env python3
"""Test app: answers like Django's host validation with Mathesar's default.
ALLOWED_HOSTS (comma-separated; default `.localhost, 127.0.0.1, [::1]`) decides:
200 when the Host header's name matches an entry, else 400 with nothing
logged by the app itself. Prints each Host it got as `HOST=...`, and
gunicorn's "Listening at:" once it accepts connections.
Listens on 127.0.0.1:$APP_PORT."""
import http.server
import os
import sys

patterns = [p.strip().lower() for p in os.environ.get("ALLOWED_HOSTS", ".localhost, 127.0.0.1, [::1]").split(",") if p.strip()]


def allowed(host):
    name = host.lower()
    if name.startswith("["):
        name = name[:name.index("]") + 1]
    else:
        name = name.rsplit(":", 1)[0]
    return any(p == "*" or name == p or (p.startswith(".") and (name == p[1:] or name.endswith(p))) for p in patterns)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = self.headers.get("Host", "")
        print("HOST=" + host, flush=True)
        self.send_response(200 if allowed(host) else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


print("ALLOWED=" + ",".join(patterns), flush=True)
server = http.server.HTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Handler)
print(f"Listening at: http://127.0.0.1:{os.environ['APP_PORT']}", flush=True)  # as gunicorn says it
server.serve_forever()
