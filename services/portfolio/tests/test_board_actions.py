"""Reviews that act: given a project, when a review, a resolution or a sweep, then the events (issue 15)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    BoardActionOpened,
    BoardActionOverdue,
    BoardActionResolved,
    BoardCharter,
    BoardCharterSet,
    DelegatedAuthority,
    MotionCarried,
    ProjectBudgetChanged,
    ProjectCancelled,
    ProjectPaused,
    ReviewOverdue,
)
from pmo_events.contracts.portfolio.delivery import ReviewRecommendation
from pmo_events.runtime import fold
from pmo_portfolio.delivery.domain import alignment_reviews, board_actions, controls
from pmo_portfolio.delivery.domain.board_actions import ResolveAction
from pmo_portfolio.governance.commands import MOTION
from pmo_portfolio.governance.domain import motions
from pmo_portfolio.shared.errors import (
    ConflictOfInterest,
    InvalidCommand,
    NotAuthorised,
    NotBoardMember,
    NotFound,
    RuleViolation,
)

from .delivery_support import act, at, funded, project
from .support import NOW, PORTFOLIO_ID

MARCH = at(date(2027, 3, 1))


def _charter(up_to: str | None = None, members: tuple[str, ...] = ("bea", "bob", "cy")) -> BoardCharterSet:
    delegation = DelegatedAuthority(portfolio_manager="pat", up_to=Decimal(up_to)) if up_to else None
    charter = BoardCharter(
        version=2, members=members, chair="bea", quorum=2, rule="simple_majority", delegated_authority=delegation
    )
    return BoardCharterSet(portfolio_id=PORTFOLIO_ID, charter=charter, set_by="olga", set_at=NOW)


def _reviewed(still_aligned: bool, recommendation: ReviewRecommendation, *more: Event) -> list[Event]:
    return alignment_reviews.review(funded(*more), project(), still_aligned, recommendation, act(at=MARCH))


def _with_action(*portfolio_events: Event) -> tuple[list[Event], str]:
    events = _reviewed(False, "stop", *portfolio_events)
    return events, _opened(events).action_id


def _opened(events: list[Event]) -> BoardActionOpened:
    [opened] = [e for e in events if isinstance(e, BoardActionOpened)]
    return opened


def _resolve(action_id: str, resolution: str, by: str = "bea", why: str = "no longer fits") -> ResolveAction:
    return ResolveAction(action_id=action_id, resolution=resolution, act=act(by=by, why=why, at=MARCH))  # type: ignore[arg-type]


def test_a_review_that_finds_the_project_still_aligned_and_continuing_opens_nothing() -> None:
    assert [type(e).__name__ for e in _reviewed(True, "continue")] == ["AlignmentReviewed"]


@pytest.mark.parametrize(("aligned", "recommendation"), [(False, "continue"), (True, "rescope"), (False, "stop")])
def test_a_negative_review_opens_a_board_action_due_within_the_portfolios_days(
    aligned: bool, recommendation: ReviewRecommendation
) -> None:
    reviewed, opened = _reviewed(aligned, recommendation)
    assert isinstance(opened, BoardActionOpened) and opened.review_id == getattr(reviewed, "review_id", None)
    assert (opened.still_aligned, opened.recommendation) == (aligned, recommendation)
    assert opened.due_on == date(2027, 3, 15)  # 14 days by default
    cadence = controls.set_review_cadence(funded(), 90, "ann", action_due_days=5)
    assert _opened(_reviewed(aligned, recommendation, *cadence)).due_on == date(2027, 3, 6)
    assert project(reviewed, opened).open_actions()[0].action_id == opened.action_id


def test_a_board_member_moves_a_resolution_the_requester_and_sponsor_may_not_vote() -> None:
    events, action_id = _with_action(_charter())
    terms = board_actions.motion_terms(funded(_charter()), project(*events), _resolve(action_id, "pause"))
    assert (terms.kind, terms.subject_id, terms.reference, terms.outcome) == ("board_action", "c-1", action_id, "pause")
    assert terms.amount == Decimal("400") and [c.subject for c in terms.conflicts] == ["rita"]
    with pytest.raises(NotBoardMember):
        board_actions.motion_terms(funded(_charter()), project(*events), _resolve(action_id, "pause", by="pat"))
    with pytest.raises(ConflictOfInterest):
        members = _charter(members=("bea", "rita", "cy"))
        board_actions.motion_terms(funded(members), project(*events), _resolve(action_id, "pause", by="rita"))
    with pytest.raises(InvalidCommand) as blank:
        board_actions.motion_terms(funded(_charter()), project(*events), _resolve(action_id, "pause", why=" "))
    assert blank.value.field == "rationale"
    with pytest.raises(NotFound):
        board_actions.motion_terms(funded(_charter()), project(*events), _resolve("nope", "pause"))


def _carry(resolution: str, *events: Event, action_id: str) -> list[Event]:
    """The motion moved by bea and carried by bob's vote: the events its carrying applies to the project."""
    portfolio = funded(_charter())
    terms = board_actions.motion_terms(portfolio, project(*events), _resolve(action_id, resolution))
    charter = portfolio.charter
    assert charter is not None
    proposed = motions.propose(charter, PORTFOLIO_ID, "m-1", terms, "bea", MARCH)
    motion = testing.given(MOTION, *proposed, stream_id="m-1")
    first = motions.cast_vote(motion, "bea", "for", "as moved", MARCH)
    motion = fold(MOTION, motion, first)
    voted = motions.cast_vote(motion, "bob", "for", "agreed", MARCH)
    _, carried = voted
    assert isinstance(carried, MotionCarried)
    return board_actions.carried(portfolio, project(*events), fold(MOTION, motion, voted), carried)


def test_the_motion_that_carries_a_pause_pauses_the_project_with_every_vote_as_evidence() -> None:
    events, action_id = _with_action(_charter())
    resolved, paused = _carry("pause", *events, action_id=action_id)
    assert isinstance(resolved, BoardActionResolved) and isinstance(paused, ProjectPaused)
    assert (resolved.resolution, resolved.authority, resolved.motion_id) == ("pause", "board", "m-1")
    assert [(v.voter, v.vote) for v in resolved.votes] == [("bea", "for"), ("bob", "for")]
    assert resolved.tally is not None and resolved.tally.votes_for == 2
    after = project(*events, resolved, paused)
    assert after.status == "paused" and after.open_actions() == []
    with pytest.raises(RuleViolation, match="already resolved"):
        board_actions.motion_terms(funded(_charter()), after, _resolve(action_id, "cancel"))


def test_a_carried_cancellation_releases_the_unspent_budget_and_a_continue_changes_nothing_else() -> None:
    events, action_id = _with_action(_charter())
    _, cancelled, released = _carry("cancel", *events, action_id=action_id)
    assert isinstance(cancelled, ProjectCancelled) and isinstance(released, ProjectBudgetChanged)
    assert released.delta[0].amount == Decimal("-400") and action_id in (cancelled.reason or "")
    [kept] = _carry("continue", *events, action_id=action_id)
    assert isinstance(kept, BoardActionResolved) and kept.resolution == "continue"


def test_a_motion_carried_after_the_project_stopped_being_active_cannot_pause_it() -> None:
    events, action_id = _with_action(_charter())
    paused = ProjectPaused(project_id="c-1", portfolio_id=PORTFOLIO_ID, rationale="x", paused_by="bea", paused_at=NOW)
    with pytest.raises(RuleViolation, match="only an active project"):
        board_actions.motion_terms(funded(_charter()), project(*events, paused), _resolve(action_id, "pause"))


def test_the_portfolio_manager_resolves_alone_below_the_threshold_and_not_at_it() -> None:
    events, action_id = _with_action(_charter(up_to="400.01"))
    [resolved, paused] = board_actions.resolve_delegated(
        funded(_charter(up_to="400.01")), project(*events), _resolve(action_id, "pause", by="pat")
    )
    assert isinstance(resolved, BoardActionResolved) and isinstance(paused, ProjectPaused)
    assert (resolved.authority, resolved.motion_id, resolved.resolved_by) == ("delegated", None, "pat")
    with pytest.raises(NotAuthorised, match="the board resolves it by a motion"):
        board_actions.resolve_delegated(
            funded(_charter(up_to="400")), project(*events), _resolve(action_id, "pause", by="pat")
        )
    with pytest.raises(NotAuthorised):
        board_actions.resolve_delegated(
            funded(_charter(up_to="400.01")), project(*events), _resolve(action_id, "pause", by="bea")
        )


def test_an_overdue_review_and_an_overdue_action_are_noticed_once_each() -> None:
    events, action_id = _with_action()
    reviewed = project(*events)  # reviewed on 2027-03-01: the next review is due 90 days later
    assert board_actions.overdue_notices(funded(), reviewed, at(date(2027, 3, 15))) == []  # due that day
    [action_late] = board_actions.overdue_notices(funded(), reviewed, at(date(2027, 3, 16)))
    assert isinstance(action_late, BoardActionOverdue) and action_late.action_id == action_id
    later = at(date(2027, 5, 31))
    [review_late] = board_actions.overdue_notices(funded(), project(*events, action_late), later)
    assert isinstance(review_late, ReviewOverdue) and review_late.due_on == date(2027, 5, 30)
    assert review_late.last_reviewed_on == date(2027, 3, 1)
    assert board_actions.overdue_notices(funded(), project(*events, action_late, review_late), later) == []
    # The next due date is noticed again, once: a review overdue for another period is news.
    never_reviewed = project()
    first = board_actions.overdue_notices(funded(), never_reviewed, NOW + timedelta(days=91))
    assert [type(e) for e in first] == [ReviewOverdue]
