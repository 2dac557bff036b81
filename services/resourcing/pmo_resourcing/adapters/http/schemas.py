"""Resourcing's HTTP request bodies (snake_case JSON; FTE and money as decimal strings or numbers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from pmo_events.contracts.bounds import Amount, BoundedDate
from pmo_events.contracts.resourcing import ResourceKind, Weekday
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import DecimalText

Fte = Annotated[
    Decimal, DecimalText(8, 4, "FTE as a decimal string, above 0 and at most 10", "0.5"), Field(gt=0, le=10)
]
Hours = Annotated[
    Decimal, DecimalText(7, 2, "hours per week as a decimal string, at most 168", "37.5"), Field(gt=0, le=168)
]
Rate = Annotated[Amount, Field(ge=0)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Reason = Annotated[str, Field(min_length=1, max_length=1000)]
#: A booking or time off lasts at most this many days (dates themselves: `BoundedDate`, 1900 to 2199).
LONGEST_DAYS = 5 * 366


class Skill(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    level: int = Field(ge=1, le=5)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Dated(_Body):
    @field_validator("end", check_fields=False)
    @classmethod
    def _end_not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError("end is before start")
        if end is not None and start is not None and (end - start).days > LONGEST_DAYS:
            raise ValueError("a booking or time off may last at most five years")
        return end


class _MayOverallocate(_Body):
    allow_overallocation: bool = False
    reason: Reason | None = None


class _MayBookNonWorkingDays(_Body):
    allow_non_working_days: bool = Field(
        default=False,
        description="accept a booking that starts or ends on a day the resource does not work (needs reason)",
    )


def _skills_unique(skills: list[Skill]) -> list[Skill]:
    if len({s.name for s in skills}) != len(skills):
        raise ValueError("each skill may be listed once")
    return skills


class ResourceIn(_Body):
    model_config = example(
        {"name": "Ana", "kind": "person", "role": "developer", "pool": "Digital", "fte": "1.0", "cost_rate": "650.00",
         "skills": [{"name": "python", "level": 4}], "working_days": ["mon", "tue", "wed", "thu", "fri"]}
    )  # fmt: skip

    name: str = Field(min_length=1, max_length=200)
    kind: ResourceKind = "person"
    role: str = Field(min_length=1, max_length=100)
    skills: list[Skill] = Field(default_factory=list, max_length=50)
    pool: str | None = Field(default=None, min_length=1, max_length=100)
    fte: Fte | None = None
    hours_per_week: Hours | None = None
    cost_rate: Rate | None = None
    working_days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1, max_length=7)

    _unique_skills = field_validator("skills")(_skills_unique)

    @field_validator("hours_per_week")
    @classmethod
    def _fte_or_hours(cls, hours: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if hours is not None and info.data.get("fte") is not None:
            raise ValueError("give fte or hours_per_week, not both")
        return hours


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _kept() -> Any:
    """A PATCH field's default when it is left out: not in the document (a `default: null` would offer null)."""
    return Field(default=None, json_schema_extra=_no_default)


class ResourcePatch(_MayOverallocate):
    model_config = example({"fte": "0.8"}, {"fte": "0.5", "allow_overallocation": True, "reason": "back in March"})

    # name, role and working_days can be left out (unchanged) but not cleared: a resource always has them, so
    # null is a 422 naming the field (it was a 500), and the document does not offer it.
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = _kept()
    role: Annotated[str, Field(min_length=1, max_length=100)] | SkipJsonSchema[None] = _kept()
    skills: list[Skill] | None = Field(default=None, max_length=50)
    pool: str | None = Field(default=None, min_length=1, max_length=100)
    fte: Fte | None = None
    hours_per_week: Hours | None = None
    cost_rate: Rate | None = None
    working_days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] | SkipJsonSchema[None] = _kept()

    _unique_skills = field_validator("skills")(lambda v: _skills_unique(v) if v is not None else v)

    @field_validator("name", "role", "working_days")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave it out to keep it; it cannot be null")
        return value


class TimeOffIn(_Dated):
    model_config = example({"start": "2027-08-02", "end": "2027-08-13", "reason": "annual leave"})

    start: BoundedDate
    end: BoundedDate
    reason: Reason


class RetireIn(_Body):
    model_config = example({"retired_on": "2027-12-31", "release_bookings": True, "reason": "leaves the company"})

    retired_on: BoundedDate | None = None
    release_bookings: bool = False
    reason: Reason | None = None


class AllocationIn(_Dated, _MayOverallocate, _MayBookNonWorkingDays):
    model_config = example(
        {"resource_id": "16b800b3-e828-4dc5-8236-be0b51f86d69", "project_id": "ee908788-f026-4337-a1b2-c3d4e5f6a7b8",
         "demand_id": "a709551d-9f8f-5d24-8c1d-2e3f4a5b6c7d", "start": "2027-01-04", "end": "2027-06-25",
         "fte": "0.8", "status": "confirmed"}
    )  # fmt: skip

    resource_id: Id
    project_id: Id
    demand_id: Id | None = None
    start: BoundedDate
    end: BoundedDate
    fte: Fte
    status: Literal["proposed", "confirmed"] = "proposed"


class AllocationPatch(_Dated, _MayOverallocate, _MayBookNonWorkingDays):
    model_config = example({"end": "2027-07-30", "fte": "0.6"})

    start: BoundedDate | None = None
    end: BoundedDate | None = None
    fte: Fte | None = None


class ConfirmIn(_MayOverallocate):
    model_config = example({}, {"allow_overallocation": True, "reason": "needed for the go-live"})


class ReleaseIn(_Body):
    model_config = example({"reason": "the project no longer needs her"})

    reason: Reason | None = None
