"""Programme queries: one programme with its status rolled up from its projects, the list, the ring-fences."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.figures.benefits import Measured, benefit_to_date, measured_number
from pmo_events.figures.earned_value import EarnedValue, from_amounts, rolled_up, worst_rag
from pmo_events.runtime import Database
from pmo_portfolio import delivery, funding
from pmo_portfolio.programmes.domain import (
    ContributingProject,
    Programme,
    ProgrammeBenefit,
    ring_fenced,
)
from pmo_portfolio.programmes.views import benefit_measurements, programme_projects, programmes
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import amounts_of
from pmo_servicekit.contract.wire import money_text, ratio_text


async def held_by_programmes(session: AsyncSession, portfolio_id: str) -> dict[str, Decimal]:
    """Per fiscal period, what the portfolio's open programmes hold in ring-fences."""
    rows = await session.execute(
        select(programmes.c.state).where(programmes.c.portfolio_id == portfolio_id, programmes.c.status == "active")
    )
    states = [Programme.model_validate(loads(row.state)) for row in rows]
    return ring_fenced({state.programme_id: state.ring_fence for state in states})


async def programme_of(session: AsyncSession, project_id: str) -> str | None:
    """The programme the project is in, if any."""
    row = (
        await session.execute(
            select(programme_projects.c.programme_id).where(programme_projects.c.project_id == project_id)
        )
    ).first()
    return row.programme_id if row else None


async def programme_portfolio(session: AsyncSession, programme_id: str) -> str | None:
    """The portfolio the programme belongs to (None: no such programme)."""
    row = (
        await session.execute(select(programmes.c.portfolio_id).where(programmes.c.programme_id == programme_id))
    ).first()
    return row.portfolio_id if row else None


async def programme_states(session: AsyncSession, programme_ids: Collection[str]) -> dict[str, Programme]:
    """The programmes with these ids as the programmes view has them (unknown ids are left out)."""
    if not programme_ids:
        return {}
    query = select(programmes.c.programme_id, programmes.c.state).where(
        programmes.c.programme_id.in_(sorted(programme_ids))
    )
    return {row.programme_id: Programme.model_validate(loads(row.state)) for row in await session.execute(query)}


def _figures(project: delivery.Project) -> EarnedValue | None:
    report = project.latest_report()
    if report is None:
        return None
    return from_amounts(bac=report.bac, pv=report.planned_value, ev=report.earned_value, ac=report.actual_cost)


def rolled_up_status(programme: Programme, members: dict[str, delivery.Project], currency: str) -> dict[str, Any]:
    """The worst RAG of the projects' latest reports, their earned value summed, projects by status."""
    reported = [p.latest_report() for p in members.values()]
    rags = [r.rag.overall for r in reported if r is not None]
    figures = [f for f in (_figures(p) for p in members.values()) if f is not None]
    total = rolled_up(figures)
    by_status: dict[str, int] = {}
    for project in members.values():
        by_status[project.status] = by_status.get(project.status, 0) + 1

    def money(value: Decimal | None) -> str | None:
        return money_text(value, currency) if value is not None else None

    evm = None
    if total is not None:
        evm = {
            "bac": money(total.bac),
            "pv": money(total.pv),
            "ev": money(total.ev),
            "ac": money(total.ac),
            "sv": money(total.sv),
            "cv": money(total.cv),
            "spi": ratio_text(total.spi),
            "cpi": ratio_text(total.cpi),
            "eac": money(total.eac),
            "vac": money(total.vac),
        }
    return {
        "worst_rag": worst_rag(rags),
        "projects_reporting": len(rags),
        "projects_by_status": [{"status": s, "count": n} for s, n in sorted(by_status.items())],
        "evm": evm,
        "manager_report": programme.latest_report.model_dump(mode="json") if programme.latest_report else None,
    }


def programme_view(programme: Programme, currency: str) -> dict[str, Any]:
    return {
        "id": programme.programme_id,
        "portfolio_id": programme.portfolio_id,
        "name": programme.name,
        "vision": programme.vision,
        "senior_responsible_owner": programme.senior_responsible_owner,
        "programme_manager": programme.programme_manager,
        "objective_ids": list(programme.objective_ids),
        "status": programme.status,
        "currency": currency,
        "ring_fence": [
            {
                "fiscal_period": period,
                "ring_fence": money_text(programme.ring_fence.get(period, Decimal(0)), currency),
                "drawn": money_text(programme.drawn.get(period, Decimal(0)), currency),
                "remaining": money_text(remaining, currency),
            }
            for period, remaining in programme.remaining_ring_fence().items()
        ],
        "projects": [
            {"project_id": project_id, "budget": amounts_of(budget, currency)}
            for project_id, budget in programme.projects.items()
        ],
        "tranches": [t.model_dump(mode="json") for t in programme.ordered_tranches()],
    }


async def _currency(session: AsyncSession, portfolio_id: str) -> str:
    states = await funding.portfolio_states(session, {portfolio_id})
    return states[portfolio_id].currency if portfolio_id in states else ""


async def read_programme_in(session: AsyncSession, programme_id: str) -> tuple[dict[str, Any], int]:
    """The programme with its status rolled up from its projects as they are now."""
    row = (
        await session.execute(
            select(programmes.c.state, programmes.c.version).where(programmes.c.programme_id == programme_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"programme {programme_id}")
    programme = Programme.model_validate(loads(row.state))
    return await answer_in(session, programme), row.version


async def answer_in(session: AsyncSession, programme: Programme) -> dict[str, Any]:
    currency = await _currency(session, programme.portfolio_id)
    members = await delivery.project_states(session, set(programme.projects))
    measured = await measurements_of(session, set(programme.projects))
    today = datetime.now(UTC).date()
    return {
        **programme_view(programme, currency),
        "status_rollup": rolled_up_status(programme, members, currency),
        "benefits_map": [benefit_view(b, measured, today, currency) for b in programme.benefits.values()],
    }


def contributing(project: delivery.Project, currency: str | None) -> ContributingProject:
    """A project's planned benefits with the unit each is measured in ("" a bare number, None words)."""
    units = {
        benefit_id: (delivery.unit_of(benefit, currency) or "") if delivery.is_quantitative(benefit) else None
        for benefit_id, benefit in zip(project.benefit_ids(), project.benefits, strict=True)
    }
    return ContributingProject(project.project_id, units)


async def measurements_of(session: AsyncSession, project_ids: Collection[str]) -> dict[tuple[str, str], list[Measured]]:
    """The numeric measurements of the projects' benefits, by (project, benefit), in the order recorded."""
    if not project_ids:
        return {}
    rows = await session.execute(
        select(benefit_measurements)
        .where(benefit_measurements.c.project_id.in_(sorted(project_ids)))
        .order_by(benefit_measurements.c.recorded_at, benefit_measurements.c.event_id)
    )
    measured: dict[tuple[str, str], list[Measured]] = {}
    for row in rows:
        value = measured_number(row.measured_value)
        if value is not None:
            measured.setdefault((row.project_id, row.benefit_id), []).append(Measured(row.measured_on, value))
    return measured


def _value_text(value: Decimal, unit: str, currency: str) -> str:
    """In the currency's places when the benefit is money, else to two places."""
    return money_text(value, currency) if unit == currency else format(value.quantize(Decimal("0.01")), "f")


def benefit_view(
    benefit: ProgrammeBenefit, measured: dict[tuple[str, str], list[Measured]], day: date, currency: str
) -> dict[str, Any]:
    """A benefit of the map: its profile, what is planned and realised by `day`, each contribution's part."""
    to_date = benefit_to_date(benefit.profile, benefit.contributions.values(), measured, day)

    def text(value: Decimal) -> str:
        return _value_text(value, benefit.unit, currency)

    def measured_text(value: Decimal) -> str:
        """A measurement as recorded; money at the currency's scale."""
        return money_text(value, currency) if benefit.unit == currency else format(value, "f")

    return {
        "benefit_id": benefit.benefit_id,
        "description": benefit.description,
        "owner": benefit.owner,
        "unit": benefit.unit,
        "profile": [{"on": p.on.isoformat(), "planned_value": text(p.planned_value)} for p in benefit.profile],
        "as_of": day.isoformat(),
        "planned_to_date": text(to_date.planned),
        "realised_to_date": text(to_date.realised),
        "contributions": [
            {
                "project_id": c.project_id,
                "project_benefit_id": c.project_benefit_id,
                "share": format(c.share, "f"),
                "measured_value": measured_text(c.latest.value) if c.latest else None,
                "measured_on": c.latest.measured_on.isoformat() if c.latest else None,
                "contributed": text(c.contributed),
            }
            for c in to_date.contributions
        ],
    }


async def read_programme(db: Database, programme_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        return await read_programme_in(session, programme_id)


async def list_programmes(
    db: Database, *, portfolio_id: str | None, status: str | None, limit: int, after: str | None
) -> list[dict[str, Any]]:
    """Up to `limit` programmes in id order after `after`, filtered by portfolio and status."""
    query = select(programmes.c.state).order_by(programmes.c.programme_id).limit(limit)
    if portfolio_id:
        query = query.where(programmes.c.portfolio_id == portfolio_id)
    if status:
        query = query.where(programmes.c.status == status)
    if after:
        query = query.where(programmes.c.programme_id > after)
    async with db.sessions() as session:
        found = [Programme.model_validate(loads(r.state)) for r in (await session.execute(query)).all()]
        currencies = {p.portfolio_id: await _currency(session, p.portfolio_id) for p in found}
    views = []
    for programme in found:
        views.append(programme_view(programme, currencies[programme.portfolio_id]))
    return views
