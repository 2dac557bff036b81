"""What every portfolio router shares: roles, the base of request bodies, money per period in and out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pmo_events.contracts.bounds import Amount, FiscalPeriod
from pmo_events.contracts.common import PeriodAmount
from pmo_servicekit.access import Ownership, allow
from pmo_servicekit.contract.wire import Money, Ratio, money_text

#: The PMO's own operations (portfolios, envelopes, objectives, scoring models, tolerances).
ANALYST = allow("pmo_analyst", "admin")


class Body(BaseModel):
    """A request body: unknown fields are refused (422 naming them), never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PeriodAmountIn(Body):
    """An amount in one fiscal period, as a client sends it: a documented period name, a bounded amount."""

    fiscal_period: FiscalPeriod
    amount: Amount

    def value(self) -> PeriodAmount:
        return PeriodAmount(fiscal_period=self.fiscal_period, amount=self.amount)


class PeriodEnvelope(BaseModel):
    """One fiscal period of the envelope: what the board may commit, what it has, what remains."""

    fiscal_period: str = Field(examples=["FY2027"])
    envelope: Money
    committed: Money
    remaining: Money


class CriterionOut(BaseModel):
    key: str
    name: str
    weight: Ratio = Field(description="the criterion's share of the weighted score: the weights add up to 1")


class PeriodAmountOut(BaseModel):
    fiscal_period: str = Field(examples=["FY2027"])
    amount: Money


def amounts_of(amounts: Iterable[PeriodAmount | dict[str, Any]], currency: str | None) -> list[dict[str, str]]:
    """Amounts per period at the currency's scale."""
    rows = [a if isinstance(a, dict) else a.model_dump() for a in amounts]
    return [{"fiscal_period": r["fiscal_period"], "amount": money_text(r["amount"], currency)} for r in rows]


#: Object-level rules the portfolio's routes declare (`pmo_servicekit.access.allow`); the domain checks them.
PORTFOLIO_BOARD = Ownership(
    "portfolio-board",
    "a member of THIS portfolio's board (its current charter), never on what they requested or sponsor",
)
BOARD_OR_DELEGATE = Ownership(
    "board-or-delegate",
    "a member of THIS portfolio's board (who puts the decision to the board's vote), or the charter's "
    "portfolio manager deciding alone below the delegated threshold; never on what they requested or sponsor",
)
PROJECT_BOARD = Ownership(
    "project-board",
    "a member of the board of the project's portfolio (its current charter)",
)
PROJECT_MANAGER = Ownership(
    "assigned-project-manager",
    "the project's assigned project manager (set at initiation, changed by the portfolio's owner, a pmo_analyst "
    "or an admin); pmo_analysts and admins act on any project",
)
PROJECT_TEAM = Ownership(
    "project-team",
    "the project's assigned project manager, or a member of the board of the project's portfolio; pmo_analysts "
    "and admins act on any project",
)
SAVING_SCENARIOS = Ownership(
    "saving-scenarios",
    "anyone who may read runs a what-if; saving it needs a pmo_analyst or a member of THIS portfolio's board",
)
PROGRAMME_LEADER = Ownership(
    "programme-leader",
    "the programme's senior responsible owner or programme manager (the end-of-tranche review: the SRO; the "
    "programme's status report: its programme manager)",
)
RAID_OWNER = Ownership(
    "raid-item-owner",
    "the RAID item's owner; pmo_analysts and admins change any item",
)
PORTFOLIO_OWNER = Ownership(
    "portfolio-owner",
    "the portfolio's owner (admins too), and never about their own place on the board",
)
