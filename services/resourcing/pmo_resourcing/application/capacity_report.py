"""Capacity vs demand per month, grouped by role, pool or skill (in average FTE over the month)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import select

from pmo_events.runtime import Database
from pmo_resourcing.adapters.db.tables import demands
from pmo_resourcing.application.queries import matching_resources
from pmo_resourcing.domain.calendar import STANDARD_WEEK, Span, count_days, months_covering, weekday_numbers
from pmo_resourcing.domain.capacity import fte
from pmo_resourcing.domain.resource import Resource

GroupBy = Literal["role", "pool", "skill"]
MEASURES = ("capacity", "demand", "confirmed", "proposed")
NO_POOL = "unassigned"


async def capacity_by_month(db: Database, window: Span, group_by: GroupBy) -> list[dict[str, Any]]:
    resources = await matching_resources(db, role=None, pool=None, skill=None, min_level=None, active_only=False)
    months = months_covering(window)
    lines = await _demand_lines(db, Span(months[0].start, months[-1].end)) if group_by == "role" else []
    rows = []
    for month in months:
        totals: dict[str, dict[str, Fraction]] = defaultdict(lambda: dict.fromkeys(MEASURES, Fraction(0)))
        for resource in resources:
            for group in _groups(resource, group_by):
                _add_resource(totals[group], resource, month)
        for role, line_fte, span in lines:
            totals[role]["demand"] += _share(line_fte, span, month, weekday_numbers(STANDARD_WEEK))
        rows += [_row(month, group, measures, group_by) for group, measures in sorted(totals.items())]
    return rows


def _add_resource(measures: dict[str, Fraction], resource: Resource, month: Span) -> None:
    working = weekday_numbers(resource.working_days)
    expected = count_days(month, working)
    if not expected:
        return
    measures["capacity"] += Fraction(resource.fte) * Fraction(
        count_days(month, working, excluding=resource.away()), expected
    )
    for booking in resource.active_bookings():
        measures[booking.status] += _share(booking.fte, booking.span, month, working)


def _share(value: Decimal, span: Span, month: Span, working: frozenset[int]) -> Fraction:
    expected = count_days(month, working)
    return Fraction(value) * Fraction(count_days(span.overlap(month), working), expected) if expected else Fraction(0)


def _groups(resource: Resource, group_by: GroupBy) -> Iterable[str]:
    if group_by == "role":
        return [resource.role]
    if group_by == "pool":
        return [resource.pool or NO_POOL]
    return [s.name for s in resource.skills]


def _row(month: Span, group: str, measures: dict[str, Fraction], group_by: GroupBy) -> dict[str, Any]:
    capacity, booked = measures["capacity"], measures["confirmed"] + measures["proposed"]
    known_demand = group_by == "role"
    return {
        "month": month.start.strftime("%Y-%m"),
        "group": group,
        "capacity": _f(capacity),
        "demand": _f(measures["demand"]) if known_demand else None,
        "confirmed": _f(measures["confirmed"]),
        "proposed": _f(measures["proposed"]),
        "gap": _f(capacity - measures["demand"]) if known_demand else None,
        "utilisation_pct": format(fte(booked * 100 / capacity).quantize(Decimal("0.1")), "f") if capacity else None,
    }


async def _demand_lines(db: Database, window: Span) -> list[tuple[str, Decimal, Span]]:
    query = select(demands.c.role, demands.c.fte, demands.c.start, demands.c.end).where(
        demands.c.status != "cancelled", demands.c.start <= window.end, demands.c.end >= window.start
    )
    async with db.sessions() as session:
        return [(r.role, Decimal(r.fte), Span(r.start, r.end)) for r in await session.execute(query)]


def _f(value: Fraction) -> str:
    return format(fte(value), "f")
