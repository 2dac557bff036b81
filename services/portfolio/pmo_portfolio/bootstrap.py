"""Composition root of the portfolio service."""

from __future__ import annotations

from pathlib import Path

from pmo_events.contracts import intake, portfolio
from pmo_events.runtime.schema import metadata
from pmo_portfolio.adapters.http import candidate_routes, objective_routes, project_routes, routes, scenario_routes
from pmo_portfolio.application.consumer import make_handler
from pmo_portfolio.projections.views import PROJECTORS, VIEW_TABLES
from pmo_servicekit.service import ServiceDefinition

PORTFOLIO = ServiceDefinition(
    name="portfolio",
    title="Portfolio",
    description="Strategy, budget envelopes, board decisions and the projects they initiate.",
    default_port=8002,
    topic=portfolio.TOPIC,
    consumes=(intake.TOPIC,),
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=[
        routes.router,
        objective_routes.router,
        candidate_routes.router,
        scenario_routes.router,
        project_routes.router,
    ],
    projectors=PROJECTORS,
    view_tables=VIEW_TABLES,
    consumer=lambda runtime: make_handler(runtime.commands),
)
