"""HTTP body of the fiscal calendar."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pmo_portfolio.shared.http import Body
from pmo_servicekit.contract.responses import example


class FiscalCalendarBody(Body):
    model_config = example({"year_start_month": 4, "year_named_by": "end"})

    year_start_month: int = Field(ge=1, le=12, description="the month (1-12) every fiscal year starts in")
    year_named_by: Literal["start", "end"] = Field(
        default="start", description="FY2027 is the year that starts in 2027 (`start`) or ends in 2027 (`end`)"
    )
