"""Contract evolution rules: within a major version, fields may only be added, and only optional."""

from __future__ import annotations

from typing import Any

_IGNORED = {"title", "description", "default", "examples"}


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """What in `new` would break a consumer written against `old` (an empty list: compatible)."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        if _shape(old_prop) != _shape(new_props[name]):
            problems.append(f"{where}: type changed")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    problems.extend(f"{path}{name}: became required" for name in sorted(newly_required))
    for name, old_def in old.get("$defs", {}).items():
        new_def = new.get("$defs", {}).get(name)
        if new_def is None:
            problems.append(f"$defs.{name}: removed")
        else:
            problems.extend(breaking_changes(old_def, new_def, f"{path}{name}."))
    return problems


def _shape(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in _IGNORED}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema
