"""A resource's view row missing (an operator's delete, a partial restore) or behind its stream, then the next
event applied live: by a command (on SQLite every write, on PostgreSQL one whose rows `resource_upserts` cannot
say, a booking against a demand line) or by the consumer (a project's cancellation releasing its bookings).

Session 9's review 2 (F2): `project_resource` folded that event onto the row it found, or onto an empty state
when it found none, and wrote the partial state at the stream's version (the resource's name, its other
bookings gone) until a rebuild. Now a row that is not at the version the event follows is folded from the
stream's whole history, so the rows are what a rebuild makes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import ProjectCancelled
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_resourcing.adapters.db.tables import resources
from pmo_resourcing.bootstrap import RESOURCING

from .support import MANAGER, active_project, book, deliver, portfolio_event, register
from .test_api_allocations import view_rows

pytestmark = pytest.mark.integration

ESTIMATE = ("developer", "1", date(2027, 1, 4), date(2027, 1, 15))


async def _rebuilt_equal(service: RunningService) -> None:
    runtime = service.runtime
    written = await view_rows(runtime.db)
    await rebuild_inline_views(
        runtime.db, runtime.store, tables=RESOURCING.view_tables, projectors=RESOURCING.projectors
    )
    assert await view_rows(runtime.db) == written


async def _row(service: RunningService, resource_id: str) -> dict[str, Any]:
    async with service.runtime.db.sessions() as session:
        found = (await session.execute(select(resources).where(resources.c.resource_id == resource_id))).mappings()
        return dict(found.one())


async def _delete_row(service: RunningService, resource_id: str) -> None:
    async with service.runtime.db.transaction() as session:
        await session.execute(delete(resources).where(resources.c.resource_id == resource_id))


async def _demand_line(client: Any, project: str) -> str:
    return str((await client.get("/demands", params={"project_id": project})).json()["items"][0]["id"])


async def test_a_booking_after_the_row_went_missing_writes_the_whole_resource(service: RunningService) -> None:
    project = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, project)
        first = await book(client, ada["id"], project, "0.2", demand_id=line)
        assert first.status_code == 201, first.text
        await _delete_row(service, ada["id"])
        second = await book(client, ada["id"], project, "0.3", demand_id=line, start="2027-01-11")
        assert second.status_code == 201, second.text
        seen = (await client.get(f"/resources/{ada['id']}")).json()
    assert seen["name"] == "Ada Lovelace"
    row = await _row(service, ada["id"])
    assert (row["name"], row["version"]) == ("Ada Lovelace", 3)
    assert first.json()["id"] in row["state"] and second.json()["id"] in row["state"]
    await _rebuilt_equal(service)


async def test_a_booking_after_the_row_was_restored_behind_its_stream_keeps_the_bookings_since(
    service: RunningService,
) -> None:
    project = await active_project(service, ESTIMATE)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        line = await _demand_line(client, project)
        old = await _row(service, ada["id"])  # version 1: the restore point
        first = await book(client, ada["id"], project, "0.2", demand_id=line)
        assert first.status_code == 201, first.text
        async with service.runtime.db.transaction() as session:
            where = resources.c.resource_id == ada["id"]
            await session.execute(
                resources.update().where(where).values({k: v for k, v in old.items() if k != "resource_id"})
            )
        second = await book(client, ada["id"], project, "0.3", demand_id=line, start="2027-01-11")
        assert second.status_code == 201, second.text
    row = await _row(service, ada["id"])
    assert row["version"] == 3
    assert first.json()["id"] in row["state"] and second.json()["id"] in row["state"]
    await _rebuilt_equal(service)


async def test_the_consumer_releasing_a_booking_after_the_row_went_missing_writes_the_whole_resource(
    service: RunningService,
) -> None:
    project = await active_project(service, ESTIMATE)
    other = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        kept = await book(client, ada["id"], other, "0.4")
        assert kept.status_code == 201, kept.text
        ended = await book(client, ada["id"], project, "0.5", demand_id=await _demand_line(client, project))
        assert ended.status_code == 201, ended.text
    await _delete_row(service, ada["id"])
    cancelled = ProjectCancelled(project_id=project, reason="strategy changed", cancelled_by="board")
    await deliver(service, portfolio_event(project, 2, ProjectCancelled.type_name(), cancelled.model_dump(mode="json")))
    row = await _row(service, ada["id"])
    assert (row["name"], row["version"]) == ("Ada Lovelace", 4)
    assert kept.json()["id"] in row["state"]
    await _rebuilt_equal(service)


async def test_a_profile_change_is_merged_into_the_resource_its_stream_holds_not_its_row(
    service: RunningService,
) -> None:
    """PATCH /resources/{id} merged the change into the profile its view row held: with the row gone it answered
    404 for a resource that exists, with the row restored behind it put back what the stream changed since."""
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada")
        path = f"/resources/{ada['id']}"
        old = await _row(service, ada["id"])
        renamed = await client.patch(path, json={"name": "Ada Lovelace"}, headers={"If-Match": '"1"'})
        assert renamed.status_code == 200, renamed.text
        async with service.runtime.db.transaction() as session:  # restored from the backup taken before the rename
            where = resources.c.resource_id == ada["id"]
            await session.execute(
                resources.update().where(where).values({k: v for k, v in old.items() if k != "resource_id"})
            )
        moved = await client.patch(path, json={"pool": "data"}, headers={"If-Match": '"2"'})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["name"], moved.json()["pool"]) == ("Ada Lovelace", "data")
        await _delete_row(service, ada["id"])
        again = await client.patch(path, json={"role": "architect"}, headers={"If-Match": '"3"'})
        assert again.status_code == 200, again.text
        assert (again.json()["name"], again.json()["role"]) == ("Ada Lovelace", "architect")
    row = await _row(service, ada["id"])
    assert (row["name"], row["pool"], row["role"], row["version"]) == ("Ada Lovelace", "data", "architect", 4)
    await _rebuilt_equal(service)
