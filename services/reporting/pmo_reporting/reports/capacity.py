"""Capacity vs demand by role and month: capacity, demand, booked, proposed, gap, utilisation, over-allocation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pmo_reporting.projections.capacity import ALLOCATION, DEMAND, OVERALLOCATION, RESOURCE
from pmo_reporting.reports.common import Body, DocumentView, ratio

FIELDS = ("capacity", "demand", "booked", "proposed")


def months(start: date, end: date) -> list[date]:
    """First days of the months that the inclusive range touches."""
    first, out = start.replace(day=1), []
    while first <= end:
        out.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return out


def month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def overlap_days(start: date, end: date, first: date, last: date) -> int:
    return max(0, (min(end, last) - max(start, first)).days + 1)


def fte_in_month(fte: Decimal, start: date, end: date, month: date) -> Decimal:
    """Average FTE over the month of a line running from start to end (inclusive), by calendar days."""
    last = month_end(month)
    days = overlap_days(start, end, month, last)
    return fte * Decimal(days) / Decimal((last - month).days + 1) if days else Decimal(0)


def capacity_in_month(resource: Body, month: date) -> Decimal:
    """The resource's FTE over the month, less its days off and the days after it retired."""
    last = month_end(month)
    length = (last - month).days + 1
    away = sum(
        overlap_days(date.fromisoformat(t["start"]), date.fromisoformat(t["end"]), month, last)
        for t in resource["time_off"].values()
    )
    if resource["retired_on"]:
        away += overlap_days(date.fromisoformat(resource["retired_on"]), date.max, month, last)
    return Decimal(resource["fte"]) * Decimal(max(0, length - away)) / Decimal(length)


def _cell(grid: dict[tuple[str, date], dict[str, Decimal]], role: str, month: date) -> dict[str, Decimal]:
    return grid.setdefault((role, month), dict.fromkeys(FIELDS, Decimal(0)))


def _spread_lines(grid: dict, lines: list[tuple[str, Body]], field: str, window: list[date]) -> None:  # type: ignore[type-arg]
    for role, line in lines:
        start, end = date.fromisoformat(line["start"]), date.fromisoformat(line["end"])
        for month in window:
            share = fte_in_month(Decimal(line["fte"]), start, end, month)
            if share:
                _cell(grid, role, month)[field] += share


def _bookings(docs: DocumentView, status: str, roles: dict[str, str]) -> list[tuple[str, Body]]:
    found = []
    for allocation in docs.all(ALLOCATION):
        role = allocation.get("role") or roles.get(allocation["resource_id"])
        if allocation["status"] == status and role and allocation.get("start"):
            found.append((role, allocation))
    return found


def capacity_heatmap(docs: DocumentView, *, start: date, end: date) -> list[Body]:
    window = months(start, end)
    grid: dict[tuple[str, date], dict[str, Decimal]] = {}
    resources = [r for r in docs.all(RESOURCE) if r.get("role") and r.get("fte")]
    for resource in resources:
        for month in window:
            _cell(grid, resource["role"], month)["capacity"] += capacity_in_month(resource, month)
    demand = [(d["role"], d) for d in docs.all(DEMAND) if d.get("start") and not d.get("cancelled_at")]
    _spread_lines(grid, demand, "demand", window)
    roles = {r["id"]: r["role"] for r in resources}
    _spread_lines(grid, _bookings(docs, "confirmed", roles), "booked", window)
    _spread_lines(grid, _bookings(docs, "proposed", roles), "proposed", window)
    rows = []
    for (role, month), cell in sorted(grid.items()):
        load = cell["booked"] + cell["proposed"]
        rows.append(
            {
                "role": role,
                "month": month.strftime("%Y-%m"),
                **{k: format(v.quantize(Decimal("0.01")), "f") for k, v in cell.items()},
                "gap": format((cell["capacity"] - cell["demand"]).quantize(Decimal("0.01")), "f"),
                "utilisation": ratio(load, cell["capacity"]),
                "over_allocated": load > cell["capacity"],
            }
        )
    return rows


def overallocations(docs: DocumentView, *, start: date, end: date) -> list[Body]:
    """Accepted over-allocations with a week in the window (ISO weeks such as 2026-W49)."""
    first, last = start.isocalendar()[:2], end.isocalendar()[:2]
    rows = []
    for fact in docs.all(OVERALLOCATION):
        weeks = [w for w in fact["weeks"] if first <= _iso_week(w["week"]) <= last]
        if weeks:
            rows.append({**fact, "weeks": weeks})
    return sorted(rows, key=lambda f: (f["at"], f["resource_id"]))


def _iso_week(text: str) -> tuple[int, int]:
    year, _, week = text.partition("-W")
    return int(year), int(week)
