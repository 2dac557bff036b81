"""A booking on project P while the consumer applies a poll that ends project Q, then P (review 1 of session 10, F1).

A booking holds P's project-state row (FOR SHARE, its premise) and then appends to the person's calendar. The
consumer's poll released Q's booking on the same person (an append to that calendar, not committed yet) before it
changed P's row: each waited for the other and PostgreSQL's deadlock detector aborted one. The booking answered 500,
or, on a poll applied event by event, P's cancellation was dead-lettered and P stayed active for resourcing.

Now the poll locks the rows of every project it ends or pauses first (the booking's order: project rows, then
calendars), and a transaction PostgreSQL aborts for another's sake (deadlock, serialization failure) is a lost race:
a command is decided again, a poll is applied again, never dead-lettered."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import ProjectCancelled
from pmo_events.runtime import Premise
from pmo_events.runtime.subscription import is_transient
from pmo_resourcing.application import allocations
from pmo_resourcing.application import consumer as consumer_module

from .support import MANAGER, MON, active_project, book, portfolio_event, register

pytestmark = pytest.mark.integration


def _cancelled(project_id: str) -> Any:
    cancelled = ProjectCancelled(project_id=project_id, reason="strategy changed", cancelled_by="board")
    return portfolio_event(project_id, 2, ProjectCancelled.type_name(), cancelled.model_dump(mode="json"))


async def _live_bookings(client: Any, person: dict[str, Any]) -> list[dict[str, Any]]:
    listed = await client.get("/allocations", params={"resource_id": person["id"]})
    assert listed.status_code == 200, listed.text
    return [a for a in listed.json()["items"] if a["status"] != "released"]


async def test_a_booking_while_a_poll_ends_two_projects_is_no_5xx_and_outlives_neither(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll has cancelled Q (its booking on the person released, not committed) and is about to change P's row
    when a booking of the same person on P comes: no deadlock, no 500; the booking is refused (409) or released."""
    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL row locks (SQLite writes one transaction at a time)")
    q = await active_project(service)
    p = await active_project(service)
    remember = consumer_module._remember
    at_p = asyncio.Event()
    go_on = asyncio.Event()

    async def remember_waiting(session: Any, project_id: str, status: str, *args: Any, **kw: Any) -> None:
        if project_id == p and status == "cancelled":
            at_p.set()  # Q is cancelled and its booking on the person released: written, not committed
            await go_on.wait()
        await remember(session, project_id, status, *args, **kw)

    async with service.client(*MANAGER) as client:
        person = await register(client)
        on_q = await book(client, person["id"], q, "0.3")
        assert on_q.status_code == 201, on_q.text
        monkeypatch.setattr(consumer_module, "_remember", remember_waiting)
        sub = service.runtime.subscription
        assert sub is not None
        handle = sub.batch_handler
        assert handle is not None

        async def poll() -> None:
            async with service.runtime.db.transaction() as session:
                await handle(session, [_cancelled(q), _cancelled(p)])

        consumer = asyncio.create_task(poll())
        await asyncio.wait_for(at_p.wait(), 10)
        booking = asyncio.create_task(book(client, person["id"], p, "0.5"))
        await asyncio.sleep(0.5)  # the booking waits (for P's row, or for the person's calendar)
        go_on.set()  # the poll now changes P's row
        answer = await asyncio.wait_for(booking, 30)
        outcome = (await asyncio.gather(consumer, return_exceptions=True))[0]
        assert answer.status_code in (201, 409), answer.text
        assert not isinstance(outcome, BaseException), outcome
        assert await _live_bookings(client, person) == []


async def test_a_poll_applied_event_by_event_retries_a_cancellation_that_lost_a_deadlock(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll applied event by event (after a split), each event in its own savepoint: Q's cancellation released the
    person's Q booking, then P's cancellation waits for P's row, held (FOR SHARE) by a booking on P naming a demand
    line that is about to append to the person's calendar. The consumer waited first, so PostgreSQL aborts it: that
    is a transient failure (the poll is applied again), never an error that would dead-letter P's cancellation.
    Applied again, both cancellations hold and the booking made meanwhile is released."""
    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL row locks (SQLite writes one transaction at a time)")
    q = await active_project(service)
    p = await active_project(service, ("developer", "1.0", MON, date(2027, 3, 26)))
    still_active = allocations.project_still_active
    locked = asyncio.Event()

    def slow_premise(project_id: str) -> Premise:
        premise = still_active(project_id)

        async def holds(session: Any) -> bool:
            held = await premise.holds(session)
            locked.set()
            await asyncio.sleep(0.6)  # between the premise (row held) and the calendar's append
            return held

        return Premise(premise.exists, premise.params, holds)

    async with service.client(*MANAGER) as client:
        person = await register(client)
        on_q = await book(client, person["id"], q, "0.3")
        assert on_q.status_code == 201, on_q.text
        line = (await client.get("/demands", params={"project_id": p})).json()["items"][0]
        sub = service.runtime.subscription
        assert sub is not None
        monkeypatch.setattr(allocations, "project_still_active", slow_premise)
        errors: list[str | None] = []
        failure: BaseException | None = None
        try:
            async with service.runtime.db.transaction() as session:
                errors.append(await sub._apply_one(session, _cancelled(q)))
                booking = asyncio.create_task(book(client, person["id"], p, "0.5", demand_id=line["id"]))
                await asyncio.wait_for(locked.wait(), 10)
                errors.append(await sub._apply_one(session, _cancelled(p)))
        except Exception as exc:  # the subscription's loop retries the poll on this, from the stored offsets
            failure = exc
        answer = await asyncio.wait_for(booking, 30)
        assert answer.status_code in (201, 409), answer.text
        assert all(e is None for e in errors), f"an event would be dead-lettered: {errors}"
        if failure is not None:
            assert is_transient(failure), failure
            monkeypatch.setattr(allocations, "project_still_active", still_active)
            async with service.runtime.db.transaction() as session:  # the poll applied again
                assert [await sub._apply_one(session, _cancelled(e)) for e in (q, p)] == [None, None]
        assert await _live_bookings(client, person) == []
        for project in (q, p):
            refused = await book(client, person["id"], project, "0.1")
            assert refused.status_code == 409, refused.text
