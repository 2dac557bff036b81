"""A service's real app answers the same with `pmo_servicekit.routing.FlatRoute` as with FastAPI's own route handler:
the differential of intake's `test_flat_routes`, made generic for any service definition (issue 17).

`answers(definition, data, flat=...)` builds the service's app with `create_app` on a fresh SQLite database
(migrated, with dev keys), sends every operation of its OpenAPI document with several kinds of token (none,
garbage, Basic, expired, another audience, no roles, each role), bodies (the documented example, `{}`, `[]`, not
JSON, none), path parameters (a UUID, something that is not one, anything `prepare` made) and bad queries, and
answers (status, body, headers) with ids and times normalised. With `flat=False` every `FlatRoute` uses
FastAPI's own handler (`APIRoute.get_route_handler`), while the requests are answered too: a route makes its
handler when it is included, and again whenever FastAPI rebuilds it. FastAPI's dependency solver is counted.
A configured global tracer provider is made visible, as `serve` sets one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import pmo_servicekit.routing as routing
from pmo_devstack.keys import ensure_dev_keys, mint_token
from pmo_devstack.testing import dev_settings, migrated
from pmo_events.runtime import KafkaSettings
from pmo_servicekit.app import create_app
from pmo_servicekit.auth import ROLES
from pmo_servicekit.service import ServiceDefinition

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
UNCOMPARED_PATHS = ("/health", "/metrics", "/openapi", "/docs", "/asyncapi")
A_UUID = "00000000-0000-4000-8000-000000000000"
#: What `prepare` gets: the test client and the tokens by name; what it answers: path parameter values by name.
Prepare = Callable[[TestClient, dict[str, str | None]], dict[str, str]]


def norm(text: str) -> str:
    return re.sub(r"\b[0-9a-f]{32}\b", "HEX", TS.sub("TS", UUID.sub("UUID", text)))


def canonical(body: str) -> str:
    """`norm` of a body, a page's items (or a list) in a fixed order: lists ordered by id order differently in
    two runs whose ids are random (the handler cannot reorder what a query gives it)."""
    try:
        document = json.loads(body)
    except ValueError:
        return norm(body)
    items = document.get("items") if isinstance(document, dict) else document
    if isinstance(items, list):
        items.sort(key=lambda item: norm(json.dumps(item)))
    return norm(json.dumps(document))


def tokens(private: bytes) -> dict[str, str | None]:
    mint = mint_token
    found: dict[str, str | None] = {
        "none": None,
        "garbage": "Bearer nonsense",
        "basic": "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "empty-bearer": "Bearer ",
        "expired": "Bearer " + mint(private, subject="ann", roles=["admin"], ttl=timedelta(seconds=-60)),
        "wrong-aud": "Bearer " + mint(private, subject="ann", roles=["admin"], audience="other"),
        "noroles": "Bearer " + mint(private, subject="ann", roles=[]),
    }
    for role in sorted(ROLES):
        found[role] = "Bearer " + mint(private, subject="ann", roles=[role])
    found["all-roles"] = "Bearer " + mint(private, subject="ann", roles=sorted(ROLES))
    return found


def make(definition: ServiceDefinition, data: Path) -> tuple[Any, bytes]:
    url = f"sqlite+aiosqlite:///{data}/db.sqlite"
    settings = dev_settings(definition, data, url)
    migrated(url, definition.migrations, definition.metadata)
    private, _ = ensure_dev_keys(data)
    return create_app(definition, settings, KafkaSettings(bootstrap_servers="127.0.0.1:1")), private.read_bytes()


def _example(operation: dict[str, Any], openapi: dict[str, Any]) -> str:
    """The request body's documented example, or `{}`."""
    content = operation.get("requestBody", {}).get("content", {})
    media: dict[str, Any] = next(iter(content.values()), {})
    if "example" in media:
        return json.dumps(media["example"])
    for example in media.get("examples", {}).values():
        if "value" in example:
            return json.dumps(example["value"])
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("examples"):
        return json.dumps(schema["examples"][0])
    return "{}"


def _requests(
    openapi: dict[str, Any], tk: dict[str, str | None], prepared: dict[str, str], skip: Collection[str]
) -> Iterator[tuple[tuple[str, ...], str, str, list[tuple[str, str]], bytes | None]]:
    for path, operations in openapi["paths"].items():
        if path.startswith(UNCOMPARED_PATHS):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete") or f"{method.upper()} {path}" in skip:
                continue
            has_body = "requestBody" in operation
            bodies = {"example": _example(operation, openapi).encode()}
            if has_body:
                bodies |= {"empty-object": b"{}", "array": b"[]", "not-json": b'{"a":', "none": b""}
            names = re.findall(r"\{([a-z_]+)\}", path)
            ids = {"prepared": None, "uuid": A_UUID, "not-a-uuid": "not-a-uuid"} if names else {"-": None}
            queries = ["", "?limit=0", "?limit=abc", "?cursor=zzz", "?q=" + "x" * 300] if method == "get" else [""]
            for token_name, token in tk.items():
                for body_name, body in bodies.items():
                    if body_name != "example" and token_name not in ("all-roles", "none", "garbage", "viewer"):
                        continue
                    for id_name, id_value in ids.items():
                        if id_name != "prepared" and id_name != "-" and token_name != "all-roles":
                            continue
                        for query in queries if token_name == "all-roles" and body_name == "example" else [""]:
                            url = path
                            for name in names:
                                value = prepared.get(name, A_UUID) if id_value is None else id_value
                                url = url.replace("{" + name + "}", value)
                            headers = [("authorization", token)] if token else []
                            extra = [("if-match", '"1"'), ("idempotency-key", "key-1")]
                            for variant, more in (("plain", []), ("headers", extra)):
                                if variant == "headers" and (token_name != "all-roles" or method == "get"):
                                    continue
                                sent = headers + more
                                if has_body:
                                    sent.append(("content-type", "application/json"))
                                key = (method, path, token_name, body_name, id_name, query, variant)
                                yield key, method.upper(), url + query, sent, body if has_body else None


def answers(
    definition: ServiceDefinition,
    data: Path,
    *,
    flat: bool,
    prepare: Prepare | None = None,
    skip: Collection[str] = (),
) -> tuple[dict[str, Any], list[tuple[tuple[str, ...], int, str, list[tuple[str, str]]]], Counter[str], int]:
    """(the OpenAPI document, every answer, how often FastAPI's solver ran by operation (`METHOD /path`), how many
    spans FastAPI made itself). `skip` names operations (`METHOD /path`) not sent at all (a solver's, which
    would start a worker process)."""
    solved = Counter[str]()
    operation = ""
    real_solver = fastapi.routing.solve_dependencies

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved[operation] += 1
        return await real_solver(*args, **kwargs)

    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    out = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trace, "get_tracer_provider", lambda: provider)  # as `serve` sets one
        patch.setattr(fastapi.routing, "solve_dependencies", counted)
        if not flat:
            patch.setattr(routing.FlatRoute, "get_route_handler", APIRoute.get_route_handler)
        app, private = make(definition, data)
        with TestClient(app, raise_server_exceptions=False) as client:
            openapi = client.get("/openapi.json").json()
            tk = tokens(private)
            prepared = prepare(client, tk) if prepare is not None else {}
            solved.clear()
            for key, method, url, headers, body in _requests(openapi, tk, prepared, skip):
                operation = f"{method} {key[1]}"
                answer = client.request(method, url, headers=headers, content=body)
                kept = sorted(
                    (k, norm(v))
                    for k, v in answer.headers.items()
                    if k not in ("date", "x-request-id", "content-length")
                )
                out.append((key, answer.status_code, canonical(answer.text), kept))
    by_fastapi = [s for s in spans.get_finished_spans() if getattr(s.instrumentation_scope, "name", "") == "fastapi"]
    return openapi, out, solved, len(by_fastapi)
