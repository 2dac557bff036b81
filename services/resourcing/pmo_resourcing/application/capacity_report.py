"""Capacity vs demand per fiscal period and group, by the one definition in `pmo_events.figures.capacity`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pmo_events.figures.capacity import BookedLoad, DemandLine, GroupBy, ResourceCalendar, capacity_rows
from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import FiscalCalendar, Level
from pmo_events.runtime import Database
from pmo_resourcing.adapters.db.tables import demands
from pmo_resourcing.application.queries import matching_resources
from pmo_resourcing.domain.resource import Resource


async def capacity_by_period(
    db: Database, calendar: FiscalCalendar, window: Span, group_by: GroupBy, level: Level
) -> list[dict[str, Any]]:
    """Rows per whole fiscal period touching `window` (of `level`: period, quarter or year) and group."""
    buckets = calendar.buckets(window, level)
    resources = await matching_resources(db, role=None, pool=None, skill=None, min_level=None, active_only=False)
    lines = await _demand_lines(db, Span(buckets[0].span.start, buckets[-1].span.end))
    loads = [
        BookedLoad(r.resource_id, b.status, b.fte, b.span)  # type: ignore[arg-type]
        for r in resources
        for b in r.active_bookings()
    ]
    return capacity_rows([resource_calendar(r) for r in resources], loads, lines, buckets, group_by)


def resource_calendar(resource: Resource) -> ResourceCalendar:
    return ResourceCalendar(
        resource_id=resource.resource_id,
        role=resource.role,
        fte=resource.fte,
        working_days=resource.working_days,
        pool=resource.pool,
        skills=tuple(s.name for s in resource.skills),
        time_off=tuple(Span(t.start, t.end) for t in resource.time_off),
        retired_on=resource.retired_on,
    )


async def _demand_lines(db: Database, window: Span) -> list[DemandLine]:
    query = select(demands.c.role, demands.c.fte, demands.c.start, demands.c.end).where(
        demands.c.status != "cancelled", demands.c.start <= window.end, demands.c.end >= window.start
    )
    async with db.sessions() as session:
        return [DemandLine(r.role, Decimal(r.fte), Span(r.start, r.end)) for r in await session.execute(query)]
