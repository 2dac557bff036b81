"""The Resource aggregate: a person or generic role, its capacity, time off and booking calendar."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.resourcing import (
    AllocationBooked,
    AllocationChanged,
    AllocationConfirmed,
    AllocationReleased,
    ResourceKind,
    ResourceOverallocated,
    ResourceRegistered,
    ResourceRetired,
    ResourceUpdated,
    Skill,
    TimeOffRecorded,
    Weekday,
)
from pmo_events.figures.days import STANDARD_WEEK, Span

#: Hours of work a full-time equivalent stands for, when capacity is given in hours per week.
STANDARD_HOURS_PER_WEEK = Decimal(40)
ACTIVE_BOOKING = ("proposed", "confirmed")
PROFILE_FIELDS = ("name", "kind", "role", "skills", "pool", "fte", "hours_per_week", "cost_rate", "working_days")


class TimeOff(BaseModel):
    time_off_id: str
    start: date
    end: date
    reason: str


class Booking(BaseModel):
    """One allocation on this resource's calendar; `revision` counts its own changes (its ETag)."""

    allocation_id: str
    project_id: str
    demand_id: str | None = None
    start: date
    end: date
    fte: Decimal
    status: Literal["proposed", "confirmed", "released"]
    revision: int = 1
    overallocated: bool = False
    #: Set when the booking starts or ends on a non-working day, accepted with this reason.
    non_working_days_reason: str | None = None

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_BOOKING


class Resource(BaseModel):
    """Current state, folded from the resource's events; the stream id is the resource id."""

    resource_id: str
    status: Literal["new", "active", "retired"] = "new"
    name: str = ""
    kind: ResourceKind = "person"
    role: str = ""
    skills: tuple[Skill, ...] = ()
    pool: str | None = None
    fte: Decimal = Decimal(0)
    hours_per_week: Decimal | None = None
    cost_rate: Decimal | None = None
    working_days: tuple[Weekday, ...] = STANDARD_WEEK
    time_off: tuple[TimeOff, ...] = ()
    retired_on: date | None = None
    bookings: dict[str, Booking] = {}

    def active_bookings(self) -> list[Booking]:
        return [b for b in self.bookings.values() if b.active]

    def away(self) -> list[Span]:
        """Spans with no capacity: time off, and everything from the retirement date on."""
        spans = [Span(t.start, t.end) for t in self.time_off]
        if self.retired_on is not None:
            spans.append(Span(self.retired_on, date.max))
        return spans


def capacity_fte(fte: Decimal | None, hours_per_week: Decimal | None) -> Decimal:
    """Capacity in FTE: given directly, or hours per week over a standard 40-hour week; 1.0 by default."""
    if hours_per_week is not None:
        return hours_per_week / STANDARD_HOURS_PER_WEEK
    return fte if fte is not None else Decimal(1)


def evolve(state: Resource, event: Event) -> Resource:
    if isinstance(event, ResourceRegistered | ResourceUpdated):
        profile = {name: getattr(event, name) for name in PROFILE_FIELDS if name in type(event).model_fields}
        status = "active" if state.status == "new" else state.status
        return state.model_copy(update={**profile, "status": status})
    if isinstance(event, TimeOffRecorded):
        entry = TimeOff(time_off_id=event.time_off_id, start=event.start, end=event.end, reason=event.reason)
        return state.model_copy(update={"time_off": (*state.time_off, entry)})
    if isinstance(event, ResourceRetired):
        return state.model_copy(update={"status": "retired", "retired_on": event.retired_on})
    return _evolve_booking(state, event)


def evolve_owned(state: Resource, event: Event) -> Resource:
    """`evolve` for a fold that holds the only reference to `state` and its calendar (a rebuild's): a
    booking event changes the booking, and puts it into `state.bookings`, in place and returns `state`,
    instead of copying the booking, the resource and every booking it has (a copy per event made a resource's
    replay quadratic); any other event is `evolve`'s. The states it gives equal `evolve`'s, event for event."""
    kind = booking_kind(event)
    if kind is not None:
        booking = _booking_after(state, event, kind, owned=True)
        if booking is not None:
            state.bookings[booking.allocation_id] = booking
        return state
    return evolve(state, event)


def _evolve_booking(state: Resource, event: Event) -> Resource:
    kind = booking_kind(event)
    booking = None if kind is None else _booking_after(state, event, kind, owned=False)
    return state if booking is None else _with_booking(state, booking)


def _booking_after(state: Resource, event: Event, kind: type[Event], *, owned: bool) -> Booking | None:
    """The booking `event` (of the booking event class `kind`) makes or changes, as it is after the event;
    None when it touches none."""
    if kind is AllocationBooked:
        # Through the event's own serializer: `fte` as the text it is stored as, as a replay reads it.
        return Booking(**event.model_dump(include=_BOOKING_FIELDS))
    if kind is ResourceOverallocated:
        if event.allocation_id in state.bookings:  # type: ignore[attr-defined]
            return _changed(state.bookings[event.allocation_id], {"overallocated": True}, owned=owned)  # type: ignore[attr-defined]
        return None
    current = state.bookings.get(getattr(event, "allocation_id", "") or "")
    if current is None:
        return None
    if kind is AllocationConfirmed:
        return _revised(current, {"status": "confirmed"}, owned=owned)
    if kind is AllocationChanged:
        dates = {"start": event.start, "end": event.end, "fte": event.fte}  # type: ignore[attr-defined]
        reason = event.non_working_days_reason  # type: ignore[attr-defined]
        return _revised(current, {**dates, "non_working_days_reason": reason}, owned=owned)
    if kind is AllocationReleased:
        return _revised(current, {"status": "released"}, owned=owned)
    return None


def _revised(booking: Booking, changes: dict[str, object], *, owned: bool) -> Booking:
    return _changed(booking, {**changes, "revision": booking.revision + 1}, owned=owned)


def _changed(booking: Booking, changes: dict[str, object], *, owned: bool) -> Booking:
    """`booking` with `changes`: a copy, or (`owned`) the booking itself changed."""
    if not owned:
        return booking.model_copy(update=changes)
    # What `setattr` does on a model without assignment validation (the value, and the field marked set),
    # without pydantic's `__setattr__` in Python per field.
    booking.__dict__.update(changes)
    booking.__pydantic_fields_set__.update(changes)
    return booking


def _with_booking(state: Resource, booking: Booking) -> Resource:
    return state.model_copy(update={"bookings": {**state.bookings, booking.allocation_id: booking}})


_BOOKING_FIELDS = set(Booking.model_fields)
#: In the order `_booking_after` asked `isinstance` of each before.
_BOOKING_EVENTS = (AllocationBooked, ResourceOverallocated, AllocationConfirmed, AllocationChanged, AllocationReleased)
#: Each event class's booking event class (`isinstance`), or None: asked once per class. Contracts are pydantic
#: models, whose classes are ABCs: each failed `isinstance` runs `ABCMeta.__instancecheck__` in Python (about
#: seven per booking event in a replay, ~7% of resourcing's rebuild).
_BOOKING_KINDS: dict[type, type[Event] | None] = {}


def booking_kind(event: Event) -> type[Event] | None:
    """The booking event class `event` is an instance of (AllocationBooked, ...), None for other events."""
    cls = type(event)
    try:
        return _BOOKING_KINDS[cls]
    except KeyError:
        kind = _BOOKING_KINDS[cls] = next((k for k in _BOOKING_EVENTS if isinstance(event, k)), None)
        return kind


def initial(resource_id: str) -> Resource:
    return Resource(resource_id=resource_id)
