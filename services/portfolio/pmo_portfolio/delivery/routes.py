"""HTTP API of projects: reading them, and every delivery command (gates, reports, changes, closure...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.contracts.base import Event
from pmo_events.runtime import UnitOfWork
from pmo_portfolio.adapters.http import delivery_schemas as body_of
from pmo_portfolio.adapters.http.deps import PROBLEMS, Cursor, Limit, service
from pmo_portfolio.adapters.http.problems import DOMAIN_ERRORS, problem_for
from pmo_portfolio.application import project_queries
from pmo_portfolio.application.commands import retrying
from pmo_portfolio.application.delivery import ProjectRule, apply_to_project
from pmo_portfolio.domain import changes, lifecycle, reporting
from pmo_portfolio.domain.lifecycle import Act
from pmo_portfolio.domain.portfolio import Portfolio
from pmo_portfolio.domain.project import Project
from pmo_portfolio.domain.reporting import Lesson, ReportStatus
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.http import etag, metadata_for, parse_if_match
from pmo_servicekit.idempotency import IdempotencyKeyHeader, run_command

router = APIRouter(responses=PROBLEMS, tags=["projects"])
IfMatch = Annotated[str | None, Header(alias="If-Match")]
ProjectManager = Annotated[Principal, Depends(require_roles("project_manager"))]
PrimaryId = Callable[[list[Event]], str | None]


def _now() -> datetime:
    return datetime.now(UTC)


def _act(principal: Principal, rationale: str) -> Act:
    return Act(by=principal.subject, at=_now(), rationale=rationale)


def _is_pm(principal: Principal) -> bool:
    return principal.has_any("project_manager")


async def _command(
    request: Request,
    principal: Principal,
    project_id: str,
    rule: ProjectRule,
    if_match: str | None = None,
    primary: PrimaryId = lambda events: None,
    location: str | None = None,
) -> Response:
    """Run a project command (idempotent with an Idempotency-Key): 201 with what was recorded and the project."""
    expected = parse_if_match(if_match)

    async def action(uow: UnitOfWork) -> Response:
        new_events, version = await apply_to_project(uow, project_id, rule, if_match=expected)
        view, _ = await project_queries.get_project_in(uow.session, project_id)
        ident = primary(new_events)
        headers = {"ETag": etag(version)}
        if location and ident:
            headers["Location"] = location.format(id=ident)
        recorded = [{"type": e.type_name(), **e.model_dump(mode="json")} for e in new_events]
        content = {"id": ident, "recorded": recorded, "project": {**view, "version": version}}
        return JSONResponse(content, status_code=201, headers=headers)

    runtime = service(request).commands
    meta = metadata_for(request, principal)
    try:
        return await retrying(lambda: run_command(runtime, meta, request, principal, action), retry=expected is None)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


def _first(field: str) -> PrimaryId:
    return lambda events: next((getattr(e, field) for e in events if hasattr(e, field)), None)


@router.get("/projects")
async def list_projects(
    _principal: CurrentPrincipal,
    request: Request,
    portfolio_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(active|on_hold|paused|cancelled|closed)$")] = None,
    stage: Annotated[str | None, Query(pattern="^(initiate|plan|execute|close)$")] = None,
    review_overdue: bool | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    items, next_cursor = await project_queries.list_projects(
        service(request).db,
        portfolio_id=portfolio_id,
        status=status,
        stage=stage,
        review_overdue=review_overdue,
        limit=limit,
        cursor=cursor,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/projects/{project_id}")
async def read_project(
    project_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Baseline, current budget, stage, status, latest status report, change requests, review due date."""
    try:
        view, version = await project_queries.get_project(service(request).db, project_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.post("/projects/{project_id}/gates", status_code=201)
async def decide_gate(
    project_id: str, body: body_of.GateDecision, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A board member of the project's portfolio: proceed to the next stage, hold, or stop (cancels)."""
    act = _act(principal, body.rationale)
    return await _command(
        request, principal, project_id,
        lambda pf, pr: lifecycle.decide_gate(pf, pr, body.gate, body.decision, act),
        if_match, _first("decision_id"),
    )  # fmt: skip


@router.post("/projects/{project_id}/status-reports", status_code=201)
async def report_status(
    project_id: str, body: body_of.StatusReportBody, principal: ProjectManager, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A project manager reports; RAG is derived from earned value unless given (better needs a justification)."""
    command = ReportStatus(
        period_end=body.period_end,
        percent_complete=body.percent_complete,
        actual_cost=body.actual_cost,
        summary=body.summary,
        reported_by=principal.subject,
        reported_at=_now(),
        rag=(body.rag.schedule, body.rag.cost, body.rag.scope) if body.rag else None,
        justification=body.justification,
        risks=tuple(body.risks),
        issues=tuple(body.issues),
    )
    return await _command(
        request, principal, project_id, lambda pf, pr: reporting.report_status(pf, pr, command),
        primary=_first("report_id"),
    )  # fmt: skip


@router.post("/projects/{project_id}/reviews", status_code=201)
async def review(
    project_id: str, body: body_of.ReviewBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    act = _act(principal, body.notes)
    return await _command(
        request, principal, project_id,
        lambda pf, pr: reporting.review(pf, pr, body.still_aligned, body.recommendation, act),
        primary=_first("review_id"),
    )  # fmt: skip


@router.post("/projects/{project_id}/change-requests", status_code=201)
async def request_change(
    project_id: str, body: body_of.ChangeRequestBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Raised by the project manager or a board member; decided by the board."""
    command = changes.RequestChange(body.kind, body.rationale, tuple(body.budget_delta), body.new_end)
    act = _act(principal, body.rationale)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        lifecycle.check_team(pf, pr, principal.subject, is_project_manager=_is_pm(principal))
        return changes.request_change(pr, command, act)

    location = f"/projects/{project_id}/change-requests/{{id}}"
    return await _command(request, principal, project_id, rule, None, _first("change_request_id"), location)


@router.post("/projects/{project_id}/change-requests/{change_request_id}/decision", status_code=201)
async def decide_change(
    project_id: str, change_request_id: str, body: body_of.ChangeDecisionBody, principal: CurrentPrincipal,
    request: Request, if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """An approved budget increase must fit the envelope (409 envelope-exceeded); a decrease returns money."""
    act = _act(principal, body.rationale)
    return await _command(
        request, principal, project_id,
        lambda pf, pr: changes.decide_change(pf, pr, change_request_id, body.outcome, act),
        if_match, _first("change_request_id"),
    )  # fmt: skip


def _status_route(path: str, decide: Callable[[Portfolio, Project, Act], Sequence[Event]]) -> None:
    async def endpoint(
        project_id: str, body: body_of.RationaleBody, principal: CurrentPrincipal, request: Request,
        if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
    ) -> Response:  # fmt: skip
        act = _act(principal, body.rationale)
        return await _command(request, principal, project_id, lambda pf, pr: decide(pf, pr, act), if_match)

    endpoint.__name__ = f"{path}_project"
    endpoint.__doc__ = f"A board member of the project's portfolio: {path} the project, with a rationale."
    router.post(f"/projects/{{project_id}}/{path}", status_code=201)(endpoint)


_status_route("pause", lifecycle.pause)
_status_route("resume", lifecycle.resume)
_status_route("cancel", lifecycle.cancel)


def _lessons(items: Sequence[body_of.LessonBody]) -> tuple[Lesson, ...]:
    return tuple(Lesson(i.title, i.description, i.category, tuple(i.tags), i.decision_id) for i in items)


@router.post("/projects/{project_id}/close", status_code=201)
async def close(
    project_id: str, body: body_of.CloseBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """From the execute or close stage: the final cost, the lessons learned; unspent budget returns."""
    act = _act(principal, body.notes)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        closed = lifecycle.close(pf, pr, body.final_cost, act)
        return [*closed, *reporting.record_lessons(pr, _lessons(body.lessons), act.by, act.at)]

    return await _command(request, principal, project_id, rule, if_match)


@router.post("/projects/{project_id}/lessons", status_code=201)
async def record_lesson(
    project_id: str, body: body_of.LessonBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """At any time, also after closure; `decision_id` links it to the decision it concerns."""

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        lifecycle.check_team(pf, pr, principal.subject, is_project_manager=_is_pm(principal))
        return reporting.record_lessons(pr, _lessons([body]), principal.subject, _now())

    return await _command(request, principal, project_id, rule, primary=_first("lesson_id"))


@router.post("/projects/{project_id}/benefits/{benefit_id}/realisations", status_code=201)
async def realise_benefit(
    project_id: str, benefit_id: str, body: body_of.RealisationBody, principal: CurrentPrincipal,
    request: Request, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A measurement of a planned benefit, whatever the project's status (benefits come after delivery)."""

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        lifecycle.check_team(pf, pr, principal.subject, is_project_manager=_is_pm(principal))
        return reporting.realise_benefit(
            pr, benefit_id, body.measured_value, body.measured_on, body.note, principal.subject, _now()
        )

    return await _command(request, principal, project_id, rule)
