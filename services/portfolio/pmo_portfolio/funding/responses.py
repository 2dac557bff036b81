"""HTTP answers of portfolios: the envelope per fiscal period, the board, the scoring model (docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_portfolio.shared.http import CriterionOut, PeriodEnvelope
from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import Money, Ratio

#: A portfolio as the demo loads it (`make demo`).
PORTFOLIO_EXAMPLE: dict[str, Any] = {
    "id": "fc465260-42a7-40c8-a03e-821a69edefb2",
    "name": "Digital Change",
    "currency": "EUR",
    "owner": "olga",
    "board_members": ["bob", "carla"],
    "budget": [
        {"fiscal_period": "FY2027", "envelope": "1200000.00", "committed": "930000.00", "remaining": "270000.00"},
        {"fiscal_period": "FY2028", "envelope": "600000.00", "committed": "0.00", "remaining": "600000.00"},
    ],
    "scoring_model": {
        "method": "weighted",
        "criteria": [
            {"key": "value", "name": "Business value", "weight": "0.5000"},
            {"key": "fit", "name": "Strategic fit", "weight": "0.3000"},
            {"key": "risk", "name": "Delivery confidence", "weight": "0.2000"},
        ],
        "consistency_ratio": None,
    },
    "candidates": 6,
}


class ScoringModelOut(BaseModel):
    method: Literal["weighted", "pairwise"]
    criteria: list[CriterionOut]
    consistency_ratio: Ratio | None = None


class DelegationOut(BaseModel):
    portfolio_manager: str
    up_to: Money = Field(description="below this total the portfolio manager decides alone")


class CharterOut(BaseModel):
    """How the board decides: members and chair, quorum, the voting rule, delegated authority (versioned)."""

    version: int
    members: list[str]
    chair: str
    quorum: int
    rule: Literal["simple_majority", "qualified_majority", "unanimity"]
    qualified_share: Ratio | None = None
    voting_days: int
    delegated_authority: DelegationOut | None = None


class PortfolioSummary(BaseModel):
    """A portfolio: currency, owner, board, the envelope per fiscal period, the scoring model."""

    model_config = ConfigDict(json_schema_extra={"examples": [PORTFOLIO_EXAMPLE]})

    id: str
    name: str
    currency: str = Field(examples=["EUR"])
    owner: str
    board_members: list[str]
    charter: CharterOut | None = None
    budget: list[PeriodEnvelope]
    scoring_model: ScoringModelOut | None = None
    candidates: int = Field(description="how many candidates the board has")


class PortfolioView(PortfolioSummary):
    """One portfolio; `version` is its ETag."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**PORTFOLIO_EXAMPLE, "version": 14}]})

    version: int


class PortfolioPage(Page[PortfolioSummary]):
    """Portfolios by id."""
