"""A project initiated before session 10 bounded token subjects (c4a70a4; review 1 of session 11, F2): the
portfolio's event keeps the initiator's whole subject as its actor, which had no bound then. Resourcing raises
the project's demand lines as commands caused by that event, recorded by its actor (`Metadata.caused_by`): with
`pmo_events.actor` VARCHAR(200) they were refused on PostgreSQL (StringDataRightTruncation, not transient), the
project dead-lettered and its demand never raised. Since runtime_0004 the column is unbounded text. Real broker,
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pmo_devstack.batches import Feed, recorded_of, rows_of, run_until_applied, service_runtime, subscription_of
from pmo_events.contracts import portfolio
from pmo_events.contracts.common import PeriodAmount, RoleEstimate, Timeline
from pmo_resourcing.adapters.db.tables import demands
from pmo_resourcing.bootstrap import RESOURCING

pytestmark = pytest.mark.integration

#: A subject as long as an e-mail address may be (254): older code took it, and longer ones too.
OLD = "i" * (254 - len("@example.org")) + "@example.org"


async def test_a_project_initiated_by_an_older_longer_subject_raises_its_demand(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    when = datetime(2027, 3, 1, tzinfo=UTC)
    estimate = (RoleEstimate(role="developer", fte=Decimal("1.5"), start=date(2027, 4, 1), end=date(2027, 9, 30)),)
    feed.event("proj-old", portfolio.ProjectInitiated(
        project_id="proj-old", portfolio_id="pf-1", proposal_id="proj-old", title="Project",
        baseline_budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(1000)),),
        timeline=Timeline(start=date(2027, 4, 1), end=date(2027, 12, 31)), resource_estimate=estimate,
        initiated_by=OLD, initiated_at=when,
    ), actor=OLD)  # fmt: skip
    await feed.send()
    async with service_runtime(RESOURCING, database_url, kafka_bootstrap, tmp_path) as runtime:
        subscription = subscription_of(runtime, topic)
        await run_until_applied(subscription, len(feed.published))
        assert subscription.status.dead_lettered == 0, subscription.status.last_error
        raised = await rows_of(runtime, demands)
        recorded = await recorded_of(runtime)
    assert [row["project_id"] for row in raised] == ["proj-old"]
    assert recorded and all(row[4] == OLD for row in recorded)  # (stream, version, type, data, actor, ...)
