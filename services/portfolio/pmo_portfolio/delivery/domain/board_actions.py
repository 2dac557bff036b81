"""Reviews that act: a negative review opens a board action, the board resolves it, and overdue ones are noticed.

A review that finds the project no longer aligned, or recommends other than continuing, opens an action due
within the portfolio's `action_due_days`. It is resolved (continue, re-scope, pause or cancel) up the ladder:
by the charter's portfolio manager alone while the project's budget is below the delegated threshold, else by a
motion the board carries. A pause or cancellation goes through the project's own rules in the same transaction
(a cancellation releases the unspent budget; resourcing releases the bookings of a paused or cancelled project).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    AlignmentReviewed,
    BoardActionChoice,
    BoardActionOpened,
    BoardActionOverdue,
    BoardActionResolved,
    MotionCarried,
    ReviewOverdue,
)
from pmo_portfolio.delivery.domain.lifecycle import (
    Act,
    cancellation,
    check_live,
    check_rationale,
    conflicts_on,
    existing,
    pausing,
)
from pmo_portfolio.delivery.domain.project import LIVE, BoardAction, Project
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.governance.domain import (
    Motion,
    MotionTerms,
    check_board_member,
    check_not_conflicted,
    within_delegation,
)
from pmo_portfolio.shared.errors import NotAuthorised, NotFound, RuleViolation

#: The motion kind of a board action (`MotionProposed.kind`; `reference` is the action's id).
BOARD_ACTION = "board_action"
CHOICES: tuple[BoardActionChoice, ...] = ("continue", "rescope", "pause", "cancel")


@dataclass(frozen=True)
class ResolveAction:
    """Who resolves which action of the project, how and why."""

    action_id: str
    resolution: BoardActionChoice
    act: Act


def opened_by(portfolio: Portfolio, project: Project, reviewed: AlignmentReviewed) -> list[Event]:
    """The action a review opens: when the project is no longer aligned, or the review recommends a change."""
    if reviewed.still_aligned and reviewed.recommendation == "continue":
        return []
    return [
        BoardActionOpened(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            action_id=str(uuid.uuid4()),
            review_id=reviewed.review_id,
            still_aligned=reviewed.still_aligned,
            recommendation=reviewed.recommendation,
            due_on=reviewed.reviewed_at.date() + timedelta(days=portfolio.action_due_days),
            opened_at=reviewed.reviewed_at,
        )
    ]


def at_stake(project: Project) -> Decimal:
    """What the ladder measures for an action on the project: its whole current budget."""
    return sum(project.budget.values(), Decimal(0))


def _open_action(project: Project, action_id: str) -> BoardAction:
    action = project.board_actions.get(action_id)
    if action is None:
        raise NotFound(f"board action {action_id} of project {project.project_id}")
    if action.status != "open":
        raise RuleViolation(f"board action {action_id} is already resolved ({action.resolution})")
    return action


def _checked(portfolio: Portfolio, project: Project, command: ResolveAction) -> BoardAction:
    """Every rule a resolution meets, whoever takes it and whenever (again when the motion carries)."""
    existing(project)
    action = _open_action(project, command.action_id)
    check_rationale(command.act)
    check_live(project, "be acted on")
    check_not_conflicted(conflicts_on(portfolio, project), command.act.by, f"project {project.title}")
    if command.resolution == "pause" and project.status != "active":
        raise RuleViolation(f"only an active project can be paused; project {project.project_id} is {project.status}")
    return action


def is_delegated(portfolio: Portfolio, project: Project, who: str) -> bool:
    """The charter's portfolio manager, while the project's budget is below the delegated threshold."""
    return within_delegation(portfolio.charter, who, at_stake(project))


def resolve_delegated(portfolio: Portfolio, project: Project, command: ResolveAction) -> list[Event]:
    """The portfolio manager resolves alone below the threshold; anyone else puts it to the board (a motion)."""
    _checked(portfolio, project, command)
    if not is_delegated(portfolio, project, command.act.by):
        raise NotAuthorised(
            f"{command.act.by} has no delegated authority over project {project.project_id} "
            f"(its budget, {at_stake(project)}, is at or above the threshold, or they are not the portfolio "
            "manager): the board resolves it by a motion"
        )
    return _resolved(project, command, authority="delegated")


def motion_terms(portfolio: Portfolio, project: Project, command: ResolveAction) -> MotionTerms:
    """A board member's resolution, checked as it stands now, put to the board's vote."""
    check_board_member(portfolio, command.act.by, acting_for=project.portfolio_id)
    _checked(portfolio, project, command)
    return MotionTerms(
        kind=BOARD_ACTION,
        subject_id=project.project_id,
        reference=command.action_id,
        outcome=command.resolution,
        rationale=command.act.rationale,
        amount=at_stake(project),
        conflicts=conflicts_on(portfolio, project),
    )


def carried(portfolio: Portfolio, project: Project, motion: Motion, event: MotionCarried) -> list[Event]:
    """The board carried the motion: the action is resolved as moved, checked again as the project stands now."""
    if motion.outcome not in CHOICES:
        raise RuleViolation(f"motion {motion.motion_id} resolves {motion.outcome}, not a board action's choice")
    act = Act(by=motion.proposed_by, at=event.carried_at, rationale=motion.rationale)
    command = ResolveAction(action_id=motion.reference or "", resolution=motion.outcome, act=act)
    existing(project)
    _open_action(project, command.action_id)
    check_live(project, "be acted on")
    evidence = {"motion_id": motion.motion_id, "votes": event.votes, "tally": event.tally, "conflicts": event.conflicts}
    return _resolved(project, command, authority="board", **evidence)


def _resolved(project: Project, command: ResolveAction, **evidence: Any) -> list[Event]:
    act = command.act
    resolved = BoardActionResolved(
        project_id=project.project_id,
        portfolio_id=project.portfolio_id,
        action_id=command.action_id,
        resolution=command.resolution,
        rationale=act.rationale,
        resolved_by=act.by,
        resolved_at=act.at,
        **evidence,
    )
    why = Act(by=act.by, at=act.at, rationale=f"board action {command.action_id}: {act.rationale}")
    if command.resolution == "pause":
        return [resolved, *pausing(project, why)]
    if command.resolution == "cancel":
        return [resolved, *cancellation(project, why)]
    return [resolved]


def overdue_notices(portfolio: Portfolio, project: Project, now: datetime) -> list[Event]:
    """What passed its date unnoticed: the review (once per due date) and each open action (once each)."""
    if project.status not in LIVE:
        return []
    today = now.date()
    notices: list[Event] = []
    due = project.review_due(portfolio.review_every_days)
    if due is not None and due < today and project.review_overdue_noticed != due:
        notices.append(
            ReviewOverdue(
                project_id=project.project_id,
                portfolio_id=project.portfolio_id,
                due_on=due,
                last_reviewed_on=project.last_reviewed_on,
                noticed_at=now,
            )
        )
    for action in project.open_actions():
        if is_overdue(action, today) and not action.overdue_noticed:
            notices.append(
                BoardActionOverdue(
                    project_id=project.project_id,
                    portfolio_id=project.portfolio_id,
                    action_id=action.action_id,
                    due_on=action.due_on,
                    noticed_at=now,
                )
            )
    return notices


def is_overdue(action: BoardAction, today: date) -> bool:
    return action.status == "open" and action.due_on < today
