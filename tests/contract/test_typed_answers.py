"""Every object an answer carries is typed: named properties (or a typed map), never an open `object`.

An open object (`{"type": "object"}` with no properties, or `additionalProperties: true`) gives a generated
TypeScript client `Record<string, unknown>` or `Record<string, never>` and a Python client a bag of values
(issue 14). Walks every schema the four committed OpenAPI documents answer with (`docs/openapi/*.json`) and
every inline response schema. `FREE_FORM` lists what stays open on purpose, with the reason; `NOT_YET_TYPED`
what is still open and should be typed (a follow-up of issue 14): a new open object fails here.
"""

from __future__ import annotations

from typing import Any

from .openapi_documents import SERVICES, committed
from .test_uniform_fields import answered_schemas

#: Open on purpose, by `service:Schema.path`.
FREE_FORM = {
    "intake:HistoryEntry.data": "an event's payload as it was recorded: its shape is the event type's "
    "(docs/events.md, the AsyncAPI document), which the entry's `event` names",
    "reporting:HistoryEntry.data": "an event's payload as it was recorded, as in intake's history",
    "reporting:ProjectEntry": "an entry of a project's record as its event carried it (StatusReported, "
    "StageGateDecided, ...): its shape is the event type's",
}
#: Still open; to be typed (issue 14 follow-up). Remove an entry when its schema is typed.
NOT_YET_TYPED = {
    "portfolio:SavedScenario.parameters",
    "reporting:DecisionEntry.evidence.anyOf[0]",
}


def is_open(node: dict[str, Any]) -> bool:
    """An object with no named properties whose other members are untyped."""
    extra = node.get("additionalProperties")
    return node.get("type") == "object" and not node.get("properties") and extra in (None, True, {})


def open_objects(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, dict):
        if is_open(node):
            found.append(path)
        for key, value in node.items():
            if key in ("examples", "example"):
                continue
            if key == "properties":
                for name, prop in value.items():
                    open_objects(prop, f"{path}.{name}", found)
            elif key == "anyOf":
                for n, branch in enumerate(value):
                    open_objects(branch, f"{path}.anyOf[{n}]", found)
            else:
                open_objects(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        for value in node:
            open_objects(value, path, found)


def answered_open_objects() -> set[str]:
    found: list[str] = []
    for service in SERVICES:
        document = committed(service)
        assert document is not None, f"docs/openapi/{service}.json is missing: run `make contracts`"
        for name, schema in answered_schemas(document).items():
            open_objects(schema, f"{service}:{name}", found)
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict):
                    continue
                for status, response in operation.get("responses", {}).items():
                    for media, content in response.get("content", {}).items():
                        if status.startswith("2"):
                            open_objects(
                                content.get("schema", {}), f"{service}:{method} {path} {status} {media}", found
                            )
    return set(found)


def test_every_answered_object_is_typed() -> None:
    found = answered_open_objects()
    assert not found - set(FREE_FORM) - NOT_YET_TYPED, (
        "open objects in answers: give each a response model with properties (or a typed map), "
        f"or say in FREE_FORM why it stays open: {sorted(found - set(FREE_FORM) - NOT_YET_TYPED)}"
    )
    assert not (set(FREE_FORM) | NOT_YET_TYPED) - found, "listed but typed now (or gone): drop it from the list"


def test_an_open_object_is_found_and_a_typed_one_is_not() -> None:
    found: list[str] = []
    schema = {
        "properties": {
            "open": {"type": "object", "additionalProperties": True},
            "bare": {"anyOf": [{"type": "object"}, {"type": "null"}]},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "typed": {"type": "object", "properties": {"a": {"type": "string"}}},
            "rows": {"type": "array", "items": {"type": "object"}},
        }
    }
    open_objects(schema, "S", found)
    assert found == ["S.open", "S.bare.anyOf[0]", "S.rows.items"]
