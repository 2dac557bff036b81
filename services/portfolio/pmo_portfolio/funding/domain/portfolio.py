"""The Portfolio aggregate: the consistency boundary for funding (envelope, board, candidates, decisions)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, cast

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Benefit, ObjectiveContribution, PeriodAmount, RoleEstimate
from pmo_events.contracts.portfolio import (
    BoardCharter,
    BoardCharterSet,
    BoardMemberAdded,
    BoardMemberRemoved,
    CandidateRegistered,
    CandidateWithdrawn,
    Criterion,
    InvestmentDecided,
    PortfolioBudgetSet,
    PortfolioCreated,
    ProjectBudgetChanged,
    RagTolerancesSet,
    ReviewCadenceSet,
    ReviewCycleIntervalSet,
    ScoringModelSet,
)
from pmo_portfolio.funding.domain.envelope import add, check_budget_lines
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, SeparationOfDuties

DecisionOutcome = Literal["approve", "reject", "defer", "request_changes"]
CandidateStatus = Literal["awaiting_decision", "approved", "rejected", "deferred", "changes_requested", "withdrawn"]
STATUS_AFTER: dict[str, CandidateStatus] = {
    "approve": "approved",
    "reject": "rejected",
    "defer": "deferred",
    "request_changes": "changes_requested",
}
#: A deferred candidate comes back to the board: it awaits a decision again.
AWAITING_DECISION: frozenset[str] = frozenset({"awaiting_decision", "deferred"})


class Candidate(BaseModel):
    candidate_id: str
    title: str
    submission: int
    status: CandidateStatus = "awaiting_decision"
    #: Who asked for it and who sponsors it: neither may decide on it (separation of duties).
    requester: str = ""
    sponsor: str | None = None
    costs: tuple[PeriodAmount, ...] = ()
    benefits: tuple[Benefit, ...] = ()
    objective_contributions: tuple[ObjectiveContribution, ...] = ()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    dependencies: tuple[str, ...] = ()
    #: The programme its proposal asks to join.
    programme_id: str | None = None
    approved_budget: tuple[PeriodAmount, ...] = ()


class ScoringModel(BaseModel):
    method: Literal["weighted", "pairwise"]
    criteria: tuple[Criterion, ...]
    consistency_ratio: Decimal | None = None


class Portfolio(BaseModel):
    portfolio_id: str
    exists: bool = False
    name: str = ""
    currency: str = ""
    owner: str = ""
    budget: dict[str, Decimal] = {}
    committed: dict[str, Decimal] = {}
    board_members: tuple[str, ...] = ()
    #: How the board decides (members, chair, quorum, rule, delegated authority); versioned.
    charter: BoardCharter | None = None
    candidates: dict[str, Candidate] = {}
    scoring_model: ScoringModel | None = None
    #: Derived RAG thresholds on SPI and CPI: green at or above, amber at or above, red below.
    green_at: Decimal = Decimal("0.95")
    amber_at: Decimal = Decimal("0.90")
    review_every_days: int = 90
    #: Days the board has to act when a review finds a project misaligned.
    action_due_days: int = 14
    #: Days between two review cycles (re-prioritisation of running projects with the pipeline): quarterly.
    cycle_every_days: int = 91

    def candidate(self, candidate_id: str) -> Candidate:
        found = self.candidates.get(candidate_id)
        if found is None:
            raise NotFound(f"candidate {candidate_id} in portfolio {self.portfolio_id}")
        return found


@dataclass(frozen=True)
class CreatePortfolio:
    portfolio_id: str
    name: str
    currency: str
    owner: str
    budget: tuple[PeriodAmount, ...]
    board_members: tuple[str, ...]
    created_by: str


def create(command: CreatePortfolio) -> list[Event]:
    check_budget_lines(command.budget, command.currency)
    if len(set(command.board_members)) != len(command.board_members):
        raise InvalidCommand("board_members", "each board member may appear once")
    if command.created_by in command.board_members:
        raise SeparationOfDuties(f"{command.created_by} may not put themself on the board of a portfolio they create")
    return [PortfolioCreated(**command.__dict__)]


def _registered(state: Portfolio, event: CandidateRegistered) -> Portfolio:
    """A resubmission replaces the candidate's content and starts a fresh assessment."""
    candidate = _candidate(event)
    return state.model_copy(update={"candidates": {**state.candidates, event.candidate_id: candidate}})


def _candidate(event: CandidateRegistered) -> Candidate:
    return Candidate(
        candidate_id=event.candidate_id,
        title=event.title,
        submission=event.submission,
        requester=event.requester,
        sponsor=event.sponsor,
        costs=event.costs,
        benefits=event.benefits,
        objective_contributions=event.objective_contributions,
        resource_estimate=event.resource_estimate,
        dependencies=event.dependencies,
        programme_id=event.programme_id,
    )


def _decided(state: Portfolio, event: InvestmentDecided) -> Portfolio:
    candidate = state.candidates[event.candidate_id].model_copy(
        update={"status": STATUS_AFTER[event.outcome], "approved_budget": event.approved_budget}
    )
    return state.model_copy(
        update={
            "candidates": {**state.candidates, event.candidate_id: candidate},
            "committed": add(state.committed, event.approved_budget),
        }
    )


def evolve(state: Portfolio, event: Event) -> Portfolio:
    if isinstance(event, PortfolioCreated):
        return state.model_copy(
            update={
                "exists": True,
                "name": event.name,
                "currency": event.currency,
                "owner": event.owner,
                "budget": {b.fiscal_period: b.amount for b in event.budget},
                "board_members": event.board_members,
                "charter": default_charter(event.board_members),
            }
        )
    if isinstance(event, PortfolioBudgetSet):
        return state.model_copy(update={"budget": {b.fiscal_period: b.amount for b in event.budget}})
    if isinstance(event, BoardCharterSet | BoardMemberAdded | BoardMemberRemoved):
        charter = _amended(state.charter or default_charter(state.board_members), event)
        return state.model_copy(update={"charter": charter, "board_members": charter.members})
    if isinstance(event, ScoringModelSet):
        model = ScoringModel(method=event.method, criteria=event.criteria, consistency_ratio=event.consistency_ratio)
        return state.model_copy(update={"scoring_model": model})
    if isinstance(event, CandidateRegistered):
        return _registered(state, event)
    if isinstance(event, InvestmentDecided):
        return _decided(state, event)
    return _evolve_delivery(state, event)


def evolve_owned(state: Portfolio, event: Event) -> Portfolio:
    """`evolve` for a fold that holds the only reference to `state` and its candidates (a rebuild's): a
    registration, decision or withdrawal changes the candidate and `state.candidates` in place and returns
    `state`, instead of copying the portfolio with every candidate it holds (a copy per event made a portfolio's
    replay quadratic); any other event is `evolve`'s. The states it gives equal `evolve`'s, event for event."""
    kind = type(event)  # exact types first: an ABC `isinstance` chain costs about a microsecond per miss
    if kind is CandidateRegistered:
        registered = cast(CandidateRegistered, event)
        state.candidates[registered.candidate_id] = _candidate(registered)
        return state
    if kind is InvestmentDecided:
        decided = cast(InvestmentDecided, event)
        candidate = state.candidates[decided.candidate_id]
        candidate.status = STATUS_AFTER[decided.outcome]
        candidate.approved_budget = decided.approved_budget
        state.committed = add(state.committed, decided.approved_budget)
        return state
    if kind is CandidateWithdrawn:
        state.candidates[cast(CandidateWithdrawn, event).candidate_id].status = "withdrawn"
        return state
    untouched = _UNTOUCHED.get(kind)
    if untouched is None:
        untouched = _UNTOUCHED[kind] = not issubclass(kind, EVOLVED)
    return state if untouched else evolve(state, event)


def own(state: Portfolio) -> Portfolio:
    """A copy of `state` that `evolve_owned` may change in place without changing `state`: the portfolio, its
    candidates' mapping and each candidate copied (`evolve_owned` changes nothing else in place)."""
    return state.model_copy(update={"candidates": {i: c.model_copy() for i, c in state.candidates.items()}})


#: Every event type a branch of `evolve` (or `_evolve_delivery`) takes; `evolve` returns the state it was given
#: for any other (a scoring, say), which `evolve_owned` does without walking the branches
#: (`test_funding.py` checks this list against `evolve` for every portfolio event type).
EVOLVED: tuple[type[Event], ...] = (
    PortfolioCreated,
    PortfolioBudgetSet,
    BoardCharterSet,
    BoardMemberAdded,
    BoardMemberRemoved,
    ScoringModelSet,
    CandidateRegistered,
    InvestmentDecided,
    CandidateWithdrawn,
    ProjectBudgetChanged,
    RagTolerancesSet,
    ReviewCycleIntervalSet,
    ReviewCadenceSet,
)
#: Per concrete event type: whether `evolve` leaves a portfolio alone for it.
_UNTOUCHED: dict[type[Event], bool] = {}


def _evolve_delivery(state: Portfolio, event: Event) -> Portfolio:
    if isinstance(event, CandidateWithdrawn):
        candidate = state.candidates[event.candidate_id].model_copy(update={"status": "withdrawn"})
        return state.model_copy(update={"candidates": {**state.candidates, event.candidate_id: candidate}})
    if isinstance(event, ProjectBudgetChanged):
        return state.model_copy(update={"committed": add(state.committed, event.delta)})
    if isinstance(event, RagTolerancesSet):
        return state.model_copy(update={"green_at": event.green_at, "amber_at": event.amber_at})
    if isinstance(event, ReviewCycleIntervalSet):
        return state.model_copy(update={"cycle_every_days": event.every_days})
    if isinstance(event, ReviewCadenceSet):
        due_days = event.action_due_days or state.action_due_days
        return state.model_copy(update={"review_every_days": event.every_days, "action_due_days": due_days})
    return state


def default_charter(members: tuple[str, ...]) -> BoardCharter:
    """The charter of a portfolio created without one: the first member chairs, a majority is the quorum."""
    return BoardCharter(
        version=1,
        members=members,
        chair=members[0] if members else "",
        quorum=len(members) // 2 + 1,
        rule="simple_majority",
    )


def _amended(charter: BoardCharter, event: Event) -> BoardCharter:
    """A new version; a single member's arrival or departure keeps the rest (quorum at most the board's size)."""
    if isinstance(event, BoardCharterSet):
        return event.charter
    if isinstance(event, BoardMemberAdded):
        members = (*charter.members, event.subject)
    else:
        assert isinstance(event, BoardMemberRemoved)
        members = tuple(m for m in charter.members if m != event.subject)
    chair = charter.chair if charter.chair in members else (members[0] if members else "")
    quorum = max(1, min(charter.quorum, len(members)))
    return charter.model_copy(
        update={"version": charter.version + 1, "members": members, "chair": chair, "quorum": quorum}
    )


def existing(portfolio: Portfolio) -> Portfolio:
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    return portfolio


def initial(portfolio_id: str) -> Portfolio:
    return Portfolio(portfolio_id=portfolio_id)
