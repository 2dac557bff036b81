"""Liveness and readiness (database and broker)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pmo_servicekit.contract.operations import Liveness, Readiness
from pmo_servicekit.http import service_runtime
from pmo_servicekit.service import ServiceRuntime

router = APIRouter(tags=["operations"])


@router.get("/health/live", summary="Check that the process is up", response_model=Liveness)
async def check_liveness() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Check that the database and broker answer",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: `checks` names what is not"}},
)
async def check_readiness(request: Request) -> JSONResponse:
    runtime = service_runtime(request)
    checks = {"database": await _database(runtime), "broker": await _broker(runtime)}
    ok = all(c == "ok" for c in checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks, "relay": _relay(runtime)}
    if runtime.subscription is not None:
        s = runtime.subscription.status
        body["subscription"] = {"connected": s.connected, "lag": s.lag, "last_error": s.last_error}
    return JSONResponse(body, status_code=200 if ok else 503)


async def _database(runtime: ServiceRuntime) -> str:
    try:
        await asyncio.wait_for(runtime.db.ping(), 2.0)
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"[:300]


async def _broker(runtime: ServiceRuntime) -> str:
    errors = []
    for server in runtime.kafka.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), 1.0)
            writer.close()
            return "ok"
        except Exception as exc:
            errors.append(f"{server}: {type(exc).__name__}")
    return "unreachable: " + ", ".join(errors)


def _relay(runtime: ServiceRuntime) -> dict[str, object]:
    s = runtime.relay.status
    return {"active": s.active, "connected": s.connected, "published": s.published, "last_error": s.last_error}
