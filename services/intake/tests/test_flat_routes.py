"""Intake's real app answers every request the same with `FlatRoute` as with FastAPI's own route handler
(second review of f349546): every `/proposals` operation of its OpenAPI document, with 15 kinds of token
(none, garbage, Basic, an empty or lower-case bearer, expired, another audience, no roles, each role, another
requester), If-Match, Idempotency-Key and Content-Type variants, a duplicated Authorization header, broken
bodies, bad paging and filter queries and an id that is not a UUID: the same status, body and headers (ids
and times normalised), and the same OpenAPI document."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import pmo_servicekit.routing as routing
from pmo_devstack import flat_routes
from pmo_devstack.keys import mint_token
from pmo_intake.adapters.http.schemas import EXAMPLE_DRAFT
from pmo_intake.bootstrap import INTAKE

pytestmark = pytest.mark.integration


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def norm(text):
    return re.sub(r"\b[0-9a-f]{32}\b", "HEX", TS.sub("TS", UUID.sub("UUID", text)))


def tokens(private):
    t = {
        "none": None,
        "garbage": "Bearer nonsense",
        "basic": "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "empty-bearer": "Bearer ",
        "lower-bearer": "bearer " + mint_token(private, subject="ann", roles=["requester"]),
        "expired": "Bearer " + mint_token(private, subject="ann", roles=["requester"], ttl=timedelta(seconds=-60)),
        "wrong-aud": "Bearer " + mint_token(private, subject="ann", roles=["requester"], audience="other"),
        "noroles": "Bearer " + mint_token(private, subject="ann", roles=[]),
    }
    for r in ["requester", "pmo_analyst", "board_member", "project_manager", "resource_manager", "viewer", "admin"]:
        t[r] = "Bearer " + mint_token(private, subject="ann", roles=[r])
    t["other-requester"] = "Bearer " + mint_token(private, subject="bob", roles=["requester"])
    return t


def run(flat: bool, data: Path):
    app, private = flat_routes.make(INTAKE, data)  # the same app either way; `flat` picks the handler
    out = []
    with TestClient(app, raise_server_exceptions=False) as c:
        openapi = c.get("/openapi.json").json()
        tk = tokens(private)
        ann = {"Authorization": tk["requester"]}
        pid = c.post("/proposals", json=EXAMPLE_DRAFT, headers=ann).json()["id"]
        pid2 = c.post("/proposals", json=EXAMPLE_DRAFT, headers=ann).json()["id"]
        paths = []
        for p, ops in openapi["paths"].items():
            if not p.startswith("/proposals"):
                continue
            for m in ops:
                paths.append((m.upper(), p))
        bodies = {
            "POST /proposals": json.dumps(EXAMPLE_DRAFT),
            "PATCH": '{"title": "Changed"}',
            "withdraw": '{"reason": "no"}',
        }
        hdr_variants = {
            "plain": {},
            "ifmatch-ok": {"If-Match": '"1"'},
            "ifmatch-stale": {"If-Match": '"0"'},
            "ifmatch-weak": {"If-Match": 'W/"1"'},
            "ifmatch-star": {"If-Match": "*"},
            "ifmatch-long": {"If-Match": "x" * 65},
            "ifmatch-junk": {"If-Match": "abc"},
            "idem": {"Idempotency-Key": "key-1"},
            "idem-long": {"Idempotency-Key": "k" * 300},
            "idem-empty": {"Idempotency-Key": ""},
            "ctype-text": {"Content-Type": "text/plain"},
            "ctype-none": {"Content-Type": ""},
            "ctype-merge": {"Content-Type": "application/merge-patch+json"},
            "dup-auth": None,
        }
        body_variants = {
            "good": None,
            "empty": b"",
            "badjson": b'{"title":',
            "wrongtype": b'{"title": 5}',
            "array": b"[]",
            "extra": b'{"bogus": 1}',
        }
        queries = ["", "?limit=0", "?limit=abc", "?cursor=zzz", "?status=nope", "?q=" + "x" * 300, "?limit=2&limit=3"]
        for (m, p), (tn, tv), (hn, hv), (bn, bv) in itertools.product(
            paths, tk.items(), hdr_variants.items(), body_variants.items()
        ):
            if bn != "good" and (m == "GET" or tn not in ("requester", "none", "garbage", "viewer")):
                continue
            if hn != "plain" and tn not in ("requester", "admin", "none", "viewer"):
                continue
            for q in queries if (m == "GET" and tn == "requester" and hn == "plain") else [""]:
                for which in (pid, pid2, "not-a-uuid"):
                    if which != pid and "{" not in p:
                        continue
                    if which != pid and (tn != "requester" or hn != "plain"):
                        continue
                    url = re.sub(r"\{proposal_id\}", which, p)
                    url = re.sub(r"\{[a-z_]+\}", "00000000-0000-4000-8000-000000000000", url) + q
                    headers = {}
                    if tv:
                        headers["Authorization"] = tv
                    raw_headers = None
                    if hv is None:
                        raw_headers = [("authorization", "Bearer nonsense"), ("authorization", tv or "Bearer x")]
                    else:
                        headers.update(hv)
                    if m in ("POST", "PATCH", "PUT"):
                        key = (
                            "POST /proposals"
                            if (m == "POST" and p == "/proposals")
                            else ("PATCH" if m == "PATCH" else ("withdraw" if "withdraw" in p else None))
                        )
                        content = bodies.get(key or "", "{}").encode() if bv is None else bv
                        headers.setdefault("Content-Type", "application/json")
                        if headers["Content-Type"] == "":
                            del headers["Content-Type"]
                    else:
                        content = None
                    if raw_headers is not None:
                        h = list(raw_headers) + [(k.lower(), v) for k, v in headers.items() if k != "Authorization"]
                        r = c.request(m, url, headers=h, content=content)
                    else:
                        r = c.request(m, url, headers=headers, content=content)
                    hs = sorted(
                        (k, norm(v))
                        for k, v in r.headers.items()
                        if k not in ("date", "x-request-id", "content-length")
                    )
                    out.append(((m, p, tn, hn, bn, q, which == pid, which == pid2), r.status_code, norm(r.text), hs))
    return openapi, out


@pytest.fixture
def native_spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """A configured global tracer provider, as `serve` sets one (FastAPI's own telemetry turns itself on when it
    sees one, and FlatRoute then defers to FastAPI's handler): what FastAPI would trace on its own is kept here."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    return spans


def test_intake_answers_alike_with_flat_routes_and_fastapis_own(
    tmp_path: Path, native_spans: InMemorySpanExporter
) -> None:
    (tmp_path / "flat").mkdir()
    (tmp_path / "plain").mkdir()
    real_solver = fastapi.routing.solve_dependencies
    solved = Counter[bool]()

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved[flat_run] += 1
        return await real_solver(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastapi.routing, "solve_dependencies", counted)
        flat_run = True
        flat_openapi, flat = run(True, tmp_path / "flat")
        flat_run = False
        # The same app with FastAPI's own handler on its routes, while its requests are answered too (a route
        # makes its handler when it is included, and again whenever FastAPI rebuilds it).
        patch.setattr(routing.FlatRoute, "get_route_handler", APIRoute.get_route_handler)
        plain_openapi, plain = run(False, tmp_path / "plain")
    assert solved[True] == 0, "the flat app never walks FastAPI's dependency tree, with a global tracer provider set"
    spans = native_spans.get_finished_spans()
    by_fastapi = [s.name for s in spans if getattr(s.instrumentation_scope, "name", "") == "fastapi"]
    assert by_fastapi == [], "FastAPI's own telemetry is off in create_app's apps"
    assert solved[False] > 1000, "the plain app does: the comparison is between the two handlers"
    assert flat_openapi == plain_openapi
    assert len(flat) == len(plain) > 1000
    differing = [(x[0], x[1], y[1]) for x, y in zip(flat, plain, strict=True) if x[1:] != y[1:]]
    assert differing == [], differing[:5]
    statuses = Counter(x[1] for x in flat)
    assert not [x[0] for x in flat if x[1] >= 500], "no input may produce a 5xx"
    assert {200, 201, 401, 403, 404, 412, 422, 428} <= set(statuses), statuses
