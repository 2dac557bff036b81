"""What a platform team relies on, tested on real processes: SIGTERM, readiness, replicas."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from pmo_devstack.broker import free_port, start_broker
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.proxy import TcpProxy
from pmo_devstack.stack import Stack

pytestmark = pytest.mark.e2e


def _token(stack: Stack, subject: str = "alice", *roles: str) -> dict[str, str]:
    key = dev_key_paths(stack.data_dir)[0].read_bytes()
    return {"Authorization": f"Bearer {mint_token(key, subject=subject, roles=list(roles or ['requester']))}"}


@pytest.fixture
def intake_only(tmp_path: Path) -> Iterator[Stack]:
    logs: collections.deque[str] = collections.deque(maxlen=200)
    stack = Stack(
        tmp_path,
        ports={"intake": free_port()},
        services=["intake"],
        log=logs.append,
        extra_env={"PMO_LOG_LEVEL": "warning"},
    )
    stack.start()
    yield stack
    stack.stop()


def test_sigterm_finishes_in_flight_requests_flushes_the_relay_and_exits_0(intake_only: Stack) -> None:
    stack, url, headers = intake_only, intake_only.url("intake"), _token(intake_only)
    outcomes: collections.Counter[str] = collections.Counter()
    created: list[str] = []
    stop = threading.Event()

    def client_loop() -> None:
        while not stop.is_set():
            try:
                with httpx.Client(base_url=url, headers={**headers, "Connection": "close"}, timeout=15) as c:
                    r = c.post("/proposals", json={"title": "Busy", "portfolio_id": "p"})
                outcomes[str(r.status_code)] += 1
                if r.status_code == 201:
                    created.append(r.json()["id"])
            except httpx.ConnectError:
                outcomes["refused"] += 1  # the listener is closed: the process no longer takes requests
                time.sleep(0.05)
            except httpx.TransportError as exc:
                outcomes[type(exc).__name__] += 1

    with ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(client_loop)
        # Under load: commands are being answered (however slowly the machine is) when the signal comes.
        wait_until(lambda: outcomes["201"] >= 3, "commands answered before SIGTERM", timeout=120)
        process = stack.process("intake")
        assert process is not None
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        # The process stops by itself: it neither hangs nor needs a SIGKILL (its grace is 20 s).
        code = process.wait(60)
        stopped_after = time.monotonic() - started
        stop.set()
    assert code == 0, (outcomes, stopped_after)
    assert not [k for k in outcomes if k.startswith("5")], outcomes
    with sqlite3.connect(stack.data_dir / "intake.db") as db:
        stored = {row[0] for row in db.execute("SELECT proposal_id FROM intake_proposals")}
        unpublished = db.execute("SELECT count(*) FROM pmo_outbox WHERE published_at IS NULL").fetchone()[0]
    assert set(created) <= stored  # every answered command is in the store
    assert unpublished == 0  # and the relay flushed before exiting


def test_readiness_is_503_while_the_broker_is_away_and_200_when_it_returns(intake_only: Stack) -> None:
    url = intake_only.url("intake")
    assert httpx.get(f"{url}/health/ready").status_code == 200
    broker = intake_only.broker
    assert broker is not None
    broker.stop()
    away = wait_until(lambda: (r := httpx.get(f"{url}/health/ready", timeout=5)).status_code == 503 and r)
    assert away.json()["checks"]["broker"].startswith("unreachable")
    assert httpx.get(f"{url}/health/live").status_code == 200
    # Commands still succeed: the outbox holds the events.
    r = httpx.post(f"{url}/proposals", json={"title": "Offline", "portfolio_id": "p"}, headers=_token(intake_only))
    assert r.status_code == 201
    back = start_broker(broker.port)
    try:
        wait_until(lambda: httpx.get(f"{url}/health/ready", timeout=5).status_code == 200)
    finally:
        back.stop()


def test_readiness_is_503_while_the_database_is_away(tmp_path: Path, postgres_url: str) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.start()
    via_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    stack = Stack(
        tmp_path,
        ports={"intake": free_port()},
        services=["intake"],
        log=lambda _line: None,
        extra_env={"PMO_DATABASE_URL": via_proxy, "PMO_LOG_LEVEL": "warning"},
    )
    stack.start()
    try:
        url = stack.url("intake")
        proxy.cut()
        away = wait_until(lambda: (r := httpx.get(f"{url}/health/ready", timeout=5)).status_code == 503 and r)
        assert away.json()["checks"]["database"].startswith("unreachable")
        proxy.start()
        wait_until(lambda: httpx.get(f"{url}/health/ready", timeout=5).status_code == 200)
        r = httpx.post(f"{url}/proposals", json={"title": "Back", "portfolio_id": "p"}, headers=_token(stack))
        assert r.status_code == 201
    finally:
        stack.stop()
        proxy.cut()


def test_two_replicas_on_one_database_share_the_work_safely(tmp_path: Path, postgres_url: str) -> None:
    env = {"PMO_DATABASE_URL": postgres_url, "PMO_KAFKA_CONSUMER_MODE": "group", "PMO_LOG_LEVEL": "warning"}
    stack = Stack(tmp_path, ports={"intake": free_port()}, services=["intake"], log=lambda _line: None, extra_env=env)
    stack.start()
    second_port = free_port()
    second = subprocess.Popen(
        stack.command("intake", "serve"),
        env={**stack.env_for("intake"), "PMO_HTTP_PORT": str(second_port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    urls = [stack.url("intake"), f"http://127.0.0.1:{second_port}"]
    headers = _token(stack, "alice", "requester")
    try:
        wait_until(lambda: httpx.get(f"{urls[1]}/health/ready").status_code == 200)
        active = wait_until(lambda: _active_relays(urls) if sum(_active_relays(urls)) == 1 else None)
        assert sorted(active) == [False, True]  # one relay publishes; the other stands by

        ids = []
        for n in range(20):
            r = httpx.post(f"{urls[n % 2]}/proposals", json={"title": f"P{n}", "portfolio_id": "p"}, headers=headers)
            assert r.status_code == 201
            ids.append(r.json()["id"])
        # Two requests carrying the same version reach both replicas at once: exactly one lands.
        _publish_portfolio_facts(stack.bootstrap_servers or "", stack.data_dir)
        complete = {**_complete_proposal(), "title": "Race"}
        warmup = httpx.post(f"{urls[0]}/proposals", json=complete, headers=headers).json()["id"]
        wait_until(lambda: httpx.post(f"{urls[0]}/proposals/{warmup}/submit", headers=headers).status_code == 200)
        raced = httpx.post(f"{urls[1]}/proposals", json=complete, headers=headers).json()["id"]
        with ThreadPoolExecutor(2) as pool:
            results = sorted(
                pool.map(
                    lambda u: (
                        httpx.post(f"{u}/proposals/{raced}/submit", headers={**headers, "If-Match": '"1"'}).status_code
                    ),
                    urls,
                )
            )
        assert results == [200, 412], results

        # Kill the publishing replica: the other takes the advisory lock and publishes.
        leader = 0 if _active_relays(urls)[0] else 1
        if leader == 0:
            stack.kill_service("intake")
        else:
            second.kill()
        survivor = urls[1 - leader]
        r = httpx.post(f"{survivor}/proposals", json={"title": "after failover", "portfolio_id": "p"}, headers=headers)
        assert r.status_code == 201
        ids.append(r.json()["id"])
        published = wait_until(
            lambda: (ev := _drafted_on_topic(stack.bootstrap_servers or "")) and set(ids) <= set(ev) and ev, timeout=45
        )
        assert len(published) == len(set(published)), "an event was published twice"
    finally:
        second.terminate()
        second.wait(20)
        stack.stop()


def test_two_workers_consume_in_one_and_the_other_takes_over_when_it_is_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    """`PMO_HTTP_WORKERS=2`, `assign` mode: only the worker holding the subscription's advisory lock fetches
    and applies the subscribed topics (the other waits for the lock on the server); SIGKILL that worker and
    the other consumes the next events, while the relay still publishes every command's event."""
    env = {"PMO_DATABASE_URL": postgres_url, "PMO_HTTP_WORKERS": "2", "PMO_LOG_LEVEL": "warning"}
    stack = Stack(tmp_path, ports={"intake": free_port()}, services=["intake"], log=lambda _line: None, extra_env=env)
    stack.start()
    admin = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    lock = zlib.crc32(b"pmo-subscription:pmo-intake")
    headers = _token(stack, "alice", "requester")
    try:
        url = stack.url("intake")
        wait_until(lambda: _advisory(admin, lock) if _advisory(admin, lock)[1] == [False, True] else None)
        holder = _advisory(admin, lock)[0]
        _publish_portfolio_facts(stack.bootstrap_servers or "", stack.data_dir)
        wait_until(lambda: _consumed_streams(admin) == 2)

        parent = stack.process("intake")
        assert parent is not None
        worker = _process_with_connection(parent.pid, _client_port(admin, holder))
        assert worker != parent.pid
        os.kill(worker, signal.SIGKILL)
        # The queued worker's wait on the server ends with the killed one's session: it consumes now.
        wait_until(lambda: (held := _advisory(admin, lock)) and held[1][-1:] == [True] and held[0] != holder)
        _publish_portfolio_facts(stack.bootstrap_servers or "", stack.data_dir, suffix="-2")
        wait_until(lambda: _consumed_streams(admin) == 4)
        r = httpx.post(f"{url}/proposals", json={"title": "after the kill", "portfolio_id": "p"}, headers=headers)
        assert r.status_code == 201
        drafted = r.json()["id"]
        wait_until(lambda: drafted in _drafted_on_topic(stack.bootstrap_servers or ""), timeout=30)
    finally:
        stack.stop()


def _advisory(admin_url: str, key: int) -> tuple[int | None, list[bool]]:
    """(the backend holding advisory lock `key` in the test's database, whether each session is granted)."""
    rows = _query(
        admin_url,
        "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND objid = $1"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY granted",
        key,
    )
    return next((r["pid"] for r in rows if r["granted"]), None), [r["granted"] for r in rows]


def _client_port(admin_url: str, backend: int | None) -> int:
    return _query(admin_url, "SELECT client_port FROM pg_stat_activity WHERE pid = $1", backend)[0]["client_port"]


def _consumed_streams(admin_url: str) -> int:
    return _query(admin_url, "SELECT count(*) AS n FROM pmo_consumed_streams")[0]["n"]


def _query(admin_url: str, sql: str, *args: object) -> list[Any]:
    import asyncio

    import asyncpg

    async def run() -> list[Any]:
        conn = await asyncpg.connect(admin_url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _process_with_connection(parent: int, local_port: int) -> int:
    """Which process of `parent`'s tree has the TCP socket bound to `local_port` (a database client's end)."""
    inodes = {
        fields[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if int((fields := line.split())[1].rsplit(":", 1)[1], 16) == local_port
    }
    children = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(entry.name))
    for pid in [parent, *children]:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                    return pid
    raise LookupError(f"no process of {parent}'s holds a connection from port {local_port}")


def _complete_proposal() -> dict[str, Any]:
    return {
        "title": "Complete",
        "portfolio_id": "ops-portfolio",
        "summary": "A proposal that passes every completeness check",
        "sponsor": "carol",
        "objective_contributions": [{"objective_id": "ops-objective", "contribution": 3}],
        "business_case": {
            "currency": "EUR",
            "costs": [{"fiscal_period": "FY2027", "amount": "1000.00"}],
            "benefits": [{"description": "less toil", "kind": "non_financial", "realise_by": "2027-06-30"}],
        },
        "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
    }


def _publish_portfolio_facts(bootstrap: str, data_dir: Path, suffix: str = "") -> None:
    """What the portfolio service would publish: a portfolio and an objective intake can validate against
    (`ops-portfolio` and `ops-objective`, each name followed by `suffix`)."""
    import asyncio
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from aiokafka import AIOKafkaProducer

    from pmo_devstack.testing import as_published
    from pmo_events.contracts.common import PeriodAmount
    from pmo_events.contracts.portfolio import ObjectiveCreated, PortfolioCreated
    from pmo_events.envelope import RecordedEvent

    facts = [
        PortfolioCreated(
            portfolio_id=f"ops-portfolio{suffix}",
            name="Ops",
            currency="EUR",
            owner="olga",
            budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal("100000")),),
            board_members=("bob",),
            created_by="paula",
        ),
        ObjectiveCreated(
            objective_id=f"ops-objective{suffix}",
            title="Run better",
            weight=Decimal(1),
            period_start=date(2026, 1, 1),
            period_end=date(2028, 12, 31),
            created_by="paula",
        ),
    ]

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for fact in facts:
                stream = getattr(fact, "portfolio_id", None) or fact.objective_id  # type: ignore[attr-defined]
                event = RecordedEvent(
                    event_id=str(uuid.uuid4()),
                    type=fact.type_name(),
                    source="/pmo/portfolio",
                    stream_id=stream,
                    sequence=1,
                    time=datetime.now(UTC),
                    data=fact.model_dump(mode="json"),
                    actor="paula",
                )
                key, value, headers = as_published(event, data_dir)
                await producer.send_and_wait("pmo.portfolio.events", value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(publish())


def _active_relays(urls: list[str]) -> list[bool]:
    return [httpx.get(f"{u}/health/ready", timeout=5).json()["relay"]["active"] for u in urls]


def _drafted_on_topic(bootstrap: str) -> list[str]:
    import asyncio

    from pmo_events.envelope import from_kafka

    async def read() -> list[str]:
        consumer = AIOKafkaConsumer(
            "pmo.intake.events",
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
        )
        await consumer.start()
        drafted = []
        try:
            while batch := await consumer.getmany(timeout_ms=500):
                for records in batch.values():
                    for r in records:
                        event = from_kafka(r.key, r.value, r.headers)
                        if event.type == "pmo.intake.ProposalDrafted.v1":
                            drafted.append(event.stream_id)
        finally:
            await consumer.stop()
        return drafted

    return asyncio.run(read())
