"""A live poll's bookkeeping (its offsets and its streams' last sequences) rides in reporting's one write statement
on PostgreSQL (`CarriedProgress`): one round trip fewer per poll, and the same rows, in the same transaction, as
the subscription's own statement writes on SQLite or when the handler does not carry it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select, text

from pmo_devstack.batches import service_runtime, subscription_of
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_devstack.testing import as_published
from pmo_events.contracts import TOPICS
from pmo_events.contracts.intake import ProposalDrafted, ProposalWithdrawn
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import subscription as subscription_module
from pmo_events.runtime.consumed import CarriedProgress, stored_offsets
from pmo_events.runtime.schema import consumed_streams
from pmo_events.runtime.subscription import Subscription
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.application import live
from pmo_reporting.bootstrap import REPORTING

pytestmark = pytest.mark.integration

TOPIC = TOPICS["intake"]


def _event(proposal: str, sequence: int) -> RecordedEvent:
    data: Any
    if sequence == 1:
        data = ProposalDrafted(proposal_id=proposal, portfolio_id="p", title="Lag", requester="tester")
    else:
        data = ProposalWithdrawn(proposal_id=proposal, portfolio_id="p", withdrawn_by="tester", reason="test")
    return RecordedEvent(
        event_id=str(uuid.uuid4()),
        type=type(data).type_name(),
        source="/pmo/intake",
        stream_id=proposal,
        sequence=sequence,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
        actor="tester",
        correlation_id=str(uuid.uuid4()),
    )


def _poll(events: list[tuple[RecordedEvent, int, int]], data_dir: Path) -> dict[TopicPartition, list[Any]]:
    """(event, partition, offset) → a poll as aiokafka answers it."""
    batch: dict[TopicPartition, list[Any]] = {}
    for event, partition, offset in events:
        key, value, headers = as_published(event, data_dir)
        record = ConsumerRecord(TOPIC, partition, offset, 0, 0, key, value, None, len(key), len(value), headers)
        batch.setdefault(TopicPartition(TOPIC, partition), []).append(record)
    return batch


async def _apply(subscription: Subscription, batch: dict[TopicPartition, list[Any]]) -> None:
    await subscription._apply_batch(batch, subscription._check(batch))


async def _state(subscription: Subscription) -> tuple[dict[int, int], dict[str, int], int]:
    """(partition → next offset, stream → last sequence, log rows)."""
    async with subscription.db.sessions() as session:
        offsets = {p: offset for (_, p), (offset, *_) in (await stored_offsets(session, subscription.name)).items()}
        query = select(consumed_streams.c.stream_id, consumed_streams.c.last_sequence).where(
            consumed_streams.c.consumer == subscription.name
        )
        streams: dict[str, int] = {row.stream_id: row.last_sequence for row in await session.execute(query)}
        logged = (await session.execute(select(func.count()).select_from(event_log))).scalar_one()
    return offsets, streams, logged


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    ensure_event_keys(tmp_path, PUBLISHERS)
    return tmp_path


async def test_a_small_poll_carries_its_bookkeeping_on_postgresql_only(
    database_url: str, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition's first poll (its offset row inserted after the carrying statement), a later one, a stream's
    second event and a poll read again: offsets, last sequences and the log as the subscription's own statement
    leaves them; on PostgreSQL the subscription's statement is not sent at all."""
    own_statements: list[int] = []
    write_offsets = subscription_module.write_offsets

    async def counted(*args: Any, **kwargs: Any) -> None:
        own_statements.append(1)
        await write_offsets(*args, **kwargs)

    monkeypatch.setattr(subscription_module, "write_offsets", counted)
    # What is in effect when a carried poll's transaction commits (reporting's commits skip the WAL flush wait).
    at_commit: list[str] = []
    finish = CarriedProgress.finish

    async def finished_then_shown(self: CarriedProgress, session: Any) -> None:
        await finish(self, session)
        at_commit.append((await session.execute(text("SHOW synchronous_commit"))).scalar_one())

    monkeypatch.setattr(CarriedProgress, "finish", finished_then_shown)
    async with service_runtime(REPORTING, database_url, "127.0.0.1:1", keys) as runtime:
        subscription = subscription_of(runtime, TOPIC)
        subscription._epoch = "test"
        subscription.durable_commits = not runtime.db.is_postgres  # as reporting's runtime makes it
        a, b = f"pr-{uuid.uuid4().hex[:8]}", f"pr-{uuid.uuid4().hex[:8]}"
        first = _poll([(_event(a, 1), 0, 0)], keys)
        await _apply(subscription, first)
        assert await _state(subscription) == ({0: 1}, {a: 1}, 1)
        await _apply(subscription, _poll([(_event(b, 1), 0, 1), (_event(a, 2), 0, 2)], keys))
        assert await _state(subscription) == ({0: 3}, {a: 2, b: 1}, 3)
        await _apply(subscription, _poll([(_event(a, 1), 1, 0)], keys))  # a duplicate on another partition
        assert await _state(subscription) == ({0: 3, 1: 1}, {a: 2, b: 1}, 3)
        await _apply(subscription, first)  # read again (before the stored offset): nothing applied twice
        assert await _state(subscription) == ({0: 3, 1: 1}, {a: 2, b: 1}, 3)
        assert subscription.status.applied == 3
        postgres = runtime.db.is_postgres
    # The duplicate poll applies no event, so no handler runs to carry it; the rest are carried on PostgreSQL.
    assert len(own_statements) == (2 if postgres else 4)
    # Carried: a partition's first poll (its offset row inserted after) and a later one, each as asked.
    assert at_commit == (["off", "off"] if postgres else [])


async def test_a_carried_bookkeeping_goes_with_its_failed_attempt(
    postgres_url: str, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll's write (with the bookkeeping in it) succeeds and then the handler fails: the attempt is rolled
    back whole, and the poll applied again event by event writes its offsets and sequences itself, once."""
    failures = [RuntimeError("after the write")]
    write_poll = live.write_poll

    async def then_fail(*args: Any, **kwargs: Any) -> None:
        await write_poll(*args, **kwargs)
        if failures:
            raise failures.pop()

    monkeypatch.setattr(live, "write_poll", then_fail)
    async with service_runtime(REPORTING, postgres_url, "127.0.0.1:1", keys) as runtime:
        subscription = subscription_of(runtime, TOPIC)
        subscription._epoch = "test"
        a, b = f"pr-{uuid.uuid4().hex[:8]}", f"pr-{uuid.uuid4().hex[:8]}"
        await _apply(subscription, _poll([(_event(a, 1), 0, 0)], keys))  # the offset row exists from here
        await _apply(subscription, _poll([(_event(b, 1), 0, 1), (_event(a, 2), 0, 2)], keys))
        assert not failures
        assert subscription.status.batches_split == 1
        assert await _state(subscription) == ({0: 3}, {a: 2, b: 1}, 3)
        assert subscription.status.applied == 3
        assert subscription.status.dead_lettered == 0
