"""The organisation's fiscal calendar, set by an administrator on the portfolio service (one stream)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pmo_events.contracts.base import UtcInstant, contract
from pmo_events.contracts.portfolio.topic import PortfolioEvent

#: The one stream of the organisation's fiscal calendar.
FISCAL_CALENDAR_ID = "fiscal-calendar"


@contract
class FiscalCalendarSet(PortfolioEvent):
    """From now on fiscal years start in `year_start_month` and are named by the calendar year they start in
    (`year_named_by="start"`) or end in (`"end"`). Earlier reports keep the calendar of their time."""

    event_name = "FiscalCalendarSet"
    calendar_id: str = FISCAL_CALENDAR_ID
    year_start_month: int = Field(ge=1, le=12)
    year_named_by: Literal["start", "end"] = "start"
    set_by: str
    set_at: UtcInstant
