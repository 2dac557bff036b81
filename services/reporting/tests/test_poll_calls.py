"""The round trips of reporting's one-record live poll on PostgreSQL, counted at the driver (every asyncpg
statement, prepared execution, prepare and COPY, as `benchmarks/probe` counts them): BEGIN, the offsets' +
streams' + read models' rows lock (`consumed.lock_progress` with `live.RIDING_LOCK`), the documents read, the
poll's write (log rows, documents and bookkeeping), COMMIT. Session 13 (s13-poll-calls): 6 → 5 (the offsets'
lock was a statement of its own)."""

from __future__ import annotations

import contextvars
import functools
import uuid
from pathlib import Path
from typing import Any

import asyncpg.connection
import asyncpg.prepared_stmt
import pytest

from pmo_devstack.batches import service_runtime, subscription_of
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_events.runtime.consumed import _PROGRESS_LOCK_CTES
from pmo_reporting.bootstrap import REPORTING

from .test_carried_progress import TOPIC, _apply, _event, _poll, _state

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    ensure_event_keys(tmp_path, PUBLISHERS)
    return tmp_path


def _count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each outermost driver call's statement (`execute` with arguments calls `_execute`, a COPY
    `_copy_in_records`: one round trip each)."""
    calls: list[str] = []
    inside = contextvars.ContextVar("inside", default=False)

    def counted(function: Any) -> Any:
        @functools.wraps(function)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if inside.get():
                return await function(self, *args, **kwargs)
            token = inside.set(True)
            query = args[0] if args and isinstance(args[0], str) else getattr(self, "_query", function.__name__)
            calls.append(" ".join(str(query).split()))
            try:
                return await function(self, *args, **kwargs)
            finally:
                inside.reset(token)

        return wrapper

    connection = asyncpg.connection.Connection
    for name in ("execute", "_execute", "prepare", "copy_records_to_table", "_copy_in_records"):
        if hasattr(connection, name):
            monkeypatch.setattr(connection, name, counted(getattr(connection, name)))
    prepared = asyncpg.prepared_stmt.PreparedStatement
    name = "_PreparedStatement__bind_execute"
    monkeypatch.setattr(prepared, name, counted(getattr(prepared, name)))
    return calls


async def test_a_one_record_poll_is_five_round_trips(
    postgres_url: str, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service_runtime(REPORTING, postgres_url, "127.0.0.1:1", keys) as runtime:
        subscription = subscription_of(runtime, TOPIC)
        subscription._epoch = "test"
        a, b = (f"pc-{uuid.uuid4().hex[:8]}" for _ in range(2))
        await _apply(subscription, _poll([(_event(a, 1), 0, 0)], keys))  # the read models' rows, the offset row
        batch = _poll([(_event(b, 1), 0, 1)], keys)
        checked = subscription._check(batch)
        calls = _count_round_trips(monkeypatch)
        await subscription._apply_batch(batch, checked)
        monkeypatch.undo()
        assert await _state(subscription) == ({0: 2}, {a: 1, b: 1}, 2)
    lock = " ".join(_PROGRESS_LOCK_CTES.split())[:60]
    assert len(calls) == 5, calls
    assert calls[0].startswith("BEGIN") and calls[1].startswith(lock) and calls[-1].startswith("COMMIT"), calls
