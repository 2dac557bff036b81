"""Commands on a resource's profile: register, update capacity and skills, time off, retire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.resourcing import (
    ResourceKind,
    ResourceRegistered,
    ResourceRetired,
    ResourceUpdated,
    Skill,
    TimeOffRecorded,
    Weekday,
)
from pmo_events.figures.days import STANDARD_WEEK, WEEKDAYS, Span
from pmo_resourcing.domain.booking import release_from
from pmo_resourcing.domain.capacity import booked_span, worsened_weeks
from pmo_resourcing.domain.errors import InvalidCommand, RuleViolation
from pmo_resourcing.domain.overallocation import REFUSE, Acceptance, settle
from pmo_resourcing.domain.resource import Resource, capacity_fte, evolve


@dataclass(frozen=True)
class ResourceProfile:
    """What a resource manager describes; `fte` or `hours_per_week` (hours win when both are given)."""

    name: str
    role: str
    kind: ResourceKind = "person"
    skills: tuple[Skill, ...] = ()
    pool: str | None = None
    fte: Decimal | None = None
    hours_per_week: Decimal | None = None
    cost_rate: Decimal | None = None
    working_days: tuple[Weekday, ...] = STANDARD_WEEK


def register(resource: Resource, profile: ResourceProfile, *, by: str) -> list[Event]:
    if resource.status != "new":
        raise RuleViolation(f"resource {resource.resource_id} already exists")
    return [ResourceRegistered(resource_id=resource.resource_id, registered_by=by, **_checked(profile))]


def update(resource: Resource, profile: ResourceProfile, *, by: str, acceptance: Acceptance = REFUSE) -> list[Event]:
    """A new profile; a capacity cut that overloads booked weeks is refused unless accepted."""
    _check_active(resource)
    fields = _checked(profile)
    fields.pop("kind")
    updated = ResourceUpdated(resource_id=resource.resource_id, updated_by=by, **fields)
    span = booked_span(resource)
    weeks = worsened_weeks(resource, evolve(resource, updated), span) if span else []
    return [updated, *settle(resource.resource_id, weeks, cause="capacity_change", acceptance=acceptance, by=by)]


def record_time_off(
    resource: Resource, *, time_off_id: str, start: date, end: date, reason: str, by: str
) -> list[Event]:
    """Time off is a fact, never refused; weeks it overloads are recorded as over-allocated."""
    _check_active(resource)
    if end < start:
        raise InvalidCommand("end", "end is before start")
    recorded = TimeOffRecorded(
        resource_id=resource.resource_id, time_off_id=time_off_id, start=start, end=end, reason=reason, recorded_by=by
    )
    weeks = worsened_weeks(resource, evolve(resource, recorded), Span(start, end))
    flagged = Acceptance(allow=True, reason=f"time off: {reason}")
    return [recorded, *settle(resource.resource_id, weeks, cause="time_off", acceptance=flagged, by=by)]


def retire(resource: Resource, *, retired_on: date, release_bookings: bool, reason: str | None, by: str) -> list[Event]:
    """Only with no confirmed booking from `retired_on` on, unless those bookings are released with it."""
    _check_active(resource)
    held = sorted(
        b.allocation_id for b in resource.active_bookings() if b.status == "confirmed" and b.end >= retired_on
    )
    if held and not release_bookings:
        raise RuleViolation(
            f"resource {resource.resource_id} has confirmed bookings from {retired_on.isoformat()} on: "
            f"{', '.join(held)}; release them first or retire with release_bookings"
        )
    freed = release_from(resource, retired_on, by=by, reason=f"resource retired: {reason or 'no reason given'}")
    retired = ResourceRetired(resource_id=resource.resource_id, retired_on=retired_on, reason=reason, retired_by=by)
    return [*freed, retired]


def _check_active(resource: Resource) -> None:
    if resource.status != "active":
        raise RuleViolation(f"resource {resource.resource_id} is {resource.status}")


def _checked(profile: ResourceProfile) -> dict[str, Any]:
    fte = capacity_fte(profile.fte, profile.hours_per_week)
    if fte <= 0:
        raise InvalidCommand("hours_per_week" if profile.hours_per_week is not None else "fte", "capacity must be > 0")
    if not profile.working_days:
        raise InvalidCommand("working_days", "a resource needs at least one working day")
    if len({s.name for s in profile.skills}) != len(profile.skills):
        raise InvalidCommand("skills", "each skill may be listed once")
    fields = dict(profile.__dict__)
    fields["fte"] = fte
    fields["working_days"] = tuple(sorted(set(profile.working_days), key=WEEKDAYS.index))
    return fields
