"""Earned value against worked examples, including zero PV and zero AC."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_reporting.reports.earned_value import earned_value_point, evm_series, planned_value


def test_worked_example() -> None:
    # BAC 100,000; PV 50,000; 40% complete → EV 40,000; AC 45,000.
    point = earned_value_point(bac=Decimal(100000), pv=Decimal(50000), percent_complete=Decimal(40), ac=Decimal(45000))
    assert point["ev"] == "40000.00" and point["sv"] == "-10000.00" and point["cv"] == "-5000.00"
    assert point["spi"] == "0.8000" and point["cpi"] == "0.8889"
    # EAC = AC + (BAC - EV) / CPI = 45,000 + 60,000 / (40,000 / 45,000) = 112,500; VAC = -12,500.
    assert point["eac"] == "112500.00" and point["vac"] == "-12500.00"


def test_zero_denominators_are_undefined() -> None:
    point = earned_value_point(bac=Decimal(100000), pv=Decimal(0), percent_complete=Decimal(0), ac=Decimal(0))
    assert (point["spi"], point["cpi"], point["eac"], point["vac"]) == ("undefined",) * 4
    assert point["sv"] == "0.00" and point["cv"] == "0.00"
    zero_ev = earned_value_point(bac=Decimal(100), pv=Decimal(10), percent_complete=Decimal(0), ac=Decimal(5))
    assert zero_ev["cpi"] == "0.0000" and zero_ev["eac"] == "undefined"


def test_planned_value_is_linear_over_the_timeline() -> None:
    timeline = {"start": "2026-01-01", "end": "2026-01-11"}
    assert planned_value(Decimal(1000), timeline, date(2026, 1, 6)) == Decimal(500)
    assert planned_value(Decimal(1000), timeline, date(2025, 12, 1)) == Decimal(0)
    assert planned_value(Decimal(1000), timeline, date(2027, 1, 1)) == Decimal(1000)
    assert planned_value(Decimal(1000), None, date(2026, 1, 6)) is None


def test_a_correction_replaces_its_period_in_the_series() -> None:
    reports = [
        {"period_end": "2026-01-06", "percent_complete": 10, "actual_cost": "100", "reported_at": "2026-01-07T00:00"},
        {"period_end": "2026-01-06", "percent_complete": 20, "actual_cost": "150", "reported_at": "2026-01-08T00:00"},
    ]
    series = evm_series(Decimal(1000), {"start": "2026-01-01", "end": "2026-01-11"}, reports)
    assert [(p["period_end"], p["ev"], p["ac"], p["spi"]) for p in series] == [
        ("2026-01-06", "200.00", "150.00", "0.4000")
    ]
