"""Request bodies of governance: the board's charter, its members, votes and declared conflicts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from pmo_portfolio.shared.http import Body
from pmo_servicekit.auth import SUBJECT_MAX_LENGTH
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import DecimalText, MoneyInput

Subject = Field(min_length=1, max_length=200)


class DelegationIn(Body):
    portfolio_manager: str = Subject
    up_to: MoneyInput = Field(description="below this total (exclusive) the portfolio manager decides alone")


class CharterReplace(Body):
    """The whole charter; a new version of it (motions already proposed keep the version they were put under)."""

    model_config = example(
        {
            "members": ["bea", "bob", "cy"],
            "chair": "bea",
            "quorum": 2,
            "rule": "simple_majority",
            "voting_days": 14,
            "delegated_authority": {"portfolio_manager": "pat", "up_to": "50000.00"},
            "reason": "Q1 board renewal",
        }
    )

    members: list[Annotated[str, Field(max_length=SUBJECT_MAX_LENGTH)]] = Field(min_length=1, max_length=50)
    chair: str = Subject
    quorum: int = Field(ge=1, le=50)
    rule: Literal["simple_majority", "qualified_majority", "unanimity"]
    qualified_share: (
        Annotated[
            Decimal, DecimalText(5, 4, "for a qualified majority: above 0.5, at most 1, a decimal string", "0.6667")
        ]
        | None
    ) = None
    voting_days: int = Field(default=14, ge=1, le=90)
    delegated_authority: DelegationIn | None = None
    reason: str | None = Field(default=None, max_length=2000)


class BoardMemberAdd(Body):
    model_config = example({"subject": "dora"})

    subject: str = Subject


class VoteIn(Body):
    model_config = example({"vote": "for", "rationale": "strong case, within the envelope"})

    vote: Literal["for", "against", "abstain"]
    rationale: str = Field(min_length=1, max_length=10_000)


class ConflictIn(Body):
    model_config = example({"reason": "my team would deliver it"})

    reason: str = Field(min_length=1, max_length=2000)
