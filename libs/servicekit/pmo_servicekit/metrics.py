"""The metrics an operator pages on, defined once with the OpenTelemetry metrics API: served on
`/metrics` for Prometheus and exported over OTLP when configured (pmo_servicekit.telemetry).

HTTP latency and command latency are measured here; the event runtime's figures (relay, outbox
backlog, subscription lag per partition, dead letters by reason) are read from its status objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.metrics import Histogram, Meter, Observation
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Scope

from pmo_servicekit.contract.operations import METRICS_RESPONSES
from pmo_servicekit.service import ServiceRuntime
from pmo_servicekit.telemetry import Telemetry

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])
#: Seconds; from a fast read to a slow command, so a p99 of either is visible.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@router.get("/metrics", summary="Read the Prometheus metrics", response_class=Response, responses=METRICS_RESPONSES)
async def read_metrics(request: Request) -> Response:
    telemetry: Telemetry = request.app.state.telemetry
    await request.app.state.backlog_probe.refresh()  # a scrape sees the outbox as it is now
    return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)


class BacklogProbe:
    """Samples the outbox every few seconds, apart from the relay, so a stalled relay still shows its backlog."""

    def __init__(self, runtime: ServiceRuntime, interval: float = 5.0) -> None:
        self.runtime = runtime
        self.interval = interval
        self.rows = 0
        self.oldest: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def age_seconds(self) -> float:
        return max(0.0, (datetime.now(UTC) - self.oldest).total_seconds()) if self.oldest else 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.runtime.definition.name}-backlog-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> None:
        try:
            self.rows, self.oldest = await asyncio.wait_for(self.runtime.relay.backlog(), 2.0)
        except Exception as exc:  # the database is away: readiness says so; keep the last figures
            log.debug("backlog probe: %s", exc)

    async def _run(self) -> None:
        """For the OTLP export, which reads the figures from a thread of its own every interval."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)


def install_metrics(app: FastAPI, runtime: ServiceRuntime, telemetry: Telemetry) -> BacklogProbe:
    meter = telemetry.meter_provider.get_meter("pmo_servicekit")
    requests = meter.create_histogram(
        "pmo.http.server.request.duration",
        unit="s",
        description="HTTP request latency by route and status",
        explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
    )
    commands = meter.create_histogram(
        "pmo.command.duration",
        unit="s",
        description="Command latency by operation (HTTP methods that change state)",
        explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
    )
    probe = BacklogProbe(runtime)
    _observe_relay(meter, runtime, probe)
    if runtime.subscription is not None:
        _observe_subscription(meter, runtime)
    app.include_router(router)
    app.state.backlog_probe = probe
    app.state.request_metrics = RequestMetrics(requests, commands)
    return probe


def _gauge(meter: Meter, name: str, unit: str, description: str, read: Callable[[], Iterable[Observation]]) -> None:
    meter.create_observable_gauge(name, [lambda _o: list(read())], unit=unit, description=description)


def _counter(meter: Meter, name: str, unit: str, description: str, read: Callable[[], Iterable[Observation]]) -> None:
    meter.create_observable_counter(name, [lambda _o: list(read())], unit=unit, description=description)


def _observe_relay(meter: Meter, runtime: ServiceRuntime, probe: BacklogProbe) -> None:
    def relay():
        return runtime.relay.status

    _counter(
        meter,
        "pmo.relay.published",
        "{event}",
        "Records the outbox relay published",
        lambda: [Observation(relay().published)],
    )
    _counter(
        meter,
        "pmo.relay.republished",
        "{event}",
        "Events queued again after the broker lost its log",
        lambda: [Observation(relay().republished)],
    )
    _gauge(
        meter,
        "pmo.relay.connected",
        "1",
        "1 while the relay is connected to the broker",
        lambda: [Observation(int(relay().connected))],
    )
    _gauge(
        meter,
        "pmo.relay.active",
        "1",
        "1 on the replica holding the publishing lock",
        lambda: [Observation(int(relay().active))],
    )
    _gauge(
        meter, "pmo.relay.backlog", "{record}", "Outbox records not yet published", lambda: [Observation(probe.rows)]
    )
    _gauge(
        meter,
        "pmo.relay.parked_streams",
        "{stream}",
        "Streams held because the broker refused one of their records for good",
        lambda: [Observation(relay().parked)],
    )
    _counter(
        meter,
        "pmo.task.restarts",
        "{restart}",
        "Relay or subscription tasks the supervisor restarted after they ended",
        lambda: [Observation(n, {"task": task}) for task, n in sorted(runtime.supervisor.restarts().items())],
    )
    _gauge(
        meter,
        "pmo.relay.oldest_unpublished_age",
        "s",
        "Age of the oldest unpublished outbox record (0: none)",
        lambda: [Observation(probe.age_seconds())],
    )


def _observe_subscription(meter: Meter, runtime: ServiceRuntime) -> None:
    def status():
        assert runtime.subscription is not None
        return runtime.subscription.status

    def lag() -> list[Observation]:
        s = status()
        out = []
        for key, end in s.log_end.items():
            topic, _, partition = key.rpartition(":")
            out.append(Observation(max(0, end - s.positions.get(key, 0)), {"topic": topic, "partition": partition}))
        return out

    _gauge(
        meter,
        "pmo.subscription.connected",
        "1",
        "1 while the subscription is connected to the broker",
        lambda: [Observation(int(status().connected))],
    )
    _gauge(
        meter,
        "pmo.subscription.active",
        "1",
        "1 while this process consumes (holds the subscription's lock in assign mode; one process per service)",
        lambda: [Observation(int(status().active))],
    )
    _gauge(
        meter, "pmo.subscription.lag", "{record}", "Records between the subscription's position and the log end", lag
    )
    _counter(
        meter,
        "pmo.subscription.applied",
        "{event}",
        "Events applied to this service's state",
        lambda: [Observation(status().applied)],
    )
    _counter(
        meter,
        "pmo.subscription.duplicates",
        "{event}",
        "Redelivered events skipped by stream sequence",
        lambda: [Observation(status().skipped_duplicates)],
    )
    _counter(
        meter,
        "pmo.subscription.signature_checks",
        "{record}",
        "Records authenticated by their relay batch's one signature (way=batch) or each by its own (way=record)",
        lambda: [
            Observation(status().batch_checks, {"way": "batch"}),
            Observation(status().record_checks, {"way": "record"}),
        ],
    )
    _counter(
        meter,
        "pmo.subscription.dead_letters",
        "{event}",
        "Events sent to the dead-letter topic, by reason",
        lambda: [Observation(n, {"reason": r}) for r, n in sorted(status().dead_letters.items())],
    )


class RequestMetrics:
    """HTTP latency by route and status, and command latency by operation and outcome, recorded once per
    request by `pmo_servicekit.edge.Edge`."""

    def __init__(self, requests: Histogram, commands: Histogram) -> None:
        self.requests = requests
        self.commands = commands

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        method = scope["method"]
        self.requests.record(
            seconds, {"method": method, "route": getattr(route, "path", "unmatched"), "status": str(status)}
        )
        if route is not None and method not in SAFE_METHODS:
            outcome = "ok" if status < 400 else "refused" if status < 500 else "failed"
            self.commands.record(seconds, {"operation": getattr(route, "name", "unknown"), "outcome": outcome})
