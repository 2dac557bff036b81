"""The resourcing service's own views (plus the runtime tables in the shared metadata)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Table, Text

from pmo_events.runtime.schema import UtcDateTime, metadata

demands = Table(
    "resourcing_demands",
    metadata,
    Column("demand_id", String(64), primary_key=True),
    Column("project_id", String(64), nullable=False),
    # Text (resourcing_0005): events from before session 10 hold roles of up to 200 characters (intake takes 100).
    Column("role", Text, nullable=False),
    Column("fte", String(20), nullable=False),
    Column("filled_fte", String(20), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("status", String(32), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("proposed_fte", String(20), nullable=False, server_default="0"),
    Column("cancel_reason", Text, nullable=True),
)
Index("ix_resourcing_demands_project", demands.c.project_id)
Index("ix_resourcing_demands_role", demands.c.role, demands.c.status)

#: Each resource's current state (the folded aggregate as JSON) with the columns searches filter on.
resources = Table(
    "resourcing_resources",
    metadata,
    Column("resource_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("role", String(100), nullable=False),
    Column("pool", String(100), nullable=True),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_resourcing_resources_role", resources.c.role, resources.c.status)
Index("ix_resourcing_resources_pool", resources.c.pool)

resource_skills = Table(
    "resourcing_resource_skills",
    metadata,
    Column("resource_id", String(64), primary_key=True),
    Column("skill", String(100), primary_key=True),
    Column("level", Integer, nullable=False),
)
Index("ix_resourcing_resource_skills_skill", resource_skills.c.skill, resource_skills.c.level)

#: Every booking, also the way from an allocation id to the resource whose calendar holds it.
allocations = Table(
    "resourcing_allocations",
    metadata,
    Column("allocation_id", String(64), primary_key=True),
    Column("resource_id", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("demand_id", String(64), nullable=True),
    Column("role", String(100), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("fte", String(20), nullable=False),
    Column("status", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("overallocated", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("non_working_days_reason", Text, nullable=True),
)
Index("ix_resourcing_allocations_resource", allocations.c.resource_id)
Index("ix_resourcing_allocations_project", allocations.c.project_id, allocations.c.status)
Index("ix_resourcing_allocations_demand", allocations.c.demand_id)

#: What resourcing knows of each project from the portfolio's events (initiated = active).
project_states = Table(
    "resourcing_project_states",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("portfolio_id", String(64), nullable=True),
    Column("title", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    #: The project manager assigned by the portfolio service (`ProjectManagerAssigned`).
    Column("project_manager", String(200), nullable=True),
)

#: The organisation's fiscal calendar, from the portfolio's `FiscalCalendarSet` (the newest one set wins).
fiscal_calendar = Table(
    "resourcing_fiscal_calendar",
    metadata,
    Column("calendar_id", String(64), primary_key=True),
    Column("year_start_month", Integer, nullable=False),
    Column("year_named_by", String(8), nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
)
