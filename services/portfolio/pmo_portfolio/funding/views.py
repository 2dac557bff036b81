"""The portfolio service's own views (plus the runtime tables in the shared metadata)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from pmo_events.runtime.schema import UtcDateTime, metadata

portfolios = Table(
    "portfolio_portfolios",
    metadata,
    Column("portfolio_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

candidates = Table(
    "portfolio_candidates",
    metadata,
    Column("candidate_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("submission", Integer, nullable=False),
    Column("registration", Text, nullable=False),
    Column("decision", Text),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_candidates_portfolio", candidates.c.portfolio_id, candidates.c.status)

projects = Table(
    "portfolio_projects",
    metadata,
    Column("project_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_projects_portfolio", projects.c.portfolio_id)

objectives = Table(
    "portfolio_objectives",
    metadata,
    Column("objective_id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("weight", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_objectives_status", objectives.c.status)

decisions = Table(
    "portfolio_decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    # The event's position in the service's store: a stable, chronological cursor.
    Column("position", BigInteger, nullable=False),
    Column("portfolio_id", String(36), nullable=False),
    Column("candidate_id", String(36), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
)
Index("ix_portfolio_decisions_portfolio", decisions.c.portfolio_id, decisions.c.position)

scenarios = Table(
    "portfolio_scenarios",
    metadata,
    Column("scenario_id", String(36), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("portfolio_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("saved_by", String(200), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
)
Index("ix_portfolio_scenarios_portfolio", scenarios.c.portfolio_id, scenarios.c.position)
