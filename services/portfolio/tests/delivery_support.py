"""Builders for the delivery tests: a portfolio with an approved project, as given events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Benefit, Timeline
from pmo_events.contracts.portfolio import InvestmentDecided, ProjectBudgetChanged, ProjectInitiated
from pmo_portfolio.delivery.domain import project as project_rules
from pmo_portfolio.delivery.domain.lifecycle import Act
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import portfolio as portfolio_rules
from pmo_portfolio.funding.domain.portfolio import Portfolio

from .support import NOW, PORTFOLIO_ID, created, money, registered

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
    state = portfolio_rules.initial(PORTFOLIO_ID)
    for event in (created(budget=budget), registered(PROJECT_ID), approved(), *more):
        state = portfolio_rules.evolve(state, event)
    return state


def project(*events: Event, start: ProjectInitiated | None = None) -> Project:
    state = project_rules.initial(PROJECT_ID)
    for event in (start or initiated(), *events):
        state = project_rules.evolve(state, event)
    return state


def moved(portfolio: Portfolio, events: list[Event]) -> Portfolio:
    """The portfolio after the budget changes a project command decided."""
    for event in events:
        if isinstance(event, ProjectBudgetChanged):
            portfolio = portfolio_rules.evolve(portfolio, event)
    return portfolio


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
