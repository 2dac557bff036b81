"""Command handlers on a resource: load its calendar, let the domain decide, append in the unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from pmo_events.contracts.base import Event
from pmo_events.runtime import AggregateType, Changed, UnitOfWork, fold
from pmo_resourcing.domain import profile
from pmo_resourcing.domain import resource as rules
from pmo_resourcing.domain.booking import state_after
from pmo_resourcing.domain.errors import ResourceNotFound
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.profile import ResourceProfile
from pmo_resourcing.domain.resource import Resource

#: Loaded by folding in place (`evolve_owned`, as the rebuild does): no copy of the calendar per event. Kept
#: (`keep`): `evolve` is pure and no command changes a calendar it loaded, so the next command on a resource
#: reads only the events after the calendar this process last committed (one statement, usually one row),
#: not the snapshot and every event since.
RESOURCE = AggregateType("resource", rules.initial, rules.evolve, Resource, evolve_owned=rules.evolve_owned, keep=True)

Decide = Callable[[UnitOfWork, Resource], Awaitable[Sequence[Event]]]


async def decide_in(
    uow: UnitOfWork, resource_id: str, decide: Decide, *, expected_version: int | None = None
) -> Changed[Resource]:
    """Load → decide → append; a concurrent append raises `ConcurrencyConflict` (the caller may retry)."""
    loaded = await uow.load(RESOURCE, resource_id)
    if loaded.version == 0:
        raise ResourceNotFound(resource_id)
    loaded.expect(expected_version, f"resource {resource_id}")
    decided = await decide(uow, loaded.state)
    new_events = tuple(decided)
    # `fold(RESOURCE, loaded.state, new_events)`, from the calendar the capacity check folded when it did.
    after = state_after(loaded.state, new_events, decided)
    # Nothing after this reads the resource or its views: on PostgreSQL its events, their outbox records and the
    # views' rows (from `after`, `RESOURCING_VIEWS.upserts`) go in the unit of work's one last statement.
    await uow.append(RESOURCE, resource_id, loaded.version, new_events, after, write_at_end=True)
    return Changed(after, loaded.version + len(new_events), new_events)


async def register_resource(uow: UnitOfWork, resource_id: str, described: ResourceProfile) -> Changed[Resource]:
    state = rules.initial(resource_id)
    new_events = profile.register(state, described, by=actor(uow))
    await uow.append(RESOURCE, resource_id, 0, new_events)
    return Changed(fold(RESOURCE, state, new_events), len(new_events), tuple(new_events))


async def update_resource(
    uow: UnitOfWork,
    resource_id: str,
    describe: Callable[[Resource], ResourceProfile],
    *,
    acceptance: Acceptance,
    expected_version: int,
) -> Changed[Resource]:
    """`describe`: the profile after the change, from the resource's state as its stream has it (never its view
    row, which an operator's delete or an older backup may have taken away or put behind)."""

    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        return profile.update(state, describe(state), by=actor(uow), acceptance=acceptance)

    return await decide_in(uow, resource_id, decide, expected_version=expected_version)


async def record_time_off(
    uow: UnitOfWork, resource_id: str, *, time_off_id: str, start: date, end: date, reason: str
) -> Changed[Resource]:
    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        return profile.record_time_off(
            state, time_off_id=time_off_id, start=start, end=end, reason=reason, by=actor(uow)
        )

    return await decide_in(uow, resource_id, decide)


async def retire_resource(
    uow: UnitOfWork, resource_id: str, *, retired_on: date, release_bookings: bool, reason: str | None
) -> Changed[Resource]:
    async def decide(_uow: UnitOfWork, state: Resource) -> Sequence[Event]:
        return profile.retire(
            state, retired_on=retired_on, release_bookings=release_bookings, reason=reason, by=actor(uow)
        )

    return await decide_in(uow, resource_id, decide)


def actor(uow: UnitOfWork) -> str:
    return uow.meta.actor or "system"
