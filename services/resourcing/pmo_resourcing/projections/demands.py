"""The demands view: every demand line and how much of it bookings cover."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.resourcing import DemandCancelled, DemandRaised
from pmo_events.envelope import RecordedEvent
from pmo_events.figures.days import STANDARD_WEEK, Span, count_days, weekday_numbers
from pmo_resourcing.adapters.db.tables import allocations, demands
from pmo_resourcing.domain.capacity import fte

#: Demand has no person behind it, so its days are the standard Monday-to-Friday week.
DEMAND_DAYS = weekday_numbers(STANDARD_WEEK)


def raised_row(raised: DemandRaised, event: RecordedEvent) -> dict[str, Any]:
    """The demands view's row of a demand just raised (open, nothing covering it yet)."""
    return {
        "demand_id": raised.demand_id,
        "project_id": raised.project_id,
        "role": raised.role,
        "fte": format(raised.fte, "f"),
        "filled_fte": "0",
        "proposed_fte": "0",
        "start": raised.start,
        "end": raised.end,
        "status": "open",
        "raised_at": event.time,
        "cancel_reason": None,
    }


async def project_demand(session: AsyncSession, event: RecordedEvent) -> None:
    if event.type == DemandRaised.type_name():
        raised = event.decode()
        assert isinstance(raised, DemandRaised)
        await session.execute(demands.insert().values(**raised_row(raised, event)))
    elif event.type == DemandCancelled.type_name():
        cancelled = event.decode()
        assert isinstance(cancelled, DemandCancelled)
        await session.execute(
            demands.update()
            .where(demands.c.demand_id == cancelled.demand_id)
            .values(status="cancelled", cancel_reason=cancelled.reason)
        )


async def refresh_coverage(session: AsyncSession, demand_id: str) -> None:
    """Covered FTE = the bookings' FTE averaged over the demand's working days; status follows."""
    line = (await session.execute(select(demands).where(demands.c.demand_id == demand_id))).mappings().first()
    if line is None:
        return
    bookings = (
        await session.execute(
            select(allocations.c.start, allocations.c.end, allocations.c.fte, allocations.c.status).where(
                allocations.c.demand_id == demand_id, allocations.c.status.in_(("proposed", "confirmed"))
            )
        )
    ).all()
    span = Span(line["start"], line["end"])
    filled = coverage(span, [(b.start, b.end, Decimal(b.fte)) for b in bookings if b.status == "confirmed"])
    proposed = coverage(span, [(b.start, b.end, Decimal(b.fte)) for b in bookings if b.status == "proposed"])
    await session.execute(
        demands.update()
        .where(demands.c.demand_id == demand_id)
        .values(
            filled_fte=format(fte(filled), "f"),
            proposed_fte=format(fte(proposed), "f"),
            status=line["status"] if line["status"] == "cancelled" else status_of(Decimal(line["fte"]), filled),
        )
    )


def coverage(span: Span, bookings: list[tuple[date, date, Decimal]]) -> Fraction:
    days = count_days(span, DEMAND_DAYS)
    if not days:
        return Fraction(0)
    covered = sum(
        (Fraction(f) * count_days(span.overlap(Span(s, e)), DEMAND_DAYS) for s, e, f in bookings), Fraction(0)
    )
    return covered / days


def status_of(wanted: Decimal, filled: Fraction) -> str:
    if filled >= Fraction(wanted):
        return "filled"
    return "partially_filled" if filled > 0 else "open"
