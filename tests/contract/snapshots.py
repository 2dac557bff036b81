"""`make contracts`: write the event snapshots, the AsyncAPI document, the four OpenAPI documents and the
access matrix (docs/access.md) read from them.

Never rewrites a breaking change: an event type needs a new major version (`v<N+1>`), an HTTP
contract a higher major `api_version` in the service's definition (docs/api.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from openapi_documents import OPENAPI_DIR, committed, generated, path_of
from openapi_documents import render as render_openapi

from pmo_events.asyncapi import build
from pmo_events.contracts import registry
from pmo_events.contracts.compat import breaking_changes
from pmo_servicekit.access import render_matrix
from pmo_servicekit.contract import compat as http_compat

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "snapshots"
ASYNCAPI = HERE.parent.parent / "docs" / "asyncapi.json"
ACCESS = HERE.parent.parent / "docs" / "access.md"


def render(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def write_event_snapshots() -> list[str]:
    refused = []
    for type_name, cls in sorted(registry.classes().items()):
        if type_name.startswith("pmo.test."):
            continue
        path = SNAPSHOTS / f"{type_name}.json"
        schema = cls.model_json_schema()
        if path.exists():
            problems = breaking_changes(json.loads(path.read_text()), schema)
            if problems:
                refused.append(f"{type_name}: {'; '.join(problems)} (publish a new major version instead)")
                continue
        path.write_text(render(schema))
    ASYNCAPI.parent.mkdir(exist_ok=True)
    ASYNCAPI.write_text(render(build()))
    return refused


def write_openapi_documents() -> list[str]:
    refused = []
    OPENAPI_DIR.mkdir(parents=True, exist_ok=True)
    for service, document in generated().items():
        before = committed(service)
        if before is not None and http_compat.major(document) <= http_compat.major(before):
            problems = http_compat.breaking_changes(before, document)
            if problems:
                lines = "\n  ".join(problems)
                refused.append(f"{service} API: breaking changes (raise api_version's major to publish):\n  {lines}")
                continue
        path_of(service).write_text(render_openapi(document))
    return refused


def write_access_matrix() -> None:
    """docs/access.md from the documents the code builds (who may call each operation, and on what)."""
    ACCESS.write_text(render_matrix(generated()))


def main() -> int:
    refused = write_event_snapshots() + write_openapi_documents()
    write_access_matrix()
    for line in refused:
        print(line, file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
