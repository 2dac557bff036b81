"""From the portfolio's ProjectInitiated on the real broker to a filled demand, and a cancellation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from pmo_devstack.polling import eventually
from pmo_devstack.testing import as_published, running_service
from pmo_events.contracts import portfolio, resourcing
from pmo_events.envelope import RecordedEvent, from_kafka
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.kafka import ensure_topics, make_producer
from pmo_resourcing.bootstrap import RESOURCING

from .support import MANAGER, book, portfolio_event, project_initiated, register

pytestmark = pytest.mark.integration


async def publish(kafka: KafkaSettings, event: RecordedEvent, data_dir: Path) -> None:
    """Publish as the portfolio service's relay does: CloudEvents binary mode, keyed by the stream, signed."""
    await ensure_topics(kafka, [portfolio.TOPIC])
    producer = make_producer(kafka, "test-portfolio")
    await producer.start()
    try:
        key, value, headers = as_published(event, data_dir)
        await producer.send_and_wait(portfolio.TOPIC, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def published_by_resourcing(kafka: KafkaSettings, stream_id: str) -> list[str]:
    consumer = AIOKafkaConsumer(
        resourcing.TOPIC, auto_offset_reset="earliest", enable_auto_commit=False, **kafka.client_kwargs()
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=2000, max_records=10_000)
        events = [from_kafka(r.key, r.value, r.headers) for records in batch.values() for r in records]
        return [e.type.split(".")[2] for e in events if e.stream_id == stream_id]
    finally:
        await consumer.stop()


@dataclass
class BookedProject:
    """A project the portfolio initiated over the broker, its demand line as it opened, and Ada booked on it."""

    kafka: KafkaSettings
    data_dir: Path
    client: httpx.AsyncClient
    project: str
    opened: dict[str, Any]
    ada: dict[str, Any]
    booking: httpx.Response

    async def demand_line(self) -> dict[str, Any] | None:
        return await demand_line_of(self.client, self.project)

    async def publish(self, type_name: str, data: dict[str, Any]) -> None:
        """The project's next event from the portfolio (its initiation was sequence 1)."""
        await publish(self.kafka, portfolio_event(self.project, 2, type_name, data), self.data_dir)

    async def released(self) -> bool:
        allocation = (await self.client.get(f"/allocations/{self.booking.json()['id']}")).json()
        return allocation["status"] == "released"


async def demand_line_of(client: httpx.AsyncClient, project: str) -> dict[str, Any] | None:
    items = (await client.get("/demands", params={"project_id": project})).json()["items"]
    return items[0] if items else None


@asynccontextmanager
async def booked_project(postgres_url: str, kafka_bootstrap: str, data_dir: Path) -> AsyncIterator[BookedProject]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    project = str(uuid.uuid4())
    async with (
        running_service(
            RESOURCING, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=data_dir
        ) as service,
        service.client(*MANAGER) as client,
    ):
        initiated = project_initiated(project, ("developer", "1", date(2027, 1, 4), date(2027, 1, 15)))
        await publish(kafka, initiated, data_dir)
        opened = await eventually(lambda: demand_line_of(client, project), timeout=60)
        ada = await register(client)
        booking = await book(client, ada["id"], project, "1", demand_id=opened["id"])
        assert booking.status_code == 201, booking.text
        yield BookedProject(kafka, data_dir, client, project, opened, ada, booking)


async def test_initiated_project_demand_is_filled_and_its_cancellation_releases_the_bookings(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with booked_project(postgres_url, kafka_bootstrap, tmp_path) as it:
        assert (it.opened["role"], it.opened["fte"], it.opened["status"]) == ("developer", "1.0000", "open")
        assert (await it.demand_line() or {})["status"] == "filled"
        published = await eventually(lambda: published_by_resourcing(it.kafka, it.ada["id"]), timeout=60)
        assert "AllocationBooked" in published

        await it.publish("pmo.portfolio.ProjectCancelled.v1", {"project_id": it.project, "reason": "strategy changed"})

        await eventually(it.released, timeout=60)
        line = await it.demand_line() or {}
        assert (line["status"], line["cancel_reason"]) == ("cancelled", "project cancelled: strategy changed")
        again = await book(it.client, it.ada["id"], it.project, "0.5")
        assert again.status_code == 409 and "is cancelled" in again.json()["detail"]


async def test_a_paused_project_gives_its_people_back_and_keeps_its_demand(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with booked_project(postgres_url, kafka_bootstrap, tmp_path) as it:
        paused = {"project_id": it.project, "portfolio_id": "pf-1", "rationale": "board action: misaligned",
                  "paused_by": "board", "paused_at": "2026-12-01T10:00:00+00:00"}  # fmt: skip
        await it.publish("pmo.portfolio.ProjectPaused.v1", paused)

        await eventually(it.released, timeout=60)
        assert (await it.demand_line() or {})["status"] == "open"  # still needed once the project resumes
        refused = await book(it.client, it.ada["id"], it.project, "0.5")
        assert refused.status_code == 409 and f"project {it.project} is paused" in refused.json()["detail"]
