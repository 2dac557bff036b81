"""The resources, skills and allocations views, kept in step with each resource's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.resourcing import ResourceRegistered, ResourceUpdated
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime.store import EventStore, UpsertRows, view_rows_taken_are_a_lost_race
from pmo_resourcing.adapters.db.tables import allocations, resource_skills, resources
from pmo_resourcing.domain.resource import Booking, Resource, evolve, evolve_owned, initial
from pmo_resourcing.projections.demands import refresh_coverage

STREAM_TYPE = "resource"


async def project_resource(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type != STREAM_TYPE:
        return
    query = select(resources.c.state, resources.c.version).where(resources.c.resource_id == event.stream_id)
    row = (await session.execute(query)).first()
    decoded = event.decode()
    if row is not None and row.version == event.sequence - 1:
        state = evolve(Resource.model_validate(loads(row.state)), decoded)
    elif row is None and event.sequence == 1:
        state = evolve(initial(event.stream_id), decoded)
    else:
        # The row is missing (an operator's delete, a partial restore) or not at the version this event follows:
        # folding the event onto it (or onto an empty state) would write a partial state at the stream's version.
        state = await folded_through(session, event)
    await _write_resource(session, state, event, exists=row is not None)
    if isinstance(decoded, ResourceRegistered | ResourceUpdated):
        await _write_skills(session, state)
    allocation_id = event.data.get("allocation_id")
    if allocation_id and allocation_id in state.bookings:
        booking = state.bookings[allocation_id]
        await _write_allocation(session, state, booking, event)
        if booking.demand_id:
            # Its line's row missing, the line is folded from the booking's project's demand stream.
            await refresh_coverage(session, booking.demand_id, source=event.source, project_id=booking.project_id)


async def folded_through(session: AsyncSession, event: RecordedEvent) -> Resource:
    """The resource's state after `event`, folded from its stream in the store (its snapshot, if one is at or
    before `event`, and the events after it up to `event`): what its row holds when it is in step."""
    store = EventStore(source=event.source, topic=None)
    snapshot = await store.load_snapshot(session, event.stream_id)
    state, after = initial(event.stream_id), 0
    if snapshot is not None and snapshot.version <= event.sequence:
        state, after = snapshot.restore(Resource), snapshot.version
    for recorded in await store.load(session, event.stream_id, after_version=after):
        if recorded.sequence > event.sequence:
            break
        state = evolve_owned(state, recorded.decode())
    return state


#: The events after which `project_resource` rewrites the resource's skills (a delete and inserts).
_PROFILED = frozenset({ResourceRegistered.type_name(), ResourceUpdated.type_name()})


def resource_upserts(events: Sequence[RecordedEvent], states: dict[str, Any]) -> list[UpsertRows] | None:
    """The rows `project_resource` leaves after a command's `events`, from each resource's state after them
    (`states`), as upserts written with the events (`InlineViews.upserts`): the resource's row with its state,
    and the row of each allocation an event names. None (the projector then) when an event rewrites skills or
    a booking covers a demand line (its coverage is refreshed from the other bookings' rows)."""
    resource_rows: dict[str, dict[str, Any]] = {}
    allocation_rows: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.stream_type != STREAM_TYPE:
            continue
        if event.type in _PROFILED:
            return None
        state = states[event.stream_id]
        allocation_id = event.data.get("allocation_id")
        if allocation_id and allocation_id in state.bookings:
            booking = state.bookings[allocation_id]
            if booking.demand_id:
                return None
            allocation_rows[allocation_id] = allocation_row(state, booking, event)
        resource_rows[state.resource_id] = resource_row(state, event)
    for resource_id, row in resource_rows.items():
        row["state"] = state_json(states[resource_id])
    return [
        UpsertRows(resources, "resource_id", list(resource_rows.values())),
        UpsertRows(allocations, "allocation_id", list(allocation_rows.values())),
    ]


def state_json(state: Resource) -> str:
    """The resources view's `state` document: the state written by pydantic straight to JSON text, the same
    text as its JSON-typed dump written by `dumps` (tests/test_booking_bytes.py), without the dump's dict of
    every booking and the second pass over it (a booking's command writes its resource's whole calendar)."""
    return state.model_dump_json()


def resource_row(state: Resource, event: RecordedEvent) -> dict[str, Any]:
    """The resources view's row for `state` as of `event`, but its `state` document (the rebuild's fold
    writes that once, at the end)."""
    return {
        "resource_id": state.resource_id,
        "name": state.name,
        "kind": state.kind,
        "role": state.role,
        "pool": state.pool,
        "status": state.status,
        "version": event.sequence,
        "updated_at": event.time,
    }


def skill_rows(state: Resource) -> list[dict[str, Any]]:
    """The resource_skills view's rows of a resource."""
    return [{"resource_id": state.resource_id, "skill": s.name, "level": s.level} for s in state.skills]


def allocation_row(state: Resource, booking: Booking, event: RecordedEvent) -> dict[str, Any]:
    """The allocations view's row of a booking as of `event`."""
    return booked_row(state.resource_id, state.role, booking, event)


def booked_row(resource_id: str, role: str, booking: Booking, event: RecordedEvent) -> dict[str, Any]:
    """`allocation_row` from the resource's id and its role as of `event` (what a rebuild keeps per booking)."""
    return {
        "allocation_id": booking.allocation_id,
        "resource_id": resource_id,
        "project_id": booking.project_id,
        "demand_id": booking.demand_id,
        "role": role,
        "start": booking.start,
        "end": booking.end,
        "fte": format(booking.fte, "f"),
        "status": booking.status,
        "revision": booking.revision,
        "overallocated": booking.overallocated,
        "non_working_days_reason": booking.non_working_days_reason,
        "updated_at": event.time,
    }


async def _write_resource(session: AsyncSession, state: Resource, event: RecordedEvent, *, exists: bool) -> None:
    values = resource_row(state, event)
    del values["resource_id"]
    values["state"] = state_json(state)
    if exists:
        await session.execute(resources.update().where(resources.c.resource_id == state.resource_id).values(**values))
    else:
        # A row found missing may be inserted meanwhile by a rebuild: a lost race, decided (or applied) again.
        with view_rows_taken_are_a_lost_race():
            await session.execute(resources.insert().values(resource_id=state.resource_id, **values))


async def _write_skills(session: AsyncSession, state: Resource) -> None:
    await session.execute(delete(resource_skills).where(resource_skills.c.resource_id == state.resource_id))
    if state.skills:
        await session.execute(resource_skills.insert(), skill_rows(state))


async def _write_allocation(session: AsyncSession, state: Resource, booking: Booking, event: RecordedEvent) -> None:
    values = allocation_row(state, booking, event)
    del values["allocation_id"]
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        allocations.update().where(allocations.c.allocation_id == booking.allocation_id).values(**values)
    )
    if result.rowcount == 0:
        await session.execute(allocations.insert().values(allocation_id=booking.allocation_id, **values))
