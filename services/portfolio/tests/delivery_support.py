"""Builders for the delivery tests: a portfolio with an approved project, as given events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Benefit, Timeline
from pmo_events.contracts.portfolio import InvestmentDecided, MotionCarried, ProjectBudgetChanged, ProjectInitiated
from pmo_events.runtime import fold
from pmo_portfolio.delivery.commands import PROJECT
from pmo_portfolio.delivery.domain import change_requests
from pmo_portfolio.delivery.domain.lifecycle import Act
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.commands import PORTFOLIO
from pmo_portfolio.funding.domain.portfolio import Portfolio
from pmo_portfolio.governance.commands import MOTION
from pmo_portfolio.governance.domain import motions

from .support import NOW, PORTFOLIO_ID, created, given, money, registered

PROJECT_ID = "c-1"


def act(by: str = "bea", why: str = "the board agrees", at: datetime = NOW) -> Act:
    return Act(by=by, at=at, rationale=why)


def approved(budget: tuple[tuple[str, str], ...] = (("2027", "400"),)) -> InvestmentDecided:
    return InvestmentDecided(
        decision_id="d-1",
        portfolio_id=PORTFOLIO_ID,
        candidate_id=PROJECT_ID,
        proposal_id=PROJECT_ID,
        outcome="approve",
        rationale="fits",
        decided_by="bea",
        decided_at=NOW,
        approved_budget=money(*budget),
    )


def initiated(
    budget: tuple[tuple[str, str], ...] = (("2027", "400"),),
    timeline: Timeline = Timeline(start=date(2027, 1, 1), end=date(2027, 12, 31)),
) -> ProjectInitiated:
    return ProjectInitiated(
        project_id=PROJECT_ID,
        portfolio_id=PORTFOLIO_ID,
        proposal_id=PROJECT_ID,
        title="Proposal c-1",
        baseline_budget=money(*budget),
        timeline=timeline,
        benefits=(Benefit(benefit_id="b-1", description="savings", kind="financial", value_amount=Decimal("900")),),
        initiated_by="bea",
        initiated_at=NOW,
    )


def funded(*more: Event, budget: tuple[tuple[str, str], ...] = (("2027", "1000"),)) -> Portfolio:
    """A portfolio whose envelope already carries the approved project (400 in 2027)."""
    return given(created(budget=budget), registered(PROJECT_ID), approved(), *more)


def project(*events: Event, start: ProjectInitiated | None = None) -> Project:
    """The project after its initiation (`start`, or the usual one) and `events`."""
    return testing.given(PROJECT, start or initiated(), *events, stream_id=PROJECT_ID)


def moved(portfolio: Portfolio, events: list[Event]) -> Portfolio:
    """The portfolio after the budget changes a project command decided."""
    return fold(PORTFOLIO, portfolio, [e for e in events if isinstance(e, ProjectBudgetChanged)])


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def board_decides(portfolio: Portfolio, state: Project, change_request_id: str, outcome: str, how: Act) -> list[Event]:
    """A change request put to the board's vote (moved by `how.by`) and carried by the members' votes in turn:
    what the carrying vote decides."""
    terms = change_requests.motion_terms(portfolio, state, change_request_id, outcome, how)  # type: ignore[arg-type]
    charter = portfolio.charter
    assert charter is not None
    motion = testing.given(
        MOTION, *motions.propose(charter, PORTFOLIO_ID, "m-1", terms, how.by, how.at), stream_id="m-1"
    )
    voters = [how.by, *(m for m in charter.members if m != how.by)]
    for voter in voters:
        voted = motions.cast_vote(motion, voter, "for", "agreed", how.at)
        motion = fold(MOTION, motion, voted)
        if isinstance(voted[-1], MotionCarried):
            return change_requests.carried(portfolio, state, motion, voted[-1])
    raise AssertionError(f"the board did not carry the motion: {motion.status}")
