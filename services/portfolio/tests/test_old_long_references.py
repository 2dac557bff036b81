"""A lesson recorded before session 10 tightened its `decision_id` from 64 to 36 characters (c4a70a4; never
checked against a decision, so an older client could record any 64 characters): the event keeps it whole, the
contract reads it as plain text (a stored event is never re-validated against a newer bound) and no view holds
it in a bounded column, so such a history still rebuilds. The other references tightened to 36 (a decision's
or motion's `candidate_id`, an approval's `programme_id`, a milestone's `programme_id`, a scenario's candidate
ids) name a candidate or a programme that must be found first, whose ids are minted as UUIDs: no stored event
can hold a longer one. Reporting's side: services/reporting/tests/test_old_long_references.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import LessonRecorded

from .test_api_delivery import approved_project
from .test_rebuild import every_row, rebuild

pytestmark = pytest.mark.integration

TODAY = "d" * 36
OLD = "d" * 64  # as c4cb679 took it (max_length 64)


async def test_a_lesson_recorded_with_an_older_longer_decision_id_still_rebuilds(service: RunningService) -> None:
    await approved_project(service, "p-lessons")
    lesson = {"title": "Pilot", "description": "d", "category": "delivery", "decision_id": TODAY}
    async with service.client("pam", "project_manager") as pam:
        too_long = await pam.post("/projects/p-lessons/lessons", json={**lesson, "decision_id": OLD})
        assert too_long.status_code == 422, too_long.text
        recorded = await pam.post("/projects/p-lessons/lessons", json=lesson)
        assert recorded.status_code == 201, recorded.text
    written = await every_row(service)
    async with service.runtime.db.transaction() as session:  # the history as older code left it
        changed = await session.execute(
            text("UPDATE pmo_events SET data = replace(data, :today, :old) WHERE type = :type"),
            {"today": f'"{TODAY}"', "old": f'"{OLD}"', "type": LessonRecorded.type_name()},
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]
    assert await rebuild(service) >= 1
    assert await every_row(service) == written
    async with service.runtime.db.sessions() as session:
        [data] = (
            (await session.execute(text("SELECT data FROM pmo_events WHERE data LIKE :old"), {"old": f"%{OLD}%"}))
            .scalars()
            .all()
        )
    assert LessonRecorded.model_validate_json(data).decision_id == OLD
