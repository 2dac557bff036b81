"""Portfolio funding events: the portfolio, its budget envelope, its board, and budget moved by projects."""

from __future__ import annotations

from typing import Literal

from pmo_events.contracts.base import ContractModel, Money, contract
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio.topic import PortfolioEvent


@contract
class PortfolioCreated(PortfolioEvent):
    event_name = "PortfolioCreated"
    portfolio_id: str
    name: str
    currency: str
    owner: str
    budget: tuple[PeriodAmount, ...]
    board_members: tuple[str, ...]
    created_by: str


@contract
class PortfolioBudgetSet(PortfolioEvent):
    """The budget envelope per fiscal period was replaced."""

    event_name = "PortfolioBudgetSet"
    portfolio_id: str
    budget: tuple[PeriodAmount, ...]
    set_by: str


@contract
class BoardMemberAdded(PortfolioEvent):
    """A token subject joined the portfolio's board: from now on they may score and decide."""

    event_name = "BoardMemberAdded"
    portfolio_id: str
    subject: str
    added_by: str


@contract
class BoardMemberRemoved(PortfolioEvent):
    event_name = "BoardMemberRemoved"
    portfolio_id: str
    subject: str
    removed_by: str


class PeriodEnvelope(ContractModel):
    fiscal_period: str
    envelope: Money
    committed: Money
    remaining: Money


#: Why a project's committed budget changed in the envelope.
BudgetChangeCause = Literal["change_request", "cancellation", "closure"]


@contract
class ProjectBudgetChanged(PortfolioEvent):
    """A project's committed budget changed in the envelope (a change request, or money released)."""

    event_name = "ProjectBudgetChanged"
    related_fields = ("project_id",)
    portfolio_id: str
    project_id: str
    #: Signed amounts per fiscal period: negative amounts return money to the envelope.
    delta: tuple[PeriodAmount, ...]
    cause: BudgetChangeCause
    reference: str | None = None
    changed_by: str
