"""Change requests: budget, scope or schedule; budget increases obey the envelope.

Decided up the ladder on the change's delta (its increases): the charter's portfolio manager alone below the
delegated threshold (`authority: delegated`), else the board by a motion (`authority: board`, every vote).
Nobody decides, moves or votes on a change they requested, nor on a change to a project they requested or
sponsor (as for its board actions and its investment decision)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    ChangeRequestDecided,
    ChangeRequested,
    Conflict,
    MotionCarried,
    ProjectBudgetChanged,
)
from pmo_events.contracts.portfolio.delivery import ChangeKind, ChangeOutcome
from pmo_portfolio.delivery.domain.lifecycle import (
    Act,
    check_board,
    check_live,
    check_rationale,
    conflicts_on,
    existing,
)
from pmo_portfolio.delivery.domain.project import ChangeRequest, Project
from pmo_portfolio.funding.domain import ZERO, Portfolio, check_within_envelope
from pmo_portfolio.governance.domain import (
    Motion,
    MotionTerms,
    automatic_conflicts,
    check_not_conflicted,
    increase_amount,
    within_delegation,
)
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


#: The motion kind of a change request's decision (`MotionProposed.kind`; `reference` is the request's id).
CHANGE_REQUEST = "change_request"


def change_amount(request: ChangeRequest) -> Decimal:
    """What the ladder measures for a change: the increases it asks of the envelope (scope and schedule: 0)."""
    return increase_amount(request.budget_delta)


def _pending(project: Project, change_request_id: str) -> ChangeRequest:
    request = project.change_requests.get(change_request_id)
    if request is None:
        raise NotFound(f"change request {change_request_id} of project {project.project_id}")
    if request.status != "pending":
        raise RuleViolation(f"change request {change_request_id} is already {request.status}")
    return request


def _conflicts(portfolio: Portfolio, project: Project, request: ChangeRequest) -> tuple[Conflict, ...]:
    """Separation of duties: the change's own requester, then the project's requester and sponsor (once each)."""
    own = automatic_conflicts(requester=request.requested_by)
    seen = {conflict.subject for conflict in own}
    return own + tuple(conflict for conflict in conflicts_on(portfolio, project) if conflict.subject not in seen)


def _checked(
    portfolio: Portfolio, project: Project, change_request_id: str, outcome: ChangeOutcome, act: Act
) -> ChangeRequest:
    """Every rule a decision meets, whoever takes it (again when the board's motion carries)."""
    existing(project)
    check_rationale(act)
    request = _pending(project, change_request_id)
    check_live(project, "change")
    check_not_conflicted(_conflicts(portfolio, project, request), act.by, f"change request {change_request_id}")
    if outcome == "approve":
        increases = [line for line in request.budget_delta if line.amount > 0]
        check_within_envelope(portfolio.budget, portfolio.committed, increases, portfolio.currency)
    return request


def is_delegated(portfolio: Portfolio, project: Project, change_request_id: str, who: str) -> bool:
    """The charter's portfolio manager, when the change's increase is below the delegated threshold."""
    request = project.change_requests.get(change_request_id)
    return request is not None and within_delegation(portfolio.charter, who, change_amount(request))


def decide_change(
    portfolio: Portfolio, project: Project, change_request_id: str, outcome: ChangeOutcome, act: Act
) -> list[Event]:
    """Under delegated authority only: the portfolio manager decides alone below the charter's threshold (on the
    change's increase). A board member puts it to the board instead (`motion_terms`); an approved increase must
    fit the envelope (as an approval does), a decrease returns money to it."""
    _checked(portfolio, project, change_request_id, outcome, act)
    if not is_delegated(portfolio, project, change_request_id, act.by):
        check_board(portfolio, project, act.by)
        raise RuleViolation(f"{act.by} has no delegated authority for this change; the board decides it by a motion")
    return _decided(portfolio, project, change_request_id, outcome, act, authority="delegated")


def motion_terms(
    portfolio: Portfolio, project: Project, change_request_id: str, outcome: ChangeOutcome, act: Act
) -> MotionTerms:
    """A board member's decision on the change, checked as it stands now, put to the board's vote."""
    check_board(portfolio, project, act.by)
    request = _checked(portfolio, project, change_request_id, outcome, act)
    return MotionTerms(
        kind=CHANGE_REQUEST,
        subject_id=project.project_id,
        reference=change_request_id,
        outcome=outcome,
        rationale=act.rationale,
        amount=change_amount(request),
        conflicts=_conflicts(portfolio, project, request),
    )


def carried(portfolio: Portfolio, project: Project, motion: Motion, event: MotionCarried) -> list[Event]:
    """The board carried the motion: the change is decided as moved, checked again as it stands now."""
    outcome: ChangeOutcome = "approve" if motion.outcome == "approve" else "reject"
    act = Act(by=motion.proposed_by, at=event.carried_at, rationale=motion.rationale)
    cr_id = motion.reference or ""
    _checked(portfolio, project, cr_id, outcome, act)
    evidence = {"motion_id": motion.motion_id, "votes": event.votes, "tally": event.tally, "conflicts": event.conflicts}
    return _decided(portfolio, project, cr_id, outcome, act, authority="board", **evidence)


def _decided(
    portfolio: Portfolio,
    project: Project,
    change_request_id: str,
    outcome: ChangeOutcome,
    act: Act,
    **evidence: Any,
) -> list[Event]:
    request = project.change_requests[change_request_id]
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
        **evidence,
    )
    if outcome != "approve" or not request.budget_delta:
        return [decided]
    funding = ProjectBudgetChanged(
        portfolio_id=project.portfolio_id,
        project_id=project.project_id,
        delta=request.budget_delta,
        cause="change_request",
        reference=change_request_id,
        changed_by=act.by,
    )
    return [decided, funding]
