"""The board's charter and its motions: given events, when a command, then events (one test per charter rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    BoardCharter,
    BoardCharterSet,
    Conflict,
    ConflictDeclared,
    DelegatedAuthority,
    MotionCarried,
    MotionDefeated,
    MotionLapsed,
    MotionProposed,
    Tally,
    VoteCast,
)
from pmo_events.runtime import fold
from pmo_portfolio.governance.commands import MOTION
from pmo_portfolio.governance.domain import charter as charters
from pmo_portfolio.governance.domain import motions
from pmo_portfolio.governance.domain.charter import CharterTerms, Governor
from pmo_portfolio.governance.domain.motions import Motion, MotionTerms
from pmo_portfolio.shared.errors import (
    ConflictOfInterest,
    InvalidCommand,
    NotAuthorised,
    NotBoardMember,
    RuleViolation,
    SeparationOfDuties,
    VotingClosed,
)

from .support import NOW, PORTFOLIO_ID, created, given

OWNER = Governor("olga")
ADMIN = Governor("root", is_admin=True)


def _charter(
    members: Sequence[str] = ("bea", "bob", "cy"), chair: str = "bea", quorum: int = 2, rule: str = "simple_majority",
    **extra: object,
) -> BoardCharter:  # fmt: skip
    return BoardCharter(version=2, members=tuple(members), chair=chair, quorum=quorum, rule=rule, **extra)  # type: ignore[arg-type]


def _terms(**changes: object) -> CharterTerms:
    base: dict[str, object] = {"members": ("bea", "bob", "cy"), "chair": "bea", "quorum": 2, "rule": "simple_majority"}
    return CharterTerms(**{**base, **changes})  # type: ignore[arg-type]


def _motion(charter: BoardCharter, *events: Event, conflicts: tuple[Conflict, ...] = ()) -> Motion:
    terms = MotionTerms("investment", "c-1", "approve", "fits the strategy", conflicts=conflicts)
    proposed = motions.propose(charter, PORTFOLIO_ID, "m-1", terms, charter.chair, NOW)
    return testing.given(MOTION, *proposed, *events, stream_id="m-1")


def _votes(motion: Motion, *ballots: tuple[str, str]) -> tuple[Motion, list[Event]]:
    """Cast the ballots in order; answer the motion after them and the events of the last one."""
    last: list[Event] = []
    for voter, vote in ballots:
        last = motions.cast_vote(motion, voter, vote, f"{voter} says {vote}", NOW)  # type: ignore[arg-type]
        motion = fold(MOTION, motion, last)
    return motion, last


# --- the charter -------------------------------------------------------------------------------------------


def test_a_new_portfolio_has_a_first_charter_chaired_by_its_first_member_with_a_majority_quorum() -> None:
    charter = given(created(board=("bea", "bob", "cy"))).charter
    assert charter is not None
    assert (charter.version, charter.chair, charter.quorum, charter.rule) == (1, "bea", 2, "simple_majority")


def test_the_owner_sets_a_new_charter_version() -> None:
    state = given(created())
    [event] = charters.set_charter(state, _terms(quorum=3, rule="unanimity"), OWNER, NOW, "stricter")
    assert isinstance(event, BoardCharterSet)
    assert (event.charter.version, event.charter.quorum, event.charter.rule) == (2, 3, "unanimity")
    after = given(created(), event)
    assert after.board_members == ("bea", "bob", "cy") and after.charter == event.charter


@pytest.mark.parametrize("who", [Governor("ann"), Governor("bea")])
def test_only_the_owner_or_an_admin_changes_the_charter(who: Governor) -> None:
    with pytest.raises(NotAuthorised):
        charters.set_charter(given(created()), _terms(), who, NOW, None)
    assert charters.set_charter(given(created()), _terms(), ADMIN, NOW, None)


def test_nobody_changes_their_own_place_on_the_board_not_even_the_owner_or_an_admin() -> None:
    with pytest.raises(SeparationOfDuties):
        charters.set_charter(given(created()), _terms(members=("bea", "bob", "olga")), OWNER, NOW, None)
    with pytest.raises(SeparationOfDuties):
        charters.add_board_member(given(created()), "root", ADMIN)
    delegation = DelegatedAuthority(portfolio_manager="olga", up_to=Decimal("50000"))
    with pytest.raises(SeparationOfDuties):
        charters.set_charter(given(created()), _terms(delegated_authority=delegation), OWNER, NOW, None)
    # A change that does not concern the owner's own place is theirs to make.
    assert charters.set_charter(given(created(board=("bea", "olga"))), _terms(members=("bea", "olga"), quorum=1),
                                OWNER, NOW, None)  # fmt: skip


def test_creating_a_portfolio_never_puts_its_creator_on_the_board() -> None:
    with pytest.raises(SeparationOfDuties):
        charters.initial_charter(_terms(members=("ann", "bob"), chair="bob"), PORTFOLIO_ID, "ann", NOW)
    assert charters.initial_charter(_terms(), PORTFOLIO_ID, "ann", NOW).charter.version == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"chair": "zed"}, "chair"),
        ({"quorum": 4}, "quorum"),
        ({"quorum": 0}, "quorum"),
        ({"members": ("bea", "bea")}, "members"),
        ({"rule": "qualified_majority"}, "qualified_share"),
        ({"rule": "qualified_majority", "qualified_share": Decimal("0.5")}, "qualified_share"),
        ({"qualified_share": Decimal("0.7")}, "qualified_share"),
        ({"voting_days": 0}, "voting_days"),
        ({"delegated_authority": DelegatedAuthority(portfolio_manager="pm", up_to=Decimal(0))}, "delegated_authority"),
    ],
)
def test_a_charter_the_board_cannot_work_under_is_refused_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        charters.set_charter(given(created()), _terms(**changes), OWNER, NOW, None)
    assert refused.value.field == field


def test_the_chair_and_the_last_member_stay_until_replaced() -> None:
    with pytest.raises(RuleViolation):
        charters.remove_board_member(given(created(board=("bea", "bob"))), "bea", OWNER)
    [removed] = charters.remove_board_member(given(created(board=("bea", "bob"))), "bob", OWNER)
    after = given(created(board=("bea", "bob")), removed)
    assert after.charter is not None and (after.charter.version, after.charter.quorum) == (2, 1)


# --- motions and the voting rule ---------------------------------------------------------------------------


def test_a_motion_keeps_the_charter_it_was_proposed_under() -> None:
    motion = _motion(_charter())
    assert (motion.status, motion.members, motion.quorum, motion.charter_version) == (
        "open",
        ("bea", "bob", "cy"),
        2,
        2,
    )
    assert motion.deadline == NOW + timedelta(days=14)


def test_simple_majority_carries_once_the_quorum_is_reached_and_the_result_cannot_change() -> None:
    motion = _motion(_charter(members=("bea", "bob", "cy", "dan", "eve"), quorum=3))
    motion, events = _votes(motion, ("bea", "for"), ("bob", "for"))
    assert [type(e) for e in events] == [VoteCast]  # 2 for, 3 still to vote: not decided
    motion, events = _votes(motion, ("cy", "for"))
    assert [type(e) for e in events] == [VoteCast, MotionCarried]
    carried = events[-1]
    assert isinstance(carried, MotionCarried)
    assert carried.tally == Tally(votes_for=3, votes_against=0, abstentions=0, not_voted=2)
    assert [v.voter for v in carried.votes] == ["bea", "bob", "cy"]
    assert motion.status == "carried"


def test_without_a_quorum_a_majority_waits() -> None:
    motion = _motion(_charter(members=("bea", "bob", "cy"), quorum=3))
    motion, events = _votes(motion, ("bea", "for"), ("bob", "for"))
    assert motion.status == "open"  # 2 of 3 for, but the quorum is 3
    motion, events = _votes(motion, ("cy", "abstain"))  # abstentions count towards the quorum
    assert isinstance(events[-1], MotionCarried)


def test_a_tie_is_broken_by_the_chairs_casting_vote() -> None:
    charter = _charter(members=("bea", "bob", "cy", "dan"), chair="bea", quorum=4)
    _, events = _votes(_motion(charter), ("bea", "for"), ("bob", "against"), ("cy", "for"), ("dan", "against"))
    carried = events[-1]
    assert isinstance(carried, MotionCarried) and carried.tally.casting_vote
    _, events = _votes(_motion(charter), ("bea", "against"), ("bob", "for"), ("cy", "for"), ("dan", "against"))
    assert isinstance(events[-1], MotionDefeated) and events[-1].tally.casting_vote


def test_a_tie_with_an_abstaining_chair_is_defeated() -> None:
    charter = _charter(members=("bea", "bob", "cy"), chair="bea", quorum=3)
    _, events = _votes(_motion(charter), ("bea", "abstain"), ("bob", "for"), ("cy", "against"))
    assert isinstance(events[-1], MotionDefeated) and not events[-1].tally.casting_vote


def test_a_motion_is_defeated_as_soon_as_it_can_no_longer_carry() -> None:
    motion = _motion(_charter(members=("bea", "bob", "cy", "dan", "eve"), quorum=3))
    motion, events = _votes(motion, ("bea", "against"), ("bob", "against"), ("cy", "against"))
    assert isinstance(events[-1], MotionDefeated)
    assert motion.status == "defeated"


def test_a_qualified_majority_needs_its_share_of_for_and_against() -> None:
    charter = _charter(members=("a", "b", "c", "d", "e", "f"), chair="a", quorum=4, rule="qualified_majority",
                       qualified_share=Decimal("0.6"))  # fmt: skip
    motion, events = _votes(_motion(charter), ("a", "for"), ("b", "for"), ("c", "for"), ("d", "against"))
    assert motion.status == "open"  # 3 for, 1 against: the 2 still to vote could bring it to 3/6 < 0.6
    _, events = _votes(motion, ("e", "for"))
    assert isinstance(events[-1], MotionCarried)  # 4 for, 1 against, 1 to come: at worst 4/6 ≥ 0.6
    motion, events = _votes(_motion(charter), ("a", "against"), ("b", "against"))
    assert motion.status == "open"  # at best 4 for against 2: 4/6 ≥ 0.6
    _, events = _votes(motion, ("c", "against"))
    assert isinstance(events[-1], MotionDefeated)  # at best 3 for against 3: 0.5 < 0.6


def test_unanimity_needs_every_member_who_may_vote_and_falls_at_the_first_against() -> None:
    charter = _charter(members=("bea", "bob", "cy"), quorum=3, rule="unanimity")
    motion, events = _votes(_motion(charter), ("bea", "for"), ("bob", "for"))
    assert motion.status == "open"
    _, events = _votes(motion, ("cy", "for"))
    assert isinstance(events[-1], MotionCarried)
    _, events = _votes(_motion(charter), ("bea", "against"))
    assert isinstance(events[-1], MotionDefeated)


def test_a_conflicted_members_vote_is_refused_and_recorded_conflicts_shrink_the_electorate() -> None:
    charter = _charter(members=("bea", "bob", "cy"), quorum=2)
    motion = _motion(charter, conflicts=(Conflict(subject="cy", reason="requester"),))
    with pytest.raises(ConflictOfInterest):
        motions.cast_vote(motion, "cy", "for", "my own proposal is great", NOW)
    _, events = _votes(motion, ("bea", "for"), ("bob", "for"))
    carried = events[-1]
    assert isinstance(carried, MotionCarried) and carried.tally.not_voted == 0
    assert carried.conflicts == (Conflict(subject="cy", reason="requester"),)


def test_a_declared_conflict_is_recorded_and_may_decide_the_motion() -> None:
    motion, _ = _votes(_motion(_charter(members=("bea", "bob", "cy"), quorum=2)), ("bea", "for"), ("bob", "for"))
    assert motion.status == "carried"  # 2 for, 1 to come: already decided
    motion, _ = _votes(_motion(_charter(members=("bea", "bob", "cy"), quorum=2)), ("bea", "for"))
    events = motions.declare_conflict(motion, "bob", "my brother is the vendor", NOW)
    assert isinstance(events[0], ConflictDeclared)
    assert [type(e) for e in events] == [ConflictDeclared]  # 1 for, cy still to vote: cy could tie it
    motion = motions.evolve(motion, events[0])
    with pytest.raises(ConflictOfInterest):
        motions.cast_vote(motion, "bob", "for", "still keen", NOW)


def test_the_proposer_may_not_be_conflicted_and_the_quorum_must_stay_within_reach() -> None:
    charter = _charter(members=("bea", "bob", "cy"), quorum=3)
    terms = MotionTerms("investment", "c-1", "approve", "fits", conflicts=(Conflict(subject="bea", reason="sponsor"),))
    with pytest.raises(ConflictOfInterest):
        motions.propose(charter, PORTFOLIO_ID, "m-1", terms, "bea", NOW)
    with pytest.raises(RuleViolation):  # bea is conflicted: two may vote, the quorum is three
        motions.propose(charter, PORTFOLIO_ID, "m-1", terms, "bob", NOW)


def test_only_members_propose_and_vote_unless_a_pmo_analyst_tables_it_for_the_board() -> None:
    terms = MotionTerms("investment", "c-1", "approve", "fits")
    with pytest.raises(NotBoardMember):
        motions.propose(_charter(), PORTFOLIO_ID, "m-1", terms, "ann", NOW)
    [proposed] = motions.propose(_charter(), PORTFOLIO_ID, "m-1", terms, "ann", NOW, secretary=True)
    assert isinstance(proposed, MotionProposed) and proposed.proposed_by == "ann"
    with pytest.raises(NotBoardMember):
        motions.cast_vote(_motion(_charter()), "ann", "for", "keen", NOW)


def test_one_vote_each_with_a_rationale() -> None:
    motion, _ = _votes(_motion(_charter(members=("bea", "bob", "cy", "dan", "eve"), quorum=3)), ("bea", "for"))
    with pytest.raises(RuleViolation):
        motions.cast_vote(motion, "bea", "against", "changed my mind", NOW)
    with pytest.raises(InvalidCommand):
        motions.cast_vote(motion, "bob", "for", "  ", NOW)


def test_a_motion_lapses_at_its_deadline_and_a_late_vote_is_not_taken() -> None:
    motion, _ = _votes(_motion(_charter(members=("bea", "bob", "cy", "dan", "eve"), quorum=3)), ("bea", "for"))
    assert motion.deadline is not None
    assert motions.lapse(motion, motion.deadline) == []  # open until the deadline itself
    late = motion.deadline + timedelta(seconds=1)
    [lapsed] = motions.lapse(motion, late)
    assert isinstance(lapsed, MotionLapsed) and lapsed.tally.votes_for == 1
    with pytest.raises(VotingClosed) as closed_at:
        motions.cast_vote(motion, "bob", "for", "sorry, late", late)
    assert closed_at.value.deadline == motion.deadline and motion.deadline.isoformat() in str(closed_at.value)
    closed = motions.evolve(motion, lapsed)
    assert closed.status == "lapsed" and motions.lapse(closed, late) == []
    with pytest.raises(RuleViolation):
        motions.cast_vote(closed, "bob", "for", "too late", late)
