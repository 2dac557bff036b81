"""HTTP answers of strategic objectives (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import DecimalString

OBJECTIVE_EXAMPLE: dict[str, Any] = {
    "id": "39bd6bfb-b105-4a37-a4ad-edd1fc2f58dc",
    "title": "Stay compliant",
    "description": "No regulatory findings",
    "weight": "1",
    "period": {"start": "2027-01-01", "end": "2029-12-31"},
    "status": "active",
    "retired_reason": None,
}


class Period(BaseModel):
    start: date
    end: date


class ObjectiveView(BaseModel):
    """A strategic objective; `version` is its ETag."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**OBJECTIVE_EXAMPLE, "version": 1}]})

    id: str
    title: str
    description: str | None = None
    weight: DecimalString
    period: Period
    status: Literal["active", "retired"]
    retired_reason: str | None = None
    #: The portfolios whose strategy it is; empty: every portfolio.
    portfolio_ids: list[str] = []
    version: int


class ObjectiveSummary(BaseModel):
    """A strategic objective in a list."""

    model_config = ConfigDict(json_schema_extra={"examples": [OBJECTIVE_EXAMPLE]})

    id: str
    title: str
    description: str | None = None
    weight: DecimalString
    period: Period
    status: Literal["active", "retired"]
    retired_reason: str | None = None
    #: The portfolios whose strategy it is; empty: every portfolio.
    portfolio_ids: list[str] = []


class ObjectivePage(Page[ObjectiveSummary]):
    """Strategic objectives by id."""
