"""Bookings on working days, paused projects refused by name, capacity by the organisation's fiscal calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import FiscalCalendarSet, ProjectPaused
from pmo_events.runtime.schema import events

from .support import MANAGER, active_project, book, deliver, portfolio_event, register

pytestmark = pytest.mark.integration


async def history_size(service: RunningService) -> int:
    async with service.runtime.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(events))).scalar_one())


async def refused(service: RunningService, client: Any, field: str, *args: Any, **body: Any) -> None:
    before = await history_size(service)
    answer = await book(client, *args, **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field, answer.json()
    assert await history_size(service) == before


async def test_a_saturday_booking_for_a_monday_to_friday_resource_is_refused_unless_accepted(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        await refused(service, client, "start", ada["id"], project, "1", start="2027-01-09", end="2027-01-09")
        await refused(service, client, "end", ada["id"], project, "1", end="2027-01-10")
        await refused(service, client, "reason", ada["id"], project, "1", end="2027-01-10", allow_non_working_days=True)
        weekend = await book(
            client, ada["id"], project, "1", start="2027-01-09", end="2027-01-10",
            allow_non_working_days=True, reason="weekend go-live",
        )  # fmt: skip
        assert weekend.status_code == 201, weekend.text
        assert weekend.json()["non_working_days_reason"] == "weekend go-live"
        moved = await client.patch(
            f"/allocations/{weekend.json()['id']}", json={"start": "2027-01-11", "end": "2027-01-15"},
            headers={"If-Match": weekend.headers["etag"]},
        )  # fmt: skip
        assert moved.status_code == 200 and moved.json()["non_working_days_reason"] is None


async def test_a_paused_project_refuses_new_bookings_naming_its_state(service) -> None:
    project = await active_project(service)
    paused = ProjectPaused(
        project_id=project, portfolio_id="pf-1", rationale="re-plan", paused_by="board", paused_at=datetime.now(UTC)
    )
    await deliver(service, portfolio_event(project, 2, ProjectPaused.type_name(), paused.model_dump(mode="json")))
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        before = await history_size(service)
        answer = await book(client, ada["id"], project, "0.5")
        assert answer.status_code == 409
        assert answer.json()["detail"] == f"project {project} is paused: bookings are only made on active projects"
        assert await history_size(service) == before


async def test_capacity_is_bucketed_by_the_organisations_april_year(service) -> None:
    april = FiscalCalendarSet(year_start_month=4, set_by="ada", set_at=datetime.now(UTC))
    await deliver(service, portfolio_event("fiscal-calendar", 1, april.type_name(), april.model_dump(mode="json")))
    async with service.client(*MANAGER) as client:
        await register(client)
        params = {"from": "2027-03-01", "to": "2027-04-30"}
        periods = (await client.get("/capacity", params=params)).json()["items"]
        assert [(r["period"], r["start"], r["end"]) for r in periods] == [
            ("FY2026-P12", "2027-03-01", "2027-03-31"),
            ("FY2027-P01", "2027-04-01", "2027-04-30"),
        ]
        years = (await client.get("/capacity", params={**params, "bucket": "year"})).json()["items"]
        assert [(r["period"], r["start"], r["end"]) for r in years] == [
            ("FY2026", "2026-04-01", "2027-03-31"),
            ("FY2027", "2027-04-01", "2028-03-31"),
        ]
    older = FiscalCalendarSet(year_start_month=7, set_by="ada", set_at=datetime(2020, 1, 1, tzinfo=UTC))
    await deliver(service, portfolio_event("fiscal-calendar", 2, older.type_name(), older.model_dump(mode="json")))
    async with service.client(*MANAGER) as client:
        again = (await client.get("/capacity", params={**params, "bucket": "year"})).json()["items"]
        assert again[0]["period"] == "FY2026"  # an older setting delivered late does not win
