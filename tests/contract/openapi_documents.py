"""The four services' OpenAPI documents: as the code builds them, and as committed under docs/openapi/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "docs" / "openapi"
SERVICES = ("intake", "portfolio", "resourcing", "reporting")


def generated() -> dict[str, dict[str, Any]]:
    """Each service's document as its app serves it at `/openapi.json` (building an app does no I/O)."""
    from pmo_devstack.testing import openapi_of
    from pmo_intake.bootstrap import INTAKE
    from pmo_portfolio.bootstrap import PORTFOLIO
    from pmo_reporting.bootstrap import REPORTING
    from pmo_resourcing.bootstrap import RESOURCING

    return {d.name: openapi_of(d) for d in (INTAKE, PORTFOLIO, RESOURCING, REPORTING)}


def path_of(service: str) -> Path:
    return OPENAPI_DIR / f"{service}.json"


def committed(service: str) -> dict[str, Any] | None:
    path = path_of(service)
    return json.loads(path.read_text()) if path.exists() else None


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
