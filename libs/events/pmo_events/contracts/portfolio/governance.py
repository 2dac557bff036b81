"""Governance events: the board's charter, motions and votes, conflicts of interest, and who decided how.

The charter lives on the portfolio's stream (it is part of what a decision is checked against); each
motion is a stream of its own (`motion_id`), so ballots on different motions never contend.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pmo_events.contracts.base import ContractModel, Money, UtcInstant, contract
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio.topic import PortfolioEvent

VotingRule = Literal["simple_majority", "qualified_majority", "unanimity"]
VoteChoice = Literal["for", "against", "abstain"]


class DelegatedAuthority(ContractModel):
    """Below `up_to` (exclusive) the named portfolio manager decides alone; at or above it, the board votes."""

    portfolio_manager: str
    up_to: Money


class BoardCharter(ContractModel):
    """How the portfolio's board decides; every change is a new version."""

    version: int
    members: tuple[str, ...]
    chair: str
    #: Votes (abstentions included) a motion needs before it can be decided.
    quorum: int
    rule: VotingRule
    #: For a qualified majority: the share of for-votes among for and against needed, such as 0.6667.
    qualified_share: Decimal | None = None
    #: Days a motion stays open for votes before it lapses.
    voting_days: int = 14
    delegated_authority: DelegatedAuthority | None = None


@contract
class BoardCharterSet(PortfolioEvent):
    """A new version of the board's charter: members and chair, quorum, voting rule, delegated authority."""

    event_name = "BoardCharterSet"
    portfolio_id: str
    charter: BoardCharter
    set_by: str
    set_at: UtcInstant
    reason: str | None = None


class Conflict(ContractModel):
    """A board member who may not vote on a motion: automatic (requester, sponsor) or declared."""

    subject: str
    reason: str
    declared: bool = False


class Vote(ContractModel):
    voter: str
    vote: VoteChoice
    rationale: str
    cast_at: UtcInstant


class Tally(ContractModel):
    votes_for: int = 0
    votes_against: int = 0
    abstentions: int = 0
    #: Members who may vote (not conflicted) and had not voted when the motion was decided.
    not_voted: int = 0
    #: True when the chair's casting vote broke a tie.
    casting_vote: bool = False


class MotionEvent(PortfolioEvent):
    """An event on a motion's stream."""

    related_fields = ("portfolio_id", "subject_id")
    motion_id: str
    portfolio_id: str


@contract
class MotionProposed(MotionEvent):
    """A decision put to the board's vote, under the charter version in force when it was proposed.

    `kind` says what is decided (`investment`: a candidate; `change_request`: a project's change request;
    `board_action`: a project's open board action; others may follow, such as a programme's tranche review),
    `subject_id` which candidate or project, `reference` which change request or action, `outcome` what the
    board would resolve if the motion carries.
    """

    event_name = "MotionProposed"
    kind: str
    subject_id: str
    reference: str | None = None
    outcome: str
    rationale: str
    approved_budget: tuple[PeriodAmount, ...] = ()
    review_on: str | None = None
    #: The amount the delegated-authority ladder measured (an approval's total, a change request's increase).
    amount: Money | None = None
    #: Why an approval goes ahead without scores (separation of duties asks for one).
    override_reason: str | None = None
    #: An approval may name the project's manager.
    project_manager: str | None = None
    #: An approval may name the programme the project joins.
    programme_id: str | None = None
    #: Why an approval gives more than the request asked for.
    exceeds_request_reason: str | None = None
    proposed_by: str
    proposed_at: UtcInstant
    deadline: UtcInstant
    charter_version: int
    members: tuple[str, ...]
    chair: str
    quorum: int
    rule: VotingRule
    qualified_share: Decimal | None = None
    conflicts: tuple[Conflict, ...] = ()


@contract
class ConflictDeclared(MotionEvent):
    """A board member declared a conflict of interest: their vote on this motion is refused."""

    event_name = "ConflictDeclared"
    subject: str
    reason: str
    declared_at: UtcInstant


@contract
class VoteCast(MotionEvent):
    event_name = "VoteCast"
    voter: str
    vote: VoteChoice
    rationale: str
    cast_at: UtcInstant


class MotionOutcome(MotionEvent):
    """How a motion ended, with every vote."""

    kind: str
    subject_id: str
    reference: str | None = None
    outcome: str
    tally: Tally
    votes: tuple[Vote, ...] = ()
    conflicts: tuple[Conflict, ...] = ()


@contract
class MotionCarried(MotionOutcome):
    """The charter's rule is met: the board resolved `outcome` (applied in the same transaction)."""

    event_name = "MotionCarried"
    carried_at: UtcInstant


@contract
class MotionDefeated(MotionOutcome):
    """The rule can no longer be met: nothing is resolved, the subject waits for another motion."""

    event_name = "MotionDefeated"
    defeated_at: UtcInstant


@contract
class MotionLapsed(MotionOutcome):
    """The deadline passed before the rule was met or defeated: nothing is resolved."""

    event_name = "MotionLapsed"
    deadline: UtcInstant
    lapsed_at: UtcInstant


#: How a decision was taken: by the board's vote on a motion, or alone under delegated authority.
Authority = Literal["board", "delegated"]
