"""HTTP: book, read, confirm, change and release allocations (commands on the resource's calendar)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, TypeAlias

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.resourcing import ResourceOverallocated
from pmo_events.runtime import Changed
from pmo_resourcing.adapters.http.resources import MANAGES_RESOURCES, View, viewed
from pmo_resourcing.adapters.http.responses import AllocationPage, AllocationView
from pmo_resourcing.adapters.http.schemas import AllocationIn, AllocationPatch, ConfirmIn, ReleaseIn
from pmo_resourcing.application import allocations as commands
from pmo_resourcing.application import queries
from pmo_resourcing.domain.booking import BookAllocation
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.resource import Resource
from pmo_resourcing.domain.working_days import NonWorkingDays
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.contract.shared import Overallocation
from pmo_servicekit.http import PathId, RequiredIfMatch, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(tags=["allocations"], route_class=FlatRoute)
Key: TypeAlias = IdempotencyKeyHeader
NOT_FOUND = {404: "no such allocation (or resource, or demand line)"}
RULES = {409: "over-allocated weeks (`type`: `over-allocation`, `weeks`), or the project or booking's state"}


@router.post(
    "/allocations",
    status_code=201,
    summary="Book a resource on a project",
    response_model=AllocationView,
    responses=answers(404, 409, status=201, etag=True, location=True, notes={**NOT_FOUND, **RULES}),
    **MANAGES_RESOURCES,
)
async def book_allocation(
    body: AllocationIn, principal: CurrentPrincipal, request: Request, _key: Key = None
) -> Response:
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
        non_working_days=NonWorkingDays(body.allow_non_working_days, body.reason),
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


@router.get(
    "/allocations/{allocation_id}",
    summary="Read one allocation",
    response_model=AllocationView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_allocation(
    allocation_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    view = await queries.get_allocation(service_runtime(request).db, allocation_id)
    response.headers["ETag"] = etag(view["revision"])
    return view


@router.get(
    "/allocations", summary="List allocations by resource or project", response_model=AllocationPage, **allow("viewer")
)
async def list_allocations(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["proposed", "confirmed", "released"] | None = None,
) -> AllocationPage:
    """Allocations in id order, filtered by resource, project and status."""
    items = await queries.list_allocations(
        service_runtime(request).db,
        resource_id=resource_id,
        project_id=project_id,
        status=status,
        after=paging.after_id(),
        limit=paging.limit + 1,
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return AllocationPage(items=[AllocationView.model_validate(i) for i in page], next_cursor=next_cursor)


@router.post(
    "/allocations/{allocation_id}/confirm",
    summary="Confirm a proposed booking",
    response_model=AllocationView,
    responses=answers(404, 409, etag=True, notes={**NOT_FOUND, **RULES}),
    **MANAGES_RESOURCES,
)
async def confirm_allocation(
    allocation_id: PathId,
    principal: CurrentPrincipal,
    request: Request,
    body: ConfirmIn | None = None,
    _key: Key = None,
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


@router.post(
    "/allocations/{allocation_id}/release",
    summary="Release a booking's capacity",
    response_model=AllocationView,
    responses=answers(404, 409, etag=True, notes={**NOT_FOUND, **RULES}),
    **MANAGES_RESOURCES,
)
async def release_allocation(
    allocation_id: PathId,
    principal: CurrentPrincipal,
    request: Request,
    body: ReleaseIn | None = None,
    _key: Key = None,
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


@router.patch(
    "/allocations/{allocation_id}",
    summary="Change a booking's dates or FTE",
    response_model=AllocationView,
    responses=answers(404, 409, 412, 428, etag=True, notes={**NOT_FOUND, **RULES}),
    **MANAGES_RESOURCES,
)
async def update_allocation(
    allocation_id: PathId,
    body: AllocationPatch,
    principal: CurrentPrincipal,
    request: Request,
    if_match: RequiredIfMatch,
    _key: Key = None,
) -> Response:
    """New dates or FTE (If-Match: the allocation's ETag), re-checked against capacity."""
    acceptance = _acceptance(body.allow_overallocation, body.reason)
    off_calendar = NonWorkingDays(body.allow_non_working_days, body.reason)
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
                    non_working_days=off_calendar,
                ),
                _view_of(allocation_id),
            )
        ),
    )


def _acceptance(allow: bool, reason: str | None) -> Acceptance:
    return Acceptance(allow, reason)


def _view_of(allocation_id: str) -> View:
    def view(outcome: Changed[Resource]) -> tuple[AllocationView, int]:
        # The answer as a model from the booking's own values, which `answer` writes straight to JSON: the same
        # bytes as the booking dumped to JSON types, validated again as the view, dumped again and encoded
        # (tests/test_booking_bytes.py), without the two dumps, the second parse of its dates and FTE, and
        # the pass of `json.dumps`.
        booking = outcome.state.bookings[allocation_id]
        facts = [e for e in outcome.new_events if isinstance(e, ResourceOverallocated)]
        answer = AllocationView(
            id=allocation_id,
            resource_id=outcome.state.resource_id,
            role=outcome.state.role,
            project_id=booking.project_id,
            demand_id=booking.demand_id,
            start=booking.start,
            end=booking.end,
            fte=booking.fte,
            status=booking.status,
            revision=booking.revision,
            overallocated=booking.overallocated,
            non_working_days_reason=booking.non_working_days_reason,
            overallocation=Overallocation.model_validate(facts[0].model_dump(mode="json")) if facts else None,
        )
        return answer, booking.revision

    return view
