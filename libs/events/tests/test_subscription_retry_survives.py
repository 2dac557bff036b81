"""A subscription's retry loop survives a cancel raised inside aiokafka while it stops its consumer (the broker
died): `test_broker_loss`'s refill failed under load because `Subscription.run()` had ended after its first
failure (its task was gone, `failures_in_a_row` 1, nothing applied again). The loop's own guard took such a cancel
only in its body (`really_cancelled`), not in `_retry_after`'s consumer stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka.errors import KafkaConnectionError

from pmo_events.runtime import Database, KafkaSettings, Subscription
from pmo_events.trust import EventTrust


class _DyingConsumer:
    """A consumer whose stop meets a future aiokafka cancelled under it (the broker went)."""

    async def stop(self) -> None:
        raise asyncio.CancelledError()


async def test_a_cancel_inside_the_consumer_s_stop_does_not_end_the_subscription(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    subscription = Subscription(
        name="t-consumer",
        topics=["t.test.events"],
        db=db,
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1"),
        handler=lambda session, event: asyncio.sleep(0),
        dead_letter_topic="t.deadletter",
        trust=EventTrust(),
    )
    starts: list[int] = []

    async def start() -> None:
        starts.append(1)
        subscription._consumer = _DyingConsumer()
        if len(starts) == 1:
            raise KafkaConnectionError("Unable to bootstrap")
        await subscription.stop()

    async def consume() -> None:
        return None

    subscription._start_consumer = start  # type: ignore[method-assign]
    subscription._consume_until_stopped = consume  # type: ignore[method-assign]
    run = asyncio.create_task(subscription.run())
    try:
        await asyncio.wait_for(asyncio.shield(run), 10)
    except asyncio.CancelledError:
        pass  # the old loop: ended by the consumer's stop, the retry never came
    finally:
        await db.dispose()
    assert len(starts) == 2, "the subscription retried after its first failure"
    assert not run.cancelled()
