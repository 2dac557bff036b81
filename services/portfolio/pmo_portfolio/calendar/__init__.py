"""The organisation's fiscal calendar. Other concepts use only what this module exports."""

from pmo_portfolio.calendar.commands import FISCAL_CALENDAR_STREAM, fiscal_calendar
from pmo_portfolio.calendar.queries import calendar_in

__all__ = ["FISCAL_CALENDAR_STREAM", "calendar_in", "fiscal_calendar"]
