"""Capacity vs demand per fiscal period and group, by the one definition in `pmo_events.figures.capacity`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pmo_events.figures.capacity import BookedLoad, DemandLine, GroupBy, ResourceCalendar, capacity_rows
from pmo_events.figures.days import STANDARD_WEEK, Span
from pmo_events.figures.fiscal import FiscalCalendar, Level
from pmo_reporting.projections.capacity import ALLOCATION, DEMAND, OVERALLOCATION, RESOURCE
from pmo_reporting.reports.common import Body, DocumentView


def _span(doc: Body) -> Span:
    return Span(date.fromisoformat(doc["start"]), date.fromisoformat(doc["end"]))


def resource_calendar(doc: Body) -> ResourceCalendar:
    return ResourceCalendar(
        resource_id=doc["id"],
        role=doc["role"],
        fte=Decimal(doc["fte"]),
        working_days=tuple(doc.get("working_days") or STANDARD_WEEK),
        pool=doc.get("pool"),
        skills=tuple(s["name"] for s in doc.get("skills", [])),
        time_off=tuple(_span(t) for t in doc["time_off"].values()),
        retired_on=date.fromisoformat(doc["retired_on"]) if doc["retired_on"] else None,
    )


def capacity_heatmap(
    docs: DocumentView, calendar: FiscalCalendar, window: Span, group_by: GroupBy, level: Level
) -> list[dict[str, Any]]:
    """Rows per whole fiscal period touching `window` and group, as resourcing's `/capacity` answers."""
    buckets = calendar.buckets(window, level)
    resources = [resource_calendar(r) for r in docs.all(RESOURCE) if r.get("role") and r.get("fte")]
    loads = [
        BookedLoad(a["resource_id"], a["status"], Decimal(a["fte"]), _span(a))
        for a in docs.all(ALLOCATION)
        if a["status"] in ("proposed", "confirmed") and a.get("start")
    ]
    demand = [
        DemandLine(d["role"], Decimal(d["fte"]), _span(d))
        for d in docs.all(DEMAND)
        if d.get("start") and not d.get("cancelled_at")
    ]
    return capacity_rows(resources, loads, demand, buckets, group_by)


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
