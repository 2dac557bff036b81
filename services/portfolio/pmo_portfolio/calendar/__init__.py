"""The organisation's fiscal calendar. Other concepts use only what this module exports."""

from pmo_portfolio.calendar.commands import fiscal_calendar
from pmo_portfolio.calendar.queries import calendar_in

__all__ = ["calendar_in", "fiscal_calendar"]
