"""A project's life: pause and resume, cancellation and closure releasing money; who may act, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    Conflict,
    ProjectBudgetChanged,
    ProjectCancelled,
    ProjectClosed,
    ProjectManagerAssigned,
    ProjectPaused,
    ProjectResumed,
)
from pmo_events.contracts.portfolio.funding import BudgetChangeCause
from pmo_events.figures.fiscal import CALENDAR_YEAR
from pmo_portfolio.delivery.domain.project import LIVE, Project
from pmo_portfolio.funding.domain import Portfolio, check_board_member, negated
from pmo_portfolio.governance.domain import automatic_conflicts
from pmo_portfolio.shared.errors import InvalidCommand, NotAuthorised, NotFound, RuleViolation

ZERO = Decimal(0)


@dataclass(frozen=True)
class Act:
    """Who does it, when and why: every delivery decision records all three."""

    by: str
    at: datetime
    rationale: str


def existing(project: Project) -> Project:
    if project.status == "none":
        raise NotFound(f"project {project.project_id}")
    return project


def check_board(portfolio: Portfolio, project: Project, who: str) -> None:
    check_board_member(portfolio, who, acting_for=project.portfolio_id)


def conflicts_on(portfolio: Portfolio, project: Project) -> tuple[Conflict, ...]:
    """Nobody decides on a project they requested or sponsor (separation of duties): its board actions and its
    change requests alike."""
    candidate = portfolio.candidates.get(project.project_id)
    if candidate is None:
        return ()
    return automatic_conflicts(requester=candidate.requester, sponsor=candidate.sponsor)


def check_manager(project: Project, who: str, *, is_steward: bool = False) -> None:
    """Of the project managers, only the project's assigned one acts on it; pmo_analysts and admins on any."""
    if not is_steward and project.project_manager != who:
        manager = project.project_manager or "not assigned yet"
        raise NotAuthorised(f"{who} does not manage project {project.project_id} (its project manager: {manager})")


def check_team(
    portfolio: Portfolio, project: Project, who: str, *, is_project_manager: bool, is_steward: bool = False
) -> None:
    """The project's assigned manager and its portfolio's board raise changes, record lessons and benefits;
    pmo_analysts and admins act on any project."""
    if is_steward or (is_project_manager and project.project_manager == who):
        return
    if is_project_manager and who not in portfolio.board_members:
        check_manager(project, who)
    check_board(portfolio, project, who)


def assign_manager(portfolio: Portfolio, project: Project, manager: str, act: Act, *, is_steward: bool) -> list[Event]:
    """A new project manager, with a reason: by the portfolio's owner, a pmo_analyst or an admin."""
    existing(project)
    if not is_steward and act.by != portfolio.owner:
        raise NotAuthorised(
            f"only the owner of portfolio {portfolio.name or project.portfolio_id}, a pmo_analyst or an admin "
            "changes a project's manager"
        )
    check_rationale(act, "reason")
    if not manager.strip():
        raise InvalidCommand("project_manager", "name the new project manager")
    if manager == project.project_manager:
        raise RuleViolation(f"{manager} already manages project {project.project_id}")
    return [
        ProjectManagerAssigned(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            project_manager=manager,
            previous=project.project_manager,
            assigned_by=act.by,
            assigned_at=act.at,
            reason=act.rationale,
        )
    ]


def check_live(project: Project, doing: str) -> None:
    if project.status not in LIVE:
        raise RuleViolation(f"project {project.project_id} is {project.status}: it cannot {doing}")


def check_rationale(act: Act, field: str = "rationale") -> None:
    if not act.rationale.strip():
        raise InvalidCommand(field, "every decision needs a rationale")


def unspent(budget: dict[str, Decimal], spent: Decimal) -> tuple[PeriodAmount, ...]:
    """What is left per period when the money spent is counted against the earliest periods first."""
    left = max(spent, ZERO)
    released = []
    # Fiscal period names sort the same in every calendar (FY2026 before FY2027-Q1 before FY2027-Q2).
    for period in sorted(budget, key=CALENDAR_YEAR.order):
        used = min(max(budget[period], ZERO), left)
        left -= used
        if budget[period] - used > 0:
            released.append(PeriodAmount(fiscal_period=period, amount=budget[period] - used))
    return tuple(released)


def _released(
    project: Project, spent: Decimal, cause: BudgetChangeCause, act: Act
) -> tuple[tuple[PeriodAmount, ...], list[Event]]:
    released = unspent(project.budget, spent)
    if not released:
        return released, []
    change = ProjectBudgetChanged(
        portfolio_id=project.portfolio_id,
        project_id=project.project_id,
        delta=negated(released),
        cause=cause,
        changed_by=act.by,
    )
    return released, [change]


def _spent_so_far(project: Project) -> Decimal:
    latest = project.latest_report()
    return latest.actual_cost if latest else ZERO


def cancel(portfolio: Portfolio, project: Project, act: Act) -> list[Event]:
    """The board cancels: the unspent budget (budget minus the latest actual cost) returns to the envelope."""
    existing(project)
    check_board(portfolio, project, act.by)
    return cancellation(project, act)


def cancellation(project: Project, act: Act) -> list[Event]:
    """The cancellation itself, whoever decided it (a board member, or a motion the board carried)."""
    check_rationale(act)
    check_live(project, "be cancelled")
    released, funding = _released(project, _spent_so_far(project), "cancellation", act)
    cancelled = ProjectCancelled(
        project_id=project.project_id,
        portfolio_id=project.portfolio_id,
        effective_on=act.at.date(),
        reason=act.rationale,
        cancelled_by=act.by,
        released_budget=released,
    )
    return [cancelled, *funding]


def pause(portfolio: Portfolio, project: Project, act: Act) -> list[Event]:
    existing(project)
    check_board(portfolio, project, act.by)
    return pausing(project, act)


def pausing(project: Project, act: Act) -> list[Event]:
    """The pause itself, whoever decided it (a board member, or a motion the board carried)."""
    check_rationale(act)
    if project.status != "active":
        raise RuleViolation(f"only an active project can be paused; project {project.project_id} is {project.status}")
    return [
        ProjectPaused(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            rationale=act.rationale,
            paused_by=act.by,
            paused_at=act.at,
        )
    ]


def resume(portfolio: Portfolio, project: Project, act: Act) -> list[Event]:
    existing(project)
    check_board(portfolio, project, act.by)
    check_rationale(act)
    if project.status != "paused":
        raise RuleViolation(f"only a paused project can resume; project {project.project_id} is {project.status}")
    return [
        ProjectResumed(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            rationale=act.rationale,
            resumed_by=act.by,
            resumed_at=act.at,
        )
    ]


def close(portfolio: Portfolio, project: Project, final_cost: Decimal, act: Act) -> list[Event]:
    """Closure from the execute or close stage; the budget the final cost did not use returns to the envelope."""
    existing(project)
    check_board(portfolio, project, act.by)
    check_live(project, "be closed")
    if project.stage not in {"execute", "close"}:
        raise RuleViolation(f"project {project.project_id} is in {project.stage}: it closes from execute or close")
    if final_cost < 0:
        raise InvalidCommand("final_cost", "a final cost cannot be negative")
    released, funding = _released(project, final_cost, "closure", act)
    closed = ProjectClosed(
        project_id=project.project_id,
        portfolio_id=project.portfolio_id,
        effective_on=act.at.date(),
        reason=act.rationale or None,
        final_cost=final_cost,
        notes=act.rationale or None,
        closed_by=act.by,
        released_budget=released,
    )
    return [closed, *funding]
