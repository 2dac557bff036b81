"""The fiscal calendar as a client reads it: the settings, and the fiscal year, quarter and period of today."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import FISCAL_CALENDAR_ID
from pmo_events.figures.fiscal import LEVELS, FiscalCalendar, Level
from pmo_events.runtime import Database, EventStore
from pmo_portfolio.calendar import domain as calendar_rules
from pmo_portfolio.calendar.domain import CalendarState


def calendar_view(state: CalendarState, today: date, version: int) -> dict[str, Any]:
    calendar = state.calendar

    def current(level: Level) -> dict[str, str]:
        name = calendar.name_of(today, level)
        span = calendar.span(name)
        assert span is not None
        return {"name": name, "start": span.start.isoformat(), "end": span.end.isoformat()}

    return {
        **state.model_dump(mode="json"),
        "current": {level: current(level) for level in LEVELS},
        "version": version,
    }


async def _state_in(session: AsyncSession, store: EventStore) -> tuple[CalendarState, int]:
    """Folded from its stream: a handful of events, so no view table."""
    events = await store.load(session, FISCAL_CALENDAR_ID)
    state = calendar_rules.initial(FISCAL_CALENDAR_ID)
    for event in events:
        state = calendar_rules.evolve(state, event.decode())
    return state, len(events)


async def calendar_in(session: AsyncSession, store: EventStore) -> FiscalCalendar:
    """The organisation's fiscal calendar, for a query that decides nothing."""
    return (await _state_in(session, store))[0].calendar


async def read_calendar(db: Database, store: EventStore, today: date) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        state, version = await _state_in(session, store)
    return calendar_view(state, today, version), version
