"""Project queries: one project with its baseline and delivery state, and the filtered list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_portfolio import funding
from pmo_portfolio.delivery.domain.project import LIVE, Project
from pmo_portfolio.delivery.views import projects
from pmo_portfolio.shared.errors import NotFound

DEFAULT_CADENCE = 90


def next_review_due(project: Project, cadence_days: int) -> date | None:
    since = project.last_reviewed_on or project.initiated_on
    return since + timedelta(days=cadence_days) if since else None


def project_view(project: Project, cadence_days: int, today: date) -> dict[str, Any]:
    due = next_review_due(project, cadence_days)
    hidden = {"current_reports", "retired_reports", "budget_steps", "change_requests", "budget"}
    state = project.model_dump(mode="json", exclude=hidden)
    latest = project.latest_report()
    state["id"] = state.pop("project_id")
    return {
        **state,
        "budget": [{"fiscal_period": p, "amount": format(a, "f")} for p, a in sorted(project.budget.items())],
        "bac": format(sum(project.budget.values(), Decimal(0)), "f"),
        "benefits": [
            {**b.model_dump(mode="json"), "benefit_id": key}
            for b, key in zip(project.benefits, project.benefit_ids(), strict=True)
        ],
        "latest_status_report": latest.model_dump(mode="json") if latest else None,
        "change_requests": [c.model_dump(mode="json") for c in project.change_requests.values()],
        "next_review_due": due.isoformat() if due else None,
        "review_overdue": bool(due and due < today and project.status in LIVE),
    }


async def _cadences(session: AsyncSession, portfolio_ids: set[str]) -> dict[str, int]:
    states = await funding.portfolio_states(session, portfolio_ids)
    return {portfolio_id: state.review_every_days for portfolio_id, state in states.items()}


async def get_project_in(session: AsyncSession, project_id: str) -> tuple[dict[str, Any], int]:
    row = (
        await session.execute(select(projects.c.state, projects.c.version).where(projects.c.project_id == project_id))
    ).first()
    if row is None:
        raise NotFound(f"project {project_id}")
    project = Project.model_validate(loads(row.state))
    cadence = (await _cadences(session, {project.portfolio_id})).get(project.portfolio_id, DEFAULT_CADENCE)
    return project_view(project, cadence, datetime.now(UTC).date()), row.version


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
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Filtered in SQL by portfolio, status and stage; review_overdue depends on each portfolio's cadence."""
    query = select(projects.c.project_id, projects.c.state).order_by(projects.c.project_id)
    for column, value in (
        (projects.c.portfolio_id, portfolio_id),
        (projects.c.status, status),
        (projects.c.stage, stage),
    ):
        if value:
            query = query.where(column == value)
    if cursor:
        query = query.where(projects.c.project_id > cursor)
    if review_overdue is None:
        query = query.limit(limit + 1)
    today = datetime.now(UTC).date()
    async with db.sessions() as session:
        found = [Project.model_validate(loads(r.state)) for r in (await session.execute(query)).all()]
        cadences = await _cadences(session, {p.portfolio_id for p in found})
    views = [project_view(p, cadences.get(p.portfolio_id, DEFAULT_CADENCE), today) for p in found]
    if review_overdue is not None:
        views = [v for v in views if v["review_overdue"] == review_overdue]
    page = views[:limit]
    return page, page[-1]["id"] if len(views) > limit else None
