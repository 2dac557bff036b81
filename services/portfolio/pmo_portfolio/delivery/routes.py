"""HTTP API of projects: reading them, every delivery command (gates, reports, changes, closure...), and the
portfolio's delivery controls (RAG tolerances, review cadence)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio.delivery import ChangeOutcome
from pmo_events.runtime import UnitOfWork
from pmo_portfolio import calendar, funding
from pmo_portfolio.delivery import commands
from pmo_portfolio.delivery import queries as project_queries
from pmo_portfolio.delivery import schemas as body_of
from pmo_portfolio.delivery import views as project_views
from pmo_portfolio.delivery.commands import PROJECT, ProjectRule, append_feedback, apply_to_project
from pmo_portfolio.delivery.domain import (
    alignment_reviews,
    benefits,
    change_requests,
    controls,
    gates,
    lessons,
    lifecycle,
    status_reports,
)
from pmo_portfolio.delivery.domain.lessons import Lesson
from pmo_portfolio.delivery.domain.lifecycle import Act
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.delivery.domain.status_reports import ReportStatus
from pmo_portfolio.delivery.queries import shown_event
from pmo_portfolio.delivery.responses import ProjectPage, ProjectView, Recorded
from pmo_portfolio.delivery.views import lessons as lesson_library
from pmo_portfolio.funding import PortfolioView
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.governance.responses import MotionView
from pmo_portfolio.shared.errors import NotFound, check_amount_scale, check_scale
from pmo_portfolio.shared.http import (
    ANALYST,
    PORTFOLIO_BOARD,
    PORTFOLIO_OWNER,
    PROJECT_BOARD,
    PROJECT_MANAGER,
    PROJECT_TEAM,
)
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import CommandAction, run_command
from pmo_servicekit.contract.lessons import (
    LessonAcknowledgementBody,
    LessonAcknowledgementView,
    RelatedLessonPage,
    RelatedLessonView,
)
from pmo_servicekit.contract.paging import Paging, keyset_page, slice_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, PathId, PathText, answer, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
NOT_FOUND = {404: "no such project"}
RULES = {409: "the project's state (or the envelope, `envelope-exceeded`) forbids it"}
#: Who acts on a project: its portfolio's board decides; its assigned project manager reports and raises changes.
ON_THE_BOARD = allow("board_member", owner=PROJECT_BOARD)
MANAGER = allow("project_manager", "pmo_analyst", "admin", owner=PROJECT_MANAGER, exempt=["pmo_analyst", "admin"])
TEAM = allow(
    "project_manager", "board_member", "pmo_analyst", "admin", owner=PROJECT_TEAM, exempt=["pmo_analyst", "admin"]
)
PrimaryId = Callable[[list[Event]], str | None]


def recording_route(summary: str, *problems: int) -> dict[str, Any]:
    """A delivery command's route: 201, what it recorded and the project after it (ETag, Location)."""
    notes = {**NOT_FOUND, **RULES}
    return {
        "status_code": 201,
        "tags": ["projects"],
        "summary": summary,
        "response_model": Recorded,
        "responses": answers(404, 409, *problems, status=201, etag=True, location=True, notes=notes),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def act_now(principal: Principal, rationale: str) -> Act:
    return Act(by=principal.subject, at=_now(), rationale=rationale)


def _is_pm(principal: Principal) -> bool:
    return principal.has_any("project_manager")


def _is_steward(principal: Principal) -> bool:
    """pmo_analysts and admins act on any project (the ownership rules' exempt roles)."""
    return principal.has_any("pmo_analyst", "admin")


def _check_team(portfolio: Portfolio, project: Project, principal: Principal) -> None:
    is_pm, is_steward = _is_pm(principal), _is_steward(principal)
    lifecycle.check_team(portfolio, project, principal.subject, is_project_manager=is_pm, is_steward=is_steward)


def recorded_command(
    project_id: str,
    rule: ProjectRule,
    *,
    if_match: int | None = None,
    primary: PrimaryId = lambda events: None,
    location: str | None = None,
) -> CommandAction:
    """A project command: 201 with what was recorded and the project after it (ETag: the project's version)."""
    return recorded_by(
        project_id, lambda uow: apply_to_project(uow, project_id, rule, if_match=if_match), primary, location
    )


def recorded_by(
    project_id: str,
    decide: Callable[[UnitOfWork], Awaitable[tuple[list[Event], int]]],
    primary: PrimaryId = lambda events: None,
    location: str | None = None,
    written: Callable[[], Project | None] = lambda: None,
) -> CommandAction:
    """`decide` in the command's transaction, answered as every project command is (`recorded_command`).
    `written`: the project as the command writes its row with its last write, if it does (no session): the
    state a read of that row validates (`views.written_state`)."""

    async def action(uow: UnitOfWork) -> Response:
        new_events, version = await decide(uow)
        held = lambda portfolio_id: uow.folded_state(funding.PORTFOLIO, portfolio_id)  # noqa: E731
        project = written()
        if project is not None:
            view = await project_queries.project_from_state(project, held, lambda: uow.session)
        else:
            view, _ = await project_queries.get_project_in(uow.session, project_id, held)
        ident = primary(new_events)
        recorded = [shown_event({"type": e.type_name(), **e.model_dump(mode="json")}) for e in new_events]
        content = {"id": ident, "recorded": recorded, "project": {**view, "version": version}}
        where = location.format(id=ident) if location and ident else f"/projects/{project_id}"
        # The model written straight to JSON: the bytes `model_dump(mode="json")` through JSONResponse gave (no
        # float in a project or an event), without the dict and the `json.dumps` pass over it.
        return answer(Recorded.model_validate(content), version, status_code=201, location=where)

    return action


def _with_rationale(
    project_id: str, decide: Callable[[Portfolio, Project, Act], Sequence[Event]], act: Act, if_match: int | None
) -> CommandAction:
    """Pause, resume, cancel: a board decision with nothing but a rationale."""
    return recorded_command(project_id, lambda pf, pr: decide(pf, pr, act), if_match=if_match)


def first_of(field: str) -> PrimaryId:
    return lambda events: next((getattr(e, field) for e in events if hasattr(e, field)), None)


@router.get(
    "/projects",
    tags=["projects"],
    summary="List projects by portfolio or status",
    response_model=ProjectPage,
    **allow("viewer"),
)
async def list_projects(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(active|on_hold|paused|cancelled|closed)$")] = None,
    stage: Annotated[str | None, Query(pattern="^(initiate|plan|execute|close)$")] = None,
    review_overdue: bool | None = None,
) -> ProjectPage:
    """Projects in id order, filtered by portfolio, status, stage and an overdue alignment review."""
    items = await project_queries.list_projects(
        service_runtime(request).db,
        portfolio_id=portfolio_id,
        status=status,
        stage=stage,
        review_overdue=review_overdue,
        limit=paging.limit + 1,
        after=paging.after_id(),
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return ProjectPage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/projects/{project_id}",
    tags=["projects"],
    summary="Read one project and its delivery",
    response_model=ProjectView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_project(
    project_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Baseline, current budget, stage, status, latest status report, change requests, review due date."""
    view, version = await project_queries.get_project(service_runtime(request).db, project_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.get(
    "/projects/{project_id}/related-lessons",
    tags=["projects"],
    summary="List the lessons most relevant to a project",
    response_model=RelatedLessonPage,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def list_related_lessons(
    project_id: PathId, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> RelatedLessonPage:
    """Lessons other projects recorded that share this project's category words, tags or wording, best first."""
    runtime = service_runtime(request)
    related = await project_queries.related_lessons(runtime.db, runtime.store, project_id)
    page, next_cursor = slice_page(related, paging, key=lambda r: [r[0].lesson.lesson_id])
    return RelatedLessonPage(items=[RelatedLessonView.of(r, said) for r, said in page], next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/related-lessons/{lesson_id}/acknowledge",
    tags=["projects"],
    summary="Acknowledge a lesson: whether it applies to the project, and why",
    response_model=LessonAcknowledgementView,
    responses=answers(403, 404, etag=True, notes={404: "no such project, or no such lesson"}),
    **TEAM,
)
async def acknowledge_lesson(
    project_id: PathId,
    lesson_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
    body: LessonAcknowledgementBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The project's team (its project managers, the portfolio's board) says whether the lesson applies.

    Recorded as `ProjectLessonAcknowledged` with who, when, why and whether it applies; the latest word counts;
    the ETag is the version of the project's lesson stream."""
    now = _now()

    async def action(uow: UnitOfWork) -> Response:
        project = await uow.load(PROJECT, project_id)
        if project.state.status == "none":
            raise NotFound(f"project {project_id}")
        portfolio = await uow.load(funding.PORTFOLIO, project.state.portfolio_id)
        _check_team(portfolio.state, project.state, principal)
        if not await lesson_library.knows(uow.session, lesson_id):
            raise NotFound(f"lesson {lesson_id}")
        said = lessons.acknowledge(
            project.state, lesson_id, applies=body.applies, note=body.note, by=principal.subject, at=now
        )
        state, version = await append_feedback(uow, project_id, said)
        view = LessonAcknowledgementView.model_validate(state.acknowledged[lesson_id].model_dump(mode="json"))
        return answer(view.model_dump(mode="json"), version)

    return await run_command(request, principal, action)


@router.post(
    "/projects/{project_id}/gates", **recording_route("Decide a project's stage gate", 403, 412), **ON_THE_BOARD
)
async def decide_gate(
    project_id: PathId, body: body_of.GateDecision, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A board member of the project's portfolio: proceed to the next stage, hold, or stop (cancels)."""
    act = act_now(principal, body.rationale)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        return gates.decide_gate(pf, pr, body.gate, body.decision, act)

    action = recorded_command(project_id, rule, if_match=if_match, primary=first_of("decision_id"))
    return await run_command(request, principal, action)


@router.post(
    "/projects/{project_id}/status-reports", **recording_route("Record a project status report", 403), **MANAGER
)
async def record_status_report(
    project_id: PathId, body: body_of.StatusReportBody, principal: CurrentPrincipal, request: Request,
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
        forecast_end=body.forecast_end,
        raid_item_ids=tuple(body.raid_item_ids),
        supersedes=body.supersedes,
        correction_reason=body.correction_reason,
    )

    async def action(uow: UnitOfWork) -> Response:
        # And the dependency graph (`READ_WITH_REPORTS`): `reassess_dependencies` reads it (before the write).
        await commands.load_project_together(
            uow, project_id, calendar.FISCAL_CALENDAR_STREAM, of_portfolio=commands.READ_WITH_REPORTS
        )
        fiscal = await calendar.fiscal_calendar(uow)
        written: list[Project] = []

        def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
            lifecycle.check_manager(pr, principal.subject, is_steward=_is_steward(principal))
            check_amount_scale(command.actual_cost, pf.currency, "actual_cost")
            return status_reports.report_status(pf, pr, command, fiscal)

        async def row(state: Project, version: int) -> bool:
            # On PostgreSQL the event, its outbox record and the project's row in one statement, no session.
            text = await project_views.guard_report_row(uow, state, version)
            written.extend(() if text is None else (project_views.written_state(state, text),))
            return text is not None

        decide = lambda uow: apply_to_project(uow, project_id, rule, row=row)  # noqa: E731
        reported = recorded_by(project_id, decide, first_of("report_id"), written=lambda: next(iter(written), None))
        return await reported(uow)

    return await run_command(request, principal, action)


@router.put(
    "/projects/{project_id}/manager",
    **recording_route("Change a project's manager", 403, 412),
    **allow("viewer", "pmo_analyst", "admin", owner=PORTFOLIO_OWNER, exempt=["pmo_analyst", "admin"]),
)
async def change_project_manager(
    project_id: PathId, body: body_of.ManagerChange, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """The project changes hands (`ProjectManagerAssigned`, with the reason): from now on only the new project
    manager reports on it and raises its changes, and resourcing and reporting follow the event."""
    act = act_now(principal, body.reason)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        return lifecycle.assign_manager(pf, pr, body.project_manager, act, is_steward=_is_steward(principal))

    return await run_command(request, principal, recorded_command(project_id, rule, if_match=if_match))


@router.post(
    "/projects/{project_id}/status-reports/{report_id}/withdraw",
    **recording_route("Withdraw a status report entered in error", 403),
    **TEAM,
)
async def withdraw_status_report(
    project_id: PathId, report_id: PathId, body: body_of.WithdrawalBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """The project manager or a board member withdraws a report entered in error; it stays in the history."""
    act = act_now(principal, body.reason)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        _check_team(pf, pr, principal)
        return status_reports.withdraw_report(pr, report_id, act)

    return await run_command(request, principal, recorded_command(project_id, rule))


@router.post(
    "/projects/{project_id}/reviews", **recording_route("Record a strategic alignment review", 403), **ON_THE_BOARD
)
async def record_alignment_review(
    project_id: PathId, body: body_of.ReviewBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """The board's strategic-alignment review of the project: still aligned, and what to do."""
    act = act_now(principal, body.notes)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        return alignment_reviews.review(pf, pr, body.still_aligned, body.recommendation, act)

    return await run_command(request, principal, recorded_command(project_id, rule, primary=first_of("review_id")))


@router.post("/projects/{project_id}/change-requests", **recording_route("Request a change to a project", 403), **TEAM)
async def request_change(
    project_id: PathId, body: body_of.ChangeRequestBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Raised by the project manager or a board member; decided by the board."""
    command = change_requests.RequestChange(
        body.kind, body.rationale, tuple(p.value() for p in body.budget_delta), body.new_end, body.effective_on
    )
    act = act_now(principal, body.rationale)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        _check_team(pf, pr, principal)
        check_scale([p.value() for p in body.budget_delta], pf.currency, "budget_delta")
        return change_requests.request_change(pr, command, act)

    location = f"/projects/{project_id}/change-requests/{{id}}"
    action = recorded_command(project_id, rule, primary=first_of("change_request_id"), location=location)
    return await run_command(request, principal, action)


@router.post(
    "/projects/{project_id}/change-requests/{change_request_id}/decision",
    **recording_route("Decide a project change request now (delegated, or a board of one)", 403, 412),
    **ON_THE_BOARD,
)
async def decide_change_request(
    project_id: PathId, change_request_id: PathId, body: body_of.ChangeDecisionBody, principal: CurrentPrincipal,
    request: Request, if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """The ladder on the change's delta (its increases): the charter's portfolio manager decides alone below the
    delegated threshold (`authority: delegated`); a board member of the project's portfolio decides when their own
    vote on the motion meets the charter's rule (a board of one: `authority: board`). Otherwise 409
    `board-vote-needed` and nothing is recorded: put it to the board with `POST .../motions`. Neither the change's
    requester nor the project's requester or sponsor decides it (403 conflict-of-interest). An approved budget
    increase must fit the envelope (409 envelope-exceeded); a decrease returns money."""
    act = act_now(principal, body.rationale)
    verb: ChangeOutcome = "approve" if body.outcome == "approved" else "reject"

    def decide(uow: UnitOfWork) -> Awaitable[tuple[list[Event], int]]:
        return commands.decide_change_request(uow, project_id, change_request_id, verb, act, if_match=if_match)

    return await run_command(request, principal, recorded_by(project_id, decide, first_of("change_request_id")))


@router.post(
    "/projects/{project_id}/change-requests/{change_request_id}/motions",
    status_code=201,
    tags=["projects"],
    summary="Put a project change request to the board's vote",
    response_model=MotionView,
    responses=answers(403, 404, 409, status=201, etag=True, location=True, notes={**NOT_FOUND, **RULES}),
    **allow("board_member", owner=PORTFOLIO_BOARD),
)
async def move_change_request(
    project_id: PathId, change_request_id: PathId, body: body_of.ChangeDecisionBody, principal: CurrentPrincipal,
    request: Request, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A member of the project's board moves approving or rejecting the change and votes for it; the others vote
    (`POST /portfolios/{id}/motions/{mid}/votes`); the vote that carries it decides the change (and moves the
    envelope) in the same transaction, with every vote. The change's requester and the project's requester and
    sponsor may not move it or vote on it (403 conflict-of-interest)."""
    act = act_now(principal, body.rationale)
    verb: ChangeOutcome = "approve" if body.outcome == "approved" else "reject"

    async def action(uow: UnitOfWork) -> Response:
        motion, version = await commands.move_change(uow, project_id, change_request_id, verb, act)
        location = f"/portfolios/{motion['portfolio_id']}/motions/{motion['id']}"
        view = MotionView.model_validate(motion).model_dump(mode="json")
        return answer(view, version, status_code=201, location=location)

    return await run_command(request, principal, action)


@router.post("/projects/{project_id}/pause", **recording_route("Pause an active project", 403, 412), **ON_THE_BOARD)
async def pause_project(
    project_id: PathId, body: body_of.RationaleBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A board member of the project's portfolio pauses an active project, with a rationale."""
    action = _with_rationale(project_id, lifecycle.pause, act_now(principal, body.rationale), if_match)
    return await run_command(request, principal, action)


@router.post("/projects/{project_id}/resume", **recording_route("Resume a paused project", 403, 412), **ON_THE_BOARD)
async def resume_project(
    project_id: PathId, body: body_of.RationaleBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A board member of the project's portfolio resumes a paused project, with a rationale."""
    action = _with_rationale(project_id, lifecycle.resume, act_now(principal, body.rationale), if_match)
    return await run_command(request, principal, action)


@router.post(
    "/projects/{project_id}/cancel", **recording_route("Cancel a project and release budget", 403, 412), **ON_THE_BOARD
)
async def cancel_project(
    project_id: PathId, body: body_of.RationaleBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A board member of the project's portfolio cancels it; the unspent budget returns to the envelope."""
    action = _with_rationale(project_id, lifecycle.cancel, act_now(principal, body.rationale), if_match)
    return await run_command(request, principal, action)


def _lessons(items: Sequence[body_of.LessonBody]) -> tuple[Lesson, ...]:
    return tuple(Lesson(i.title, i.description, i.category, tuple(i.tags), i.decision_id) for i in items)


@router.post(
    "/projects/{project_id}/close", **recording_route("Close a project with its lessons", 403, 412), **ON_THE_BOARD
)
async def close_project(
    project_id: PathId, body: body_of.CloseBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """From the execute or close stage: the final cost, the lessons learned; unspent budget returns."""
    act = act_now(principal, body.notes)

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        check_amount_scale(body.final_cost, pf.currency, "final_cost")
        closed = lifecycle.close(pf, pr, body.final_cost, act)
        return [*closed, *lessons.record_lessons(pr, _lessons(body.lessons), act.by, act.at)]

    return await run_command(request, principal, recorded_command(project_id, rule, if_match=if_match))


@router.post("/projects/{project_id}/lessons", **recording_route("Record a lesson learned", 403), **TEAM)
async def record_lesson(
    project_id: PathId, body: body_of.LessonBody, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """At any time, also after closure; `decision_id` links it to the decision it concerns."""

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        _check_team(pf, pr, principal)
        return lessons.record_lessons(pr, _lessons([body]), principal.subject, _now())

    return await run_command(request, principal, recorded_command(project_id, rule, primary=first_of("lesson_id")))


@router.post(
    "/projects/{project_id}/benefits/{benefit_id}/realisations",
    **recording_route("Record a benefit realisation", 403),
    **TEAM,
)
async def record_benefit_realisation(
    project_id: PathId, benefit_id: PathText, body: body_of.RealisationBody, principal: CurrentPrincipal,
    request: Request, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A measurement of a planned benefit, whatever the project's status (benefits come after delivery)."""

    def rule(pf: Portfolio, pr: Project) -> Sequence[Event]:
        _check_team(pf, pr, principal)
        measured = benefits.Measurement(body.measured_value, body.measured_on, body.unit, body.note)
        return benefits.realise_benefit(pr, benefit_id, measured, pf.currency, principal.subject, _now())

    return await run_command(request, principal, recorded_command(project_id, rule))


@router.put(
    "/portfolios/{portfolio_id}/rag-tolerances",
    tags=["portfolios"],
    summary="Replace the derived RAG tolerances",
    response_model=PortfolioView,
    responses=answers(404, 409, 412, etag=True, notes={404: "no such portfolio"}),
    **ANALYST,
)
async def replace_rag_tolerances(
    portfolio_id: PathId, body: body_of.RagTolerancesBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Derived RAG thresholds on SPI and CPI (default green ≥ 0.95, amber ≥ 0.90, red below)."""

    def rule(state: Portfolio) -> Sequence[Event]:
        return controls.set_rag_tolerances(state, body.green_at, body.amber_at, principal.subject)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(PortfolioView, funding.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
        ),
    )


@router.put(
    "/portfolios/{portfolio_id}/review-cadence",
    tags=["portfolios"],
    summary="Replace the alignment review cadence",
    response_model=PortfolioView,
    responses=answers(404, 409, 412, etag=True, notes={404: "no such portfolio"}),
    **ANALYST,
)
async def replace_review_cadence(
    portfolio_id: PathId, body: body_of.ReviewCadenceBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Every project of the portfolio is due for an alignment review this many days after the last one."""

    def rule(state: Portfolio) -> Sequence[Event]:
        return controls.set_review_cadence(state, body.every_days, principal.subject, body.action_due_days)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(PortfolioView, funding.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
        ),
    )
