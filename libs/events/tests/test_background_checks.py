"""The relay's and the subscription's periodic checks run beside their loops: a slow epoch read or ANALYZE
does not hold up the next batch (each used to stall its loop: 10 ms every 5 s for the epoch, 100 ms and more
for an ANALYZE on a busy machine)."""

from __future__ import annotations

import asyncio

import pytest

from pmo_events.runtime import kafka as kafka_module
from pmo_events.runtime import subscription as subscription_module
from pmo_events.runtime.kafka import BrokerEpochChanged, EpochWatch, KafkaSettings


async def test_a_due_epoch_read_runs_beside_the_loop_and_a_change_raises_at_the_next_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = asyncio.Event()
    reads = 0

    async def slow_read(_settings: KafkaSettings) -> str:
        nonlocal reads
        reads += 1
        await release.wait()
        return "new-epoch"

    monkeypatch.setattr(kafka_module, "_read_epoch", slow_read)
    watch = EpochWatch(KafkaSettings(), "old-epoch", interval=0.0)
    await asyncio.wait_for(watch.check(), 0.5)  # the read starts, and check() returns without waiting for it
    await asyncio.wait_for(watch.check(), 0.5)  # still reading: no second read, nothing raised
    assert reads == 1
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    with pytest.raises(BrokerEpochChanged):
        await watch.check()


async def test_an_epoch_check_on_demand_reads_before_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    async def read(_settings: KafkaSettings) -> str:
        await asyncio.sleep(0.01)
        return "new-epoch"

    monkeypatch.setattr(kafka_module, "_read_epoch", read)
    watch = EpochWatch(KafkaSettings(), "old-epoch", interval=60.0)
    with pytest.raises(BrokerEpochChanged):
        await watch.check(now=True)


async def test_analyze_runs_beside_the_subscription_loop() -> None:
    release = asyncio.Event()
    analyzed = asyncio.Event()

    class SlowDatabase:
        async def analyze(self) -> None:
            analyzed.set()
            await release.wait()

    subscription = subscription_module.Subscription.__new__(subscription_module.Subscription)
    subscription.name = "test"
    subscription.db = SlowDatabase()  # type: ignore[assignment]
    subscription.status = subscription_module.SubscriptionStatus()
    subscription._analyze_at = subscription_module.ANALYZE_FIRST_AT
    subscription._analyzing = None
    subscription.status.applied = subscription_module.ANALYZE_FIRST_AT
    subscription._analyze_when_grown()  # returns at once: the loop goes on to its next batch
    await asyncio.wait_for(analyzed.wait(), 1.0)
    subscription.status.applied = 10 * subscription_module.ANALYZE_FIRST_AT
    subscription._analyze_when_grown()  # one at a time: none started while the first one runs
    assert subscription._analyze_at == 2 * subscription_module.ANALYZE_FIRST_AT
    release.set()
    assert subscription._analyzing is not None
    await subscription._analyzing
