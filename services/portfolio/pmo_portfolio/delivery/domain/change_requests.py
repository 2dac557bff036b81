"""Change requests: budget, scope or schedule, decided by the board; budget increases obey the envelope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import ChangeRequestDecided, ChangeRequested, ProjectBudgetChanged
from pmo_events.contracts.portfolio.delivery import ChangeKind, ChangeOutcome
from pmo_portfolio.delivery.domain.lifecycle import Act, check_board, check_live, check_rationale, existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import ZERO, Portfolio, check_within_envelope
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation


@dataclass(frozen=True)
class RequestChange:
    kind: ChangeKind
    rationale: str
    budget_delta: tuple[PeriodAmount, ...] = ()
    new_end: date | None = None
    #: From when a budget change counts in BAC; None: from the day it is approved.
    effective_on: date | None = None


def _check_effective_on(project: Project, command: RequestChange) -> None:
    if command.effective_on is None:
        return
    if command.kind != "budget":
        raise InvalidCommand("effective_on", f"only a budget change carries effective_on, not {command.kind}")
    start = project.start()
    if start is not None and command.effective_on < start:
        raise InvalidCommand("effective_on", f"a budget change cannot take effect before the project's start ({start})")


def _check_request(project: Project, command: RequestChange) -> None:
    periods = [line.fiscal_period for line in command.budget_delta]
    if len(periods) != len(set(periods)):
        raise InvalidCommand("budget_delta", "each fiscal period may appear once")
    if command.kind == "budget":
        if not command.budget_delta or any(line.amount == 0 for line in command.budget_delta):
            raise InvalidCommand("budget_delta", "a budget change names each period's non-zero change")
        for index, line in enumerate(command.budget_delta):
            if project.budget.get(line.fiscal_period, ZERO) + line.amount < 0:
                raise InvalidCommand(f"budget_delta.{index}.amount", "a period's budget cannot go below 0")
    elif command.budget_delta:
        raise InvalidCommand("budget_delta", f"only a budget change carries a budget_delta, not {command.kind}")
    if command.kind == "schedule":
        if command.new_end is None:
            raise InvalidCommand("new_end", "a schedule change gives the new end date")
        start = project.timeline.start
        if start is not None and command.new_end < start:
            raise InvalidCommand("new_end", "the new end cannot be before the project's start")
    elif command.new_end is not None:
        raise InvalidCommand("new_end", f"only a schedule change carries new_end, not {command.kind}")


def request_change(project: Project, command: RequestChange, act: Act) -> list[ChangeRequested]:
    existing(project)
    check_live(project, "take change requests")
    check_rationale(act)
    _check_request(project, command)
    _check_effective_on(project, command)
    return [
        ChangeRequested(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            change_request_id=str(uuid.uuid4()),
            kind=command.kind,
            budget_delta=command.budget_delta,
            new_end=command.new_end,
            effective_on=command.effective_on,
            rationale=act.rationale,
            requested_by=act.by,
            requested_at=act.at,
        )
    ]


def decide_change(
    portfolio: Portfolio, project: Project, change_request_id: str, outcome: ChangeOutcome, act: Act
) -> list[Event]:
    """An approved increase must fit the envelope (as an approval does); a decrease returns money to it."""
    existing(project)
    check_board(portfolio, project, act.by)
    check_rationale(act)
    request = project.change_requests.get(change_request_id)
    if request is None:
        raise NotFound(f"change request {change_request_id} of project {project.project_id}")
    if request.status != "pending":
        raise RuleViolation(f"change request {change_request_id} is already {request.status}")
    check_live(project, "change")
    decided = ChangeRequestDecided(
        project_id=project.project_id,
        portfolio_id=project.portfolio_id,
        change_request_id=change_request_id,
        kind=request.kind,
        outcome=outcome,
        budget_delta=request.budget_delta if outcome == "approve" else (),
        new_end=request.new_end if outcome == "approve" else None,
        effective_on=(request.effective_on or act.at.date()) if outcome == "approve" and request.budget_delta else None,
        rationale=act.rationale,
        decided_by=act.by,
        decided_at=act.at,
    )
    if outcome != "approve" or not request.budget_delta:
        return [decided]
    increases = [line for line in request.budget_delta if line.amount > 0]
    check_within_envelope(portfolio.budget, portfolio.committed, increases, portfolio.currency)
    funding = ProjectBudgetChanged(
        portfolio_id=project.portfolio_id,
        project_id=project.project_id,
        delta=request.budget_delta,
        cause="change_request",
        reference=change_request_id,
        changed_by=act.by,
    )
    return [decided, funding]
