"""HEALTHCHECK of the pmo-backend image: exit 0 when the service in this container answers /health/live.

The port is PMO_HTTP_PORT when the container sets it, else the one the entry point wrote when it started
the service (/tmp/pmo-http-port). A container running a one-shot command (migrate, rebuild) serves
nothing and counts as healthy.
"""

import os
import sys
import urllib.request
from pathlib import Path

PORT_FILE = Path(os.environ.get("HEALTHCHECK_PORT_FILE", "/tmp/pmo-http-port"))


def main() -> int:
    port = os.environ.get("PMO_HTTP_PORT") or (PORT_FILE.read_text().strip() if PORT_FILE.exists() else "")
    if not port:
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"pmo-healthcheck: port {port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
