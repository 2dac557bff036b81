"""HTTP: demand lines with their coverage, and capacity vs demand per fiscal period."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from pmo_events.contracts.bounds import BoundedDate
from pmo_events.figures.capacity import GroupBy
from pmo_events.figures.fiscal import Level
from pmo_resourcing.adapters.http.responses import CapacityReport, DemandPage, DemandView
from pmo_resourcing.adapters.http.windows import window_of
from pmo_resourcing.application import queries
from pmo_resourcing.application.capacity_report import capacity_by_period
from pmo_resourcing.application.fiscal_calendar import fiscal_calendar
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.paging import Paging, keyset_page, slice_page
from pmo_servicekit.http import service_runtime
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)


@router.get(
    "/demands",
    tags=["demand"],
    summary="List demand lines and their coverage",
    response_model=DemandPage,
    **allow("viewer"),
)
async def list_demands(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["open", "partially_filled", "filled", "cancelled"] | None = None,
) -> DemandPage:
    """Demand lines raised by initiated projects, with the FTE confirmed (and proposed) bookings cover."""
    items = await queries.list_demands(
        service_runtime(request).db,
        project_id=project_id,
        role=role,
        status=status,
        after=paging.after_id(),
        limit=paging.limit + 1,
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return DemandPage(items=[DemandView.model_validate(i) for i in page], next_cursor=next_cursor)


@router.get(
    "/capacity",
    tags=["capacity"],
    summary="Read capacity against demand by period",
    response_model=CapacityReport,
    **allow("viewer"),
)
async def read_capacity(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    from_: Annotated[BoundedDate, Query(alias="from")],
    to: BoundedDate,
    group_by: GroupBy = "role",
    bucket: Level = "period",
) -> CapacityReport:
    """Per fiscal period (or quarter, or year) and group: capacity, demand, confirmed, proposed, gap,
    utilisation and over-allocation, in average FTE (docs/figures.md)."""
    window = window_of(from_, to, "from", "to", required=True)
    assert window is not None
    db = service_runtime(request).db
    rows = await capacity_by_period(db, await fiscal_calendar(db), window, group_by, bucket)
    page, next_cursor = slice_page(rows, paging, key=lambda row: [row["period"], row["group"]])
    body = {"from": from_, "to": to, "group_by": group_by, "bucket": bucket, "items": page, "next_cursor": next_cursor}
    return CapacityReport.model_validate(body)
