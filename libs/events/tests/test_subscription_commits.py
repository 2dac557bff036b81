"""A subscription built with `durable_commits=False` (reporting's) commits its batches on PostgreSQL without
waiting for the WAL flush, in its own transactions only; every other one, and every command, waits for it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pmo_devstack.polling import eventually
from pmo_events.runtime import Database, KafkaSettings, Subscription
from pmo_events.runtime import subscription as subscription_module
from pmo_events.runtime.subscription import Handler

from .support import migrated
from .test_relay_and_subscription import Pipeline, add_to_total, view_metadata

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("durable", [True, False])
async def test_a_batch_commits_without_the_wal_flush_only_when_asked(
    durable: bool,
    postgres_url: str,
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What counts is the setting in effect when the batch's transaction commits: it is read after the poll's
    last statement (its offsets, which set it on PostgreSQL), including a partition's first poll."""
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(postgres_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    pipeline = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    seen: list[str] = []

    write_offsets = subscription_module.write_offsets

    async def written_then_shown(session, *args, **kwargs) -> None:
        await write_offsets(session, *args, **kwargs)
        seen.append((await session.execute(text("SHOW synchronous_commit"))).scalar_one())

    monkeypatch.setattr(subscription_module, "write_offsets", written_then_shown)

    _resubscribe(pipeline, consumer_db, add_to_total, durable_commits=durable)
    await pipeline.start()
    try:
        counter = str(uuid.uuid4())
        for _ in range(3):
            await pipeline.increment(counter, 1)
        await eventually(lambda: _totals_are(pipeline, {counter: (3, 3)}))
        await pipeline.increment(counter, 1)  # a later poll: the partition's offset row exists now
        await eventually(lambda: _totals_are(pipeline, {counter: (4, 4)}))
        assert len(seen) >= 2
        assert set(seen) == {"on" if durable else "off"}
        async with consumer_db.sessions() as session:  # the pool's connections are left as they were
            assert (await session.execute(text("SHOW synchronous_commit"))).scalar_one() == "on"
    finally:
        await pipeline.stop()
        await producer_db.dispose()
        await consumer_db.dispose()


def _resubscribe(pipeline: Pipeline, db: Database, handler: Handler, **options: Any) -> None:
    """The pipeline's subscription built again on `db` with `handler` (and `options`), as it was otherwise."""
    first = pipeline.subscription
    pipeline.subscription = Subscription(
        name=first.name,
        topics=first.topics,
        db=db,
        kafka=first.kafka,
        handler=handler,
        dead_letter_topic=first.dead_letter_topic,
        trust=first.trust,
        **options,
    )


async def _totals_are(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected


async def test_a_connection_lost_before_the_poll_s_bookkeeping_is_retried_not_taken_for_a_broken_poll(
    postgres_url: str,
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server ends the poll's backend after its handler (pg_terminate_backend, as a restart or failover
    would): the next statement, the poll's bookkeeping, meets a dead connection. The poll is applied again from
    the stored offsets in a new transaction (each event once, nothing dead-lettered), as a transient failure:
    pgdirect turns the lost connection into SQLAlchemy's invalidated error (before, the driver's own error was
    replaced by the failing rollback's, which SQLAlchemy invalidates as well)."""
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(postgres_url, tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    pipeline = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    ended: list[int] = []

    async def add_then_lose_the_connection(session, event) -> None:
        await add_to_total(session, event)
        if not ended:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with consumer_db.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            ended.append(pid)

    _resubscribe(pipeline, consumer_db, add_then_lose_the_connection)
    caplog.set_level("INFO", logger=subscription_module.log.name)
    await pipeline.start()
    try:
        counter = str(uuid.uuid4())
        await pipeline.increment(counter, 1)
        await eventually(lambda: _totals_are(pipeline, {counter: (1, 1)}))
        await pipeline.increment(counter, 2)  # and it goes on consuming
        await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}))
        assert ended
        status = pipeline.subscription.status
        assert status.dead_lettered == 0 and status.batches_split == 0
        assert "transient failure 1 in a row, retrying the poll" in caplog.text
    finally:
        await pipeline.stop()
        await producer_db.dispose()
        await consumer_db.dispose()
