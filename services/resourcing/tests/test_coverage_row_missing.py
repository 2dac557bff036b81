"""A demand line's view row missing (an operator's delete, a partial restore), then a booking on that line confirmed,
changed or released: `project_resource` wrote the allocation and `refresh_coverage` found no line and returned, so
the line stayed missing from the demands view (its coverage wrong) until a rebuild. Now the line is folded from the
booking's project's demand stream, inserted, and its coverage refreshed from the bookings' rows: the rows are what a
rebuild makes. A rebuild inserting the same row meanwhile is a lost race (the command decided again), never a 500."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from pmo_devstack.testing import RunningService
from pmo_resourcing.adapters.db.tables import demands

from .support import MANAGER, active_project, book, register
from .test_resource_row_out_of_step import _demand_line, _rebuilt_equal

pytestmark = pytest.mark.integration

ESTIMATE = ("developer", "1", date(2027, 1, 4), date(2027, 1, 15))

#: Each operation on a proposed 0.5 booking of the line: its request, then the line's (status, filled, proposed).
OPERATIONS: dict[str, tuple[str, str, dict[str, Any], tuple[str, str, str]]] = {
    "confirm": ("post", "/confirm", {}, ("partially_filled", "0.5", "0")),
    "change": ("patch", "", {"json": {"fte": "0.25"}, "headers": {"If-Match": '"1"'}}, ("open", "0", "0.25")),
    "release": ("post", "/release", {"json": {"reason": "re-planned"}}, ("open", "0", "0")),
}


async def _line_row(service: RunningService, line: str) -> dict[str, Any] | None:
    async with service.runtime.db.sessions() as session:
        found = (await session.execute(select(demands).where(demands.c.demand_id == line))).mappings().first()
        return dict(found) if found is not None else None


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_a_booking_on_a_demand_line_whose_row_went_missing_writes_the_line(
    service: RunningService, operation: str
) -> None:
    method, suffix, request, (status, filled, proposed) = OPERATIONS[operation]
    project = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, project)
        booked = await book(client, ada["id"], project, "0.5", demand_id=line, status="proposed")
        assert booked.status_code == 201, booked.text
        async with service.runtime.db.transaction() as session:
            await session.execute(delete(demands).where(demands.c.demand_id == line))
        answer = await getattr(client, method)(f"/allocations/{booked.json()['id']}{suffix}", **request)
        assert answer.status_code == 200, answer.text
    row = await _line_row(service, line)
    assert row is not None, "the line stayed missing"
    assert (row["project_id"], row["status"]) == (project, status)
    assert (Decimal(row["filled_fte"]), Decimal(row["proposed_fte"])) == (Decimal(filled), Decimal(proposed))
    await _rebuilt_equal(service)


async def test_a_confirm_during_a_rebuild_of_its_missing_line_is_decided_again(service: RunningService) -> None:
    db = service.runtime.db
    if not db.is_postgres:
        pytest.skip("the rebuild's table lock is PostgreSQL's (SQLite's writers take turns: no such window)")
    project = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, project)
        booked = await book(client, ada["id"], project, "0.5", demand_id=line, status="proposed")
        assert booked.status_code == 201, booked.text
        old = await _line_row(service, line)
        assert old is not None
        async with db.transaction() as session:
            await session.execute(delete(demands).where(demands.c.demand_id == line))
        async with db.transaction() as rebuild:
            await rebuild.execute(text(f"LOCK TABLE {demands.fullname} IN EXCLUSIVE MODE"))
            await rebuild.execute(delete(demands))
            confirm = asyncio.create_task(client.post(f"/allocations/{booked.json()['id']}/confirm"))
            await asyncio.sleep(2.0)
            assert not confirm.done()  # its insert of the line waits on the rebuild's lock
            await rebuild.execute(demands.insert().values(old))
        answer = await confirm
        assert answer.status_code == 200, answer.text
    row = await _line_row(service, line)
    assert row is not None and (row["status"], Decimal(row["filled_fte"])) == ("partially_filled", Decimal("0.5"))
    await _rebuilt_equal(service)


async def test_a_new_booking_on_a_demand_line_whose_row_went_missing_is_booked_and_writes_the_line(
    service: RunningService,
) -> None:
    """`check_demand` read the line from the view only: a line that exists answered 404 (DemandNotFound)."""
    project = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, project)
        async with service.runtime.db.transaction() as session:
            await session.execute(delete(demands).where(demands.c.demand_id == line))
        booked = await book(client, ada["id"], project, "0.5", demand_id=line)
        assert booked.status_code == 201, booked.text
        unknown = await book(client, ada["id"], project, "0.1", demand_id=f"{line}-never-raised")
        assert unknown.status_code == 404, unknown.text
    row = await _line_row(service, line)
    assert row is not None, "the line stayed missing"
    assert (row["status"], Decimal(row["filled_fte"])) == ("partially_filled", Decimal("0.5"))
    await _rebuilt_equal(service)


async def test_a_new_booking_on_another_projects_line_whose_row_went_missing_is_not_found_without_a_log_search(
    service: RunningService,
) -> None:
    """With another project's line's view row missing (only an operator's delete does that; a rebuild writes it
    back), a booking naming it is the 404 an unknown id gets: the line is looked for in the demands view and in the
    booking's own project's stream, never by searching every project's events (review s13 F2: an unindexed search
    of the log per unknown id, and a one-character id folding every project's demand stream, ~1 s at 200,000
    events). Nothing is written."""
    project = await active_project(service, ESTIMATE)
    other = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, other)
        async with service.runtime.db.transaction() as session:
            await session.execute(delete(demands).where(demands.c.demand_id == line))
        missing_row = await book(client, ada["id"], project, "0.5", demand_id=line)
        any_id = await book(client, ada["id"], project, "0.5", demand_id="a")
    assert missing_row.status_code == 404, missing_row.text
    assert any_id.status_code == 404, any_id.text
    assert await _line_row(service, line) is None, "a refused booking writes nothing"
