"""Pin CRD schemas for offline validation: `python tests/platform/crd_schemas.py CRD.yaml ...` writes each
served version's openAPIV3Schema to tests/platform/crds/<group>/<kind>.<version>.json (record where the
CRD files came from in tests/platform/crds/SOURCES.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).parent / "crds"


def main(paths: list[str]) -> int:
    for path in paths:
        for crd in yaml.safe_load_all(Path(path).read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if not version.get("served"):
                    continue
                target = OUT / spec["group"] / f"{spec['names']['kind']}.{version['name']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                schema = version["schema"]["openAPIV3Schema"]
                target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(f"{target.relative_to(OUT)}: from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
