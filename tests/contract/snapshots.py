"""Write the contract snapshots and the AsyncAPI document (`make contracts`); never rewrites a breaking change."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pmo_events.asyncapi import build
from pmo_events.contracts import registry
from pmo_events.contracts.compat import breaking_changes

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "snapshots"
ASYNCAPI = HERE.parent.parent / "docs" / "asyncapi.json"


def render(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def main() -> int:
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
    for line in refused:
        print(line, file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
