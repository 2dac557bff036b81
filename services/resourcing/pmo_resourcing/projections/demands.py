"""The demands view: every demand line and how much of it bookings cover."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import CursorResult, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.resourcing import DemandCancelled, DemandRaised
from pmo_events.envelope import RecordedEvent
from pmo_events.figures.days import STANDARD_WEEK, Span, count_days, weekday_numbers
from pmo_events.runtime.store import EventStore, view_rows_taken_are_a_lost_race
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
        result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            demands.update()
            .where(demands.c.demand_id == cancelled.demand_id)
            .values(status="cancelled", cancel_reason=cancelled.reason)
        )
        if result.rowcount == 0:
            await _restore_line(session, event, cancelled)


async def _restore_line(session: AsyncSession, event: RecordedEvent, cancelled: DemandCancelled) -> None:
    """The cancelled demand line whose row is missing (an operator's delete, a partial restore), folded from its
    project's demand stream in the store (the events before `event`, then `event`), with its coverage from the
    bookings' rows: what a rebuild makes. Updating by key alone changed nothing, and the line stayed missing
    until a rebuild (session 11's notes)."""
    line = await folded_line(session, event.source, event.stream_id, cancelled.demand_id, before=event.sequence)
    if line is None:  # never raised: a rebuild has no row either
        return
    line.update(status="cancelled", cancel_reason=cancelled.reason)
    await _insert_line(session, line)
    await refresh_coverage(session, cancelled.demand_id)


async def folded_line(
    session: AsyncSession, source: str, project_id: str, demand_id: str, *, before: int | None = None
) -> dict[str, Any] | None:
    """The demands view's row of a line before its coverage, folded from its project's demand stream in the store
    (its events before the sequence `before`, or all of them); None when the stream never raised it."""
    line: dict[str, Any] | None = None
    for recorded in await EventStore(source=source, topic=None).load(session, project_id):
        if before is not None and recorded.sequence >= before:
            break
        decoded = recorded.decode()
        if isinstance(decoded, DemandRaised) and decoded.demand_id == demand_id:
            line = raised_row(decoded, recorded)
        elif isinstance(decoded, DemandCancelled) and line is not None and decoded.demand_id == demand_id:
            line.update(status="cancelled", cancel_reason=decoded.reason)
    return line


async def _insert_line(session: AsyncSession, line: dict[str, Any]) -> None:
    # A row found missing may be inserted meanwhile by a rebuild: a lost race, decided (or applied) again.
    with view_rows_taken_are_a_lost_race():
        await session.execute(demands.insert().values(**line))


async def refresh_coverage(
    session: AsyncSession, demand_id: str, *, source: str | None = None, project_id: str | None = None
) -> None:
    """Covered FTE = the bookings' FTE averaged over the demand's working days; status follows. A line whose row
    is missing (an operator's delete, a partial restore) is folded from its project's demand stream first, when
    the caller names it (`source`, `project_id`: a booking's event refreshing the line it covers), and inserted:
    what a rebuild makes. Refreshing nothing left the line missing, its coverage wrong, until a rebuild."""
    found = (await session.execute(select(demands).where(demands.c.demand_id == demand_id))).mappings().first()
    line: dict[str, Any] | None = dict(found) if found is not None else None
    if found is None and source is not None and project_id is not None:
        line = await folded_line(session, source, project_id, demand_id)
        if line is not None:
            await _insert_line(session, line)
    if line is None:  # not asked to fold it, or never raised (a rebuild has no row either)
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
