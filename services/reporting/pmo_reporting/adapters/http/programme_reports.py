"""Reporting's HTTP API about programmes: one programme's dashboard and a portfolio's programmes, live or
`as_of` any past instant, as JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from pmo_reporting.adapters.http.programme_responses import ProgrammeDashboard, ProgrammeList
from pmo_reporting.adapters.http.rendering import AsOf, report_documents, report_responses, respond
from pmo_reporting.projections import calendar, delivery, governance, programmes, raid
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.reports.programmes import programme_dashboard, programme_list
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.paging import Paging
from pmo_servicekit.http import PathId
from pmo_servicekit.problems import Problem
from pmo_servicekit.routing import FlatRoute

router = APIRouter(prefix="/reports", tags=["reports"], route_class=FlatRoute)


def _wanted(portfolio_id: str | None) -> dict[str, str | None]:
    """Everything a programme's dashboard reads, of one portfolio (or of all while it is not known yet)."""
    kinds = (programmes.PROGRAMME, delivery.PROJECT, raid.RAID_ITEM, raid.DEPENDENCY, governance.PORTFOLIO)
    return {**dict.fromkeys(kinds, portfolio_id), calendar.FISCAL_CALENDAR: None}


async def programme_body(
    request: Request, programme_id: str, as_of: datetime | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A programme's dashboard and its projects (404 for a programme unknown now; `known: false` before it
    existed), as the JSON report, its CSV and the console show it."""
    found = await report_documents(request, PORTFOLIO, {programmes.PROGRAMME: None}, None)
    portfolio_id = (found.get(programmes.PROGRAMME, programme_id) or {}).get("portfolio_id")
    if portfolio_id is None and as_of is None:
        raise Problem(404, "not-found", f"no programme {programme_id} is known to reporting")
    docs = await report_documents(request, PORTFOLIO, _wanted(portfolio_id), as_of)
    dashboard = programme_dashboard(docs, programme_id, (as_of or datetime.now(UTC)).date())
    if dashboard is None:
        return {"as_of": as_of, "id": programme_id, "known": False}, []
    body, projects = dashboard
    return {"as_of": as_of, "known": True, **body}, projects


async def programmes_body(request: Request, portfolio_id: str, as_of: datetime | None) -> list[dict[str, Any]]:
    """A portfolio's programmes, one line each, by name."""
    docs = await report_documents(request, PORTFOLIO, _wanted(portfolio_id), as_of)
    return programme_list(docs, portfolio_id, (as_of or datetime.now(UTC)).date())


@router.get(
    "/programmes/{programme_id}",
    summary="Read a programme's dashboard",
    response_model=ProgrammeDashboard,
    responses=report_responses(404),
    **allow("viewer"),
)
async def read_programme_dashboard(
    programme_id: PathId, as_of: AsOf, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> Response:
    """Budget vs ring-fence per fiscal period, tranches with their end-of-tranche reviews, the status rolled up
    from the projects (worst RAG, earned value) beside the programme manager's report, benefits planned vs
    realised, open RAID items escalated, dependencies; `items` are the projects with RAG and earned value
    (the CSV too). `as_of` answers as the log stood then."""
    body, projects = await programme_body(request, programme_id, as_of)
    page = (paging, lambda p: [p["project_id"]])
    return respond(request, ProgrammeDashboard, body, projects, f"programme-{programme_id}", page=page)


@router.get(
    "/programmes",
    summary="List a portfolio's programmes",
    response_model=ProgrammeList,
    responses=report_responses(),
    **allow("viewer"),
)
async def list_programme_reports(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Annotated[str, Query(max_length=64)],
) -> Response:
    """Each programme of the portfolio in one line: projects (and how many at risk), worst RAG and the
    manager's, earned value rolled up, ring-fence and what is drawn on it, escalated RAID items."""
    rows = await programmes_body(request, portfolio_id, as_of)
    body = {"as_of": as_of, "portfolio_id": portfolio_id}
    return respond(request, ProgrammeList, body, rows, "programmes", page=(paging, lambda r: [r["name"], r["id"]]))
