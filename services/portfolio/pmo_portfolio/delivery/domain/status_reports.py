"""Status reports: progress and actual cost per period, with earned value and RAG derived from the figures."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import StatusReported
from pmo_events.figures.days import Span
from pmo_events.figures.earned_value import earned_value, shown
from pmo_events.figures.fiscal import CALENDAR_YEAR
from pmo_portfolio.delivery.domain.earned_value import better_dimensions, derived_rag, rag
from pmo_portfolio.delivery.domain.lifecycle import check_live, existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.shared.errors import InvalidCommand


@dataclass(frozen=True)
class ReportStatus:
    period_end: date
    percent_complete: Decimal
    actual_cost: Decimal
    summary: str
    reported_by: str
    reported_at: datetime
    rag: tuple[str, str, str] | None = None  # schedule, cost, scope
    justification: str | None = None
    risks: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()


def report_status(portfolio: Portfolio, project: Project, command: ReportStatus) -> list[Event]:
    """Derive EV and RAG from the budget; a manual RAG better than the figures needs a justification."""
    existing(project)
    check_live(project, "report status")
    if not 0 <= command.percent_complete <= 100:
        raise InvalidCommand("percent_complete", "percent complete is between 0 and 100")
    if command.actual_cost < 0:
        raise InvalidCommand("actual_cost", "an actual cost cannot be negative")
    timeline = project.timeline
    span = Span(timeline.start, timeline.end) if timeline.start and timeline.end else None
    figures = earned_value(
        project.budget, CALENDAR_YEAR, span, command.period_end, command.percent_complete, command.actual_cost
    )
    derived = derived_rag(figures, portfolio.green_at, portfolio.amber_at)
    manual = rag(*command.rag) if command.rag else None
    if manual and better_dimensions(manual, derived) and not (command.justification or "").strip():
        better = ", ".join(better_dimensions(manual, derived))
        raise InvalidCommand("justification", f"the RAG given is better than the figures on {better}: justify it")
    return [
        StatusReported(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            report_id=str(uuid.uuid4()),
            period_end=command.period_end,
            percent_complete=command.percent_complete,
            actual_cost=command.actual_cost,
            bac=figures.bac,
            planned_value=figures.pv,
            earned_value=figures.ev,
            spi=shown(figures.spi),
            cpi=shown(figures.cpi),
            rag=manual or derived,
            derived_rag=derived,
            rag_source="manual" if manual else "derived",
            justification=command.justification,
            summary=command.summary,
            risks=command.risks,
            issues=command.issues,
            correction_of=project.reports.get(command.period_end.isoformat()),
            reported_by=command.reported_by,
            reported_at=command.reported_at,
        )
    ]
