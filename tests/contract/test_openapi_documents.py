"""The committed OpenAPI documents are the code's, and change only compatibly unless their major version rises."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pmo_servicekit.contract.compat import breaking_changes, major

from .openapi_documents import SERVICES, committed, generated

GENERATED = generated()


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_document_is_the_one_the_service_serves(service: str) -> None:
    before = committed(service)
    assert before is not None, f"docs/openapi/{service}.json is missing: run `make contracts`"
    now = GENERATED[service]
    if major(now) <= major(before):
        problems = breaking_changes(before, now)
        assert not problems, f"{service}: breaking changes; raise api_version's major to make them: {problems}"
    assert now == before, f"docs/openapi/{service}.json is stale: run `make contracts` and commit it"


# -- the compatibility check itself, on a small document ----------------------------------------------------

BASE: dict[str, Any] = {
    "info": {"version": "1.0.0"},
    "paths": {
        "/things": {
            "post": {
                "operationId": "createThing",
                "x-required-roles": ["admin"],
                "parameters": [{"in": "query", "name": "dry_run", "required": False, "schema": {"type": "boolean"}}],
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingIn"}}},
                    "required": True,
                },
                "responses": {
                    "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                },
            }
        }
    },
    "components": {
        "schemas": {
            "ThingIn": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                },
                "required": ["name"],
            },
            "Thing": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "amount": {"type": "string"}},
                "required": ["id", "amount"],
            },
        }
    },
}


def _changed(edit: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    edit(document)
    return document


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"]


def _post(document: dict[str, Any]) -> dict[str, Any]:
    return document["paths"]["/things"]["post"]


BREAKING = {
    "operation removed": lambda d: d["paths"].pop("/things"),
    "operationId renamed": lambda d: _post(d).update(operationId="makeThing"),
    "response field removed": lambda d: _schemas(d)["Thing"]["properties"].pop("amount"),
    "response field may be null": lambda d: _schemas(d)["Thing"]["properties"].update(
        amount={"anyOf": [{"type": "string"}, {"type": "null"}]}
    ),
    "response field no longer always present": lambda d: _schemas(d)["Thing"].update(required=["id"]),
    "new required body field": lambda d: _schemas(d)["ThingIn"].update(required=["name", "kind"]),
    "input type narrowed": lambda d: _schemas(d)["ThingIn"]["properties"].update(name={"type": "integer"}),
    "enum value removed": lambda d: _schemas(d)["ThingIn"]["properties"]["kind"].update(enum=["a"]),
    "bound tightened": lambda d: _schemas(d)["ThingIn"]["properties"]["name"].update(maxLength=100),
    "parameter became required": lambda d: _post(d)["parameters"][0].update(required=True),
    "new required parameter": lambda d: _post(d)["parameters"].append(
        {"in": "header", "name": "X-Tenant", "required": True, "schema": {"type": "string"}}
    ),
    "a role taken away": lambda d: _post(d).update({"x-required-roles": ["pmo_analyst"]}),
    "an ownership rule where there was none": lambda d: _post(d).update(
        {"x-required-roles": ["viewer"], "x-ownership": {"rule": "own-things", "description": "", "exempt": []}}
    ),
}
COMPATIBLE = {
    "new optional body field": lambda d: _schemas(d)["ThingIn"]["properties"].update(note={"type": "string"}),
    "new response field": lambda d: _schemas(d)["Thing"]["properties"].update(note={"type": "string"}),
    "input widened": lambda d: _schemas(d)["ThingIn"]["properties"]["kind"].update(enum=["a", "b", "c"]),
    "bound relaxed": lambda d: _schemas(d)["ThingIn"]["properties"]["name"].update(maxLength=400),
    "a role more": lambda d: _post(d).update({"x-required-roles": ["pmo_analyst", "admin"]}),
    "every role (the viewer floor)": lambda d: _post(d).update({"x-required-roles": ["viewer"]}),
    "new operation": lambda d: d["paths"].update({"/other": {"get": {"operationId": "readOther", "responses": {}}}}),
}


@pytest.mark.parametrize("edit", BREAKING.values(), ids=BREAKING.keys())
def test_the_compatibility_check_catches_a_breaking_change(edit: Any) -> None:
    assert breaking_changes(BASE, _changed(edit))


@pytest.mark.parametrize("edit", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_the_compatibility_check_lets_an_addition_through(edit: Any) -> None:
    assert breaking_changes(BASE, _changed(edit)) == []
