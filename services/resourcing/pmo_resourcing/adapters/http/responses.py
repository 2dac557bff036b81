"""Resourcing's HTTP answers: resources, allocations, demand, schedules and capacity (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.figures.capacity import GroupBy
from pmo_events.figures.fiscal import Level
from pmo_servicekit.contract.paging import EXAMPLE_CURSOR, Page
from pmo_servicekit.contract.shared import CAPACITY_ROW_EXAMPLE, CapacityRow, OverallocatedWeek, Overallocation
from pmo_servicekit.contract.wire import Decimal2, Fte

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_BEN = "0c12496a-36be-404e-9fb6-578fbc9e4ad2"
_PORTAL = "cc51783f-4230-4106-8a34-784b5745827d"
_DEMAND = "0e148d65-3ec7-5312-8433-a04d946a5d78"
RESOURCE_EXAMPLE: dict[str, Any] = {
    "id": _BEN,
    "status": "active",
    "name": "Ben",
    "kind": "person",
    "role": "developer",
    "skills": [{"name": "java", "level": 4}],
    "pool": "Digital",
    "fte": "1.0000",
    "hours_per_week": "37.50",
    "cost_rate": "650.00",
    "working_days": ["mon", "tue", "wed", "thu", "fri"],
    "retired_on": None,
    "free_fte": "0.2000",
}
RESOURCE_VIEW_EXAMPLE: dict[str, Any] = {
    **RESOURCE_EXAMPLE,
    "version": 3,
    "time_off": [
        {
            "time_off_id": "f6ec651f-5431-424f-a02d-3e23aec7a1f8",
            "start": "2027-08-02",
            "end": "2027-08-13",
            "reason": "annual leave",
        }
    ],
    "bookings": [
        {
            "id": "62552ed0-3a1a-455f-ae10-2e5ad44e9cf6",
            "project_id": _PORTAL,
            "demand_id": _DEMAND,
            "start": "2027-01-04",
            "end": "2027-06-25",
            "fte": "0.8000",
            "status": "confirmed",
            "revision": 1,
            "overallocated": False,
        }
    ],
}
WEEK_EXAMPLE: dict[str, Any] = {
    "week": "2027-W05", "start": "2027-02-01", "end": "2027-02-07", "capacity": "1.0000", "proposed": "0.0000",
    "confirmed": "0.8000", "free": "0.2000", "overallocated": False,
}  # fmt: skip
ALLOCATION_EXAMPLE: dict[str, Any] = {
    "id": "62552ed0-3a1a-455f-ae10-2e5ad44e9cf6",
    "resource_id": _BEN,
    "project_id": _PORTAL,
    "demand_id": _DEMAND,
    "role": "developer",
    "start": "2027-01-04",
    "end": "2027-06-25",
    "fte": "0.8000",
    "status": "confirmed",
    "revision": 2,
    "overallocated": False,
    "non_working_days_reason": None,
    "overallocation": None,
}
DEMAND_EXAMPLE: dict[str, Any] = {
    "id": _DEMAND,
    "project_id": _PORTAL,
    "role": "developer",
    "fte": "0.8000",
    "filled_fte": "0.8000",
    "proposed_fte": "0.0000",
    "start": "2027-01-04",
    "end": "2027-06-25",
    "status": "filled",
    "cancel_reason": None,
}


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

    model_config = ConfigDict(json_schema_extra={"examples": [RESOURCE_EXAMPLE]})

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

    model_config = ConfigDict(json_schema_extra={"examples": [RESOURCE_VIEW_EXAMPLE]})

    version: int
    time_off: list[TimeOffOut]
    bookings: list[BookingOut]


class WeekOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [WEEK_EXAMPLE]})

    week: str = Field(examples=["2027-W05"])
    start: date
    end: date
    capacity: Fte
    proposed: Fte
    confirmed: Fte
    free: Fte
    overallocated: bool


class TimeOffAnswer(ResourceView):
    """The resource after recording time off, with the weeks that time off takes above capacity."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **RESOURCE_VIEW_EXAMPLE,
                    "overallocated_weeks": [
                        {"week": "2027-W32", "capacity": "0.6000", "load": "0.8000", "excess": "0.2000"}
                    ],
                }
            ]
        }
    )

    overallocated_weeks: list[OverallocatedWeek]


class ResourcePage(Page[ResourceSummary]):
    """Resources by name."""


class ResourceSchedule(Page[WeekOut]):
    """A resource's ISO weeks in a window: capacity (after time off), proposed, confirmed and free FTE."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [WEEK_EXAMPLE],
                    "next_cursor": EXAMPLE_CURSOR,
                    "resource_id": _BEN,
                    "from": "2027-02-01",
                    "to": "2027-03-31",
                }
            ]
        },
    )

    resource_id: str
    from_: date = Field(alias="from")
    to: date


class AllocationView(BaseModel):
    """A booking of a resource on a project; `revision` is its ETag."""

    model_config = ConfigDict(json_schema_extra={"examples": [ALLOCATION_EXAMPLE]})

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

    model_config = ConfigDict(json_schema_extra={"examples": [DEMAND_EXAMPLE]})

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

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [CAPACITY_ROW_EXAMPLE],
                    "next_cursor": EXAMPLE_CURSOR,
                    "from": "2027-01-01",
                    "to": "2027-03-31",
                    "group_by": "role",
                    "bucket": "period",
                }
            ]
        },
    )

    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    bucket: Level
