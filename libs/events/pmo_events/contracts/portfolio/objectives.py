"""Strategic objective events: weighted, time-boxed goals that proposals contribute to."""

from __future__ import annotations

from datetime import date

from pmo_events.contracts.base import Money, contract
from pmo_events.contracts.portfolio.topic import PortfolioEvent


@contract
class ObjectiveCreated(PortfolioEvent):
    """A strategic objective proposals can contribute to."""

    event_name = "ObjectiveCreated"
    objective_id: str
    title: str
    description: str | None = None
    weight: Money
    period_start: date
    period_end: date
    #: The portfolios whose strategy this is (issue 12); empty: every portfolio (organisation-wide), as
    #: every objective recorded before objectives belonged to portfolios.
    portfolio_ids: tuple[str, ...] = ()
    created_by: str


@contract
class ObjectiveUpdated(PortfolioEvent):
    event_name = "ObjectiveUpdated"
    objective_id: str
    title: str
    description: str | None = None
    weight: Money
    period_start: date
    period_end: date
    #: The portfolios whose strategy this is (issue 12); empty: every portfolio (organisation-wide), as
    #: every objective recorded before objectives belonged to portfolios.
    portfolio_ids: tuple[str, ...] = ()
    updated_by: str


@contract
class ObjectiveRetired(PortfolioEvent):
    """Retired objectives stay in history; new proposals can no longer contribute to them."""

    event_name = "ObjectiveRetired"
    objective_id: str
    retired_by: str
    reason: str | None = None
