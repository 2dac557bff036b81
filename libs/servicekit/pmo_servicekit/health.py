"""Liveness and readiness (database and broker)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pmo_events.runtime import parking
from pmo_events.runtime.subscription import RETRIES_FAILING_AFTER, SubscriptionStatus
from pmo_events.runtime.supervisor import LinkStatus
from pmo_servicekit.contract.operations import Liveness, Readiness
from pmo_servicekit.http import service_runtime
from pmo_servicekit.service import ServiceRuntime

router = APIRouter(tags=["operations"])


@router.get(
    "/health/live",
    summary="Check that the process is up and its supervisor keeps turning",
    response_model=Liveness,
    responses={503: {"model": Liveness, "description": "stuck: `supervisor` says why (Kubernetes restarts the pod)"}},
)
async def check_liveness(request: Request) -> JSONResponse:
    runtime = service_runtime(request)
    stuck = runtime.supervisor.stuck()
    if stuck is not None:
        return JSONResponse({"status": "stuck", "supervisor": stuck}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get(
    "/health/ready",
    summary="Check that the database and broker answer and the relay and subscription are flowing",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: `checks` names what is not"}},
)
async def check_readiness(request: Request) -> JSONResponse:
    runtime = service_runtime(request)
    grace = runtime.settings.readiness_grace_seconds
    checks = {"database": await _database(runtime), "broker": await _broker(runtime)}
    relay = runtime.relay.status
    # A standby replica (another one holds the relay's lock) is not disconnected, just waiting its turn.
    checks["relay"] = _link(relay, grace) if relay.active else "ok"
    if runtime.subscription is not None:
        subscription = runtime.subscription.status
        checks["subscription"] = subscription_check(subscription, grace)
    ok = all(c == "ok" for c in checks.values())
    body: dict[str, Any] = {
        "status": "ready" if ok else "not ready",
        "checks": checks,
        "relay": _relay(runtime),
        "parked_streams": await _parked(runtime),
        "restarts": runtime.supervisor.restarts(),
    }
    if runtime.subscription is not None:
        s = runtime.subscription.status
        body["subscription"] = {
            "active": s.active,
            "connected": s.connected,
            "lag": s.lag,
            "dead_lettered": s.dead_lettered,
            "rejected": s.rejected,
            "last_error": s.last_error,
        }
    return JSONResponse(body, status_code=200 if ok else 503)


def subscription_check(status: SubscriptionStatus, grace: float) -> str:
    """'ok', or why the subscription is not flowing: disconnected past the grace, restarting in a loop (each
    restart reconnects, so the grace alone never sees it down), or applying the same poll again and again (a
    conflict that never clears: connected all along). A standby (another worker process or replica
    holds its lock and consumes) is not disconnected, just waiting its turn."""
    if not status.active:
        return "ok"
    if status.retries_in_a_row >= RETRIES_FAILING_AFTER:
        return f"failing: its poll failed {status.retries_in_a_row} times in a row: {status.failing_with}"[:300]
    if status.failing:
        return f"failing: {status.failures_in_a_row} restarts in a row: {status.failing_with}"[:300]
    return _link(status, grace)


def _link(status: LinkStatus, grace: float) -> str:
    """'ok', or how long the part has been disconnected past the grace, and why."""
    down_for = status.down_for()
    if status.connected or down_for <= grace:
        return "ok"
    return f"disconnected for {down_for:.0f}s: {status.last_error or 'not connected yet'}"[:300]


async def _parked(runtime: ServiceRuntime) -> list[dict[str, object]]:
    try:
        async with runtime.db.sessions() as session:
            held = await asyncio.wait_for(parking.parked(session, limit=20), 2.0)
    except Exception:  # the database check above already says why
        return []
    return [
        {
            "topic": p.topic,
            "key": p.key,
            "outbox_id": p.outbox_id,
            "error": p.error,
            "parked_at": p.parked_at.isoformat(),
        }
        for p in held
    ]


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
    return {
        "active": s.active,
        "connected": s.connected,
        "published": s.published,
        "parked": s.parked,
        "last_error": s.last_error,
    }
