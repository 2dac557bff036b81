"""A portfolio's delivery controls: RAG tolerances on SPI and CPI, and the alignment-review cadence."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import RagTolerancesSet, ReviewCadenceSet
from pmo_portfolio.funding.domain import Portfolio, existing
from pmo_portfolio.shared.errors import InvalidCommand


def set_rag_tolerances(portfolio: Portfolio, green_at: Decimal, amber_at: Decimal, set_by: str) -> list[Event]:
    """SPI and CPI thresholds: 0 < amber_at <= green_at."""
    existing(portfolio)
    if amber_at <= 0:
        raise InvalidCommand("amber_at", "the amber threshold is greater than 0")
    if green_at < amber_at:
        raise InvalidCommand("green_at", "the green threshold is at least the amber threshold")
    return [RagTolerancesSet(portfolio_id=portfolio.portfolio_id, green_at=green_at, amber_at=amber_at, set_by=set_by)]


def set_review_cadence(
    portfolio: Portfolio, every_days: int, set_by: str, action_due_days: int | None = None
) -> list[Event]:
    existing(portfolio)
    if not 1 <= every_days <= 3660:
        raise InvalidCommand("every_days", "a review cadence is between 1 and 3660 days")
    if action_due_days is not None and not 1 <= action_due_days <= 365:
        raise InvalidCommand("action_due_days", "the board acts on a review within 1 to 365 days")
    return [
        ReviewCadenceSet(
            portfolio_id=portfolio.portfolio_id, every_days=every_days, set_by=set_by, action_due_days=action_due_days
        )
    ]
