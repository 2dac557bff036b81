"""docs/api.md, checked over every operation of the four services' documents (as the code builds them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pmo_servicekit.auth import ROLES
from pmo_servicekit.contract.responses import PROBLEM_JSON

from .openapi_documents import generated

DOCUMENTS = generated()
METHODS = ("get", "put", "post", "patch", "delete")
#: The only operations anyone may call without a token.
PUBLIC = {("get", "/health/live"), ("get", "/health/ready"), ("get", "/metrics")}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for service, document in DOCUMENTS.items():
        for path, item in document["paths"].items():
            for method in METHODS:
                if method in item:
                    yield service, method, path, item[method]


OPERATIONS = list(_operations())
IDS = [f"{s}:{m.upper()} {p}" for s, m, p, _ in OPERATIONS]


def _resolve(service: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`s; an optional body (`X | None`) resolves to X."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema = branches[0]
    while "$ref" in schema:
        schema = DOCUMENTS[service]["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    statuses = [s for s in operation["responses"] if s.startswith("2")]
    assert len(statuses) == 1, f"one success status, not {statuses}"
    return statuses[0], operation["responses"][statuses[0]]


def _json_body(service: str, operation: dict[str, Any]) -> dict[str, Any] | None:
    _, response = _success(operation)
    media = response.get("content", {}).get("application/json")
    return None if media is None else _resolve(service, media.get("schema", {}))


def _is_page(service: str, schema: dict[str, Any] | None) -> bool:
    return schema is not None and "items" in schema.get("properties", {})


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_is_named_and_summarised(service: str, method: str, path: str, operation: Any) -> None:
    operation_id = operation.get("operationId", "")
    assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", operation_id) and len(operation_id) < 40, operation_id
    assert len(operation.get("summary", "").split()) > 2, f"summary {operation.get('summary')!r} says too little"


@pytest.mark.parametrize("service", DOCUMENTS)
def test_operation_ids_are_unique_per_service(service: str) -> None:
    ids = [op["operationId"] for s, _m, _p, op in OPERATIONS if s == service]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_success_is_typed(service: str, method: str, path: str, operation: Any) -> None:
    status, response = _success(operation)
    content = response.get("content", {})
    assert content, f"{status} declares no body"
    for media, body in content.items():
        schema = _resolve(service, body.get("schema", {}))
        if media == "application/json":
            assert schema.get("type") == "object" and schema.get("properties"), f"{status} JSON is not a typed object"
        else:
            assert schema.get("type") == "string", f"{status} {media} is not described"


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_problem_is_the_one_problem_schema(service: str, method: str, path: str, operation: Any) -> None:
    for status, response in operation["responses"].items():
        if status.startswith("4") or (status.startswith("5") and (method, path) not in PUBLIC):
            assert response.get("content") == {PROBLEM_JSON: {"schema": PROBLEM}}, f"{status} is not a Problem"
        if status == "503":
            assert "Retry-After" in response.get("headers", {}), "503 without Retry-After"


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_list_pages_alike(service: str, method: str, path: str, operation: Any) -> None:
    body = _json_body(service, operation)
    if not _is_page(service, body):
        return
    assert body is not None and "next_cursor" in body["properties"], "a list without next_cursor"
    reference = DOCUMENTS["intake"]["paths"]["/proposals"]["get"]["parameters"]
    expected = {p["name"]: p for p in reference if p["name"] in ("limit", "cursor")}
    given = {p["name"]: p for p in operation.get("parameters", []) if p["name"] in ("limit", "cursor")}
    assert given == expected, "limit and cursor differ from the one pagination contract"


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_declares_who_may_call_it(service: str, method: str, path: str, operation: Any) -> None:
    if (method, path) in PUBLIC:
        assert operation["security"] == []
        return
    assert operation.get("security"), "only health and metrics are public"
    roles = operation.get("x-required-roles")
    assert isinstance(roles, list) and set(roles) <= ROLES, f"x-required-roles {roles!r}"
    assert "**Roles:**" in operation.get("description", "")
    assert "401" in operation["responses"]


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_headers_are_declared(service: str, method: str, path: str, operation: Any) -> None:
    status, response = _success(operation)
    headers = response.get("headers", {})
    if status == "201":
        assert {"Location", "ETag"} <= set(headers), "a create answers Location and ETag"
    if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
        assert "ETag" in headers and "412" in operation["responses"], "If-Match without ETag and 412"


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_request_bodies_have_examples(service: str, method: str, path: str, operation: Any) -> None:
    body = operation.get("requestBody")
    if body is None:
        return
    media = body["content"]["application/json"]
    assert media.get("example") or media.get("examples") or _resolve(service, media["schema"]).get("examples")


def _example(service: str, media: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    if media.get("examples"):
        return next(iter(media["examples"].values()))["value"]
    examples = _resolve(service, media.get("schema", {})).get("examples")
    return examples[0] if examples else None


@pytest.mark.parametrize(("service", "method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_success_has_an_example_that_fits_its_schema(
    service: str, method: str, path: str, operation: Any
) -> None:
    """A front end (or a mock server) sees what an answer looks like, and the example is a valid answer."""
    _, response = _success(operation)
    media = response.get("content", {}).get("application/json")
    if media is None:
        return
    example = _example(service, media)
    assert example is not None, "the JSON answer has no example"
    schema = {**media["schema"], "components": DOCUMENTS[service]["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(example), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize("service", DOCUMENTS)
def test_no_number_travels_as_a_float(service: str) -> None:
    """Money, FTE and ratios are decimal strings; the only JSON numbers are integers."""
    floats = [where for where, schema in _walk(DOCUMENTS[service], "") if schema.get("type") == "number"]
    assert not floats, floats


def _walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")
