"""Reporting's read models' rows lock rides in the poll's streams' lock statement on PostgreSQL (`RidingLock`): one
round trip fewer per poll, the same rows locked in the same order (offsets, streams, read models' rows) and held by
the poll's transaction, and the same generations read as the handler's own statement reads them."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import update

from pmo_devstack.batches import service_runtime, subscription_of
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_events.runtime import pgdirect
from pmo_events.runtime.consumed import _STREAMS_LOCK_SQL, RIDDEN_ROWS, RidingLock, _one_stream, last_sequences
from pmo_events.runtime.schema import consumed_streams
from pmo_reporting.adapters.db.tables import projections
from pmo_reporting.application import live
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PROJECTIONS

from .test_carried_progress import TOPIC, _apply, _event, _poll, _state

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    ensure_event_keys(tmp_path, PUBLISHERS)
    return tmp_path


async def test_the_read_models_rows_lock_rides_with_the_streams_lock_on_postgresql(
    database_url: str, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read model's first use (no rows yet), a swapped generation, a later poll: the handler folds into the
    generations the table holds, the log and bookkeeping are as before, and on PostgreSQL the handler's own lock
    statement is not sent; while the handler runs the rows are locked by the poll's transaction."""
    sent: list[str] = []
    fetch = pgdirect.fetch

    async def recorded(session: Any, statement: str, *args: Any, **kwargs: Any) -> list[Any]:
        sent.append(statement)
        return await fetch(session, statement, *args, **kwargs)

    monkeypatch.setattr(pgdirect, "fetch", recorded)
    folded_into: list[dict[str, int]] = []
    locked_meanwhile: list[bool] = []
    fold_and_write = live._fold_and_write

    async def watched(session: Any, events: Any, generations: dict[str, int], consumer: str) -> None:
        folded_into.append(dict(generations))
        if runtime.db.is_postgres:  # another transaction cannot take a read model's row now
            other = await asyncpg.connect(database_url.replace("+asyncpg", ""))
            try:
                async with other.transaction():
                    await other.execute("SET LOCAL lock_timeout = '50ms'")
                    await other.fetch(f"SELECT 1 FROM {projections.name} FOR UPDATE")
                locked_meanwhile.append(False)
            except asyncpg.exceptions.LockNotAvailableError:
                locked_meanwhile.append(True)
            finally:
                await other.close()
        await fold_and_write(session, events, generations, consumer)

    monkeypatch.setattr(live, "_fold_and_write", watched)
    async with service_runtime(REPORTING, database_url, "127.0.0.1:1", keys) as runtime:
        subscription = subscription_of(runtime, TOPIC)
        assert subscription.riding_lock is live.RIDING_LOCK
        subscription._epoch = "test"
        a, b, c = (f"pr-{uuid.uuid4().hex[:8]}" for _ in range(3))
        await _apply(subscription, _poll([(_event(a, 1), 0, 0)], keys))  # the read models' rows made here
        assert await _state(subscription) == ({0: 1}, {a: 1}, 1)
        await _apply(subscription, _poll([(_event(b, 1), 0, 1), (_event(a, 2), 0, 2)], keys))
        assert await _state(subscription) == ({0: 3}, {a: 2, b: 1}, 3)
        swapped = next(iter(PROJECTIONS))
        async with runtime.db.transaction() as session:  # as a rebuild's swap leaves it
            await session.execute(update(projections).where(projections.c.name == swapped).values(generation=2))
        await _apply(subscription, _poll([(_event(c, 1), 1, 0)], keys))
        assert await _state(subscription) == ({0: 3, 1: 1}, {a: 2, b: 1, c: 1}, 4)
        postgres = runtime.db.is_postgres
    every_one = dict.fromkeys(PROJECTIONS, 1)
    assert folded_into == [every_one, every_one, {**every_one, swapped: 2}]
    # The first poll's rows are inserted by its own transaction (not visible to another one yet).
    assert locked_meanwhile == ([False, True, True] if postgres else [])
    own = [statement for statement in sent if statement == live._GENERATIONS]
    progress = live.RIDING_LOCK.with_progress()
    riding = [statement for statement in sent if statement in (progress, _one_stream(progress, 5))]
    # The first poll finds no rows (the handler makes them); every poll sends the lock in the streams' statement,
    # which since session 13 also locks the offsets (`consumed.lock_progress`): nothing else is sent before the
    # handler's write but the streams read again for a partition's first poll (no offset row to compare).
    assert (len(own), len(riding)) == ((0, 3) if postgres else (0, 0))
    again = [statement for statement in sent if statement in (_STREAMS_LOCK_SQL, _one_stream(_STREAMS_LOCK_SQL, 3))]
    assert len(again) == (2 if postgres else 0)  # the first polls of partitions 0 and 1


async def test_a_riding_lock_goes_with_the_last_source_of_a_poll(postgres_url: str, keys: Path) -> None:
    """Streams of two sources: each source's last sequences read and locked, the riding rows answered once."""
    async with service_runtime(REPORTING, postgres_url, "127.0.0.1:1", keys) as runtime:
        consumer = f"c-{uuid.uuid4().hex[:8]}"
        async with runtime.db.transaction() as session:
            await session.execute(
                projections.insert(),
                [{"name": n, "generation": 3, "position": 0, "state": "live"} for n in PROJECTIONS],
            )
            await pgdirect.fetch(
                session,
                f"INSERT INTO {consumed_streams.name} (consumer, source, stream_id, last_sequence)"
                " VALUES ($1, 'a', 's1', 4), ($1, 'b', 's2', 7)",
                consumer,
            )
        async with runtime.db.transaction() as session:
            found = await last_sequences(
                session, consumer, [("a", "s1"), ("b", "s2"), ("b", "s3")], riding=live.RIDING_LOCK
            )
            assert found == {("a", "s1"): 4, ("b", "s2"): 7}
            assert session.info[RIDDEN_ROWS] == dict.fromkeys(PROJECTIONS, 3)
        async with runtime.db.transaction() as session:  # no stream: nothing sent, nothing ridden
            assert await last_sequences(session, consumer, [], riding=RidingLock("SELECT 'x' AS key, 1 AS value")) == {}
            assert RIDDEN_ROWS not in session.info


async def test_a_poll_waiting_on_the_read_models_rows_folds_onto_what_the_other_writer_committed(
    postgres_url: str, keys: Path
) -> None:
    """Another writer of the read models (another replica's poll, a rebuild's swap) holds their rows, changes a
    document and commits while a poll waits on those rows: the poll folds onto the committed document, no update
    lost. Why the documents are read by a statement after the lock, never in it: one statement reads under the
    snapshot taken before its lock waited (`benchmarks/poll_snapshot.py`, session 13)."""
    async with service_runtime(REPORTING, postgres_url, "127.0.0.1:1", keys) as runtime:
        subscription = subscription_of(runtime, TOPIC)
        subscription._epoch = "test"
        a = f"pw-{uuid.uuid4().hex[:8]}"
        await _apply(subscription, _poll([(_event(a, 1), 0, 0)], keys))
        plain = postgres_url.replace("+asyncpg", "")
        other, watcher = await asyncpg.connect(plain), await asyncpg.connect(plain)
        try:
            await other.execute("BEGIN")
            await other.fetch(f"SELECT name FROM {projections.name} ORDER BY name FOR UPDATE")
            changed = await other.execute(
                'UPDATE reporting_documents SET body = (body::jsonb || \'{"title": "Edited meanwhile"}\')::text'
                " WHERE kind = 'proposal' AND key = $1",
                a,
            )
            assert changed == "UPDATE 1"
            poll = asyncio.create_task(_apply(subscription, _poll([(_event(a, 2), 0, 1)], keys)))
            for _ in range(200):  # the poll waits on the rows
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting and not poll.done()
            await other.execute("COMMIT")
            await poll
            body = await watcher.fetchval(
                "SELECT body FROM reporting_documents WHERE kind = 'proposal' AND key = $1", a
            )
        finally:
            await other.close()
            await watcher.close()
    doc = json.loads(body)
    assert (doc["title"], doc["withdrawn_by"]) == ("Edited meanwhile", "tester")
