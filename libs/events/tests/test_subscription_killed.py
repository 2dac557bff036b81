"""A consuming process killed (SIGKILL) while one poll applies and the next is already read and checked ahead:
the next process applies every event exactly once, from the offsets in the database."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from pmo_devstack.keys import event_keys_dir
from pmo_devstack.polling import eventually
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.store import kafka_record

from .support import Incremented
from .test_relay_and_subscription import Pipeline, _equals, stopped_pipeline

pytestmark = pytest.mark.integration
__all__ = ["stopped_pipeline"]

EVENTS = Path(__file__).resolve().parents[1]

#: The consuming process: the pipeline's subscription (polls of 4) whose handler stops for good at the 6th
#: event, inside the second poll's transaction; it notes each poll read and checked, and when it stopped.
CHILD = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from pmo_events.runtime import Database, KafkaSettings, Subscription
from pmo_events.signing import PublicKeyDirectory
from pmo_events.trust import EventTrust
from tests.test_relay_and_subscription import add_to_total

url, bootstrap, topic, dlq, name, keys, marks = sys.argv[2:]
handled = 0

def mark(text):
    with open(marks, "a") as out:
        out.write(text + "\\n")

async def handle(session, event):
    global handled
    handled += 1
    await add_to_total(session, event)
    if handled == 6:
        mark("stuck")
        await asyncio.sleep(3600)

async def main():
    subscription = Subscription(name=name, topics=[topic], db=Database(url),
        kafka=KafkaSettings(bootstrap_servers=bootstrap), handler=handle, dead_letter_topic=dlq,
        trust=EventTrust(PublicKeyDirectory.load(Path(keys))), max_records=4)
    check = subscription._check
    def noted(batch):
        checked = check(batch)
        mark("checked %d" % len(checked))
        return checked
    subscription._check = noted
    await subscription.run()

asyncio.run(main())
"""


async def test_a_consumer_killed_mid_poll_with_the_next_poll_checked_ahead_applies_each_event_once(
    stopped_pipeline: Pipeline, database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    pipeline = stopped_pipeline
    counters = await _publish_four_rounds(pipeline, kafka_bootstrap)
    subscription = pipeline.subscription
    child, marks = await _start_consumer(CHILD, pipeline, database_url, kafka_bootstrap, tmp_path)
    try:

        async def stuck_with_the_next_poll_checked() -> bool:
            lines = marks.read_text().splitlines()
            return "stuck" in lines and sum(line.startswith("checked") for line in lines) >= 3

        try:
            await eventually(stuck_with_the_next_poll_checked, timeout=60)
        except TimeoutError:
            raise AssertionError(marks.read_text()) from None
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    committed = {counter: applied for counter, (_, applied) in (await pipeline.totals()).items()}
    assert sum(committed.values()) == 4, committed  # the first poll only: the second died in its transaction

    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (10, 4) for counter in counters}))
    status = subscription.status
    assert status.applied == 16
    assert status.skipped_duplicates == 0
    assert status.dead_lettered == 0


#: The consuming process again, reading ahead one record at a time (`READ_AHEAD_SLICE = 1`): it stops for good in
#: its sixth read-ahead slice, the second read beside a poll (the second poll's), which has read one record of
#: the third poll by then; it notes when it stopped.
CHILD_READING = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from aiokafka import AIOKafkaConsumer
from pmo_events.runtime import Database, KafkaSettings, Subscription
from pmo_events.runtime import subscription as subscription_module
from pmo_events.signing import PublicKeyDirectory
from pmo_events.trust import EventTrust
from tests.test_relay_and_subscription import add_to_total

url, bootstrap, topic, dlq, name, keys, marks = sys.argv[2:]
slices = 0
getmany = AIOKafkaConsumer.getmany

async def read(self, *partitions, timeout_ms=0, max_records=None):
    global slices
    if timeout_ms == 0:
        slices += 1
        if slices == 6:
            with open(marks, "a") as out:
                out.write("reading stuck\\n")
            await asyncio.sleep(3600)
    return await getmany(self, *partitions, timeout_ms=timeout_ms, max_records=max_records)

AIOKafkaConsumer.getmany = read
subscription_module.READ_AHEAD_SLICE = 1

async def main():
    subscription = Subscription(name=name, topics=[topic], db=Database(url),
        kafka=KafkaSettings(bootstrap_servers=bootstrap), handler=add_to_total, dead_letter_topic=dlq,
        trust=EventTrust(PublicKeyDirectory.load(Path(keys))), max_records=4)
    await subscription.run()

asyncio.run(main())
"""


async def test_a_consumer_killed_while_it_reads_the_next_poll_beside_one_applying_applies_each_event_once(
    stopped_pipeline: Pipeline, database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The pipeline's other half: the process dies while its read-ahead (beside the applying poll, in slices) has
    read part of the next poll and its fetch positions are past records nothing applied: the next process reads
    them again from the offsets in the database, and applies every event once."""
    pipeline = stopped_pipeline
    counters = await _publish_four_rounds(pipeline, kafka_bootstrap)
    subscription = pipeline.subscription
    child, marks = await _start_consumer(CHILD_READING, pipeline, database_url, kafka_bootstrap, tmp_path)
    try:

        async def stuck_reading_after_two_polls() -> bool:
            if "reading stuck" not in marks.read_text().splitlines():
                return False
            return sum(applied for _, applied in (await pipeline.totals()).values()) == 8

        try:
            await eventually(stuck_reading_after_two_polls, timeout=60)
        except TimeoutError:
            raise AssertionError((marks.read_text(), await pipeline.totals())) from None
        await asyncio.sleep(0.5)  # nothing more commits while the read-ahead is stuck
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    committed = {counter: applied for counter, (_, applied) in (await pipeline.totals()).items()}
    assert sum(committed.values()) == 8, committed  # two polls of 4; the third's first record read, not applied

    pipeline.tasks.append(asyncio.create_task(subscription.run()))
    await eventually(lambda: _equals(pipeline.totals(), {counter: (10, 4) for counter in counters}))
    status = subscription.status
    assert status.applied == 12
    assert status.skipped_duplicates == 0
    assert status.dead_lettered == 0


async def _publish_four_rounds(pipeline: Pipeline, kafka_bootstrap: str) -> list[str]:
    """Four increments of each of five counters, signed, sent with one linger so they share a record batch (each
    fetch then holds several polls of 4: the next one is read and checked ahead); the counters' ids."""
    counters = [str(uuid.uuid4()) for _ in range(5)]
    records = [
        kafka_record(
            RecordedEvent(
                event_id=str(uuid.uuid4()),
                type=Incremented.type_name(),
                source="/pmo/test",
                stream_id=counter,
                sequence=round_,
                time=datetime.now(UTC),
                data={"counter_id": counter, "by": round_},
            ),
            pipeline.signer,
        )
        for round_ in (1, 2, 3, 4)
        for counter in counters
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=500)
    await producer.start()
    try:
        sent = [
            await producer.send(pipeline.topic, r.value, key=r.key.encode(), headers=list(r.headers.items()))
            for r in records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return counters


async def _start_consumer(
    child: str, pipeline: Pipeline, database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> tuple[asyncio.subprocess.Process, Path]:
    """The consuming process `child` (a script's text) started on the pipeline's topic, and the file it marks."""
    marks = tmp_path / "marks"
    marks.touch()
    script = tmp_path / "consumer.py"
    script.write_text(child)
    keys = event_keys_dir(tmp_path) / "public"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(EVENTS), database_url, kafka_bootstrap, pipeline.topic, pipeline.dlq,
        pipeline.subscription.name, str(keys), str(marks),
    )  # fmt: skip
    return process, marks
