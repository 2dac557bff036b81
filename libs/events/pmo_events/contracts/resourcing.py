"""Events published by the resourcing service on topic `pmo.resourcing.events`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from pmo_events.contracts.base import ContractModel, Event, Money, contract
from pmo_events.figures.days import Weekday

SERVICE = "resourcing"
TOPIC = "pmo.resourcing.events"

ResourceKind = Literal["person", "generic"]
BookingStatus = Literal["proposed", "confirmed"]
OverallocationCause = Literal["booking", "confirmation", "change", "time_off", "capacity_change"]


class Skill(ContractModel):
    name: str
    level: int = Field(ge=1, le=5)


class WeekLoad(ContractModel):
    """One ISO week (`2026-W49`) of a resource: capacity after time off, booked load, the excess."""

    week: str
    capacity: Money
    load: Money
    excess: Money


class _ResourcingEvent(Event):
    service = SERVICE


@contract
class DemandRaised(_ResourcingEvent):
    """An initiated project needs `fte` of `role` from `start` to `end`."""

    event_name = "DemandRaised"
    related_fields = ("project_id",)
    demand_id: str
    project_id: str
    role: str
    fte: Money
    start: date
    end: date


@contract
class DemandCancelled(_ResourcingEvent):
    """A demand line is no longer wanted (its project was cancelled or closed)."""

    event_name = "DemandCancelled"
    related_fields = ("project_id",)
    demand_id: str
    project_id: str
    reason: str


@contract
class ResourceRegistered(_ResourcingEvent):
    """A person or generic role joined a pool; `fte` is its weekly capacity in full-time equivalents."""

    event_name = "ResourceRegistered"
    resource_id: str
    name: str
    kind: ResourceKind
    role: str
    skills: tuple[Skill, ...] = ()
    pool: str | None = None
    fte: Money
    hours_per_week: Money | None = None
    cost_rate: Money | None = None
    working_days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    registered_by: str


@contract
class ResourceUpdated(_ResourcingEvent):
    """The resource's profile as it is now (every field, not a diff)."""

    event_name = "ResourceUpdated"
    resource_id: str
    name: str
    role: str
    skills: tuple[Skill, ...] = ()
    pool: str | None = None
    fte: Money
    hours_per_week: Money | None = None
    cost_rate: Money | None = None
    working_days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    updated_by: str


@contract
class TimeOffRecorded(_ResourcingEvent):
    """The resource is away from `start` to `end` (inclusive): its capacity drops on those days."""

    event_name = "TimeOffRecorded"
    resource_id: str
    time_off_id: str
    start: date
    end: date
    reason: str
    recorded_by: str


@contract
class ResourceRetired(_ResourcingEvent):
    """The resource has no capacity from `retired_on`; it takes no new bookings."""

    event_name = "ResourceRetired"
    resource_id: str
    retired_on: date
    reason: str | None = None
    retired_by: str


@contract
class AllocationBooked(_ResourcingEvent):
    """`fte` of a resource booked on a project, soft (`proposed`) or hard (`confirmed`)."""

    event_name = "AllocationBooked"
    related_fields = ("resource_id", "project_id", "demand_id")
    allocation_id: str
    resource_id: str
    project_id: str
    demand_id: str | None = None
    role: str
    start: date
    end: date
    fte: Money
    status: BookingStatus
    booked_by: str
    #: Why the booking starts or ends on a day the resource does not work (the manager accepted it).
    non_working_days_reason: str | None = None


@contract
class AllocationConfirmed(_ResourcingEvent):
    """A proposed booking became a hard one."""

    event_name = "AllocationConfirmed"
    related_fields = ("resource_id", "project_id", "demand_id")
    allocation_id: str
    resource_id: str
    project_id: str
    demand_id: str | None = None
    confirmed_by: str


@contract
class AllocationChanged(_ResourcingEvent):
    """A booking's dates or FTE changed (the new values, all of them)."""

    event_name = "AllocationChanged"
    related_fields = ("resource_id", "project_id", "demand_id")
    allocation_id: str
    resource_id: str
    project_id: str
    demand_id: str | None = None
    start: date
    end: date
    fte: Money
    reason: str | None = None
    changed_by: str
    #: Why the new dates start or end on a day the resource does not work (the manager accepted it).
    non_working_days_reason: str | None = None


@contract
class AllocationReleased(_ResourcingEvent):
    """A booking no longer holds the resource's capacity."""

    event_name = "AllocationReleased"
    related_fields = ("resource_id", "project_id", "demand_id")
    allocation_id: str
    resource_id: str
    project_id: str
    demand_id: str | None = None
    reason: str | None = None
    released_by: str


@contract
class ResourceOverallocated(_ResourcingEvent):
    """Some weeks of a resource are booked above capacity, knowingly: who accepted it and why."""

    event_name = "ResourceOverallocated"
    related_fields = ("resource_id", "project_id")
    resource_id: str
    cause: OverallocationCause
    allocation_id: str | None = None
    project_id: str | None = None
    weeks: tuple[WeekLoad, ...]
    reason: str
    accepted_by: str
