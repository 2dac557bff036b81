"""HTTP answers of portfolios: the envelope per fiscal period, the board, the scoring model (docs/api.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pmo_portfolio.shared.http import CriterionOut, PeriodEnvelope
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import DecimalString


class ScoringModelOut(BaseModel):
    method: Literal["weighted", "pairwise"]
    criteria: list[CriterionOut]
    consistency_ratio: DecimalString | None = None


class PortfolioSummary(BaseModel):
    """A portfolio: currency, owner, board, the envelope per fiscal period, the scoring model."""

    id: str
    name: str
    currency: str = Field(examples=["EUR"])
    owner: str
    board_members: list[str]
    budget: list[PeriodEnvelope]
    scoring_model: ScoringModelOut | None = None
    candidates: int = Field(description="how many candidates the board has")


class PortfolioView(PortfolioSummary):
    """One portfolio; `version` is its ETag."""

    version: int


class PortfolioPage(Page[PortfolioSummary]):
    """Portfolios by id."""
