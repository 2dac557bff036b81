"""Change requests on the voting ladder: given a project, when a change is decided, then who may decide it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_events.contracts.portfolio import (
    BoardCharter,
    BoardCharterSet,
    ChangeRequestDecided,
    DelegatedAuthority,
    MotionCarried,
    ProjectBudgetChanged,
)
from pmo_events.runtime import fold
from pmo_portfolio.delivery.domain import change_requests
from pmo_portfolio.governance.commands import MOTION
from pmo_portfolio.governance.domain import motions
from pmo_portfolio.shared.errors import ConflictOfInterest, NotBoardMember, RuleViolation

from .delivery_support import PROJECT_ID, act, approved, board_decides, funded, project
from .support import NOW, PORTFOLIO_ID, created, given, money, registered


def _with_delegate(up_to: str) -> BoardCharterSet:
    charter = BoardCharter(
        version=2, members=("bea", "bob"), chair="bea", quorum=2, rule="simple_majority",
        delegated_authority=DelegatedAuthority(portfolio_manager="pat", up_to=Decimal(up_to)),
    )  # fmt: skip
    return BoardCharterSet(portfolio_id=PORTFOLIO_ID, charter=charter, set_by="olga", set_at=NOW)


def _asked(*delta: tuple[str, str], kind: str = "budget") -> tuple[str, object]:
    command = change_requests.RequestChange(kind=kind, rationale="more scope", budget_delta=money(*delta))  # type: ignore[arg-type]
    [asked] = change_requests.request_change(project(), command, act("pam"))
    return asked.change_request_id, project(asked)


def test_below_the_threshold_on_its_increase_the_portfolio_manager_decides_alone() -> None:
    cr_id, state = _asked(("2027", "99.99"))
    decided, moved = change_requests.decide_change(funded(_with_delegate("100")), state, cr_id, "approve", act("pat"))  # type: ignore[arg-type]
    assert isinstance(decided, ChangeRequestDecided) and isinstance(moved, ProjectBudgetChanged)
    assert (decided.authority, decided.decided_by, decided.motion_id) == ("delegated", "pat", None)


def test_at_the_threshold_the_board_decides_by_a_motion_and_nobody_alone() -> None:
    cr_id, state = _asked(("2027", "100"))
    with pytest.raises(NotBoardMember):
        change_requests.decide_change(funded(_with_delegate("100")), state, cr_id, "approve", act("pat"))  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="the board decides it by a motion"):
        change_requests.decide_change(funded(_with_delegate("100")), state, cr_id, "approve", act("bea"))  # type: ignore[arg-type]
    terms = change_requests.motion_terms(funded(_with_delegate("100")), state, cr_id, "approve", act("bea"))  # type: ignore[arg-type]
    assert (terms.kind, terms.reference, terms.amount) == ("change_request", cr_id, Decimal("100"))
    assert [(c.subject, c.reason) for c in terms.conflicts] == [("pam", "requester"), ("rita", "requester")]
    decided, _ = board_decides(funded(_with_delegate("100")), state, cr_id, "approve", act("bea"))  # type: ignore[arg-type]
    assert isinstance(decided, ChangeRequestDecided) and (decided.authority, decided.motion_id) == ("board", "m-1")
    assert [(v.voter, v.vote) for v in decided.votes] == [("bea", "for"), ("bob", "for")]


def test_the_ladder_measures_the_increases_a_decrease_or_a_schedule_change_is_delegated() -> None:
    cr_id, state = _asked(("2027", "-300"))
    [decided, _] = change_requests.decide_change(funded(_with_delegate("1")), state, cr_id, "approve", act("pat"))  # type: ignore[arg-type]
    assert isinstance(decided, ChangeRequestDecided) and decided.authority == "delegated"


def test_nobody_decides_a_change_they_requested() -> None:
    cr_id, state = _asked(("2027", "10"))
    with pytest.raises(ConflictOfInterest):
        change_requests.decide_change(funded(_with_delegate("100")), state, cr_id, "approve", act("pam"))  # type: ignore[arg-type]


def test_the_projects_requester_and_sponsor_may_not_decide_move_or_vote_on_its_change() -> None:
    """Given a project rita requested and sue sponsors, both on the board and sue its delegated portfolio manager,
    when pam's change request is decided, then neither decides it alone, moves it or votes on it."""
    charter = BoardCharter(
        version=2, members=("bea", "rita", "sue", "bob"), chair="bea", quorum=2, rule="simple_majority",
        delegated_authority=DelegatedAuthority(portfolio_manager="sue", up_to=Decimal("100")),
    )  # fmt: skip
    sponsored = registered(PROJECT_ID).model_copy(update={"sponsor": "sue"})
    portfolio = given(
        created(budget=(("2027", "1000"),)),
        sponsored,
        approved(),
        BoardCharterSet(portfolio_id=PORTFOLIO_ID, charter=charter, set_by="olga", set_at=NOW),
    )
    small, state = _asked(("2027", "10"))
    with pytest.raises(ConflictOfInterest, match=r"conflict of interest \(sponsor\)"):
        change_requests.decide_change(portfolio, state, small, "approve", act("sue"))  # type: ignore[arg-type]
    with pytest.raises(ConflictOfInterest, match=r"conflict of interest \(requester\)"):
        change_requests.motion_terms(portfolio, state, small, "approve", act("rita"))  # type: ignore[arg-type]
    with pytest.raises(ConflictOfInterest, match=r"conflict of interest \(sponsor\)"):
        change_requests.motion_terms(portfolio, state, small, "reject", act("sue"))  # type: ignore[arg-type]

    terms = change_requests.motion_terms(portfolio, state, small, "approve", act("bea"))  # type: ignore[arg-type]
    assert [(c.subject, c.reason) for c in terms.conflicts] == [
        ("pam", "requester"),
        ("rita", "requester"),
        ("sue", "sponsor"),
    ]
    motion = testing.given(MOTION, *motions.propose(charter, PORTFOLIO_ID, "m-1", terms, "bea", NOW), stream_id="m-1")
    for conflicted in ("rita", "sue"):
        with pytest.raises(ConflictOfInterest):
            motions.cast_vote(motion, conflicted, "for", "mine", NOW)
    motion = fold(MOTION, motion, motions.cast_vote(motion, "bea", "for", "as moved", NOW))
    [*_, carried] = motions.cast_vote(motion, "bob", "for", "agreed", NOW)
    assert isinstance(carried, MotionCarried)
    assert {c.subject for c in carried.conflicts} == {"pam", "rita", "sue"}
