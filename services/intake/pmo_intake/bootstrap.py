"""Composition root of the intake service: the one place its parts are wired together."""

from __future__ import annotations

from pathlib import Path

from pmo_events.contracts import intake, portfolio
from pmo_events.runtime.schema import metadata
from pmo_intake.adapters.db import tables
from pmo_intake.adapters.http.problems import PROBLEM_TABLE
from pmo_intake.adapters.http.routes import router
from pmo_intake.application.consumer import make_batch_handler, make_handler
from pmo_intake.projections.proposals import project_proposal
from pmo_servicekit.service import ServiceDefinition

INTAKE = ServiceDefinition(
    name="intake",
    title="Intake",
    # 2: every fiscal_period is FY2027, FY2027-Q1 or FY2027-P01 (was free text); amounts bounded (issue 11).
    # 2.1: related lessons (issue 15); 2.2: a proposal may name the programme it asks to join (issue 16);
    # 2.3: lessons acknowledged by the proposal's team (issue 15).
    # 2.4: FTE typed at exactly four places (issue 14).
    # 3.0: reads need a role, drafts are their requester's own (issue 15, object-level access).
    # 3.1: /health/ready's subscription lag is typed as a number (issue 14).
    api_version="4.0.0",
    description="Where demand enters the PMO: proposals with business cases, from draft to decision.",
    default_port=8001,
    topic=intake.TOPIC,
    consumes=(portfolio.TOPIC,),
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    projectors=[project_proposal],
    view_tables=[tables.proposals],
    consumer=lambda runtime: make_handler(runtime.commands),
    batch_consumer=lambda runtime: make_batch_handler(runtime.commands, runtime.definition.consumer_name),
    subscription_tables=[
        tables.known_portfolios,
        tables.known_objectives,
        tables.known_programmes,
        *tables.lessons.tables,
    ],
    problem_table=PROBLEM_TABLE,
)
