"""A history whose events hold an instant without a time zone (an older or hand-made event's `reported_at`): the
contracts took it and kept it naive, against "time is timezone-aware UTC" (session 13's note). A project read from
it failed its answer (the response's instants are `AwareDatetime`: a 500). Now every instant of an event is aware
UTC once decoded (`pmo_events.contracts.base.UtcInstant`): the naive value is read as UTC, the history still
rebuilds, and the answer shows it with its `Z`."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import StatusReported
from pmo_events.runtime.schema import events

from .test_api_delivery import approved_project, report
from .test_rebuild import rebuild

pytestmark = pytest.mark.integration


async def test_a_status_report_recorded_without_a_time_zone_rebuilds_and_reads_as_utc(service: RunningService) -> None:
    await approved_project(service, "p-naive")
    async with service.client("pam", "project_manager") as pam:
        made = await pam.post("/projects/p-naive/status-reports", json=report())
        assert made.status_code == 201, made.text
    reported_at = made.json()["recorded"][0]["reported_at"]
    assert reported_at.endswith("Z")
    naive = reported_at.removesuffix("Z")
    async with service.runtime.db.transaction() as session:  # the history as an older producer left it
        changed = await session.execute(
            text("UPDATE pmo_events SET data = replace(data, :aware, :naive) WHERE type = :type"),
            {"aware": f'"{reported_at}"', "naive": f'"{naive}"', "type": StatusReported.type_name()},
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]
        stored = await session.execute(select(events.c.data).where(events.c.type == StatusReported.type_name()))
        assert f'"{naive}"' in stored.scalar_one()
    assert await rebuild(service) >= 1  # replay reads the history as it is
    async with service.client("bea", "board_member") as bea:
        project = await bea.get("/projects/p-naive")
    assert project.status_code == 200, project.text  # was a 500: a naive instant in an aware answer
    assert project.json()["latest_status_report"]["reported_at"] == reported_at
