"""Allocation commands: each one is a command on the calendar of the resource it books."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.runtime import Changed, EventStore, Premise, StaleVersion, UnitOfWork, pgdirect
from pmo_resourcing.adapters.db.tables import allocations, demands, project_states
from pmo_resourcing.application.resources import actor, decide_in
from pmo_resourcing.domain import booking
from pmo_resourcing.domain import demand as demand_rules
from pmo_resourcing.domain.booking import BookAllocation
from pmo_resourcing.domain.errors import (
    AllocationNotFound,
    DemandNotFound,
    DomainError,
    InvalidCommand,
    RuleViolation,
)
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.resource import Booking, Resource
from pmo_resourcing.domain.working_days import ON_WORKING_DAYS, NonWorkingDays


async def book_allocation(uow: UnitOfWork, resource_id: str, command: BookAllocation) -> Changed[Resource]:
    project_id = command.project_id

    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        if command.demand_id is not None:
            await check_demand(uow.reads, command.demand_id, project_id, store=uow.store)
        if pgdirect.on_asyncpg(uow.reads) and project_id not in _DOUBTED:
            # On PostgreSQL the project's status is not read: the booking is decided on "active" and written
            # only if the project is still active when it writes (the premise the write checks anyway). Should
            # the rules refuse it, they are asked again on the status read, so the answer is the one it was.
            try:
                decided = booking.book(state, command, by=actor(uow), project_state="active")
            except DomainError:
                pass
            else:
                uow.assume(project_still_active(project_id))
                return decided
        project_state = await project_status(uow.reads, project_id)
        _doubt(project_id, project_state != "active")
        decided = booking.book(state, command, by=actor(uow), project_state=project_state)
        uow.assume(project_still_active(project_id))
        return decided

    return await decide_in(uow, resource_id, decide)


async def confirm_allocation(uow: UnitOfWork, allocation_id: str, *, acceptance: Acceptance) -> Changed[Resource]:
    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        project_id = _booking(state, allocation_id).project_id
        project_state = await project_status(uow.reads, project_id)
        decided = booking.confirm(
            state, allocation_id, by=actor(uow), project_state=project_state, acceptance=acceptance
        )
        if decided:
            uow.assume(project_still_active(project_id))
        return decided

    return await decide_in(uow, await resource_of(uow.reads, allocation_id), decide)


async def change_allocation(
    uow: UnitOfWork,
    allocation_id: str,
    *,
    start: date | None,
    end: date | None,
    fte: Decimal | None,
    acceptance: Acceptance,
    expected_revision: int,
    non_working_days: NonWorkingDays = ON_WORKING_DAYS,
) -> Changed[Resource]:
    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        current = _booking(state, allocation_id)
        if current.revision != expected_revision:
            raise StaleVersion(f"allocation {allocation_id}", current.revision)
        project_state = await project_status(uow.reads, current.project_id)
        decided = booking.change(
            state,
            allocation_id,
            start=start,
            end=end,
            fte=fte,
            by=actor(uow),
            project_state=project_state,
            acceptance=acceptance,
            non_working_days=non_working_days,
        )
        if decided:
            uow.assume(project_still_active(current.project_id))
        return decided

    return await decide_in(uow, await resource_of(uow.reads, allocation_id), decide)


async def release_allocation(uow: UnitOfWork, allocation_id: str, *, reason: str | None) -> Changed[Resource]:
    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        return booking.release(state, allocation_id, by=actor(uow), reason=reason)

    return await decide_in(uow, await resource_of(uow.reads, allocation_id), decide)


async def release_project_bookings(uow: UnitOfWork, project_id: str, *, day: date, reason: str) -> int:
    """From `day` on, free every booking of an ended project, one resource calendar after another."""
    rows = await uow.session.execute(
        select(allocations.c.resource_id)
        .where(allocations.c.project_id == project_id, allocations.c.status.in_(("proposed", "confirmed")))
        .distinct()
    )

    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        return booking.release_from(
            state, day, by=actor(uow), reason=reason, which=lambda b: b.project_id == project_id
        )

    released = 0
    for resource_id in sorted(r.resource_id for r in rows):
        released += len((await decide_in(uow, resource_id, decide)).new_events)
    return released


Reads = AsyncSession | pgdirect.Direct
_RESOURCE_OF = f"SELECT resource_id FROM {allocations.name} WHERE allocation_id = $1"
_PROJECT_STATUS = f"SELECT status FROM {project_states.name} WHERE project_id = $1"
_DEMAND = f"SELECT project_id, status FROM {demands.name} WHERE demand_id = $1"


async def resource_of(reads: Reads, allocation_id: str) -> str:
    """The resource whose calendar holds the allocation (`reads`: a unit of work's `reads`; on PostgreSQL a
    statement with no transaction of its own, as the other reads of a command here)."""
    if pgdirect.on_asyncpg(reads):
        rows = await pgdirect.fetch(reads, _RESOURCE_OF, allocation_id, begin=False)
        found = str(rows[0][0]) if rows else None
    else:
        assert isinstance(reads, AsyncSession)
        query = select(allocations.c.resource_id).where(allocations.c.allocation_id == allocation_id)
        row = (await reads.execute(query)).first()
        found = str(row.resource_id) if row is not None else None
    if found is None:
        raise AllocationNotFound(allocation_id)
    return found


async def project_status(reads: Reads, project_id: str) -> str | None:
    """What resourcing knows of the project: active, paused, cancelled or closed; None when never initiated."""
    if pgdirect.on_asyncpg(reads):
        rows = await pgdirect.fetch(reads, _PROJECT_STATUS, project_id, begin=False)
        return str(rows[0][0]) if rows else None
    assert isinstance(reads, AsyncSession)
    query = select(project_states.c.status).where(project_states.c.project_id == project_id)
    row = (await reads.execute(query)).first()
    return str(row.status) if row is not None else None


async def check_demand(reads: Reads, demand_id: str, project_id: str, *, store: EventStore | None = None) -> None:
    """The line is the booking's project's, and not cancelled: read from the demands view or, its row missing (an
    operator's delete, a partial restore), from the project's demand stream in `store` (the booking's projection
    then writes the line's row). A missing row answered 404 for a line that exists."""
    if pgdirect.on_asyncpg(reads):
        rows = await pgdirect.fetch(reads, _DEMAND, demand_id, begin=False)
        row = {"project_id": rows[0][0], "status": rows[0][1]} if rows else None
    else:
        assert isinstance(reads, AsyncSession)
        query = select(demands.c.project_id, demands.c.status).where(demands.c.demand_id == demand_id)
        found = (await reads.execute(query)).mappings().first()
        row = dict(found) if found is not None else None
    if row is None and store is not None:
        row = await _line_in_store(store, reads, demand_id, project_id)
    if row is None:
        raise DemandNotFound(demand_id)
    if row["project_id"] != project_id:
        message = f"demand {demand_id} belongs to project {row['project_id']}, not {project_id}"
        raise InvalidCommand("demand_id", message)
    if row["status"] == "cancelled":
        raise RuleViolation(f"demand {demand_id} was cancelled")


async def _line_in_store(store: EventStore, reads: Reads, demand_id: str, project_id: str) -> dict[str, str] | None:
    """A line of the project's demand stream as `check_demand` reads it (None: the project never raised it)."""
    state = demand_rules.initial(project_id)
    for recorded in await store.load(reads, project_id):
        state = demand_rules.evolve(state, recorded.decode())
    if demand_id not in state.demand_ids:
        return None
    return {"project_id": project_id, "status": "cancelled" if demand_id in state.cancelled_ids else "open"}


#: Rows that break the premise `project_still_active`: none when the project's row is active, which the
#: statement then holds (FOR SHARE) until it commits.
_NOT_ACTIVE = (
    f"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {project_states.name} "
    "WHERE project_id = {0}::VARCHAR AND status = 'active' FOR SHARE)"
)


def project_still_active(project_id: str) -> Premise:
    """A booking is made, confirmed or changed only while its project is still active, checked with the write: on
    PostgreSQL the project's row is locked (FOR SHARE) in the statement (or transaction) that writes the booking. The
    consumer applying the project's end (`consumer.end_project`, `pause_project`) changes that row before it
    looks for the project's bookings to release, so one of the two waits for the other: either the consumer's
    change commits first and the booking finds the project no longer active (`PremiseFailed`: nothing written,
    decided again, refused with 409), or the booking commits first and the consumer's search finds it and
    releases it. On SQLite one transaction writes at a time and a transaction that read before another's
    commit cannot write (`ConcurrencyConflict` as well)."""

    async def holds(session: AsyncSession) -> bool:
        query = select(project_states.c.status).where(project_states.c.project_id == project_id)
        row = (await session.execute(query.with_for_update(read=True))).first()
        return row is not None and row.status == "active"

    return Premise(_NOT_ACTIVE, (project_id,), holds, lambda: _doubt(project_id, True))


#: Projects this process found not active lately (read so, or a booking's premise failed on them): a booking on
#: one reads the project's status before it decides (decided on "active", it would only be decided twice).
_DOUBTED: OrderedDict[str, None] = OrderedDict()
DOUBTED_REMEMBERED = 1024


def _doubt(project_id: str, doubted: bool) -> None:
    if not doubted:
        _DOUBTED.pop(project_id, None)
        return
    _DOUBTED[project_id] = None
    _DOUBTED.move_to_end(project_id)
    while len(_DOUBTED) > DOUBTED_REMEMBERED:
        _DOUBTED.popitem(last=False)


def _booking(state: Resource, allocation_id: str) -> Booking:
    found = state.bookings.get(allocation_id)
    if found is None:
        raise AllocationNotFound(allocation_id)
    return found
