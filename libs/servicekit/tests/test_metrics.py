"""/metrics over real HTTP: what an operator pages on, measured from a real broker and database."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from pmo_devstack.broker import free_port
from pmo_devstack.polling import eventually
from pmo_devstack.testing import running_service
from pmo_events.envelope import RecordedEvent
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime

from .test_service_edge import definition

pytestmark = pytest.mark.integration


def _value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name{labels}` of a Prometheus text exposition (labels in any order), or None."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


def _consuming_itself(tmp_path: Path) -> ServiceDefinition:
    """The kit's ping service, also subscribed to its own topic; a ping noted "poison" cannot be applied."""

    async def apply(_session, event: RecordedEvent) -> None:
        if event.data.get("note") == "poison":
            raise ValueError("this ping cannot be applied")

    topic = f"t{uuid.uuid4().hex[:8]}.test.events"  # its pings are `test` events, signed by the `test` key
    kit = definition(tmp_path)
    return replace(kit, name="test", topic=topic, consumes=(topic,), consumer=lambda _runtime: apply)


async def _scrape(runtime_url: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=runtime_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_lag_per_partition_dead_letters_by_reason_and_command_latency(
    sqlite_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    kit = _consuming_itself(tmp_path)
    async with running_service(kit, database_url=sqlite_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path) as svc:
        async with svc.client("alice", "viewer") as client:
            for note in ("fine", "poison", "fine"):
                assert (await client.post("/pings", json={"note": note})).status_code == 201
        runtime: ServiceRuntime = svc.runtime
        assert runtime.subscription is not None
        await eventually(lambda: runtime.subscription.status.applied == 2)  # type: ignore[union-attr]
        text = await eventually(lambda: _scrape_until(svc.base_url, "pmo_relay_backlog", 0.0))
    assert _value(text, "pmo_subscription_dead_letters_total", reason="apply_failed") == 1.0
    assert _value(text, "pmo_subscription_dead_letters_total", reason="malformed_envelope") == 0.0
    assert _value(text, "pmo_subscription_applied_total") == 2.0
    assert _value(text, "pmo_relay_published_total") == 4.0, "three pings and one dead letter"
    partitions = {
        p for p in range(3) if _value(text, "pmo_subscription_lag", topic=str(kit.topic), partition=str(p)) == 0
    }
    assert partitions == {0, 1, 2}, "a lag figure for every partition, 0 once caught up"
    assert _value(text, "pmo_command_duration_seconds_count", operation="ping", outcome="ok") == 3.0
    assert _value(text, "pmo_relay_oldest_unpublished_age_seconds") == 0.0
    assert "# TYPE pmo_relay_published_total counter" in text


async def _scrape_until(url: str, name: str, expected: float) -> str | None:
    text = await _scrape(url)
    return text if _value(text, name) == expected else None


async def test_a_stalled_relay_shows_its_backlog_and_how_old_it_is(sqlite_url: str, tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # no broker listens here: the relay cannot publish
    kit = _consuming_itself(tmp_path)
    async with running_service(kit, database_url=sqlite_url, kafka_bootstrap=nowhere, data_dir=tmp_path) as svc:
        async with svc.client("alice", "viewer") as client:
            for note in ("one", "two"):
                assert (await client.post("/pings", json={"note": note})).status_code == 201, "the outbox holds it"
        text = await _scrape(svc.base_url)
    assert _value(text, "pmo_relay_backlog") == 2.0
    age = _value(text, "pmo_relay_oldest_unpublished_age_seconds")
    assert age is not None and age > 0
    assert _value(text, "pmo_relay_connected") == 0.0
    assert _value(text, "pmo_relay_published_total") == 0.0


async def test_lag_is_refreshed_during_a_catch_up_not_only_when_the_consumer_idles(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A catch-up reads the next poll ahead while applying this one, so the loop never waits on an empty poll:
    the log end must still be read (at most once a second), or lag shows 0 exactly while it is largest (430f858;
    this test fails without it: lag 0 with 55 events still to apply)."""

    async def slow_apply(_session, _event: RecordedEvent) -> None:
        await asyncio.sleep(0.05)  # 20 events/s, slower than the pings go in: the subscription falls behind

    topic = f"t{uuid.uuid4().hex[:8]}.test.events"
    kit = replace(definition(tmp_path), name="test", topic=topic, consumes=(topic,), consumer=lambda _r: slow_apply)
    total = 120  # 6 s of applying: several lag refreshes. On PostgreSQL: on SQLite the pings would wait for the
    # applying transaction's write lock
    running = running_service(kit, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path)
    async with running as svc:
        runtime: ServiceRuntime = svc.runtime
        assert runtime.subscription is not None
        runtime.subscription.max_records = 5  # many small polls, each next one already fetched: read ahead
        status = runtime.subscription.status
        async with svc.client("alice", "viewer") as client:
            for first in range(0, total, 10):
                notes = [f"n{i}" for i in range(first, first + 10)]
                posted = await asyncio.gather(*(client.post("/pings", json={"note": note}) for note in notes))
                assert {r.status_code for r in posted} == {201}
        await asyncio.sleep(1.2)  # past the refresh interval: a log end read before the last pings is stale now
        seen: list[tuple[int, int]] = []
        while status.applied < total - 40:
            seen.append((status.applied, status.lag))
            await asyncio.sleep(0.1)
        behind = [(applied, lag) for applied, lag in seen if lag >= (total - applied) // 2]
        assert behind, f"lag never showed the backlog during the catch-up: {seen[-5:]}"
        await eventually(lambda: status.applied == total, timeout=30)
        text = await eventually(lambda: _scrape_until_lag_zero(svc.base_url, topic))
    assert text is not None


async def _scrape_until_lag_zero(url: str, topic: str) -> str | None:
    text = await _scrape(url)
    lags = [_value(text, "pmo_subscription_lag", topic=topic, partition=str(p)) for p in range(3)]
    return text if lags == [0.0, 0.0, 0.0] else None
