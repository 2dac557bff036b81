"""The fiscal calendar aggregate: one per organisation, set by an administrator, changed as an event."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import FISCAL_CALENDAR_ID, FiscalCalendarSet
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar, YearNamedBy
from pmo_portfolio.shared.errors import InvalidCommand


class CalendarState(BaseModel):
    """The calendar in force; until one is set, fiscal years are calendar years."""

    year_start_month: int = CALENDAR_YEAR.year_start_month
    year_named_by: YearNamedBy = CALENDAR_YEAR.year_named_by
    set_by: str | None = None
    set_at: datetime | None = None

    @property
    def calendar(self) -> FiscalCalendar:
        return FiscalCalendar(self.year_start_month, self.year_named_by)


def set_calendar(
    state: CalendarState, year_start_month: int, year_named_by: YearNamedBy, by: str, at: datetime
) -> list[Event]:
    """A new calendar from now on; setting the one in force records nothing."""
    if not 1 <= year_start_month <= 12:
        raise InvalidCommand("year_start_month", "a fiscal year starts in a month from 1 (January) to 12")
    if (year_start_month, year_named_by) == (state.year_start_month, state.year_named_by) and state.set_at:
        return []
    return [
        FiscalCalendarSet(
            calendar_id=FISCAL_CALENDAR_ID,
            year_start_month=year_start_month,
            year_named_by=year_named_by,
            set_by=by,
            set_at=at,
        )
    ]


def evolve(state: CalendarState, event: Event) -> CalendarState:
    if isinstance(event, FiscalCalendarSet):
        return CalendarState(**event.model_dump(include={"year_start_month", "year_named_by", "set_by", "set_at"}))
    return state


def initial(_calendar_id: str) -> CalendarState:
    return CalendarState()
