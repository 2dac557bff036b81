"""The resourcing service's own views (plus the runtime tables in the shared metadata)."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, String, Table

from pmo_events.runtime.schema import UtcDateTime, metadata

demands = Table(
    "resourcing_demands",
    metadata,
    Column("demand_id", String(64), primary_key=True),
    Column("project_id", String(64), nullable=False),
    Column("role", String(100), nullable=False),
    Column("fte", String(20), nullable=False),
    Column("filled_fte", String(20), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("status", String(32), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
)
Index("ix_resourcing_demands_project", demands.c.project_id)
Index("ix_resourcing_demands_role", demands.c.role, demands.c.status)
