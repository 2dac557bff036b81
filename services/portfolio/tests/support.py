"""Builders for the portfolio's tests: events as given, commands as when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.common import (
    Benefit,
    BusinessCase,
    ObjectiveContribution,
    PeriodAmount,
    RoleEstimate,
    Timeline,
)
from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.contracts.portfolio import (
    CandidateRegistered,
    CandidateScored,
    Criterion,
    PortfolioCreated,
    ScoringModelSet,
)
from pmo_portfolio.funding.commands import PORTFOLIO
from pmo_portfolio.funding.domain.portfolio import Portfolio

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PORTFOLIO_ID = "pf-1"


def money(*pairs: tuple[str, str]) -> tuple[PeriodAmount, ...]:
    return tuple(PeriodAmount(fiscal_period=p, amount=Decimal(a)) for p, a in pairs)


def given(*events: Event) -> Portfolio:
    """The portfolio after `events`."""
    return testing.given(PORTFOLIO, *events, stream_id=PORTFOLIO_ID)


def created(board: Sequence[str] = ("bea", "bob"), budget: tuple[tuple[str, str], ...] = (("2027", "1000"),)) -> Event:
    return PortfolioCreated(
        portfolio_id=PORTFOLIO_ID,
        name="Change 2027",
        currency="EUR",
        owner="olga",
        budget=money(*budget),
        board_members=tuple(board),
        created_by="ann",
    )


def registered(
    candidate_id: str = "c-1",
    costs: tuple[tuple[str, str], ...] = (("2027", "400"),),
    submission: int = 1,
    contributions: tuple[tuple[str, int], ...] = (),
    benefits: tuple[str, ...] = (),
    estimates: tuple[RoleEstimate, ...] = (),
    dependencies: tuple[str, ...] = (),
) -> CandidateRegistered:
    return CandidateRegistered(
        portfolio_id=PORTFOLIO_ID,
        candidate_id=candidate_id,
        proposal_id=candidate_id,
        submission=submission,
        title=f"Proposal {candidate_id}",
        requester="rita",
        costs=money(*costs),
        objective_contributions=tuple(ObjectiveContribution(objective_id=o, contribution=c) for o, c in contributions),
        benefits=tuple(Benefit(description="savings", kind="financial", value_amount=Decimal(v)) for v in benefits),
        resource_estimate=estimates,
        dependencies=dependencies,
    )


def model_set(*weights: tuple[str, str]) -> ScoringModelSet:
    return ScoringModelSet(
        portfolio_id=PORTFOLIO_ID,
        method="weighted",
        criteria=tuple(Criterion(key=k, name=k.title(), weight=Decimal(w)) for k, w in weights),
        set_by="ann",
    )


def scored(candidate_id: str, assessor: str, submission: int = 1, **scores: int) -> CandidateScored:
    return CandidateScored(
        portfolio_id=PORTFOLIO_ID,
        candidate_id=candidate_id,
        assessor=assessor,
        scores=scores,
        scored_at=NOW,
        submission=submission,
    )


YEAR_2027 = Timeline(start=date(2027, 1, 1), end=date(2027, 12, 31))


def submitted(
    proposal_id: str = "c-1",
    submission: int = 1,
    portfolio_id: str = PORTFOLIO_ID,
    timeline: Timeline = YEAR_2027,
    programme_id: str | None = None,
) -> ProposalSubmitted:
    return ProposalSubmitted(
        proposal_id=proposal_id,
        portfolio_id=portfolio_id,
        title=f"Proposal {proposal_id}",
        summary="A change",
        sponsor="sam",
        requester="rita",
        submission=submission,
        submitted_at=NOW,
        objective_contributions=(ObjectiveContribution(objective_id="o-1", contribution=4),),
        business_case=BusinessCase(
            costs=money(("FY2027", "300")),
            benefits=(Benefit(description="savings", kind="financial", value_amount=Decimal("900")),),
        ),
        timeline=timeline,
        programme_id=programme_id,
        resource_estimate=(
            RoleEstimate(role="developer", fte=Decimal("2"), start=date(2027, 1, 1), end=date(2027, 6, 30)),
        ),
    )
