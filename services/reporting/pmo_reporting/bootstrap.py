"""Composition root of the reporting service."""

from __future__ import annotations

from pathlib import Path

from pmo_events.contracts import TOPICS
from pmo_events.runtime.schema import metadata
from pmo_reporting.adapters.db.tables import READ_MODELS
from pmo_reporting.adapters.http.admin import PROBLEM_TABLE, stop_rebuilds
from pmo_reporting.adapters.http.admin import router as admin_router
from pmo_reporting.adapters.http.board_pack import router as board_pack_router
from pmo_reporting.adapters.http.console import router as console_router
from pmo_reporting.adapters.http.programme_reports import router as programme_router
from pmo_reporting.adapters.http.reports import router as reports_router
from pmo_reporting.adapters.http.routes import router
from pmo_reporting.application.live import RIDING_LOCK, make_batch_handler, make_handler
from pmo_servicekit.service import ServiceDefinition

REPORTING = ServiceDefinition(
    name="reporting",
    title="Reporting",
    description="Every service's events in one log; read models, audit trail and time travel over them.",
    default_port=8004,
    #: 2.0: project budgets are `[{fiscal_period, amount}]` lists; an undefined figure is null (docs/api.md).
    #: 3.1: the programme dashboard and list (/reports/programmes), with the programme's benefits map; additive.
    #: 3.2: the pipeline's stage_lead_time_days and the summary budget rows' actual cost per period; additive.
    #: 3.3: ratios and scores at exactly four places, EVM points and the benefits map typed (issue 14).
    #: 3.4: the decision trail names a board action's resolution (continue, rescope, pause, cancel; issue 15).
    #: 4.0: every report, the history and the board pack need a role (issue 15, object-level access).
    #: 4.1: the lessons library's offers and acknowledgements per lesson, /reports/lessons/feedback; additive.
    #: 5.0: an entity's history hides someone else's draft proposal (404; left out of other histories; issue 15).
    #: 5.1: the programme dashboard answers portfolio's own models for a programme's shapes; additive.
    #: 6.0: a dependency may wait for a programme milestone: an edge's provider_project_id may be null, the
    #: dependency map's nodes have a kind (project or milestone; issue 16).
    #: 6.1: the capacity report's over-allocations and /admin/projections are typed answers; additive.
    #: 6.2: /health/ready's subscription lag is typed as a number (issue 14).
    api_version="7.0.0",
    topic=None,
    consumes=tuple(TOPICS.values()),
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    routers=[reports_router, programme_router, board_pack_router, router, admin_router, console_router],
    on_stop=stop_rebuilds,
    consumer=lambda _runtime: make_handler(),
    batch_consumer=lambda runtime: make_batch_handler(runtime.definition.consumer_name),
    subscription_tables=READ_MODELS,
    #: Reporting's batches write its log and read models and their offsets, and publish nothing of their own:
    #: a batch is visible at once, without waiting for its WAL flush (a server crash loses the last ones
    #: with their offsets; they are applied again from the broker). Issue 17: propagation.
    consumer_commits_durable=False,
    consumer_riding_lock=RIDING_LOCK,
    problem_table=PROBLEM_TABLE,
)
