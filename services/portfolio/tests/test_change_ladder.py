"""Change requests on the voting ladder: given a project, when a change is decided, then who may decide it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmo_events.contracts.portfolio import (
    BoardCharter,
    BoardCharterSet,
    ChangeRequestDecided,
    DelegatedAuthority,
    ProjectBudgetChanged,
)
from pmo_portfolio.delivery.domain import change_requests
from pmo_portfolio.shared.errors import ConflictOfInterest, NotBoardMember, RuleViolation

from .delivery_support import act, board_decides, funded, project
from .support import NOW, PORTFOLIO_ID, money


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
    assert [(c.subject, c.reason) for c in terms.conflicts] == [("pam", "requester")]
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
