"""Earned value against worked examples: PV by fiscal period and over the timeline, zero denominators."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_events.figures.days import Span
from pmo_events.figures.earned_value import earned_value, from_amounts, planned_value, recorded_index, shown, worst_rag
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar

YEAR = Span(date(2027, 1, 1), date(2027, 12, 31))
APRIL = FiscalCalendar(year_start_month=4)


def test_pv_follows_the_cost_per_quarter_when_the_periods_have_dates() -> None:
    budget = {"FY2027-Q1": Decimal("100"), "FY2027-Q2": Decimal("300")}
    assert planned_value(budget, CALENDAR_YEAR, YEAR, date(2027, 3, 31)) == Decimal("100.00")
    assert planned_value(budget, CALENDAR_YEAR, YEAR, date(2027, 6, 30)) == Decimal("400.00")
    # Half-way through Q2 by days: 100 + 300 * 46/91.
    assert planned_value(budget, CALENDAR_YEAR, YEAR, date(2027, 5, 16)) == Decimal("251.65")
    assert planned_value(budget, CALENDAR_YEAR, YEAR, date(2026, 12, 31)) == Decimal("0.00")


def test_pv_follows_the_organisations_fiscal_year() -> None:
    """FY2027 of an April year runs April 2027 to March 2028: by 30 June 2027, 91 of its 366 days."""
    budget = {"FY2027": Decimal("366000")}
    assert planned_value(budget, APRIL, None, date(2027, 6, 30)) == Decimal("91000.00")
    assert planned_value(budget, CALENDAR_YEAR, None, date(2027, 6, 30)) == Decimal("181495.89")  # 181/365


def test_pv_is_spread_linearly_over_the_timeline_when_a_period_has_no_dates() -> None:
    budget = {"phase one": Decimal("365")}
    assert planned_value(budget, CALENDAR_YEAR, YEAR, date(2027, 1, 31)) == Decimal("31.00")
    assert planned_value(budget, CALENDAR_YEAR, None, date(2027, 1, 31)) is None


def test_worked_example_behind_schedule_and_over_cost() -> None:
    """BAC 1000 over 2027; by 30 June PV = 1000 * 181/365 = 495.89; 40% done, EV 400; 500 spent.
    EAC = AC + (BAC - EV) / CPI = 500 + 600 / 0.8 = 1250; VAC = -250."""
    value = earned_value({"FY2027": Decimal("1000")}, CALENDAR_YEAR, YEAR, date(2027, 6, 30), Decimal(40), Decimal(500))
    assert (value.bac, value.pv, value.ev, value.ac) == (Decimal(1000), Decimal("495.89"), Decimal("400.00"), 500)
    assert (value.spi, value.cpi) == (Decimal("0.8066"), Decimal("0.8000"))
    assert (value.sv, value.cv, value.eac, value.vac) == (Decimal("-95.89"), Decimal(-100), Decimal(1250), -250)


def test_eac_uses_the_unrounded_cpi() -> None:
    """BAC 100,000, EV 40,000, AC 45,000: CPI 0.8889 shown, EAC = 100,000 * 45,000 / 40,000 = 112,500."""
    value = from_amounts(bac=Decimal(100000), pv=Decimal(50000), ev=Decimal(40000), ac=Decimal(45000))
    assert value.cpi == Decimal("0.8889") and value.eac == Decimal("112500.00") and value.vac == Decimal("-12500.00")


def test_zero_and_unknown_denominators_are_undefined_never_nan() -> None:
    nothing = from_amounts(bac=Decimal(1000), pv=Decimal(0), ev=Decimal(0), ac=Decimal(0))
    assert (nothing.spi, nothing.cpi, nothing.eac, nothing.vac) == (None, None, None, None)
    wasted = from_amounts(bac=Decimal(1000), pv=Decimal(10), ev=Decimal(0), ac=Decimal(5))
    assert wasted.cpi == Decimal("0.0000") and wasted.eac is None
    unplanned = from_amounts(bac=Decimal(1000), pv=None, ev=Decimal(10), ac=Decimal(5))
    assert unplanned.spi is None and unplanned.sv is None and unplanned.eac == Decimal("500.00")


def test_a_recorded_index_reads_back_as_a_figure_or_none() -> None:
    # Given the indices as StatusReported events write them (shown), and strings a producer should not write
    written = [shown(Decimal("0.8066")), shown(None)]
    # When they are read back
    read = [recorded_index(value) for value in (*written, None, "x", "NaN", "Infinity", "1e999999999")]
    # Then a decimal is itself and everything else is undefined (None), never an error
    assert written == ["0.8066", "undefined"]
    assert read == [Decimal("0.8066"), None, None, None, None, None, None]


def test_the_worst_rag_is_red_then_amber_then_green_and_none_without_a_rating() -> None:
    assert worst_rag(["green", "red", "amber"]) == "red"
    assert worst_rag(["green", "amber", "green"]) == "amber"
    assert worst_rag(["green"]) == "green"
    assert worst_rag([]) is None
