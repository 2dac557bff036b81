"""The portfolio view: each portfolio's state as of its latest event, written in each command's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, String, Table, Text

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_events.runtime.views import StreamView
from pmo_portfolio.funding.domain import portfolio as portfolio_rules

portfolios = Table(
    "portfolio_portfolios",
    metadata,
    Column("portfolio_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


def _columns(state: portfolio_rules.Portfolio, event: RecordedEvent) -> dict[str, Any]:
    return {"name": state.name, "version": event.sequence, "updated_at": event.time}


#: One row per portfolio stream. A command's events are folded into it with one read and one write; a poll of
#: the intake subscription folds all its registrations of a portfolio with one read and one write (`many`),
#: so a registration no longer reads, validates and rewrites the whole portfolio (every candidate) per event.
update_portfolios = StreamView(
    table=portfolios,
    key=portfolios.c.portfolio_id,
    state=portfolios.c.state,
    model=portfolio_rules.Portfolio,
    initial=portfolio_rules.initial,
    evolve=portfolio_rules.evolve,
    columns=_columns,
    stream_type="portfolio",
    version=portfolios.c.version,
    rebuild_evolve=portfolio_rules.evolve_owned,
)

PROJECTORS = [update_portfolios]
VIEW_TABLES = [portfolios]
