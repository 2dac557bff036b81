"""Published event contracts: one module per producing service, all registered in `registry`."""

from pmo_events.contracts import intake, portfolio, resourcing
from pmo_events.contracts.base import Event, EventRegistry, UnknownEventType, contract, registry

TOPICS = {
    intake.SERVICE: intake.TOPIC,
    portfolio.SERVICE: portfolio.TOPIC,
    resourcing.SERVICE: resourcing.TOPIC,
}

__all__ = ["TOPICS", "Event", "EventRegistry", "UnknownEventType", "contract", "registry"]
