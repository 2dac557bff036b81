"""A minimal service on the kit, over real HTTP: problems, auth, health, metrics, trace context on events."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from pmo_devstack.keys import AUDIENCE, ISSUER
from pmo_devstack.testing import RunningService, running_service
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


def _segment(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**change: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {"sub": "mallory", "roles": ["admin"], "iss": ISSUER, "aud": AUDIENCE, "exp": now + timedelta(hours=1)}
    return {**claims, **change}


#: Every way a bearer token can fail verification; each must be a 401, never a 500.
UNVERIFIABLE: dict[str, Any] = {
    "ES256 header, RSA key configured": lambda _k: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    "ES256, signed by an EC key": lambda _k: jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), "ES256"),
    "EdDSA, signed by an Ed25519 key": lambda _k: jwt.encode(_claims(), ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    "HS256 keyed with the public key": lambda _k: ".".join(
        [_segment({"alg": "HS256", "typ": "JWT"}), _segment(_claims(exp=4102444800)), "c2ln"]
    ),
    "alg none": lambda _k: f"{_segment({'alg': 'none'})}.{_segment(_claims(exp=4102444800))}.",
    "two segments": lambda _k: "eyJhbGciOiJSUzI1NiJ9.e30",
    "not base64": lambda _k: "%%%.&&&.***",
    "header not JSON": lambda _k: f"{_segment(b'not json')}.e30.AAAA",
    "header a list": lambda _k: f"{_segment(b'[1]')}.e30.AAAA",
    "payload not JSON": lambda k: _resigned(k, b"\xff\xfe"),
    "payload a list": lambda k: _resigned(k, b"[1, 2]"),
    "roles an integer": lambda k: jwt.encode(_claims(roles=5), k, "RS256"),
    "roles a list of integers": lambda k: jwt.encode(_claims(roles=[1, 2]), k, "RS256"),
    "roles an object": lambda k: jwt.encode(_claims(roles={"admin": True}), k, "RS256"),
    "subject an integer": lambda k: jwt.encode(_claims(sub=5), k, "RS256"),
    "subject missing": lambda k: jwt.encode({x: v for x, v in _claims().items() if x != "sub"}, k, "RS256"),
    "expiry a word": lambda k: jwt.encode(_claims(exp="tomorrow"), k, "RS256"),
    "audience an object": lambda k: jwt.encode(_claims(aud={"x": 1}), k, "RS256"),
    "unknown critical header": lambda k: jwt.encode(_claims(), k, "RS256", headers={"crit": ["exp"]}),
    "signature cut short": lambda k: jwt.encode(_claims(), k, "RS256")[:-20],
}


def _resigned(private_key: bytes, payload: bytes) -> str:
    """A token whose payload bytes are `payload`, signed for real (so only the payload is wrong)."""
    signing_input = f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment(payload)}".encode()
    key = load_pem_private_key(private_key, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{_segment(signature)}"


async def test_every_token_that_cannot_be_verified_is_a_401(service: RunningService) -> None:
    async with service.client() as anonymous:
        for case, make in UNVERIFIABLE.items():
            token = make(service.private_key)
            answer = await anonymous.post("/pings", json={"note": "x"}, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (case, answer.text)
            assert answer.json()["type"] == "urn:pmo:problem:unauthenticated", case
            assert answer.headers["www-authenticate"].startswith("Bearer"), case
        genuine = await anonymous.post(
            "/pings", json={"note": "x"}, headers={"Authorization": f"Bearer {service.token('alice', 'viewer')}"}
        )
    assert genuine.status_code == 201, genuine.text


async def test_text_that_is_not_unicode_is_a_422_naming_the_field(service: RunningService) -> None:
    json_body = {"content-type": "application/json"}
    async with service.client("alice", "viewer") as client:
        lone = await client.post("/pings", content=b'{"note": "a\\ud800b"}', headers=json_body)
        in_key = await client.post("/pings", content=b'{"n\\udfffote": "x"}', headers=json_body)
        not_utf8 = await client.post("/pings", content=b'{"note": "\xff\xfe"}', headers=json_body)
        paired = await client.post("/pings", content=b'{"note": "\\ud83d\\ude00"}', headers=json_body)
    assert lone.status_code == 422 and lone.json()["errors"][0] == {
        "field": "note",
        "location": "body",
        "message": "contains a lone UTF-16 surrogate, which is not text",
        "code": "invalid_unicode",
    }
    assert in_key.status_code == 422 and in_key.json()["errors"][0]["field"] == "body"
    assert not_utf8.status_code == 422 and not_utf8.json()["errors"][0]["field"] == "body"
    assert paired.status_code == 201, paired.text  # a surrogate pair is an emoji, not an error


async def test_a_service_stops_without_waiting_out_its_grace(
    sqlite_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Every part is told to stop or has nothing to finish (the memory and sweep loops are cancelled at once):
    a SIGTERM or a rolling deploy is not 10 s longer than it needs to be."""
    running = running_service(
        definition(tmp_path), database_url=sqlite_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    )
    async with running as svc:
        async with svc.client("alice", "viewer") as client:
            assert (await client.post("/pings", json={"note": "hi"})).status_code == 201
        started = time.monotonic()
        await svc.runtime.stop(grace=10)
        took = time.monotonic() - started
    assert took < 5, f"stop took {took:.1f} s"


async def test_an_unreadable_body_is_a_400_the_document_lists(service: RunningService) -> None:
    """A body nested deeper than the parser reads is a 400 problem (session 11's review, F5: an answer no
    operation documented); every operation taking a body or `If-Match` lists 400."""
    json_body = {"content-type": "application/json"}
    async with service.client("alice", "viewer") as client:
        deep = await client.post("/pings", content=b"[" * 5000 + b"]" * 5000, headers=json_body)
        deep_field = await client.post(
            "/pings", content=b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}", headers=json_body
        )
        document = (await client.get("/openapi.json")).json()
    for answer in (deep, deep_field):
        assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:pmo:problem:bad-request"
    responses = document["paths"]["/pings"]["post"]["responses"]
    assert responses["400"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
