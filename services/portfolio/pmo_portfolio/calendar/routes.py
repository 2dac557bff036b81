"""HTTP API of the fiscal calendar: read it (anyone), set it (an administrator)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from pmo_portfolio.calendar import commands, queries
from pmo_portfolio.calendar.responses import FiscalCalendarView
from pmo_portfolio.calendar.schemas import FiscalCalendarBody
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(tags=["fiscal calendar"], route_class=FlatRoute)


@router.get(
    "/fiscal-calendar",
    summary="Read the organisation's fiscal calendar",
    response_model=FiscalCalendarView,
    responses=answers(etag=True),
    **allow("viewer"),
)
async def read_fiscal_calendar(_principal: CurrentPrincipal, request: Request, response: Response) -> dict[str, Any]:
    """When fiscal years start, how they are named, and today's fiscal year, quarter and period."""
    runtime = service_runtime(request)
    view, version = await queries.read_calendar(runtime.db, runtime.commands.store, datetime.now(UTC).date())
    response.headers["ETag"] = etag(version)
    return view


@router.put(
    "/fiscal-calendar",
    summary="Set the organisation's fiscal calendar",
    response_model=FiscalCalendarView,
    responses=answers(409, 412, etag=True),
    **allow("admin"),
)
async def set_fiscal_calendar(
    body: FiscalCalendarBody, principal: CurrentPrincipal, request: Request, if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """An administrator sets the calendar from now on; reports about earlier moments keep the calendar of then."""
    now = datetime.now(UTC)
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(
                FiscalCalendarView,
                commands.set_fiscal_calendar(
                    uow, body.year_start_month, body.year_named_by, principal.subject, now, if_match=if_match
                ),
            )
        ),
    )
