"""HTTP bodies of strategic objectives: create, patch, retire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from pmo_portfolio.shared.http import Body


class ObjectivePeriod(Body):
    start: date
    end: date


class ObjectiveCreate(Body):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    weight: Decimal = Field(gt=0, max_digits=12, decimal_places=6)
    period: ObjectivePeriod


class ObjectivePatch(Body):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    weight: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=6)
    period: ObjectivePeriod | None = None


class ObjectiveRetire(Body):
    reason: str | None = Field(default=None, max_length=5_000)
