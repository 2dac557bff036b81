"""Intake's own tables: the proposals view and what it knows of portfolios (plus the runtime tables)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from pmo_events.runtime.schema import UtcDateTime, metadata

proposals = Table(
    "intake_proposals",
    metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("portfolio_id", String(64), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_intake_proposals_status", proposals.c.status)
Index("ix_intake_proposals_portfolio", proposals.c.portfolio_id)

known_portfolios = Table(
    "intake_known_portfolios",
    metadata,
    Column("portfolio_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("fiscal_periods", Text, nullable=False),
)
