"""HTTP: register, read, update, search and retire resources; record time off; a resource's schedule."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from pmo_events.contracts.bounds import BoundedDate
from pmo_events.contracts.resourcing import Skill
from pmo_events.runtime import Changed
from pmo_resourcing.adapters.http.responses import (
    ResourcePage,
    ResourceSchedule,
    ResourceSummary,
    ResourceView,
    TimeOffAnswer,
)
from pmo_resourcing.adapters.http.schemas import Fte, ResourceIn, ResourcePatch, RetireIn, TimeOffIn
from pmo_resourcing.adapters.http.schemas import Skill as SkillIn
from pmo_resourcing.adapters.http.windows import window_of
from pmo_resourcing.application import availability, queries
from pmo_resourcing.application import resources as commands
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.profile import ResourceProfile
from pmo_resourcing.domain.resource import Resource
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, slice_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import PathId, RequiredIfMatch, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(tags=["resources"], route_class=FlatRoute)
NOT_FOUND = {404: "no such resource"}
#: Resources and bookings are kept by resource managers (and admins).
MANAGES_RESOURCES = allow("resource_manager", "admin")
#: What a command's answer shows of the resource it changed, and the version that answer is at (its ETag).
#: (A model is written by `answer` straight to JSON.)
View = Callable[[Changed[Resource]], tuple[dict[str, Any] | BaseModel, int]]


async def viewed(outcome: Awaitable[Changed[Resource]], view: View) -> tuple[dict[str, Any] | BaseModel, int]:
    return view(await outcome)


@router.post(
    "/resources",
    status_code=201,
    summary="Register a person or generic role",
    response_model=ResourceView,
    responses=answers(status=201, etag=True, location=True),
    **MANAGES_RESOURCES,
)
async def register_resource(
    body: ResourceIn, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    """Register a person or a generic role with its capacity (`fte`, 1.0 by default, or `hours_per_week`)."""
    resource_id = str(uuid.uuid4())
    described = ResourceProfile(**{**body.model_dump(), "skills": _skills(body.skills)})
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(commands.register_resource(uow, resource_id, described), _view),
            status_code=201,
            location=f"/resources/{resource_id}",
        ),
    )


@router.get(
    "/resources/{resource_id}",
    summary="Read one resource with its bookings",
    response_model=ResourceView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_resource(
    resource_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    state, version = await queries.get_resource(service_runtime(request).db, resource_id)
    response.headers["ETag"] = etag(version)
    return availability.resource_view(state, version)


@router.patch(
    "/resources/{resource_id}",
    summary="Change a resource's profile",
    response_model=ResourceView,
    responses=answers(404, 409, 412, 428, etag=True, notes=NOT_FOUND),
    **MANAGES_RESOURCES,
)
async def update_resource(
    resource_id: PathId,
    body: ResourcePatch,
    principal: CurrentPrincipal,
    request: Request,
    if_match: RequiredIfMatch,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Change the profile; a capacity cut that overloads booked weeks is 409 unless accepted with a reason."""
    acceptance = Acceptance(body.allow_overallocation, body.reason)

    def describe(current: Resource) -> ResourceProfile:
        return _merged(current, body)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(
                commands.update_resource(uow, resource_id, describe, acceptance=acceptance, expected_version=if_match),
                _view,
            )
        ),
    )


@router.post(
    "/resources/{resource_id}/time-off",
    status_code=201,
    summary="Record a resource's time off",
    response_model=TimeOffAnswer,
    responses=answers(404, 409, status=201, etag=True, location=True, notes=NOT_FOUND),
    **MANAGES_RESOURCES,
)
async def record_time_off(
    resource_id: PathId,
    body: TimeOffIn,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Record time off; weeks it takes above capacity come back in `overallocated_weeks` (and as a fact)."""

    def view(outcome: Changed[Resource]) -> tuple[dict[str, Any], int]:
        body, version = _view(outcome)
        flagged = [w.model_dump(mode="json") for e in outcome.new_events for w in getattr(e, "weeks", ())]
        return TimeOffAnswer.model_validate({**body, "overallocated_weeks": flagged}).model_dump(mode="json"), version

    time_off_id = str(uuid.uuid4())
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(
                commands.record_time_off(
                    uow, resource_id, time_off_id=time_off_id, start=body.start, end=body.end, reason=body.reason
                ),
                view,
            ),
            status_code=201,
            location=f"/resources/{resource_id}",
        ),
    )


@router.post(
    "/resources/{resource_id}/retire",
    summary="Retire a resource from a date",
    response_model=ResourceView,
    responses=answers(404, 409, etag=True, notes=NOT_FOUND),
    **MANAGES_RESOURCES,
)
async def retire_resource(
    resource_id: PathId,
    body: RetireIn,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Retire from `retired_on` (today by default); 409 while confirmed bookings run past it, unless released."""
    retired_on = body.retired_on or datetime.now(UTC).date()
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(
                commands.retire_resource(
                    uow, resource_id, retired_on=retired_on, release_bookings=body.release_bookings, reason=body.reason
                ),
                _view,
            )
        ),
    )


@router.get(
    "/resources",
    summary="Find resources by role, skill or availability",
    response_model=ResourcePage,
    **allow("viewer"),
)
async def list_resources(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    role: Annotated[str | None, Query(max_length=100)] = None,
    skill: Annotated[str | None, Query(max_length=100)] = None,
    min_level: Annotated[int | None, Query(ge=1, le=5)] = None,
    pool: Annotated[str | None, Query(max_length=100)] = None,
    free_from: BoundedDate | None = None,
    free_to: BoundedDate | None = None,
    min_free_fte: Annotated[Fte | None, Query(description="with a window: at least this much FTE free")] = None,
) -> ResourcePage:
    """Who has a role, pool or skill (at `min_level`); with a window, who is free in it and how much FTE."""
    window = window_of(free_from, free_to, "free_from", "free_to", required=min_free_fte is not None)
    items = await availability.find_free(
        service_runtime(request).db,
        role=role,
        pool=pool,
        skill=skill,
        min_level=min_level,
        window=window,
        min_free_fte=min_free_fte,
    )
    page, next_cursor = slice_page(items, paging, key=lambda item: [item["id"]])
    return ResourcePage(items=[ResourceSummary.model_validate(i) for i in page], next_cursor=next_cursor)


@router.get(
    "/resources/{resource_id}/schedule",
    summary="Read a resource's schedule by week",
    response_model=ResourceSchedule,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_resource_schedule(
    resource_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    from_: Annotated[BoundedDate, Query(alias="from")],
    to: BoundedDate,
) -> ResourceSchedule:
    """Per ISO week: capacity (after time off), proposed, confirmed and free FTE."""
    window = window_of(from_, to, "from", "to", required=True)
    assert window is not None
    found = await availability.resource_schedule(service_runtime(request).db, resource_id, window)
    weeks, next_cursor = slice_page(found["weeks"], paging, key=lambda week: [week["week"]])
    return ResourceSchedule.model_validate({**found, "items": weeks, "next_cursor": next_cursor})


def _merged(current: Resource, body: ResourcePatch) -> ResourceProfile:
    changes = body.model_dump(exclude_unset=True, exclude={"allow_overallocation", "reason"})
    if "hours_per_week" not in changes and "fte" in changes:
        changes["hours_per_week"] = None
    if "fte" not in changes and changes.get("hours_per_week") is not None:
        changes["fte"] = None
    base = current.model_dump(include={"name", "role", "kind", "skills", "pool", "fte", "hours_per_week", "cost_rate"})
    merged = {**base, "working_days": current.working_days, **changes}
    merged["skills"] = _skills(body.skills) if body.skills is not None else current.skills
    merged["working_days"] = tuple(merged["working_days"])
    return ResourceProfile(**merged)


def _skills(skills: list[SkillIn]) -> tuple[Skill, ...]:
    return tuple(Skill(name=s.name, level=s.level) for s in skills)


def _view(outcome: Changed[Resource]) -> tuple[dict[str, Any], int]:
    view = ResourceView.model_validate(availability.resource_view(outcome.state, outcome.version))
    return view.model_dump(mode="json"), outcome.version
