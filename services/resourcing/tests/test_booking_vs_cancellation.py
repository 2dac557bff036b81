"""A booking and its project's cancellation at the same moment: the booking never outlives the project.

The booking decides on what resourcing knows of the project (`resourcing_project_states`, fed by the
portfolio's events); the consumer applying `ProjectCancelled` marks the row cancelled, then releases the
project's bookings it finds. A booking that read "active" before the cancellation and commits after the
release would stay confirmed on a cancelled project (review 2 of session 9, F1). The booking writes only
while the project's row is still active, checked with the write and holding the row against the consumer's
change until it commits: so either the consumer sees (and releases) the booking, or the booking sees the
cancellation and answers 409 with nothing written."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import ProjectCancelled
from pmo_events.runtime import UnitOfWork
from pmo_events.runtime.schema import events

from .support import MANAGER, MON, active_project, book, deliver, portfolio_event, register

pytestmark = pytest.mark.integration


def _cancelled(project_id: str) -> Any:
    cancelled = ProjectCancelled(project_id=project_id, reason="strategy changed", cancelled_by="board")
    return portfolio_event(project_id, 2, ProjectCancelled.type_name(), cancelled.model_dump(mode="json"))


def _applied_before_the_write(service: RunningService, ended: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """From now on, the first unit of work that has decided on its project being active (it took the premise: it
    read "active", or decided on it without reading) has the consumer apply `ended` before it writes: on
    PostgreSQL the consumer commits first; on SQLite it waits for the unit of work (the process's writers take
    turns), given two seconds. The list gets the consumer's task."""
    flush = UnitOfWork.flush
    consumer: list[asyncio.Task[None]] = []

    async def applied_then_flush(uow: UnitOfWork, *, last: bool = False) -> None:
        if not consumer and uow._premise is not None:
            consumer.append(asyncio.create_task(deliver(service, ended)))
            await asyncio.wait(consumer, timeout=2.0)
        await flush(uow, last=last)

    monkeypatch.setattr(UnitOfWork, "flush", applied_then_flush)
    return consumer


async def _nothing_booked(service: RunningService, client: Any, person: dict[str, Any], *, events_too: bool) -> None:
    """No live booking in the views, the person's weeks free (`events_too`: and no booking event in the store)."""
    if events_too:
        async with service.runtime.db.transaction() as session:
            query = select(events.c.type).where(events.c.stream_id == person["id"])
            assert not [t for t in (await session.execute(query)).scalars() if "AllocationBooked" in t]
    weeks = {"from": "2027-01-04", "to": "2027-01-15"}
    schedule = await client.get(f"/resources/{person['id']}/schedule", params=weeks)
    assert [w["free"] for w in schedule.json()["items"]] == ["1.0000", "1.0000"], schedule.text
    listed = await client.get("/allocations", params={"resource_id": person["id"]})
    assert [a for a in listed.json()["items"] if a["status"] != "released"] == [], listed.text


@pytest.mark.parametrize("on_demand_line", [False, True], ids=["booking", "demand-line"])
async def test_a_cancellation_applied_after_the_booking_read_the_project_leaves_no_booking(
    service: RunningService, monkeypatch: pytest.MonkeyPatch, on_demand_line: bool
) -> None:
    """The booking decides on the project being active; before it writes, the consumer applies the cancellation.
    On PostgreSQL the consumer commits first (its release finds no booking of the project): the booking must then not be
    written (409, nothing booked). On SQLite the process's writers take turns (the consumer waits for the
    booking's unit of work): the booking is made, then released by the consumer. Either way none is left.
    A booking naming a demand line writes its views through the projectors, in a transaction: the same."""
    project = await active_project(service, ("developer", "1.0", MON, date(2027, 3, 26)))
    async with service.client(*MANAGER) as client:
        person = await register(client)
        line = (await client.get("/demands", params={"project_id": project})).json()["items"][0]
        named = {"demand_id": line["id"]} if on_demand_line else {}
        consumer = _applied_before_the_write(service, _cancelled(project), monkeypatch)
        answer = await book(client, person["id"], project, "0.5", **named)
        monkeypatch.undo()
        await consumer[0]
        if service.runtime.db.is_postgres:
            assert answer.status_code == 409, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["type"] == "urn:pmo:problem:rule-violation"
            assert "cancelled" in answer.json()["detail"]
        else:
            assert answer.status_code == 201, answer.text
        await _nothing_booked(service, client, person, events_too=service.runtime.db.is_postgres)


async def test_a_booking_waits_for_a_cancellation_in_progress_and_is_refused(
    service: RunningService,
) -> None:
    """PostgreSQL: the consumer's transaction has marked the project cancelled but not committed (its release
    still to come). The booking, which read "active", waits for it rather than writing beside it, then is
    refused; with a check that did not hold the row, it would commit before the consumer's release looked."""
    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL's row locks; SQLite has one writer at a time")
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        person = await register(client)
        url = service.runtime.db.engine.url.set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            consumer = connection.transaction()
            await consumer.start()
            await connection.execute(
                "UPDATE resourcing_project_states SET status = 'cancelled' WHERE project_id = $1", project
            )
            booking = asyncio.create_task(book(client, person["id"], project, "0.5"))
            done, _ = await asyncio.wait({booking}, timeout=1.0)
            assert not done, booking.result().text
            await consumer.commit()
            answer = await booking
        finally:
            await connection.close()
        assert answer.status_code == 409, answer.text
        assert answer.json()["type"] == "urn:pmo:problem:rule-violation"
        await _nothing_booked(service, client, person, events_too=True)


async def test_a_change_decided_on_an_active_project_is_refused_once_the_cancellation_is_applied(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A booking that ended before the cancellation's effective day is left as it is by the consumer (nothing
    of it to free); a change that read the project as active and would stretch it past that day is refused
    once the cancellation is applied before it writes (PostgreSQL: 409; SQLite: the change goes first, then
    the consumer cuts it short at the effective day)."""
    project = await active_project(service)
    cancelled = ProjectCancelled(project_id=project, effective_on=date(2027, 1, 18), reason="strategy changed")
    ended = portfolio_event(project, 2, ProjectCancelled.type_name(), cancelled.model_dump(mode="json"))

    async with service.client(*MANAGER) as client:
        person = await register(client)
        made = await book(client, person["id"], project, "0.5")
        assert made.status_code == 201, made.text
        path = f"/allocations/{made.json()['id']}"
        consumer = _applied_before_the_write(service, ended, monkeypatch)
        answer = await client.patch(path, json={"end": "2027-01-29"}, headers={"If-Match": '"1"'})
        monkeypatch.undo()
        await consumer[0]
        now = (await client.get(path)).json()
        if service.runtime.db.is_postgres:
            assert answer.status_code == 409, answer.text
            assert answer.json()["type"] == "urn:pmo:problem:rule-violation"
            assert (now["end"], now["revision"]) == ("2027-01-15", 1), now
        else:
            assert answer.status_code == 200, answer.text
            assert now["end"] == "2027-01-17", now
