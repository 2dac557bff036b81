"""Reporting's HTTP API: every report, live or `as_of` any past instant, as JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.bounds import BoundedDate, BoundedInstant
from pmo_events.figures.capacity import GroupBy, window_problem
from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import Level
from pmo_reporting.adapters.http.rendering import AsOf, aware, invalid, report_documents, report_responses, respond
from pmo_reporting.adapters.http.responses import (
    BenefitsRegister,
    CapacityHeatmap,
    DecisionTrail,
    DependencyMap,
    LessonFeedback,
    LessonsLibrary,
    ObjectivesRegister,
    PipelineReport,
    PortfolioSummary,
    ProjectReport,
    RiskReport,
    TrailOutcome,
)
from pmo_reporting.application.reports import computed
from pmo_reporting.projections import (
    calendar,
    capacity,
    delivery,
    governance,
    lessons,
    programmes,
    proposals,
    raid,
)
from pmo_reporting.projections.catalogue import CAPACITY, PORTFOLIO
from pmo_reporting.reports.benefits import benefits_register
from pmo_reporting.reports.candidates import candidate_positions
from pmo_reporting.reports.capacity import capacity_heatmap, overallocations
from pmo_reporting.reports.pipeline import pipeline_funnel
from pmo_reporting.reports.project import project_view
from pmo_reporting.reports.raid import dependency_map, risk_view
from pmo_reporting.reports.registers import decision_trail, lesson_feedback, lessons_library, objectives_register
from pmo_reporting.reports.summary import portfolio_summary, summary_slimmers
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.paging import Paging
from pmo_servicekit.contract.shared import OUTCOME_VERBS, OUTCOMES_OF_VERBS
from pmo_servicekit.http import PathId
from pmo_servicekit.problems import Problem
from pmo_servicekit.routing import FlatRoute

router = APIRouter(prefix="/reports", tags=["reports"], route_class=FlatRoute)

Id = Annotated[str, Query(max_length=64)]
READ = report_responses()
SUMMARY_SLIM = summary_slimmers()
KNOWN = report_responses(404)


def _stamp(as_of: datetime | None) -> dict[str, Any]:
    return {"as_of": as_of}


def _spoken(decision: dict[str, Any]) -> dict[str, Any]:
    """A decision with its outcome in the HTTP vocabulary (the status it gives; gates keep their verdict)."""
    outcome = decision["outcome"]
    return {**decision, "outcome": OUTCOMES_OF_VERBS.get(outcome, outcome)}


async def known_now(request: Request, portfolio_id: str) -> None:
    """404 for a portfolio reporting has never seen (it forgets nothing: unknown now is unknown at any `as_of`).
    What draws (the board pack, the console's pages) asks this first, so that an id nobody made does not cost
    a fold and a drawing; the JSON reports answer an empty report at an `as_of` instead (docs/reporting.md)."""
    live = await report_documents(request, PORTFOLIO, {governance.PORTFOLIO: portfolio_id}, None)
    if live.get(governance.PORTFOLIO, portfolio_id) is None:
        raise Problem(404, "not-found", f"no portfolio {portfolio_id} is known to reporting")


async def summary_body(request: Request, portfolio_id: str, as_of: datetime | None) -> dict[str, Any]:
    """The portfolio summary's body (404 for a portfolio unknown now), as the JSON report and the console show it."""
    scoped: dict[str, str | None] = {
        governance.PORTFOLIO: portfolio_id,
        proposals.PROPOSAL: portfolio_id,
        delivery.PROJECT: portfolio_id,
        governance.DECISION: portfolio_id,
        governance.OBJECTIVE: None,
        calendar.FISCAL_CALENDAR: None,
    }
    # Live: each proposal, project and decision held as only the fields the summary reads (SUMMARY_FIELDS).
    docs = await report_documents(request, PORTFOLIO, scoped, as_of, SUMMARY_SLIM)
    if as_of is None and docs.get(governance.PORTFOLIO, portfolio_id) is None:
        raise Problem(404, "not-found", f"no portfolio {portfolio_id} is known to reporting")
    summary = (
        portfolio_summary(docs, portfolio_id)
        if as_of is None
        else computed(docs, ("summary", portfolio_id), lambda: portfolio_summary(docs, portfolio_id))
    )
    return {**_stamp(as_of), **summary}


async def candidates_body(request: Request, portfolio_id: str, as_of: datetime | None) -> list[dict[str, Any]]:
    """The portfolio's candidates with cost and the score, rank and risk their decision recorded."""
    wanted: dict[str, str | None] = {
        governance.PORTFOLIO: portfolio_id,
        proposals.PROPOSAL: portfolio_id,
        governance.DECISION: portfolio_id,
    }
    rows = candidate_positions(await report_documents(request, PORTFOLIO, wanted, as_of), portfolio_id)
    for row in rows:  # instants as every answer writes them (RFC 3339, Z)
        if row["decided_at"]:
            row["decided_at"] = (
                datetime.fromisoformat(row["decided_at"]).astimezone(UTC).isoformat().replace("+00:00", "Z")
            )
    return rows


async def portfolio_names(request: Request, as_of: datetime | None) -> list[dict[str, Any]]:
    """Every portfolio known at `as_of` (id, name, currency), by name."""
    docs = await report_documents(request, PORTFOLIO, {governance.PORTFOLIO: None}, as_of)
    found = [
        {"id": p["id"], "name": p.get("name"), "currency": p.get("currency")} for p in docs.all(governance.PORTFOLIO)
    ]
    return sorted(found, key=lambda p: (p["name"] or "", p["id"]))


async def pipeline_body(request: Request, portfolio_id: str | None, as_of: datetime | None) -> dict[str, Any]:
    docs = await report_documents(request, PORTFOLIO, {proposals.PROPOSAL: portfolio_id}, as_of)
    funnel = pipeline_funnel(docs, portfolio_id=portfolio_id)
    # `decided:<outcome>` in the HTTP vocabulary (decided:approved), as the decision trail and its filter say it.
    stages = [{**s, "stage": _decided_stage(s["stage"])} for s in funnel["stages"]]
    lead_times = [{**s, "stage": _decided_stage(s["stage"])} for s in funnel["stage_lead_time_days"]]
    return {**_stamp(as_of), **funnel, "stages": stages, "stage_lead_time_days": lead_times}


def _decided_stage(stage: str) -> str:
    kind, _, verb = stage.partition(":")
    return f"{kind}:{OUTCOMES_OF_VERBS.get(verb, verb)}" if verb else stage


async def decision_rows(
    request: Request, portfolio_id: str | None, as_of: datetime | None, **filters: Any
) -> list[dict[str, Any]]:
    """The audit trail's decisions in the HTTP vocabulary, oldest first."""
    # The portfolios too: their currency sets the scale of every amount.
    wanted: dict[str, str | None] = {governance.DECISION: portfolio_id, governance.PORTFOLIO: portfolio_id}
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    return [_spoken(d) for d in decision_trail(docs, portfolio_id=portfolio_id, **filters)]


async def project_body(request: Request, project_id: str, as_of: datetime | None) -> dict[str, Any]:
    """A project's report (404 for a project unknown now; `known: false` before it existed)."""
    wanted: dict[str, str | None] = {delivery.PROJECT: None, governance.PORTFOLIO: None}
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    view = project_view(docs, project_id)
    if view is None and as_of is None:
        raise Problem(404, "not-found", f"no project {project_id} is known to reporting")
    if view is None:
        view = {"id": project_id, "known": False, "status_history": [], "rag_trend": [], "evm": [], "benefits": []}
    else:  # a change request's outcome in the HTTP vocabulary, as in the decision trail
        view["changes"] = [_spoken(c) if "outcome" in c else c for c in view["changes"]]
    return {**_stamp(as_of), **view}


async def capacity_body(
    request: Request, as_of: datetime | None, window: Span, group_by: GroupBy, bucket: Level
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The capacity report's header and all of its rows."""
    wanted: dict[str, str | None] = dict.fromkeys(
        (capacity.DEMAND, capacity.RESOURCE, capacity.ALLOCATION, capacity.OVERALLOCATION, calendar.FISCAL_CALENDAR)
    )
    docs = await report_documents(request, CAPACITY, wanted, as_of)
    rows = capacity_heatmap(docs, calendar.fiscal_calendar(docs), window, group_by, bucket)
    body = {
        **_stamp(as_of),
        "from": window.start,
        "to": window.end,
        "group_by": group_by,
        "bucket": bucket,
        "overallocations": overallocations(docs, start=window.start, end=window.end),
    }
    return body, rows


async def risks_body(
    request: Request,
    portfolio_id: str,
    as_of: datetime | None,
    level: str | None = None,
    level_id: str | None = None,
    programme_id: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The risk view's header (5x5 cells, escalations, overdue actions) and its risks by score, highest first;
    with `programme_id`, of the programme and its projects."""
    wanted: dict[str, str | None] = {raid.RAID_ITEM: portfolio_id, programmes.PROGRAMME: portfolio_id}
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    today = (as_of or datetime.now(UTC)).date()
    within = None
    if programme_id is not None:
        programme = docs.get(programmes.PROGRAMME, programme_id) or {"projects": []}
        within = {programme_id, *(p["project_id"] for p in programme["projects"])}
    body, ranked = risk_view(docs, portfolio_id, level, level_id, today, within)
    return {**_stamp(as_of), **body, "programme_id": programme_id}, ranked


async def dependencies_body(
    request: Request, portfolio_id: str, as_of: datetime | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The dependency map's header (its nodes) and its edges by need date."""
    wanted: dict[str, str | None] = {
        raid.DEPENDENCY: portfolio_id,
        delivery.PROJECT: portfolio_id,
        programmes.PROGRAMME: portfolio_id,
    }
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    body, edges = dependency_map(docs, portfolio_id)
    return {**_stamp(as_of), **body}, edges


@router.get(
    "/portfolios/{portfolio_id}/summary",
    summary="Read a portfolio's summary report",
    response_model=PortfolioSummary,
    responses=KNOWN,
    **allow("viewer"),
)
async def read_portfolio_summary(
    portfolio_id: PathId, as_of: AsOf, _principal: CurrentPrincipal, request: Request
) -> Response:
    """Pipeline by state, envelope vs committed vs actual per period, RAG counts, objectives, benefits."""
    body = await summary_body(request, portfolio_id, as_of)
    return respond(request, PortfolioSummary, body, body["budget"], f"portfolio-{portfolio_id}-summary")


@router.get(
    "/pipeline",
    summary="Read the proposal pipeline funnel",
    response_model=PipelineReport,
    responses=READ,
    **allow("viewer"),
)
async def read_pipeline(
    as_of: AsOf, _principal: CurrentPrincipal, request: Request, portfolio_id: Id | None = None
) -> Response:
    """The funnel draft → submitted → decided by outcome, conversions and decision lead time (median, p90)."""
    report = await pipeline_body(request, portfolio_id, as_of)
    return respond(request, PipelineReport, report, report["stages"], "pipeline")


@router.get(
    "/decisions",
    summary="List the decision audit trail",
    response_model=DecisionTrail,
    responses=READ,
    **allow("viewer"),
)
async def list_decisions(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Id | None = None,
    outcome: TrailOutcome | None = None,
    decided_by: Annotated[str | None, Query(max_length=200)] = None,
    from_: Annotated[BoundedInstant | None, Query(alias="from")] = None,
    to: BoundedInstant | None = None,
) -> Response:
    """The audit trail: every decision with who, when, outcome, rationale and evidence."""
    rows = await decision_rows(
        request,
        portfolio_id,
        as_of,
        outcome=OUTCOME_VERBS.get(outcome, outcome) if outcome else None,
        decided_by=decided_by,
        decided_from=aware("from", from_),
        decided_to=aware("to", to),
    )
    return respond(request, DecisionTrail, _stamp(as_of), rows, "decisions", page=(paging, lambda d: [d["id"]]))


@router.get(
    "/projects/{project_id}",
    summary="Read a project's delivery report",
    response_model=ProjectReport,
    responses=KNOWN,
    **allow("viewer"),
)
async def read_project_report(
    project_id: PathId, as_of: AsOf, _principal: CurrentPrincipal, request: Request
) -> Response:
    """Stage, status history, RAG trend, EVM series, benefits planned vs realised, lessons."""
    view = await project_body(request, project_id, as_of)
    return respond(request, ProjectReport, view, view["evm"], f"project-{project_id}-evm")


@router.get(
    "/capacity",
    summary="Read capacity against demand by period",
    response_model=CapacityHeatmap,
    responses=READ,
    **allow("viewer"),
)
async def read_capacity_report(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    from_: Annotated[BoundedDate, Query(alias="from")],
    to: BoundedDate,
    group_by: GroupBy = "role",
    bucket: Level = "period",
) -> Response:
    """Per fiscal period (or quarter, or year) and group: capacity, demand, confirmed, proposed, gap,
    utilisation and over-allocation, as resourcing's `/capacity` (docs/figures.md)."""
    if wrong := window_problem(from_, to):
        raise invalid(wrong[0], wrong[1], "range")
    body, rows = await capacity_body(request, as_of, Span(from_, to), group_by, bucket)
    return respond(request, CapacityHeatmap, body, rows, "capacity", page=(paging, lambda r: [r["period"], r["group"]]))


@router.get(
    "/benefits",
    summary="List the benefits register",
    response_model=BenefitsRegister,
    responses=READ,
    **allow("viewer"),
)
async def list_benefits(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Id | None = None,
    objective_id: Id | None = None,
) -> Response:
    """The benefits register: each planned benefit of a funded initiative, planned vs realised."""
    wanted: dict[str, str | None] = {
        delivery.PROJECT: portfolio_id,
        proposals.PROPOSAL: portfolio_id,
        governance.PORTFOLIO: portfolio_id,
    }
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    items = benefits_register(docs, portfolio_id=portfolio_id, objective_id=objective_id)
    key = (paging, lambda b: [b["project_id"], b["benefit_id"]])
    return respond(request, BenefitsRegister, _stamp(as_of), items, "benefits", page=key)


@router.get(
    "/objectives",
    summary="List objectives and their contributions",
    response_model=ObjectivesRegister,
    responses=READ,
    **allow("viewer"),
)
async def list_objective_contributions(
    as_of: AsOf, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> Response:
    """Each strategic objective with contributing proposals and projects, committed budget, planned benefits."""
    wanted: dict[str, str | None] = dict.fromkeys(
        (governance.OBJECTIVE, proposals.PROPOSAL, delivery.PROJECT, governance.PORTFOLIO)
    )
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    items = objectives_register(docs)
    return respond(request, ObjectivesRegister, _stamp(as_of), items, "objectives", page=(paging, lambda o: [o["id"]]))


@router.get(
    "/lessons", summary="Search the lessons library", response_model=LessonsLibrary, responses=READ, **allow("viewer")
)
async def list_lessons(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The lessons library, searchable by text, category and tag; each lesson says how often it was offered to
    proposals' and projects' teams, when last, and how many teams said it applies, does not, or have not said."""
    wanted: dict[str, str | None] = dict.fromkeys((delivery.PROJECT, lessons.PROPOSAL_LESSONS, lessons.PROJECT_LESSONS))
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    items = lessons_library(docs, q=q, category=category, tag=tag)
    key = (paging, lambda lesson: [lesson["project_id"], lesson["lesson_id"]])
    return respond(request, LessonsLibrary, _stamp(as_of), items, "lessons", page=key)


@router.get(
    "/lessons/feedback",
    summary="List the lessons offered to teams and their acknowledgements",
    response_model=LessonFeedback,
    responses=READ,
    **allow("viewer"),
)
async def list_lesson_feedback(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Annotated[str | None, Query(max_length=64)] = None,
    subject_id: Annotated[str | None, Query(max_length=64, description="one proposal or project")] = None,
    acknowledged: Annotated[bool | None, Query(description="false: only what teams have not acknowledged")] = None,
) -> Response:
    """Every lesson offered to a proposal's or project's team (how often, when last, why), with whether the team
    acknowledged it and said it applies; `acknowledged=false` lists, per proposal and project, the lessons still
    unacknowledged. `as_of` answers as the log stood then."""
    wanted: dict[str, str | None] = {
        delivery.PROJECT: None,
        lessons.PROPOSAL_LESSONS: portfolio_id,
        lessons.PROJECT_LESSONS: portfolio_id,
    }
    docs = await report_documents(request, PORTFOLIO, wanted, as_of)
    items = lesson_feedback(docs, portfolio_id=portfolio_id, subject_id=subject_id, acknowledged=acknowledged)
    key = (paging, lambda row: [row["subject"], row["subject_id"], row["lesson_id"]])
    return respond(request, LessonFeedback, _stamp(as_of), items, "lesson-feedback", page=key)


@router.get(
    "/risks", summary="Read a portfolio's risk view", response_model=RiskReport, responses=READ, **allow("viewer")
)
async def read_risk_report(
    as_of: AsOf,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Id,
    level: Literal["project", "programme", "portfolio"] | None = None,
    level_id: Annotated[str | None, Query(max_length=64)] = None,
    programme_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Open risks where they sit (all levels, or one `level`, or one project or programme by `level_id`, or a
    programme with its projects by `programme_id`): the 5x5 heatmap (counts and items per cell), escalations
    and delegations, overdue actions; `items` are the risks by score, highest first (the CSV too). `as_of`
    answers as the log stood then."""
    body, ranked = await risks_body(request, portfolio_id, as_of, level, level_id, programme_id)
    return respond(request, RiskReport, body, ranked, "risks", page=(paging, lambda r: [r["id"]]))


@router.get(
    "/dependencies",
    summary="Read a portfolio's dependency map",
    response_model=DependencyMap,
    responses=READ,
    **allow("viewer"),
)
async def read_dependency_map(
    as_of: AsOf, _principal: CurrentPrincipal, request: Request, paging: Paging, portfolio_id: Id
) -> Response:
    """The projects (`nodes`, with `at_risk` when they depend on something at risk) and the dependencies
    (`items`: dependent → provider, need date, at-risk flag and cause), as they stood `as_of`."""
    body, edges = await dependencies_body(request, portfolio_id, as_of)
    page = (paging, lambda e: [e["need_date"], e["id"]])
    return respond(request, DependencyMap, body, edges, "dependencies", page=page)
