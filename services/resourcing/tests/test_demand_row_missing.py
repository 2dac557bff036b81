"""A demand line's view row missing (an operator's delete, a partial restore), then its project cancelled: the
`DemandCancelled` updated the row by key, met none and changed nothing, so the line stayed missing from the demands
view until a rebuild (session 11's notes). Now the line is folded from its project's demand stream, cancelled, its
coverage from the bookings' rows: the rows are what a rebuild makes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import ProjectCancelled
from pmo_resourcing.adapters.db.tables import demands

from .support import MANAGER, active_project, book, deliver, portfolio_event, register
from .test_resource_row_out_of_step import _demand_line, _rebuilt_equal

pytestmark = pytest.mark.integration

ESTIMATE = ("developer", "1", date(2027, 1, 4), date(2027, 1, 15))


async def test_a_cancellation_of_a_demand_line_whose_row_went_missing_writes_the_line(service: RunningService) -> None:
    project = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, project)
        booked = await book(client, ada["id"], project, "0.5", demand_id=line)
        assert booked.status_code == 201, booked.text
    async with service.runtime.db.transaction() as session:
        await session.execute(delete(demands).where(demands.c.demand_id == line))
    cancelled = ProjectCancelled(project_id=project, reason="strategy changed", cancelled_by="board")
    await deliver(service, portfolio_event(project, 2, ProjectCancelled.type_name(), cancelled.model_dump(mode="json")))
    async with service.runtime.db.sessions() as session:
        rows = (await session.execute(select(demands).where(demands.c.project_id == project))).mappings().all()
    assert [(row["demand_id"], row["status"]) for row in rows] == [(line, "cancelled")]
    assert rows[0]["cancel_reason"] == "project cancelled: strategy changed"
    await _rebuilt_equal(service)
