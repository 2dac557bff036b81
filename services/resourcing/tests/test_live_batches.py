"""Resourcing's live path applies a whole poll at once (projects remembered and their demand raised in memory,
written at the end; an ending, a pause, a calendar or a manager applied one at a time after what came before):
killed mid-poll it leaves nothing behind, and whatever the poll boundaries it ends exactly where applying one
event at a time ends. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pmo_devstack.batches import (
    Feed,
    another_database,
    bookkeeping_of,
    killed_then_restarted,
    recorded_of,
    rows_of,
    run_until_applied,
    service_runtime,
    subscription_of,
)
from pmo_events.contracts import portfolio
from pmo_events.contracts.common import PeriodAmount, RoleEstimate, Timeline
from pmo_events.envelope import RecordedEvent
from pmo_resourcing.adapters.db.tables import demands, project_states
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.service import ServiceRuntime

pytestmark = pytest.mark.integration

PROJECTS = [f"proj-{n}" for n in range(5)]


def the_portfolio(feed: Feed) -> list[RecordedEvent]:
    """Projects initiated with demand, then handed over, paused and resumed, cancelled and closed, interleaved
    with projects initiated later, so an event applied one at a time falls between batched ones."""
    when = datetime(2027, 3, 1, tzinfo=UTC)
    estimate = (
        RoleEstimate(role="developer", fte=Decimal("1.5"), start=date(2027, 4, 1), end=date(2027, 9, 30)),
        RoleEstimate(role="analyst", fte=Decimal("0.5"), start=date(2027, 4, 1), end=date(2027, 6, 30)),
    )

    def initiated(project_id: str) -> None:
        feed.event(project_id, portfolio.ProjectInitiated(
            project_id=project_id, portfolio_id="pf-1", proposal_id=project_id, title=f"Project {project_id}",
            baseline_budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(1000)),),
            timeline=Timeline(start=date(2027, 4, 1), end=date(2027, 12, 31)), resource_estimate=estimate,
            initiated_by="bob", initiated_at=when,
        ))  # fmt: skip

    for project_id in PROJECTS[:3]:
        initiated(project_id)
    feed.event("proj-0", portfolio.ProjectManagerAssigned(
        project_id="proj-0", portfolio_id="pf-1", project_manager="pia", assigned_by="olivia", assigned_at=when,
    ))  # fmt: skip
    initiated(PROJECTS[3])
    feed.event("proj-1", portfolio.ProjectPaused(
        project_id="proj-1", portfolio_id="pf-1", rationale="funding", paused_by="olivia", paused_at=when,
    ))  # fmt: skip
    feed.event("proj-1", portfolio.ProjectResumed(
        project_id="proj-1", portfolio_id="pf-1", rationale="funded", resumed_by="olivia", resumed_at=when,
    ))  # fmt: skip
    initiated(PROJECTS[4])
    feed.event("proj-2", portfolio.ProjectCancelled(project_id="proj-2", reason="no longer needed"))
    feed.event("proj-3", portfolio.ProjectClosed(project_id="proj-3", effective_on=date(2027, 10, 1)))
    feed.event("proj-9", portfolio.ProjectResumed(
        project_id="proj-9", portfolio_id="pf-1", rationale="a project never initiated", resumed_by="olivia",
        resumed_at=when,
    ))  # fmt: skip
    return feed.published


async def read_models(runtime: ServiceRuntime) -> dict[str, Any]:
    return {
        "projects": await rows_of(runtime, project_states),
        "demands": await rows_of(runtime, demands, leave_out=("raised_at",)),
        "recorded": await recorded_of(runtime),
    }


async def test_a_poll_killed_before_its_commit_leaves_nothing_and_the_restart_applies_it_once(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    published = the_portfolio(feed)
    await feed.send()
    async with service_runtime(RESOURCING, database_url, kafka_bootstrap, tmp_path) as runtime:
        seen = await killed_then_restarted(runtime, topic, len(published), read_models)
    assert seen.before == {"projects": [], "demands": [], "recorded": []}
    assert seen.kept_before == {"offsets": [], "streams": [], "outbox": 0}
    after, kept = seen.after, seen.kept
    assert {row["project_id"]: (row["status"], row["project_manager"]) for row in after["projects"]} == {
        "proj-0": ("active", "pia"), "proj-1": ("active", None), "proj-2": ("cancelled", None),
        "proj-3": ("closed", None), "proj-4": ("active", None), "proj-9": ("active", None),
    }  # fmt: skip
    by_project: dict[str, list[str]] = {}
    for row in after["demands"]:
        by_project.setdefault(row["project_id"], []).append(row["status"])
    assert by_project == {
        "proj-0": ["open", "open"], "proj-1": ["open", "open"], "proj-2": ["cancelled", "cancelled"],
        "proj-3": ["cancelled", "cancelled"], "proj-4": ["open", "open"],
    }  # fmt: skip
    kinds = [row[2].rsplit(".", 2)[1] for row in after["recorded"]]
    assert kinds.count("DemandRaised") == 10 and kinds.count("DemandCancelled") == 4
    assert kept["outbox"] == len(after["recorded"])


@pytest.mark.parametrize("max_records", [2000, 2])
async def test_polls_end_where_one_event_at_a_time_ends(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, request: pytest.FixtureRequest,
    max_records: int,
) -> None:  # fmt: skip
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    published = the_portfolio(feed)
    await feed.send()
    models = []
    async with another_database(database_url, lambda: request.getfixturevalue("postgres_admin_url"), tmp_path) as other:
        for url, one_at_a_time in ((database_url, False), (other, True)):
            async with service_runtime(RESOURCING, url, kafka_bootstrap, tmp_path) as runtime:
                subscription = subscription_of(runtime, topic, one_at_a_time=one_at_a_time, max_records=max_records)
                await run_until_applied(subscription, len(published))
                models.append((await read_models(runtime), await bookkeeping_of(runtime)))
    (batched, kept), (reference, kept_reference) = models
    assert batched == reference
    assert kept == kept_reference
    assert len(batched["recorded"]) == 14
