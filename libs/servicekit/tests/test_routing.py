"""`FlatRoute` answers every request as FastAPI's own route does, without FastAPI's per-request dependency walk."""

from __future__ import annotations

import email.message
from pathlib import Path
from typing import Annotated, Any

import fastapi.routing
import pytest
from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field

from pmo_devstack.keys import AUDIENCE, ISSUER, ensure_dev_keys, mint_token
from pmo_servicekit.access import allow
from pmo_servicekit.auth import Authenticator, CurrentPrincipal, Principal, authenticate
from pmo_servicekit.http import IfMatch, RequiredIfMatch, answer
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import install_problem_handlers
from pmo_servicekit.routing import FlatRoute, is_json_content_type
from pmo_servicekit.settings import ServiceSettings
from pmo_servicekit.telemetry import FASTAPI_TELEMETRY_OFF


class Draft(BaseModel):
    title: str = Field(min_length=1, max_length=20)
    size: int = Field(default=1, ge=1, le=5)


class Thing(BaseModel):
    id: str
    title: str
    size: int


def _app(
    route_class: type[APIRoute], settings: ServiceSettings, telemetry: TelemetryConfig = FASTAPI_TELEMETRY_OFF
) -> FastAPI:
    router = APIRouter(route_class=route_class)

    @router.post("/things", status_code=201, response_model=Thing, **allow("requester"))
    async def create(
        body: Draft, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
    ) -> Response:
        thing = Thing(id=principal.subject, title=body.title, size=body.size)
        return answer(thing, 1, status_code=201, location=f"/things/{thing.id}")

    @router.patch("/things/{thing_id}", response_model=Thing, **allow("requester"))
    async def change(thing_id: str, body: Draft, principal: CurrentPrincipal, if_match: RequiredIfMatch) -> Thing:
        return Thing(id=f"{thing_id}@{if_match}", title=body.title, size=body.size)

    @router.post("/things/{thing_id}/close", **allow("requester"))
    async def close(thing_id: str, principal: CurrentPrincipal, if_match: IfMatch = None) -> dict[str, Any]:
        return {"id": thing_id, "expected": if_match, "by": principal.subject}

    @router.get("/things", response_model=list[Thing], **allow("viewer"))
    async def listing(
        principal: CurrentPrincipal, response: Response, q: Annotated[str | None, Query(max_length=5)] = None
    ) -> list[dict[str, Any]]:
        response.headers["X-Seen-By"] = principal.subject
        return [{"id": "a", "title": q or "all", "size": 2, "dropped": True}]

    @router.get("/things/{thing_id}/notes", **allow("viewer"))
    async def notes(
        thing_id: str,
        principal: CurrentPrincipal,
        lang: Annotated[str, Header(max_length=5)] = "en",
        note: Annotated[str | None, Header(alias="X-Note", min_length=2)] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        size: Annotated[int, Query(ge=1, validate_default=True)] = 10,
    ) -> dict[str, Any]:
        return {"id": thing_id, "lang": lang, "note": note, "page": page, "size": size}

    app = FastAPI(telemetry=telemetry)  # by default as create_app makes it: FastAPI's own telemetry off
    app.state.authenticator = Authenticator(settings)
    install_problem_handlers(app)
    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, ServiceSettings]:
    data: Path = tmp_path_factory.mktemp("keys")
    private, public = ensure_dev_keys(data)
    settings = ServiceSettings(
        env="development", data_dir=data, auth_public_key_file=public, auth_issuer=ISSUER, auth_audience=AUDIENCE
    )
    return private.read_bytes(), settings


def _requests(private: bytes) -> list[tuple[str, str, dict[str, str], Any]]:
    requester = {"Authorization": f"Bearer {mint_token(private, subject='ann', roles=['requester'])}"}
    viewer = {"Authorization": f"Bearer {mint_token(private, subject='vic', roles=['viewer'])}"}
    json_type = {"Content-Type": "application/json"}
    good = b'{"title": "T", "size": 2}'
    return [
        ("POST", "/things", {**requester, **json_type}, good),
        ("POST", "/things", {**requester, "Content-Type": "application/merge-patch+json; charset=utf-8"}, good),
        ("POST", "/things", {**requester, "Content-Type": "text/plain"}, good),  # not JSON: the body is bytes
        ("POST", "/things", {**requester, "Content-Type": "application/json/x"}, good),
        ("POST", "/things", requester, good),  # no content type
        ("POST", "/things", {**requester, **json_type}, b""),  # no body
        ("POST", "/things", {**requester, **json_type}, b'{"title": '),  # not JSON
        ("POST", "/things", {**requester, **json_type}, b'{"title": "", "size": 9, "x": 1}'),
        ("POST", "/things", {**requester, **json_type, "Idempotency-Key": "k" * 201}, b'{"size": 0}'),
        ("POST", "/things", {**requester, **json_type, "Idempotency-Key": "k1"}, good),
        ("POST", "/things", json_type, good),  # no token: 401 before the body's errors
        ("POST", "/things", {**json_type, "Authorization": "Bearer nonsense"}, b"{}"),
        ("POST", "/things", {**viewer, **json_type}, b"{}"),  # 403 before the body's errors
        ("PATCH", "/things/t1", {**requester, **json_type, "If-Match": '"3"'}, good),
        ("PATCH", "/things/t1", {**requester, **json_type}, good),  # 428
        ("PATCH", "/things/t1", {**requester, **json_type, "If-Match": "x" * 65}, b'{"size": 0}'),
        ("PATCH", "/things/t1", {**requester, **json_type, "If-Match": "soon"}, good),  # 400 bad precondition
        ("POST", "/things/t2/close", {**requester, "If-Match": 'W/"4"'}, b""),
        ("POST", "/things/t2/close", requester, b""),
        ("GET", "/things", viewer, b""),
        ("GET", "/things?q=abc", requester, b""),
        ("GET", "/things?q=abcdefgh", viewer, b""),
        ("GET", "/things", {}, b""),
        ("GET", "/things/t3/notes", viewer, b""),  # every optional header and query absent: their defaults
        ("GET", "/things/t3/notes?page=2&size=3", {**viewer, "LANG": "de", "x-note": "hi"}, b""),
        ("GET", "/things/t3/notes?page=0", {**viewer, "Lang": "toolong", "X-Note": ""}, b""),  # 422, all three
        ("GET", "/things/t3/notes?size=0", {**viewer, "X-Note": "h"}, b""),
    ]


def test_a_flat_route_answers_as_fastapis_own_route(
    keys: tuple[bytes, ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, settings = keys
    plain, flat = TestClient(_app(APIRoute, settings)), TestClient(_app(FlatRoute, settings))
    solved = []
    original = fastapi.routing.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        solved.append(kwargs["dependant"].call)
        return await original(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    statuses = set()
    for method, path, headers, body in _requests(private):
        expected = plain.request(method, path, headers=headers, content=body)
        solved.clear()
        got = flat.request(method, path, headers=headers, content=body)
        assert solved == [], f"{method} {path} went through FastAPI's dependency walk"
        assert (got.status_code, got.content) == (expected.status_code, expected.content), (method, path, headers)
        drop = {"date", "x-request-id"}
        assert {k: v for k, v in got.headers.items() if k not in drop} == {
            k: v for k, v in expected.headers.items() if k not in drop
        }
        statuses.add(got.status_code)
    assert statuses >= {200, 201, 400, 401, 403, 422, 428}


def test_optional_parameters_a_request_does_not_send_are_their_defaults_without_fastapis_lookup(
    keys: tuple[bytes, ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optional headers and queries none of which came answer their defaults without `request_params_to_args`;
    one that came (in any case), or a default validated, goes through it (the differential above: the same answers)."""
    import pmo_servicekit.routing as routing

    private, settings = keys
    flat = TestClient(_app(FlatRoute, settings))
    requester = {"Authorization": f"Bearer {mint_token(private, subject='ann', roles=['requester', 'viewer'])}"}
    looked_up: list[str] = []
    original = routing.request_params_to_args

    def counting(fields: Any, received: Any) -> Any:
        looked_up.extend(field.name for field in fields)
        return original(fields, received)

    monkeypatch.setattr(routing, "request_params_to_args", counting)
    created = flat.post("/things", headers={**requester, "Content-Type": "application/json"}, json={"title": "T"})
    assert (created.status_code, looked_up) == (201, [])
    keyed = flat.post("/things", headers={**requester, "idempotency-key": "k1"}, json={"title": "T"})
    assert (keyed.status_code, looked_up) == (201, ["_key"])
    looked_up.clear()
    got = flat.get("/things/t3/notes?page=2", headers=requester)
    assert got.json() == {"id": "t3", "lang": "en", "note": None, "page": 2, "size": 10}
    # the path always; the query (one came, and `size` validates its default); the headers: none came
    assert looked_up == ["thing_id", "page", "size"]


def test_with_fastapis_own_telemetry_on_the_route_is_fastapis_own(
    keys: tuple[bytes, ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app that turns FastAPI's own telemetry on gets what it asked for (its spans of each dependency, endpoint
    and serialization, its request data): FlatRoute defers to FastAPI's handler for those requests."""
    private, settings = keys
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    client = TestClient(_app(FlatRoute, settings, {"tracer_provider": provider}))
    solved: list[object] = []
    original = fastapi.routing.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        solved.append(kwargs["dependant"].call)
        return await original(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    method, path, headers, body = _requests(private)[0]
    assert client.request(method, path, headers=headers, content=body).status_code == 201
    assert solved != []
    names = {span.name for span in spans.get_finished_spans()}
    assert "POST /things" in names and "fastapi.endpoint" in names, names


def test_dependency_overrides_still_apply(keys: tuple[bytes, ServiceSettings]) -> None:
    app = _app(FlatRoute, keys[1])
    app.dependency_overrides[authenticate] = lambda: Principal("olive", frozenset({"requester"}))
    answered = TestClient(app).post("/things/t3/close")
    assert answered.status_code == 200
    assert answered.json() == {"id": "t3", "expected": None, "by": "olive"}


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "Application/JSON; charset=utf-8",
        " application/json ;",
        "application/problem+json",
        "application/jsonx",
        "application/json/x",
        "application",
        "text/json",
        "",
        ";application/json",
        "application/vnd.api+json;q=1",
        "application/ json",
    ],
)
def test_the_content_type_test_is_emails(value: str) -> None:
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    by_email = message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
    assert is_json_content_type(value) == by_email


def test_an_including_routers_dependencies_apply_one_level_and_nested() -> None:
    """Role checks may be added where a router is included: the flat plan must carry them (review of f349546)."""
    from fastapi import Depends, HTTPException

    def deny() -> None:
        raise HTTPException(403, "denied where included")

    inner = APIRouter(route_class=FlatRoute)

    @inner.get("/open")
    async def open_() -> dict[str, bool]:
        return {"ok": True}

    outer = APIRouter()
    outer.include_router(inner, prefix="/nested", dependencies=[Depends(deny)])
    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)
    app.include_router(inner, prefix="/one", dependencies=[Depends(deny)])
    app.include_router(outer)
    app.include_router(inner, prefix="/free")
    client = TestClient(app)
    assert client.get("/one/open").status_code == 403
    assert client.get("/nested/open").status_code == 403
    assert client.get("/free/open").json() == {"ok": True}


def test_without_fastapis_inclusion_context_the_route_is_fastapis_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a FastAPI release stops passing the including router's context the way FlatRoute reads it, the route
    falls back to FastAPI's handler (slower, never missing a dependency) instead of planning without it."""
    planned: list[object] = []
    import pmo_servicekit.routing as routing

    real_plan = routing._plan

    def counted(dependant: Any) -> Any:
        planned.append(dependant)
        return real_plan(dependant)

    monkeypatch.setattr(routing, "_plan", counted)
    FlatRoute("/x", lambda: None)  # its handler is made as it is built, outside any inclusion: no context
    assert planned == []
