"""A stand-in service for supervision tests: `python fake_service.py serve|migrate <name>`.

Behaviour per service through the environment: FAKE_MODE_<NAME> = ok | crash | stubborn | unready,
and FAKE_MIGRATE_FAIL=<name> makes that service's migration fail.
"""

import http.server
import json
import os
import signal
import sys

action, service = sys.argv[1], sys.argv[2]
mode = os.environ.get("FAKE_MODE_" + service.upper(), "ok")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code, body = 404, b""
        if self.path == "/env":
            env = {k: v for k, v in os.environ.items() if k.startswith("PMO_")}
            code, body = 200, json.dumps(env).encode()
        elif self.path == "/health/ready":
            code, body = (503, b"broker: not reachable") if mode == "unready" else (200, b"ok")
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def migrate() -> None:
    print(f"migrating {service}", flush=True)
    if os.environ.get("FAKE_MIGRATE_FAIL") == service:
        print("alembic: table already exists", flush=True)
        sys.exit(2)


def serve() -> None:
    if mode == "crash":
        print("boom: cannot start", flush=True)
        sys.exit(3)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    port = int(os.environ["PMO_HTTP_PORT"])
    print(f"serving {service} pid={os.getpid()} port={port}", flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


migrate() if action == "migrate" else serve()
