"""`flat_dispatch`: the app's router finds a request's route matching each included router's routes once, with
the same answer, the same route and the same scope as FastAPI's own dispatch."""

from __future__ import annotations

from typing import Any

import fastapi.routing
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from starlette.routing import Route

from pmo_servicekit.routing import FlatRoute, flat_dispatch
from pmo_servicekit.telemetry import FASTAPI_TELEMETRY_OFF


def _seen(request: Request) -> dict[str, Any]:
    """What the endpoint sees of the scope FastAPI gave it."""
    route = request.scope["route"]
    included = request.scope["fastapi"].get("included_router")
    return {
        "route": f"{type(route).__name__} {route.path} {sorted(route.methods)}",
        "path_params": request.path_params,
        "included": included.include_context.prefix if included is not None else None,
        "router": type(request.scope["router"]).__name__,
    }


def _app(dispatch: bool) -> FastAPI:
    def deny() -> None:
        raise HTTPException(403, "denied where included")

    first = APIRouter(route_class=FlatRoute)

    @first.get("/metrics")
    async def metrics(request: Request) -> dict[str, Any]:
        return {"who": "first", **_seen(request)}

    @first.get("/dup/{x}")
    async def dup_first(x: int, request: Request) -> dict[str, Any]:
        return {"who": "first", "x": x, **_seen(request)}

    second = APIRouter(route_class=FlatRoute)

    @second.post("/things")
    async def create(request: Request) -> dict[str, Any]:
        return {"who": "second", **_seen(request)}

    @second.get("/things/{thing_id}")
    async def read(thing_id: str, request: Request) -> dict[str, Any]:
        return {"who": "second", **_seen(request)}

    @second.get("/dup/{x}")
    async def dup_second(x: str, request: Request) -> dict[str, Any]:  # a str the first's int refuses: 422 there
        return {"who": "second", "x": x, **_seen(request)}

    @second.get("/slash/")
    async def slash(request: Request) -> dict[str, Any]:
        return {"who": "second", **_seen(request)}

    plain = APIRouter()  # FastAPI's own route class

    @plain.put("/plain/{n}")
    async def put(n: int, request: Request) -> dict[str, Any]:
        return {"who": "plain", **_seen(request)}

    inner = APIRouter(route_class=FlatRoute)

    @inner.get("/open")
    async def open_(request: Request) -> dict[str, Any]:
        return {"who": "inner", **_seen(request)}

    outer = APIRouter()
    outer.include_router(inner, prefix="/nested")

    anywhere = APIRouter(route_class=FlatRoute)  # its first segment a parameter: matched whatever the path

    @anywhere.get("/{kind}/count")
    async def count(kind: str, request: Request) -> dict[str, Any]:
        return {"who": "anywhere", "kind": kind, **_seen(request)}

    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)

    async def own(_request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("the app's own")

    app.router.routes.append(Route("/things/own", own))  # the app's own route, before the included ones
    app.include_router(first)
    app.include_router(second)
    app.include_router(second, prefix="/v2", dependencies=[Depends(deny)])
    app.include_router(plain)
    app.include_router(outer)
    app.include_router(anywhere)
    app.include_router(second, prefix="/v3")
    if dispatch:
        flat_dispatch(app.router)
    return app


REQUESTS = [
    ("GET", "/metrics"),
    ("POST", "/things"),
    ("GET", "/things"),  # 405: only POST there
    ("DELETE", "/things"),
    ("GET", "/things/t1"),
    ("GET", "/things/own"),  # the app's own route comes first
    ("GET", "/dup/3"),  # both routers match: the first's
    ("GET", "/dup/x"),  # the first's, 422
    ("GET", "/slash"),  # redirected to /slash/
    ("GET", "/slash/"),
    ("GET", "/v2/things/t2"),  # 403 from the inclusion's dependency
    ("POST", "/v2/things"),
    ("PUT", "/plain/4"),
    ("PUT", "/plain/x"),
    ("GET", "/nested/open"),  # below a nested router: FastAPI's dispatch
    ("GET", "/nowhere"),
    ("GET", "/things/count"),  # the second's /things/{thing_id} before /{kind}/count
    ("GET", "/widgets/count"),  # no router has `widgets` first but the one whose first segment is a parameter
    ("POST", "/v3/things"),  # past the nested router and the parameter's, to the prefix of the inclusion
    ("GET", "/v3/things/t3"),
    ("GET", "/v3/count"),
    ("GET", ""),
    ("GET", "/openapi.json"),
]


def test_the_flat_dispatch_answers_as_fastapis_own() -> None:
    plain, flat = TestClient(_app(False)), TestClient(_app(True))
    statuses = set()
    for method, path in REQUESTS:
        expected = plain.request(method, path, follow_redirects=False)
        got = flat.request(method, path, follow_redirects=False)
        assert (got.status_code, got.content) == (expected.status_code, expected.content), (method, path)
        assert {k: v for k, v in got.headers.items() if k != "date"} == {
            k: v for k, v in expected.headers.items() if k != "date"
        }
        statuses.add(got.status_code)
    assert statuses >= {200, 307, 403, 404, 405, 422}
    assert flat.get("/dup/3").json()["who"] == "first"
    assert flat.get("/things/t1").json() == {
        "who": "second",
        "route": "FlatRoute /things/{thing_id} ['GET']",
        "path_params": {"thing_id": "t1"},
        "included": "",
        "router": "APIRouter",
    }
    assert flat.get("/nested/open").json()["who"] == "inner"


def test_each_included_router_is_matched_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI matches the router that has the route twice (`matches`, then `_handle_selected`); flat, once."""
    calls: list[str] = []
    original = fastapi.routing._IncludedRouter._match

    def counted(self: Any, scope: Any) -> Any:
        calls.append(self.include_context.prefix)
        return original(self, scope)

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "_match", counted)
    plain, flat = TestClient(_app(False)), TestClient(_app(True))
    assert plain.post("/things").status_code == 200
    fastapis, calls[:] = list(calls), []
    assert flat.post("/things").status_code == 200
    assert fastapis == ["", "", ""]  # the first router, the second, the second again
    assert calls == [""]  # the second alone: no path of the first begins with /things


def test_a_router_none_of_whose_paths_begin_so_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the routers with a route whose path can begin with the request's first segment are matched (the
    one with a parameter there always is), in their order; the answer is FastAPI's (the test above)."""
    calls: list[str] = []
    original = fastapi.routing._IncludedRouter._match

    def counted(self: Any, scope: Any) -> Any:
        calls.append(self.include_context.prefix or "/")
        return original(self, scope)

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "_match", counted)
    flat = TestClient(_app(True))
    assert flat.get("/v3/things/t3").json()["who"] == "second"
    # the nested router's inclusion (a router in it: always matched, and it matches its own), the parameter's
    # router (no full match: /v3/things/t3 has three segments), then the second's inclusion at /v3
    assert calls == ["/", "/nested", "/", "/v3"]
    calls.clear()
    assert flat.get("/widgets/count").json() == {
        "who": "anywhere",
        "kind": "widgets",
        "route": "FlatRoute /{kind}/count ['GET']",
        "path_params": {"kind": "widgets"},
        "included": "",
        "router": "APIRouter",
    }
    assert calls == ["/", "/nested", "/"]  # the nested router's inclusion, then the parameter's router
    calls.clear()
    assert flat.get("/dup/3").json()["who"] == "first"
    assert calls == ["/"]  # the first router, where it matched in full


def test_a_router_with_middleware_of_its_own_keeps_fastapis_dispatch() -> None:
    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)
    app.router.middleware_stack = object()  # type: ignore[assignment]  # stands for a middleware
    before = app.router.middleware_stack
    flat_dispatch(app.router)
    assert app.router.middleware_stack is before


def test_fastapis_own_route_class_is_dispatched_flat_too() -> None:
    assert TestClient(_app(True)).put("/plain/4").json()["route"] == "APIRoute /plain/{n} ['PUT']"


def test_routes_added_to_an_included_router_after_requests_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """A router's first segments are kept while its routes are what they were, without asking FastAPI for its
    candidates on each request: a route added later, or a router included in it later, is found, as by FastAPI's
    own dispatch."""
    asked: list[int] = []
    original = fastapi.routing._IncludedRouter.effective_candidates

    def counted(self: Any) -> Any:
        asked.append(id(self))
        return original(self)

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "effective_candidates", counted)
    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)
    first, second = APIRouter(route_class=FlatRoute), APIRouter(route_class=FlatRoute)

    @first.get("/metrics")
    async def metrics() -> str:
        return "metrics"

    @second.get("/things")
    async def things() -> str:
        return "things"

    app.include_router(first)
    app.include_router(second)
    flat_dispatch(app.router)
    client = TestClient(app)
    assert client.get("/things").json() == "things"
    asked.clear()
    assert client.get("/things").json() == "things"
    assert len(asked) == 1  # the second's match alone: the first's segments were known
    assert client.get("/widgets").status_code == 404

    @first.get("/widgets")
    async def widgets() -> str:
        return "widgets"

    assert client.get("/widgets").json() == "widgets"

    inner = APIRouter(route_class=FlatRoute)

    @inner.get("/open")
    async def open_() -> str:
        return "inner"

    second.include_router(inner, prefix="/nested")
    assert client.get("/nested/open").json() == "inner"
