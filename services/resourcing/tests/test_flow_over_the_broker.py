"""From the portfolio's ProjectInitiated on the real broker to a filled demand, and a cancellation."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

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


async def test_initiated_project_demand_is_filled_and_its_cancellation_releases_the_bookings(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    project = str(uuid.uuid4())
    async with (
        running_service(
            RESOURCING, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
        ) as service,
        service.client(*MANAGER) as client,
    ):
        await publish(
            kafka, project_initiated(project, ("developer", "1", date(2027, 1, 4), date(2027, 1, 15))), tmp_path
        )

        async def demand_line():
            items = (await client.get("/demands", params={"project_id": project})).json()["items"]
            return items[0] if items else None

        line = await eventually(demand_line, timeout=60)
        assert (line["role"], line["fte"], line["status"]) == ("developer", "1.0000", "open")
        ada = await register(client)
        booked = await book(client, ada["id"], project, "1", demand_id=line["id"])
        assert booked.status_code == 201, booked.text
        assert (await demand_line())["status"] == "filled"
        assert "AllocationBooked" in await eventually(lambda: published_by_resourcing(kafka, ada["id"]), timeout=60)

        cancelled = portfolio_event(
            project, 2, "pmo.portfolio.ProjectCancelled.v1", {"project_id": project, "reason": "strategy changed"}
        )
        await publish(kafka, cancelled, tmp_path)

        async def released():
            allocation = (await client.get(f"/allocations/{booked.json()['id']}")).json()
            return allocation["status"] == "released"

        await eventually(released, timeout=60)
        line = await demand_line()
        assert (line["status"], line["cancel_reason"]) == ("cancelled", "project cancelled: strategy changed")
        again = await book(client, ada["id"], project, "0.5")
        assert again.status_code == 409 and "is cancelled" in again.json()["detail"]


async def test_a_paused_project_gives_its_people_back_and_keeps_its_demand(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    project = str(uuid.uuid4())
    async with (
        running_service(
            RESOURCING, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
        ) as service,
        service.client(*MANAGER) as client,
    ):
        await publish(
            kafka, project_initiated(project, ("developer", "1", date(2027, 1, 4), date(2027, 1, 15))), tmp_path
        )

        async def demand_line():
            items = (await client.get("/demands", params={"project_id": project})).json()["items"]
            return items[0] if items else None

        line = await eventually(demand_line, timeout=60)
        ada = await register(client)
        booked = await book(client, ada["id"], project, "1", demand_id=line["id"])
        assert booked.status_code == 201, booked.text
        paused = {"project_id": project, "portfolio_id": "pf-1", "rationale": "board action: misaligned",
                  "paused_by": "board", "paused_at": "2026-12-01T10:00:00+00:00"}  # fmt: skip
        await publish(kafka, portfolio_event(project, 2, "pmo.portfolio.ProjectPaused.v1", paused), tmp_path)

        async def released():
            allocation = (await client.get(f"/allocations/{booked.json()['id']}")).json()
            return allocation if allocation["status"] == "released" else None

        await eventually(released, timeout=60)
        assert (await demand_line())["status"] == "open"  # still needed once the project resumes
        refused = await book(client, ada["id"], project, "0.5")
        assert refused.status_code == 409 and f"project {project} is paused" in refused.json()["detail"]
