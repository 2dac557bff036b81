"""Earned value and derived RAG against worked examples, zero PV and zero AC included."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_events.contracts.common import Timeline
from pmo_portfolio.delivery.domain.earned_value import derived_rag, earned_value, planned_value, rating

YEAR = Timeline(start=date(2027, 1, 1), end=date(2027, 12, 31))
G, A = Decimal("0.95"), Decimal("0.90")


def test_pv_follows_the_cost_per_quarter_when_the_periods_are_dateable() -> None:
    budget = {"2027-Q1": Decimal("100"), "2027-Q2": Decimal("300")}
    assert planned_value(budget, YEAR, date(2027, 3, 31)) == Decimal("100.00")
    assert planned_value(budget, YEAR, date(2027, 6, 30)) == Decimal("400.00")
    # Half-way through Q2 by days: 100 + 300 * 46/91.
    assert planned_value(budget, YEAR, date(2027, 5, 16)) == Decimal("251.65")
    assert planned_value(budget, YEAR, date(2026, 12, 31)) == Decimal("0.00")


def test_pv_is_spread_linearly_over_the_timeline_when_the_periods_are_not_dateable() -> None:
    budget = {"phase one": Decimal("365")}
    assert planned_value(budget, YEAR, date(2027, 1, 31)) == Decimal("31.00")
    assert planned_value(budget, Timeline(), date(2027, 1, 31)) is None


def test_worked_example_behind_schedule_and_over_cost() -> None:
    """BAC 1000 over the year 2027; by 30 June PV = 1000 * 181/365 = 495.89; 40% done; 500 spent."""
    value = earned_value({"2027": Decimal("1000")}, YEAR, date(2027, 6, 30), Decimal("40"), Decimal("500"))
    assert (value.bac, value.pv, value.ev, value.ac) == (Decimal(1000), Decimal("495.89"), Decimal("400.00"), 500)
    assert value.spi == Decimal("0.8066") and value.cpi == Decimal("0.8000")
    rag = derived_rag(value, G, A)
    assert (rag.schedule, rag.cost, rag.scope, rag.overall) == ("red", "red", "green", "red")


def test_worst_dimension_wins_and_amber_starts_at_the_amber_threshold() -> None:
    value = earned_value({"2027": Decimal("1000")}, YEAR, date(2027, 12, 31), Decimal("92"), Decimal("920"))
    assert value.spi == Decimal("0.9200") and value.cpi == Decimal("1.0000")
    rag = derived_rag(value, G, A)
    assert (rag.schedule, rag.cost, rag.overall) == ("amber", "green", "amber")
    assert rating(Decimal("0.90"), G, A) == "amber" and rating(Decimal("0.8999"), G, A) == "red"
    assert rating(Decimal("0.95"), G, A) == "green"


def test_zero_pv_and_zero_ac_are_undefined_never_nan() -> None:
    """Before the start nothing is planned; with nothing spent CPI has no denominator either."""
    value = earned_value({"2027": Decimal("1000")}, YEAR, date(2026, 12, 31), Decimal("0"), Decimal("0"))
    assert value.pv == Decimal("0.00") and value.spi is None and value.cpi is None
    assert derived_rag(value, G, A).overall == "green"


def test_work_done_with_nothing_spent_and_money_spent_with_nothing_earned() -> None:
    early = earned_value({"2027": Decimal("1000")}, YEAR, date(2026, 12, 31), Decimal("10"), Decimal("0"))
    assert early.spi is None and early.cpi is None and early.ev == Decimal("100.00")
    wasted = earned_value({"2027": Decimal("1000")}, YEAR, date(2027, 3, 31), Decimal("0"), Decimal("50"))
    assert wasted.cpi == Decimal("0.0000") and derived_rag(wasted, G, A).cost == "red"


def test_tolerances_are_configurable() -> None:
    value = earned_value({"2027": Decimal("1000")}, YEAR, date(2027, 12, 31), Decimal("85"), Decimal("850"))
    assert derived_rag(value, G, A).schedule == "red"
    assert derived_rag(value, Decimal("0.85"), Decimal("0.80")).schedule == "green"
