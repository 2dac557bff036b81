"""The scheduler's sweeps on PostgreSQL: `python -m pmo_portfolio sweep` lapses a motion past its deadline as the
scheduler, and sweeps run twice, or at the same moment, record (and queue for publishing) each effect once."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmo_devstack.keys import event_key_paths
from pmo_devstack.testing import RunningService, running_service
from pmo_events.contracts.portfolio import MotionLapsed, PortfolioReprioritised
from pmo_events.runtime import CommandRuntime, Database, Metadata
from pmo_events.runtime.schema import events, outbox
from pmo_portfolio import governance
from pmo_portfolio.bootstrap import PORTFOLIO, SWEEPS
from pmo_portfolio.governance.domain.motions import MotionTerms
from pmo_servicekit.sweeps import SCHEDULER, run_sweeps

from .api_support import isolated, new_portfolio, register, weighted_model

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str):
    async with running_service(
        isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running


async def _motions_past_their_deadline(service: RunningService, portfolio_id: str, count: int) -> list[str]:
    """`count` motions proposed an hour ago with a one-minute vote: all past their deadline now."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    for n in range(count):
        await register(service, portfolio_id, f"p-{n}")
        terms = MotionTerms(kind="investment", subject_id=f"p-{n}", outcome="reject", rationale="not now")
        async with service.runtime.commands.unit_of_work(Metadata(actor="bea")) as uow:
            await governance.propose_motion(
                uow, portfolio_id, f"m-{n}", terms, "bea", an_hour_ago, deadline=an_hour_ago + timedelta(minutes=1)
            )
        ids.append(f"m-{n}")
    return ids


async def _lapses(db: Database) -> list[tuple[str, str | None, str | None]]:
    """(motion, actor, correlation id) of every MotionLapsed in the store."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(events.c.stream_id, events.c.actor, events.c.correlation_id).where(
                events.c.type == MotionLapsed.type_name()
            )
        )
    return sorted((r.stream_id, r.actor, r.correlation_id) for r in rows)


async def _sweep_cli(database_url: str, data_dir: Path, *names: str) -> dict[str, dict[str, int]]:
    """`python -m pmo_portfolio sweep NAMES` as a CronJob runs it: its own process, settings from the environment."""
    env = {
        **os.environ,
        "PMO_ENV": "development",
        "PMO_DATABASE_URL": database_url,
        "PMO_EVENT_SIGNING_KEY_FILE": str(event_key_paths(data_dir, "portfolio")[0]),
        "PMO_LOG_LEVEL": "warning",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pmo_portfolio", "sweep", *names,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


async def test_the_cli_sweep_lapses_a_motion_past_its_deadline_once_as_the_scheduler(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    async with running_service(
        isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        pid = (await new_portfolio(service, ["bea", "bob"]))["id"]
        [motion_id] = await _motions_past_their_deadline(service, pid, 1)
    # The service is stopped: whatever the sweep queues stays in the outbox for the next relay to publish.
    db = Database(postgres_url)
    try:
        async with db.sessions() as session:
            queued_before = (await session.execute(select(func.count()).select_from(outbox))).scalar_one()
        # Two CronJob pods at once (a slow run overlapping the next), then a third run later.
        first, second = await asyncio.gather(
            _sweep_cli(postgres_url, tmp_path, "lapse-due"), _sweep_cli(postgres_url, tmp_path, "lapse-due")
        )
        assert first["lapse-due"]["lapsed"] + second["lapse-due"]["lapsed"] == 1, (first, second)
        assert await _sweep_cli(postgres_url, tmp_path) == {
            "lapse-due": {"lapsed": 0},
            "notify-overdue": {"reviews_overdue": 0, "actions_overdue": 0},
            "review-cycles": {"cycles_run": 0},  # the portfolio has no scoring model
        }
        [(lapsed, actor, correlation)] = await _lapses(db)
        assert (lapsed, actor) == (motion_id, SCHEDULER)
        assert correlation is not None and correlation.startswith("sweep:lapse-due:")
        async with db.sessions() as session:
            queued = (await session.execute(select(outbox.c.key, outbox.c.topic).order_by(outbox.c.id))).all()
        assert len(queued) == queued_before + 1, "one lapse, queued once for the relay"
        assert queued[-1] == (motion_id, PORTFOLIO.topic)
    finally:
        await db.dispose()


async def test_two_sweeps_at_once_record_each_lapse_and_each_due_cycle_once(service: RunningService) -> None:
    pid = (await new_portfolio(service, ["bea", "bob"]))["id"]
    await weighted_model(service, pid)
    motion_ids = await _motions_past_their_deadline(service, pid, 8)
    runtime = service.runtime
    # Two schedulers, each with its own connection pool: their transactions interleave on PostgreSQL.
    pools = [Database(runtime.settings.database_url_for("portfolio")) for _ in range(2)]
    schedulers = [
        CommandRuntime(db, runtime.store, projectors=PORTFOLIO.projectors, policies=PORTFOLIO.policies) for db in pools
    ]
    try:
        runs = await asyncio.gather(*(run_sweeps(commands, SWEEPS) for commands in schedulers))
    finally:
        for db in pools:
            await db.dispose()
    assert sum(run["lapse-due"]["lapsed"] for run in runs) == len(motion_ids), runs
    assert sum(run["review-cycles"]["cycles_run"] for run in runs) == 1, runs
    assert [motion for motion, _, _ in await _lapses(service.runtime.db)] == sorted(motion_ids)
    async with service.runtime.db.sessions() as session:
        cycles = await session.execute(
            select(events.c.actor).where(events.c.type == PortfolioReprioritised.type_name())
        )
        assert [row.actor for row in cycles] == [SCHEDULER]
    async with service.client("vic", "viewer") as vic:
        latest = (await vic.get(f"/portfolios/{pid}/review-cycles/latest")).json()
        statuses = {(await vic.get(f"/portfolios/{pid}/motions/{m}")).json()["status"] for m in motion_ids}
    assert latest["run_by"] == SCHEDULER and statuses == {"lapsed"}


async def test_a_service_given_an_interval_runs_its_own_sweeps(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    """PMO_SWEEP_EVERY_SECONDS, as `make run` sets it: no scheduler, and the motion lapses anyway."""
    async with running_service(
        isolated(topic_prefix),
        database_url=postgres_url,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path,
        sweep_every_seconds=0.2,
    ) as service:
        pid = (await new_portfolio(service, ["bea", "bob"]))["id"]
        [motion_id] = await _motions_past_their_deadline(service, pid, 1)
        async with service.client("vic", "viewer") as vic:
            for _ in range(100):
                motion = (await vic.get(f"/portfolios/{pid}/motions/{motion_id}")).json()
                if motion["status"] == "lapsed":
                    break
                await asyncio.sleep(0.1)
        assert motion["status"] == "lapsed"
        [(_, actor, _)] = await _lapses(service.runtime.db)
        assert actor == SCHEDULER
