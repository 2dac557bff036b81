"""The event runtime: store, unit of work, outbox relay, subscriptions, replay, migrations."""

from pmo_events.runtime.database import Database
from pmo_events.runtime.kafka import KafkaSettings
from pmo_events.runtime.relay import OutboxRelay
from pmo_events.runtime.store import (
    ConcurrencyConflict,
    EventStore,
    EventTooLarge,
    Metadata,
    Premise,
    PremiseFailed,
)
from pmo_events.runtime.subscription import Subscription
from pmo_events.runtime.supervisor import Supervisor
from pmo_events.runtime.unit_of_work import (
    AggregateType,
    Changed,
    CommandRuntime,
    Loaded,
    Policy,
    PollUnitOfWork,
    StaleVersion,
    UnitOfWork,
    fold,
    on_prepared,
    reacts_to,
)

__all__ = [
    "AggregateType",
    "Changed",
    "CommandRuntime",
    "ConcurrencyConflict",
    "Database",
    "EventStore",
    "EventTooLarge",
    "KafkaSettings",
    "Loaded",
    "Metadata",
    "OutboxRelay",
    "Policy",
    "PollUnitOfWork",
    "Premise",
    "PremiseFailed",
    "StaleVersion",
    "Subscription",
    "Supervisor",
    "UnitOfWork",
    "fold",
    "on_prepared",
    "reacts_to",
]
