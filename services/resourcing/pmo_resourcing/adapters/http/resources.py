"""HTTP: register, read, update, search and retire resources; record time off; a resource's schedule."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from pmo_events.contracts.resourcing import Skill
from pmo_events.runtime import Changed
from pmo_resourcing.adapters.http.problems import PROBLEMS
from pmo_resourcing.adapters.http.schemas import ResourceIn, ResourcePatch, RetireIn, TimeOffIn
from pmo_resourcing.adapters.http.schemas import Skill as SkillIn
from pmo_resourcing.adapters.http.windows import window_of
from pmo_resourcing.application import availability, queries
from pmo_resourcing.application import resources as commands
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.profile import ResourceProfile
from pmo_resourcing.domain.resource import Resource
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import RequiredIfMatch, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader

router = APIRouter(tags=["resources"])
ResourceManager = Annotated[Principal, Depends(require_roles("resource_manager", "admin"))]
#: What a command's answer shows of the resource it changed, and the version that answer is at (its ETag).
View = Callable[[Changed[Resource]], tuple[dict[str, Any], int]]


async def viewed(outcome: Awaitable[Changed[Resource]], view: View) -> tuple[dict[str, Any], int]:
    return view(await outcome)


@router.post("/resources", status_code=201, responses=PROBLEMS)
async def register(
    body: ResourceIn, principal: ResourceManager, request: Request, _key: IdempotencyKeyHeader = None
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


@router.get("/resources/{resource_id}", responses=PROBLEMS)
async def read(resource_id: str, _principal: CurrentPrincipal, request: Request, response: Response) -> dict[str, Any]:
    state, version = await queries.get_resource(service_runtime(request).db, resource_id)
    response.headers["ETag"] = etag(version)
    return availability.resource_view(state, version)


@router.patch("/resources/{resource_id}", responses=PROBLEMS)
async def update(
    resource_id: str,
    body: ResourcePatch,
    principal: ResourceManager,
    request: Request,
    if_match: RequiredIfMatch,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Change the profile; a capacity cut that overloads booked weeks is 409 unless accepted with a reason."""
    current, _version = await queries.get_resource(service_runtime(request).db, resource_id)
    acceptance = Acceptance(body.allow_overallocation, body.reason)
    described = _merged(current, body)
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(
                commands.update_resource(uow, resource_id, described, acceptance=acceptance, expected_version=if_match),
                _view,
            )
        ),
    )


@router.post("/resources/{resource_id}/time-off", status_code=201, responses=PROBLEMS)
async def time_off(
    resource_id: str, body: TimeOffIn, principal: ResourceManager, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    """Record time off; weeks it takes above capacity come back in `overallocated_weeks` (and as a fact)."""

    def view(outcome: Changed[Resource]) -> tuple[dict[str, Any], int]:
        body, version = _view(outcome)
        flagged = [w.model_dump(mode="json") for e in outcome.new_events for w in getattr(e, "weeks", ())]
        return {**body, "overallocated_weeks": flagged}, version

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
        ),
    )


@router.post("/resources/{resource_id}/retire", responses=PROBLEMS)
async def retire(
    resource_id: str, body: RetireIn, principal: ResourceManager, request: Request, _key: IdempotencyKeyHeader = None
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


@router.get("/resources", responses=PROBLEMS)
async def search(
    _principal: CurrentPrincipal,
    request: Request,
    role: Annotated[str | None, Query(max_length=100)] = None,
    skill: Annotated[str | None, Query(max_length=100)] = None,
    min_level: Annotated[int | None, Query(ge=1, le=5)] = None,
    pool: Annotated[str | None, Query(max_length=100)] = None,
    free_from: date | None = None,
    free_to: date | None = None,
    min_free_fte: Annotated[Decimal | None, Query(gt=0, le=10)] = None,
) -> dict[str, Any]:
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
    return {"items": items}


@router.get("/resources/{resource_id}/schedule", responses=PROBLEMS)
async def schedule(
    resource_id: str,
    _principal: CurrentPrincipal,
    request: Request,
    from_: Annotated[date, Query(alias="from")],
    to: date,
) -> dict[str, Any]:
    """Per ISO week: capacity (after time off), proposed, confirmed and free FTE."""
    window = window_of(from_, to, "from", "to", required=True)
    assert window is not None
    return await availability.resource_schedule(service_runtime(request).db, resource_id, window)


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
    return availability.resource_view(outcome.state, outcome.version), outcome.version
