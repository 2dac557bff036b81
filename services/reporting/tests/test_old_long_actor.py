"""An actor recorded before session 10 bounded token subjects (c4a70a4; review 1 of session 11, F2).

Until then a subject of any length was taken, and the envelope's `ce_actor` kept it whole (the producer's outbox
headers are text, the signature covers the whole actor). Reporting logs every consumed event's actor: with
`reporting_event_log.actor` VARCHAR(200), such an authentic older event was refused on PostgreSQL
(StringDataRightTruncation, not transient), dead-lettered `apply_failed`, and every later event of its stream
waited out of order for good. Since reporting_0005 the column is unbounded text: the event is logged with its
whole actor on both databases, live (one by one, in a small poll's one statement, in a larger one's COPY) and
over the broker."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import select

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.poll_write import ONE_STATEMENT_EVENTS
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.bootstrap import REPORTING

from .support import standard_history
from .test_api import Reporting, all_logged, publish, reporting  # noqa: F401
from .test_rebuild import consume, consume_in_batches

pytestmark = pytest.mark.integration

#: A subject as long as an e-mail address may be (254): older code took it, and longer ones too.
OLD_ACTOR = "a" * (254 - len("@example.org")) + "@example.org"


def _old_history(more: int = 0) -> tuple[list[RecordedEvent], RecordedEvent]:
    """The standard history (and `more` proposals) with its first intake event (a proposal's draft) by the
    older, longer actor."""
    history = standard_history()
    for n in range(more):
        history.submitted(f"x-{n}", "pf-1")
    events = list(history.events)
    first = next(i for i, e in enumerate(events) if e.source == "/pmo/intake")
    events[first] = replace(events[first], actor=OLD_ACTOR)
    return events, events[first]


async def _actors(db: Database) -> dict[str, str | None]:
    async with db.sessions() as session:
        return dict((await session.execute(select(event_log.c.event_id, event_log.c.actor))).tuples().all())


@pytest.mark.parametrize(
    "batch", [1, ONE_STATEMENT_EVENTS, ONE_STATEMENT_EVENTS + 1], ids=["one-by-one", "one-statement", "copy"]
)
async def test_an_event_by_an_older_longer_actor_is_logged_whole(database_url: str, batch: int) -> None:
    events, old = _old_history(more=ONE_STATEMENT_EVENTS)
    await asyncio.to_thread(upgrade, database_url, REPORTING.migrations, REPORTING.metadata)
    db = Database(database_url)
    try:
        if batch == 1:
            await consume(db, events, batch=1)
        else:
            await consume_in_batches(db, events, batch)
        actors = await _actors(db)
    finally:
        await db.dispose()
    assert len(actors) == len(events) and actors[old.event_id] == OLD_ACTOR


async def test_a_signed_history_with_an_older_longer_actor_is_applied_whole_over_the_broker(
    reporting: Reporting,  # noqa: F811
) -> None:
    """The reviewer's reproduction: the history published signed, decisions before the proposals they decide.
    Was (PostgreSQL): the draft dead-lettered, its submission out of order for ever, 18 of 20 applied."""
    events, old = _old_history()
    arrival = {"/pmo/portfolio": 0, "/pmo/resourcing": 1, "/pmo/intake": 2}
    await publish(reporting, sorted(events, key=lambda e: arrival[e.source]))
    await all_logged(reporting, len(events))
    status = reporting.runtime.subscription.status  # type: ignore[union-attr]
    assert status.dead_lettered == 0 and status.out_of_order == 0
    assert status.applied == len(events)
    assert (await _actors(reporting.runtime.db))[old.event_id] == OLD_ACTOR
    async with reporting.client("ada", "admin") as admin:
        history = await admin.get(f"/history/{old.stream_id}")
        assert history.status_code == 200, history.text
        assert [e["type"] for e in history.json()["items"]].count(old.type) == 1
