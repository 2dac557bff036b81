"""The organisation's fiscal calendar as resourcing learns it from the portfolio: capacity is bucketed by it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import FiscalCalendarSet
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar
from pmo_events.runtime import Database
from pmo_resourcing.adapters.db.tables import fiscal_calendar as calendars


async def remember_calendar(session: AsyncSession, event: FiscalCalendarSet) -> None:
    """The newest calendar set wins (a redelivered older one changes nothing)."""
    where = calendars.c.calendar_id == event.calendar_id
    row = (await session.execute(select(calendars.c.set_at).where(where))).first()
    values = {"year_start_month": event.year_start_month, "year_named_by": event.year_named_by, "set_at": event.set_at}
    if row is None:
        await session.execute(calendars.insert().values(calendar_id=event.calendar_id, **values))
    elif event.set_at >= row.set_at:
        await session.execute(calendars.update().where(where).values(**values))


async def fiscal_calendar(db: Database) -> FiscalCalendar:
    """The calendar in force (calendar years until the portfolio service sets one)."""
    async with db.sessions() as session:
        row = (await session.execute(select(calendars.c.year_start_month, calendars.c.year_named_by))).first()
    return FiscalCalendar(row.year_start_month, row.year_named_by) if row else CALENDAR_YEAR
