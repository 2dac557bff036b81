"""A poll just fetched of at most `CHECK_ON_THE_LOOP` records (the live case) is read and its signatures checked on
the event loop's thread, without the hop to the checker thread and back; a larger one in the checker thread (and a
read-ahead poll too: test_the_next_poll_is_checked_in_the_checker_thread_while_one_applies). Either way every
record's signature is checked in full: a forged one is refused."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from pmo_devstack.keys import event_keys_dir, event_signer
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database, KafkaSettings, Subscription
from pmo_events.runtime.store import kafka_record
from pmo_events.runtime.subscription import CHECK_ON_THE_LOOP
from pmo_events.signing import PublicKeyDirectory
from pmo_events.trust import EventTrust

from .support import Incremented

TOPIC = "pmo.test.events"


def _records(keys: Path, count: int, *, forged_at: int | None = None) -> list[ConsumerRecord[Any, Any]]:
    signer = event_signer(keys, "test")
    found = []
    for offset in range(count):
        event = RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=Incremented.type_name(),
            source="/pmo/test",
            stream_id=str(uuid.uuid4()),
            sequence=1,
            time=datetime.now(UTC),
            data=Incremented(counter_id="c", by=1).model_dump(mode="json"),
        )
        record = kafka_record(event, signer)
        value = record.value.replace(b'"by":1', b'"by":9', 1) if offset == forged_at else record.value
        assert offset != forged_at or value != record.value
        key = record.key.encode()
        headers = list(record.headers.items())
        found.append(ConsumerRecord(TOPIC, 0, offset, 0, 0, key, value, None, len(key), len(value), headers))
    return found


def _subscription(db: Database, trust: EventTrust) -> Subscription:
    """A subscription whose checks are called directly (its handler is never reached)."""

    async def handler(*_args: Any) -> None:
        return None

    return Subscription(
        name="test-checks",
        topics=[TOPIC],
        db=db,
        kafka=KafkaSettings(),
        handler=handler,
        dead_letter_topic="pmo.test.deadletter",
        trust=trust,
    )


async def test_a_small_poll_is_checked_on_the_loop_and_a_large_one_in_the_checker_thread(tmp_path: Path) -> None:
    event_signer(tmp_path, "test")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")

    subscription = _subscription(db, EventTrust(PublicKeyDirectory.load(event_keys_dir(tmp_path) / "public")))
    subscription._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-check")
    threads: list[int] = []
    check = subscription._check

    def noted(batch: Any) -> Any:
        threads.append(threading.get_ident())
        return check(batch)

    subscription._check = noted  # type: ignore[method-assign]
    tp = TopicPartition(TOPIC, 0)
    try:
        small = await subscription._check_fetched({tp: _records(tmp_path, CHECK_ON_THE_LOOP, forged_at=1)})
        large = await subscription._check_fetched({tp: _records(tmp_path, CHECK_ON_THE_LOOP + 1, forged_at=1)})
    finally:
        subscription._checker.shutdown()
        await db.dispose()
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread
    for checked, count in ((small, CHECK_ON_THE_LOOP), (large, CHECK_ON_THE_LOOP + 1)):
        parsed = checked[tp]
        assert [p.event is not None for p in parsed] == [i != 1 for i in range(count)]
        assert parsed[1].refused is not None and parsed[1].error is not None  # the forged one: refused
        assert parsed[0].key == ("/pmo/test", parsed[0].record.key.decode())


async def test_a_failed_check_on_the_loop_is_raised_where_the_poll_awaits_it(tmp_path: Path) -> None:
    """As the checker thread's would be: at `await`, not when the poll is fetched."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")

    subscription = _subscription(db, EventTrust(PublicKeyDirectory()))

    def broken(_batch: Any) -> Any:
        raise RuntimeError("unreadable")

    subscription._check = broken  # type: ignore[method-assign,assignment]
    try:
        checking = subscription._check_fetched({TopicPartition(TOPIC, 0): []})
        assert isinstance(checking, asyncio.Future)
        try:
            await checking
        except RuntimeError as exc:
            assert str(exc) == "unreadable"
        else:
            raise AssertionError("the check's failure was lost")
    finally:
        await db.dispose()
