"""References recorded before session 10 tightened them from 64 to 36 characters at the edge (c4a70a4): a
lesson's `decision_id` (never checked against a decision, so an older client could record any 64 characters)
and the programme an approval names (`InvestmentDecided.programme_id`). The event contracts keep them as plain
text (commands are where a value is bounded; a stored event is never re-validated against a newer bound), and
reporting keeps them in its documents, not in a bounded column: such a history is applied live, one by one and
in batches, and rebuilt, and every read model equals the live one, holding the whole reference."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from pmo_events.contracts.portfolio import InvestmentDecided, LessonRecorded
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.application.rebuild import begin_rebuild, run_rebuild
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PROJECTIONS

from .support import standard_history, with_lessons
from .test_rebuild import consume, consume_in_batches, snapshot

pytestmark = pytest.mark.integration

OLD_DECISION = "d" * 64  # a lesson's decision_id as c4cb679 took it (max_length 64)
OLD_PROGRAMME = "g" * 64  # an approval's programme as an older producer could name it


def _old_history() -> list[RecordedEvent]:
    events: list[RecordedEvent] = []
    for event in with_lessons(standard_history()).events:
        if event.type == LessonRecorded.type_name():
            event = replace(event, data={**event.data, "decision_id": OLD_DECISION})
        elif event.type == InvestmentDecided.type_name() and event.data["outcome"] == "approve":
            event = replace(event, data={**event.data, "programme_id": OLD_PROGRAMME})
        events.append(event)
    return events


@pytest.mark.parametrize("batch", [1, 500], ids=["one-by-one", "batched"])
async def test_a_history_with_references_longer_than_todays_bound_applies_and_rebuilds(
    database_url: str, batch: int
) -> None:
    events = _old_history()
    await asyncio.to_thread(upgrade, database_url, REPORTING.migrations, REPORTING.metadata)
    db = Database(database_url)
    try:
        if batch == 1:
            await consume(db, events, batch=1)
        else:
            await consume_in_batches(db, events, batch)
        held = ""
        for name, projection in PROJECTIONS.items():
            live = await snapshot(db, name)
            held += repr(live)
            progress = await begin_rebuild(db, projection)
            await run_rebuild(db, projection, progress)
            assert progress.phase == "done", progress.error
            assert await snapshot(db, name) == live, name
        assert OLD_DECISION in held  # kept whole in the project's document (the programme is not kept there)
    finally:
        await db.dispose()
