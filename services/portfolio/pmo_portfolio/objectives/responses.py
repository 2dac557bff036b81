"""HTTP answers of strategic objectives (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import DecimalString


class Period(BaseModel):
    start: date
    end: date


class ObjectiveView(BaseModel):
    """A strategic objective; `version` is its ETag."""

    id: str
    title: str
    description: str | None = None
    weight: DecimalString
    period: Period
    status: Literal["active", "retired"]
    retired_reason: str | None = None
    version: int


class ObjectiveSummary(BaseModel):
    """A strategic objective in a list."""

    id: str
    title: str
    description: str | None = None
    weight: DecimalString
    period: Period
    status: Literal["active", "retired"]
    retired_reason: str | None = None


class ObjectivePage(Page[ObjectiveSummary]):
    """Strategic objectives by id."""
