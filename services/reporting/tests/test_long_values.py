"""An event carrying a value longer than its column in reporting's log (a `correlation_id` of more than 64
characters: no producer of ours ever recorded one, another producer could still send one) is refused the same
way whatever the size of its poll, and nothing of it is written: the subscription then applies the poll one by
one and dead-letters that event.

Before session 10 a poll of at most 64 events went in through one statement whose `$n::VARCHAR(n)` casts cut
such a value to its column and applied the event, where a larger poll's COPY and the one-by-one path refused
it: the same event was kept (cut) or dead-lettered depending on how many events came with it. (This was shown
with an actor over 200 characters; since reporting_0005 the log's actor is unbounded text, as older producers
took subjects of any length: test_old_long_actor.py.)"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.poll_write import ONE_STATEMENT_EVENTS
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.application.live import apply_event, apply_events
from pmo_reporting.bootstrap import REPORTING
from pmo_servicekit.auth import SUBJECT_MAX_LENGTH
from pmo_servicekit.http import CORRELATION_ID_MAX

from .support import standard_history

pytestmark = pytest.mark.integration

#: What PostgreSQL's refusal surfaces as: through SQLAlchemy, or from COPY on the driver's connection.
REFUSED = (DBAPIError, asyncpg.StringDataRightTruncationError)


@pytest.fixture
async def db(postgres_url: str):
    await asyncio.to_thread(upgrade, postgres_url, REPORTING.migrations, REPORTING.metadata)
    database = Database(postgres_url)
    yield database
    await database.dispose()


def _placed(events: list[RecordedEvent]) -> list[RecordedEvent]:
    return [replace(e, topic="pmo.test.events", partition=0, offset=i) for i, e in enumerate(events)]


async def _logged(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(event_log))).scalar_one())


@pytest.mark.parametrize("poll", [1, ONE_STATEMENT_EVENTS + 1], ids=["one-statement", "copy"])
async def test_an_over_long_actor_is_refused_whatever_the_poll_size(db: Database, poll: int) -> None:
    history = standard_history()
    for n in range(poll):
        history.submitted(f"x-{n}", "p-1")
    events = history.events
    assert len(events) > poll
    long = replace(events[0], correlation_id="c" * (CORRELATION_ID_MAX + 1))
    with pytest.raises(REFUSED, match="too long"):
        async with db.transaction() as session:
            await apply_events(session, _placed([long, *events[1:poll]]))
    with pytest.raises(REFUSED, match="too long"):
        async with db.transaction() as session:
            await apply_event(session, _placed([long])[0])
    assert await _logged(db) == 0


async def test_the_longest_actor_is_kept_whole_in_a_small_poll(db: Database) -> None:
    events = standard_history().events
    longest = "a" * SUBJECT_MAX_LENGTH
    async with db.transaction() as session:
        await apply_events(session, _placed([replace(events[0], actor=longest)]))
    async with db.sessions() as session:
        assert (await session.execute(select(event_log.c.actor))).scalars().all() == [longest]
