"""Status reports: progress and actual cost per period, with the earned value and RAG of that moment recorded.

A report is dated within the project's life, never after the day it is made; it can be superseded by a
correction (with a reason) or withdrawn (with a reason); both stay in the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import StatusReported, StatusReportWithdrawn
from pmo_events.contracts.portfolio.delivery import Rag
from pmo_events.figures.days import Span
from pmo_events.figures.earned_value import EarnedValue, earned_value, shown
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar
from pmo_portfolio.delivery.domain.earned_value import better_dimensions, derived_rag, rag
from pmo_portfolio.delivery.domain.lifecycle import Act, check_live, existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation


@dataclass(frozen=True)
class ReportStatus:
    period_end: date
    percent_complete: Decimal
    actual_cost: Decimal
    summary: str
    reported_by: str
    reported_at: datetime
    rag: tuple[Rag, Rag, Rag] | None = None  # schedule, cost, scope
    justification: str | None = None
    risks: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    forecast_end: date | None = None
    raid_item_ids: tuple[str, ...] = ()
    #: The report this one corrects (any period end), with why.
    supersedes: str | None = None
    correction_reason: str | None = None


def check_report_date(project: Project, period_end: date, today: date) -> None:
    """A report covers the project's life so far: from its start up to today, not before, not after."""
    start = project.start()
    if period_end > today:
        raise InvalidCommand("period_end", f"a status report cannot be dated after today ({today.isoformat()})")
    if start is not None and period_end < start:
        raise InvalidCommand(
            "period_end", f"a status report cannot be dated before the project's start ({start.isoformat()})"
        )


def _current(project: Project, report_id: str) -> StatusReported:
    if report_id in project.retired_reports:
        raise RuleViolation(f"status report {report_id} is already {project.retired_reports[report_id]}")
    report = project.current_reports.get(report_id)
    if report is None:
        raise NotFound(f"status report {report_id} of project {project.project_id}")
    return report


def _corrected(project: Project, command: ReportStatus) -> str | None:
    """The report this one supersedes: the one named, or the current report of the same period end."""
    same_period = project.report_for(command.period_end)
    if command.supersedes is None:
        return same_period.report_id if same_period else None
    _current(project, command.supersedes)
    if not (command.correction_reason or "").strip():
        raise InvalidCommand("correction_reason", "a report that supersedes another says why")
    if same_period is not None and same_period.report_id != command.supersedes:
        raise RuleViolation(
            f"period end {command.period_end.isoformat()} already has status report {same_period.report_id}: "
            "correct that one, or withdraw it first"
        )
    return command.supersedes


def _figures(project: Project, calendar: FiscalCalendar, command: ReportStatus) -> EarnedValue:
    """The figures with the budget in force at the period end (budget changes count from their effective day)."""
    timeline = project.timeline
    span = Span(timeline.start, timeline.end) if timeline.start and timeline.end else None
    budget = project.budget_on(command.period_end)
    return earned_value(budget, calendar, span, command.period_end, command.percent_complete, command.actual_cost)


def report_status(
    portfolio: Portfolio, project: Project, command: ReportStatus, calendar: FiscalCalendar = CALENDAR_YEAR
) -> list[Event]:
    """Record EV and RAG as they are now; a manual RAG better than the figures needs a justification."""
    existing(project)
    check_live(project, "report status")
    check_report_date(project, command.period_end, command.reported_at.date())
    if not 0 <= command.percent_complete <= 100:
        raise InvalidCommand("percent_complete", "percent complete is between 0 and 100")
    if command.actual_cost < 0:
        raise InvalidCommand("actual_cost", "an actual cost cannot be negative")
    correction_of = _corrected(project, command)
    figures = _figures(project, calendar, command)
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
            schedule_variance=figures.sv,
            cost_variance=figures.cv,
            eac=figures.eac,
            vac=figures.vac,
            rag=manual or derived,
            derived_rag=derived,
            rag_source="manual" if manual else "derived",
            green_at=portfolio.green_at,
            amber_at=portfolio.amber_at,
            justification=command.justification,
            summary=command.summary,
            risks=command.risks,
            issues=command.issues,
            forecast_end=command.forecast_end,
            raid_item_ids=command.raid_item_ids,
            correction_of=correction_of,
            correction_reason=(command.correction_reason or "").strip() or None,
            reported_by=command.reported_by,
            reported_at=command.reported_at,
        )
    ]


def withdraw_report(project: Project, report_id: str, act: Act) -> list[Event]:
    """A report entered in error stops counting (it is no longer the latest, nor in the EVM series); kept."""
    existing(project)
    check_live(project, "withdraw a status report")
    _current(project, report_id)
    if not act.rationale.strip():
        raise InvalidCommand("reason", "a withdrawal says why")
    return [
        StatusReportWithdrawn(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            report_id=report_id,
            reason=act.rationale,
            withdrawn_by=act.by,
            withdrawn_at=act.at,
        )
    ]
