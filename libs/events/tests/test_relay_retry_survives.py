"""The outbox relay's retry loop survives a cancel raised inside aiokafka while it stops its producer (the broker
died), as a subscription's does (`test_subscription_retry_survives`): the loop's guard (`really_cancelled`) took
such a cancel in its body only, not in `_retry_after`'s producer stop, so the relay's `run()` ended after its first
failure and published nothing more until the supervisor restarted it. The producer's client, which the stop that
raised did not reach, is closed all the same (session 15's review: left open on every retry before)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka.errors import KafkaConnectionError

from pmo_events.runtime import Database, KafkaSettings, OutboxRelay


class _Client:
    def __init__(self) -> None:
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


class _DyingProducer:
    """A producer whose stop meets a future aiokafka cancelled under it (the broker went) before it closes its
    client (aiokafka's `stop` closes the client last)."""

    def __init__(self) -> None:
        self.client = _Client()

    async def stop(self) -> None:
        raise asyncio.CancelledError()


async def test_a_cancel_inside_the_producer_s_stop_does_not_end_the_relay(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    relay = OutboxRelay(db, KafkaSettings(bootstrap_servers="127.0.0.1:1"), service="t", topic="t.test.events")
    connects: list[int] = []
    dying = _DyingProducer()

    async def connect() -> None:
        connects.append(1)
        if len(connects) == 1:
            relay._producer = dying
            raise KafkaConnectionError("Unable to bootstrap")
        await relay.stop()

    async def publish() -> None:
        return None

    relay._connect = connect  # type: ignore[method-assign]
    relay._publish_until_stopped = publish  # type: ignore[method-assign]
    run = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(asyncio.shield(run), 10)
    except asyncio.CancelledError:
        pass  # the old loop: ended by the producer's stop, the retry never came
    finally:
        await db.dispose()
    assert len(connects) == 2, "the relay retried after its first failure"
    assert not run.cancelled()
    assert dying.client.closed == 1, "the client the producer's stop did not reach is closed"


async def test_a_real_cancel_still_ends_the_relay(tmp_path: Path) -> None:
    """The guard tells them apart: cancelling the relay's task while its producer stops ends it."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    relay = OutboxRelay(db, KafkaSettings(bootstrap_servers="127.0.0.1:1"), service="t", topic="t.test.events")
    stopping = asyncio.Event()

    class _SlowProducer:
        async def stop(self) -> None:
            stopping.set()
            await asyncio.sleep(30)

    async def connect() -> None:
        relay._producer = _SlowProducer()
        raise KafkaConnectionError("Unable to bootstrap")

    relay._connect = connect  # type: ignore[method-assign]
    run = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(stopping.wait(), 10)
        run.cancel()
        done, _ = await asyncio.wait({run}, timeout=10)
    finally:
        await db.dispose()
    assert done and run.cancelled()
