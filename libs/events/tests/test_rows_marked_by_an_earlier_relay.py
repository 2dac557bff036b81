"""Rows a relay of an earlier release marked sent (`published_at` set, during a rolling update) leave the outbox
when a relay of this release takes the lead (session 11 review 2, R2-3). Since ae87813 the relay deletes what the
broker acknowledged and reads only unmarked rows; runtime_0003 deleted the marked rows of its day once, but those an
old relay marked after it stayed for good (every outbox read walked over them: the partial index is gone)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmo_devstack.keys import event_signer
from pmo_devstack.polling import eventually
from pmo_events.runtime import CommandRuntime, EventStore, KafkaSettings, Metadata, OutboxRelay, relay
from pmo_events.runtime.schema import outbox

from .support import COUNTER, Incremented, migrated

pytestmark = pytest.mark.integration


async def test_rows_an_earlier_relay_marked_leave_the_outbox_when_this_one_takes_the_lead(
    database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay, "MARKED_BATCH", 2)  # several batches: 5 rows, 2 a transaction
    db = await migrated(database_url, tmp_path)
    topic = f"{topic_prefix}.test.events"
    now = datetime.now(UTC)
    marked = {"topic": topic, "headers": "{}", "value": b"{}", "created_at": now, "published_at": now}
    async with db.transaction() as session:
        await session.execute(outbox.insert(), [marked | {"key": f"old{n}"} for n in range(5)])
    signer = event_signer(tmp_path, "test")
    publisher = OutboxRelay(
        db, KafkaSettings(bootstrap_servers=kafka_bootstrap), service="test", topic=topic, poll_interval=0.2,
        signer=signer,
    )  # fmt: skip
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic=topic, signer=signer), on_commit=publisher.wake)
    counter = str(uuid.uuid4())
    async with runtime.unit_of_work(Metadata(actor="tester")) as uow:
        await uow.append(COUNTER, counter, 0, [Incremented(counter_id=counter, by=1)])

    async def outbox_rows() -> int:
        async with db.sessions() as session:
            return int((await session.execute(select(func.count()).select_from(outbox))).scalar_one())

    assert await outbox_rows() == 6
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: publisher.status.published == 1, "the unsent row published", timeout=30)
        assert await outbox_rows() == 0  # the marked rows went before it was read
    finally:
        await publisher.stop(flush_timeout=2)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await db.dispose()
