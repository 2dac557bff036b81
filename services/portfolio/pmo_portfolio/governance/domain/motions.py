"""Motions: a decision put to the board's vote, its votes and declared conflicts, and how it ends.

A motion is its own stream. It keeps the charter terms in force when it was proposed (members, chair,
quorum, rule), so a later charter change never alters a vote in progress. Each vote is decided on the
motion's latest version: two last votes at once cannot both carry it (the second finds it decided).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    BoardCharter,
    Conflict,
    ConflictDeclared,
    MotionCarried,
    MotionDefeated,
    MotionLapsed,
    MotionProposed,
    Vote,
    VoteCast,
    VoteChoice,
    VotingRule,
)
from pmo_portfolio.governance.domain.duties import check_not_conflicted, conflicted
from pmo_portfolio.governance.domain.voting import Ballot, verdict
from pmo_portfolio.shared.errors import InvalidCommand, NotBoardMember, NotFound, RuleViolation, VotingClosed

MotionStatus = Literal["none", "open", "carried", "defeated", "lapsed"]
ENDED: dict[type[Event], MotionStatus] = {MotionCarried: "carried", MotionDefeated: "defeated", MotionLapsed: "lapsed"}
#: The longest a motion may stay open, whatever the charter says.
LONGEST_VOTE = timedelta(days=90)


class Motion(BaseModel):
    motion_id: str
    status: MotionStatus = "none"
    portfolio_id: str = ""
    kind: str = ""
    subject_id: str = ""
    reference: str | None = None
    outcome: str = ""
    rationale: str = ""
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None
    amount: Decimal | None = None
    override_reason: str | None = None
    project_manager: str | None = None
    programme_id: str | None = None
    exceeds_request_reason: str | None = None
    proposed_by: str = ""
    proposed_at: datetime | None = None
    deadline: datetime | None = None
    charter_version: int = 0
    members: tuple[str, ...] = ()
    chair: str = ""
    quorum: int = 1
    rule: VotingRule = "simple_majority"
    qualified_share: Decimal | None = None
    conflicts: tuple[Conflict, ...] = ()
    votes: tuple[Vote, ...] = ()

    def ballot(self) -> Ballot:
        return Ballot(
            members=self.members,
            chair=self.chair,
            quorum=self.quorum,
            rule=self.rule,
            qualified_share=self.qualified_share,
            conflicted=conflicted(self.conflicts),
            votes={v.voter: v.vote for v in self.votes},
        )


@dataclass(frozen=True)
class MotionTerms:
    """What the board is asked to resolve; the concept that owns `kind` checked it before proposing."""

    kind: str
    subject_id: str
    outcome: str
    rationale: str
    reference: str | None = None
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None
    amount: Decimal | None = None
    override_reason: str | None = None
    project_manager: str | None = None
    programme_id: str | None = None
    exceeds_request_reason: str | None = None
    conflicts: tuple[Conflict, ...] = field(default=())


def propose(
    charter: BoardCharter,
    portfolio_id: str,
    motion_id: str,
    terms: MotionTerms,
    proposer: str,
    now: datetime,
    deadline: datetime | None = None,
    *,
    secretary: bool = False,
) -> list[Event]:
    """A board member (or a PMO analyst, as the board's `secretary`) puts a decision to the vote."""
    if not secretary and proposer not in charter.members:
        raise NotBoardMember(f"{proposer} is not on the board of portfolio {portfolio_id}")
    if not terms.rationale.strip():
        raise InvalidCommand("rationale", "a motion says why the board should resolve it")
    check_not_conflicted(terms.conflicts, proposer, f"{terms.kind} {terms.subject_id}")
    deadline = deadline or now + timedelta(days=charter.voting_days)
    if not now < deadline <= now + LONGEST_VOTE:
        raise InvalidCommand("deadline", "the deadline is in the future, at most 90 days ahead")
    eligible = [m for m in charter.members if m not in conflicted(terms.conflicts)]
    if len(eligible) < charter.quorum:
        raise RuleViolation(
            f"only {len(eligible)} board member(s) may vote on this (the others are conflicted); "
            f"the quorum is {charter.quorum}"
        )
    return [
        MotionProposed(
            motion_id=motion_id,
            portfolio_id=portfolio_id,
            kind=terms.kind,
            subject_id=terms.subject_id,
            reference=terms.reference,
            outcome=terms.outcome,
            rationale=terms.rationale,
            approved_budget=terms.approved_budget,
            review_on=terms.review_on,
            amount=terms.amount,
            override_reason=terms.override_reason,
            project_manager=terms.project_manager,
            programme_id=terms.programme_id,
            exceeds_request_reason=terms.exceeds_request_reason,
            proposed_by=proposer,
            proposed_at=now,
            deadline=deadline,
            charter_version=charter.version,
            members=charter.members,
            chair=charter.chair,
            quorum=charter.quorum,
            rule=charter.rule,
            qualified_share=charter.qualified_share,
            conflicts=terms.conflicts,
        )
    ]


def _check_open(motion: Motion, now: datetime) -> None:
    """Open for votes: proposed, not yet decided, and its deadline not passed (the lapse sweep ends it then)."""
    if motion.status == "none":
        raise NotFound(f"motion {motion.motion_id}")
    if motion.status != "open":
        raise RuleViolation(f"motion {motion.motion_id} is {motion.status}, no longer open for votes")
    if motion.deadline is not None and now > motion.deadline:
        raise VotingClosed(motion.motion_id, motion.deadline)


def _check_member(motion: Motion, who: str) -> None:
    if who not in motion.members:
        raise NotBoardMember(f"{who} was not on the board when motion {motion.motion_id} was proposed")


def cast_vote(motion: Motion, voter: str, vote: VoteChoice, rationale: str, now: datetime) -> list[Event]:
    """One vote per member who may vote; the vote that meets (or defeats) the rule decides the motion.

    After the deadline the vote is not taken (`VotingClosed`, naming the deadline); the motion lapses.
    """
    _check_open(motion, now)
    _check_member(motion, voter)
    check_not_conflicted(motion.conflicts, voter, f"motion {motion.motion_id}")
    if any(v.voter == voter for v in motion.votes):
        raise RuleViolation(f"{voter} has already voted on motion {motion.motion_id}")
    if not rationale.strip():
        raise InvalidCommand("rationale", "every vote gives its rationale")
    cast = VoteCast(
        motion_id=motion.motion_id,
        portfolio_id=motion.portfolio_id,
        voter=voter,
        vote=vote,
        rationale=rationale,
        cast_at=now,
    )
    return [cast, *decide(evolve(motion, cast), now)]


def declare_conflict(motion: Motion, subject: str, reason: str, now: datetime) -> list[Event]:
    """A member declares a conflict before voting; with one voter fewer, the motion may now be decided."""
    _check_open(motion, now)
    _check_member(motion, subject)
    if not reason.strip():
        raise InvalidCommand("reason", "a declared conflict of interest says what it is")
    if subject in conflicted(motion.conflicts):
        raise RuleViolation(f"{subject} is already recorded as conflicted on motion {motion.motion_id}")
    if any(v.voter == subject for v in motion.votes):
        raise RuleViolation(f"{subject} has already voted on motion {motion.motion_id}; a conflict is declared before")
    declared = ConflictDeclared(
        motion_id=motion.motion_id, portfolio_id=motion.portfolio_id, subject=subject, reason=reason, declared_at=now
    )
    return [declared, *decide(evolve(motion, declared), now)]


def decide(motion: Motion, now: datetime) -> list[Event]:
    """The motion's end when the rule is met or can no longer be met; nothing while it is still open."""
    result, tally = verdict(motion.ballot())
    if result is None:
        return []
    common = _outcome_fields(motion) | {"tally": tally}
    if result == "carried":
        return [MotionCarried(**common, carried_at=now)]
    return [MotionDefeated(**common, defeated_at=now)]


def lapse(motion: Motion, now: datetime) -> list[Event]:
    """An open motion whose deadline has passed lapses; anything else is left as it is."""
    if motion.status != "open" or motion.deadline is None or now <= motion.deadline:
        return []
    _, tally = verdict(motion.ballot())
    return [MotionLapsed(**_outcome_fields(motion), tally=tally, deadline=motion.deadline, lapsed_at=now)]


def _outcome_fields(motion: Motion) -> dict[str, Any]:
    return {
        "motion_id": motion.motion_id,
        "portfolio_id": motion.portfolio_id,
        "kind": motion.kind,
        "subject_id": motion.subject_id,
        "reference": motion.reference,
        "outcome": motion.outcome,
        "votes": motion.votes,
        "conflicts": motion.conflicts,
    }


def evolve(state: Motion, event: Event) -> Motion:
    if isinstance(event, MotionProposed):
        fields = set(Motion.model_fields) - {"motion_id", "status", "votes"}
        return Motion(motion_id=state.motion_id, status="open", **event.model_dump(include=fields))
    if isinstance(event, VoteCast):
        vote = Vote(voter=event.voter, vote=event.vote, rationale=event.rationale, cast_at=event.cast_at)
        return state.model_copy(update={"votes": (*state.votes, vote)})
    if isinstance(event, ConflictDeclared):
        conflict = Conflict(subject=event.subject, reason=event.reason, declared=True)
        return state.model_copy(update={"conflicts": (*state.conflicts, conflict)})
    if isinstance(event, MotionCarried | MotionDefeated | MotionLapsed):
        return state.model_copy(update={"status": ENDED[type(event)]})
    return state


def initial(motion_id: str) -> Motion:
    return Motion(motion_id=motion_id)
