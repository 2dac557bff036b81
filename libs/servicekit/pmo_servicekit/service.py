"""A service's definition and its wired runtime: database, store, relay, commands, subscription."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, Database, EventStore, KafkaSettings, OutboxRelay, Subscription
from pmo_events.runtime.subscription import Handler
from pmo_events.runtime.unit_of_work import InlineProjector, Policy
from pmo_servicekit.problems import ProblemTable
from pmo_servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)


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
    #: Tables a subscription fills, emptied when that subscription is replayed from offset 0.
    subscription_tables: Sequence[Table] = ()
    description: str = ""
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
        self.db = Database(settings.database_url_for(definition.name))
        self.store = EventStore(source=f"/pmo/{definition.name}", topic=definition.topic)
        self.relay = OutboxRelay(
            self.db,
            kafka,
            service=definition.name,
            topic=definition.topic,
            extra_topics=[definition.dead_letter_topic],
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
                on_commit=self.relay.wake,
            )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.definition.name}-relay"))
        if self.subscription is not None:
            self._tasks.append(asyncio.create_task(self.subscription.run(), name=f"{self.definition.name}-sub"))

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop consuming (offsets are already in the database), flush the outbox, close the pool."""
        if self.subscription is not None:
            await self.subscription.stop()
        await self.relay.stop(flush_timeout=min(grace / 2, 5.0))
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.db.dispose()


def _logged(handler: Handler, logger: logging.Logger) -> Handler:
    """One debug line per applied event, inside the consumer span: its trace id is the producer's."""

    async def apply(session: AsyncSession, event: RecordedEvent) -> None:
        await handler(session, event)
        if logger.isEnabledFor(logging.DEBUG):
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

    return apply
