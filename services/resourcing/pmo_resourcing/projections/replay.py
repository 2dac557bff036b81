"""`rebuild`'s fold of the demands, resources, skills and allocations views in memory, each row written once.

It mirrors `project_demand` and `project_resource` event by event (the same rows, the same coverage refreshed
at the same events), keeping the rows in dicts instead of reading and writing them per event: a rebuild of
thousands of bookings was one read of the resource's state, one write of it, one of the allocation and one
coverage query per event. `tests/test_api_allocations.py` compares every view's rows after a rebuild with
the rows the commands wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.resourcing import DemandCancelled, DemandRaised, ResourceRegistered, ResourceUpdated
from pmo_events.envelope import RecordedEvent
from pmo_events.figures.days import Span
from pmo_events.runtime.projection import InlineViews
from pmo_events.runtime.store import UpsertRows
from pmo_events.runtime.views import insert_rows
from pmo_resourcing.adapters.db.tables import allocations, demands, resource_skills, resources
from pmo_resourcing.domain.capacity import fte
from pmo_resourcing.domain.resource import Booking, Resource, booking_kind, evolve_owned, initial
from pmo_resourcing.projections.demands import coverage, project_demand, raised_row, status_of
from pmo_resourcing.projections.resources import (
    STREAM_TYPE,
    booked_row,
    project_resource,
    resource_row,
    resource_upserts,
    skill_rows,
    state_json,
)

_RAISED, _CANCELLED = DemandRaised.type_name(), DemandCancelled.type_name()


class _Booked(NamedTuple):
    """What a booking's allocations row is made of, as of the last event that touched the booking: the row is
    made once, when written (`booked_row`), not after each of its events. The booking is the fold's own and
    changes only by an event naming it, which records it here again, so it is as of that event."""

    resource_id: str
    role: str
    booking: Booking
    event: RecordedEvent


class ResourcingReplay:
    """The four views as `project_demand` then `project_resource` would leave them after the same events."""

    def __init__(self) -> None:
        self.demands: dict[str, dict[str, Any]] = {}
        self.states: dict[str, Resource] = {}
        #: Each resource's last event: its row is written once, from the final state.
        self.last: dict[str, RecordedEvent] = {}
        self.skills: dict[str, list[dict[str, Any]]] = {}
        self.allocations: dict[str, _Booked] = {}
        #: The allocations that have named each demand (a booking may move; `_refresh` checks its row).
        self.by_demand: dict[str, set[str]] = {}

    def fold(self, events: Iterable[RecordedEvent]) -> None:
        for event in events:
            if event.type == _RAISED:
                self._raised(event)
            elif event.type == _CANCELLED:
                cancelled = event.decode()
                assert isinstance(cancelled, DemandCancelled)
                line = self.demands.get(cancelled.demand_id)
                if line is not None:
                    line.update(status="cancelled", cancel_reason=cancelled.reason)
            if event.stream_type == STREAM_TYPE:
                self._resource(event)

    def _raised(self, event: RecordedEvent) -> None:
        raised = event.decode()
        assert isinstance(raised, DemandRaised)
        if raised.demand_id in self.demands:  # as the view's primary key would refuse it
            raise ValueError(f"demand {raised.demand_id} raised twice")
        self.demands[raised.demand_id] = raised_row(raised, event)

    def _resource(self, event: RecordedEvent) -> None:
        rid = event.stream_id
        decoded = event.decode()
        # The states are this fold's own: each booking event changes its resource's calendar in place.
        state = self.states[rid] = evolve_owned(self.states.get(rid) or initial(rid), decoded)
        self.last[rid] = event
        # A booking event is none of these (asked of its class once, not of each event: `booking_kind`).
        if booking_kind(decoded) is None and isinstance(decoded, ResourceRegistered | ResourceUpdated):
            self.skills[state.resource_id] = skill_rows(state)
        allocation_id = getattr(decoded, "allocation_id", None)
        if allocation_id and allocation_id in state.bookings:
            booking = state.bookings[allocation_id]
            self.allocations[booking.allocation_id] = _Booked(state.resource_id, state.role, booking, event)
            if booking.demand_id:
                self.by_demand.setdefault(booking.demand_id, set()).add(booking.allocation_id)
                self._refresh(booking.demand_id)

    def _refresh(self, demand_id: str) -> None:
        """`refresh_coverage` on the rows in memory."""
        line = self.demands.get(demand_id)
        if line is None:
            return
        booked = [self.allocations[a].booking for a in self.by_demand.get(demand_id, ())]
        bookings = [b for b in booked if b.demand_id == demand_id and b.status in ("proposed", "confirmed")]
        span = Span(line["start"], line["end"])
        # The bookings' FTE as their rows hold it (`format(fte, "f")`, read back as a Decimal): the same number.
        filled = coverage(span, [(b.start, b.end, b.fte) for b in bookings if b.status == "confirmed"])
        proposed = coverage(span, [(b.start, b.end, b.fte) for b in bookings if b.status == "proposed"])
        line["filled_fte"] = format(fte(filled), "f")
        line["proposed_fte"] = format(fte(proposed), "f")
        if line["status"] != "cancelled":
            line["status"] = status_of(Decimal(line["fte"]), filled)

    async def write(self, session: AsyncSession) -> None:
        resource_rows = []
        for rid, event in self.last.items():
            state = self.states[rid]
            resource_rows.append(resource_row(state, event) | {"state": state_json(state)})
        await insert_rows(session, demands, list(self.demands.values()))
        await insert_rows(session, resources, resource_rows)
        await insert_rows(session, resource_skills, [row for rows in self.skills.values() for row in rows])
        await insert_rows(session, allocations, [booked_row(*booked) for booked in self.allocations.values()])


def resourcing_upserts(events: Sequence[RecordedEvent], states: dict[str, Any]) -> list[UpsertRows] | None:
    """`project_demand` then `project_resource` as upserts (`resource_upserts`); None when a demand is raised or
    cancelled (or a booking covers one, or skills change): then the projectors run."""
    if any(event.type in (_RAISED, _CANCELLED) for event in events):
        return None
    return resource_upserts(events, states)


#: Resourcing's inline views: each command runs the two projectors, or on PostgreSQL writes a booking's rows with
#: its events in one statement (`resourcing_upserts`); a rebuild folds them in memory.
RESOURCING_VIEWS = InlineViews((project_demand, project_resource), replay=ResourcingReplay, upserts=resourcing_upserts)
