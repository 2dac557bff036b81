"""What a project reports and learns: status reports with derived RAG, reviews, lessons, benefits realised."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import AlignmentReviewed, BenefitRealised, LessonRecorded, StatusReported
from pmo_portfolio.domain.earned_value import better_dimensions, derived_rag, earned_value, rag, shown
from pmo_portfolio.domain.errors import InvalidCommand, NotFound
from pmo_portfolio.domain.lifecycle import Act, check_board, check_live, existing
from pmo_portfolio.domain.portfolio import Portfolio
from pmo_portfolio.domain.project import Project


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
    figures = earned_value(
        project.budget, project.timeline, command.period_end, command.percent_complete, command.actual_cost
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


def review(portfolio: Portfolio, project: Project, still_aligned: bool, recommendation: str, act: Act) -> list[Event]:
    """The board's periodic strategic-alignment review; `act.rationale` holds the notes."""
    existing(project)
    check_board(portfolio, project, act.by)
    check_live(project, "be reviewed")
    return [
        AlignmentReviewed(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            review_id=str(uuid.uuid4()),
            still_aligned=still_aligned,
            recommendation=recommendation,  # type: ignore[arg-type]
            notes=act.rationale,
            reviewed_by=act.by,
            reviewed_at=act.at,
        )
    ]


@dataclass(frozen=True)
class Lesson:
    title: str
    description: str
    category: str
    tags: tuple[str, ...] = ()
    decision_id: str | None = None


def record_lessons(project: Project, lessons: tuple[Lesson, ...], by: str, at: datetime) -> list[Event]:
    """Lessons are welcome at any time, also after closure or cancellation."""
    existing(project)
    return [
        LessonRecorded(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            lesson_id=str(uuid.uuid4()),
            recorded_by=by,
            recorded_at=at,
            **lesson.__dict__,
        )
        for lesson in lessons
    ]


def realise_benefit(
    project: Project, benefit_id: str, measured_value: str, measured_on: date, note: str | None, by: str, at: datetime
) -> list[Event]:
    """A measurement of one of the project's planned benefits, in any status: also long after closure."""
    existing(project)
    if benefit_id not in project.benefit_ids():
        raise NotFound(f"benefit {benefit_id} of project {project.project_id}")
    return [
        BenefitRealised(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            benefit_id=benefit_id,
            measured_value=measured_value,
            measured_on=measured_on,
            note=note,
            recorded_by=by,
            recorded_at=at,
        )
    ]
