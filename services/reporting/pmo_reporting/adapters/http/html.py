"""What the console and the board pack share: the Jinja2 templates (autoescaped) and report bodies as JSON."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel

templates = Environment(
    loader=PackageLoader("pmo_reporting.adapters.http", "console_templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def as_json(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """A report body exactly as the JSON API answers it (strings for money, RFC 3339 instants)."""
    return model.model_validate(body).model_dump(mode="json", by_alias=True)


def instant_text(instant: Any) -> str:
    """An instant as the API writes it (RFC 3339, `Z` for UTC)."""
    return str(instant.isoformat()).replace("+00:00", "Z")
