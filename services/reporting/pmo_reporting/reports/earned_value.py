"""Earned value per status report: the figures the portfolio recorded when the report was made, never recomputed.

A report recorded before SV, CV, EAC and VAC were part of the event gets them on read, derived once from
its own recorded BAC, PV, EV and AC (the contract's upcast, `pmo_events.figures.earned_value`).
"""

from __future__ import annotations

from decimal import Decimal

from pmo_events.figures.earned_value import recorded_index
from pmo_reporting.reports.common import Body, money

#: Series field ← the recorded event's field.
RECORDED = {
    "bac": "bac",
    "pv": "planned_value",
    "ev": "earned_value",
    "ac": "actual_cost",
    "sv": "schedule_variance",
    "cv": "cost_variance",
    "eac": "eac",
    "vac": "vac",
}


def _money(value: str | None, currency: str | None) -> str | None:
    return money(Decimal(value), currency) if value is not None else None


def _index(value: str | None) -> str | None:
    """SPI or CPI as recorded; the event's "undefined" (nothing to divide by) is null on the API."""
    figure = recorded_index(value)
    return None if figure is None else format(figure, "f")


def evm_point(report: Body, currency: str | None) -> Body:
    """One point of the series: the report's recorded figures (money at the currency's scale), null if undefined."""
    point = {name: _money(report.get(field), currency) for name, field in RECORDED.items()}
    return {
        "period_end": report["period_end"],
        "report_id": report["report_id"],
        **point,
        "spi": _index(report["spi"]),
        "cpi": _index(report["cpi"]),
        "percent_complete": format(Decimal(str(report["percent_complete"])), "f"),
        "green_at": report.get("green_at"),
        "amber_at": report.get("amber_at"),
    }


def evm_series(current: list[Body], currency: str | None) -> list[Body]:
    """The series over the reports that count (a correction replaces what it corrects; a withdrawal removes)."""
    return [evm_point(report, currency) for report in current]
