"""HTTP: book, read, confirm, change and release allocations (commands on the resource's calendar)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, TypeAlias

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.resourcing import ResourceOverallocated
from pmo_events.runtime import Changed
from pmo_resourcing.adapters.http.problems import PROBLEMS
from pmo_resourcing.adapters.http.resources import ResourceManager, View, viewed
from pmo_resourcing.adapters.http.schemas import AllocationIn, AllocationPatch, ConfirmIn, ReleaseIn
from pmo_resourcing.application import allocations as commands
from pmo_resourcing.application import queries
from pmo_resourcing.domain.booking import BookAllocation
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.resource import Resource
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import RequiredIfMatch, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader

router = APIRouter(tags=["allocations"])
Key: TypeAlias = IdempotencyKeyHeader


@router.post("/allocations", status_code=201, responses=PROBLEMS)
async def book(body: AllocationIn, principal: ResourceManager, request: Request, _key: Key = None) -> Response:
    """Book a resource on an active project; 409 naming each week it would take above capacity."""
    allocation_id = str(uuid.uuid4())
    command = BookAllocation(
        allocation_id=allocation_id,
        project_id=body.project_id,
        demand_id=body.demand_id,
        start=body.start,
        end=body.end,
        fte=body.fte,
        status=body.status,
        acceptance=_acceptance(body.allow_overallocation, body.reason),
    )
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(commands.book_allocation(uow, body.resource_id, command), _view_of(allocation_id)),
            status_code=201,
            location=f"/allocations/{allocation_id}",
        ),
    )


@router.get("/allocations/{allocation_id}", responses=PROBLEMS)
async def read(
    allocation_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    view = await queries.get_allocation(service_runtime(request).db, allocation_id)
    response.headers["ETag"] = etag(view["revision"])
    return view


@router.get("/allocations", responses=PROBLEMS)
async def listing(
    _principal: CurrentPrincipal,
    request: Request,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["proposed", "confirmed", "released"] | None = None,
    after: Annotated[str | None, Query(max_length=64, description="the last id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    items = await queries.list_allocations(
        service_runtime(request).db,
        resource_id=resource_id,
        project_id=project_id,
        status=status,
        after=after,
        limit=limit,
    )
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.post("/allocations/{allocation_id}/confirm", responses=PROBLEMS)
async def confirm(
    allocation_id: str, principal: ResourceManager, request: Request, body: ConfirmIn | None = None, _key: Key = None
) -> Response:
    """Make a proposed booking hard, re-checking capacity in its weeks."""
    body = body or ConfirmIn()
    acceptance = _acceptance(body.allow_overallocation, body.reason)
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(commands.confirm_allocation(uow, allocation_id, acceptance=acceptance), _view_of(allocation_id))
        ),
    )


@router.post("/allocations/{allocation_id}/release", responses=PROBLEMS)
async def release(
    allocation_id: str, principal: ResourceManager, request: Request, body: ReleaseIn | None = None, _key: Key = None
) -> Response:
    """Give the booking's capacity back (releasing twice changes nothing)."""
    reason = (body or ReleaseIn()).reason
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(commands.release_allocation(uow, allocation_id, reason=reason), _view_of(allocation_id))
        ),
    )


@router.patch("/allocations/{allocation_id}", responses=PROBLEMS)
async def change(
    allocation_id: str,
    body: AllocationPatch,
    principal: ResourceManager,
    request: Request,
    if_match: RequiredIfMatch,
    _key: Key = None,
) -> Response:
    """New dates or FTE (If-Match: the allocation's ETag), re-checked against capacity."""
    acceptance = _acceptance(body.allow_overallocation, body.reason)
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            viewed(
                commands.change_allocation(
                    uow,
                    allocation_id,
                    start=body.start,
                    end=body.end,
                    fte=body.fte,
                    acceptance=acceptance,
                    expected_revision=if_match,
                ),
                _view_of(allocation_id),
            )
        ),
    )


def _acceptance(allow: bool, reason: str | None) -> Acceptance:
    return Acceptance(allow, reason)


def _view_of(allocation_id: str) -> View:
    def view(outcome: Changed[Resource]) -> tuple[dict[str, Any], int]:
        booking = outcome.state.bookings[allocation_id]
        facts = [e.model_dump(mode="json") for e in outcome.new_events if isinstance(e, ResourceOverallocated)]
        body = {
            "id": allocation_id,
            "resource_id": outcome.state.resource_id,
            "role": outcome.state.role,
            **booking.model_dump(mode="json", exclude={"allocation_id"}),
            "overallocation": facts[0] if facts else None,
        }
        return body, booking.revision

    return view
