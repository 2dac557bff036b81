"""Derived RAG from earned value: SPI rates schedule, CPI rates cost, by the portfolio's tolerances.

The figures themselves (PV, EV, SPI, CPI, EAC...) are defined once in `pmo_events.figures.earned_value`.
"""

from __future__ import annotations

from decimal import Decimal

from pmo_events.contracts.portfolio import RagRating
from pmo_events.contracts.portfolio.delivery import Rag
from pmo_events.figures.earned_value import RAG_ORDER, EarnedValue, worst_rag


def rating(value: Decimal | None, green_at: Decimal, amber_at: Decimal) -> Rag:
    """An undefined index means nothing was planned (or spent) yet: no shortfall to flag, so green."""
    if value is None or value >= green_at:
        return "green"
    return "amber" if value >= amber_at else "red"


def worst(first: Rag, *others: Rag) -> Rag:
    return worst_rag((first, *others)) or first


def rag(schedule: Rag, cost: Rag, scope: Rag) -> RagRating:
    return RagRating(schedule=schedule, cost=cost, scope=scope, overall=worst(schedule, cost, scope))


def derived_rag(value: EarnedValue, green_at: Decimal, amber_at: Decimal) -> RagRating:
    """Schedule from SPI, cost from CPI; scope has no index, so it is green unless reported otherwise."""
    return rag(rating(value.spi, green_at, amber_at), rating(value.cpi, green_at, amber_at), "green")


def better_dimensions(manual: RagRating, derived: RagRating) -> list[str]:
    """The dimensions a manual RAG rates better than the figures do."""
    return [
        d
        for d in ("schedule", "cost", "scope")
        if RAG_ORDER.index(getattr(manual, d)) < RAG_ORDER.index(getattr(derived, d))
    ]
