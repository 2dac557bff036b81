"""A service's definition and its wired runtime: database, store, relay, commands, subscription."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import (
    CommandRuntime,
    Database,
    EventStore,
    KafkaSettings,
    OutboxRelay,
    Subscription,
    Supervisor,
)
from pmo_events.runtime.consumed import RidingLock
from pmo_events.runtime.heap import short_lived_heap
from pmo_events.runtime.relay import RelayThread
from pmo_events.runtime.subscription import BatchHandler, Handler
from pmo_events.runtime.tracing import spans_of_applied, within
from pmo_events.runtime.unit_of_work import InlineProjector, Policy
from pmo_events.signing import EventSigner, PublicKeyDirectory
from pmo_events.trust import EventTrust
from pmo_servicekit.memory import give_back_after_bursts
from pmo_servicekit.problems import ProblemTable
from pmo_servicekit.settings import ServiceSettings
from pmo_servicekit.sweeps import Sweep, run_sweeps

log = logging.getLogger(__name__)

#: The relay's own pool (PostgreSQL): its lock's connection, the outbox read and mark, a NOTIFY, a session.
RELAY_POOL_SIZE = 2
#: On its own thread the relay would otherwise start a round as soon as the last one ends, under load a round
#: per two or three commands: a round that published starts the next no sooner than this after it.
RELAY_BUSY_INTERVAL = 0.005


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything that makes one service itself; `bootstrap.py` in each service builds one."""

    name: str
    title: str
    default_port: int
    topic: str | None
    consumes: tuple[str, ...]
    metadata: MetaData
    migrations: Path
    routers: Sequence[APIRouter]
    projectors: Sequence[InlineProjector] = ()
    #: Tables the inline projectors fill, emptied and refilled by `rebuild`.
    view_tables: Sequence[Table] = ()
    #: Reactions in the command's own transaction ("an approval initiates the project"); never replayed.
    policies: Sequence[Policy] = ()
    #: How the service's errors answer over HTTP (its domain errors → problem documents).
    problem_table: ProblemTable = field(default_factory=dict)
    #: Builds the subscription's handler once the runtime exists (handlers may issue commands).
    consumer: Callable[[ServiceRuntime], Handler] | None = None
    #: Optionally, the same effect for a poll's whole batch at once (one load and one write per row it
    #: touches); the subscription falls back to `consumer`'s effect one event at a time when a batch fails.
    batch_consumer: Callable[[ServiceRuntime], BatchHandler] | None = None
    #: False: the subscription's batches commit without waiting for PostgreSQL's WAL flush (a read model that
    #: publishes nothing: a server crash loses its last applied batches with their offsets, applied again from
    #: the broker). Never for a service whose consumer records events of its own (they would be published).
    consumer_commits_durable: bool = True
    #: The batch handler's first lock (a `SELECT … FOR UPDATE` of its own rows), sent by the subscription in
    #: the poll's streams' lock statement: one round trip fewer per poll (`pmo_events.runtime.consumed.RidingLock`).
    consumer_riding_lock: RidingLock | None = None
    #: Tables a subscription fills, emptied when that subscription is replayed from offset 0.
    subscription_tables: Sequence[Table] = ()
    #: Periodic triggers a scheduler runs (`python -m pmo_<service> sweep`): pmo_servicekit.sweeps.
    sweeps: Sequence[Sweep] = ()
    description: str = ""
    #: CPU work done once in a thread before the service answers its first request (loading what the first
    #: request would otherwise wait for: reporting loads matplotlib's fonts for the console's charts).
    warm_up: Callable[[], None] | None = None
    #: Awaited as the app shuts down, before the runtime stops and the database is disposed: what the service
    #: runs in the background of its own ends there (reporting: its rebuilds and their forked workers).
    on_stop: Callable[[FastAPI], Awaitable[None]] | None = None
    #: The HTTP contract's version (`info.version`, `docs/openapi/<name>.json`): a breaking change raises the major.
    api_version: str = "1.0.0"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def dead_letter_topic(self) -> str:
        return f"pmo.{self.name}.deadletter"

    @property
    def consumer_name(self) -> str:
        return f"pmo-{self.name}"


class ServiceRuntime:
    """The composition root's product: one per process, shared by HTTP handlers and consumers."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings, kafka: KafkaSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.kafka = kafka
        self.signer = event_signer(definition, settings)
        self.db = Database(settings.database_url_for(definition.name))
        self.store = event_store(definition, settings, self.signer)
        relay: dict[str, Any] = {
            "service": definition.name,
            "topic": definition.topic,
            "extra_topics": [definition.dead_letter_topic],
            "signer": self.signer,
        }
        #: PostgreSQL with `relay_thread`: the relay runs on a thread and loop of its own with a pool of its own
        #: (`RelayThread`: its rounds no longer wait behind the HTTP requests on this loop, at a CPU cost per
        #: command). Otherwise, and always on SQLite (one writer at a time, queued on this process's loop:
        #: `Database.transaction`), it runs here.
        self.relay: OutboxRelay | RelayThread = (
            RelayThread(
                self.db,
                Database(self.db.url, pool_size=RELAY_POOL_SIZE),
                kafka,
                busy_interval=RELAY_BUSY_INTERVAL,
                **relay,
            )
            if self.db.is_postgres and settings.relay_thread
            else OutboxRelay(self.db, kafka, **relay)
        )
        self.commands = CommandRuntime(
            self.db,
            self.store,
            projectors=definition.projectors,
            policies=definition.policies,
            on_commit=self.relay.wake,
        )
        self.subscription: Subscription | None = None
        if definition.consumes and definition.consumer is not None:
            self.subscription = Subscription(
                name=definition.consumer_name,
                topics=definition.consumes,
                db=self.db,
                kafka=kafka,
                handler=_logged(definition.consumer(self), log),
                dead_letter_topic=definition.dead_letter_topic,
                trust=EventTrust(PublicKeyDirectory.load(settings.event_verify_keys_dir)),
                on_commit=self.relay.wake,
                durable_commits=definition.consumer_commits_durable,
                handler_publishes=definition.topic is not None,
                riding_lock=definition.consumer_riding_lock,
                batch_handler=(
                    _logged_batch(definition.batch_consumer(self), log)
                    if definition.batch_consumer is not None
                    else None
                ),
            )
        self.supervisor = Supervisor(name=definition.name)
        self.supervisor.add("relay", self.relay.run)
        if self.subscription is not None:
            self.supervisor.add("subscription", self.subscription.run)
        if definition.sweeps and settings.sweep_every_seconds > 0:
            # A sweep cut short rolls back; the next run (here or the CronJob) does it again.
            self.supervisor.add("sweeps", self._sweep_periodically, cancel_at_stop=True)
        self.supervisor.add(
            "memory",
            lambda: give_back_after_bursts(self.events_moved, forget=self.commands.forget_held),
            cancel_at_stop=True,
        )

    def events_moved(self) -> int:
        """Events this process has applied from the broker and published to it (`pmo_servicekit.memory`)."""
        applied = self.subscription.status.applied if self.subscription is not None else 0
        return applied + self.relay.status.published

    async def start(self) -> None:
        await self.supervisor.start()

    async def _sweep_periodically(self) -> None:
        """`PMO_SWEEP_EVERY_SECONDS`: the definition's sweeps, as the scheduler, until the service stops."""
        while True:
            await asyncio.sleep(self.settings.sweep_every_seconds)
            try:
                await run_sweeps(self.commands, self.definition.sweeps)
            except Exception:  # a database hiccup: the next round looks again, the service keeps serving
                log.exception("%s: a sweep failed; the next one runs in %ss", self.definition.name,
                              self.settings.sweep_every_seconds)  # fmt: skip

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop consuming (offsets are already in the database), flush the outbox, close the pool."""
        self.supervisor.stop_restarting()
        if self.subscription is not None:
            await self.subscription.stop()
        await self.relay.stop(flush_timeout=min(grace / 2, 5.0))
        await self.supervisor.stop(grace=grace)
        if isinstance(self.relay, RelayThread):
            await self.relay.close()
        await self.db.dispose()


def event_store(definition: ServiceDefinition, settings: ServiceSettings, signer: EventSigner | None) -> EventStore:
    """The service's event store: its source, its topic, its signer and the size it refuses above."""
    return EventStore(
        source=f"/pmo/{definition.name}",
        topic=definition.topic,
        signer=signer,
        max_event_bytes=settings.event_max_bytes,
    )


def _logged(handler: Handler, logger: logging.Logger) -> Handler:
    """One debug line per applied event, inside the consumer span: its trace id is the producer's."""

    async def apply(session: AsyncSession, event: RecordedEvent) -> None:
        await handler(session, event)
        if logger.isEnabledFor(logging.DEBUG):
            _log_applied(logger, event)

    return apply


def _logged_batch(handler: BatchHandler, logger: logging.Logger) -> BatchHandler:
    """One debug line per applied event of a batch, written once the whole batch is applied but in the
    event's own consumer span (the one the handler opened for it), so the line carries the trace of the
    request that caused the event."""

    async def apply(session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        # A poll's objects die with it: young collections every 50,000 allocations, not every 700.
        with short_lived_heap():
            if not logger.isEnabledFor(logging.DEBUG):
                await handler(session, events)
                return
            with spans_of_applied() as applied:
                await handler(session, events)
        spans = {event.event_id: span for event, span in applied}
        for event in events:
            span = spans.get(event.event_id)
            if span is None:  # a handler that opened no span for it
                _log_applied(logger, event)
                continue
            with within(span):
                _log_applied(logger, event)

    return apply


def _log_applied(logger: logging.Logger, event: RecordedEvent) -> None:
    logger.debug(
        "applied %s %s",
        event.type,
        event.event_id,
        extra={
            "event_type": event.type,
            "event_id": event.event_id,
            "subject": event.stream_id,
            "event_actor": event.actor,
            "correlation_id": event.correlation_id,
            "topic": event.topic,
            "partition": event.partition,
            "offset": event.offset,
        },
    )


def event_signer(
    definition: ServiceDefinition, settings: ServiceSettings, *, consuming: bool = True
) -> EventSigner | None:
    """The service's signing key; a production start without the keys it needs is refused here (a process
    that only writes, `consuming=False` like a sweep, needs no producer's public keys)."""
    if settings.env == "production":
        problems = settings.event_key_problems(
            publishes=definition.topic is not None, consumes=consuming and bool(definition.consumes)
        )
        if problems:
            raise ValueError(f"refusing a production start of {definition.name}: " + "; ".join(problems))
    if settings.event_signing_key_file is not None:
        return EventSigner.from_file(settings.event_signing_key_file)
    if definition.topic is not None:
        log.warning("%s: no PMO_EVENT_SIGNING_KEY_FILE; its events go out unsigned and consumers refuse them",
                    definition.name)  # fmt: skip
    return None
