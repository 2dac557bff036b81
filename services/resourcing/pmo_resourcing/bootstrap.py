"""Composition root of the resourcing service."""

from __future__ import annotations

from pathlib import Path

from pmo_events.contracts import portfolio, resourcing
from pmo_events.runtime.schema import metadata
from pmo_resourcing.adapters.db import tables
from pmo_resourcing.adapters.http import allocations, demand_and_capacity, resources
from pmo_resourcing.adapters.http.problems import PROBLEM_TABLE
from pmo_resourcing.application.consumer import make_batch_handler, make_handler
from pmo_resourcing.projections.replay import RESOURCING_VIEWS
from pmo_servicekit.service import ServiceDefinition

RESOURCING = ServiceDefinition(
    name="resourcing",
    title="Resourcing",
    description="People and pools, capacity, demand from approved projects, and bookings.",
    default_port=8003,
    # 2.1: /health/ready's subscription lag is typed as a number (issue 14).
    api_version="4.0.0",
    topic=resourcing.TOPIC,
    consumes=(portfolio.TOPIC,),
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=[resources.router, allocations.router, demand_and_capacity.router],
    problem_table=PROBLEM_TABLE,
    # Demand first: a booking's coverage refresh reads the demand line the same event may follow.
    projectors=[RESOURCING_VIEWS],
    view_tables=[tables.demands, tables.resources, tables.resource_skills, tables.allocations],
    consumer=lambda runtime: make_handler(runtime.commands),
    batch_consumer=lambda runtime: make_batch_handler(runtime.commands, runtime.definition.consumer_name),
    subscription_tables=[tables.project_states, tables.fiscal_calendar],
)
