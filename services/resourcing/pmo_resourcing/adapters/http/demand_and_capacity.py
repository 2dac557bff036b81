"""HTTP: demand lines with their coverage, and capacity vs demand per fiscal period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from pmo_events.figures.capacity import GroupBy
from pmo_events.figures.fiscal import CALENDAR_YEAR, Level
from pmo_resourcing.adapters.http.problems import PROBLEMS
from pmo_resourcing.adapters.http.windows import window_of
from pmo_resourcing.application import queries
from pmo_resourcing.application.capacity_report import capacity_by_period
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.http import service_runtime

router = APIRouter()


@router.get("/demands", tags=["demand"], responses=PROBLEMS)
async def demands(
    _principal: CurrentPrincipal,
    request: Request,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["open", "partially_filled", "filled", "cancelled"] | None = None,
    after: Annotated[str | None, Query(max_length=64, description="the last id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Demand lines raised by initiated projects, with the FTE confirmed (and proposed) bookings cover."""
    items = await queries.list_demands(
        service_runtime(request).db, project_id=project_id, role=role, status=status, after=after, limit=limit
    )
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/capacity", tags=["capacity"], responses=PROBLEMS)
async def capacity(
    _principal: CurrentPrincipal,
    request: Request,
    from_: Annotated[date, Query(alias="from")],
    to: date,
    group_by: GroupBy = "role",
    bucket: Level = "period",
) -> dict[str, Any]:
    """Per fiscal period (or quarter, or year) and group: capacity, demand, confirmed, proposed, gap,
    utilisation % and over-allocation, in average FTE (docs/figures.md)."""
    window = window_of(from_, to, "from", "to", required=True)
    assert window is not None
    rows = await capacity_by_period(service_runtime(request).db, CALENDAR_YEAR, window, group_by, bucket)
    return {"from": from_.isoformat(), "to": to.isoformat(), "group_by": group_by, "bucket": bucket, "items": rows}
