"""Earned value per status report: PV, EV, AC, SV, CV, SPI, CPI, EAC, VAC; "undefined" on zero denominators."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_reporting.reports.common import UNDEFINED, Body, money, ratio


def planned_value(bac: Decimal, timeline: Body | None, period_end: date) -> Decimal | None:
    """The baseline spread linearly over the timeline; unknown without one."""
    if not timeline or not timeline.get("start") or not timeline.get("end"):
        return None
    start, end = date.fromisoformat(timeline["start"]), date.fromisoformat(timeline["end"])
    span = (end - start).days
    if span <= 0:
        return bac if period_end >= end else Decimal(0)
    elapsed = min(max((period_end - start).days, 0), span)
    return bac * Decimal(elapsed) / Decimal(span)


def earned_value_point(*, bac: Decimal, pv: Decimal | None, percent_complete: Decimal, ac: Decimal) -> Body:
    """One point of the series; every ratio with a zero (or unknown) denominator is "undefined"."""
    ev = bac * percent_complete / Decimal(100)
    spi = ratio(ev, pv) if pv is not None else UNDEFINED
    cpi = ratio(ev, ac)
    if cpi in (UNDEFINED, "0.0000"):
        eac: str = UNDEFINED
        vac: str = UNDEFINED
    else:
        eac_value = ac + (bac - ev) / (ev / ac)
        eac, vac = money(eac_value), money(bac - eac_value)
    return {
        "bac": money(bac),
        "pv": money(pv) if pv is not None else UNDEFINED,
        "ev": money(ev),
        "ac": money(ac),
        "sv": money(ev - pv) if pv is not None else UNDEFINED,
        "cv": money(ev - ac),
        "spi": spi,
        "cpi": cpi,
        "eac": eac,
        "vac": vac,
    }


def latest_per_period(reports: list[Body]) -> list[Body]:
    """A later report for the same period end is a correction: it replaces the earlier one in series."""
    latest: dict[str, Body] = {}
    for report in sorted(reports, key=lambda r: (r["period_end"], r["reported_at"])):
        latest[report["period_end"]] = report
    return [latest[k] for k in sorted(latest)]


def evm_series(bac: Decimal, timeline: Body | None, reports: list[Body]) -> list[Body]:
    series = []
    for report in latest_per_period(reports):
        period_end = date.fromisoformat(report["period_end"])
        given = report.get("planned_value")
        pv = Decimal(given) if given is not None else planned_value(bac, timeline, period_end)
        point = earned_value_point(
            bac=bac,
            pv=pv,
            percent_complete=Decimal(str(report["percent_complete"])),
            ac=Decimal(report["actual_cost"]),
        )
        series.append({"period_end": report["period_end"], **point})
    return series
