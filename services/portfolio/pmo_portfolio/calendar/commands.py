"""Fiscal calendar commands and the calendar every other concept decides with (read in the same transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pmo_events.contracts.portfolio import FISCAL_CALENDAR_ID
from pmo_events.figures.fiscal import FiscalCalendar, YearNamedBy
from pmo_events.runtime import AggregateType, UnitOfWork, fold
from pmo_portfolio.calendar import domain as calendar_rules
from pmo_portfolio.calendar.domain import CalendarState
from pmo_portfolio.calendar.queries import calendar_view

FISCAL_CALENDAR = AggregateType(
    "fiscal_calendar", calendar_rules.initial, calendar_rules.evolve, CalendarState, keep=True
)
#: The calendar's stream, as `UnitOfWork.load_together` names it.
FISCAL_CALENDAR_STREAM = (FISCAL_CALENDAR, FISCAL_CALENDAR_ID)


async def fiscal_calendar(uow: UnitOfWork) -> FiscalCalendar:
    """The organisation's fiscal calendar as it stands in this unit of work."""
    return (await uow.load(FISCAL_CALENDAR, FISCAL_CALENDAR_ID)).state.calendar


async def set_fiscal_calendar(
    uow: UnitOfWork, year_start_month: int, year_named_by: YearNamedBy, by: str, at: datetime, *, if_match: int | None
) -> tuple[dict[str, Any], int]:
    loaded = await uow.load(FISCAL_CALENDAR, FISCAL_CALENDAR_ID)
    loaded.expect(if_match, "the fiscal calendar")
    new_events = calendar_rules.set_calendar(loaded.state, year_start_month, year_named_by, by, at)
    await uow.append(FISCAL_CALENDAR, FISCAL_CALENDAR_ID, loaded.version, new_events)
    version = loaded.version + len(new_events)
    return calendar_view(fold(FISCAL_CALENDAR, loaded.state, new_events), at.date(), version), version
