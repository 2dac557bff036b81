"""Subscriptions: consume topics, apply each event and store offsets in ONE database transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import MalformedEnvelope, RecordedEvent, dumps, from_kafka
from pmo_events.runtime.database import Database
from pmo_events.runtime.kafka import EpochWatch, KafkaSettings, broker_epoch, ensure_topics
from pmo_events.runtime.schema import consumed_streams, consumer_offsets, outbox
from pmo_events.runtime.store import ConcurrencyConflict
from pmo_events.runtime.tracing import consuming

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, RecordedEvent], Awaitable[None]]


class TransientFailure(Exception):
    """The batch could not be applied for a reason that may pass (database away, a write race)."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConcurrencyConflict | TransientFailure | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


#: Why a record went to the dead-letter topic (header `pmo_dlq_reason`, metric label `reason`).
MALFORMED = "malformed_envelope"
APPLY_FAILED = "apply_failed"
DEAD_LETTER_REASONS = (MALFORMED, APPLY_FAILED)


@dataclass
class SubscriptionStatus:
    connected: bool = False
    applied: int = 0
    skipped_duplicates: int = 0
    out_of_order: int = 0
    dead_lettered: int = 0
    #: Every known reason from the start (at 0), so an alert on the counter's increase sees the first one.
    dead_letters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DEAD_LETTER_REASONS, 0))
    last_error: str | None = None
    positions: dict[str, int] = field(default_factory=dict)
    log_end: dict[str, int] = field(default_factory=dict)

    @property
    def lag(self) -> int:
        return sum(max(0, end - self.positions.get(tp, 0)) for tp, end in self.log_end.items())


@dataclass(frozen=True)
class _Outcome:
    event: RecordedEvent | None
    error: str | None


class Subscription:
    """A named consumer (its Kafka group id, and the key of its offsets in this database)."""

    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        db: Database,
        kafka: KafkaSettings,
        handler: Handler,
        dead_letter_topic: str,
        on_commit: Callable[[], None] | None = None,
        max_records: int = 500,
    ) -> None:
        self.name = name
        self.topics = list(topics)
        self.db = db
        self.kafka = kafka
        self.handler = handler
        self.dead_letter_topic = dead_letter_topic
        self.on_commit = on_commit
        self.max_records = max_records
        self.status = SubscriptionStatus()
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._epoch = ""
        self._epoch_watch: EpochWatch | None = None
        self._next_lag_refresh = 0.0

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._start_consumer()
                backoff = 0.2
                await self._consume_until_stopped()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.status.connected = False
                self.status.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("subscription %s: %s; retrying in %.1fs", self.name, exc, backoff)
                await self._stop_consumer()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 5.0)
        await self._stop_consumer()

    async def stop(self) -> None:
        self._stopping.set()

    async def _start_consumer(self) -> None:
        partitions = await ensure_topics(self.kafka, [*self.topics, self.dead_letter_topic])
        self._epoch = await broker_epoch(self.kafka)
        self._epoch_watch = EpochWatch(self.kafka, self._epoch)
        group = self.kafka.consumer_mode == "group"
        consumer = AIOKafkaConsumer(
            client_id=f"{self.name}-consumer",
            group_id=self.name if group else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.kafka.fetch_max_wait_ms,
            session_timeout_ms=self.kafka.session_timeout_ms,
            max_poll_records=self.max_records,
            **self.kafka.client_kwargs(),  # type: ignore[arg-type]
        )
        await consumer.start()
        self._consumer = consumer
        if group:
            consumer.subscribe(self.topics, listener=_SeekToStored(self))
        else:
            tps = [TopicPartition(t, p) for t in self.topics for p in partitions.get(t, [])]
            consumer.assign(tps)
            await self.seek_to_stored(tps)
        self.status.connected = True
        self.status.last_error = None

    async def seek_to_stored(self, tps: Sequence[TopicPartition]) -> None:
        """Resume from the offsets in OUR database; a reset broker (new epoch) is read from 0."""
        consumer = self._consumer
        assert consumer is not None
        stored = await self._stored_offsets(tps)
        for tp in tps:
            offset, epoch = stored.get((tp.topic, tp.partition), (None, None))
            if offset is None or epoch != self._epoch:
                await consumer.seek_to_beginning(tp)
                self.status.positions[f"{tp.topic}:{tp.partition}"] = 0
            else:
                consumer.seek(tp, offset)
                self.status.positions[f"{tp.topic}:{tp.partition}"] = offset

    async def _stored_offsets(self, tps: Sequence[TopicPartition]) -> dict[tuple[str, int], tuple[int, str]]:
        async with self.db.sessions() as session:
            rows = (
                await session.execute(select(consumer_offsets).where(consumer_offsets.c.consumer == self.name))
            ).mappings()
            return {(r["topic"], r["partition"]): (r["next_offset"], r["broker_epoch"]) for r in rows}

    async def _consume_until_stopped(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping.is_set():
            assert self._epoch_watch is not None
            # A gap in a stream may mean the broker was replaced under us: look now, not later.
            gaps_before = self.status.out_of_order
            await self._epoch_watch.check()
            batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
            await self._refresh_lag()  # also under load: that is when lag grows
            if not batch:
                continue
            try:
                await self._apply_batch(batch)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # Nothing was committed: go back to what the database says and try again.
                log.info("subscription %s: transient failure, retrying batch: %s", self.name, exc)
                await asyncio.sleep(0.05)
                await self.seek_to_stored(list(batch))
                continue
            if self.on_commit is not None:
                self.on_commit()
            if self.status.out_of_order > gaps_before:
                await self._epoch_watch.check(now=True)

    async def _refresh_lag(self) -> None:
        """Log-end offsets for the lag figure; at most once a second (each is a broker round trip)."""
        consumer = self._consumer
        now = asyncio.get_running_loop().time()
        if consumer is None or now < self._next_lag_refresh:
            return
        self._next_lag_refresh = now + 1.0
        tps = list(consumer.assignment())
        if tps:
            ends = await consumer.end_offsets(tps)
            self.status.log_end = {f"{tp.topic}:{tp.partition}": end for tp, end in ends.items()}

    async def _apply_batch(self, batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> None:
        async with self.db.transaction() as session:
            starts = await self._lock_offsets(session, list(batch))
            records = [(tp, r) for tp, rs in batch.items() for r in rs if r.offset >= starts.get(tp, 0)]
            outcomes = await self._apply_records(session, records)
            await self._write_offsets(session, batch, starts)
        self.status.applied += sum(1 for o in outcomes if o.event and not o.error)
        for tp, records_of_tp in batch.items():
            self.status.positions[f"{tp.topic}:{tp.partition}"] = records_of_tp[-1].offset + 1

    async def _lock_offsets(self, session: AsyncSession, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Lock this consumer's offset rows so a second replica cannot apply the same records."""
        rows = (
            await session.execute(
                select(consumer_offsets)
                .where(
                    consumer_offsets.c.consumer == self.name,
                    or_(
                        *[
                            and_(consumer_offsets.c.topic == tp.topic, consumer_offsets.c.partition == tp.partition)
                            for tp in tps
                        ]
                    ),
                )
                .with_for_update()
            )
        ).mappings()
        starts = {}
        for r in rows:
            if r["broker_epoch"] == self._epoch:
                starts[TopicPartition(r["topic"], r["partition"])] = r["next_offset"]
        return starts

    async def _write_offsets(
        self, session: AsyncSession, batch: dict[TopicPartition, list[Any]], starts: dict[TopicPartition, int]
    ) -> None:
        for tp, records in batch.items():
            next_offset = max(records[-1].offset + 1, starts.get(tp, 0))
            values = {"next_offset": next_offset, "broker_epoch": self._epoch}
            result = await session.execute(
                update(consumer_offsets)
                .where(
                    consumer_offsets.c.consumer == self.name,
                    consumer_offsets.c.topic == tp.topic,
                    consumer_offsets.c.partition == tp.partition,
                )
                .values(**values)
            )
            if getattr(result, "rowcount", 0) == 0:
                await session.execute(
                    consumer_offsets.insert().values(
                        consumer=self.name, topic=tp.topic, partition=tp.partition, **values
                    )
                )

    async def _apply_records(
        self, session: AsyncSession, records: list[tuple[TopicPartition, ConsumerRecord[Any, Any]]]
    ) -> list[_Outcome]:
        parsed: list[tuple[TopicPartition, ConsumerRecord[Any, Any], RecordedEvent | None, str | None]] = []
        for tp, record in records:
            try:
                event = from_kafka(record.key, record.value, record.headers)
                event = replace(event, topic=tp.topic, partition=tp.partition, offset=record.offset)
                parsed.append((tp, record, event, None))
            except MalformedEnvelope as exc:
                parsed.append((tp, record, None, f"malformed envelope: {exc}"))
        last_seen = await self._last_sequences(session, [e for _, _, e, _ in parsed if e])
        changed: dict[tuple[str, str], int] = {}
        outcomes: list[_Outcome] = []
        for tp, record, parsed_event, error in parsed:
            if parsed_event is not None:
                event = parsed_event
                key = (event.source, event.stream_id)
                last = changed.get(key, last_seen.get(key, 0))
                if event.sequence <= last:
                    self.status.skipped_duplicates += 1
                    continue
                if event.sequence > last + 1:
                    # An earlier event of this stream is still to come (the relay resends in order).
                    self.status.out_of_order += 1
                    log.warning(
                        "subscription %s: %s seq %d arrived after %d; waiting for the gap",
                        self.name,
                        event.stream_id,
                        event.sequence,
                        last,
                    )
                    continue
                error = await self._apply_one(session, event)
                changed[key] = event.sequence
            if error is not None:
                reason = APPLY_FAILED if parsed_event is not None else MALFORMED
                await self._dead_letter(session, tp, record, error, reason)
            outcomes.append(_Outcome(parsed_event, error))
        await self._save_sequences(session, changed, last_seen)
        return outcomes

    async def _apply_one(self, session: AsyncSession, event: RecordedEvent) -> str | None:
        try:
            with consuming(event, self.name):
                async with session.begin_nested():
                    await self.handler(session, event)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.error("subscription %s: %s %s failed: %s", self.name, event.type, event.event_id, exc)
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _last_sequences(self, session: AsyncSession, parsed: list[RecordedEvent]) -> dict[tuple[str, str], int]:
        keys = sorted({(e.source, e.stream_id) for e in parsed})
        found: dict[tuple[str, str], int] = {}
        for chunk_start in range(0, len(keys), 200):
            chunk = keys[chunk_start : chunk_start + 200]
            rows = await session.execute(
                select(consumed_streams.c.source, consumed_streams.c.stream_id, consumed_streams.c.last_sequence)
                .where(
                    consumed_streams.c.consumer == self.name,
                    or_(*[and_(consumed_streams.c.source == s, consumed_streams.c.stream_id == i) for s, i in chunk]),
                )
                .with_for_update()
            )
            found.update({(r.source, r.stream_id): r.last_sequence for r in rows})
        return found

    async def _save_sequences(
        self, session: AsyncSession, changed: dict[tuple[str, str], int], existing: dict[tuple[str, str], int]
    ) -> None:
        new_rows = [
            {"consumer": self.name, "source": s, "stream_id": i, "last_sequence": seq}
            for (s, i), seq in changed.items()
            if (s, i) not in existing
        ]
        if new_rows:
            await session.execute(consumed_streams.insert(), new_rows)
        for (source, stream_id), seq in changed.items():
            if (source, stream_id) in existing:
                await session.execute(
                    update(consumed_streams)
                    .where(
                        consumed_streams.c.consumer == self.name,
                        consumed_streams.c.source == source,
                        consumed_streams.c.stream_id == stream_id,
                    )
                    .values(last_sequence=seq)
                )

    async def _dead_letter(
        self, session: AsyncSession, tp: TopicPartition, record: ConsumerRecord[Any, Any], error: str, reason: str
    ) -> None:
        """The poison record goes to the dead-letter topic via the outbox, in this same transaction."""
        headers = {k: bytes(v).decode(errors="replace") for k, v in (record.headers or ()) if v is not None}
        headers.update(
            {
                "pmo_dlq_reason": reason,
                "pmo_dlq_error": error[:2000],
                "pmo_dlq_consumer": self.name,
                "pmo_dlq_topic": tp.topic,
                "pmo_dlq_partition": str(tp.partition),
                "pmo_dlq_offset": str(record.offset),
            }
        )
        key = record.key.decode(errors="replace") if isinstance(record.key, bytes) else record.key
        await session.execute(
            outbox.insert().values(
                topic=self.dead_letter_topic,
                key=key,
                headers=dumps(headers).decode(),
                value=record.value or b"",
                created_at=datetime.now(UTC),
            )
        )
        self.status.dead_lettered += 1
        self.status.dead_letters[reason] = self.status.dead_letters.get(reason, 0) + 1

    async def _stop_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        self.status.connected = False
        if consumer is not None:
            try:
                await consumer.stop()
            except Exception:
                log.debug("consumer stop failed", exc_info=True)


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.subscription.seek_to_stored(list(assigned))
