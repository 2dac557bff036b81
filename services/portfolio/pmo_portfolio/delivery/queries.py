"""Project queries: one project with its baseline and delivery state, and the filtered list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import StatusReported
from pmo_events.envelope import loads
from pmo_events.figures.earned_value import recorded_index
from pmo_events.figures.relevance import RelatedLesson
from pmo_events.runtime import Database, EventStore
from pmo_portfolio import funding
from pmo_portfolio.delivery.domain.board_actions import is_overdue
from pmo_portfolio.delivery.domain.lessons import evolve_feedback, feedback_stream, initial_feedback, lesson_subject
from pmo_portfolio.delivery.domain.project import LIVE, Project
from pmo_portfolio.delivery.views import lessons, projects, written_project
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import amounts_of
from pmo_servicekit.contract.wire import fte_text, money_text, ratio_text

DEFAULT_CADENCE = 90
#: The amounts a status report records (the rest are ratios, RAG and text).
REPORT_MONEY = (
    "actual_cost", "bac", "planned_value", "earned_value", "schedule_variance", "cost_variance", "eac", "vac"
)  # fmt: skip
#: The indices a status report records ("undefined" in the event when nothing divides; null on the wire).
REPORT_INDICES = ("spi", "cpi")


def next_review_due(project: Project, cadence_days: int) -> date | None:
    return project.review_due(cadence_days)


def project_view(project: Project, cadence_days: int, today: date, currency: str | None = None) -> dict[str, Any]:
    """The project as clients see it; money at its portfolio's currency scale."""
    due = next_review_due(project, cadence_days)
    hidden = {"current_reports", "retired_reports", "budget_steps", "change_requests", "budget"}
    state = project.model_dump(mode="json", exclude=hidden)
    latest = project.latest_report()
    state["id"] = state.pop("project_id")
    state["baseline_budget"] = amounts_of(state.get("baseline_budget", []), currency)
    if state.get("final_cost") is not None:
        state["final_cost"] = money_text(state["final_cost"], currency)
    return {
        **state,
        "budget": amounts_of(({"fiscal_period": p, "amount": a} for p, a in sorted(project.budget.items())), currency),
        "bac": money_text(sum(project.budget.values(), Decimal(0)), currency),
        "resource_estimate": [{**e.model_dump(mode="json"), "fte": fte_text(e.fte)} for e in project.resource_estimate],
        "benefits": [
            {**b.model_dump(mode="json"), "benefit_id": key, "value_amount": _money_or_none(b.value_amount, currency)}
            for b, key in zip(project.benefits, project.benefit_ids(), strict=True)
        ],
        "latest_status_report": _report_shown(latest.model_dump(mode="json"), currency) if latest else None,
        "change_requests": [
            {**c.model_dump(mode="json"), "budget_delta": amounts_of(c.budget_delta, currency)}
            for c in project.change_requests.values()
        ],
        "forecast_end": forecast.isoformat() if (forecast := project.forecast()) else None,
        "next_review_due": due.isoformat() if due else None,
        "review_overdue": bool(due and due < today and project.status in LIVE),
    }


def _money_or_none(amount: Decimal | str | None, currency: str | None) -> str | None:
    return None if amount is None else money_text(amount, currency)


def _report_shown(report: dict[str, Any], currency: str | None) -> dict[str, Any]:
    """A status report as recorded, its amounts at the currency's scale and its indices at 4 places; a figure
    with nothing to divide by is null (the event's "undefined" for SPI and CPI), as in every answer."""
    return {
        **report,
        **{f: _money_or_none(report.get(f), currency) for f in REPORT_MONEY},
        **{f: ratio_text(recorded_index(report.get(f))) for f in REPORT_INDICES},
    }


def shown_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a command's answer echoes it: a status report's undefined SPI or CPI is null there too."""
    if event.get("type") != StatusReported.type_name():
        return event
    return {**event, **{f: ratio_text(recorded_index(event.get(f))) for f in REPORT_INDICES}}


async def _controls(session: AsyncSession, portfolio_ids: set[str]) -> dict[str, tuple[int, str]]:
    """Each portfolio's review cadence and currency."""
    states = await funding.portfolio_states(session, portfolio_ids)
    return {portfolio_id: (state.review_every_days, state.currency) for portfolio_id, state in states.items()}


async def get_project_in(
    session: AsyncSession, project_id: str, held: Callable[[str], Portfolio | None] = lambda _: None
) -> tuple[dict[str, Any], int]:
    """The project as its view has it (as this transaction wrote it, when it did: not read again); its
    portfolio's review cadence and currency from `held` (a command's unit of work, which has the portfolio's
    state in hand) or else from the portfolios view."""
    found = written_project(session, project_id)
    if found is None:
        row = (
            await session.execute(
                select(projects.c.state, projects.c.version).where(projects.c.project_id == project_id)
            )
        ).first()
        if row is None:
            raise NotFound(f"project {project_id}")
        found = row.state, row.version
    text, version = found
    return await project_from_row(text, held, lambda: session), version


async def project_from_row(
    text: str, held: Callable[[str], Portfolio | None], session: Callable[[], AsyncSession]
) -> dict[str, Any]:
    """The project as a read of its row's `text` shows it (validated as a read validates it); its portfolio's
    review cadence and currency from `held`, or else from the portfolios view (through `session()`)."""
    return await project_from_state(Project.model_validate(loads(text)), held, session)


async def project_from_state(
    project: Project, held: Callable[[str], Portfolio | None], session: Callable[[], AsyncSession]
) -> dict[str, Any]:
    """`project_from_row` of a project in hand: one whose state is what a validation of its row's text gives
    (a status report's, `views.written_state`: test `test_report_answers.py`)."""
    portfolio = held(project.portfolio_id)
    if portfolio is not None and portfolio.exists:
        cadence, currency = portfolio.review_every_days, portfolio.currency
    else:
        cadence, currency = (await _controls(session(), {project.portfolio_id})).get(
            project.portfolio_id, (DEFAULT_CADENCE, "")
        )
    return project_view(project, cadence, datetime.now(UTC).date(), currency)


async def get_project(db: Database, project_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        return await get_project_in(session, project_id)


async def list_projects(
    db: Database,
    *,
    portfolio_id: str | None,
    status: str | None,
    stage: str | None,
    review_overdue: bool | None,
    limit: int,
    after: str | None,
) -> list[dict[str, Any]]:
    """Filtered in SQL by portfolio, status and stage; review_overdue depends on each portfolio's cadence."""
    query = select(projects.c.project_id, projects.c.state).order_by(projects.c.project_id)
    for column, value in (
        (projects.c.portfolio_id, portfolio_id),
        (projects.c.status, status),
        (projects.c.stage, stage),
    ):
        if value:
            query = query.where(column == value)
    if after:
        query = query.where(projects.c.project_id > after)
    if review_overdue is None:
        query = query.limit(limit)
    today = datetime.now(UTC).date()
    async with db.sessions() as session:
        found = [Project.model_validate(loads(r.state)) for r in (await session.execute(query)).all()]
        controls = await _controls(session, {p.portfolio_id for p in found})
    views = []
    for found_project in found:
        cadence, currency = controls.get(found_project.portfolio_id, (DEFAULT_CADENCE, ""))
        views.append(project_view(found_project, cadence, today, currency))
    if review_overdue is not None:
        views = [v for v in views if v["review_overdue"] == review_overdue]
    return views[:limit]


async def project_states(session: AsyncSession, project_ids: set[str]) -> dict[str, Project]:
    """The projects with these ids as the projects view has them (unknown ids are left out)."""
    if not project_ids:
        return {}
    query = select(projects.c.project_id, projects.c.state).where(projects.c.project_id.in_(sorted(project_ids)))
    return {row.project_id: Project.model_validate(loads(row.state)) for row in await session.execute(query)}


async def live_project_ids(session: AsyncSession) -> list[str]:
    """Projects still delivering (active, on hold or paused), by id: those a review or an action can be due on."""
    query = select(projects.c.project_id).where(projects.c.status.in_(sorted(LIVE))).order_by(projects.c.project_id)
    return [row.project_id for row in await session.execute(query)]


async def board_actions_of(
    db: Database, portfolio_id: str, *, status: str | None, overdue: bool | None
) -> list[dict[str, Any]]:
    """The actions reviews opened on the portfolio's projects, soonest due first; `overdue`: open past its date."""
    today = datetime.now(UTC).date()
    query = select(projects.c.state).where(projects.c.portfolio_id == portfolio_id).order_by(projects.c.project_id)
    async with db.sessions() as session:
        found = [Project.model_validate(loads(r.state)) for r in (await session.execute(query)).all()]
    actions = [
        {
            **action.model_dump(mode="json", exclude={"action_id", "overdue_noticed"}),
            "id": action.action_id,
            "project_id": project.project_id,
            "project_title": project.title,
            "project_status": project.status,
            "overdue": is_overdue(action, today),
        }
        for project in found
        for action in project.board_actions.values()
    ]
    chosen = [
        a for a in actions if (status is None or a["status"] == status) and (overdue is None or a["overdue"] == overdue)
    ]
    return sorted(chosen, key=lambda a: (a["due_on"], a["id"]))


async def related_lessons(
    db: Database, store: EventStore, project_id: str
) -> list[tuple[RelatedLesson, dict[str, Any] | None]]:
    """The lessons other projects recorded that are most relevant to this one, most relevant first, each with
    the team's latest acknowledgement of it (None: not acknowledged)."""
    async with db.sessions() as session:
        row = (await session.execute(select(projects.c.state).where(projects.c.project_id == project_id))).first()
        if row is None:
            raise NotFound(f"project {project_id}")
        related = await lessons.related(session, lesson_subject(Project.model_validate(loads(row.state))))
        recorded = await store.load(session, feedback_stream(project_id))
    feedback = initial_feedback(feedback_stream(project_id))
    for event in recorded:
        feedback = evolve_feedback(feedback, event.decode())
    said = {i: a.model_dump(mode="json") for i, a in feedback.acknowledged.items()}
    return [(r, said.get(r.lesson.lesson_id)) for r in related]
