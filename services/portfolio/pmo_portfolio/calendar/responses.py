"""HTTP answer of the fiscal calendar: its settings and today's fiscal year, quarter and period."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from pmo_servicekit.contract.wire import Instant


class FiscalSpan(BaseModel):
    name: str = Field(examples=["FY2027-Q1"])
    start: date
    end: date


class CurrentPeriods(BaseModel):
    year: FiscalSpan
    quarter: FiscalSpan
    period: FiscalSpan


class FiscalCalendarView(BaseModel):
    """The organisation's fiscal calendar; `version` is its ETag."""

    year_start_month: int = Field(ge=1, le=12)
    year_named_by: Literal["start", "end"]
    set_by: str | None = None
    set_at: Instant | None = None
    current: CurrentPeriods
    version: int
