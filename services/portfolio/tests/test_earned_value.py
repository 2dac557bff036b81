"""Derived RAG from earned value: thresholds, the worst dimension, undefined indices, tolerances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_events.figures.days import Span
from pmo_events.figures.earned_value import EarnedValue
from pmo_events.figures.earned_value import earned_value as figures
from pmo_events.figures.fiscal import CALENDAR_YEAR
from pmo_portfolio.delivery.domain.earned_value import derived_rag, rating

YEAR = Span(date(2027, 1, 1), date(2027, 12, 31))
G, A = Decimal("0.95"), Decimal("0.90")


def earned_value(budget: dict[str, Decimal], period_end: date, percent: str, spent: str) -> EarnedValue:
    return figures(budget, CALENDAR_YEAR, YEAR, period_end, Decimal(percent), Decimal(spent))


def test_worked_example_behind_schedule_and_over_cost_is_red() -> None:
    """BAC 1000 over 2027; by 30 June PV 495.89; 40% done; 500 spent: SPI 0.8066, CPI 0.8000."""
    rag = derived_rag(earned_value({"FY2027": Decimal("1000")}, date(2027, 6, 30), "40", "500"), G, A)
    assert (rag.schedule, rag.cost, rag.scope, rag.overall) == ("red", "red", "green", "red")


def test_worst_dimension_wins_and_amber_starts_at_the_amber_threshold() -> None:
    value = earned_value({"FY2027": Decimal("1000")}, date(2027, 12, 31), "92", "920")
    assert value.spi == Decimal("0.9200") and value.cpi == Decimal("1.0000")
    rag = derived_rag(value, G, A)
    assert (rag.schedule, rag.cost, rag.overall) == ("amber", "green", "amber")
    assert rating(Decimal("0.90"), G, A) == "amber" and rating(Decimal("0.8999"), G, A) == "red"
    assert rating(Decimal("0.95"), G, A) == "green"


def test_undefined_indices_rate_green_and_nothing_earned_for_money_spent_rates_red() -> None:
    """Before the start nothing is planned; with nothing spent CPI has no denominator either."""
    value = earned_value({"FY2027": Decimal("1000")}, date(2026, 12, 31), "0", "0")
    assert value.spi is None and value.cpi is None and derived_rag(value, G, A).overall == "green"
    wasted = earned_value({"FY2027": Decimal("1000")}, date(2027, 3, 31), "0", "50")
    assert wasted.cpi == Decimal("0.0000") and derived_rag(wasted, G, A).cost == "red"


def test_tolerances_are_configurable() -> None:
    value = earned_value({"FY2027": Decimal("1000")}, date(2027, 12, 31), "85", "850")
    assert derived_rag(value, G, A).schedule == "red"
    assert derived_rag(value, Decimal("0.85"), Decimal("0.80")).schedule == "green"
