"""The outbox relay: publishes committed outbox rows to Kafka in order, and survives a dead broker.

A row the broker acknowledged is deleted: that is its mark (the event stays in the store). A delete writes a few
bytes of WAL and no index entry, where setting `published_at` wrote the whole row again, a row lock and an entry in
the outbox's primary key. So the outbox holds what is still to be sent. A row with `published_at` set was marked by
a relay of an earlier release (still running during a rolling update) and counts as sent; the relay deletes such
rows once it leads, after its first round, a batch of `MARKED_BATCH` a round until a batch finds none
(`delete_marked_batch`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import loads
from pmo_events.runtime.database import Database
from pmo_events.runtime.kafka import EpochWatch, KafkaSettings, broker_epoch, ensure_topics, make_producer
from pmo_events.runtime.leadership import AdvisoryLock
from pmo_events.runtime.parking import REFUSED_FOR_GOOD, count_parked, not_parked, park, stream_key
from pmo_events.runtime.partitioning import partition_of
from pmo_events.runtime.schema import events, outbox, runtime_state
from pmo_events.runtime.store import _COLUMNS, _read, enqueue
from pmo_events.runtime.supervisor import LinkStatus, really_cancelled
from pmo_events.signing import (
    BATCH_COUNT_HEADER,
    BATCH_ID_HEADER,
    BATCH_INDEX_HEADER,
    BATCH_KEY_ID_HEADER,
    BATCH_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    EventSigner,
    record_digest,
)

log = logging.getLogger(__name__)


@dataclass
class RelayStatus(LinkStatus):
    active: bool = False
    published: int = 0
    republished: int = 0
    #: Streams held because the broker refused one of their records for good (see `parking`).
    parked: int = 0
    last_published_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LeadershipLost(RuntimeError):
    """The relay's advisory lock was lost with its connection."""


class OutboxRelay:
    """One per service process; on PostgreSQL only the holder of the advisory lock publishes."""

    def __init__(
        self,
        db: Database,
        kafka: KafkaSettings,
        *,
        service: str,
        topic: str | None,
        extra_topics: Sequence[str] = (),
        signer: EventSigner | None = None,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        busy_interval: float = 0.0,
    ) -> None:
        self.db = db
        self.signer = signer
        self.kafka = kafka
        self.service = service
        self.topic = topic
        self.topics = [t for t in [topic, *extra_topics] if t]
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        #: The least time between the starts of two rounds that both publish (0: none; see `RelayThread`).
        self.busy_interval = busy_interval
        self.status = RelayStatus()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        #: PostgreSQL: only its holder publishes; the others wait for it on the server and take over at once.
        self._lock = AdvisoryLock(db, f"pmo-relay:{service}") if db.is_postgres else None
        self._producer: AIOKafkaProducer | None = None
        self._epoch_watch: EpochWatch | None = None
        #: Rows the broker acknowledged whose mark (delete) rides on the next read (PostgreSQL, more already waiting).
        self._unmarked: list[int] | None = None
        #: PostgreSQL: the channel a commit in another process (another HTTP worker, a sweep) announces itself
        #: on, and the relay holding the lock LISTENs to (on its lock connection).
        self.channel = "pmo_outbox_" + re.sub(r"[^a-z0-9_]", "_", service.lower())
        self._announce_again = False
        self._announcer: asyncio.Task[None] | None = None
        #: Rows an earlier release's relay marked sent may be in the outbox: set on taking the lead (SQLite: on
        #: start), lowered once a batch finds none (`_delete_some_marked`). Not on a broker reconnection: each
        #: run is a scan of the outbox (no index on `published_at` any more).
        self._marked_left = True

    def wake(self) -> None:
        """Called after every commit so a new event leaves within milliseconds, not a poll period.

        In a process whose relay does not hold the lock (PostgreSQL, several HTTP workers), the commit is
        announced with a NOTIFY instead, which wakes the relay that does, in whichever process it runs. One
        task sends them, one at a time: the commits made while a NOTIFY is on its way are covered by one more,
        sent after them (the flag is lowered before each NOTIFY goes out)."""
        self._wake.set()
        if self.status.active or not self.db.is_postgres:
            return
        self._announce_soon()

    def _announce_soon(self) -> None:
        self._announce_again = True
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.get_running_loop().create_task(self._announce())

    def _lead_lost(self) -> None:
        """The lock went with its connection while this relay led: it publishes no more, and announces once.

        A commit in this process while it led was not announced (`wake`: the holder reads the outbox itself, and
        `RelayThread.wake` does not even hop when the relay is woken already), and this relay will not read it
        now. Another process's relay may have taken the lock before that commit, read the outbox and gone idle:
        without this NOTIFY it found the row only at its next poll (`poll_interval`; latency, not loss)."""
        self.status.active = False
        self._announce_soon()

    async def _announce(self) -> None:
        while self._announce_again:
            self._announce_again = False
            try:
                async with self.db.driver_connection() as connection:
                    await connection.execute(f'NOTIFY "{self.channel}"')
            except Exception as exc:  # the lock holder's poll finds the rows anyway, within `poll_interval`
                log.debug("relay %s: NOTIFY failed: %s", self.service, exc)

    def _notified(self, *_args: object) -> None:
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.2
        try:
            while not self._stopping.is_set():
                try:
                    await self._acquire_leadership()
                    if self._stopping.is_set():
                        break
                    await self._connect()
                    backoff = 0.2
                    await self._publish_until_stopped()
                except asyncio.CancelledError as exc:
                    if really_cancelled():
                        raise
                    await self._retry_after(exc, backoff)  # aiokafka cancelled an internal future: reconnect
                except Exception as exc:  # the broker or the database is away: keep the rows, retry
                    await self._retry_after(exc, backoff)
                backoff = min(backoff * 2, self.max_backoff)
        finally:  # nested: a cancel that lands in one step must not skip the next (above all the lock's release)
            try:
                await self._mark_unmarked()
            finally:
                try:
                    await self._close_producer()
                finally:
                    await self._release_leadership()

    async def _retry_after(self, exc: BaseException, backoff: float) -> None:
        self.status.link_down(f"{type(exc).__name__}: {exc}")
        log.warning("relay %s: %s: %s; retrying in %.1fs", self.service, type(exc).__name__, exc, backoff)
        await self._close_producer()
        await self._sleep(backoff)

    async def stop(self, *, flush_timeout: float = 5.0) -> None:
        """Publish what is pending (bounded by `flush_timeout`), then stop."""
        if self._producer is not None and self.status.connected:
            try:
                await asyncio.wait_for(self._drain(), flush_timeout)
            except Exception as exc:  # the rows stay in the outbox for the next start
                log.warning("relay %s: flush on stop incomplete: %s", self.service, exc)
        self._stopping.set()
        self._wake.set()
        if self._announcer is not None and not self._announcer.done():  # the last commits' NOTIFY, briefly
            await asyncio.wait({self._announcer}, timeout=1.0)
            self._announcer.cancel()

    async def pending(self) -> int:
        return await pending(self.db)

    async def backlog(self) -> tuple[int, datetime | None]:
        """Unpublished outbox records and when the oldest was written (what a "relay stalled" alert watches)."""
        return await backlog(self.db)

    async def _acquire_leadership(self) -> None:
        if self._lock is None or self._lock.held:
            self.status.active = True
            return
        if self.status.active:  # the lock went while this relay was retrying (the broker or database away)
            self._lead_lost()
        self.status.active = False
        if not await self._lock.acquire(self._stopping):
            return  # stopping
        # Commits in other processes announce themselves here (delivered when they commit).
        driver = self._lock.driver
        await driver.add_listener(self.channel, self._notified)
        driver.add_termination_listener(self._notified)  # look at once: the lock went with it
        self._marked_left = True  # a new lead: the relay that led before may have marked rows on its way out
        self.status.active = True

    async def _release_leadership(self) -> None:
        if self._lock is not None:
            await self._lock.release()
            self.status.active = False

    async def _check_leadership(self) -> None:
        """Raise when the lock's connection has closed (the server ended it, a restart, a network cut): the
        lock went with it and another process's relay may hold it now, so this one stops publishing and
        queues for the lock again (no second publisher, and that relay LISTENs now)."""
        if self._lock is None or self._lock.driver is None or not self._lock.driver.is_closed():
            return
        await self._mark_unmarked()  # acknowledged by the broker: the next holder must not send them again
        await self._release_leadership()
        self._lead_lost()
        raise LeadershipLost(f"relay {self.service}: the advisory lock's connection closed")

    async def _connect(self) -> None:
        if self.topics:
            await ensure_topics(self.kafka, self.topics)
        epoch = await broker_epoch(self.kafka)
        await self._republish_if_broker_was_reset(epoch)
        self._epoch_watch = EpochWatch(self.kafka, epoch)
        self._producer = make_producer(self.kafka, f"pmo-{self.service}-relay")
        await self._producer.start()
        self.status.link_up()
        await self._refresh_parked()

    async def _republish_if_broker_was_reset(self, epoch: str) -> None:
        """A broker that lost its log (new epoch) gets this service's whole store again, in order."""
        name = "relay.broker_epoch"
        async with self.db.transaction() as session:
            row = (await session.execute(select(runtime_state.c.value).where(runtime_state.c.name == name))).scalar()
            if row == epoch:
                return
            if row is not None and self.topic:
                count = await requeue_store(session, service=self.service, topic=self.topic, signer=self.signer)
                self.status.republished += count
                log.warning("relay %s: broker epoch changed; republishing %d events", self.service, count)
            await session.execute(runtime_state.delete().where(runtime_state.c.name == name))
            await session.execute(runtime_state.insert().values(name=name, value=epoch))

    async def _publish_until_stopped(self) -> None:
        next_parked_refresh = 0.0
        while not self._stopping.is_set():
            await self._check_leadership()
            if self._epoch_watch is not None:
                await self._epoch_watch.check()
            if (now := asyncio.get_running_loop().time()) >= next_parked_refresh:
                await self._refresh_parked()  # an operator may have retried or released a stream meanwhile
                next_parked_refresh = now + 5.0
            # Cleared before the read: a commit after it wakes the next round; one before it is in the batch.
            self._wake.clear()
            started = asyncio.get_running_loop().time()
            published = await self._publish_batch()
            if self._marked_left:
                await self._delete_some_marked()
            if published < self.batch_size:
                # The outbox held no more than this (reading it again would find only what woke us since).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                if published and self.busy_interval:
                    # Under load (this round found rows, and a commit woke the next already): it starts no
                    # sooner than `busy_interval` after this one, so the rows gather into fewer rounds.
                    rest = started + self.busy_interval - asyncio.get_running_loop().time()
                    if rest > 0:
                        await self._sleep(rest)

    async def _delete_some_marked(self) -> None:
        """One batch of the rows an earlier release's relay marked sent, after a round (not before the lead's
        first publish: 20,000 marked rows took 1.05 s); the last batch is one that finds none (a relay of the
        earlier release may mark the batch it sent on its way out, after this one took the lead)."""
        try:
            found = await delete_marked_batch(self.db)
        except Exception as exc:  # the next round tries again (publishing does not wait on it)
            log.warning("relay %s: marked rows not deleted: %s: %s", self.service, type(exc).__name__, exc)
            return
        if found:
            log.info("relay %s: deleted %d outbox rows an earlier relay marked sent", self.service, found)
        else:
            self._marked_left = False

    async def _drain(self) -> None:
        while await self._publish_batch():
            pass

    async def _publish_batch(self) -> int:
        """Send the next rows in order and mark them sent, all or nothing. A record the broker refuses for good
        parks its stream (the rest of that stream waits) while every other stream's rows are marked."""
        producer = self._producer
        if producer is None:
            return 0
        if self.db.is_postgres:
            # One pooled connection for the read and the mark (autocommit: each statement alone, no BEGIN).
            async with self.db.driver_connection() as connection:
                return await self._publish_rows(producer, connection)
        return await self._publish_rows(producer, None)

    async def _publish_rows(self, producer: AIOKafkaProducer, connection: Any | None) -> int:
        rows = await self._pending_rows(connection)
        if not rows:
            return 0
        sent, refused = await self._send(producer, rows)
        held = {(row.topic, stream_key(row.key)) for row, _error in refused}
        ids = [row.id for row in sent if (row.topic, stream_key(row.key)) not in held]
        now = datetime.now(UTC)
        if refused:
            await self._park(refused)
        if ids and connection is not None and not refused and (self._wake.is_set() or len(rows) == self.batch_size):
            # More is waiting and the next round starts at once: its read marks these in the same statement
            # (one round trip instead of two). Should it never come (a crash), they are sent again: at least once.
            self._unmarked = ids
        elif ids:
            await self._mark_published(ids, connection)
        self.status.published += len(ids)
        self.status.last_published_at = now
        return len(rows)

    async def _pending_rows(self, connection: Any | None) -> Sequence[Any]:
        """The next unpublished rows of streams that are not parked, in outbox order (`connection`: an
        asyncpg connection outside any transaction, PostgreSQL; None: through a session). On PostgreSQL
        the previous round's deferred mark goes in the same statement."""
        if connection is not None:
            # One statement on an autocommit connection: no BEGIN/ROLLBACK around it, no compile.
            unmarked, self._unmarked = self._unmarked, None
            try:
                if unmarked is None:
                    found = await connection.fetch(_PENDING_SQL, "", self.batch_size)
                else:
                    found = await connection.fetch(_MARK_THEN_PENDING_SQL, "", self.batch_size, unmarked)
            except BaseException:
                self._unmarked = self._unmarked or unmarked  # not marked: the next read (or the stop) tries again
                raise
            return [_OutboxRow(*record) for record in found]
        async with self.db.sessions() as session:
            return (await session.execute(_PENDING.limit(self.batch_size))).all()

    async def _mark_unmarked(self) -> None:
        """The deferred mark, when the relay stops or loses its connection before its next read."""
        unmarked, self._unmarked = self._unmarked, None
        if unmarked is None:
            return
        try:
            async with self.db.driver_connection() as connection:
                await self._mark_published(unmarked, connection)
        except Exception:  # the rows are sent again by the next relay: at least once
            log.warning("relay %s: %d sent records stay unmarked", self.service, len(unmarked), exc_info=True)

    async def _mark_published(self, ids: list[int], connection: Any | None) -> None:
        """The rows the broker acknowledged leave the outbox."""
        if connection is not None:
            await connection.execute(_MARK_SQL, ids)
            return
        async with self.db.transaction() as session:
            await session.execute(outbox.delete().where(outbox.c.id.in_(ids)))

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Any]) -> tuple[list[Any], list[tuple[Any, str]]]:
        """(rows the broker acknowledged, rows refused for good with why). Any other failure raises: nothing
        is marked, so a retry resends in order and consumers can drop anything "from the future"."""
        pending: list[tuple[Any, asyncio.Future[Any]]] = []
        refused: list[tuple[Any, str]] = []
        held: set[tuple[str, str]] = set()
        for row, (headers, partition) in zip(rows, await self._batched(producer, rows), strict=True):
            if (row.topic, stream_key(row.key)) in held:
                continue
            try:
                future = await producer.send(
                    row.topic,
                    value=row.value,
                    key=row.key.encode() if row.key else None,
                    headers=headers,
                    partition=partition,
                )
            except REFUSED_FOR_GOOD as exc:
                refused.append((row, f"{type(exc).__name__}: {exc}"))
                held.add((row.topic, stream_key(row.key)))
                continue
            pending.append((row, future))
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        failure = None
        for (row, _), result in zip(pending, results, strict=True):
            if isinstance(result, REFUSED_FOR_GOOD):
                refused.append((row, f"{type(result).__name__}: {result}"))
            elif isinstance(result, BaseException):
                failure = failure or result
        if failure is not None:
            if refused:
                await self._park(refused)
            raise failure
        refused_rows = {id(row) for row, _ in refused}
        return [row for row, _ in pending if id(row) not in refused_rows], refused

    async def _batched(
        self, producer: AIOKafkaProducer, rows: Sequence[Any]
    ) -> list[tuple[list[tuple[str, bytes]], int | None]]:
        """Each row's headers and partition (None: the producer's choice). With a signer, the signed records
        of this service's topic are batched by partition (the one the producer would choose, named so the
        batch is known here): each carries the batch's id, its index and the count, and the last one the batch
        signature (`signing.batch_signing_input`), so a consumer holding the batch verifies one signature for
        all of them; each record keeps its own signature for any other consumer and for a batch met in part."""
        read = [{k: v.encode() for k, v in loads(row.headers).items()} for row in rows]
        signer = self.signer
        partitions: list[int | None] = [None] * len(rows)
        if signer is None or self.topic is None:
            return [(list(h.items()), None) for h in read]
        batched: list[int] = []
        of_topic: list[int] | None = None
        for i, row in enumerate(rows):
            if row.topic != self.topic or not row.key or SIGNATURE_HEADER not in read[i]:
                continue
            if of_topic is None:
                of_topic = list(await producer.partitions_for(self.topic))  # the producer's own order
            # The producer's partitioner's choice (`make_producer` sets none other than the default).
            partitions[i] = partition_of(row.key.encode(), of_topic)
            batched.append(i)
        sign_batches(signer, [(read[i], rows[i].value, partitions[i]) for i in batched])
        return [(list(h.items()), p) for h, p in zip(read, partitions, strict=True)]

    async def _park(self, refused: list[tuple[Any, str]]) -> None:
        async with self.db.transaction() as session:
            for row, error in refused:
                await park(session, topic=row.topic, key=row.key, outbox_id=row.id, error=error)
        for row, error in refused:
            log.error("relay %s: the broker refused record %d of %s/%s for good (%s); stream parked",
                      self.service, row.id, row.topic, row.key, error)  # fmt: skip
        await self._refresh_parked()

    async def _refresh_parked(self) -> None:
        async with self.db.sessions() as session:
            self.status.parked = await count_parked(session)

    async def _close_producer(self) -> None:
        if self._epoch_watch is not None:
            self._epoch_watch.close()
        producer, self._producer = self._producer, None
        self.status.link_down()
        if producer is not None:
            try:
                await producer.stop()
            except asyncio.CancelledError:
                # aiokafka cancels its own futures when the broker dies: that ended the retry loop (`run`), whose
                # guard covers its body only, as it did a subscription's (e22ec06). A real cancel still ends it.
                if really_cancelled():
                    raise
                log.debug("producer stop cancelled inside aiokafka", exc_info=True)
                await _close_client(producer)
            except Exception:  # already broken
                log.debug("producer stop failed", exc_info=True)
                await _close_client(producer)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def sign_batches(signer: EventSigner, records: Sequence[tuple[dict[str, bytes], bytes, int | None]]) -> None:
    """Batch signed records (headers, value, partition) of one topic, in the order they are sent, by partition:
    each record's headers get the batch's id, its index and the count, the last one's the batch signature
    (`signing.batch_signing_input`) and its key id. A partition's only record is of no batch: a batch of one
    would cost the relay a signature (~23 us here) and save the consumer nothing (one verification either way),
    and the live case (a command a round) is just that."""
    members: dict[int | None, list[tuple[dict[str, bytes], bytes]]] = {}
    for headers, value, partition in records:
        members.setdefault(partition, []).append((headers, value))
    for batch in members.values():
        if len(batch) < 2:
            continue
        batch_id = os.urandom(16).hex().encode()
        count = str(len(batch)).encode()
        digests = []
        for index, (headers, value) in enumerate(batch):
            digests.append(record_digest(headers, value))
            headers[BATCH_ID_HEADER] = batch_id
            headers[BATCH_INDEX_HEADER] = str(index).encode()
            headers[BATCH_COUNT_HEADER] = count
        last = batch[-1][0]
        last[BATCH_SIGNATURE_HEADER] = signer.sign_batch(batch_id, digests)
        last[BATCH_KEY_ID_HEADER] = signer.key_id.encode()


#: Rows an earlier release's relay marked sent, deleted per transaction (`delete_marked_batch`).
MARKED_BATCH = 1000


async def _close_client(producer: AIOKafkaProducer) -> None:
    """What a `producer.stop()` that raised did not reach: its client's connections and metadata task (stop closes
    the client last), left open on every retry otherwise. A real cancel still ends it."""
    try:
        await producer.client.close()
    except asyncio.CancelledError:
        if really_cancelled():
            raise
        log.debug("producer client close cancelled inside aiokafka", exc_info=True)
    except Exception:
        log.debug("producer client close failed", exc_info=True)


async def delete_marked_batch(db: Database) -> int:
    """Delete up to `MARKED_BATCH` outbox rows a relay of an earlier release marked sent (`published_at` set during
    a rolling update) instead of deleting them, in one transaction; answers how many. runtime_0003 deleted those
    of its day once, but a relay of the earlier release still running after it marked more, which no relay ever
    deleted: every read of the outbox walked over them for good (session 11 review 2, R2-3). The relay runs it
    once it leads, a batch a round until one finds none: each is a scan of the outbox (no index on
    `published_at`). Never a row the relay reads (`published_at IS NULL`), so it runs between rounds safely."""
    marked = select(outbox.c.id).where(outbox.c.published_at.is_not(None)).limit(MARKED_BATCH)
    async with db.transaction() as session:
        ids = (await session.execute(marked)).scalars().all()
        if ids:
            await session.execute(outbox.delete().where(outbox.c.id.in_(ids)))
    return len(ids)


async def pending(db: Database) -> int:
    """Outbox records not yet published."""
    async with db.sessions() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await session.execute(query)).scalar_one())


async def backlog(db: Database) -> tuple[int, datetime | None]:
    """Unpublished outbox records and when the oldest was written."""
    async with db.sessions() as session:
        query = select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        count, oldest = (await session.execute(query)).one()
    return int(count), oldest


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel every task still pending on `loop` (stopped, not closed) and let them end."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


class RelayThread:
    """An `OutboxRelay` run on a thread of its own, with its own event loop and its own small pool (PostgreSQL).

    In a service process the relay used to share the event loop with the HTTP requests: a relay round (wake-up,
    outbox read, send, acknowledgement, mark) is a dozen loop turns, and under load each waited behind every
    request ready to run (wake-up → outbox read p50 625 ms at saturation, s7-propagation). Here its turns wait
    only for the GIL, which a busy thread gives up within `sys.getswitchinterval()` (5 ms) and an idle one at
    once. Everything the relay promises is its own and unchanged: the advisory lock (held on a connection of
    the relay's pool, so its LISTEN is heard on the relay's loop), outbox order, at-least-once publication, the
    deferred mark, the broker epoch. The service's loop talks to it in three ways only: `wake()` after a commit
    (coalesced: at most one hop to the relay's loop is queued at a time), `run()` / `stop()` / `close()` from
    the supervisor and the service's stop (awaited across loops), and `status` (read as it is). `pending()`
    and `backlog()` are plain queries on the caller's database. The thread starts at the first `run()` and
    lives until `close()`: a relay restarted by the supervisor runs on the same loop (its events and lock
    belong to it).
    """

    def __init__(self, db: Database, relay_db: Database, kafka: KafkaSettings, **relay: Any) -> None:
        self.db = db
        self.relay = OutboxRelay(relay_db, kafka, **relay)
        self.status = self.relay.status
        self.channel = self.relay.channel
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ended: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        #: A hop to the relay's loop is queued and has not run yet (a commit meanwhile needs no other).
        self._wake_queued = False

    def wake(self) -> None:
        """After a commit (any thread): the relay's own `wake` runs on its loop (see `OutboxRelay.wake`).

        No hop when the relay holds the lock and is already woken (its `_wake` set: a commit since its last
        read): its next round reads the outbox anyway, and the hop would only set what is set. That round's
        read comes after its `_wake.clear()`, so after this look, so after this commit: the row is in it.
        Under load the relay spends its busy interval woken, and a hop per commit was a thread switch per
        commit (issue 17)."""
        loop = self._loop
        if loop is None or self._wake_queued:
            return  # not running: it reads the outbox when it starts (and another process's relay polls)
        relay = self.relay
        if relay.status.active and relay._wake.is_set():
            return  # woken already: the hop would be a no-op (`OutboxRelay.wake` of an active relay)
        self._wake_queued = True
        try:
            loop.call_soon_threadsafe(self._woken)
        except RuntimeError:  # the loop closed meanwhile (stopping): nothing to wake
            self._wake_queued = False

    def _woken(self) -> None:
        self._wake_queued = False  # lowered first: a commit from now on queues another hop
        self.relay.wake()

    async def run(self) -> None:
        """The relay's `run` as a task on its loop until it ends (its outcome is this call's: the supervisor
        restarts it on the same loop). Cancelling this cancels that task and waits for its end, so the relay
        has marked what it sent and given its lock up before this returns."""
        loop = await self._started()
        caller = asyncio.get_running_loop()
        ended: asyncio.Future[asyncio.Task[None]] = caller.create_future()
        task: list[asyncio.Task[None]] = []

        def start() -> None:
            task.append(loop.create_task(self.relay.run(), name=f"relay-{self.relay.service}"))
            task[0].add_done_callback(lambda done: caller.call_soon_threadsafe(_settle, ended, done))

        loop.call_soon_threadsafe(start)
        try:
            done = await asyncio.shield(ended)
        except asyncio.CancelledError:
            loop.call_soon_threadsafe(lambda: task[0].cancel())  # after `start`: the loop runs them in order
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(ended)
            raise
        if not done.cancelled() and (error := done.exception()) is not None:
            raise error

    async def _started(self) -> asyncio.AbstractEventLoop:
        """The relay's loop, its thread started at the first call."""
        if self._loop is not None:
            return self._loop
        caller = asyncio.get_running_loop()
        started: asyncio.Future[asyncio.AbstractEventLoop] = caller.create_future()
        self._ended = caller.create_future()
        ended = self._ended

        def thread_main() -> None:
            loop = _new_loop_like(caller)
            asyncio.set_event_loop(loop)
            caller.call_soon_threadsafe(_settle, started, loop)
            try:
                loop.run_forever()
                _cancel_pending(loop)  # what a cancelled run left (aiokafka's tasks): ended, not destroyed pending
                loop.run_until_complete(self.relay.db.dispose())  # its connections belong to this loop
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                with contextlib.suppress(RuntimeError):  # the caller's loop closed first
                    caller.call_soon_threadsafe(_settle, ended, None)

        self._thread = threading.Thread(target=thread_main, name=f"relay-{self.relay.service}", daemon=True)
        self._thread.start()
        self._loop = await started
        return self._loop

    async def close(self) -> None:
        """End the relay's thread (after `stop` and the end of `run`): its pool is closed on its loop first."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._ended is not None:
            await asyncio.shield(self._ended)
        if self._thread is not None:  # returning from its last line by now
            await asyncio.to_thread(self._thread.join, 5.0)

    async def stop(self, *, flush_timeout: float = 5.0) -> None:
        """The relay's `stop` on its loop (publish what is pending, bounded by `flush_timeout`)."""
        loop = self._loop
        if loop is None:
            self.relay._stopping.set()  # not started: it must not start publishing after this
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.relay.stop(flush_timeout=flush_timeout), loop))

    async def pending(self) -> int:
        return await pending(self.db)

    async def backlog(self) -> tuple[int, datetime | None]:
        return await backlog(self.db)


def _new_loop_like(loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    """A new loop of the caller's kind: uvloop under `serve` (uvicorn makes its loop from a factory and sets
    no policy, so `asyncio.new_event_loop()` would be the slower pure-Python loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop() if isinstance(loop, uvloop.Loop) else asyncio.new_event_loop()


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


class _OutboxRow(NamedTuple):
    id: int
    topic: str
    key: str | None
    headers: str
    value: bytes


_PENDING = (
    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.headers, outbox.c.value)
    .where(outbox.c.published_at.is_(None), not_parked())
    .order_by(outbox.c.id)
)
#: The same query as PostgreSQL text ($1: the empty key a keyless record is parked under, $2: the limit).
_PENDING_SQL = str(_PENDING.limit(1).compile(dialect=asyncpg_dialect()))
_MARK_SQL = f"DELETE FROM {outbox.name} WHERE id = ANY($1::BIGINT[])"
#: The previous round's mark ($3: the ids) and the next read in one statement. The read sees the outbox as it
#: was before the delete, so it leaves those ids out itself.
_UNPUBLISHED = f"WHERE {outbox.name}.published_at IS NULL AND "
_MARK_THEN_PENDING_SQL = (
    f"WITH marked AS (DELETE FROM {outbox.name} WHERE id = ANY($3::BIGINT[])) "
    + _PENDING_SQL.replace(_UNPUBLISHED, f"{_UNPUBLISHED}{outbox.name}.id <> ALL($3::BIGINT[]) AND ", 1)
)
assert _MARK_THEN_PENDING_SQL.count("<> ALL") == 1


async def requeue_store(session: AsyncSession, *, service: str, topic: str, signer: EventSigner | None) -> int:
    """Put the service's whole event store back in the outbox, in position order, to publish it again.

    Consumers skip what they already applied (per stream sequence), so this is safe at any time:
    the relay does it by itself when the broker lost its log, and `python -m pmo_<service> republish`
    does it on demand (e.g. after a topic was deleted by hand).
    """
    await session.execute(outbox.delete().where(outbox.c.topic == topic, outbox.c.published_at.is_(None)))
    after, total = 0, 0
    while True:
        query = select(*_COLUMNS).where(events.c.position > after).order_by(events.c.position).limit(5000)
        rows = (await session.execute(query)).all()
        if not rows:
            return total
        await enqueue(session, topic, [_read(r, f"/pmo/{service}") for r in rows], signer)
        after = rows[-1].position
        total += len(rows)
