"""Liveness, readiness (database and broker) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pmo_servicekit.service import ServiceRuntime

router = APIRouter(tags=["operations"])


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", summary="The database and the broker answer", responses={503: {}})
async def ready(request: Request) -> JSONResponse:
    runtime: ServiceRuntime = request.app.state.runtime
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


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _RuntimeCollector(Collector):
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        relay = self.runtime.relay.status
        yield GaugeMetricFamily("pmo_relay_published", "Events published by the relay since start", relay.published)
        yield GaugeMetricFamily("pmo_relay_connected", "1 when the relay is connected", int(relay.connected))
        sub = self.runtime.subscription
        if sub is not None:
            yield GaugeMetricFamily("pmo_subscription_applied", "Events applied since start", sub.status.applied)
            yield GaugeMetricFamily("pmo_subscription_lag", "Records behind the log end", sub.status.lag)
            yield GaugeMetricFamily(
                "pmo_subscription_dead_lettered", "Events sent to the dead-letter topic", sub.status.dead_lettered
            )


def install_metrics(app: FastAPI, runtime: ServiceRuntime) -> None:
    registry = CollectorRegistry()
    requests = Counter("pmo_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("pmo_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry)
    registry.register(_RuntimeCollector(runtime))
    app.state.metrics_registry = registry
    app.add_middleware(_MeasureRequests, requests=requests, latency=latency)


class _MeasureRequests:
    """Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a task group per request)."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def remember_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
