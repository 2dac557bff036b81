"""Reporting's per-poll statements on PostgreSQL run from a generic plan once prepared, on tables of realistic size:
the documents read and the offsets' + streams' lock of a one-record poll (one event per poll, as at 100
commands/s). With `= ANY($n::text[])` of a parameter array, estimated at 10 elements, the planner judged the generic
plan dearer than planning afresh and planned every poll's statement anew (`pg_prepared_statements` counted custom
plans only: 0.1 to 0.7 ms of the backend's CPU each on a 200k-row `reporting_documents`). Session 15
(s15-pollplan): up to 8 keys are named by parameters of their own, one stream by a text parameter."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from pmo_devstack.batches import service_runtime, subscription_of
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_reporting.bootstrap import REPORTING

from .test_carried_progress import TOPIC, _apply, _event, _poll, _state

pytestmark = pytest.mark.integration

#: Rows each table is grown to: on a few pages every plan is as cheap, and the generic one is kept anyway.
_ROWS = 100_000


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    ensure_event_keys(tmp_path, PUBLISHERS)
    return tmp_path


async def _grow(engine: Any) -> None:
    """The rows the first polls wrote, copied until each table holds about `_ROWS` (the same projections, kinds
    and consumer: as skewed as a live table), then analysed."""
    async with engine.begin() as conn:
        for table, key in (("reporting_documents", "key"), ("pmo_consumed_streams", "stream_id")):
            have = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            columns = [c for (c,) in await conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"
            ), {"t": table})]  # fmt: skip
            chosen = ", ".join(f"{c} || '-' || g" if c == key else c for c in columns)
            await conn.execute(text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {chosen} FROM {table}, generate_series(1, {_ROWS // have}) g"
            ))  # fmt: skip
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE reporting_documents, pmo_consumed_streams"))
        await conn.commit()


async def test_a_one_record_polls_statements_are_run_from_a_generic_plan_once_prepared(
    postgres_url: str, keys: Path
) -> None:
    async with service_runtime(REPORTING, postgres_url, "127.0.0.1:1", keys) as runtime:
        subscription = subscription_of(runtime, TOPIC)
        subscription._epoch = "test"
        first = [f"pp-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        for offset, proposal in enumerate(first):
            await _apply(subscription, _poll([(_event(proposal, 1), 0, offset)], keys))
        await _grow(runtime.db.engine)
        await runtime.db.engine.dispose()
        made: list[Any] = []
        event.listen(runtime.db.engine.sync_engine, "connect", lambda dbapi, _: made.append(dbapi.driver_connection))
        later = [f"pp-{uuid.uuid4().hex[:8]}" for _ in range(16)]
        for offset, proposal in enumerate(later, start=len(first)):  # one poll after another: one connection
            await _apply(subscription, _poll([(_event(proposal, 1), 0, offset)], keys))
        plans: dict[str, list[int]] = {}
        for connection in made:
            for statement, generic, custom in await connection.fetch(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            ):
                counts = plans.setdefault(" ".join(statement.split()), [0, 0])
                counts[0] += generic
                counts[1] += custom
        offsets, streams, logged = await _state(subscription)
    assert offsets == {0: 19} and logged == 19 and set(first + later) <= set(streams)
    documents = [c for s, c in plans.items() if s.startswith("SELECT key, body FROM reporting_documents")]
    lock = [c for s, c in plans.items() if s.startswith("WITH o AS MATERIALIZED") and "pmo_consumed_streams" in s]
    for found in (documents, lock):
        assert sum(g + c for g, c in found) == 16, plans  # every poll's, on the connections made after the growth
        assert sum(g for g, _ in found) >= 16 - 5 * len(made), plans  # generic from each connection's sixth on
