"""A minimal service on the kit, over real HTTP: problems, auth, health, metrics, trace context on events."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from pmo_devstack.testing import running_service
from pmo_events.contracts.base import Event, contract
from pmo_events.runtime import AggregateType
from pmo_events.runtime.schema import metadata
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.http import metadata_for
from pmo_servicekit.service import ServiceDefinition

pytestmark = pytest.mark.integration


@contract
class Pinged(Event):
    service = "test"
    event_name = "Pinged"
    ping_id: str
    note: str


class PingState(BaseModel):
    ping_id: str


PING = AggregateType("ping", lambda i: PingState(ping_id=i), lambda s, _e: s, PingState)


class PingBody(BaseModel):
    note: str = Field(min_length=1, max_length=20)


router = APIRouter()


@router.post("/pings", status_code=201)
async def ping(body: PingBody, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    ping_id = str(uuid.uuid4())
    async with request.app.state.runtime.commands.unit_of_work(metadata_for(request, principal)) as uow:
        recorded = await uow.append(PING, ping_id, 0, [Pinged(ping_id=ping_id, note=body.note)])
    return {"id": ping_id, "traceparent": recorded[0].traceparent, "actor": recorded[0].actor}


def definition(tmp_path: Path) -> ServiceDefinition:
    versions = tmp_path / "versions"
    versions.mkdir(exist_ok=True)
    return ServiceDefinition(
        name=f"kit{uuid.uuid4().hex[:6]}",
        title="Kit",
        default_port=0,
        topic=None,
        consumes=(),
        metadata=metadata,
        migrations=versions,
        routers=[router],
    )


@pytest.fixture
async def service(sqlite_url: str, kafka_bootstrap: str, tmp_path: Path):
    async with running_service(
        definition(tmp_path), database_url=sqlite_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running


async def test_events_record_the_actor_and_continue_the_callers_trace(service) -> None:
    trace_id = uuid.uuid4().hex
    async with service.client("alice", "viewer") as client:
        r = await client.post("/pings", json={"note": "hi"}, headers={"traceparent": f"00-{trace_id}-{'1' * 16}-01"})
    assert r.status_code == 201, r.text
    assert r.json()["actor"] == "alice"
    assert r.json()["traceparent"].split("-")[1] == trace_id


async def test_errors_are_problem_documents_naming_the_field(service) -> None:
    async with service.client("alice", "viewer") as client:
        bad = await client.post("/pings", json={"note": ""})
        malformed = await client.post("/pings", content=b"{not json", headers={"content-type": "application/json"})
        missing = await client.get("/nowhere")
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"] == "urn:pmo:problem:validation-error"
    assert [e["field"] for e in bad.json()["errors"]] == ["note"]
    assert malformed.status_code == 422
    assert missing.status_code == 404 and missing.json()["type"] == "urn:pmo:problem:not-found"


async def test_health_and_metrics_need_no_token_everything_else_does(service) -> None:
    async with service.client() as anonymous:
        assert (await anonymous.get("/health/live")).status_code == 200
        ready = await anonymous.get("/health/ready")
        checks = {"database": "ok", "broker": "ok", "relay": "ok"}
        assert ready.status_code == 200 and ready.json()["checks"] == checks
        await anonymous.post("/pings", json={"note": "x"})
        metrics = await anonymous.get("/metrics")
        unauthenticated = await anonymous.post("/pings", json={"note": "x"})
    assert metrics.status_code == 200
    assert 'pmo_http_server_request_duration_seconds_count{method="POST",route="/pings",status="401"}' in metrics.text
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")


async def test_nul_characters_and_oversized_bodies_are_refused_before_any_handler(service) -> None:
    async with service.client("alice", "viewer") as client:
        in_query = await client.get("/pings", params={"cursor": "a\x00b"})
        in_body = await client.post("/pings", json={"note": "a\x00b"})
        huge = await client.post(
            "/pings", content=b'{"note": "' + b"x" * 2_000_000 + b'"}', headers={"content-type": "application/json"}
        )
        fine = await client.post("/pings", json={"note": "ok"})
    assert in_query.status_code == 422 and in_query.json()["errors"][0]["field"] == "cursor"
    assert in_body.status_code == 422 and in_body.json()["errors"][0]["field"] == "note"
    assert huge.status_code == 413
    assert fine.status_code == 201
