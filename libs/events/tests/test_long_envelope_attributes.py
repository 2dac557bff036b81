"""Against a real broker: an authentic event whose envelope carries an attribute longer than the runtime's columns
(a stream id over 64 characters, an id over 36, a type over 200, a source over 100) is dead-lettered as a malformed
envelope when it is read, before anything is applied, and the events after it flow.

Review 1 of session 10 (F4): producers on PostgreSQL cannot store such an id, a SQLite-backed or older one could;
a consumer on PostgreSQL whose handler stored nothing of the event failed the poll's offset write
(`pmo_consumed_streams.stream_id` VARCHAR(64), not transient) and re-read the same poll for ever: every later
event of every partition waited behind it. On SQLite the handler was given it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from pmo_devstack.keys import event_keys_dir, event_signer
from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import KafkaSettings, Subscription
from pmo_events.signing import PublicKeyDirectory
from pmo_events.trust import EventTrust

from .support import migrated
from .test_forgeries_and_parking import forged, send_raw

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "changes",
    [
        {"stream_id": "L" * 65},
        {"event_id": str(uuid.uuid4()) + "x"},
        {"type": "t" * 201},
        {"source": "/pmo/test" + "s" * 92},
    ],
    ids=["stream-id-65", "event-id-37", "type-201", "source-101"],
)
async def test_an_authentic_event_with_an_over_long_attribute_is_dead_lettered_and_the_next_applies(
    database_url: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str, changes: dict[str, str]
) -> None:
    consumer_db = await migrated(database_url, tmp_path)
    topic = f"{topic_prefix}.test.events"  # owned by the "test" service
    signer = event_signer(tmp_path, "test")  # the producer's own key: the events are authentic
    seen: list[str] = []

    async def store_nothing(_session: object, event: RecordedEvent) -> None:
        seen.append(event.stream_id)

    sub = Subscription(
        name=f"{topic_prefix}-consumer",
        topics=[topic],
        db=consumer_db,
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        handler=store_nothing,
        dead_letter_topic=f"{topic_prefix}.deadletter",
        trust=EventTrust(PublicKeyDirectory.load(event_keys_dir(tmp_path) / "public")),
    )
    long, good = forged(str(uuid.uuid4()), 1, 1, **changes), forged(str(uuid.uuid4()), 1, 1)
    await send_raw(kafka_bootstrap, topic, long, signer)
    await send_raw(kafka_bootstrap, topic, good, signer)
    task = asyncio.create_task(sub.run())
    try:
        await eventually(lambda: good.stream_id in seen and sub.status.applied >= 1, timeout=30.0)
        assert sub.status.dead_letters["malformed_envelope"] == 1, sub.status
        assert sub.status.dead_lettered == 1
        assert seen == [good.stream_id]  # the over-long one never reached the handler
    finally:
        await sub.stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await consumer_db.dispose()
