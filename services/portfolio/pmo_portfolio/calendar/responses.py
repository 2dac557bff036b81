"""HTTP answer of the fiscal calendar: its settings and today's fiscal year, quarter and period."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year_start_month": 4,
                    "year_named_by": "end",
                    "set_by": "ada",
                    "set_at": "2027-03-01T09:30:00Z",
                    "current": {
                        "year": {"name": "FY2028", "start": "2027-04-01", "end": "2028-03-31"},
                        "quarter": {"name": "FY2028-Q1", "start": "2027-04-01", "end": "2027-06-30"},
                        "period": {"name": "FY2028-P01", "start": "2027-04-01", "end": "2027-04-30"},
                    },
                    "version": 1,
                }
            ]
        }
    )

    year_start_month: int = Field(ge=1, le=12)
    year_named_by: Literal["start", "end"]
    set_by: str | None = None
    set_at: Instant | None = None
    current: CurrentPeriods
    version: int
