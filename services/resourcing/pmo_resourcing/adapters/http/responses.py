"""Resourcing's HTTP answers: resources, allocations, demand, schedules and capacity (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.figures.capacity import GroupBy
from pmo_events.figures.fiscal import Level
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.shared import CapacityRow
from pmo_servicekit.contract.wire import Decimal2, Fte

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class SkillOut(BaseModel):
    name: str
    level: int = Field(ge=1, le=5)


class TimeOffOut(BaseModel):
    time_off_id: str
    start: date
    end: date
    reason: str


class BookingOut(BaseModel):
    """A booking on the resource's calendar (the same booking `GET /allocations/{id}` answers)."""

    id: str
    project_id: str
    demand_id: str | None = None
    start: date
    end: date
    fte: Fte
    status: Literal["proposed", "confirmed", "released"]
    revision: int
    overallocated: bool


class ResourceSummary(BaseModel):
    """A resource in a list; `free_fte` is there when the search named a window."""

    id: str
    status: Literal["active", "retired"]
    name: str
    kind: Literal["person", "generic"]
    role: str
    skills: list[SkillOut]
    pool: str | None = None
    fte: Fte
    hours_per_week: Decimal2 | None = Field(default=None, description="hours per week, when capacity was given so")
    cost_rate: Decimal2 | None = Field(default=None, description="cost per day")
    working_days: list[Weekday]
    retired_on: date | None = None
    free_fte: Fte | None = None


class ResourceView(ResourceSummary):
    """One resource with its time off and bookings; `version` is its ETag."""

    version: int
    time_off: list[TimeOffOut]
    bookings: list[BookingOut]


class WeekOut(BaseModel):
    week: str = Field(examples=["2027-W05"])
    start: date
    end: date
    capacity: Fte
    proposed: Fte
    confirmed: Fte
    free: Fte
    overallocated: bool


class OverallocatedWeek(BaseModel):
    """An ISO week booked above capacity: capacity (after time off), booked load and the excess, in FTE."""

    week: str = Field(examples=["2027-W05"])
    capacity: Fte
    load: Fte
    excess: Fte


class TimeOffAnswer(ResourceView):
    """The resource after recording time off, with the weeks that time off takes above capacity."""

    overallocated_weeks: list[OverallocatedWeek]


class ResourcePage(Page[ResourceSummary]):
    """Resources by name."""


class ResourceSchedule(Page[WeekOut]):
    """A resource's ISO weeks in a window: capacity (after time off), proposed, confirmed and free FTE."""

    model_config = ConfigDict(populate_by_name=True)

    resource_id: str
    from_: date = Field(alias="from")
    to: date


class Overallocation(BaseModel):
    """The fact a booking over capacity (accepted with a reason) recorded: which weeks, by how much, who and why."""

    resource_id: str
    cause: str
    allocation_id: str | None = None
    project_id: str | None = None
    weeks: list[OverallocatedWeek]
    reason: str
    accepted_by: str


class AllocationView(BaseModel):
    """A booking of a resource on a project; `revision` is its ETag."""

    id: str
    resource_id: str
    project_id: str
    demand_id: str | None = None
    role: str
    start: date
    end: date
    fte: Fte
    status: Literal["proposed", "confirmed", "released"]
    revision: int
    overallocated: bool
    non_working_days_reason: str | None = Field(
        default=None, description="set when the booking starts or ends on a non-working day, accepted with this reason"
    )
    overallocation: Overallocation | None = Field(default=None, description="on a command that over-allocated")


class AllocationPage(Page[AllocationView]):
    """Allocations by id."""


class DemandView(BaseModel):
    """A demand line an initiated project raised, and how much of it bookings cover."""

    id: str
    project_id: str
    role: str
    fte: Fte
    filled_fte: Fte = Field(description="FTE confirmed bookings cover")
    proposed_fte: Fte = Field(description="FTE proposed (soft) bookings cover")
    start: date
    end: date
    status: Literal["open", "partially_filled", "filled", "cancelled"]
    cancel_reason: str | None = None


class DemandPage(Page[DemandView]):
    """Demand lines by id."""


class CapacityReport(Page[CapacityRow]):
    """Capacity against demand per fiscal period and group, in average FTE (docs/figures.md)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    bucket: Level
