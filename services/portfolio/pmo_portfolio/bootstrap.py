"""Composition root of the portfolio service: its concepts' routes, views and policies, wired once."""

from __future__ import annotations

from pathlib import Path

from pmo_events.contracts import intake, portfolio
from pmo_events.runtime.schema import metadata
from pmo_portfolio.calendar import routes as calendar_routes
from pmo_portfolio.candidates import routes as candidate_routes
from pmo_portfolio.candidates.commands import decide_carried_motion
from pmo_portfolio.candidates.intake_events import make_batch_handler, make_handler
from pmo_portfolio.delivery import board_action_routes, review_cycle_routes, review_cycles
from pmo_portfolio.delivery import routes as delivery_routes
from pmo_portfolio.delivery.commands import (
    READ_WITH_REPORTS,
    initiate_approved_project,
    notice_overdue,
    offer_lessons_at_gate,
    resolve_carried_action,
)
from pmo_portfolio.dependencies import routes as dependency_routes
from pmo_portfolio.dependencies.commands import graph_of, reassess_dependencies, reassess_milestone_dependencies
from pmo_portfolio.funding import routes as funding_routes
from pmo_portfolio.funding import views as funding_views
from pmo_portfolio.governance import routes as governance_routes
from pmo_portfolio.governance.commands import lapse_due_motions
from pmo_portfolio.objectives import routes as objective_routes
from pmo_portfolio.programmes import routes as programme_routes
from pmo_portfolio.programmes.commands import (
    join_at_approval,
    keep_ring_fences_within_envelope,
    move_ring_fence_draw,
)
from pmo_portfolio.raid import routes as raid_routes
from pmo_portfolio.raid.commands import check_reported_raid_items
from pmo_portfolio.replay import CONCEPT_VIEWS, PORTFOLIO_VIEWS
from pmo_portfolio.scenarios import routes as scenario_routes
from pmo_portfolio.shared.problems import PROBLEM_TABLE
from pmo_servicekit.service import ServiceDefinition
from pmo_servicekit.sweeps import Sweep

VIEWS = (funding_views, *CONCEPT_VIEWS)
#: A status report is forecast news: `reassess_dependencies` loads the portfolio's graph after its append.
READ_WITH_REPORTS[:] = [graph_of]

#: What the scheduler runs (`python -m pmo_portfolio sweep`), the same functions as the HTTP triggers; how often
#: each runs where: deploy/k8s/README.md (Scheduled sweeps).
SWEEPS = (
    Sweep("lapse-due", "every open motion past its deadline lapses (POST /motions/lapse-due)", lapse_due_motions),
    Sweep(
        "notify-overdue",
        "overdue reviews and board actions are published once each (POST /projects/notify-overdue)",
        notice_overdue,
    ),
    Sweep(
        "review-cycles",
        "each portfolio whose review cycle is due runs it (POST /portfolios/review-cycles/run-due)",
        review_cycles.run_due,
    ),
)

PORTFOLIO = ServiceDefinition(
    name="portfolio",
    title="Portfolio",
    # 2: every amount at most 15 digits before the point (costs took 16); dates 1900 to 2199 (issue 11).
    # 3.1: the programme benefits map (issue 16).
    # 3.2: reviews that act: board actions, their motions and delegated resolution, the overdue sweep (issue 15).
    # 3.3: change requests on the ladder: POST /projects/{id}/change-requests/{cr_id}/motions (issue 15).
    # 3.4: related lessons of a project, acknowledged by its team (issue 15).
    # 3.5: ratios and scores at exactly four places, value_per_cost at ten (issue 14).
    # 4.0: every operation needs a role, project managers act on their own projects, board operations need
    # board_member (issue 15, object-level access).
    # 4.1: the portfolio review cycle: running projects re-ranked with the pipeline (issue 15).
    # 4.2: money at the currency scale (motions, charter, RAID); change requests and timeline typed (issue 14).
    # 5.0: a dependency may wait for a programme milestone: its provider_project_id may be null, graph nodes
    # have a kind (issue 16).
    # 5.1: /health/ready's subscription lag is typed as a number (issue 14).
    api_version="7.0.0",
    description="Strategy, budget envelopes, board decisions and the projects they initiate.",
    default_port=8002,
    topic=portfolio.TOPIC,
    consumes=(intake.TOPIC,),
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=[
        funding_routes.router,
        governance_routes.router,
        objective_routes.router,
        calendar_routes.router,
        candidate_routes.router,
        scenario_routes.router,
        delivery_routes.router,
        board_action_routes.router,
        review_cycle_routes.router,
        programme_routes.router,
        dependency_routes.router,
        raid_routes.router,
    ],
    # The portfolios' StreamView, then the other views: one by one for a command, folded in memory by a rebuild.
    projectors=[*funding_views.PROJECTORS, PORTFOLIO_VIEWS],
    view_tables=[table for views in VIEWS for table in views.VIEW_TABLES],
    policies=[
        decide_carried_motion,
        initiate_approved_project,
        resolve_carried_action,
        offer_lessons_at_gate,
        join_at_approval,
        keep_ring_fences_within_envelope,
        move_ring_fence_draw,
        reassess_dependencies,
        reassess_milestone_dependencies,
        check_reported_raid_items,
    ],
    problem_table=PROBLEM_TABLE,
    consumer=lambda runtime: make_handler(runtime.commands),
    batch_consumer=lambda runtime: make_batch_handler(runtime.commands, runtime.definition.consumer_name),
    sweeps=SWEEPS,
)
